//! The system-call table: Linux x86_64 numbers, arguments in rdi, rsi, rdx,
//! r10, r8, r9, the result (or -errno) in rax.
//!
//! The numbers are Linux's `__NR_*` names (`unistd.rs`). The few calls at the
//! end of this file are stubs: they return 0 without doing Linux's work, and
//! each says with a `Differs:` line what is missing.
//!
//! Linux: arch/x86/entry/syscall_64.c, arch/x86/entry/syscalls/syscall_64.tbl

use crate::arch::entry::calling::PtRegs;
use crate::errno::Errno;
use crate::{exit, fork, fs, ipc, mm, sched, signal, sys, time, unistd};
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

/// Runs the system call in `regs` and stores its result in `regs.rax`;
/// a traced task stops before and after it (PTRACE_SYSCALL), and before
/// exit and exit_group end it (PTRACE_O_TRACEEXIT).
///
/// Linux: do_syscall_64() in arch/x86/entry/syscall_64.c, with
/// syscall_enter_from_user_mode() and syscall_exit_to_user_mode()
pub fn do_syscall(regs: &mut PtRegs) {
    // Linux: the entry pushes -ENOSYS as pt_regs->ax, what a tracer sees
    // at the syscall-entry stop and what a skipped call returns.
    regs.rax = (-(Errno::ENOSYS.0 as i64)) as u64;
    let nr = crate::ptrace::ptrace_report_syscall_entry(regs);
    if nr == unistd::__NR_exit || nr == unistd::__NR_exit_group {
        crate::ptrace::ptrace_event_exit(((regs.rdi as i32) & 0xff) << 8, regs);
    }
    if nr != u64::MAX {
        // No reference to the task is held across the call: exit does
        // not return.
        crate::task::current()
            .syscall_nr
            .store(nr as i64, Ordering::Relaxed);
        let result = dispatch(nr, regs);
        crate::task::current()
            .syscall_nr
            .store(-1, Ordering::Relaxed);
        regs.rax = match result {
            Ok(value) => value,
            Err(e) => (-(e.0 as i64)) as u64,
        };
    }
    crate::ptrace::ptrace_report_syscall_exit(regs);
}

