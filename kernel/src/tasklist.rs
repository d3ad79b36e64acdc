//! The task list: every task, the counts fork keeps, and the lock that
//! guards them and the parent/child links (`TaskStruct::family`).
//!
//! Linux: `tasklist_lock`, `nr_threads`, `total_forks` and `max_threads` are
//! defined in kernel/fork.c, and the walks over the list (for_each_process,
//! for_each_thread, thread_group_empty) in include/linux/sched/signal.h. They
//! have a file of their own here because fork, exit, exec, signals and /proc
//! all take this lock; none of them owns it.

use crate::arch::sync::{LockKey, SpinLock};
use crate::pid::PidNr;
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
    _unique: core::marker::PhantomData,
});

impl LockKey for TaskList {
    fn lock() -> &'static SpinLock<TaskList> {
        &TASKLIST_LOCK
    }
}

/// Every thread of the process `tgid` (Linux: for_each_thread()).
pub fn thread_group(tgid: PidNr) -> Vec<Arc<TaskStruct>> {
    let tasklist = TASKLIST_LOCK.lock();
    tasklist
        .tasks
        .iter()
        .filter(|t| t.tgid() == tgid)
        .cloned()
        .collect()
}

/// Whether `p` is the only live member of its thread group.
///
/// Linux: thread_group_empty() in include/linux/sched/signal.h
pub fn thread_group_empty(p: &Arc<TaskStruct>, tasklist: &TaskList) -> bool {
    p.signal()
        .nr_threads
        .load(core::sync::atomic::Ordering::Relaxed)
        == 1
        || !tasklist
            .tasks
            .iter()
            .any(|t| t.tgid() == p.tgid() && !Arc::ptr_eq(t, p) && t.exit_state() == 0)
}

/// Counts forks since boot (Linux: total_forks, shown in /proc/stat).
pub fn total_forks() -> u64 {
    TASKLIST_LOCK.lock().total_forks
}
