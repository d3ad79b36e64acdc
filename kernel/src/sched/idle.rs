//! The idle class: each CPU's idle task (pid 0, swapper/N), which runs
//! only when no other class has a task, and halts the CPU until an
//! interrupt brings work (cpu_idle_loop).
//!
//! Linux: kernel/sched/idle.c

use super::core::resched_curr;
use super::fair::set_next_entity;
use super::{RunQueue, SchedClass};
use crate::task::TaskStruct;
use alloc::sync::Arc;

/// The idle class (Linux: idle_sched_class).
pub static IDLE_SCHED_CLASS: SchedClass = SchedClass {
    enqueue_task: enqueue_task_idle,
    dequeue_task: dequeue_task_idle,
    yield_task: yield_task_idle,
    wakeup_preempt: wakeup_preempt_idle,
    pick_task: pick_task_idle,
    put_prev_task: put_prev_task_idle,
    set_next_task: set_next_task_idle,
    task_tick: task_tick_idle,
    task_fork: task_fork_idle,
    update_curr: update_curr_idle,
};

/// The idle task is never queued: it is `rq.idle`, always runnable.
///
/// Linux: the idle class has no enqueue_task
fn enqueue_task_idle(_rq: &mut RunQueue, _p: &Arc<TaskStruct>, _flags: u32) {}

/// Linux: dequeue_task_idle() in kernel/sched/idle.c (a bug if called)
fn dequeue_task_idle(_rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    log::error!("bad: dequeue of idle task {}", p.pid());
}

/// Linux: the idle class has no yield_task
fn yield_task_idle(_rq: &mut RunQueue) {}

/// Any task of a class above preempts the idle task; there is one idle
/// task per CPU, so this is called only if the core got that wrong.
///
/// Linux: wakeup_preempt_idle() in kernel/sched/idle.c
fn wakeup_preempt_idle(rq: &mut RunQueue, _p: &Arc<TaskStruct>, _flags: u32) {
    resched_curr(rq);
}

/// The idle task: the answer when every other class has none.
///
/// Linux: pick_task_idle() in kernel/sched/idle.c
fn pick_task_idle(rq: &mut RunQueue) -> Option<Arc<TaskStruct>> {
    rq.idle.clone()
}

/// Linux: put_prev_task_idle() in kernel/sched/idle.c
fn put_prev_task_idle(_rq: &mut RunQueue, _prev: &Arc<TaskStruct>) {}

/// Linux: set_next_task_idle() in kernel/sched/idle.c
fn set_next_task_idle(rq: &mut RunQueue, p: &Arc<TaskStruct>, _first: bool) {
    set_next_entity(p, rq.clock);
}

/// Linux: task_tick_idle() in kernel/sched/idle.c
fn task_tick_idle(_rq: &mut RunQueue, _curr: &Arc<TaskStruct>) {}

/// Never called: the idle task's children start in the fair class.
///
/// Linux: the idle class has no task_fork
fn task_fork_idle(_p: &TaskStruct) {}

/// Idle time is not charged to the idle task (/proc/stat counts it).
///
/// Linux: update_curr_idle() in kernel/sched/idle.c
fn update_curr_idle(_rq: &mut RunQueue) {}

/// The idle task's loop: halt until there is something else to run.
///
/// Linux: do_idle() in kernel/sched/idle.c
pub fn cpu_idle_loop() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        if super::core::need_resched() {
            x86_64::instructions::interrupts::enable();
            super::core::schedule();
        } else if let Some(dead) = crate::mm::tlb::idle_release_lazy_mm() {
            x86_64::instructions::interrupts::enable();
            drop(dead);
        } else {
            crate::arch::safe_halt();
        }
    }
}
