//! The OOM killer: when a page fault, or a pipe or file that a process
//! writes, finds no free page, pick the process whose death frees the most
//! memory, kill it, and let the faulting task retry once the victim has let
//! go of its pages.
//!
//! ```text
//!  fault: no page ─> out_of_memory ─┬─ a victim is still exiting ──> wait a tick, retry
//!                                   ├─ victim chosen ─> SIGKILL ───> wait a tick, retry
//!                                   └─ nobody killable ─> ENOMEM (a user fault: panic)
//! ```
//!
//! A fork needs pages under spinlocks (page tables, the kernel stack's
//! mappings), where nobody may sleep for a victim: it backs out with
//! ENOMEM, and [`retry_after_oom`] runs the killer with no lock held and
//! forks again.
//!
//! Linux: mm/oom_kill.c
//! Not modelled: memory cgroups, cpusets and mempolicies (there is one
//! memory domain), the oom_reaper thread, the panic_on_oom and
//! oom_kill_allocating_task sysctls, and dump_header's task list.

use super::PAGE_SIZE;
use super::mm_types::{MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MmStruct};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::signal::{
    KernelSiginfo, PidType, SI_KERNEL, SIGKILL, fatal_signal_pending, send_signal_locked,
};
use crate::task::{PF_EXITING, TaskStruct};
use crate::tasklist::{TASKLIST_LOCK, TaskList, for_each_thread};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// The lowest oom_score_adj: the process is never chosen (Linux: OOM_SCORE_ADJ_MIN).
pub const OOM_SCORE_ADJ_MIN: i16 = -1000;
/// The highest oom_score_adj (Linux: OOM_SCORE_ADJ_MAX).
pub const OOM_SCORE_ADJ_MAX: i16 = 1000;

/// How long a chosen victim may take to release its memory before the
/// killer stops waiting for it and chooses another. Differs: Linux's
/// oom_reaper frees a stuck victim's memory itself within about a second
/// and then marks it MMF_OOM_SKIP; we cannot free it for the victim, so we
/// give up on it only after 5 s: a victim merely slow to be scheduled
/// (1 s was seen under an emulator on a loaded host) is not passed over for
/// a bystander.
const OOM_VICTIM_WAIT_NS: u64 = 5_000_000_000;

/// One OOM kill at a time (Linux: oom_lock).
static OOM_LOCK: SpinLock<()> = SpinLock::new(());

/// Page allocations that found the free list empty since boot: tells a
/// failed step whose ENOMEM came from a lack of pages (worth an OOM kill)
/// from one that came from a limit or a full heap.
static PAGE_ALLOC_FAILURES: AtomicU64 = AtomicU64::new(0);

/// What the scan of all processes found (Linux: oom_control::chosen).
enum Chosen {
    /// Kill this one.
    Victim(Arc<TaskStruct>),
    /// An earlier victim still holds its memory: wait for it.
    Abort,
    /// Nothing may be killed.
    Nothing,
}

/// Pages the killer weighs badness against (Linux: totalram_pages() +
/// total_swap_pages; there is no swap).
pub fn oom_totalpages() -> usize {
    super::page_alloc::totalram_pages().max(1)
}

/// Init and kernel threads are never chosen.
///
/// Linux: oom_unkillable_task() in mm/oom_kill.c
fn oom_unkillable_task(p: &TaskStruct) -> bool {
    p.tgid() == 1 || p.is_kthread()
}

/// How good a victim `p` would be: its resident pages and page tables,
/// moved by oom_score_adj in thousandths of memory; `None` if it must not
/// be chosen.
///
/// Linux: oom_badness() in mm/oom_kill.c
pub fn oom_badness(p: &TaskStruct, totalpages: usize) -> Option<i64> {
    if oom_unkillable_task(p) {
        return None;
    }
    let mm = p.mm.lock().clone()?;
    let adj = i64::from(p.signal().oom_score_adj.load(Ordering::Relaxed));
    if adj == i64::from(OOM_SCORE_ADJ_MIN) {
        return None;
    }
    let points = mm.get_mm_rss() + mm.mm_pgtables_bytes() / PAGE_SIZE;
    Some(points as i64 + adj * (totalpages / 1000) as i64)
}

/// What an earlier kill means for `p` now.
enum VictimState {
    /// Never chosen.
    NotVictim,
    /// Chosen, and may still free its memory: wait for it.
    Pending,
    /// Chosen too long ago: never choose it again (Linux: MMF_OOM_SKIP).
    Skip,
}

