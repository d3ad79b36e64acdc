//! Device drivers reached through files: the console and /dev/null, zero, urandom.
//!
//! Linux: drivers/

pub mod mem;
pub mod tty;
