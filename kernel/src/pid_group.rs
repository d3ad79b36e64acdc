//! Process-group and session ids hold their pid. A group or session is
//! named by the pid of the process that created it, and that number stays
//! taken while any process is in the group or session, even after its
//! creator has been reaped: otherwise a new process could get the number,
//! and its setpgid(0, 0) would put it into the old group, or its setsid()
//! start a second session with the same id.
//!
//! The pid of a reaped process whose number is still a group or session id
//! waits in the task list's `group_pids`, under the tasklist lock; the last
//! process to leave (by setpgid, setsid, or being reaped) frees it. Its
//! numbers in the other pid namespaces come from there too.
//!
//! Linux: detach_pid() -> __change_pid() in kernel/pid.c (a pid is freed
//! once no task is attached to it as PIDTYPE_PID, PGID or SID)
//! Differs: only reaped creators' pids are kept apart; a group whose
//! creator is alive is found through its creator's task.

use crate::pid::{Pid, PidNr, pid_nr_ns, task_active_pid_ns, task_pid_nr_ns};
use crate::pid_namespace::PidNamespace;
use crate::tasklist::{TASKLIST_LOCK, TaskList};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Whether some process not yet reaped is in group or session `nr`.
fn used_as_group(nr: PidNr, tasklist: &TaskList) -> bool {
    tasklist.tasks.iter().any(|t| {
        t.signal.get().is_some_and(|s| {
            s.pgrp.load(Ordering::Relaxed) == nr || s.session.load(Ordering::Relaxed) == nr
        })
    })
}

/// The reaped leader's `pid`, unhashed from the task list: kept while a
/// group or session is named by it, else returned to be freed (after the
/// tasklist lock is dropped). A pid that cannot be kept for want of memory
/// is freed: the old behaviour, not a crash.
///
/// Linux: detach_pid() in kernel/pid.c, for PIDTYPE_PID
pub fn detach_pid(pid: Arc<Pid>, tasklist: &mut TaskList) -> Option<Arc<Pid>> {
    if !used_as_group(pid.nr(), tasklist) || tasklist.group_pids.try_reserve(1).is_err() {
        return Some(pid);
    }
    tasklist.group_pids.push(pid);
    None
}

/// After a process left group or session `nr` (setpgid, setsid, or it
/// was reaped): the kept pid of that number if no process uses it any
/// more, to be freed after the tasklist lock is dropped.
///
/// Linux: detach_pid() in kernel/pid.c, for PIDTYPE_PGID and PIDTYPE_SID
pub fn put_group_pid(nr: PidNr, tasklist: &mut TaskList) -> Option<Arc<Pid>> {
    let i = tasklist.group_pids.iter().position(|p| p.nr() == nr)?;
    if used_as_group(nr, tasklist) {
        return None;
    }
    Some(tasklist.group_pids.swap_remove(i))
}

/// A process group or session id (kept as a root-namespace number) as `ns`
/// sees it: through the process that has that pid, or the pid kept for
/// it; 0 when `ns` cannot see it.
///
/// Linux: pid_nr_ns() on `signal->pids[PIDTYPE_PGID]` and `[PIDTYPE_SID]`
pub fn pgrp_nr_ns(nr: PidNr, ns: &PidNamespace) -> PidNr {
    if ns.level == 0 {
        return nr;
    }
    let tasklist = TASKLIST_LOCK.lock();
    match tasklist.tasks.iter().find(|t| t.pid() == nr) {
        Some(t) => task_pid_nr_ns(t, ns),
        None => tasklist
            .group_pids
            .iter()
            .find(|p| p.nr() == nr)
            .map_or(0, |p| pid_nr_ns(p, ns)),
    }
}

/// The root-namespace number of the process group or session `nr` that
/// the caller named; `None` when it names nothing visible to it.
///
/// Linux: find_vpid() as used for pgids in kernel/sys.c and kernel/signal.c
pub fn find_vpgrp(nr: PidNr) -> Option<PidNr> {
    let ns = task_active_pid_ns(&crate::task::current());
    if ns.level == 0 {
        return Some(nr);
    }
    if nr <= 0 {
        return None;
    }
    let tasklist = TASKLIST_LOCK.lock();
    match tasklist.tasks.iter().find(|t| task_pid_nr_ns(t, &ns) == nr) {
        Some(t) => Some(t.pid()),
        None => tasklist
            .group_pids
            .iter()
            .find(|p| pid_nr_ns(p, &ns) == nr)
            .map(|p| p.nr()),
    }
}
