//! An inode's attributes (mode, owner, link count, times) and the calls
//! that change them: chmod, chown and their fd and *at() forms.
//!
//! Linux: fs/attr.c (notify_change, setattr_prepare, setattr_copy),
//! fs/open.c (chmod_common, chown_common), fs/inode.c (current_time,
//! inc_nlink, inode_init_owner, inode_owner_or_capable)
//! Not modelled: security modules, ACLs, capabilities in xattrs.
//! Differs: reading a file does not update its atime (as a `noatime`
//! mount); writes, truncation and directory changes update mtime/ctime.

use super::file::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use super::namei::{MAY_WRITE, inode_permission, user_path_at};
use super::open::AT_FDCWD;
use super::ramfs::Inode;
use super::stat::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use crate::capability::{CAP_CHOWN, CAP_FOWNER, CAP_FSETID, capable};
use crate::cred::{Kgid, Kuid, current_cred};
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

/// The changes one chmod, chown or utimes asks for (Linux: `struct
/// iattr`; each `Some` stands for its ATTR_* bit in ia_valid).
#[derive(Clone, Copy, Debug, Default)]
pub struct Iattr {
    /// New permission bits (ATTR_MODE).
    pub mode: Option<u32>,
    /// New owner (ATTR_UID).
    pub uid: Option<Kuid>,
    /// New group (ATTR_GID).
    pub gid: Option<Kgid>,
    /// New access time (ATTR_ATIME).
    pub atime: Option<Timespec64>,
    /// New modification time (ATTR_MTIME).
    pub mtime: Option<Timespec64>,
    /// A time given by the caller, not "now" (ATTR_ATIME_SET/ATTR_MTIME_SET).
    pub times_set: bool,
    /// Both times to now, as utimes(NULL) (ATTR_TOUCH).
    pub touch: bool,
    /// Drop S_ISUID, and S_ISGID where it grants privilege, as a change of
    /// owner does (ATTR_KILL_SUID, ATTR_KILL_SGID).
    pub kill_suid: bool,
}

/// Whether the caller owns the file or has CAP_FOWNER.
///
/// Linux: inode_owner_or_capable() in fs/inode.c
pub fn inode_owner_or_capable(inode: &Inode) -> bool {
    owner_or_capable(&inode.i_attr.lock())
}

fn owner_or_capable(attr: &InodeAttr) -> bool {
    attr.uid == current_cred().fsuid || capable(CAP_FOWNER)
}

/// Whether the caller is in group `gid` or has CAP_FSETID, as keeping a
/// file's set-group-ID bit needs.
///
/// Linux: in_group_or_capable() in fs/inode.c
pub fn in_group_or_capable(gid: Kgid) -> bool {
    current_cred().in_group(gid) || capable(CAP_FSETID)
}

/// Gives a new inode its owner: the caller's fsuid, and its fsgid unless
/// `dir` is set-group-ID. Then the inode takes the directory's group, a
/// new directory is set-group-ID as well, and a new group-executable
/// set-group-ID file of a group the caller is not in loses that bit.
///
/// Linux: inode_init_owner() in fs/inode.c, with mode_strip_sgid()
pub fn inode_init_owner(inode: &Inode, dir: &Inode) {
    let cred = current_cred();
    let dir_attr = *dir.i_attr.lock();
    let mut attr = inode.i_attr.lock();
    attr.uid = cred.fsuid;
    if dir_attr.mode & S_ISGID == 0 {
        attr.gid = cred.fsgid;
        return;
    }
    attr.gid = dir_attr.gid;
    if attr.mode & S_IFMT == S_IFDIR {
        attr.mode |= S_ISGID;
    } else if attr.mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP
        && !in_group_or_capable(dir_attr.gid)
    {
        attr.mode &= !S_ISGID;
    }
}

/// Whether a change of owner drops S_ISGID: when group execute is set
/// (the bit grants privilege), or the caller may not keep it.
///
/// Linux: setattr_should_drop_sgid() in fs/attr.c
fn setattr_should_drop_sgid(attr: &InodeAttr) -> bool {
    if attr.mode & S_ISGID == 0 {
        return false;
    }
    attr.mode & S_IXGRP != 0 || !in_group_or_capable(attr.gid)
}

/// Drops a regular file's set-user-ID bit, and its set-group-ID bit where
/// setattr_should_drop_sgid says, when a caller without CAP_FSETID writes
/// or truncates it: a program someone else changed must not keep running
/// with its owner's privileges.
///
/// Linux: file_remove_privs() in fs/inode.c, with
/// setattr_should_drop_suidgid() in fs/attr.c
pub fn file_remove_privs(inode: &Inode) {
    let mut attr = inode.i_attr.lock();
    if attr.mode & S_IFMT != S_IFREG || attr.mode & (S_ISUID | S_ISGID) == 0 {
        return;
    }
    let kill_sgid = setattr_should_drop_sgid(&attr);
    if (attr.mode & S_ISUID == 0 && !kill_sgid) || capable(CAP_FSETID) {
        return;
    }
    attr.mode &= !S_ISUID;
    if kill_sgid {
        attr.mode &= !S_ISGID;
    }
    attr.ctime = current_time();
}

