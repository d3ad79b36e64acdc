//! The scheduler's system calls: which CPUs a task may run on (and getcpu,
//! which one the caller runs on now), and its policy and priority
//! (sched_setscheduler and its relatives, which setscheduler.rs carries
//! out).
//!
//! Linux: kernel/sched/syscalls.c, kernel/sys.c (getcpu)
//! Not modelled: cpusets (a task may use every online CPU), the LSM hooks
//! (security_task_setscheduler), NUMA nodes (node 0 always).

use super::SchedClassId;
use super::migrate::set_cpus_allowed_ptr;
use super::nice::task_nice;
use super::prio::{MAX_NICE, MAX_RT_PRIO, MIN_NICE, SCHED_FIFO, SCHED_RR, rt_policy};
use super::setscheduler::{
    __sched_setscheduler, _sched_setscheduler, SCHED_FLAG_KEEP_POLICY, SCHED_FLAG_RESET_ON_FORK,
    SCHED_FLAG_UTIL_CLAMP, SCHED_RESET_ON_FORK, SETPARAM_POLICY, SchedAttr, valid_policy,
};
use crate::capability::{CAP_SYS_NICE, capable};
use crate::cpumask::{CpuMask, cpu_online_mask};
use crate::cred::{current_cred, task_cred};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user, put_user};
use crate::syscall::SysResult;
use crate::task::{PF_NO_SETAFFINITY, TaskStruct, current};
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// Bytes of a CPU mask as the kernel stores it: whole longs for
/// `NR_CPUS` bits (Linux: cpumask_size()).
const CPUMASK_SIZE: u64 = 8;

/// The task `pid` names, the caller for 0.
///
/// Linux: find_process_by_pid() in kernel/sched/syscalls.c
fn find_process_by_pid(pid: i32) -> Result<Arc<TaskStruct>, Errno> {
    if pid == 0 {
        return Ok(current());
    }
    crate::pid::find_task_by_vpid(pid).ok_or(Errno::ESRCH)
}

/// Whether the caller's effective uid is `p`'s real or effective one.
///
/// Linux: check_same_owner() in kernel/sched/syscalls.c
pub(super) fn check_same_owner(p: &TaskStruct) -> bool {
    let (cred, pcred) = (current_cred(), task_cred(p));
    cred.euid == pcred.euid || cred.euid == pcred.uid
}

/// Reads the user's mask: a shorter one is padded with zeros (no CPU), a
/// longer one read only as far as the kernel's mask goes.
///
/// Linux: get_user_cpu_mask() in kernel/sched/syscalls.c
fn get_user_cpu_mask(user_mask_ptr: u64, len: u64) -> Result<CpuMask, Errno> {
    let mut bytes = [0u8; CPUMASK_SIZE as usize];
    let len = len.min(CPUMASK_SIZE) as usize;
    copy_from_user(&mut bytes[..len], user_mask_ptr)?;
    Ok(CpuMask::from_bits_truncate(u64::from_le_bytes(bytes)))
}

/// Linux: SYSCALL_DEFINE3(sched_setaffinity) in kernel/sched/syscalls.c
pub fn sys_sched_setaffinity(pid: i32, len: u64, user_mask_ptr: u64) -> SysResult {
    let new_mask = get_user_cpu_mask(user_mask_ptr, len)?;
    sched_setaffinity(pid, new_mask)?;
    Ok(0)
}

/// Lets the task `pid` (0: the caller) run only on the CPUs of `in_mask`
/// that are online, moving it off its CPU at once if that one is not
/// among them.
///
/// Linux: sched_setaffinity() -> __sched_setaffinity() in
/// kernel/sched/syscalls.c
///
/// # Errors
/// `ESRCH`: no such task. `EINVAL`: a kernel thread whose CPUs are the
/// kernel's (PF_NO_SETAFFINITY), or no online CPU in the mask. `EPERM`: the
/// caller is neither the task's owner nor has CAP_SYS_NICE.
pub fn sched_setaffinity(pid: i32, in_mask: CpuMask) -> Result<(), Errno> {
    let p = find_process_by_pid(pid)?;
    if p.flags() & PF_NO_SETAFFINITY != 0 {
        return Err(Errno::EINVAL);
    }
    if !check_same_owner(&p) && !capable(CAP_SYS_NICE) {
        return Err(Errno::EPERM);
    }
    set_cpus_allowed_ptr(&p, in_mask)
}

