//! clock_nanosleep() on a CPU clock: sleep until a thread or a process has
//! used so much CPU time. The sleeper notes its expiry on the clock's
//! target; the tick, which charges the target whenever one of its threads
//! runs, wakes the sleepers once the earliest expiry has passed.
//!
//! Linux: posix_cpu_nsleep(), do_cpu_nanosleep() and
//! posix_cpu_nsleep_restart() in kernel/time/posix-cpu-timers.c
//! Differs: the sleeper waits on its target's wait queue with its expiry in
//! `nextevt`, where Linux arms a k_itimer CPU timer that wakes it.

use super::{
    CPUCLOCK_MAX, cpu_clock_sample, cpu_clock_sample_group, cpuclock_perthread, cpuclock_pid,
    cpuclock_which, pid_for_clock,
};
use crate::errno::Errno;
use crate::mm::uaccess::put_user;
use crate::restart_block::{RestartBlock, set_restart_fn};
use crate::sched::wait::WaitQueueHead;
use crate::syscall::SysResult;
use crate::task::{TASK_INTERRUPTIBLE, TaskStruct, current};
use core::sync::atomic::{AtomicU64, Ordering};

/// clock_nanosleep() callers waiting on one thread's or one process's CPU
/// clocks (Linux: struct posix_cputimers, for the sleepers' timers).
#[derive(Default)]
pub struct CpuNsleepers {
    /// The earliest expiry on each clock (PROF, VIRT, SCHED), in ns; 0 =
    /// none (Linux: posix_cputimer_base.nextevt, U64_MAX for none).
    nextevt: [AtomicU64; CPUCLOCK_MAX as usize],
    /// Where the sleepers wait.
    wait: WaitQueueHead,
}

