//! The POSIX capability rules: how the capability sets follow a change of
//! user id, what capset may change, the capability prctls, and what an
//! execve grants.
//!
//! Linux: security/commoncap.c, include/uapi/linux/securebits.h
//! Not modelled: file capabilities (security.capability xattrs), user
//! namespaces.

use crate::capability::{
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_LINUX_IMMUTABLE,
    CAP_MAC_OVERRIDE, CAP_MKNOD, CAP_SETPCAP, Cap, KernelCap, cap_valid, capable,
};
use crate::cred::{Cred, Kuid, commit_creds, current_cred, prepare_creds};
use crate::errno::Errno;
use crate::exec_domain::PER_CLEAR_ON_SETID;
use crate::fs::exec::LinuxBinprm;
use crate::syscall::SysResult;

/// Root may not gain capabilities by being uid 0.
pub const SECURE_NOROOT: u32 = 0;
/// Changes of uid leave the capability sets alone.
pub const SECURE_NO_SETUID_FIXUP: u32 = 2;
/// A change from uid 0 to non-zero ids keeps the permitted set.
pub const SECURE_KEEP_CAPS: u32 = 4;
/// PR_CAP_AMBIENT_RAISE is refused.
pub const SECURE_NO_CAP_AMBIENT_RAISE: u32 = 6;

/// The mask of one securebit (Linux: issecure_mask()).
pub const fn issecure_mask(bit: u32) -> u32 {
    1 << bit
}

/// The four flags (Linux: SECURE_ALL_BITS).
pub const SECURE_ALL_BITS: u32 = issecure_mask(SECURE_NOROOT)
    | issecure_mask(SECURE_NO_SETUID_FIXUP)
    | issecure_mask(SECURE_KEEP_CAPS)
    | issecure_mask(SECURE_NO_CAP_AMBIENT_RAISE);
/// Each flag's lock, the bit above it (Linux: SECURE_ALL_LOCKS).
pub const SECURE_ALL_LOCKS: u32 = SECURE_ALL_BITS << 1;

/// Whether securebit `bit` is set in `cred` (Linux: issecure(), which
/// reads the current credentials).
pub fn issecure(cred: &Cred, bit: u32) -> bool {
    cred.securebits & issecure_mask(bit) != 0
}

/// The capabilities that follow the file-system uid (Linux: CAP_FS_MASK).
pub const CAP_FS_MASK: KernelCap = KernelCap(
    fs_bit(CAP_CHOWN)
        | fs_bit(CAP_DAC_OVERRIDE)
        | fs_bit(CAP_DAC_READ_SEARCH)
        | fs_bit(CAP_FOWNER)
        | fs_bit(CAP_FSETID)
        | fs_bit(CAP_LINUX_IMMUTABLE)
        | fs_bit(CAP_MKNOD)
        | fs_bit(CAP_MAC_OVERRIDE),
);

const fn fs_bit(cap: Cap) -> u64 {
    1 << cap
}

/// Which system call changed the user ids (Linux: the LSM_SETID_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetId {
    /// setuid
    Id,
    /// setreuid
    Re,
    /// setresuid
    Res,
    /// setfsuid
    Fs,
}

/// Adjusts the capability sets of `new` after a change of user ids from
/// `old`: root's privileges go with uid 0 unless the securebits say
/// otherwise.
///
/// Linux: cap_task_fix_setuid() in security/commoncap.c
pub fn cap_task_fix_setuid(new: &mut Cred, old: &Cred, flags: SetId) {
    if issecure(old, SECURE_NO_SETUID_FIXUP) {
        return;
    }
    if flags != SetId::Fs {
        cap_emulate_setxuid(new, old);
        return;
    }
    if old.fsuid == 0 && new.fsuid != 0 {
        new.cap_effective = KernelCap(new.cap_effective.0 & !CAP_FS_MASK.0);
    }
    if old.fsuid != 0 && new.fsuid == 0 {
        new.cap_effective = new
            .cap_effective
            .combine(new.cap_permitted.intersect(CAP_FS_MASK));
    }
}

fn has_root(uid: Kuid, euid: Kuid, suid: Kuid) -> bool {
    uid == 0 || euid == 0 || suid == 0
}

