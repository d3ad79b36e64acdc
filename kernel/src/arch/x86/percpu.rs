//! Per-CPU data, reached through the GS base register: `current` (the task
//! running on this CPU), the CPU's run queue and its preempt count.
//!
//! Linux: arch/x86/kernel/setup_percpu.c, arch/x86/include/asm/current.h

use super::gdt::NR_CPUS;
use super::sync::SpinLock;
use crate::sched::RunQueue;
use crate::task::TaskStruct;
use crate::time::hrtimer::HrtimerCpuBase;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};

/// One CPU's private data. The first fields sit at fixed offsets because the
/// system-call entry reads them with `gs:`-relative loads.
#[repr(C)]
pub struct PerCpu {
    /// This structure's own address (gs:0), so Rust can find it.
    self_ptr: AtomicU64,
    /// Top of the current task's kernel stack (gs:8).
    pub top_of_stack: AtomicU64,
    /// Scratch slot for the user stack pointer during syscall entry (gs:16).
    pub user_rsp: AtomicU64,
    cpu: AtomicU64,
    /// The running task. Invariant: it points into an `Arc<TaskStruct>` held
    /// by this CPU's run queue (`rq.curr`) for as long as the pointer is set.
    current_task: AtomicPtr<TaskStruct>,
    /// This CPU's run queue (Linux: `DEFINE_PER_CPU(struct rq, runqueues)`).
    pub rq: SpinLock<RunQueue>,
    /// Preemption and interrupt nesting on this CPU, in the bit fields of
    /// `crate::preempt` (Linux: `pcpu_hot.preempt_count`, x86's per-CPU
    /// `__preempt_count`). Only this CPU reads and changes it, and only in
    /// the single `gs`-relative instructions of `preempt.rs`.
    pub(super) preempt_count: AtomicU32,
    /// This CPU's GDT, TSS and exception stack (Linux: gdt_page, cpu_tss_rw).
    pub(super) tables: super::gdt::CpuTables,
    /// The mm whose page tables are in CR3, held so that they stay
    /// allocated while loaded (Linux: cpu_tlbstate.loaded_mm).
    pub loaded_mm: SpinLock<Option<Arc<crate::mm::mm_types::MmStruct>>>,
    /// This CPU's pending kernel timers (Linux: `DEFINE_PER_CPU(struct
    /// hrtimer_cpu_base, hrtimer_bases)`).
    pub hrtimer_cpu_base: SpinLock<HrtimerCpuBase>,
    /// This CPU's interrupt counts (Linux: `DEFINE_PER_CPU(irq_cpustat_t, irq_stat)`).
    pub irq_stat: super::irq::IrqStat,
    /// Whether the timer interrupt being handled came from user mode, for
    /// the tick's accounting. Only this CPU, with interrupts off.
    /// Linux: `irq_regs` (set_irq_regs(), user_mode(get_irq_regs())).
    pub irq_user_mode: AtomicBool,
    /// What this CPU's local APIC timer is programmed for, in ns (Linux:
    /// clock_event_device.next_event); see apic::timer::next_event. Only
    /// this CPU, with interrupts off.
    pub clockevent_next: AtomicU64,
    /// When the running fair task's slice ends, u64::MAX for never (Linux:
    /// rq->hrtick_timer's expiry); see sched/hrtick.rs. Only this CPU,
    /// with interrupts off.
    pub hrtick_expires: AtomicU64,
}

/// Every CPU's area, built by the boot CPU's setup_per_cpu_areas() before
/// any CPU uses one. Until then it is all zero and so sits in `.bss`: the
/// BIOS loader copies the image a byte at a time, and the areas' starting
/// values (run queues, GDTs, lock class keys) are 16 KB.
///
/// Differs: Linux copies a `.data..percpu` template into each CPU's area.
static PER_CPU: Once<[PerCpu; NR_CPUS]> = Once::new();

