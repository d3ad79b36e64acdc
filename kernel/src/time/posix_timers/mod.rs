//! POSIX interval timers: timer_create and friends. Each timer belongs to
//! a process, has an id from 0 up, runs on an hrtimer and, when it
//! expires, queues its own preallocated sigqueue, so that its signal can
//! never fail for lack of memory or of RLIMIT_SIGPENDING room (the timer
//! itself took that room at timer_create). A periodic timer is not started
//! again when it fires: it waits until its signal is taken, then
//! posixtimer_deliver_signal() moves it past the expiries it missed and
//! counts them as overruns. Timers are not inherited by fork and are
//! deleted by execve and by the exit of the last thread.
//!
//! Linux: kernel/time/posix-timers.c, the posixtimer_* parts of kernel/signal.c
//! Differs: every timer runs on CLOCK_MONOTONIC's hrtimer; an absolute
//! CLOCK_REALTIME timer is converted once and does not follow a later
//! clock_settime (Linux: clock_was_set() moves it).
//! The CPU clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and
//! the pid-encoded ones of clock_getcpuclockid()) run through `cpu.rs`.
//! Not modelled: SIGEV_THREAD's
//! own helper (the kernel treats it as SIGEV_SIGNAL, as Linux does).
//!
//! A periodic timer whose signal is ignored is parked, not restarted: it
//! costs nothing until sigaction stops ignoring the signal, which queues
//! the signal again; taking it restarts the timer past the periods it
//! missed, counted as overruns (Linux: signal->ignored_posix_timers).

use super::hrtimer::{
    HrTimer, HrtimerRestart, hrtimer_start, hrtimer_try_init, hrtimer_try_to_cancel,
};
use crate::arch::sync::SpinLock;
use crate::arch::time::ktime_get_ns;
use crate::errno::Errno;
use crate::mm::uaccess::{get_user, put_user};
use crate::pid::find_task_by_pid_ns;
use crate::pid_namespace::init_pid_ns;
use crate::signal::{
    __sigqueue_alloc, KernelSiginfo, PidType, SI_TIMER, SIGALRM, SignalStruct, Sigqueue,
};
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

mod cpu;
mod expiry;

use cpu::CpuClock;

pub use cpu::handle_posix_cpu_timers;
use expiry::posix_timer_fn;
pub use expiry::{posixtimer_deliver_signal, posixtimer_sig_unignore, posixtimer_sigqueue_put};

/// Deliver the signal (Linux: SIGEV_SIGNAL).
pub const SIGEV_SIGNAL: i32 = 0;
/// Deliver nothing; timer_gettime shows the time left (Linux: SIGEV_NONE).
pub const SIGEV_NONE: i32 = 1;
/// A thread started by the C library (Linux: SIGEV_THREAD).
pub const SIGEV_THREAD: i32 = 2;
/// Deliver the signal to one thread (Linux: SIGEV_THREAD_ID).
pub const SIGEV_THREAD_ID: i32 = 4;
/// The value is an absolute time on the timer's clock (Linux: TIMER_ABSTIME).
pub const TIMER_ABSTIME: i32 = 1;
/// The largest overrun reported (Linux: DELAYTIMER_MAX, INT_MAX).
pub const DELAYTIMER_MAX: i64 = i32::MAX as i64;

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
const CLOCK_THREAD_CPUTIME_ID: u32 = 3;
const CLOCK_BOOTTIME: u32 = 7;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Where a timer stands (Linux: POSIX_TIMER_DISARMED / _ARMED / _REQUEUE_PENDING).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ItStatus {
    Disarmed,
    Armed,
    /// A periodic timer fired; it starts again when its signal is taken.
    RequeuePending,
}

/// A timer's changing state. Lock: `KItimer::state` (Linux: it_lock).
struct KItimerState {
    /// Expiry in ns on CLOCK_MONOTONIC, or on the CPU clock of a CPU-time timer.
    expires: u64,
    /// Period in ns, 0 for a one-shot (Linux: it_interval).
    it_interval: u64,
    /// Expiries missed since the last signal, less one (Linux: it_overrun).
    it_overrun: i64,
    /// The overrun of the last signal taken (Linux: it_overrun_last).
    it_overrun_last: i64,
    it_status: ItStatus,
    /// Advanced by every timer_settime and rearm, so that a signal queued
    /// before them is recognised and dropped (Linux: it_signal_seq).
    it_signal_seq: u64,
    /// it_signal_seq when the signal was last queued (Linux: it_sigqueue_seq).
    it_sigqueue_seq: u64,
    /// The preallocated signal, here while not queued (Linux: sigq).
    sigq: Option<Box<Sigqueue>>,
    /// timer_delete ran (Linux: !posixtimer_valid()).
    deleted: bool,
    /// A periodic timer parked because its signal was ignored; `sigq` is
    /// here (Linux: on signal->ignored_posix_timers).
    /// Differs: a flag, found by walking the process's timers, where Linux
    /// keeps a list of the parked ones.
    ignored: bool,
}

