//! /proc in Linux's formats. The root holds the system-wide files
//! (meminfo, stat, cpuinfo, sys/...), the `self` and `thread-self` links,
//! and one directory per process, built when looked up. Text is generated
//! when a file is opened, so that reads of one open file are consistent.
//!
//! This file is the root and the open file; the per-process directories
//! are in base.rs, their stat and status in array.rs, maps in task_mmu.rs,
//! fd/ and fdinfo/ in fd.rs, ns/ in namespaces.rs, /proc/sys in
//! proc_sysctl.rs.
//!
//! Linux: fs/proc/ (root.c, inode.c, generic.c, self.c, thread_self.c)
//! Not modelled: pid namespaces (every pid is the initial namespace's),
//! mount options (hidepid).

pub mod array;
pub mod base;
pub mod fd;
mod limits;
mod meminfo;
pub mod namespaces;
mod proc_sysctl;
mod stat;
mod task_mmu;
mod util;

pub use base::{PidEntry, ProcDir};

use super::file::{FileOperations, Kstat, S_IFDIR, S_IFLNK, S_IFMT};
use super::ramfs::{Inode, InodeKind, root};
use crate::errno::Errno;
use crate::pid::{
    PidNr, find_task_by_vpid, task_active_pid_ns, task_pid_nr_ns, task_pid_vnr, task_tgid_vnr,
};
use crate::sysctl::{CtlTable, proc_dointvec_minmax_write, proc_dointvec_read};
use crate::tasklist::TASKLIST_LOCK;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A /proc file that can be written: how to show it and how to take a
/// write (Linux: the `proc_ops` of a file with both read and write).
pub struct ProcRwOps {
    /// The text a read shows.
    pub show: fn() -> String,
    /// Takes the bytes written at position 0; returns how many it used.
    pub write: fn(&[u8]) -> Result<usize, Errno>,
}

