//! Open files: what a file descriptor points at.
//!
//! Linux: include/linux/fs.h (struct file, struct file_operations), fs/file_table.c

use super::attr::Timespec64;
use super::open::{O_ACCMODE, O_RDONLY, O_WRONLY};
use super::ramfs::Inode;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// `st_mode` file-type bits (Linux: S_IF*).
pub const S_IFMT: u32 = 0o170000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO (pipe).
pub const S_IFIFO: u32 = 0o010000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;

/// Data to read (Linux: POLLIN).
pub const POLLIN: u16 = 0x001;
/// Room to write (Linux: POLLOUT).
pub const POLLOUT: u16 = 0x004;
/// The other end is gone (Linux: POLLHUP).
pub const POLLHUP: u16 = 0x010;
/// Not an open descriptor (Linux: POLLNVAL).
pub const POLLNVAL: u16 = 0x020;

/// The subset of `struct stat` the kernel knows about a file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kstat {
    /// Inode number.
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
    /// Device number for character devices.
    pub rdev: u64,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access.
    pub atime: Timespec64,
    /// Last change of the contents.
    pub mtime: Timespec64,
    /// Last change of the inode.
    pub ctime: Timespec64,
}

impl Kstat {
    /// What fstat shows of a file with no inode of its own (a pidfd, a
    /// signalfd, an epoll; see FileOperations::anon_inode_name): owner
    /// read and write, one link.
    ///
    /// Linux: anon_inode_mkinode() in fs/anon_inodes.c, the inode they share
    pub fn anon_inode() -> Self {
        Self {
            mode: 0o600,
            nlink: 1,
            ..Self::default()
        }
    }
}

/// The name of a file made by anon_inode_getfile() as `/proc/<pid>/fd`
/// shows it: `anon_inode:` and the name its kind gave, `[eventfd]`.
///
/// Linux: anon_inodefs_dname() in fs/anon_inodes.c
fn anon_inodefs_dname(name: &str) -> Option<alloc::string::String> {
    Some(alloc::format!("anon_inode:{name}"))
}

/// Where an open file was found: its absolute name and its inode (Linux:
/// `struct path`, a mount and a dentry).
/// Differs: a name instead of a dentry: a directory renamed while open
/// keeps its old name for the *at() calls relative to it.
pub struct Path {
    /// The normalized absolute path it was opened by.
    pub name: Vec<u8>,
    /// The inode.
    pub inode: Arc<Inode>,
}

impl Path {
    /// A copy to share, for a mapping of the file.
    ///
    /// # Errors
    /// `ENOMEM`.
    pub fn try_share(&self) -> Result<Arc<Path>, Errno> {
        let mut name = Vec::new();
        name.try_reserve_exact(self.name.len())
            .map_err(|_| Errno::ENOMEM)?;
        name.extend_from_slice(&self.name);
        Arc::try_new(Path {
            name,
            inode: self.inode.clone(),
        })
        .map_err(|_| Errno::ENOMEM)
    }
}

/// A writer's hold on an inode; while one exists, exec of the file fails
/// with ETXTBSY.
///
/// Linux: get_write_access() / put_write_access() in include/linux/fs.h
pub struct WriteAccess(Arc<Inode>);

impl WriteAccess {
    /// # Errors
    /// `ETXTBSY` while the file runs as a program.
    pub fn get(inode: &Arc<Inode>) -> Result<WriteAccess, Errno> {
        inode
            .i_writecount
            .try_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n >= 0).then(|| n.saturating_add(1))
            })
            .map_err(|_| Errno::ETXTBSY)?;
        Ok(WriteAccess(inode.clone()))
    }
}

impl Drop for WriteAccess {
    fn drop(&mut self) {
        self.0.i_writecount.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A running program's hold on its file; while one exists, opening the
/// file for writing fails with ETXTBSY. Each mm running the file holds one.
///
/// Linux: exe_file_deny_write_access() / deny_write_access() in fs/exec.c
/// It keeps the file's name and inode for `/proc/<pid>/maps` (Linux: the
/// f_path of mm->exe_file).
pub struct DenyWriteAccess(Arc<Path>);

impl DenyWriteAccess {
    /// # Errors
    /// `ETXTBSY` while the file is open for writing.
    pub fn get(path: Arc<Path>) -> Result<DenyWriteAccess, Errno> {
        path.inode
            .i_writecount
            .try_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n <= 0).then(|| n.saturating_sub(1))
            })
            .map_err(|_| Errno::ETXTBSY)?;
        Ok(DenyWriteAccess(path))
    }

    /// The program's name and inode.
    pub fn f_path(&self) -> &Arc<Path> {
        &self.0
    }
}

impl Clone for DenyWriteAccess {
    /// A forked mm runs the same file (Linux: dup_mmap()'s
    /// exe_file_deny_write_access()): one more hold, which cannot fail.
    fn clone(&self) -> Self {
        self.0.inode.i_writecount.fetch_sub(1, Ordering::AcqRel);
        DenyWriteAccess(self.0.clone())
    }
}

