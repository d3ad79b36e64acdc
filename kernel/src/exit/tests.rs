//! Tests of exit and wait: zombies, reaping, re-parenting of orphans.

use super::*;
use crate::errno::Errno;
use crate::fork::{CloneFlags, kernel_thread};
use crate::ktest::{Resources, wait_until};
use crate::pid::PidNr;
use crate::pid::find_task_by_vpid;
use crate::sched::completion::Completion;
use crate::task::ThreadFn;
use crate::{kassert, kassert_eq, ktest};
use alloc::string::String;

fn spawn(name: &'static str, f: impl Fn() -> i32 + Send + Sync + 'static) -> Result<PidNr, String> {
    let body: ThreadFn = Arc::new(f);
    kernel_thread(
        body,
        name,
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
        crate::signal::SIGCHLD,
    )
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
        kassert_eq!(kernel_wait4(pid, 0).map(|r| (r.pid, r.status)), Ok((pid, 42 << 8)));
        kassert!(find_task_by_vpid(pid).is_none(), "release_task unlisted it");
        kassert_eq!(kernel_wait4(pid, 0), Err(Errno::ECHILD), "a second wait finds nothing");
    }
}

ktest! {
    fn wnohang_returns_zero_while_the_child_runs() {
        let go = Arc::new(Completion::new());
        let gate = go.clone();
        let pid = spawn("ktest-busy", move || { gate.wait_for_completion(); 0 })?;
        kassert_eq!(kernel_wait4(pid, WNOHANG), Ok(WaitResult::default()));
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
        // A reaped child is freed when its CPU has switched away from it
        // (finish_task_switch), which on another CPU may be after wait4.
        let freed = |pid| {
            let task = find_task_by_vpid(pid).map(|t| Arc::downgrade(&t));
            move || task.as_ref().is_none_or(|t| t.strong_count() == 0)
        };
        // The warm-up has 16 children alive at once: the scheduler's task
        // slots (sched/timeline.rs) keep their high-water mark, and on
        // several CPUs the loop below can have a few children in flight
        // (reaped, but freed only when their CPU has switched away, which
        // a host that stalls that emulated CPU delays: with 8, the heap
        // was 4672 bytes fuller after the loop once at --smp 4 in CI).
        let mut warm_up = alloc::vec::Vec::new();
        for _ in 0..16 {
            let pid = spawn("ktest-cycle", || 0)?;
            warm_up.push((pid, freed(pid)));
        }
        for (pid, warm_up_freed) in warm_up {
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
            kassert!(wait_until(1000, warm_up_freed), "the warm-up child is freed");
        }
        let before = Resources::snapshot();
        let mut last_freed = None;
        for i in 0..10_000 {
            let pid = spawn("ktest-cycle", move || (i & 0xff) << 8)?;
            last_freed = Some(freed(pid));
            kassert_eq!(kernel_wait4(pid, 0).map(|r| (r.pid, r.status)), Ok((pid, (i & 0xff) << 8)));
        }
        if let Some(last_freed) = last_freed {
            kassert!(wait_until(1000, last_freed), "the last child is freed");
        }
        // What other CPUs were still finishing (a page, heap) is done first.
        kassert_eq!(Resources::settled(), before);
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
                crate::signal::SIGCHLD,
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
            let t = kernel_thread(thread, "ktest-thread", flags, crate::signal::SIGCHLD).unwrap_or(-1);
            let c = kernel_thread(child, "ktest-child", CloneFlags::CLONE_FS, crate::signal::SIGCHLD).unwrap_or(-1);
            *pids2.lock() = (t, c);
            0
        })?;
        kassert!(wait_until(200, || find_task_by_vpid(leader).is_some_and(|t| t.exit_state() == EXIT_ZOMBIE)));
        let (thread, child) = *pids.lock();
        kassert!(thread > 0 && child > 0);
        kassert_eq!(find_task_by_vpid(thread).map(|t| t.tgid()), Some(leader), "CLONE_THREAD joins the group");
        kassert_eq!(parent_pid(child), Some(thread), "the orphan went to its dead parent's sibling thread");
        kassert_eq!(kernel_wait4(leader, WNOHANG), Ok(WaitResult::default()), "a zombie leader is not reaped while a thread lives");
        release.complete_all();
        kassert_eq!(kernel_wait4(leader, 0).map(|r| r.pid), Ok(leader), "reaped once the last thread is gone");
        kassert!(wait_until(200, || find_task_by_vpid(child).is_none() && find_task_by_vpid(thread).is_none()));
    }
}

/// The pids on `p`'s process's thread list, in list order.
fn thread_list(p: &TaskStruct) -> Vec<PidNr> {
    let tasklist = TASKLIST_LOCK.lock();
    crate::tasklist::for_each_thread(p, &tasklist)
        .map(|t| t.pid())
        .collect()
}

ktest! {
    fn the_thread_list_holds_the_leader_first_and_each_thread_until_it_is_released() {
        let (first, second) = (Arc::new(Completion::new()), Arc::new(Completion::new()));
        let pids = Arc::new(crate::arch::sync::SpinLock::new(Vec::new()));
        let (pids2, f2, s2) = (pids.clone(), first.clone(), second.clone());
        let leader = spawn("ktest-leader", move || {
            let flags = CloneFlags::CLONE_THREAD | CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES;
            for done in [f2.clone(), s2.clone()] {
                let body: ThreadFn = Arc::new(move || { done.wait_for_completion(); 0 });
                let pid = kernel_thread(body, "ktest-thread", flags, crate::signal::SIGCHLD).unwrap_or(-1);
                pids2.lock().push(pid);
            }
            0
        })?;
        kassert!(wait_until(200, || find_task_by_vpid(leader).is_some_and(|t| t.exit_state() == EXIT_ZOMBIE)));
        let l = find_task_by_vpid(leader).ok_or("the zombie leader is gone")?;
        let threads = pids.lock().clone();
        kassert_eq!(thread_list(&l), [leader, threads[0], threads[1]].to_vec(), "the leader first, then each thread in creation order");
        kassert!(!thread_group_empty(&l, &TASKLIST_LOCK.lock()));
        first.complete_all();
        kassert!(wait_until(200, || thread_list(&l) == [leader, threads[1]].to_vec()), "a released thread leaves the list");
        kassert!(!thread_group_empty(&l, &TASKLIST_LOCK.lock()), "a zombie leader with a thread left is not alone");
        kassert_eq!(kernel_wait4(leader, WNOHANG), Ok(WaitResult::default()));
        second.complete_all();
        kassert_eq!(kernel_wait4(leader, 0).map(|r| r.pid), Ok(leader), "the last thread's release lets the leader be reaped");
        kassert_eq!(thread_list(&l), Vec::<PidNr>::new(), "the reaped leader left the list too");
    }
}
