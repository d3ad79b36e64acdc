//! Pipes: a ring of page-sized buffers with a read end and a write end.
//!
//! Each slot of the ring holds one page from the page allocator, taken
//! when a write needs it and freed when a read empties it, so a pipe's
//! memory comes from free pages, never from the kernel heap. The ring has
//! PIPE_DEF_BUFFERS slots (64 KiB); F_SETPIPE_SZ resizes it. Every pipe's
//! slots are charged to its user (pipe-user-pages-soft/-hard).
//!
//! A pipe whose writer has O_DIRECT is a packet pipe: each write (each
//! page of a longer one) is a packet of its own, and a read returns at
//! most one packet, dropping what of it does not fit.
//!
//! Linux: fs/pipe.c, include/linux/pipe_fs_i.h
//! Not modelled: splice. FIFOs in the file system share this code from
//! fifo.rs.

use super::file::{FileOperations, Kstat, POLLHUP, POLLIN, POLLOUT, S_IFIFO};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::page_alloc::OwnedPage;
use crate::sched::wait::WaitQueueHead;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Slots of a new pipe (Linux: PIPE_DEF_BUFFERS, 16 pages = 64 KiB).
pub const PIPE_DEF_BUFFERS: usize = 16;
/// Slots of a new pipe once its user is past the soft limit (Linux:
/// PIPE_MIN_DEF_BUFFERS).
const PIPE_MIN_DEF_BUFFERS: usize = 2;
/// Writes of at most this many bytes are atomic (Linux: PIPE_BUF).
pub const PIPE_BUF: usize = 4096;
/// Non-blocking I/O (Linux: O_NONBLOCK).
pub const O_NONBLOCK: u32 = 0o4000;
/// On a pipe: packet mode (Linux: O_DIRECT, tested by is_packetized()).
pub const O_DIRECT: u32 = 0o40000;
/// Inode numbers of pipes (Linux: get_next_ino() on pipefs).
static PIPE_INO: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1 << 20);

/// /proc/sys/fs/pipe-max-size: the largest F_SETPIPE_SZ an unprivileged
/// user may ask for (Linux: pipe_max_size).
pub static PIPE_MAX_SIZE: AtomicUsize = AtomicUsize::new(1_048_576);
/// /proc/sys/fs/pipe-user-pages-soft (Linux: pipe_user_pages_soft).
pub static PIPE_USER_PAGES_SOFT: AtomicUsize = AtomicUsize::new(PIPE_DEF_BUFFERS * 1024);
/// /proc/sys/fs/pipe-user-pages-hard; 0 means no limit (Linux:
/// pipe_user_pages_hard).
pub static PIPE_USER_PAGES_HARD: AtomicUsize = AtomicUsize::new(0);
/// Pipe slots charged to the one user there is (Linux: user->pipe_bufs).
/// Differs: every task runs as root until credentials exist, so one counter.
static ROOT_PIPE_BUFS: AtomicUsize = AtomicUsize::new(0);

/// One slot's contents: `len` bytes at `offset` of `page` (Linux: `struct
/// pipe_buffer`).
pub(super) struct PipeBuffer {
    page: OwnedPage,
    offset: usize,
    len: usize,
    /// One packet of a packet pipe: read whole or not at all, never merged
    /// with a later write (Linux: PIPE_BUF_FLAG_PACKET; the others carry
    /// PIPE_BUF_FLAG_CAN_MERGE).
    packet: bool,
}

pub(super) struct PipeState {
    /// The filled slots, oldest first; its capacity is reserved up front so
    /// that pushing never allocates.
    pub(super) bufs: VecDeque<PipeBuffer>,
    /// Slots the ring may use (Linux: max_usage).
    pub(super) max_usage: usize,
    pub(super) readers: usize,
    pub(super) writers: usize,
    /// Opens of a FIFO for reading and for writing so far, which a FIFO
    /// opener waiting for its partner watches (Linux: r_counter, w_counter).
    pub(super) r_counter: usize,
    pub(super) w_counter: usize,
}

/// The shared part of a pipe (Linux: `struct pipe_inode_info`). Its state
/// is under `state`; sleepers wait on `rd_wait` for data and on `wr_wait`
/// for room.
pub struct PipeInodeInfo {
    /// The inode number, shown as `pipe:[ino]` in `/proc/<pid>/fd`.
    ino: u64,
    pub(super) state: SpinLock<PipeState>,
    pub(super) rd_wait: WaitQueueHead,
    pub(super) wr_wait: WaitQueueHead,
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<PipeInodeInfo>,
    write_end: bool,
}

