//! POSIX timers on the CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID and
//! CLOCK_THREAD_CPUTIME_ID): no hrtimer runs them; the tick that charges a
//! task's time compares the clocks with the armed timers' expiries.
//!
//! Linux: the k_itimer half of kernel/time/posix-cpu-timers.c
//! (handle_posix_cpu_timers, cpu_timer_fire)
//! Differs: the process's timers are checked against its running total at
//! each tick of one of its threads, so they fire up to a tick late, as the
//! itimers do; Linux keeps them in per-clock timerqueues with a cached
//! next expiry. A timer on another process's clock (clock_getcpuclockid)
//! waits on one list that every tick looks at while it is not empty
//! (Linux: the target's timerqueue).

use super::*;
use crate::posix_cpu_timers::{
    CPUCLOCK_SCHED, CPUCLOCK_VIRT, PROCESS_CLOCK, THREAD_CLOCK, cpuclock_perthread, cpuclock_which,
    is_clockfd, pid_for_clock,
};
use core::sync::atomic::{AtomicU64, AtomicUsize};

/// Whose CPU time a CPU-time timer counts, and which of its clocks
/// (CPUCLOCK_SCHED, _VIRT or _PROF) (Linux: the CPUCLOCK_PERTHREAD bit,
/// the pid and CPUCLOCK_WHICH of the clock id).
pub(super) enum CpuClock {
    /// A process's clock: the creator's for CLOCK_PROCESS_CPUTIME_ID.
    Process(Weak<SignalStruct>, u32),
    /// A thread's clock: the creator's for CLOCK_THREAD_CPUTIME_ID.
    Thread(Weak<TaskStruct>, u32),
}

/// The CPU clock a timer on `which_clock` counts, `None` for a clock of
/// time; `EINVAL` for a clock without timers.
///
/// Linux: clockid_to_kclock() in kernel/time/posix-timers.c
pub(super) fn clockid_to_cpu_clock(which_clock: u32) -> Result<Option<CpuClock>, Errno> {
    Ok(match which_clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | crate::time::CLOCK_TAI => None,
        CLOCK_PROCESS_CPUTIME_ID => Some(cpu::posix_cpu_timer_create(PROCESS_CLOCK)?),
        CLOCK_THREAD_CPUTIME_ID => Some(cpu::posix_cpu_timer_create(THREAD_CLOCK)?),
        c if (c as i32) < 0 && !is_clockfd(c as i32) => {
            Some(cpu::posix_cpu_timer_create(c as i32)?)
        }
        _ => return Err(Errno::EINVAL),
    })
}

/// Timers on the CPU clock of a process other than their own.
static FOREIGN_CPU_TIMERS: SpinLock<Vec<Weak<KItimer>>> = SpinLock::new(Vec::new());
/// How many there are, so that the tick skips the list cheaply.
static NR_FOREIGN_CPU_TIMERS: AtomicUsize = AtomicUsize::new(0);

/// The clock of a timer_create on a CPU clockid: the caller's own
/// process or thread for CLOCK_PROCESS_CPUTIME_ID and
/// CLOCK_THREAD_CPUTIME_ID, any process or a thread of the caller's own for
/// a clockid of clock_getcpuclockid() / pthread_getcpuclockid().
///
/// Linux: posix_cpu_timer_create() in kernel/time/posix-cpu-timers.c
///
/// # Errors
/// `EINVAL` for a clockid that names no such task.
pub(super) fn posix_cpu_timer_create(clock: i32) -> Result<CpuClock, Errno> {
    let p = pid_for_clock(clock, false).ok_or(Errno::EINVAL)?;
    let which = cpuclock_which(clock);
    Ok(match cpuclock_perthread(clock) {
        true => CpuClock::Thread(Arc::downgrade(&p), which),
        false => CpuClock::Process(Arc::downgrade(p.signal()), which),
    })
}

