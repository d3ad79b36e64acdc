//! The core scheduler's tests: preemption, sleeping and waking, the stack
//! of a dead task, context-switch counting.

use super::nr_context_switches;
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread};
use crate::ktest::wait_until;
use crate::pid::find_task_by_vpid;
use crate::sched::wait::WaitQueueHead;
use crate::signal::{SIGKILL, allow_signal, send_sig};
use crate::task::TASK_INTERRUPTIBLE;
use crate::task::{TASK_UNINTERRUPTIBLE, current};
use crate::{kassert, kassert_eq, ktest};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use core::sync::atomic::{AtomicBool, AtomicU64};

ktest! {
    fn two_cpu_bound_kernel_threads_both_make_progress() {
        let counters = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let stop = Arc::new(AtomicBool::new(false));
        let mut pids = [0; 2];
        for (i, pid) in pids.iter_mut().enumerate() {
            let (c, s) = (counters.clone(), stop.clone());
            let body = Arc::new(move || {
                while !s.load(Ordering::Relaxed) {
                    c[i].fetch_add(1, Ordering::Relaxed);
                }
                0
            });
            *pid = kernel_thread(body, "ktest-spin", CloneFlags::CLONE_FS, crate::signal::SIGCHLD).map_err(|e| alloc::format!("{e:?}"))?;
        }
        let both = wait_until(200, || counters.iter().all(|c| c.load(Ordering::Relaxed) > 1000));
        stop.store(true, Ordering::Relaxed);
        for pid in pids {
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        }
        kassert!(both, "counters {} and {}: the timer preempts a busy thread", counters[0].load(Ordering::Relaxed), counters[1].load(Ordering::Relaxed));
    }
}

/// Starts a kernel thread that allows SIGKILL and sleeps on `wq` in
/// `state` until `cond` is set; it exits with 1 if it woke with the
/// condition false (interrupted), 0 otherwise.
fn sleeper(
    state: u32,
    wq: &Arc<WaitQueueHead>,
    cond: &Arc<AtomicBool>,
) -> Result<crate::pid::PidNr, alloc::string::String> {
    let (wq, cond) = (wq.clone(), cond.clone());
    let body = Arc::new(move || {
        allow_signal(&current(), SIGKILL);
        if state == TASK_INTERRUPTIBLE {
            wq.wait_event_interruptible(|| cond.load(Ordering::Acquire))
                .map_or(1, |()| 0)
        } else {
            wq.wait_event(|| cond.load(Ordering::Acquire));
            0
        }
    });
    kernel_thread(
        body,
        "ktest-sleeper",
        CloneFlags::CLONE_FS,
        crate::signal::SIGCHLD,
    )
    .map_err(|e| alloc::format!("{e:?}"))
}

ktest! {
    fn sigkill_wakes_an_interruptible_sleeper_but_not_an_uninterruptible_one() {
        let wq = Arc::new(WaitQueueHead::new());
        let cond = Arc::new(AtomicBool::new(false));
        let light = sleeper(TASK_INTERRUPTIBLE, &wq, &cond)?;
        let deep = sleeper(TASK_UNINTERRUPTIBLE, &wq, &cond)?;
        let state_of = |pid| find_task_by_vpid(pid).map_or(0, |t| t.state());
        kassert!(wait_until(100, || state_of(light) == TASK_INTERRUPTIBLE && state_of(deep) == TASK_UNINTERRUPTIBLE));
        for pid in [light, deep] {
            send_sig(SIGKILL, &find_task_by_vpid(pid).ok_or("sleeper alive")?);
        }
        kassert_eq!(kernel_wait4(light, 0).map(|r| r.status), Ok(1), "interrupted by the signal");
        kassert!(!wait_until(10, || state_of(deep) != TASK_UNINTERRUPTIBLE), "SIGKILL does not end a D sleep");
        cond.store(true, Ordering::Release);
        wq.wake_up();
        kassert_eq!(kernel_wait4(deep, 0).map(|r| r.status), Ok(0), "woken by its condition");
    }
}

