//! High-resolution kernel timers: each CPU keeps its pending timers
//! ordered by expiry in its `hrtimer_cpu_base`, and programs its clock
//! event device (the local APIC timer, one shot at a time) for the first
//! of them, so a timer fires at its expiry, not at the next tick. The tick
//! itself is one of these timers (tick_sched.rs). A timed sleep arms one
//! timer whose function wakes the sleeper, so the sleeper is woken once,
//! at its deadline.
//!
//! Linux: kernel/time/hrtimer.c, include/linux/hrtimer.h (high-resolution
//! mode: hrtimer_interrupt(), hrtimer_reprogram())
//! Not modelled: per-clock bases (every timer here runs on CLOCK_MONOTONIC;
//! callers convert), softirq expiry, migration between CPUs, the
//! low-resolution mode (the local APIC timer is always there).

use crate::arch::apic::timer::{lapic_program_event, next_event};
use crate::arch::percpu::{per_cpu_hrtimer_base, this_cpu};
use crate::arch::time::ktime_get_ns;
use crate::task::{TASK_RUNNING, TaskStruct, current};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// What a timer function asks for (Linux: `enum hrtimer_restart`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HrtimerRestart {
    /// The timer is done.
    NoRestart,
    /// Queue the timer again at its (moved) expiry: a periodic timer.
    Restart,
}

/// The function a timer runs when it expires, in interrupt context.
pub type HrtimerFn = Box<dyn Fn(&HrTimer) -> HrtimerRestart + Send + Sync>;

/// `HrTimer::cpu` before the timer was first started.
const NO_BASE: usize = usize::MAX;

/// A timer (Linux: `struct hrtimer`).
pub struct HrTimer {
    /// Expiry in ns on CLOCK_MONOTONIC (Linux: node.expires). Written under
    /// the lock of the base that holds the timer.
    expires: AtomicU64,
    /// Tie-breaker for timers with equal expiry, unique per timer.
    id: u64,
    /// The CPU whose base the timer was last started on, or NO_BASE (Linux:
    /// hrtimer->base). Changed only under that base's lock.
    cpu: AtomicUsize,
    function: HrtimerFn,
}

/// One CPU's pending timers (Linux: `struct hrtimer_cpu_base`). Lock: the
/// `SpinLock` around it in the per-CPU area (Linux: cpu_base->lock).
pub struct HrtimerCpuBase {
    /// Pending timers by (expiry, id): the first is the next to expire
    /// (Linux: the timerqueue's rbtree; being in it is HRTIMER_STATE_ENQUEUED).
    active: BTreeMap<(u64, u64), Arc<HrTimer>>,
    /// The id of the timer whose function runs now (Linux: cpu_base->running).
    running: Option<u64>,
}

impl HrtimerCpuBase {
    /// An empty base.
    pub const fn new() -> Self {
        HrtimerCpuBase {
            active: BTreeMap::new(),
            running: None,
        }
    }
}

impl Default for HrtimerCpuBase {
    fn default() -> Self {
        Self::new()
    }
}

static NEXT_TIMER_ID: AtomicU64 = AtomicU64::new(1);

/// A new, inactive timer that runs `function` when it expires.
///
/// Linux: hrtimer_setup() (formerly hrtimer_init()) in kernel/time/hrtimer.c
pub fn hrtimer_init(function: HrtimerFn) -> Arc<HrTimer> {
    Arc::new(HrTimer::new(function))
}

/// [`hrtimer_init`] for a timer user space asks for: None when memory is
/// short, instead of an abort.
pub fn hrtimer_try_init(function: HrtimerFn) -> Option<Arc<HrTimer>> {
    Arc::try_new(HrTimer::new(function)).ok()
}

impl HrTimer {
    fn new(function: HrtimerFn) -> HrTimer {
        HrTimer {
            expires: AtomicU64::new(0),
            id: NEXT_TIMER_ID.fetch_add(1, Ordering::Relaxed),
            cpu: AtomicUsize::new(NO_BASE),
            function,
        }
    }

    /// The expiry in ns on CLOCK_MONOTONIC (Linux: hrtimer_get_expires()).
    pub fn get_expires(&self) -> u64 {
        self.expires.load(Ordering::Acquire)
    }

