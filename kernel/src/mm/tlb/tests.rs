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

ktest! {
    fn a_shootdown_reaches_every_other_cpu_in_the_mask_and_no_cpu_outside_it() {
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
        let before = received();
        flush_tlb_mm_range(&mm, 0x10000, 0x12000);
        let after = received();
        for cpu in 0..NR_CPUS {
            let expected = u64::from(mask.test(cpu) && cpu != me);
            kassert_eq!(after[cpu] - before[cpu], expected, "flushes received by CPU {cpu}");
        }
        kassert_eq!(
            mm.mm_cpumask(),
            CpuMask::empty(),
            "no CPU has loaded this mm, so each one the flush reached left the mask"
        );
    }
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
    let err = |e| alloc::format!("{e:?}");
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
    let child = crate::fork::copy_process(&KernelCloneArgs {
        flags: CloneFlags::CLONE_VM | CloneFlags::CLONE_FS,
        exit_signal: crate::signal::SIGCHLD,
        name: Some("ktest-lazy"),
        fn_: Some(body),
        kthread: true,
        ..Default::default()
    })
    .map_err(err)?;
    let pid = child.pid();
    set_cpus_allowed_ptr(&child, CpuMask::of(me)).map_err(err)?;
    *current().mm.lock() = Some(mm.clone());
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
