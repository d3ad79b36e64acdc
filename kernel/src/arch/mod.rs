//! Architecture code: the only place, with `mm`, where `unsafe` is allowed.
//! Everything here is exported as safe operations.
//!
//! Linux: arch/x86/

pub mod x86;

pub use x86::*;
