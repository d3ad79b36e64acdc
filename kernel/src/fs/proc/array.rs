//! `/proc/<pid>/stat` and `/proc/<pid>/status`: a task's state, ids,
//! memory, signals and scheduling counts, in Linux's layouts.
//!
//! Linux: fs/proc/array.c
//! Not modelled: seccomp, speculation controls, NUMA.

use crate::pid::{PidNr, pgrp_nr_ns, task_active_pid_ns, task_pid_nr_ns, task_tgid_nr_ns};
use crate::pid_namespace::PidNamespace;
use crate::sched::cputime::nsec_to_clock_t;
use crate::sched::debug::task_state_to_char;
use crate::signal::{_NSIG, SIG_DFL, SIG_IGN};
use crate::task::TaskStruct;
use crate::tasklist::TASKLIST_LOCK;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// The namespace whose numbers /proc shows: the reader's.
/// Differs: Linux shows those of the namespace /proc was mounted in.
fn reader_ns() -> alloc::sync::Arc<PidNamespace> {
    task_active_pid_ns(&crate::task::current())
}

fn ppid(task: &TaskStruct, ns: &PidNamespace) -> PidNr {
    let tasklist = TASKLIST_LOCK.lock();
    let parent = task.family.get(&tasklist).real_parent.upgrade();
    drop(tasklist);
    parent.map_or(0, |p| task_tgid_nr_ns(&p, ns))
}

/// The tracer's process id, 0 when not traced (Linux: the TracerPid of
/// task_state(), from ptrace_parent()).
fn tracer_pid(task: &TaskStruct, ns: &PidNamespace) -> PidNr {
    if !task.ptrace.is_traced() {
        return 0;
    }
    let tasklist = TASKLIST_LOCK.lock();
    let tracer = task.family.get(&tasklist).parent.upgrade();
    drop(tasklist);
    tracer.map_or(0, |p| task_tgid_nr_ns(&p, ns))
}

/// One of `task`'s ids in each namespace from the reader's down to the
/// task's own, tab-separated: the NSpid-style lines of status.
fn ns_numbers(task: &TaskStruct, ns: &PidNamespace, id: impl Fn(&PidNamespace) -> PidNr) -> String {
    let mut s = String::new();
    if let Some(pid) = crate::pid::task_pid(task) {
        for upid in pid.numbers.iter().skip(ns.level as usize) {
            let sep = if s.is_empty() { "" } else { "\t" };
            let _ = write!(s, "{sep}{}", id(&upid.ns));
        }
    }
    s
}

/// Threads in the task's process (Linux: get_nr_threads()).
fn get_nr_threads(task: &TaskStruct) -> usize {
    task.signal().nr_threads.load(Ordering::Relaxed) as usize
}

/// `/proc/<pid>/stat`: the process's line, its faults and times those of
/// all its threads, live and exited.
///
/// Linux: proc_tgid_stat() in fs/proc/array.c
pub fn proc_tgid_stat(task: &TaskStruct) -> Vec<u8> {
    do_task_stat(task, true)
}

/// `/proc/<pid>/task/<tid>/stat`: the thread's line, its own faults and
/// times.
///
/// Linux: proc_tid_stat() in fs/proc/array.c
pub fn proc_tid_stat(task: &TaskStruct) -> Vec<u8> {
    do_task_stat(task, false)
}

/// The faults and CPU times a stat line shows (fields 10, 12, 14, 15).
struct StatCounts {
    min_flt: u64,
    maj_flt: u64,
    utime: u64,
    stime: u64,
}

/// The whole process's counts (the signal struct's sums of exited threads
/// plus each live thread's) or the thread's own.
///
/// Linux: the `whole` and `!whole` branches of do_task_stat(), with
/// thread_group_cputime_adjusted() and task_cputime_adjusted()
fn stat_counts(task: &TaskStruct, whole: bool) -> StatCounts {
    if whole {
        let r = crate::rusage::thread_group_rusage(task);
        return StatCounts {
            min_flt: r.minflt,
            maj_flt: r.majflt,
            utime: r.utime,
            stime: r.stime,
        };
    }
    let (utime, stime) = crate::sched::cputime::task_cputime_adjusted(task);
    StatCounts {
        min_flt: task.min_flt.load(Ordering::Relaxed),
        maj_flt: task.maj_flt.load(Ordering::Relaxed),
        utime,
        stime,
    }
}

