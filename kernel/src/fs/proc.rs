//! A small /proc in Linux's formats: meminfo, stat, loadavg, uptime,
//! vmstat, and for every process a directory with stat, status and
//! cmdline, enough for `ps` and `top`. Text is generated when a file is
//! opened.
//!
//! Linux: fs/proc/ (root.c, base.c, array.c, meminfo.c, stat.c, loadavg.c,
//! uptime.c)

use super::file::{FileOperations, Kstat, S_IFDIR, S_IFREG};
use super::ramfs::{Inode, InodeKind, root};
use crate::errno::Errno;
use crate::pid::{PidNr, find_task_by_vpid};
use crate::sched::cputime::{KCPUSTAT, nsec_to_clock_t};
use crate::sched::debug::task_state_to_char;
use crate::sched::loadavg::{FIXED_1, FSHIFT, get_avenrun};
use crate::sysctl::{CtlTable, proc_dointvec_minmax_write, proc_dointvec_read};
use crate::task::TaskStruct;
use crate::tasklist::TASKLIST_LOCK;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

/// Which file of `/proc/<pid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidEntry {
    /// `/proc/<pid>/stat` (Linux: do_task_stat() in fs/proc/array.c).
    Stat,
    /// `/proc/<pid>/status` (Linux: proc_pid_status()).
    Status,
    /// `/proc/<pid>/cmdline` (Linux: proc_pid_cmdline_read()).
    Cmdline,
    /// `/proc/<pid>/limits` (Linux: proc_pid_limits()).
    Limits,
    /// `/proc/<pid>/oom_score` (Linux: proc_oom_score()).
    OomScore,
    /// `/proc/<pid>/oom_score_adj`, writable (Linux: oom_score_adj_read/write()).
    OomScoreAdj,
}

const PID_ENTRIES: [(&str, PidEntry); 6] = [
    ("stat", PidEntry::Stat),
    ("status", PidEntry::Status),
    ("cmdline", PidEntry::Cmdline),
    ("limits", PidEntry::Limits),
    ("oom_score", PidEntry::OomScore),
    ("oom_score_adj", PidEntry::OomScoreAdj),
];

/// The text of a /proc file, fixed at open so that reads are consistent.
pub struct ProcFile {
    text: Vec<u8>,
    ino: u64,
    /// The process file this is, for the writable ones.
    pid_entry: Option<(PidNr, PidEntry)>,
    /// The sysctl this is, for the writable /proc/sys files.
    sysctl: Option<&'static CtlTable>,
}

impl ProcFile {
    /// Generates the contents of `inode`.
    pub fn open(inode: &Inode) -> Result<ProcFile, Errno> {
        let (text, pid_entry) = match &inode.kind {
            InodeKind::Proc(generate) => (generate().into_bytes(), None),
            InodeKind::Sysctl(table) => (proc_dointvec_read(table).into_bytes(), None),
            InodeKind::ProcPidFile(pid, entry) => {
                let task = find_task_by_vpid(*pid).ok_or(Errno::ESRCH)?;
                (pid_file(&task, *entry)?, Some((*pid, *entry)))
            }
            _ => return Err(Errno::EINVAL),
        };
        let sysctl = match inode.kind {
            InodeKind::Sysctl(table) => Some(table),
            _ => None,
        };
        Ok(ProcFile {
            text,
            ino: inode.ino,
            pid_entry,
            sysctl,
        })
    }
}

