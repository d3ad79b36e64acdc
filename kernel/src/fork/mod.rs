//! Creating tasks: every fork, vfork, clone and kernel thread goes through
//! `kernel_clone` -> `copy_process` -> `wake_up_new_task`.
//!
//! This file holds the entry points (the system calls, kernel_thread,
//! user_mode_thread) and kernel_clone; `clone_args.rs` the flags and clone3's
//! argument checks, `copy_process.rs` copy_process and its steps.
//!
//! Linux: kernel/fork.c
//! Not modelled: cgroups, seccomp, io_uring, audit,
//! perf, NUMA placement.

mod clone_args;
mod copy_process;
#[cfg(feature = "ktest")]
mod tests;
mod unshare;

pub use clone_args::{CloneFlags, KernelCloneArgs};
pub use copy_process::copy_process;
pub use unshare::{ksys_unshare, sys_unshare, unshare_files, unshare_sighand};

use crate::errno::Errno;
use crate::mm::vmalloc::{MAX_STACKS, THREAD_SIZE};
use crate::pid::PidNr;
use crate::resource::{RLIMIT_NPROC, RLIMIT_SIGPENDING, Rlimit};
use crate::sched::core::wake_up_new_task;
use crate::task::{ThreadFn, current};
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Sizes threads-max so that kernel stacks use at most 1/8 of memory, and
/// lets init's processes have half as many processes and pending signals.
///
/// Linux: fork_init() / set_max_threads() in kernel/fork.c
pub fn fork_init() {
    let pages = crate::mm::page_alloc::totalram_pages();
    let threads = (pages / (8 * THREAD_SIZE / crate::mm::PAGE_SIZE)).clamp(20, MAX_STACKS);
    TASKLIST_LOCK.lock().max_threads = threads;
    log::info!("fork: max_threads = {threads}");
    log::info!(
        "fork: task_struct {} bytes (heap), kernel stack {} KiB (vmalloc) above a {} KiB guard",
        size_of::<crate::task::TaskStruct>(),
        THREAD_SIZE / 1024,
        crate::mm::vmalloc::STACK_GUARD_SIZE / 1024
    );
    let half = Rlimit {
        rlim_cur: threads as u64 / 2,
        rlim_max: threads as u64 / 2,
    };
    let init_task = crate::init::init_task::init_task_init();
    let mut rlim = init_task.signal().rlim.lock();
    rlim.0[RLIMIT_NPROC] = half;
    rlim.0[RLIMIT_SIGPENDING] = half;
}

/// Creates a kernel thread running `f` that sends `exit_signal` to its
/// parent when it exits (0: none, as kthreadd); returns its pid.
///
/// Linux: kernel_thread() in kernel/fork.c
/// Differs: the exit signal is its own argument (Linux: the CSIGNAL byte
/// of `flags`).
///
/// # Errors
/// As `kernel_clone`.
pub fn kernel_thread(
    f: ThreadFn,
    name: &'static str,
    flags: CloneFlags,
    exit_signal: i32,
) -> Result<PidNr, Errno> {
    let args = KernelCloneArgs {
        flags: flags | CloneFlags::CLONE_VM | CloneFlags::CLONE_UNTRACED,
        exit_signal,
        name: Some(name),
        fn_: Some(f),
        kthread: true,
        ..Default::default()
    };
    kernel_clone(&args)
}

/// Creates a task that starts in the kernel running `f` and becomes a user
/// process by exec: init. Unlike a kernel thread it is not PF_KTHREAD, so
/// `ps` never shows it in brackets. `exit_signal` as for kernel_thread.
///
/// Linux: user_mode_thread() in kernel/fork.c
/// Differs: the exit signal is its own argument, as for kernel_thread.
///
/// # Errors
/// As `kernel_clone`.
pub fn user_mode_thread(f: ThreadFn, flags: CloneFlags, exit_signal: i32) -> Result<PidNr, Errno> {
    let args = KernelCloneArgs {
        flags: flags | CloneFlags::CLONE_VM | CloneFlags::CLONE_UNTRACED,
        exit_signal,
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
    // Linux: clone(2) takes the low 32 bits; the others are clone3's.
    let clone_flags = CloneFlags::from_bits_truncate(flags & 0xffff_ffff);
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
        flags: CloneFlags::from_bits_truncate(flags & !clone_args::CSIGNAL),
        exit_signal: (flags & clone_args::CSIGNAL) as i32,
        stack: newsp,
        tls,
        parent_tid,
        child_tid,
        regs: Some(*regs),
        ..Default::default()
    };
    kernel_clone(&args).map(|pid| pid as u64)
}

/// Linux: SYSCALL_DEFINE2(clone3) in kernel/fork.c
pub fn sys_clone3(
    uargs: u64,
    size: u64,
    regs: &crate::arch::entry::calling::PtRegs,
) -> crate::syscall::SysResult {
    let mut args = clone_args::copy_clone_args_from_user(uargs, size)?;
    if !clone_args::clone3_args_valid(&mut args) {
        return Err(Errno::EINVAL);
    }
    args.regs = Some(*regs);
    kernel_clone(&args).map(|pid| pid as u64)
}

