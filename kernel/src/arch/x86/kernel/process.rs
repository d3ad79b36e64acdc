//! Where a sleeping task waits, for `/proc/<pid>/wchan`.
//!
//! Linux: arch/x86/kernel/process.c (__get_wchan), get_wchan() in
//! kernel/sched/core.c
//! Not modelled: the stack walk; the function is named from the system
//! call the task is in.

use crate::task::TaskStruct;
use crate::unistd as nr;
use core::sync::atomic::Ordering;

/// The function a sleeping task waits in, `None` for a task that runs, is
/// the caller, or is dead (its stack is gone).
///
/// Linux: get_wchan() in kernel/sched/core.c
pub fn get_wchan(p: &TaskStruct) -> Option<&'static str> {
    if core::ptr::eq(p, &*crate::task::current()) {
        return None;
    }
    match crate::sched::debug::task_state_to_char(p) {
        'R' | 'Z' | 'X' => None,
        'T' => Some("do_signal_stop"),
        't' => Some("ptrace_stop"),
        _ => __get_wchan(p),
    }
}

/// The Linux function that a sleep in the task's current system call
/// waits in.
///
/// Linux: __get_wchan() in arch/x86/kernel/process.c
/// Differs: Linux walks the sleeping task's stack to the first function
/// outside the scheduler; here the system call the task is in names it,
/// and a sleep in a call not listed here (a read, a write) shows as 0.
fn __get_wchan(p: &TaskStruct) -> Option<&'static str> {
    let call = u64::try_from(p.syscall_nr.load(Ordering::Relaxed)).ok()?;
    Some(match call {
        nr::__NR_wait4 | nr::__NR_waitid => "do_wait",
        nr::__NR_nanosleep | nr::__NR_clock_nanosleep => "hrtimer_nanosleep",
        nr::__NR_pause => "__do_sys_pause",
        nr::__NR_rt_sigsuspend => "sigsuspend",
        nr::__NR_poll | nr::__NR_ppoll | nr::__NR_select | nr::__NR_pselect6 => {
            "poll_schedule_timeout"
        }
        nr::__NR_futex => "futex_wait_queue",
        nr::__NR_epoll_wait | nr::__NR_epoll_pwait => "do_epoll_wait",
        _ => return None,
    })
}
