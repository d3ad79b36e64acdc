//! Creating, changing and destroying an address space and its mappings:
//! mm_alloc, dup_mm (fork), mmap, munmap, brk. mprotect is in
//! `mprotect.rs`, msync in `msync.rs`.
//!
//! Linux: mm/mmap.c, kernel/fork.c (dup_mm, dup_mmap)

use super::PAGE_SIZE;
use super::memory::{copy_page_range, pgd_alloc, zap_page_range};
use super::mm_types::{
    MmArgs, MmStruct, MmapState, ShmObject, TASK_SIZE, VmAreaStruct, VmBacking, VmFlags,
};
use super::mmu_gather::{MmuGather, tlb_gather_mmu};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fs::file::MmapTarget;
use crate::locking::lockdep::SINGLE_DEPTH_NESTING;
use crate::sysctl::CtlTable;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

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
/// MAP_SHARED that refuses unknown flags (Linux: MAP_SHARED_VALIDATE).
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
/// A stack-like mapping that grows down on faults below it (Linux: MAP_GROWSDOWN).
pub const MAP_GROWSDOWN: u64 = 0x100;
/// Like MAP_FIXED but fail if the range is in use (Linux: MAP_FIXED_NOREPLACE).
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;

pub(super) fn page_align(len: u64) -> Option<u64> {
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
            arg_lock: SpinLock::new(MmArgs::default()),
            rss_stat: Default::default(),
            hiwater_rss: Default::default(),
            pgtables_bytes: AtomicUsize::new(0),
            exe_file: SpinLock::new(None),
            dumpable: AtomicU32::new(super::mm_types::SUID_DUMP_USER),
            mm_users: AtomicUsize::new(0),
            cpu_bitmap: AtomicU64::new(0),
            tlb_gen: AtomicU64::new(0),
            tlb_flush_pending: AtomicUsize::new(0),
            tlb_flush_waiters: AtomicUsize::new(0),
        })
        .map_err(|_| Errno::ENOMEM)
        .inspect(|mm| mm.mmap.lock().mm = Arc::downgrade(mm))
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
    mm.set_dumpable(oldmm.get_dumpable());
    // Dropped after the locks: flushes the parent's write-protected pages
    // on every CPU that runs it before the child can run (Linux: the
    // flush_tlb_mm(oldmm) at the end of dup_mmap()).
    let mut tlb = tlb_gather_mmu(oldmm);
    let old = tlb.lock_mmap();
    let mut new = mm.mmap.lock_nested(SINGLE_DEPTH_NESTING);
    new.vmas
        .try_reserve_exact(old.vmas.len())
        .map_err(|_| Errno::ENOMEM)?;
    new.start_brk = old.start_brk;
    new.brk = old.brk;
    new.start_stack = old.start_stack;
    new.mmap_base = old.mmap_base;
    let (args, exe_file) = (*oldmm.arg_lock.lock(), oldmm.exe_file.lock().clone());
    *mm.arg_lock.lock() = args;
    *mm.exe_file.lock() = exe_file;
    for vma in &old.vmas {
        super::mm_types::vma_charge(1, true)?;
        let mut copy = vma.clone();
        copy.vm_open()?;
        new.vmas.push(copy);
        // Linked before the entries are copied, so that a truncate that
        // misses the child has unmapped the parent's first.
        if let VmBacking::File(file) = &vma.backing {
            file.mapping.vma_link_file(&new.mm)?;
        }
        copy_page_range(&mut tlb, &mm, vma)?;
    }
    drop(new);
    Ok(mm)
}

/// The lowest address a mapping may start at (Linux: vm.mmap_min_addr,
/// whose x86 default is 65536), so that a NULL dereference faults.
pub const MMAP_MIN_ADDR: u64 = 65536;
/// Mappings one address space may hold by default (Linux: DEFAULT_MAX_MAP_COUNT).
pub const DEFAULT_MAX_MAP_COUNT: i32 = 65530;