/// The table itself: one line per system call, in number order.
#[allow(clippy::too_many_lines)]
fn dispatch(nr: u64, regs: &mut PtRegs) -> SysResult {
    let (a0, a1, a2, a3, a4, a5) = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9);
    match nr {
        unistd::__NR_read => fs::read_write::sys_read(a0 as i32, a1, a2),
        unistd::__NR_write => fs::read_write::sys_write(a0 as i32, a1, a2),
        unistd::__NR_open => fs::open::sys_openat(fs::open::AT_FDCWD, a0, a1 as u32, a2 as u32),
        unistd::__NR_close => fs::open::sys_close(a0 as i32),
        unistd::__NR_stat => fs::stat::sys_newfstatat(fs::open::AT_FDCWD, a0, a1, 0),
        unistd::__NR_fstat => fs::stat::sys_fstat(a0 as i32, a1),
        unistd::__NR_lstat => {
            fs::stat::sys_newfstatat(fs::open::AT_FDCWD, a0, a1, fs::stat::AT_SYMLINK_NOFOLLOW)
        }
        unistd::__NR_poll => fs::select::sys_poll(a0, a1, a2 as i32 as i64),
        unistd::__NR_lseek => fs::read_write::sys_lseek(a0 as i32, a1 as i64, a2 as u32),
        unistd::__NR_mmap => mm::mmap::sys_mmap(a0, a1, a2, a3, a4 as i32, a5),
        unistd::__NR_mprotect => mm::mprotect::sys_mprotect(a0, a1, a2),
        unistd::__NR_munmap => mm::mmap::sys_munmap(a0, a1),
        unistd::__NR_brk => mm::mmap::sys_brk(a0),
        unistd::__NR_rt_sigaction => signal::sys_rt_sigaction(a0 as i32, a1, a2, a3),
        unistd::__NR_rt_sigprocmask => signal::sys_rt_sigprocmask(a0 as i32, a1, a2, a3),
        unistd::__NR_rt_sigreturn => crate::arch::signal::sys_rt_sigreturn(regs),
        unistd::__NR_ioctl => fs::fcntl::sys_ioctl(a0 as i32, a1, a2),
        unistd::__NR_pread64 => fs::read_write::sys_pread64(a0 as i32, a1, a2, a3),
        unistd::__NR_pwrite64 => fs::read_write::sys_pwrite64(a0 as i32, a1, a2, a3),
        unistd::__NR_readv => fs::read_write::sys_readv(a0 as i32, a1, a2),
        unistd::__NR_writev => fs::read_write::sys_writev(a0 as i32, a1, a2),
        unistd::__NR_access => fs::stat::sys_faccessat2(fs::open::AT_FDCWD, a0, a1 as u32, 0),
        unistd::__NR_pipe => fs::fcntl::sys_pipe2(a0, 0),
        unistd::__NR_select => fs::select::sys_select(a0 as i32, a1, a2, a3, a4),
        unistd::__NR_sched_yield => sched::core::sys_sched_yield(),
        unistd::__NR_msync => mm::msync::sys_msync(a0, a1, a2),
        unistd::__NR_madvise => sys_madvise(a0, a1, a2 as i32),
        unistd::__NR_shmget => ipc::shm::sys_shmget(a0 as i32, a1, a2 as i32),
        unistd::__NR_shmat => ipc::shm::sys_shmat(a0 as i32, a1, a2 as i32),
        unistd::__NR_shmctl => ipc::shm::sys_shmctl(a0 as i32, a1 as i32, a2),
        unistd::__NR_dup => fs::fcntl::sys_dup(a0 as i32),
        unistd::__NR_dup2 => fs::fcntl::sys_dup2(a0 as i32, a1 as i32),
        unistd::__NR_pause => signal::sys_pause(),
        unistd::__NR_nanosleep => time::sys_nanosleep(a0, a1),
        unistd::__NR_getitimer => time::itimer::sys_getitimer(a0 as i32, a1),
        unistd::__NR_alarm => time::itimer::sys_alarm(a0 as u32),
        unistd::__NR_setitimer => time::itimer::sys_setitimer(a0 as i32, a1, a2),
        unistd::__NR_getpid => sys::sys_getpid(),
        unistd::__NR_sendfile => fs::read_write::sys_sendfile(a0 as i32, a1 as i32, a2, a3),
        unistd::__NR_clone => fork::sys_clone(a0, a1, a2, a3, a4, regs),
        unistd::__NR_fork => fork::sys_fork(regs),
        unistd::__NR_vfork => fork::sys_vfork(regs),
        unistd::__NR_execve => fs::exec::do_execve(a0, a1, a2, regs).map(|()| 0),
        unistd::__NR_exit => exit::sys_exit(a0 as i32),
        unistd::__NR_wait4 => exit::sys_wait4(a0 as i32, a1, a2 as u32, a3),
        unistd::__NR_kill => signal::sys_kill(a0 as i32, a1 as i32),
        unistd::__NR_uname => sys::sys_newuname(a0),
        unistd::__NR_shmdt => ipc::shm::sys_shmdt(a0),
        unistd::__NR_fcntl => fs::fcntl::sys_fcntl(a0 as i32, a1 as u32, a2),
        unistd::__NR_fsync | unistd::__NR_fdatasync => fs::read_write::sys_fsync(a0 as i32),
        unistd::__NR_truncate => fs::truncate::sys_truncate(a0, a1 as i64),
        unistd::__NR_ftruncate => fs::truncate::sys_ftruncate(a0 as i32, a1 as i64),
        unistd::__NR_getcwd => fs::open::sys_getcwd(a0, a1),
        unistd::__NR_chdir => fs::open::sys_chdir(a0),
        unistd::__NR_fchdir => fs::open::sys_fchdir(a0 as i32),
        unistd::__NR_rename => fs::rename::sys_rename(a0, a1),
        unistd::__NR_mkdir => fs::open::sys_mkdirat(fs::open::AT_FDCWD, a0, a1 as u32),
        unistd::__NR_rmdir => fs::open::sys_unlinkat(fs::open::AT_FDCWD, a0, 0x200),
        unistd::__NR_creat => fs::open::sys_openat(fs::open::AT_FDCWD, a0, 0o1101, a1 as u32),
        unistd::__NR_link => fs::link::sys_link(a0, a1),
        unistd::__NR_unlink => fs::open::sys_unlinkat(fs::open::AT_FDCWD, a0, 0),
        unistd::__NR_symlink => fs::link::sys_symlinkat(a0, fs::open::AT_FDCWD, a1),
        unistd::__NR_readlink => fs::stat::sys_readlinkat(fs::open::AT_FDCWD, a0, a1, a2),
        unistd::__NR_chmod => fs::attr::sys_chmod(a0, a1 as u32),
        unistd::__NR_fchmod => fs::attr::sys_fchmod(a0 as i32, a1 as u32),
        unistd::__NR_chown => {
            fs::attr::sys_fchownat(fs::open::AT_FDCWD, a0, a1 as u32, a2 as u32, 0)
        }
        unistd::__NR_fchown => fs::attr::sys_fchown(a0 as i32, a1 as u32, a2 as u32),
        unistd::__NR_lchown => {
            let nofollow = fs::stat::AT_SYMLINK_NOFOLLOW;
            fs::attr::sys_fchownat(fs::open::AT_FDCWD, a0, a1 as u32, a2 as u32, nofollow)
        }
        unistd::__NR_umask => sys::sys_umask(a0 as u32),
        unistd::__NR_gettimeofday => time::sys_gettimeofday(a0),
        unistd::__NR_getrlimit => sys::sys_getrlimit(a0 as u32, a1),
        unistd::__NR_ptrace => crate::ptrace::sys_ptrace(a0, a1 as i32, a2, a3),
        unistd::__NR_getuid => sys::sys_getuid(),
        unistd::__NR_syslog => crate::printk::syslog::sys_syslog(a0 as i32, a1, a2 as i32),
        unistd::__NR_getrusage => crate::rusage::sys_getrusage(a0 as i32, a1),
        unistd::__NR_sysinfo => sys::sys_sysinfo(a0),
        unistd::__NR_times => sys::sys_times(a0),
        unistd::__NR_getgid => sys::sys_getgid(),
        unistd::__NR_geteuid => sys::sys_geteuid(),
        unistd::__NR_setuid => crate::sys_ids::sys_setuid(a0 as u32),
        unistd::__NR_setgid => crate::sys_ids::sys_setgid(a0 as u32),
        unistd::__NR_getegid => sys::sys_getegid(),
        unistd::__NR_setpgid => sys::sys_setpgid(a0 as i32, a1 as i32),
        unistd::__NR_getppid => sys::sys_getppid(),
        unistd::__NR_getpgrp => sys::sys_getpgid(0),
        unistd::__NR_setsid => sys::sys_setsid(),
        unistd::__NR_setreuid => crate::sys_ids::sys_setreuid(a0 as u32, a1 as u32),
        unistd::__NR_setregid => crate::sys_ids::sys_setregid(a0 as u32, a1 as u32),
        unistd::__NR_getgroups => crate::groups::sys_getgroups(a0 as i32, a1),
        unistd::__NR_setgroups => crate::groups::sys_setgroups(a0 as i32, a1),
        unistd::__NR_setresuid => crate::sys_ids::sys_setresuid(a0 as u32, a1 as u32, a2 as u32),
        unistd::__NR_getresuid => crate::sys_ids::sys_getresuid(a0, a1, a2),
        unistd::__NR_setresgid => crate::sys_ids::sys_setresgid(a0 as u32, a1 as u32, a2 as u32),
        unistd::__NR_getresgid => crate::sys_ids::sys_getresgid(a0, a1, a2),
        unistd::__NR_getpgid => sys::sys_getpgid(a0 as i32),
        unistd::__NR_setfsuid => crate::sys_ids::sys_setfsuid(a0 as u32),
        unistd::__NR_setfsgid => crate::sys_ids::sys_setfsgid(a0 as u32),
        unistd::__NR_getsid => sys::sys_getsid(a0 as i32),
        unistd::__NR_capget => crate::capability::sys_capget(a0, a1),
        unistd::__NR_capset => crate::capability::sys_capset(a0, a1),
        unistd::__NR_rt_sigpending => signal::sys_rt_sigpending(a0, a1),
        unistd::__NR_rt_sigtimedwait => signal::sys_rt_sigtimedwait(a0, a1, a2, a3),
        unistd::__NR_rt_sigqueueinfo => signal::sys_rt_sigqueueinfo(a0 as i32, a1 as i32, a2),
        unistd::__NR_rt_sigsuspend => signal::sys_rt_sigsuspend(a0, a1),
        unistd::__NR_sigaltstack => signal::sys_sigaltstack(a0, a1, regs.rsp),
        unistd::__NR_statfs => fs::statfs::sys_statfs(a0, a1),
        unistd::__NR_fstatfs => fs::statfs::sys_fstatfs(a0 as i32, a1),
        unistd::__NR_utime => fs::utimes::sys_utime(a0, a1),
        unistd::__NR_mknod => fs::link::sys_mknodat(fs::open::AT_FDCWD, a0, a1 as u32, a2 as u32),
        unistd::__NR_personality => crate::exec_domain::sys_personality(a0 as u32),
        unistd::__NR_sched_setparam => sched::syscalls::sys_sched_setparam(a0 as i32, a1),
        unistd::__NR_sched_getparam => sched::syscalls::sys_sched_getparam(a0 as i32, a1),
        unistd::__NR_sched_setscheduler => {
            sched::syscalls::sys_sched_setscheduler(a0 as i32, a1 as i32, a2)
        }
        unistd::__NR_sched_getscheduler => sched::syscalls::sys_sched_getscheduler(a0 as i32),
        unistd::__NR_sched_get_priority_max => {
            sched::syscalls::sys_sched_get_priority_max(a0 as i32)
        }
        unistd::__NR_sched_get_priority_min => {
            sched::syscalls::sys_sched_get_priority_min(a0 as i32)
        }
        unistd::__NR_sched_rr_get_interval => {
            sched::syscalls::sys_sched_rr_get_interval(a0 as i32, a1)
        }
        unistd::__NR_prctl => sys::sys_prctl(a0 as i32, a1, a2, a3, a4),
        unistd::__NR_arch_prctl => sys::sys_arch_prctl(a0 as i32, a1),
        unistd::__NR_setrlimit => sys::sys_setrlimit(a0 as u32, a1),
        unistd::__NR_sync => sys_sync(),
        // mount: there is only the initramfs; fail as a kernel without it.
        unistd::__NR_mount => Err(Errno::ENOSYS),
        unistd::__NR_reboot => sys::sys_reboot(a0 as u32, a1 as u32, a2 as u32),
        unistd::__NR_sethostname => crate::utsname::sys_sethostname(a0, a1 as i32),
        unistd::__NR_setdomainname => crate::utsname::sys_setdomainname(a0, a1 as i32),
        unistd::__NR_gettid => sys::sys_gettid(),
        unistd::__NR_tkill => signal::sys_tkill(a0 as i32, a1 as i32),
        unistd::__NR_time => time::sys_time(a0),
        unistd::__NR_futex => crate::futex::sys_futex(a0, a1 as u32, a2 as u32, a3, a4, a5 as u32),
        unistd::__NR_sched_setaffinity => sched::syscalls::sys_sched_setaffinity(a0 as i32, a1, a2),
        unistd::__NR_sched_getaffinity => sched::syscalls::sys_sched_getaffinity(a0 as i32, a1, a2),
        unistd::__NR_getpriority => sched::nice::sys_getpriority(a0 as i32, a1 as i32),
        unistd::__NR_setpriority => sched::nice::sys_setpriority(a0 as i32, a1 as i32, a2 as i32),
        unistd::__NR_getdents64 => fs::fcntl::sys_getdents64(a0 as i32, a1, a2),
        unistd::__NR_set_tid_address => sys::sys_set_tid_address(a0),
        unistd::__NR_restart_syscall => crate::restart_block::sys_restart_syscall(),
        unistd::__NR_clock_settime => time::sys_clock_settime(a0 as u32, a1),
        unistd::__NR_timer_create => time::posix_timers::sys_timer_create(a0 as u32, a1, a2),
        unistd::__NR_timer_settime => {
            time::posix_timers::sys_timer_settime(a0 as i32, a1 as i32, a2, a3)
        }
        unistd::__NR_timer_gettime => time::posix_timers::sys_timer_gettime(a0 as i32, a1),
        unistd::__NR_timer_getoverrun => time::posix_timers::sys_timer_getoverrun(a0 as i32),
        unistd::__NR_timer_delete => time::posix_timers::sys_timer_delete(a0 as i32),
        unistd::__NR_clock_gettime => time::sys_clock_gettime(a0 as u32, a1),
        unistd::__NR_clock_getres => time::sys_clock_getres(a0 as u32, a1),
        unistd::__NR_clock_nanosleep => time::sys_clock_nanosleep(a0 as u32, a1 as u32, a2, a3),
        unistd::__NR_exit_group => exit::sys_exit_group(a0 as i32),
        unistd::__NR_tgkill => signal::sys_tgkill(a0 as i32, a1 as i32, a2 as i32),
        unistd::__NR_utimes => fs::utimes::sys_futimesat(fs::open::AT_FDCWD, a0, a1),
        unistd::__NR_waitid => exit::sys_waitid(a0 as u32, a1 as i32, a2, a3 as u32, a4),
        unistd::__NR_openat => fs::open::sys_openat(a0 as i32, a1, a2 as u32, a3 as u32),
        unistd::__NR_mkdirat => fs::open::sys_mkdirat(a0 as i32, a1, a2 as u32),
        unistd::__NR_mknodat => fs::link::sys_mknodat(a0 as i32, a1, a2 as u32, a3 as u32),
        unistd::__NR_fchownat => {
            fs::attr::sys_fchownat(a0 as i32, a1, a2 as u32, a3 as u32, a4 as u32)
        }
        unistd::__NR_futimesat => fs::utimes::sys_futimesat(a0 as i32, a1, a2),
        unistd::__NR_newfstatat => fs::stat::sys_newfstatat(a0 as i32, a1, a2, a3 as u32),
        unistd::__NR_unlinkat => fs::open::sys_unlinkat(a0 as i32, a1, a2 as u32),
        unistd::__NR_renameat => fs::rename::sys_renameat2(a0 as i32, a1, a2 as i32, a3, 0),
        unistd::__NR_linkat => fs::link::sys_linkat(a0 as i32, a1, a2 as i32, a3, a4 as u32),
        unistd::__NR_symlinkat => fs::link::sys_symlinkat(a0, a1 as i32, a2),
        unistd::__NR_readlinkat => fs::stat::sys_readlinkat(a0 as i32, a1, a2, a3),
        unistd::__NR_pselect6 => fs::select::sys_pselect6(a0 as i32, a1, a2, a3, a4, a5),
        unistd::__NR_ppoll => fs::select::sys_ppoll(a0, a1, a2, a3, a4),
        unistd::__NR_fchmodat => fs::attr::sys_fchmodat2(a0 as i32, a1, a2 as u32, 0),
        unistd::__NR_faccessat => fs::stat::sys_faccessat2(a0 as i32, a1, a2 as u32, 0),
        unistd::__NR_set_robust_list => crate::futex::robust::sys_set_robust_list(a0, a1),
        unistd::__NR_get_robust_list => {
            crate::futex::robust::sys_get_robust_list(a0 as i32, a1, a2)
        }
        unistd::__NR_signalfd => fs::signalfd::sys_signalfd(a0 as i32, a1, a2),
        unistd::__NR_signalfd4 => fs::signalfd::sys_signalfd4(a0 as i32, a1, a2, a3 as u32),
        unistd::__NR_timerfd_create => fs::timerfd::sys_timerfd_create(a0 as i32, a1 as u32),
        unistd::__NR_timerfd_settime => {
            fs::timerfd::sys_timerfd_settime(a0 as i32, a1 as u32, a2, a3)
        }
        unistd::__NR_timerfd_gettime => fs::timerfd::sys_timerfd_gettime(a0 as i32, a1),
        unistd::__NR_eventfd => fs::eventfd::sys_eventfd(a0 as u32),
        unistd::__NR_eventfd2 => fs::eventfd::sys_eventfd2(a0 as u32, a1 as u32),
        unistd::__NR_utimensat => fs::utimes::sys_utimensat(a0 as i32, a1, a2, a3 as u32),
        unistd::__NR_fallocate => {
            fs::truncate::sys_fallocate(a0 as i32, a1 as u32, a2 as i64, a3 as i64)
        }
        unistd::__NR_epoll_create => fs::eventpoll::sys_epoll_create(a0 as i32),
        unistd::__NR_epoll_create1 => fs::eventpoll::sys_epoll_create1(a0 as u32),
        unistd::__NR_epoll_ctl => fs::eventpoll::sys_epoll_ctl(a0 as i32, a1 as i32, a2 as i32, a3),
        unistd::__NR_epoll_wait => {
            fs::eventpoll::sys_epoll_wait(a0 as i32, a1, a2 as i32, a3 as i32)
        }
        unistd::__NR_epoll_pwait => {
            fs::eventpoll::sys_epoll_pwait(a0 as i32, a1, a2 as i32, a3 as i32, a4, a5)
        }
        unistd::__NR_dup3 => fs::fcntl::sys_dup3(a0 as i32, a1 as i32, a2 as u32),
        unistd::__NR_pipe2 => fs::fcntl::sys_pipe2(a0, a1 as u32),
        unistd::__NR_preadv => fs::read_write::sys_preadv(a0 as i32, a1, a2, a3, a4),
        unistd::__NR_pwritev => fs::read_write::sys_pwritev(a0 as i32, a1, a2, a3, a4),
        unistd::__NR_rt_tgsigqueueinfo => {
            signal::sys_rt_tgsigqueueinfo(a0 as i32, a1 as i32, a2 as i32, a3)
        }
        unistd::__NR_prlimit64 => sys::sys_prlimit64(a0 as i32, a1 as u32, a2, a3),
        unistd::__NR_sched_setattr => sched::syscalls::sys_sched_setattr(a0 as i32, a1, a2 as u32),
        unistd::__NR_sched_getattr => {
            sched::syscalls::sys_sched_getattr(a0 as i32, a1, a2 as u32, a3 as u32)
        }
        unistd::__NR_renameat2 => {
            fs::rename::sys_renameat2(a0 as i32, a1, a2 as i32, a3, a4 as u32)
        }
        unistd::__NR_getrandom => sys::sys_getrandom(a0, a1),
        unistd::__NR_execveat => {
            let flags = a4 as u32;
            fs::exec::do_execveat_common(a0 as i32, a1, a2, a3, flags, regs).map(|()| 0)
        }
        // rseq: restartable sequences are not modelled; libcs probe for them.
        unistd::__NR_statx => fs::stat::sys_statx(a0 as i32, a1, a2 as u32, a3 as u32, a4),
        unistd::__NR_rseq => Err(Errno::ENOSYS),
        unistd::__NR_pidfd_send_signal => {
            signal::sys_pidfd_send_signal(a0 as i32, a1 as i32, a2, a3 as u32)
        }
        unistd::__NR_pidfd_open => crate::pidfd::sys_pidfd_open(a0 as i32, a1 as u32),
        unistd::__NR_pidfd_getfd => crate::pidfd::sys_pidfd_getfd(a0 as i32, a1 as i32, a2 as u32),
        unistd::__NR_unshare => crate::fork::sys_unshare(a0),
        unistd::__NR_setns => crate::nsproxy::sys_setns(a0 as i32, a1 as i32),
        unistd::__NR_getcpu => sched::syscalls::sys_getcpu(a0, a1, a2),
        unistd::__NR_process_vm_readv => {
            crate::ptrace::sys_process_vm_readv(a0 as i32, a1, a2, a3, a4, a5)
        }
        unistd::__NR_process_vm_writev => {
            crate::ptrace::sys_process_vm_writev(a0 as i32, a1, a2, a3, a4, a5)
        }
        unistd::__NR_clone3 => fork::sys_clone3(a0, a1, regs),
        unistd::__NR_close_range => fs::fcntl::sys_close_range(a0 as u32, a1 as u32, a2 as u32),
        unistd::__NR_faccessat2 => fs::stat::sys_faccessat2(a0 as i32, a1, a2 as u32, a3 as u32),
        unistd::__NR_futex_waitv => crate::futex::waitv::sys_futex_waitv(a0, a1, a2, a3, a4),
        unistd::__NR_fchmodat2 => fs::attr::sys_fchmodat2(a0 as i32, a1, a2 as u32, a3 as u32),
        _ => {
            report_unknown(nr);
            Err(Errno::ENOSYS)
        }
    }
}

/// madvise(2): advice about how memory will be used.
///
/// Linux: SYSCALL_DEFINE3(madvise) in mm/madvise.c
/// Differs: a stub. No advice is checked or acted on; after MADV_DONTNEED
/// the pages keep their contents, where Linux gives zero-filled ones.
fn sys_madvise(_start: u64, _len: u64, _behavior: i32) -> SysResult {
    Ok(0)
}

/// sync(2): write every dirty buffer back to disk.
///
/// Linux: SYSCALL_DEFINE0(sync) / ksys_sync() in fs/sync.c
/// Differs: a stub, and a true one: every file lives in memory (the
/// initramfs, /tmp), so there is nothing to write back.
fn sys_sync() -> SysResult {
    Ok(0)
}
