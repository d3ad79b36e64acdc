//! Opening and closing files, and the working directory.
//!
//! Linux: fs/open.c, fs/d_path.c (getcwd)

use super::file::{File, FileOperations};
pub use super::namei::getname;
use super::namei::{NAME_MAX, PATH_MAX, normalize, path_lookup};
use super::ramfs::{Inode, InodeKind, RamFile, shmem_get_inode};
use crate::errno::Errno;
use crate::mm::filemap::AddressSpace;
use crate::mm::uaccess::copy_to_user;
use crate::syscall::SysResult;
use crate::task::current;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// "Relative to the working directory" (Linux: AT_FDCWD).
pub const AT_FDCWD: i32 = -100;
/// Access mode mask (Linux: O_ACCMODE).
pub const O_ACCMODE: u32 = 0o3;
/// Open for reading only (Linux: O_RDONLY).
pub const O_RDONLY: u32 = 0;
/// Open for writing only (Linux: O_WRONLY).
pub const O_WRONLY: u32 = 1;
/// Open for reading and writing (Linux: O_RDWR).
pub const O_RDWR: u32 = 2;
/// Create if missing (Linux: O_CREAT).
pub const O_CREAT: u32 = 0o100;
/// Fail unless a directory (Linux: O_DIRECTORY).
pub const O_DIRECTORY: u32 = 0o200000;
/// Close on exec (Linux: O_CLOEXEC).
pub const O_CLOEXEC: u32 = 0o2000000;
/// Truncate (Linux: O_TRUNC).
pub const O_TRUNC: u32 = 0o1000;
/// With O_CREAT: fail if it exists (Linux: O_EXCL).
pub const O_EXCL: u32 = 0o200;
/// Every write goes to the end (Linux: O_APPEND).
pub const O_APPEND: u32 = 0o2000;
/// Do not make this the controlling terminal (Linux: O_NOCTTY).
pub const O_NOCTTY: u32 = 0o400;
/// Offsets are 64-bit; open() always sets it on x86_64, and F_GETFL shows it
/// (Linux: O_LARGEFILE, force_o_largefile()).
pub const O_LARGEFILE: u32 = 0o100000;

/// The caller's working directory.
pub fn current_cwd() -> Vec<u8> {
    current()
        .fs
        .lock()
        .as_ref()
        .map(|fs| fs.pwd.lock().clone())
        .unwrap_or_else(|| "/".into())
}

/// The directory a *at() call resolves relative paths against.
///
/// # Errors
/// `EBADF` for a bad dirfd; `ENOTDIR` when it is not a directory.
pub fn dirfd_path(dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.starts_with(b"/") || dirfd == AT_FDCWD {
        return Ok(current_cwd());
    }
    let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
    let _ = files.fget(dirfd)?;
    Err(Errno::ENOTDIR)
}

/// The open-file operations for an inode (Linux: inode->i_fop, and for a
/// device chrdev_open() choosing the driver's).
///
/// # Errors
/// `ENXIO` for /dev/tty without a controlling terminal; `ESRCH` for a
/// /proc file of a process that is gone.
pub fn inode_fops(inode: &Arc<Inode>) -> Result<Arc<dyn FileOperations>, Errno> {
    use crate::drivers::mem;
    Ok(match &inode.kind {
        InodeKind::CharDev(1, 3) => Arc::new(mem::Null),
        InodeKind::CharDev(1, 5) => Arc::new(mem::Zero),
        InodeKind::CharDev(1, 7) => Arc::new(mem::Full),
        InodeKind::CharDev(1, 8) => Arc::new(mem::Random),
        InodeKind::CharDev(1, 9) => Arc::new(mem::Urandom),
        InodeKind::CharDev(1, 11) => Arc::new(crate::printk::syslog::Devkmsg::open()),
        InodeKind::CharDev(5, 0) => crate::drivers::tty::tty_open_current_tty()?,
        InodeKind::CharDev(..) => Arc::new(crate::drivers::tty::Console),
        InodeKind::Proc(_)
        | InodeKind::ProcRw(_)
        | InodeKind::ProcPidFile(..)
        | InodeKind::Sysctl(_) => Arc::new(super::proc::ProcFile::open(inode)?),
        _ => Arc::new(RamFile(inode.clone())),
    })
}