/// vm.max_map_count, which root may change (Linux: sysctl_max_map_count).
static SYSCTL_MAX_MAP_COUNT: AtomicI32 = AtomicI32::new(DEFAULT_MAX_MAP_COUNT);

/// `/proc/sys/vm/max_map_count`.
///
/// Linux: the vm.max_map_count entry of mm/util.c (proc_dointvec_minmax, min 0)
pub static MAX_MAP_COUNT_SYSCTL: CtlTable = CtlTable {
    procname: "max_map_count",
    data: &SYSCTL_MAX_MAP_COUNT,
    min: 0,
    max: i32::MAX,
    on_write: || Ok(()),
};

/// The most areas one address space may hold now (Linux: get_map_count_limit()).
pub fn sysctl_max_map_count() -> usize {
    SYSCTL_MAX_MAP_COUNT.load(Ordering::Relaxed).max(0) as usize
}

/// Whether any area overlaps [start, end) (Linux: find_vma_intersection()).
fn find_vma_intersection(st: &MmapState, start: u64, end: u64) -> bool {
    let i = st.vmas.partition_point(|v| v.vm_end <= start);
    st.vmas.get(i).is_some_and(|v| v.vm_start < end)
}

/// Moves a hint below mmap_min_addr up to it (Linux: round_hint_to_min()).
fn round_hint_to_min(hint: u64) -> u64 {
    let hint = hint & !(PAGE_SIZE as u64 - 1);
    if hint != 0 && hint < MMAP_MIN_ADDR {
        return MMAP_MIN_ADDR;
    }
    hint
}

/// Picks where a mapping of `len` bytes goes: exactly `addr` for MAP_FIXED,
/// the hint `addr` if that range is free, or else the highest free range
/// below `mmap_base`.
///
/// Linux: __get_unmapped_area() / arch_get_unmapped_area_topdown() in mm/mmap.c
/// Differs: a MAP_FIXED address below mmap_min_addr needs CAP_SYS_RAWIO in
/// Linux (EPERM without); every caller is root here, so it is allowed.
///
/// # Errors
/// `ENOMEM` when the range does not fit in user space or nothing is free,
/// `EINVAL` for an unaligned MAP_FIXED address.
fn get_unmapped_area(st: &MmapState, addr: u64, len: u64, fixed: bool) -> Result<u64, Errno> {
    if len > TASK_SIZE - MMAP_MIN_ADDR {
        return Err(Errno::ENOMEM);
    }
    if fixed {
        if addr > TASK_SIZE - len {
            return Err(Errno::ENOMEM);
        }
        if !addr.is_multiple_of(PAGE_SIZE as u64) {
            return Err(Errno::EINVAL);
        }
        return Ok(addr);
    }
    if addr != 0 && addr <= TASK_SIZE - len && !find_vma_intersection(st, addr, addr + len) {
        return Ok(addr);
    }
    let mut top = st.mmap_base;
    for vma in st.vmas.iter().rev() {
        if vma.vm_start >= top {
            continue;
        }
        if vma.vm_end + len <= top && top - len >= MMAP_MIN_ADDR {
            return Ok(top - len);
        }
        top = vma.vm_start;
    }
    top.checked_sub(len)
        .filter(|&a| a >= MMAP_MIN_ADDR)
        .ok_or(Errno::ENOMEM)
}

