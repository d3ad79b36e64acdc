//! execve: replace the current program with a new one. The pid, parent,
//! children and open files (minus close-on-exec) stay; the address space,
//! signal handlers and registers are new.
//!
//! Linux: fs/exec.c (do_execveat_common, bprm_execve, begin_new_exec,
//! exec_mmap, setup_new_exec), fs/binfmt_elf.c (create_elf_tables)

use super::binfmt_elf::{create_elf_tables, load_elf_binary, parse};
use super::exec_args::{
    ARG_MAX, ArgStrings, MAX_ARG_STRINGS, bprm_stack_limits, copy_strings, count,
};
use super::exec_creds::{bprm_creds_from_file, prepare_exec_creds};
use super::file::{DenyWriteAccess, Path};
use super::namei::{MAY_EXEC, MAY_OPEN, getname_flags, inode_permission, path_lookup_resolved};
use super::open::AT_FDCWD;
use super::ramfs::InodeKind;
use super::stat::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use crate::arch::entry::calling::PtRegs;
use crate::cred::{Cred, commit_creds};
use crate::errno::Errno;
use crate::mm::filemap::AddressSpace;
use crate::mm::mm_types::{MmStruct, STACK_SIZE, STACK_TOP, VmAreaStruct, VmBacking, VmFlags};
use crate::mm::mm_types::{SUID_DUMP_USER, SUID_DUMPABLE};
use crate::task::{EXIT_DEAD, PF_FORKNOEXEC, TaskStruct, current};
use crate::tasklist::{TASKLIST_LOCK, for_each_thread, thread_group_empty};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Rewrites by `#!` before exec gives up (Linux: the depth limit in exec_binprm()).
const MAX_BINFMT_DEPTH: usize = 5;

/// What execve needs once the old program is gone (Linux: `struct linux_binprm`).
pub struct LinuxBinprm {
    /// The path as given (AT_EXECFN, the new comm).
    pub filename: Vec<u8>,
    /// The path of the file being loaded: a script's interpreter once
    /// `#!` has been read (Linux: interp).
    pub interp: Vec<u8>,
    /// The page cache of the file being loaded.
    pub file: Arc<AddressSpace>,
    /// The file being loaded, held against writers (Linux: bprm->file
    /// after deny_write_access()).
    pub exe: DenyWriteAccess,
    /// Arguments.
    pub argv: ArgStrings,
    /// Environment.
    pub envp: ArgStrings,
    /// Bytes of strings that still fit on the new stack (Linux: p - argmin).
    pub room: usize,
    /// The program was named through a close-on-exec descriptor, so a
    /// script's interpreter could not open it by its /dev/fd path
    /// (Linux: BINPRM_FLAGS_PATH_INACCESSIBLE).
    pub path_inaccessible: bool,
    /// The credentials the new program will run with, committed in
    /// begin_new_exec.
    pub cred: Cred,
    /// Personality flags to clear: a set-ID program must not inherit
    /// weakening ones (Linux: per_clear).
    pub per_clear: u32,
    /// The program gains privilege, so the dynamic linker and libc must
    /// distrust the environment (AT_SECURE).
    pub secureexec: bool,
}

/// execve(2) from user space.
///
/// Linux: SYSCALL_DEFINE3(execve) / do_execveat_common() in fs/exec.c
///
/// # Errors
/// `ENOENT`, `EACCES`, `ENOEXEC`, `EFAULT`, `E2BIG`, `ENOMEM`, `ELOOP`;
/// the caller keeps running on any of them.
pub fn do_execve(filename: u64, argv: u64, envp: u64, regs: &mut PtRegs) -> Result<(), Errno> {
    do_execveat_common(AT_FDCWD, filename, argv, envp, 0, regs)
}

