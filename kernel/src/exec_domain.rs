//! Execution domains: personality(2), which tells the kernel to behave as
//! another Unix would for this process. Only Linux's own domain exists
//! here; the value is kept, inherited across fork and reported.
//!
//! Linux: kernel/exec_domain.c, include/uapi/linux/personality.h
//! Not modelled: the flags' effects (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC,
//! ADDR_LIMIT_32BIT...); `/proc/<pid>/personality`.

use crate::syscall::SysResult;
use crate::task::current;
use core::sync::atomic::Ordering;

/// The Linux execution domain, every process's at boot.
pub const PER_LINUX: u32 = 0;
/// The value that only asks for the current personality.
const PER_QUERY: u32 = 0xffff_ffff;
/// Flags an execve of a set-user-ID or set-group-ID program clears
/// (Linux: PER_CLEAR_ON_SETID: READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE,
/// ADDR_COMPAT_LAYOUT and MMAP_PAGE_ZERO).
pub const PER_CLEAR_ON_SETID: u32 = 0x040_0000 | 0x004_0000 | 0x020_0000 | 0x010_0000;

/// Sets the caller's personality and returns the old one; 0xffffffff only
/// returns it. The value is stored as given, as Linux stores it.
///
/// Linux: SYSCALL_DEFINE1(personality) in kernel/exec_domain.c
/// Differs: the flags are kept and reported but change no behaviour.
pub fn sys_personality(personality: u32) -> SysResult {
    let me = current();
    let old = if personality == PER_QUERY {
        me.personality.load(Ordering::Relaxed)
    } else {
        me.personality.swap(personality, Ordering::Relaxed)
    };
    Ok(u64::from(old))
}