/// Creates a mapping; returns its address. `maywrite` is false for a
/// MAP_SHARED mapping of a file opened read-only, which mprotect may then
/// not make writable.
///
/// Linux: do_mmap() in mm/mmap.c
///
/// # Errors
/// `EINVAL` for bad arguments, `ENOMEM` when no room or past
/// vm.max_map_count, `EEXIST` for MAP_FIXED_NOREPLACE over a mapping.
pub fn do_mmap(
    mm: &MmStruct,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    backing: VmBacking,
    maywrite: bool,
) -> Result<u64, Errno> {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let addr = if fixed { addr } else { round_hint_to_min(addr) };
    let len = page_align(len).ok_or(Errno::ENOMEM)?;
    let mut tlb = tlb_gather_mmu(mm);
    let mut st = tlb.lock_mmap();
    // One past the limit is allowed, as in Linux, where the new area might
    // have merged with a neighbour.
    if st.vmas.len() > sysctl_max_map_count() {
        return Err(Errno::ENOMEM);
    }
    let start = get_unmapped_area(&st, addr, len, fixed)?;
    let mut vm_flags = calc_vm_prot_bits(prot) | VmFlags::VM_MAYWRITE;
    if !maywrite {
        vm_flags -= VmFlags::VM_MAYWRITE;
    }
    if flags & MAP_GROWSDOWN != 0 {
        vm_flags |= VmFlags::VM_GROWSDOWN;
    }
    let backing = match (flags & 0x3, backing) {
        (MAP_SHARED | MAP_SHARED_VALIDATE, VmBacking::Anon) => {
            vm_flags |= VmFlags::VM_SHARED;
            VmBacking::Shared(Arc::try_new(ShmObject::default()).map_err(|_| Errno::ENOMEM)?)
        }
        (MAP_SHARED | MAP_SHARED_VALIDATE, backing) => {
            vm_flags |= VmFlags::VM_SHARED;
            backing
        }
        (MAP_PRIVATE, backing) => backing,
        _ => return Err(Errno::EINVAL),
    };
    if fixed {
        if flags & MAP_FIXED_NOREPLACE != 0 && find_vma_intersection(&st, start, start + len) {
            return Err(Errno::EEXIST);
        }
        unmap_locked(&mut tlb, &mut st, start, len)?;
    }
    st.insert_vma(VmAreaStruct {
        vm_start: start,
        vm_end: start + len,
        vm_flags,
        backing,
    })?;
    Ok(start)
}

/// Splits the VMA that straddles `addr`, if one does, unless that would
/// pass vm.max_map_count.
///
/// Linux: split_vma() in mm/vma.c
///
/// # Errors
/// `ENOMEM` at the limit or when the list cannot grow.
pub(super) fn split_vma(st: &mut MmapState, addr: u64) -> Result<(), Errno> {
    let i = st.vmas.partition_point(|v| v.vm_end <= addr);
    if st.vmas.get(i).is_some_and(|v| v.vm_start < addr) && st.vmas.len() >= sysctl_max_map_count()
    {
        return Err(Errno::ENOMEM);
    }
    __split_vma(st, addr)
}

/// Splits the VMA that straddles `addr` so that one ends and the next
/// starts there.
///
/// Linux: __split_vma() in mm/vma.c
///
/// # Errors
/// `ENOMEM` when the list cannot grow or areas hold their share of the
/// heap (see `vma_charge`).
fn __split_vma(st: &mut MmapState, addr: u64) -> Result<(), Errno> {
    let i = st.vmas.partition_point(|v| v.vm_end <= addr);
    if st.vmas.get(i).is_none_or(|v| v.vm_start >= addr) {
        return Ok(());
    }
    let mut upper = st.vmas[i].clone();
    upper.vm_open()?;
    if let VmBacking::File(file) = &mut upper.backing {
        let cut = addr - upper.vm_start;
        file.pgoff += cut;
        file.len = file.len.saturating_sub(cut);
    }
    upper.vm_start = addr;
    st.vmas.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    super::mm_types::vma_charge(1, false)?;
    st.vmas[i].vm_end = addr;
    let lower_len = addr - st.vmas[i].vm_start;
    if let VmBacking::File(file) = &mut st.vmas[i].backing {
        file.len = file.len.min(lower_len);
    }
    st.vmas.insert(i + 1, upper);
    Ok(())
}

