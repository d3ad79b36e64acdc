//! Per-user accounting: what all processes of one user hold together,
//! checked against the per-user resource limits (RLIMIT_SIGPENDING here).
//!
//! Linux: kernel/user.c (struct user_struct), kernel/ucount.c (the
//! UCOUNT_RLIMIT_SIGPENDING count that replaced user_struct.sigpending)
//! Not modelled: more than one user (every task is root until user ids
//! exist), so every task's user is `ROOT_USER`.

use crate::task::TaskStruct;
use core::sync::atomic::AtomicU64;

/// One user's counts (Linux: `struct user_struct`).
pub struct UserStruct {
    /// Queued siginfos and POSIX timers held by the user's processes,
    /// counted against RLIMIT_SIGPENDING (Linux: user_struct.sigpending,
    /// now ucounts' UCOUNT_RLIMIT_SIGPENDING).
    pub sigpending: AtomicU64,
}

/// The root user (Linux: root_user in kernel/user.c).
pub static ROOT_USER: UserStruct = UserStruct {
    sigpending: AtomicU64::new(0),
};

/// The user `t` runs as, whose counts its queued signals charge.
///
/// Linux: task_ucounts() / __task_cred(t)->user
pub fn task_user(_t: &TaskStruct) -> &'static UserStruct {
    &ROOT_USER
}
