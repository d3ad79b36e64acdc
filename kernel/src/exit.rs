//! Ending tasks: do_exit tears a task down to a zombie, its parent's wait4
//! collects the status, and release_task frees what is left.
//!
//! Linux: kernel/exit.c
//! Not modelled: ptrace, process groups and sessions, cgroups, task works,
//! taskstats, core dumps.

use crate::arch::sync::SpinLockGuard;
use crate::errno::Errno;
use crate::fork::{TASKLIST_LOCK, TaskList};
use crate::pid::PidNr;
use crate::sched::core::do_task_dead;
use crate::signal::{SIGCHLD, do_notify_parent};
use crate::task::{EXIT_DEAD, EXIT_ZOMBIE, PF_EXITING, TaskStruct, current};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Return at once if no child has exited (Linux: WNOHANG).
pub const WNOHANG: u32 = 0x0000_0001;
/// Also wait for stopped children (Linux: WUNTRACED).
pub const WUNTRACED: u32 = 0x0000_0002;
/// Also report children continued by SIGCONT (Linux: WCONTINUED).
pub const WCONTINUED: u32 = 0x0000_0008;
/// Only the calling thread's children, not its group's (Linux: __WNOTHREAD).
pub const __WNOTHREAD: u32 = 0x2000_0000;
/// Wait for children of any kind (Linux: __WALL).
pub const __WALL: u32 = 0x4000_0000;
/// Wait only for "clone" children, which report with a signal other than
/// SIGCHLD (Linux: __WCLONE).
pub const __WCLONE: u32 = 0x8000_0000;

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
    for t in crate::fork::thread_group(me.tgid()) {
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

/// Linux: SYSCALL_DEFINE4(wait4) in kernel/exit.c
pub fn sys_wait4(
    upid: i32,
    stat_addr: u64,
    options: u32,
    rusage: u64,
) -> crate::syscall::SysResult {
    if stat_addr != 0 && !crate::mm::uaccess::access_ok(stat_addr, 4) {
        return Err(Errno::EFAULT);
    }
    let r = kernel_wait4(upid, options)?;
    if r.pid != 0 && stat_addr != 0 {
        crate::mm::uaccess::put_user(stat_addr, r.status)?;
    }
    if rusage != 0 {
        crate::mm::uaccess::put_user(rusage, [0u64; 18])?;
    }
    Ok(r.pid as u64)
}

const P_ALL: u32 = 0;
const P_PID: u32 = 1;
const P_PGID: u32 = 2;
const P_PIDFD: u32 = 3;
const WEXITED: u32 = 4;
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;

/// Linux: SYSCALL_DEFINE5(waitid) in kernel/exit.c (P_ALL and P_PID, WEXITED)
pub fn sys_waitid(which: u32, upid: i32, infop: u64, options: u32) -> crate::syscall::SysResult {
    let pid = match which {
        P_ALL => -1,
        P_PID if upid > 0 => upid,
        P_PGID if upid >= 0 => -upid,
        P_PIDFD => crate::fs::read_write::fdget(upid)?
            .f_op
            .pidfd()
            .ok_or(Errno::EINVAL)?,
        _ => return Err(Errno::EINVAL),
    };
    if options & WEXITED == 0 {
        return Err(Errno::EINVAL);
    }
    let r = kernel_wait4(pid, options & (WNOHANG | __WNOTHREAD | __WCLONE | __WALL))?;
    if infop != 0 {
        let mut info = [0i32; 32];
        if r.pid != 0 {
            let (code, status) = if r.status & 0x7f == 0 {
                (CLD_EXITED, (r.status >> 8) & 0xff)
            } else {
                (CLD_KILLED, r.status & 0x7f)
            };
            info[0] = SIGCHLD;
            info[2] = code;
            info[4] = r.pid;
            info[6] = status;
        }
        crate::mm::uaccess::put_user(infop, info)?;
    }
    Ok(0)
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
    exit_mm(&tsk);
    exit_files(&tsk);
    exit_fs(&tsk);
    exit_notify(&tsk);
}

/// Marks the task as exiting, so no new signals are aimed at it.
///
/// Linux: exit_signals() in kernel/signal.c
fn exit_signals(tsk: &TaskStruct) {
    tsk.flags.fetch_or(PF_EXITING, Ordering::Relaxed);
}

/// Drops the address space; before that, releases a vfork parent or a
/// kthread_stop caller waiting on `vfork_done`.
///
/// Linux: exit_mm() in kernel/exit.c (exit_mm_release() -> mm_release())
fn exit_mm(tsk: &TaskStruct) {
    mm_release(tsk);
    let mm = tsk.mm.lock().take();
    if mm.is_some() {
        crate::mm::memory::switch_mm(None);
    }
    drop(mm);
}

/// Completes `vfork_done`, once: the parent of a vfork child, or a
/// kthread_stop caller, may stop waiting.
///
/// Linux: mm_release() / complete_vfork_done() in kernel/fork.c
pub fn mm_release(tsk: &TaskStruct) {
    let tid_addr = tsk.clear_child_tid.swap(0, Ordering::Relaxed);
    if tid_addr != 0 && tsk.mm.lock().is_some() {
        let _ = crate::mm::uaccess::put_user(tid_addr, 0u32);
        let _ = crate::futex::futex_wake(tid_addr, false, 1);
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
    for p in dead {
        release_task(&p);
    }
    if autoreap {
        release_task(tsk);
    }
}

/// Makes the exec'ing thread `tsk` the group leader once the old leader is
/// a zombie: it takes the leader's pid (so the process keeps its pid across
/// exec), exit signal and place among its parent's children, and the old
/// leader is released.
///
/// Linux: the `!thread_group_leader(tsk)` part of de_thread() in fs/exec.c
pub fn exchange_leader(tsk: &Arc<TaskStruct>) {
    let mut tasklist = TASKLIST_LOCK.lock();
    let Some(leader) = tasklist
        .tasks
        .iter()
        .find(|t| t.pid() == tsk.tgid())
        .cloned()
    else {
        return;
    };
    let (leader_pid, my_pid) = (leader.pid(), tsk.pid());
    tsk.set_pid(leader_pid);
    leader.set_pid(my_pid);
    let leader_nr = leader.thread_pid.lock().take();
    let my_nr = core::mem::replace(&mut *tsk.thread_pid.lock(), leader_nr);
    *leader.thread_pid.lock() = my_nr;
    tsk.exit_signal.store(
        leader.exit_signal.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    let parent = leader.family.get(&tasklist).real_parent.clone();
    if let Some(p) = parent.upgrade() {
        for child in p.family.get_mut(&mut tasklist).children.iter_mut() {
            if Arc::ptr_eq(child, &leader) {
                *child = tsk.clone();
            }
        }
    }
    let family = tsk.family.get_mut(&mut tasklist);
    family.real_parent = parent.clone();
    family.parent = parent;
    leader.exit_state.store(EXIT_DEAD, Ordering::Release);
    drop(tasklist);
    release_task(&leader);
}

/// Whether `p` is the only live member of its thread group.
///
/// Linux: thread_group_empty() in include/linux/sched/signal.h
fn thread_group_empty(p: &Arc<TaskStruct>, tasklist: &SpinLockGuard<'_, TaskList>) -> bool {
    !tasklist
        .tasks
        .iter()
        .any(|t| t.tgid() == p.tgid() && !Arc::ptr_eq(t, p) && t.exit_state() == 0)
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
    let notify =
        leader.filter(|l| l.exit_state() == EXIT_ZOMBIE && thread_group_empty(l, &tasklist));
    let leader_parent = notify
        .as_ref()
        .and_then(|l| l.family.get(&tasklist).parent.upgrade());
    drop(tasklist);
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

/// What wait4 reports: the child's pid and its status word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitResult {
    /// Pid of the reaped child; 0 under WNOHANG when none had exited.
    pub pid: PidNr,
    /// The wait status: `(code << 8)` for exit(code), the signal number for
    /// a kill (plus 0x80 for a core dump).
    pub status: i32,
}

/// Which children a wait selects (Linux: `enum pid_type` + pid in wait_opts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitWho {
    /// Any child (pid -1).
    Any,
    /// The child with this pid (pid > 0).
    Pid(PidNr),
    /// Any child in this process group (pid 0: the caller's; pid < -1: -pid).
    Pgid(PidNr),
}

/// Waits for a child to exit and reaps it.
///
/// Linux: kernel_wait4() in kernel/exit.c
///
/// # Errors
/// `ECHILD` when no child matches, `EINTR` when a signal interrupts the wait,
/// `EINVAL` for unknown option bits, `ESRCH` for INT_MIN.
/// Differs: stops and continues are not modelled, so WUNTRACED and
/// WCONTINUED are accepted but never report anything.
pub fn kernel_wait4(upid: PidNr, options: u32) -> Result<WaitResult, Errno> {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let who = match upid {
        -1 => WaitWho::Any,
        pid if pid > 0 => WaitWho::Pid(pid),
        0 => WaitWho::Pgid(current().signal().pgrp.load(Ordering::Relaxed)),
        // -INT_MIN is no process group.
        pid => WaitWho::Pgid(pid.checked_neg().ok_or(Errno::ESRCH)?),
    };
    do_wait(who, options)
}

/// Sleeps on the caller's `wait_chldexit` until an eligible child is a
/// zombie, then reaps it.
///
/// Linux: do_wait() / do_wait_thread() in kernel/exit.c
fn do_wait(who: WaitWho, options: u32) -> Result<WaitResult, Errno> {
    let me = current();
    let wq = &me.signal().wait_chldexit;
    let mut result = Err(Errno::ECHILD);
    wq.wait_event_interruptible(|| {
        result = wait_consider_children(&me, who, options);
        !matches!(result, Ok(None))
    })?;
    result.map(|r| r.unwrap_or(WaitResult { pid: 0, status: 0 }))
}

/// One pass over the children: `Ok(Some)` reaped one, `Ok(None)` means keep
/// waiting, `Err(ECHILD)` means there is nothing to wait for. Under WNOHANG
/// "keep waiting" becomes `Ok(Some(pid 0))`.
fn wait_consider_children(
    me: &TaskStruct,
    who: WaitWho,
    options: u32,
) -> Result<Option<WaitResult>, Errno> {
    let tasklist = TASKLIST_LOCK.lock();
    let own_only = options & __WNOTHREAD != 0;
    let children: Vec<&Arc<TaskStruct>> = tasklist
        .tasks
        .iter()
        .filter(|t| {
            if own_only {
                t.pid() == me.pid()
            } else {
                t.tgid() == me.tgid()
            }
        })
        .flat_map(|t| t.family.get(&tasklist).children.iter())
        .filter(|c| c.pid() == c.tgid())
        .collect();
    let eligible = |c: &Arc<TaskStruct>| eligible_child(c, who, options);
    if !children.iter().any(|c| eligible(c)) {
        return Err(Errno::ECHILD);
    }
    let zombie = children
        .iter()
        .filter(|c| eligible(c))
        .find(|c| c.exit_state() == EXIT_ZOMBIE && thread_group_empty(c, &tasklist))
        .map(|c| Arc::clone(c));
    // Claimed under the lock, so two waiters never reap the same zombie.
    if let Some(child) = &zombie {
        child.exit_state.store(EXIT_DEAD, Ordering::Release);
    }
    drop(tasklist);
    match zombie {
        Some(child) => Ok(Some(wait_task_zombie(&child))),
        None if options & WNOHANG != 0 => Ok(Some(WaitResult { pid: 0, status: 0 })),
        None => Ok(None),
    }
}

/// Whether the wait selects child `p`: by pid or group, and by kind. Without
/// __WALL, __WCLONE waits only for clone children (those whose exit signal
/// is not SIGCHLD) and its absence only for the others.
///
/// Linux: eligible_pid() / eligible_child() in kernel/exit.c
fn eligible_child(p: &TaskStruct, who: WaitWho, options: u32) -> bool {
    let pid_matches = match who {
        WaitWho::Any => true,
        WaitWho::Pid(pid) => p.pid() == pid,
        WaitWho::Pgid(pgrp) => p.signal().pgrp.load(Ordering::Relaxed) == pgrp,
    };
    let clone_child = p.exit_signal.load(Ordering::Relaxed) != SIGCHLD;
    pid_matches && (options & __WALL != 0 || clone_child == (options & __WCLONE != 0))
}

/// Collects the status of a zombie this waiter claimed, and releases it.
///
/// Linux: wait_task_zombie() in kernel/exit.c
fn wait_task_zombie(p: &Arc<TaskStruct>) -> WaitResult {
    let parent = crate::arch::percpu::with_current(|t| t.map_or(0, |t| t.pid()));
    crate::trace::trace(crate::trace::TraceEvent::Wait {
        parent,
        pid: p.pid(),
    });
    let sig = p.signal();
    let status = if sig.group_exit.load(Ordering::Acquire) {
        sig.group_exit_code.load(Ordering::Acquire)
    } else {
        p.exit_code.load(Ordering::Relaxed)
    };
    let result = WaitResult {
        pid: p.pid(),
        status,
    };
    account_reaped_times(p);
    release_task(p);
    result
}

/// The reaper inherits the times of the child it collects, and those the
/// child had collected (Linux: the cutime/cstime sums in wait_task_zombie()).
/// Differs: the child's own thread's times, not the group's.
fn account_reaped_times(p: &TaskStruct) {
    let waiter = current();
    let (child, me) = (p.signal(), waiter.signal());
    let utime = p.utime.load(Ordering::Relaxed) + child.cutime.load(Ordering::Relaxed);
    let stime = p.stime.load(Ordering::Relaxed) + child.cstime.load(Ordering::Relaxed);
    me.cutime.fetch_add(utime, Ordering::Relaxed);
    me.cstime.fetch_add(stime, Ordering::Relaxed);
}

mod tests {
    use super::*;
    use crate::fork::{CloneFlags, kernel_thread};
    use crate::ktest::{Resources, wait_until};
    use crate::pid::find_task_by_vpid;
    use crate::sched::completion::Completion;
    use crate::task::ThreadFn;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::string::String;

    fn spawn(
        name: &'static str,
        f: impl Fn() -> i32 + Send + Sync + 'static,
    ) -> Result<PidNr, String> {
        let body: ThreadFn = Arc::new(f);
        kernel_thread(body, name, CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES)
            .map_err(|e| alloc::format!("{e:?}"))
    }

    fn parent_pid(pid: PidNr) -> Option<PidNr> {
        let task = find_task_by_vpid(pid)?;
        let tasklist = TASKLIST_LOCK.lock();
        task.family
            .get(&tasklist)
            .real_parent
            .upgrade()
            .map(|p| p.pid())
    }

    ktest! {
        fn a_zombie_keeps_its_pid_and_exit_code_until_wait4_frees_it() {
            let pid = spawn("ktest-zombie", || 42 << 8)?;
            kassert!(wait_until(100, || find_task_by_vpid(pid).is_some_and(|t| t.exit_state() == EXIT_ZOMBIE)));
            let zombie = find_task_by_vpid(pid).ok_or("the zombie is still listed")?;
            kassert_eq!(zombie.exit_code.load(Ordering::Relaxed), 42 << 8);
            kassert_eq!(crate::sched::debug::task_state_to_char(&zombie), 'Z');
            drop(zombie);
            kassert_eq!(kernel_wait4(pid, 0), Ok(WaitResult { pid, status: 42 << 8 }));
            kassert!(find_task_by_vpid(pid).is_none(), "release_task unlisted it");
            kassert_eq!(kernel_wait4(pid, 0), Err(Errno::ECHILD), "a second wait finds nothing");
        }
    }

    ktest! {
        fn wnohang_returns_zero_while_the_child_runs() {
            let go = Arc::new(Completion::new());
            let gate = go.clone();
            let pid = spawn("ktest-busy", move || { gate.wait_for_completion(); 0 })?;
            kassert_eq!(kernel_wait4(pid, WNOHANG), Ok(WaitResult { pid: 0, status: 0 }));
            go.complete();
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        }
    }

    ktest! {
        fn wait4_for_a_task_that_is_not_our_child_fails_with_echild() {
            kassert_eq!(kernel_wait4(2, 0), Err(Errno::ECHILD));
            kassert_eq!(kernel_wait4(-1, WNOHANG), Err(Errno::ECHILD));
            kassert_eq!(kernel_wait4(-1, 0x100), Err(Errno::EINVAL));
        }
    }

    ktest! {
        fn ten_thousand_kernel_thread_create_exit_reap_cycles_return_every_resource() {
            let pid = spawn("ktest-cycle", || 0)?;
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
            let before = Resources::snapshot();
            for i in 0..10_000 {
                let pid = spawn("ktest-cycle", move || (i & 0xff) << 8)?;
                kassert_eq!(kernel_wait4(pid, 0), Ok(WaitResult { pid, status: (i & 0xff) << 8 }));
            }
            kassert_eq!(Resources::snapshot(), before);
        }
    }

    /// Starts a parent that creates `n` children and exits at once, leaving
    /// them orphans blocked on `release`. Returns the parent pid and the
    /// orphans' pids.
    fn make_orphans(n: usize, release: &Arc<Completion>) -> Result<(PidNr, Vec<PidNr>), String> {
        let pids = Arc::new(crate::arch::sync::SpinLock::new(Vec::new()));
        let (pids2, release2) = (pids.clone(), release.clone());
        let parent = spawn("ktest-parent", move || {
            for _ in 0..n {
                let r = release2.clone();
                let body: ThreadFn = Arc::new(move || {
                    r.wait_for_completion();
                    0
                });
                if let Ok(pid) = kernel_thread(
                    body,
                    "ktest-orphan",
                    CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
                ) {
                    pids2.lock().push(pid);
                }
            }
            0
        })?;
        kernel_wait4(parent, 0).map_err(|e| alloc::format!("{e:?}"))?;
        let pids = pids.lock().clone();
        if pids.len() != n {
            return Err(alloc::format!("made {} of {n} orphans", pids.len()));
        }
        Ok((parent, pids))
    }

    ktest! {
        fn orphans_are_reparented_to_init_and_init_reaps_them() {
            let release = Arc::new(Completion::new());
            let (_, orphans) = make_orphans(3, &release)?;
            for &pid in &orphans {
                kassert_eq!(parent_pid(pid), Some(1), "orphan {pid} belongs to init");
            }
            release.complete_all();
            kassert!(wait_until(200, || orphans.iter().all(|&p| find_task_by_vpid(p).is_none())), "init reaped them; no zombie is left");
        }
    }

    ktest! {
        fn orphans_go_to_the_nearest_child_subreaper() {
            let me = current();
            me.signal().is_child_subreaper.store(true, Ordering::Relaxed);
            let release = Arc::new(Completion::new());
            let made = make_orphans(2, &release);
            me.signal().is_child_subreaper.store(false, Ordering::Relaxed);
            let (_, orphans) = made?;
            for &pid in &orphans {
                kassert_eq!(parent_pid(pid), Some(me.pid()), "the subreaper adopted {pid}");
            }
            release.complete_all();
            for &pid in &orphans {
                kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
            }
        }
    }

    ktest! {
        fn orphans_go_to_a_live_thread_of_the_dead_parents_group_first() {
            let release = Arc::new(Completion::new());
            let pids = Arc::new(crate::arch::sync::SpinLock::new((0, 0)));
            let (pids2, r2) = (pids.clone(), release.clone());
            let leader = spawn("ktest-leader", move || {
                let r = r2.clone();
                let thread: ThreadFn = Arc::new(move || { r.wait_for_completion(); 0 });
                let flags = CloneFlags::CLONE_THREAD | CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES;
                let r = r2.clone();
                let child: ThreadFn = Arc::new(move || { r.wait_for_completion(); 0 });
                let t = kernel_thread(thread, "ktest-thread", flags).unwrap_or(-1);
                let c = kernel_thread(child, "ktest-child", CloneFlags::CLONE_FS).unwrap_or(-1);
                *pids2.lock() = (t, c);
                0
            })?;
            kassert!(wait_until(200, || find_task_by_vpid(leader).is_some_and(|t| t.exit_state() == EXIT_ZOMBIE)));
            let (thread, child) = *pids.lock();
            kassert!(thread > 0 && child > 0);
            kassert_eq!(find_task_by_vpid(thread).map(|t| t.tgid()), Some(leader), "CLONE_THREAD joins the group");
            kassert_eq!(parent_pid(child), Some(thread), "the orphan went to its dead parent's sibling thread");
            kassert_eq!(kernel_wait4(leader, WNOHANG), Ok(WaitResult { pid: 0, status: 0 }), "a zombie leader is not reaped while a thread lives");
            release.complete_all();
            kassert_eq!(kernel_wait4(leader, 0).map(|r| r.pid), Ok(leader), "reaped once the last thread is gone");
            kassert!(wait_until(200, || find_task_by_vpid(child).is_none() && find_task_by_vpid(thread).is_none()));
        }
    }
}
