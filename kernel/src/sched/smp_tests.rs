//! Tests of placement on several CPUs: where select_task_rq() puts a fork
//! child, and set_cpus_allowed_ptr() moving a running thread. They hold on
//! one CPU as well (every answer is then CPU 0).

use super::core::{WF_FORK, select_task_rq};
use super::migrate::{set_cpus_allowed_ptr, task_cpu};
use crate::arch::percpu::{cpu_rq, smp_processor_id};
use crate::cpumask::{CpuMask, cpu_online_mask, num_online_cpus};
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread};
use crate::ktest::wait_until;
use crate::task::{Comm, TASK_NEW, TaskStruct, current};
use crate::{kassert, kassert_eq, ktest};
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Pins the caller to the CPU it runs on and returns that CPU.
fn pin_here() -> Result<usize, String> {
    let me = current();
    let cpu = smp_processor_id();
    set_cpus_allowed_ptr(&me, CpuMask::of(cpu)).map_err(|e| alloc::format!("{e:?}"))?;
    Ok(task_cpu(&me))
}

/// Lets the caller run anywhere again.
fn unpin() {
    let _ = set_cpus_allowed_ptr(&current(), CpuMask::all());
}

/// Where select_task_rq() would start a new task with `p`'s mask and flags,
/// forked by the caller.
fn fork_cpu(p: &TaskStruct) -> usize {
    let _pi = p.pi_lock.lock();
    select_task_rq(p, smp_processor_id(), WF_FORK)
}

/// A kernel thread that spins until `stop`, counting in `seen` the CPUs it
/// ran on (bit n: CPU n).
fn spinner(stop: &Arc<AtomicBool>, seen: &Arc<AtomicU32>) -> Result<i32, String> {
    let (stop, seen) = (stop.clone(), seen.clone());
    let body = Arc::new(move || {
        while !stop.load(Ordering::Relaxed) {
            // Preemption off, as smp_processor_id() asks: a migration
            // between reading the CPU and the store would record the old
            // CPU after the move.
            crate::preempt::preempt_disable();
            seen.fetch_or(1 << smp_processor_id(), Ordering::Relaxed);
            crate::preempt::preempt_enable();
        }
        0
    });
    kernel_thread(body, "ktest-spin", CloneFlags::CLONE_FS).map_err(|e| alloc::format!("{e:?}"))
}

ktest! {
    fn a_fork_child_stays_on_a_quiet_parent_cpu_and_goes_to_an_idle_one_from_a_busy_one() {
        let cpu = pin_here()?;
        let child = TaskStruct::new(Comm::new("ktest-child"), TASK_NEW, 0, None);
        kassert_eq!(fork_cpu(&child), cpu, "only the parent runs here: the child stays");
        // A second task on this CPU (it inherits our pin) makes it busy.
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU32::new(0)));
        let pid = spinner(&stop, &seen)?;
        let busy = wait_until(50, || cpu_rq(cpu).lock().nr_running() >= 2);
        let spread = fork_cpu(&child);
        *child.vfork_done.lock() = Some(Arc::new(crate::sched::completion::Completion::new()));
        let vfork = fork_cpu(&child);
        stop.store(true, Ordering::Relaxed);
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        unpin();
        kassert!(busy, "the spinner queued on our CPU");
        if num_online_cpus() > 1 {
            kassert!(spread != cpu, "a busy parent CPU sends the child to an idle CPU, not {spread}");
        } else {
            kassert_eq!(spread, cpu, "one CPU: nowhere else to go");
        }
        kassert_eq!(vfork, cpu, "a vfork child stays with the parent that waits for it");
    }
}

ktest! {
    fn a_fork_child_starts_only_on_a_cpu_of_the_mask_it_inherits() {
        let online = cpu_online_mask();
        let last = online.iter().last().ok_or("a CPU is online")?;
        let child = TaskStruct::new(Comm::new("ktest-child"), TASK_NEW, 0, None);
        child.cpus_mask.store(CpuMask::of(last).bits(), Ordering::Relaxed);
        child.nr_cpus_allowed.store(1, Ordering::Relaxed);
        kassert_eq!(fork_cpu(&child), last);
        let no_online = CpuMask::all().bits() & !online.bits();
        if no_online != 0 {
            child.cpus_mask.store(no_online, Ordering::Relaxed);
            kassert!(online.test(fork_cpu(&child)), "a mask of offline CPUs falls back to an online one");
        }
    }
}

ktest! {
    fn set_cpus_allowed_ptr_moves_a_running_thread_and_it_stays_in_its_new_mask() {
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU32::new(0)));
        let pid = spinner(&stop, &seen)?;
        let p = crate::pid::find_task_by_vpid(pid).ok_or("the spinner")?;
        let target = cpu_online_mask().iter().last().ok_or("a CPU is online")?;
        kassert!(wait_until(50, || seen.load(Ordering::Relaxed) != 0), "the spinner ran");
        let set = set_cpus_allowed_ptr(&p, CpuMask::of(target));
        let moved = wait_until(50, || task_cpu(&p) == target);
        seen.store(0, Ordering::Relaxed);
        wait_until(20, || false);
        let after = seen.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
        kassert_eq!(set, Ok(()));
        kassert!(moved, "task_cpu is {} after asking for {target}", task_cpu(&p));
        kassert_eq!(after, 1 << target, "ran only on CPU {target} afterwards");
        kassert_eq!(set_cpus_allowed_ptr(&p, CpuMask::empty()), Err(crate::errno::Errno::EINVAL));
    }
}

ktest! {
    fn each_online_cpu_has_a_migration_thread_bound_to_it() {
        for cpu in cpu_online_mask().iter() {
            let stop = cpu_rq(cpu).lock().stop.clone().ok_or("a stopper")?;
            kassert_eq!(stop.comm().as_str(), alloc::format!("migration/{cpu}").as_str());
            kassert_eq!(stop.cpus_mask(), CpuMask::of(cpu));
            kassert!(stop.flags() & crate::task::PF_NO_SETAFFINITY != 0);
        }
    }
}
