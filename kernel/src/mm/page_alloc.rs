//! Physical page allocation with a reference count per page.
//!
//! Every page frame has a descriptor in the `mem_map` array, indexed by
//! page frame number, like Linux's `struct page`. Its `_refcount` says how
//! many users the frame has: copy-on-write shares one frame between address
//! spaces by raising it, and the frame returns to the free list when the last
//! `put_page` drops it to zero. Free frames are chained through their
//! descriptors (Differs: a single free list instead of the buddy allocator's
//! power-of-two free areas; we only ever allocate single pages).
//!
//! Outside this module a page is a handle, never a number: [`OwnedPage`]
//! (one owner, its bytes reachable through it) or [`Page`] (a counted
//! reference that may be shared and mapped into user space). Cloning a
//! `Page` is `get_page`, dropping it is `put_page`, so no code can free a
//! page it does not hold. Only mm/ turns a frame number back into a handle
//! (`Page::from_raw`, an `unsafe fn`), when a page table entry gives up
//! the reference it held.
//!
//! Linux: mm/page_alloc.c, mm/memblock.c, include/linux/mm_types.h (struct page)

use super::{PAGE_SIZE, phys_to_virt};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use core::ops::Range;
use core::sync::atomic::{AtomicU32, Ordering, fence};
use spin::Once;
use x86_64::PhysAddr;
use x86_64::structures::paging::{PhysFrame, Size4KiB};

const NO_PAGE: u32 = u32::MAX;
const MAX_BOOT_RANGES: usize = 64;

/// The descriptor of one physical page frame (Linux: `struct page`).
struct PageDesc {
    /// Users of the frame; 0 means free (Linux: `_refcount`).
    refcount: AtomicU32,
    /// Next free frame's number while free (Linux: `lru` on the free list).
    next_free: AtomicU32,
}

struct FreeArea {
    head: u32,
    nr_free: usize,
}

static MEM_MAP: Once<&'static [PageDesc]> = Once::new();
static FREE_AREA: SpinLock<FreeArea> = SpinLock::new(FreeArea {
    head: NO_PAGE,
    nr_free: 0,
});
static TOTALRAM_PAGES: Once<usize> = Once::new();

/// The boot-time allocator: hands out physically contiguous ranges from the
/// usable memory before the page allocator exists.
///
/// Linux: mm/memblock.c
pub struct Memblock {
    ranges: [Range<u64>; MAX_BOOT_RANGES],
    count: usize,
}

impl Memblock {
    /// Collects the usable ranges, trimmed to whole pages.
    pub fn new(usable: impl Iterator<Item = Range<u64>>) -> Self {
        let mut m = Memblock {
            ranges: [const { 0..0 }; MAX_BOOT_RANGES],
            count: 0,
        };
        for r in usable.take(MAX_BOOT_RANGES) {
            let start = r.start.next_multiple_of(PAGE_SIZE as u64);
            let end = r.end & !(PAGE_SIZE as u64 - 1);
            if start < end {
                m.ranges[m.count] = start..end;
                m.count += 1;
            }
        }
        m
    }

    /// Bytes of usable memory left.
    pub fn total_bytes(&self) -> u64 {
        self.ranges[..self.count]
            .iter()
            .map(|r| r.end - r.start)
            .sum()
    }

    /// Takes `size` bytes of physically contiguous, page-aligned memory.
    ///
    /// Linux: memblock_phys_alloc() in mm/memblock.c
    pub fn alloc_contiguous(&mut self, size: u64) -> Option<PhysAddr> {
        let size = size.next_multiple_of(PAGE_SIZE as u64);
        let range = self.ranges[..self.count]
            .iter_mut()
            .find(|r| r.end - r.start >= size)?;
        range.end -= size;
        Some(PhysAddr::new(range.end))
    }

    /// Takes `size` bytes of page-aligned memory below `limit`, never page
    /// 0 (whose address would read as "none").
    ///
    /// Linux: memblock_phys_alloc_range() in mm/memblock.c
    pub fn alloc_below(&mut self, size: u64, limit: u64) -> Option<PhysAddr> {
        let size = size.next_multiple_of(PAGE_SIZE as u64);
        let range = self.ranges[..self.count].iter_mut().find(|r| {
            let start = r.start.max(PAGE_SIZE as u64);
            start + size <= r.end.min(limit)
        })?;
        let start = range.start.max(PAGE_SIZE as u64);
        range.start = start + size;
        Some(PhysAddr::new(start))
    }

