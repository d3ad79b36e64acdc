//! What happens when a POSIX timer expires and when its signal is taken:
//! the signal is queued once, a periodic timer waits for it to be taken,
//! then restarts past the periods it missed and reports them as overruns.
//!
//! Linux: posix_timer_fn() / posix_timer_queue_signal() / common_hrtimer_rearm()
//! in kernel/time/posix-timers.c; posixtimer_send_sigqueue() /
//! posixtimer_deliver_signal() in kernel/signal.c

use super::*;

/// The hrtimer's function: the timer's signal, see posix_timer_queue_signal().
///
/// Linux: posix_timer_fn() in kernel/time/posix-timers.c
pub(super) fn posix_timer_fn(sig: &Weak<SignalStruct>, id: i32) -> HrtimerRestart {
    let k = sig
        .upgrade()
        .and_then(|sig| sig.posix_timers.lock().get(id).cloned());
    if let Some(k) = k {
        posix_timer_queue_signal(&k);
    }
    HrtimerRestart::NoRestart
}

/// An expiry: queues the timer's signal unless it is still queued from an
/// earlier one. A periodic timer stays stopped until the signal is taken;
/// one whose signal is ignored is parked until the signal is not.
///
/// Linux: posix_timer_queue_signal() in kernel/time/posix-timers.c,
/// posixtimer_send_sigqueue() in kernel/signal.c
pub(super) fn posix_timer_queue_signal(k: &KItimer) {
    let q = {
        let mut state = k.state.lock();
        if state.it_status != ItStatus::Armed {
            return;
        }
        state.it_sigqueue_seq = state.it_signal_seq;
        state.it_status = match state.it_interval {
            0 => ItStatus::Disarmed,
            _ => ItStatus::RequeuePending,
        };
        state.sigq.take()
    };
    // None: the signal is still queued; taking it will count this expiry.
    let Some(q) = q else {
        return;
    };
    let sent = match k.it_pid.upgrade() {
        Some(t) => crate::signal::send_sigqueue(q, &t, k.pid_type()),
        None => Err(q),
    };
    if let Err(q) = sent {
        posixtimer_sig_ignore(k, q);
    }
}

/// Takes back the signal of a timer whose signal is ignored (or whose
/// target is gone): a periodic timer waiting for it is parked, stopped,
/// until posixtimer_sig_unignore(); a one-shot simply ends.
///
/// Linux: posixtimer_sig_ignore() in kernel/signal.c
fn posixtimer_sig_ignore(k: &KItimer, q: Box<Sigqueue>) {
    let mut state = k.state.lock();
    if state.deleted {
        return;
    }
    state.sigq = Some(q);
    state.ignored =
        state.it_status == ItStatus::RequeuePending && state.it_signal_seq == state.it_sigqueue_seq;
}

/// sigaction stopped ignoring `sig`: queues the signal of each of the
/// process's timers parked for it; taking it restarts the timer.
///
/// Linux: posixtimer_sig_unignore() in kernel/signal.c
pub fn posixtimer_sig_unignore(tsk: &TaskStruct, sig: i32) {
    let timers = tsk.signal().posix_timers.lock();
    for k in timers.iter() {
        let q = {
            let mut state = k.state.lock();
            if !state.ignored || state.sigq.as_ref().is_none_or(|q| q.info.signo != sig) {
                continue;
            }
            state.ignored = false;
            state.sigq.take()
        };
        let (Some(q), Some(t)) = (q, k.it_pid.upgrade()) else {
            continue;
        };
        if let Err(q) = crate::signal::send_sigqueue(q, &t, k.pid_type()) {
            k.state.lock().sigq = Some(q);
        }
    }
}

/// Starts a periodic timer that waits for its signal to be taken again,
/// past the periods it missed, which count as overruns.
///
/// Linux: common_hrtimer_rearm() in kernel/time/posix-timers.c
fn rearm_requeue_pending(k: &KItimer, state: &mut KItimerState) -> bool {
    if state.it_interval == 0 || state.it_status != ItStatus::RequeuePending {
        return false;
    }
    state.it_overrun += forward(state, k.now());
    state.it_status = ItStatus::Armed;
    k.arm(state);
    true
}

/// Called as a timer's signal is taken: drops it if the timer was deleted
/// or set again since it was queued; otherwise moves a periodic timer past
/// the periods it missed, counts them as the signal's overrun and starts it
/// again. The sigqueue goes back to the timer. Returns whether to deliver.
///
/// Linux: posixtimer_deliver_signal() / posixtimer_rearm() in kernel/signal.c,
/// common_hrtimer_rearm() in kernel/time/posix-timers.c
pub fn posixtimer_deliver_signal(info: &mut KernelSiginfo, q: Box<Sigqueue>) -> bool {
    let Some(k) = q.timer.as_ref().and_then(Weak::upgrade) else {
        return false;
    };
    let mut state = k.state.lock();
    if state.deleted {
        return false;
    }
    state.sigq = Some(q);
    if state.it_signal_seq != state.it_sigqueue_seq {
        return false;
    }
    if rearm_requeue_pending(&k, &mut state) {
        state.it_overrun_last = state.it_overrun;
        state.it_overrun = -1;
        state.it_signal_seq += 1;
        info.overrun = state.it_overrun_last.clamp(0, DELAYTIMER_MAX) as i32;
    }
    true
}

/// Gives a timer's sigqueue back to its timer when a flush drops it
/// unseen (the signal became ignored, or the thread's queue was freed):
/// a periodic timer waiting for it is parked.
///
/// Linux: sigqueue_free_ignored() / posixtimer_sigqueue_putref() in
/// kernel/signal.c
pub fn posixtimer_sigqueue_put(q: Box<Sigqueue>) {
    if let Some(k) = q.timer.as_ref().and_then(Weak::upgrade) {
        posixtimer_sig_ignore(&k, q);
    }
}
