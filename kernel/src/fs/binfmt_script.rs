//! `#!` scripts: run the named interpreter with the script as an argument.
//!
//! Linux: fs/binfmt_script.c (load_script)

use crate::errno::Errno;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest `#!` line Linux reads (BINPRM_BUF_SIZE).
const BINPRM_BUF_SIZE: usize = 256;

/// If `data` starts with `#!`, returns the interpreter and its optional
/// argument.
///
/// Linux: load_script() in fs/binfmt_script.c
///
/// # Errors
/// `ENOEXEC` when the line names no interpreter.
pub fn parse_shebang(data: &[u8]) -> Result<Option<(String, Option<String>)>, Errno> {
    if !data.starts_with(b"#!") {
        return Ok(None);
    }
    let line = &data[2..data.len().min(BINPRM_BUF_SIZE)];
    let line = line.split(|&b| b == b'\n').next().unwrap_or(line);
    let line = core::str::from_utf8(line)
        .map_err(|_| Errno::ENOEXEC)?
        .trim();
    let mut parts = line.splitn(2, [' ', '\t']);
    let interp = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(Errno::ENOEXEC)?;
    let arg = parts.next().map(str::trim).filter(|s| !s.is_empty());
    Ok(Some((interp.into(), arg.map(String::from))))
}

/// The new argument vector: interpreter, its argument, the script path,
/// then the original arguments after `argv[0]`.
pub fn script_argv(
    interp: &str,
    arg: Option<String>,
    filename: &str,
    argv: &[String],
) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len() + 2);
    out.push(interp.into());
    out.extend(arg);
    out.push(filename.into());
    out.extend(argv.iter().skip(1).cloned());
    out
}