/// What one step of a write managed while holding the lock.
enum Step {
    Copied(usize),
    NeedPage,
    Full,
}

/// Adds `new` slots to the user's charge and returns the total, minus `old`.
///
/// Linux: account_pipe_buffers() in fs/pipe.c
fn account_pipe_buffers(old: usize, new: usize) -> usize {
    let total = ROOT_PIPE_BUFS.fetch_add(new, Ordering::Relaxed) + new;
    ROOT_PIPE_BUFS.fetch_sub(old, Ordering::Relaxed);
    total - old
}

/// Linux: too_many_pipe_buffers_soft() in fs/pipe.c
fn too_many_pipe_buffers_soft(user_bufs: usize) -> bool {
    let soft = PIPE_USER_PAGES_SOFT.load(Ordering::Relaxed);
    soft != 0 && user_bufs > soft
}

/// Linux: too_many_pipe_buffers_hard() in fs/pipe.c
fn too_many_pipe_buffers_hard(user_bufs: usize) -> bool {
    let hard = PIPE_USER_PAGES_HARD.load(Ordering::Relaxed);
    hard != 0 && user_bufs > hard
}

/// Whether the caller is held to the per-user limits.
///
/// Linux: pipe_is_unprivileged_user() in fs/pipe.c
/// Differs: every task is root (CAP_SYS_RESOURCE) until credentials exist, so this is false and the limits are counted but never bite.
fn pipe_is_unprivileged_user() -> bool {
    false
}

/// A ring with room for `slots` buffers, allocated without aborting.
fn new_ring(slots: usize) -> Result<VecDeque<PipeBuffer>, Errno> {
    let mut ring = VecDeque::new();
    ring.try_reserve_exact(slots).map_err(|_| Errno::ENOMEM)?;
    Ok(ring)
}

/// Linux: alloc_pipe_info() in fs/pipe.c
pub(super) fn alloc_pipe_info() -> Result<Arc<PipeInodeInfo>, Errno> {
    let mut pipe_bufs = PIPE_DEF_BUFFERS;
    let mut user_bufs = account_pipe_buffers(0, pipe_bufs);
    if too_many_pipe_buffers_soft(user_bufs) && pipe_is_unprivileged_user() {
        user_bufs = account_pipe_buffers(pipe_bufs, PIPE_MIN_DEF_BUFFERS);
        pipe_bufs = PIPE_MIN_DEF_BUFFERS;
    }
    let fail = |e| {
        account_pipe_buffers(pipe_bufs, 0);
        e
    };
    if too_many_pipe_buffers_hard(user_bufs) && pipe_is_unprivileged_user() {
        return Err(fail(Errno::ENFILE));
    }
    let bufs = new_ring(pipe_bufs).map_err(fail)?;
    Arc::try_new(PipeInodeInfo {
        ino: PIPE_INO.fetch_add(1, Ordering::Relaxed),
        state: SpinLock::new(PipeState {
            bufs,
            max_usage: pipe_bufs,
            readers: 1,
            writers: 1,
            r_counter: 0,
            w_counter: 0,
        }),
        rd_wait: WaitQueueHead::new(),
        wr_wait: WaitQueueHead::new(),
    })
    .map_err(|_| Errno::ENOMEM)
}

impl Drop for PipeInodeInfo {
    /// Linux: free_pipe_info() in fs/pipe.c (the pages go with the ring)
    fn drop(&mut self) {
        account_pipe_buffers(self.state.lock().max_usage, 0);
    }
}

/// Creates a pipe; returns (read end, write end).
///
/// Linux: create_pipe_files() in fs/pipe.c
///
/// # Errors
/// `ENOMEM`, or `ENFILE` past pipe-user-pages-hard.
pub fn create_pipe() -> Result<(Arc<PipeEnd>, Arc<PipeEnd>), Errno> {
    let pipe = alloc_pipe_info()?;
    let end = |write_end| {
        Arc::try_new(PipeEnd {
            pipe: pipe.clone(),
            write_end,
        })
        .map_err(|_| Errno::ENOMEM)
    };
    Ok((end(false)?, end(true)?))
}

