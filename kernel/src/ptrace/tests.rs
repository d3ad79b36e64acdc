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
