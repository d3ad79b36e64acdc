//! The interrupt descriptor table and the CPU exception handlers.
//!
//! A fault in the kernel is a kernel bug: the handler prints the vector,
//! error code, instruction pointer and, for page faults, the faulting address
//! and kind of access, then panics (Linux with `panic_on_oops=1`).
//!
//! Linux: arch/x86/kernel/traps.c, arch/x86/kernel/idt.c, arch/x86/mm/fault.c

use super::entry::calling::PtRegs;
use super::entry::entry_64::entry_points;
use super::gdt::DOUBLE_FAULT_IST_INDEX;
use crate::preempt::{irq_enter, irq_exit, preempt_count};
use core::fmt::Write;
use spin::Once;
use x86_64::PrivilegeLevel::Ring3;
use x86_64::VirtAddr;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, PageFaultErrorCode};

static IDT: Once<InterruptDescriptorTable> = Once::new();

/// Points every vector we handle at its entry stub and loads the IDT.
/// User mode may raise #BP and #OF itself (`int3`, `int $4`), as on Linux;
/// any other `int N` from user mode is a #GP.
///
/// Linux: idt_setup_traps() in arch/x86/kernel/idt.c
pub fn trap_init() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        for (vector, addr) in entry_points() {
            let addr = VirtAddr::new(addr);
            // SAFETY: each address is an entry stub that saves a PtRegs frame,
            // calls `dispatch` and returns with iretq, as an IDT gate needs.
            unsafe {
                match vector {
                    0 => drop(idt.divide_error.set_handler_addr(addr)),
                    1 => drop(idt.debug.set_handler_addr(addr)),
                    2 => drop(idt.non_maskable_interrupt.set_handler_addr(addr)),
                    3 => drop(
                        idt.breakpoint
                            .set_handler_addr(addr)
                            .set_privilege_level(Ring3),
                    ),
                    4 => drop(
                        idt.overflow
                            .set_handler_addr(addr)
                            .set_privilege_level(Ring3),
                    ),
                    5 => drop(idt.bound_range_exceeded.set_handler_addr(addr)),
                    6 => drop(idt.invalid_opcode.set_handler_addr(addr)),
                    7 => drop(idt.device_not_available.set_handler_addr(addr)),
                    8 => drop(
                        idt.double_fault
                            .set_handler_addr(addr)
                            .set_stack_index(DOUBLE_FAULT_IST_INDEX),
                    ),
                    10 => drop(idt.invalid_tss.set_handler_addr(addr)),
                    11 => drop(idt.segment_not_present.set_handler_addr(addr)),
                    12 => drop(idt.stack_segment_fault.set_handler_addr(addr)),
                    13 => drop(idt.general_protection_fault.set_handler_addr(addr)),
                    14 => drop(idt.page_fault.set_handler_addr(addr)),
                    16 => drop(idt.x87_floating_point.set_handler_addr(addr)),
                    17 => drop(idt.alignment_check.set_handler_addr(addr)),
                    18 => drop(idt.machine_check.set_handler_addr(addr)),
                    19 => drop(idt.simd_floating_point.set_handler_addr(addr)),
                    v => drop(idt[v].set_handler_addr(addr)),
                }
            }
        }
        idt
    });
    idt.load();
}

/// Routes one entry to its handler: hardware interrupts (between
/// irq_enter() and irq_exit(), so that in_interrupt() is true inside),
/// page faults, and the other exceptions. Returning to user space goes
/// through exit_to_user_mode.
///
/// Linux: the idtentry handlers of arch/x86/kernel/traps.c and irq.c
pub fn dispatch(regs: &mut PtRegs) {
    match regs.vector {
        0xec => {
            irq_enter();
            super::apic::timer::sysvec_apic_timer_interrupt(regs.user_mode());
            irq_exit();
            irqentry_exit_cond_resched();
        }
        0xfd => {
            irq_enter();
            super::kernel::smp::sysvec_reschedule_ipi();
            irq_exit();
            irqentry_exit_cond_resched();
        }
        0xfc => {
            irq_enter();
            super::kernel::smp::sysvec_call_function();
            irq_exit();
        }
        0xff => {}
        36 => {
            irq_enter();
            super::irq::serial_interrupt();
            irq_exit();
        }
        39 => {}
        14 => exc_page_fault(regs),
        3 if !regs.user_mode() => log::warn!("int3 at {:#x}", regs.rip),
        8 => exc_double_fault(regs),
        vector => do_trap(regs, vector as u8),
    }
    if regs.user_mode() {
        exit_to_user_mode(regs);
    }
}

