//! Descriptor operations: dup, dup2, dup3, fcntl, pipe2, ioctl, getdents64.
//!
//! Linux: fs/fcntl.c, fs/file.c (dup*), fs/pipe.c (pipe2), fs/ioctl.c, fs/readdir.c

use super::file::File;
use super::open::{O_RDONLY, O_WRONLY};
use super::read_write::fdget;
use crate::errno::Errno;
use crate::mm::uaccess::{copy_to_user, put_user};
use crate::syscall::SysResult;
use crate::task::current;

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
/// `EINVAL` when the buffer cannot hold the first entry; `EFAULT`; `EINTR`.
pub fn sys_getdents64(fd: i32, dirent: u64, count: u64) -> SysResult {
    let file = fdget(fd)?;
    let start = *file.f_pos.lock();
    let mut pos = start;
    let mut used: u64 = 0;
    while let Some((name, ino, ty)) = file.f_op.readdir(pos as usize)? {
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

/// Waits until one of the descriptors is ready or `timeout_ms` passes
/// (negative: forever); returns how many are ready. The poller sleeps on
/// each file's wait queues, and one timer wakes it at the deadline.
/// Interrupted by a signal, it is continued through restart_syscall(2) to
/// the same deadline when no handler runs, and fails with EINTR when one
/// does.
///
/// Linux: SYSCALL_DEFINE3(poll) in fs/select.c
pub fn sys_poll(ufds: u64, nfds: u64, timeout_ms: i64) -> SysResult {
    let deadline_ns = (timeout_ms >= 0).then(|| {
        crate::arch::time::ktime_get_ns()
            .saturating_add((timeout_ms as u64).saturating_mul(1_000_000))
    });
    do_restart_poll(ufds, nfds, deadline_ns)
}

/// Polls until `deadline_ns`, saving the call in the restart block when a
/// signal interrupts it; restart_syscall(2) comes back here.
///
/// Linux: do_restart_poll() in fs/select.c
pub fn do_restart_poll(ufds: u64, nfds: u64, deadline_ns: Option<u64>) -> SysResult {
    match do_sys_poll(ufds, nfds, deadline_ns) {
        Err(Errno::ERESTARTNOHAND) => Err(crate::restart_block::set_restart_fn(
            crate::restart_block::RestartBlock::Poll {
                ufds,
                nfds,
                deadline_ns,
            },
        )),
        result => result,
    }
}

/// Waits until one of the descriptors is ready or the monotonic
/// `deadline` passes (`None`: forever); returns how many are ready.
///
/// Linux: do_sys_poll() in fs/select.c
/// Differs: a file without wait queues (a pidfd) is re-checked every tick.
fn do_sys_poll(ufds: u64, nfds: u64, deadline: Option<u64>) -> SysResult {
    if nfds > super::fdtable::nofile_limit() as u64 {
        return Err(Errno::EINVAL);
    }
    let timeout = deadline.map(|d| {
        let sleeper = crate::time::hrtimer::HrtimerSleeper::new(current());
        sleeper.start_expires(d);
        sleeper
    });
    loop {
        // Sleeping from here on, so a wake-up during the scan is not lost.
        set_current_state(crate::task::TASK_INTERRUPTIBLE);
        let mut table = PollTable::default();
        let ready = match do_pollfd_pass(&mut table, ufds, nfds) {
            Ok(ready) => ready,
            Err(e) => {
                drop(table);
                set_current_state(crate::task::TASK_RUNNING);
                return Err(e);
            }
        };
        let timed_out = timeout.as_ref().is_some_and(|t| t.expired())
            || deadline.is_some_and(|d| crate::arch::time::ktime_get_ns() >= d);
        let result = if ready > 0 || timed_out {
            Ok(ready)
        } else if crate::signal::signal_pending_current() {
            Err(Errno::ERESTARTNOHAND)
        } else {
            table.poll_schedule();
            continue;
        };
        drop(table);
        set_current_state(crate::task::TASK_RUNNING);
        return result;
    }
}

/// Asks each descriptor for its events, queuing the poller on its file,
/// and writes `revents`; returns how many descriptors have events.
///
/// Linux: do_poll() and do_pollfd() in fs/select.c
fn do_pollfd_pass(table: &mut PollTable, ufds: u64, nfds: u64) -> Result<u64, Errno> {
    let mut ready = 0;
    for i in 0..nfds {
        let entry = ufds.checked_add(8 * i).ok_or(Errno::EFAULT)?;
        let [fd, events_revents]: [i32; 2] = crate::mm::uaccess::get_user(entry)?;
        let events = (events_revents & 0xffff) as u16;
        let revents = match fd {
            fd if fd < 0 => 0,
            fd => fdget(fd).map_or(super::file::POLLNVAL, |f| {
                let mask = events | super::file::POLLHUP | super::file::POLLNVAL;
                table.poll_wait(f) & mask
            }),
        };
        put_user(entry + 6, revents)?;
        ready += u64::from(revents != 0);
    }
    Ok(ready)
}

/// Linux: set_current_state() in include/linux/sched.h
fn set_current_state(state: u32) {
    current()
        .state
        .store(state, core::sync::atomic::Ordering::Release);
}

/// The files one pass of poll queued itself on (Linux: `struct
/// poll_wqueues`); dropping it takes the poller off their wait queues
/// (Linux: poll_freewait()).
#[derive(Default)]
struct PollTable {
    files: alloc::vec::Vec<alloc::sync::Arc<File>>,
    /// Some file had no wait queue, so the poller must re-check at the tick.
    needs_tick: bool,
}

impl PollTable {
    /// Queues the poller on `file`'s wait queues, then asks which events are
    /// ready: the poller is already TASK_INTERRUPTIBLE and queued, so a
    /// wake-up after the check makes it runnable and is not lost.
    ///
    /// Linux: vfs_poll() with __pollwait() as the queueing function
    fn poll_wait(&mut self, file: alloc::sync::Arc<File>) -> u16 {
        if !file.f_op.poll_wait(&mut |wq| wq.add_wait_queue()) {
            self.needs_tick = true;
        }
        let revents = file.f_op.poll();
        self.files.push(file);
        revents
    }

    /// Sleeps until a queued file, the timeout timer or a signal wakes us.
    ///
    /// Linux: poll_schedule_timeout() in fs/select.c
    fn poll_schedule(&self) {
        if self.needs_tick {
            crate::time::wake_at_next_tick();
        }
        crate::sched::core::schedule();
        if self.needs_tick {
            crate::time::finish_tick_wait();
        }
    }
}

impl Drop for PollTable {
    fn drop(&mut self) {
        for file in &self.files {
            file.f_op.poll_wait(&mut |wq| wq.finish_wait());
        }
    }
}
