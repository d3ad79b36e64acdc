//! pidfd_send_signal(2): kill(2) aimed through a pidfd, so the signal
//! cannot reach another process that reused the pid.
//!
//! Linux: SYSCALL_DEFINE4(pidfd_send_signal) in kernel/signal.c
//! Differs: a `/proc/<pid>` directory descriptor is not a pidfd here (EBADF).

use super::kill::__kill_pgrp_info;
use super::rt::siginfo_from_user;
use super::send::{PidType, do_send_sig_info, group_send_sig_info};
use super::*;
use crate::errno::Errno;
use crate::syscall::SysResult;
use crate::tasklist::TASKLIST_LOCK;

/// Send to the thread the pidfd names (Linux: PIDFD_SIGNAL_THREAD).
const PIDFD_SIGNAL_THREAD: u32 = 1 << 0;
/// Send to its process (the default for a process pidfd).
const PIDFD_SIGNAL_THREAD_GROUP: u32 = 1 << 1;
/// Send to its process group.
const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;

/// Sends `sig` to the process of `pidfd`, with the siginfo at `info` or,
/// when it is NULL, as kill(2) from the caller (SI_USER). `flags` chooses
/// the thread, the process (0) or its process group.
///
/// Linux: SYSCALL_DEFINE4(pidfd_send_signal) in kernel/signal.c
/// Differs: to a process group, a caller's siginfo is not passed on; each
/// process gets SI_USER from the caller.
///
/// # Errors
/// `EINVAL` for a bad signal, unknown or several flags, or a siginfo whose
/// si_signo is not `sig`; `EBADF` when `pidfd` is not an open pidfd;
/// `EPERM` for a siginfo claiming the kernel or kill() (si_code >= 0) or
/// tkill to another process, and for a process the caller may not signal
/// (check_kill_permission); `ESRCH` once the process has been reaped.
pub fn sys_pidfd_send_signal(pidfd: i32, sig: i32, info: u64, flags: u32) -> SysResult {
    const SCOPES: u32 =
        PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    if !valid_signal(sig) || flags & !SCOPES != 0 || flags.count_ones() > 1 {
        return Err(Errno::EINVAL);
    }
    let file = crate::fs::read_write::fdget(pidfd)?;
    let task = file.f_op.pidfd_task().ok_or(Errno::EBADF)?.clone();
    let kinfo = match info {
        0 => super::SendSig::NoInfo.info_for(&task),
        _ => {
            let signo: i32 = crate::mm::uaccess::get_user(info)?;
            if signo != sig {
                return Err(Errno::EINVAL);
            }
            // Only the caller's own process may be sent a forged origin.
            let own = match flags {
                PIDFD_SIGNAL_PROCESS_GROUP => 0,
                _ => crate::pid::task_tgid_vnr(&task),
            };
            siginfo_from_user(info, sig, own)?
        }
    };
    // Reaped: the pid no longer leads to this task.
    let root = crate::pid_namespace::init_pid_ns();
    let alive =
        crate::pid::find_task_by_pid_ns(task.pid(), root).is_some_and(|t| Arc::ptr_eq(&t, &task));
    if !alive {
        return Err(Errno::ESRCH);
    }
    match flags {
        PIDFD_SIGNAL_PROCESS_GROUP => {
            let pgrp = task.signal().pgrp.load(Ordering::Relaxed);
            let killed = __kill_pgrp_info(sig, pgrp, &TASKLIST_LOCK.lock(), true);
            match (killed.found, killed.allowed) {
                (false, _) => return Err(Errno::ESRCH),
                (true, false) => return Err(Errno::EPERM),
                (true, true) => {}
            }
        }
        PIDFD_SIGNAL_THREAD => {
            check_kill_permission(sig, &kinfo, &task)?;
            if sig != 0 && task.exit_state() == 0 {
                do_send_sig_info(sig, kinfo, &task, PidType::Pid)?;
            }
        }
        _ => group_send_sig_info(sig, kinfo, &task)?,
    }
    Ok(0)
}
