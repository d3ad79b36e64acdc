//! Process ids: `struct pid`, with one number in each pid namespace from
//! the task's own up to the root; allocation, release and lookup; and the
//! accessors that give a task's numbers as some namespace sees them.
//!
//! Pids are handed out cyclically, like Linux's `idr_alloc_cyclic`: each new
//! pid is the next free number after the last one given, so a pid just freed
//! is not reused at once. After wrapping past `pid_max`, allocation restarts
//! at RESERVED_PIDS (300), leaving low numbers to early daemons.
//!
//! Inside the kernel a task is named by its root-namespace number
//! (`TaskStruct::pid()`, Linux's task_pid_nr()); every number a system call
//! takes or returns goes through the `*_vnr`/`*_nr_ns` accessors below.
//!
//! Linux: kernel/pid.c, include/linux/pid.h
//! Differs: lookups walk the task list instead of the pid hash; process
//! groups and sessions are kept as root-namespace numbers, not `struct pid`
//! (the pids they keep taken are in `pid_group.rs`).

use crate::arch::percpu::with_current;
use crate::errno::Errno;
pub use crate::pid_group::{find_vpgrp, pgrp_nr_ns};
use crate::pid_namespace::{PidNamespace, init_pid_ns, wake_zapping_reaper};
use crate::task::TaskStruct;
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// A pid number (Linux: `pid_t`).
pub type PidNr = i32;

/// Default upper bound (exclusive) of pid numbers (Linux: PID_MAX_DEFAULT).
pub const PID_MAX_DEFAULT: PidNr = 0x8000;
/// After a wrap, allocation restarts here (Linux: RESERVED_PIDS).
pub const RESERVED_PIDS: PidNr = 300;
/// Smallest pid_max the sysctl accepts (Linux: PID_MAX_MIN is 301).
pub const PID_MAX_MIN: PidNr = RESERVED_PIDS + 1;

/// A number in one namespace (Linux: `struct upid`).
pub struct Upid {
    /// The number.
    pub nr: PidNr,
    /// The namespace it is valid in.
    pub ns: Arc<PidNamespace>,
}

/// A task's identity: its number at each level from the root (index 0) down
/// to the namespace it was born in (index `level`). Shared by reference, so
/// that a pidfd or a lookup can hold it; the numbers go back to their
/// namespaces at release_task (free_pid), the memory when the last holder
/// drops it.
///
/// Linux: struct pid in include/linux/pid.h
/// Differs: no per-type task lists; tasks are found by walking the task list.
pub struct Pid {
    /// Depth of the namespace the task was born in (Linux: level).
    pub level: u32,
    /// One number per level, root first (Linux: numbers[]).
    pub numbers: PidNumbers,
    freed: AtomicBool,
}

/// A pid's numbers, root first, seen as a slice.
///
/// Differs: Linux's struct pid ends in its array, sized by the pid cache of
/// its level; here a pid of the root namespace keeps its one number inline
/// and a deeper one a vector, so that the common pid is one allocation.
pub enum PidNumbers {
    /// The number of a pid born in the root namespace, once allocated.
    Root(Option<Upid>),
    /// The numbers of a pid born in a nested namespace.
    Nested(Vec<Upid>),
}

impl PidNumbers {
    /// Room for `levels` numbers.
    fn with_capacity(levels: usize) -> Result<Self, Errno> {
        if levels == 1 {
            return Ok(PidNumbers::Root(None));
        }
        let mut numbers = Vec::new();
        numbers
            .try_reserve_exact(levels)
            .map_err(|_| Errno::ENOMEM)?;
        Ok(PidNumbers::Nested(numbers))
    }

    /// Adds a number; alloc_pid adds one a level, within the room made.
    fn push(&mut self, upid: Upid) {
        match self {
            PidNumbers::Root(number) => *number = Some(upid),
            PidNumbers::Nested(numbers) => numbers.push(upid),
        }
    }
}

impl core::ops::Deref for PidNumbers {
    type Target = [Upid];
    fn deref(&self) -> &[Upid] {
        match self {
            PidNumbers::Root(number) => number.as_slice(),
            PidNumbers::Nested(numbers) => numbers,
        }
    }
}