/// Opens a file and installs it at the lowest free descriptor.
///
/// Linux: do_sys_openat2() in fs/open.c
///
/// # Errors
/// `ENOENT`, `ENOTDIR`, `EISDIR`, `EACCES` (writing the read-only rootfs),
/// `EMFILE`, `EFAULT`.
pub fn sys_openat(dirfd: i32, filename: u64, flags: u32, mode: u32) -> SysResult {
    let path = getname(filename)?;
    let cwd = dirfd_path(dirfd, &path)?;
    let inode = match path_lookup(&cwd, &path, true) {
        Ok(_) if flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => return Err(Errno::EEXIST),
        Ok(inode) => inode,
        Err(Errno::ENOENT) if flags & O_CREAT != 0 => {
            let (parent, name) = lookup_parent(&cwd, &path)?;
            let file = shmem_get_inode(
                InodeKind::MemFile(Arc::try_new(AddressSpace::shmem()).map_err(|_| Errno::ENOMEM)?),
                mode & 0o7777,
            )?;
            parent.link(name, file.clone())?;
            file
        }
        Err(e) => return Err(e),
    };
    if let (InodeKind::MemFile(data), true) = (&inode.kind, flags & O_TRUNC != 0) {
        data.truncate_setsize(0);
    }
    let writing = flags & O_ACCMODE != O_RDONLY;
    if flags & O_DIRECTORY != 0 && !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if inode.is_dir() && writing {
        return Err(Errno::EISDIR);
    }
    if writing && matches!(inode.kind, InodeKind::File(_)) {
        return Err(Errno::EACCES);
    }
    // The flags that only steer the open itself do not stay with the file,
    // so F_GETFL shows what Linux's do_dentry_open() leaves.
    let f_flags = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC) | O_LARGEFILE;
    let file = File::new(inode_fops(&inode)?, f_flags)?;
    *file.f_path.lock() = normalize(&cwd, &path);
    let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
    files
        .alloc_fd(0, file, flags & O_CLOEXEC != 0)
        .map(|fd| fd as u64)
}

/// The directory that would hold `path`, and the last component's name.
///
/// Linux: filename_parentat() in fs/namei.c
///
/// # Errors
/// As path_lookup for the parent; `ENOTDIR` if it is not a directory;
/// `ENAMETOOLONG` for a last component longer than NAME_MAX.
pub fn lookup_parent<'a>(cwd: &[u8], path: &'a [u8]) -> Result<(Arc<Inode>, &'a [u8]), Errno> {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let trimmed = &path[..end];
    let (dir, name): (&[u8], &[u8]) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(slash) => (&trimmed[..slash], &trimmed[slash + 1..]),
        None => (b".", trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let parent = path_lookup(cwd, dir, true)?;
    if !parent.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok((parent, name))
}

/// Linux: do_mkdirat() in fs/namei.c
pub fn sys_mkdirat(dirfd: i32, pathname: u64, mode: u32) -> SysResult {
    let path = getname(pathname)?;
    let cwd = dirfd_path(dirfd, &path)?;
    if path_lookup(&cwd, &path, false).is_ok() {
        return Err(Errno::EEXIST);
    }
    let (parent, name) = lookup_parent(&cwd, &path)?;
    let dir = shmem_get_inode(InodeKind::Dir(Default::default()), mode & 0o7777)?;
    parent.link(name, dir).map(|()| 0)
}

/// Removes a name: a file, or with AT_REMOVEDIR an empty directory.
///
/// Linux: do_unlinkat() / do_rmdir() in fs/namei.c
///
/// # Errors
/// `EINVAL` for any flag but AT_REMOVEDIR; as Inode::unlink.
pub fn sys_unlinkat(dirfd: i32, pathname: u64, flags: u32) -> SysResult {
    const AT_REMOVEDIR: u32 = 0x200;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = getname(pathname)?;
    let cwd = dirfd_path(dirfd, &path)?;
    let (parent, name) = lookup_parent(&cwd, &path)?;
    parent.unlink(name, flags & AT_REMOVEDIR != 0).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE1(close) in fs/open.c
pub fn sys_close(fd: i32) -> SysResult {
    let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
    files.close_fd(fd).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE1(chdir) in fs/open.c
pub fn sys_chdir(filename: u64) -> SysResult {
    let path = getname(filename)?;
    let cwd = current_cwd();
    let inode = path_lookup(&cwd, &path, true)?;
    if !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let pwd = normalize(&cwd, &path);
    if pwd.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let fs = current().fs.lock().clone().ok_or(Errno::ENOENT)?;
    *fs.pwd.lock() = pwd;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE2(getcwd) in fs/d_path.c
pub fn sys_getcwd(buf: u64, size: u64) -> SysResult {
    let cwd = current_cwd();
    if cwd.len() + 1 > size as usize {
        return Err(Errno::ERANGE);
    }
    copy_to_user(buf, &cwd)?;
    copy_to_user(buf + cwd.len() as u64, &[0])?;
    Ok(cwd.len() as u64 + 1)
}

/// Sets the size of a regular file open for writing: the page cache drops
/// what lies past a shrunk end and every mapping of it is unmapped there.
///
/// Linux: do_sys_ftruncate() -> do_truncate() -> shmem_setattr() ->
/// truncate_setsize() in fs/open.c, mm/shmem.c, mm/truncate.c
///
/// # Errors
/// `EBADF`, `EINVAL` for a negative length, a file not open for writing or
/// not a regular file. Past the tmpfs limit the file is sparse: touching
/// pages there gives SIGBUS, writing them ENOSPC.
pub fn sys_ftruncate(fd: i32, length: i64) -> SysResult {
    let file = super::read_write::fdget(fd)?;
    let length = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
    if !file.writable() {
        return Err(Errno::EINVAL);
    }
    let Ok(super::file::MmapTarget::PageCache(mapping)) = file.f_op.mmap() else {
        return Err(Errno::EINVAL);
    };
    if !mapping.is_shmem() {
        return Err(Errno::EINVAL);
    }
    if length > super::shmem::MAX_LFS_FILESIZE {
        return Err(Errno::EFBIG);
    }
    mapping.truncate_setsize(length);
    Ok(0)
}
