//! The interrupt descriptor table and the CPU exception handlers.
//!
//! A fault in the kernel is a kernel bug: the handler prints the vector,
//! error code, instruction pointer and, for page faults, the faulting address
//! and kind of access, then panics (Linux with `panic_on_oops=1`).
//!
//! Linux: arch/x86/kernel/traps.c, arch/x86/kernel/idt.c, arch/x86/mm/fault.c

use super::gdt::DOUBLE_FAULT_IST_INDEX;
use super::irq;
use core::fmt::Write;
use spin::Once;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

static IDT: Once<InterruptDescriptorTable> = Once::new();

/// Builds the IDT (exceptions and hardware interrupts) and loads it.
///
/// Linux: idt_setup_traps() in arch/x86/kernel/idt.c
pub fn trap_init() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        idt.divide_error.set_handler_fn(divide_error);
        idt.debug.set_handler_fn(debug);
        idt.non_maskable_interrupt.set_handler_fn(nmi);
        idt.breakpoint.set_handler_fn(breakpoint);
        idt.overflow.set_handler_fn(overflow);
        idt.bound_range_exceeded.set_handler_fn(bounds);
        idt.invalid_opcode.set_handler_fn(invalid_op);
        idt.device_not_available.set_handler_fn(device_not_available);
        idt.invalid_tss.set_handler_fn(invalid_tss);
        idt.segment_not_present.set_handler_fn(segment_not_present);
        idt.stack_segment_fault.set_handler_fn(stack_segment);
        idt.general_protection_fault.set_handler_fn(general_protection);
        idt.page_fault.set_handler_fn(page_fault);
        idt.x87_floating_point.set_handler_fn(coprocessor_error);
        idt.alignment_check.set_handler_fn(alignment_check);
        idt.machine_check.set_handler_fn(machine_check);
        idt.simd_floating_point.set_handler_fn(simd_coprocessor_error);
        // SAFETY: the IST index names the double-fault stack that gdt_init
        // put in every CPU's TSS, and no other handler uses that stack.
        unsafe {
            idt.double_fault
                .set_handler_fn(double_fault)
                .set_stack_index(DOUBLE_FAULT_IST_INDEX);
        }
        irq::set_interrupt_gates(&mut idt);
        idt
    });
    idt.load();
}

/// Reports an exception the kernel cannot handle and stops the run.
///
/// Linux: die() in arch/x86/kernel/dumpstack.c
fn die(name: &str, vector: u8, frame: &InterruptStackFrame, error_code: Option<u64>) -> ! {
    let mut line = alloc_free_line();
    let _ = write!(line, "EXCEPTION: {name} (vector {vector})");
    if let Some(code) = error_code {
        let _ = write!(line, " error_code={code:#x}");
    }
    let _ = write!(
        line,
        " RIP={:#018x} RSP={:#018x} CS={:#x}",
        frame.instruction_pointer.as_u64(),
        frame.stack_pointer.as_u64(),
        frame.code_segment.0
    );
    super::serial::write_str_emergency(line.as_str());
    super::serial::write_str_emergency("\n");
    panic!("Fatal exception");
}

/// A fixed-size line buffer: the fault path must not allocate, since the
/// heap lock may be held by the code that faulted.
fn alloc_free_line() -> LineBuf {
    LineBuf { buf: [0; 256], len: 0 }
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

macro_rules! trap {
    ($fn_name:ident, $name:literal, $vector:literal) => {
        extern "x86-interrupt" fn $fn_name(frame: InterruptStackFrame) {
            die($name, $vector, &frame, None);
        }
    };
    ($fn_name:ident, $name:literal, $vector:literal, error_code) => {
        extern "x86-interrupt" fn $fn_name(frame: InterruptStackFrame, code: u64) {
            die($name, $vector, &frame, Some(code));
        }
    };
}

trap!(divide_error, "DIVIDE ERROR", 0);
trap!(debug, "DEBUG", 1);
trap!(nmi, "NMI", 2);
trap!(overflow, "OVERFLOW", 4);
trap!(bounds, "BOUNDS", 5);
trap!(invalid_op, "INVALID OPCODE", 6);
trap!(device_not_available, "DEVICE NOT AVAILABLE", 7);
trap!(invalid_tss, "INVALID TSS", 10, error_code);
trap!(segment_not_present, "SEGMENT NOT PRESENT", 11, error_code);
trap!(stack_segment, "STACK SEGMENT", 12, error_code);
trap!(general_protection, "GENERAL PROTECTION", 13, error_code);
trap!(coprocessor_error, "X87 FLOATING POINT", 16);
trap!(alignment_check, "ALIGNMENT CHECK", 17, error_code);
trap!(simd_coprocessor_error, "SIMD FLOATING POINT", 19);

/// `int3` is harmless: report it and carry on, as Linux does without a debugger.
extern "x86-interrupt" fn breakpoint(frame: InterruptStackFrame) {
    log::warn!("breakpoint at {:#x}", frame.instruction_pointer.as_u64());
}

extern "x86-interrupt" fn machine_check(frame: InterruptStackFrame) -> ! {
    die("MACHINE CHECK", 18, &frame, None)
}

/// A double fault here almost always means the kernel stack overflowed into
/// its guard page, so that the page-fault handler itself could not run.
extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, code: u64) -> ! {
    let rsp = frame.stack_pointer.as_u64();
    let mut report = alloc_free_line();
    if super::kernel::stack::describe_overflow(rsp, &mut report) {
        super::serial::write_str_emergency(report.as_str());
        super::serial::write_str_emergency("\n");
    }
    die("DOUBLE FAULT", 8, &frame, Some(code))
}

extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let address = Cr2::read_raw();
    let mut line = alloc_free_line();
    let _ = write!(line, "CR2={address:#018x} access={}", describe_access(code));
    super::serial::write_str_emergency(line.as_str());
    super::serial::write_str_emergency("\n");
    die("PAGE FAULT", 14, &frame, Some(code.bits()));
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
