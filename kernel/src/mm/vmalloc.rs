//! Kernel stacks in their own virtual area, each with an unmapped guard page
//! below it, so that an overflow faults instead of corrupting a neighbour.
//!
//! Linux: kernel/fork.c (alloc_thread_stack_node with CONFIG_VMAP_STACK),
//! mm/vmalloc.c

use super::{PAGE_SIZE, page_alloc, pgtable};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::structures::paging::Page as VirtPage;

/// Pages in a kernel stack. Differs: Linux uses 16 KiB (THREAD_SIZE); Rust's
/// formatting machinery wants more room, so we use 32 KiB.
pub const THREAD_PAGES: usize = 8;
/// Bytes in a kernel stack (Linux: THREAD_SIZE).
pub const THREAD_SIZE: usize = THREAD_PAGES * PAGE_SIZE;
/// Unmapped bytes below each stack: an overflow runs into them and faults.
/// Differs: Linux's vmalloc leaves one guard page; each stack here has a
/// slot twice its size, so the guard is as large as the stack.
pub const STACK_GUARD_SIZE: usize = THREAD_SIZE;
/// Virtual space per stack: the stack plus guard pages below it.
const SLOT_SIZE: u64 = (THREAD_SIZE + STACK_GUARD_SIZE) as u64;
/// Stacks that can exist at once; bounds the number of tasks.
pub const MAX_STACKS: usize = 16384;

/// Freed stacks kept mapped for reuse (Linux: NR_CACHED_STACKS). Mapping
/// and unmapping cost a TLB flush per page; most tasks are short-lived, so
/// reusing a stack that is still mapped saves nearly all of it. Cached
/// pages are not free: how many stacks sit here depends on how many tasks
/// ever overlapped, so a free page count is only comparable once it is full.
/// Differs: Linux keeps NR_CACHED_STACKS per CPU; this one cache is shared.
const NR_CACHED_STACKS: usize = 2;

static VMALLOC_START: Once<VirtAddr> = Once::new();
/// A stack's pages, mapped at its slot while the stack or cache holds them.
type StackPages = [Option<page_alloc::Page>; THREAD_PAGES];
/// A cached stack: its virtual slot and its (still mapped) pages.
type CachedStack = (usize, StackPages);

static CACHED_STACKS: SpinLock<[Option<CachedStack>; NR_CACHED_STACKS]> =
    SpinLock::new([const { None }; NR_CACHED_STACKS]);
/// Kernel stacks in use, in KiB: /proc/meminfo's KernelStack (Linux:
/// the NR_KERNEL_STACK_KB counter). Cached stacks are not counted.
static NR_KERNEL_STACK_KB: AtomicUsize = AtomicUsize::new(0);
/// A bit per slot of the area.
type SlotMap = SpinLock<[u64; MAX_STACKS / 64]>;
/// Slots in use. This and LAZY_SLOTS are made by vmalloc_init: a static
/// lock is `.data` (its class key points at its definition), and these
/// 2 KiB maps would add to the image the BIOS loader copies a byte at a
/// time; an empty `Once` is all zero, in `.bss`.
static SLOTS: Once<SlotMap> = Once::new();
/// Slots freed since the last TLB purge (Linux: vmap_purge_list); set in
/// SLOTS too, so that nobody takes them yet.
static LAZY_SLOTS: Once<SlotMap> = Once::new();
static NR_LAZY_SLOTS: AtomicUsize = AtomicUsize::new(0);
/// Lazily freed slots that trigger a purge (Linux: lazy_max_pages(), here
/// in slots of THREAD_SIZE).
const LAZY_MAX_SLOTS: usize = 32;

/// Reserves the virtual area for kernel stacks.
///
/// Linux: vmalloc_init() in mm/vmalloc.c
pub fn vmalloc_init() {
    let start = VMALLOC_START.call_once(pgtable::reserve_kernel_pml4_slot);
    for map in [&SLOTS, &LAZY_SLOTS] {
        map.call_once(|| SpinLock::new([0; MAX_STACKS / 64]));
    }
    log::info!("vmalloc: kernel stacks at {:#x}", start.as_u64());
}

/// A task's kernel stack: `THREAD_SIZE` mapped bytes above an unmapped guard.
/// Dropping it unmaps the pages and frees them.
pub struct KernelStack {
    slot: usize,
    frames: StackPages,
    /// Counted in NR_KERNEL_STACK_KB: a task's stack, not an exception stack.
    accounted: bool,
}

