//! Creating tasks: every fork, vfork, clone and kernel thread goes through
//! `kernel_clone` -> `copy_process` -> `wake_up_new_task`.
//!
//! Linux: kernel/fork.c
//! Not modelled: cgroups, namespaces, ptrace, seccomp, io_uring, audit,
//! perf, NUMA placement, credentials (every task is root).

use crate::arch::kernel::process_64::copy_thread;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fs::fdtable::{FilesStruct, dup_fd};
use crate::fs::fs_struct::copy_fs_struct;
use crate::mm::vmalloc::{KernelStack, MAX_STACKS, THREAD_SIZE};
use crate::pid::{PidNr, alloc_pid};
use crate::resource::{RLIMIT_NPROC, RLIMIT_SIGPENDING, Rlimit};
use crate::sched::core::{sched_fork, wake_up_new_task};
use crate::signal::{SighandStruct, SignalStruct};
use crate::task::{
    Comm, PF_FORKNOEXEC, PF_IDLE, PF_KTHREAD, PF_SUPERPRIV, TaskStruct, ThreadFn, current,
    set_task_stack_end_magic,
};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use bitflags::bitflags;
use core::sync::atomic::Ordering;

bitflags! {
    /// What a new task shares with its creator (Linux: CLONE_* in
    /// include/uapi/linux/sched.h). The low byte of `clone(2)`'s flags is the
    /// exit signal, kept apart in `KernelCloneArgs::exit_signal`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct CloneFlags: u64 {
        /// Share the address space.
        const CLONE_VM = 0x0000_0100;
        /// Share working directory and umask.
        const CLONE_FS = 0x0000_0200;
        /// Share the open-file table.
        const CLONE_FILES = 0x0000_0400;
        /// Share signal handlers.
        const CLONE_SIGHAND = 0x0000_0800;
        /// Return a pidfd for the child.
        const CLONE_PIDFD = 0x0000_1000;
        /// Let the tracer trace the child too.
        const CLONE_PTRACE = 0x0000_2000;
        /// The parent sleeps until the child execs or exits.
        const CLONE_VFORK = 0x0000_4000;
        /// The child's parent is the caller's parent.
        const CLONE_PARENT = 0x0000_8000;
        /// Same thread group: a thread, not a process.
        const CLONE_THREAD = 0x0001_0000;
        /// New mount namespace.
        const CLONE_NEWNS = 0x0002_0000;
        /// Share System V semaphore undo lists.
        const CLONE_SYSVSEM = 0x0004_0000;
        /// Set the child's TLS (FS base).
        const CLONE_SETTLS = 0x0008_0000;
        /// Store the child's tid in the parent's memory.
        const CLONE_PARENT_SETTID = 0x0010_0000;
        /// Clear the child's tid in its memory at exit and wake futex waiters.
        const CLONE_CHILD_CLEARTID = 0x0020_0000;
        /// Ignored, as in Linux.
        const CLONE_DETACHED = 0x0040_0000;
        /// A tracer cannot force CLONE_PTRACE on this child.
        const CLONE_UNTRACED = 0x0080_0000;
        /// Store the child's tid in the child's memory.
        const CLONE_CHILD_SETTID = 0x0100_0000;
        /// New cgroup namespace.
        const CLONE_NEWCGROUP = 0x0200_0000;
        /// New UTS namespace.
        const CLONE_NEWUTS = 0x0400_0000;
        /// New IPC namespace.
        const CLONE_NEWIPC = 0x0800_0000;
        /// New user namespace.
        const CLONE_NEWUSER = 0x1000_0000;
        /// New pid namespace.
        const CLONE_NEWPID = 0x2000_0000;
        /// New network namespace.
        const CLONE_NEWNET = 0x4000_0000;
        /// Clone the I/O context.
        const CLONE_IO = 0x8000_0000;
    }
}

/// Everything `kernel_clone` needs to know (Linux: `struct kernel_clone_args`).
#[derive(Clone, Default)]
pub struct KernelCloneArgs {
    /// What to share.
    pub flags: CloneFlags,
    /// Signal for the parent when the child exits (SIGCHLD, 0, or -1 for threads).
    pub exit_signal: i32,
    /// Name for a kernel thread (`comm`); user tasks inherit the parent's.
    pub name: Option<&'static str>,
    /// The function a kernel thread runs (Linux: fn/fn_arg).
    pub fn_: Option<ThreadFn>,
    /// Create a kernel thread (Linux: kthread).
    pub kthread: bool,
    /// Create a CPU's idle task (Linux: idle).
    pub idle: bool,
    /// Stack pointer for the child, 0 to keep the parent's (Linux: stack).
    pub stack: u64,
    /// FS base for the child under CLONE_SETTLS (Linux: tls).
    pub tls: u64,
    /// Where to store the child's tid under CLONE_PARENT_SETTID (Linux: parent_tid).
    pub parent_tid: u64,
    /// Where to store or clear the child's tid (CLONE_CHILD_SETTID/CLEARTID).
    pub child_tid: u64,
    /// Where to store a pidfd for the child under CLONE_PIDFD (Linux: pidfd).
    pub pidfd: u64,
    /// The caller's saved user registers, which the child starts from.
    /// Differs: Linux's copy_thread reads them back with current_pt_regs().
    pub regs: Option<crate::arch::entry::calling::PtRegs>,
}

