//! TSC calibration that late timer interrupts cannot fool: CPUID leaf 0x15
//! where the CPU states the frequency, else PIT channel 2 polled with
//! interrupts off over several windows, keeping the smallest answer.
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
/// Windows measured (200 ms in all); the smallest answer is kept.
const CAL_WINDOWS: usize = 20;

/// How the frequency was found, for the boot log.
pub enum Method {
    /// CPUID leaf 0x15 (with 0x16 for the crystal where 0x15 leaves it out).
    Cpuid,
    /// PIT channel 2 polled over `CAL_WINDOWS` windows.
    Pit,
}

/// The TSC frequency in kHz and how it was found; `None` when no method
/// gave a plausible answer.
///
/// Linux: native_calibrate_tsc(), then pit_calibrate_tsc() as tsc_init()
/// tries them
pub fn calibrate_tsc() -> Option<(u64, Method)> {
    if let Some(khz) = native_calibrate_tsc() {
        return Some((khz, Method::Cpuid));
    }
    // Interrupts off: a timer interrupt inside a window only lengthens it,
    // and the minimum over windows discards such a window anyway.
    let khz = super::without_interrupts(|| {
        (0..CAL_WINDOWS)
            .filter_map(|_| pit_calibrate_tsc(CAL_LATCH, CAL_MS, CAL_PIT_LOOPS))
            .min()
    })?;
    Some((khz, Method::Pit))
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
/// and counts TSC cycles until its output goes high. The window's true
/// start and end each lie within one poll of what was measured; a window
/// whose first or last poll took long (an SMI, or the host preempting this
/// virtual CPU) is rejected, and so is one polled fewer than `loopmin` times.
///
/// Linux: pit_calibrate_tsc() in arch/x86/kernel/tsc.c
/// Differs: Linux rejects a window when any poll took ten times the
/// shortest; only the two polls bounding the window matter, so a preemption
/// in the middle (frequent on a loaded host) is kept.
fn pit_calibrate_tsc(latch: u64, ms: u64, loopmin: u64) -> Option<u64> {
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
    let (mut last, mut polls) = (start, 0u64);
    let (mut shortest, mut first) = (u64::MAX, 0u64);
    // SAFETY: reading port 0x61 only reports the gate and channel 2's output.
    while unsafe { speaker.read() } & 0x20 == 0 {
        let now = super::rdtsc();
        if polls == 0 {
            first = now - last;
        }
        shortest = shortest.min(now - last);
        last = now;
        polls += 1;
    }
    // The count ended between the last poll that saw it running and now.
    let now = super::rdtsc();
    let final_poll = now - last;
    let bounds_are_tight = first.max(final_poll) <= shortest.saturating_mul(10);
    (polls >= loopmin && bounds_are_tight).then(|| (now - start) / ms)
}