impl core::ops::DerefMut for PidNumbers {
    fn deref_mut(&mut self) -> &mut [Upid] {
        match self {
            PidNumbers::Root(number) => number.as_mut_slice(),
            PidNumbers::Nested(numbers) => numbers,
        }
    }
}

impl Pid {
    /// The number in the root namespace (Linux: pid_nr()).
    pub fn nr(&self) -> PidNr {
        self.numbers[0].nr
    }
}

/// The namespace `pid` was born in, where it is numbered last.
///
/// Linux: ns_of_pid() in include/linux/pid.h
pub fn ns_of_pid(pid: &Pid) -> &Arc<PidNamespace> {
    &pid.numbers[pid.level as usize].ns
}

/// Whether `pid` is the first task of its namespace, its init.
///
/// Linux: is_child_reaper() in include/linux/pid.h
pub fn is_child_reaper(pid: &Pid) -> bool {
    pid.numbers[pid.level as usize].nr == 1
}

/// The number of `pid` as seen from `ns`, or 0 when `ns` cannot see it
/// (it lives in a sibling or an ancestor namespace).
///
/// Linux: pid_nr_ns() in kernel/pid.c
pub fn pid_nr_ns(pid: &Pid, ns: &PidNamespace) -> PidNr {
    match pid.numbers.get(ns.level as usize) {
        Some(upid) if core::ptr::eq(&*upid.ns, ns) => upid.nr,
        _ => 0,
    }
}

impl Drop for Pid {
    /// A pid dropped before release_task (a fork that failed) frees here.
    fn drop(&mut self) {
        free_pid(self);
    }
}

/// Gives every number of `pid` back to its namespace, once. The last pid
/// but the init's own wakes an init waiting in zap_pid_ns_processes; the
/// first pid of a namespace freed without ever becoming its init (the
/// fork failed) leaves the namespace closed, as Linux does.
///
/// Linux: free_pid() in kernel/pid.c
pub fn free_pid(pid: &Pid) {
    if pid.freed.swap(true, Ordering::AcqRel) {
        return;
    }
    for upid in pid.numbers.iter() {
        let mut idr = upid.ns.idr.lock();
        idr.free(upid.nr);
        let left = idr.nr_allocated;
        if left == 0 && upid.ns.child_reaper.lock().strong_count() == 0 {
            idr.adding = false;
        }
        drop(idr);
        wake_zapping_reaper(&upid.ns, left);
    }
}

/// Allocates a pid in `ns` and in each of its ancestors: a number per level,
/// the first `set_tid.len()` of them (from `ns` outwards) as clone3 chose.
///
/// Linux: alloc_pid() in kernel/pid.c
///
/// # Errors
/// `EAGAIN` when a namespace on the way has every pid below pid_max in use;
/// `ENOMEM` when `ns` accepts no more tasks (its init has died) or memory
/// runs out. For set_tid: `EINVAL` for more numbers than levels, a number
/// outside [1, pid_max), or one other than 1 in a namespace without its
/// init; `EPERM` without CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; `EEXIST`
/// for a number in use.
pub fn alloc_pid(ns: &Arc<PidNamespace>, set_tid: &[PidNr]) -> Result<Arc<Pid>, Errno> {
    if set_tid.len() > ns.level as usize + 1 {
        return Err(Errno::EINVAL);
    }
    let mut pid = Pid {
        level: ns.level,
        numbers: PidNumbers::with_capacity(ns.level as usize + 1)?,
        freed: AtomicBool::new(false),
    };
    let mut tmp = Some(ns);
    let mut chosen = set_tid.iter();
    while let Some(n) = tmp {
        // Dropping `pid` on an error frees the levels done.
        let nr = match chosen.next() {
            Some(&tid) => {
                check_set_tid(n, tid)?;
                n.idr.lock().alloc_nr(tid)?
            }
            None => n.idr.lock().alloc()?,
        };
        pid.numbers.push(Upid { nr, ns: n.clone() });
        tmp = n.parent.as_ref();
    }
    pid.numbers.reverse();
    if !ns.idr.lock().adding {
        return Err(Errno::ENOMEM);
    }
    Arc::try_new(pid).map_err(|_| Errno::ENOMEM)
}