impl CloneFlags {
    /// Flags sharing nothing, for processes (empty set).
    pub const NONE: CloneFlags = CloneFlags::empty();
}

/// The global list of tasks and the counts it keeps, guarded by the
/// tasklist lock (Linux: `init_task.tasks`, `nr_threads`, `total_forks`,
/// and `tasklist_lock` itself).
pub struct TaskList {
    /// Every task, in creation order (Linux: the `tasks` list headed by
    /// init_task). Differs: threads are listed too, since there are none yet.
    pub tasks: Vec<Arc<TaskStruct>>,
    /// Tasks alive (Linux: nr_threads).
    pub nr_threads: usize,
    /// Forks since boot (Linux: total_forks).
    pub total_forks: u64,
    /// Upper bound on nr_threads (Linux: max_threads, the threads-max sysctl).
    pub max_threads: usize,
}

/// The tasklist lock (Linux: `tasklist_lock`, a rwlock; here a spin lock).
pub static TASKLIST_LOCK: SpinLock<TaskList> = SpinLock::new(TaskList {
    tasks: Vec::new(),
    nr_threads: 0,
    total_forks: 0,
    max_threads: 20,
});

/// Every thread of the process `tgid` (Linux: for_each_thread()).
pub fn thread_group(tgid: PidNr) -> Vec<Arc<TaskStruct>> {
    let tasklist = TASKLIST_LOCK.lock();
    tasklist
        .tasks
        .iter()
        .filter(|t| t.tgid() == tgid)
        .cloned()
        .collect()
}

/// Sizes threads-max so that kernel stacks use at most 1/8 of memory, and
/// lets init's processes have half as many processes and pending signals.
///
/// Linux: fork_init() / set_max_threads() in kernel/fork.c
pub fn fork_init() {
    let pages = crate::mm::page_alloc::totalram_pages();
    let threads = (pages / (8 * THREAD_SIZE / crate::mm::PAGE_SIZE)).clamp(20, MAX_STACKS);
    TASKLIST_LOCK.lock().max_threads = threads;
    log::info!("fork: max_threads = {threads}");
    let half = Rlimit {
        rlim_cur: threads as u64 / 2,
        rlim_max: threads as u64 / 2,
    };
    let init_task = crate::init::init_task::init_task_init();
    let mut rlim = init_task.signal().rlim.lock();
    rlim.0[RLIMIT_NPROC] = half;
    rlim.0[RLIMIT_SIGPENDING] = half;
}

/// Creates a kernel thread running `f`; returns its pid.
///
/// Linux: kernel_thread() in kernel/fork.c
///
/// # Errors
/// As `kernel_clone`.
pub fn kernel_thread(f: ThreadFn, name: &'static str, flags: CloneFlags) -> Result<PidNr, Errno> {
    let args = KernelCloneArgs {
        flags: flags | CloneFlags::CLONE_VM | CloneFlags::CLONE_UNTRACED,
        exit_signal: crate::signal::SIGCHLD,
        name: Some(name),
        fn_: Some(f),
        kthread: true,
        ..Default::default()
    };
    kernel_clone(&args)
}

/// Creates a task that starts in the kernel running `f` and becomes a user
/// process by exec: init. Unlike a kernel thread it is not PF_KTHREAD, so
/// `ps` never shows it in brackets.
///
/// Linux: user_mode_thread() in kernel/fork.c
///
/// # Errors
/// As `kernel_clone`.
pub fn user_mode_thread(f: ThreadFn, flags: CloneFlags) -> Result<PidNr, Errno> {
    let args = KernelCloneArgs {
        flags: flags | CloneFlags::CLONE_VM | CloneFlags::CLONE_UNTRACED,
        exit_signal: crate::signal::SIGCHLD,
        fn_: Some(f),
        ..Default::default()
    };
    kernel_clone(&args)
}

/// Linux: SYSCALL_DEFINE0(fork) in kernel/fork.c
pub fn sys_fork(regs: &crate::arch::entry::calling::PtRegs) -> crate::syscall::SysResult {
    let args = KernelCloneArgs {
        exit_signal: crate::signal::SIGCHLD,
        regs: Some(*regs),
        ..Default::default()
    };
    kernel_clone(&args).map(|pid| pid as u64)
}

