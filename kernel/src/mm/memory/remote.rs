//! Reading another process's memory, for `/proc/<pid>/cmdline` and `environ`.
//!
//! Linux: access_remote_vm() in mm/memory.c

use super::walk;
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
        let Ok(Some(pte)) = walk(mm, at, false) else {
            break;
        };
        // SAFETY: `pte` points into this mm's tables and we hold its lock,
        // so the entry and the page it maps stay while we copy.
        let pte = unsafe { &*pte };
        if !pte.flags().contains(F::PRESENT | F::USER_ACCESSIBLE) {
            break;
        }
        let offset = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - offset).min(buf.len() - done);
        let src = phys_to_virt(pte.addr()).as_ptr::<u8>();
        // SAFETY: the frame is mapped at PAGE_OFFSET and held by the PTE
        // (under the mm's lock); [offset, offset + n) lies inside it and
        // `buf` is kernel memory, not that page. A concurrent write by the
        // process only changes which bytes are read, as for read_bytes().
        unsafe { core::ptr::copy_nonoverlapping(src.add(offset), buf[done..].as_mut_ptr(), n) };
        done += n;
    }
    done
}
