//! ptrace: one task (the tracer) stops, inspects and steers another (the
//! tracee). While traced, the tracee's `parent` is the tracer and its
//! `real_parent` stays the process that created it; each stop puts it in
//! `__TASK_TRACED` and reports it to the tracer's wait, which sees every
//! signal first and may change or drop it.
//!
//! ```text
//!   PTRACE_TRACEME / ATTACH / SEIZE     ptrace_link: parent = tracer
//!            │
//!            ▼   a signal, a system call, an event (fork, exec, exit)
//!   TASK_RUNNING ──────────────────────> __TASK_TRACED (ptrace_stop)
//!            ▲      wait4 in the tracer sees (code << 8) | 0x7f
//!            └──────────────────────────── PTRACE_CONT / SYSCALL / SINGLESTEP
//!   PTRACE_DETACH, or the tracer exits (exit_ptrace): ptrace_unlink, parent = real_parent
//! ```
//!
//! `attach.rs` links and unlinks tracer and tracee, `stop.rs` holds the
//! stops, `regs.rs` the register requests, `vm.rs` the memory ones.
//!
//! Linux: kernel/ptrace.c, include/linux/ptrace.h, include/uapi/linux/ptrace.h,
//! arch/x86/kernel/ptrace.c
//! Not modelled: seccomp stops (PTRACE_O_TRACESECCOMP), hardware debug
//! registers, PTRACE_{GET,SET}_SYSCALL_INFO, the 32-bit requests.

mod attach;
mod regs;
mod stop;
#[cfg(feature = "ktest")]
mod tests;
mod vm;

pub use attach::{
    __ptrace_unlink, PTRACE_MODE_ATTACH_REALCREDS, PTRACE_MODE_READ_FSCREDS,
    PTRACE_MODE_READ_REALCREDS, exit_ptrace, ptrace_init_task, ptrace_may_access,
    ptrace_release_task, ptrace_reparented,
};
pub use regs::genregs_get;
pub use stop::{
    do_jobctl_trap, ptrace_clone_event, ptrace_event, ptrace_event_exit, ptrace_event_pid_nr,
    ptrace_report_syscall_entry, ptrace_report_syscall_exit, ptrace_signal,
};
pub use vm::{sys_process_vm_readv, sys_process_vm_writev};

use crate::arch::entry::calling::PtRegs;
use crate::arch::sync::SpinLock;
use crate::errno::Errno;
use crate::signal::KernelSiginfo;
use crate::syscall::SysResult;
use crate::task::{TaskStruct, current};
use crate::tasklist::TASKLIST_LOCK;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Become traced by the parent.
pub const PTRACE_TRACEME: i32 = 0;
/// Read a word of the tracee's text.
pub const PTRACE_PEEKTEXT: i32 = 1;
/// Read a word of the tracee's data.
pub const PTRACE_PEEKDATA: i32 = 2;
/// Read a word of the tracee's `struct user`.
pub const PTRACE_PEEKUSR: i32 = 3;
/// Write a word of the tracee's text.
pub const PTRACE_POKETEXT: i32 = 4;
/// Write a word of the tracee's data.
pub const PTRACE_POKEDATA: i32 = 5;
/// Write a word of the tracee's `struct user`.
pub const PTRACE_POKEUSR: i32 = 6;
/// Resume the tracee.
pub const PTRACE_CONT: i32 = 7;
/// Kill the tracee.
pub const PTRACE_KILL: i32 = 8;
/// Resume for one instruction.
pub const PTRACE_SINGLESTEP: i32 = 9;
/// Read the general registers (`struct user_regs_struct`).
pub const PTRACE_GETREGS: i32 = 12;
/// Write the general registers.
pub const PTRACE_SETREGS: i32 = 13;
/// Read the FPU registers (`struct user_fpregs_struct`).
pub const PTRACE_GETFPREGS: i32 = 14;
/// Write the FPU registers.
pub const PTRACE_SETFPREGS: i32 = 15;
/// Attach to a running process, stopping it with SIGSTOP.
pub const PTRACE_ATTACH: i32 = 16;
/// Detach, resuming the tracee.
pub const PTRACE_DETACH: i32 = 17;
/// Resume until the next system-call entry or exit.
pub const PTRACE_SYSCALL: i32 = 24;
/// Set the PTRACE_O_* options.
pub const PTRACE_SETOPTIONS: i32 = 0x4200;
/// Read the last event's message (a new pid, an exit status).
pub const PTRACE_GETEVENTMSG: i32 = 0x4201;
/// Read the siginfo of the stop.
pub const PTRACE_GETSIGINFO: i32 = 0x4202;
/// Replace the siginfo of the stop.
pub const PTRACE_SETSIGINFO: i32 = 0x4203;
/// Read a register set (NT_PRSTATUS, NT_PRFPREG) through an iovec.
pub const PTRACE_GETREGSET: i32 = 0x4204;
/// Write a register set.
pub const PTRACE_SETREGSET: i32 = 0x4205;
/// Attach without stopping the tracee.
pub const PTRACE_SEIZE: i32 = 0x4206;
/// Stop a seized tracee (PTRACE_EVENT_STOP).
pub const PTRACE_INTERRUPT: i32 = 0x4207;
/// Leave a seized tracee stopped but let it report the next event.
pub const PTRACE_LISTEN: i32 = 0x4208;

