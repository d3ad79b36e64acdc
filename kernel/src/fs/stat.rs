//! stat, fstat, newfstatat, statx, readlink and access.
//!
//! Linux: fs/stat.c, fs/open.c (faccessat)

use super::file::Kstat;
use super::namei::{MAY_ACCESS, inode_permission, path_lookup, user_path_at};
use super::open::{dirfd_path, getname};
use super::ramfs::InodeKind;
use super::read_write::fdget;
use crate::capability::KernelCap;
use crate::cred::{OverrideCreds, override_creds, prepare_creds};
use crate::errno::Errno;
use crate::mm::uaccess::{copy_to_user, put_user};
use crate::syscall::SysResult;

/// Do not follow a final symlink (Linux: AT_SYMLINK_NOFOLLOW).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// An empty path means dirfd itself (Linux: AT_EMPTY_PATH).
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// Linux: cp_new_stat() in fs/stat.c. The x86_64 `struct stat` is 18
/// 64-bit words: dev, ino, nlink, mode|uid<<32, gid|pad<<32, rdev, size,
/// blksize, blocks, then atime, mtime and ctime as (sec, nsec), then 3 unused.
fn cp_new_stat(stat: &Kstat, addr: u64) -> SysResult {
    let mut st = [0u64; 18];
    st[0] = 1;
    st[1] = stat.ino;
    st[2] = u64::from(stat.nlink);
    st[3] = u64::from(stat.mode) | u64::from(stat.uid) << 32;
    st[4] = u64::from(stat.gid);
    st[5] = stat.rdev;
    st[6] = stat.size;
    st[7] = 4096;
    st[8] = stat.blocks;
    for (i, t) in [stat.atime, stat.mtime, stat.ctime].iter().enumerate() {
        st[9 + 2 * i] = t.tv_sec as u64;
        st[10 + 2 * i] = t.tv_nsec as u64;
    }
    put_user(addr, st)?;
    Ok(0)
}

/// What fstat reports for an open file: its inode's, or for a file with no
/// name (a pipe) what the file says.
fn vfs_fstat(fd: i32) -> Result<Kstat, Errno> {
    let file = fdget(fd)?;
    Ok(match &file.f_path {
        Some(path) => path.inode.kstat(),
        None => file.f_op.stat(),
    })
}

/// Linux: SYSCALL_DEFINE2(newfstat) in fs/stat.c
pub fn sys_fstat(fd: i32, statbuf: u64) -> SysResult {
    cp_new_stat(&vfs_fstat(fd)?, statbuf)
}

/// Do not trigger an automount (Linux: AT_NO_AUTOMOUNT); nothing automounts here.
const AT_NO_AUTOMOUNT: u32 = 0x800;
/// statx's cache-coherence choice (Linux: AT_STATX_SYNC_TYPE); one copy here.
const AT_STATX_SYNC_TYPE: u32 = 0x6000;

/// The attributes of the file `filename` names relative to `dirfd`, or of
/// `dirfd` itself for an empty name under AT_EMPTY_PATH.
///
/// Linux: vfs_fstatat() / vfs_statx() in fs/stat.c
///
/// # Errors
/// `EINVAL` for an unknown flag; `ENOENT` for an empty name without
/// AT_EMPTY_PATH; as path_lookup.
fn vfs_statx(dirfd: i32, filename: u64, flags: u32) -> Result<Kstat, Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = super::namei::getname_flags(filename, true)?;
    if path.is_empty() {
        if flags & AT_EMPTY_PATH != 0 {
            return vfs_fstat(dirfd);
        }
        return Err(Errno::ENOENT);
    }
    let cwd = dirfd_path(dirfd, &path)?;
    let inode = path_lookup(&cwd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    Ok(inode.kstat())
}

/// Linux: SYSCALL_DEFINE4(newfstatat) in fs/stat.c
///
/// # Errors
/// As vfs_statx().
pub fn sys_newfstatat(dirfd: i32, filename: u64, statbuf: u64, flags: u32) -> SysResult {
    cp_new_stat(&vfs_statx(dirfd, filename, flags)?, statbuf)
}

/// The fields every statx fills (Linux: STATX_BASIC_STATS: type, mode,
/// nlink, uid, gid, atime, mtime, ctime, ino, size, blocks).
const STATX_BASIC_STATS: u32 = 0x7ff;
/// A mask bit kept for future growth, refused (Linux: STATX__RESERVED).
const STATX_RESERVED: u32 = 0x8000_0000;

