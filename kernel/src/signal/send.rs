//! Sending signals: queueing one for a task or a whole process and waking
//! the receiver. The kill family's walks over the task list are in
//! `kill.rs`, the parent's SIGCHLD when a child dies in `notify.rs`.
//!
//! Linux: the sending half of kernel/signal.c (send_signal_locked,
//! complete_signal, group_send_sig_info)

use super::*;
use crate::tasklist::{TASKLIST_LOCK, TaskList, for_each_thread};
use alloc::sync::Arc;

/// Whether `t` would just drop `sig`: ignored signals are never queued.
/// An init (SIGNAL_UNKILLABLE) drops the signals it has no handler for,
/// except SIGKILL and SIGSTOP sent from an ancestor pid namespace.
///
/// Linux: sig_task_ignored() in kernel/signal.c
fn sig_task_ignored(t: &TaskStruct, sig: i32) -> bool {
    // Blocked signals are never ignored: the handler may change before
    // they are unblocked, or sigtimedwait may take them (real_blocked).
    let blocked = t.blocked.load(Ordering::Relaxed) | t.real_blocked.load(Ordering::Relaxed);
    if blocked & sigmask(sig) != 0 {
        return false;
    }
    // A tracer sees even ignored signals (Linux: sig_ignored()).
    if t.ptrace.is_traced() && sig != SIGKILL {
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
    let force = unkillable && (sig == SIGKILL || sig == SIGSTOP) && sent_from_ancestor_ns(t);
    handler == SIG_IGN || (handler == SIG_DFL && (sig == SIGCHLD || unkillable && !force))
}

/// Whether the sender (the current task) cannot see `t`'s pid namespace
/// from inside it: it sits in an ancestor namespace, or is the kernel.
/// Never for the root namespace, whose init nothing kills.
///
/// Linux: the `force` argument that __send_signal_locked() computes, and
/// the is_global_init() test of sig_task_ignored()
fn sent_from_ancestor_ns(t: &TaskStruct) -> bool {
    if crate::pid::task_active_pid_ns(t).level == 0 {
        return false;
    }
    crate::arch::percpu::with_current(|c| {
        c.is_none_or(|c| {
            c.is_kthread() || crate::pid::task_pid_nr_ns(c, &crate::pid::task_active_pid_ns(t)) == 0
        })
    })
}

/// The sender's process id as `t` sees it; 0 from the kernel or from
/// outside `t`'s namespace (Linux: task_tgid_nr_ns(current, ...)).
pub(super) fn sender_tgid_nr_ns(t: &TaskStruct) -> i32 {
    let ns = crate::pid::task_active_pid_ns(t);
    crate::arch::percpu::with_current(|c| c.map_or(0, |c| crate::pid::task_tgid_nr_ns(c, &ns)))
}

/// The real uid of the sending task, for si_uid; 0 from the kernel.
///
/// Linux: the si_uid of prepare_kill_siginfo() in kernel/signal.c
/// Differs: no user namespaces, so no mapping.
pub(super) fn sender_uid() -> u32 {
    crate::arch::percpu::with_current(|c| {
        c.filter(|c| !c.is_kthread())
            .map_or(0, |c| crate::cred::task_cred(c).uid)
    })
}

/// Where a signal sent without a siginfo of its own comes from.
///
/// Linux: SEND_SIG_NOINFO and SEND_SIG_PRIV in include/linux/sched/signal.h
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SendSig {
    /// From the current task, as kill(2): SI_USER, its pid and real uid.
    NoInfo,
    /// From the kernel itself: SI_KERNEL, no pid, no uid.
    Priv,
}

impl SendSig {
    /// The siginfo `t` receives.
    ///
    /// Linux: the SEND_SIG_NOINFO and SEND_SIG_PRIV cases of
    /// __send_signal_locked() in kernel/signal.c
    pub fn info_for(self, t: &TaskStruct) -> KernelSiginfo {
        match self {
            SendSig::NoInfo => KernelSiginfo {
                code: SI_USER,
                pid: sender_tgid_nr_ns(t),
                uid: sender_uid(),
                ..Default::default()
            },
            SendSig::Priv => KernelSiginfo {
                code: SI_KERNEL,
                ..Default::default()
            },
        }
    }
}

/// Which pending set a signal goes to: the thread's own or its process's
/// (Linux: `enum pid_type`'s PIDTYPE_PID and PIDTYPE_TGID).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PidType {
    /// One thread (tkill, rt_tgsigqueueinfo, faults, SIGEV_THREAD_ID).
    Pid,
    /// The whole process (kill, sigqueue, SIGEV_SIGNAL timers).
    Tgid,
}

