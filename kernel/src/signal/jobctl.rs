//! Job control: the stop signals (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) stop
//! every thread of a process (a "group stop"), SIGCONT resumes them, and
//! the parent hears of both through SIGCHLD and wait.
//!
//! ```text
//!   stop signal dequeued          every thread          last thread to stop:
//!   by one thread: do_signal_stop  JOBCTL_STOP_PENDING   SIGNAL_STOP_STOPPED,
//!   ─────────────────────────────> each stops itself ──> CLD_STOPPED to the parent
//!                                  (TASK_STOPPED)
//!   SIGCONT (prepare_signal): pending stops flushed, every thread woken,
//!   SIGNAL_STOP_CONTINUED for wait(WCONTINUED), SIGNAL_CLD_CONTINUED so the
//!   first thread back in get_signal sends CLD_CONTINUED to the parent.
//! ```
//!
//! Lock: `SignalStruct::siglock` guards the group stop (its count and
//! code), the `flags` word and every thread's `jobctl` bits; taken after
//! the tasklist lock, before the pending queues and the run queues.
//!
//! Linux: the job-control half of kernel/signal.c (prepare_signal,
//! do_signal_stop, task_participate_group_stop; do_notify_parent_cldstop is
//! in notify.rs),
//! include/linux/sched/jobctl.h
//! A traced thread does not enter TASK_STOPPED: it sets JOBCTL_TRAP_STOP
//! and reports the group stop to its tracer from a ptrace stop
//! (do_jobctl_trap in ptrace/stop.rs); a seized one is told of later
//! changes (SIGCONT, a new group stop) by JOBCTL_TRAP_NOTIFY.
//!
//! Not modelled: the freezer (JOBCTL_TRAP_FREEZE).

use super::*;
use crate::tasklist::{TASKLIST_LOCK, TaskList, for_each_thread};
use alloc::sync::Arc;

/// The stop signal of a group stop is in the low bits (Linux: JOBCTL_STOP_SIGMASK).
pub const JOBCTL_STOP_SIGMASK: u64 = 0xffff;
/// The stop signal was dequeued by this task (Linux: JOBCTL_STOP_DEQUEUED).
pub const JOBCTL_STOP_DEQUEUED: u64 = 1 << 16;
/// This task must take part in a group stop (Linux: JOBCTL_STOP_PENDING).
pub const JOBCTL_STOP_PENDING: u64 = 1 << 17;
/// This task still counts in group_stop_count (Linux: JOBCTL_STOP_CONSUME).
pub const JOBCTL_STOP_CONSUME: u64 = 1 << 18;
/// A ptrace stop is due: a seized tracee's PTRACE_EVENT_STOP, or a traced
/// thread's report of a group stop (Linux: JOBCTL_TRAP_STOP).
pub const JOBCTL_TRAP_STOP: u64 = 1 << 19;
/// A seized tracee re-traps to report a change of the group stop
/// (Linux: JOBCTL_TRAP_NOTIFY).
pub const JOBCTL_TRAP_NOTIFY: u64 = 1 << 20;
/// A stopped task PTRACE_ATTACH re-trapped is on its way from
/// TASK_STOPPED to its ptrace stop; the tracer waits for the bit to
/// clear (Linux: JOBCTL_TRAPPING).
pub const JOBCTL_TRAPPING: u64 = 1 << 21;
/// PTRACE_LISTEN: stopped, not reported to wait, woken by a notify
/// (Linux: JOBCTL_LISTENING).
pub const JOBCTL_LISTENING: u64 = 1 << 22;
/// The ptrace traps (Linux: JOBCTL_TRAP_MASK).
pub const JOBCTL_TRAP_MASK: u64 = JOBCTL_TRAP_STOP | JOBCTL_TRAP_NOTIFY;
/// Everything that makes a task enter get_signal() (Linux: JOBCTL_PENDING_MASK).
pub const JOBCTL_PENDING_MASK: u64 = JOBCTL_STOP_PENDING | JOBCTL_TRAP_MASK;

