//! Charging run time: the running task's CPU time in nanoseconds, read from
//! the scheduler clock at every context switch and tick. This is what the
//! CPU-time clocks, `/proc/<pid>/schedstat` and the scaling of utime/stime
//! count, where the tick only samples which mode a task was in.
//!
//! It also chooses the CPU a new or waking task goes to (select_task_rq_fair).
//!
//! Linux: update_curr() and set_next_entity() in kernel/sched/fair.c, and
//! account_group_exec_runtime() in kernel/sched/stats.h;
//! select_task_rq_fair() in kernel/sched/fair.c
//! Not modelled: vruntime and the rest of the fair class (see sched/mod.rs),
//! scheduling domains (every CPU is one hop from every other), wake_affine.

use super::core::{WF_FORK, resched_curr};
use super::migrate::is_cpu_allowed;
use super::{RunQueue, SchedClass};
use crate::arch::percpu::{cpu_rq, smp_processor_id};
use crate::cpumask::cpu_online_mask;
use crate::task::{PF_KTHREAD, TaskStruct};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Timer ticks a task may run before it is preempted.
pub const RR_TIMESLICE: u32 = 4;

/// The fair class's part of a run queue (Linux: `struct cfs_rq`).
/// Lock: the run queue's.
pub struct CfsRq {
    /// The waiting tasks, first to run at the front.
    tasks: VecDeque<Arc<TaskStruct>>,
    /// The running fair task, on no queue (Linux: cfs_rq->curr).
    curr: Option<Arc<TaskStruct>>,
}

impl CfsRq {
    /// An empty queue.
    pub const fn new() -> Self {
        CfsRq {
            tasks: VecDeque::new(),
            curr: None,
        }
    }

    /// Tasks waiting, the running one not included (Linux: nr_queued).
    pub fn nr_queued(&self) -> usize {
        self.tasks.len()
    }

    /// The waiting tasks, the one that would wait longest first: the ones
    /// the load balancer moves first.
    pub fn tasks_to_migrate(&self) -> impl Iterator<Item = &Arc<TaskStruct>> {
        self.tasks.iter().rev()
    }
}

impl Default for CfsRq {
    fn default() -> Self {
        Self::new()
    }
}

/// The fair class (Linux: fair_sched_class in kernel/sched/fair.c).
pub static FAIR_SCHED_CLASS: SchedClass = SchedClass {
    enqueue_task: enqueue_task_fair,
    dequeue_task: dequeue_task_fair,
    yield_task: yield_task_fair,
    wakeup_preempt: check_preempt_wakeup_fair,
    pick_task: pick_task_fair,
    put_prev_task: put_prev_task_fair,
    set_next_task: set_next_task_fair,
    task_tick: task_tick_fair,
    task_fork: task_fork_fair,
    update_curr: update_curr_fair,
};

/// Whether `p` is the fair class's running task on `cfs`.
fn is_curr(cfs: &CfsRq, p: &TaskStruct) -> bool {
    cfs.curr.as_ref().is_some_and(|c| core::ptr::eq(&**c, p))
}

/// Linux: enqueue_task_fair() in kernel/sched/fair.c
fn enqueue_task_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    if !is_curr(&rq.cfs, p) {
        rq.cfs.tasks.push_back(p.clone());
    }
    p.se.on_cfs_rq.store(true, Ordering::Relaxed);
}

/// Linux: dequeue_task_fair() in kernel/sched/fair.c
fn dequeue_task_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    if is_curr(&rq.cfs, p) {
        update_curr_fair(rq);
    } else if let Some(at) = rq.cfs.tasks.iter().position(|q| Arc::ptr_eq(q, p)) {
        rq.cfs.tasks.remove(at);
    }
    p.se.on_cfs_rq.store(false, Ordering::Relaxed);
}

/// Linux: yield_task_fair() in kernel/sched/fair.c
fn yield_task_fair(_rq: &mut RunQueue) {}

/// Linux: check_preempt_wakeup_fair() in kernel/sched/fair.c
fn check_preempt_wakeup_fair(_rq: &mut RunQueue, _p: &Arc<TaskStruct>, _flags: u32) {}

/// Linux: pick_task_fair() in kernel/sched/fair.c
fn pick_task_fair(rq: &mut RunQueue) -> Option<Arc<TaskStruct>> {
    rq.cfs.tasks.front().cloned()
}

/// Linux: put_prev_task_fair() -> put_prev_entity() in kernel/sched/fair.c
fn put_prev_task_fair(rq: &mut RunQueue, prev: &Arc<TaskStruct>) {
    if prev.se.on_cfs_rq.load(Ordering::Relaxed) {
        update_curr_fair(rq);
        rq.cfs.tasks.push_back(prev.clone());
    }
    rq.cfs.curr = None;
}

/// Linux: set_next_task_fair() -> set_next_entity() in kernel/sched/fair.c
fn set_next_task_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, _first: bool) {
    if p.se.on_cfs_rq.load(Ordering::Relaxed)
        && let Some(at) = rq.cfs.tasks.iter().position(|q| Arc::ptr_eq(q, p))
    {
        rq.cfs.tasks.remove(at);
    }
    set_next_entity(p, rq.clock);
    rq.cfs.curr = Some(p.clone());
}

