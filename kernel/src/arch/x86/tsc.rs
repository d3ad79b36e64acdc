//! TSC calibration that late timer interrupts cannot fool: CPUID leaf 0x15
//! where the CPU states the frequency; else the quick method, which counts
//! TSC cycles between changes of PIT channel 2's high byte (every 256 PIT
//! counts, 215 µs) and stops as soon as the error bound of its two samples
//! (the TSC reads around the PIT reads that saw each change) is below
//! 500 ppm, a few milliseconds; else 10 ms PIT windows polled with
//! interrupts off, each checked against the ACPI PM timer read around it.
//!
//! Linux: arch/x86/kernel/tsc.c

use super::acpi_pm::{ACPI_PM_OVRRUN, PMTMR_TICKS_PER_SEC, acpi_pm_read_early};
use raw_cpuid::CpuId;
use x86_64::instructions::port::Port;

const PIT_FREQUENCY: u64 = 1_193_182;
/// One calibration window (Linux: CAL_MS).
const CAL_MS: u64 = 10;
/// The PIT count for one window (Linux: CAL_LATCH).
const CAL_LATCH: u64 = PIT_FREQUENCY / (1000 / CAL_MS);
/// Fewer polls than this in a window means the loop was not watching the
/// PIT closely enough (Linux: CAL_PIT_LOOPS).
const CAL_PIT_LOOPS: u64 = 1000;
/// Windows measured at most (200 ms in all); when none is trusted, the one
/// with the smallest error bound is kept.
const CAL_WINDOWS: usize = 20;
/// A window is trusted when its error bound is below its length shifted
/// right by this: 1/2048, under 500 ppm (Linux: quick_pit_calibrate's test).
const CAL_ERROR_SHIFT: u32 = 11;
/// The quick method gives up after this long (Linux: MAX_QUICK_PIT_MS).
const MAX_QUICK_PIT_MS: u64 = 50;
/// Changes of the PIT's high byte in `MAX_QUICK_PIT_MS` (Linux:
/// MAX_QUICK_PIT_ITERATIONS).
const MAX_QUICK_PIT_ITERATIONS: u64 = MAX_QUICK_PIT_MS * PIT_FREQUENCY / 1000 / 256;
/// Attempts of the quick method before the windows of the slow one.
const QUICK_PIT_TRIES: usize = 3;
/// A TSC and PM timer read taking longer than this many cycles was held
/// up between the two (Linux: SMI_TRESHOLD).
const SMI_TRESHOLD: u64 = 50_000;
/// Tries of one such read (Linux: MAX_RETRIES).
const MAX_RETRIES: usize = 5;

/// How the frequency was found, for the boot log.
pub enum Method {
    /// CPUID leaf 0x15 (with 0x16 for the crystal where 0x15 leaves it out).
    Cpuid,
    /// PIT channel 2: `fast` for the quick method, else windows of `CAL_MS`.
    Pit {
        /// The quick method succeeded.
        fast: bool,
    },
    /// The ACPI PM timer, read around the PIT windows of the slow method.
    PmTimer,
}

/// One calibration window: the TSC cycles from just before PIT channel 2
/// started counting to just after its end was seen, and how many of them
/// are uncertainty (the true start and end lie somewhere inside it).
struct Window {
    cycles: u64,
    error: u64,
}

impl Window {
    /// The middle of the window's uncertainty, in cycles per millisecond.
    fn khz(&self) -> u64 {
        (self.cycles - self.error / 2) / CAL_MS
    }
}

/// The TSC frequency in kHz and how it was found; `None` when no method
/// gave a plausible answer.
///
/// Linux: native_calibrate_tsc(), then quick_pit_calibrate() and
/// pit_hpet_ptimer_calibrate_cpu() as tsc_init() ->
/// determine_cpu_tsc_frequencies() -> native_calibrate_cpu_early() and
/// native_calibrate_cpu() try them
/// Differs: the quick method is tried three times (a host preempting this
/// virtual CPU at a sample makes one attempt fail).
pub fn calibrate_tsc() -> Option<(u64, Method)> {
    if let Some(khz) = native_calibrate_tsc() {
        return Some((khz, Method::Cpuid));
    }
    // Interrupts off: an interrupt between the TSC and PIT reads only widens
    // an error bound, and a sample with a wide one is not used.
    super::without_interrupts(|| {
        if let Some(khz) = (0..QUICK_PIT_TRIES).find_map(|_| quick_pit_calibrate()) {
            return Some((khz, Method::Pit { fast: true }));
        }
        log::info!("tsc: Fast TSC calibration failed");
        pit_hpet_ptimer_calibrate_cpu()
    })
}

