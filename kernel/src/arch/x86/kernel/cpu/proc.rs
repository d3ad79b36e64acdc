//! /proc/cpuinfo: what CPUID says about each CPU, in Linux's layout.
//!
//! Linux: arch/x86/kernel/cpu/proc.c (show_cpuinfo()), the flag names of
//! arch/x86/include/asm/cpufeatures.h
//! Differs: one block, for the boot CPU, which runs every task; the flags
//! are the CPUID bits of leaves 1, 7 and 0x80000001 only (Linux adds its
//! own, such as constant_tsc); no microcode, cache size or bugs lines.

use alloc::string::String;
use core::fmt::Write;
use raw_cpuid::{CpuIdResult, cpuid};

/// Flag names by bit, "" for bits Linux does not show.
type FlagWord = [&'static str; 32];

/// CPUID 1 EDX (Linux: word 0 of the capabilities).
#[rustfmt::skip]
const WORD_1_EDX: FlagWord = [
    "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr",
    "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr",
    "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
];
/// CPUID 0x80000001 EDX (Linux: word 1).
#[rustfmt::skip]
const WORD_81_EDX: FlagWord = [
    "", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "", "", "", "", "mp", "nx",
    "", "mmxext", "", "", "fxsr_opt", "pdpe1gb", "rdtscp", "", "lm", "3dnowext", "3dnow",
];
/// CPUID 1 ECX (Linux: word 4).
#[rustfmt::skip]
const WORD_1_ECX: FlagWord = [
    "pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est", "tm2", "ssse3",
    "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm", "", "pcid", "dca", "sse4_1", "sse4_2", "x2apic",
    "movbe", "popcnt", "tsc_deadline_timer", "aes", "xsave", "", "avx", "f16c", "rdrand",
    "hypervisor",
];
/// CPUID 0x80000001 ECX (Linux: word 6).
#[rustfmt::skip]
const WORD_81_ECX: FlagWord = [
    "lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a", "misalignsse",
    "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", "", "lwp", "fma4", "tce", "",
    "nodeid_msr", "", "tbm", "topoext", "perfctr_core", "perfctr_nb", "", "bpext", "ptsc",
    "perfctr_llc", "mwaitx", "", "",
];
/// CPUID 7.0 EBX (Linux: word 9).
#[rustfmt::skip]
const WORD_7_EBX: FlagWord = [
    "fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", "", "smep", "bmi2", "erms",
    "invpcid", "rtm", "cqm", "", "mpx", "rdt_a", "avx512f", "avx512dq", "rdseed", "adx", "smap",
    "avx512ifma", "", "clflushopt", "clwb", "intel_pt", "avx512pf", "avx512er", "avx512cd",
    "sha_ni", "avx512bw", "avx512vl",
];
/// CPUID 7.0 ECX (Linux: word 16).
#[rustfmt::skip]
const WORD_7_ECX: FlagWord = [
    "", "avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2", "", "gfni", "vaes",
    "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "tme", "avx512_vpopcntdq", "", "la57", "", "",
    "", "", "", "rdpid", "", "", "cldemote", "", "movdiri", "movdir64b", "enqcmd", "sgx_lc", "",
];

/// CPUID `leaf` if the CPU has it (leaves up to `max` of its range).
fn cpuid_leaf(leaf: u32, subleaf: u32, max: u32) -> CpuIdResult {
    if leaf <= max {
        cpuid!(leaf, subleaf)
    } else {
        CpuIdResult {
            eax: 0,
            ebx: 0,
            ecx: 0,
            edx: 0,
        }
    }
}

/// The names of the set bits of each register, in Linux's word order.
fn flags(max: u32, max_ext: u32) -> String {
    let (l1, l7, l81) = (
        cpuid_leaf(1, 0, max),
        cpuid_leaf(7, 0, max),
        cpuid_leaf(0x8000_0001, 0, max_ext),
    );
    let mut s = String::new();
    for (bits, names) in [
        (l1.edx, &WORD_1_EDX),
        (l81.edx, &WORD_81_EDX),
        (l1.ecx, &WORD_1_ECX),
        (l81.ecx, &WORD_81_ECX),
        (l7.ebx, &WORD_7_EBX),
        (l7.ecx, &WORD_7_ECX),
    ] {
        for (bit, name) in names.iter().enumerate() {
            if bits & (1 << bit) != 0 && !name.is_empty() {
                s.push_str(name);
                s.push(' ');
            }
        }
    }
    s.truncate(s.trim_end().len());
    s
}

/// The 48-byte brand string of leaves 0x80000002..4, without padding.
fn model_name(max_ext: u32) -> String {
    let mut bytes = alloc::vec::Vec::new();
    for leaf in 0x8000_0002..=0x8000_0004 {
        let r = cpuid_leaf(leaf, 0, max_ext);
        for reg in [r.eax, r.ebx, r.ecx, r.edx] {
            bytes.extend_from_slice(&reg.to_le_bytes());
        }
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from(String::from_utf8_lossy(&bytes[..end]).trim())
}

/// Family, model and stepping from leaf 1 EAX, with the extended fields
/// added as Linux's x86_family() and x86_model() do.
fn family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let mut family = (eax >> 8) & 0xf;
    if family == 0xf {
        family += (eax >> 20) & 0xff;
    }
    let mut model = (eax >> 4) & 0xf;
    if family >= 0x6 {
        model += ((eax >> 16) & 0xf) << 4;
    }
    (family, model, eax & 0xf)
}

/// One block per online CPU, `processor : N` as its number.
///
/// Linux: show_cpuinfo() in arch/x86/kernel/cpu/proc.c
/// Differs: CPUID is read on the CPU that reads the file, and its answers
/// are shown for every CPU (QEMU's CPUs are all alike); the APIC ID shown
/// is the CPU's number, one core per CPU in one package.
pub fn show_cpuinfo() -> String {
    let leaf0 = cpuid!(0);
    let max_ext = cpuid!(0x8000_0000).eax;
    let mut vendor = alloc::vec::Vec::new();
    for reg in [leaf0.ebx, leaf0.edx, leaf0.ecx] {
        vendor.extend_from_slice(&reg.to_le_bytes());
    }
    let l1 = cpuid_leaf(1, 0, leaf0.eax);
    let (family, model, stepping) = family_model_stepping(l1.eax);
    let khz = crate::arch::time::tsc_khz();
    let sizes = cpuid_leaf(0x8000_0008, 0, max_ext).eax;
    let (vendor, name, flags) = (
        String::from_utf8_lossy(&vendor),
        model_name(max_ext),
        flags(leaf0.eax, max_ext),
    );
    let cpus = crate::cpumask::num_online_cpus();
    let mut s = String::new();
    for n in crate::cpumask::cpu_online_mask().iter() {
        let _ = write!(
            s,
            "processor\t: {n}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n\
             model name\t: {name}\nstepping\t: {stepping}\ncpu MHz\t\t: {}.{:03}\nphysical id\t: 0\n\
             siblings\t: {cpus}\ncore id\t\t: {n}\ncpu cores\t: {cpus}\napicid\t\t: {n}\n\
             initial apicid\t: {n}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\n\
             wp\t\t: yes\nflags\t\t: {flags}\nbogomips\t: {}.{:02}\nclflush size\t: {}\n\
             cache_alignment\t: 64\naddress sizes\t: {} bits physical, {} bits virtual\n\
             power management:\n\n",
            khz / 1000,
            khz % 1000,
            leaf0.eax,
            khz * 2 / 1000,
            khz * 2 / 10 % 100,
            ((l1.ebx >> 8) & 0xff) * 8,
            sizes & 0xff,
            (sizes >> 8) & 0xff,
        );
    }
    s
}

/// The CPU's feature word a program finds in AT_HWCAP: CPUID 1 EDX.
///
/// Linux: ELF_HWCAP in arch/x86/include/asm/elf.h
pub fn elf_hwcap() -> u64 {
    u64::from(cpuid!(1).edx)
}
