//! The kernel's one lock: a spin lock that disables interrupts while held.
//!
//! Because the timer tick may preempt a task at any point where interrupts
//! are on, a plain spin lock could be held by a preempted task while another
//! task spins on it forever. Disabling interrupts for the critical section
//! (Linux's `spin_lock_irqsave`) rules that out on one CPU, and it keeps an
//! interrupt handler from deadlocking on a lock its own CPU holds.
//!
//! Linux: include/linux/spinlock.h (spin_lock_irqsave, spin_unlock_irqrestore)
//! Differs: a test-and-set lock (the `spin` crate's `SpinMutex`), not
//! Linux's queued spin lock: unfair, but when the host preempts a waiting
//! virtual CPU the lock goes to another waiter instead of waiting for the
//! preempted one's turn (what Linux's paravirt spin locks work around).

use crate::locking::lockdep::{self, LockClassKey};
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use x86_64::instructions::interrupts;

/// A spin lock whose guard keeps local interrupts disabled.
///
/// Its lock class (for the lock-order checker, [`crate::locking::lockdep`])
/// is the place that called [`SpinLock::new`].
pub struct SpinLock<T: ?Sized> {
    key: LockClassKey,
    inner: spin::mutex::SpinMutex<T>,
}

/// Proof that a [`SpinLock`] is held; interrupts stay off until it drops.
pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    /// The data, ours while the lock is held; the guard unlocks on drop.
    data: &'a mut T,
    irqs_were_enabled: bool,
    /// Whether the lock-order checker recorded this acquisition.
    tracked: bool,
}

impl<T> SpinLock<T> {
    /// Creates an unlocked lock, of the lock class of the caller's location.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        SpinLock {
            key: LockClassKey::new(),
            inner: spin::mutex::SpinMutex::new(value),
        }
    }

    /// Becomes the owner of a lock that another task held when this CPU
    /// switched to the caller, and that it handed over
    /// ([`SpinLockGuard::hand_over`]): the run queue lock, held across
    /// the switch. Interrupts are off (they stayed off across the switch)
    /// and stay off when the returned guard drops: the caller enables them.
    /// Refuses, with a panic, a lock that is not held.
    ///
    /// Linux: finish_lock_switch() in kernel/sched/core.c (spin_acquire()
    /// of the lock's dep_map, then the unlock by its caller)
    #[track_caller]
    pub fn take_over(&self) -> SpinLockGuard<'_, T> {
        assert!(
            self.inner.is_locked() && !interrupts::are_enabled(),
            "take_over: a lock not handed over"
        );
        let tracked = lockdep::lock_acquire(
            &self.key,
            0,
            core::any::type_name::<T>(),
            self.addr(),
            false,
        );
        // SAFETY: the lock is held (checked) and was handed over by the task
        // this CPU just switched from, which gave up its guard without
        // unlocking (hand_over): no other reference to the data is live, and
        // this guard is the lock's one owner until it drops and unlocks.
        let data = unsafe { &mut *self.inner.as_mut_ptr() };
        SpinLockGuard {
            lock: self,
            data,
            irqs_were_enabled: false,
            tracked,
        }
    }
}

impl<T> SpinLock<T> {
    /// Whether `data` is this lock's data, which only a guard lends out.
    pub fn owns(&self, data: &T) -> bool {
        core::ptr::eq(self.inner.as_mut_ptr(), data)
    }
}

impl<T: Default> Default for SpinLock<T> {
    #[track_caller]
    fn default() -> Self {
        SpinLock::new(T::default())
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Disables interrupts, then spins until the lock is ours.
    ///
    /// Linux: spin_lock_irqsave() in include/linux/spinlock.h
    #[track_caller]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        self.lock_nested(0)
    }

    /// Takes a second lock of a class this CPU already holds: `subclass`
    /// (1, 2, ...) makes it a class of its own for the lock-order checker,
    /// and the caller promises to take such locks in one fixed order (for
    /// run queues: the lower CPU's first).
    ///
    /// Linux: spin_lock_irqsave_nested() in include/linux/spinlock.h
    #[track_caller]
    pub fn lock_nested(&self, subclass: u8) -> SpinLockGuard<'_, T> {
        let irqs_were_enabled = interrupts::are_enabled();
        interrupts::disable();
        let tracked = lockdep::lock_acquire(
            &self.key,
            subclass,
            core::any::type_name::<T>(),
            self.addr(),
            false,
        );
        SpinLockGuard {
            lock: self,
            data: spin::mutex::SpinMutexGuard::leak(self.inner.lock()),
            irqs_were_enabled,
            tracked,
        }
    }

    fn addr(&self) -> usize {
        core::ptr::from_ref(self).cast::<u8>() as usize
    }

    /// Takes the lock only if it is free. Used by the panic path, which must
    /// not wait for a lock its own CPU may hold.
    ///
    /// Linux: spin_trylock_irqsave() in include/linux/spinlock.h
    #[track_caller]
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irqs_were_enabled = interrupts::are_enabled();
        interrupts::disable();
        match self.inner.try_lock() {
            Some(guard) => Some(SpinLockGuard {
                lock: self,
                data: spin::mutex::SpinMutexGuard::leak(guard),
                irqs_were_enabled,
                tracked: lockdep::lock_acquire(
                    &self.key,
                    0,
                    core::any::type_name::<T>(),
                    self.addr(),
                    true,
                ),
            }),
            None => {
                if irqs_were_enabled {
                    interrupts::enable();
                }
                None
            }
        }
    }
}

