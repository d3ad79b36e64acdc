//! Integer sysctls that root can change at run time by writing their
//! /proc/sys file, as `echo 50 > /proc/sys/vm/kflushd_centisecs` does.
//!
//! Linux: kernel/sysctl.c (proc_dointvec_minmax), fs/proc/proc_sysctl.c
//! (proc_sys_read, proc_sys_write)
//! Not modelled: vectors of values, strings, the sysctl(2) call.
//! Differs: an int sysctl takes decimal only (Linux: also 0x and 0 prefixes).

use crate::errno::Errno;
use alloc::string::String;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// One writable /proc/sys file holding an integer (Linux: `struct ctl_table`
/// with `proc_handler = proc_dointvec_minmax`).
pub struct CtlTable {
    /// The file's name (Linux: procname).
    pub procname: &'static str,
    /// The value (Linux: data).
    pub data: &'static AtomicI32,
    /// The smallest value a write may set (Linux: extra1).
    pub min: i32,
    /// The largest value a write may set (Linux: extra2).
    pub max: i32,
    /// Acts on a new value; on error the old value is restored and the
    /// write fails with it (Linux: a proc_handler that calls
    /// proc_dointvec_minmax() and then acts, as khugepaged's knobs do).
    pub on_write: fn() -> Result<(), Errno>,
}

/// The text a read shows: the value and a newline.
///
/// Linux: proc_dointvec_minmax() in kernel/sysctl.c, reading
pub fn proc_dointvec_read(table: &CtlTable) -> String {
    alloc::format!("{}\n", table.data.load(Ordering::Relaxed))
}

/// Sets the value from the text written: one decimal integer, optionally
/// signed, with white space around it, within `min..=max`. A write at a
/// position other than 0 changes nothing, as Linux's default
/// `kernel.sysctl_writes_strict` has it.
///
/// Linux: proc_dointvec_minmax() in kernel/sysctl.c, writing
///
/// # Errors
/// `EINVAL` for anything but such a number; whatever `on_write` returns.
pub fn proc_dointvec_minmax_write(table: &CtlTable, buf: &[u8], pos: u64) -> Result<usize, Errno> {
    if pos != 0 {
        return Ok(buf.len());
    }
    let value = proc_dointvec_parse(buf, table.min, table.max)?;
    let old = table.data.swap(value, Ordering::AcqRel);
    if let Err(e) = (table.on_write)() {
        table.data.store(old, Ordering::Release);
        return Err(e);
    }
    Ok(buf.len())
}

/// The one decimal integer, optionally signed, with white space around
/// it, that a write to an integer sysctl holds, if within `min..=max`.
///
/// Linux: proc_get_long() and the range check of do_proc_dointvec_minmax_conv()
///
/// # Errors
/// `EINVAL` for anything else.
pub fn proc_dointvec_parse(buf: &[u8], min: i32, max: i32) -> Result<i32, Errno> {
    // Linux parses at most TMPBUFLEN (22) bytes of one number.
    const TMPBUFLEN: usize = 22;
    let text = core::str::from_utf8(buf).map_err(|_| Errno::EINVAL)?.trim();
    if text.len() >= TMPBUFLEN {
        return Err(Errno::EINVAL);
    }
    let value: i32 = text.parse().map_err(|_| Errno::EINVAL)?;
    if !(min..=max).contains(&value) {
        return Err(Errno::EINVAL);
    }
    Ok(value)
}

/// The text a read of an unsigned long sysctl shows.
///
/// Linux: proc_doulongvec_minmax() in kernel/sysctl.c, reading
pub fn proc_doulongvec_read(data: &AtomicU64) -> String {
    alloc::format!("{}\n", data.load(Ordering::Relaxed))
}

/// Sets an unsigned long sysctl from the text written at position 0: one
/// number, decimal, octal with a leading 0 or hex with 0x, with white space
/// around it; no sign.
///
/// Linux: proc_doulongvec_minmax() in kernel/sysctl.c, writing
///
/// # Errors
/// `EINVAL` for anything else, a negative number or one past `u64::MAX`.
pub fn proc_doulongvec_minmax_write(data: &AtomicU64, buf: &[u8]) -> Result<usize, Errno> {
    const TMPBUFLEN: usize = 22;
    let text = core::str::from_utf8(buf).map_err(|_| Errno::EINVAL)?.trim();
    if text.len() >= TMPBUFLEN || text.starts_with(['-', '+']) {
        return Err(Errno::EINVAL);
    }
    let (digits, radix) = match text.strip_prefix("0x").or(text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None if text.len() > 1 && text.starts_with('0') => (&text[1..], 8),
        None => (text, 10),
    };
    let value = u64::from_str_radix(digits, radix).map_err(|_| Errno::EINVAL)?;
    data.store(value, Ordering::Relaxed);
    Ok(buf.len())
}
