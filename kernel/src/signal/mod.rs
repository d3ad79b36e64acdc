//! Signals: the numbers and dispositions, the per-process and per-thread
//! state, and what asks whether a signal is pending. `send.rs` queues
//! signals, `kill.rs` holds the kill family, `notify.rs` the parent's
//! SIGCHLD (a child died, stopped, continued or trapped), `deliver.rs`
//! acts on them on the way back to user space,
//! `syscalls.rs` holds the system calls.
//!
//! Linux: kernel/signal.c, include/linux/sched/signal.h, include/linux/signal.h
//! Job control (group stop, SIGCONT) is in `jobctl.rs`.

mod altstack;
mod deliver;
mod jobctl;
mod kill;
mod notify;
mod permission;
mod pidfd;
mod rt;
mod send;
mod sigqueue;
mod syscalls;
#[cfg(feature = "ktest")]
mod tests;

pub use altstack::{restore_altstack, sigsp, sys_sigaltstack};
pub use deliver::{arch_do_signal_or_restart, dequeue_signal};
pub use jobctl::{
    CLD_CONTINUED, CLD_STOPPED, GroupStop, JOBCTL_LISTENING, JOBCTL_PENDING_MASK,
    JOBCTL_STOP_CONSUME, JOBCTL_STOP_DEQUEUED, JOBCTL_STOP_PENDING, JOBCTL_STOP_SIGMASK,
    JOBCTL_TRAP_MASK, JOBCTL_TRAP_NOTIFY, JOBCTL_TRAP_STOP, JOBCTL_TRAPPING, JOBCTL_TRAPPING_WAIT,
    SA_NOCLDSTOP, SIGNAL_CLD_CONTINUED, SIGNAL_CLD_MASK, SIGNAL_CLD_STOPPED, SIGNAL_STOP_CONTINUED,
    SIGNAL_STOP_STOPPED, ptrace_signal_wake_up, sig_kernel_stop, take_continued, take_stopped_code,
    task_clear_jobctl_pending, task_clear_jobctl_trapping, task_join_group_stop,
    task_participate_group_stop, task_set_jobctl_pending,
};
pub use kill::{kill_pgrp, kill_pgrp_locked};
pub use notify::{__wake_up_parent, do_notify_parent, do_notify_parent_cldstop};
pub use permission::{check_kill_permission, si_fromuser};
pub use pidfd::sys_pidfd_send_signal;
pub use rt::{sys_rt_sigpending, sys_rt_sigqueueinfo, sys_rt_sigtimedwait, sys_rt_tgsigqueueinfo};
pub use send::{
    PidType, SendSig, do_send_sig_info, force_sig, force_sig_fault, force_sigsegv, group_send_sig,
    group_send_sig_info, group_send_sig_locked, send_sig, send_sig_info, send_signal_locked,
    send_sigqueue, sig_kernel_coredump, zap_other_threads,
};
pub use sigqueue::{
    __sigqueue_alloc, SIGRTMIN, SIGSYS, SigPending, Sigqueue, flush_sigqueue, flush_sigqueue_mask,
    task_pending_signals,
};
pub use syscalls::{
    allow_signal, flush_signal_handlers, ignore_signals, restore_saved_sigmask,
    set_current_blocked, set_restore_sigmask, sys_kill, sys_pause, sys_rt_sigaction,
    sys_rt_sigprocmask, sys_rt_sigsuspend, sys_tgkill, sys_tkill,
};

use crate::arch::sync::{LockedBy, SpinLock};
use crate::sched::wait::WaitQueueHead;
use crate::task::{TASK_INTERRUPTIBLE, TaskStruct};
use crate::tasklist::{TaskList, ThreadHead};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

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
/// Stop from the terminal (Ctrl-Z).
pub const SIGTSTP: i32 = 20;
/// A background process read from its terminal.
pub const SIGTTIN: i32 = 21;
/// A background process wrote to its terminal under TOSTOP.
pub const SIGTTOU: i32 = 22;
/// Urgent condition on a socket.
pub const SIGURG: i32 = 23;
/// CPU time limit (RLIMIT_CPU) exceeded.
pub const SIGXCPU: i32 = 24;
/// File size limit (RLIMIT_FSIZE) exceeded.
pub const SIGXFSZ: i32 = 25;
/// ITIMER_VIRTUAL expired.
pub const SIGVTALRM: i32 = 26;
/// ITIMER_PROF expired.
pub const SIGPROF: i32 = 27;
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
    /// Where signalfd readers of these threads sleep; woken when a signal
    /// is queued for one of them (Linux: signalfd_wqh).
    pub signalfd_wqh: WaitQueueHead,
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
            signalfd_wqh: WaitQueueHead::new(),
        }
    }

    /// A new table with `old`'s dispositions, copied under `old`'s lock
    /// only: the new one is not visible yet, so two such locks are never
    /// held at once.
    ///
    /// Linux: the copy that copy_sighand() in kernel/fork.c and
    /// unshare_sighand() in fs/exec.c make
    /// Differs: the table goes through the stack first (two 2 KiB copies).
    ///
    /// # Errors
    /// `ENOMEM`.
    pub fn try_copy(old: &SighandStruct) -> Result<alloc::sync::Arc<Self>, crate::errno::Errno> {
        crate::mm::heap::try_arc_with(|| SighandStruct {
            action: SpinLock::new(*old.action.lock()),
            signalfd_wqh: WaitQueueHead::new(),
        })
    }

    /// The disposition of `sig`.
    pub fn get(&self, sig: i32) -> KSigaction {
        self.action.lock()[sig as usize - 1]
    }
}

