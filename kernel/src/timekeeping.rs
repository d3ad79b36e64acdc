//! The realtime clock: the monotonic clock plus the offset set at boot from
//! the CMOS RTC and moved by clock_settime().
//!
//! Linux: kernel/time/timekeeping.c (timekeeping_init, ktime_get_real,
//! do_settimeofday64, tk->offs_real)

use crate::arch::time::ktime_get_ns;
use crate::errno::Errno;
use core::sync::atomic::{AtomicU64, Ordering};

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Realtime minus monotonic time, in ns (Linux: tk->offs_real, negated
/// wall_to_monotonic). Written by boot and clock_settime, read everywhere.
static OFFS_REAL: AtomicU64 = AtomicU64::new(0);

/// Starts the realtime clock at the RTC's time.
///
/// Linux: timekeeping_init() in kernel/time/timekeeping.c, which calls
/// read_persistent_clock64()
pub fn timekeeping_init() {
    let secs = crate::arch::kernel::rtc::mach_get_cmos_time();
    let now = secs.saturating_mul(NSEC_PER_SEC);
    OFFS_REAL.store(now.saturating_sub(ktime_get_ns()), Ordering::Relaxed);
    log::info!("clocksource: realtime from the CMOS RTC: {secs} s since the epoch");
}

/// The offset of the realtime clock from the monotonic one, in ns.
pub fn offs_real() -> u64 {
    OFFS_REAL.load(Ordering::Relaxed)
}

/// Time since the epoch in ns (Linux: ktime_get_real()).
pub fn ktime_get_real_ns() -> u64 {
    ktime_get_ns() + offs_real()
}

/// When the machine booted, in seconds since the epoch (/proc/stat btime).
pub fn boot_time_secs() -> u64 {
    offs_real() / NSEC_PER_SEC
}

/// Sets the realtime clock to `ns` since the epoch; EINVAL for a time
/// before the machine booted, which would make the boot time negative.
///
/// Linux: do_settimeofday64() in kernel/time/timekeeping.c
pub fn do_settimeofday64(ns: u64) -> Result<(), Errno> {
    let mono = ktime_get_ns();
    if ns < mono {
        return Err(Errno::EINVAL);
    }
    OFFS_REAL.store(ns - mono, Ordering::Relaxed);
    // Linux: clock_was_set(), whose last step this is.
    crate::fs::timerfd::timerfd_clock_was_set();
    Ok(())
}
