//! The kernel's own page tables (`init_mm.pgd`, Linux's `swapper_pg_dir`).
//! Process page tables, added with user space, copy its upper half, so every
//! kernel mapping made below a top-level entry is seen by all of them.
//!
//! Linux: arch/x86/mm/pgtable.c, mm/vmalloc.c (vmap_range)

use super::page_alloc;
use super::phys_to_virt;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use spin::Once;
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::mapper::MapToError;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

static SWAPPER_PG_DIR: Once<PhysFrame> = Once::new();
/// Serialises changes to the kernel half (Linux: init_mm.page_table_lock).
static INIT_MM_PAGE_TABLE_LOCK: SpinLock<()> = SpinLock::new(());

/// Remembers the page table the bootloader left in CR3 as the kernel's.
pub fn pgtable_init() {
    SWAPPER_PG_DIR.call_once(|| Cr3::read().0);
}

/// The kernel's top-level page table frame.
pub(super) fn swapper_pg_dir() -> PhysFrame {
    *SWAPPER_PG_DIR.get().expect("pgtable_init ran")
}

/// Hands page-table pages to the x86_64 mapper from our page allocator.
struct PageTableAllocator;

// SAFETY: every frame returned comes from alloc_page, is unused, and is
// owned by the page table it is linked into from then on (kernel page
// tables are never freed, so the reference is never given back).
unsafe impl FrameAllocator<Size4KiB> for PageTableAllocator {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        page_alloc::alloc_page().ok().map(|p| p.share().into_raw())
    }
}

fn with_kernel_mapper<R>(f: impl FnOnce(&mut OffsetPageTable<'_>) -> R) -> R {
    let _guard = INIT_MM_PAGE_TABLE_LOCK.lock();
    let pml4 = phys_to_virt(swapper_pg_dir().start_address()).as_mut_ptr::<PageTable>();
    // SAFETY: the kernel page table is mapped at PAGE_OFFSET, all physical
    // memory is mapped there, and the lock above makes this the only mapper.
    let mut mapper = unsafe { OffsetPageTable::new(&mut *pml4, phys_to_virt(PhysAddr::zero())) };
    f(&mut mapper)
}

/// Maps one kernel page, read-write and not executable. The caller
/// (vmalloc) keeps its handle on `frame` until it has unmapped it again.
///
/// # Errors
/// `ENOMEM` when a page-table page cannot be allocated; `EEXIST` when the
/// page is already mapped.
pub(super) fn map_kernel_page(page: Page, frame: &page_alloc::Page) -> Result<(), Errno> {
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    with_kernel_mapper(|mapper| {
        // SAFETY: `page` lies in a kernel area reserved by the caller for
        // this frame, so no existing Rust reference points into it.
        match unsafe { mapper.map_to(page, frame.frame(), flags, &mut PageTableAllocator) } {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(Errno::ENOMEM),
            Err(_) => Err(Errno::EEXIST),
        }
    })
}

/// Unmaps one kernel page, flushes its TLB entry and returns its frame.
pub(super) fn unmap_kernel_page(page: Page) -> Option<PhysFrame> {
    with_kernel_mapper(|mapper| {
        let (frame, flush) = mapper.unmap(page).ok()?;
        flush.flush();
        Some(frame)
    })
}

/// Finds an unused top-level entry in the kernel half and gives it a
/// page-table page of its own, so that later mappings inside it are shared
/// by every address space. Returns the start of its 512 GiB.
pub fn reserve_kernel_pml4_slot() -> VirtAddr {
    let _guard = INIT_MM_PAGE_TABLE_LOCK.lock();
    let pml4 = phys_to_virt(swapper_pg_dir().start_address()).as_mut_ptr::<PageTable>();
    // SAFETY: the kernel PML4 is mapped at PAGE_OFFSET and the lock above
    // keeps every other writer out while we hold this reference.
    let pml4 = unsafe { &mut *pml4 };
    let index = (256..511)
        .rev()
        .find(|&i| pml4[i].is_unused())
        .expect("a free kernel PML4 slot");
    let pdpt = page_alloc::get_zeroed_page().expect("memory for a kernel PDPT at boot");
    pml4[index].set_frame(
        pdpt.share().into_raw(),
        PageTableFlags::PRESENT | PageTableFlags::WRITABLE,
    );
    VirtAddr::new_truncate((index as u64) << 39)
}