/// Whether `p` was chosen earlier, and whether to wait for it.
///
/// Linux: tsk_is_oom_victim() in include/linux/oom.h (and MMF_OOM_SKIP)
fn oom_victim_state(p: &TaskStruct) -> VictimState {
    let since = p.signal().oom_victim_since.load(Ordering::Relaxed);
    if since == 0 {
        VictimState::NotVictim
    } else if crate::arch::time::ktime_get_ns().saturating_sub(since) < OOM_VICTIM_WAIT_NS {
        VictimState::Pending
    } else {
        VictimState::Skip
    }
}

/// Scans every task for the one with the highest badness.
///
/// Linux: select_bad_process() / oom_evaluate_task() in mm/oom_kill.c
fn select_bad_process(totalpages: usize) -> Chosen {
    let tasklist = TASKLIST_LOCK.lock();
    let mut chosen: Option<(&Arc<TaskStruct>, i64)> = None;
    for p in tasklist.tasks.iter() {
        if oom_unkillable_task(p) {
            continue;
        }
        // Before the badness, which is None once exit_mm took the mm: a
        // victim on another CPU may be freeing its memory right now, and
        // until it is a zombie that memory is not all back.
        match oom_victim_state(p) {
            VictimState::NotVictim => {}
            VictimState::Pending if p.exit_state() == 0 => return Chosen::Abort,
            VictimState::Pending | VictimState::Skip => continue,
        }
        let Some(points) = oom_badness(p, totalpages) else {
            continue;
        };
        if chosen.is_none_or(|(_, best)| points > best) {
            chosen = Some((p, points));
        }
    }
    chosen.map_or(Chosen::Nothing, |(p, _)| Chosen::Victim(p.clone()))
}

/// Whether `p` is already on its way out with its memory: killed, or
/// exiting. Such a task is marked, not killed again.
///
/// Linux: task_will_free_mem() in mm/oom_kill.c
fn task_will_free_mem(p: &TaskStruct) -> bool {
    p.mm.lock().is_some()
        && (fatal_signal_pending(p)
            || p.flags() & PF_EXITING != 0
            || p.signal().group_exit.load(Ordering::Relaxed))
}

/// Remembers that `p`'s process is dying for memory, so that the next OOM
/// waits for it instead of killing someone else.
///
/// Linux: mark_oom_victim() in mm/oom_kill.c
fn mark_oom_victim(p: &TaskStruct) {
    let now = crate::arch::time::ktime_get_ns().max(1);
    let _ =
        p.signal()
            .oom_victim_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
}

/// SIGKILL from the kernel to every thread of `p`'s process, for a caller
/// that holds the tasklist lock (`tasklist` is its guard's data).
///
/// Linux: do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_TGID)
fn kill_thread_group(p: &TaskStruct, tasklist: &TaskList) {
    for t in for_each_thread(p, tasklist) {
        let info = KernelSiginfo {
            code: SI_KERNEL,
            ..Default::default()
        };
        let _ = send_signal_locked(SIGKILL, info, t, PidType::Pid, Some(tasklist));
    }
}

/// Kills the victim's process and every other process using its memory,
/// and logs the kill as Linux does.
///
/// Linux: oom_kill_process() / __oom_kill_process() in mm/oom_kill.c
fn oom_kill_process(victim: &Arc<TaskStruct>, message: &str) {
    if task_will_free_mem(victim) {
        mark_oom_victim(victim);
        return;
    }
    let Some(mm) = victim.mm.lock().clone() else {
        return;
    };
    let kb = |pages: usize| pages * (PAGE_SIZE / 1024);
    let (vm_kb, anon_kb, file_kb, shmem_kb, pgtables_kb) = (
        total_vm(&mm) / 1024,
        kb(mm.get_mm_counter(MM_ANONPAGES)),
        kb(mm.get_mm_counter(MM_FILEPAGES)),
        kb(mm.get_mm_counter(MM_SHMEMPAGES)),
        mm.mm_pgtables_bytes() / 1024,
    );
    kill_other_mm_users(&mm, victim.tgid());
    // Let go of the mm before the kill: a victim exiting on another CPU
    // frees its memory at once only if it holds the last task reference.
    drop(mm);
    kill_thread_group(victim, &TASKLIST_LOCK.lock());
    mark_oom_victim(victim);
    log::error!(
        "{message}: Killed process {} ({}) total-vm:{vm_kb}kB, anon-rss:{anon_kb}kB, file-rss:{file_kb}kB, shmem-rss:{shmem_kb}kB, UID:0 pgtables:{pgtables_kb}kB oom_score_adj:{}",
        victim.tgid(),
        victim.comm().as_str(),
        victim.signal().oom_score_adj.load(Ordering::Relaxed),
    );
}

