//! CPU time accounting by ticks: each timer tick is charged, whole, to the
//! task it interrupted (as user or system time) or to the CPU's idle time.
//! `top`, `ps` and /proc/stat read these counters. The ticks only sample
//! the split between user and system time; the total a task ran is its
//! precise `sum_exec_runtime` (sched/fair.rs), and what getrusage, times
//! and /proc report is the sampled split scaled to that total
//! (cputime_adjust).
//!
//! Linux: kernel/sched/cputime.c (tick-based accounting, the default
//! without CONFIG_VIRT_CPU_ACCOUNTING)

use crate::arch::gdt::NR_CPUS;
use crate::arch::sync::SpinLock;
use crate::arch::time::HZ;
use crate::task::TaskStruct;
use core::sync::atomic::{AtomicU64, Ordering};

/// Nanoseconds in one tick (Linux: TICK_NSEC).
pub const TICK_NSEC: u64 = 1_000_000_000 / HZ;

/// Clock ticks per second as user space counts them in /proc (Linux: USER_HZ).
pub const USER_HZ: u64 = 100;

/// Time one CPU spent in each mode, in ns (Linux: struct kernel_cpustat,
/// the CPUTIME_USER, CPUTIME_SYSTEM and CPUTIME_IDLE slots).
pub struct KernelCpustat {
    /// Running user code.
    pub user: AtomicU64,
    /// Running kernel code for a task.
    pub system: AtomicU64,
    /// Running the idle task.
    pub idle: AtomicU64,
}

/// Each CPU's times, written only by that CPU's tick (Linux: the per-CPU
/// kernel_cpustat); atomics, so that /proc/stat reads them from any CPU.
pub static KCPUSTAT: [KernelCpustat; NR_CPUS] = [const {
    KernelCpustat {
        user: AtomicU64::new(0),
        system: AtomicU64::new(0),
        idle: AtomicU64::new(0),
    }
}; NR_CPUS];

/// The times of the CPU this runs on (Linux: kcpustat_this_cpu).
fn kcpustat_this_cpu() -> &'static KernelCpustat {
    &KCPUSTAT[crate::arch::percpu::smp_processor_id()]
}

/// The machine's (user, system, idle) ns: every CPU's summed, as the `cpu`
/// line of /proc/stat and the idle time of /proc/uptime add them.
pub fn kcpustat_sum() -> (u64, u64, u64) {
    KCPUSTAT.iter().fold((0, 0, 0), |(u, s, i), c| {
        (
            u + c.user.load(Ordering::Relaxed),
            s + c.system.load(Ordering::Relaxed),
            i + c.idle.load(Ordering::Relaxed),
        )
    })
}

/// Charges the tick that just ended to whoever it interrupted.
///
/// Linux: account_process_tick() in kernel/sched/cputime.c
pub fn account_process_tick(user_tick: bool) {
    crate::arch::percpu::with_current(|p| match p {
        Some(p) if p.is_idle_task() => account_idle_time(TICK_NSEC),
        Some(p) => {
            if user_tick {
                account_user_time(p, TICK_NSEC);
            } else {
                account_system_time(p, TICK_NSEC);
            }
        }
        None => account_idle_time(TICK_NSEC),
    });
}

/// Linux: account_user_time() in kernel/sched/cputime.c
fn account_user_time(p: &TaskStruct, cputime: u64) {
    p.utime.fetch_add(cputime, Ordering::Relaxed);
    crate::posix_cpu_timers::account_group_time(p, cputime, true);
    kcpustat_this_cpu()
        .user
        .fetch_add(cputime, Ordering::Relaxed);
}

/// Linux: account_system_time() in kernel/sched/cputime.c
fn account_system_time(p: &TaskStruct, cputime: u64) {
    p.stime.fetch_add(cputime, Ordering::Relaxed);
    crate::posix_cpu_timers::account_group_time(p, cputime, false);
    kcpustat_this_cpu()
        .system
        .fetch_add(cputime, Ordering::Relaxed);
}

/// Linux: account_idle_time() in kernel/sched/cputime.c
fn account_idle_time(cputime: u64) {
    kcpustat_this_cpu()
        .idle
        .fetch_add(cputime, Ordering::Relaxed);
}

/// The user and system time last reported for a task or a process, in ns,
/// so that reports never go backwards (Linux: struct prev_cputime).
#[derive(Default)]
pub struct PrevCputime {
    /// (utime, stime) as last reported; under its own lock, as Linux's.
    times: SpinLock<(u64, u64)>,
}

