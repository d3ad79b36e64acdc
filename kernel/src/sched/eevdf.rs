//! EEVDF, the fair class's rule for which task runs next ("Earliest
//! Eligible Virtual Deadline First", Linux since 6.6).
//!
//! Virtual time: a task's `vruntime` grows by its real run time scaled by
//! NICE_0_LOAD / weight, so a heavy (low nice) task's clock runs slowly and
//! a light one's fast. Were every task to get its exact share, all clocks
//! would stay together at V, the weighted average of the vruntimes
//! (avg_vruntime()).
//!
//! Lag: how much CPU a task is owed, `V - vruntime` (times its weight for
//! real time). Positive lag: it got less than its share; negative: more.
//! The lags of the queued tasks add up to zero.
//!
//! Eligibility: a task may be picked only if its lag is >= 0, that is if
//! its vruntime is not ahead of V. A task that ran ahead waits until the
//! others catch up.
//!
//! Deadline: when a task is picked, it asks for a slice of real time; its
//! virtual deadline is `vruntime + slice * NICE_0_LOAD / weight`, the
//! virtual time by which it should have had it. Among the eligible tasks
//! the one with the earliest deadline runs: short requests and tasks that
//! waited get the CPU sooner, without giving them more of it.
//!
//! Linux: kernel/sched/fair.c (avg_vruntime, entity_eligible,
//! place_entity, update_entity_lag, update_deadline, pick_eevdf)
//! The waiting tasks are in an augmented tree by deadline (timeline.rs),
//! where the pick is one walk from the root: O(log n).

use super::fair::CfsRq;
use super::prio::NICE_0_LOAD;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use core::sync::atomic::Ordering::Relaxed;

/// The slice a task asks for on one CPU, in ns (Linux: normalized
/// sysctl_sched_base_slice, 0.75 ms): the hrtick (hrtick.rs) ends it
/// between two ticks.
const SCHED_BASE_SLICE: u64 = 750_000;

/// The slice a task asks for: the base slice times 1 + log2 of the online
/// CPUs, at most 8 (0.75 ms on 1 CPU, 1.5 on 2, 2.25 on 4, 3 from 8).
///
/// Linux: sysctl_sched_base_slice as update_sysctl() and
/// get_update_sysctl_factor() in kernel/sched/fair.c set it
/// (SCHED_TUNABLESCALING_LOG, the default)
pub fn sched_base_slice() -> u64 {
    let cpus = crate::cpumask::num_online_cpus().clamp(1, 8);
    SCHED_BASE_SLICE * u64::from(1 + cpus.ilog2())
}

/// Where every queue's virtual clock starts: far enough from 0 that a
/// task placed behind it (negative lag) cannot wrap (Linux compares with
/// wrapping subtraction and starts at -2^20 ns to catch wraps).
pub const VRUNTIME_START: u64 = 1 << 40;

/// Real time `delta` of a task of `weight` in virtual time.
///
/// Linux: calc_delta_fair() in kernel/sched/fair.c
/// Differs: a division; Linux multiplies by a precomputed inverse weight.
pub fn calc_delta_fair(delta: u64, weight: u64) -> u64 {
    if weight == NICE_0_LOAD {
        return delta;
    }
    let weight = weight.max(1);
    match delta.checked_mul(NICE_0_LOAD) {
        Some(scaled) => scaled / weight,
        None => (u128::from(delta) * u128::from(NICE_0_LOAD) / u128::from(weight)) as u64,
    }
}

/// `num / den` rounded down, in 64 bits when both fit (almost always: the
/// sums are kept small around zero_vruntime), so that the scheduler's hot
/// path does not call the 128-bit division routine.
fn div_floor(num: i128, den: u64) -> i64 {
    match (i64::try_from(num), i64::try_from(den)) {
        (Ok(n), Ok(d)) => n.div_euclid(d),
        _ => num.div_euclid(i128::from(den)) as i64,
    }
}

/// The vruntime of `p` for the timeline, from where every queue's virtual
/// clock starts; None unless it is a fair task.
pub fn trace_vruntime(p: &TaskStruct) -> Option<i64> {
    (p.sched_class_id() == super::SchedClassId::Fair)
        .then(|| p.se.vruntime.load(Relaxed).wrapping_sub(VRUNTIME_START) as i64)
}

/// The task's weight, from its nice value (Linux: se->load.weight).
pub fn weight(p: &TaskStruct) -> u64 {
    p.se.load_weight.load(Relaxed)
}

