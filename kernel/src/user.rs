//! Per-user accounting: what all processes of one user hold together,
//! checked against the per-user resource limits (RLIMIT_SIGPENDING here).
//! A user's `UserStruct` lives while some credentials name it.
//!
//! Linux: kernel/user.c (struct user_struct, alloc_uid, free_uid),
//! kernel/ucount.c (the UCOUNT_RLIMIT_* counts that replaced
//! user_struct's own)

use crate::arch::sync::SpinLock;
use crate::cred::{Kuid, task_cred};
use crate::errno::Errno;
use crate::task::TaskStruct;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::AtomicU64;

/// One user's counts (Linux: `struct user_struct`).
#[derive(Debug)]
pub struct UserStruct {
    /// The user's id.
    pub uid: Kuid,
    /// Queued siginfos and POSIX timers held by the user's processes,
    /// counted against RLIMIT_SIGPENDING (Linux: user_struct.sigpending,
    /// now ucounts' UCOUNT_RLIMIT_SIGPENDING).
    pub sigpending: AtomicU64,
}

/// Every user some credentials name, by uid (Linux: uidhash_table, under
/// uidhash_lock). Entries whose user is gone are reused.
static UIDHASH: SpinLock<Vec<Weak<UserStruct>>> = SpinLock::new(Vec::new());

/// The root user, held forever (Linux: root_user in kernel/user.c).
static ROOT_USER: spin::Once<Arc<UserStruct>> = spin::Once::new();

/// The root user, whom init_cred names.
pub fn root_user() -> Arc<UserStruct> {
    ROOT_USER.call_once(|| Arc::new(new_user(0))).clone()
}

fn new_user(uid: Kuid) -> UserStruct {
    UserStruct {
        uid,
        sigpending: AtomicU64::new(0),
    }
}

/// The `UserStruct` of `uid`, created when no credentials name it yet.
///
/// Linux: alloc_uid() in kernel/user.c
///
/// # Errors
/// `ENOMEM` when a new user cannot be allocated.
pub fn alloc_uid(uid: Kuid) -> Result<Arc<UserStruct>, Errno> {
    if uid == 0 {
        return Ok(root_user());
    }
    let mut hash = UIDHASH.lock();
    if let Some(user) = hash.iter().filter_map(Weak::upgrade).find(|u| u.uid == uid) {
        return Ok(user);
    }
    let user = Arc::try_new(new_user(uid)).map_err(|_| Errno::ENOMEM)?;
    match hash.iter_mut().find(|w| w.strong_count() == 0) {
        Some(slot) => *slot = Arc::downgrade(&user),
        None => {
            hash.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            hash.push(Arc::downgrade(&user));
        }
    }
    Ok(user)
}

/// The user `t` runs as, whose counts its queued signals charge.
///
/// Linux: task_ucounts() / __task_cred(t)->user
pub fn task_user(t: &TaskStruct) -> Arc<UserStruct> {
    task_cred(t).user.clone()
}
