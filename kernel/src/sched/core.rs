//! The core scheduler: waking tasks, picking the next one, preemption on
//! the timer tick, and the final switch away from a dead task.
//!
//! Linux: kernel/sched/core.c

use super::class::{__setscheduler_class, activate_task, deactivate_task, set_load_weight};
use super::migrate::{__task_rq_lock, is_cpu_allowed, select_fallback_rq, set_task_cpu, task_cpu};
use super::{
    CLASSES, DEQUEUE_SLEEP, ENQUEUE_INITIAL, ENQUEUE_MIGRATED, ENQUEUE_WAKEUP, RunQueue,
    SchedClassId, TASK_ON_RQ_QUEUED, task_on_rq_queued,
};
use crate::arch::kernel::process_64::context_switch;
use crate::arch::percpu::{cpu_rq, set_current, smp_processor_id, this_rq};
use crate::task::{
    TASK_DEAD, TASK_INTERRUPTIBLE, TASK_NEW, TASK_NORMAL, TASK_RUNNING, TaskStruct,
    task_stack_end_corrupted,
};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use x86_64::instructions::interrupts;

/// The wake-up is the first of a new task (Linux: WF_FORK).
pub const WF_FORK: u32 = 0x04;
/// The wake-up is try_to_wake_up's (Linux: WF_TTWU).
pub const WF_TTWU: u32 = 0x08;

/// Makes `init_task` this CPU's running and idle task.
///
/// Linux: sched_init() in kernel/sched/core.c (with init_idle())
/// Differs: the idle task keeps every CPU in its mask (it is never queued,
/// so never moved), and the tasks it forks (init, kthreadd) inherit that;
/// Linux binds it to its CPU and widens those children's masks later.
pub fn sched_init(init_task: &Arc<TaskStruct>) {
    let cpu = smp_processor_id();
    set_task_cpu(init_task, cpu);
    init_task
        .sched_class
        .store(SchedClassId::Idle as u8, Ordering::Relaxed);
    let mut rq = cpu_rq(cpu).lock();
    rq.cpu = cpu;
    super::hrtick::hrtick_rq_init(&mut rq);
    init_task
        .se
        .on_rq
        .store(TASK_ON_RQ_QUEUED, Ordering::Relaxed);
    rq.curr = Some(init_task.clone());
    rq.idle = Some(init_task.clone());
    set_current(init_task);
}

