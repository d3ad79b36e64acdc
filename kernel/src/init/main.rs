//! From the bootloader's jump to the first processes.
//!
//! start_kernel brings up each subsystem with an explicit `*_init()` call,
//! in dependency order. rest_init then creates pid 1 (init) and pid 2
//! (kthreadd) with kernel_thread, and the boot task becomes the idle task.
//!
//! Linux: init/main.c

use crate::arch::{apic, gdt, irq, percpu, serial, time, traps};
use crate::errno::Errno;
use crate::exit::kernel_wait4;
use crate::fork::{CloneFlags, kernel_thread, user_mode_thread};
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
/// Command-line words the kernel itself consumes; the rest go to init.
const KERNEL_PARAMS: [&str; 8] = [
    "ktest", "bench", "lkdtm", "loglevel", "init", "rdinit", "trace", "lockdep",
];

/// The kernel's entry point: bring up every subsystem, then rest_init.
///
/// Linux: start_kernel() in init/main.c
pub fn start_kernel(boot_info: &'static mut BootInfo) -> ! {
    // First: from here on, this CPU's per-CPU area is where GS points.
    percpu::setup_per_cpu_areas(0);
    serial::serial_init();
    crate::printk::console_init();
    crate::printk::print_banner(format_args!(
        "Booting lifecycle {} (x86_64)",
        env!("CARGO_PKG_VERSION")
    ));
    gdt::gdt_init(0);
    traps::trap_init();
    crate::arch::entry::entry_64::syscall_init();
    crate::arch::kernel::fpu::fpu_init();
    crate::arch::kernel::stack::set_boot_stack(
        boot_info.kernel_stack_bottom..boot_info.kernel_stack_bottom + boot_info.kernel_stack_len,
    );
    crate::mm::mm_init(boot_info);
    crate::arch::kernel::acpi::acpi_boot_init(boot_info.rsdp_addr.into_option());
    gdt::setup_exception_stacks(0);
    crate::arch::kernel::cpu::common::identify_boot_cpu();
    let cmdline = crate::params::setup_command_line();
    log::info!("Kernel command line: {cmdline}");
    crate::locking::lockdep::lockdep_init();
    if let Some(level) = crate::params::param("loglevel").and_then(|l| l.parse().ok()) {
        crate::printk::set_loglevel(level);
    }
    crate::trace::trace_init();
    crate::sched::core::sched_init(init_task_init());
    crate::fork::fork_init();
    irq::init_irq();
    time::time_init();
    crate::timekeeping::timekeeping_init();
    time::tsc_init();
    apic::setup_local_apic(true);
    apic::timer::setup_boot_apic_clock();
    x86_64::instructions::interrupts::enable();
    rest_init()
}

/// Creates init (pid 1) and kthreadd (pid 2), then idles. Neither has an
/// exit signal: their parent, this idle task, never waits.
///
/// Linux: rest_init() in init/main.c
fn rest_init() -> ! {
    let init = user_mode_thread(Arc::new(kernel_init), CloneFlags::CLONE_FS, 0)
        .expect("pid 1 can be created at boot");
    let kthreadd = kernel_thread(
        Arc::new(crate::kthread::kthreadd),
        "kthreadd",
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
        0,
    )
    .expect("pid 2 can be created at boot");
    log::info!("rest_init: init is pid {init}, kthreadd is pid {kthreadd}");
    KTHREADD_DONE.complete_all();
    current().flags.fetch_or(PF_IDLE, Ordering::Relaxed);
    crate::sched::idle::cpu_idle_loop()
}

/// pid 1: set up the root file system and the console, then either run the
/// in-kernel tests (staying in the kernel) or exec the first user program.
///
/// Linux: kernel_init() in init/main.c
fn kernel_init() -> i32 {
    KTHREADD_DONE.wait_for_completion();
    let me = current();
    me.set_comm(b"init");
    drop(me);
    crate::smp::smp_init();
    crate::stop_machine::cpu_stop_init();
    do_basic_setup();
    console_on_rootfs();
    crate::lkdtm::lkdtm_init();
    let runner = crate::params::param("ktest")
        .map(start_ktest)
        .or_else(|| crate::params::param("bench").map(|_| start_bench()));
    if let Some(runner) = runner {
        reap_until(runner);
    }
    run_init_process();
    0
}

