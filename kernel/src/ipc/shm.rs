//! System V shared memory: shmget names a segment by key, shmat maps it
//! MAP_SHARED, shmdt unmaps it, shmctl reads, changes and removes it. A
//! segment's bytes are the page cache of an unnamed file of the internal
//! tmpfs instance (shm_mnt), so its pages come from the page allocator,
//! bounded by shmall, not by /dev/shm's size.
//!
//! ```text
//!  ipc_ns.shm_ids.entries[idx] ── ShmidKernel { key, segsz, nattch, file } ── AddressSpace
//!                                 ^ nattch = live ShmAttach values
//!  VmAreaStruct.backing = File(VmFile { mapping: file, shm: Some(Arc<ShmAttach>) })
//! ```
//!
//! Every area that maps a segment holds one `ShmAttach`: a copy of an area
//! (fork's dup_mmap, a split) attaches once more (`vm_open`), the end of
//! one (munmap, shmdt, the mm's end at execve and exit) detaches, and the
//! last detach of a segment marked by IPC_RMID destroys it. A page fault's
//! short-lived copy of an area shares its `ShmAttach` and counts nothing.
//!
//! The segments and limits are the caller's IPC namespace's
//! (namespace.rs); an attach holds its segment's namespace.
//!
//! Linux: ipc/shm.c (newseg, do_shmat, ksys_shmdt, shmctl_stat,
//! shm_open, shm_close, shm_destroy, shm_exit_ns), ipc/util.c (ipc_addid,
//! ipcget)
//! Differs: every caller is root, so no permission checks (EACCES, EPERM)
//! are made and IPC_SET takes any uid/gid.

use super::namespace::{IpcNamespace, current_ipc_ns};
use super::{IPC_64, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT};
use super::{IPCMNI_SEQ_MAX, ipc_buildid, ipcid_to_idx, ipcid_to_seqx};
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::filemap::AddressSpace;
use crate::mm::mm_types::{VmBacking, VmFile};
use crate::mm::mmap::{MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_SHARED, PROT_EXEC, PROT_READ};
use crate::mm::mmap::{PROT_WRITE, do_mmap, do_munmap};
use crate::syscall::SysResult;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

#[cfg(feature = "ktest")]
mod tests;

/// Attach read-only (Linux: SHM_RDONLY).
pub const SHM_RDONLY: i32 = 0o10000;
/// Round an unaligned attach address down to SHMLBA (Linux: SHM_RND).
pub const SHM_RND: i32 = 0o20000;
/// Take over whatever is mapped at the attach address (Linux: SHM_REMAP).
pub const SHM_REMAP: i32 = 0o40000;
/// Attach executable (Linux: SHM_EXEC).
pub const SHM_EXEC: i32 = 0o100000;
/// Mode bit: removed, destroyed at the last detach (Linux: SHM_DEST).
pub const SHM_DEST: u32 = 0o1000;
/// Mode bit: locked in memory (Linux: SHM_LOCKED).
pub const SHM_LOCKED: u32 = 0o2000;
/// shmctl: lock the segment in memory (Linux: SHM_LOCK).
pub const SHM_LOCK: i32 = 11;
/// shmctl: unlock it (Linux: SHM_UNLOCK).
pub const SHM_UNLOCK: i32 = 12;
/// shmctl: usage totals (Linux: SHM_INFO).
pub const SHM_INFO: i32 = 14;
/// Attach addresses are multiples of this (Linux: SHMLBA, PAGE_SIZE on x86).
pub const SHMLBA: u64 = PAGE_SIZE as u64;
/// The smallest segment (Linux: SHMMIN).
pub const SHMMIN: u64 = 1;
/// Default largest segment (Linux: SHMMAX).
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
/// Default total pages of all segments (Linux: SHMALL).
pub const SHMALL: u64 = u64::MAX - (1 << 24);
/// Default most segments (Linux: SHMMNI).
pub const SHMMNI: i32 = 4096;

