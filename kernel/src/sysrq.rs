//! The console's magic keys, read in the serial interrupt:
//!
//! - Ctrl-T prints the task list and the process tree, as SysRq-t does on
//!   Linux (and Ctrl-T, SIGINFO, on the BSDs), and the console's
//!   foreground process group;
//! - Ctrl-G shows interrupt context: the next timer interrupt prints what
//!   `current` is there (whatever task it interrupted) and makes a call that
//!   may sleep, which might_sleep() reports as a bug.
//!
//! Linux: drivers/tty/sysrq.c (sysrq_handle_showstate)
//! Differs: Linux's keys follow Alt-SysRq (or a serial BREAK); Ctrl-G is
//! ours, for the demo of kernel/src/preempt.rs.

use crate::preempt::{in_interrupt, in_task, preempt_count};
use crate::sched::completion::Completion;
use alloc::boxed::Box;

/// Ctrl-T.
const SHOW_STATE_KEY: u8 = 0x14;
/// Ctrl-G.
const SHOW_IRQ_CONTEXT_KEY: u8 = 0x07;

/// Handles one byte from the serial port: a magic key, or input for the
/// console terminal.
pub fn handle_sysrq_input(byte: u8) {
    match byte {
        SHOW_STATE_KEY => crate::sched::debug::show_state(),
        SHOW_IRQ_CONTEXT_KEY => crate::irq_work::irq_work_queue(Box::new(show_irq_context)),
        _ => crate::drivers::tty::tty_receive_byte(byte),
    }
}

/// Runs inside the timer interrupt: shows the context, then waits for a
/// completion that is already done. The wait does not sleep this time, but
/// it could, and might_sleep() catches it anyway.
fn show_irq_context() {
    let (pid, comm) = crate::arch::percpu::with_current(|c| {
        c.map_or((0, crate::task::Comm::new("?")), |c| {
            (c.pid(), c.comm_lossy())
        })
    });
    log::info!(
        "sysrq: in the timer interrupt: in_interrupt(): {}, in_task(): {}, preempt_count: {:#x}",
        u8::from(in_interrupt()),
        u8::from(in_task()),
        preempt_count()
    );
    log::info!(
        "sysrq: current is pid {pid} ({}), the task the tick interrupted",
        comm.as_str()
    );
    log::info!("sysrq: calling wait_for_completion() here, where nothing may sleep:");
    let already_done = Completion::new();
    already_done.complete();
    already_done.wait_for_completion();
}
