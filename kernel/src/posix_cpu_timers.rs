//! Timers that run on a process's CPU time: ITIMER_VIRTUAL (user time,
//! SIGVTALRM), ITIMER_PROF (user + system time, SIGPROF) and RLIMIT_CPU
//! (SIGXCPU at the soft limit and each second after, SIGKILL at the hard
//! limit). The tick charges each process's total and checks them.
//!
//! Linux: kernel/time/posix-cpu-timers.c (run_posix_cpu_timers,
//! check_process_timers, set_process_cpu_timer), kernel/time/itimer.c
//! (set_cpu_itimer, get_cpu_itimer)
//! timer_create()'s CPU-clock timers are in time/posix_timers/cpu.rs.

use crate::arch::sync::SpinLock;
use crate::resource::{RLIM_INFINITY, RLIMIT_CPU};
use crate::sched::cputime::TICK_NSEC;
use crate::signal::{KernelSiginfo, SI_KERNEL, SIGKILL, SIGPROF, SIGVTALRM, SIGXCPU};
use crate::task::TaskStruct;
use core::sync::atomic::{AtomicU64, Ordering};

/// User CPU time (Linux: ITIMER_VIRTUAL).
pub const ITIMER_VIRTUAL: u32 = 1;
/// User and system CPU time (Linux: ITIMER_PROF).
pub const ITIMER_PROF: u32 = 2;

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// One CPU itimer, in ns of the process's CPU time; 0 = disarmed
/// (Linux: struct cpu_itimer).
#[derive(Clone, Copy, Default)]
pub struct CpuItimer {
    /// The CPU time at which it fires (Linux: expires).
    pub expires: u64,
    /// Re-armed by this much after firing; 0 = one shot (Linux: incr).
    pub incr: u64,
}

/// A process's running CPU time and its itimers.
///
/// Linux: struct thread_group_cputimer (cputime_atomic) and signal->it[]
/// Differs: always counting, where Linux starts the sum when a timer is armed.
#[derive(Default)]
pub struct ThreadGroupCputimer {
    /// User time of all its threads, in ns.
    pub utime: AtomicU64,
    /// System time of all its threads, in ns.
    pub stime: AtomicU64,
    /// ITIMER_PROF and ITIMER_VIRTUAL, in that order (Linux: `it[CPUCLOCK_PROF]`,
    /// `it[CPUCLOCK_VIRT]`).
    it: SpinLock<[CpuItimer; 2]>,
}

/// Index of ITIMER_PROF and ITIMER_VIRTUAL in `it`.
fn it_index(which: u32) -> usize {
    usize::from(which == ITIMER_VIRTUAL)
}

/// Charges `ns` of `p`'s time to its process.
///
/// Linux: account_group_user_time() / account_group_system_time() in
/// kernel/sched/stats.h
pub fn account_group_time(p: &TaskStruct, ns: u64, user: bool) {
    if let Some(sig) = p.signal.get() {
        let counter = if user {
            &sig.cputimer.utime
        } else {
            &sig.cputimer.stime
        };
        counter.fetch_add(ns, Ordering::Relaxed);
    }
}

/// Sends a CPU-timer signal to the running task, on behalf of its process.
fn send_cpu_timer_signal(sig: i32) {
    if let Some(t) = crate::arch::percpu::current_task() {
        let info = KernelSiginfo {
            code: SI_KERNEL,
            ..Default::default()
        };
        crate::signal::send_sig_info(sig, info, &t);
    }
}

/// Checks the running task's process's itimers and CPU limit; from the tick,
/// after it was charged.
///
/// Linux: run_posix_cpu_timers() in kernel/time/posix-cpu-timers.c
pub fn run_posix_cpu_timers(p: &TaskStruct) {
    let Some(sig) = p.signal.get() else {
        return;
    };
    let utime = sig.cputimer.utime.load(Ordering::Relaxed);
    let prof = utime + sig.cputimer.stime.load(Ordering::Relaxed);
    check_process_timers(sig, prof, utime);
    crate::time::posix_timers::handle_posix_cpu_timers(p);
}

/// Fires expired itimers, then enforces RLIMIT_CPU on `prof` ns.
///
/// Linux: check_process_timers() and check_cpu_itimer() in
/// kernel/time/posix-cpu-timers.c
fn check_process_timers(sig: &crate::signal::SignalStruct, prof: u64, virt: u64) {
    for (which, now, signo) in [
        (ITIMER_PROF, prof, SIGPROF),
        (ITIMER_VIRTUAL, virt, SIGVTALRM),
    ] {
        let fired = {
            let mut it = sig.cputimer.it.lock();
            let t = &mut it[it_index(which)];
            let fired = t.expires != 0 && now >= t.expires;
            if fired {
                t.expires = if t.incr != 0 { t.expires + t.incr } else { 0 };
            }
            fired
        };
        if fired {
            send_cpu_timer_signal(signo);
        }
    }
    let mut rlim = sig.rlim.lock();
    let limit = &mut rlim.0[RLIMIT_CPU];
    let (soft, hard) = (limit.rlim_cur, limit.rlim_max);
    if hard != RLIM_INFINITY && prof >= hard.saturating_mul(NSEC_PER_SEC) {
        drop(rlim);
        send_cpu_timer_signal(SIGKILL);
    } else if soft != RLIM_INFINITY && prof >= soft.saturating_mul(NSEC_PER_SEC) {
        if soft < hard {
            limit.rlim_cur = soft + 1;
        }
        drop(rlim);
        send_cpu_timer_signal(SIGXCPU);
    }
}

/// The process's CPU time on `which`'s clock, in ns.
fn cpu_clock_sample(p: &TaskStruct, which: u32) -> u64 {
    let t = &p.signal().cputimer;
    let utime = t.utime.load(Ordering::Relaxed);
    if which == ITIMER_VIRTUAL {
        utime
    } else {
        utime + t.stime.load(Ordering::Relaxed)
    }
}

/// Arms (value != 0) or disarms ITIMER_VIRTUAL or ITIMER_PROF of `p`'s
/// process, `value` and `interval` in ns; returns the old (value, interval).
///
/// Linux: set_cpu_itimer() in kernel/time/itimer.c with set_process_cpu_timer()
pub fn set_process_cpu_timer(p: &TaskStruct, which: u32, value: u64, interval: u64) -> (u64, u64) {
    let now = cpu_clock_sample(p, which);
    let mut it = p.signal().cputimer.it.lock();
    let t = &mut it[it_index(which)];
    let old = (time_left(t.expires, now), t.incr);
    *t = CpuItimer {
        expires: if value != 0 { now + value } else { 0 },
        incr: interval,
    };
    old
}

/// ITIMER_VIRTUAL or ITIMER_PROF of `p`'s process: (time left, interval).
///
/// Linux: get_cpu_itimer() in kernel/time/itimer.c
pub fn get_process_cpu_timer(p: &TaskStruct, which: u32) -> (u64, u64) {
    let now = cpu_clock_sample(p, which);
    let t = p.signal().cputimer.it.lock()[it_index(which)];
    (time_left(t.expires, now), t.incr)
}

/// What is left of an armed timer: at least a tick, since it fires at the
/// next one; 0 when disarmed.
fn time_left(expires: u64, now: u64) -> u64 {
    match expires {
        0 => 0,
        e if e <= now => TICK_NSEC,
        e => e - now,
    }
}
