//! User floating-point and SSE state, saved and restored with the task.
//! The kernel itself is built without SSE, so only user state lives here.
//!
//! Linux: arch/x86/kernel/fpu/core.c (fpu__init_cpu, save_fpregs_to_fpstate,
//! restore_fpregs_from_fpstate)

use core::cell::UnsafeCell;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// The 512-byte FXSAVE area (Linux: struct fxregs_state).
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct FxState(pub [u8; 512]);

impl Default for FxState {
    /// The state after `fninit`: all exceptions masked (FCW 0x37f, MXCSR 0x1f80).
    fn default() -> Self {
        let mut area = [0u8; 512];
        area[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        area[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        FxState(area)
    }
}

/// A task's FPU state (Linux: struct fpu).
#[derive(Default)]
pub struct Fpu(UnsafeCell<FxState>);

// SAFETY: a task's FPU area is only touched by the CPU running or switching
// that task, with interrupts off, or by the task itself.
unsafe impl Sync for Fpu {}

impl Fpu {
    /// A copy of the saved state (fork copies the parent's).
    pub fn snapshot(&self) -> FxState {
        // SAFETY: see the Sync impl; the caller is the task itself.
        unsafe { *self.0.get() }
    }

    /// Replaces the saved state (exec resets it, sigreturn restores it).
    pub fn set(&self, state: FxState) {
        // SAFETY: see the Sync impl; the caller is the task itself.
        unsafe { *self.0.get() = state };
    }

    /// Saves the CPU's live registers into this area.
    pub fn save(&self) {
        // SAFETY: the area is 16-byte aligned and 512 bytes, as fxsave needs.
        unsafe { core::arch::x86_64::_fxsave64(self.0.get().cast()) };
    }

    /// Loads this area into the CPU's registers.
    pub fn restore(&self) {
        // SAFETY: the area holds a valid FXSAVE image (default or saved).
        unsafe { core::arch::x86_64::_fxrstor64(self.0.get().cast()) };
    }
}

/// Enables SSE for user space: no emulation, FXSAVE and SIMD exceptions.
///
/// Linux: fpu__init_cpu() in arch/x86/kernel/fpu/init.c
pub fn fpu_init() {
    // SAFETY: clearing EM and setting MP/NE makes x87/SSE instructions run
    // natively; the kernel never uses them, so no kernel state changes.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            f.insert(
                Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR | Cr0Flags::WRITE_PROTECT,
            );
        });
        Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
    }
}
