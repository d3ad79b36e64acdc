//! Linking tracer and tracee: PTRACE_TRACEME, ATTACH and SEIZE make the
//! tracer the tracee's `parent` and put the tracee on the tracer's
//! `ptraced` list; DETACH, the tracer's exit and the tracee's release undo
//! it, and `parent` is `real_parent` again.
//!
//! Linux: kernel/ptrace.c (ptrace_traceme, ptrace_attach, __ptrace_link,
//! __ptrace_unlink, ptrace_detach, __ptrace_detach, exit_ptrace,
//! __ptrace_may_access), include/linux/ptrace.h (ptrace_init_task)

use super::*;
use crate::arch::sync::SpinLockGuard;
use crate::signal::{SIGKILL, SIGSTOP};
use crate::task::{EXIT_DEAD, EXIT_ZOMBIE, PF_EXITING};
use crate::tasklist::TaskList;
use alloc::vec::Vec;

/// The tracee's side of a trace: the parent it has now becomes its tracer.
///
/// Linux: ptrace_traceme() in kernel/ptrace.c
///
/// # Errors
/// `EPERM` when already traced or the parent is exiting.
pub(super) fn ptrace_traceme() -> Result<(), Errno> {
    let me = current();
    let mut tasklist = TASKLIST_LOCK.lock();
    if me.ptrace.is_traced() {
        return Err(Errno::EPERM);
    }
    let parent = me.family.get(&tasklist).real_parent.upgrade();
    let parent = parent
        .filter(|p| p.flags() & PF_EXITING == 0)
        .ok_or(Errno::EPERM)?;
    me.ptrace.flags.store(PT_PTRACED, Ordering::Release);
    ptrace_link(&me, &parent, &mut tasklist);
    Ok(())
}

/// PTRACE_ATTACH (which stops the tracee with SIGSTOP) and PTRACE_SEIZE
/// (which does not, and takes the options in `data`).
///
/// A task already in a group stop (TASK_STOPPED) is kicked to take it up
/// again as a ptrace stop (JOBCTL_TRAP_STOP), and the attach returns only
/// once it is there (JOBCTL_TRAPPING), so the tracer's next wait, even
/// with WNOHANG, reports the stop.
///
/// Linux: ptrace_attach() in kernel/ptrace.c
///
/// # Errors
/// `EIO` for SEIZE with an address or unknown options; `EPERM` for a
/// kernel thread, the caller's own process, a task the caller may not
/// trace, a dead or already traced one.
pub(super) fn ptrace_attach(
    task: &Arc<TaskStruct>,
    request: i32,
    addr: u64,
    data: u64,
) -> Result<(), Errno> {
    let seize = request == PTRACE_SEIZE;
    let flags = if seize {
        if addr != 0 || data & !u64::from(PTRACE_O_MASK) != 0 {
            return Err(Errno::EIO);
        }
        PT_PTRACED | PT_SEIZED | ((data as u32) << PT_OPT_FLAG_SHIFT)
    } else {
        PT_PTRACED
    };
    let me = current();
    if task.is_kthread()
        || task.tgid() == me.tgid()
        || !ptrace_may_access(task, PTRACE_MODE_ATTACH_REALCREDS)
    {
        return Err(Errno::EPERM);
    }
    let mut tasklist = TASKLIST_LOCK.lock();
    if task.exit_state() != 0 || task.flags() & PF_EXITING != 0 || task.ptrace.is_traced() {
        return Err(Errno::EPERM);
    }
    task.ptrace.flags.store(flags, Ordering::Release);
    ptrace_link(task, &me, &mut tasklist);
    if !seize {
        let info = KernelSiginfo {
            code: crate::signal::SI_KERNEL,
            ..Default::default()
        };
        let _ = crate::signal::send_signal_locked(
            SIGSTOP,
            info,
            task,
            crate::signal::PidType::Pid,
            Some(&tasklist),
        );
    }
    let stop = task.signal().siglock.lock();
    if task.state() & crate::task::__TASK_STOPPED != 0
        && crate::signal::task_set_jobctl_pending(
            task,
            crate::signal::JOBCTL_TRAP_STOP | crate::signal::JOBCTL_TRAPPING,
        )
    {
        crate::sched::core::try_to_wake_up(task, crate::task::__TASK_STOPPED);
    }
    drop(stop);
    drop(tasklist);
    // Killable: a tracer killed meanwhile exits, and its exit_ptrace
    // unlinks the tracee, which clears the bit.
    let _ = crate::signal::JOBCTL_TRAPPING_WAIT.wait_event_killable(|| {
        task.jobctl.load(Ordering::Acquire) & crate::signal::JOBCTL_TRAPPING == 0
    });
    Ok(())
}

