//! Completions: "wait until that is done", used by vfork, kthread_create
//! and kthread_stop.
//!
//! Linux: kernel/sched/completion.c

use super::wait::WaitQueueHead;
use crate::arch::sync::SpinLock;

/// A one-shot or counting event (Linux: `struct completion`).
#[derive(Default)]
pub struct Completion {
    done: SpinLock<u32>,
    wait: WaitQueueHead,
}

impl Completion {
    /// A completion that has not happened.
    pub const fn new() -> Self {
        Completion {
            done: SpinLock::new(0),
            wait: WaitQueueHead::new(),
        }
    }

    /// Signals one waiter (or the next one to come).
    ///
    /// Linux: complete() in kernel/sched/completion.c
    pub fn complete(&self) {
        {
            let mut done = self.done.lock();
            *done = done.saturating_add(1);
        }
        self.wait.wake_up();
    }

    /// Signals every waiter, now and forever after.
    ///
    /// Linux: complete_all() in kernel/sched/completion.c
    pub fn complete_all(&self) {
        *self.done.lock() = u32::MAX;
        self.wait.wake_up();
    }

    /// Sleeps (uninterruptibly) until the completion happens.
    ///
    /// Linux: wait_for_completion() in kernel/sched/completion.c
    pub fn wait_for_completion(&self) {
        self.wait.wait_event(|| self.try_wait_for_completion());
    }

    /// Sleeps until the completion happens or SIGKILL arrives.
    ///
    /// Linux: wait_for_completion_killable() in kernel/sched/completion.c
    ///
    /// # Errors
    /// `ERESTARTSYS` when SIGKILL ended the wait.
    pub fn wait_for_completion_killable(&self) -> Result<(), crate::errno::Errno> {
        self.wait
            .wait_event_killable(|| self.try_wait_for_completion())
    }

    /// Consumes a completion if one is there, without sleeping.
    ///
    /// Linux: try_wait_for_completion() in kernel/sched/completion.c
    pub fn try_wait_for_completion(&self) -> bool {
        let mut done = self.done.lock();
        match *done {
            0 => false,
            u32::MAX => true,
            _ => {
                *done -= 1;
                true
            }
        }
    }

    /// Whether it has happened, without consuming it (Linux: completion_done()).
    pub fn completion_done(&self) -> bool {
        *self.done.lock() != 0
    }
}