mod proc;
pub use proc::sysvipc_shm_proc_show;

/// One segment (Linux: `struct shmid_kernel` with its `kern_ipc_perm`).
struct ShmidKernel {
    /// The key shmget finds it by; IPC_PRIVATE once removed.
    key: i32,
    /// Its id (Linux: shm_perm.id).
    id: i32,
    /// Permission bits, SHM_DEST and SHM_LOCKED (Linux: shm_perm.mode).
    mode: u32,
    /// Owner and creator (Linux: uid, gid, cuid, cgid).
    uid: u32,
    gid: u32,
    /// Size in bytes as created (Linux: shm_segsz).
    segsz: u64,
    /// Last attach, detach and change, in seconds since the epoch.
    atime: i64,
    dtime: i64,
    ctime: i64,
    /// Creator and last process to attach or detach (Linux: shm_cprid, shm_lprid).
    cpid: i32,
    lpid: i32,
    /// Areas that map it (Linux: shm_nattch).
    nattch: u64,
    /// The unnamed tmpfs file holding its bytes (Linux: shm_file).
    file: Arc<AddressSpace>,
}

/// Every segment of one namespace, by index (Linux: `struct ipc_ids` of
/// shm, an idr), under the namespace's `shm_ids` lock.
#[derive(Default)]
pub struct ShmIds {
    entries: Vec<Option<ShmidKernel>>,
    /// The seq the next segment's id gets (Linux: ids->seq).
    seq: i32,
    /// Segments in use (Linux: ids->in_use).
    in_use: usize,
    /// Pages of all segments (Linux: ns->shm_tot).
    shm_tot: u64,
}

fn get_seconds() -> i64 {
    (crate::timekeeping::ktime_get_real_ns() / 1_000_000_000) as i64
}

/// The caller's pid in its own namespace, as shm_cpid/shm_lpid keep it.
/// Differs: Linux keeps a `struct pid` and translates it at IPC_STAT.
fn current_tgid() -> i32 {
    crate::pid::task_tgid_vnr(&crate::task::current())
}

impl ShmIds {
    /// No segments (Linux: ipc_init_ids()).
    pub const fn new() -> ShmIds {
        ShmIds {
            entries: Vec::new(),
            seq: 0,
            in_use: 0,
            shm_tot: 0,
        }
    }

    /// The segment `id` names, unless that slot now holds another.
    ///
    /// Linux: shm_obtain_object_check() -> ipc_obtain_object_check()
    fn obtain_check(&mut self, id: i32) -> Result<&mut ShmidKernel, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.entries
            .get_mut(ipcid_to_idx(id))
            .and_then(Option::as_mut)
            .filter(|shp| ipcid_to_seqx(shp.id) == ipcid_to_seqx(id))
            .ok_or(Errno::EINVAL)
    }

    /// The highest index in use, or -1 (Linux: ipc_get_maxidx()).
    fn get_maxidx(&self) -> i64 {
        self.entries
            .iter()
            .rposition(Option::is_some)
            .map_or(-1, |i| i as i64)
    }

    /// Takes the segment at `idx` out of the table (Linux: shm_rmid()).
    fn shm_rmid(&mut self, idx: usize) -> Option<ShmidKernel> {
        let shp = self.entries.get_mut(idx)?.take()?;
        self.in_use -= 1;
        self.shm_tot -= shp.segsz.div_ceil(PAGE_SIZE as u64);
        Some(shp)
    }
}

/// One area's hold on a segment: it counts in shm_nattch from creation to
/// drop, and a clone counts again.
///
/// Linux: the vm_ops of a shm area, shm_open() and shm_close()
pub struct ShmAttach {
    /// The namespace the segment is in (Linux: shm_file_data.ns).
    ns: Arc<IpcNamespace>,
    id: i32,
}

