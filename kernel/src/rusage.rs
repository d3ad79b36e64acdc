//! Resource usage: what getrusage() and wait4() report about a thread, a
//! process, or its reaped children. A thread counts its own CPU time,
//! faults and context switches; a process adds those of its threads that
//! have exited (kept in the signal struct when each is released); a
//! parent collects its children's totals when it reaps them.
//!
//! Linux: getrusage() and accumulate_thread_rusage() in kernel/sys.c, the
//! sums of __exit_signal() and wait_task_zombie() in kernel/exit.c; in its
//! own file here because sys.rs is long.

use crate::errno::Errno;
use crate::mm::uaccess::put_user;
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use crate::tasklist::TASKLIST_LOCK;
use core::sync::atomic::Ordering;

/// The calling process (Linux: RUSAGE_SELF).
pub const RUSAGE_SELF: i32 = 0;
/// Its reaped children (Linux: RUSAGE_CHILDREN).
pub const RUSAGE_CHILDREN: i32 = -1;
/// The calling thread (Linux: RUSAGE_THREAD).
pub const RUSAGE_THREAD: i32 = 1;

/// Resource counts of a thread, a process or its children; times in ns,
/// maxrss in KiB (Linux: the fields of `struct rusage` that it fills).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    /// User CPU time (Linux: ru_utime).
    pub utime: u64,
    /// System CPU time (Linux: ru_stime).
    pub stime: u64,
    /// Run time as the scheduler charged it, in ns (Linux:
    /// sum_exec_runtime, and signal->sum_sched_runtime for dead threads).
    pub sum_exec_runtime: u64,
    /// Largest resident set, in KiB (Linux: ru_maxrss).
    pub maxrss: u64,
    /// Faults served without I/O (Linux: ru_minflt).
    pub minflt: u64,
    /// Faults that needed I/O (Linux: ru_majflt).
    pub majflt: u64,
    /// Voluntary context switches (Linux: ru_nvcsw).
    pub nvcsw: u64,
    /// Involuntary context switches (Linux: ru_nivcsw).
    pub nivcsw: u64,
}

impl Rusage {
    /// One thread's own counts, its utime and stime as the ticks sampled
    /// them (Linux: accumulate_thread_rusage() plus task_cputime()).
    pub fn of_task(t: &TaskStruct) -> Rusage {
        Rusage {
            utime: t.utime.load(Ordering::Relaxed),
            stime: t.stime.load(Ordering::Relaxed),
            sum_exec_runtime: crate::sched::core::task_sched_runtime(t),
            maxrss: 0,
            minflt: t.min_flt.load(Ordering::Relaxed),
            majflt: t.maj_flt.load(Ordering::Relaxed),
            nvcsw: t.nvcsw.load(Ordering::Relaxed),
            nivcsw: t.nivcsw.load(Ordering::Relaxed),
        }
    }

    /// Adds `other`'s counts; maxrss keeps the larger.
    pub fn add(&mut self, other: &Rusage) {
        self.utime += other.utime;
        self.stime += other.stime;
        self.sum_exec_runtime += other.sum_exec_runtime;
        self.maxrss = self.maxrss.max(other.maxrss);
        self.minflt += other.minflt;
        self.majflt += other.majflt;
        self.nvcsw += other.nvcsw;
        self.nivcsw += other.nivcsw;
    }

    /// The 144-byte `struct rusage` of x86_64: two timevals, then fourteen
    /// longs of which Linux fills maxrss, minflt, majflt, nvcsw and nivcsw.
    pub fn to_user(&self) -> [u64; 18] {
        let mut words = [0u64; 18];
        words[0] = self.utime / 1_000_000_000;
        words[1] = self.utime % 1_000_000_000 / 1000;
        words[2] = self.stime / 1_000_000_000;
        words[3] = self.stime % 1_000_000_000 / 1000;
        words[4] = self.maxrss;
        words[8] = self.minflt;
        words[9] = self.majflt;
        words[16] = self.nvcsw;
        words[17] = self.nivcsw;
        words
    }
}

