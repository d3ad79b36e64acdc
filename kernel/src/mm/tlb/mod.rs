//! Keeping every CPU's TLB in step with the page tables: which CPUs have an
//! address space loaded, switching address spaces, and the TLB shootdown.
//!
//! A TLB caches translations per CPU. When one CPU changes a user page
//! table (fork write-protects a page, munmap clears it, mprotect takes
//! away write, a copy-on-write fault gives a new page), the other CPUs
//! running that address space may still hold the old translation and use
//! it: a thread could go on writing a page its process no longer has. So
//! the CPU that changes the tables also flushes the others' TLBs, and waits
//! until they have done it, before anyone relies on the change:
//!
//! ```text
//!  CPU 0 (munmap)                       CPU 1 (a thread of the same mm)
//!  lock mm; clear the PTEs; keep the
//!  pages in an MmuGather; unlock
//!  flush_tlb_mm_range:
//!    invlpg here (or reload CR3)
//!    IPI every other CPU in ────────>   flush_tlb_func: invlpg, or
//!    mm_cpumask, wait for all  <──────  drop out of the mask if it runs
//!  free the gathered pages              another mm now
//!  munmap returns: no TLB maps them
//! ```
//!
//! **Who gets the IPI** (mm_cpumask). A CPU puts itself into the mm's mask
//! when it loads the mm (`switch_mm_irqs_off`), before writing CR3, so a
//! flush either sees it or it reads the new page tables. It does not take
//! itself out when it switches away; loading another CR3 has flushed the
//! old translations (no PCIDs here), so the first flush that reaches it
//! finds it no longer uses the mm and clears its bit then. A flush of an mm
//! loaded on this CPU alone sends no IPI.
//!
//! **Lazy TLB.** A kernel thread has no user mm, and switching CR3 for it
//! would throw away the TLB for nothing; so it keeps whatever mm the CPU
//! had loaded (Linux: `active_mm`, here the CPU's `loaded_mm`) and the CPU
//! is *lazy*. If the next user task runs the same mm, nothing is switched.
//! The lazily loaded mm stays allocated, because `loaded_mm` holds a
//! reference: page tables in CR3 are never freed. A flush sends no IPI to
//! a lazy CPU: its kernel thread never touches user memory, and an idle
//! CPU woken for nothing (on a host that may run that virtual CPU late)
//! would hold the flushing task up. Instead each mm counts its flush
//! requests (`tlb_gen`) and each CPU notes the count its TLB is current
//! with; a CPU that comes back from lazy mode to the mm compares the two
//! and reloads CR3 if a flush passed it by. A flush that reaches a CPU
//! which turned lazy after it was chosen makes it leave lazy mode (load
//! the kernel's page table, as Linux switches to init_mm). When the last
//! task using an mm lets go of it, `cleanup_lazy_tlbs` tells the lazy CPUs
//! to let go too, so that its memory is freed at once.
//!
//! **Why the flush comes after the unlock.** Every lock here keeps
//! interrupts off while held. A CPU waiting for the mm's lock could not
//! take the flush IPI, and the flushing CPU, holding that lock, would wait
//! for it forever. So the change is made under the lock, the flush is
//! announced (`tlb_flush_pending`), the lock is dropped, and then the
//! flush runs; a page fault that finds a flush pending waits for it, and
//! so does the next change to the mm (`MmuGather::lock_mmap`), which gives
//! the same order as flushing under the lock. The second wait matters
//! because a stale translation needs no fault: an address munmap freed and
//! mmap gave out again before the flush would be reached through the old
//! translation, on the unmapping CPU too if its task was preempted before
//! flushing. While a fault or a change waits, new changes wait for it
//! (`TlbFlushWaiter`): else a thread that forks in a loop announces its
//! next flush before the waiter gets the lock back, every time, and the
//! wait never ends. Pages taken out of the page tables are freed only
//! after the flush (`MmuGather`), so no stale translation ever points at
//! a page that was handed out again.
//!
//! Linux: arch/x86/mm/tlb.c, include/asm-generic/tlb.h, mm/mmu_gather.c,
//! cleanup_lazy_tlbs() in kernel/fork.c
//!
//! Differs: no PCIDs, so a CPU loading an mm flushes all of its TLB, and
//! only the mm loaded now has a generation to compare.
//! Not modelled: huge pages, freeing page-table pages before exit (only
//! the Pgd's drop frees them), INVLPGB/broadcast flushes.

