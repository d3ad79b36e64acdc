//! Descriptor operations: dup, dup2, dup3, fcntl, pipe2, ioctl, getdents64.
//!
//! Linux: fs/fcntl.c, fs/file.c (dup*), fs/pipe.c (pipe2), fs/ioctl.c, fs/readdir.c

use super::file::File;
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
const FD_CLOEXEC: u64 = 1;
const O_CLOEXEC: u32 = super::open::O_CLOEXEC;

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
            *flags = (*flags & 3) | (arg as u32 & 0o4000);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Linux: do_pipe2() in fs/pipe.c
pub fn sys_pipe2(fildes: u64, flags: u32) -> SysResult {
    if flags & !(O_CLOEXEC | 0o4000) != 0 {
        return Err(Errno::EINVAL);
    }
    let (rd, wr) = super::pipe::create_pipe();
    let f = files()?;
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = f.alloc_fd(0, File::new(rd, 0), cloexec)?;
    let wfd = match f.alloc_fd(0, File::new(wr, 1), cloexec) {
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

/// Linux: SYSCALL_DEFINE3(getdents64) in fs/readdir.c
pub fn sys_getdents64(fd: i32, dirent: u64, count: u64) -> SysResult {
    let file = fdget(fd)?;
    let mut pos = file.f_pos.lock();
    let mut out = Vec::new();
    while let Some((name, ino, ty)) = file.f_op.readdir(*pos as usize)? {
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > count as usize {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let start = out.len();
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&(*pos + 1).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(ty);
        out.extend_from_slice(name.as_bytes());
        out.resize(start + reclen, 0);
        *pos += 1;
    }
    copy_to_user(dirent, &out)?;
    Ok(out.len() as u64)
}

/// Waits until one of the descriptors is ready or `timeout_ms` passes
/// (negative: forever); returns how many are ready. Differs: readiness is
/// re-checked every timer tick instead of through wait-queue callbacks.
///
/// Linux: do_sys_poll() in fs/select.c
pub fn sys_poll(ufds: u64, nfds: u64, timeout_ms: i64) -> SysResult {
    use crate::mm::uaccess::get_user;
    if nfds > super::fdtable::nofile_limit() as u64 {
        return Err(Errno::EINVAL);
    }
    let deadline = (timeout_ms >= 0)
        .then(|| crate::arch::time::ktime_get_ns() + timeout_ms as u64 * 1_000_000);
    loop {
        let mut ready = 0;
        for i in 0..nfds {
            let entry = ufds + 8 * i;
            let [fd, events_revents]: [i32; 2] = get_user(entry)?;
            let events = (events_revents & 0xffff) as u16;
            let revents = match fd {
                fd if fd < 0 => 0,
                fd => fdget(fd).map_or(super::file::POLLNVAL, |f| {
                    f.f_op.poll() & (events | super::file::POLLHUP | super::file::POLLNVAL)
                }),
            };
            put_user(entry + 6, revents)?;
            ready += u64::from(revents != 0);
        }
        if ready > 0 || deadline.is_some_and(|d| crate::arch::time::ktime_get_ns() >= d) {
            return Ok(ready);
        }
        if crate::signal::signal_pending_current() {
            return Err(Errno::EINTR);
        }
        crate::time::wake_at_next_tick();
        crate::sched::core::schedule();
        crate::time::finish_tick_wait();
    }
}
