//! Kernel threads: created on request by kthreadd (pid 2), parked until
//! woken, stopped on request.
//!
//! kthread_create() does not fork the caller. It queues a request and wakes
//! kthreadd, which forks itself (so every kernel thread is a child of
//! kthreadd, with kthreadd's clean context), and the new thread then reports
//! back and sleeps until kthread_run/wake_up_process.
//!
//! Linux: kernel/kthread.c
//! Not modelled: CPU binding, freezing, workers.

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::exit::do_exit;
use crate::fork::{CloneFlags, kernel_thread};
use crate::sched::completion::Completion;
use crate::sched::core::{schedule, try_to_wake_up, wake_up_process};
use crate::sched::wait::WaitQueueHead;
use crate::signal::ignore_signals;
use crate::task::{
    PF_EXITING, TASK_PARKED, TASK_RUNNING, TASK_UNINTERRUPTIBLE, TaskStruct, ThreadFn, current,
};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use spin::Once;

/// Per-thread kthread state (Linux: `struct kthread`).
#[derive(Default)]
pub struct Kthread {
    /// kthread_stop() was called (Linux: KTHREAD_SHOULD_STOP).
    should_stop: AtomicBool,
    /// kthread_park() was called and kthread_unpark() not yet (Linux:
    /// KTHREAD_SHOULD_PARK).
    should_park: AtomicBool,
    /// Completed when the thread has parked (Linux: parked).
    parked: Completion,
    /// The thread function's return value (Linux: result).
    result: AtomicI32,
    /// Completed when the thread exits, through `vfork_done` (Linux: exited).
    exited: Arc<Completion>,
}

/// A request for kthreadd (Linux: `struct kthread_create_info`).
struct KthreadCreateInfo {
    threadfn: ThreadFn,
    name: &'static str,
    result: SpinLock<Option<Result<Arc<TaskStruct>, Errno>>>,
    done: Completion,
    /// Taken by whoever comes first: the new thread (or kthreadd, if the
    /// fork failed) to report, or a creator killed while waiting, to leave.
    /// The new thread of a creator that left exits at once.
    /// Linux: `xchg(&create->done, NULL)` on both sides.
    done_taken: AtomicBool,
}

static KTHREAD_CREATE_LIST: SpinLock<VecDeque<Arc<KthreadCreateInfo>>> =
    SpinLock::new(VecDeque::new());
static KTHREADD_TASK: Once<Arc<TaskStruct>> = Once::new();
static KTHREADD_WAIT: WaitQueueHead = WaitQueueHead::new();

/// The kthreadd task, once it runs.
pub fn kthreadd_task() -> Option<&'static Arc<TaskStruct>> {
    KTHREADD_TASK.get()
}

/// kthreadd's body: create the kernel threads others ask for, forever.
///
/// Linux: kthreadd() in kernel/kthread.c
pub fn kthreadd() -> i32 {
    let me = current();
    me.set_comm(b"kthreadd");
    ignore_signals(&me);
    KTHREADD_TASK.call_once(|| me.clone());
    drop(me);
    loop {
        // Interruptible, as in Linux, so that it shows as S; it ignores every
        // signal, so nothing but a request wakes it.
        let _ = KTHREADD_WAIT.wait_event_interruptible(|| !KTHREAD_CREATE_LIST.lock().is_empty());
        // The entry is taken with the lock dropped before the fork: a
        // `while let` on `lock().pop_front()` would hold it, interrupts off,
        // through all of create_kthread() (the lock checker's graph showed
        // it ordered before the tasklist lock and every lock fork takes).
        loop {
            let Some(create) = KTHREAD_CREATE_LIST.lock().pop_front() else {
                break;
            };
            create_kthread(&create);
        }
    }
}

/// Forks kthreadd into a thread that will run `kthread()` for `create`.
///
/// Linux: create_kthread() in kernel/kthread.c
fn create_kthread(create: &Arc<KthreadCreateInfo>) {
    let info = create.clone();
    let body: ThreadFn = Arc::new(move || kthread(&info));
    if let Err(e) = kernel_thread(
        body,
        create.name,
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
        crate::signal::SIGCHLD,
    ) && !create.done_taken.swap(true, Ordering::AcqRel)
    {
        *create.result.lock() = Some(Err(e));
        create.done.complete();
    }
}

