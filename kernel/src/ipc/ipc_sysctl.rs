//! The writable SysV shm limits under /proc/sys/kernel that are unsigned
//! longs, shmmax and shmall, of the caller's IPC namespace (shmmni, an int,
//! is `namespace::SHMMNI_OPS`).
//!
//! Linux: ipc/ipc_sysctl.c

use super::namespace::current_ipc_ns;
use crate::fs::proc::ProcRwOps;
use crate::sysctl::{proc_doulongvec_minmax_write, proc_doulongvec_read};

/// `/proc/sys/kernel/shmmax`: the largest segment shmget creates.
///
/// Linux: the shmmax entry of ipc/ipc_sysctl.c
pub static SHMMAX_OPS: ProcRwOps = ProcRwOps {
    show: || proc_doulongvec_read(&current_ipc_ns().shm_ctlmax),
    write: |buf| proc_doulongvec_minmax_write(&current_ipc_ns().shm_ctlmax, buf),
};

/// `/proc/sys/kernel/shmall`: the most pages all segments may hold.
///
/// Linux: the shmall entry of ipc/ipc_sysctl.c
pub static SHMALL_OPS: ProcRwOps = ProcRwOps {
    show: || proc_doulongvec_read(&current_ipc_ns().shm_ctlall),
    write: |buf| proc_doulongvec_minmax_write(&current_ipc_ns().shm_ctlall, buf),
};
