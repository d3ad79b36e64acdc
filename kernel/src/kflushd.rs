//! kflushd: an example kernel thread that flushes a cache periodically and
//! that root starts and stops at run time, from the shell:
//!
//! ```sh
//! echo 50 > /proc/sys/vm/kflushd_centisecs   # start it: a flush every 0.5 s
//! ps                                         # [kflushd], a child of kthreadd
//! echo 0 > /proc/sys/vm/kflushd_centisecs    # stop it: kthread_stop(), reaped
//! ```
//!
//! The cache is a real one, and small: the kernel stacks of exited tasks
//! that mm/vmalloc.rs keeps mapped for the next fork (at most two, 32 KiB
//! each). A flush frees them with free_vm_stack_cache(), so MemFree rises
//! by what was freed and the next fork maps a fresh stack. That is for
//! teaching: Linux empties this cache only when a CPU goes offline.
//!
//! Linux: the pattern of mm/khugepaged.c (start_stop_khugepaged(): a knob
//! that starts a kthread with kthread_run() and stops it with
//! kthread_stop()); the name is Linux 2.2's kflushd (fs/buffer.c), which
//! wrote dirty buffers back on a timer.

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::kthread::{kthread_run, kthread_should_stop, kthread_stop};
use crate::sched::wait::WaitQueueHead;
use crate::sysctl::CtlTable;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

/// Centiseconds between flushes; 0 means kflushd is not running.
static KFLUSHD_CENTISECS: AtomicI32 = AtomicI32::new(0);

/// `/proc/sys/vm/kflushd_centisecs`: 0 (the default) stops kflushd, 1 to
/// 360000 (an hour) starts it or changes its interval.
/// Differs: Linux has no such knob; it follows vm.dirty_writeback_centisecs,
/// whose 0 also turns the periodic flush off.
pub static KFLUSHD_SYSCTL: CtlTable = CtlTable {
    procname: "kflushd_centisecs",
    data: &KFLUSHD_CENTISECS,
    min: 0,
    max: 360_000,
    on_write: start_stop_kflushd,
};

/// The running kflushd, if any. Changed only under `KFLUSHD_MUTEX`.
static KFLUSHD_THREAD: SpinLock<Option<Arc<TaskStruct>>> = SpinLock::new(None);
/// Cached stacks the flushes have freed since boot.
static STACKS_FREED: AtomicU64 = AtomicU64::new(0);

/// Serialises start and stop, which sleep (Linux: `khugepaged_mutex`).
/// Differs: there is no sleeping mutex type; a flag and a wait queue play it.
static KFLUSHD_MUTEX: AtomicBool = AtomicBool::new(false);
static KFLUSHD_MUTEX_WAIT: WaitQueueHead = WaitQueueHead::new();

/// The thread: flush, sleep for the interval (or until kthread_stop wakes
/// it), until asked to stop. Returns the number of flushes, which
/// kthread_stop() hands to whoever stopped it.
fn kflushd() -> i32 {
    let mut rounds = 0;
    while !kthread_should_stop() {
        let freed = crate::mm::vmalloc::free_vm_stack_cache();
        STACKS_FREED.fetch_add(freed as u64, Ordering::Relaxed);
        if freed != 0 {
            log::debug!("kflushd: freed {freed} cached kernel stacks");
        }
        rounds += 1;
        let centisecs = KFLUSHD_CENTISECS.load(Ordering::Relaxed).max(1) as u64;
        crate::time::schedule_timeout_interruptible(centisecs * 10_000_000);
    }
    rounds
}

/// Starts kflushd if the interval is non-zero and it is not running, stops
/// it if the interval is 0, or wakes it to pick up a new interval.
///
/// Linux: start_stop_khugepaged() in mm/khugepaged.c
///
/// # Errors
/// What kthread_run returns (`ENOMEM`, `EAGAIN`, `EINTR`).
pub fn start_stop_kflushd() -> Result<(), Errno> {
    KFLUSHD_MUTEX_WAIT.wait_event(|| !KFLUSHD_MUTEX.swap(true, Ordering::Acquire));
    let result = start_stop_locked();
    KFLUSHD_MUTEX.store(false, Ordering::Release);
    KFLUSHD_MUTEX_WAIT.wake_up();
    result
}

/// The body of start_stop_kflushd(), under `KFLUSHD_MUTEX`.
fn start_stop_locked() -> Result<(), Errno> {
    let running = KFLUSHD_THREAD.lock().clone();
    let centisecs = KFLUSHD_CENTISECS.load(Ordering::Relaxed);
    match (running, centisecs) {
        (None, 0) => {}
        (None, _) => {
            let k = kthread_run(Arc::new(kflushd), "kflushd")?;
            log::info!(
                "kflushd: started as pid {}, a flush every {centisecs}0 ms",
                k.pid()
            );
            *KFLUSHD_THREAD.lock() = Some(k);
        }
        (Some(k), 0) => {
            let rounds = kthread_stop(&k);
            *KFLUSHD_THREAD.lock() = None;
            log::info!(
                "kflushd: pid {} stopped: kthread_stop() returned {rounds} (flushes); {} cached stacks freed since boot",
                k.pid(),
                STACKS_FREED.load(Ordering::Relaxed)
            );
        }
        (Some(k), _) => {
            crate::sched::core::wake_up_process(&k);
        }
    }
    Ok(())
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::ktest::wait_until;
    use crate::{kassert, ktest};

    ktest! {
        fn kflushd_starts_flushes_the_stack_cache_and_stops_with_its_count() {
            KFLUSHD_SYSCTL.data.store(1, Ordering::Relaxed);
            kassert!(start_stop_kflushd().is_ok());
            let k = KFLUSHD_THREAD.lock().clone();
            kassert!(k.as_ref().is_some_and(|k| k.comm().as_str() == "kflushd"));
            // A task that exits leaves its stack in the cache; kflushd frees it.
            let before = STACKS_FREED.load(Ordering::Relaxed);
            let pid = crate::fork::kernel_thread(
                Arc::new(|| 0),
                "kflushd-feed",
                crate::fork::CloneFlags::CLONE_FS | crate::fork::CloneFlags::CLONE_FILES, crate::signal::SIGCHLD,
            );
            kassert!(pid.is_ok());
            kassert!(crate::exit::kernel_wait4(pid.unwrap_or(0), 0).is_ok());
            kassert!(wait_until(200, || STACKS_FREED.load(Ordering::Relaxed) > before));
            KFLUSHD_SYSCTL.data.store(0, Ordering::Relaxed);
            kassert!(start_stop_kflushd().is_ok());
            kassert!(KFLUSHD_THREAD.lock().is_none());
            let k = k.expect("checked above");
            // kthread_stop returns once the thread has left its mm; the
            // autoreap by kthreadd's ignored SIGCHLD follows in exit_notify
            // (EXIT_DEAD), and release_task unhashes its pid just after.
            kassert!(wait_until(100, || {
                k.exit_state() == crate::task::EXIT_DEAD
                    && crate::pid::find_task_by_vpid(k.pid()).is_none_or(|t| !Arc::ptr_eq(&t, &k))
            }));
        }
    }
}