impl PerCpu {
    /// A CPU's area as it starts: nothing running, an empty run queue.
    fn new() -> Self {
        PerCpu {
            self_ptr: AtomicU64::new(0),
            top_of_stack: AtomicU64::new(0),
            user_rsp: AtomicU64::new(0),
            cpu: AtomicU64::new(0),
            current_task: AtomicPtr::new(core::ptr::null_mut()),
            rq: SpinLock::new(RunQueue::new()),
            preempt_count: AtomicU32::new(0),
            tables: super::gdt::CpuTables::new(),
            loaded_mm: SpinLock::new(None),
            hrtimer_cpu_base: SpinLock::new(HrtimerCpuBase::new()),
            irq_stat: super::irq::IrqStat::new(),
            irq_user_mode: AtomicBool::new(false),
            clockevent_next: AtomicU64::new(0),
            hrtick_expires: AtomicU64::new(u64::MAX),
        }
    }
}

/// The per-CPU area of `cpu`, for setting that CPU up (Linux: per_cpu()).
pub(super) fn per_cpu(cpu: usize) -> &'static PerCpu {
    let areas = PER_CPU.get();
    &areas.expect("per-CPU area used before setup_per_cpu_areas")[cpu]
}

/// The run queue of `cpu` (Linux: cpu_rq()).
pub fn cpu_rq(cpu: usize) -> &'static SpinLock<RunQueue> {
    &per_cpu(cpu).rq
}

/// This CPU's run queue, found through the GS base rather than by CPU
/// number: the scheduler's own paths take it on every switch.
///
/// Linux: this_rq() in kernel/sched/sched.h
#[inline]
pub fn this_rq() -> &'static SpinLock<RunQueue> {
    &this_cpu().rq
}

/// The timer base of `cpu`, for reaching a timer queued on another CPU.
pub fn per_cpu_hrtimer_base(cpu: usize) -> &'static SpinLock<HrtimerCpuBase> {
    &per_cpu(cpu).hrtimer_cpu_base
}

/// The interrupt counts of `cpu` (Linux: `per_cpu(irq_stat, cpu)`).
pub fn irq_stat(cpu: usize) -> &'static super::irq::IrqStat {
    &per_cpu(cpu).irq_stat
}

/// Points this CPU's GS base at its per-CPU area; the boot CPU's call
/// first builds every CPU's area.
///
/// Linux: setup_per_cpu_areas() in arch/x86/kernel/setup_percpu.c
pub fn setup_per_cpu_areas(cpu: usize) {
    let area = &PER_CPU.call_once(|| core::array::from_fn(|_| PerCpu::new()))[cpu];
    let addr = area as *const PerCpu as u64;
    area.self_ptr.store(addr, Ordering::Relaxed);
    area.cpu.store(cpu as u64, Ordering::Relaxed);
    GsBase::write(VirtAddr::new(addr));
    KernelGsBase::write(VirtAddr::new(0));
}

/// This CPU's per-CPU area.
pub fn this_cpu() -> &'static PerCpu {
    let addr: u64;
    // SAFETY: GS base points at a `PerCpu` whose first field holds its own
    // address (setup_per_cpu_areas runs before anything calls this).
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) addr, options(nostack, readonly, preserves_flags))
    };
    assert!(addr != 0, "per-CPU area used before setup_per_cpu_areas");
    // SAFETY: `addr` is the address of an element of the static PER_CPU.
    unsafe { &*(addr as *const PerCpu) }
}

/// The per-CPU fields read and written whole by one `gs`-relative
/// instruction: 8 bytes, naturally aligned, atomic.
trait PerCpuWord {}
impl PerCpuWord for AtomicU64 {}
impl<T> PerCpuWord for AtomicPtr<T> {}

/// Compiles only for a [`PerCpuWord`] field: the check this_cpu_read! and
/// this_cpu_write! make on the field they are given.
fn is_per_cpu_word<W: PerCpuWord>(_: &W) {}

/// Reads this CPU's 8-byte field `$field` in one `gs`-relative load: no
/// address to compute first, and no window in which an interrupt could
/// move the task to another CPU between finding the area and reading it.
///
/// Linux: this_cpu_read() in arch/x86/include/asm/percpu.h
macro_rules! this_cpu_read {
    ($field:ident) => {{
        let _: fn(&PerCpu) = |p| is_per_cpu_word(&p.$field);
        let value: u64;
        // SAFETY: every CPU points its GS base at its own `PerCpu` first
        // thing (setup_per_cpu_areas() at the top of start_kernel and
        // start_secondary), before anything can run this; the field is 8
        // bytes at the offset read, and an aligned 8-byte load is atomic,
        // as the field's own (relaxed or acquire) loads are.
        unsafe {
            core::arch::asm!(
                "mov {}, gs:[{off}]",
                out(reg) value,
                off = const core::mem::offset_of!(PerCpu, $field),
                options(nostack, readonly, preserves_flags)
            );
        }
        value
    }};
}