/// Whether clone3 may give its child the number `tid` in `ns`.
///
/// Linux: the set_tid checks in alloc_pid() in kernel/pid.c, with
/// checkpoint_restore_ns_capable()
/// Differs: no user namespaces; the capability is the caller's own.
fn check_set_tid(ns: &PidNamespace, tid: PidNr) -> Result<(), Errno> {
    let pid_max = ns.idr.lock().pid_max;
    if !(1..pid_max).contains(&tid) {
        return Err(Errno::EINVAL);
    }
    // Only the init may come first into an empty namespace.
    if tid != 1 && ns.child_reaper.lock().strong_count() == 0 {
        return Err(Errno::EINVAL);
    }
    use crate::capability::{CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, capable};
    if !capable(CAP_SYS_ADMIN) && !capable(CAP_CHECKPOINT_RESTORE) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The pid handed out most recently in the root namespace (the last field
/// of /proc/loadavg).
pub fn last_pid() -> PidNr {
    init_pid_ns().idr.lock().last
}

/// Pids in use in the root namespace, not counting the idle task's pid 0.
pub fn nr_pids() -> usize {
    init_pid_ns().idr.lock().nr_allocated
}

/// Changes the root namespace's pid_max, returning the old value (Linux:
/// the kernel.pid_max sysctl).
///
/// # Errors
/// `EINVAL` outside [PID_MAX_MIN, PID_MAX_DEFAULT].
pub fn set_pid_max(pid_max: PidNr) -> Result<PidNr, Errno> {
    if !(PID_MAX_MIN..=PID_MAX_DEFAULT).contains(&pid_max) {
        return Err(Errno::EINVAL);
    }
    let mut idr = init_pid_ns().idr.lock();
    Ok(core::mem::replace(&mut idr.pid_max, pid_max))
}

/// The task's own pid; `None` only for the idle task.
///
/// Linux: task_pid() in include/linux/sched.h
pub fn task_pid(t: &TaskStruct) -> Option<Arc<Pid>> {
    t.thread_pid.lock().clone()
}

/// The namespace `t` was born in, the one whose numbers it sees.
///
/// Linux: task_active_pid_ns() in kernel/pid.c
pub fn task_active_pid_ns(t: &TaskStruct) -> Arc<PidNamespace> {
    active_pid_ns(t).clone()
}

/// task_active_pid_ns without a reference count: the idle tasks, which
/// have no pid, are in the initial namespace.
fn active_pid_ns(t: &TaskStruct) -> &Arc<PidNamespace> {
    t.pid_ns.get().unwrap_or_else(|| init_pid_ns())
}

/// `t`'s thread id as seen from `ns`; 0 if `ns` cannot see it.
///
/// Linux: task_pid_nr_ns() in kernel/pid.c
pub fn task_pid_nr_ns(t: &TaskStruct, ns: &PidNamespace) -> PidNr {
    t.thread_pid
        .lock()
        .as_ref()
        .map_or(0, |pid| pid_nr_ns(pid, ns))
}

/// `t`'s process id (its group leader's pid) as seen from `ns`.
///
/// Linux: task_tgid_nr_ns() in kernel/pid.c
pub fn task_tgid_nr_ns(t: &TaskStruct, ns: &PidNamespace) -> PidNr {
    match t.signal.get().and_then(|sig| sig.tgid_pid.get()) {
        Some(pid) => pid_nr_ns(pid, ns),
        // A CPU's idle task (init's parent) is 0 in every namespace.
        None if t.is_idle_task() => 0,
        None => task_pid_nr_ns(t, ns),
    }
}

/// `t`'s thread id as the caller sees it.
///
/// Linux: task_pid_vnr() in include/linux/sched.h
pub fn task_pid_vnr(t: &TaskStruct) -> PidNr {
    with_current(|me| task_pid_nr_ns(t, me.map_or_else(|| init_pid_ns(), active_pid_ns)))
}

/// `t`'s process id as the caller sees it.
///
/// Linux: task_tgid_vnr() in include/linux/sched.h
pub fn task_tgid_vnr(t: &TaskStruct) -> PidNr {
    with_current(|me| task_tgid_nr_ns(t, me.map_or_else(|| init_pid_ns(), active_pid_ns)))
}

/// The task numbered `nr` in `ns`, if there is one.
///
/// Linux: find_task_by_pid_ns() in kernel/pid.c
pub fn find_task_by_pid_ns(nr: PidNr, ns: &PidNamespace) -> Option<Arc<TaskStruct>> {
    if nr <= 0 {
        return None;
    }
    let tasklist = TASKLIST_LOCK.lock();
    if ns.level == 0 {
        return tasklist.tasks.iter().find(|t| t.pid() == nr).cloned();
    }
    tasklist
        .tasks
        .iter()
        .find(|t| task_pid_nr_ns(t, ns) == nr)
        .cloned()
}

/// The task numbered `nr` in the caller's namespace.
///
/// Linux: find_task_by_vpid() in kernel/pid.c
pub fn find_task_by_vpid(nr: PidNr) -> Option<Arc<TaskStruct>> {
    find_task_by_pid_ns(nr, &task_active_pid_ns(&crate::task::current()))
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn alloc_pid_hands_out_the_next_number_not_the_one_just_freed() {
            let a = alloc_pid(init_pid_ns(), &[]).map_err(|e| alloc::format!("{e:?}"))?;
            let a_nr = a.nr();
            drop(a);
            let b = alloc_pid(init_pid_ns(), &[]).map_err(|e| alloc::format!("{e:?}"))?;
            kassert!(b.nr() != a_nr, "a freed pid is not reused at once");
            kassert!(b.nr() == a_nr + 1 || b.nr() == RESERVED_PIDS, "cyclic: got {} after {}", b.nr(), a_nr);
        }
    }

    ktest! {
        fn pids_wrap_at_pid_max_to_reserved_pids_and_are_reused() {
            let first = alloc_pid(init_pid_ns(), &[]).map_err(|e| alloc::format!("{e:?}"))?;
            let limit = (first.nr() + 4).max(PID_MAX_MIN + 4);
            let old_max = set_pid_max(limit).map_err(|e| alloc::format!("{e:?}"))?;
            let mut seen = alloc::vec::Vec::new();
            let mut wrapped = None;
            for _ in 0..(limit as usize + 10) {
                let pid = alloc_pid(init_pid_ns(), &[]);
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
                match alloc_pid(init_pid_ns(), &[]) {
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

    ktest! {
        fn alloc_pid_numbers_a_task_at_every_level_up_to_the_root() {
            use crate::pid_namespace::create_pid_namespace;
            let err = |e: Errno| alloc::format!("{e:?}");
            let child = create_pid_namespace(init_pid_ns()).map_err(err)?;
            let grandchild = create_pid_namespace(&child).map_err(err)?;
            let init = alloc_pid(&grandchild, &[]).map_err(err)?;
            let second = alloc_pid(&grandchild, &[]).map_err(err)?;
            kassert_eq!(init.level, 2);
            kassert_eq!(pid_nr_ns(&init, &grandchild), 1);
            kassert_eq!(pid_nr_ns(&second, &grandchild), 2);
            kassert_eq!(pid_nr_ns(&init, &child), 1, "the first pid of the middle namespace too");
            kassert!(pid_nr_ns(&second, init_pid_ns()) > 2, "the root numbers it among all tasks");
            let outside = alloc_pid(&child, &[]).map_err(err)?;
            kassert_eq!(pid_nr_ns(&outside, &grandchild), 0, "a parent namespace's task is invisible below");
            kassert!(is_child_reaper(&init) && !is_child_reaper(&second));
            drop(second);
            kassert_eq!(grandchild.idr.lock().nr_allocated, 1, "free_pid gave the numbers back");
            crate::pid_namespace::disable_pid_allocation(&grandchild);
            kassert_eq!(alloc_pid(&grandchild, &[]).err(), Some(Errno::ENOMEM), "a dead namespace forks no more");
        }
    }

    ktest! {
        fn namespaces_nest_at_most_max_pid_ns_level_deep() {
            use crate::pid_namespace::{MAX_PID_NS_LEVEL, create_pid_namespace};
            let mut ns = init_pid_ns().clone();
            for _ in 0..MAX_PID_NS_LEVEL {
                ns = create_pid_namespace(&ns).map_err(|e| alloc::format!("{e:?}"))?;
            }
            kassert_eq!(ns.level, MAX_PID_NS_LEVEL);
            kassert_eq!(create_pid_namespace(&ns).err(), Some(Errno::ENOSPC));
        }
    }
}
