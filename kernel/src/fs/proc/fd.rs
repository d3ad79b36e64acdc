//! `/proc/<pid>/fd` and `/proc/<pid>/fdinfo`: one entry per open
//! descriptor. A link in fd/ reads as the path the file was opened by
//! (`<path> (deleted)` once unlinked), or as what a nameless file is
//! (`pipe:[N]`, `anon_inode:[pidfd]`). It is a "magic link": following it
//! leads to the open file's own inode, not to the name it reads as.
//!
//! Linux: fs/proc/fd.c
//! Differs: following the link of a file without a path (a pipe, an
//! eventfd) gives ENXIO; Linux reaches a pipe's pipefs inode, so a pipe
//! can be reopened and stat()ed through /proc.

use crate::errno::Errno;
use crate::fs::fdtable::FilesStruct;
use crate::fs::file::File;
use crate::fs::open::O_ACCMODE;
use crate::fs::ramfs::{Inode, InodeKind};
use crate::pid::PidNr;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// The descriptor table of the task `pid`.
///
/// # Errors
/// `ENOENT` when the task is gone or has no table (it is exiting).
fn task_files(pid: PidNr) -> Result<Arc<FilesStruct>, Errno> {
    let task = super::base::proc_task(pid).ok_or(Errno::ENOENT)?;
    let files = task.files.lock().clone();
    files.ok_or(Errno::ENOENT)
}

/// The open descriptors of the task `pid`, lowest first.
pub fn open_fds(pid: PidNr) -> Vec<i32> {
    let Ok(files) = task_files(pid) else {
        return Vec::new();
    };
    let max = files.fdt.lock().len();
    (0..max as i32)
        .filter(|&fd| files.fget(fd).is_ok())
        .collect()
}

/// What a link of fd/ reads as: the file's path, or for a file without one
/// the name its kind gives it.
///
/// Linux: proc_fd_link() in fs/proc/fd.c, then d_path(), which asks
/// d_dname() for pseudo files (pipefs_dname(), anon_inode's `[pidfd]`)
/// and marks an unlinked file's name ` (deleted)`
/// Differs: "unlinked" is "no link left" (nlink 0); Linux marks the
/// removed name itself, even while the file has other names.
pub fn d_path(file: &File) -> String {
    if let Some(path) = &file.f_path {
        let mut name = String::from_utf8_lossy(&path.name).into_owned();
        if path.inode.i_attr.lock().nlink == 0 {
            name.push_str(" (deleted)");
        }
        return name;
    }
    file.f_op
        .d_dname()
        .unwrap_or_else(|| String::from("anon_inode:[unknown]"))
}

/// The target of `/proc/<pid>/fd/<fd>`.
///
/// # Errors
/// `ENOENT` when the descriptor is not open.
pub fn proc_fd_link(pid: PidNr, fd: i32) -> Result<String, Errno> {
    let file = task_files(pid)?.fget(fd).map_err(|_| Errno::ENOENT)?;
    Ok(d_path(&file))
}

/// The inode of `/proc/<pid>/fd/<fd>`: a magic link whose permission
/// bits tell the open mode: r-x for reading, -wx for writing, rwx for
/// both.
///
/// Linux: proc_fd_instantiate() and tid_fd_update_inode() in fs/proc/fd.c
///
/// # Errors
/// `ENOENT` when the descriptor is not open.
pub fn proc_fd_instantiate(pid: PidNr, fd: i32) -> Result<Arc<Inode>, Errno> {
    let file = task_files(pid)?.fget(fd).map_err(|_| Errno::ENOENT)?;
    let flags = *file.f_flags.lock();
    // Linux: OPEN_FMODE(): O_RDONLY, O_WRONLY, O_RDWR become FMODE_READ,
    // FMODE_WRITE, both (and the invalid mode 3 neither).
    let fmode = (flags + 1) & O_ACCMODE;
    let mut mode = 0;
    if fmode & 1 != 0 {
        mode |= 0o500;
    }
    if fmode & 2 != 0 {
        mode |= 0o300;
    }
    Ok(Inode::new(InodeKind::ProcFdLink(pid, fd), mode))
}

/// Where following `/proc/<pid>/fd/<fd>` leads: the open file's own inode
/// and the path it was opened by.
///
/// Linux: proc_fd_get_link() and proc_fd_link() in fs/proc/fd.c, then
/// nd_jump_link() in fs/namei.c
///
/// # Errors
/// `ENOENT` when the descriptor is not open; `ENXIO` for a file without a
/// path (see the file's Differs line).
pub fn proc_fd_get_link(pid: PidNr, fd: i32) -> Result<(Arc<Inode>, Vec<u8>), Errno> {
    let file = task_files(pid)?.fget(fd).map_err(|_| Errno::ENOENT)?;
    let path = file.f_path.as_ref().ok_or(Errno::ENXIO)?;
    Ok((path.inode.clone(), path.name.clone()))
}

/// `pos`, `flags` (octal, with O_CLOEXEC when the descriptor has it),
/// `mnt_id` and `ino` of an open descriptor, then what its kind adds
/// (an eventfd's count, a timerfd's setting).
///
/// Linux: seq_show() in fs/proc/fd.c
///
/// # Errors
/// `ENOENT` when the descriptor is not open.
pub fn fdinfo(pid: PidNr, fd: i32) -> Result<String, Errno> {
    let files = task_files(pid)?;
    let file = files.fget(fd).map_err(|_| Errno::ENOENT)?;
    let mut flags = *file.f_flags.lock();
    if files.cloexec(fd, None).unwrap_or(false) {
        flags |= crate::fs::open::O_CLOEXEC;
    }
    let mut text = alloc::format!(
        "pos:\t{}\nflags:\t0{flags:o}\nmnt_id:\t1\nino:\t{}\n",
        *file.f_pos.lock(),
        file.f_op.stat().ino
    );
    if let Some(more) = file.f_op.show_fdinfo() {
        text.push_str(&more);
    }
    Ok(text)
}