/// Linux: do_task_stat() in fs/proc/array.c (52 fields; times in ticks,
/// scaled to the run time; `whole` for the process's line; field 18 is
/// prio - 100, so -1 - rt_priority for an RT task and 20 + nice for a fair
/// one; 25 the RLIMIT_RSS soft limit; 35 whether the task sleeps, 0 in the
/// line of a process of several threads; 39 the CPU the task is on or last
/// ran on; 40 rt_priority, 41 policy; 52 the exit code)
/// Differs: the code and data bounds (26, 27, 45, 46) are 0 to a permitted
/// reader.
fn do_task_stat(task: &TaskStruct, whole: bool) -> Vec<u8> {
    let sig = task.signal();
    let counts = stat_counts(task, whole);
    let children = *sig.children.lock();
    let rsslim = sig.rlim.lock().0[crate::resource::RLIMIT_RSS].rlim_cur;
    // The mm is taken out of the task's lock before its own lock is taken
    // (Linux: get_task_mm()), so no `task.mm -> mm.mmap` order exists.
    let mm = task.mm.lock().clone();
    let permitted = crate::ptrace::ptrace_may_access(task, crate::ptrace::PTRACE_MODE_READ_FSCREDS);
    let layout = mm
        .as_ref()
        .map_or_else(StatMm::default, |mm| StatMm::of(mm, permitted));
    let num_threads = get_nr_threads(task);
    let wchan = permitted && (!whole || num_threads < 2) && task_state_to_char(task) != 'R';
    let ns = reader_ns();
    let mut s = alloc::format!(
        ") {} {} {} {} 0 -1 {} {} {} {} {} {} {} {} {} {} {} {} 0 {} {} {} {rsslim} ",
        task_state_to_char(task),
        ppid(task, &ns),
        pgrp_nr_ns(sig.pgrp.load(Ordering::Relaxed), &ns),
        pgrp_nr_ns(sig.session.load(Ordering::Relaxed), &ns),
        task.flags(),
        counts.min_flt,
        children.minflt,
        counts.maj_flt,
        children.majflt,
        nsec_to_clock_t(counts.utime),
        nsec_to_clock_t(counts.stime),
        nsec_to_clock_t(children.utime),
        nsec_to_clock_t(children.stime),
        crate::sched::nice::task_prio(task),
        crate::sched::nice::task_nice(task),
        num_threads,
        nsec_to_clock_t(task.start_time),
        layout.vsize,
        layout.rss,
    );
    stat_fields_26_to_52(&mut s, task, &layout, permitted, wchan);
    let mut line = alloc::format!("{} (", task_pid_nr_ns(task, &ns)).into_bytes();
    proc_task_name(&mut line, task, false);
    line.extend_from_slice(s.as_bytes());
    line
}

/// The second half of a stat line: addresses, the signal sets, wchan,
/// scheduling, the bounds of the data and the strings, the exit code.
///
/// Linux: the second half of do_task_stat() in fs/proc/array.c
fn stat_fields_26_to_52(
    s: &mut String,
    task: &TaskStruct,
    layout: &StatMm,
    permitted: bool,
    wchan: bool,
) {
    let (ignored, caught) = ignored_and_caught(task);
    // The four sets in the old decimal form, the first 31 signals only.
    let low = |set: u64| set & 0x7fff_ffff;
    let _ = writeln!(
        s,
        "{} {} {} 0 0 {} {} {} {} {} 0 0 {} {} {} {} 0 0 0 {} {} {} {} {} {} {} {}",
        layout.start_code,
        layout.end_code,
        layout.start_stack,
        low(task.pending.signal()),
        low(task.blocked.load(Ordering::Relaxed)),
        low(ignored),
        low(caught),
        u8::from(wchan),
        task.exit_signal.load(Ordering::Relaxed),
        crate::sched::migrate::task_cpu(task),
        task.rt_priority.load(Ordering::Relaxed),
        task.policy.load(Ordering::Relaxed),
        layout.start_data,
        layout.end_data,
        layout.start_brk,
        layout.args.arg_start,
        layout.args.arg_end,
        layout.args.env_start,
        layout.args.env_end,
        if permitted {
            task.exit_code.load(Ordering::Relaxed)
        } else {
            0
        },
    );
}

/// The address-space numbers of a stat line; those that show where things
/// are only for a reader that may trace the task (Linux: `permitted`).
#[derive(Default)]
struct StatMm {
    vsize: u64,
    rss: usize,
    start_code: u64,
    end_code: u64,
    start_stack: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    args: crate::mm::mm_types::MmArgs,
}

