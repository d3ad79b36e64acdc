//! Asking other CPUs to do something: run a function (cross-CPU calls, used
//! by TLB shootdown) or reschedule (after a wake-up placed a task there);
//! and bringing the other CPUs up at boot.
//!
//! A cross-CPU call: each CPU has a call queue with one slot per calling
//! CPU (a call-single-data, csd). The caller waits until its slot in the
//! target's queue is free (the target ran its previous call), fills it,
//! and sends the call-function IPI; the target runs every queued call from
//! the interrupt and frees each slot when its function has returned. A
//! caller that waits keeps running the calls queued for its own CPU, so
//! two CPUs calling each other (even with interrupts off) never deadlock.
//!
//! Linux: kernel/smp.c, arch/x86/kernel/smp.c
//! Differs: a fixed slot per (target, caller) pair in place of Linux's
//! lock-free list of caller-owned csds.

use crate::arch::gdt::NR_CPUS;
use crate::arch::percpu::smp_processor_id;
use crate::arch::sync::SpinLock;
use crate::cpumask::{CpuMask, cpu_online, cpu_online_mask, cpu_possible_mask, num_online_cpus};
use crate::preempt::{preempt_disable, preempt_enable};

/// A function run on other CPUs, with one word of argument (Linux:
/// `smp_call_func_t` taking `void *info`).
pub type SmpCallFunc = fn(usize);

/// One caller's call in one target's queue (Linux: `struct
/// __call_single_data`). `func` is set from the moment the call is queued
/// until it has run (Linux: CSD_FLAG_LOCK); `queued` until the target
/// has taken it.
#[derive(Clone, Copy)]
struct Csd {
    func: Option<SmpCallFunc>,
    info: usize,
    queued: bool,
}

const CSD_FREE: Csd = Csd {
    func: None,
    info: 0,
    queued: false,
};

/// Each CPU's call queue, indexed by the calling CPU (Linux:
/// `DEFINE_PER_CPU(struct llist_head, call_single_queue)`); each protected
/// by its own lock.
static CALL_SINGLE_QUEUE: [SpinLock<[Csd; NR_CPUS]>; NR_CPUS] =
    [const { SpinLock::new([CSD_FREE; NR_CPUS]) }; NR_CPUS];

/// Brings every possible CPU online, one after the other, and reports how
/// many run.
///
/// Linux: smp_init() in kernel/smp.c (with bringup_nonboot_cpus())
pub fn smp_init() {
    log::info!("smp: Bringing up secondary CPUs ...");
    let trampoline = crate::arch::kernel::smpboot::native_smp_prepare_cpus();
    if let Some(start) = trampoline
        && cpu_possible_mask().weight() > 1
    {
        log::info!("x86: Booting SMP configuration:");
        for cpu in cpu_possible_mask().iter().filter(|&cpu| cpu != 0) {
            if let Err(e) = crate::arch::kernel::smpboot::do_boot_cpu(cpu, start) {
                log::warn!("smp: CPU {cpu} failed to come up: {e:?}");
            }
        }
    }
    let n = num_online_cpus();
    log::info!(
        "smp: Brought up 1 node, {n} CPU{}",
        if n == 1 { "" } else { "s" }
    );
    crate::arch::kernel::smpboot::native_smp_cpus_done(n);
}

/// Runs `func(info)` on every online CPU in `mask` except this one; with
/// `wait`, returns only after each has finished. The caller must not hold
/// a lock that `func` takes.
///
/// Linux: smp_call_function_many() in kernel/smp.c
pub fn smp_call_function_many(mask: CpuMask, func: SmpCallFunc, info: usize, wait: bool) {
    preempt_disable();
    let this = smp_processor_id();
    let mut others = mask.and(cpu_online_mask());
    others.clear(this);
    for cpu in others.iter() {
        csd_lock_wait(this, cpu);
        CALL_SINGLE_QUEUE[cpu].lock()[this] = Csd {
            func: Some(func),
            info,
            queued: true,
        };
    }
    crate::arch::kernel::smp::native_send_call_func_ipi(others);
    if wait {
        for cpu in others.iter() {
            csd_lock_wait(this, cpu);
        }
    }
    preempt_enable();
}

/// Waits until `target` has run the last call `this` queued for it,
/// running meanwhile the calls queued for `this`.
///
/// Linux: csd_lock_wait() in kernel/smp.c
fn csd_lock_wait(this: usize, target: usize) {
    while CALL_SINGLE_QUEUE[target].lock()[this].func.is_some() {
        crate::arch::without_interrupts(flush_smp_call_function_queue);
        core::hint::spin_loop();
    }
}

/// The call-function IPI's work: run every call queued for this CPU.
///
/// Linux: generic_smp_call_function_interrupt() in kernel/smp.c
pub fn generic_smp_call_function_interrupt() {
    flush_smp_call_function_queue();
}

/// Takes each queued call, runs it and frees its slot, which releases a
/// caller waiting for it. Runs with interrupts off.
///
/// Linux: __flush_smp_call_function_queue() in kernel/smp.c
fn flush_smp_call_function_queue() {
    let queue = &CALL_SINGLE_QUEUE[smp_processor_id()];
    for caller in 0..NR_CPUS {
        let call = {
            let mut q = queue.lock();
            let csd = &mut q[caller];
            if !csd.queued {
                continue;
            }
            csd.queued = false;
            (csd.func, csd.info)
        };
        if let (Some(func), info) = call {
            func(info);
        }
        queue.lock()[caller].func = None;
    }
}

