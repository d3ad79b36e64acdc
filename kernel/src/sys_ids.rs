//! The system calls that change who a task is: setuid, setreuid,
//! setresuid, setfsuid and their group twins, and getresuid/getresgid.
//!
//! Each one follows the same pattern: read the current credentials, check
//! that the caller may make the change (any change with CAP_SETUID or
//! CAP_SETGID; otherwise only to ids it already has), build the new
//! credentials on a copy from prepare_creds, let the capability rules
//! adjust the copy, and publish it with commit_creds.
//!
//! Linux: kernel/sys.c
//! Not modelled: user namespaces (make_kuid maps every id to itself, so
//! only (uid_t)-1 is invalid), the 16-bit uid calls of kernel/uid16.c.

use crate::capability::{CAP_SETGID, CAP_SETUID, capable};
use crate::cred::{Cred, INVALID_UID, Kgid, Kuid, commit_creds, current_cred, prepare_creds};
use crate::errno::Errno;
use crate::mm::uaccess::put_user;
use crate::security::commoncap::{SetId, cap_task_fix_setuid};
use crate::syscall::SysResult;
use crate::user::alloc_uid;

/// The value that leaves an id unchanged: (uid_t)-1.
const KEEP: u32 = INVALID_UID;

/// Sets the real and/or effective group id. An unprivileged caller may
/// set the real gid to its real or effective gid, and the effective gid to
/// its real, effective or saved gid. The saved gid becomes the new
/// effective gid when the real gid is set or the effective gid is set to
/// something other than the old real gid.
///
/// Linux: __sys_setregid() in kernel/sys.c
///
/// # Errors
/// `EPERM` for a change the caller may not make without CAP_SETGID.
pub fn sys_setregid(rgid: Kgid, egid: Kgid) -> SysResult {
    let old = current_cred();
    let mut new = prepare_creds();
    if rgid != KEEP {
        if !(old.gid == rgid || old.egid == rgid || capable(CAP_SETGID)) {
            return Err(Errno::EPERM);
        }
        new.gid = rgid;
    }
    if egid != KEEP {
        if !(old.gid == egid || old.egid == egid || old.sgid == egid || capable(CAP_SETGID)) {
            return Err(Errno::EPERM);
        }
        new.egid = egid;
    }
    if rgid != KEEP || (egid != KEEP && egid != old.gid) {
        new.sgid = new.egid;
    }
    new.fsgid = new.egid;
    commit_creds(new).map(|()| 0)
}

/// Sets the group id: all four with CAP_SETGID; otherwise only the
/// effective (and file-system) gid, and only to the real or saved gid.
///
/// Linux: __sys_setgid() in kernel/sys.c
///
/// # Errors
/// `EINVAL` for gid -1; `EPERM` for a gid the caller may not take.
pub fn sys_setgid(gid: Kgid) -> SysResult {
    if gid == KEEP {
        return Err(Errno::EINVAL);
    }
    let old = current_cred();
    let mut new = prepare_creds();
    if capable(CAP_SETGID) {
        (new.gid, new.egid, new.sgid, new.fsgid) = (gid, gid, gid, gid);
    } else if gid == old.gid || gid == old.sgid {
        (new.egid, new.fsgid) = (gid, gid);
    } else {
        return Err(Errno::EPERM);
    }
    commit_creds(new).map(|()| 0)
}

/// Points the new credentials at the accounting of their real user, and
/// (as its callers do in Linux) flags the task PF_NPROC_EXCEEDED when
/// that user is at RLIMIT_NPROC.
///
/// Linux: set_user() in kernel/sys.c
fn set_user(new: &mut Cred) -> Result<(), Errno> {
    new.user = alloc_uid(new.uid)?;
    crate::user::flag_nproc_exceeded(new);
    Ok(())
}

/// Sets the real and/or effective user id, with the rules of setregid for
/// user ids, then lets the capability rules follow the change.
///
/// Linux: __sys_setreuid() in kernel/sys.c
///
/// # Errors
/// `EPERM` for a change the caller may not make without CAP_SETUID;
/// `ENOMEM` when the new user's accounting cannot be allocated.
pub fn sys_setreuid(ruid: Kuid, euid: Kuid) -> SysResult {
    let old = current_cred();
    let mut new = prepare_creds();
    if ruid != KEEP {
        if !(old.uid == ruid || old.euid == ruid || capable(CAP_SETUID)) {
            return Err(Errno::EPERM);
        }
        new.uid = ruid;
    }
    if euid != KEEP {
        if !(old.uid == euid || old.euid == euid || old.suid == euid || capable(CAP_SETUID)) {
            return Err(Errno::EPERM);
        }
        new.euid = euid;
    }
    if new.uid != old.uid {
        set_user(&mut new)?;
    }
    if ruid != KEEP || (euid != KEEP && euid != old.uid) {
        new.suid = new.euid;
    }
    new.fsuid = new.euid;
    cap_task_fix_setuid(&mut new, &old, SetId::Re);
    commit_creds(new).map(|()| 0)
}

/// Sets the user id: all four with CAP_SETUID; otherwise only the
/// effective (and file-system) uid, and only to the real or saved uid.
///
/// Linux: __sys_setuid() in kernel/sys.c
///
/// # Errors
/// `EINVAL` for uid -1; `EPERM` for a uid the caller may not take;
/// `ENOMEM` when the new user's accounting cannot be allocated.
pub fn sys_setuid(uid: Kuid) -> SysResult {
    if uid == KEEP {
        return Err(Errno::EINVAL);
    }
    let old = current_cred();
    let mut new = prepare_creds();
    if capable(CAP_SETUID) {
        (new.suid, new.uid) = (uid, uid);
        if uid != old.uid {
            set_user(&mut new)?;
        }
    } else if uid != old.uid && uid != old.suid {
        return Err(Errno::EPERM);
    }
    (new.fsuid, new.euid) = (uid, uid);
    cap_task_fix_setuid(&mut new, &old, SetId::Id);
    commit_creds(new).map(|()| 0)
}