use super::PAGE_SIZE;
use super::mm_types::MmStruct;
use super::pgtable;
use crate::arch::gdt::NR_CPUS;
use crate::arch::percpu::{smp_processor_id, this_cpu};
use crate::cpumask::{CpuMask, cpu_online_mask};
use crate::smp::{on_each_cpu_mask, smp_call_function_many};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::VirtAddr;
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};

/// Above this many pages a range flush reloads CR3 instead of doing one
/// `invlpg` per page (Linux: tlb_single_page_flush_ceiling, 33).
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: u64 = 33;

/// The `end` that means the whole address space (Linux: TLB_FLUSH_ALL).
pub const TLB_FLUSH_ALL: u64 = u64::MAX;

/// One CPU's TLB state that other CPUs may read (Linux:
/// `cpu_tlbstate_shared`).
struct TlbStateShared {
    /// A kernel thread runs here on a user mm it does not use (Linux:
    /// is_lazy). Only this CPU writes it.
    is_lazy: AtomicBool,
    /// `loaded_mm` holds a user mm, for enter_lazy_tlb to read without
    /// that lock. Only this CPU writes it, with interrupts off, under
    /// `loaded_mm`'s lock.
    has_mm: AtomicBool,
}

/// One CPU's TLB state that only that CPU reads and writes, with
/// interrupts off (Linux: `cpu_tlbstate`).
struct TlbState {
    /// The `tlb_gen` of the loaded mm that this CPU's TLB is current with:
    /// read when the mm was loaded or flushed whole, or the generation of
    /// the last range flush that left nothing older unflushed (Linux:
    /// `cpu_tlbstate.ctxs[asid].tlb_gen`).
    loaded_mm_tlb_gen: AtomicU64,
}

static CPU_TLBSTATE: [TlbState; NR_CPUS] = [const {
    TlbState {
        loaded_mm_tlb_gen: AtomicU64::new(0),
    }
}; NR_CPUS];

static CPU_TLBSTATE_SHARED: [TlbStateShared; NR_CPUS] = [const {
    TlbStateShared {
        is_lazy: AtomicBool::new(false),
        has_mm: AtomicBool::new(false),
    }
}; NR_CPUS];

/// Flushes that IPI'd other CPUs (Linux: NR_TLB_REMOTE_FLUSH).
static NR_TLB_REMOTE_FLUSH: AtomicU64 = AtomicU64::new(0);

/// What `flush_tlb_func` is asked to flush (Linux: `struct flush_tlb_info`).
/// Lives on the stack of the CPU that asked, which waits for every CPU.
struct FlushTlbInfo {
    /// The address space, compared with `loaded_mm`; `None` for kernel
    /// mappings, which every CPU maps.
    mm: Option<*const MmStruct>,
    start: u64,
    end: u64,
    /// The CPU that asked, whose own run is not counted as received.
    initiator: usize,
    /// The mm's `tlb_gen` this request made (0 for kernel mappings).
    new_tlb_gen: u64,
}

/// How many flush requests `cpu` has taken from other CPUs (its "TLB"
/// row in /proc/interrupts).
pub fn nr_tlb_remote_flush_received(cpu: usize) -> u64 {
    crate::arch::percpu::irq_stat(cpu)
        .irq_tlb_count
        .load(Ordering::Relaxed)
}

/// How many flushes sent IPIs (for /proc/vmstat's nr_tlb_remote_flush).
pub fn nr_tlb_remote_flush() -> u64 {
    NR_TLB_REMOTE_FLUSH.load(Ordering::Relaxed)
}