impl PipeState {
    /// Takes up to `buf.len()` bytes from the oldest slots, freeing each
    /// page it empties; a packet ends the read, and its bytes that did not
    /// fit are dropped.
    fn copy_out(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            let Some(front) = self.bufs.front_mut() else {
                break;
            };
            let take = front.len.min(buf.len() - n);
            let src = &front.page.as_bytes()[front.offset..front.offset + take];
            buf[n..n + take].copy_from_slice(src);
            front.offset += take;
            front.len -= take;
            n += take;
            if front.packet {
                self.bufs.pop_front();
                break;
            }
            if front.len == 0 {
                self.bufs.pop_front();
            }
        }
        n
    }

    /// One step of pipe_write(): on the first step, the part of the write
    /// past a whole number of pages joins the last slot if it fits there
    /// whole; otherwise the next page-sized piece goes into a new slot.
    /// Because a write of at most PIPE_BUF bytes is placed in one step,
    /// it is never split or interleaved. A packet never joins a slot.
    fn copy_in(
        &mut self,
        rest: &[u8],
        first: bool,
        spare: &mut Option<OwnedPage>,
        packet: bool,
    ) -> Step {
        let chars = rest.len() % PAGE_SIZE;
        if let (true, true, Some(last)) = (first, chars != 0, self.bufs.back_mut())
            && !last.packet
            && !packet
        {
            let end = last.offset + last.len;
            if end + chars <= PAGE_SIZE {
                last.page.as_bytes_mut()[end..end + chars].copy_from_slice(&rest[..chars]);
                last.len += chars;
                return Step::Copied(chars);
            }
        }
        if self.bufs.len() >= self.max_usage {
            return Step::Full;
        }
        let Some(mut page) = spare.take() else {
            return Step::NeedPage;
        };
        let n = rest.len().min(PAGE_SIZE);
        page.as_bytes_mut()[..n].copy_from_slice(&rest[..n]);
        self.bufs.push_back(PipeBuffer {
            page,
            offset: 0,
            len: n,
            packet,
        });
        Step::Copied(n)
    }

    /// Whether a writer could place something now.
    fn writable(&self) -> bool {
        self.bufs.len() < self.max_usage || self.readers == 0
    }
}

/// What a read or write that stops early returns: the bytes so far, or
/// `err` if there are none.
fn so_far(done: usize, err: Errno) -> Result<usize, Errno> {
    match done {
        0 => Err(err),
        n => Ok(n),
    }
}

impl PipeInodeInfo {
    /// Linux: pipe_read() in fs/pipe.c
    pub(super) fn pipe_read(&self, buf: &mut [u8], f_flags: u32) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let mut st = self.state.lock();
            if !st.bufs.is_empty() {
                let n = st.copy_out(buf);
                drop(st);
                self.wr_wait.wake_up();
                return Ok(n);
            }
            if st.writers == 0 {
                return Ok(0);
            }
            drop(st);
            if f_flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            self.rd_wait.wait_event_interruptible(|| {
                let st = self.state.lock();
                !st.bufs.is_empty() || st.writers == 0
            })?;
        }
    }

    /// Linux: pipe_write() in fs/pipe.c
    pub(super) fn pipe_write(&self, buf: &[u8], f_flags: u32) -> Result<usize, Errno> {
        let mut written = 0;
        let mut spare = None;
        while written < buf.len() {
            let mut st = self.state.lock();
            if st.readers == 0 {
                drop(st);
                crate::signal::send_sig(crate::signal::SIGPIPE, &crate::task::current());
                return so_far(written, Errno::EPIPE);
            }
            let packet = f_flags & O_DIRECT != 0;
            let step = st.copy_in(&buf[written..], written == 0, &mut spare, packet);
            drop(st);
            match step {
                Step::Copied(n) => {
                    written += n;
                    self.rd_wait.wake_up();
                }
                Step::NeedPage => match OwnedPage::alloc() {
                    Ok(page) => spare = Some(page),
                    Err(e) => return so_far(written, e),
                },
                Step::Full if f_flags & O_NONBLOCK != 0 => return so_far(written, Errno::EAGAIN),
                Step::Full => {
                    if let Err(e) = self
                        .wr_wait
                        .wait_event_interruptible(|| self.state.lock().writable())
                    {
                        return so_far(written, e);
                    }
                }
            }
        }
        Ok(written)
    }

    /// The ring's size in bytes (F_GETPIPE_SZ).
    pub fn size(&self) -> usize {
        self.state.lock().max_usage * PAGE_SIZE
    }

    /// Resizes the ring to `nr_slots`, keeping its contents.
    ///
    /// Linux: pipe_resize_ring() / pipe_set_size() in fs/pipe.c
    ///
    /// # Errors
    /// `EBUSY` if the pipe holds more pages than `nr_slots`; `EPERM` past
    /// the per-user limits for an unprivileged user; `ENOMEM`.
    fn pipe_set_size(&self, nr_slots: usize) -> Result<(), Errno> {
        let mut ring = new_ring(nr_slots)?;
        let mut st = self.state.lock();
        if nr_slots > st.max_usage {
            let user_bufs = account_pipe_buffers(st.max_usage, nr_slots);
            if (too_many_pipe_buffers_hard(user_bufs) || too_many_pipe_buffers_soft(user_bufs))
                && pipe_is_unprivileged_user()
            {
                account_pipe_buffers(nr_slots, st.max_usage);
                return Err(Errno::EPERM);
            }
        } else {
            if st.bufs.len() > nr_slots {
                return Err(Errno::EBUSY);
            }
            account_pipe_buffers(st.max_usage, nr_slots);
        }
        ring.extend(st.bufs.drain(..));
        let old = core::mem::replace(&mut st.bufs, ring);
        st.max_usage = nr_slots;
        drop(st);
        drop(old);
        self.wr_wait.wake_up();
        Ok(())
    }
}

