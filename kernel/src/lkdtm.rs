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
        "ACCESS_USERSPACE" => access_userspace(),
        "EXEC_USERSPACE" => exec_userspace(),
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
        crate::signal::SIGCHLD,
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

/// Reads a user page directly, not through uaccess: with SMAP on, an oops.
///
/// Linux: lkdtm_ACCESS_USERSPACE() in drivers/misc/lkdtm/perms.c
fn access_userspace() {
    let Some(addr) = user_page() else { return };
    log::info!("lkdtm: attempting bad read at {addr:#x}");
    crate::arch::traps::provoke_user_read(addr);
    log::error!("lkdtm: FAIL: survived bad read");
}

/// Calls code on a user page: with SMEP on, an oops.
///
/// Linux: lkdtm_EXEC_USERSPACE() in drivers/misc/lkdtm/perms.c
fn exec_userspace() {
    let Some(addr) = user_page() else { return };
    log::info!("lkdtm: attempting bad execution at {addr:#x}");
    crate::arch::traps::provoke_user_exec(addr);
    log::error!("lkdtm: FAIL: survived bad execution");
}

/// Gives this task (init, before it execs) an address space with one
/// present page that holds a `ret` instruction; returns its address.
fn user_page() -> Option<u64> {
    use crate::mm::mmap::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE};
    let mm = crate::mm::mm_types::MmStruct::new().ok()?;
    crate::task::current().mm.install(Arc::clone(&mm));
    crate::mm::memory::switch_mm(Some(&mm));
    let prot = PROT_READ | PROT_WRITE | PROT_EXEC;
    let anon = crate::mm::mm_types::VmBacking::Anon;
    let addr =
        crate::mm::mmap::do_mmap(&mm, 0, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, anon, true);
    match addr.and_then(|addr| crate::mm::uaccess::copy_to_user(addr, &[0xc3]).map(|()| addr)) {
        Ok(addr) => Some(addr),
        Err(e) => {
            log::error!("lkdtm: cannot map a user page: {e:?}");
            None
        }
    }
}
