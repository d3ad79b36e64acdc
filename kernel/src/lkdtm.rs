//! Deliberate crashes, to check that the kernel reports them: booting with
//! `lkdtm=<TYPE>` triggers one.
//!
//! Linux: drivers/misc/lkdtm/ (the Linux Kernel Dump Test Module)

use crate::fork::{CloneFlags, kernel_thread};
use alloc::sync::Arc;

/// Triggers the crash named by `lkdtm=` on the command line, if any.
///
/// Linux: lkdtm_do_action() in drivers/misc/lkdtm/core.c
pub fn lkdtm_init() {
    let Some(kind) = crate::params::param("lkdtm") else {
        return;
    };
    log::info!("lkdtm: Performing direct entry {kind}");
    match kind {
        "PANIC" => panic!("dumptest"),
        "ACCESS_NULL" => crate::arch::traps::provoke_null_dereference(),
        "EXHAUST_STACK" => exhaust_stack_in_task(),
        "SOFTLOCKUP" => loop {
            core::hint::spin_loop();
        },
        other => log::error!("lkdtm: {other} is not a crash type"),
    }
}

/// Overflows the stack of a kernel thread named "lkdtm-stack", so the report
/// can name the task, and waits for it (the overflow ends the kernel).
fn exhaust_stack_in_task() {
    let body = Arc::new(|| recurse(0) as i32);
    match kernel_thread(
        body,
        "lkdtm-stack",
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
    ) {
        Ok(pid) => log::error!(
            "lkdtm: the overflow was not caught: {:?}",
            crate::exit::kernel_wait4(pid, 0)
        ),
        Err(e) => log::error!("lkdtm: cannot start the test thread: {e:?}"),
    }
}

/// Recursion that the optimiser cannot turn into a loop: each frame keeps a
/// 1 KiB buffer alive across the call.
///
/// Linux: recursive_loop() in drivers/misc/lkdtm/bugs.c
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let buf = core::hint::black_box([depth as u8; 1024]);
    let below = recurse(depth + 1);
    below + buf[(depth % 1024) as usize] as u64
}
