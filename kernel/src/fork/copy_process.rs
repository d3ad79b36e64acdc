//! copy_process and its steps, in the order it calls them: the child is
//! built as a copy of the caller and published in the task list last.
//!
//! Linux: copy_process() and the copy_*() functions in kernel/fork.c

use super::{CloneFlags, KernelCloneArgs};
use crate::arch::kernel::process_64::copy_thread;
use crate::arch::sync::{SpinLock, SpinLockGuard};
use crate::cred::copy_creds;
use crate::errno::Errno;
use crate::fs::fdtable::{FilesStruct, dup_fd};
use crate::fs::fs_struct::copy_fs_struct;
use crate::mm::uaccess::put_user;
use crate::mm::vmalloc::KernelStack;
use crate::nsproxy::copy_namespaces;
use crate::pid::{alloc_pid, is_child_reaper, ns_of_pid};
use crate::pidfd::{PreparedPidfd, pidfd_prepare};
use crate::sched::core::sched_fork;
use crate::signal::{SighandStruct, SignalStruct};
use crate::task::{
    Comm, PF_FORKNOEXEC, PF_IDLE, PF_KTHREAD, PF_NO_SETAFFINITY, PF_NPROC_EXCEEDED, PF_SUPERPRIV,
    TaskStruct, current, set_task_stack_end_magic,
};
use crate::tasklist::{TASKLIST_LOCK, TaskList};
use alloc::sync::{Arc, Weak};
use core::sync::atomic::Ordering;

/// Builds a new task as a copy of the current one, sharing what `args.flags`
/// asks for, and links it into the process tree. The child is TASK_NEW: it
/// does not run until wake_up_new_task.
///
/// Unwinding: each step that can fail returns early with `?`. Everything
/// built so far lives in the child `Arc` (or in locals), which nobody else
/// can see until `attach_pid_and_link`, so dropping it undoes every step in
/// reverse order: the work Linux's `bad_fork_*` labels do by hand. Each `?`
/// is commented `// Linux: goto <label>` with the label Linux jumps to when
/// that step fails, the one that undoes the steps before it (so copy_fs's
/// is bad_fork_cleanup_files). Under CLONE_PIDFD the pidfd's descriptor is
/// reserved before the child is published and installed after, as Linux's
/// pidfd_prepare() and fd_install() do, so nothing fails once it is.
///
/// Linux: copy_process() in kernel/fork.c
///
/// # Errors
/// `EINVAL` for invalid flag combinations, `EAGAIN` past threads-max,
/// pid_max or the real user's RLIMIT_NPROC, `ENOMEM` when an allocation fails, `EMFILE` when CLONE_PIDFD
/// finds the caller's file table full, `EFAULT` when its pidfd cannot be
/// stored, `ERESTARTNOINTR` when a signal is pending for the caller as the
/// child would be published.
pub fn copy_process(args: &KernelCloneArgs) -> Result<Arc<TaskStruct>, Errno> {
    let clone_flags = args.flags;
    check_clone_flags(clone_flags)?;
    let parent = current();
    let p = dup_task_struct(&parent, args)?; // Linux: goto fork_out
    check_nproc(&parent)?; // Linux: goto bad_fork_free
    parent
        .flags
        .fetch_and(!PF_NPROC_EXCEEDED, Ordering::Relaxed);
    copy_creds(&p);
    check_max_threads()?; // Linux: goto bad_fork_cleanup_count
    // Linux: the child inherits no pending signals, statistics or privileges.
    p.pending.clear();
    let flags = p.flags() & !(PF_SUPERPRIV | PF_IDLE | PF_NO_SETAFFINITY) | PF_FORKNOEXEC;
    p.flags.store(
        if args.kthread {
            flags | PF_KTHREAD
        } else {
            flags & !PF_KTHREAD
        },
        Ordering::Relaxed,
    );
    sched_fork(&p)?; // Linux: goto bad_fork_cleanup_policy
    copy_files(clone_flags, &parent, &p)?; // Linux: goto bad_fork_cleanup_semundo
    copy_fs(clone_flags, &parent, &p)?; // Linux: goto bad_fork_cleanup_files
    copy_sighand(clone_flags, &parent, &p)?; // Linux: goto bad_fork_cleanup_fs
    copy_signal(clone_flags, &parent, &p)?; // Linux: goto bad_fork_cleanup_sighand
    copy_mm(clone_flags, &parent, &p)?; // Linux: goto bad_fork_cleanup_signal
    copy_namespaces(clone_flags, &parent, &p)?; // Linux: goto bad_fork_cleanup_mm
    let childregs = child_regs(args);
    copy_thread(&p.thread, args.fn_.is_some(), &childregs, &parent.thread);
    if clone_flags.contains(CloneFlags::CLONE_SETTLS) {
        p.thread.fsbase.store(args.tls, Ordering::Relaxed);
    }
    if clone_flags.contains(CloneFlags::CLONE_CHILD_SETTID) {
        p.set_child_tid.store(args.child_tid, Ordering::Relaxed);
    }
    if clone_flags.contains(CloneFlags::CLONE_CHILD_CLEARTID) {
        p.clear_child_tid.store(args.child_tid, Ordering::Relaxed);
    }
    let pid = alloc_pid(&p.pid_ns_for_children(), &args.set_tid[..args.set_tid_size])?; // Linux: goto bad_fork_cleanup_thread
    set_task_pid(&p, pid, clone_flags);
    let pidfd = prepare_clone_pidfd(args, &p)?; // Linux: goto bad_fork_free_pid
    let tgid = if clone_flags.contains(CloneFlags::CLONE_THREAD) {
        parent.tgid()
    } else {
        p.pid()
    };
    p.tgid.store(tgid, Ordering::Relaxed);
    let (real_parent, exit_signal) = choose_parent(&parent, clone_flags, args.exit_signal);
    p.exit_signal.store(exit_signal, Ordering::Relaxed);
    // Linux takes tasklist_lock here, which cannot fail; making room can.
    let tasklist = lock_tasklist_with_room(&p, &real_parent)?;
    fork_signal_check(&parent)?; // Linux: goto bad_fork_cancel_cgroup
    let ptrace = clone_flags.contains(CloneFlags::CLONE_PTRACE)
        || crate::ptrace::ptrace_clone_event(clone_flags, args.exit_signal) != 0;
    let p = attach_pid_and_link(tasklist, p, &parent, real_parent, ptrace);
    if let Some(pidfd) = pidfd {
        pidfd.fd_install();
    }
    Ok(p)
}