/// Preempts the interrupted task on the way out of the tick if its slice
/// is used up, unless it runs with preemption disabled.
///
/// Linux: irqentry_exit_cond_resched() in kernel/entry/common.c
/// Differs: also on a return to user mode, where Linux leaves it to
/// exit_to_user_mode_loop().
fn irqentry_exit_cond_resched() {
    if preempt_count() == 0 {
        crate::sched::core::preempt_schedule_irq();
    }
}

/// What a user-mode exception turns into (Linux: the do_trap() callers in
/// traps.c): the signal and, for the log, the exception's name.
fn trap_signal(vector: u8) -> (i32, &'static str) {
    use crate::signal::{SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP};
    match vector {
        0 => (SIGFPE, "DIVIDE ERROR"),
        1 => (SIGTRAP, "DEBUG"),
        2 => (0, "NMI"),
        3 => (SIGTRAP, "INT3"),
        4 => (SIGSEGV, "OVERFLOW"),
        5 => (SIGSEGV, "BOUNDS"),
        6 => (SIGILL, "INVALID OPCODE"),
        7 => (SIGFPE, "DEVICE NOT AVAILABLE"),
        10 => (SIGSEGV, "INVALID TSS"),
        11 => (SIGBUS, "SEGMENT NOT PRESENT"),
        12 => (SIGBUS, "STACK SEGMENT"),
        13 => (SIGSEGV, "GENERAL PROTECTION"),
        16 => (SIGFPE, "X87 FLOATING POINT"),
        17 => (SIGBUS, "ALIGNMENT CHECK"),
        18 => (0, "MACHINE CHECK"),
        19 => (SIGFPE, "SIMD FLOATING POINT"),
        _ => (0, "UNKNOWN"),
    }
}

/// SIGTRAP after a single step (Linux: TRAP_TRACE).
const TRAP_TRACE: i32 = 2;
/// SIGFPE of an integer divide by zero or overflow (Linux: FPE_INTDIV).
const FPE_INTDIV: i32 = 1;
/// SIGILL of an undefined opcode (Linux: ILL_ILLOPN).
const ILL_ILLOPN: i32 = 2;

/// Whether the CPU pushes an error code for `vector` (#DF, #TS, #NP, #SS,
/// #GP, #PF, #AC); for the others the entry stub's placeholder is no code.
fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17)
}

/// An exception in user mode sends its signal to the task; in the kernel it
/// is fatal.
///
/// Linux: do_trap() in arch/x86/kernel/traps.c
fn do_trap(regs: &mut PtRegs, vector: u8) {
    let (sig, name) = trap_signal(vector);
    if regs.user_mode() && sig != 0 {
        log::debug!("{name} in user mode at {:#x}: signal {sig}", regs.rip);
        let error_code = if has_error_code(vector) {
            regs.orig_rax
        } else {
            0
        };
        crate::task::current()
            .thread
            .trap
            .set(vector, error_code, 0);
        match vector {
            17 => crate::signal::force_sig_fault(sig, crate::signal::BUS_ADRALN, 0),
            // Linux: exc_debug_user() -> send_sigtrap(regs, 0, TRAP_TRACE)
            // for a single-step trap (TF), with the address it stopped at.
            1 => crate::signal::force_sig_fault(sig, TRAP_TRACE, regs.rip),
            // Linux: do_error_trap() with FPE_INTDIV / ILL_ILLOPN and
            // error_get_trap_addr(): the faulting instruction.
            0 => crate::signal::force_sig_fault(sig, FPE_INTDIV, regs.rip),
            6 => crate::signal::force_sig_fault(sig, ILL_ILLOPN, regs.rip),
            _ => crate::signal::force_sig(sig, 0),
        }
        return;
    }
    die(name, vector, regs, Some(regs.orig_rax));
}