/// The process is stopped (Linux: SIGNAL_STOP_STOPPED).
pub const SIGNAL_STOP_STOPPED: u32 = 0x0000_0001;
/// SIGCONT resumed it and no wait(WCONTINUED) has seen that yet
/// (Linux: SIGNAL_STOP_CONTINUED).
pub const SIGNAL_STOP_CONTINUED: u32 = 0x0000_0002;
/// The parent is still to be told CLD_CONTINUED (Linux: SIGNAL_CLD_CONTINUED).
pub const SIGNAL_CLD_CONTINUED: u32 = 0x0000_0004;
/// The parent is still to be told CLD_STOPPED (Linux: SIGNAL_CLD_STOPPED).
pub const SIGNAL_CLD_STOPPED: u32 = 0x0000_0008;
/// Either notification still owed (Linux: SIGNAL_CLD_MASK).
pub const SIGNAL_CLD_MASK: u32 = SIGNAL_CLD_STOPPED | SIGNAL_CLD_CONTINUED;
/// The stop-state bits (Linux: SIGNAL_STOP_MASK).
const SIGNAL_STOP_MASK: u32 = SIGNAL_CLD_MASK | SIGNAL_STOP_STOPPED | SIGNAL_STOP_CONTINUED;

/// Do not send SIGCHLD when a child stops or continues (Linux: SA_NOCLDSTOP).
pub const SA_NOCLDSTOP: u64 = 1;
/// A child was stopped by a signal (Linux: CLD_STOPPED).
pub const CLD_STOPPED: i32 = 5;
/// A stopped child was continued (Linux: CLD_CONTINUED).
pub const CLD_CONTINUED: i32 = 6;

/// The group stop in progress, guarded by `SignalStruct::siglock`.
///
/// Linux: group_stop_count and group_exit_code of struct signal_struct
/// Differs: the stop's signal has its own field, `group_exit_code` stays the
/// exit's, so a stop cannot overwrite an exit status.
#[derive(Default)]
pub struct GroupStop {
    /// Threads that still have to stop before the parent is told.
    pub group_stop_count: u32,
    /// The signal that stopped the process; wait(WUNTRACED) reports it
    /// once and clears it.
    pub stop_code: i32,
}

/// Whether the default action of `sig` is to stop the process.
///
/// Linux: sig_kernel_stop() in include/linux/signal.h
pub fn sig_kernel_stop(sig: i32) -> bool {
    matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU)
}

/// The stop signals as a mask (Linux: SIG_KERNEL_STOP_MASK).
fn stop_mask() -> u64 {
    sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU)
}

/// Sets the stop-state bits of `flags` to `bits`, leaving the others.
///
/// Linux: signal_set_stop_flags() in include/linux/sched/signal.h
fn signal_set_stop_flags(sig: &SignalStruct, bits: u32) {
    let old = sig.flags.load(Ordering::Relaxed);
    sig.flags
        .store((old & !SIGNAL_STOP_MASK) | bits, Ordering::Release);
}

/// What sending `sig` does before it is queued: a stop signal discards a
/// pending SIGCONT; SIGCONT discards pending stop signals, ends a group
/// stop (clearing each thread's JOBCTL_STOP_PENDING) and leaves the
/// notification the parent is owed. Runs even for an ignored SIGCONT. The
/// stopped threads are woken once the SIGCONT is queued
/// (`wake_up_continued`).
///
/// Linux: prepare_signal() in kernel/signal.c
/// Differs: Linux wakes the stopped threads here, under the siglock that
/// it holds until the SIGCONT is queued and that the woken threads need
/// to dequeue it; our pending queues have locks of their own.
pub(super) fn prepare_signal(sig: i32, p: &TaskStruct, tasklist: Option<&TaskList>) {
    if sig != SIGCONT && !sig_kernel_stop(sig) {
        return;
    }
    match tasklist {
        Some(tasklist) => prepare_stop_or_cont(sig, p, tasklist),
        None => prepare_stop_or_cont(sig, p, &TASKLIST_LOCK.lock()),
    }
}

