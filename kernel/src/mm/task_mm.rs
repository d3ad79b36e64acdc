//! A task's address-space pointer (Linux: task_struct->mm), with a flag
//! that says whether it is set, readable without the lock: a context
//! switch to a kernel thread, which has no mm unless one was lent to it,
//! then takes no lock at all.
//!
//! Each task whose `mm` points at an address space is one of its users
//! (`MmStruct::mm_users`): the pointer changes only through [`TaskMm::install`],
//! [`TaskMm::replace`] and [`TaskMm::take`], which count the mm coming in;
//! the one going out is handed back for `mmput`, which counts it out.
//!
//! Linux: the `mm` field of struct task_struct (include/linux/sched.h),
//! read by context_switch() in kernel/sched/core.c
//! Differs: a lock around the pointer (Linux reads next->mm bare, as only
//! the task itself changes it); the flag gives the switch Linux's one load.

use super::mm_types::MmStruct;
use crate::arch::sync::{SpinLock, SpinLockGuard};
use alloc::sync::Arc;
use core::ops::Deref;
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

    /// Makes `mm` the address space of a task that has none (copy_mm, an
    /// mm lent to a kernel thread): one more user of it.
    ///
    /// # Panics
    /// If the task has an address space already.
    #[track_caller]
    pub fn install(&self, mm: Arc<MmStruct>) {
        let old = self.replace(Some(mm));
        assert!(old.is_none(), "TaskMm::install: the task has an mm");
    }

    /// Makes `mm` the task's address space (exec), counting it as a user,
    /// and returns the one it had, which the caller gives to `mmput`.
    #[must_use = "the old mm is still counted as a user: give it to mmput"]
    pub fn replace(&self, mm: Option<Arc<MmStruct>>) -> Option<Arc<MmStruct>> {
        if let Some(mm) = &mm {
            mm.mm_users.fetch_add(1, Ordering::Relaxed);
        }
        core::mem::replace(&mut *self.lock().guard, mm)
    }

    /// Takes the task's address space away (exit_mm) and returns it, for
    /// the caller to give to `mmput`.
    #[must_use = "the mm is still counted as a user: give it to mmput"]
    pub fn take(&self) -> Option<Arc<MmStruct>> {
        self.replace(None)
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

impl Drop for TaskMm {
    /// A task freed with its mm still set (a fork that failed after
    /// copy_mm) stops counting as a user. It never ran on it, and the task
    /// it was copied from or shares it with is a user still, or the mm is
    /// new and no CPU has it loaded: no last-user work is owed.
    fn drop(&mut self) {
        if let Some(mm) = self.mm.lock().as_ref() {
            mm.mm_users.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Proof that a task's mm pointer is locked; it reads the pointer, and
/// only [`TaskMm`]'s own methods change it.
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

impl Drop for TaskMmGuard<'_> {
    /// Stores the flag while the lock is still held (the inner guard drops
    /// after this body).
    fn drop(&mut self) {
        self.has_mm.store(self.guard.is_some(), Ordering::Release);
    }
}
