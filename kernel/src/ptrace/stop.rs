//! The stops: the tracee saves its registers, enters `__TASK_TRACED`,
//! tells its tracer, and sleeps until the tracer resumes it (or SIGKILL
//! ends it). Every kind of stop goes through ptrace_stop: a signal about
//! to be delivered, a system call's entry and exit, an event (fork, clone,
//! exec, exit), a seized tracee's PTRACE_EVENT_STOP, and a traced
//! thread's part in a group stop (do_jobctl_trap).
//!
//! Linux: ptrace_stop(), ptrace_do_notify(), ptrace_notify(), ptrace_signal(),
//! do_jobctl_trap() in kernel/signal.c; ptrace_event() and ptrace_report_syscall() in
//! include/linux/ptrace.h; syscall_trace_enter() / syscall_exit_work() in
//! kernel/entry/common.c

use super::*;
use crate::signal::{
    CLD_STOPPED, CLD_TRAPPED, JOBCTL_LISTENING, JOBCTL_STOP_PENDING, JOBCTL_STOP_SIGMASK,
    JOBCTL_TRAP_NOTIFY, JOBCTL_TRAP_STOP, SIGCHLD, SIGNAL_STOP_STOPPED, SIGTRAP,
    ptrace_signal_wake_up, task_clear_jobctl_pending, task_participate_group_stop,
    task_set_jobctl_pending,
};
use crate::task::{__TASK_TRACED, TASK_WAKEKILL};

/// The message of a syscall-entry stop (Linux: PTRACE_EVENTMSG_SYSCALL_ENTRY).
const PTRACE_EVENTMSG_SYSCALL_ENTRY: u64 = 1;
/// The message of a syscall-exit stop (Linux: PTRACE_EVENTMSG_SYSCALL_EXIT).
const PTRACE_EVENTMSG_SYSCALL_EXIT: u64 = 2;

/// Stops the current task for its tracer with `exit_code` (what wait
/// reports as `exit_code << 8 | 0x7f`), `message` for GETEVENTMSG and
/// `info` for GETSIGINFO; returns, once resumed, the signal the tracer
/// chose (0 for none) and the siginfo it may have changed. A task that is
/// not traced, or is being killed, does not stop. A stop with `why`
/// CLD_STOPPED is the thread's part in a group stop: the last thread to
/// stop tells the real parent too, when that is not the tracer.
///
/// Linux: ptrace_stop() in kernel/signal.c
/// Differs: the registers are copied out for the tracer and back on
/// resume, instead of the tracer reaching into the tracee's kernel stack.
fn ptrace_stop(
    exit_code: i32,
    why: i32,
    message: u64,
    info: Option<KernelSiginfo>,
    regs: &mut PtRegs,
) -> (i32, Option<KernelSiginfo>) {
    let me = current();
    if crate::signal::fatal_signal_pending(&me) {
        return (exit_code, info);
    }
    me.thread.fpu.save();
    let tasklist = TASKLIST_LOCK.lock();
    if !me.ptrace.is_traced() {
        return (exit_code, info);
    }
    *me.ptrace.stopped.lock() = Some(PtraceStopped { regs: *regs, info });
    me.ptrace.message.store(message, Ordering::Relaxed);
    me.exit_code.store(exit_code, Ordering::Relaxed);
    me.state
        .store(__TASK_TRACED | TASK_WAKEKILL, Ordering::Release);
    let gstop_done = ptrace_stop_jobctl(&me, why, info.as_ref());
    crate::signal::do_notify_parent_cldstop(&me, true, why, &tasklist);
    if gstop_done && super::ptrace_reparented(&me, &tasklist) {
        crate::signal::do_notify_parent_cldstop(&me, false, why, &tasklist);
    }
    drop(tasklist);
    crate::sched::core::schedule();
    // Only a PTRACE_EVENT_STOP can be listening; it is over.
    let stop = me.signal().siglock.lock();
    me.jobctl.fetch_and(!JOBCTL_LISTENING, Ordering::Relaxed);
    drop(stop);
    let stopped = me.ptrace.stopped.lock().take();
    let info = match stopped {
        Some(s) => {
            *regs = s.regs;
            me.thread.fpu.restore();
            s.info
        }
        None => info,
    };
    (me.exit_code.swap(0, Ordering::Relaxed), info)
}

