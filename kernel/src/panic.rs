//! What happens when the kernel cannot go on: print the message and where
//! it came from, mark a running test as failed, and end the run with the
//! failure status.
//!
//! Linux: kernel/panic.c

use crate::arch::qemu::{QemuExitCode, exit_qemu};
use crate::arch::serial::write_str_emergency;
use core::fmt::Write;
use core::panic::PanicInfo;

struct EmergencyConsole;

impl Write for EmergencyConsole {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_str_emergency(s);
        Ok(())
    }
}

/// Linux: panic() in kernel/panic.c
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    x86_64::instructions::interrupts::disable();
    let _ = writeln!(
        EmergencyConsole,
        "Kernel panic - not syncing: {}",
        info.message()
    );
    if let Some(location) = info.location() {
        let _ = writeln!(
            EmergencyConsole,
            "  at {}:{}:{}",
            location.file(),
            location.line(),
            location.column()
        );
    }
    if let Some(test) = crate::ktest::running_test() {
        let _ = writeln!(EmergencyConsole, "test {test} ... FAILED (panicked)");
    }
    let _ = writeln!(EmergencyConsole, "---[ end Kernel panic - not syncing ]---");
    exit_qemu(QemuExitCode::Failed)
}