/// Puts `child` on `new_parent`'s ptraced list and makes it the parent.
///
/// Linux: __ptrace_link() in kernel/ptrace.c
fn ptrace_link(
    child: &Arc<TaskStruct>,
    new_parent: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) {
    new_parent
        .family
        .get_mut(tasklist)
        .ptraced
        .push(child.clone());
    child.family.get_mut(tasklist).parent = Arc::downgrade(new_parent);
}

/// Ends the trace: `parent` is `real_parent` again, the trace flags and
/// traps are gone, and a tracee stopped for its tracer runs on, unless
/// its process is in a group stop: JOBCTL_STOP_PENDING again, it then
/// stops in TASK_STOPPED.
///
/// Linux: __ptrace_unlink() in kernel/ptrace.c
pub fn __ptrace_unlink(child: &Arc<TaskStruct>, tasklist: &mut SpinLockGuard<'_, TaskList>) {
    let family = child.family.get_mut(tasklist);
    let tracer = core::mem::replace(&mut family.parent, family.real_parent.clone());
    if let Some(tracer) = tracer.upgrade() {
        tracer
            .family
            .get_mut(tasklist)
            .ptraced
            .retain(|t| !Arc::ptr_eq(t, child));
    }
    let pt = &child.ptrace;
    pt.flags.store(0, Ordering::Release);
    pt.syscall_trace.store(false, Ordering::Relaxed);
    if pt.singlestep.swap(false, Ordering::Relaxed)
        && let Some(s) = pt.stopped.lock().as_mut()
    {
        s.regs.rflags &= !X86_EFLAGS_TF;
    }
    ptrace_unlink_jobctl(child);
}

/// __ptrace_unlink's job-control step: the traps go, a group stop in
/// progress or in effect is pending again (SIGSTOP if the thread never
/// saw its signal), and the thread is kicked to act on it.
///
/// Linux: the jobctl part of __ptrace_unlink() in kernel/ptrace.c
fn ptrace_unlink_jobctl(child: &Arc<TaskStruct>) {
    use crate::signal::{JOBCTL_LISTENING, JOBCTL_STOP_PENDING, JOBCTL_STOP_SIGMASK};
    let signal = child.signal();
    let stop = signal.siglock.lock();
    crate::signal::task_clear_jobctl_pending(child, crate::signal::JOBCTL_TRAP_MASK);
    child.jobctl.fetch_and(!JOBCTL_LISTENING, Ordering::Relaxed);
    let in_group_stop = stop.group_stop_count != 0
        || signal.flags.load(Ordering::Relaxed) & crate::signal::SIGNAL_STOP_STOPPED != 0;
    if child.flags() & PF_EXITING == 0 && in_group_stop {
        let old = child
            .jobctl
            .fetch_or(JOBCTL_STOP_PENDING, Ordering::Relaxed);
        if old & JOBCTL_STOP_SIGMASK == 0 {
            child.jobctl.fetch_or(SIGSTOP as u64, Ordering::Relaxed);
        }
    }
    if child.jobctl.load(Ordering::Relaxed) & JOBCTL_STOP_PENDING != 0 || task_is_traced(child) {
        crate::signal::ptrace_signal_wake_up(child, true);
    }
}

/// Whether `child`'s tracer is another process than its real parent.
///
/// Linux: ptrace_reparented() in include/linux/ptrace.h
pub fn ptrace_reparented(child: &TaskStruct, tasklist: &SpinLockGuard<'_, TaskList>) -> bool {
    let family = child.family.get(tasklist);
    let tgid = |w: &alloc::sync::Weak<TaskStruct>| w.upgrade().map(|t| t.tgid());
    tgid(&family.parent) != tgid(&family.real_parent)
}

