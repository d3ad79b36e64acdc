//! Address spaces: `MmStruct` and its list of virtual memory areas.
//!
//! Linux: include/linux/mm_types.h (struct mm_struct, struct vm_area_struct)

use super::filemap::AddressSpace;
use super::memory::Pgd;
use super::page_alloc::Page;
use crate::arch::sync::SpinLock;
use crate::cpumask::CpuMask;
use crate::errno::Errno;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use bitflags::bitflags;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

bitflags! {
    /// What a mapping allows (Linux: VM_* in include/linux/mm.h).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct VmFlags: u64 {
        /// Readable.
        const VM_READ = 0x0000_0001;
        /// Writable.
        const VM_WRITE = 0x0000_0002;
        /// Executable.
        const VM_EXEC = 0x0000_0004;
        /// Shared between processes: fork shares the pages, no copy-on-write.
        const VM_SHARED = 0x0000_0008;
        /// mprotect may add VM_WRITE (clear for a MAP_SHARED mapping of a
        /// file opened read-only).
        const VM_MAYWRITE = 0x0000_0020;
        /// The stack.
        const VM_GROWSDOWN = 0x0000_0100;
    }
}

/// The file behind a file mapping: its page cache, mapped page by page
/// (Linux: vm_file, vm_pgoff).
#[derive(Clone)]
pub struct VmFile {
    /// The file's page cache (Linux: vm_file->f_mapping).
    pub mapping: Arc<AddressSpace>,
    /// File offset that `vm_start` maps, in bytes (Linux: vm_pgoff, in pages).
    pub pgoff: u64,
    /// Bytes of the file mapped from `vm_start`; beyond them the area is
    /// zero-filled (an ELF segment's .bss). `u64::MAX` for mmap, where
    /// only the file's end limits what is mapped (past it: SIGBUS).
    pub len: u64,
    /// The attach of a SysV shared memory segment this area is (Linux: a
    /// vm_file with shm_vm_ops): a new area from this one (fork, a split)
    /// takes its own with `vm_open`; the last reference detaches.
    pub shm: Option<Arc<crate::ipc::shm::ShmAttach>>,
    /// The file's name and inode, for `/proc/<pid>/maps` (Linux: the
    /// f_path of vm_file); `None` until exec names a program's areas.
    pub path: Option<Arc<crate::fs::file::Path>>,
}

impl core::fmt::Debug for VmFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "file+{:#x}", self.pgoff)
    }
}

/// The pages of a shared anonymous mapping, found by page offset, so that a
/// page first touched after fork is still shared (Linux: a shmem file).
#[derive(Default)]
pub struct ShmObject {
    pages: SpinLock<BTreeMap<u64, Page>>,
}

impl ShmObject {
    /// The page at `pgoff`, allocated zeroed on first use; the caller gets a
    /// reference of its own.
    ///
    /// Linux: shmem_get_folio() in mm/shmem.c
    ///
    /// # Errors
    /// `ENOMEM` when no page is free.
    pub fn get_page(&self, pgoff: u64) -> Result<Page, Errno> {
        let mut pages = self.pages.lock();
        if let Some(page) = pages.get(&pgoff) {
            return Ok(page.clone());
        }
        let page = super::page_alloc::get_zeroed_page()?.share();
        pages.insert(pgoff, page.clone());
        Ok(page)
    }
}

/// What backs a mapping's pages.
#[derive(Clone)]
pub enum VmBacking {
    /// Private anonymous memory: zero-filled on first touch.
    Anon,
    /// File mapping: the file's page-cache pages, shared (VM_SHARED) or
    /// copied on first write.
    File(VmFile),
    /// Shared anonymous memory.
    Shared(Arc<ShmObject>),
}

impl core::fmt::Debug for VmBacking {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            VmBacking::Anon => f.write_str("anon"),
            VmBacking::File(file) => write!(f, "file+{:#x}", file.pgoff),
            VmBacking::Shared(_) => f.write_str("shared"),
        }
    }
}

