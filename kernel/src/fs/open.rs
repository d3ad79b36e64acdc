//! Opening and closing files, and the working directory.
//!
//! Linux: fs/open.c, fs/d_path.c (getcwd)

use super::attr::{S_IALLUGO, inode_init_owner};
use super::file::{File, FileOperations, Path, WriteAccess};
pub use super::namei::getname;
use super::namei::{
    MAXSYMLINKS, MAY_CHDIR, MAY_EXEC, MAY_OPEN, MAY_READ, MAY_WRITE, NAME_MAX, PATH_MAX,
    inode_permission, may_create, may_delete, may_lookup, normalize, path_lookup,
};
use super::ramfs::{Inode, InodeKind, RamFile, shmem_get_inode};
use crate::errno::Errno;
use crate::mm::filemap::AddressSpace;
use crate::mm::uaccess::copy_to_user;
use crate::syscall::SysResult;
use crate::task::current;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

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
/// Fail with ELOOP on a final symlink (Linux: O_NOFOLLOW).
pub const O_NOFOLLOW: u32 = 0o400000;
/// Sticky bit: in a directory, only an owner may remove names (Linux: S_ISVTX).
pub const S_ISVTX: u32 = 0o1000;
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

/// The directory a *at() call resolves relative paths against: the
/// working directory for AT_FDCWD, else the directory `dirfd` was opened
/// at. An absolute path ignores dirfd.
///
/// Linux: path_init() in fs/namei.c
///
/// # Errors
/// `EBADF` for a bad dirfd; `ENOTDIR` when it is not a directory.
pub fn dirfd_path(dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.starts_with(b"/") || dirfd == AT_FDCWD {
        return Ok(current_cwd());
    }
    let file = super::read_write::fdget(dirfd)?;
    match &file.f_path {
        Some(p) if p.inode.is_dir() => {
            let mut name = Vec::new();
            name.try_reserve_exact(p.name.len())
                .map_err(|_| Errno::ENOMEM)?;
            name.extend_from_slice(&p.name);
            Ok(name)
        }
        _ => Err(Errno::ENOTDIR),
    }
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
/// Linux: do_sys_openat2() -> path_openat() -> do_open() in fs/open.c,
/// fs/namei.c
///
/// # Errors
/// `EINVAL` for O_CREAT with O_DIRECTORY;
/// `ENOENT`, `ENOTDIR`, `EISDIR`, `EEXIST`, `ELOOP` (O_NOFOLLOW on a
/// symlink), `ETXTBSY` (writing a running program), `ENXIO` (O_NONBLOCK
/// write-only open of a FIFO without readers), `EACCES` (writing the
/// read-only initramfs data), `EMFILE`, `EFAULT`.
pub fn sys_openat(dirfd: i32, filename: u64, flags: u32, mode: u32) -> SysResult {
    // Linux: build_open_flags(), before the name is read: O_CREAT makes a
    // file, which O_DIRECTORY could never accept.
    if flags & (O_CREAT | O_DIRECTORY) == O_CREAT | O_DIRECTORY {
        return Err(Errno::EINVAL);
    }
    let path = getname(filename)?;
    let cwd = dirfd_path(dirfd, &path)?;
    let file = do_filp_open(&cwd, &path, flags, mode)?;
    let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
    files
        .alloc_fd(0, file, flags & O_CLOEXEC != 0)
        .map(|fd| fd as u64)
}

/// Opens `path` (relative to `cwd`) as an open file not yet in any
/// descriptor table: what openat does after reading its arguments, and
/// what the kernel's own opens (a core dump's file) use.
///
/// Linux: do_filp_open() / path_openat() in fs/namei.c
///
/// # Errors
/// As [`sys_openat`], without `EMFILE` and `EFAULT`.
pub fn do_filp_open(cwd: &[u8], path: &[u8], flags: u32, mode: u32) -> Result<Arc<File>, Errno> {
    let (inode, created) = open_last_lookups(cwd, path, flags, mode)?;
    // A file this open created is opened whatever mode it was given.
    let flags = match created {
        true => flags & !O_TRUNC,
        false => flags,
    };
    may_open(&inode, flags, !created)?;
    let writing = flags & O_ACCMODE != O_RDONLY;
    let write = match inode.is_reg() && (writing || flags & O_TRUNC != 0) {
        true => Some(WriteAccess::get(&inode)?),
        false => None,
    };
    let f_op = match inode.kind {
        InodeKind::Fifo(_) => super::fifo::fifo_open(&inode, flags)?,
        _ => inode_fops(&inode)?,
    };
    if flags & O_TRUNC != 0 && inode.is_reg() {
        // Linux: handle_truncate(): to size 0, as ftruncate would.
        super::truncate::do_truncate(&inode, 0)?;
    }
    // The flags that only steer the open itself do not stay with the file,
    // so F_GETFL shows what Linux's do_dentry_open() leaves.
    let f_flags = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC) | O_LARGEFILE;
    let name = normalize(cwd, path);
    let write = write.filter(|_| writing);
    File::open(f_op, f_flags, Path { name, inode }, write)
}