/// PTRACE_DETACH: ends the trace; the tracee runs on with signal `data`.
///
/// Linux: ptrace_detach() in kernel/ptrace.c
///
/// # Errors
/// `EIO` for an invalid signal.
pub(super) fn ptrace_detach(child: &Arc<TaskStruct>, data: u64) -> Result<(), Errno> {
    if data > crate::signal::_NSIG as u64 {
        return Err(Errno::EIO);
    }
    let mut tasklist = TASKLIST_LOCK.lock();
    child.exit_code.store(data as i32, Ordering::Relaxed);
    let dead = __ptrace_detach(&current(), child, &mut tasklist);
    drop(tasklist);
    if dead {
        crate::exit::release_task(child);
    }
    Ok(())
}

/// Unlinks `p` from `tracer`; a zombie the tracer had not reaped is handed
/// to its real parent (a SIGCHLD and its wait), or is released when nobody
/// wants it: returns true when the caller must release it.
///
/// Linux: __ptrace_detach() in kernel/ptrace.c
fn __ptrace_detach(
    tracer: &Arc<TaskStruct>,
    p: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) -> bool {
    __ptrace_unlink(p, tasklist);
    if p.exit_state() != EXIT_ZOMBIE {
        return false;
    }
    let mut dead = p.pid() != p.tgid();
    if !dead && crate::tasklist::thread_group_empty(p, tasklist) {
        let real_parent = p.family.get(tasklist).real_parent.upgrade();
        match real_parent {
            Some(rp) if rp.tgid() != tracer.tgid() => {
                dead = crate::signal::do_notify_parent(
                    p,
                    &rp,
                    p.exit_signal.load(Ordering::Relaxed),
                    tasklist,
                );
            }
            Some(_) if ignoring_children(tracer) => {
                crate::signal::__wake_up_parent(p, tracer);
                dead = true;
            }
            _ => {}
        }
    }
    if dead {
        p.exit_state.store(EXIT_DEAD, Ordering::Release);
    }
    dead
}

/// Whether `parent` lets its children reap themselves (SIGCHLD ignored or
/// SA_NOCLDWAIT).
///
/// Linux: ignoring_children() in kernel/ptrace.c
fn ignoring_children(parent: &TaskStruct) -> bool {
    parent.sighand.lock().as_ref().is_some_and(|sh| {
        let act = sh.get(crate::signal::SIGCHLD);
        act.handler == crate::signal::SIG_IGN || act.flags & crate::signal::SA_NOCLDWAIT != 0
    })
}

/// The exiting `tracer` detaches every tracee, killing those that asked
/// for PTRACE_O_EXITKILL; returns the zombies nobody wants any more, for
/// the caller to release.
///
/// Linux: exit_ptrace() in kernel/ptrace.c
pub fn exit_ptrace(
    tracer: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) -> Vec<Arc<TaskStruct>> {
    let tracees = core::mem::take(&mut tracer.family.get_mut(tasklist).ptraced);
    let mut dead = Vec::new();
    for p in tracees {
        if p.ptrace.flags() & (PTRACE_O_EXITKILL << PT_OPT_FLAG_SHIFT) != 0 {
            let info = KernelSiginfo {
                code: crate::signal::SI_KERNEL,
                ..Default::default()
            };
            let _ = crate::signal::send_signal_locked(
                SIGKILL,
                info,
                &p,
                crate::signal::PidType::Pid,
                Some(tasklist),
            );
        }
        if __ptrace_detach(tracer, &p, tasklist) {
            dead.push(p);
        }
    }
    dead
}

/// A new task is traced too when the tracer asked for its kind of clone
/// (`ptrace`: the event is enabled, or CLONE_PTRACE): same tracer, same
/// options, and a first stop: SIGSTOP, or PTRACE_EVENT_STOP when seized.
///
/// Linux: ptrace_init_task() in include/linux/ptrace.h
pub fn ptrace_init_task(
    child: &Arc<TaskStruct>,
    ptrace: bool,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) {
    let parent = current();
    if !ptrace || !parent.ptrace.is_traced() {
        return;
    }
    let Some(tracer) = parent.family.get(tasklist).parent.upgrade() else {
        return;
    };
    let flags = parent.ptrace.flags();
    child.ptrace.flags.store(flags, Ordering::Release);
    ptrace_link(child, &tracer, tasklist);
    if flags & PT_SEIZED != 0 {
        let _stop = child.signal().siglock.lock();
        crate::signal::task_set_jobctl_pending(child, crate::signal::JOBCTL_TRAP_STOP);
    } else {
        let _ = crate::signal::send_signal_locked(
            SIGSTOP,
            KernelSiginfo::default(),
            child,
            crate::signal::PidType::Pid,
            Some(tasklist),
        );
    }
}

