//! Working directory and umask, shared under CLONE_FS.
//!
//! Linux: fs/fs_struct.c, include/linux/fs_struct.h

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

/// A task's file-system context (Linux: `struct fs_struct`).
pub struct FsStruct {
    /// File mode creation mask.
    pub umask: AtomicU32,
    /// Current working directory (Linux: pwd, a path; here its bytes).
    pub pwd: SpinLock<Vec<u8>>,
}

impl FsStruct {
    /// The root directory with umask 022, as init starts.
    pub fn new_root() -> Result<Arc<FsStruct>, Errno> {
        let mut pwd = Vec::new();
        pwd.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        pwd.push(b'/');
        Arc::try_new(FsStruct {
            umask: AtomicU32::new(0o022),
            pwd: SpinLock::new(pwd),
        })
        .map_err(|_| Errno::ENOMEM)
    }
}

/// Copies an fs_struct for a child that does not share it.
///
/// Linux: copy_fs_struct() in fs/fs_struct.c
///
/// # Errors
/// `ENOMEM` when the copy cannot be allocated.
pub fn copy_fs_struct(old: &FsStruct) -> Result<Arc<FsStruct>, Errno> {
    let old_pwd = old.pwd.lock();
    let mut pwd = Vec::new();
    pwd.try_reserve_exact(old_pwd.len())
        .map_err(|_| Errno::ENOMEM)?;
    pwd.extend_from_slice(&old_pwd);
    let umask = AtomicU32::new(old.umask.load(Ordering::Relaxed));
    Arc::try_new(FsStruct {
        umask,
        pwd: SpinLock::new(pwd),
    })
    .map_err(|_| Errno::ENOMEM)
}
