//! Faults on file mappings, and unmapping a file's pages when it shrinks.
//!
//! ```text
//!  read fault            map the page-cache page (read-only if private)
//!                        and its cached neighbours (fault-around)
//!  write fault, private  copy the page-cache page: the copy is the
//!                        process's own, the file is unchanged (do_cow_fault)
//!  write fault, shared   map the page-cache page writable: write() and
//!                        read() of the file see the same bytes
//!  past the file's end   SIGBUS (EIO here)
//! ```
//!
//! Linux: do_fault(), do_read_fault(), do_cow_fault(), do_shared_fault(),
//! do_fault_around() and unmap_mapping_range() in mm/memory.c

use super::super::PAGE_SIZE;
use super::super::filemap::{AddressSpace, FilePage, filemap_fault};
use super::super::mm_types::{MmStruct, VmAreaStruct, VmBacking, VmFile, VmFlags};
use super::super::mmu_gather::tlb_gather_mmu;
use super::super::oom_kill::retry_after_oom;
use super::super::page_alloc::{Page, alloc_page, get_zeroed_page};
use super::{F, PageTableEntry, set_pte, vm_page_prot, walk, zap_page_range};
use crate::errno::Errno;
use alloc::sync::Arc;

/// Bytes around a read fault that are mapped at once when their pages are
/// cached (Linux: fault_around_bytes, 64 KiB).
const FAULT_AROUND_BYTES: u64 = 65536;

/// The protection a page-cache page gets in `vma`: a private mapping never
/// maps it writable, so that the first write copies it.
fn file_page_prot(vma: &VmAreaStruct) -> F {
    match vma.vm_flags.contains(VmFlags::VM_SHARED) {
        true => vm_page_prot(vma),
        false => vm_page_prot(vma) - F::WRITABLE,
    }
}

/// Maps the page of a file mapping at `addr`.
///
/// Linux: do_fault() in mm/memory.c
///
/// # Errors
/// `EIO` past the end of the file (SIGBUS), `ENOMEM`, `ENOSPC` (a tmpfs
/// hole written through a shared mapping past the tmpfs limit: SIGBUS in
/// Linux too).
pub(super) fn do_fault(
    mm: &MmStruct,
    vma: &VmAreaStruct,
    file: &VmFile,
    addr: u64,
    pte: &mut PageTableEntry,
    write: bool,
) -> Result<(), Errno> {
    let offset = addr - vma.vm_start;
    if offset >= file.len {
        // The .bss of an ELF segment, past its file bytes.
        set_pte(mm, vma, pte, get_zeroed_page()?.share(), vm_page_prot(vma));
        return Ok(());
    }
    let pos = file.pgoff.checked_add(offset).ok_or(Errno::EIO)?;
    let page = match filemap_fault(&file.mapping, pos, file.len - offset) {
        Ok(FilePage::Cached(page)) => page,
        Ok(FilePage::Partial(page)) => {
            set_pte(mm, vma, pte, page, vm_page_prot(vma));
            return Ok(());
        }
        Ok(FilePage::Beyond) => return Err(Errno::EIO),
        Err(Errno::ENOSPC) => return Err(Errno::EIO),
        Err(e) => return Err(e),
    };
    if write && !vma.vm_flags.contains(VmFlags::VM_SHARED) {
        return do_cow_fault(mm, vma, pte, &page);
    }
    set_pte(mm, vma, pte, page, file_page_prot(vma));
    if !write {
        do_fault_around(mm, vma, file, addr);
    }
    Ok(())
}

/// A first write to a private file mapping: the process gets its own copy
/// of the page-cache page.
///
/// Linux: do_cow_fault() in mm/memory.c
fn do_cow_fault(
    mm: &MmStruct,
    vma: &VmAreaStruct,
    pte: &mut PageTableEntry,
    page: &Page,
) -> Result<(), Errno> {
    let mut copy = alloc_page()?;
    copy.copy_page(page);
    set_pte(mm, vma, pte, copy.share(), vm_page_prot(vma));
    Ok(())
}

