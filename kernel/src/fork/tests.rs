//! Tests of task creation: every failure point of copy_process unwinds,
//! and the flag checks and parent choice match Linux.

use super::*;
use crate::exit::kernel_wait4;
use crate::ktest::{Resources, wait_until};
use crate::task::{PF_FORKNOEXEC, PF_KTHREAD, TaskStruct};
use crate::{kassert, kassert_eq, ktest};
use alloc::string::String;

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

/// Forks one child and reaps it, so that the task list and the caller's
/// children list have grown to hold one more: the room a later fork
/// reserves then allocates nothing, and a failing fork can be checked
/// to leave the heap exactly as it was.
fn fork_and_reap_once() -> Result<(), String> {
    let p =
        copy_process(&thread_args(CloneFlags::CLONE_FS)).map_err(|e| alloc::format!("{e:?}"))?;
    let gone = run_and_reap(p)?;
    kassert!(
        wait_until(1000, || gone.strong_count() == 0),
        "the reaped child is freed"
    );
    Ok(())
}

/// Wakes `p` and reaps it; returns a handle that tells when it is freed:
/// a dead task's last reference is dropped by the CPU it ran on, in
/// finish_task_switch, which on another CPU may come after wait4 returned
/// (and a pidfd keeps it until closed). A kernel thread with an address
/// space would return to user space: the test's user page
/// (with_a_user_page) stays the caller's.
fn run_and_reap(p: Arc<TaskStruct>) -> Result<alloc::sync::Weak<TaskStruct>, String> {
    let pid = p.pid();
    if let Some(mm) = p.mm.take() {
        crate::fork::mmput(mm);
    }
    let gone = Arc::downgrade(&p);
    wake_up_new_task(p);
    kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
    Ok(gone)
}

/// Makes the nth allocation inside copy_process fail, for n = 1, 2, ...
/// until copy_process succeeds; every failure must be ENOMEM and leave
/// frames, heap, pids and the task count exactly as they were. `settle`
/// gives back what a successful call leaves the caller (a pidfd).
fn fail_every_allocation_in_copy_process(
    args: &KernelCloneArgs,
    settle: impl Fn(),
) -> Result<u32, String> {
    let me = current();
    fork_and_reap_once()?;
    for n in 1..100 {
        crate::mm::vmalloc::free_vm_stack_cache();
        let before = Resources::settled();
        me.fail_nth.arm(n);
        let result = copy_process(args);
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
                    Resources::settled(),
                    before,
                    "leak after failing allocation {n}"
                );
            }
            Ok(p) => {
                let gone = run_and_reap(p)?;
                settle();
                kassert!(
                    wait_until(1000, || gone.strong_count() == 0),
                    "the reaped child is freed"
                );
                drop(gone); // a Weak keeps the task's allocation
                crate::mm::vmalloc::free_vm_stack_cache();
                kassert_eq!(Resources::settled(), before);
                return Ok(n - 1);
            }
        }
    }
    Err("copy_process never succeeded".into())
}

ktest! {
    fn every_failing_allocation_in_copy_process_unwinds_completely() {
        let sharing = fail_every_allocation_in_copy_process(&thread_args(CloneFlags::CLONE_FS | CloneFlags::CLONE_FILES), || ())?;
        let copying = fail_every_allocation_in_copy_process(&thread_args(CloneFlags::empty()), || ())?;
        kassert!(sharing >= 11, "8 stack pages, the task, its signal and sighand: {sharing} points");
        kassert!(copying > sharing, "copying files and fs allocates more ({copying} vs {sharing})");
    }
}

/// Runs `f` in a kernel thread of its own that has a user address space
/// with one writable page, whose address `f` gets: the place a pidfd is
/// stored. The address space is dropped before the thread exits.
fn with_a_user_page<T: Send + 'static>(
    f: impl Fn(u64) -> Result<T, String> + Send + Sync + 'static,
) -> Result<T, String> {
    let result = Arc::new(crate::arch::sync::SpinLock::new(Err(String::from(
        "did not run",
    ))));
    let out = result.clone();
    let body: crate::task::ThreadFn = Arc::new(move || {
        *out.lock() = map_a_user_page_and_run(&f);
        crate::ktest::drop_test_mm();
        0
    });
    let pid = kernel_thread(
        body,
        "ktest-pidfd",
        CloneFlags::CLONE_FS,
        crate::signal::SIGCHLD,
    )
    .map_err(|e| alloc::format!("{e:?}"))?;
    kassert_eq!(kernel_wait4(pid, 0).map(|r| r.pid), Ok(pid));
    core::mem::replace(&mut *result.lock(), Err(String::from("taken")))
}

