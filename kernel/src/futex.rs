//! Fast user-space mutexes: the kernel half of pthread mutexes, condition
//! variables and pthread_join. FUTEX_WAIT sleeps only if the word still
//! holds the expected value; FUTEX_WAKE wakes sleepers on a word.
//!
//! Linux: kernel/futex/ (core.c, waitwake.c, syscalls.c)
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

const FUTEX_WAIT: u32 = 0;
const FUTEX_WAKE: u32 = 1;
const FUTEX_WAIT_BITSET: u32 = 9;
const FUTEX_WAKE_BITSET: u32 = 10;
const FUTEX_PRIVATE_FLAG: u32 = 128;
const FUTEX_CLOCK_REALTIME: u32 = 256;

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
    task: Arc<TaskStruct>,
    woken: Arc<AtomicBool>,
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

/// Sleeps on `uaddr` if it still holds `val`, until woken, a signal, or
/// the absolute monotonic `deadline_ns`.
///
/// Linux: futex_wait() in kernel/futex/waitwake.c
fn futex_wait(uaddr: u64, private: bool, val: u32, deadline_ns: Option<u64>) -> SysResult {
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
            task: me.clone(),
            woken: woken.clone(),
        });
        me.state.store(TASK_INTERRUPTIBLE, Ordering::Release);
    }
    let timeout = deadline_ns.map(|d| {
        let sleeper = crate::time::hrtimer::HrtimerSleeper::new(me.clone());
        sleeper.start_expires(d);
        sleeper
    });
    let result = loop {
        if woken.load(Ordering::Acquire) {
            break Ok(0);
        }
        if crate::signal::signal_pending(&me) {
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
    FUTEX_QUEUE
        .lock()
        .retain(|q| !Arc::ptr_eq(&q.woken, &woken));
    if woken.load(Ordering::Acquire) {
        Ok(0)
    } else {
        result
    }
}

/// Wakes up to `nr` sleepers on `uaddr`; returns how many.
///
/// Linux: futex_wake() in kernel/futex/waitwake.c
pub fn futex_wake(uaddr: u64, private: bool, nr: u32) -> SysResult {
    let key = get_futex_key(uaddr, private)?;
    let mut woken = Vec::new();
    {
        let mut queue = FUTEX_QUEUE.lock();
        let mut i = 0;
        while i < queue.len() && woken.len() < nr as usize {
            if queue[i].key == key {
                let q = queue.remove(i);
                q.woken.store(true, Ordering::Release);
                woken.push(q.task);
            } else {
                i += 1;
            }
        }
    }
    for task in &woken {
        wake_up_process(task);
    }
    Ok(woken.len() as u64)
}

/// Linux: SYSCALL_DEFINE6(futex) in kernel/futex/syscalls.c
pub fn sys_futex(uaddr: u64, op: u32, val: u32, utime: u64, _uaddr2: u64, _val3: u32) -> SysResult {
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
            futex_wait(uaddr, private, val, deadline)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => futex_wake(uaddr, private, val),
        _ => Err(Errno::ENOSYS),
    }
}
