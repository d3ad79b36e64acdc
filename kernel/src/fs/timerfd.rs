//! timerfd: a timer read as a file. Each expiry adds to a count that a
//! read takes as one u64 and that poll reports as readable, so an event
//! loop waits for its timers and its descriptors in one epoll_wait. The
//! timer is a kernel hrtimer; a periodic one is not restarted when it
//! fires but when the count is read (or timerfd_gettime looks), the
//! periods it missed then added to the count, as Linux does.
//!
//! Linux: fs/timerfd.c
//! Differs: every timer runs on CLOCK_MONOTONIC's hrtimer (hrtimer.rs has
//! no per-clock bases): CLOCK_BOOTTIME is CLOCK_MONOTONIC (no suspend), an
//! absolute CLOCK_REALTIME time is converted once and does not follow a
//! later clock_settime, which only cancels the TFD_TIMER_CANCEL_ON_SET
//! ones; the _ALARM clocks are their base clocks (no suspend to wake from).
//! Not modelled: the TFD_IOC_SET_TICKS ioctl (checkpoint/restore), time
//! namespaces.

use super::fdtable::get_unused_fd_flags;
use super::file::{File, FileOperations, POLLIN};
use super::open::{O_CLOEXEC, O_RDWR};
use super::pipe::O_NONBLOCK;
use super::read_write::fdget;
use crate::arch::sync::SpinLock;
use crate::arch::time::ktime_get_ns;
use crate::errno::Errno;
use crate::sched::wait::WaitQueueHead;
use crate::syscall::SysResult;
use crate::time::hrtimer::{
    HrTimer, HrtimerRestart, hrtimer_cancel, hrtimer_start, hrtimer_try_init, hrtimer_try_to_cancel,
};
use crate::time::posix_timers::{get_itimerspec, put_itimerspec};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_BOOTTIME: u32 = 7;
const CLOCK_REALTIME_ALARM: u32 = 8;
const CLOCK_BOOTTIME_ALARM: u32 = 9;
/// The value is an absolute time on the timer's clock (Linux: TFD_TIMER_ABSTIME).
const TFD_TIMER_ABSTIME: u32 = 1;
/// Reads fail with ECANCELED once the realtime clock is set (Linux:
/// TFD_TIMER_CANCEL_ON_SET).
const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
/// The flags timerfd_settime knows (Linux: TFD_SETTIME_FLAGS).
const TFD_SETTIME_FLAGS: u32 = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
/// The flags timerfd_create knows (Linux: TFD_CREATE_FLAGS).
const TFD_CREATE_FLAGS: u32 = O_CLOEXEC | O_NONBLOCK;
/// The latest time there is, in ns (Linux: KTIME_MAX).
const KTIME_MAX: u64 = i64::MAX as u64;
/// Bytes of the count a read gives.
const TICKS_SIZE: usize = 8;

/// A timer's changing state. Lock: `TimerfdShared::state` (Linux: wqh.lock).
struct TimerfdState {
    /// Expiry in ns on CLOCK_MONOTONIC; 0 when never armed or disarmed
    /// (Linux: the hrtimer's expiry, which timerfd_setup() sets even when
    /// it does not start the timer).
    expires: u64,
    /// Period in ns, 0 for a one-shot (Linux: tintv).
    tintv: u64,
    /// Expiries not yet read (Linux: ticks).
    ticks: u64,
    /// The timer fired and was not restarted yet (Linux: expired).
    expired: bool,
    /// The flags of the last timerfd_settime (Linux: settime_flags).
    settime_flags: u32,
    /// On the cancel list: an absolute realtime timer set with
    /// TFD_TIMER_CANCEL_ON_SET (Linux: might_cancel).
    might_cancel: bool,
    /// The realtime clock's offset when last armed or read; None once a
    /// clock_settime cancelled the timer (Linux: moffs, KTIME_MAX).
    moffs: Option<u64>,
}

/// What the timer's function and the cancel list share with the file.
struct TimerfdShared {
    state: SpinLock<TimerfdState>,
    /// Readers and pollers wait here for a tick (Linux: wqh).
    wqh: WaitQueueHead,
}

/// An open timerfd (Linux: `struct timerfd_ctx`).
pub struct TimerfdCtx {
    /// The clock it was created on (Linux: clockid).
    clockid: u32,
    /// Linux: t.tmr
    timer: Arc<HrTimer>,
    shared: Arc<TimerfdShared>,
}

/// The timerfds set with TFD_TIMER_CANCEL_ON_SET (Linux: cancel_list,
/// under cancel_lock). Lock order: this list, then a timer's state.
static CANCEL_LIST: SpinLock<Vec<Weak<TimerfdShared>>> = SpinLock::new(Vec::new());