/// Removes the areas in [start, start + len), splitting those that
/// straddle its ends, and frees their pages. Only a hole in the middle of
/// one area is refused at vm.max_map_count: it would leave one area more.
///
/// Linux: do_vmi_align_munmap() in mm/vma.c
///
/// # Errors
/// `ENOMEM` at the limit or when the list cannot grow.
fn unmap_locked(
    tlb: &mut MmuGather<'_>,
    st: &mut MmapState,
    start: u64,
    len: u64,
) -> Result<(), Errno> {
    let end = start + len;
    let first = st.vmas.partition_point(|v| v.vm_end <= start);
    if st.vmas.len() >= sysctl_max_map_count()
        && st
            .vmas
            .get(first)
            .is_some_and(|v| v.vm_start < start && end < v.vm_end)
    {
        return Err(Errno::ENOMEM);
    }
    __split_vma(st, start)?;
    __split_vma(st, end)?;
    let first = st.vmas.partition_point(|v| v.vm_end <= start);
    let last = st.vmas.partition_point(|v| v.vm_start < end);
    for vma in &st.vmas[first..last] {
        zap_page_range(tlb, vma, vma.vm_start, vma.vm_end)?;
    }
    st.vmas.drain(first..last);
    super::mm_types::vma_uncharge(last - first);
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
    let mut tlb = tlb_gather_mmu(mm);
    let mut st = tlb.lock_mmap();
    unmap_locked(&mut tlb, &mut st, start, len)
}

/// Least room kept between a growing stack and the area below it (Linux:
/// stack_guard_gap, 256 pages).
const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE as u64;

/// Grows the VM_GROWSDOWN area just above `addr` down to cover it, for a
/// fault there: to RLIMIT_STACK in all at most, and never closer than
/// stack_guard_gap to the area below. Returns the grown area.
///
/// Linux: expand_stack() / expand_downwards() in mm/mmap.c
///
/// # Errors
/// `EFAULT` (SIGSEGV) when no such area is there or a limit refuses.
pub fn expand_stack(st: &mut MmapState, addr: u64) -> Result<VmAreaStruct, Errno> {
    let addr = addr & !(PAGE_SIZE as u64 - 1);
    let i = st.vmas.partition_point(|v| v.vm_end <= addr);
    let vma = st
        .vmas
        .get(i)
        .filter(|v| v.vm_flags.contains(VmFlags::VM_GROWSDOWN))
        .filter(|v| matches!(v.backing, VmBacking::Anon))
        .ok_or(Errno::EFAULT)?;
    let limit = crate::resource::rlimit(crate::resource::RLIMIT_STACK);
    if addr < MMAP_MIN_ADDR || vma.vm_end - addr > limit {
        return Err(Errno::EFAULT);
    }
    if let Some(prev) = i.checked_sub(1).map(|j| &st.vmas[j])
        && !prev.vm_flags.contains(VmFlags::VM_GROWSDOWN)
        && addr - prev.vm_end < STACK_GUARD_GAP
    {
        return Err(Errno::EFAULT);
    }
    st.vmas[i].vm_start = addr;
    Ok(st.vmas[i].clone())
}

/// Moves the end of the heap; returns the new break (the old one on failure,
/// as Linux's brk does).
///
/// Linux: SYSCALL_DEFINE1(brk) in mm/mmap.c
pub fn do_brk(mm: &MmStruct, brk: u64) -> u64 {
    let mut tlb = tlb_gather_mmu(mm);
    let mut st = tlb.lock_mmap();
    let old = st.brk;
    if brk < st.start_brk || brk > st.mmap_base {
        return old;
    }
    let old_end = page_align(old).unwrap_or(old);
    let new_end = page_align(brk).unwrap_or(brk);
    if new_end < old_end {
        if unmap_locked(&mut tlb, &mut st, new_end, old_end - new_end).is_err() {
            return old;
        }
    } else if new_end > old_end && do_brk_flags(&mut st, old_end, new_end).is_err() {
        return old;
    }
    st.brk = brk;
    brk
}

