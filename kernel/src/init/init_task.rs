//! The first task, pid 0 ("swapper"): it runs start_kernel on the boot stack
//! and then becomes the CPU's idle task.
//!
//! Linux: init/init_task.c
//! Differs: Linux's init_task is a statically initialised struct; ours is
//! built on the heap as soon as the heap exists, and is never freed.

use crate::arch::kernel::process_64::ThreadStruct;
use crate::arch::sync::{LockedBy, SpinLock};
use crate::fs::fdtable::FilesStruct;
use crate::fs::fs_struct::FsStruct;
use crate::sched::SchedEntity;
use crate::signal::{SigPending, SighandStruct, SignalStruct};
use crate::task::{Comm, Family, PF_IDLE, PF_KTHREAD, TASK_RUNNING, TaskStruct};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, AtomicU32};
use spin::Once;

static INIT_TASK: Once<Arc<TaskStruct>> = Once::new();

/// pid 0, the idle task (Linux: `init_task`).
pub fn init_task() -> &'static Arc<TaskStruct> {
    INIT_TASK.get().expect("init_task_init ran")
}

/// Builds pid 0 with the kernel's initial files, fs and signal handlers,
/// all of which its children inherit.
pub fn init_task_init() -> &'static Arc<TaskStruct> {
    INIT_TASK.call_once(|| {
        let signal = Once::new();
        signal.call_once(|| Arc::new(SignalStruct::default()));
        Arc::new(TaskStruct {
            state: AtomicU32::new(TASK_RUNNING),
            flags: AtomicU32::new(PF_KTHREAD | PF_IDLE),
            exit_state: AtomicU32::new(0),
            exit_code: AtomicI32::new(0),
            exit_signal: AtomicI32::new(0),
            se: SchedEntity::default(),
            pid: AtomicI32::new(0),
            tgid: AtomicI32::new(0),
            thread_pid: SpinLock::new(None),
            family: LockedBy::new(Family::default()),
            comm: SpinLock::new(Comm::new("swapper/0")),
            mm: SpinLock::new(None),
            files: SpinLock::new(Some(Arc::new(FilesStruct::default()))),
            fs: SpinLock::new(Some(FsStruct::new_root().expect("memory at boot"))),
            sighand: SpinLock::new(Some(Arc::new(SighandStruct::new()))),
            signal,
            pending: SigPending::default(),
            blocked: Default::default(),
            vfork_done: SpinLock::new(None),
            stack: None,
            thread: ThreadStruct::new(),
            thread_fn: SpinLock::new(None),
            worker_private: SpinLock::new(None),
            saved_sigmask: SpinLock::new(None),
            set_child_tid: Default::default(),
            clear_child_tid: Default::default(),
            fail_nth: Default::default(),
            start_time: 0,
        })
    })
}
