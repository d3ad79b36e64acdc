//! The per-process directories: `/proc/<pid>` and, for each thread,
//! `/proc/<pid>/task/<tid>`, with their files (stat, statm, status,
//! cmdline, environ, comm, maps, mounts, limits, wchan, oom_score,
//! oom_score_adj), the `exe` link and the fd/, fdinfo/ and ns/ directories.
//!
//! Linux: fs/proc/base.c (tgid_base_stuff, tid_base_stuff, proc_pid_lookup,
//! proc_task_lookup), fs/proc_namespace.c (mounts)
//! Not modelled: auxv, cwd, root, mem, the attr/ files.

use super::util::name_to_int;
use super::{fd, proc_symlink};
use crate::errno::Errno;
use crate::fs::file::S_IFDIR;
use crate::fs::ramfs::{Inode, InodeKind};
use crate::mm::PAGE_SIZE;
use crate::mm::memory::access_remote_vm;
use crate::mm::mm_types::{MmArgs, MmStruct};
use crate::pid::{PidNr, find_task_by_vpid};
use crate::task::TaskStruct;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// A directory below /proc, named by the task it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcDir {
    /// `/proc/<pid>`, for the process whose thread-group id it is.
    Tgid(PidNr),
    /// `/proc/<pid>/task`: one directory per thread.
    Task(PidNr),
    /// `/proc/<pid>/task/<tid>`: the thread `tid`.
    Tid(PidNr),
    /// `/proc/<pid>/fd`: one link per open descriptor.
    Fd(PidNr),
    /// `/proc/<pid>/fdinfo`: one file per open descriptor.
    FdInfo(PidNr),
    /// `/proc/<pid>/ns`: one link per kind of namespace.
    Ns(PidNr),
}

/// Which file of `/proc/<pid>` (or of `/proc/<pid>/task/<tid>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidEntry {
    /// `stat` of a process (Linux: proc_tgid_stat() in fs/proc/array.c).
    Stat,
    /// `stat` of a thread (Linux: proc_tid_stat() in fs/proc/array.c).
    TidStat,
    /// `statm` (Linux: proc_pid_statm() in fs/proc/array.c).
    Statm,
    /// `wchan` (Linux: proc_pid_wchan()).
    Wchan,
    /// `status` (Linux: proc_pid_status()).
    Status,
    /// `cmdline` (Linux: proc_pid_cmdline_read()).
    Cmdline,
    /// `environ`, readable by the owner (Linux: environ_read()).
    Environ,
    /// `comm`, writable by the process itself (Linux: comm_show/comm_write()).
    Comm,
    /// `maps` (Linux: show_map() in fs/proc/task_mmu.c).
    Maps,
    /// `mounts` (Linux: show_vfsmnt() in fs/proc_namespace.c).
    Mounts,
    /// `limits` (Linux: proc_pid_limits()).
    Limits,
    /// `oom_score` (Linux: proc_oom_score()).
    OomScore,
    /// `oom_score_adj`, writable (Linux: oom_score_adj_read/write()).
    OomScoreAdj,
    /// `schedstat` (Linux: proc_pid_schedstat()).
    Schedstat,
    /// `sched` (Linux: proc_sched_show_task() in kernel/sched/debug.c).
    Sched,
    /// `fdinfo/<fd>` (Linux: seq_show() in fs/proc/fd.c).
    FdInfo(i32),
}

/// An entry of a process directory: a directory or a file with its mode,
/// or a link whose target the function reads from the task.
#[derive(Clone, Copy)]
enum Base {
    Dir(fn(PidNr) -> ProcDir, u32),
    File(PidEntry, u32),
    Link(fn(&TaskStruct) -> Result<String, Errno>),
}

