//! Delivering signals: on the way back to user space a pending signal is
//! dequeued and ignored, handed to a user handler, or acted on by default.
//!
//! Linux: get_signal() / dequeue_signal() in kernel/signal.c, and
//! arch_do_signal_or_restart() in arch/x86/kernel/signal.c (the frame itself
//! is built in arch/x86/signal.rs)

use super::*;

/// Takes the lowest pending signal not in `mask` off the current task.
///
/// Linux: dequeue_signal() in kernel/signal.c
pub(super) fn dequeue_signal(t: &TaskStruct, mask: u64) -> Option<(i32, KernelSiginfo)> {
    let ready = t.pending.signal.load(Ordering::Relaxed) & !mask;
    if ready == 0 {
        return None;
    }
    let sig = ready.trailing_zeros() as i32 + 1;
    let info = t.pending.info.lock()[sig as usize - 1];
    t.pending.signal.fetch_and(!sigmask(sig), Ordering::Relaxed);
    Some((sig, info))
}

/// Acts on pending signals before returning to user space: ignore, deliver
/// to a handler, or take the default action, which for most signals ends the
/// whole process with the signal as its wait status.
///
/// Linux: arch_do_signal_or_restart() in arch/x86/kernel/signal.c and
/// get_signal() in kernel/signal.c
pub fn arch_do_signal_or_restart(regs: &mut crate::arch::entry::calling::PtRegs) {
    let t = crate::task::current();
    let saved = t.saved_sigmask.lock().take();
    while let Some((sig, info)) = dequeue_signal(&t, blocked_mask(&t)) {
        let action = t
            .sighand
            .lock()
            .as_ref()
            .map(|sh| sh.get(sig))
            .unwrap_or_default();
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL if sig_kernel_ignore(sig) || sig_kernel_stop(sig) => continue,
            SIG_DFL | SIG_KTHREAD => {
                drop(t);
                crate::exit::do_group_exit(sig)
            }
            _ => {
                let old_mask = saved.unwrap_or_else(|| t.blocked.load(Ordering::Relaxed));
                restart_interrupted_syscall(regs);
                if crate::arch::signal::setup_rt_frame(&info, &action, regs, old_mask).is_err() {
                    force_sigsegv(sig);
                    continue;
                }
                let mask = action.mask
                    | if action.flags & SA_NODEFER != 0 {
                        0
                    } else {
                        sigmask(sig)
                    };
                t.blocked.fetch_or(mask, Ordering::Relaxed);
                if action.flags & SA_RESETHAND != 0
                    && let Some(sh) = t.sighand.lock().as_ref()
                {
                    sh.action.lock()[sig as usize - 1].handler = SIG_DFL;
                }
                return;
            }
        }
    }
    restart_interrupted_syscall(regs);
    if let Some(mask) = saved {
        t.blocked.store(mask, Ordering::Relaxed);
    }
}

/// Makes a system call that a signal interrupted with ERESTARTNOINTR run
/// again: back over the two-byte `syscall` instruction, with its number
/// back in rax. It happens before the handler's frame is built (so the
/// handler returns into the call) or, without a handler, before the return.
///
/// Linux: handle_signal() / arch_do_signal_or_restart() in arch/x86/kernel/signal.c
/// Differs: the other restart codes (ERESTARTSYS, ERESTARTNOHAND,
/// ERESTART_RESTARTBLOCK) are not produced yet, so only this one is decided.
pub(super) fn restart_interrupted_syscall(regs: &mut crate::arch::entry::calling::PtRegs) {
    let from_syscall = regs.vector == crate::arch::entry::calling::SYSCALL_VECTOR;
    let error = regs.rax.wrapping_neg();
    if from_syscall
        && error == crate::errno::Errno::ERESTARTNOINTR.0 as u64
        && let Some(rip) = regs.rip.checked_sub(2)
    {
        regs.rax = regs.orig_rax;
        regs.rip = rip;
    }
}
