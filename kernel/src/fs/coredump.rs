//! Core dumps: a signal whose default action is "core" (SIGSEGV, SIGABRT,
//! ...) first stops the other threads of the process, then writes the
//! process's registers and memory to a file named by
//! `/proc/sys/kernel/core_pattern` (default `core`, in the crashing task's
//! working directory), if RLIMIT_CORE allows; only then does the group
//! exit go on, with the 0x80 "core dumped" bit in the wait status if the
//! file was made. The file's ELF layout is `binfmt_elf_core.rs`; the
//! name is `coredump_name.rs`; a pattern `|program` pipes the core to a
//! helper instead (`coredump_pipe.rs`).
//!
//! ```text
//!  dumper (took SIGSEGV)             other threads
//!  zap_threads: group_exit, SIGKILL ───▶ get_signal: SIGKILL
//!  coredump_wait: sleep on `startup`     coredump_task_exit: hand in regs,
//!        ◀──────────── the last one completes `startup`, sleep on `done`
//!  elf_core_dump() to the file
//!  coredump_finish: exit code |= 0x80, complete `done` ──▶ do_exit
//! ```
//!
//! Linux: fs/coredump.c
//! Not modelled: coredump_filter (the default filter is built in),
//! fs.suid_dumpable 2.

use super::coredump_name::{CoreName, CorenameParams, format_corename};
use crate::arch::entry::calling::PtRegs;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::fs::file::File;
use crate::mm::mm_types::{MmStruct, SUID_DUMP_DISABLE};
use crate::sched::completion::Completion;
use crate::signal::{KernelSiginfo, PidType, SIGKILL};
use crate::task::{PF_EXITING, TaskStruct, current};
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

pub use super::coredump_name::{CORE_PATTERN, CORE_USES_PID_SYSCTL};

/// The smallest RLIMIT_CORE an ELF core is written under (Linux:
/// elf_format.min_coredump, ELF_EXEC_PAGESIZE).
const MIN_COREDUMP: u64 = crate::mm::PAGE_SIZE as u64;

/// A thread of the dumping process as it stopped: its user registers.
pub struct CoreThread {
    /// The thread.
    pub task: Arc<TaskStruct>,
    /// Its registers on entry to the kernel.
    pub regs: PtRegs,
}

/// The threads the dumper waits for and those that have stopped.
#[derive(Default)]
struct CoreThreads {
    /// Zapped threads that have not stopped yet (Linux: nr_threads).
    waiting_for: Vec<Arc<TaskStruct>>,
    /// Threads stopped for the dump, in the order they stopped (Linux:
    /// core_state->dumper, a list threaded through the threads' stacks).
    stopped: Vec<CoreThread>,
}

/// A core dump under way, in `signal.core_state` (Linux: struct core_state).
/// Lock: `threads`; a thread checks in at most once, under it.
#[derive(Default)]
pub struct CoreState {
    threads: SpinLock<CoreThreads>,
    /// Completed by the last thread to stop (Linux: startup).
    startup: Completion,
    /// Completed, for all, when the dump is done (Linux: the wake-ups of
    /// coredump_finish()).
    done: Completion,
}

/// What a dump writes with: the file, how far it is, and the limit
/// (Linux: struct coredump_params).
pub struct CoredumpParams<'a> {
    /// The signal that caused the dump.
    pub siginfo: &'a KernelSiginfo,
    /// The dumping thread's registers.
    pub regs: &'a PtRegs,
    /// The other threads, stopped.
    pub threads: &'a [CoreThread],
    /// The address space being dumped.
    pub mm: &'a MmStruct,
    /// The core file.
    file: Arc<File>,
    /// RLIMIT_CORE: the most bytes written.
    limit: u64,
    /// The file is a pipe: holes are written as zeros (Linux: the
    /// FMODE_LSEEK test of dump_skip).
    ispipe: bool,
    /// Bytes written so far (skipped holes not counted).
    written: u64,
    /// Where the next byte goes.
    pos: u64,
    /// Bytes to skip (leave as a hole) before the next write.
    to_skip: u64,
}

