//! `/proc/<pid>/fd` and `/proc/<pid>/fdinfo`: one entry per open
//! descriptor. A link in fd/ reads as the path the file was opened by, or
//! as what a nameless file is (`pipe:[N]`, `anon_inode:[pidfd]`).
//!
//! Linux: fs/proc/fd.c
//! Differs: a link in fd/ is an ordinary symbolic link made at lookup, so
//! opening it opens its path again (Linux's "magic link" opens the same
//! open file, and works for pipes too).

use crate::errno::Errno;
use crate::fs::fdtable::FilesStruct;
use crate::fs::file::File;
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
pub fn d_path(file: &File) -> String {
    if let Some(path) = &file.f_path {
        return String::from_utf8_lossy(&path.name).into_owned();
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