/// Counts down the running task's slice; at zero, asks for a reschedule if
/// another task waits.
///
/// Linux: task_tick_fair() in kernel/sched/fair.c
fn task_tick_fair(rq: &mut RunQueue, curr: &Arc<TaskStruct>) {
    update_curr_fair(rq);
    let left = curr.se.time_slice.load(Ordering::Relaxed).saturating_sub(1);
    if left == 0 {
        curr.se.time_slice.store(RR_TIMESLICE, Ordering::Relaxed);
        if !rq.cfs.tasks.is_empty() {
            resched_curr(rq);
        }
    } else {
        curr.se.time_slice.store(left, Ordering::Relaxed);
    }
}

/// sched_rr_get_interval's answer for a fair task, in ns: its slice.
///
/// Linux: get_rr_interval_fair() in kernel/sched/fair.c
pub fn get_rr_interval_fair(_p: &TaskStruct) -> u64 {
    u64::from(RR_TIMESLICE) * (1_000_000_000 / crate::arch::time::HZ)
}

/// Linux: task_fork_fair() in kernel/sched/fair.c
fn task_fork_fair(p: &TaskStruct) {
    p.se.time_slice.store(RR_TIMESLICE, Ordering::Relaxed);
}

/// Charges the running fair task.
///
/// Linux: update_curr_fair() in kernel/sched/fair.c
fn update_curr_fair(rq: &mut RunQueue) {
    if let Some(curr) = &rq.cfs.curr {
        update_curr(curr, rq.clock);
    }
}

/// Charges the running task of a class without virtual time (stop).
///
/// Linux: update_curr_common() in kernel/sched/fair.c
pub(crate) fn update_curr_common(rq: &mut RunQueue) {
    if let Some(curr) = &rq.curr {
        update_curr(curr, rq.clock);
    }
}

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

/// Tasks that want `cpu`, read under its run queue lock (a snapshot).
fn cpu_nr_running(cpu: usize) -> usize {
    cpu_rq(cpu).lock().nr_running()
}

/// Picks the CPU for `p`, whose last CPU is `prev_cpu`: for a fork, near
/// the parent unless the parent's CPU is busy; for a wake-up, an idle CPU,
/// the previous one first. The caller holds `p.pi_lock` and no run queue.
///
/// Linux: select_task_rq_fair() in kernel/sched/fair.c
pub fn select_task_rq_fair(p: &TaskStruct, prev_cpu: usize, wake_flags: u32) -> usize {
    if wake_flags & WF_FORK != 0 {
        return select_fork_cpu(p, smp_processor_id());
    }
    select_idle_sibling(p, prev_cpu)
}

/// The CPU a new task starts on. The child stays on its parent's CPU when
/// nothing but the parent runs there, or when it is likely to be short
/// lived; only then is it worth sending it elsewhere, to the idlest CPU.
///
/// Why stay: a fork child shares the parent's memory (copy-on-write) and
/// often runs briefly, exits and wakes its waiting parent. On the parent's
/// CPU the shared pages are in the cache and the exit's wake-up is local;
/// on another CPU it starts cold, costs an IPI to start and another to
/// wake the parent, and the parent's CPU sits idle meanwhile. Linux met
/// this as a regression: after find_idlest_group() was reworked (v5.5),
/// fork-heavy loads whose children exit quickly were spread over idle CPUs
/// and nodes and slowed down; later kernels let a fork leave a small
/// imbalance so that such children stay near their parent (Mel Gorman's
/// NUMA-imbalance changes, v5.7 onwards). Busy, long-lived children are
/// still spread out here, and the balancer moves any that stayed.
///
/// Linux: the WF_FORK path of select_task_rq_fair() (sched_balance_find_dst_cpu)
/// Differs: "likely short-lived" is a vfork child (its parent sleeps until
/// it execs or exits); Linux has no such test, only the imbalance allowance.
fn select_fork_cpu(p: &TaskStruct, this_cpu: usize) -> usize {
    if is_cpu_allowed(p, this_cpu) && (cpu_nr_running(this_cpu) <= 1 || likely_short_lived(p)) {
        return this_cpu;
    }
    sched_balance_find_dst_cpu(p, this_cpu)
}

/// A vfork child: its parent waits for it, so the parent's CPU is free.
fn likely_short_lived(p: &TaskStruct) -> bool {
    p.flags() & PF_KTHREAD == 0 && p.vfork_done.lock().is_some()
}

/// The allowed CPU with the fewest runnable tasks, `this_cpu` on a tie.
///
/// Linux: sched_balance_find_dst_cpu() (find_idlest_cpu) in kernel/sched/fair.c
fn sched_balance_find_dst_cpu(p: &TaskStruct, this_cpu: usize) -> usize {
    let mut best = (usize::MAX, this_cpu);
    for cpu in p.cpus_mask().and(cpu_online_mask()).iter() {
        let load = cpu_nr_running(cpu);
        if load < best.0 || (load == best.0 && cpu == this_cpu) {
            best = (load, cpu);
        }
    }
    best.1
}

/// The CPU for a waking task: its previous CPU if idle (its cache may still
/// hold the task's data), else any idle allowed CPU, else the previous one.
///
/// Linux: select_idle_sibling() in kernel/sched/fair.c
/// Differs: no LLC domain: every online CPU counts as a sibling.
fn select_idle_sibling(p: &TaskStruct, prev_cpu: usize) -> usize {
    if is_cpu_allowed(p, prev_cpu) && cpu_nr_running(prev_cpu) == 0 {
        return prev_cpu;
    }
    p.cpus_mask()
        .and(cpu_online_mask())
        .iter()
        .find(|&cpu| cpu != prev_cpu && cpu_nr_running(cpu) == 0)
        .unwrap_or(prev_cpu)
}
