//! Process context and interrupt context: the preempt count.
//!
//! `current` is the task this CPU is running. In process context (a system
//! call, a kernel thread) the code runs *for* that task: it may sleep, and
//! `current` names whom the work is for. An interrupt runs on the same CPU,
//! on top of whatever task it happened to interrupt: `current` is still set,
//! but to a bystander (a user program, a kernel thread, or the idle task),
//! and the handler must not sleep, since there is no task of its own to put
//! to sleep. Each CPU keeps one counter that says which context it is in:
//!
//! ```text
//!   bits 23..20   19..16    15..8     7..0
//!        NMI      HARDIRQ   SOFTIRQ   PREEMPT     (Linux's layout)
//!                 ^ irq_enter() adds HARDIRQ_OFFSET, irq_exit() takes it off
//! ```
//!
//! Zero means process context with preemption allowed. The counter lives in
//! the per-CPU area (`arch/x86/percpu.rs`), as x86 Linux keeps it per CPU,
//! and is read and changed in single `gs`-relative instructions
//! (`arch/x86/preempt.rs`), so that a task moved to another CPU in the
//! middle never touches the count of the CPU it left.
//!
//! Linux: include/linux/preempt.h, kernel/softirq.c (irq_enter, irq_exit)
//! Not modelled: softirqs and NMI nesting (the fields exist; nothing sets
//! them), PREEMPT_NEED_RESCHED folded into the count.

pub use crate::arch::preempt::preempt_count;

/// Bits of the preemption-disable depth (Linux: PREEMPT_BITS).
pub const PREEMPT_BITS: u32 = 8;
/// Bits of the softirq depth (Linux: SOFTIRQ_BITS).
pub const SOFTIRQ_BITS: u32 = 8;
/// Bits of the hard-interrupt depth (Linux: HARDIRQ_BITS).
pub const HARDIRQ_BITS: u32 = 4;
/// Where the preemption-disable depth starts (Linux: PREEMPT_SHIFT).
pub const PREEMPT_SHIFT: u32 = 0;
/// Where the softirq depth starts (Linux: SOFTIRQ_SHIFT).
pub const SOFTIRQ_SHIFT: u32 = PREEMPT_SHIFT + PREEMPT_BITS;
/// Where the hard-interrupt depth starts (Linux: HARDIRQ_SHIFT).
pub const HARDIRQ_SHIFT: u32 = SOFTIRQ_SHIFT + SOFTIRQ_BITS;
/// Where the NMI depth starts (Linux: NMI_SHIFT).
pub const NMI_SHIFT: u32 = HARDIRQ_SHIFT + HARDIRQ_BITS;
/// One preempt_disable() (Linux: PREEMPT_OFFSET).
pub const PREEMPT_OFFSET: u32 = 1 << PREEMPT_SHIFT;
/// One level of softirq (Linux: SOFTIRQ_OFFSET).
pub const SOFTIRQ_OFFSET: u32 = 1 << SOFTIRQ_SHIFT;
/// One level of hard interrupt (Linux: HARDIRQ_OFFSET).
pub const HARDIRQ_OFFSET: u32 = 1 << HARDIRQ_SHIFT;
/// One level of NMI (Linux: NMI_OFFSET).
pub const NMI_OFFSET: u32 = 1 << NMI_SHIFT;
/// The preemption-disable field (Linux: PREEMPT_MASK).
pub const PREEMPT_MASK: u32 = ((1 << PREEMPT_BITS) - 1) << PREEMPT_SHIFT;
/// The softirq field (Linux: SOFTIRQ_MASK).
pub const SOFTIRQ_MASK: u32 = ((1 << SOFTIRQ_BITS) - 1) << SOFTIRQ_SHIFT;
/// The hard-interrupt field (Linux: HARDIRQ_MASK).
pub const HARDIRQ_MASK: u32 = ((1 << HARDIRQ_BITS) - 1) << HARDIRQ_SHIFT;
/// The NMI field (Linux: NMI_MASK).
pub const NMI_MASK: u32 = 0xf << NMI_SHIFT;

