//! The assembly of kernel entry: one small stub per vector that pushes the
//! vector (and a zero where the CPU pushes no error code), a common path that
//! swaps GS when coming from user space and saves the registers, the
//! `syscall` entry that switches to the kernel stack, and the exit path that
//! undoes all of it and returns with `iretq`.
//!
//! Linux: arch/x86/entry/entry_64.S (idtentry, entry_SYSCALL_64,
//! swapgs_restore_regs_and_return_to_usermode)
//! Differs: we always return with `iretq`, never `sysretq`: one exit path
//! for every kind of entry.

use super::calling::PtRegs;

macro_rules! idtentry {
    ($name:ident, $vector:literal) => {
        core::arch::global_asm!(concat!(
            ".global ",
            stringify!($name),
            "\n",
            stringify!($name),
            ":\n",
            "    push 0\n",
            "    push ",
            stringify!($vector),
            "\n",
            "    jmp common_entry\n"
        ));
    };
    ($name:ident, $vector:literal, error_code) => {
        core::arch::global_asm!(concat!(
            ".global ",
            stringify!($name),
            "\n",
            stringify!($name),
            ":\n",
            "    push ",
            stringify!($vector),
            "\n",
            "    jmp common_entry\n"
        ));
    };
}

idtentry!(asm_exc_divide_error, 0);
idtentry!(asm_exc_debug, 1);
idtentry!(asm_exc_nmi, 2);
idtentry!(asm_exc_int3, 3);
idtentry!(asm_exc_overflow, 4);
idtentry!(asm_exc_bounds, 5);
idtentry!(asm_exc_invalid_op, 6);
idtentry!(asm_exc_device_not_available, 7);
idtentry!(asm_exc_double_fault, 8, error_code);
idtentry!(asm_exc_invalid_tss, 10, error_code);
idtentry!(asm_exc_segment_not_present, 11, error_code);
idtentry!(asm_exc_stack_segment, 12, error_code);
idtentry!(asm_exc_general_protection, 13, error_code);
idtentry!(asm_exc_page_fault, 14, error_code);
idtentry!(asm_exc_coprocessor_error, 16);
idtentry!(asm_exc_alignment_check, 17, error_code);
idtentry!(asm_exc_machine_check, 18);
idtentry!(asm_exc_simd_coprocessor_error, 19);
idtentry!(asm_irq_serial, 36);
idtentry!(asm_irq_spurious, 39);
idtentry!(asm_sysvec_apic_timer_interrupt, 0xec);
idtentry!(asm_sysvec_call_function, 0xfc);
idtentry!(asm_sysvec_reschedule_ipi, 0xfd);
idtentry!(asm_sysvec_spurious_apic_interrupt, 0xff);

// The general registers in PtRegs order, pushed on entry and popped on exit
// (Linux: PUSH_AND_CLEAR_REGS / POP_REGS in arch/x86/entry/calling.h).
core::arch::global_asm!(
    ".macro PUSH_REGS",
    "    push rdi; push rsi; push rdx; push rcx; push rax; push r8; push r9; push r10",
    "    push r11; push rbx; push rbp; push r12; push r13; push r14; push r15",
    ".endm",
    ".macro POP_REGS",
    "    pop r15; pop r14; pop r13; pop r12; pop rbp; pop rbx; pop r11; pop r10",
    "    pop r9; pop r8; pop rax; pop rcx; pop rdx; pop rsi; pop rdi",
    ".endm",
);

core::arch::global_asm!(
    // The frame so far: ss, rsp, rflags, cs, rip, error code, vector.
    "common_entry:",
    "    test byte ptr [rsp + 24], 3",
    "    jz 1f",
    "    swapgs",
    "1:",
    // An exception inside a user copy arrives with AC set; the handler must
    // not inherit the copy's access to user memory. iretq restores AC.
    "    cmp byte ptr [rip + {smap}], 0",
    "    je 3f",
    "    clac",
    "3:",
    "    PUSH_REGS",
    "    cld",
    "    mov rdi, rsp",
    "    call {dispatch}",
    "    jmp ret_from_entry",
    // The one exit: restore the frame at rsp and iretq, swapping GS back
    // when returning to user space.
    ".global ret_from_entry",
    "ret_from_entry:",
    "    POP_REGS",
    "    add rsp, 16",
    "    test byte ptr [rsp + 8], 3",
    "    jz 2f",
    "    swapgs",
    "2:",
    "    iretq",
    // syscall: rcx = user rip, r11 = user rflags, interrupts masked by FMASK.
    ".global entry_SYSCALL_64",
    "entry_SYSCALL_64:",
    "    swapgs",
    "    mov gs:[16], rsp",
    "    mov rsp, gs:[8]",
    "    push {user_ss}",
    "    push qword ptr gs:[16]",
    "    push r11",
    "    push {user_cs}",
    "    push rcx",
    "    push rax",
    "    push {syscall_vector}",
    "    PUSH_REGS",
    "    cld",
    "    mov rdi, rsp",
    "    call {do_syscall_64}",
    "    jmp ret_from_entry",
    dispatch = sym dispatch_entry,
    smap = sym super::super::kernel::cpu::common::SMAP_ENABLED,
    do_syscall_64 = sym do_syscall_64,
    user_ss = const 0x1b,
    user_cs = const 0x23,
    syscall_vector = const super::calling::SYSCALL_VECTOR,
);

