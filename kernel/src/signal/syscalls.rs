//! The signal system calls: dispositions (rt_sigaction, and the kernel
//! threads' own ignore_signals/allow_signal), masks, waiting for a signal,
//! and the kill family's entry points.
//!
//! Linux: the SYSCALL_DEFINEs of kernel/signal.c

use super::kill::{__kill_pgrp_info, do_tkill, kill_matching, kill_proc_info};
use super::*;
use crate::tasklist::{TASKLIST_LOCK, for_each_thread};

/// Sets every handler of the current kernel thread to SIG_IGN.
///
/// Linux: ignore_signals() in kernel/signal.c
pub fn ignore_signals(t: &TaskStruct) {
    if let Some(sh) = t.sighand.lock().as_ref() {
        sh.action
            .lock()
            .iter_mut()
            .for_each(|a| a.handler = SIG_IGN);
    }
}

/// Resets the handlers of `t`: every one (with `force_default`) or every
/// one not ignored goes back to SIG_DFL, with no flags and no mask.
///
/// Linux: flush_signal_handlers() in kernel/signal.c
pub fn flush_signal_handlers(t: &TaskStruct, force_default: bool) {
    if let Some(sh) = t.sighand.lock().as_ref() {
        for ka in sh.action.lock().iter_mut() {
            let ignored = !force_default && ka.handler == SIG_IGN;
            *ka = KSigaction::default();
            if ignored {
                ka.handler = SIG_IGN;
            }
        }
    }
}

/// Lets a kernel thread receive `sig` (kernel threads ignore all by default).
///
/// Linux: allow_signal() / kernel_sigaction() in kernel/signal.c
pub fn allow_signal(t: &TaskStruct, sig: i32) {
    if let Some(sh) = t.sighand.lock().as_ref() {
        sh.action.lock()[sig as usize - 1].handler = SIG_KTHREAD;
    }
}

/// Linux: SYSCALL_DEFINE4(rt_sigaction) in kernel/signal.c
pub fn sys_rt_sigaction(
    sig: i32,
    act: u64,
    oact: u64,
    sigsetsize: u64,
) -> crate::syscall::SysResult {
    use crate::errno::Errno;
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    if !(1..=_NSIG as i32).contains(&sig) || (act != 0 && (sig == SIGKILL || sig == SIGSTOP)) {
        return Err(Errno::EINVAL);
    }
    // struct kernel_sigaction on x86_64: handler, flags, restorer, mask.
    let new = if act != 0 {
        Some(crate::mm::uaccess::get_user::<[u64; 4]>(act)?)
    } else {
        None
    };
    let sh = crate::task::current()
        .sighand
        .lock()
        .clone()
        .ok_or(Errno::EINVAL)?;
    let old = {
        let mut action = sh.action.lock();
        let old = action[sig as usize - 1];
        if let Some([handler, flags, restorer, mask]) = new {
            let mask = mask & !(sigmask(SIGKILL) | sigmask(SIGSTOP));
            action[sig as usize - 1] = KSigaction {
                handler,
                flags,
                mask,
                restorer,
            };
        }
        old
    };
    match new {
        Some([handler, ..]) if sig_handler_ignored(handler, sig) => flush_ignored(sig),
        Some(_) if old.handler == SIG_IGN => {
            crate::time::posix_timers::posixtimer_sig_unignore(&crate::task::current(), sig);
        }
        _ => {}
    }
    if oact != 0 {
        crate::mm::uaccess::put_user(oact, [old.handler, old.flags, old.restorer, old.mask])?;
    }
    Ok(0)
}

/// Whether `handler` makes `sig` ignored: SIG_IGN, or SIG_DFL for a signal
/// whose default is to do nothing.
///
/// Linux: sig_handler_ignored() in kernel/signal.c
fn sig_handler_ignored(handler: u64, sig: i32) -> bool {
    handler == SIG_IGN || (handler == SIG_DFL && sig_kernel_ignore(sig))
}

/// Discards the pending instances of `sig`, which just became ignored, in
/// the process's set and every thread's.
///
/// Linux: the flush_sigqueue_mask() calls of do_sigaction() in kernel/signal.c
fn flush_ignored(sig: i32) {
    let me = crate::task::current();
    flush_sigqueue_mask(&me.signal().shared_pending, sigmask(sig));
    let tasklist = TASKLIST_LOCK.lock();
    for t in for_each_thread(&me, &tasklist) {
        flush_sigqueue_mask(&t.pending, sigmask(sig));
    }
}

/// Linux: SYSCALL_DEFINE4(rt_sigprocmask) in kernel/signal.c
pub fn sys_rt_sigprocmask(
    how: i32,
    set: u64,
    oset: u64,
    sigsetsize: u64,
) -> crate::syscall::SysResult {
    use crate::errno::Errno;
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let me = crate::task::current();
    let old = me.blocked.load(Ordering::Relaxed);
    if set != 0 {
        let new: u64 = crate::mm::uaccess::get_user(set)?;
        let blocked = match how {
            0 => old | new,
            1 => old & !new,
            2 => new,
            _ => return Err(Errno::EINVAL),
        };
        me.blocked.store(
            blocked & !(sigmask(SIGKILL) | sigmask(SIGSTOP)),
            Ordering::Relaxed,
        );
    }
    if oset != 0 {
        crate::mm::uaccess::put_user(oset, old)?;
    }
    Ok(0)
}

