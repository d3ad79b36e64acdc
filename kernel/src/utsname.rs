//! The machine's names that uname(2) reports. The host and domain names
//! can be set, by sethostname(2)/setdomainname(2) or by writing
//! /proc/sys/kernel/hostname and domainname.
//!
//! Linux: include/linux/utsname.h, init/version.c (init_uts_ns),
//! kernel/sys.c (sethostname, setdomainname), kernel/utsname_sysctl.c
//! Not modelled: UTS namespaces (one set of names for the machine).

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::mm::uaccess::copy_from_user;
use crate::syscall::SysResult;
use alloc::string::String;

/// Longest name, without its NUL (Linux: __NEW_UTS_LEN).
pub const __NEW_UTS_LEN: usize = 64;
/// uname's sysname and /proc/sys/kernel/ostype (Linux: UTS_SYSNAME).
pub const UTS_SYSNAME: &str = "Linux";
/// uname's release and /proc/sys/kernel/osrelease (Linux: UTS_RELEASE).
pub const UTS_RELEASE: &str = "6.1.0-lifecycle";
/// uname's version (Linux: UTS_VERSION).
pub const UTS_VERSION: &str = "#1 SMP lifecycle teaching kernel";
/// uname's machine (Linux: UTS_MACHINE).
pub const UTS_MACHINE: &str = "x86_64";

/// A settable name, NUL-padded (Linux: a `char[__NEW_UTS_LEN + 1]` field
/// of `struct new_utsname`, under uts_sem; here under its own lock).
pub struct UtsName(SpinLock<[u8; __NEW_UTS_LEN + 1]>);

const fn uts_field(name: &str) -> [u8; __NEW_UTS_LEN + 1] {
    let mut field = [0; __NEW_UTS_LEN + 1];
    let mut i = 0;
    while i < name.len() {
        field[i] = name.as_bytes()[i];
        i += 1;
    }
    field
}

/// The host name (Linux: init_uts_ns.name.nodename).
pub static NODENAME: UtsName = UtsName::new("lifecycle");
/// The NIS domain name (Linux: init_uts_ns.name.domainname).
pub static DOMAINNAME: UtsName = UtsName::new("(none)");

impl UtsName {
    /// A name set to `name` (at most 64 bytes).
    pub const fn new(name: &str) -> UtsName {
        UtsName(SpinLock::new(uts_field(name)))
    }

    /// The name with its NUL padding, as uname copies it.
    pub fn get(&self) -> [u8; __NEW_UTS_LEN + 1] {
        *self.0.lock()
    }

    /// The name as text, up to its NUL.
    pub fn as_string(&self) -> String {
        let field = self.get();
        let len = field.iter().position(|&b| b == 0).unwrap_or(__NEW_UTS_LEN);
        String::from_utf8_lossy(&field[..len]).into_owned()
    }

    /// Replaces the name; the caller has checked `name.len() <= 64`.
    fn set(&self, name: &[u8]) {
        let mut field = [0; __NEW_UTS_LEN + 1];
        field[..name.len()].copy_from_slice(name);
        *self.0.lock() = field;
    }

    /// A write to the name's /proc/sys file: the text up to a newline or
    /// NUL, cut at 64 bytes.
    ///
    /// Linux: proc_do_uts_string() in kernel/utsname_sysctl.c (through
    /// proc_dostring())
    pub fn proc_write(&self, buf: &[u8]) -> Result<usize, Errno> {
        let end = buf
            .iter()
            .position(|&b| b == b'\n' || b == 0)
            .unwrap_or(buf.len());
        self.set(&buf[..end.min(__NEW_UTS_LEN)]);
        Ok(buf.len())
    }

    /// Sets the name from user memory.
    ///
    /// # Errors
    /// `EINVAL` for a negative length or one past 64; `EFAULT`.
    fn set_from_user(&self, name: u64, len: i32) -> SysResult {
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= __NEW_UTS_LEN)
            .ok_or(Errno::EINVAL)?;
        let mut tmp = [0; __NEW_UTS_LEN];
        copy_from_user(&mut tmp[..len], name)?;
        self.set(&tmp[..len]);
        Ok(0)
    }
}

/// Linux: SYSCALL_DEFINE2(sethostname) in kernel/sys.c
/// Differs: every task is root, so the CAP_SYS_ADMIN check (EPERM) passes.
pub fn sys_sethostname(name: u64, len: i32) -> SysResult {
    NODENAME.set_from_user(name, len)
}

/// Linux: SYSCALL_DEFINE2(setdomainname) in kernel/sys.c
pub fn sys_setdomainname(name: u64, len: i32) -> SysResult {
    DOMAINNAME.set_from_user(name, len)
}
