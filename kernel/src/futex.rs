//! Fast user-space mutexes: the kernel half of pthread mutexes, condition
//! variables and pthread_join. FUTEX_WAIT sleeps only if the word still
//! holds the expected value; FUTEX_WAKE wakes sleepers on a word.
//!
//! Linux: kernel/futex/ (core.c, waitwake.c, syscalls.c); requeue.rs,
//! wake_op.rs, waitv.rs and robust.rs here hold the rest.
//! Differs: one global list of waiters instead of hash buckets; shared
//! futexes are keyed by physical address, private ones by (mm, address).

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::mm::uaccess::get_user;
use crate::sched::core::{schedule, wake_up_process};
use crate::syscall::SysResult;
use crate::task::{TASK_INTERRUPTIBLE, TASK_RUNNING, TaskStruct, current};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

mod requeue;
pub mod robust;
pub mod waitv;
mod wake_op;

const FUTEX_WAIT: u32 = 0;
const FUTEX_WAKE: u32 = 1;
const FUTEX_REQUEUE: u32 = 3;
const FUTEX_CMP_REQUEUE: u32 = 4;
const FUTEX_WAKE_OP: u32 = 5;
const FUTEX_WAIT_BITSET: u32 = 9;
const FUTEX_WAKE_BITSET: u32 = 10;
const FUTEX_PRIVATE_FLAG: u32 = 128;
const FUTEX_CLOCK_REALTIME: u32 = 256;
/// The bitset plain FUTEX_WAIT and FUTEX_WAKE use: every waiter matches.
pub const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// What identifies a futex word (Linux: union futex_key).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FutexKey {
    /// A process-private word: the mm and the virtual address.
    Private(usize, u64),
    /// A word shared between address spaces: its physical address.
    Shared(u64),
}

/// One sleeper (Linux: struct futex_q).
struct FutexQ {
    key: FutexKey,
    /// Which FUTEX_WAKE_BITSET calls wake it (Linux: bitset).
    bitset: u32,
    task: Arc<TaskStruct>,
    /// Set by the waker; shared by all entries of one futex_waitv.
    woken: Arc<AtomicBool>,
    /// Its place in a futex_waitv vector; 0 for a plain wait.
    index: usize,
}

static FUTEX_QUEUE: SpinLock<Vec<FutexQ>> = SpinLock::new(Vec::new());

/// Linux: get_futex_key() in kernel/futex/core.c
fn get_futex_key(uaddr: u64, private: bool) -> Result<FutexKey, Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mm = current().mm.lock().clone().ok_or(Errno::EFAULT)?;
    let shared_mapping = mm
        .mmap
        .lock()
        .find_vma(uaddr)
        .is_some_and(|v| matches!(v.backing, crate::mm::mm_types::VmBacking::Shared(_)));
    // Private memory can only be seen by this mm, so even a "shared" futex
    // on it is keyed by (mm, address), as Linux does.
    if private || !shared_mapping {
        return Ok(FutexKey::Private(Arc::as_ptr(&mm) as usize, uaddr));
    }
    let _: u32 = get_user(uaddr)?;
    let (frame, _) = crate::mm::memory::follow_page(&mm, uaddr).ok_or(Errno::EFAULT)?;
    Ok(FutexKey::Shared(
        frame.start_address().as_u64() + uaddr % 4096,
    ))
}

/// Continues a timed futex wait that a signal without a handler
/// interrupted, to the same deadline.
///
/// Linux: futex_wait_restart() in kernel/futex/waitwake.c
pub fn futex_wait_restart(
    uaddr: u64,
    private: bool,
    val: u32,
    bitset: u32,
    deadline_ns: u64,
) -> SysResult {
    futex_wait(uaddr, private, val, bitset, Some(deadline_ns))
}

/// Sleeps on `uaddr` if it still holds `val`, until woken, a signal, or
/// the absolute monotonic `deadline_ns`. A signal ends it with ERESTARTSYS
/// (restarted under SA_RESTART), or with a timeout ERESTART_RESTARTBLOCK
/// (continued to the same deadline when no handler runs).
///
/// Linux: futex_wait() in kernel/futex/waitwake.c
fn futex_wait(
    uaddr: u64,
    private: bool,
    val: u32,
    bitset: u32,
    deadline_ns: Option<u64>,
) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = get_futex_key(uaddr, private)?;
    let me = current();
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut queue = FUTEX_QUEUE.lock();
        let current_val: u32 = get_user(uaddr)?;
        if current_val != val {
            return Err(Errno::EAGAIN);
        }
        queue.push(FutexQ {
            key,
            bitset,
            task: me.clone(),
            woken: woken.clone(),
            index: 0,
        });
        me.state.store(TASK_INTERRUPTIBLE, Ordering::Release);
    }
    let result = futex_wait_queue(&me, &woken, deadline_ns);
    FUTEX_QUEUE
        .lock()
        .retain(|q| !Arc::ptr_eq(&q.woken, &woken));
    match result {
        _ if woken.load(Ordering::Acquire) => Ok(0),
        Err(Errno::EINTR) => Err(match deadline_ns {
            None => Errno::ERESTARTSYS,
            Some(deadline_ns) => {
                crate::restart_block::set_restart_fn(crate::restart_block::RestartBlock::Futex {
                    uaddr,
                    private,
                    val,
                    bitset,
                    deadline_ns,
                })
            }
        }),
        result => result,
    }
}