/// `t`'s action for `sig` (handler, flags, mask); the default, SIG_DFL,
/// once `t` has let go of its handler table at exit.
///
/// Linux: `t->sighand->action[sig - 1]`
pub fn task_sigaction(t: &TaskStruct, sig: i32) -> KSigaction {
    t.sighand
        .lock()
        .as_ref()
        .map(|sh| sh.get(sig))
        .unwrap_or_default()
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
    /// Lock: none (atomic flags); find_new_reaper reads them under the tasklist lock.
    pub is_child_subreaper: AtomicBool,
    /// Some ancestor is a subreaper, so find_new_reaper must look for it.
    pub has_child_subreaper: AtomicBool,
    /// This is init: fatal signals it does not handle are dropped
    /// (Linux: SIGNAL_UNKILLABLE in signal->flags).
    pub unkillable: AtomicBool,
    /// Resource limits (Linux: rlim).
    pub rlim: SpinLock<crate::resource::Rlimits>,
    /// exit_group() is under way (Linux: SIGNAL_GROUP_EXIT).
    /// Lock: none; the first `swap(true)` wins (Linux: under siglock).
    pub group_exit: AtomicBool,
    /// The status every thread exits with during a group exit.
    pub group_exit_code: core::sync::atomic::AtomicI32,
    /// A thread is exec'ing and killing the others (Linux: group_exec_task):
    /// they die alone, without starting a group exit.
    pub group_exec: AtomicBool,
    /// The process's pid, its leader's (Linux: `pids[PIDTYPE_TGID]`).
    pub tgid_pid: spin::Once<Arc<crate::pid::Pid>>,
    /// Process group id (Linux: the PIDTYPE_PGID pid of the signal struct).
    /// Lock: written under the tasklist lock (setpgid, setsid), read without.
    pub pgrp: core::sync::atomic::AtomicI32,
    /// Session id (Linux: PIDTYPE_SID).
    /// Lock: written under the tasklist lock (setsid), read without.
    pub session: core::sync::atomic::AtomicI32,
    /// Counts of the threads that have exited, and the largest resident
    /// set of mms left behind (Linux: utime, stime, nvcsw, nivcsw, min_flt,
    /// maj_flt, maxrss).
    pub dead: SpinLock<crate::rusage::Rusage>,
    /// Counts of reaped children and their reaped descendants (Linux:
    /// cutime, cstime, cnvcsw, cnivcsw, cmin_flt, cmaj_flt, cmaxrss).
    pub children: SpinLock<crate::rusage::Rusage>,
    /// CPU time of the whole process and its CPU-time timers
    /// (Linux: cputimer, it[CPUCLOCK_PROF/VIRT]).
    pub cputimer: crate::posix_cpu_timers::ThreadGroupCputimer,
    /// The process's utime and stime last reported (Linux: prev_cputime).
    pub prev_cputime: crate::sched::cputime::PrevCputime,
    /// Added to the OOM badness, -1000..=1000; -1000 exempts the process
    /// (Linux: oom_score_adj). Inherited by fork, kept by exec.
    pub oom_score_adj: core::sync::atomic::AtomicI16,
    /// When the OOM killer chose this process, in ns since boot; 0 if it
    /// never did. Differs: Linux keeps the victim's mm (oom_mm); we keep
    /// the time, so the killer stops waiting for a victim that cannot exit.
    pub oom_victim_since: AtomicU64,
    /// The ITIMER_REAL timer, made on the first setitimer/alarm; not
    /// inherited by fork, kept across execve (Linux: real_timer, under
    /// siglock; here under its own lock).
    pub real_timer: SpinLock<Option<Arc<crate::time::hrtimer::HrTimer>>>,
    /// ITIMER_REAL's interval in ns, 0 for a one-shot (Linux: it_real_incr).
    pub it_real_incr: AtomicU64,
    /// Signals sent to the process as a whole; any thread that does not
    /// block one may take it (Linux: shared_pending).
    pub shared_pending: SigPending,
    /// The process's POSIX timers by id (Linux: posix_timers, a list, and
    /// the global posix_timers_hashtable).
    pub posix_timers: SpinLock<crate::time::posix_timers::PosixTimers>,
    /// Where pollers of a pidfd for this process sleep until it exits.
    /// Differs: Linux keeps the queue in `struct pid` (wait_pidfd).
    pub wait_pidfd: WaitQueueHead,
    /// Where a thread in execve sleeps until the other threads are gone.
    /// Differs: Linux records the thread (group_exec_task) and wakes it
    /// with wake_up_process().
    pub group_exec_wait: WaitQueueHead,
    /// The group stop under way (Linux: sighand->siglock, which guards it,
    /// `flags` and every thread's `jobctl`; see `jobctl.rs`).
    pub siglock: SpinLock<GroupStop>,
    /// SIGNAL_STOP_STOPPED, SIGNAL_STOP_CONTINUED, SIGNAL_CLD_* (Linux:
    /// the job-control bits of signal->flags).
    /// Lock: written under `siglock`; read without it.
    pub flags: core::sync::atomic::AtomicU32,
    /// The core dump under way, which the exiting threads check in with
    /// (Linux: core_state, under siglock; here under its own lock).
    pub core_state: SpinLock<Option<Arc<crate::fs::coredump::CoreState>>>,
    /// Threads that have not begun to exit: a new thread counts in, and
    /// each one counts itself out in do_exit; the one that brings it to 0
    /// is the last, and ends the process (Linux: live).
    /// Lock: none (atomic); a thread counts in under the tasklist lock.
    pub live: ThreadCount,
    /// Threads not yet released, zombies included: a new thread counts in,
    /// release_task counts it out (Linux: nr_threads, get_nr_threads()).
    /// Lock: written under the tasklist lock; read without it.
    pub nr_threads: ThreadCount,
    /// The threads not yet released, the leader first: copy_process links
    /// a thread, release_task unlinks it; walked with
    /// [`for_each_thread`](crate::tasklist::for_each_thread) (Linux:
    /// thread_head, and each task's thread_node).
    /// Lock: the tasklist lock.
    pub thread_head: LockedBy<ThreadHead, TaskList>,
}

