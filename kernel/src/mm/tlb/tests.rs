//! Tests of mm_cpumask, the shootdown's reach and lazy TLB.

use super::*;
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, KernelCloneArgs};
use crate::sched::migrate::set_cpus_allowed_ptr;
use crate::task::current;
use crate::{kassert, kassert_eq, ktest};
use alloc::vec::Vec;

fn received() -> Vec<u64> {
    (0..NR_CPUS).map(nr_tlb_remote_flush_received).collect()
}

fn lazy() -> Vec<bool> {
    (0..NR_CPUS)
        .map(|cpu| CPU_TLBSTATE_SHARED[cpu].is_lazy.load(Ordering::SeqCst))
        .collect()
}

ktest! {
    fn a_shootdown_reaches_every_other_cpu_in_the_mask_that_is_not_lazy_and_no_cpu_outside_it() {
        let mm = MmStruct::new().map_err(|e| alloc::format!("{e:?}"))?;
        let me = smp_processor_id();
        let online = cpu_online_mask();
        // Every online CPU but the highest other one, which stays outside.
        let outside = online.iter().filter(|&c| c != me).last();
        let mut mask = online;
        if let Some(cpu) = outside {
            mask.clear(cpu);
        }
        mm.cpu_bitmap.store(mask.bits(), Ordering::SeqCst);
        let (lazy_before, before) = (lazy(), received());
        flush_tlb_mm_range(&mm, 0x10000, 0x12000);
        let (after, lazy_after) = (received(), lazy());
        let mut skipped = CpuMask::empty();
        for cpu in 0..NR_CPUS {
            let got = after[cpu] - before[cpu];
            if mask.test(cpu) && cpu != me && got == 0 {
                skipped.set(cpu);
            }
            // A CPU that ran a user task or went idle meanwhile may go
            // either way.
            if lazy_before[cpu] != lazy_after[cpu] {
                continue;
            }
            let expected = u64::from(mask.test(cpu) && cpu != me && !lazy_before[cpu]);
            kassert_eq!(got, expected, "flushes received by CPU {cpu} (lazy: {})", lazy_before[cpu]);
        }
        kassert_eq!(
            mm.mm_cpumask(),
            skipped,
            "no CPU has loaded this mm, so each one the flush reached left the mask"
        );
        kassert_eq!(mm.tlb_gen.load(Ordering::SeqCst), 1, "the request made generation 1");
    }
}

ktest! {
    fn a_lazy_cpu_gets_no_ipi_and_flushes_when_it_returns_to_the_mm() {
        if crate::cpumask::num_online_cpus() < 2 {
            return Ok(());
        }
        let err = |e| alloc::format!("{e:?}");
        let mm = MmStruct::new().map_err(err)?;
        let me = pin_here()?;
        let result = lazy_cpu_is_passed_by(&mm, me);
        let _ = set_cpus_allowed_ptr(&current(), CpuMask::all());
        result?;
    }
}

