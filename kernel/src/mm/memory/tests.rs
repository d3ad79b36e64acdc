//! Tests of the fault and fork paths' rss accounting.

use super::super::mm_types::{MM_ANONPAGES, MM_SHMEMPAGES, MmStruct, VmBacking};
use super::super::mmap::{
    MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, do_mmap, do_munmap, dup_mm,
};
use super::handle_mm_fault;
use crate::{kassert, kassert_eq, ktest};

ktest! {
    fn rss_counters_follow_faults_fork_and_munmap() {
        let err = |e| alloc::format!("{e:?}");
        let mm = MmStruct::new().map_err(err)?;
        let rw = PROT_READ | PROT_WRITE;
        let anon = do_mmap(&mm, 0, 4 << 12, rw, MAP_PRIVATE | MAP_ANONYMOUS, VmBacking::Anon, true)
            .map_err(err)?;
        let shared = do_mmap(&mm, 0, 1 << 12, rw, MAP_SHARED | MAP_ANONYMOUS, VmBacking::Anon, true)
            .map_err(err)?;
        for addr in [anon, anon + 4096, shared] {
            handle_mm_fault(&mm, addr, true, false).map_err(err)?;
        }
        kassert_eq!(mm.get_mm_counter(MM_ANONPAGES), 2);
        kassert_eq!(mm.get_mm_counter(MM_SHMEMPAGES), 1);
        kassert!(mm.mm_pgtables_bytes() >= 3 * 4096, "a PDPT, a PD and a PT at least");
        let child = dup_mm(&mm).map_err(err)?;
        kassert_eq!(child.get_mm_rss(), 3, "the child maps the same pages");
        do_munmap(&mm, anon, 4 << 12).map_err(err)?;
        kassert_eq!(mm.get_mm_counter(MM_ANONPAGES), 0);
        kassert_eq!(child.get_mm_counter(MM_ANONPAGES), 2, "the child keeps its own");
    }
}

ktest! {
    fn a_private_file_mapping_maps_the_cached_page_read_only_and_copies_on_write() {
        use super::super::filemap::AddressSpace;
        use super::super::mm_types::VmFile;
        use alloc::sync::Arc;
        static DATA: [u8; 8192] = [7; 8192];
        let err = |e| alloc::format!("{e:?}");
        let mapping = Arc::new(AddressSpace::initramfs(&DATA));
        let mm = MmStruct::new().map_err(err)?;
        let file = VmBacking::File(VmFile { mapping: mapping.clone(), pgoff: 0, len: u64::MAX, shm: None, path: None });
        let rw = PROT_READ | PROT_WRITE;
        let addr = do_mmap(&mm, 0, 8192, rw, MAP_PRIVATE, file, true).map_err(err)?;
        handle_mm_fault(&mm, addr, false, false).map_err(err)?;
        let cached = mapping.find_get_page(0).ok_or("the read fault fills the cache")?;
        let (frame, writable) = super::follow_page(&mm, addr).ok_or("mapped")?;
        kassert_eq!((frame, writable), (cached.frame(), false), "the cached page itself, read-only");
        kassert!(super::follow_page(&mm, addr + 4096).is_none(), "fault-around maps only cached pages");
        handle_mm_fault(&mm, addr, true, false).map_err(err)?;
        let (copy, writable) = super::follow_page(&mm, addr).ok_or("mapped")?;
        kassert!(copy != cached.frame() && writable, "the write copies the page");
        kassert_eq!(cached.page_count(), 2, "the cache and this handle hold the original");
    }
}