/// ptrace_stop's job-control steps, under siglock, once in TASK_TRACED: a
/// CLD_STOPPED trap takes part in the pending group stop (true when it
/// completed it); any trap takes the due JOBCTL_TRAP_STOP, and a
/// PTRACE_EVENT_STOP the JOBCTL_TRAP_NOTIFY it reports; a tracer waiting
/// in ptrace_attach for this stop (JOBCTL_TRAPPING) goes on.
///
/// Linux: the jobctl part of ptrace_stop() in kernel/signal.c
fn ptrace_stop_jobctl(me: &TaskStruct, why: i32, info: Option<&KernelSiginfo>) -> bool {
    let mut stop = me.signal().siglock.lock();
    let gstop_done = why == CLD_STOPPED
        && me.jobctl.load(Ordering::Relaxed) & JOBCTL_STOP_PENDING != 0
        && task_participate_group_stop(me, &mut stop);
    task_clear_jobctl_pending(me, JOBCTL_TRAP_STOP);
    if info.is_some_and(|i| i.code >> 8 == PTRACE_EVENT_STOP as i32) {
        task_clear_jobctl_pending(me, JOBCTL_TRAP_NOTIFY);
    }
    crate::signal::task_clear_jobctl_trapping(me);
    gstop_done
}

/// Wakes a tracee stopped in ptrace_stop.
///
/// Linux: wake_up_state(child, __TASK_TRACED) in ptrace_resume()
pub(super) fn ptrace_wake_up(child: &Arc<TaskStruct>) {
    crate::sched::core::try_to_wake_up(child, __TASK_TRACED);
}

/// A SIGTRAP stop with `exit_code` (SIGTRAP, plus an event << 8 or 0x80)
/// and its siginfo; returns the signal the tracer resumed with.
///
/// Linux: ptrace_notify() in kernel/signal.c
fn ptrace_notify(exit_code: i32, why: i32, message: u64, regs: &mut PtRegs) -> i32 {
    ptrace_do_notify(SIGTRAP, exit_code, why, message, regs)
}

/// A stop with a siginfo of signal `signr` whose si_code is `exit_code`.
///
/// Linux: ptrace_do_notify() in kernel/signal.c
fn ptrace_do_notify(signr: i32, exit_code: i32, why: i32, message: u64, regs: &mut PtRegs) -> i32 {
    let me = current();
    let info = KernelSiginfo {
        signo: signr,
        code: exit_code,
        pid: crate::pid::task_pid_vnr(&me),
        uid: crate::cred::task_cred(&me).uid,
        ..Default::default()
    };
    ptrace_stop(exit_code, why, message, Some(info), regs).0
}

/// An event stop when the tracer asked for `event` (message: a new pid,
/// the old pid at exec, the exit status); without it, a traced exec gets
/// the old-style SIGTRAP.
///
/// Linux: ptrace_event() in include/linux/ptrace.h
pub fn ptrace_event(event: u32, message: u64, regs: &mut PtRegs) {
    let me = current();
    if me.ptrace.event_enabled(event) {
        ptrace_notify(SIGTRAP | (event << 8) as i32, CLD_TRAPPED, message, regs);
    } else if event == PTRACE_EVENT_EXEC
        && me.ptrace.flags() & (PT_PTRACED | PT_SEIZED) == PT_PTRACED
    {
        crate::signal::send_sig(SIGTRAP, &me);
    }
}

/// The exit event, raised with the exit status before do_exit.
///
/// Linux: the ptrace_event(PTRACE_EVENT_EXIT, code) of do_exit() in kernel/exit.c
/// Differs: the callers that hold the user registers (exit, exit_group,
/// a fatal signal) raise it just before do_exit / do_group_exit.
pub fn ptrace_event_exit(code: i32, regs: &mut PtRegs) {
    if current().ptrace.is_traced() {
        ptrace_event(PTRACE_EVENT_EXIT, code as u32 as u64, regs);
    }
}

/// Which event a clone by the current task raises: VFORK, CLONE (a child
/// with another exit signal, a thread) or FORK, when its tracer asked for
/// it and CLONE_UNTRACED does not forbid it; 0 otherwise.
///
/// Linux: the `trace` choice of kernel_clone() in kernel/fork.c
pub fn ptrace_clone_event(flags: crate::fork::CloneFlags, exit_signal: i32) -> u32 {
    use crate::fork::CloneFlags;
    if flags.contains(CloneFlags::CLONE_UNTRACED) {
        return 0;
    }
    let event = if flags.contains(CloneFlags::CLONE_VFORK) {
        PTRACE_EVENT_VFORK
    } else if exit_signal != SIGCHLD {
        PTRACE_EVENT_CLONE
    } else {
        PTRACE_EVENT_FORK
    };
    if current().ptrace.event_enabled(event) {
        event
    } else {
        0
    }
}