    /// Moves the expiry of a periodic timer forward by whole `interval`s
    /// until it is after `now`; returns how many intervals it moved (the
    /// overruns plus one). For use inside the timer's function.
    ///
    /// Linux: hrtimer_forward() in kernel/time/hrtimer.c
    pub fn forward(&self, now: u64, interval: u64) -> u64 {
        let expires = self.get_expires();
        if interval == 0 || now < expires {
            return 0;
        }
        let overruns = (now - expires) / interval + 1;
        self.expires.store(
            expires.saturating_add(overruns.saturating_mul(interval)),
            Ordering::Release,
        );
        overruns
    }

    /// Whether the timer is queued to fire (Linux: hrtimer_is_queued()).
    pub fn is_queued(&self) -> bool {
        with_base(self, |base| {
            base.active.contains_key(&(self.get_expires(), self.id))
        })
        .unwrap_or(false)
    }
}

/// Runs `f` on the base `timer` was last started on, with that base locked;
/// None if it was never started (Linux: lock_hrtimer_base()).
fn with_base<R>(timer: &HrTimer, f: impl FnOnce(&mut HrtimerCpuBase) -> R) -> Option<R> {
    loop {
        let cpu = timer.cpu.load(Ordering::Acquire);
        if cpu == NO_BASE {
            return None;
        }
        let mut base = per_cpu_hrtimer_base(cpu).lock();
        if timer.cpu.load(Ordering::Acquire) == cpu {
            return Some(f(&mut base));
        }
    }
}

/// Queues `timer` on this CPU's base to expire at `expires` (ns on
/// CLOCK_MONOTONIC), first taking it off any base it was on; if it is now
/// the first to expire, programs the device for it. A time in the past
/// makes it fire at once.
///
/// Linux: hrtimer_start() in kernel/time/hrtimer.c (HRTIMER_MODE_ABS),
/// with hrtimer_reprogram()
pub fn hrtimer_start(timer: &Arc<HrTimer>, expires: u64) {
    with_base(timer, |base| {
        base.active.remove(&(timer.get_expires(), timer.id))
    });
    // Interrupts off first: the base, its CPU and its device must agree.
    crate::arch::without_interrupts(|| {
        let mut base = this_cpu().hrtimer_cpu_base.lock();
        let cpu = crate::arch::percpu::smp_processor_id();
        enqueue_hrtimer(&mut base, timer, expires, cpu);
        if expires < next_event() {
            lapic_program_event(expires);
        }
    });
}

/// Linux: enqueue_hrtimer() in kernel/time/hrtimer.c
fn enqueue_hrtimer(base: &mut HrtimerCpuBase, timer: &Arc<HrTimer>, expires: u64, cpu: usize) {
    timer.expires.store(expires, Ordering::Release);
    timer.cpu.store(cpu, Ordering::Release);
    base.active.insert((expires, timer.id), timer.clone());
}

/// Takes `timer` off its base unless its function is running now; returns
/// Some(whether it was queued), or None when the function is running.
///
/// Linux: hrtimer_try_to_cancel() in kernel/time/hrtimer.c
pub fn hrtimer_try_to_cancel(timer: &HrTimer) -> Option<bool> {
    with_base(timer, |base| {
        if base.running == Some(timer.id) {
            return None;
        }
        Some(
            base.active
                .remove(&(timer.get_expires(), timer.id))
                .is_some(),
        )
    })
    .unwrap_or(Some(false))
}

/// Cancels `timer` and waits until its function is not running; returns
/// whether it was queued. Afterwards the function will not run unless the
/// timer is started again. Never call it from the timer's own function.
///
/// Linux: hrtimer_cancel() in kernel/time/hrtimer.c
pub fn hrtimer_cancel(timer: &HrTimer) -> bool {
    loop {
        if let Some(was_queued) = hrtimer_try_to_cancel(timer) {
            return was_queued;
        }
        core::hint::spin_loop();
    }
}

