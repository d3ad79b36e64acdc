//! The credentials a program runs with after execve: the caller's, with
//! the effective ids of a set-user-ID or set-group-ID file and the
//! capability sets recomputed. They are worked out before the point of no
//! return and committed in begin_new_exec.
//!
//! Linux: fs/exec.c (prepare_bprm_creds, bprm_fill_uid,
//! bprm_creds_from_file)
//! Not modelled: nosuid mounts (there are none), ptrace's
//! LSM_UNSAFE_* downgrades, binfmt_misc's credentials from the script.

use super::attr::{S_ISGID, S_ISUID, S_IXGRP};
use super::exec::LinuxBinprm;
use crate::cred::{Cred, prepare_creds};
use crate::errno::Errno;
use crate::exec_domain::PER_CLEAR_ON_SETID;
use crate::security::commoncap::cap_bprm_creds_from_file;

/// The credentials to edit for the new program: a copy of the caller's.
///
/// Linux: prepare_bprm_creds() / prepare_exec_creds() in fs/exec.c,
/// kernel/cred.c
pub fn prepare_exec_creds() -> Cred {
    prepare_creds()
}

/// Takes the file's owner as effective uid when it is set-user-ID, and its
/// group as effective gid when it is set-group-ID and group-executable
/// (S_ISGID without S_IXGRP marks mandatory locking, not privilege). Either
/// clears the personality flags that would weaken the new program. Under
/// no_new_privs (PR_SET_NO_NEW_PRIVS) the set-ID bits are ignored.
///
/// Linux: bprm_fill_uid() in fs/exec.c
/// Differs: Linux re-checks MAY_EXEC under the inode lock in case a chmod
/// raced with the exec; here the mode, owner and group are read together
/// under the attribute lock, and the set-ID bits count only while some
/// execute bit is still on.
fn bprm_fill_uid(bprm: &mut LinuxBinprm) {
    let nnp = crate::task::current()
        .atomic_flags
        .load(core::sync::atomic::Ordering::Relaxed)
        & crate::task::PFA_NO_NEW_PRIVS;
    let attr = *bprm.exe.f_path().inode.i_attr.lock();
    if nnp != 0 || attr.mode & (S_ISUID | S_ISGID) == 0 || attr.mode & 0o111 == 0 {
        return;
    }
    if attr.mode & S_ISUID != 0 {
        bprm.per_clear |= PER_CLEAR_ON_SETID;
        bprm.cred.euid = attr.uid;
    }
    if attr.mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP {
        bprm.per_clear |= PER_CLEAR_ON_SETID;
        bprm.cred.egid = attr.gid;
    }
}

/// Computes the new program's credentials from the file that runs (after
/// `#!` lines, the interpreter: the set-ID bits of a script do nothing).
///
/// Linux: bprm_creds_from_file() in fs/exec.c
///
/// # Errors
/// None today; Linux's security modules may refuse the exec here.
pub fn bprm_creds_from_file(bprm: &mut LinuxBinprm) -> Result<(), Errno> {
    bprm_fill_uid(bprm);
    cap_bprm_creds_from_file(bprm)
}