/// The entries of `/proc/<pid>` (Linux: tgid_base_stuff).
const TGID_BASE_STUFF: [(&str, Base); 19] = [
    ("task", Base::Dir(ProcDir::Task, 0o555)),
    ("fd", Base::Dir(ProcDir::Fd, 0o500)),
    ("fdinfo", Base::Dir(ProcDir::FdInfo, 0o555)),
    ("ns", Base::Dir(ProcDir::Ns, 0o511)),
    ("exe", Base::Link(proc_exe_link)),
    ("environ", Base::File(PidEntry::Environ, 0o400)),
    ("status", Base::File(PidEntry::Status, 0o444)),
    ("limits", Base::File(PidEntry::Limits, 0o444)),
    ("comm", Base::File(PidEntry::Comm, 0o644)),
    ("cmdline", Base::File(PidEntry::Cmdline, 0o444)),
    ("stat", Base::File(PidEntry::Stat, 0o444)),
    ("statm", Base::File(PidEntry::Statm, 0o444)),
    ("maps", Base::File(PidEntry::Maps, 0o444)),
    ("mounts", Base::File(PidEntry::Mounts, 0o444)),
    ("wchan", Base::File(PidEntry::Wchan, 0o444)),
    ("oom_score", Base::File(PidEntry::OomScore, 0o444)),
    ("oom_score_adj", Base::File(PidEntry::OomScoreAdj, 0o644)),
    ("schedstat", Base::File(PidEntry::Schedstat, 0o444)),
    ("sched", Base::File(PidEntry::Sched, 0o444)),
];

/// The entries of `/proc/<pid>/task/<tid>`: those of a process but `task`,
/// with the thread's own `stat` (Linux: tid_base_stuff).
const TID_BASE_STUFF: [(&str, Base); 18] = [
    ("fd", Base::Dir(ProcDir::Fd, 0o500)),
    ("fdinfo", Base::Dir(ProcDir::FdInfo, 0o555)),
    ("ns", Base::Dir(ProcDir::Ns, 0o511)),
    ("exe", Base::Link(proc_exe_link)),
    ("environ", Base::File(PidEntry::Environ, 0o400)),
    ("status", Base::File(PidEntry::Status, 0o444)),
    ("limits", Base::File(PidEntry::Limits, 0o444)),
    ("comm", Base::File(PidEntry::Comm, 0o644)),
    ("cmdline", Base::File(PidEntry::Cmdline, 0o444)),
    ("stat", Base::File(PidEntry::TidStat, 0o444)),
    ("statm", Base::File(PidEntry::Statm, 0o444)),
    ("maps", Base::File(PidEntry::Maps, 0o444)),
    ("mounts", Base::File(PidEntry::Mounts, 0o444)),
    ("wchan", Base::File(PidEntry::Wchan, 0o444)),
    ("oom_score", Base::File(PidEntry::OomScore, 0o444)),
    ("oom_score_adj", Base::File(PidEntry::OomScoreAdj, 0o644)),
    ("schedstat", Base::File(PidEntry::Schedstat, 0o444)),
    ("sched", Base::File(PidEntry::Sched, 0o444)),
];

/// The entries of a process's or a thread's directory.
fn base_stuff(dir: ProcDir) -> &'static [(&'static str, Base)] {
    match dir {
        ProcDir::Tgid(_) => &TGID_BASE_STUFF,
        _ => &TID_BASE_STUFF,
    }
}

/// The task a /proc inode names: inodes keep root-namespace numbers, as
/// Linux's keep a `struct pid`, so an open file stays with its task
/// whichever namespace reads it.
pub fn proc_task(pid: PidNr) -> Option<alloc::sync::Arc<TaskStruct>> {
    crate::pid::find_task_by_pid_ns(pid, crate::pid_namespace::init_pid_ns())
}

/// A new inode for a file or directory of `task`'s, owned as
/// task_dump_owner says.
///
/// Linux: proc_pid_make_inode() and pid_update_inode() in fs/proc/base.c
pub fn proc_pid_make_inode(task: &TaskStruct, kind: InodeKind, mode: u32) -> Arc<Inode> {
    let ps_stats_it = matches!(kind, InodeKind::ProcPid(_)) && mode == 0o555;
    let inode = Inode::new(kind, mode);
    let (uid, gid) = task_dump_owner(task, ps_stats_it);
    let mut attr = inode.i_attr.lock();
    attr.uid = uid;
    attr.gid = gid;
    drop(attr);
    inode
}

/// Who owns `task`'s /proc files: its effective user and group, so that a
/// process may write its own writable files there; root for a kernel
/// thread, and for files (not the world-readable directories, which `ps`
/// stats to learn the owner) of a process without memory or not dumpable.
///
/// Linux: task_dump_owner() in fs/proc/base.c
fn task_dump_owner(task: &TaskStruct, world_readable_dir: bool) -> (u32, u32) {
    if task.is_kthread() {
        return (0, 0);
    }
    let cred = crate::cred::task_cred(task);
    if world_readable_dir {
        return (cred.euid, cred.egid);
    }
    match task.mm.lock().as_ref() {
        Some(mm) if mm.get_dumpable() == crate::mm::mm_types::SUID_DUMP_USER => {
            (cred.euid, cred.egid)
        }
        _ => (0, 0),
    }
}

