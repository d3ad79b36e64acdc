//! Waiting for children: wait4 and waitid sleep until a child is a zombie,
//! collect its status and release it; or, when asked, until a child is
//! stopped (WUNTRACED / WSTOPPED) or continued (WCONTINUED), which they
//! report once. WNOWAIT reports without using the report up. waitid's id
//! types and siginfo are in `waitid.rs`.
//!
//! Linux: the do_wait() half of kernel/exit.c, in a file of its own here
//! because exit.c's two halves (a task ending, a parent reaping) together
//! pass the ~500-line limit of one file.

use super::{release_task, zombie_status};
use crate::arch::sync::SpinLockGuard;
use crate::errno::Errno;
use crate::pid::PidNr;
use crate::rusage::Rusage;
use crate::signal::SIGCHLD;
use crate::task::{EXIT_DEAD, EXIT_TRACE, EXIT_ZOMBIE, TaskStruct, current};
use crate::tasklist::{TASKLIST_LOCK, TaskList, for_each_thread, thread_group_empty};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Return at once if no child has exited (Linux: WNOHANG).
pub const WNOHANG: u32 = 0x0000_0001;
/// Also wait for stopped children (Linux: WUNTRACED).
pub const WUNTRACED: u32 = 0x0000_0002;
/// Also report children continued by SIGCONT (Linux: WCONTINUED).
pub const WCONTINUED: u32 = 0x0000_0008;
/// Only the calling thread's children, not its group's (Linux: __WNOTHREAD).
pub const __WNOTHREAD: u32 = 0x2000_0000;
/// Wait for children of any kind (Linux: __WALL).
pub const __WALL: u32 = 0x4000_0000;
/// Wait only for "clone" children, which report with a signal other than
/// SIGCHLD (Linux: __WCLONE).
pub const __WCLONE: u32 = 0x8000_0000;

/// Linux: SYSCALL_DEFINE4(wait4) and kernel_wait4() in kernel/exit.c
///
/// The child is reaped first: a bad status or rusage pointer then fails
/// the call with `EFAULT`, the child gone all the same (Linux: put_user()
/// after do_wait()).
pub fn sys_wait4(
    upid: i32,
    stat_addr: u64,
    options: u32,
    rusage: u64,
) -> crate::syscall::SysResult {
    let r = kernel_wait4(upid, options)?;
    if r.pid != 0 && stat_addr != 0 {
        crate::mm::uaccess::put_user(stat_addr, r.status)?;
    }
    if rusage != 0 && r.pid != 0 {
        crate::mm::uaccess::put_user(rusage, r.rusage.to_user())?;
    }
    Ok(r.pid as u64)
}

/// waitid: wait for children that exited (Linux: WEXITED).
pub(super) const WEXITED: u32 = 4;
/// waitid: wait for stopped children, WUNTRACED's other name (Linux: WSTOPPED).
pub(super) const WSTOPPED: u32 = WUNTRACED;
/// waitid: report, but leave the child waitable (Linux: WNOWAIT).
pub(super) const WNOWAIT: u32 = 0x0100_0000;

/// What wait4 reports: the child's pid, its status word and its resource
/// use; the default (pid 0) is WNOHANG's "none yet".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitResult {
    /// Pid of the reaped child; 0 under WNOHANG when none had exited.
    pub pid: PidNr,
    /// The wait status: `(code << 8)` for exit(code), the signal number for
    /// a kill (plus 0x80 for a core dump), `(sig << 8) | 0x7f` for a stop,
    /// 0xffff for a continue.
    pub status: i32,
    /// The child's resource use and its reaped children's (Linux: wo_rusage).
    pub rusage: Rusage,
    /// The child's real uid, waitid's si_uid (Linux: task_uid() in wait_task_*).
    pub uid: u32,
    /// A ptrace stop: waitid's CLD_TRAPPED (Linux: `why` in wait_task_stopped()).
    pub trapped: bool,
}

/// Which children a wait selects (Linux: `enum pid_type` + pid in wait_opts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitWho {
    /// Any child (pid -1).
    Any,
    /// The child with this root-namespace pid (pid > 0).
    Pid(PidNr),
    /// Any child in this process group, a root-namespace number (pid 0:
    /// the caller's; pid < -1: -pid).
    Pgid(PidNr),
}

/// Waits for a child to exit and reaps it.
///
/// Linux: kernel_wait4() in kernel/exit.c
///
/// # Errors
/// `ECHILD` when no child matches, `EINTR` when a signal interrupts the wait,
/// `EINVAL` for unknown option bits, `ESRCH` for INT_MIN.
pub fn kernel_wait4(upid: PidNr, options: u32) -> Result<WaitResult, Errno> {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let who = match upid {
        -1 => WaitWho::Any,
        pid if pid > 0 => vpid_who(pid),
        0 => WaitWho::Pgid(current().signal().pgrp.load(Ordering::Relaxed)),
        // -INT_MIN is no process group.
        pid => vpgrp_who(pid.checked_neg().ok_or(Errno::ESRCH)?),
    };
    do_wait(who, options | WEXITED)
}

