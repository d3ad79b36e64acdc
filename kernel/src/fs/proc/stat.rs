//! The system-wide counters: /proc/stat, /proc/loadavg, /proc/uptime and
//! /proc/vmstat.
//!
//! Linux: fs/proc/stat.c, fs/proc/loadavg.c, fs/proc/uptime.c, mm/vmstat.c

use crate::sched::cputime::{KCPUSTAT, kcpustat_sum, nsec_to_clock_t};
use crate::sched::debug::task_state_to_char;
use crate::sched::loadavg::{FIXED_1, FSHIFT, get_avenrun};
use crate::tasklist::TASKLIST_LOCK;
use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// Linux: vmstat_show() in mm/vmstat.c. Differs: only the counters this
/// kernel keeps; `cow_copy` and `cow_reuse` are ours (Linux folds them
/// into pgfault).
pub fn vmstat_show() -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "nr_free_pages {}",
        crate::mm::page_alloc::nr_free_pages()
    );
    let _ = writeln!(s, "cow_copy {}", crate::mm::memory::cow_copies());
    let _ = writeln!(s, "cow_reuse {}", crate::mm::memory::cow_reuses());
    let _ = writeln!(s, "nr_forks {}", crate::tasklist::total_forks());
    s
}

/// Seconds with two decimals, from ns.
fn secs(ns: u64) -> String {
    alloc::format!(
        "{}.{:02}",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 10_000_000
    )
}

/// Seconds since boot, and seconds the CPUs spent idle.
///
/// Linux: uptime_proc_show() in fs/proc/uptime.c
pub fn uptime_proc_show() -> String {
    let (_, _, idle) = kcpustat_sum();
    alloc::format!(
        "{} {}\n",
        secs(crate::arch::time::ktime_get_ns()),
        secs(idle)
    )
}

/// Tasks whose state letter is `state` (R: runnable, D: uninterruptible).
fn count_tasks(state: char) -> usize {
    let tasklist = TASKLIST_LOCK.lock();
    tasklist
        .tasks
        .iter()
        .filter(|t| task_state_to_char(t) == state)
        .count()
}

/// One line of CPU times in USER_HZ ticks (user nice system idle iowait
/// irq softirq steal guest guest_nice).
fn cpu_line(s: &mut String, name: &str, (user, system, idle): (u64, u64, u64)) {
    let (user, system, idle) = (
        nsec_to_clock_t(user),
        nsec_to_clock_t(system),
        nsec_to_clock_t(idle),
    );
    let _ = writeln!(s, "{name} {user} 0 {system} {idle} 0 0 0 0 0 0");
}

/// Softirq kinds (Linux: NR_SOFTIRQS: HI, TIMER, NET_TX, NET_RX, BLOCK,
/// IRQ_POLL, TASKLET, SCHED, HRTIMER, RCU).
const NR_SOFTIRQS: usize = 10;

/// The `intr` line: every interrupt taken (by line and by CPU), then the
/// count of each numbered line.
///
/// Linux: the `intr` part of show_stat() and show_all_irqs() in
/// fs/proc/stat.c
fn show_intr(s: &mut String) {
    use crate::arch::irq::{NR_IRQS_LEGACY, arch_irq_stat_cpu, kstat_irqs_usr};
    let per_irq = (0..NR_IRQS_LEGACY).map(kstat_irqs_usr);
    let per_cpu = crate::cpumask::cpu_possible_mask()
        .iter()
        .map(arch_irq_stat_cpu);
    let _ = write!(s, "intr {}", per_irq.clone().chain(per_cpu).sum::<u64>());
    for count in per_irq {
        let _ = write!(s, " {count}");
    }
    s.push('\n');
}

/// The `softirq` line: the total, then the count of each kind.
///
/// Linux: the `softirq` part of show_stat() in fs/proc/stat.c
/// Differs: all zero; this kernel has no softirqs (its timers and
/// scheduler work run in the tick itself).
fn show_softirq(s: &mut String) {
    let _ = write!(s, "softirq 0");
    for _ in 0..NR_SOFTIRQS {
        s.push_str(" 0");
    }
    s.push('\n');
}

/// The CPU times of the machine (`cpu`, every CPU's summed) and of each
/// online CPU (`cpuN`), then the system-wide counters, in Linux's order.
///
/// Linux: show_stat() in fs/proc/stat.c
pub fn show_stat() -> String {
    let mut s = String::new();
    cpu_line(&mut s, "cpu ", kcpustat_sum());
    for cpu in crate::cpumask::cpu_online_mask().iter() {
        let c = &KCPUSTAT[cpu];
        let times = (
            c.user.load(Ordering::Relaxed),
            c.system.load(Ordering::Relaxed),
            c.idle.load(Ordering::Relaxed),
        );
        cpu_line(&mut s, &alloc::format!("cpu{cpu}"), times);
    }
    show_intr(&mut s);
    let _ = writeln!(s, "ctxt {}", crate::sched::core::nr_context_switches());
    let _ = writeln!(s, "btime {}", crate::timekeeping::boot_time_secs());
    let _ = writeln!(s, "processes {}", crate::tasklist::total_forks());
    let _ = writeln!(s, "procs_running {}", count_tasks('R'));
    let _ = writeln!(s, "procs_blocked {}", count_tasks('D'));
    show_softirq(&mut s);
    s
}

/// The 1, 5 and 15 minute load averages, runnable/all tasks, the last pid.
///
/// Linux: loadavg_proc_show() in fs/proc/loadavg.c
pub fn loadavg_proc_show() -> String {
    let avnrun = get_avenrun(FIXED_1 / 200, 0);
    let mut s = String::new();
    for a in avnrun {
        let _ = write!(
            s,
            "{}.{:02} ",
            a >> FSHIFT,
            ((a & (FIXED_1 - 1)) * 100) >> FSHIFT
        );
    }
    let all = TASKLIST_LOCK.lock().nr_threads;
    let _ = writeln!(s, "{}/{all} {}", count_tasks('R'), crate::pid::last_pid());
    s
}
