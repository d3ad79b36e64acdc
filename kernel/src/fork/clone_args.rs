//! The arguments of task creation: the CLONE_* flags, `struct
//! kernel_clone_args`, and clone3's `struct clone_args` copied in from user
//! space and checked.
//!
//! Linux: include/uapi/linux/sched.h (CLONE_*, struct clone_args),
//! include/linux/sched/task.h (struct kernel_clone_args), and
//! copy_clone_args_from_user(), clone3_args_valid() in kernel/fork.c

use crate::errno::Errno;
use crate::pid_namespace::MAX_PID_NS_LEVEL;
use crate::task::ThreadFn;
use bitflags::bitflags;

bitflags! {
    /// What a new task shares with its creator (Linux: CLONE_* in
    /// include/uapi/linux/sched.h). The low byte of `clone(2)`'s flags is the
    /// exit signal, kept apart in `KernelCloneArgs::exit_signal`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct CloneFlags: u64 {
        /// New time namespace; inside CSIGNAL, so only clone3 and unshare
        /// can ask for it.
        const CLONE_NEWTIME = 0x0000_0080;
        /// Share the address space.
        const CLONE_VM = 0x0000_0100;
        /// Share working directory and umask.
        const CLONE_FS = 0x0000_0200;
        /// Share the open-file table.
        const CLONE_FILES = 0x0000_0400;
        /// Share signal handlers.
        const CLONE_SIGHAND = 0x0000_0800;
        /// Return a pidfd for the child.
        const CLONE_PIDFD = 0x0000_1000;
        /// Let the tracer trace the child too.
        const CLONE_PTRACE = 0x0000_2000;
        /// The parent sleeps until the child execs or exits.
        const CLONE_VFORK = 0x0000_4000;
        /// The child's parent is the caller's parent.
        const CLONE_PARENT = 0x0000_8000;
        /// Same thread group: a thread, not a process.
        const CLONE_THREAD = 0x0001_0000;
        /// New mount namespace.
        const CLONE_NEWNS = 0x0002_0000;
        /// Share System V semaphore undo lists.
        const CLONE_SYSVSEM = 0x0004_0000;
        /// Set the child's TLS (FS base).
        const CLONE_SETTLS = 0x0008_0000;
        /// Store the child's tid in the parent's memory.
        const CLONE_PARENT_SETTID = 0x0010_0000;
        /// Clear the child's tid in its memory at exit and wake futex waiters.
        const CLONE_CHILD_CLEARTID = 0x0020_0000;
        /// Ignored, as in Linux.
        const CLONE_DETACHED = 0x0040_0000;
        /// A tracer cannot force CLONE_PTRACE on this child.
        const CLONE_UNTRACED = 0x0080_0000;
        /// Store the child's tid in the child's memory.
        const CLONE_CHILD_SETTID = 0x0100_0000;
        /// New cgroup namespace.
        const CLONE_NEWCGROUP = 0x0200_0000;
        /// New UTS namespace.
        const CLONE_NEWUTS = 0x0400_0000;
        /// New IPC namespace.
        const CLONE_NEWIPC = 0x0800_0000;
        /// New user namespace.
        const CLONE_NEWUSER = 0x1000_0000;
        /// New pid namespace.
        const CLONE_NEWPID = 0x2000_0000;
        /// New network namespace.
        const CLONE_NEWNET = 0x4000_0000;
        /// Clone the I/O context.
        const CLONE_IO = 0x8000_0000;
        /// clone3 only: the child's handlers go back to SIG_DFL (ignored
        /// signals stay ignored).
        const CLONE_CLEAR_SIGHAND = 0x1_0000_0000;
    }
}

/// Everything `kernel_clone` needs to know (Linux: `struct kernel_clone_args`).
#[derive(Clone, Default)]
pub struct KernelCloneArgs {
    /// What to share.
    pub flags: CloneFlags,
    /// Signal for the parent when the child exits (SIGCHLD, 0, or -1 for threads).
    pub exit_signal: i32,
    /// Name for a kernel thread (`comm`); user tasks inherit the parent's.
    pub name: Option<&'static str>,
    /// The function a kernel thread runs (Linux: fn/fn_arg).
    pub fn_: Option<ThreadFn>,
    /// Create a kernel thread (Linux: kthread).
    pub kthread: bool,
    /// Create a CPU's idle task (Linux: idle).
    pub idle: bool,
    /// Stack pointer for the child, 0 to keep the parent's (Linux: stack).
    pub stack: u64,
    /// Size of the clone3 stack; `stack` is its top after clone3_stack_valid
    /// (Linux: stack_size).
    pub stack_size: u64,
    /// FS base for the child under CLONE_SETTLS (Linux: tls).
    pub tls: u64,
    /// Where to store the child's tid under CLONE_PARENT_SETTID (Linux: parent_tid).
    pub parent_tid: u64,
    /// Where to store or clear the child's tid (CLONE_CHILD_SETTID/CLEARTID).
    pub child_tid: u64,
    /// Where to store a pidfd for the child under CLONE_PIDFD (Linux: pidfd).
    pub pidfd: u64,
    /// clone3's chosen pid numbers, the child's own namespace first
    /// (Linux: set_tid, an array on kernel_clone's caller's stack).
    pub set_tid: [crate::pid::PidNr; MAX_PID_NS_LEVEL as usize],
    /// How many of `set_tid` are given; 0 to allocate freely (Linux: set_tid_size).
    pub set_tid_size: usize,
    /// The caller's saved user registers, which the child starts from.
    /// Differs: Linux's copy_thread reads them back with current_pt_regs().
    pub regs: Option<crate::arch::entry::calling::PtRegs>,
}

