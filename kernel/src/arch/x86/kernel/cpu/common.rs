//! Turning on the CPU's protections of the kernel from user space, as far as
//! CPUID says the CPU has them:
//!
//! - SMEP: the kernel never executes a user page (a jump to user memory
//!   planted by an exploit faults instead).
//! - SMAP: the kernel never reads or writes a user page except between
//!   `stac` and `clac`, which only the user copies in mm/uaccess.rs issue.
//! - UMIP: `sgdt`, `sidt`, `sldt`, `smsw` and `str` fault in user mode, so
//!   they cannot reveal where the kernel keeps its tables.
//! - PGE: pages marked global (the kernel half, see mm/pgtable.rs) survive
//!   a CR3 switch in the TLB.
//!
//! and, always, CR0.AM: a user program that sets EFLAGS.AC gets SIGBUS for an
//! unaligned access, and CR0.WP: the kernel cannot write a read-only page.
//!
//! Linux: arch/x86/kernel/cpu/common.c, arch/x86/mm/init.c (PGE)
//! Differs: Linux emulates the UMIP instructions for user space with dummy
//! results (arch/x86/kernel/umip.c); here they end in SIGSEGV.
//! Not modelled: boot options that turn a feature off (nosmap, nosmep).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use raw_cpuid::CpuId;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// Set once SMAP is on; the entry code and the user copies issue
/// `stac`/`clac` only then, since both are invalid opcodes on a CPU without
/// SMAP.
/// Differs: Linux patches the instructions in or out at boot (alternatives);
/// we test this flag.
pub static SMAP_ENABLED: AtomicBool = AtomicBool::new(false);

/// The boot CPU's CR4 once its features are on, for the other CPUs to
/// copy (Linux: mmu_cr4_features).
static MMU_CR4_FEATURES: AtomicU64 = AtomicU64::new(0);

/// Reads the CPU's features and enables each protection it offers, then
/// says in one line which are on.
///
/// Linux: identify_boot_cpu() in arch/x86/kernel/cpu/common.c
pub fn identify_boot_cpu() {
    let cpuid = CpuId::new();
    let basic = cpuid.get_feature_info();
    let extended = cpuid.get_extended_feature_info();
    let offered = [
        (
            "SMEP",
            extended.as_ref().is_some_and(|f| f.has_smep()),
            Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION,
        ),
        (
            "SMAP",
            extended.as_ref().is_some_and(|f| f.has_smap()),
            Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION,
        ),
        (
            "UMIP",
            extended.as_ref().is_some_and(|f| f.has_umip()),
            Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION,
        ),
        (
            "PGE",
            basic.as_ref().is_some_and(|f| f.has_pge()),
            Cr4Flags::PAGE_GLOBAL,
        ),
    ];
    let mut enabled = alloc::string::String::new();
    for (name, has, bit) in offered {
        if has {
            // SAFETY: the CPU offers the feature. SMEP and SMAP only restrict
            // the kernel's access to user pages, which it makes only through
            // uaccess (bracketed by stac/clac); UMIP restricts user mode; PGE
            // keeps only the kernel half's entries across CR3 switches,
            // which are the same in every address space, and setting it
            // flushes the whole TLB first.
            unsafe { Cr4::update(|f| f.insert(bit)) };
            enabled.push_str(name);
            enabled.push(' ');
        }
    }
    SMAP_ENABLED.store(
        Cr4::read().contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION),
        Ordering::Relaxed,
    );
    // SAFETY: AM makes alignment faults possible only in user mode with
    // EFLAGS.AC set (the kernel runs at CPL 0); WP keeps read-only pages
    // read-only for the kernel too, which copy-on-write relies on.
    unsafe { Cr0::update(|f| f.insert(Cr0Flags::ALIGNMENT_MASK | Cr0Flags::WRITE_PROTECT)) };
    MMU_CR4_FEATURES.store(Cr4::read_raw(), Ordering::Relaxed);
    log::info!("x86/cpu: {enabled}enabled");
}

/// Gives an application processor the boot CPU's protections: the same
/// CR4 features (the CPUs are alike), CR0.AM and CR0.WP.
///
/// Linux: identify_secondary_cpu() and cr4_init() in arch/x86/kernel/cpu/common.c
pub fn identify_secondary_cpu() {
    let cr4 = MMU_CR4_FEATURES.load(Ordering::Relaxed);
    // SAFETY: the boot CPU runs with these CR4 bits, set only where CPUID
    // offered them, and every CPU of this machine is the same model; the
    // reasons for each bit are those of identify_boot_cpu.
    unsafe {
        Cr4::write_raw(cr4);
        Cr0::update(|f| f.insert(Cr0Flags::ALIGNMENT_MASK | Cr0Flags::WRITE_PROTECT));
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use crate::{kassert, ktest};

    ktest! {
        fn alignment_checks_and_write_protect_are_on_whatever_the_cpu() {
            let cr0 = Cr0::read();
            kassert!(cr0.contains(Cr0Flags::ALIGNMENT_MASK), "CR0.AM is clear");
            kassert!(cr0.contains(Cr0Flags::WRITE_PROTECT), "CR0.WP is clear");
        }
    }

    ktest! {
        fn cr4_has_smap_exactly_when_the_uaccess_flag_says_so() {
            let cr4 = Cr4::read().contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
            kassert!(cr4 == SMAP_ENABLED.load(Ordering::Relaxed), "CR4.SMAP {cr4} disagrees with SMAP_ENABLED");
        }
    }
}