/// Runs on every return to user space: reschedule if asked, then act on
/// pending signals (which may end the task). The work runs with interrupts
/// on, whichever entry (a system call, an exception, an interrupt) brought
/// the task here: it may sleep (a core dump waits for the other threads, a
/// stop waits for SIGCONT). Returns with interrupts off, after a last look
/// at the work with them off: the exit path swaps GS to the user's before
/// `iretq`, and an interrupt taken between the two would run the kernel on
/// the user's GS base (and a wake-up or signal arriving after the look
/// would wait for the next entry).
///
/// Linux: exit_to_user_mode_loop() with local_irq_enable_exit_to_user()
/// and local_irq_disable_exit_to_user() in kernel/entry/common.c
pub fn exit_to_user_mode(regs: &mut PtRegs) {
    // The common case, nothing to do, in one look at the task.
    x86_64::instructions::interrupts::disable();
    if !iret_would_fault(regs) && !exit_to_user_mode_work() {
        return;
    }
    loop {
        x86_64::instructions::interrupts::enable();
        crate::sched::core::cond_resched();
        if iret_would_fault(regs) {
            crate::signal::force_sig(crate::signal::SIGSEGV, 0);
        }
        if crate::signal::signal_pending_current() {
            crate::signal::arch_do_signal_or_restart(regs);
            continue;
        }
        x86_64::instructions::interrupts::disable();
        if !crate::sched::core::need_resched() && !crate::signal::signal_pending_current() {
            return;
        }
    }
}

/// Whether the running task has a reschedule or a signal to take before it
/// returns to user space.
///
/// Linux: the EXIT_TO_USER_MODE_WORK test of exit_to_user_mode_prepare()
/// in kernel/entry/common.c
fn exit_to_user_mode_work() -> bool {
    super::percpu::with_current(|t| {
        t.is_some_and(|t| {
            t.se.need_resched
                .load(core::sync::atomic::Ordering::Relaxed)
                || crate::signal::signal_pending(t)
        })
    })
}

/// Whether `iretq` would fault on the way to `regs`: a non-canonical RIP,
/// which user space can choose through rt_sigreturn, a handler address or
/// an ELF entry point. On Intel CPUs the fault hits the kernel, at iretq;
/// the task gets SIGSEGV instead.
///
/// Linux: fixup_bad_iret() in arch/x86/kernel/traps.c
/// Differs: Linux lets iret fault and hands the fault to the task; we check
/// before iretq, which also catches it where the CPU or emulator (AMD, QEMU)
/// would fault only in user mode.
fn iret_would_fault(regs: &PtRegs) -> bool {
    VirtAddr::try_new(regs.rip).is_err()
}

/// Reports an exception the kernel cannot handle and stops the run.
///
/// Linux: die() in arch/x86/kernel/dumpstack.c
fn die(name: &str, vector: u8, regs: &PtRegs, error_code: Option<u64>) -> ! {
    let mut line = alloc_free_line();
    let _ = write!(line, "EXCEPTION: {name} (vector {vector})");
    if let Some(code) = error_code {
        let _ = write!(line, " error_code={code:#x}");
    }
    let _ = write!(
        line,
        " RIP={:#018x} RSP={:#018x} CS={:#x}",
        regs.rip, regs.rsp, regs.cs
    );
    super::serial::write_str_emergency(line.as_str());
    super::serial::write_str_emergency("\n");
    panic!("Fatal exception");
}

/// A fixed-size line buffer: the fault path must not allocate, since the
/// heap lock may be held by the code that faulted.
fn alloc_free_line() -> LineBuf {
    LineBuf {
        buf: [0; 256],
        len: 0,
    }
}

struct LineBuf {
    buf: [u8; 256],
    len: usize,
}