/// Queues `sig` for `t` (`PidType::Pid`) or for its process, with its
/// siginfo when a queue entry can be had, and wakes a thread to take it.
/// A standard signal already pending is dropped (legacy_queue). Past
/// RLIMIT_SIGPENDING a standard signal sent by kill() or the kernel is
/// still queued (override_rlimit); any other loses its siginfo, except a
/// real-time one sent with a value (sigqueue), which fails. `tasklist` is
/// the caller's guard, if it holds the tasklist lock.
///
/// Linux: __send_signal_locked() in kernel/signal.c
///
/// # Errors
/// `EAGAIN`: a real-time signal with si_code other than SI_USER found no
/// room in the queue.
pub fn send_signal_locked(
    sig: i32,
    info: KernelSiginfo,
    t: &Arc<TaskStruct>,
    type_: PidType,
    tasklist: Option<&TaskList>,
) -> Result<(), crate::errno::Errno> {
    queue_then_continue(sig, t, tasklist, |tasklist| {
        queue_signal(sig, info, t, type_, tasklist)
    })
}

/// Runs `queue` (prepare and queue `sig` for `t`); for SIGCONT, then wakes
/// the stopped threads, prepare, queue and wake-up under one hold of the
/// tasklist lock, so that no other stop or continue comes between.
fn queue_then_continue<R>(
    sig: i32,
    t: &TaskStruct,
    tasklist: Option<&TaskList>,
    queue: impl FnOnce(Option<&TaskList>) -> R,
) -> R {
    if sig != SIGCONT {
        return queue(tasklist);
    }
    let continue_locked = |tasklist: &TaskList| {
        let queued = queue(Some(tasklist));
        super::jobctl::wake_up_continued(t, tasklist);
        queued
    };
    match tasklist {
        Some(tasklist) => continue_locked(tasklist),
        None => continue_locked(&TASKLIST_LOCK.lock()),
    }
}

/// send_signal_locked's work but SIGCONT's wake-up: prepare, then queue.
fn queue_signal(
    sig: i32,
    info: KernelSiginfo,
    t: &Arc<TaskStruct>,
    type_: PidType,
    tasklist: Option<&TaskList>,
) -> Result<(), crate::errno::Errno> {
    super::jobctl::prepare_signal(sig, t, tasklist);
    if sig_task_ignored(t, sig) {
        return Ok(());
    }
    let pending = match type_ {
        PidType::Pid => &t.pending,
        PidType::Tgid => &t.signal().shared_pending,
    };
    // Linux: legacy_queue(); checked again under the queue's lock.
    if sig < SIGRTMIN && pending.contains(sig) {
        return Ok(());
    }
    let q = if sig == SIGKILL || t.is_kthread() {
        None
    } else {
        let override_rlimit = sig < SIGRTMIN && info.code >= 0;
        let q = __sigqueue_alloc(t, override_rlimit);
        if q.is_none() && sig >= SIGRTMIN && info.code != SI_USER {
            return Err(crate::errno::Errno::EAGAIN);
        }
        q.map(|mut q| {
            q.info = KernelSiginfo { signo: sig, ..info };
            q
        })
    };
    if pending.queue(sig, q) {
        signalfd_notify(t);
        complete_signal(sig, t, type_, tasklist);
    }
    Ok(())
}

/// Queues a POSIX timer's preallocated signal for `t` or its process and
/// wakes a thread to take it; gives the entry back when the signal is
/// ignored, so the caller (the timer) keeps it.
///
/// Linux: posixtimer_send_sigqueue() in kernel/signal.c
pub fn send_sigqueue(
    q: alloc::boxed::Box<Sigqueue>,
    t: &Arc<TaskStruct>,
    type_: PidType,
) -> Result<(), alloc::boxed::Box<Sigqueue>> {
    let sig = q.info.signo;
    queue_then_continue(sig, t, None, |tasklist| {
        queue_sigqueue(q, t, type_, tasklist)
    })
}

