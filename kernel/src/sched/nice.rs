//! Nice values: set_user_nice() and the getpriority/setpriority system
//! calls, which read and change them for one task, a process group or a
//! user. (x86-64 has no nice(2) system call: the C library's nice() calls
//! these two.)
//!
//! Linux: set_user_nice(), can_nice() in kernel/sched/syscalls.c;
//! getpriority, setpriority, set_one_prio() in kernel/sys.c
//! Not modelled: the LSM hook (security_task_setnice), user namespaces
//! (a uid is the kernel's), priority inheritance.

use super::class::{sched_change, set_load_weight};
use super::migrate::task_rq_lock;
use super::prio::{MAX_NICE, MIN_NICE, nice_to_prio, prio_to_nice, rt_policy};
use crate::capability::{CAP_SYS_NICE, capable};
use crate::cred::{current_cred, task_cred};
use crate::errno::Errno;
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// getpriority/setpriority's `which`: one task (Linux: PRIO_PROCESS).
pub const PRIO_PROCESS: i32 = 0;
/// A process group (Linux: PRIO_PGRP).
pub const PRIO_PGRP: i32 = 1;
/// Every task of a user (Linux: PRIO_USER).
pub const PRIO_USER: i32 = 2;

/// The nice value of `p` (Linux: task_nice()).
pub fn task_nice(p: &TaskStruct) -> i32 {
    prio_to_nice(p.static_prio.load(Ordering::Relaxed))
}

/// The priority /proc shows (field 18 of stat): `prio - MAX_RT_PRIO`, so
/// 0 to 39 for nice -20 to 19 and -2 to -100 for real-time priorities.
///
/// Linux: task_prio() in kernel/sched/syscalls.c
pub fn task_prio(p: &TaskStruct) -> i32 {
    p.prio.load(Ordering::Relaxed) - super::prio::MAX_RT_PRIO
}

/// Gives `p` the nice value `nice`: a new weight for a fair task, placed
/// again with the lag it had; for a real-time task only the value it
/// returns to. Out-of-range values are ignored.
///
/// Linux: set_user_nice() in kernel/sched/syscalls.c
pub fn set_user_nice(p: &Arc<TaskStruct>, nice: i32) {
    if task_nice(p) == nice || !(MIN_NICE..=MAX_NICE).contains(&nice) {
        return;
    }
    let mut trq = task_rq_lock(p);
    if rt_policy(p.policy.load(Ordering::Relaxed)) {
        p.static_prio.store(nice_to_prio(nice), Ordering::Relaxed);
        return;
    }
    sched_change(&mut trq.rq, p, |_| {
        p.static_prio.store(nice_to_prio(nice), Ordering::Relaxed);
        set_load_weight(p, true);
        p.normal_prio.store(nice_to_prio(nice), Ordering::Relaxed);
        p.prio.store(nice_to_prio(nice), Ordering::Relaxed);
    });
}

/// Whether the caller may change `p`'s priority at all: same user, or
/// CAP_SYS_NICE.
///
/// Linux: set_one_prio_perm() in kernel/sys.c
fn set_one_prio_perm(p: &TaskStruct) -> bool {
    let (cred, pcred) = (current_cred(), task_cred(p));
    pcred.euid == cred.euid || pcred.euid == cred.uid || capable(CAP_SYS_NICE)
}

/// Sets one task's nice value. `error` is the answer so far: ESRCH until
/// a task matched; a change turns ESRCH into success but keeps an earlier
/// refusal, and a refusal replaces the answer.
///
/// Linux: set_one_prio() in kernel/sys.c
fn set_one_prio(p: &Arc<TaskStruct>, nice: i32, error: Result<(), Errno>) -> Result<(), Errno> {
    if !set_one_prio_perm(p) {
        return Err(Errno::EPERM);
    }
    if nice < task_nice(p) && !super::setscheduler::can_nice(p, nice) {
        return Err(Errno::EACCES);
    }
    set_user_nice(p, nice);
    if error == Err(Errno::ESRCH) {
        Ok(())
    } else {
        error
    }
}

/// The tasks `which` and `who` name, `who` 0 meaning the caller's own
/// task, group or user.
///
/// Linux: the selection in setpriority()/getpriority() in kernel/sys.c
/// Differs: the tasks are collected under the tasklist lock and changed
/// after it is dropped (Linux: under rcu_read_lock and the tasklist lock).
fn prio_targets(which: i32, who: i32) -> Result<Vec<Arc<TaskStruct>>, Errno> {
    let me = current();
    match which {
        PRIO_PROCESS => Ok(if who == 0 {
            alloc::vec![me]
        } else {
            crate::pid::find_task_by_vpid(who).into_iter().collect()
        }),
        PRIO_PGRP => {
            let pgrp = if who == 0 {
                me.signal().pgrp.load(Ordering::Relaxed)
            } else {
                who
            };
            Ok(all_tasks(|t| {
                t.signal().pgrp.load(Ordering::Relaxed) == pgrp
            }))
        }
        PRIO_USER => {
            let uid = if who == 0 {
                current_cred().uid
            } else {
                who as u32
            };
            Ok(all_tasks(|t| task_cred(t).uid == uid))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Every task (thread) `matches` selects.
fn all_tasks(matches: impl Fn(&TaskStruct) -> bool) -> Vec<Arc<TaskStruct>> {
    let tasklist = TASKLIST_LOCK.lock();
    tasklist
        .tasks
        .iter()
        .filter(|t| t.exit_state() == 0 && matches(t))
        .cloned()
        .collect()
}

/// Linux: SYSCALL_DEFINE3(setpriority) in kernel/sys.c
///
/// # Errors
/// `EINVAL`: `which` unknown. `ESRCH`: no task matched. `EPERM`: a task of
/// another user, without CAP_SYS_NICE. `EACCES`: lowering the nice value
/// beyond RLIMIT_NICE without CAP_SYS_NICE. With several tasks, the last
/// refusal is reported, unless some task was changed.
pub fn sys_setpriority(which: i32, who: i32, niceval: i32) -> SysResult {
    let niceval = niceval.clamp(MIN_NICE, MAX_NICE);
    let mut error = Err(Errno::ESRCH);
    for p in prio_targets(which, who)? {
        error = set_one_prio(&p, niceval, error);
    }
    error.map(|()| 0)
}

/// Returns the highest priority (lowest nice value) of the tasks named, as
/// `20 - nice` (1 to 40) so that no success looks like an error; the C
/// library turns it back into a nice value.
///
/// Linux: SYSCALL_DEFINE2(getpriority) in kernel/sys.c
///
/// # Errors
/// `EINVAL`: `which` unknown. `ESRCH`: no task matched.
pub fn sys_getpriority(which: i32, who: i32) -> SysResult {
    prio_targets(which, who)?
        .iter()
        .map(|p| (20 - task_nice(p)) as u64)
        .max()
        .ok_or(Errno::ESRCH)
}