/// Splits `rtime` (the precise run time) into user and system time in the
/// proportion the ticks sampled, `utime` : `stime`, and never reports less
/// of either than `prev` did before. Returns (utime, stime); they add up to
/// `rtime` unless an earlier report already went further.
///
/// Linux: cputime_adjust() in kernel/sched/cputime.c
pub fn cputime_adjust(prev: &PrevCputime, utime: u64, stime: u64, rtime: u64) -> (u64, u64) {
    let mut p = prev.times.lock();
    if p.0 + p.1 >= rtime {
        return *p;
    }
    let mut stime = if stime == 0 {
        0
    } else if utime == 0 {
        rtime
    } else {
        (stime as u128 * rtime as u128 / (stime as u128 + utime as u128)) as u64
    };
    // Each side only grows: a smaller share than reported before is clamped,
    // and the other side takes what is left.
    stime = stime.max(p.1);
    let mut utime = rtime - stime;
    if utime < p.0 {
        utime = p.0;
        stime = rtime - utime;
    }
    *p = (utime, stime);
    *p
}

/// One thread's (utime, stime), scaled to its run time.
///
/// Linux: task_cputime_adjusted() in kernel/sched/cputime.c
pub fn task_cputime_adjusted(p: &TaskStruct) -> (u64, u64) {
    let rtime = crate::sched::core::task_sched_runtime(p);
    let utime = p.utime.load(Ordering::Relaxed);
    let stime = p.stime.load(Ordering::Relaxed);
    cputime_adjust(&p.prev_cputime, utime, stime, rtime)
}

/// Nanoseconds to USER_HZ ticks, the unit of /proc/stat and times().
///
/// Linux: nsec_to_clock_t() in kernel/time/time.c
pub fn nsec_to_clock_t(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::task::current;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn a_busy_kernel_thread_is_charged_system_time_tick_by_tick() {
            let me = current();
            // The machine's system time first: a tick between the two reads
            // then counts in it and not in the task's, never the reverse.
            let system = kcpustat_sum().1;
            let (stime, utime) = (me.stime.load(Ordering::Relaxed), me.utime.load(Ordering::Relaxed));
            // Until three ticks of whichever CPUs it runs on have charged
            // it: on several CPUs, jiffies (CPU 0's ticks) may run ahead of
            // this CPU's, or the task may wait in a run queue meanwhile.
            let start = crate::arch::time::jiffies();
            while me.stime.load(Ordering::Relaxed) - stime < 3 * TICK_NSEC
                && crate::arch::time::jiffies() < start + 500
            {
                core::hint::spin_loop();
            }
            let charged = me.stime.load(Ordering::Relaxed) - stime;
            kassert!(charged >= 3 * TICK_NSEC && charged.is_multiple_of(TICK_NSEC), "charged {charged} ns");
            kassert!(me.utime.load(Ordering::Relaxed) == utime, "a kernel thread has no user time");
            kassert!(kcpustat_sum().1 - system >= charged);
        }
    }

    ktest! {
        fn cputime_adjust_splits_the_run_time_as_sampled_and_never_goes_back() {
            let prev = PrevCputime::default();
            kassert_eq!(cputime_adjust(&prev, 3, 1, 400), (300, 100));
            kassert_eq!(cputime_adjust(&prev, 0, 0, 500), (400, 100), "no samples: all user, stime kept");
            kassert_eq!(cputime_adjust(&prev, 1, 3, 600), (400, 200), "utime may not shrink");
            kassert_eq!(cputime_adjust(&prev, 1, 3, 550), (400, 200), "nor the total");
        }
    }

    /// The run time charged to the caller over a 100 us busy loop, or None
    /// if it was switched out meanwhile.
    fn run_time_of_a_100us_loop() -> Option<u64> {
        let me = current();
        let switches = me.se.nr_switches.load(Ordering::Relaxed);
        let before = crate::sched::core::task_sched_runtime(&me);
        let start = crate::arch::time::ktime_get_ns();
        while crate::arch::time::ktime_get_ns() < start + 100_000 {
            core::hint::spin_loop();
        }
        let ran = crate::sched::core::task_sched_runtime(&me) - before;
        (me.se.nr_switches.load(Ordering::Relaxed) == switches).then_some(ran)
    }

    ktest! {
        fn a_busy_kernel_thread_is_charged_a_sub_tick_run_time_precisely() {
            let ran = (0..5).find_map(|_| run_time_of_a_100us_loop()).ok_or("never ran 100 us unswitched")?;
            kassert!((100_000..TICK_NSEC).contains(&ran), "ran {ran} ns in a 100 us loop");
        }
    }
}
