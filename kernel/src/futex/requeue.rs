//! FUTEX_REQUEUE and FUTEX_CMP_REQUEUE: wake some waiters of one futex and
//! move the rest onto another without waking them, so that a condition
//! variable's broadcast does not wake every waiter only for all but one of
//! them to block again on the mutex (the "thundering herd").
//!
//! Linux: kernel/futex/requeue.c

use super::{FUTEX_BITSET_MATCH_ANY, FUTEX_QUEUE, futex_wake_locked, get_futex_key, wake_up_q};
use crate::errno::Errno;
use crate::mm::uaccess::get_user;
use crate::syscall::SysResult;

/// Wakes up to `nr_wake` waiters on `uaddr1` and moves up to `nr_requeue`
/// more to `uaddr2`; with `cmpval` (FUTEX_CMP_REQUEUE) only if `uaddr1`
/// still holds it. Returns how many were woken or moved.
///
/// Linux: futex_requeue() in kernel/futex/requeue.c
///
/// # Errors
/// `EINVAL` for a negative count, `EAGAIN` if `uaddr1` no longer holds
/// `cmpval`, `EFAULT` for a bad address.
pub(super) fn futex_requeue(
    uaddr1: u64,
    uaddr2: u64,
    private: bool,
    nr_wake: u32,
    nr_requeue: u32,
    cmpval: Option<u32>,
) -> SysResult {
    // Linux takes both counts as int: a negative one is refused.
    if (nr_wake as i32) < 0 || (nr_requeue as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let key1 = get_futex_key(uaddr1, private)?;
    let key2 = get_futex_key(uaddr2, private)?;
    let mut queue = FUTEX_QUEUE.lock();
    if let Some(cmpval) = cmpval {
        // Under the queue lock, as a waiter checks its value: no waiter
        // can queue between this check and the requeue.
        let curval: u32 = get_user(uaddr1)?;
        if curval != cmpval {
            return Err(Errno::EAGAIN);
        }
    }
    let woken = futex_wake_locked(&mut queue, key1, nr_wake, FUTEX_BITSET_MATCH_ANY);
    let mut requeued = 0u64;
    for q in queue.iter_mut().filter(|q| q.key == key1) {
        if requeued == u64::from(nr_requeue) {
            break;
        }
        // Linux: requeue_futex(): the waiter now sleeps on key2.
        q.key = key2;
        requeued += 1;
    }
    drop(queue);
    Ok(wake_up_q(woken) + requeued)
}
