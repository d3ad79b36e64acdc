//! Signals, as far as process lifetime needs them: SIGCHLD to the parent at
//! exit, SIGKILL waking interruptible sleepers, and ignored signals.
//!
//! Linux: kernel/signal.c
//! Not modelled yet: user-space handlers, real-time queues, job control.

use crate::arch::sync::SpinLock;
use crate::fork::TaskList;
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
/// Quit from the keyboard.
pub const SIGQUIT: i32 = 3;
/// Illegal instruction.
pub const SIGILL: i32 = 4;
/// Trace or breakpoint trap.
pub const SIGTRAP: i32 = 5;
/// Abort.
pub const SIGABRT: i32 = 6;
/// Bus error.
pub const SIGBUS: i32 = 7;
/// Arithmetic error.
pub const SIGFPE: i32 = 8;
/// Kill; cannot be caught or ignored by user space.
pub const SIGKILL: i32 = 9;
/// User-defined signal 1.
pub const SIGUSR1: i32 = 10;
/// Invalid memory reference.
pub const SIGSEGV: i32 = 11;
/// User-defined signal 2.
pub const SIGUSR2: i32 = 12;
/// Write to a pipe with no reader.
pub const SIGPIPE: i32 = 13;
/// Timer signal.
pub const SIGALRM: i32 = 14;
/// Termination request.
pub const SIGTERM: i32 = 15;
/// Child stopped or terminated.
pub const SIGCHLD: i32 = 17;
/// Continue if stopped.
pub const SIGCONT: i32 = 18;
/// Stop; cannot be caught.
pub const SIGSTOP: i32 = 19;
/// Stop from the terminal.
pub const SIGTSTP: i32 = 20;
/// Urgent condition on a socket.
pub const SIGURG: i32 = 23;
/// Window size change.
pub const SIGWINCH: i32 = 28;

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
    /// Where the handler returns: user code calling rt_sigreturn.
    pub restorer: u64,
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
        SighandStruct {
            action: SpinLock::new(
                [KSigaction {
                    handler: SIG_DFL,
                    flags: 0,
                    mask: 0,
                    restorer: 0,
                }; _NSIG],
            ),
        }
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
    /// exit_group() is under way (Linux: SIGNAL_GROUP_EXIT).
    pub group_exit: AtomicBool,
    /// The status every thread exits with during a group exit.
    pub group_exit_code: core::sync::atomic::AtomicI32,
    /// A thread is exec'ing and killing the others (Linux: group_exec_task):
    /// they die alone, without starting a group exit.
    pub group_exec: AtomicBool,
    /// Process group id (Linux: the PIDTYPE_PGID pid of the signal struct).
    pub pgrp: core::sync::atomic::AtomicI32,
    /// Session id (Linux: PIDTYPE_SID).
    pub session: core::sync::atomic::AtomicI32,
    /// User time of reaped children and their reaped descendants, in ns
    /// (Linux: cutime).
    pub cutime: AtomicU64,
    /// System time of the same (Linux: cstime).
    pub cstime: AtomicU64,
    /// Added to the OOM badness, -1000..=1000; -1000 exempts the process
    /// (Linux: oom_score_adj). Inherited by fork, kept by exec.
    pub oom_score_adj: core::sync::atomic::AtomicI16,
    /// When the OOM killer chose this process, in ns since boot; 0 if it
    /// never did. Differs: Linux keeps the victim's mm (oom_mm); we keep
    /// the time, so the killer stops waiting for a victim that cannot exit.
    pub oom_victim_since: AtomicU64,
}

/// Sent by kill() or another task (Linux: SI_USER).
pub const SI_USER: i32 = 0;
/// Sent by the kernel, e.g. for a fault (Linux: SI_KERNEL).
pub const SI_KERNEL: i32 = 0x80;
/// SIGBUS for a misaligned access (Linux: BUS_ADRALN).
pub const BUS_ADRALN: i32 = 1;
/// A child exited (Linux: CLD_EXITED).
pub const CLD_EXITED: i32 = 1;
/// A child was killed by a signal (Linux: CLD_KILLED).
pub const CLD_KILLED: i32 = 2;

