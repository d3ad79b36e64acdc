//! IPC namespaces: each holds its own System V objects and limits, so a
//! task in a new one (clone or unshare with CLONE_NEWIPC) neither finds
//! the segments of others nor shows them its own. A namespace lives while
//! a task's nsproxy, an nsfs file or an attach of one of its segments
//! holds it; when it goes, its segments go with it.
//!
//! Linux: ipc/namespace.c, include/linux/ipc_namespace.h, the shm part of
//! ipc/ipc_sysctl.c
//! Not modelled: message queues, semaphores, mqueue, the other ipc sysctls.

use super::shm::{SHMALL, SHMMAX, SHMMNI, ShmIds, shm_exit_ns};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fork::CloneFlags;
use crate::fs::nsfs::{NsArc, NsCommon, NsRef, PROC_IPC_INIT_INO, ProcNsOperations};
use crate::fs::proc::ProcRwOps;
use crate::nsproxy::{NsSet, current_nsproxy, task_nsproxy};
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// One IPC namespace (Linux: `struct ipc_namespace`, its shm part).
pub struct IpcNamespace {
    /// The segments, under their lock (Linux: shm_ids(ns).rwsem and the
    /// per-object spin locks). Taken inside an mm's lock (a detach drops
    /// an attach there), never the other way round.
    pub shm_ids: SpinLock<ShmIds>,
    /// kernel.shmmax (Linux: shm_ctlmax).
    pub shm_ctlmax: AtomicU64,
    /// kernel.shmall, in pages (Linux: shm_ctlall).
    pub shm_ctlall: AtomicU64,
    /// kernel.shmmni (Linux: shm_ctlmni).
    pub shm_ctlmni: AtomicI32,
    /// Its nsfs inode number.
    pub ns: NsCommon,
}

impl IpcNamespace {
    /// A namespace without objects and with the default limits.
    ///
    /// Linux: shm_init_ns() in ipc/shm.c, ipc_init_ids() in ipc/util.c
    const fn new(ns: NsCommon) -> IpcNamespace {
        IpcNamespace {
            shm_ids: SpinLock::new(ShmIds::new()),
            shm_ctlmax: AtomicU64::new(SHMMAX),
            shm_ctlall: AtomicU64::new(SHMALL),
            shm_ctlmni: AtomicI32::new(SHMMNI),
            ns,
        }
    }
}

impl Drop for IpcNamespace {
    /// Linux: free_ipc_ns() in ipc/namespace.c
    fn drop(&mut self) {
        shm_exit_ns(self);
    }
}

static INIT_IPC_NS: spin::Once<Arc<IpcNamespace>> = spin::Once::new();

/// The initial IPC namespace (Linux: `init_ipc_ns` in ipc/msgutil.c).
pub fn init_ipc_ns() -> &'static Arc<IpcNamespace> {
    INIT_IPC_NS.call_once(|| Arc::new(IpcNamespace::new(NsCommon::init(PROC_IPC_INIT_INO))))
}

/// The caller's IPC namespace (Linux: `current->nsproxy->ipc_ns`).
pub fn current_ipc_ns() -> Arc<IpcNamespace> {
    current_nsproxy().ipc_ns.clone()
}

/// `ns` itself, or under CLONE_NEWIPC a new, empty namespace.
///
/// Linux: copy_ipcs() -> create_ipc_ns() in ipc/namespace.c
///
/// # Errors
/// `ENOMEM`.
pub fn copy_ipcs(flags: CloneFlags, ns: &Arc<IpcNamespace>) -> Result<Arc<IpcNamespace>, Errno> {
    if !flags.contains(CloneFlags::CLONE_NEWIPC) {
        return Ok(ns.clone());
    }
    Arc::try_new(IpcNamespace::new(NsCommon::new()?)).map_err(|_| Errno::ENOMEM)
}

/// The `ipc` entry of `/proc/<pid>/ns` (Linux: ipcns_operations).
pub static IPCNS_OPERATIONS: ProcNsOperations = ProcNsOperations {
    name: "ipc",
    real_ns_name: "ipc",
    nstype: CloneFlags::CLONE_NEWIPC,
    get: ipcns_get,
    install: ipcns_install,
};

/// Linux: ipcns_get() in ipc/namespace.c
fn ipcns_get(task: &TaskStruct) -> Option<NsRef> {
    let ipc_ns = task_nsproxy(task)?.ipc_ns.clone();
    Some(NsRef::new(&IPCNS_OPERATIONS, &ipc_ns.ns, ipc_ns.clone()))
}

/// Linux: ipcns_install() in ipc/namespace.c
/// Differs: no semaphore undo list to leave (exit_sem()).
fn ipcns_install(nsset: &mut NsSet, ns: &NsArc) -> Result<(), Errno> {
    nsset.nsproxy.ipc_ns = ns.clone().downcast().map_err(|_| Errno::EINVAL)?;
    Ok(())
}

/// `/proc/sys/kernel/shmmni` of the caller's namespace, at most IPCMNI.
///
/// Linux: the shmmni entry of ipc/ipc_sysctl.c (proc_dointvec_minmax)
pub static SHMMNI_OPS: ProcRwOps = ProcRwOps {
    show: || alloc::format!("{}\n", current_ipc_ns().shm_ctlmni.load(Ordering::Relaxed)),
    write: |buf| {
        let value = crate::sysctl::proc_dointvec_parse(buf, 0, super::SEQ_MULTIPLIER)?;
        current_ipc_ns().shm_ctlmni.store(value, Ordering::Relaxed);
        Ok(buf.len())
    },
};