/// Linux: SYSCALL_DEFINE0(vfork) in kernel/fork.c
pub fn sys_vfork(regs: &crate::arch::entry::calling::PtRegs) -> crate::syscall::SysResult {
    let args = KernelCloneArgs {
        flags: CloneFlags::CLONE_VFORK | CloneFlags::CLONE_VM,
        exit_signal: crate::signal::SIGCHLD,
        regs: Some(*regs),
        ..Default::default()
    };
    kernel_clone(&args).map(|pid| pid as u64)
}

/// Linux: SYSCALL_DEFINE5(clone) in kernel/fork.c (x86_64 argument order:
/// flags, newsp, parent_tidptr, child_tidptr, tls)
pub fn sys_clone(
    flags: u64,
    newsp: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
    regs: &crate::arch::entry::calling::PtRegs,
) -> crate::syscall::SysResult {
    let clone_flags = CloneFlags::from_bits_truncate(flags);
    // clone(2) returns the pidfd through parent_tid, so it cannot also store
    // the tid there.
    if clone_flags.contains(CloneFlags::CLONE_PIDFD | CloneFlags::CLONE_PARENT_SETTID) {
        return Err(Errno::EINVAL);
    }
    let args = KernelCloneArgs {
        pidfd: if clone_flags.contains(CloneFlags::CLONE_PIDFD) {
            parent_tid
        } else {
            0
        },
        flags: CloneFlags::from_bits_truncate(flags & !0xff),
        exit_signal: (flags & 0xff) as i32,
        stack: newsp,
        tls,
        parent_tid,
        child_tid,
        regs: Some(*regs),
        ..Default::default()
    };
    kernel_clone(&args).map(|pid| pid as u64)
}

/// Linux: SYSCALL_DEFINE2(clone3) / copy_clone_args_from_user() in kernel/fork.c.
/// `struct clone_args` is eight u64s (flags, pidfd, child_tid, parent_tid,
/// exit_signal, stack, stack_size, tls) in its first version, more later.
pub fn sys_clone3(
    uargs: u64,
    size: u64,
    regs: &crate::arch::entry::calling::PtRegs,
) -> crate::syscall::SysResult {
    const CLONE_ARGS_SIZE_VER0: u64 = 64;
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let a: [u64; 8] = crate::mm::uaccess::get_user(uargs)?;
    for off in (64..size).step_by(8) {
        let extra: u64 = crate::mm::uaccess::get_user(uargs + off)?;
        if extra != 0 && off < 88 {
            return Err(Errno::EINVAL);
        }
        if extra != 0 {
            return Err(Errno::E2BIG);
        }
    }
    let [
        flags,
        _pidfd,
        child_tid,
        parent_tid,
        exit_signal,
        stack,
        stack_size,
        tls,
    ] = a;
    // Linux: clone3_args_valid(): no signal bits in flags, a sane exit
    // signal (none for threads and CLONE_PARENT), and stack with its size.
    let no_signal_allowed =
        flags & (CloneFlags::CLONE_THREAD | CloneFlags::CLONE_PARENT).bits() != 0;
    if flags & 0xff != 0 || exit_signal > 64 || (no_signal_allowed && exit_signal != 0) {
        return Err(Errno::EINVAL);
    }
    let stack = clone3_stack_valid(stack, stack_size)?;
    let clone_flags = CloneFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
    if clone_flags.contains(CloneFlags::CLONE_PIDFD)
        || clone_flags.contains(CloneFlags::CLONE_DETACHED)
    {
        return Err(Errno::EINVAL);
    }
    let args = KernelCloneArgs {
        flags: clone_flags,
        exit_signal: exit_signal as i32,
        stack,
        tls,
        parent_tid,
        child_tid,
        regs: Some(*regs),
        ..Default::default()
    };
    kernel_clone(&args).map(|pid| pid as u64)
}

/// A clone3 stack is given with its size and lies in user space; the child
/// starts at its top (stacks grow down). Returns that top, or 0 for none.
///
/// Linux: clone3_stack_valid() in kernel/fork.c
fn clone3_stack_valid(stack: u64, stack_size: u64) -> Result<u64, Errno> {
    match (stack, stack_size) {
        (0, 0) => Ok(0),
        (0, _) | (_, 0) => Err(Errno::EINVAL),
        _ => usize::try_from(stack_size)
            .ok()
            .filter(|&size| crate::mm::uaccess::access_ok(stack, size))
            .and_then(|_| stack.checked_add(stack_size))
            .ok_or(Errno::EINVAL),
    }
}