/// The number the current task's tracer knows `child` by, for the fork
/// events' message; 0 when untraced.
///
/// Linux: the pid_nr_ns() of ptrace_event_pid() in kernel/ptrace.c
pub fn ptrace_event_pid_nr(child: &TaskStruct) -> u64 {
    let me = current();
    if !me.ptrace.is_traced() {
        return 0;
    }
    let tracer = me.family.get(&TASKLIST_LOCK.lock()).parent.upgrade();
    tracer.map_or(0, |t| {
        crate::pid::task_pid_nr_ns(child, &crate::pid::task_active_pid_ns(&t)) as u64
    })
}

/// A signal about to be delivered stops the traced task first: the tracer
/// sees it, and resumes with it, another one, or none. A replacement is
/// sent by the tracer (SI_USER); a blocked one is queued again. Returns
/// the signal to deliver, 0 for none.
///
/// Linux: ptrace_signal() in kernel/signal.c
pub fn ptrace_signal(sig: i32, info: &mut KernelSiginfo, regs: &mut PtRegs) -> i32 {
    let (signr, new_info) = ptrace_stop(sig, CLD_TRAPPED, 0, Some(*info), regs);
    if let Some(new_info) = new_info {
        *info = new_info;
    }
    if signr == 0 {
        return 0;
    }
    let me = current();
    if signr != info.signo {
        let tracer = me.family.get(&TASKLIST_LOCK.lock()).parent.upgrade();
        *info = KernelSiginfo {
            signo: signr,
            code: crate::signal::SI_USER,
            pid: tracer.map_or(0, |t| crate::pid::task_tgid_vnr(&t)),
            ..Default::default()
        };
    }
    let blocked = me.blocked.load(Ordering::Relaxed) & (1 << (signr - 1)) != 0;
    if blocked || crate::signal::fatal_signal_pending(&me) {
        let _ =
            crate::signal::send_signal_locked(signr, *info, &me, crate::signal::PidType::Pid, None);
        return 0;
    }
    signr
}

/// The syscall stop with SIGTRAP, or SIGTRAP | 0x80 under TRACESYSGOOD; a
/// signal the tracer resumes with is sent to the tracee.
///
/// Linux: ptrace_report_syscall() in include/linux/ptrace.h
fn ptrace_report_syscall(message: u64, regs: &mut PtRegs) {
    let me = current();
    let sysgood = me.ptrace.flags() & (PTRACE_O_TRACESYSGOOD << PT_OPT_FLAG_SHIFT) != 0;
    let code = SIGTRAP | if sysgood { 0x80 } else { 0 };
    let signr = ptrace_notify(code, CLD_TRAPPED, message, regs);
    if signr != 0 {
        crate::signal::send_sig(signr, &me);
    }
}

/// Whether the running task asked for syscall stops: the test every system
/// call makes twice, so it reads the flag without taking a reference to
/// the task.
///
/// Linux: the SYSCALL_WORK_SYSCALL_TRACE test in
/// syscall_enter_from_user_mode_work() in include/linux/entry-common.h
#[inline(always)]
fn syscall_work() -> bool {
    crate::arch::percpu::with_current(|t| {
        t.is_some_and(|t| t.ptrace.syscall_trace.load(Ordering::Relaxed))
    })
}

/// Before a system call runs: a syscall-entry stop under PTRACE_SYSCALL.
/// Returns the number to run (the tracer may change orig_rax; -1 skips
/// the call, leaving rax as the tracer set it).
///
/// Linux: syscall_trace_enter() in kernel/entry/common.c
#[inline]
pub fn ptrace_report_syscall_entry(regs: &mut PtRegs) -> u64 {
    if !syscall_work() {
        return regs.orig_rax;
    }
    let me = current();
    if me.ptrace.syscall_trace.load(Ordering::Relaxed) && me.ptrace.is_traced() {
        ptrace_report_syscall(PTRACE_EVENTMSG_SYSCALL_ENTRY, regs);
        if crate::signal::fatal_signal_pending(&me) {
            return u64::MAX;
        }
    }
    regs.orig_rax
}