/// prepare_signal's work for a stop signal or SIGCONT, with the tasklist
/// lock held (the walk over the threads).
fn prepare_stop_or_cont(sig: i32, p: &TaskStruct, tasklist: &TaskList) {
    let signal = p.signal();
    let mut stop = signal.siglock.lock();
    let threads = for_each_thread(p, tasklist);
    if sig_kernel_stop(sig) {
        flush_sigqueue_mask(&signal.shared_pending, sigmask(SIGCONT));
        threads.for_each(|t| flush_sigqueue_mask(&t.pending, sigmask(SIGCONT)));
        return;
    }
    flush_sigqueue_mask(&signal.shared_pending, stop_mask());
    for t in threads {
        flush_sigqueue_mask(&t.pending, stop_mask());
        task_clear_jobctl_pending(t, JOBCTL_STOP_PENDING);
    }
    let flags = signal.flags.load(Ordering::Relaxed);
    let why = if flags & SIGNAL_STOP_STOPPED != 0 {
        SIGNAL_CLD_CONTINUED
    } else if stop.group_stop_count != 0 {
        SIGNAL_CLD_STOPPED
    } else {
        0
    };
    if why != 0 {
        signal_set_stop_flags(signal, why | SIGNAL_STOP_CONTINUED);
        stop.group_stop_count = 0;
        stop.stop_code = 0;
    }
}

/// Wakes every stopped thread of `p`'s process (a traced one that was
/// seized is re-trapped instead), after a SIGCONT was queued: a thread
/// woken before it could return to user space, take a signal sent earlier
/// (the SIGHUP of an orphaned group) and send itself a stop signal that
/// discards the SIGCONT before its handler ever runs.
///
/// Linux: the wake_up_state(t, __TASK_STOPPED) / ptrace_trap_notify()
/// loop of prepare_signal() in kernel/signal.c
pub(super) fn wake_up_continued(p: &TaskStruct, tasklist: &TaskList) {
    for t in for_each_thread(p, tasklist) {
        if t.ptrace.flags() & crate::ptrace::PT_SEIZED == 0 {
            crate::sched::core::try_to_wake_up(t, crate::task::__TASK_STOPPED);
        } else {
            let _stop = p.signal().siglock.lock();
            ptrace_trap_notify(t);
        }
    }
}

/// Clears `mask` from `t`'s job-control bits; clearing STOP_PENDING also
/// clears the bits that only mean something with it. Caller holds siglock.
///
/// Linux: task_clear_jobctl_pending() in kernel/signal.c
pub fn task_clear_jobctl_pending(t: &TaskStruct, mask: u64) {
    let mask = if mask & JOBCTL_STOP_PENDING != 0 {
        mask | JOBCTL_STOP_CONSUME | JOBCTL_STOP_DEQUEUED
    } else {
        mask
    };
    let left = t.jobctl.fetch_and(!mask, Ordering::Relaxed) & !mask;
    if left & JOBCTL_PENDING_MASK == 0 {
        task_clear_jobctl_trapping(t);
    }
}

/// Where PTRACE_ATTACH waits for JOBCTL_TRAPPING to clear.
/// Differs: one queue for every task, where Linux hashes the bit's
/// address to one of its bit wait queues (wait_on_bit).
pub static JOBCTL_TRAPPING_WAIT: crate::sched::wait::WaitQueueHead =
    crate::sched::wait::WaitQueueHead::new();

