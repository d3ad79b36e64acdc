//! The console's "show tasks" key: Ctrl-T on the serial console prints the
//! task list and the process tree, as SysRq-t does on Linux (and Ctrl-T,
//! SIGINFO, on the BSDs).
//!
//! Linux: drivers/tty/sysrq.c (sysrq_handle_showstate)

/// Ctrl-T.
const SHOW_STATE_KEY: u8 = 0x14;

/// Handles one byte from the serial port: the show-tasks key, or input
/// for the console terminal.
pub fn handle_sysrq_input(byte: u8) {
    if byte == SHOW_STATE_KEY {
        crate::sched::debug::show_state();
    } else {
        crate::drivers::tty::tty_receive_byte(byte);
    }
}
