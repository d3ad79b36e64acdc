//! The register requests: GETREGS/SETREGS with `struct user_regs_struct`,
//! PEEKUSR/POKEUSR in `struct user`, GETFPREGS/SETFPREGS with the FXSAVE
//! area, and GETREGSET/SETREGSET for NT_PRSTATUS and NT_PRFPREG. They read
//! and change the registers the stopped tracee saved in ptrace_stop.
//!
//! Linux: arch/x86/kernel/ptrace.c, arch/x86/include/asm/user_64.h

use super::*;
use crate::mm::uaccess::{copy_from_user, copy_to_user, get_user, put_user};
use elf::abi::{NT_PRFPREG, NT_PRSTATUS};

/// The general registers as x86_64 user space sees them: the order of
/// `struct user_regs_struct` (27 words, 216 bytes).
///
/// Linux: struct user_regs_struct in arch/x86/include/asm/user_64.h
#[repr(C)]
#[derive(Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct UserRegsStruct {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

/// Size of `struct user` on x86_64 (Linux: sizeof(struct user)).
const SIZEOF_USER: u64 = 912;
/// The flags a tracer may change (Linux: FLAG_MASK in arch/x86/kernel/ptrace.c):
/// the arithmetic flags, TF, DF, OF, AC, ID, RF and NT; never IF or IOPL.
const FLAG_MASK: u64 = 0x0025_4dd5;

/// The tracee's registers in user_regs_struct order.
///
/// Linux: getreg() for each field, in arch/x86/kernel/ptrace.c
fn user_regs(child: &TaskStruct, r: &PtRegs) -> UserRegsStruct {
    UserRegsStruct {
        r15: r.r15,
        r14: r.r14,
        r13: r.r13,
        r12: r.r12,
        rbp: r.rbp,
        rbx: r.rbx,
        r11: r.r11,
        r10: r.r10,
        r9: r.r9,
        r8: r.r8,
        rax: r.rax,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        orig_rax: r.orig_rax,
        rip: r.rip,
        cs: r.cs,
        eflags: r.rflags,
        rsp: r.rsp,
        ss: r.ss,
        fs_base: child.thread.fsbase.load(Ordering::Relaxed),
        gs_base: child.thread.gsbase.load(Ordering::Relaxed),
        ..Default::default()
    }
}

/// The NT_PRSTATUS register set of `child` whose entry registers are `r`,
/// as the 27 words of user_regs_struct: what PTRACE_GETREGSET gives and
/// what a core dump's NT_PRSTATUS notes hold.
///
/// Linux: genregs_get() in arch/x86/kernel/ptrace.c
pub fn genregs_get(child: &TaskStruct, r: &PtRegs) -> [u64; 27] {
    as_words(&user_regs(child, r))
}

/// Writes `u` back: the general registers as given, the flags through
/// FLAG_MASK, the segment selectors kept as they are (the tracee stays in
/// 64-bit user mode), the FS/GS bases when canonical user addresses.
///
/// Linux: putreg() for each field, in arch/x86/kernel/ptrace.c
///
/// # Errors
/// `EIO` for a base outside user space (Linux: putreg's TASK_SIZE check).
fn set_user_regs(child: &TaskStruct, r: &mut PtRegs, u: &UserRegsStruct) -> Result<(), Errno> {
    let limit = crate::mm::mm_types::TASK_SIZE;
    if u.fs_base >= limit || u.gs_base >= limit {
        return Err(Errno::EIO);
    }
    (r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx) = (u.r15, u.r14, u.r13, u.r12, u.rbp, u.rbx);
    (r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx) = (u.r11, u.r10, u.r9, u.r8, u.rax, u.rcx);
    (r.rdx, r.rsi, r.rdi, r.orig_rax, r.rip, r.rsp) =
        (u.rdx, u.rsi, u.rdi, u.orig_rax, u.rip, u.rsp);
    r.rflags = (r.rflags & !FLAG_MASK) | (u.eflags & FLAG_MASK);
    child.thread.fsbase.store(u.fs_base, Ordering::Relaxed);
    child.thread.gsbase.store(u.gs_base, Ordering::Relaxed);
    Ok(())
}

/// Runs `f` on the stopped tracee's saved registers.
fn with_stopped_regs<R>(
    child: &TaskStruct,
    f: impl FnOnce(&mut PtRegs) -> Result<R, Errno>,
) -> Result<R, Errno> {
    let mut stopped = child.ptrace.stopped.lock();
    f(&mut stopped.as_mut().ok_or(Errno::ESRCH)?.regs)
}

/// PTRACE_GETREGS.
///
/// Linux: the PTRACE_GETREGS case of arch_ptrace() (copy_regset_to_user)
pub(super) fn ptrace_getregs(child: &TaskStruct, data: u64) -> SysResult {
    let regs = with_stopped_regs(child, |r| Ok(user_regs(child, r)))?;
    put_user(data, as_words(&regs)).map(|()| 0)
}

/// PTRACE_SETREGS.
///
/// Linux: the PTRACE_SETREGS case of arch_ptrace() (copy_regset_from_user)
pub(super) fn ptrace_setregs(child: &TaskStruct, data: u64) -> SysResult {
    let u = from_words(&get_user(data)?);
    with_stopped_regs(child, |r| set_user_regs(child, r, &u)).map(|()| 0)
}

