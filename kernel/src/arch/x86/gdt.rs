//! The global descriptor table and task state segment of each CPU.
//!
//! Segment order follows what `sysret` needs: kernel code, kernel data, user
//! data, user code, then the TSS. The TSS holds `rsp0` (the kernel stack used
//! when an interrupt arrives in ring 3) and the IST stack for double faults.
//!
//! Linux: arch/x86/kernel/cpu/common.c (cpu_init), arch/x86/include/asm/segment.h

use super::percpu::per_cpu;
use super::sync::SpinLock;
use crate::mm::vmalloc::KernelStack;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// CPUs the per-CPU structures are laid out for.
pub const NR_CPUS: usize = 4;
/// IST slot used by the double-fault handler, so that it runs on a good stack
/// even when the fault was caused by a kernel stack overflow.
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;

/// The selectors every CPU's GDT provides.
#[derive(Clone, Copy, Debug)]
pub struct Selectors {
    /// Ring 0 code.
    pub kernel_code: SegmentSelector,
    /// Ring 0 data (and stack).
    pub kernel_data: SegmentSelector,
    /// Ring 3 data (and stack).
    pub user_data: SegmentSelector,
    /// Ring 3 64-bit code.
    pub user_code: SegmentSelector,
    tss: SegmentSelector,
}

/// One CPU's descriptor tables, kept in its per-CPU area. The TSS is read
/// by the CPU itself (rsp0 on an entry from ring 3, the IST on a double
/// fault) and written under its lock.
pub struct CpuTables {
    tss: SpinLock<TaskStateSegment>,
    gdt: Once<(GlobalDescriptorTable, Selectors)>,
    double_fault_stack: Once<KernelStack>,
}

impl CpuTables {
    /// Tables not loaded yet.
    pub const fn new() -> Self {
        CpuTables {
            tss: SpinLock::new(TaskStateSegment::new()),
            gdt: Once::new(),
            double_fault_stack: Once::new(),
        }
    }
}

impl Default for CpuTables {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds and loads `cpu`'s GDT and TSS, then reloads the segment registers.
///
/// Linux: cpu_init() in arch/x86/kernel/cpu/common.c
pub fn gdt_init(cpu: usize) {
    let tables = &per_cpu(cpu).tables;
    let tss: *const TaskStateSegment = &*tables.tss.lock();
    let (gdt, sel) = tables.gdt.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let sel = Selectors {
            kernel_code: gdt.append(Descriptor::kernel_code_segment()),
            kernel_data: gdt.append(Descriptor::kernel_data_segment()),
            user_data: gdt.append(Descriptor::user_data_segment()),
            user_code: gdt.append(Descriptor::user_code_segment()),
            // SAFETY: the TSS is in the static per-CPU area, so it outlives
            // the GDT; Rust changes it only under its lock, and the CPU only
            // reads it.
            tss: gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) }),
        };
        (gdt, sel)
    });
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded, whose descriptors are
    // valid 64-bit kernel segments and an available TSS.
    unsafe {
        CS::set_reg(sel.kernel_code);
        SS::set_reg(sel.kernel_data);
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(sel.tss);
    }
}

/// Gives `cpu` its double-fault stack, a vmalloc'd stack with a guard page
/// below it, once memory management is up. Until then a double fault has
/// no good stack to run on.
///
/// Linux: percpu_setup_exception_stacks() in arch/x86/mm/cpu_entry_area.c
pub fn setup_exception_stacks(cpu: usize) {
    let tables = &per_cpu(cpu).tables;
    let stack = tables.double_fault_stack.call_once(|| {
        KernelStack::alloc_exception_stack().expect("memory for the double-fault stack at boot")
    });
    tables.tss.lock().interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] = stack.top();
}

/// The boot CPU's selectors (all CPUs use the same values).
pub fn selectors() -> Selectors {
    per_cpu(0).tables.gdt.get().expect("gdt_init ran").1
}

/// Sets the stack the CPU switches to when an interrupt arrives in ring 3.
///
/// Linux: update_task_stack() in arch/x86/include/asm/switch_to.h
pub fn set_rsp0(cpu: usize, top: VirtAddr) {
    per_cpu(cpu).tables.tss.lock().privilege_stack_table[0] = top;
}