    fn max_pfn(&self) -> u64 {
        self.ranges[..self.count]
            .iter()
            .map(|r| r.end / PAGE_SIZE as u64)
            .max()
            .unwrap_or(0)
    }
}

/// Builds `mem_map` out of boot memory, then frees every remaining usable
/// page into the allocator.
///
/// Linux: mem_init() / memblock_free_all() in mm/memblock.c
pub fn mem_init(mut memblock: Memblock) {
    let max_pfn = memblock.max_pfn() as usize;
    let map_bytes = (max_pfn * size_of::<PageDesc>()) as u64;
    let map_phys = memblock
        .alloc_contiguous(map_bytes)
        .expect("room for mem_map");
    let map_ptr = phys_to_virt(map_phys).as_mut_ptr::<PageDesc>();
    for pfn in 0..max_pfn {
        // SAFETY: `map_bytes` of boot memory were just reserved for the array
        // and nothing else uses them; each slot is written before any read.
        unsafe {
            map_ptr.add(pfn).write(PageDesc {
                refcount: AtomicU32::new(1),
                next_free: AtomicU32::new(NO_PAGE),
            })
        };
    }
    // SAFETY: all `max_pfn` descriptors were initialised above, and the memory
    // is never freed or handed out again, so a 'static shared slice is sound.
    let mem_map = MEM_MAP.call_once(|| unsafe { core::slice::from_raw_parts(map_ptr, max_pfn) });
    let mut total = 0;
    for range in &memblock.ranges[..memblock.count] {
        for pfn in range.start / PAGE_SIZE as u64..range.end / PAGE_SIZE as u64 {
            mem_map[pfn as usize].refcount.store(0, Ordering::Relaxed);
            free_pfn(pfn as u32);
            total += 1;
        }
    }
    TOTALRAM_PAGES.call_once(|| total);
    log::info!("Memory: {}K available in {} pages", total * 4, total);
}

/// Whether `pfn` has a descriptor in `mem_map`.
///
/// Linux: pfn_valid() in include/linux/mmzone.h
pub(in crate::mm) fn pfn_valid(pfn: u64) -> bool {
    MEM_MAP.get().is_some_and(|m| pfn < m.len() as u64)
}

#[track_caller]
fn page(frame: PhysFrame) -> &'static PageDesc {
    let mem_map = MEM_MAP.get().expect("mem_init ran");
    let pfn = frame.start_address().as_u64() / PAGE_SIZE as u64;
    mem_map
        .get(pfn as usize)
        .unwrap_or_else(|| bad_page_handle(pfn, mem_map.len()))
}

/// A page handle names no page: reports the frame number and the caller
/// on one BUG line, then stops, as Linux's bad_page() / VM_BUG_ON_PAGE do
/// for a corrupt `struct page`.
///
/// Linux: bad_page() in mm/page_alloc.c
#[cold]
#[track_caller]
fn bad_page_handle(pfn: u64, max_pfn: usize) -> ! {
    panic!(
        "BUG: Bad page handle: pfn {pfn:#x} is past the end of mem_map ({max_pfn:#x} pages), \
         made at {}",
        core::panic::Location::caller()
    )
}

fn pfn_to_frame(pfn: u32) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(pfn as u64 * PAGE_SIZE as u64))
}

fn free_pfn(pfn: u32) {
    let mut area = FREE_AREA.lock();
    MEM_MAP.get().expect("mem_init ran")[pfn as usize]
        .next_free
        .store(area.head, Ordering::Relaxed);
    area.head = pfn;
    area.nr_free += 1;
}

/// Takes a page off the free list with a reference count of 1.
///
/// # Errors
/// `ENOMEM` when no page is free (or fault injection says so).
fn __alloc_page() -> Result<PhysFrame<Size4KiB>, Errno> {
    if super::fault_inject::should_fail() {
        return Err(Errno::ENOMEM);
    }
    let mut area = FREE_AREA.lock();
    if area.head == NO_PAGE {
        super::oom_kill::note_page_alloc_failure();
        return Err(Errno::ENOMEM);
    }
    let pfn = area.head;
    let page = &MEM_MAP.get().expect("mem_init ran")[pfn as usize];
    area.head = page.next_free.load(Ordering::Relaxed);
    area.nr_free -= 1;
    page.refcount.store(1, Ordering::Relaxed);
    Ok(pfn_to_frame(pfn))
}

