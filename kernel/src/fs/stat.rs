//! stat, fstat, newfstatat, readlink and access.
//!
//! Linux: fs/stat.c, fs/open.c (faccessat)

use super::file::Kstat;
use super::namei::{path_lookup, user_path_at};
use super::open::{dirfd_path, getname};
use super::ramfs::InodeKind;
use super::read_write::fdget;
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

/// Linux: SYSCALL_DEFINE2(newfstat) in fs/stat.c
pub fn sys_fstat(fd: i32, statbuf: u64) -> SysResult {
    let file = fdget(fd)?;
    let stat = match &file.f_path {
        Some(path) => path.inode.kstat(),
        None => file.f_op.stat(),
    };
    cp_new_stat(&stat, statbuf)
}

/// Linux: SYSCALL_DEFINE4(newfstatat) in fs/stat.c
///
/// # Errors
/// `EINVAL` for a flag vfs_fstatat() does not know; as path_lookup.
pub fn sys_newfstatat(dirfd: i32, filename: u64, statbuf: u64, flags: u32) -> SysResult {
    const AT_NO_AUTOMOUNT: u32 = 0x800;
    const AT_STATX_SYNC_TYPE: u32 = 0x6000;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = super::namei::getname_flags(filename, true)?;
    if path.is_empty() {
        if flags & AT_EMPTY_PATH != 0 {
            return sys_fstat(dirfd, statbuf);
        }
        return Err(Errno::ENOENT);
    }
    let cwd = dirfd_path(dirfd, &path)?;
    let inode = path_lookup(&cwd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    cp_new_stat(&inode.kstat(), statbuf)
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
        _ => return Err(Errno::EINVAL),
    };
    let n = target.len().min(bufsiz as i32 as usize);
    copy_to_user(buf, &target[..n])?;
    Ok(n as u64)
}

/// access and faccessat(2): may the caller read (R_OK 4), write (W_OK
/// 2) or execute (X_OK 1) the file? As root every check passes, except
/// that executing a file needs an x bit somewhere (directories are
/// always searchable) and that the initramfs data is read-only.
///
/// Linux: do_faccessat() in fs/open.c, with generic_permission()'s
/// capable_wrt_inode_uidgid() path for root
///
/// # Errors
/// `EINVAL` for mode bits past 7 or an unknown flag; `EACCES`; `EROFS`;
/// as user_path_at.
pub fn sys_faccessat2(dirfd: i32, filename: u64, mode: u32, flags: u32) -> SysResult {
    const AT_EACCESS: u32 = 0x200;
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let inode = user_path_at(dirfd, filename, flags)?;
    if mode & 1 != 0 && !inode.is_dir() && inode.mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if mode & 2 != 0 && matches!(inode.kind, InodeKind::File(_)) {
        return Err(Errno::EROFS);
    }
    Ok(0)
}
