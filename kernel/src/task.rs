//! The task: Linux's `struct task_struct`, one per thread of execution.
//!
//! Task states (`state`, Linux `__state`) and exit states (`exit_state`):
//!
//! ```text
//!   copy_process          wake_up_new_task         do_exit -> exit_notify
//!  ──────────────> TASK_NEW ───────────> TASK_RUNNING ───────────────> EXIT_ZOMBIE
//!                                        │   ▲                            │ wait4 (release_task)
//!                 prepare_to_wait/       │   │ try_to_wake_up             │ or autoreap
//!                 schedule()             ▼   │                            ▼
//!                  TASK_INTERRUPTIBLE / TASK_UNINTERRUPTIBLE           EXIT_DEAD
//!
//!  do_task_dead(): state = TASK_DEAD, the final schedule() never returns.
//!
//!  do_signal_stop (SIGSTOP...)                 SIGCONT or SIGKILL
//!  TASK_RUNNING ───────────────> TASK_STOPPED ────────────────────> TASK_RUNNING
//!  ptrace_stop (see ptrace/)                   PTRACE_CONT... or SIGKILL
//!  TASK_RUNNING ───────────────> __TASK_TRACED ───────────────────> TASK_RUNNING
//! ```
//!
//! Lock rules: `pid` never changes after `copy_process`; the kernel stack
//! (in `thread`) is freed by the switch away from the dead task.
//! `family` (parent, real_parent, children) is guarded by the tasklist lock,
//! enforced by its `LockedBy` type. Each resource pointer (`mm`, `files`,
//! `fs`, `nsproxy`, `sighand`) has its own lock (Linux: `task_lock()`), and state words
//! are atomics (Linux: `READ_ONCE`/`smp_store_mb`).
//!
//! Linux: include/linux/sched.h
//! Not modelled: cgroups, seccomp, NUMA.

use crate::arch::kernel::process_64::ThreadStruct;
use crate::arch::sync::{LockedBy, SpinLock};
use crate::fs::fdtable::FilesStruct;
use crate::fs::fs_struct::FsStruct;
use crate::mm::fault_inject::FailNth;
use crate::mm::vmalloc::KernelStack;
use crate::pid::{Pid, PidNr};
use crate::sched::completion::Completion;
use crate::sched::{SchedClass, SchedClassId, SchedEntity, SchedRtEntity};
use crate::signal::{SigPending, SighandStruct, SignalStruct};
use crate::tasklist::TaskList;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Runnable or running (Linux: TASK_RUNNING).
pub const TASK_RUNNING: u32 = 0x0000;
/// Sleeping; a signal wakes it (Linux: TASK_INTERRUPTIBLE).
pub const TASK_INTERRUPTIBLE: u32 = 0x0001;
/// Sleeping; only its condition wakes it (Linux: TASK_UNINTERRUPTIBLE).
pub const TASK_UNINTERRUPTIBLE: u32 = 0x0002;
/// Stopped by a job-control signal (Linux: __TASK_STOPPED).
pub const __TASK_STOPPED: u32 = 0x0004;
/// Stopped by a job-control signal; SIGKILL ends the stop (Linux: TASK_STOPPED).
pub const TASK_STOPPED: u32 = TASK_WAKEKILL | __TASK_STOPPED;
/// Stopped by a tracer (Linux: __TASK_TRACED).
pub const __TASK_TRACED: u32 = 0x0008;
/// Added to a sleep that SIGKILL may end (Linux: TASK_WAKEKILL).
pub const TASK_WAKEKILL: u32 = 0x0100;
/// An uninterruptible sleep that SIGKILL ends (Linux: TASK_KILLABLE).
pub const TASK_KILLABLE: u32 = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE;
/// A kernel thread parked by kthread_park() (Linux: TASK_PARKED).
pub const TASK_PARKED: u32 = 0x0040;
/// Exited; its last schedule() is done (Linux: TASK_DEAD).
pub const TASK_DEAD: u32 = 0x0080;
/// Created by copy_process but not yet woken (Linux: TASK_NEW).
pub const TASK_NEW: u32 = 0x0800;
/// Either kind of sleep a plain `wake_up` ends (Linux: TASK_NORMAL).
pub const TASK_NORMAL: u32 = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;

