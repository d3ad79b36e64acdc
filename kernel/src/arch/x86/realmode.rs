//! The trampoline an application processor starts in: a page below 1 MiB
//! (a STARTUP message names the page), entered in 16-bit real mode. It
//! loads a small GDT, enters 32-bit protected mode, turns on PAE, long mode
//! and paging with a page table that maps both the trampoline (at its own
//! address) and the kernel, enters 64-bit mode, and calls the kernel's
//! `start_secondary` on the CPU's idle stack.
//!
//! The header at the start of the page holds what differs per boot: the
//! addresses (the code is copied to wherever `mm_init` found room), the
//! page table, and per CPU the stack and the CPU number.
//!
//! Linux: arch/x86/realmode/rm/trampoline_64.S, arch/x86/realmode/init.c
//! Differs: one assembly blob copied from the kernel image, patched by
//! byte offset, instead of Linux's separately linked real-mode blob with
//! its relocation table.

use crate::mm::phys_to_virt;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::PhysAddr;

core::arch::global_asm!(
    ".pushsection .rodata.lifecycle_trampoline, \"a\"",
    ".balign 16",
    ".global trampoline_start",
    ".global trampoline_end",
    "trampoline_start:",
    ".code16",
    // A short jump over the header (0xeb = jmp rel8).
    "    .byte 0xeb, tr_code16 - trampoline_start - 2",
    "    .skip 6",
    // 8: the GDT pointer: limit, then the GDT's address (patched: + base).
    "tr_gdtr:",
    "    .word tr_gdt_end - tr_gdt - 1",
    "    .long tr_gdt - trampoline_start",
    "    .skip 2",
    // 16, 24: far pointers into 32-bit and 64-bit code (patched: + base).
    "tr_jmp32:",
    "    .long tr_code32 - trampoline_start",
    "    .word 0x08",
    "    .skip 2",
    "tr_jmp64:",
    "    .long tr_code64 - trampoline_start",
    "    .word 0x18",
    "    .skip 2",
    // 32: page table; 40: stack top; 48: entry point; 56: CPU number.
    "tr_cr3:",
    "    .long 0",
    "    .skip 4",
    "tr_stack:",
    "    .quad 0",
    "tr_entry:",
    "    .quad 0",
    "tr_cpu:",
    "    .quad 0",
    // 64: null, 32-bit code (0x08), data (0x10), 64-bit code (0x18).
    "tr_gdt:",
    "    .quad 0",
    "    .quad 0x00cf9a000000ffff",
    "    .quad 0x00cf92000000ffff",
    "    .quad 0x00af9a000000ffff",
    "tr_gdt_end:",
    // Real mode: CS is the page (base = CS * 16); keep the base in esi.
    "tr_code16:",
    "    cli",
    "    cld",
    "    mov %cs, %ax",
    "    mov %ax, %ds",
    "    movzwl %ax, %esi",
    "    shll $4, %esi",
    "    lgdtl (tr_gdtr - trampoline_start)",
    "    mov %cr0, %eax",
    "    orl $1, %eax",
    "    mov %eax, %cr0",
    "    ljmpl *(tr_jmp32 - trampoline_start)",
    ".code32",
    "tr_code32:",
    "    mov $0x10, %ax",
    "    mov %ax, %ds",
    "    mov %ax, %es",
    "    mov %ax, %ss",
    // CR4.PAE, the page table, EFER.LME and EFER.NXE (the kernel's pages
    // use the NX bit), then paging on with caching enabled (CD, NW clear).
    "    mov %cr4, %eax",
    "    orl $0x20, %eax",
    "    mov %eax, %cr4",
    "    movl (tr_cr3 - trampoline_start)(%esi), %eax",
    "    mov %eax, %cr3",
    "    movl $0xc0000080, %ecx",
    "    rdmsr",
    "    orl $0x900, %eax",
    "    wrmsr",
    "    movl $0x80000011, %eax",
    "    mov %eax, %cr0",
    "    ljmpl *(tr_jmp64 - trampoline_start)(%esi)",
    ".code64",
    "tr_code64:",
    "    movl %esi, %esi",
    "    movq (tr_stack - trampoline_start)(%rsi), %rsp",
    "    movq (tr_cpu - trampoline_start)(%rsi), %rdi",
    "    movq (tr_entry - trampoline_start)(%rsi), %rax",
    "    xorl %ebp, %ebp",
    "    call *%rax",
    "    ud2",
    "trampoline_end:",
    ".popsection",
    options(att_syntax)
);

