//! A task's address-space pointer (Linux: task_struct->mm), with a flag
//! that says whether it is set, readable without the lock: a context
//! switch to a kernel thread, which has no mm unless one was lent to it,
//! then takes no lock at all.
//!
//! Linux: the `mm` field of struct task_struct (include/linux/sched.h),
//! read by context_switch() in kernel/sched/core.c
//! Differs: a lock around the pointer (Linux reads next->mm bare, as only
//! the task itself changes it); the flag gives the switch Linux's one load.

use super::mm_types::MmStruct;
use crate::arch::sync::{SpinLock, SpinLockGuard};
use alloc::sync::Arc;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// The address space of a task, `None` for kernel threads and after
/// exit_mm. Lock: its own; `has_mm` is written under it.
pub struct TaskMm {
    mm: SpinLock<Option<Arc<MmStruct>>>,
    /// Whether `mm` is `Some`, as of the last guard's drop.
    has_mm: AtomicBool,
}

impl TaskMm {
    /// No address space.
    #[track_caller]
    pub const fn new() -> Self {
        TaskMm {
            mm: SpinLock::new(None),
            has_mm: AtomicBool::new(false),
        }
    }

    /// Locks the pointer; the guard updates the flag as it drops.
    #[track_caller]
    pub fn lock(&self) -> TaskMmGuard<'_> {
        TaskMmGuard {
            guard: self.mm.lock(),
            has_mm: &self.has_mm,
        }
    }

    /// Whether the task has an address space, without the lock. Exact when
    /// no other CPU can change it meanwhile: only the task itself (exec,
    /// exit_mm, a lent mm) or its creator (copy_mm, before anyone sees the
    /// task) sets it, so a CPU switching to the task reads what the task
    /// last stored before it was switched out.
    pub fn has_mm(&self) -> bool {
        self.has_mm.load(Ordering::Acquire)
    }
}

impl Default for TaskMm {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

/// Proof that a task's mm pointer is locked.
pub struct TaskMmGuard<'a> {
    guard: SpinLockGuard<'a, Option<Arc<MmStruct>>>,
    has_mm: &'a AtomicBool,
}

impl Deref for TaskMmGuard<'_> {
    type Target = Option<Arc<MmStruct>>;
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl DerefMut for TaskMmGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl Drop for TaskMmGuard<'_> {
    /// Stores the flag while the lock is still held (the inner guard drops
    /// after this body).
    fn drop(&mut self) {
        self.has_mm.store(self.guard.is_some(), Ordering::Release);
    }
}
