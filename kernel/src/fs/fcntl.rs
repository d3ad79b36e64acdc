//! Descriptor operations: dup, dup2, dup3, close_range, fcntl, pipe2, ioctl, getdents64.
//!
//! Linux: fs/fcntl.c, fs/file.c (dup*), fs/pipe.c (pipe2), fs/ioctl.c, fs/readdir.c

use super::file::File;
use super::open::{O_RDONLY, O_WRONLY};
use super::read_write::fdget;
use crate::errno::Errno;
use crate::mm::uaccess::{copy_to_user, put_user};
use crate::syscall::SysResult;
use crate::task::current;
use alloc::vec::Vec;

/// Duplicate at the lowest fd >= arg (Linux: F_DUPFD).
const F_DUPFD: u32 = 0;
const F_GETFD: u32 = 1;
const F_SETFD: u32 = 2;
const F_GETFL: u32 = 3;
const F_SETFL: u32 = 4;
const F_DUPFD_CLOEXEC: u32 = 1030;
const F_SETPIPE_SZ: u32 = 1031;
const F_GETPIPE_SZ: u32 = 1032;
const FD_CLOEXEC: u64 = 1;
const O_CLOEXEC: u32 = super::open::O_CLOEXEC;
const O_NONBLOCK: u32 = super::pipe::O_NONBLOCK;
const O_DIRECT: u32 = super::pipe::O_DIRECT;
/// Signal-driven I/O (Linux: FASYNC, the O_ASYNC of user space).
const FASYNC: u32 = 0o20000;
/// Do not update the access time (Linux: O_NOATIME).
const O_NOATIME: u32 = 0o1000000;
/// The flags F_SETFL may change (Linux: SETFL_MASK = O_APPEND | O_NONBLOCK
/// | O_NDELAY | O_DIRECT | O_NOATIME, plus FASYNC); the access mode and the
/// rest stay as open set them.
const SETFL_MASK: u32 = super::open::O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME;

fn files() -> Result<alloc::sync::Arc<super::fdtable::FilesStruct>, Errno> {
    current().files.lock().clone().ok_or(Errno::EBADF)
}

/// Linux: SYSCALL_DEFINE1(dup) in fs/file.c
pub fn sys_dup(fd: i32) -> SysResult {
    let f = files()?;
    let file = f.fget(fd)?;
    f.alloc_fd(0, file, false).map(|fd| fd as u64)
}

/// Linux: SYSCALL_DEFINE2(dup2) in fs/file.c
pub fn sys_dup2(oldfd: i32, newfd: i32) -> SysResult {
    let f = files()?;
    let file = f.fget(oldfd)?;
    if oldfd == newfd {
        return Ok(newfd as u64);
    }
    f.install_at(newfd, file, false).map(|()| newfd as u64)
}

/// Linux: ksys_dup3() in fs/file.c
pub fn sys_dup3(oldfd: i32, newfd: i32, flags: u32) -> SysResult {
    if flags & !O_CLOEXEC != 0 || oldfd == newfd {
        return Err(Errno::EINVAL);
    }
    let f = files()?;
    let file = f.fget(oldfd)?;
    f.install_at(newfd, file, flags & O_CLOEXEC != 0)
        .map(|()| newfd as u64)
}

/// close_range(2)'s flag: give the caller a table of its own first.
const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
/// close_range(2)'s flag: mark close-on-exec instead of closing.
const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// Closes (or marks close-on-exec) the descriptors `fd..=max_fd`; under
/// CLOSE_RANGE_UNSHARE a table shared with other tasks is copied first, so
/// they keep theirs.
///
/// Linux: SYSCALL_DEFINE3(close_range) in fs/file.c (__close_range())
///
/// # Errors
/// `EINVAL` for an unknown flag or `fd > max_fd`; `ENOMEM` if the copy of
/// the table cannot be made.
pub fn sys_close_range(fd: u32, max_fd: u32, flags: u32) -> SysResult {
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || fd > max_fd {
        return Err(Errno::EINVAL);
    }
    let me = current();
    let mut f = files()?;
    // One reference is the task's, one ours: more means another task shares it.
    if flags & CLOSE_RANGE_UNSHARE != 0 && alloc::sync::Arc::strong_count(&f) > 2 {
        f = super::fdtable::dup_fd(&f)?;
        let old = me.files.lock().replace(f.clone());
        drop(old);
    }
    f.close_range(
        fd as usize,
        max_fd as usize,
        flags & CLOSE_RANGE_CLOEXEC != 0,
    );
    Ok(0)
}