/// Dumps core for the signal in `info` if the process may, before the
/// caller's group exit; `regs` are the dumping thread's. Returns whether
/// the core was dumped (the file made and its notes gathered, even if
/// RLIMIT_CORE or ENOSPC then cut it): then the wait status gets WCOREDUMP.
///
/// Linux: vfs_coredump() (do_coredump()) in fs/coredump.c
pub fn vfs_coredump(info: &KernelSiginfo, regs: &PtRegs) -> bool {
    let t = current();
    let Some(mm) = t.mm.lock().clone() else {
        return false;
    };
    let cpu = crate::arch::percpu::smp_processor_id();
    if mm.get_dumpable() == SUID_DUMP_DISABLE {
        return false;
    }
    let Ok(core_state) = coredump_wait(&t, info.signo) else {
        return false;
    };
    let threads = core::mem::take(&mut core_state.threads.lock().stopped);
    let dumped = do_coredump_write(&t, &mm, info, regs, &threads, cpu);
    drop(threads);
    coredump_finish(&t, &core_state, dumped);
    dumped
}

/// Names the core and writes it, to a file or down a helper's pipe;
/// returns whether it was dumped.
///
/// Linux: the middle of vfs_coredump() in fs/coredump.c, from
/// format_corename() to binfmt->core_dump()
fn do_coredump_write(
    t: &TaskStruct,
    mm: &MmStruct,
    siginfo: &KernelSiginfo,
    regs: &PtRegs,
    threads: &[CoreThread],
    cpu: usize,
) -> bool {
    let limit = crate::resource::rlimit(crate::resource::RLIMIT_CORE);
    let write = |file, limit, ispipe| {
        let mut cprm = CoredumpParams {
            siginfo,
            regs,
            threads,
            mm,
            file,
            limit,
            ispipe,
            written: 0,
            pos: 0,
            to_skip: 0,
        };
        cprm.core_dump()
    };
    let mut params = CorenameParams {
        signr: siginfo.signo,
        cpu,
        pid: None,
    };
    match format_corename(t, &mut params) {
        Ok(CoreName::File(corename)) => coredump_file(&corename, limit)
            .map(|file| write(file, limit, false))
            .unwrap_or(false),
        Ok(CoreName::Pipe { argv, pid }) => {
            super::coredump_pipe::coredump_pipe(argv, pid, limit, |file| {
                write(file, crate::resource::RLIM_INFINITY, true)
            })
        }
        Err(_) => false,
    }
}

/// Creates the core file `corename`. The old file of that name is removed
/// first; the new one must be a regular file of the dumping user, mode
/// 0600, linked once.
///
/// Linux: the file branch of vfs_coredump() in fs/coredump.c
///
/// # Errors
/// `EFBIG` when RLIMIT_CORE is below a page, `EPERM` for a file not fit
/// to hold the core; as open.
fn coredump_file(corename: &[u8], limit: u64) -> Result<Arc<File>, Errno> {
    use crate::fs::open::{O_CREAT, O_EXCL, O_LARGEFILE, O_NOFOLLOW, O_WRONLY};
    if limit < MIN_COREDUMP {
        return Err(Errno::EFBIG);
    }
    let cwd = crate::fs::open::current_cwd();
    let _ = crate::fs::open::do_unlinkat(&cwd, corename, false);
    let flags = O_CREAT | O_WRONLY | O_NOFOLLOW | O_LARGEFILE | O_EXCL;
    let file = crate::fs::open::do_filp_open(&cwd, corename, flags, 0o600)?;
    let path = file.f_path.as_ref().ok_or(Errno::EPERM)?;
    let attr = *path.inode.i_attr.lock();
    let fsuid = crate::cred::current_cred().fsuid;
    if !path.inode.is_reg() || attr.nlink > 1 || attr.uid != fsuid || attr.mode & 0o677 != 0o600 {
        return Err(Errno::EPERM);
    }
    Ok(file)
}

/// Starts the group exit with `exit_code` and stops the other threads:
/// each gets SIGKILL and, on its way out, hands in its registers and
/// waits for the dump (coredump_task_exit). Returns once every one of
/// them has.
///
/// Linux: coredump_wait() in fs/coredump.c
/// Differs: no wait_task_inactive(): a thread hands in a copy of its
/// registers, so it need not be off its CPU for them to be stable.
///
/// # Errors
/// `EAGAIN` when a group exit or an exec is already under way (then no
/// dump: the thread that started it decides the exit code); `ENOMEM`.
fn coredump_wait(t: &Arc<TaskStruct>, exit_code: i32) -> Result<Arc<CoreState>, Errno> {
    let core_state = Arc::try_new(CoreState::default()).map_err(|_| Errno::ENOMEM)?;
    if zap_threads(t, &core_state, exit_code)? > 0 {
        core_state.startup.wait_for_completion();
    }
    Ok(core_state)
}

