//! Powering off and restarting the (virtual) machine.
//!
//! Linux: kernel/reboot.c

use crate::arch::qemu::{QemuExitCode, exit_qemu};

/// Shuts the machine down cleanly: the runner reports success.
///
/// Linux: kernel_power_off() in kernel/reboot.c
pub fn kernel_power_off() -> ! {
    log::info!("reboot: Power down");
    exit_qemu(QemuExitCode::Success)
}

/// Ends the run with a failure status, e.g. when the in-kernel tests fail.
pub fn kernel_halt_failed() -> ! {
    log::info!("reboot: System halted (failure)");
    exit_qemu(QemuExitCode::Failed)
}
