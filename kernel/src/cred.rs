//! Credentials: who a task is (its user and group ids, supplementary
//! groups and capabilities).
//!
//! A `Cred` is never edited once a task uses it. To change its identity a
//! task copies its credentials with prepare_creds, edits the copy, and
//! publishes it with commit_creds; readers holding the old `Arc` keep a
//! consistent view. A fork shares or copies them in copy_creds, the step of
//! copy_process right after dup_task_struct.
//!
//! Linux: include/linux/cred.h (struct cred), kernel/cred.c
//! Differs: one credential pointer per task (Linux keeps `real_cred`, the
//! objective identity, apart from `cred`, which override_creds() may swap
//! for a while); no user namespaces or keyrings.

use crate::capability::KernelCap;
use crate::errno::Errno;
use crate::task::{TaskStruct, current};
use crate::user::{NprocCharge, UserStruct, root_user};
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A user id as the kernel sees it (Linux: `kuid_t`).
pub type Kuid = u32;
/// A group id as the kernel sees it (Linux: `kgid_t`).
pub type Kgid = u32;

/// The id that means "leave this one unchanged" in setresuid and its
/// relatives, and "no id" elsewhere: (uid_t)-1.
pub const INVALID_UID: Kuid = u32::MAX;

/// Most supplementary groups a task may have (Linux: NGROUPS_MAX).
pub const NGROUPS_MAX: usize = 65536;

/// A task's supplementary groups, sorted so that membership is a binary
/// search (Linux: `struct group_info`, sorted by groups_sort()).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GroupInfo(Vec<Kgid>);

impl GroupInfo {
    /// Builds the set from ids in any order.
    ///
    /// Linux: groups_alloc() and groups_sort() in kernel/groups.c
    ///
    /// # Errors
    /// `ENOMEM` when the list cannot be allocated.
    pub fn new(groups: &[Kgid]) -> Result<Arc<GroupInfo>, Errno> {
        let mut v = Vec::new();
        v.try_reserve_exact(groups.len())
            .map_err(|_| Errno::ENOMEM)?;
        v.extend_from_slice(groups);
        v.sort_unstable();
        Arc::try_new(GroupInfo(v)).map_err(|_| Errno::ENOMEM)
    }

    /// The groups, in ascending order.
    pub fn groups(&self) -> &[Kgid] {
        &self.0
    }

    /// Linux: groups_search() in kernel/groups.c
    pub fn contains(&self, gid: Kgid) -> bool {
        self.0.binary_search(&gid).is_ok()
    }
}

/// A task's credentials (Linux: `struct cred`).
#[derive(Clone, Debug)]
pub struct Cred {
    /// Real user id: who started the process.
    pub uid: Kuid,
    /// Real group id.
    pub gid: Kgid,
    /// Saved set-user-ID: the euid to which an unprivileged task may return.
    pub suid: Kuid,
    /// Saved set-group-ID.
    pub sgid: Kgid,
    /// Effective user id: whose permissions the task has.
    pub euid: Kuid,
    /// Effective group id.
    pub egid: Kgid,
    /// User id for file-system access (follows euid unless setfsuid).
    pub fsuid: Kuid,
    /// Group id for file-system access.
    pub fsgid: Kgid,
    /// SECURE_* flags, including SECURE_KEEP_CAPS (prctl PR_SET_KEEPCAPS).
    pub securebits: u32,
    /// Capabilities an execve may pass on (Linux: cap_inheritable).
    pub cap_inheritable: KernelCap,
    /// Capabilities the task may make effective (Linux: cap_permitted).
    pub cap_permitted: KernelCap,
    /// Capabilities checked by capable() (Linux: cap_effective).
    pub cap_effective: KernelCap,
    /// The bounding set: the most an execve can grant (Linux: cap_bset).
    pub cap_bset: KernelCap,
    /// Capabilities kept across execve of a non-privileged program.
    pub cap_ambient: KernelCap,
    /// The real user's accounting (Linux: cred->user, cred->ucounts).
    pub user: Arc<UserStruct>,
    /// Supplementary groups.
    pub group_info: Arc<GroupInfo>,
}

impl Cred {
    /// Whether `gid` is the effective file-system group or a supplementary
    /// group.
    ///
    /// Linux: in_group_p() in kernel/groups.c
    pub fn in_group(&self, gid: Kgid) -> bool {
        gid == self.fsgid || self.group_info.contains(gid)
    }

    /// Whether `gid` is the effective group or a supplementary group.
    ///
    /// Linux: in_egroup_p() in kernel/groups.c
    pub fn in_egroup(&self, gid: Kgid) -> bool {
        gid == self.egid || self.group_info.contains(gid)
    }
}

