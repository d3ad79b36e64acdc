//! Thread state and the context switch.
//!
//! A task that is not running keeps its callee-saved registers on its own
//! kernel stack; `thread.sp` remembers where. Switching is: push registers,
//! save rsp in `prev`, load rsp from `next`, pop registers, return — into
//! wherever `next` last called `switch_to`, or into `ret_from_fork_asm` for
//! a task that has never run.
//!
//! Linux: arch/x86/kernel/process_64.c (__switch_to), arch/x86/entry/entry_64.S
//! (__switch_to_asm, ret_from_fork_asm), arch/x86/kernel/process.c (copy_thread)

use super::super::entry::calling::PtRegs;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::VirtAddr;

/// The part of a task that only the architecture understands.
///
/// Linux: struct thread_struct in arch/x86/include/asm/processor.h
pub struct ThreadStruct {
    /// Saved kernel stack pointer while the task is switched out.
    sp: UnsafeCell<u64>,
    /// User FS base (thread pointer), saved across switches.
    pub fsbase: AtomicU64,
    /// User GS base, saved across switches. While the task is in the kernel
    /// it sits in IA32_KERNEL_GS_BASE, where `swapgs` put it.
    pub gsbase: AtomicU64,
    /// User FPU/SSE registers, saved across switches (Linux: fpu).
    pub fpu: super::fpu::Fpu,
}

// SAFETY: `sp` is written only by `copy_thread` (before the task is visible)
// and by `switch_to`, which runs with interrupts off on the CPU that owns the
// task at that moment; no two CPUs ever switch the same task.
unsafe impl Sync for ThreadStruct {}

impl ThreadStruct {
    /// A thread that has not been set up to run yet.
    pub fn new() -> Self {
        ThreadStruct {
            sp: UnsafeCell::new(0),
            fsbase: AtomicU64::new(0),
            gsbase: AtomicU64::new(0),
            fpu: super::fpu::Fpu::default(),
        }
    }
}

impl Default for ThreadStruct {
    fn default() -> Self {
        Self::new()
    }
}

/// What `__switch_to_asm` pops for a task the first time it is switched to.
///
/// Linux: struct inactive_task_frame / struct fork_frame in asm/switch_to.h
#[repr(C)]
struct InactiveTaskFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    rbx: u64,
    rbp: u64,
    ret_addr: u64,
}