/// send_sigqueue's work but SIGCONT's wake-up: prepare, then queue.
fn queue_sigqueue(
    q: alloc::boxed::Box<Sigqueue>,
    t: &Arc<TaskStruct>,
    type_: PidType,
    tasklist: Option<&TaskList>,
) -> Result<(), alloc::boxed::Box<Sigqueue>> {
    let sig = q.info.signo;
    super::jobctl::prepare_signal(sig, t, tasklist);
    if sig_task_ignored(t, sig) || t.exit_state() != 0 && type_ == PidType::Pid {
        return Err(q);
    }
    let pending = match type_ {
        PidType::Pid => &t.pending,
        PidType::Tgid => &t.signal().shared_pending,
    };
    pending.queue_prealloc(sig, q);
    signalfd_notify(t);
    complete_signal(sig, t, type_, tasklist);
    Ok(())
}

/// Whether `p` can take `sig` now: it does not block it, is not exiting,
/// and is not stopped (a stopped process takes signals other than SIGKILL
/// once SIGCONT resumes it).
///
/// Linux: wants_signal() in kernel/signal.c
fn wants_signal(sig: i32, p: &TaskStruct) -> bool {
    if sig == SIGKILL {
        return true;
    }
    p.blocked.load(Ordering::Relaxed) & sigmask(sig) == 0
        && p.flags.load(Ordering::Relaxed) & crate::task::PF_EXITING == 0
        && p.state() & crate::task::__TASK_STOPPED == 0
}

/// Wakes a thread to take the new signal: `t` itself, or for a process
/// signal that `t` cannot take now, another thread of its process that can.
///
/// Linux: complete_signal() in kernel/signal.c
/// Differs: no fatal-signal fan-out here; the thread that takes a fatal
/// signal starts the group exit in get_signal(), which kills the others.
fn complete_signal(sig: i32, t: &Arc<TaskStruct>, type_: PidType, tasklist: Option<&TaskList>) {
    if type_ == PidType::Pid || wants_signal(sig, t) {
        signal_wake_up(t, sig == SIGKILL);
        return;
    }
    let wake = |tasklist: &TaskList| {
        if let Some(x) = for_each_thread(t, tasklist).find(|x| wants_signal(sig, x)) {
            signal_wake_up(x, false);
        }
    };
    match tasklist {
        Some(tasklist) => wake(tasklist),
        None => wake(&TASKLIST_LOCK.lock()),
    }
}

/// Whether the default action of `sig` dumps core (and then kills).
///
/// Linux: sig_kernel_coredump() in include/linux/signal.h
pub fn sig_kernel_coredump(sig: i32) -> bool {
    matches!(
        sig,
        SIGQUIT
            | SIGILL
            | SIGTRAP
            | SIGABRT
            | SIGBUS
            | SIGFPE
            | SIGSEGV
            | SIGXCPU
            | SIGXFSZ
            | SIGSYS
    )
}

/// Queues SIGKILL for every other live thread of `p`'s process and wakes
/// each one. The walk and the sending happen under one hold of the
/// tasklist lock, the lock copy_process links a new thread under after its
/// fork_signal_check(): a clone either finished before (its thread is in
/// the list and is killed here) or comes after (its caller has SIGKILL
/// pending and the clone fails). A list copied first and signalled after
/// the lock is dropped lets a thread created in between escape the kill,
/// and whoever waits for the group to die (exec's de_thread) waits for it
/// forever.
///
/// Linux: zap_other_threads() in kernel/signal.c
/// Differs: Linux serialises with copy_process on sighand->siglock, and
/// takes it for a process of one thread too.
pub fn zap_other_threads(p: &Arc<TaskStruct>) {
    // The caller is `p` (exit_group, exec, a core dump): alone, it has no
    // thread to kill and none can be joining, so the lock is not needed.
    if p.signal().nr_threads.load(Ordering::Relaxed) == 1 {
        return;
    }
    let tasklist = TASKLIST_LOCK.lock();
    for t in for_each_thread(p, &tasklist).filter(|t| !Arc::ptr_eq(t, p) && t.exit_state() == 0) {
        let _ = send_signal_locked(
            SIGKILL,
            KernelSiginfo::default(),
            t,
            PidType::Pid,
            Some(&tasklist),
        );
    }
}

