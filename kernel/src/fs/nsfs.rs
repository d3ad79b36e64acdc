//! What every namespace shares: an inode number in the namespace file
//! system (nsfs), by which user space tells namespaces apart, and an
//! operations table naming its kind. `/proc/<pid>/ns/<name>` leads to the
//! nsfs inode of one of the task's namespaces; an open descriptor on it is
//! what setns(2) takes.
//!
//! ```text
//!  /proc/<pid>/ns/uts ──follow──> nsfs inode (ino = ns.inum) ──open──> fd
//!        │ readlink: "uts:[4026531838]"                                │
//!        └── ProcNsOperations { name, nstype, get, install } <── setns(fd)
//! ```
//!
//! Linux: include/linux/ns_common.h, include/linux/proc_ns.h,
//! fs/nsfs.c, proc_alloc_inum() in fs/proc/generic.c
//! Differs: an nsfs inode is made at each lookup (Linux keeps one dentry
//! per namespace in ns->stashed); its number is all that identifies it.
//! Not modelled: the NS_GET_* ioctls, st_dev of the nsfs mount.

use super::ramfs::{Inode, InodeKind};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fork::CloneFlags;
use crate::nsproxy::NsSet;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

/// The initial IPC namespace's inode number (Linux: PROC_IPC_INIT_INO).
pub const PROC_IPC_INIT_INO: u32 = 0xEFFF_FFFF;
/// The initial UTS namespace's (Linux: PROC_UTS_INIT_INO).
pub const PROC_UTS_INIT_INO: u32 = 0xEFFF_FFFE;
/// The initial user namespace's (Linux: PROC_USER_INIT_INO).
pub const PROC_USER_INIT_INO: u32 = 0xEFFF_FFFD;
/// The initial pid namespace's (Linux: PROC_PID_INIT_INO).
pub const PROC_PID_INIT_INO: u32 = 0xEFFF_FFFC;
/// The initial cgroup namespace's (Linux: PROC_CGROUP_INIT_INO).
pub const PROC_CGROUP_INIT_INO: u32 = 0xEFFF_FFFB;
/// The initial time namespace's (Linux: PROC_TIME_INIT_INO).
pub const PROC_TIME_INIT_INO: u32 = 0xEFFF_FFFA;
/// The first number handed to a namespace made at run time (Linux:
/// PROC_DYNAMIC_FIRST).
pub const PROC_DYNAMIC_FIRST: u32 = 0xF000_0000;

/// The part every namespace embeds (Linux: `struct ns_common`).
/// Differs: no reference count or ops pointer here: the namespace is held
/// by `Arc`, and its kind by the `NsRef` that names it.
pub struct NsCommon {
    /// Its nsfs inode number, what stat shows as st_ino (Linux: inum).
    pub inum: u32,
}

impl NsCommon {
    /// The common part of an initial namespace, with its fixed number.
    pub const fn init(inum: u32) -> NsCommon {
        NsCommon { inum }
    }

    /// The common part of a new namespace: a fresh inode number.
    ///
    /// Linux: ns_common_init() -> proc_alloc_inum()
    ///
    /// # Errors
    /// `ENOMEM`, also when every number is in use.
    pub fn new() -> Result<NsCommon, Errno> {
        proc_alloc_inum().map(|inum| NsCommon { inum })
    }
}

impl Drop for NsCommon {
    /// Linux: ns_free_inum() -> proc_free_inum()
    fn drop(&mut self) {
        if self.inum >= PROC_DYNAMIC_FIRST {
            proc_free_inum(self.inum);
        }
    }
}

/// The dynamic inode numbers in use, one bit each from PROC_DYNAMIC_FIRST
/// (Linux: proc_inum_ida, under its own lock).
static PROC_INUM_IDA: SpinLock<Vec<u64>> = SpinLock::new(Vec::new());

