//! The console terminal on the serial port: output goes straight out;
//! input arrives by interrupt into a line buffer that read() waits on.
//!
//! Linux: drivers/tty/tty_io.c, drivers/tty/n_tty.c
//! Job control: Ctrl-C, Ctrl-\ and Ctrl-Z signal the foreground process
//! group (SIGINT, SIGQUIT, SIGTSTP); a background process of the
//! terminal's session that reads it gets SIGTTIN, one that writes it under
//! TOSTOP (or changes its settings) SIGTTOU (tty_check_change).
//!
//! Differs: one terminal; in canonical mode input becomes readable a line
//! at a time, backspace edits the line and Ctrl-D ends it (or, on an empty
//! line, makes read() return 0: end of file).

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

/// The line discipline's buffers: the line being typed, and the input
/// read() may take. In `ready`, `None` is the end-of-file mark that Ctrl-D
/// leaves (Linux keeps the EOF character itself, flagged as a line end).
struct NTty {
    line: Vec<u8>,
    ready: VecDeque<Option<u8>>,
}

/// Get and set the foreground process group (Linux: TIOCGPGRP, TIOCSPGRP).
pub const TIOCGPGRP: u64 = 0x540f;
/// Set the foreground process group.
pub const TIOCSPGRP: u64 = 0x5410;
/// Make this the controlling terminal (Linux: TIOCSCTTY).
pub const TIOCSCTTY: u64 = 0x540e;
/// Session of the terminal (Linux: TIOCGSID).
pub const TIOCGSID: u64 = 0x5429;

/// The foreground process group, which Ctrl-C signals (Linux: tty->pgrp).
static FOREGROUND_PGRP: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);
/// The session whose controlling terminal this is, 0 for none (Linux:
/// tty->session), set by TIOCSCTTY.
static TTY_SESSION: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// Opens /dev/tty: the caller's controlling terminal.
///
/// Linux: tty_open_current_tty() in drivers/tty/tty_io.c
/// Differs: a session gets the console as its terminal only by TIOCSCTTY,
/// not by its leader opening it.
///
/// # Errors
/// `ENXIO` when the caller's session has no controlling terminal.
pub fn tty_open_current_tty() -> Result<alloc::sync::Arc<dyn FileOperations>, Errno> {
    use core::sync::atomic::Ordering::Relaxed;
    let session = crate::task::current().signal().session.load(Relaxed);
    if session == 0 || TTY_SESSION.load(Relaxed) != session {
        return Err(Errno::ENXIO);
    }
    alloc::sync::Arc::try_new(Console)
        .map(|c| c as alloc::sync::Arc<dyn FileOperations>)
        .map_err(|_| Errno::ENOMEM)
}

static N_TTY: SpinLock<NTty> = SpinLock::new(NTty {
    line: Vec::new(),
    ready: VecDeque::new(),
});

/// `struct termios` (36 bytes): iflag ICRNL, oflag OPOST|ONLCR, cflag
/// B38400|CS8|CREAD, lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN, then c_cc.
static TERMIOS: SpinLock<[u8; 36]> = SpinLock::new(default_termios());

const ISIG: u32 = 0x1;
const ICANON: u32 = 0x2;
const ECHO: u32 = 0x8;
/// Background writers get SIGTTOU (Linux: TOSTOP).
const TOSTOP: u32 = 0x100;
/// Ctrl-C, SIGINT (Linux: c_cc[VINTR], default ^C).
const VINTR: u8 = 0x03;
/// Ctrl-\, SIGQUIT (Linux: c_cc[VQUIT], default ^\).
const VQUIT: u8 = 0x1c;
/// Ctrl-Z, SIGTSTP (Linux: c_cc[VSUSP], default ^Z).
const VSUSP: u8 = 0x1a;
/// Ctrl-D, the end-of-file character (Linux: c_cc[VEOF], default ^D).
const VEOF: u8 = 0x04;

const fn default_termios() -> [u8; 36] {
    let mut t = [0u8; 36];
    t[0] = 0x00;
    t[1] = 0x01;
    t[4] = 0x05;
    t[8] = 0xbf;
    t[12] = 0x3b;
    t[13] = 0x8a;
    // c_cc: VINTR ^C, VQUIT ^\, VERASE DEL, VKILL ^U, VEOF ^D, VTIME 0,
    // VMIN 1, VSUSP ^Z.
    t[17] = 0x03;
    t[18] = 0x1c;
    t[19] = 0x7f;
    t[20] = 0x15;
    t[21] = 0x04;
    t[23] = 1;
    t[27] = 0x1a;
    t
}