/// Exited, waiting for its parent to collect the status (Linux: EXIT_ZOMBIE).
pub const EXIT_ZOMBIE: u32 = 0x0020;
/// Being released; nobody may wait for it any more (Linux: EXIT_DEAD).
pub const EXIT_DEAD: u32 = 0x0010;
/// Claimed by a tracer that is not its real parent, which is handed the
/// zombie next and waits on meanwhile (Linux: EXIT_TRACE).
pub const EXIT_TRACE: u32 = EXIT_ZOMBIE | EXIT_DEAD;

/// This is the idle task of a CPU (Linux: PF_IDLE).
pub const PF_IDLE: u32 = 0x0000_0002;
/// Getting shut down (Linux: PF_EXITING).
pub const PF_EXITING: u32 = 0x0000_0004;
/// Forked but did not exec (Linux: PF_FORKNOEXEC).
pub const PF_FORKNOEXEC: u32 = 0x0000_0040;
/// A set*uid made the real user pass RLIMIT_NPROC: the next execve fails
/// (Linux: PF_NPROC_EXCEEDED).
pub const PF_NPROC_EXCEEDED: u32 = 0x0000_1000;
/// Used super-user privileges (Linux: PF_SUPERPRIV).
pub const PF_SUPERPRIV: u32 = 0x0000_0100;
/// A kernel thread (Linux: PF_KTHREAD).
pub const PF_KTHREAD: u32 = 0x0020_0000;
/// Its CPU affinity is the kernel's to set: sched_setaffinity refuses it
/// (Linux: PF_NO_SETAFFINITY), as for the per-CPU migration/N threads.
pub const PF_NO_SETAFFINITY: u32 = 0x0400_0000;

/// Bytes in `comm`, including the terminating NUL (Linux: TASK_COMM_LEN).
pub const TASK_COMM_LEN: usize = 16;

/// A task's command name: at most 15 bytes (Linux: `char comm[TASK_COMM_LEN]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Comm([u8; TASK_COMM_LEN]);

impl Comm {
    /// A name given as text; cut at 15 bytes like any other.
    pub fn new(name: &str) -> Comm {
        Comm::from_bytes(name.as_bytes())
    }

    /// Any bytes up to the first NUL, cut at 15: Linux's comm is bytes,
    /// not text.
    ///
    /// Linux: strscpy_pad() in __set_task_comm() in fs/exec.c
    pub fn from_bytes(name: &[u8]) -> Comm {
        let mut comm = [0; TASK_COMM_LEN];
        let len = name
            .iter()
            .take(TASK_COMM_LEN - 1)
            .position(|&b| b == 0)
            .unwrap_or(name.len().min(TASK_COMM_LEN - 1));
        comm[..len].copy_from_slice(&name[..len]);
        Comm(comm)
    }

    /// The name's bytes, without the NUL padding.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(TASK_COMM_LEN);
        &self.0[..len]
    }

    /// The name as text for the kernel's own messages: "?" for a name that
    /// is not UTF-8 (what user space reads is [`Comm::as_bytes`]).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

/// A task's place in the process tree. Guarded by the tasklist lock.
///
/// Differs: Linux links `sibling` into the parent's `children` list; here
/// the parent's `children` vector holds a reference to each child.
#[derive(Default)]
pub struct Family {
    /// Who created us, or the reaper that adopted us (Linux: real_parent).
    pub real_parent: Weak<TaskStruct>,
    /// Who gets SIGCHLD and wait4 results: `real_parent`, or the tracer
    /// while traced (Linux: parent).
    pub parent: Weak<TaskStruct>,
    /// Our children, in creation order (Linux: children/sibling).
    pub children: Vec<Arc<TaskStruct>>,
    /// The tasks this thread traces (Linux: ptraced/ptrace_entry).
    pub ptraced: Vec<Arc<TaskStruct>>,
    /// The thread group leader (Linux: group_leader); `None` means ourselves.
    pub group_leader: Weak<TaskStruct>,
}