/// execveat(2): the program is `filename` relative to `fd`, or with
/// AT_EMPTY_PATH and an empty name the file `fd` itself (fexecve()).
///
/// Linux: SYSCALL_DEFINE5(execveat) / do_execveat_common() in fs/exec.c
///
/// # Errors
/// `EINVAL` for an unknown flag; `ELOOP` for a final symlink under
/// AT_SYMLINK_NOFOLLOW; `EBADF`, `ENOTDIR`; as do_execve.
pub fn do_execveat_common(
    fd: i32,
    filename: u64,
    argv: u64,
    envp: u64,
    flags: u32,
    regs: &mut PtRegs,
) -> Result<(), Errno> {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = getname_flags(filename, flags & AT_EMPTY_PATH != 0)?;
    check_nproc_exceeded()?;
    let (file, exe) = open_exec_at(fd, &name, flags)?;
    let path_inaccessible = match fd == AT_FDCWD || name.starts_with(b"/") {
        true => false,
        false => {
            let files = current().files.lock().clone().ok_or(Errno::EBADF)?;
            files.cloexec(fd, None)?
        }
    };
    let filename = bprm_filename(fd, name)?;
    let argc = count(argv, MAX_ARG_STRINGS)?;
    let envc = count(envp, MAX_ARG_STRINGS)?;
    let mut room = bprm_stack_limits(argc, envc)?;
    // The path is copied to the stack too (AT_EXECFN).
    room = room.checked_sub(filename.len() + 1).ok_or(Errno::E2BIG)?;
    let mut bprm = LinuxBinprm {
        interp: filename.clone(),
        filename,
        file,
        exe,
        argv: ArgStrings::default(),
        envp: ArgStrings::default(),
        room,
        path_inaccessible,
        cred: prepare_exec_creds(),
        per_clear: 0,
        secureexec: false,
    };
    copy_strings(envc, envp, &mut bprm.envp, &mut bprm.room)?;
    copy_strings(argc, argv, &mut bprm.argv, &mut bprm.room)?;
    if bprm.argv.count == 0 {
        bprm.copy_string_kernel(b"")?;
    }
    bprm_execve(bprm, regs)
}

/// Fails with EAGAIN when a set*uid call left the caller's new real user
/// past RLIMIT_NPROC (flag_nproc_exceeded) and it still is; otherwise
/// forgets that it was.
///
/// Linux: the PF_NPROC_EXCEEDED check of do_execveat_common() in fs/exec.c
fn check_nproc_exceeded() -> Result<(), Errno> {
    use crate::task::PF_NPROC_EXCEEDED;
    let me = current();
    let limit = crate::resource::rlimit(crate::resource::RLIMIT_NPROC);
    if me.flags() & PF_NPROC_EXCEEDED != 0
        && crate::user::is_rlimit_overlimit(&crate::user::task_user(&me), limit)
    {
        return Err(Errno::EAGAIN);
    }
    me.flags.fetch_and(!PF_NPROC_EXCEEDED, Ordering::Relaxed);
    Ok(())
}

/// Starts a user program from a kernel thread (init).
///
/// Linux: kernel_execve() in fs/exec.c
///
/// # Errors
/// As do_execve.
pub fn kernel_execve(filename: &str, argv: Vec<String>, envp: Vec<String>) -> Result<(), Errno> {
    let (file, exe) = open_exec(filename.as_bytes())?;
    let bprm = LinuxBinprm {
        filename: filename.as_bytes().into(),
        interp: filename.as_bytes().into(),
        file,
        exe,
        argv: ArgStrings::from_kernel(&argv)?,
        envp: ArgStrings::from_kernel(&envp)?,
        room: ARG_MAX as usize,
        path_inaccessible: false,
        cred: prepare_exec_creds(),
        per_clear: 0,
        secureexec: false,
    };
    crate::arch::kernel::process_64::with_kernel_thread_pt_regs(|regs| bprm_execve(bprm, regs))
}

/// Finds the program behind `#!` lines, checks its headers, then replaces
/// the current program. Failures before begin_new_exec() return an errno;
/// after it (the point of no return) the process dies with SIGSEGV.
///
/// A traced task then stops at PTRACE_EVENT_EXEC, or gets SIGTRAP.
///
/// Linux: bprm_execve() -> exec_binprm() -> load_elf_binary(), then
/// exec_binprm()'s ptrace_event(PTRACE_EVENT_EXEC, old_vpid)
fn bprm_execve(mut bprm: LinuxBinprm, regs: &mut PtRegs) -> Result<(), Errno> {
    for depth in 0.. {
        if depth > MAX_BINFMT_DEPTH {
            return Err(Errno::ELOOP);
        }
        match super::binfmt_script::load_script(&mut bprm)? {
            Some(_) if bprm.path_inaccessible => return Err(Errno::ENOENT),
            Some(interp) => {
                (bprm.file, bprm.exe) = open_exec(&interp)?;
                bprm.interp = interp;
            }
            None => break,
        }
    }
    // The tracer's number for us before de_thread (PTRACE_GETEVENTMSG).
    let old_vpid = crate::ptrace::ptrace_event_pid_nr(&current());
    let started = exec_binprm(&mut bprm)?;
    // do_group_exit() does not return: nothing may be left to drop here.
    drop(bprm);
    match started {
        Ok((entry, sp)) => start_thread(regs, entry, sp),
        Err(_) => crate::exit::do_group_exit(crate::signal::SIGSEGV),
    }
    crate::ptrace::ptrace_event(crate::ptrace::PTRACE_EVENT_EXEC, old_vpid, regs);
    Ok(())
}

