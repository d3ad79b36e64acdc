//! Process file descriptors: a file that names one process, so that it can
//! be polled (readable once the process has exited) and waited for with
//! waitid(P_PIDFD) without the races of pid reuse.
//!
//! Linux: kernel/pid.c (pidfd_open, pidfd_poll), kernel/fork.c (CLONE_PIDFD)
//! Differs: the file holds the pid number and a reference to the task, not
//! a `struct pid`.

use crate::errno::Errno;
use crate::fs::fdtable::{UnusedFd, get_unused_fd_flags};
use crate::fs::file::{File, FileOperations, POLLHUP, POLLIN};
use crate::fs::open::O_RDWR;
use crate::pid::{PidNr, find_task_by_vpid};
use crate::syscall::SysResult;
use crate::task::TaskStruct;
use alloc::sync::Arc;

/// An open pidfd.
pub struct PidfdFile {
    /// The process it names.
    pub pid: PidNr,
    task: Arc<TaskStruct>,
}

impl FileOperations for PidfdFile {
    /// Linux: the name pidfd_create() gave its file before pidfs
    /// Differs: Linux since 6.9 gives a pidfd an inode of its own in pidfs
    /// (mode 0700, a st_ino unique to the process, pread EINVAL); the link
    /// name stayed.
    fn anon_inode_name(&self) -> Option<&'static str> {
        Some("[pidfd]")
    }

    /// lseek is ESPIPE: unlike the other anon-inode files, a pidfd's
    /// fops have no llseek.
    fn noop_llseek(&self) -> bool {
        false
    }

    /// Readable (and hung up) once the process is a zombie or gone.
    ///
    /// Linux: pidfd_poll() in kernel/pid.c
    fn poll(&self) -> u16 {
        if self.task.exit_state() != 0 {
            POLLIN | POLLHUP
        } else {
            0
        }
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&crate::sched::wait::WaitQueueHead)) {
        queue(&self.task.signal().wait_pidfd);
    }

    fn pidfd(&self) -> Option<PidNr> {
        Some(self.pid)
    }

    fn pidfd_task(&self) -> Option<&Arc<TaskStruct>> {
        Some(&self.task)
    }
}

/// Wakes the pollers of pidfds for `tsk`'s process: it has exited.
///
/// Linux: do_notify_pidfd() in kernel/signal.c
pub fn do_notify_pidfd(tsk: &TaskStruct) {
    if let Some(sig) = tsk.signal.get() {
        sig.wait_pidfd.wake_up();
    }
}

/// A pidfd that is ready but not visible yet: its descriptor reserved in
/// the caller's table and its file made. copy_process prepares one before
/// the child is published and installs it after, when nothing can fail.
/// Dropping it gives both back.
pub struct PreparedPidfd {
    fd: UnusedFd,
    file: Arc<File>,
}

impl PreparedPidfd {
    /// The descriptor the pidfd will have.
    pub fn fd(&self) -> i32 {
        self.fd.fd()
    }

    /// Makes the pidfd visible in the caller's table.
    ///
    /// Linux: fd_install() in fs/file.c
    pub fn fd_install(self) {
        self.fd.fd_install(self.file);
    }
}

/// Reserves a descriptor and makes the file of a pidfd for `task`.
///
/// Linux: pidfd_prepare() in kernel/fork.c
///
/// # Errors
/// `EMFILE` when the table is full; `ENFILE`/`ENOMEM` as File::new.
pub fn pidfd_prepare(task: Arc<TaskStruct>) -> Result<PreparedPidfd, Errno> {
    // A pidfd is always close-on-exec.
    let fd = get_unused_fd_flags(true)?;
    let file = pidfs_alloc_file(task)?;
    Ok(PreparedPidfd { fd, file })
}

/// The file of a pidfd for `task`, read-write, in no descriptor table yet.
///
/// Linux: pidfs_alloc_file() in fs/pidfs.c
///
/// # Errors
/// `ENFILE`/`ENOMEM` as File::new.
pub fn pidfs_alloc_file(task: Arc<TaskStruct>) -> Result<Arc<File>, Errno> {
    let f_op = Arc::try_new(PidfdFile {
        pid: task.pid(),
        task,
    })
    .map_err(|_| Errno::ENOMEM)?;
    File::new(f_op, O_RDWR)
}

/// Installs a new pidfd for `task` in the caller's table; returns the fd.
///
/// Linux: pidfd_create() in kernel/pid.c
///
/// # Errors
/// As pidfd_prepare.
pub fn pidfd_create(task: Arc<TaskStruct>) -> Result<i32, Errno> {
    let pidfd = pidfd_prepare(task)?;
    let fd = pidfd.fd();
    pidfd.fd_install();
    Ok(fd)
}

/// Linux: SYSCALL_DEFINE2(pidfd_open) in kernel/pid.c
pub fn sys_pidfd_open(pid: i32, flags: u32) -> SysResult {
    if flags & !0o4000 != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let task = find_task_by_vpid(pid)
        .filter(|t| t.pid() == t.tgid())
        .ok_or(Errno::ESRCH)?;
    let pidfd = pidfd_prepare(task)?;
    // PIDFD_NONBLOCK is O_NONBLOCK, and F_GETFL shows it.
    *pidfd.file.f_flags.lock() |= flags;
    let fd = pidfd.fd();
    pidfd.fd_install();
    Ok(fd as u64)
}

/// Copies descriptor `fd` of the process `pidfd` names into the caller's
/// table, close-on-exec, as if the caller had been sent it.
///
/// Linux: SYSCALL_DEFINE3(pidfd_getfd) and pidfd_getfd() in kernel/pid.c
/// Differs: no exec_update_lock; the tracing check and the lookup are not
/// held together against an exec in the target.
///
/// # Errors
/// `EINVAL` for any flag; `EBADF` when `pidfd` is no pidfd, or the target
/// has no such descriptor; `ESRCH` once the process is exiting or reaped; `EPERM` when the caller may not trace it;
/// `EMFILE` when the caller's table is full.
pub fn sys_pidfd_getfd(pidfd: i32, fd: i32, flags: u32) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let file = crate::fs::read_write::fdget(pidfd)?;
    let task = file.f_op.pidfd_task().ok_or(Errno::EBADF)?.clone();
    let root = crate::pid_namespace::init_pid_ns();
    let alive =
        crate::pid::find_task_by_pid_ns(task.pid(), root).is_some_and(|t| Arc::ptr_eq(&t, &task));
    if !alive {
        return Err(Errno::ESRCH);
    }
    if !crate::ptrace::ptrace_may_access(&task, crate::ptrace::PTRACE_MODE_ATTACH_REALCREDS) {
        return Err(Errno::EPERM);
    }
    let target = task.files.lock().clone().ok_or(Errno::EBADF);
    let target = target.and_then(|files| files.fget(fd)).map_err(|e| {
        // No table, or the descriptor went with it: the process is exiting.
        if task.flags() & crate::task::PF_EXITING != 0 {
            Errno::ESRCH
        } else {
            e
        }
    })?;
    let new = get_unused_fd_flags(true)?;
    let nr = new.fd();
    new.fd_install(target);
    Ok(nr as u64)
}
