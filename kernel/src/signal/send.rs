//! Sending signals: queueing one for a task or a whole process, waking
//! the receiver, the kill family's walks over the task list, and the
//! parent's SIGCHLD when a child dies.
//!
//! Linux: the sending half of kernel/signal.c (send_signal_locked,
//! complete_signal, group_send_sig_info, kill_pid_info, do_notify_parent)

use super::*;
use crate::tasklist::{TASKLIST_LOCK, TaskList};
use alloc::sync::Arc;

/// Whether `t` would just drop `sig`: ignored signals are never queued.
///
/// Linux: sig_task_ignored() in kernel/signal.c
fn sig_task_ignored(t: &TaskStruct, sig: i32) -> bool {
    // Blocked signals are never ignored: the handler may change before
    // they are unblocked, or sigtimedwait may take them (real_blocked).
    let blocked = t.blocked.load(Ordering::Relaxed) | t.real_blocked.load(Ordering::Relaxed);
    if blocked & sigmask(sig) != 0 {
        return false;
    }
    let handler = t
        .sighand
        .lock()
        .as_ref()
        .map_or(SIG_IGN, |sh| sh.get(sig).handler);
    let unkillable = t
        .signal
        .get()
        .is_some_and(|s| s.unkillable.load(Ordering::Relaxed));
    handler == SIG_IGN || (handler == SIG_DFL && (sig == SIGCHLD || unkillable))
}

/// Queues `sig` for `t` and wakes it if it sleeps interruptibly.
///
/// Linux: send_signal_locked() / complete_signal() in kernel/signal.c
pub fn send_sig_info(sig: i32, info: KernelSiginfo, t: &Arc<TaskStruct>) {
    if sig_task_ignored(t, sig) {
        return;
    }
    if t.pending.signal.fetch_or(sigmask(sig), Ordering::Relaxed) & sigmask(sig) == 0 {
        t.pending.info.lock()[sig as usize - 1] = KernelSiginfo { signo: sig, ..info };
    }
    signalfd_notify(t);
    signal_wake_up(t, sig == SIGKILL);
}

/// Wakes the signalfd readers of `t`'s handler table: one of them may be
/// `t` waiting for this signal, blocked.
///
/// Linux: signalfd_notify() in include/linux/signalfd.h
fn signalfd_notify(t: &TaskStruct) {
    let sighand = t.sighand.lock().clone();
    if let Some(sh) = sighand {
        sh.signalfd_wqh.wake_up();
    }
}

/// Sends `sig` from the current task, as kill() does (SI_USER).
///
/// Linux: send_sig() in kernel/signal.c
pub fn send_sig(sig: i32, t: &Arc<TaskStruct>) {
    let pid = crate::arch::percpu::with_current(|c| c.map_or(0, |c| c.tgid()));
    send_sig_info(
        sig,
        KernelSiginfo {
            code: SI_USER,
            pid,
            ..Default::default()
        },
        t,
    );
}

/// Wakes `t` so it notices a new signal. TASK_INTERRUPTIBLE sleepers wake,
/// and for SIGKILL TASK_KILLABLE ones too; TASK_UNINTERRUPTIBLE ones keep
/// sleeping until their condition.
///
/// Linux: signal_wake_up() / signal_wake_up_state() in kernel/signal.c
fn signal_wake_up(t: &Arc<TaskStruct>, fatal: bool) {
    let wakekill = if fatal { crate::task::TASK_WAKEKILL } else { 0 };
    crate::sched::core::try_to_wake_up(t, TASK_INTERRUPTIBLE | wakekill);
}

/// Sends a signal the task caused itself (a fault): it cannot be ignored or
/// blocked, so an ignored or blocked one is reset to its default action.
///
/// Linux: force_sig_info_to_task() in kernel/signal.c
pub fn force_sig(sig: i32, addr: u64) {
    force_sig_fault(sig, SI_KERNEL, addr);
}