/// The one entry to task creation: copy the caller, then let the copy run.
/// A copy that ran out of pages is undone and made again once the OOM
/// killer has made room.
///
/// Linux: kernel_clone() in kernel/fork.c
///
/// # Errors
/// Whatever `copy_process` returns; `ENOMEM` only when the caller is being
/// killed or no process can be killed for memory.
pub fn kernel_clone(args: &KernelCloneArgs) -> Result<PidNr, Errno> {
    let p = crate::mm::oom_kill::retry_after_oom(|| copy_process(args))?;
    let nr = p.pid();
    if args.flags.contains(CloneFlags::CLONE_PARENT_SETTID) {
        let _ = crate::mm::uaccess::put_user(args.parent_tid, nr);
    }
    if args.flags.contains(CloneFlags::CLONE_PIDFD) {
        // Differs: Linux makes the pidfd inside copy_process; here a child
        // that never ran is released again if the fd table is full.
        match crate::pidfd::pidfd_create(p.clone()) {
            Ok(fd) => {
                let _ = crate::mm::uaccess::put_user(args.pidfd, fd);
            }
            Err(e) => {
                crate::exit::release_task(&p);
                return Err(e);
            }
        }
    }
    let vfork = args.flags.contains(CloneFlags::CLONE_VFORK).then(|| {
        let done = Arc::new(crate::sched::completion::Completion::new());
        *p.vfork_done.lock() = Some(done.clone());
        done
    });
    wake_up_new_task(p);
    if let Some(done) = vfork {
        wait_for_vfork_done(&done);
    }
    Ok(nr)
}

/// The vfork parent sleeps until the child releases the borrowed mm by
/// exec or exit, or until it is killed itself.
///
/// Linux: wait_for_vfork_done() in kernel/fork.c
/// Differs: the child keeps its reference to the completion and completes
/// it unheard, instead of Linux clearing child->vfork_done.
fn wait_for_vfork_done(done: &crate::sched::completion::Completion) {
    let _killed = done.wait_for_completion_killable();
}

/// Builds a new task as a copy of the current one, sharing what `args.flags`
/// asks for, and links it into the process tree. The child is TASK_NEW: it
/// does not run until wake_up_new_task.
///
/// Unwinding: each step that can fail returns early with `?`. Everything
/// built so far lives in the child `Arc` (or in locals), which nobody else
/// can see until `attach_pid_and_link`, so dropping it undoes every step in
/// reverse order: the work Linux's `bad_fork_*` labels do by hand.
///
/// Linux: copy_process() in kernel/fork.c
/// Differs: no RLIMIT_NPROC check, since every task runs as root
/// (INIT_USER), whom Linux exempts from it.
///
/// # Errors
/// `EINVAL` for invalid flag combinations, `EAGAIN` past threads-max or
/// pid_max, `ENOMEM` when an allocation fails, `ERESTARTNOINTR` when a
/// signal is pending for the caller as the child would be published.
pub fn copy_process(args: &KernelCloneArgs) -> Result<Arc<TaskStruct>, Errno> {
    let clone_flags = args.flags;
    check_clone_flags(clone_flags)?;
    let parent = current();
    let p = dup_task_struct(&parent, args)?;
    // Linux unwinds from here with bad_fork_free.
    check_max_threads()?;
    // Linux: the child inherits no pending signals, statistics or privileges.
    p.pending.clear();
    let flags = parent.flags() & !(PF_SUPERPRIV | PF_IDLE) | PF_FORKNOEXEC;
    p.flags.store(
        if args.kthread {
            flags | PF_KTHREAD
        } else {
            flags & !PF_KTHREAD
        },
        Ordering::Relaxed,
    );
    sched_fork(&p);
    copy_files(clone_flags, &parent, &p)?; // Linux: bad_fork_cleanup_files
    copy_fs(clone_flags, &parent, &p)?; // Linux: bad_fork_cleanup_fs
    copy_sighand(clone_flags, &parent, &p)?; // Linux: bad_fork_cleanup_sighand
    copy_signal(clone_flags, &parent, &p)?; // Linux: bad_fork_cleanup_signal
    copy_mm(clone_flags, &parent, &p)?; // Linux: bad_fork_cleanup_mm
    let childregs = child_regs(args);
    copy_thread(
        &p.thread,
        p.stack.as_ref().expect("a new stack").top(),
        args.fn_.is_some(),
        &childregs,
        &parent.thread,
    );
    if clone_flags.contains(CloneFlags::CLONE_SETTLS) {
        p.thread.fsbase.store(args.tls, Ordering::Relaxed);
    }
    if clone_flags.contains(CloneFlags::CLONE_CHILD_SETTID) {
        p.set_child_tid.store(args.child_tid, Ordering::Relaxed);
    }
    if clone_flags.contains(CloneFlags::CLONE_CHILD_CLEARTID) {
        p.clear_child_tid.store(args.child_tid, Ordering::Relaxed);
    }
    let pid = alloc_pid()?; // Linux: bad_fork_cleanup_thread
    p.set_pid(pid.nr());
    *p.thread_pid.lock() = Some(pid);
    let tgid = if clone_flags.contains(CloneFlags::CLONE_THREAD) {
        parent.tgid()
    } else {
        p.pid()
    };
    p.tgid.store(tgid, Ordering::Relaxed);
    let (real_parent, exit_signal) = choose_parent(&parent, clone_flags, args.exit_signal);
    p.exit_signal.store(exit_signal, Ordering::Relaxed);
    let tasklist = lock_tasklist_with_room(&real_parent)?; // Linux: bad_fork_cancel_cgroup
    fork_signal_check(&parent)?;
    Ok(attach_pid_and_link(tasklist, p, real_parent))
}