/// The classic rules: leaving uid 0 in all of ruid, euid and suid drops
/// the permitted and effective sets (unless SECURE_KEEP_CAPS) and always
/// the ambient set; euid 0 to non-zero drops the effective set; non-zero
/// to 0 makes it the permitted set again.
///
/// Linux: cap_emulate_setxuid() in security/commoncap.c
fn cap_emulate_setxuid(new: &mut Cred, old: &Cred) {
    if has_root(old.uid, old.euid, old.suid) && !has_root(new.uid, new.euid, new.suid) {
        if !issecure(old, SECURE_KEEP_CAPS) {
            new.cap_permitted = KernelCap::EMPTY;
            new.cap_effective = KernelCap::EMPTY;
        }
        new.cap_ambient = KernelCap::EMPTY;
    }
    if old.euid == 0 && new.euid != 0 {
        new.cap_effective = KernelCap::EMPTY;
    }
    if old.euid != 0 && new.euid == 0 {
        new.cap_effective = new.cap_permitted;
    }
}

/// prctl: read whether the keep-capabilities flag is set.
pub const PR_GET_KEEPCAPS: i32 = 7;
/// prctl: set or clear the keep-capabilities flag.
pub const PR_SET_KEEPCAPS: i32 = 8;
/// prctl: whether a capability is in the bounding set.
pub const PR_CAPBSET_READ: i32 = 23;
/// prctl: remove a capability from the bounding set.
pub const PR_CAPBSET_DROP: i32 = 24;
/// prctl: read the securebits.
pub const PR_GET_SECUREBITS: i32 = 27;
/// prctl: set the securebits.
pub const PR_SET_SECUREBITS: i32 = 28;
/// prctl: read or change the ambient set (arg2 says how).
pub const PR_CAP_AMBIENT: i32 = 47;
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;

/// The prctl options that belong to the capability rules; `None` for an
/// option that is not one of them, which prctl then handles itself.
///
/// Linux: cap_task_prctl() in security/commoncap.c (ENOSYS there means
/// "not mine")
pub fn cap_task_prctl(
    option: i32,
    arg2: u64,
    arg3: u64,
    arg4: u64,
    arg5: u64,
) -> Option<SysResult> {
    let old = current_cred();
    Some(match option {
        PR_CAPBSET_READ if !cap_valid(arg2) => Err(Errno::EINVAL),
        PR_CAPBSET_READ => Ok(u64::from(old.cap_bset.raised(arg2 as Cap))),
        PR_CAPBSET_DROP => cap_prctl_drop(arg2),
        PR_SET_SECUREBITS => set_securebits(&old, arg2),
        PR_GET_SECUREBITS => Ok(u64::from(old.securebits)),
        PR_GET_KEEPCAPS => Ok(u64::from(issecure(&old, SECURE_KEEP_CAPS))),
        PR_SET_KEEPCAPS => set_keepcaps(&old, arg2),
        PR_CAP_AMBIENT => cap_ambient(&old, arg2, arg3, arg4 | arg5),
        _ => return None,
    })
}

/// PR_CAPBSET_DROP: needs CAP_SETPCAP.
///
/// Linux: cap_prctl_drop() in security/commoncap.c
fn cap_prctl_drop(cap: u64) -> SysResult {
    if !capable(CAP_SETPCAP) {
        return Err(Errno::EPERM);
    }
    if !cap_valid(cap) {
        return Err(Errno::EINVAL);
    }
    let mut new = prepare_creds();
    new.cap_bset = new.cap_bset.lower(cap as Cap);
    commit_creds(new).map(|()| 0)
}

/// PR_SET_SECUREBITS: a locked bit cannot change nor its lock be cleared,
/// only known bits are accepted, and the caller needs CAP_SETPCAP.
fn set_securebits(old: &Cred, bits: u64) -> SysResult {
    let locked = (old.securebits & SECURE_ALL_LOCKS) >> 1;
    let changes_locked = u64::from(locked) & (u64::from(old.securebits) ^ bits) != 0;
    let unlocks = u64::from(old.securebits & SECURE_ALL_LOCKS) & !bits != 0;
    let unknown = bits & !u64::from(SECURE_ALL_LOCKS | SECURE_ALL_BITS) != 0;
    if changes_locked || unlocks || unknown || !old.cap_effective.raised(CAP_SETPCAP) {
        return Err(Errno::EPERM);
    }
    let mut new = prepare_creds();
    new.securebits = bits as u32;
    commit_creds(new).map(|()| 0)
}

