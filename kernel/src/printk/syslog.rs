//! Reading the kernel log back: the syslog(2) system call (what `dmesg`
//! uses) and /dev/kmsg, which gives one record per read() in the format
//! `pri,seq,usec,-;text`.
//!
//! Linux: do_syslog() and devkmsg_fops in kernel/printk/printk.c
//! Differs: no dmesg_restrict or CAP_SYSLOG checks (every task is root);
//! /dev/kmsg cannot seek and its writes are logged without rate limits.

use super::printk_ringbuffer::{LOG_BUF_LEN, LOG_LINE_MAX, PrintkInfo};
use super::{CONSOLE_LOGLEVEL, LOG_BUF, vprintk_store};
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fs::file::{FileOperations, Kstat, POLLIN, S_IFCHR};
use crate::fs::pipe::O_NONBLOCK;
use crate::mm::uaccess::{access_ok, copy_to_user};
use crate::sched::wait::WaitQueueHead;
use crate::syscall::SysResult;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicI8, Ordering};

/// Close the log (does nothing).
pub const SYSLOG_ACTION_CLOSE: i32 = 0;
/// Open the log (does nothing).
pub const SYSLOG_ACTION_OPEN: i32 = 1;
/// Read and consume records, waiting for one if there are none.
pub const SYSLOG_ACTION_READ: i32 = 2;
/// Read the latest records that fit, consuming nothing.
pub const SYSLOG_ACTION_READ_ALL: i32 = 3;
/// READ_ALL, then CLEAR.
pub const SYSLOG_ACTION_READ_CLEAR: i32 = 4;
/// Make READ_ALL start after the records logged so far.
pub const SYSLOG_ACTION_CLEAR: i32 = 5;
/// Keep all but emergency messages off the console.
pub const SYSLOG_ACTION_CONSOLE_OFF: i32 = 6;
/// Undo CONSOLE_OFF.
pub const SYSLOG_ACTION_CONSOLE_ON: i32 = 7;
/// Set the console log level to `len` (1 to 8).
pub const SYSLOG_ACTION_CONSOLE_LEVEL: i32 = 8;
/// Bytes READ would give now.
pub const SYSLOG_ACTION_SIZE_UNREAD: i32 = 9;
/// The size of the log buffer.
pub const SYSLOG_ACTION_SIZE_BUFFER: i32 = 10;

/// The lowest level CONSOLE_LEVEL may set (Linux: minimum_console_loglevel).
const MINIMUM_CONSOLE_LOGLEVEL: u8 = 1;
/// "No saved level" (Linux: LOGLEVEL_DEFAULT).
const LOGLEVEL_DEFAULT: i8 = -1;
/// The level a /dev/kmsg write without `<N>` gets (Linux:
/// default_message_loglevel, MESSAGE_LOGLEVEL_DEFAULT).
const DEFAULT_MESSAGE_LOGLEVEL: u8 = 4;
/// Longest /dev/kmsg record as read (Linux: CONSOLE_EXT_LOG_MAX).
const CONSOLE_EXT_LOG_MAX: usize = 8192;
/// The syslog facility of user messages (Linux: LOG_USER >> 3).
const LOG_USER: u8 = 1;

/// The console level CONSOLE_OFF saved (Linux: saved_console_loglevel).
static SAVED_CONSOLE_LOGLEVEL: AtomicI8 = AtomicI8::new(LOGLEVEL_DEFAULT);

/// Readers of syslog(2) and /dev/kmsg waiting for a record (Linux: log_wait).
pub static LOG_WAIT: WaitQueueHead = WaitQueueHead::new();