/// The credentials of the first task, root with every capability, which
/// every other task inherits until it changes them.
///
/// Linux: init_cred in kernel/cred.c
///
/// # Errors
/// `ENOMEM` when the credentials cannot be allocated.
pub fn init_cred() -> Result<Arc<Cred>, Errno> {
    let cred = Cred {
        uid: 0,
        gid: 0,
        suid: 0,
        sgid: 0,
        euid: 0,
        egid: 0,
        fsuid: 0,
        fsgid: 0,
        securebits: 0,
        cap_inheritable: KernelCap::EMPTY,
        cap_permitted: KernelCap::FULL,
        cap_effective: KernelCap::FULL,
        cap_bset: KernelCap::FULL,
        cap_ambient: KernelCap::EMPTY,
        user: root_user(),
        group_info: GroupInfo::new(&[])?,
    };
    Arc::try_new(cred).map_err(|_| Errno::ENOMEM)
}

/// The credentials `t` acts with now.
///
/// Linux: __task_cred() (get_task_cred() for a counted reference)
pub fn task_cred(t: &TaskStruct) -> Arc<Cred> {
    t.cred.lock().clone().expect("copy_creds ran")
}

/// The current task's credentials.
///
/// Linux: current_cred() in include/linux/cred.h
pub fn current_cred() -> Arc<Cred> {
    task_cred(&current())
}

/// A copy of the current credentials to edit and then commit_creds.
///
/// Linux: prepare_creds() in kernel/cred.c
pub fn prepare_creds() -> Cred {
    Cred::clone(&current_cred())
}

/// Makes `new` the current task's credentials. They replace the old ones
/// in one step; whoever read the old ones keeps that consistent view.
///
/// Linux: commit_creds() in kernel/cred.c
/// When the effective or file-system ids change or the permitted set
/// grows, the process stops being dumpable (fs.suid_dumpable): its /proc
/// files turn root's, so a process that was root cannot be read by the
/// user it became; and its parent-death signal is cleared, so the parent
/// cannot signal a process that gained privilege.
///
/// # Errors
/// `ENOMEM` when the new credentials cannot be allocated.
pub fn commit_creds(new: Cred) -> Result<(), Errno> {
    let new = Arc::try_new(new).map_err(|_| Errno::ENOMEM)?;
    let task = current();
    let old = task_cred(&task);
    let changed = old.euid != new.euid
        || old.egid != new.egid
        || old.fsuid != new.fsuid
        || old.fsgid != new.fsgid
        || !new.cap_permitted.is_subset(old.cap_permitted);
    if changed {
        if let Some(mm) = task.mm.lock().as_ref() {
            mm.set_dumpable(crate::mm::mm_types::SUID_DUMPABLE);
        }
        task.pdeath_signal
            .store(0, core::sync::atomic::Ordering::Relaxed);
    }
    // A new real user takes over this task's RLIMIT_NPROC count.
    let charge = match task.nproc.lock().as_ref() {
        Some(c) if !Arc::ptr_eq(c.user(), &new.user) => Some(NprocCharge::new(new.user.clone())),
        _ => None,
    };
    *task.cred.lock() = Some(new);
    if let Some(charge) = charge {
        *task.nproc.lock() = Some(charge);
    }
    Ok(())
}

/// The current task acting with other credentials for a while: made by
/// override_creds, put back when dropped.
///
/// Linux: override_creds() / revert_creds() in kernel/cred.c
/// Differs: with one credential pointer per task, the override is also
/// what others read of the task (in /proc) until it is reverted.
#[must_use]
pub struct OverrideCreds(Option<Arc<Cred>>);

/// Makes `new` the current task's credentials until the returned guard
/// drops, for a check made on someone else's behalf (access(2) checks as
/// the real user).
///
/// Linux: override_creds() in kernel/cred.c
///
/// # Errors
/// `ENOMEM` when the credentials cannot be allocated.
pub fn override_creds(new: Cred) -> Result<OverrideCreds, Errno> {
    let new = Arc::try_new(new).map_err(|_| Errno::ENOMEM)?;
    Ok(OverrideCreds(current().cred.lock().replace(new)))
}

impl Drop for OverrideCreds {
    /// Linux: revert_creds() in kernel/cred.c
    fn drop(&mut self) {
        *current().cred.lock() = self.0.take();
    }
}

/// Gives the new task `p` its creator's credentials, and counts it
/// against their real user's RLIMIT_NPROC. Linux gives a new process a
/// copy and lets a thread share; since a `Cred` is never edited in place,
/// sharing one reference is the same thing here.
///
/// Linux: copy_creds() in kernel/cred.c
pub fn copy_creds(p: &TaskStruct) {
    let cred = current_cred();
    *p.nproc.lock() = Some(NprocCharge::new(cred.user.clone()));
    *p.cred.lock() = Some(cred);
}
