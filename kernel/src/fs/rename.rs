//! rename, renameat and renameat2 (RENAME_NOREPLACE, RENAME_EXCHANGE).
//!
//! Linux: fs/namei.c (do_renameat2, lock_rename, vfs_rename),
//! mm/shmem.c (shmem_rename2, shmem_exchange)

use super::namei::{MAY_WRITE, getname, inode_permission, may_create, may_delete};
use super::open::{dirfd_path, is_dot, lookup_parent};
use super::ramfs::{Inode, InodeKind};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::locking::lockdep::SINGLE_DEPTH_NESTING;
use crate::syscall::SysResult;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Fail with EEXIST rather than replace the new name (Linux: RENAME_NOREPLACE).
pub const RENAME_NOREPLACE: u32 = 1;
/// Swap the two names (Linux: RENAME_EXCHANGE).
pub const RENAME_EXCHANGE: u32 = 2;
/// Leave an overlayfs whiteout at the old name (Linux: RENAME_WHITEOUT).
pub const RENAME_WHITEOUT: u32 = 4;

/// Serializes renames, so that the ancestor check and the move see one
/// directory tree (Linux: sb->s_vfs_rename_mutex, taken by lock_rename()).
static RENAME_LOCK: SpinLock<()> = SpinLock::new(());

type Entries = SpinLock<BTreeMap<Vec<u8>, Arc<Inode>>>;

/// One side of a rename: the directory, the name and whether the path
/// ended in a slash.
struct Side<'a> {
    dir: Arc<Inode>,
    name: &'a [u8],
    slash: bool,
}