/// The closure a kernel thread runs (Linux: `kernel_clone_args.fn`/`fn_arg`).
pub type ThreadFn = Arc<dyn Fn() -> i32 + Send + Sync>;

/// One thread of execution (Linux: `struct task_struct`).
pub struct TaskStruct {
    /// Task state: TASK_RUNNING, TASK_INTERRUPTIBLE, ... (Linux: __state).
    /// Lock: set by the task itself; to TASK_RUNNING under its rq lock (try_to_wake_up).
    #[doc(alias = "__state")]
    pub state: AtomicU32,
    /// PF_* flags.
    /// Lock: none (atomic bits); changed by the task itself, or before it first runs.
    pub flags: AtomicU32,
    /// EXIT_ZOMBIE or EXIT_DEAD once exiting, else 0.
    /// Lock: written under the tasklist lock (exit_notify, reparenting, wait, de_thread).
    pub exit_state: AtomicU32,
    /// Status for wait4, already encoded: `code << 8` or a signal number.
    /// Lock: written by the task itself in do_exit, published by exit_notify under the tasklist lock.
    pub exit_code: AtomicI32,
    /// Signal sent to the parent at exit (SIGCHLD for processes, -1 for threads).
    /// Lock: the tasklist lock (reparenting, de_thread), or copy_process before the task is seen.
    pub exit_signal: AtomicI32,
    /// Scheduler bookkeeping (Linux: `se`, `on_rq`, TIF_NEED_RESCHED).
    pub se: SchedEntity,
    /// The real-time classes' bookkeeping (Linux: `rt`).
    pub rt: SchedRtEntity,
    /// The class the task is in, a [`SchedClassId`] (Linux: sched_class).
    /// Lock: the pi_lock and the run queue lock (task_rq_lock), or sched_fork
    /// before the task is seen; either one keeps it stable.
    pub sched_class: AtomicU8,
    /// SCHED_NORMAL, SCHED_FIFO, ... (Linux: policy). Lock: as `sched_class`.
    pub policy: AtomicU32,
    /// The priority the scheduler uses, 0-139, lower first (Linux: prio).
    /// Lock: as `sched_class`.
    pub prio: AtomicI32,
    /// The priority of the nice value, 100-139 (Linux: static_prio).
    /// Lock: as `sched_class`.
    pub static_prio: AtomicI32,
    /// The priority of the policy and nice or rt_priority, before any
    /// boost (Linux: normal_prio). Lock: as `sched_class`.
    pub normal_prio: AtomicI32,
    /// The real-time priority, 1-99, 0 for fair tasks (Linux: rt_priority).
    /// Lock: as `sched_class`.
    pub rt_priority: AtomicU32,
    /// The task's children start with the default policy: SCHED_NORMAL at
    /// nice 0 for an RT task, a negative nice reset to 0 for a fair one
    /// (Linux: sched_reset_on_fork). Lock: as `sched_class`.
    pub sched_reset_on_fork: core::sync::atomic::AtomicBool,
    /// The CPU whose run queue holds the task, or held it last (Linux:
    /// thread_info.cpu, read with task_cpu()). Changed by set_task_cpu()
    /// only, with the task's pi_lock or its run queue's lock held.
    pub cpu: AtomicU32,
    /// The CPU a wake-up should try first (Linux: wake_cpu).
    pub wake_cpu: AtomicU32,
    /// The CPUs the task may run on, as `CpuMask` bits (Linux: cpus_mask);
    /// written with both the pi_lock and the run queue lock held, so either
    /// one keeps it stable. Inherited at fork.
    pub cpus_mask: AtomicU64,
    /// How many CPUs `cpus_mask` holds (Linux: nr_cpus_allowed).
    pub nr_cpus_allowed: AtomicU32,
    /// Serializes wake-ups of this task and changes of its affinity; taken
    /// before any run queue lock (Linux: pi_lock).
    pub pi_lock: SpinLock<()>,
    pub(crate) pid: AtomicI32,
    /// Thread group id: the pid of the group leader (what getpid returns).
    /// Lock: set once by copy_process before the task is seen.
    pub tgid: AtomicI32,
    /// The task's pid, a number per namespace level; release_task gives
    /// the numbers back (Linux: thread_pid). Swapped only by exec's de_thread.
    pub thread_pid: SpinLock<Option<Arc<Pid>>>,
    /// The pid namespace the task was born in, set once by copy_process;
    /// every pid the task sees is numbered in it. Linux reads it from
    /// thread_pid (task_active_pid_ns()); kept apart here so that the
    /// getpid family reads it without a lock.
    pub pid_ns: spin::Once<Arc<crate::pid_namespace::PidNamespace>>,
    /// Parent, children and group leader, under the tasklist lock.
    pub family: LockedBy<Family, TaskList>,
    /// Executable name (Linux: comm), changed by exec and PR_SET_NAME.
    pub comm: SpinLock<Comm>,
    /// The address space; `None` for kernel threads and after exit_mm
    /// (Linux: mm). Differs: there is no `active_mm`; a task without an mm
    /// runs on the kernel's own page tables (init_mm) instead of borrowing
    /// the previous task's.
    pub mm: crate::mm::task_mm::TaskMm,
    /// Open files (Linux: files). `None` after exit_files.
    pub files: SpinLock<Option<Arc<FilesStruct>>>,
    /// Current directory and umask (Linux: fs). `None` after exit_fs.
    pub fs: SpinLock<Option<Arc<FsStruct>>>,
    /// The namespaces it sees, shared unless a CLONE_NEW* flag asked for
    /// new ones (Linux: nsproxy, under task_lock()). Replaced only by the
    /// task itself (unshare, setns) and by copy_process before it runs;
    /// `None` after exit_task_namespaces.
    pub nsproxy: SpinLock<Option<Arc<crate::nsproxy::Nsproxy>>>,
    /// Signal handlers, shared under CLONE_SIGHAND (Linux: sighand).
    pub sighand: SpinLock<Option<Arc<SighandStruct>>>,
    /// Who the task is: ids and capabilities (Linux: cred, RCU-protected
    /// there); replaced whole by commit_creds, never edited in place.
    pub cred: SpinLock<Option<Arc<crate::cred::Cred>>>,
    /// This task counted against its real user's RLIMIT_NPROC, from
    /// copy_creds to release_task (Linux: the UCOUNT_RLIMIT_NPROC count of
    /// cred->ucounts).
    pub nproc: SpinLock<Option<crate::user::NprocCharge>>,
    /// Per-process state shared by a thread group (Linux: signal); set once
    /// by copy_signal.
    pub signal: spin::Once<Arc<SignalStruct>>,
    /// Signals sent to this thread and not yet handled (Linux: pending).
    pub pending: SigPending,
    /// Traced or not, the options, and what a stopped tracee left for its
    /// tracer (Linux: ptrace, ptrace_message, last_siginfo).
    pub ptrace: crate::ptrace::PtraceState,
    /// Job-control bits: JOBCTL_STOP_PENDING and friends, the stop signal
    /// in the low bits (Linux: jobctl).
    /// Lock: written under `signal.siglock`; read without it.
    pub jobctl: AtomicU64,
    /// The signal this thread gets when the thread that created it exits,
    /// 0 for none (Linux: pdeath_signal; PR_SET_PDEATHSIG). Cleared by fork
    /// and by commit_creds when the ids change.
    pub pdeath_signal: AtomicI32,
    /// Signals this thread has blocked (Linux: blocked).
    /// Lock: none (atomic); written only by the task itself.
    pub blocked: core::sync::atomic::AtomicU64,
    /// The mask `blocked` replaced while rt_sigtimedwait sleeps with its set
    /// unblocked; 0 otherwise (Linux: real_blocked).
    pub real_blocked: core::sync::atomic::AtomicU64,
    /// The alternate signal stack's base (Linux: sas_ss_sp). It and the two
    /// below are written only by the task itself, and by fork before the
    /// child runs.
    pub sas_ss_sp: core::sync::atomic::AtomicU64,
    /// The alternate signal stack's size, 0 for none (Linux: sas_ss_size).
    pub sas_ss_size: core::sync::atomic::AtomicU64,
    /// SS_AUTODISARM when asked for (Linux: sas_ss_flags).
    pub sas_ss_flags: core::sync::atomic::AtomicU32,
    /// The mask to restore after rt_sigsuspend's signal is handled
    /// (Linux: saved_sigmask with TIF_RESTORE_SIGMASK).
    pub saved_sigmask: SpinLock<Option<u64>>,
    /// How restart_syscall(2) continues a call that returned
    /// ERESTART_RESTARTBLOCK (Linux: restart_block).
    pub restart_block: SpinLock<crate::restart_block::RestartBlock>,
    /// The number of the system call the task is in, -1 outside one; what
    /// `/proc/<pid>/wchan` names a sleep by (Linux: orig_ax of the pt_regs
    /// at the top of the task's stack, syscall_get_nr()).
    pub syscall_nr: core::sync::atomic::AtomicI64,
    /// Completed when a vfork child releases its parent's mm; kernel threads
    /// reuse it for kthread_stop (Linux: vfork_done).
    pub vfork_done: SpinLock<Option<Arc<Completion>>>,
    /// The kernel stack and the registers saved while switched out
    /// (Linux: stack, on_cpu and thread).
    pub thread: ThreadStruct,
    /// What a new kernel thread runs, taken once when it first starts.
    pub thread_fn: SpinLock<Option<ThreadFn>>,
    /// kthread bookkeeping for kthread_stop and friends (Linux: worker_private).
    pub worker_private: SpinLock<Option<Arc<crate::kthread::Kthread>>>,
    /// Where to store our tid when we first run (CLONE_CHILD_SETTID).
    /// Lock: none; written by copy_process before the task runs, then by the task.
    pub set_child_tid: core::sync::atomic::AtomicU64,
    /// Word to clear and futex-wake at exit (CLONE_CHILD_CLEARTID,
    /// set_tid_address); how pthread_join learns a thread ended.
    pub clear_child_tid: core::sync::atomic::AtomicU64,
    /// User address of the thread's robust futex list head, walked at exit
    /// (Linux: robust_list; set_robust_list). Starts empty in a new task.
    pub robust_list: AtomicU64,
    /// Fault injection for this task's allocations (Linux: fail_nth).
    pub fail_nth: FailNth,
    /// Boot-relative creation time in ns (Linux: start_time).
    pub start_time: u64,
    /// Time spent in user mode, in ns, charged a tick at a time (Linux: utime).
    /// Lock: none (atomic); charged by the tick on the task's own CPU.
    pub utime: AtomicU64,
    /// Time spent in the kernel, in ns (Linux: stime).
    pub stime: AtomicU64,
    /// The utime and stime last reported, scaled to the run time
    /// (Linux: prev_cputime).
    pub prev_cputime: crate::sched::cputime::PrevCputime,
    /// clock_nanosleep() callers waiting on this thread's CPU clock
    /// (Linux: the timers of posix_cputimers that posix_cpu_nsleep arms).
    pub cpu_nsleepers: crate::posix_cpu_timers::CpuNsleepers,
    /// Switches away because the task went to sleep (Linux: nvcsw).
    pub nvcsw: AtomicU64,
    /// Switches away because it was preempted (Linux: nivcsw).
    pub nivcsw: AtomicU64,
    /// Page faults served without I/O (Linux: min_flt).
    pub min_flt: AtomicU64,
    /// Page faults that needed I/O (Linux: maj_flt); always 0 here, where
    /// every page is in memory.
    pub maj_flt: AtomicU64,
    /// The execution domain and its flags (PER_LINUX = 0 and the
    /// ADDR_NO_RANDOMIZE-style bits), set by personality(2).
    pub personality: AtomicU32,
    /// How late, in ns, the task lets its timers fire so that wake-ups can
    /// be grouped (prctl PR_SET_TIMERSLACK).
    pub timer_slack_ns: AtomicU64,
    /// The slack that PR_SET_TIMERSLACK 0 restores: the parent's at fork.
    pub default_timer_slack_ns: AtomicU64,
    /// PFA_* bits, each set or read on its own; inherited by fork
    /// (Linux: atomic_flags).
    pub atomic_flags: AtomicU32,
}