impl FileOperations for ProcFile {
    fn read(&self, buf: &mut [u8], pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        let bytes = &self.text;
        let start = (pos as usize).min(bytes.len());
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    fn write(&self, buf: &[u8], pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        if let Some(table) = self.sysctl {
            return proc_dointvec_minmax_write(table, buf, pos);
        }
        match self.pid_entry {
            Some((pid, PidEntry::OomScoreAdj)) => oom_score_adj_write(pid, buf),
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> Kstat {
        Kstat {
            ino: self.ino,
            mode: S_IFREG | if self.sysctl.is_some() { 0o644 } else { 0o444 },
            nlink: 1,
            ..Kstat::default()
        }
    }
}

/// Linux: meminfo_proc_show() in fs/proc/meminfo.c
fn meminfo() -> String {
    let total = crate::mm::page_alloc::totalram_pages() * 4;
    let free = crate::mm::page_alloc::nr_free_pages() * 4;
    let mut s = String::new();
    let _ = writeln!(s, "MemTotal:       {total:8} kB");
    let _ = writeln!(s, "MemFree:        {free:8} kB");
    let _ = writeln!(s, "MemAvailable:   {free:8} kB");
    let cached = crate::mm::filemap::nr_file_pages() * 4;
    let _ = writeln!(s, "Cached:         {cached:8} kB");
    let stacks = crate::mm::vmalloc::nr_kernel_stack_kb();
    let _ = writeln!(s, "KernelStack:    {stacks:8} kB");
    s
}

/// Linux: vmstat_show() in mm/vmstat.c. Differs: only the counters this
/// kernel keeps; `cow_copy` and `cow_reuse` are ours (Linux folds them
/// into pgfault).
fn vmstat() -> String {
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

/// `/proc/sys/vm/mmap_min_addr`. Differs: read-only; Linux lets root
/// change it.
///
/// Linux: the vm.mmap_min_addr sysctl in mm/mmap.c
fn mmap_min_addr() -> String {
    alloc::format!("{}\n", crate::mm::mmap::MMAP_MIN_ADDR)
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
fn uptime() -> String {
    let idle = KCPUSTAT.idle.load(Ordering::Relaxed);
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

/// CPU times in USER_HZ ticks (user nice system idle iowait irq softirq
/// steal guest guest_nice), then the system-wide counters.
///
/// Linux: show_stat() in fs/proc/stat.c. Differs: one `cpu0` line, and no
/// `intr`/`softirq` counts, which this kernel does not keep.
fn stat_file() -> String {
    let t = |a: &core::sync::atomic::AtomicU64| nsec_to_clock_t(a.load(Ordering::Relaxed));
    let (user, system, idle) = (t(&KCPUSTAT.user), t(&KCPUSTAT.system), t(&KCPUSTAT.idle));
    let mut s = String::new();
    for cpu in ["cpu ", "cpu0"] {
        let _ = writeln!(s, "{cpu} {user} 0 {system} {idle} 0 0 0 0 0 0");
    }
    let _ = writeln!(s, "ctxt {}", crate::sched::core::nr_context_switches());
    let _ = writeln!(s, "btime {}", crate::timekeeping::boot_time_secs());
    let _ = writeln!(s, "processes {}", crate::tasklist::total_forks());
    let _ = writeln!(s, "procs_running {}", count_tasks('R'));
    let _ = writeln!(s, "procs_blocked {}", count_tasks('D'));
    s
}

/// The 1, 5 and 15 minute load averages, runnable/all tasks, the last pid.
///
/// Linux: loadavg_proc_show() in fs/proc/loadavg.c
fn loadavg() -> String {
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

fn ppid(task: &TaskStruct) -> PidNr {
    let tasklist = TASKLIST_LOCK.lock();
    task.family
        .get(&tasklist)
        .real_parent
        .upgrade()
        .map_or(0, |p| p.tgid())
}

/// Linux: do_task_stat() in fs/proc/array.c (fields 1-24; times in ticks)
/// Differs: utime and stime are the thread's, not summed over its group.
fn stat(task: &TaskStruct) -> String {
    let sig = task.signal();
    let children = *sig.children.lock();
    let vsize = task.mm.lock().as_ref().map_or(0, |mm| {
        mm.mmap
            .lock()
            .vmas
            .iter()
            .map(|v| v.vm_end - v.vm_start)
            .sum::<u64>()
    });
    alloc::format!(
        "{} ({}) {} {} {} {} 0 -1 {} {} {} {} {} {} {} {} {} 20 0 {} 0 {} {} 0 18446744073709551615\n",
        task.pid(),
        task.comm().as_str(),
        task_state_to_char(task),
        ppid(task),
        sig.pgrp.load(Ordering::Relaxed),
        sig.session.load(Ordering::Relaxed),
        task.flags(),
        task.min_flt.load(Ordering::Relaxed),
        children.minflt,
        task.maj_flt.load(Ordering::Relaxed),
        children.majflt,
        nsec_to_clock_t(task.utime.load(Ordering::Relaxed)),
        nsec_to_clock_t(task.stime.load(Ordering::Relaxed)),
        nsec_to_clock_t(children.utime),
        nsec_to_clock_t(children.stime),
        crate::tasklist::thread_group(task.tgid()).len().max(1),
        nsec_to_clock_t(task.start_time),
        vsize,
    )
}

/// Linux: proc_pid_status() in fs/proc/array.c (the lifecycle fields)
fn status(task: &TaskStruct) -> String {
    let state = match task_state_to_char(task) {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'D' => "D (disk sleep)",
        'T' => "T (stopped)",
        'P' => "P (parked)",
        'Z' => "Z (zombie)",
        _ => "X (dead)",
    };
    alloc::format!(
        "Name:\t{}\nState:\t{state}\nTgid:\t{}\nPid:\t{}\nPPid:\t{}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\n",
        task.comm().as_str(),
        task.tgid(),
        task.pid(),
        ppid(task)
    )
}

/// Sets a process's oom_score_adj from the text written: a decimal number
/// in -1000..=1000, with optional sign and surrounding white space.
///
/// Linux: oom_score_adj_write() in fs/proc/base.c
///
/// # Errors
/// `EINVAL` for anything else, `ESRCH` if the process is gone.
fn oom_score_adj_write(pid: PidNr, buf: &[u8]) -> Result<usize, Errno> {
    use crate::mm::oom_kill::{OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN};
    // Linux reads at most PROC_NUMBUF - 1 bytes and ignores the rest.
    let text = &buf[..buf.len().min(12)];
    let value: i16 = core::str::from_utf8(text)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .filter(|v| (OOM_SCORE_ADJ_MIN..=OOM_SCORE_ADJ_MAX).contains(v))
        .ok_or(Errno::EINVAL)?;
    let task = find_task_by_vpid(pid).ok_or(Errno::ESRCH)?;
    task.signal().oom_score_adj.store(value, Ordering::Relaxed);
    Ok(text.len())
}

fn pid_file(task: &TaskStruct, entry: PidEntry) -> Result<Vec<u8>, Errno> {
    match entry {
        PidEntry::OomScore => {
            Ok(alloc::format!("{}\n", crate::mm::oom_kill::oom_score(task)).into_bytes())
        }
        PidEntry::OomScoreAdj => {
            let adj = task.signal().oom_score_adj.load(Ordering::Relaxed);
            Ok(alloc::format!("{adj}\n").into_bytes())
        }
        PidEntry::Stat => Ok(stat(task).into_bytes()),
        PidEntry::Status => Ok(status(task).into_bytes()),
        PidEntry::Cmdline => {
            let Some(mm) = task.mm.lock().clone() else {
                return Ok(Vec::new());
            };
            let cmdline = mm.cmdline.lock();
            let mut bytes = Vec::new();
            bytes
                .try_reserve_exact(cmdline.len())
                .map_err(|_| Errno::ENOMEM)?;
            bytes.extend_from_slice(&cmdline);
            Ok(bytes)
        }
        PidEntry::Limits => Ok(proc_pid_limits(task).into_bytes()),
    }
}

/// Each limit's name and unit in `/proc/<pid>/limits`, in RLIMIT_* order.
const LIMIT_NAMES: [(&str, &str); crate::resource::RLIM_NLIMITS] = [
    ("Max cpu time", "seconds"),
    ("Max file size", "bytes"),
    ("Max data size", "bytes"),
    ("Max stack size", "bytes"),
    ("Max core file size", "bytes"),
    ("Max resident set", "bytes"),
    ("Max processes", "processes"),
    ("Max open files", "files"),
    ("Max locked memory", "bytes"),
    ("Max address space", "bytes"),
    ("Max file locks", "locks"),
    ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"),
    ("Max nice priority", ""),
    ("Max realtime priority", ""),
    ("Max realtime timeout", "us"),
];

/// A table of the process's soft and hard limits, "unlimited" for infinity.
///
/// Linux: proc_pid_limits() in fs/proc/base.c
fn proc_pid_limits(task: &TaskStruct) -> String {
    let rlim = *task.signal().rlim.lock();
    let value = |v: u64| match v {
        crate::resource::RLIM_INFINITY => String::from("unlimited"),
        v => alloc::format!("{v}"),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<25} {:<20} {:<20} {:<10}",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (limit, (name, unit)) in rlim.0.iter().zip(LIMIT_NAMES) {
        let _ = write!(
            s,
            "{name:<25} {:<20} {:<20} ",
            value(limit.rlim_cur),
            value(limit.rlim_max)
        );
        let _ = match unit {
            "" => writeln!(s),
            unit => writeln!(s, "{unit:<10}"),
        };
    }
    s
}

/// Looks up a name in /proc or `/proc/<pid>`.
///
/// Linux: proc_root_lookup() / proc_pid_lookup() in fs/proc/base.c
pub fn proc_lookup(dir: &Inode, name: &[u8]) -> Result<Arc<Inode>, Errno> {
    match &dir.kind {
        InodeKind::ProcRoot(fixed) => {
            if let Some(inode) = fixed.lock().get(name) {
                return Ok(inode.clone());
            }
            let pid = if name == b"self" {
                crate::task::current().tgid()
            } else {
                core::str::from_utf8(name)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or(Errno::ENOENT)?
            };
            find_task_by_vpid(pid).ok_or(Errno::ENOENT)?;
            Ok(Inode::new(InodeKind::ProcPid(pid), 0o555))
        }
        InodeKind::ProcPid(pid) => {
            let (_, entry) = PID_ENTRIES
                .iter()
                .find(|(n, _)| n.as_bytes() == name)
                .ok_or(Errno::ENOENT)?;
            let mode = match entry {
                PidEntry::OomScoreAdj => 0o644,
                _ => 0o444,
            };
            Ok(Inode::new(InodeKind::ProcPidFile(*pid, *entry), mode))
        }
        _ => Err(Errno::ENOTDIR),
    }
}

/// Lists /proc (fixed entries, then one per process) or `/proc/<pid>`.
///
/// Linux: proc_root_readdir() / proc_pid_readdir() in fs/proc/base.c
pub fn proc_readdir(dir: &Inode, index: usize) -> Option<(Vec<u8>, u64, u8)> {
    match &dir.kind {
        InodeKind::ProcRoot(fixed) => {
            let fixed: Vec<(Vec<u8>, u64)> = fixed
                .lock()
                .iter()
                .map(|(n, i)| (n.clone(), i.ino))
                .collect();
            if let Some((name, ino)) = fixed.get(index) {
                return Some((name.clone(), *ino, 8));
            }
            let pids: Vec<PidNr> = TASKLIST_LOCK
                .lock()
                .tasks
                .iter()
                .filter(|t| t.pid() == t.tgid())
                .map(|t| t.pid())
                .collect();
            pids.get(index - fixed.len()).map(|pid| {
                (
                    alloc::format!("{pid}").into_bytes(),
                    0x1000_0000 + *pid as u64,
                    (S_IFDIR >> 12) as u8,
                )
            })
        }
        InodeKind::ProcPid(pid) => PID_ENTRIES.get(index).map(|(n, _)| {
            (
                n.as_bytes().to_vec(),
                0x2000_0000 + *pid as u64 * 8 + index as u64,
                8,
            )
        }),
        _ => None,
    }
}

/// The value of a numeric sysctl, one line.
fn sysctl(value: &core::sync::atomic::AtomicUsize) -> String {
    alloc::format!("{}\n", value.load(Ordering::Relaxed))
}

/// /proc/sys: fs with the open-file count and limit and the pipe limits,
/// vm with the mapping limits and kflushd's interval. Differs: only
/// kflushd_centisecs is writable; Linux lets root write them all.
///
/// Linux: proc_sys_init() in fs/proc/proc_sysctl.c
fn proc_sys_init(proc: &Inode) {
    use super::file::{NR_FILES, files_stat_max_files};
    use super::pipe::{PIPE_MAX_SIZE, PIPE_USER_PAGES_HARD, PIPE_USER_PAGES_SOFT};
    let sys = Inode::new_dir(0o555);
    let fs = Inode::new_dir(0o555);
    for (name, generate) in [
        (
            "file-max",
            (|| alloc::format!("{}\n", files_stat_max_files())) as fn() -> String,
        ),
        ("file-nr", || {
            let nr = NR_FILES.load(Ordering::Relaxed);
            alloc::format!("{nr}\t0\t{}\n", files_stat_max_files())
        }),
        ("pipe-max-size", || sysctl(&PIPE_MAX_SIZE)),
        ("pipe-user-pages-hard", || sysctl(&PIPE_USER_PAGES_HARD)),
        ("pipe-user-pages-soft", || sysctl(&PIPE_USER_PAGES_SOFT)),
    ] {
        let _ = fs.link(
            name.as_bytes(),
            Inode::new(InodeKind::Proc(generate), 0o644),
        );
    }
    let _ = sys.link(b"fs", fs);
    let vm = Inode::new_dir(0o555);
    let _ = vm.link(
        b"mmap_min_addr",
        Inode::new(InodeKind::Proc(mmap_min_addr), 0o444),
    );
    for table in [
        &crate::kflushd::KFLUSHD_SYSCTL,
        &crate::mm::mmap::MAX_MAP_COUNT_SYSCTL,
    ] {
        let _ = vm.link(
            table.procname.as_bytes(),
            Inode::new(InodeKind::Sysctl(table), 0o644),
        );
    }
    let _ = sys.link(b"vm", vm);
    let _ = proc.link(b"sys", sys);
}

/// Creates /proc and its fixed files.
///
/// Linux: proc_root_init() in fs/proc/root.c
pub fn proc_root_init() {
    let proc = Inode::new(InodeKind::ProcRoot(Default::default()), 0o555);
    proc_sys_init(&proc);
    for (name, generate) in [
        ("meminfo", meminfo as fn() -> String),
        ("stat", stat_file),
        ("loadavg", loadavg),
        ("uptime", uptime),
        ("vmstat", vmstat),
    ] {
        let _ = proc.link(
            name.as_bytes(),
            Inode::new(InodeKind::Proc(generate), 0o444),
        );
    }
    let _ = root().link(b"proc", proc);
}