/// The child the caller names `nr` in its pid namespace; a number that
/// names nothing there selects no child (Linux: find_get_pid() is NULL).
pub(super) fn vpid_who(nr: PidNr) -> WaitWho {
    WaitWho::Pid(crate::pid::find_task_by_vpid(nr).map_or(0, |t| t.pid()))
}

/// The process group the caller names `nr` in its pid namespace.
pub(super) fn vpgrp_who(nr: PidNr) -> WaitWho {
    WaitWho::Pgid(crate::pid::find_vpgrp(nr).unwrap_or(-1))
}

/// Sleeps on the caller's `wait_chldexit` until an eligible child has
/// something to report that `options` asks for, and reports it.
///
/// Linux: do_wait() in kernel/exit.c
pub(super) fn do_wait(who: WaitWho, options: u32) -> Result<WaitResult, Errno> {
    let me = current();
    let wq = &me.signal().wait_chldexit;
    let mut result = Err(Errno::ECHILD);
    wq.wait_event_interruptible(|| {
        result = __do_wait(&me, who, options);
        !matches!(result, Ok(None))
    })?;
    result.map(|r| r.unwrap_or(WaitResult::default()))
}

/// What one child has to report (Linux: the wait_task_* cases of
/// wait_consider_task()).
enum Report {
    /// A zombie, claimed unless WNOWAIT: true when claimed by a tracer
    /// that must hand it to its real parent (EXIT_TRACE), false when
    /// claimed for release (EXIT_DEAD).
    Zombie(Arc<TaskStruct>, bool),
    /// Stopped by this signal (a group stop), or for its tracer with this
    /// code (a ptrace stop: true).
    Stopped(Arc<TaskStruct>, i32, bool),
    /// Continued by SIGCONT.
    Continued(Arc<TaskStruct>),
}

/// What `p`, a child (`ptrace` false) or a tracee (`ptrace` true), has to
/// report under `options`, using the report up unless WNOWAIT. A zombie
/// whose threads still run (a delayed group leader) may still report a
/// stop. A child traced by another process is left to its tracer until
/// the tracer has seen its exit; a tracee's ptrace stop is reported
/// whatever the options. Clears `notask_error` when `p` is something to
/// wait for: a living child, or a zombie that may still report; a zombie
/// without WEXITED is not (Linux: wait_task_zombie() returns 0 first).
///
/// Linux: wait_consider_task() in kernel/exit.c
fn wait_consider_task(
    p: &Arc<TaskStruct>,
    ptrace: bool,
    who: WaitWho,
    options: u32,
    notask_error: &mut bool,
    tasklist: &SpinLockGuard<'_, TaskList>,
) -> Option<Report> {
    let exit_state = p.exit_state();
    // A child already claimed (autoreaped, or reaped by another waiter)
    // leaves without a wake-up for us, so it must not keep us waiting.
    if exit_state == EXIT_DEAD || !eligible_child(p, who, options, ptrace) {
        return None;
    }
    // Its tracer is handing it to us, its real parent: wait for that.
    if exit_state == EXIT_TRACE {
        if !ptrace {
            *notask_error = false;
        }
        return None;
    }
    let consume = options & WNOWAIT == 0;
    let traced = p.ptrace.is_traced();
    // Traced by its own parent's process: reap it as the tracer would.
    let ptrace = ptrace || (traced && !crate::ptrace::ptrace_reparented(p, tasklist));
    if exit_state == EXIT_ZOMBIE {
        let leader_done = p.pid() != p.tgid() || thread_group_empty(p, tasklist);
        if leader_done && (ptrace || !traced) {
            if options & WEXITED == 0 {
                return None;
            }
            // Claimed under the lock, so two waiters never reap the same zombie.
            let exit_trace = crate::ptrace::ptrace_reparented(p, tasklist) && p.pid() == p.tgid();
            if consume {
                let state = if exit_trace { EXIT_TRACE } else { EXIT_DEAD };
                p.exit_state.store(state, Ordering::Release);
            }
            return Some(Report::Zombie(p.clone(), exit_trace));
        }
        // A delayed group leader's threads may still stop or continue; a
        // zombie tracee's stop can no longer change for its tracer.
        if !ptrace || options & (WCONTINUED | WEXITED) != 0 {
            *notask_error = false;
        }
    } else {
        *notask_error = false;
    }
    if ptrace && let Some(code) = wait_task_traced(p, consume) {
        return Some(Report::Stopped(p.clone(), code, true));
    }
    // A tracer sees its tracee's group stop as a ptrace stop, above.
    if options & WUNTRACED != 0
        && !ptrace
        && let Some(sig) = crate::signal::take_stopped_code(p, consume)
    {
        return Some(Report::Stopped(p.clone(), sig, false));
    }
    if options & WCONTINUED != 0 && crate::signal::take_continued(p, consume) {
        return Some(Report::Continued(p.clone()));
    }
    None
}