/// execve may not raise privileges: set-user-ID bits are ignored; set once,
/// never cleared (Linux: PFA_NO_NEW_PRIVS, prctl PR_SET_NO_NEW_PRIVS).
pub const PFA_NO_NEW_PRIVS: u32 = 1 << 0;

/// The first task's timer slack, 50 µs, which every task inherits until
/// it sets its own (Linux: init_task.timer_slack_ns).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

impl TaskStruct {
    /// A task with nothing attached yet: no pid, parent, resources or
    /// signals. dup_task_struct and init_task fill in the rest.
    // One line per field of the task: its length is the struct's.
    #[allow(clippy::too_many_lines)]
    #[inline(always)]
    pub fn new(comm: Comm, state: u32, flags: u32, stack: Option<KernelStack>) -> TaskStruct {
        TaskStruct {
            state: AtomicU32::new(state),
            flags: AtomicU32::new(flags),
            exit_state: AtomicU32::new(0),
            exit_code: AtomicI32::new(0),
            exit_signal: AtomicI32::new(0),
            se: SchedEntity::default(),
            rt: SchedRtEntity::default(),
            sched_class: AtomicU8::new(SchedClassId::Fair as u8),
            policy: AtomicU32::new(crate::sched::prio::SCHED_NORMAL),
            prio: AtomicI32::new(crate::sched::prio::DEFAULT_PRIO),
            static_prio: AtomicI32::new(crate::sched::prio::DEFAULT_PRIO),
            normal_prio: AtomicI32::new(crate::sched::prio::DEFAULT_PRIO),
            rt_priority: AtomicU32::new(0),
            sched_reset_on_fork: core::sync::atomic::AtomicBool::new(false),
            cpu: AtomicU32::new(0),
            wake_cpu: AtomicU32::new(0),
            cpus_mask: AtomicU64::new(crate::cpumask::CpuMask::all().bits()),
            nr_cpus_allowed: AtomicU32::new(crate::cpumask::CpuMask::all().weight()),
            pi_lock: SpinLock::new(()),
            pid: AtomicI32::new(0),
            tgid: AtomicI32::new(0),
            thread_pid: SpinLock::new(None),
            pid_ns: spin::Once::new(),
            family: LockedBy::new(Family::default()),
            comm: SpinLock::new(comm),
            mm: crate::mm::task_mm::TaskMm::new(),
            files: SpinLock::new(None),
            fs: SpinLock::new(None),
            nsproxy: SpinLock::new(None),
            sighand: SpinLock::new(None),
            cred: SpinLock::new(None),
            nproc: SpinLock::new(None),
            signal: spin::Once::new(),
            pending: SigPending::default(),
            ptrace: Default::default(),
            jobctl: AtomicU64::new(0),
            pdeath_signal: AtomicI32::new(0),
            blocked: Default::default(),
            real_blocked: Default::default(),
            sas_ss_sp: Default::default(),
            sas_ss_size: Default::default(),
            sas_ss_flags: Default::default(),
            saved_sigmask: SpinLock::new(None),
            restart_block: SpinLock::new(crate::restart_block::RestartBlock::None),
            syscall_nr: core::sync::atomic::AtomicI64::new(-1),
            vfork_done: SpinLock::new(None),
            thread: ThreadStruct::new(stack),
            thread_fn: SpinLock::new(None),
            worker_private: SpinLock::new(None),
            set_child_tid: Default::default(),
            clear_child_tid: Default::default(),
            robust_list: Default::default(),
            fail_nth: Default::default(),
            start_time: crate::arch::time::ktime_get_ns(),
            utime: AtomicU64::new(0),
            stime: AtomicU64::new(0),
            prev_cputime: Default::default(),
            cpu_nsleepers: Default::default(),
            nvcsw: AtomicU64::new(0),
            nivcsw: AtomicU64::new(0),
            min_flt: AtomicU64::new(0),
            maj_flt: AtomicU64::new(0),
            personality: AtomicU32::new(0),
            timer_slack_ns: AtomicU64::new(DEFAULT_TIMER_SLACK_NS),
            default_timer_slack_ns: AtomicU64::new(DEFAULT_TIMER_SLACK_NS),
            atomic_flags: AtomicU32::new(0),
        }
    }