/// Loads `mm`'s page tables, or the kernel's for `None`, from process
/// context, and drops this CPU's reference to the mm it had loaded.
///
/// Linux: switch_mm() in arch/x86/include/asm/mmu_context.h
pub fn switch_mm(mm: Option<&Arc<MmStruct>>) {
    drop(crate::arch::without_interrupts(|| switch_mm_irqs_off(mm)));
}

/// Loads `next`'s page tables, or the kernel's for `None` (Linux: init_mm).
/// The CPU joins `next`'s mm_cpumask before CR3 changes, and keeps a
/// reference to the mm it has loaded (`loaded_mm`) until the next switch,
/// so page tables in CR3 are never freed. When `next` is loaded already
/// (two threads, a vfork child and its parent, a kernel thread's lazy mm
/// going back to its task) nothing changes. Returns the reference to the
/// mm loaded before, which may be the last one: the context switch hands
/// it to finish_task_switch, where freeing an address space is allowed.
///
/// Linux: switch_mm_irqs_off() in arch/x86/mm/tlb.c
/// Differs: the old mm's bit stays set (Linux >= 6.8 does the same, and
/// trims the mask in flushes); without PCIDs the CR3 write flushes all.
#[must_use = "the old mm may be the last reference: drop it where freeing it is allowed"]
pub fn switch_mm_irqs_off(next: Option<&Arc<MmStruct>>) -> Option<Arc<MmStruct>> {
    let cpu = smp_processor_id();
    let mut loaded = this_cpu().loaded_mm.lock();
    let is_lazy = &CPU_TLBSTATE_SHARED[cpu].is_lazy;
    let was_lazy = is_lazy.load(Ordering::Relaxed);
    if was_lazy {
        // A locked instruction, ordered before flush_if_passed_by's read.
        is_lazy.store(false, Ordering::SeqCst);
    }
    if loaded.as_ref().map(Arc::as_ptr) == next.map(Arc::as_ptr) {
        if let Some(next) = next.filter(|_| was_lazy) {
            flush_if_passed_by(cpu, next);
        }
        return None;
    }
    if let Some(next) = next {
        // A locked instruction: ordered before the page-table walks that
        // follow the CR3 write, against a flusher's PTE store and tlb_gen
        // bump, which come before it reads the mask.
        next.cpu_bitmap
            .fetch_or(CpuMask::of(cpu).bits(), Ordering::SeqCst);
        let tlb_gen = next.tlb_gen.load(Ordering::SeqCst);
        CPU_TLBSTATE[cpu]
            .loaded_mm_tlb_gen
            .store(tlb_gen, Ordering::Relaxed);
    }
    let pgd = next.map_or_else(pgtable::swapper_pg_dir, |mm| mm.pgd.frame());
    if Cr3::read().0 != pgd {
        // SAFETY: `pgd` is a valid top-level table whose kernel half maps the
        // code running now; `loaded` keeps it alive until the next switch
        // on this CPU has loaded another table.
        unsafe { Cr3::write(pgd, Cr3Flags::empty()) };
    }
    CPU_TLBSTATE_SHARED[cpu]
        .has_mm
        .store(next.is_some(), Ordering::Relaxed);
    core::mem::replace(&mut *loaded, next.cloned())
}

/// This CPU comes back from lazy mode to `mm`, which it kept loaded: if a
/// flush skipped it meanwhile, its TLB may hold translations the flush
/// took away, so it flushes them all. Its `is_lazy` was cleared (a locked
/// instruction) before this reads `tlb_gen`, and a flusher bumps `tlb_gen`
/// before it reads `is_lazy`: either the flusher saw this CPU not lazy
/// and sends the IPI, or this CPU sees the flusher's generation.
///
/// Linux: the `was_lazy` branch of switch_mm_irqs_off() in
/// arch/x86/mm/tlb.c
fn flush_if_passed_by(cpu: usize, mm: &MmStruct) {
    let tlb_gen = mm.tlb_gen.load(Ordering::SeqCst);
    let local = &CPU_TLBSTATE[cpu].loaded_mm_tlb_gen;
    if local.load(Ordering::Relaxed) != tlb_gen {
        tlb::flush_all();
        local.store(tlb_gen, Ordering::Relaxed);
    }
}

