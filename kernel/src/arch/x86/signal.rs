//! Delivering a signal to a user handler: build an `rt_sigframe` on the user
//! stack holding the interrupted registers, point the registers at the
//! handler, and undo it all in rt_sigreturn.
//!
//! Linux: arch/x86/kernel/signal.c, signal_64.c (x64_setup_rt_frame,
//! sys_rt_sigreturn), arch/x86/include/uapi/asm/sigcontext.h

use super::entry::calling::PtRegs;
use super::kernel::fpu::FxState;
use crate::errno::Errno;
use crate::mm::uaccess::{Pod, copy_from_user, copy_to_user, get_user, put_user};
use crate::signal::{KSigaction, KernelSiginfo};
use crate::task::current;
use core::sync::atomic::Ordering;

/// The saved registers in a signal frame (Linux: struct sigcontext, 64-bit).
#[repr(C)]
#[derive(Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    /// cs, gs, fs and ss as four 16-bit fields.
    pub segments: u64,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    /// User address of the saved FXSAVE area.
    pub fpstate: u64,
    pub reserved: [u64; 8],
}
// SAFETY: only u64 fields, no padding.
unsafe impl Pod for SigContext {}

/// The frame's sigcontext has a meaningful ss (Linux: UC_SIGCONTEXT_SS).
const UC_SIGCONTEXT_SS: u64 = 0x2;
/// sigreturn restores ss exactly as saved (Linux: UC_STRICT_RESTORE_SS).
const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// Linux: struct ucontext (uc_flags, uc_link, uc_stack, uc_mcontext, uc_sigmask).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct UContext {
    uc_flags: u64,
    uc_link: u64,
    ss_sp: u64,
    ss_flags: u64,
    ss_size: u64,
    mcontext: SigContext,
    sigmask: u64,
}
// SAFETY: only u64 fields, no padding.
unsafe impl Pod for UContext {}

/// Linux: struct rt_sigframe { pretcode; uc; info } for 64-bit tasks.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RtSigframe {
    pretcode: u64,
    uc: UContext,
    info: [u64; 16],
}
// SAFETY: only u64 fields and arrays of them, no padding.
unsafe impl Pod for RtSigframe {}

