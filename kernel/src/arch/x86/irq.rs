//! Hardware interrupts through the legacy 8259 PIC pair, remapped to vectors
//! 32..48: the PIT timer on IRQ 0 and the serial port on IRQ 4.
//!
//! Linux: arch/x86/kernel/i8259.c, arch/x86/kernel/irq.c

use super::sync::SpinLock;
use pic8259::ChainedPics;

/// First vector used by the PICs (Linux: FIRST_EXTERNAL_VECTOR).
pub const PIC_OFFSET: u8 = 32;
const TIMER_VECTOR: u8 = PIC_OFFSET;
const SERIAL_VECTOR: u8 = PIC_OFFSET + 4;

static PICS: SpinLock<ChainedPics> =
    // SAFETY: the offsets 32 and 40 lie past the 32 CPU exception vectors.
    SpinLock::new(unsafe { ChainedPics::new(PIC_OFFSET, PIC_OFFSET + 8) });

/// Remaps the PICs and unmasks the timer and the serial port.
///
/// Linux: init_IRQ() in arch/x86/kernel/irqinit.c
pub fn init_irq() {
    let mut pics = PICS.lock();
    // SAFETY: the PICs sit at their standard I/O ports and the IDT already
    // has gates for every unmasked line.
    unsafe {
        pics.initialize();
        // Bit set = masked. Unmask IRQ0 (timer), IRQ2 (cascade), IRQ4 (COM1).
        pics.write_masks(!0b0001_0101, 0xff);
    }
}

fn end_of_interrupt(vector: u8) {
    // SAFETY: `vector` is the interrupt being handled right now.
    unsafe { PICS.lock().notify_end_of_interrupt(vector) };
}

/// The tick, in hard interrupt context: count it, charge it to the
/// interrupted task (`user_tick`: it was in user mode), check that task's
/// CPU-time timers once the scheduler has charged its run time, run queued
/// irq work, and acknowledge the PIC. The preemption check follows in
/// `dispatch`, after irq_exit().
///
/// Linux: tick_handle_periodic() in kernel/time/tick-common.c, which calls
/// update_process_times()
pub(super) fn timer_interrupt(user_tick: bool) {
    super::time::tick();
    crate::sched::cputime::account_process_tick(user_tick);
    crate::sched::core::scheduler_tick();
    super::percpu::with_current(|p| {
        if let Some(p) = p.filter(|p| !p.is_idle_task()) {
            crate::posix_cpu_timers::run_posix_cpu_timers(p);
        }
    });
    crate::printk::wake_up_klogd_tick();
    crate::time::run_local_timers();
    crate::irq_work::irq_work_tick();
    end_of_interrupt(TIMER_VECTOR);
}

pub(super) fn serial_interrupt() {
    while let Some(byte) = super::serial::try_receive() {
        crate::sysrq::handle_sysrq_input(byte);
    }
    end_of_interrupt(SERIAL_VECTOR);
}
