//! Asking other CPUs to do something: run a function (cross-CPU calls, used
//! by TLB shootdown) or reschedule (after a wake-up placed a task there).
//!
//! Linux: kernel/smp.c, arch/x86/kernel/smp.c
//!
//! Differs: until the application processors are brought up, only the boot
//! CPU is online, so a call aimed at other CPUs has nobody to run on.

use crate::cpumask::{CpuMask, cpu_online_mask};

/// A function run on other CPUs, with one word of argument (Linux:
/// `smp_call_func_t` taking `void *info`).
pub type SmpCallFunc = fn(usize);

/// Runs `func(info)` on every online CPU in `mask` except this one; with
/// `wait`, returns only after each has finished. The caller must not hold
/// a lock that `func` takes, and must have interrupts on when `wait` is set.
///
/// Linux: smp_call_function_many() in kernel/smp.c
pub fn smp_call_function_many(mask: CpuMask, func: SmpCallFunc, info: usize, wait: bool) {
    let this = crate::arch::percpu::smp_processor_id();
    let mut others = mask.and(cpu_online_mask());
    others.clear(this);
    let _ = (func, info, wait);
    assert!(others.is_empty(), "cross-CPU call before other CPUs are up");
}

/// Runs `func(info)` on every online CPU in `mask`, this one included (here
/// with interrupts off, as the others run it from their interrupt handler).
///
/// Linux: on_each_cpu_mask() in kernel/smp.c
pub fn on_each_cpu_mask(mask: CpuMask, func: SmpCallFunc, info: usize, wait: bool) {
    smp_call_function_many(mask, func, info, wait);
    if mask.test(crate::arch::percpu::smp_processor_id()) {
        crate::arch::without_interrupts(|| func(info));
    }
}

/// Asks `cpu` to run its scheduler soon: its running task has been told to
/// give way (TIF_NEED_RESCHED) and must notice even if it is halted.
///
/// Linux: smp_send_reschedule() (the RESCHEDULE_VECTOR IPI) in
/// arch/x86/kernel/smp.c
pub fn smp_send_reschedule(cpu: usize) {
    assert!(
        cpu == crate::arch::percpu::smp_processor_id(),
        "reschedule IPI before other CPUs are up"
    );
}
