//! The local APIC timer: each CPU's clock event device, programmed one
//! shot at a time for the CPU's next timer (time/hrtimer.rs), the tick's
//! among them (time/tick_sched.rs). Where the CPU has it, the timer runs
//! in TSC-deadline mode (fires when the TSC reaches a value); otherwise it
//! counts down at the APIC bus clock divided by 16, a rate measured once,
//! on the boot CPU, against the TSC.
//!
//! Linux: calibrate_APIC_clock(), setup_APIC_timer(), lapic_next_event(),
//! lapic_next_deadline(), sysvec_apic_timer_interrupt() in
//! arch/x86/kernel/apic/apic.c
//! Differs: Linux calibrates over HZ/10 ticks of the PIT or HPET clock
//! event; here the TSC, already calibrated against the PIT (tsc.rs), times
//! 2 ms windows whose error is bounded by the TSC reads around the timer's
//! start and read.

use super::{
    APIC_LVT_MASKED, APIC_LVTT, APIC_TDCR, APIC_TMCCT, APIC_TMICT, LOCAL_TIMER_VECTOR, apic_read,
    apic_write,
};
use crate::arch::time::{HZ, ktime_get_ns, tsc_khz};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use x86_64::registers::model_specific::Msr;

/// Divide the bus clock by 16 (Linux: APIC_TDR_DIV_16).
const APIC_TDR_DIV_16: u32 = 0x3;
/// One-shot mode in the timer LVT (Linux: APIC_LVT_TIMER_ONESHOT).
const APIC_LVT_TIMER_ONESHOT: u32 = 0;
/// TSC-deadline mode in the timer LVT (Linux: APIC_LVT_TIMER_TSCDEADLINE).
const APIC_LVT_TIMER_TSCDEADLINE: u32 = 2 << 17;
/// The TSC value the timer fires at, in TSC-deadline mode (Linux:
/// MSR_IA32_TSC_DEADLINE).
const MSR_IA32_TSC_DEADLINE: u32 = 0x6e0;
/// The shortest count-down programmed, in ns: an event already due fires
/// this soon (Linux: the lapic clock event's min_delta_ns, 0xF counts).
const MIN_DELTA_NS: u64 = 1_000;
/// The longest count-down programmed, in ns (Linux: max_delta_ns, 0x7FFFFFFF
/// counts); the tick's timer always comes sooner.
const MAX_DELTA_NS: u64 = 1_000_000_000;
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

/// Whether every CPU's timer runs in TSC-deadline mode (Linux:
/// boot_cpu_has(X86_FEATURE_TSC_DEADLINE_TIMER)), decided on the boot CPU.
static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);

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

/// Puts this CPU's timer in one-shot (or TSC-deadline) mode, then hands it
/// to the timers, which program it for their first expiry and start the
/// tick's timer.
///
/// Linux: setup_APIC_timer() / lapic_timer_set_oneshot() in apic.c, then
/// hrtimer_switch_to_hres() in kernel/time/hrtimer.c
pub fn setup_apic_timer() {
    apic_write(APIC_TDCR, APIC_TDR_DIV_16);
    let mode = if TSC_DEADLINE.load(Ordering::Relaxed) {
        APIC_LVT_TIMER_TSCDEADLINE
    } else {
        APIC_LVT_TIMER_ONESHOT
    };
    apic_write(APIC_LVTT, u32::from(LOCAL_TIMER_VECTOR) | mode);
    crate::time::hrtimer::hrtimer_switch_to_hres();
}

/// On the boot CPU: choose the timer's mode, measure its count-down rate,
/// then start it. The PIT is not used for the tick from here on.
///
/// Linux: setup_boot_APIC_clock() in apic.c
pub fn setup_boot_apic_clock() {
    let deadline = raw_cpuid::CpuId::new()
        .get_feature_info()
        .is_some_and(|f| f.has_tsc_deadline())
        && tsc_khz() != 0;
    if deadline {
        log::info!("TSC deadline timer available");
    }
    TSC_DEADLINE.store(deadline, Ordering::Relaxed);
    LAPIC_TIMER_PERIOD.store(calibrate_apic_clock(), Ordering::Relaxed);
    setup_apic_timer();
}

/// What this CPU's timer is programmed for (ns of monotonic time), u64::MAX
/// once it fired, 0 before setup_apic_timer: then nothing programs it.
///
/// Linux: clock_event_device.next_event
pub fn next_event() -> u64 {
    crate::arch::percpu::this_cpu()
        .clockevent_next
        .load(Ordering::Relaxed)
}

/// Notes that this CPU's timer fired (or was just set up): programmed for
/// nothing, so the next timer started programs it.
pub fn clockevent_fired() {
    crate::arch::percpu::this_cpu()
        .clockevent_next
        .store(u64::MAX, Ordering::Relaxed);
}

/// Programs this CPU's timer to fire at `expires` (ns of monotonic time),
/// at once if that has passed. The caller has interrupts off.
///
/// Linux: clockevents_program_event() in kernel/time/clockevents.c, with
/// the lapic device's set_next_event: lapic_next_deadline() or
/// lapic_next_event() in apic.c
pub fn lapic_program_event(expires: u64) {
    crate::arch::percpu::this_cpu()
        .clockevent_next
        .store(expires, Ordering::Relaxed);
    if TSC_DEADLINE.load(Ordering::Relaxed)
        && let Some(tsc) = crate::arch::time::ns_to_tsc(expires)
    {
        // SAFETY: the timer is in TSC-deadline mode (setup_apic_timer), in
        // which this MSR arms it; a value already reached fires at once.
        unsafe { Msr::new(MSR_IA32_TSC_DEADLINE).write(tsc) };
        return;
    }
    let delta = expires
        .saturating_sub(ktime_get_ns())
        .clamp(MIN_DELTA_NS, MAX_DELTA_NS);
    let period = u64::from(LAPIC_TIMER_PERIOD.load(Ordering::Relaxed));
    let counts = (delta * period).div_ceil(crate::sched::cputime::TICK_NSEC);
    apic_write(APIC_TMICT, counts.clamp(1, u64::from(u32::MAX)) as u32);
}

/// The timer's interrupt: acknowledge it, count it for this CPU, note
/// whether it came from user mode (for the tick's accounting), and run
/// the expired timers.
///
/// Linux: sysvec_apic_timer_interrupt() / local_apic_timer_interrupt() in
/// apic.c (set_irq_regs(), then the clock event's handler, hrtimer_interrupt())
pub fn sysvec_apic_timer_interrupt(user_mode: bool) {
    super::apic_eoi();
    let this = crate::arch::percpu::this_cpu();
    this.irq_stat
        .apic_timer_irqs
        .fetch_add(1, Ordering::Relaxed);
    this.irq_user_mode.store(user_mode, Ordering::Relaxed);
    crate::time::hrtimer::hrtimer_interrupt();
}