/// Ends `t`'s JOBCTL_TRAPPING, if set, and wakes the tracer waiting in
/// ptrace_attach. Caller holds siglock.
///
/// Linux: task_clear_jobctl_trapping() in kernel/signal.c
pub fn task_clear_jobctl_trapping(t: &TaskStruct) {
    if t.jobctl.fetch_and(!JOBCTL_TRAPPING, Ordering::AcqRel) & JOBCTL_TRAPPING != 0 {
        JOBCTL_TRAPPING_WAIT.wake_up();
    }
}

/// Sets `mask` (which may carry a stop signal in its low bits) in `t`'s
/// job-control bits; false, setting nothing, when `t` is exiting.
/// Caller holds siglock.
///
/// Linux: task_set_jobctl_pending() in kernel/signal.c
pub fn task_set_jobctl_pending(t: &TaskStruct, mask: u64) -> bool {
    if t.flags() & crate::task::PF_EXITING != 0 || t.exit_state() != 0 {
        return false;
    }
    let old = t.jobctl.load(Ordering::Relaxed);
    let old = if mask & JOBCTL_STOP_SIGMASK != 0 {
        old & !JOBCTL_STOP_SIGMASK
    } else {
        old
    };
    t.jobctl.store(old | mask, Ordering::Relaxed);
    true
}

/// `t` leaves the group stop it had pending; true when it was the last
/// thread the stop waited for, so the process is now stopped and the
/// parent must be told. Caller holds siglock.
///
/// Linux: task_participate_group_stop() in kernel/signal.c
pub fn task_participate_group_stop(t: &TaskStruct, stop: &mut GroupStop) -> bool {
    let consume = t.jobctl.load(Ordering::Relaxed) & JOBCTL_STOP_CONSUME != 0;
    task_clear_jobctl_pending(t, JOBCTL_STOP_PENDING);
    if !consume {
        return false;
    }
    stop.group_stop_count = stop.group_stop_count.saturating_sub(1);
    let signal = t.signal();
    if stop.group_stop_count == 0 && signal.flags.load(Ordering::Relaxed) & SIGNAL_STOP_STOPPED == 0
    {
        signal_set_stop_flags(signal, SIGNAL_STOP_STOPPED);
        return true;
    }
    false
}

/// The current thread stops for a group stop: it starts one when it has
/// just dequeued stop signal `signr` (every other thread gets
/// JOBCTL_STOP_PENDING and a wake-up), or takes part in the one pending.
/// The last thread to stop tells the parent. Returns false, not stopping,
/// when there is nothing to do (the stop was cancelled by SIGCONT, or the
/// process is exiting or exec'ing), or when the thread is traced: it then
/// sets JOBCTL_TRAP_STOP and takes part from a ptrace stop. True after it
/// has stopped and been woken, by SIGCONT or SIGKILL.
///
/// Linux: do_signal_stop() in kernel/signal.c
fn do_signal_stop(t: &Arc<TaskStruct>, signr: i32) -> bool {
    let tasklist = TASKLIST_LOCK.lock();
    let signal = t.signal();
    let mut stop = signal.siglock.lock();
    let jobctl = t.jobctl.load(Ordering::Relaxed);
    if jobctl & JOBCTL_STOP_PENDING == 0 {
        let exiting =
            signal.group_exit.load(Ordering::Acquire) || signal.group_exec.load(Ordering::Acquire);
        if jobctl & JOBCTL_STOP_DEQUEUED == 0 || exiting {
            return false;
        }
        // A stop that interrupts an earlier one keeps the earlier signal.
        if signal.flags.load(Ordering::Relaxed) & SIGNAL_STOP_STOPPED == 0 {
            stop.stop_code = signr;
        }
        stop.group_stop_count = 0;
        let gstop = signr as u64 | JOBCTL_STOP_PENDING | JOBCTL_STOP_CONSUME;
        if task_set_jobctl_pending(t, gstop) {
            stop.group_stop_count += 1;
        }
        for other in for_each_thread(t, &tasklist).filter(|o| !Arc::ptr_eq(o, t)) {
            let stopped = other.state() & crate::task::__TASK_STOPPED != 0;
            if !stopped && task_set_jobctl_pending(other, gstop) {
                stop.group_stop_count += 1;
                if other.ptrace.flags() & crate::ptrace::PT_SEIZED == 0 {
                    crate::sched::core::try_to_wake_up(other, TASK_INTERRUPTIBLE);
                } else {
                    ptrace_trap_notify(other);
                }
            }
        }
    }
    if t.ptrace.is_traced() {
        task_set_jobctl_pending(t, JOBCTL_TRAP_STOP);
        return false;
    }
    let notify = task_participate_group_stop(t, &mut stop);
    {
        // Set under siglock, so a SIGCONT (which takes it) cannot be missed.
        let _pi = t.pi_lock.lock();
        t.state.store(crate::task::TASK_STOPPED, Ordering::Release);
    }
    drop(stop);
    if notify {
        do_notify_parent_cldstop(t, false, CLD_STOPPED, &tasklist);
    }
    drop(tasklist);
    crate::sched::core::schedule();
    true
}