/// The body of the lazy-skip test, run pinned to CPU `me`: a kernel
/// thread on another CPU loads `mm` and sleeps, leaving its CPU lazy on
/// it; a flush here must not IPI that CPU, which must flush on its own
/// when the thread wakes up and comes back to `mm`.
fn lazy_cpu_is_passed_by(mm: &Arc<MmStruct>, me: usize) -> Result<(), alloc::string::String> {
    use crate::sched::completion::Completion;
    let other = cpu_online_mask()
        .iter()
        .find(|&c| c != me)
        .ok_or("a second CPU")?;
    let (asleep, go) = (Arc::new(Completion::new()), Arc::new(Completion::new()));
    // The generation the other CPU's TLB was current with after waking.
    let caught_up = Arc::new(AtomicU64::new(u64::MAX));
    let (lent, asleep_, go_, out) = (mm.clone(), asleep.clone(), go.clone(), caught_up.clone());
    let body: crate::task::ThreadFn = Arc::new(move || {
        current().mm.install(lent.clone());
        switch_mm(Some(&lent));
        asleep_.complete();
        go_.wait_for_completion();
        let cpu = smp_processor_id();
        out.store(
            CPU_TLBSTATE[cpu].loaded_mm_tlb_gen.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        crate::ktest::drop_test_mm();
        0
    });
    let child = pinned_kthread("ktest-lazy-gen", CloneFlags::CLONE_FS, body, other)?;
    let pid = child.pid();
    crate::sched::core::wake_up_new_task(child);
    asleep.wait_for_completion();
    // The thread may not have left its CPU yet: wait until it has.
    let mut lazy_now = false;
    for _ in 0..1000 {
        lazy_now = CPU_TLBSTATE_SHARED[other].is_lazy.load(Ordering::SeqCst);
        if lazy_now {
            break;
        }
        crate::sched::core::sched_yield();
    }
    let sent_to = nr_tlb_remote_flush_received(other);
    flush_tlb_mm_range(mm, 0x10000, 0x11000);
    let passed_by = nr_tlb_remote_flush_received(other) == sent_to;
    go.complete();
    let reaped = kernel_wait4(pid, 0).map(|r| r.pid);
    kassert_eq!(reaped, Ok(pid));
    kassert!(
        lazy_now,
        "CPU {other} went lazy on the mm when its thread slept"
    );
    kassert!(passed_by, "the flush sent no IPI to the lazy CPU {other}");
    kassert_eq!(
        caught_up.load(Ordering::Relaxed),
        mm.tlb_gen.load(Ordering::SeqCst),
        "back on the mm, CPU {other} flushed up to the flush it missed"
    );
    Ok(())
}

ktest! {
    fn loading_an_mm_puts_the_cpu_in_its_mask_and_a_flush_there_alone_sends_no_ipi() {
        let mm = MmStruct::new().map_err(|e| alloc::format!("{e:?}"))?;
        let me = smp_processor_id();
        crate::arch::without_interrupts(|| {
            let old = switch_mm_irqs_off(Some(&mm));
            let in_mask = mm.mm_cpumask() == CpuMask::of(me);
            let sent = nr_tlb_remote_flush();
            flush_tlb_page(&mm, 0x10000);
            flush_tlb_mm(&mm);
            let sent_after = nr_tlb_remote_flush();
            drop(switch_mm_irqs_off(None));
            drop(old);
            kassert!(in_mask, "switch_mm_irqs_off set this CPU's bit, and only it");
            kassert_eq!(sent_after, sent, "no IPI for an mm loaded here alone");
            Ok(())
        })?;
        kassert!(
            mm.mm_cpumask().test(me),
            "switching away leaves the bit: it is cleared by the next flush"
        );
        flush_tlb_mm(&mm);
        kassert!(!mm.mm_cpumask().test(me), "the flush found the mm unloaded here");
    }
}

ktest! {
    fn a_kernel_thread_keeps_the_mm_of_the_task_before_it_loaded() {
        let err = |e| alloc::format!("{e:?}");
        let mm = MmStruct::new().map_err(err)?;
        // Pinned: on several CPUs this thread could wake up elsewhere from
        // kernel_wait4 and load the mm there too, leaving this CPU holding
        // it lazily (a second reference) when the test lets go of it.
        let me = pin_here()?;
        let result = kernel_thread_keeps_the_lazy_mm(&mm, me);
        let _ = set_cpus_allowed_ptr(&current(), CpuMask::all());
        result?;
        kassert!(Arc::strong_count(&mm) == 1, "the CPU let go of the mm");
    }
}

/// A kernel thread, child of the caller (for kernel_wait4), that will run
/// `body` on `cpu` alone once woken.
fn pinned_kthread(
    name: &'static str,
    flags: CloneFlags,
    body: crate::task::ThreadFn,
    cpu: usize,
) -> Result<Arc<crate::task::TaskStruct>, alloc::string::String> {
    let err = |e| alloc::format!("{e:?}");
    let child = crate::fork::copy_process(&KernelCloneArgs {
        flags,
        exit_signal: crate::signal::SIGCHLD,
        name: Some(name),
        fn_: Some(body),
        kthread: true,
        ..Default::default()
    })
    .map_err(err)?;
    set_cpus_allowed_ptr(&child, CpuMask::of(cpu)).map_err(err)?;
    Ok(child)
}

/// Pins the caller to the CPU it runs on and returns that CPU.
fn pin_here() -> Result<usize, alloc::string::String> {
    let cpu = smp_processor_id();
    set_cpus_allowed_ptr(&current(), CpuMask::of(cpu)).map_err(|e| alloc::format!("{e:?}"))?;
    Ok(crate::sched::migrate::task_cpu(&current()))
}

/// The body of the lazy-mm test, run pinned to CPU `me`: a kernel thread,
/// pinned there too, runs after this thread loaded `mm` and must find it
/// still in CR3.
fn kernel_thread_keeps_the_lazy_mm(
    mm: &Arc<MmStruct>,
    me: usize,
) -> Result<(), alloc::string::String> {
    let seen = Arc::new(AtomicU64::new(u64::MAX));
    let out = seen.clone();
    let pgd = mm.pgd.frame().start_address().as_u64();
    let body: crate::task::ThreadFn = Arc::new(move || {
        // Only a run on the CPU that had the mm loaded can see it.
        if smp_processor_id() == me {
            let cr3 = Cr3::read().0.start_address().as_u64();
            out.store(u64::from(cr3 == pgd), Ordering::Relaxed);
        }
        0
    });
    // Created while this thread has no mm, so that the child has none.
    let flags = CloneFlags::CLONE_VM | CloneFlags::CLONE_FS;
    let child = pinned_kthread("ktest-lazy", flags, body, me)?;
    let pid = child.pid();
    current().mm.install(mm.clone());
    switch_mm(Some(mm));
    crate::sched::core::wake_up_new_task(child);
    let reaped = kernel_wait4(pid, 0).map(|r| r.pid);
    crate::ktest::drop_test_mm();
    kassert_eq!(reaped, Ok(pid));
    kassert!(
        seen.load(Ordering::Relaxed) == 1,
        "the kernel thread ran on this CPU with the mm still in CR3 (lazy)"
    );
    Ok(())
}