/// A count of a process's threads, 1 for the thread a new process starts
/// with (Linux: copy_signal() sets `live` and `nr_threads` to 1).
pub struct ThreadCount(AtomicU32);

impl Default for ThreadCount {
    fn default() -> Self {
        ThreadCount(AtomicU32::new(1))
    }
}

impl core::ops::Deref for ThreadCount {
    type Target = AtomicU32;
    fn deref(&self) -> &AtomicU32 {
        &self.0
    }
}

/// Sent by kill() or another task (Linux: SI_USER).
pub const SI_USER: i32 = 0;
/// Sent by sigqueue(3) / rt_sigqueueinfo(2).
pub const SI_QUEUE: i32 = -1;
/// Sent by a POSIX timer's expiry (Linux: SI_TIMER).
pub const SI_TIMER: i32 = -2;
/// Sent by tkill(2) / tgkill(2).
pub const SI_TKILL: i32 = -6;
/// Sent by the kernel, e.g. for a fault (Linux: SI_KERNEL).
pub const SI_KERNEL: i32 = 0x80;
/// SIGBUS for a misaligned access (Linux: BUS_ADRALN).
pub const BUS_ADRALN: i32 = 1;
/// SIGBUS for an address with no backing, e.g. past a file's end (Linux: BUS_ADRERR).
pub const BUS_ADRERR: i32 = 2;
/// SIGSEGV for an address no mapping covers (Linux: SEGV_MAPERR).
pub const SEGV_MAPERR: i32 = 1;
/// SIGSEGV for an access its mapping forbids (Linux: SEGV_ACCERR).
pub const SEGV_ACCERR: i32 = 2;
/// A child exited (Linux: CLD_EXITED).
pub const CLD_EXITED: i32 = 1;
/// A child was killed by a signal (Linux: CLD_KILLED).
pub const CLD_KILLED: i32 = 2;
/// A child was killed by a signal and dumped core (Linux: CLD_DUMPED).
pub const CLD_DUMPED: i32 = 3;
/// A traced child stopped for its tracer (Linux: CLD_TRAPPED).
pub const CLD_TRAPPED: i32 = 4;