/// The slow method: 10 ms PIT windows, each between two reads of the PM
/// timer. A window is trusted when its own error bound is under 500 ppm;
/// the PM timer's count over the same stretch is a reference that a host
/// preempting this virtual CPU *inside* the window does not disturb (only
/// at one of the two reads, which are retried). A trusted window that
/// agrees with the reference within 10 % gives the reference, as in Linux;
/// without a PM timer the first trusted window is used. When no window is
/// trusted (the host kept preempting at their ends), the reference if
/// there is one, else the window with the smallest error bound: a window's
/// middle is off by up to half its bound, which on a loaded host reached
/// 20 % (a `sleep 2` of 1.6 s).
///
/// Linux: pit_hpet_ptimer_calibrate_cpu() in arch/x86/kernel/tsc.c
/// Differs: no HPET; up to `CAL_WINDOWS` windows instead of three, each
/// judged by its own error bound where Linux rejects a window with one
/// slow poll.
fn pit_hpet_ptimer_calibrate_cpu() -> Option<(u64, Method)> {
    let has_pmtimer = acpi_pm_read_early().is_some();
    let (mut best, mut ref_min): (Option<Window>, Option<u64>) = (None, None);
    for i in 1..=CAL_WINDOWS {
        let ref1 = tsc_read_refs();
        let window = pit_calibrate_tsc(CAL_LATCH, CAL_PIT_LOOPS);
        let ref2 = tsc_read_refs();
        if let Some(khz) = ref1.zip(ref2).and_then(|(r1, r2)| calc_pmtimer_ref(r1, r2)) {
            ref_min = Some(ref_min.map_or(khz, |m| m.min(khz)));
        }
        let Some(w) = window else { continue };
        if w.error < w.cycles >> CAL_ERROR_SHIFT {
            let pit_khz = w.khz();
            let Some(ref_khz) = ref_min else {
                if has_pmtimer {
                    log::warn!("tsc: PMTIMER calibration failed. Using PIT calibration.");
                }
                return Some((pit_khz, Method::Pit { fast: false }));
            };
            if (90..=110).contains(&(pit_khz * 100 / ref_khz)) {
                log::info!("tsc: PIT calibration matches PMTIMER. {i} loops");
                return Some((ref_khz, Method::PmTimer));
            }
            log::warn!("tsc: PIT calibration deviates from PMTIMER: {pit_khz} {ref_khz}");
            return Some((pit_khz, Method::Pit { fast: false }));
        }
        if best.as_ref().is_none_or(|b| w.error < b.error) {
            best = Some(w);
        }
    }
    if let Some(ref_khz) = ref_min {
        log::info!("tsc: using PMTIMER reference calibration");
        return Some((ref_khz, Method::PmTimer));
    }
    best.map(|w| (w.khz(), Method::Pit { fast: false }))
}

/// A TSC reading taken right after a read of the PM timer, with the
/// timer's count: up to five tries for a pair read within `SMI_TRESHOLD`
/// cycles, so that the TSC stands for the moment of the count. `None`
/// without a PM timer or when every try was held up.
///
/// Linux: tsc_read_refs() in arch/x86/kernel/tsc.c
fn tsc_read_refs() -> Option<(u64, u32)> {
    for _ in 0..MAX_RETRIES {
        let t1 = super::rdtsc();
        let count = acpi_pm_read_early()?;
        let t2 = super::rdtsc();
        if t2 - t1 < SMI_TRESHOLD {
            return Some((t2, count));
        }
    }
    None
}

/// The TSC frequency in kHz from two (TSC, PM timer count) pairs: the TSC
/// cycles between them over the time the 24-bit count says passed (it
/// wraps after 4.7 s, so once at most in a window). `None` when no count
/// passed.
///
/// Linux: calc_pmtimer_ref() in arch/x86/kernel/tsc.c
fn calc_pmtimer_ref((tsc1, pm1): (u64, u32), (tsc2, pm2): (u64, u32)) -> Option<u64> {
    let mut counts = u64::from(pm2);
    if pm2 < pm1 {
        counts += ACPI_PM_OVRRUN;
    }
    counts -= u64::from(pm1);
    if counts == 0 {
        return None;
    }
    let cycles = tsc2.checked_sub(tsc1)?;
    let khz = u128::from(cycles) * u128::from(PMTMR_TICKS_PER_SEC) / (u128::from(counts) * 1000);
    Some(khz as u64)
}

