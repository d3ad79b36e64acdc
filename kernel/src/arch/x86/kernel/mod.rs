//! Core x86 process support: the context switch, thread setup, and kernel
//! stack checks.
//!
//! Linux: arch/x86/kernel/

pub mod acpi;
pub mod cpu;
pub mod fpu;
pub mod process;
pub mod process_64;
pub mod rtc;
pub mod smp;
pub mod smpboot;
pub mod stack;