    /// The task's pid in the root namespace (Linux: `task_pid_nr`); what
    /// the kernel names it by. System calls use `pid::task_pid_vnr`.
    pub fn pid(&self) -> PidNr {
        self.pid.load(Ordering::Relaxed)
    }

    /// Sets the pid once alloc_pid has chosen one.
    pub(crate) fn set_pid(&self, nr: PidNr) {
        self.pid.store(nr, Ordering::Relaxed);
    }

    /// The thread group id in the root namespace (Linux: `task_tgid_nr`).
    pub fn tgid(&self) -> PidNr {
        self.tgid.load(Ordering::Relaxed)
    }

    /// The pid namespace this task's next child is born in (Linux:
    /// nsproxy->pid_ns_for_children); its own once it has exited.
    pub fn pid_ns_for_children(&self) -> Arc<crate::pid_namespace::PidNamespace> {
        match crate::nsproxy::task_nsproxy(self) {
            Some(nsproxy) => nsproxy.pid_ns_for_children.clone(),
            None => crate::pid::task_active_pid_ns(self),
        }
    }

    /// The process-wide signal state.
    pub fn signal(&self) -> &Arc<SignalStruct> {
        self.signal.get().expect("copy_signal ran")
    }

    /// The current state word.
    pub fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    /// The exit state word.
    pub fn exit_state(&self) -> u32 {
        self.exit_state.load(Ordering::Acquire)
    }

