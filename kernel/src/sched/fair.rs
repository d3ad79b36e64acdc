//! The fair class: SCHED_NORMAL (and SCHED_BATCH, SCHED_IDLE) tasks share
//! a CPU in proportion to their weights (nice values). Each CPU's `CfsRq`,
//! under its run queue lock, keeps the waiting tasks by virtual deadline;
//! eevdf.rs decides which one runs next and where a task joining is
//! placed. The class operations here call it in Linux's order.
//!
//! Charging run time: the running task's CPU time in nanoseconds, read from
//! the scheduler clock at every context switch and tick. This is what the
//! CPU-time clocks, `/proc/<pid>/schedstat` and the scaling of utime/stime
//! count, where the tick only samples which mode a task was in.
//!
//! It also chooses the CPU a new or waking task goes to (select_task_rq_fair).
//!
//! Linux: kernel/sched/fair.c (fair_sched_class, update_curr(),
//! set_next_entity(), select_task_rq_fair()), account_group_exec_runtime()
//! in kernel/sched/stats.h
//! Not modelled: group scheduling (cgroups), load tracking (PELT),
//! scheduling domains (every CPU is one hop from every other), wake_affine,
//! next/last buddies, delayed dequeue, per-task slices (sched_attr's
//! sched_runtime).

use super::core::{WF_FORK, resched_curr};
use super::eevdf::{
    VRUNTIME_START, calc_delta_fair, place_entity, update_deadline, update_entity_lag, weight,
};
use super::migrate::is_cpu_allowed;
use super::prio::{SCHED_IDLE, SCHED_NORMAL};
use super::{RunQueue, SchedClass};
use crate::arch::percpu::{cpu_rq, smp_processor_id};
use crate::cpumask::cpu_online_mask;
use crate::task::{PF_KTHREAD, TaskStruct};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The fair class's part of a run queue (Linux: `struct cfs_rq`).
/// Lock: the run queue's.
pub struct CfsRq {
    /// The waiting tasks by virtual deadline (Linux: tasks_timeline).
    pub(super) timeline: super::timeline::Timeline,
    /// The running fair task, on no queue (Linux: cfs_rq->curr).
    pub(super) curr: Option<Arc<TaskStruct>>,
    /// The reference point of the keys below (Linux: zero_vruntime).
    pub(super) zero_vruntime: u64,
    /// Sum over the waiting tasks of (vruntime - zero_vruntime) * weight
    /// (Linux: avg_vruntime, a s64).
    pub(super) avg_vruntime: i128,
    /// Sum of the waiting tasks' weights (Linux: avg_load).
    pub(super) avg_load: u64,
}

impl CfsRq {
    /// An empty queue.
    pub const fn new() -> Self {
        CfsRq {
            timeline: super::timeline::Timeline::new(),
            curr: None,
            zero_vruntime: VRUNTIME_START,
            avg_vruntime: 0,
            avg_load: 0,
        }
    }

    /// The waiting tasks, the one the class would run last first: the
    /// ones the load balancer moves first.
    pub fn tasks_to_migrate(&self) -> impl Iterator<Item = &Arc<TaskStruct>> {
        self.timeline.iter_rev()
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
pub(super) fn is_curr(cfs: &CfsRq, p: &TaskStruct) -> bool {
    cfs.curr.as_ref().is_some_and(|c| core::ptr::eq(&**c, p))
}

/// Places `p` (after its lag) and queues it; the running task, re-queued
/// by a change of its weight, stays out of the timeline.
///
/// Linux: enqueue_task_fair() -> enqueue_entity() in kernel/sched/fair.c
fn enqueue_task_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    let curr = is_curr(&rq.cfs, p);
    if curr {
        place_entity(&rq.cfs, p, flags);
    }
    update_curr_fair(rq);
    if !curr {
        place_entity(&rq.cfs, p, flags);
        rq.cfs.__enqueue_entity(p.clone());
    }
    p.se.on_cfs_rq.store(true, Ordering::Relaxed);
}

/// Saves the lag of `p` and takes it off the queue.
///
/// Linux: dequeue_task_fair() -> dequeue_entity() in kernel/sched/fair.c
/// Differs: no delayed dequeue (DELAY_DEQUEUE, 6.12): a task with negative
/// lag leaves at once, and keeps its lag for its return.
fn dequeue_task_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    update_curr_fair(rq);
    update_entity_lag(&rq.cfs, p);
    if !is_curr(&rq.cfs, p) {
        // A waiting task is in this queue's timeline, or it was queued on
        // two CPUs and another one may pick it while this one runs it.
        let queued = rq.cfs.__dequeue_entity(p);
        assert!(
            queued.is_some(),
            "dequeue of a task from a run queue it is not on"
        );
    }
    p.se.on_cfs_rq.store(false, Ordering::Relaxed);
}