/// Checks the ELF headers, replaces the old program and loads the new
/// one. The outer error comes before the point of no return and goes back
/// to the caller; the inner one after it, when the process can only die.
/// Returns the entry point and stack pointer.
///
/// Linux: exec_binprm() in fs/exec.c
fn exec_binprm(bprm: &mut LinuxBinprm) -> Result<Result<(u64, u64), Errno>, Errno> {
    let elf = parse(&bprm.file)?;
    // The dynamic linker is opened and checked before the point of no
    // return, and held against writers until the program runs.
    let interp = match &elf.interp {
        Some(path) => {
            let (file, exe) = open_exec(path)?;
            Some((parse(&file)?, file, exe))
        }
        None => None,
    };
    // Its page table page comes from the OOM killer when memory is full,
    // as Linux's GFP_KERNEL pgd_alloc() in mm_alloc() does: an exec under
    // memory pressure does not fail with ENOMEM (make stress PRESSURE=1).
    let mm = crate::mm::oom_kill::retry_after_oom(MmStruct::new)?;
    // Linux computes them first thing in begin_new_exec, still before the
    // point of no return.
    bprm_creds_from_file(bprm)?;
    de_thread(&current())?;
    *mm.exe_file.lock() = Some(bprm.exe.clone());
    Ok(begin_new_exec(bprm, mm.clone())
        .and_then(|()| setup_stack_vma(&mm))
        .and_then(|()| {
            let interp = interp.as_ref().map(|(elf, file, _)| (elf, file));
            load_elf_binary(&elf, &bprm.file, interp, &mm)
        })
        .inspect(|_| {
            mm.vma_set_file(&bprm.file, bprm.exe.f_path());
            if let Some((_, file, exe)) = &interp {
                mm.vma_set_file(file, exe.f_path());
            }
        })
        .and_then(|info| Ok((info.start, create_elf_tables(bprm, &info, &mm)?))))
}

/// The name the new program sees as its path (AT_EXECFN, and a
/// script's argument): the name itself, or for a name relative to a
/// descriptor `/dev/fd/N/name` (`/dev/fd/N` for AT_EMPTY_PATH).
///
/// Linux: alloc_bprm() in fs/exec.c
fn bprm_filename(fd: i32, name: Vec<u8>) -> Result<Vec<u8>, Errno> {
    if fd == AT_FDCWD || name.starts_with(b"/") {
        return Ok(name);
    }
    let mut path = Vec::new();
    path.try_reserve_exact(name.len() + 20)
        .map_err(|_| Errno::ENOMEM)?;
    path.extend_from_slice(alloc::format!("/dev/fd/{fd}").as_bytes());
    if !name.is_empty() {
        path.push(b'/');
        path.extend_from_slice(&name);
    }
    Ok(path)
}

/// Finds an executable regular file relative to the working directory
/// (a `#!` interpreter, init).
///
/// Linux: open_exec() in fs/exec.c
fn open_exec(filename: &[u8]) -> Result<(Arc<AddressSpace>, DenyWriteAccess), Errno> {
    // An empty name (from a `#!` line) is the starting directory, as in
    // Linux's lookup.
    let filename: &[u8] = if filename.is_empty() { b"." } else { filename };
    open_exec_at(AT_FDCWD, filename, 0)
}

/// Finds an executable regular file, holds it against writers and returns
/// its page cache.
///
/// Linux: do_open_execat() in fs/exec.c
///
/// # Errors
/// `EACCES` for anything but a regular file the caller may execute
/// (root too needs an x bit on it); `ELOOP` for a
/// symlink under AT_SYMLINK_NOFOLLOW; `ETXTBSY` for a file open for
/// writing; as path_lookup.
fn open_exec_at(
    fd: i32,
    name: &[u8],
    flags: u32,
) -> Result<(Arc<AddressSpace>, DenyWriteAccess), Errno> {
    let path = match name.is_empty() {
        true => match &super::read_write::fdget(fd)?.f_path {
            Some(path) => path.try_share()?,
            None => return Err(Errno::EBADF),
        },
        false => {
            let cwd = super::open::dirfd_path(fd, name)?;
            // The file's own name (links resolved) for exe_file: a
            // program run by /proc/self/exe gets the real path there.
            let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
            let (inode, name) = path_lookup_resolved(&cwd, name, follow)?;
            Arc::try_new(Path { name, inode }).map_err(|_| Errno::ENOMEM)?
        }
    };
    let inode = path.inode.clone();
    if inode.is_symlink() {
        return Err(Errno::ELOOP);
    }
    if !inode.is_reg() {
        return Err(Errno::EACCES);
    }
    inode_permission(&inode, MAY_EXEC | MAY_OPEN)?;
    let exe = DenyWriteAccess::get(path)?;
    let (InodeKind::File(mapping) | InodeKind::MemFile(mapping)) = &inode.kind else {
        return Err(Errno::EACCES);
    };
    Ok((mapping.clone(), exe))
}

