//! Which CPU a task is on, locking its run queue, and moving it to another
//! CPU: by itself while queued, or through the CPU's stopper thread while it
//! runs (set_cpus_allowed_ptr -> stop_one_cpu -> migration_cpu_stop).
//!
//! Lock rules: `task_cpu(p)` changes only under `p`'s run queue lock (a
//! queued task, moved with both queues held or marked
//! TASK_ON_RQ_MIGRATING while it is on neither) or under `p.pi_lock` (a
//! task on no queue); task_rq_lock() takes both and waits out a move, so
//! what it returns stays true.
//!
//! Linux: kernel/sched/core.c (task_rq_lock, set_task_cpu,
//! move_queued_task, set_cpus_allowed_ptr, migration_cpu_stop),
//! kernel/sched/sched.h (double_rq_lock)
//! Not modelled: CPU hotplug (no CPU goes offline), migrate_disable().

use super::{RunQueue, task_on_rq_migrating, task_on_rq_queued};
use crate::arch::percpu::cpu_rq;
use crate::arch::sync::SpinLockGuard;
use crate::cpumask::{CpuMask, cpu_online_mask};
use crate::errno::Errno;
use crate::locking::lockdep::SINGLE_DEPTH_NESTING;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The CPU whose run queue holds `p`, or held it last.
///
/// Linux: task_cpu() in include/linux/sched.h
pub fn task_cpu(p: &TaskStruct) -> usize {
    p.cpu.load(Ordering::Acquire) as usize
}

/// Records that `p` now belongs to `cpu`'s run queue. The caller holds
/// `p.pi_lock` (a task on no queue) or both run queue locks (a queued task).
///
/// Linux: set_task_cpu() / __set_task_cpu() in kernel/sched/core.c
pub fn set_task_cpu(p: &TaskStruct, cpu: usize) {
    p.wake_cpu.store(cpu as u32, Ordering::Relaxed);
    p.cpu.store(cpu as u32, Ordering::Release);
}

/// A task's pi_lock and its run queue's lock, held together. The run queue
/// guard is declared first so that it is dropped first: the pi_lock guard
/// is the one that restores the interrupt flag.
pub struct TaskRq<'a> {
    /// The locked run queue of `cpu`.
    pub rq: SpinLockGuard<'static, RunQueue>,
    _pi: SpinLockGuard<'a, ()>,
    /// The CPU `p` is on, stable while this is held.
    pub cpu: usize,
}

/// Locks `p.pi_lock` and then the run queue `p` is on, retrying if `p` moved
/// while we waited for the queue or is still moving.
///
/// Linux: task_rq_lock() in kernel/sched/core.c
pub fn task_rq_lock(p: &TaskStruct) -> TaskRq<'_> {
    let pi = p.pi_lock.lock();
    let (rq, cpu) = __task_rq_lock(p);
    TaskRq { rq, _pi: pi, cpu }
}

/// Locks the run queue `p` is on, without its pi_lock: enough to read what
/// the queue decides (is it running, its run time so far). Retries if `p`
/// moved while we waited for the queue, and waits while it is between two
/// queues (TASK_ON_RQ_MIGRATING), so that the answer is never "on none".
///
/// Linux: __task_rq_lock() in kernel/sched/core.c
pub fn __task_rq_lock(p: &TaskStruct) -> (SpinLockGuard<'static, RunQueue>, usize) {
    loop {
        let cpu = task_cpu(p);
        let rq = cpu_rq(cpu).lock();
        if task_cpu(p) == cpu && !task_on_rq_migrating(p) {
            return (rq, cpu);
        }
        drop(rq);
        while task_on_rq_migrating(p) {
            core::hint::spin_loop();
        }
    }
}

/// Two run queues locked in the one order every CPU uses, lowest CPU
/// first, so that two CPUs each locking the same pair cannot deadlock. The
/// second guard is dropped first, since the first restores interrupts.
pub struct DoubleRq {
    second: SpinLockGuard<'static, RunQueue>,
    first: SpinLockGuard<'static, RunQueue>,
    swapped: bool,
}

impl DoubleRq {
    /// The two queues, in the order they were asked for.
    pub fn rqs(&mut self) -> (&mut RunQueue, &mut RunQueue) {
        if self.swapped {
            (&mut self.second, &mut self.first)
        } else {
            (&mut self.first, &mut self.second)
        }
    }
}

/// Locks the run queues of two different CPUs, lowest CPU first.
///
/// Linux: double_rq_lock() in kernel/sched/sched.h
pub fn double_rq_lock(cpu1: usize, cpu2: usize) -> DoubleRq {
    assert_ne!(cpu1, cpu2, "double_rq_lock of one run queue");
    let (lo, hi) = (cpu1.min(cpu2), cpu1.max(cpu2));
    let first = cpu_rq(lo).lock();
    // The second run queue is of the same lock class: taking it nested,
    // always the higher CPU's, is what keeps two CPUs from deadlocking.
    let second = cpu_rq(hi).lock_nested(SINGLE_DEPTH_NESTING);
    DoubleRq {
        second,
        first,
        swapped: cpu1 > cpu2,
    }
}

/// Whether `p` may run on `cpu`: in its mask and online.
///
/// Linux: is_cpu_allowed() in kernel/sched/core.c
pub fn is_cpu_allowed(p: &TaskStruct, cpu: usize) -> bool {
    p.cpus_mask().test(cpu) && crate::cpumask::cpu_online(cpu)
}

