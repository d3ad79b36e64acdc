//! Kernel entry and exit: interrupts, exceptions and system calls all save
//! the interrupted registers as a `PtRegs` on the kernel stack, call into
//! Rust, and leave through the same `iretq` path.
//!
//! Linux: arch/x86/entry/

pub mod calling;
pub mod entry_64;