/// Builds the signal frame and redirects `regs` to the handler.
///
/// Linux: x64_setup_rt_frame() in arch/x86/kernel/signal_64.c
///
/// # Errors
/// `EFAULT` when the user stack cannot take the frame (the caller then
/// kills the task with SIGSEGV, as Linux does).
pub fn setup_rt_frame(
    info: &KernelSiginfo,
    ka: &KSigaction,
    regs: &mut PtRegs,
    blocked: u64,
) -> Result<(), Errno> {
    let sig = info.signo;
    let task = current();
    task.thread.fpu.save();
    // On the alternate stack for SA_ONSTACK, else below the red zone: the
    // FXSAVE area, then the frame. A stack pointer too low for them fails
    // here, one in the kernel half in copy_to_user.
    let (sp, uc_stack) = crate::signal::sigsp(&task, regs.rsp, ka.flags);
    let red_zone = if sp == regs.rsp { 128 } else { 0 };
    let fp_addr = sp.checked_sub(red_zone + 512).ok_or(Errno::EFAULT)? & !63;
    let frame_addr = (fp_addr
        .checked_sub(size_of::<RtSigframe>() as u64)
        .ok_or(Errno::EFAULT)?
        & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;
    copy_to_user(fp_addr, &task.thread.fpu.snapshot().0)?;
    let mut frame = RtSigframe {
        pretcode: ka.restorer,
        ..Default::default()
    };
    frame.info = info.to_user();
    frame.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    frame.uc.sigmask = blocked;
    [frame.uc.ss_sp, frame.uc.ss_flags, frame.uc.ss_size] = uc_stack;
    frame.uc.mcontext = SigContext {
        r8: regs.r8,
        r9: regs.r9,
        r10: regs.r10,
        r11: regs.r11,
        r12: regs.r12,
        r13: regs.r13,
        r14: regs.r14,
        r15: regs.r15,
        rdi: regs.rdi,
        rsi: regs.rsi,
        rbp: regs.rbp,
        rbx: regs.rbx,
        rdx: regs.rdx,
        rax: regs.rax,
        rcx: regs.rcx,
        rsp: regs.rsp,
        rip: regs.rip,
        eflags: regs.rflags,
        segments: regs.cs | (regs.ss << 48),
        err: task.thread.trap.error_code.load(Ordering::Relaxed),
        trapno: task.thread.trap.trap_nr.load(Ordering::Relaxed),
        cr2: task.thread.trap.cr2.load(Ordering::Relaxed),
        fpstate: fp_addr,
        oldmask: blocked,
        ..Default::default()
    };
    put_user(frame_addr, frame)?;
    regs.rdi = sig as u64;
    regs.rsi = frame_addr + core::mem::offset_of!(RtSigframe, info) as u64;
    regs.rdx = frame_addr + core::mem::offset_of!(RtSigframe, uc) as u64;
    regs.rax = 0;
    regs.rsp = frame_addr;
    regs.rip = ka.handler;
    // The handler starts with DF clear (the ABI), without a pending
    // resume flag or single-stepping: clear DF, RF and TF.
    regs.rflags &= !((1 << 10) | (1 << 16) | (1 << 8));
    Ok(())
}

/// The flags a handler may change in the saved context: the arithmetic
/// flags, TF, DF, AC and RF; never IF or IOPL (Linux: FIX_EFLAGS).
const FIX_EFLAGS: u64 = 0x50dd5;

/// Returns from a handler: restores the registers, signal mask and FPU
/// state saved in the frame just above the user stack pointer. The code
/// and stack segments are always the user's, whatever the frame says.
///
/// Linux: SYSCALL_DEFINE0(rt_sigreturn) in arch/x86/kernel/signal_64.c
/// Differs: Linux takes CS and SS from the frame with RPL 3 (a task may
/// return to 32-bit code); with only the 64-bit user segments, we force them.
///
/// # Errors
/// `EFAULT` when the frame is unreadable (the caller kills the task).
pub fn sys_rt_sigreturn(regs: &mut PtRegs) -> Result<u64, Errno> {
    let frame_addr = regs.rsp.checked_sub(8).ok_or(Errno::EFAULT)?;
    let frame: RtSigframe = get_user(frame_addr)?;
    let sc = frame.uc.mcontext;
    if sc.fpstate != 0 {
        let mut fx = FxState::default();
        copy_from_user(&mut fx.0, sc.fpstate)?;
        current().thread.fpu.set(fx);
        current().thread.fpu.restore();
    }
    regs.r8 = sc.r8;
    regs.r9 = sc.r9;
    regs.r10 = sc.r10;
    regs.r11 = sc.r11;
    regs.r12 = sc.r12;
    regs.r13 = sc.r13;
    regs.r14 = sc.r14;
    regs.r15 = sc.r15;
    regs.rdi = sc.rdi;
    regs.rsi = sc.rsi;
    regs.rbp = sc.rbp;
    regs.rbx = sc.rbx;
    regs.rdx = sc.rdx;
    regs.rcx = sc.rcx;
    regs.rsp = sc.rsp;
    // A non-canonical rip is caught on the way out, in exit_to_user_mode.
    regs.rip = sc.rip;
    let sel = super::gdt::selectors();
    regs.cs = u64::from(sel.user_code.0);
    regs.ss = u64::from(sel.user_data.0);
    regs.rflags = (regs.rflags & !FIX_EFLAGS) | (sc.eflags & FIX_EFLAGS);
    // The restored rax is no system call's result: never restart it.
    regs.orig_rax = u64::MAX;
    crate::restart_block::clear_restart_fn();
    crate::signal::set_current_blocked(frame.uc.sigmask);
    let uc = &frame.uc;
    crate::signal::restore_altstack([uc.ss_sp, uc.ss_flags, uc.ss_size], regs.rsp);
    Ok(sc.rax)
}

/// The most stack a signal frame takes: the frame, the FXSAVE area and
/// their alignment; programs find it in AT_MINSIGSTKSZ.
///
/// Linux: get_sigframe_size() in arch/x86/kernel/signal.c
pub fn get_sigframe_size() -> u64 {
    (size_of::<RtSigframe>() + 512 + 64 + 16 + 8) as u64
}
