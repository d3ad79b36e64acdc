//! unshare(2): the caller stops sharing what a clone flag names, as if it
//! had been created without that flag. It gets its own copy of the fs
//! state (CLONE_FS), of the file table (CLONE_FILES), or new namespaces
//! (CLONE_NEWUTS, CLONE_NEWIPC); signal handlers, memory and the thread
//! group can only be "unshared" when nothing shares them.
//!
//! Linux: ksys_unshare() and its helpers in kernel/fork.c

use super::CloneFlags;
use crate::errno::Errno;
use crate::fs::fdtable::dup_fd;
use crate::fs::fs_struct::copy_fs_struct;
use crate::nsproxy::{switch_task_namespaces, unshare_nsproxy_namespaces};
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use crate::tasklist::{TASKLIST_LOCK, thread_group_empty};
use alloc::sync::Arc;

/// Every flag unshare knows.
const UNSHARE_KNOWN: CloneFlags = CloneFlags::CLONE_THREAD
    .union(CloneFlags::CLONE_FS)
    .union(CloneFlags::CLONE_NEWNS)
    .union(CloneFlags::CLONE_SIGHAND)
    .union(CloneFlags::CLONE_VM)
    .union(CloneFlags::CLONE_FILES)
    .union(CloneFlags::CLONE_SYSVSEM)
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWNET)
    .union(CloneFlags::CLONE_NEWUSER)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWCGROUP)
    .union(CloneFlags::CLONE_NEWTIME);

/// Linux: SYSCALL_DEFINE1(unshare) in kernel/fork.c
pub fn sys_unshare(unshare_flags: u64) -> SysResult {
    ksys_unshare(CloneFlags::from_bits_retain(unshare_flags)).map(|()| 0)
}

/// Gives the caller its own copy of each thing `flags` names.
///
/// Linux: ksys_unshare() in kernel/fork.c
/// Differs: no semaphore undo list to leave (CLONE_SYSVSEM does nothing),
/// and no CAP_SYS_ADMIN check for new namespaces.
///
/// # Errors
/// As check_unshare_flags; `EINVAL` for a namespace kind not modelled;
/// `ENOMEM`.
pub fn ksys_unshare(mut flags: CloneFlags) -> Result<(), Errno> {
    use CloneFlags as F;
    // What each flag cannot be without.
    if flags.contains(F::CLONE_NEWUSER) {
        flags |= F::CLONE_THREAD | F::CLONE_FS;
    }
    if flags.contains(F::CLONE_VM) {
        flags |= F::CLONE_SIGHAND;
    }
    if flags.contains(F::CLONE_SIGHAND) {
        flags |= F::CLONE_THREAD;
    }
    if flags.contains(F::CLONE_NEWNS) {
        flags |= F::CLONE_FS;
    }
    let me = current();
    check_unshare_flags(&me, flags)?;
    let new_fs = unshare_fs(&me, flags)?;
    let new_fd = unshare_fd(&me, flags)?;
    let new_nsproxy = unshare_nsproxy_namespaces(flags)?;
    // Nothing fails from here on.
    if let Some(new_nsproxy) = new_nsproxy {
        switch_task_namespaces(&me, Some(new_nsproxy));
    }
    if let Some(new_fs) = new_fs {
        let old = me.fs.lock().replace(new_fs);
        drop(old);
    }
    if let Some(new_fd) = new_fd {
        let old = me.files.lock().replace(new_fd);
        drop(old);
    }
    Ok(())
}

/// Refuses flags unshare does not know, and to "unshare" a thread group,
/// signal handlers or memory that another task shares.
///
/// Linux: check_unshare_flags() in kernel/fork.c
///
/// # Errors
/// `EINVAL`.
fn check_unshare_flags(me: &Arc<TaskStruct>, flags: CloneFlags) -> Result<(), Errno> {
    use CloneFlags as F;
    if !UNSHARE_KNOWN.contains(flags) {
        return Err(Errno::EINVAL);
    }
    let tasklist = TASKLIST_LOCK.lock();
    if flags.intersects(F::CLONE_THREAD | F::CLONE_SIGHAND | F::CLONE_VM)
        && !thread_group_empty(me, &tasklist)
    {
        return Err(Errno::EINVAL);
    }
    let sighand = me.sighand.lock().clone();
    let mm = me.mm.lock().clone();
    let others = tasklist.tasks.iter().filter(|t| !Arc::ptr_eq(t, me));
    for t in others {
        if flags.intersects(F::CLONE_SIGHAND | F::CLONE_VM) && same(&t.sighand.lock(), &sighand) {
            return Err(Errno::EINVAL);
        }
        // Linux: current_is_single_threaded()
        if flags.contains(F::CLONE_VM) && same(&t.mm.lock(), &mm) {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}

/// Whether two tasks' pointers name the same object.
fn same<T>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
}

/// A copy of the caller's fs state under CLONE_FS, if it shares it.
///
/// Linux: unshare_fs() in kernel/fork.c
fn unshare_fs(
    me: &TaskStruct,
    flags: CloneFlags,
) -> Result<Option<Arc<crate::fs::fs_struct::FsStruct>>, Errno> {
    let fs = me.fs.lock().clone();
    match fs {
        // Two: the task's and ours.
        Some(fs) if flags.contains(CloneFlags::CLONE_FS) && Arc::strong_count(&fs) > 2 => {
            copy_fs_struct(&fs).map(Some)
        }
        _ => Ok(None),
    }
}

/// A copy of the caller's file table under CLONE_FILES, if it shares it.
///
/// Linux: unshare_fd() in kernel/fork.c
fn unshare_fd(
    me: &TaskStruct,
    flags: CloneFlags,
) -> Result<Option<Arc<crate::fs::fdtable::FilesStruct>>, Errno> {
    let files = me.files.lock().clone();
    match files {
        Some(files) if flags.contains(CloneFlags::CLONE_FILES) && Arc::strong_count(&files) > 2 => {
            dup_fd(&files).map(Some)
        }
        _ => Ok(None),
    }
}

/// Gives the caller a file table of its own if it shares one (a
/// CLONE_FILES child about to exec), so that close-on-exec leaves the
/// other sharers' descriptors open.
///
/// Linux: unshare_files() in kernel/fork.c
///
/// # Errors
/// `ENOMEM`.
pub fn unshare_files() -> Result<(), Errno> {
    let me = current();
    if let Some(new_fd) = unshare_fd(&me, CloneFlags::CLONE_FILES)? {
        let old = me.files.lock().replace(new_fd);
        drop(old);
    }
    Ok(())
}

/// Gives an exec'ing process a handler table of its own when another
/// process shares it (CLONE_SIGHAND without CLONE_THREAD; its own other
/// threads are gone by now), so that the new program's reset of the
/// handlers leaves theirs alone.
///
/// Linux: unshare_sighand() in fs/exec.c (the end of de_thread())
///
/// # Errors
/// `ENOMEM`.
pub fn unshare_sighand() -> Result<(), Errno> {
    let me = current();
    let old = me.sighand.lock().clone();
    let Some(old) = old else { return Ok(()) };
    let shared = {
        let tasklist = TASKLIST_LOCK.lock();
        let mine = Some(old.clone());
        tasklist
            .tasks
            .iter()
            .any(|t| !Arc::ptr_eq(t, &me) && same(&t.sighand.lock(), &mine))
    };
    if shared {
        let new = crate::signal::SighandStruct::try_copy(&old)?;
        let old = me.sighand.lock().replace(new);
        drop(old);
    }
    Ok(())
}
