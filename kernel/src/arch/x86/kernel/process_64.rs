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
use super::super::percpu::{PerCpu, set_current, smp_processor_id, this_cpu, with_current};
use super::super::sync::{SpinLock, SpinLockGuard};
use crate::mm::vmalloc::{KernelStack, THREAD_SIZE};
use crate::sched::RunQueue;
use crate::task::{PF_KTHREAD, TaskStruct};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::VirtAddr;
use x86_64::instructions::interrupts;

/// Where a task's kernel stack is.
enum TaskStack {
    /// A CPU's idle task runs on the stack the bootloader gave that CPU.
    Boot,
    /// A stack of its own, from vmalloc.
    Vmap(KernelStack),
    /// Freed after the task died (put_task_stack), which left `on_cpu` set:
    /// the task never runs again.
    Released,
}

/// The part of a task that only the architecture understands: its kernel
/// stack, the stack pointer saved while it is switched out, and the user
/// registers that live outside the stack frame.
///
/// Lock rules: `sp` and `on_cpu` are written only by this file: `sp` by
/// copy_thread (once, before the task can run) and by the switch away from
/// the task. `on_cpu` is claimed (false to true) by a CPU about to run the
/// task, and cleared once that CPU has left its stack; put_task_stack
/// claims it too and never clears it, so a freed stack is never run on.
/// `stack` is behind its own lock. No CPU switches to a task whose `sp` is
/// 0.
///
/// Linux: struct thread_struct in arch/x86/include/asm/processor.h, plus
/// task_struct's stack and on_cpu
pub struct ThreadStruct {
    /// Saved kernel stack pointer while the task is switched out; 0 until
    /// copy_thread prepared the stack.
    sp: AtomicU64,
    /// A CPU runs the task or is switching away from it (Linux: on_cpu).
    on_cpu: AtomicBool,
    /// The kernel stack (Linux: task_struct.stack).
    stack: SpinLock<TaskStack>,
    /// The top of `stack`, for the switch; 0 on the boot stack.
    stack_top: u64,
    /// User FS base (thread pointer), saved across switches.
    pub fsbase: AtomicU64,
    /// User GS base, saved across switches. While the task is in the kernel
    /// it sits in IA32_KERNEL_GS_BASE, where `swapgs` put it.
    pub gsbase: AtomicU64,
    /// User FPU/SSE registers, saved across switches (Linux: fpu).
    pub fpu: super::fpu::Fpu,
    /// The last user-mode exception that sent this thread a signal: its
    /// vector, error code and (a page fault's) address, for the next signal
    /// frame's sigcontext (Linux: trap_nr, error_code, cr2). Lock: none;
    /// written and read by the thread itself.
    pub trap: TrapInfo,
    /// Set while the task runs the kernel function it was created with
    /// (init's, a kernel thread's): ret_from_fork lends it the user
    /// registers at the top of its stack, to which nothing else refers until
    /// the function returns. `with_kernel_thread_pt_regs` takes the loan for
    /// the length of one call, so that two borrows never overlap.
    pt_regs_lent: AtomicBool,
}

/// What ThreadStruct keeps of the last user-mode exception that signalled.
#[derive(Default)]
pub struct TrapInfo {
    /// The vector (Linux: thread.trap_nr).
    pub trap_nr: AtomicU64,
    /// The error code the CPU pushed, 0 for none (Linux: thread.error_code).
    pub error_code: AtomicU64,
    /// A page fault's address (Linux: thread.cr2).
    pub cr2: AtomicU64,
}

impl TrapInfo {
    /// Records an exception about to send a signal.
    ///
    /// Linux: the `tsk->thread.trap_nr = ...; error_code = ...` of do_trap()
    /// and set_signal_archinfo() in arch/x86
    pub fn set(&self, trap_nr: u8, error_code: u64, cr2: u64) {
        self.trap_nr.store(u64::from(trap_nr), Ordering::Relaxed);
        self.error_code.store(error_code, Ordering::Relaxed);
        self.cr2.store(cr2, Ordering::Relaxed);
    }
}

impl ThreadStruct {
    /// A thread on `stack` (`None`: the CPU's boot stack, for an idle task
    /// that is already running) that has not been set up to run yet.
    pub fn new(stack: Option<KernelStack>) -> Self {
        ThreadStruct {
            sp: AtomicU64::new(0),
            on_cpu: AtomicBool::new(stack.is_none()),
            stack_top: stack.as_ref().map_or(0, |s| s.top().as_u64()),
            stack: SpinLock::new(stack.map_or(TaskStack::Boot, TaskStack::Vmap)),
            fsbase: AtomicU64::new(0),
            gsbase: AtomicU64::new(0),
            fpu: super::fpu::Fpu::default(),
            trap: TrapInfo::default(),
            pt_regs_lent: AtomicBool::new(false),
        }
    }

