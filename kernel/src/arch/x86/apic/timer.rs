//! The local APIC timer: each CPU's own periodic tick at `HZ`. Its rate
//! (the APIC bus clock divided by 16) is measured once, on the boot CPU,
//! against the TSC; every CPU then programs the same period.
//!
//! Linux: calibrate_APIC_clock(), setup_APIC_timer(),
//! sysvec_apic_timer_interrupt() in arch/x86/kernel/apic/apic.c
//! Differs: Linux calibrates over HZ/10 ticks of the PIT or HPET clock
//! event; here the TSC, already calibrated against the PIT (tsc.rs), times
//! 10 ms windows.

use super::{
    APIC_LVT_MASKED, APIC_LVTT, APIC_TDCR, APIC_TMCCT, APIC_TMICT, LOCAL_TIMER_VECTOR, apic_read,
    apic_write,
};
use crate::arch::time::{HZ, tsc_khz};
use core::sync::atomic::{AtomicU32, Ordering};

/// Divide the bus clock by 16 (Linux: APIC_TDR_DIV_16).
const APIC_TDR_DIV_16: u32 = 0x3;
/// Periodic mode in the timer LVT (Linux: APIC_LVT_TIMER_PERIODIC).
const APIC_LVT_TIMER_PERIODIC: u32 = 1 << 17;
/// The calibration window.
const CAL_MS: u64 = 10;
/// Windows measured at most.
const CAL_WINDOWS: usize = 5;
/// QEMU's APIC bus runs at 1 GHz: the period used when the TSC could not
/// be calibrated.
const FALLBACK_PERIOD: u32 = (1_000_000_000 / 16 / HZ) as u32;

/// Timer counts (bus clock / 16) per tick (Linux: lapic_timer_period).
static LAPIC_TIMER_PERIOD: AtomicU32 = AtomicU32::new(0);

/// Counts the timer down from its maximum for `CAL_MS` of TSC time,
/// window after window, and keeps the smallest count per tick; logs the
/// bus clock. A delay between the timer's start or end and the TSC reads
/// around it (the host running another thread) only adds counts, so the
/// smallest is the best; two windows within 1/1024 of each other end the
/// calibration early.
///
/// Linux: calibrate_APIC_clock() in arch/x86/kernel/apic/apic.c
fn calibrate_apic_clock() -> u32 {
    let khz = tsc_khz();
    if khz == 0 {
        log::warn!("APIC timer: no TSC frequency, assuming a 1 GHz bus");
        return FALLBACK_PERIOD;
    }
    let mut best = u64::MAX;
    for _ in 0..CAL_WINDOWS {
        let delta = crate::arch::without_interrupts(|| lapic_cal_window(khz * CAL_MS));
        let agrees = delta.abs_diff(best) < best >> 10;
        best = best.min(delta);
        if agrees {
            break;
        }
    }
    let per_second = best * (1000 / CAL_MS);
    log::info!(
        "APIC timer: bus clock {}.{:04} MHz",
        per_second * 16 / 1_000_000,
        per_second * 16 / 100 % 10_000
    );
    (per_second / HZ).clamp(1, u64::from(u32::MAX)) as u32
}

/// How far the timer counts down in `cycles` TSC cycles.
fn lapic_cal_window(cycles: u64) -> u64 {
    apic_write(APIC_TDCR, APIC_TDR_DIV_16);
    apic_write(APIC_LVTT, u32::from(LOCAL_TIMER_VECTOR) | APIC_LVT_MASKED);
    apic_write(APIC_TMICT, u32::MAX);
    let start = crate::arch::rdtsc();
    while crate::arch::rdtsc() - start < cycles {
        core::hint::spin_loop();
    }
    let left = apic_read(APIC_TMCCT);
    apic_write(APIC_TMICT, 0);
    u64::from(u32::MAX - left)
}

/// Starts this CPU's periodic tick with the calibrated period.
///
/// Linux: setup_APIC_timer() / lapic_timer_set_periodic() in apic.c
pub fn setup_apic_timer() {
    apic_write(APIC_TDCR, APIC_TDR_DIV_16);
    apic_write(
        APIC_LVTT,
        u32::from(LOCAL_TIMER_VECTOR) | APIC_LVT_TIMER_PERIODIC,
    );
    apic_write(APIC_TMICT, LAPIC_TIMER_PERIOD.load(Ordering::Relaxed));
}

/// On the boot CPU: measure the timer, then start the tick. The PIT is not
/// used for the tick from here on.
///
/// Linux: setup_boot_APIC_clock() in apic.c
pub fn setup_boot_apic_clock() {
    LAPIC_TIMER_PERIOD.store(calibrate_apic_clock(), Ordering::Relaxed);
    setup_apic_timer();
}

/// The tick's interrupt: acknowledge it, count it for this CPU, and run
/// the periodic tick.
///
/// Linux: sysvec_apic_timer_interrupt() / local_apic_timer_interrupt() in apic.c
pub fn sysvec_apic_timer_interrupt(user_tick: bool) {
    super::apic_eoi();
    crate::arch::percpu::this_cpu()
        .irq_stat
        .apic_timer_irqs
        .fetch_add(1, Ordering::Relaxed);
    crate::arch::irq::tick_handle_periodic(user_tick);
}
