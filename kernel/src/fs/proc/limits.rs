//! `/proc/<pid>/limits`: the process's resource limits as a table.
//!
//! Linux: proc_pid_limits() in fs/proc/base.c; in its own file here
//! because base.rs is long.

use crate::task::TaskStruct;
use alloc::string::String;
use core::fmt::Write;

/// Each limit's name and unit in `/proc/<pid>/limits`, in RLIMIT_* order.
const LIMIT_NAMES: [(&str, &str); crate::resource::RLIM_NLIMITS] = [
    ("Max cpu time", "seconds"),
    ("Max file size", "bytes"),
    ("Max data size", "bytes"),
    ("Max stack size", "bytes"),
    ("Max core file size", "bytes"),
    ("Max resident set", "bytes"),
    ("Max processes", "processes"),
    ("Max open files", "files"),
    ("Max locked memory", "bytes"),
    ("Max address space", "bytes"),
    ("Max file locks", "locks"),
    ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"),
    ("Max nice priority", ""),
    ("Max realtime priority", ""),
    ("Max realtime timeout", "us"),
];

/// A table of the process's soft and hard limits, "unlimited" for infinity.
///
/// Linux: proc_pid_limits() in fs/proc/base.c
pub fn proc_pid_limits(task: &TaskStruct) -> String {
    let rlim = *task.signal().rlim.lock();
    let value = |v: u64| match v {
        crate::resource::RLIM_INFINITY => String::from("unlimited"),
        v => alloc::format!("{v}"),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<25} {:<20} {:<20} {:<10}",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (limit, (name, unit)) in rlim.0.iter().zip(LIMIT_NAMES) {
        let _ = write!(
            s,
            "{name:<25} {:<20} {:<20} ",
            value(limit.rlim_cur),
            value(limit.rlim_max)
        );
        let _ = match unit {
            "" => writeln!(s),
            unit => writeln!(s, "{unit:<10}"),
        };
    }
    s
}