/// One contiguous mapping (Linux: `struct vm_area_struct`).
#[derive(Clone, Debug)]
pub struct VmAreaStruct {
    /// First address (page aligned).
    pub vm_start: u64,
    /// One past the last address (page aligned).
    pub vm_end: u64,
    /// Permissions and kind.
    pub vm_flags: VmFlags,
    /// Where the pages come from.
    pub backing: VmBacking,
}

impl VmAreaStruct {
    /// Tells what backs a copy of an area (fork, a split) that it is
    /// mapped once more: a SysV segment counts one more attach.
    ///
    /// Linux: vma->vm_ops->open(), shm_open() in ipc/shm.c
    ///
    /// # Errors
    /// `ENOMEM`.
    pub fn vm_open(&mut self) -> Result<(), Errno> {
        if let VmBacking::File(VmFile { shm: Some(shm), .. }) = &mut self.backing {
            *shm = shm.shm_open_again()?;
        }
        Ok(())
    }

    /// Whether `addr` lies inside.
    pub fn contains(&self, addr: u64) -> bool {
        (self.vm_start..self.vm_end).contains(&addr)
    }
}

/// The mutable part of an address space, under its lock (Linux: what
/// `mmap_lock` and `page_table_lock` protect).
pub struct MmapState {
    /// Areas sorted by address (Linux: the maple tree).
    pub vmas: Vec<VmAreaStruct>,
    /// Start of the heap (Linux: start_brk).
    pub start_brk: u64,
    /// Current end of the heap (Linux: brk).
    pub brk: u64,
    /// Top of the initial stack (Linux: start_stack).
    pub start_stack: u64,
    /// Where top-down mmap searches start (Linux: mmap_base).
    pub mmap_base: u64,
    /// The mm these areas belong to, for the i_mmap lists of the files
    /// they map (Linux: vma->vm_mm).
    pub mm: Weak<MmStruct>,
}

/// The bounds of the argument and environment strings (Linux: the
/// arg_start..env_end fields of `struct mm_struct`).
#[derive(Clone, Copy, Default, Debug)]
pub struct MmArgs {
    /// The first byte of `argv[0]`.
    pub arg_start: u64,
    /// One past the NUL of the last argument.
    pub arg_end: u64,
    /// The first byte of `envp[0]`.
    pub env_start: u64,
    /// One past the NUL of the last environment string.
    pub env_end: u64,
    /// The auxiliary vector exec gave the program, for a core dump's
    /// NT_AUXV note (Linux: saved_auxv).
    pub saved_auxv: [(u64, u64); AT_VECTOR_SIZE],
}

/// Entries of the auxiliary vector exec writes, AT_NULL included (Linux:
/// AT_VECTOR_SIZE is an upper bound; ours is the exact count).
pub const AT_VECTOR_SIZE: usize = 20;

