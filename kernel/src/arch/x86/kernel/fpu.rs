//! User floating-point and SSE state, saved and restored with the task.
//! The kernel itself is built without SSE, so only user state lives here.
//!
//! Linux: arch/x86/kernel/fpu/core.c (fpu__init_cpu, save_fpregs_to_fpstate,
//! restore_fpregs_from_fpstate)

use crate::arch::sync::SpinLock;
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

/// A task's FPU state (Linux: struct fpu). Its lock is only ever taken by
/// the task itself or by the CPU switching it, so it is never contended; it
/// is what lets fork read the parent's area while the parent runs on
/// another CPU. Invariant: the area is a valid FXSAVE image (fxrstor of it
/// cannot fault).
#[derive(Default)]
pub struct Fpu(SpinLock<FxState>);

impl Fpu {
    /// A copy of the saved state (fork copies the parent's).
    pub fn snapshot(&self) -> FxState {
        *self.0.lock()
    }

    /// Replaces the saved state (exec resets it, sigreturn restores it).
    /// Reserved MXCSR bits, which would make fxrstor fault, are cleared.
    pub fn set(&self, mut state: FxState) {
        let mxcsr = u32::from_le_bytes([state.0[24], state.0[25], state.0[26], state.0[27]]);
        state.0[24..28].copy_from_slice(&(mxcsr & 0xffff).to_le_bytes());
        *self.0.lock() = state;
    }

    /// Saves the CPU's live registers into this area.
    ///
    /// Linux: save_fpregs_to_fpstate() in arch/x86/kernel/fpu/core.c
    pub fn save(&self) {
        let mut area = self.0.lock();
        // SAFETY: the area is 16-byte aligned and 512 bytes, as fxsave
        // needs, and the guard makes this its only user.
        unsafe { core::arch::x86_64::_fxsave64((&raw mut *area).cast()) };
    }

    /// Loads this area into the CPU's registers.
    ///
    /// Linux: restore_fpregs_from_fpstate() in arch/x86/kernel/fpu/core.c
    pub fn restore(&self) {
        let area = self.0.lock();
        // SAFETY: by the invariant the area is a valid FXSAVE image (the
        // default, one fxsave wrote, or one `set` cleaned), 16-byte aligned.
        unsafe { core::arch::x86_64::_fxrstor64((&raw const *area).cast()) };
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