impl KItimerState {
    /// A disarmed timer's state (Linux: the fields alloc_posix_timer() and
    /// do_timer_create() set).
    fn new() -> Self {
        KItimerState {
            expires: 0,
            it_interval: 0,
            it_overrun: -1,
            it_overrun_last: 0,
            it_status: ItStatus::Disarmed,
            it_signal_seq: 0,
            it_sigqueue_seq: 0,
            sigq: None,
            deleted: false,
            ignored: false,
        }
    }
}

/// One POSIX timer (Linux: `struct k_itimer`).
pub struct KItimer {
    /// The clock the timer's values are read on (Linux: it_clock).
    it_clock: u32,
    /// SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID (Linux: it_sigev_notify).
    it_sigev_notify: i32,
    /// Who gets the signal: the thread for SIGEV_THREAD_ID, else the
    /// process's leader (Linux: it_pid).
    it_pid: Weak<TaskStruct>,
    /// For a CPU-time timer, whose CPU time it runs on (Linux: it.cpu).
    it_cpu: Option<CpuClock>,
    timer: Arc<HrTimer>,
    state: SpinLock<KItimerState>,
}

impl KItimer {
    /// Whether the signal goes to one thread or to the process.
    fn pid_type(&self) -> PidType {
        match self.it_sigev_notify {
            SIGEV_THREAD_ID => PidType::Pid,
            _ => PidType::Tgid,
        }
    }

    /// The time now on the timer's clock, as its `expires` counts it.
    ///
    /// Linux: kclock->clock_get_timespec()
    fn now(&self) -> u64 {
        match &self.it_cpu {
            Some(clock) => cpu::cpu_timer_sample(clock),
            None => ktime_get_ns(),
        }
    }

    /// Starts the timer for its `expires`: an hrtimer, or for a CPU-time
    /// timer nothing, since the tick compares the clock with `expires`.
    ///
    /// Linux: kclock->timer_arm()
    fn arm(&self, state: &KItimerState) {
        if self.it_cpu.is_none() {
            hrtimer_start(&self.timer, state.expires);
        }
    }
}

/// A process's timers (Linux: signal->posix_timers and next_posix_timer_id).
/// Lock: `SignalStruct::posix_timers`.
#[derive(Default)]
pub struct PosixTimers {
    /// By id, sorted; a vector so that adding one can fail instead of
    /// aborting when memory is short.
    timers: Vec<(i32, Arc<KItimer>)>,
    next_posix_timer_id: i32,
    /// How many of `timers` run on a CPU clock, so the tick skips the
    /// others cheaply.
    nr_cpu_timers: usize,
}

impl PosixTimers {
    /// The next free id, from `next_posix_timer_id` up, wrapping at INT_MAX.
    ///
    /// Linux: posix_timer_add() in kernel/time/posix-timers.c
    fn alloc_id(&mut self) -> Result<i32, Errno> {
        for _ in 0..=self.timers.len() {
            let id = self.next_posix_timer_id;
            self.next_posix_timer_id = id.checked_add(1).unwrap_or(0);
            if self.get(id).is_none() {
                return Ok(id);
            }
        }
        Err(Errno::EAGAIN)
    }

    /// Timer `id`.
    fn get(&self, id: i32) -> Option<&Arc<KItimer>> {
        let i = self.timers.binary_search_by_key(&id, |t| t.0).ok()?;
        Some(&self.timers[i].1)
    }

    /// Adds timer `k` as `id`, a free id.
    fn try_insert(&mut self, id: i32, k: Arc<KItimer>) -> Result<(), Errno> {
        self.timers.try_reserve(1).map_err(|_| Errno::EAGAIN)?;
        let i = self.timers.partition_point(|t| t.0 < id);
        self.timers.insert(i, (id, k));
        Ok(())
    }