/// Looks up `name` in a directory below `/proc/<pid>`.
///
/// Linux: proc_pident_lookup() / proc_task_lookup() in fs/proc/base.c
///
/// # Errors
/// `ENOENT` for no such entry or a process that is gone.
pub fn proc_pid_lookup(dir: ProcDir, name: &[u8]) -> Result<Arc<Inode>, Errno> {
    match dir {
        ProcDir::Tgid(pid) | ProcDir::Tid(pid) => {
            let task = proc_task(pid).ok_or(Errno::ENOENT)?;
            let (_, entry) = base_stuff(dir)
                .iter()
                .find(|(n, _)| n.as_bytes() == name)
                .ok_or(Errno::ENOENT)?;
            let (kind, mode) = match *entry {
                Base::Dir(make, mode) => (InodeKind::ProcPid(make(pid)), mode),
                Base::File(entry, mode) => (InodeKind::ProcPidFile(pid, entry), mode),
                Base::Link(target) => return Ok(proc_symlink(target(&task)?)),
            };
            Ok(proc_pid_make_inode(&task, kind, mode))
        }
        ProcDir::Task(tgid) => {
            let tid = name_to_int(name).ok_or(Errno::ENOENT)?;
            let task = find_task_by_vpid(tid)
                .filter(|t| t.tgid() == tgid)
                .ok_or(Errno::ENOENT)?;
            Ok(proc_pid_make_inode(
                &task,
                InodeKind::ProcPid(ProcDir::Tid(task.pid())),
                0o555,
            ))
        }
        ProcDir::Fd(pid) => {
            let fd = name_to_int(name).ok_or(Errno::ENOENT)?;
            fd::proc_fd_instantiate(pid, fd)
        }
        ProcDir::Ns(pid) => super::namespaces::proc_ns_dir_lookup(pid, name),
        ProcDir::FdInfo(pid) => {
            let fd = name_to_int(name).ok_or(Errno::ENOENT)?;
            fd::proc_fd_link(pid, fd)?;
            Ok(Inode::new(
                InodeKind::ProcPidFile(pid, PidEntry::FdInfo(fd)),
                0o444,
            ))
        }
    }
}

/// The target of `/proc/<pid>/exe`: the path the process's program was
/// run by (BusyBox runs its applets again through `/proc/self/exe`).
///
/// Linux: proc_exe_link() in fs/proc/base.c, after
/// proc_fd_access_allowed()
/// Differs: a plain symlink to the path, where Linux's magic link is the
/// file itself (it still works once the file is renamed or removed).
///
/// # Errors
/// `EACCES` when the caller may not trace the task; `ENOENT` for a task
/// without a program (a kernel thread, a zombie).
fn proc_exe_link(task: &TaskStruct) -> Result<String, Errno> {
    if !crate::ptrace::ptrace_may_access(task, crate::ptrace::PTRACE_MODE_READ_FSCREDS) {
        return Err(Errno::EACCES);
    }
    let mm = task.mm.lock().clone().ok_or(Errno::ENOENT)?;
    let exe = mm.exe_file.lock().as_ref().map(|exe| exe.f_path().clone());
    let path = exe.ok_or(Errno::ENOENT)?;
    Ok(String::from_utf8_lossy(&path.name).into_owned())
}

