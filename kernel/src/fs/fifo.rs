//! Named pipes (FIFOs): a pipe reached through a name in the file system.
//! All opens of one FIFO share one pipe while any of them is open; an
//! open for reading waits for a writer and an open for writing waits for a
//! reader, unless O_NONBLOCK or O_RDWR.
//!
//! Linux: fs/pipe.c (fifo_open, wait_for_partner, pipefifo_fops)

use super::file::{FileOperations, Kstat, S_IFIFO};
use super::open::{O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY};
use super::pipe::{O_NONBLOCK, PipeInodeInfo, alloc_fifo_pipe};
use super::ramfs::{Inode, InodeKind};
use crate::errno::Errno;
use crate::sched::wait::WaitQueueHead;
use alloc::sync::Arc;

/// One open of a FIFO: a read end, a write end, or with O_RDWR both.
pub struct FifoFile {
    pipe: Arc<PipeInodeInfo>,
    read: bool,
    write: bool,
}

/// Opens a FIFO: attaches to (or creates) its pipe, then waits for the
/// other side as the open mode asks.
///
/// Linux: fifo_open() in fs/pipe.c
///
/// # Errors
/// `ENXIO` for a write-only O_NONBLOCK open with no reader; `EINVAL` for
/// an access mode of 3; `ERESTARTSYS` when a signal ends the wait;
/// `ENOMEM`.
pub fn fifo_open(inode: &Inode, flags: u32) -> Result<Arc<dyn FileOperations>, Errno> {
    let InodeKind::Fifo(i_pipe) = &inode.kind else {
        return Err(Errno::EINVAL);
    };
    let (read, write) = match flags & O_ACCMODE {
        O_RDONLY => (true, false),
        O_WRONLY => (false, true),
        O_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let pipe = {
        let mut weak = i_pipe.lock();
        match weak.upgrade() {
            Some(pipe) => pipe,
            None => {
                let pipe = alloc_fifo_pipe()?;
                *weak = Arc::downgrade(&pipe);
                pipe
            }
        }
    };
    let nonblock = flags & O_NONBLOCK != 0;
    if write && !read && nonblock && !pipe.has_readers() {
        return Err(Errno::ENXIO);
    }
    let file = Arc::try_new(FifoFile {
        pipe: pipe.clone(),
        read,
        write,
    })
    .map_err(|_| Errno::ENOMEM)?;
    let (seen, alone) = pipe.fifo_attach(read, write);
    let must_wait = alone && !(read && write) && !(read && nonblock);
    if must_wait && let Err(e) = pipe.wait_for_partner(read, seen) {
        // Linux: err_rd / err_wr; never a File, so no release() comes.
        pipe.fifo_release(read, write);
        return Err(e);
    }
    Ok(file)
}

impl FileOperations for FifoFile {
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        self.pipe.pipe_read(buf, f_flags)
    }

    fn write(&self, buf: &[u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        self.pipe.pipe_write(buf, f_flags)
    }

    fn stat(&self) -> Kstat {
        Kstat {
            mode: S_IFIFO | 0o644,
            nlink: 1,
            ..Kstat::default()
        }
    }

    fn poll(&self) -> u16 {
        self.pipe.pipe_poll(self.read, self.write)
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) -> bool {
        self.pipe.wait_queues().into_iter().for_each(queue);
        true
    }

    fn seekable(&self) -> bool {
        false
    }

    fn get_pipe_info(&self) -> Option<&PipeInodeInfo> {
        Some(&self.pipe)
    }

    /// Linux: pipe_release() in fs/pipe.c
    fn release(&self) {
        self.pipe.fifo_release(self.read, self.write);
    }
}
