//! waitid: do_wait() chosen by an id type (any child, a pid, a process
//! group, a pidfd), reported as the six siginfo fields waitid writes,
//! which it writes even when the wait fails.
//!
//! Linux: SYSCALL_DEFINE5(waitid) and kernel_waitid() in kernel/exit.c

use super::wait::{
    __WALL, __WCLONE, __WNOTHREAD, WCONTINUED, WEXITED, WNOHANG, WNOWAIT, WSTOPPED, WaitResult,
    WaitWho, do_wait, vpgrp_who, vpid_who,
};
use crate::errno::Errno;
use crate::signal::{SIGCHLD, cld_code_and_status};

/// waitid: any child (Linux: P_ALL in include/uapi/linux/wait.h).
const P_ALL: u32 = 0;
/// waitid: the child with this pid (Linux: P_PID).
const P_PID: u32 = 1;
/// waitid: any child in this process group (Linux: P_PGID).
const P_PGID: u32 = 2;
/// waitid: the child this pidfd names (Linux: P_PIDFD).
const P_PIDFD: u32 = 3;

/// The size of a user `siginfo_t` (Linux: SI_MAX_SIZE).
const SI_MAX_SIZE: usize = 128;
/// Where si_pid, si_uid and si_status start in a `siginfo_t`: after
/// si_signo, si_errno, si_code and the union's 8-byte alignment.
const SI_PID_OFFSET: u64 = 16;

/// Linux: SYSCALL_DEFINE5(waitid) in kernel/exit.c
///
/// The rusage is copied first, then si_signo, si_errno, si_code, si_pid,
/// si_uid and si_status, and nothing else of the siginfo: zeros when no
/// child was reported, also when the wait failed. A bad pointer fails the
/// call with `EFAULT`, after a reaped child is gone.
///
/// # Errors
/// As `kernel_waitid`; `EFAULT` for a bad `infop` or `ru`.
pub fn sys_waitid(
    which: u32,
    upid: i32,
    infop: u64,
    options: u32,
    ru: u64,
) -> crate::syscall::SysResult {
    let result = kernel_waitid(which, upid, options);
    let reported = result.as_ref().ok().filter(|r| r.pid != 0);
    if let Some(r) = reported
        && ru != 0
    {
        crate::mm::uaccess::put_user(ru, r.rusage.to_user())?;
    }
    if infop == 0 {
        return result.map(|_| 0);
    }
    if !crate::mm::uaccess::access_ok(infop, SI_MAX_SIZE) {
        return Err(Errno::EFAULT);
    }
    let (signo, code, pid, uid, status) = reported.map_or((0, 0, 0, 0, 0), |r| {
        let (code, status) = if r.trapped {
            (crate::signal::CLD_TRAPPED, r.status >> 8)
        } else {
            cld_code_and_status(r.status)
        };
        (SIGCHLD, code, r.pid, r.uid, status)
    });
    // si_signo, si_errno, si_code; then si_pid, si_uid, si_status.
    crate::mm::uaccess::put_user(infop, [signo, 0, code])?;
    let fields = infop.checked_add(SI_PID_OFFSET).ok_or(Errno::EFAULT)?;
    crate::mm::uaccess::put_user(fields, [pid as u32, uid, status as u32])?;
    result.map(|_| 0)
}

/// Chooses the children by id type and waits. A pidfd opened with
/// PIDFD_NONBLOCK waits as WNOHANG does, and with nothing to report fails
/// with `EAGAIN` unless the caller asked for WNOHANG itself.
///
/// Linux: kernel_waitid() in kernel/exit.c
///
/// # Errors
/// `EINVAL` for an unknown option or id type, no WEXITED, WSTOPPED or
/// WCONTINUED, or a pid below 1 (P_PID) or 0 (P_PGID, P_PIDFD); `EBADF` when
/// P_PIDFD's fd is no pidfd; `EAGAIN` as above; `ECHILD` when no child
/// matches; `EINTR` as do_wait.
fn kernel_waitid(which: u32, upid: i32, options: u32) -> Result<WaitResult, Errno> {
    let valid =
        WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL;
    if options & !valid != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let mut f_flags = 0;
    let who = match which {
        P_ALL => WaitWho::Any,
        P_PID if upid > 0 => vpid_who(upid),
        // Linux: get_task_pid(current, PIDTYPE_PGID) for 0.
        P_PGID if upid == 0 => WaitWho::Pgid(
            crate::task::current()
                .signal()
                .pgrp
                .load(core::sync::atomic::Ordering::Relaxed),
        ),
        P_PGID if upid > 0 => vpgrp_who(upid),
        P_PIDFD if upid >= 0 => {
            let file = crate::fs::read_write::fdget(upid)?;
            f_flags = *file.f_flags.lock();
            WaitWho::Pid(file.f_op.pidfd().ok_or(Errno::EBADF)?)
        }
        _ => return Err(Errno::EINVAL),
    };
    let nonblock = f_flags & crate::fs::pipe::O_NONBLOCK != 0;
    let r = do_wait(who, if nonblock { options | WNOHANG } else { options })?;
    if r.pid == 0 && nonblock && options & WNOHANG == 0 {
        return Err(Errno::EAGAIN);
    }
    Ok(r)
}