    /// Takes timer `id` out.
    fn remove(&mut self, id: i32) -> Option<Arc<KItimer>> {
        let i = self.timers.binary_search_by_key(&id, |t| t.0).ok()?;
        Some(self.timers.remove(i).1)
    }

    /// Every timer.
    fn iter(&self) -> impl Iterator<Item = &Arc<KItimer>> {
        self.timers.iter().map(|t| &t.1)
    }
}

/// A user `struct sigevent`, the fields the kernel reads.
struct Sigevent {
    value: u64,
    signo: i32,
    notify: i32,
    thread_id: i32,
}

/// Reads a user `struct sigevent`: sigev_value, sigev_signo, sigev_notify,
/// then sigev_notify_thread_id.
fn get_sigevent(addr: u64) -> Result<Sigevent, Errno> {
    let [value, signo_notify, tid]: [u64; 3] = get_user(addr)?;
    Ok(Sigevent {
        value,
        signo: signo_notify as u32 as i32,
        notify: (signo_notify >> 32) as u32 as i32,
        thread_id: tid as u32 as i32,
    })
}

/// Checks a sigevent and finds the task its signal goes to: a thread of
/// the caller's process for SIGEV_THREAD_ID, else the caller's leader.
///
/// Linux: good_sigevent() in kernel/time/posix-timers.c
fn good_sigevent(event: &Sigevent) -> Result<Arc<TaskStruct>, Errno> {
    let me = current();
    let target = match event.notify {
        SIGEV_THREAD_ID => crate::pid::find_task_by_vpid(event.thread_id)
            .filter(|t| t.tgid() == me.tgid())
            .ok_or(Errno::EINVAL)?,
        SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_NONE => {
            find_task_by_pid_ns(me.tgid(), init_pid_ns()).unwrap_or(me)
        }
        _ => return Err(Errno::EINVAL),
    };
    if event.notify != SIGEV_NONE && !(1..=crate::signal::_NSIG as i32).contains(&event.signo) {
        return Err(Errno::EINVAL);
    }
    Ok(target)
}

/// Creates a timer on `which_clock`, disarmed; stores its id at
/// `created_timer_id`. A null `timer_event_spec` means SIGEV_SIGNAL with
/// SIGALRM and the id as the value.
///
/// Linux: SYSCALL_DEFINE3(timer_create) / do_timer_create() in kernel/time/posix-timers.c
///
/// # Errors
/// `EINVAL` for a clock without timers or a bad sigevent; `EAGAIN` when the
/// user is at RLIMIT_SIGPENDING or memory is short; `EFAULT`.
pub fn sys_timer_create(
    which_clock: u32,
    timer_event_spec: u64,
    created_timer_id: u64,
) -> SysResult {
    let it_cpu = cpu::clockid_to_cpu_clock(which_clock)?;
    let event = match timer_event_spec {
        0 => None,
        addr => Some(get_sigevent(addr)?),
    };
    let target = match &event {
        Some(event) => good_sigevent(event)?,
        None => find_task_by_pid_ns(current().tgid(), init_pid_ns()).unwrap_or_else(current),
    };
    let me = current();
    let sig = me.signal().clone();
    // Linux: posixtimer_init_sigqueue(), charged to RLIMIT_SIGPENDING.
    let mut sigq = __sigqueue_alloc(&me, false).ok_or(Errno::EAGAIN)?;
    let mut timers = sig.posix_timers.lock();
    let id = timers.alloc_id()?;
    let (notify, signo, value) = match &event {
        Some(e) => (e.notify, e.signo, e.value),
        None => (SIGEV_SIGNAL, SIGALRM, id as u64),
    };
    sigq.info = KernelSiginfo {
        signo,
        code: SI_TIMER,
        timerid: id,
        value,
        ..Default::default()
    };
    let weak_sig = Arc::downgrade(&sig);
    let function = Box::try_new(move |_: &HrTimer| posix_timer_fn(&weak_sig, id))
        .map_err(|_| Errno::EAGAIN)?;
    let timer = hrtimer_try_init(function).ok_or(Errno::EAGAIN)?;
    let k = Arc::try_new(KItimer {
        it_clock: which_clock,
        it_sigev_notify: if notify == SIGEV_THREAD {
            SIGEV_SIGNAL
        } else {
            notify
        },
        it_pid: Arc::downgrade(&target),
        it_cpu,
        timer,
        state: SpinLock::new(KItimerState::new()),
    })
    .map_err(|_| Errno::EAGAIN)?;
    sigq.timer = Some(Arc::downgrade(&k));
    k.state.lock().sigq = Some(sigq);
    let cpu = usize::from(k.it_cpu.is_some());
    timers.try_insert(id, k.clone())?;
    timers.nr_cpu_timers += cpu;
    drop(timers);
    if let Err(e) =
        cpu::link_foreign_cpu_timer(&k, &sig).and_then(|()| put_user(created_timer_id, id))
    {
        timer_delete_id(&sig, id);
        return Err(e);
    }
    Ok(0)
}