/// A released task leaves its tracer's list.
///
/// Linux: ptrace_release_task() in include/linux/ptrace.h
pub fn ptrace_release_task(p: &Arc<TaskStruct>, tasklist: &mut SpinLockGuard<'_, TaskList>) {
    if p.ptrace.is_traced() {
        __ptrace_unlink(p, tasklist);
    }
}

/// A ptrace_may_access check reads the target (/proc) (Linux: PTRACE_MODE_READ).
pub const PTRACE_MODE_READ: u32 = 0x01;
/// A ptrace_may_access check for attaching or changing the target
/// (Linux: PTRACE_MODE_ATTACH).
pub const PTRACE_MODE_ATTACH: u32 = 0x02;
/// Compare the caller's file-system ids (Linux: PTRACE_MODE_FSCREDS).
pub const PTRACE_MODE_FSCREDS: u32 = 0x08;
/// Compare the caller's real ids (Linux: PTRACE_MODE_REALCREDS).
pub const PTRACE_MODE_REALCREDS: u32 = 0x10;
/// What /proc asks (Linux: PTRACE_MODE_READ_FSCREDS).
pub const PTRACE_MODE_READ_FSCREDS: u32 = PTRACE_MODE_READ | PTRACE_MODE_FSCREDS;
/// What get_robust_list asks (Linux: PTRACE_MODE_READ_REALCREDS).
pub const PTRACE_MODE_READ_REALCREDS: u32 = PTRACE_MODE_READ | PTRACE_MODE_REALCREDS;
/// What ptrace, process_vm_readv and pidfd_getfd ask
/// (Linux: PTRACE_MODE_ATTACH_REALCREDS).
pub const PTRACE_MODE_ATTACH_REALCREDS: u32 = PTRACE_MODE_ATTACH | PTRACE_MODE_REALCREDS;

/// May the current task trace or inspect `task`, as `mode` asks: a thread
/// of its own process, or a task whose user and group ids all equal the
/// caller's (real ones with PTRACE_MODE_REALCREDS, file-system ones with
/// PTRACE_MODE_FSCREDS), or any task with CAP_SYS_PTRACE; and then, unless
/// the caller has CAP_SYS_PTRACE, only a task its user may dump.
///
/// Linux: ptrace_may_access() / __ptrace_may_access() in kernel/ptrace.c
/// Differs: no LSM hook, so PTRACE_MODE_READ and PTRACE_MODE_ATTACH ask the same.
pub fn ptrace_may_access(task: &TaskStruct, mode: u32) -> bool {
    if task.tgid() == current().tgid() {
        return true;
    }
    let cred = crate::cred::current_cred();
    let (caller_uid, caller_gid) = if mode & PTRACE_MODE_FSCREDS != 0 {
        (cred.fsuid, cred.fsgid)
    } else {
        (cred.uid, cred.gid)
    };
    let tcred = crate::cred::task_cred(task);
    let ids_match = [tcred.euid, tcred.suid, tcred.uid]
        .iter()
        .all(|&u| u == caller_uid)
        && [tcred.egid, tcred.sgid, tcred.gid]
            .iter()
            .all(|&g| g == caller_gid);
    if !ids_match && !ptrace_has_cap() {
        return false;
    }
    let mm = task.mm.lock().clone();
    mm.is_none_or(|mm| mm.get_dumpable() == crate::mm::mm_types::SUID_DUMP_USER || ptrace_has_cap())
}

/// Whether the caller holds CAP_SYS_PTRACE.
///
/// Linux: ptrace_has_cap() in kernel/ptrace.c
/// Differs: no user namespaces: the check is against the initial one.
fn ptrace_has_cap() -> bool {
    crate::capability::capable(crate::capability::CAP_SYS_PTRACE)
}
