//! The kill family: kill(2) of a process, a process group or every
//! process, and tkill/tgkill of one thread, each checked against the
//! sender's permission; and the kernel's own kill of a process group.
//!
//! Linux: kill_proc_info() / kill_pid_info(), __kill_pgrp_info(),
//! kill_something_info()'s walk, do_tkill() in kernel/signal.c

use super::send::{SendSig, sender_tgid_nr_ns, sender_uid};
use super::*;
use crate::tasklist::{TASKLIST_LOCK, TaskList};

/// The siginfo of kill(2) from the current task, for the permission check.
fn si_user() -> KernelSiginfo {
    SendSig::NoInfo.info_for(&crate::task::current())
}

/// Sends `sig` to the process of task `pid`.
///
/// Linux: kill_proc_info() / kill_pid_info() in kernel/signal.c
///
/// # Errors
/// `ESRCH`; as [`check_kill_permission`].
pub(super) fn kill_proc_info(sig: i32, pid: i32) -> crate::syscall::SysResult {
    let t = crate::pid::find_task_by_vpid(pid).ok_or(crate::errno::Errno::ESRCH)?;
    check_kill_permission(sig, &si_user(), &t)?;
    // Even to a leader that has exited: its process lives while a thread
    // does, and one of those takes the signal.
    if sig != 0 {
        group_send_sig(sig, &t);
    }
    Ok(0)
}

/// Sends `sig` to every process in group `pgrp`, from the current task
/// (`from_user`, checked by check_kill_permission) or the kernel.
///
/// Linux: __kill_pgrp_info() in kernel/signal.c
pub(super) fn __kill_pgrp_info(
    sig: i32,
    pgrp: i32,
    tasklist: &TaskList,
    from_user: bool,
) -> Killed {
    kill_matching(sig, tasklist, from_user, |t| {
        t.signal().pgrp.load(Ordering::Relaxed) == pgrp
    })
}

/// What a kill of several processes met: whether it selected any, and
/// whether it was allowed to signal any of them.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Killed {
    /// Some process matched.
    pub found: bool,
    /// check_kill_permission let at least one through.
    pub allowed: bool,
}

/// One walk over the task list, under its lock, sending `sig` to each
/// process `matches` selects and, when it comes from a process
/// (`from_user`), check_kill_permission allows; others are skipped
/// silently. SIGKILL goes to each thread met on the way, so a group kill
/// costs one pass.
pub(super) fn kill_matching(
    sig: i32,
    tasklist: &TaskList,
    from_user: bool,
    matches: impl Fn(&TaskStruct) -> bool,
) -> Killed {
    let mut killed = Killed::default();
    let info = si_user();
    let from = if from_user {
        SendSig::NoInfo
    } else {
        SendSig::Priv
    };
    for t in tasklist.tasks.iter().filter(|t| matches(t)) {
        let leader = t.pid() == t.tgid();
        killed.found |= leader;
        if from_user && check_kill_permission(sig, &info, t).is_err() {
            continue;
        }
        killed.allowed |= leader;
        match sig {
            0 => {}
            SIGKILL if t.exit_state() == 0 => send_sig_info(sig, from.info_for(t), t),
            SIGKILL => {}
            _ if leader => group_send_sig_locked(sig, from, t, tasklist),
            _ => {}
        }
    }
    killed
}

/// Sends `sig` from the kernel (SI_KERNEL) to every process in group
/// `pgrp` (Linux: kill_pgrp() with priv set, as the terminal's signals).
pub fn kill_pgrp(pgrp: i32, sig: i32) {
    __kill_pgrp_info(sig, pgrp, &TASKLIST_LOCK.lock(), false);
}

/// kill_pgrp for a caller that holds the tasklist lock (Linux:
/// __kill_pgrp_info() with SEND_SIG_PRIV).
pub fn kill_pgrp_locked(pgrp: i32, sig: i32, tasklist: &TaskList) {
    __kill_pgrp_info(sig, pgrp, tasklist, false);
}

/// Sends `sig` to one thread; `tgid` 0 accepts any process.
///
/// Linux: do_tkill() / do_send_specific() in kernel/signal.c
///
/// # Errors
/// `ESRCH`; as [`check_kill_permission`].
pub(super) fn do_tkill(tgid: i32, tid: i32, sig: i32) -> crate::syscall::SysResult {
    use crate::errno::Errno;
    let t = crate::pid::find_task_by_vpid(tid)
        .filter(|t| tgid == 0 || crate::pid::task_tgid_vnr(t) == tgid)
        .ok_or(Errno::ESRCH)?;
    let info = KernelSiginfo {
        code: SI_TKILL,
        pid: sender_tgid_nr_ns(&t),
        uid: sender_uid(),
        ..Default::default()
    };
    check_kill_permission(sig, &info, &t)?;
    if sig != 0 && t.exit_state() == 0 {
        send_sig_info(sig, info, &t);
    }
    Ok(0)
}