/// Linux: preempt_count_add() in kernel/sched/core.c
fn preempt_count_add(val: u32) {
    crate::arch::preempt::__preempt_count_add(val);
}

/// Takes `val` off the count, refusing to go below zero.
///
/// Linux: preempt_count_sub() in kernel/sched/core.c (CONFIG_DEBUG_PREEMPT)
/// Differs: an underflow panics instead of warning.
fn preempt_count_sub(val: u32) {
    let old = preempt_count();
    assert!(old >= val, "preempt count underflow: {old:#x} - {val:#x}");
    crate::arch::preempt::__preempt_count_sub(val);
}

/// Keeps the timer from switching this CPU to another task until
/// preempt_enable(); the code in between is atomic and must not sleep.
///
/// Linux: preempt_disable() in include/linux/preempt.h
pub fn preempt_disable() {
    preempt_count_add(PREEMPT_OFFSET);
}

/// Undoes one preempt_disable(), and gives way if a reschedule came due
/// meanwhile.
///
/// Linux: preempt_enable() in include/linux/preempt.h
pub fn preempt_enable() {
    preempt_count_sub(PREEMPT_OFFSET);
    if preempt_count() == 0 && !crate::arch::irqs_disabled() {
        crate::sched::core::cond_resched();
    }
}

/// Hard-interrupt nesting, in units of HARDIRQ_OFFSET (Linux: hardirq_count()).
pub fn hardirq_count() -> u32 {
    preempt_count() & HARDIRQ_MASK
}

/// Whether a hard interrupt handler is running (Linux: in_hardirq(), once in_irq()).
pub fn in_hardirq() -> bool {
    hardirq_count() != 0
}

/// Whether this CPU is in any interrupt context: NMI, hard interrupt or
/// softirq. Then `current` is only the task that happened to be interrupted.
///
/// Linux: in_interrupt() in include/linux/preempt.h
pub fn in_interrupt() -> bool {
    preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK) != 0
}

/// Whether this CPU runs in process context, on behalf of `current`.
///
/// Linux: in_task() in include/linux/preempt.h
pub fn in_task() -> bool {
    !in_interrupt()
}

/// Whether sleeping is forbidden here: in an interrupt, or with preemption
/// disabled.
///
/// Linux: in_atomic() in include/linux/preempt.h
/// Differs: spin locks here disable interrupts instead of preemption, so a
/// sleep under a lock shows as irqs_disabled() rather than in_atomic().
pub fn in_atomic() -> bool {
    preempt_count() != 0
}

/// Marks the start of a hardware interrupt handler.
///
/// Linux: irq_enter() in kernel/softirq.c
pub fn irq_enter() {
    crate::locking::lockdep::lockdep_hardirq_enter();
    preempt_count_add(HARDIRQ_OFFSET);
}