/// Puts a new task in TASK_NEW: it exists but no CPU may run it yet. It
/// inherits the parent's policy and nice value, starts in the class its
/// priority names, and starts on its parent's CPU (its mask came with
/// dup_task_struct); its class resets its own state (task_fork).
///
/// Linux: sched_fork() in kernel/sched/core.c
/// Differs: the fields Linux copies with the whole task_struct are copied
/// here from the parent, one by one; the task's node in the fair
/// timelines is made here (Linux embeds it in the task).
///
/// # Errors
/// `ENOMEM` when the timelines cannot make room for one more task.
pub fn sched_fork(p: &TaskStruct) -> Result<(), crate::errno::Errno> {
    super::timeline::alloc_timeline_slot(&p.se.timeline_slot)?;
    p.state.store(TASK_NEW, Ordering::Relaxed);
    p.se.on_rq.store(0, Ordering::Relaxed);
    let parent = crate::task::current();
    p.policy
        .store(parent.policy.load(Ordering::Relaxed), Ordering::Relaxed);
    p.rt_priority.store(
        parent.rt_priority.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    p.static_prio.store(
        parent.static_prio.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    p.normal_prio.store(
        parent.normal_prio.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    // The child does not inherit a priority boost (Linux: PI boosting).
    p.prio.store(
        parent.normal_prio.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    if parent.sched_reset_on_fork.load(Ordering::Relaxed) {
        super::setscheduler::sched_fork_reset(p);
    }
    p.rt.time_slice
        .store(super::rt::sched_rr_timeslice(), Ordering::Relaxed);
    let class = __setscheduler_class(
        p.policy.load(Ordering::Relaxed),
        p.prio.load(Ordering::Relaxed),
    );
    p.sched_class.store(class as u8, Ordering::Relaxed);
    set_load_weight(p, false);
    set_task_cpu(p, smp_processor_id());
    (p.sched_class().task_fork)(p);
    Ok(())
}

/// Picks the CPU a waking or new task should run on: its class's (RT or
/// fair) choice among the CPUs it may use, or a fallback if that one is not
/// allowed (any more). The caller holds `p.pi_lock`.
///
/// Linux: select_task_rq() in kernel/sched/core.c
pub(crate) fn select_task_rq(p: &TaskStruct, cpu: usize, wake_flags: u32) -> usize {
    let cpu =
        if p.nr_cpus_allowed.load(Ordering::Relaxed) > 1 && crate::cpumask::num_online_cpus() > 1 {
            match p.sched_class_id() {
                SchedClassId::Rt => super::rt::select_task_rq_rt(p, cpu),
                _ => super::fair::select_task_rq_fair(p, cpu, wake_flags),
            }
        } else {
            p.cpus_mask().first().unwrap_or(cpu)
        };
    if is_cpu_allowed(p, cpu) {
        cpu
    } else {
        select_fallback_rq(p)
    }
}

/// A yield asked for the clock read it just made to be reused by the
/// schedule() that follows (Linux: RQCF_REQ_SKIP).
const RQCF_REQ_SKIP: u8 = 0x01;
/// __schedule() reuses that read (Linux: RQCF_ACT_SKIP).
const RQCF_ACT_SKIP: u8 = 0x02;

/// Reads the scheduler clock into `rq.clock`, which the classes charge
/// run time from until the next update; not while a __schedule() that
/// follows a yield reuses the last read.
///
/// Linux: update_rq_clock() in kernel/sched/core.c
pub(crate) fn update_rq_clock(rq: &mut RunQueue) {
    if rq.clock_update_flags & RQCF_ACT_SKIP != 0 {
        return;
    }
    rq.clock = super::fair::sched_clock();
}

/// Lets the next __schedule() on `rq` skip its clock read: the caller
/// just updated the clock, and the switch follows at once.
///
/// Linux: rq_clock_skip_update() in kernel/sched/sched.h
pub(crate) fn rq_clock_skip_update(rq: &mut RunQueue) {
    rq.clock_update_flags |= RQCF_REQ_SKIP;
}

/// Whether `p` is the task `rq` runs (Linux: task_current()).
pub(crate) fn task_current(rq: &RunQueue, p: &TaskStruct) -> bool {
    rq.curr.as_ref().is_some_and(|c| core::ptr::eq(&**c, p))
}

/// Tells the running task of `rq` to give way: sets its need_resched and,
/// if its CPU is not this one, sends it a reschedule IPI so that it notices
/// now (a halted idle CPU wakes up). Nothing is sent if the flag was set
/// already: whoever set it sent the IPI. The caller holds `rq`.
///
/// Linux: resched_curr() in kernel/sched/core.c
pub(crate) fn resched_curr(rq: &RunQueue) {
    let cpu = rq.cpu;
    let Some(curr) = &rq.curr else {
        return;
    };
    if curr.se.need_resched.swap(true, Ordering::AcqRel) {
        return;
    }
    if cpu != smp_processor_id() {
        crate::smp::smp_send_reschedule(cpu);
    }
}

/// After `p` was queued on `rq`: a task of a higher class than the running
/// one preempts it; within one class, the class decides.
///
/// Linux: wakeup_preempt() (check_preempt_curr) in kernel/sched/core.c
pub(crate) fn wakeup_preempt(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    let Some(curr) = rq.curr.clone() else {
        return;
    };
    let (class, curr_class) = (p.sched_class_id(), curr.sched_class_id());
    if class == curr_class {
        (class.class().wakeup_preempt)(rq, p, flags);
    } else if class < curr_class {
        resched_curr(rq);
    }
}

/// Makes a task created by copy_process runnable for the first time, on
/// the CPU select_task_rq() picks with WF_FORK.
///
/// Linux: wake_up_new_task() in kernel/sched/core.c
pub fn wake_up_new_task(p: Arc<TaskStruct>) {
    crate::trace::trace(crate::trace::TraceEvent::WakeupNew { pid: p.pid() });
    let pi = p.pi_lock.lock();
    p.state.store(TASK_RUNNING, Ordering::Release);
    let cpu = select_task_rq(&p, task_cpu(&p), WF_FORK);
    set_task_cpu(&p, cpu);
    let mut rq = cpu_rq(cpu).lock();
    update_rq_clock(&mut rq);
    activate_task(&mut rq, &p, ENQUEUE_INITIAL);
    wakeup_preempt(&mut rq, &p, WF_FORK);
    drop(rq);
    drop(pi);
}

/// Wakes `p` if its state is in `state_mask`; returns whether it did.
///
/// With `p.pi_lock` held (one waker at a time): a task still on its run
/// queue (it has not reached schedule(), or was preempted) only gets its
/// state back. Otherwise it may still be switching out on its old CPU, so
/// we wait until that CPU has left its stack (`on_cpu`) before giving it to
/// any CPU; then select_task_rq() picks one and it is queued there.
///
/// Linux: try_to_wake_up() in kernel/sched/core.c
/// Differs: no wake list (ttwu_queue_wakelist): the waker locks the remote
/// run queue itself.
pub fn try_to_wake_up(p: &Arc<TaskStruct>, state_mask: u32) -> bool {
    let pi = p.pi_lock.lock();
    if p.state() & state_mask == 0 {
        return false;
    }
    // Linux: READ_ONCE(p->on_rq): queued, or between two queues.
    if p.se.on_rq.load(Ordering::Acquire) != 0 && ttwu_runnable(p) {
        return true;
    }
    // Linux: smp_cond_load_acquire(&p->on_cpu, !VAL)
    while p.thread.on_cpu() {
        core::hint::spin_loop();
    }
    let cpu = select_task_rq(p, p.wake_cpu.load(Ordering::Relaxed) as usize, WF_TTWU);
    let mut en_flags = ENQUEUE_WAKEUP;
    if cpu != task_cpu(p) {
        en_flags |= ENQUEUE_MIGRATED;
        set_task_cpu(p, cpu);
    }
    ttwu_queue(p, cpu, en_flags);
    drop(pi);
    true
}

/// Wakes a task that is still on its run queue: it only needs its state
/// back. Returns false if it left the queue meanwhile.
///
/// Linux: ttwu_runnable() in kernel/sched/core.c
fn ttwu_runnable(p: &TaskStruct) -> bool {
    let (_rq, _cpu) = __task_rq_lock(p);
    if !task_on_rq_queued(p) {
        return false;
    }
    p.state.store(TASK_RUNNING, Ordering::Release);
    true
}

/// Queues the woken `p` on `cpu` and preempts that CPU's idle task.
///
/// Linux: ttwu_queue() -> ttwu_do_activate() in kernel/sched/core.c
fn ttwu_queue(p: &Arc<TaskStruct>, cpu: usize, en_flags: u32) {
    let mut rq = cpu_rq(cpu).lock();
    update_rq_clock(&mut rq);
    activate_task(&mut rq, p, en_flags);
    p.state.store(TASK_RUNNING, Ordering::Release);
    wakeup_preempt(&mut rq, p, WF_TTWU);
}

/// Makes `p`, if it is running on another CPU, enter the kernel now: a
/// reschedule IPI, whose return to user space looks at the task's signals.
/// Whoever calls it has just queued something `p` must act on before it
/// runs more of its program (a signal: a killed thread must not go on
/// writing its process's memory until its next tick). A `p` that is not
/// running looks at its signals when it next returns to user space.
///
/// Linux: kick_process() in kernel/sched/core.c
/// Differs: "running" is `on_cpu` (Linux: task_curr(), rq->curr == p).
pub fn kick_process(p: &TaskStruct) {
    crate::preempt::preempt_disable();
    // Orders the caller's store of what `p` must see before the load of
    // on_cpu, against `p`'s switch in (a locked claim of on_cpu) and its
    // later look at its signals: either we see it running or it sees them.
    core::sync::atomic::fence(Ordering::SeqCst);
    let cpu = task_cpu(p);
    if cpu != smp_processor_id() && p.thread.on_cpu() {
        crate::smp::smp_send_reschedule(cpu);
    }
    crate::preempt::preempt_enable();
}

/// Wakes a sleeping task, whichever kind of sleep.
///
/// Linux: wake_up_process() in kernel/sched/core.c
pub fn wake_up_process(p: &Arc<TaskStruct>) -> bool {
    try_to_wake_up(p, TASK_NORMAL)
}

/// Gives up the CPU. A task that set itself to a sleeping state before the
/// call stays off the run queue until something wakes it.
///
/// Linux: schedule() in kernel/sched/core.c
pub fn schedule() {
    __schedule(false);
}

/// Charges a tick to the running task; its class decides whether it has
/// run long enough.
///
/// Linux: sched_tick() (scheduler_tick) in kernel/sched/core.c
pub fn scheduler_tick() {
    let cpu = smp_processor_id();
    let mut rq = cpu_rq(cpu).lock();
    update_rq_clock(&mut rq);
    if let Some(curr) = rq.curr.clone() {
        (curr.sched_class().task_tick)(&mut rq, &curr);
    }
    super::rt::sched_rt_period_tick(&mut rq);
    rq.balance_ticks += 1;
    let balance = rq.is_idle() || rq.balance_ticks >= super::balance::BALANCE_INTERVAL_TICKS;
    if balance {
        rq.balance_ticks = 0;
    }
    drop(rq);
    crate::sched::loadavg::calc_global_load(nr_running);
    if balance {
        super::balance::sched_balance_rq(cpu);
    }
}

/// Preempts the interrupted task on the way out of an interrupt, if asked.
///
/// Linux: preempt_schedule_irq() in kernel/sched/core.c
pub fn preempt_schedule_irq() {
    let wanted = crate::arch::percpu::with_current(|curr| {
        curr.is_some_and(|c| c.se.need_resched.load(Ordering::Relaxed))
    });
    if wanted {
        __schedule(true);
    }
}

/// Whether the running task has been asked to reschedule.
pub fn need_resched() -> bool {
    crate::arch::percpu::with_current(|c| {
        c.is_some_and(|c| c.se.need_resched.load(Ordering::Relaxed))
    })
}

/// Yields if a reschedule is pending (Linux: cond_resched()).
pub fn cond_resched() {
    if need_resched() {
        schedule();
    }
}

/// Lets the caller's class move it behind the tasks that wait, then
/// schedules.
///
/// Linux: do_sched_yield() in kernel/sched/syscalls.c
pub fn sched_yield() {
    {
        let mut rq = this_rq().lock();
        if let Some(class) = rq.curr.as_ref().map(|c| c.sched_class()) {
            (class.yield_task)(&mut rq);
        }
    }
    schedule();
}

/// Picks the next task and switches to it.
///
/// `preempt` is true when the timer forces the switch: then a task that was
/// about to sleep stays on the run queue (it will see its condition again).
///
/// Linux: __schedule() in kernel/sched/core.c
fn __schedule(preempt: bool) {
    let irqs_were_enabled = interrupts::are_enabled();
    interrupts::disable();
    let cpu = smp_processor_id();
    let mut rq = this_rq().lock();
    let prev = rq.curr.clone().expect("a running task");
    super::might_sleep::schedule_debug(&prev, preempt);
    super::hrtick::hrtick_clear();
    // A skip a yield asked for becomes active for this pass only.
    rq.clock_update_flags <<= 1;
    prev.se.need_resched.store(false, Ordering::Relaxed);
    let mut switch_count = &prev.nivcsw;
    if !preempt && prev.state() != TASK_RUNNING {
        switch_count = &prev.nvcsw;
        if signal_pending_state(prev.state(), &prev) {
            prev.state.store(TASK_RUNNING, Ordering::Relaxed);
        } else {
            update_rq_clock(&mut rq);
            deactivate_task(&mut rq, &prev, DEQUEUE_SLEEP);
        }
    }
    if rq.nr_running == 0 {
        // About to idle: first try to pull work from a busier CPU.
        rq.clock_update_flags = 0;
        drop(rq);
        super::balance::sched_balance_newidle(cpu);
        rq = this_rq().lock();
    }
    update_rq_clock(&mut rq);
    let next = pick_next_task(&mut rq, &prev);
    rq.clock_update_flags = 0;
    if Arc::ptr_eq(&prev, &next) {
        rq.curr = Some(prev);
        drop(rq);
    } else {
        if task_stack_end_corrupted(&prev) {
            panic!(
                "corrupted stack end detected inside scheduler (task '{}')",
                prev.comm().as_str()
            );
        }
        rq.nr_switches += 1;
        switch_count.fetch_add(1, Ordering::Relaxed);
        if crate::trace::trace_enabled() {
            crate::trace::trace(crate::trace::TraceEvent::Switch {
                prev: prev.pid(),
                next: next.pid(),
                prev_vruntime: super::eevdf::trace_vruntime(&prev),
                next_vruntime: super::eevdf::trace_vruntime(&next),
            });
        }
        next.se.nr_switches.fetch_add(1, Ordering::Relaxed);
        context_switch(rq, prev, next);
        finish_task_switch();
    }
    if irqs_were_enabled {
        interrupts::enable();
    }
}

/// Hands `prev` back to its class (which charges it and queues it again if
/// it is still runnable), then asks each class, highest first, for a task:
/// the first answer runs. The idle class always answers. When every task
/// that wants the CPU is a fair one waiting in the timeline, the classes
/// above fair have nothing: the fair class is called directly (Linux's
/// fast path), and if it has nothing either, the idle class answers.
///
/// Linux: pick_next_task() -> __pick_next_task() in kernel/sched/core.c
/// (put_prev_task(), pick_task(), set_next_task())
/// Differs: `prev` is put back before the fast path's pick (Linux's
/// pick_next_task_fair() puts it back after, and not at all if it is
/// picked again).
pub(super) fn pick_next_task(rq: &mut RunQueue, prev: &Arc<TaskStruct>) -> Arc<TaskStruct> {
    (prev.sched_class().put_prev_task)(rq, prev);
    let only_fair = rq.nr_running == rq.cfs.timeline.len();
    if only_fair && let Some(next) = super::fair::pick_next_task_fair(rq) {
        return next;
    }
    for class in CLASSES {
        if only_fair && class <= SchedClassId::Fair {
            continue;
        }
        if let Some(next) = (class.class().pick_task)(rq) {
            (next.sched_class().set_next_task)(rq, &next, true);
            return next;
        }
    }
    unreachable!("the idle class always has its idle task")
}

/// Whether a task about to sleep in `state` has a signal pending that
/// `state` lets in: any signal for TASK_INTERRUPTIBLE, SIGKILL for
/// TASK_KILLABLE. Such a task must not sleep.
///
/// Linux: signal_pending_state() in include/linux/sched/signal.h
pub fn signal_pending_state(state: u32, p: &TaskStruct) -> bool {
    if state & TASK_INTERRUPTIBLE != 0 {
        return crate::signal::signal_pending(p);
    }
    state & crate::task::TASK_WAKEKILL != 0 && crate::signal::fatal_signal_pending(p)
}

/// Runs on the new task's stack right after a switch: drops the reference
/// that kept the previous task alive across the switch, and the CPU's
/// reference to the mm it had loaded before (an exited process's address
/// space is freed here, with the run queue unlocked). If the previous task
/// was dead, its kernel stack is freed now, not when the parent reaps it: a
/// zombie holds no stack.
///
/// Linux: finish_task_switch() in kernel/sched/core.c
fn finish_task_switch() {
    let (prev, mm) = {
        let mut rq = this_rq().take_over();
        (rq.prev.take(), rq.prev_mm.take())
    };
    drop(mm);
    if let Some(prev) = &prev
        && prev.state() == TASK_DEAD
    {
        prev.thread.put_task_stack();
    }
    drop(prev);
}

/// The first thing a new task does (from ret_from_fork).
///
/// Linux: schedule_tail() in kernel/sched/core.c
pub fn schedule_tail() {
    finish_task_switch();
    interrupts::enable();
}

/// Marks the exiting task dead and switches away for the last time.
/// Interrupts go off first: a tick between the store and the switch would
/// preempt the dead task, and a preempted task stays on the run queue
/// whatever its state, so it would be picked again after its stack was
/// freed ("switch to a running or dead task"). The store is made under
/// `pi_lock`, as every waker holds it from its look at the state to its
/// store of TASK_RUNNING: a waker that saw an earlier sleep of the task on
/// another CPU would otherwise overwrite TASK_DEAD with TASK_RUNNING and
/// queue the dead task again.
///
/// Linux: do_task_dead() in kernel/sched/core.c (set_special_state())
/// Differs: Linux's do_exit disables preemption instead (preempt_disable()
/// before do_task_dead); here __schedule runs with a preempt count of 0.
pub fn do_task_dead() -> ! {
    interrupts::disable();
    crate::arch::percpu::with_current(|c| {
        let c = c.expect("a task");
        let _pi = c.pi_lock.lock();
        c.state.store(TASK_DEAD, Ordering::Release);
    });
    __schedule(false);
    unreachable!("a dead task was scheduled again");
}

/// Linux: SYSCALL_DEFINE0(sched_yield) in kernel/sched/syscalls.c
pub fn sys_sched_yield() -> crate::syscall::SysResult {
    sched_yield();
    Ok(0)
}

/// The CPU time `p` has run, in ns, up to this moment: if it is running
/// now, its run queue charges it first.
///
/// Without a lock when `p` runs nowhere or is leaving its CPU for a sleep
/// (or for good): its time up to its switch was charged then. A race with
/// it starting to run reads a moment earlier (nothing is owed yet); a race
/// with it leaving finds on_cpu set and takes the lock.
///
/// Linux: task_sched_runtime() in kernel/sched/core.c
pub fn task_sched_runtime(p: &TaskStruct) -> u64 {
    if !p.thread.on_cpu() || !super::task_on_rq_queued(p) {
        return p.se.sum_exec_runtime.load(Ordering::Relaxed);
    }
    let (mut rq, _cpu) = __task_rq_lock(p);
    if task_current(&rq, p) {
        update_rq_clock(&mut rq);
        (p.sched_class().update_curr)(&mut rq);
    }
    drop(rq);
    p.se.sum_exec_runtime.load(Ordering::Relaxed)
}

/// Context switches on every CPU since boot.
///
/// Linux: nr_context_switches() in kernel/sched/core.c
pub fn nr_context_switches() -> u64 {
    crate::cpumask::cpu_online_mask()
        .iter()
        .map(|cpu| cpu_rq(cpu).lock().nr_switches)
        .sum()
}

/// Runnable tasks on every CPU, the running ones included.
///
/// Linux: nr_running() in kernel/sched/core.c
pub fn nr_running() -> u64 {
    crate::cpumask::cpu_online_mask()
        .iter()
        .map(|cpu| cpu_rq(cpu).lock().nr_running() as u64)
        .sum()
}

#[cfg(feature = "ktest")]
#[path = "core_tests.rs"]
mod tests;
