//! Hardware interrupts through the legacy 8259 PIC pair, remapped to vectors
//! 32..48: the PIT timer on IRQ 0 and the serial port on IRQ 4.
//!
//! Linux: arch/x86/kernel/i8259.c, arch/x86/kernel/irq.c

use super::sync::SpinLock;
use pic8259::ChainedPics;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame};

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

/// Installs the gates for the interrupt lines we use.
pub(super) fn set_interrupt_gates(idt: &mut InterruptDescriptorTable) {
    idt[TIMER_VECTOR].set_handler_fn(timer_interrupt);
    idt[SERIAL_VECTOR].set_handler_fn(serial_interrupt);
}

fn end_of_interrupt(vector: u8) {
    // SAFETY: `vector` is the interrupt being handled right now.
    unsafe { PICS.lock().notify_end_of_interrupt(vector) };
}

/// The tick: account time, acknowledge the PIC, then let the scheduler
/// preempt the interrupted task if its time slice is used up.
///
/// Linux: tick_handle_periodic() in kernel/time/tick-common.c, then the
/// preemption check on interrupt return (irqentry_exit_cond_resched()).
extern "x86-interrupt" fn timer_interrupt(_frame: InterruptStackFrame) {
    super::time::tick();
    crate::sched::core::scheduler_tick();
    end_of_interrupt(TIMER_VECTOR);
    crate::sched::core::preempt_schedule_irq();
}

extern "x86-interrupt" fn serial_interrupt(_frame: InterruptStackFrame) {
    while let Some(byte) = super::serial::try_receive() {
        crate::sysrq::handle_sysrq_input(byte);
    }
    end_of_interrupt(SERIAL_VECTOR);
}
