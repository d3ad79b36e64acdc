//! New names: hard links, symbolic links and special files (mknod).
//!
//! Linux: fs/namei.c (do_linkat, do_symlinkat, do_mknodat, vfs_link,
//! filename_create), mm/shmem.c (shmem_link, shmem_symlink, shmem_mknod)
//! Not modelled: block devices and sockets as special files.

use super::attr::{S_IALLUGO, inode_init_owner};
use super::file::{S_IFCHR, S_IFIFO, S_IFMT, S_IFREG};
use super::namei::{getname, may_create, user_path_at};
use super::open::{current_umask, dirfd_path, is_dot, lookup_parent};
use super::ramfs::{Inode, InodeKind, shmem_get_inode};
use super::stat::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use crate::capability::{CAP_MKNOD, capable};
use crate::errno::Errno;
use crate::syscall::SysResult;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// linkat: follow a final symlink of the old name (Linux: AT_SYMLINK_FOLLOW).
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// Block device (Linux: S_IFBLK).
const S_IFBLK: u32 = 0o060000;
/// Socket (Linux: S_IFSOCK).
const S_IFSOCK: u32 = 0o140000;
/// The most names one inode may have (Linux: tmpfs has no limit below
/// the counter's range; ext4's EXT4_LINK_MAX is 65000).
const LINK_MAX: u32 = u32::MAX - 1;

/// The directory and free name a new entry goes to, which the caller may
/// create names in.
///
/// Linux: filename_create() in fs/namei.c, then may_create() as the
/// vfs_*() functions call it
///
/// # Errors
/// `EEXIST` when the name exists (or is `.` or `..`); `EACCES` without
/// write and search permission on the directory; as lookup_parent.
fn filename_create(dfd: i32, path: &[u8]) -> Result<(Arc<Inode>, Vec<u8>), Errno> {
    let cwd = dirfd_path(dfd, path)?;
    let (parent, name) = match lookup_parent(&cwd, path) {
        Err(Errno::EBUSY) => return Err(Errno::EEXIST),
        other => other?,
    };
    if is_dot(name) || parent.lookup(name).is_ok() {
        return Err(Errno::EEXIST);
    }
    may_create(&parent)?;
    let mut owned = Vec::new();
    owned
        .try_reserve_exact(name.len())
        .map_err(|_| Errno::ENOMEM)?;
    owned.extend_from_slice(name);
    Ok((parent, owned))
}

/// Gives an existing inode one more name.
///
/// Linux: do_linkat() -> vfs_link() in fs/namei.c
///
/// # Errors
/// `EINVAL` for an unknown flag; `EPERM` for a directory; `EXDEV` across
/// tmpfs instances and for
/// /proc's inodes; `EMLINK` past LINK_MAX; `EEXIST`; as user_path_at.
pub fn sys_linkat(olddfd: i32, oldname: u64, newdfd: i32, newname: u64, flags: u32) -> SysResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut lookup = flags & AT_EMPTY_PATH;
    if flags & AT_SYMLINK_FOLLOW == 0 {
        lookup |= AT_SYMLINK_NOFOLLOW;
    }
    let inode = user_path_at(olddfd, oldname, lookup)?;
    // An open file whose last name is gone cannot get a new one.
    if inode.i_attr.lock().nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let new = getname(newname)?;
    let (parent, name) = filename_create(newdfd, &new)?;
    if !core::ptr::eq(inode.i_sb, parent.i_sb) {
        return Err(Errno::EXDEV);
    }
    if inode.is_dir() {
        return Err(Errno::EPERM);
    }
    if !matches!(
        inode.kind,
        InodeKind::File(_)
            | InodeKind::MemFile(_)
            | InodeKind::Symlink(_)
            | InodeKind::Fifo(_)
            | InodeKind::CharDev(..)
    ) {
        return Err(Errno::EXDEV);
    }
    if inode.i_attr.lock().nlink >= LINK_MAX {
        return Err(Errno::EMLINK);
    }
    inode.inc_nlink();
    if let Err(e) = parent.link_new(&name, inode.clone()) {
        inode.drop_nlink();
        return Err(e);
    }
    inode.i_attr.lock().ctime = super::attr::current_time();
    Ok(0)
}

/// Makes a symbolic link `newname` whose target is `oldname`, kept as
/// given (it need not exist).
///
/// Linux: do_symlinkat() in fs/namei.c
///
/// # Errors
/// `ENOENT` for an empty target; `ENAMETOOLONG`; `EEXIST`; as
/// filename_create; `ENOSPC`, `ENOMEM`.
pub fn sys_symlinkat(oldname: u64, newdfd: i32, newname: u64) -> SysResult {
    let target = getname(oldname)?;
    let new = getname(newname)?;
    let (parent, name) = filename_create(newdfd, &new)?;
    let link = shmem_get_inode(parent.i_sb, InodeKind::Symlink(target), 0o777)?;
    inode_init_owner(&link, &parent);
    parent.link_new(&name, link).map(|()| 0)
}

/// Makes a regular file, a FIFO or a character device.
///
/// Linux: do_mknodat() in fs/namei.c
///
/// # Errors
/// `EINVAL` for an unknown file type; `EPERM` for a directory (mkdir
/// makes those), for block devices and sockets, and for a character
/// device without CAP_MKNOD; `EEXIST`; as
/// filename_create; `ENOSPC`, `ENOMEM`.
/// Differs: no block devices or sockets (EPERM, as for an unprivileged
/// caller in Linux).
pub fn sys_mknodat(dfd: i32, filename: u64, mode: u32, dev: u32) -> SysResult {
    match mode & S_IFMT {
        0 | S_IFREG | S_IFIFO | S_IFCHR => {}
        super::file::S_IFDIR | S_IFBLK | S_IFSOCK => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let path = getname(filename)?;
    let (parent, name) = filename_create(dfd, &path)?;
    // Linux: vfs_mknod(): a device node is a way around file permissions.
    if mode & S_IFMT == S_IFCHR && !capable(CAP_MKNOD) {
        return Err(Errno::EPERM);
    }
    let kind = match mode & S_IFMT {
        S_IFIFO => InodeKind::Fifo(Default::default()),
        S_IFCHR => InodeKind::CharDev((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00)),
        _ => InodeKind::MemFile(
            Arc::try_new(crate::mm::filemap::AddressSpace::shmem(parent.i_sb))
                .map_err(|_| Errno::ENOMEM)?,
        ),
    };
    let inode = shmem_get_inode(parent.i_sb, kind, mode & S_IALLUGO & !current_umask())?;
    inode_init_owner(&inode, &parent);
    parent.link_new(&name, inode).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE2(link) in fs/namei.c
pub fn sys_link(oldname: u64, newname: u64) -> SysResult {
    use super::open::AT_FDCWD;
    sys_linkat(AT_FDCWD, oldname, AT_FDCWD, newname, 0)
}
