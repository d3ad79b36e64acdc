//! The local APIC: each CPU's own interrupt controller. It delivers the
//! CPU's timer tick and the interrupts other CPUs send it (IPIs), and it is
//! where the CPU acknowledges an interrupt (EOI).
//!
//! Two ways to reach its registers: x2APIC mode, model-specific registers
//! `0x800 + offset / 16`, used when CPUID offers it (QEMU's `-cpu max`);
//! otherwise xAPIC mode, a 4 KiB page of memory-mapped registers at the
//! address the MADT gives (0xfee00000), reached through the direct map.
//!
//! Linux: arch/x86/kernel/apic/apic.c, x2apic_phys.c, arch/x86/include/asm/apicdef.h
//! Differs: no I/O APIC: the serial port's interrupt still comes from the
//! 8259 PIC, through the boot CPU's LINT0 in virtual-wire (ExtINT) mode.

pub mod ipi;
pub mod timer;

use super::gdt::NR_CPUS;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use x86_64::PhysAddr;
use x86_64::registers::model_specific::Msr;

/// The local APIC timer's vector (Linux: LOCAL_TIMER_VECTOR in
/// arch/x86/include/asm/irq_vectors.h).
pub const LOCAL_TIMER_VECTOR: u8 = 0xec;
/// Run the functions other CPUs queued for this one (Linux: CALL_FUNCTION_VECTOR).
pub const CALL_FUNCTION_VECTOR: u8 = 0xfc;
/// Reschedule on the way out of the interrupt (Linux: RESCHEDULE_VECTOR).
pub const RESCHEDULE_VECTOR: u8 = 0xfd;
/// An interrupt withdrawn before the CPU took it (Linux: SPURIOUS_APIC_VECTOR).
pub const SPURIOUS_APIC_VECTOR: u8 = 0xff;

// Register offsets in the xAPIC page (Linux: apicdef.h).
const APIC_ID: u32 = 0x20;
const APIC_TASKPRI: u32 = 0x80;
const APIC_EOI: u32 = 0xb0;
const APIC_SPIV: u32 = 0xf0;
const APIC_ESR: u32 = 0x280;
const APIC_ICR: u32 = 0x300;
const APIC_ICR2: u32 = 0x310;
const APIC_LVTT: u32 = 0x320;
const APIC_LVT0: u32 = 0x350;
const APIC_LVT1: u32 = 0x360;
const APIC_LVTERR: u32 = 0x370;
const APIC_TMICT: u32 = 0x380;
const APIC_TMCCT: u32 = 0x390;
const APIC_TDCR: u32 = 0x3e0;

const APIC_SPIV_APIC_ENABLED: u32 = 1 << 8;
const APIC_LVT_MASKED: u32 = 1 << 16;
const APIC_DM_NMI: u32 = 0x400;
const APIC_DM_EXTINT: u32 = 0x700;
const APIC_ICR_BUSY: u32 = 1 << 12;

/// IA32_APIC_BASE: the xAPIC page's address and the enable bits.
const MSR_IA32_APICBASE: u32 = 0x1b;
const X2APIC_ENABLE: u64 = 1 << 10;
const XAPIC_ENABLE: u64 = 1 << 11;
/// The first x2APIC register; register `offset` is MSR `APIC_BASE_MSR + offset / 16`.
const APIC_BASE_MSR: u32 = 0x800;

/// Where the xAPIC page is by default (Linux: APIC_DEFAULT_PHYS_BASE).
pub const APIC_DEFAULT_PHYS_BASE: u64 = 0xfee0_0000;

/// Every CPU runs its local APIC in x2APIC mode; decided once by the boot
/// CPU, before any other CPU starts (Linux: x2apic_mode).
static X2APIC_MODE: AtomicBool = AtomicBool::new(false);
/// The xAPIC page's kernel address (Linux: APIC_BASE, the fixmap slot).
static APIC_MMIO: AtomicU64 = AtomicU64::new(0);
/// Each CPU's local APIC id (Linux: `DEFINE_PER_CPU(u32, x86_cpu_to_apicid)`).
/// Written while booting, before the CPU is started.
static X86_CPU_TO_APICID: [AtomicU32; NR_CPUS] = [const { AtomicU32::new(0) }; NR_CPUS];

/// Whether the local APICs run in x2APIC mode.
pub fn x2apic_mode() -> bool {
    X2APIC_MODE.load(Ordering::Relaxed)
}

/// The local APIC id of `cpu`.
pub fn cpu_to_apicid(cpu: usize) -> u32 {
    X86_CPU_TO_APICID[cpu].load(Ordering::Relaxed)
}

/// Records the local APIC id of `cpu` (Linux: generic_processor_info()).
pub fn set_cpu_apicid(cpu: usize, apicid: u32) {
    X86_CPU_TO_APICID[cpu].store(apicid, Ordering::Relaxed);
}

