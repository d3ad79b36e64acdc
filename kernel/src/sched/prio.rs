//! Scheduling policies, priorities and nice values, and the weight each
//! nice value gives a task in the fair class.
//!
//! One priority scale covers every class, lower numbers first: 0-99 are
//! the real-time priorities (a task's `prio` is `99 - rt_priority`),
//! 100-139 the nice values -20..19 (`prio = 120 + nice`).
//!
//! Linux: include/linux/sched/prio.h, include/uapi/linux/sched.h,
//! sched_prio_to_weight[] in kernel/sched/core.c

/// The fair policy every task starts with (Linux: SCHED_NORMAL, SCHED_OTHER).
pub const SCHED_NORMAL: u32 = 0;
/// Real-time, first in first out (Linux: SCHED_FIFO).
pub const SCHED_FIFO: u32 = 1;
/// Real-time, round robin (Linux: SCHED_RR).
pub const SCHED_RR: u32 = 2;
/// Fair, for batch jobs that should not preempt on wake-up (Linux: SCHED_BATCH).
pub const SCHED_BATCH: u32 = 3;
/// Fair, with the lowest weight (Linux: SCHED_IDLE).
pub const SCHED_IDLE: u32 = 5;

/// Lowest nice value: the highest priority (Linux: MIN_NICE).
pub const MIN_NICE: i32 = -20;
/// Highest nice value: the lowest priority (Linux: MAX_NICE).
pub const MAX_NICE: i32 = 19;
/// Number of real-time priorities; fair priorities start here (Linux: MAX_RT_PRIO).
pub const MAX_RT_PRIO: i32 = 100;
/// One past the lowest priority (Linux: MAX_PRIO).
pub const MAX_PRIO: i32 = MAX_RT_PRIO + 40;
/// The priority of nice 0 (Linux: DEFAULT_PRIO).
pub const DEFAULT_PRIO: i32 = MAX_RT_PRIO + 20;

/// The priority of nice value `nice` (Linux: NICE_TO_PRIO).
pub const fn nice_to_prio(nice: i32) -> i32 {
    nice + DEFAULT_PRIO
}

/// The nice value of priority `prio` (Linux: PRIO_TO_NICE).
pub const fn prio_to_nice(prio: i32) -> i32 {
    prio - DEFAULT_PRIO
}

/// The weight of a nice 0 task (Linux: NICE_0_LOAD, without the extra
/// fixed-point bits of 64-bit kernels).
pub const NICE_0_LOAD: u64 = 1024;

/// The weight of a SCHED_IDLE task (Linux: WEIGHT_IDLEPRIO).
pub const WEIGHT_IDLEPRIO: u64 = 3;

/// The fair-class weight of each nice value, -20 first: each step is about
/// 1.25 times the next, so one nice level more gives about 10 % less CPU
/// against a task that stayed put.
///
/// Linux: sched_prio_to_weight[] in kernel/sched/core.c
pub const SCHED_PRIO_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, //
    29154, 23254, 18705, 14949, 11916, //
    9548, 7620, 6100, 4904, 3906, //
    3121, 2501, 1991, 1586, 1277, //
    1024, 820, 655, 526, 423, //
    335, 272, 215, 172, 137, //
    110, 87, 70, 56, 45, //
    36, 29, 23, 18, 15, //
];

/// The weight of a fair task of static priority `static_prio` and policy
/// `policy`.
///
/// Linux: set_load_weight() in kernel/sched/core.c
pub fn prio_to_weight(static_prio: i32, policy: u32) -> u64 {
    if policy == SCHED_IDLE {
        return WEIGHT_IDLEPRIO;
    }
    let idx = (static_prio - MAX_RT_PRIO).clamp(0, 39) as usize;
    SCHED_PRIO_TO_WEIGHT[idx]
}

/// Whether `policy` is one of the real-time ones (Linux: rt_policy()).
pub fn rt_policy(policy: u32) -> bool {
    policy == SCHED_FIFO || policy == SCHED_RR
}

/// Whether `prio` is a real-time priority (Linux: rt_prio()).
pub fn rt_prio(prio: i32) -> bool {
    prio < MAX_RT_PRIO
}
