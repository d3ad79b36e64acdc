//! execve: replace the current program with a new one. The pid, parent,
//! children and open files (minus close-on-exec) stay; the address space,
//! signal handlers and registers are new.
//!
//! Linux: fs/exec.c (do_execveat_common, bprm_execve, begin_new_exec,
//! exec_mmap, setup_new_exec), fs/binfmt_elf.c (create_elf_tables)

use super::binfmt_elf::{create_elf_tables, load_elf_binary, parse};
use super::file::FileOperations;
use super::namei::path_lookup;
use super::ramfs::{Inode, InodeKind, RamFile};
use crate::arch::entry::calling::PtRegs;
use crate::errno::Errno;
use crate::mm::PAGE_SIZE;
use crate::mm::mm_types::{
    FileBytes, MmStruct, STACK_SIZE, STACK_TOP, VmAreaStruct, VmBacking, VmFlags,
};
use crate::mm::uaccess::{copy_from_user, get_user};
use crate::signal::{SIG_DFL, SIG_IGN, fatal_signal_pending};
use crate::task::{PF_FORKNOEXEC, current};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Longest argument or environment string, NUL included (Linux: MAX_ARG_STRLEN).
const MAX_ARG_STRLEN: usize = 32 * PAGE_SIZE;
/// Most arguments, and most environment strings (Linux: MAX_ARG_STRINGS).
const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
/// Room for strings even under a small stack limit (Linux: ARG_MAX).
const ARG_MAX: u64 = 32 * PAGE_SIZE as u64;
/// The default stack limit, which caps the room for strings (Linux: _STK_LIM).
const STK_LIM: u64 = 8 << 20;
/// Longest path, NUL included (Linux: PATH_MAX).
const PATH_MAX: usize = 4096;
/// Rewrites by `#!` before exec gives up (Linux: the depth limit in exec_binprm()).
const MAX_BINFMT_DEPTH: usize = 5;

/// NUL-terminated strings one after another, as they will lie on the new
/// stack. Arguments are bytes: nothing requires them to be UTF-8.
#[derive(Default)]
pub struct ArgStrings {
    /// The strings, each followed by its NUL.
    pub bytes: Vec<u8>,
    /// How many strings.
    pub count: usize,
}

impl ArgStrings {
    /// Each string, without its NUL.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes
            .split_inclusive(|&b| b == 0)
            .map(|s| &s[..s.len() - 1])
    }

    /// Kernel strings (init's arguments), which need no accounting.
    fn from_kernel(strings: &[String]) -> Result<ArgStrings, Errno> {
        let mut out = ArgStrings::default();
        for s in strings {
            out.push(s.as_bytes())?;
        }
        Ok(out)
    }

    fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        let len = s.len().checked_add(1).ok_or(Errno::E2BIG)?;
        self.bytes.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        self.count += 1;
        Ok(())
    }
}

/// What execve needs once the old program is gone (Linux: `struct linux_binprm`).
pub struct LinuxBinprm {
    /// The path as given (AT_EXECFN, the new comm).
    pub filename: Vec<u8>,
    /// The path of the file being loaded: a script's interpreter once
    /// `#!` has been read (Linux: interp).
    pub interp: Vec<u8>,
    /// The contents of the file being loaded.
    pub file: FileBytes,
    /// Arguments.
    pub argv: ArgStrings,
    /// Environment.
    pub envp: ArgStrings,
    /// Bytes of strings that still fit on the new stack (Linux: p - argmin).
    pub room: usize,
}

impl LinuxBinprm {
    /// Charges `s` and its NUL to the stack room and adds it as the first
    /// argument.
    ///
    /// Linux: copy_string_kernel() in fs/exec.c
    ///
    /// # Errors
    /// `E2BIG` when it does not fit, `ENOMEM`.
    pub fn copy_string_kernel(&mut self, s: &[u8]) -> Result<(), Errno> {
        let len = s.len().checked_add(1).ok_or(Errno::E2BIG)?;
        if len > MAX_ARG_STRLEN || len > self.room {
            return Err(Errno::E2BIG);
        }
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len + self.argv.bytes.len())
            .map_err(|_| Errno::ENOMEM)?;
        bytes.extend_from_slice(s);
        bytes.push(0);
        bytes.extend_from_slice(&self.argv.bytes);
        self.argv.bytes = bytes;
        self.argv.count += 1;
        self.room -= len;
        Ok(())
    }

    /// Drops the first argument and gives its room back.
    ///
    /// Linux: remove_arg_zero() in fs/exec.c
    pub fn remove_arg_zero(&mut self) {
        let Some(len) = self.argv.iter().next().map(|s| s.len() + 1) else {
            return;
        };
        self.argv.bytes.drain(..len);
        self.argv.count -= 1;
        self.room += len;
    }
}