/// Refuses to publish the child while a signal is pending for the parent,
/// checked under the tasklist lock. A kill of the parent's group either
/// walked the task list before (the signal is pending now) or walks it
/// after (and finds the child), so a fork cannot outrun a group kill. The
/// error is ERESTARTNOINTR: the caller handles the signal and, unless it
/// dies, makes the same system call again.
///
/// Linux: the signal_pending(current) check of copy_process() in kernel/fork.c
/// Differs: that is Linux's rule before 4.20; newer Linux restarts only for
/// signals pending when the fork starts, fails with EINTR for a fatal one
/// at this point, and hands group signals that arrive during the fork to
/// the child as well (signal->multiprocess).
fn fork_signal_check(parent: &TaskStruct) -> Result<(), Errno> {
    if crate::signal::signal_pending(parent) {
        return Err(Errno::ERESTARTNOINTR);
    }
    Ok(())
}

/// Fails with EAGAIN once threads-max tasks exist.
///
/// Linux: the `data_race(nr_threads >= max_threads)` check in copy_process()
fn check_max_threads() -> Result<(), Errno> {
    let tasklist = TASKLIST_LOCK.lock();
    if tasklist.nr_threads >= tasklist.max_threads {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// The registers the child returns to user space with: the parent's, with
/// fork's return value 0 and the new stack if one was given. Tasks that
/// start in a kernel function (kernel threads, init) start with none.
fn child_regs(args: &KernelCloneArgs) -> crate::arch::entry::calling::PtRegs {
    match &args.regs {
        Some(regs) if args.fn_.is_none() => {
            let mut child = *regs;
            child.rax = 0;
            if args.stack != 0 {
                child.rsp = args.stack;
            }
            child
        }
        _ => Default::default(),
    }
}

/// Rejects flag combinations that make no sense, with Linux's errno.
///
/// Linux: the checks at the top of copy_process() in kernel/fork.c
fn check_clone_flags(flags: CloneFlags) -> Result<(), Errno> {
    use CloneFlags as F;
    // A new mount namespace cannot share the fs_struct it would change.
    if flags.contains(F::CLONE_NEWNS | F::CLONE_FS) {
        return Err(Errno::EINVAL);
    }
    // Nor can a new user namespace.
    if flags.contains(F::CLONE_NEWUSER | F::CLONE_FS) {
        return Err(Errno::EINVAL);
    }
    // Threads must share signal handlers, since signals go to the group.
    if flags.contains(F::CLONE_THREAD) && !flags.contains(F::CLONE_SIGHAND) {
        return Err(Errno::EINVAL);
    }
    // Shared handlers point into one address space.
    if flags.contains(F::CLONE_SIGHAND) && !flags.contains(F::CLONE_VM) {
        return Err(Errno::EINVAL);
    }
    // Init's siblings would have no parent to reap them.
    if flags.contains(F::CLONE_PARENT) && current().signal().unkillable.load(Ordering::Relaxed) {
        return Err(Errno::EINVAL);
    }
    // A thread cannot also be a vfork child or a new pid namespace member.
    if flags.contains(F::CLONE_THREAD) && flags.intersects(F::CLONE_NEWUSER | F::CLONE_NEWPID) {
        return Err(Errno::EINVAL);
    }
    // Namespaces are not modelled: fail as a kernel built without them.
    let namespaces = F::CLONE_NEWNS
        | F::CLONE_NEWCGROUP
        | F::CLONE_NEWUTS
        | F::CLONE_NEWIPC
        | F::CLONE_NEWUSER
        | F::CLONE_NEWPID
        | F::CLONE_NEWNET;
    if flags.intersects(namespaces) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Allocates the child's task_struct and kernel stack as a copy of `orig`.
///
/// Linux: dup_task_struct() in kernel/fork.c
///
/// # Errors
/// `ENOMEM` when the task or its stack cannot be allocated.
fn dup_task_struct(orig: &TaskStruct, args: &KernelCloneArgs) -> Result<Arc<TaskStruct>, Errno> {
    let stack = KernelStack::alloc()?;
    let comm = args.name.map_or_else(|| orig.comm(), Comm::new);
    let tsk = TaskStruct::new(comm, orig.state(), orig.flags(), Some(stack));
    tsk.blocked
        .store(orig.blocked.load(Ordering::Relaxed), Ordering::Relaxed);
    *tsk.thread_fn.lock() = args.fn_.clone();
    let tsk = Arc::try_new(tsk).map_err(|_| Errno::ENOMEM)?;
    set_task_stack_end_magic(&tsk);
    Ok(tsk)
}

/// Shares the parent's file table under CLONE_FILES, copies it otherwise.
///
/// Linux: copy_files() in kernel/fork.c
fn copy_files(flags: CloneFlags, parent: &TaskStruct, p: &TaskStruct) -> Result<(), Errno> {
    let Some(oldf) = parent.files.lock().clone() else {
        return Ok(());
    };
    let newf: Arc<FilesStruct> = if flags.contains(CloneFlags::CLONE_FILES) {
        oldf
    } else {
        dup_fd(&oldf)?
    };
    *p.files.lock() = Some(newf);
    Ok(())
}

/// Shares cwd and umask under CLONE_FS, copies them otherwise.
///
/// Linux: copy_fs() in kernel/fork.c
fn copy_fs(flags: CloneFlags, parent: &TaskStruct, p: &TaskStruct) -> Result<(), Errno> {
    let Some(fs) = parent.fs.lock().clone() else {
        return Ok(());
    };
    let newfs = if flags.contains(CloneFlags::CLONE_FS) {
        fs
    } else {
        copy_fs_struct(&fs)?
    };
    *p.fs.lock() = Some(newfs);
    Ok(())
}

/// Shares signal handlers under CLONE_SIGHAND, copies them otherwise.
///
/// Linux: copy_sighand() in kernel/fork.c
fn copy_sighand(flags: CloneFlags, parent: &TaskStruct, p: &TaskStruct) -> Result<(), Errno> {
    let Some(oldsig) = parent.sighand.lock().clone() else {
        return Ok(());
    };
    let newsig = if flags.contains(CloneFlags::CLONE_SIGHAND) {
        oldsig
    } else {
        let sig = Arc::try_new(SighandStruct::new()).map_err(|_| Errno::ENOMEM)?;
        *sig.action.lock() = *oldsig.action.lock();
        sig
    };
    *p.sighand.lock() = Some(newsig);
    Ok(())
}

/// Shares the address space under CLONE_VM, copies it (copy-on-write)
/// otherwise. Kernel threads have none.
///
/// Linux: copy_mm() in kernel/fork.c
fn copy_mm(flags: CloneFlags, parent: &TaskStruct, p: &TaskStruct) -> Result<(), Errno> {
    let Some(oldmm) = parent.mm.lock().clone() else {
        return Ok(());
    };
    let mm = if flags.contains(CloneFlags::CLONE_VM) {
        oldmm
    } else {
        crate::mm::mmap::dup_mm(&oldmm)?
    };
    *p.mm.lock() = Some(mm);
    Ok(())
}

/// Shares the process-wide signal state with a new thread, or gives a new
/// process its own, inheriting limits and the subreaper search flag.
///
/// Linux: copy_signal() in kernel/fork.c
fn copy_signal(flags: CloneFlags, parent: &TaskStruct, p: &TaskStruct) -> Result<(), Errno> {
    let old = parent.signal();
    let sig = if flags.contains(CloneFlags::CLONE_THREAD) {
        old.clone()
    } else {
        let sig = Arc::try_new(SignalStruct::default()).map_err(|_| Errno::ENOMEM)?;
        *sig.rlim.lock() = *old.rlim.lock();
        let inherited = old.has_child_subreaper.load(Ordering::Relaxed)
            || old.is_child_subreaper.load(Ordering::Relaxed);
        sig.has_child_subreaper.store(inherited, Ordering::Relaxed);
        sig.pgrp
            .store(old.pgrp.load(Ordering::Relaxed), Ordering::Relaxed);
        sig.session
            .store(old.session.load(Ordering::Relaxed), Ordering::Relaxed);
        sig.oom_score_adj
            .store(old.oom_score_adj.load(Ordering::Relaxed), Ordering::Relaxed);
        sig
    };
    p.signal.call_once(|| sig);
    Ok(())
}

/// The task that will be the child's parent and the signal it will get
/// when the child exits: the caller and the requested signal; or, under
/// CLONE_PARENT/CLONE_THREAD, the caller's own parent, which hears of a
/// thread never (-1) and of a sibling process as of the caller's group
/// leader, so a caller cannot make its parent receive a signal of its
/// choosing.
///
/// Linux: the `clone_flags & (CLONE_PARENT|CLONE_THREAD)` block of copy_process()
fn choose_parent(
    parent: &Arc<TaskStruct>,
    flags: CloneFlags,
    exit_signal: i32,
) -> (Arc<TaskStruct>, i32) {
    if !flags.intersects(CloneFlags::CLONE_PARENT | CloneFlags::CLONE_THREAD) {
        return (parent.clone(), exit_signal);
    }
    let tasklist = TASKLIST_LOCK.lock();
    let family = parent.family.get(&tasklist);
    let real_parent = family
        .real_parent
        .upgrade()
        .unwrap_or_else(|| parent.clone());
    let exit_signal = if flags.contains(CloneFlags::CLONE_THREAD) {
        -1
    } else {
        family
            .group_leader
            .upgrade()
            .unwrap_or_else(|| parent.clone())
            .exit_signal
            .load(Ordering::Relaxed)
    };
    (real_parent, exit_signal)
}

/// Takes the tasklist lock and makes room in the lists the child joins, so
/// that linking it cannot fail. The guard is handed to attach_pid_and_link.
///
/// Differs: Linux's lists are intrusive and need no allocation at this point.
fn lock_tasklist_with_room(
    real_parent: &TaskStruct,
) -> Result<crate::arch::sync::SpinLockGuard<'static, TaskList>, Errno> {
    let mut tasklist = TASKLIST_LOCK.lock();
    tasklist.tasks.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    real_parent
        .family
        .get_mut(&mut tasklist)
        .children
        .try_reserve(1)
        .map_err(|_| Errno::ENOMEM)?;
    Ok(tasklist)
}

/// Publishes the child: parent links, the children list and the task list.
/// Nothing can fail from here on, which is why this returns no `Result`.
///
/// Linux: the tail of copy_process() under tasklist_lock (attach_pid(),
/// list_add_tail(&p->sibling, ...), list_add_tail_rcu(&p->tasks, ...))
fn attach_pid_and_link(
    mut tasklist: crate::arch::sync::SpinLockGuard<'static, TaskList>,
    p: Arc<TaskStruct>,
    real_parent: Arc<TaskStruct>,
) -> Arc<TaskStruct> {
    {
        let family = p.family.get_mut(&mut tasklist);
        family.real_parent = Arc::downgrade(&real_parent);
        family.parent = Arc::downgrade(&real_parent);
        family.group_leader = Weak::new();
    }
    if p.tgid() != p.pid() {
        let leader = tasklist
            .tasks
            .iter()
            .find(|t| t.pid() == p.tgid())
            .map(Arc::downgrade);
        p.family.get_mut(&mut tasklist).group_leader = leader.unwrap_or_default();
    }
    // Only processes are children; a thread hangs off its group (Linux
    // links only a thread_group_leader() into the parent's children).
    if p.pid() == p.tgid() {
        real_parent
            .family
            .get_mut(&mut tasklist)
            .children
            .push(p.clone());
    }
    crate::trace::trace(crate::trace::TraceEvent::Fork {
        parent: real_parent.pid(),
        child: p.pid(),
        child_comm: p.comm(),
    });
    tasklist.tasks.push(p.clone());
    tasklist.nr_threads += 1;
    tasklist.total_forks += 1;
    p
}

/// Stores the new task's tid where CLONE_CHILD_SETTID asked, from inside
/// the child so that it lands in the child's own address space.
///
/// Linux: the set_child_tid part of schedule_tail() in kernel/sched/core.c
pub fn schedule_tail_set_child_tid() {
    let me = current();
    let addr = me.set_child_tid.swap(0, Ordering::Relaxed);
    if addr != 0 {
        let _ = crate::mm::uaccess::put_user(addr, me.pid());
    }
}

/// Counts forks since boot (Linux: total_forks, shown in /proc/stat).
pub fn total_forks() -> u64 {
    TASKLIST_LOCK.lock().total_forks
}

mod tests {
    use super::*;
    use crate::exit::kernel_wait4;
    use crate::ktest::Resources;
    use crate::{kassert, kassert_eq, ktest};

    fn thread_args(flags: CloneFlags) -> KernelCloneArgs {
        KernelCloneArgs {
            flags: flags | CloneFlags::CLONE_VM,
            exit_signal: crate::signal::SIGCHLD,
            name: Some("ktest-fi"),
            fn_: Some(Arc::new(|| 0)),
            kthread: true,
            ..Default::default()
        }
    }

    /// Makes the nth allocation inside copy_process fail, for n = 1, 2, ...
    /// until copy_process succeeds; every failure must be ENOMEM and leave
    /// frames, heap, pids and the task count exactly as they were.
    fn fail_every_allocation_in_copy_process(
        flags: CloneFlags,
    ) -> Result<u32, alloc::string::String> {
        let args = thread_args(flags);
        let me = current();
        for n in 1..100 {
            crate::mm::vmalloc::free_vm_stack_cache();
            let before = Resources::snapshot();
            me.fail_nth.arm(n);
            let result = copy_process(&args);
            let reached = !me.fail_nth.pending();
            me.fail_nth.arm(0);
            match result {
                Err(e) => {
                    kassert!(
                        reached,
                        "copy_process failed without an injected fault: {e:?}"
                    );
                    kassert_eq!(e, Errno::ENOMEM, "allocation point {n}");
                    crate::mm::vmalloc::free_vm_stack_cache();
                    kassert_eq!(
                        Resources::snapshot(),
                        before,
                        "leak after failing allocation {n}"
                    );
                }
                Ok(p) => {
                    let pid = p.pid();
                    wake_up_new_task(p);
                    kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
                    crate::mm::vmalloc::free_vm_stack_cache();
                    kassert_eq!(Resources::snapshot(), before);
                    return Ok(n - 1);
                }
            }
        }
        Err("copy_process never succeeded".into())
    }

    ktest! {
        fn every_failing_allocation_in_copy_process_unwinds_completely() {
            let sharing = fail_every_allocation_in_copy_process(CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES)?;
            let copying = fail_every_allocation_in_copy_process(CloneFlags::empty())?;
            kassert!(sharing >= 11, "8 stack pages, the task, its signal and sighand: {sharing} points");
            kassert!(copying > sharing, "copying files and fs allocates more ({copying} vs {sharing})");
        }
    }

    ktest! {
        fn a_fork_with_a_signal_pending_for_its_parent_is_undone_for_a_restart() {
            use crate::signal::SIGUSR1;
            let me = current();
            let sighand = me.sighand.lock().clone().ok_or("no signal handlers")?;
            let old = sighand.get(SIGUSR1);
            crate::signal::allow_signal(&me, SIGUSR1);
            crate::signal::send_sig(SIGUSR1, &me);
            crate::mm::vmalloc::free_vm_stack_cache();
            let before = Resources::snapshot();
            let result = copy_process(&thread_args(CloneFlags::CLONE_FS)).map(|p| p.pid());
            me.pending.clear();
            sighand.action.lock()[SIGUSR1 as usize - 1] = old;
            kassert_eq!(result, Err(Errno::ERESTARTNOINTR));
            crate::mm::vmalloc::free_vm_stack_cache();
            kassert_eq!(Resources::snapshot(), before, "nothing of the child is left");
        }
    }

    ktest! {
        fn invalid_clone_flag_combinations_fail_with_linux_errnos() {
            use CloneFlags as F;
            let cases = [
                (F::CLONE_NEWNS | F::CLONE_FS, Errno::EINVAL),
                (F::CLONE_NEWUSER | F::CLONE_FS, Errno::EINVAL),
                (F::CLONE_THREAD, Errno::EINVAL),
                (F::CLONE_SIGHAND, Errno::EINVAL),
                (F::CLONE_NEWPID, Errno::EINVAL),
            ];
            for (flags, errno) in cases {
                let args = KernelCloneArgs { flags, ..thread_args(CloneFlags::empty()) };
                kassert_eq!(copy_process(&args).err(), Some(errno), "flags {flags:?}");
            }
        }
    }

    ktest! {
        fn a_new_task_starts_as_task_new_with_stack_end_magic_and_forknoexec() {
            let p = copy_process(&thread_args(CloneFlags::CLONE_FS)).map_err(|e| alloc::format!("{e:?}"))?;
            kassert_eq!(p.state(), crate::task::TASK_NEW);
            kassert!(!crate::task::task_stack_end_corrupted(&p));
            kassert!(p.flags() & PF_FORKNOEXEC != 0);
            kassert!(p.flags() & PF_KTHREAD != 0);
            let pid = p.pid();
            wake_up_new_task(p);
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        }
    }

    ktest! {
        fn clone_parent_makes_the_child_a_sibling_of_the_caller() {
            let args = KernelCloneArgs { flags: CloneFlags::CLONE_PARENT | CloneFlags::CLONE_VM, ..thread_args(CloneFlags::empty()) };
            let p = copy_process(&args).map_err(|e| alloc::format!("{e:?}"))?;
            let me = current();
            let (mine, its) = {
                let tasklist = TASKLIST_LOCK.lock();
                let mine = me.family.get(&tasklist).real_parent.upgrade().map(|t| t.pid());
                (mine, p.family.get(&tasklist).real_parent.upgrade().map(|t| t.pid()))
            };
            let pid = p.pid();
            wake_up_new_task(p);
            kassert_eq!(its, mine);
            kassert!(crate::ktest::wait_until(100, || crate::pid::find_task_by_vpid(pid).is_none()), "its parent, init, reaps it");
        }
    }
}