unsafe extern "C" {
    static trampoline_start: u8;
    static trampoline_end: u8;
}

// Offsets of the header fields, as laid out in the assembly.
const TR_GDTR_BASE: usize = 10;
const TR_JMP32: usize = 16;
const TR_JMP64: usize = 24;
const TR_CR3: usize = 32;
const TR_STACK: usize = 40;
const TR_ENTRY: usize = 48;
const TR_CPU: usize = 56;
const TR_GDT: usize = 64;

/// The trampoline page, once set up (0: none).
static TRAMPOLINE: AtomicU64 = AtomicU64::new(0);

/// Copies the trampoline into the page below 1 MiB that mm_init reserved,
/// fixes up its addresses, and gives it the page table and the kernel
/// entry point. Returns the page, or `None` when there is none (the
/// machine then runs on the boot CPU only).
///
/// Linux: setup_real_mode() / init_real_mode() in arch/x86/realmode/init.c
pub fn setup_real_mode(entry: extern "C" fn(u64) -> !) -> Option<PhysAddr> {
    let base = crate::mm::real_mode_base()?;
    let start = &raw const trampoline_start;
    // SAFETY: both symbols are labels in the same assembled blob.
    let len = unsafe { (&raw const trampoline_end).offset_from(start) } as usize;
    assert!(len <= crate::mm::PAGE_SIZE, "trampoline larger than a page");
    let pml4 = x86_64::structures::paging::PhysFrame::containing_address(
        base + crate::mm::PAGE_SIZE as u64,
    );
    let pgd = crate::mm::pgtable::init_trampoline_pgd(pml4).start_address();
    assert!(pgd.as_u64() < 1 << 32, "trampoline page table above 4 GiB");
    let page = phys_to_virt(base).as_mut_ptr::<u8>();
    // SAFETY: `page` is the direct mapping of the page mm_init reserved for
    // the trampoline alone; no CPU runs in it yet.
    unsafe { core::ptr::copy_nonoverlapping(start, page, len) };
    let mut gdt_offset = 0;
    patch::<u32>(base, TR_GDTR_BASE, |v| {
        gdt_offset = v;
        v
    });
    assert_eq!(gdt_offset, TR_GDT as u32, "trampoline header layout");
    let base32 = base.as_u64() as u32;
    for at in [TR_GDTR_BASE, TR_JMP32, TR_JMP64] {
        patch::<u32>(base, at, |v| v + base32);
    }
    patch::<u32>(base, TR_CR3, |_| pgd.as_u64() as u32);
    patch::<u64>(base, TR_ENTRY, |_| entry as usize as u64);
    TRAMPOLINE.store(base.as_u64(), Ordering::Release);
    Some(base)
}

/// Sets the stack and CPU number the next CPU started will take.
pub fn set_trampoline_target(stack_top: u64, cpu: usize) {
    let base = PhysAddr::new(TRAMPOLINE.load(Ordering::Acquire));
    assert!(!base.is_null(), "setup_real_mode ran");
    patch::<u64>(base, TR_STACK, |_| stack_top);
    patch::<u64>(base, TR_CPU, |_| cpu as u64);
}

/// Rewrites the header field at `offset` of the trampoline page at `base`.
fn patch<T: Copy>(base: PhysAddr, offset: usize, f: impl FnOnce(T) -> T) {
    let field = phys_to_virt(base + offset as u64).as_mut_ptr::<T>();
    // SAFETY: the field lies in the header of the trampoline page, which
    // only the boot CPU writes, and only while no CPU is starting from it
    // (the next one is sent STARTUP after this returns).
    unsafe { field.write_unaligned(f(field.read_unaligned())) };
}
