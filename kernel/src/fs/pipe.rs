//! Pipes: a bounded byte queue with a read end and a write end.
//!
//! Linux: fs/pipe.c

use super::file::{FileOperations, Kstat, S_IFIFO};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::sched::wait::WaitQueueHead;
use alloc::collections::VecDeque;
use alloc::sync::Arc;

/// Bytes a pipe holds (Linux: PIPE_DEF_BUFFERS pages, 64 KiB).
const PIPE_SIZE: usize = 65536;

struct PipeState {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// The shared part of a pipe (Linux: `struct pipe_inode_info`).
pub struct PipeInodeInfo {
    state: SpinLock<PipeState>,
    rd_wait: WaitQueueHead,
    wr_wait: WaitQueueHead,
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<PipeInodeInfo>,
    write_end: bool,
}

/// Creates a pipe; returns (read end, write end).
///
/// Linux: create_pipe_files() in fs/pipe.c
pub fn create_pipe() -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Arc::new(PipeInodeInfo {
        state: SpinLock::new(PipeState {
            buf: VecDeque::new(),
            readers: 1,
            writers: 1,
        }),
        rd_wait: WaitQueueHead::new(),
        wr_wait: WaitQueueHead::new(),
    });
    (
        Arc::new(PipeEnd {
            pipe: pipe.clone(),
            write_end: false,
        }),
        Arc::new(PipeEnd {
            pipe,
            write_end: true,
        }),
    )
}

impl FileOperations for PipeEnd {
    /// Linux: pipe_read() in fs/pipe.c
    fn read(&self, buf: &mut [u8], _pos: u64) -> Result<usize, Errno> {
        if self.write_end {
            return Err(Errno::EBADF);
        }
        let p = &self.pipe;
        p.rd_wait.wait_event_interruptible(|| {
            let st = p.state.lock();
            !st.buf.is_empty() || st.writers == 0
        })?;
        let mut st = p.state.lock();
        let n = buf.len().min(st.buf.len());
        for (dst, src) in buf.iter_mut().zip(st.buf.drain(..n)) {
            *dst = src;
        }
        drop(st);
        p.wr_wait.wake_up();
        Ok(n)
    }

    /// Linux: pipe_write() in fs/pipe.c
    fn write(&self, buf: &[u8], _pos: u64) -> Result<usize, Errno> {
        if !self.write_end {
            return Err(Errno::EBADF);
        }
        let p = &self.pipe;
        let mut written = 0;
        while written < buf.len() {
            p.wr_wait.wait_event_interruptible(|| {
                let st = p.state.lock();
                st.buf.len() < PIPE_SIZE || st.readers == 0
            })?;
            let mut st = p.state.lock();
            if st.readers == 0 {
                drop(st);
                crate::signal::send_sig(crate::signal::SIGPIPE, &crate::task::current());
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            let n = (PIPE_SIZE - st.buf.len()).min(buf.len() - written);
            st.buf.extend(&buf[written..written + n]);
            written += n;
            drop(st);
            p.rd_wait.wake_up();
        }
        Ok(written)
    }

    fn stat(&self) -> Kstat {
        Kstat {
            mode: S_IFIFO | 0o600,
            nlink: 1,
            ..Kstat::default()
        }
    }

    /// Linux: pipe_poll() in fs/pipe.c
    fn poll(&self) -> u16 {
        use super::file::{POLLHUP, POLLIN, POLLOUT};
        let st = self.pipe.state.lock();
        match self.write_end {
            false if st.writers == 0 => POLLIN | POLLHUP,
            false => {
                if st.buf.is_empty() {
                    0
                } else {
                    POLLIN
                }
            }
            true if st.readers == 0 => POLLOUT | 0x008,
            true => {
                if st.buf.len() < PIPE_SIZE {
                    POLLOUT
                } else {
                    0
                }
            }
        }
    }

    fn seekable(&self) -> bool {
        false
    }

    /// Linux: pipe_release() in fs/pipe.c
    fn release(&self) {
        let mut st = self.pipe.state.lock();
        if self.write_end {
            st.writers -= 1;
        } else {
            st.readers -= 1;
        }
        drop(st);
        self.pipe.rd_wait.wake_up();
        self.pipe.wr_wait.wake_up();
    }
}
