//! Waiting for descriptors: poll, ppoll, select and pselect6. The caller
//! queues itself on each file's wait queues, checks each file, and sleeps
//! until a queue, its timeout timer or a signal wakes it; then it checks
//! again. ppoll and pselect6 swap in a signal mask for the wait, as
//! sigsuspend does.
//!
//! Linux: fs/select.c

use super::file::{File, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
use super::read_write::fdget;
use crate::errno::Errno;
use crate::mm::uaccess::{get_user, put_user};
use crate::syscall::SysResult;
use crate::task::current;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Error condition (Linux: POLLERR).
const POLLERR: u16 = 0x008;
/// Urgent data (Linux: POLLPRI).
const POLLPRI: u16 = 0x002;
/// What makes a descriptor readable for select (Linux: POLLIN_SET).
const POLLIN_SET: u16 = POLLIN | POLLHUP | POLLERR;
/// What makes it writable (Linux: POLLOUT_SET).
const POLLOUT_SET: u16 = POLLOUT | POLLERR;
/// What makes it exceptional (Linux: POLLEX_SET).
const POLLEX_SET: u16 = POLLPRI;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Waits until one of the descriptors is ready or `timeout_ms` passes
/// (negative: forever); returns how many are ready. Interrupted by a
/// signal, it is continued through restart_syscall(2) to the same deadline
/// when no handler runs, and fails with EINTR when one does.
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

/// poll with a `struct timespec` timeout and a signal mask in force while
/// it waits. Interrupted by a signal it fails with ERESTARTNOHAND (EINTR
/// once a handler ran), the time left written back to `tsp`.
///
/// Linux: SYSCALL_DEFINE5(ppoll) in fs/select.c
pub fn sys_ppoll(ufds: u64, nfds: u64, tsp: u64, sigmask: u64, sigsetsize: u64) -> SysResult {
    let end_time = match tsp {
        0 => None,
        _ => {
            let [sec, nsec]: [i64; 2] = get_user(tsp)?;
            Some(poll_select_set_timeout(sec, nsec)?)
        }
    };
    set_user_sigmask(sigmask, sigsetsize)?;
    let ret = do_sys_poll(ufds, nfds, end_time);
    poll_select_finish(end_time, tsp, PollTimeType::Timespec, ret)
}

/// Linux: do_sys_poll() / do_poll() in fs/select.c
fn do_sys_poll(ufds: u64, nfds: u64, deadline: Option<u64>) -> SysResult {
    if nfds > super::fdtable::nofile_limit() as u64 {
        return Err(Errno::EINVAL);
    }
    poll_loop(deadline, |table| do_pollfd_pass(table, ufds, nfds))
}

/// Asks each descriptor for its events, queuing the poller on its file,
/// and writes `revents`; returns how many descriptors have events.
///
/// Linux: do_poll() and do_pollfd() in fs/select.c
fn do_pollfd_pass(table: &mut PollTable, ufds: u64, nfds: u64) -> Result<u64, Errno> {
    let mut ready = 0;
    for i in 0..nfds {
        let entry = ufds.checked_add(8 * i).ok_or(Errno::EFAULT)?;
        let [fd, events_revents]: [i32; 2] = get_user(entry)?;
        let events = (events_revents & 0xffff) as u16;
        let revents = match fd {
            fd if fd < 0 => 0,
            fd => match fdget(fd) {
                Ok(f) => table.poll_wait(f)? & (events | POLLERR | POLLHUP),
                Err(_) => POLLNVAL,
            },
        };
        put_user(entry + 6, revents)?;
        ready += u64::from(revents != 0);
    }
    Ok(ready)
}

/// select(2): waits until a descriptor of `inp` is readable, of `outp`
/// writable or of `exp` exceptional; `tvp` is a `struct timeval` (NULL:
/// forever), updated with the time left. Never restarted after a handler,
/// whatever SA_RESTART says.
///
/// Linux: SYSCALL_DEFINE5(select) / kern_select() in fs/select.c
pub fn sys_select(n: i32, inp: u64, outp: u64, exp: u64, tvp: u64) -> SysResult {
    let end_time = match tvp {
        0 => None,
        _ => {
            let [sec, usec]: [i64; 2] = get_user(tvp)?;
            if sec < 0 || usec < 0 {
                return Err(Errno::EINVAL);
            }
            // Microseconds past a second carry into the seconds.
            let sec = sec.saturating_add(usec / 1_000_000);
            Some(poll_select_set_timeout(sec, usec % 1_000_000 * 1000)?)
        }
    };
    let ret = core_sys_select(n, [inp, outp, exp], end_time);
    poll_select_finish(end_time, tvp, PollTimeType::Timeval, ret)
}

/// select with a `struct timespec` timeout and, in the sixth argument's
/// `{ const sigset_t *ss; size_t ss_len; }`, a mask in force while it waits.
///
/// Linux: SYSCALL_DEFINE6(pselect6) / do_pselect() in fs/select.c
pub fn sys_pselect6(n: i32, inp: u64, outp: u64, exp: u64, tsp: u64, sig: u64) -> SysResult {
    let end_time = match tsp {
        0 => None,
        _ => {
            let [sec, nsec]: [i64; 2] = get_user(tsp)?;
            Some(poll_select_set_timeout(sec, nsec)?)
        }
    };
    if sig != 0 {
        let [sigmask, sigsetsize]: [u64; 2] = get_user(sig)?;
        set_user_sigmask(sigmask, sigsetsize)?;
    }
    let ret = core_sys_select(n, [inp, outp, exp], end_time);
    poll_select_finish(end_time, tsp, PollTimeType::Timespec, ret)
}

/// The three sets read in, waited on, and the ready ones written back.
/// The bitmaps are as long as the fd table allows, allocated fallibly.
///
/// Linux: core_sys_select() in fs/select.c
fn core_sys_select(n: i32, sets: [u64; 3], end_time: Option<u64>) -> SysResult {
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
    // Linux: n is cut to the fd table's size, a whole number of longs.
    let max_fds = files.fdt.lock().len().next_multiple_of(64);
    let n = (n as usize).min(max_fds);
    let words = n.div_ceil(64);
    let mut fds = [const { Vec::new() }; 3];
    for (set, &user) in fds.iter_mut().zip(&sets) {
        get_fd_set(set, words, user)?;
    }
    // Bits past n in the last word are not looked at.
    if n % 64 != 0 {
        for set in &mut fds {
            set[words - 1] &= (1u64 << (n % 64)) - 1;
        }
    }
    max_select_fd(&fds)?;
    let mut res = [const { Vec::new() }; 3];
    for set in &mut res {
        set.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
        set.resize(words, 0);
    }
    let ready = poll_loop(end_time, |table| do_select(table, &fds, &mut res))?;
    for (set, &user) in res.iter().zip(&sets) {
        set_fd_set(set, user)?;
    }
    Ok(ready)
}

/// Reads `words` longs of a user fd_set (zeroes for a NULL set).
///
/// Linux: get_fd_set() in fs/select.c
fn get_fd_set(set: &mut Vec<u64>, words: usize, user: u64) -> Result<(), Errno> {
    set.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
    for i in 0..words {
        set.push(match user {
            0 => 0,
            _ => get_user(user.checked_add(8 * i as u64).ok_or(Errno::EFAULT)?)?,
        });
    }
    Ok(())
}

/// Writes a result set back (nothing for a NULL set).
///
/// Linux: set_fd_set() in fs/select.c
fn set_fd_set(set: &[u64], user: u64) -> Result<(), Errno> {
    if user == 0 {
        return Ok(());
    }
    for (i, &word) in set.iter().enumerate() {
        put_user(user.checked_add(8 * i as u64).ok_or(Errno::EFAULT)?, word)?;
    }
    Ok(())
}

/// `EBADF` when a set names a descriptor that is not open.
///
/// Linux: max_select_fd() in fs/select.c
fn max_select_fd(fds: &[Vec<u64>; 3]) -> Result<(), Errno> {
    for (word, bits) in fds_union(fds).enumerate() {
        for bit in BitIter(bits) {
            fdget((word * 64 + bit) as i32)?;
        }
    }
    Ok(())
}

fn fds_union(fds: &[Vec<u64>; 3]) -> impl Iterator<Item = u64> + '_ {
    (0..fds[0].len()).map(|i| fds[0][i] | fds[1][i] | fds[2][i])
}

