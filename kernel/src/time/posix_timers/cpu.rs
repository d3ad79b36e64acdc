//! POSIX timers on the CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID and
//! CLOCK_THREAD_CPUTIME_ID): no hrtimer runs them; the tick that charges a
//! task's time compares the clocks with the armed timers' expiries.
//!
//! Linux: the k_itimer half of kernel/time/posix-cpu-timers.c
//! (handle_posix_cpu_timers, cpu_timer_fire)
//! Differs: the process's timers are checked against its running total at
//! each tick of one of its threads, so they fire up to a tick late, as the
//! itimers do; Linux keeps them in per-clock timerqueues with a cached
//! next expiry.

use super::*;

/// The CPU time, in ns, that `clock` has counted: the precise run time
/// (CPUCLOCK_SCHED, which CLOCK_PROCESS_CPUTIME_ID and
/// CLOCK_THREAD_CPUTIME_ID name) of the process or of the thread, as the
/// last context switch or tick charged it. Lock-free, so the tick can read
/// it.
///
/// Linux: the `cputimer` sums (process) and `se.sum_exec_runtime` (thread)
/// that check_process_timers() / check_thread_timers() compare in
/// kernel/time/posix-cpu-timers.c
pub(super) fn cpu_timer_sample(clock: &CpuClock) -> u64 {
    match clock {
        CpuClock::Process(sig) => sig.upgrade().map_or(0, |sig| {
            sig.cputimer.sum_exec_runtime.load(Ordering::Relaxed)
        }),
        CpuClock::Thread(t) => t
            .upgrade()
            .map_or(0, |t| t.se.sum_exec_runtime.load(Ordering::Relaxed)),
    }
}

/// Whether `k` counts the CPU time of `p`: a process timer of its process,
/// or a thread timer of `p` itself.
fn counts_time_of(k: &KItimer, p: &TaskStruct) -> bool {
    match &k.it_cpu {
        Some(CpuClock::Process(_)) => true,
        Some(CpuClock::Thread(t)) => core::ptr::eq(t.as_ptr(), p),
        None => false,
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
    let timers = sig.posix_timers.lock();
    if timers.nr_cpu_timers == 0 {
        return;
    }
    for k in timers.iter() {
        if k.it_sigev_notify == SIGEV_NONE || !counts_time_of(k, p) {
            continue;
        }
        let due = {
            let state = k.state.lock();
            state.it_status == ItStatus::Armed && k.now() >= state.expires
        };
        if due {
            expiry::posix_timer_queue_signal(k);
        }
    }
}
