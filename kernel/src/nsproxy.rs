//! Namespaces: each task sees the machine through an `Nsproxy`, a set of
//! namespaces it shares with the tasks it was forked with. clone's
//! CLONE_NEW* flags give the child new ones (copy_namespaces), unshare(2)
//! gives the caller new ones, and setns(2) moves the caller into those of
//! an nsfs file (`/proc/<pid>/ns/*`) or of a pidfd's process.
//!
//! ```text
//!  task ──nsproxy──> Nsproxy { uts_ns, ipc_ns, pid_ns_for_children }
//!  task ──nsproxy──┘     │        │        └──> PidNamespace  shared by Arc;
//!                        │        └──> IpcNamespace   never changed in place:
//!                        └──> UtsNamespace            a new set replaces it
//! ```
//!
//! To add a namespace: a field in `Nsproxy`, its copy_* step in
//! `create_new_namespaces`, its flag in `MODELLED`, and its
//! `ProcNsOperations` row in `NS_ENTRIES` (fs/proc/namespaces.rs), which
//! both `/proc/<pid>/ns` and setns walk.
//!
//! Linux: kernel/nsproxy.c, include/linux/nsproxy.h
//! The kinds below are not modelled: a request for one fails with EINVAL,
//! as from a Linux built without it (CONFIG_*_NS=n).
//! Differs: CLONE_NEWNS: one mount table (no mount(2)), so no mount namespace.
//! Differs: CLONE_NEWNET: no network stack, so no network namespace.
//! Differs: CLONE_NEWCGROUP: no cgroups, so no cgroup namespace.
//! Differs: CLONE_NEWUSER: no user namespaces; every task is in the initial one.
//! Differs: CLONE_NEWTIME: no time namespaces; every task sees the machine's clocks.

use crate::capability::{CAP_SYS_ADMIN, capable};
use crate::errno::Errno;
use crate::fork::CloneFlags;
use crate::ipc::namespace::{IpcNamespace, copy_ipcs, init_ipc_ns};
use crate::pid_namespace::{PidNamespace, copy_pid_ns, init_pid_ns};
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use crate::utsname::{UtsNamespace, copy_utsname, init_uts_ns};
use alloc::sync::Arc;

/// The namespaces a task lives in, shared by every task forked without a
/// CLONE_NEW* flag (Linux: `struct nsproxy`). Never changed once shared:
/// unshare and setns build a new one and switch to it.
/// Differs: the reference count is the `Arc`'s.
#[derive(Clone)]
pub struct Nsproxy {
    /// Host and domain names (Linux: uts_ns).
    pub uts_ns: Arc<UtsNamespace>,
    /// System V IPC objects (Linux: ipc_ns).
    pub ipc_ns: Arc<IpcNamespace>,
    /// Where the task's children get their pids; its own pid namespace
    /// is its pid's (task_active_pid_ns) (Linux: pid_ns_for_children).
    pub pid_ns_for_children: Arc<PidNamespace>,
}

/// Every CLONE_NEW* flag Linux knows.
const ALL_NS: CloneFlags = CloneFlags::CLONE_NEWNS
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWCGROUP)
    .union(CloneFlags::CLONE_NEWNET)
    .union(CloneFlags::CLONE_NEWUSER)
    .union(CloneFlags::CLONE_NEWTIME);

/// The CLONE_NEW* flags this kernel can make a namespace for.
pub const MODELLED: CloneFlags = CloneFlags::CLONE_NEWUTS
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWPID);

static INIT_NSPROXY: spin::Once<Arc<Nsproxy>> = spin::Once::new();

/// The initial namespaces, init_task's (Linux: `init_nsproxy`).
pub fn init_nsproxy() -> Arc<Nsproxy> {
    INIT_NSPROXY
        .call_once(|| {
            Arc::new(Nsproxy {
                uts_ns: init_uts_ns().clone(),
                ipc_ns: init_ipc_ns().clone(),
                pid_ns_for_children: init_pid_ns().clone(),
            })
        })
        .clone()
}

/// `tsk`'s namespaces (Linux: `tsk->nsproxy`, read under its task
/// lock); `None` once it has passed exit_task_namespaces.
pub fn task_nsproxy(tsk: &TaskStruct) -> Option<Arc<Nsproxy>> {
    tsk.nsproxy.lock().clone()
}

/// The caller's namespaces (Linux: `current->nsproxy`).
pub fn current_nsproxy() -> Arc<Nsproxy> {
    task_nsproxy(&current()).expect("a running task has its nsproxy until do_exit drops it")
}

