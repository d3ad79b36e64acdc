//! User page tables: faults, copy-on-write and tearing down.
//!
//! The life of a private page across fork:
//!
//! ```text
//!  first touch           fork (copy_page_range)         write fault (do_wp_page)
//!  ──────────> [count 1, RW] ──────────────────> [count 2, RO in both] ──┬─> count 2: copy, new page RW,
//!  do_anonymous_page                                                    │   old page count 1
//!                                                                       └─> count 1: reuse, make RW
//! ```
//!
//! Shared mappings keep their pages writable in both; read faults never copy.
//! File mappings map page-cache pages (see `file.rs`).
//!
//! Linux: mm/memory.c

use super::mm_types::MmapState;
use super::mm_types::{MmStruct, TASK_SIZE, VmAreaStruct, VmBacking, VmFlags, mm_counter};
use super::mmu_gather::{MmuGather, tlb_gather_mmu_fault};
use super::page_alloc::{Page, alloc_page, get_zeroed_page};
use super::{PAGE_SIZE, pgtable, phys_to_virt};
use crate::arch::sync::SpinLockGuard;
use crate::errno::Errno;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as F, PhysFrame};

mod file;
mod remote;
pub use super::tlb::{switch_mm, switch_mm_irqs_off};
pub use file::unmap_mapping_range;
pub use remote::{FOLL_FORCE, FOLL_WRITE, access_process_vm, access_remote_vm};

static COW_COPIES: AtomicU64 = AtomicU64::new(0);
static COW_REUSES: AtomicU64 = AtomicU64::new(0);

/// Pages copied by copy-on-write faults since boot.
pub fn cow_copies() -> u64 {
    COW_COPIES.load(Ordering::Relaxed)
}

/// Copy-on-write faults that found the last reference and reused the page.
pub fn cow_reuses() -> u64 {
    COW_REUSES.load(Ordering::Relaxed)
}

fn table_at(frame: PhysFrame) -> *mut PageTable {
    phys_to_virt(frame.start_address()).as_mut_ptr()
}

/// The top-level page table of a user address space (Linux: `mm->pgd`).
/// It owns every page-table page and every user page mapped below it:
/// each present user entry holds one reference to its page (see [`Page`]).
/// Dropping it frees them all (free_pgtables).
pub struct Pgd(PhysFrame);

impl Pgd {
    /// The table's frame, for CR3.
    pub(super) fn frame(&self) -> PhysFrame {
        self.0
    }
}

/// Allocates a top-level table whose kernel half is the kernel's.
///
/// Linux: pgd_alloc() in arch/x86/mm/pgtable.c
///
/// # Errors
/// `ENOMEM` when no page is free.
pub fn pgd_alloc() -> Result<Pgd, Errno> {
    let frame = get_zeroed_page()?.share().into_raw();
    let kernel = table_at(pgtable::swapper_pg_dir());
    let new = table_at(frame);
    for i in 256..512 {
        // SAFETY: `new` is a page we just allocated and own; `kernel` is the
        // kernel PML4, whose upper half only changes at boot.
        unsafe { (&mut *new)[i] = (&*kernel)[i].clone() };
    }
    Ok(Pgd(frame))
}

impl Drop for Pgd {
    /// Runs when the last reference to the mm goes.
    ///
    /// Linux: mmput() -> exit_mmap() in kernel/fork.c and mm/mmap.c
    fn drop(&mut self) {
        free_pgtables(self.0);
    }
}

/// The page a present user PTE maps, borrowed: the PTE keeps its reference.
#[track_caller]
fn pte_page(pte: &PageTableEntry) -> ManuallyDrop<Page> {
    // SAFETY: every present entry below a `Pgd`'s user half holds one
    // reference to its page (set from `into_raw`); ManuallyDrop makes sure
    // this borrowed handle never gives that reference back.
    ManuallyDrop::new(unsafe { Page::from_raw(PhysFrame::containing_address(pte.addr())) })
}

/// Clears a present entry and drops the reference it held (for tables no
/// CPU has loaded, or with the TLBs flushed).
#[track_caller]
fn pte_clear(pte: &mut PageTableEntry) {
    drop(pte_take(pte));
}

/// Clears a present entry and returns the reference it held.
///
/// Linux: ptep_get_and_clear() in include/linux/pgtable.h
#[track_caller]
fn pte_take(pte: &mut PageTableEntry) -> Page {
    // SAFETY: the entry held a reference (see `pte_page`); clearing it right
    // after hands that reference to us, exactly once.
    let page = unsafe { Page::from_raw(PhysFrame::containing_address(pte.addr())) };
    pte.set_unused();
    page
}

