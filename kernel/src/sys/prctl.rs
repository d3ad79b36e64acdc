//! prctl(2): the operations a process applies to itself, one small
//! helper per option that needs more than a line.
//!
//! Linux: the prctl part of kernel/sys.c; get_tsc_mode() and set_tsc_mode()
//! in arch/x86/kernel/process.c
//! Not modelled: seccomp, machine-check policy, transparent huge pages,
//! perf events, the io-flusher flag: their getters give the value a task
//! that never set them has.

use crate::capability::{CAP_SYS_RESOURCE, capable};
use crate::errno::Errno;
use crate::mm::mm_types::{SUID_DUMP_DISABLE, SUID_DUMP_USER};
use crate::mm::uaccess::{copy_to_user, get_user, put_user};
use crate::security::commoncap::cap_task_prctl;
use crate::syscall::SysResult;
use crate::task::{Comm, TASK_COMM_LEN, TaskStruct, current};
use core::sync::atomic::Ordering;

const PR_SET_PDEATHSIG: i32 = 1;
const PR_GET_PDEATHSIG: i32 = 2;
const PR_GET_DUMPABLE: i32 = 3;
const PR_SET_DUMPABLE: i32 = 4;
const PR_GET_TIMING: i32 = 13;
const PR_SET_TIMING: i32 = 14;
const PR_SET_NAME: i32 = 15;
const PR_GET_NAME: i32 = 16;
const PR_GET_SECCOMP: i32 = 21;
const PR_GET_TSC: i32 = 25;
const PR_SET_TSC: i32 = 26;
const PR_SET_TIMERSLACK: i32 = 29;
const PR_GET_TIMERSLACK: i32 = 30;
const PR_TASK_PERF_EVENTS_DISABLE: i32 = 31;
const PR_TASK_PERF_EVENTS_ENABLE: i32 = 32;
const PR_MCE_KILL_GET: i32 = 34;
const PR_SET_CHILD_SUBREAPER: i32 = 36;
const PR_GET_CHILD_SUBREAPER: i32 = 37;
const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_GET_NO_NEW_PRIVS: i32 = 39;
const PR_GET_TID_ADDRESS: i32 = 40;
const PR_GET_THP_DISABLE: i32 = 42;
const PR_GET_IO_FLUSHER: i32 = 58;

/// The only timing mode: process time by statistical sampling.
const PR_TIMING_STATISTICAL: u64 = 0;
/// RDTSC allowed in user mode.
const PR_TSC_ENABLE: u32 = 1;
/// No machine-check policy of its own: the system's applies.
const PR_MCE_KILL_DEFAULT: u64 = 2;

