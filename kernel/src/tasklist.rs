//! The task list: every task, the counts fork keeps, and the lock that
//! guards them and the parent/child links (`TaskStruct::family`).
//!
//! The same lock guards each process's list of its threads
//! (`SignalStruct::thread_head`), which for_each_thread walks: finding a
//! process's threads never means walking every task.
//!
//! Linux: `tasklist_lock`, `nr_threads`, `total_forks` and `max_threads` are
//! defined in kernel/fork.c, and the walks over the lists (for_each_process,
//! for_each_thread, thread_group_empty) in include/linux/sched/signal.h. They
//! have a file of their own here because fork, exit, exec, signals and /proc
//! all take this lock; none of them owns it.

use crate::arch::sync::{LockKey, SpinLock};
use crate::errno::Errno;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// The global list of tasks and the counts it keeps, guarded by the
/// tasklist lock (Linux: `init_task.tasks`, `nr_threads`, `total_forks`,
/// and `tasklist_lock` itself).
pub struct TaskList {
    /// Every task, in creation order (Linux: the `tasks` list headed by
    /// init_task). Differs: threads are listed too; Linux lists group leaders
    /// and reaches their threads through signal->thread_head.
    pub tasks: Vec<Arc<TaskStruct>>,
    /// Tasks alive (Linux: nr_threads).
    pub nr_threads: usize,
    /// Forks since boot (Linux: total_forks).
    pub total_forks: u64,
    /// Upper bound on nr_threads (Linux: max_threads, the threads-max sysctl).
    pub max_threads: usize,
    /// The pids of reaped processes whose numbers still name a process
    /// group or session (`pid_group.rs`).
    pub group_pids: Vec<Arc<crate::pid::Pid>>,
    /// Private, so that `TASKLIST_LOCK` below is the only TaskList that can
    /// be built: the one lock that `LockedBy<_, TaskList>` names.
    _unique: core::marker::PhantomData<()>,
}

/// The tasklist lock (Linux: `tasklist_lock`, a rwlock; here a spin lock).
pub static TASKLIST_LOCK: SpinLock<TaskList> = SpinLock::new(TaskList {
    tasks: Vec::new(),
    nr_threads: 0,
    total_forks: 0,
    max_threads: 20,
    group_pids: Vec::new(),
    _unique: core::marker::PhantomData,
});

impl LockKey for TaskList {
    fn lock() -> &'static SpinLock<TaskList> {
        &TASKLIST_LOCK
    }
}

/// A process's threads not yet released, the leader first (Linux:
/// `signal->thread_head`, linking each task's `thread_node`).
///
/// Differs: references in a vector, not an intrusive list, with the first
/// kept apart, so that a process of one thread allocates nothing for it;
/// linking a second needs room made first, and unlinking is a search.
#[derive(Default)]
pub struct ThreadHead {
    first: Option<Arc<TaskStruct>>,
    rest: Vec<Arc<TaskStruct>>,
}

impl ThreadHead {
    /// Makes room for one more thread, so that `add_tail` cannot fail.
    ///
    /// # Errors
    /// `ENOMEM`.
    pub fn try_reserve(&mut self) -> Result<(), Errno> {
        if self.first.is_some() {
            self.rest.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        }
        Ok(())
    }

    /// Links `p` last (Linux: list_add_tail_rcu(&p->thread_node, ...)),
    /// into the room `try_reserve` made.
    pub fn add_tail(&mut self, p: Arc<TaskStruct>) {
        match self.first {
            None => self.first = Some(p),
            Some(_) => self.rest.push(p),
        }
    }

    /// Unlinks `p` (Linux: list_del_rcu(&p->thread_node)).
    pub fn del(&mut self, p: &Arc<TaskStruct>) {
        if self.first.as_ref().is_some_and(|t| Arc::ptr_eq(t, p)) {
            self.first = (!self.rest.is_empty()).then(|| self.rest.remove(0));
        } else {
            self.rest.retain(|t| !Arc::ptr_eq(t, p));
        }
    }

    /// The threads in list order.
    pub fn iter(&self) -> ThreadIter<'_> {
        self.first.iter().chain(self.rest.iter())
    }

    /// Whether `p` is the last thread on the list (Linux: list_is_last()).
    fn is_last(&self, p: &Arc<TaskStruct>) -> bool {
        self.rest
            .last()
            .or(self.first.as_ref())
            .is_some_and(|t| Arc::ptr_eq(t, p))
    }
}

/// What for_each_thread walks.
pub type ThreadIter<'a> = core::iter::Chain<
    core::option::Iter<'a, Arc<TaskStruct>>,
    core::slice::Iter<'a, Arc<TaskStruct>>,
>;

/// Every thread of `p`'s process not yet released, the leader first, for
/// a caller that holds the tasklist lock (`tasklist` is its guard's data).
///
/// Linux: for_each_thread() in include/linux/sched/signal.h
pub fn for_each_thread<'a>(p: &'a TaskStruct, tasklist: &'a TaskList) -> ThreadIter<'a> {
    p.signal().thread_head.get(tasklist).iter()
}

/// Whether `p` leads its process and is the last of its threads not yet
/// released: the others have exited and been released.
///
/// Linux: thread_group_empty() in include/linux/sched/signal.h
pub fn thread_group_empty(p: &Arc<TaskStruct>, tasklist: &TaskList) -> bool {
    p.pid() == p.tgid() && p.signal().thread_head.get(tasklist).is_last(p)
}

/// Counts forks since boot (Linux: total_forks, shown in /proc/stat).
pub fn total_forks() -> u64 {
    TASKLIST_LOCK.lock().total_forks
}
