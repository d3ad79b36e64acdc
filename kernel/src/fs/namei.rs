//! Turning a path into an inode: walk from the root or the working
//! directory one component at a time, following symbolic links.
//!
//! Linux: fs/namei.c (path_lookupat, link_path_walk)

use super::ramfs::{Inode, InodeKind, root};
use crate::errno::Errno;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Symbolic links followed in one lookup before ELOOP (Linux: MAXSYMLINKS).
const MAXSYMLINKS: usize = 40;

/// Makes `path` absolute against `cwd` and removes `.`, `..` and repeated
/// slashes, without touching the file system.
pub fn normalize(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        [path, ""]
    } else {
        [cwd, path]
    };
    for part in joined.iter().flat_map(|p| p.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    out
}

/// Finds the inode at `path` (relative paths start at `cwd`). Symbolic links
/// are followed, the last component only when `follow` is set.
///
/// Linux: filename_lookup() / path_lookupat() in fs/namei.c
///
/// # Errors
/// `ENOENT`, `ENOTDIR`, or ELOOP for a symlink cycle.
pub fn path_lookup(cwd: &str, path: &str, follow: bool) -> Result<Arc<Inode>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut budget = MAXSYMLINKS;
    walk(&normalize(cwd, path), follow, &mut budget)
}

fn walk(abs: &str, follow: bool, budget: &mut usize) -> Result<Arc<Inode>, Errno> {
    let mut dir_path = String::from("/");
    let mut inode = root();
    let parts: Vec<&str> = abs.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let next = inode.lookup(part)?;
        let last = i + 1 == parts.len();
        inode = match &next.kind {
            InodeKind::Symlink(target) if !last || follow => {
                *budget = budget.checked_sub(1).ok_or(Errno::ELOOP)?;
                walk(&normalize(&dir_path, target), true, budget)?
            }
            _ => next,
        };
        if !last {
            dir_path = normalize(&dir_path, part);
        }
    }
    Ok(inode)
}