fn setup_stack_vma(mm: &MmStruct) -> Result<(), Errno> {
    let mut st = mm.mmap.lock();
    st.insert_vma(VmAreaStruct {
        vm_start: STACK_TOP - STACK_SIZE,
        vm_end: STACK_TOP,
        vm_flags: VmFlags::VM_READ
            | VmFlags::VM_WRITE
            | VmFlags::VM_MAYWRITE
            | VmFlags::VM_GROWSDOWN,
        backing: VmBacking::Anon,
    })?;
    st.start_stack = STACK_TOP;
    Ok(())
}

/// Kills the other threads of the process, waits for them to go, and if
/// the caller is not the leader, makes it the leader with the process's pid.
///
/// Linux: de_thread() in fs/exec.c
///
/// # Errors
/// `EAGAIN` when the process is already exiting as a group.
fn de_thread(tsk: &Arc<crate::task::TaskStruct>) -> Result<(), Errno> {
    if thread_group_empty(tsk, &TASKLIST_LOCK.lock()) {
        return Ok(());
    }
    let sig = tsk.signal();
    if sig.group_exit.load(Ordering::Acquire) {
        return Err(Errno::EAGAIN);
    }
    sig.group_exec.store(true, Ordering::Release);
    crate::signal::zap_other_threads(tsk);
    // Wait until only an exited leader (if it is not us) is left; each
    // thread's exit and release wakes us. Killed ourselves meanwhile, we
    // leave the others to die and fail.
    let gone = sig.group_exec_wait.wait_event_killable(|| {
        for_each_thread(tsk, &TASKLIST_LOCK.lock())
            .all(|t| Arc::ptr_eq(t, tsk) || (t.exit_state() != 0 && t.pid() == t.tgid()))
    });
    if gone.is_err() {
        sig.group_exec.store(false, Ordering::Release);
        return Err(Errno::EAGAIN);
    }
    if tsk.pid() != tsk.tgid() {
        exchange_leader(tsk);
    }
    sig.group_exec.store(false, Ordering::Release);
    Ok(())
}

/// Wakes the thread in execve waiting in de_thread() for the other threads
/// of `tsk`'s process to exit and be released.
///
/// Linux: the wake_up_process(sig->group_exec_task) calls in
/// exit_notify() and __exit_signal() in kernel/exit.c
pub fn wake_group_exec_task(tsk: &TaskStruct) {
    if let Some(sig) = tsk.signal.get()
        && sig.group_exec.load(Ordering::Acquire)
    {
        sig.group_exec_wait.wake_up();
    }
}

/// Makes the exec'ing thread `tsk` the group leader once the old leader is
/// a zombie: it takes the leader's pid (so the process keeps its pid across
/// exec) and place among its parent's children, with SIGCHLD as its exit
/// signal, and the old leader is released.
///
/// Linux: the `!thread_group_leader(tsk)` part of de_thread() in fs/exec.c
fn exchange_leader(tsk: &Arc<TaskStruct>) {
    let mut tasklist = TASKLIST_LOCK.lock();
    let Some(leader) = tsk.family.get(&tasklist).group_leader.upgrade() else {
        return;
    };
    let (leader_pid, my_pid) = (leader.pid(), tsk.pid());
    tsk.set_pid(leader_pid);
    leader.set_pid(my_pid);
    let leader_nr = leader.thread_pid.lock().take();
    let my_nr = core::mem::replace(&mut *tsk.thread_pid.lock(), leader_nr);
    *leader.thread_pid.lock() = my_nr;
    // A process the exec'ing thread now leads tells its parent with
    // SIGCHLD, whatever signal its clone asked for; the old leader, a
    // thread now, tells no one.
    tsk.exit_signal
        .store(crate::signal::SIGCHLD, Ordering::Relaxed);
    leader.exit_signal.store(-1, Ordering::Relaxed);
    let parent = leader.family.get(&tasklist).real_parent.clone();
    if let Some(p) = parent.upgrade() {
        for child in p.family.get_mut(&mut tasklist).children.iter_mut() {
            if Arc::ptr_eq(child, &leader) {
                *child = tsk.clone();
            }
        }
    }
    // We lead the group now (Linux: tsk->group_leader = tsk), and the
    // old leader, until released, points at us.
    leader.family.get_mut(&mut tasklist).group_leader = Arc::downgrade(tsk);
    let family = tsk.family.get_mut(&mut tasklist);
    family.real_parent = parent.clone();
    family.parent = parent;
    family.group_leader = alloc::sync::Weak::new();
    leader.exit_state.store(EXIT_DEAD, Ordering::Release);
    drop(tasklist);
    crate::exit::release_task(&leader);
}