/// Finds the PTE for `addr`, creating missing page-table pages if `alloc`.
///
/// # Errors
/// `ENOMEM` when a page-table page cannot be allocated.
fn walk(mm: &MmStruct, addr: u64, alloc: bool) -> Result<Option<*mut PageTableEntry>, Errno> {
    let mut table = table_at(mm.pgd.frame());
    for shift in [39, 30, 21] {
        let index = ((addr >> shift) & 511) as usize;
        // SAFETY: `table` is a page-table page of this mm, reachable only
        // through its pgd, and the caller holds the mm lock.
        let entry = unsafe { &mut (&mut *table)[index] };
        if entry.is_unused() {
            if !alloc {
                return Ok(None);
            }
            let frame = get_zeroed_page()?.share().into_raw();
            mm.pgtables_bytes.fetch_add(PAGE_SIZE, Ordering::Relaxed);
            entry.set_frame(frame, F::PRESENT | F::WRITABLE | F::USER_ACCESSIBLE);
        }
        table = table_at(PhysFrame::containing_address(entry.addr()));
    }
    // SAFETY: as above, for the last level.
    Ok(Some(unsafe {
        &mut (&mut *table)[((addr >> 12) & 511) as usize] as *mut _
    }))
}

/// Calls `f` on every present PTE in [start, end), skipping empty tables.
fn for_each_pte(pgd: &Pgd, start: u64, end: u64, mut f: impl FnMut(u64, &mut PageTableEntry)) {
    fn walk_level(
        table: *mut PageTable,
        level: u32,
        base: u64,
        start: u64,
        end: u64,
        f: &mut dyn FnMut(u64, &mut PageTableEntry),
    ) {
        let span = 1u64 << (12 + 9 * level);
        // Only the entries that overlap [start, end): the caller recursed
        // into this table because it overlaps, so both ends are in range
        // once clamped to it (Linux: the pXd_addr_end() bounds).
        let first = (start.max(base) - base) / span;
        let last = ((end - 1).min(base + 512 * span - 1) - base) / span;
        for i in first..=last {
            let lo = base + i * span;
            // SAFETY: `table` is a page-table page of the mm being walked, and
            // the caller holds that mm's lock (or owns the mm outright).
            let entry = unsafe { &mut (&mut *table)[i as usize] };
            if entry.is_unused() {
                continue;
            }
            if level == 0 {
                f(lo, entry);
            } else {
                walk_level(
                    table_at(PhysFrame::containing_address(entry.addr())),
                    level - 1,
                    lo,
                    start,
                    end,
                    f,
                );
            }
        }
    }
    if start < end {
        walk_level(table_at(pgd.frame()), 3, 0, start, end, &mut f);
    }
}

/// The PTE flags a page of `vma` gets when first mapped.
fn vm_page_prot(vma: &VmAreaStruct) -> F {
    let mut flags = F::PRESENT;
    if vma
        .vm_flags
        .intersects(VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_EXEC)
    {
        flags |= F::USER_ACCESSIBLE;
    }
    if vma.vm_flags.contains(VmFlags::VM_WRITE) {
        flags |= F::WRITABLE;
    }
    if !vma.vm_flags.contains(VmFlags::VM_EXEC) {
        flags |= F::NO_EXECUTE;
    }
    flags
}

/// Drops this CPU's translation of `addr` after a fault that found the
/// PTE already right: another CPU upgraded it (made it present or
/// writable), which needs no shootdown, since a stale translation of
/// less permission only faults again, here.
///
/// Linux: flush_tlb_fix_spurious_fault() in include/linux/pgtable.h
fn flush_tlb_fix_spurious_fault(mm: &MmStruct, addr: u64) {
    if Cr3::read().0 == mm.pgd.frame() {
        x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(addr));
    }
}

