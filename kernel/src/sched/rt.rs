//! The real-time class: SCHED_FIFO and SCHED_RR tasks, priorities 1-99,
//! which run before every fair task.
//!
//! Each CPU keeps one list of runnable RT tasks per priority and a bitmap
//! of the non-empty lists, so the next task is the head of the list of
//! the first set bit, found in constant time. The running RT task stays
//! at its list's head while it runs (as in Linux): a higher-priority
//! wake-up preempts it and it resumes first when that one is done.
//!
//! - SCHED_FIFO: runs until it blocks, yields (to the tail of its list) or
//!   a higher priority preempts it. No slice.
//! - SCHED_RR: the same, with a slice of 100 ms (kernel.sched_rr_timeslice_ms);
//!   at its end the task goes to the tail of its list.
//! - Throttling: RT tasks of a CPU may run `sched_rt_runtime_us` (950 ms)
//!   of every `sched_rt_period_us` (1 s); past that the class picks nothing
//!   until the period ends, so a runaway FIFO task leaves fair tasks 5 %.
//!
//! Linux: kernel/sched/rt.c
//! Not modelled: RT group scheduling, priority inheritance (rt_mutex),
//! RLIMIT_RTTIME (the watchdog); RT tasks are spread over CPUs only when
//! they wake (see select_task_rq_rt).

use super::core::resched_curr;
use super::fair::update_curr;
use super::prio::{MAX_PRIO, MAX_RT_PRIO, SCHED_RR, rt_prio};
use super::{ENQUEUE_HEAD, RunQueue, SchedClass};
use crate::arch::percpu::cpu_rq;
use crate::arch::time::HZ;
use crate::cpumask::cpu_online_mask;
use crate::errno::Errno;
use crate::sysctl::CtlTable;
use crate::task::TaskStruct;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, Ordering};

/// kernel.sched_rt_period_us: the throttling period (Linux:
/// sysctl_sched_rt_period, default 1 s).
pub static SYSCTL_SCHED_RT_PERIOD: AtomicI32 = AtomicI32::new(1_000_000);
/// kernel.sched_rt_runtime_us: RT time allowed per period, -1 for no limit
/// (Linux: sysctl_sched_rt_runtime, default 0.95 s).
pub static SYSCTL_SCHED_RT_RUNTIME: AtomicI32 = AtomicI32::new(950_000);
/// kernel.sched_rr_timeslice_ms: SCHED_RR's slice (Linux:
/// sysctl_sched_rr_timeslice).
pub static SYSCTL_SCHED_RR_TIMESLICE: AtomicI32 = AtomicI32::new(100);

/// `/proc/sys/kernel/sched_rt_period_us`.
///
/// Linux: the sched_rt_period_us entry of sched_rt_sysctls in kernel/sched/rt.c
pub static SCHED_RT_PERIOD_SYSCTL: CtlTable = CtlTable {
    procname: "sched_rt_period_us",
    data: &SYSCTL_SCHED_RT_PERIOD,
    min: 1,
    max: i32::MAX,
    on_write: sched_rt_global_validate,
};

/// `/proc/sys/kernel/sched_rt_runtime_us`.
///
/// Linux: the sched_rt_runtime_us entry of sched_rt_sysctls in kernel/sched/rt.c
pub static SCHED_RT_RUNTIME_SYSCTL: CtlTable = CtlTable {
    procname: "sched_rt_runtime_us",
    data: &SYSCTL_SCHED_RT_RUNTIME,
    min: -1,
    max: i32::MAX,
    on_write: sched_rt_global_validate,
};

/// `/proc/sys/kernel/sched_rr_timeslice_ms`: 0 or less restores the default.
///
/// Linux: sched_rr_handler() in kernel/sched/rt.c
pub static SCHED_RR_TIMESLICE_SYSCTL: CtlTable = CtlTable {
    procname: "sched_rr_timeslice_ms",
    data: &SYSCTL_SCHED_RR_TIMESLICE,
    min: i32::MIN,
    max: i32::MAX,
    on_write: sched_rr_handler,
};

