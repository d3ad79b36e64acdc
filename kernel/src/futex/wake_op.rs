//! FUTEX_WAKE_OP: change a second futex word atomically, wake waiters on
//! the first, and wake waiters on the second too if the word's old value
//! passes a comparison. glibc once used it to signal a condition variable
//! and release its internal lock in one call.
//!
//! The operation is encoded in val3 (Linux: FUTEX_OP() in
//! include/uapi/linux/futex.h): bits 28-31 the op (bit 31 is
//! FUTEX_OP_OPARG_SHIFT: the argument is a shift count), bits 24-27 the
//! comparison, bits 12-23 the op's argument and bits 0-11 the comparison's
//! argument, both signed 12-bit numbers.
//!
//! Linux: futex_wake_op() in kernel/futex/waitwake.c, futex_atomic_op_inuser() in kernel/futex/core.c

use super::{FUTEX_BITSET_MATCH_ANY, FUTEX_QUEUE, futex_wake_locked, get_futex_key, wake_up_q};
use crate::errno::Errno;
use crate::mm::uaccess::{FutexOp, arch_futex_atomic_op_inuser};
use crate::syscall::SysResult;

/// The op field's flag: the argument is `1 << oparg`.
const FUTEX_OP_OPARG_SHIFT: u32 = 8;

/// Wakes up to `nr_wake` waiters on `uaddr1`; applies `encoded_op` to
/// `uaddr2` and, if its comparison holds for the old value, wakes up to
/// `nr_wake2` waiters there too. Returns how many were woken.
///
/// Linux: futex_wake_op() in kernel/futex/waitwake.c
///
/// # Errors
/// `ENOSYS` for an unknown op or comparison, `EFAULT` for a bad address.
pub(super) fn futex_wake_op(
    uaddr1: u64,
    uaddr2: u64,
    private: bool,
    nr_wake: u32,
    nr_wake2: u32,
    encoded_op: u32,
) -> SysResult {
    let key1 = get_futex_key(uaddr1, private)?;
    let key2 = get_futex_key(uaddr2, private)?;
    // The word changes before the queue lock is taken: a waiter on uaddr2
    // that read the old value is already queued, one that reads after it
    // sees the new value, so no wake-up is lost.
    let op_ret = futex_atomic_op_inuser(encoded_op, uaddr2)?;
    let mut queue = FUTEX_QUEUE.lock();
    let mut woken = futex_wake_locked(&mut queue, key1, nr_wake, FUTEX_BITSET_MATCH_ANY);
    if op_ret {
        woken.extend(futex_wake_locked(
            &mut queue,
            key2,
            nr_wake2,
            FUTEX_BITSET_MATCH_ANY,
        ));
    }
    drop(queue);
    Ok(wake_up_q(woken))
}

/// Decodes `encoded_op`, applies it to the word at `uaddr` and returns
/// whether the old value passes the comparison.
///
/// Linux: futex_atomic_op_inuser() in kernel/futex/core.c
fn futex_atomic_op_inuser(encoded_op: u32, uaddr: u64) -> Result<bool, Errno> {
    let op = (encoded_op >> 28) & 7;
    let cmp = (encoded_op >> 24) & 15;
    let mut oparg = sign_extend_12(encoded_op >> 12);
    let cmparg = sign_extend_12(encoded_op);
    if encoded_op & (FUTEX_OP_OPARG_SHIFT << 28) != 0 {
        // Linux warns once about a shift out of range and masks it.
        oparg = 1 << (oparg & 31);
    }
    let op = match op {
        0 => FutexOp::Set,
        1 => FutexOp::Add,
        2 => FutexOp::Or,
        3 => FutexOp::AndN,
        4 => FutexOp::Xor,
        _ => return Err(Errno::ENOSYS),
    };
    let oldval = arch_futex_atomic_op_inuser(op, oparg as u32, uaddr)? as i32;
    match cmp {
        0 => Ok(oldval == cmparg),
        1 => Ok(oldval != cmparg),
        2 => Ok(oldval < cmparg),
        3 => Ok(oldval <= cmparg),
        4 => Ok(oldval > cmparg),
        5 => Ok(oldval >= cmparg),
        _ => Err(Errno::ENOSYS),
    }
}

/// The low 12 bits of `field` as a signed number (Linux: sign_extend32(x, 11)).
fn sign_extend_12(field: u32) -> i32 {
    ((field << 20) as i32) >> 20
}
