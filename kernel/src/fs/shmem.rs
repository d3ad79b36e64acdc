//! The bytes of a file created at run time (in /tmp, say): pages from the
//! page allocator owned by the file, freed on truncate and when the last
//! reference to the inode goes (unlink plus close). Like tmpfs, all such
//! files together may hold at most half of RAM; past that a write gets
//! ENOSPC.
//!
//! Linux: mm/shmem.c (shmem_write_begin, shmem_file_read_iter,
//! shmem_truncate_range, the size= limit of a tmpfs mount)
//! Differs: no page cache or swap; holes are not sparse: a write past the
//! end fills the gap with zeroed pages, which count against the limit. The
//! file lives in fs/ because it needs no unsafe code.

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::page_alloc::{OwnedPage, totalram_pages};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Pages all run-time files hold (Linux: sbinfo->used_blocks).
static SHMEM_USED_PAGES: AtomicUsize = AtomicUsize::new(0);

/// The limit on those pages: half of RAM, tmpfs's default `size=`.
///
/// Linux: shmem_default_max_blocks() in mm/shmem.c
fn shmem_max_pages() -> usize {
    totalram_pages() / 2
}

/// How far one locked step of shmem_write() got, in bytes.
enum Step {
    Wrote(usize),
    NeedPage(usize),
    Failed(usize, Errno),
}

/// Copies `buf` into `file` at `pos`, growing it a page at a time; returns
/// how many bytes went in, which is short only when the file could not grow
/// further. Pages are allocated with the file's lock dropped.
///
/// Linux: generic_perform_write() with shmem_write_begin() in mm/shmem.c
///
/// # Errors
/// `EFBIG` for a position past the tmpfs limit; `ENOSPC` past the limit,
/// `ENOMEM` without free pages, when nothing could be written.
pub fn shmem_write(file: &SpinLock<ShmemFile>, buf: &[u8], pos: u64) -> Result<usize, Errno> {
    let limit = shmem_max_pages() * PAGE_SIZE;
    let pos = usize::try_from(pos)
        .ok()
        .filter(|&p| p < limit || buf.is_empty())
        .ok_or(Errno::EFBIG)?;
    pos.checked_add(buf.len()).ok_or(Errno::EFBIG)?;
    let mut done = 0;
    let mut spare = None;
    let so_far = |done, e| if done > 0 { Ok(done) } else { Err(e) };
    while done < buf.len() {
        match file.lock().write_step(&buf[done..], pos + done, &mut spare) {
            Step::Wrote(n) => done += n,
            Step::NeedPage(n) => {
                done += n;
                match OwnedPage::zeroed() {
                    Ok(page) => spare = Some(page),
                    Err(e) => return so_far(done, e),
                }
            }
            Step::Failed(n, e) => return so_far(done + n, e),
        }
    }
    Ok(done)
}

/// A regular file's contents.
#[derive(Default)]
pub struct ShmemFile {
    pages: Vec<OwnedPage>,
    size: usize,
}

impl ShmemFile {
    /// The file's size in bytes (Linux: i_size).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Pages the file holds (Linux: inode->i_blocks in pages).
    pub fn nr_pages(&self) -> usize {
        self.pages.len()
    }

    /// Copies bytes from `pos` into `buf`; returns how many (0 at the end).
    ///
    /// Linux: shmem_file_read_iter() in mm/shmem.c
    pub fn read(&self, buf: &mut [u8], pos: u64) -> usize {
        let Ok(pos) = usize::try_from(pos) else {
            return 0;
        };
        let end = self.size.min(pos.saturating_add(buf.len()));
        let mut at = pos;
        while at < end {
            let (index, offset) = (at / PAGE_SIZE, at % PAGE_SIZE);
            let n = (PAGE_SIZE - offset).min(end - at);
            let dst = &mut buf[at - pos..at - pos + n];
            // Past the last page, up to a size set by ftruncate, is a hole.
            match self.pages.get(index) {
                Some(page) => dst.copy_from_slice(&page.as_bytes()[offset..offset + n]),
                None => dst.fill(0),
            }
            at += n;
        }
        end.saturating_sub(pos)
    }

    /// Adds `page` (zeroed) at the end, charged against the tmpfs limit.
    ///
    /// Linux: shmem_alloc_and_add_folio() / shmem_inode_acct_blocks() in mm/shmem.c
    fn add_page(&mut self, page: OwnedPage) -> Result<(), Errno> {
        let used = SHMEM_USED_PAGES.fetch_add(1, Ordering::Relaxed);
        let unacct = |e| {
            SHMEM_USED_PAGES.fetch_sub(1, Ordering::Relaxed);
            e
        };
        if used >= shmem_max_pages() {
            return Err(unacct(Errno::ENOSPC));
        }
        self.pages
            .try_reserve(1)
            .map_err(|_| unacct(Errno::ENOMEM))?;
        self.pages.push(page);
        Ok(())
    }