/// Puts `k` on the list every tick looks at when its clock is another
/// process's; called after it joined its own process's timers.
///
/// # Errors
/// `EAGAIN` when memory is short.
pub(super) fn link_foreign_cpu_timer(
    k: &Arc<KItimer>,
    own: &Arc<SignalStruct>,
) -> Result<(), Errno> {
    let Some(CpuClock::Process(sig, _)) = &k.it_cpu else {
        return Ok(());
    };
    if core::ptr::eq(sig.as_ptr(), Arc::as_ptr(own)) {
        return Ok(());
    }
    let mut list = FOREIGN_CPU_TIMERS.lock();
    list.retain(|t| t.strong_count() > 0);
    list.try_reserve(1).map_err(|_| Errno::EAGAIN)?;
    list.push(Arc::downgrade(k));
    NR_FOREIGN_CPU_TIMERS.store(list.len(), Ordering::Relaxed);
    Ok(())
}

/// The CPU time, in ns, that `clock` has counted: the precise run time
/// (CPUCLOCK_SCHED, which CLOCK_PROCESS_CPUTIME_ID and
/// CLOCK_THREAD_CPUTIME_ID name) of the process or of the thread, as the
/// last context switch or tick charged it, or its user (CPUCLOCK_VIRT) or
/// user + system (CPUCLOCK_PROF) time. Lock-free, so the tick can read it.
///
/// Linux: the `cputimer` sums (process) and `se.sum_exec_runtime` (thread)
/// that check_process_timers() / check_thread_timers() compare in
/// kernel/time/posix-cpu-timers.c
pub(super) fn cpu_timer_sample(clock: &CpuClock) -> u64 {
    let pick = |which: u32, sched: &AtomicU64, utime: &AtomicU64, stime: &AtomicU64| {
        let utime = utime.load(Ordering::Relaxed);
        match which {
            CPUCLOCK_SCHED => sched.load(Ordering::Relaxed),
            CPUCLOCK_VIRT => utime,
            _ => utime + stime.load(Ordering::Relaxed),
        }
    };
    match clock {
        CpuClock::Process(sig, which) => sig.upgrade().map_or(0, |sig| {
            let c = &sig.cputimer;
            pick(*which, &c.sum_exec_runtime, &c.utime, &c.stime)
        }),
        CpuClock::Thread(t, which) => t.upgrade().map_or(0, |t| {
            pick(*which, &t.se.sum_exec_runtime, &t.utime, &t.stime)
        }),
    }
}

/// Whether `k` counts the CPU time of `p`: a timer on `p`'s process's
/// clock, or on `p`'s own thread clock.
fn counts_time_of(k: &KItimer, p: &TaskStruct, sig: &Arc<SignalStruct>) -> bool {
    match &k.it_cpu {
        Some(CpuClock::Process(s, _)) => core::ptr::eq(s.as_ptr(), Arc::as_ptr(sig)),
        Some(CpuClock::Thread(t, _)) => core::ptr::eq(t.as_ptr(), p),
        None => false,
    }
}

/// Fires `k` if it counts `p`'s time and that has reached its expiry.
///
/// Linux: cpu_timer_fire() in kernel/time/posix-cpu-timers.c
fn cpu_timer_fire(k: &KItimer, p: &TaskStruct, sig: &Arc<SignalStruct>) {
    if k.it_sigev_notify == SIGEV_NONE || !counts_time_of(k, p, sig) {
        return;
    }
    let due = {
        let state = k.state.lock();
        state.it_status == ItStatus::Armed && k.now() >= state.expires
    };
    if due {
        expiry::posix_timer_queue_signal(k);
    }
}

/// Fires the CPU-time timers of `p`'s process that have expired; from the
/// tick, after `p` was charged.
///
/// Linux: handle_posix_cpu_timers() / cpu_timer_fire() in kernel/time/posix-cpu-timers.c
pub fn handle_posix_cpu_timers(p: &TaskStruct) {
    let Some(sig) = p.signal.get() else {
        return;
    };
    {
        let timers = sig.posix_timers.lock();
        if timers.nr_cpu_timers != 0 {
            for k in timers.iter() {
                cpu_timer_fire(k, p, sig);
            }
        }
    }
    if NR_FOREIGN_CPU_TIMERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut list = FOREIGN_CPU_TIMERS.lock();
    list.retain(|t| t.strong_count() > 0);
    NR_FOREIGN_CPU_TIMERS.store(list.len(), Ordering::Relaxed);
    for k in list.iter().filter_map(Weak::upgrade) {
        cpu_timer_fire(&k, p, sig);
    }
}
