//! The writable SysV IPC limits under /proc/sys/kernel: shmmax and shmall
//! (unsigned longs; shmmni, an int, is a `CtlTable` in `shm.rs`).
//!
//! Linux: ipc/ipc_sysctl.c

use super::shm::{SHM_CTLALL, SHM_CTLMAX};
use crate::fs::proc::ProcRwOps;
use crate::sysctl::{proc_doulongvec_minmax_write, proc_doulongvec_read};

/// `/proc/sys/kernel/shmmax`: the largest segment shmget creates.
///
/// Linux: the shmmax entry of ipc/ipc_sysctl.c
pub static SHMMAX_OPS: ProcRwOps = ProcRwOps {
    show: || proc_doulongvec_read(&SHM_CTLMAX),
    write: |buf| proc_doulongvec_minmax_write(&SHM_CTLMAX, buf),
};

/// `/proc/sys/kernel/shmall`: the most pages all segments may hold.
///
/// Linux: the shmall entry of ipc/ipc_sysctl.c
pub static SHMALL_OPS: ProcRwOps = ProcRwOps {
    show: || proc_doulongvec_read(&SHM_CTLALL),
    write: |buf| proc_doulongvec_minmax_write(&SHM_CTLALL, buf),
};
