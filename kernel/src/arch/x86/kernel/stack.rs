//! Telling a kernel stack overflow apart from other double faults.

use core::fmt::Write;
use core::ops::Range;
use spin::Once;

static BOOT_STACK: Once<Range<u64>> = Once::new();

/// Records the boot stack (the idle task's stack), given by the bootloader.
pub fn set_boot_stack(stack: Range<u64>) {
    BOOT_STACK.call_once(|| stack);
}

/// If `rsp` has run off the bottom of the current task's stack, writes a
/// report naming the task to `out` and returns true.
pub fn describe_overflow(rsp: u64, out: &mut dyn Write) -> bool {
    const SLACK: u64 = 4096;
    super::super::percpu::with_current(|task| {
        let (bottom, name, pid) = match task {
            Some(t) => (
                t.stack_bottom().unwrap_or_else(boot_stack_bottom),
                t.comm_lossy(),
                t.pid(),
            ),
            None => (boot_stack_bottom(), crate::task::Comm::new("swapper"), 0),
        };
        if rsp >= bottom + SLACK || rsp + 64 * 1024 < bottom {
            return false;
        }
        let _ = write!(
            out,
            "BUG: kernel stack overflow in task '{}' (pid {pid}): RSP={rsp:#x} below stack bottom {bottom:#x}",
            name.as_str()
        );
        true
    })
}

fn boot_stack_bottom() -> u64 {
    BOOT_STACK.get().map_or(0, |r| r.start)
}