/// The quick method: PIT channel 2 counts down from 0xffff in mode 0; the
/// TSC is sampled when the count's high byte first changes, then at each
/// later change, until the cycles between the first sample and the latest
/// are known to 1/2048 (the sum of the two samples' error bounds), which
/// takes a few milliseconds on a quiet machine. `None` when a sample's
/// error is so large that 50 ms would not do, or after 50 ms.
///
/// Linux: quick_pit_calibrate() in arch/x86/kernel/tsc.c
fn quick_pit_calibrate() -> Option<u64> {
    let mut pit = Pit::new();
    pit.start_channel2(0xffff);
    // The count starts at the PIT's next clock edge, under a microsecond
    // later; one read of the counter waits that long.
    pit.verify_msb(0);
    let (start, d1) = pit.expect_msb(0xff)?;
    for i in 1..=MAX_QUICK_PIT_ITERATIONS {
        let (end, d2) = pit.expect_msb(0xff - i as u8)?;
        let delta = end - start;
        // After the first change, the error already tells whether even the
        // longest attempt could get under 500 ppm.
        if i == 1 && d1 + d2 >= (delta * MAX_QUICK_PIT_ITERATIONS) >> CAL_ERROR_SHIFT {
            return None;
        }
        if d1 + d2 >= delta >> CAL_ERROR_SHIFT {
            continue;
        }
        // One more read that still sees the count's next high byte: the
        // last sample's reads were not delayed past it.
        if !pit.verify_msb(0xfe - i as u8) {
            return None;
        }
        return Some(delta * PIT_FREQUENCY / (i * 256 * 1000));
    }
    None
}

/// The TSC frequency the CPU states: crystal clock × numerator / denominator
/// from leaf 0x15, the crystal from leaf 0x16's base frequency where leaf
/// 0x15 leaves it zero.
///
/// Linux: native_calibrate_tsc() in arch/x86/kernel/tsc.c
/// Differs: no table of crystal frequencies per Intel model.
fn native_calibrate_tsc() -> Option<u64> {
    let cpuid = CpuId::new();
    let info = cpuid.get_tsc_info()?;
    let (denominator, numerator) = (info.denominator() as u64, info.numerator() as u64);
    if denominator == 0 || numerator == 0 {
        return None;
    }
    let mut crystal_khz = info.nominal_frequency() as u64 / 1000;
    if crystal_khz == 0 {
        let base_mhz = cpuid
            .get_processor_frequency_info()?
            .processor_base_frequency() as u64;
        crystal_khz = base_mhz * 1000 * denominator / numerator;
    }
    let khz = crystal_khz * numerator / denominator;
    (khz > 0).then_some(khz)
}

/// One window: starts PIT channel 2 counting `latch` ticks down in mode 0
/// and counts TSC cycles until its output goes high. The count started
/// during the write that starts it, and ended between the last read that
/// saw it running and the read that saw it end: the TSC read around them
/// bound the window's error (an SMI or the host preempting this virtual
/// CPU there widens it). A window polled fewer than `loopmin` times is
/// rejected.
///
/// Linux: pit_calibrate_tsc() in arch/x86/kernel/tsc.c
/// Differs: Linux rejects a window when any poll took ten times the
/// shortest; here only the polls bounding the window count, and as an
/// error bound (Linux's quick_pit_calibrate keeps one too), so a
/// preemption in the middle (frequent on a loaded host) is harmless.
fn pit_calibrate_tsc(latch: u64, loopmin: u64) -> Option<Window> {
    let mut speaker = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: port 0x61 bit 0 gates PIT channel 2 and bit 1 drives the
    // speaker (kept off); channel 2 is used by nothing else in this kernel.
    unsafe {
        let gate = speaker.read();
        speaker.write((gate & !0x02) | 0x01);
        // Channel 2, low byte then high byte, mode 0 (interrupt on terminal count).
        command.write(0xb0);
        channel2.write(latch as u8);
    }
    // Read before the write that starts the count, so a delay here can
    // only lengthen the window, never shorten it.
    let start = super::rdtsc();
    // SAFETY: the high byte starts channel 2 counting.
    unsafe { channel2.write((latch >> 8) as u8) };
    let started = super::rdtsc();
    // `last` is read after each poll that saw the count running, `before`
    // before it.
    let (mut before, mut last, mut polls) = (started, started, 0u64);
    // SAFETY: reading port 0x61 only reports the gate and channel 2's output.
    while unsafe { speaker.read() } & 0x20 == 0 {
        before = last;
        last = super::rdtsc();
        polls += 1;
    }
    let now = super::rdtsc();
    (polls >= loopmin).then(|| Window {
        cycles: now - start,
        error: (started - start) + (now - before),
    })
}