/// A set of namespaces made from `old`, new ones where `flags` asks.
///
/// Linux: create_new_namespaces() in kernel/nsproxy.c
///
/// # Errors
/// `EINVAL` for a namespace kind not modelled; `ENOMEM`.
pub fn create_new_namespaces(flags: CloneFlags, old: &Nsproxy) -> Result<Arc<Nsproxy>, Errno> {
    // Linux: the copy_*_ns() stubs of an unconfigured kind fail so.
    if flags.intersects(ALL_NS.difference(MODELLED)) {
        return Err(Errno::EINVAL);
    }
    let new = Nsproxy {
        uts_ns: copy_utsname(flags, &old.uts_ns)?,
        ipc_ns: copy_ipcs(flags, &old.ipc_ns)?,
        pid_ns_for_children: copy_pid_ns(flags, &old.pid_ns_for_children)?,
    };
    Arc::try_new(new).map_err(|_| Errno::ENOMEM)
}

/// Gives the child `p` the parent's namespaces, or new ones for each
/// CLONE_NEW* flag.
///
/// Linux: copy_namespaces() in kernel/nsproxy.c
/// Differs: `p` starts with none rather than a copy of the parent's pointer.
///
/// # Errors
/// `EPERM` without CAP_SYS_ADMIN; `EINVAL` for CLONE_NEWIPC with CLONE_SYSVSEM (a shared undo list would
/// span two namespaces) and as create_new_namespaces; `ENOMEM`.
pub fn copy_namespaces(
    flags: CloneFlags,
    parent: &TaskStruct,
    p: &TaskStruct,
) -> Result<(), Errno> {
    let Some(old) = task_nsproxy(parent) else {
        return Ok(());
    };
    let new = if !flags.intersects(ALL_NS) {
        old
    } else {
        if !capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        if flags.contains(CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_SYSVSEM) {
            return Err(Errno::EINVAL);
        }
        create_new_namespaces(flags, &old)?
    };
    *p.nsproxy.lock() = Some(new);
    Ok(())
}

/// The new namespaces unshare(2) asks for, or `None` when it asks for none.
///
/// Linux: unshare_nsproxy_namespaces() in kernel/nsproxy.c
/// Differs: CLONE_NEWUSER, which Linux's unshare_userns() takes, is refused
/// here with the other kinds not modelled.
///
/// # Errors
/// `EPERM` without CAP_SYS_ADMIN; as create_new_namespaces.
pub fn unshare_nsproxy_namespaces(flags: CloneFlags) -> Result<Option<Arc<Nsproxy>>, Errno> {
    if !flags.intersects(ALL_NS) {
        return Ok(None);
    }
    if !capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    create_new_namespaces(flags, &current_nsproxy()).map(Some)
}

/// Replaces `p`'s namespaces; the old set is dropped after the lock, as
/// its last reference may take an IPC namespace and its segments along.
///
/// Linux: switch_task_namespaces() in kernel/nsproxy.c
pub fn switch_task_namespaces(p: &TaskStruct, new: Option<Arc<Nsproxy>>) {
    let old = core::mem::replace(&mut *p.nsproxy.lock(), new);
    drop(old);
}

/// Drops the exiting task's namespaces.
///
/// Linux: exit_task_namespaces() in kernel/nsproxy.c
pub fn exit_task_namespaces(p: &TaskStruct) {
    switch_task_namespaces(p, None);
}

/// The namespaces setns(2) is assembling (Linux: `struct nsset`).
pub struct NsSet {
    /// The CLONE_NEW* kinds being entered (Linux: flags).
    pub flags: CloneFlags,
    /// The caller's namespaces with the entered ones put in (Linux: nsproxy).
    pub nsproxy: Nsproxy,
}