/// Grows the heap from `old_end` to `new_end`: the heap's last area is
/// extended when it ends at `old_end`, so that many small brk calls make
/// one area, not one each.
///
/// Linux: do_brk_flags() in mm/vma.c
///
/// # Errors
/// `ENOMEM` when the range is in use or vm.max_map_count is reached.
fn do_brk_flags(st: &mut MmapState, old_end: u64, new_end: u64) -> Result<(), Errno> {
    if find_vma_intersection(st, old_end, new_end) {
        return Err(Errno::ENOMEM);
    }
    let heap_flags = VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_MAYWRITE;
    let start_brk = st.start_brk;
    let i = st.vmas.partition_point(|v| v.vm_end < old_end);
    if let Some(prev) = st.vmas.get_mut(i).filter(|v| {
        v.vm_end == old_end
            && v.vm_start >= start_brk
            && v.vm_flags == heap_flags
            && matches!(v.backing, VmBacking::Anon)
    }) {
        prev.vm_end = new_end;
        return Ok(());
    }
    if st.vmas.len() > sysctl_max_map_count() {
        return Err(Errno::ENOMEM);
    }
    st.insert_vma(VmAreaStruct {
        vm_start: old_end,
        vm_end: new_end,
        vm_flags: heap_flags,
        backing: VmBacking::Anon,
    })
}

pub(crate) fn current_mm() -> Result<Arc<MmStruct>, Errno> {
    crate::task::current()
        .mm
        .lock()
        .clone()
        .ok_or(Errno::EINVAL)
}

/// Linux: SYSCALL_DEFINE6(mmap) / ksys_mmap_pgoff() in mm/mmap.c
///
/// # Errors
/// As do_mmap; `EBADF`; `EACCES` for a file not opened for reading, or
/// MAP_SHARED with PROT_WRITE of a file not opened for writing; `ENODEV`
/// for a file that cannot be mapped; `EOVERFLOW` when offset plus length
/// wraps.
pub fn sys_mmap(
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: i32,
    off: u64,
) -> crate::syscall::SysResult {
    if !off.is_multiple_of(PAGE_SIZE as u64) {
        return Err(Errno::EINVAL);
    }
    let mut maywrite = true;
    let backing = if flags & MAP_ANONYMOUS != 0 {
        VmBacking::Anon
    } else {
        let file = crate::fs::read_write::fdget(fd)?;
        if !file.readable() {
            return Err(Errno::EACCES);
        }
        if flags & 0x3 != MAP_PRIVATE && !file.writable() {
            if prot & PROT_WRITE != 0 {
                return Err(Errno::EACCES);
            }
            maywrite = false;
        }
        match file.f_op.mmap()? {
            MmapTarget::Anonymous => VmBacking::Anon,
            MmapTarget::PageCache(mapping) => {
                off.checked_add(page_align(len).ok_or(Errno::ENOMEM)?)
                    .ok_or(Errno::EOVERFLOW)?;
                VmBacking::File(super::mm_types::VmFile {
                    mapping,
                    pgoff: off,
                    len: u64::MAX,
                    shm: None,
                    path: file.f_path.as_ref().map(|p| p.try_share()).transpose()?,
                })
            }
        }
    };
    do_mmap(&*current_mm()?, addr, len, prot, flags, backing, maywrite)
}

/// Linux: SYSCALL_DEFINE2(munmap) in mm/mmap.c
pub fn sys_munmap(addr: u64, len: u64) -> crate::syscall::SysResult {
    do_munmap(&*current_mm()?, addr, len).map(|()| 0)
}

/// Linux: SYSCALL_DEFINE1(brk) in mm/mmap.c
pub fn sys_brk(brk: u64) -> crate::syscall::SysResult {
    Ok(do_brk(&*current_mm()?, brk))
}