impl ShmAttach {
    /// Attaches to `shp`, a segment of `ns` (Linux: __shm_open()).
    fn shm_open(ns: &Arc<IpcNamespace>, shp: &mut ShmidKernel) -> ShmAttach {
        shp.atime = get_seconds();
        shp.lpid = current_tgid();
        shp.nattch += 1;
        ShmAttach {
            ns: ns.clone(),
            id: shp.id,
        }
    }

    /// The segment's id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// One more attach of the same segment, for a new area copied from
    /// this one (fork's dup_mmap, a split).
    ///
    /// Linux: shm_open() in ipc/shm.c, the vm_ops->open of both
    ///
    /// # Errors
    /// `ENOMEM`.
    pub fn shm_open_again(&self) -> Result<Arc<ShmAttach>, Errno> {
        let attach = {
            let mut ids = self.ns.shm_ids.lock();
            // The segment lives while this attach does.
            let shp = ids.obtain_check(self.id)?;
            ShmAttach::shm_open(&self.ns, shp)
        };
        Arc::try_new(attach).map_err(|_| Errno::ENOMEM)
    }
}

impl Drop for ShmAttach {
    /// Detaches; the last detach of a removed segment destroys it.
    ///
    /// Linux: shm_close() in ipc/shm.c, then shm_destroy() when
    /// shm_may_destroy()
    fn drop(&mut self) {
        let destroyed = {
            let mut ids = self.ns.shm_ids.lock();
            let Ok(shp) = ids.obtain_check(self.id) else {
                return;
            };
            shp.lpid = current_tgid();
            shp.dtime = get_seconds();
            shp.nattch -= 1;
            match shp.nattch == 0 && shp.mode & SHM_DEST != 0 {
                true => ids.shm_rmid(ipcid_to_idx(self.id)),
                false => None,
            }
        };
        // The pages go back outside the lock (Linux: shm_destroy() -> fput()).
        drop(destroyed);
    }
}

/// Creates a segment of `size` bytes under `key`; returns its id.
///
/// Linux: newseg() in ipc/shm.c, ipc_addid() in ipc/util.c
///
/// # Errors
/// `EINVAL` for a size outside [SHMMIN, shmmax]; `ENOSPC` past shmall
/// pages or shmmni segments; `ENOMEM` for more pages than RAM (the
/// overcommit check of shmem_acct_size()) or no memory.
fn newseg(
    ns: &IpcNamespace,
    ids: &mut ShmIds,
    key: i32,
    shmflg: i32,
    size: u64,
) -> Result<i32, Errno> {
    if !(SHMMIN..=ns.shm_ctlmax.load(Ordering::Relaxed)).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let numpages = size.div_ceil(PAGE_SIZE as u64);
    if ids
        .shm_tot
        .checked_add(numpages)
        .is_none_or(|tot| tot > ns.shm_ctlall.load(Ordering::Relaxed))
    {
        return Err(Errno::ENOSPC);
    }
    if numpages > crate::mm::page_alloc::totalram_pages() as u64 {
        return Err(Errno::ENOMEM);
    }
    // Linux: shmem_kernel_file_setup(), an unnamed tmpfs file of i_size `size`.
    let file = Arc::try_new(AddressSpace::shmem(&crate::fs::shmem::SHM_MNT_SB))
        .map_err(|_| Errno::ENOMEM)?;
    file.truncate_setsize(size);
    let limit = ns.shm_ctlmni.load(Ordering::Relaxed).max(0) as usize;
    let idx = match ids.entries.iter().position(Option::is_none) {
        Some(idx) => idx,
        None => ids.entries.len(),
    };
    if ids.in_use >= limit || idx >= limit {
        return Err(Errno::ENOSPC);
    }
    if idx == ids.entries.len() {
        ids.entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        ids.entries.push(None);
    }
    let seq = ids.seq;
    ids.seq = if seq >= IPCMNI_SEQ_MAX { 0 } else { seq + 1 };
    let id = ipc_buildid(idx, seq);
    ids.entries[idx] = Some(ShmidKernel {
        key,
        id,
        mode: (shmflg & 0o777) as u32,
        uid: 0,
        gid: 0,
        segsz: size,
        atime: 0,
        dtime: 0,
        ctime: get_seconds(),
        cpid: current_tgid(),
        lpid: 0,
        nattch: 0,
        file,
    });
    ids.in_use += 1;
    ids.shm_tot += numpages;
    Ok(id)
}

