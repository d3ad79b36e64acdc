//! The two inter-processor interrupts the scheduler and cross-CPU calls
//! use: sending them through the local APIC, and taking them.
//!
//! Linux: arch/x86/kernel/smp.c

use crate::arch::apic::{self, CALL_FUNCTION_VECTOR, RESCHEDULE_VECTOR, ipi};
use crate::arch::percpu::this_cpu;
use crate::cpumask::CpuMask;
use core::sync::atomic::Ordering;

/// Sends `cpu` the reschedule IPI.
///
/// Linux: native_smp_send_reschedule() in arch/x86/kernel/smp.c
pub fn native_smp_send_reschedule(cpu: usize) {
    ipi::send_ipi(apic::cpu_to_apicid(cpu), RESCHEDULE_VECTOR);
}

/// Sends every CPU in `mask` the call-function IPI.
///
/// Linux: native_send_call_func_ipi() in arch/x86/kernel/smp.c
/// Differs: one IPI per CPU; no broadcast shorthand.
pub fn native_send_call_func_ipi(mask: CpuMask) {
    for cpu in mask.iter() {
        ipi::send_ipi(apic::cpu_to_apicid(cpu), CALL_FUNCTION_VECTOR);
    }
}

/// The reschedule IPI: nothing to do but count it; the sender has set
/// need_resched, which the interrupt exit (dispatch) acts on.
///
/// Linux: sysvec_reschedule_ipi() in arch/x86/kernel/smp.c
pub fn sysvec_reschedule_ipi() {
    apic::apic_eoi();
    this_cpu()
        .irq_stat
        .irq_resched_count
        .fetch_add(1, Ordering::Relaxed);
}

/// The call-function IPI: run what other CPUs queued for this one.
///
/// Linux: sysvec_call_function() in arch/x86/kernel/smp.c
pub fn sysvec_call_function() {
    apic::apic_eoi();
    this_cpu()
        .irq_stat
        .irq_call_count
        .fetch_add(1, Ordering::Relaxed);
    crate::smp::generic_smp_call_function_interrupt();
}