/// Entry `index` of a directory below `/proc/<pid>`: name, inode number,
/// type.
///
/// Linux: proc_pident_readdir() / proc_task_readdir() in fs/proc/base.c,
/// proc_readfd_common() in fs/proc/fd.c
pub fn proc_pid_readdir(dir: ProcDir, index: usize) -> Option<(Vec<u8>, u64, u8)> {
    const DT_DIR: u8 = (S_IFDIR >> 12) as u8;
    const DT_REG: u8 = 8;
    const DT_LNK: u8 = 10;
    match dir {
        ProcDir::Tgid(pid) | ProcDir::Tid(pid) => {
            base_stuff(dir).get(index).map(|(name, entry)| {
                let ty = match entry {
                    Base::Dir(..) => DT_DIR,
                    Base::File(..) => DT_REG,
                    Base::Link(..) => DT_LNK,
                };
                let ino = 0x2000_0000 + pid as u64 * 16 + index as u64;
                (name.as_bytes().to_vec(), ino, ty)
            })
        }
        ProcDir::Task(tgid) => {
            let leader =
                crate::pid::find_task_by_pid_ns(tgid, crate::pid_namespace::init_pid_ns())?;
            let (vnr, tid) =
                crate::tasklist::for_each_thread(&leader, &crate::tasklist::TASKLIST_LOCK.lock())
                    .nth(index)
                    .map(|t| (crate::pid::task_pid_vnr(t), t.pid()))?;
            Some((
                alloc::format!("{vnr}").into_bytes(),
                0x1000_0000 + tid as u64,
                DT_DIR,
            ))
        }
        ProcDir::Ns(pid) => super::namespaces::proc_ns_dir_readdir(pid, index),
        ProcDir::Fd(pid) | ProcDir::FdInfo(pid) => {
            let fd = *fd::open_fds(pid).get(index)?;
            let ty = if matches!(dir, ProcDir::Fd(_)) {
                DT_LNK
            } else {
                DT_REG
            };
            let ino = 0x4000_0000 + pid as u64 * 0x1_0000 + fd as u64;
            Some((alloc::format!("{fd}").into_bytes(), ino, ty))
        }
    }
}

/// The task's run time in ns, its time waiting to run, and how many times
/// it was switched in.
///
/// Linux: proc_pid_schedstat() in fs/proc/base.c
/// Differs: the wait time (run_delay) is not measured and reads 0.
fn proc_pid_schedstat(task: &TaskStruct) -> String {
    alloc::format!(
        "{} 0 {}\n",
        crate::sched::core::task_sched_runtime(task),
        task.se.nr_switches.load(Ordering::Relaxed)
    )
}

/// The function a sleeping task waits in, "0" for one that runs or that
/// the caller may not trace; no newline.
///
/// Linux: proc_pid_wchan() in fs/proc/base.c
fn proc_pid_wchan(task: &TaskStruct) -> String {
    if !crate::ptrace::ptrace_may_access(task, crate::ptrace::PTRACE_MODE_READ_FSCREDS) {
        return String::from("0");
    }
    String::from(crate::arch::kernel::process::get_wchan(task).unwrap_or("0"))
}

/// The text of one file of a process directory.
///
/// # Errors
/// `ENOMEM`; `ENOENT` for an fdinfo of a descriptor since closed;
/// `EACCES` for the environ or maps of a task the caller may not read.
pub fn pid_file(task: &Arc<TaskStruct>, entry: PidEntry) -> Result<Vec<u8>, Errno> {
    Ok(match entry {
        PidEntry::OomScore => alloc::format!("{}\n", crate::mm::oom_kill::oom_score(task)),
        PidEntry::OomScoreAdj => {
            let adj = task.signal().oom_score_adj.load(Ordering::Relaxed);
            alloc::format!("{adj}\n")
        }
        PidEntry::Stat => return Ok(super::array::proc_tgid_stat(task)),
        PidEntry::TidStat => return Ok(super::array::proc_tid_stat(task)),
        PidEntry::Statm => super::array::proc_pid_statm(task),
        PidEntry::Status => return Ok(super::array::proc_pid_status(task)),
        PidEntry::Cmdline => return get_mm_cmdline(task),
        PidEntry::Environ => return environ_read(task),
        PidEntry::Comm => return Ok(comm_show(task)),
        PidEntry::Wchan => proc_pid_wchan(task),
        PidEntry::Maps => super::task_mmu::show_maps(task)?,
        PidEntry::Mounts => String::from(MOUNTS),
        PidEntry::Limits => super::limits::proc_pid_limits(task),
        PidEntry::Schedstat => proc_pid_schedstat(task),
        PidEntry::Sched => crate::sched::debug::proc_sched_show_task(task),
        PidEntry::FdInfo(fd) => fd::fdinfo(task.pid(), fd)?,
    }
    .into_bytes())
}

/// A write to one file of a process directory.
///
/// # Errors
/// `EINVAL` for a file that takes no writes or bad text; `ESRCH`.
pub fn pid_file_write(pid: PidNr, entry: PidEntry, buf: &[u8]) -> Result<usize, Errno> {
    match entry {
        PidEntry::OomScoreAdj => oom_score_adj_write(pid, buf),
        PidEntry::Comm => comm_write(pid, buf),
        _ => Err(Errno::EINVAL),
    }
}

