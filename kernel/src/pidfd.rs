//! Process file descriptors: a file that names one process, so that it can
//! be polled (readable once the process has exited) and waited for with
//! waitid(P_PIDFD) without the races of pid reuse.
//!
//! Linux: kernel/pid.c (pidfd_open, pidfd_poll), kernel/fork.c (CLONE_PIDFD)
//! Differs: the file holds the pid number and a reference to the task, not
//! a `struct pid`.

use crate::errno::Errno;
use crate::fs::file::{File, FileOperations, Kstat, POLLHUP, POLLIN};
use crate::fs::open::O_RDWR;
use crate::pid::{PidNr, find_task_by_vpid};
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use alloc::sync::Arc;

/// An open pidfd.
pub struct PidfdFile {
    /// The process it names.
    pub pid: PidNr,
    task: Arc<TaskStruct>,
}

impl FileOperations for PidfdFile {
    fn stat(&self) -> Kstat {
        Kstat {
            mode: 0o600,
            nlink: 1,
            ..Kstat::default()
        }
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

    fn seekable(&self) -> bool {
        false
    }

    fn pidfd(&self) -> Option<PidNr> {
        Some(self.pid)
    }
}

/// Installs a new pidfd for `task` in the caller's table; returns the fd.
///
/// Linux: pidfd_create() in kernel/pid.c
///
/// # Errors
/// `EMFILE` when the table is full; `ENFILE`/`ENOMEM` as File::new.
pub fn pidfd_create(task: Arc<TaskStruct>) -> Result<i32, Errno> {
    let file = File::new(
        Arc::new(PidfdFile {
            pid: task.pid(),
            task,
        }),
        O_RDWR,
    )?;
    let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
    // A pidfd is always close-on-exec.
    files.alloc_fd(0, file, true)
}

/// Linux: SYSCALL_DEFINE2(pidfd_open) in kernel/pid.c
pub fn sys_pidfd_open(pid: i32, flags: u32) -> SysResult {
    if flags & !0o4000 != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let task = find_task_by_vpid(pid)
        .filter(|t| t.pid() == t.tgid())
        .ok_or(Errno::ESRCH)?;
    pidfd_create(task).map(|fd| fd as u64)
}
