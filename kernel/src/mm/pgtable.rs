//! The kernel's own page tables (`init_mm.pgd`, Linux's `swapper_pg_dir`).
//! Process page tables, added with user space, copy its upper half, so every
//! kernel mapping made below a top-level entry is seen by all of them.
//!
//! Every leaf mapping of the kernel half is global (PTE bit G): with CR4.PGE
//! on, a CR3 switch keeps those TLB entries, since the kernel half is the
//! same in every address space. A global entry leaves the TLB only by
//! `invlpg` of its address (or a CR4.PGE toggle), never by a CR3 reload, so
//! changes to kernel mappings flush with `invlpg`.
//!
//! Linux: arch/x86/mm/pgtable.c, mm/vmalloc.c (vmap_range)

use super::page_alloc;
use super::phys_to_virt;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use core::sync::atomic::{AtomicUsize, Ordering};
use spin::Once;
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::mapper::{MapToError, TranslateResult};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
    Translate,
};
use x86_64::{PhysAddr, VirtAddr};

static SWAPPER_PG_DIR: Once<PhysFrame> = Once::new();
/// Serialises changes to the kernel half (Linux: init_mm.page_table_lock).
static INIT_MM_PAGE_TABLE_LOCK: SpinLock<()> = SpinLock::new(());

/// Remembers the page table the bootloader left in CR3 as the kernel's.
pub fn pgtable_init() {
    SWAPPER_PG_DIR.call_once(|| Cr3::read().0);
}

/// Marks every leaf mapping of the kernel half global. Runs before CR4.PGE
/// is set (identify_boot_cpu), which flushes the whole TLB, so no entry
/// cached before the change survives it.
///
/// Linux: kernel_physical_mapping_init() in arch/x86/mm/init_64.c
/// Differs: Linux maps the kernel global from the start (_PAGE_GLOBAL in
/// __PAGE_KERNEL); the bootloader built our kernel half, so we mark its
/// entries afterwards.
pub fn mark_kernel_global() {
    fn mark_level(table: PhysFrame, level: u32, entries: core::ops::Range<usize>) {
        let table = phys_to_virt(table.start_address()).as_mut_ptr::<PageTable>();
        for i in entries {
            // SAFETY: `table` is a page-table page of the kernel half, mapped
            // at PAGE_OFFSET; the caller holds INIT_MM_PAGE_TABLE_LOCK and only
            // this CPU runs, so no other writer or walker borrows the entry.
            let entry = unsafe { &mut (&mut *table)[i] };
            let flags = entry.flags();
            if !flags.contains(PageTableFlags::PRESENT)
                || flags.contains(PageTableFlags::USER_ACCESSIBLE)
            {
                continue;
            }
            if level == 1 || flags.contains(PageTableFlags::HUGE_PAGE) {
                entry.set_flags(flags | PageTableFlags::GLOBAL);
            } else {
                mark_level(
                    PhysFrame::containing_address(entry.addr()),
                    level - 1,
                    0..512,
                );
            }
        }
    }
    let _guard = INIT_MM_PAGE_TABLE_LOCK.lock();
    mark_level(swapper_pg_dir(), 4, 256..512);
}

/// The flags of the leaf entry that maps kernel address `addr`, if any.
pub fn kernel_pte_flags(addr: VirtAddr) -> Option<PageTableFlags> {
    with_kernel_mapper(|mapper| match mapper.translate(addr) {
        TranslateResult::Mapped { flags, .. } => Some(flags),
        _ => None,
    })
}

/// The kernel's top-level page table frame.
pub fn swapper_pg_dir() -> PhysFrame {
    *SWAPPER_PG_DIR.get().expect("pgtable_init ran")
}

/// Page-table pages made for the kernel half since boot; they are never
/// freed, as Linux keeps the kernel's (a vmalloc area's tables stay).
static NR_KERNEL_PGTABLE_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Page-table pages the kernel half has taken from the page allocator.
pub fn nr_kernel_pgtable_pages() -> usize {
    NR_KERNEL_PGTABLE_PAGES.load(Ordering::Relaxed)
}

/// Hands page-table pages to the x86_64 mapper from our page allocator.
struct PageTableAllocator;

