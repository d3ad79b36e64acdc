//! From the bootloader's jump to the first processes.
//!
//! start_kernel brings up each subsystem with an explicit `*_init()` call,
//! in dependency order. rest_init then creates pid 1 (init) and pid 2
//! (kthreadd) with kernel_thread, and the boot task becomes the idle task.
//!
//! Linux: init/main.c

use crate::arch::{gdt, irq, percpu, serial, time, traps};
use crate::errno::Errno;
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread};
use crate::init::init_task::init_task_init;
use crate::sched::completion::Completion;
use crate::task::{PF_IDLE, current};
use alloc::sync::Arc;
use bootloader_api::BootInfo;
use bootloader_api::config::{BootloaderConfig, Mapping};
use core::sync::atomic::Ordering;

/// How the bootloader should set up the machine: all physical memory mapped
/// at an offset it chooses, everything in the upper half so the lower half
/// is free for user space.
pub const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.mappings.dynamic_range_start = Some(0xffff_8000_0000_0000);
    config.kernel_stack_size = 128 * 1024;
    config
};

static KTHREADD_DONE: Completion = Completion::new();

/// The kernel's entry point: bring up every subsystem, then rest_init.
///
/// Linux: start_kernel() in init/main.c
pub fn start_kernel(boot_info: &'static mut BootInfo) -> ! {
    serial::serial_init();
    crate::printk::console_init();
    crate::kprintln!("Booting lifecycle {} (x86_64)", env!("CARGO_PKG_VERSION"));
    percpu::setup_per_cpu_areas(0);
    gdt::gdt_init(0);
    traps::trap_init();
    crate::arch::kernel::stack::set_boot_stack(
        boot_info.kernel_stack_bottom..boot_info.kernel_stack_bottom + boot_info.kernel_stack_len,
    );
    crate::mm::mm_init(boot_info);
    let cmdline = crate::params::setup_command_line();
    log::info!("Kernel command line: {cmdline}");
    if let Some(level) = crate::params::param("loglevel").and_then(|l| l.parse().ok()) {
        crate::printk::set_loglevel(level);
    }
    crate::sched::core::sched_init(init_task_init());
    crate::fork::fork_init();
    irq::init_irq();
    time::time_init();
    x86_64::instructions::interrupts::enable();
    time::tsc_init();
    rest_init()
}

/// Creates init (pid 1) and kthreadd (pid 2), then idles.
///
/// Linux: rest_init() in init/main.c
fn rest_init() -> ! {
    let init = kernel_thread(Arc::new(kernel_init), "swapper", CloneFlags::CLONE_FS)
        .expect("pid 1 can be created at boot");
    let kthreadd = kernel_thread(
        Arc::new(crate::kthread::kthreadd),
        "kthreadd",
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
    )
    .expect("pid 2 can be created at boot");
    log::info!("rest_init: init is pid {init}, kthreadd is pid {kthreadd}");
    KTHREADD_DONE.complete_all();
    current().flags.fetch_or(PF_IDLE, Ordering::Relaxed);
    crate::sched::core::cpu_idle_loop()
}

/// pid 1. Until user space exists it stays in the kernel: it runs the
/// in-kernel tests when asked to, and reaps every child it inherits.
///
/// Linux: kernel_init() in init/main.c
fn kernel_init() -> i32 {
    KTHREADD_DONE.wait_for_completion();
    let me = current();
    me.set_comm("init");
    me.signal().unkillable.store(true, Ordering::Relaxed);
    drop(me);
    crate::lkdtm::lkdtm_init();
    let ktest = crate::params::param("ktest").map(start_ktest).or_else(|| crate::params::param("bench").map(|_| start_bench()));
    loop {
        match kernel_wait4(-1, 0) {
            Ok(r) if Some(r.pid) == ktest => finish_ktest(r.status),
            Ok(r) => log::debug!("init: reaped pid {} status {:#x}", r.pid, r.status),
            Err(Errno::ECHILD) => wait_for_children(),
            Err(e) => log::warn!("init: wait4 failed: {e:?}"),
        }
    }
}

/// Starts the in-kernel test runner as a child of init.
fn start_ktest(filter: &'static str) -> crate::pid::PidNr {
    let body = Arc::new(move || crate::ktest::run_tests(filter));
    kernel_thread(body, "ktest", CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES).expect("the test runner can start")
}

/// Starts the benchmarks as a child of init; they end the run like tests.
fn start_bench() -> crate::pid::PidNr {
    kernel_thread(Arc::new(crate::bench::run_benchmarks), "bench", CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES)
        .expect("the benchmarks can start")
}

/// Powers off once the test runner has been reaped: success if it reported
/// no failures.
fn finish_ktest(failures: i32) -> ! {
    if failures == 0 {
        crate::reboot::kernel_power_off()
    }
    crate::reboot::kernel_halt_failed()
}

/// Sleeps until init has a child again (an orphan it adopts, for instance).
fn wait_for_children() {
    let me = current();
    let _ = me.signal().wait_chldexit.wait_event_interruptible(|| {
        let tasklist = crate::fork::TASKLIST_LOCK.lock();
        !me.family.get(&tasklist).children.is_empty()
    });
}

mod tests {
    use crate::pid::find_task_by_vpid;
    use crate::task::{PF_KTHREAD, current};
    use crate::{kassert, kassert_eq, ktest};

    ktest! {
        fn rest_init_made_init_pid_1_and_kthreadd_pid_2_as_children_of_pid_0() {
            let init = find_task_by_vpid(1).ok_or("pid 1 exists")?;
            let kthreadd = find_task_by_vpid(2).ok_or("pid 2 exists")?;
            kassert_eq!(init.comm().as_str(), "init");
            kassert_eq!(kthreadd.comm().as_str(), "kthreadd");
            kassert!(kthreadd.flags() & PF_KTHREAD != 0);
            let tasklist = crate::fork::TASKLIST_LOCK.lock();
            for t in [&init, &kthreadd] {
                kassert_eq!(t.family.get(&tasklist).real_parent.upgrade().map(|p| p.pid()), Some(0));
            }
            kassert_eq!(current().family.get(&tasklist).real_parent.upgrade().map(|p| p.pid()), Some(1), "tests run in a child of init");
        }
    }
}