/// Claims the group exit for the dump, publishes `core_state` and kills
/// the other live threads; returns how many the dump must wait for. A
/// thread already exiting (PF_EXITING) is not waited for: it may be past
/// the point where it would hand in its registers.
///
/// Linux: zap_threads() / zap_process() in fs/coredump.c
///
/// # Errors
/// `EAGAIN` when a group exit or exec is under way; `ENOMEM`.
fn zap_threads(
    t: &Arc<TaskStruct>,
    core_state: &Arc<CoreState>,
    exit_code: i32,
) -> Result<usize, Errno> {
    let sig = t.signal();
    if sig.group_exec.load(Ordering::Acquire) || sig.group_exit.swap(true, Ordering::AcqRel) {
        return Err(Errno::EAGAIN);
    }
    sig.group_exit_code.store(exit_code, Ordering::Release);
    *sig.core_state.lock() = Some(core_state.clone());
    // Under the tasklist lock, as zap_other_threads(): a clone either
    // finished (its thread is listed and killed) or sees SIGKILL and fails.
    let tasklist = TASKLIST_LOCK.lock();
    let others = || {
        crate::tasklist::for_each_thread(t, &tasklist)
            .filter(|x| !Arc::ptr_eq(x, t) && x.exit_state() == 0)
    };
    let nr = {
        let mut threads = core_state.threads.lock();
        for x in others().filter(|x| x.flags.load(Ordering::Relaxed) & PF_EXITING == 0) {
            // A thread that finds no room is killed but not waited for.
            if threads.waiting_for.try_reserve(1).is_ok() && threads.stopped.try_reserve(1).is_ok()
            {
                threads.waiting_for.push(x.clone());
            }
        }
        threads.waiting_for.len()
    };
    for x in others() {
        let _ = crate::signal::send_signal_locked(
            SIGKILL,
            KernelSiginfo::default(),
            x,
            PidType::Pid,
            Some(&tasklist),
        );
    }
    Ok(nr)
}

/// A thread of a dumping process on its way out: if the dump waits for
/// it, it hands in its registers (`None` when it exits without them, from
/// exit(2): it is then left out of the core) and sleeps until the dump is
/// done. Called from the fatal-signal path with the registers and from
/// do_exit without; it acts at most once.
///
/// Linux: coredump_task_exit() in kernel/exit.c
/// Differs: Linux calls it from do_exit() only and reads the registers
/// from the thread's stack (task_pt_regs()); here they are handed in.
pub fn coredump_task_exit(tsk: &Arc<TaskStruct>, regs: Option<&PtRegs>) {
    let Some(core_state) = tsk.signal().core_state.lock().clone() else {
        return;
    };
    {
        let mut threads = core_state.threads.lock();
        let Some(i) = threads.waiting_for.iter().position(|x| Arc::ptr_eq(x, tsk)) else {
            return;
        };
        threads.waiting_for.swap_remove(i);
        if let Some(regs) = regs {
            // zap_threads reserved the room.
            threads.stopped.push(CoreThread {
                task: tsk.clone(),
                regs: *regs,
            });
        }
        if threads.waiting_for.is_empty() {
            core_state.startup.complete();
        }
    }
    core_state.done.wait_for_completion();
}

/// Ends the dump: the exit code gets the core bit if the file was
/// written, and the stopped threads go on to exit.
///
/// Linux: coredump_finish() in fs/coredump.c
fn coredump_finish(t: &TaskStruct, core_state: &CoreState, core_dumped: bool) {
    let sig = t.signal();
    if core_dumped {
        sig.group_exit_code.fetch_or(0x80, Ordering::AcqRel);
    }
    *sig.core_state.lock() = None;
    core_state.done.complete_all();
}