/// A runtime longer than its period would never throttle: refused.
///
/// Linux: sched_rt_global_validate() in kernel/sched/rt.c
fn sched_rt_global_validate() -> Result<(), Errno> {
    let runtime = SYSCTL_SCHED_RT_RUNTIME.load(Ordering::Acquire);
    if runtime != -1 && runtime > SYSCTL_SCHED_RT_PERIOD.load(Ordering::Acquire) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Linux: sched_rr_handler() in kernel/sched/rt.c
fn sched_rr_handler() -> Result<(), Errno> {
    if SYSCTL_SCHED_RR_TIMESLICE.load(Ordering::Acquire) <= 0 {
        SYSCTL_SCHED_RR_TIMESLICE.store(100, Ordering::Release);
    }
    Ok(())
}

/// SCHED_RR's slice in ns: the sysctl's milliseconds rounded up to whole
/// ticks, as Linux keeps it in jiffies (Linux: sched_rr_timeslice).
pub fn sched_rr_timeslice() -> u64 {
    let ms = SYSCTL_SCHED_RR_TIMESLICE.load(Ordering::Relaxed).max(1) as u64;
    let tick_ns = 1_000_000_000 / HZ;
    (ms * 1_000_000).div_ceil(tick_ns) * tick_ns
}

/// The throttling period and the runtime in it, in ns; no runtime means
/// no throttling.
fn rt_bandwidth() -> (u64, Option<u64>) {
    let period = SYSCTL_SCHED_RT_PERIOD.load(Ordering::Relaxed).max(1) as u64 * 1000;
    let runtime = SYSCTL_SCHED_RT_RUNTIME.load(Ordering::Relaxed);
    (period, (runtime >= 0).then(|| runtime as u64 * 1000))
}

/// One list of runnable tasks per RT priority (0 first, i.e. rt_priority
/// 99), and a bitmap of the lists that are not empty.
///
/// Linux: struct rt_prio_array in kernel/sched/sched.h
pub struct RtPrioArray {
    /// Bit `prio` is set when `queue[prio]` is not empty.
    bitmap: [u64; 2],
    queue: [VecDeque<Arc<TaskStruct>>; MAX_RT_PRIO as usize],
}

impl RtPrioArray {
    const fn new() -> Self {
        RtPrioArray {
            bitmap: [0; 2],
            queue: [const { VecDeque::new() }; MAX_RT_PRIO as usize],
        }
    }

    /// The highest priority with a runnable task (Linux: sched_find_first_bit()).
    fn sched_find_first_bit(&self) -> Option<usize> {
        (0..2)
            .find(|&w| self.bitmap[w] != 0)
            .map(|w| w * 64 + self.bitmap[w].trailing_zeros() as usize)
    }

    fn set(&mut self, prio: usize, on: bool) {
        let bit = 1u64 << (prio % 64);
        if on {
            self.bitmap[prio / 64] |= bit;
        } else {
            self.bitmap[prio / 64] &= !bit;
        }
    }
}

/// The RT class's part of a run queue (Linux: `struct rt_rq`).
/// Lock: the run queue's.
pub struct RtRq {
    active: RtPrioArray,
    /// RT tasks queued, the running one included (Linux: rt_nr_running).
    pub(crate) rt_nr_running: usize,
    /// The running RT task, if the running task is one.
    curr: Option<Arc<TaskStruct>>,
    /// RT run time in the current period, in ns (Linux: rt_time).
    rt_time: u64,
    /// The period's runtime is used up: nothing is picked until it ends
    /// (Linux: rt_throttled).
    rt_throttled: bool,
    /// When the current period began, in ns; None while no RT task has run
    /// since the last period ended with nothing to carry (Linux: the period
    /// timer is not armed).
    period_start: Option<u64>,
}

impl RtRq {
    /// An empty queue.
    pub const fn new() -> Self {
        RtRq {
            active: RtPrioArray::new(),
            rt_nr_running: 0,
            curr: None,
            rt_time: 0,
            rt_throttled: false,
            period_start: None,
        }
    }
}

impl Default for RtRq {
    fn default() -> Self {
        Self::new()
    }
}

/// The RT class (Linux: rt_sched_class in kernel/sched/rt.c).
pub static RT_SCHED_CLASS: SchedClass = SchedClass {
    enqueue_task: enqueue_task_rt,
    dequeue_task: dequeue_task_rt,
    yield_task: yield_task_rt,
    wakeup_preempt: wakeup_preempt_rt,
    pick_task: pick_task_rt,
    put_prev_task: put_prev_task_rt,
    set_next_task: set_next_task_rt,
    task_tick: task_tick_rt,
    task_fork: task_fork_rt,
    update_curr: update_curr_rt,
};

/// The list index of `p`: its priority, 0-99.
fn rt_index(p: &TaskStruct) -> usize {
    p.prio.load(Ordering::Relaxed).clamp(0, MAX_RT_PRIO - 1) as usize
}

/// Puts `p` at the tail of its priority's list, or at the head with
/// ENQUEUE_HEAD (a task whose priority was lowered, as Linux does).
///
/// Linux: enqueue_task_rt() -> enqueue_rt_entity() -> __enqueue_rt_entity()
fn enqueue_task_rt(rq: &mut RunQueue, p: &Arc<TaskStruct>, flags: u32) {
    let prio = rt_index(p);
    let array = &mut rq.rt.active;
    if flags & ENQUEUE_HEAD != 0 {
        array.queue[prio].push_front(p.clone());
    } else {
        array.queue[prio].push_back(p.clone());
    }
    array.set(prio, true);
    rq.rt.rt_nr_running += 1;
}

/// Takes `p` off its list; if it is running, charges it first.
///
/// Linux: dequeue_task_rt() -> dequeue_rt_entity() -> __dequeue_rt_entity()
fn dequeue_task_rt(rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    update_curr_rt(rq);
    let prio = rt_index(p);
    let array = &mut rq.rt.active;
    if let Some(at) = array.queue[prio].iter().position(|q| Arc::ptr_eq(q, p)) {
        array.queue[prio].remove(at);
        rq.rt.rt_nr_running -= 1;
    }
    if array.queue[prio].is_empty() {
        array.set(prio, false);
    }
}

/// Moves `p` to the tail (or head) of its list.
///
/// Linux: requeue_task_rt() in kernel/sched/rt.c
fn requeue_task_rt(rq: &mut RunQueue, p: &Arc<TaskStruct>, head: bool) {
    let list = &mut rq.rt.active.queue[rt_index(p)];
    if let Some(at) = list.iter().position(|q| Arc::ptr_eq(q, p)) {
        list.remove(at);
        if head {
            list.push_front(p.clone());
        } else {
            list.push_back(p.clone());
        }
    }
}

/// sched_yield: the running task goes behind the others of its priority
/// (a yield never lets a lower priority or a fair task run).
///
/// Linux: yield_task_rt() in kernel/sched/rt.c
fn yield_task_rt(rq: &mut RunQueue) {
    if let Some(curr) = rq.rt.curr.clone() {
        requeue_task_rt(rq, &curr, false);
    }
}

/// A woken RT task of a higher priority than the running RT task preempts
/// it; one of the same priority waits its turn.
///
/// Linux: wakeup_preempt_rt() in kernel/sched/rt.c
fn wakeup_preempt_rt(rq: &mut RunQueue, p: &Arc<TaskStruct>, _flags: u32) {
    let Some(curr) = &rq.curr else {
        return;
    };
    if p.prio.load(Ordering::Relaxed) < curr.prio.load(Ordering::Relaxed) {
        resched_curr(rq);
    }
}

/// The head of the highest non-empty list, unless the CPU's RT time is used
/// up.
///
/// Linux: pick_task_rt() -> _pick_next_task_rt() -> pick_next_rt_entity()
fn pick_task_rt(rq: &mut RunQueue) -> Option<Arc<TaskStruct>> {
    if rq.rt.rt_throttled {
        return None;
    }
    let prio = rq.rt.active.sched_find_first_bit()?;
    rq.rt.active.queue[prio].front().cloned()
}

/// The running RT task stops running; it keeps its place in its list.
///
/// Linux: put_prev_task_rt() in kernel/sched/rt.c
fn put_prev_task_rt(rq: &mut RunQueue, _prev: &Arc<TaskStruct>) {
    update_curr_rt(rq);
    rq.rt.curr = None;
}

/// `p` starts running: its run time counts from now.
///
/// Linux: set_next_task_rt() in kernel/sched/rt.c
fn set_next_task_rt(rq: &mut RunQueue, p: &Arc<TaskStruct>, _first: bool) {
    super::fair::set_next_entity(p, rq.clock);
    rq.rt.curr = Some(p.clone());
}

/// A tick of a running RT task: charge it; a SCHED_RR task whose slice is
/// over gets a new one and, if another task of its priority waits, goes
/// behind it.
///
/// Linux: task_tick_rt() in kernel/sched/rt.c
/// Differs: the slice counts the run time update_curr_rt() charged, not
/// ticks, so that ticks a busy host delays or loses under QEMU do not
/// stretch it; it still ends only at a tick.
fn task_tick_rt(rq: &mut RunQueue, p: &Arc<TaskStruct>) {
    update_curr_rt(rq);
    if p.policy.load(Ordering::Relaxed) != SCHED_RR || p.rt.time_slice.load(Ordering::Relaxed) > 0 {
        return;
    }
    p.rt.time_slice
        .store(sched_rr_timeslice(), Ordering::Relaxed);
    if rq.rt.active.queue[rt_index(p)].len() > 1 {
        requeue_task_rt(rq, p, false);
        resched_curr(rq);
    }
}

/// A new RT task (its parent is one) starts with a whole slice.
///
/// Linux: __sched_fork() (p->rt.time_slice = sched_rr_timeslice)
fn task_fork_rt(p: &TaskStruct) {
    p.rt.time_slice
        .store(sched_rr_timeslice(), Ordering::Relaxed);
}

/// Charges the running RT task the time since its last stamp (an RR
/// task's slice too), and counts it against the CPU's RT runtime: past it,
/// the class is throttled and the task preempted.
///
/// Linux: update_curr_rt() in kernel/sched/rt.c (with
/// sched_rt_runtime_exceeded())
fn update_curr_rt(rq: &mut RunQueue) {
    let Some(curr) = rq.rt.curr.clone() else {
        return;
    };
    let now = rq.clock;
    let delta = now.saturating_sub(curr.se.exec_start.load(Ordering::Relaxed));
    update_curr(&curr, now);
    let left = curr.rt.time_slice.load(Ordering::Relaxed);
    curr.rt
        .time_slice
        .store(left.saturating_sub(delta), Ordering::Relaxed);
    let (_, Some(runtime)) = rt_bandwidth() else {
        return;
    };
    rq.rt.period_start.get_or_insert(now);
    rq.rt.rt_time += delta;
    if sched_rt_runtime_exceeded(&mut rq.rt, runtime) {
        resched_curr(rq);
    }
}

/// Whether the RT time of this period is used up; throttles the class when
/// it first is.
///
/// Linux: sched_rt_runtime_exceeded() in kernel/sched/rt.c
fn sched_rt_runtime_exceeded(rt_rq: &mut RtRq, runtime: u64) -> bool {
    if rt_rq.rt_throttled {
        return true;
    }
    if rt_rq.rt_time <= runtime {
        return false;
    }
    rt_rq.rt_throttled = true;
    if !RT_THROTTLING_REPORTED.swap(true, Ordering::Relaxed) {
        log::warn!("sched: RT throttling activated");
    }
    true
}

/// Whether "RT throttling activated" was printed (Linux prints it once).
static RT_THROTTLING_REPORTED: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// At each tick of the CPU: if the RT period is over, forgive one runtime
/// per period that passed, and lift the throttle once what remains is
/// below the runtime. A period with nothing to carry ends the periods
/// until an RT task runs again.
///
/// Linux: do_sched_rt_period_timer() in kernel/sched/rt.c
/// Differs: checked at each tick instead of from an hrtimer, so a throttle
/// may last up to a tick longer.
pub(crate) fn sched_rt_period_tick(rq: &mut RunQueue) {
    let Some(start) = rq.rt.period_start else {
        return;
    };
    let (period, runtime) = rt_bandwidth();
    let now = rq.clock;
    if now.saturating_sub(start) < period {
        return;
    }
    let overrun = (now - start) / period;
    let runtime = runtime.unwrap_or(u64::MAX);
    rq.rt.rt_time -= rq.rt.rt_time.min(overrun.saturating_mul(runtime));
    rq.rt.period_start = Some(start + overrun * period);
    if rq.rt.rt_throttled && rq.rt.rt_time < runtime {
        rq.rt.rt_throttled = false;
        if rq.rt.rt_nr_running > 0 {
            resched_curr(rq);
        }
    }
    if rq.rt.rt_time == 0 && rq.rt.curr.is_none() {
        rq.rt.period_start = None;
    }
}

/// sched_rr_get_interval's answer for an RT task, in ns: the RR slice, or
/// 0 for SCHED_FIFO, which has none.
///
/// Linux: get_rr_interval_rt() in kernel/sched/rt.c
pub fn get_rr_interval_rt(p: &TaskStruct) -> u64 {
    if p.policy.load(Ordering::Relaxed) == SCHED_RR {
        sched_rr_timeslice()
    } else {
        0
    }
}

/// The priority of the task `cpu` runs (lower first), read under its run
/// queue lock: MAX_PRIO for an idle CPU (Linux: cpupri's view of it).
fn cpu_curr_prio(cpu: usize) -> i32 {
    let rq = cpu_rq(cpu).lock();
    match &rq.curr {
        Some(c) if !c.is_idle_task() => c.prio.load(Ordering::Relaxed),
        _ => MAX_PRIO,
    }
}

/// The CPU for a waking or new RT task: its previous CPU, unless the task
/// running there is RT and would not be preempted by it; then the allowed
/// CPU running the lowest-priority task, if that one is lower than `p`.
///
/// Linux: select_task_rq_rt() -> find_lowest_rq() in kernel/sched/rt.c
/// Differs: no cpupri map (each CPU's running priority is read under its
/// lock) and no push or pull of RT tasks already queued (push_rt_task,
/// pull_rt_task): a queued RT task waits for its own CPU, while Linux
/// would move it to a CPU that starts running something lower.
pub fn select_task_rq_rt(p: &TaskStruct, cpu: usize) -> usize {
    let prio = p.prio.load(Ordering::Relaxed);
    let curr_prio = cpu_curr_prio(cpu);
    if !rt_prio(curr_prio) || prio < curr_prio {
        return cpu;
    }
    let mut best = (curr_prio, cpu);
    for other in p.cpus_mask().and(cpu_online_mask()).iter() {
        let other_prio = cpu_curr_prio(other);
        if other_prio > best.0 {
            best = (other_prio, other);
        }
    }
    if best.0 > prio { best.1 } else { cpu }
}