    /// Copies as much of `buf` in at `pos` as the file's pages and the one
    /// `spare` page allow.
    fn write_step(&mut self, buf: &[u8], pos: usize, spare: &mut Option<OwnedPage>) -> Step {
        let mut at = pos;
        while at - pos < buf.len() {
            let (index, offset) = (at / PAGE_SIZE, at % PAGE_SIZE);
            while self.pages.len() <= index {
                let Some(page) = spare.take() else {
                    return Step::NeedPage(at - pos);
                };
                if let Err(e) = self.add_page(page) {
                    return Step::Failed(at - pos, e);
                }
            }
            let n = (PAGE_SIZE - offset).min(buf.len() - (at - pos));
            let dst = &mut self.pages[index].as_bytes_mut()[offset..offset + n];
            dst.copy_from_slice(&buf[at - pos..at - pos + n]);
            at += n;
            self.size = self.size.max(at);
        }
        Step::Wrote(at - pos)
    }

    /// Drops every page.
    ///
    /// Linux: shmem_truncate_range() in mm/shmem.c
    pub fn truncate(&mut self) {
        self.set_size(0);
    }

    /// Sets the size: a smaller one frees the pages past it and zeroes the
    /// rest of the last page, so that growing again reads zeros; a larger
    /// one adds a hole, which takes no page until written.
    ///
    /// Linux: shmem_setattr() -> truncate_setsize() + shmem_truncate_range()
    /// in mm/shmem.c, mm/truncate.c
    pub fn set_size(&mut self, size: usize) {
        let keep = size.div_ceil(PAGE_SIZE);
        if keep < self.pages.len() {
            SHMEM_USED_PAGES.fetch_sub(self.pages.len() - keep, Ordering::Relaxed);
            self.pages.truncate(keep);
        }
        if let (Some(last), true) = (self.pages.last_mut(), !size.is_multiple_of(PAGE_SIZE)) {
            last.as_bytes_mut()[size % PAGE_SIZE..].fill(0);
        }
        self.size = size;
    }
}

/// Gives `file` pages for every byte below `end`, growing its size to
/// `end` unless `keep_size`; returns how far the pages reach.
///
/// Linux: shmem_fallocate() in mm/shmem.c
/// Differs: files are not sparse here, so the pages asked for come with
/// every page before them.
///
/// # Errors
/// `EFBIG` past the tmpfs limit, `ENOSPC` when it is full, `ENOMEM`; the
/// pages added stay.
pub fn shmem_fallocate(
    file: &SpinLock<ShmemFile>,
    end: usize,
    keep_size: bool,
) -> Result<(), Errno> {
    if end > shmem_max_pages() * PAGE_SIZE {
        return Err(Errno::EFBIG);
    }
    let want = end.div_ceil(PAGE_SIZE);
    while file.lock().pages.len() < want {
        let page = OwnedPage::zeroed()?;
        let mut file = file.lock();
        if file.pages.len() < want {
            file.add_page(page)?;
        }
    }
    let mut file = file.lock();
    if !keep_size && end > file.size {
        file.size = end;
    }
    Ok(())
}

impl Drop for ShmemFile {
    /// Linux: shmem_evict_inode() in mm/shmem.c
    fn drop(&mut self) {
        self.truncate();
    }
}

mod tests {
    use super::*;
    use crate::mm::page_alloc::nr_free_pages;
    use crate::{kassert_eq, ktest};

    ktest! {
        fn a_write_across_pages_reads_back_and_truncate_frees_the_pages() {
            let before = nr_free_pages();
            let file = SpinLock::new(ShmemFile::default());
            let data = [0x5au8; 6000];
            kassert_eq!(shmem_write(&file, &data, 3000), Ok(6000));
            let mut file = file.lock();
            kassert_eq!(file.size(), 9000);
            kassert_eq!(nr_free_pages(), before - 3, "three pages hold 9000 bytes");
            let mut back = [0u8; 7000];
            kassert_eq!(file.read(&mut back, 2000), 7000);
            kassert_eq!((back[999], back[1000], back[6999]), (0, 0x5a, 0x5a));
            file.truncate();
            kassert_eq!((file.size(), nr_free_pages()), (0, before));
        }
    }

    ktest! {
        fn a_write_past_the_tmpfs_limit_is_efbig_and_takes_no_page() {
            let before = nr_free_pages();
            let file = SpinLock::new(ShmemFile::default());
            let past = (shmem_max_pages() * PAGE_SIZE) as u64;
            kassert_eq!(shmem_write(&file, b"x", past), Err(Errno::EFBIG));
            kassert_eq!(shmem_write(&file, b"x", u64::MAX), Err(Errno::EFBIG));
            kassert_eq!(nr_free_pages(), before);
        }
    }

    ktest! {
        fn set_size_frees_the_pages_past_the_end_and_a_hole_reads_as_zeros() {
            let before = nr_free_pages();
            let file = SpinLock::new(ShmemFile::default());
            kassert_eq!(shmem_write(&file, &[0x5au8; 9000], 0), Ok(9000));
            let mut file = file.lock();
            file.set_size(5000);
            kassert_eq!(nr_free_pages(), before - 2, "two pages hold 5000 bytes");
            file.set_size(1 << 30);
            kassert_eq!(nr_free_pages(), before - 2, "growing makes a hole, not pages");
            let mut back = [1u8; 8];
            kassert_eq!(file.read(&mut back, 4996), 8);
            kassert_eq!(back, [0x5a, 0x5a, 0x5a, 0x5a, 0, 0, 0, 0]);
            kassert_eq!(file.read(&mut back, (1 << 30) - 4), 4);
            kassert_eq!(back[..4], [0u8; 4]);
            file.set_size(0);
            kassert_eq!((file.nr_pages(), nr_free_pages()), (0, before));
        }
    }
}
