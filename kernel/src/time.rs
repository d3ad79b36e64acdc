//! Clocks and sleeping.
//!
//! Linux: kernel/time/posix-timers.c (clock_gettime), kernel/time/time.c
//! (gettimeofday, time), kernel/time/hrtimer.c (nanosleep)
//! The realtime clock's offset lives in timekeeping.rs, CPU time in
//! posix_cpu_timers.rs and rusage.rs.

pub mod hrtimer;
pub mod itimer;
pub mod posix_timers;
pub mod tick_sched;

use crate::arch::time::ktime_get_ns;
use crate::errno::Errno;
use crate::mm::uaccess::{get_user, put_user};
use crate::posix_cpu_timers;
use crate::syscall::SysResult;
use crate::task::{TASK_INTERRUPTIBLE, TASK_RUNNING, current};
use core::sync::atomic::Ordering;

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
const CLOCK_THREAD_CPUTIME_ID: u32 = 3;
const CLOCK_MONOTONIC_RAW: u32 = 4;
const CLOCK_REALTIME_COARSE: u32 = 5;
const CLOCK_MONOTONIC_COARSE: u32 = 6;
const CLOCK_BOOTTIME: u32 = 7;
/// International Atomic Time: CLOCK_REALTIME plus the TAI offset, which
/// stays 0 here as on a Linux that adjtimex never told of leap seconds.
pub(crate) const CLOCK_TAI: u32 = 11;
const TIMER_ABSTIME: u32 = 1;

fn clock_ns(clock: u32) -> Result<u64, Errno> {
    match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI => {
            Ok(crate::timekeeping::ktime_get_real_ns())
        }
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(ktime_get_ns())
        }
        _ => posix_cpu_timers::posix_cpu_clock_get(cpu_clock(clock)?),
    }
}

/// The CPU clock that `clock` names: CLOCK_PROCESS_CPUTIME_ID and
/// CLOCK_THREAD_CPUTIME_ID, or a negative clockid that encodes a pid
/// (clock_getcpuclockid(3)); EINVAL for any other clock.
///
/// Linux: clockid_to_kclock() in kernel/time/posix-timers.c
fn cpu_clock(clock: u32) -> Result<i32, Errno> {
    match clock {
        CLOCK_PROCESS_CPUTIME_ID => Ok(posix_cpu_timers::PROCESS_CLOCK),
        CLOCK_THREAD_CPUTIME_ID => Ok(posix_cpu_timers::THREAD_CLOCK),
        c if (c as i32) < 0 => Ok(c as i32),
        _ => Err(Errno::EINVAL),
    }
}

/// Linux: SYSCALL_DEFINE2(clock_gettime)
pub fn sys_clock_gettime(clock: u32, tp: u64) -> SysResult {
    let ns = clock_ns(clock)?;
    put_user(tp, [ns / 1_000_000_000, ns % 1_000_000_000])?;
    Ok(0)
}

/// The resolution of each clock: 1 ns for those read from the TSC and for
/// the CPU run time, a tick for the coarse ones and the tick-sampled CPU
/// clocks.
///
/// Linux: SYSCALL_DEFINE2(clock_getres) in kernel/time/posix-timers.c
pub fn sys_clock_getres(clock: u32, tp: u64) -> SysResult {
    use crate::sched::cputime::TICK_NSEC;
    let res = match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_BOOTTIME | CLOCK_TAI => 1,
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => TICK_NSEC,
        _ => posix_cpu_timers::posix_cpu_clock_getres(cpu_clock(clock)?)?,
    };
    if tp != 0 {
        put_user(tp, [0u64, res])?;
    }
    Ok(0)
}