/// The job-control work get_signal() does before it dequeues a signal:
/// tell the parent of a stop or continue it is owed, join a pending group
/// stop, or take a ptrace trap (which a traced thread's group stop
/// becomes). True if it did one, so get_signal() looks again.
///
/// Linux: the top of get_signal()'s loop in kernel/signal.c
pub(super) fn do_jobctl(
    t: &Arc<TaskStruct>,
    regs: &mut crate::arch::entry::calling::PtRegs,
) -> bool {
    if notify_cld_pending(t)
        || t.jobctl.load(Ordering::Relaxed) & JOBCTL_STOP_PENDING != 0 && do_signal_stop(t, 0)
    {
        return true;
    }
    if t.jobctl.load(Ordering::Relaxed) & JOBCTL_TRAP_MASK != 0 {
        crate::ptrace::do_jobctl_trap(regs);
        return true;
    }
    false
}

/// Tells a seized tracee that the group stop changed: it re-traps with
/// PTRACE_EVENT_STOP, at once if it was listening. Caller holds siglock.
///
/// Linux: ptrace_trap_notify() in kernel/signal.c
pub fn ptrace_trap_notify(t: &Arc<TaskStruct>) {
    task_set_jobctl_pending(t, JOBCTL_TRAP_NOTIFY);
    ptrace_signal_wake_up(t, t.jobctl.load(Ordering::Relaxed) & JOBCTL_LISTENING != 0);
}

/// Wakes `t` to look at its signals: from an interruptible sleep, and with
/// `resume` from a ptrace stop too (ending a PTRACE_LISTEN).
///
/// Linux: ptrace_signal_wake_up() in include/linux/sched/signal.h
pub fn ptrace_signal_wake_up(t: &Arc<TaskStruct>, resume: bool) {
    let state = if resume {
        t.jobctl.fetch_and(!JOBCTL_LISTENING, Ordering::Relaxed);
        crate::task::__TASK_TRACED
    } else {
        0
    };
    super::send::signal_wake_up_state(t, state);
}

/// A new thread joins the group stop of its process: one in progress
/// (it counts toward the parent's notification) or one in effect (a
/// traced thread was resumed from it and created this one).
///
/// Linux: task_join_group_stop() in kernel/signal.c
pub fn task_join_group_stop(p: &TaskStruct) {
    let me = crate::task::current();
    let signal = me.signal();
    let mut stop = signal.siglock.lock();
    let mut mask = me.jobctl.load(Ordering::Relaxed) & JOBCTL_STOP_SIGMASK;
    if stop.group_stop_count != 0 {
        stop.group_stop_count += 1;
        mask |= JOBCTL_STOP_CONSUME;
    } else if signal.flags.load(Ordering::Relaxed) & SIGNAL_STOP_STOPPED == 0 {
        return;
    }
    task_set_jobctl_pending(p, mask | JOBCTL_STOP_PENDING);
}

