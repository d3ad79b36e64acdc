//! File-system state a task carries: its open files and its working
//! directory.
//!
//! Linux: fs/

pub mod attr;
pub mod binfmt_elf;
pub mod binfmt_elf_core;
pub mod binfmt_elf_interp;
pub mod binfmt_script;
pub mod coredump;
pub mod coredump_name;
pub mod coredump_pipe;
pub mod eventfd;
pub mod eventpoll;
pub mod exec;
pub mod exec_args;
pub mod exec_creds;
pub mod fcntl;
pub mod fdtable;
pub mod fifo;
pub mod file;
pub mod fs_struct;
pub mod initramfs;
pub mod link;
pub mod namei;
pub mod nsfs;
pub mod open;
pub mod pipe;
pub mod proc;
pub mod ramfs;
pub mod read_write;
pub mod rename;
pub mod select;
pub mod shmem;
pub mod signalfd;
pub mod stat;
pub mod statfs;
pub mod timerfd;
pub mod truncate;
pub mod utimes;
