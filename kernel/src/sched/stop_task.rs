//! The stop class: a CPU's stopper thread, migration/N, runs before any
//! other task and is never preempted by one. It is how a running task is
//! moved off its CPU (stop_machine.rs).
//!
//! Linux: kernel/sched/stop_task.c
//! Not modelled: the stopper as an rt task seen by priority inheritance.

use super::class::sched_change;
use super::fair::{set_next_entity, update_curr_common};
use super::migrate::task_rq_lock;
use super::{RunQueue, SchedClass, SchedClassId};
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The stop class (Linux: stop_sched_class).
pub static STOP_SCHED_CLASS: SchedClass = SchedClass {
    enqueue_task: enqueue_task_stop,
    dequeue_task: dequeue_task_stop,
    yield_task: yield_task_stop,
    wakeup_preempt: wakeup_preempt_stop,
    pick_task: pick_task_stop,
    put_prev_task: put_prev_task_stop,
    set_next_task: set_next_task_stop,
    task_tick: task_tick_stop,
    task_fork: task_fork_stop,
    update_curr: update_curr_common,
};

/// Makes `stop` the stopper of `cpu`: the one task of its stop class.
///
/// Linux: sched_set_stop_task() in kernel/sched/core.c
pub fn sched_set_stop_task(cpu: usize, stop: &Arc<TaskStruct>) {
    crate::arch::percpu::cpu_rq(cpu).lock().stop = Some(stop.clone());
    let mut trq = task_rq_lock(stop);
    sched_change(&mut trq.rq, stop, |_| {
        stop.sched_class
            .store(SchedClassId::Stop as u8, Ordering::Relaxed);
    });
}

/// Nothing to queue: the stopper is `rq.stop`, and its on_rq says whether
/// it wants to run.
///
/// Linux: enqueue_task_stop() in kernel/sched/stop_task.c
fn enqueue_task_stop(_rq: &mut RunQueue, _p: &Arc<TaskStruct>, _flags: u32) {}

/// Linux: dequeue_task_stop() in kernel/sched/stop_task.c
fn dequeue_task_stop(rq: &mut RunQueue, _p: &Arc<TaskStruct>, _flags: u32) {
    update_curr_common(rq);
}

/// Linux: yield_task_stop() in kernel/sched/stop_task.c (never called)
fn yield_task_stop(_rq: &mut RunQueue) {}

/// There is one stopper per CPU, so it never meets another of its class.
///
/// Linux: wakeup_preempt_stop() in kernel/sched/stop_task.c
fn wakeup_preempt_stop(_rq: &mut RunQueue, _p: &Arc<TaskStruct>, _flags: u32) {}

/// The stopper, if it wants to run.
///
/// Linux: pick_task_stop() in kernel/sched/stop_task.c
fn pick_task_stop(rq: &mut RunQueue) -> Option<Arc<TaskStruct>> {
    rq.stop
        .as_ref()
        .filter(|stop| super::task_on_rq_queued(stop))
        .cloned()
}

/// Linux: put_prev_task_stop() in kernel/sched/stop_task.c
fn put_prev_task_stop(rq: &mut RunQueue, _prev: &Arc<TaskStruct>) {
    update_curr_common(rq);
}

/// Linux: set_next_task_stop() in kernel/sched/stop_task.c
fn set_next_task_stop(rq: &mut RunQueue, p: &Arc<TaskStruct>, _first: bool) {
    set_next_entity(p, rq.clock);
}

/// The stopper runs until it is done: no slice.
///
/// Linux: task_tick_stop() in kernel/sched/stop_task.c
fn task_tick_stop(rq: &mut RunQueue, _curr: &Arc<TaskStruct>) {
    update_curr_common(rq);
}

/// Never called: stoppers do not fork.
///
/// Linux: the stop class has no task_fork
fn task_fork_stop(_p: &TaskStruct) {}
