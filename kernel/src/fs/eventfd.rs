//! eventfd: a file that is one 64-bit counter, for one task or thread to
//! wake another (event loops use it to wake themselves from another
//! thread). A write adds to the counter; a read takes the whole counter,
//! or 1 in semaphore mode, and waits while it is 0. The counter never
//! reaches ULLONG_MAX: a write that would get there waits instead.
//!
//! Linux: fs/eventfd.c
//! Not modelled: the in-kernel signallers (eventfd_signal() from aio, KVM,
//! vhost), whose only user-visible trace would be the POLLERR of a counter
//! they overflowed.

use super::fdtable::get_unused_fd_flags;
use super::file::{File, FileOperations, POLLIN, POLLOUT};
use super::open::{O_CLOEXEC, O_RDWR};
use super::pipe::O_NONBLOCK;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::sched::wait::WaitQueueHead;
use crate::syscall::SysResult;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

/// Reads take 1 and leave the rest (Linux: EFD_SEMAPHORE).
const EFD_SEMAPHORE: u32 = 1;
/// Close the file at execve (Linux: EFD_CLOEXEC = O_CLOEXEC).
const EFD_CLOEXEC: u32 = O_CLOEXEC;
/// Reads and writes fail with EAGAIN rather than wait (Linux: EFD_NONBLOCK).
const EFD_NONBLOCK: u32 = O_NONBLOCK;
/// The flags eventfd2 knows (Linux: EFD_FLAGS_SET).
const EFD_FLAGS_SET: u32 = EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK;
/// Error: the counter overflowed (Linux: EPOLLERR).
const POLLERR: u16 = 0x008;
/// Bytes of the counter a read or write moves.
const COUNT_SIZE: usize = 8;

/// The next eventfd's id, shown in fdinfo (Linux: eventfd_ida).
/// Differs: ids only grow, where Linux's IDA gives back freed ones.
static EVENTFD_NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// An open eventfd (Linux: `struct eventfd_ctx`).
pub struct EventfdCtx {
    /// Readers wait here for a count, writers for room (Linux: wqh).
    wqh: WaitQueueHead,
    /// The counter (Linux: count, under wqh.lock).
    count: SpinLock<u64>,
    /// EFD_SEMAPHORE or 0 (Linux: flags).
    flags: u32,
    /// Its number in fdinfo (Linux: id).
    id: u32,
}

impl FileOperations for EventfdCtx {
    /// Linux: the name do_eventfd() in fs/eventfd.c gives its file
    fn anon_inode_name(&self) -> Option<&'static str> {
        Some("[eventfd]")
    }

    /// Takes the counter (1 in semaphore mode) into an 8-byte buffer,
    /// waiting while it is 0.
    ///
    /// Linux: eventfd_read() in fs/eventfd.c
    ///
    /// # Errors
    /// `EINVAL` for a buffer under 8 bytes; `EAGAIN` when 0 and
    /// non-blocking; `ERESTARTSYS` when a signal ends the wait.
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        if buf.len() < COUNT_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut ucnt = None;
        let mut take = || {
            let mut count = self.count.lock();
            if *count == 0 {
                return false;
            }
            let n = if self.flags & EFD_SEMAPHORE != 0 {
                1
            } else {
                *count
            };
            *count -= n;
            ucnt = Some(n);
            true
        };
        if !take() {
            if f_flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            self.wqh.wait_event_interruptible(&mut take)?;
        }
        let ucnt = ucnt.ok_or(Errno::EAGAIN)?;
        // Writers waiting for room may go on.
        self.wqh.wake_up();
        buf[..COUNT_SIZE].copy_from_slice(&ucnt.to_ne_bytes());
        Ok(COUNT_SIZE)
    }

    /// Adds the 8-byte value written to the counter, waiting while the sum
    /// would reach ULLONG_MAX.
    ///
    /// Linux: eventfd_write() in fs/eventfd.c
    ///
    /// # Errors
    /// `EINVAL` for a write of other than 8 bytes or of the value ULLONG_MAX;
    /// `EAGAIN` when there is no room and non-blocking; `ERESTARTSYS`.
    fn write(&self, buf: &[u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        let ucnt = <[u8; COUNT_SIZE]>::try_from(buf)
            .map(u64::from_ne_bytes)
            .map_err(|_| Errno::EINVAL)?;
        if ucnt == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let add = || {
            let mut count = self.count.lock();
            if u64::MAX - *count <= ucnt {
                return false;
            }
            *count += ucnt;
            true
        };
        if !add() {
            if f_flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            self.wqh.wait_event_interruptible(add)?;
        }
        self.wqh.wake_up();
        Ok(COUNT_SIZE)
    }

    /// Readable while the counter is above 0, writable while 1 more fits,
    /// in error once it reached ULLONG_MAX (only an overflow gets there).
    ///
    /// Linux: eventfd_poll() in fs/eventfd.c
    fn poll(&self) -> u16 {
        let count = *self.count.lock();
        let mut events = 0;
        if count > 0 {
            events |= POLLIN;
        }
        if count == u64::MAX {
            events |= POLLERR;
        }
        if u64::MAX - 1 > count {
            events |= POLLOUT;
        }
        events
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) {
        queue(&self.wqh);
    }

    /// Linux: eventfd_show_fdinfo() in fs/eventfd.c
    fn show_fdinfo(&self) -> Option<String> {
        Some(alloc::format!(
            "eventfd-count: {:16x}\neventfd-id: {}\neventfd-semaphore: {}\n",
            *self.count.lock(),
            self.id,
            u32::from(self.flags & EFD_SEMAPHORE != 0)
        ))
    }
}

/// eventfd2(2): a new eventfd whose counter starts at `count`.
///
/// Linux: do_eventfd() / SYSCALL_DEFINE2(eventfd2) in fs/eventfd.c
///
/// # Errors
/// `EINVAL` for an unknown flag; `EMFILE`, `ENFILE`, `ENOMEM`.
pub fn sys_eventfd2(count: u32, flags: u32) -> SysResult {
    if flags & !EFD_FLAGS_SET != 0 {
        return Err(Errno::EINVAL);
    }
    let fd = get_unused_fd_flags(flags & EFD_CLOEXEC != 0)?;
    let ctx = Arc::try_new(EventfdCtx {
        wqh: WaitQueueHead::new(),
        count: SpinLock::new(u64::from(count)),
        flags: flags & EFD_SEMAPHORE,
        id: EVENTFD_NEXT_ID.fetch_add(1, Ordering::Relaxed),
    })
    .map_err(|_| Errno::ENOMEM)?;
    let file = File::new(ctx, O_RDWR | (flags & EFD_NONBLOCK))?;
    let nr = fd.fd();
    fd.fd_install(file);
    Ok(nr as u64)
}

/// eventfd(2): eventfd2 without flags.
///
/// Linux: SYSCALL_DEFINE1(eventfd) in fs/eventfd.c
pub fn sys_eventfd(count: u32) -> SysResult {
    sys_eventfd2(count, 0)
}
