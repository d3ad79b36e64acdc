//! The CPU-affinity system calls, and getcpu: which CPUs a task may run
//! on, and which one the caller runs on now.
//!
//! Linux: kernel/sched/syscalls.c (sched_setaffinity, sched_getaffinity),
//! kernel/sys.c (getcpu)
//! Not modelled: cpusets (a task may use every online CPU), the LSM hooks
//! (security_task_setscheduler), NUMA nodes (node 0 always).

use super::migrate::set_cpus_allowed_ptr;
use crate::capability::{CAP_SYS_NICE, capable};
use crate::cpumask::{CpuMask, cpu_online_mask, cpu_possible_mask};
use crate::cred::{current_cred, task_cred};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user, put_user};
use crate::syscall::SysResult;
use crate::task::{PF_NO_SETAFFINITY, TaskStruct, current};
use alloc::sync::Arc;

/// Bytes of a CPU mask as the kernel stores it: whole longs for
/// `NR_CPUS` bits (Linux: cpumask_size()).
const CPUMASK_SIZE: u64 = 8;

/// One more than the highest possible CPU number (Linux: nr_cpu_ids).
fn nr_cpu_ids() -> u64 {
    64 - u64::from(cpu_possible_mask().bits().leading_zeros())
}

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
fn check_same_owner(p: &TaskStruct) -> bool {
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
    if len.saturating_mul(8) < nr_cpu_ids() || !len.is_multiple_of(8) {
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