impl KernelStack {
    /// Allocates and maps a fresh kernel stack.
    ///
    /// Linux: alloc_thread_stack_node() in kernel/fork.c
    ///
    /// # Errors
    /// `ENOMEM` when out of pages or stack slots.
    pub fn alloc() -> Result<KernelStack, Errno> {
        let cached = CACHED_STACKS.lock().iter_mut().find_map(Option::take);
        let mut stack = match cached {
            Some((slot, frames)) => KernelStack {
                slot,
                frames,
                accounted: false,
            },
            None => Self::vmalloc()?,
        };
        account_kernel_stack(1);
        stack.accounted = true;
        Ok(stack)
    }

    /// Takes the stack out of KernelStack while its task still names it,
    /// so that nobody sees a task without a stack whose stack is still
    /// counted (a dead task's stack freed on another CPU, seen between the
    /// two steps by the sched::core ktest at --smp 2).
    ///
    /// Linux: account_kernel_stack() in kernel/fork.c, which
    /// release_task_stack calls with -1 before it frees the stack
    pub fn account_out(&mut self) {
        if core::mem::take(&mut self.accounted) {
            account_kernel_stack(-1);
        }
    }

    /// Allocates a CPU's stack for exceptions that must not run on the
    /// interrupted stack (a double fault); it is not a task's stack, so
    /// /proc/meminfo's KernelStack leaves it out, as Linux's does.
    ///
    /// # Errors
    /// `ENOMEM` when out of pages or stack slots.
    pub fn alloc_exception_stack() -> Result<KernelStack, Errno> {
        Self::vmalloc()
    }

    /// Maps fresh pages at a free slot.
    fn vmalloc() -> Result<KernelStack, Errno> {
        let slot = alloc_slot().ok_or(Errno::ENOMEM)?;
        let mut frames = StackPages::default();
        for (i, frame) in frames.iter_mut().enumerate() {
            let page = page_alloc::alloc_page().map(page_alloc::OwnedPage::share);
            let addr = VirtPage::containing_address(slot_bottom(slot) + (i * PAGE_SIZE) as u64);
            match page.and_then(|p| pgtable::map_kernel_page(addr, &p).map(|()| p)) {
                Ok(page) => *frame = Some(page),
                Err(e) => {
                    vfree_stack(slot, frames);
                    return Err(e);
                }
            }
        }
        Ok(KernelStack {
            slot,
            frames,
            accounted: false,
        })
    }

    /// The lowest address of the stack (Linux: end_of_stack()).
    pub fn bottom(&self) -> VirtAddr {
        slot_bottom(self.slot)
    }

    /// The address just above the stack, where it starts growing down.
    pub fn top(&self) -> VirtAddr {
        self.bottom() + THREAD_SIZE as u64
    }

    /// The unmapped guard area just below the stack.
    pub fn guard(&self) -> core::ops::Range<u64> {
        slot_base(self.slot).as_u64()..self.bottom().as_u64()
    }

    /// The word at the lowest address of the stack, where STACK_END_MAGIC
    /// lives; an overflow that gets this far overwrites it.
    ///
    /// Linux: end_of_stack() in include/linux/sched/task_stack.h
    pub fn end_of_stack(&self) -> &AtomicU64 {
        // SAFETY: the bottom page is mapped for as long as `self` lives, the
        // address is 8-byte aligned, and all accesses to this word go through
        // atomics (stores from an overflowing stack frame are a bug we detect).
        unsafe { &*self.bottom().as_ptr::<AtomicU64>() }
    }
}

impl Drop for KernelStack {
    /// Keeps the stack mapped in the cache if there is room, else unmaps and
    /// frees it.
    ///
    /// Linux: free_thread_stack() / try_release_thread_stack_to_cache() in kernel/fork.c
    fn drop(&mut self) {
        if self.accounted {
            account_kernel_stack(-1);
        }
        let frames = core::mem::take(&mut self.frames);
        let mut cache = CACHED_STACKS.lock();
        if let Some(free) = cache.iter_mut().find(|c| c.is_none()) {
            *free = Some((self.slot, frames));
            return;
        }
        drop(cache);
        vfree_stack(self.slot, frames);
    }
}

/// Counts a stack in or out of /proc/meminfo's KernelStack.
///
/// Linux: account_kernel_stack() in kernel/fork.c
fn account_kernel_stack(sign: isize) {
    let kb = THREAD_SIZE / 1024;
    if sign > 0 {
        NR_KERNEL_STACK_KB.fetch_add(kb, Ordering::Relaxed);
    } else {
        NR_KERNEL_STACK_KB.fetch_sub(kb, Ordering::Relaxed);
    }
}

