//! Work that must run in hard interrupt context: queued from anywhere, run
//! from the next timer interrupt. The interrupt-context demo (sysrq.rs) and
//! its tests use it to look at `current` from inside the tick.
//!
//! Linux: kernel/irq_work.c
//! Differs: Linux raises a self-interrupt to run the work at once and falls
//! back to the tick (irq_work_tick()) only where there is none; here the
//! tick always runs it, and each work is a boxed closure rather than a
//! `struct irq_work` embedded in its owner.

use crate::arch::sync::SpinLock;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// One piece of work for interrupt context.
pub type IrqWork = Box<dyn FnOnce() + Send>;

/// Work queued for the next tick, in queueing order.
static LAZY_LIST: SpinLock<Vec<IrqWork>> = SpinLock::new(Vec::new());

/// Queues `work` to run in the next timer interrupt on this CPU.
///
/// Linux: irq_work_queue() in kernel/irq_work.c
pub fn irq_work_queue(work: IrqWork) {
    LAZY_LIST.lock().push(work);
}

/// Runs the queued work; called from the timer interrupt.
///
/// Linux: irq_work_tick() in kernel/irq_work.c
pub fn irq_work_tick() {
    let works = core::mem::take(&mut *LAZY_LIST.lock());
    for work in works {
        work();
    }
}
