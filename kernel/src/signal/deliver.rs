//! Delivering signals: on the way back to user space a pending signal is
//! dequeued and ignored, handed to a user handler, or acted on by default.
//!
//! Linux: get_signal() / dequeue_signal() in kernel/signal.c, and
//! arch_do_signal_or_restart() in arch/x86/kernel/signal.c (the frame itself
//! is built in arch/x86/signal.rs)

use super::*;

/// Takes the next pending signal not in `mask` off `t`: the thread's own
/// first, then its process's. A timer's signal from before the timer was
/// deleted or set again is dropped, and the next one taken instead. A stop
/// signal marks the taker JOBCTL_STOP_DEQUEUED: it may start a group stop.
///
/// Linux: dequeue_signal() in kernel/signal.c
pub fn dequeue_signal(t: &TaskStruct, mask: u64) -> Option<(i32, KernelSiginfo)> {
    loop {
        let (sig, mut info, q) = sigqueue::__dequeue_signal(&t.pending, mask)
            .or_else(|| sigqueue::__dequeue_signal(&t.signal().shared_pending, mask))?;
        if sig_kernel_stop(sig) {
            let _stop = t.signal().siglock.lock();
            t.jobctl.fetch_or(JOBCTL_STOP_DEQUEUED, Ordering::Relaxed);
        }
        match q {
            Some(q) if q.timer.is_some() => {
                if crate::time::posix_timers::posixtimer_deliver_signal(&mut info, q) {
                    return Some((sig, info));
                }
            }
            _ => return Some((sig, info)),
        }
    }
}

/// Acts on pending signals before returning to user space: tell the
/// parent of a stop or continue, join a group stop, then ignore, deliver
/// to a handler, or take the default action: stop the process for the
/// stop signals (but not for SIGTSTP/SIGTTIN/SIGTTOU in an orphaned
/// process group), and for most others end the whole process with the
/// signal as its wait status, after a core dump for the "core" signals
/// (the status then has 0x80 if the core file was written). A traced
/// task first stops for its tracer, which may change or drop the signal.
///
/// Linux: arch_do_signal_or_restart() in arch/x86/kernel/signal.c and
/// get_signal() in kernel/signal.c
pub fn arch_do_signal_or_restart(regs: &mut crate::arch::entry::calling::PtRegs) {
    let t = crate::task::current();
    let saved = t.saved_sigmask.lock().take();
    loop {
        if get_signal_traps(&t, regs) {
            continue;
        }
        let Some((mut sig, mut info)) = dequeue_signal(&t, blocked_mask(&t)) else {
            break;
        };
        if sig != SIGKILL && t.ptrace.is_traced() {
            sig = crate::ptrace::ptrace_signal(sig, &mut info, regs);
            if sig == 0 {
                continue;
            }
        }
        let action = task_sigaction(&t, sig);
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL if sig_kernel_ignore(sig) => continue,
            // An init dies only of SIGKILL (from an ancestor namespace);
            // other fatal signals reach it only while it blocked them.
            SIG_DFL
                if sig != SIGKILL
                    && sig != SIGSTOP
                    && t.signal().unkillable.load(Ordering::Relaxed) =>
            {
                continue;
            }
            SIG_DFL if sig_kernel_stop(sig) => {
                jobctl::do_default_stop(&t, sig);
                continue;
            }
            SIG_DFL | SIG_KTHREAD => {
                if sig_kernel_coredump(sig) {
                    crate::fs::coredump::vfs_coredump(&info, regs);
                }
                crate::fs::coredump::coredump_task_exit(&t, Some(regs));
                drop(t);
                crate::ptrace::ptrace_event_exit(sig, regs);
                crate::exit::do_group_exit(sig)
            }
            _ => {
                let old_mask = saved.unwrap_or_else(|| t.blocked.load(Ordering::Relaxed));
                if handle_signal(&t, sig, &info, &action, regs, old_mask) {
                    return;
                }
            }
        }
    }
    restart_interrupted_syscall(regs, None);
    if let Some(mask) = saved {
        t.blocked.store(mask, Ordering::Relaxed);
    }
}

