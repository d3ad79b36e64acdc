//! What the CPU offers, read with CPUID, and the protections the kernel
//! turns on because of it.
//!
//! Linux: arch/x86/kernel/cpu/

pub mod common;
pub mod proc;
