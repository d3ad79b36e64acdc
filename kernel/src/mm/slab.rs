//! kmalloc's size classes: a freed small block is kept on the free list of
//! its class and handed out again by the next allocation of that class,
//! without walking the heap's hole list. Fork, exit and wait allocate and
//! free the same few dozen objects (task, signal, sighand, files, pid,
//! fs, vectors) each time, so nearly every one is a pop or a push here.
//!
//! Linux: the kmalloc-N caches of mm/slab_common.c and SLUB's freelists
//! (mm/slub.c).
//!
//! Differs: one set of free lists under the heap's lock, not one per CPU
//! with per-type caches; each list keeps at most `CACHE_BYTES`, the rest
//! goes back to the heap, and every list is drained into the heap before
//! an allocation is allowed to fail.

use core::alloc::Layout;
use core::ptr::NonNull;
use linked_list_allocator::Heap;

/// Block sizes of the classes, as Linux's kmalloc-16 ... kmalloc-4k with
/// its -96 and -192; every block is 16-byte aligned.
const CLASSES: [usize; 16] = [
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
];

/// The class of each size in 16-byte steps: `CLASS_OF[size.div_ceil(16)]`,
/// one load instead of a search (Linux: kmalloc_size_index).
const CLASS_OF: [u8; 4096 / ALIGN + 1] = {
    let mut table = [0u8; 4096 / ALIGN + 1];
    let (mut step, mut class) = (0, 0);
    while step < table.len() {
        while CLASSES[class] < step * ALIGN {
            class += 1;
        }
        table[step] = class as u8;
        step += 1;
    }
    table
};

/// The alignment of every block, and the largest a request may ask for.
const ALIGN: usize = 16;

/// Bytes of free blocks one class may keep before blocks go back to the heap.
const CACHE_BYTES: usize = 32 * 1024;

/// A free block, linked through its first word.
struct FreeObject {
    next: Option<NonNull<FreeObject>>,
}

/// The free blocks of one class.
#[derive(Clone, Copy)]
struct FreeList {
    head: Option<NonNull<FreeObject>>,
    len: usize,
}

/// The free lists of every class; lives inside the heap's lock.
pub(super) struct KmallocCaches {
    lists: [FreeList; CLASSES.len()],
    /// Bytes on all free lists: allocated as far as the heap knows, free
    /// for everyone else (`heap_used`).
    cached: usize,
}

// SAFETY: the free blocks are heap memory that no one else references; the
// lists are only reached through the heap's lock.
unsafe impl Send for KmallocCaches {}

impl KmallocCaches {
    /// No block cached yet.
    pub(super) const fn new() -> Self {
        Self {
            lists: [FreeList { head: None, len: 0 }; CLASSES.len()],
            cached: 0,
        }
    }

    /// The class serving `layout`, if a class does.
    pub(super) fn class(layout: Layout) -> Option<usize> {
        if layout.align() > ALIGN {
            return None;
        }
        CLASS_OF
            .get(layout.size().div_ceil(ALIGN))
            .map(|&c| c as usize)
    }

    /// The layout in which a block of `class` is taken from the heap.
    pub(super) fn block_layout(class: usize) -> Layout {
        Layout::from_size_align(CLASSES[class], ALIGN).expect("class sizes are valid layouts")
    }

    /// Bytes held on the free lists.
    pub(super) fn cached(&self) -> usize {
        self.cached
    }

    /// A cached block of `class`, if one is free.
    pub(super) fn pop(&mut self, class: usize) -> Option<NonNull<u8>> {
        let list = &mut self.lists[class];
        let obj = list.head?;
        // SAFETY: `obj` is a free block this list owns, whose first word
        // `push` wrote.
        list.head = unsafe { obj.as_ref().next };
        list.len -= 1;
        self.cached -= CLASSES[class];
        Some(obj.cast())
    }

    /// Keeps the freed block `ptr` of `class`, or gives it back when the
    /// list is full.
    ///
    /// # Errors
    /// `ptr` itself when the list already holds `CACHE_BYTES`.
    pub(super) fn push(&mut self, class: usize, ptr: NonNull<u8>) -> Result<(), NonNull<u8>> {
        let list = &mut self.lists[class];
        if (list.len + 1) * CLASSES[class] > CACHE_BYTES {
            return Err(ptr);
        }
        let obj = ptr.cast::<FreeObject>();
        // SAFETY: the caller frees the block, at least 16 bytes and 16-byte
        // aligned, so it is ours to link through its first word.
        unsafe { obj.write(FreeObject { next: list.head }) };
        list.head = Some(obj);
        list.len += 1;
        self.cached += CLASSES[class];
        Ok(())
    }

    /// Gives every cached block back to `heap`, so that a large request
    /// can use their space.
    ///
    /// Linux: kmem_cache_shrink() in mm/slab_common.c
    pub(super) fn drain(&mut self, heap: &mut Heap) {
        for class in 0..CLASSES.len() {
            while let Some(ptr) = self.pop(class) {
                // SAFETY: the block came from `heap` in its class's layout.
                unsafe { heap.deallocate(ptr, Self::block_layout(class)) };
            }
        }
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn a_freed_block_is_reused_by_its_class_and_drained_back_to_the_heap() {
            let mut mem = alloc::vec![0u8; 64 * 1024];
            let mut heap = Heap::empty();
            // SAFETY: `mem` outlives `heap`, and nothing else uses it.
            unsafe { heap.init(mem.as_mut_ptr(), mem.len()) };
            let mut caches = KmallocCaches::new();
            let class = KmallocCaches::class(Layout::new::<[u8; 200]>()).expect("a class");
            kassert_eq!(CLASSES[class], 256);
            kassert_eq!(KmallocCaches::class(Layout::new::<[u8; 256]>()), Some(class));
            kassert_eq!(KmallocCaches::class(Layout::new::<[u8; 4097]>()), None);
            kassert_eq!(KmallocCaches::class(Layout::from_size_align(8, 64).expect("layout")), None);
            let layout = KmallocCaches::block_layout(class);
            let block = heap.allocate_first_fit(layout).expect("room");
            kassert!(caches.push(class, block).is_ok());
            kassert_eq!(caches.cached(), 256);
            kassert_eq!(caches.pop(class), Some(block), "the freed block comes back");
            kassert_eq!(caches.pop(class), None);
            // SAFETY: taken from `heap` above in `layout`, and off the list.
            unsafe { heap.deallocate(block, layout) };
            let mut kept = 0;
            while let Ok(block) = heap.allocate_first_fit(layout) {
                if let Err(block) = caches.push(class, block) {
                    // SAFETY: taken from `heap` just above in `layout`.
                    unsafe { heap.deallocate(block, layout) };
                    break;
                }
                kept += 1;
            }
            kassert_eq!(kept, CACHE_BYTES / 256, "a full list hands blocks back");
            kassert_eq!(heap.used(), CACHE_BYTES);
            caches.drain(&mut heap);
            kassert_eq!((heap.used(), caches.cached()), (0, 0));
        }
    }
}