/// PTRACE_PEEKUSR: a word of `struct user`; the registers come first, the
/// rest (the debug registers among them) reads as 0.
///
/// Linux: ptrace_read_user() / getreg() in arch/x86/kernel/ptrace.c
/// Differs: no hardware debug registers, so u_debugreg reads 0.
///
/// # Errors
/// `EIO` for an unaligned offset or one past `struct user`.
pub(super) fn ptrace_peekusr(child: &TaskStruct, addr: u64, data: u64) -> SysResult {
    if addr & 7 != 0 || addr >= SIZEOF_USER {
        return Err(Errno::EIO);
    }
    let index = (addr / 8) as usize;
    let regs = with_stopped_regs(child, |r| Ok(user_regs(child, r)))?;
    let words = as_words(&regs);
    put_user(data, words.get(index).copied().unwrap_or(0)).map(|()| 0)
}

/// PTRACE_POKEUSR: a register of `struct user_regs_struct`; other offsets
/// are accepted and ignored.
///
/// Linux: ptrace_write_user() / putreg() in arch/x86/kernel/ptrace.c
///
/// # Errors
/// `EIO` for an unaligned offset or one past `struct user`.
pub(super) fn ptrace_pokeusr(child: &TaskStruct, addr: u64, data: u64) -> SysResult {
    if addr & 7 != 0 || addr >= SIZEOF_USER {
        return Err(Errno::EIO);
    }
    let index = (addr / 8) as usize;
    with_stopped_regs(child, |r| {
        let mut u = user_regs(child, r);
        let mut words = as_words(&u);
        if let Some(w) = words.get_mut(index) {
            *w = data;
            u = from_words(&words);
            set_user_regs(child, r, &u)?;
        }
        Ok(0)
    })
}

/// The 27 words of a user_regs_struct, in order.
fn as_words(u: &UserRegsStruct) -> [u64; 27] {
    [
        u.r15, u.r14, u.r13, u.r12, u.rbp, u.rbx, u.r11, u.r10, u.r9, u.r8, u.rax, u.rcx, u.rdx,
        u.rsi, u.rdi, u.orig_rax, u.rip, u.cs, u.eflags, u.rsp, u.ss, u.fs_base, u.gs_base, u.ds,
        u.es, u.fs, u.gs,
    ]
}

/// The user_regs_struct of 27 words (the inverse of `as_words`).
fn from_words(w: &[u64; 27]) -> UserRegsStruct {
    UserRegsStruct {
        r15: w[0],
        r14: w[1],
        r13: w[2],
        r12: w[3],
        rbp: w[4],
        rbx: w[5],
        r11: w[6],
        r10: w[7],
        r9: w[8],
        r8: w[9],
        rax: w[10],
        rcx: w[11],
        rdx: w[12],
        rsi: w[13],
        rdi: w[14],
        orig_rax: w[15],
        rip: w[16],
        cs: w[17],
        eflags: w[18],
        rsp: w[19],
        ss: w[20],
        fs_base: w[21],
        gs_base: w[22],
        ds: w[23],
        es: w[24],
        fs: w[25],
        gs: w[26],
    }
}

/// PTRACE_GETFPREGS: the 512-byte FXSAVE area (struct user_i387_struct).
///
/// Linux: the PTRACE_GETFPREGS case of arch_ptrace() (xfpregs_get)
pub(super) fn ptrace_getfpregs(child: &TaskStruct, data: u64) -> SysResult {
    copy_to_user(data, &child.thread.fpu.snapshot().0).map(|()| 0)
}

/// PTRACE_SETFPREGS.
///
/// Linux: the PTRACE_SETFPREGS case of arch_ptrace() (xfpregs_set)
pub(super) fn ptrace_setfpregs(child: &TaskStruct, data: u64) -> SysResult {
    let mut fx = crate::arch::kernel::fpu::FxState::default();
    copy_from_user(&mut fx.0, data)?;
    child.thread.fpu.set(fx);
    Ok(0)
}

/// PTRACE_GETREGSET / SETREGSET: `data` points at a `struct iovec`;
/// NT_PRSTATUS moves a user_regs_struct, NT_PRFPREG the FXSAVE area, at
/// most iov_len bytes, and iov_len is set to the bytes moved.
///
/// Linux: ptrace_regset() in kernel/ptrace.c
///
/// # Errors
/// `EINVAL` for another set, `EFAULT`.
pub(super) fn ptrace_regset(child: &TaskStruct, set: u64, data: u64, write: bool) -> SysResult {
    let [base, len]: [u64; 2] = get_user(data)?;
    let mut bytes = match set {
        NT_PRSTATUS => {
            let u = with_stopped_regs(child, |r| Ok(user_regs(child, r)))?;
            as_words(&u)
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<alloc::vec::Vec<u8>>()
        }
        NT_PRFPREG => child.thread.fpu.snapshot().0.to_vec(),
        _ => return Err(Errno::EINVAL),
    };
    let n = bytes.len().min(len as usize);
    if write {
        copy_from_user(&mut bytes[..n], base)?;
        match set {
            NT_PRSTATUS => {
                let mut words = [0u64; 27];
                for (w, chunk) in words.iter_mut().zip(bytes.as_chunks::<8>().0) {
                    *w = u64::from_le_bytes(*chunk);
                }
                with_stopped_regs(child, |r| set_user_regs(child, r, &from_words(&words)))?;
            }
            _ => {
                let mut fx = crate::arch::kernel::fpu::FxState::default();
                fx.0.copy_from_slice(&bytes);
                child.thread.fpu.set(fx);
            }
        }
    } else {
        copy_to_user(base, &bytes[..n])?;
    }
    put_user(data + 8, n as u64).map(|()| 0)
}
