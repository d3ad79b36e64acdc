//! Robust futexes: a thread keeps in its own memory a list of the robust
//! mutexes it holds and tells the kernel where it is (set_robust_list).
//! When the thread dies, the kernel walks that list and, for every lock
//! still owned by the thread's tid, sets FUTEX_OWNER_DIED and wakes one
//! waiter, whose pthread_mutex_lock then returns EOWNERDEAD instead of
//! blocking forever.
//!
//! The list is user memory and may be anything: every read is checked,
//! and the walk stops after ROBUST_LIST_LIMIT entries, so a cycle costs a
//! bounded walk, never a hang.
//!
//! Linux: kernel/futex/core.c (exit_robust_list, handle_futex_death), kernel/futex/syscalls.c

use super::{FUTEX_BITSET_MATCH_ANY, futex_wake};
use crate::errno::Errno;
use crate::mm::uaccess::{futex_atomic_cmpxchg_inatomic, get_user, put_user};
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use core::sync::atomic::Ordering;

/// sizeof(struct robust_list_head): list.next, futex_offset, list_op_pending.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;
/// The most entries walked, against cycles (Linux: ROBUST_LIST_LIMIT).
const ROBUST_LIST_LIMIT: u32 = 2048;
/// The lock word's owner tid (Linux: FUTEX_TID_MASK).
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Set in the lock word when some thread sleeps on it (Linux: FUTEX_WAITERS).
const FUTEX_WAITERS: u32 = 0x8000_0000;
/// Set by the kernel when the owner died holding it (Linux: FUTEX_OWNER_DIED).
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;

/// set_robust_list(2): where this thread's list of held robust futexes is.
///
/// Linux: SYSCALL_DEFINE2(set_robust_list) in kernel/futex/syscalls.c
pub fn sys_set_robust_list(head: u64, len: u64) -> SysResult {
    if len != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    current().robust_list.store(head, Ordering::Relaxed);
    Ok(0)
}

/// get_robust_list(2): a thread's list head and its size; pid 0 is the
/// calling thread.
///
/// Linux: SYSCALL_DEFINE3(get_robust_list) in kernel/futex/syscalls.c
///
/// # Errors
/// `ESRCH` for no such thread, `EPERM` when the caller may not inspect it
/// (ptrace_may_access), `EFAULT`.
pub fn sys_get_robust_list(pid: i32, head_ptr: u64, len_ptr: u64) -> SysResult {
    let task = if pid == 0 {
        current()
    } else {
        crate::pid::find_task_by_vpid(pid).ok_or(Errno::ESRCH)?
    };
    if !crate::ptrace::ptrace_may_access(&task, crate::ptrace::PTRACE_MODE_READ_REALCREDS) {
        return Err(Errno::EPERM);
    }
    let head = task.robust_list.load(Ordering::Relaxed);
    put_user(len_ptr, ROBUST_LIST_HEAD_SIZE)?;
    put_user(head_ptr, head)?;
    Ok(0)
}

/// Called as the thread drops its mm (exit, or exec): walks and forgets
/// its robust list. `tsk` must be the current task, whose memory is mapped.
///
/// Linux: futex_exit_release() / futex_exec_release() -> futex_cleanup() in kernel/futex/core.c
pub fn futex_cleanup(tsk: &TaskStruct) {
    let head = tsk.robust_list.swap(0, Ordering::Relaxed);
    if head != 0 {
        exit_robust_list(tsk, head);
    }
}

/// Reads a list pointer; returns it with bit 0 (the PI flag) split off.
///
/// Linux: fetch_robust_entry() in kernel/futex/core.c
fn fetch_robust_entry(addr: u64) -> Result<(u64, bool), Errno> {
    let uentry: u64 = get_user(addr)?;
    Ok((uentry & !1, uentry & 1 != 0))
}

/// Walks the user's list from `head` (struct robust_list_head), handling
/// each entry's lock word and then the one in list_op_pending. Any bad
/// pointer ends the walk.
///
/// Linux: exit_robust_list() in kernel/futex/core.c
fn exit_robust_list(tsk: &TaskStruct, head: u64) {
    let Ok((mut entry, mut pi)) = fetch_robust_entry(head) else {
        return;
    };
    let Ok(futex_offset) = get_user::<i64>(head.wrapping_add(8)) else {
        return;
    };
    let Ok((pending, pip)) = fetch_robust_entry(head.wrapping_add(16)) else {
        return;
    };
    let mut limit = ROBUST_LIST_LIMIT;
    while entry != head {
        // Read the next entry before the lock word is released to others.
        let next = fetch_robust_entry(entry);
        if entry != pending
            && handle_futex_death(entry.wrapping_add_signed(futex_offset), tsk, pi, false).is_err()
        {
            return;
        }
        let Ok((next_entry, next_pi)) = next else {
            return;
        };
        entry = next_entry;
        pi = next_pi;
        limit -= 1;
        if limit == 0 {
            break;
        }
        crate::sched::core::cond_resched();
    }
    if pending != 0 {
        let _ = handle_futex_death(pending.wrapping_add_signed(futex_offset), tsk, pip, true);
    }
}

/// If the lock word at `uaddr` is owned by `tsk`, marks it
/// FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wakes one waiter. A
/// `pending_op` entry with no owner was being unlocked: wake a waiter that
/// the unlock may have missed.
///
/// Linux: handle_futex_death() in kernel/futex/core.c
/// Differs: PI futexes are not modelled; their words are marked but no
/// PI state is released.
fn handle_futex_death(
    uaddr: u64,
    tsk: &TaskStruct,
    pi: bool,
    pending_op: bool,
) -> Result<(), Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    loop {
        let uval: u32 = get_user(uaddr)?;
        let owner = uval & FUTEX_TID_MASK;
        if pending_op && !pi && owner == 0 {
            futex_wake(uaddr, false, 1, FUTEX_BITSET_MATCH_ANY)?;
            return Ok(());
        }
        if owner != tsk.pid() as u32 {
            return Ok(());
        }
        let mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        let nval = futex_atomic_cmpxchg_inatomic(uaddr, uval, mval)?;
        if nval != uval {
            // Another thread changed the word meanwhile: look again.
            continue;
        }
        if !pi && uval & FUTEX_WAITERS != 0 {
            futex_wake(uaddr, false, 1, FUTEX_BITSET_MATCH_ANY)?;
        }
        return Ok(());
    }
}
