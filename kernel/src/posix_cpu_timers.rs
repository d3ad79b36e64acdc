//! CPU-time clocks and the timers that run on them. Each thread and each
//! process has three clocks (CPUCLOCK_PROF: user + system time as the
//! ticks sampled it; CPUCLOCK_VIRT: user time; CPUCLOCK_SCHED: the precise
//! run time), named by a negative clockid that encodes a pid
//! (clock_getcpuclockid(3)). On them run ITIMER_VIRTUAL (SIGVTALRM),
//! ITIMER_PROF (SIGPROF), RLIMIT_CPU (SIGXCPU at the soft limit and each
//! second after, SIGKILL at the hard limit) and clock_nanosleep(); the tick
//! charges the running task and checks them.
//!
//! Linux: kernel/time/posix-cpu-timers.c (posix_cpu_clock_get,
//! posix_cpu_nsleep, run_posix_cpu_timers, check_process_timers,
//! set_process_cpu_timer), kernel/time/itimer.c (set_cpu_itimer,
//! get_cpu_itimer)
//! timer_create()'s CPU-clock timers are in time/posix_timers/cpu.rs.

mod nsleep;

pub use nsleep::{CpuNsleepers, posix_cpu_nsleep, posix_cpu_nsleep_restart, posix_cpu_timers_exit};

use crate::arch::sync::SpinLock;
use crate::arch::time::HZ;
use crate::errno::Errno;
use crate::resource::{RLIM_INFINITY, RLIMIT_CPU};
use crate::sched::cputime::TICK_NSEC;
use crate::signal::{KernelSiginfo, PidType, SI_KERNEL, SIGKILL, SIGPROF, SIGVTALRM, SIGXCPU};
use crate::task::{TaskStruct, current};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// A CPU clock's user + system time, as the ticks sampled it (Linux: CPUCLOCK_PROF).
pub const CPUCLOCK_PROF: u32 = 0;
/// A CPU clock's user time (Linux: CPUCLOCK_VIRT).
pub const CPUCLOCK_VIRT: u32 = 1;
/// A CPU clock's precise run time (Linux: CPUCLOCK_SCHED).
pub const CPUCLOCK_SCHED: u32 = 2;
/// The number of CPU clocks; the fourth value names a clock fd (Linux:
/// CPUCLOCK_MAX, CLOCKFD).
const CPUCLOCK_MAX: u32 = 3;
/// The clockid bit that makes it a thread's clock (Linux: CPUCLOCK_PERTHREAD_MASK).
const CPUCLOCK_PERTHREAD_MASK: i32 = 4;
/// The clockid bits that select the clock (Linux: CPUCLOCK_CLOCK_MASK).
const CPUCLOCK_CLOCK_MASK: i32 = 3;

/// The clockid of `pid`'s process's `clock`; pid 0 is the caller's.
///
/// Linux: MAKE_PROCESS_CPUCLOCK() in include/linux/posix-timers_types.h
pub const fn make_process_cpuclock(pid: i32, clock: u32) -> i32 {
    (!pid << 3) | clock as i32
}

/// The clockid of thread `tid`'s `clock`; tid 0 is the calling thread.
///
/// Linux: MAKE_THREAD_CPUCLOCK() in include/linux/posix-timers_types.h
pub const fn make_thread_cpuclock(tid: i32, clock: u32) -> i32 {
    make_process_cpuclock(tid, clock | CPUCLOCK_PERTHREAD_MASK as u32)
}

/// CLOCK_PROCESS_CPUTIME_ID as a CPU clock (Linux: PROCESS_CLOCK).
pub const PROCESS_CLOCK: i32 = make_process_cpuclock(0, CPUCLOCK_SCHED);
/// CLOCK_THREAD_CPUTIME_ID as a CPU clock (Linux: THREAD_CLOCK).
pub const THREAD_CLOCK: i32 = make_thread_cpuclock(0, CPUCLOCK_SCHED);

/// Whether a negative clockid names a clock by file descriptor (a PTP
/// device), not a CPU clock; there are none here (Linux: the CLOCKFD test
/// of clockid_to_kclock()).
pub fn is_clockfd(clock: i32) -> bool {
    clock < 0 && clock & (CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_CLOCK_MASK) == CPUCLOCK_MAX as i32
}

