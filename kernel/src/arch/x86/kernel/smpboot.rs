//! Starting the application processors (APs). The boot CPU gives each its
//! idle task and stack, points the trampoline at them and sends INIT,
//! STARTUP, STARTUP; the AP comes up through the trampoline into
//! `start_secondary`, sets itself up as the boot CPU did (page table,
//! per-CPU area, GDT/TSS, IDT, system calls, FPU, CR4 features, run queue,
//! local APIC and its tick), marks itself online and idles.
//!
//! Linux: arch/x86/kernel/smpboot.c

use crate::arch::apic::{self, ipi};
use crate::arch::gdt::{self, NR_CPUS};
use crate::arch::{percpu, realmode, traps};
use crate::cpumask::{cpu_online, set_cpu_online};
use crate::errno::Errno;
use crate::mm::vmalloc::KernelStack;
use crate::task::TaskStruct;
use alloc::sync::Arc;
use spin::Once;
use x86_64::PhysAddr;
use x86_64::registers::control::{Cr3, Cr3Flags};

/// How long the boot CPU waits for an AP to come online (Linux waits 10 s
/// for the callin).
const BOOT_TIMEOUT_NS: u64 = 10_000_000_000;

/// Each AP's idle task, made by the boot CPU before it starts the AP
/// (Linux: idle_threads in kernel/smpboot.c). Set once per CPU.
static IDLE_THREADS: [Once<Arc<TaskStruct>>; NR_CPUS] = [const { Once::new() }; NR_CPUS];
/// Each AP's boot stack, on which its idle task runs for ever (Linux: the
/// idle task's own stack). Set once per CPU.
static IDLE_STACKS: [Once<KernelStack>; NR_CPUS] = [const { Once::new() }; NR_CPUS];

/// The idle task of `cpu`, once do_boot_cpu has made it (the boot CPU's
/// is init_task).
///
/// Linux: idle_thread_get() in kernel/smpboot.c
pub fn idle_thread_get(cpu: usize) -> Option<&'static Arc<TaskStruct>> {
    IDLE_THREADS[cpu].get()
}

/// Puts the trampoline in place; without it only the boot CPU runs.
///
/// Linux: native_smp_prepare_cpus() in arch/x86/kernel/smpboot.c (with
/// setup_real_mode() from the early initcall)
pub fn native_smp_prepare_cpus() -> Option<PhysAddr> {
    realmode::setup_real_mode(start_secondary)
}

/// Starts `cpu` from the trampoline at `start` and waits until it is online.
///
/// Linux: native_kick_ap() -> do_boot_cpu() in arch/x86/kernel/smpboot.c
pub fn do_boot_cpu(cpu: usize, start: PhysAddr) -> Result<(), Errno> {
    let apicid = apic::cpu_to_apicid(cpu);
    IDLE_THREADS[cpu].call_once(|| crate::init::init_task::fork_idle(cpu));
    let stack = match IDLE_STACKS[cpu].get() {
        Some(stack) => stack,
        None => {
            let stack = KernelStack::alloc()?;
            IDLE_STACKS[cpu].call_once(|| stack)
        }
    };
    log::info!("smpboot: Booting Node 0 Processor {cpu} APIC {apicid:#x}");
    realmode::set_trampoline_target(stack.top().as_u64(), cpu);
    wakeup_secondary_cpu_via_init(apicid, start);
    let deadline = crate::arch::time::ktime_get_ns() + BOOT_TIMEOUT_NS;
    while !cpu_online(cpu) {
        if crate::arch::time::ktime_get_ns() > deadline {
            log::error!("smpboot: do_boot_cpu failed(-5) to wakeup CPU#{cpu}");
            return Err(Errno::EIO);
        }
        core::hint::spin_loop();
    }
    Ok(())
}

/// Reports the CPUs that came up and their summed BogoMIPS (twice the
/// TSC's MHz per CPU, as /proc/cpuinfo shows).
///
/// Linux: smp_cpus_done() / native_smp_cpus_done() in arch/x86/kernel/smpboot.c
pub fn native_smp_cpus_done(online: u32) {
    let bogo_centi = crate::arch::time::tsc_khz() * 2 / 10 * u64::from(online);
    log::info!(
        "smpboot: Total of {online} processors activated ({}.{:02} BogoMIPS)",
        bogo_centi / 100,
        bogo_centi % 100
    );
}

/// INIT, then STARTUP twice: the AP resets, then starts in real mode at
/// `start`. A STARTUP that finds the AP already running is ignored.
///
/// Linux: wakeup_secondary_cpu_via_init() in arch/x86/kernel/smpboot.c
/// Differs: no INIT de-assert (only the 82489DX needed it); no delay after
/// INIT, as Linux on every CPU since the Pentium 4 (init_udelay = 0); 10 µs
/// after each STARTUP.
fn wakeup_secondary_cpu_via_init(apicid: u32, start: PhysAddr) {
    ipi::send_init(apicid);
    for _ in 0..2 {
        ipi::send_startup(apicid, (start.as_u64() >> 12) as u8);
        udelay(10);
    }
}

/// Spins for `us` microseconds of TSC time (Linux: udelay()).
fn udelay(us: u64) {
    let cycles = crate::arch::time::tsc_khz() * us / 1000;
    let start = crate::arch::rdtsc();
    while crate::arch::rdtsc() - start < cycles {
        core::hint::spin_loop();
    }
}

/// Where an AP enters the kernel from the trampoline, on its idle stack,
/// with the trampoline's page table and interrupts off.
///
/// Linux: start_secondary() in arch/x86/kernel/smpboot.c (with its
/// smp_callin())
extern "C" fn start_secondary(cpu: u64) -> ! {
    let cpu = cpu as usize;
    let pgd = crate::mm::pgtable::swapper_pg_dir();
    // SAFETY: swapper_pg_dir maps the kernel half, in which this code and
    // its stack live, exactly as the trampoline's table does.
    unsafe { Cr3::write(pgd, Cr3Flags::empty()) };
    percpu::setup_per_cpu_areas(cpu);
    gdt::gdt_init(cpu);
    traps::trap_init();
    crate::arch::entry::entry_64::syscall_init();
    super::fpu::fpu_init();
    super::cpu::common::identify_secondary_cpu();
    gdt::setup_exception_stacks(cpu);
    let idle = IDLE_THREADS[cpu]
        .get()
        .expect("do_boot_cpu made the idle task");
    // Linux: init_idle(): the idle task is this CPU's running task.
    crate::sched::core::sched_init(idle);
    apic::setup_local_apic(false);
    apic::timer::setup_apic_timer();
    set_cpu_online(cpu, true);
    crate::sched::idle::cpu_idle_loop()
}
