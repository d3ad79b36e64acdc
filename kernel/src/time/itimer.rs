//! Interval timers: setitimer/getitimer and alarm(). Each process has one
//! real timer, an hrtimer in its signal_struct that sends SIGALRM when it
//! expires and, with an interval, starts itself again. A forked child
//! starts without one, execve keeps it, and the exit of the last thread
//! cancels it. ITIMER_VIRTUAL and ITIMER_PROF run on the process's CPU
//! time, checked from the tick in `posix_cpu_timers.rs`.
//!
//! Linux: kernel/time/itimer.c, exit_itimers() in kernel/time/posix-timers.c

use super::hrtimer::{HrTimer, HrtimerRestart, hrtimer_cancel, hrtimer_init, hrtimer_start};
use crate::arch::time::ktime_get_ns;
use crate::errno::Errno;
use crate::mm::uaccess::{get_user, put_user};
use crate::posix_cpu_timers::{
    ITIMER_PROF, ITIMER_VIRTUAL, get_process_cpu_timer, set_process_cpu_timer,
};
use crate::signal::SignalStruct;
use crate::syscall::SysResult;
use crate::task::current;
use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;

/// Real time: SIGALRM (Linux: ITIMER_REAL).
pub const ITIMER_REAL: u32 = 0;

const NSEC_PER_USEC: u64 = 1_000;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// An itimer's value and reload, in ns (Linux: struct itimerspec64).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Itimerspec {
    interval: u64,
    value: u64,
}

/// Reads a user `struct itimerval` (two timevals: interval, then value).
fn get_itimerval(addr: u64) -> Result<Itimerspec, Errno> {
    let [isec, iusec, vsec, vusec]: [i64; 4] = get_user(addr)?;
    let ns = |sec: i64, usec: i64| {
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok((sec as u64)
            .saturating_mul(NSEC_PER_SEC)
            .saturating_add(usec as u64 * NSEC_PER_USEC))
    };
    Ok(Itimerspec {
        interval: ns(isec, iusec)?,
        value: ns(vsec, vusec)?,
    })
}

/// Writes `it` as a user `struct itimerval`, rounding up to microseconds.
fn put_itimerval(addr: u64, it: Itimerspec) -> Result<(), Errno> {
    let tv = |ns: u64| {
        let us = ns.div_ceil(NSEC_PER_USEC);
        [us / 1_000_000, us % 1_000_000]
    };
    let [isec, iusec] = tv(it.interval);
    let [vsec, vusec] = tv(it.value);
    put_user(addr, [isec, iusec, vsec, vusec])
}