/// The set bits of a word, lowest first.
struct BitIter(u64);

impl Iterator for BitIter {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        let bit = (self.0 != 0).then(|| self.0.trailing_zeros() as usize)?;
        self.0 &= self.0 - 1;
        Some(bit)
    }
}

/// One pass over the sets: asks each named file for its events, queuing
/// the caller on it, and fills `res`; returns how many bits are set there
/// (a descriptor ready in two sets counts twice). A descriptor closed since
/// max_select_fd is skipped.
///
/// Linux: do_select() in fs/select.c
fn do_select(
    table: &mut PollTable,
    fds: &[Vec<u64>; 3],
    res: &mut [Vec<u64>; 3],
) -> Result<u64, Errno> {
    let mut ready = 0;
    for (word, bits) in fds_union(fds).enumerate() {
        for bit in BitIter(bits) {
            let Ok(file) = fdget((word * 64 + bit) as i32) else {
                continue;
            };
            let mask = table.poll_wait(file)?;
            for (k, set) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET]
                .into_iter()
                .enumerate()
            {
                if fds[k][word] & (1 << bit) != 0 && mask & set != 0 {
                    res[k][word] |= 1 << bit;
                    ready += 1;
                }
            }
        }
    }
    Ok(ready)
}

/// Runs `pass` until it finds something ready, a signal is pending, or
/// the monotonic `deadline` passes (`None`: never); returns what the last
/// pass found, or `ERESTARTNOHAND` for a signal. The caller is
/// TASK_INTERRUPTIBLE and queued on every file before it checks them, so
/// a wake-up during a pass is not lost; one timer wakes it at the deadline.
///
/// Linux: the loops of do_poll() and do_select() in fs/select.c
pub(super) fn poll_loop(
    deadline: Option<u64>,
    mut pass: impl FnMut(&mut PollTable) -> Result<u64, Errno>,
) -> SysResult {
    let timeout = deadline.map(|d| {
        let sleeper = crate::time::hrtimer::HrtimerSleeper::new(current());
        sleeper.start_expires(d);
        sleeper
    });
    loop {
        set_current_state(crate::task::TASK_INTERRUPTIBLE);
        let mut table = PollTable::default();
        let result = match pass(&mut table) {
            Ok(0) if crate::signal::signal_pending_current() => Err(Errno::ERESTARTNOHAND),
            Ok(0)
                if !timeout.as_ref().is_some_and(|t| t.expired())
                    && !deadline.is_some_and(|d| crate::arch::time::ktime_get_ns() >= d) =>
            {
                // Linux: poll_schedule_timeout()
                crate::sched::core::schedule();
                continue;
            }
            result => result,
        };
        drop(table);
        set_current_state(crate::task::TASK_RUNNING);
        return result;
    }
}

