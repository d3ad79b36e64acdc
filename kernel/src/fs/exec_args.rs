//! execve's arguments and environment: the strings are copied from user
//! space and charged against the room they will take on the new stack.
//!
//! Linux: count(), copy_strings(), copy_string_kernel(), bprm_stack_limits()
//! in fs/exec.c; a file of its own here so that
//! exec.rs is the exec sequence alone.

use super::exec::LinuxBinprm;
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::uaccess::{copy_from_user, get_user};
use crate::signal::fatal_signal_pending;
use crate::task::current;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest argument or environment string, NUL included (Linux: MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 32 * PAGE_SIZE;
/// Most arguments, and most environment strings (Linux: MAX_ARG_STRINGS).
pub(super) const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
/// Room for strings even under a small stack limit (Linux: ARG_MAX).
pub(super) const ARG_MAX: u64 = 32 * PAGE_SIZE as u64;
/// The default stack limit, which caps the room for strings (Linux: _STK_LIM).
const STK_LIM: u64 = 8 << 20;

/// NUL-terminated strings one after another, as they will lie on the new
/// stack. Arguments are bytes: nothing requires them to be UTF-8.
#[derive(Default)]
pub struct ArgStrings {
    /// The strings, each followed by its NUL.
    pub bytes: Vec<u8>,
    /// How many strings.
    pub count: usize,
}

impl ArgStrings {
    /// Each string, without its NUL.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes
            .split_inclusive(|&b| b == 0)
            .map(|s| &s[..s.len() - 1])
    }

    /// Kernel strings (init's arguments), which need no accounting.
    pub(super) fn from_kernel(strings: &[String]) -> Result<ArgStrings, Errno> {
        let mut out = ArgStrings::default();
        for s in strings {
            out.push(s.as_bytes())?;
        }
        Ok(out)
    }

    fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        let len = s.len().checked_add(1).ok_or(Errno::E2BIG)?;
        self.bytes.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        self.count += 1;
        Ok(())
    }
}

impl LinuxBinprm {
    /// Charges `s` and its NUL to the stack room and adds it as the first
    /// argument.
    ///
    /// Linux: copy_string_kernel() in fs/exec.c
    ///
    /// # Errors
    /// `E2BIG` when it does not fit, `ENOMEM`.
    pub fn copy_string_kernel(&mut self, s: &[u8]) -> Result<(), Errno> {
        let len = s.len().checked_add(1).ok_or(Errno::E2BIG)?;
        if len > MAX_ARG_STRLEN || len > self.room {
            return Err(Errno::E2BIG);
        }
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len + self.argv.bytes.len())
            .map_err(|_| Errno::ENOMEM)?;
        bytes.extend_from_slice(s);
        bytes.push(0);
        bytes.extend_from_slice(&self.argv.bytes);
        self.argv.bytes = bytes;
        self.argv.count += 1;
        self.room -= len;
        Ok(())
    }

    /// Drops the first argument and gives its room back.
    ///
    /// Linux: remove_arg_zero() in fs/exec.c
    pub fn remove_arg_zero(&mut self) {
        let Some(len) = self.argv.iter().next().map(|s| s.len() + 1) else {
            return;
        };
        self.argv.bytes.drain(..len);
        self.argv.count -= 1;
        self.room += len;
    }
}

/// Counts the pointers of a NULL-terminated user array.
///
/// Linux: count() in fs/exec.c
///
/// # Errors
/// `EFAULT` for a bad pointer, `E2BIG` past `max`, `EINTR` on SIGKILL.
pub(super) fn count(array: u64, max: usize) -> Result<usize, Errno> {
    if array == 0 {
        return Ok(0);
    }
    let me = current();
    let mut i = 0;
    loop {
        if get_arg_ptr(array, i)? == 0 {
            return Ok(i);
        }
        if i >= max {
            return Err(Errno::E2BIG);
        }
        i += 1;
        if fatal_signal_pending(&me) {
            return Err(Errno::EINTR);
        }
    }
}

/// The `i`th pointer of a user array.
///
/// Linux: get_user_arg_ptr() in fs/exec.c
fn get_arg_ptr(array: u64, i: usize) -> Result<u64, Errno> {
    let at = (i as u64)
        .checked_mul(8)
        .and_then(|off| array.checked_add(off))
        .ok_or(Errno::EFAULT)?;
    get_user(at)
}

/// How many bytes of strings the new stack may take: a quarter of
/// RLIMIT_STACK, at most three quarters of the default limit, at least
/// ARG_MAX, less the pointers to them.
///
/// Linux: bprm_stack_limits() in fs/exec.c
///
/// # Errors
/// `E2BIG` when the pointers alone use up the room.
pub(super) fn bprm_stack_limits(argc: usize, envc: usize) -> Result<usize, Errno> {
    let rlim_stack = current().signal().rlim.lock().0[crate::resource::RLIMIT_STACK].rlim_cur;
    let limit = (STK_LIM / 4 * 3).min(rlim_stack / 4).max(ARG_MAX) as usize;
    // With no arguments an empty argv[0] is added, so count one.
    let ptr_size = argc
        .max(1)
        .checked_add(envc)
        .and_then(|n| n.checked_mul(core::mem::size_of::<u64>()))
        .ok_or(Errno::E2BIG)?;
    limit
        .checked_sub(ptr_size)
        .filter(|&room| room > 0)
        .ok_or(Errno::E2BIG)
}

/// Copies one NUL-terminated user string onto the end of `out`, at most
/// `max` bytes with its NUL.
///
/// # Errors
/// `EFAULT` for a bad address, `E2BIG` with no NUL within `max` bytes.
fn copy_string_from_user(addr: u64, max: usize, out: &mut Vec<u8>) -> Result<usize, Errno> {
    let mut len = 0;
    let mut chunk = [0u8; 256];
    while len < max {
        let at = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let n = chunk
            .len()
            .min(max - len)
            .min(PAGE_SIZE - (at % PAGE_SIZE as u64) as usize);
        copy_from_user(&mut chunk[..n], at)?;
        let (part, done) = match chunk[..n].iter().position(|&b| b == 0) {
            Some(nul) => (&chunk[..=nul], true),
            None => (&chunk[..n], false),
        };
        out.try_reserve(part.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend_from_slice(part);
        len += part.len();
        if done {
            return Ok(len);
        }
    }
    Err(Errno::E2BIG)
}

/// Copies `count` user strings of `array` into `out`, each charged with
/// its bytes against `room`.
///
/// Linux: copy_strings() in fs/exec.c
///
/// # Errors
/// `EFAULT` for bad pointers, `E2BIG` past the limits, `ENOMEM`, `EINTR`
/// on SIGKILL.
pub(super) fn copy_strings(
    count: usize,
    array: u64,
    out: &mut ArgStrings,
    room: &mut usize,
) -> Result<(), Errno> {
    let me = current();
    for i in 0..count {
        if fatal_signal_pending(&me) {
            return Err(Errno::EINTR);
        }
        let ptr = get_arg_ptr(array, i)?;
        let len = copy_string_from_user(ptr, MAX_ARG_STRLEN.min(*room), &mut out.bytes)?;
        *room -= len;
        out.count += 1;
    }
    Ok(())
}