/// The lowest free dynamic inode number.
///
/// Linux: proc_alloc_inum() in fs/proc/generic.c
fn proc_alloc_inum() -> Result<u32, Errno> {
    let mut ida = PROC_INUM_IDA.lock();
    let word = match ida.iter().position(|w| *w != u64::MAX) {
        Some(word) => word,
        None => {
            ida.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            ida.push(0);
            ida.len() - 1
        }
    };
    let bit = ida[word].trailing_ones() as usize;
    let nr = u32::try_from(word * 64 + bit)
        .ok()
        .and_then(|nr| PROC_DYNAMIC_FIRST.checked_add(nr))
        .ok_or(Errno::ENOMEM)?;
    ida[word] |= 1 << bit;
    Ok(nr)
}

/// Linux: proc_free_inum() in fs/proc/generic.c
fn proc_free_inum(inum: u32) {
    let nr = (inum - PROC_DYNAMIC_FIRST) as usize;
    if let Some(word) = PROC_INUM_IDA.lock().get_mut(nr / 64) {
        *word &= !(1 << (nr % 64));
    }
}

/// A namespace of any kind, as a task's ns link and setns see it.
pub type NsArc = Arc<dyn Any + Send + Sync>;

/// A kind of namespace: its name in `/proc/<pid>/ns`, its CLONE_NEW* flag,
/// and how to find a task's and how to enter one (Linux: `struct
/// proc_ns_operations`).
pub struct ProcNsOperations {
    /// The link's name in `/proc/<pid>/ns` (Linux: name).
    pub name: &'static str,
    /// The kind readlink shows, "pid" for pid_for_children (Linux: real_ns_name).
    pub real_ns_name: &'static str,
    /// Its CLONE_NEW* flag (Linux: type).
    pub nstype: CloneFlags,
    /// The task's namespace of this kind, `None` once it has exited
    /// (Linux: get).
    pub get: fn(&TaskStruct) -> Option<NsRef>,
    /// Puts `ns`, a namespace of this kind, into the set setns builds
    /// (Linux: install).
    pub install: fn(&mut NsSet, &NsArc) -> Result<(), Errno>,
}

/// One namespace with its kind and number: what an nsfs inode holds
/// (Linux: a `struct ns_common *`, whose `ops` and `inum` it carries).
#[derive(Clone)]
pub struct NsRef {
    /// Its kind.
    pub ops: &'static ProcNsOperations,
    /// Its inode number.
    pub inum: u32,
    /// The namespace itself.
    pub ns: NsArc,
}

impl NsRef {
    /// Names `ns`, whose common part is `common`, as a namespace of kind `ops`.
    pub fn new<T: Any + Send + Sync>(
        ops: &'static ProcNsOperations,
        common: &NsCommon,
        ns: Arc<T>,
    ) -> NsRef {
        NsRef {
            ops,
            inum: common.inum,
            ns,
        }
    }
}

/// The nsfs inode of `ns`: a read-only file whose number is the
/// namespace's.
///
/// Linux: ns_get_path() / __ns_get_path() in fs/nsfs.c
pub fn ns_get_path(ns: NsRef) -> Arc<Inode> {
    let inum = ns.inum;
    Inode::new_with_ino(InodeKind::Nsfs(ns), 0o444, inum as u64)
}

/// The namespace an open file names, if it is an nsfs file.
///
/// Linux: proc_ns_file() and get_proc_ns() in fs/nsfs.c
pub fn get_proc_ns(file: &super::file::File) -> Option<NsRef> {
    match &file.f_path.as_ref()?.inode.kind {
        InodeKind::Nsfs(ns) => Some(ns.clone()),
        _ => None,
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn a_freed_namespace_number_is_handed_out_again() {
            let a = NsCommon::new().expect("memory");
            let b = NsCommon::new().expect("memory");
            kassert!(a.inum >= PROC_DYNAMIC_FIRST && b.inum > a.inum);
            let freed = a.inum;
            drop(a);
            let c = NsCommon::new().expect("memory");
            kassert_eq!(c.inum, freed);
        }
    }
}
