//! Reading and writing another process's memory: `/proc/<pid>/cmdline` and
//! `environ` read it, ptrace's PEEKDATA/POKEDATA and process_vm_readv/writev
//! read and write it.
//!
//! Linux: access_remote_vm() / access_process_vm() in mm/memory.c

use super::{handle_mm_fault_force, pte_page, walk};
use crate::mm::mm_types::{MmStruct, TASK_SIZE};
use crate::mm::{PAGE_SIZE, phys_to_virt};
use x86_64::structures::paging::PageTableFlags as F;

/// Copies the bytes of `mm` at `addr` into `buf` as far as they are mapped;
/// returns how many (short at the first page that is not).
///
/// Linux: access_remote_vm() in mm/memory.c
/// Differs: reads only pages already present; Linux faults the others in
/// with get_user_pages_remote() (an argument or environment page is always
/// present here: exec wrote it and nothing swaps).
pub fn access_remote_vm(mm: &MmStruct, addr: u64, buf: &mut [u8]) -> usize {
    let _mmap = mm.mmap.lock();
    let mut done = 0;
    while done < buf.len() {
        let Some(at) = addr.checked_add(done as u64).filter(|a| *a < TASK_SIZE) else {
            break;
        };
        let Some(n) = copy_page_part(mm, at, &mut buf[done..], false, false) else {
            break;
        };
        done += n;
    }
    done
}

/// Write to the pages, not read them (Linux: FOLL_WRITE).
pub const FOLL_WRITE: u32 = 0x01;
/// A debugger's access: a write to a private read-only mapping goes to
/// the process's own copy of the page (Linux: FOLL_FORCE).
pub const FOLL_FORCE: u32 = 0x10;

/// Reads (`gup_flags` without FOLL_WRITE) or writes (with it, from `buf`)
/// the memory of `mm` at `addr`, faulting pages in and breaking
/// copy-on-write as a fault by the process itself would; with FOLL_FORCE
/// a read reaches a PROT_NONE mapping and a write a private read-only or
/// PROT_NONE one too (a breakpoint in program text), never a shared
/// read-only one. Returns how many bytes it did (short at the first page
/// the mapping does not allow).
///
/// Linux: access_process_vm() / __access_remote_vm() in mm/memory.c, with
/// get_user_pages_remote(), check_vma_flags() and can_follow_write_pte()
/// in mm/gup.c
pub fn access_process_vm(mm: &MmStruct, addr: u64, buf: &mut [u8], gup_flags: u32) -> usize {
    let write = gup_flags & FOLL_WRITE != 0;
    let force = gup_flags & FOLL_FORCE != 0;
    let mut done = 0;
    while done < buf.len() {
        let Some(at) = addr.checked_add(done as u64).filter(|a| *a < TASK_SIZE) else {
            break;
        };
        let copied = {
            let _mmap = mm.mmap.lock();
            copy_page_part(mm, at, &mut buf[done..], write, force)
        };
        let n = match copied {
            Some(n) => n,
            None => {
                if handle_mm_fault_force(mm, at, write, false, force).is_err() {
                    break;
                }
                let _mmap = mm.mmap.lock();
                match copy_page_part(mm, at, &mut buf[done..], write, force) {
                    Some(n) => n,
                    None => break,
                }
            }
        };
        done += n;
    }
    done
}

/// Copies between `buf` and the page of `mm` holding `at`, up to the end
/// of that page; `None` when the page is not present, or not the user's
/// (PROT_NONE) unless `force`, or, for a write, not writable (see
/// can_follow_write_pte). The caller holds `mm.mmap`.
///
/// Linux: follow_page_pte() in mm/gup.c, which follows a PROT_NONE entry
/// for a forced access (gup_can_follow_protnone)
fn copy_page_part(
    mm: &MmStruct,
    at: u64,
    buf: &mut [u8],
    write: bool,
    force: bool,
) -> Option<usize> {
    let pte = walk(mm, at, false).ok().flatten()?;
    // SAFETY: `pte` points into this mm's tables and the caller holds its
    // lock, so the entry and the page it maps stay while we copy.
    let pte = unsafe { &*pte };
    let user = pte.flags().contains(F::USER_ACCESSIBLE);
    if !pte.flags().contains(F::PRESENT)
        || !user && !force
        || write && !can_follow_write_pte(pte, force)
    {
        return None;
    }
    let offset = (at % PAGE_SIZE as u64) as usize;
    let n = (PAGE_SIZE - offset).min(buf.len());
    let page = phys_to_virt(pte.addr()).as_mut_ptr::<u8>();
    if write {
        // SAFETY: the frame is mapped at PAGE_OFFSET, held by the PTE under
        // the mm's lock, and writable or this mm's own copy: no
        // copy-on-write sharer sees it;
        // [offset, offset + n) lies inside it and `buf` is kernel memory.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), page.add(offset), n) };
    } else {
        // SAFETY: as above, reading; a concurrent write by the process only
        // changes which bytes are read, as for read_bytes().
        unsafe { core::ptr::copy_nonoverlapping(page.add(offset), buf.as_mut_ptr(), n) };
    }
    Some(n)
}

/// Whether a write may go to the page `pte` maps: it is writable, or,
/// for a forced write, read-only but this mm's alone (a private mapping's
/// page after the forced fault copied it: no page cache, no fork sharer).
///
/// Linux: can_follow_write_pte() in mm/gup.c
/// Differs: "the mm's alone" is a page count of 1, where Linux checks
/// PageAnonExclusive and a dirty PTE.
fn can_follow_write_pte(
    pte: &x86_64::structures::paging::page_table::PageTableEntry,
    force: bool,
) -> bool {
    pte.flags().contains(F::WRITABLE) || force && pte_page(pte).page_count() == 1
}
