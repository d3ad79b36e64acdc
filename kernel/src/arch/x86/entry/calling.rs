//! The saved register frame of an entry from user space or an interrupt.
//!
//! Linux: struct pt_regs in arch/x86/include/asm/ptrace.h, the push order
//! in arch/x86/entry/calling.h

/// Registers saved at kernel entry, lowest address first, exactly as the
/// entry code pushes them.
///
/// Differs: Linux finds the vector from the entry point; we save it in the
/// frame so one Rust dispatcher serves every vector.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct PtRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    /// Interrupt or exception vector; `SYSCALL_VECTOR` for system calls.
    pub vector: u64,
    /// The system-call number, or the exception's error code (Linux: orig_ax).
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// The `vector` of a frame built by the `syscall` instruction's entry.
pub const SYSCALL_VECTOR: u64 = 0x100;

impl PtRegs {
    /// Whether the frame was interrupted in ring 3 (Linux: user_mode()).
    pub fn user_mode(&self) -> bool {
        self.cs & 3 == 3
    }
}
