//! Tests of placement on several CPUs: where select_task_rq() puts a fork
//! child, and set_cpus_allowed_ptr() moving a running thread. They hold on
//! one CPU as well (every answer is then CPU 0).

use super::core::{WF_FORK, select_task_rq};
use super::migrate::{set_cpus_allowed_ptr, task_cpu};
use crate::arch::percpu::{cpu_rq, smp_processor_id};
use crate::cpumask::{CpuMask, cpu_online_mask, num_online_cpus};
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread};
use crate::ktest::wait_until;
use crate::task::{Comm, TASK_NEW, TaskStruct, current};
use crate::{kassert, kassert_eq, ktest};
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Pins the caller to the CPU it runs on and returns that CPU.
fn pin_here() -> Result<usize, String> {
    let me = current();
    let cpu = smp_processor_id();
    set_cpus_allowed_ptr(&me, CpuMask::of(cpu)).map_err(|e| alloc::format!("{e:?}"))?;
    Ok(task_cpu(&me))
}

/// Lets the caller run anywhere again.
fn unpin() {
    let _ = set_cpus_allowed_ptr(&current(), CpuMask::all());
}

/// Where select_task_rq() would start a new task with `p`'s mask and flags,
/// forked by the caller.
fn fork_cpu(p: &TaskStruct) -> usize {
    let _pi = p.pi_lock.lock();
    select_task_rq(p, smp_processor_id(), WF_FORK)
}

/// A kernel thread that spins until `stop`, counting in `seen` the CPUs it
/// ran on (bit n: CPU n).
fn spinner(stop: &Arc<AtomicBool>, seen: &Arc<AtomicU32>) -> Result<i32, String> {
    let (stop, seen) = (stop.clone(), seen.clone());
    let body = Arc::new(move || {
        while !stop.load(Ordering::Relaxed) {
            // Preemption off, as smp_processor_id() asks: a migration
            // between reading the CPU and the store would record the old
            // CPU after the move.
            crate::preempt::preempt_disable();
            seen.fetch_or(1 << smp_processor_id(), Ordering::Relaxed);
            crate::preempt::preempt_enable();
        }
        0
    });
    kernel_thread(
        body,
        "ktest-spin",
        CloneFlags::CLONE_FS,
        crate::signal::SIGCHLD,
    )
    .map_err(|e| alloc::format!("{e:?}"))
}

ktest! {
    fn a_fork_child_stays_on_a_quiet_parent_cpu_and_goes_to_an_idle_one_from_a_busy_one() {
        let cpu = pin_here()?;
        let child = TaskStruct::new(Comm::new("ktest-child"), TASK_NEW, 0, None);
        kassert_eq!(fork_cpu(&child), cpu, "only the parent runs here: the child stays");
        // A second task on this CPU (it inherits our pin) makes it busy.
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU32::new(0)));
        let pid = spinner(&stop, &seen)?;
        let busy = wait_until(50, || cpu_rq(cpu).lock().nr_running() >= 2);
        let spread = fork_cpu(&child);
        *child.vfork_done.lock() = Some(Arc::new(crate::sched::completion::Completion::new()));
        let vfork = fork_cpu(&child);
        stop.store(true, Ordering::Relaxed);
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        unpin();
        kassert!(busy, "the spinner queued on our CPU");
        if num_online_cpus() > 1 {
            kassert!(spread != cpu, "a busy parent CPU sends the child to an idle CPU, not {spread}");
        } else {
            kassert_eq!(spread, cpu, "one CPU: nowhere else to go");
        }
        kassert_eq!(vfork, cpu, "a vfork child stays with the parent that waits for it");
    }
}

ktest! {
    fn a_fork_child_starts_only_on_a_cpu_of_the_mask_it_inherits() {
        let online = cpu_online_mask();
        let last = online.iter().last().ok_or("a CPU is online")?;
        let child = TaskStruct::new(Comm::new("ktest-child"), TASK_NEW, 0, None);
        child.cpus_mask.store(CpuMask::of(last).bits(), Ordering::Relaxed);
        child.nr_cpus_allowed.store(1, Ordering::Relaxed);
        kassert_eq!(fork_cpu(&child), last);
        let no_online = CpuMask::all().bits() & !online.bits();
        if no_online != 0 {
            child.cpus_mask.store(no_online, Ordering::Relaxed);
            kassert!(online.test(fork_cpu(&child)), "a mask of offline CPUs falls back to an online one");
        }
    }
}

