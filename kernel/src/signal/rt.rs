//! The POSIX.1b real-time signal calls: which signals wait blocked
//! (rt_sigpending), waiting for one synchronously (rt_sigtimedwait), and
//! sending one with a value (rt_sigqueueinfo, rt_tgsigqueueinfo).
//!
//! Linux: the SYSCALL_DEFINEs of kernel/signal.c

use super::deliver::dequeue_signal;
use super::send::{PidType, group_send_sig_info, send_signal_locked};
use super::*;
use crate::errno::Errno;
use crate::mm::uaccess::{get_user, put_user};
use crate::syscall::SysResult;

/// Stores the signals that are pending but blocked.
///
/// Linux: SYSCALL_DEFINE2(rt_sigpending) / do_sigpending() in kernel/signal.c
pub fn sys_rt_sigpending(uset: u64, sigsetsize: u64) -> SysResult {
    if sigsetsize > 8 {
        return Err(Errno::EINVAL);
    }
    let me = crate::task::current();
    let pending = task_pending_signals(&me) & me.blocked.load(Ordering::Relaxed);
    let bytes = pending.to_le_bytes();
    crate::mm::uaccess::copy_to_user(uset, &bytes[..sigsetsize as usize])?;
    Ok(0)
}

/// Takes a signal of the set `uthese` without running its handler, waiting
/// up to the timeout at `uts` (forever without one). Returns the signal and
/// stores its siginfo at `uinfo`; `EAGAIN` when the time ran out, `EINTR`
/// when a signal outside the set was delivered.
///
/// Linux: SYSCALL_DEFINE4(rt_sigtimedwait) / do_sigtimedwait() in kernel/signal.c
pub fn sys_rt_sigtimedwait(uthese: u64, uinfo: u64, uts: u64, sigsetsize: u64) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let these: u64 = get_user(uthese)?;
    let these = these & !(sigmask(SIGKILL) | sigmask(SIGSTOP));
    let timeout = match uts {
        0 => None,
        _ => Some(read_timespec(uts)?),
    };
    let me = crate::task::current();
    let mut got = dequeue_signal(&me, !these);
    if got.is_none() && timeout != Some(0) {
        // Unblock the set while asleep so that a signal from it wakes us
        // (Linux: real_blocked), then take it with the old mask back.
        let blocked = me.blocked.load(Ordering::Relaxed);
        me.real_blocked.store(blocked, Ordering::Relaxed);
        me.blocked.store(blocked & !these, Ordering::Relaxed);
        if !signal_pending(&me) {
            crate::time::schedule_timeout_interruptible(timeout.unwrap_or(u64::MAX));
        }
        me.blocked.store(blocked, Ordering::Relaxed);
        me.real_blocked.store(0, Ordering::Relaxed);
        got = dequeue_signal(&me, !these);
    }
    let Some((sig, info)) = got else {
        return Err(if signal_pending(&me) {
            Errno::EINTR
        } else {
            Errno::EAGAIN
        });
    };
    if uinfo != 0 {
        put_user(uinfo, info.to_user())?;
    }
    Ok(sig as u64)
}

/// A relative timeout: `struct timespec` in ns, `EINVAL` when malformed.
fn read_timespec(addr: u64) -> Result<u64, Errno> {
    let [sec, nsec]: [u64; 2] = get_user(addr)?;
    if nsec >= 1_000_000_000 || (sec as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(sec.saturating_mul(1_000_000_000).saturating_add(nsec))
}

/// Reads the siginfo a sender supplies; only a process signalling itself
/// may claim a kernel or kill() origin (si_code >= 0) or tkill's SI_TKILL.
///
/// Linux: do_rt_sigqueueinfo()'s checks in kernel/signal.c
pub(super) fn siginfo_from_user(uinfo: u64, sig: i32, tgid: i32) -> Result<KernelSiginfo, Errno> {
    let words: [u64; 16] = get_user(uinfo)?;
    let code = words[1] as u32 as i32;
    if (code >= 0 || code == SI_TKILL) && tgid != crate::pid::task_tgid_vnr(&crate::task::current())
    {
        return Err(Errno::EPERM);
    }
    Ok(KernelSiginfo {
        signo: sig,
        code,
        pid: words[2] as u32 as i32,
        uid: (words[2] >> 32) as u32,
        value: words[3],
        ..Default::default()
    })
}

/// Sends `sig` with the caller's siginfo (sigqueue(3): SI_QUEUE and a
/// value) to process `tgid`.
///
/// # Errors
/// `EAGAIN` when a real-time signal finds the receiver's user at
/// RLIMIT_SIGPENDING.
///
/// Linux: SYSCALL_DEFINE3(rt_sigqueueinfo) / do_rt_sigqueueinfo() in kernel/signal.c
pub fn sys_rt_sigqueueinfo(tgid: i32, sig: i32, uinfo: u64) -> SysResult {
    let info = siginfo_from_user(uinfo, sig, tgid)?;
    let t = match tgid {
        1.. => crate::pid::find_task_by_vpid(tgid).ok_or(Errno::ESRCH)?,
        _ => return Err(Errno::ESRCH),
    };
    group_send_sig_info(sig, info, &t)?;
    Ok(0)
}

/// rt_sigqueueinfo aimed at thread `tid` of process `tgid`.
///
/// Linux: SYSCALL_DEFINE4(rt_tgsigqueueinfo) / do_rt_tgsigqueueinfo() in kernel/signal.c
pub fn sys_rt_tgsigqueueinfo(tgid: i32, tid: i32, sig: i32, uinfo: u64) -> SysResult {
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = siginfo_from_user(uinfo, sig, tgid)?;
    let t = crate::pid::find_task_by_vpid(tid)
        .filter(|t| crate::pid::task_tgid_vnr(t) == tgid)
        .ok_or(Errno::ESRCH)?;
    crate::signal::check_kill_permission(sig, &info, &t)?;
    if sig != 0 && t.exit_state() == 0 {
        send_signal_locked(sig, info, &t, PidType::Pid, None)?;
    }
    Ok(0)
}
