//! Reading and writing another process's memory: `/proc/<pid>/cmdline` and
//! `environ` read it, ptrace's PEEKDATA/POKEDATA and process_vm_readv/writev
//! read and write it.
//!
//! Linux: access_remote_vm() / access_process_vm() in mm/memory.c

use super::{handle_mm_fault, walk};
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
        let Some(n) = copy_page_part(mm, at, &mut buf[done..], false) else {
            break;
        };
        done += n;
    }
    done
}

/// Reads (`write` false) or writes (`write` true, from `buf`) the memory
/// of `mm` at `addr`, faulting pages in and breaking copy-on-write as a
/// fault by the process itself would; returns how many bytes it did
/// (short at the first page the mapping does not allow).
///
/// Linux: access_process_vm() / __access_remote_vm() in mm/memory.c, with
/// get_user_pages_remote()
/// Differs: no FOLL_FORCE: a debugger cannot write to a read-only mapping
/// (Linux lets it, through a private copy of the page).
pub fn access_process_vm(mm: &MmStruct, addr: u64, buf: &mut [u8], write: bool) -> usize {
    let mut done = 0;
    while done < buf.len() {
        let Some(at) = addr.checked_add(done as u64).filter(|a| *a < TASK_SIZE) else {
            break;
        };
        let copied = {
            let _mmap = mm.mmap.lock();
            copy_page_part(mm, at, &mut buf[done..], write)
        };
        let n = match copied {
            Some(n) => n,
            None => {
                if handle_mm_fault(mm, at, write, false).is_err() {
                    break;
                }
                let _mmap = mm.mmap.lock();
                match copy_page_part(mm, at, &mut buf[done..], write) {
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
/// of that page; `None` when the page is not present (or, for a write,
/// not writable). The caller holds `mm.mmap`.
fn copy_page_part(mm: &MmStruct, at: u64, buf: &mut [u8], write: bool) -> Option<usize> {
    let pte = walk(mm, at, false).ok().flatten()?;
    // SAFETY: `pte` points into this mm's tables and the caller holds its
    // lock, so the entry and the page it maps stay while we copy.
    let pte = unsafe { &*pte };
    let need = if write {
        F::PRESENT | F::USER_ACCESSIBLE | F::WRITABLE
    } else {
        F::PRESENT | F::USER_ACCESSIBLE
    };
    if !pte.flags().contains(need) {
        return None;
    }
    let offset = (at % PAGE_SIZE as u64) as usize;
    let n = (PAGE_SIZE - offset).min(buf.len());
    let page = phys_to_virt(pte.addr()).as_mut_ptr::<u8>();
    if write {
        // SAFETY: the frame is mapped at PAGE_OFFSET, held by the PTE under
        // the mm's lock, and writable: no copy-on-write sharer sees it;
        // [offset, offset + n) lies inside it and `buf` is kernel memory.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), page.add(offset), n) };
    } else {
        // SAFETY: as above, reading; a concurrent write by the process only
        // changes which bytes are read, as for read_bytes().
        unsafe { core::ptr::copy_nonoverlapping(page.add(offset), buf.as_mut_ptr(), n) };
    }
    Some(n)
}