impl Drop for DenyWriteAccess {
    /// Linux: allow_write_access() in include/linux/fs.h
    fn drop(&mut self) {
        self.0.inode.i_writecount.fetch_add(1, Ordering::AcqRel);
    }
}

/// What a file mapping maps.
pub enum MmapTarget {
    /// The file's page cache (Linux: generic_file_mmap()).
    PageCache(Arc<crate::mm::filemap::AddressSpace>),
    /// Fresh anonymous memory, as /dev/zero gives (Linux: mmap_zero()).
    Anonymous,
}

/// What each kind of open file can do (Linux: `struct file_operations`).
/// Defaults give the errors Linux gives for unsupported operations.
pub trait FileOperations: Send + Sync {
    /// Reads at `pos` for a file opened with `f_flags` (O_NONBLOCK);
    /// returns the bytes read (0 at end of file).
    fn read(&self, _buf: &mut [u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Writes at `pos` for a file opened with `f_flags`; returns the bytes
    /// written.
    fn write(&self, _buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// The name anon_inode_getfile() gave a file that has no inode of its
    /// own (`[eventfd]`); `None` for every other file. stat, pread, lseek
    /// and the `/proc/<pid>/fd` link of such a file follow from it.
    ///
    /// Linux: the `name` argument of anon_inode_getfile() in fs/anon_inodes.c
    fn anon_inode_name(&self) -> Option<&'static str> {
        None
    }
    /// File metadata. The default is the inode all anon-inode files share;
    /// every file with an inode of its own overrides it.
    fn stat(&self) -> Kstat {
        Kstat::anon_inode()
    }
    /// Device control; ENOTTY for anything but a terminal.
    fn ioctl(&self, _cmd: u64, _arg: u64) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }
    /// Whether the file has a position (pipes, terminals and anon-inode
    /// files do not: pread is ESPIPE).
    ///
    /// Linux: FMODE_PREAD, which alloc_file_pseudo() does not set
    fn seekable(&self) -> bool {
        self.anon_inode_name().is_none()
    }
    /// Whether lseek leaves the position alone and returns it, for a
    /// file that has no position but is not a stream either: by default
    /// the anon-inode files (Linux: `f_op->llseek == noop_llseek` in
    /// eventfd, timerfd, signalfd and epoll's fops).
    fn noop_llseek(&self) -> bool {
        self.anon_inode_name().is_some()
    }
    /// Directory entries (name, inode, type) for getdents64.
    fn readdir(&self, _index: usize) -> Result<Option<(alloc::vec::Vec<u8>, u64, u8)>, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Which of POLLIN/POLLOUT would not block now.
    fn poll(&self) -> u16 {
        POLLIN | POLLOUT
    }
    /// Hands `queue` each wait queue that is woken when poll()'s answer may
    /// change, so that a poller sleeps on them; none for a file whose
    /// answer never changes (a file in memory is always ready).
    ///
    /// Linux: the poll_wait() calls inside f_op->poll
    fn poll_wait(&self, _queue: &mut dyn FnMut(&crate::sched::wait::WaitQueueHead)) {}
    /// The process a pidfd names.
    fn pidfd(&self) -> Option<crate::pid::PidNr> {
        None
    }
    /// The task a pidfd names, which may have exited since.
    fn pidfd_task(&self) -> Option<&Arc<crate::task::TaskStruct>> {
        None
    }
    /// The epoll instance this file is (Linux: is_file_epoll()).
    fn eventpoll(&self) -> Option<&super::eventpoll::EventPoll> {
        None
    }
    /// The signalfd this file is (Linux: `f_op == &signalfd_fops`).
    fn signalfd_ctx(&self) -> Option<&super::signalfd::SignalfdCtx> {
        None
    }
    /// What mmap maps for this file (Linux: f_op->mmap); `ENODEV` when it
    /// cannot be mapped.
    fn mmap(&self) -> Result<MmapTarget, Errno> {
        Err(Errno::ENODEV)
    }
    /// The page cache that read() copies from straight to user memory,
    /// for a regular file (Linux: f_mapping, read through
    /// generic_file_read_iter()).
    fn f_mapping(&self) -> Option<&Arc<crate::mm::filemap::AddressSpace>> {
        None
    }
    /// The name of a file that has no path: `pipe:[N]`,
    /// `anon_inode:[pidfd]` (`/proc/<pid>/fd` shows it).
    ///
    /// Linux: dentry_operations.d_dname (pipefs_dname(), anon_inodefs_dname())
    fn d_dname(&self) -> Option<alloc::string::String> {
        self.anon_inode_name().and_then(anon_inodefs_dname)
    }
    /// The lines its kind adds to `/proc/<pid>/fdinfo/<fd>`.
    ///
    /// Linux: file_operations.show_fdinfo
    fn show_fdinfo(&self) -> Option<alloc::string::String> {
        None
    }
    /// The timerfd this file is (Linux: `f_op == &timerfd_fops`).
    fn timerfd_ctx(&self) -> Option<&super::timerfd::TimerfdCtx> {
        None
    }
    /// The pipe behind this file, for F_SETPIPE_SZ (Linux: get_pipe_info()).
    fn get_pipe_info(&self) -> Option<&super::pipe::PipeInodeInfo> {
        None
    }
    /// Called when the last descriptor to this open file is closed.
    fn release(&self) {}
}

/// An open file description (Linux: `struct file`): shared by dup and by
/// fork, so they share the position.
pub struct File {
    /// How to operate on it.
    pub f_op: Arc<dyn FileOperations>,
    /// Current position (Linux: f_pos).
    pub f_pos: SpinLock<u64>,
    /// O_* flags given at open (Linux: f_flags).
    pub f_flags: SpinLock<u32>,
    /// Where it was opened, for files opened by name (Linux: f_path).
    pub f_path: Option<Path>,
    /// The writer's hold of a file opened for writing, given back when the
    /// file goes (Linux: FMODE_WRITER, put_write_access() in __fput()).
    #[expect(dead_code, reason = "held only for its Drop")]
    f_write: Option<WriteAccess>,
}

/// Open files in the system (Linux: nr_files, the first number of
/// /proc/sys/fs/file-nr).
pub static NR_FILES: AtomicUsize = AtomicUsize::new(0);
/// Fewest open files the system allows (Linux: NR_FILE).
const NR_FILE: usize = 8192;

/// The most open files the system allows: about 10 % of memory at 1 KiB a
/// file, at least NR_FILE (/proc/sys/fs/file-max).
///
/// Linux: files_maxfiles_init() in fs/file_table.c
pub fn files_stat_max_files() -> usize {
    (crate::mm::page_alloc::totalram_pages() * 4 / 10).max(NR_FILE)
}

impl File {
    /// A new open file at position 0.
    ///
    /// Linux: alloc_empty_file() in fs/file_table.c
    ///
    /// # Errors
    /// `ENFILE` when the system has file-max open files; `ENOMEM`.
    pub fn new(f_op: Arc<dyn FileOperations>, f_flags: u32) -> Result<Arc<File>, Errno> {
        File::alloc(f_op, f_flags, None, None)
    }