/// A tracee in a ptrace stop the tracer has not seen yet: its stop code,
/// taken unless `consume` is false (WNOWAIT).
///
/// Linux: task_stopped_code() / wait_task_stopped() in kernel/exit.c, for
/// `ptrace`
fn wait_task_traced(p: &TaskStruct, consume: bool) -> Option<i32> {
    if !crate::ptrace::task_is_traced(p)
        || p.jobctl.load(Ordering::Relaxed) & crate::signal::JOBCTL_LISTENING != 0
    {
        return None;
    }
    let code = if consume {
        p.exit_code.swap(0, Ordering::Relaxed)
    } else {
        p.exit_code.load(Ordering::Relaxed)
    };
    (code != 0).then_some(code)
}

/// One pass over the caller's children, then its tracees, and so for each
/// thread of its process (only the caller under __WNOTHREAD):
/// `Ok(Some)` reported one, `Ok(None)` means keep waiting, `Err(ECHILD)`
/// means there is nothing to wait for. Under WNOHANG "keep waiting"
/// becomes `Ok(Some(pid 0))`.
///
/// Linux: __do_wait() in kernel/exit.c
/// Differs: the walk starts at the leader, not at the caller
/// (for_each_thread, not while_each_thread).
fn __do_wait(me: &TaskStruct, who: WaitWho, options: u32) -> Result<Option<WaitResult>, Errno> {
    let tasklist = TASKLIST_LOCK.lock();
    // Linux: wo->notask_error, true while it is -ECHILD.
    let mut notask_error = true;
    let mut wait_thread = |tsk: &TaskStruct| {
        do_wait_thread(tsk, who, options, &mut notask_error, &tasklist)
            .or_else(|| ptrace_do_wait(tsk, who, options, &mut notask_error, &tasklist))
    };
    let report = if options & __WNOTHREAD != 0 {
        wait_thread(me)
    } else {
        for_each_thread(me, &tasklist).find_map(|tsk| wait_thread(tsk))
    };
    if report.is_none() && notask_error {
        return Err(Errno::ECHILD);
    }
    drop(tasklist);
    match report {
        Some(Report::Zombie(child, _)) if options & WNOWAIT != 0 => Ok(Some(WaitResult {
            pid: crate::pid::task_pid_vnr(&child),
            status: zombie_status(&child),
            rusage: crate::rusage::getrusage_both(&child),
            uid: crate::cred::task_cred(&child).uid,
            trapped: false,
        })),
        Some(Report::Zombie(child, exit_trace)) => Ok(Some(wait_task_zombie(&child, exit_trace))),
        Some(Report::Stopped(child, sig, ptrace)) => {
            Ok(Some(wait_task_stopped(&child, sig, ptrace)))
        }
        Some(Report::Continued(child)) => Ok(Some(WaitResult {
            pid: crate::pid::task_pid_vnr(&child),
            status: 0xffff,
            rusage: crate::rusage::getrusage_both(&child),
            uid: crate::cred::task_cred(&child).uid,
            trapped: false,
        })),
        None if options & WNOHANG != 0 => Ok(Some(WaitResult::default())),
        None => Ok(None),
    }
}

/// The first report among `tsk`'s children.
///
/// Linux: do_wait_thread() in kernel/exit.c
fn do_wait_thread(
    tsk: &TaskStruct,
    who: WaitWho,
    options: u32,
    notask_error: &mut bool,
    tasklist: &SpinLockGuard<'_, TaskList>,
) -> Option<Report> {
    let mut children = tsk.family.get(tasklist).children.iter();
    children.find_map(|p| wait_consider_task(p, false, who, options, notask_error, tasklist))
}

/// The first report among the tasks `tsk` traces.
///
/// Linux: ptrace_do_wait() in kernel/exit.c
fn ptrace_do_wait(
    tsk: &TaskStruct,
    who: WaitWho,
    options: u32,
    notask_error: &mut bool,
    tasklist: &SpinLockGuard<'_, TaskList>,
) -> Option<Report> {
    let mut tracees = tsk.family.get(tasklist).ptraced.iter();
    tracees.find_map(|p| wait_consider_task(p, true, who, options, notask_error, tasklist))
}