/// Linux: do_fcntl() in fs/fcntl.c
pub fn sys_fcntl(fd: i32, cmd: u32, arg: u64) -> SysResult {
    let f = files()?;
    let file = f.fget(fd)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            // Linux: f_dupfd() in fs/file.c refuses a start at or past the limit.
            let from = usize::try_from(arg)
                .ok()
                .filter(|&from| from < super::fdtable::nofile_limit())
                .ok_or(Errno::EINVAL)?;
            f.alloc_fd(from, file, cmd == F_DUPFD_CLOEXEC)
                .map(|fd| fd as u64)
        }
        F_GETFD => f.cloexec(fd, None).map(u64::from),
        F_SETFD => f.cloexec(fd, Some(arg & FD_CLOEXEC != 0)).map(|_| 0),
        F_GETFL => Ok(u64::from(*file.f_flags.lock() & !O_CLOEXEC)),
        F_SETFL => {
            let mut flags = file.f_flags.lock();
            *flags = (*flags & !SETFL_MASK) | (arg as u32 & SETFL_MASK);
            Ok(0)
        }
        F_SETPIPE_SZ | F_GETPIPE_SZ => {
            super::pipe::pipe_fcntl(file.f_op.get_pipe_info(), cmd == F_SETPIPE_SZ, arg as u32)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Makes a pipe; `flags` may hold O_CLOEXEC, O_NONBLOCK and O_DIRECT
/// (packet mode), which only the write end keeps, as in Linux.
///
/// Linux: do_pipe2() in fs/pipe.c
///
/// # Errors
/// `EINVAL` for any other flag; `EMFILE`, `ENFILE`, `ENOMEM`; `EFAULT`.
pub fn sys_pipe2(fildes: u64, flags: u32) -> SysResult {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (rd, wr) = super::pipe::create_pipe()?;
    let f = files()?;
    let cloexec = flags & O_CLOEXEC != 0;
    let (rd, wr) = (
        File::new(rd, O_RDONLY | (flags & O_NONBLOCK))?,
        File::new(wr, O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)))?,
    );
    let rfd = f.alloc_fd(0, rd, cloexec)?;
    let wfd = match f.alloc_fd(0, wr, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = f.close_fd(rfd);
            return Err(e);
        }
    };
    if let Err(e) = put_user(fildes, [rfd, wfd]) {
        let _ = f.close_fd(rfd);
        let _ = f.close_fd(wfd);
        return Err(e);
    }
    Ok(0)
}

/// Linux: SYSCALL_DEFINE3(ioctl) in fs/ioctl.c
pub fn sys_ioctl(fd: i32, cmd: u64, arg: u64) -> SysResult {
    fdget(fd)?.f_op.ioctl(cmd, arg)
}

/// Copies directory entries straight into the user's buffer, one
/// `struct linux_dirent64` (ino, off, reclen, type, name, NUL, padding to 8)
/// at a time.
///
/// Linux: SYSCALL_DEFINE3(getdents64) in fs/readdir.c
/// Differs: the position is read and stored around the loop rather than under f_pos_lock, so two concurrent getdents64 on one open directory may list an entry twice.
///
/// # Errors
/// `ENOTDIR` for a file that is not a directory; `EINVAL` when the buffer
/// cannot hold the first entry; `EFAULT`; `EINTR`.
pub fn sys_getdents64(fd: i32, dirent: u64, count: u64) -> SysResult {
    let file = fdget(fd)?;
    let stat = file.f_op.stat();
    if stat.mode & super::file::S_IFMT != super::file::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    let start = *file.f_pos.lock();
    let mut pos = start;
    let mut used: u64 = 0;
    while let Some((name, ino, ty)) = dir_emit_dots(&file, stat.ino, pos)? {
        if super::read_write::fatal_signal_pending_current() {
            return Err(Errno::EINTR);
        }
        let reclen = (19 + name.len() as u64 + 1).next_multiple_of(8);
        if used + reclen > count {
            if used == 0 {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let at = dirent.checked_add(used).ok_or(Errno::EFAULT)?;
        put_user(at, [ino, pos + 1])?;
        put_user(at + 16, reclen as u16)?;
        put_user(at + 18, ty)?;
        copy_to_user(at + 19, &name)?;
        copy_to_user(
            at + 19 + name.len() as u64,
            &[0u8; 8][..(reclen - 19) as usize - name.len()],
        )?;
        used += reclen;
        pos += 1;
    }
    *file.f_pos.lock() = pos;
    Ok(used)
}

/// The directory entry at position `pos`: `.` and `..` first, as every
/// Linux directory lists them, then the directory's own entries.
///
/// Linux: dir_emit_dots() in include/linux/fs.h, then the file system's
/// iterate_shared
fn dir_emit_dots(file: &File, ino: u64, pos: u64) -> Result<Option<(Vec<u8>, u64, u8)>, Errno> {
    let dt_dir = (super::file::S_IFDIR >> 12) as u8;
    match pos {
        0 => Ok(Some((b".".to_vec(), ino, dt_dir))),
        1 => {
            // The parent by name; the root (or a directory opened without
            // a name) is its own parent.
            let parent = file
                .f_path
                .as_ref()
                .and_then(|p| super::namei::path_lookup(&p.name, b"..", true).ok())
                .map_or(ino, |dir| dir.ino);
            Ok(Some((b"..".to_vec(), parent, dt_dir)))
        }
        _ => file.f_op.readdir(pos as usize - 2),
    }
}