/// The start of every kthread: report to the creator, sleep until woken,
/// then run the thread function unless stopped first.
///
/// Linux: kthread() in kernel/kthread.c
fn kthread(create: &KthreadCreateInfo) -> i32 {
    // The creator was killed and left: nobody will wake or stop us.
    if create.done_taken.swap(true, Ordering::AcqRel) {
        return -(Errno::EINTR.0);
    }
    let me = current();
    let self_ = Arc::new(Kthread::default());
    *me.vfork_done.lock() = Some(self_.exited.clone());
    *me.worker_private.lock() = Some(self_.clone());
    me.state.store(TASK_UNINTERRUPTIBLE, Ordering::Release);
    *create.result.lock() = Some(Ok(me.clone()));
    create.done.complete();
    drop(me);
    schedule();
    if self_.should_stop.load(Ordering::Acquire) {
        return kthread_exit(&self_, -(Errno::EINTR.0));
    }
    let ret = (create.threadfn)();
    kthread_exit(&self_, ret)
}

/// Records the result for kthread_stop; do_exit follows.
///
/// Linux: kthread_exit() in kernel/kthread.c
fn kthread_exit(self_: &Kthread, result: i32) -> i32 {
    self_.result.store(result, Ordering::Release);
    result
}

/// Entered from ret_from_fork for a task made with a function (a kernel
/// thread, or init from user_mode_thread): runs it. If the function exec'ed
/// a program (init does), return so that the task continues in user space;
/// otherwise exit with the function's result.
///
/// Linux: the `fn(fn_arg)` call in ret_from_fork() (arch/x86/kernel/process.c)
/// Differs: a Linux kthread calls do_exit itself; ours may also just return.
pub fn ret_from_kernel_thread() {
    let ret = run_thread_fn();
    if current().mm.lock().is_none() {
        do_exit(ret)
    }
}

fn run_thread_fn() -> i32 {
    let f = current()
        .thread_fn
        .lock()
        .take()
        .expect("a kernel thread has a function");
    f()
}

/// Asks kthreadd for a new kernel thread running `threadfn`. The thread is
/// created asleep; wake it with wake_up_process, or use kthread_run.
///
/// Linux: kthread_create_on_node() in kernel/kthread.c
///
/// # Errors
/// What kernel_clone returned to kthreadd, or `EINTR` if the caller was
/// killed while waiting (its thread, if kthreadd still makes it, exits).
pub fn kthread_create(threadfn: ThreadFn, name: &'static str) -> Result<Arc<TaskStruct>, Errno> {
    let create = Arc::new(KthreadCreateInfo {
        threadfn,
        name,
        result: SpinLock::new(None),
        done: Completion::new(),
        done_taken: AtomicBool::new(false),
    });
    KTHREAD_CREATE_LIST.lock().push_back(create.clone());
    KTHREADD_WAIT.wake_up();
    // Killable, as Linux's: a creator killed while kthreadd is busy need not
    // wait for it. If the thread has already reported, take its answer.
    if create.done.wait_for_completion_killable().is_err() {
        if !create.done_taken.swap(true, Ordering::AcqRel) {
            return Err(Errno::EINTR);
        }
        create.done.wait_for_completion();
    }
    create.result.lock().take().expect("kthreadd answered")
}

/// Binds a kernel thread that kthread_create made, and that has not been
/// woken yet, to `cpu`: it will only ever run there, and sched_setaffinity
/// may not change that (PF_NO_SETAFFINITY).
///
/// Linux: kthread_bind() -> __kthread_bind_mask() in kernel/kthread.c
pub fn kthread_bind(k: &Arc<TaskStruct>, cpu: usize) {
    crate::sched::migrate::wait_task_inactive(k);
    let trq = crate::sched::migrate::task_rq_lock(k);
    crate::sched::migrate::do_set_cpus_allowed(k, crate::cpumask::CpuMask::of(cpu));
    k.flags
        .fetch_or(crate::task::PF_NO_SETAFFINITY, Ordering::Relaxed);
    drop(trq);
}

/// Creates a kernel thread and wakes it.
///
/// Linux: kthread_run() in include/linux/kthread.h
///
/// # Errors
/// As kthread_create.
pub fn kthread_run(threadfn: ThreadFn, name: &'static str) -> Result<Arc<TaskStruct>, Errno> {
    let k = kthread_create(threadfn, name)?;
    wake_up_process(&k);
    Ok(k)
}

fn to_kthread(k: &TaskStruct) -> Arc<Kthread> {
    k.worker_private
        .lock()
        .clone()
        .expect("a kthread made by kthread_create")
}

/// Tells a kthread to stop, wakes it, waits for it to exit, and returns its
/// result (`-EINTR` if it was stopped before it ever ran).
///
/// Linux: kthread_stop() in kernel/kthread.c
pub fn kthread_stop(k: &Arc<TaskStruct>) -> i32 {
    let kthread = to_kthread(k);
    kthread.should_stop.store(true, Ordering::Release);
    kthread_unpark(k);
    wake_up_process(k);
    kthread.exited.wait_for_completion();
    kthread.result.load(Ordering::Acquire)
}

