//! The table of open files, shared between threads under CLONE_FILES and
//! copied by fork otherwise. Each slot holds an open file and its
//! close-on-exec flag, or is reserved for a file not installed yet.
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

/// One descriptor in use.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file, or `None` while the descriptor is reserved by
    /// get_unused_fd_flags() and not yet installed (Linux: the fd's bit set
    /// in open_fds while `fdt->fd[fd]` is still NULL).
    file: Option<Arc<File>>,
    /// Closed by execve (Linux: the close_on_exec bitmap).
    cloexec: bool,
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
        self.fdt
            .lock()
            .iter()
            .filter(|e| e.as_ref().is_some_and(|e| e.file.is_some()))
            .count()
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
            .and_then(|e| e.file.clone())
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
        self.take_free_fd(min, Some(file), cloexec)
    }

    /// Takes the lowest free descriptor not below `min` for `file`, or
    /// reserves it if `file` is `None`.
    ///
    /// Linux: alloc_fd() in fs/file.c
    fn take_free_fd(
        &self,
        min: usize,
        file: Option<Arc<File>>,
        cloexec: bool,
    ) -> Result<i32, Errno> {
        let end = nofile_limit();
        let mut fdt = self.fdt.lock();
        let fd = (min..end)
            .find(|&i| fdt.get(i).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)?;
        expand_files(&mut fdt, fd)?;
        fdt[fd] = Some(FdEntry { file, cloexec });
        Ok(fd as i32)
    }

    /// Puts `file` into the descriptor `fd` reserved for it.
    ///
    /// Linux: the `rcu_assign_pointer(fdt->fd[fd], file)` of fd_install()
    fn install_reserved(&self, fd: i32, file: Arc<File>) {
        let mut fdt = self.fdt.lock();
        let slot = usize::try_from(fd).ok().and_then(|i| fdt.get_mut(i));
        if let Some(Some(entry)) = slot
            && entry.file.is_none()
        {
            entry.file = Some(file);
        }
    }

    /// Frees the descriptor `fd` if it is still only reserved.
    ///
    /// Linux: __put_unused_fd() in fs/file.c
    fn put_reserved(&self, fd: i32) {
        let mut fdt = self.fdt.lock();
        let slot = usize::try_from(fd).ok().and_then(|i| fdt.get_mut(i));
        if let Some(slot) = slot
            && slot.as_ref().is_some_and(|e| e.file.is_none())
        {
            *slot = None;
        }
    }

    /// Puts `file` at exactly `fd`, closing what was there (dup2).
    ///
    /// Linux: do_dup2() in fs/file.c
    ///
    /// # Errors
    /// `EBADF` for an fd at or above RLIMIT_NOFILE, `EBUSY` for one that is
    /// reserved but not installed yet, `ENOMEM` when the table cannot grow.
    pub fn install_at(&self, fd: i32, file: Arc<File>, cloexec: bool) -> Result<(), Errno> {
        let fd = usize::try_from(fd)
            .ok()
            .filter(|&f| f < nofile_limit())
            .ok_or(Errno::EBADF)?;
        let old = {
            let mut fdt = self.fdt.lock();
            expand_files(&mut fdt, fd)?;
            if fdt[fd].as_ref().is_some_and(|e| e.file.is_none()) {
                return Err(Errno::EBUSY);
            }
            fdt[fd].replace(FdEntry {
                file: Some(file),
                cloexec,
            })
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
                .filter(|e| e.as_ref().is_some_and(|e| e.file.is_some()))
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
            .filter(|e| e.file.is_some())
            .ok_or(Errno::EBADF)?;
        if let Some(v) = set {
            entry.cloexec = v;
        }
        Ok(entry.cloexec)
    }

    /// Closes the open descriptors `first..=last`, or with `cloexec` only
    /// marks them close-on-exec; a range with nothing open is no error.
    ///
    /// Linux: __close_range() in fs/file.c
    pub fn close_range(&self, first: usize, last: usize, cloexec: bool) {
        let closed: Vec<FdEntry> = {
            let mut fdt = self.fdt.lock();
            let end = last.saturating_add(1).min(fdt.len());
            let range = fdt.get_mut(first.min(end)..end).unwrap_or_default();
            let open = range
                .iter_mut()
                .filter(|e| e.as_ref().is_some_and(|e| e.file.is_some()));
            if cloexec {
                open.flatten().for_each(|e| e.cloexec = true);
                Vec::new()
            } else {
                open.filter_map(Option::take).collect()
            }
        };
        // The files are released outside the table's lock, as by close_fd.
        drop(closed);
    }

    /// Closes every close-on-exec descriptor (at execve).
    ///
    /// Linux: do_close_on_exec() in fs/file.c
    pub fn do_close_on_exec(&self) {
        let closed: Vec<FdEntry> = {
            let mut fdt = self.fdt.lock();
            fdt.iter_mut()
                .filter(|e| e.as_ref().is_some_and(|e| e.cloexec && e.file.is_some()))
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
    // A descriptor reserved in the parent stays the parent's (Linux: dup_fd()
    // clears open_fds bits whose file is NULL).
    fdt.extend(old.iter().map(|e| e.clone().filter(|e| e.file.is_some())));
    Arc::try_new(FilesStruct {
        fdt: SpinLock::new(fdt),
    })
    .map_err(|_| Errno::ENOMEM)
}

/// A descriptor reserved in the caller's table for a file that is not
/// ready to be seen: installing it later cannot fail, and dropping it
/// unused gives the number back.
///
/// Linux: the fd between get_unused_fd_flags() and fd_install() or
/// put_unused_fd()
pub struct UnusedFd {
    /// The table the descriptor is reserved in; `None` once installed.
    files: Option<Arc<FilesStruct>>,
    fd: i32,
}

impl UnusedFd {
    /// The reserved descriptor number.
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Makes `file` visible at the reserved descriptor.
    ///
    /// Linux: fd_install() in fs/file.c
    pub fn fd_install(mut self, file: Arc<File>) {
        if let Some(files) = self.files.take() {
            files.install_reserved(self.fd, file);
        }
    }
}

impl Drop for UnusedFd {
    /// Linux: put_unused_fd() in fs/file.c
    fn drop(&mut self) {
        if let Some(files) = self.files.take() {
            files.put_reserved(self.fd);
        }
    }
}

/// Reserves the lowest free descriptor of the current task's table.
///
/// Linux: get_unused_fd_flags() in fs/file.c
///
/// # Errors
/// `EMFILE` when every descriptor below RLIMIT_NOFILE is in use, `ENOMEM`
/// when the table cannot grow, `EBADF` for a task without a table.
pub fn get_unused_fd_flags(cloexec: bool) -> Result<UnusedFd, Errno> {
    let files = crate::task::current()
        .files
        .lock()
        .clone()
        .ok_or(Errno::EBADF)?;
    let fd = files.take_free_fd(0, None, cloexec)?;
    Ok(UnusedFd {
        files: Some(files),
        fd,
    })
}