/// syslog(2): `type` says what to do with `buf` and `len` (see the
/// SYSLOG_ACTION_* constants).
///
/// Linux: do_syslog() in kernel/printk/printk.c
///
/// # Errors
/// `EINVAL` for an unknown type, a null `buf` or negative `len` when
/// reading, or a level outside 1..=8; `EFAULT` for a bad buffer; `EINTR`
/// when a signal ends READ's wait; `ENOMEM` when the copy's bounce buffer
/// cannot be had.
pub fn sys_syslog(type_: i32, buf: u64, len: i32) -> SysResult {
    match type_ {
        SYSLOG_ACTION_CLOSE | SYSLOG_ACTION_OPEN => Ok(0),
        SYSLOG_ACTION_READ | SYSLOG_ACTION_READ_ALL | SYSLOG_ACTION_READ_CLEAR => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            if !access_ok(buf, len as usize) {
                return Err(Errno::EFAULT);
            }
            match type_ {
                SYSLOG_ACTION_READ => syslog_print(buf, len as usize),
                _ => syslog_print_all(buf, len as usize, type_ == SYSLOG_ACTION_READ_CLEAR),
            }
        }
        SYSLOG_ACTION_CLEAR => {
            let mut log = LOG_BUF.lock();
            log.clear_seq = log.prb.next_seq();
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_OFF => {
            let level = CONSOLE_LOGLEVEL.swap(MINIMUM_CONSOLE_LOGLEVEL, Ordering::Relaxed);
            let _ = SAVED_CONSOLE_LOGLEVEL.compare_exchange(
                LOGLEVEL_DEFAULT,
                level as i8,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_ON => {
            let saved = SAVED_CONSOLE_LOGLEVEL.swap(LOGLEVEL_DEFAULT, Ordering::Relaxed);
            if saved != LOGLEVEL_DEFAULT {
                CONSOLE_LOGLEVEL.store(saved as u8, Ordering::Relaxed);
            }
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_LEVEL => {
            if !(1..=8).contains(&len) {
                return Err(Errno::EINVAL);
            }
            super::set_loglevel((len as u8).max(MINIMUM_CONSOLE_LOGLEVEL));
            SAVED_CONSOLE_LOGLEVEL.store(LOGLEVEL_DEFAULT, Ordering::Relaxed);
            Ok(0)
        }
        SYSLOG_ACTION_SIZE_UNREAD => {
            let log = LOG_BUF.lock();
            let mut unread = 0;
            log.prb.for_each_from(log.syslog_seq, |info, text| {
                unread += syslog_record(info, text).len;
                true
            });
            Ok(unread.saturating_sub(log.syslog_partial) as u64)
        }
        SYSLOG_ACTION_SIZE_BUFFER => Ok(LOG_BUF_LEN as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// One record as syslog(2) gives it: `<level>[seconds.micros] text\n`.
struct SyslogRecord {
    bytes: [u8; LOG_LINE_MAX + 32],
    len: usize,
}

impl Write for SyslogRecord {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl SyslogRecord {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Linux: record_print_text() with the syslog prefix and the time, in
/// kernel/printk/printk.c
fn syslog_record(info: &PrintkInfo, text: &[u8]) -> SyslogRecord {
    let mut r = SyslogRecord {
        bytes: [0; LOG_LINE_MAX + 32],
        len: 0,
    };
    let ns = info.ts_nsec;
    let _ = write!(
        r,
        "<{}>[{:5}.{:06}] ",
        u32::from(info.facility) << 3 | u32::from(info.level),
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1000
    );
    let n = text.len().min(r.bytes.len() - 1 - r.len);
    r.bytes[r.len..r.len + n].copy_from_slice(&text[..n]);
    r.len += n;
    r.bytes[r.len] = b'\n';
    r.len += 1;
    r
}

/// A kernel buffer for up to `len` bytes of log text, allocated before the
/// log's lock is taken; its size is bounded by the log's, whatever `len`.
fn bounce(len: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    out.try_reserve_exact(len.min(2 * LOG_BUF_LEN))
        .map_err(|_| Errno::ENOMEM)?;
    Ok(out)
}

/// READ: waits for a record the reader has not seen, then gives as many
/// whole records as fit, and consumes them; a record longer than `len` is
/// given in pieces (Linux: syslog_partial).
///
/// Linux: syslog_print() in kernel/printk/printk.c
fn syslog_print(buf: u64, len: usize) -> SysResult {
    let mut out = bounce(len)?;
    LOG_WAIT.wait_event_interruptible(|| {
        let log = LOG_BUF.lock();
        log.syslog_seq < log.prb.next_seq()
    })?;
    {
        let mut log = LOG_BUF.lock();
        if log.syslog_seq < log.prb.first_seq() {
            log.syslog_seq = log.prb.first_seq();
            log.syslog_partial = 0;
        }
        let (mut seq, mut partial) = (log.syslog_seq, log.syslog_partial);
        log.prb.for_each_from(seq, |info, text| {
            let record = syslog_record(info, text);
            let rest = &record.as_bytes()[partial..];
            let room = len.min(out.capacity()) - out.len();
            if rest.len() <= room {
                out.extend_from_slice(rest);
                (seq, partial) = (info.seq + 1, 0);
                true
            } else {
                if out.is_empty() {
                    out.extend_from_slice(&rest[..room]);
                    partial += room;
                }
                false
            }
        });
        (log.syslog_seq, log.syslog_partial) = (seq, partial);
    }
    copy_to_user(buf, &out)?;
    Ok(out.len() as u64)
}

/// READ_ALL (and READ_CLEAR): the newest records since the last CLEAR
/// that fit in `len`, oldest first; nothing is consumed.
///
/// Linux: syslog_print_all() in kernel/printk/printk.c
fn syslog_print_all(buf: u64, len: usize, clear: bool) -> SysResult {
    let mut out = bounce(len)?;
    {
        let mut log = LOG_BUF.lock();
        let start = log.clear_seq.max(log.prb.first_seq());
        let mut total = 0;
        log.prb.for_each_from(start, |info, text| {
            total += syslog_record(info, text).len;
            true
        });
        // Skip the oldest records until the rest fits.
        let mut first = start;
        log.prb.for_each_from(start, |info, text| {
            if total <= len {
                return false;
            }
            total -= syslog_record(info, text).len;
            first = info.seq + 1;
            true
        });
        log.prb.for_each_from(first, |info, text| {
            out.extend_from_slice(syslog_record(info, text).as_bytes());
            true
        });
        if clear {
            log.clear_seq = log.prb.next_seq();
        }
    }
    copy_to_user(buf, &out)?;
    Ok(out.len() as u64)
}

/// An open /dev/kmsg: where this reader is in the log (Linux: struct
/// devkmsg_user).
pub struct Devkmsg {
    seq: SpinLock<u64>,
}

impl Devkmsg {
    /// A reader that starts at the oldest record held.
    ///
    /// Linux: devkmsg_open() in kernel/printk/printk.c
    pub fn open() -> Self {
        let first = LOG_BUF.lock().prb.first_seq();
        Devkmsg {
            seq: SpinLock::new(first),
        }
    }
}

/// Appends the record as /dev/kmsg gives it: `pri,seq,usec,-;text\n`,
/// with control characters, bytes above 126 and backslashes as `\xNN`.
///
/// Linux: info_print_ext_header() and msg_print_ext_body() in
/// kernel/printk/printk.c
fn devkmsg_record(out: &mut Vec<u8>, info: &PrintkInfo, text: &[u8]) {
    let mut header = SyslogRecord {
        bytes: [0; LOG_LINE_MAX + 32],
        len: 0,
    };
    let _ = write!(
        header,
        "{},{},{},-;",
        u32::from(info.facility) << 3 | u32::from(info.level),
        info.seq,
        info.ts_nsec / 1000
    );
    out.extend_from_slice(header.as_bytes());
    for &c in text {
        if !(b' '..127).contains(&c) || c == b'\\' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]);
        } else {
            out.push(c);
        }
    }
    out.push(b'\n');
}

impl FileOperations for Devkmsg {
    /// One record per read.
    ///
    /// Linux: devkmsg_read() in kernel/printk/printk.c
    ///
    /// # Errors
    /// `EPIPE` once when records this reader had not read were
    /// overwritten (the next read goes on from the oldest); `EAGAIN` with
    /// O_NONBLOCK and nothing new; `EINVAL` when the record does not fit
    /// in `buf`; `EINTR` when a signal ends the wait.
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        let mut out = Vec::new();
        out.try_reserve_exact(CONSOLE_EXT_LOG_MAX)
            .map_err(|_| Errno::ENOMEM)?;
        let mut seq = self.seq.lock();
        let pending = |seq: u64| seq < LOG_BUF.lock().prb.next_seq();
        if !pending(*seq) {
            if f_flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            let at = *seq;
            drop(seq);
            LOG_WAIT.wait_event_interruptible(|| pending(at))?;
            seq = self.seq.lock();
        }
        let log = LOG_BUF.lock();
        if *seq < log.prb.first_seq() {
            *seq = log.prb.first_seq();
            return Err(Errno::EPIPE);
        }
        log.prb.for_each_from(*seq, |info, text| {
            devkmsg_record(&mut out, info, text);
            false
        });
        drop(log);
        if out.len() > buf.len() {
            return Err(Errno::EINVAL);
        }
        buf[..out.len()].copy_from_slice(&out);
        *seq += u64::from(!out.is_empty());
        Ok(out.len())
    }

    /// Logs one message; a leading `<N>` gives its level (N & 7) and
    /// facility (N >> 3, if not 0); otherwise it is a user message at the
    /// default level, 4.
    ///
    /// Linux: devkmsg_write() in kernel/printk/printk.c
    ///
    /// # Errors
    /// `EINVAL` for a message longer than LOG_LINE_MAX.
    fn write(&self, buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        if buf.len() > LOG_LINE_MAX {
            return Err(Errno::EINVAL);
        }
        let (mut level, mut facility, mut text) = (DEFAULT_MESSAGE_LOGLEVEL, LOG_USER, buf);
        if let Some(rest) = buf.strip_prefix(b"<") {
            let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            let value = core::str::from_utf8(&rest[..digits])
                .ok()
                .and_then(|d| d.parse::<u32>().ok());
            if let (Some(u), Some(b'>')) = (value, rest.get(digits)) {
                level = (u & 7) as u8;
                if u >> 3 != 0 {
                    facility = (u >> 3).min(255) as u8;
                }
                text = &rest[digits + 1..];
            }
        }
        let ns = crate::arch::time::ktime_get_ns();
        vprintk_store(ns, level, facility, text);
        if level < CONSOLE_LOGLEVEL.load(Ordering::Relaxed) {
            let text = text.strip_suffix(b"\n").unwrap_or(text);
            crate::printk::print(format_args!(
                "[{:5}.{:06}] ",
                ns / 1_000_000_000,
                ns % 1_000_000_000 / 1000
            ));
            for chunk in text.utf8_chunks() {
                crate::printk::print(format_args!("{}", chunk.valid()));
                if !chunk.invalid().is_empty() {
                    crate::printk::print(format_args!("\u{fffd}"));
                }
            }
            crate::printk::print(format_args!("\n"));
        }
        Ok(buf.len())
    }

    fn stat(&self) -> Kstat {
        Kstat {
            mode: S_IFCHR | 0o644,
            rdev: (1 << 8) | 11,
            nlink: 1,
            ..Kstat::default()
        }
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) {
        queue(&LOG_WAIT);
    }

    /// Linux: devkmsg_poll() in kernel/printk/printk.c
    fn poll(&self) -> u16 {
        let seq = *self.seq.lock();
        match seq < LOG_BUF.lock().prb.next_seq() {
            true => POLLIN,
            false => 0,
        }
    }
}