ktest! {
    fn a_dead_tasks_stack_is_freed_when_it_is_switched_away_from_before_wait4() {
        use crate::mm::page_alloc::nr_free_pages;
        use crate::mm::vmalloc::{THREAD_SIZE, nr_cached_stack_pages, nr_kernel_stack_kb};
        let stack_kb = nr_kernel_stack_kb();
        let pages = || nr_free_pages() + nr_cached_stack_pages();
        let pages_before = pages();
        // The child waits for `go`: on several CPUs it could otherwise run
        // and die elsewhere before its stack is counted.
        let go = Arc::new(AtomicBool::new(false));
        let wait_go = go.clone();
        let body = Arc::new(move || {
            while !wait_go.load(Ordering::Acquire) {
                super::sched_yield();
            }
            0
        });
        let pid = kernel_thread(body, "ktest-zombie", CloneFlags::CLONE_FS, crate::signal::SIGCHLD).map_err(|e| alloc::format!("{e:?}"))?;
        let p = find_task_by_vpid(pid).ok_or("the child is there until reaped")?;
        let live_kb = nr_kernel_stack_kb();
        go.store(true, Ordering::Release);
        kassert_eq!(live_kb, stack_kb + THREAD_SIZE / 1024, "a live task holds its stack");
        let gone = wait_until(100, || {
            p.exit_state() == crate::task::EXIT_ZOMBIE && p.thread.with_stack(|s| s.is_none())
        });
        kassert!(gone, "a zombie whose final switch is done has no stack");
        kassert_eq!(nr_kernel_stack_kb(), stack_kb, "KernelStack is back before wait4");
        // The stack's pages reach the cache or the free list just after the
        // task lets go of it, on the CPU that switched away from it.
        wait_until(100, || pages() == pages_before);
        kassert_eq!(pages(), pages_before, "every stack page is free or in the stack cache");
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.status), Ok(0));
    }
}

ktest! {
    fn context_switches_are_counted_and_check_the_stack_end() {
        let before = nr_context_switches();
        let pid = kernel_thread(Arc::new(|| 0), "ktest-switch", CloneFlags::CLONE_FS, crate::signal::SIGCHLD).map_err(|e| alloc::format!("{e:?}"))?;
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        kassert!(nr_context_switches() >= before + 2, "to the child and back");
        kassert!(!crate::task::task_stack_end_corrupted(&current()));
    }
}

ktest! {
    fn one_wake_up_wakes_every_sleeper_of_a_queue_with_more_than_it_keeps_inline() {
        const SLEEPERS: usize = 5;
        let wq = Arc::new(WaitQueueHead::new());
        let cond = Arc::new(AtomicBool::new(false));
        let mut pids = [0; SLEEPERS];
        for pid in &mut pids {
            *pid = sleeper(TASK_UNINTERRUPTIBLE, &wq, &cond)?;
        }
        kassert!(wait_until(200, || wq.nr_sleepers() == SLEEPERS), "{} of {SLEEPERS} queued", wq.nr_sleepers());
        cond.store(true, Ordering::Release);
        wq.wake_up();
        let zombie = |pid| find_task_by_vpid(pid).is_some_and(|t| t.exit_state() == crate::task::EXIT_ZOMBIE);
        let all = wait_until(200, || pids.iter().all(|&pid| zombie(pid)));
        kassert!(all, "{} of {SLEEPERS} woke from the one wake-up", pids.iter().filter(|&&pid| zombie(pid)).count());
        for pid in pids {
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.status), Ok(0), "woken by its condition");
        }
        // A woken sleeper queues itself again to look at its condition
        // (as Linux's ___wait_event does), then leaves for good.
        kassert_eq!(wq.nr_sleepers(), 0, "no sleeper is left on the queue");
    }
}
