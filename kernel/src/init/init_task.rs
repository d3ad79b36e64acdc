//! The first task, pid 0 ("swapper"): it runs start_kernel on the boot stack
//! and then becomes the CPU's idle task.
//!
//! Linux: init/init_task.c
//! Differs: Linux's init_task is a statically initialised struct; ours is
//! built on the heap as soon as the heap exists, and is never freed.

use crate::fs::fdtable::FilesStruct;
use crate::fs::fs_struct::FsStruct;
use crate::signal::{SighandStruct, SignalStruct};
use crate::task::{Comm, PF_IDLE, PF_KTHREAD, TASK_RUNNING, TaskStruct};
use alloc::sync::Arc;
use spin::Once;

static INIT_TASK: Once<Arc<TaskStruct>> = Once::new();

/// pid 0, the idle task (Linux: `init_task`).
pub fn init_task() -> &'static Arc<TaskStruct> {
    INIT_TASK.get().expect("init_task_init ran")
}

/// Builds pid 0 with the kernel's initial files, fs, signal handlers and
/// namespaces, all of which its children inherit.
pub fn init_task_init() -> &'static Arc<TaskStruct> {
    INIT_TASK.call_once(|| {
        let task = TaskStruct::new(
            Comm::new("swapper/0"),
            TASK_RUNNING,
            PF_KTHREAD | PF_IDLE,
            None,
        );
        task.signal.call_once(|| Arc::new(SignalStruct::default()));
        *task.files.lock() = Some(Arc::new(FilesStruct::default()));
        *task.fs.lock() = Some(FsStruct::new_root().expect("memory at boot"));
        *task.sighand.lock() = Some(Arc::new(SighandStruct::new()));
        *task.nsproxy.lock() = Some(crate::nsproxy::init_nsproxy());
        *task.cred.lock() = Some(crate::cred::init_cred().expect("memory at boot"));
        Arc::new(task)
    })
}

/// Builds the idle task of application processor `cpu`, `swapper/<cpu>`:
/// pid 0 like the boot CPU's, sharing init_task's files, fs, signal
/// handlers, namespaces and credentials. It runs on the stack the CPU
/// starts on.
///
/// Linux: fork_idle() in kernel/fork.c
/// Differs: built directly, like init_task, instead of by copy_process.
pub fn fork_idle(cpu: usize) -> Arc<TaskStruct> {
    let init = init_task();
    let task = TaskStruct::new(
        Comm::new(&alloc::format!("swapper/{cpu}")),
        TASK_RUNNING,
        PF_KTHREAD | PF_IDLE,
        None,
    );
    task.signal
        .call_once(|| init.signal.get().expect("init_task's signal").clone());
    // Each value is copied out before the new task's lock of the same
    // class is taken: one lock of a class at a time.
    let files = init.files.lock().clone();
    *task.files.lock() = files;
    let fs = init.fs.lock().clone();
    *task.fs.lock() = fs;
    let sighand = init.sighand.lock().clone();
    *task.sighand.lock() = sighand;
    let nsproxy = init.nsproxy.lock().clone();
    *task.nsproxy.lock() = nsproxy;
    let cred = init.cred.lock().clone();
    *task.cred.lock() = cred;
    Arc::new(task)
}
