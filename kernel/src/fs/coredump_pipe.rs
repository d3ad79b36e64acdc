//! A piped core_pattern (`|/path/prog args`): the core goes down a pipe to
//! a user-mode helper (umh.rs) that reads it on its standard input.
//!
//! ```text
//!  dumper                            helper (child of kthreadd, root)
//!  call_usermodehelper_exec ───────▶ umh_coredump_setup: with %F a
//!                                      pidfd of the dumper on fd 3;
//!                                      pipe, read end on fd 0,
//!        ◀── exec done ────────────     RLIMIT_CORE = 1
//!  elf_core_dump() into the write end ─▶ execve(prog), reads fd 0
//!  core_pipe_limit != 0: wait for the helper to close its end
//! ```
//!
//! Linux: the `ispipe` branches of vfs_coredump() in fs/coredump.c

use super::coredump_name::COREDUMP_PIDFD_NUMBER;
use super::file::File;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::resource::{RLIMIT_CORE, Rlimit};
use crate::sysctl::CtlTable;
use crate::task::{TaskStruct, current};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, Ordering};

/// kernel.core_pipe_limit: how many piped dumps may run at once; 0 (the
/// default) means any number, and the dumper does not wait for the helper.
static CORE_PIPE_LIMIT: AtomicI32 = AtomicI32::new(0);

/// `/proc/sys/kernel/core_pipe_limit`.
///
/// Linux: the kernel.core_pipe_limit sysctl in fs/coredump.c
pub static CORE_PIPE_LIMIT_SYSCTL: CtlTable = CtlTable {
    procname: "core_pipe_limit",
    data: &CORE_PIPE_LIMIT,
    min: 0,
    max: i32::MAX,
    on_write: || Ok(()),
};

/// Piped dumps under way (Linux: core_dump_count).
static CORE_DUMP_COUNT: AtomicI32 = AtomicI32::new(0);

/// Starts the helper named by `argv` (with a pidfd of `leader` on fd 3 for
/// `%F`) and writes the core into its pipe with `dump`, which gets the
/// write end; returns what `dump` returned,
/// or false when no dump was made. RLIMIT_CORE (`limit`) does not cut a
/// piped core, but a limit of 1 (a helper's own crash) skips it.
///
/// Linux: the ispipe parts of vfs_coredump() in fs/coredump.c
pub(super) fn coredump_pipe(
    argv: Vec<String>,
    leader: Option<Arc<TaskStruct>>,
    limit: u64,
    dump: impl FnOnce(Arc<File>) -> bool,
) -> bool {
    let t = current();
    let pid = crate::pid::task_tgid_vnr(&t);
    if limit == 1 {
        log::warn!(
            "coredump: {pid}({}): RLIMIT_CORE is set to 1, aborting core",
            t.comm().as_str()
        );
        return false;
    }
    let dump_count = CORE_DUMP_COUNT.fetch_add(1, Ordering::AcqRel) + 1;
    let core_pipe_limit = CORE_PIPE_LIMIT.load(Ordering::Relaxed);
    let dumped = if core_pipe_limit != 0 && core_pipe_limit < dump_count {
        log::warn!(
            "coredump: {pid}({}): over core_pipe_limit, skipping core dump",
            t.comm().as_str()
        );
        false
    } else {
        let who = alloc::format!("coredump: {pid}({})", t.comm().as_str());
        drop(t);
        pipe_to_helper(&who, argv, leader, core_pipe_limit != 0, dump)
    };
    CORE_DUMP_COUNT.fetch_sub(1, Ordering::AcqRel);
    dumped
}

/// Runs the helper, dumps into its pipe, and (`wait`) waits for it to
/// close its end before the write end is closed.
///
/// Linux: the ispipe part of vfs_coredump() in fs/coredump.c, from starting
/// the helper to closing the pipe
fn pipe_to_helper(
    who: &str,
    argv: Vec<String>,
    pid: Option<Arc<TaskStruct>>,
    wait: bool,
    dump: impl FnOnce(Arc<File>) -> bool,
) -> bool {
    let path = argv[0].clone();
    let file: Arc<SpinLock<Option<Arc<File>>>> = match Arc::try_new(SpinLock::new(None)) {
        Ok(slot) => slot,
        Err(_) => return false,
    };
    let slot = file.clone();
    let init = alloc::boxed::Box::try_new(move || umh_coredump_setup(&slot, pid.clone()));
    let started = init.map_err(|_| Errno::ENOMEM).and_then(|init| {
        let sub_info =
            crate::umh::call_usermodehelper_setup(path.clone(), argv, Vec::new(), Some(init))?;
        crate::umh::call_usermodehelper_exec(&sub_info)
    });
    if started.is_err() {
        log::info!("{who}: |{path} pipe failed");
        return false;
    }
    let Some(file) = file.lock().take() else {
        log::info!("{who}: |{path} disabled");
        return false;
    };
    let dumped = !super::read_write::fatal_signal_pending_current() && dump(file.clone());
    if wait {
        wait_for_dump_helpers(&file);
    }
    dumped
}

/// In the helper, before its exec: for `%F` a pidfd of `pid` as fd 3
/// (not close-on-exec); a pipe whose read end becomes fd 0 and whose
/// write end goes back to the dumper in `slot`; RLIMIT_CORE 1 so that a
/// crash of the helper itself dumps nothing.
///
/// Linux: umh_coredump_setup() in fs/coredump.c
fn umh_coredump_setup(
    slot: &SpinLock<Option<Arc<File>>>,
    pid: Option<Arc<TaskStruct>>,
) -> Result<(), Errno> {
    use super::open::{O_RDONLY, O_WRONLY};
    let me = current();
    let files = me.files.lock().clone().ok_or(Errno::EBADF)?;
    if let Some(pid) = pid {
        let pidfs_file = crate::pidfd::pidfs_alloc_file(pid)?;
        files.install_at(COREDUMP_PIDFD_NUMBER, pidfs_file, false)?;
    }
    let (rd, wr) = super::pipe::create_pipe()?;
    let (rd, wr) = (File::new(rd, O_RDONLY)?, File::new(wr, O_WRONLY)?);
    *slot.lock() = Some(wr);
    files.install_at(0, rd, false)?;
    me.signal().rlim.lock().0[RLIMIT_CORE] = Rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    Ok(())
}

/// Lets the helper see end-of-file while the dumper still holds a reader,
/// then waits until that reader is the pipe's only one: the helper has
/// closed its end (usually by exiting).
///
/// Linux: wait_for_dump_helpers() in fs/coredump.c
fn wait_for_dump_helpers(file: &File) {
    let Some(pipe) = file.f_op.get_pipe_info() else {
        return;
    };
    {
        let mut st = pipe.state.lock();
        st.readers += 1;
        st.writers -= 1;
    }
    pipe.rd_wait.wake_up();
    let _ = pipe
        .rd_wait
        .wait_event_interruptible(|| pipe.state.lock().readers == 1);
    let mut st = pipe.state.lock();
    st.readers -= 1;
    st.writers += 1;
}
