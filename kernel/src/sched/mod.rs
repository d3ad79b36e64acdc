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
//! Scheduling classes: each task belongs to one [`SchedClass`]
//! (`TaskStruct::sched_class`), and the core asks the classes in Linux's
//! order, stop > rt > fair > idle, for the next task ([`CLASSES`]). Each
//! class keeps its waiting tasks in its own part of the run queue; the
//! running task (`rq.curr`) is on no class's queue until put_prev_task
//! puts it back.
//!
//! Linux: kernel/sched/

pub mod balance;
#[cfg(feature = "bench")]
pub mod bench;
pub mod class;
pub mod completion;
pub mod core;
pub mod cputime;
pub mod debug;
pub mod eevdf;
pub mod fair;
pub mod hrtick;
pub mod idle;
pub mod loadavg;
pub mod might_sleep;
pub mod migrate;
pub mod nice;
pub mod prio;
pub mod rt;
pub mod setscheduler;
#[cfg(feature = "ktest")]
mod smp_tests;
pub mod stop_task;
pub mod syscalls;
pub mod timeline;
pub mod wait;

use crate::task::TaskStruct;
use ::core::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering};
use alloc::sync::Arc;

/// Per-task state of the fair class, and what every class shares (Linux:
/// `sched_entity` plus `on_rq` and the TIF_NEED_RESCHED thread flag).
#[derive(Default)]
pub struct SchedEntity {
    /// 0, TASK_ON_RQ_QUEUED (queued on a run queue, or running) or
    /// TASK_ON_RQ_MIGRATING (between two run queues) (Linux: on_rq).
    /// Lock: written under its run queue's lock, or by sched_fork before
    /// the task is seen.
    pub on_rq: AtomicU8,
    /// On its fair run queue: waiting in it, or its running task (Linux:
    /// se->on_rq; `on_rq` above is the task's, p->on_rq). Lock: the run
    /// queue's.
    pub on_cfs_rq: AtomicBool,
    /// The weight of the task's nice value (Linux: load.weight).
    pub load_weight: AtomicU64,
    /// Virtual run time: real run time scaled by NICE_0_LOAD / weight, in
    /// ns (Linux: vruntime). See eevdf.rs for this and the next three.
    pub vruntime: AtomicU64,
    /// Virtual deadline of the current request (Linux: deadline).
    pub deadline: AtomicU64,
    /// Lag saved when leaving the queue, in virtual ns (Linux: vlag).
    pub vlag: AtomicI64,
    /// The real time requested at each pick, in ns (Linux: slice).
    pub slice: AtomicU64,
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
    /// The task's node number on every CPU's fair timeline, given by
    /// sched_fork() (Linux: the rb_node embedded here, run_node).
    pub timeline_slot: timeline::TimelineSlot,
}

/// Per-task state of the real-time classes (Linux: `sched_rt_entity`).
/// Lock: the run queue lock of the task's CPU.
#[derive(Default)]
pub struct SchedRtEntity {
    /// Run time left of a SCHED_RR task's slice, in ns (Linux: time_slice,
    /// in ticks).
    pub time_slice: AtomicU64,
}

/// The scheduling classes, highest first. A class's number is its rank:
/// a task of a lower number always runs before one of a higher.
///
/// Linux: the `sched_class` section order (stop, dl, rt, fair, ext, idle)
/// in include/asm-generic/vmlinux.lds.h
/// Differs: no deadline class (1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub enum SchedClassId {
    /// The CPU's stopper, migration/N (stop_task.rs).
    Stop = 0,
    /// SCHED_FIFO and SCHED_RR tasks (rt.rs).
    Rt = 2,
    /// SCHED_NORMAL, SCHED_BATCH and SCHED_IDLE tasks (fair.rs).
    Fair = 3,
    /// The CPU's idle task, when nothing else wants the CPU (idle.rs).
    Idle = 4,
}

impl SchedClassId {
    /// The class a stored rank names (Fair for an unknown one).
    pub fn from_u8(v: u8) -> SchedClassId {
        match v {
            0 => SchedClassId::Stop,
            2 => SchedClassId::Rt,
            4 => SchedClassId::Idle,
            _ => SchedClassId::Fair,
        }
    }

    /// The class's operations.
    pub fn class(self) -> &'static SchedClass {
        match self {
            SchedClassId::Stop => &stop_task::STOP_SCHED_CLASS,
            SchedClassId::Rt => &rt::RT_SCHED_CLASS,
            SchedClassId::Fair => &fair::FAIR_SCHED_CLASS,
            SchedClassId::Idle => &idle::IDLE_SCHED_CLASS,
        }
    }
}

/// The classes in the order pick_next_task() asks them.
///
/// Linux: for_each_class() in kernel/sched/sched.h
pub const CLASSES: [SchedClassId; 4] = [
    SchedClassId::Stop,
    SchedClassId::Rt,
    SchedClassId::Fair,
    SchedClassId::Idle,
];

/// The task is woken (Linux: ENQUEUE_WAKEUP); for dequeue, it goes to
/// sleep (DEQUEUE_SLEEP).
pub const ENQUEUE_WAKEUP: u32 = 0x01;
/// The task moves between run queues (Linux: ENQUEUE_MIGRATED).
pub const ENQUEUE_MIGRATED: u32 = 0x40;
/// Queue at the head of the task's list, not the tail: an RT task whose
/// priority was lowered (Linux: ENQUEUE_HEAD).
pub const ENQUEUE_HEAD: u32 = 0x10;
/// The first enqueue of a new task (Linux: ENQUEUE_INITIAL).
pub const ENQUEUE_INITIAL: u32 = 0x80;
/// `on_rq`: the task is on a run queue (Linux: TASK_ON_RQ_QUEUED).
pub const TASK_ON_RQ_QUEUED: u8 = 1;
/// `on_rq`: the task is being moved from one run queue to another, and is
/// on neither for a moment (Linux: TASK_ON_RQ_MIGRATING).
pub const TASK_ON_RQ_MIGRATING: u8 = 2;

