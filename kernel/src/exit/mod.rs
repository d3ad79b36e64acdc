//! Ending tasks: do_exit tears a task down to a zombie and release_task
//! frees what is left once it is reaped. The parent's side, wait4 and
//! waitid, is in `wait.rs` and `waitid.rs`.
//!
//! Linux: kernel/exit.c
//! Not modelled: cgroups, task works, taskstats.

mod pgrp;
#[cfg(feature = "ktest")]
mod tests;
mod wait;
mod waitid;

pub use pgrp::is_current_pgrp_orphaned;
pub use wait::{__WALL, WNOHANG, WaitResult, kernel_wait4, sys_wait4};
pub use waitid::sys_waitid;

use crate::arch::sync::SpinLockGuard;
use crate::sched::core::do_task_dead;
use crate::signal::{SIGCHLD, do_notify_parent};
use crate::task::{EXIT_DEAD, EXIT_ZOMBIE, PF_EXITING, TaskStruct, current};
use crate::tasklist::{TASKLIST_LOCK, TaskList, for_each_thread, thread_group_empty};
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
    crate::signal::zap_other_threads(&me);
    exit_code
}

/// A dead process's wait status: its group exit's code (an exit_group, a
/// fatal signal, or the last thread's own exit), else `p`'s exit code.
///
/// Linux: the status of wait_task_zombie() in kernel/exit.c and of
/// do_notify_parent() in kernel/signal.c
pub fn zombie_status(p: &TaskStruct) -> i32 {
    let sig = p.signal();
    if sig.group_exit.load(Ordering::Acquire) {
        sig.group_exit_code.load(Ordering::Acquire)
    } else {
        p.exit_code.load(Ordering::Relaxed)
    }
}