/// The fault entry for user addresses: finds the current task's mm and
/// resolves the fault there. A fault that finds no free page calls the OOM
/// killer and is then retried: from user mode by returning to the faulting
/// instruction once a fatal signal has had its chance to act, from a kernel
/// copy in place, unless the copying task is being killed or may not sleep.
///
/// Linux: do_user_addr_fault() in arch/x86/mm/fault.c
///
/// # Errors
/// `EFAULT` when no mapping covers the address, or when a kernel copy
/// cannot wait for memory; `EACCES` when its mapping forbids the access;
/// `EIO` for a file page past the end of the file (Linux: VM_FAULT_SIGBUS).
pub fn do_user_addr_fault(
    addr: u64,
    write: bool,
    exec: bool,
    user_mode: bool,
    may_sleep: bool,
) -> Result<(), Errno> {
    if addr >= TASK_SIZE {
        return Err(Errno::EFAULT);
    }
    loop {
        let mm = crate::arch::percpu::with_current(|t| t.and_then(|t| t.mm.lock().clone()))
            .ok_or(Errno::EFAULT)?;
        match handle_mm_fault(&mm, addr, write, exec) {
            Err(Errno::ENOMEM) => drop(mm),
            result => return result,
        }
        if !user_mode && !may_sleep {
            return Err(Errno::EFAULT);
        }
        super::oom_kill::pagefault_out_of_memory();
        if user_mode {
            return Ok(());
        }
        if crate::signal::fatal_signal_pending(&crate::task::current()) {
            return Err(Errno::EFAULT);
        }
    }
}

/// Resolves a fault at `addr`: maps a missing page, or breaks copy-on-write.
///
/// Linux: handle_mm_fault() in mm/memory.c
///
/// # Errors
/// `EFAULT` for an address no mapping covers, `EACCES` for an access the
/// mapping does not allow, `ENOMEM` when out of
/// pages (Linux: VM_FAULT_OOM), `EIO` for a file page past the end of the file.
pub fn handle_mm_fault(mm: &MmStruct, addr: u64, write: bool, exec: bool) -> Result<(), Errno> {
    handle_mm_fault_force(mm, addr, write, exec, false)
}

/// handle_mm_fault, with `force` for a debugger's access (FOLL_FORCE): a
/// PROT_NONE mapping may be read, and a private mapping without VM_WRITE,
/// but that could be made writable (VM_MAYWRITE), gets its own copy of
/// the page, still mapped read-only.
///
/// Linux: handle_mm_fault() in mm/memory.c, reached from
/// get_user_pages_remote() after check_vma_flags() in mm/gup.c
/// Differs: no VM_MAYREAD: every mapping may be read by force.
pub(super) fn handle_mm_fault_force(
    mm: &MmStruct,
    addr: u64,
    write: bool,
    exec: bool,
    force: bool,
) -> Result<(), Errno> {
    let mut tlb = tlb_gather_mmu_fault(mm);
    // After any pending flush of an earlier change: a COW break now could
    // copy a page that a stale writable translation is still writing.
    let st = tlb.lock_mmap();
    let ret = __handle_mm_fault(&mut tlb, st, addr, write, exec, force);
    if ret.is_ok() {
        mm_account_fault();
    }
    ret
}