/// Whether `id` asks for a change to an id the caller does not hold in
/// any of `held` (real, effective, saved).
fn is_new_id(id: u32, held: [u32; 3]) -> bool {
    id != KEEP && !held.contains(&id)
}

/// Sets any of the real, effective and saved user ids (-1 keeps one). An
/// unprivileged caller may only shuffle the three ids it already has.
///
/// Linux: __sys_setresuid() in kernel/sys.c
///
/// # Errors
/// `EPERM` for an id the caller does not hold, without CAP_SETUID;
/// `ENOMEM` when the new user's accounting cannot be allocated.
pub fn sys_setresuid(ruid: Kuid, euid: Kuid, suid: Kuid) -> SysResult {
    let old = current_cred();
    if (ruid == KEEP || ruid == old.uid)
        && (euid == KEEP || (euid == old.euid && euid == old.fsuid))
        && (suid == KEEP || suid == old.suid)
    {
        return Ok(0);
    }
    let held = [old.uid, old.euid, old.suid];
    let asks_new = is_new_id(ruid, held) || is_new_id(euid, held) || is_new_id(suid, held);
    if asks_new && !capable(CAP_SETUID) {
        return Err(Errno::EPERM);
    }
    let mut new = prepare_creds();
    if ruid != KEEP {
        new.uid = ruid;
        if ruid != old.uid {
            set_user(&mut new)?;
        }
    }
    if euid != KEEP {
        new.euid = euid;
    }
    if suid != KEEP {
        new.suid = suid;
    }
    new.fsuid = new.euid;
    cap_task_fix_setuid(&mut new, &old, SetId::Res);
    commit_creds(new).map(|()| 0)
}

/// Stores the real, effective and saved user ids at three user addresses.
///
/// Linux: SYSCALL_DEFINE3(getresuid) in kernel/sys.c
///
/// # Errors
/// `EFAULT` for an address that cannot be written.
pub fn sys_getresuid(ruidp: u64, euidp: u64, suidp: u64) -> SysResult {
    let cred = current_cred();
    put_user(ruidp, cred.uid)?;
    put_user(euidp, cred.euid)?;
    put_user(suidp, cred.suid)?;
    Ok(0)
}

/// Sets any of the real, effective and saved group ids (-1 keeps one),
/// with the rules of setresuid.
///
/// Linux: __sys_setresgid() in kernel/sys.c
///
/// # Errors
/// `EPERM` for an id the caller does not hold, without CAP_SETGID.
pub fn sys_setresgid(rgid: Kgid, egid: Kgid, sgid: Kgid) -> SysResult {
    let old = current_cred();
    if (rgid == KEEP || rgid == old.gid)
        && (egid == KEEP || (egid == old.egid && egid == old.fsgid))
        && (sgid == KEEP || sgid == old.sgid)
    {
        return Ok(0);
    }
    let held = [old.gid, old.egid, old.sgid];
    let asks_new = is_new_id(rgid, held) || is_new_id(egid, held) || is_new_id(sgid, held);
    if asks_new && !capable(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let mut new = prepare_creds();
    if rgid != KEEP {
        new.gid = rgid;
    }
    if egid != KEEP {
        new.egid = egid;
    }
    if sgid != KEEP {
        new.sgid = sgid;
    }
    new.fsgid = new.egid;
    commit_creds(new).map(|()| 0)
}

/// Stores the real, effective and saved group ids at three user addresses.
///
/// Linux: SYSCALL_DEFINE3(getresgid) in kernel/sys.c
///
/// # Errors
/// `EFAULT` for an address that cannot be written.
pub fn sys_getresgid(rgidp: u64, egidp: u64, sgidp: u64) -> SysResult {
    let cred = current_cred();
    put_user(rgidp, cred.gid)?;
    put_user(egidp, cred.egid)?;
    put_user(sgidp, cred.sgid)?;
    Ok(0)
}

/// Sets the user id for file-system access to the real, effective, saved
/// or current fsuid (any uid with CAP_SETUID). Returns the old fsuid
/// whether or not anything changed, so it never reports an error.
///
/// Linux: __sys_setfsuid() in kernel/sys.c
pub fn sys_setfsuid(uid: Kuid) -> SysResult {
    let old = current_cred();
    let old_fsuid = u64::from(old.fsuid);
    if uid == KEEP {
        return Ok(old_fsuid);
    }
    let allowed = [old.uid, old.euid, old.suid, old.fsuid].contains(&uid) || capable(CAP_SETUID);
    if allowed && uid != old.fsuid {
        let mut new = prepare_creds();
        new.fsuid = uid;
        cap_task_fix_setuid(&mut new, &old, SetId::Fs);
        // Linux ignores commit_creds here too: the result is the old fsuid.
        let _ = commit_creds(new);
    }
    Ok(old_fsuid)
}

/// Sets the group id for file-system access, with the rules of setfsuid.
///
/// Linux: __sys_setfsgid() in kernel/sys.c
pub fn sys_setfsgid(gid: Kgid) -> SysResult {
    let old = current_cred();
    let old_fsgid = u64::from(old.fsgid);
    if gid == KEEP {
        return Ok(old_fsgid);
    }
    let allowed = [old.gid, old.egid, old.sgid, old.fsgid].contains(&gid) || capable(CAP_SETGID);
    if allowed && gid != old.fsgid {
        let mut new = prepare_creds();
        new.fsgid = gid;
        let _ = commit_creds(new);
    }
    Ok(old_fsgid)
}