/// [`force_sig`] with the fault's own `si_code` (BUS_ADRALN, ...).
///
/// Linux: force_sig_fault() in kernel/signal.c
pub fn force_sig_fault(sig: i32, code: i32, addr: u64) {
    let t = crate::task::current();
    if let Some(sh) = t.sighand.lock().as_ref() {
        let mut action = sh.action.lock();
        let blocked = t.blocked.load(Ordering::Relaxed) & sigmask(sig) != 0;
        if action[sig as usize - 1].handler == SIG_IGN || blocked {
            action[sig as usize - 1].handler = SIG_DFL;
        }
    }
    t.blocked.fetch_and(!sigmask(sig), Ordering::Relaxed);
    t.pending.info.lock()[sig as usize - 1] = KernelSiginfo {
        signo: sig,
        code,
        addr,
        ..Default::default()
    };
    t.pending.signal.fetch_or(sigmask(sig), Ordering::Relaxed);
}

/// A signal frame could not be written: the task gets SIGSEGV instead,
/// and if that was SIGSEGV's own frame, SIGSEGV's default action (death),
/// so a task whose stack is unusable cannot loop on it.
///
/// Linux: force_sigsegv() in kernel/signal.c
pub fn force_sigsegv(sig: i32) {
    if sig == SIGSEGV
        && let Some(sh) = crate::task::current().sighand.lock().as_ref()
    {
        sh.action.lock()[SIGSEGV as usize - 1].handler = SIG_DFL;
    }
    force_sig(SIGSEGV, 0);
}

/// Sends `sig` to every thread of `t`'s process (Linux: group_send_sig_info()).
pub fn group_send_sig(sig: i32, t: &Arc<TaskStruct>) {
    group_send_sig_locked(sig, t, &TASKLIST_LOCK.lock());
}

/// group_send_sig for a caller that holds the tasklist lock: SIGKILL goes to
/// every thread, any other signal to `t` or, once it has exited, to the
/// first thread still alive.
pub(super) fn group_send_sig_locked(sig: i32, t: &Arc<TaskStruct>, tasklist: &TaskList) {
    let mut threads = tasklist.tasks.iter().filter(|x| x.tgid() == t.tgid());
    match sig {
        SIGKILL => threads.for_each(|x| send_sig(sig, x)),
        _ if t.exit_state() == 0 => send_sig(sig, t),
        _ => send_sig(sig, threads.find(|x| x.exit_state() == 0).unwrap_or(t)),
    }
}

/// Sends `sig` with `info` to `t`'s process: to `t` or, once it has
/// exited, to the first thread still alive.
///
/// Linux: group_send_sig_info() in kernel/signal.c
pub(super) fn group_send_sig_info(sig: i32, info: KernelSiginfo, t: &Arc<TaskStruct>) {
    let tasklist = TASKLIST_LOCK.lock();
    let alive = |x: &&Arc<TaskStruct>| x.tgid() == t.tgid() && x.exit_state() == 0;
    let target = match t.exit_state() {
        0 => t,
        _ => tasklist.tasks.iter().find(alive).unwrap_or(t),
    };
    send_sig_info(sig, info, target);
}