/// Whether `p` is on a run queue, running or waiting. Read under the lock
/// of the run queue `p` is on, this is final; read without it, a task
/// being moved may look as if it is on none, so a reader without the lock
/// asks `p.se.on_rq != 0` instead and locks the run queue to be sure.
///
/// Linux: task_on_rq_queued() in kernel/sched/sched.h
pub fn task_on_rq_queued(p: &TaskStruct) -> bool {
    p.se.on_rq.load(Ordering::Acquire) == TASK_ON_RQ_QUEUED
}

/// Whether `p` is between two run queues: taken off one, not yet on the
/// other. Whoever locks a run queue to look at `p` waits until it is not
/// (task_rq_lock()).
///
/// Linux: task_on_rq_migrating() in kernel/sched/sched.h
pub fn task_on_rq_migrating(p: &TaskStruct) -> bool {
    p.se.on_rq.load(Ordering::Acquire) == TASK_ON_RQ_MIGRATING
}

/// The task goes to sleep (Linux: DEQUEUE_SLEEP).
pub const DEQUEUE_SLEEP: u32 = 0x01;

/// What a scheduling class does, called by the core with the run queue
/// locked. `rq.curr` is never on its class's queue: pick_task() only
/// looks, set_next_task() takes the task it picked off the queue, and
/// put_prev_task() puts a still runnable one back.
///
/// Linux: struct sched_class in kernel/sched/sched.h
/// Differs: a table of plain functions on a `RunQueue`, without the
/// hooks of features not modelled (cgroups, uclamp, core scheduling,
/// balance callbacks, push/pull of rt tasks).
pub struct SchedClass {
    /// Adds a runnable task to the class's queue (flags: ENQUEUE_*).
    pub enqueue_task: fn(&mut RunQueue, &Arc<TaskStruct>, u32),
    /// Takes a task off the class's queue, or stops accounting the running
    /// one, which is on none (flags: DEQUEUE_*).
    pub dequeue_task: fn(&mut RunQueue, &Arc<TaskStruct>, u32),
    /// The running task gives way (sched_yield).
    pub yield_task: fn(&mut RunQueue),
    /// `p` of this class was queued while a task of this class runs:
    /// resched_curr() if `p` should run first.
    pub wakeup_preempt: fn(&mut RunQueue, &Arc<TaskStruct>, u32),
    /// The task this class would run next, left on its queue.
    pub pick_task: fn(&mut RunQueue) -> Option<Arc<TaskStruct>>,
    /// The running task stops running: back on the queue if still runnable.
    pub put_prev_task: fn(&mut RunQueue, &Arc<TaskStruct>),
    /// `p` becomes the running task (`first`: just picked, so off the queue).
    pub set_next_task: fn(&mut RunQueue, &Arc<TaskStruct>, bool),
    /// A timer tick while `curr` of this class runs.
    pub task_tick: fn(&mut RunQueue, &Arc<TaskStruct>),
    /// A new task of this class, before anyone can run it (sched_fork).
    pub task_fork: fn(&TaskStruct),
    /// Charges the running task the time it ran since its last stamp.
    pub update_curr: fn(&mut RunQueue),
}

/// One CPU's run queue (Linux: `struct rq`).
pub struct RunQueue {
    /// The fair class's queue (Linux: rq->cfs).
    pub(crate) cfs: fair::CfsRq,
    /// The RT class's queues (Linux: rq->rt).
    pub(crate) rt: rt::RtRq,
    /// Tasks that want this CPU, the running one included, its idle task
    /// excluded (Linux: rq->nr_running). Counted by activate_task and
    /// deactivate_task.
    pub(crate) nr_running: usize,
    /// The CPU this queue belongs to (Linux: rq->cpu), set by sched_init.
    pub(crate) cpu: usize,
    /// The scheduler clock, in ns, as update_rq_clock() last read it
    /// (Linux: rq->clock_task).
    pub(crate) clock: u64,
    /// RQCF_REQ_SKIP / RQCF_ACT_SKIP: a yield asked that the next
    /// __schedule() reuse `clock` (Linux: rq->clock_update_flags).
    pub(crate) clock_update_flags: u8,
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
    /// Whether picking a fair task arms the hrtick (hrtick.rs): on a CPU's
    /// own queue, not on a private one.
    pub(crate) hrtick_enabled: bool,
}

impl RunQueue {
    /// An empty run queue.
    pub const fn new() -> Self {
        RunQueue {
            cfs: fair::CfsRq::new(),
            rt: rt::RtRq::new(),
            nr_running: 0,
            cpu: 0,
            clock: 0,
            clock_update_flags: 0,
            curr: None,
            idle: None,
            prev: None,
            prev_mm: None,
            nr_switches: 0,
            stop: None,
            balance_ticks: 0,
            hrtick_enabled: false,
        }
    }

    /// Tasks that want this CPU: the queued ones, plus the running one
    /// unless it is the idle task or is leaving the queue (Linux:
    /// rq->nr_running).
    pub fn nr_running(&self) -> usize {
        self.nr_running
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