/// What a handler learns about a signal (Linux: struct kernel_siginfo).
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelSiginfo {
    /// Signal number.
    pub signo: i32,
    /// Why it was sent: SI_USER, SI_KERNEL, CLD_EXITED...
    pub code: i32,
    /// Sender, or the child for SIGCHLD.
    pub pid: i32,
    /// Sender's uid.
    pub uid: u32,
    /// SIGCHLD: exit code or killing signal.
    pub status: i32,
    /// SIGSEGV/SIGBUS: the faulting address.
    pub addr: u64,
}

impl KernelSiginfo {
    /// The 128-byte `siginfo_t` as x86_64 user space lays it out.
    pub fn to_user(&self) -> [u64; 16] {
        let mut words = [0u64; 16];
        words[0] = self.signo as u32 as u64;
        words[1] = self.code as u32 as u64;
        words[2] = if self.addr != 0 {
            self.addr
        } else {
            self.pid as u32 as u64 | (u64::from(self.uid) << 32)
        };
        words[3] = self.status as u32 as u64;
        words
    }
}

/// Signals pending for one thread (Linux: `struct sigpending`). Differs:
/// standard signals only, so one siginfo per signal number.
pub struct SigPending {
    signal: AtomicU64,
    info: SpinLock<[KernelSiginfo; _NSIG]>,
}

