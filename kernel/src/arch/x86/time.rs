//! Time: `jiffies`, counted by the timekeeping CPU's tick (each CPU's
//! tick timer at `HZ`, time/tick_sched.rs, on its one-shot local APIC
//! timer, apic/timer.rs), and the TSC (calibrated against the PIT in
//! `tsc.rs`) for finer clocks.
//!
//! Linux: kernel/time/jiffies.c, arch/x86/kernel/tsc.c

use core::sync::atomic::{AtomicU64, Ordering};

/// Timer interrupts per second (Linux: CONFIG_HZ, 250 by default on x86).
pub const HZ: u64 = 250;

static JIFFIES: AtomicU64 = AtomicU64::new(0);
static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);

/// Marks the TSC reading that monotonic time counts from. The tick itself
/// starts later, with the local APIC timer (setup_boot_apic_clock).
///
/// Linux: time_init() in arch/x86/kernel/time.c
pub fn time_init() {
    TSC_AT_BOOT.store(super::rdtsc(), Ordering::Relaxed);
}

/// Counts `ticks` periods of the tick (more than one when the tick's
/// timer fired late).
///
/// Linux: tick_do_update_jiffies64() in kernel/time/tick-sched.c
pub(super) fn tick(ticks: u64) {
    JIFFIES.fetch_add(ticks, Ordering::Relaxed);
}

/// Timer ticks since boot.
pub fn jiffies() -> u64 {
    JIFFIES.load(Ordering::Relaxed)
}

/// Finds the TSC frequency (see [`super::tsc`]) and logs it as Linux does;
/// without one, time keeps counting in jiffies.
///
/// Linux: tsc_init() in arch/x86/kernel/tsc.c
pub fn tsc_init() {
    let Some((khz, method)) = super::tsc::calibrate_tsc() else {
        log::warn!("tsc: Unable to calibrate against PIT");
        return;
    };
    match method {
        super::tsc::Method::Cpuid => {
            log::info!("tsc: Detected TSC frequency through CPUID leaf 0x15")
        }
        super::tsc::Method::Pit { fast: true } => log::info!("tsc: Fast TSC calibration using PIT"),
        super::tsc::Method::Pit { fast: false } => log::info!("tsc: TSC calibration using PIT"),
        super::tsc::Method::PmTimer => {}
    }
    log::info!(
        "tsc: Detected {}.{:03} MHz processor",
        khz / 1000,
        khz % 1000
    );
    TSC_KHZ.store(khz, Ordering::Relaxed);
}

/// TSC cycles per millisecond, once calibrated.
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Nanoseconds since boot: the TSC once calibrated, otherwise jiffies.
///
/// Linux: ktime_get() in kernel/time/timekeeping.c
pub fn ktime_get_ns() -> u64 {
    let khz = tsc_khz();
    if khz == 0 {
        return jiffies() * (1_000_000_000 / HZ);
    }
    let cycles = super::rdtsc() - TSC_AT_BOOT.load(Ordering::Relaxed);
    cycles_to_ns(cycles, khz)
}

/// The first TSC reading at or after `ns` of monotonic time, for a TSC
/// deadline; None before the TSC is calibrated.
///
/// Linux: the clock event's mult/shift conversion in
/// lapic_next_deadline() (arch/x86/kernel/apic/apic.c)
pub fn ns_to_tsc(ns: u64) -> Option<u64> {
    let khz = tsc_khz();
    if khz == 0 {
        return None;
    }
    let cycles = match ns.checked_mul(khz) {
        Some(scaled) => scaled.div_ceil(1_000_000),
        None => (u128::from(ns) * u128::from(khz)).div_ceil(1_000_000) as u64,
    };
    Some(TSC_AT_BOOT.load(Ordering::Relaxed).saturating_add(cycles))
}

/// `cycles` of a TSC at `khz` in nanoseconds. In 64 bits while the product
/// fits (the first hours after boot), in 128 otherwise: every clock read of
/// the scheduler comes here, and a 128-bit division is a library call of
/// about 150 instructions where a 64-bit one is one.
///
/// Linux: cycles_2_ns() in arch/x86/kernel/tsc.c
/// Differs: a division by the frequency; Linux multiplies by a scale
/// computed at calibration and shifts.
fn cycles_to_ns(cycles: u64, khz: u64) -> u64 {
    match cycles.checked_mul(1_000_000) {
        Some(scaled) => scaled / khz,
        None => (u128::from(cycles) * 1_000_000 / u128::from(khz)) as u64,
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        fn timer_ticks_advance_while_the_kernel_waits() {
            let start = jiffies();
            let t0 = ktime_get_ns();
            while jiffies() < start + 5 {
                crate::arch::safe_halt();
            }
            let elapsed = ktime_get_ns() - t0;
            kassert!(jiffies() >= start + 5);
            // Five ticks at HZ are 20 ms; allow for a slow emulator.
            kassert!((10_000_000..2_000_000_000).contains(&elapsed), "elapsed {elapsed} ns");
        }
    }
}