/// The last thread of a process to exit, with no group exit under way,
/// makes its own code the process's: a leader that called exit(2) first
/// and a thread that exited last with another code leave the thread's.
///
/// Linux: synchronize_group_exit() in kernel/exit.c
/// Differs: at the last count-out of `live` (after exit_signals), where
/// Linux counts quick_threads down just before; no other thread runs then.
fn synchronize_group_exit(tsk: &TaskStruct, code: i32) {
    let sig = tsk.signal();
    if sig.group_exec.load(Ordering::Acquire) {
        return;
    }
    if !sig.group_exit.load(Ordering::Acquire) {
        sig.group_exit_code.store(code, Ordering::Release);
        sig.group_exit.store(true, Ordering::Release);
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
    crate::fs::coredump::coredump_task_exit(&tsk, None);
    tsk.exit_code.store(code, Ordering::Relaxed);
    crate::trace::trace(crate::trace::TraceEvent::Exit {
        pid: tsk.pid(),
        code,
    });
    let group_dead = group_dead(&tsk);
    if group_dead {
        synchronize_group_exit(&tsk, code);
        crate::time::itimer::exit_itimers(tsk.signal());
        crate::time::posix_timers::exit_itimers(tsk.signal());
    }
    exit_mm(&tsk);
    if group_dead && is_session_leader(&tsk) {
        crate::drivers::tty::disassociate_ctty();
    }
    exit_files(&tsk);
    exit_fs(&tsk);
    crate::nsproxy::exit_task_namespaces(&tsk);
    exit_notify(&tsk, group_dead);
}

/// Counts `tsk` out of its process's live threads; whether it was the
/// last, so that the process ends with it. Called once per task, after
/// exit_signals marked it exiting.
///
/// Linux: `group_dead = atomic_dec_and_test(&tsk->signal->live)` in do_exit()
fn group_dead(tsk: &TaskStruct) -> bool {
    tsk.signal().live.fetch_sub(1, Ordering::AcqRel) == 1
}

/// Whether `tsk`'s process leads its session (Linux: signal->leader, set
/// by setsid).
fn is_session_leader(tsk: &TaskStruct) -> bool {
    tsk.signal().session.load(Ordering::Relaxed) == tsk.tgid()
}

/// Marks the task as exiting, so no new signals are aimed at it; a
/// tracer waiting in ptrace_attach for its ptrace stop goes on.
///
/// Linux: exit_signals() in kernel/signal.c
/// Differs: Linux ends JOBCTL_TRAPPING earlier, when complete_signal()
/// clears a fatal signal's targets' JOBCTL_PENDING_MASK.
fn exit_signals(tsk: &TaskStruct) {
    tsk.flags.fetch_or(PF_EXITING, Ordering::Relaxed);
    let _stop = tsk.signal().siglock.lock();
    crate::signal::task_clear_jobctl_trapping(tsk);
}

/// Drops the task's address space; before that, releases a vfork parent or
/// a kthread_stop caller waiting on `vfork_done`. When another task still
/// uses the mm (a thread, a vfork parent), its tables stay loaded here
/// (Linux: enter_lazy_tlb()), which costs nothing if that task runs next.
/// When this task was the last user, mmput makes every CPU let go of the
/// mm, this one included, and the memory is freed here, as Linux's
/// mmput() -> exit_mmap() does.
///
/// Linux: exit_mm() in kernel/exit.c (exit_mm_release() -> mm_release())
fn exit_mm(tsk: &TaskStruct) {
    mm_release(tsk);
    if let Some(mm) = tsk.mm.take() {
        crate::rusage::setmax_mm_hiwater_rss(tsk, &mm);
        crate::fork::mmput(mm);
    }
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
    // Only another user of the mm can be waiting on the word.
    let shared = tsk
        .mm
        .lock()
        .as_ref()
        .is_some_and(|mm| mm.mm_users.load(Ordering::Relaxed) > 1);
    if tid_addr != 0 && shared {
        let _ = crate::mm::uaccess::put_user(tid_addr, 0u32);
        let _ = crate::futex::futex_wake(tid_addr, false, 1, crate::futex::FUTEX_BITSET_MATCH_ANY);
    }
    // Differs: Linux completes under task_lock; here the lock is dropped
    // first, since select_task_rq reads vfork_done under the child's
    // pi_lock (likely_short_lived) and complete() takes the waiter's.
    let done = tsk.vfork_done.lock().take();
    if let Some(done) = done {
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
/// parent; or, if the parent ignores SIGCHLD, reaps itself at once. The
/// last thread of a process makes its process group orphaned if its
/// parent was the group's last link to the session: stopped members then
/// get SIGHUP and SIGCONT. A traced task, thread or process, tells its
/// tracer first and stays a zombie for it.
///
/// Linux: exit_notify() in kernel/exit.c
fn exit_notify(tsk: &Arc<TaskStruct>, group_dead: bool) {
    find_child_reaper(tsk);
    let mut tasklist = TASKLIST_LOCK.lock();
    let dead = forget_original_parent(tsk, &mut tasklist);
    if group_dead {
        let leader = tsk
            .family
            .get(&tasklist)
            .group_leader
            .upgrade()
            .unwrap_or_else(|| tsk.clone());
        pgrp::kill_orphaned_pgrp(&leader, None, &tasklist);
    }
    let parent = tsk.family.get(&tasklist).parent.upgrade();
    tsk.exit_state.store(EXIT_ZOMBIE, Ordering::Release);
    let sig = tsk.exit_signal.load(Ordering::Relaxed);
    let leader = tsk.pid() == tsk.tgid();
    let autoreap = match &parent {
        Some(tracer) if tsk.ptrace.is_traced() => {
            let own = leader
                && thread_group_empty(tsk, &tasklist)
                && !crate::ptrace::ptrace_reparented(tsk, &tasklist);
            do_notify_parent(tsk, tracer, if own { sig } else { SIGCHLD }, &tasklist)
        }
        // A leader with live threads stays a silent zombie until the last
        // thread is released (delay_group_leader).
        Some(_) if leader && !thread_group_empty(tsk, &tasklist) => false,
        Some(parent) if sig >= 0 => do_notify_parent(tsk, parent, sig, &tasklist),
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

/// Detaches the tracees of the exiting `father` (exit_ptrace), then
/// re-parents every child to a new reaper; one traced by another task
/// keeps its tracer as `parent`. A child
/// that asked for a parent-death signal (PR_SET_PDEATHSIG) gets it, since
/// the thread that created it is gone. Zombie children are announced to
/// the new parent; those it does not want (SIGCHLD ignored) are returned
/// to be released. A child in another process group may become orphaned
/// (kill_orphaned_pgrp).
///
/// Linux: forget_original_parent() / reparent_leader() in kernel/exit.c
fn forget_original_parent(
    father: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) -> Vec<Arc<TaskStruct>> {
    let mut dead = crate::ptrace::exit_ptrace(father, tasklist);
    let children = core::mem::take(&mut father.family.get_mut(tasklist).children);
    if children.is_empty() {
        return dead;
    }
    let reaper = find_new_reaper(father, tasklist);
    for child in children {
        crate::trace::trace(crate::trace::TraceEvent::Reparent {
            pid: child.pid(),
            reaper: reaper.pid(),
        });
        // Every thread of the child's process: each has its own parent
        // pointers (getppid reads the caller's) and parent-death signal.
        // By index, since each step changes a thread's family under the lock.
        let mut i = 0;
        while let Some(t) = for_each_thread(&child, tasklist).nth(i).cloned() {
            reparent_thread(&t, &reaper, tasklist);
            i += 1;
        }
        // Linux: reparent_leader(): a clone child's own exit signal must
        // not reach init or a subreaper, nor hide it from their wait.
        if reaper.tgid() != father.tgid() {
            child.exit_signal.store(SIGCHLD, Ordering::Relaxed);
        }
        if child.exit_state() == EXIT_ZOMBIE
            && !child.ptrace.is_traced()
            && do_notify_parent(&child, &reaper, SIGCHLD, tasklist)
        {
            child.exit_state.store(EXIT_DEAD, Ordering::Release);
            dead.push(child.clone());
        }
        if reaper.tgid() != father.tgid() && child.pid() == child.tgid() {
            pgrp::kill_orphaned_pgrp(&child, Some(father), tasklist);
        }
        reaper.family.get_mut(tasklist).children.push(child);
    }
    dead
}

/// Points thread `t` of an orphaned child at its new parent `reaper` (a
/// traced thread keeps its tracer as `parent`), and sends the
/// parent-death signal it asked for to its process.
///
/// Linux: the for_each_thread() loop of forget_original_parent() in kernel/exit.c
fn reparent_thread(
    t: &Arc<TaskStruct>,
    reaper: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) {
    let family = t.family.get_mut(tasklist);
    family.real_parent = Arc::downgrade(reaper);
    if !t.ptrace.is_traced() {
        family.parent = Arc::downgrade(reaper);
    }
    let pdeath_signal = t.pdeath_signal.load(Ordering::Relaxed);
    if pdeath_signal != 0 {
        crate::signal::group_send_sig_locked(
            pdeath_signal,
            crate::signal::SendSig::NoInfo,
            t,
            tasklist,
        );
    }
}

/// Chooses who adopts the orphans of `father`: a live thread of its own
/// group; else the nearest ancestor in its pid namespace that called
/// prctl(PR_SET_CHILD_SUBREAPER); else the namespace's init.
///
/// Linux: find_new_reaper() in kernel/exit.c
fn find_new_reaper(
    father: &Arc<TaskStruct>,
    tasklist: &SpinLockGuard<'_, TaskList>,
) -> Arc<TaskStruct> {
    if let Some(thread) = find_alive_thread(father, tasklist) {
        return thread.clone();
    }
    let reaper = child_reaper(father);
    if father.signal().has_child_subreaper.load(Ordering::Relaxed) {
        let level = |t: &TaskStruct| crate::pid::task_pid(t).map_or(0, |pid| pid.level);
        let mut ancestor = father.family.get(tasklist).real_parent.upgrade();
        while let Some(a) = ancestor {
            // Only ancestors in father's namespace (Linux compares levels).
            if a.pid() == 0 || Arc::ptr_eq(&a, &reaper) || level(&a) != level(father) {
                break;
            }
            if a.signal().is_child_subreaper.load(Ordering::Relaxed) && a.flags() & PF_EXITING == 0
            {
                return a;
            }
            ancestor = a.family.get(tasklist).real_parent.upgrade();
        }
    }
    reaper
}

/// A thread of `p`'s process, other than `p`, that has not begun to exit.
///
/// Linux: find_alive_thread() in kernel/exit.c
fn find_alive_thread<'a>(p: &'a TaskStruct, tasklist: &'a TaskList) -> Option<&'a Arc<TaskStruct>> {
    for_each_thread(p, tasklist).find(|t| !core::ptr::eq(&***t, p) && t.flags() & PF_EXITING == 0)
}

/// The init of `father`'s pid namespace, reaper of last resort (Linux:
/// task_active_pid_ns(father)->child_reaper). An init outlives its
/// namespace's members (zap_pid_ns_processes); were it gone, the nearest
/// ancestor namespace's init adopts.
fn child_reaper(father: &TaskStruct) -> Arc<TaskStruct> {
    let mut ns = crate::pid::task_active_pid_ns(father);
    loop {
        if let Some(reaper) = ns.child_reaper.lock().upgrade() {
            return reaper;
        }
        ns = ns
            .parent
            .clone()
            .expect("the root namespace's init never exits");
    }
}

/// When the exiting `father` is its namespace's init: hands the role to a
/// live thread of its process, or, when it is the last, kills and reaps
/// every member of the namespace before going on with its own exit.
///
/// Linux: find_child_reaper() in kernel/exit.c
/// Differs: called before exit_notify takes the tasklist lock, where Linux
/// drops the lock around zap_pid_ns_processes.
fn find_child_reaper(father: &Arc<TaskStruct>) {
    let ns = crate::pid::task_active_pid_ns(father);
    let is_reaper = ns
        .child_reaper
        .lock()
        .upgrade()
        .is_some_and(|r| Arc::ptr_eq(&r, father));
    if !is_reaper || ns.level == 0 {
        return;
    }
    let alive = find_alive_thread(father, &TASKLIST_LOCK.lock()).cloned();
    match alive {
        Some(thread) => *ns.child_reaper.lock() = Arc::downgrade(&thread),
        None => crate::pid_namespace::zap_pid_ns_processes(&ns),
    }
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
    crate::ptrace::ptrace_release_task(p, &mut tasklist);
    // Linux: in __exit_signal().
    p.signal().nr_threads.fetch_sub(1, Ordering::Relaxed);
    let pids = __unhash_process(p, &mut tasklist);
    crate::rusage::__exit_signal(p);
    // `None` for a leader: it leads itself.
    let leader = p.family.get(&tasklist).group_leader.upgrade();
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
    for pid in pids.iter().flatten() {
        crate::pid::free_pid(pid);
    }
    drop(p.sighand.lock().take());
    // Linux: dec_rlimit_ucounts(task_ucounts(p), UCOUNT_RLIMIT_NPROC, 1)
    drop(p.nproc.lock().take());
    if let (Some(leader), Some(parent)) = (notify, leader_parent) {
        let sig = leader.exit_signal.load(Ordering::Relaxed);
        let notified = do_notify_parent(&leader, &parent, sig, &TASKLIST_LOCK.lock());
        if notified && leader.exit_state.swap(EXIT_DEAD, Ordering::AcqRel) == EXIT_ZOMBIE {
            release_task(&leader);
        }
    }
}

/// Unlinks the released `p` from the task list and from its process's
/// threads, and a leader from its parent's children and from its process
/// group and session. Returns the pids no task uses any more, for the
/// caller to free once it has dropped the tasklist lock: `p`'s own, unless
/// a group or session still has its number, and those of the group and
/// session a leader leaves, if it was their last member and their creator
/// is gone.
///
/// Linux: __unhash_process() in kernel/exit.c
/// Differs: the task list holds threads too, so every task leaves it.
fn __unhash_process(
    p: &Arc<TaskStruct>,
    tasklist: &mut SpinLockGuard<'_, TaskList>,
) -> [Option<Arc<crate::pid::Pid>>; 3] {
    unhash_from_lists(p, tasklist);
    let own = crate::pid::task_pid(p);
    if p.pid() != p.tgid() {
        return [own, None, None];
    }
    let sig = p.signal();
    [
        own.and_then(|pid| crate::pid_group::detach_pid(pid, tasklist)),
        crate::pid_group::put_group_pid(sig.pgrp.load(Ordering::Relaxed), tasklist),
        crate::pid_group::put_group_pid(sig.session.load(Ordering::Relaxed), tasklist),
    ]
}

/// __unhash_process's unlinking from the task list, the process's threads
/// and the parent's children.
fn unhash_from_lists(p: &Arc<TaskStruct>, tasklist: &mut SpinLockGuard<'_, TaskList>) {
    tasklist.nr_threads -= 1;
    if p.pid() == p.tgid()
        && let Some(parent) = p.family.get(tasklist).real_parent.upgrade()
    {
        parent
            .family
            .get_mut(tasklist)
            .children
            .retain(|c| !Arc::ptr_eq(c, p));
    }
    tasklist.tasks.retain(|t| !Arc::ptr_eq(t, p));
    p.signal().thread_head.get_mut(tasklist).del(p);
}
