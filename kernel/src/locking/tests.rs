//! The checker's own tests: each provokes a problem on purpose (inside
//! `expect_report`, so the suite does not count it as a bug) and asserts on
//! what the checker recorded.

use super::lockdep::debug_locks;
use super::{expect_report, last_problem_site, nr_problems};
use crate::arch::sync::SpinLock;
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread};
use crate::{kassert, kassert_eq, ktest};
use alloc::sync::Arc;

/// Two locks of two classes (two construction sites).
struct Pair {
    a: SpinLock<u32>,
    b: SpinLock<u32>,
}

/// A lock of the one class this function's line defines.
fn same_class_lock() -> SpinLock<u32> {
    SpinLock::new(0)
}

ktest! {
    fn an_inversion_on_two_tasks_is_reported_with_the_closing_site() {
        kassert!(debug_locks(), "boot with `lockdep` on the command line");
        let pair = Arc::new(Pair { a: SpinLock::new(1), b: SpinLock::new(2) });
        let (circular, ..) = nr_problems();
        {
            let _a = pair.a.lock();
            let _b = pair.b.lock();
        }
        kassert_eq!(nr_problems().0, circular, "one order alone is no problem");
        let other = pair.clone();
        let closing_line = expect_report(|| {
            let line = core::sync::atomic::AtomicU32::new(0);
            let line = Arc::new(line);
            let seen = line.clone();
            let body = Arc::new(move || {
                let _b = other.b.lock();
                seen.store(core::panic::Location::caller().line() + 1, core::sync::atomic::Ordering::Relaxed);
                let _a = other.a.lock();
                0
            });
            let pid = kernel_thread(body, "ktest-lockdep", CloneFlags::CLONE_FS, crate::signal::SIGCHLD).map_err(|e| alloc::format!("{e:?}"))?;
            kassert_eq!(kernel_wait4(pid, 0).map(|r| r.status), Ok(0));
            Ok::<u32, alloc::string::String>(line.load(core::sync::atomic::Ordering::Relaxed))
        })?;
        kassert_eq!(nr_problems().0, circular + 1, "B then A on another task closes the cycle");
        let site = last_problem_site(0).ok_or("the checker recorded a site")?;
        kassert!(site.file().ends_with("locking/tests.rs"), "{site}");
        kassert!(closing_line != 0 && site.line() == closing_line, "{site}, expected line {closing_line}");
    }
}

ktest! {
    fn an_inversion_already_reported_is_not_reported_again() {
        kassert!(debug_locks(), "boot with `lockdep` on the command line");
        let pair = Pair { a: SpinLock::new(1), b: SpinLock::new(2) };
        let take = |first: &SpinLock<u32>, second: &SpinLock<u32>| {
            let _f = first.lock();
            let _s = second.lock();
        };
        let (circular, ..) = nr_problems();
        expect_report(|| {
            take(&pair.a, &pair.b);
            take(&pair.b, &pair.a);
        });
        kassert_eq!(nr_problems().0, circular + 1);
        take(&pair.b, &pair.a);
        take(&pair.a, &pair.b);
        kassert_eq!(nr_problems().0, circular + 1, "each dependency is checked once");
    }
}

ktest! {
    fn taking_a_second_lock_of_a_held_class_is_recursive_locking() {
        kassert!(debug_locks(), "boot with `lockdep` on the command line");
        let (first, second) = (same_class_lock(), same_class_lock());
        let (_, recursive, _) = nr_problems();
        expect_report(|| {
            let _f = first.lock();
            let _s = second.lock();
        });
        kassert_eq!(nr_problems().1, recursive + 1);
        let site = last_problem_site(1).ok_or("the checker recorded a site")?;
        kassert!(site.file().ends_with("locking/tests.rs"), "{site}");
    }
}

ktest! {
    fn lock_nested_takes_two_locks_of_one_class_without_a_report() {
        kassert!(debug_locks(), "boot with `lockdep` on the command line");
        let new = || SpinLock::new(0u32);
        let (first, second) = (new(), new());
        let before = nr_problems();
        {
            let _f = first.lock();
            let _s = second.lock_nested(1);
        }
        kassert!(nr_problems() == before, "subclass 1 is a class of its own");
    }
}

ktest! {
    fn a_lock_held_when_a_timer_interrupt_arrives_is_an_inconsistent_lock_state() {
        kassert!(debug_locks(), "boot with `lockdep` on the command line");
        let lock = SpinLock::new(0u32);
        let (.., irq_on) = nr_problems();
        // No preemption while the lock is held with interrupts on: the task
        // must not leave this CPU, whose held-lock stack lists the lock.
        crate::preempt::preempt_disable();
        expect_report(|| {
            let _held = lock.lock();
            // The bug under test: interrupts back on while the lock is held.
            x86_64::instructions::interrupts::enable();
            // This CPU's own tick (jiffies move with CPU 0's).
            let cpu = crate::arch::percpu::smp_processor_id();
            let start = crate::arch::irq::apic_timer_irqs(cpu);
            while crate::arch::irq::apic_timer_irqs(cpu) == start {
                core::hint::spin_loop();
            }
            x86_64::instructions::interrupts::disable();
        });
        crate::preempt::preempt_enable();
        kassert_eq!(nr_problems().2, irq_on + 1, "the tick saw the lock held");
        let site = last_problem_site(2).ok_or("the checker recorded a site")?;
        kassert!(site.file().ends_with("locking/tests.rs"), "{site}");
    }
}
