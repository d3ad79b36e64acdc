//! Device drivers reached through files: the console and /dev/tty, and
//! /dev/null, zero, full, random, urandom.
//!
//! Linux: drivers/

pub mod mem;
pub mod tty;