/// Runs the functions of this CPU's expired timers and the hrtick if due,
/// then programs the device for the first of them left; called from the
/// device's interrupt. Each function runs with the base unlocked, so it
/// may start or cancel other timers and move its own expiry
/// (hrtimer_forward).
///
/// Linux: hrtimer_interrupt(), __hrtimer_run_queues() and __run_hrtimer()
/// in kernel/time/hrtimer.c
/// Differs: a timer that came due while the others ran makes the device
/// fire again at once (Linux loops up to three times in the handler); the
/// hrtick is a per-CPU expiry checked here (sched/hrtick.rs), not a queued
/// timer.
pub fn hrtimer_interrupt() {
    let cpu = crate::arch::percpu::smp_processor_id();
    let lock = &this_cpu().hrtimer_cpu_base;
    crate::arch::apic::timer::clockevent_fired();
    let now = ktime_get_ns();
    loop {
        let timer = {
            let mut base = lock.lock();
            let Some(entry) = base.active.first_entry() else {
                break;
            };
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            base.running = Some(timer.id);
            timer
        };
        let restart = (timer.function)(&timer);
        let mut base = lock.lock();
        base.running = None;
        let expires = timer.get_expires();
        let restarted_elsewhere = timer.cpu.load(Ordering::Acquire) != cpu
            || base.active.contains_key(&(expires, timer.id));
        if restart == HrtimerRestart::Restart && !restarted_elsewhere {
            enqueue_hrtimer(&mut base, &timer, expires, cpu);
        }
    }
    crate::sched::hrtick::hrtick_run_if_due(now);
    hrtimer_reprogram(&lock.lock());
}

/// Programs the device for the base's first expiry or the hrtick,
/// whichever comes first.
///
/// Linux: hrtimer_force_reprogram() / tick_program_event() in
/// kernel/time/hrtimer.c and tick-oneshot.c
fn hrtimer_reprogram(base: &HrtimerCpuBase) {
    let first = base
        .active
        .first_key_value()
        .map_or(u64::MAX, |(k, _)| k.0)
        .min(crate::sched::hrtick::hrtick_expires());
    if first != u64::MAX {
        lapic_program_event(first);
    }
}

/// Marks this CPU's device ready (its timer is in one-shot mode), starts
/// the tick's timer, and programs the device for the first expiry: the
/// timers queued before this run now.
///
/// Linux: hrtimer_switch_to_hres() in kernel/time/hrtimer.c, with
/// tick_setup_sched_timer() in kernel/time/tick-sched.c
pub fn hrtimer_switch_to_hres() {
    crate::arch::without_interrupts(|| {
        crate::arch::apic::timer::clockevent_fired();
        super::tick_sched::tick_setup_sched_timer();
        hrtimer_reprogram(&this_cpu().hrtimer_cpu_base.lock());
    });
}

/// A timer that wakes one task (Linux: `struct hrtimer_sleeper`). Dropping
/// it cancels the timer (Linux: destroy_hrtimer_on_stack()).
pub struct HrtimerSleeper {
    timer: Arc<HrTimer>,
    expired: Arc<AtomicBool>,
}

impl HrtimerSleeper {
    /// A sleeper timer for `task`, not yet started.
    ///
    /// Linux: hrtimer_setup_sleeper_on_stack() in kernel/time/hrtimer.c
    pub fn new(task: Arc<TaskStruct>) -> Self {
        let expired = Arc::new(AtomicBool::new(false));
        let flag = expired.clone();
        let timer = hrtimer_init(Box::new(move |_| hrtimer_wakeup(&task, &flag)));
        HrtimerSleeper { timer, expired }
    }

    /// Starts the timer for the absolute monotonic time `expires`.
    ///
    /// Linux: hrtimer_sleeper_start_expires() in kernel/time/hrtimer.c
    pub fn start_expires(&self, expires: u64) {
        hrtimer_start(&self.timer, expires);
    }

    /// Whether the timer has fired (Linux: `sleeper.task == NULL`).
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::Acquire)
    }
}

impl Drop for HrtimerSleeper {
    fn drop(&mut self) {
        hrtimer_cancel(&self.timer);
    }
}

/// The sleeper's timer function: marks it expired and wakes the task.
///
/// Linux: hrtimer_wakeup() in kernel/time/hrtimer.c
fn hrtimer_wakeup(task: &Arc<TaskStruct>, expired: &AtomicBool) -> HrtimerRestart {
    expired.store(true, Ordering::Release);
    crate::sched::core::wake_up_process(task);
    HrtimerRestart::NoRestart
}

