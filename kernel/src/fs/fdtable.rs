//! The table of open files, shared between threads under CLONE_FILES and
//! copied by fork otherwise.
//!
//! Linux: fs/file.c, include/linux/fdtable.h

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// An open file description (Linux: `struct file`). For now only its name;
/// file operations arrive with user space.
pub struct File {
    /// What the file is, for listings.
    pub name: &'static str,
}

/// A task's open files (Linux: `struct files_struct`).
#[derive(Default)]
pub struct FilesStruct {
    /// Descriptor -> open file; `None` marks a free slot (Linux: fdt->fd).
    pub fdt: SpinLock<Vec<Option<Arc<File>>>>,
}

impl FilesStruct {
    /// Open descriptors.
    pub fn count(&self) -> usize {
        self.fdt.lock().iter().filter(|f| f.is_some()).count()
    }
}

/// Copies a descriptor table: the new table points at the same open files.
///
/// Linux: dup_fd() in fs/file.c
///
/// # Errors
/// `ENOMEM` when the copy cannot be allocated.
pub fn dup_fd(old: &FilesStruct) -> Result<Arc<FilesStruct>, Errno> {
    let old = old.fdt.lock();
    let mut fdt = Vec::new();
    fdt.try_reserve_exact(old.len()).map_err(|_| Errno::ENOMEM)?;
    fdt.extend(old.iter().cloned());
    Arc::try_new(FilesStruct { fdt: SpinLock::new(fdt) }).map_err(|_| Errno::ENOMEM)
}
