//! The console terminal on the serial port: output goes straight out;
//! input arrives by interrupt into a line buffer that read() waits on.
//!
//! Linux: drivers/tty/tty_io.c, drivers/tty/n_tty.c
//! Differs: one terminal, always in canonical mode with echo: input becomes
//! readable a line at a time, backspace edits the line.

use crate::arch::serial;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fs::file::{FileOperations, Kstat, S_IFCHR};
use crate::mm::uaccess::copy_to_user;
use crate::sched::wait::WaitQueueHead;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Get terminal attributes (Linux: TCGETS).
pub const TCGETS: u64 = 0x5401;
/// Set terminal attributes (Linux: TCSETS, TCSETSW, TCSETSF).
pub const TCSETS: u64 = 0x5402;
/// Get the window size (Linux: TIOCGWINSZ).
pub const TIOCGWINSZ: u64 = 0x5413;

struct NTty {
    line: Vec<u8>,
    ready: VecDeque<u8>,
}

static N_TTY: SpinLock<NTty> = SpinLock::new(NTty { line: Vec::new(), ready: VecDeque::new() });
static READ_WAIT: WaitQueueHead = WaitQueueHead::new();

/// Takes one received byte (from the serial interrupt): echo it and add it
/// to the current line; a newline makes the line readable.
///
/// Linux: n_tty_receive_buf() in drivers/tty/n_tty.c
pub fn tty_receive_byte(byte: u8) {
    let byte = if byte == b'\r' { b'\n' } else { byte };
    let mut tty = N_TTY.lock();
    match byte {
        0x7f | 0x08 => {
            if tty.line.pop().is_some() {
                serial::write_str("\x08 \x08");
            }
        }
        b'\n' | 0x04 => {
            if byte == b'\n' {
                tty.line.push(b'\n');
                serial::write_str("\n");
            }
            let line = core::mem::take(&mut tty.line);
            tty.ready.extend(line);
            drop(tty);
            READ_WAIT.wake_up();
        }
        _ => {
            tty.line.push(byte);
            let echo = [byte];
            serial::write_str(core::str::from_utf8(&echo).unwrap_or("?"));
        }
    }
}

/// The console as an open file (Linux: the tty's file_operations).
pub struct Console;

impl FileOperations for Console {
    fn read(&self, buf: &mut [u8], _pos: u64) -> Result<usize, Errno> {
        READ_WAIT.wait_event_interruptible(|| !N_TTY.lock().ready.is_empty())?;
        let mut tty = N_TTY.lock();
        let mut n = 0;
        while n < buf.len() {
            let Some(b) = tty.ready.pop_front() else { break };
            buf[n] = b;
            n += 1;
            if b == b'\n' {
                break;
            }
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8], _pos: u64) -> Result<usize, Errno> {
        serial::write_str(&alloc::string::String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn stat(&self) -> Kstat {
        Kstat { mode: S_IFCHR | 0o620, rdev: (5 << 8) | 1, nlink: 1, ..Kstat::default() }
    }

    fn ioctl(&self, cmd: u64, arg: u64) -> Result<u64, Errno> {
        match cmd {
            TCGETS => {
                // struct termios: iflag ICRNL, oflag OPOST|ONLCR, cflag B38400|CS8|CREAD,
                // lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN, line 0, c_cc.
                let mut termios = [0u8; 60];
                termios[0..4].copy_from_slice(&0x0100u32.to_le_bytes());
                termios[4..8].copy_from_slice(&0x0005u32.to_le_bytes());
                termios[8..12].copy_from_slice(&0x00bfu32.to_le_bytes());
                termios[12..16].copy_from_slice(&0x8a3bu32.to_le_bytes());
                copy_to_user(arg, &termios[..36])?;
                Ok(0)
            }
            TCSETS | 0x5403 | 0x5404 => Ok(0),
            TIOCGWINSZ => {
                let winsize: [u16; 4] = [24, 80, 0, 0];
                let bytes: Vec<u8> = winsize.iter().flat_map(|v| v.to_le_bytes()).collect();
                copy_to_user(arg, &bytes)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn seekable(&self) -> bool {
        false
    }
}