impl LineBuf {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("<bad utf8>")
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// A double fault here almost always means the kernel stack overflowed into
/// its guard page, so that the page-fault handler itself could not run.
fn exc_double_fault(regs: &mut PtRegs) -> ! {
    let mut report = alloc_free_line();
    if super::kernel::stack::describe_overflow(regs.rsp, &mut report) {
        super::serial::write_str_emergency(report.as_str());
        super::serial::write_str_emergency("\n");
    }
    die("DOUBLE FAULT", 8, regs, Some(regs.orig_rax))
}

/// Page faults: let the memory manager resolve faults on user addresses
/// (demand paging, copy-on-write); a fault it cannot resolve sends SIGSEGV
/// to a user task, is fixed up for a kernel access to user memory (EFAULT),
/// or is fatal.
///
/// Linux: exc_page_fault() / do_user_addr_fault() in arch/x86/mm/fault.c
fn exc_page_fault(regs: &mut PtRegs) {
    let address = Cr2::read_raw();
    let code = PageFaultErrorCode::from_bits_truncate(regs.orig_rax);
    if kernel_touched_user_memory(regs, address, code) {
        page_fault_oops(regs, address, code);
    }
    let may_sleep = regs.rflags & (1 << 9) != 0;
    if may_sleep {
        x86_64::instructions::interrupts::enable();
    }
    let fault = crate::mm::memory::do_user_addr_fault(
        address,
        code.contains(PageFaultErrorCode::CAUSED_BY_WRITE),
        code.contains(PageFaultErrorCode::INSTRUCTION_FETCH),
        regs.user_mode(),
        may_sleep,
    );
    let Err(err) = fault else {
        return;
    };
    if regs.user_mode() {
        use crate::signal::{BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV};
        let (sig, si_code) = match err {
            crate::errno::Errno::EIO => (SIGBUS, BUS_ADRERR),
            crate::errno::Errno::EACCES => (SIGSEGV, SEGV_ACCERR),
            _ => (SIGSEGV, SEGV_MAPERR),
        };
        if sig == SIGSEGV {
            // Linux: show_signal_msg() in arch/x86/mm/fault.c, at KERN_INFO
            // there; at debug here, where tests crash programs on purpose.
            let (comm, pid) = crate::arch::percpu::with_current(|t| {
                t.map_or((crate::task::Comm::new("?"), 0), |t| {
                    (t.comm_lossy(), t.pid())
                })
            });
            log::debug!(
                "{}[{pid}]: segfault at {address:x} ip {:016x} sp {:016x} ({})",
                comm.as_str(),
                regs.rip,
                regs.rsp,
                describe_access(code)
            );
        }
        crate::task::current()
            .thread
            .trap
            .set(14, regs.orig_rax, address);
        crate::signal::force_sig_fault(sig, si_code, address);
        return;
    }
    if crate::mm::uaccess::fixup_exception(regs) {
        return;
    }
    page_fault_oops(regs, address, code);
}

/// Whether the kernel itself executed a user page (SMEP) or touched one
/// outside a user copy (SMAP: EFLAGS.AC clear): a kernel bug, whatever the
/// page holds, so the fault must not be resolved like a user fault.
///
/// Linux: the SMAP and instruction-fetch checks of do_user_addr_fault() in arch/x86/mm/fault.c
fn kernel_touched_user_memory(regs: &PtRegs, address: u64, code: PageFaultErrorCode) -> bool {
    use core::sync::atomic::Ordering;
    if regs.user_mode() || address >= crate::mm::mm_types::TASK_SIZE {
        return false;
    }
    let smap = super::kernel::cpu::common::SMAP_ENABLED.load(Ordering::Relaxed);
    code.contains(PageFaultErrorCode::INSTRUCTION_FETCH)
        || (smap && regs.rflags & X86_EFLAGS_AC == 0)
}

/// EFLAGS.AC: alignment checks in user mode, user-page access under SMAP in the kernel.
const X86_EFLAGS_AC: u64 = 1 << 18;

/// Reports a page fault the kernel cannot handle and stops the run.
///
/// Linux: page_fault_oops() in arch/x86/mm/fault.c
fn page_fault_oops(regs: &PtRegs, address: u64, code: PageFaultErrorCode) -> ! {
    x86_64::instructions::interrupts::disable();
    if !regs.user_mode()
        && address < crate::mm::mm_types::TASK_SIZE
        && code.contains(PageFaultErrorCode::INSTRUCTION_FETCH)
    {
        super::serial::write_str_emergency("unable to execute userspace code (SMEP?)\n");
    }
    let mut line = alloc_free_line();
    let _ = write!(
        line,
        "BUG: unable to handle page fault: CR2={address:#018x} access={}",
        describe_access(code)
    );
    super::serial::write_str_emergency(line.as_str());
    super::serial::write_str_emergency("\n");
    die("PAGE FAULT", 14, regs, Some(regs.orig_rax));
}

/// Spells out a page-fault error code: what was tried, and why it failed.
///
/// Linux: show_fault_oops() in arch/x86/mm/fault.c
pub fn describe_access(code: PageFaultErrorCode) -> &'static str {
    let fetch = code.contains(PageFaultErrorCode::INSTRUCTION_FETCH);
    let write = code.contains(PageFaultErrorCode::CAUSED_BY_WRITE);
    let present = code.contains(PageFaultErrorCode::PROTECTION_VIOLATION);
    let user = code.contains(PageFaultErrorCode::USER_MODE);
    match (fetch, write, present, user) {
        (true, _, false, false) => "kernel instruction fetch, page not present",
        (true, _, true, false) => "kernel instruction fetch, protection violation",
        (true, _, false, true) => "user instruction fetch, page not present",
        (true, _, true, true) => "user instruction fetch, protection violation",
        (false, true, false, false) => "kernel write, page not present",
        (false, true, true, false) => "kernel write, protection violation",
        (false, true, false, true) => "user write, page not present",
        (false, true, true, true) => "user write, protection violation",
        (false, false, false, false) => "kernel read, page not present",
        (false, false, true, false) => "kernel read, protection violation",
        (false, false, false, true) => "user read, page not present",
        (false, false, true, true) => "user read, protection violation",
    }
}