/// An expiry: one more tick for readers (Linux: timerfd_triggered()).
///
/// Linux: timerfd_tmrproc() in fs/timerfd.c
fn timerfd_tmrproc(shared: &TimerfdShared) -> HrtimerRestart {
    {
        let mut st = shared.state.lock();
        st.expired = true;
        st.ticks = st.ticks.saturating_add(1);
    }
    shared.wqh.wake_up();
    HrtimerRestart::NoRestart
}

/// The realtime clock was set: every CANCEL_ON_SET timer whose offset
/// changed is cancelled, which a read reports with ECANCELED.
///
/// Linux: timerfd_clock_was_set() in fs/timerfd.c
pub fn timerfd_clock_was_set() {
    let moffs = crate::timekeeping::offs_real();
    let mut list = CANCEL_LIST.lock();
    list.retain(|w| w.strong_count() > 0);
    for shared in list.iter().filter_map(Weak::upgrade) {
        let mut st = shared.state.lock();
        if st.might_cancel && st.moffs != Some(moffs) {
            st.moffs = None;
            st.ticks = st.ticks.saturating_add(1);
            drop(st);
            shared.wqh.wake_up();
        }
    }
}

/// Reports a cancel once: true if a clock_settime cancelled the timer
/// since it was armed or last read.
///
/// Linux: timerfd_canceled() in fs/timerfd.c
fn timerfd_canceled(st: &mut TimerfdState) -> bool {
    if !st.might_cancel || st.moffs.is_some() {
        return false;
    }
    st.moffs = Some(crate::timekeeping::offs_real());
    true
}

impl TimerfdCtx {
    /// Whether the clock is a realtime one (absolute times convert).
    fn is_realtime(&self) -> bool {
        matches!(self.clockid, CLOCK_REALTIME | CLOCK_REALTIME_ALARM)
    }

    /// Whether the clock is an alarm clock (CAP_WAKE_ALARM to arm).
    fn isalarm(&self) -> bool {
        matches!(self.clockid, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM)
    }

    /// Moves an expired periodic timer's expiry past now by whole periods;
    /// returns how many.
    ///
    /// Linux: hrtimer_forward_now() in include/linux/hrtimer.h
    fn hrtimer_forward_now(st: &mut TimerfdState) -> u64 {
        let now = ktime_get_ns();
        if st.tintv == 0 || now < st.expires {
            return 0;
        }
        let n = (now - st.expires) / st.tintv + 1;
        st.expires = st.expires.saturating_add(n.saturating_mul(st.tintv));
        n
    }

    /// Starts an expired periodic timer again at its next period; the
    /// periods missed since it fired are added to the count.
    ///
    /// Linux: the hrtimer_forward_now() / hrtimer_restart() pair in
    /// timerfd_read_iter() and do_timerfd_gettime()
    fn timerfd_restart(&self, st: &mut TimerfdState) {
        let n = Self::hrtimer_forward_now(st);
        st.ticks = st.ticks.saturating_add(n.saturating_sub(1));
        hrtimer_start(&self.timer, st.expires);
    }

    /// The time left before the next expiry, 0 when disarmed or past.
    ///
    /// Linux: timerfd_get_remaining() in fs/timerfd.c
    fn timerfd_get_remaining(st: &TimerfdState) -> u64 {
        st.expires.saturating_sub(ktime_get_ns())
    }

    /// Puts the timer on or off the cancel list as the flags ask.
    ///
    /// Linux: timerfd_setup_cancel() in fs/timerfd.c
    fn timerfd_setup_cancel(&self, flags: u32) -> Result<(), Errno> {
        let want = self.is_realtime()
            && flags & TFD_TIMER_ABSTIME != 0
            && flags & TFD_TIMER_CANCEL_ON_SET != 0;
        let mut list = CANCEL_LIST.lock();
        list.retain(|w| w.strong_count() > 0 && !core::ptr::eq(w.as_ptr(), &*self.shared));
        if want {
            list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            list.push(Arc::downgrade(&self.shared));
        }
        self.shared.state.lock().might_cancel = want;
        Ok(())
    }

    /// Runs `f` on the state with the timer stopped: waits, with the lock
    /// dropped, while the timer's function runs on another CPU.
    ///
    /// Linux: the hrtimer_try_to_cancel() retry loop of do_timerfd_settime()
    fn with_timer_stopped<R>(&self, f: impl FnOnce(&mut TimerfdState) -> R) -> R {
        loop {
            let mut st = self.shared.state.lock();
            if hrtimer_try_to_cancel(&self.timer).is_some() {
                return f(&mut st);
            }
            drop(st);
            core::hint::spin_loop();
        }
    }