/// The running task gives up the rest of its request: if eligible, it is
/// charged as if it had used its slice (its vruntime moves to its
/// deadline) and asks for the next one, so that the others run first.
///
/// Linux: yield_task_fair() in kernel/sched/fair.c (since 6.16; 6.6 only
/// moved the deadline, which let a yielder run again while the others were
/// not yet eligible)
fn yield_task_fair(rq: &mut RunQueue) {
    if rq.cfs.timeline.is_empty() {
        return;
    }
    super::core::update_rq_clock(rq);
    update_curr_fair(rq);
    let Some(curr) = rq.cfs.curr.as_ref() else {
        return;
    };
    if rq
        .cfs
        .vruntime_eligible(curr.se.vruntime.load(Ordering::Relaxed))
    {
        let deadline = curr.se.deadline.load(Ordering::Relaxed);
        curr.se.vruntime.store(deadline, Ordering::Relaxed);
        let vslice = calc_delta_fair(curr.se.slice.load(Ordering::Relaxed), weight(curr));
        curr.se.deadline.store(deadline + vslice, Ordering::Relaxed);
    }
    // schedule() follows at once: the clock just read will do.
    super::core::rq_clock_skip_update(rq);
}

/// A woken (or new) fair task preempts the running one if EEVDF would now
/// pick it. A SCHED_IDLE task gives way to any other; SCHED_BATCH and
/// SCHED_IDLE tasks preempt no one on waking.
///
/// Linux: check_preempt_wakeup_fair() in kernel/sched/fair.c
fn check_preempt_wakeup_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    let Some(curr) = rq.cfs.curr.clone() else {
        return;
    };
    if Arc::ptr_eq(&curr, p) {
        return;
    }
    let (policy, curr_policy) = (
        p.policy.load(Ordering::Relaxed),
        curr.policy.load(Ordering::Relaxed),
    );
    if curr_policy == SCHED_IDLE && policy != SCHED_IDLE {
        resched_curr(rq);
        return;
    }
    if policy != SCHED_NORMAL {
        return;
    }
    update_curr_fair(rq);
    if rq
        .cfs
        .pick_eevdf()
        .is_some_and(|next| Arc::ptr_eq(&next, p))
    {
        resched_curr(rq);
    }
}

/// Linux: pick_task_fair() in kernel/sched/fair.c
fn pick_task_fair(rq: &mut RunQueue) -> Option<Arc<TaskStruct>> {
    rq.cfs.pick_eevdf()
}

/// Picks the next fair task and makes it the running one: the core's fast
/// path, when every task that wants the CPU is a waiting fair one.
///
/// Linux: pick_next_task_fair() in kernel/sched/fair.c
pub(super) fn pick_next_task_fair(rq: &mut RunQueue) -> Option<Arc<TaskStruct>> {
    let next = rq.cfs.pick_eevdf()?;
    set_next_task_fair(rq, &next, true);
    Some(next)
}

/// Charges the task that stops running and, if still runnable, puts it
/// back in the timeline.
///
/// Linux: put_prev_task_fair() -> put_prev_entity() in kernel/sched/fair.c
fn put_prev_task_fair(rq: &mut RunQueue, prev: &Arc<TaskStruct>) {
    if prev.se.on_cfs_rq.load(Ordering::Relaxed) {
        update_curr_fair(rq);
        // The running slot's reference moves into the timeline.
        let curr = rq.cfs.curr.take().filter(|c| Arc::ptr_eq(c, prev));
        rq.cfs
            .__enqueue_entity(curr.unwrap_or_else(|| prev.clone()));
    }
    rq.cfs.curr = None;
}

