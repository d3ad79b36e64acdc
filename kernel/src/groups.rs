//! Supplementary groups: setgroups and getgroups.
//!
//! Linux: kernel/groups.c (the group_info helpers live with `Cred` in
//! cred.rs)

use crate::capability::{CAP_SETGID, capable};
use crate::cred::{GroupInfo, Kgid, NGROUPS_MAX, commit_creds, current_cred, prepare_creds};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_from_user, copy_to_user};
use crate::syscall::SysResult;
use alloc::sync::Arc;
use alloc::vec::Vec;

const GID_SIZE: usize = size_of::<Kgid>();

/// Reads `count` group ids from user memory at `grouplist`.
///
/// Linux: groups_from_user() in kernel/groups.c
///
/// # Errors
/// `ENOMEM` when the list cannot be allocated; `EFAULT` for a bad address.
fn groups_from_user(grouplist: u64, count: usize) -> Result<Vec<Kgid>, Errno> {
    let mut raw = Vec::new();
    raw.try_reserve_exact(count * GID_SIZE)
        .map_err(|_| Errno::ENOMEM)?;
    raw.resize(count * GID_SIZE, 0);
    copy_from_user(&mut raw, grouplist)?;
    let mut gids = Vec::new();
    gids.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
    gids.extend(
        raw.as_chunks::<GID_SIZE>()
            .0
            .iter()
            .map(|b| Kgid::from_ne_bytes(*b)),
    );
    Ok(gids)
}

/// Makes `group_info` the current task's supplementary groups.
///
/// Linux: set_current_groups() in kernel/groups.c
fn set_current_groups(group_info: Arc<GroupInfo>) -> Result<(), Errno> {
    let mut new = prepare_creds();
    new.group_info = group_info;
    commit_creds(new)
}

/// Replaces the supplementary groups with the `gidsetsize` ids at
/// `grouplist`.
///
/// Linux: SYSCALL_DEFINE2(setgroups) in kernel/groups.c
///
/// # Errors
/// `EPERM` without CAP_SETGID; `EINVAL` for a size past NGROUPS_MAX (or
/// negative); `ENOMEM`; `EFAULT` for a bad list.
pub fn sys_setgroups(gidsetsize: i32, grouplist: u64) -> SysResult {
    if !capable(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let count = gidsetsize as u32 as usize;
    if count > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let gids = groups_from_user(grouplist, count)?;
    set_current_groups(GroupInfo::new(&gids)?)?;
    Ok(0)
}

/// Copies the supplementary groups to `grouplist` and returns their
/// number; a size of 0 only returns the number.
///
/// Linux: SYSCALL_DEFINE2(getgroups) in kernel/groups.c
///
/// # Errors
/// `EINVAL` for a negative size or one smaller than the number of groups;
/// `EFAULT` for a bad list.
pub fn sys_getgroups(gidsetsize: i32, grouplist: u64) -> SysResult {
    let Ok(size) = usize::try_from(gidsetsize) else {
        return Err(Errno::EINVAL);
    };
    let cred = current_cred();
    let groups = cred.group_info.groups();
    if size != 0 {
        if groups.len() > size {
            return Err(Errno::EINVAL);
        }
        let mut raw = Vec::new();
        raw.try_reserve_exact(groups.len() * GID_SIZE)
            .map_err(|_| Errno::ENOMEM)?;
        raw.extend(groups.iter().flat_map(|g| g.to_ne_bytes()));
        copy_to_user(grouplist, &raw)?;
    }
    Ok(groups.len() as u64)
}
