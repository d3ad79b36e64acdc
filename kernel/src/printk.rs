//! Kernel messages: the `log` facade printed to the serial console with a
//! boot-relative timestamp, as `dmesg` shows them.
//!
//! Linux: kernel/printk/printk.c

use crate::arch::serial::{Console, write_str};
use crate::arch::time::ktime_get_ns;
use core::fmt::Write;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct Printk;

static PRINTK: Printk = Printk;

impl Log for Printk {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = ktime_get_ns();
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

    fn flush(&self) {}
}

/// Makes the serial port the console for `log` messages.
///
/// Linux: console_init() in kernel/printk/printk.c
pub fn console_init() {
    let _ = log::set_logger(&PRINTK);
    log::set_max_level(LevelFilter::Info);
}

/// Applies `loglevel=N` (Linux's console_loglevel: 0..=8; messages below
/// the level are shown). We map 0-3 to errors, 4 to warnings, 5-6 to
/// info, 7 to debug and 8 to trace.
pub fn set_loglevel(level: u8) {
    log::set_max_level(match level {
        0..=3 => LevelFilter::Error,
        4 => LevelFilter::Warn,
        5 | 6 => LevelFilter::Info,
        7 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    });
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