/// Names the child by `pid`: its number, its namespace, and, for a new
/// process, the process's pid too.
///
/// Linux: the `p->pid = pid_nr(pid)` step of copy_process() in kernel/fork.c
fn set_task_pid(p: &TaskStruct, pid: Arc<crate::pid::Pid>, clone_flags: CloneFlags) {
    p.set_pid(pid.nr());
    if !clone_flags.contains(CloneFlags::CLONE_THREAD) {
        p.signal().tgid_pid.call_once(|| pid.clone());
    }
    p.pid_ns.call_once(|| crate::pid::ns_of_pid(&pid).clone());
    *p.thread_pid.lock() = Some(pid);
}

/// Under CLONE_PIDFD, reserves the child's pidfd in the caller's table and
/// stores its number where the caller asked; installed once the child is
/// published.
///
/// Linux: the `clone_flags & CLONE_PIDFD` block of copy_process()
/// (pidfd_prepare(), then put_user() with `goto bad_fork_put_pidfd`)
fn prepare_clone_pidfd(
    args: &KernelCloneArgs,
    p: &Arc<TaskStruct>,
) -> Result<Option<PreparedPidfd>, Errno> {
    if !args.flags.contains(CloneFlags::CLONE_PIDFD) {
        return Ok(None);
    }
    let pidfd = pidfd_prepare(p.clone())?;
    put_user(args.pidfd, pidfd.fd())?;
    Ok(Some(pidfd))
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

/// Fails with EAGAIN once the caller's real user has RLIMIT_NPROC tasks,
/// unless that is root or the caller has CAP_SYS_RESOURCE or
/// CAP_SYS_ADMIN.
///
/// Linux: the is_rlimit_overlimit(..., UCOUNT_RLIMIT_NPROC, ...) check in
/// copy_process()
fn check_nproc(parent: &TaskStruct) -> Result<(), Errno> {
    use crate::capability::{CAP_SYS_ADMIN, CAP_SYS_RESOURCE, capable};
    let user = crate::user::task_user(parent);
    let limit = crate::resource::rlimit(crate::resource::RLIMIT_NPROC);
    if crate::user::is_rlimit_overlimit(&user, limit)
        && user.uid != 0
        && !capable(CAP_SYS_RESOURCE)
        && !capable(CAP_SYS_ADMIN)
    {
        return Err(Errno::EAGAIN);
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
    // A thread lives in its process's pid namespace, so it cannot start a
    // new one, nor be made after unshare(CLONE_NEWPID) chose another.
    if flags.contains(F::CLONE_THREAD)
        && (flags.intersects(F::CLONE_NEWUSER | F::CLONE_NEWPID) || {
            let me = current();
            !Arc::ptr_eq(
                &crate::pid::task_active_pid_ns(&me),
                &me.pid_ns_for_children(),
            )
        })
    {
        return Err(Errno::EINVAL);
    }
    // clone(2) ignores CLONE_DETACHED, but not beside CLONE_PIDFD, so the bit
    // stays free for a later pidfd meaning.
    if flags.contains(F::CLONE_PIDFD | F::CLONE_DETACHED) {
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
    let (state, flags) = (orig.state(), orig.flags());
    let tsk = crate::mm::heap::try_arc_with(|| TaskStruct::new(comm, state, flags, Some(stack)))?;
    tsk.blocked
        .store(orig.blocked.load(Ordering::Relaxed), Ordering::Relaxed);
    copy_sigaltstack(&tsk, orig, args.flags);
    tsk.personality
        .store(orig.personality.load(Ordering::Relaxed), Ordering::Relaxed);
    tsk.atomic_flags
        .store(orig.atomic_flags.load(Ordering::Relaxed), Ordering::Relaxed);
    // Linux copies timer_slack_ns with the struct and sets the default
    // later in copy_process; both come from the parent's current slack.
    let slack = orig.timer_slack_ns.load(Ordering::Relaxed);
    tsk.timer_slack_ns.store(slack, Ordering::Relaxed);
    tsk.default_timer_slack_ns.store(slack, Ordering::Relaxed);
    *tsk.thread_fn.lock() = args.fn_.clone();
    // Linux copies cpus_mask with the whole struct; sched_fork sets the CPU.
    tsk.cpus_mask
        .store(orig.cpus_mask().bits(), Ordering::Relaxed);
    tsk.nr_cpus_allowed
        .store(orig.cpus_mask().weight(), Ordering::Relaxed);
    set_task_stack_end_magic(&tsk);
    Ok(tsk)
}

/// The child keeps the parent's alternate signal stack, except a thread
/// sharing the memory (it would share the stack too).
///
/// Linux: the sas_ss_* step of copy_process() in kernel/fork.c
fn copy_sigaltstack(tsk: &TaskStruct, orig: &TaskStruct, flags: CloneFlags) {
    if flags.contains(CloneFlags::CLONE_VM) && !flags.contains(CloneFlags::CLONE_VFORK) {
        return;
    }
    let sp = orig.sas_ss_sp.load(Ordering::Relaxed);
    tsk.sas_ss_sp.store(sp, Ordering::Relaxed);
    tsk.sas_ss_size
        .store(orig.sas_ss_size.load(Ordering::Relaxed), Ordering::Relaxed);
    tsk.sas_ss_flags
        .store(orig.sas_ss_flags.load(Ordering::Relaxed), Ordering::Relaxed);
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

/// Shares signal handlers under CLONE_SIGHAND, copies them otherwise,
/// each back to SIG_DFL under CLONE_CLEAR_SIGHAND (ignored ones stay so).
///
/// Linux: copy_sighand() in kernel/fork.c
fn copy_sighand(flags: CloneFlags, parent: &TaskStruct, p: &TaskStruct) -> Result<(), Errno> {
    let Some(oldsig) = parent.sighand.lock().clone() else {
        return Ok(());
    };
    let newsig = if flags.contains(CloneFlags::CLONE_SIGHAND) {
        oldsig
    } else {
        SighandStruct::try_copy(&oldsig)?
    };
    *p.sighand.lock() = Some(newsig);
    if flags.contains(CloneFlags::CLONE_CLEAR_SIGHAND) {
        crate::signal::flush_signal_handlers(p, false);
    }
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
    p.mm.install(mm);
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
        let sig = crate::mm::heap::try_arc_with(|| SignalStruct {
            rlim: SpinLock::new(*old.rlim.lock()),
            ..SignalStruct::default()
        })?;
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
    p: &TaskStruct,
    real_parent: &TaskStruct,
) -> Result<SpinLockGuard<'static, TaskList>, Errno> {
    let mut tasklist = TASKLIST_LOCK.lock();
    tasklist.tasks.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    p.signal()
        .thread_head
        .get_mut(&mut tasklist)
        .try_reserve()?;
    real_parent
        .family
        .get_mut(&mut tasklist)
        .children
        .try_reserve(1)
        .map_err(|_| Errno::ENOMEM)?;
    Ok(tasklist)
}

/// The first process of a pid namespace is its init: the reaper of its
/// orphans, and unkillable from inside (SIGNAL_UNKILLABLE).
///
/// Linux: the `is_child_reaper(pid)` block at the end of copy_process()
fn become_child_reaper(p: &Arc<TaskStruct>) {
    if let Some(pid) = crate::pid::task_pid(p)
        && is_child_reaper(&pid)
    {
        *ns_of_pid(&pid).child_reaper.lock() = Arc::downgrade(p);
        p.signal().unkillable.store(true, Ordering::Relaxed);
    }
}

/// Publishes the child: parent links, the children list, the tracer's
/// link when `ptrace` (ptrace_init_task), its process's thread list (a
/// new thread joins the caller's, a new process starts its own) and the
/// task list. Nothing can fail from here on, which is why this returns no
/// `Result`.
///
/// Linux: the tail of copy_process() under tasklist_lock (attach_pid(),
/// list_add_tail(&p->sibling, ...), list_add_tail_rcu(&p->thread_node, ...),
/// list_add_tail_rcu(&p->tasks, ...))
/// Differs: the leader joins its new list here, not in copy_signal().
fn attach_pid_and_link(
    mut tasklist: SpinLockGuard<'static, TaskList>,
    p: Arc<TaskStruct>,
    parent: &Arc<TaskStruct>,
    real_parent: Arc<TaskStruct>,
    ptrace: bool,
) -> Arc<TaskStruct> {
    // Linux: p->group_leader = current->group_leader under CLONE_THREAD.
    let group_leader = match p.tgid() != p.pid() {
        true => match parent.family.get(&tasklist).group_leader.upgrade() {
            Some(leader) => Arc::downgrade(&leader),
            None => Arc::downgrade(parent),
        },
        false => Weak::new(),
    };
    {
        let family = p.family.get_mut(&mut tasklist);
        family.real_parent = Arc::downgrade(&real_parent);
        family.parent = Arc::downgrade(&real_parent);
        family.group_leader = group_leader;
    }
    // Only processes are children; a thread hangs off its group (Linux
    // links only a thread_group_leader() into the parent's children).
    if p.pid() == p.tgid() {
        become_child_reaper(&p);
        real_parent
            .family
            .get_mut(&mut tasklist)
            .children
            .push(p.clone());
    }
    crate::ptrace::ptrace_init_task(&p, ptrace, &mut tasklist);
    if p.pid() != p.tgid() {
        crate::signal::task_join_group_stop(&p);
        // Linux: the CLONE_THREAD block under tasklist_lock.
        let sig = p.signal();
        sig.nr_threads.fetch_add(1, Ordering::Relaxed);
        sig.live.fetch_add(1, Ordering::Relaxed);
    }
    p.signal()
        .thread_head
        .get_mut(&mut tasklist)
        .add_tail(p.clone());
    tasklist.tasks.push(p.clone());
    tasklist.nr_threads += 1;
    tasklist.total_forks += 1;
    p
}
