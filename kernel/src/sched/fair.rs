//! Charging run time: the running task's CPU time in nanoseconds, read from
//! the scheduler clock at every context switch and tick. This is what the
//! CPU-time clocks, `/proc/<pid>/schedstat` and the scaling of utime/stime
//! count, where the tick only samples which mode a task was in.
//!
//! Linux: update_curr() and set_next_entity() in kernel/sched/fair.c, and
//! account_group_exec_runtime() in kernel/sched/stats.h
//! Not modelled: vruntime and the rest of the fair class (see sched/mod.rs).

use crate::task::TaskStruct;
use core::sync::atomic::Ordering;

/// The scheduler clock, in ns: the TSC-based monotonic clock.
///
/// Linux: sched_clock() in arch/x86/kernel/tsc.c (through rq_clock_task())
pub fn sched_clock() -> u64 {
    crate::arch::time::ktime_get_ns()
}

/// Charges `curr` the time it ran since its last stamp and its process the
/// same. The caller holds the run queue lock of the CPU `curr` runs on.
///
/// Linux: update_curr() in kernel/sched/fair.c
pub fn update_curr(curr: &TaskStruct, now: u64) {
    let delta_exec = now.saturating_sub(curr.se.exec_start.load(Ordering::Relaxed));
    curr.se.exec_start.store(now, Ordering::Relaxed);
    if delta_exec == 0 {
        return;
    }
    curr.se
        .sum_exec_runtime
        .fetch_add(delta_exec, Ordering::Relaxed);
    account_group_exec_runtime(curr, delta_exec);
}

/// Adds `ns` to the run time of `p`'s process, which keeps counting after
/// the thread is gone.
///
/// Linux: account_group_exec_runtime() in kernel/sched/stats.h
fn account_group_exec_runtime(p: &TaskStruct, ns: u64) {
    if let Some(sig) = p.signal.get() {
        sig.cputimer
            .sum_exec_runtime
            .fetch_add(ns, Ordering::Relaxed);
    }
}

/// Stamps `next` as starting to run now, so that its next update_curr()
/// charges only the time from here. The caller holds the run queue lock.
///
/// Linux: set_next_entity() (se->exec_start = rq_clock_task()) in
/// kernel/sched/fair.c
pub fn set_next_entity(next: &TaskStruct, now: u64) {
    next.se.exec_start.store(now, Ordering::Relaxed);
}
