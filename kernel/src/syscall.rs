//! The system-call table: Linux x86_64 numbers, arguments in rdi, rsi, rdx,
//! r10, r8, r9, the result (or -errno) in rax.
//!
//! Linux: arch/x86/entry/syscall_64.c, arch/x86/entry/syscalls/syscall_64.tbl

use crate::arch::entry::calling::PtRegs;
use crate::errno::Errno;
use crate::{exit, fork, fs, mm, sched, signal, sys, time};
use core::sync::atomic::{AtomicU64, Ordering};

/// What a system call returns: a value, or an errno for -errno in rax.
pub type SysResult = Result<u64, Errno>;

static REPORTED: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// Logs an unknown system call the first time its number is seen.
fn report_unknown(nr: u64) {
    let (word, bit) = ((nr / 64) as usize, nr % 64);
    if word < REPORTED.len()
        && REPORTED[word].fetch_or(1 << bit, Ordering::Relaxed) & (1 << bit) == 0
    {
        log::warn!(
            "unknown system call {nr} from '{}'",
            crate::task::current().comm().as_str()
        );
    }
}

/// Runs the system call in `regs` and stores its result in `regs.rax`.
///
/// Linux: do_syscall_64() in arch/x86/entry/syscall_64.c
pub fn do_syscall(regs: &mut PtRegs) {
    let nr = regs.orig_rax;
    let result = dispatch(nr, regs);
    regs.rax = match result {
        Ok(value) => value,
        Err(e) => (-(e.0 as i64)) as u64,
    };
}

