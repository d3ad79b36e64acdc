//! Turning a path into an inode: walk from the root or the working
//! directory one component at a time, following symbolic links. Paths are
//! bytes: a name is anything without '/' and NUL, as in Linux.
//!
//! Linux: fs/namei.c (getname, path_lookupat, link_path_walk)

use super::ramfs::{Inode, InodeKind, root};
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
    let path = path.as_ref();
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    // A trailing slash asks for a directory, through a final symlink too.
    let must_be_dir = path.ends_with(b"/");
    let mut budget = MAXSYMLINKS;
    let inode = walk(
        &normalize(cwd.as_ref(), path),
        follow || must_be_dir,
        &mut budget,
    )?;
    if must_be_dir && !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(inode)
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

fn walk(abs: &[u8], follow: bool, budget: &mut usize) -> Result<Arc<Inode>, Errno> {
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
        let next = inode.lookup(part)?;
        let last = parts.peek().is_none();
        inode = match &next.kind {
            InodeKind::Symlink(target) if !last || follow => {
                *budget = budget.checked_sub(1).ok_or(Errno::ELOOP)?;
                walk(&normalize(&dir_path, target), true, budget)?
            }
            // Linux: a "magic link", whose get_link jumps (nd_jump_link()).
            InodeKind::ProcNsLink(pid, ops) if !last || follow => {
                super::proc::namespaces::proc_ns_get_link(*pid, ops)?
            }
            _ => next,
        };
        if !last {
            dir_path = normalize(&dir_path, part);
        }
    }
    Ok(inode)
}
