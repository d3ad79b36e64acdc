//! The scheduler's own micro-benchmark: what pick_next_task() costs with
//! 1, 10, 100 or 1000 runnable fair tasks. It runs on a private run queue
//! that no CPU schedules from, filled with tasks that never run, so that
//! the number of runnable tasks is exact and nothing else is measured.
//! Run from `bench` (kernel/src/bench.rs).
//!
//! Linux: no counterpart (perf's sched benchmarks measure whole switches).

use super::RunQueue;
use super::class::{activate_task, set_load_weight};
use super::timeline::alloc_timeline_slot;
use crate::arch::percpu::smp_processor_id;
use crate::arch::rdtsc;
use crate::errno::Errno;
use crate::task::{Comm, PF_KTHREAD, TASK_RUNNING, TaskStruct};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Virtual time a picked task runs before the next pick, in ns (a
/// quarter of its slice: every few picks its deadline moves on).
const RUN_NS: u64 = 1_000_000;

/// Cycles of `rounds` calls of pick_next_task() on a queue of `n`
/// runnable fair tasks: each call puts the previous task back (charged
/// RUN_NS), picks by EEVDF and takes the pick off the timeline, as a
/// context switch does.
///
/// # Errors
/// `ENOMEM` when the tasks or their timeline nodes cannot be allocated.
pub fn pick_next_task_cycles(n: usize, rounds: u64) -> Result<u64, Errno> {
    let mut rq = Box::try_new(RunQueue::new()).map_err(|_| Errno::ENOMEM)?;
    rq.cpu = smp_processor_id();
    let mut tasks = Vec::new();
    tasks.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
    for _ in 0..n {
        let p = Arc::new(TaskStruct::new(
            Comm::new("bench-pick"),
            TASK_RUNNING,
            PF_KTHREAD,
            None,
        ));
        set_load_weight(&p, false);
        alloc_timeline_slot(&p.se.timeline_slot)?;
        let slots = p.se.timeline_slot.get() as usize + 1;
        rq.cfs.timeline.try_grow(slots)?;
        tasks.push(p);
    }
    for p in &tasks {
        activate_task(&mut rq, p, 0);
    }
    // The first call puts back a task that is on no queue.
    let outsider = Arc::new(TaskStruct::new(
        Comm::new("bench-pick"),
        TASK_RUNNING,
        PF_KTHREAD,
        None,
    ));
    let mut prev = super::core::pick_next_task(&mut rq, &outsider);
    let start = rdtsc();
    for _ in 0..rounds {
        rq.clock += RUN_NS;
        let next = super::core::pick_next_task(&mut rq, &prev);
        prev = next;
    }
    Ok(rdtsc() - start)
}
