//! Creating, changing and destroying an address space and its mappings:
//! mm_alloc, dup_mm (fork), mmap, munmap, mprotect, brk.
//!
//! Linux: mm/mmap.c, mm/mprotect.c, kernel/fork.c (dup_mm, dup_mmap)

use super::PAGE_SIZE;
use super::memory::{change_protection, copy_page_range, free_pgtables, pgd_alloc, zap_page_range};
use super::mm_types::{
    MmStruct, MmapState, ShmObject, TASK_SIZE, VmAreaStruct, VmBacking, VmFlags,
};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use alloc::sync::Arc;

/// Protection bits of mmap/mprotect (Linux: PROT_*).
pub const PROT_READ: u64 = 0x1;
/// Writable.
pub const PROT_WRITE: u64 = 0x2;
/// Executable.
pub const PROT_EXEC: u64 = 0x4;
/// Share changes with other mappings of the object (Linux: MAP_SHARED).
pub const MAP_SHARED: u64 = 0x01;
/// Private copy-on-write mapping (Linux: MAP_PRIVATE).
pub const MAP_PRIVATE: u64 = 0x02;
/// Place exactly at `addr` (Linux: MAP_FIXED).
pub const MAP_FIXED: u64 = 0x10;
/// Not backed by a file (Linux: MAP_ANONYMOUS).
pub const MAP_ANONYMOUS: u64 = 0x20;
/// Like MAP_FIXED but fail if the range is in use (Linux: MAP_FIXED_NOREPLACE).
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;

fn page_align(len: u64) -> Option<u64> {
    len.checked_add(PAGE_SIZE as u64 - 1)
        .map(|l| l & !(PAGE_SIZE as u64 - 1))
}

/// VM_* flags for PROT_* bits.
pub fn calc_vm_prot_bits(prot: u64) -> VmFlags {
    let mut flags = VmFlags::empty();
    if prot & PROT_READ != 0 {
        flags |= VmFlags::VM_READ;
    }
    if prot & PROT_WRITE != 0 {
        flags |= VmFlags::VM_WRITE;
    }
    if prot & PROT_EXEC != 0 {
        flags |= VmFlags::VM_EXEC;
    }
    flags
}

impl MmStruct {
    /// A new, empty address space.
    ///
    /// Linux: mm_alloc() in kernel/fork.c
    ///
    /// # Errors
    /// `ENOMEM`.
    pub fn new() -> Result<Arc<MmStruct>, Errno> {
        let pgd = pgd_alloc()?;
        Arc::try_new(MmStruct {
            pgd,
            mmap: SpinLock::new(MmapState::new()),
            cmdline: SpinLock::new(alloc::vec::Vec::new()),
        })
        .map_err(|_| {
            free_pgtables(pgd);
            Errno::ENOMEM
        })
    }
}

impl Drop for MmStruct {
    /// Linux: mmput() -> exit_mmap() in kernel/fork.c and mm/mmap.c
    fn drop(&mut self) {
        free_pgtables(self.pgd);
    }
}

/// Copies an address space for fork: every VMA, and page tables that share
/// the pages copy-on-write.
///
/// Linux: dup_mm() / dup_mmap() in kernel/fork.c and mm/mmap.c
///
/// # Errors
/// `ENOMEM`; everything copied so far is released with the new mm.
pub fn dup_mm(oldmm: &MmStruct) -> Result<Arc<MmStruct>, Errno> {
    let mm = MmStruct::new()?;
    let old = oldmm.mmap.lock();
    let mut new = mm.mmap.lock();
    new.vmas
        .try_reserve_exact(old.vmas.len())
        .map_err(|_| Errno::ENOMEM)?;
    new.start_brk = old.start_brk;
    new.brk = old.brk;
    new.start_stack = old.start_stack;
    new.mmap_base = old.mmap_base;
    {
        let old_cmdline = oldmm.cmdline.lock();
        let mut cmdline = mm.cmdline.lock();
        cmdline
            .try_reserve_exact(old_cmdline.len())
            .map_err(|_| Errno::ENOMEM)?;
        cmdline.extend_from_slice(&old_cmdline);
    }
    for vma in &old.vmas {
        new.vmas.push(vma.clone());
        copy_page_range(oldmm, &mm, &mut new, vma)?;
    }
    drop(new);
    Ok(mm)
}