ktest! {
    fn set_cpus_allowed_ptr_moves_a_running_thread_and_it_stays_in_its_new_mask() {
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU32::new(0)));
        let pid = spinner(&stop, &seen)?;
        let p = crate::pid::find_task_by_vpid(pid).ok_or("the spinner")?;
        let target = cpu_online_mask().iter().last().ok_or("a CPU is online")?;
        kassert!(wait_until(50, || seen.load(Ordering::Relaxed) != 0), "the spinner ran");
        let set = set_cpus_allowed_ptr(&p, CpuMask::of(target));
        let moved = wait_until(50, || task_cpu(&p) == target);
        seen.store(0, Ordering::Relaxed);
        wait_until(20, || false);
        let after = seen.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        kassert_eq!(set, Ok(()));
        kassert!(moved, "task_cpu is {} after asking for {target}", task_cpu(&p));
        kassert_eq!(after, 1 << target, "ran only on CPU {target} afterwards");
        kassert_eq!(set_cpus_allowed_ptr(&p, CpuMask::empty()), Err(crate::errno::Errno::EINVAL));
    }
}

ktest! {
    fn each_online_cpu_has_a_migration_thread_bound_to_it() {
        for cpu in cpu_online_mask().iter() {
            let stop = cpu_rq(cpu).lock().stop.clone().ok_or("a stopper")?;
            kassert_eq!(stop.comm().as_str(), alloc::format!("migration/{cpu}").as_str());
            kassert_eq!(stop.cpus_mask(), CpuMask::of(cpu));
            kassert!(stop.flags() & crate::task::PF_NO_SETAFFINITY != 0);
        }
    }
}

/// How many CPUs have `p` on their fair queue, waiting or running.
fn queues_holding(p: &TaskStruct) -> usize {
    cpu_online_mask()
        .iter()
        .filter(|&cpu| {
            let rq = cpu_rq(cpu).lock();
            rq.cfs.timeline.holds(p) || super::fair::is_curr(&rq.cfs, p)
        })
        .count()
}

/// The waker's steps in the race below.
const GO: u32 = 1;
const WAKING: u32 = 2;
const WOKE: u32 = 3;
const DID_NOT_WAKE: u32 = 4;
const EXIT: u32 = 5;

/// A kernel thread that wakes `target` each time `steps` says GO, and
/// reports what try_to_wake_up() answered, until EXIT.
fn waker(target: Arc<TaskStruct>, steps: Arc<AtomicU32>) -> Result<i32, String> {
    let body = Arc::new(move || {
        loop {
            match steps.load(Ordering::Acquire) {
                EXIT => return 0,
                GO => {
                    steps.store(WAKING, Ordering::Release);
                    let woke = super::core::try_to_wake_up(&target, crate::task::TASK_NORMAL);
                    steps.store(if woke { WOKE } else { DID_NOT_WAKE }, Ordering::Release);
                }
                _ => core::hint::spin_loop(),
            }
        }
    });
    kernel_thread(
        body,
        "ktest-waker",
        CloneFlags::CLONE_FS,
        crate::signal::SIGCHLD,
    )
    .map_err(|e| alloc::format!("{e:?}"))
}

/// What one round of the race saw.
struct Round {
    /// The waker was in try_to_wake_up() while the task was on no queue.
    raced: bool,
    /// CPUs whose queue held the task afterwards.
    holding: usize,
    /// The waker's last step, and the task's state afterwards.
    step: u32,
    state: u32,
}

