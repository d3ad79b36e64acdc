//! Per-user accounting: what all processes of one user hold together,
//! checked against the per-user resource limits (RLIMIT_SIGPENDING and
//! RLIMIT_NPROC). A user's `UserStruct` lives while some credentials name
//! it, or some task is counted against it.
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
use core::sync::atomic::{AtomicU64, Ordering};

/// One user's counts (Linux: `struct user_struct`).
#[derive(Debug)]
pub struct UserStruct {
    /// The user's id.
    pub uid: Kuid,
    /// Queued siginfos and POSIX timers held by the user's processes,
    /// counted against RLIMIT_SIGPENDING (Linux: user_struct.sigpending,
    /// now ucounts' UCOUNT_RLIMIT_SIGPENDING).
    pub sigpending: AtomicU64,
    /// Tasks (threads too) whose real user this is, counted against
    /// RLIMIT_NPROC (Linux: ucounts' UCOUNT_RLIMIT_NPROC).
    pub processes: AtomicU64,
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
        processes: AtomicU64::new(0),
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

/// One task counted against its real user's RLIMIT_NPROC. The task owns
/// it from copy_creds until release_task, so dropping it, also when
/// copy_process unwinds after copy_creds, gives the count back.
///
/// Linux: inc_rlimit_ucounts() / dec_rlimit_ucounts() with
/// UCOUNT_RLIMIT_NPROC in kernel/ucount.c
/// Differs: an owned value instead of the bad_fork_cleanup_count label and
/// the explicit decrements in release_task() and commit_creds().
#[derive(Debug)]
pub struct NprocCharge(Arc<UserStruct>);

impl NprocCharge {
    /// Counts one more task of `user`.
    pub fn new(user: Arc<UserStruct>) -> NprocCharge {
        user.processes.fetch_add(1, Ordering::Relaxed);
        NprocCharge(user)
    }

    /// The user charged.
    pub fn user(&self) -> &Arc<UserStruct> {
        &self.0
    }
}

impl Drop for NprocCharge {
    fn drop(&mut self) {
        self.0.processes.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether `user` already has `rlimit` tasks, so that one more would pass
/// RLIMIT_NPROC.
///
/// Linux: is_rlimit_overlimit() in kernel/ucount.c
pub fn is_rlimit_overlimit(user: &UserStruct, rlimit: u64) -> bool {
    user.processes.load(Ordering::Relaxed) >= rlimit
}

/// Marks the current task when the real user `new` sets up is already at
/// its RLIMIT_NPROC (root excepted), so that the next execve fails with
/// EAGAIN rather than a set*uid call failing: programs seldom check those.
///
/// Linux: flag_nproc_exceeded() in kernel/sys.c
pub fn flag_nproc_exceeded(new: &crate::cred::Cred) {
    use crate::task::PF_NPROC_EXCEEDED;
    let me = crate::task::current();
    if Arc::ptr_eq(&new.user, &task_user(&me)) {
        return;
    }
    let limit = crate::resource::rlimit(crate::resource::RLIMIT_NPROC);
    if is_rlimit_overlimit(&new.user, limit) && new.user.uid != 0 {
        me.flags.fetch_or(PF_NPROC_EXCEEDED, Ordering::Relaxed);
    } else {
        me.flags.fetch_and(!PF_NPROC_EXCEEDED, Ordering::Relaxed);
    }
}