/// Which kinds a pidfd's setns may ask for: at least one, all known.
///
/// Linux: check_setns_flags() in kernel/nsproxy.c
fn check_setns_flags(flags: CloneFlags) -> Result<(), Errno> {
    if flags.is_empty() || !ALL_NS.contains(flags) {
        return Err(Errno::EINVAL);
    }
    // Linux: each `#ifndef CONFIG_*_NS` refuses its kind.
    if !MODELLED.contains(flags) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// A set to fill, starting as a copy of the caller's.
///
/// Linux: prepare_nsset() in kernel/nsproxy.c
fn prepare_nsset(flags: CloneFlags) -> NsSet {
    NsSet {
        flags,
        nsproxy: (*current_nsproxy()).clone(),
    }
}

/// Puts the namespaces of `tsk` that `nsset.flags` names into `nsset`.
///
/// Linux: validate_nsset() in kernel/nsproxy.c
/// Differs: no ptrace_may_access() check (EPERM).
///
/// # Errors
/// `ESRCH` when `tsk` has exited.
fn validate_nsset(nsset: &mut NsSet, tsk: &TaskStruct) -> Result<(), Errno> {
    use crate::fs::proc::namespaces::NS_ENTRIES;
    let mut todo = nsset.flags;
    // The first entry of a kind is the task's own namespace of it ("pid"
    // comes before "pid_for_children").
    for ops in NS_ENTRIES {
        if todo.contains(ops.nstype) {
            todo.remove(ops.nstype);
            let ns = (ops.get)(tsk).ok_or(Errno::ESRCH)?;
            (ops.install)(nsset, &ns.ns)?;
        }
    }
    Ok(())
}

/// Makes the assembled set the caller's.
///
/// Linux: commit_nsset() in kernel/nsproxy.c
fn commit_nsset(nsset: NsSet) -> Result<(), Errno> {
    let new = Arc::try_new(nsset.nsproxy).map_err(|_| Errno::ENOMEM)?;
    switch_task_namespaces(&current(), Some(new));
    Ok(())
}

/// Moves the caller into the namespace an nsfs file names, or into the
/// namespaces of the kinds `nstype` names of a pidfd's process.
///
/// Linux: SYSCALL_DEFINE2(setns) in kernel/nsproxy.c
///
/// # Errors
/// `EBADF` for a closed fd; `EINVAL` for a file of neither kind, an nsfs
/// file of another kind than a non-zero `nstype`, or a pidfd with an
/// `nstype` that is zero, unknown or not modelled; `ESRCH` when the
/// pidfd's process has exited; `ENOMEM`.
pub fn sys_setns(fd: i32, nstype: i32) -> SysResult {
    let file = crate::fs::read_write::fdget(fd)?;
    let flags = CloneFlags::from_bits_retain(nstype as u32 as u64);
    let nsset = if let Some(ns) = crate::fs::nsfs::get_proc_ns(&file) {
        if !flags.is_empty() && ns.ops.nstype != flags {
            return Err(Errno::EINVAL);
        }
        let mut nsset = prepare_nsset(ns.ops.nstype);
        (ns.ops.install)(&mut nsset, &ns.ns)?;
        nsset
    } else if let Some(task) = file.f_op.pidfd_task() {
        check_setns_flags(flags)?;
        let mut nsset = prepare_nsset(flags);
        validate_nsset(&mut nsset, task)?;
        nsset
    } else {
        return Err(Errno::EINVAL);
    };
    commit_nsset(nsset).map(|()| 0)
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::fs::nsfs::{PROC_IPC_INIT_INO, PROC_UTS_INIT_INO};
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn the_initial_namespaces_have_linux_fixed_inode_numbers() {
            let init = init_nsproxy();
            kassert_eq!(init.uts_ns.ns.inum, PROC_UTS_INIT_INO);
            kassert_eq!(init.ipc_ns.ns.inum, PROC_IPC_INIT_INO);
        }
    }

    ktest! {
        fn each_unmodelled_namespace_flag_fails_clone_and_unshare_with_einval() {
            use CloneFlags as F;
            let me = current();
            let before = task_nsproxy(&me).ok_or("no nsproxy")?;
            for flag in [F::CLONE_NEWNS, F::CLONE_NEWNET, F::CLONE_NEWCGROUP, F::CLONE_NEWUSER, F::CLONE_NEWTIME] {
                let args = crate::fork::KernelCloneArgs {
                    flags: flag | F::CLONE_NEWUTS | F::CLONE_VM,
                    name: Some("ktest-ns"),
                    fn_: Some(Arc::new(|| 0)),
                    kthread: true,
                    ..Default::default()
                };
                kassert_eq!(crate::fork::copy_process(&args).err(), Some(Errno::EINVAL), "clone {flag:?}");
                kassert_eq!(crate::fork::ksys_unshare(flag | F::CLONE_NEWUTS), Err(Errno::EINVAL), "unshare {flag:?}");
            }
            let after = task_nsproxy(&me).ok_or("no nsproxy")?;
            kassert!(Arc::ptr_eq(&before, &after), "a failed unshare leaves the namespaces alone");
        }
    }
}
