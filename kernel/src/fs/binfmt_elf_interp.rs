//! Loading the dynamic linker a program's PT_INTERP names (ld-musl,
//! glibc's ld-linux): its segments go where mmap finds room for all of
//! them at once, below the mmap base, and the thread starts at its entry
//! point; the program's own entry reaches it in AT_ENTRY, its own load
//! address in AT_BASE.
//!
//! Linux: load_elf_interp() in fs/binfmt_elf.c

use super::binfmt_elf::{Elf, map_segments};
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::filemap::AddressSpace;
use crate::mm::mm_types::{MmStruct, VmBacking};
use crate::mm::mmap::{MAP_PRIVATE, do_mmap, do_munmap};
use alloc::sync::Arc;
use elf::abi::{ET_DYN, PT_LOAD};

/// The span of the PT_LOAD segments, from the page of the lowest to the end
/// of the highest; `None` without a segment or for one that wraps.
///
/// Linux: total_mapping_size() in fs/binfmt_elf.c
fn total_mapping_size(elf: &Elf) -> Option<(u64, u64)> {
    let loads = || elf.phdrs().iter().filter(|ph| ph.p_type == PT_LOAD);
    let first = loads().next()?.p_vaddr;
    let last = loads().last()?;
    let start = first - first % PAGE_SIZE as u64;
    let end = last.p_vaddr.checked_add(last.p_memsz)?;
    Some((start, end.checked_sub(start)?))
}

/// Maps the dynamic linker into `mm`; returns its load bias (AT_BASE).
/// An ET_DYN linker goes wherever mmap finds room for all its segments;
/// an ET_EXEC one at its own addresses.
///
/// Linux: load_elf_interp() in fs/binfmt_elf.c
///
/// # Errors
/// `EINVAL` for a linker without segments or whose segments wrap;
/// `ENOMEM` when no room is left; as elf_map.
pub fn load_elf_interp(elf: &Elf, file: &Arc<AddressSpace>, mm: &MmStruct) -> Result<u64, Errno> {
    let (start, size) = total_mapping_size(elf).ok_or(Errno::EINVAL)?;
    let load_bias = match elf.ehdr.e_type {
        ET_DYN => {
            // Linux maps the first segment with the whole size and unmaps
            // the rest; finding the room, then freeing it, is the same.
            let base = do_mmap(mm, 0, size, 0, MAP_PRIVATE, VmBacking::Anon, true)?;
            do_munmap(mm, base, size)?;
            base.wrapping_sub(start)
        }
        _ => 0,
    };
    map_segments(elf, file, mm, load_bias)?;
    Ok(load_bias)
}
