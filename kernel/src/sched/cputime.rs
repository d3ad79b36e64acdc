//! CPU time accounting by ticks: each timer tick is charged, whole, to the
//! task it interrupted (as user or system time) or to the CPU's idle time.
//! `top`, `ps` and /proc/stat read these counters.
//!
//! Linux: kernel/sched/cputime.c (tick-based accounting, the default
//! without CONFIG_VIRT_CPU_ACCOUNTING)

use crate::arch::time::HZ;
use crate::task::TaskStruct;
use core::sync::atomic::{AtomicU64, Ordering};

/// Nanoseconds in one tick (Linux: TICK_NSEC).
pub const TICK_NSEC: u64 = 1_000_000_000 / HZ;

/// Clock ticks per second as user space counts them in /proc (Linux: USER_HZ).
pub const USER_HZ: u64 = 100;

/// Time the CPU spent in each mode, in ns (Linux: struct kernel_cpustat,
/// the CPUTIME_USER, CPUTIME_SYSTEM and CPUTIME_IDLE slots).
/// Differs: one set for the machine, since only the boot CPU runs tasks.
pub struct KernelCpustat {
    /// Running user code.
    pub user: AtomicU64,
    /// Running kernel code for a task.
    pub system: AtomicU64,
    /// Running the idle task.
    pub idle: AtomicU64,
}

/// The machine's CPU times (Linux: kernel_cpustat, per CPU).
pub static KCPUSTAT: KernelCpustat = KernelCpustat {
    user: AtomicU64::new(0),
    system: AtomicU64::new(0),
    idle: AtomicU64::new(0),
};

/// Charges the tick that just ended to whoever it interrupted, then
/// checks its process's CPU-time timers (Linux does that from
/// update_process_times(), right after).
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
            crate::posix_cpu_timers::run_posix_cpu_timers(p);
        }
        None => account_idle_time(TICK_NSEC),
    });
}

/// Linux: account_user_time() in kernel/sched/cputime.c
fn account_user_time(p: &TaskStruct, cputime: u64) {
    p.utime.fetch_add(cputime, Ordering::Relaxed);
    crate::posix_cpu_timers::account_group_time(p, cputime, true);
    KCPUSTAT.user.fetch_add(cputime, Ordering::Relaxed);
}

/// Linux: account_system_time() in kernel/sched/cputime.c
fn account_system_time(p: &TaskStruct, cputime: u64) {
    p.stime.fetch_add(cputime, Ordering::Relaxed);
    crate::posix_cpu_timers::account_group_time(p, cputime, false);
    KCPUSTAT.system.fetch_add(cputime, Ordering::Relaxed);
}

/// Linux: account_idle_time() in kernel/sched/cputime.c
fn account_idle_time(cputime: u64) {
    KCPUSTAT.idle.fetch_add(cputime, Ordering::Relaxed);
}

/// Nanoseconds to USER_HZ ticks, the unit of /proc/stat and times().
///
/// Linux: nsec_to_clock_t() in kernel/time/time.c
pub fn nsec_to_clock_t(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

mod tests {
    use super::*;
    use crate::task::current;
    use crate::{kassert, ktest};

    ktest! {
        fn a_busy_kernel_thread_is_charged_system_time_tick_by_tick() {
            let me = current();
            let (stime, utime) = (me.stime.load(Ordering::Relaxed), me.utime.load(Ordering::Relaxed));
            let system = KCPUSTAT.system.load(Ordering::Relaxed);
            let start = crate::arch::time::jiffies();
            while crate::arch::time::jiffies() < start + 5 {
                core::hint::spin_loop();
            }
            let charged = me.stime.load(Ordering::Relaxed) - stime;
            kassert!(charged >= 3 * TICK_NSEC && charged.is_multiple_of(TICK_NSEC), "charged {charged} ns");
            kassert!(me.utime.load(Ordering::Relaxed) == utime, "a kernel thread has no user time");
            kassert!(KCPUSTAT.system.load(Ordering::Relaxed) - system >= charged);
        }
    }
}
