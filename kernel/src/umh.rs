//! User-mode helpers: the kernel starts a user program of its own, as root
//! in the initial namespaces, from kthreadd's clean context (the core-dump
//! pipe's reader, for instance).
//!
//! ```text
//!  caller                       worker (kthread)         helper
//!  call_usermodehelper_exec ──▶ exec_work:
//!  sleep on `done`               user_mode_thread(CLONE_PARENT) ──▶ exec_async:
//!                                exits                     default handlers, nice 0,
//!                                                          root creds, init(), execve
//!        ◀──────────────────────────────── umh_complete(retval) ─┘
//! ```
//!
//! The helper's parent is kthreadd, which ignores SIGCHLD: the helper is
//! reaped as soon as it exits.
//!
//! Linux: kernel/umh.c
//! Not modelled: UMH_WAIT_PROC and UMH_KILLABLE, the usermodehelper
//! disable/enable switch, the usermodehelper bset/inheritable sysctls.

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fork::CloneFlags;
use crate::sched::completion::Completion;
use crate::task::current;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Runs in the helper before the exec, as root; an error stops the exec
/// (Linux: subprocess_info.init).
pub type UmhInit = Box<dyn FnOnce() -> Result<(), Errno> + Send>;

/// A helper to run (Linux: struct subprocess_info).
/// Lock: `init` and `retval` each under their own lock; `complete` is
/// completed once, by whoever knows the outcome.
pub struct SubprocessInfo {
    /// The program (Linux: path).
    path: String,
    /// Its arguments, `argv[0]` included.
    argv: Vec<String>,
    /// Its environment.
    envp: Vec<String>,
    /// The set-up step (Linux: init).
    init: SpinLock<Option<UmhInit>>,
    /// What the helper's set-up and exec came to (Linux: retval).
    retval: SpinLock<Result<(), Errno>>,
    /// Completed once the exec succeeded or failed (Linux: complete).
    complete: Completion,
}

/// Describes a helper; nothing runs until call_usermodehelper_exec.
///
/// Linux: call_usermodehelper_setup() in kernel/umh.c
/// Differs: no cleanup callback: the caller owns what `init` made.
///
/// # Errors
/// `ENOMEM`.
pub fn call_usermodehelper_setup(
    path: String,
    argv: Vec<String>,
    envp: Vec<String>,
    init: Option<UmhInit>,
) -> Result<Arc<SubprocessInfo>, Errno> {
    Arc::try_new(SubprocessInfo {
        path,
        argv,
        envp,
        init: SpinLock::new(init),
        retval: SpinLock::new(Ok(())),
        complete: Completion::new(),
    })
    .map_err(|_| Errno::ENOMEM)
}

/// Starts the helper and waits until its exec succeeded or failed
/// (UMH_WAIT_EXEC); an empty path runs nothing and succeeds.
///
/// Linux: call_usermodehelper_exec() in kernel/umh.c
/// Differs: a one-shot kernel thread stands in for the work item that
/// Linux queues on system_unbound_wq.
///
/// # Errors
/// The helper's set-up or exec error, or the worker's fork error.
pub fn call_usermodehelper_exec(sub_info: &Arc<SubprocessInfo>) -> Result<(), Errno> {
    if sub_info.path.is_empty() {
        return Ok(());
    }
    let work = sub_info.clone();
    crate::kthread::kthread_run(
        Arc::new(move || call_usermodehelper_exec_work(&work)),
        "kworker/u:umh",
    )?;
    sub_info.complete.wait_for_completion();
    *sub_info.retval.lock()
}

/// The worker: forks the helper as a child of kthreadd (CLONE_PARENT), so
/// that it is reaped without anyone waiting for it.
///
/// Linux: call_usermodehelper_exec_work() in kernel/umh.c
fn call_usermodehelper_exec_work(sub_info: &Arc<SubprocessInfo>) -> i32 {
    let helper = sub_info.clone();
    let pid = crate::fork::user_mode_thread(
        Arc::new(move || call_usermodehelper_exec_async(&helper)),
        CloneFlags::CLONE_PARENT,
        crate::signal::SIGCHLD,
    );
    if let Err(e) = pid {
        umh_complete(sub_info, Err(e));
    }
    0
}

/// The helper: resets what it inherited from the kernel thread (every
/// signal handler back to default, nice 0, umask 022), takes fresh root
/// credentials, runs `init`, then execs the program. On failure it exits.
///
/// Linux: call_usermodehelper_exec_async() in kernel/umh.c
fn call_usermodehelper_exec_async(sub_info: &Arc<SubprocessInfo>) -> i32 {
    let me = current();
    crate::signal::flush_signal_handlers(&me, true);
    if let Some(fs) = me.fs.lock().as_ref() {
        fs.umask.store(0o022, core::sync::atomic::Ordering::Relaxed);
    }
    crate::sched::nice::set_user_nice(&me, 0);
    drop(me);
    let init = sub_info.init.lock().take();
    // Linux: prepare_kernel_cred(NULL), a copy of init_cred.
    let retval = crate::cred::init_cred()
        .and_then(|root| crate::cred::commit_creds(crate::cred::Cred::clone(&root)))
        .and_then(|()| init.map_or(Ok(()), |init| init()))
        .and_then(|()| {
            crate::fs::exec::kernel_execve(
                &sub_info.path,
                sub_info.argv.clone(),
                sub_info.envp.clone(),
            )
        });
    umh_complete(sub_info, retval);
    match retval {
        Ok(()) => 0,
        Err(_) => crate::exit::do_exit(0),
    }
}

/// Hands the outcome to the waiter.
///
/// Linux: umh_complete() in kernel/umh.c
fn umh_complete(sub_info: &SubprocessInfo, retval: Result<(), Errno>) {
    *sub_info.retval.lock() = retval;
    sub_info.complete.complete();
}
