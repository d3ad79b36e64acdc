//! The alternate signal stack: sigaltstack(2) names a stack that handlers
//! installed with SA_ONSTACK run on, so that a handler for a stack overflow
//! has a stack to run on.
//!
//! Linux: do_sigaltstack(), on_sig_stack(), sas_ss_flags(), sigsp() in
//! kernel/signal.c and include/linux/sched/signal.h

use crate::errno::Errno;
use crate::mm::uaccess::{get_user, put_user};
use crate::syscall::SysResult;
use crate::task::TaskStruct;
use core::sync::atomic::Ordering;

/// Run the handler on the alternate stack (sa_flags).
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// The thread runs on its alternate stack now (ss_flags, read only).
pub const SS_ONSTACK: u32 = 1;
/// No alternate stack.
pub const SS_DISABLE: u32 = 2;
/// Disarm the stack while a handler runs on it.
pub const SS_AUTODISARM: u32 = 1 << 31;
/// The smallest alternate stack accepted (x86: MINSIGSTKSZ).
pub const MINSIGSTKSZ: u64 = 2048;

/// Whether `sp` lies on `t`'s alternate stack (one disarmed counts as not).
///
/// Linux: on_sig_stack() in include/linux/sched/signal.h
pub fn on_sig_stack(t: &TaskStruct, sp: u64) -> bool {
    if t.sas_ss_flags.load(Ordering::Relaxed) & SS_AUTODISARM != 0 {
        return false;
    }
    let base = t.sas_ss_sp.load(Ordering::Relaxed);
    sp > base && sp - base <= t.sas_ss_size.load(Ordering::Relaxed)
}

/// ss_flags as user space reads them for stack pointer `sp`.
///
/// Linux: sas_ss_flags() in include/linux/sched/signal.h
pub fn sas_ss_flags(t: &TaskStruct, sp: u64) -> u32 {
    if t.sas_ss_size.load(Ordering::Relaxed) == 0 {
        SS_DISABLE
    } else if on_sig_stack(t, sp) {
        SS_ONSTACK
    } else {
        0
    }
}

/// The stack pointer a handler's frame goes below: the top of the
/// alternate stack for an SA_ONSTACK handler when the thread is not on it
/// already, else `sp`. Also the `stack_t` (sp, flags, size) the frame
/// saves in uc_stack; with SS_AUTODISARM the stack is disarmed.
///
/// Linux: sigsp() in kernel/signal.c and __save_altstack()
pub fn sigsp(t: &TaskStruct, sp: u64, sa_flags: u64) -> (u64, [u64; 3]) {
    let flags = t.sas_ss_flags.load(Ordering::Relaxed);
    let base = t.sas_ss_sp.load(Ordering::Relaxed);
    let size = t.sas_ss_size.load(Ordering::Relaxed);
    // Linux: __save_altstack() saves sas_ss_flags as set, never SS_ONSTACK.
    let saved = [
        base,
        u64::from(flags | (sas_ss_flags(t, sp) & SS_DISABLE)),
        size,
    ];
    let new_sp = if sa_flags & SA_ONSTACK != 0 && sas_ss_flags(t, sp) == 0 {
        base + size
    } else {
        sp
    };
    if flags & SS_AUTODISARM != 0 {
        t.sas_ss_sp.store(0, Ordering::Relaxed);
        t.sas_ss_size.store(0, Ordering::Relaxed);
        t.sas_ss_flags.store(SS_DISABLE, Ordering::Relaxed);
    }
    (new_sp, saved)
}

/// sigaltstack(2): reports the alternate stack at `uoss` and installs the
/// one at `uss`. `sp` is the caller's stack pointer.
///
/// Linux: SYSCALL_DEFINE2(sigaltstack) in kernel/signal.c
pub fn sys_sigaltstack(uss: u64, uoss: u64, sp: u64) -> SysResult {
    let new = match uss {
        0 => None,
        _ => Some(get_user::<[u64; 3]>(uss)?),
    };
    let old = do_sigaltstack(new, sp)?;
    if uoss != 0 {
        put_user(uoss, old)?;
    }
    Ok(0)
}

/// Installs `new` (a `stack_t`: ss_sp, ss_flags, ss_size) if given and
/// returns the previous one. `EPERM` while running on the stack, `EINVAL`
/// for unknown flags, `ENOMEM` for a stack smaller than MINSIGSTKSZ.
///
/// Linux: do_sigaltstack() in kernel/signal.c
pub fn do_sigaltstack(new: Option<[u64; 3]>, sp: u64) -> Result<[u64; 3], Errno> {
    let t = crate::task::current();
    let old = [
        t.sas_ss_sp.load(Ordering::Relaxed),
        u64::from(t.sas_ss_flags.load(Ordering::Relaxed) & SS_AUTODISARM | sas_ss_flags(&t, sp)),
        t.sas_ss_size.load(Ordering::Relaxed),
    ];
    if let Some([ss_sp, ss_flags, ss_size]) = new {
        let ss_flags = ss_flags as u32;
        if on_sig_stack(&t, sp) {
            return Err(Errno::EPERM);
        }
        let (sp, size) = match ss_flags & !SS_AUTODISARM {
            SS_DISABLE => (0, 0),
            0 | SS_ONSTACK if ss_size < MINSIGSTKSZ => return Err(Errno::ENOMEM),
            0 | SS_ONSTACK => (ss_sp, ss_size),
            _ => return Err(Errno::EINVAL),
        };
        t.sas_ss_sp.store(sp, Ordering::Relaxed);
        t.sas_ss_size.store(size, Ordering::Relaxed);
        t.sas_ss_flags
            .store(ss_flags & SS_AUTODISARM, Ordering::Relaxed);
    }
    Ok(old)
}

/// On rt_sigreturn: reinstalls the alternate stack the frame saved, as the
/// handler may have changed (or SS_AUTODISARM disarmed) it; errors are
/// ignored, as Linux does.
///
/// Linux: restore_altstack() in kernel/signal.c
pub fn restore_altstack(uc_stack: [u64; 3], sp: u64) {
    let [ss_sp, ss_flags, ss_size] = uc_stack;
    // The saved flags say SS_ONSTACK when the handler interrupted code on
    // the stack; installing takes only SS_AUTODISARM or SS_DISABLE.
    let flags = ss_flags & u64::from(SS_AUTODISARM | SS_DISABLE);
    let _ = do_sigaltstack(Some([ss_sp, flags, ss_size]), sp);
}
