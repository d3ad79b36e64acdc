//! A teaching kernel that shows, in running code, how Linux creates and
//! destroys processes. Each module mirrors one file or directory of Linux:
//! `fork.rs` is `kernel/fork.c`, `mm/memory.rs` is `mm/memory.c`, and so on.
//!
//! `unsafe` is allowed in exactly two modules, `arch` and `mm`; everything a
//! student reads to follow a process's life (fork, exit, kthread, pid, sched)
//! is safe Rust built on the operations those two export.
#![no_std]
#![feature(allocator_ext)]
#![deny(unsafe_code)]
// The task, its pid and its pid namespace refer to each other, which nests
// deeper than the default limit when the compiler checks Send and Sync.
#![recursion_limit = "256"]

extern crate alloc;

#[allow(unsafe_code)]
pub mod arch;
#[allow(unsafe_code)]
pub mod mm;

#[cfg(feature = "bench")]
pub mod bench;
pub mod capability;
pub mod cpumask;
pub mod cred;
pub mod drivers;
pub mod errno;
pub mod exec_domain;
pub mod exit;
pub mod fork;
pub mod fs;
pub mod futex;
pub mod groups;
pub mod init;
pub mod ipc;
pub mod irq_work;
pub mod kflushd;
pub mod ktest;
pub mod kthread;
pub mod lkdtm;
pub mod locking;
pub mod nsproxy;
pub mod panic;
pub mod params;
pub mod pid;
pub mod pid_group;
pub mod pid_namespace;
pub mod pidfd;
pub mod posix_cpu_timers;
pub mod preempt;
pub mod printk;
pub mod ptrace;
pub mod random;
pub mod reboot;
pub mod resource;
pub mod restart_block;
pub mod rusage;
pub mod sched;
pub mod security;
pub mod signal;
pub mod smp;
pub mod stop_machine;
pub mod sys;
pub mod sys_ids;
pub mod syscall;
pub mod sysctl;
pub mod sysrq;
pub mod task;
pub mod tasklist;
pub mod time;
pub mod timekeeping;
pub mod trace;
pub mod umh;
pub mod unistd;
pub mod user;
pub mod utsname;

pub use init::main::BOOTLOADER_CONFIG;