/// Allocates one page, owned by the caller. Its contents are whatever the
/// last user left.
///
/// Linux: alloc_pages() in mm/page_alloc.c
///
/// # Errors
/// `ENOMEM` when no page is free (or fault injection says so).
pub fn alloc_page() -> Result<OwnedPage, Errno> {
    __alloc_page().map(|frame| OwnedPage(Page(frame)))
}

/// Allocates a page for data a process asked the kernel to hold (a pipe
/// buffer, a file page): when none is free, the OOM killer makes room and
/// the allocation is tried again, so the caller fails only once it is being
/// killed itself.
///
/// Linux: __alloc_pages_slowpath() / __alloc_pages_may_oom() in mm/page_alloc.c
///
/// # Errors
/// `ENOMEM` when the caller has a fatal signal pending, when no process
/// can be killed, or when the allocation failed with pages still free
/// (fault injection).
fn alloc_page_may_oom() -> Result<OwnedPage, Errno> {
    loop {
        match alloc_page() {
            Ok(page) => return Ok(page),
            Err(e)
                if nr_free_pages() > 0
                    || crate::signal::fatal_signal_pending(&crate::task::current()) =>
            {
                return Err(e);
            }
            Err(e) if !super::oom_kill::out_of_memory() => return Err(e),
            Err(_) => {
                let _ = crate::time::schedule_timeout_killable(crate::sched::cputime::TICK_NSEC);
            }
        }
    }
}

/// Allocates one page filled with zeroes.
///
/// Linux: get_zeroed_page() in mm/page_alloc.c
///
/// # Errors
/// `ENOMEM` when no page is free.
pub fn get_zeroed_page() -> Result<OwnedPage, Errno> {
    let mut page = alloc_page()?;
    page.clear_page();
    Ok(page)
}

/// A counted reference to an allocated page frame (Linux: a `struct page *`
/// on which the holder took a reference). Cloning takes another reference,
/// dropping gives it back, and the last drop frees the frame. A `Page` may
/// be shared and mapped into user space, so its bytes are not reachable
/// through it; [`OwnedPage`] is the handle that owns its bytes.
///
/// Differs: Linux hands out `struct page *` and trusts callers to pair
/// get_page with put_page; here the pairing is ownership.
pub struct Page(PhysFrame<Size4KiB>);

impl Page {
    /// Takes back the reference that [`Page::into_raw`] turned into a frame
    /// number (a page-table entry that held it is being cleared).
    ///
    /// # Safety
    /// `frame` must carry a reference to an allocated page that nothing
    /// else will give back: it came from `into_raw` (or was cloned from a
    /// handle rebuilt this way) and is converted back exactly once.
    /// A frame past the end of `mem_map` (a page-table entry read from a
    /// page that is no page table any more) is reported as the bug it is,
    /// with the frame and the caller, instead of an index out of bounds
    /// at the first use of the handle.
    #[track_caller]
    pub(in crate::mm) unsafe fn from_raw(frame: PhysFrame) -> Page {
        let pfn = frame.start_address().as_u64() / PAGE_SIZE as u64;
        if !pfn_valid(pfn) {
            bad_page_handle(pfn, MEM_MAP.get().map_or(0, |m| m.len()));
        }
        Page(frame)
    }

    /// Turns the handle into its frame number without dropping the
    /// reference, which the caller stores (in a page-table entry) and later
    /// hands back to [`Page::from_raw`].
    pub(in crate::mm) fn into_raw(self) -> PhysFrame {
        core::mem::ManuallyDrop::new(self).0
    }

    /// The frame this handle refers to.
    pub(in crate::mm) fn frame(&self) -> PhysFrame {
        self.0
    }

