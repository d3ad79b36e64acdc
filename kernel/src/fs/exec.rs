//! execve: replace the current program with a new one. The pid, parent,
//! children and open files (minus close-on-exec) stay; the address space,
//! signal handlers and registers are new.
//!
//! Linux: fs/exec.c (do_execveat_common, bprm_execve, begin_new_exec,
//! exec_mmap, setup_new_exec), fs/binfmt_elf.c (create_elf_tables)

use super::binfmt_elf::{load_elf_binary, parse};
use super::namei::path_lookup;
use super::ramfs::InodeKind;
use crate::arch::entry::calling::PtRegs;
use crate::errno::Errno;
use crate::mm::mm_types::{MmStruct, STACK_SIZE, STACK_TOP, VmAreaStruct, VmBacking, VmFlags};
use crate::mm::uaccess::{copy_to_user, get_user, put_user, strncpy_from_user};
use crate::signal::{SIG_DFL, SIG_IGN};
use crate::task::{PF_FORKNOEXEC, current};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

/// Largest argv + envp (Linux: MAX_ARG_STRLEN per string; ARG_MAX total).
const MAX_ARG_STRLEN: usize = 131072;
const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
const ARG_MAX: usize = 2 << 20;

/// What execve needs once the old program is gone (Linux: `struct linux_binprm`).
pub struct LinuxBinprm {
    /// The path as given (AT_EXECFN).
    pub filename: String,
    /// Arguments.
    pub argv: Vec<String>,
    /// Environment.
    pub envp: Vec<String>,
}

/// Reads a NULL-terminated array of user string pointers.
///
/// Linux: copy_strings() / count() in fs/exec.c
///
/// # Errors
/// `EFAULT` for bad pointers, `E2BIG` past the limits.
pub fn copy_strings(array: u64) -> Result<Vec<String>, Errno> {
    let mut out = Vec::new();
    if array == 0 {
        return Ok(out);
    }
    let mut total = 0;
    for i in 0..MAX_ARG_STRINGS {
        let ptr: u64 = get_user(array + 8 * i as u64)?;
        if ptr == 0 {
            break;
        }
        let s = strncpy_from_user(ptr, MAX_ARG_STRLEN).map_err(|e| {
            if e == Errno::ENAMETOOLONG {
                Errno::E2BIG
            } else {
                e
            }
        })?;
        total += s.len() + 1;
        if total > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}

/// execve(2) from user space.
///
/// Linux: SYSCALL_DEFINE3(execve) / do_execveat_common() in fs/exec.c
///
/// # Errors
/// `ENOENT`, `EACCES`, `ENOEXEC`, `EFAULT`, `E2BIG`, `ENOMEM`; the caller
/// keeps running on any of them.
pub fn do_execve(filename: u64, argv: u64, envp: u64, regs: &mut PtRegs) -> Result<(), Errno> {
    let filename = strncpy_from_user(filename, 4096)?;
    let bprm = LinuxBinprm {
        filename,
        argv: copy_strings(argv)?,
        envp: copy_strings(envp)?,
    };
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
        filename: filename.into(),
        argv,
        envp,
    };
    crate::arch::kernel::process_64::with_current_pt_regs(|regs| bprm_execve(bprm, regs))
}

/// Finds and checks the executable, then replaces the current program.
///
/// Linux: bprm_execve() -> exec_binprm() -> load_elf_binary()
fn bprm_execve(mut bprm: LinuxBinprm, regs: &mut PtRegs) -> Result<(), Errno> {
    let mut data = open_exec(&bprm.filename)?;
    if let Some((interp, arg)) = super::binfmt_script::parse_shebang(data)? {
        bprm.argv = super::binfmt_script::script_argv(&interp, arg, &bprm.filename, &bprm.argv);
        data = open_exec(&interp)?;
    }
    let elf = parse(data)?;
    let mm = MmStruct::new()?;
    let info = load_elf_binary(&elf, data, &mm)?;
    setup_stack_vma(&mm, info.brk)?;
    *mm.cmdline.lock() = bprm
        .argv
        .iter()
        .flat_map(|a| a.chars().chain(core::iter::once('\0')))
        .collect();
    de_thread(&current())?;
    // Point of no return: the old program is gone after this.
    begin_new_exec(&bprm, mm);
    let sp = match create_elf_tables(&bprm, &info) {
        Ok(sp) => sp,
        Err(_) => crate::exit::do_group_exit(crate::signal::SIGSEGV),
    };
    start_thread(regs, info.entry, sp);
    Ok(())
}

