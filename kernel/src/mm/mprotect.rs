//! Changing the protection of mappings.
//!
//! Linux: mm/mprotect.c

use super::PAGE_SIZE;
use super::memory::change_protection;
use super::mm_types::{MmStruct, VmFlags};
use super::mmap::{
    PROT_EXEC, PROT_READ, PROT_WRITE, calc_vm_prot_bits, current_mm, page_align, split_vma,
};
use super::mmu_gather::tlb_gather_mmu;
use crate::errno::Errno;

/// Changes the protection of [start, start + len).
///
/// Linux: do_mprotect_pkey() in mm/mprotect.c
///
/// # Errors
/// `EINVAL` for bad arguments, `ENOMEM` if part of the range is unmapped,
/// `EACCES` for PROT_WRITE on a MAP_SHARED mapping of a file opened
/// read-only (an area without VM_MAYWRITE).
pub fn do_mprotect(mm: &MmStruct, start: u64, len: u64, prot: u64) -> Result<(), Errno> {
    if !start.is_multiple_of(PAGE_SIZE as u64) || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0
    {
        return Err(Errno::EINVAL);
    }
    let len = page_align(len).ok_or(Errno::ENOMEM)?;
    let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
    let mut tlb = tlb_gather_mmu(mm);
    let mut st = tlb.lock_mmap();
    if !st.covers(start, end) {
        return Err(Errno::ENOMEM);
    }
    let first = st.vmas.partition_point(|v| v.vm_end <= start);
    let new_prot = calc_vm_prot_bits(prot);
    if new_prot.contains(VmFlags::VM_WRITE)
        && st.vmas[first..]
            .iter()
            .take_while(|v| v.vm_start < end)
            .any(|v| !v.vm_flags.contains(VmFlags::VM_MAYWRITE))
    {
        return Err(Errno::EACCES);
    }
    split_vma(&mut st, start)?;
    split_vma(&mut st, end)?;
    let first = st.vmas.partition_point(|v| v.vm_end <= start);
    let last = st.vmas.partition_point(|v| v.vm_start < end);
    for vma in &mut st.vmas[first..last] {
        vma.vm_flags =
            (vma.vm_flags - (VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_EXEC)) | new_prot;
        change_protection(&mut tlb, vma, vma.vm_start, vma.vm_end);
    }
    Ok(())
}

/// Linux: SYSCALL_DEFINE3(mprotect) in mm/mprotect.c
pub fn sys_mprotect(addr: u64, len: u64, prot: u64) -> crate::syscall::SysResult {
    do_mprotect(&*current_mm()?, addr, len, prot).map(|()| 0)
}
