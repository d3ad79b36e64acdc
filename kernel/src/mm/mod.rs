//! Memory management: physical pages with reference counts, the kernel heap,
//! kernel page tables and kernel stacks. With `arch`, the only module allowed
//! to use `unsafe`; it exports safe operations only.
//!
//! Linux: mm/

pub mod fault_inject;
pub mod filemap;
pub mod heap;
pub mod memory;
pub mod mm_types;
pub mod mmap;
pub mod mmu_gather;
pub mod mprotect;
pub mod msync;
pub mod oom_kill;
pub mod page_alloc;
pub mod pgtable;
mod slab;
pub mod task_mm;
pub mod tlb;
pub mod uaccess;
pub mod vmalloc;

use bootloader_api::BootInfo;
use bootloader_api::info::MemoryRegionKind;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::{PhysAddr, VirtAddr};

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;

/// A page of zero bytes to copy from: clear_user, a core dump's holes.
/// Placed in `.bss`, which the loader zero-fills, rather than `.rodata`,
/// where an immutable static would otherwise go: the BIOS loader copies
/// the image a byte at a time.
///
/// Linux: empty_zero_page (arch/x86/kernel/head_64.S, in .bss..page_aligned)
// SAFETY: the section's bytes are zero when the kernel starts (the loader
// clears `.bss`), which is this static's value, and nothing writes to an
// immutable static.
#[unsafe(link_section = ".bss.empty_zero_page")]
pub static EMPTY_ZERO_PAGE: [u8; PAGE_SIZE] = [0; PAGE_SIZE];

static PAGE_OFFSET: AtomicU64 = AtomicU64::new(0);

/// The fw_cfg file in which the runner hands over the initramfs.
const INITRD_FILE: &str = "opt/lifecycle/initrd";

/// The initramfs `reserve_initrd` placed, set once during `mm_init`.
static INITRD: spin::Once<&'static [u8]> = spin::Once::new();

/// The kernel virtual address at which physical address `phys` is mapped:
/// the bootloader maps all of physical memory at `PAGE_OFFSET`.
///
/// Linux: __va() in arch/x86/include/asm/page.h
pub fn phys_to_virt(phys: PhysAddr) -> VirtAddr {
    VirtAddr::new(PAGE_OFFSET.load(Ordering::Relaxed) + phys.as_u64())
}

/// Sets up physical page allocation, the heap and the kernel stack area.
///
/// Linux: mm_core_init() in mm/mm_init.c
pub fn mm_init(boot_info: &BootInfo) {
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("physical memory is mapped");
    PAGE_OFFSET.store(offset, Ordering::Relaxed);
    let usable = boot_info
        .memory_regions
        .iter()
        .filter(|r| r.kind == MemoryRegionKind::Usable)
        .map(|r| r.start..r.end);
    let mut memblock = page_alloc::Memblock::new(usable);
    let heap = heap::heap_size_for(memblock.total_bytes());
    let heap_base = memblock
        .alloc_contiguous(heap)
        .expect("room for the kernel heap");
    heap::kmem_cache_init(phys_to_virt(heap_base), heap);
    reserve_initrd(&mut memblock);
    reserve_real_mode(&mut memblock);
    page_alloc::mem_init(memblock);
    pgtable::pgtable_init();
    pgtable::mark_kernel_global();
    vmalloc::vmalloc_init();
}

/// Takes boot memory for the initramfs that the runner hands over through
/// fw_cfg, and has the device copy it there. The memory is never freed.
///
/// Linux: reserve_initrd() in arch/x86/kernel/setup.c
/// Differs: Linux reserves where the boot loader already put the initrd; here
/// the memory is chosen first and the initramfs copied into it.
fn reserve_initrd(memblock: &mut page_alloc::Memblock) {
    let Some(file) = crate::arch::fw_cfg::find_file(INITRD_FILE) else {
        return;
    };
    let len = file.size as usize + crate::arch::fw_cfg::FW_CFG_DMA_ACCESS_SIZE;
    let Some(base) = memblock.alloc_contiguous(len as u64) else {
        log::error!("initrd: no room for {} KiB", file.size / 1024);
        return;
    };
    // SAFETY: memblock handed [base, base + len) to us alone and never takes
    // it back; all physical memory is mapped at PAGE_OFFSET.
    let buf = unsafe { core::slice::from_raw_parts_mut(phys_to_virt(base).as_mut_ptr(), len) };
    // SAFETY: `buf` is the direct mapping of [base, base + len), physically
    // contiguous.
    match unsafe { crate::arch::fw_cfg::read_file_into(&file, buf, base) } {
        true => {
            let initrd: &'static [u8] = &buf[..file.size as usize];
            INITRD.call_once(|| initrd);
        }
        false => log::error!("initrd: reading {INITRD_FILE} failed"),
    }
}

/// The page below 1 MiB that application processors start in, set once
/// during `mm_init`.
static REAL_MODE_BASE: spin::Once<PhysAddr> = spin::Once::new();

/// Takes a page below 1 MiB for the trampoline that starts the other CPUs
/// in real mode (a STARTUP message can only name such a page).
///
/// Linux: reserve_real_mode() in arch/x86/realmode/init.c
fn reserve_real_mode(memblock: &mut page_alloc::Memblock) {
    // Two pages: the trampoline, and its top-level page table, which the
    // CPU loads into CR3 in 32-bit mode (below 4 GiB; a page from the free
    // list was above it with 3.5 GiB of RAM: "trampoline page table above
    // 4 GiB" at boot with --memory 3584).
    match memblock.alloc_below(2 * PAGE_SIZE as u64, 1 << 20) {
        Some(base) => drop(REAL_MODE_BASE.call_once(|| base)),
        None => log::warn!("Cannot find real mode trampoline area: one CPU"),
    }
}

/// The trampoline page `mm_init` reserved below 1 MiB, if it found one.
pub fn real_mode_base() -> Option<PhysAddr> {
    REAL_MODE_BASE.get().copied()
}

/// The initramfs the runner handed over, placed by `mm_init`.
pub fn initrd() -> Option<&'static [u8]> {
    INITRD.get().copied()
}