/// Reads address 0 so that the page-fault path can be shown (lkdtm's
/// ACCESS_NULL). Never returns: the kernel page fault is fatal.
pub fn provoke_null_dereference() -> ! {
    let null = core::hint::black_box(0usize) as *const u64;
    // SAFETY: this read is meant to fault; page 0 is never mapped, and the
    // page-fault handler reports and stops the kernel, so no value is produced.
    let value = unsafe { core::ptr::read_volatile(null) };
    panic!("read {value:#x} from address 0 without a fault");
}

/// Reads a user address without uaccess (lkdtm's ACCESS_USERSPACE): with
/// SMAP on, the page fault is an oops; without, the read succeeds.
pub fn provoke_user_read(addr: u64) {
    let user = core::hint::black_box(addr) as *const u8;
    // SAFETY: `addr` is a present user page of the current mm (lkdtm mapped
    // it), so without SMAP the read is of valid memory; with SMAP it faults
    // and the page-fault handler stops the kernel.
    let value = unsafe { core::ptr::read_volatile(user) };
    core::hint::black_box(value);
}

/// Calls a user address (lkdtm's EXEC_USERSPACE): with SMEP on, the
/// instruction fetch is an oops; without, the `ret` there returns.
pub fn provoke_user_exec(addr: u64) {
    // SAFETY: `addr` is a present user page of the current mm holding a
    // single `ret`, so without SMEP the call returns at once; with SMEP the
    // fetch faults and the page-fault handler stops the kernel.
    let code: extern "C" fn() = unsafe { core::mem::transmute(core::hint::black_box(addr)) };
    code();
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        fn iret_to_a_non_canonical_rip_is_caught_before_iretq() {
            let at = |rip| iret_would_fault(&PtRegs { rip, ..PtRegs::default() });
            kassert!(at(0x0000_8000_0000_0000), "the first non-canonical address goes to iretq");
            kassert!(at(0xffff_7fff_ffff_ffff), "the last non-canonical address goes to iretq");
            kassert!(!at(0x0000_7fff_ffff_f000), "the top user page is flagged");
            // Canonical: iretq succeeds and the fetch faults in user mode.
            kassert!(!at(0xffff_8000_0000_0000), "the kernel half is flagged");
        }
    }
}