    /// Arms the timer with (interval, value) in ns, or disarms it for a
    /// value of 0; the count starts again from 0.
    ///
    /// Linux: timerfd_setup() in fs/timerfd.c
    fn timerfd_setup(&self, st: &mut TimerfdState, flags: u32, (tintv, texp): (u64, u64)) {
        st.expired = false;
        st.ticks = 0;
        // Linux: timespec64_to_ktime() clamps at KTIME_MAX.
        let (tintv, texp) = (tintv.min(KTIME_MAX), texp.min(KTIME_MAX));
        st.tintv = tintv;
        st.expires = 0;
        if texp != 0 {
            st.expires = match flags & TFD_TIMER_ABSTIME {
                0 => ktime_get_ns().saturating_add(texp).min(KTIME_MAX),
                _ => crate::time::to_monotonic(self.is_realtime(), texp),
            };
            // A time already past fires at the next tick, as on Linux.
            hrtimer_start(&self.timer, st.expires);
        }
        if st.might_cancel {
            st.moffs = Some(crate::timekeeping::offs_real());
        }
        st.settime_flags = flags & TFD_SETTIME_FLAGS;
    }
}

impl FileOperations for TimerfdCtx {
    /// Linux: the name SYSCALL_DEFINE2(timerfd_create) in fs/timerfd.c gives its file
    fn anon_inode_name(&self) -> Option<&'static str> {
        Some("[timerfd]")
    }

    /// The expiries since the last read, as one u64, waiting for the first.
    ///
    /// Linux: timerfd_read_iter() in fs/timerfd.c
    ///
    /// # Errors
    /// `EINVAL` for a buffer under 8 bytes; `EAGAIN` when none and
    /// non-blocking; `ECANCELED` once clock_settime cancelled a
    /// TFD_TIMER_CANCEL_ON_SET timer; `ERESTARTSYS` when a signal ends the wait.
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        if buf.len() < TICKS_SIZE {
            return Err(Errno::EINVAL);
        }
        let has_ticks = || self.shared.state.lock().ticks != 0;
        let mut res = Err(Errno::EAGAIN);
        if f_flags & O_NONBLOCK == 0 {
            res = self.shared.wqh.wait_event_interruptible(has_ticks);
        }
        let mut st = self.shared.state.lock();
        if timerfd_canceled(&mut st) {
            st.ticks = 0;
            st.expired = false;
            return Err(Errno::ECANCELED);
        }
        if st.ticks == 0 {
            return res.and(Err(Errno::EAGAIN));
        }
        if st.expired && st.tintv != 0 {
            self.timerfd_restart(&mut st);
        }
        let ticks = st.ticks;
        st.expired = false;
        st.ticks = 0;
        drop(st);
        buf[..TICKS_SIZE].copy_from_slice(&ticks.to_ne_bytes());
        Ok(TICKS_SIZE)
    }

    /// Readable while expiries are waiting to be read.
    ///
    /// Linux: timerfd_poll() in fs/timerfd.c
    fn poll(&self) -> u16 {
        match self.shared.state.lock().ticks {
            0 => 0,
            _ => POLLIN,
        }
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) {
        queue(&self.shared.wqh);
    }

    /// Linux: timerfd_show() in fs/timerfd.c
    fn show_fdinfo(&self) -> Option<String> {
        let st = self.shared.state.lock();
        let value = Self::timerfd_get_remaining(&st);
        let ts = |ns: u64| (ns / 1_000_000_000, ns % 1_000_000_000);
        Some(alloc::format!(
            "clockid: {}\nticks: {}\nsettime flags: 0{:o}\nit_value: {:?}\nit_interval: {:?}\n",
            self.clockid,
            st.ticks,
            st.settime_flags,
            ts(value),
            ts(st.tintv)
        ))
    }

    fn timerfd_ctx(&self) -> Option<&TimerfdCtx> {
        Some(self)
    }

    /// The last close stops the timer (Linux: timerfd_release()).
    fn release(&self) {
        CANCEL_LIST
            .lock()
            .retain(|w| w.strong_count() > 0 && !core::ptr::eq(w.as_ptr(), &*self.shared));
        hrtimer_cancel(&self.timer);
    }
}

/// timerfd_create(2): a disarmed timer on `clockid`.
///
/// Linux: SYSCALL_DEFINE2(timerfd_create) in fs/timerfd.c
///
/// # Errors
/// `EINVAL` for an unknown flag or a clock other than CLOCK_REALTIME,
/// CLOCK_MONOTONIC, CLOCK_BOOTTIME and their _ALARM forms; `EPERM` for an
/// alarm clock without CAP_WAKE_ALARM; `EMFILE`, `ENFILE`, `ENOMEM`.
pub fn sys_timerfd_create(clockid: i32, flags: u32) -> SysResult {
    let clockid = clockid as u32;
    if flags & !TFD_CREATE_FLAGS != 0
        || !matches!(
            clockid,
            CLOCK_MONOTONIC
                | CLOCK_REALTIME
                | CLOCK_REALTIME_ALARM
                | CLOCK_BOOTTIME
                | CLOCK_BOOTTIME_ALARM
        )
    {
        return Err(Errno::EINVAL);
    }
    if matches!(clockid, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM)
        && !crate::capability::capable(crate::capability::CAP_WAKE_ALARM)
    {
        return Err(Errno::EPERM);
    }
    let fd = get_unused_fd_flags(flags & O_CLOEXEC != 0)?;
    let ctx = timerfd_alloc(clockid)?;
    let file = File::new(ctx, O_RDWR | (flags & O_NONBLOCK))?;
    let nr = fd.fd();
    fd.fd_install(file);
    Ok(nr as u64)
}