    /// Whether a CPU runs the task or is still switching away from it: its
    /// stack is in use, so no other CPU may run it yet (Linux: task_on_cpu()).
    pub fn on_cpu(&self) -> bool {
        self.on_cpu.load(Ordering::Acquire)
    }

    /// The word at the end of this thread's stack (where STACK_END_MAGIC
    /// lives), read without the stack's lock, if the code calling runs on
    /// that stack: a stack in use is mapped and cannot be freed. None
    /// otherwise (another task's stack, a CPU's boot stack).
    #[inline]
    pub fn running_end_of_stack(&self) -> Option<u64> {
        let here = 0u8;
        let sp = core::ptr::from_ref(&here) as u64;
        let bottom = self.stack_top.checked_sub(THREAD_SIZE as u64)?;
        if !(bottom..self.stack_top).contains(&sp) {
            return None;
        }
        // SAFETY: `sp` lies in [bottom, stack_top), so this code runs on
        // the stack, which stays mapped while it is in use; `bottom` is the
        // stack's lowest word, 8-byte aligned, only accessed atomically
        // (KernelStack::end_of_stack).
        Some(unsafe { &*(bottom as *const AtomicU64) }.load(Ordering::Relaxed))
    }

    /// Runs `f` on the task's own kernel stack, if it has one (not an idle
    /// task's boot stack, not a dead task's freed one).
    pub fn with_stack<R>(&self, f: impl FnOnce(Option<&KernelStack>) -> R) -> R {
        match &*self.stack.lock() {
            TaskStack::Vmap(stack) => f(Some(stack)),
            TaskStack::Boot | TaskStack::Released => f(None),
        }
    }

    /// The lowest address of the task's own stack, without waiting for its
    /// lock (the double-fault report runs with anything held).
    pub fn stack_bottom_lossy(&self) -> Option<u64> {
        match &*self.stack.try_lock()? {
            TaskStack::Vmap(stack) => Some(stack.bottom().as_u64()),
            TaskStack::Boot | TaskStack::Released => None,
        }
    }

