//! Tests of signal delivery: the restart of an interrupted system call.

use super::deliver::restart_interrupted_syscall;
use crate::arch::entry::calling::{PtRegs, SYSCALL_VECTOR};
use crate::{kassert_eq, ktest};

fn interrupted_fork(vector: u64) -> PtRegs {
    PtRegs {
        vector,
        orig_rax: crate::unistd::__NR_fork,
        rax: (-(crate::errno::Errno::ERESTARTNOINTR.0 as i64)) as u64,
        rip: 0x40_1002,
        ..Default::default()
    }
}

ktest! {
    fn erestartnointr_from_a_syscall_rewinds_to_the_syscall_instruction() {
        let mut regs = interrupted_fork(SYSCALL_VECTOR);
        restart_interrupted_syscall(&mut regs);
        kassert_eq!((regs.rip, regs.rax), (0x40_1000, 57));
        restart_interrupted_syscall(&mut regs);
        kassert_eq!((regs.rip, regs.rax), (0x40_1000, 57), "a second pass changes nothing");
    }
}

ktest! {
    fn the_same_rax_after_an_interrupt_is_no_restart_request() {
        let mut regs = interrupted_fork(32);
        let before = (regs.rip, regs.rax);
        restart_interrupted_syscall(&mut regs);
        kassert_eq!((regs.rip, regs.rax), before);
    }
}