/// Maps the cached pages of the file around a read fault, in the same
/// 64 KiB-aligned window and page table, so that a program that runs its
/// text from the page cache takes one fault per window, not per page.
/// Pages not cached are left to their own faults.
///
/// Linux: do_fault_around() -> filemap_map_pages() in mm/memory.c and mm/filemap.c
fn do_fault_around(mm: &MmStruct, vma: &VmAreaStruct, file: &VmFile, addr: u64) {
    let window_start = (addr & !(FAULT_AROUND_BYTES - 1)).max(vma.vm_start);
    let window_end = ((addr | (FAULT_AROUND_BYTES - 1)) + 1).min(vma.vm_end);
    let pages_in_file = file.mapping.i_size().div_ceil(PAGE_SIZE as u64);
    let prot = file_page_prot(vma);
    for at in (window_start..window_end).step_by(PAGE_SIZE) {
        let offset = at - vma.vm_start;
        if at == addr || offset + PAGE_SIZE as u64 > file.len {
            continue;
        }
        let index = (file.pgoff + offset) / PAGE_SIZE as u64;
        if index >= pages_in_file {
            break;
        }
        let Ok(Some(pte)) = walk(mm, at, false) else {
            continue;
        };
        // SAFETY: `pte` points into this mm's page tables and the caller
        // holds its lock.
        let pte = unsafe { &mut *pte };
        if !pte.is_unused() {
            continue;
        }
        if let Some(page) = file.mapping.find_get_page(index as usize) {
            set_pte(mm, vma, pte, page, prot);
        }
    }
}

/// Unmaps, in every process that maps `mapping`, the pages at file
/// offsets from `holebegin` on, private copies included, so that the next
/// access there faults (and gets SIGBUS past the file's new end).
///
/// The walk takes the i_mmap lock for one entry at a time (each mm's own
/// lock is taken after it, never inside it, see `vma_link_file`), and runs
/// again while the list changed under it: a fork that linked its child
/// after the walk passed copied the parent's entries before they were
/// unmapped, so the child must be looked at too. A fork that links its
/// child later copies the page tables after the parent's were unmapped.
///
/// Linux: unmap_mapping_range() in mm/memory.c
/// Differs: Linux holds i_mmap_rwsem across the walk, and fork takes it for
/// writing after the parent's mmap_lock; our zap takes the mm's one lock,
/// so we cannot hold the list's lock around it and walk again instead.
pub fn unmap_mapping_range(mapping: &AddressSpace, holebegin: u64) {
    loop {
        let generation = mapping.i_mmap_generation();
        let mut i = 0;
        while let Ok(mm) = mapping.i_mmap_get(i) {
            if let Some(mm) = mm {
                // Out of memory for the list of pages to free: the OOM
                // killer makes room, or the pages stay mapped (readable
                // past the end rather than SIGBUS) in a dying process.
                let _ = retry_after_oom(|| unmap_mapping_range_mm(&mm, mapping, holebegin));
            }
            i += 1;
        }
        if mapping.i_mmap_generation() == generation {
            return;
        }
    }
}

/// The part of [`unmap_mapping_range`] for one address space.
///
/// Linux: unmap_mapping_range_tree() in mm/memory.c
///
/// # Errors
/// `ENOMEM` when the pages to let go cannot be gathered; nothing more is
/// unmapped.
fn unmap_mapping_range_mm(
    mm: &MmStruct,
    mapping: &AddressSpace,
    holebegin: u64,
) -> Result<(), Errno> {
    let mut tlb = tlb_gather_mmu(mm);
    let st = tlb.lock_mmap();
    for vma in &st.vmas {
        let VmBacking::File(file) = &vma.backing else {
            continue;
        };
        if !core::ptr::eq(Arc::as_ptr(&file.mapping), mapping)
            || file.pgoff + (vma.vm_end - vma.vm_start) <= holebegin
        {
            continue;
        }
        let start = vma.vm_start + holebegin.saturating_sub(file.pgoff);
        zap_page_range(&mut tlb, vma, start, vma.vm_end)?;
    }
    Ok(())
}