/// Marks the end of a hardware interrupt handler.
///
/// Linux: irq_exit() in kernel/softirq.c
pub fn irq_exit() {
    preempt_count_sub(HARDIRQ_OFFSET);
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::irq_work::irq_work_queue;
    use crate::sched::completion::Completion;
    use crate::sched::might_sleep::might_sleep_reports;
    use crate::task::{TASK_RUNNING, current};
    use crate::{kassert, kassert_eq, ktest};
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

    /// What a timer interrupt saw, filled in from inside it.
    #[derive(Default)]
    struct Seen {
        done: AtomicBool,
        count: AtomicU32,
        in_task: AtomicBool,
        pid: AtomicI32,
        /// The test has stopped waiting: a look still queued is dropped.
        abandoned: AtomicBool,
    }

    /// Asked from inside each tick: whether this is the tick to look from.
    type Ready = Box<dyn Fn() -> bool + Send>;

    /// Queues a look from the next timer interrupt on this CPU; it also
    /// makes a call that may sleep (waiting for a completion that is
    /// already done).
    fn look_from_the_next_tick() -> Arc<Seen> {
        look_from_the_first_tick_where(Box::new(|| true))
    }

    /// Queues a look from the first timer interrupt on this CPU in which
    /// `ready()` holds; each tick before it queues the look again.
    fn look_from_the_first_tick_where(ready: Ready) -> Arc<Seen> {
        let seen = Arc::new(Seen::default());
        queue_look(seen.clone(), ready);
        seen
    }

    fn queue_look(seen: Arc<Seen>, ready: Ready) {
        irq_work_queue(Box::new(move || {
            if seen.abandoned.load(Ordering::Relaxed) {
                return;
            }
            if !ready() {
                return queue_look(seen, ready);
            }
            seen.count.store(preempt_count(), Ordering::Relaxed);
            seen.in_task.store(in_task(), Ordering::Relaxed);
            let pid = crate::arch::percpu::with_current(|c| c.map_or(-1, |c| c.pid()));
            seen.pid.store(pid, Ordering::Relaxed);
            let already_done = Completion::new();
            already_done.complete();
            already_done.wait_for_completion();
            seen.done.store(true, Ordering::Release);
        }));
    }

    ktest! {
        fn process_context_has_a_zero_preempt_count_and_may_sleep() {
            let before = might_sleep_reports();
            kassert!(in_task() && !in_interrupt() && !in_atomic());
            kassert_eq!(preempt_count(), 0);
            crate::sched::might_sleep::might_sleep();
            kassert_eq!(might_sleep_reports(), before);
        }
    }

    ktest! {
        fn the_timer_interrupt_sees_the_task_it_interrupted_as_current() {
            let before = might_sleep_reports();
            // Preemption off: this task stays on this CPU, whose tick runs
            // the look, and no other task runs here before that tick (a
            // wake-up could otherwise put one in its way).
            preempt_disable();
            let seen = look_from_the_next_tick();
            // Spin with interrupts on: the tick interrupts this very task.
            let deadline = crate::arch::time::jiffies() + 1000;
            while !seen.done.load(Ordering::Acquire) && crate::arch::time::jiffies() < deadline {
                core::hint::spin_loop();
            }
            preempt_enable();
            seen.abandoned.store(true, Ordering::Relaxed);
            kassert!(seen.done.load(Ordering::Acquire));
            // The interrupt's level on top of the level of the task it interrupted.
            kassert_eq!(seen.count.load(Ordering::Relaxed), HARDIRQ_OFFSET + PREEMPT_OFFSET);
            kassert!(!seen.in_task.load(Ordering::Relaxed));
            kassert_eq!(seen.pid.load(Ordering::Relaxed), current().pid());
            kassert_eq!(might_sleep_reports(), before + 1, "the wait in the interrupt was reported");
            kassert_eq!(preempt_count(), 0);
        }
    }

    ktest! {
        fn while_the_caller_sleeps_the_timer_interrupt_sees_another_task_as_current() {
            let me = current();
            // Only a tick that comes while the caller is asleep, off every
            // CPU, is one to look from: one between the queueing and the
            // switch away, or after the wake-up, interrupts the caller itself.
            let sleeper = me.clone();
            let asleep = move || !sleeper.thread.on_cpu() && sleeper.state() != TASK_RUNNING;
            let seen = look_from_the_first_tick_where(Box::new(asleep));
            let deadline = crate::arch::time::jiffies() + 1000;
            while !seen.done.load(Ordering::Acquire) && crate::arch::time::jiffies() < deadline {
                crate::time::schedule_timeout_interruptible(20_000_000);
            }
            seen.abandoned.store(true, Ordering::Relaxed);
            kassert!(seen.done.load(Ordering::Acquire), "no tick came while the caller slept");
            // Whichever task ran then (the idle task, or another that was
            // runnable): never the sleeper that queued the look.
            let pid = seen.pid.load(Ordering::Relaxed);
            kassert!(pid >= 0 && pid != me.pid(), "pid {pid} was interrupted");
        }
    }

    ktest! {
        fn a_sleeping_call_with_preemption_disabled_is_reported() {
            let before = might_sleep_reports();
            preempt_disable();
            kassert!(in_atomic() && in_task());
            crate::sched::might_sleep::might_sleep();
            preempt_enable();
            kassert_eq!(might_sleep_reports(), before + 1);
            kassert_eq!(preempt_count(), 0);
        }
    }
}
