//! tmpfs: files created at run time keep their bytes in page-cache pages
//! from the page allocator (`mm::filemap::AddressSpace`), never in the
//! kernel heap. Each instance has its own limits, half of RAM in pages and
//! as many inodes, as a tmpfs mount without size= has: the root file
//! system, /tmp and /dev/shm are three, and filling one leaves the others
//! their room. Past the limit a write gets ENOSPC; statfs reports it. The
//! internal instance that holds SysV segments has no limit (a kernel
//! mount's), only shmall's.
//!
//! Linux: mm/shmem.c (struct shmem_sb_info, shmem_write_begin,
//! shmem_inode_acct_blocks, shmem_default_max_blocks, shmem_statfs, shm_mnt)
//! Differs: the instances are fixed at boot (no mount(2), no size=); no
//! swap. The file lives in fs/ because it needs no unsafe code.

use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::filemap::AddressSpace;
use crate::mm::page_alloc::totalram_pages;
use core::sync::atomic::{AtomicUsize, Ordering};

/// One tmpfs instance and what its files use (Linux: `struct shmem_sb_info`).
pub struct ShmemSbInfo {
    /// Whether it has tmpfs's default limits; a kernel mount has none.
    limited: bool,
    /// Pages its files hold (Linux: used_blocks).
    used_blocks: AtomicUsize,
    /// Inodes made in it at run time (Linux: max_inodes - free_ispace).
    used_inodes: AtomicUsize,
}

/// The root file system's run-time files (Linux: rootfs, a tmpfs when
/// the kernel unpacks an initramfs into it).
pub static ROOTFS_SB: ShmemSbInfo = ShmemSbInfo::new(true);
/// The tmpfs mounted on /tmp.
pub static TMP_SB: ShmemSbInfo = ShmemSbInfo::new(true);
/// The tmpfs mounted on /dev/shm (POSIX shared memory).
pub static DEV_SHM_SB: ShmemSbInfo = ShmemSbInfo::new(true);
/// The internal instance of SysV segments (Linux: shm_mnt, a kern_mount).
pub static SHM_MNT_SB: ShmemSbInfo = ShmemSbInfo::new(false);

impl ShmemSbInfo {
    const fn new(limited: bool) -> ShmemSbInfo {
        ShmemSbInfo {
            limited,
            used_blocks: AtomicUsize::new(0),
            used_inodes: AtomicUsize::new(0),
        }
    }

    /// The most pages: half of RAM, tmpfs's default `size=`.
    ///
    /// Linux: shmem_default_max_blocks() in mm/shmem.c
    pub fn max_blocks(&self) -> usize {
        match self.limited {
            true => totalram_pages() / 2,
            false => usize::MAX / PAGE_SIZE,
        }
    }

    /// The most inodes: as many as max_blocks, which also bounds the kernel
    /// heap that names and inodes take.
    ///
    /// Linux: shmem_default_max_inodes() in mm/shmem.c
    /// Differs: Linux takes the smaller of that and lowmem pages / 2.
    pub fn max_inodes(&self) -> usize {
        self.max_blocks()
    }

    /// Pages its files hold now.
    pub fn used_blocks(&self) -> usize {
        self.used_blocks.load(Ordering::Relaxed)
    }

    /// Inodes made in it that still exist.
    pub fn used_inodes(&self) -> usize {
        self.used_inodes.load(Ordering::Relaxed)
    }

    /// Charges one more page against the limit.
    ///
    /// Linux: shmem_inode_acct_blocks() in mm/shmem.c
    ///
    /// # Errors
    /// `ENOSPC` at the limit.
    pub fn inode_acct_block(&self) -> Result<(), Errno> {
        charge(&self.used_blocks, self.max_blocks())
    }

    /// Gives back `n` pages (truncate, the file's end).
    ///
    /// Linux: shmem_inode_unacct_blocks() in mm/shmem.c
    pub fn inode_unacct_blocks(&self, n: usize) {
        self.used_blocks.fetch_sub(n, Ordering::Relaxed);
    }

    /// Takes one of its inodes.
    ///
    /// Linux: shmem_reserve_inode() in mm/shmem.c
    ///
    /// # Errors
    /// `ENOSPC` when all are taken.
    pub fn reserve_inode(&self) -> Result<(), Errno> {
        charge(&self.used_inodes, self.max_inodes())
    }

    /// Gives one back.
    ///
    /// Linux: shmem_free_inode() in mm/shmem.c
    pub fn free_inode(&self) {
        self.used_inodes.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Adds one to `used` unless it is at `max`.
fn charge(used: &AtomicUsize, max: usize) -> Result<(), Errno> {
    used.try_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
        (n < max).then_some(n + 1)
    })
    .map(drop)
    .map_err(|_| Errno::ENOSPC)
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
    let limit = (file.shmem_sb().max_blocks() * PAGE_SIZE) as u64;
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
    if end > (file.shmem_sb().max_blocks() * PAGE_SIZE) as u64 {
        return Err(Errno::EFBIG);
    }
    file.fallocate(offset, end, keep_size)
}

/// The largest file size (Linux: MAX_LFS_FILESIZE).
pub const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::mm::page_alloc::nr_free_pages;
    use crate::{kassert_eq, ktest};

    ktest! {
        fn a_write_across_pages_reads_back_and_truncate_frees_the_pages() {
            let before = nr_free_pages();
            let file = AddressSpace::shmem(&TMP_SB);
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
            let file = AddressSpace::shmem(&TMP_SB);
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
            let file = AddressSpace::shmem(&TMP_SB);
            let past = (TMP_SB.max_blocks() * PAGE_SIZE) as u64;
            kassert_eq!(shmem_write(&file, b"x", past), Err(Errno::ENOSPC));
            kassert_eq!(shmem_write(&file, b"x", u64::MAX), Err(Errno::EFBIG));
            kassert_eq!(nr_free_pages(), before);
        }
    }

    ktest! {
        fn truncate_frees_the_pages_past_the_end_and_fallocate_fills_a_hole() {
            let before = nr_free_pages();
            let file = AddressSpace::shmem(&TMP_SB);
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
