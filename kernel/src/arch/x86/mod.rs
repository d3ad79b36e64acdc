//! x86_64 support: descriptor tables, traps, interrupts, the timer, the
//! serial console, per-CPU data, locks and the context switch.
//!
//! Linux: arch/x86/

pub mod acpi_pm;
pub mod apic;
pub mod entry;
pub mod fw_cfg;
pub mod gdt;
pub mod irq;
pub mod kernel;
pub mod percpu;
pub mod preempt;
pub mod qemu;
pub mod realmode;
pub mod serial;
pub mod signal;
pub mod sync;
pub mod time;
pub mod traps;
pub mod tsc;

/// Stops the CPU until the next interrupt, with interrupts enabled.
///
/// Linux: native_safe_halt() in arch/x86/include/asm/irqflags.h
pub fn safe_halt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// Reads the time-stamp counter: CPU cycles since reset.
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no side effects and is available on every x86_64 CPU.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Runs `f` with interrupts disabled, restoring the previous state after.
///
/// Linux: local_irq_save()/local_irq_restore() in include/linux/irqflags.h
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// Whether interrupts are off on this CPU.
///
/// Linux: irqs_disabled() in include/linux/irqflags.h
pub fn irqs_disabled() -> bool {
    !x86_64::instructions::interrupts::are_enabled()
}
