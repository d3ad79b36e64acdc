//! The per-CPU stopper threads, `migration/N`: a kernel thread bound to
//! each CPU that runs before any other task there, used to take the CPU
//! away from whatever it runs (to push a running task off a CPU it may no
//! longer use: set_cpus_allowed_ptr -> stop_one_cpu -> migration_cpu_stop).
//!
//! Linux: kernel/stop_machine.c (cpu_stopper, stop_one_cpu,
//! cpu_stopper_thread, cpu_stop_init)
//! Not modelled: stop_machine() itself (all CPUs at once), stop_two_cpus,
//! non-waiting works (stop_one_cpu_nowait), CPU hotplug parking.

use crate::arch::gdt::NR_CPUS;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::sched::completion::Completion;
use crate::sched::wait::WaitQueueHead;
use crate::task::TaskStruct;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, Ordering};

/// What a stopper runs (Linux: `cpu_stop_fn_t` with its `void *arg`).
pub type CpuStopFn = Box<dyn FnOnce() -> i32 + Send>;

/// One request to a stopper, completed once run (Linux: struct
/// cpu_stop_work with its cpu_stop_done).
struct CpuStopWork {
    func: SpinLock<Option<CpuStopFn>>,
    ret: AtomicI32,
    done: Completion,
}

/// One CPU's stopper (Linux: struct cpu_stopper).
struct CpuStopper {
    /// Works not yet run, oldest first (Linux: works, under stopper->lock).
    works: SpinLock<VecDeque<Arc<CpuStopWork>>>,
    /// Where the thread sleeps while `works` is empty.
    wait: WaitQueueHead,
    /// The thread, migration/N, once started (Linux: thread).
    thread: spin::Once<Arc<TaskStruct>>,
}

static STOPPERS: [CpuStopper; NR_CPUS] = [const {
    CpuStopper {
        works: SpinLock::new(VecDeque::new()),
        wait: WaitQueueHead::new(),
        thread: spin::Once::new(),
    }
}; NR_CPUS];

/// Runs `func` on `cpu` in its stopper thread, which preempts whatever runs
/// there, and waits for it; returns what `func` returned.
///
/// Linux: stop_one_cpu() in kernel/stop_machine.c
///
/// # Errors
/// `ENOENT` if `cpu` has no stopper (not online, or before cpu_stop_init).
pub fn stop_one_cpu(cpu: usize, func: CpuStopFn) -> Result<i32, Errno> {
    let stopper = STOPPERS.get(cpu).ok_or(Errno::ENOENT)?;
    if stopper.thread.get().is_none() {
        return Err(Errno::ENOENT);
    }
    let work = Arc::new(CpuStopWork {
        func: SpinLock::new(Some(func)),
        ret: AtomicI32::new(0),
        done: Completion::new(),
    });
    stopper.works.lock().push_back(work.clone());
    stopper.wait.wake_up();
    work.done.wait_for_completion();
    Ok(work.ret.load(Ordering::Acquire))
}

/// The body of migration/N: runs each queued work, then sleeps.
///
/// Linux: cpu_stopper_thread() in kernel/stop_machine.c
fn cpu_stopper_thread(cpu: usize) -> i32 {
    let stopper = &STOPPERS[cpu];
    loop {
        stopper.wait.wait_event(|| !stopper.works.lock().is_empty());
        let Some(work) = stopper.works.lock().pop_front() else {
            continue;
        };
        if let Some(func) = work.func.lock().take() {
            work.ret.store(func(), Ordering::Release);
        }
        work.done.complete();
    }
}

/// Starts migration/N on every online CPU that has none yet: bound to its
/// CPU, made that run queue's stopper, then woken.
///
/// Linux: cpu_stop_init() (smpboot_register_percpu_thread) in
/// kernel/stop_machine.c
pub fn cpu_stop_init() {
    for cpu in crate::cpumask::cpu_online_mask().iter() {
        if STOPPERS[cpu].thread.get().is_some() {
            continue;
        }
        let k = match crate::kthread::kthread_create(
            Arc::new(move || cpu_stopper_thread(cpu)),
            "migration",
        ) {
            Ok(k) => k,
            Err(e) => {
                log::error!("stop_machine: migration/{cpu} not created: {e:?}");
                continue;
            }
        };
        k.set_comm(alloc::format!("migration/{cpu}").as_bytes());
        crate::kthread::kthread_bind(&k, cpu);
        crate::sched::stop_task::sched_set_stop_task(cpu, &k);
        STOPPERS[cpu].thread.call_once(|| k.clone());
        crate::sched::core::wake_up_process(&k);
    }
}
