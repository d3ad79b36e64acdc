//! In-kernel tests of ptrace's pure parts.

use super::*;
use crate::{kassert, ktest};

ktest! {
    fn a_clone_event_is_raised_only_when_the_tracer_asked_for_it() {
        use crate::fork::CloneFlags;
        // The test runner is a kernel thread: never traced.
        kassert!(ptrace_clone_event(CloneFlags::empty(), crate::signal::SIGCHLD) == 0, "untraced");
        kassert!(ptrace_clone_event(CloneFlags::CLONE_UNTRACED, 0) == 0, "CLONE_UNTRACED");
    }
}

ktest! {
    fn setsiginfo_reads_back_what_getsiginfo_wrote() {
        let sent = KernelSiginfo {
            signo: crate::signal::SIGUSR1,
            code: crate::signal::SI_USER,
            pid: 42,
            uid: 1000,
            ..Default::default()
        };
        let back = KernelSiginfo::from_user(&sent.to_user());
        kassert!(back.signo == sent.signo && back.code == sent.code, "signal and code");
        kassert!(back.pid == 42 && back.uid == 1000, "sender");
        let fault = KernelSiginfo {
            signo: crate::signal::SIGSEGV,
            code: crate::signal::SEGV_MAPERR,
            addr: 0xdead_0000,
            ..Default::default()
        };
        let back = KernelSiginfo::from_user(&fault.to_user());
        kassert!(back.addr == 0xdead_0000 && back.pid == 0, "a fault's address");
    }
}

ktest! {
    fn event_options_sit_above_the_pt_bits() {
        let st = PtraceState::default();
        st.flags.store(
            PT_PTRACED | (PTRACE_O_TRACEFORK << PT_OPT_FLAG_SHIFT),
            Ordering::Relaxed,
        );
        kassert!(st.is_traced(), "PT_PTRACED");
        kassert!(st.event_enabled(PTRACE_EVENT_FORK), "TRACEFORK enables the fork event");
        kassert!(!st.event_enabled(PTRACE_EVENT_CLONE), "but not the clone event");
    }
}
