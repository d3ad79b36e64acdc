//! The scheduler: run queues, context switches, wait queues, completions.
//!
//! Each online CPU runs the tasks of its own run queue. A task is on at
//! most one queue (the one of `task_cpu(p)`), moved between queues only
//! with both queues locked (balance.rs, migrate.rs) or while it sleeps
//! under its pi_lock (try_to_wake_up); a CPU runs a task only once the CPU
//! that ran it before has left its stack (`on_cpu`).
//!
//! Lock order: a task's pi_lock, then run queue locks, two of them lowest
//! CPU first (double_rq_lock).
//!
//! Differs: Linux's fair class (CFS/EEVDF) orders tasks by virtual runtime;
//! ours is round robin with a fixed time slice, which is enough to show
//! preemption, sleeping and waking.
//!
//! Linux: kernel/sched/

pub mod balance;
pub mod completion;
pub mod core;
pub mod cputime;
pub mod debug;
pub mod fair;
pub mod loadavg;
pub mod migrate;
mod smp_tests;
pub mod syscalls;
pub mod wait;

use crate::task::TaskStruct;
use ::core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use alloc::collections::VecDeque;
use alloc::sync::Arc;

/// Per-task scheduler state (Linux: `sched_entity` plus `on_rq` and the
/// TIF_NEED_RESCHED thread flag).
#[derive(Default)]
pub struct SchedEntity {
    /// Queued on a run queue, or running (Linux: on_rq).
    /// Lock: written under its run queue's lock, or by sched_fork before the task is seen.
    pub on_rq: AtomicBool,
    /// Ticks left before the timer preempts the task.
    pub time_slice: AtomicU32,
    /// The scheduler should run at the next opportunity (Linux: TIF_NEED_RESCHED).
    pub need_resched: AtomicBool,
    /// Times the task was switched in (Linux: nvcsw + nivcsw).
    pub nr_switches: AtomicU64,
    /// Scheduler clock when the task last started running or was last
    /// charged, in ns (Linux: exec_start). Written under its run queue's lock.
    pub exec_start: AtomicU64,
    /// CPU time the task has run, in ns, charged at each switch and tick
    /// (Linux: sum_exec_runtime). Written under its run queue's lock.
    pub sum_exec_runtime: AtomicU64,
}

/// One CPU's run queue (Linux: `struct rq`).
pub struct RunQueue {
    pub(crate) queue: VecDeque<Arc<TaskStruct>>,
    /// The running task (Linux: rq->curr).
    pub(crate) curr: Option<Arc<TaskStruct>>,
    /// This CPU's idle task, run when the queue is empty (Linux: rq->idle).
    pub(crate) idle: Option<Arc<TaskStruct>>,
    /// The task switched away from, dropped by finish_task_switch().
    pub(crate) prev: Option<Arc<TaskStruct>>,
    /// The mm this CPU had loaded before the switch, dropped by
    /// finish_task_switch() (Linux: rq->prev_mm).
    pub(crate) prev_mm: Option<Arc<crate::mm::mm_types::MmStruct>>,
    /// Context switches on this CPU (Linux: rq->nr_switches).
    pub(crate) nr_switches: u64,
    /// This CPU's stopper thread, migration/N, which runs before any other
    /// queued task (Linux: rq->stop, the stop class).
    pub(crate) stop: Option<Arc<TaskStruct>>,
    /// Ticks since the last periodic load balance (Linux: rq->next_balance,
    /// counted in ticks here).
    pub(crate) balance_ticks: u32,
}

impl RunQueue {
    /// An empty run queue.
    pub const fn new() -> Self {
        RunQueue {
            queue: VecDeque::new(),
            curr: None,
            idle: None,
            prev: None,
            prev_mm: None,
            nr_switches: 0,
            stop: None,
            balance_ticks: 0,
        }
    }

    /// Tasks that want this CPU: the queued ones, plus the running one
    /// unless it is the idle task or is leaving the queue (Linux:
    /// rq->nr_running).
    pub fn nr_running(&self) -> usize {
        let running = self
            .curr
            .as_ref()
            .is_some_and(|c| !c.is_idle_task() && c.se.on_rq.load(Ordering::Relaxed));
        self.queue.len() + usize::from(running)
    }

    /// Whether the CPU runs its idle task with nothing queued (Linux:
    /// idle_cpu()).
    pub fn is_idle(&self) -> bool {
        self.nr_running() == 0
    }
}

impl Default for RunQueue {
    fn default() -> Self {
        Self::new()
    }
}
