//! The kernel heap behind `alloc` (Box, Vec, Arc): a linked-list allocator
//! over a physically contiguous region set aside at boot.
//!
//! Differs: Linux has slab caches per object type (kmem_cache); one general
//! heap plays the part of kmalloc() here.
//!
//! Linux: mm/slub.c (kmalloc), mm/slab_common.c

use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use linked_list_allocator::Heap;
use x86_64::VirtAddr;

struct KernelHeap(SpinLock<Heap>);

#[global_allocator]
static KMALLOC: KernelHeap = KernelHeap(SpinLock::new(Heap::empty()));

// SAFETY: allocation and deallocation go through the locked linked-list
// heap, which returns blocks that fit `layout` and never hands one out twice.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if super::fault_inject::should_fail() {
            return ptr::null_mut();
        }
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a block this allocator returned for `layout`.
            unsafe { self.0.lock().deallocate(ptr, layout) };
        }
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
    unsafe { KMALLOC.0.lock().init(start.as_mut_ptr(), size as usize) };
    log::info!("kmalloc: {} KiB heap at {:#x}", size / 1024, start.as_u64());
}

/// Bytes the heap was given at boot.
pub fn heap_size() -> usize {
    KMALLOC.0.lock().size()
}

/// Bytes of heap currently allocated.
pub fn heap_used() -> usize {
    KMALLOC.0.lock().used()
}

/// Bytes of heap currently free.
pub fn heap_free() -> usize {
    KMALLOC.0.lock().free()
}

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
