//! Who may signal whom. A signal a process sends reaches another process
//! only when the sender's real or effective user id is the target's real
//! or saved one, or the sender has CAP_KILL; SIGCONT may also go to any
//! process of the sender's session. Signals the kernel sends are not
//! checked.
//!
//! Linux: kernel/signal.c (check_kill_permission, kill_ok_by_cred)

use super::{KernelSiginfo, SIGCONT, valid_signal};
use crate::capability::{CAP_KILL, capable};
use crate::cred::{current_cred, task_cred};
use crate::errno::Errno;
use crate::task::{TaskStruct, current};
use core::sync::atomic::Ordering;

/// Whether `info` says a process sent the signal (kill, sigqueue, tkill:
/// si_code 0 or below), rather than the kernel.
///
/// Linux: si_fromuser() in kernel/signal.c
pub fn si_fromuser(info: &KernelSiginfo) -> bool {
    info.code <= 0
}

/// Whether the caller's ids let it signal `t`, or CAP_KILL does.
///
/// Linux: kill_ok_by_cred() in kernel/signal.c
fn kill_ok_by_cred(t: &TaskStruct) -> bool {
    let cred = current_cred();
    let tcred = task_cred(t);
    cred.euid == tcred.suid
        || cred.euid == tcred.uid
        || cred.uid == tcred.suid
        || cred.uid == tcred.uid
        || capable(CAP_KILL)
}

/// May the current task send `sig` (0: only check) with `info` to `t`?
/// Its own process always; another by kill_ok_by_cred; SIGCONT within
/// its session.
///
/// Linux: check_kill_permission() in kernel/signal.c
///
/// # Errors
/// `EINVAL` for an invalid signal; `EPERM`.
pub fn check_kill_permission(sig: i32, info: &KernelSiginfo, t: &TaskStruct) -> Result<(), Errno> {
    if !valid_signal(sig) {
        return Err(Errno::EINVAL);
    }
    if !si_fromuser(info) {
        return Ok(());
    }
    let me = current();
    if me.tgid() == t.tgid() || kill_ok_by_cred(t) {
        return Ok(());
    }
    let session = |t: &TaskStruct| t.signal().session.load(Ordering::Relaxed);
    if sig == SIGCONT && session(t) == session(&me) {
        return Ok(());
    }
    Err(Errno::EPERM)
}