    /// Frees the kernel stack of a task that will never run again. Does
    /// nothing while a CPU still runs the task or is switching away from it;
    /// a later switch to the task is refused with a panic (the freed stack
    /// keeps `on_cpu` claimed).
    ///
    /// Linux: put_task_stack() / release_task_stack() in kernel/fork.c
    /// Differs: no stack reference count (nothing else pins a stack).
    pub fn put_task_stack(&self) {
        let mut slot = self.stack.lock();
        if !matches!(*slot, TaskStack::Vmap(_))
            || self
                .on_cpu
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let TaskStack::Vmap(stack) = &mut *slot {
            stack.account_out();
        }
        let stack = core::mem::replace(&mut *slot, TaskStack::Released);
        drop(slot);
        drop(stack);
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
/// kernel threads and init do (Linux: `args->fn`). The stack is `p`'s own
/// KernelStack, which no CPU has run on yet: a thread is prepared once,
/// and only a prepared thread is ever switched to.
///
/// Linux: copy_thread() in arch/x86/kernel/process.c
pub fn copy_thread(p: &ThreadStruct, kernel_fn: bool, childregs: &PtRegs, parent: &ThreadStruct) {
    let stack = p.stack.lock();
    let TaskStack::Vmap(stack) = &*stack else {
        panic!("copy_thread: a task without a stack of its own");
    };
    assert_eq!(
        p.sp.load(Ordering::Relaxed),
        0,
        "copy_thread: prepared twice"
    );
    let regs_addr = stack.top().as_u64() - size_of::<PtRegs>() as u64;
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
    // SAFETY: `sp` is 0, so no CPU has switched to this thread: its stack is
    // mapped (we hold it), unused, and written by nobody else; both writes
    // land in its top page, above the stack's bottom.
    unsafe {
        (regs_addr as *mut PtRegs).write(*childregs);
        (frame_addr as *mut InactiveTaskFrame).write(frame);
    }
    p.sp.store(frame_addr, Ordering::Release);
    if !kernel_fn {
        // A kernel thread's live FPU registers are not its own (switch_to
        // leaves them alone): its child starts from the reset state.
        // The registers are the running parent's: saved straight into the
        // child's area (Linux: save_fpregs_to_fpstate(dst_fpu) in
        // fpu_clone()), not through the parent's and a copy.
        if with_current(|c| c.is_some_and(|c| c.flags() & PF_KTHREAD == 0)) {
            p.fpu.save();
        }
        // Differs: Linux first saves the running parent's FS and GS bases
        // (save_fsgs), which user space may have changed with wrfsbase.
        // CR4.FSGSBASE stays off here, so arch_prctl, execve and ptrace are
        // their only writers and keep `fsbase`/`gsbase` current
        // (tests/user/fsbase_fork.c).
        p.fsbase
            .store(parent.fsbase.load(Ordering::Relaxed), Ordering::Relaxed);
        p.gsbase
            .store(parent.gsbase.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Runs `f` on the user registers that the current task, still running the
/// kernel function it was created with, will enter user space with: how
/// init's kernel_execve sets up the program it starts. Refuses, with a
/// panic, any other caller (a task in a system call, whose own entry frame
/// is borrowed already) and a call nested in `f`.
///
/// Linux: current_pt_regs() in arch/x86/include/asm/processor.h, as Linux's
/// kernel_execve reaches it
/// Differs: Linux relies on its callers to use it only where the frame is
/// free; here the loan checks that at run time.
pub fn with_kernel_thread_pt_regs<R>(f: impl FnOnce(&mut PtRegs) -> R) -> R {
    let thread: *const ThreadStruct = with_current(|c| &c.expect("a task").thread as *const _);
    // SAFETY: the running task is kept alive by its run queue while it runs,
    // and this call runs in it.
    let thread = unsafe { &*thread };
    let lent = thread.pt_regs_lent.swap(false, Ordering::Acquire);
    assert!(
        lent,
        "with_kernel_thread_pt_regs: not in a task's first kernel function, or nested"
    );
    // SAFETY: the loan was there to take: the task runs its first kernel
    // function (ret_from_fork set it), so nothing else refers to the frame,
    // and taking the loan keeps any other borrow out until it is given back.
    let r = unsafe { with_current_pt_regs(f) };
    thread.pt_regs_lent.store(true, Ordering::Release);
    r
}

/// Runs `f` on the current task's saved user registers, the frame at the top
/// of its kernel stack.
///
/// Linux: current_pt_regs() in arch/x86/include/asm/processor.h
///
/// # Safety
/// The current task runs on its own stack (not a CPU's boot stack), and
/// nothing else refers to that frame until `f` returns: no system-call or
/// interrupt entry frame, no other call of this function.
unsafe fn with_current_pt_regs<R>(f: impl FnOnce(&mut PtRegs) -> R) -> R {
    // The task's own stack top, not this CPU's `top_of_stack`: with
    // interrupts on, the task may move to another CPU between reading the
    // per-CPU area's address and the field, and would then get the frame of
    // the task running on the CPU it left.
    let top = with_current(|c| c.expect("a task").thread.stack_top);
    assert_ne!(top, 0, "a task on a CPU's boot stack has no user registers");
    // SAFETY: on its own stack the task's top is `stack_top`, under which
    // copy_thread placed a PtRegs; the caller promises that no other
    // reference to it is live.
    f(unsafe { &mut *((top - size_of::<PtRegs>() as u64) as *mut PtRegs) })
}

/// Switches from `prev` (the running task) to `next`. Returns when some
/// later `switch_to` switches back to `prev`, with the thread that switch
/// came from.
///
/// The user FPU registers and FS/GS bases are saved only for a `prev`
/// that has them and loaded only for a `next` that has them (`user`): a
/// switch between kernel threads touches neither.
///
/// Linux: switch_to() / __switch_to() in arch/x86/kernel/process_64.c
/// (switch_fpu_prepare() skips PF_KTHREAD tasks)
/// Differs: the FPU registers are loaded at the switch, not on the way
/// back to user space (TIF_NEED_FPU_LOAD).
///
/// # Safety
/// Interrupts are off; `prev` is the thread running on this CPU; `next` was
/// prepared by copy_thread (or switched away from), runs on no CPU, and its
/// stack is mapped; the caller keeps both alive until the far side of the
/// switch has cleared `prev`'s on_cpu.
unsafe fn switch_to(
    prev: &ThreadStruct,
    next: &ThreadStruct,
    (prev_user, next_user): (bool, bool),
) -> *const ThreadStruct {
    if prev_user {
        prev.fpu.save();
        let fs = x86_64::registers::model_specific::FsBase::read().as_u64();
        prev.fsbase.store(fs, Ordering::Relaxed);
        let gs = x86_64::registers::model_specific::KernelGsBase::read().as_u64();
        prev.gsbase.store(gs, Ordering::Relaxed);
    }
    if next_user {
        next.fpu.restore();
        x86_64::registers::model_specific::FsBase::write(VirtAddr::new_truncate(
            next.fsbase.load(Ordering::Relaxed),
        ));
        x86_64::registers::model_specific::KernelGsBase::write(VirtAddr::new_truncate(
            next.gsbase.load(Ordering::Relaxed),
        ));
    }
    // SAFETY: by the contract above, saving rsp into `prev.sp` is ours to do
    // (the asm stores it through the atomic's pointer, a plain aligned
    // store), and `next.sp` points at a frame laid out as __switch_to_asm
    // pops it, on a stack that stays mapped across the switch.
    unsafe { __switch_to_asm(prev, prev.sp.as_ptr(), next.sp.load(Ordering::Acquire)) }
}

/// Saves the callee-saved registers and rsp of `prev`, loads `next_sp` and
/// returns into the task that owns it, handing it `prev` (in rax, and in
/// rdi for ret_from_fork_asm): the thread its CPU just left.
#[unsafe(naked)]
unsafe extern "C" fn __switch_to_asm(
    prev: *const ThreadStruct,
    prev_sp: *mut u64,
    next_sp: u64,
) -> *const ThreadStruct {
    core::arch::naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rsi], rsp",
        "mov rsp, rdx",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "mov rax, rdi",
        "ret",
    );
}

/// Where a new task starts, with rsp at its saved user registers and the
/// thread switched away from in rdi: finish the switch, run the kernel
/// function of a kernel thread (which returns only after a successful
/// exec), then return to user space.
#[unsafe(naked)]
unsafe extern "C" fn ret_from_fork_asm() {
    core::arch::naked_asm!(
        "mov rsi, rdi",
        "mov rdi, rbx",
        "call {ret_from_fork}",
        "jmp ret_from_entry",
        ret_from_fork = sym ret_from_fork,
    );
}

/// Linux: ret_from_fork() in arch/x86/kernel/process.c
extern "C" fn ret_from_fork(kernel_fn: u64, prev: *const ThreadStruct) {
    finish_switch(prev);
    crate::sched::core::schedule_tail();
    if kernel_fn == 1 {
        let thread = with_current(|c| c.map(|c| &c.thread as *const ThreadStruct));
        // SAFETY: the running task outlives the code it runs.
        let thread = unsafe { &*thread.expect("a task") };
        thread.pt_regs_lent.store(true, Ordering::Release);
        crate::kthread::ret_from_kernel_thread();
        let returned = thread.pt_regs_lent.swap(false, Ordering::Acquire);
        assert!(returned, "the user registers are still lent out");
    }
    crate::fork::schedule_tail_set_child_tid();
    // SAFETY: a task starts here on its own stack (only a prepared thread,
    // which has one, is switched to), under whose top copy_thread put these
    // registers; its kernel function has returned and its loan is taken
    // back, so this is the only reference until the return to user space.
    unsafe { with_current_pt_regs(crate::arch::traps::exit_to_user_mode) };
}

/// The far side of a switch: the CPU has left `prev`'s stack, so it may now
/// be switched to by another CPU, or freed if `prev` is dead.
///
/// Linux: finish_task() in kernel/sched/core.c
fn finish_switch(prev: *const ThreadStruct) {
    // SAFETY: `prev` came from __switch_to_asm, whose caller (context_switch)
    // parked its task in `rq.prev`, which finish_task_switch only empties
    // after this returns.
    unsafe { &*prev }.on_cpu.store(false, Ordering::Release);
}

/// Hands the CPU from `prev` to `next`: both are parked in the run queue
/// (`rq.prev`, `rq.curr`) so that they stay alive across the switch, and
/// the stacks change with the run queue lock held and interrupts off; the
/// far side's `finish_task_switch` takes the lock over and unlocks it (the
/// caller's own call, once this returns, or schedule_tail's in a new task). Refuses,
/// with a panic, a switch that would break switch_to's contract: `rq` not
/// this CPU's, `prev` not the running task, `next` running elsewhere, never
/// prepared, or dead.
///
/// Linux: context_switch() in kernel/sched/core.c
pub fn context_switch(
    mut rq: SpinLockGuard<'_, RunQueue>,
    prev: Arc<TaskStruct>,
    next: Arc<TaskStruct>,
) {
    let this = this_cpu();
    assert!(
        rq.holds(&this.rq),
        "context_switch: another CPU's run queue"
    );
    assert!(
        with_current(|c| c.is_some_and(|c| core::ptr::eq(c, &*prev))),
        "context_switch: prev is not the running task"
    );
    // Only a task that can return to user space has user registers to
    // keep: a kernel thread's are the last user task's, left in place.
    let user = (
        prev.flags() & PF_KTHREAD == 0,
        next.flags() & PF_KTHREAD == 0,
    );
    prepare_switch_to(this, &next, user.1);
    set_current(&next);
    // A task without an mm borrows the one loaded here (lazy TLB, see
    // mm::tlb). Kernel threads are asked too: one may have been lent an mm
    // (as Linux's kthread_use_mm lends one), and must get it on any CPU.
    rq.prev_mm = if next.mm.has_mm() {
        switch_mm(next.mm.lock().as_ref())
    } else {
        switch_mm(None)
    };
    let prev_thread: *const ThreadStruct = &prev.thread;
    let next_thread: *const ThreadStruct = &next.thread;
    rq.prev = Some(prev);
    rq.curr = Some(next);
    // Held across the switch: finish_task_switch, on next's stack, unlocks.
    rq.hand_over();
    assert!(!interrupts::are_enabled(), "context_switch: interrupts on");
    // SAFETY: interrupts are off; prev is the running task (checked above);
    // prepare_switch_to checked next and claimed it; `rq.prev` and `rq.curr`
    // own both tasks until finish_task_switch runs after finish_switch.
    let last = unsafe { switch_to(&*prev_thread, &*next_thread, user) };
    finish_switch(last);
}

/// Loads the address space of the task switched to: its mm, or, for a
/// task without one (a kernel thread, an exited task), the one loaded
/// stays, lazily. Returns the CPU's reference to the mm it had before, if
/// it changed, for finish_task_switch to drop.
///
/// Linux: the mm half of context_switch() in kernel/sched/core.c
fn switch_mm(
    next_mm: Option<&Arc<crate::mm::mm_types::MmStruct>>,
) -> Option<Arc<crate::mm::mm_types::MmStruct>> {
    match next_mm {
        Some(mm) => crate::mm::tlb::switch_mm_irqs_off(Some(mm)),
        None => {
            crate::mm::tlb::enter_lazy_tlb();
            None
        }
    }
}

/// Claims `next` for this CPU and points the CPU at its stack (rsp0 for
/// entries from user space, and the per-CPU top of stack). The claim is
/// what keeps the stack from being freed while it is in use. A kernel
/// thread (`next_user` false) never enters from user space, so rsp0 is
/// left for the next user task to set.
fn prepare_switch_to(this: &PerCpu, task: &TaskStruct, next_user: bool) {
    let next = &task.thread;
    let claimed = next
        .on_cpu
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed);
    if claimed.is_err() {
        refuse_switch(task);
    }
    assert_ne!(
        next.sp.load(Ordering::Acquire),
        0,
        "switch to a task never prepared"
    );
    if next.stack_top != 0 {
        if next_user {
            super::super::gdt::set_rsp0(smp_processor_id(), VirtAddr::new(next.stack_top));
        }
        this.top_of_stack.store(next.stack_top, Ordering::Relaxed);
    }
}

/// Stops the kernel at a switch to a task that a CPU still runs, or whose
/// stack was freed: a task on two run queues, or a dead one queued again.
/// Says which, and what the task looked like, for the report.
#[cold]
fn refuse_switch(task: &TaskStruct) -> ! {
    let freed = task.thread.stack_bottom_lossy().is_none();
    panic!(
        "switch to a running or dead task: pid {} ({}) state {:#x} exit_state {:#x} \
         on_rq {} cpu {} stack {}",
        task.pid(),
        task.comm_lossy().as_str(),
        task.state(),
        task.exit_state(),
        task.se.on_rq.load(Ordering::Relaxed),
        crate::sched::migrate::task_cpu(task),
        if freed {
            "gone (freed, a boot stack, or its lock busy)"
        } else {
            "in place"
        },
    );
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        fn a_first_kernel_function_borrows_its_user_registers_once_at_a_time() {
            // The test runner is a kernel thread still in its first function.
            let thread = with_current(|c| c.map(|c| &c.thread as *const ThreadStruct));
            // SAFETY: the running task outlives this test, which runs in it.
            let thread = unsafe { &*thread.expect("a task") };
            kassert!(thread.pt_regs_lent.load(Ordering::Relaxed), "lent by ret_from_fork");
            let (lent_inside, rip) = with_kernel_thread_pt_regs(|regs| {
                (thread.pt_regs_lent.load(Ordering::Relaxed), regs.rip)
            });
            kassert!(!lent_inside, "taken back for the call, so a nested call is refused");
            kassert!(rip == 0, "a kernel thread starts with empty user registers");
            kassert!(thread.pt_regs_lent.load(Ordering::Relaxed), "lent again after the call");
        }
    }
}
