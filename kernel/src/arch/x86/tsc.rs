//! TSC calibration that late timer interrupts cannot fool: CPUID leaf 0x15
//! where the CPU states the frequency, else PIT channel 2 polled with
//! interrupts off, one 10 ms window after another until a window's own
//! error bound (the polls around its start and end) is below 500 ppm.
//!
//! Linux: arch/x86/kernel/tsc.c

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

/// How the frequency was found, for the boot log.
pub enum Method {
    /// CPUID leaf 0x15 (with 0x16 for the crystal where 0x15 leaves it out).
    Cpuid,
    /// PIT channel 2 polled over windows of `CAL_MS`: `fast` when one
    /// window's error bound was under 500 ppm, as Linux's quick method's.
    Pit {
        /// A trusted window ended the calibration early.
        fast: bool,
    },
}

/// One calibration window: the TSC cycles from just before PIT channel 2
/// started counting to just after its end was seen, and how many of them
/// are uncertainty (the true start and end lie somewhere inside it).
struct Window {
    cycles: u64,
    error: u64,
}

/// The TSC frequency in kHz and how it was found; `None` when no method
/// gave a plausible answer.
///
/// Linux: native_calibrate_tsc(), then quick_pit_calibrate() and
/// pit_calibrate_tsc() as tsc_init() tries them
/// Differs: one loop instead of Linux's two methods: a 10 ms window of the
/// slow method, trusted as soon as its error bound is as small as the quick
/// method asks of its own, else up to 20 windows.
pub fn calibrate_tsc() -> Option<(u64, Method)> {
    if let Some(khz) = native_calibrate_tsc() {
        return Some((khz, Method::Cpuid));
    }
    // Interrupts off: a timer interrupt inside a window only lengthens it;
    // at its edges it widens the error bound, and the window is not trusted.
    let best = super::without_interrupts(|| {
        let mut best: Option<Window> = None;
        for _ in 0..CAL_WINDOWS {
            let Some(w) = pit_calibrate_tsc(CAL_LATCH, CAL_PIT_LOOPS) else {
                continue;
            };
            let trusted = w.error < w.cycles >> CAL_ERROR_SHIFT;
            if trusted || best.as_ref().is_none_or(|b| w.error < b.error) {
                best = Some(w);
            }
            if trusted {
                return Some((best?, true));
            }
        }
        Some((best?, false))
    });
    let (best, fast) = best?;
    // The middle of the window's uncertainty, in cycles per millisecond.
    Some((
        (best.cycles - best.error / 2) / CAL_MS,
        Method::Pit { fast },
    ))
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
