//! statfs and fstatfs: what a file system holds and how much room is left.
//! Every file lives in memory: /proc is procfs; everything else belongs to
//! a tmpfs instance (the root, /tmp, /dev/shm), whose own limits and use
//! statfs reports.
//!
//! Linux: fs/statfs.c (do_statfs_native), mm/shmem.c (shmem_statfs)
//! Differs: fstatfs of a descriptor opened by no name (a pidfd, a
//! signalfd) reports the root's tmpfs (Linux: anon_inodefs).

use super::namei::path_lookup;
use super::open::dirfd_path;
use super::ramfs::{Inode, InodeKind};
use super::shmem::ShmemSbInfo;
use crate::mm::PAGE_SIZE;
use crate::mm::uaccess::copy_to_user;
use crate::syscall::SysResult;

/// tmpfs's f_type (Linux: TMPFS_MAGIC in include/uapi/linux/magic.h).
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
/// procfs's f_type (Linux: PROC_SUPER_MAGIC).
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// pipefs's f_type (Linux: PIPEFS_MAGIC).
pub const PIPEFS_MAGIC: i64 = 0x5049_5045;
/// f_flags is valid (Linux: ST_VALID).
const ST_VALID: i64 = 0x0020;
/// Longest name (Linux: NAME_MAX).
const NAME_MAX: i64 = 255;

/// The `struct statfs` of x86-64 (Linux: include/uapi/asm-generic/statfs.h).
#[derive(Default)]
struct Kstatfs {
    f_type: i64,
    f_bsize: i64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_namelen: i64,
    f_frsize: i64,
    f_flags: i64,
}

impl Kstatfs {
    /// The 120 bytes user space sees (f_fsid and f_spare zero).
    fn to_bytes(&self) -> [u8; 120] {
        let mut out = [0u8; 120];
        let words: [u64; 7] = [
            self.f_type as u64,
            self.f_bsize as u64,
            self.f_blocks,
            self.f_bfree,
            self.f_bavail,
            self.f_files,
            self.f_ffree,
        ];
        for (i, w) in words.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        // f_fsid (8 bytes) at 56 stays zero.
        for (i, w) in [self.f_namelen, self.f_frsize, self.f_flags]
            .iter()
            .enumerate()
        {
            out[64 + i * 8..72 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// A file system of `magic` with no blocks to count (procfs, pipefs).
fn simple_statfs(magic: i64) -> Kstatfs {
    Kstatfs {
        f_type: magic,
        f_bsize: PAGE_SIZE as i64,
        f_namelen: NAME_MAX,
        f_frsize: PAGE_SIZE as i64,
        f_flags: ST_VALID,
        ..Default::default()
    }
}

/// A tmpfs instance: blocks and inodes against its limits.
///
/// Linux: shmem_statfs() in mm/shmem.c
fn shmem_statfs(sb: &ShmemSbInfo) -> Kstatfs {
    let max = sb.max_blocks() as u64;
    let free = max.saturating_sub(sb.used_blocks() as u64);
    let files = sb.max_inodes() as u64;
    Kstatfs {
        f_blocks: max,
        f_bfree: free,
        f_bavail: free,
        f_files: files,
        f_ffree: files.saturating_sub(sb.used_inodes() as u64),
        ..simple_statfs(TMPFS_MAGIC)
    }
}

/// What statfs says of the file system `inode` is on.
fn inode_statfs(inode: &Inode) -> Kstatfs {
    match inode.kind {
        InodeKind::Proc(_)
        | InodeKind::ProcRw(_)
        | InodeKind::Sysctl(_)
        | InodeKind::ProcRoot(_)
        | InodeKind::ProcPid(_)
        | InodeKind::ProcPidFile(..) => simple_statfs(PROC_SUPER_MAGIC),
        _ => shmem_statfs(inode.i_sb),
    }
}

/// Linux: SYSCALL_DEFINE2(statfs) in fs/statfs.c
///
/// # Errors
/// As path_lookup; `EFAULT`.
pub fn sys_statfs(pathname: u64, buf: u64) -> SysResult {
    let path = super::namei::getname(pathname)?;
    let cwd = dirfd_path(super::open::AT_FDCWD, &path)?;
    let inode = path_lookup(&cwd, &path, true)?;
    copy_to_user(buf, &inode_statfs(&inode).to_bytes()).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE2(fstatfs) in fs/statfs.c
///
/// # Errors
/// `EBADF`, `EFAULT`.
pub fn sys_fstatfs(fd: i32, buf: u64) -> SysResult {
    let file = super::read_write::fdget(fd)?;
    let st = match (&file.f_path, file.f_op.stat().mode & super::file::S_IFMT) {
        (Some(path), _) => inode_statfs(&path.inode),
        (None, super::file::S_IFIFO) => simple_statfs(PIPEFS_MAGIC),
        (None, _) => shmem_statfs(&super::shmem::ROOTFS_SB),
    };
    copy_to_user(buf, &st.to_bytes()).map(|()| 0)
}
