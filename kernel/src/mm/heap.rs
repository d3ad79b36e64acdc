//! The kernel heap behind `alloc` (Box, Vec, Arc): a linked-list allocator
//! over a physically contiguous region set aside at boot.
//!
//! Small blocks are served from the free lists of their size class
//! (`slab.rs`), the rest first-fit from the list of holes.
//!
//! Differs: Linux has slab caches per object type (kmem_cache); one general
//! heap with kmalloc's size classes plays the part of both here.
//!
//! Linux: mm/slub.c (kmalloc), mm/slab_common.c

use super::slab::KmallocCaches;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use linked_list_allocator::Heap;
use x86_64::VirtAddr;

/// The heap and the free lists of its size classes, under one lock.
struct Kmalloc {
    heap: Heap,
    caches: KmallocCaches,
}

impl Kmalloc {
    /// A block for `layout` from the hole list; when none is large enough,
    /// the cached blocks go back first and the search is made once more.
    fn allocate(&mut self, layout: Layout) -> *mut u8 {
        let found = self.heap.allocate_first_fit(layout).or_else(|()| {
            self.caches.drain(&mut self.heap);
            self.heap.allocate_first_fit(layout)
        });
        found.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

struct KernelHeap(SpinLock<Kmalloc>);

#[global_allocator]
static KMALLOC: KernelHeap = KernelHeap(SpinLock::new(Kmalloc {
    heap: Heap::empty(),
    caches: KmallocCaches::new(),
}));

// SAFETY: a block comes either from the locked linked-list heap, which
// returns blocks that fit `layout` and never hands one out twice, or from
// the free list of a class whose blocks all fit `layout` and were freed.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if super::fault_inject::should_fail() {
            return ptr::null_mut();
        }
        let mut k = self.0.lock();
        match KmallocCaches::class(layout) {
            Some(class) => match k.caches.pop(class) {
                Some(block) => block.as_ptr(),
                None => k.allocate(KmallocCaches::block_layout(class)),
            },
            None => k.allocate(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(ptr) = NonNull::new(ptr) else {
            return;
        };
        let mut k = self.0.lock();
        let (ptr, layout) = match KmallocCaches::class(layout) {
            Some(class) => match k.caches.push(class, ptr) {
                Ok(()) => return,
                Err(ptr) => (ptr, KmallocCaches::block_layout(class)),
            },
            None => (ptr, layout),
        };
        // SAFETY: the caller passes a block this allocator returned for
        // `layout`, which came from the heap in the layout computed here.
        unsafe { k.heap.deallocate(ptr, layout) };
    }
}

/// Heap size for a machine with `total` usable bytes: an eighth of memory,
/// between 8 and 64 MiB.
pub fn heap_size_for(total: u64) -> u64 {
    (total / 8).clamp(8 << 20, 64 << 20)
}

/// Hands the heap its memory.
///
/// Linux: kmem_cache_init() in mm/slub.c
pub fn kmem_cache_init(start: VirtAddr, size: u64) {
    // SAFETY: mm_init reserved [start, start + size) for the heap alone; it is
    // mapped writable through the physical-memory map and never freed.
    unsafe {
        KMALLOC
            .0
            .lock()
            .heap
            .init(start.as_mut_ptr(), size as usize)
    };
    log::info!("kmalloc: {} KiB heap at {:#x}", size / 1024, start.as_u64());
}

/// Bytes the heap was given at boot.
pub fn heap_size() -> usize {
    KMALLOC.0.lock().heap.size()
}

/// Bytes of heap currently allocated.
pub fn heap_used() -> usize {
    let k = KMALLOC.0.lock();
    k.heap.used() - k.caches.cached()
}

/// Bytes of heap currently free.
pub fn heap_free() -> usize {
    let k = KMALLOC.0.lock();
    k.heap.free() + k.caches.cached()
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, kassert_eq, ktest};
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    ktest! {
        fn box_and_vec_growing_to_several_mib_are_freed_again() {
            let before = heap_used();
            {
                let boxed = Box::new([7u64; 512]);
                kassert!(boxed.iter().all(|&v| v == 7));
                let mut v: Vec<u64> = Vec::new();
                for i in 0..(4 << 20) / 8 {
                    v.push(i as u64);
                }
                kassert!(v.capacity() * 8 >= 4 << 20, "the vector reached 4 MiB");
                kassert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
                kassert!(heap_used() >= before + (4 << 20));
            }
            kassert_eq!(heap_used(), before);
        }
    }

    ktest! {
        fn an_allocation_larger_than_the_heap_fails_instead_of_panicking() {
            let mut v: Vec<u8> = Vec::new();
            kassert!(v.try_reserve_exact(heap_free() + 4096).is_err());
        }
    }
}

/// A new `Arc<T>` whose value `init` builds in the allocation itself,
/// rather than on the stack and then copied in: what a large structure
/// (the 3.7 KB task) made on a hot path needs.
///
/// Linux: dup_task_struct() in kernel/fork.c fills the task allocated by
/// alloc_task_struct_node() in place.
///
/// # Errors
/// `ENOMEM` when the allocation fails.
pub fn try_arc_with<T>(init: impl FnOnce() -> T) -> Result<Arc<T>, Errno> {
    let mut arc = Arc::<T>::try_new_uninit().map_err(|_| Errno::ENOMEM)?;
    Arc::get_mut(&mut arc)
        .expect("a new Arc has no other reference")
        .write(init());
    // SAFETY: the value was written just above.
    Ok(unsafe { arc.assume_init() })
}
