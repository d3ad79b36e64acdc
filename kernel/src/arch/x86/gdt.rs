//! The global descriptor table and task state segment of each CPU.
//!
//! Segment order follows what `sysret` needs: kernel code, kernel data, user
//! data, user code, then the TSS. The TSS holds `rsp0` (the kernel stack used
//! when an interrupt arrives in ring 3) and the IST stack for double faults.
//!
//! Linux: arch/x86/kernel/cpu/common.c (cpu_init), arch/x86/include/asm/segment.h

use core::cell::UnsafeCell;
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
const IST_STACK_SIZE: usize = 5 * 4096;

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

#[repr(align(16))]
struct IstStack(UnsafeCell<[u8; IST_STACK_SIZE]>);
// SAFETY: the stack is only ever used by the CPU itself, never through Rust
// references; Rust only takes its address.
unsafe impl Sync for IstStack {}

struct CpuTables {
    tss: UnsafeCell<TaskStateSegment>,
    gdt: Once<(GlobalDescriptorTable, Selectors)>,
    double_fault_stack: IstStack,
}
// SAFETY: each CPU only touches its own entry; `tss` is written by
// `set_rsp0` with interrupts disabled on the owning CPU.
unsafe impl Sync for CpuTables {}

static CPU_TABLES: [CpuTables; NR_CPUS] = [const {
    CpuTables {
        tss: UnsafeCell::new(TaskStateSegment::new()),
        gdt: Once::new(),
        double_fault_stack: IstStack(UnsafeCell::new([0; IST_STACK_SIZE])),
    }
}; NR_CPUS];

/// Builds and loads `cpu`'s GDT and TSS, then reloads the segment registers.
///
/// Linux: cpu_init() in arch/x86/kernel/cpu/common.c
pub fn gdt_init(cpu: usize) {
    let tables = &CPU_TABLES[cpu];
    let ist_top = VirtAddr::from_ptr(tables.double_fault_stack.0.get()) + IST_STACK_SIZE as u64;
    // SAFETY: this runs once per CPU before the TSS is loaded, so nothing
    // else reads the TSS while it is written.
    unsafe { (*tables.tss.get()).interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] = ist_top };
    let (gdt, sel) = tables.gdt.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        // SAFETY: the TSS is in a static, so it lives as long as the GDT.
        let tss: &'static TaskStateSegment = unsafe { &*tables.tss.get() };
        let sel = Selectors {
            kernel_code: gdt.append(Descriptor::kernel_code_segment()),
            kernel_data: gdt.append(Descriptor::kernel_data_segment()),
            user_data: gdt.append(Descriptor::user_data_segment()),
            user_code: gdt.append(Descriptor::user_code_segment()),
            tss: gdt.append(Descriptor::tss_segment(tss)),
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

/// The boot CPU's selectors (all CPUs use the same values).
pub fn selectors() -> Selectors {
    CPU_TABLES[0].gdt.get().expect("gdt_init ran").1
}

/// Sets the stack the CPU switches to when an interrupt arrives in ring 3.
///
/// Linux: update_task_stack() in arch/x86/include/asm/switch_to.h
pub fn set_rsp0(cpu: usize, top: VirtAddr) {
    super::without_interrupts(|| {
        // SAFETY: only the owning CPU writes its TSS, with interrupts off, and
        // the CPU reads rsp0 only when taking an interrupt from ring 3.
        unsafe { (*CPU_TABLES[cpu].tss.get()).privilege_stack_table[0] = top };
    });
}

/// The address range of `cpu`'s double-fault stack.
pub fn double_fault_stack(cpu: usize) -> core::ops::Range<u64> {
    let base = CPU_TABLES[cpu].double_fault_stack.0.get() as u64;
    base..base + IST_STACK_SIZE as u64
}