/// Finds a free range of `len` bytes below `mmap_base`, top down.
///
/// Linux: arch_get_unmapped_area_topdown() in mm/mmap.c
fn get_unmapped_area(st: &MmapState, len: u64) -> Result<u64, Errno> {
    let mut top = st.mmap_base;
    for vma in st.vmas.iter().rev() {
        if vma.vm_start >= top {
            continue;
        }
        if vma.vm_end + len <= top {
            return Ok(top - len);
        }
        top = top.min(vma.vm_start);
    }
    top.checked_sub(len)
        .filter(|&a| a >= PAGE_SIZE as u64 * 16)
        .ok_or(Errno::ENOMEM)
}

/// Creates a mapping; returns its address.
///
/// Linux: do_mmap() in mm/mmap.c
///
/// # Errors
/// `EINVAL` for bad arguments, `ENOMEM` when no room, `EEXIST` for
/// MAP_FIXED_NOREPLACE over a mapping.
pub fn do_mmap(
    mm: &MmStruct,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    backing: VmBacking,
) -> Result<u64, Errno> {
    let len = page_align(len).filter(|&l| l != 0).ok_or(Errno::EINVAL)?;
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    if fixed
        && (!addr.is_multiple_of(PAGE_SIZE as u64)
            || addr.checked_add(len).is_none_or(|end| end > TASK_SIZE))
    {
        return Err(Errno::EINVAL);
    }
    let mut vm_flags = calc_vm_prot_bits(prot);
    let backing = match (flags & 0x3, backing) {
        (MAP_SHARED, VmBacking::Anon) => {
            vm_flags |= VmFlags::VM_SHARED;
            VmBacking::Shared(Arc::try_new(ShmObject::default()).map_err(|_| Errno::ENOMEM)?)
        }
        (MAP_SHARED | MAP_PRIVATE, backing) => backing,
        _ => return Err(Errno::EINVAL),
    };
    let mut st = mm.mmap.lock();
    let start = if fixed {
        if flags & MAP_FIXED_NOREPLACE != 0
            && st
                .vmas
                .iter()
                .any(|v| v.vm_start < addr + len && addr < v.vm_end)
        {
            return Err(Errno::EEXIST);
        }
        unmap_locked(mm, &mut st, addr, len)?;
        addr
    } else {
        get_unmapped_area(&st, len)?
    };
    st.insert_vma(VmAreaStruct {
        vm_start: start,
        vm_end: start + len,
        vm_flags,
        backing,
    })?;
    Ok(start)
}

/// Splits the VMA that straddles `addr` so that one ends and the next
/// starts there (Linux: split_vma()).
fn split_vma_at(st: &mut MmapState, addr: u64) -> Result<(), Errno> {
    let Some(i) = st
        .vmas
        .iter()
        .position(|v| v.vm_start < addr && addr < v.vm_end)
    else {
        return Ok(());
    };
    let mut upper = st.vmas[i].clone();
    if let VmBacking::File(file) = &mut upper.backing {
        let cut = addr - upper.vm_start;
        file.pgoff += cut;
        file.len = file.len.saturating_sub(cut);
    }
    upper.vm_start = addr;
    st.vmas.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    st.vmas[i].vm_end = addr;
    let lower_len = addr - st.vmas[i].vm_start;
    if let VmBacking::File(file) = &mut st.vmas[i].backing {
        file.len = file.len.min(lower_len);
    }
    st.vmas.insert(i + 1, upper);
    Ok(())
}

fn unmap_locked(mm: &MmStruct, st: &mut MmapState, start: u64, len: u64) -> Result<(), Errno> {
    let end = start + len;
    split_vma_at(st, start)?;
    split_vma_at(st, end)?;
    st.vmas.retain(|v| v.vm_end <= start || v.vm_start >= end);
    zap_page_range(mm, start, end);
    Ok(())
}

