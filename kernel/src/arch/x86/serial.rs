//! The serial console on COM1, driven by the uart_16550 crate.
//!
//! Linux: drivers/tty/serial/8250/

use super::sync::SpinLock;
use core::fmt;
use uart_16550::SerialPort;

const COM1: u16 = 0x3f8;

static COM1_PORT: SpinLock<Option<SerialPort>> = SpinLock::new(None);

/// Programs the UART (115200 8N1, FIFOs, receive interrupt) and makes it the
/// console. Output before this call is dropped.
///
/// Linux: serial8250_console_setup() in drivers/tty/serial/8250/8250_port.c
pub fn serial_init() {
    // SAFETY: COM1 at 0x3f8 is the standard PC serial port, present on QEMU's
    // `pc` and `q35` machines, and nothing else drives these I/O ports.
    let mut port = unsafe { SerialPort::new(COM1) };
    port.init();
    *COM1_PORT.lock() = Some(port);
}

/// Writes console text, turning `\n` into `\r\n` as a terminal expects.
pub fn write_str(s: &str) {
    if let Some(port) = COM1_PORT.lock().as_mut() {
        for byte in s.bytes() {
            if byte == b'\n' {
                port.send_raw(b'\r');
            }
            port.send_raw(byte);
        }
    }
}

/// Writes console text from the panic path, skipping the lock if this CPU
/// already holds it (a panic while printing), so a panic never deadlocks.
pub fn write_str_emergency(s: &str) {
    if let Some(mut guard) = COM1_PORT.try_lock()
        && let Some(port) = guard.as_mut()
    {
        for byte in s.bytes() {
            if byte == b'\n' {
                port.send_raw(b'\r');
            }
            port.send_raw(byte);
        }
    }
}

/// Reads one received byte, if one is waiting.
pub fn try_receive() -> Option<u8> {
    COM1_PORT
        .lock()
        .as_mut()
        .and_then(|port| port.try_receive().ok())
}

/// A `fmt::Write` sink for the console.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_str(s);
        Ok(())
    }
}
