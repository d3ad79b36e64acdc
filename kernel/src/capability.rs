//! POSIX capabilities: the root privileges split into bits, and the one
//! question the rest of the kernel asks, capable(CAP_X).
//!
//! Linux: include/uapi/linux/capability.h (the numbers), kernel/capability.c
//! (capable, capget, capset), security/commoncap.c (cap_capable)

use crate::cred::{commit_creds, current_cred, prepare_creds, task_cred};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user, put_user};
use crate::pid::find_task_by_vpid;
use crate::security::commoncap::cap_capset;
use crate::syscall::SysResult;
use crate::task::{PF_SUPERPRIV, current};
use core::sync::atomic::Ordering;

/// A capability number (Linux: the `CAP_*` constants).
pub type Cap = u32;

/// Change any file's owner and group.
pub const CAP_CHOWN: Cap = 0;
/// Bypass read, write and execute permission checks (execute needs some x bit).
pub const CAP_DAC_OVERRIDE: Cap = 1;
/// Bypass read permission on files and read/search permission on directories.
pub const CAP_DAC_READ_SEARCH: Cap = 2;
/// Act as the owner of any file (chmod, utimes, sticky directories).
pub const CAP_FOWNER: Cap = 3;
/// Keep the set-user-ID and set-group-ID bits when a file is modified.
pub const CAP_FSETID: Cap = 4;
/// Send signals to processes of other users.
pub const CAP_KILL: Cap = 5;
/// Change group ids at will.
pub const CAP_SETGID: Cap = 6;
/// Change user ids at will.
pub const CAP_SETUID: Cap = 7;
/// Add any capability in the bounding set to the inheritable set.
pub const CAP_SETPCAP: Cap = 8;
/// Set the immutable and append-only file attributes.
pub const CAP_LINUX_IMMUTABLE: Cap = 9;
/// Trace any process with ptrace, read or write its memory.
pub const CAP_SYS_PTRACE: Cap = 19;
/// System administration: sethostname, namespaces, and much more.
pub const CAP_SYS_ADMIN: Cap = 21;
/// Raise priority, set other users' priority and policy.
pub const CAP_SYS_NICE: Cap = 23;
/// Raise resource limits past their hard limit.
pub const CAP_SYS_RESOURCE: Cap = 24;
/// Create device special files with mknod.
pub const CAP_MKNOD: Cap = 27;
/// Arm timers that wake the system from suspend (the _ALARM clocks).
pub const CAP_WAKE_ALARM: Cap = 35;
/// Override a mandatory access control module.
pub const CAP_MAC_OVERRIDE: Cap = 32;
/// Checkpoint and restore: choose a child's pid with clone3's set_tid.
pub const CAP_CHECKPOINT_RESTORE: Cap = 40;
/// The highest capability number (Linux: CAP_LAST_CAP, CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: Cap = CAP_CHECKPOINT_RESTORE;

/// A set of capabilities, one bit per number (Linux: `kernel_cap_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCap(pub u64);

impl KernelCap {
    /// No capabilities (Linux: CAP_EMPTY_SET).
    pub const EMPTY: KernelCap = KernelCap(0);
    /// Every capability this kernel knows (Linux: CAP_FULL_SET).
    pub const FULL: KernelCap = KernelCap((1 << (CAP_LAST_CAP + 1)) - 1);

    /// The bit of `cap`; none for a number past CAP_LAST_CAP, so that no
    /// user-supplied number can overflow the shift.
    fn bit(cap: Cap) -> u64 {
        if cap <= CAP_LAST_CAP { 1 << cap } else { 0 }
    }

    /// Whether `cap` is in the set (Linux: cap_raised()).
    pub fn raised(self, cap: Cap) -> bool {
        self.0 & Self::bit(cap) != 0
    }

    /// The set with `cap` added (Linux: cap_raise()).
    #[must_use]
    pub fn raise(self, cap: Cap) -> KernelCap {
        KernelCap(self.0 | Self::bit(cap))
    }

    /// The set with `cap` removed (Linux: cap_lower()).
    #[must_use]
    pub fn lower(self, cap: Cap) -> KernelCap {
        KernelCap(self.0 & !Self::bit(cap))
    }

    /// Whether the set is empty (Linux: cap_isclear()).
    pub fn is_clear(self) -> bool {
        self.0 == 0
    }

    /// The capabilities in either set (Linux: cap_combine()).
    #[must_use]
    pub fn combine(self, other: KernelCap) -> KernelCap {
        KernelCap(self.0 | other.0)
    }

    /// The capabilities in both sets (Linux: cap_intersect()).
    #[must_use]
    pub fn intersect(self, other: KernelCap) -> KernelCap {
        KernelCap(self.0 & other.0)
    }

    /// Whether every capability in `self` is also in `other` (Linux:
    /// cap_issubset()).
    pub fn is_subset(self, other: KernelCap) -> bool {
        self.0 & !other.0 == 0
    }
}

/// Whether `cap` names a capability this kernel knows (Linux: cap_valid()).
pub fn cap_valid(cap: u64) -> bool {
    cap <= u64::from(CAP_LAST_CAP)
}