/// Linux: SYSCALL_DEFINE3(sched_getaffinity) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: `len` too short for every possible CPU, or not whole longs.
/// `ESRCH`: no such task. `EFAULT`: the buffer.
pub fn sys_sched_getaffinity(pid: i32, len: u64, user_mask_ptr: u64) -> SysResult {
    if len.saturating_mul(8) < crate::cpumask::nr_cpu_ids() as u64 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mask = sched_getaffinity(pid)?;
    let retlen = len.min(CPUMASK_SIZE);
    copy_to_user(user_mask_ptr, &mask.bits().to_le_bytes()[..retlen as usize])?;
    Ok(retlen)
}

/// The CPUs the task `pid` may run on that are online.
///
/// Linux: sched_getaffinity() in kernel/sched/syscalls.c
///
/// # Errors
/// `ESRCH`: no such task.
pub fn sched_getaffinity(pid: i32) -> Result<CpuMask, Errno> {
    let p = find_process_by_pid(pid)?;
    Ok(p.cpus_mask().and(cpu_online_mask()))
}

/// Stores the CPU the caller runs on (and its NUMA node, always 0) where
/// asked; either pointer may be null. The answer may be stale by the time
/// it is read: the task may move.
///
/// Linux: SYSCALL_DEFINE3(getcpu) in kernel/sys.c
///
/// # Errors
/// `EFAULT`: a pointer.
pub fn sys_getcpu(cpup: u64, nodep: u64, _unused: u64) -> SysResult {
    let cpu = crate::arch::percpu::smp_processor_id() as u32;
    let mut err = Ok(());
    if cpup != 0 {
        err = err.and(put_user(cpup, cpu));
    }
    if nodep != 0 {
        err = err.and(put_user(nodep, 0u32));
    }
    err.map(|()| 0)
}

/// The first size of `struct sched_attr` (Linux: SCHED_ATTR_SIZE_VER0).
const SCHED_ATTR_SIZE_VER0: u32 = 48;
/// The size with the utilization clamps (Linux: SCHED_ATTR_SIZE_VER1),
/// the kernel's `sizeof(struct sched_attr)`.
const SCHED_ATTR_SIZE_VER1: u32 = 56;
/// The largest structure sched_setattr/getattr accept (Linux: PAGE_SIZE).
const SCHED_ATTR_SIZE_MAX: u32 = crate::mm::PAGE_SIZE as u32;

/// Linux: SYSCALL_DEFINE3(sched_setscheduler) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: a negative policy; else as do_sched_setscheduler().
pub fn sys_sched_setscheduler(pid: i32, policy: i32, param: u64) -> SysResult {
    if policy < 0 {
        return Err(Errno::EINVAL);
    }
    do_sched_setscheduler(pid, policy, param)
}

/// Linux: SYSCALL_DEFINE2(sched_setparam) in kernel/sched/syscalls.c
///
/// # Errors
/// As do_sched_setscheduler().
pub fn sys_sched_setparam(pid: i32, param: u64) -> SysResult {
    do_sched_setscheduler(pid, SETPARAM_POLICY, param)
}