/// After a system call: a syscall-exit stop under PTRACE_SYSCALL.
///
/// Linux: syscall_exit_work() / ptrace_report_syscall_exit() in
/// kernel/entry/common.c
/// Differs: single-stepping over a `syscall` instruction reports the trap
/// on the next instruction, not at the syscall's exit.
#[inline]
pub fn ptrace_report_syscall_exit(regs: &mut PtRegs) {
    if !syscall_work() {
        return;
    }
    let me = current();
    if me.ptrace.syscall_trace.load(Ordering::Relaxed) && me.ptrace.is_traced() {
        ptrace_report_syscall(PTRACE_EVENTMSG_SYSCALL_EXIT, regs);
    }
}

/// Takes a due ptrace trap: a seized tracee's PTRACE_EVENT_STOP (its
/// first stop, PTRACE_INTERRUPT's, a group stop or a change of it: the
/// stop signal while the group stop lasts, SIGTRAP otherwise), or the
/// report of a group stop by a tracee attached without PTRACE_SEIZE (the
/// stop signal, no siginfo).
///
/// Linux: do_jobctl_trap() in kernel/signal.c
pub fn do_jobctl_trap(regs: &mut PtRegs) {
    let me = current();
    let signal = me.signal();
    let signr = (me.jobctl.load(Ordering::Relaxed) & JOBCTL_STOP_SIGMASK) as i32;
    if me.ptrace.flags() & PT_SEIZED != 0 {
        let in_group_stop = signal.siglock.lock().group_stop_count != 0
            || signal.flags.load(Ordering::Relaxed) & SIGNAL_STOP_STOPPED != 0;
        let signr = if in_group_stop { signr } else { SIGTRAP };
        let code = signr | (PTRACE_EVENT_STOP << 8) as i32;
        ptrace_do_notify(signr, code, CLD_STOPPED, 0, regs);
    } else {
        ptrace_stop(signr, CLD_STOPPED, 0, None, regs);
    }
}

/// PTRACE_INTERRUPT: a seized tracee stops with PTRACE_EVENT_STOP at its
/// next return to user space, a sleeping system call interrupted; one in
/// a stop already stops again once resumed, one listening re-traps now.
///
/// Linux: the PTRACE_INTERRUPT case of ptrace_request() in kernel/ptrace.c
///
/// # Errors
/// `EIO` for a tracee that was not seized.
pub(super) fn ptrace_interrupt(child: &Arc<TaskStruct>) -> SysResult {
    if child.ptrace.flags() & PT_SEIZED == 0 {
        return Err(Errno::EIO);
    }
    let _stop = child.signal().siglock.lock();
    if task_set_jobctl_pending(child, JOBCTL_TRAP_STOP) {
        let listening = child.jobctl.load(Ordering::Relaxed) & JOBCTL_LISTENING != 0;
        ptrace_signal_wake_up(child, listening);
    }
    Ok(0)
}

/// PTRACE_LISTEN: a seized tracee in a PTRACE_EVENT_STOP stays stopped,
/// but wait no longer reports it until it stops anew: a change of the
/// group stop (ptrace_trap_notify) or PTRACE_INTERRUPT re-traps it, at
/// once if one came since this stop began.
///
/// Linux: the PTRACE_LISTEN case of ptrace_request() in kernel/ptrace.c
///
/// # Errors
/// `EIO` when not seized or not in a PTRACE_EVENT_STOP.
pub(super) fn ptrace_listen(child: &Arc<TaskStruct>) -> SysResult {
    let event_stop = child
        .ptrace
        .stopped
        .lock()
        .and_then(|s| s.info)
        .is_some_and(|i| i.code >> 8 == PTRACE_EVENT_STOP as i32);
    if child.ptrace.flags() & PT_SEIZED == 0 || !event_stop {
        return Err(Errno::EIO);
    }
    let _stop = child.signal().siglock.lock();
    child.jobctl.fetch_or(JOBCTL_LISTENING, Ordering::Relaxed);
    if child.jobctl.load(Ordering::Relaxed) & JOBCTL_TRAP_NOTIFY != 0 {
        ptrace_signal_wake_up(child, true);
    }
    Ok(0)
}