/// statx(2): the attributes of a file as a 256-byte `struct statx`, with
/// the basic fields whatever `mask` asks (as Linux, which may return more
/// than asked and says which in `stx_mask`).
///
/// Linux: SYSCALL_DEFINE5(statx) / cp_statx() in fs/stat.c
/// Differs: no birth time, mount id or direct-I/O alignment: `stx_mask`
/// says STATX_BASIC_STATS only.
///
/// # Errors
/// `EINVAL` for an unknown flag, both sync types at once or a reserved
/// mask bit; as vfs_statx(); `EFAULT`.
pub fn sys_statx(dirfd: i32, filename: u64, flags: u32, mask: u32, buffer: u64) -> SysResult {
    if mask & STATX_RESERVED != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    let stat = vfs_statx(dirfd, filename, flags)?;
    let mut stx = [0u64; 32];
    stx[0] = u64::from(STATX_BASIC_STATS) | 4096 << 32; // stx_mask, stx_blksize
    stx[2] = u64::from(stat.nlink) | u64::from(stat.uid) << 32;
    stx[3] = u64::from(stat.gid) | u64::from(stat.mode & 0xffff) << 32;
    stx[4] = stat.ino;
    stx[5] = stat.size;
    stx[6] = stat.blocks;
    // atime at word 8, btime (left 0) at 10, ctime at 12, mtime at 14.
    for (word, t) in [(8, stat.atime), (12, stat.ctime), (14, stat.mtime)] {
        stx[word] = t.tv_sec as u64;
        stx[word + 1] = t.tv_nsec as u64;
    }
    let (major, minor) = huge_decode_dev(stat.rdev);
    stx[16] = u64::from(major) | u64::from(minor) << 32;
    stx[17] = 1 << 32; // stx_dev_major 0, stx_dev_minor 1: st_dev's 1
    put_user(buffer, stx)?;
    Ok(0)
}

/// The major and minor numbers of a device number as `st_rdev` holds it.
///
/// Linux: MAJOR()/MINOR() of new_decode_dev() in include/linux/kdev_t.h
fn huge_decode_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// Linux: SYSCALL_DEFINE4(readlinkat) / do_readlinkat() in fs/stat.c
///
/// # Errors
/// `EINVAL` for a size of 0 or less (as an int) or a path that is not a
/// symlink; as path_lookup.
pub fn sys_readlinkat(dirfd: i32, pathname: u64, buf: u64, bufsiz: u64) -> SysResult {
    if bufsiz as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = getname(pathname)?;
    let cwd = dirfd_path(dirfd, &path)?;
    let inode = path_lookup(&cwd, &path, false)?;
    let target = match &inode.kind {
        InodeKind::Symlink(target) => target.clone(),
        InodeKind::ProcNsLink(pid, ops) => super::proc::namespaces::proc_ns_readlink(*pid, ops)?,
        InodeKind::ProcFdLink(pid, fd) => super::proc::fd::proc_fd_link(*pid, *fd)?.into_bytes(),
        _ => return Err(Errno::EINVAL),
    };
    let n = target.len().min(bufsiz as i32 as usize);
    copy_to_user(buf, &target[..n])?;
    Ok(n as u64)
}

/// access and faccessat(2): may the caller read (R_OK 4), write (W_OK
/// 2) or execute (X_OK 1) the file? Asked as the real user and group,
/// whose search permission the lookup needs too, unless AT_EACCESS asks
/// as the effective ones. The initramfs data is read-only.
///
/// Linux: do_faccessat() in fs/open.c
///
/// # Errors
/// `EINVAL` for mode bits past 7 or an unknown flag; `EACCES`; `EROFS`;
/// as user_path_at.
pub fn sys_faccessat2(dirfd: i32, filename: u64, mode: u32, flags: u32) -> SysResult {
    const AT_EACCESS: u32 = 0x200;
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let _creds = match flags & AT_EACCESS {
        0 => Some(access_override_creds()?),
        _ => None,
    };
    let inode = user_path_at(dirfd, filename, flags)?;
    inode_permission(&inode, mode | MAY_ACCESS)?;
    if mode & 2 != 0 && matches!(inode.kind, InodeKind::File(_)) {
        return Err(Errno::EROFS);
    }
    Ok(0)
}

/// The credentials access(2) checks with: fsuid and fsgid set to the real
/// ids, and the capabilities a real root has (the permitted set), none
/// for anyone else.
///
/// Linux: access_override_creds() in fs/open.c
fn access_override_creds() -> Result<OverrideCreds, Errno> {
    // Linux: SECURE_NO_SETUID_FIXUP in include/uapi/linux/securebits.h
    const SECURE_NO_SETUID_FIXUP: u32 = 2;
    let mut new = prepare_creds();
    new.fsuid = new.uid;
    new.fsgid = new.gid;
    if new.securebits & (1 << SECURE_NO_SETUID_FIXUP) == 0 {
        new.cap_effective = match new.uid {
            0 => new.cap_permitted,
            _ => KernelCap::EMPTY,
        };
    }
    override_creds(new)
}