    /// The PF_* flags.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// The command name.
    pub fn comm(&self) -> Comm {
        *self.comm.lock()
    }

    /// The command name without waiting for its lock (fault reports).
    pub fn comm_lossy(&self) -> Comm {
        self.comm.try_lock().map_or(Comm::new("?"), |c| *c)
    }

    /// Renames the task (Linux: __set_task_comm()).
    pub fn set_comm(&self, name: &[u8]) {
        *self.comm.lock() = Comm::from_bytes(name);
    }

    /// The lowest address of the kernel stack, if it has its own (and its
    /// lock is free: used by fault reports).
    pub fn stack_bottom(&self) -> Option<u64> {
        self.thread.stack_bottom_lossy()
    }

    /// Whether this is a kernel thread.
    pub fn is_kthread(&self) -> bool {
        self.flags() & PF_KTHREAD != 0
    }

    /// The CPUs the task may run on (Linux: p->cpus_ptr).
    pub fn cpus_mask(&self) -> crate::cpumask::CpuMask {
        crate::cpumask::CpuMask::from_bits_truncate(self.cpus_mask.load(Ordering::Acquire))
    }

    /// The class the task is in.
    pub fn sched_class_id(&self) -> SchedClassId {
        SchedClassId::from_u8(self.sched_class.load(Ordering::Relaxed))
    }

