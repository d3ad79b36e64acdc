//! Signals, as far as process lifetime needs them: SIGCHLD to the parent at
//! exit, SIGKILL waking interruptible sleepers, and ignored signals.
//!
//! Linux: kernel/signal.c
//! Not modelled yet: user-space handlers, real-time queues, job control.

use crate::arch::sync::SpinLock;
use crate::sched::wait::WaitQueueHead;
use crate::task::{TASK_INTERRUPTIBLE, TaskStruct};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Number of signals (Linux: _NSIG).
pub const _NSIG: usize = 64;
/// Hang up.
pub const SIGHUP: i32 = 1;
/// Interrupt from the keyboard.
pub const SIGINT: i32 = 2;
/// Kill; cannot be caught or ignored by user space.
pub const SIGKILL: i32 = 9;
/// Invalid memory reference.
pub const SIGSEGV: i32 = 11;
/// Termination request.
pub const SIGTERM: i32 = 15;
/// Child stopped or terminated.
pub const SIGCHLD: i32 = 17;

/// Default action (Linux: SIG_DFL).
pub const SIG_DFL: u64 = 0;
/// Ignore the signal (Linux: SIG_IGN).
pub const SIG_IGN: u64 = 1;
/// Marks a signal a kernel thread has chosen to receive (Linux: SIG_KTHREAD).
pub const SIG_KTHREAD: u64 = 2;
/// Do not turn exited children into zombies (Linux: SA_NOCLDWAIT).
pub const SA_NOCLDWAIT: u64 = 2;

/// One signal's disposition (Linux: `struct k_sigaction`).
#[derive(Clone, Copy, Default)]
pub struct KSigaction {
    /// SIG_DFL, SIG_IGN, or a user handler address.
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// The signal handler table, shared under CLONE_SIGHAND.
///
/// Linux: struct sighand_struct in include/linux/sched/signal.h
pub struct SighandStruct {
    /// Disposition of each signal, indexed by signal number - 1.
    pub action: SpinLock<[KSigaction; _NSIG]>,
}

impl SighandStruct {
    /// A table with every signal at its default action.
    pub const fn new() -> Self {
        SighandStruct { action: SpinLock::new([KSigaction { handler: SIG_DFL, flags: 0, mask: 0 }; _NSIG]) }
    }

    /// The disposition of `sig`.
    pub fn get(&self, sig: i32) -> KSigaction {
        self.action.lock()[sig as usize - 1]
    }
}

impl Default for SighandStruct {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-process state shared by all threads of a group.
///
/// Linux: struct signal_struct in include/linux/sched/signal.h
#[derive(Default)]
pub struct SignalStruct {
    /// Where wait4 sleeps until a child changes state (Linux: wait_chldexit).
    pub wait_chldexit: WaitQueueHead,
    /// Orphaned descendants are re-parented here (PR_SET_CHILD_SUBREAPER).
    pub is_child_subreaper: AtomicBool,
    /// Some ancestor is a subreaper, so find_new_reaper must look for it.
    pub has_child_subreaper: AtomicBool,
    /// This is init: fatal signals it does not handle are dropped
    /// (Linux: SIGNAL_UNKILLABLE in signal->flags).
    pub unkillable: AtomicBool,
    /// Resource limits (Linux: rlim).
    pub rlim: SpinLock<crate::resource::Rlimits>,
}

/// Signals pending for one thread (Linux: `struct sigpending`).
#[derive(Default)]
pub struct SigPending {
    signal: AtomicU64,
}

impl SigPending {
    /// Clears everything, as copy_process does for a child.
    pub fn clear(&self) {
        self.signal.store(0, Ordering::Relaxed);
    }

    /// Whether `sig` is pending.
    pub fn contains(&self, sig: i32) -> bool {
        self.signal.load(Ordering::Relaxed) & sigmask(sig) != 0
    }
}

fn sigmask(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// Whether any signal is pending for `p` (Linux: signal_pending()).
pub fn signal_pending(p: &TaskStruct) -> bool {
    p.pending.signal.load(Ordering::Relaxed) != 0
}

/// Whether SIGKILL is pending for `p` (Linux: fatal_signal_pending()).
pub fn fatal_signal_pending(p: &TaskStruct) -> bool {
    p.pending.contains(SIGKILL)
}

/// Whether `t` would just drop `sig`: ignored signals are never queued.
///
/// Linux: sig_task_ignored() in kernel/signal.c
fn sig_task_ignored(t: &TaskStruct, sig: i32) -> bool {
    let handler = t.sighand.lock().as_ref().map_or(SIG_IGN, |sh| sh.get(sig).handler);
    handler == SIG_IGN || (handler == SIG_DFL && sig == SIGCHLD)
}

/// Queues `sig` for `t` and wakes it if it sleeps interruptibly.
///
/// Linux: send_signal_locked() / complete_signal() in kernel/signal.c
pub fn send_sig(sig: i32, t: &Arc<TaskStruct>) {
    if sig_task_ignored(t, sig) {
        return;
    }
    t.pending.signal.fetch_or(sigmask(sig), Ordering::Relaxed);
    signal_wake_up(t);
}

/// Wakes `t` so it notices a new signal. Only TASK_INTERRUPTIBLE sleepers
/// wake; TASK_UNINTERRUPTIBLE ones keep sleeping until their condition.
///
/// Linux: signal_wake_up_state() in kernel/signal.c
fn signal_wake_up(t: &Arc<TaskStruct>) {
    crate::sched::core::try_to_wake_up(t, TASK_INTERRUPTIBLE);
}

/// Sets every handler of the current kernel thread to SIG_IGN.
///
/// Linux: ignore_signals() in kernel/signal.c
pub fn ignore_signals(t: &TaskStruct) {
    if let Some(sh) = t.sighand.lock().as_ref() {
        sh.action.lock().iter_mut().for_each(|a| a.handler = SIG_IGN);
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

/// Tells the parent that `tsk` died: SIGCHLD (unless ignored) and a wake-up
/// of its wait4. Returns true when the parent ignores SIGCHLD, meaning the
/// child should reap itself instead of becoming a zombie.
///
/// Linux: do_notify_parent() in kernel/signal.c
pub fn do_notify_parent(tsk: &TaskStruct, parent: &Arc<TaskStruct>, sig: i32) -> bool {
    let mut sig = sig;
    let mut autoreap = false;
    if sig == SIGCHLD {
        let psig = parent.sighand.lock().as_ref().map(|sh| sh.get(SIGCHLD)).unwrap_or_default();
        if psig.handler == SIG_IGN || psig.flags & SA_NOCLDWAIT != 0 {
            autoreap = true;
            if psig.handler == SIG_IGN {
                sig = 0;
            }
        }
    }
    if sig > 0 && sig as usize <= _NSIG {
        send_sig(sig, parent);
    }
    __wake_up_parent(tsk, parent);
    autoreap
}

/// Wakes the parent's wait4, if it is sleeping in one.
///
/// Linux: __wake_up_parent() in kernel/exit.c
pub fn __wake_up_parent(_p: &TaskStruct, parent: &TaskStruct) {
    parent.signal().wait_chldexit.wake_up_mode(TASK_INTERRUPTIBLE);
}