/// Linux: set_current_state() in include/linux/sched.h
fn set_current_state(state: u32) {
    current()
        .state
        .store(state, core::sync::atomic::Ordering::Release);
}

/// The deadline for a relative timeout: `Some(0)` for a zero one (check
/// once, and write no time back), else now plus the timeout.
///
/// Linux: poll_select_set_timeout() in fs/select.c
///
/// # Errors
/// `EINVAL` for a negative time or nanoseconds past a second.
fn poll_select_set_timeout(sec: i64, nsec: i64) -> Result<u64, Errno> {
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    if sec == 0 && nsec == 0 {
        return Ok(0);
    }
    let ns = (sec as u64)
        .saturating_mul(NSEC_PER_SEC)
        .saturating_add(nsec as u64);
    Ok(crate::arch::time::ktime_get_ns().saturating_add(ns))
}

/// How the caller's timeout is laid out.
#[derive(Clone, Copy, PartialEq)]
enum PollTimeType {
    /// `struct timeval`: seconds and microseconds.
    Timeval,
    /// `struct timespec`: seconds and nanoseconds.
    Timespec,
}

/// Puts the caller's own mask back unless a signal interrupted the call
/// (then signal delivery does, after the handler), and writes the time
/// left to `p`; if that write fails, an interrupted call is not restarted.
///
/// Linux: poll_select_finish() in fs/select.c
fn poll_select_finish(
    end_time: Option<u64>,
    p: u64,
    kind: PollTimeType,
    ret: SysResult,
) -> SysResult {
    restore_saved_sigmask_unless(ret == Err(Errno::ERESTARTNOHAND));
    let Some(end) = end_time.filter(|&end| p != 0 && end != 0) else {
        return ret;
    };
    let left = end.saturating_sub(crate::arch::time::ktime_get_ns());
    let (sec, frac) = (left / NSEC_PER_SEC, left % NSEC_PER_SEC);
    let frac = match kind {
        PollTimeType::Timeval => frac / 1000,
        PollTimeType::Timespec => frac,
    };
    match (put_user(p, [sec, frac]), ret) {
        (Err(_), Err(Errno::ERESTARTNOHAND)) => Err(Errno::EINTR),
        (_, ret) => ret,
    }
}

/// Installs the mask at `umask` (if any) for the duration of the call,
/// keeping the caller's in `saved_sigmask`.
///
/// Linux: set_user_sigmask() in kernel/signal.c
///
/// # Errors
/// `EINVAL` when `sigsetsize` is not 8; `EFAULT`.
pub(super) fn set_user_sigmask(umask: u64, sigsetsize: u64) -> Result<(), Errno> {
    if umask == 0 {
        return Ok(());
    }
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = get_user(umask)?;
    crate::signal::set_restore_sigmask(mask);
    Ok(())
}

/// Linux: restore_saved_sigmask_unless() in include/linux/sched/signal.h
pub(super) fn restore_saved_sigmask_unless(interrupted: bool) {
    if !interrupted {
        crate::signal::restore_saved_sigmask();
    }
}

/// The files one pass queued the caller on (Linux: `struct poll_wqueues`);
/// dropping it takes the caller off their wait queues (Linux:
/// poll_freewait()).
#[derive(Default)]
pub(super) struct PollTable {
    files: Vec<Arc<File>>,
}

impl PollTable {
    /// Queues the caller on `file`'s wait queues, then asks which events
    /// are ready: the caller is already TASK_INTERRUPTIBLE and queued, so a
    /// wake-up after the check makes it runnable and is not lost.
    ///
    /// Linux: vfs_poll() with __pollwait() as the queueing function
    ///
    /// # Errors
    /// `ENOMEM` when the table cannot grow.
    pub(super) fn poll_wait(&mut self, file: Arc<File>) -> Result<u16, Errno> {
        self.files.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        file.f_op.poll_wait(&mut |wq| wq.add_wait_queue());
        let revents = file.f_op.poll();
        self.files.push(file);
        Ok(revents)
    }
}

impl Drop for PollTable {
    fn drop(&mut self) {
        for file in &self.files {
            file.f_op.poll_wait(&mut |wq| wq.finish_wait());
        }
    }
}
