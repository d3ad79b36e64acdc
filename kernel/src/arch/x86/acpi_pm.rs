//! The ACPI power-management timer: a counter in an I/O port that the
//! chipset runs at 3.579545 MHz whatever the CPU does, found in the FADT.
//! It is read directly, so a virtual CPU the host preempts between two
//! reads still sees the right count: the TSC calibration uses it as the
//! reference its PIT windows are checked against (`tsc.rs`).
//!
//! Linux: drivers/clocksource/acpi_pm.c (acpi_pm_read_early)
//! Differs: only the early read; it is never a clocksource.

use core::sync::atomic::{AtomicU16, Ordering};
use x86_64::instructions::port::Port;

/// Counts per second (Linux: PMTMR_TICKS_PER_SEC).
pub const PMTMR_TICKS_PER_SEC: u64 = 3_579_545;
/// The bits every PM timer has; a 32-bit one is read as 24 bits too
/// (Linux: ACPI_PM_MASK).
pub const ACPI_PM_MASK: u32 = 0x00ff_ffff;
/// What the 24-bit count adds up to before it wraps (Linux: ACPI_PM_OVRRUN).
pub const ACPI_PM_OVRRUN: u64 = 1 << 24;

/// The timer's I/O port, 0 when the FADT has none. Written once by the
/// boot CPU while it parses the FADT, before any other CPU runs; an atomic,
/// so no lock (Linux: pmtmr_ioport).
static PMTMR_IOPORT: AtomicU16 = AtomicU16::new(0);

/// Records the port the FADT gives for the timer.
pub fn set_pmtmr_ioport(port: u16) {
    PMTMR_IOPORT.store(port, Ordering::Relaxed);
}

/// The timer's count now, `None` on a machine without one.
///
/// Linux: acpi_pm_read_early() in include/linux/acpi_pmtmr.h
pub fn acpi_pm_read_early() -> Option<u32> {
    let port = PMTMR_IOPORT.load(Ordering::Relaxed);
    if port == 0 {
        return None;
    }
    // SAFETY: the FADT names this port as the PM timer's count register,
    // which reading only returns.
    let count = unsafe { Port::<u32>::new(port).read() };
    Some(count & ACPI_PM_MASK)
}