/// Gives the current kernel thread a new address space with one writable,
/// present page and runs `f` with its address.
fn map_a_user_page_and_run<T>(f: &impl Fn(u64) -> Result<T, String>) -> Result<T, String> {
    use crate::mm::mmap::{MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, do_mmap};
    let err = |e| alloc::format!("{e:?}");
    let mm = crate::mm::mm_types::MmStruct::new().map_err(err)?;
    current().mm.install(mm.clone());
    crate::mm::memory::switch_mm(Some(&mm));
    let anon = crate::mm::mm_types::VmBacking::Anon;
    let prot = PROT_READ | PROT_WRITE;
    let page = do_mmap(&mm, 0, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, anon, true).map_err(err)?;
    crate::mm::uaccess::put_user(page, -1i32).map_err(err)?;
    f(page)
}

ktest! {
    fn every_failing_allocation_of_clone_pidfd_unwinds_and_frees_the_reserved_fd() {
        let (plain, with_pidfd) = with_a_user_page(|page| {
            let files = current().files.lock().clone().ok_or("no file table")?;
            let free_fd = || crate::fs::fdtable::get_unused_fd_flags(true).map(|fd| fd.fd()).map_err(|e| alloc::format!("{e:?}"));
            // Grow the table once, so that later reservations allocate nothing.
            let first_free = free_fd()?;
            let plain = fail_every_allocation_in_copy_process(&thread_args(CloneFlags::CLONE_FS), || ())?;
            let args = KernelCloneArgs { pidfd: page, ..thread_args(CloneFlags::CLONE_FS | CloneFlags::CLONE_PIDFD) };
            let close = || {
                let fd = crate::mm::uaccess::get_user::<i32>(page).unwrap_or(-1);
                let _ = files.close_fd(fd);
            };
            let with_pidfd = fail_every_allocation_in_copy_process(&args, close)?;
            kassert_eq!(free_fd()?, first_free, "no descriptor stays reserved");
            Ok((plain, with_pidfd))
        })?;
        kassert!(with_pidfd >= plain + 2, "the pidfd's file and its PidfdFile are two more points ({with_pidfd} vs {plain})");
    }
}

ktest! {
    fn a_fork_with_a_signal_pending_for_its_parent_is_undone_for_a_restart() {
        use crate::signal::SIGUSR1;
        let me = current();
        let sighand = me.sighand.lock().clone().ok_or("no signal handlers")?;
        let old = sighand.get(SIGUSR1);
        crate::signal::allow_signal(&me, SIGUSR1);
        fork_and_reap_once()?;
        crate::signal::send_sig(SIGUSR1, &me);
        crate::mm::vmalloc::free_vm_stack_cache();
        let before = Resources::settled();
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
            (F::CLONE_THREAD | F::CLONE_SIGHAND | F::CLONE_VM | F::CLONE_NEWPID, Errno::EINVAL),
            (F::CLONE_NEWNET, Errno::EINVAL),
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
        let gone = Arc::downgrade(&p);
        wake_up_new_task(p);
        kassert_eq!(its, mine);
        kassert!(crate::ktest::wait_until(100, || crate::pid::find_task_by_vpid(pid).is_none()), "its parent, init, reaps it");
        // Freed before the next test counts resources.
        kassert!(wait_until(1000, || gone.strong_count() == 0), "the reaped child is freed");
    }
}

ktest! {
    fn every_failing_allocation_of_new_namespaces_unwinds_completely() {
        // Grow the inode-number bitmap once, so that later numbers allocate nothing.
        drop(crate::fs::nsfs::NsCommon::new());
        let sharing = fail_every_allocation_in_copy_process(&thread_args(CloneFlags::CLONE_FS), || ())?;
        let flags = CloneFlags::CLONE_FS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC;
        let new = fail_every_allocation_in_copy_process(&thread_args(flags), || ())?;
        kassert!(new >= sharing + 3, "the nsproxy and the two namespaces are three more points ({new} vs {sharing})");
    }
}