fn lflag() -> u32 {
    let t = TERMIOS.lock();
    u32::from_le_bytes([t[12], t[13], t[14], t[15]])
}
static READ_WAIT: WaitQueueHead = WaitQueueHead::new();

/// Takes one received byte (from the serial interrupt): echo it and add it
/// to the current line; a newline makes the line readable.
///
/// Linux: n_tty_receive_buf() in drivers/tty/n_tty.c
pub fn tty_receive_byte(byte: u8) {
    /// Bytes the line discipline holds before it drops input; canonical
    /// mode keeps the last one for the newline (Linux: N_TTY_BUF_SIZE).
    const N_TTY_BUF_SIZE: usize = 4096;
    let lflag = lflag();
    if lflag & ISIG != 0 && n_tty_receive_char_special(byte) {
        return;
    }
    let held = {
        let tty = N_TTY.lock();
        tty.line.len() + tty.ready.len()
    };
    let room = match (lflag & ICANON != 0, byte) {
        (true, 0x7f | 0x08) => usize::MAX,
        (true, b'\r' | b'\n') => N_TTY_BUF_SIZE,
        (true, _) => N_TTY_BUF_SIZE - 1,
        (false, _) => N_TTY_BUF_SIZE,
    };
    if held >= room {
        return;
    }
    if lflag & ICANON == 0 {
        N_TTY.lock().ready.push_back(Some(byte));
        if lflag & ECHO != 0 {
            serial::write_str(core::str::from_utf8(&[byte]).unwrap_or("?"));
        }
        READ_WAIT.wake_up();
        return;
    }
    let byte = if byte == b'\r' { b'\n' } else { byte };
    let mut tty = N_TTY.lock();
    match byte {
        0x7f | 0x08 => {
            if tty.line.pop().is_some() {
                serial::write_str("\x08 \x08");
            }
        }
        b'\n' | VEOF => {
            if byte == b'\n' {
                tty.line.push(b'\n');
                serial::write_str("\n");
            }
            let line = core::mem::take(&mut tty.line);
            tty.ready.extend(line.into_iter().map(Some));
            if byte == VEOF {
                tty.ready.push_back(None);
            }
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

/// The console's foreground process group (its number in the initial pid
/// namespace), 0 while there is none.
///
/// Linux: tty_get_pgrp() in drivers/tty/tty_jobctrl.c
pub fn tty_get_pgrp() -> i32 {
    FOREGROUND_PGRP.load(core::sync::atomic::Ordering::Relaxed)
}

/// A process group or session id as the caller's pid namespace sees it.
fn caller_nr(nr: i32) -> i32 {
    let ns = crate::pid::task_active_pid_ns(&crate::task::current());
    crate::pid::pgrp_nr_ns(nr, &ns)
}

/// Whether `byte` is a signal key (Ctrl-C, Ctrl-\, Ctrl-Z), which it then
/// acts on.
///
/// Linux: the L_ISIG() branch of n_tty_receive_char_special() in drivers/tty/n_tty.c
fn n_tty_receive_char_special(byte: u8) -> bool {
    let (sig, echo) = match byte {
        VINTR => (crate::signal::SIGINT, "^C\n"),
        VQUIT => (crate::signal::SIGQUIT, "^\\\n"),
        VSUSP => (crate::signal::SIGTSTP, "^Z\n"),
        _ => return false,
    };
    isig(sig, echo);
    true
}

/// Ctrl-C, Ctrl-\ or Ctrl-Z: drop the pending line, echo the key and send
/// its signal to the foreground group.
///
/// Linux: n_tty_receive_signal_char() / isig() in drivers/tty/n_tty.c
fn isig(sig: i32, echo: &str) {
    N_TTY.lock().line.clear();
    serial::write_str(echo);
    let pgrp = FOREGROUND_PGRP.load(core::sync::atomic::Ordering::Relaxed);
    if pgrp > 0 {
        crate::signal::kill_pgrp(pgrp, sig);
    }
}

/// Whether the console is the caller's controlling terminal.
/// Differs: while no session has it as its terminal (init=/bin/sh, which
/// Linux leaves without one), it acts as everyone's, so that a shell run
/// as init keeps Ctrl-C.
fn is_current_tty() -> bool {
    use core::sync::atomic::Ordering::Relaxed;
    let tty_session = TTY_SESSION.load(Relaxed);
    tty_session == 0 || crate::task::current().signal().session.load(Relaxed) == tty_session
}

/// Whether the caller may read the terminal (`sig` SIGTTIN) or write it
/// and change its settings (SIGTTOU): yes, unless it is its controlling
/// terminal and the caller is not in the foreground group. Then its
/// process group gets `sig` and the call restarts once it is continued
/// (in the foreground); a caller that blocks or ignores `sig` may write
/// but not read; an orphaned group, which no shell would continue, gets
/// EIO.
///
/// Linux: __tty_check_change() in drivers/tty/tty_jobctrl.c
///
/// # Errors
/// `ERESTARTSYS` after signalling the group; `EIO` for a read with SIGTTIN
/// blocked or ignored, or from an orphaned group.
fn tty_check_change(sig: i32) -> Result<(), Errno> {
    use core::sync::atomic::Ordering::Relaxed;
    let me = crate::task::current();
    let session = me.signal().session.load(Relaxed);
    if session == 0 || TTY_SESSION.load(Relaxed) != session {
        return Ok(());
    }
    let pgrp = me.signal().pgrp.load(Relaxed);
    let tty_pgrp = FOREGROUND_PGRP.load(Relaxed);
    if tty_pgrp == 0 || pgrp == tty_pgrp {
        return Ok(());
    }
    let blocked = me.blocked.load(Relaxed) & (1 << (sig - 1)) != 0;
    let ignored = crate::signal::task_sigaction(&me, sig).handler == crate::signal::SIG_IGN;
    if blocked || ignored {
        return if sig == crate::signal::SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    drop(me);
    if crate::exit::is_current_pgrp_orphaned() {
        return Err(Errno::EIO);
    }
    crate::signal::kill_pgrp(pgrp, sig);
    Err(Errno::ERESTARTSYS)
}

/// TIOCSPGRP (tcsetpgrp): makes process group `*arg` of the caller's
/// session the foreground group of its controlling terminal.
///
/// Linux: tiocspgrp() in drivers/tty/tty_jobctrl.c
///
/// # Errors
/// `ENOTTY` when the console is not the caller's controlling terminal (or
/// the caller is in an orphaned background group), `EFAULT`, `EINVAL` for
/// a negative group, `ESRCH` for no such group, `EPERM` for a group of
/// another session; as tty_check_change (a background caller gets SIGTTOU).
fn tiocspgrp(arg: u64) -> Result<u64, Errno> {
    use core::sync::atomic::Ordering::Relaxed;
    match tty_check_change(crate::signal::SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        r => r?,
    }
    let pgrp_nr: i32 = crate::mm::uaccess::get_user(arg)?;
    if pgrp_nr < 0 {
        return Err(Errno::EINVAL);
    }
    if !is_current_tty() {
        return Err(Errno::ENOTTY);
    }
    let pgrp = crate::pid::find_vpgrp(pgrp_nr).ok_or(Errno::ESRCH)?;
    let session = crate::task::current().signal().session.load(Relaxed);
    let pgrp_session = {
        let tasklist = crate::tasklist::TASKLIST_LOCK.lock();
        let member = tasklist
            .tasks
            .iter()
            .find(|t| t.signal().pgrp.load(Relaxed) == pgrp)
            .or_else(|| tasklist.tasks.iter().find(|t| t.pid() == pgrp));
        member.map(|t| t.signal().session.load(Relaxed))
    };
    match pgrp_session {
        None => Err(Errno::ESRCH),
        Some(s) if s != session && TTY_SESSION.load(Relaxed) != 0 => Err(Errno::EPERM),
        Some(_) => {
            FOREGROUND_PGRP.store(pgrp, Relaxed);
            Ok(0)
        }
    }
}

/// The session leader exits: its terminal's foreground group gets SIGHUP,
/// and the terminal belongs to no session any more.
///
/// Linux: disassociate_ctty(1) in drivers/tty/tty_jobctrl.c, from do_exit()
pub fn disassociate_ctty() {
    use core::sync::atomic::Ordering::Relaxed;
    let session = crate::task::current().signal().session.load(Relaxed);
    if session == 0 || TTY_SESSION.load(Relaxed) != session {
        return;
    }
    let pgrp = FOREGROUND_PGRP.swap(0, Relaxed);
    if pgrp > 0 {
        crate::signal::kill_pgrp(pgrp, crate::signal::SIGHUP);
    }
    TTY_SESSION.store(0, Relaxed);
}

/// The console as an open file (Linux: the tty's file_operations).
pub struct Console;

impl FileOperations for Console {
    /// Takes at most one line: up to its newline, or up to a Ctrl-D, which
    /// read() consumes and does not return; a Ctrl-D alone makes 0, end of
    /// file.
    ///
    /// Linux: n_tty_read() in drivers/tty/n_tty.c
    fn read(&self, buf: &mut [u8], _pos: u64, f_flags: u32) -> Result<usize, Errno> {
        tty_check_change(crate::signal::SIGTTIN)?;
        if f_flags & crate::fs::pipe::O_NONBLOCK != 0 && N_TTY.lock().ready.is_empty() {
            return Err(Errno::EAGAIN);
        }
        READ_WAIT.wait_event_interruptible(|| !N_TTY.lock().ready.is_empty())?;
        let mut tty = N_TTY.lock();
        let mut n = 0;
        while n < buf.len() {
            match tty.ready.pop_front() {
                Some(Some(b)) => {
                    buf[n] = b;
                    n += 1;
                    if b == b'\n' {
                        return Ok(n);
                    }
                }
                Some(None) | None => return Ok(n),
            }
        }
        // A Ctrl-D right after a line that filled the buffer goes with it,
        // as in Linux's canon_copy_from_read_buf(), so that the next read
        // does not see an empty line (end of file) that was never typed.
        if n > 0 && tty.ready.front() == Some(&None) {
            tty.ready.pop_front();
        }
        Ok(n)
    }

    /// Linux: n_tty_write() in drivers/tty/n_tty.c
    fn write(&self, buf: &[u8], _pos: u64, _f_flags: u32) -> Result<usize, Errno> {
        if lflag() & TOSTOP != 0 {
            tty_check_change(crate::signal::SIGTTOU)?;
        }
        serial::write_str(&alloc::string::String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn stat(&self) -> Kstat {
        Kstat {
            mode: S_IFCHR | 0o620,
            rdev: (5 << 8) | 1,
            nlink: 1,
            ..Kstat::default()
        }
    }

    fn ioctl(&self, cmd: u64, arg: u64) -> Result<u64, Errno> {
        match cmd {
            TCGETS => {
                let termios = *TERMIOS.lock();
                copy_to_user(arg, &termios)?;
                Ok(0)
            }
            TCSETS | 0x5403 | 0x5404 => {
                tty_check_change(crate::signal::SIGTTOU)?;
                let mut termios = [0u8; 36];
                crate::mm::uaccess::copy_from_user(&mut termios, arg)?;
                *TERMIOS.lock() = termios;
                Ok(0)
            }
            TIOCGPGRP => {
                if !is_current_tty() {
                    return Err(Errno::ENOTTY);
                }
                let pgrp = FOREGROUND_PGRP.load(core::sync::atomic::Ordering::Relaxed);
                crate::mm::uaccess::put_user(arg, caller_nr(pgrp))?;
                Ok(0)
            }
            TIOCSPGRP => tiocspgrp(arg),
            TIOCSCTTY => {
                let me = crate::task::current();
                let session = me
                    .signal()
                    .session
                    .load(core::sync::atomic::Ordering::Relaxed);
                TTY_SESSION.store(session, core::sync::atomic::Ordering::Relaxed);
                let _ = FOREGROUND_PGRP.compare_exchange(
                    0,
                    me.signal().pgrp.load(core::sync::atomic::Ordering::Relaxed),
                    core::sync::atomic::Ordering::Relaxed,
                    core::sync::atomic::Ordering::Relaxed,
                );
                Ok(0)
            }
            TIOCGSID => {
                let sid = crate::task::current()
                    .signal()
                    .session
                    .load(core::sync::atomic::Ordering::Relaxed);
                crate::mm::uaccess::put_user(arg, caller_nr(sid))?;
                Ok(0)
            }
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

    /// Linux: the poll_wait() call in n_tty_poll() in drivers/tty/n_tty.c
    fn poll_wait(&self, queue: &mut dyn FnMut(&WaitQueueHead)) {
        queue(&READ_WAIT);
    }

    fn poll(&self) -> u16 {
        use crate::fs::file::{POLLIN, POLLOUT};
        if N_TTY.lock().ready.is_empty() {
            POLLOUT
        } else {
            POLLIN | POLLOUT
        }
    }
}
