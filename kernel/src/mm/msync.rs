//! msync: the pages of a file mapping are the file's page cache, and the
//! page cache is the file (tmpfs and the initramfs have no disk behind
//! them), so there is nothing to write back; what is left is Linux's
//! checking of the arguments.
//!
//! Linux: mm/msync.c

use super::PAGE_SIZE;
use super::mmap::{current_mm, page_align};
use crate::errno::Errno;

/// Schedule the write-back and return (Linux: MS_ASYNC).
pub const MS_ASYNC: u64 = 1;
/// Drop other cached copies (Linux: MS_INVALIDATE).
pub const MS_INVALIDATE: u64 = 2;
/// Write back and wait (Linux: MS_SYNC).
pub const MS_SYNC: u64 = 4;

/// Linux: SYSCALL_DEFINE3(msync) in mm/msync.c
///
/// # Errors
/// `EINVAL` for unknown flags, MS_SYNC with MS_ASYNC, or an unaligned
/// address; `ENOMEM` when part of the range is not mapped.
pub fn sys_msync(start: u64, len: u64, flags: u64) -> crate::syscall::SysResult {
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        || !start.is_multiple_of(PAGE_SIZE as u64)
    {
        return Err(Errno::EINVAL);
    }
    let len = page_align(len).ok_or(Errno::ENOMEM)?;
    let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
    if end == start {
        return Ok(0);
    }
    let mm = current_mm()?;
    match mm.mmap.lock().covers(start, end) {
        true => Ok(0),
        false => Err(Errno::ENOMEM),
    }
}
