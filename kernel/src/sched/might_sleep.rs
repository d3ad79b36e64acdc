//! The checks that catch sleeping where the kernel must not: might_sleep()
//! at the top of every function that may block, and schedule_debug() in
//! the scheduler itself, each reporting in Linux's words.
//!
//! Linux: __might_sleep() and schedule_debug() in kernel/sched/core.c

use crate::task::TaskStruct;
use core::sync::atomic::{AtomicU64, Ordering};

/// Calls that might_sleep() caught in a context that must not sleep.
static MIGHT_SLEEP_BUGS: AtomicU64 = AtomicU64::new(0);

/// When the last such report was printed, in ns since boot.
static MIGHT_SLEEP_PRINTED: AtomicU64 = AtomicU64::new(0);

/// Marks a function that may sleep: reports the call if it comes from a
/// context that must not sleep, even when this call happens not to sleep.
///
/// Linux: might_sleep() in include/linux/kernel.h
#[track_caller]
pub fn might_sleep() {
    let at = core::panic::Location::caller();
    __might_sleep(at.file(), at.line());
}

/// Reports a sleeping function called in interrupt context, with
/// preemption disabled or with interrupts off, as Linux does: at most once
/// a second, naming the call site, the context and the interrupted task.
///
/// Linux: __might_sleep() in kernel/sched/core.c
/// Differs: the idle task in process context is exempt, since it runs the
/// boot code (Linux exempts the boot through system_state); nothing taints
/// the kernel.
pub fn __might_sleep(file: &str, line: u32) {
    let count = crate::preempt::preempt_count();
    let irqs_disabled = crate::arch::irqs_disabled();
    let (pid, comm, idle) = crate::arch::percpu::with_current(|c| {
        c.map_or((0, crate::task::Comm::new("swapper"), true), |c| {
            (c.pid(), c.comm_lossy(), c.is_idle_task())
        })
    });
    if (count == 0 && !irqs_disabled) || (idle && !crate::preempt::in_interrupt()) {
        return;
    }
    MIGHT_SLEEP_BUGS.fetch_add(1, Ordering::Relaxed);
    let now = crate::arch::time::ktime_get_ns();
    let last = MIGHT_SLEEP_PRINTED.load(Ordering::Relaxed);
    if last != 0 && now < last + 1_000_000_000 {
        return;
    }
    MIGHT_SLEEP_PRINTED.store(now, Ordering::Relaxed);
    log::error!("BUG: sleeping function called from invalid context at {file}:{line}");
    log::error!(
        "in_atomic(): {}, irqs_disabled(): {}, non_block: 0, pid: {pid}, name: {}",
        u8::from(count != 0),
        u8::from(irqs_disabled),
        comm.as_str()
    );
    log::error!("preempt_count: {count:x}, expected: 0");
}

/// How many calls might_sleep() caught since boot.
pub fn might_sleep_reports() -> u64 {
    MIGHT_SLEEP_BUGS.load(Ordering::Relaxed)
}

/// Reports a task that really calls schedule() from an atomic context.
///
/// Linux: schedule_debug() and __schedule_bug() in kernel/sched/core.c
pub(super) fn schedule_debug(prev: &TaskStruct, preempt: bool) {
    if !preempt && crate::preempt::in_atomic() {
        log::error!(
            "BUG: scheduling while atomic: {}/{}/{:#010x}",
            prev.comm_lossy().as_str(),
            prev.pid(),
            crate::preempt::preempt_count()
        );
    }
}