/// The pid or tid a CPU clockid names (Linux: CPUCLOCK_PID()).
fn cpuclock_pid(clock: i32) -> i32 {
    !(clock >> 3)
}

/// Whether a CPU clockid names a thread's clock (Linux: CPUCLOCK_PERTHREAD()).
pub(crate) fn cpuclock_perthread(clock: i32) -> bool {
    clock & CPUCLOCK_PERTHREAD_MASK != 0
}

/// Which of the three clocks a CPU clockid names (Linux: CPUCLOCK_WHICH()).
pub(crate) fn cpuclock_which(clock: i32) -> u32 {
    (clock & CPUCLOCK_CLOCK_MASK) as u32
}

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
    /// Run time of all its threads, live and dead, in ns; charged by
    /// update_curr() (Linux: cputime_atomic.sum_exec_runtime).
    pub sum_exec_runtime: AtomicU64,
    /// clock_nanosleep() callers waiting on the process's CPU clocks.
    pub nsleepers: CpuNsleepers,
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

/// Sends a CPU-timer signal to the running task's process: any of its
/// threads that does not block it may take it.
///
/// Linux: __group_send_sig_info(sig, SEND_SIG_PRIV, tsk) in
/// kernel/time/posix-cpu-timers.c
/// Differs: SIGKILL goes to the running thread, whose group exit kills the
/// others, where Linux's complete_signal() queues it for each thread.
fn send_cpu_timer_signal(sig: i32) {
    if let Some(t) = crate::arch::percpu::current_task() {
        let info = KernelSiginfo {
            code: SI_KERNEL,
            ..Default::default()
        };
        let type_ = if sig == SIGKILL {
            PidType::Pid
        } else {
            PidType::Tgid
        };
        let _ = crate::signal::do_send_sig_info(sig, info, &t, type_);
    }
}

/// Checks the running task's clock_nanosleep() sleepers, and its process's
/// sleepers, itimers and CPU limit; from the tick, after it was charged.
///
/// Linux: run_posix_cpu_timers() in kernel/time/posix-cpu-timers.c
pub fn run_posix_cpu_timers(p: &TaskStruct) {
    let Some(sig) = p.signal.get() else {
        return;
    };
    let utime = p.utime.load(Ordering::Relaxed);
    let prof = utime + p.stime.load(Ordering::Relaxed);
    let sched = p.se.sum_exec_runtime.load(Ordering::Relaxed);
    p.cpu_nsleepers.check_timers([prof, utime, sched]);
    let utime = sig.cputimer.utime.load(Ordering::Relaxed);
    let prof = utime + sig.cputimer.stime.load(Ordering::Relaxed);
    let sched = sig.cputimer.sum_exec_runtime.load(Ordering::Relaxed);
    sig.cputimer.nsleepers.check_timers([prof, utime, sched]);
    check_process_timers(sig, sched, utime);
    crate::time::posix_timers::handle_posix_cpu_timers(p);
}

/// Fires expired itimers, then enforces RLIMIT_CPU on `prof` ns.
///
/// Linux: check_process_timers() and check_cpu_itimer() in
/// kernel/time/posix-cpu-timers.c
/// Differs: ITIMER_PROF and RLIMIT_CPU run on the precise run time, where
/// Linux compares the tick-sampled utime + stime; the two agree on a real
/// machine, but under an emulator the ticks miss the time the host takes
/// the virtual CPU away, and the run time is what getrusage reports.
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

/// The process clock that an itimer runs on (see check_process_timers()
/// for ITIMER_PROF's).
fn itimer_clock(which: u32) -> u32 {
    if which == ITIMER_VIRTUAL {
        CPUCLOCK_VIRT
    } else {
        CPUCLOCK_SCHED
    }
}