/// Queues `sig` for thread `t` and wakes it if it sleeps interruptibly;
/// a full queue loses the siginfo or, for sigqueue's real-time signals,
/// the signal. A number that is no signal is dropped: a syscall stop
/// ended by SIGKILL, not by its tracer, still holds its own stop code
/// (SIGTRAP | 0x80), which ptrace_report_syscall passes on.
///
/// Linux: send_sig_info() in kernel/signal.c
pub fn send_sig_info(sig: i32, info: KernelSiginfo, t: &Arc<TaskStruct>) {
    if !valid_signal(sig) {
        return;
    }
    let _ = send_signal_locked(sig, info, t, PidType::Pid, None);
}

/// Queues `sig` for thread `t` (`PidType::Pid`) or its whole process.
///
/// Linux: do_send_sig_info() in kernel/signal.c
///
/// # Errors
/// As [`send_signal_locked`].
pub fn do_send_sig_info(
    sig: i32,
    info: KernelSiginfo,
    t: &Arc<TaskStruct>,
    type_: PidType,
) -> Result<(), crate::errno::Errno> {
    send_signal_locked(sig, info, t, type_, None)
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
    send_sig_info(sig, SendSig::NoInfo.info_for(t), t);
}

/// Makes `t` notice a new signal. TASK_INTERRUPTIBLE sleepers wake, and
/// for SIGKILL TASK_KILLABLE ones too; TASK_UNINTERRUPTIBLE ones keep
/// sleeping until their condition.
///
/// Linux: signal_wake_up() in include/linux/sched/signal.h
fn signal_wake_up(t: &Arc<TaskStruct>, fatal: bool) {
    let wakekill = if fatal { crate::task::TASK_WAKEKILL } else { 0 };
    signal_wake_up_state(t, wakekill);
}

/// Wakes `t` from an interruptible sleep or one of `state`; a `t` that is
/// running on another CPU is kicked into the kernel instead, so that it
/// looks at its signals before it runs any more of its program.
///
/// Linux: signal_wake_up_state() in kernel/signal.c
pub(crate) fn signal_wake_up_state(t: &Arc<TaskStruct>, state: u32) {
    if !crate::sched::core::try_to_wake_up(t, TASK_INTERRUPTIBLE | state) {
        crate::sched::core::kick_process(t);
    }
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
    let q = __sigqueue_alloc(&t, true).map(|mut q| {
        q.info = KernelSiginfo {
            signo: sig,
            code,
            addr,
            ..Default::default()
        };
        q
    });
    t.pending.queue(sig, q);
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

/// Sends `sig` from the current task to `t`'s process (SI_USER).
///
/// Linux: group_send_sig_info() with SEND_SIG_NOINFO in kernel/signal.c
pub fn group_send_sig(sig: i32, t: &Arc<TaskStruct>) {
    group_send_sig_locked(sig, SendSig::NoInfo, t, &TASKLIST_LOCK.lock());
}

/// group_send_sig for a caller that holds the tasklist lock, from `from`:
/// SIGKILL goes to every thread, any other signal to the process's shared
/// pending set.
pub fn group_send_sig_locked(sig: i32, from: SendSig, t: &Arc<TaskStruct>, tasklist: &TaskList) {
    match sig {
        SIGKILL => {
            for_each_thread(t, tasklist).for_each(|x| send_sig_info(sig, from.info_for(x), x))
        }
        _ => {
            let info = from.info_for(t);
            let _ = send_signal_locked(sig, info, t, PidType::Tgid, Some(tasklist));
        }
    }
}

/// Sends `sig` (0: only check) with `info` to `t`'s process, if the
/// sender may.
///
/// Linux: group_send_sig_info() in kernel/signal.c
///
/// # Errors
/// As [`check_kill_permission`] and [`send_signal_locked`].
pub fn group_send_sig_info(
    sig: i32,
    info: KernelSiginfo,
    t: &Arc<TaskStruct>,
) -> Result<(), crate::errno::Errno> {
    check_kill_permission(sig, &info, t)?;
    if sig == 0 {
        return Ok(());
    }
    do_send_sig_info(sig, info, t, PidType::Tgid)
}