/// The largest resident set `t`'s process has had, in KiB: of exited
/// threads and old mms (signal->maxrss) and of the mm it runs in now.
///
/// Linux: the maxrss part of getrusage() in kernel/sys.c
fn process_maxrss(t: &TaskStruct) -> u64 {
    let mm_pages = t.mm.lock().as_ref().map_or(0, |mm| mm.get_mm_hiwater_rss());
    let dead = t.signal().dead.lock().maxrss;
    dead.max((mm_pages * crate::mm::PAGE_SIZE / 1024) as u64)
}

/// A whole process's counts, its live threads' and its dead ones', with
/// utime and stime as sampled (not scaled) and its precise run time.
///
/// Linux: thread_group_cputime() in kernel/sched/cputime.c with the
/// RUSAGE_SELF loop of getrusage() in kernel/sys.c
pub fn thread_group_cputime(t: &TaskStruct) -> Rusage {
    let tasklist = TASKLIST_LOCK.lock();
    let mut r = *t.signal().dead.lock();
    for thread in crate::tasklist::for_each_thread(t, &tasklist) {
        r.add(&Rusage::of_task(thread));
    }
    r
}

/// A whole process's counts, utime and stime scaled to its run time, as
/// getrusage(RUSAGE_SELF), times() and `/proc/<pid>/stat` report them.
///
/// Linux: thread_group_cputime_adjusted() in kernel/sched/cputime.c, with
/// getrusage() in kernel/sys.c
pub fn thread_group_rusage(t: &TaskStruct) -> Rusage {
    let mut r = thread_group_cputime(t);
    (r.utime, r.stime) = crate::sched::cputime::cputime_adjust(
        &t.signal().prev_cputime,
        r.utime,
        r.stime,
        r.sum_exec_runtime,
    );
    r.maxrss = process_maxrss(t);
    r
}

/// What getrusage(`who`) reports for `t`.
///
/// Linux: getrusage() in kernel/sys.c
pub fn getrusage(t: &TaskStruct, who: i32) -> Rusage {
    match who {
        RUSAGE_THREAD => {
            let (utime, stime) = crate::sched::cputime::task_cputime_adjusted(t);
            Rusage {
                utime,
                stime,
                maxrss: process_maxrss(t),
                ..Rusage::of_task(t)
            }
        }
        RUSAGE_CHILDREN => *t.signal().children.lock(),
        _ => thread_group_rusage(t),
    }
}

/// A process and its reaped children together, as wait4 reports a child.
///
/// Linux: getrusage(p, RUSAGE_BOTH) in kernel/sys.c
pub fn getrusage_both(t: &TaskStruct) -> Rusage {
    let mut r = thread_group_rusage(t);
    r.add(&t.signal().children.lock());
    r
}

/// Linux: SYSCALL_DEFINE2(getrusage) in kernel/sys.c
pub fn sys_getrusage(who: i32, ru: u64) -> SysResult {
    if !matches!(who, RUSAGE_SELF | RUSAGE_CHILDREN | RUSAGE_THREAD) {
        return Err(Errno::EINVAL);
    }
    put_user(ru, getrusage(&current(), who).to_user())?;
    Ok(0)
}

/// A released thread's counts move into its process's, so the process
/// total does not shrink when a thread goes. The caller holds the tasklist
/// lock, under which thread_group_rusage() reads both.
///
/// Linux: the sig->utime, sig->stime, ... sums of __exit_signal() in kernel/exit.c
pub fn __exit_signal(p: &TaskStruct) {
    p.signal().dead.lock().add(&Rusage::of_task(p));
    crate::posix_cpu_timers::posix_cpu_timers_exit(p);
}

/// The largest resident set of an mm the process leaves, at exit or at
/// exec, goes into signal->maxrss.
///
/// Linux: setmax_mm_hiwater_rss() in include/linux/mm.h, from do_exit()
/// and exec_mmap()
pub fn setmax_mm_hiwater_rss(p: &TaskStruct, mm: &crate::mm::mm_types::MmStruct) {
    let kib = (mm.get_mm_hiwater_rss() * crate::mm::PAGE_SIZE / 1024) as u64;
    let mut dead = p.signal().dead.lock();
    dead.maxrss = dead.maxrss.max(kib);
}