/// Syscall stops report SIGTRAP | 0x80.
pub const PTRACE_O_TRACESYSGOOD: u32 = 1;
/// Stop at fork and trace the child.
pub const PTRACE_O_TRACEFORK: u32 = 1 << PTRACE_EVENT_FORK;
/// Stop at vfork and trace the child.
pub const PTRACE_O_TRACEVFORK: u32 = 1 << PTRACE_EVENT_VFORK;
/// Stop at clone and trace the child.
pub const PTRACE_O_TRACECLONE: u32 = 1 << PTRACE_EVENT_CLONE;
/// Stop at a successful execve.
pub const PTRACE_O_TRACEEXEC: u32 = 1 << PTRACE_EVENT_EXEC;
/// Stop when a vfork child has released the parent.
pub const PTRACE_O_TRACEVFORKDONE: u32 = 1 << PTRACE_EVENT_VFORK_DONE;
/// Stop at exit, before the task is a zombie.
pub const PTRACE_O_TRACEEXIT: u32 = 1 << PTRACE_EVENT_EXIT;
/// Stop at a seccomp return (accepted, never happens: no seccomp).
pub const PTRACE_O_TRACESECCOMP: u32 = 1 << PTRACE_EVENT_SECCOMP;
/// Kill the tracee when the tracer exits.
pub const PTRACE_O_EXITKILL: u32 = 1 << 20;
/// Every option bit (Linux: PTRACE_O_MASK, with SUSPEND_SECCOMP).
const PTRACE_O_MASK: u32 = 0x0000_00ff | PTRACE_O_EXITKILL | (1 << 21);

/// A fork event.
pub const PTRACE_EVENT_FORK: u32 = 1;
/// A vfork event.
pub const PTRACE_EVENT_VFORK: u32 = 2;
/// A clone event.
pub const PTRACE_EVENT_CLONE: u32 = 3;
/// An exec event.
pub const PTRACE_EVENT_EXEC: u32 = 4;
/// The vfork child released the parent.
pub const PTRACE_EVENT_VFORK_DONE: u32 = 5;
/// The tracee is exiting.
pub const PTRACE_EVENT_EXIT: u32 = 6;
/// A seccomp stop.
pub const PTRACE_EVENT_SECCOMP: u32 = 7;
/// A seized tracee's stop (PTRACE_INTERRUPT, a new child).
pub const PTRACE_EVENT_STOP: u32 = 128;

/// Traced (Linux: PT_PTRACED in task->ptrace).
pub const PT_PTRACED: u32 = 0x1;
/// Attached with PTRACE_SEIZE (Linux: PT_SEIZED).
pub const PT_SEIZED: u32 = 0x10000;
/// The options sit above the PT_PTRACED bits (Linux: PT_OPT_FLAG_SHIFT).
pub const PT_OPT_FLAG_SHIFT: u32 = 3;

/// What a stopped tracee left for its tracer: the user registers it will
/// return with, and the siginfo of the stop (Linux: the pt_regs at the top
/// of its stack and `last_siginfo`).
#[derive(Clone, Copy)]
pub struct PtraceStopped {
    /// The user registers; written back when the tracee resumes.
    pub regs: PtRegs,
    /// The stop's siginfo, `None` for a stop without one.
    pub info: Option<KernelSiginfo>,
}

/// A task's ptrace state (Linux: the ptrace fields of task_struct); the
/// traps (JOBCTL_TRAP_STOP, JOBCTL_TRAP_NOTIFY, JOBCTL_LISTENING) are
/// `jobctl` bits, under siglock, as in Linux.
#[derive(Default)]
pub struct PtraceState {
    /// PT_PTRACED, PT_SEIZED and the options shifted by PT_OPT_FLAG_SHIFT;
    /// 0 when not traced (Linux: ptrace). Lock: the tasklist lock for
    /// writes; read without.
    pub flags: AtomicU32,
    /// What PTRACE_GETEVENTMSG returns (Linux: ptrace_message).
    pub message: AtomicU64,
    /// Stop at system-call entry and exit (Linux: SYSCALL_WORK_SYSCALL_TRACE).
    pub syscall_trace: AtomicBool,
    /// The tracer set TF for PTRACE_SINGLESTEP (Linux: TIF_SINGLESTEP and
    /// TIF_FORCED_TF).
    pub singlestep: AtomicBool,
    /// Set while the tracee is in ptrace_stop; the tracer reads and
    /// changes it. Lock: its own, taken last.
    pub stopped: SpinLock<Option<PtraceStopped>>,
}

