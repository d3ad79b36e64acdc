//! Wait queues: how a task sleeps until a condition holds.
//!
//! The protocol avoids lost wake-ups: the sleeper first queues itself and
//! sets its state (prepare_to_wait), then checks the condition, and only then
//! calls schedule(). A waker that makes the condition true in between finds
//! the sleeper queued and sets it back to TASK_RUNNING, so schedule() returns
//! at once.
//!
//! Linux: kernel/sched/wait.c, include/linux/wait.h

use super::core::{schedule, try_to_wake_up};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::task::{
    TASK_INTERRUPTIBLE, TASK_NORMAL, TASK_RUNNING, TASK_UNINTERRUPTIBLE, TaskStruct, current,
};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use smallvec::SmallVec;

/// The sleepers of one queue, oldest first. Most queues have one sleeper
/// or none (a parent in wait4, a vfork parent, a pipe's reader), and those
/// are kept inside the queue itself: queueing one allocates nothing, and
/// neither does making or dropping a queue.
///
/// Differs: Linux links each sleeper's `wait_queue_entry`, which lives on
/// the sleeper's stack, into a list; a vector of tasks plays that part.
type Sleepers = SmallVec<[Arc<TaskStruct>; 2]>;

/// A queue of sleeping tasks (Linux: `wait_queue_head_t`).
#[derive(Default)]
pub struct WaitQueueHead {
    head: SpinLock<Sleepers>,
    /// Wake-ups so far, sleepers or not: an edge-triggered epoll item
    /// compares it with what it saw at its last report.
    /// Differs: Linux's epoll hangs a callback (ep_poll_callback()) on the
    /// queue instead.
    wakeups: AtomicU64,
}

impl WaitQueueHead {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueueHead {
            head: SpinLock::new(Sleepers::new_const()),
            wakeups: AtomicU64::new(0),
        }
    }

    /// Queues the current task (once) and sets its state to `state`.
    ///
    /// Linux: prepare_to_wait() in kernel/sched/wait.c
    pub fn prepare_to_wait(&self, state: u32) {
        let me = current();
        let mut head = self.head.lock();
        if !head.iter().any(|t| Arc::ptr_eq(t, &me)) {
            head.push(me.clone());
        }
        me.state.store(state, Ordering::Release);
    }

    /// Queues the current task (once) without touching its state, for a
    /// sleeper that waits on several queues at once (poll).
    ///
    /// Linux: add_wait_queue() in kernel/sched/wait.c
    pub fn add_wait_queue(&self) {
        let me = current();
        let mut head = self.head.lock();
        if !head.iter().any(|t| Arc::ptr_eq(t, &me)) {
            head.push(me);
        }
    }

    /// Sets the current task running again and takes it off the queue.
    ///
    /// Linux: finish_wait() in kernel/sched/wait.c
    pub fn finish_wait(&self) {
        let me = current();
        me.state.store(TASK_RUNNING, Ordering::Release);
        self.head.lock().retain(|t| !Arc::ptr_eq(t, &me));
    }

    /// Wakes every sleeper whose state is in `mode`, removing it from the queue.
    ///
    /// Linux: __wake_up() with autoremove_wake_function() in kernel/sched/wait.c
    pub fn wake_up_mode(&self, mode: u32) {
        self.wakeups.fetch_add(1, Ordering::AcqRel);
        let mut head = self.head.lock();
        head.retain(|t| !try_to_wake_up(t, mode));
    }

    /// Tasks queued now.
    #[cfg(feature = "ktest")]
    pub fn nr_sleepers(&self) -> usize {
        self.head.lock().len()
    }

    /// How many wake-ups the queue has had (wrapping).
    pub fn wakeups(&self) -> u64 {
        self.wakeups.load(Ordering::Acquire)
    }

    /// Wakes all sleepers (Linux: wake_up()).
    pub fn wake_up(&self) {
        self.wake_up_mode(TASK_NORMAL);
    }

    /// Sleeps uninterruptibly until `condition` holds.
    ///
    /// Linux: wait_event() in include/linux/wait.h
    #[track_caller]
    pub fn wait_event(&self, mut condition: impl FnMut() -> bool) {
        super::might_sleep::might_sleep();
        loop {
            self.prepare_to_wait(TASK_UNINTERRUPTIBLE);
            if condition() {
                break;
            }
            schedule();
        }
        self.finish_wait();
    }

    /// Sleeps until `condition` holds or SIGKILL arrives.
    ///
    /// Linux: wait_event_killable() in include/linux/wait.h
    ///
    /// # Errors
    /// `ERESTARTSYS` when SIGKILL is pending.
    #[track_caller]
    pub fn wait_event_killable(&self, condition: impl FnMut() -> bool) -> Result<(), Errno> {
        self.wait_event_state(crate::task::TASK_KILLABLE, condition)
    }

    /// Sleeps until `condition` holds or a signal arrives.
    ///
    /// Linux: wait_event_interruptible() in include/linux/wait.h
    ///
    /// # Errors
    /// `ERESTARTSYS` when a signal is pending: the signal code restarts the
    /// system call, or turns it into EINTR after a handler without
    /// SA_RESTART.
    #[track_caller]
    pub fn wait_event_interruptible(&self, condition: impl FnMut() -> bool) -> Result<(), Errno> {
        self.wait_event_state(TASK_INTERRUPTIBLE, condition)
    }

    /// Sleeps in `state` until `condition` holds, or until a signal that
    /// `state` lets in is pending.
    ///
    /// Linux: ___wait_event() in include/linux/wait.h
    #[track_caller]
    fn wait_event_state(
        &self,
        state: u32,
        mut condition: impl FnMut() -> bool,
    ) -> Result<(), Errno> {
        super::might_sleep::might_sleep();
        let result = loop {
            self.prepare_to_wait(state);
            if condition() {
                break Ok(());
            }
            if crate::sched::core::signal_pending_state(state, &current()) {
                break Err(Errno::ERESTARTSYS);
            }
            schedule();
        };
        self.finish_wait();
        result
    }
}