/// Linux: SYSCALL_DEFINE2(getitimer) in kernel/time/itimer.c
pub fn sys_getitimer(which: i32, value: u64) -> SysResult {
    let it = do_getitimer(which as u32)?;
    put_itimerval(value, it)?;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE3(setitimer) in kernel/time/itimer.c
/// Differs: a null `value` disarms the timer, as Linux has done since 5.12
/// only with a warning.
pub fn sys_setitimer(which: i32, value: u64, ovalue: u64) -> SysResult {
    let new = match value {
        0 => Itimerspec::default(),
        addr => get_itimerval(addr)?,
    };
    let old = do_setitimer(which as u32, new)?;
    if ovalue != 0 {
        put_itimerval(ovalue, old)?;
    }
    Ok(0)
}

/// Arms ITIMER_REAL to fire once in `seconds` (0 disarms it); returns the
/// seconds the previous alarm had left, rounded to the nearest, and at
/// least 1 if one was pending.
///
/// Linux: SYSCALL_DEFINE1(alarm) and alarm_setitimer() in kernel/time/itimer.c
pub fn sys_alarm(seconds: u32) -> SysResult {
    let new = Itimerspec {
        interval: 0,
        value: u64::from(seconds) * NSEC_PER_SEC,
    };
    let old = do_setitimer(ITIMER_REAL, new)?.value;
    let rounded = (old + NSEC_PER_SEC / 2) / NSEC_PER_SEC;
    Ok(if old > 0 { rounded.max(1) } else { 0 })
}

/// Linux: do_getitimer() in kernel/time/itimer.c
fn do_getitimer(which: u32) -> Result<Itimerspec, Errno> {
    match which {
        ITIMER_REAL => {}
        ITIMER_VIRTUAL | ITIMER_PROF => {
            let (value, interval) = get_process_cpu_timer(&current(), which);
            return Ok(Itimerspec { interval, value });
        }
        _ => return Err(Errno::EINVAL),
    }
    let sig = current().signal().clone();
    let timer = sig.real_timer.lock();
    Ok(itimer_get_remtime(&sig, timer.as_ref()))
}

/// The time left on the real timer and its interval; a timer due now but
/// not yet run reads as 1 us, so that it does not look disarmed.
///
/// Linux: itimer_get_remtime() in kernel/time/itimer.c
fn itimer_get_remtime(sig: &SignalStruct, timer: Option<&Arc<HrTimer>>) -> Itimerspec {
    let value = match timer {
        Some(t) if t.is_queued() => t
            .get_expires()
            .saturating_sub(ktime_get_ns())
            .max(NSEC_PER_USEC),
        _ => 0,
    };
    Itimerspec {
        interval: sig.it_real_incr.load(Ordering::Acquire),
        value,
    }
}

/// Sets the real timer to `new`; returns its old setting.
///
/// Linux: do_setitimer() in kernel/time/itimer.c
fn do_setitimer(which: u32, new: Itimerspec) -> Result<Itimerspec, Errno> {
    match which {
        ITIMER_REAL => {}
        ITIMER_VIRTUAL | ITIMER_PROF => {
            let (value, interval) =
                set_process_cpu_timer(&current(), which, new.value, new.interval);
            return Ok(Itimerspec { interval, value });
        }
        _ => return Err(Errno::EINVAL),
    }
    let tsk = current();
    let sig = tsk.signal().clone();
    let mut slot = sig.real_timer.lock();
    let old = itimer_get_remtime(&sig, slot.as_ref());
    if let Some(t) = slot.as_ref() {
        hrtimer_cancel(t);
    }
    sig.it_real_incr.store(new.interval, Ordering::Release);
    if new.value != 0 {
        let timer = slot.get_or_insert_with(|| {
            let tgid = tsk.tgid();
            let weak = Arc::downgrade(&sig);
            hrtimer_init(Box::new(move |t| it_real_fn(t, tgid, &weak)))
        });
        hrtimer_start(timer, ktime_get_ns().saturating_add(new.value));
    }
    Ok(old)
}

/// The real timer's function: SIGALRM to the process, then, for an
/// interval timer, the next expiry.
///
/// Linux: it_real_fn() in kernel/time/itimer.c (the restart is done by
/// the signal delivery path there; here the function restarts itself)
fn it_real_fn(
    timer: &HrTimer,
    tgid: crate::pid::PidNr,
    sig: &Weak<SignalStruct>,
) -> HrtimerRestart {
    let Some(sig) = sig.upgrade() else {
        return HrtimerRestart::NoRestart;
    };
    if let Some(leader) = crate::pid::find_task_by_pid_ns(tgid, crate::pid_namespace::init_pid_ns())
    {
        // The kernel sends it (SEND_SIG_PRIV): SI_KERNEL, no pid or uid.
        let info = crate::signal::KernelSiginfo {
            code: crate::signal::SI_KERNEL,
            ..Default::default()
        };
        let _ = crate::signal::do_send_sig_info(
            crate::signal::SIGALRM,
            info,
            &leader,
            crate::signal::PidType::Tgid,
        );
    }
    let interval = sig.it_real_incr.load(Ordering::Acquire);
    if interval == 0 {
        return HrtimerRestart::NoRestart;
    }
    timer.forward(ktime_get_ns(), interval);
    HrtimerRestart::Restart
}

/// Cancels the process's timers when its last thread exits.
///
/// Linux: exit_itimers() in kernel/time/posix-timers.c (with the real
/// timer's cancel from do_exit()'s group_dead branch)
pub fn exit_itimers(sig: &SignalStruct) {
    if let Some(t) = sig.real_timer.lock().take() {
        hrtimer_cancel(&t);
    }
}
