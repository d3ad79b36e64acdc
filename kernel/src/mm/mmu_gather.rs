//! Gathering the changes an operation makes to a user page table, and
//! the pages it unmaps, so that the TLB flush runs once, after the mm's
//! lock, and the pages are freed only after it (see `mm::tlb` for why).
//!
//! ```text
//!  let mut tlb = tlb_gather_mmu(mm);   before the lock: dropped after it
//!  let st = tlb.lock_mmap();           once the last change's flush is done
//!  zap / change_protection / copy_page_range record into tlb
//!  drop(st); drop(tlb)                 flush on every CPU, free the pages
//! ```
//!
//! Linux: mm/mmu_gather.c, include/asm-generic/tlb.h
//! Differs: one batch that grows (reserved before any entry changes, so
//! gathering never fails halfway) instead of page-sized batches flushed
//! when full.

use super::PAGE_SIZE;
use super::mm_types::{MmStruct, MmapState};
use super::page_alloc::Page;
use super::tlb::{TLB_FLUSH_ALL, flush_tlb_mm_range};
use crate::arch::sync::SpinLockGuard;
use crate::errno::Errno;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

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

/// Starts gathering the changes to `mm`'s page tables, after any fault
/// waiting for a flush of `mm` has gone ahead (see [`TlbFlushWaiter`]).
/// Called with interrupts on, no lock is held, so it may wait; with them
/// off it cannot (the flush the fault waits for may need this CPU's IPI).
///
/// Linux: tlb_gather_mmu() in mm/mmu_gather.c
/// Differs: Linux's callers hold mmap_lock for writing, a fair rwsem that
/// a waiting fault gets before the next writer; this wait gives the same.
pub fn tlb_gather_mmu(mm: &MmStruct) -> MmuGather<'_> {
    if x86_64::instructions::interrupts::are_enabled() {
        while mm.tlb_flush_waiters.load(Ordering::SeqCst) != 0 {
            core::hint::spin_loop();
        }
    }
    tlb_gather_mmu_fault(mm)
}

/// Starts gathering for a page fault, which never waits for other faults:
/// it may be one of the waiters itself.
pub fn tlb_gather_mmu_fault(mm: &MmStruct) -> MmuGather<'_> {
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

    /// Takes the mm's lock for a change to its areas or page tables, once
    /// no flush of an earlier change is pending. Until that flush is done a
    /// TLB may still map what the earlier change unmapped, this CPU's too
    /// (the task that made it may have been preempted here before flushing):
    /// an area mapped again at that address would be reached through the
    /// old translation, without a fault, and its writes would go to the old
    /// page, which the flush then frees (race_dethread: a thread stack that
    /// munmap had just freed, mapped again for the next thread, read back
    /// as zeros on another CPU). While waiting, new changes hold back
    /// (`TlbFlushWaiter`), so that a thread forking in a loop cannot keep a
    /// flush pending for ever. With interrupts off it takes the lock at
    /// once: the flush waited for may need this CPU's IPI (a kernel copy
    /// under a lock faults so).
    ///
    /// Linux: mmap_write_lock(): the earlier writer held mmap_lock through
    /// its tlb_finish_mmu(), so the next one starts after that flush.
    pub fn lock_mmap(&self) -> SpinLockGuard<'a, MmapState> {
        let can_wait = x86_64::instructions::interrupts::are_enabled();
        let mut waiter = None;
        loop {
            let st = self.mm.mmap.lock();
            if !can_wait || !self.mm.mm_tlb_flush_pending() {
                return st;
            }
            drop(st);
            waiter.get_or_insert_with(|| TlbFlushWaiter::new(self.mm));
            wait_tlb_flush_pending(self.mm);
        }
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

/// Waits until no flush of `mm` is pending (see the module doc), with
/// interrupts on so that this CPU takes that very flush's IPI; yielding
/// where it may, since the task that owes the flush may be preempted on
/// this CPU.
/// Differs: Linux waits on the mmap_lock, which the flushing writer holds
/// across its flush.
fn wait_tlb_flush_pending(mm: &MmStruct) {
    while mm.mm_tlb_flush_pending() {
        if crate::preempt::preempt_count() == 0 {
            crate::sched::core::sched_yield();
        } else {
            core::hint::spin_loop();
        }
    }
}

/// A fault or a change waiting for the flushes of its mm, counted in
/// `tlb_flush_waiters` from its first wait until it is resolved. Without
/// it the waiter could starve: it sees the count drop to zero, but a
/// thread forking in a loop takes the mm's lock again first and announces
/// the next flush, every time (a fault then waits for good, and the exec
/// that would end the loop never comes).
pub struct TlbFlushWaiter<'a>(&'a MmStruct);

impl<'a> TlbFlushWaiter<'a> {
    /// Holds new page-table changes of `mm` back until this is dropped.
    pub fn new(mm: &'a MmStruct) -> Self {
        mm.tlb_flush_waiters.fetch_add(1, Ordering::SeqCst);
        Self(mm)
    }
}

impl Drop for TlbFlushWaiter<'_> {
    fn drop(&mut self) {
        self.0.tlb_flush_waiters.fetch_sub(1, Ordering::SeqCst);
    }
}
