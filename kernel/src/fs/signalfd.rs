//! signalfd: a file from which a thread reads its own pending signals, a
//! `struct signalfd_siginfo` each, instead of having them delivered. The
//! file keeps only the set of signals it accepts; whoever reads it takes
//! them from its own pending set, so after fork the child reads its own.
//!
//! Linux: fs/signalfd.c

use super::fdtable::get_unused_fd_flags;
use super::file::{File, FileOperations, POLLIN};
use super::open::{O_CLOEXEC, O_RDWR};
use super::pipe::O_NONBLOCK;
use super::read_write::fdget;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::signal::{KernelSiginfo, SIGCHLD, SIGKILL, SIGSTOP, SighandStruct};
use crate::syscall::SysResult;
use crate::task::current;
use alloc::sync::Arc;

/// Close the file at execve (Linux: SFD_CLOEXEC = O_CLOEXEC).
const SFD_CLOEXEC: u32 = O_CLOEXEC;
/// Reads fail with EAGAIN rather than wait (Linux: SFD_NONBLOCK = O_NONBLOCK).
const SFD_NONBLOCK: u32 = O_NONBLOCK;
/// Bytes in one `struct signalfd_siginfo`.
const SIGINFO_SIZE: usize = 128;

/// An open signalfd (Linux: `struct signalfd_ctx`).
pub struct SignalfdCtx {
    /// The signals the file does *not* accept, the complement of the
    /// user's mask, as dequeue_signal wants it (Linux: ctx->sigmask).
    sigmask: SpinLock<u64>,
}

/// The complement of a user's mask, without SIGKILL and SIGSTOP, which a
/// signalfd never takes.
fn ctx_sigmask(user_mask: u64) -> u64 {
    let never = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
    !(user_mask & !never)
}

/// The current thread's signal handler table, where signalfd readers
/// sleep (Linux: current->sighand).
fn sighand() -> Result<Arc<SighandStruct>, Errno> {
    current().sighand.lock().clone().ok_or(Errno::EINVAL)
}

impl FileOperations for SignalfdCtx {
    /// Linux: the name do_signalfd4() in fs/signalfd.c gives its file
    fn anon_inode_name(&self) -> Option<&'static str> {
        Some("[signalfd]")
    }

    /// Fills `buf` with one `struct signalfd_siginfo` per signal taken;
    /// only the first may wait.
    ///
    /// Linux: signalfd_read() in fs/signalfd.c
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut done = 0;
        for out in buf.as_chunks_mut::<SIGINFO_SIZE>().0 {
            let nonblock = done > 0 || f_flags & O_NONBLOCK != 0;
            match self.signalfd_dequeue(nonblock) {
                Ok(info) => signalfd_copyinfo(out, &info),
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
            done += SIGINFO_SIZE;
        }
        Ok(done)
    }

    /// Readable while a signal it accepts is pending for the caller.
    ///
    /// Linux: signalfd_poll() in fs/signalfd.c
    fn poll(&self) -> u16 {
        let mask = *self.sigmask.lock();
        match crate::signal::task_pending_signals(&current()) & !mask {
            0 => 0,
            _ => POLLIN,
        }
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&crate::sched::wait::WaitQueueHead)) {
        if let Ok(sh) = sighand() {
            queue(&sh.signalfd_wqh);
        }
    }

    /// The signals it accepts, as a hex mask.
    ///
    /// Linux: signalfd_show_fdinfo() in fs/signalfd.c
    fn show_fdinfo(&self) -> Option<alloc::string::String> {
        Some(alloc::format!("sigmask:\t{:016x}\n", !*self.sigmask.lock()))
    }

    fn signalfd_ctx(&self) -> Option<&SignalfdCtx> {
        Some(self)
    }
}