impl StatMm {
    /// Differs: code and data bounds are not kept apart from the areas, so
    /// a permitted reader sees 0 for them as well as an unpermitted one
    /// sees Linux's 1, 1 for the code and 0 for the rest.
    fn of(mm: &crate::mm::mm_types::MmStruct, permitted: bool) -> StatMm {
        let map = mm.mmap.lock();
        let vsize = map.vmas.iter().map(|v| v.vm_end - v.vm_start).sum::<u64>();
        let (start_stack, start_brk) = (map.start_stack, map.start_brk);
        drop(map);
        let base = StatMm {
            vsize,
            rss: mm.get_mm_rss(),
            ..StatMm::default()
        };
        if !permitted {
            return StatMm {
                start_code: 1,
                end_code: 1,
                ..base
            };
        }
        StatMm {
            start_stack,
            start_brk,
            args: *mm.arg_lock.lock(),
            ..base
        }
    }
}

/// The state as status shows it (Linux: task_state_array).
fn get_task_state(task: &TaskStruct) -> &'static str {
    match task_state_to_char(task) {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'D' => "D (disk sleep)",
        'T' => "T (stopped)",
        't' => "t (tracing stop)",
        'P' => "P (parked)",
        'I' => "I (idle)",
        'Z' => "Z (zombie)",
        _ => "X (dead)",
    }
}

/// The task's comm as its bytes, or, for status (`escape`), with a newline
/// shown as `\n` and a backslash as `\\`, so that the line stays one line.
///
/// Linux: proc_task_name() in fs/proc/array.c (seq_escape_str() with
/// ESCAPE_SPACE | ESCAPE_SPECIAL, limited to `"\n\\"`)
pub fn proc_task_name(out: &mut Vec<u8>, task: &TaskStruct, escape: bool) {
    for &b in task.comm().as_bytes() {
        match b {
            b'\n' if escape => out.extend_from_slice(b"\\n"),
            b'\\' if escape => out.extend_from_slice(b"\\\\"),
            b => out.push(b),
        }
    }
}

/// Umask, State and the ids, up to Kthread.
///
/// Linux: task_state() in fs/proc/array.c
fn task_state(s: &mut String, task: &TaskStruct) {
    if let Some(fs) = task.fs.lock().as_ref() {
        let _ = writeln!(s, "Umask:\t{:04o}", fs.umask.load(Ordering::Relaxed));
    }
    let ns = reader_ns();
    let (tgid, pid, ppid) = (
        task_tgid_nr_ns(task, &ns),
        task_pid_nr_ns(task, &ns),
        ppid(task, &ns),
    );
    let tracer = tracer_pid(task, &ns);
    let sig = task.signal();
    let (pgrp, session) = (
        sig.pgrp.load(Ordering::Relaxed),
        sig.session.load(Ordering::Relaxed),
    );
    let nstgid = ns_numbers(task, &ns, |n| task_tgid_nr_ns(task, n));
    let nspid = ns_numbers(task, &ns, |n| task_pid_nr_ns(task, n));
    let nspgid = ns_numbers(task, &ns, |n| pgrp_nr_ns(pgrp, n));
    let nssid = ns_numbers(task, &ns, |n| pgrp_nr_ns(session, n));
    let cred = crate::cred::task_cred(task);
    // Linux's line ends in a space it keeps for compatibility.
    let mut groups = String::new();
    for (i, gid) in cred.group_info.groups().iter().enumerate() {
        let _ = write!(groups, "{}{gid}", if i > 0 { " " } else { "" });
    }
    groups.push(' ');
    let fdsize = task
        .files
        .lock()
        .as_ref()
        .map_or(0, |f| f.fdt.lock().len().max(64).next_power_of_two());
    let _ = write!(
        s,
        "State:\t{}\nTgid:\t{tgid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t{tracer}\n\
         Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{fdsize}\nGroups:\t{groups}\n\
         NStgid:\t{nstgid}\nNSpid:\t{nspid}\nNSpgid:\t{nspgid}\nNSsid:\t{nssid}\nKthread:\t{}\n",
        get_task_state(task),
        cred.uid,
        cred.euid,
        cred.suid,
        cred.fsuid,
        cred.gid,
        cred.egid,
        cred.sgid,
        cred.fsgid,
        u8::from(task.is_kthread()),
    );
}

/// The signals the task ignores and those it catches, as two sets.
///
/// Linux: collect_sigign_sigcatch() in fs/proc/array.c
fn ignored_and_caught(task: &TaskStruct) -> (u64, u64) {
    let bit = |sig: usize| 1u64 << (sig - 1);
    let (mut ignored, mut caught) = (0, 0);
    if let Some(sighand) = task.sighand.lock().as_ref() {
        for sig in 1..=_NSIG {
            match sighand.get(sig as i32).handler {
                SIG_DFL => {}
                SIG_IGN => ignored |= bit(sig),
                _ => caught |= bit(sig),
            }
        }
    }
    (ignored, caught)
}