/// An address space (Linux: `struct mm_struct`). Shared by threads and by a
/// vfork child through `Arc`; the last reference frees every page and page
/// table (Linux: mmput() -> exit_mmap()).
pub struct MmStruct {
    /// The top-level page table, whose upper half is the kernel's (Linux: pgd).
    /// Lock: its lower half changes under `mmap` (Linux: mmap_lock + page_table_lock).
    pub pgd: Pgd,
    /// VMAs and the heap/stack bounds.
    pub mmap: SpinLock<MmapState>,
    /// Where exec put the argument and environment strings on the stack,
    /// for `/proc/<pid>/cmdline` and environ (Linux: arg_start, arg_end,
    /// env_start, env_end under arg_lock).
    pub arg_lock: SpinLock<MmArgs>,
    /// Pages mapped, by kind (Linux: rss_stat, indexed by MM_FILEPAGES,
    /// MM_ANONPAGES, MM_SHMEMPAGES); atomics, so that the OOM killer and
    /// /proc read them without the mm's lock.
    pub rss_stat: [AtomicUsize; NR_MM_COUNTERS],
    /// The most pages ever resident at once, for ru_maxrss (Linux:
    /// hiwater_rss). Differs: raised on every increase of the counters,
    /// where Linux raises it lazily before the rss drops.
    pub hiwater_rss: AtomicUsize,
    /// Bytes of page-table pages below the top level (Linux: pgtables_bytes).
    pub pgtables_bytes: AtomicUsize,
    /// The program file this mm runs, held against writers (ETXTBSY)
    /// (Linux: exe_file, with exe_file_deny_write_access()).
    pub exe_file: SpinLock<Option<crate::fs::file::DenyWriteAccess>>,
    /// Who may dump and trace the process, and so who owns its /proc
    /// files: SUID_DUMP_DISABLE or SUID_DUMP_USER (Linux: the MMF_DUMPABLE
    /// bits of mm->flags).
    /// Differs: no SUID_DUMP_ROOT (fs.suid_dumpable is fixed at 0).
    pub dumpable: AtomicU32,
    /// The tasks whose `mm` is this one (Linux: mm_users), counted by
    /// `TaskMm` as the pointer changes. The last to let go (`mmput`)
    /// makes every CPU drop the address space, so that its memory is freed
    /// with the last reference. The `Arc`'s own count is Linux's mm_count:
    /// these users, the CPUs that have it loaded, a /proc reader.
    pub mm_users: AtomicUsize,
    /// The CPUs that may hold TLB entries for this mm: a CPU adds itself
    /// when it loads the mm (switch_mm_irqs_off) and is taken out lazily,
    /// by the first flush that finds it has loaded another since (Linux:
    /// mm_cpumask(), the cpu_bitmap at the end of `struct mm_struct`).
    /// Atomic: CPUs set and clear their own bits without a lock.
    pub cpu_bitmap: AtomicU64,
    /// The generation of these page tables: every flush request bumps it
    /// before choosing whom to IPI, and a CPU notes the generation its TLB
    /// is current with; a CPU a flush skipped while lazy compares the two
    /// when it returns to the mm (Linux: mm->context.tlb_gen).
    pub tlb_gen: AtomicU64,
    /// Page-table changes whose TLB flush has not finished yet (Linux:
    /// tlb_flush_pending). The flush runs after the mm's lock is dropped
    /// (see `mm::tlb`); a fault that finds this non-zero waits for it.
    pub tlb_flush_pending: AtomicUsize,
    /// Faults waiting for `tlb_flush_pending` to drain; while there are
    /// any, new page-table changes wait before they start (see
    /// `mmu_gather::tlb_gather_mmu`), so that a thread forking or
    /// mprotecting in a loop cannot keep a fault waiting for ever.
    pub tlb_flush_waiters: AtomicUsize,
}

/// Not dumpable: /proc files owned by root (Linux: SUID_DUMP_DISABLE).
pub const SUID_DUMP_DISABLE: u32 = 0;
/// Dumpable by its user, the default (Linux: SUID_DUMP_USER).
pub const SUID_DUMP_USER: u32 = 1;
/// What a process becomes when its ids change (Linux: the fs.suid_dumpable
/// sysctl, 0 by default).
pub const SUID_DUMPABLE: u32 = SUID_DUMP_DISABLE;

/// Resident pages of a private file mapping (Linux: MM_FILEPAGES).
pub const MM_FILEPAGES: usize = 0;
/// Resident private anonymous pages (Linux: MM_ANONPAGES).
pub const MM_ANONPAGES: usize = 1;
/// Resident pages of shared anonymous mappings (Linux: MM_SHMEMPAGES).
pub const MM_SHMEMPAGES: usize = 2;
/// Number of rss counters (Linux: NR_MM_COUNTERS, without MM_SWAPENTS).
pub const NR_MM_COUNTERS: usize = 3;

impl MmStruct {
    /// Linux: get_dumpable() in include/linux/sched/coredump.h
    pub fn get_dumpable(&self) -> u32 {
        self.dumpable.load(Ordering::Relaxed)
    }

    /// Linux: set_dumpable() in fs/exec.c
    pub fn set_dumpable(&self, value: u32) {
        self.dumpable.store(value, Ordering::Relaxed);
    }