/// Init as a kernel thread, while the in-kernel tests run: reap every child
/// it inherits, and power off when the test runner has finished.
fn reap_until(runner: crate::pid::PidNr) -> ! {
    loop {
        match kernel_wait4(-1, 0) {
            Ok(r) if r.pid == runner => finish_ktest(r.status),
            Ok(r) => log::debug!("init: reaped pid {} status {:#x}", r.pid, r.status),
            Err(Errno::ECHILD) => wait_for_children(),
            Err(e) => log::warn!("init: wait4 failed: {e:?}"),
        }
    }
}

/// Unpacks the initramfs into the root file system and adds /dev.
///
/// Linux: do_basic_setup() -> populate_rootfs() in init/initramfs.c
fn do_basic_setup() {
    if let Some(initrd) = crate::mm::initrd() {
        match crate::fs::initramfs::unpack_to_rootfs(initrd) {
            Ok(n) => log::info!(
                "Unpacking initramfs: {n} entries, {} KiB",
                initrd.len() / 1024
            ),
            Err(e) => log::error!("Initramfs unpacking failed: {e:?}"),
        }
    }
    crate::fs::ramfs::default_rootfs();
    crate::fs::proc::proc_root_init();
}

/// Opens /dev/console as descriptors 0, 1 and 2, which init inherits.
///
/// Linux: console_on_rootfs() in init/main.c
fn console_on_rootfs() {
    const CONSOLE: &[u8] = b"/dev/console";
    let console = crate::fs::namei::path_lookup(b"/", CONSOLE, true).and_then(|inode| {
        let path = crate::fs::file::Path {
            name: CONSOLE.to_vec(),
            inode,
        };
        let tty = alloc::sync::Arc::new(crate::drivers::tty::Console);
        crate::fs::file::File::open(tty, 2, path, None)
    });
    if let (Ok(console), Some(files)) = (console, current().files.lock().clone()) {
        for fd in 0..3 {
            let _ = files.install_at(fd, console.clone(), false);
        }
    }
}

/// Replaces this kernel thread with the first user program: `rdinit=` or
/// `init=` from the command line, else /init. Command-line words the kernel
/// does not use are passed on: `key=value` ones in the environment, the
/// others as arguments.
///
/// Linux: run_init_process() / kernel_init() in init/main.c
fn run_init_process() {
    let path = crate::params::param("rdinit")
        .or_else(|| crate::params::param("init"))
        .unwrap_or("/init");
    let mut argv = alloc::vec![alloc::string::String::from(path)];
    let mut envp = alloc::vec![
        alloc::string::String::from("HOME=/"),
        alloc::string::String::from("TERM=linux")
    ];
    for word in crate::params::saved_command_line().split_ascii_whitespace() {
        let key = word.split_once('=').map_or(word, |(k, _)| k);
        if KERNEL_PARAMS.contains(&key) {
            continue;
        }
        if word.contains('=') {
            envp.push(word.into())
        } else {
            argv.push(word.into())
        }
    }
    log::info!("Run {path} as init process");
    if let Err(e) = crate::fs::exec::kernel_execve(path, argv, envp) {
        panic!(
            "Requested init {path} failed ({e:?}). No working init found. Try passing init= option to kernel."
        );
    }
}

/// Starts the in-kernel test runner as a child of init.
fn start_ktest(filter: &'static str) -> crate::pid::PidNr {
    let body = Arc::new(move || crate::ktest::run_tests(filter));
    kernel_thread(
        body,
        "ktest",
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
        crate::signal::SIGCHLD,
    )
    .expect("the test runner can start")
}

/// Starts the benchmarks as a child of init; they end the run like tests.
/// A kernel built without them says so and fails.
fn start_bench() -> crate::pid::PidNr {
    #[cfg(feature = "bench")]
    let body = Arc::new(crate::bench::run_benchmarks);
    #[cfg(not(feature = "bench"))]
    let body = Arc::new(|| {
        crate::kprintln!(
            "bench: this kernel has no micro-benchmarks (build it with the bench feature: cargo build -p boot --release --features bench)"
        );
        1
    });
    kernel_thread(
        body,
        "bench",
        CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES,
        crate::signal::SIGCHLD,
    )
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
        let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
        !me.family.get(&tasklist).children.is_empty()
    });
}

#[cfg(feature = "ktest")]
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
            let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
            for t in [&init, &kthreadd] {
                kassert_eq!(t.family.get(&tasklist).real_parent.upgrade().map(|p| p.pid()), Some(0));
                kassert_eq!(t.exit_signal.load(core::sync::atomic::Ordering::Relaxed), 0, "pid {} has no exit signal", t.pid());
            }
            kassert_eq!(current().family.get(&tasklist).real_parent.upgrade().map(|p| p.pid()), Some(1), "tests run in a child of init");
        }
    }
}
