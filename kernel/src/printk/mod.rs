//! Kernel messages: the `log` facade stores each message in the kernel log
//! (a ring of records, read back by `dmesg` through syslog(2) or
//! /dev/kmsg) and prints it to the serial console with a boot-relative
//! timestamp when its level is below the console log level.
//!
//! Linux: kernel/printk/printk.c

pub mod printk_ringbuffer;
pub mod syslog;

use crate::arch::serial::{Console, write_str};
use crate::arch::sync::SpinLock;
use crate::arch::time::ktime_get_ns;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use log::{Level, LevelFilter, Log, Metadata, Record};
use printk_ringbuffer::{LOG_BUF_LEN, LOG_LINE_MAX, PrintkRingbuffer, RingBytes, ring_bytes};

struct Printk;

static PRINTK: Printk = Printk;

/// The kernel log and the syslog(2) reader's place in it; its lock guards
/// all of it (Linux: prb, syslog_seq, syslog_partial, clear_seq).
pub(crate) struct LogBuf {
    pub(crate) prb: PrintkRingbuffer<'static, LOG_BUF_LEN>,
    pub(crate) syslog_seq: u64,
    pub(crate) syslog_partial: usize,
    pub(crate) clear_seq: u64,
}

/// The log's bytes, in .bss (Linux: `__log_buf`); only [`LOG_BUF`] holds them.
static __LOG_BUF: RingBytes<LOG_BUF_LEN> = ring_bytes();

pub(crate) static LOG_BUF: SpinLock<LogBuf> = SpinLock::new(LogBuf {
    prb: PrintkRingbuffer::new(&__LOG_BUF),
    syslog_seq: 0,
    syslog_partial: 0,
    clear_seq: 0,
});

/// Messages with a level below this reach the console (Linux:
/// console_loglevel; default CONSOLE_LOGLEVEL_DEFAULT, 7).
pub(crate) static CONSOLE_LOGLEVEL: AtomicU8 = AtomicU8::new(7);

/// Set when a record was stored and sleeping readers are still to be
/// woken (Linux: the pending wake_up_klogd() irq_work).
static WAKE_PENDING: AtomicBool = AtomicBool::new(false);

/// Linux's level for a `log` level: KERN_ERR, KERN_WARNING, KERN_INFO,
/// KERN_DEBUG.
fn linux_level(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// The text of a message, cut at LOG_LINE_MAX bytes, without allocating.
struct LineBuf {
    text: [u8; LOG_LINE_MAX],
    len: usize,
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(LOG_LINE_MAX - self.len);
        self.text[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Log for Printk {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    /// Linux: vprintk_emit() in kernel/printk/printk.c
    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = ktime_get_ns();
        let level = linux_level(record.level());
        let mut line = LineBuf {
            text: [0; LOG_LINE_MAX],
            len: 0,
        };
        let _ = write!(line, "{}", record.args());
        vprintk_store(ns, level, 0, &line.text[..line.len]);
        if level < CONSOLE_LOGLEVEL.load(Ordering::Relaxed) {
            let prefix = match record.level() {
                Level::Error => "ERROR: ",
                Level::Warn => "WARNING: ",
                _ => "",
            };
            let _ = writeln!(
                Console,
                "[{:5}.{:06}] {prefix}{}",
                ns / 1_000_000_000,
                ns % 1_000_000_000 / 1000,
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Stores one record in the kernel log; sleeping readers are woken at the
/// next timer tick.
///
/// Linux: vprintk_store() in kernel/printk/printk.c
/// Differs: the wakeup waits for the tick instead of an irq_work, since a
/// message may be logged under any lock, the wait queue's included.
pub(crate) fn vprintk_store(ts_nsec: u64, level: u8, facility: u8, text: &[u8]) {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    LOG_BUF.lock().prb.push(ts_nsec, level, facility, text);
    WAKE_PENDING.store(true, Ordering::Release);
}

/// Wakes the readers waiting for new records, if a record came since the
/// last tick (called from the timer interrupt).
///
/// Linux: wake_up_klogd_work_func() in kernel/printk/printk.c
pub fn wake_up_klogd_tick() {
    if WAKE_PENDING.swap(false, Ordering::AcqRel) {
        syslog::LOG_WAIT.wake_up();
    }
}

/// Makes the serial port the console for `log` messages.
///
/// Linux: console_init() in kernel/printk/printk.c
pub fn console_init() {
    let _ = log::set_logger(&PRINTK);
    log::set_max_level(LevelFilter::Info);
}

/// Applies `loglevel=N` (Linux's console_loglevel, 0..=8): messages whose
/// level is below N reach the console; debug messages (level 7) are
/// made, and logged, only with N = 8.
pub fn set_loglevel(level: u8) {
    CONSOLE_LOGLEVEL.store(level.min(8), Ordering::Relaxed);
    log::set_max_level(match level {
        8.. => LevelFilter::Trace,
        _ => LevelFilter::Info,
    });
}

/// Prints the boot banner: to the console as is, without timestamp, and
/// into the kernel log at KERN_NOTICE, where `dmesg` finds it first.
///
/// Linux: the linux_banner line that start_kernel() prints in init/main.c
pub fn print_banner(args: core::fmt::Arguments<'_>) {
    let mut line = LineBuf {
        text: [0; LOG_LINE_MAX],
        len: 0,
    };
    let _ = line.write_fmt(args);
    vprintk_store(ktime_get_ns(), 5, 0, &line.text[..line.len]);
    let _ = writeln!(Console, "{args}");
}

/// Prints text to the console as is, without timestamp (test results).
pub fn print(args: core::fmt::Arguments<'_>) {
    let _ = Console.write_fmt(args);
}

/// Prints one untimestamped line to the console.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::printk::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes raw text (used by the panic path through its own lock-free route).
pub fn console_write(s: &str) {
    write_str(s);
}
