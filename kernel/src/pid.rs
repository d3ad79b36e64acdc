//! Process ids: allocation, release and lookup.
//!
//! Pids are handed out cyclically, like Linux's `idr_alloc_cyclic`: each new
//! pid is the next free number after the last one given, so a pid just freed
//! is not reused at once. After wrapping past `pid_max`, allocation restarts
//! at RESERVED_PIDS (300), leaving low numbers to early daemons.
//!
//! Linux: kernel/pid.c
//! Differs: a bitmap instead of the IDR radix tree, and lookups walk the task
//! list instead of the pid hash. No pid namespaces.

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::task::TaskStruct;
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;

/// A pid number (Linux: `pid_t`).
pub type PidNr = i32;

/// Default upper bound (exclusive) of pid numbers (Linux: PID_MAX_DEFAULT).
pub const PID_MAX_DEFAULT: PidNr = 0x8000;
/// After a wrap, allocation restarts here (Linux: RESERVED_PIDS).
pub const RESERVED_PIDS: PidNr = 300;
/// Smallest pid_max the sysctl accepts (Linux: PID_MAX_MIN is 301).
pub const PID_MAX_MIN: PidNr = RESERVED_PIDS + 1;

struct PidMap {
    bits: [u64; PID_MAX_DEFAULT as usize / 64],
    /// The last pid handed out (Linux: the IDR cursor).
    last: PidNr,
    /// One past the largest pid to hand out (Linux: pid_max sysctl).
    pid_max: PidNr,
    nr_allocated: usize,
}

static PIDMAP: SpinLock<PidMap> = SpinLock::new(PidMap {
    bits: [1; PID_MAX_DEFAULT as usize / 64], // pid 0 belongs to the idle task
    last: 0,
    pid_max: PID_MAX_DEFAULT,
    nr_allocated: 0,
});

impl PidMap {
    fn is_set(&self, nr: PidNr) -> bool {
        self.bits[nr as usize / 64] & (1 << (nr % 64)) != 0
    }

    fn flip(&mut self, nr: PidNr) {
        self.bits[nr as usize / 64] ^= 1 << (nr % 64);
    }

    fn find_free(&self, from: PidNr, to: PidNr) -> Option<PidNr> {
        (from..to).find(|&nr| !self.is_set(nr))
    }
}

/// An allocated pid number. Dropping it frees the number.
///
/// Differs: Linux's `struct pid` is reference counted and outlives the task
/// for pidfds; ours is owned by the task and freed by release_task.
#[derive(Debug)]
pub struct Pid(PidNr);

impl Pid {
    /// The number (Linux: pid_nr()).
    pub fn nr(&self) -> PidNr {
        self.0
    }
}

impl Drop for Pid {
    /// Linux: free_pid() in kernel/pid.c
    fn drop(&mut self) {
        let mut map = PIDMAP.lock();
        map.flip(self.0);
        map.nr_allocated -= 1;
    }
}

/// Allocates the next free pid after the last one handed out.
///
/// Linux: alloc_pid() in kernel/pid.c
///
/// # Errors
/// `EAGAIN` when every pid below pid_max is in use.
pub fn alloc_pid() -> Result<Pid, Errno> {
    let mut map = PIDMAP.lock();
    let pid_min = if map.last > RESERVED_PIDS {
        RESERVED_PIDS
    } else {
        1
    };
    let start = (map.last + 1).max(pid_min);
    let nr = map
        .find_free(start, map.pid_max)
        .or_else(|| map.find_free(pid_min, start.min(map.pid_max)))
        .ok_or(Errno::EAGAIN)?;
    map.flip(nr);
    map.last = nr;
    map.nr_allocated += 1;
    Ok(Pid(nr))
}

/// The pid handed out most recently (the last field of /proc/loadavg).
pub fn last_pid() -> PidNr {
    PIDMAP.lock().last
}

/// Pids in use, not counting the idle task's pid 0.
pub fn nr_pids() -> usize {
    PIDMAP.lock().nr_allocated
}

/// Changes pid_max, returning the old value (Linux: the kernel.pid_max sysctl).
///
/// # Errors
/// `EINVAL` outside [PID_MAX_MIN, PID_MAX_DEFAULT].
pub fn set_pid_max(pid_max: PidNr) -> Result<PidNr, Errno> {
    if !(PID_MAX_MIN..=PID_MAX_DEFAULT).contains(&pid_max) {
        return Err(Errno::EINVAL);
    }
    let mut map = PIDMAP.lock();
    Ok(core::mem::replace(&mut map.pid_max, pid_max))
}

/// The task with pid `nr`, if it still has that pid.
///
/// Linux: find_task_by_vpid() in kernel/pid.c
pub fn find_task_by_vpid(nr: PidNr) -> Option<Arc<TaskStruct>> {
    let tasklist = TASKLIST_LOCK.lock();
    tasklist.tasks.iter().find(|t| t.pid() == nr).cloned()
}

mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn alloc_pid_hands_out_the_next_number_not_the_one_just_freed() {
            let a = alloc_pid().map_err(|e| alloc::format!("{e:?}"))?;
            let a_nr = a.nr();
            drop(a);
            let b = alloc_pid().map_err(|e| alloc::format!("{e:?}"))?;
            kassert!(b.nr() != a_nr, "a freed pid is not reused at once");
            kassert!(b.nr() == a_nr + 1 || b.nr() == RESERVED_PIDS, "cyclic: got {} after {}", b.nr(), a_nr);
        }
    }

    ktest! {
        fn pids_wrap_at_pid_max_to_reserved_pids_and_are_reused() {
            let first = alloc_pid().map_err(|e| alloc::format!("{e:?}"))?;
            let limit = (first.nr() + 4).max(PID_MAX_MIN + 4);
            let old_max = set_pid_max(limit).map_err(|e| alloc::format!("{e:?}"))?;
            let mut seen = alloc::vec::Vec::new();
            let mut wrapped = None;
            for _ in 0..(limit as usize + 10) {
                let pid = alloc_pid();
                let Ok(pid) = pid else { break };
                kassert!(pid.nr() < limit, "pid {} is below pid_max {limit}", pid.nr());
                if let Some(&prev) = seen.last()
                    && pid.nr() < prev
                {
                    wrapped = Some(pid.nr());
                    break;
                }
                seen.push(pid.nr());
            }
            set_pid_max(old_max).map_err(|e| alloc::format!("{e:?}"))?;
            drop(first);
            let wrapped = wrapped.ok_or("pid allocation never wrapped")?;
            kassert!(wrapped >= RESERVED_PIDS, "after a wrap allocation restarts at {RESERVED_PIDS}, got {wrapped}");
        }
    }

    ktest! {
        fn alloc_pid_fails_with_eagain_when_every_pid_is_taken() {
            let old_max = set_pid_max(PID_MAX_MIN).map_err(|e| alloc::format!("{e:?}"))?;
            let mut held = alloc::vec::Vec::new();
            let result = loop {
                match alloc_pid() {
                    Ok(pid) => held.push(pid),
                    Err(e) => break e,
                }
                if held.len() > PID_MAX_MIN as usize {
                    break Errno::EINVAL;
                }
            };
            set_pid_max(old_max).map_err(|e| alloc::format!("{e:?}"))?;
            kassert_eq!(result, Errno::EAGAIN);
        }
    }
}
