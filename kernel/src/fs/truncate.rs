//! Setting a file's size: truncate, ftruncate and fallocate.
//!
//! Linux: fs/open.c (do_truncate, do_sys_truncate, do_sys_ftruncate,
//! vfs_fallocate), mm/shmem.c (shmem_setattr, shmem_fallocate)
//! Not modelled: mandatory locks, leases, the "immutable"/"append-only"
//! inode flags, RLIMIT_FSIZE.

use super::file::{S_IFIFO, S_IFMT, WriteAccess};
use super::namei::{MAY_WRITE, inode_permission, user_path_at};
use super::open::AT_FDCWD;
use super::ramfs::{Inode, InodeKind};
use super::read_write::fdget;
use crate::errno::Errno;
use crate::syscall::SysResult;

/// fallocate: keep the size even when allocating past it (Linux:
/// FALLOC_FL_KEEP_SIZE).
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;

/// Sets the size of a regular file; time stamps change only when the size
/// does, as in shmem_setattr().
///
/// Linux: do_truncate() -> notify_change() -> shmem_setattr() in fs/open.c,
/// mm/shmem.c
///
/// # Errors
/// `EINVAL` for a negative length; `EFBIG` past the largest file;
/// `EACCES` for the read-only initramfs data.
pub fn do_truncate(inode: &Inode, length: i64) -> Result<(), Errno> {
    let length = usize::try_from(length).map_err(|_| Errno::EINVAL)?;
    let data = match &inode.kind {
        InodeKind::MemFile(data) => data,
        InodeKind::File(_) => return Err(Errno::EACCES),
        // /proc files have no size to set; like Linux's proc_setattr(),
        // the request changes nothing (`echo 1 > /proc/sys/...` opens
        // with O_TRUNC).
        _ => return Ok(()),
    };
    if length as u64 > super::shmem::MAX_LFS_FILESIZE {
        return Err(Errno::EFBIG);
    }
    super::attr::file_remove_privs(inode);
    if data.i_size() == length as u64 {
        return Ok(());
    }
    data.truncate_setsize(length as u64);
    inode.touch_mtime();
    Ok(())
}

/// Linux: SYSCALL_DEFINE2(truncate) / do_sys_truncate() -> vfs_truncate() in fs/open.c
///
/// # Errors
/// `EINVAL` for a negative length or a file that is not regular;
/// `EISDIR` for a directory; `EACCES` without write permission; `ETXTBSY`
/// for a running program; as user_path_at and do_truncate.
pub fn sys_truncate(path: u64, length: i64) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let inode = user_path_at(AT_FDCWD, path, 0)?;
    if inode.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !inode.is_reg() {
        return Err(Errno::EINVAL);
    }
    inode_permission(&inode, MAY_WRITE)?;
    let _write = WriteAccess::get(&inode)?;
    do_truncate(&inode, length).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE2(ftruncate) / do_sys_ftruncate() in fs/open.c
///
/// # Errors
/// `EBADF`; `EINVAL` for a negative length, a file not open for writing or
/// not regular; as do_truncate.
pub fn sys_ftruncate(fd: i32, length: i64) -> SysResult {
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let file = fdget(fd)?;
    let inode = match &file.f_path {
        Some(path) if path.inode.is_reg() && file.writable() => &path.inode,
        _ => return Err(Errno::EINVAL),
    };
    do_truncate(inode, length).map(|()| 0)
}

/// Allocates pages for [offset, offset + len) of a file open for writing;
/// mode 0 grows the size to cover them, FALLOC_FL_KEEP_SIZE does not.
///
/// Linux: SYSCALL_DEFINE4(fallocate) / vfs_fallocate() in fs/open.c
///
/// # Errors
/// `EINVAL` for a negative offset or a length of 0 or less; `EOPNOTSUPP`
/// for any other mode; `EBADF` for a file not open for writing; `ENODEV`
/// for one that is not regular (`EISDIR` for a directory, `ESPIPE` for a
/// pipe); `EFBIG` when offset + len overflows or passes the tmpfs limit;
/// `ENOSPC`.
pub fn sys_fallocate(fd: i32, mode: u32, offset: i64, len: i64) -> SysResult {
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !FALLOC_FL_KEEP_SIZE != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let file = fdget(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let Some(path) = &file.f_path else {
        return Err(if file.f_op.seekable() {
            Errno::ENODEV
        } else {
            Errno::ESPIPE
        });
    };
    if path.inode.mode() & S_IFMT == S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    if path.inode.is_dir() {
        return Err(Errno::EISDIR);
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
    let InodeKind::MemFile(data) = &path.inode.kind else {
        return Err(Errno::ENODEV);
    };
    let keep_size = mode & FALLOC_FL_KEEP_SIZE != 0;
    super::shmem::shmem_fallocate(data, offset as u64, end as u64, keep_size)?;
    if mode & FALLOC_FL_KEEP_SIZE == 0 {
        path.inode.touch_mtime();
    }
    Ok(0)
}
