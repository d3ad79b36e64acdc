//! The preempt count's accessors, each one `gs`-relative instruction on
//! this CPU's `PerCpu::preempt_count`. Going through this_cpu()'s address
//! takes two instructions, and a tick between them may preempt the task
//! and move it to another CPU: it would then read, or worse change, the
//! count of the CPU it left (a preempt_disable() counted there and a
//! preempt_enable() taken off here). One instruction cannot be split by an
//! interrupt, so the task always reaches the CPU it runs on.
//!
//! Linux: arch/x86/include/asm/preempt.h

use super::percpu::PerCpu;

/// Where the count lies in the per-CPU area that GS points at.
const PREEMPT_COUNT: usize = core::mem::offset_of!(PerCpu, preempt_count);

/// This CPU's preempt count.
///
/// Linux: preempt_count() in arch/x86/include/asm/preempt.h
pub fn preempt_count() -> u32 {
    let count: u32;
    // SAFETY: GS base points at this CPU's `PerCpu` from the first steps
    // of start_kernel and start_secondary (setup_per_cpu_areas()), whose `preempt_count` lies at PREEMPT_COUNT; an aligned 4-byte load
    // is atomic, and only this CPU writes the field.
    unsafe {
        core::arch::asm!(
            "mov {:e}, dword ptr gs:[{off}]",
            out(reg) count,
            off = const PREEMPT_COUNT,
            options(nostack, readonly, preserves_flags)
        );
    }
    count
}

/// Adds `val` to this CPU's preempt count.
///
/// Linux: __preempt_count_add() in arch/x86/include/asm/preempt.h
pub fn __preempt_count_add(val: u32) {
    // SAFETY: as in preempt_count(); the field is written only by its own
    // CPU, through these instructions, so a non-locked add (which no
    // interrupt can split) is atomic for every reader. Not `nomem`: the
    // asm is a compiler barrier, as Linux's preempt_disable() is.
    unsafe {
        core::arch::asm!(
            "add dword ptr gs:[{off}], {val:e}",
            val = in(reg) val,
            off = const PREEMPT_COUNT,
            options(nostack)
        );
    }
}

/// Takes `val` off this CPU's preempt count.
///
/// Linux: __preempt_count_sub() in arch/x86/include/asm/preempt.h
pub fn __preempt_count_sub(val: u32) {
    // SAFETY: as in __preempt_count_add().
    unsafe {
        core::arch::asm!(
            "sub dword ptr gs:[{off}], {val:e}",
            val = in(reg) val,
            off = const PREEMPT_COUNT,
            options(nostack)
        );
    }
}
