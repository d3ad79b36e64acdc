//! Device drivers reached through files: the console and /dev/null.
//!
//! Linux: drivers/

pub mod mem;
pub mod tty;