    /// A new open file found at `path`, holding `write` if opened for
    /// writing.
    ///
    /// Linux: alloc_empty_file() then do_dentry_open()'s f_path and
    /// FMODE_WRITER
    ///
    /// # Errors
    /// As File::new.
    pub fn open(
        f_op: Arc<dyn FileOperations>,
        f_flags: u32,
        path: Path,
        write: Option<WriteAccess>,
    ) -> Result<Arc<File>, Errno> {
        File::alloc(f_op, f_flags, Some(path), write)
    }

    fn alloc(
        f_op: Arc<dyn FileOperations>,
        f_flags: u32,
        f_path: Option<Path>,
        f_write: Option<WriteAccess>,
    ) -> Result<Arc<File>, Errno> {
        if NR_FILES.fetch_add(1, Ordering::Relaxed) >= files_stat_max_files() {
            NR_FILES.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::ENFILE);
        }
        Arc::try_new(File {
            f_op,
            f_pos: SpinLock::new(0),
            f_flags: SpinLock::new(f_flags),
            f_path,
            f_write,
        })
        .map_err(|_| {
            NR_FILES.fetch_sub(1, Ordering::Relaxed);
            Errno::ENOMEM
        })
    }

    /// Opened with read access (Linux: FMODE_READ, set from O_ACCMODE).
    pub fn readable(&self) -> bool {
        *self.f_flags.lock() & O_ACCMODE != O_WRONLY
    }

    /// Opened with write access (Linux: FMODE_WRITE).
    pub fn writable(&self) -> bool {
        *self.f_flags.lock() & O_ACCMODE != O_RDONLY
    }
}

impl Drop for File {
    /// Linux: __fput() in fs/file_table.c
    fn drop(&mut self) {
        self.f_op.release();
        NR_FILES.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::vec::Vec;

    ktest! {
        fn open_files_stop_at_file_max_with_enfile_and_come_back() {
            let null: Arc<dyn FileOperations> = Arc::new(crate::drivers::mem::Null);
            let mut held = Vec::new();
            kassert!(held.try_reserve(files_stat_max_files()).is_ok());
            let err = loop {
                match File::new(null.clone(), O_RDONLY) {
                    Ok(file) => held.push(file),
                    Err(e) => break e,
                }
            };
            kassert_eq!(err, Errno::ENFILE);
            kassert_eq!(NR_FILES.load(Ordering::Relaxed), files_stat_max_files());
            held.pop();
            kassert!(File::new(null, O_RDONLY).is_ok());
        }
    }
}
