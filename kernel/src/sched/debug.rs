//! Listings for learners: a `ps`-like table and a `pstree`-like tree of all
//! tasks, and the console's foreground process group, printed by Ctrl-T on
//! the console and used by tests.
//!
//! Linux: show_state_filter() in kernel/sched/core.c, task_state_to_char()
//! in include/linux/sched.h, fs/proc/array.c

use crate::arch::sync::SpinLockGuard;
use crate::task::{
    __TASK_STOPPED, __TASK_TRACED, EXIT_DEAD, EXIT_ZOMBIE, TASK_DEAD, TASK_INTERRUPTIBLE,
    TASK_PARKED, TASK_UNINTERRUPTIBLE, TaskStruct,
};
use crate::tasklist::{TASKLIST_LOCK, TaskList};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// The one-letter state `ps` shows: R, S, D, T, t, X, Z or P (parked).
///
/// Linux: task_state_to_char() in include/linux/sched.h
pub fn task_state_to_char(p: &TaskStruct) -> char {
    let exit_state = p.exit_state();
    let state = p.state();
    if exit_state & EXIT_ZOMBIE != 0 {
        'Z'
    } else if exit_state & EXIT_DEAD != 0 || state & TASK_DEAD != 0 {
        'X'
    } else if state & TASK_INTERRUPTIBLE != 0 {
        'S'
    } else if state & TASK_UNINTERRUPTIBLE != 0 {
        'D'
    } else if state & __TASK_STOPPED != 0 {
        'T'
    } else if state & __TASK_TRACED != 0 {
        't'
    } else if state & TASK_PARKED != 0 {
        'P'
    } else {
        'R'
    }
}

/// One row per task: pid, parent pid, state letter, the CPU it is on (or
/// was on last), PF_* flags and name.
pub fn ps() -> String {
    let tasklist = TASKLIST_LOCK.lock();
    let mut out = String::from("  PID  PPID S CPU    FLAGS COMM\n");
    let idle = crate::init::init_task::init_task();
    for p in core::iter::once(idle).chain(tasklist.tasks.iter()) {
        let ppid = p
            .family
            .get(&tasklist)
            .real_parent
            .upgrade()
            .map_or(0, |pp| pp.pid());
        let _ = writeln!(
            out,
            "{:5} {:5} {} {:3} {:08x} {}",
            p.pid(),
            ppid,
            task_state_to_char(p),
            crate::sched::migrate::task_cpu(p),
            p.flags(),
            p.comm().as_str()
        );
    }
    out
}

/// Whether `p` sleeps in wait_for_vfork_done: a child of it still holds the
/// completion `p` waits on (kthreads use `vfork_done` too, but for
/// kthread_stop's caller, which is not their parent).
fn in_vfork(p: &TaskStruct, tasklist: &SpinLockGuard<'_, TaskList>) -> bool {
    p.state() & TASK_UNINTERRUPTIBLE != 0
        && p.family
            .get(tasklist)
            .children
            .iter()
            .any(|child| child.vfork_done.lock().is_some())
}

/// The process tree from pid 0, children in creation order, with each
/// task's state when it is not running or sleeping (zombies stand out), and
/// parents held by vfork.
pub fn pstree() -> String {
    let tasklist = TASKLIST_LOCK.lock();
    let mut out = String::new();
    let mut stack: Vec<(Arc<TaskStruct>, String, bool)> = alloc::vec![(
        crate::init::init_task::init_task().clone(),
        String::new(),
        true
    )];
    let mut first = true;
    while let Some((p, prefix, last)) = stack.pop() {
        let branch = if first {
            ""
        } else if last {
            "`-"
        } else {
            "|-"
        };
        let mark = match task_state_to_char(&p) {
            'Z' => " <zombie>",
            'X' => " <dead>",
            'T' => " <stopped>",
            'D' if in_vfork(&p, &tasklist) => " <vfork>",
            _ => "",
        };
        let _ = writeln!(
            out,
            "{prefix}{branch}{}({}){mark}",
            p.comm().as_str(),
            p.pid()
        );
        let child_prefix = if first {
            String::new()
        } else {
            alloc::format!("{prefix}{}", if last { "  " } else { "| " })
        };
        let children = &p.family.get(&tasklist).children;
        for (i, child) in children.iter().enumerate().rev() {
            stack.push((child.clone(), child_prefix.clone(), i == children.len() - 1));
        }
        first = false;
    }
    out
}

