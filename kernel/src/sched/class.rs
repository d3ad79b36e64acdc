//! A task and its scheduling class: the class and weight its policy and
//! priority give it, how it enters and leaves its class's queue, and how
//! a change of class, policy or weight is made while it is queued or
//! running. core.rs (wake-ups, __schedule) and the system calls use these.
//!
//! Linux: the class plumbing of kernel/sched/core.c

use super::core::{resched_curr, task_current, update_rq_clock, wakeup_preempt};
use super::{
    DEQUEUE_SLEEP, ENQUEUE_HEAD, RunQueue, SchedClassId, TASK_ON_RQ_MIGRATING, TASK_ON_RQ_QUEUED,
    task_on_rq_queued,
};
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Gives `p` the fair weight of its static priority and policy. For a
/// task that exists already (`update_load`), off its queue: its saved lag
/// is rescaled so that the CPU time it is owed stays the same.
///
/// Linux: set_load_weight() (and reweight_entity()) in kernel/sched/core.c
pub fn set_load_weight(p: &TaskStruct, update_load: bool) {
    let weight = super::prio::prio_to_weight(
        p.static_prio.load(Ordering::Relaxed),
        p.policy.load(Ordering::Relaxed),
    );
    let old = p.se.load_weight.swap(weight, Ordering::Relaxed);
    if update_load && old != 0 && old != weight {
        let vlag =
            i128::from(p.se.vlag.load(Ordering::Relaxed)) * i128::from(old) / i128::from(weight);
        p.se.vlag.store(vlag as i64, Ordering::Relaxed);
    }
}

/// The class a task of `policy` and priority `prio` belongs to.
///
/// Linux: __setscheduler_class() in kernel/sched/core.c
pub fn __setscheduler_class(_policy: u32, prio: i32) -> SchedClassId {
    if super::prio::rt_prio(prio) {
        SchedClassId::Rt
    } else {
        SchedClassId::Fair
    }
}

/// Hands `p` to its class's queue.
///
/// Linux: enqueue_task() in kernel/sched/core.c
pub(crate) fn enqueue_task(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    (p.sched_class().enqueue_task)(rq, p, flags);
}

/// Takes `p` off its class's queue (or out of its accounting, if running).
///
/// Linux: dequeue_task() in kernel/sched/core.c
pub(crate) fn dequeue_task(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    (p.sched_class().dequeue_task)(rq, p, flags);
}

/// Makes a runnable task one that wants this CPU: queued by its class and
/// counted in `nr_running`.
///
/// Linux: activate_task() in kernel/sched/core.c
pub(crate) fn activate_task(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    enqueue_task(rq, p, flags);
    p.se.on_rq.store(TASK_ON_RQ_QUEUED, Ordering::Release);
    rq.nr_running += 1;
}

/// The opposite of activate_task(): `p` goes to sleep (DEQUEUE_SLEEP) or
/// is about to be moved to another CPU. A task being moved is marked
/// TASK_ON_RQ_MIGRATING, not 0, until activate_task() puts it on its new
/// queue: a waker that read 0 would think it asleep and queue it a second
/// time (one CPU then picks a task another one is running).
///
/// Linux: deactivate_task() in kernel/sched/core.c (before 6.12, which
/// moved the sleeping case to block_task())
pub(crate) fn deactivate_task(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    let on_rq = if flags & DEQUEUE_SLEEP != 0 {
        0
    } else {
        TASK_ON_RQ_MIGRATING
    };
    p.se.on_rq.store(on_rq, Ordering::Release);
    dequeue_task(rq, p, flags);
    rq.nr_running -= 1;
}

/// Changes something the class of `p` orders it by (its class, policy or
/// weight): takes it off its queue and out of the running slot, lets
/// `change` act, and puts it back, so that each class sees the task
/// leave with the old values and come back with the new ones. Then the
/// running task is preempted if `p` should run first. The caller holds
/// `p`'s pi_lock and run queue lock (task_rq_lock).
///
/// Linux: the dequeue/put_prev ... enqueue/set_next sequence of
/// __sched_setscheduler() and set_user_nice() (sched_change guard), with
/// check_class_changed() in kernel/sched/core.c
pub(crate) fn sched_change<R>(
    rq: &mut RunQueue,
    p: &Arc<TaskStruct>,
    change: impl FnOnce(&mut RunQueue) -> R,
) -> R {
    update_rq_clock(rq);
    let queued = task_on_rq_queued(p);
    let running = task_current(rq, p);
    let oldprio = p.prio.load(Ordering::Relaxed);
    if queued {
        dequeue_task(rq, p, 0);
    }
    if running {
        (p.sched_class().put_prev_task)(rq, p);
    }
    let r = change(rq);
    if queued {
        // A task whose priority went down goes first among its new peers.
        let head = oldprio < p.prio.load(Ordering::Relaxed);
        enqueue_task(rq, p, if head { ENQUEUE_HEAD } else { 0 });
    }
    if running {
        (p.sched_class().set_next_task)(rq, p, false);
        resched_curr(rq);
    } else if queued {
        wakeup_preempt(rq, p, 0);
    }
    r
}
