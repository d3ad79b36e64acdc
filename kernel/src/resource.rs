//! Resource limits and the values init starts with, which every process
//! inherits through fork.
//!
//! Linux: kernel/sys.c (getrlimit, setrlimit, prlimit64),
//! include/uapi/linux/resource.h, include/asm-generic/resource.h

/// CPU time in seconds (Linux: RLIMIT_CPU).
pub const RLIMIT_CPU: usize = 0;
/// Largest file size (Linux: RLIMIT_FSIZE).
pub const RLIMIT_FSIZE: usize = 1;
/// Data segment size (Linux: RLIMIT_DATA).
pub const RLIMIT_DATA: usize = 2;
/// Stack size (Linux: RLIMIT_STACK).
pub const RLIMIT_STACK: usize = 3;
/// Core file size (Linux: RLIMIT_CORE).
pub const RLIMIT_CORE: usize = 4;
/// Resident set size (Linux: RLIMIT_RSS).
pub const RLIMIT_RSS: usize = 5;
/// Maximum number of processes per user (Linux: RLIMIT_NPROC).
pub const RLIMIT_NPROC: usize = 6;
/// Open files: one more than the highest descriptor (Linux: RLIMIT_NOFILE).
pub const RLIMIT_NOFILE: usize = 7;
/// Locked-in-memory bytes (Linux: RLIMIT_MEMLOCK).
pub const RLIMIT_MEMLOCK: usize = 8;
/// Address space size (Linux: RLIMIT_AS).
pub const RLIMIT_AS: usize = 9;
/// File locks (Linux: RLIMIT_LOCKS).
pub const RLIMIT_LOCKS: usize = 10;
/// Pending signals (Linux: RLIMIT_SIGPENDING).
pub const RLIMIT_SIGPENDING: usize = 11;
/// Bytes in POSIX message queues (Linux: RLIMIT_MSGQUEUE).
pub const RLIMIT_MSGQUEUE: usize = 12;
/// Ceiling of the nice value (Linux: RLIMIT_NICE).
pub const RLIMIT_NICE: usize = 13;
/// Ceiling of the real-time priority (Linux: RLIMIT_RTPRIO).
pub const RLIMIT_RTPRIO: usize = 14;
/// Real-time CPU time without a blocking call, in µs (Linux: RLIMIT_RTTIME).
pub const RLIMIT_RTTIME: usize = 15;
/// Number of limits (Linux: RLIM_NLIMITS).
pub const RLIM_NLIMITS: usize = 16;
/// No limit (Linux: RLIM_INFINITY).
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Ceiling for RLIMIT_NOFILE (Linux: the fs.nr_open sysctl's default, 1024 * 1024).
pub const NR_OPEN: u64 = 1024 * 1024;
/// Soft RLIMIT_NOFILE of init (Linux: INR_OPEN_CUR).
pub const INR_OPEN_CUR: u64 = 1024;
/// Hard RLIMIT_NOFILE of init (Linux: INR_OPEN_MAX).
pub const INR_OPEN_MAX: u64 = 4096;
/// Soft RLIMIT_STACK of init (Linux: _STK_LIM, 8 MiB).
pub const _STK_LIM: u64 = 8 * 1024 * 1024;
/// RLIMIT_MEMLOCK of init (Linux: MLOCK_LIMIT, 8 MiB).
pub const MLOCK_LIMIT: u64 = 8 * 1024 * 1024;
/// RLIMIT_MSGQUEUE of init (Linux: MQ_BYTES_MAX).
pub const MQ_BYTES_MAX: u64 = 819_200;

/// A soft and a hard limit (Linux: `struct rlimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// The limit in force.
    pub rlim_cur: u64,
    /// The ceiling for `rlim_cur`.
    pub rlim_max: u64,
}

impl Rlimit {
    const fn both(limit: u64) -> Rlimit {
        Rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        }
    }
}

/// All of a process's limits, indexed by RLIMIT_*.
#[derive(Clone, Copy, Debug)]
pub struct Rlimits(pub [Rlimit; RLIM_NLIMITS]);

impl Rlimits {
    /// The soft limit of `resource`, the one in force (Linux: rlimit()).
    pub fn cur(&self, resource: usize) -> u64 {
        self.0[resource].rlim_cur
    }
}

/// The current process's soft limit of `resource`.
///
/// Linux: rlimit() in include/linux/sched/signal.h
pub fn rlimit(resource: usize) -> u64 {
    crate::task::current().signal().rlim.lock().cur(resource)
}

/// init_task's limits. RLIMIT_NPROC and RLIMIT_SIGPENDING are set from
/// threads-max by fork_init.
///
/// Linux: INIT_RLIMITS in include/asm-generic/resource.h
pub const INIT_RLIMITS: Rlimits = {
    let mut r = [Rlimit::both(RLIM_INFINITY); RLIM_NLIMITS];
    r[RLIMIT_STACK] = Rlimit {
        rlim_cur: _STK_LIM,
        rlim_max: RLIM_INFINITY,
    };
    r[RLIMIT_CORE] = Rlimit {
        rlim_cur: 0,
        rlim_max: RLIM_INFINITY,
    };
    r[RLIMIT_NPROC] = Rlimit::both(0);
    r[RLIMIT_NOFILE] = Rlimit {
        rlim_cur: INR_OPEN_CUR,
        rlim_max: INR_OPEN_MAX,
    };
    r[RLIMIT_MEMLOCK] = Rlimit::both(MLOCK_LIMIT);
    r[RLIMIT_SIGPENDING] = Rlimit::both(0);
    r[RLIMIT_MSGQUEUE] = Rlimit::both(MQ_BYTES_MAX);
    r[RLIMIT_NICE] = Rlimit::both(0);
    r[RLIMIT_RTPRIO] = Rlimit::both(0);
    Rlimits(r)
};

impl Default for Rlimits {
    fn default() -> Self {
        INIT_RLIMITS
    }
}