/// Counts the pointers of a NULL-terminated user array.
///
/// Linux: count() in fs/exec.c
///
/// # Errors
/// `EFAULT` for a bad pointer, `E2BIG` past `max`, `EINTR` on SIGKILL.
fn count(array: u64, max: usize) -> Result<usize, Errno> {
    if array == 0 {
        return Ok(0);
    }
    let me = current();
    let mut i = 0;
    loop {
        if get_arg_ptr(array, i)? == 0 {
            return Ok(i);
        }
        if i >= max {
            return Err(Errno::E2BIG);
        }
        i += 1;
        if fatal_signal_pending(&me) {
            return Err(Errno::EINTR);
        }
    }
}

/// The `i`th pointer of a user array.
///
/// Linux: get_user_arg_ptr() in fs/exec.c
fn get_arg_ptr(array: u64, i: usize) -> Result<u64, Errno> {
    let at = (i as u64)
        .checked_mul(8)
        .and_then(|off| array.checked_add(off))
        .ok_or(Errno::EFAULT)?;
    get_user(at)
}

/// How many bytes of strings the new stack may take: a quarter of
/// RLIMIT_STACK, at most three quarters of the default limit, at least
/// ARG_MAX, less the pointers to them.
///
/// Linux: bprm_stack_limits() in fs/exec.c
///
/// # Errors
/// `E2BIG` when the pointers alone use up the room.
fn bprm_stack_limits(argc: usize, envc: usize) -> Result<usize, Errno> {
    let rlim_stack = current().signal().rlim.lock().0[crate::resource::RLIMIT_STACK].rlim_cur;
    let limit = (STK_LIM / 4 * 3).min(rlim_stack / 4).max(ARG_MAX) as usize;
    // With no arguments an empty argv[0] is added, so count one.
    let ptr_size = argc
        .max(1)
        .checked_add(envc)
        .and_then(|n| n.checked_mul(core::mem::size_of::<u64>()))
        .ok_or(Errno::E2BIG)?;
    limit
        .checked_sub(ptr_size)
        .filter(|&room| room > 0)
        .ok_or(Errno::E2BIG)
}

