//! tmpfs: files created at run time (in /tmp, /dev/shm, anywhere in the
//! root) keep their bytes in page-cache pages from the page allocator
//! (`mm::filemap::AddressSpace`), never in the kernel heap. Like a tmpfs
//! mount, all such files together may hold at most half of RAM; past that
//! a write gets ENOSPC, and statfs reports the limit.
//!
//! Linux: mm/shmem.c (shmem_write_begin, shmem_inode_acct_blocks, the
//! size= limit of a tmpfs mount, shmem_statfs)
//! Differs: one tmpfs instance holds every run-time file (Linux mounts /tmp
//! and /dev/shm separately, each with its own limit); no swap. The file
//! lives in fs/ because it needs no unsafe code.

use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::filemap::AddressSpace;
use crate::mm::page_alloc::totalram_pages;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Pages all run-time files hold (Linux: sbinfo->used_blocks).
static SHMEM_USED_PAGES: AtomicUsize = AtomicUsize::new(0);

/// The limit on those pages: half of RAM, tmpfs's default `size=`.
///
/// Linux: shmem_default_max_blocks() in mm/shmem.c
pub fn shmem_max_pages() -> usize {
    totalram_pages() / 2
}

/// Pages tmpfs files hold now.
pub fn shmem_used_pages() -> usize {
    SHMEM_USED_PAGES.load(Ordering::Relaxed)
}

/// Charges one more page against the limit.
///
/// Linux: shmem_inode_acct_blocks() in mm/shmem.c
///
/// # Errors
/// `ENOSPC` at the limit.
pub fn shmem_inode_acct_block() -> Result<(), Errno> {
    SHMEM_USED_PAGES
        .try_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            (used < shmem_max_pages()).then_some(used + 1)
        })
        .map(drop)
        .map_err(|_| Errno::ENOSPC)
}

/// Gives back `n` pages (truncate, the file's end).
///
/// Linux: shmem_inode_unacct_blocks() in mm/shmem.c
pub fn shmem_inode_unacct_blocks(n: usize) {
    SHMEM_USED_PAGES.fetch_sub(n, Ordering::Relaxed);
}

/// Copies `buf` into a tmpfs file at `pos`; returns how many bytes went
/// in, which is short only when the file could not grow further.
///
/// Linux: shmem_file_write_iter() -> generic_perform_write() in mm/shmem.c
///
/// # Errors
/// `EFBIG` past the largest file size; `ENOSPC` past the limit (no page
/// past it can ever be had), `ENOMEM` without free pages, when nothing
/// could be written.
pub fn shmem_write(file: &AddressSpace, buf: &[u8], pos: u64) -> Result<usize, Errno> {
    if pos
        .checked_add(buf.len() as u64)
        .is_none_or(|end| end > MAX_LFS_FILESIZE)
    {
        return Err(Errno::EFBIG);
    }
    let limit = (shmem_max_pages() * PAGE_SIZE) as u64;
    if pos >= limit && !buf.is_empty() {
        return Err(Errno::ENOSPC);
    }
    let len = buf.len().min((limit - pos) as usize);
    file.generic_perform_write(&buf[..len], pos)
}

/// Gives a tmpfs file pages for every byte of [offset, end), growing its
/// size to `end` unless `keep_size`.
///
/// Linux: shmem_fallocate() in mm/shmem.c
///
/// # Errors
/// `EFBIG` past the tmpfs limit; `ENOSPC` when it is full; `ENOMEM`;
/// `EINTR` for a fatal signal. The pages added stay.
pub fn shmem_fallocate(
    file: &AddressSpace,
    offset: u64,
    end: u64,
    keep_size: bool,
) -> Result<(), Errno> {
    if end > (shmem_max_pages() * PAGE_SIZE) as u64 {
        return Err(Errno::EFBIG);
    }
    file.fallocate(offset, end, keep_size)
}

/// The largest file size (Linux: MAX_LFS_FILESIZE).
pub const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

mod tests {
    use super::*;
    use crate::mm::page_alloc::nr_free_pages;
    use crate::{kassert_eq, ktest};

    ktest! {
        fn a_write_across_pages_reads_back_and_truncate_frees_the_pages() {
            let before = nr_free_pages();
            let file = AddressSpace::shmem();
            let data = [0x5au8; 6000];
            kassert_eq!(shmem_write(&file, &data, 3000), Ok(6000));
            kassert_eq!(file.i_size(), 9000);
            kassert_eq!(nr_free_pages(), before - 3, "three pages hold 9000 bytes");
            let mut back = [0u8; 7000];
            kassert_eq!(file.filemap_read(&mut back, 2000), Ok(7000));
            kassert_eq!((back[999], back[1000], back[6999]), (0, 0x5a, 0x5a));
            file.truncate_setsize(0);
            kassert_eq!((file.i_size(), nr_free_pages()), (0, before));
        }
    }

    ktest! {
        fn a_hole_reads_as_zeroes_and_takes_no_page() {
            let before = nr_free_pages();
            let file = AddressSpace::shmem();
            kassert_eq!(shmem_write(&file, b"x", 10 * PAGE_SIZE as u64), Ok(1));
            kassert_eq!(nr_free_pages(), before - 1, "only the written page");
            let mut back = [1u8; 8];
            kassert_eq!(file.filemap_read(&mut back, 0), Ok(8));
            kassert_eq!(back, [0; 8]);
        }
    }

    ktest! {
        fn a_write_past_the_tmpfs_limit_is_enospc_past_the_largest_file_efbig_and_takes_no_page() {
            let before = nr_free_pages();
            let file = AddressSpace::shmem();
            let past = (shmem_max_pages() * PAGE_SIZE) as u64;
            kassert_eq!(shmem_write(&file, b"x", past), Err(Errno::ENOSPC));
            kassert_eq!(shmem_write(&file, b"x", u64::MAX), Err(Errno::EFBIG));
            kassert_eq!(nr_free_pages(), before);
        }
    }

    ktest! {
        fn truncate_frees_the_pages_past_the_end_and_fallocate_fills_a_hole() {
            let before = nr_free_pages();
            let file = AddressSpace::shmem();
            kassert_eq!(shmem_write(&file, &[0x5au8; 9000], 0), Ok(9000));
            file.truncate_setsize(5000);
            kassert_eq!(nr_free_pages(), before - 2, "two pages hold 5000 bytes");
            kassert_eq!(shmem_fallocate(&file, 0, 1 << 20, true), Ok(()));
            kassert_eq!(file.i_size(), 5000, "FALLOC_FL_KEEP_SIZE");
            kassert_eq!(nr_free_pages(), before - 256, "a page for each of 1 MiB");
            let mut back = [1u8; 8];
            kassert_eq!(file.filemap_read(&mut back, 4996), Ok(4));
            kassert_eq!(back[..4], [0x5a; 4]);
            file.truncate_setsize(0);
            kassert_eq!((file.nrpages(), nr_free_pages()), (0, before));
        }
    }
}