/// Takes the picked task out of the timeline and makes it the running one;
/// when picked (`first`), arms the hrtick for the end of its slice.
///
/// Linux: set_next_task_fair() -> set_next_entity(), hrtick_start_fair()
/// in kernel/sched/fair.c
fn set_next_task_fair(rq: &mut RunQueue, p: &Arc<TaskStruct>, first: bool) {
    // The timeline's reference moves into the running slot.
    let queued = if p.se.on_cfs_rq.load(Ordering::Relaxed) {
        rq.cfs.__dequeue_entity(p)
    } else {
        None
    };
    set_next_entity(p, rq.clock);
    rq.cfs.curr = Some(queued.unwrap_or_else(|| p.clone()));
    if first {
        super::hrtick::hrtick_start_fair(rq, p);
    }
}

/// sched_rr_get_interval's answer for a fair task, in ns: its slice,
/// in whole ticks.
///
/// Linux: get_rr_interval_fair() in kernel/sched/fair.c
/// Differs: answers the slice even on an otherwise idle run queue (Linux: 0).
pub fn get_rr_interval_fair(p: &TaskStruct) -> u64 {
    let tick = super::cputime::TICK_NSEC;
    p.se.slice.load(Ordering::Relaxed) / tick * tick
}

/// Charges the running task; update_curr_fair() asks for a reschedule
/// once it has had its slice. Then moves the queue's reference point to V
/// (update_zero_vruntime()), once a tick rather than on every switch.
///
/// Linux: task_tick_fair() -> entity_tick() in kernel/sched/fair.c
fn task_tick_fair(rq: &mut RunQueue, _curr: &Arc<TaskStruct>) {
    update_curr_fair(rq);
    rq.cfs.update_zero_vruntime();
}

/// Starts a new task's fair state: no run time, no lag, the base slice.
/// Nothing is placed here: wake_up_new_task() places the task
/// (ENQUEUE_INITIAL) on the queue it lands on, which may be another CPU's.
///
/// Linux: __sched_fork() and task_fork_fair() in kernel/sched/ (today's
/// task_fork_fair() no longer places the task against the parent's queue:
/// the ENQUEUE_INITIAL enqueue placed it again anyway)
fn task_fork_fair(p: &TaskStruct) {
    p.se.vruntime.store(0, Ordering::Relaxed);
    p.se.vlag.store(0, Ordering::Relaxed);
    p.se.slice
        .store(super::eevdf::sched_base_slice(), Ordering::Relaxed);
    p.se.on_cfs_rq.store(false, Ordering::Relaxed);
}

/// Charges the running fair task its run time, in real time and in
/// virtual time; asks for a reschedule when it reached its deadline and
/// another task waits.
///
/// Linux: update_curr_fair() -> update_curr() in kernel/sched/fair.c
#[inline(always)]
fn update_curr_fair(rq: &mut RunQueue) {
    let Some(curr) = rq.cfs.curr.as_ref() else {
        return;
    };
    let delta = update_curr(curr, rq.clock);
    if delta == 0 {
        return;
    }
    curr.se
        .vruntime
        .fetch_add(calc_delta_fair(delta, weight(curr)), Ordering::Relaxed);
    if update_deadline(curr) && !rq.cfs.timeline.is_empty() {
        resched_curr(rq);
    }
}

/// Charges the running task of a class without virtual time (stop).
///
/// Linux: update_curr_common() in kernel/sched/fair.c
pub(crate) fn update_curr_common(rq: &mut RunQueue) {
    if let Some(curr) = &rq.curr {
        let _ = update_curr(curr, rq.clock);
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
pub fn update_curr(curr: &TaskStruct, now: u64) -> u64 {
    let delta_exec = now.saturating_sub(curr.se.exec_start.load(Ordering::Relaxed));
    curr.se.exec_start.store(now, Ordering::Relaxed);
    if delta_exec == 0 {
        return 0;
    }
    curr.se
        .sum_exec_runtime
        .fetch_add(delta_exec, Ordering::Relaxed);
    account_group_exec_runtime(curr, delta_exec);
    delta_exec
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