/// The console's foreground process group: `foreground: COMM (pgrp N)`,
/// COMM its leader's name (or `?` once the leader is gone), or
/// `foreground: none`. The line says who Ctrl-C and Ctrl-Z would signal,
/// as the BSDs' Ctrl-T status line names the foreground command.
fn foreground() -> String {
    let pgrp = crate::drivers::tty::tty_get_pgrp();
    if pgrp <= 0 {
        return String::from("foreground: none\n");
    }
    let tasklist = TASKLIST_LOCK.lock();
    let leader = tasklist.tasks.iter().find(|p| p.pid() == pgrp);
    let comm = leader.map_or(String::from("?"), |p| String::from(p.comm().as_str()));
    alloc::format!("foreground: {comm} (pgrp {pgrp})\n")
}

/// Prints both listings and the foreground line to the console.
///
/// Linux: show_state() in include/linux/sched/debug.h
/// Differs: the foreground line is the BSDs' (Linux's SysRq-t has none).
pub fn show_state() {
    crate::printk::print(format_args!("{}\n{}{}", ps(), pstree(), foreground()));
}

/// One line of `/proc/<pid>/sched`: a name and a number (Linux: P()).
fn p_line(out: &mut String, name: &str, v: i64) {
    let _ = writeln!(out, "{name:<45}:{v:>21}");
}

/// One line with a time in ns shown in ms (Linux: PN()).
fn pn_line(out: &mut String, name: &str, ns: i64) {
    let sign = if ns < 0 { "-" } else { "" };
    let (ms, frac) = (ns.unsigned_abs() / 1_000_000, ns.unsigned_abs() % 1_000_000);
    let _ = writeln!(out, "{name:<45}:{:>14}{sign}{ms}.{frac:06}", "");
}