/// Reads the `struct sched_param` (one int, the RT priority) and applies it
/// with `policy` to the task `pid`.
///
/// Linux: do_sched_setscheduler() in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: a null param or a negative pid. `EFAULT`: the param. `ESRCH`:
/// no such task. Else as __sched_setscheduler().
fn do_sched_setscheduler(pid: i32, policy: i32, param: u64) -> SysResult {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = get_user(param)?;
    let p = find_process_by_pid(pid)?;
    _sched_setscheduler(&p, policy, prio, true)?;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE3(sched_setattr) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: a null attr, a negative pid, nonzero flags, a negative policy.
/// `E2BIG`, `EFAULT`: see sched_copy_attr(). `ESRCH`: no such task. Else as
/// __sched_setscheduler().
pub fn sys_sched_setattr(pid: i32, uattr: u64, flags: u32) -> SysResult {
    if uattr == 0 || pid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let mut attr = sched_copy_attr(uattr)?;
    if attr.sched_policy < 0 {
        return Err(Errno::EINVAL);
    }
    if attr.sched_flags & SCHED_FLAG_KEEP_POLICY != 0 {
        attr.sched_policy = SETPARAM_POLICY;
    }
    let p = find_process_by_pid(pid)?;
    __sched_setscheduler(&p, &attr, true)?;
    Ok(0)
}

/// Reads a `struct sched_attr` of the size its first word gives: 0 means
/// the first version; a larger one than ours is fine if the part we do not
/// know is zero. The nice value is clamped to -20..19.
///
/// Linux: sched_copy_attr() in kernel/sched/syscalls.c (with
/// copy_struct_from_user())
///
/// # Errors
/// `E2BIG` (after writing our size into the caller's `size`): a size below
/// the first version or above a page, or nonzero bytes past our structure.
/// `EINVAL`: clamps with a first-version size. `EFAULT`: the structure.
fn sched_copy_attr(uattr: u64) -> Result<SchedAttr, Errno> {
    let mut size: u32 = get_user(uattr)?;
    if size == 0 {
        size = SCHED_ATTR_SIZE_VER0;
    }
    if !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_SIZE_MAX).contains(&size) {
        return Err(sched_attr_e2big(uattr));
    }
    let mut bytes = [0u8; SCHED_ATTR_SIZE_VER1 as usize];
    let known = size.min(SCHED_ATTR_SIZE_VER1) as usize;
    copy_from_user(&mut bytes[..known], uattr)?;
    if !crate::mm::uaccess::check_zeroed_user(
        uattr
            .checked_add(u64::from(SCHED_ATTR_SIZE_VER1))
            .ok_or(Errno::EFAULT)?,
        u64::from(size.saturating_sub(SCHED_ATTR_SIZE_VER1)),
    )? {
        return Err(sched_attr_e2big(uattr));
    }
    let mut attr = sched_attr_from_bytes(&bytes);
    if attr.sched_flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE_VER1 {
        return Err(Errno::EINVAL);
    }
    attr.sched_nice = attr.sched_nice.clamp(MIN_NICE, MAX_NICE);
    Ok(attr)
}

/// Tells the caller the size we know (ignoring a fault doing so) and
/// returns E2BIG.
///
/// Linux: the err_size label of sched_copy_attr()
fn sched_attr_e2big(uattr: u64) -> Errno {
    let _ = put_user(uattr, SCHED_ATTR_SIZE_VER1);
    Errno::E2BIG
}

/// The fields of a `struct sched_attr`, little endian as x86_64 lays them
/// out: size, policy, flags, nice, priority, then the deadline fields and
/// clamps, which are not modelled.
fn sched_attr_from_bytes(b: &[u8; SCHED_ATTR_SIZE_VER1 as usize]) -> SchedAttr {
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    SchedAttr {
        size: u32_at(0),
        sched_policy: u32_at(4) as i32,
        sched_flags: u64::from(u32_at(8)) | (u64::from(u32_at(12)) << 32),
        sched_nice: u32_at(16) as i32,
        sched_priority: u32_at(20),
    }
}

/// The bytes of a `struct sched_attr` for `attr`, zero where we model
/// nothing (deadline fields, clamps).
fn sched_attr_to_bytes(attr: &SchedAttr) -> [u8; SCHED_ATTR_SIZE_VER1 as usize] {
    let mut b = [0u8; SCHED_ATTR_SIZE_VER1 as usize];
    b[0..4].copy_from_slice(&attr.size.to_le_bytes());
    b[4..8].copy_from_slice(&attr.sched_policy.to_le_bytes());
    b[8..16].copy_from_slice(&attr.sched_flags.to_le_bytes());
    b[16..20].copy_from_slice(&attr.sched_nice.to_le_bytes());
    b[20..24].copy_from_slice(&attr.sched_priority.to_le_bytes());
    b
}

/// Linux: SYSCALL_DEFINE1(sched_getscheduler) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: a negative pid. `ESRCH`: no such task.
pub fn sys_sched_getscheduler(pid: i32) -> SysResult {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let p = find_process_by_pid(pid)?;
    let mut policy = p.policy.load(Ordering::Relaxed) as i32;
    if p.sched_reset_on_fork.load(Ordering::Relaxed) {
        policy |= SCHED_RESET_ON_FORK;
    }
    Ok(policy as u64)
}