/// Writes `$value` to this CPU's 8-byte field `$field` in one
/// `gs`-relative store (Linux: this_cpu_write()).
macro_rules! this_cpu_write {
    ($field:ident, $value:expr) => {{
        let _: fn(&PerCpu) = |p| is_per_cpu_word(&p.$field);
        let value: u64 = $value;
        // SAFETY: as in this_cpu_read!; an aligned 8-byte store is atomic,
        // and a plain x86 store is ordered as a release. Not `nomem`: the
        // asm is a compiler barrier, as the atomic store it replaces is.
        unsafe {
            core::arch::asm!(
                "mov gs:[{off}], {}",
                in(reg) value,
                off = const core::mem::offset_of!(PerCpu, $field),
                options(nostack, preserves_flags)
            );
        }
    }};
}

/// The number of the CPU running this code, in one `gs`-relative load.
///
/// Linux: smp_processor_id() (this_cpu_read(cpu_number)) in
/// arch/x86/include/asm/smp.h
#[inline]
pub fn smp_processor_id() -> usize {
    this_cpu_read!(cpu) as usize
}

/// When this CPU's hrtick fires (`PerCpu::hrtick_expires`), read in one
/// load. Only this CPU, with interrupts off.
#[inline]
pub fn this_cpu_hrtick_expires() -> u64 {
    this_cpu_read!(hrtick_expires)
}

/// Sets this CPU's hrtick expiry in one store. Only this CPU, with
/// interrupts off.
#[inline]
pub fn this_cpu_set_hrtick_expires(expires: u64) {
    this_cpu_write!(hrtick_expires, expires);
}

/// What this CPU's timer is programmed for (`PerCpu::clockevent_next`),
/// read in one load. Only this CPU, with interrupts off.
#[inline]
pub fn this_cpu_clockevent_next() -> u64 {
    this_cpu_read!(clockevent_next)
}

/// A new reference to the running task, or `None` before the scheduler runs.
///
/// Linux: get_current() in arch/x86/include/asm/current.h
pub fn current_task() -> Option<Arc<TaskStruct>> {
    let ptr = current_task_ptr();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: by the invariant on `current_task`, `ptr` came from
    // `Arc::as_ptr` of an Arc that the run queue still holds, and it is the
    // task running this code (read in one instruction, see
    // current_task_ptr), which stays alive while it runs: we take our own
    // strong reference before it could ever be switched out and freed.
    unsafe {
        Arc::increment_strong_count(ptr);
        Some(Arc::from_raw(ptr))
    }
}

/// Borrows the running task without touching its reference count: used on
/// hot paths such as the allocator's fault-injection check.
pub fn with_current<R>(f: impl FnOnce(Option<&TaskStruct>) -> R) -> R {
    // SAFETY: the running task cannot be freed while it runs: `rq.curr` keeps
    // it alive until another task has been switched in, which cannot happen
    // in the middle of this call as seen by the task itself.
    f(unsafe { current_task_ptr().as_ref() })
}

/// This CPU's running task, null before sched_init: one `gs`-relative
/// load, so that a task preempted and moved to another CPU around it still
/// reads itself (a load through this_cpu()'s address could read the CPU it
/// left), with no need to turn interrupts off.
///
/// Linux: get_current() (this_cpu_read_stable(current_task)) in
/// arch/x86/include/asm/current.h
#[inline]
fn current_task_ptr() -> *mut TaskStruct {
    // A plain x86 load is ordered as an acquire.
    core::ptr::with_exposed_provenance_mut(this_cpu_read!(current_task) as usize)
}

/// Records `task` as this CPU's running task, in one `gs`-relative store.
/// The caller must keep `task` alive (in `rq.curr`) until the next call.
#[inline]
pub fn set_current(task: &Arc<TaskStruct>) {
    this_cpu_write!(current_task, Arc::as_ptr(task).expose_provenance() as u64);
}
