//! Turning a path into an inode: walk from the root or the working
//! directory one component at a time, following symbolic links, with
//! search permission on every directory passed. Paths are bytes: a name is
//! anything without '/' and NUL, as in Linux. Also the permission checks
//! of namei.c: mode bits against the caller's fsuid and groups, and who
//! may create and delete names in a directory.
//!
//! Linux: fs/namei.c (getname, path_lookupat, link_path_walk,
//! generic_permission, inode_permission, may_create, may_delete)
//! Differs: `.` and `..` are resolved by name before the walk, so passing
//! them needs no search permission.

use super::attr::InodeAttr;
use super::file::{S_IFDIR, S_IFMT};
use super::open::S_ISVTX;
use super::ramfs::{Inode, InodeKind, root};
use crate::capability::{CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, capable};
use crate::cred::{Cred, current_cred};
use crate::errno::Errno;
use crate::mm::uaccess::copy_from_user;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Symbolic links followed in one lookup before ELOOP (Linux: MAXSYMLINKS).
pub const MAXSYMLINKS: usize = 40;
/// Longest path a system call takes, with its NUL (Linux: PATH_MAX).
pub const PATH_MAX: usize = 4096;
/// Longest name of one directory entry (Linux: NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Execute a file, or search a directory (Linux: MAY_EXEC).
pub const MAY_EXEC: u32 = 1;
/// Write (Linux: MAY_WRITE).
pub const MAY_WRITE: u32 = 2;
/// Read (Linux: MAY_READ).
pub const MAY_READ: u32 = 4;
/// Asked by access(2) (Linux: MAY_ACCESS).
pub const MAY_ACCESS: u32 = 16;
/// Asked by an open (Linux: MAY_OPEN).
pub const MAY_OPEN: u32 = 32;
/// Asked by chdir (Linux: MAY_CHDIR).
pub const MAY_CHDIR: u32 = 64;
/// Any execute bit (Linux: S_IXUGO).
pub const S_IXUGO: u32 = 0o111;

/// Copies a path argument in as bytes; `allow_empty` accepts "" (for
/// AT_EMPTY_PATH).
///
/// Linux: getname_flags() in fs/namei.c
///
/// # Errors
/// `EFAULT`; `ENAMETOOLONG` with no NUL in the first PATH_MAX bytes;
/// `ENOENT` for an empty path unless allowed; `ENOMEM`.
pub fn getname_flags(addr: u64, allow_empty: bool) -> Result<Vec<u8>, Errno> {
    let mut name = Vec::new();
    name.try_reserve_exact(PATH_MAX)
        .map_err(|_| Errno::ENOMEM)?;
    let mut chunk = [0u8; 64];
    while name.len() < PATH_MAX {
        let at = addr.checked_add(name.len() as u64).ok_or(Errno::EFAULT)?;
        let n = chunk
            .len()
            .min(PATH_MAX - name.len())
            .min(4096 - (at % 4096) as usize);
        copy_from_user(&mut chunk[..n], at)?;
        if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
            name.extend_from_slice(&chunk[..nul]);
            return match name.is_empty() && !allow_empty {
                true => Err(Errno::ENOENT),
                false => Ok(name),
            };
        }
        name.extend_from_slice(&chunk[..n]);
    }
    Err(Errno::ENAMETOOLONG)
}

/// Linux: getname() in fs/namei.c
///
/// # Errors
/// As getname_flags, with an empty path `ENOENT`.
pub fn getname(addr: u64) -> Result<Vec<u8>, Errno> {
    getname_flags(addr, false)
}