/// Copies one NUL-terminated user string onto the end of `out`, at most
/// `max` bytes with its NUL.
///
/// # Errors
/// `EFAULT` for a bad address, `E2BIG` with no NUL within `max` bytes.
fn copy_string_from_user(addr: u64, max: usize, out: &mut Vec<u8>) -> Result<usize, Errno> {
    let mut len = 0;
    let mut chunk = [0u8; 256];
    while len < max {
        let at = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let n = chunk
            .len()
            .min(max - len)
            .min(PAGE_SIZE - (at % PAGE_SIZE as u64) as usize);
        copy_from_user(&mut chunk[..n], at)?;
        let (part, done) = match chunk[..n].iter().position(|&b| b == 0) {
            Some(nul) => (&chunk[..=nul], true),
            None => (&chunk[..n], false),
        };
        out.try_reserve(part.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend_from_slice(part);
        len += part.len();
        if done {
            return Ok(len);
        }
    }
    Err(Errno::E2BIG)
}

/// Copies `count` user strings of `array` into `out`, each charged with
/// its bytes against `room`.
///
/// Linux: copy_strings() in fs/exec.c
///
/// # Errors
/// `EFAULT` for bad pointers, `E2BIG` past the limits, `ENOMEM`, `EINTR`
/// on SIGKILL.
fn copy_strings(
    count: usize,
    array: u64,
    out: &mut ArgStrings,
    room: &mut usize,
) -> Result<(), Errno> {
    let me = current();
    for i in 0..count {
        if fatal_signal_pending(&me) {
            return Err(Errno::EINTR);
        }
        let ptr = get_arg_ptr(array, i)?;
        let len = copy_string_from_user(ptr, MAX_ARG_STRLEN.min(*room), &mut out.bytes)?;
        *room -= len;
        out.count += 1;
    }
    Ok(())
}

/// The path argument of execve, as bytes.
///
/// Linux: getname() in fs/namei.c
fn getname(filename: u64) -> Result<Vec<u8>, Errno> {
    let mut name = Vec::new();
    copy_string_from_user(filename, PATH_MAX, &mut name).map_err(|e| match e {
        Errno::E2BIG => Errno::ENAMETOOLONG,
        e => e,
    })?;
    name.pop();
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(name)
}

/// execve(2) from user space.
///
/// Linux: SYSCALL_DEFINE3(execve) / do_execveat_common() in fs/exec.c
///
/// # Errors
/// `ENOENT`, `EACCES`, `ENOEXEC`, `EFAULT`, `E2BIG`, `ENOMEM`, `ELOOP`;
/// the caller keeps running on any of them.
pub fn do_execve(filename: u64, argv: u64, envp: u64, regs: &mut PtRegs) -> Result<(), Errno> {
    let filename = getname(filename)?;
    let file = open_exec(&filename)?;
    let argc = count(argv, MAX_ARG_STRINGS)?;
    let envc = count(envp, MAX_ARG_STRINGS)?;
    let mut room = bprm_stack_limits(argc, envc)?;
    // The path is copied to the stack too (AT_EXECFN).
    room = room.checked_sub(filename.len() + 1).ok_or(Errno::E2BIG)?;
    let mut bprm = LinuxBinprm {
        interp: filename.clone(),
        filename,
        file,
        argv: ArgStrings::default(),
        envp: ArgStrings::default(),
        room,
    };
    copy_strings(envc, envp, &mut bprm.envp, &mut bprm.room)?;
    copy_strings(argc, argv, &mut bprm.argv, &mut bprm.room)?;
    if bprm.argv.count == 0 {
        bprm.copy_string_kernel(b"")?;
    }
    bprm_execve(bprm, regs)
}

/// Starts a user program from a kernel thread (init).
///
/// Linux: kernel_execve() in fs/exec.c
///
/// # Errors
/// As do_execve.
pub fn kernel_execve(filename: &str, argv: Vec<String>, envp: Vec<String>) -> Result<(), Errno> {
    let bprm = LinuxBinprm {
        filename: filename.as_bytes().into(),
        interp: filename.as_bytes().into(),
        file: open_exec(filename.as_bytes())?,
        argv: ArgStrings::from_kernel(&argv)?,
        envp: ArgStrings::from_kernel(&envp)?,
        room: ARG_MAX as usize,
    };
    crate::arch::kernel::process_64::with_current_pt_regs(|regs| bprm_execve(bprm, regs))
}

/// Finds the program behind `#!` lines, checks its headers, then replaces
/// the current program. Failures before begin_new_exec() return an errno;
/// after it (the point of no return) the process dies with SIGSEGV.
///
/// Linux: bprm_execve() -> exec_binprm() -> load_elf_binary()
fn bprm_execve(mut bprm: LinuxBinprm, regs: &mut PtRegs) -> Result<(), Errno> {
    for depth in 0.. {
        if depth > MAX_BINFMT_DEPTH {
            return Err(Errno::ELOOP);
        }
        match super::binfmt_script::load_script(&mut bprm)? {
            Some(interp) => {
                bprm.file = open_exec(&interp)?;
                bprm.interp = interp;
            }
            None => break,
        }
    }
    let started = exec_binprm(&bprm)?;
    // do_group_exit() does not return: nothing may be left to drop here.
    drop(bprm);
    match started {
        Ok((entry, sp)) => start_thread(regs, entry, sp),
        Err(_) => crate::exit::do_group_exit(crate::signal::SIGSEGV),
    }
    Ok(())
}

/// Checks the ELF headers, replaces the old program and loads the new
/// one. The outer error comes before the point of no return and goes back
/// to the caller; the inner one after it, when the process can only die.
/// Returns the entry point and stack pointer.
///
/// Linux: exec_binprm() in fs/exec.c
fn exec_binprm(bprm: &LinuxBinprm) -> Result<Result<(u64, u64), Errno>, Errno> {
    let elf = parse(&bprm.file)?;
    if let Some(interp) = elf.interp {
        // Differs: Linux loads the dynamic linker; we have none to run.
        open_exec(interp)?;
        return Err(Errno::ENOEXEC);
    }
    let mm = MmStruct::new()?;
    {
        let mut cmdline = mm.cmdline.lock();
        cmdline
            .try_reserve_exact(bprm.argv.bytes.len())
            .map_err(|_| Errno::ENOMEM)?;
        cmdline.extend_from_slice(&bprm.argv.bytes);
    }
    de_thread(&current())?;
    begin_new_exec(bprm, mm.clone());
    Ok(setup_stack_vma(&mm)
        .and_then(|()| load_elf_binary(&elf, &bprm.file, &mm))
        .and_then(|info| Ok((info.entry, create_elf_tables(bprm, &info)?))))
}

/// Finds an executable regular file and returns its bytes.
///
/// Linux: open_exec() in fs/exec.c
fn open_exec(filename: &[u8]) -> Result<FileBytes, Errno> {
    let cwd = current()
        .fs
        .lock()
        .as_ref()
        .map(|fs| fs.pwd.lock().clone())
        .unwrap_or_else(|| "/".into());
    // An empty name (from a `#!` line) is the starting directory, as in
    // Linux's lookup.
    let filename: &[u8] = if filename.is_empty() { b"." } else { filename };
    let inode = path_lookup(&cwd, filename, true)?;
    if !matches!(inode.kind, InodeKind::File(_) | InodeKind::MemFile(_)) || inode.mode & 0o111 == 0
    {
        return Err(Errno::EACCES);
    }
    match &inode.kind {
        InodeKind::File(data) => Ok(FileBytes::Static(data)),
        _ => snapshot(&inode),
    }
}

/// A copy of a file written at run time, for mapping.
fn snapshot(inode: &Arc<Inode>) -> Result<FileBytes, Errno> {
    let size = usize::try_from(inode.kstat().size).map_err(|_| Errno::ENOMEM)?;
    let mut data = Vec::new();
    data.try_reserve_exact(size).map_err(|_| Errno::ENOMEM)?;
    data.resize(size, 0);
    let file = RamFile(inode.clone());
    let mut done = 0;
    while done < size {
        match file.read(&mut data[done..], done as u64, 0)? {
            0 => break,
            n => done += n,
        }
    }
    data.truncate(done);
    Ok(FileBytes::Copy(
        Arc::try_new(data).map_err(|_| Errno::ENOMEM)?,
    ))
}

fn setup_stack_vma(mm: &MmStruct) -> Result<(), Errno> {
    let mut st = mm.mmap.lock();
    st.insert_vma(VmAreaStruct {
        vm_start: STACK_TOP - STACK_SIZE,
        vm_end: STACK_TOP,
        vm_flags: VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_GROWSDOWN,
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
    let others = || {
        let mut group = crate::fork::thread_group(tsk.tgid());
        group.retain(|t| !Arc::ptr_eq(t, tsk));
        group
    };
    if others().is_empty() {
        return Ok(());
    }
    let sig = tsk.signal();
    if sig.group_exit.load(Ordering::Acquire) {
        return Err(Errno::EAGAIN);
    }
    sig.group_exec.store(true, Ordering::Release);
    for t in others() {
        crate::signal::send_sig_info(crate::signal::SIGKILL, Default::default(), &t);
    }
    // Wait until only an exited leader (if it is not us) is left.
    while others()
        .iter()
        .any(|t| t.exit_state() == 0 || t.pid() != t.tgid())
    {
        crate::time::wake_at_next_tick();
        crate::sched::core::schedule();
        crate::time::finish_tick_wait();
    }
    if tsk.pid() != tsk.tgid() {
        crate::exit::exchange_leader(tsk);
    }
    sig.group_exec.store(false, Ordering::Release);
    Ok(())
}

/// Installs the new mm and throws away what must not survive exec:
/// close-on-exec files, caught signal handlers, the old name and TLS.
///
/// Linux: begin_new_exec() / exec_mmap() / setup_new_exec() in fs/exec.c
fn begin_new_exec(bprm: &LinuxBinprm, mm: Arc<MmStruct>) {
    let tsk = current();
    crate::exit::mm_release(&tsk);
    let old = tsk.mm.lock().replace(mm.clone());
    crate::mm::memory::switch_mm(Some(&mm));
    drop(old);
    if let Some(files) = tsk.files.lock().clone() {
        files.do_close_on_exec();
    }
    if let Some(sh) = tsk.sighand.lock().as_ref() {
        for action in sh.action.lock().iter_mut() {
            if action.handler != SIG_IGN {
                *action = crate::signal::KSigaction {
                    handler: SIG_DFL,
                    ..Default::default()
                };
            }
        }
    }
    tsk.flags.fetch_and(!PF_FORKNOEXEC, Ordering::Relaxed);
    let base = bprm.filename.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    tsk.set_comm(&String::from_utf8_lossy(&base[..base.len().min(15)]));
    crate::trace::trace(crate::trace::TraceEvent::Exec { pid: tsk.pid() });
    tsk.thread.fsbase.store(0, Ordering::Relaxed);
    tsk.thread.fpu.set(Default::default());
    tsk.thread.fpu.restore();
    x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::zero());
    tsk.thread.gsbase.store(0, Ordering::Relaxed);
    x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::zero());
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
