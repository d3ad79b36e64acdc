//! `/proc/sysvipc/shm`: one line per segment, as `ipcs -m` reads it.
//!
//! Linux: sysvipc_shm_proc_show() in ipc/shm.c, sysvipc_proc_show() in
//! ipc/util.c

use crate::ipc::namespace::current_ipc_ns;
use crate::mm::PAGE_SIZE;
use alloc::string::String;
use core::fmt::Write;

/// The header line, with the column widths of a 64-bit kernel.
const SHM_PROC_HEADER: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n";

/// The text of `/proc/sysvipc/shm`: the header, then each segment of the
/// reader's IPC namespace by index with its resident bytes (the pages its
/// file holds) and no swap.
///
/// Linux: sysvipc_shm_proc_show() in ipc/shm.c
/// Differs: the creator's ids (cuid, cgid) show the owner's, as IPC_STAT's do.
pub fn sysvipc_shm_proc_show() -> String {
    let mut text = String::from(SHM_PROC_HEADER);
    let ns = current_ipc_ns();
    let ids = ns.shm_ids.lock();
    for shp in ids.entries.iter().flatten() {
        let rss = shp.file.nrpages() * PAGE_SIZE;
        let _ = writeln!(
            text,
            "{:10} {:10}  {:4o} {:21} {:5} {:5}  {:5} {:5} {:5} {:5} {:5} {:10} {:10} {:10} {:21} {:21}",
            shp.key,
            shp.id,
            shp.mode,
            shp.segsz,
            shp.cpid,
            shp.lpid,
            shp.nattch,
            shp.uid,
            shp.gid,
            shp.uid,
            shp.gid,
            shp.atime,
            shp.dtime,
            shp.ctime,
            rss,
            0
        );
    }
    text
}
