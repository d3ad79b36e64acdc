//! POSIX capabilities: the root privileges split into bits, and the one
//! question the rest of the kernel asks, capable(CAP_X).
//!
//! Linux: include/uapi/linux/capability.h (the numbers), kernel/capability.c
//! (capable), security/commoncap.c (cap_capable)

use crate::cred::current_cred;
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
/// System administration: sethostname, namespaces, and much more.
pub const CAP_SYS_ADMIN: Cap = 21;
/// Raise priority, set other users' priority and policy.
pub const CAP_SYS_NICE: Cap = 23;
/// Raise resource limits past their hard limit.
pub const CAP_SYS_RESOURCE: Cap = 24;
/// The highest capability number (Linux: CAP_LAST_CAP, CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: Cap = 40;

/// A set of capabilities, one bit per number (Linux: `kernel_cap_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCap(pub u64);

impl KernelCap {
    /// No capabilities (Linux: CAP_EMPTY_SET).
    pub const EMPTY: KernelCap = KernelCap(0);
    /// Every capability this kernel knows (Linux: CAP_FULL_SET).
    pub const FULL: KernelCap = KernelCap((1 << (CAP_LAST_CAP + 1)) - 1);

    /// Whether `cap` is in the set (Linux: cap_raised()).
    pub fn raised(self, cap: Cap) -> bool {
        cap <= CAP_LAST_CAP && self.0 & (1 << cap) != 0
    }

    /// The set with `cap` added (Linux: cap_raise()).
    #[must_use]
    pub fn raise(self, cap: Cap) -> KernelCap {
        KernelCap(self.0 | 1 << cap)
    }

    /// The set with `cap` removed (Linux: cap_lower()).
    #[must_use]
    pub fn lower(self, cap: Cap) -> KernelCap {
        KernelCap(self.0 & !(1 << cap))
    }

    /// Whether every capability in `self` is also in `other` (Linux:
    /// cap_issubset()).
    pub fn is_subset(self, other: KernelCap) -> bool {
        self.0 & !other.0 == 0
    }
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
