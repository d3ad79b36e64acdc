//! The table of open files, shared between threads under CLONE_FILES and
//! copied by fork otherwise. Each slot holds an open file and its
//! close-on-exec flag.
//!
//! Linux: fs/file.c, include/linux/fdtable.h

use super::file::File;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// How many descriptors the current process may have: its RLIMIT_NOFILE,
/// which never exceeds nr_open. Every descriptor is below it.
pub fn nofile_limit() -> usize {
    let limit = crate::resource::rlimit(crate::resource::RLIMIT_NOFILE);
    usize::try_from(limit.min(crate::resource::NR_OPEN)).unwrap_or(usize::MAX)
}

/// One descriptor slot.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file.
    pub file: Arc<File>,
    /// Closed by execve (Linux: the close_on_exec bitmap).
    pub cloexec: bool,
}

/// A task's open files (Linux: `struct files_struct`).
#[derive(Default)]
pub struct FilesStruct {
    /// Descriptor -> open file; `None` marks a free slot (Linux: fdt->fd).
    pub fdt: SpinLock<Vec<Option<FdEntry>>>,
}

impl FilesStruct {
    /// Open descriptors.
    pub fn count(&self) -> usize {
        self.fdt.lock().iter().filter(|f| f.is_some()).count()
    }

    /// The open file behind `fd` (Linux: fget()).
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    pub fn fget(&self, fd: i32) -> Result<Arc<File>, Errno> {
        let fdt = self.fdt.lock();
        usize::try_from(fd)
            .ok()
            .and_then(|i| fdt.get(i))
            .and_then(|e| e.as_ref())
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor not below `min`, and
    /// below the caller's RLIMIT_NOFILE.
    ///
    /// Linux: alloc_fd() + fd_install() in fs/file.c
    ///
    /// # Errors
    /// `EMFILE` when every descriptor below the limit is in use, `ENOMEM`
    /// when the table cannot grow.
    pub fn alloc_fd(&self, min: usize, file: Arc<File>, cloexec: bool) -> Result<i32, Errno> {
        let end = nofile_limit();
        let mut fdt = self.fdt.lock();
        let fd = (min..end)
            .find(|&i| fdt.get(i).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)?;
        expand_files(&mut fdt, fd)?;
        fdt[fd] = Some(FdEntry { file, cloexec });
        Ok(fd as i32)
    }

    /// Puts `file` at exactly `fd`, closing what was there (dup2).
    ///
    /// Linux: do_dup2() in fs/file.c
    ///
    /// # Errors
    /// `EBADF` for an fd at or above RLIMIT_NOFILE, `ENOMEM` when the table
    /// cannot grow.
    pub fn install_at(&self, fd: i32, file: Arc<File>, cloexec: bool) -> Result<(), Errno> {
        let fd = usize::try_from(fd)
            .ok()
            .filter(|&f| f < nofile_limit())
            .ok_or(Errno::EBADF)?;
        let old = {
            let mut fdt = self.fdt.lock();
            expand_files(&mut fdt, fd)?;
            fdt[fd].replace(FdEntry { file, cloexec })
        };
        drop(old);
        Ok(())
    }

    /// Closes `fd`.
    ///
    /// Linux: close_fd() in fs/file.c
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    pub fn close_fd(&self, fd: i32) -> Result<(), Errno> {
        let entry = {
            let mut fdt = self.fdt.lock();
            usize::try_from(fd)
                .ok()
                .and_then(|i| fdt.get_mut(i))
                .and_then(Option::take)
        };
        entry.map(drop).ok_or(Errno::EBADF)
    }

    /// Sets or reads a descriptor's close-on-exec flag.
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    pub fn cloexec(&self, fd: i32, set: Option<bool>) -> Result<bool, Errno> {
        let mut fdt = self.fdt.lock();
        let entry = usize::try_from(fd)
            .ok()
            .and_then(|i| fdt.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        if let Some(v) = set {
            entry.cloexec = v;
        }
        Ok(entry.cloexec)
    }

    /// Closes every close-on-exec descriptor (at execve).
    ///
    /// Linux: do_close_on_exec() in fs/file.c
    pub fn do_close_on_exec(&self) {
        let closed: Vec<FdEntry> = {
            let mut fdt = self.fdt.lock();
            fdt.iter_mut()
                .filter(|e| e.as_ref().is_some_and(|e| e.cloexec))
                .filter_map(Option::take)
                .collect()
        };
        drop(closed);
    }
}

/// Grows the table so that it has a slot `fd`, failing rather than aborting
/// when memory is short.
///
/// Linux: expand_files() in fs/file.c
fn expand_files(fdt: &mut Vec<Option<FdEntry>>, fd: usize) -> Result<(), Errno> {
    let needed = fd.checked_add(1).ok_or(Errno::EMFILE)?;
    if needed > fdt.len() {
        fdt.try_reserve(needed - fdt.len())
            .map_err(|_| Errno::ENOMEM)?;
        fdt.resize(needed, None);
    }
    Ok(())
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
    fdt.try_reserve_exact(old.len())
        .map_err(|_| Errno::ENOMEM)?;
    fdt.extend(old.iter().cloned());
    Arc::try_new(FilesStruct {
        fdt: SpinLock::new(fdt),
    })
    .map_err(|_| Errno::ENOMEM)
}