/// Makes `path` absolute against `cwd` and removes `.`, `..` and repeated
/// slashes, without touching the file system.
pub fn normalize(cwd: &[u8], path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let joined: [&[u8]; 2] = if path.starts_with(b"/") {
        [path, b""]
    } else {
        [cwd, path]
    };
    for part in joined.iter().flat_map(|p| p.split(|&b| b == b'/')) {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = Vec::from(*b"/");
    out.extend_from_slice(&parts.join(&b'/'));
    out
}

/// Finds the inode at `path` (relative paths start at `cwd`). Symbolic links
/// are followed, the last component only when `follow` is set.
///
/// Linux: filename_lookup() / path_lookupat() in fs/namei.c
///
/// # Errors
/// `ENOENT`, `ENOTDIR`, `ENAMETOOLONG` for a component longer than
/// NAME_MAX, or ELOOP for a symlink cycle.
pub fn path_lookup(
    cwd: impl AsRef<[u8]>,
    path: impl AsRef<[u8]>,
    follow: bool,
) -> Result<Arc<Inode>, Errno> {
    path_lookup_resolved(cwd, path, follow).map(|(inode, _)| inode)
}

/// [`path_lookup`], also returning the absolute path the walk ended at,
/// with the symbolic links it followed resolved: the name of the file
/// itself, as Linux's d_path() gives it (an exec'd program's
/// `/proc/<pid>/exe` must not lead back to `/proc/self/exe`).
///
/// # Errors
/// As path_lookup.
pub fn path_lookup_resolved(
    cwd: impl AsRef<[u8]>,
    path: impl AsRef<[u8]>,
    follow: bool,
) -> Result<(Arc<Inode>, Vec<u8>), Errno> {
    let path = path.as_ref();
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    // A trailing slash asks for a directory, through a final symlink too.
    let must_be_dir = path.ends_with(b"/");
    let mut budget = MAXSYMLINKS;
    let (inode, resolved) = walk(
        &normalize(cwd.as_ref(), path),
        follow || must_be_dir,
        &mut budget,
    )?;
    if must_be_dir && !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok((inode, resolved))
}

/// Finds the inode a *at() call names: `name` relative to `dfd`, the
/// final symlink followed unless AT_SYMLINK_NOFOLLOW, and with
/// AT_EMPTY_PATH an empty name meaning `dfd` itself.
///
/// Linux: user_path_at() in fs/namei.c
///
/// # Errors
/// As getname_flags, dirfd_path and path_lookup; `EBADF` for an empty
/// name on a bad descriptor.
pub fn user_path_at(dfd: i32, name: u64, at_flags: u32) -> Result<Arc<Inode>, Errno> {
    use super::stat::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
    let path = getname_flags(name, at_flags & AT_EMPTY_PATH != 0)?;
    if path.is_empty() && dfd != super::open::AT_FDCWD {
        return super::attr::fd_inode(dfd);
    }
    let path: &[u8] = if path.is_empty() { b"." } else { &path };
    let cwd = super::open::dirfd_path(dfd, path)?;
    path_lookup(&cwd, path, at_flags & AT_SYMLINK_NOFOLLOW == 0)
}

/// Walks the absolute path `abs` from the root; returns the inode and
/// the path it was found at, with the symbolic links followed resolved (a
/// relative link's target starts at the directory the link is in).
fn walk(abs: &[u8], follow: bool, budget: &mut usize) -> Result<(Arc<Inode>, Vec<u8>), Errno> {
    let mut dir_path = Vec::from(*b"/");
    let mut inode = root();
    let mut parts = abs
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .peekable();
    while let Some(part) = parts.next() {
        if part.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        may_lookup(&inode)?;
        let next = inode.lookup(part)?;
        let last = parts.peek().is_none();
        (inode, dir_path) = match &next.kind {
            InodeKind::Symlink(target) if !last || follow => {
                *budget = budget.checked_sub(1).ok_or(Errno::ELOOP)?;
                walk(&normalize(&dir_path, target), true, budget)?
            }
            // Linux: a "magic link", whose get_link jumps (nd_jump_link()).
            InodeKind::ProcNsLink(pid, ops) if !last || follow => (
                super::proc::namespaces::proc_ns_get_link(*pid, ops)?,
                normalize(&dir_path, part),
            ),
            InodeKind::ProcFdLink(pid, fd) if !last || follow => {
                super::proc::fd::proc_fd_get_link(*pid, *fd)?
            }
            _ => (next, normalize(&dir_path, part)),
        };
    }
    Ok((inode, dir_path))
}

/// Search permission on a directory the walk looks a name up in. A file
/// that is not a directory fails the lookup itself, with ENOTDIR.
///
/// Linux: may_lookup() in fs/namei.c
///
/// # Errors
/// `EACCES` without search (x) permission.
pub fn may_lookup(dir: &Inode) -> Result<(), Errno> {
    match dir.is_dir() {
        true => inode_permission(dir, MAY_EXEC),
        false => Ok(()),
    }
}

/// Checks `mask` against one class of the mode bits: the owner's when the
/// caller's fsuid owns the file, else the group's when it is in the
/// file's group, else the others'.
///
/// Linux: acl_permission_check() in fs/namei.c
fn acl_permission_check(cred: &Cred, attr: &InodeAttr, mask: u32) -> Result<(), Errno> {
    let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
    let mut mode = attr.mode;
    if attr.uid == cred.fsuid {
        mode >>= 6;
    } else if mask & (mode ^ (mode >> 3)) != 0 && cred.in_group(attr.gid) {
        // Membership matters only where the group's bits and the others'
        // differ.
        mode >>= 3;
    }
    match mask & !mode {
        0 => Ok(()),
        _ => Err(Errno::EACCES),
    }
}

/// Whether the caller may access `inode` as `mask` (MAY_READ, MAY_WRITE,
/// MAY_EXEC) asks: by its mode bits, or else by capability. A directory is
/// readable and searchable with CAP_DAC_READ_SEARCH, and anything with
/// CAP_DAC_OVERRIDE, except that executing a file needs at least one x
/// bit, whoever asks.
///
/// Linux: generic_permission() in fs/namei.c
///
/// # Errors
/// `EACCES`.
pub fn generic_permission(inode: &Inode, mask: u32) -> Result<(), Errno> {
    let attr = *inode.i_attr.lock();
    if acl_permission_check(&current_cred(), &attr, mask).is_ok() {
        return Ok(());
    }
    if attr.mode & S_IFMT == S_IFDIR {
        if mask & MAY_WRITE == 0 && capable(CAP_DAC_READ_SEARCH) {
            return Ok(());
        }
        return match capable(CAP_DAC_OVERRIDE) {
            true => Ok(()),
            false => Err(Errno::EACCES),
        };
    }
    let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
    if mask == MAY_READ && capable(CAP_DAC_READ_SEARCH) {
        return Ok(());
    }
    if (mask & MAY_EXEC == 0 || attr.mode & S_IXUGO != 0) && capable(CAP_DAC_OVERRIDE) {
        return Ok(());
    }
    Err(Errno::EACCES)
}

/// The permission check every file operation makes.
///
/// Linux: inode_permission() in fs/namei.c
/// Differs: no read-only mounts, immutable inodes or security modules,
/// so this is generic_permission; /proc's files keep the owner they were
/// made with (Linux gives `/proc/<pid>` the task's euid).
///
/// # Errors
/// `EACCES`.
pub fn inode_permission(inode: &Inode, mask: u32) -> Result<(), Errno> {
    generic_permission(inode, mask)
}

/// Whether the caller may make a new name in `dir`: write and search
/// permission on it.
///
/// Linux: may_create() in fs/namei.c
///
/// # Errors
/// `EACCES`.
pub fn may_create(dir: &Inode) -> Result<(), Errno> {
    inode_permission(dir, MAY_WRITE | MAY_EXEC)
}

/// Whether the caller may remove (or rename away) `victim`'s name in
/// `dir`: write and search permission on `dir` and, in a sticky
/// directory, ownership of one of the two.
///
/// Linux: may_delete() in fs/namei.c
///
/// # Errors
/// `EACCES` without permission on `dir`; `EPERM` from the sticky bit.
pub fn may_delete(dir: &Inode, victim: &Inode) -> Result<(), Errno> {
    inode_permission(dir, MAY_WRITE | MAY_EXEC)?;
    if check_sticky(dir, victim) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Whether a sticky directory (like /tmp) keeps the caller from removing
/// `inode`: it owns neither the file nor the directory and lacks
/// CAP_FOWNER.
///
/// Linux: check_sticky() in include/linux/fs.h, __check_sticky() in
/// fs/namei.c
pub fn check_sticky(dir: &Inode, inode: &Inode) -> bool {
    if dir.mode() & S_ISVTX == 0 {
        return false;
    }
    let fsuid = current_cred().fsuid;
    if inode.i_attr.lock().uid == fsuid || dir.i_attr.lock().uid == fsuid {
        return false;
    }
    !capable(CAP_FOWNER)
}
