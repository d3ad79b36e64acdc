//! Ending tasks: do_exit tears a task down to a zombie and release_task
//! frees what is left once it is reaped. The parent's side, wait4 and
//! waitid, is in `wait.rs`.
//!
//! Linux: kernel/exit.c
//! Not modelled: ptrace, cgroups, task works, taskstats, core dumps.

mod tests;
mod wait;

pub use wait::{WNOHANG, WaitResult, kernel_wait4, sys_wait4, sys_waitid};

use crate::arch::sync::SpinLockGuard;
use crate::sched::core::do_task_dead;
use crate::signal::{SIGCHLD, do_notify_parent};
use crate::task::{EXIT_DEAD, EXIT_ZOMBIE, PF_EXITING, TaskStruct, current};
use crate::tasklist::{TASKLIST_LOCK, TaskList, thread_group_empty};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Ends the current task with `code`, an already-encoded wait status (for
/// `exit(n)` that is `(n & 0xff) << 8`). Never returns.
///
/// Linux: do_exit() in kernel/exit.c
pub fn do_exit(code: i32) -> ! {
    exit_to_zombie(code);
    do_task_dead()
}

/// Ends every thread of the process with `exit_code` (already encoded).
///
/// Linux: do_group_exit() in kernel/exit.c
pub fn do_group_exit(exit_code: i32) -> ! {
    let code = group_exit_code(exit_code);
    do_exit(code)
}

/// Starts a group exit with `exit_code`, or joins the one under way and
/// takes its code; kills the other threads.
fn group_exit_code(exit_code: i32) -> i32 {
    let me = current();
    let sig = me.signal();
    if sig.group_exec.load(Ordering::Acquire) {
        return exit_code;
    }
    if sig.group_exit.swap(true, Ordering::AcqRel) {
        return sig.group_exit_code.load(Ordering::Acquire);
    }
    sig.group_exit_code.store(exit_code, Ordering::Release);
    drop(me);
    kill_other_threads();
    exit_code
}

fn kill_other_threads() {
    let me = current();
    for t in crate::tasklist::thread_group(me.tgid()) {
        if !Arc::ptr_eq(&t, &me) {
            crate::signal::send_sig(crate::signal::SIGKILL, &t);
        }
    }
}

/// Linux: SYSCALL_DEFINE1(exit): ends only the calling thread.
pub fn sys_exit(code: i32) -> ! {
    do_exit((code & 0xff) << 8)
}

/// Linux: SYSCALL_DEFINE1(exit_group): ends the whole process.
pub fn sys_exit_group(code: i32) -> ! {
    do_group_exit((code & 0xff) << 8)
}

/// Everything do_exit does before the final switch. It is a function of its
/// own so that every reference it holds is dropped before do_task_dead,
/// whose frame never returns.
fn exit_to_zombie(code: i32) {
    let tsk = current();
    if tsk.pid() == 1 {
        panic!("Attempted to kill init! exitcode={code:#010x}");
    }
    exit_signals(&tsk);
    tsk.exit_code.store(code, Ordering::Relaxed);
    crate::trace::trace(crate::trace::TraceEvent::Exit {
        pid: tsk.pid(),
        code,
    });
    if group_dead(&tsk) {
        crate::time::itimer::exit_itimers(tsk.signal());
        crate::time::posix_timers::exit_itimers(tsk.signal());
    }
    exit_mm(&tsk);
    exit_files(&tsk);
    exit_fs(&tsk);
    crate::nsproxy::exit_task_namespaces(&tsk);
    exit_notify(&tsk);
}

/// Whether `tsk` is the last thread of its process to exit.
/// Differs: Linux counts live threads in signal->live; we look for a thread
/// of the group not yet exiting, so two threads exiting at once may both
/// see the group dead (what follows is safe to do twice).
fn group_dead(tsk: &TaskStruct) -> bool {
    let tasklist = TASKLIST_LOCK.lock();
    !tasklist.tasks.iter().any(|t| {
        t.tgid() == tsk.tgid()
            && !core::ptr::eq(&**t, tsk)
            && t.flags.load(Ordering::Relaxed) & PF_EXITING == 0
    })
}

/// Marks the task as exiting, so no new signals are aimed at it.
///
/// Linux: exit_signals() in kernel/signal.c
fn exit_signals(tsk: &TaskStruct) {
    tsk.flags.fetch_or(PF_EXITING, Ordering::Relaxed);
}

/// Drops the task's address space; before that, releases a vfork parent or
/// a kthread_stop caller waiting on `vfork_done`. The tables stay loaded
/// (Linux: enter_lazy_tlb()): the CPU's own reference keeps them until the
/// task's last switch, which costs nothing when the next task uses the same
/// mm (a vfork parent, a sibling thread).
///
/// Linux: exit_mm() in kernel/exit.c (exit_mm_release() -> mm_release())
/// Differs: when this task was the mm's last user, its memory is freed by
/// that last switch (finish_task_switch drops the CPU's reference), not
/// here: one Arc counts both Linux's mm_users and mm_count.
fn exit_mm(tsk: &TaskStruct) {
    mm_release(tsk);
    let mm = tsk.mm.lock().take();
    if let Some(mm) = &mm {
        crate::rusage::setmax_mm_hiwater_rss(tsk, mm);
        // The last user: only this reference and this CPU's loaded one.
        if alloc::sync::Arc::strong_count(mm) == 2 {
            crate::ipc::shm::exit_shm(mm);
        }
    }
    drop(mm);
}

/// Walks the robust futex list, clears and wakes `clear_child_tid`, and
/// completes `vfork_done`, once: the parent of a vfork child, or a
/// kthread_stop caller, may stop waiting.
///
/// Linux: mm_release() / futex_exit_release() / complete_vfork_done() in kernel/fork.c
pub fn mm_release(tsk: &TaskStruct) {
    if tsk.mm.lock().is_some() {
        crate::futex::robust::futex_cleanup(tsk);
    }
    let tid_addr = tsk.clear_child_tid.swap(0, Ordering::Relaxed);
    if tid_addr != 0 && tsk.mm.lock().is_some() {
        let _ = crate::mm::uaccess::put_user(tid_addr, 0u32);
        let _ = crate::futex::futex_wake(tid_addr, false, 1, crate::futex::FUTEX_BITSET_MATCH_ANY);
    }
    if let Some(done) = tsk.vfork_done.lock().take() {
        done.complete();
    }
}

/// Drops this task's reference to its open-file table.
///
/// Linux: exit_files() in kernel/exit.c
fn exit_files(tsk: &TaskStruct) {
    drop(tsk.files.lock().take());
}

/// Drops this task's reference to its fs_struct.
///
/// Linux: exit_fs() in fs/fs_struct.c
fn exit_fs(tsk: &TaskStruct) {
    drop(tsk.fs.lock().take());
}

/// Hands the children to a new parent, becomes a zombie and tells the
/// parent; or, if the parent ignores SIGCHLD, reaps itself at once.
///
/// Linux: exit_notify() in kernel/exit.c
fn exit_notify(tsk: &Arc<TaskStruct>) {
    let mut tasklist = TASKLIST_LOCK.lock();
    let dead = forget_original_parent(tsk, &mut tasklist);
    let parent = tsk.family.get(&tasklist).parent.upgrade();
    tsk.exit_state.store(EXIT_ZOMBIE, Ordering::Release);
    let sig = tsk.exit_signal.load(Ordering::Relaxed);
    let leader = tsk.pid() == tsk.tgid();
    let autoreap = match &parent {
        // A leader with live threads stays a silent zombie until the last
        // thread is released (delay_group_leader).
        Some(_) if leader && !thread_group_empty(tsk, &tasklist) => false,
        Some(parent) if sig >= 0 => do_notify_parent(tsk, parent, sig),
        _ => true,
    };
    if autoreap {
        tsk.exit_state.store(EXIT_DEAD, Ordering::Release);
    }
    drop(tasklist);
    if leader {
        crate::pidfd::do_notify_pidfd(tsk);
    }
    crate::fs::exec::wake_group_exec_task(tsk);
    for p in dead {
        release_task(&p);
    }
    if autoreap {
        release_task(tsk);
    }
}

/// Re-parents every child of the exiting `father` to a new reaper. Zombie
/// children are announced to the new parent; those it does not want
/// (SIGCHLD ignored) are returned to be released.
///
/// Linux: forget_original_parent() / reparent_leader() in kernel/exit.c
fn forget_original_parent(
    father: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) -> Vec<Arc<TaskStruct>> {
    let children = core::mem::take(&mut father.family.get_mut(tasklist).children);
    if children.is_empty() {
        return Vec::new();
    }
    let reaper = find_new_reaper(father, tasklist);
    let mut dead = Vec::new();
    for child in children {
        let family = child.family.get_mut(tasklist);
        family.real_parent = Arc::downgrade(&reaper);
        crate::trace::trace(crate::trace::TraceEvent::Reparent {
            pid: child.pid(),
            reaper: reaper.pid(),
        });
        family.parent = Arc::downgrade(&reaper);
        // Linux: reparent_leader(): a clone child's own exit signal must
        // not reach init or a subreaper, nor hide it from their wait.
        if reaper.tgid() != father.tgid() {
            child.exit_signal.store(SIGCHLD, Ordering::Relaxed);
        }
        if child.exit_state() == EXIT_ZOMBIE && do_notify_parent(&child, &reaper, SIGCHLD) {
            child.exit_state.store(EXIT_DEAD, Ordering::Release);
            dead.push(child.clone());
        }
        reaper.family.get_mut(tasklist).children.push(child);
    }
    dead
}

/// Chooses who adopts the orphans of `father`: a live thread of its own
/// group; else the nearest ancestor that called
/// prctl(PR_SET_CHILD_SUBREAPER); else init.
///
/// Linux: find_new_reaper() in kernel/exit.c
fn find_new_reaper(
    father: &Arc<TaskStruct>,
    tasklist: &SpinLockGuard<'_, TaskList>,
) -> Arc<TaskStruct> {
    let sibling_thread = tasklist.tasks.iter().find(|t| {
        !Arc::ptr_eq(t, father) && t.tgid() == father.tgid() && t.flags() & PF_EXITING == 0
    });
    if let Some(thread) = sibling_thread {
        return thread.clone();
    }
    if father.signal().has_child_subreaper.load(Ordering::Relaxed) {
        let mut ancestor = father.family.get(tasklist).real_parent.upgrade();
        while let Some(a) = ancestor {
            if a.pid() <= 1 {
                break;
            }
            if a.signal().is_child_subreaper.load(Ordering::Relaxed) && a.flags() & PF_EXITING == 0
            {
                return a;
            }
            ancestor = a.family.get(tasklist).real_parent.upgrade();
        }
    }
    child_reaper(tasklist)
}

/// The init task, reaper of last resort (Linux: pid_ns->child_reaper).
fn child_reaper(tasklist: &SpinLockGuard<'_, TaskList>) -> Arc<TaskStruct> {
    tasklist
        .tasks
        .iter()
        .find(|t| t.pid() == 1)
        .cloned()
        .expect("init is alive")
}

/// Removes a dead task from the process tree and the task list, and frees
/// its pid. The task_struct itself (and its stack) goes when the last
/// reference drops, which for a task that is still switching out is in
/// finish_task_switch.
///
/// Linux: release_task() in kernel/exit.c
pub fn release_task(p: &Arc<TaskStruct>) {
    crate::trace::trace(crate::trace::TraceEvent::Free { pid: p.pid() });
    let mut tasklist = TASKLIST_LOCK.lock();
    let leader = (p.pid() != p.tgid())
        .then(|| tasklist.tasks.iter().find(|t| t.pid() == p.tgid()).cloned())
        .flatten();
    if let Some(parent) = p.family.get(&tasklist).real_parent.upgrade() {
        parent
            .family
            .get_mut(&mut tasklist)
            .children
            .retain(|c| !Arc::ptr_eq(c, p));
    }
    tasklist.tasks.retain(|t| !Arc::ptr_eq(t, p));
    tasklist.nr_threads -= 1;
    crate::rusage::__exit_signal(p);
    // Linux: the flush_sigqueue() calls of __exit_signal().
    crate::signal::flush_sigqueue(&p.pending);
    if p.pid() == p.tgid() {
        crate::signal::flush_sigqueue(&p.signal().shared_pending);
    }
    let notify =
        leader.filter(|l| l.exit_state() == EXIT_ZOMBIE && thread_group_empty(l, &tasklist));
    let leader_parent = notify
        .as_ref()
        .and_then(|l| l.family.get(&tasklist).parent.upgrade());
    drop(tasklist);
    crate::fs::exec::wake_group_exec_task(p);
    drop(p.thread_pid.lock().take());
    drop(p.sighand.lock().take());
    if let (Some(leader), Some(parent)) = (notify, leader_parent) {
        let sig = leader.exit_signal.load(Ordering::Relaxed);
        if do_notify_parent(&leader, &parent, sig)
            && leader.exit_state.swap(EXIT_DEAD, Ordering::AcqRel) == EXIT_ZOMBIE
        {
            release_task(&leader);
        }
    }
}