/// Prepares a new task's kernel stack: its user registers (`childregs`) at
/// the very top, where every later entry from user space saves them, and
/// below them a switch frame whose return address is `ret_from_fork_asm`.
/// `kernel_fn` says whether the task first runs a kernel function (`rbx` = 1):
/// kernel threads and init do (Linux: `args->fn`).
///
/// Linux: copy_thread() in arch/x86/kernel/process.c
pub fn copy_thread(
    thread: &ThreadStruct,
    stack_top: VirtAddr,
    kernel_fn: bool,
    childregs: &PtRegs,
    parent: &ThreadStruct,
) {
    let regs_addr = stack_top.as_u64() - size_of::<PtRegs>() as u64;
    let frame_addr = regs_addr - size_of::<InactiveTaskFrame>() as u64;
    let frame = InactiveTaskFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        rbx: kernel_fn as u64,
        rbp: 0,
        ret_addr: ret_from_fork_asm as *const () as u64,
    };
    // SAFETY: the stack was just allocated for this task, which has never run,
    // so its top is mapped, unused, and written by nobody else; `sp` is not
    // yet visible to any other CPU.
    unsafe {
        (regs_addr as *mut PtRegs).write(*childregs);
        (frame_addr as *mut InactiveTaskFrame).write(frame);
        *thread.sp.get() = frame_addr;
    }
    if !kernel_fn {
        parent.fpu.save();
        thread.fpu.set(parent.fpu.snapshot());
        thread
            .fsbase
            .store(parent.fsbase.load(Ordering::Relaxed), Ordering::Relaxed);
        thread
            .gsbase
            .store(parent.gsbase.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Runs `f` on the current task's saved user registers, the frame at the top
/// of its kernel stack. Used by a kernel thread that execs (init): nothing
/// else refers to that frame while the thread runs in the kernel.
///
/// Linux: current_pt_regs() in arch/x86/include/asm/processor.h
pub fn with_current_pt_regs<R>(f: impl FnOnce(&mut PtRegs) -> R) -> R {
    let top = crate::arch::percpu::this_cpu()
        .top_of_stack
        .load(Ordering::Relaxed);
    // SAFETY: `top_of_stack` is the current task's stack top, under which
    // copy_thread placed a PtRegs; a kernel thread holds no other reference
    // to it, and ret_from_fork reads it only after this returns.
    f(unsafe { &mut *((top - size_of::<PtRegs>() as u64) as *mut PtRegs) })
}

/// Switches from `prev` (the running task) to `next`. Returns when some
/// later `switch_to` switches back to `prev`. Interrupts must be off.
///
/// Linux: switch_to() / __switch_to() in arch/x86/kernel/process_64.c
pub fn switch_to(prev: &ThreadStruct, next: &ThreadStruct) {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    prev.fpu.save();
    next.fpu.restore();
    let fs = x86_64::registers::model_specific::FsBase::read().as_u64();
    prev.fsbase.store(fs, Ordering::Relaxed);
    x86_64::registers::model_specific::FsBase::write(VirtAddr::new_truncate(
        next.fsbase.load(Ordering::Relaxed),
    ));
    let gs = x86_64::registers::model_specific::KernelGsBase::read().as_u64();
    prev.gsbase.store(gs, Ordering::Relaxed);
    x86_64::registers::model_specific::KernelGsBase::write(VirtAddr::new_truncate(
        next.gsbase.load(Ordering::Relaxed),
    ));
    // SAFETY: `prev` is the running task, so saving rsp into its `sp` is
    // ours to do; `next.sp` was set by copy_thread or by next's own last
    // switch, and points at a frame laid out as __switch_to_asm pops it.
    // Both tasks are kept alive by the run queue across the switch.
    unsafe { __switch_to_asm(prev.sp.get(), *next.sp.get()) };
}

#[unsafe(naked)]
unsafe extern "C" fn __switch_to_asm(prev_sp: *mut u64, next_sp: u64) {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    );
}

/// Where a new task starts, with rsp at its saved user registers: finish
/// the switch, run the kernel function of a kernel thread (which returns
/// only after a successful exec), then return to user space.
#[unsafe(naked)]
unsafe extern "C" fn ret_from_fork_asm() {
    core::arch::naked_asm!(
        "mov rdi, rbx",
        "call {ret_from_fork}",
        "jmp ret_from_entry",
        ret_from_fork = sym ret_from_fork,
    );
}

/// Linux: ret_from_fork() in arch/x86/kernel/process.c
extern "C" fn ret_from_fork(kernel_fn: u64) {
    crate::sched::core::schedule_tail();
    if kernel_fn == 1 {
        crate::kthread::ret_from_kernel_thread();
    }
    crate::fork::schedule_tail_set_child_tid();
    with_current_pt_regs(crate::arch::traps::exit_to_user_mode);
}

/// Hands the CPU from `prev` to `next`: both are parked in the run queue
/// (`rq.prev`, `rq.curr`) so that they stay alive across the switch, the run
/// queue lock is dropped with interrupts still off, and the stacks change.
/// The caller must call `finish_task_switch` once this returns.
///
/// Linux: context_switch() in kernel/sched/core.c
pub fn context_switch(
    mut rq: crate::arch::sync::SpinLockGuard<'_, crate::sched::RunQueue>,
    prev: alloc::sync::Arc<crate::task::TaskStruct>,
    next: alloc::sync::Arc<crate::task::TaskStruct>,
) {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    let cpu = super::super::percpu::smp_processor_id();
    if let Some(top) = next.stack.as_ref().map(|s| s.top()) {
        super::super::gdt::set_rsp0(cpu, top);
        super::super::percpu::this_cpu()
            .top_of_stack
            .store(top.as_u64(), Ordering::Relaxed);
    }
    super::super::percpu::set_current(&next);
    crate::mm::memory::switch_mm(next.mm.lock().as_ref());
    let prev_thread: *const ThreadStruct = &prev.thread;
    let next_thread: *const ThreadStruct = &next.thread;
    rq.prev = Some(prev);
    rq.curr = Some(next);
    drop(rq);
    // SAFETY: `rq.prev` and `rq.curr` own both tasks until finish_task_switch
    // runs on the far side of the switch, so both pointers stay valid.
    unsafe { switch_to(&*prev_thread, &*next_thread) };
}
