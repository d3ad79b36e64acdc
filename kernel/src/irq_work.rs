//! Work that must run in hard interrupt context: queued from anywhere, run
//! from the next timer interrupt of the CPU that queued it. The interrupt-context demo (sysrq.rs) and
//! its tests use it to look at `current` from inside the tick.
//!
//! Linux: kernel/irq_work.c
//! Differs: Linux raises a self-interrupt to run the work at once and falls
//! back to the tick (irq_work_tick()) only where there is none; here the
//! tick always runs it, and each work is a boxed closure rather than a
//! `struct irq_work` embedded in its owner.

use crate::arch::gdt::NR_CPUS;
use crate::arch::percpu::smp_processor_id;
use crate::arch::sync::SpinLock;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// One piece of work for interrupt context.
pub type IrqWork = Box<dyn FnOnce() + Send>;

/// Each CPU's work queued for its next tick, in queueing order (Linux:
/// `DEFINE_PER_CPU(struct llist_head, lazy_list)`).
static LAZY_LIST: [SpinLock<Vec<IrqWork>>; NR_CPUS] =
    [const { SpinLock::new(Vec::new()) }; NR_CPUS];

/// Queues `work` to run in the next timer interrupt on this CPU.
///
/// Linux: irq_work_queue() in kernel/irq_work.c
pub fn irq_work_queue(work: IrqWork) {
    crate::arch::without_interrupts(|| LAZY_LIST[smp_processor_id()].lock().push(work));
}

/// Runs the work queued on this CPU; called from its timer interrupt.
///
/// Linux: irq_work_tick() in kernel/irq_work.c
pub fn irq_work_tick() {
    let works = core::mem::take(&mut *LAZY_LIST[smp_processor_id()].lock());
    for work in works {
        work();
    }
}
