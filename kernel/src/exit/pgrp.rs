//! Orphaned process groups: a group none of whose members has a parent in
//! another group of the same session has no shell left to continue its
//! stopped jobs. When an exit makes a group orphaned and it has stopped
//! members, each member gets SIGHUP then SIGCONT; job-control stops from
//! the terminal (SIGTSTP, SIGTTIN, SIGTTOU) are dropped in such a group.
//!
//! Linux: will_become_orphaned_pgrp(), is_current_pgrp_orphaned(),
//! has_stopped_jobs() and kill_orphaned_pgrp() in kernel/exit.c

use crate::arch::sync::SpinLockGuard;
use crate::pid::PidNr;
use crate::signal::{SIGCONT, SIGHUP, SIGNAL_STOP_STOPPED};
use crate::task::TaskStruct;
use crate::tasklist::{TASKLIST_LOCK, TaskList, thread_group_empty};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The process group of `p`'s process.
fn task_pgrp(p: &TaskStruct) -> PidNr {
    p.signal().pgrp.load(Ordering::Relaxed)
}

/// The session of `p`'s process.
fn task_session(p: &TaskStruct) -> PidNr {
    p.signal().session.load(Ordering::Relaxed)
}

/// The processes (group leaders) of process group `pgrp`.
fn pgrp_members<'a>(
    pgrp: PidNr,
    tasklist: &'a TaskList,
) -> impl Iterator<Item = &'a Arc<TaskStruct>> + 'a {
    tasklist
        .tasks
        .iter()
        .filter(move |p| p.pid() == p.tgid() && task_pgrp(p) == pgrp)
}

/// Whether process group `pgrp` is orphaned once `ignored_task` is gone:
/// no member (other than it, and other than dead ones) has a parent that
/// is in another group of the same session. A parent that is init does
/// not count.
///
/// Linux: will_become_orphaned_pgrp() in kernel/exit.c
fn will_become_orphaned_pgrp(
    pgrp: PidNr,
    ignored_task: Option<&TaskStruct>,
    tasklist: &SpinLockGuard<'_, TaskList>,
) -> bool {
    !pgrp_members(pgrp, tasklist).any(|p| {
        if ignored_task.is_some_and(|i| core::ptr::eq(i, &**p))
            || (p.exit_state() != 0 && thread_group_empty(p, tasklist))
        {
            return false;
        }
        let Some(parent) = p.family.get(tasklist).real_parent.upgrade() else {
            return false;
        };
        parent.tgid() != 1 && task_pgrp(&parent) != pgrp && task_session(&parent) == task_session(p)
    })
}

/// Whether the caller's process group is orphaned.
///
/// Linux: is_current_pgrp_orphaned() in kernel/exit.c
pub fn is_current_pgrp_orphaned() -> bool {
    let pgrp = task_pgrp(&crate::task::current());
    will_become_orphaned_pgrp(pgrp, None, &TASKLIST_LOCK.lock())
}

/// Whether some process of `pgrp` is stopped.
///
/// Linux: has_stopped_jobs() in kernel/exit.c
fn has_stopped_jobs(pgrp: PidNr, tasklist: &TaskList) -> bool {
    pgrp_members(pgrp, tasklist)
        .any(|p| p.signal().flags.load(Ordering::Acquire) & SIGNAL_STOP_STOPPED != 0)
}

/// SIGHUP then SIGCONT to `tsk`'s process group if `tsk`'s leaving makes
/// it orphaned while it has stopped members. On exit (`parent` None) `tsk`
/// is the exiting process's leader and its own parent is the link that
/// goes; on reparenting, `tsk` is a child of the exiting `parent`.
///
/// Linux: kill_orphaned_pgrp() in kernel/exit.c
pub(super) fn kill_orphaned_pgrp(
    tsk: &Arc<TaskStruct>,
    parent: Option<&Arc<TaskStruct>>,
    tasklist: &SpinLockGuard<'_, TaskList>,
) {
    let (parent, ignored_task) = match parent {
        Some(parent) => (Some(parent.clone()), None),
        None => (tsk.family.get(tasklist).real_parent.upgrade(), Some(&**tsk)),
    };
    let Some(parent) = parent else {
        return;
    };
    let pgrp = task_pgrp(tsk);
    if task_pgrp(&parent) != pgrp
        && task_session(&parent) == task_session(tsk)
        && will_become_orphaned_pgrp(pgrp, ignored_task, tasklist)
        && has_stopped_jobs(pgrp, tasklist)
    {
        crate::signal::kill_pgrp_locked(pgrp, SIGHUP, tasklist);
        crate::signal::kill_pgrp_locked(pgrp, SIGCONT, tasklist);
    }
}