/// Whether the current task has `cap` in its effective set; if it does,
/// the task is marked as having used a privilege (PF_SUPERPRIV, which
/// process accounting reports).
///
/// Linux: capable() in kernel/capability.c, through ns_capable() and
/// cap_capable() in security/commoncap.c
/// Differs: no user namespaces, so every check is against the initial one.
pub fn capable(cap: Cap) -> bool {
    let has = current_cred().cap_effective.raised(cap);
    if has {
        current().flags.fetch_or(PF_SUPERPRIV, Ordering::Relaxed);
    }
    has
}

/// The first capget/capset layout: one 32-bit word per set.
pub const _LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
/// The second layout, two words per set (deprecated, read as version 3).
pub const _LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
/// The current layout, two words per set.
pub const _LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// The version the kernel prefers, written back to a header it rejects.
const _KERNEL_CAPABILITY_VERSION: u32 = _LINUX_CAPABILITY_VERSION_3;

/// The header of capget/capset is `{ u32 version; i32 pid; }`: the pid's
/// offset (Linux: `struct __user_cap_header_struct`).
const HEADER_PID: u64 = 4;
/// Each data word is `{ u32 effective, permitted, inheritable; }`, the
/// low word of each set first (Linux: `struct __user_cap_data_struct`).
const DATA_SIZE: usize = 3 * size_of::<u32>();

/// How many data words the header's version asks for. An unknown version
/// fails, and the kernel's preferred one is written into the header, which
/// is how libcap probes for it.
///
/// Linux: cap_validate_magic() in kernel/capability.c
fn cap_validate_magic(header: u64) -> Result<usize, Errno> {
    match get_user::<u32>(header)? {
        _LINUX_CAPABILITY_VERSION_1 => Ok(1),
        _LINUX_CAPABILITY_VERSION_2 | _LINUX_CAPABILITY_VERSION_3 => Ok(2),
        _ => {
            put_user(header, _KERNEL_CAPABILITY_VERSION)?;
            Err(Errno::EINVAL)
        }
    }
}

/// Reads the effective, permitted and inheritable sets of process `pid`
/// (0: the caller) into `dataptr`, one or two words per set as the
/// header's version says. With a null `dataptr`, only probes the version.
///
/// Linux: SYSCALL_DEFINE2(capget) in kernel/capability.c
///
/// # Errors
/// `EINVAL` for an unknown version (except a probe) or a negative pid;
/// `ESRCH` for no such process; `EFAULT` for a bad address.
pub fn sys_capget(header: u64, dataptr: u64) -> SysResult {
    let tocopy = match cap_validate_magic(header) {
        Err(Errno::EINVAL) if dataptr == 0 => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) if dataptr == 0 => return Ok(0),
        Ok(n) => n,
    };
    let pid = get_user::<i32>(header + HEADER_PID)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let cred = if pid != 0 && pid != current().pid() {
        task_cred(&*find_task_by_vpid(pid).ok_or(Errno::ESRCH)?)
    } else {
        current_cred()
    };
    let word = |set: KernelCap, i: usize| (set.0 >> (32 * i)) as u32;
    let mut raw = [0u8; 2 * DATA_SIZE];
    for (i, chunk) in raw.as_chunks_mut::<DATA_SIZE>().0.iter_mut().enumerate() {
        let data = [
            word(cred.cap_effective, i),
            word(cred.cap_permitted, i),
            word(cred.cap_inheritable, i),
        ];
        for (bytes, w) in chunk.as_chunks_mut::<4>().0.iter_mut().zip(data) {
            *bytes = w.to_ne_bytes();
        }
    }
    copy_to_user(dataptr, &raw[..tocopy * DATA_SIZE])?;
    Ok(0)
}

/// Sets the caller's effective, permitted and inheritable sets, within
/// the rules of cap_capset; another process's sets cannot be set.
///
/// Linux: SYSCALL_DEFINE2(capset) in kernel/capability.c
///
/// # Errors
/// `EINVAL` for an unknown version; `EPERM` for another pid or a change
/// the rules forbid; `EFAULT` for a bad address.
pub fn sys_capset(header: u64, data: u64) -> SysResult {
    let tocopy = cap_validate_magic(header)?;
    let pid = get_user::<i32>(header + HEADER_PID)?;
    if pid != 0 && pid != current().pid() {
        return Err(Errno::EPERM);
    }
    let mut raw = [0u8; 2 * DATA_SIZE];
    copy_from_user(&mut raw[..tocopy * DATA_SIZE], data)?;
    let words: [u32; 6] = core::array::from_fn(|i| {
        let b = raw.as_chunks::<4>().0[i];
        u32::from_ne_bytes(b)
    });
    let set = |k: usize| {
        KernelCap((u64::from(words[3 + k]) << 32 | u64::from(words[k])) & KernelCap::FULL.0)
    };
    let (effective, permitted, inheritable) = (set(0), set(1), set(2));
    let mut new = prepare_creds();
    cap_capset(&mut new, &current_cred(), effective, inheritable, permitted)?;
    commit_creds(new).map(|()| 0)
}