impl SignalfdCtx {
    /// Takes one accepted signal off the caller's pending set, waiting for
    /// one unless `nonblock`.
    ///
    /// Linux: signalfd_dequeue() in fs/signalfd.c
    ///
    /// # Errors
    /// `EAGAIN` when none is pending and `nonblock`; `ERESTARTSYS` when
    /// another signal interrupts the wait.
    fn signalfd_dequeue(&self, nonblock: bool) -> Result<KernelSiginfo, Errno> {
        let me = current();
        let take = || crate::signal::dequeue_signal(&me, *self.sigmask.lock());
        if let Some((_, info)) = take() {
            return Ok(info);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        let mut got = None;
        sighand()?.signalfd_wqh.wait_event_interruptible(|| {
            got = take();
            got.is_some()
        })?;
        got.map(|(_, info)| info).ok_or(Errno::EAGAIN)
    }
}

/// Lays out one `struct signalfd_siginfo`: the fields the signal's kind
/// fills in its siginfo, at Linux's offsets, the rest zero.
///
/// Linux: signalfd_copyinfo() in fs/signalfd.c
/// Differs: no siginfo here carries a poll's fields, so ssi_band and
/// ssi_fd stay 0.
fn signalfd_copyinfo(out: &mut [u8; SIGINFO_SIZE], info: &KernelSiginfo) {
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &[0; SIGINFO_SIZE]);
    put(0, &(info.signo as u32).to_ne_bytes());
    put(8, &info.code.to_ne_bytes());
    if info.addr != 0 {
        // A fault: only the address (Linux: SIL_FAULT).
        put(72, &info.addr.to_ne_bytes());
        return;
    }
    if info.code == crate::signal::SI_TIMER {
        // A POSIX timer (Linux: SIL_TIMER): ssi_tid, ssi_overrun, the value.
        put(24, &(info.timerid as u32).to_ne_bytes());
        put(32, &(info.overrun as u32).to_ne_bytes());
        put(44, &(info.value as u32).to_ne_bytes());
        put(48, &info.value.to_ne_bytes());
        return;
    }
    put(12, &(info.pid as u32).to_ne_bytes());
    put(16, &info.uid.to_ne_bytes());
    if info.code < 0 {
        // Sent with a value, sigqueue(3) (Linux: SIL_RT): ssi_int, ssi_ptr.
        put(44, &(info.value as u32).to_ne_bytes());
        put(48, &info.value.to_ne_bytes());
    } else if info.signo == SIGCHLD && info.code > 0 {
        // Linux: SIL_CHLD: ssi_status, ssi_utime, ssi_stime.
        put(40, &info.status.to_ne_bytes());
        put(56, &info.utime.to_ne_bytes());
        put(64, &info.stime.to_ne_bytes());
    }
}

/// signalfd4(2): a new signalfd for the signals in the mask at
/// `user_mask` when `ufd` is -1, else a new mask for the signalfd `ufd`.
///
/// Linux: SYSCALL_DEFINE4(signalfd4) / do_signalfd4() in fs/signalfd.c
///
/// # Errors
/// `EINVAL` for unknown flags, a `sizemask` that is not 8 or an `ufd`
/// that is not a signalfd; `EBADF` for an `ufd` that is not open;
/// `EFAULT`; `EMFILE`/`ENFILE`/`ENOMEM` as any new file.
pub fn sys_signalfd4(ufd: i32, user_mask: u64, sizemask: u64, flags: u32) -> SysResult {
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 || sizemask != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = ctx_sigmask(crate::mm::uaccess::get_user(user_mask)?);
    if ufd == -1 {
        let fd = get_unused_fd_flags(flags & SFD_CLOEXEC != 0)?;
        let ctx = Arc::try_new(SignalfdCtx {
            sigmask: SpinLock::new(mask),
        })
        .map_err(|_| Errno::ENOMEM)?;
        let file = File::new(ctx, O_RDWR | (flags & SFD_NONBLOCK))?;
        let nr = fd.fd();
        fd.fd_install(file);
        return Ok(nr as u64);
    }
    let file = fdget(ufd)?;
    let ctx = file.f_op.signalfd_ctx().ok_or(Errno::EINVAL)?;
    *ctx.sigmask.lock() = mask;
    // A reader may now accept a signal already pending.
    sighand()?.signalfd_wqh.wake_up();
    Ok(ufd as u64)
}

/// signalfd(2): signalfd4 without flags.
///
/// Linux: SYSCALL_DEFINE3(signalfd) in fs/signalfd.c
pub fn sys_signalfd(ufd: i32, user_mask: u64, sizemask: u64) -> SysResult {
    sys_signalfd4(ufd, user_mask, sizemask, 0)
}