/// How a child's wait status reads in a siginfo: `CLD_EXITED` and the exit
/// code for `exit(n)` (status `n << 8`), `CLD_KILLED` (`CLD_DUMPED` with
/// the 0x80 core bit) and the signal for a kill (status = the signal
/// number), `CLD_STOPPED` and the signal for a stop (`sig << 8 | 0x7f`),
/// `CLD_CONTINUED` and SIGCONT for a continue (0xffff). The one place the
/// status is decoded (user space's WIFEXITED, WIFSIGNALED, WCOREDUMP,
/// WIFSTOPPED, WIFCONTINUED).
///
/// Linux: the si_code/si_status choice of do_notify_parent() in
/// kernel/signal.c, and of wait_task_zombie(), wait_task_stopped() and
/// wait_task_continued() in kernel/exit.c for waitid
pub fn cld_code_and_status(wait_status: i32) -> (i32, i32) {
    if wait_status == 0xffff {
        (CLD_CONTINUED, SIGCONT)
    } else if wait_status & 0xff == 0x7f {
        (CLD_STOPPED, (wait_status >> 8) & 0xff)
    } else if wait_status & 0x7f == 0 {
        (CLD_EXITED, (wait_status >> 8) & 0xff)
    } else if wait_status & 0x80 != 0 {
        (CLD_DUMPED, wait_status & 0x7f)
    } else {
        (CLD_KILLED, wait_status & 0x7f)
    }
}

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
    /// SI_QUEUE and the other user-sent codes below 0: the sender's
    /// `sigval` (si_value, where SIGCHLD has si_status).
    pub value: u64,
    /// SI_TIMER: the timer's id (Linux: si_tid, "si_timerid" in glibc).
    pub timerid: i32,
    /// SI_TIMER: expiries missed before this one was taken (Linux: si_overrun).
    pub overrun: i32,
    /// SIGCHLD: the child's user CPU time, in clock ticks.
    pub utime: u64,
    /// SIGCHLD: the child's system CPU time, in clock ticks.
    pub stime: u64,
}

impl KernelSiginfo {
    /// The 128-byte `siginfo_t` as x86_64 user space lays it out.
    pub fn to_user(&self) -> [u64; 16] {
        let mut words = [0u64; 16];
        words[0] = self.signo as u32 as u64;
        words[1] = self.code as u32 as u64;
        words[2] = if self.code == SI_TIMER {
            self.timerid as u32 as u64 | (u64::from(self.overrun as u32) << 32)
        } else if self.addr != 0 {
            self.addr
        } else {
            self.pid as u32 as u64 | (u64::from(self.uid) << 32)
        };
        words[3] = if self.code < 0 {
            self.value
        } else {
            self.status as u32 as u64
        };
        words[4] = self.utime;
        words[5] = self.stime;
        words
    }
}

impl KernelSiginfo {
    /// Reads back a `siginfo_t` in the layout of [`KernelSiginfo::to_user`]
    /// (PTRACE_SETSIGINFO): a fault signal's address, else the sender.
    pub fn from_user(words: &[u64; 16]) -> KernelSiginfo {
        let signo = words[0] as i32;
        let code = words[1] as i32;
        let fault = code > 0 && matches!(signo, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP);
        KernelSiginfo {
            signo,
            code,
            pid: if fault { 0 } else { words[2] as i32 },
            uid: if fault { 0 } else { (words[2] >> 32) as u32 },
            addr: if fault { words[2] } else { 0 },
            status: words[3] as i32,
            value: if code < 0 { words[3] } else { 0 },
            utime: words[4],
            stime: words[5],
            ..Default::default()
        }
    }
}

pub(crate) fn sigmask(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// Whether an unblocked signal is pending for `p` (Linux: signal_pending()).
/// Differs: computed from both pending sets, where Linux keeps the
/// TIF_SIGPENDING flag that complete_signal() and recalc_sigpending() set.
/// A group stop to join, a ptrace trap to take, or a stop/continue to
/// report, counts too.
pub fn signal_pending(p: &TaskStruct) -> bool {
    let shared = p.signal.get().map_or(0, |s| s.shared_pending.signal());
    (p.pending.signal() | shared) & !blocked_mask(p) != 0 || jobctl::jobctl_pending(p)
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

/// Whether the default action of `sig` is to do nothing.
///
/// Linux: sig_kernel_ignore() in include/linux/signal.h
pub fn sig_kernel_ignore(sig: i32) -> bool {
    matches!(sig, SIGCHLD | SIGCONT | SIGURG | SIGWINCH)
}

/// Restart a system call the handler interrupted, where it can be
/// (Linux: SA_RESTART).
pub const SA_RESTART: u64 = 0x1000_0000;
/// Do not block the signal while its handler runs (Linux: SA_NODEFER).
pub const SA_NODEFER: u64 = 0x4000_0000;
/// Reset to SIG_DFL once delivered (Linux: SA_RESETHAND).
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// Whether `sig` is a signal number or 0, the existence check.
///
/// Linux: valid_signal() in include/linux/signal.h
fn valid_signal(sig: i32) -> bool {
    (0..=_NSIG as i32).contains(&sig)
}