/// The argument strings as the program left them: all of
/// arg_start..arg_end, or, if the program overwrote the last NUL (as
/// setproctitle() does), one string from arg_start that may run on into the
/// environment, up to its NUL or a page.
///
/// Linux: get_mm_cmdline() / get_mm_proctitle() in fs/proc/base.c
fn get_mm_cmdline(task: &TaskStruct) -> Result<Vec<u8>, Errno> {
    let Some(mm) = task.mm.lock().clone() else {
        return Ok(Vec::new());
    };
    let MmArgs {
        arg_start,
        arg_end,
        env_start,
        env_end,
        ..
    } = *mm.arg_lock.lock();
    if env_end == 0 || arg_start >= arg_end {
        return Ok(Vec::new());
    }
    // A new title may run on past arg_end only into the environment.
    let env_end = match env_start == arg_end && env_end >= env_start {
        true => env_end,
        false => arg_end,
    };
    let mut last = [0u8];
    let retitled = access_remote_vm(&mm, arg_end - 1, &mut last) == 1 && last[0] != 0;
    if !retitled {
        return read_remote(&mm, arg_start, arg_end);
    }
    let limit = (env_end - arg_start).min(PAGE_SIZE as u64);
    let mut title = read_remote(&mm, arg_start, arg_start + limit)?;
    if let Some(nul) = title.iter().position(|&b| b == 0) {
        title.truncate(nul + 1);
    }
    Ok(title)
}

/// The environment strings exec gave the program, NUL-separated, as they
/// are in its memory now.
///
/// Linux: environ_open() (__mem_open(), proc_mem_open()) and environ_read()
/// in fs/proc/base.c
///
/// # Errors
/// `EACCES` when the caller may not read the task (mm_access); `ENOMEM`.
fn environ_read(task: &TaskStruct) -> Result<Vec<u8>, Errno> {
    let mm = crate::fork::mm_access(task, crate::ptrace::PTRACE_MODE_READ_FSCREDS)?;
    let Some(mm) = mm else {
        return Ok(Vec::new());
    };
    let MmArgs {
        env_start, env_end, ..
    } = *mm.arg_lock.lock();
    if env_end == 0 {
        return Ok(Vec::new());
    }
    read_remote(&mm, env_start, env_end)
}

/// The bytes of `mm` in [start, end), short at a page that is not there.
fn read_remote(mm: &MmStruct, start: u64, end: u64) -> Result<Vec<u8>, Errno> {
    let len = end.saturating_sub(start) as usize;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    bytes.resize(len, 0);
    let got = access_remote_vm(mm, start, &mut bytes);
    bytes.truncate(got);
    Ok(bytes)
}

/// The task's name and a newline, its bytes as they are.
///
/// Linux: comm_show() in fs/proc/base.c
fn comm_show(task: &TaskStruct) -> Vec<u8> {
    let mut name = Vec::new();
    super::array::proc_task_name(&mut name, task, false);
    name.push(b'\n');
    name
}

/// Renames a thread of the caller's own process: the first 15 bytes
/// written, up to a NUL, become its comm, a newline included, as in Linux.
///
/// Linux: comm_write() in fs/proc/base.c
///
/// # Errors
/// `EINVAL` for a thread of another process; `ESRCH` if it is gone.
fn comm_write(pid: PidNr, buf: &[u8]) -> Result<usize, Errno> {
    let task = proc_task(pid).ok_or(Errno::ESRCH)?;
    if task.tgid() != crate::task::current().tgid() {
        return Err(Errno::EINVAL);
    }
    let name = &buf[..buf.len().min(crate::task::TASK_COMM_LEN - 1)];
    task.set_comm(name);
    Ok(buf.len())
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
    let task = proc_task(pid).ok_or(Errno::ESRCH)?;
    task.signal().oom_score_adj.store(value, Ordering::Relaxed);
    Ok(text.len())
}

/// The mounted file systems, as every process sees them.
/// Differs: one fixed table; there is no mount(2) to change it, and the
/// directories below / (/tmp, /dev) are part of the root file system.
///
/// Linux: show_vfsmnt() in fs/proc_namespace.c
const MOUNTS: &str =
    "rootfs / rootfs rw 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n";
