//! The restart block: how a system call that a signal interrupted with
//! ERESTART_RESTARTBLOCK continues. Such a call (a relative sleep, a poll
//! or futex wait with a timeout) cannot simply run again with its old
//! arguments, which would start the time over; it saves what it needs (the
//! absolute deadline) here, and restart_syscall(2), which the signal code
//! puts in rax when no handler runs, carries on from it.
//!
//! Linux: struct restart_block in include/linux/restart_block.h,
//! set_restart_fn() in include/linux/thread_info.h, sys_restart_syscall()
//! and do_no_restart_syscall() in kernel/signal.c

use crate::errno::Errno;
use crate::syscall::SysResult;
use crate::task::current;

/// What restart_syscall(2) runs, with the state it needs (Linux: the `fn`
/// pointer of struct restart_block and the union beside it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartBlock {
    /// Nothing to continue (Linux: do_no_restart_syscall).
    #[default]
    None,
    /// nanosleep/clock_nanosleep: sleep on to the monotonic `expires_ns`,
    /// writing the time left to `rmtp` if interrupted again (Linux:
    /// hrtimer_nanosleep_restart with restart->nanosleep).
    Nanosleep {
        /// Absolute monotonic expiry, ns.
        expires_ns: u64,
        /// User address for the remaining time, 0 for none.
        rmtp: u64,
    },
    /// clock_nanosleep on a CPU clock: sleep on until the clock reads
    /// `expires_ns` (Linux: posix_cpu_nsleep_restart with restart->nanosleep).
    CpuNanosleep {
        /// The CPU clock (a negative clockid).
        clockid: i32,
        /// Absolute expiry on that clock, ns.
        expires_ns: u64,
        /// User address for the remaining time, 0 for none.
        rmtp: u64,
    },
    /// poll: the same descriptors, until `deadline_ns` (Linux:
    /// do_restart_poll with restart->poll).
    Poll {
        /// User address of the pollfd array.
        ufds: u64,
        /// Number of entries.
        nfds: u64,
        /// Absolute monotonic deadline, `None` to wait without one.
        deadline_ns: Option<u64>,
    },
    /// A futex wait with a timeout (Linux: futex_wait_restart with
    /// restart->futex).
    Futex {
        /// The futex word.
        uaddr: u64,
        /// FUTEX_PRIVATE_FLAG was given.
        private: bool,
        /// The value the word was expected to hold.
        val: u32,
        /// FUTEX_WAIT_BITSET's mask (FUTEX_BITSET_MATCH_ANY for FUTEX_WAIT).
        bitset: u32,
        /// Absolute monotonic deadline, ns.
        deadline_ns: u64,
    },
}

/// Stores how to continue the current call and returns the code that asks
/// for it.
///
/// Linux: set_restart_fn() in include/linux/thread_info.h
pub fn set_restart_fn(block: RestartBlock) -> Errno {
    *current().restart_block.lock() = block;
    Errno::ERESTART_RESTARTBLOCK
}

/// Forgets a pending continuation: a handler ran, so the interrupted call
/// failed with EINTR and nothing is to be continued.
///
/// Linux: rt_sigreturn resetting restart_block.fn to do_no_restart_syscall
/// (arch/x86/kernel/signal_64.c)
pub fn clear_restart_fn() {
    *current().restart_block.lock() = RestartBlock::None;
}

/// restart_syscall(2): continues the call saved in the restart block.
///
/// Linux: SYSCALL_DEFINE0(restart_syscall) in kernel/signal.c
///
/// # Errors
/// `EINTR` when nothing is saved (do_no_restart_syscall), else the errors
/// of the continued call.
pub fn sys_restart_syscall() -> SysResult {
    let block = core::mem::take(&mut *current().restart_block.lock());
    match block {
        RestartBlock::None => Err(Errno::EINTR),
        RestartBlock::Nanosleep { expires_ns, rmtp } => {
            crate::time::hrtimer_nanosleep_restart(expires_ns, rmtp)
        }
        RestartBlock::CpuNanosleep {
            clockid,
            expires_ns,
            rmtp,
        } => crate::posix_cpu_timers::posix_cpu_nsleep_restart(clockid, expires_ns, rmtp),
        RestartBlock::Poll {
            ufds,
            nfds,
            deadline_ns,
        } => crate::fs::select::do_restart_poll(ufds, nfds, deadline_ns),
        RestartBlock::Futex {
            uaddr,
            private,
            val,
            bitset,
            deadline_ns,
        } => crate::futex::futex_wait_restart(uaddr, private, val, bitset, deadline_ns),
    }
}
