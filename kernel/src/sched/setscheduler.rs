//! Changing a task's policy and priority: the checks every policy system
//! call shares (valid policy and priority, permission), then the change
//! itself, which moves the task between classes while its run queue is
//! locked.
//!
//! A task's priorities, lower first (prio.rs draws the scale):
//! - `static_prio`: its nice value, 100-139; kept while it is real-time.
//! - `normal_prio`: what its policy makes of it: `99 - rt_priority` for
//!   SCHED_FIFO and SCHED_RR, `static_prio` for the fair policies.
//! - `prio`: the one the scheduler uses; `normal_prio` here, since no
//!   priority inheritance boosts it.
//!
//! Linux: __sched_setscheduler() and its helpers in kernel/sched/syscalls.c
//! Not modelled: SCHED_DEADLINE and SCHED_EXT (refused as unknown
//! policies), priority inheritance (rt_mutex boosting), utilization clamps,
//! the LSM hook (security_task_setscheduler), RT group scheduling.

use super::class::{__setscheduler_class, sched_change};
use super::migrate::task_rq_lock;
use super::nice::task_nice;
use super::prio::{
    MAX_NICE, MAX_RT_PRIO, SCHED_BATCH, SCHED_FIFO, SCHED_IDLE, SCHED_NORMAL, SCHED_RR,
    nice_to_prio, rt_policy,
};
use crate::capability::{CAP_SYS_NICE, capable};
use crate::errno::Errno;
use crate::resource::{RLIMIT_NICE, RLIMIT_RTPRIO};
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Or'ed into sched_setscheduler's policy: the task's children start with
/// the default policy (Linux: SCHED_RESET_ON_FORK).
pub const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;
/// sched_attr flag: the same, for sched_setattr (Linux: SCHED_FLAG_RESET_ON_FORK).
pub const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
/// sched_attr flag: leave the policy as it is (Linux: SCHED_FLAG_KEEP_POLICY).
pub const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
/// sched_attr flag: leave priority and nice as they are (Linux: SCHED_FLAG_KEEP_PARAMS).
pub const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
/// sched_attr flags: set the utilization clamps (Linux: SCHED_FLAG_UTIL_CLAMP).
pub const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;
/// Every sched_attr flag Linux knows, the deadline ones included (Linux:
/// SCHED_FLAG_ALL).
pub const SCHED_FLAG_ALL: u64 = 0x7f;
/// The policy in a sched_attr that means "keep the task's" (Linux: SETPARAM_POLICY).
pub const SETPARAM_POLICY: i32 = -1;

/// What a policy call asks for, as user space lays out `struct sched_attr`
/// (the deadline fields and clamps are read and ignored).
///
/// Linux: struct sched_attr in include/uapi/linux/sched/types.h
#[derive(Clone, Copy, Default, Debug)]
pub struct SchedAttr {
    /// The size of the caller's structure (versions: 48, 56 bytes).
    pub size: u32,
    /// SCHED_NORMAL, SCHED_FIFO, ..., or SETPARAM_POLICY.
    pub sched_policy: i32,
    /// SCHED_FLAG_*.
    pub sched_flags: u64,
    /// The nice value, for the fair policies.
    pub sched_nice: i32,
    /// The real-time priority, 1-99, for SCHED_FIFO and SCHED_RR; else 0.
    pub sched_priority: u32,
}

/// Whether this kernel has `policy` (Linux: valid_policy()).
/// Differs: SCHED_DEADLINE (6) and SCHED_EXT (7) are not modelled.
pub fn valid_policy(policy: i32) -> bool {
    [SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE]
        .iter()
        .any(|&p| p as i32 == policy)
}

/// Whether `policy` takes a nice value: SCHED_NORMAL and SCHED_BATCH.
/// SCHED_IDLE, though also run by the fair class, keeps the nice value it
/// had and ignores sched_attr's (Linux: fair_policy()).
pub fn fair_policy(policy: u32) -> bool {
    policy == SCHED_NORMAL || policy == SCHED_BATCH
}

/// The priority a task of `policy` with `rt_prio` and `nice` has before
/// any boost.
///
/// Linux: __normal_prio() in kernel/sched/core.c
pub fn __normal_prio(policy: u32, rt_prio: u32, nice: i32) -> i32 {
    if rt_policy(policy) {
        MAX_RT_PRIO - 1 - rt_prio as i32
    } else {
        nice_to_prio(nice)
    }
}

/// `p`'s soft limit of `resource`.
///
/// Linux: task_rlimit() in include/linux/sched/signal.h
fn task_rlimit(p: &TaskStruct, resource: usize) -> u64 {
    p.signal().rlim.lock().cur(resource)
}