impl PtraceState {
    /// The PT_* flags; 0 if not traced.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// Whether the task is traced.
    pub fn is_traced(&self) -> bool {
        self.flags() & PT_PTRACED != 0
    }

    /// Whether the tracer asked to stop at `event` (Linux: ptrace_event_enabled()).
    pub fn event_enabled(&self, event: u32) -> bool {
        self.flags() & (1 << (PT_OPT_FLAG_SHIFT + event)) != 0
    }
}

/// The ptrace system call: TRACEME, ATTACH and SEIZE here; every other
/// request needs a tracee of the caller that is stopped, checked by
/// ptrace_check_attach, before the request runs.
///
/// Linux: SYSCALL_DEFINE4(ptrace) in kernel/ptrace.c
///
/// # Errors
/// `ESRCH` for a task that is not the caller's stopped tracee, `EPERM`
/// when the caller may not trace it, `EIO` for an unknown request or a bad
/// signal, `EFAULT` for a bad user address; as the request.
pub fn sys_ptrace(request: u64, pid: i32, addr: u64, data: u64) -> SysResult {
    let request = request as i32;
    if request == PTRACE_TRACEME {
        return attach::ptrace_traceme().map(|()| 0);
    }
    let child = crate::pid::find_task_by_vpid(pid).ok_or(Errno::ESRCH)?;
    if request == PTRACE_ATTACH || request == PTRACE_SEIZE {
        return attach::ptrace_attach(&child, request, addr, data).map(|()| 0);
    }
    let ignore_state = request == PTRACE_KILL || request == PTRACE_INTERRUPT;
    ptrace_check_attach(&child, ignore_state)?;
    arch_ptrace(&child, request, addr, data)
}