/// Sets CLOCK_REALTIME; every other clock is EINVAL, as on Linux.
/// Differs: no CAP_SYS_TIME check, since every task is root.
///
/// Linux: SYSCALL_DEFINE2(clock_settime) in kernel/time/posix-timers.c
pub fn sys_clock_settime(clock: u32, tp: u64) -> SysResult {
    let ns = read_timespec(tp)?;
    if clock != CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    crate::timekeeping::do_settimeofday64(ns)?;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE2(gettimeofday)
pub fn sys_gettimeofday(tv: u64) -> SysResult {
    if tv != 0 {
        let ns = clock_ns(CLOCK_REALTIME)?;
        put_user(tv, [ns / 1_000_000_000, ns % 1_000_000_000 / 1000])?;
    }
    Ok(0)
}

/// Linux: SYSCALL_DEFINE1(time)
pub fn sys_time(tloc: u64) -> SysResult {
    let secs = clock_ns(CLOCK_REALTIME)? / 1_000_000_000;
    if tloc != 0 {
        put_user(tloc, secs)?;
    }
    Ok(secs)
}

/// Sleeps until `deadline_ns` on the monotonic clock, waking on a signal:
/// one timer wakes the sleeper at its deadline.
fn sleep_until(deadline_ns: u64) -> Result<(), Errno> {
    hrtimer::do_nanosleep(deadline_ns, TASK_INTERRUPTIBLE)
}

/// Sleeps until `timeout_ns` has passed or something wakes the task first
/// (wake_up_process, kthread_stop, a signal). Returns the time left: 0 when
/// the sleep timed out.
///
/// Linux: schedule_timeout_interruptible() in kernel/time/sleep_timeout.c
/// Differs: the timer is an hrtimer (Linux puts schedule_timeout's on the
/// timer wheel), expired from the tick.
pub fn schedule_timeout_interruptible(timeout_ns: u64) -> u64 {
    schedule_timeout_state(timeout_ns, TASK_INTERRUPTIBLE)
}

/// Sleeps until `timeout_ns` has passed or SIGKILL arrives; returns the
/// time left.
///
/// Linux: schedule_timeout_killable() in kernel/time/sleep_timeout.c
pub fn schedule_timeout_killable(timeout_ns: u64) -> u64 {
    schedule_timeout_state(timeout_ns, crate::task::TASK_KILLABLE)
}

/// Sleeps in `state` with one timer to wake the task at the deadline.
///
/// Linux: schedule_timeout() with __set_current_state(state) before it
fn schedule_timeout_state(timeout_ns: u64, state: u32) -> u64 {
    crate::sched::might_sleep::might_sleep();
    let deadline = ktime_get_ns().saturating_add(timeout_ns);
    let me = current();
    let sleeper = hrtimer::HrtimerSleeper::new(me.clone());
    me.state.store(state, Ordering::Release);
    sleeper.start_expires(deadline);
    crate::sched::core::schedule();
    me.state.store(TASK_RUNNING, Ordering::Release);
    drop(sleeper);
    deadline.saturating_sub(ktime_get_ns())
}

/// Sleeps uninterruptibly for `ms` milliseconds.
///
/// Linux: msleep() in kernel/time/sleep_timeout.c
pub fn msleep(ms: u64) {
    let deadline = ktime_get_ns().saturating_add(ms.saturating_mul(1_000_000));
    let _ = hrtimer::do_nanosleep(deadline, crate::task::TASK_UNINTERRUPTIBLE);
}

/// Sleeps for `ms` milliseconds unless a signal comes first; returns the
/// milliseconds left.
///
/// Linux: msleep_interruptible() in kernel/time/sleep_timeout.c
pub fn msleep_interruptible(ms: u64) -> u64 {
    let deadline = ktime_get_ns().saturating_add(ms.saturating_mul(1_000_000));
    let _ = hrtimer::do_nanosleep(deadline, TASK_INTERRUPTIBLE);
    deadline.saturating_sub(ktime_get_ns()).div_ceil(1_000_000)
}

/// Converts an absolute time on CLOCK_REALTIME (or CLOCK_MONOTONIC) to the
/// monotonic clock.
pub fn to_monotonic(realtime: bool, abs_ns: u64) -> u64 {
    if realtime {
        abs_ns.saturating_sub(crate::timekeeping::offs_real())
    } else {
        abs_ns
    }
}

fn read_timespec(addr: u64) -> Result<u64, Errno> {
    let [sec, nsec]: [u64; 2] = get_user(addr)?;
    if nsec >= 1_000_000_000 || (sec as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(sec.saturating_mul(1_000_000_000).saturating_add(nsec))
}

/// Sleeps to the monotonic `expires_ns`. Interrupted by a signal, a
/// relative sleep writes the time left to `rmtp` (when not 0) and asks to be
/// continued through restart_syscall(2); an absolute one just runs again.
///
/// Linux: hrtimer_nanosleep() in kernel/time/hrtimer.c
fn hrtimer_nanosleep(expires_ns: u64, rmtp: u64, abs: bool) -> SysResult {
    if sleep_until(expires_ns).is_ok() {
        return Ok(0);
    }
    if abs {
        return Err(Errno::ERESTARTNOHAND);
    }
    if rmtp != 0 {
        let left = expires_ns.saturating_sub(ktime_get_ns());
        put_user(rmtp, [left / 1_000_000_000, left % 1_000_000_000])?;
    }
    Err(crate::restart_block::set_restart_fn(
        crate::restart_block::RestartBlock::Nanosleep { expires_ns, rmtp },
    ))
}

/// Continues a relative sleep that a signal without a handler interrupted,
/// to the same expiry.
///
/// Linux: hrtimer_nanosleep_restart() in kernel/time/hrtimer.c
pub fn hrtimer_nanosleep_restart(expires_ns: u64, rmtp: u64) -> SysResult {
    hrtimer_nanosleep(expires_ns, rmtp, false)
}

/// Linux: SYSCALL_DEFINE2(nanosleep)
pub fn sys_nanosleep(rqtp: u64, rmtp: u64) -> SysResult {
    let ns = read_timespec(rqtp)?;
    hrtimer_nanosleep(ktime_get_ns().saturating_add(ns), rmtp, false)
}

/// Linux: SYSCALL_DEFINE4(clock_nanosleep)
///
/// # Errors
/// `EINVAL` for an unknown clock or a bad time, `EOPNOTSUPP` for a clock
/// that cannot sleep: CLOCK_THREAD_CPUTIME_ID (the caller would never run
/// again to reach it; libc turns that into EINVAL), the raw and coarse
/// clocks (Linux's k_clocks for them have no nsleep) and clock-fd ids,
/// `EFAULT` for bad pointers.
pub fn sys_clock_nanosleep(clock: u32, flags: u32, rqtp: u64, rmtp: u64) -> SysResult {
    let cannot_sleep = matches!(
        clock,
        CLOCK_THREAD_CPUTIME_ID
            | CLOCK_MONOTONIC_RAW
            | CLOCK_REALTIME_COARSE
            | CLOCK_MONOTONIC_COARSE
    );
    if cannot_sleep || posix_cpu_timers::is_clockfd(clock as i32) {
        return Err(Errno::EOPNOTSUPP);
    }
    if clock == CLOCK_PROCESS_CPUTIME_ID || (clock as i32) < 0 {
        let ns = read_timespec(rqtp)?;
        let rmtp = if flags & TIMER_ABSTIME != 0 { 0 } else { rmtp };
        return posix_cpu_timers::posix_cpu_nsleep(
            cpu_clock(clock)?,
            flags & TIMER_ABSTIME != 0,
            ns,
            rmtp,
        );
    }
    let now = clock_ns(clock)?;
    let ns = read_timespec(rqtp)?;
    if flags & TIMER_ABSTIME != 0 {
        let mono_deadline = ktime_get_ns().saturating_add(ns.saturating_sub(now));
        hrtimer_nanosleep(mono_deadline, 0, true)
    } else {
        sys_nanosleep(rqtp, rmtp)
    }
}