impl<T: ?Sized> SpinLockGuard<'_, T> {
    /// Whether this guard holds `lock` (and not another lock of its type).
    pub fn holds(&self, lock: &SpinLock<T>) -> bool {
        core::ptr::eq(self.lock, lock)
    }

    /// Gives up the guard without unlocking, interrupts left off: the task
    /// this CPU switches to next takes the lock over
    /// ([`SpinLock::take_over`]) and unlocks it. The lock-order checker
    /// forgets it meanwhile, as the switch changes the running task.
    ///
    /// Linux: prepare_lock_switch() in kernel/sched/core.c (spin_release()
    /// of the run queue lock's dep_map)
    pub fn hand_over(self) {
        lockdep::lock_release(self.lock.addr(), self.tracked);
        core::mem::forget(self);
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.data
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.data
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    /// Linux: spin_unlock_irqrestore() in include/linux/spinlock.h
    fn drop(&mut self) {
        // SAFETY: this guard owns the lock (taken by lock() or try_lock(), or
        // taken over after a hand-over), and `data` dies with it.
        unsafe { self.lock.inner.force_unlock() };
        lockdep::lock_release(self.lock.addr(), self.tracked);
        if self.irqs_were_enabled {
            interrupts::enable();
        }
    }
}

/// The type of a lock's data that names its one lock: the key of
/// [`LockedBy`]. The key type should be constructible in exactly one place
/// (a private field, and the one static), so that no second `SpinLock<Self>`
/// can exist; `LockedBy` still checks every guard against `lock()`.
pub trait LockKey: Sized + 'static {
    /// The lock that guards every `LockedBy<_, Self>`.
    fn lock() -> &'static SpinLock<Self>;
}

/// Data that lives in one object but is protected by a lock elsewhere.
///
/// A task's `parent` and `children` live in its `TaskStruct` but are guarded
/// by the global tasklist lock, exactly as in Linux. `LockedBy` makes that
/// rule a type: the data can only be reached with a guard of the lock
/// `L::lock()` in hand (shared access with `&guard`, exclusive access with
/// `&mut guard`); a guard of any other lock is refused with a panic.
///
/// Differs: Rust-for-Linux's `LockedBy` stores a pointer to its lock in
/// each object; here the lock is found from the key type.
pub struct LockedBy<T, L: LockKey> {
    data: UnsafeCell<T>,
    _lock: core::marker::PhantomData<fn(&L)>,
}

// SAFETY: access to `data` requires a guard of `L::lock()` (checked), which
// serialises all access across CPUs exactly like a `SpinLock<T>` would.
unsafe impl<T: Send, L: LockKey> Sync for LockedBy<T, L> {}
// SAFETY: moving the container moves `T`, which is `Send`.
unsafe impl<T: Send, L: LockKey> Send for LockedBy<T, L> {}

impl<T: Default, L: LockKey> Default for LockedBy<T, L> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T, L: LockKey> LockedBy<T, L> {
    /// Wraps `data`, to be guarded by `L::lock()`.
    pub const fn new(data: T) -> Self {
        LockedBy {
            data: UnsafeCell::new(data),
            _lock: core::marker::PhantomData,
        }
    }

    /// Reads the data, given the lock's own data borrowed shared (a guard
    /// derefs to it): only a guard of `L::lock()` can lend that, so the
    /// borrow proves the lock is held.
    pub fn get<'a>(&'a self, locked: &'a L) -> &'a T {
        assert!(L::lock().owns(locked), "LockedBy: not the data of its lock");
        // SAFETY: `locked` is the data inside `L::lock()`, which only a
        // guard hands out; the guard is borrowed shared for 'a, so it stays
        // held and no `get_mut` can run while this lives.
        unsafe { &*self.data.get() }
    }

    /// Changes the data; the exclusive borrow of the guard proves nobody else
    /// holds a reference obtained through the same lock.
    #[allow(clippy::mut_from_ref)]
    pub fn get_mut<'a>(&'a self, guard: &'a mut SpinLockGuard<'_, L>) -> &'a mut T {
        assert!(guard.holds(L::lock()), "LockedBy: a guard of another lock");
        // SAFETY: the guard of `L::lock()` is borrowed exclusively for 'a, so
        // no other reference obtained through this lock can exist meanwhile.
        unsafe { &mut *self.data.get() }
    }
}