/// Sends `sig` to the processes `pid` selects; 0 only checks they exist.
/// A group kill fails with EPERM when it may signal none of the group;
/// kill(-1) skips whom it may not signal and succeeds, as Linux's does.
///
/// Linux: SYSCALL_DEFINE2(kill) / kill_something_info() in kernel/signal.c
///
/// # Errors
/// `ESRCH` when nothing matches; `EINVAL` for a bad signal; `EPERM`.
pub fn sys_kill(pid: i32, sig: i32) -> crate::syscall::SysResult {
    use crate::errno::Errno;
    if pid > 0 {
        return kill_proc_info(sig, pid);
    }
    // -INT_MIN is no pid.
    let Some(pgrp) = pid.checked_neg() else {
        return Err(Errno::ESRCH);
    };
    let me = crate::task::current();
    let ns = crate::pid::task_active_pid_ns(&me);
    let vpgrp = crate::pid::find_vpgrp(pgrp).unwrap_or(-1);
    // A bad signal is reported only once there is someone to send it to.
    let send = if valid_signal(sig) { sig } else { 0 };
    // Under the lock no fork can publish a child in the middle of the walk,
    // and a fork that publishes later sees the signal pending in its parent.
    let tasklist = TASKLIST_LOCK.lock();
    let killed = match pid {
        0 => __kill_pgrp_info(
            send,
            me.signal().pgrp.load(Ordering::Relaxed),
            &tasklist,
            true,
        ),
        // Every process the caller's namespace shows, but its init.
        -1 => kill_matching(send, &tasklist, true, |t| {
            crate::pid::task_pid_nr_ns(t, &ns) > 1 && t.tgid() != me.tgid() && !t.is_kthread()
        }),
        _ => __kill_pgrp_info(send, vpgrp, &tasklist, true),
    };
    match (killed.found, valid_signal(sig)) {
        (false, _) => Err(Errno::ESRCH),
        (true, false) => Err(Errno::EINVAL),
        (true, true) if pid != -1 && !killed.allowed => Err(Errno::EPERM),
        (true, true) => Ok(0),
    }
}

static PAUSE_WAIT: crate::sched::wait::WaitQueueHead = crate::sched::wait::WaitQueueHead::new();

/// Sleeps until a signal arrives.
///
/// Linux: SYSCALL_DEFINE0(pause) in kernel/signal.c
///
/// # Errors
/// `ERESTARTNOHAND`: EINTR once a handler ran; a signal without a handler
/// (ignored, or a stop and continue) puts the caller back to sleep.
pub fn sys_pause() -> crate::syscall::SysResult {
    let _ = PAUSE_WAIT.wait_event_interruptible(|| false);
    Err(crate::errno::Errno::ERESTARTNOHAND)
}

/// Replaces the signal mask and sleeps until a signal is delivered; the old
/// mask comes back after the handler returns.
///
/// Linux: SYSCALL_DEFINE2(rt_sigsuspend) in kernel/signal.c
pub fn sys_rt_sigsuspend(unewset: u64, sigsetsize: u64) -> crate::syscall::SysResult {
    if sigsetsize != 8 {
        return Err(crate::errno::Errno::EINVAL);
    }
    let newset: u64 = crate::mm::uaccess::get_user(unewset)?;
    set_restore_sigmask(newset);
    let _ = PAUSE_WAIT.wait_event_interruptible(|| false);
    // Like pause: EINTR after a handler, asleep again without one.
    Err(crate::errno::Errno::ERESTARTNOHAND)
}

/// Blocks `mask` (never SIGKILL or SIGSTOP) until the system call returns,
/// keeping the caller's mask to put back then, or after the handler a
/// signal runs when the call is interrupted (sigsuspend, ppoll, pselect6).
///
/// Linux: set_restore_sigmask() with `saved_sigmask = blocked` and
/// set_current_blocked(), as in sigsuspend() in kernel/signal.c
pub fn set_restore_sigmask(mask: u64) {
    let me = crate::task::current();
    *me.saved_sigmask.lock() = Some(me.blocked.load(Ordering::Relaxed));
    set_current_blocked(mask);
}

/// Makes `mask` the caller's blocked set, less SIGKILL and SIGSTOP, which
/// nothing blocks (rt_sigreturn's saved mask may name them: user space
/// wrote it).
///
/// Linux: set_current_blocked() in kernel/signal.c
pub fn set_current_blocked(mask: u64) {
    crate::task::current().blocked.store(
        mask & !(sigmask(SIGKILL) | sigmask(SIGSTOP)),
        Ordering::Relaxed,
    );
}

/// Puts back the mask set_restore_sigmask kept, if any.
///
/// Linux: restore_saved_sigmask() in include/linux/sched/signal.h
pub fn restore_saved_sigmask() {
    let me = crate::task::current();
    let saved = me.saved_sigmask.lock().take();
    if let Some(mask) = saved {
        me.blocked.store(mask, Ordering::Relaxed);
    }
}

/// Sends `sig` to thread `tid` of process `tgid`.
///
/// Linux: SYSCALL_DEFINE3(tgkill) in kernel/signal.c
pub fn sys_tgkill(tgid: i32, tid: i32, sig: i32) -> crate::syscall::SysResult {
    if tid <= 0 || tgid <= 0 {
        return Err(crate::errno::Errno::EINVAL);
    }
    do_tkill(tgid, tid, sig)
}

/// Sends `sig` to thread `tid`, whatever its process.
///
/// Linux: SYSCALL_DEFINE2(tkill) in kernel/signal.c
pub fn sys_tkill(tid: i32, sig: i32) -> crate::syscall::SysResult {
    if tid <= 0 {
        return Err(crate::errno::Errno::EINVAL);
    }
    do_tkill(0, tid, sig)
}