    /// Copies the page's bytes from `offset` into `buf`. Another CPU may
    /// write the page through a user mapping meanwhile; like
    /// copy_from_user, the copy then holds some mix of old and new bytes.
    ///
    /// Linux: memcpy_from_page() in include/linux/highmem.h
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) {
        assert!(offset + buf.len() <= PAGE_SIZE, "inside the page");
        let src = phys_to_virt(self.0.start_address()).as_ptr::<u8>();
        // SAFETY: the frame is allocated while we hold a reference, mapped
        // at PAGE_OFFSET, and the range is inside it; `buf` is not the page
        // (no `&mut` to a shared page's bytes exists). Concurrent user
        // writes only change which bytes are copied, as noted above.
        unsafe { core::ptr::copy_nonoverlapping(src.add(offset), buf.as_mut_ptr(), buf.len()) };
    }

    /// Copies `buf` into the page at `offset` (a write() into the page
    /// cache); processes that map the page see the bytes at once.
    ///
    /// Linux: memcpy_to_page() in include/linux/highmem.h
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) {
        assert!(offset + buf.len() <= PAGE_SIZE, "inside the page");
        let dst = phys_to_virt(self.0.start_address()).as_mut_ptr::<u8>();
        // SAFETY: as in `read_bytes`; no Rust reference to a shared page's
        // bytes exists, so this raw copy aliases none.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(offset), buf.len()) };
    }

    /// Zeroes the page from `offset` to its end.
    ///
    /// Linux: zero_user_segment() in include/linux/highmem.h
    pub fn zero_bytes(&self, offset: usize) {
        assert!(offset <= PAGE_SIZE, "inside the page");
        let dst = phys_to_virt(self.0.start_address()).as_mut_ptr::<u8>();
        // SAFETY: as in `write_bytes`.
        unsafe { core::ptr::write_bytes(dst.add(offset), 0, PAGE_SIZE - offset) };
    }

    /// The number of references to the page (Linux: page_count()).
    pub fn page_count(&self) -> u32 {
        page(self.0).refcount.load(Ordering::Relaxed)
    }
}

impl Clone for Page {
    /// Takes another reference to the page.
    ///
    /// Linux: get_page() in include/linux/mm.h
    fn clone(&self) -> Page {
        let old = page(self.0).refcount.fetch_add(1, Ordering::Relaxed);
        assert!(old > 0, "get_page on a free page {:?}", self.0);
        Page(self.0)
    }
}

impl Drop for Page {
    /// Drops a reference; the page is freed when the last one goes.
    ///
    /// Linux: put_page() in include/linux/mm.h
    fn drop(&mut self) {
        let old = page(self.0).refcount.fetch_sub(1, Ordering::Release);
        assert!(
            old > 0,
            "Bad page state: put_page on a free page {:?}",
            self.0
        );
        if old == 1 {
            // Every other holder's last access to the page happens before
            // it is handed out again (Release above, Acquire here), as
            // Linux's fully ordered put_page_testzero() gives.
            fence(Ordering::Acquire);
            free_pfn((self.0.start_address().as_u64() / PAGE_SIZE as u64) as u32);
        }
    }
}

/// A page with exactly one owner (a pipe buffer, a ramfs file page, a page
/// just allocated): its bytes are reachable only through this handle, and
/// dropping it frees the page. Nothing maps it or takes another reference
/// until [`OwnedPage::share`] gives the ownership up, which is what makes
/// the safe byte views below sound.
///
/// Differs: Linux hands out `struct page *` and lets callers kmap it; here
/// the ownership is a type.
pub struct OwnedPage(Page);

impl OwnedPage {
    /// Allocates a page; its contents are whatever the last user left.
    /// With no page free, the OOM killer makes room first.
    ///
    /// # Errors
    /// `ENOMEM` when the caller is being killed.
    pub fn alloc() -> Result<OwnedPage, Errno> {
        alloc_page_may_oom()
    }

    /// Allocates a page filled with zeroes, as [`OwnedPage::alloc`].
    ///
    /// # Errors
    /// `ENOMEM` when the caller is being killed.
    pub fn zeroed() -> Result<OwnedPage, Errno> {
        let mut page = alloc_page_may_oom()?;
        page.clear_page();
        Ok(page)
    }