/// Size of the first version of `struct clone_args`: eight u64s (flags,
/// pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls)
/// (Linux: CLONE_ARGS_SIZE_VER0).
const CLONE_ARGS_SIZE_VER0: u64 = 64;
/// Size with cgroup, the last field Linux knows (Linux: CLONE_ARGS_SIZE_VER2):
/// VER1 added set_tid and set_tid_size. The cgroup is read only under
/// CLONE_INTO_CGROUP, which is not modelled (an unknown flag here).
const CLONE_ARGS_SIZE_VER2: u64 = 88;
/// The low byte of clone(2)'s flags, which holds the exit signal (Linux: CSIGNAL).
pub const CSIGNAL: u64 = 0xff;

/// Copies clone3's `struct clone_args` of `usize` bytes from user space. A
/// larger struct from newer user space is accepted if its extra fields are
/// zero, a smaller one has zeros for the fields it lacks. The flags are kept
/// as given, unknown bits too, for clone3_args_valid.
///
/// Linux: copy_clone_args_from_user() in kernel/fork.c
///
/// # Errors
/// `EINVAL` for a struct smaller than its first version, a set_tid array
/// and size that do not go together or a size past MAX_PID_NS_LEVEL, or a
/// bad exit signal; `E2BIG` for one larger than a page or with a non-zero
/// field it does not know; `EFAULT` for an unreadable struct or set_tid.
pub fn copy_clone_args_from_user(uargs: u64, usize: u64) -> Result<KernelCloneArgs, Errno> {
    if usize < CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if usize > crate::mm::PAGE_SIZE as u64 {
        return Err(Errno::E2BIG);
    }
    // Exactly `usize` bytes, as Linux's copy_struct_from_user: a size that
    // ends inside a field leaves the rest of it zero.
    let mut bytes = [0u8; CLONE_ARGS_SIZE_VER2 as usize];
    crate::mm::uaccess::copy_struct_from_user(&mut bytes, uargs, usize)?;
    let mut args = [0u64; (CLONE_ARGS_SIZE_VER2 / 8) as usize];
    for (field, word) in args.iter_mut().zip(bytes.as_chunks::<8>().0) {
        *field = u64::from_le_bytes(*word);
    }
    let [
        flags,
        pidfd,
        child_tid,
        parent_tid,
        exit_signal,
        stack,
        stack_size,
        tls,
        set_tid,
        set_tid_size,
        _cgroup,
    ] = args;
    if set_tid_size > u64::from(MAX_PID_NS_LEVEL) || (set_tid == 0) != (set_tid_size == 0) {
        return Err(Errno::EINVAL);
    }
    // Linux: the exit signal must be a signal number and fit in CSIGNAL.
    if exit_signal & !CSIGNAL != 0 || exit_signal > crate::signal::_NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    let mut kargs = KernelCloneArgs {
        flags: CloneFlags::from_bits_retain(flags),
        pidfd,
        child_tid,
        parent_tid,
        exit_signal: exit_signal as i32,
        stack,
        stack_size,
        tls,
        set_tid_size: set_tid_size as usize,
        ..Default::default()
    };
    for (i, slot) in kargs.set_tid[..set_tid_size as usize]
        .iter_mut()
        .enumerate()
    {
        let at = set_tid.checked_add(4 * i as u64).ok_or(Errno::EFAULT)?;
        *slot = crate::mm::uaccess::get_user(at)?;
    }
    Ok(kargs)
}

/// Whether clone3's arguments make sense: only known flags, no signal in
/// the flags, no exit signal for a thread or CLONE_PARENT, and a valid stack.
///
/// Linux: clone3_args_valid() in kernel/fork.c
pub fn clone3_args_valid(kargs: &mut KernelCloneArgs) -> bool {
    let flags = kargs.flags.bits();
    if flags & !CloneFlags::all().bits() != 0 {
        return false;
    }
    if flags & CSIGNAL != 0 || kargs.flags.contains(CloneFlags::CLONE_DETACHED) {
        return false;
    }
    // A table the child shares cannot be reset for it alone.
    if kargs
        .flags
        .contains(CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_CLEAR_SIGHAND)
    {
        return false;
    }
    if kargs
        .flags
        .intersects(CloneFlags::CLONE_THREAD | CloneFlags::CLONE_PARENT)
        && kargs.exit_signal != 0
    {
        return false;
    }
    clone3_stack_valid(kargs)
}

/// A clone3 stack is given with its size and lies in user space; the child
/// starts at its top (stacks grow down), so `stack` becomes that top.
///
/// Linux: clone3_stack_valid() in kernel/fork.c
fn clone3_stack_valid(kargs: &mut KernelCloneArgs) -> bool {
    match (kargs.stack, kargs.stack_size) {
        (0, 0) => true,
        (0, _) | (_, 0) => false,
        (stack, size) => {
            let top = usize::try_from(size)
                .ok()
                .filter(|&len| crate::mm::uaccess::access_ok(stack, len))
                .and_then(|_| stack.checked_add(size));
            top.map(|top| kargs.stack = top).is_some()
        }
    }
}
