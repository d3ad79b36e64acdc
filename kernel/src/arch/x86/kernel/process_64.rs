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
}

// SAFETY: `sp` is written only by `copy_thread` (before the task is visible)
// and by `switch_to`, which runs with interrupts off on the CPU that owns the
// task at that moment; no two CPUs ever switch the same task.
unsafe impl Sync for ThreadStruct {}

impl ThreadStruct {
    /// A thread that has not been set up to run yet.
    pub const fn new() -> Self {
        ThreadStruct { sp: UnsafeCell::new(0), fsbase: AtomicU64::new(0) }
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

/// Prepares a new task's kernel stack so that its first switch-in lands in
/// `ret_from_fork_asm`. `kthread` says whether it then runs a kernel
/// function (`rbx` = 1) rather than returning to user space.
///
/// Linux: copy_thread() in arch/x86/kernel/process.c
pub fn copy_thread(thread: &ThreadStruct, stack_top: VirtAddr, kthread: bool) {
    let frame_addr = stack_top.as_u64() - size_of::<InactiveTaskFrame>() as u64 - 8;
    let frame = InactiveTaskFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        rbx: kthread as u64,
        rbp: 0,
        ret_addr: ret_from_fork_asm as *const () as u64,
    };
    // SAFETY: the stack was just allocated for this task, which has never run,
    // so the top of it is mapped, unused, and written by nobody else; `sp` is
    // not yet visible to any other CPU.
    unsafe {
        (frame_addr as *mut InactiveTaskFrame).write(frame);
        *thread.sp.get() = frame_addr;
    }
}

/// Switches from `prev` (the running task) to `next`. Returns when some
/// later `switch_to` switches back to `prev`. Interrupts must be off.
///
/// Linux: switch_to() / __switch_to() in arch/x86/kernel/process_64.c
pub fn switch_to(prev: &ThreadStruct, next: &ThreadStruct) {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    let fs = x86_64::registers::model_specific::FsBase::read().as_u64();
    prev.fsbase.store(fs, Ordering::Relaxed);
    x86_64::registers::model_specific::FsBase::write(VirtAddr::new_truncate(
        next.fsbase.load(Ordering::Relaxed),
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

/// Where a new task starts: finish the switch, then run its kernel function
/// (kernel threads) or return to user space.
#[unsafe(naked)]
unsafe extern "C" fn ret_from_fork_asm() {
    core::arch::naked_asm!(
        "mov rdi, rbx",
        "call {ret_from_fork}",
        "ud2",
        ret_from_fork = sym ret_from_fork,
    );
}

/// Linux: ret_from_fork() in arch/x86/kernel/process.c
extern "C" fn ret_from_fork(kthread: u64) -> ! {
    crate::sched::core::schedule_tail();
    assert!(kthread == 1, "user-space return not reached yet");
    crate::kthread::ret_from_kernel_thread()
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
        super::super::percpu::this_cpu().top_of_stack.store(top.as_u64(), Ordering::Relaxed);
    }
    super::super::percpu::set_current(&next);
    let prev_thread: *const ThreadStruct = &prev.thread;
    let next_thread: *const ThreadStruct = &next.thread;
    rq.prev = Some(prev);
    rq.curr = Some(next);
    drop(rq);
    // SAFETY: `rq.prev` and `rq.curr` own both tasks until finish_task_switch
    // runs on the far side of the switch, so both pointers stay valid.
    unsafe { switch_to(&*prev_thread, &*next_thread) };
}