/// Runs `func(info)` on every online CPU in `mask`, this one included (here
/// with interrupts off, as the others run it from their interrupt handler).
///
/// Linux: on_each_cpu_mask() in kernel/smp.c
pub fn on_each_cpu_mask(mask: CpuMask, func: SmpCallFunc, info: usize, wait: bool) {
    preempt_disable();
    smp_call_function_many(mask, func, info, wait);
    if mask.test(smp_processor_id()) {
        crate::arch::without_interrupts(|| func(info));
    }
    preempt_enable();
}

/// Asks `cpu` to run its scheduler soon: its running task has been told to
/// give way (TIF_NEED_RESCHED) and must notice even if it is halted. This
/// CPU notices at its next preemption point without an interrupt.
///
/// Linux: smp_send_reschedule() (the RESCHEDULE_VECTOR IPI) in
/// arch/x86/kernel/smp.c
pub fn smp_send_reschedule(cpu: usize) {
    if cpu != smp_processor_id() && cpu_online(cpu) {
        crate::arch::kernel::smp::native_smp_send_reschedule(cpu);
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::arch::percpu::irq_stat;
    use crate::arch::time::{jiffies, ktime_get_ns};
    use crate::{kassert, kassert_eq, ktest};
    use core::sync::atomic::{AtomicU64, Ordering};

    /// The CPUs that ran `mark_after_a_while` (bit n: CPU n).
    static RAN: AtomicU64 = AtomicU64::new(0);

    /// Spins for a millisecond before recording that this CPU ran it, so a
    /// `wait` that returned early would find its bit missing.
    fn mark_after_a_while(_: usize) {
        let until = ktime_get_ns() + 1_000_000;
        while ktime_get_ns() < until {
            core::hint::spin_loop();
        }
        RAN.fetch_or(1 << smp_processor_id(), Ordering::SeqCst);
    }

    /// Runs on another CPU, from its interrupt, and calls back the CPU
    /// `caller` with `wait`, which is itself waiting for this call.
    fn call_back(caller: usize) {
        smp_call_function_many(CpuMask::of(caller), mark_after_a_while, 0, true);
    }

    /// Halts until `cond` holds or a second has passed; returns `cond()`.
    fn wait_up_to_a_second(cond: impl Fn() -> bool) -> bool {
        let until = ktime_get_ns() + 1_000_000_000;
        while !cond() && ktime_get_ns() < until {
            core::hint::spin_loop();
        }
        cond()
    }

    ktest! {
        fn every_possible_cpu_came_online() {
            kassert_eq!(cpu_online_mask(), cpu_possible_mask());
            kassert!(cpu_online(0), "the boot CPU is offline");
        }
    }

    ktest! {
        fn each_application_processor_idles_in_its_own_swapper_with_pid_0() {
            for cpu in cpu_online_mask().iter().filter(|&cpu| cpu != 0) {
                let idle = crate::arch::kernel::smpboot::idle_thread_get(cpu);
                kassert!(idle.is_some(), "CPU {cpu} is online without an idle task");
                let idle = idle.expect("checked");
                kassert_eq!(idle.comm().as_str(), alloc::format!("swapper/{cpu}").as_str());
                kassert_eq!(idle.pid(), 0);
                kassert!(idle.is_idle_task(), "swapper/{cpu} lacks PF_IDLE");
            }
        }
    }

    ktest! {
        fn each_online_cpu_s_own_tick_advances() {
            let count = |cpu| irq_stat(cpu).apic_timer_irqs.load(Ordering::Relaxed);
            let before: alloc::vec::Vec<u64> = cpu_online_mask().iter().map(count).collect();
            let advanced = || {
                cpu_online_mask()
                    .iter()
                    .zip(&before)
                    .all(|(cpu, &before)| count(cpu) >= before + 3)
            };
            // Three ticks each, within a second (250 jiffies): a CPU the
            // host stalls takes one late interrupt for the periods it missed.
            let start = jiffies();
            while !advanced() && jiffies() < start + 250 {
                crate::arch::safe_halt();
            }
            for (cpu, before) in cpu_online_mask().iter().zip(before) {
                let after = count(cpu);
                kassert!(after >= before + 3, "CPU {cpu} ticked {} times in a second", after - before);
            }
        }
    }

    ktest! {
        fn a_call_function_ipi_runs_on_every_cpu_and_wait_returns_after_each_ran() {
            RAN.store(0, Ordering::SeqCst);
            on_each_cpu_mask(cpu_online_mask(), mark_after_a_while, 0, true);
            kassert_eq!(RAN.load(Ordering::SeqCst), cpu_online_mask().bits());
            let this = smp_processor_id();
            for cpu in cpu_online_mask().iter().filter(|&cpu| cpu != this) {
                kassert!(irq_stat(cpu).irq_call_count.load(Ordering::Relaxed) > 0, "CPU {cpu} took no call IPI");
            }
        }
    }

    ktest! {
        fn a_cpu_waiting_for_a_call_runs_the_call_made_back_to_it() {
            let this = smp_processor_id();
            RAN.store(0, Ordering::SeqCst);
            let mut others = cpu_online_mask();
            others.clear(this);
            smp_call_function_many(others, call_back, this, true);
            let expected = if others.is_empty() { 0 } else { 1 << this };
            kassert_eq!(RAN.load(Ordering::SeqCst), expected);
        }
    }

    ktest! {
        fn a_reschedule_ipi_arrives_on_every_other_cpu() {
            let this = smp_processor_id();
            for cpu in cpu_online_mask().iter().filter(|&cpu| cpu != this) {
                let count = || irq_stat(cpu).irq_resched_count.load(Ordering::Relaxed);
                let before = count();
                smp_send_reschedule(cpu);
                kassert!(wait_up_to_a_second(|| count() > before), "CPU {cpu} took no reschedule IPI");
            }
        }
    }
}