impl CpuNsleepers {
    /// Lowers clock `clkid`'s earliest expiry to `expires` if later or unset.
    fn arm(&self, clkid: u32, expires: u64) {
        let slot = &self.nextevt[clkid as usize];
        let mut cur = slot.load(Ordering::Relaxed);
        while cur == 0 || cur > expires {
            match slot.compare_exchange(cur, expires, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
    }

    /// From the tick: `samples` are the target's PROF, VIRT and SCHED times;
    /// if one has reached its clock's earliest expiry, wakes every sleeper
    /// (those not done yet note their expiry again).
    ///
    /// Linux: check_thread_timers() / check_process_timers() with
    /// collect_posix_cputimers() in kernel/time/posix-cpu-timers.c
    pub fn check_timers(&self, samples: [u64; CPUCLOCK_MAX as usize]) {
        let mut fired = false;
        for (slot, now) in self.nextevt.iter().zip(samples) {
            let e = slot.load(Ordering::Relaxed);
            if e != 0
                && now >= e
                && slot
                    .compare_exchange(e, 0, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                fired = true;
            }
        }
        if fired {
            self.wait.wake_up_mode(TASK_INTERRUPTIBLE);
        }
    }
}

/// A thread is released: whoever sleeps on its clock, or on its process's,
/// wakes to see whether the clock is gone.
///
/// Linux: posix_cpu_timers_exit() and posix_cpu_timers_exit_group() in
/// kernel/time/posix-cpu-timers.c, from __exit_signal()
pub fn posix_cpu_timers_exit(p: &TaskStruct) {
    p.cpu_nsleepers.wait.wake_up_mode(TASK_INTERRUPTIBLE);
    p.signal()
        .cputimer
        .nsleepers
        .wait
        .wake_up_mode(TASK_INTERRUPTIBLE);
}

/// Whether the clock's target has exited: the thread, or every thread of
/// the process. Its clock then stops, and a sleep on it ends.
fn clock_target_gone(clock: i32, p: &TaskStruct) -> bool {
    if cpuclock_perthread(clock) {
        return p.exit_state() != 0;
    }
    let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
    crate::tasklist::for_each_thread(p, &tasklist).all(|t| t.exit_state() != 0)
}

/// `clock`'s time on target `p`, in ns.
fn sample(clock: i32, p: &TaskStruct) -> u64 {
    if cpuclock_perthread(clock) {
        cpu_clock_sample(cpuclock_which(clock), p)
    } else {
        cpu_clock_sample_group(cpuclock_which(clock), p)
    }
}

/// Sleeps until `p`'s `clock` reaches `expires`. `Err(time left)` when a
/// signal came first.
///
/// Linux: do_cpu_nanosleep() in kernel/time/posix-cpu-timers.c
fn do_cpu_nanosleep(clock: i32, p: &TaskStruct, expires: u64) -> Result<(), u64> {
    let base = if cpuclock_perthread(clock) {
        &p.cpu_nsleepers
    } else {
        &p.signal().cputimer.nsleepers
    };
    let me = current();
    loop {
        base.wait.prepare_to_wait(TASK_INTERRUPTIBLE);
        base.arm(cpuclock_which(clock), expires);
        let now = sample(clock, p);
        if now >= expires || clock_target_gone(clock, p) {
            base.wait.finish_wait();
            return Ok(());
        }
        if crate::signal::signal_pending(&me) {
            base.wait.finish_wait();
            return Err(expires - now);
        }
        crate::sched::core::schedule();
    }
}

/// Sleeps to `expires` on `clock`; interrupted, writes the time left to
/// `rmtp` (when not 0) and asks to be continued by restart_syscall(2).
fn cpu_nanosleep_restartable(clock: i32, p: &TaskStruct, expires: u64, rmtp: u64) -> SysResult {
    let Err(left) = do_cpu_nanosleep(clock, p, expires) else {
        return Ok(0);
    };
    if rmtp != 0 {
        put_user(rmtp, [left / 1_000_000_000, left % 1_000_000_000])?;
    }
    Err(set_restart_fn(RestartBlock::CpuNanosleep {
        clockid: clock,
        expires_ns: expires,
        rmtp,
    }))
}

/// clock_nanosleep() on a CPU clock, `ns` from now or (`abs`) until the
/// clock reads `ns`. A relative sleep interrupted by a signal writes the
/// time left to `rmtp` and is continued by restart_syscall(2) when no
/// handler runs; an absolute one just runs again.
///
/// Linux: posix_cpu_nsleep() in kernel/time/posix-cpu-timers.c
///
/// # Errors
/// `EINVAL` for the calling thread's own clock (it would never run) and for
/// a clock posix_cpu_clock_get() rejects; `EFAULT` for a bad `rmtp`.
pub fn posix_cpu_nsleep(clock: i32, abs: bool, ns: u64, rmtp: u64) -> SysResult {
    if cpuclock_perthread(clock)
        && (cpuclock_pid(clock) == 0 || cpuclock_pid(clock) == current().pid())
    {
        return Err(Errno::EINVAL);
    }
    let p = pid_for_clock(clock, false).ok_or(Errno::EINVAL)?;
    if abs {
        return match do_cpu_nanosleep(clock, &p, ns) {
            Ok(()) => Ok(0),
            Err(_) => Err(Errno::ERESTARTNOHAND),
        };
    }
    let expires = sample(clock, &p).saturating_add(ns);
    cpu_nanosleep_restartable(clock, &p, expires, rmtp)
}

/// Continues an interrupted relative sleep on a CPU clock to the same expiry.
///
/// Linux: posix_cpu_nsleep_restart() in kernel/time/posix-cpu-timers.c
///
/// # Errors
/// `EINVAL` if the clock's target is gone from the pid table.
pub fn posix_cpu_nsleep_restart(clock: i32, expires: u64, rmtp: u64) -> SysResult {
    let p = pid_for_clock(clock, false).ok_or(Errno::EINVAL)?;
    cpu_nanosleep_restartable(clock, &p, expires, rmtp)
}
