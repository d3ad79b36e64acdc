//! `#!` scripts: run the named interpreter with the script as an argument.
//!
//! Linux: fs/binfmt_script.c (load_script)

use super::exec::LinuxBinprm;
use crate::errno::Errno;
use alloc::vec::Vec;

/// How much of the file is read for the `#!` line (Linux: BINPRM_BUF_SIZE).
const BINPRM_BUF_SIZE: usize = 256;

fn spacetab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Where the first byte that is not a space or tab lies in `s`.
fn next_non_spacetab(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| !spacetab(b))
}

/// Where the first space, tab or NUL lies in `s`.
fn next_terminator(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| spacetab(b) || b == 0)
}

/// If the file being loaded starts with `#!`, rewrites the arguments to
/// `interpreter [argument] script args[1..]` and returns the interpreter's
/// path. The line is read from the first BINPRM_BUF_SIZE bytes; when it
/// has no end there, the interpreter's name must (Linux since 5.0).
///
/// Linux: load_script() in fs/binfmt_script.c
///
/// # Errors
/// `ENOEXEC` when the line names no interpreter or cuts its name off,
/// `E2BIG` when the new arguments do not fit, `ENOMEM`.
pub fn load_script(bprm: &mut LinuxBinprm) -> Result<Option<Vec<u8>>, Errno> {
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    bprm.file.filemap_read(&mut buf, 0)?;
    if !buf.starts_with(b"#!") {
        return Ok(None);
    }
    // The last byte stays a NUL, as in Linux's buffer.
    let buf_end = BINPRM_BUF_SIZE - 1;
    let line_end = match buf.iter().position(|&b| b == b'\n') {
        Some(nl) => nl,
        None => {
            let name = next_non_spacetab(&buf[2..buf_end]).ok_or(Errno::ENOEXEC)? + 2;
            next_terminator(&buf[name..buf_end]).ok_or(Errno::ENOEXEC)?;
            buf_end
        }
    };
    let mut end = line_end;
    while end > 2 && spacetab(buf[end - 1]) {
        end -= 1;
    }
    let line = &buf[..end];
    let name = next_non_spacetab(&line[2..]).ok_or(Errno::ENOEXEC)? + 2;
    let name_end = next_terminator(&line[name..]).map_or(line.len(), |t| name + t);
    let interp = &line[name..name_end];
    let arg = (name_end < line.len() && line[name_end] != 0)
        .then(|| next_non_spacetab(&line[name_end..]).map(|a| &line[name_end + a..]))
        .flatten()
        .map(|a| &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())]);
    let mut owned = Vec::new();
    owned
        .try_reserve_exact(interp.len())
        .map_err(|_| Errno::ENOMEM)?;
    owned.extend_from_slice(interp);
    bprm.remove_arg_zero();
    let script = core::mem::take(&mut bprm.interp);
    let pushed = bprm.copy_string_kernel(&script);
    bprm.interp = script;
    pushed?;
    if let Some(arg) = arg {
        bprm.copy_string_kernel(arg)?;
    }
    bprm.copy_string_kernel(&owned)?;
    Ok(Some(owned))
}