// SAFETY: every frame returned comes from alloc_page, is unused, and is
// owned by the page table it is linked into from then on (kernel page
// tables are never freed, so the reference is never given back).
unsafe impl FrameAllocator<Size4KiB> for PageTableAllocator {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        let frame = page_alloc::alloc_page().ok()?.share().into_raw();
        NR_KERNEL_PGTABLE_PAGES.fetch_add(1, Ordering::Relaxed);
        Some(frame)
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

/// Maps one kernel page, read-write, not executable and global. The
/// caller (vmalloc) keeps its handle on `frame` until it has unmapped it again.
///
/// # Errors
/// `ENOMEM` when a page-table page cannot be allocated; `EEXIST` when the
/// page is already mapped.
pub(super) fn map_kernel_page(page: Page, frame: &page_alloc::Page) -> Result<(), Errno> {
    let flags = PageTableFlags::PRESENT
        | PageTableFlags::WRITABLE
        | PageTableFlags::NO_EXECUTE
        | PageTableFlags::GLOBAL;
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

/// Unmaps one kernel page, flushes its TLB entry (`invlpg`, which drops a
/// global entry too) and returns its frame.
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
    NR_KERNEL_PGTABLE_PAGES.fetch_add(1, Ordering::Relaxed);
    pml4[index].set_frame(
        pdpt.share().into_raw(),
        PageTableFlags::PRESENT | PageTableFlags::WRITABLE,
    );
    VirtAddr::new_truncate((index as u64) << 39)
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::mm::vmalloc::KernelStack;
    use crate::{kassert, ktest};

    fn is_global(addr: u64) -> bool {
        kernel_pte_flags(VirtAddr::new(addr)).is_some_and(|f| f.contains(PageTableFlags::GLOBAL))
    }

    ktest! {
        fn kernel_text_data_heap_and_stacks_are_mapped_global() {
            let text = kernel_pte_flags as *const () as u64;
            let data = &SWAPPER_PG_DIR as *const _ as u64;
            let heap = alloc::boxed::Box::new(0u64);
            let local = 0u64;
            kassert!(text >= 0xffff_8000_0000_0000, "the kernel runs in the upper half");
            kassert!(is_global(text), "kernel text {text:#x}");
            kassert!(is_global(data), "kernel data {data:#x}");
            kassert!(is_global(&*heap as *const u64 as u64), "the heap");
            kassert!(is_global(&local as *const u64 as u64), "the running kernel stack");
            let fresh = KernelStack::alloc().map_err(|e| alloc::format!("{e:?}"))?;
            kassert!(is_global(fresh.bottom().as_u64()), "a new kernel stack");
            kassert!(is_global(fresh.top().as_u64() - 8), "a new kernel stack's top page");
            kassert!(kernel_pte_flags(VirtAddr::new(fresh.guard().start)).is_none(), "the guard");
        }
    }
}

/// Builds the page table an application processor turns paging on with:
/// the kernel half of `swapper_pg_dir`, plus the first 2 MiB mapped at
/// their own addresses, so that the trampoline below 1 MiB keeps running
/// at the instruction that enables paging and can then jump to the
/// kernel. Built once; its pages are never freed.
///
/// Linux: init_trampoline() / trampoline_pgd in arch/x86/mm/init.c and
/// arch/x86/realmode/init.c
/// `pml4` is the page mm_init reserved for it next to the trampoline.
pub fn init_trampoline_pgd(pml4: PhysFrame) -> PhysFrame {
    let table = || {
        let page = page_alloc::get_zeroed_page().expect("memory for the trampoline page table");
        page.share().into_raw()
    };
    let (pdpt, pd) = (table(), table());
    let table_at = |frame: PhysFrame| phys_to_virt(frame.start_address()).as_mut_ptr::<PageTable>();
    // SAFETY: memblock gave the page to mm_init's real-mode reservation,
    // which nothing else uses; it is mapped at PAGE_OFFSET.
    unsafe { table_at(pml4).write(PageTable::new()) };
    let _guard = INIT_MM_PAGE_TABLE_LOCK.lock();
    let kernel = table_at(swapper_pg_dir());
    let rw = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    // SAFETY: the three pages were just allocated for these tables and are
    // referred to by nothing else yet; the kernel PML4 is only read, under
    // its lock; all are mapped at PAGE_OFFSET.
    unsafe {
        for i in 256..512 {
            (&mut *table_at(pml4))[i] = (&*kernel)[i].clone();
        }
        (&mut *table_at(pml4))[0].set_frame(pdpt, rw);
        (&mut *table_at(pdpt))[0].set_frame(pd, rw);
        (&mut *table_at(pd))[0].set_addr(PhysAddr::zero(), rw | PageTableFlags::HUGE_PAGE);
    }
    pml4
}