/// What wait reports for a child stopped by `sig` (or a tracee stopped
/// with that code, `ptrace`): status `sig << 8 | 0x7f`; waitid says
/// CLD_TRAPPED for a ptrace stop, CLD_STOPPED for a group stop.
///
/// Linux: wait_task_stopped() in kernel/exit.c
fn wait_task_stopped(p: &TaskStruct, sig: i32, ptrace: bool) -> WaitResult {
    WaitResult {
        pid: crate::pid::task_pid_vnr(p),
        status: (sig << 8) | 0x7f,
        rusage: crate::rusage::getrusage_both(p),
        uid: crate::cred::task_cred(p).uid,
        trapped: ptrace,
    }
}

/// Whether the wait selects child `p`: by pid or group, and by kind. Without
/// __WALL, __WCLONE waits only for clone children (those whose exit signal
/// is not SIGCHLD) and its absence only for the others; a tracee (`ptrace`)
/// is of every kind.
///
/// Linux: eligible_pid() / eligible_child() in kernel/exit.c
fn eligible_child(p: &TaskStruct, who: WaitWho, options: u32, ptrace: bool) -> bool {
    let pid_matches = match who {
        WaitWho::Any => true,
        WaitWho::Pid(pid) => p.pid() == pid,
        WaitWho::Pgid(pgrp) => p.signal().pgrp.load(Ordering::Relaxed) == pgrp,
    };
    let clone_child = p.exit_signal.load(Ordering::Relaxed) != SIGCHLD;
    pid_matches && (ptrace || options & __WALL != 0 || clone_child == (options & __WCLONE != 0))
}

/// Collects the status of a zombie this waiter claimed, and releases it.
/// A tracer that is not the real parent (`exit_trace`) only sees the exit:
/// the zombie is unlinked and handed to its real parent, which reaps it in
/// turn. Only the real reap of a process adds to the caller's counts of
/// its reaped children.
///
/// Linux: wait_task_zombie() in kernel/exit.c
fn wait_task_zombie(p: &Arc<TaskStruct>, exit_trace: bool) -> WaitResult {
    let pid = crate::pid::task_pid_vnr(p);
    let status = zombie_status(p);
    let uid = crate::cred::task_cred(p).uid;
    let rusage = if !exit_trace && p.pid() == p.tgid() {
        account_reaped_times(p)
    } else {
        crate::rusage::getrusage_both(p)
    };
    if !exit_trace || !hand_back_to_real_parent(p) {
        // Traced here, where the zombie is reaped: a tracer's report is not.
        if crate::trace::trace_enabled() {
            let parent = crate::arch::percpu::with_current(|t| t.map_or(0, |t| t.pid()));
            crate::trace::trace(crate::trace::TraceEvent::Wait {
                parent,
                pid: p.pid(),
            });
        }
        release_task(p);
    }
    WaitResult {
        pid,
        status,
        rusage,
        uid,
        trapped: false,
    }
}

/// The tracer has seen the exit of a zombie (EXIT_TRACE) whose real parent
/// is another process: untrace it, unless its tracer's exit already did,
/// and tell the real parent. Returns true when it stays a zombie for the
/// real parent's wait; false when it is to be released (EXIT_DEAD).
///
/// Linux: the EXIT_TRACE branch of wait_task_zombie() in kernel/exit.c
fn hand_back_to_real_parent(p: &Arc<TaskStruct>) -> bool {
    let mut tasklist = TASKLIST_LOCK.lock();
    // Linux: ptrace_unlink().
    if p.ptrace.is_traced() {
        crate::ptrace::__ptrace_unlink(p, &mut tasklist);
    }
    let real_parent = p.family.get(&tasklist).real_parent.upgrade();
    let autoreap = real_parent.is_none_or(|rp| {
        crate::signal::do_notify_parent(p, &rp, p.exit_signal.load(Ordering::Relaxed), &tasklist)
    });
    let state = if autoreap { EXIT_DEAD } else { EXIT_ZOMBIE };
    p.exit_state.store(state, Ordering::Release);
    !autoreap
}

/// The reaper collects the counts of the child it reaps: the child's
/// process (live and dead threads) and the children the child had reaped.
/// Returns them, which is what wait4 reports about the child.
///
/// Linux: the cutime/cstime/cmin_flt/.../cmaxrss sums of wait_task_zombie()
/// in kernel/exit.c, then getrusage(p, RUSAGE_BOTH)
fn account_reaped_times(p: &TaskStruct) -> Rusage {
    let both = crate::rusage::getrusage_both(p);
    current().signal().children.lock().add(&both);
    both
}
