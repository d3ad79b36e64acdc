//! Powering off and restarting the (virtual) machine.
//!
//! Linux: kernel/reboot.c

use crate::arch::qemu::{QemuExitCode, exit_qemu};

/// Shuts the machine down cleanly: the runner reports success.
///
/// Linux: kernel_power_off() in kernel/reboot.c
pub fn kernel_power_off() -> ! {
    crate::trace::trace_dump();
    crate::locking::print_lockdep_stats();
    log::info!("reboot: Power down");
    exit_qemu(QemuExitCode::Success)
}

/// Ends the run with a failure status, e.g. when the in-kernel tests fail.
pub fn kernel_halt_failed() -> ! {
    log::info!("reboot: System halted (failure)");
    exit_qemu(QemuExitCode::Failed)
}

/// Restarts the machine; in QEMU with `-no-reboot` that ends the run, which
/// the runner reports like a successful power-off.
///
/// Linux: kernel_restart() in kernel/reboot.c
pub fn kernel_restart() -> ! {
    log::info!("reboot: Restarting system");
    exit_qemu(QemuExitCode::Success)
}
