//! Open files: what a file descriptor points at.
//!
//! Linux: include/linux/fs.h (struct file, struct file_operations), fs/file_table.c

use super::open::{O_ACCMODE, O_RDONLY, O_WRONLY};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;

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
    /// File metadata.
    fn stat(&self) -> Kstat;
    /// Device control; ENOTTY for anything but a terminal.
    fn ioctl(&self, _cmd: u64, _arg: u64) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }
    /// Whether the file has a position (pipes and terminals do not: ESPIPE).
    fn seekable(&self) -> bool {
        true
    }
    /// Directory entries (name, inode, type) for getdents64.
    fn readdir(&self, _index: usize) -> Result<Option<(alloc::vec::Vec<u8>, u64, u8)>, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Which of POLLIN/POLLOUT would not block now.
    fn poll(&self) -> u16 {
        POLLIN | POLLOUT
    }
    /// The process a pidfd names.
    fn pidfd(&self) -> Option<crate::pid::PidNr> {
        None
    }
    /// The file's bytes, if it can be mapped with mmap.
    fn mmap_data(&self) -> Option<&'static [u8]> {
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
}

impl File {
    /// A new open file at position 0.
    pub fn new(f_op: Arc<dyn FileOperations>, f_flags: u32) -> Arc<File> {
        Arc::new(File {
            f_op,
            f_pos: SpinLock::new(0),
            f_flags: SpinLock::new(f_flags),
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
    }
}