/// A kernel thread is being switched in: it keeps the mm this CPU has
/// loaded, without touching CR3 (the CPU becomes lazy).
///
/// Linux: enter_lazy_tlb() in arch/x86/mm/tlb.c
/// Differs: no `task->active_mm`: the CPU's `loaded_mm` is the active mm.
pub fn enter_lazy_tlb() {
    let state = &CPU_TLBSTATE_SHARED[smp_processor_id()];
    if state.has_mm.load(Ordering::Relaxed) {
        state.is_lazy.store(true, Ordering::Relaxed);
    }
}

/// An idle CPU lets go of the mm it holds lazily once no one else holds
/// it: the task that exited last may have seen another, short-lived
/// reference (the OOM killer's, a /proc reader's) and left the mm loaded
/// here, where it would keep the whole address space until this CPU next
/// runs a user task. Returns that last reference, for the caller to drop
/// with interrupts on. Call with interrupts off.
///
/// Linux: none needed: mmput() frees the memory when mm_users reaches 0,
/// whoever holds mm_count (a lazy CPU) for the struct.
/// Differs: one Arc counts both, so a lazy holder checks for being the last.
#[must_use = "the last reference: drop it with interrupts on"]
pub fn idle_release_lazy_mm() -> Option<Arc<MmStruct>> {
    let cpu = smp_processor_id();
    if !CPU_TLBSTATE_SHARED[cpu].is_lazy.load(Ordering::Relaxed) {
        return None;
    }
    let last = this_cpu()
        .loaded_mm
        .lock()
        .as_ref()
        .is_some_and(|mm| Arc::strong_count(mm) == 1);
    if last { switch_mm_irqs_off(None) } else { None }
}

/// Flushes this CPU's translations of [start, end): one `invlpg` per page
/// up to the ceiling, else a CR3 reload (which keeps global kernel pages).
///
/// Linux: flush_tlb_func()'s local part, flush_tlb_one_user() and
/// flush_tlb_local() in arch/x86/mm/tlb.c
fn flush_tlb_local_range(start: u64, end: u64) {
    let pages = end.saturating_sub(start) / PAGE_SIZE as u64;
    if end == TLB_FLUSH_ALL || pages > TLB_SINGLE_PAGE_FLUSH_CEILING {
        tlb::flush_all();
        return;
    }
    for addr in (start..end).step_by(PAGE_SIZE) {
        tlb::flush(VirtAddr::new(addr));
    }
}

/// Flushes this CPU's translations of kernel addresses [start, end),
/// which are global: a CR3 reload keeps them, so past the ceiling the
/// global bit is toggled off and on in CR4, which drops every entry.
///
/// Linux: do_kernel_range_flush() / __flush_tlb_all() in arch/x86/mm/tlb.c
fn flush_tlb_kernel_local(start: u64, end: u64) {
    let pages = end.saturating_sub(start) / PAGE_SIZE as u64;
    if pages <= TLB_SINGLE_PAGE_FLUSH_CEILING {
        flush_tlb_local_range(start, end);
        return;
    }
    let cr4 = Cr4::read();
    if cr4.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: only the global-pages bit changes, and it is restored at
        // once; clearing it flushes the whole TLB, globals included.
        unsafe {
            Cr4::write(cr4 - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(cr4);
        }
    } else {
        tlb::flush_all();
    }
}