/// The ring size F_SETPIPE_SZ makes of `size` bytes: at least a page, a
/// power of two of pages; 0 for sizes it refuses.
///
/// Linux: round_pipe_size() in fs/pipe.c
fn round_pipe_size(size: u64) -> u64 {
    if size > 1 << 31 {
        return 0;
    }
    size.max(PAGE_SIZE as u64).next_power_of_two()
}

/// F_SETPIPE_SZ and F_GETPIPE_SZ.
///
/// Linux: pipe_fcntl() in fs/pipe.c
///
/// # Errors
/// `EBADF` for a file that is not a pipe; `EINVAL` for a size of more than
/// 2 GiB; `EPERM` above pipe-max-size for an unprivileged user; as
/// pipe_set_size.
pub fn pipe_fcntl(pipe: Option<&PipeInodeInfo>, set: bool, arg: u32) -> Result<u64, Errno> {
    let pipe = pipe.ok_or(Errno::EBADF)?;
    if !set {
        return Ok(pipe.size() as u64);
    }
    let size = round_pipe_size(u64::from(arg));
    let nr_slots = (size / PAGE_SIZE as u64) as usize;
    if nr_slots == 0 {
        return Err(Errno::EINVAL);
    }
    if size > PIPE_MAX_SIZE.load(Ordering::Relaxed) as u64 && pipe_is_unprivileged_user() {
        return Err(Errno::EPERM);
    }
    pipe.pipe_set_size(nr_slots)?;
    Ok(size)
}

impl FileOperations for PipeEnd {
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        if self.write_end {
            return Err(Errno::EBADF);
        }
        self.pipe.pipe_read(buf, f_flags)
    }

    fn write(&self, buf: &[u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        if !self.write_end {
            return Err(Errno::EBADF);
        }
        self.pipe.pipe_write(buf, f_flags)
    }

    fn stat(&self) -> Kstat {
        Kstat {
            ino: self.pipe.ino,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            ..Kstat::default()
        }
    }

    /// Linux: pipe_poll() in fs/pipe.c
    fn poll(&self) -> u16 {
        const POLLERR: u16 = 0x008;
        let st = self.pipe.state.lock();
        match self.write_end {
            false if st.writers == 0 && st.bufs.is_empty() => POLLHUP,
            false if st.writers == 0 => POLLIN | POLLHUP,
            false if st.bufs.is_empty() => 0,
            false => POLLIN,
            true if st.readers == 0 => POLLOUT | POLLERR,
            true if st.bufs.len() < st.max_usage => POLLOUT,
            true => 0,
        }
    }

    /// Linux: the poll_wait() calls in pipe_poll() in fs/pipe.c
    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) {
        queue(&self.pipe.rd_wait);
        queue(&self.pipe.wr_wait);
    }

    fn seekable(&self) -> bool {
        false
    }

    /// Linux: pipefs_dname() in fs/pipe.c
    fn d_dname(&self) -> Option<alloc::string::String> {
        Some(alloc::format!("pipe:[{}]", self.pipe.ino))
    }

    fn get_pipe_info(&self) -> Option<&PipeInodeInfo> {
        Some(&self.pipe)
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