/// Linux: chown_ok() in fs/attr.c
fn chown_ok(attr: &InodeAttr, uid: Kuid) -> bool {
    (current_cred().fsuid == attr.uid && uid == attr.uid) || capable(CAP_CHOWN)
}

/// The owner may give the file any group it is in itself.
///
/// Linux: chgrp_ok() in fs/attr.c
fn chgrp_ok(attr: &InodeAttr, gid: Kgid) -> bool {
    let cred = current_cred();
    let owner = cred.fsuid == attr.uid && (gid == attr.gid || cred.in_group(gid));
    owner || capable(CAP_CHOWN)
}

/// May the caller make the changes `ia` asks for? Changing the owner needs
/// CAP_CHOWN, the group ownership and membership (or CAP_CHOWN), the mode
/// or explicit times ownership (or CAP_FOWNER); a mode loses S_ISGID when
/// the caller is not in the file's (new) group and lacks CAP_FSETID.
///
/// Linux: setattr_prepare() in fs/attr.c
///
/// # Errors
/// `EPERM`.
fn setattr_prepare(attr: &InodeAttr, ia: &mut Iattr) -> Result<(), Errno> {
    if ia.uid.is_some_and(|uid| !chown_ok(attr, uid)) {
        return Err(Errno::EPERM);
    }
    if ia.gid.is_some_and(|gid| !chgrp_ok(attr, gid)) {
        return Err(Errno::EPERM);
    }
    if let Some(mode) = ia.mode {
        if !owner_or_capable(attr) {
            return Err(Errno::EPERM);
        }
        if !in_group_or_capable(ia.gid.unwrap_or(attr.gid)) {
            ia.mode = Some(mode & !S_ISGID);
        }
    }
    if ia.times_set && !owner_or_capable(attr) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Checks and makes the changes `ia` asks for, and sets ctime to now.
/// Setting both times to now needs only write permission.
///
/// Linux: notify_change() in fs/attr.c, then setattr_copy() for the
/// fields
///
/// # Errors
/// `EPERM` (setattr_prepare); `EACCES` for utimes(NULL) by a caller who
/// neither owns the file nor may write it.
pub fn notify_change(inode: &Inode, mut ia: Iattr) -> Result<(), Errno> {
    if ia.touch && !inode_owner_or_capable(inode) {
        inode_permission(inode, MAY_WRITE)?;
    }
    let mut attr = inode.i_attr.lock();
    if ia.kill_suid && attr.mode & S_ISUID != 0 {
        ia.mode = Some(attr.mode & !S_ISUID);
    }
    if ia.kill_suid && setattr_should_drop_sgid(&attr) {
        ia.mode = Some(ia.mode.unwrap_or(attr.mode) & !S_ISGID);
    }
    setattr_prepare(&attr, &mut ia)?;
    attr.uid = ia.uid.unwrap_or(attr.uid);
    attr.gid = ia.gid.unwrap_or(attr.gid);
    attr.atime = ia.atime.unwrap_or(attr.atime);
    attr.mtime = ia.mtime.unwrap_or(attr.mtime);
    if let Some(mode) = ia.mode {
        attr.mode = (attr.mode & S_IFMT) | (mode & S_IALLUGO);
    }
    attr.ctime = current_time();
    Ok(())
}

/// Sets the permission bits, keeping the type.
///
/// Linux: chmod_common() in fs/open.c
///
/// # Errors
/// `EPERM` for a caller who neither owns the file nor has CAP_FOWNER.
fn chmod_common(inode: &Inode, mode: u32) -> SysResult {
    let ia = Iattr {
        mode: Some(mode & S_IALLUGO),
        ..Iattr::default()
    };
    notify_change(inode, ia).map(|()| 0)
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
/// Linux, any chown of anything but a directory drops the set-user-ID
/// bit, and the set-group-ID bit where setattr_should_drop_sgid says.
///
/// Linux: chown_common() in fs/open.c
///
/// # Errors
/// `EPERM` as setattr_prepare decides.
fn chown_common(inode: &Inode, user: u32, group: u32) -> SysResult {
    let ia = Iattr {
        uid: (user != u32::MAX).then_some(user),
        gid: (group != u32::MAX).then_some(group),
        kill_suid: !inode.is_dir(),
        ..Iattr::default()
    };
    notify_change(inode, ia).map(|()| 0)
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