/// Runs on each CPU a flush reaches, with interrupts off: flushes if the
/// CPU runs the mm; leaves lazy mode if a kernel thread only borrows it;
/// and takes the CPU out of the mask if it has loaded another mm since.
///
/// Linux: flush_tlb_func() in arch/x86/mm/tlb.c
fn flush_tlb_func(info: usize) {
    // SAFETY: `info` is the address of the FlushTlbInfo on the stack of the
    // CPU that asked, which waits (wait = true) until every CPU has run this.
    let f = unsafe { &*(info as *const FlushTlbInfo) };
    let cpu = smp_processor_id();
    let state = &CPU_TLBSTATE_SHARED[cpu];
    if f.mm.is_some() && cpu != f.initiator {
        this_cpu()
            .irq_stat
            .irq_tlb_count
            .fetch_add(1, Ordering::Relaxed);
    }
    let Some(mm) = f.mm else {
        flush_tlb_kernel_local(f.start, f.end);
        return;
    };
    let loaded = this_cpu().loaded_mm.lock().as_ref().map(Arc::as_ptr);
    let is_loaded = loaded == Some(mm);
    // SAFETY: the asking CPU holds a reference to the mm until every CPU
    // has run this function.
    let mm = unsafe { &*mm };
    if !is_loaded {
        mm.cpu_bitmap
            .fetch_and(!CpuMask::of(cpu).bits(), Ordering::SeqCst);
        return;
    }
    if state.is_lazy.load(Ordering::Relaxed) {
        // Not the last reference: the asking CPU holds one.
        drop(switch_mm_irqs_off(None));
        return;
    }
    flush_tlb_to_gen(cpu, mm, f);
}

/// Brings this CPU's TLB for the loaded `mm` up to `mm`'s generation: a
/// request an earlier whole flush covered needs nothing; the one request
/// this CPU is behind by, a range, flushes its range; anything else
/// (several requests missed, or a whole-mm request) flushes all.
///
/// Linux: flush_tlb_func() in arch/x86/mm/tlb.c
fn flush_tlb_to_gen(cpu: usize, mm: &MmStruct, f: &FlushTlbInfo) {
    let mm_tlb_gen = mm.tlb_gen.load(Ordering::SeqCst);
    let local = &CPU_TLBSTATE[cpu].loaded_mm_tlb_gen;
    let local_tlb_gen = local.load(Ordering::Relaxed);
    if local_tlb_gen >= f.new_tlb_gen {
        return;
    }
    if f.end != TLB_FLUSH_ALL && f.new_tlb_gen == local_tlb_gen + 1 {
        flush_tlb_local_range(f.start, f.end);
        local.store(f.new_tlb_gen, Ordering::Relaxed);
    } else {
        tlb::flush_all();
        local.store(mm_tlb_gen, Ordering::Relaxed);
    }
}

/// Flushes the translations of [start, end) in `mm` on every CPU that may
/// cache them, and returns when all have: locally first, then by IPI to
/// the other CPUs in mm_cpumask that are not lazy (none when the mm is
/// loaded here alone). Must be called with interrupts on and no lock held
/// when other CPUs may be in the mask: they take the IPI only with
/// interrupts on.
///
/// Linux: flush_tlb_mm_range() in arch/x86/mm/tlb.c
pub fn flush_tlb_mm_range(mm: &MmStruct, start: u64, end: u64) {
    // A locked instruction (Linux: inc_mm_tlb_gen()): orders our PTE
    // stores before reading the mask and is_lazy, against a CPU that joins
    // the mask or leaves lazy mode and then reads tlb_gen.
    let new_tlb_gen = mm.tlb_gen.fetch_add(1, Ordering::SeqCst) + 1;
    let cpu = smp_processor_id();
    let info = FlushTlbInfo {
        mm: Some(mm as *const MmStruct),
        start,
        end,
        initiator: cpu,
        new_tlb_gen,
    };
    let mask = mm.mm_cpumask();
    if mask.test(cpu) {
        crate::arch::without_interrupts(|| flush_tlb_func(&info as *const _ as usize));
    }
    let mut others = CpuMask::empty();
    for other in mask.and(cpu_online_mask()).iter() {
        if other != cpu && should_flush_tlb(other) {
            others.set(other);
        }
    }
    if !others.is_empty() {
        NR_TLB_REMOTE_FLUSH.fetch_add(1, Ordering::Relaxed);
        smp_call_function_many(others, flush_tlb_func, &info as *const _ as usize, true);
    }
}

