//! Fault injection: make the Nth allocation of the current task fail, so
//! tests can walk every error path of `copy_process`.
//!
//! Linux: lib/fault-inject.c (should_fail()), `/proc/<pid>/fail-nth`

use core::sync::atomic::{AtomicU32, Ordering};

/// Per-task fault-injection state (Linux: `task_struct::fail_nth`).
#[derive(Default)]
pub struct FailNth(AtomicU32);

impl FailNth {
    /// Makes the `n`th allocation from now fail (n >= 1); 0 disarms.
    pub fn arm(&self, n: u32) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// True when the allocation being made now is the one chosen to fail.
    fn should_fail(&self) -> bool {
        let n = self.0.load(Ordering::Relaxed);
        if n == 0 {
            return false;
        }
        self.0.store(n - 1, Ordering::Relaxed);
        n == 1
    }

    /// Whether the chosen allocation has not been reached yet.
    pub fn pending(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }
}

/// Called by every allocator: does the current task want this one to fail?
///
/// Linux: should_fail() in lib/fault-inject.c
pub fn should_fail() -> bool {
    crate::arch::percpu::with_current(|task| task.is_some_and(|t| t.fail_nth.should_fail()))
}
