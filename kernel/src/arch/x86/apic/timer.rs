//! The local APIC timer: each CPU's own periodic tick at `HZ`. Its rate
//! (the APIC bus clock divided by 16) is measured once, on the boot CPU,
//! against the TSC; every CPU then programs the same period.
//!
//! Linux: calibrate_APIC_clock(), setup_APIC_timer(),
//! sysvec_apic_timer_interrupt() in arch/x86/kernel/apic/apic.c
//! Differs: Linux calibrates over HZ/10 ticks of the PIT or HPET clock
//! event; here the TSC, already calibrated against the PIT (tsc.rs), times
//! 2 ms windows whose error is bounded by the TSC reads around the timer's
//! start and read.

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
const CAL_MS: u64 = 2;
/// Windows measured at most.
const CAL_WINDOWS: usize = 10;
/// A window is trusted when its error bound is below its length shifted
/// right by this: 1/512, under 0.2 % (the tick's period; clocks read the
/// TSC). Starting and reading the timer take a few microseconds under
/// emulation, and the first window also pays for the first accesses.
const CAL_ERROR_SHIFT: u32 = 9;
/// QEMU's APIC bus runs at 1 GHz: the period used when the TSC could not
/// be calibrated.
const FALLBACK_PERIOD: u32 = (1_000_000_000 / 16 / HZ) as u32;

/// Timer counts (bus clock / 16) per tick (Linux: lapic_timer_period).
static LAPIC_TIMER_PERIOD: AtomicU32 = AtomicU32::new(0);

/// One window: the timer's count over `cycles` of the TSC, and the bounds
/// of the TSC time it counted for (the reads before and after starting it
/// and reading it back).
struct Window {
    count: u64,
    shortest: u64,
    longest: u64,
}

/// Counts the timer down from its maximum for `CAL_MS` of TSC time, window
/// after window, until one's error bound is under 1/512 (else keeps the
/// one with the smallest), and logs the bus clock. A delay at the timer's
/// start or end (the host running another thread) widens the bound, so a
/// loaded host costs another window, not a wrong tick.
///
/// Linux: calibrate_APIC_clock() in arch/x86/kernel/apic/apic.c
fn calibrate_apic_clock() -> u32 {
    let khz = tsc_khz();
    if khz == 0 {
        log::warn!("APIC timer: no TSC frequency, assuming a 1 GHz bus");
        return FALLBACK_PERIOD;
    }
    let mut best: Option<Window> = None;
    for _ in 0..CAL_WINDOWS {
        let w = crate::arch::without_interrupts(|| lapic_cal_window(khz * CAL_MS));
        let error = w.longest - w.shortest;
        let trusted = error < w.shortest >> CAL_ERROR_SHIFT;
        if trusted || best.as_ref().is_none_or(|b| error < b.longest - b.shortest) {
            best = Some(w);
        }
        if trusted {
            break;
        }
    }
    let best = best.expect("CAL_WINDOWS is not zero");
    // Counts per second over the middle of the window's bounds.
    let per_second = best.count * khz * 1000 / ((best.shortest + best.longest) / 2);
    log::info!(
        "APIC timer: bus clock {}.{:04} MHz",
        per_second * 16 / 1_000_000,
        per_second * 16 / 100 % 10_000
    );
    (per_second / HZ).clamp(1, u64::from(u32::MAX)) as u32
}

/// How far the timer counts down in about `cycles` TSC cycles.
fn lapic_cal_window(cycles: u64) -> Window {
    apic_write(APIC_TDCR, APIC_TDR_DIV_16);
    apic_write(APIC_LVTT, u32::from(LOCAL_TIMER_VECTOR) | APIC_LVT_MASKED);
    let before_start = crate::arch::rdtsc();
    apic_write(APIC_TMICT, u32::MAX);
    let after_start = crate::arch::rdtsc();
    while crate::arch::rdtsc() - after_start < cycles {
        core::hint::spin_loop();
    }
    let before_read = crate::arch::rdtsc();
    let left = apic_read(APIC_TMCCT);
    let after_read = crate::arch::rdtsc();
    apic_write(APIC_TMICT, 0);
    Window {
        count: u64::from(u32::MAX - left),
        shortest: before_read - after_start,
        longest: after_read - before_start,
    }
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