/// PIT channel 2 and its gate, for the quick method.
struct Pit {
    speaker: Port<u8>,
    command: Port<u8>,
    channel2: Port<u8>,
}

impl Pit {
    fn new() -> Self {
        Self {
            speaker: Port::new(0x61),
            command: Port::new(0x43),
            channel2: Port::new(0x42),
        }
    }

    /// Opens the gate (speaker off) and starts channel 2 counting down from
    /// `latch` in mode 0 (whose count goes down by one per clock, where
    /// mode 2's goes by two).
    fn start_channel2(&mut self, latch: u16) {
        // SAFETY: port 0x61 bit 0 gates PIT channel 2 and bit 1 drives the
        // speaker (kept off); channel 2 is used by nothing else in this
        // kernel, and the calibration runs with interrupts off.
        unsafe {
            let gate = self.speaker.read();
            self.speaker.write((gate & !0x02) | 0x01);
            self.command.write(0xb0);
            self.channel2.write(latch as u8);
            self.channel2.write((latch >> 8) as u8);
        }
    }

    /// Whether the count's high byte is `msb` (the low byte is read first,
    /// and ignored).
    ///
    /// Linux: pit_verify_msb() in arch/x86/kernel/tsc.c
    fn verify_msb(&mut self, msb: u8) -> bool {
        // SAFETY: reading channel 2 (set to low byte then high byte) only
        // returns its count.
        unsafe {
            self.channel2.read();
            self.channel2.read() == msb
        }
    }

    /// Waits while the high byte is `msb`; returns the TSC read after the
    /// last read that still saw it, and the error of that sample: the
    /// change happened between the TSC read before that last read and the
    /// one after the read that saw the change. `None` when the loop saw the
    /// byte too few times to trust (it had already changed).
    ///
    /// Linux: pit_expect_msb() in arch/x86/kernel/tsc.c
    fn expect_msb(&mut self, msb: u8) -> Option<(u64, u64)> {
        let (mut tsc, mut prev_tsc, mut count) = (0, 0, 0);
        while count < 50_000 && self.verify_msb(msb) {
            prev_tsc = tsc;
            tsc = super::rdtsc();
            count += 1;
        }
        let error = super::rdtsc() - prev_tsc;
        (count > 5).then_some((tsc, error))
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    /// The TSC frequency the PM timer gives over `ms` milliseconds of
    /// busy waiting, the boot's clock deciding when they are up.
    fn pmtimer_khz_over(ms: u64) -> Option<u64> {
        let ref1 = tsc_read_refs()?;
        let end = crate::arch::time::ktime_get_ns() + ms * 1_000_000;
        while crate::arch::time::ktime_get_ns() < end {
            core::hint::spin_loop();
        }
        calc_pmtimer_ref(ref1, tsc_read_refs()?)
    }

    ktest! {
        fn a_pm_timer_count_that_wrapped_still_measures_the_time_between() {
            // 0x100 counts before the wrap and 0x100 after: 512 counts,
            // 143 µs at 3.579545 MHz: 350,000 cycles in them are 2,447 MHz.
            let khz = calc_pmtimer_ref((1_000, 0xff_ff00), (351_000, 0x100));
            kassert_eq!(khz, Some(2_446_954));
            kassert_eq!(calc_pmtimer_ref((1_000, 5), (2_000, 5)), None);
        }
    }

    ktest! {
        fn the_boot_s_tsc_frequency_is_the_pm_timer_s_within_1_percent() {
            let khz = pmtimer_khz_over(50).ok_or("no PM timer in the FADT, or every read held up")?;
            let boot = crate::arch::time::tsc_khz();
            kassert!(boot.abs_diff(khz) * 100 < khz, "boot {boot} kHz, PM timer {khz} kHz");
        }
    }

    ktest! {
        fn the_slow_method_agrees_with_the_pm_timer_within_1_percent() {
            let (slow, _) = crate::arch::without_interrupts(pit_hpet_ptimer_calibrate_cpu)
                .ok_or("the slow method found no frequency")?;
            let khz = pmtimer_khz_over(50).ok_or("no PM timer in the FADT, or every read held up")?;
            kassert!(slow.abs_diff(khz) * 100 < khz, "slow {slow} kHz, PM timer {khz} kHz");
        }
    }
}