/// Linux: SYSCALL_DEFINE3(shmget) -> ksys_shmget() -> ipcget() in ipc/
///
/// # Errors
/// `ENOENT` for a key without a segment and no IPC_CREAT; `EEXIST` with
/// IPC_CREAT|IPC_EXCL for one with; `EINVAL` for a size larger than the
/// existing segment's; as `newseg`.
pub fn sys_shmget(key: i32, size: u64, shmflg: i32) -> SysResult {
    let ns = current_ipc_ns();
    let mut ids = ns.shm_ids.lock();
    if key == IPC_PRIVATE {
        return newseg(&ns, &mut ids, key, shmflg, size).map(|id| id as u64);
    }
    // Linux: ipcget_public()
    let found = ids.entries.iter().flatten().find(|shp| shp.key == key);
    match found {
        None if shmflg & IPC_CREAT == 0 => Err(Errno::ENOENT),
        None => newseg(&ns, &mut ids, key, shmflg, size).map(|id| id as u64),
        Some(_) if shmflg & IPC_CREAT != 0 && shmflg & IPC_EXCL != 0 => Err(Errno::EEXIST),
        // Linux: shm_more_checks()
        Some(shp) if shp.segsz < size => Err(Errno::EINVAL),
        Some(shp) => Ok(shp.id as u64),
    }
}