/// Whether `child` is traced by the calling thread and, unless
/// `ignore_state`, stopped for it (and not listening).
///
/// Linux: ptrace_check_attach() in kernel/ptrace.c
/// Differs: no wait_task_inactive(): the tracee saved its registers before
/// it entered __TASK_TRACED, so the tracer never touches its stack.
///
/// # Errors
/// `ESRCH` otherwise.
fn ptrace_check_attach(child: &Arc<TaskStruct>, ignore_state: bool) -> Result<(), Errno> {
    let me = current();
    let tasklist = TASKLIST_LOCK.lock();
    let ours = child.ptrace.is_traced()
        && child
            .family
            .get(&tasklist)
            .parent
            .upgrade()
            .is_some_and(|p| Arc::ptr_eq(&p, &me));
    drop(tasklist);
    let stopped = task_is_traced(child)
        && child.jobctl.load(Ordering::Relaxed) & crate::signal::JOBCTL_LISTENING == 0
        && child.ptrace.stopped.lock().is_some();
    if ours && (ignore_state || stopped) {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// Whether `p` sits in a ptrace stop (Linux: task_is_traced()).
pub fn task_is_traced(p: &TaskStruct) -> bool {
    p.state() & crate::task::__TASK_TRACED != 0
}

/// The requests on a stopped tracee.
///
/// Linux: arch_ptrace() in arch/x86/kernel/ptrace.c and ptrace_request()
/// in kernel/ptrace.c
fn arch_ptrace(child: &Arc<TaskStruct>, request: i32, addr: u64, data: u64) -> SysResult {
    match request {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => vm::ptrace_peekdata(child, addr, data),
        PTRACE_POKETEXT | PTRACE_POKEDATA => vm::ptrace_pokedata(child, addr, data),
        PTRACE_PEEKUSR => regs::ptrace_peekusr(child, addr, data),
        PTRACE_POKEUSR => regs::ptrace_pokeusr(child, addr, data),
        PTRACE_GETREGS => regs::ptrace_getregs(child, data),
        PTRACE_SETREGS => regs::ptrace_setregs(child, data),
        PTRACE_GETFPREGS => regs::ptrace_getfpregs(child, data),
        PTRACE_SETFPREGS => regs::ptrace_setfpregs(child, data),
        PTRACE_GETREGSET => regs::ptrace_regset(child, addr, data, false),
        PTRACE_SETREGSET => regs::ptrace_regset(child, addr, data, true),
        PTRACE_SETOPTIONS => ptrace_setoptions(child, data),
        PTRACE_GETEVENTMSG => {
            let msg = child.ptrace.message.load(Ordering::Relaxed);
            crate::mm::uaccess::put_user(data, msg).map(|()| 0)
        }
        PTRACE_GETSIGINFO => ptrace_getsiginfo(child, data),
        PTRACE_SETSIGINFO => ptrace_setsiginfo(child, data),
        PTRACE_CONT | PTRACE_SYSCALL | PTRACE_SINGLESTEP | PTRACE_LISTEN => {
            ptrace_resume(child, request, data)
        }
        PTRACE_INTERRUPT => stop::ptrace_interrupt(child),
        PTRACE_KILL => {
            // Linux: a tracee that is already dead is not an error.
            if child.exit_state() == 0 {
                crate::signal::send_sig(crate::signal::SIGKILL, child);
            }
            Ok(0)
        }
        PTRACE_DETACH => attach::ptrace_detach(child, data).map(|()| 0),
        _ => Err(Errno::EIO),
    }
}

/// PTRACE_SETOPTIONS: the PTRACE_O_* bits replace the old ones.
///
/// Linux: ptrace_setoptions() in kernel/ptrace.c
///
/// # Errors
/// `EINVAL` for an unknown bit.
fn ptrace_setoptions(child: &TaskStruct, data: u64) -> SysResult {
    if data & !u64::from(PTRACE_O_MASK) != 0 {
        return Err(Errno::EINVAL);
    }
    let _tasklist = TASKLIST_LOCK.lock();
    let keep = child.ptrace.flags() & (((1 << PT_OPT_FLAG_SHIFT) - 1) | PT_SEIZED);
    child.ptrace.flags.store(
        keep | ((data as u32) << PT_OPT_FLAG_SHIFT),
        Ordering::Release,
    );
    Ok(0)
}

/// PTRACE_GETSIGINFO: the siginfo of the stop, as user space lays it out.
///
/// Linux: ptrace_getsiginfo() in kernel/ptrace.c
///
/// # Errors
/// `EINVAL` for a stop without one, `EFAULT`.
fn ptrace_getsiginfo(child: &TaskStruct, data: u64) -> SysResult {
    let info = child
        .ptrace
        .stopped
        .lock()
        .and_then(|s| s.info)
        .ok_or(Errno::EINVAL)?;
    crate::mm::uaccess::put_user(data, info.to_user()).map(|()| 0)
}

/// PTRACE_SETSIGINFO: replaces the siginfo the tracee delivers.
///
/// Linux: ptrace_setsiginfo() in kernel/ptrace.c
///
/// # Errors
/// `EINVAL` for a stop without one, `EFAULT`.
fn ptrace_setsiginfo(child: &TaskStruct, data: u64) -> SysResult {
    let words: [u64; 16] = crate::mm::uaccess::get_user(data)?;
    let mut stopped = child.ptrace.stopped.lock();
    let info = stopped
        .as_mut()
        .and_then(|s| s.info.as_mut())
        .ok_or(Errno::EINVAL)?;
    *info = KernelSiginfo::from_user(&words);
    Ok(0)
}

/// Resumes the stopped tracee with signal `data` (0 for none): CONT,
/// SYSCALL (stop at the next system-call entry or exit), SINGLESTEP (TF
/// set: stop after one instruction), LISTEN (stay stopped, but report the
/// next event).
///
/// Linux: ptrace_resume() in kernel/ptrace.c
///
/// # Errors
/// `EIO` for an invalid signal, or LISTEN outside a seized tracee's
/// PTRACE_EVENT_STOP.
fn ptrace_resume(child: &Arc<TaskStruct>, request: i32, data: u64) -> SysResult {
    if data > crate::signal::_NSIG as u64 {
        return Err(Errno::EIO);
    }
    if request == PTRACE_LISTEN {
        return stop::ptrace_listen(child);
    }
    child
        .ptrace
        .syscall_trace
        .store(request == PTRACE_SYSCALL, Ordering::Relaxed);
    let step = request == PTRACE_SINGLESTEP;
    let was_stepping = child.ptrace.singlestep.swap(step, Ordering::Relaxed);
    if let Some(s) = child.ptrace.stopped.lock().as_mut() {
        if step {
            s.regs.rflags |= X86_EFLAGS_TF;
        } else if was_stepping {
            s.regs.rflags &= !X86_EFLAGS_TF;
        }
    }
    child.exit_code.store(data as i32, Ordering::Relaxed);
    stop::ptrace_wake_up(child);
    Ok(0)
}

/// The trap flag: a debug exception after each instruction.
pub const X86_EFLAGS_TF: u64 = 1 << 8;
