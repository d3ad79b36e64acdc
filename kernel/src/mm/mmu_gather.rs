//! Gathering the changes an operation makes to a user page table, and
//! the pages it unmaps, so that the TLB flush runs once, after the mm's
//! lock, and the pages are freed only after it (see `mm::tlb` for why).
//!
//! ```text
//!  let mut tlb = tlb_gather_mmu(mm);   before the lock: dropped after it
//!  let st = mm.mmap.lock();
//!  zap / change_protection / copy_page_range record into tlb
//!  drop(st); drop(tlb)                 flush on every CPU, free the pages
//! ```
//!
//! Linux: mm/mmu_gather.c, include/asm-generic/tlb.h
//! Differs: one batch that grows (reserved before any entry changes, so
//! gathering never fails halfway) instead of page-sized batches flushed
//! when full.

use super::PAGE_SIZE;
use super::mm_types::MmStruct;
use super::page_alloc::Page;
use super::tlb::{TLB_FLUSH_ALL, flush_tlb_mm_range};
use crate::errno::Errno;
use alloc::vec::Vec;

/// Page-table changes of one operation, and the pages they unmapped, held
/// until every TLB has dropped the old translations (Linux: `struct
/// mmu_gather`). Create it before taking the mm's lock so that it is
/// dropped after the lock: the drop flushes, then frees the pages.
pub struct MmuGather<'a> {
    mm: &'a MmStruct,
    start: u64,
    end: u64,
    pages: Vec<Page>,
}

/// Starts gathering the changes to `mm`'s page tables.
///
/// Linux: tlb_gather_mmu() in mm/mmu_gather.c
pub fn tlb_gather_mmu(mm: &MmStruct) -> MmuGather<'_> {
    MmuGather {
        mm,
        start: TLB_FLUSH_ALL,
        end: 0,
        pages: Vec::new(),
    }
}

impl<'a> MmuGather<'a> {
    /// The address space whose changes this gathers.
    pub fn mm(&self) -> &'a MmStruct {
        self.mm
    }

    /// Records that the PTE of the page at `addr` changed in a way that a
    /// stale translation would contradict (cleared, write-protected, or
    /// pointed at another page); the first record announces the flush.
    ///
    /// Linux: tlb_flush_pte_range() / __tlb_adjust_range() in include/asm-generic/tlb.h
    pub fn tlb_flush_pte_range(&mut self, addr: u64) {
        if self.end == 0 {
            self.mm.inc_tlb_flush_pending();
        }
        self.start = self.start.min(addr);
        self.end = self.end.max(addr + PAGE_SIZE as u64);
    }

    /// Makes room to gather `n` more pages, before any is unmapped, so
    /// that gathering cannot fail halfway.
    ///
    /// # Errors
    /// `ENOMEM` when the list cannot grow.
    pub fn reserve(&mut self, n: usize) -> Result<(), Errno> {
        self.pages.try_reserve(n).map_err(|_| Errno::ENOMEM)
    }

    /// Keeps a page that was unmapped until the flush is done; room for it
    /// was reserved.
    ///
    /// Linux: tlb_remove_page() in include/asm-generic/tlb.h
    pub fn tlb_remove_page(&mut self, page: Page) {
        debug_assert!(self.pages.len() < self.pages.capacity(), "reserve first");
        self.pages.push(page);
    }
}

impl Drop for MmuGather<'_> {
    /// Flushes the gathered range on every CPU, then frees the pages.
    ///
    /// Linux: tlb_finish_mmu() / tlb_flush_mmu() in mm/mmu_gather.c
    fn drop(&mut self) {
        if self.end == 0 {
            return;
        }
        flush_tlb_mm_range(self.mm, self.start, self.end);
        self.pages.clear();
        self.mm.dec_tlb_flush_pending();
    }
}

/// Waits until no flush of `mm` is pending (see the module doc), spinning
/// with interrupts on so that this CPU takes that very flush's IPI.
/// Differs: Linux's fault waits on the mmap_lock, which the flushing
/// writer holds across its flush.
pub fn wait_tlb_flush_pending(mm: &MmStruct) {
    while mm.mm_tlb_flush_pending() {
        core::hint::spin_loop();
    }
}