    /// The page's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        let ptr = phys_to_virt(self.0.0.start_address()).as_ptr::<u8>();
        // SAFETY: the frame is allocated, mapped at PAGE_OFFSET for
        // PAGE_SIZE bytes, and only this handle reaches it; `&self` rules
        // out a writer through `as_bytes_mut` for the borrow's lifetime.
        unsafe { core::slice::from_raw_parts(ptr, PAGE_SIZE) }
    }

    /// The page's bytes, writable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let ptr = phys_to_virt(self.0.0.start_address()).as_mut_ptr::<u8>();
        // SAFETY: as in `as_bytes`; `&mut self` makes this the only view.
        unsafe { core::slice::from_raw_parts_mut(ptr, PAGE_SIZE) }
    }

    /// Fills the page with zeroes.
    ///
    /// Linux: clear_page() in arch/x86/lib/clear_page_64.S
    pub fn clear_page(&mut self) {
        self.as_bytes_mut().fill(0);
    }

    /// Fills the page with a copy of `from`, e.g. when a copy-on-write
    /// fault breaks sharing.
    ///
    /// Linux: copy_page() in arch/x86/lib/copy_page_64.S
    pub fn copy_page(&mut self, from: &Page) {
        let src = phys_to_virt(from.0.start_address()).as_ptr::<u8>();
        // SAFETY: `from` is an allocated frame (we hold a reference) mapped
        // at PAGE_OFFSET, and it is not `self`'s frame, which has one owner.
        // Another CPU may write `from` through a user mapping meanwhile;
        // like copy_from_user, the copy then holds some mix of the bytes.
        let src = unsafe { core::slice::from_raw_parts(src, PAGE_SIZE) };
        self.as_bytes_mut().copy_from_slice(src);
    }

    /// Gives up sole ownership: the page may now be mapped and shared.
    pub fn share(self) -> Page {
        self.0
    }
}

/// Pages on the free list (Linux: nr_free_pages()).
pub fn nr_free_pages() -> usize {
    FREE_AREA.lock().nr_free
}

/// Pages the allocator managed at boot (Linux: totalram_pages()).
pub fn totalram_pages() -> usize {
    *TOTALRAM_PAGES.get().unwrap_or(&0)
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::vec::Vec;

    ktest! {
        fn allocating_every_free_page_then_freeing_them_restores_the_free_count() {
            let before = nr_free_pages();
            let mut pages = Vec::new();
            kassert!(pages.try_reserve_exact(before).is_ok());
            while let Ok(page) = alloc_page() {
                pages.push(page);
            }
            kassert_eq!(nr_free_pages(), 0);
            kassert_eq!(pages.len(), before);
            kassert!(matches!(alloc_page(), Err(Errno::ENOMEM)), "exhaustion is an error, not a panic");
            drop(pages);
            kassert_eq!(nr_free_pages(), before);
        }
    }

    ktest! {
        fn page_refcount_goes_up_with_get_page_and_frees_at_zero() {
            let before = nr_free_pages();
            let page = alloc_page().map_err(|e| alloc::format!("{e:?}"))?.share();
            let frame = page.frame();
            kassert_eq!(page.page_count(), 1);
            let (a, b) = (page.clone(), page.clone());
            kassert_eq!(page.page_count(), 3);
            drop((a, b));
            kassert_eq!(page.page_count(), 1);
            kassert_eq!(nr_free_pages(), before - 1, "still allocated while referenced");
            drop(page);
            kassert_eq!(super::page(frame).refcount.load(Ordering::Relaxed), 0);
            kassert_eq!(nr_free_pages(), before);
        }
    }

    ktest! {
        fn zeroed_and_copied_pages_have_the_expected_contents() {
            let err = |e| alloc::format!("{e:?}");
            let mut a = get_zeroed_page().map_err(err)?;
            let mut b = alloc_page().map_err(err)?;
            kassert!(a.as_bytes().iter().all(|&x| x == 0));
            a.as_bytes_mut()[100] = 0x5a;
            let a = a.share();
            b.copy_page(&a);
            kassert_eq!((b.as_bytes()[0], b.as_bytes()[100]), (0, 0x5a));
        }
    }

    ktest! {
        fn pfn_valid_rejects_the_frame_numbers_a_corrupt_page_table_entry_gives() {
            let page = alloc_page().map_err(|e| alloc::format!("{e:?}"))?.share();
            let pfn = page.frame().start_address().as_u64() / PAGE_SIZE as u64;
            kassert!(pfn_valid(pfn), "an allocated page's pfn {pfn:#x}");
            // A PTE whose low 32 bits are all ones (a page-table page
            // reused for data) names pfn 0xfffff, past 256 MiB of RAM.
            let max = MEM_MAP.get().map_or(0, |m| m.len()) as u64;
            kassert!(!pfn_valid(max) && !pfn_valid(0xfffff.max(max)), "mem_map has {max:#x} pages");
        }
    }
}