impl Default for SigPending {
    fn default() -> Self {
        SigPending {
            signal: AtomicU64::new(0),
            info: SpinLock::new([KernelSiginfo::default(); _NSIG]),
        }
    }
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

/// Whether an unblocked signal is pending for `p` (Linux: signal_pending()).
pub fn signal_pending(p: &TaskStruct) -> bool {
    p.pending.signal.load(Ordering::Relaxed) & !blocked_mask(p) != 0
}

/// Signals `p` has blocked; SIGKILL and SIGSTOP never are.
fn blocked_mask(p: &TaskStruct) -> u64 {
    p.blocked.load(Ordering::Relaxed) & !(sigmask(SIGKILL) | sigmask(SIGSTOP))
}

/// Whether the running task has an unblocked signal pending.
pub fn signal_pending_current() -> bool {
    crate::arch::percpu::with_current(|t| t.is_some_and(signal_pending))
}

/// Whether SIGKILL is pending for `p` (Linux: fatal_signal_pending()).
pub fn fatal_signal_pending(p: &TaskStruct) -> bool {
    p.pending.contains(SIGKILL)
}

/// Whether `t` would just drop `sig`: ignored signals are never queued.
///
/// Linux: sig_task_ignored() in kernel/signal.c
fn sig_task_ignored(t: &TaskStruct, sig: i32) -> bool {
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
    signal_wake_up(t, sig == SIGKILL);
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

/// Whether the default action of `sig` is to do nothing.
///
/// Linux: sig_kernel_ignore() in include/linux/signal.h
pub fn sig_kernel_ignore(sig: i32) -> bool {
    matches!(sig, SIGCHLD | SIGCONT | SIGURG | SIGWINCH)
}

/// Whether the default action of `sig` is to stop the task (not modelled:
/// stop signals are treated as ignored).
fn sig_kernel_stop(sig: i32) -> bool {
    matches!(sig, SIGSTOP | SIGTSTP | 21 | 22)
}

/// Takes the lowest unblocked pending signal off the current task.
///
/// Linux: dequeue_signal() in kernel/signal.c
fn dequeue_signal(t: &TaskStruct) -> Option<(i32, KernelSiginfo)> {
    let ready = t.pending.signal.load(Ordering::Relaxed) & !blocked_mask(t);
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
    while let Some((sig, info)) = dequeue_signal(&t) {
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
fn restart_interrupted_syscall(regs: &mut crate::arch::entry::calling::PtRegs) {
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

/// Do not block the signal while its handler runs (Linux: SA_NODEFER).
pub const SA_NODEFER: u64 = 0x4000_0000;
/// Reset to SIG_DFL once delivered (Linux: SA_RESETHAND).
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// The handler takes siginfo (Linux: SA_SIGINFO).
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// `restorer` is valid (Linux: SA_RESTORER).
pub const SA_RESTORER: u64 = 0x0400_0000;
/// Restart interrupted system calls (Linux: SA_RESTART).
pub const SA_RESTART: u64 = 0x1000_0000;

/// Sends `sig` to every thread of `t`'s process (Linux: group_send_sig_info()).
pub fn group_send_sig(sig: i32, t: &Arc<TaskStruct>) {
    group_send_sig_locked(sig, t, &crate::fork::TASKLIST_LOCK.lock());
}

/// group_send_sig for a caller that holds the tasklist lock: SIGKILL goes to
/// every thread, any other signal to `t` or, once it has exited, to the
/// first thread still alive.
fn group_send_sig_locked(sig: i32, t: &Arc<TaskStruct>, tasklist: &TaskList) {
    let mut threads = tasklist.tasks.iter().filter(|x| x.tgid() == t.tgid());
    match sig {
        SIGKILL => threads.for_each(|x| send_sig(sig, x)),
        _ if t.exit_state() == 0 => send_sig(sig, t),
        _ => send_sig(sig, threads.find(|x| x.exit_state() == 0).unwrap_or(t)),
    }
}

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
        let status = tsk.exit_code.load(Ordering::Relaxed);
        let (code, status) = if status & 0x7f == 0 {
            (CLD_EXITED, (status >> 8) & 0xff)
        } else {
            (CLD_KILLED, status & 0x7f)
        };
        send_sig_info(
            sig,
            KernelSiginfo {
                code,
                pid: tsk.tgid(),
                status,
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
    if oact != 0 {
        crate::mm::uaccess::put_user(oact, [old.handler, old.flags, old.restorer, old.mask])?;
    }
    Ok(0)
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

/// Linux: SYSCALL_DEFINE2(sigaltstack): alternate stacks are not modelled;
/// report "disabled" and accept a new one without using it.
pub fn sys_sigaltstack(_ss: u64, old: u64) -> crate::syscall::SysResult {
    if old != 0 {
        crate::mm::uaccess::put_user(old, [0u64, 2, 0])?;
    }
    Ok(0)
}

/// Sends `sig` to the processes `pid` selects; 0 only checks they exist.
///
/// Linux: SYSCALL_DEFINE2(kill) / kill_something_info() in kernel/signal.c
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
    // A bad signal is reported only once there is someone to send it to.
    let send = if valid_signal(sig) { sig } else { 0 };
    // Under the lock no fork can publish a child in the middle of the walk,
    // and a fork that publishes later sees the signal pending in its parent.
    let tasklist = crate::fork::TASKLIST_LOCK.lock();
    let found = match pid {
        0 => __kill_pgrp_info(send, me.signal().pgrp.load(Ordering::Relaxed), &tasklist),
        -1 => kill_matching(send, &tasklist, |t| {
            t.tgid() > 1 && t.tgid() != me.tgid() && !t.is_kthread()
        }),
        _ => __kill_pgrp_info(send, pgrp, &tasklist),
    };
    match (found, valid_signal(sig)) {
        (false, _) => Err(Errno::ESRCH),
        (true, false) => Err(Errno::EINVAL),
        (true, true) => Ok(0),
    }
}

/// Whether `sig` is a signal number or 0, the existence check.
///
/// Linux: valid_signal() in include/linux/signal.h
fn valid_signal(sig: i32) -> bool {
    (0..=_NSIG as i32).contains(&sig)
}

/// Sends `sig` to the process of task `pid`.
///
/// Linux: kill_proc_info() / kill_pid_info() in kernel/signal.c
fn kill_proc_info(sig: i32, pid: i32) -> crate::syscall::SysResult {
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
fn __kill_pgrp_info(sig: i32, pgrp: i32, tasklist: &TaskList) -> bool {
    kill_matching(sig, tasklist, |t| {
        t.signal().pgrp.load(Ordering::Relaxed) == pgrp
    })
}

/// One walk over the task list, under its lock, sending `sig` to each
/// process `matches` selects; says whether it selected any. SIGKILL goes to
/// each thread met on the way, so a group kill costs one pass.
fn kill_matching(sig: i32, tasklist: &TaskList, matches: impl Fn(&TaskStruct) -> bool) -> bool {
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

static PAUSE_WAIT: crate::sched::wait::WaitQueueHead = crate::sched::wait::WaitQueueHead::new();

/// Sleeps until a signal arrives.
///
/// Linux: SYSCALL_DEFINE0(pause) in kernel/signal.c
pub fn sys_pause() -> crate::syscall::SysResult {
    let _ = PAUSE_WAIT.wait_event_interruptible(|| false);
    Err(crate::errno::Errno::EINTR)
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
    let me = crate::task::current();
    *me.saved_sigmask.lock() = Some(me.blocked.load(Ordering::Relaxed));
    me.blocked.store(
        newset & !(sigmask(SIGKILL) | sigmask(SIGSTOP)),
        Ordering::Relaxed,
    );
    let _ = PAUSE_WAIT.wait_event_interruptible(|| false);
    Err(crate::errno::Errno::EINTR)
}

/// Sends `sig` to every process in group `pgrp` (Linux: kill_pgrp()).
pub fn kill_pgrp(pgrp: i32, sig: i32) {
    __kill_pgrp_info(sig, pgrp, &crate::fork::TASKLIST_LOCK.lock());
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

/// Sends `sig` to one thread; `tgid` 0 accepts any process.
///
/// Linux: do_tkill() / do_send_specific() in kernel/signal.c
fn do_tkill(tgid: i32, tid: i32, sig: i32) -> crate::syscall::SysResult {
    use crate::errno::Errno;
    let t = crate::pid::find_task_by_vpid(tid)
        .filter(|t| tgid == 0 || t.tgid() == tgid)
        .ok_or(Errno::ESRCH)?;
    if !valid_signal(sig) {
        return Err(Errno::EINVAL);
    }
    if sig != 0 && t.exit_state() == 0 {
        send_sig(sig, &t);
    }
    Ok(0)
}

mod tests {
    use super::*;
    use crate::arch::entry::calling::{PtRegs, SYSCALL_VECTOR};
    use crate::{kassert_eq, ktest};

    fn interrupted_fork(vector: u64) -> PtRegs {
        PtRegs {
            vector,
            orig_rax: 57,
            rax: (-(crate::errno::Errno::ERESTARTNOINTR.0 as i64)) as u64,
            rip: 0x40_1002,
            ..Default::default()
        }
    }

    ktest! {
        fn erestartnointr_from_a_syscall_rewinds_to_the_syscall_instruction() {
            let mut regs = interrupted_fork(SYSCALL_VECTOR);
            restart_interrupted_syscall(&mut regs);
            kassert_eq!((regs.rip, regs.rax), (0x40_1000, 57));
            restart_interrupted_syscall(&mut regs);
            kassert_eq!((regs.rip, regs.rax), (0x40_1000, 57), "a second pass changes nothing");
        }
    }

    ktest! {
        fn the_same_rax_after_an_interrupt_is_no_restart_request() {
            let mut regs = interrupted_fork(32);
            let before = (regs.rip, regs.rax);
            restart_interrupted_syscall(&mut regs);
            kassert_eq!((regs.rip, regs.rax), before);
        }
    }
}