/// What a write to an open /proc file goes to.
enum ProcWrite {
    None,
    Sysctl(&'static CtlTable),
    Ops(&'static ProcRwOps),
    Pid(PidNr, PidEntry),
}

/// The text of a /proc file, fixed at open so that reads are consistent.
pub struct ProcFile {
    text: Vec<u8>,
    ino: u64,
    mode: u32,
    write: ProcWrite,
}

impl ProcFile {
    /// Generates the contents of `inode`.
    ///
    /// Linux: proc_reg_open() and the file's show function (seq_file)
    ///
    /// # Errors
    /// `ESRCH` when the process is gone; `ENOMEM`.
    pub fn open(inode: &Inode) -> Result<ProcFile, Errno> {
        let (text, write) = match &inode.kind {
            InodeKind::Proc(generate) => (generate().into_bytes(), ProcWrite::None),
            InodeKind::ProcRw(ops) => ((ops.show)().into_bytes(), ProcWrite::Ops(ops)),
            InodeKind::Sysctl(table) => (
                proc_dointvec_read(table).into_bytes(),
                ProcWrite::Sysctl(table),
            ),
            InodeKind::ProcPidFile(pid, entry) => {
                let task = base::proc_task(*pid).ok_or(Errno::ESRCH)?;
                (base::pid_file(&task, *entry)?, ProcWrite::Pid(*pid, *entry))
            }
            _ => return Err(Errno::EINVAL),
        };
        Ok(ProcFile {
            text,
            ino: inode.ino,
            mode: inode.mode(),
            write,
        })
    }
}

impl FileOperations for ProcFile {
    fn read(&self, buf: &mut [u8], pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        let bytes = &self.text;
        let start = usize::try_from(pos).unwrap_or(usize::MAX).min(bytes.len());
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    fn write(&self, buf: &[u8], pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        match self.write {
            ProcWrite::Sysctl(table) => proc_dointvec_minmax_write(table, buf, pos),
            // Linux's default kernel.sysctl_writes_strict ignores writes
            // past the start of a string sysctl.
            ProcWrite::Ops(_) if pos != 0 => Ok(buf.len()),
            ProcWrite::Ops(ops) => (ops.write)(buf),
            ProcWrite::Pid(pid, entry) => base::pid_file_write(pid, entry, buf),
            ProcWrite::None => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> Kstat {
        Kstat {
            ino: self.ino,
            mode: self.mode,
            nlink: 1,
            ..Kstat::default()
        }
    }
}

/// A symbolic link made at lookup, as /proc/self is.
fn proc_symlink(target: String) -> Arc<Inode> {
    Inode::new(InodeKind::Symlink(target.into_bytes()), 0o777)
}

/// The `d_type` of a directory entry (Linux: DT_* = S_IFMT >> 12).
fn dt_type(mode: u32) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

/// Looks up a name in /proc or in a directory below `/proc/<pid>`.
///
/// Linux: proc_root_lookup() in fs/proc/root.c, proc_pid_lookup() in
/// fs/proc/base.c, proc_self_get_link() in fs/proc/self.c
///
/// # Errors
/// `ENOENT` for no such entry or process; `ENOTDIR`.
pub fn proc_lookup(dir: &Inode, name: &[u8]) -> Result<Arc<Inode>, Errno> {
    match &dir.kind {
        InodeKind::ProcRoot(fixed) => {
            if let Some(inode) = fixed.lock().get(name) {
                return Ok(inode.clone());
            }
            let me = crate::task::current();
            match name {
                b"self" => return Ok(proc_symlink(alloc::format!("{}", task_tgid_vnr(&me)))),
                b"thread-self" => {
                    let link = alloc::format!("{}/task/{}", task_tgid_vnr(&me), task_pid_vnr(&me));
                    return Ok(proc_symlink(link));
                }
                _ => {}
            }
            let pid = util::name_to_int(name).ok_or(Errno::ENOENT)?;
            let task = find_task_by_vpid(pid).ok_or(Errno::ENOENT)?;
            Ok(base::proc_pid_make_inode(
                &task,
                InodeKind::ProcPid(ProcDir::Tgid(task.pid())),
                0o555,
            ))
        }
        InodeKind::ProcPid(dir) => base::proc_pid_lookup(*dir, name),
        _ => Err(Errno::ENOTDIR),
    }
}

/// Lists /proc (fixed entries, `self`, `thread-self`, then one per
/// process) or a directory below `/proc/<pid>`.
///
/// Linux: proc_root_readdir() in fs/proc/root.c, proc_pid_readdir() in
/// fs/proc/base.c
pub fn proc_readdir(dir: &Inode, index: usize) -> Option<(Vec<u8>, u64, u8)> {
    match &dir.kind {
        InodeKind::ProcRoot(fixed) => {
            let fixed: Vec<(Vec<u8>, u64, u32)> = fixed
                .lock()
                .iter()
                .map(|(n, i)| (n.clone(), i.ino, i.mode()))
                .collect();
            if let Some((name, ino, mode)) = fixed.get(index) {
                return Some((name.clone(), *ino, dt_type(*mode)));
            }
            let links: [&[u8]; 2] = [b"self", b"thread-self"];
            let index = index - fixed.len();
            if let Some(link) = links.get(index) {
                return Some((link.to_vec(), 0x0fff_fff0 + index as u64, dt_type(S_IFLNK)));
            }
            let ns = task_active_pid_ns(&crate::task::current());
            let pids: Vec<(PidNr, PidNr)> = TASKLIST_LOCK
                .lock()
                .tasks
                .iter()
                .filter(|t| t.pid() == t.tgid())
                .map(|t| (task_pid_nr_ns(t, &ns), t.pid()))
                .filter(|&(vnr, _)| vnr > 0)
                .collect();
            pids.get(index - links.len()).map(|(vnr, pid)| {
                (
                    alloc::format!("{vnr}").into_bytes(),
                    0x1000_0000 + *pid as u64,
                    dt_type(S_IFDIR),
                )
            })
        }
        InodeKind::ProcPid(dir) => base::proc_pid_readdir(*dir, index),
        _ => None,
    }
}

/// A read-only /proc file whose text `generate` makes.
fn proc_create(dir: &Inode, name: &str, generate: fn() -> String) {
    let _ = dir.link(
        name.as_bytes(),
        Inode::new(InodeKind::Proc(generate), 0o444),
    );
}

/// Creates /proc and its fixed files.
///
/// Linux: proc_root_init() in fs/proc/root.c
pub fn proc_root_init() {
    let proc = Inode::new(InodeKind::ProcRoot(Default::default()), 0o555);
    proc_sysctl::proc_sys_init(&proc);
    for (name, generate) in [
        ("meminfo", meminfo::meminfo_proc_show as fn() -> String),
        ("stat", stat::show_stat),
        ("loadavg", stat::loadavg_proc_show),
        ("uptime", stat::uptime_proc_show),
        ("vmstat", stat::vmstat_show),
        ("cpuinfo", crate::arch::kernel::cpu::proc::show_cpuinfo),
        ("interrupts", crate::arch::irq::show_interrupts),
    ] {
        proc_create(&proc, name, generate);
    }
    let _ = proc.link(b"mounts", proc_symlink(String::from("self/mounts")));
    let sysvipc = Inode::new_dir(0o555);
    proc_create(&sysvipc, "shm", crate::ipc::shm::sysvipc_shm_proc_show);
    let _ = proc.link(b"sysvipc", sysvipc);
    let _ = root().link(b"proc", proc);
}
