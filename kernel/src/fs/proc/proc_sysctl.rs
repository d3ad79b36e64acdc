//! /proc/sys: fs with the open-file count and limit and the pipe limits;
//! kernel with the pid and thread limits and the machine's names; vm with
//! the mapping limits and kflushd's interval.
//!
//! Linux: fs/proc/proc_sysctl.c, kernel/sysctl.c, kernel/utsname_sysctl.c
//! Differs: of the numbers, only pid_max, kflushd_centisecs,
//! max_map_count and the shm limits are writable; Linux lets root write
//! them all.

use super::ProcRwOps;
use crate::fs::coredump::{CORE_PATTERN, CORE_USES_PID_SYSCTL};
use crate::fs::ramfs::{Inode, InodeKind};
use crate::pid::{PID_MAX_DEFAULT, PID_MAX_MIN, set_pid_max};
use crate::sysctl::CtlTable;
use crate::utsname::{UTS_RELEASE, UTS_SYSNAME, utsname};
use alloc::string::String;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// The value of a numeric sysctl, one line.
fn sysctl(value: &AtomicUsize) -> String {
    alloc::format!("{}\n", value.load(Ordering::Relaxed))
}

/// kernel.pid_max, as the pid allocator last took it.
static PID_MAX: AtomicI32 = AtomicI32::new(PID_MAX_DEFAULT);

/// `/proc/sys/kernel/pid_max`: pids are handed out below it and wrap
/// there. Differs: at most 32768 (Linux allows up to PID_MAX_LIMIT, 4M).
///
/// Linux: the kernel.pid_max sysctl in kernel/pid.c
static PID_MAX_SYSCTL: CtlTable = CtlTable {
    procname: "pid_max",
    data: &PID_MAX,
    min: PID_MAX_MIN,
    max: PID_MAX_DEFAULT,
    on_write: || set_pid_max(PID_MAX.load(Ordering::Acquire)).map(drop),
};

/// kernel.hostname and kernel.domainname speak for the caller's UTS
/// namespace (Linux: get_uts() in kernel/utsname_sysctl.c).
static HOSTNAME_OPS: ProcRwOps = ProcRwOps {
    show: || alloc::format!("{}\n", utsname().nodename.as_string()),
    write: |buf| utsname().nodename.proc_write(buf),
};
static DOMAINNAME_OPS: ProcRwOps = ProcRwOps {
    show: || alloc::format!("{}\n", utsname().domainname.as_string()),
    write: |buf| utsname().domainname.proc_write(buf),
};
static CORE_PATTERN_OPS: ProcRwOps = ProcRwOps {
    show: || alloc::format!("{}\n", CORE_PATTERN.as_string()),
    write: |buf| CORE_PATTERN.proc_write(buf),
};

/// What makes the text of a read-only /proc file.
type Show = fn() -> String;

/// Adds read-only files, each made by its function, to `dir`.
fn add_files(dir: &Inode, files: &[(&str, Show)]) {
    for (name, generate) in files {
        let _ = dir.link(
            name.as_bytes(),
            Inode::new(InodeKind::Proc(*generate), 0o444),
        );
    }
}

/// /proc/sys/kernel (Linux: kern_table in kernel/sysctl.c, uts_kern_table).
fn kernel_sysctls() -> alloc::sync::Arc<Inode> {
    let kernel = Inode::new_dir(0o555);
    add_files(
        &kernel,
        &[
            ("ostype", || alloc::format!("{UTS_SYSNAME}\n")),
            ("osrelease", || alloc::format!("{UTS_RELEASE}\n")),
            ("tainted", || String::from("0\n")),
            ("threads-max", || {
                let max = crate::tasklist::TASKLIST_LOCK.lock().max_threads;
                alloc::format!("{max}\n")
            }),
        ],
    );
    for (name, ops) in [
        ("hostname", &HOSTNAME_OPS),
        ("domainname", &DOMAINNAME_OPS),
        ("core_pattern", &CORE_PATTERN_OPS),
        ("shmmax", &crate::ipc::ipc_sysctl::SHMMAX_OPS),
        ("shmall", &crate::ipc::ipc_sysctl::SHMALL_OPS),
        ("shmmni", &crate::ipc::namespace::SHMMNI_OPS),
    ] {
        let _ = kernel.link(name.as_bytes(), Inode::new(InodeKind::ProcRw(ops), 0o644));
    }
    for table in [
        &PID_MAX_SYSCTL,
        &CORE_USES_PID_SYSCTL,
        &crate::fs::coredump_pipe::CORE_PIPE_LIMIT_SYSCTL,
        &crate::sched::rt::SCHED_RT_PERIOD_SYSCTL,
        &crate::sched::rt::SCHED_RT_RUNTIME_SYSCTL,
        &crate::sched::rt::SCHED_RR_TIMESLICE_SYSCTL,
    ] {
        let _ = kernel.link(
            table.procname.as_bytes(),
            Inode::new(InodeKind::Sysctl(table), 0o644),
        );
    }
    kernel
}

/// /proc/sys/fs (Linux: fs_stat_sysctls in fs/file_table.c, fs_pipe_sysctls).
fn fs_sysctls() -> alloc::sync::Arc<Inode> {
    use crate::fs::file::{NR_FILES, files_stat_max_files};
    use crate::fs::pipe::{PIPE_MAX_SIZE, PIPE_USER_PAGES_HARD, PIPE_USER_PAGES_SOFT};
    let fs = Inode::new_dir(0o555);
    add_files(
        &fs,
        &[
            ("file-max", || {
                alloc::format!("{}\n", files_stat_max_files())
            }),
            ("file-nr", || {
                let nr = NR_FILES.load(Ordering::Relaxed);
                alloc::format!("{nr}\t0\t{}\n", files_stat_max_files())
            }),
            ("pipe-max-size", || sysctl(&PIPE_MAX_SIZE)),
            ("pipe-user-pages-hard", || sysctl(&PIPE_USER_PAGES_HARD)),
            ("pipe-user-pages-soft", || sysctl(&PIPE_USER_PAGES_SOFT)),
        ],
    );
    fs
}

/// /proc/sys/vm (Linux: vm_table in kernel/sysctl.c, mm/util.c, mm/mmap.c).
fn vm_sysctls() -> alloc::sync::Arc<Inode> {
    let vm = Inode::new_dir(0o555);
    add_files(
        &vm,
        &[("mmap_min_addr", || {
            alloc::format!("{}\n", crate::mm::mmap::MMAP_MIN_ADDR)
        })],
    );
    for table in [
        &crate::kflushd::KFLUSHD_SYSCTL,
        &crate::mm::mmap::MAX_MAP_COUNT_SYSCTL,
    ] {
        let _ = vm.link(
            table.procname.as_bytes(),
            Inode::new(InodeKind::Sysctl(table), 0o644),
        );
    }
    vm
}

/// Creates /proc/sys.
///
/// Linux: proc_sys_init() in fs/proc/proc_sysctl.c
pub fn proc_sys_init(proc: &Inode) {
    let sys = Inode::new_dir(0o555);
    let _ = sys.link(b"fs", fs_sysctls());
    let _ = sys.link(b"kernel", kernel_sysctls());
    let _ = sys.link(b"vm", vm_sysctls());
    let _ = proc.link(b"sys", sys);
}
