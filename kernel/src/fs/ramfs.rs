//! The root file system: an in-memory tree filled from the initramfs. An
//! initramfs file's bytes stay where the bootloader loaded the archive
//! until a read, mmap or exec first needs a page: it is then read into the
//! file's page cache once, and served from there ever after.
//!
//! Linux: fs/ramfs/inode.c, init/noinitramfs.c (the default /dev/console)
//! Differs: initramfs files are read-only once unpacked.

use super::attr::{InodeAttr, current_time};
use super::file::{FileOperations, Kstat, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG};
use super::shmem::{DEV_SHM_SB, ROOTFS_SB, ShmemSbInfo, TMP_SB};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::locking::lockdep::SINGLE_DEPTH_NESTING;
use crate::mm::filemap::AddressSpace;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use spin::Once;

/// What an inode holds.
pub enum InodeKind {
    /// A regular file from the initramfs (read-only), its page cache.
    File(Arc<AddressSpace>),
    /// A regular file created at run time (tmpfs), its page cache.
    MemFile(Arc<AddressSpace>),
    /// A directory's entries.
    Dir(SpinLock<BTreeMap<Vec<u8>, Arc<Inode>>>),
    /// A symbolic link's target.
    Symlink(Vec<u8>),
    /// A character device, opened through the device table.
    CharDev(u32, u32),
    /// A named pipe: the pipe its open ends share while any is open
    /// (Linux: inode->i_pipe).
    Fifo(SpinLock<alloc::sync::Weak<super::pipe::PipeInodeInfo>>),
    /// A /proc file whose text is generated at open.
    Proc(fn() -> alloc::string::String),
    /// A writable /proc file with its show and write functions.
    ProcRw(&'static super::proc::ProcRwOps),
    /// A writable /proc/sys file holding an integer.
    Sysctl(&'static crate::sysctl::CtlTable),
    /// /proc itself: fixed entries plus one directory per live process.
    ProcRoot(SpinLock<BTreeMap<Vec<u8>, Arc<Inode>>>),
    /// `/proc/<pid>` or a directory below it.
    ProcPid(super::proc::ProcDir),
    /// A file of `/proc/<pid>`, generated at open.
    ProcPidFile(crate::pid::PidNr, super::proc::PidEntry),
    /// A link of `/proc/<pid>/ns`: reads as `uts:[N]` and leads to the
    /// nsfs inode of the task's namespace of that kind.
    ProcNsLink(crate::pid::PidNr, &'static super::nsfs::ProcNsOperations),
    /// A link of `/proc/<pid>/fd`: reads as the open file's path and leads
    /// to the open file's own inode, deleted or not.
    ProcFdLink(crate::pid::PidNr, i32),
    /// A namespace's nsfs inode, which setns(2) takes an open file of.
    Nsfs(super::nsfs::NsRef),
}

/// A file-system object (Linux: `struct inode`).
pub struct Inode {
    /// Inode number.
    pub ino: u64,
    /// Type and permission bits, owner, link count and times.
    pub i_attr: SpinLock<InodeAttr>,
    /// Open descriptors writing the file (> 0), or programs running it
    /// (< 0); never both (Linux: i_writecount).
    pub i_writecount: AtomicI32,
    /// Contents.
    pub kind: InodeKind,
    /// The tmpfs instance it belongs to (Linux: i_sb): the root file
    /// system's unless made in /tmp or /dev/shm or below.
    pub i_sb: &'static ShmemSbInfo,
    /// Holds one of the inodes counted in `i_sb`.
    reserved: bool,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);
static ROOT: Once<Arc<Inode>> = Once::new();

/// A new inode for open(O_CREAT), mkdir, mknod and symlink in a directory
/// of the tmpfs instance `sb`, which holds at most `max_inodes` of them.
///
/// Linux: shmem_get_inode() / shmem_reserve_inode() in mm/shmem.c
///
/// # Errors
/// `ENOSPC` past the limit; `ENOMEM`.
pub fn shmem_get_inode(
    sb: &'static ShmemSbInfo,
    kind: InodeKind,
    perm: u32,
) -> Result<Arc<Inode>, Errno> {
    sb.reserve_inode()?;
    let mut inode = Inode::build(kind, perm);
    inode.i_sb = sb;
    inode.reserved = true;
    Arc::try_new(inode).map_err(|_| Errno::ENOMEM)
}

impl Drop for Inode {
    /// Linux: shmem_free_inode() in mm/shmem.c
    fn drop(&mut self) {
        if self.reserved {
            self.i_sb.free_inode();
        }
    }
}

impl Inode {
    /// A new inode of `kind` with permission bits `perm`.
    pub fn new(kind: InodeKind, perm: u32) -> Arc<Inode> {
        Arc::new(Inode::build(kind, perm))
    }

    fn build(kind: InodeKind, perm: u32) -> Inode {
        let ty = match kind {
            InodeKind::File(_) | InodeKind::MemFile(_) => S_IFREG,
            InodeKind::Dir(_) => S_IFDIR,
            InodeKind::Symlink(_) => S_IFLNK,
            InodeKind::CharDev(..) => S_IFCHR,
            InodeKind::Fifo(_) => S_IFIFO,
            InodeKind::Proc(_)
            | InodeKind::ProcRw(_)
            | InodeKind::ProcPidFile(..)
            | InodeKind::Sysctl(_)
            | InodeKind::Nsfs(_) => S_IFREG,
            InodeKind::ProcNsLink(..) | InodeKind::ProcFdLink(..) => S_IFLNK,
            InodeKind::ProcRoot(_) | InodeKind::ProcPid(_) => S_IFDIR,
        };
        let now = current_time();
        Inode {
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            i_attr: SpinLock::new(InodeAttr {
                mode: ty | (perm & !S_IFMT),
                uid: 0,
                gid: 0,
                nlink: if ty == S_IFDIR { 2 } else { 1 },
                atime: now,
                mtime: now,
                ctime: now,
            }),
            i_writecount: AtomicI32::new(0),
            kind,
            i_sb: &ROOTFS_SB,
            reserved: false,
        }
    }

    /// A new inode whose number is `ino`, as an nsfs inode's is its
    /// namespace's.
    pub fn new_with_ino(kind: InodeKind, perm: u32, ino: u64) -> Arc<Inode> {
        let mut inode = Inode::build(kind, perm);
        inode.ino = ino;
        Arc::new(inode)
    }

    /// An empty directory.
    pub fn new_dir(perm: u32) -> Arc<Inode> {
        Inode::new(InodeKind::Dir(SpinLock::new(BTreeMap::new())), perm)
    }

    /// Looks `name` up in this directory.
    ///
    /// # Errors
    /// `ENOTDIR` if this is not a directory, `ENOENT` if there is no such entry.
    pub fn lookup(&self, name: &[u8]) -> Result<Arc<Inode>, Errno> {
        match &self.kind {
            InodeKind::Dir(entries) => entries.lock().get(name).cloned().ok_or(Errno::ENOENT),
            InodeKind::ProcRoot(_) | InodeKind::ProcPid(_) => super::proc::proc_lookup(self, name),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Adds (or replaces) an entry of this directory for a new inode, whose
    /// link count already counts this name; a subdirectory's `..` adds one
    /// to ours (a hard link adds its own count first, in vfs_link).
    ///
    /// # Errors
    /// `ENOTDIR` if this is not a directory; `ENOMEM`.
    pub fn link(&self, name: &[u8], inode: Arc<Inode>) -> Result<(), Errno> {
        let (InodeKind::Dir(entries) | InodeKind::ProcRoot(entries)) = &self.kind else {
            return Err(Errno::ENOTDIR);
        };
        let mut key = Vec::new();
        key.try_reserve_exact(name.len())
            .map_err(|_| Errno::ENOMEM)?;
        key.extend_from_slice(name);
        if inode.is_dir() {
            self.inc_nlink();
        }
        if let Some(old) = entries.lock().insert(key, inode) {
            self.drop_link_to(&old);
        }
        self.touch_mtime();
        Ok(())
    }

    /// Adds an entry for a new name, atomically with the check that the
    /// name is free (Linux: the lookup and create under the parent's
    /// i_rwsem in lookup_open()/filename_create()).
    ///
    /// # Errors
    /// `EEXIST` if the name exists; `ENOTDIR` if this is not a directory
    /// that takes new names (/proc does not); `ENOMEM`.
    pub fn link_new(&self, name: &[u8], inode: Arc<Inode>) -> Result<(), Errno> {
        let InodeKind::Dir(entries) = &self.kind else {
            return Err(if self.is_dir() {
                Errno::EACCES
            } else {
                Errno::ENOTDIR
            });
        };
        let mut key = Vec::new();
        key.try_reserve_exact(name.len())
            .map_err(|_| Errno::ENOMEM)?;
        key.extend_from_slice(name);
        let mut entries = entries.lock();
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        if inode.is_dir() {
            self.inc_nlink();
        }
        entries.insert(key, inode);
        drop(entries);
        self.touch_mtime();
        Ok(())
    }

    /// Takes away the link count a removed entry of this directory held:
    /// one of the inode's, and for a directory its own and our `..` one.
    ///
    /// Linux: drop_nlink() as shmem_unlink() / shmem_rmdir() use it
    pub fn drop_link_to(&self, inode: &Inode) {
        if inode.is_dir() {
            self.drop_nlink();
            inode.i_attr.lock().nlink = 0;
        } else {
            inode.drop_nlink();
        }
        inode.i_attr.lock().ctime = current_time();
    }

    /// Removes the entry `name` of this directory; `dir` says whether it
    /// must be a directory (rmdir) or must not be (unlink).
    ///
    /// # Errors
    /// `ENOENT`, `EISDIR`/`ENOTDIR` for the wrong kind, `ENOTEMPTY` for a
    /// directory with entries, `EBUSY` for rmdir of /proc (a mount point
    /// in Linux).
    pub fn unlink(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let InodeKind::Dir(entries) = &self.kind else {
            return Err(Errno::ENOTDIR);
        };
        let mut entries = entries.lock();
        let inode = entries.get(name).ok_or(Errno::ENOENT)?;
        match (dir, &inode.kind) {
            (false, _) if inode.is_dir() => return Err(Errno::EISDIR),
            (true, InodeKind::ProcRoot(_)) => return Err(Errno::EBUSY),
            // The parent's entries, then the child's: tree order (Linux: I_MUTEX_CHILD).
            (true, InodeKind::Dir(children))
                if !children.lock_nested(SINGLE_DEPTH_NESTING).is_empty() =>
            {
                return Err(Errno::ENOTEMPTY);
            }
            (true, InodeKind::Dir(_)) => {}
            (true, _) => return Err(Errno::ENOTDIR),
            _ => {}
        }
        if let Some(old) = entries.remove(name) {
            drop(entries);
            self.drop_link_to(&old);
            self.touch_mtime();
        }
        Ok(())
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        matches!(
            self.kind,
            InodeKind::Dir(_) | InodeKind::ProcRoot(_) | InodeKind::ProcPid(_)
        )
    }

    /// Metadata for stat.
    ///
    /// Linux: generic_fillattr() in fs/stat.c
    pub fn kstat(&self) -> Kstat {
        let (size, rdev, blocks) = match &self.kind {
            InodeKind::File(data) => (data.i_size(), 0, data.i_size().div_ceil(512)),
            InodeKind::MemFile(data) => (data.i_size(), 0, data.nrpages() as u64 * 8),
            InodeKind::Symlink(target) => (target.len() as u64, 0, 0),
            InodeKind::CharDev(major, minor) => (0, ((*major as u64) << 8) | *minor as u64, 0),
            InodeKind::Dir(_) => (4096, 0, 8),
            _ => (0, 0, 0),
        };
        let attr = *self.i_attr.lock();
        Kstat {
            ino: self.ino,
            mode: attr.mode,
            size,
            rdev,
            nlink: attr.nlink,
            uid: attr.uid,
            gid: attr.gid,
            blocks,
            atime: attr.atime,
            mtime: attr.mtime,
            ctime: attr.ctime,
        }
    }
}

/// The root directory.
pub fn root() -> Arc<Inode> {
    ROOT.call_once(|| {
        let root = Inode::new_dir(0o755);
        // The root is its own parent: its `..` counts too.
        root.inc_nlink();
        root
    })
    .clone()
}

/// The root directory of the tmpfs instance `sb`, mode 1777 as a tmpfs
/// mount without mode= has it; linking it into a directory mounts it there
/// (over what that name held, as a mount hides it).
///
/// Linux: shmem_fill_super() in mm/shmem.c
///
/// # Errors
/// `ENOSPC`, `ENOMEM`.
pub fn shmem_fill_super(sb: &'static ShmemSbInfo) -> Result<Arc<Inode>, Errno> {
    shmem_get_inode(sb, InodeKind::Dir(Default::default()), 0o1777)
}

/// Creates /dev with console, tty, null, zero, full, random, urandom and kmsg, like the kernel's default
/// rootfs does for /dev/console, and mounts the tmpfs instances of /tmp
/// and /dev/shm.
///
/// Linux: default_rootfs() in init/noinitramfs.c
pub fn default_rootfs() {
    let dev = root().lookup(b"dev").unwrap_or_else(|_| {
        let dev = Inode::new_dir(0o755);
        let _ = root().link(b"dev", dev.clone());
        dev
    });
    for (name, major, minor) in [
        (&b"console"[..], 5, 1),
        (b"tty", 5, 0),
        (b"null", 1, 3),
        (b"zero", 1, 5),
        (b"full", 1, 7),
        (b"random", 1, 8),
        (b"urandom", 1, 9),
        (b"kmsg", 1, 11),
    ] {
        if dev.lookup(name).is_err() {
            let _ = dev.link(name, Inode::new(InodeKind::CharDev(major, minor), 0o666));
        }
    }
    if let Ok(tmp) = shmem_fill_super(&TMP_SB) {
        let _ = root().link(b"tmp", tmp);
    }
    if let Ok(shm) = shmem_fill_super(&DEV_SHM_SB) {
        let _ = dev.link(b"shm", shm);
    }
}

/// An open regular file of the ramfs.
pub struct RamFile(pub Arc<Inode>);

impl FileOperations for RamFile {
    fn read(&self, buf: &mut [u8], pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        match &self.0.kind {
            InodeKind::File(data) | InodeKind::MemFile(data) => data.filemap_read(buf, pos),
            InodeKind::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn f_mapping(&self) -> Option<&Arc<AddressSpace>> {
        match &self.0.kind {
            InodeKind::File(data) | InodeKind::MemFile(data) => Some(data),
            _ => None,
        }
    }

    fn write(&self, buf: &[u8], pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        let InodeKind::MemFile(data) = &self.0.kind else {
            return Err(Errno::EBADF);
        };
        super::attr::file_remove_privs(&self.0);
        let n = super::shmem::shmem_write(data, buf, pos)?;
        // Linux: file_update_time() in generic_perform_write's caller
        self.0.touch_mtime();
        Ok(n)
    }

    fn stat(&self) -> Kstat {
        self.0.kstat()
    }

    fn mmap(&self) -> Result<super::file::MmapTarget, Errno> {
        match &self.0.kind {
            InodeKind::File(data) | InodeKind::MemFile(data) => {
                Ok(super::file::MmapTarget::PageCache(data.clone()))
            }
            _ => Err(Errno::ENODEV),
        }
    }

    fn readdir(&self, index: usize) -> Result<Option<(Vec<u8>, u64, u8)>, Errno> {
        match &self.0.kind {
            InodeKind::Dir(entries) => {
                let entries = entries.lock();
                Ok(entries
                    .iter()
                    .nth(index)
                    .map(|(name, inode)| (name.clone(), inode.ino, dirent_type(inode.mode()))))
            }
            InodeKind::ProcRoot(_) | InodeKind::ProcPid(_) => {
                Ok(super::proc::proc_readdir(&self.0, index))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }
}

/// The `d_type` of a directory entry (Linux: DT_* = S_IFMT >> 12).
fn dirent_type(mode: u32) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn run_time_inodes_stop_at_the_tmpfs_limit_with_enospc_and_come_back() {
            let mut held = Vec::new();
            kassert!(held.try_reserve(crate::mm::page_alloc::totalram_pages() / 2).is_ok());
            let err = loop {
                match shmem_get_inode(&TMP_SB, InodeKind::Dir(Default::default()), 0o755) {
                    Ok(inode) => held.push(inode),
                    Err(e) => break e,
                }
            };
            kassert_eq!(err, Errno::ENOSPC);
            kassert!(!held.is_empty());
            held.pop();
            kassert!(shmem_get_inode(&DEV_SHM_SB, InodeKind::Dir(Default::default()), 0o755).is_ok(), "another instance has room");
            kassert!(shmem_get_inode(&TMP_SB, InodeKind::Dir(Default::default()), 0o755).is_ok());
        }
    }
}
