//! The tick as a timer: each CPU's tick is an hrtimer that forwards itself
//! by one tick period (`TICK_NSEC`, 1/HZ) and runs the periodic work
//! (jiffies on the timekeeping CPU, process times, the scheduler tick).
//! The device fires for it as for any other timer, so the tick keeps its
//! HZ rhythm while timers between two ticks fire on time.
//!
//! Linux: kernel/time/tick-sched.c (tick_setup_sched_timer(),
//! tick_sched_timer())
//! Not modelled: NO_HZ (the tick keeps running while the CPU idles).

use super::hrtimer::{HrTimer, HrtimerRestart, hrtimer_init, hrtimer_start};
use crate::arch::time::ktime_get_ns;
use crate::sched::cputime::TICK_NSEC;
use alloc::boxed::Box;

/// Starts this CPU's tick timer, one period from now. The timer's base
/// keeps it (it restarts itself and is never cancelled).
///
/// Linux: tick_setup_sched_timer() in kernel/time/tick-sched.c
/// Differs: each CPU's tick is in phase with its own start, not with the
/// timekeeping CPU's (tick_next_period).
pub fn tick_setup_sched_timer() {
    let timer = hrtimer_init(Box::new(tick_sched_timer));
    hrtimer_start(&timer, ktime_get_ns().saturating_add(TICK_NSEC));
}

/// The tick's timer function: moves its expiry to the next period and
/// runs the tick, counting the periods that passed (more than one when
/// the timer fired late).
///
/// Linux: tick_sched_timer() in kernel/time/tick-sched.c
fn tick_sched_timer(timer: &HrTimer) -> HrtimerRestart {
    let ticks = timer.forward(ktime_get_ns(), TICK_NSEC);
    crate::arch::irq::tick_sched_handle(ticks.max(1));
    HrtimerRestart::Restart
}