unsafe extern "C" {
    fn asm_exc_divide_error();
    fn asm_exc_debug();
    fn asm_exc_nmi();
    fn asm_exc_int3();
    fn asm_exc_overflow();
    fn asm_exc_bounds();
    fn asm_exc_invalid_op();
    fn asm_exc_device_not_available();
    fn asm_exc_double_fault();
    fn asm_exc_invalid_tss();
    fn asm_exc_segment_not_present();
    fn asm_exc_stack_segment();
    fn asm_exc_general_protection();
    fn asm_exc_page_fault();
    fn asm_exc_coprocessor_error();
    fn asm_exc_alignment_check();
    fn asm_exc_machine_check();
    fn asm_exc_simd_coprocessor_error();
    fn asm_irq_serial();
    fn asm_irq_spurious();
    fn asm_sysvec_apic_timer_interrupt();
    fn asm_sysvec_call_function();
    fn asm_sysvec_reschedule_ipi();
    fn asm_sysvec_spurious_apic_interrupt();
    fn entry_SYSCALL_64();
}

/// Every vector we handle and its entry stub.
pub fn entry_points() -> [(u8, u64); 24] {
    [
        (0, asm_exc_divide_error as *const () as u64),
        (1, asm_exc_debug as *const () as u64),
        (2, asm_exc_nmi as *const () as u64),
        (3, asm_exc_int3 as *const () as u64),
        (4, asm_exc_overflow as *const () as u64),
        (5, asm_exc_bounds as *const () as u64),
        (6, asm_exc_invalid_op as *const () as u64),
        (7, asm_exc_device_not_available as *const () as u64),
        (8, asm_exc_double_fault as *const () as u64),
        (10, asm_exc_invalid_tss as *const () as u64),
        (11, asm_exc_segment_not_present as *const () as u64),
        (12, asm_exc_stack_segment as *const () as u64),
        (13, asm_exc_general_protection as *const () as u64),
        (14, asm_exc_page_fault as *const () as u64),
        (16, asm_exc_coprocessor_error as *const () as u64),
        (17, asm_exc_alignment_check as *const () as u64),
        (18, asm_exc_machine_check as *const () as u64),
        (19, asm_exc_simd_coprocessor_error as *const () as u64),
        (36, asm_irq_serial as *const () as u64),
        (39, asm_irq_spurious as *const () as u64),
        (0xec, asm_sysvec_apic_timer_interrupt as *const () as u64),
        (0xfc, asm_sysvec_call_function as *const () as u64),
        (0xfd, asm_sysvec_reschedule_ipi as *const () as u64),
        (0xff, asm_sysvec_spurious_apic_interrupt as *const () as u64),
    ]
}

/// The `syscall` entry point, for LSTAR.
pub fn syscall_entry_point() -> u64 {
    entry_SYSCALL_64 as *const () as u64
}

extern "C" fn dispatch_entry(regs: &mut PtRegs) {
    super::super::traps::dispatch(regs);
}

extern "C" fn do_syscall_64(regs: &mut PtRegs) {
    x86_64::instructions::interrupts::enable();
    crate::syscall::do_syscall(regs);
    super::super::traps::exit_to_user_mode(regs);
}

/// Enables `syscall`: the entry point in LSTAR, the kernel and user
/// segments in STAR, and FMASK clearing IF, TF, DF and AC on entry. Also
/// turns on NX so non-executable mappings are enforced.
///
/// Linux: syscall_init() in arch/x86/kernel/cpu/common.c
pub fn syscall_init() {
    use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
    use x86_64::registers::rflags::RFlags;
    let sel = super::super::gdt::selectors();
    Star::write(
        sel.user_code,
        sel.user_data,
        sel.kernel_code,
        sel.kernel_data,
    )
    .expect("GDT order fits sysret");
    LStar::write(x86_64::VirtAddr::new(syscall_entry_point()));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::ALIGNMENT_CHECK,
    );
    // SAFETY: SCE enables the syscall instruction, whose entry was just set
    // up; NXE makes the NX bit of page-table entries take effect.
    unsafe {
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS | EferFlags::NO_EXECUTE_ENABLE))
    };
}