/// The position of `p` in the timeline: its deadline, then its slot to
/// tell equal deadlines apart.
pub fn timeline_key(p: &TaskStruct) -> (u64, u32) {
    (p.se.deadline.load(Relaxed), p.se.timeline_slot.get())
}

impl CfsRq {
    /// `v` relative to the queue's reference point, which keeps the sums
    /// below small (Linux: entity_key()).
    fn entity_key(&self, v: u64) -> i64 {
        v.wrapping_sub(self.zero_vruntime) as i64
    }

    /// Adds a queued task to the weighted sum of keys (Linux:
    /// avg_vruntime_add()).
    fn avg_vruntime_add(&mut self, p: &TaskStruct) {
        let w = weight(p);
        self.avg_vruntime +=
            i128::from(self.entity_key(p.se.vruntime.load(Relaxed))) * i128::from(w);
        self.avg_load += w;
    }

    /// Linux: avg_vruntime_sub()
    fn avg_vruntime_sub(&mut self, p: &TaskStruct) {
        let w = weight(p);
        self.avg_vruntime -=
            i128::from(self.entity_key(p.se.vruntime.load(Relaxed))) * i128::from(w);
        self.avg_load -= w;
    }

    /// Puts a task that waits into the timeline (Linux: __enqueue_entity()).
    /// Takes the reference the timeline keeps.
    pub(super) fn __enqueue_entity(&mut self, p: Arc<TaskStruct>) {
        self.avg_vruntime_add(&p);
        let (deadline, slot) = timeline_key(&p);
        let vruntime = p.se.vruntime.load(Relaxed);
        self.timeline.insert(slot, p, deadline, vruntime);
    }

    /// Linux: __dequeue_entity()
    /// Returns the reference the timeline kept, if `p` was in it.
    pub(super) fn __dequeue_entity(&mut self, p: &TaskStruct) -> Option<Arc<TaskStruct>> {
        let task = self.timeline.remove(p.se.timeline_slot.get(), p)?;
        self.avg_vruntime_sub(p);
        Some(task)
    }

    /// The weighted sum of keys and the total weight, the running task
    /// included if it is still on the queue.
    fn sums(&self) -> (i128, u64) {
        let (mut avg, mut load) = (self.avg_vruntime, self.avg_load);
        if let Some(curr) = self.curr.as_ref().filter(|c| c.se.on_cfs_rq.load(Relaxed)) {
            let w = weight(curr);
            avg += i128::from(self.entity_key(curr.se.vruntime.load(Relaxed))) * i128::from(w);
            load += w;
        }
        (avg, load)
    }

    /// V, the weighted average vruntime of the queue: where every task's
    /// clock would be if each had had exactly its share.
    ///
    /// Linux: avg_vruntime() in kernel/sched/fair.c
    pub fn avg_vruntime(&self) -> u64 {
        self.avg_vruntime_in(self.sums())
    }

    /// avg_vruntime() from sums read once.
    fn avg_vruntime_in(&self, (avg, load): (i128, u64)) -> u64 {
        let offset = if load == 0 { 0 } else { div_floor(avg, load) };
        self.zero_vruntime.wrapping_add_signed(offset)
    }

    /// Whether a task at `v` is eligible: not ahead of V. Compared without
    /// dividing, so that the task furthest behind is always eligible.
    ///
    /// Linux: vruntime_eligible() in kernel/sched/fair.c
    pub fn vruntime_eligible(&self, v: u64) -> bool {
        self.eligible_in(self.sums(), v)
    }

    /// vruntime_eligible() against sums read once.
    fn eligible_in(&self, (avg, load): (i128, u64), v: u64) -> bool {
        avg >= i128::from(self.entity_key(v)) * i128::from(load)
    }

    /// Moves the reference point to V, adjusting the sum of keys to match.
    /// V itself does not move (the division rounds the same way), so this
    /// only keeps the sums small enough for the 64-bit division.
    ///
    /// Linux: update_zero_vruntime() in kernel/sched/fair.c
    /// Differs: called from the tick only (Linux: on every enqueue and
    /// dequeue too, which costs a division each): the sums are 128-bit, so
    /// between ticks they may grow but cannot overflow.
    pub(super) fn update_zero_vruntime(&mut self) {
        let v = self.avg_vruntime();
        let delta = v.wrapping_sub(self.zero_vruntime) as i64;
        self.avg_vruntime -= i128::from(self.avg_load) * i128::from(delta);
        self.zero_vruntime = v;
    }

    /// Tasks on the queue, the running one included (Linux: nr_queued).
    pub fn nr_queued(&self) -> usize {
        let curr = self
            .curr
            .as_ref()
            .is_some_and(|c| c.se.on_cfs_rq.load(Relaxed));
        self.timeline.len() + usize::from(curr)
    }