/// Asks `k` to park and waits until it has: it sleeps in TASK_PARKED, inside
/// kthread_parkme(), until kthread_unpark() or kthread_stop().
///
/// Linux: kthread_park() in kernel/kthread.c
///
/// # Errors
/// `ENOSYS` if `k` is exiting, `EBUSY` if it is already asked to park.
pub fn kthread_park(k: &Arc<TaskStruct>) -> Result<(), Errno> {
    if k.flags() & PF_EXITING != 0 {
        return Err(Errno::ENOSYS);
    }
    let kthread = to_kthread(k);
    if kthread.should_park.swap(true, Ordering::AcqRel) {
        return Err(Errno::EBUSY);
    }
    if !Arc::ptr_eq(k, &current()) {
        wake_up_process(k);
        kthread.parked.wait_for_completion();
    }
    Ok(())
}

/// Lets a parked `k` run on from kthread_parkme().
///
/// Linux: kthread_unpark() in kernel/kthread.c
pub fn kthread_unpark(k: &Arc<TaskStruct>) {
    if to_kthread(k).should_park.swap(false, Ordering::AcqRel) {
        try_to_wake_up(k, TASK_PARKED);
    }
}

/// Whether kthread_park() has been called for the current thread; the
/// thread should then call kthread_parkme() at a point where it may stop.
///
/// Linux: kthread_should_park() in kernel/kthread.c
pub fn kthread_should_park() -> bool {
    current_kthread().is_some_and(|k| k.should_park.load(Ordering::Acquire))
}

/// Parks the current thread while it is asked to: tells kthread_park() once,
/// then sleeps in TASK_PARKED until kthread_unpark().
///
/// Linux: kthread_parkme() / __kthread_parkme() in kernel/kthread.c
pub fn kthread_parkme() {
    let Some(self_) = current_kthread() else {
        return;
    };
    let me = current();
    let mut reported = false;
    loop {
        me.state.store(TASK_PARKED, Ordering::Release);
        if !self_.should_park.load(Ordering::Acquire) {
            break;
        }
        if !reported {
            self_.parked.complete();
            reported = true;
        }
        schedule();
    }
    me.state.store(TASK_RUNNING, Ordering::Release);
}

/// Whether kthread_stop() has been called for the current thread.
///
/// Linux: kthread_should_stop() in kernel/kthread.c
pub fn kthread_should_stop() -> bool {
    current_kthread().is_some_and(|k| k.should_stop.load(Ordering::Acquire))
}

