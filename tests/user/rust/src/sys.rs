//! A small system-call library: the Linux x86_64 calling convention
//! (number in rax; arguments in rdi, rsi, rdx, r10, r8, r9; result or
//! -errno in rax), and safe wrappers for the calls this program uses.

use core::arch::asm;

/// Linux x86_64 system-call numbers.
pub mod nr {
    pub const WRITE: usize = 1;
    pub const GETPID: usize = 39;
    pub const FORK: usize = 57;
    pub const EXIT: usize = 60;
    pub const WAIT4: usize = 61;
    pub const GETPPID: usize = 110;
}

/// An errno value from the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub isize);

fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret))
    } else {
        Ok(ret as usize)
    }
}

/// # Safety
/// The arguments must be valid for system call `n`.
unsafe fn syscall3(n: usize, a0: usize, a1: usize, a2: usize) -> isize {
    let ret: isize;
    // SAFETY: the syscall instruction clobbers only rcx and r11 besides rax;
    // the caller vouches for the arguments.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// # Safety
/// As `syscall3`.
unsafe fn syscall4(n: usize, a0: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: as in syscall3; r10 carries the fourth argument.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a0, in("rsi") a1, in("rdx") a2,
             in("r10") a3, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// write(2) of a whole buffer.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for its length.
    check(unsafe { syscall3(nr::WRITE, fd as usize, buf.as_ptr() as usize, buf.len()) })
}

/// getpid(2).
pub fn getpid() -> i32 {
    // SAFETY: getpid takes no arguments.
    unsafe { syscall3(nr::GETPID, 0, 0, 0) as i32 }
}

/// getppid(2).
pub fn getppid() -> i32 {
    // SAFETY: getppid takes no arguments.
    unsafe { syscall3(nr::GETPPID, 0, 0, 0) as i32 }
}

/// fork(2): 0 in the child, the child's pid in the parent.
pub fn fork() -> Result<i32, Errno> {
    // SAFETY: fork takes no arguments; the child continues here with a copy
    // of this stack.
    check(unsafe { syscall3(nr::FORK, 0, 0, 0) }).map(|pid| pid as i32)
}

/// wait4(2) for `pid`; returns (pid, status).
pub fn wait4(pid: i32) -> Result<(i32, i32), Errno> {
    let mut status: i32 = 0;
    // SAFETY: `status` is a valid i32 for the kernel to fill; no rusage.
    let ret = unsafe { syscall4(nr::WAIT4, pid as usize, &raw mut status as usize, 0, 0) };
    check(ret).map(|pid| (pid as i32, status))
}

/// _exit(2).
pub fn exit(code: i32) -> ! {
    // SAFETY: exit never returns.
    unsafe { syscall3(nr::EXIT, code as usize, 0, 0) };
    unreachable!()
}
