//! The x86_64 system-call numbers, by Linux's names: the ABI every static
//! binary is built against. Only the calls the table in `syscall.rs` serves
//! are listed; any other number gets ENOSYS.
//!
//! Linux: arch/x86/include/generated/uapi/asm/unistd_64.h, generated from
//! arch/x86/entry/syscalls/syscall_64.tbl
#![allow(non_upper_case_globals)]

/// read(2)
pub const __NR_read: u64 = 0;
/// write(2)
pub const __NR_write: u64 = 1;
/// open(2)
pub const __NR_open: u64 = 2;
/// close(2)
pub const __NR_close: u64 = 3;
/// stat(2)
pub const __NR_stat: u64 = 4;
/// fstat(2)
pub const __NR_fstat: u64 = 5;
/// lstat(2)
pub const __NR_lstat: u64 = 6;
/// poll(2)
pub const __NR_poll: u64 = 7;
/// lseek(2)
pub const __NR_lseek: u64 = 8;
/// mmap(2)
pub const __NR_mmap: u64 = 9;
/// mprotect(2)
pub const __NR_mprotect: u64 = 10;
/// munmap(2)
pub const __NR_munmap: u64 = 11;
/// brk(2)
pub const __NR_brk: u64 = 12;
/// rt_sigaction(2)
pub const __NR_rt_sigaction: u64 = 13;
/// rt_sigprocmask(2)
pub const __NR_rt_sigprocmask: u64 = 14;
/// rt_sigreturn(2)
pub const __NR_rt_sigreturn: u64 = 15;
/// ioctl(2)
pub const __NR_ioctl: u64 = 16;
/// pread64(2)
pub const __NR_pread64: u64 = 17;
/// pwrite64(2)
pub const __NR_pwrite64: u64 = 18;
/// readv(2)
pub const __NR_readv: u64 = 19;
/// writev(2)
pub const __NR_writev: u64 = 20;
/// access(2)
pub const __NR_access: u64 = 21;
/// pipe(2)
pub const __NR_pipe: u64 = 22;
/// select(2)
pub const __NR_select: u64 = 23;
/// sched_yield(2)
pub const __NR_sched_yield: u64 = 24;
/// msync(2)
pub const __NR_msync: u64 = 26;
/// madvise(2)
pub const __NR_madvise: u64 = 28;
/// shmget(2)
pub const __NR_shmget: u64 = 29;
/// shmat(2)
pub const __NR_shmat: u64 = 30;
/// shmctl(2)
pub const __NR_shmctl: u64 = 31;
/// dup(2)
pub const __NR_dup: u64 = 32;
/// dup2(2)
pub const __NR_dup2: u64 = 33;
/// pause(2)
pub const __NR_pause: u64 = 34;
/// nanosleep(2)
pub const __NR_nanosleep: u64 = 35;
/// getitimer(2)
pub const __NR_getitimer: u64 = 36;
/// alarm(2)
pub const __NR_alarm: u64 = 37;
/// setitimer(2)
pub const __NR_setitimer: u64 = 38;
/// getpid(2)
pub const __NR_getpid: u64 = 39;
/// sendfile(2)
pub const __NR_sendfile: u64 = 40;
/// clone(2)
pub const __NR_clone: u64 = 56;
/// fork(2)
pub const __NR_fork: u64 = 57;
/// vfork(2)
pub const __NR_vfork: u64 = 58;
/// execve(2)
pub const __NR_execve: u64 = 59;
/// exit(2)
pub const __NR_exit: u64 = 60;
/// wait4(2)
pub const __NR_wait4: u64 = 61;
/// kill(2)
pub const __NR_kill: u64 = 62;
/// uname(2)
pub const __NR_uname: u64 = 63;
/// shmdt(2)
pub const __NR_shmdt: u64 = 67;
/// fcntl(2)
pub const __NR_fcntl: u64 = 72;
/// fsync(2)
pub const __NR_fsync: u64 = 74;
/// fdatasync(2)
pub const __NR_fdatasync: u64 = 75;
/// truncate(2)
pub const __NR_truncate: u64 = 76;
/// ftruncate(2)
pub const __NR_ftruncate: u64 = 77;
/// getcwd(2)
pub const __NR_getcwd: u64 = 79;
/// chdir(2)
pub const __NR_chdir: u64 = 80;
/// fchdir(2)
pub const __NR_fchdir: u64 = 81;
/// rename(2)
pub const __NR_rename: u64 = 82;
/// mkdir(2)
pub const __NR_mkdir: u64 = 83;
/// rmdir(2)
pub const __NR_rmdir: u64 = 84;
/// creat(2)
pub const __NR_creat: u64 = 85;
/// link(2)
pub const __NR_link: u64 = 86;
/// unlink(2)
pub const __NR_unlink: u64 = 87;
/// symlink(2)
pub const __NR_symlink: u64 = 88;
/// readlink(2)
pub const __NR_readlink: u64 = 89;
/// chmod(2)
pub const __NR_chmod: u64 = 90;
/// fchmod(2)
pub const __NR_fchmod: u64 = 91;
/// chown(2)
pub const __NR_chown: u64 = 92;
/// fchown(2)
pub const __NR_fchown: u64 = 93;
/// lchown(2)
pub const __NR_lchown: u64 = 94;
/// umask(2)
pub const __NR_umask: u64 = 95;
/// gettimeofday(2)
pub const __NR_gettimeofday: u64 = 96;
/// getrlimit(2)
pub const __NR_getrlimit: u64 = 97;
/// getrusage(2)
pub const __NR_getrusage: u64 = 98;
/// sysinfo(2)
pub const __NR_sysinfo: u64 = 99;
/// times(2)
pub const __NR_times: u64 = 100;
/// ptrace(2)
pub const __NR_ptrace: u64 = 101;
/// getuid(2)
pub const __NR_getuid: u64 = 102;
/// syslog(2)
pub const __NR_syslog: u64 = 103;
/// getgid(2)
pub const __NR_getgid: u64 = 104;
/// setuid(2)
pub const __NR_setuid: u64 = 105;
/// setgid(2)
pub const __NR_setgid: u64 = 106;
/// geteuid(2)
pub const __NR_geteuid: u64 = 107;
/// getegid(2)
pub const __NR_getegid: u64 = 108;
/// setpgid(2)
pub const __NR_setpgid: u64 = 109;
/// getppid(2)
pub const __NR_getppid: u64 = 110;
/// getpgrp(2)
pub const __NR_getpgrp: u64 = 111;
/// setsid(2)
pub const __NR_setsid: u64 = 112;
/// setreuid(2)
pub const __NR_setreuid: u64 = 113;
/// setregid(2)
pub const __NR_setregid: u64 = 114;
/// getgroups(2)
pub const __NR_getgroups: u64 = 115;
/// setgroups(2)
pub const __NR_setgroups: u64 = 116;
/// setresuid(2)
pub const __NR_setresuid: u64 = 117;
/// getresuid(2)
pub const __NR_getresuid: u64 = 118;
/// setresgid(2)
pub const __NR_setresgid: u64 = 119;
/// getresgid(2)
pub const __NR_getresgid: u64 = 120;
/// getpgid(2)
pub const __NR_getpgid: u64 = 121;
/// setfsuid(2)
pub const __NR_setfsuid: u64 = 122;
/// setfsgid(2)
pub const __NR_setfsgid: u64 = 123;
/// getsid(2)
pub const __NR_getsid: u64 = 124;
/// capget(2)
pub const __NR_capget: u64 = 125;
/// capset(2)
pub const __NR_capset: u64 = 126;
/// rt_sigpending(2)
pub const __NR_rt_sigpending: u64 = 127;
/// rt_sigtimedwait(2)
pub const __NR_rt_sigtimedwait: u64 = 128;
/// rt_sigqueueinfo(2)
pub const __NR_rt_sigqueueinfo: u64 = 129;
/// rt_sigsuspend(2)
pub const __NR_rt_sigsuspend: u64 = 130;
/// sigaltstack(2)
pub const __NR_sigaltstack: u64 = 131;
/// statfs(2)
pub const __NR_statfs: u64 = 137;
/// fstatfs(2)
pub const __NR_fstatfs: u64 = 138;
/// utime(2)
pub const __NR_utime: u64 = 132;
/// mknod(2)
pub const __NR_mknod: u64 = 133;
/// getpriority(2)
pub const __NR_getpriority: u64 = 140;
/// setpriority(2)
pub const __NR_setpriority: u64 = 141;
/// personality(2)
pub const __NR_personality: u64 = 135;
/// sched_setparam(2)
pub const __NR_sched_setparam: u64 = 142;
/// sched_getparam(2)
pub const __NR_sched_getparam: u64 = 143;
/// sched_setscheduler(2)
pub const __NR_sched_setscheduler: u64 = 144;
/// sched_getscheduler(2)
pub const __NR_sched_getscheduler: u64 = 145;
/// sched_get_priority_max(2)
pub const __NR_sched_get_priority_max: u64 = 146;
/// sched_get_priority_min(2)
pub const __NR_sched_get_priority_min: u64 = 147;
/// sched_rr_get_interval(2)
pub const __NR_sched_rr_get_interval: u64 = 148;
/// prctl(2)
pub const __NR_prctl: u64 = 157;
/// arch_prctl(2)
pub const __NR_arch_prctl: u64 = 158;
/// setrlimit(2)
pub const __NR_setrlimit: u64 = 160;
/// sync(2)
pub const __NR_sync: u64 = 162;
/// mount(2)
pub const __NR_mount: u64 = 165;
/// reboot(2)
pub const __NR_reboot: u64 = 169;
/// sethostname(2)
pub const __NR_sethostname: u64 = 170;
/// setdomainname(2)
pub const __NR_setdomainname: u64 = 171;
/// gettid(2)
pub const __NR_gettid: u64 = 186;
/// tkill(2)
pub const __NR_tkill: u64 = 200;
/// time(2)
pub const __NR_time: u64 = 201;
/// futex(2)
pub const __NR_futex: u64 = 202;
/// sched_setaffinity(2)
pub const __NR_sched_setaffinity: u64 = 203;
/// sched_getaffinity(2)
pub const __NR_sched_getaffinity: u64 = 204;
/// epoll_create(2)
pub const __NR_epoll_create: u64 = 213;
/// getdents64(2)
pub const __NR_getdents64: u64 = 217;
/// set_tid_address(2)
pub const __NR_set_tid_address: u64 = 218;
/// restart_syscall(2)
pub const __NR_restart_syscall: u64 = 219;
/// timer_create(2)
pub const __NR_timer_create: u64 = 222;
/// timer_settime(2)
pub const __NR_timer_settime: u64 = 223;
/// timer_gettime(2)
pub const __NR_timer_gettime: u64 = 224;
/// timer_getoverrun(2)
pub const __NR_timer_getoverrun: u64 = 225;
/// timer_delete(2)
pub const __NR_timer_delete: u64 = 226;
/// clock_settime(2)
pub const __NR_clock_settime: u64 = 227;
/// clock_gettime(2)
pub const __NR_clock_gettime: u64 = 228;
/// clock_getres(2)
pub const __NR_clock_getres: u64 = 229;
/// clock_nanosleep(2)
pub const __NR_clock_nanosleep: u64 = 230;
/// exit_group(2)
pub const __NR_exit_group: u64 = 231;
/// epoll_wait(2)
pub const __NR_epoll_wait: u64 = 232;
/// epoll_ctl(2)
pub const __NR_epoll_ctl: u64 = 233;
/// tgkill(2)
pub const __NR_tgkill: u64 = 234;
/// utimes(2)
pub const __NR_utimes: u64 = 235;
/// waitid(2)
pub const __NR_waitid: u64 = 247;
/// openat(2)
pub const __NR_openat: u64 = 257;
/// mkdirat(2)
pub const __NR_mkdirat: u64 = 258;
/// mknodat(2)
pub const __NR_mknodat: u64 = 259;
/// fchownat(2)
pub const __NR_fchownat: u64 = 260;
/// futimesat(2)
pub const __NR_futimesat: u64 = 261;
/// newfstatat(2)
pub const __NR_newfstatat: u64 = 262;
/// unlinkat(2)
pub const __NR_unlinkat: u64 = 263;
/// renameat(2)
pub const __NR_renameat: u64 = 264;
/// linkat(2)
pub const __NR_linkat: u64 = 265;
/// symlinkat(2)
pub const __NR_symlinkat: u64 = 266;
/// readlinkat(2)
pub const __NR_readlinkat: u64 = 267;
/// fchmodat(2)
pub const __NR_fchmodat: u64 = 268;
/// faccessat(2)
pub const __NR_faccessat: u64 = 269;
/// pselect6(2)
pub const __NR_pselect6: u64 = 270;
/// ppoll(2)
pub const __NR_ppoll: u64 = 271;
/// unshare(2)
pub const __NR_unshare: u64 = 272;
/// set_robust_list(2)
pub const __NR_set_robust_list: u64 = 273;
/// get_robust_list(2)
pub const __NR_get_robust_list: u64 = 274;
/// signalfd(2)
pub const __NR_signalfd: u64 = 282;
/// signalfd4(2)
pub const __NR_signalfd4: u64 = 289;
/// utimensat(2)
pub const __NR_utimensat: u64 = 280;
/// timerfd_create(2)
pub const __NR_timerfd_create: u64 = 283;
/// eventfd(2)
pub const __NR_eventfd: u64 = 284;
/// fallocate(2)
pub const __NR_fallocate: u64 = 285;
/// timerfd_settime(2)
pub const __NR_timerfd_settime: u64 = 286;
/// timerfd_gettime(2)
pub const __NR_timerfd_gettime: u64 = 287;
/// eventfd2(2)
pub const __NR_eventfd2: u64 = 290;
/// epoll_pwait(2)
pub const __NR_epoll_pwait: u64 = 281;
/// epoll_create1(2)
pub const __NR_epoll_create1: u64 = 291;
/// dup3(2)
pub const __NR_dup3: u64 = 292;
/// pipe2(2)
pub const __NR_pipe2: u64 = 293;
/// preadv(2)
pub const __NR_preadv: u64 = 295;
/// pwritev(2)
pub const __NR_pwritev: u64 = 296;
/// rt_tgsigqueueinfo(2)
pub const __NR_rt_tgsigqueueinfo: u64 = 297;
/// prlimit64(2)
pub const __NR_prlimit64: u64 = 302;
/// setns(2)
pub const __NR_setns: u64 = 308;
/// getcpu(2)
pub const __NR_getcpu: u64 = 309;
/// process_vm_readv(2)
pub const __NR_process_vm_readv: u64 = 310;
/// process_vm_writev(2)
pub const __NR_process_vm_writev: u64 = 311;
/// sched_setattr(2)
pub const __NR_sched_setattr: u64 = 314;
/// sched_getattr(2)
pub const __NR_sched_getattr: u64 = 315;
/// renameat2(2)
pub const __NR_renameat2: u64 = 316;
/// getrandom(2)
pub const __NR_getrandom: u64 = 318;
/// execveat(2)
pub const __NR_execveat: u64 = 322;
/// statx(2)
pub const __NR_statx: u64 = 332;
/// rseq(2)
pub const __NR_rseq: u64 = 334;
/// pidfd_send_signal(2)
pub const __NR_pidfd_send_signal: u64 = 424;
/// pidfd_open(2)
pub const __NR_pidfd_open: u64 = 434;
/// clone3(2)
pub const __NR_clone3: u64 = 435;
/// close_range(2)
pub const __NR_close_range: u64 = 436;
/// pidfd_getfd(2)
pub const __NR_pidfd_getfd: u64 = 438;
/// faccessat2(2)
pub const __NR_faccessat2: u64 = 439;
/// futex_waitv(2)
pub const __NR_futex_waitv: u64 = 449;
/// fchmodat2(2)
pub const __NR_fchmodat2: u64 = 452;
