//! Memory management: physical pages with reference counts, the kernel heap,
//! kernel page tables and kernel stacks. With `arch`, the only module allowed
//! to use `unsafe`; it exports safe operations only.
//!
//! Linux: mm/

pub mod fault_inject;
pub mod heap;
pub mod memory;
pub mod mm_types;
pub mod mmap;
pub mod oom_kill;
pub mod page_alloc;
pub mod pgtable;
pub mod uaccess;
pub mod vmalloc;

use bootloader_api::BootInfo;
use bootloader_api::info::MemoryRegionKind;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::{PhysAddr, VirtAddr};

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;

static PAGE_OFFSET: AtomicU64 = AtomicU64::new(0);

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
    page_alloc::mem_init(memblock);
    pgtable::pgtable_init();
    pgtable::mark_kernel_global();
    vmalloc::vmalloc_init();
}

/// The initramfs the bootloader loaded, as a byte slice.
pub fn boot_ramdisk(boot_info: &BootInfo) -> Option<&'static [u8]> {
    let addr = boot_info.ramdisk_addr.into_option()?;
    // SAFETY: the bootloader mapped `ramdisk_len` bytes at `ramdisk_addr`,
    // marked that memory as used (not Usable) in the memory map, and never
    // unmaps it, so it stays valid and unchanged for the kernel's lifetime.
    Some(unsafe { core::slice::from_raw_parts(addr as *const u8, boot_info.ramdisk_len as usize) })
}