/// A disarmed timer and its state, fallibly allocated.
fn timerfd_alloc(clockid: u32) -> Result<Arc<TimerfdCtx>, Errno> {
    let shared = Arc::try_new(TimerfdShared {
        state: SpinLock::new(TimerfdState {
            expires: 0,
            tintv: 0,
            ticks: 0,
            expired: false,
            settime_flags: 0,
            might_cancel: false,
            moffs: Some(crate::timekeeping::offs_real()),
        }),
        wqh: WaitQueueHead::new(),
    })
    .map_err(|_| Errno::ENOMEM)?;
    let for_timer = shared.clone();
    let function =
        Box::try_new(move |_: &HrTimer| timerfd_tmrproc(&for_timer)).map_err(|_| Errno::ENOMEM)?;
    let timer = hrtimer_try_init(function).ok_or(Errno::ENOMEM)?;
    Arc::try_new(TimerfdCtx {
        clockid,
        timer,
        shared,
    })
    .map_err(|_| Errno::ENOMEM)
}

/// The timerfd open as `ufd`.
///
/// Linux: timerfd_fget() in fs/timerfd.c
///
/// # Errors
/// `EBADF` when `ufd` is not open; `EINVAL` when it is not a timerfd.
fn timerfd_fget(ufd: i32) -> Result<Arc<File>, Errno> {
    let file = fdget(ufd)?;
    file.f_op.timerfd_ctx().ok_or(Errno::EINVAL)?;
    Ok(file)
}

/// timerfd_settime(2): arms the timer with the `struct itimerspec` at
/// `utmr` (a zero value disarms it) and writes the old setting to `otmr`
/// when not null.
///
/// Linux: SYSCALL_DEFINE4(timerfd_settime) / do_timerfd_settime() in fs/timerfd.c
///
/// # Errors
/// `EFAULT`; `EINVAL` for an unknown flag, a negative time or nanoseconds
/// past a second, or `ufd` not a timerfd; `EBADF`; `EPERM` for an alarm
/// clock without CAP_WAKE_ALARM; `ECANCELED` when the clock was set in
/// the meantime.
pub fn sys_timerfd_settime(ufd: i32, flags: u32, utmr: u64, otmr: u64) -> SysResult {
    let new = get_itimerspec(utmr)?;
    if flags & !TFD_SETTIME_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let file = timerfd_fget(ufd)?;
    let ctx = file.f_op.timerfd_ctx().ok_or(Errno::EINVAL)?;
    if ctx.isalarm() && !crate::capability::capable(crate::capability::CAP_WAKE_ALARM) {
        return Err(Errno::EPERM);
    }
    ctx.timerfd_setup_cancel(flags)?;
    let old = ctx.with_timer_stopped(|st| {
        if st.expired && st.tintv != 0 {
            TimerfdCtx::hrtimer_forward_now(st);
        }
        let old = (st.tintv, TimerfdCtx::timerfd_get_remaining(st));
        ctx.timerfd_setup(st, flags, new);
        old
    });
    if otmr != 0 {
        put_itimerspec(otmr, old)?;
    }
    Ok(0)
}

/// timerfd_gettime(2): the time left and the period, at `otmr`. An
/// expired periodic timer is moved on first, its missed periods counted.
///
/// Linux: SYSCALL_DEFINE2(timerfd_gettime) / do_timerfd_gettime() in fs/timerfd.c
///
/// # Errors
/// `EBADF`; `EINVAL` when `ufd` is not a timerfd; `EFAULT`.
pub fn sys_timerfd_gettime(ufd: i32, otmr: u64) -> SysResult {
    let file = timerfd_fget(ufd)?;
    let ctx = file.f_op.timerfd_ctx().ok_or(Errno::EINVAL)?;
    let cur = {
        let mut st = ctx.shared.state.lock();
        if st.expired && st.tintv != 0 {
            st.expired = false;
            ctx.timerfd_restart(&mut st);
        }
        (st.tintv, TimerfdCtx::timerfd_get_remaining(&st))
    };
    put_itimerspec(otmr, cur)?;
    Ok(0)
}