/// A CPU `p` may run on when the one chosen is not allowed: the lowest
/// online CPU of its mask, else (a mask with no online CPU, which
/// sched_setaffinity refuses) any online CPU.
///
/// Linux: select_fallback_rq() in kernel/sched/core.c
/// Differs: no cpuset to widen the mask to, and nothing is printed.
pub fn select_fallback_rq(p: &TaskStruct) -> usize {
    p.cpus_mask()
        .and(cpu_online_mask())
        .first()
        .or_else(|| cpu_online_mask().first())
        .unwrap_or(0)
}

/// Stores a new mask (the caller holds `p`'s pi_lock and run queue lock).
///
/// Linux: do_set_cpus_allowed() / set_cpus_allowed_common() in
/// kernel/sched/core.c
pub fn do_set_cpus_allowed(p: &TaskStruct, mask: CpuMask) {
    p.cpus_mask.store(mask.bits(), Ordering::Release);
    p.nr_cpus_allowed.store(mask.weight(), Ordering::Relaxed);
}

/// Moves the queued, not running task `p` from the run queue of `trq.cpu`
/// to that of `dest`, and lets `dest` preempt its idle task for it. The
/// source queue is unlocked before the destination is locked, so that no
/// CPU ever holds two queues out of double_rq_lock's order; in between,
/// `p` is TASK_ON_RQ_MIGRATING and already belongs to `dest`, so that
/// whoever locks its run queue to look at it waits (__task_rq_lock()).
///
/// Linux: move_queued_task() in kernel/sched/core.c
fn move_queued_task(trq: TaskRq<'_>, p: &Arc<TaskStruct>, dest: usize) {
    let TaskRq {
        mut rq, _pi: pi, ..
    } = trq;
    if !task_on_rq_queued(p) || task_running(&rq, p) {
        return;
    }
    super::core::update_rq_clock(&mut rq);
    super::class::deactivate_task(&mut rq, p, 0);
    set_task_cpu(p, dest);
    drop(rq);
    let mut dst = cpu_rq(dest).lock();
    super::core::update_rq_clock(&mut dst);
    super::class::activate_task(&mut dst, p, super::ENQUEUE_MIGRATED);
    super::core::wakeup_preempt(&mut dst, p, 0);
    drop(dst);
    drop(pi);
}

/// Whether `p` is the running task of `rq`, or a CPU still switches away
/// from it.
///
/// Linux: task_on_cpu() / task_current() in kernel/sched/sched.h
fn task_running(rq: &RunQueue, p: &TaskStruct) -> bool {
    rq.curr.as_ref().is_some_and(|c| core::ptr::eq(&**c, p)) || p.thread.on_cpu()
}

/// Changes the CPUs `p` may run on to `new_mask` (online CPUs only) and,
/// if its CPU is no longer among them, moves it: a queued task directly, a
/// running one by making its CPU's stopper preempt it and push it away
/// (which is why this may sleep). A sleeping task moves when it wakes.
///
/// Linux: set_cpus_allowed_ptr() -> __set_cpus_allowed_ptr_locked() ->
/// affine_move_task() in kernel/sched/core.c
///
/// # Errors
/// `EINVAL` if `new_mask` holds no online CPU.
pub fn set_cpus_allowed_ptr(p: &Arc<TaskStruct>, new_mask: CpuMask) -> Result<(), Errno> {
    let online = new_mask.and(cpu_online_mask());
    if online.is_empty() {
        return Err(Errno::EINVAL);
    }
    let trq = task_rq_lock(p);
    do_set_cpus_allowed(p, new_mask);
    let dest = online.first().expect("not empty");
    if new_mask.test(trq.cpu) {
        return Ok(());
    }
    if task_running(&trq.rq, p) {
        let cpu = trq.cpu;
        drop(trq);
        let target = p.clone();
        let _ = crate::stop_machine::stop_one_cpu(
            cpu,
            alloc::boxed::Box::new(move || migration_cpu_stop(&target, cpu)),
        );
    } else if task_on_rq_queued(p) {
        move_queued_task(trq, p, dest);
    }
    Ok(())
}

/// Runs on `p`'s CPU in its stopper thread, which preempted `p`: moves `p`
/// to an allowed CPU if it is still queued here. If it went to sleep or
/// moved meanwhile, its next wake-up picks an allowed CPU.
///
/// Linux: migration_cpu_stop() in kernel/sched/core.c
fn migration_cpu_stop(p: &Arc<TaskStruct>, cpu: usize) -> i32 {
    let trq = task_rq_lock(p);
    let allowed = p.cpus_mask().and(cpu_online_mask());
    if trq.cpu != cpu || allowed.test(cpu) || !task_on_rq_queued(p) {
        return 0;
    }
    if task_running(&trq.rq, p) {
        return 0;
    }
    let dest = allowed.first().unwrap_or_else(|| select_fallback_rq(p));
    move_queued_task(trq, p, dest);
    0
}

/// Waits until `p` is on no run queue and no CPU: it has gone to sleep and
/// its CPU has switched away from it.
///
/// Linux: wait_task_inactive() in kernel/sched/core.c
/// Differs: no expected state to match; the caller yields instead of
/// sleeping a tick between looks.
pub fn wait_task_inactive(p: &TaskStruct) {
    loop {
        let (rq, _cpu) = __task_rq_lock(p);
        let active = task_running(&rq, p) || task_on_rq_queued(p);
        drop(rq);
        if !active {
            return;
        }
        super::core::sched_yield();
    }
}
