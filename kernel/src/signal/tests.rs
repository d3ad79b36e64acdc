//! Tests of signal delivery: the restart of an interrupted system call.

use super::SA_RESTART;
use super::deliver::restart_interrupted_syscall;
use crate::arch::entry::calling::{PtRegs, SYSCALL_VECTOR};
use crate::errno::Errno;
use crate::{kassert_eq, ktest};

fn interrupted(vector: u64, error: Errno) -> PtRegs {
    PtRegs {
        vector,
        orig_rax: crate::unistd::__NR_fork,
        rax: (-(error.0 as i64)) as u64,
        rip: 0x40_1002,
        ..Default::default()
    }
}

/// (rip, rax) after deciding `error` with `handler_flags`.
fn decide(error: Errno, handler_flags: Option<u64>) -> (u64, u64) {
    let mut regs = interrupted(SYSCALL_VECTOR, error);
    restart_interrupted_syscall(&mut regs, handler_flags);
    (regs.rip, regs.rax)
}

ktest! {
    fn erestartnointr_from_a_syscall_rewinds_to_the_syscall_instruction() {
        let mut regs = interrupted(SYSCALL_VECTOR, Errno::ERESTARTNOINTR);
        restart_interrupted_syscall(&mut regs, Some(0));
        kassert_eq!((regs.rip, regs.rax), (0x40_1000, 57));
        restart_interrupted_syscall(&mut regs, None);
        kassert_eq!((regs.rip, regs.rax), (0x40_1000, 57), "a second pass changes nothing");
    }
}

ktest! {
    fn the_same_rax_after_an_interrupt_is_no_restart_request() {
        let mut regs = interrupted(32, Errno::ERESTARTNOINTR);
        let before = (regs.rip, regs.rax);
        restart_interrupted_syscall(&mut regs, None);
        kassert_eq!((regs.rip, regs.rax), before);
    }
}

ktest! {
    fn each_restart_code_restarts_or_fails_as_signal_7_says() {
        let restart = (0x40_1000, 57);
        let eintr = (0x40_1002, (-(Errno::EINTR.0 as i64)) as u64);
        let restart_syscall = (0x40_1000, crate::unistd::__NR_restart_syscall);
        // No handler: every kind runs again, RESTARTBLOCK as restart_syscall.
        kassert_eq!(decide(Errno::ERESTARTSYS, None), restart);
        kassert_eq!(decide(Errno::ERESTARTNOHAND, None), restart);
        kassert_eq!(decide(Errno::ERESTART_RESTARTBLOCK, None), restart_syscall);
        // A handler: only SA_RESTART restarts ERESTARTSYS.
        kassert_eq!(decide(Errno::ERESTARTSYS, Some(SA_RESTART)), restart);
        kassert_eq!(decide(Errno::ERESTARTSYS, Some(0)), eintr);
        kassert_eq!(decide(Errno::ERESTARTNOHAND, Some(SA_RESTART)), eintr);
        kassert_eq!(decide(Errno::ERESTART_RESTARTBLOCK, Some(SA_RESTART)), eintr);
        kassert_eq!(decide(Errno::EAGAIN, None), (0x40_1002, (-(Errno::EAGAIN.0 as i64)) as u64));
    }
}

ktest! {
    fn a_frame_after_rt_sigreturn_is_never_restarted() {
        let mut regs = interrupted(SYSCALL_VECTOR, Errno::ERESTARTSYS);
        regs.orig_rax = u64::MAX;
        let before = (regs.rip, regs.rax);
        restart_interrupted_syscall(&mut regs, None);
        kassert_eq!((regs.rip, regs.rax), before);
    }
}
