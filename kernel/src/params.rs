//! The kernel command line: `name=value` and bare `name` words.
//!
//! Linux: kernel/params.c (parse_args), init/main.c (saved_command_line)

use alloc::string::String;
use spin::Once;

static SAVED_COMMAND_LINE: Once<String> = Once::new();

/// Reads the command line handed over by the runner and saves it.
///
/// Linux: setup_command_line() in init/main.c
pub fn setup_command_line() -> &'static str {
    SAVED_COMMAND_LINE.call_once(crate::arch::fw_cfg::cmdline)
}

/// The whole command line.
pub fn saved_command_line() -> &'static str {
    SAVED_COMMAND_LINE.get().map_or("", String::as_str)
}

/// The value of `name=value`, `Some("")` for a bare `name`, else `None`.
///
/// Linux: parse_args() / next_arg() in kernel/params.c
pub fn param(name: &str) -> Option<&'static str> {
    saved_command_line()
        .split_ascii_whitespace()
        .find_map(|word| match word.split_once('=') {
            Some((key, value)) if key == name => Some(value),
            None if word == name => Some(""),
            _ => None,
        })
}
