//! `/proc/<pid>/ns`: one link per kind of namespace. A link reads as
//! `uts:[4026531838]`, the kind and the namespace's nsfs inode number, so
//! two tasks share a namespace exactly when their links read the same;
//! following it (stat, open) reaches that nsfs inode.
//!
//! Linux: fs/proc/namespaces.c

use crate::errno::Errno;
use crate::fs::nsfs::{ProcNsOperations, ns_get_path};
use crate::fs::ramfs::{Inode, InodeKind};
use crate::pid::PidNr;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// The kinds of namespace, in the order the directory lists them
/// (Linux: ns_entries[]).
pub static NS_ENTRIES: [&ProcNsOperations; 4] = [
    &crate::utsname::UTSNS_OPERATIONS,
    &crate::ipc::namespace::IPCNS_OPERATIONS,
    &crate::pid_namespace::PIDNS_OPERATIONS,
    &crate::pid_namespace::PIDNS_FOR_CHILDREN_OPERATIONS,
];

/// The task `pid` (a /proc inode's root-namespace number) names.
///
/// # Errors
/// `ENOENT` when it is gone.
fn ns_task(pid: PidNr) -> Result<Arc<TaskStruct>, Errno> {
    super::base::proc_task(pid).ok_or(Errno::ENOENT)
}

/// Where `/proc/<pid>/ns/<name>` leads: the nsfs inode of the task's
/// namespace of that kind.
///
/// Linux: proc_ns_get_link() in fs/proc/namespaces.c
///
/// # Errors
/// `ENOENT` when the task is gone or has exited; `EACCES` when the caller
/// may not inspect it (ptrace_may_access).
pub fn proc_ns_get_link(pid: PidNr, ops: &ProcNsOperations) -> Result<Arc<Inode>, Errno> {
    let task = ns_task(pid)?;
    if !crate::ptrace::ptrace_may_access(&task, crate::ptrace::PTRACE_MODE_READ_FSCREDS) {
        return Err(Errno::EACCES);
    }
    let ns = (ops.get)(&task).ok_or(Errno::ENOENT)?;
    Ok(ns_get_path(ns))
}

/// What `/proc/<pid>/ns/<name>` reads as: `uts:[4026531838]`.
///
/// Linux: proc_ns_readlink() in fs/proc/namespaces.c (ns_get_name())
///
/// # Errors
/// `ENOENT` when the task is gone or has exited; `EACCES` as proc_ns_get_link.
pub fn proc_ns_readlink(pid: PidNr, ops: &ProcNsOperations) -> Result<Vec<u8>, Errno> {
    let task = ns_task(pid)?;
    if !crate::ptrace::ptrace_may_access(&task, crate::ptrace::PTRACE_MODE_READ_FSCREDS) {
        return Err(Errno::EACCES);
    }
    let ns = (ops.get)(&task).ok_or(Errno::ENOENT)?;
    Ok(alloc::format!("{}:[{}]", ops.real_ns_name, ns.inum).into_bytes())
}

/// Looks `name` up in `/proc/<pid>/ns`.
///
/// Linux: proc_ns_dir_lookup() in fs/proc/namespaces.c
///
/// # Errors
/// `ENOENT` for no such kind or a task that is gone.
pub fn proc_ns_dir_lookup(pid: PidNr, name: &[u8]) -> Result<Arc<Inode>, Errno> {
    ns_task(pid)?;
    let ops = NS_ENTRIES
        .iter()
        .find(|ops| ops.name.as_bytes() == name)
        .ok_or(Errno::ENOENT)?;
    Ok(Inode::new(InodeKind::ProcNsLink(pid, ops), 0o777))
}

/// Entry `index` of `/proc/<pid>/ns`: name, inode number, DT_LNK.
///
/// Linux: proc_ns_dir_readdir() in fs/proc/namespaces.c
pub fn proc_ns_dir_readdir(pid: PidNr, index: usize) -> Option<(Vec<u8>, u64, u8)> {
    const DT_LNK: u8 = 10;
    let ops = NS_ENTRIES.get(index)?;
    let ino = 0x5000_0000 + pid as u64 * 16 + index as u64;
    Some((ops.name.as_bytes().to_vec(), ino, DT_LNK))
}
