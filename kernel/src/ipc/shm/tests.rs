//! In-kernel tests of shm.rs that need its private parts.

use super::*;
use crate::fork::CloneFlags;
use crate::ipc::namespace::{copy_ipcs, init_ipc_ns};
use crate::{kassert, kassert_eq, ktest};

ktest! {
    fn a_dying_ipc_namespace_destroys_the_segments_left_in_it() {
        let ns = copy_ipcs(CloneFlags::CLONE_NEWIPC, init_ipc_ns()).map_err(|e| alloc::format!("{e:?}"))?;
        let file = {
            let mut ids = ns.shm_ids.lock();
            let id = newseg(&ns, &mut ids, 0x6b74, IPC_CREAT | 0o600, 4096).map_err(|e| alloc::format!("{e:?}"))?;
            kassert_eq!(ids.in_use, 1);
            Arc::downgrade(&ids.obtain_check(id).map_err(|e| alloc::format!("{e:?}"))?.file)
        };
        kassert!(init_ipc_ns().shm_ids.lock().entries.iter().flatten().all(|s| s.key != 0x6b74), "not in the initial namespace");
        drop(ns);
        kassert!(file.upgrade().is_none(), "shm_exit_ns freed the segment's pages");
    }
}
