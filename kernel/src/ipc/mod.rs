//! System V IPC: the key/id name space its objects share, shared memory
//! (`shm.rs`), and the IPC namespaces that hold them (`namespace.rs`).
//! Message queues and semaphores are not built.
//!
//! Linux: ipc/util.c, include/uapi/linux/ipc.h

pub mod ipc_sysctl;
pub mod namespace;
pub mod shm;

/// Create the object if the key has none (Linux: IPC_CREAT).
pub const IPC_CREAT: i32 = 0o1000;
/// With IPC_CREAT: fail if the key has one already (Linux: IPC_EXCL).
pub const IPC_EXCL: i32 = 0o2000;
/// The key of an object no other shmget can find (Linux: IPC_PRIVATE).
pub const IPC_PRIVATE: i32 = 0;
/// Remove the object (Linux: IPC_RMID).
pub const IPC_RMID: i32 = 0;
/// Set owner and mode (Linux: IPC_SET).
pub const IPC_SET: i32 = 1;
/// Read the object's `*64_ds` (Linux: IPC_STAT).
pub const IPC_STAT: i32 = 2;
/// Read the system's limits (Linux: IPC_INFO).
pub const IPC_INFO: i32 = 3;
/// The "new layout" flag of the cmd argument, meaningless on x86_64
/// (Linux: IPC_64).
pub const IPC_64: i32 = 0x100;

/// Ids are `seq * SEQ_MULTIPLIER + index`, so that an id of a removed
/// object does not name the object that reuses its slot (Linux:
/// IPCMNI, 1 << IPCMNI_SHIFT).
pub const SEQ_MULTIPLIER: i32 = 32768;
/// The largest seq before it wraps to 0 (Linux: IPCMNI_SEQ_MAX, INT_MAX >> 15).
pub const IPCMNI_SEQ_MAX: i32 = i32::MAX / SEQ_MULTIPLIER;

/// The id of the object at `idx` created with `seq`.
///
/// Linux: ipc_buildid() in ipc/util.h
pub fn ipc_buildid(idx: usize, seq: i32) -> i32 {
    seq * SEQ_MULTIPLIER + idx as i32
}

/// The slot an id names (Linux: ipcid_to_idx()).
pub fn ipcid_to_idx(id: i32) -> usize {
    (id % SEQ_MULTIPLIER) as usize
}

/// The seq an id was built with (Linux: ipcid_to_seqx()).
pub fn ipcid_to_seqx(id: i32) -> i32 {
    id / SEQ_MULTIPLIER
}