/// Removes every mapping in [start, start + len).
///
/// Linux: do_munmap() in mm/mmap.c
///
/// # Errors
/// `EINVAL` for an unaligned or out-of-range request.
pub fn do_munmap(mm: &MmStruct, start: u64, len: u64) -> Result<(), Errno> {
    let len = page_align(len).filter(|&l| l != 0).ok_or(Errno::EINVAL)?;
    if !start.is_multiple_of(PAGE_SIZE as u64)
        || start.checked_add(len).is_none_or(|end| end > TASK_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    unmap_locked(mm, &mut mm.mmap.lock(), start, len)
}

/// Changes the protection of [start, start + len).
///
/// Linux: do_mprotect_pkey() in mm/mprotect.c
///
/// # Errors
/// `EINVAL` for bad arguments, `ENOMEM` if part of the range is unmapped.
pub fn do_mprotect(mm: &MmStruct, start: u64, len: u64, prot: u64) -> Result<(), Errno> {
    if !start.is_multiple_of(PAGE_SIZE as u64) || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0
    {
        return Err(Errno::EINVAL);
    }
    let len = page_align(len).ok_or(Errno::ENOMEM)?;
    let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
    let mut st = mm.mmap.lock();
    let mut covered = start;
    for v in st
        .vmas
        .iter()
        .filter(|v| v.vm_end > start && v.vm_start < end)
    {
        if v.vm_start > covered {
            return Err(Errno::ENOMEM);
        }
        covered = v.vm_end;
    }
    if covered < end {
        return Err(Errno::ENOMEM);
    }
    split_vma_at(&mut st, start)?;
    split_vma_at(&mut st, end)?;
    let new_prot = calc_vm_prot_bits(prot);
    for vma in st
        .vmas
        .iter_mut()
        .filter(|v| v.vm_start >= start && v.vm_end <= end)
    {
        vma.vm_flags =
            (vma.vm_flags - (VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_EXEC)) | new_prot;
        change_protection(mm, vma, vma.vm_start, vma.vm_end);
    }
    Ok(())
}

/// Moves the end of the heap; returns the new break (the old one on failure,
/// as Linux's brk does).
///
/// Linux: SYSCALL_DEFINE1(brk) in mm/mmap.c
pub fn do_brk(mm: &MmStruct, brk: u64) -> u64 {
    let mut st = mm.mmap.lock();
    let old = st.brk;
    if brk < st.start_brk || brk > st.mmap_base {
        return old;
    }
    let old_end = page_align(old).unwrap_or(old);
    let new_end = page_align(brk).unwrap_or(brk);
    if new_end < old_end {
        if unmap_locked(mm, &mut st, new_end, old_end - new_end).is_err() {
            return old;
        }
    } else if new_end > old_end {
        if st
            .vmas
            .iter()
            .any(|v| v.vm_start < new_end && old_end < v.vm_end)
        {
            return old;
        }
        let vma = VmAreaStruct {
            vm_start: old_end,
            vm_end: new_end,
            vm_flags: VmFlags::VM_READ | VmFlags::VM_WRITE,
            backing: VmBacking::Anon,
        };
        if st.insert_vma(vma).is_err() {
            return old;
        }
    }
    st.brk = brk;
    brk
}

fn current_mm() -> Result<Arc<MmStruct>, Errno> {
    crate::task::current()
        .mm
        .lock()
        .clone()
        .ok_or(Errno::EINVAL)
}

/// Linux: SYSCALL_DEFINE6(mmap) / ksys_mmap_pgoff() in mm/mmap.c
///
/// # Errors
/// As do_mmap; `ENODEV` for file mappings of anything but ramfs files.
pub fn sys_mmap(
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: i32,
    off: u64,
) -> crate::syscall::SysResult {
    let backing = if flags & MAP_ANONYMOUS != 0 {
        VmBacking::Anon
    } else {
        let file = crate::fs::read_write::fdget(fd)?;
        if flags & 0x3 == MAP_SHARED && prot & PROT_WRITE != 0 {
            return Err(Errno::EACCES);
        }
        let data = file.f_op.mmap_data().ok_or(Errno::ENODEV)?;
        let start = (off as usize).min(data.len());
        VmBacking::File(super::mm_types::VmFile {
            data: super::mm_types::FileBytes::Static(data),
            pgoff: start as u64,
            len: (data.len() - start) as u64,
        })
    };
    if !off.is_multiple_of(PAGE_SIZE as u64) {
        return Err(Errno::EINVAL);
    }
    do_mmap(&*current_mm()?, addr, len, prot, flags, backing)
}

/// Linux: SYSCALL_DEFINE2(munmap) in mm/mmap.c
pub fn sys_munmap(addr: u64, len: u64) -> crate::syscall::SysResult {
    do_munmap(&*current_mm()?, addr, len).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE3(mprotect) in mm/mprotect.c
pub fn sys_mprotect(addr: u64, len: u64, prot: u64) -> crate::syscall::SysResult {
    do_mprotect(&*current_mm()?, addr, len, prot).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE1(brk) in mm/mmap.c
pub fn sys_brk(brk: u64) -> crate::syscall::SysResult {
    Ok(do_brk(&*current_mm()?, brk))
}