/// The pending (the thread's own and its process's), blocked, ignored and
/// caught signal sets; SigQ is the user's queued siginfos over its
/// RLIMIT_SIGPENDING.
///
/// Linux: task_sig() and render_sigset_t() in fs/proc/array.c
fn task_sig(s: &mut String, task: &TaskStruct) {
    let (ignored, caught) = ignored_and_caught(task);
    let qsize = crate::user::task_user(task)
        .sigpending
        .load(Ordering::Relaxed);
    let qlim = task.signal().rlim.lock().0[crate::resource::RLIMIT_SIGPENDING].rlim_cur;
    let _ = write!(
        s,
        "SigQ:\t{qsize}/{qlim}\nSigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\n\
         SigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}\n",
        task.pending.signal(),
        task.signal().shared_pending.signal(),
        task.blocked.load(Ordering::Relaxed),
    );
}

/// The capability sets of the task's credentials, then its no_new_privs
/// bit and (never set here) seccomp mode.
///
/// Linux: task_cap() and task_seccomp() in fs/proc/array.c
fn task_cap(s: &mut String, task: &TaskStruct) {
    let cred = crate::cred::task_cred(task);
    let nnp = task.atomic_flags.load(Ordering::Relaxed) & crate::task::PFA_NO_NEW_PRIVS != 0;
    let _ = write!(
        s,
        "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\n\
         CapAmb:\t{:016x}\nNoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0\n",
        cred.cap_inheritable.0,
        cred.cap_permitted.0,
        cred.cap_effective.0,
        cred.cap_bset.0,
        cred.cap_ambient.0,
        u8::from(nnp),
    );
}

/// The CPUs the task may run on, as a mask and as a list.
///
/// Linux: task_cpus_allowed() in fs/proc/array.c
fn task_cpus_allowed(s: &mut String, task: &TaskStruct) {
    let (mask, nbits) = (task.cpus_mask().bits(), crate::cpumask::nr_cpu_ids());
    let _ = write!(
        s,
        "Cpus_allowed:\t{}\nCpus_allowed_list:\t{}\n",
        crate::cpumask::bitmap_string(mask, nbits),
        crate::cpumask::bitmap_list_string(mask, nbits),
    );
}

/// The memory nodes the task may allocate from: node 0, the only one, as
/// in a Linux built without NUMA (MAX_NUMNODES 1).
///
/// Linux: cpuset_task_status_allowed() in kernel/cgroup/cpuset.c
fn cpuset_task_status_allowed(s: &mut String) {
    let _ = write!(
        s,
        "Mems_allowed:\t{}\nMems_allowed_list:\t{}\n",
        crate::cpumask::bitmap_string(1, 1),
        crate::cpumask::bitmap_list_string(1, 1),
    );
}

/// `/proc/<pid>/status`, line for line as Linux orders it.
///
/// Linux: proc_pid_status() in fs/proc/array.c
pub fn proc_pid_status(task: &TaskStruct) -> Vec<u8> {
    let mut name = b"Name:\t".to_vec();
    proc_task_name(&mut name, task, true);
    name.push(b'\n');
    let mut s = String::new();
    task_state(&mut s, task);
    if let Some(mm) = task.mm.lock().clone() {
        super::task_mmu::task_mem(&mut s, &mm);
        // Linux: task_core_dumping() in fs/proc/array.c
        let dumping = u8::from(task.signal().core_state.lock().is_some());
        let _ = writeln!(s, "CoreDumping:\t{dumping}\nTHP_enabled:\t0");
    }
    let _ = writeln!(s, "Threads:\t{}", get_nr_threads(task));
    task_sig(&mut s, task);
    task_cap(&mut s, task);
    task_cpus_allowed(&mut s, task);
    cpuset_task_status_allowed(&mut s);
    let _ = write!(
        s,
        "voluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n",
        task.nvcsw.load(Ordering::Relaxed),
        task.nivcsw.load(Ordering::Relaxed),
    );
    name.extend_from_slice(s.as_bytes());
    name
}

/// `/proc/<pid>/statm`: size, resident, shared, text, lib, data and dt,
/// in pages; all 0 for a task without memory (a zombie, a kernel thread).
///
/// Linux: proc_pid_statm() in fs/proc/array.c
pub fn proc_pid_statm(task: &TaskStruct) -> String {
    let mm = task.mm.lock().clone();
    let statm = mm.map_or_else(Default::default, |mm| super::task_mmu::task_statm(&mm));
    alloc::format!(
        "{} {} {} {} 0 {} 0\n",
        statm.size,
        statm.resident,
        statm.shared,
        statm.text,
        statm.data
    )
}
