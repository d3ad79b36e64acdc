//! Locking: which lock protects what, in which order locks nest, and the
//! checker that proves the order while the tests run.
//!
//! Linux: kernel/locking/, Documentation/locking/lockdep-design.rst

pub mod lockdep;
mod lockdep_report;
mod tests;

pub use lockdep_report::{expect_report, last_problem_site, nr_problems};
