//! An inode's attributes (mode, owner, link count, times) and the calls
//! that change them: chmod, chown and their fd and *at() forms.
//!
//! Linux: fs/attr.c (notify_change, setattr_copy), fs/open.c
//! (chmod_common, chown_common), fs/inode.c (current_time, inc_nlink)
//! Not modelled: permission checks (every task is root until credentials
//! exist), security modules, ACLs, capabilities in xattrs.
//! Differs: reading a file does not update its atime (as a `noatime`
//! mount); writes, truncation and directory changes update mtime/ctime.

use super::file::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use super::namei::user_path_at;
use super::open::AT_FDCWD;
use super::ramfs::Inode;
use super::stat::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::syscall::SysResult;
use alloc::sync::Arc;

/// Set-user-ID bit (Linux: S_ISUID).
pub const S_ISUID: u32 = 0o4000;
/// Set-group-ID bit (Linux: S_ISGID).
pub const S_ISGID: u32 = 0o2000;
/// Group execute bit (Linux: S_IXGRP).
pub const S_IXGRP: u32 = 0o010;
/// Every permission bit chmod may set (Linux: S_IALLUGO).
pub const S_IALLUGO: u32 = 0o7777;

/// A time stamp: seconds and nanoseconds since the epoch (Linux:
/// `struct timespec64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec64 {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, 0..1e9.
    pub tv_nsec: i64,
}

/// The mutable part of an inode, under its lock (Linux: i_mode, i_uid,
/// i_gid, i_nlink, i_atime, i_mtime, i_ctime, which Linux guards with
/// i_rwsem and i_lock).
#[derive(Clone, Copy, Debug)]
pub struct InodeAttr {
    /// Type and permission bits (Linux: i_mode).
    pub mode: u32,
    /// Owner (Linux: i_uid).
    pub uid: u32,
    /// Group (Linux: i_gid).
    pub gid: u32,
    /// Names for this inode; a directory adds `.` and each subdirectory's
    /// `..` (Linux: i_nlink).
    pub nlink: u32,
    /// Last access.
    pub atime: Timespec64,
    /// Last change of the contents.
    pub mtime: Timespec64,
    /// Last change of the inode.
    pub ctime: Timespec64,
}

/// The time stamp for an inode change now.
///
/// Linux: current_time() in fs/inode.c
pub fn current_time() -> Timespec64 {
    let ns = crate::timekeeping::ktime_get_real_ns();
    Timespec64 {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    }
}

impl Inode {
    /// Type and permission bits (Linux: inode->i_mode).
    pub fn mode(&self) -> u32 {
        self.i_attr.lock().mode
    }

    /// Whether this is a symbolic link (Linux: S_ISLNK).
    pub fn is_symlink(&self) -> bool {
        self.mode() & S_IFMT == S_IFLNK
    }

    /// Whether this is a regular file (Linux: S_ISREG).
    pub fn is_reg(&self) -> bool {
        self.mode() & S_IFMT == S_IFREG
    }

    /// Linux: inc_nlink() in fs/inode.c
    pub fn inc_nlink(&self) {
        let mut attr = self.i_attr.lock();
        attr.nlink = attr.nlink.saturating_add(1);
    }

    /// Linux: drop_nlink() in fs/inode.c
    pub fn drop_nlink(&self) {
        let mut attr = self.i_attr.lock();
        attr.nlink = attr.nlink.saturating_sub(1);
    }

    /// Marks the contents (or a directory's entries) changed now.
    ///
    /// Linux: inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode))
    pub fn touch_mtime(&self) {
        let now = current_time();
        let mut attr = self.i_attr.lock();
        attr.mtime = now;
        attr.ctime = now;
    }
}

/// Sets the permission bits, keeping the type.
///
/// Linux: chmod_common() -> notify_change() in fs/open.c, fs/attr.c
fn chmod_common(inode: &Inode, mode: u32) -> SysResult {
    let mut attr = inode.i_attr.lock();
    attr.mode = (attr.mode & S_IFMT) | (mode & S_IALLUGO);
    attr.ctime = current_time();
    Ok(0)
}

/// Linux: SYSCALL_DEFINE2(chmod) in fs/open.c
pub fn sys_chmod(filename: u64, mode: u32) -> SysResult {
    sys_fchmodat2(AT_FDCWD, filename, mode, 0)
}

/// Linux: SYSCALL_DEFINE2(fchmod) in fs/open.c
///
/// # Errors
/// `EBADF`.
pub fn sys_fchmod(fd: i32, mode: u32) -> SysResult {
    chmod_common(&*fd_inode(fd)?, mode)
}

/// fchmodat, and fchmodat2 with its flags.
///
/// Linux: do_fchmodat() in fs/open.c
///
/// # Errors
/// `EINVAL` for an unknown flag; `EOPNOTSUPP` for AT_SYMLINK_NOFOLLOW on
/// a symlink (its mode cannot change); as user_path_at.
pub fn sys_fchmodat2(dfd: i32, filename: u64, mode: u32, flags: u32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let inode = user_path_at(dfd, filename, flags)?;
    if inode.is_symlink() {
        return Err(Errno::EOPNOTSUPP);
    }
    chmod_common(&inode, mode)
}

/// Sets owner and group (`u32::MAX`, the user's -1, keeps one). Like
/// Linux, a change of owner of anything but a directory drops the
/// set-user-ID bit, and the set-group-ID bit when group execute is set
/// (without it, S_ISGID means mandatory locking, not privilege).
///
/// Linux: chown_common() -> notify_change() in fs/open.c, fs/attr.c
fn chown_common(inode: &Inode, user: u32, group: u32) -> SysResult {
    let mut attr = inode.i_attr.lock();
    if user != u32::MAX {
        attr.uid = user;
    }
    if group != u32::MAX {
        attr.gid = group;
    }
    if attr.mode & S_IFMT != S_IFDIR {
        attr.mode &= !S_ISUID;
        if attr.mode & S_IXGRP != 0 {
            attr.mode &= !S_ISGID;
        }
    }
    attr.ctime = current_time();
    Ok(0)
}

/// Linux: SYSCALL_DEFINE5(fchownat) / do_fchownat() in fs/open.c
///
/// # Errors
/// `EINVAL` for an unknown flag; as user_path_at.
pub fn sys_fchownat(dfd: i32, filename: u64, user: u32, group: u32, flags: u32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    chown_common(&*user_path_at(dfd, filename, flags)?, user, group)
}

/// Linux: SYSCALL_DEFINE3(fchown) in fs/open.c
///
/// # Errors
/// `EBADF`.
pub fn sys_fchown(fd: i32, user: u32, group: u32) -> SysResult {
    chown_common(&*fd_inode(fd)?, user, group)
}

/// The inode behind an open file.
///
/// # Errors
/// `EBADF` for a bad descriptor, or one with no inode here.
/// Differs: pipes, pidfds and the like have an inode in Linux (pipefs,
/// anon_inodefs) that chmod, chown and utimensat may change; not here.
pub fn fd_inode(fd: i32) -> Result<Arc<Inode>, Errno> {
    let file = super::read_write::fdget(fd)?;
    let path = file.f_path.as_ref().ok_or(Errno::EBADF)?;
    Ok(path.inode.clone())
}