/// Linux: SYSCALL_DEFINE5(renameat2) / do_renameat2() in fs/namei.c
///
/// # Errors
/// `EINVAL` for unknown or conflicting flags, and for moving a directory
/// into itself; `EBUSY` for `.`, `..` or `/`; `ENOENT`; `EEXIST` under
/// RENAME_NOREPLACE; `ENOTDIR`/`EISDIR` when a directory would replace a
/// file or the reverse; `ENOTEMPTY` for a non-empty directory replaced;
/// `EXDEV` in or out of /proc and between tmpfs instances (/tmp, /dev/shm,
/// the root); `EACCES`, `EPERM` as may_rename.
/// Differs: RENAME_WHITEOUT (for overlayfs) is EINVAL.
pub fn sys_renameat2(
    olddfd: i32,
    oldname: u64,
    newdfd: i32,
    newname: u64,
    flags: u32,
) -> SysResult {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE
        || flags & RENAME_WHITEOUT != 0
    {
        return Err(Errno::EINVAL);
    }
    let (old_path, new_path) = (getname(oldname)?, getname(newname)?);
    let old = side(olddfd, &old_path)?;
    let new = side(newdfd, &new_path)?;
    let (old_entries, new_entries) = match (&old.dir.kind, &new.dir.kind) {
        (InodeKind::Dir(o), InodeKind::Dir(n)) => (o, n),
        _ => return Err(Errno::EXDEV),
    };
    if !core::ptr::eq(old.dir.i_sb, new.dir.i_sb) {
        return Err(Errno::EXDEV);
    }
    if is_dot(old.name) {
        return Err(Errno::EBUSY);
    }
    if is_dot(new.name) {
        return Err(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    let _rename = RENAME_LOCK.lock();
    let source = old.dir.lookup(old.name)?;
    let target = new.dir.lookup(new.name).ok();
    check_rename(&old, &new, &source, target.as_ref(), flags)?;
    if target.as_ref().is_some_and(|t| Arc::ptr_eq(t, &source)) {
        return Ok(0);
    }
    match target {
        Some(target) if flags & RENAME_EXCHANGE != 0 => {
            exchange(&old, &new, (old_entries, new_entries), source, target)?;
        }
        target => move_entry(&old, &new, (old_entries, new_entries), source, target)?,
    }
    old.dir.touch_mtime();
    new.dir.touch_mtime();
    Ok(0)
}

fn side(dfd: i32, path: &[u8]) -> Result<Side<'_>, Errno> {
    let cwd = dirfd_path(dfd, path)?;
    let (dir, name) = lookup_parent(&cwd, path)?;
    Ok(Side {
        dir,
        name,
        slash: path.ends_with(b"/"),
    })
}

/// The checks between the lookups and the move, in Linux's order.
///
/// Linux: do_renameat2() and vfs_rename() in fs/namei.c
fn check_rename(
    old: &Side,
    new: &Side,
    source: &Arc<Inode>,
    target: Option<&Arc<Inode>>,
    flags: u32,
) -> Result<(), Errno> {
    let exchange = flags & RENAME_EXCHANGE != 0;
    match target {
        Some(_) if flags & RENAME_NOREPLACE != 0 => return Err(Errno::EEXIST),
        None if exchange => return Err(Errno::ENOENT),
        _ => {}
    }
    if !source.is_dir() && (old.slash || (!exchange && new.slash)) {
        return Err(Errno::ENOTDIR);
    }
    if exchange && target.is_some_and(|t| !t.is_dir()) && new.slash {
        return Err(Errno::ENOTDIR);
    }
    // Linux: the "trap" of lock_rename(): neither may hold the other.
    if source.is_dir() && is_ancestor(source, &new.dir)? {
        return Err(Errno::EINVAL);
    }
    if let Some(t) = target.filter(|t| t.is_dir())
        && is_ancestor(t, &old.dir)?
    {
        return Err(if exchange {
            Errno::EINVAL
        } else {
            Errno::ENOTEMPTY
        });
    }
    let Some(target) = target.filter(|t| !Arc::ptr_eq(t, source)) else {
        // Linux: vfs_rename() of a name to another name of the same file
        // succeeds before any permission check.
        return match target {
            Some(_) => Ok(()),
            None => may_rename(old, new, source, None, exchange),
        };
    };
    may_rename(old, new, source, Some(target), exchange)?;
    match (source.is_dir(), target.is_dir()) {
        (true, false) if !exchange => Err(Errno::ENOTDIR),
        (false, true) if !exchange => Err(Errno::EISDIR),
        _ => Ok(()),
    }
}

/// May the caller take the old name away and give the new one? As for
/// unlink and create (or unlink, for a name replaced or exchanged); a
/// directory moving to another parent must be writable too, since its
/// `..` changes.
///
/// Linux: the may_delete(), may_create() and inode_permission() steps
/// of vfs_rename() in fs/namei.c
///
/// # Errors
/// `EACCES`; `EPERM` from a sticky directory.
fn may_rename(
    old: &Side,
    new: &Side,
    source: &Inode,
    target: Option<&Arc<Inode>>,
    exchange: bool,
) -> Result<(), Errno> {
    may_delete(&old.dir, source)?;
    match target {
        Some(t) => may_delete(&new.dir, t)?,
        None => may_create(&new.dir)?,
    }
    if !Arc::ptr_eq(&old.dir, &new.dir) {
        if source.is_dir() {
            inode_permission(source, MAY_WRITE)?;
        }
        if let Some(t) = target.filter(|t| exchange && t.is_dir()) {
            inode_permission(t, MAY_WRITE)?;
        }
    }
    Ok(())
}

/// Whether `dir` is `of` or one of its ancestors, found by searching the
/// tree below `dir` (Linux: is_subdir() walks d_parent upwards; our
/// inodes have no parent pointer).
///
/// # Errors
/// `ENOMEM` when the search's stack cannot grow.
fn is_ancestor(dir: &Arc<Inode>, of: &Arc<Inode>) -> Result<bool, Errno> {
    let mut todo: Vec<Arc<Inode>> = Vec::new();
    let mut at = dir.clone();
    loop {
        if Arc::ptr_eq(&at, of) {
            return Ok(true);
        }
        if let InodeKind::Dir(entries) = &at.kind {
            for sub in entries.lock().values().filter(|i| i.is_dir()) {
                todo.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                todo.push(sub.clone());
            }
        }
        match todo.pop() {
            Some(next) => at = next,
            None => return Ok(false),
        }
    }
}

/// Copies a name into a new key, without aborting on exhaustion.
fn key(name: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut key = Vec::new();
    key.try_reserve_exact(name.len())
        .map_err(|_| Errno::ENOMEM)?;
    key.extend_from_slice(name);
    Ok(key)
}

/// Puts `source` at the new name (replacing `target`), then takes the old
/// name away; link counts follow.
///
/// Linux: shmem_rename2() in mm/shmem.c
/// Differs: the two directories change one after the other under the
/// rename lock, not both under their locks at once; a lookup in between
/// finds the file under both names, never under neither.
fn move_entry(
    old: &Side,
    new: &Side,
    (old_entries, new_entries): (&Entries, &Entries),
    source: Arc<Inode>,
    target: Option<Arc<Inode>>,
) -> Result<(), Errno> {
    let new_key = key(new.name)?;
    {
        let mut entries = new_entries.lock();
        if let Some(InodeKind::Dir(children)) = target.as_ref().map(|t| &t.kind)
            // The parent's entries, then the child's: tree order (Linux: I_MUTEX_CHILD).
            && !children.lock_nested(SINGLE_DEPTH_NESTING).is_empty()
        {
            return Err(Errno::ENOTEMPTY);
        }
        entries.insert(new_key, source.clone());
    }
    {
        let mut entries = old_entries.lock();
        if entries
            .get(old.name)
            .is_some_and(|i| Arc::ptr_eq(i, &source))
        {
            entries.remove(old.name);
        }
    }
    if let Some(target) = target {
        new.dir.drop_link_to(&target);
    }
    if source.is_dir() && !Arc::ptr_eq(&old.dir, &new.dir) {
        old.dir.drop_nlink();
        new.dir.inc_nlink();
    }
    source.i_attr.lock().ctime = super::attr::current_time();
    Ok(())
}

/// Swaps the inodes behind two names; a directory that changes parent
/// moves its `..` count with it.
///
/// Linux: shmem_exchange() in mm/shmem.c
fn exchange(
    old: &Side,
    new: &Side,
    (old_entries, new_entries): (&Entries, &Entries),
    source: Arc<Inode>,
    target: Arc<Inode>,
) -> Result<(), Errno> {
    let (old_key, new_key) = (key(old.name)?, key(new.name)?);
    new_entries.lock().insert(new_key, source.clone());
    old_entries.lock().insert(old_key, target.clone());
    if !Arc::ptr_eq(&old.dir, &new.dir) && source.is_dir() != target.is_dir() {
        let (from, to) = match source.is_dir() {
            true => (&old.dir, &new.dir),
            false => (&new.dir, &old.dir),
        };
        from.drop_nlink();
        to.inc_nlink();
    }
    let now = super::attr::current_time();
    source.i_attr.lock().ctime = now;
    target.i_attr.lock().ctime = now;
    Ok(())
}

/// Linux: SYSCALL_DEFINE2(rename) in fs/namei.c
pub fn sys_rename(oldname: u64, newname: u64) -> SysResult {
    use super::open::AT_FDCWD;
    sys_renameat2(AT_FDCWD, oldname, AT_FDCWD, newname, 0)
}