/// PR_SET_KEEPCAPS: 0 or 1, unless the flag is locked.
fn set_keepcaps(old: &Cred, on: u64) -> SysResult {
    if on > 1 {
        return Err(Errno::EINVAL);
    }
    if issecure(old, SECURE_KEEP_CAPS + 1) {
        return Err(Errno::EPERM);
    }
    let mut new = prepare_creds();
    if on == 1 {
        new.securebits |= issecure_mask(SECURE_KEEP_CAPS);
    } else {
        new.securebits &= !issecure_mask(SECURE_KEEP_CAPS);
    }
    commit_creds(new).map(|()| 0)
}

/// PR_CAP_AMBIENT: a capability may be raised in the ambient set only
/// while it is both permitted and inheritable.
fn cap_ambient(old: &Cred, how: u64, cap: u64, rest: u64) -> SysResult {
    if how == PR_CAP_AMBIENT_CLEAR_ALL {
        if cap | rest != 0 {
            return Err(Errno::EINVAL);
        }
        let mut new = prepare_creds();
        new.cap_ambient = KernelCap::EMPTY;
        return commit_creds(new).map(|()| 0);
    }
    if !cap_valid(cap) || rest != 0 {
        return Err(Errno::EINVAL);
    }
    let cap = cap as Cap;
    match how {
        PR_CAP_AMBIENT_IS_SET => Ok(u64::from(old.cap_ambient.raised(cap))),
        PR_CAP_AMBIENT_RAISE | PR_CAP_AMBIENT_LOWER => {
            let raise = how == PR_CAP_AMBIENT_RAISE;
            if raise
                && (!old.cap_permitted.raised(cap)
                    || !old.cap_inheritable.raised(cap)
                    || issecure(old, SECURE_NO_CAP_AMBIENT_RAISE))
            {
                return Err(Errno::EPERM);
            }
            let mut new = prepare_creds();
            new.cap_ambient = if raise {
                new.cap_ambient.raise(cap)
            } else {
                new.cap_ambient.lower(cap)
            };
            commit_creds(new).map(|()| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Checks and applies the sets capset asks for: the inheritable set may
/// only gain what is permitted (unless CAP_SETPCAP) and never what the
/// bounding set lacks; the permitted set may only shrink; the effective
/// set must lie within the new permitted one. The ambient set keeps only
/// what stays both permitted and inheritable.
///
/// Linux: cap_capset() in security/commoncap.c
///
/// # Errors
/// `EPERM` when one of the rules is broken.
pub fn cap_capset(
    new: &mut Cred,
    old: &Cred,
    effective: KernelCap,
    inheritable: KernelCap,
    permitted: KernelCap,
) -> Result<(), Errno> {
    let inh_is_capped = !old.cap_effective.raised(CAP_SETPCAP);
    if inh_is_capped && !inheritable.is_subset(old.cap_inheritable.combine(old.cap_permitted)) {
        return Err(Errno::EPERM);
    }
    if !inheritable.is_subset(old.cap_inheritable.combine(old.cap_bset)) {
        return Err(Errno::EPERM);
    }
    if !permitted.is_subset(old.cap_permitted) || !effective.is_subset(permitted) {
        return Err(Errno::EPERM);
    }
    new.cap_effective = effective;
    new.cap_inheritable = inheritable;
    new.cap_permitted = permitted;
    new.cap_ambient = new.cap_ambient.intersect(permitted.intersect(inheritable));
    Ok(())
}

/// Recomputes the capability sets for an execve, with no file
/// capabilities: a task whose real or new effective uid is 0 gets the
/// bounding set (and its inheritable set) as permitted, and, if its
/// effective uid is 0, as effective too; anyone else keeps only the
/// ambient set. The saved and file-system ids follow the new effective
/// ones. A change of identity clears the ambient set and marks a secure
/// exec (AT_SECURE) for the dynamic linker.
///
/// Linux: cap_bprm_creds_from_file() and handle_privileged_root() in
/// security/commoncap.c
/// Differs: without ptrace and no_new_privs there is no downgrade of a
/// traced or no-new-privs set-ID exec to the caller's ids.
///
/// # Errors
/// None without file capabilities; kept fallible as Linux's hook is.
pub fn cap_bprm_creds_from_file(bprm: &mut LinuxBinprm) -> Result<(), Errno> {
    let old = current_cred();
    let new = &mut bprm.cred;
    // Linux: get_file_caps() starts from an empty permitted set.
    new.cap_permitted = KernelCap::EMPTY;
    let mut effective = false;
    if !issecure(&old, SECURE_NOROOT) {
        if new.euid == 0 || new.uid == 0 {
            new.cap_permitted = old.cap_bset.combine(old.cap_inheritable);
        }
        effective = new.euid == 0;
    }
    if !new.cap_permitted.is_subset(old.cap_permitted) {
        bprm.per_clear |= PER_CLEAR_ON_SETID;
    }
    let id_changed = new.euid != old.euid || !old.in_group(new.egid);
    (new.suid, new.fsuid) = (new.euid, new.euid);
    (new.sgid, new.fsgid) = (new.egid, new.egid);
    if id_changed {
        new.cap_ambient = KernelCap::EMPTY;
    }
    new.cap_permitted = new.cap_permitted.combine(new.cap_ambient);
    new.cap_effective = if effective {
        new.cap_permitted
    } else {
        new.cap_ambient
    };
    new.securebits &= !issecure_mask(SECURE_KEEP_CAPS);
    let grew = !new.cap_permitted.is_subset(new.cap_ambient);
    if id_changed
        || new.euid != old.uid
        || new.egid != old.gid
        || (new.uid != 0 && (effective || grew))
    {
        bprm.secureexec = true;
    }
    Ok(())
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::cred::init_cred;
    use crate::{kassert, kassert_eq, ktest};

    /// Root's credentials with the three uids set, to feed the fix-ups.
    fn root_as(uid: Kuid, euid: Kuid, suid: Kuid) -> Result<Cred, alloc::string::String> {
        let root = init_cred().map_err(|e| alloc::format!("{e:?}"))?;
        let mut cred = Cred::clone(&root);
        (cred.uid, cred.euid, cred.suid, cred.fsuid) = (uid, euid, suid, euid);
        Ok(cred)
    }

    ktest! {
        fn leaving_uid_0_everywhere_clears_permitted_unless_keep_caps() {
            let old = root_as(0, 0, 0)?;
            let mut new = root_as(1000, 1000, 1000)?;
            new.cap_ambient = KernelCap::EMPTY.raise(CAP_CHOWN);
            cap_task_fix_setuid(&mut new, &old, SetId::Res);
            kassert!(new.cap_permitted.is_clear() && new.cap_effective.is_clear(), "dropped");
            kassert!(new.cap_ambient.is_clear(), "ambient dropped too");
            let mut old = old;
            old.securebits = issecure_mask(SECURE_KEEP_CAPS);
            let mut kept = root_as(1000, 1000, 1000)?;
            cap_task_fix_setuid(&mut kept, &old, SetId::Res);
            kassert_eq!(kept.cap_permitted, KernelCap::FULL);
            kassert!(kept.cap_effective.is_clear(), "euid left 0: effective cleared");
        }
    }

    ktest! {
        fn fsuid_0_to_non_0_drops_only_the_fs_capabilities() {
            let old = root_as(0, 0, 0)?;
            let mut new = old.clone();
            new.fsuid = 1000;
            cap_task_fix_setuid(&mut new, &old, SetId::Fs);
            kassert_eq!(new.cap_effective.0, KernelCap::FULL.0 & !CAP_FS_MASK.0);
            kassert!(!new.cap_effective.raised(CAP_CHOWN), "CAP_CHOWN follows the fsuid");
        }
    }
}
