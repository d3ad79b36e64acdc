//! The parent hears of a child: of its death, SIGCHLD with the exit
//! status and the CPU time, unless it ignores SIGCHLD (then the child
//! reaps itself); of a stop, a continue or a ptrace trap, SIGCHLD unless
//! it set SA_NOCLDSTOP. Either way its wait is woken.
//!
//! Linux: do_notify_parent() and do_notify_parent_cldstop() in
//! kernel/signal.c, __wake_up_parent() in kernel/exit.c

use super::jobctl::{CLD_CONTINUED, CLD_STOPPED, SA_NOCLDSTOP};
use super::*;
use crate::arch::sync::SpinLockGuard;
use alloc::sync::Arc;

/// Tells the parent that `tsk` died: SIGCHLD (unless ignored) and a wake-up
/// of its wait4. Returns true when the parent ignores SIGCHLD, meaning the
/// child should reap itself instead of becoming a zombie. The caller holds
/// the tasklist lock: a clone's exit signal may be a stop signal or
/// SIGCONT (`clone(CLONE_VM | SIGTSTP)`), whose prepare_signal walks the
/// parent's threads under it (taking it again here spun forever).
///
/// Linux: do_notify_parent() in kernel/signal.c
pub fn do_notify_parent(
    tsk: &TaskStruct,
    parent: &Arc<TaskStruct>,
    sig: i32,
    tasklist: &TaskList,
) -> bool {
    let mut sig = sig;
    let mut autoreap = false;
    // A tracee is never reaped behind its tracer's back.
    if sig == SIGCHLD && !tsk.ptrace.is_traced() {
        let psig = task_sigaction(parent, SIGCHLD);
        if psig.handler == SIG_IGN || psig.flags & SA_NOCLDWAIT != 0 {
            autoreap = true;
            if psig.handler == SIG_IGN {
                sig = 0;
            }
        }
    }
    if sig > 0 && sig as usize <= _NSIG {
        let (code, status) = cld_code_and_status(crate::exit::zombie_status(tsk));
        let (utime, stime) = exited_cputime(tsk);
        let info = KernelSiginfo {
            code,
            pid: crate::pid::task_tgid_nr_ns(tsk, &crate::pid::task_active_pid_ns(parent)),
            uid: crate::cred::task_cred(tsk).uid,
            status,
            utime: crate::sched::cputime::nsec_to_clock_t(utime),
            stime: crate::sched::cputime::nsec_to_clock_t(stime),
            ..Default::default()
        };
        let _ = send_signal_locked(sig, info, parent, PidType::Tgid, Some(tasklist));
    }
    __wake_up_parent(tsk, parent);
    autoreap
}

/// The CPU time of `tsk`'s process (its own and its dead threads') for
/// the SIGCHLD that reports its end, in ns: the ticks' user/system split
/// scaled to the precise run time, as wait4's rusage reports it.
///
/// Linux: the task_cputime() part of do_notify_parent() in kernel/signal.c
/// Differs: Linux reports the raw tick samples; under an emulator whose CPU
/// the host deschedules, missed timer periods merge into one tick, so the
/// samples alone fall short of the time the child ran (13 ticks for a
/// 200 ms busy loop on a loaded host).
fn exited_cputime(tsk: &TaskStruct) -> (u64, u64) {
    let mut r = *tsk.signal().dead.lock();
    r.add(&crate::rusage::Rusage::of_task(tsk));
    crate::sched::cputime::cputime_adjust(
        &tsk.signal().prev_cputime,
        r.utime,
        r.stime,
        r.sum_exec_runtime,
    )
}

/// Wakes the parent's wait4, if it is sleeping in one.
///
/// Linux: __wake_up_parent() in kernel/exit.c
pub fn __wake_up_parent(_p: &TaskStruct, parent: &TaskStruct) {
    parent
        .signal()
        .wait_chldexit
        .wake_up_mode(TASK_INTERRUPTIBLE);
}

/// Tells a parent that `tsk` stopped, continued or trapped: SIGCHLD with
/// `why` (CLD_STOPPED, CLD_CONTINUED or CLD_TRAPPED) unless the parent
/// ignores SIGCHLD or set SA_NOCLDSTOP, and a wake-up of its wait. For the
/// tracer (`for_ptracer`) the report is about this thread; for the real
/// parent it is about the process, named by its group leader.
///
/// Linux: do_notify_parent_cldstop() in kernel/signal.c
pub fn do_notify_parent_cldstop(
    tsk: &Arc<TaskStruct>,
    for_ptracer: bool,
    why: i32,
    tasklist: &SpinLockGuard<'_, TaskList>,
) {
    let (tsk, parent) = if for_ptracer {
        (tsk.clone(), tsk.family.get(tasklist).parent.upgrade())
    } else {
        let leader = tsk
            .family
            .get(tasklist)
            .group_leader
            .upgrade()
            .unwrap_or_else(|| tsk.clone());
        let parent = leader.family.get(tasklist).real_parent.upgrade();
        (leader, parent)
    };
    let Some(parent) = parent else {
        return;
    };
    let status = match why {
        CLD_CONTINUED => SIGCONT,
        CLD_STOPPED => tsk.signal().siglock.lock().stop_code & 0x7f,
        _ => tsk.exit_code.load(Ordering::Relaxed) & 0x7f,
    };
    let info = KernelSiginfo {
        signo: SIGCHLD,
        code: why,
        pid: crate::pid::task_pid_nr_ns(&tsk, &crate::pid::task_active_pid_ns(&parent)),
        uid: crate::cred::task_cred(&tsk).uid,
        status,
        utime: crate::sched::cputime::nsec_to_clock_t(tsk.utime.load(Ordering::Relaxed)),
        stime: crate::sched::cputime::nsec_to_clock_t(tsk.stime.load(Ordering::Relaxed)),
        ..Default::default()
    };
    let psig = task_sigaction(&parent, SIGCHLD);
    if psig.handler != SIG_IGN && psig.flags & SA_NOCLDSTOP == 0 {
        let _ = send_signal_locked(SIGCHLD, info, &parent, PidType::Tgid, Some(tasklist));
    }
    __wake_up_parent(&tsk, &parent);
}
