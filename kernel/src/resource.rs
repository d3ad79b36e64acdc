//! Resource limits.
//!
//! Linux: kernel/sys.c (getrlimit, setrlimit, prlimit64), include/uapi/linux/resource.h

/// Maximum size of the main stack (Linux: RLIMIT_STACK).
pub const RLIMIT_STACK: usize = 3;
/// Maximum number of processes per user (Linux: RLIMIT_NPROC).
pub const RLIMIT_NPROC: usize = 6;
/// Number of limits (Linux: RLIM_NLIMITS).
pub const RLIM_NLIMITS: usize = 16;
/// No limit (Linux: RLIM_INFINITY).
pub const RLIM_INFINITY: u64 = u64::MAX;

/// A soft and a hard limit (Linux: `struct rlimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// The limit in force.
    pub rlim_cur: u64,
    /// The ceiling for `rlim_cur`.
    pub rlim_max: u64,
}

/// All of a process's limits, indexed by RLIMIT_*.
#[derive(Clone, Copy, Debug)]
pub struct Rlimits(pub [Rlimit; RLIM_NLIMITS]);

impl Default for Rlimits {
    fn default() -> Self {
        Rlimits(
            [Rlimit {
                rlim_cur: RLIM_INFINITY,
                rlim_max: RLIM_INFINITY,
            }; RLIM_NLIMITS],
        )
    }
}
