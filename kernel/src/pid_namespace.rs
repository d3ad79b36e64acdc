//! Pid namespaces: a tree of numbering domains. A task is numbered in the
//! namespace it was born in and in every ancestor of it, so a process can
//! be pid 1 in its own namespace and pid 4711 seen from the root. The first
//! task of a namespace is its init: it adopts the namespace's orphans, and
//! when it dies every other member is killed and reaped with it.
//!
//! Linux: kernel/pid_namespace.c, include/linux/pid_namespace.h
//! Not modelled: user namespaces and ucounts (the max_pid_namespaces
//! limit), the per-namespace /proc mount, ns_last_pid, reboot() inside a
//! namespace.

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fork::CloneFlags;
use crate::fs::nsfs::{NsArc, NsCommon, NsRef, PROC_PID_INIT_INO, ProcNsOperations};
use crate::nsproxy::NsSet;
use crate::pid::{PID_MAX_DEFAULT, PidNr, RESERVED_PIDS};
use crate::task::TaskStruct;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

/// How deep namespaces may nest below the root (Linux: MAX_PID_NS_LEVEL).
pub const MAX_PID_NS_LEVEL: u32 = 32;

/// One namespace's pid numbers: a bitmap handed out cyclically, like
/// Linux's `idr_alloc_cyclic`, and the count Linux keeps in pid_allocated.
///
/// Differs: a bitmap instead of the IDR radix tree.
pub struct PidMap {
    bits: Vec<u64>,
    /// The last pid handed out (Linux: the IDR cursor).
    pub last: PidNr,
    /// One past the largest pid to hand out (Linux: pid_max).
    pub pid_max: PidNr,
    /// Pids in use (Linux: pid_allocated without its PIDNS_ADDING bit).
    pub nr_allocated: usize,
    /// New pids may still be allocated: cleared when the init dies or the
    /// fork of the first task fails (Linux: the PIDNS_ADDING bit).
    pub adding: bool,
}

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

    /// Takes the next free number after the last one handed out; after a
    /// wrap past pid_max, the search restarts at RESERVED_PIDS.
    pub fn alloc(&mut self) -> Result<PidNr, Errno> {
        let pid_min = if self.last > RESERVED_PIDS {
            RESERVED_PIDS
        } else {
            1
        };
        let start = (self.last + 1).max(pid_min);
        let nr = self
            .find_free(start, self.pid_max)
            .or_else(|| self.find_free(pid_min, start.min(self.pid_max)))
            .ok_or(Errno::EAGAIN)?;
        self.flip(nr);
        self.last = nr;
        self.nr_allocated += 1;
        Ok(nr)
    }

    /// Takes the number `nr` itself, as clone3's set_tid asks (Linux:
    /// idr_alloc() of the range [nr, nr + 1)); the cursor stays.
    ///
    /// # Errors
    /// `EEXIST` when `nr` is in use (Linux turns idr's ENOSPC into it).
    pub fn alloc_nr(&mut self, nr: PidNr) -> Result<PidNr, Errno> {
        if self.is_set(nr) {
            return Err(Errno::EEXIST);
        }
        self.flip(nr);
        self.nr_allocated += 1;
        Ok(nr)
    }

    /// Gives `nr` back.
    pub fn free(&mut self, nr: PidNr) {
        self.flip(nr);
        self.nr_allocated -= 1;
    }
}

/// A pid namespace (Linux: `struct pid_namespace`).
pub struct PidNamespace {
    /// Depth below the root namespace, which is level 0 (Linux: level).
    pub level: u32,
    /// The namespace this one was created in; `None` for the root.
    pub parent: Option<Arc<PidNamespace>>,
    /// This namespace's pid numbers (Linux: idr and pid_allocated).
    pub idr: SpinLock<PidMap>,
    /// Its init: pid 1 here, adopter of orphans (Linux: child_reaper).
    pub child_reaper: SpinLock<Weak<TaskStruct>>,
    /// Its nsfs inode number (Linux: ns).
    pub ns: NsCommon,
}

static INIT_PID_NS: spin::Once<Arc<PidNamespace>> = spin::Once::new();