/// The one entry to task creation: copy the caller, then let the copy run.
/// Textbooks call it by its older names, _do_fork (Linux 4.2 to 5.9) and
/// do_fork (before 4.2).
/// A copy that ran out of pages is undone and made again once the OOM
/// killer has made room.
///
/// A traced caller stops at the fork, vfork or clone event its tracer
/// asked for, and at the vfork's end (PTRACE_O_TRACEVFORKDONE).
///
/// Linux: kernel_clone() in kernel/fork.c, once _do_fork() and do_fork()
/// Differs: the event stops show the tracer a copy of the caller's
/// registers; what the tracer writes into them there is not kept.
///
/// # Errors
/// Whatever `copy_process` returns; `ENOMEM` only when the caller is being
/// killed or no process can be killed for memory.
pub fn kernel_clone(args: &KernelCloneArgs) -> Result<PidNr, Errno> {
    let trace = crate::ptrace::ptrace_clone_event(args.flags, args.exit_signal);
    let p = crate::mm::oom_kill::retry_after_oom(|| copy_process(args))?;
    // The number the caller sees; the trace event keeps the root's.
    let nr = crate::pid::task_pid_vnr(&p);
    if args.flags.contains(CloneFlags::CLONE_PARENT_SETTID) {
        let _ = crate::mm::uaccess::put_user(args.parent_tid, nr);
    }
    // The parent in the event is the caller, also for a thread or CLONE_PARENT.
    // Checked first: reading the name takes the child's comm lock.
    if crate::trace::trace_enabled() {
        crate::trace::trace(crate::trace::TraceEvent::Fork {
            parent: current().pid(),
            child: p.pid(),
            child_comm: p.comm(),
        });
    }
    let vfork = args.flags.contains(CloneFlags::CLONE_VFORK).then(|| {
        let done = Arc::new(crate::sched::completion::Completion::new());
        *p.vfork_done.lock() = Some(done.clone());
        done
    });
    // The tracer's number for the child, for PTRACE_GETEVENTMSG.
    let traced_nr = crate::ptrace::ptrace_event_pid_nr(&p);
    wake_up_new_task(p);
    let mut regs = args.regs;
    if trace != 0
        && let Some(regs) = regs.as_mut()
    {
        crate::ptrace::ptrace_event(trace, traced_nr, regs);
    }
    if let Some(done) = vfork {
        wait_for_vfork_done(&done);
        if let Some(regs) = regs.as_mut() {
            crate::ptrace::ptrace_event(crate::ptrace::PTRACE_EVENT_VFORK_DONE, traced_nr, regs);
        }
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

/// Stores the new task's tid where CLONE_CHILD_SETTID asked, from inside
/// the child so that it lands in the child's own address space.
///
/// Linux: the set_child_tid part of schedule_tail() in kernel/sched/core.c
pub fn schedule_tail_set_child_tid() {
    let me = current();
    let addr = me.set_child_tid.swap(0, Ordering::Relaxed);
    if addr != 0 {
        let _ = crate::mm::uaccess::put_user(addr, crate::pid::task_pid_vnr(&me));
    }
}

/// The address space of `task` (`None` for a task without one) for a
/// caller that asks to inspect it as `mode` says: the caller's own always,
/// another only when ptrace_may_access allows it.
///
/// Linux: mm_access() in kernel/fork.c
/// Differs: no exec_update_lock: the check and the mm are not taken
/// atomically against a concurrent set-user-ID exec of `task`.
///
/// # Errors
/// `EACCES` when the caller may not.
pub fn mm_access(
    task: &crate::task::TaskStruct,
    mode: u32,
) -> Result<Option<Arc<crate::mm::mm_types::MmStruct>>, Errno> {
    let mm = task.mm.lock().clone();
    let own = mm
        .as_ref()
        .zip(current().mm.lock().as_ref())
        .is_some_and(|(mm, mine)| Arc::ptr_eq(mm, mine));
    if mm.is_some() && !own && !crate::ptrace::ptrace_may_access(task, mode) {
        return Err(Errno::EACCES);
    }
    Ok(mm)
}

/// A task stops using `mm` (exit_mm, exec). The last user detaches its
/// SysV segments and makes every CPU let go of it, the lazy ones
/// (cleanup_lazy_tlbs) and this one, so that its memory is freed when the
/// last reference drops: here, unless a /proc reader still holds one.
///
/// Linux: mmput() / __mmput() in kernel/fork.c
/// Differs: the memory goes with the last reference of any kind (Linux's
/// exit_mmap() runs here and leaves only the struct to mm_count).
pub fn mmput(mm: Arc<crate::mm::mm_types::MmStruct>) {
    if mm.mm_users.fetch_sub(1, Ordering::AcqRel) != 1 {
        return;
    }
    crate::ipc::shm::exit_shm(&mm);
    crate::mm::tlb::cleanup_lazy_tlbs(&mm);
    crate::mm::tlb::leave_mm(&mm);
}
