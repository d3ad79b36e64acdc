//! The memory requests: PEEKDATA/POKEDATA move one word of a stopped
//! tracee's memory; process_vm_readv/writev move whole iovecs of any
//! process the caller may trace, without stopping it.
//!
//! Linux: generic_ptrace_peekdata() / generic_ptrace_pokedata() in
//! kernel/ptrace.c, mm/process_vm_access.c

use super::*;
use crate::mm::memory::{FOLL_FORCE, FOLL_WRITE, access_process_vm};
use crate::mm::mm_types::MmStruct;
use crate::mm::uaccess::{copy_from_user, copy_to_user, put_user};

/// The task's address space, if it still has one.
fn task_mm(child: &TaskStruct) -> Option<Arc<MmStruct>> {
    child.mm.lock().clone()
}

/// PTRACE_PEEKTEXT/PEEKDATA: the word at `addr` in the tracee, stored at
/// `data` (the C library's wrapper returns it).
///
/// Linux: generic_ptrace_peekdata() in kernel/ptrace.c
///
/// # Errors
/// `EIO` when the word is not readable, `EFAULT` for a bad `data`.
pub(super) fn ptrace_peekdata(child: &TaskStruct, addr: u64, data: u64) -> SysResult {
    let mm = task_mm(child).ok_or(Errno::EIO)?;
    let mut word = [0u8; 8];
    if access_process_vm(&mm, addr, &mut word, FOLL_FORCE) != word.len() {
        return Err(Errno::EIO);
    }
    put_user(data, u64::from_le_bytes(word)).map(|()| 0)
}

/// PTRACE_POKETEXT/POKEDATA: stores the word `data` at `addr` in the
/// tracee, breaking copy-on-write so that only the tracee sees it; forced,
/// so read-only program text takes a breakpoint (a shared mapping not).
///
/// Linux: generic_ptrace_pokedata() in kernel/ptrace.c
///
/// # Errors
/// `EIO` when the word is not writable.
pub(super) fn ptrace_pokedata(child: &TaskStruct, addr: u64, data: u64) -> SysResult {
    let mm = task_mm(child).ok_or(Errno::EIO)?;
    let mut word = data.to_le_bytes();
    if access_process_vm(&mm, addr, &mut word, FOLL_FORCE | FOLL_WRITE) != word.len() {
        return Err(Errno::EIO);
    }
    Ok(0)
}

/// Linux: SYSCALL_DEFINE6(process_vm_readv) in mm/process_vm_access.c
pub fn sys_process_vm_readv(
    pid: i32,
    lvec: u64,
    liovcnt: u64,
    rvec: u64,
    riovcnt: u64,
    flags: u64,
) -> SysResult {
    process_vm_rw(pid, lvec, liovcnt, rvec, riovcnt, flags, false)
}

/// Linux: SYSCALL_DEFINE6(process_vm_writev) in mm/process_vm_access.c
pub fn sys_process_vm_writev(
    pid: i32,
    lvec: u64,
    liovcnt: u64,
    rvec: u64,
    riovcnt: u64,
    flags: u64,
) -> SysResult {
    process_vm_rw(pid, lvec, liovcnt, rvec, riovcnt, flags, true)
}

/// Copies between the caller's iovecs and those of process `pid`, in
/// order, until either list ends or a page cannot be moved; returns the
/// bytes moved.
///
/// Linux: process_vm_rw() / process_vm_rw_core() in mm/process_vm_access.c
///
/// # Errors
/// `EINVAL` for flags or too many iovecs, `ESRCH` for no such process or
/// one without memory, `EPERM` when the caller may not trace it (mm_access), `EFAULT` when nothing moved
/// because of a bad address.
fn process_vm_rw(
    pid: i32,
    lvec: u64,
    liovcnt: u64,
    rvec: u64,
    riovcnt: u64,
    flags: u64,
    write: bool,
) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let local = crate::fs::read_write::iovec_from_user(lvec, liovcnt)?;
    let remote = crate::fs::read_write::iovec_from_user(rvec, riovcnt)?;
    let task = crate::pid::find_task_by_vpid(pid).ok_or(Errno::ESRCH)?;
    let mm = crate::fork::mm_access(&task, PTRACE_MODE_ATTACH_REALCREDS)
        .map_err(|_| Errno::EPERM)?
        .ok_or(Errno::ESRCH)?;
    let moved = copy_iovecs(&mm, &local, &remote, write);
    let wanted = local.iter().map(|l| l.1).sum::<u64>() > 0 && remote.iter().any(|r| r.1 > 0);
    if moved == 0 && wanted {
        return Err(Errno::EFAULT);
    }
    Ok(moved)
}

/// The copy loop of process_vm_rw, a bounce buffer at a time.
fn copy_iovecs(mm: &MmStruct, local: &[(u64, u64)], remote: &[(u64, u64)], write: bool) -> u64 {
    let mut buf = [0u8; 512];
    let mut total = 0u64;
    let mut lit = local.iter().copied().filter(|l| l.1 > 0);
    let Some(mut l) = lit.next() else {
        return 0;
    };
    let mut loff = 0u64;
    for &(rbase, rlen) in remote {
        let mut roff = 0u64;
        while roff < rlen {
            if loff == l.1 {
                let Some(next) = lit.next() else {
                    return total;
                };
                (l, loff) = (next, 0);
            }
            let n = (rlen - roff).min(l.1 - loff).min(buf.len() as u64) as usize;
            let chunk = &mut buf[..n];
            let moved = if write {
                if copy_from_user(chunk, l.0 + loff).is_err() {
                    return total;
                }
                access_process_vm(mm, rbase + roff, chunk, FOLL_WRITE)
            } else {
                let m = access_process_vm(mm, rbase + roff, chunk, 0);
                if copy_to_user(l.0 + loff, &chunk[..m]).is_err() {
                    return total;
                }
                m
            };
            total += moved as u64;
            if moved < n {
                return total;
            }
            roff += n as u64;
            loff += n as u64;
        }
    }
    total
}
