//! The kernel's one lock: a spin lock that disables interrupts while held.
//!
//! Because the timer tick may preempt a task at any point where interrupts
//! are on, a plain spin lock could be held by a preempted task while another
//! task spins on it forever. Disabling interrupts for the critical section
//! (Linux's `spin_lock_irqsave`) rules that out on one CPU, and it keeps an
//! interrupt handler from deadlocking on a lock its own CPU holds.
//!
//! Linux: include/linux/spinlock.h (spin_lock_irqsave, spin_unlock_irqrestore)

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
    inner: spin::Mutex<T>,
}

/// Proof that a [`SpinLock`] is held; interrupts stay off until it drops.
pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    guard: Option<spin::MutexGuard<'a, T>>,
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
            inner: spin::Mutex::new(value),
        }
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
            guard: Some(self.inner.lock()),
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
                guard: Some(guard),
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
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard is present until drop")
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard is present until drop")
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    /// Linux: spin_unlock_irqrestore() in include/linux/spinlock.h
    fn drop(&mut self) {
        drop(self.guard.take());
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

impl<T, L: LockKey> LockedBy<T, L> {
    /// Wraps `data`, to be guarded by `L::lock()`.
    pub const fn new(data: T) -> Self {
        LockedBy {
            data: UnsafeCell::new(data),
            _lock: core::marker::PhantomData,
        }
    }

    /// Reads the data; the shared borrow of the guard proves the lock is held.
    pub fn get<'a>(&'a self, guard: &'a SpinLockGuard<'_, L>) -> &'a T {
        assert!(guard.holds(L::lock()), "LockedBy: a guard of another lock");
        // SAFETY: the guard proves `L::lock()` is held, and it is borrowed
        // shared for 'a, so no `get_mut` can run while this lives.
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