/// KiB of kernel stacks in use (Linux: global_node_page_state(NR_KERNEL_STACK_KB)).
pub fn nr_kernel_stack_kb() -> usize {
    NR_KERNEL_STACK_KB.load(Ordering::Relaxed)
}

/// Pages held by the stack cache: mapped, not free, and in no task.
pub fn nr_cached_stack_pages() -> usize {
    CACHED_STACKS.lock().iter().flatten().count() * THREAD_PAGES
}

/// Unmaps a stack's pages, frees them and its virtual slot.
fn vfree_stack(slot: usize, frames: StackPages) {
    for (i, frame) in frames.into_iter().enumerate() {
        if let Some(page) = frame {
            pgtable::unmap_kernel_page(VirtPage::containing_address(
                slot_bottom(slot) + (i * PAGE_SIZE) as u64,
            ));
            drop(page);
        }
    }
    free_slot(slot);
}

/// Unmaps and frees the cached stacks, then purges the lazily freed
/// slots, so that the lowest slots are taken again next; returns how many
/// stacks were cached. Interrupts must be on.
///
/// Linux: free_vm_stack_cache() in kernel/fork.c
pub fn free_vm_stack_cache() -> usize {
    let cached: [_; NR_CACHED_STACKS] = core::mem::take(&mut *CACHED_STACKS.lock());
    let mut freed = 0;
    for (slot, frames) in cached.into_iter().flatten() {
        vfree_stack(slot, frames);
        freed += 1;
    }
    purge_vmap_area_lazy();
    freed
}

fn slot_base(slot: usize) -> VirtAddr {
    *VMALLOC_START.get().expect("vmalloc_init ran") + slot as u64 * SLOT_SIZE
}

fn slot_bottom(slot: usize) -> VirtAddr {
    slot_base(slot) + (SLOT_SIZE - THREAD_SIZE as u64)
}

/// Takes a free slot; purges the lazily freed ones first when there are
/// many, or when no other is left.
fn alloc_slot() -> Option<usize> {
    if NR_LAZY_SLOTS.load(Ordering::Relaxed) >= LAZY_MAX_SLOTS {
        purge_vmap_area_lazy();
    }
    take_free_slot().or_else(|| {
        purge_vmap_area_lazy();
        take_free_slot()
    })
}

fn slot_map(map: &'static Once<SlotMap>) -> &'static SlotMap {
    map.get().expect("vmalloc_init ran")
}

fn take_free_slot() -> Option<usize> {
    let mut slots = slot_map(&SLOTS).lock();
    let (word, bits) = slots
        .iter_mut()
        .enumerate()
        .find(|(_, w)| **w != u64::MAX)?;
    let bit = bits.trailing_ones() as usize;
    *bits |= 1 << bit;
    Some(word * 64 + bit)
}

/// Gives a slot back lazily: its pages are unmapped and freed, but other
/// CPUs may still hold translations of its addresses, so it is not handed
/// out again before the next purge has flushed every TLB.
///
/// Linux: free_vmap_area_noflush() in mm/vmalloc.c
fn free_slot(slot: usize) {
    slot_map(&LAZY_SLOTS).lock()[slot / 64] |= 1 << (slot % 64);
    NR_LAZY_SLOTS.fetch_add(1, Ordering::Relaxed);
}

/// Flushes the stack area from every CPU's TLB, then frees the slots given
/// back since the last purge. Needs interrupts on (it waits for the other
/// CPUs); called from stack allocation, which runs in process context.
///
/// Linux: purge_vmap_area_lazy() / __purge_vmap_area_lazy() in mm/vmalloc.c
fn purge_vmap_area_lazy() {
    let lazy = core::mem::replace(&mut *slot_map(&LAZY_SLOTS).lock(), [0; MAX_STACKS / 64]);
    let start = slot_base(0).as_u64();
    super::tlb::flush_tlb_kernel_range(start, start + MAX_STACKS as u64 * SLOT_SIZE);
    let mut slots = slot_map(&SLOTS).lock();
    let mut purged = 0;
    for (word, lazy) in slots.iter_mut().zip(lazy) {
        *word &= !lazy;
        purged += lazy.count_ones() as usize;
    }
    NR_LAZY_SLOTS.fetch_sub(purged, Ordering::Relaxed);
}