/// Installs the new mm and throws away what must not survive exec:
/// close-on-exec files, caught signal handlers, the old name and TLS;
/// then the new credentials.
///
/// Linux: begin_new_exec() / exec_mmap() / setup_new_exec() in fs/exec.c
///
/// # Errors
/// `ENOMEM` when the credentials cannot be committed; past the point of
/// no return, the process then dies.
fn begin_new_exec(bprm: &LinuxBinprm, mm: Arc<MmStruct>) -> Result<(), Errno> {
    let tsk = current();
    crate::exit::mm_release(&tsk);
    let old = tsk.mm.replace(Some(mm.clone()));
    crate::mm::memory::switch_mm(Some(&mm));
    if let Some(old) = old {
        crate::rusage::setmax_mm_hiwater_rss(&tsk, &old);
        crate::fork::mmput(old);
    }
    crate::time::posix_timers::exit_itimers(tsk.signal());
    crate::fork::unshare_files()?;
    if let Some(files) = tsk.files.lock().clone() {
        files.do_close_on_exec();
    }
    crate::fork::unshare_sighand()?;
    crate::signal::flush_signal_handlers(&tsk, false);
    // No alternate signal stack in the new program; SS_AUTODISARM stays.
    tsk.sas_ss_sp.store(0, Ordering::Relaxed);
    tsk.sas_ss_size.store(0, Ordering::Relaxed);
    tsk.flags.fetch_and(!PF_FORKNOEXEC, Ordering::Relaxed);
    // Linux: per_clear here, and READ_IMPLIES_EXEC in load_elf_binary's
    // SET_PERSONALITY (set_personality_64bit()).
    let clear = bprm.per_clear | crate::exec_domain::READ_IMPLIES_EXEC;
    tsk.personality.fetch_and(!clear, Ordering::Relaxed);
    if bprm.secureexec {
        // The parent must not be able to signal a privileged program.
        tsk.pdeath_signal.store(0, Ordering::Relaxed);
        // Linux: a privileged program starts with a sane stack limit.
        let mut rlim = tsk.signal().rlim.lock();
        let stack = &mut rlim.0[crate::resource::RLIMIT_STACK].rlim_cur;
        *stack = (*stack).min(STACK_SIZE);
    }
    let base = bprm.filename.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    tsk.set_comm(base);
    crate::trace::trace(crate::trace::TraceEvent::Exec { pid: tsk.pid() });
    // The saved copies and the registers change together: a context
    // switch in between would save the old program's registers over the
    // fresh copies (its FPU state would reach the new program).
    crate::arch::without_interrupts(|| {
        tsk.thread.fsbase.store(0, Ordering::Relaxed);
        x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::zero());
        tsk.thread.gsbase.store(0, Ordering::Relaxed);
        x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::zero());
        tsk.thread.fpu.set(Default::default());
        tsk.thread.fpu.restore();
    });
    commit_creds(bprm.cred.clone())?;
    // Linux: "Figure out dumpability": only a program running as whoever
    // started it may be dumped and read through /proc by that user.
    let cred = &bprm.cred;
    mm.set_dumpable(match cred.euid == cred.uid && cred.egid == cred.gid {
        true => SUID_DUMP_USER,
        false => SUID_DUMPABLE,
    });
    Ok(())
}

/// Sets the registers so that the return to user space enters the program.
///
/// Linux: start_thread() in arch/x86/kernel/process_64.c
fn start_thread(regs: &mut PtRegs, entry: u64, sp: u64) {
    let sel = crate::arch::gdt::selectors();
    *regs = PtRegs {
        rip: entry,
        rsp: sp,
        cs: u64::from(sel.user_code.0),
        ss: u64::from(sel.user_data.0),
        rflags: 0x202,
        vector: regs.vector,
        ..PtRegs::default()
    };
}