/// The scheduler's view of one task: run time, virtual runtime, deadline
/// and lag (live for a queued or running task: V minus its vruntime; the
/// saved lag for a sleeping one), switches, weight, policy and priority.
/// Values are in ns shown as ms, as Linux prints them.
///
/// Linux: proc_sched_show_task() in kernel/sched/debug.c
/// Differs: the load-tracking (PELT) and NUMA lines are left out; se.vlag
/// shows the lag as above.
pub fn proc_sched_show_task(p: &TaskStruct) -> String {
    let (mut rq, _cpu) = crate::sched::migrate::__task_rq_lock(p);
    crate::sched::core::update_rq_clock(&mut rq);
    let running = crate::sched::core::task_current(&rq, p);
    if running {
        (p.sched_class().update_curr)(&mut rq);
    }
    let vruntime = p.se.vruntime.load(Ordering::Relaxed);
    let lag = if p.se.on_cfs_rq.load(Ordering::Relaxed) {
        rq.cfs.avg_vruntime().wrapping_sub(vruntime) as i64
    } else {
        p.se.vlag.load(Ordering::Relaxed)
    };
    drop(rq);
    let (nvcsw, nivcsw) = (
        p.nvcsw.load(Ordering::Relaxed),
        p.nivcsw.load(Ordering::Relaxed),
    );
    let threads = p.signal().nr_threads.load(Ordering::Relaxed);
    let mut out = alloc::format!("{} ({}, #threads: {threads})\n", p.comm().as_str(), p.pid());
    out.push_str("-------------------------------------------------------------------\n");
    let se = &p.se;
    for (name, ns) in [
        (
            "se.exec_start",
            se.exec_start.load(Ordering::Relaxed) as i64,
        ),
        ("se.vruntime", vruntime as i64),
        ("se.deadline", se.deadline.load(Ordering::Relaxed) as i64),
        ("se.vlag", lag),
        ("se.slice", se.slice.load(Ordering::Relaxed) as i64),
        (
            "se.sum_exec_runtime",
            se.sum_exec_runtime.load(Ordering::Relaxed) as i64,
        ),
    ] {
        pn_line(&mut out, name, ns);
    }
    for (name, v) in [
        ("nr_switches", (nvcsw + nivcsw) as i64),
        ("nr_voluntary_switches", nvcsw as i64),
        ("nr_involuntary_switches", nivcsw as i64),
        (
            "se.load.weight",
            se.load_weight.load(Ordering::Relaxed) as i64,
        ),
        ("policy", i64::from(p.policy.load(Ordering::Relaxed))),
        ("prio", i64::from(p.prio.load(Ordering::Relaxed))),
    ] {
        p_line(&mut out, name, v);
    }
    out
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::exit::kernel_wait4;
    use crate::fork::{CloneFlags, kernel_thread};
    use crate::ktest::wait_until;
    use crate::pid::find_task_by_vpid;
    use crate::task::current;
    use crate::{kassert, ktest};
    use core::sync::atomic::{AtomicBool, Ordering};

    ktest! {
        fn ps_lists_pid_ppid_state_and_name_of_every_task() {
            let listing = ps();
            let row = |l: &str| { let w: Vec<&str> = l.split_whitespace().collect(); (w[..3] == ["1", "0", "S"] && w[4..] == ["00000040", "init"]).then(|| w[3].parse::<usize>()) };
            kassert!(listing.lines().skip(1).filter_map(row).any(|cpu| cpu.is_ok_and(crate::cpumask::cpu_online)), "init's row with an online CPU: {listing}");
            kassert!(listing.lines().any(|l| l.ends_with(" kthreadd") && l.split_whitespace().nth(1) == Some("0")), "{listing}");
            let me = alloc::format!("{:5} ", current().pid());
            let on = alloc::format!(" R {:3} ", crate::arch::percpu::smp_processor_id());
            kassert!(listing.lines().any(|l| l.starts_with(&me) && l.contains(&on)), "the caller is running here: {listing}");
        }
    }

    ktest! {
        fn pstree_shows_kthreadd_under_swapper_and_marks_zombies() {
            let pid = kernel_thread(alloc::sync::Arc::new(|| 0), "ktest-zomb", CloneFlags::CLONE_FS, crate::signal::SIGCHLD)
                .map_err(|e| alloc::format!("{e:?}"))?;
            kassert!(wait_until(100, || find_task_by_vpid(pid).is_some_and(|t| t.exit_state() != 0)));
            let tree = pstree();
            let _ = kernel_wait4(pid, 0);
            kassert!(tree.starts_with("swapper/0(0)\n"), "{tree}");
            kassert!(tree.contains("|-init(1)\n") && tree.contains("`-kthreadd(2)\n"), "{tree}");
            kassert!(tree.contains(&alloc::format!("ktest-zomb({pid}) <zombie>")), "{tree}");
        }
    }

    ktest! {
        fn pstree_marks_a_parent_held_by_vfork() {
            static RELEASE: AtomicBool = AtomicBool::new(false);
            RELEASE.store(false, Ordering::SeqCst);
            let vforked: crate::task::ThreadFn = Arc::new(|| {
                while !RELEASE.load(Ordering::SeqCst) {
                    crate::sched::core::schedule();
                }
                0
            });
            let vforker: crate::task::ThreadFn = Arc::new(move || {
                let child = kernel_thread(vforked.clone(), "ktest-vforked", CloneFlags::CLONE_VFORK, crate::signal::SIGCHLD);
                child.map_or(1, |pid| kernel_wait4(pid, 0).map_or(2, |_| 0))
            });
            let pid = kernel_thread(vforker, "ktest-vforker", CloneFlags::CLONE_FS, crate::signal::SIGCHLD)
                .map_err(|e| alloc::format!("{e:?}"))?;
            let marked = alloc::format!("ktest-vforker({pid}) <vfork>");
            let seen = wait_until(100, || pstree().contains(&marked));
            RELEASE.store(true, Ordering::SeqCst);
            kassert!(wait_until(100, || find_task_by_vpid(pid).is_some_and(|t| t.exit_state() != 0)));
            let after = pstree();
            let _ = kernel_wait4(pid, 0);
            kassert!(seen, "no {marked} in:\n{after}");
            kassert!(!after.contains("<vfork>"), "{after}");
        }
    }
}