/// Puts `sleeper`, queued on CPU `a` and not running, in a sleeping state
/// (as if preempted on its way to sleep), moves it to CPU `b` as the
/// balancer does, and lets the waker (on a third CPU, `c`) wake it while
/// it is on neither queue. None if the two threads were not in place in
/// time.
fn wake_during_move(
    sleeper: &Arc<TaskStruct>,
    waker: &TaskStruct,
    steps: &AtomicU32,
    [a, b, c]: [usize; 3],
) -> Option<Round> {
    steps.store(0, Ordering::Release);
    set_cpus_allowed_ptr(sleeper, CpuMask::of(a)).ok()?;
    let in_place =
        |s: &TaskStruct| task_cpu(s) == a && super::task_on_rq_queued(s) && !s.thread.on_cpu();
    if !wait_until(100, || {
        task_cpu(waker) == c && waker.thread.on_cpu() && in_place(sleeper)
    }) {
        return None;
    }
    // This CPU stays with this thread, so the sleeper waits on its queue;
    // with both queues locked, no balancer moves it first.
    crate::preempt::preempt_disable();
    let mut both = super::migrate::double_rq_lock(a, b);
    let (src, dst) = both.rqs();
    let ready = in_place(sleeper) && !super::core::task_current(src, sleeper);
    let mut raced = false;
    if ready {
        // Nothing else wakes it or changes its mask meanwhile, so the
        // pi_lock is not needed for the two stores.
        sleeper
            .state
            .store(crate::task::TASK_INTERRUPTIBLE, Ordering::Release);
        super::migrate::do_set_cpus_allowed(sleeper, CpuMask::of(a).or(CpuMask::of(b)));
        super::core::update_rq_clock(src);
        super::core::update_rq_clock(dst);
        super::balance::detach_task(src, sleeper, b);
        steps.store(GO, Ordering::Release);
        // Bounded, in case the waker was preempted before it saw GO.
        for _ in 0..2_000_000 {
            if steps.load(Ordering::Acquire) == WAKING {
                raced = true;
                break;
            }
            core::hint::spin_loop();
        }
        // Long enough for the waker to reach a run queue lock or the
        // wait for the move to end.
        for _ in 0..100_000 {
            core::hint::spin_loop();
        }
        super::balance::attach_task(dst, sleeper);
    }
    drop(both);
    crate::preempt::preempt_enable();
    if !ready {
        return None;
    }
    // Asleep between looks, not yielding: a yield takes this CPU's run
    // queue lock, and a loop of them can keep it from the waker, which
    // needs it when it queues the task here (spin locks are not fair).
    for _ in 0..1000 {
        if steps.load(Ordering::Acquire) >= WOKE {
            break;
        }
        crate::time::msleep(1);
    }
    Some(Round {
        raced,
        holding: queues_holding(sleeper),
        step: steps.load(Ordering::Acquire),
        state: sleeper.state(),
    })
}

ktest! {
    fn a_wakeup_while_the_balancer_moves_a_task_queues_it_once() {
        // A task preempted on its way to sleep waits on its queue asleep;
        // the balancer moves it (off CPU a's queue, onto b's) while a waker
        // on c wakes it. The waker must find it on a queue, never on none:
        // one that took it for asleep would queue it a second time, and two
        // CPUs would run it (Linux: TASK_ON_RQ_MIGRATING).
        let a = pin_here()?;
        let mut others = cpu_online_mask().iter().filter(|&cpu| cpu != a);
        let (Some(b), Some(c)) = (others.next(), others.next()) else {
            unpin();
            return Ok(()); // The race needs three CPUs (the suite runs it on 4).
        };
        let release = Arc::new(AtomicBool::new(false));
        let flag = release.clone();
        let body = Arc::new(move || {
            while !flag.load(Ordering::Acquire) {
                super::core::sched_yield();
            }
            0
        });
        let sleeper_pid = kernel_thread(body, "ktest-wakee", CloneFlags::CLONE_FS, crate::signal::SIGCHLD)
            .map_err(|e| alloc::format!("{e:?}"))?;
        let sleeper = crate::pid::find_task_by_vpid(sleeper_pid).ok_or("the wakee")?;
        let steps = Arc::new(AtomicU32::new(0));
        let waker_pid = waker(sleeper.clone(), steps.clone())?;
        let waker = crate::pid::find_task_by_vpid(waker_pid).ok_or("the waker")?;
        set_cpus_allowed_ptr(&waker, CpuMask::of(c)).map_err(|e| alloc::format!("{e:?}"))?;
        let rounds: alloc::vec::Vec<Round> =
            (0..5).filter_map(|_| wake_during_move(&sleeper, &waker, &steps, [a, b, c])).collect();
        steps.store(EXIT, Ordering::Release);
        release.store(true, Ordering::Release);
        super::core::wake_up_process(&sleeper);
        unpin();
        kassert_eq!(kernel_wait4(sleeper_pid, 0).map(|r| r.pid), Ok(sleeper_pid));
        kassert_eq!(kernel_wait4(waker_pid, 0).map(|r| r.pid), Ok(waker_pid));
        kassert!(rounds.iter().any(|r| r.raced), "the waker came during a move in one of {} rounds", rounds.len());
        for r in rounds.iter().filter(|r| r.raced) {
            kassert_eq!(r.step, WOKE, "try_to_wake_up() woke the task");
            kassert_eq!(r.holding, 1, "CPUs whose queue holds the woken task");
            kassert_eq!(r.state, crate::task::TASK_RUNNING);
        }
    }
}