/// Reads a local APIC register.
///
/// Linux: native_apic_mem_read() / native_apic_msr_read()
fn apic_read(reg: u32) -> u32 {
    if x2apic_mode() {
        // SAFETY: in x2APIC mode the registers are these MSRs; reading one
        // has no side effect.
        unsafe { Msr::new(APIC_BASE_MSR + (reg >> 4)).read() as u32 }
    } else {
        let addr = APIC_MMIO.load(Ordering::Relaxed) + u64::from(reg);
        // SAFETY: the xAPIC page is mapped (all of the low 4 GiB is, in the
        // direct map) and `reg` is one of its aligned 32-bit registers.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }
}

/// Writes a local APIC register.
///
/// Linux: native_apic_mem_write() / native_apic_msr_write()
fn apic_write(reg: u32, value: u32) {
    if x2apic_mode() {
        // SAFETY: in x2APIC mode the registers are these MSRs; the callers
        // write the values the SDM defines for each.
        unsafe { Msr::new(APIC_BASE_MSR + (reg >> 4)).write(u64::from(value)) }
    } else {
        let addr = APIC_MMIO.load(Ordering::Relaxed) + u64::from(reg);
        // SAFETY: as in apic_read; the callers write defined values.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
    }
}

/// Acknowledges the interrupt being handled, so that the local APIC
/// delivers the next one of equal or lower priority.
///
/// Linux: apic_eoi() in arch/x86/include/asm/apic.h
pub fn apic_eoi() {
    apic_write(APIC_EOI, 0);
}

/// This CPU's local APIC id.
///
/// Linux: read_apic_id() in arch/x86/include/asm/apic.h
pub fn read_apic_id() -> u32 {
    let id = apic_read(APIC_ID);
    if x2apic_mode() { id } else { id >> 24 }
}

/// Chooses the mode for every CPU (x2APIC when CPUID offers it) and where
/// the xAPIC page is, from the MADT's address.
///
/// Linux: check_x2apic() and register_lapic_address() in apic.c
pub fn init_apic_mappings(lapic_addr: u64) {
    let has_x2apic = raw_cpuid::CpuId::new()
        .get_feature_info()
        .is_some_and(|f| f.has_x2apic());
    X2APIC_MODE.store(has_x2apic, Ordering::Relaxed);
    lapic_enable_mode();
    let mmio = crate::mm::phys_to_virt(PhysAddr::new(lapic_addr));
    APIC_MMIO.store(mmio.as_u64(), Ordering::Relaxed);
    log::info!(
        "x2apic: {}",
        if has_x2apic {
            "enabled"
        } else {
            "not present, using xAPIC"
        }
    );
}

/// Turns on this CPU's local APIC in the chosen mode: accept every
/// priority, enable it with the spurious vector, and on the boot CPU let
/// the 8259's interrupts in through LINT0 (ExtINT) and NMIs through LINT1.
/// The error interrupt stays masked.
///
/// Linux: setup_local_APIC() in arch/x86/kernel/apic/apic.c (with
/// x2apic_enable() for the mode)
/// Differs: no ERROR_APIC_VECTOR handler; the error LVT is masked.
pub fn setup_local_apic(boot_cpu: bool) {
    lapic_enable_mode();
    apic_write(APIC_TASKPRI, 0);
    apic_write(
        APIC_SPIV,
        APIC_SPIV_APIC_ENABLED | u32::from(SPURIOUS_APIC_VECTOR),
    );
    if boot_cpu {
        apic_write(APIC_LVT0, APIC_DM_EXTINT);
        apic_write(APIC_LVT1, APIC_DM_NMI);
    } else {
        apic_write(APIC_LVT0, APIC_DM_EXTINT | APIC_LVT_MASKED);
        apic_write(APIC_LVT1, APIC_DM_NMI | APIC_LVT_MASKED);
    }
    apic_write(APIC_LVTERR, APIC_LVT_MASKED);
    // The error status register latches on write (Linux: lapic_setup_esr()).
    apic_write(APIC_ESR, 0);
    apic_write(APIC_ESR, 0);
    apic_eoi();
}

/// Turns this CPU's local APIC on in the chosen mode.
///
/// Linux: x2apic_enable() in arch/x86/kernel/apic/apic.c
fn lapic_enable_mode() {
    let mut msr = Msr::new(MSR_IA32_APICBASE);
    let mode = if x2apic_mode() {
        X2APIC_ENABLE | XAPIC_ENABLE
    } else {
        XAPIC_ENABLE
    };
    // SAFETY: IA32_APIC_BASE keeps its address bits; setting the enable bits
    // (x2APIC only where CPUID offers it) is the architected way to turn the
    // local APIC on in that mode.
    unsafe {
        let base = msr.read();
        msr.write(base | mode);
    }
}

/// Writes the interrupt command register: `low` (vector, delivery mode,
/// level) to the CPU with local APIC id `dest`. In xAPIC mode, waits for the
/// previous command to be accepted first and for this one after.
///
/// Linux: native_apic_icr_write() / native_x2apic_icr_write()
fn apic_icr_write(low: u32, dest: u32) {
    super::without_interrupts(|| {
        if x2apic_mode() {
            // A WRMSR to the x2APIC is not serializing: without the fence
            // the IPI can reach the target before the stores it announces
            // (a queued cross-CPU call), which then finds nothing to do.
            // Linux: weak_wrmsr_fence() in arch/x86/include/asm/barrier.h
            // SAFETY: MFENCE and LFENCE only order memory accesses and
            // instructions; they touch no memory, stack or flags.
            unsafe { core::arch::asm!("mfence", "lfence", options(nostack, preserves_flags)) };
            // SAFETY: the x2APIC ICR is one 64-bit MSR: destination in the
            // high half, command in the low half.
            unsafe {
                Msr::new(APIC_BASE_MSR + (APIC_ICR >> 4))
                    .write(u64::from(dest) << 32 | u64::from(low))
            };
        } else {
            apic_wait_icr_idle();
            apic_write(APIC_ICR2, dest << 24);
            apic_write(APIC_ICR, low);
            apic_wait_icr_idle();
        }
    });
}

/// Waits until the local APIC has sent the last command (xAPIC only; an
/// x2APIC ICR write is accepted at once).
///
/// Linux: native_apic_wait_icr_idle() in apic.c
fn apic_wait_icr_idle() {
    while apic_read(APIC_ICR) & APIC_ICR_BUSY != 0 {
        core::hint::spin_loop();
    }
}