impl CoredumpParams<'_> {
    /// Writes the core with the ELF writer; a dump that ends in a hole
    /// still gets its full size. False when the notes could not be
    /// gathered (no memory).
    ///
    /// Linux: the `binfmt->core_dump` step of vfs_coredump() in fs/coredump.c
    fn core_dump(&mut self) -> bool {
        if !super::binfmt_elf_core::elf_core_dump(self) {
            return false;
        }
        if self.to_skip > 0 {
            self.to_skip -= 1;
            self.dump_emit(&[0]);
        }
        true
    }

    /// Whether the dump must stop: SIGKILL came.
    ///
    /// Linux: dump_interrupted() in fs/coredump.c
    fn dump_interrupted() -> bool {
        crate::fs::read_write::fatal_signal_pending_current()
    }

    /// Writes `buf` at the current position, after any pending hole;
    /// false when the limit would be passed, the write fell short or the
    /// dump was interrupted.
    ///
    /// Linux: dump_emit() / __dump_emit() in fs/coredump.c
    pub fn dump_emit(&mut self, buf: &[u8]) -> bool {
        if buf.is_empty() {
            return true;
        }
        let skip = core::mem::take(&mut self.to_skip);
        if self.ispipe {
            if !self.dump_zeros(skip) {
                return false;
            }
        } else {
            self.pos += skip;
        }
        self.__dump_emit(buf)
    }

    /// Writes `nr` zero bytes: a hole in a file that cannot seek.
    ///
    /// Linux: the zero-page loop of __dump_skip() in fs/coredump.c
    fn dump_zeros(&mut self, mut nr: u64) -> bool {
        let zeroes = &crate::mm::EMPTY_ZERO_PAGE;
        while nr > 0 {
            let n = nr.min(zeroes.len() as u64);
            if !self.__dump_emit(&zeroes[..n as usize]) {
                return false;
            }
            nr -= n;
        }
        true
    }

    /// Writes `buf` at the position.
    ///
    /// Linux: __dump_emit() in fs/coredump.c
    fn __dump_emit(&mut self, buf: &[u8]) -> bool {
        if self.written + buf.len() as u64 > self.limit || Self::dump_interrupted() {
            return false;
        }
        match self.file.f_op.write(buf, self.pos, 0) {
            Ok(n) if n == buf.len() => {
                self.written += n as u64;
                self.pos += n as u64;
                true
            }
            _ => false,
        }
    }

    /// Leaves `nr` bytes as a hole (they read as zeros).
    ///
    /// Linux: dump_skip() in fs/coredump.c
    pub fn dump_skip(&mut self, nr: u64) {
        self.to_skip += nr;
    }

    /// Moves to the next multiple of `align` (a power of two).
    ///
    /// Linux: dump_align() in fs/coredump.c
    pub fn dump_align(&mut self, align: u64) {
        let at = self.pos + self.to_skip;
        self.to_skip += at.next_multiple_of(align) - at;
    }

    /// Moves to file offset `to`, which is not behind the position.
    ///
    /// Linux: dump_skip_to() in fs/coredump.c
    pub fn dump_skip_to(&mut self, to: u64) {
        self.to_skip = to.saturating_sub(self.pos);
    }

    /// Writes the user memory `start..start + len`, page by page: a page
    /// present in memory is copied, one never touched stays a hole.
    ///
    /// Linux: dump_user_range() in fs/coredump.c, with get_dump_page()
    /// Differs: a file page not yet read in is a hole too (Linux reads it).
    pub fn dump_user_range(&mut self, start: u64, len: u64) -> bool {
        const PAGE: usize = crate::mm::PAGE_SIZE;
        let mut page = Vec::new();
        if page.try_reserve_exact(PAGE).is_err() {
            return false;
        }
        page.resize(PAGE, 0u8);
        for addr in (start..start + len).step_by(PAGE) {
            if Self::dump_interrupted() {
                return false;
            }
            match crate::mm::memory::access_remote_vm(self.mm, addr, &mut page) {
                PAGE => {
                    if !self.dump_emit(&page) {
                        return false;
                    }
                }
                _ => self.dump_skip(PAGE as u64),
            }
            crate::sched::core::cond_resched();
        }
        true
    }

    /// Where the next byte would go, holes included.
    pub fn offset(&self) -> u64 {
        self.pos + self.to_skip
    }
}