    /// One rss counter (Linux: get_mm_counter()).
    pub fn get_mm_counter(&self, member: usize) -> usize {
        self.rss_stat[member].load(Ordering::Relaxed)
    }

    /// Adds `value` pages to one rss counter (Linux: add_mm_counter()).
    pub fn add_mm_counter(&self, member: usize, value: isize) {
        if value >= 0 {
            self.rss_stat[member].fetch_add(value as usize, Ordering::Relaxed);
            self.hiwater_rss
                .fetch_max(self.get_mm_rss(), Ordering::Relaxed);
        } else {
            self.rss_stat[member].fetch_sub(value.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// Every resident page (Linux: get_mm_rss()).
    pub fn get_mm_rss(&self) -> usize {
        (0..NR_MM_COUNTERS).map(|m| self.get_mm_counter(m)).sum()
    }

    /// The most pages ever resident at once (Linux: get_mm_hiwater_rss()).
    pub fn get_mm_hiwater_rss(&self) -> usize {
        self.hiwater_rss
            .load(Ordering::Relaxed)
            .max(self.get_mm_rss())
    }

    /// Names the areas that map `mapping` and have no name yet: exec's
    /// program, once its segments are mapped.
    ///
    /// Linux: vma_set_file() in mm/util.c
    pub fn vma_set_file(&self, mapping: &Arc<AddressSpace>, path: &Arc<crate::fs::file::Path>) {
        let mut st = self.mmap.lock();
        for vma in &mut st.vmas {
            if let VmBacking::File(file) = &mut vma.backing
                && Arc::ptr_eq(&file.mapping, mapping)
                && file.path.is_none()
            {
                file.path = Some(path.clone());
            }
        }
    }

    /// The CPUs that may cache this mm's translations.
    ///
    /// Linux: mm_cpumask() in include/linux/mm_types.h
    pub fn mm_cpumask(&self) -> CpuMask {
        CpuMask::from_bits_truncate(self.cpu_bitmap.load(Ordering::SeqCst))
    }

    /// Announces a page-table change whose flush comes after the mm's lock
    /// is dropped.
    ///
    /// Linux: inc_tlb_flush_pending() in include/linux/mm_types.h
    pub fn inc_tlb_flush_pending(&self) {
        self.tlb_flush_pending.fetch_add(1, Ordering::SeqCst);
    }

    /// The flush announced by `inc_tlb_flush_pending` is done.
    ///
    /// Linux: dec_tlb_flush_pending() in include/linux/mm_types.h
    pub fn dec_tlb_flush_pending(&self) {
        self.tlb_flush_pending.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether some CPU changed these page tables and has not yet flushed
    /// every TLB that may cache the old entries.
    ///
    /// Linux: mm_tlb_flush_pending() in include/linux/mm_types.h
    pub fn mm_tlb_flush_pending(&self) -> bool {
        self.tlb_flush_pending.load(Ordering::SeqCst) != 0
    }

    /// Bytes of page tables (Linux: mm_pgtables_bytes()).
    pub fn mm_pgtables_bytes(&self) -> usize {
        self.pgtables_bytes.load(Ordering::Relaxed)
    }
}

/// Which rss counter the pages of `vma` count in (Linux: mm_counter()).
/// Differs: decided by the area's kind; Linux looks at each page, so a
/// copied page of a private file mapping counts as anonymous there.
pub fn mm_counter(vma: &VmAreaStruct) -> usize {
    match vma.backing {
        VmBacking::Anon => MM_ANONPAGES,
        VmBacking::File(_) => MM_FILEPAGES,
        VmBacking::Shared(_) => MM_SHMEMPAGES,
    }
}

/// Areas of every address space together (see [`vma_charge`]).
static NR_VMAS: AtomicUsize = AtomicUsize::new(0);

/// Counts `n` more areas against the share of the kernel heap that areas
/// of all processes together may hold: half of it, each area counted twice
/// for the spare room of a growing list. New areas (mmap, splits) stop at
/// three quarters of the share; the copies fork makes (`fork_copy`) may
/// use the rest, so that others can still start processes when a crowd of
/// areas has taken all it may, as an ordinary page allocation stops at a
/// watermark that leaves room for more urgent ones.
///
/// Differs: Linux has no system-wide count; its vm_area_structs come from
/// slab, which grows into all of memory under the OOM killer. Our heap is
/// fixed, and a crowd of processes each within vm.max_map_count would fill
/// it and leave every other kernel allocation failing.
///
/// # Errors
/// `ENOMEM` past that share.
pub fn vma_charge(n: usize, fork_copy: bool) -> Result<(), Errno> {
    let share = super::heap::heap_size() / 2 / (2 * size_of::<VmAreaStruct>());
    let max = if fork_copy { share } else { share / 4 * 3 };
    NR_VMAS
        .try_update(Ordering::Relaxed, Ordering::Relaxed, |nr| {
            nr.checked_add(n).filter(|&total| total <= max)
        })
        .map(drop)
        .map_err(|_| Errno::ENOMEM)
}

/// Gives back what [`vma_charge`] counted for `n` areas that are gone.
pub fn vma_uncharge(n: usize) {
    NR_VMAS.fetch_sub(n, Ordering::Relaxed);
}

impl MmapState {
    /// Whether areas cover every byte of [start, end), with no hole: the
    /// check msync and mprotect make before acting (ENOMEM otherwise).
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let first = self.vmas.partition_point(|v| v.vm_end <= start);
        let mut covered = start;
        for v in self.vmas[first..].iter().take_while(|v| v.vm_start < end) {
            if v.vm_start > covered {
                return false;
            }
            covered = v.vm_end;
        }
        covered >= end
    }

    /// An empty address space layout.
    pub fn new() -> Self {
        MmapState {
            vmas: Vec::new(),
            start_brk: 0,
            brk: 0,
            start_stack: 0,
            mmap_base: MMAP_BASE,
            mm: Weak::new(),
        }
    }

    /// The area containing `addr` (Linux: vma_lookup()).
    pub fn find_vma(&self, addr: u64) -> Option<&VmAreaStruct> {
        let i = self.vmas.partition_point(|v| v.vm_end <= addr);
        self.vmas.get(i).filter(|v| v.contains(addr))
    }

    /// Inserts an area that overlaps none of the others.
    ///
    /// Linux: insert_vm_struct() in mm/mmap.c
    ///
    /// # Errors
    /// `EINVAL` for an empty or inverted range, `ENOMEM` when the list
    /// cannot grow or areas hold their share of the heap.
    pub fn insert_vma(&mut self, vma: VmAreaStruct) -> Result<(), Errno> {
        if vma.vm_start >= vma.vm_end {
            return Err(Errno::EINVAL);
        }
        self.vmas.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        if let VmBacking::File(file) = &vma.backing {
            file.mapping.vma_link_file(&self.mm)?;
        }
        vma_charge(1, false)?;
        let i = self.vmas.partition_point(|v| v.vm_start < vma.vm_start);
        self.vmas.insert(i, vma);
        Ok(())
    }
}

impl Drop for MmapState {
    fn drop(&mut self) {
        vma_uncharge(self.vmas.len());
    }
}

impl Default for MmapState {
    fn default() -> Self {
        Self::new()
    }
}

/// Top of user space plus one (Linux: TASK_SIZE_MAX on 4-level paging).
pub const TASK_SIZE: u64 = 0x0000_7fff_ffff_f000;
/// Top of the initial stack (Linux: STACK_TOP, without randomisation).
pub const STACK_TOP: u64 = 0x0000_7fff_ffff_e000;
/// Size of the stack area (Linux: the RLIMIT_STACK default, 8 MiB).
pub const STACK_SIZE: u64 = 8 << 20;
/// Where mmap places mappings, growing down (Linux: mmap_base).
pub const MMAP_BASE: u64 = STACK_TOP - STACK_SIZE - (1 << 30);