/// The caller's timer `timer_id`.
///
/// Linux: lock_timer() in kernel/time/posix-timers.c
fn lock_timer(timer_id: i32) -> Result<Arc<KItimer>, Errno> {
    current()
        .signal()
        .posix_timers
        .lock()
        .get(timer_id)
        .cloned()
        .ok_or(Errno::EINVAL)
}

/// Runs `f` on the timer's state with its hrtimer stopped: waits, with
/// the lock dropped, while the timer's function runs on another CPU.
///
/// Linux: the hrtimer_try_to_cancel() / timer_wait_running() retry loop
/// of do_timer_settime() and posix_timer_delete()
fn with_timer_stopped<R>(k: &KItimer, f: impl FnOnce(&mut KItimerState) -> R) -> R {
    loop {
        let mut state = k.state.lock();
        if hrtimer_try_to_cancel(&k.timer).is_some() {
            return f(&mut state);
        }
        drop(state);
        core::hint::spin_loop();
    }
}

/// Moves `state.expires` past `now` by whole periods; returns how many.
///
/// Linux: hrtimer_forward() as called by common_hrtimer_forward()
fn forward(state: &mut KItimerState, now: u64) -> i64 {
    let interval = state.it_interval;
    if interval == 0 || now < state.expires {
        return 0;
    }
    let n = (now - state.expires) / interval + 1;
    state.expires = state.expires.saturating_add(n.saturating_mul(interval));
    n as i64
}

/// The setting as timer_gettime shows it: (interval, time left) in ns. A
/// periodic timer waiting for its signal to be taken is moved forward here,
/// and the periods it passes are overruns.
///
/// Linux: common_timer_get() in kernel/time/posix-timers.c
fn common_timer_get(k: &KItimer, state: &mut KItimerState) -> (u64, u64) {
    let sig_none = k.it_sigev_notify == SIGEV_NONE;
    let interval = state.it_interval;
    if state.it_status == ItStatus::Disarmed && (interval == 0 || !sig_none) {
        return (interval, 0);
    }
    let now = k.now();
    if interval != 0 && (state.it_status != ItStatus::Armed || sig_none) {
        state.it_overrun += forward(state, now);
    }
    let left = match state.expires.checked_sub(now) {
        Some(left) if left > 0 => left,
        // Expired but its function not run yet: not to be read as disarmed.
        _ if !sig_none => 1,
        _ => 0,
    };
    (interval, left)
}

/// Reads a user `struct itimerspec` (interval, then value) in ns.
///
/// # Errors
/// `EFAULT`; `EINVAL` for a negative time or nanoseconds past a second
/// (Linux: itimerspec64_valid()).
pub(crate) fn get_itimerspec(addr: u64) -> Result<(u64, u64), Errno> {
    let words: [i64; 4] = get_user(addr)?;
    let ns = |sec: i64, nsec: i64| {
        if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Ok((sec as u64)
            .saturating_mul(NSEC_PER_SEC)
            .saturating_add(nsec as u64))
    };
    Ok((ns(words[0], words[1])?, ns(words[2], words[3])?))
}

/// Writes (interval, value) in ns as a user `struct itimerspec`.
pub(crate) fn put_itimerspec(addr: u64, (interval, value): (u64, u64)) -> Result<(), Errno> {
    let ts = |ns: u64| [ns / NSEC_PER_SEC, ns % NSEC_PER_SEC];
    let [isec, insec] = ts(interval);
    let [vsec, vnsec] = ts(value);
    put_user(addr, [isec, insec, vsec, vnsec])
}