/// Linux: SYSCALL_DEFINE5(prctl) in kernel/sys.c
/// Differs: the timer slack is kept and inherited, but no timer waits for
/// it (Linux lets hrtimers of the task fire up to that much late).
pub fn sys_prctl(option: i32, arg2: u64, arg3: u64, arg4: u64, arg5: u64) -> SysResult {
    if let Some(result) = cap_task_prctl(option, arg2, arg3, arg4, arg5) {
        return result;
    }
    let me = current();
    match option {
        PR_SET_PDEATHSIG => prctl_set_pdeathsig(&me, arg2),
        PR_GET_PDEATHSIG => {
            put_user(arg2, me.pdeath_signal.load(Ordering::Relaxed))?;
            Ok(0)
        }
        PR_SET_NAME => prctl_set_name(&me, arg2),
        PR_GET_NAME => prctl_get_name(&me, arg2),
        PR_GET_DUMPABLE => Ok(me
            .mm
            .lock()
            .as_ref()
            .map_or(0, |mm| mm.get_dumpable())
            .into()),
        PR_SET_DUMPABLE => prctl_set_dumpable(&me, arg2),
        PR_GET_TIMERSLACK => Ok(me.timer_slack_ns.load(Ordering::Relaxed)),
        PR_SET_TIMERSLACK => {
            let slack = match arg2 {
                0 => me.default_timer_slack_ns.load(Ordering::Relaxed),
                _ => arg2,
            };
            me.timer_slack_ns.store(slack, Ordering::Relaxed);
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => prctl_set_child_subreaper(&me, arg2),
        PR_GET_CHILD_SUBREAPER => {
            put_user(
                arg2,
                i32::from(me.signal().is_child_subreaper.load(Ordering::Relaxed)),
            )?;
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS | PR_GET_NO_NEW_PRIVS => {
            prctl_no_new_privs(&me, option, [arg2, arg3, arg4, arg5])
        }
        PR_GET_TID_ADDRESS => {
            put_user(arg2, me.clear_child_tid.load(Ordering::Relaxed)).map(|()| 0)
        }
        PR_GET_SECCOMP => Ok(0),
        PR_GET_TIMING => Ok(PR_TIMING_STATISTICAL),
        PR_SET_TIMING if arg2 != PR_TIMING_STATISTICAL => Err(Errno::EINVAL),
        PR_SET_TIMING => Ok(0),
        PR_GET_TSC => get_tsc_mode(arg2),
        PR_SET_TSC => set_tsc_mode(arg2),
        PR_TASK_PERF_EVENTS_DISABLE | PR_TASK_PERF_EVENTS_ENABLE => Ok(0),
        PR_MCE_KILL_GET | PR_GET_THP_DISABLE | PR_GET_IO_FLUSHER => {
            prctl_get_default(option, [arg2, arg3, arg4, arg5])
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The getters of settings this kernel does not model, which refuse
/// unused arguments: no machine-check policy of the task's own, THP not
/// disabled, not an io flusher (only a task with CAP_SYS_RESOURCE may ask).
///
/// Linux: the PR_MCE_KILL_GET, PR_GET_THP_DISABLE and PR_GET_IO_FLUSHER
/// cases of SYSCALL_DEFINE5(prctl) in kernel/sys.c
/// Differs: their setters are not implemented, so the answers never change.
///
/// # Errors
/// `EPERM` for PR_GET_IO_FLUSHER without CAP_SYS_RESOURCE (checked first);
/// `EINVAL` when an argument is not 0.
fn prctl_get_default(option: i32, args: [u64; 4]) -> SysResult {
    if option == PR_GET_IO_FLUSHER && !capable(CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    if args != [0; 4] {
        return Err(Errno::EINVAL);
    }
    Ok(match option {
        PR_MCE_KILL_GET => PR_MCE_KILL_DEFAULT,
        _ => 0,
    })
}

/// Writes whether RDTSC works in user mode to the int at `addr`: always
/// PR_TSC_ENABLE here.
///
/// Linux: get_tsc_mode() in arch/x86/kernel/process.c
///
/// # Errors
/// `EFAULT` when `addr` is not writable.
fn get_tsc_mode(addr: u64) -> SysResult {
    put_user(addr, PR_TSC_ENABLE).map(|()| 0)
}

/// Allows RDTSC in user mode (PR_TSC_ENABLE, the only mode here).
///
/// Linux: set_tsc_mode() in arch/x86/kernel/process.c
/// Differs: PR_TSC_SIGSEGV (2: RDTSC faults, by CR4.TSD switched per task)
/// is not implemented and gives EINVAL, as an unknown mode does.
///
/// # Errors
/// `EINVAL` for any mode but PR_TSC_ENABLE.
fn set_tsc_mode(mode: u64) -> SysResult {
    // Linux takes the mode as an unsigned int: the high half is ignored.
    match mode as u32 {
        PR_TSC_ENABLE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// Sets the signal the caller gets when the thread that created it exits
/// (0: none).
///
/// Linux: the PR_SET_PDEATHSIG case of SYSCALL_DEFINE5(prctl) in kernel/sys.c
///
/// # Errors
/// `EINVAL` for a number that is not a signal.
fn prctl_set_pdeathsig(me: &TaskStruct, arg2: u64) -> SysResult {
    let sig = i32::try_from(arg2).map_err(|_| Errno::EINVAL)?;
    if !(0..=crate::signal::_NSIG as i32).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    me.pdeath_signal.store(sig, Ordering::Relaxed);
    Ok(0)
}

/// Copies the caller's name, NUL-padded to 16 bytes, to `addr`.
///
/// Linux: the PR_GET_NAME case of SYSCALL_DEFINE5(prctl) in kernel/sys.c
///
/// # Errors
/// `EFAULT` when `addr` is not writable.
fn prctl_get_name(me: &TaskStruct, addr: u64) -> SysResult {
    let comm: Comm = me.comm();
    let mut raw = [0u8; TASK_COMM_LEN];
    raw[..comm.as_bytes().len()].copy_from_slice(comm.as_bytes());
    copy_to_user(addr, &raw)?;
    Ok(0)
}

/// Makes the caller's process a subreaper (any `arg2` but 0) or not; once
/// one, its descendants look for subreapers when orphaned.
///
/// Linux: the PR_SET_CHILD_SUBREAPER case of SYSCALL_DEFINE5(prctl) in
/// kernel/sys.c
fn prctl_set_child_subreaper(me: &TaskStruct, arg2: u64) -> SysResult {
    me.signal()
        .is_child_subreaper
        .store(arg2 != 0, Ordering::Relaxed);
    if arg2 != 0 {
        me.signal()
            .has_child_subreaper
            .store(true, Ordering::Relaxed);
    }
    Ok(0)
}

/// Names the caller from a NUL-terminated string, cut at 15 bytes.
///
/// Linux: the PR_SET_NAME case of SYSCALL_DEFINE5(prctl) in kernel/sys.c
fn prctl_set_name(me: &TaskStruct, addr: u64) -> SysResult {
    let mut raw = [0u8; TASK_COMM_LEN];
    for (i, slot) in raw.iter_mut().enumerate().take(TASK_COMM_LEN - 1) {
        *slot = get_user(addr.checked_add(i as u64).ok_or(Errno::EFAULT)?)?;
        if *slot == 0 {
            break;
        }
    }
    me.set_comm(&raw);
    Ok(0)
}

/// Sets no_new_privs (arguments 1, 0, 0, 0: it can never be undone) or
/// reads it (all arguments 0).
///
/// Linux: the PR_SET_NO_NEW_PRIVS and PR_GET_NO_NEW_PRIVS cases of
/// SYSCALL_DEFINE5(prctl) in kernel/sys.c
///
/// # Errors
/// `EINVAL` for any other arguments.
fn prctl_no_new_privs(me: &TaskStruct, option: i32, args: [u64; 4]) -> SysResult {
    let nnp = crate::task::PFA_NO_NEW_PRIVS;
    match (option, args) {
        (PR_SET_NO_NEW_PRIVS, [1, 0, 0, 0]) => {
            me.atomic_flags.fetch_or(nnp, Ordering::Relaxed);
            Ok(0)
        }
        (PR_GET_NO_NEW_PRIVS, [0, 0, 0, 0]) => Ok(u64::from(
            me.atomic_flags.load(Ordering::Relaxed) & nnp != 0,
        )),
        _ => Err(Errno::EINVAL),
    }
}

/// Only "not dumpable" (0) and "dumpable by its user" (1) may be asked for.
///
/// Linux: the PR_SET_DUMPABLE case of SYSCALL_DEFINE5(prctl) in kernel/sys.c
fn prctl_set_dumpable(me: &TaskStruct, arg: u64) -> SysResult {
    let value = match arg {
        0 => SUID_DUMP_DISABLE,
        1 => SUID_DUMP_USER,
        _ => return Err(Errno::EINVAL),
    };
    if let Some(mm) = me.mm.lock().as_ref() {
        mm.set_dumpable(value);
    }
    Ok(0)
}
