//! The page cache: a regular file's bytes live in pages the file owns,
//! found by page index. read() and write() copy through them; mmap and
//! exec map them (see `memory.rs`), so every process that maps a file sees
//! the same page, and a second exec of a program finds its pages in memory.
//!
//! ```text
//!  AddressSpace (one per regular file)      page frames (refcounted Page)
//!  i_pages[0] ──────────────────────────────> [count 1 + one per PTE]
//!  i_pages[1]  None: a tmpfs hole, or an initramfs page not read yet
//!  i_size
//! ```
//!
//! Linux: mm/filemap.c (filemap_read, filemap_fault, filemap_map_pages,
//! find_get_page), mm/truncate.c (truncate_setsize, truncate_pagecache),
//! include/linux/fs.h (struct address_space)
//! Differs: pages are never reclaimed (no LRU, no writeback): an initramfs
//! file's pages stay cached until reboot, a tmpfs file's until truncate or
//! its last reference goes.

use super::PAGE_SIZE;
use super::mm_types::MmStruct;
use super::page_alloc::{OwnedPage, Page, get_zeroed_page};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fs::shmem::ShmemSbInfo;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Where a file's pages come from when they are not cached.
pub enum Source {
    /// An initramfs file: read from the image where the boot loader left it
    /// (Linux: the a_ops->read_folio of the file system).
    Initramfs(&'static [u8]),
    /// A tmpfs file: a missing page is a hole of zeroes, and every page is
    /// charged against the limit of its tmpfs instance (Linux: mm/shmem.c).
    Shmem(&'static ShmemSbInfo),
}

/// The pages and size of a file, under one lock.
struct Pages {
    /// Cached pages by index (Linux: i_pages, an xarray).
    i_pages: Vec<Option<Page>>,
    /// The file's size in bytes (Linux: inode->i_size).
    i_size: u64,
}

/// The address spaces that map a file (Linux: i_mmap).
///
/// Differs: Linux keeps each VMA in an interval tree under i_mmap_rwsem;
/// we keep one entry per address space that has mapped the file since it
/// was created, and the walk looks at that mm's areas. An entry goes when
/// its mm is freed (exit, exec), not at munmap.
#[derive(Default)]
struct IMmap {
    /// The mms, weakly: an mm that is gone is skipped and later dropped.
    mms: Vec<Weak<MmStruct>>,
    /// Bumped by every change of `mms`, so that a walk that ran while the
    /// list changed (a fork linked a child) knows to look again.
    generation: u64,
}

/// A file's page cache (Linux: `struct address_space`).
pub struct AddressSpace {
    /// Pages and size (Linux: the xa_lock of i_pages; i_rwsem orders writers).
    pages: SpinLock<Pages>,
    /// Who maps the file (Linux: i_mmap under i_mmap_rwsem). Lock order:
    /// an mm's `mmap` lock, then this; never the other way.
    i_mmap: SpinLock<IMmap>,
    /// Where missing pages come from.
    source: Source,
}

/// Pages a read takes from the cache per lock hold (Linux: PAGEVEC_SIZE,
/// the size of a folio_batch).
const FOLIO_BATCH_SIZE: usize = 15;

/// Pages in all page caches (Linux: NR_FILE_PAGES, "Cached" in /proc/meminfo).
static NR_FILE_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Pages in all page caches, for /proc/meminfo's Cached line.
pub fn nr_file_pages() -> usize {
    NR_FILE_PAGES.load(Ordering::Relaxed)
}

fn index_of(pos: u64) -> usize {
    (pos / PAGE_SIZE as u64) as usize
}

impl AddressSpace {
    /// The page cache of an initramfs file of `data`.
    pub fn initramfs(data: &'static [u8]) -> AddressSpace {
        AddressSpace {
            pages: SpinLock::new(Pages {
                i_pages: Vec::new(),
                i_size: data.len() as u64,
            }),
            i_mmap: SpinLock::new(IMmap::default()),
            source: Source::Initramfs(data),
        }
    }

    /// The page cache of a new, empty file of the tmpfs instance `sb`.
    pub fn shmem(sb: &'static ShmemSbInfo) -> AddressSpace {
        AddressSpace {
            pages: SpinLock::new(Pages {
                i_pages: Vec::new(),
                i_size: 0,
            }),
            i_mmap: SpinLock::new(IMmap::default()),
            source: Source::Shmem(sb),
        }
    }

    /// The file's size in bytes (Linux: i_size_read()).
    pub fn i_size(&self) -> u64 {
        self.pages.lock().i_size
    }

    /// Whether this is a tmpfs file (Linux: shmem_mapping()).
    pub fn is_shmem(&self) -> bool {
        matches!(self.source, Source::Shmem(_))
    }

    /// The tmpfs instance of a tmpfs file; the root file system's for an
    /// initramfs file (Linux: SHMEM_SB(inode->i_sb)).
    pub fn shmem_sb(&self) -> &'static ShmemSbInfo {
        match self.source {
            Source::Shmem(sb) => sb,
            Source::Initramfs(_) => &crate::fs::shmem::ROOTFS_SB,
        }
    }

    /// The cached page at `index`, with a reference of the caller's own.
    ///
    /// Linux: find_get_page() in include/linux/pagemap.h
    pub fn find_get_page(&self, index: usize) -> Option<Page> {
        self.pages.lock().i_pages.get(index)?.clone()
    }

    /// Inserts `page` at `index` unless another got there first; returns
    /// the page that is cached there now.
    ///
    /// Linux: filemap_add_folio() in mm/filemap.c
    fn add_to_page_cache(&self, index: usize, page: Page) -> Result<Page, Errno> {
        // A tmpfs page past the limit could never be charged; refusing it
        // here also bounds i_pages of a sparse file.
        if self.is_shmem() && index >= self.shmem_sb().max_blocks() {
            return Err(Errno::ENOSPC);
        }
        let mut pages = self.pages.lock();
        if let Some(Some(cached)) = pages.i_pages.get(index) {
            return Ok(cached.clone());
        }
        if pages.i_pages.len() <= index {
            let more = index + 1 - pages.i_pages.len();
            pages.i_pages.try_reserve(more).map_err(|_| Errno::ENOMEM)?;
            pages.i_pages.resize(index + 1, None);
        }
        if let Source::Shmem(sb) = self.source {
            sb.inode_acct_block()?;
        }
        NR_FILE_PAGES.fetch_add(1, Ordering::Relaxed);
        pages.i_pages[index] = Some(page.clone());
        Ok(page)
    }

    /// The page at `index`, read into the cache (initramfs) or allocated
    /// zeroed (a tmpfs hole) if missing; `None` past the end of the file.
    /// `may_oom` lets the allocation wait for the OOM killer (a system
    /// call may; a page fault, which holds the mm's lock, may not).
    ///
    /// Linux: filemap_get_pages() / filemap_fault() in mm/filemap.c,
    /// shmem_get_folio() in mm/shmem.c
    ///
    /// # Errors
    /// `ENOMEM` without a free page, `ENOSPC` for a tmpfs past its limit.
    pub fn filemap_get_page(&self, index: usize, may_oom: bool) -> Result<Option<Page>, Errno> {
        if index as u64 >= self.i_size().div_ceil(PAGE_SIZE as u64) {
            return Ok(None);
        }
        if let Some(page) = self.find_get_page(index) {
            return Ok(Some(page));
        }
        let mut page = match may_oom {
            true => OwnedPage::zeroed()?,
            false => get_zeroed_page()?,
        };
        if let Source::Initramfs(data) = self.source {
            let start = (index * PAGE_SIZE).min(data.len());
            let bytes = &data[start..(start + PAGE_SIZE).min(data.len())];
            page.as_bytes_mut()[..bytes.len()].copy_from_slice(bytes);
        }
        self.add_to_page_cache(index, page.share()).map(Some)
    }

    /// Copies bytes from `pos` into `buf`; returns how many (0 at the end).
    /// A tmpfs hole reads as zeroes without taking a page.
    ///
    /// Linux: filemap_read() in mm/filemap.c, shmem_file_read_iter() in mm/shmem.c
    ///
    /// # Errors
    /// `ENOMEM` when an initramfs page cannot be read in.
    pub fn filemap_read(&self, buf: &mut [u8], pos: u64) -> Result<usize, Errno> {
        let end = self.i_size().min(pos.saturating_add(buf.len() as u64));
        let mut at = pos;
        while at < end {
            let offset = (at % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - offset).min((end - at) as usize);
            let dst = &mut buf[(at - pos) as usize..][..n];
            let page = match self.is_shmem() {
                true => self.find_get_page(index_of(at)),
                false => self.filemap_get_page(index_of(at), true)?,
            };
            match page {
                Some(page) => page.read_bytes(offset, dst),
                None => dst.fill(0),
            }
            at += n as u64;
        }
        Ok(end.saturating_sub(pos) as usize)
    }

    /// Takes a reference to each cached page of [index, index + batch.len())
    /// under one hold of the lock, leaving `None` for a page not cached;
    /// returns the file's size as it was then, which bounds the read.
    ///
    /// Linux: filemap_get_read_batch() in mm/filemap.c
    /// Differs: Linux walks the xarray under RCU and stops at the first
    /// missing page; we hold the spinlock and leave a gap in the batch.
    fn filemap_get_read_batch(&self, index: usize, batch: &mut [Option<Page>]) -> u64 {
        let pages = self.pages.lock();
        for (slot, page) in batch.iter_mut().zip(pages.i_pages.iter().skip(index)) {
            slot.clone_from(page);
        }
        pages.i_size
    }

    /// Copies up to `len` bytes from `pos` straight from the cached pages to
    /// user memory at `buf`, a batch of whole pages per lock hold; returns
    /// how many (0 at the end), and whether it stopped at a user address it
    /// could not write. A tmpfs hole reads as zeroes without taking a page.
    ///
    /// Linux: filemap_read() in mm/filemap.c, copy_folio_to_iter()
    ///
    /// # Errors
    /// `ENOMEM` when an initramfs page cannot be read in, before any byte.
    pub fn filemap_read_user(
        &self,
        buf: u64,
        len: usize,
        pos: u64,
    ) -> Result<(usize, bool), Errno> {
        let mut at = pos;
        loop {
            if at != pos && crate::signal::fatal_signal_pending(&crate::task::current()) {
                break;
            }
            let want = pos.saturating_add(len as u64);
            let nr = (index_of(want.saturating_sub(1)) + 1).saturating_sub(index_of(at));
            let mut batch: [Option<Page>; FOLIO_BATCH_SIZE] = Default::default();
            let batch = &mut batch[..nr.min(FOLIO_BATCH_SIZE)];
            let end = self.filemap_get_read_batch(index_of(at), batch).min(want);
            if at >= end {
                break;
            }
            for slot in batch.iter_mut().map(Option::take) {
                if at >= end {
                    break;
                }
                let offset = (at % PAGE_SIZE as u64) as usize;
                let n = (PAGE_SIZE - offset).min((end - at) as usize);
                let page = match slot {
                    Some(page) => Ok(Some(page)),
                    None if self.is_shmem() => Ok(None),
                    None => self.filemap_get_page(index_of(at), true),
                };
                let dst = buf + (at - pos);
                let left = match page {
                    Ok(Some(page)) => super::uaccess::copy_page_to_user(&page, offset, dst, n),
                    Ok(None) => super::uaccess::clear_user(dst, n),
                    Err(e) if at == pos => return Err(e),
                    Err(_) => return Ok(((at - pos) as usize, false)),
                };
                at += (n - left) as u64;
                if left != 0 {
                    return Ok(((at - pos) as usize, true));
                }
            }
        }
        Ok(((at - pos) as usize, false))
    }

    /// Copies `buf` into the file at `pos` (which the caller checked
    /// against the file system's limit), taking pages as needed; returns
    /// how many bytes went in, short only when a page could not be had.
    ///
    /// Linux: generic_perform_write() in mm/filemap.c with shmem_write_begin()
    ///
    /// # Errors
    /// `ENOSPC` past the tmpfs limit, `ENOMEM`, when nothing was written.
    pub fn generic_perform_write(&self, buf: &[u8], pos: u64) -> Result<usize, Errno> {
        let mut done = 0;
        while done < buf.len() {
            let at = pos + done as u64;
            let offset = (at % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - offset).min(buf.len() - done);
            let page = match self.find_get_page(index_of(at)) {
                Some(page) => Ok(page),
                None => OwnedPage::zeroed()
                    .and_then(|p| self.add_to_page_cache(index_of(at), p.share())),
            };
            let page = match page {
                Ok(page) => page,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            let mut pages = self.pages.lock();
            page.write_bytes(offset, &buf[done..done + n]);
            pages.i_size = pages.i_size.max(at + n as u64);
            done += n;
        }
        Ok(done)
    }

    /// Sets the file's size; when it shrinks, unmaps the pages past the new
    /// end from every process (their next access gets SIGBUS), drops them
    /// from the cache and zeroes the tail of the new last page. For
    /// ftruncate, truncate and O_TRUNC.
    ///
    /// Linux: truncate_setsize() -> truncate_pagecache() in mm/truncate.c
    pub fn truncate_setsize(&self, newsize: u64) {
        let oldsize = {
            let mut pages = self.pages.lock();
            core::mem::replace(&mut pages.i_size, newsize)
        };
        if newsize >= oldsize {
            return;
        }
        let holebegin = newsize.next_multiple_of(PAGE_SIZE as u64);
        super::memory::unmap_mapping_range(self, holebegin);
        let dropped: Vec<Page> = {
            let mut pages = self.pages.lock();
            let keep = index_of(holebegin).min(pages.i_pages.len());
            let dropped = pages.i_pages.drain(keep..).flatten().collect();
            if !newsize.is_multiple_of(PAGE_SIZE as u64)
                && let Some(Some(last)) = pages.i_pages.get(index_of(newsize))
            {
                let offset = (newsize % PAGE_SIZE as u64) as usize;
                last.zero_bytes(offset);
            }
            dropped
        };
        self.release_pages(dropped.len());
    }

    /// Takes a page for every index of [offset, end) that has none, then
    /// grows the size to `end` unless `keep_size`.
    ///
    /// Linux: shmem_fallocate() in mm/shmem.c
    ///
    /// # Errors
    /// `ENOSPC`, `ENOMEM`, or `EINTR` for a fatal signal; the pages added
    /// stay.
    pub fn fallocate(&self, offset: u64, end: u64, keep_size: bool) -> Result<(), Errno> {
        for index in index_of(offset)..index_of(end.next_multiple_of(PAGE_SIZE as u64)) {
            if crate::signal::fatal_signal_pending(&crate::task::current()) {
                return Err(Errno::EINTR);
            }
            if self.find_get_page(index).is_none() {
                self.add_to_page_cache(index, OwnedPage::zeroed()?.share())?;
            }
        }
        if !keep_size {
            let mut pages = self.pages.lock();
            pages.i_size = pages.i_size.max(end);
        }
        Ok(())
    }

    /// Records that `mm` maps this file, before any of its page-table
    /// entries can point at the file's pages; called with the mm's `mmap`
    /// lock held (mmap, exec, and fork before it copies the page tables).
    /// Drops the entries of mms that are gone.
    ///
    /// Linux: vma_link_file() / __vma_link_file() in mm/mmap.c
    ///
    /// # Errors
    /// `ENOMEM` when the list cannot grow.
    pub fn vma_link_file(&self, mm: &Weak<MmStruct>) -> Result<(), Errno> {
        let mut i_mmap = self.i_mmap.lock();
        if i_mmap.mms.iter().any(|m| Weak::ptr_eq(m, mm)) {
            return Ok(());
        }
        i_mmap.mms.retain(|m| m.strong_count() > 0);
        i_mmap.mms.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        i_mmap.mms.push(mm.clone());
        i_mmap.generation += 1;
        Ok(())
    }

    /// The generation of the list of mappers (see [`IMmap`]).
    pub(super) fn i_mmap_generation(&self) -> u64 {
        self.i_mmap.lock().generation
    }

    /// The `i`th mm that maps this file, if it is still alive; `Err` past
    /// the end of the list.
    pub(super) fn i_mmap_get(&self, i: usize) -> Result<Option<Arc<MmStruct>>, ()> {
        self.i_mmap.lock().mms.get(i).map(Weak::upgrade).ok_or(())
    }

    /// Pages the cache holds now (Linux: mapping->nrpages).
    pub fn nrpages(&self) -> usize {
        self.pages.lock().i_pages.iter().flatten().count()
    }

    /// Gives back the accounting of `n` pages leaving the cache.
    fn release_pages(&self, n: usize) {
        NR_FILE_PAGES.fetch_sub(n, Ordering::Relaxed);
        if let Source::Shmem(sb) = self.source {
            sb.inode_unacct_blocks(n);
        }
    }
}

impl Drop for AddressSpace {
    /// Linux: truncate_inode_pages_final() in mm/truncate.c
    fn drop(&mut self) {
        let n = self.pages.lock().i_pages.iter().flatten().count();
        self.release_pages(n);
    }
}

/// How a page of a file mapping is found at fault time.
pub enum FilePage {
    /// The cached page itself.
    Cached(Page),
    /// A private copy of the cached page with its bytes from `len` on zeroed
    /// (the last file page of an ELF segment followed by .bss).
    Partial(Page),
    /// Past the end of the file: SIGBUS.
    Beyond,
}

/// The page of `mapping` at byte offset `pos` for a fault, of which only the
/// first `valid` bytes belong to the mapping (`PAGE_SIZE` or more: all).
///
/// Linux: filemap_fault() in mm/filemap.c; the partial page is what
/// padzero() in fs/binfmt_elf.c leaves
///
/// # Errors
/// `ENOMEM`, `ENOSPC` (a tmpfs hole past the limit).
pub fn filemap_fault(mapping: &AddressSpace, pos: u64, valid: u64) -> Result<FilePage, Errno> {
    let Some(page) = mapping.filemap_get_page(index_of(pos), false)? else {
        return Ok(FilePage::Beyond);
    };
    if valid >= PAGE_SIZE as u64 {
        return Ok(FilePage::Cached(page));
    }
    let mut copy = super::page_alloc::alloc_page()?;
    copy.copy_page(&page);
    copy.as_bytes_mut()[valid as usize..].fill(0);
    Ok(FilePage::Partial(copy.share()))
}