/// Linux: SYSCALL_DEFINE2(timer_gettime) in kernel/time/posix-timers.c
///
/// # Errors
/// `EINVAL` for an id the process does not have; `EFAULT`.
pub fn sys_timer_gettime(timer_id: i32, setting: u64) -> SysResult {
    let k = lock_timer(timer_id)?;
    let cur = common_timer_get(&k, &mut k.state.lock());
    put_itimerspec(setting, cur)?;
    Ok(0)
}

/// Arms (a non-zero value) or disarms the timer; the old setting goes to
/// `old_setting` when it is not null. Any signal of the old setting still
/// queued is dropped when it is taken.
///
/// Linux: SYSCALL_DEFINE4(timer_settime) / do_timer_settime() /
/// common_timer_set() in kernel/time/posix-timers.c
///
/// # Errors
/// `EINVAL` for an unknown id or a malformed time; `EFAULT`.
pub fn sys_timer_settime(
    timer_id: i32,
    flags: i32,
    new_setting: u64,
    old_setting: u64,
) -> SysResult {
    let (interval, value) = get_itimerspec(new_setting)?;
    let k = lock_timer(timer_id)?;
    let clock_realtime = matches!(k.it_clock, CLOCK_REALTIME | crate::time::CLOCK_TAI);
    let sig_none = k.it_sigev_notify == SIGEV_NONE;
    let old = with_timer_stopped(&k, |state| {
        let old = common_timer_get(&k, state);
        state.it_signal_seq += 1;
        state.it_overrun_last = 0;
        state.it_overrun = -1;
        state.it_status = ItStatus::Disarmed;
        state.it_interval = 0;
        state.ignored = false;
        if value == 0 {
            return old;
        }
        state.it_interval = interval;
        state.expires = match flags & TIMER_ABSTIME {
            0 => k.now().saturating_add(value),
            _ if k.it_cpu.is_some() => value,
            _ => super::to_monotonic(clock_realtime, value),
        };
        state.it_status = ItStatus::Armed;
        if !sig_none {
            k.arm(state);
        }
        old
    });
    if old_setting != 0 {
        put_itimerspec(old_setting, old)?;
    }
    Ok(0)
}

/// The overrun of the timer's last signal taken, at most DELAYTIMER_MAX.
///
/// Linux: SYSCALL_DEFINE1(timer_getoverrun) / timer_overrun_to_int() in
/// kernel/time/posix-timers.c
///
/// # Errors
/// `EINVAL` for an id the process does not have.
pub fn sys_timer_getoverrun(timer_id: i32) -> SysResult {
    let k = lock_timer(timer_id)?;
    let overrun = k.state.lock().it_overrun_last;
    Ok(overrun.clamp(0, DELAYTIMER_MAX) as u64)
}

/// Linux: SYSCALL_DEFINE1(timer_delete) in kernel/time/posix-timers.c
///
/// # Errors
/// `EINVAL` for an id the process does not have.
pub fn sys_timer_delete(timer_id: i32) -> SysResult {
    let sig = current().signal().clone();
    match timer_delete_id(&sig, timer_id) {
        true => Ok(0),
        false => Err(Errno::EINVAL),
    }
}

/// Takes timer `id` out of the process and stops it; false if there is none.
fn timer_delete_id(sig: &SignalStruct, id: i32) -> bool {
    let mut timers = sig.posix_timers.lock();
    let Some(k) = timers.remove(id) else {
        return false;
    };
    timers.nr_cpu_timers -= usize::from(k.it_cpu.is_some());
    drop(timers);
    posix_timer_delete(&k);
    true
}

/// Stops a timer for good: its hrtimer cancelled, its signal, if queued,
/// dropped when taken, its preallocated sigqueue (and its RLIMIT_SIGPENDING
/// unit) freed.
///
/// Linux: posix_timer_delete() / posixtimer_free_timer() in kernel/time/posix-timers.c
fn posix_timer_delete(k: &KItimer) {
    let sigq = with_timer_stopped(k, |state| {
        state.deleted = true;
        state.it_signal_seq += 1;
        state.it_status = ItStatus::Disarmed;
        state.sigq.take()
    });
    drop(sigq);
}

/// Deletes every timer of the process: at execve and when its last thread
/// exits.
///
/// Linux: exit_itimers() in kernel/time/posix-timers.c
pub fn exit_itimers(sig: &SignalStruct) {
    let timers = core::mem::take(&mut *sig.posix_timers.lock());
    for k in timers.iter() {
        posix_timer_delete(k);
    }
}
