//! futex_waitv(2): wait on up to 128 futexes at once and wake when any one
//! of them is woken; the call returns that futex's index in the vector.
//! Wine and Proton use it for Windows' WaitForMultipleObjects.
//!
//! Linux: kernel/futex/waitwake.c (futex_wait_multiple), kernel/futex/syscalls.c

use super::{
    FUTEX_BITSET_MATCH_ANY, FUTEX_PRIVATE_FLAG, FUTEX_QUEUE, FutexQ, futex_wait_queue,
    get_futex_key,
};
use crate::errno::Errno;
use crate::mm::uaccess::get_user;
use crate::syscall::SysResult;
use crate::task::{TASK_INTERRUPTIBLE, current};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// The most futexes one call may wait on (Linux: FUTEX_WAITV_MAX).
const FUTEX_WAITV_MAX: u64 = 128;
/// A waiter's flag for a 32-bit futex word, the only size (Linux: FUTEX2_SIZE_U32).
const FUTEX2_SIZE_U32: u32 = 2;
/// The clocks a timeout may be measured on (Linux: CLOCK_REALTIME, CLOCK_MONOTONIC).
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;

/// One checked entry of the user's vector.
struct Waiter {
    uaddr: u64,
    val: u32,
    private: bool,
}

/// Linux: SYSCALL_DEFINE5(futex_waitv) in kernel/futex/syscalls.c
///
/// # Errors
/// `EINVAL` for flags, a count of 0 or over 128, a bad entry or clock;
/// `EFAULT` for a bad address; `EAGAIN` if a word no longer holds its
/// value; `ETIMEDOUT`; `ERESTARTSYS` on a signal (EINTR for a handler
/// without SA_RESTART).
pub fn sys_futex_waitv(
    waiters: u64,
    nr_futexes: u64,
    flags: u64,
    timeout: u64,
    clockid: u64,
) -> SysResult {
    if flags != 0 || nr_futexes == 0 || nr_futexes > FUTEX_WAITV_MAX || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = if timeout == 0 {
        None
    } else {
        Some(futex2_setup_timeout(timeout, clockid as u32)?)
    };
    let vs = futex_parse_waitv(waiters, nr_futexes as usize)?;
    futex_wait_multiple(&vs, deadline)
}

/// Reads the absolute timeout; returns it on the monotonic clock.
///
/// Linux: futex2_setup_timeout() in kernel/futex/syscalls.c
fn futex2_setup_timeout(timeout: u64, clockid: u32) -> Result<u64, Errno> {
    if clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC {
        return Err(Errno::EINVAL);
    }
    let [sec, nsec]: [u64; 2] = get_user(timeout)?;
    if nsec >= 1_000_000_000 || (sec as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let ns = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
    Ok(crate::time::to_monotonic(clockid == CLOCK_REALTIME, ns))
}

/// Copies in and checks the vector of struct futex_waitv
/// { u64 val; u64 uaddr; u32 flags; u32 __reserved; }.
///
/// Linux: futex_parse_waitv() in kernel/futex/syscalls.c
fn futex_parse_waitv(waiters: u64, nr: usize) -> Result<Vec<Waiter>, Errno> {
    let mut vs = Vec::new();
    vs.try_reserve_exact(nr).map_err(|_| Errno::ENOMEM)?;
    for i in 0..nr as u64 {
        let [val, uaddr, flags]: [u64; 3] = get_user(waiters.saturating_add(i * 24))?;
        let (flags, reserved) = (flags as u32, flags >> 32);
        if flags & !(FUTEX2_SIZE_U32 | FUTEX_PRIVATE_FLAG) != 0
            || flags & FUTEX2_SIZE_U32 == 0
            || reserved != 0
        {
            return Err(Errno::EINVAL);
        }
        let val = u32::try_from(val).map_err(|_| Errno::EINVAL)?;
        vs.push(Waiter {
            uaddr,
            val,
            private: flags & FUTEX_PRIVATE_FLAG != 0,
        });
    }
    Ok(vs)
}

/// Queues on every futex if each still holds its value, sleeps until one
/// is woken, and returns its index.
///
/// Linux: futex_wait_multiple() / futex_wait_multiple_setup() in kernel/futex/waitwake.c
/// Differs: all words are checked and all entries queued under the one
/// queue lock, so a mismatch leaves nothing queued and no wake-up behind.
fn futex_wait_multiple(vs: &[Waiter], deadline_ns: Option<u64>) -> SysResult {
    let mut keys = Vec::new();
    keys.try_reserve_exact(vs.len())
        .map_err(|_| Errno::ENOMEM)?;
    for v in vs {
        keys.push(get_futex_key(v.uaddr, v.private)?);
    }
    let me = current();
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut queue = FUTEX_QUEUE.lock();
        for v in vs {
            let uval: u32 = get_user(v.uaddr)?;
            if uval != v.val {
                return Err(Errno::EAGAIN);
            }
        }
        queue.try_reserve(vs.len()).map_err(|_| Errno::ENOMEM)?;
        for (index, &key) in keys.iter().enumerate() {
            queue.push(FutexQ {
                key,
                bitset: FUTEX_BITSET_MATCH_ANY,
                task: me.clone(),
                woken: woken.clone(),
                index,
            });
        }
        me.state.store(TASK_INTERRUPTIBLE, Ordering::Release);
    }
    // A signal: restarted under SA_RESTART with the same absolute timeout.
    let result = futex_wait_queue(&me, &woken, deadline_ns).map_err(|e| match e {
        Errno::EINTR => Errno::ERESTARTSYS,
        e => e,
    });
    futex_unqueue_multiple(&woken, vs.len()).map_or(result, |index| Ok(index as u64))
}

/// Takes the remaining entries of one futex_waitv off the queue; returns
/// the index of one that a waker took, if any.
///
/// Linux: futex_unqueue_multiple() in kernel/futex/waitwake.c
fn futex_unqueue_multiple(woken: &Arc<AtomicBool>, count: usize) -> Option<usize> {
    let mut still_queued = [false; FUTEX_WAITV_MAX as usize];
    let mut queue = FUTEX_QUEUE.lock();
    queue.retain(|q| {
        let mine = Arc::ptr_eq(&q.woken, woken);
        if mine {
            still_queued[q.index] = true;
        }
        !mine
    });
    drop(queue);
    if !woken.load(Ordering::Acquire) {
        return None;
    }
    (0..count).find(|&i| !still_queued[i])
}
