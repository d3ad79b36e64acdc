//! File-system state a task carries: its open files and its working
//! directory.
//!
//! Linux: fs/

pub mod fdtable;
pub mod fs_struct;