/// Finds an executable regular file and returns its bytes.
///
/// Linux: open_exec() in fs/exec.c
fn open_exec(filename: &str) -> Result<&'static [u8], Errno> {
    let cwd = current()
        .fs
        .lock()
        .as_ref()
        .map(|fs| fs.pwd.lock().clone())
        .unwrap_or_else(|| "/".into());
    let inode = path_lookup(&cwd, filename, true)?;
    let data = match &inode.kind {
        InodeKind::File(data) => *data,
        _ => return Err(Errno::EACCES),
    };
    if inode.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(data)
}

fn setup_stack_vma(mm: &MmStruct, brk: u64) -> Result<(), Errno> {
    let mut st = mm.mmap.lock();
    st.insert_vma(VmAreaStruct {
        vm_start: STACK_TOP - STACK_SIZE,
        vm_end: STACK_TOP,
        vm_flags: VmFlags::VM_READ | VmFlags::VM_WRITE | VmFlags::VM_GROWSDOWN,
        backing: VmBacking::Anon,
    })?;
    st.start_brk = brk;
    st.brk = brk;
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
    let base = bprm.filename.rsplit('/').next().unwrap_or(&bprm.filename);
    tsk.set_comm(base);
    crate::trace::trace(crate::trace::TraceEvent::Exec { pid: tsk.pid() });
    tsk.thread.fsbase.store(0, Ordering::Relaxed);
    tsk.thread.fpu.set(Default::default());
    tsk.thread.fpu.restore();
    x86_64::registers::model_specific::FsBase::write(x86_64::VirtAddr::zero());
    tsk.thread.gsbase.store(0, Ordering::Relaxed);
    x86_64::registers::model_specific::KernelGsBase::write(x86_64::VirtAddr::zero());
}

/// Auxiliary vector keys (Linux: include/uapi/linux/auxvec.h).
mod at {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_EXECFN: u64 = 31;
}

/// Pushes bytes below `sp`; returns their address.
fn push_bytes(sp: &mut u64, bytes: &[u8]) -> Result<u64, Errno> {
    *sp -= bytes.len() as u64;
    copy_to_user(*sp, bytes)?;
    Ok(*sp)
}

fn push_str(sp: &mut u64, s: &str) -> Result<u64, Errno> {
    push_bytes(sp, &[0])?;
    push_bytes(sp, s.as_bytes())
}

/// Lays out the new program's stack as Linux does: strings at the top, then
/// (16-byte aligned) argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL.
///
/// Linux: create_elf_tables() in fs/binfmt_elf.c
fn create_elf_tables(bprm: &LinuxBinprm, info: &super::binfmt_elf::ElfInfo) -> Result<u64, Errno> {
    let mut sp = STACK_TOP;
    let execfn = push_str(&mut sp, &bprm.filename)?;
    let envp: Vec<u64> = bprm
        .envp
        .iter()
        .rev()
        .map(|s| push_str(&mut sp, s))
        .collect::<Result<Vec<_>, _>>()?;
    let argv: Vec<u64> = bprm
        .argv
        .iter()
        .rev()
        .map(|s| push_str(&mut sp, s))
        .collect::<Result<Vec<_>, _>>()?;
    let platform = push_str(&mut sp, "x86_64")?;
    let mut random = [0u8; 16];
    crate::random::get_random_bytes(&mut random);
    let random = push_bytes(&mut sp, &random)?;
    let auxv = auxv(info, random, platform, execfn);
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * auxv.len();
    sp = (sp - 8 * words as u64) & !15;
    let mut at = sp;
    let mut push = |v: u64| -> Result<(), Errno> {
        put_user(at, v)?;
        at += 8;
        Ok(())
    };
    push(argv.len() as u64)?;
    for &p in argv.iter().rev() {
        push(p)?;
    }
    push(0)?;
    for &p in envp.iter().rev() {
        push(p)?;
    }
    push(0)?;
    for (key, value) in auxv {
        push(key)?;
        push(value)?;
    }
    Ok(sp)
}

/// The auxiliary vector: what the program learns about itself and the
/// machine (Linux: the NEW_AUX_ENT() list in create_elf_tables()).
fn auxv(
    info: &super::binfmt_elf::ElfInfo,
    random: u64,
    platform: u64,
    execfn: u64,
) -> [(u64, u64); 18] {
    use at::*;
    [
        (AT_PHDR, info.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, info.phnum),
        (AT_PAGESZ, 4096),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, info.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_HWCAP, 0),
        (AT_CLKTCK, 100),
        (AT_PLATFORM, platform),
        (AT_EXECFN, execfn),
        (AT_NULL, 0),
    ]
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