/// The table itself: one line per system call, in number order.
#[allow(clippy::too_many_lines)]
fn dispatch(nr: u64, regs: &mut PtRegs) -> SysResult {
    let (a0, a1, a2, a3, a4, a5) = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9);
    match nr {
        0 => fs::read_write::sys_read(a0 as i32, a1, a2),
        1 => fs::read_write::sys_write(a0 as i32, a1, a2),
        2 => fs::open::sys_openat(fs::open::AT_FDCWD, a0, a1 as u32, a2 as u32),
        3 => fs::open::sys_close(a0 as i32),
        4 => fs::stat::sys_newfstatat(fs::open::AT_FDCWD, a0, a1, 0),
        5 => fs::stat::sys_fstat(a0 as i32, a1),
        6 => fs::stat::sys_newfstatat(fs::open::AT_FDCWD, a0, a1, fs::stat::AT_SYMLINK_NOFOLLOW),
        7 => fs::fcntl::sys_poll(a0, a1, a2 as i32 as i64),
        8 => fs::read_write::sys_lseek(a0 as i32, a1 as i64, a2 as u32),
        9 => mm::mmap::sys_mmap(a0, a1, a2, a3, a4 as i32, a5),
        10 => mm::mmap::sys_mprotect(a0, a1, a2),
        11 => mm::mmap::sys_munmap(a0, a1),
        12 => mm::mmap::sys_brk(a0),
        13 => signal::sys_rt_sigaction(a0 as i32, a1, a2, a3),
        14 => signal::sys_rt_sigprocmask(a0 as i32, a1, a2, a3),
        15 => crate::arch::signal::sys_rt_sigreturn(regs),
        16 => fs::fcntl::sys_ioctl(a0 as i32, a1, a2),
        17 => fs::read_write::sys_pread64(a0 as i32, a1, a2, a3),
        19 => fs::read_write::sys_readv(a0 as i32, a1, a2),
        20 => fs::read_write::sys_writev(a0 as i32, a1, a2),
        21 => fs::stat::sys_faccessat(fs::open::AT_FDCWD, a0, a1 as u32),
        22 => fs::fcntl::sys_pipe2(a0, 0),
        24 => sched::core::sys_sched_yield(),
        28 => Ok(0),
        32 => fs::fcntl::sys_dup(a0 as i32),
        33 => fs::fcntl::sys_dup2(a0 as i32, a1 as i32),
        34 => signal::sys_pause(),
        35 => time::sys_nanosleep(a0, a1),
        39 => sys::sys_getpid(),
        40 => fs::read_write::sys_sendfile(a0 as i32, a1 as i32, a2, a3),
        56 => fork::sys_clone(a0, a1, a2, a3, a4, regs),
        57 => fork::sys_fork(regs),
        58 => fork::sys_vfork(regs),
        59 => fs::exec::do_execve(a0, a1, a2, regs).map(|()| 0),
        60 => exit::sys_exit(a0 as i32),
        61 => exit::sys_wait4(a0 as i32, a1, a2 as u32, a3),
        62 => signal::sys_kill(a0 as i32, a1 as i32),
        63 => sys::sys_newuname(a0),
        72 => fs::fcntl::sys_fcntl(a0 as i32, a1 as u32, a2),
        79 => fs::open::sys_getcwd(a0, a1),
        80 => fs::open::sys_chdir(a0),
        89 => fs::stat::sys_readlinkat(fs::open::AT_FDCWD, a0, a1, a2),
        83 => fs::open::sys_mkdirat(fs::open::AT_FDCWD, a0, a1 as u32),
        84 => fs::open::sys_unlinkat(fs::open::AT_FDCWD, a0, 0x200),
        85 => fs::open::sys_openat(fs::open::AT_FDCWD, a0, 0o1101, a1 as u32),
        87 => fs::open::sys_unlinkat(fs::open::AT_FDCWD, a0, 0),
        95 => sys::sys_umask(a0 as u32),
        96 => time::sys_gettimeofday(a0),
        97 => sys::sys_getrlimit(a0 as u32, a1),
        102 | 104 | 107 | 108 => Ok(0),
        99 => sys::sys_sysinfo(a0),
        100 => sys::sys_times(a0),
        103 => crate::printk::syslog::sys_syslog(a0 as i32, a1, a2 as i32),
        109 => sys::sys_setpgid(a0 as i32, a1 as i32),
        110 => sys::sys_getppid(),
        111 => sys::sys_getpgid(0),
        112 => sys::sys_setsid(),
        121 => sys::sys_getpgid(a0 as i32),
        124 => sys::sys_getsid(a0 as i32),
        130 => signal::sys_rt_sigsuspend(a0, a1),
        131 => signal::sys_sigaltstack(a0, a1),
        157 => sys::sys_prctl(a0 as i32, a1, a2),
        158 => sys::sys_arch_prctl(a0 as i32, a1),
        160 => sys::sys_setrlimit(a0 as u32, a1),
        162 => Ok(0),
        165 => Err(Errno::ENOSYS),
        169 => sys::sys_reboot(a0 as u32, a1 as u32, a2 as u32),
        186 => sys::sys_gettid(),
        200 => signal::sys_tkill(a0 as i32, a1 as i32),
        201 => time::sys_time(a0),
        202 => crate::futex::sys_futex(a0, a1 as u32, a2 as u32, a3, a4, a5 as u32),
        204 => sys::sys_sched_getaffinity(a0 as i32, a1, a2),
        217 => fs::fcntl::sys_getdents64(a0 as i32, a1, a2),
        218 => sys::sys_set_tid_address(a0),
        228 => time::sys_clock_gettime(a0 as u32, a1),
        230 => time::sys_clock_nanosleep(a0 as u32, a1 as u32, a2, a3),
        231 => exit::sys_exit_group(a0 as i32),
        234 => signal::sys_tgkill(a0 as i32, a1 as i32, a2 as i32),
        247 => exit::sys_waitid(a0 as u32, a1 as i32, a2, a3 as u32),
        257 => fs::open::sys_openat(a0 as i32, a1, a2 as u32, a3 as u32),
        258 => fs::open::sys_mkdirat(a0 as i32, a1, a2 as u32),
        262 => fs::stat::sys_newfstatat(a0 as i32, a1, a2, a3 as u32),
        263 => fs::open::sys_unlinkat(a0 as i32, a1, a2 as u32),
        267 => fs::stat::sys_readlinkat(a0 as i32, a1, a2, a3),
        269 => fs::stat::sys_faccessat(a0 as i32, a1, a2 as u32),
        273 => Ok(0),
        292 => fs::fcntl::sys_dup3(a0 as i32, a1 as i32, a2 as u32),
        293 => fs::fcntl::sys_pipe2(a0, a1 as u32),
        302 => sys::sys_prlimit64(a0 as i32, a1 as u32, a2, a3),
        318 => sys::sys_getrandom(a0, a1),
        // rseq: restartable sequences are not modelled; libcs probe for them.
        334 => Err(Errno::ENOSYS),
        434 => crate::pidfd::sys_pidfd_open(a0 as i32, a1 as u32),
        435 => fork::sys_clone3(a0, a1, regs),
        _ => {
            report_unknown(nr);
            Err(Errno::ENOSYS)
        }
    }
}
