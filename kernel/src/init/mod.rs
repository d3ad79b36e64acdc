//! Boot: from the bootloader's jump to the first processes.
//!
//! Linux: init/

pub mod init_task;
pub mod main;