/// Attaches segment `shmid` at `shmaddr` (0: the kernel picks); returns
/// the address.
///
/// Linux: do_shmat() in ipc/shm.c
///
/// # Errors
/// `EINVAL` for a bad id, an unaligned address without SHM_RND, or one
/// whose range is in use without SHM_REMAP; `ENOMEM` as mmap.
pub fn do_shmat(shmid: i32, shmaddr: u64, shmflg: i32) -> Result<u64, Errno> {
    let mut addr = shmaddr;
    if !addr.is_multiple_of(SHMLBA) {
        if shmflg & SHM_RND == 0 {
            return Err(Errno::EINVAL);
        }
        addr &= !(SHMLBA - 1);
        if addr == 0 && shmflg & SHM_REMAP != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let (mut prot, maywrite) = match shmflg & SHM_RDONLY != 0 {
        true => (PROT_READ, false),
        false => (PROT_READ | PROT_WRITE, true),
    };
    if shmflg & SHM_EXEC != 0 {
        prot |= PROT_EXEC;
    }
    let ns = current_ipc_ns();
    let (file, size, attach) = {
        let mut ids = ns.shm_ids.lock();
        let shp = ids.obtain_check(shmid)?;
        (shp.file.clone(), shp.segsz, ShmAttach::shm_open(&ns, shp))
    };
    let attach = Arc::try_new(attach).map_err(|_| Errno::ENOMEM)?;
    let flags = MAP_SHARED
        | match (addr, shmflg & SHM_REMAP != 0) {
            (0, _) => 0,
            (_, true) => MAP_FIXED,
            (_, false) => MAP_FIXED_NOREPLACE,
        };
    let backing = VmBacking::File(VmFile {
        mapping: file,
        pgoff: 0,
        len: u64::MAX,
        shm: Some(attach),
        // Differs: maps shows no `/SYSV<key> (deleted)` name.
        path: None,
    });
    let mm = crate::mm::mmap::current_mm()?;
    do_mmap(&mm, addr, size, prot, flags, backing, maywrite).map_err(|e| match e {
        Errno::EEXIST => Errno::EINVAL,
        e => e,
    })
}

/// Linux: SYSCALL_DEFINE3(shmat) in ipc/shm.c
pub fn sys_shmat(shmid: i32, shmaddr: u64, shmflg: i32) -> SysResult {
    do_shmat(shmid, shmaddr, shmflg)
}

/// Detaches the segment attached at `shmaddr`: every area of that attach,
/// from `shmaddr` on, within the segment's size.
///
/// Linux: ksys_shmdt() in ipc/shm.c
///
/// # Errors
/// `EINVAL` when no attach of a segment starts at `shmaddr`.
pub fn sys_shmdt(shmaddr: u64) -> SysResult {
    if !shmaddr.is_multiple_of(PAGE_SIZE as u64) {
        return Err(Errno::EINVAL);
    }
    let mm = crate::mm::mmap::current_mm()?;
    let ranges: Vec<(u64, u64)> = {
        let st = mm.mmap.lock();
        let shm_of = |vma: &crate::mm::mm_types::VmAreaStruct| match &vma.backing {
            VmBacking::File(f) if f.pgoff == vma.vm_start.wrapping_sub(shmaddr) => {
                f.shm.as_ref().map(|a| (a.id(), f.mapping.i_size()))
            }
            _ => None,
        };
        let first = st.vmas.partition_point(|v| v.vm_end <= shmaddr);
        let Some((id, size)) = st
            .vmas
            .get(first)
            .filter(|v| v.vm_start == shmaddr)
            .and_then(shm_of)
        else {
            return Err(Errno::EINVAL);
        };
        let end = shmaddr.saturating_add(size.next_multiple_of(PAGE_SIZE as u64));
        let mut ranges = Vec::new();
        ranges
            .try_reserve(st.vmas.len() - first)
            .map_err(|_| Errno::ENOMEM)?;
        for vma in st.vmas[first..].iter().take_while(|v| v.vm_start < end) {
            if shm_of(vma).is_some_and(|(i, _)| i == id) {
                ranges.push((vma.vm_start, vma.vm_end - vma.vm_start));
            }
        }
        ranges
    };
    for (start, len) in ranges {
        do_munmap(&mm, start, len)?;
    }
    Ok(0)
}

/// The `struct shmid64_ds` of x86_64 (112 bytes) for IPC_STAT.
///
/// Linux: shmctl_stat() and copy_shmid_to_user() in ipc/shm.c
fn shmid64_ds(shp: &ShmidKernel) -> [u8; 112] {
    let mut ds = [0u8; 112];
    let mut put = |at: usize, bytes: &[u8]| ds[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &shp.key.to_ne_bytes());
    for at in [4, 12] {
        put(at, &shp.uid.to_ne_bytes());
    }
    for at in [8, 16] {
        put(at, &shp.gid.to_ne_bytes());
    }
    put(20, &shp.mode.to_ne_bytes());
    put(24, &(ipcid_to_seqx(shp.id) as u16).to_ne_bytes());
    put(48, &shp.segsz.to_ne_bytes());
    put(56, &shp.atime.to_ne_bytes());
    put(64, &shp.dtime.to_ne_bytes());
    put(72, &shp.ctime.to_ne_bytes());
    put(80, &shp.cpid.to_ne_bytes());
    put(84, &shp.lpid.to_ne_bytes());
    put(88, &shp.nattch.to_ne_bytes());
    ds
}

/// IPC_INFO's `struct shminfo64` and SHM_INFO's `struct shm_info`.
///
/// Linux: shmctl_ipc_info(), shmctl_shm_info() in ipc/shm.c
fn shm_info(ns: &IpcNamespace, ids: &ShmIds, cmd: i32) -> Vec<u8> {
    let mni = ns.shm_ctlmni.load(Ordering::Relaxed) as u64;
    let words: Vec<u64> = match cmd {
        IPC_INFO => alloc::vec![
            ns.shm_ctlmax.load(Ordering::Relaxed),
            SHMMIN,
            mni,
            mni,
            ns.shm_ctlall.load(Ordering::Relaxed),
            0,
            0,
            0,
            0,
        ],
        _ => {
            let rss = ids
                .entries
                .iter()
                .flatten()
                .map(|s| s.file.nrpages() as u64);
            alloc::vec![ids.in_use as u64, ids.shm_tot, rss.sum(), 0, 0, 0]
        }
    };
    words.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// Linux: SYSCALL_DEFINE3(shmctl) -> ksys_shmctl() in ipc/shm.c
///
/// # Errors
/// `EINVAL` for a negative or stale id or an unknown command; `EFAULT`.
pub fn sys_shmctl(shmid: i32, cmd: i32, buf: u64) -> SysResult {
    use crate::mm::uaccess::{copy_from_user, copy_to_user};
    if cmd < 0 || shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = cmd & !IPC_64;
    let ns = current_ipc_ns();
    let mut ids = ns.shm_ids.lock();
    match cmd {
        IPC_INFO | SHM_INFO => {
            let info = shm_info(&ns, &ids, cmd);
            let maxidx = ids.get_maxidx().max(0) as u64;
            drop(ids);
            copy_to_user(buf, &info).map(|()| maxidx)
        }
        IPC_STAT => {
            let ds = shmid64_ds(ids.obtain_check(shmid)?);
            drop(ids);
            copy_to_user(buf, &ds).map(|()| 0)
        }
        IPC_SET => {
            let mut ds = [0u8; 112];
            copy_from_user(&mut ds, buf)?;
            let word = |at: usize| u32::from_ne_bytes([ds[at], ds[at + 1], ds[at + 2], ds[at + 3]]);
            let shp = ids.obtain_check(shmid)?;
            // Linux: ipc_update_perm()
            (shp.uid, shp.gid) = (word(4), word(8));
            shp.mode = (shp.mode & !0o777) | (word(20) & 0o777);
            shp.ctime = get_seconds();
            Ok(0)
        }
        IPC_RMID => {
            // Linux: do_shm_rmid()
            let shp = ids.obtain_check(shmid)?;
            let destroyed = match shp.nattch {
                0 => ids.shm_rmid(ipcid_to_idx(shmid)),
                _ => {
                    shp.mode |= SHM_DEST;
                    shp.key = IPC_PRIVATE;
                    None
                }
            };
            drop(ids);
            drop(destroyed);
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            let shp = ids.obtain_check(shmid)?;
            shp.mode = match cmd {
                SHM_LOCK => shp.mode | SHM_LOCKED,
                _ => shp.mode & !SHM_LOCKED,
            };
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Detaches every segment `mm` has attached, for a task that was the mm's
/// last user at exit or execve, so that shm_nattch and shm_lpid change
/// before its parent can see it gone (the mm itself may live on a little
/// while a CPU still has it loaded). On failure to allocate, the detach is
/// left to the mm's end.
///
/// Linux: the shm_close() of exit_mmap() via mmput() in exit_mm() and
/// exec_mmap(); exit_shm() in ipc/shm.c
pub fn exit_shm(mm: &crate::mm::mm_types::MmStruct) {
    let mut ranges = Vec::new();
    {
        let st = mm.mmap.lock();
        let shm_areas = st
            .vmas
            .iter()
            .filter(|v| matches!(&v.backing, VmBacking::File(f) if f.shm.is_some()));
        if ranges.try_reserve(shm_areas.clone().count()).is_err() {
            return;
        }
        ranges.extend(shm_areas.map(|v| (v.vm_start, v.vm_end - v.vm_start)));
    }
    for (start, len) in ranges {
        let _ = do_munmap(mm, start, len);
    }
}

/// Destroys every segment left in a namespace that is going away. None is
/// attached, since each attach holds the namespace.
///
/// Linux: shm_exit_ns() in ipc/shm.c (free_ipcs() with do_shm_rmid())
pub fn shm_exit_ns(ns: &IpcNamespace) {
    let ids = core::mem::replace(&mut *ns.shm_ids.lock(), ShmIds::new());
    // The pages go back outside the lock.
    drop(ids);
}