/// The current thread's kthread state; `None` outside kthread_create's threads.
///
/// Linux: to_kthread() of current, in kernel/kthread.c
fn current_kthread() -> Option<Arc<Kthread>> {
    current().worker_private.lock().clone()
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::ktest::{Resources, wait_until};
    use crate::task::EXIT_DEAD;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::string::String;

    fn family_parent_pid(k: &TaskStruct) -> crate::pid::PidNr {
        let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
        k.family
            .get(&tasklist)
            .real_parent
            .upgrade()
            .map_or(-1, |p| p.pid())
    }

    ktest! {
        fn kthread_park_holds_a_thread_in_state_p_until_unpark_or_stop() {
            let count = Arc::new(core::sync::atomic::AtomicU64::new(0));
            let counter = count.clone();
            let body: ThreadFn = Arc::new(move || {
                while !kthread_should_stop() {
                    if kthread_should_park() {
                        kthread_parkme();
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                    crate::sched::core::sched_yield();
                }
                7
            });
            let k = kthread_run(body, "ktest-park").map_err(|e| alloc::format!("{e:?}"))?;
            kassert!(wait_until(100, || count.load(Ordering::Relaxed) > 0), "the thread runs");
            kassert_eq!(kthread_park(&k), Ok(()));
            kassert_eq!(crate::sched::debug::task_state_to_char(&k), 'P');
            let frozen = count.load(Ordering::Relaxed);
            wait_until(10, || false);
            kassert_eq!(count.load(Ordering::Relaxed), frozen, "a parked thread does not run");
            kassert_eq!(kthread_park(&k), Err(Errno::EBUSY));
            kthread_unpark(&k);
            kassert!(wait_until(100, || count.load(Ordering::Relaxed) > frozen), "unpark lets it run on");
            kassert_eq!(kthread_park(&k), Ok(()));
            kassert_eq!(kthread_stop(&k), 7, "kthread_stop unparks the thread to stop it");
        }
    }

    ktest! {
        fn kthread_run_starts_a_child_of_kthreadd_and_kthread_stop_returns_its_result() {
            let started = Arc::new(AtomicBool::new(false));
            let flag = started.clone();
            let body: ThreadFn = Arc::new(move || {
                flag.store(true, Ordering::Release);
                while !kthread_should_stop() {
                    crate::sched::core::sched_yield();
                }
                42
            });
            let k = kthread_run(body, "ktest-worker").map_err(|e| alloc::format!("{e:?}"))?;
            kassert_eq!(family_parent_pid(&k), 2, "every kernel thread is a child of kthreadd");
            kassert_eq!(k.comm().as_str(), "ktest-worker");
            kassert!(k.is_kthread());
            kassert!(wait_until(100, || started.load(Ordering::Acquire)), "the thread runs once woken");
            kassert_eq!(kthread_stop(&k), 42);
            kassert!(wait_until(100, || k.exit_state() == EXIT_DEAD), "kthreadd ignores SIGCHLD, so its children reap themselves");
        }
    }

    ktest! {
        fn kthread_stop_before_the_thread_ever_ran_returns_eintr() {
            let ran = Arc::new(AtomicBool::new(false));
            let flag = ran.clone();
            let k = kthread_create(Arc::new(move || { flag.store(true, Ordering::Relaxed); 0 }), "ktest-never")
                .map_err(|e| alloc::format!("{e:?}"))?;
            kassert_eq!(kthread_stop(&k), -(Errno::EINTR.0));
            kassert!(!ran.load(Ordering::Relaxed));
        }
    }

    ktest! {
        fn thousand_kthread_run_stop_cycles_leak_nothing() {
            let cycle = || -> Result<(), alloc::string::String> {
                let k = kthread_run(Arc::new(|| 7), "ktest-cycle").map_err(|e| alloc::format!("{e:?}"))?;
                kassert!(wait_until(100, || k.exit_state() != 0), "the thread runs and exits by itself");
                kassert_eq!(kthread_stop(&k), 7, "kthread_stop on an exited thread returns its result");
                kassert!(wait_until(100, || k.exit_state() == EXIT_DEAD));
                // Reaped is not yet switched out: on another CPU the thread
                // may still be on its stack, which goes back only then.
                kassert!(wait_until(100, || k.thread.with_stack(|s| s.is_none())), "the stack is freed at the last switch");
                Ok(())
            };
            // The stack cache is emptied before each count: on several CPUs
            // a thread may still be switching out (its stack not yet back)
            // while the next one takes a stack, so the cache holds a varying
            // number of stacks (8 pages each) from one moment to the next.
            let settled = || {
                crate::mm::vmalloc::free_vm_stack_cache();
                Resources::snapshot()
            };
            cycle()?;
            let before = settled();
            for _ in 0..1000 {
                cycle()?;
            }
            kassert!(wait_until(100, || settled() == before), "{:?} != {:?}", settled(), before);
        }
    }

    /// Whether a task named `comm` is listed.
    fn a_task_named(comm: &str) -> bool {
        let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
        tasklist.tasks.iter().any(|t| t.comm().as_str() == comm)
    }

    /// A kernel thread that, with SIGKILL already pending, asks kthreadd
    /// for a thread; returns what kthread_create answered.
    fn kthread_create_with_sigkill_pending(
        ran: &Arc<AtomicBool>,
    ) -> Result<Result<Arc<TaskStruct>, Errno>, String> {
        let answer = Arc::new(SpinLock::new(None));
        let (out, ran) = (answer.clone(), ran.clone());
        let creator: ThreadFn = Arc::new(move || {
            let me = current();
            crate::signal::allow_signal(&me, crate::signal::SIGKILL);
            crate::signal::send_sig(crate::signal::SIGKILL, &me);
            let ran = ran.clone();
            let body: ThreadFn = Arc::new(move || {
                ran.store(true, Ordering::Relaxed);
                0
            });
            *out.lock() = Some(kthread_create(body, "ktest-left"));
            0
        });
        let pid = kernel_thread(
            creator,
            "ktest-creator",
            CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
            crate::signal::SIGCHLD,
        )
        .map_err(|e| alloc::format!("{e:?}"))?;
        kassert_eq!(crate::exit::kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        let answer = answer.lock().take();
        answer.ok_or_else(|| String::from("the creator did not answer"))
    }

    ktest! {
        fn kthread_create_is_killable_and_the_thread_of_a_killed_creator_exits() {
            let ran = Arc::new(AtomicBool::new(false));
            // kthreadd may, rarely, be scheduled between the request and the
            // wait and answer first; then the creator gets its thread.
            let mut interrupted = false;
            for _ in 0..5 {
                match kthread_create_with_sigkill_pending(&ran)? {
                    Err(e) => {
                        kassert_eq!(e, Errno::EINTR);
                        interrupted = true;
                        break;
                    }
                    Ok(k) => {
                        kthread_stop(&k);
                    }
                }
            }
            kassert!(interrupted, "a creator with SIGKILL pending never stopped waiting for kthreadd");
            kassert!(wait_until(100, || !a_task_named("ktest-left")), "the thread made for the killed creator exited");
            kassert!(!ran.load(Ordering::Relaxed), "its function never ran");
        }
    }
}