/// What get_signal() acts on before it takes a signal: a stop or
/// continue to tell the parent, a group stop to join, a ptrace trap to
/// take; not when the task is being killed. Returns whether one ran, so
/// that the caller looks again.
///
/// Linux: the do_notify_parent_cldstop() / JOBCTL_STOP_PENDING /
/// JOBCTL_TRAP_MASK steps at the top of get_signal() in kernel/signal.c
fn get_signal_traps(t: &Arc<TaskStruct>, regs: &mut crate::arch::entry::calling::PtRegs) -> bool {
    !fatal_signal_pending(t) && jobctl::do_jobctl(t, regs)
}

/// Runs the handler of `sig`: the interrupted call restarted or
/// failed as the handler's flags say, the frame built, the handler's mask
/// blocked, SA_RESETHAND applied. Returns false when the frame could not
/// be written (the task then gets SIGSEGV instead).
///
/// Linux: handle_signal() and signal_setup_done() in arch/x86/kernel/signal.c
fn handle_signal(
    t: &TaskStruct,
    sig: i32,
    info: &KernelSiginfo,
    action: &KSigaction,
    regs: &mut crate::arch::entry::calling::PtRegs,
    old_mask: u64,
) -> bool {
    restart_interrupted_syscall(regs, Some(action.flags));
    if crate::arch::signal::setup_rt_frame(info, action, regs, old_mask).is_err() {
        force_sigsegv(sig);
        return false;
    }
    let nodefer = action.flags & SA_NODEFER != 0;
    let mask = action.mask | if nodefer { 0 } else { sigmask(sig) };
    t.blocked.fetch_or(mask, Ordering::Relaxed);
    if action.flags & SA_RESETHAND != 0
        && let Some(sh) = t.sighand.lock().as_ref()
    {
        sh.action.lock()[sig as usize - 1].handler = SIG_DFL;
    }
    true
}

/// Decides what becomes of a system call that a signal interrupted with
/// one of the kernel-internal restart codes: it runs again (back over the
/// two-byte `syscall` instruction, its number back in rax), continues
/// through restart_syscall(2), or fails with EINTR. `handler_flags` is the
/// sa_flags of the handler about to run, `None` when no handler runs.
///
/// With a handler: ERESTARTNOINTR restarts, ERESTARTSYS restarts only
/// under SA_RESTART, ERESTARTNOHAND and ERESTART_RESTARTBLOCK give EINTR.
/// Without one, every kind restarts, RESTARTBLOCK as restart_syscall.
/// It happens before the handler's frame is built, so the handler returns
/// into the restarted call, or to the EINTR.
///
/// Linux: handle_signal() / arch_do_signal_or_restart() in arch/x86/kernel/signal.c
pub(super) fn restart_interrupted_syscall(
    regs: &mut crate::arch::entry::calling::PtRegs,
    handler_flags: Option<u64>,
) {
    use crate::errno::Errno;
    // Linux: syscall_get_nr() != -1; rt_sigreturn sets orig_rax to -1.
    if regs.vector != crate::arch::entry::calling::SYSCALL_VECTOR || regs.orig_rax == u64::MAX {
        return;
    }
    let error = regs.rax.wrapping_neg();
    let is = |e: Errno| error == e.0 as u64;
    let no_handler = handler_flags.is_none();
    let sa_restart = handler_flags.is_none_or(|flags| flags & SA_RESTART != 0);
    // The number to run again from the `syscall` instruction, if any.
    let again = if is(Errno::ERESTARTNOINTR)
        || (is(Errno::ERESTARTSYS) && sa_restart)
        || (is(Errno::ERESTARTNOHAND) && no_handler)
    {
        Some(regs.orig_rax)
    } else if is(Errno::ERESTART_RESTARTBLOCK) && no_handler {
        Some(crate::unistd::__NR_restart_syscall)
    } else {
        None
    };
    match (again, regs.rip.checked_sub(2)) {
        (Some(nr), Some(rip)) => {
            regs.rax = nr;
            regs.rip = rip;
        }
        _ if is(Errno::ERESTARTSYS)
            || is(Errno::ERESTARTNOHAND)
            || is(Errno::ERESTART_RESTARTBLOCK) =>
        {
            regs.rax = (-(Errno::EINTR.0 as i64)) as u64;
        }
        _ => {}
    }
}
