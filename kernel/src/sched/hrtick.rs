//! HRTICK: ends the running fair task's slice when EEVDF says, between two
//! ticks. Picking a fair task while others wait arms this CPU's hrtick for
//! the moment its vruntime reaches its deadline; when the timer interrupt
//! finds it due, the task is charged (update_curr) and, its slice used,
//! asked to reschedule, as the tick would have done up to a tick later.
//!
//! Linux: hrtick_start(), hrtick(), hrtick_clear(), hrtick_rq_init() in
//! kernel/sched/core.c; hrtick_start_fair() in kernel/sched/fair.c
//! Differs: always on (Linux: sched_feat(HRTICK), off by default); armed
//! only by the run queue's own CPU (Linux sends a remote rq's CPU an IPI);
//! a wake-up does not re-arm it (hrtick_update()): it preempts at once or
//! waits for the armed end of the slice. The hrtick is not a queued
//! hrtimer but one expiry per CPU that hrtimer_interrupt() checks beside
//! the queued timers: arming it at every switch is a store and a compare,
//! and the device is reprogrammed only when the slice ends before what it
//! is programmed for (a disarmed hrtick leaves it programmed: it fires,
//! finds nothing due, and is programmed for what is).

use super::RunQueue;
use super::core::update_rq_clock;
use super::eevdf::weight;
use super::prio::NICE_0_LOAD;
use crate::arch::apic::timer::lapic_program_event;
use crate::arch::percpu::{
    smp_processor_id, this_cpu_clockevent_next, this_cpu_hrtick_expires,
    this_cpu_set_hrtick_expires, this_rq,
};
use crate::task::TaskStruct;
use core::sync::atomic::Ordering::Relaxed;

/// The shortest delay armed, in ns (Linux: hrtick_start()'s 10 us floor).
const HRTICK_MIN_NS: u64 = 10_000;

/// Lets `rq`, a CPU's own run queue, arm the hrtick (a private queue, such
/// as the scheduler benchmark's, never does).
///
/// Linux: hrtick_rq_init() in kernel/sched/core.c
pub(super) fn hrtick_rq_init(rq: &mut RunQueue) {
    rq.hrtick_enabled = true;
}

/// This CPU's hrtick expiry, u64::MAX when disarmed. Interrupts off.
pub fn hrtick_expires() -> u64 {
    this_cpu_hrtick_expires()
}

/// From the timer interrupt: runs the hrtick if it is due at `now`.
pub fn hrtick_run_if_due(now: u64) {
    if this_cpu_hrtick_expires() <= now {
        this_cpu_set_hrtick_expires(u64::MAX);
        hrtick();
    }
}

/// Charges the running fair task, which asks for a reschedule once its
/// vruntime reached its deadline (update_curr_fair()).
///
/// Linux: hrtick() in kernel/sched/core.c (task_tick(rq, curr, 1))
fn hrtick() {
    let mut rq = this_rq().lock();
    update_rq_clock(&mut rq);
    if let Some(curr) = rq.curr.clone()
        && curr.sched_class_id() == super::SchedClassId::Fair
    {
        (curr.sched_class().task_tick)(&mut rq, &curr);
    }
}

/// Arms the hrtick for the end of `p`'s slice: the real time in which its
/// vruntime reaches its deadline, from the clock it was stamped with. Only
/// when other fair tasks wait (alone, it runs on) and on the queue's own
/// CPU. The caller holds the run queue lock (interrupts off).
///
/// Linux: hrtick_start_fair() in kernel/sched/fair.c, hrtick_start() in
/// kernel/sched/core.c
/// Differs: the time left comes from the deadline (Linux: the slice less
/// the run time since the pick, which is the same for a task picked with
/// a fresh deadline).
pub(super) fn hrtick_start_fair(rq: &RunQueue, p: &TaskStruct) {
    if !rq.hrtick_enabled || rq.cfs.timeline.is_empty() || rq.cpu != smp_processor_id() {
        return;
    }
    let vleft =
        p.se.deadline
            .load(Relaxed)
            .wrapping_sub(p.se.vruntime.load(Relaxed)) as i64;
    let vleft = u64::try_from(vleft).unwrap_or(0);
    let left = match vleft.checked_mul(weight(p)) {
        Some(scaled) => scaled.div_ceil(NICE_0_LOAD),
        None => super::cputime::TICK_NSEC,
    };
    let expires = rq.clock.saturating_add(left.max(HRTICK_MIN_NS));
    this_cpu_set_hrtick_expires(expires);
    if expires < this_cpu_clockevent_next() {
        lapic_program_event(expires);
    }
}

/// Disarms the hrtick before a switch: the next pick arms it again.
///
/// Linux: hrtick_clear() in kernel/sched/core.c
pub(super) fn hrtick_clear() {
    this_cpu_set_hrtick_expires(u64::MAX);
}
