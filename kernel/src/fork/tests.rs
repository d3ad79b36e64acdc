//! Tests of task creation: every failure point of copy_process unwinds,
//! and the flag checks and parent choice match Linux.

use super::*;
use crate::exit::kernel_wait4;
use crate::ktest::Resources;
use crate::task::{PF_FORKNOEXEC, PF_KTHREAD};
use crate::{kassert, kassert_eq, ktest};

fn thread_args(flags: CloneFlags) -> KernelCloneArgs {
    KernelCloneArgs {
        flags: flags | CloneFlags::CLONE_VM,
        exit_signal: crate::signal::SIGCHLD,
        name: Some("ktest-fi"),
        fn_: Some(Arc::new(|| 0)),
        kthread: true,
        ..Default::default()
    }
}

/// Makes the nth allocation inside copy_process fail, for n = 1, 2, ...
/// until copy_process succeeds; every failure must be ENOMEM and leave
/// frames, heap, pids and the task count exactly as they were.
fn fail_every_allocation_in_copy_process(flags: CloneFlags) -> Result<u32, alloc::string::String> {
    let args = thread_args(flags);
    let me = current();
    for n in 1..100 {
        crate::mm::vmalloc::free_vm_stack_cache();
        let before = Resources::snapshot();
        me.fail_nth.arm(n);
        let result = copy_process(&args);
        let reached = !me.fail_nth.pending();
        me.fail_nth.arm(0);
        match result {
            Err(e) => {
                kassert!(
                    reached,
                    "copy_process failed without an injected fault: {e:?}"
                );
                kassert_eq!(e, Errno::ENOMEM, "allocation point {n}");
                crate::mm::vmalloc::free_vm_stack_cache();
                kassert_eq!(
                    Resources::snapshot(),
                    before,
                    "leak after failing allocation {n}"
                );
            }
            Ok(p) => {
                let pid = p.pid();
                wake_up_new_task(p);
                kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
                crate::mm::vmalloc::free_vm_stack_cache();
                kassert_eq!(Resources::snapshot(), before);
                return Ok(n - 1);
            }
        }
    }
    Err("copy_process never succeeded".into())
}

ktest! {
    fn every_failing_allocation_in_copy_process_unwinds_completely() {
        let sharing = fail_every_allocation_in_copy_process(CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES)?;
        let copying = fail_every_allocation_in_copy_process(CloneFlags::empty())?;
        kassert!(sharing >= 11, "8 stack pages, the task, its signal and sighand: {sharing} points");
        kassert!(copying > sharing, "copying files and fs allocates more ({copying} vs {sharing})");
    }
}

ktest! {
    fn a_fork_with_a_signal_pending_for_its_parent_is_undone_for_a_restart() {
        use crate::signal::SIGUSR1;
        let me = current();
        let sighand = me.sighand.lock().clone().ok_or("no signal handlers")?;
        let old = sighand.get(SIGUSR1);
        crate::signal::allow_signal(&me, SIGUSR1);
        crate::signal::send_sig(SIGUSR1, &me);
        crate::mm::vmalloc::free_vm_stack_cache();
        let before = Resources::snapshot();
        let result = copy_process(&thread_args(CloneFlags::CLONE_FS)).map(|p| p.pid());
        me.pending.clear();
        sighand.action.lock()[SIGUSR1 as usize - 1] = old;
        kassert_eq!(result, Err(Errno::ERESTARTNOINTR));
        crate::mm::vmalloc::free_vm_stack_cache();
        kassert_eq!(Resources::snapshot(), before, "nothing of the child is left");
    }
}

ktest! {
    fn invalid_clone_flag_combinations_fail_with_linux_errnos() {
        use CloneFlags as F;
        let cases = [
            (F::CLONE_NEWNS | F::CLONE_FS, Errno::EINVAL),
            (F::CLONE_NEWUSER | F::CLONE_FS, Errno::EINVAL),
            (F::CLONE_THREAD, Errno::EINVAL),
            (F::CLONE_SIGHAND, Errno::EINVAL),
            (F::CLONE_NEWPID, Errno::EINVAL),
        ];
        for (flags, errno) in cases {
            let args = KernelCloneArgs { flags, ..thread_args(CloneFlags::empty()) };
            kassert_eq!(copy_process(&args).err(), Some(errno), "flags {flags:?}");
        }
    }
}

ktest! {
    fn a_new_task_starts_as_task_new_with_stack_end_magic_and_forknoexec() {
        let p = copy_process(&thread_args(CloneFlags::CLONE_FS)).map_err(|e| alloc::format!("{e:?}"))?;
        kassert_eq!(p.state(), crate::task::TASK_NEW);
        kassert!(!crate::task::task_stack_end_corrupted(&p));
        kassert!(p.flags() & PF_FORKNOEXEC != 0);
        kassert!(p.flags() & PF_KTHREAD != 0);
        let pid = p.pid();
        wake_up_new_task(p);
        kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
    }
}

ktest! {
    fn clone_parent_makes_the_child_a_sibling_of_the_caller() {
        let args = KernelCloneArgs { flags: CloneFlags::CLONE_PARENT | CloneFlags::CLONE_VM, ..thread_args(CloneFlags::empty()) };
        let p = copy_process(&args).map_err(|e| alloc::format!("{e:?}"))?;
        let me = current();
        let (mine, its) = {
            let tasklist = TASKLIST_LOCK.lock();
            let mine = me.family.get(&tasklist).real_parent.upgrade().map(|t| t.pid());
            (mine, p.family.get(&tasklist).real_parent.upgrade().map(|t| t.pid()))
        };
        let pid = p.pid();
        wake_up_new_task(p);
        kassert_eq!(its, mine);
        kassert!(crate::ktest::wait_until(100, || crate::pid::find_task_by_vpid(pid).is_none()), "its parent, init, reaps it");
    }
}