/// Bytes of every mapping (Linux: mm->total_vm, in pages).
fn total_vm(mm: &MmStruct) -> u64 {
    let st = mm.mmap.lock();
    st.vmas.iter().map(|v| v.vm_end - v.vm_start).sum()
}

/// Other processes sharing the victim's memory (a vfork child and its
/// parent, CLONE_VM without CLONE_THREAD) must die too, or it is not freed.
fn kill_other_mm_users(mm: &Arc<MmStruct>, tgid: crate::pid::PidNr) {
    let tasklist = TASKLIST_LOCK.lock();
    for other in tasklist
        .tasks
        .iter()
        .filter(|p| p.tgid() != tgid && !oom_unkillable_task(p))
        .filter(|p| p.mm.lock().as_ref().is_some_and(|m| Arc::ptr_eq(m, mm)))
    {
        kill_thread_group(other, &tasklist);
    }
}

/// Frees memory by killing a process: the best victim, or nobody if an
/// earlier victim is still dying or the caller itself is. Returns whether
/// memory is on its way back, so that retrying makes sense; `false` when no
/// process may be killed.
///
/// Linux: out_of_memory() in mm/oom_kill.c
/// Differs: with nothing to kill Linux panics here; we return `false` and
/// let the caller fail with ENOMEM where it can (a user fault panics).
pub fn out_of_memory() -> bool {
    let current = crate::task::current();
    if task_will_free_mem(&current) {
        mark_oom_victim(&current);
        return true;
    }
    let Some(_guard) = OOM_LOCK.try_lock() else {
        return true;
    };
    match select_bad_process(oom_totalpages()) {
        Chosen::Victim(victim) => oom_kill_process(&victim, "Out of memory"),
        Chosen::Abort => {}
        Chosen::Nothing => {
            log::error!("Out of memory and no killable processes...");
            return false;
        }
    }
    true
}

/// A page fault found no free page: run the OOM killer, then give the
/// victim a tick to exit before the fault is retried. Panics, as Linux
/// does, when no process may be killed: the fault cannot fail.
///
/// Linux: pagefault_out_of_memory() in mm/oom_kill.c
/// Differs: the page allocator calls the OOM killer itself only for pages
/// a process's data lives in (pipe buffers, file pages); a fault's pages
/// come here instead, and the fault waits one tick as Linux's allocator
/// does after a kill.
pub fn pagefault_out_of_memory() {
    if !out_of_memory() {
        panic!("System is deadlocked on memory");
    }
    if !fatal_signal_pending(&crate::task::current()) {
        let _ = crate::time::schedule_timeout_killable(crate::sched::cputime::TICK_NSEC);
    }
}

/// Counts a page allocation that found no free page.
pub fn note_page_alloc_failure() {
    PAGE_ALLOC_FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// Runs `step`, which takes pages under spinlocks and backs out of
/// everything with ENOMEM when one is missing (a fork). When pages ran out
/// while it ran, the OOM killer makes room, from here where the caller
/// holds no lock, and the step runs again; it fails only when the caller
/// is being killed itself or nobody can be killed.
///
/// Linux: the retry loop of __alloc_pages_slowpath() in mm/page_alloc.c
/// (__alloc_pages_may_oom() for GFP_KERNEL pages, which "never fail")
/// Differs: Linux retries inside the allocator, which may sleep there; the
/// allocations here run under spinlocks, so the whole step is undone and
/// redone. Which task ran out is not recorded: any allocation that found
/// the free list empty during the step counts.
///
/// # Errors
/// The step's error: ENOMEM when the caller has a fatal signal pending or
/// no process can be killed, any other errno at once.
pub fn retry_after_oom<T>(mut step: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        let failures = PAGE_ALLOC_FAILURES.load(Ordering::Relaxed);
        match step() {
            Err(Errno::ENOMEM) if PAGE_ALLOC_FAILURES.load(Ordering::Relaxed) != failures => {}
            result => return result,
        }
        if !out_of_memory() || fatal_signal_pending(&crate::task::current()) {
            return Err(Errno::ENOMEM);
        }
        let _ = crate::time::schedule_timeout_killable(crate::sched::cputime::TICK_NSEC);
    }
}

/// The score `/proc/<pid>/oom_score` shows: badness scaled to 0..=2000, 0
/// for a process that is never chosen.
///
/// Linux: proc_oom_score() in fs/proc/base.c
pub fn oom_score(p: &TaskStruct) -> u64 {
    let totalpages = oom_totalpages() as i64;
    oom_badness(p, totalpages as usize).map_or(0, |badness| {
        ((1000 + badness * 1000 / totalpages) * 2 / 3).max(0) as u64
    })
}
