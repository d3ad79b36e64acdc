//! Named pipes (FIFOs): a pipe reached through a name in the file system.
//! All opens of one FIFO share one pipe while any of them is open; an
//! open for reading waits for a writer and an open for writing waits for a
//! reader, unless O_NONBLOCK or O_RDWR.
//!
//! Linux: fs/pipe.c (fifo_open, wait_for_partner, pipefifo_fops)

use super::file::{FileOperations, Kstat, S_IFIFO};
use super::file::{POLLHUP, POLLIN, POLLOUT};
use super::open::{O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY};
use super::pipe::{O_NONBLOCK, PipeInodeInfo, alloc_pipe_info};
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
    let (seen, alone) = pipe.fifo_attach(read, write, nonblock)?;
    // From here the counts belong to the FifoFile, whose drop gives them
    // back, even when this allocation fails.
    let file = Arc::try_new(FifoFile {
        pipe: pipe.clone(),
        read,
        write,
    })
    .map_err(|_| Errno::ENOMEM)?;
    let must_wait = alone && !(read && write) && !(read && nonblock);
    if must_wait {
        // On an error the file drops, and with it its counts (Linux:
        // err_rd / err_wr).
        pipe.wait_for_partner(read, seen)?;
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

    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) {
        self.pipe.wait_queues().into_iter().for_each(queue);
    }

    fn seekable(&self) -> bool {
        false
    }

    fn get_pipe_info(&self) -> Option<&PipeInodeInfo> {
        Some(&self.pipe)
    }
}

impl Drop for FifoFile {
    /// Gives back the counts of this open, whether it became a file or
    /// its wait for a partner failed (Linux: pipe_release() in fs/pipe.c).
    fn drop(&mut self) {
        self.pipe.fifo_release(self.read, self.write);
    }
}

/// A pipe for a FIFO, with no ends open yet.
///
/// Linux: alloc_pipe_info() as fifo_open() calls it
fn alloc_fifo_pipe() -> Result<Arc<PipeInodeInfo>, Errno> {
    let pipe = alloc_pipe_info()?;
    let mut st = pipe.state.lock();
    (st.readers, st.writers) = (0, 0);
    drop(st);
    Ok(pipe)
}

impl PipeInodeInfo {
    /// Counts a FIFO open for reading and/or writing, waking the openers
    /// that wait for such a partner; returns the other side's counter and
    /// whether it has no end open, for an opener that must wait.
    ///
    /// Linux: the counting half of fifo_open() in fs/pipe.c
    ///
    /// # Errors
    /// `ENXIO` for a write-only non-blocking open with no reader.
    fn fifo_attach(&self, read: bool, write: bool, nonblock: bool) -> Result<(usize, bool), Errno> {
        let mut st = self.state.lock();
        if write && !read && nonblock && st.readers == 0 {
            return Err(Errno::ENXIO);
        }
        if read {
            st.readers += 1;
            st.r_counter += 1;
        }
        if write {
            st.writers += 1;
            st.w_counter += 1;
        }
        let partner = match read {
            true => (st.w_counter, st.writers == 0),
            false => (st.r_counter, st.readers == 0),
        };
        drop(st);
        // Linux: wake_up_partner()
        self.rd_wait.wake_up();
        self.wr_wait.wake_up();
        Ok(partner)
    }

    /// Sleeps until the other side's counter moves from `seen`.
    ///
    /// Linux: wait_for_partner() in fs/pipe.c
    fn wait_for_partner(&self, reader: bool, seen: usize) -> Result<(), Errno> {
        self.rd_wait.wait_event_interruptible(|| {
            let st = self.state.lock();
            seen != if reader { st.w_counter } else { st.r_counter }
        })
    }

    /// Drops a FIFO end's counts and wakes whoever waits on them.
    ///
    /// Linux: pipe_release() in fs/pipe.c
    fn fifo_release(&self, read: bool, write: bool) {
        let mut st = self.state.lock();
        st.readers -= usize::from(read);
        st.writers -= usize::from(write);
        drop(st);
        self.rd_wait.wake_up();
        self.wr_wait.wake_up();
    }

    /// POLLIN/POLLOUT/POLLHUP for an end that reads and/or writes.
    ///
    /// Linux: pipe_poll() in fs/pipe.c
    fn pipe_poll(&self, read: bool, write: bool) -> u16 {
        const POLLERR: u16 = 0x008;
        let st = self.state.lock();
        let mut mask = 0;
        if read && !st.bufs.is_empty() {
            mask |= POLLIN;
        }
        if read && st.writers == 0 {
            mask |= POLLHUP;
        }
        if write && st.bufs.len() < st.max_usage {
            mask |= POLLOUT;
        }
        if write && st.readers == 0 {
            mask |= POLLERR;
        }
        mask
    }

    /// The wait queues a poller of this pipe sleeps on.
    fn wait_queues(&self) -> [&WaitQueueHead; 2] {
        [&self.rd_wait, &self.wr_wait]
    }
}