    /// The eligible task with the earliest deadline, the running one
    /// included: the timeline's pick (O(log n)) against the running task.
    ///
    /// Linux: pick_eevdf() in kernel/sched/fair.c
    /// Differs: no RUN_TO_PARITY (Linux lets the running task finish its
    /// slice against wake-ups): a wake-up EEVDF would pick preempts at once.
    pub fn pick_eevdf(&self) -> Option<Arc<TaskStruct>> {
        let curr = self.curr.as_ref().filter(|c| c.se.on_cfs_rq.load(Relaxed));
        // Alone on the queue, a task is at V: eligible, and the pick.
        match (self.timeline.len(), curr) {
            (0, c) => return c.cloned(),
            (1, None) => return self.timeline.first().cloned(),
            _ => {}
        }
        let sums = self.sums();
        let curr = curr.filter(|c| self.eligible_in(sums, c.se.vruntime.load(Relaxed)));
        let best = self
            .timeline
            .pick(|v| self.eligible_in(sums, v))
            .or_else(|| self.timeline.first());
        match (best, curr) {
            (Some(b), Some(c)) if timeline_key(c) < timeline_key(b) => Some(c.clone()),
            (Some(b), _) => Some(b.clone()),
            (None, c) => c.cloned(),
        }
    }
}

/// Saves how far behind (or ahead of) V the task leaves the queue, so
/// that it comes back with the same lag wherever it is queued next:
/// sleeping does not earn credit beyond the limit, and a migration keeps
/// what the task was owed. Bounded by two slices (or a tick) of its own
/// virtual time.
///
/// Linux: update_entity_lag() in kernel/sched/fair.c
pub fn update_entity_lag(cfs: &CfsRq, p: &TaskStruct) {
    let lag = cfs.avg_vruntime().wrapping_sub(p.se.vruntime.load(Relaxed)) as i64;
    let slice = p.se.slice.load(Relaxed);
    let limit = calc_delta_fair((2 * slice).max(super::cputime::TICK_NSEC), weight(p)) as i64;
    p.se.vlag.store(lag.clamp(-limit, limit), Relaxed);
}

/// Gives a task joining the queue its vruntime and deadline: at V minus
/// its saved lag, the lag scaled up so that adding the task does not move
/// V (the task's own weight pulls V towards it). A new task (ENQUEUE_INITIAL)
/// has no lag and asks for half a slice first, so that a fork storm
/// cannot push the tasks already there back by a whole slice each.
///
/// Linux: place_entity() in kernel/sched/fair.c
pub fn place_entity(cfs: &CfsRq, p: &TaskStruct, flags: u32) {
    let slice = sched_base_slice();
    p.se.slice.store(slice, Relaxed);
    let w = weight(p);
    let mut vslice = calc_delta_fair(slice, w);
    let sums = cfs.sums();
    let vruntime = cfs.avg_vruntime_in(sums);
    let vlag = p.se.vlag.load(Relaxed);
    let mut lag: i64 = 0;
    if vlag != 0 && cfs.nr_queued() > 0 {
        let load = i64::try_from(sums.1.max(1)).unwrap_or(i64::MAX);
        let scaled = i128::from(vlag) * (i128::from(load) + i128::from(w));
        lag = match i64::try_from(scaled) {
            Ok(scaled) => scaled / load,
            Err(_) => (scaled / i128::from(load)) as i64,
        };
    }
    let v = vruntime.wrapping_add_signed(-lag);
    p.se.vruntime.store(v, Relaxed);
    if flags & super::ENQUEUE_INITIAL != 0 {
        vslice /= 2;
    }
    p.se.deadline.store(v.wrapping_add(vslice), Relaxed);
}

/// Once the running task's vruntime reaches its deadline, it has had the
/// slice it asked for: it asks for a new one (a later deadline). Returns
/// whether it did, that is whether another task may now be picked.
///
/// Linux: update_deadline() in kernel/sched/fair.c
pub fn update_deadline(p: &TaskStruct) -> bool {
    let (v, deadline) = (p.se.vruntime.load(Relaxed), p.se.deadline.load(Relaxed));
    if (v.wrapping_sub(deadline) as i64) < 0 {
        return false;
    }
    let slice = sched_base_slice();
    p.se.slice.store(slice, Relaxed);
    p.se.deadline
        .store(v.wrapping_add(calc_delta_fair(slice, weight(p))), Relaxed);
    true
}