/// Finds the file to open, creating it under O_CREAT. O_CREAT|O_EXCL and
/// O_NOFOLLOW do not follow a final symlink; O_CREAT alone creates the
/// target of a dangling one.
///
/// Says whether it created the file.
///
/// Linux: open_last_lookups() / lookup_open() in fs/namei.c
fn open_last_lookups(
    cwd: &[u8],
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<(Arc<Inode>, bool), Errno> {
    let excl = flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL;
    let follow = flags & O_NOFOLLOW == 0 && !excl;
    let mut budget = MAXSYMLINKS;
    let mut at = (cwd.to_vec(), path.to_vec());
    loop {
        let (dir, path) = (&at.0, &at.1[..]);
        match path_lookup(dir, path, follow) {
            Ok(_) if excl => return Err(Errno::EEXIST),
            Ok(inode) => return Ok((inode, false)),
            Err(Errno::ENOENT) if flags & O_CREAT != 0 => {}
            Err(e) => return Err(e),
        }
        if path.ends_with(b"/") {
            return Err(Errno::EISDIR);
        }
        let (parent, name) = lookup_parent(dir, path)?;
        match parent.lookup(name) {
            Ok(link) if follow => {
                let InodeKind::Symlink(target) = &link.kind else {
                    continue;
                };
                budget = budget.checked_sub(1).ok_or(Errno::ELOOP)?;
                let dir = normalize(dir, &path[..path.len() - name.len()]);
                at = (dir, target.clone());
                continue;
            }
            Ok(_) => return Err(Errno::EEXIST),
            Err(_) => {}
        }
        may_create(&parent)?; // Linux: may_o_create()
        let perm = mode & S_IALLUGO & !current_umask();
        let mapping = Arc::try_new(AddressSpace::shmem(parent.i_sb)).map_err(|_| Errno::ENOMEM)?;
        let file = shmem_get_inode(parent.i_sb, InodeKind::MemFile(mapping), perm)?;
        inode_init_owner(&file, &parent);
        match parent.link_new(name, file.clone()) {
            Ok(()) => return Ok((file, true)),
            // Someone else created it meanwhile: open theirs.
            Err(Errno::EEXIST) if !excl => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The checks of an open that depend on what was found; `check_access`
/// is false for a file the open created.
///
/// Linux: the O_CREAT/O_DIRECTORY checks of do_open(), and may_open(), in
/// fs/namei.c
///
/// # Errors
/// `EISDIR`, `ENOTDIR`, `ELOOP`; `EACCES` without the read or write
/// permission the access mode (and O_TRUNC) asks for.
fn may_open(inode: &Inode, flags: u32, check_access: bool) -> Result<(), Errno> {
    let writing = flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0;
    if inode.is_dir() && flags & O_CREAT != 0 {
        return Err(Errno::EISDIR);
    }
    if flags & O_DIRECTORY != 0 && !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if inode.is_symlink() {
        return Err(Errno::ELOOP);
    }
    if inode.is_dir() && writing {
        return Err(Errno::EISDIR);
    }
    if check_access {
        inode_permission(inode, MAY_OPEN | acc_mode(flags))?;
    }
    if flags & O_ACCMODE != O_RDONLY && matches!(inode.kind, InodeKind::File(_)) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// The permission an open asks for: read and/or write by the access
/// mode (3 means both), write for O_TRUNC.
///
/// Linux: ACC_MODE() in include/linux/fs.h, and build_open_flags()
fn acc_mode(flags: u32) -> u32 {
    let mode = match flags & O_ACCMODE {
        O_RDONLY => MAY_READ,
        O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    match flags & O_TRUNC {
        0 => mode,
        _ => mode | MAY_WRITE,
    }
}

/// The caller's file mode creation mask.
pub fn current_umask() -> u32 {
    current()
        .fs
        .lock()
        .as_ref()
        .map_or(0o022, |fs| fs.umask.load(Ordering::Relaxed))
}

/// The directory that would hold `path`, and the last component's name
/// (which may be `.` or `..`; each caller says what that means for it).
///
/// Linux: filename_parentat() in fs/namei.c
///
/// # Errors
/// As path_lookup for the parent; `ENOTDIR` if it is not a directory;
/// `ENAMETOOLONG` for a last component longer than NAME_MAX; `ENOENT`
/// for a path of only slashes' parent.
pub fn lookup_parent<'a>(cwd: &[u8], path: &'a [u8]) -> Result<(Arc<Inode>, &'a [u8]), Errno> {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let trimmed = &path[..end];
    let (dir, name): (&[u8], &[u8]) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(slash) => (&trimmed[..slash], &trimmed[slash + 1..]),
        None => (b".", trimmed),
    };
    if name.is_empty() {
        return Err(Errno::EBUSY);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let parent = path_lookup(cwd, dir, true)?;
    if !parent.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    may_lookup(&parent)?;
    Ok((parent, name))
}

/// Whether a last component is `.` or `..` (Linux: last_type != LAST_NORM).
pub fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

/// Linux: do_mkdirat() -> vfs_mkdir() in fs/namei.c
///
/// # Errors
/// `EEXIST` when the name exists; `EACCES` without write and search
/// permission on the parent; as lookup_parent; `ENOSPC`, `ENOMEM`.
pub fn sys_mkdirat(dirfd: i32, pathname: u64, mode: u32) -> SysResult {
    let path = getname(pathname)?;
    let cwd = dirfd_path(dirfd, &path)?;
    let (parent, name) = match lookup_parent(&cwd, &path) {
        Err(Errno::EBUSY) => return Err(Errno::EEXIST),
        other => other?,
    };
    if is_dot(name) || parent.lookup(name).is_ok() {
        return Err(Errno::EEXIST);
    }
    may_create(&parent)?;
    let perm = mode & (0o777 | S_ISVTX) & !current_umask();
    let dir = shmem_get_inode(parent.i_sb, InodeKind::Dir(Default::default()), perm)?;
    inode_init_owner(&dir, &parent);
    parent.link_new(name, dir).map(|()| 0)
}

/// Removes a name: a file, or with AT_REMOVEDIR an empty directory.
///
/// Linux: do_unlinkat() / do_rmdir() in fs/namei.c
///
/// # Errors
/// `EINVAL` for any flag but AT_REMOVEDIR, and for rmdir of `.`;
/// `ENOTEMPTY` for rmdir of `..`; `EISDIR` for unlink of either;
/// `EACCES`, `EPERM` as may_delete; as Inode::unlink.
pub fn sys_unlinkat(dirfd: i32, pathname: u64, flags: u32) -> SysResult {
    const AT_REMOVEDIR: u32 = 0x200;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let rmdir = flags & AT_REMOVEDIR != 0;
    let path = getname(pathname)?;
    let cwd = dirfd_path(dirfd, &path)?;
    do_unlinkat(&cwd, &path, rmdir).map(|()| 0)
}

/// Removes `path` (relative to `cwd`): unlinkat after its arguments are
/// read, and the kernel's own unlink (of an old core file).
///
/// Linux: do_unlinkat() / do_rmdir() in fs/namei.c
///
/// # Errors
/// As [`sys_unlinkat`].
pub fn do_unlinkat(cwd: &[u8], path: &[u8], rmdir: bool) -> Result<(), Errno> {
    let (parent, name) = lookup_parent(cwd, path)?;
    match (rmdir, name) {
        (true, b".") => return Err(Errno::EINVAL),
        (true, b"..") => return Err(Errno::ENOTEMPTY),
        (false, b"." | b"..") => return Err(Errno::EISDIR),
        _ => {}
    }
    let victim = parent.lookup(name)?;
    if !rmdir && path.ends_with(b"/") && !victim.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    may_delete(&parent, &victim)?;
    parent.unlink(name, rmdir)
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
    inode_permission(&inode, MAY_EXEC | MAY_CHDIR)?;
    let pwd = normalize(&cwd, &path);
    if pwd.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let fs = current().fs.lock().clone().ok_or(Errno::ENOENT)?;
    *fs.pwd.lock() = pwd;
    Ok(0)
}

/// Linux: SYSCALL_DEFINE1(fchdir) in fs/open.c
///
/// # Errors
/// `EBADF`; `ENOTDIR` for a descriptor that is not a directory; `EACCES`
/// without search permission.
pub fn sys_fchdir(fd: i32) -> SysResult {
    let file = super::read_write::fdget(fd)?;
    let path = file.f_path.as_ref().filter(|p| p.inode.is_dir());
    let path = path.ok_or(Errno::ENOTDIR)?;
    inode_permission(&path.inode, MAY_EXEC | MAY_CHDIR)?;
    let mut pwd = Vec::new();
    pwd.try_reserve_exact(path.name.len())
        .map_err(|_| Errno::ENOMEM)?;
    pwd.extend_from_slice(&path.name);
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