/// Whether RLIMIT_NICE lets `p` go down to `nice`: the limit counts nice
/// values upwards from 19 (1) to -20 (40).
///
/// Linux: is_nice_reduction() in kernel/sched/syscalls.c
pub fn is_nice_reduction(p: &TaskStruct, nice: i32) -> bool {
    let nice_rlim = (MAX_NICE - nice + 1) as u64;
    nice_rlim <= task_rlimit(p, RLIMIT_NICE)
}

/// Whether `p` may move to `nice`: within RLIMIT_NICE, or with CAP_SYS_NICE.
///
/// Linux: can_nice() in kernel/sched/syscalls.c
pub fn can_nice(p: &TaskStruct, nice: i32) -> bool {
    is_nice_reduction(p, nice) || capable(CAP_SYS_NICE)
}

/// The permission check of a change a user asked for: what an owner may
/// do without CAP_SYS_NICE is to lower its task's priority, and to raise
/// it within RLIMIT_NICE and RLIMIT_RTPRIO.
///
/// Linux: user_check_sched_setscheduler() in kernel/sched/syscalls.c
///
/// # Errors
/// `EPERM` when the change needs CAP_SYS_NICE and the caller lacks it.
fn user_check_sched_setscheduler(
    p: &TaskStruct,
    attr: &SchedAttr,
    policy: u32,
    reset_on_fork: bool,
) -> Result<(), Errno> {
    if needs_cap_sys_nice(p, attr, policy, reset_on_fork) && !capable(CAP_SYS_NICE) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The cases of user_check_sched_setscheduler() that need privilege
/// (Linux: its `goto req_priv`s, in its order).
fn needs_cap_sys_nice(p: &TaskStruct, attr: &SchedAttr, policy: u32, reset_on_fork: bool) -> bool {
    if fair_policy(policy)
        && attr.sched_nice < task_nice(p)
        && !is_nice_reduction(p, attr.sched_nice)
    {
        return true;
    }
    if rt_policy(policy) {
        let rlim_rtprio = task_rlimit(p, RLIMIT_RTPRIO);
        // Becoming real-time at all needs some RLIMIT_RTPRIO.
        if policy != p.policy.load(Ordering::Relaxed) && rlim_rtprio == 0 {
            return true;
        }
        let prio = u64::from(attr.sched_priority);
        if prio > u64::from(p.rt_priority.load(Ordering::Relaxed)) && prio > rlim_rtprio {
            return true;
        }
    }
    // SCHED_IDLE counts as nice 20: leaving it is a nice reduction.
    if p.policy.load(Ordering::Relaxed) == SCHED_IDLE
        && policy != SCHED_IDLE
        && !is_nice_reduction(p, task_nice(p))
    {
        return true;
    }
    if !super::syscalls::check_same_owner(p) {
        return true;
    }
    p.sched_reset_on_fork.load(Ordering::Relaxed) && !reset_on_fork
}

/// Sets `p`'s policy and priority from sched_setscheduler's arguments:
/// `policy` may carry SCHED_RESET_ON_FORK, or be SETPARAM_POLICY for
/// sched_setparam; the nice value stays.
///
/// Linux: _sched_setscheduler() in kernel/sched/syscalls.c
///
/// # Errors
/// As __sched_setscheduler().
pub fn _sched_setscheduler(
    p: &Arc<TaskStruct>,
    policy: i32,
    prio: i32,
    user: bool,
) -> Result<(), Errno> {
    let mut attr = SchedAttr {
        sched_policy: policy,
        // A negative priority becomes a huge one, refused below.
        sched_priority: prio as u32,
        sched_nice: task_nice(p),
        ..SchedAttr::default()
    };
    if policy != SETPARAM_POLICY && policy & SCHED_RESET_ON_FORK != 0 {
        attr.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
        attr.sched_policy = policy & !SCHED_RESET_ON_FORK;
    }
    __sched_setscheduler(p, &attr, user)
}

/// Changes `p`'s policy, priority, nice value and reset-on-fork flag as
/// `attr` says, after checking them (and, for a `user` request, the
/// caller's permission). The task leaves its class's queue with the old
/// values and comes back with the new ones (sched_change), perhaps in
/// another class; a task that now outranks the running one preempts it.
///
/// Linux: __sched_setscheduler() in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: an unknown policy or flag, a priority that does not fit the
/// policy (1-99 for SCHED_FIFO/RR, 0 otherwise), or the CPU's stopper.
/// `EOPNOTSUPP`: utilization clamps. `EPERM`: see
/// user_check_sched_setscheduler().
pub fn __sched_setscheduler(
    p: &Arc<TaskStruct>,
    attr: &SchedAttr,
    user: bool,
) -> Result<(), Errno> {
    let (policy, reset_on_fork) = if attr.sched_policy < 0 {
        (
            p.policy.load(Ordering::Relaxed),
            p.sched_reset_on_fork.load(Ordering::Relaxed),
        )
    } else if valid_policy(attr.sched_policy) {
        (
            attr.sched_policy as u32,
            attr.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0,
        )
    } else {
        return Err(Errno::EINVAL);
    };
    if attr.sched_flags & !SCHED_FLAG_ALL != 0 || attr.sched_priority > MAX_RT_PRIO as u32 - 1 {
        return Err(Errno::EINVAL);
    }
    if rt_policy(policy) != (attr.sched_priority != 0) {
        return Err(Errno::EINVAL);
    }
    if user {
        user_check_sched_setscheduler(p, attr, policy, reset_on_fork)?;
    }
    // Differs: no utilization clamps (Linux without CONFIG_UCLAMP_TASK).
    if attr.sched_flags & SCHED_FLAG_UTIL_CLAMP != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let mut trq = task_rq_lock(p);
    if trq
        .rq
        .stop
        .as_ref()
        .is_some_and(|stop| Arc::ptr_eq(stop, p))
    {
        return Err(Errno::EINVAL);
    }
    p.sched_reset_on_fork
        .store(reset_on_fork, Ordering::Relaxed);
    if !sched_params_changed(p, attr, policy) {
        return Ok(());
    }
    let newprio = __normal_prio(policy, attr.sched_priority, attr.sched_nice);
    sched_change(&mut trq.rq, p, |_rq| {
        if attr.sched_flags & SCHED_FLAG_KEEP_PARAMS == 0 {
            __setscheduler_params(p, attr, policy);
            p.sched_class.store(
                __setscheduler_class(policy, newprio) as u8,
                Ordering::Relaxed,
            );
            p.prio.store(newprio, Ordering::Relaxed);
        }
    });
    Ok(())
}

/// Whether `attr` changes anything but the reset-on-fork flag.
///
/// Linux: the `policy == p->policy` shortcut of __sched_setscheduler()
fn sched_params_changed(p: &TaskStruct, attr: &SchedAttr, policy: u32) -> bool {
    if policy != p.policy.load(Ordering::Relaxed) {
        return true;
    }
    if fair_policy(policy) {
        return attr.sched_nice != task_nice(p);
    }
    attr.sched_priority != p.rt_priority.load(Ordering::Relaxed)
}

/// Stores the policy and its parameters: the nice value of a fair task
/// (an RT task keeps the one it had), the RT priority, and normal_prio.
///
/// Linux: __setscheduler_params() in kernel/sched/syscalls.c (with
/// __setparam_fair() and set_load_weight())
fn __setscheduler_params(p: &TaskStruct, attr: &SchedAttr, policy: u32) {
    p.policy.store(policy, Ordering::Relaxed);
    if fair_policy(policy) {
        p.static_prio
            .store(nice_to_prio(attr.sched_nice), Ordering::Relaxed);
    }
    p.rt_priority.store(attr.sched_priority, Ordering::Relaxed);
    let nice = task_nice(p);
    p.normal_prio.store(
        __normal_prio(policy, attr.sched_priority, nice),
        Ordering::Relaxed,
    );
}

/// The child of a SCHED_RESET_ON_FORK parent: an RT child becomes
/// SCHED_NORMAL at nice 0, a fair one keeps its policy but not a negative
/// nice; and the child's own children inherit again.
///
/// Linux: the sched_reset_on_fork branch of sched_fork() in kernel/sched/core.c
pub fn sched_fork_reset(p: &TaskStruct) {
    if rt_policy(p.policy.load(Ordering::Relaxed)) {
        p.policy.store(SCHED_NORMAL, Ordering::Relaxed);
        p.static_prio.store(nice_to_prio(0), Ordering::Relaxed);
        p.rt_priority.store(0, Ordering::Relaxed);
    } else if task_nice(p) < 0 {
        p.static_prio.store(nice_to_prio(0), Ordering::Relaxed);
    }
    let static_prio = p.static_prio.load(Ordering::Relaxed);
    p.normal_prio.store(static_prio, Ordering::Relaxed);
    p.prio.store(static_prio, Ordering::Relaxed);
    p.sched_reset_on_fork.store(false, Ordering::Relaxed);
}