/// The root namespace, where every task has a number (Linux: init_pid_ns).
/// Its pid 0 belongs to the idle task.
pub fn init_pid_ns() -> &'static Arc<PidNamespace> {
    INIT_PID_NS.call_once(|| {
        let common = NsCommon::init(PROC_PID_INIT_INO);
        let ns = PidNamespace::new(0, None, PID_MAX_DEFAULT, common).expect("init_pid_ns at boot");
        ns.idr.lock().flip(0);
        Arc::new(ns)
    })
}

impl PidNamespace {
    fn new(
        level: u32,
        parent: Option<Arc<PidNamespace>>,
        pid_max: PidNr,
        ns: NsCommon,
    ) -> Result<Self, Errno> {
        let mut bits = Vec::new();
        let words = PID_MAX_DEFAULT as usize / 64;
        bits.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
        bits.resize(words, 0);
        Ok(PidNamespace {
            level,
            parent,
            idr: SpinLock::new(PidMap {
                bits,
                last: 0,
                pid_max,
                nr_allocated: 0,
                adding: true,
            }),
            child_reaper: SpinLock::new(Weak::new()),
            ns,
        })
    }

    /// Whether `self` is `ns` or one of its ancestors: tasks of `ns` are
    /// then numbered in `self` too.
    pub fn is_ancestor_of(&self, ns: &PidNamespace) -> bool {
        let mut n = ns;
        while n.level > self.level {
            n = n
                .parent
                .as_deref()
                .expect("a non-root namespace has a parent");
        }
        core::ptr::eq(n, self)
    }
}

/// A new namespace below `parent`, empty until its first fork.
///
/// Linux: create_pid_namespace() in kernel/pid_namespace.c
/// Differs: pid_max is copied from the parent (as Linux 6.14 does), and
/// there is no ucounts limit on the number of namespaces.
///
/// # Errors
/// `ENOSPC` past MAX_PID_NS_LEVEL, `ENOMEM` when the bitmap cannot be had.
pub fn create_pid_namespace(parent: &Arc<PidNamespace>) -> Result<Arc<PidNamespace>, Errno> {
    let level = parent.level + 1;
    if level > MAX_PID_NS_LEVEL {
        return Err(Errno::ENOSPC);
    }
    let pid_max = parent.idr.lock().pid_max;
    let ns = PidNamespace::new(level, Some(parent.clone()), pid_max, NsCommon::new()?)?;
    Arc::try_new(ns).map_err(|_| Errno::ENOMEM)
}

/// The pid_ns_for_children of a new set of namespaces made from one whose
/// is `old`: a new namespace below it under CLONE_NEWPID, else `old`.
///
/// Linux: copy_pid_ns() in kernel/pid_namespace.c
///
/// # Errors
/// `EINVAL` when the caller's children would not be born in its own
/// namespace anyway (a second unshare(CLONE_NEWPID) before a fork); as
/// create_pid_namespace.
pub fn copy_pid_ns(flags: CloneFlags, old: &Arc<PidNamespace>) -> Result<Arc<PidNamespace>, Errno> {
    if !flags.contains(CloneFlags::CLONE_NEWPID) {
        return Ok(old.clone());
    }
    if !Arc::ptr_eq(
        &crate::pid::task_active_pid_ns(&crate::task::current()),
        old,
    ) {
        return Err(Errno::EINVAL);
    }
    create_pid_namespace(old)
}

/// The `pid` entry of `/proc/<pid>/ns`: the task's own pid namespace
/// (Linux: pidns_operations).
pub static PIDNS_OPERATIONS: ProcNsOperations = ProcNsOperations {
    name: "pid",
    real_ns_name: "pid",
    nstype: CloneFlags::CLONE_NEWPID,
    get: pidns_get,
    install: pidns_install,
};

/// The `pid_for_children` entry: where the task's children are born
/// (Linux: pidns_for_children_operations).
pub static PIDNS_FOR_CHILDREN_OPERATIONS: ProcNsOperations = ProcNsOperations {
    name: "pid_for_children",
    real_ns_name: "pid",
    nstype: CloneFlags::CLONE_NEWPID,
    get: pidns_for_children_get,
    install: pidns_install,
};