/// The default action of stop signal `sig`: a group stop, except that
/// the terminal's stops (all but SIGSTOP) are dropped in an orphaned
/// process group, which no shell would continue.
///
/// Linux: the sig_kernel_stop() block of get_signal() in kernel/signal.c
pub(super) fn do_default_stop(t: &Arc<TaskStruct>, sig: i32) {
    if sig != SIGSTOP && crate::exit::is_current_pgrp_orphaned() {
        return;
    }
    do_signal_stop(t, sig);
}

/// Tells the parent a stop or continue owed since SIGCONT, if any, and
/// the tracer of the group leader too when it is not that parent; true if
/// it did, so get_signal() looks again.
///
/// Linux: the `signal->flags & SIGNAL_CLD_MASK` block of get_signal()
fn notify_cld_pending(t: &Arc<TaskStruct>) -> bool {
    let signal = t.signal();
    if signal.flags.load(Ordering::Acquire) & SIGNAL_CLD_MASK == 0 {
        return false;
    }
    let tasklist = TASKLIST_LOCK.lock();
    let flags = {
        let _stop = signal.siglock.lock();
        let flags = signal.flags.load(Ordering::Relaxed);
        signal
            .flags
            .store(flags & !SIGNAL_CLD_MASK, Ordering::Release);
        flags
    };
    let why = if flags & SIGNAL_CLD_CONTINUED != 0 {
        CLD_CONTINUED
    } else if flags & SIGNAL_CLD_STOPPED != 0 {
        CLD_STOPPED
    } else {
        return false;
    };
    do_notify_parent_cldstop(t, false, why, &tasklist);
    let leader = t.family.get(&tasklist).group_leader.upgrade();
    let leader = leader.unwrap_or_else(|| t.clone());
    if crate::ptrace::ptrace_reparented(&leader, &tasklist) {
        do_notify_parent_cldstop(&leader, true, why, &tasklist);
    }
    true
}

/// What wait(WUNTRACED / WSTOPPED) may report for `p`'s process: the stop
/// signal, once; with `consume`, the report is used up (no WNOWAIT).
///
/// Linux: task_stopped_code() + the siglock part of wait_task_stopped() in
/// kernel/exit.c
pub fn take_stopped_code(p: &TaskStruct, consume: bool) -> Option<i32> {
    let signal = p.signal();
    let mut stop = signal.siglock.lock();
    if signal.flags.load(Ordering::Relaxed) & SIGNAL_STOP_STOPPED == 0 || stop.stop_code == 0 {
        return None;
    }
    let code = stop.stop_code;
    if consume {
        stop.stop_code = 0;
    }
    Some(code)
}

/// Whether wait(WCONTINUED) may report that `p`'s process was continued;
/// with `consume`, the report is used up (no WNOWAIT).
///
/// Linux: the siglock part of wait_task_continued() in kernel/exit.c
pub fn take_continued(p: &TaskStruct, consume: bool) -> bool {
    let signal = p.signal();
    let _stop = signal.siglock.lock();
    let flags = signal.flags.load(Ordering::Relaxed);
    if flags & SIGNAL_STOP_CONTINUED == 0 {
        return false;
    }
    if consume {
        signal
            .flags
            .store(flags & !SIGNAL_STOP_CONTINUED, Ordering::Release);
    }
    true
}

/// Whether the job-control state makes `p` enter get_signal(): a group
/// stop it must join, or a stop/continue its parent is owed.
///
/// Linux: the JOBCTL_PENDING_MASK test of recalc_sigpending_tsk()
pub(super) fn jobctl_pending(p: &TaskStruct) -> bool {
    p.jobctl.load(Ordering::Relaxed) & JOBCTL_PENDING_MASK != 0
        || p.signal
            .get()
            .is_some_and(|s| s.flags.load(Ordering::Relaxed) & SIGNAL_CLD_MASK != 0)
}