/// Linux: SYSCALL_DEFINE2(sched_getparam) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: a null param or a negative pid. `ESRCH`: no such task.
/// `EFAULT`: the param.
pub fn sys_sched_getparam(pid: i32, param: u64) -> SysResult {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let p = find_process_by_pid(pid)?;
    let mut prio = 0u32;
    if rt_policy(p.policy.load(Ordering::Relaxed)) {
        prio = p.rt_priority.load(Ordering::Relaxed);
    }
    put_user(param, prio)?;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE4(sched_getattr) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: a null attr, a negative pid, nonzero flags, or a size below
/// the first version or above a page. `ESRCH`: no such task. `EFAULT`:
/// the structure.
pub fn sys_sched_getattr(pid: i32, uattr: u64, usize: u32, flags: u32) -> SysResult {
    if uattr == 0
        || pid < 0
        || !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_SIZE_MAX).contains(&usize)
        || flags != 0
    {
        return Err(Errno::EINVAL);
    }
    let p = find_process_by_pid(pid)?;
    let policy = p.policy.load(Ordering::Relaxed);
    let mut kattr = SchedAttr {
        sched_policy: policy as i32,
        ..SchedAttr::default()
    };
    if p.sched_reset_on_fork.load(Ordering::Relaxed) {
        kattr.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
    }
    if rt_policy(policy) {
        kattr.sched_priority = p.rt_priority.load(Ordering::Relaxed);
    } else {
        kattr.sched_nice = task_nice(&p);
    }
    sched_attr_copy_to_user(uattr, kattr, usize)?;
    Ok(0)
}

/// Writes as much of `kattr` as the caller's structure holds, with `size`
/// saying how much that was: an older caller gets the first fields, a newer
/// one learns that the rest is not ours.
///
/// Linux: sched_attr_copy_to_user() in kernel/sched/syscalls.c
///
/// # Errors
/// `EFAULT`: the structure.
fn sched_attr_copy_to_user(uattr: u64, mut kattr: SchedAttr, usize: u32) -> Result<(), Errno> {
    kattr.size = usize.min(SCHED_ATTR_SIZE_VER1);
    let bytes = sched_attr_to_bytes(&kattr);
    copy_to_user(uattr, &bytes[..kattr.size as usize])
}

/// Linux: SYSCALL_DEFINE1(sched_get_priority_max) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: an unknown policy.
pub fn sys_sched_get_priority_max(policy: i32) -> SysResult {
    match policy {
        _ if policy == SCHED_FIFO as i32 || policy == SCHED_RR as i32 => Ok(MAX_RT_PRIO as u64 - 1),
        _ if valid_policy(policy) => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// Linux: SYSCALL_DEFINE1(sched_get_priority_min) in kernel/sched/syscalls.c
///
/// # Errors
/// `EINVAL`: an unknown policy.
pub fn sys_sched_get_priority_min(policy: i32) -> SysResult {
    match policy {
        _ if policy == SCHED_FIFO as i32 || policy == SCHED_RR as i32 => Ok(1),
        _ if valid_policy(policy) => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// Stores the time slice of the task `pid` as a timespec: SCHED_RR's
/// slice for an RR task, 0 for a FIFO task (it has no slice), the fair
/// class's slice for the others.
///
/// Linux: SYSCALL_DEFINE2(sched_rr_get_interval) -> sched_rr_get_interval()
/// in kernel/sched/syscalls.c
/// Differs: the class is asked by a match, not through a get_rr_interval
/// entry of its sched_class.
///
/// # Errors
/// `EINVAL`: a negative pid. `ESRCH`: no such task. `EFAULT`: the timespec.
pub fn sys_sched_rr_get_interval(pid: i32, interval: u64) -> SysResult {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let p = find_process_by_pid(pid)?;
    let ns = {
        let _trq = super::migrate::task_rq_lock(&p);
        match p.sched_class_id() {
            SchedClassId::Rt => super::rt::get_rr_interval_rt(&p),
            SchedClassId::Fair => super::fair::get_rr_interval_fair(&p),
            _ => 0,
        }
    };
    put_user(
        interval,
        [(ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64],
    )?;
    Ok(0)
}