/// Counts a resolved fault against the current task, for getrusage.
///
/// Linux: mm_account_fault() in mm/memory.c
/// Differs: every fault is minor, since no page waits for I/O.
fn mm_account_fault() {
    crate::arch::percpu::with_current(|t| {
        if let Some(t) = t {
            t.min_flt
                .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
    });
}

/// Linux: __handle_mm_fault() in mm/memory.c
fn __handle_mm_fault(
    tlb: &mut MmuGather<'_>,
    mut st: SpinLockGuard<'_, MmapState>,
    addr: u64,
    write: bool,
    exec: bool,
    force: bool,
) -> Result<(), Errno> {
    let mm = tlb.mm();
    let found = st.find_vma(addr).cloned();
    let vma = match found {
        Some(vma) => vma,
        None => super::mmap::expand_stack(&mut st, addr)?,
    };
    let allowed = if write {
        vma.vm_flags.contains(VmFlags::VM_WRITE) || force && is_cow_mapping(vma.vm_flags)
    } else if exec {
        vma.vm_flags.contains(VmFlags::VM_EXEC)
    } else {
        // Linux: check_vma_flags() lets a forced read (a debugger's)
        // through a PROT_NONE mapping.
        force
            || vma
                .vm_flags
                .intersects(VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_EXEC)
    };
    if !allowed {
        // Linux: bad_area_access_error(), SEGV_ACCERR.
        return Err(Errno::EACCES);
    }
    let addr = addr & !(PAGE_SIZE as u64 - 1);
    let pte = walk(mm, addr, true)?.expect("walk allocates");
    // SAFETY: `pte` points into this mm's page tables and we hold its lock.
    let pte = unsafe { &mut *pte };
    if pte.is_unused() {
        return do_pte_missing(mm, &vma, addr, pte, write);
    }
    if write && !pte.flags().contains(F::WRITABLE) {
        if vma.vm_flags.contains(VmFlags::VM_SHARED) {
            // Linux: wp_page_shared(): the page itself becomes writable.
            pte.set_flags(pte.flags() | F::WRITABLE);
        } else {
            return do_wp_page(tlb, &vma, addr, pte);
        }
    }
    flush_tlb_fix_spurious_fault(mm, addr);
    Ok(())
}

/// Maps the first page at `addr` in `vma`: zeroes, the shared object's
/// page, or a file's page (see `file.rs`).
///
/// Linux: do_pte_missing() -> do_anonymous_page() / do_fault() in mm/memory.c
fn do_pte_missing(
    mm: &MmStruct,
    vma: &VmAreaStruct,
    addr: u64,
    pte: &mut PageTableEntry,
    write: bool,
) -> Result<(), Errno> {
    let page = match &vma.backing {
        VmBacking::Anon => get_zeroed_page()?.share(),
        VmBacking::Shared(shm) => shm.get_page((addr - vma.vm_start) / PAGE_SIZE as u64)?,
        VmBacking::File(file) => return file::do_fault(mm, vma, file, addr, pte, write),
    };
    set_pte(mm, vma, pte, page, vm_page_prot(vma));
    Ok(())
}

/// Points an empty PTE at `page` (whose reference it keeps) and counts it.
///
/// Linux: set_pte_at() with the rss update of finish_fault() in mm/memory.c
fn set_pte(mm: &MmStruct, vma: &VmAreaStruct, pte: &mut PageTableEntry, page: Page, prot: F) {
    pte.set_frame(page.into_raw(), prot);
    mm.add_mm_counter(mm_counter(vma), 1);
}

/// Whether a mapping is private and could be made writable, so that a
/// write to it copies the page (Linux: is_cow_mapping() in include/linux/mm.h).
fn is_cow_mapping(flags: VmFlags) -> bool {
    flags.contains(VmFlags::VM_MAYWRITE) && !flags.contains(VmFlags::VM_SHARED)
}

/// A write to a present read-only page of a writable mapping (or a
/// debugger's forced write to a private read-only one): the page is
/// shared copy-on-write. If we hold the last reference, just make it
/// writable; otherwise copy it and drop our reference to the original.
///
/// Linux: do_wp_page() / wp_page_copy() / wp_page_reuse() in mm/memory.c
///
/// A copy replaces the page other CPUs may still map read-only, so their
/// translations are shot down (`tlb`, after the mm's lock) before this
/// task returns to write the copy, and the old page is let go only then:
/// otherwise a thread elsewhere would go on reading the old page, which
/// the child may be writing by then.
///
/// # Errors
/// `ENOMEM` when no page is free for the copy (Linux: VM_FAULT_OOM); the
/// page stays shared and read-only, and the fault is retried after the OOM
/// killer has run.
fn do_wp_page(
    tlb: &mut MmuGather<'_>,
    vma: &VmAreaStruct,
    addr: u64,
    pte: &mut PageTableEntry,
) -> Result<(), Errno> {
    let old = pte_page(pte);
    if old.page_count() == 1 {
        COW_REUSES.fetch_add(1, Ordering::Relaxed);
        // Linux: maybe_mkwrite(): a forced write leaves the page read-only.
        if vma.vm_flags.contains(VmFlags::VM_WRITE) {
            pte.set_flags(pte.flags() | F::WRITABLE);
        }
        flush_tlb_fix_spurious_fault(tlb.mm(), addr);
        return Ok(());
    }
    let mut new = alloc_page()?;
    tlb.reserve(1)?;
    new.copy_page(&old);
    tlb.tlb_remove_page(pte_take(pte));
    pte.set_frame(new.share().into_raw(), vm_page_prot(vma));
    tlb.tlb_flush_pte_range(addr);
    COW_COPIES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Copies the page tables of one area into a child: every present page gets
/// one more reference; private writable pages become read-only in both, so
/// that the first write from either side copies. No page is copied here.
///
/// Linux: copy_page_range() / copy_pte_range() in mm/memory.c
///
/// The write-protected entries of `src` are recorded in `tlb`, which
/// flushes them on every CPU running the parent before fork goes on.
///
/// # Errors
/// `ENOMEM` when a page-table page cannot be allocated; what was copied is
/// freed with the child's mm.
pub fn copy_page_range(
    tlb: &mut MmuGather<'_>,
    dst: &MmStruct,
    vma: &VmAreaStruct,
) -> Result<(), Errno> {
    let src = tlb.mm();
    let cow =
        vma.vm_flags.contains(VmFlags::VM_WRITE) && !vma.vm_flags.contains(VmFlags::VM_SHARED);
    let counter = mm_counter(vma);
    let mut result = Ok(());
    for_each_pte(&src.pgd, vma.vm_start, vma.vm_end, |addr, src_pte| {
        if result.is_err() {
            return;
        }
        match walk(dst, addr, true) {
            Ok(Some(dst_pte)) => {
                if cow && src_pte.flags().contains(F::WRITABLE) {
                    src_pte.set_flags(src_pte.flags() - F::WRITABLE);
                    tlb.tlb_flush_pte_range(addr);
                }
                let page = Page::clone(&pte_page(src_pte)).into_raw();
                dst.add_mm_counter(counter, 1);
                // SAFETY: `dst_pte` points into the child's tables, which only
                // this fork can see yet.
                unsafe { (*dst_pte).set_addr(page.start_address(), src_pte.flags()) };
            }
            Ok(None) => {}
            Err(e) => result = Err(e),
        }
    });
    result
}

/// Unmaps the pages of `vma` in [start, end). Their references go to
/// `tlb`, which drops them once no TLB maps them any more.
///
/// Linux: unmap_page_range() / zap_pte_range() in mm/memory.c
///
/// # Errors
/// `ENOMEM` when `tlb` has no room for the pages; nothing is unmapped.
pub fn zap_page_range(
    tlb: &mut MmuGather<'_>,
    vma: &VmAreaStruct,
    start: u64,
    end: u64,
) -> Result<(), Errno> {
    let mm = tlb.mm();
    let mut present = 0;
    for_each_pte(&mm.pgd, start, end, |_, _| present += 1);
    tlb.reserve(present)?;
    for_each_pte(&mm.pgd, start, end, |addr, pte| {
        tlb.tlb_remove_page(pte_take(pte));
        tlb.tlb_flush_pte_range(addr);
    });
    mm.add_mm_counter(mm_counter(vma), -(present as isize));
    Ok(())
}

/// Applies new permissions to the present pages of [start, end). Writable
/// permission is not granted here for private pages: the next write fault
/// decides between reuse and copy.
///
/// Entries that change are recorded in `tlb` and flushed everywhere.
///
/// Linux: change_protection() in mm/mprotect.c
pub fn change_protection(tlb: &mut MmuGather<'_>, vma: &VmAreaStruct, start: u64, end: u64) {
    let prot = vm_page_prot(vma);
    let private = !vma.vm_flags.contains(VmFlags::VM_SHARED);
    for_each_pte(&tlb.mm().pgd, start, end, |addr, pte| {
        let mut flags = prot;
        if private && !pte.flags().contains(F::WRITABLE) {
            flags -= F::WRITABLE;
        }
        if pte.flags() != flags {
            pte.set_flags(flags);
            tlb.tlb_flush_pte_range(addr);
        }
    });
}

/// Frees every user page and page-table page, then the top-level table.
/// Called only by `Pgd::drop`: the last owner of the tables is gone.
///
/// Linux: exit_mmap() / free_pgtables() in mm/mmap.c
fn free_pgtables(pgd: PhysFrame) {
    fn free_level(table: *mut PageTable, level: u32, limit: usize) {
        for i in 0..limit {
            // SAFETY: the `Pgd` is being dropped, so nothing else walks these
            // tables any more; `table` is one of its page-table pages.
            let entry = unsafe { &mut (&mut *table)[i] };
            if entry.is_unused() {
                continue;
            }
            if level > 0 {
                free_level(
                    table_at(PhysFrame::containing_address(entry.addr())),
                    level - 1,
                    512,
                );
            }
            pte_clear(entry);
        }
    }
    free_level(table_at(pgd), 3, 256);
    // SAFETY: the top-level table's reference came from `into_raw` in
    // pgd_alloc and is given back once, here.
    drop(unsafe { Page::from_raw(pgd) });
}

/// Whether `addr` in `mm` is mapped to a page, and which (for tests).
pub fn follow_page(mm: &MmStruct, addr: u64) -> Option<(PhysFrame, bool)> {
    let _st = mm.mmap.lock();
    let pte = walk(mm, addr, false).ok().flatten()?;
    // SAFETY: `pte` points into this mm's tables and we hold its lock.
    let pte = unsafe { &*pte };
    (!pte.is_unused()).then(|| {
        (
            PhysFrame::containing_address(pte.addr()),
            pte.flags().contains(F::WRITABLE),
        )
    })
}

#[cfg(feature = "ktest")]
mod tests;