/// Tells the parent that `tsk` died: SIGCHLD (unless ignored) and a wake-up
/// of its wait4. Returns true when the parent ignores SIGCHLD, meaning the
/// child should reap itself instead of becoming a zombie.
///
/// Linux: do_notify_parent() in kernel/signal.c
pub fn do_notify_parent(tsk: &TaskStruct, parent: &Arc<TaskStruct>, sig: i32) -> bool {
    let mut sig = sig;
    let mut autoreap = false;
    if sig == SIGCHLD {
        let psig = parent
            .sighand
            .lock()
            .as_ref()
            .map(|sh| sh.get(SIGCHLD))
            .unwrap_or_default();
        if psig.handler == SIG_IGN || psig.flags & SA_NOCLDWAIT != 0 {
            autoreap = true;
            if psig.handler == SIG_IGN {
                sig = 0;
            }
        }
    }
    if sig > 0 && sig as usize <= _NSIG {
        let (code, status) = cld_code_and_status(tsk.exit_code.load(Ordering::Relaxed));
        // The child's own time and its dead threads', in clock ticks.
        let dead = *tsk.signal().dead.lock();
        let utime = tsk.utime.load(Ordering::Relaxed) + dead.utime;
        let stime = tsk.stime.load(Ordering::Relaxed) + dead.stime;
        send_sig_info(
            sig,
            KernelSiginfo {
                code,
                pid: tsk.tgid(),
                status,
                utime: crate::sched::cputime::nsec_to_clock_t(utime),
                stime: crate::sched::cputime::nsec_to_clock_t(stime),
                ..Default::default()
            },
            parent,
        );
    }
    __wake_up_parent(tsk, parent);
    autoreap
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

/// Sends `sig` to the process of task `pid`.
///
/// Linux: kill_proc_info() / kill_pid_info() in kernel/signal.c
pub(super) fn kill_proc_info(sig: i32, pid: i32) -> crate::syscall::SysResult {
    let t = crate::pid::find_task_by_vpid(pid).ok_or(crate::errno::Errno::ESRCH)?;
    if !valid_signal(sig) {
        return Err(crate::errno::Errno::EINVAL);
    }
    if sig != 0 && t.exit_state() == 0 {
        group_send_sig(sig, &t);
    }
    Ok(0)
}

/// Sends `sig` to every process in group `pgrp`; false if there is none.
///
/// Linux: __kill_pgrp_info() in kernel/signal.c
pub(super) fn __kill_pgrp_info(sig: i32, pgrp: i32, tasklist: &TaskList) -> bool {
    kill_matching(sig, tasklist, |t| {
        t.signal().pgrp.load(Ordering::Relaxed) == pgrp
    })
}

/// One walk over the task list, under its lock, sending `sig` to each
/// process `matches` selects; says whether it selected any. SIGKILL goes to
/// each thread met on the way, so a group kill costs one pass.
pub(super) fn kill_matching(
    sig: i32,
    tasklist: &TaskList,
    matches: impl Fn(&TaskStruct) -> bool,
) -> bool {
    let mut found = false;
    for t in tasklist.tasks.iter().filter(|t| matches(t)) {
        let leader = t.pid() == t.tgid();
        found |= leader;
        match sig {
            0 => {}
            SIGKILL if t.exit_state() == 0 => send_sig(sig, t),
            SIGKILL => {}
            _ if leader => group_send_sig_locked(sig, t, tasklist),
            _ => {}
        }
    }
    found
}

/// Sends `sig` to every process in group `pgrp` (Linux: kill_pgrp()).
pub fn kill_pgrp(pgrp: i32, sig: i32) {
    __kill_pgrp_info(sig, pgrp, &TASKLIST_LOCK.lock());
}

/// Sends `sig` to one thread; `tgid` 0 accepts any process.
///
/// Linux: do_tkill() / do_send_specific() in kernel/signal.c
pub(super) fn do_tkill(tgid: i32, tid: i32, sig: i32) -> crate::syscall::SysResult {
    use crate::errno::Errno;
    let t = crate::pid::find_task_by_vpid(tid)
        .filter(|t| tgid == 0 || t.tgid() == tgid)
        .ok_or(Errno::ESRCH)?;
    if !valid_signal(sig) {
        return Err(Errno::EINVAL);
    }
    if sig != 0 && t.exit_state() == 0 {
        let pid = crate::task::current().tgid();
        let info = KernelSiginfo {
            code: SI_TKILL,
            pid,
            ..Default::default()
        };
        send_sig_info(sig, info, &t);
    }
    Ok(0)
}