/// Sleeps in `state` until the monotonic time `expires`, or until a signal
/// that `state` lets in is pending. Ok when the time was reached.
///
/// Linux: do_nanosleep() in kernel/time/hrtimer.c
///
/// # Errors
/// `EINTR` when a signal cut the sleep short.
pub fn do_nanosleep(expires: u64, state: u32) -> Result<(), crate::errno::Errno> {
    crate::sched::might_sleep::might_sleep();
    let me = current();
    let sleeper = HrtimerSleeper::new(me.clone());
    me.state.store(state, Ordering::Release);
    sleeper.start_expires(expires);
    let result = loop {
        if sleeper.expired() || ktime_get_ns() >= expires {
            break Ok(());
        }
        if crate::sched::core::signal_pending_state(state, &me) {
            break Err(crate::errno::Errno::EINTR);
        }
        crate::sched::core::schedule();
        me.state.store(state, Ordering::Release);
    };
    me.state.store(TASK_RUNNING, Ordering::Release);
    result
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::arch::sync::SpinLock;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::vec::Vec;

    const MS: u64 = 1_000_000;

    ktest! {
        fn timers_fire_in_expiry_order_and_never_before_their_time() {
            let fired: Arc<SpinLock<Vec<(u64, u64)>>> = Arc::new(SpinLock::new(Vec::new()));
            let now = ktime_get_ns();
            let timers: Vec<_> = [30, 10, 20]
                .iter()
                .map(|&ms| {
                    let log = fired.clone();
                    let t = hrtimer_init(Box::new(move |t| {
                        log.lock().push((t.get_expires(), ktime_get_ns()));
                        HrtimerRestart::NoRestart
                    }));
                    hrtimer_start(&t, now + ms * MS);
                    t
                })
                .collect();
            crate::time::msleep(60);
            let fired = fired.lock().clone();
            let order: Vec<u64> = fired.iter().map(|(e, _)| (e - now) / MS).collect();
            kassert_eq!(order, alloc::vec![10, 20, 30]);
            kassert!(fired.iter().all(|(expires, at)| at >= expires));
            kassert!(timers.iter().all(|t| !t.is_queued()));
        }
    }

    ktest! {
        fn a_cancelled_timer_never_runs() {
            let ran = Arc::new(AtomicBool::new(false));
            let flag = ran.clone();
            let t = hrtimer_init(Box::new(move |_| {
                flag.store(true, Ordering::Release);
                HrtimerRestart::NoRestart
            }));
            hrtimer_start(&t, ktime_get_ns() + 10 * MS);
            kassert!(t.is_queued());
            kassert!(hrtimer_cancel(&t));
            crate::time::msleep(30);
            kassert!(!ran.load(Ordering::Acquire));
            kassert!(!hrtimer_cancel(&t), "a second cancel finds nothing queued");
        }
    }

    ktest! {
        fn a_timer_that_forwards_itself_runs_periodically() {
            let runs = Arc::new(AtomicU64::new(0));
            let count = runs.clone();
            let t = hrtimer_init(Box::new(move |t| {
                count.fetch_add(1, Ordering::Relaxed);
                t.forward(ktime_get_ns(), 8 * MS);
                HrtimerRestart::Restart
            }));
            hrtimer_start(&t, ktime_get_ns() + 8 * MS);
            crate::time::msleep(100);
            hrtimer_cancel(&t);
            let n = runs.load(Ordering::Relaxed);
            kassert!((6..=13).contains(&n), "{n} runs of an 8 ms timer in 100 ms");
        }
    }

    ktest! {
        fn msleep_lasts_its_time_and_wakes_the_sleeper_once() {
            let me = current();
            let switches = me.se.nr_switches.load(Ordering::Relaxed);
            let start = ktime_get_ns();
            crate::time::msleep(40);
            let slept = ktime_get_ns() - start;
            let woken = me.se.nr_switches.load(Ordering::Relaxed) - switches;
            kassert!(slept >= 40 * MS, "slept {slept} ns");
            // Ten ticks pass; a sleeper woken at each would switch in ten times.
            kassert!(woken <= 2, "switched in {woken} times");
            kassert_eq!(crate::time::msleep_interruptible(10), 0);
        }
    }
}