/// Thread `p`'s CPU time on clock `clkid` (CPUCLOCK_PROF, _VIRT or _SCHED),
/// in ns. Takes `p`'s run queue lock: not for the tick.
///
/// Linux: cpu_clock_sample() in kernel/time/posix-cpu-timers.c
pub fn cpu_clock_sample(clkid: u32, p: &TaskStruct) -> u64 {
    if clkid == CPUCLOCK_SCHED {
        return crate::sched::core::task_sched_runtime(p);
    }
    let utime = p.utime.load(Ordering::Relaxed);
    match clkid {
        CPUCLOCK_VIRT => utime,
        _ => utime + p.stime.load(Ordering::Relaxed),
    }
}

/// The CPU time of `p`'s process (all its threads, live and dead) on clock
/// `clkid`, in ns. Takes the tasklist lock: not for the tick, which reads
/// the `cputimer` sums instead.
///
/// Linux: cpu_clock_sample_group() in kernel/time/posix-cpu-timers.c
/// Differs: always sums the threads (thread_group_cputime()), where Linux
/// reads the running cputimer once a process timer is armed.
pub fn cpu_clock_sample_group(clkid: u32, p: &TaskStruct) -> u64 {
    let t = crate::rusage::thread_group_cputime(p);
    match clkid {
        CPUCLOCK_SCHED => t.sum_exec_runtime,
        CPUCLOCK_VIRT => t.utime,
        _ => t.utime + t.stime,
    }
}

/// The task whose clock `clock` reads: a thread of the caller's process
/// for a thread clock, a process (found by its leader's pid, or the
/// caller's own tid when `gettime`) for a process clock; `None` when there
/// is none, which callers report as EINVAL.
///
/// Linux: pid_for_clock() and __get_task_for_clock() in
/// kernel/time/posix-cpu-timers.c
pub(crate) fn pid_for_clock(clock: i32, gettime: bool) -> Option<Arc<TaskStruct>> {
    if cpuclock_which(clock) >= CPUCLOCK_MAX {
        return None;
    }
    let me = current();
    let upid = cpuclock_pid(clock);
    if upid == 0 {
        return Some(me);
    }
    let task = crate::pid::find_task_by_vpid(upid)?;
    if cpuclock_perthread(clock) {
        return (task.tgid() == me.tgid()).then_some(task);
    }
    if gettime && Arc::ptr_eq(&task, &me) {
        return Some(me);
    }
    (task.pid() == task.tgid()).then_some(task)
}

/// Reads a CPU clock: its time in ns.
///
/// Linux: posix_cpu_clock_get() in kernel/time/posix-cpu-timers.c
///
/// # Errors
/// `EINVAL` for a clockid that names no clock or no task the caller may read.
pub fn posix_cpu_clock_get(clock: i32) -> Result<u64, Errno> {
    let p = pid_for_clock(clock, true).ok_or(Errno::EINVAL)?;
    let clkid = cpuclock_which(clock);
    Ok(if cpuclock_perthread(clock) {
        cpu_clock_sample(clkid, &p)
    } else {
        cpu_clock_sample_group(clkid, &p)
    })
}

/// A CPU clock's resolution in ns: 1 for the run time, a tick for the
/// tick-sampled ones.
///
/// Linux: posix_cpu_clock_getres() in kernel/time/posix-cpu-timers.c
///
/// # Errors
/// `EINVAL` as posix_cpu_clock_get().
pub fn posix_cpu_clock_getres(clock: i32) -> Result<u64, Errno> {
    pid_for_clock(clock, false).ok_or(Errno::EINVAL)?;
    Ok(match cpuclock_which(clock) {
        CPUCLOCK_SCHED => 1,
        _ => NSEC_PER_SEC.div_ceil(HZ),
    })
}

/// Arms (value != 0) or disarms ITIMER_VIRTUAL or ITIMER_PROF of `p`'s
/// process, `value` and `interval` in ns; returns the old (value, interval).
///
/// Linux: set_cpu_itimer() in kernel/time/itimer.c with set_process_cpu_timer()
pub fn set_process_cpu_timer(p: &TaskStruct, which: u32, value: u64, interval: u64) -> (u64, u64) {
    let now = cpu_clock_sample_group(itimer_clock(which), p);
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
    let now = cpu_clock_sample_group(itimer_clock(which), p);
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
