//! The load average: every 5 seconds, the number of runnable tasks is
//! folded into three exponentially decaying averages (1, 5 and 15 minutes),
//! in fixed point with 11 fractional bits.
//!
//! Linux: kernel/sched/loadavg.c

use crate::arch::time::{HZ, jiffies};
use core::sync::atomic::{AtomicU64, Ordering};

/// Fractional bits of a load (Linux: FSHIFT).
pub const FSHIFT: u32 = 11;
/// 1.0 in fixed point (Linux: FIXED_1).
pub const FIXED_1: u64 = 1 << FSHIFT;
/// Ticks between samples: 5 s, plus one tick (Linux: LOAD_FREQ).
const LOAD_FREQ: u64 = 5 * HZ + 1;
/// 1/exp(5s/1min), 1/exp(5s/5min), 1/exp(5s/15min) in fixed point (Linux: EXP_1, EXP_5, EXP_15).
const EXP: [u64; 3] = [1884, 2014, 2037];

/// The three averages (Linux: avenrun).
static AVENRUN: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
/// The jiffy of the next sample (Linux: calc_load_update).
static CALC_LOAD_UPDATE: AtomicU64 = AtomicU64::new(LOAD_FREQ);

/// One decay step: `load * exp + active * (1 - exp)`, rounded up while rising.
///
/// Linux: calc_load() in include/linux/sched/loadavg.h
fn calc_load(load: u64, exp: u64, active: u64) -> u64 {
    let mut newload = load * exp + active * (FIXED_1 - exp);
    if active >= load {
        newload += FIXED_1 - 1;
    }
    newload / FIXED_1
}

/// Called every tick with a way to count the runnable tasks of
/// every CPU; every LOAD_FREQ ticks it counts them and updates the averages.
///
/// Linux: calc_global_load() in kernel/sched/loadavg.c
/// Runs on the timekeeping CPU only (Linux: from do_timer()).
/// Differs: the count is taken at once over all run queues instead of each
/// CPU folding its own (calc_global_load_tick); tasks in D state are not
/// added.
pub fn calc_global_load(nr_active: impl FnOnce() -> u64) {
    if crate::arch::percpu::smp_processor_id() != crate::arch::irq::TICK_DO_TIMER_CPU {
        return;
    }
    let due = CALC_LOAD_UPDATE.load(Ordering::Relaxed);
    if jiffies() < due {
        return;
    }
    CALC_LOAD_UPDATE.store(due + LOAD_FREQ, Ordering::Relaxed);
    let active = nr_active() * FIXED_1;
    for (avg, exp) in AVENRUN.iter().zip(EXP) {
        avg.store(
            calc_load(avg.load(Ordering::Relaxed), exp, active),
            Ordering::Relaxed,
        );
    }
}

/// The three averages plus `offset`, shifted left by `shift`.
///
/// Linux: get_avenrun() in kernel/sched/loadavg.c
pub fn get_avenrun(offset: u64, shift: u32) -> [u64; 3] {
    AVENRUN
        .each_ref()
        .map(|a| (a.load(Ordering::Relaxed) + offset) << shift)
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn one_runnable_task_for_a_minute_brings_the_1min_load_to_0_63() {
            let mut load = 0;
            for _ in 0..12 {
                load = calc_load(load, EXP[0], FIXED_1);
            }
            // 1 - 1/e = 0.632; in fixed point, 0.63 * 2048 = 1294.
            kassert!((1290..=1300).contains(&load), "load {load}");
            kassert_eq!(calc_load(FIXED_1, EXP[0], FIXED_1), FIXED_1);
            kassert!(calc_load(FIXED_1, EXP[0], 0) < FIXED_1);
        }
    }
}