    /// The operations of the task's class (Linux: p->sched_class).
    pub fn sched_class(&self) -> &'static SchedClass {
        self.sched_class_id().class()
    }

    /// Whether this is a CPU's idle task.
    ///
    /// Linux: is_idle_task() in include/linux/sched.h
    pub fn is_idle_task(&self) -> bool {
        self.flags() & PF_IDLE != 0
    }
}

/// The task running on this CPU (Linux: `current`).
pub fn current() -> Arc<TaskStruct> {
    crate::arch::percpu::current_task().expect("current used before sched_init")
}

/// The magic word at the end of every kernel stack (Linux: STACK_END_MAGIC).
pub const STACK_END_MAGIC: u64 = 0x57AC_6E9D;

/// Writes STACK_END_MAGIC at the lowest word of a new task's stack.
///
/// Linux: set_task_stack_end_magic() in kernel/fork.c
pub fn set_task_stack_end_magic(tsk: &TaskStruct) {
    tsk.thread.with_stack(|stack| {
        if let Some(stack) = stack {
            stack
                .end_of_stack()
                .store(STACK_END_MAGIC, Ordering::Relaxed);
        }
    });
}

/// Whether the stack overflowed far enough to overwrite its end marker.
///
/// Linux: task_stack_end_corrupted() in include/linux/sched/task_stack.h
#[inline]
pub fn task_stack_end_corrupted(tsk: &TaskStruct) -> bool {
    // The running task (the scheduler's case): its stack is in use, no lock needed.
    if let Some(word) = tsk.thread.running_end_of_stack() {
        return word != STACK_END_MAGIC;
    }
    tsk.thread.with_stack(|stack| {
        stack.is_some_and(|s| s.end_of_stack().load(Ordering::Relaxed) != STACK_END_MAGIC)
    })
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::mm::vmalloc::{STACK_GUARD_SIZE, THREAD_SIZE};
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn the_task_struct_is_on_the_heap_and_its_stack_ends_in_the_magic_word() {
            let me = current();
            let (bottom, top, guard, magic) = me.thread.with_stack(|stack| {
                let stack = stack.expect("a ktest runs in a task with its own stack");
                (
                    stack.bottom().as_u64(),
                    stack.top().as_u64(),
                    stack.guard(),
                    stack.end_of_stack().load(Ordering::Relaxed),
                )
            });
            let task = Arc::as_ptr(&me) as u64;
            let local = 0u8;
            let sp = core::ptr::addr_of!(local) as u64;
            crate::kprintln!(
                "task: task_struct {} bytes at {task:#x}, stack {bottom:#x}..{top:#x}, guard {} KiB",
                size_of::<TaskStruct>(),
                STACK_GUARD_SIZE / 1024
            );
            kassert_eq!(top - bottom, THREAD_SIZE as u64);
            kassert_eq!(guard.end, bottom);
            kassert!((bottom..top).contains(&sp), "this function's locals are on the stack");
            kassert!(!(guard.start..top).contains(&task), "the task_struct is not");
            kassert_eq!(magic, STACK_END_MAGIC);
        }
    }

    ktest! {
        fn an_overwritten_stack_end_is_seen_as_corruption() {
            let me = current();
            // Interrupts off: the scheduler checks the magic at every switch
            // and would panic, as Linux's schedule_debug() does.
            let (seen, restored) = crate::arch::without_interrupts(|| {
                me.thread.with_stack(|stack| {
                    stack.expect("own stack").end_of_stack().store(0, Ordering::Relaxed);
                });
                let seen = task_stack_end_corrupted(&me);
                set_task_stack_end_magic(&me);
                (seen, !task_stack_end_corrupted(&me))
            });
            kassert!(seen && restored);
        }
    }
}