/// Linux: pidns_get() in kernel/pid_namespace.c
fn pidns_get(task: &TaskStruct) -> Option<NsRef> {
    let ns = crate::pid::task_pid(task).map(|pid| crate::pid::ns_of_pid(&pid).clone())?;
    Some(NsRef::new(&PIDNS_OPERATIONS, &ns.ns, ns.clone()))
}

/// Linux: pidns_for_children_get() in kernel/pid_namespace.c
fn pidns_for_children_get(task: &TaskStruct) -> Option<NsRef> {
    let ns = crate::nsproxy::task_nsproxy(task)?
        .pid_ns_for_children
        .clone();
    Some(NsRef::new(
        &PIDNS_FOR_CHILDREN_OPERATIONS,
        &ns.ns,
        ns.clone(),
    ))
}

/// Makes `ns` the namespace the caller's next children are born in. Only
/// the caller's own namespace or one below it may be entered: a task never
/// gets children it could not see.
///
/// Linux: pidns_install() in kernel/pid_namespace.c
///
/// # Errors
/// `EPERM` without CAP_SYS_ADMIN; `EINVAL` for a namespace not below the
/// caller's.
fn pidns_install(nsset: &mut NsSet, ns: &NsArc) -> Result<(), Errno> {
    if !crate::capability::capable(crate::capability::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let new: Arc<PidNamespace> = ns.clone().downcast().map_err(|_| Errno::EINVAL)?;
    let active = crate::pid::task_active_pid_ns(&crate::task::current());
    if !active.is_ancestor_of(&new) {
        return Err(Errno::EINVAL);
    }
    nsset.nsproxy.pid_ns_for_children = new;
    Ok(())
}

/// Stops new pids in `ns`: a fork there fails with ENOMEM from now on.
///
/// Linux: disable_pid_allocation() in kernel/pid.c
pub fn disable_pid_allocation(ns: &PidNamespace) {
    ns.idr.lock().adding = false;
}

/// Called by a namespace's init as it exits: kills every other member and
/// waits until all of them are reaped, so that no task outlives its init.
/// Orphans of the killed tasks come to the init (still their child_reaper),
/// which reaps them at once since it now ignores SIGCHLD.
///
/// Linux: zap_pid_ns_processes() in kernel/pid_namespace.c
/// Differs: the members are found by a walk of the task list, not the idr.
pub fn zap_pid_ns_processes(ns: &Arc<PidNamespace>) {
    use crate::signal::{SIGCHLD, SIGKILL};
    let me = crate::task::current();
    disable_pid_allocation(ns);
    // Dead children reap themselves from now on (do_notify_parent).
    if let Some(sh) = me.sighand.lock().as_ref() {
        sh.action.lock()[SIGCHLD as usize - 1].handler = crate::signal::SIG_IGN;
    }
    // Under the lock, so that a fork either published its child before
    // (it is killed here) or finds its parent's SIGKILL and fails.
    let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
    let members = tasklist
        .tasks
        .iter()
        .filter(|t| t.tgid() != me.tgid() && crate::pid::task_pid_nr_ns(t, ns) > 0);
    for t in members {
        if !crate::signal::fatal_signal_pending(t) {
            crate::signal::send_sig(SIGKILL, t);
        }
    }
    drop(tasklist);
    // What stays allocated at the end: our own pid, and our group
    // leader's if we are not it (a zombie until we are gone).
    let init_pids = if me.pid() == me.tgid() { 1 } else { 2 };
    // Children that were zombies before SIGCHLD was ignored.
    let reap = crate::exit::__WALL | crate::exit::WNOHANG;
    while crate::exit::kernel_wait4(-1, reap).is_ok_and(|r| r.pid != 0) {}
    me.signal()
        .wait_chldexit
        .wait_event(|| ns.idr.lock().nr_allocated <= init_pids);
}

/// Wakes the init of `ns` waiting in zap_pid_ns_processes, once only its
/// own pids are left (called by free_pid).
pub fn wake_zapping_reaper(ns: &PidNamespace, nr_allocated: usize) {
    if nr_allocated <= 2
        && let Some(reaper) = ns.child_reaper.lock().upgrade()
    {
        reaper.signal().wait_chldexit.wake_up();
    }
}
