//! Load balancing: a CPU with less to do pulls queued tasks from the
//! busiest run queue. It runs from the tick (every few ticks, every tick
//! while the CPU idles) and when a CPU is about to go idle (newidle).
//!
//! Only tasks that wait on a queue move: never the running one, never one
//! whose old CPU is still switching away from it, never one not allowed on
//! the pulling CPU. Moving a running task is migration/N's job
//! (stop_machine.rs).
//!
//! Linux: kernel/sched/fair.c (sched_balance_rq, sched_balance_newidle,
//! detach_tasks, attach_tasks, can_migrate_task)
//! Not modelled: scheduling domains and groups, load weights and PELT
//! (the load of a queue is its number of runnable tasks), cache-hotness,
//! active balancing, nohz idle balancing.

use super::RunQueue;
use super::class::{activate_task, deactivate_task};
use super::core::{update_rq_clock, wakeup_preempt};
use super::migrate::{double_rq_lock, set_task_cpu};
use crate::arch::percpu::cpu_rq;
use crate::cpumask::cpu_online_mask;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Ticks between two periodic balances of a busy CPU; an idle CPU balances
/// at every tick (Linux: sd->balance_interval, in ms and per domain).
pub const BALANCE_INTERVAL_TICKS: u32 = 4;

/// Tries to even out `this_cpu`'s run queue with the busiest other one:
/// pulls half the difference, if that is at least one task. Returns how
/// many tasks it moved.
///
/// Linux: sched_balance_rq() (load_balance) in kernel/sched/fair.c
pub fn sched_balance_rq(this_cpu: usize) -> usize {
    if crate::cpumask::num_online_cpus() < 2 {
        return 0;
    }
    let this_load = cpu_rq(this_cpu).lock().nr_running();
    let Some(src_cpu) = sched_balance_find_src_rq(this_cpu, this_load) else {
        return 0;
    };
    let mut both = double_rq_lock(this_cpu, src_cpu);
    let (dst, src) = both.rqs();
    // Looked at one queue at a time: check again with both held.
    let (dst_load, src_load) = (dst.nr_running(), src.nr_running());
    if src_load < dst_load + 2 {
        return 0;
    }
    detach_tasks(src, dst, this_cpu, (src_load - dst_load) / 2)
}

/// Balances a CPU that found nothing to run, before it idles.
///
/// Linux: sched_balance_newidle() in kernel/sched/fair.c
pub fn sched_balance_newidle(this_cpu: usize) -> usize {
    sched_balance_rq(this_cpu)
}

/// The online CPU, other than `this_cpu`, with the most runnable tasks, if
/// it has at least two more than `this_load` (else moving one would only
/// swap the imbalance).
///
/// Linux: sched_balance_find_src_rq() (find_busiest_queue) in
/// kernel/sched/fair.c
fn sched_balance_find_src_rq(this_cpu: usize, this_load: usize) -> Option<usize> {
    let mut busiest = None;
    let mut max_load = this_load + 1;
    for cpu in cpu_online_mask().iter().filter(|&cpu| cpu != this_cpu) {
        let load = cpu_rq(cpu).lock().nr_running();
        if load > max_load {
            (busiest, max_load) = (Some(cpu), load);
        }
    }
    busiest
}

/// Whether `p`, queued on another CPU, may move to `dst_cpu`: allowed
/// there, and no CPU still on its stack (a task preempted a moment ago may
/// be queued before its CPU finished switching away from it).
///
/// Linux: can_migrate_task() in kernel/sched/fair.c
fn can_migrate_task(p: &TaskStruct, dst_cpu: usize) -> bool {
    p.cpus_mask().test(dst_cpu) && !p.thread.on_cpu()
}

/// Moves up to `imbalance` fair tasks from `src` to `dst` (both locked),
/// the ones the fair class would run last first.
///
/// Linux: detach_tasks() + attach_tasks() in kernel/sched/fair.c
/// Differs: one pass with both queues locked, instead of a detached list
/// carried over after the source queue is unlocked.
fn detach_tasks(src: &mut RunQueue, dst: &mut RunQueue, dst_cpu: usize, imbalance: usize) -> usize {
    let picked: Vec<Arc<TaskStruct>> = src
        .cfs
        .tasks_to_migrate()
        .filter(|p| can_migrate_task(p, dst_cpu))
        .take(imbalance)
        .cloned()
        .collect();
    update_rq_clock(src);
    update_rq_clock(dst);
    for p in &picked {
        detach_task(src, p, dst_cpu);
        attach_task(dst, p);
    }
    picked.len()
}

/// Takes `p` off `src` and makes it belong to `dst_cpu`.
///
/// Linux: detach_task() in kernel/sched/fair.c
pub(super) fn detach_task(src: &mut RunQueue, p: &Arc<TaskStruct>, dst_cpu: usize) {
    deactivate_task(src, p, 0);
    set_task_cpu(p, dst_cpu);
}

/// Puts a task taken from another queue on `dst`.
///
/// Linux: attach_task() in kernel/sched/fair.c
pub(super) fn attach_task(dst: &mut RunQueue, p: &Arc<TaskStruct>) {
    activate_task(dst, p, super::ENQUEUE_MIGRATED);
    wakeup_preempt(dst, p, 0);
}