/// Whether a user-mm flush sends `cpu` an IPI: not while it is lazy; it
/// compares generations when it comes back (`flush_if_passed_by`).
///
/// Linux: should_flush_tlb() in arch/x86/mm/tlb.c
fn should_flush_tlb(cpu: usize) -> bool {
    !CPU_TLBSTATE_SHARED[cpu].is_lazy.load(Ordering::SeqCst)
}

/// Flushes one page of `mm` everywhere.
///
/// Linux: flush_tlb_page() in arch/x86/include/asm/tlbflush.h
pub fn flush_tlb_page(mm: &MmStruct, addr: u64) {
    flush_tlb_mm_range(mm, addr, addr + PAGE_SIZE as u64);
}

/// Flushes all of `mm` everywhere.
///
/// Linux: flush_tlb_mm() in arch/x86/include/asm/tlbflush.h
pub fn flush_tlb_mm(mm: &MmStruct) {
    flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL);
}

/// Flushes kernel mappings of [start, end) on every CPU, and returns when
/// all have. Interrupts must be on.
///
/// Linux: flush_tlb_kernel_range() in arch/x86/mm/tlb.c
pub fn flush_tlb_kernel_range(start: u64, end: u64) {
    let info = FlushTlbInfo {
        mm: None,
        start,
        end,
        initiator: smp_processor_id(),
        new_tlb_gen: 0,
    };
    on_each_cpu_mask(
        cpu_online_mask(),
        flush_tlb_func,
        &info as *const _ as usize,
        true,
    );
}

/// Runs on a CPU that may hold `mm` lazily: lets go of it.
///
/// Linux: do_shoot_lazy_tlb() in kernel/fork.c
fn do_shoot_lazy_tlb(info: usize) {
    let cpu = smp_processor_id();
    let loaded = this_cpu().loaded_mm.lock().as_ref().map(Arc::as_ptr);
    if loaded == Some(info as *const MmStruct)
        && CPU_TLBSTATE_SHARED[cpu].is_lazy.load(Ordering::Relaxed)
    {
        // Not the last reference: the asking CPU holds one.
        drop(switch_mm_irqs_off(None));
    }
}

/// The last task using `mm` is letting go of it: CPUs that still hold it
/// lazily under a kernel thread switch to the kernel's page table and
/// drop their references, so that its memory is freed by the caller now,
/// not when those CPUs next run a user task. The caller holds a reference.
/// Interrupts must be on.
///
/// Linux: cleanup_lazy_tlbs() in kernel/fork.c
pub fn cleanup_lazy_tlbs(mm: &Arc<MmStruct>) {
    let mut others = mm.mm_cpumask().and(cpu_online_mask());
    others.clear(smp_processor_id());
    let lazy_holders_possible = others
        .iter()
        .filter(|&cpu| CPU_TLBSTATE_SHARED[cpu].is_lazy.load(Ordering::Relaxed))
        .count();
    if lazy_holders_possible == 0 {
        return;
    }
    smp_call_function_many(others, do_shoot_lazy_tlb, Arc::as_ptr(mm) as usize, true);
}

/// This CPU lets go of `mm` if it has it loaded (its last user is
/// leaving it): it switches to the kernel's page table. The caller holds a
/// reference, so the one dropped here is not the last. Interrupts on.
///
/// Linux: leave_mm() in arch/x86/mm/tlb.c
pub fn leave_mm(mm: &MmStruct) {
    let old = crate::arch::without_interrupts(|| {
        let loaded = this_cpu().loaded_mm.lock().as_ref().map(Arc::as_ptr);
        (loaded == Some(mm as *const MmStruct)).then(|| switch_mm_irqs_off(None))
    });
    drop(old);
}

#[cfg(feature = "ktest")]
mod tests;