/// Sleeps, with the task already queued and TASK_INTERRUPTIBLE, until
/// `woken` is set, a signal arrives or `deadline_ns` passes; leaves the
/// task running, still queued.
///
/// Linux: futex_wait_queue() in kernel/futex/waitwake.c
fn futex_wait_queue(
    me: &Arc<TaskStruct>,
    woken: &AtomicBool,
    deadline_ns: Option<u64>,
) -> SysResult {
    let timeout = deadline_ns.map(|d| {
        let sleeper = crate::time::hrtimer::HrtimerSleeper::new(me.clone());
        sleeper.start_expires(d);
        sleeper
    });
    let result = loop {
        if woken.load(Ordering::Acquire) {
            break Ok(0);
        }
        if crate::signal::signal_pending(me) {
            break Err(Errno::EINTR);
        }
        if timeout.as_ref().is_some_and(|t| t.expired()) {
            break Err(Errno::ETIMEDOUT);
        }
        schedule();
        me.state.store(TASK_INTERRUPTIBLE, Ordering::Release);
    };
    drop(timeout);
    me.state.store(TASK_RUNNING, Ordering::Release);
    result
}

/// Wakes up to `nr` sleepers on `uaddr`; returns how many.
///
/// Linux: futex_wake() in kernel/futex/waitwake.c
pub fn futex_wake(uaddr: u64, private: bool, nr: u32, bitset: u32) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = get_futex_key(uaddr, private)?;
    let woken = futex_wake_locked(&mut FUTEX_QUEUE.lock(), key, nr, bitset);
    Ok(wake_up_q(woken))
}

/// Takes up to `nr` waiters on `key` whose bitset meets `bitset` off the
/// queue and marks them woken; the caller wakes them after unlocking.
///
/// Linux: the loop of futex_wake() with futex_wake_mark() in kernel/futex/waitwake.c
fn futex_wake_locked(
    queue: &mut Vec<FutexQ>,
    key: FutexKey,
    nr: u32,
    bitset: u32,
) -> Vec<Arc<TaskStruct>> {
    let mut woken = Vec::new();
    let mut i = 0;
    while i < queue.len() && woken.len() < nr as usize {
        if queue[i].key == key && queue[i].bitset & bitset != 0 {
            let q = queue.remove(i);
            q.woken.store(true, Ordering::Release);
            woken.push(q.task);
        } else {
            i += 1;
        }
    }
    woken
}

/// Wakes the tasks `futex_wake_locked` took; returns how many.
///
/// Linux: wake_up_q() in kernel/sched/core.c
fn wake_up_q(woken: Vec<Arc<TaskStruct>>) -> u64 {
    for task in &woken {
        wake_up_process(task);
    }
    woken.len() as u64
}

/// Linux: SYSCALL_DEFINE6(futex) in kernel/futex/syscalls.c
pub fn sys_futex(uaddr: u64, op: u32, val: u32, utime: u64, uaddr2: u64, val3: u32) -> SysResult {
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = if utime == 0 {
                None
            } else {
                let [sec, nsec]: [u64; 2] = get_user(utime)?;
                if nsec >= 1_000_000_000 {
                    return Err(Errno::EINVAL);
                }
                let ns = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
                let now = crate::arch::time::ktime_get_ns();
                Some(if cmd == FUTEX_WAIT {
                    now.saturating_add(ns)
                } else {
                    crate::time::to_monotonic(op & FUTEX_CLOCK_REALTIME != 0, ns)
                })
            };
            let bitset = if cmd == FUTEX_WAIT {
                FUTEX_BITSET_MATCH_ANY
            } else {
                val3
            };
            futex_wait(uaddr, private, val, bitset, deadline)
        }
        FUTEX_WAKE => futex_wake(uaddr, private, val, FUTEX_BITSET_MATCH_ANY),
        FUTEX_WAKE_BITSET => futex_wake(uaddr, private, val, val3),
        // Linux: val2, the second count, travels in the timeout argument.
        FUTEX_REQUEUE => requeue::futex_requeue(uaddr, uaddr2, private, val, utime as u32, None),
        FUTEX_CMP_REQUEUE => {
            requeue::futex_requeue(uaddr, uaddr2, private, val, utime as u32, Some(val3))
        }
        FUTEX_WAKE_OP => wake_op::futex_wake_op(uaddr, uaddr2, private, val, utime as u32, val3),
        _ => Err(Errno::ENOSYS),
    }
}
