/*
 * sys_fuzz: a seeded random system-call fuzzer. No call a user program
 * makes may crash or hang the kernel, or leak a page.
 *
 *     sys_fuzz [SEED [N [FIRST_BATCH [v|m]]]]   (default: seed 1, 20 batches from 0)
 *
 * Runs batches FIRST_BATCH .. FIRST_BATCH+N-1. Each batch is a forked child,
 * in its own process group, that makes CALLS_PER_BATCH random system calls
 * drawn from a generator seeded with (SEED, batch), so that any batch can be
 * replayed on its own: `sys_fuzz SEED 1 K v` replays batch K and prints
 * each call before making it; `m` prints the free memory after each batch,
 * to find the one that leaks. The line `sys_fuzz: seed S batch K` comes
 * before each batch, so the last one on the console names the batch a
 * kernel panic or hang happened in.
 *
 * Calls are biased toward the ones the kernel implements (the table below,
 * kernel/src/syscall.rs) and their arguments toward edge values: bad
 * pointers (NULL, unmapped, read-only, kernel half, non-canonical, the
 * last bytes of a mapping), huge lengths, valid and invalid fds and pids,
 * random flags. After each batch the parent kills what is left of it (a
 * child subreaper, so that orphans come back to it) and removes the files
 * it made. The first batch warms the kernel up; the free pages and the
 * task count after it must be the same after the last one.
 *
 * Never touched: reboot, and any signal, group or limit aimed at the
 * fuzzer itself, init or everybody (-1). On Linux, where this runs as root
 * on a real machine, only a safe subset runs: the table's calls marked
 * HOST, with paths relative to a scratch directory, pids of the batch's own
 * processes, and a cap on address space and file size; and at most
 * HOST_BATCHES batches.
 */
#include "check.h"
#include "splitmix64.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>

#define CALLS_PER_BATCH 64
#define BATCH_DEADLINE_MS 400
#define CLEANUP_DEADLINE_MS 2000
#define BUF_SIZE 65536
#define PAGE 4096
#define ALL_CALLS_DONE 42 /* the batch child's exit code after its last call */
#define HIGHEST_NR 462
#define HOST_BATCHES 50

typedef uint64_t u64;

/* splitmix64: a small generator whose whole state is one number. */
#define PICK(array) ((array)[below(sizeof(array) / sizeof((array)[0]))])

/* What an argument is, so that it can be chosen near the edges. */
enum kind {
	ANY, FD, DIRFD, PATH, BUF, LEN, INT, FLAGS, PID, SIG, ADDR, IOV, ARGV,
	TIMESPEC, CLONE_ARGS, NONE,
	/* Shapes of their own: clone3's size, ptrace requests, ioctl commands
	 * (tty and pipe ones), mremap flags, wait options and id types, a
	 * stack_t for sigaltstack. */
	CLONE3_SIZE, PTRACE_REQ, IOCTL_CMD, MREMAP_FLAGS, WAIT_OPTIONS, ID_TYPE, STACK_T,
	/* For the anon-inode files: the flags of a call that makes one
	 * (O_CLOEXEC, O_NONBLOCK, EFD_SEMAPHORE), a clock, timerfd_settime's
	 * flags and itimerspec, a signal set and its size, the batch's epoll
	 * and timerfd and signalfd (or -1 for a new one), what epoll_ctl
	 * watches (often an epoll: nests and loops), its op and event, a
	 * timeout in ms. */
	NEW_FD_FLAGS, CLOCK_ID, TFD_FLAGS, ITIMERSPEC, SIGSET, SIGSET_SIZE, EPOLL_FD, TIMER_FD,
	SIGNAL_FD, WATCH_FD, EPOLL_OP, EPOLL_EVENT, TIMEOUT_MS
};

struct sig {
	int nr;
	int weight;
	int host; /* safe on a real Linux machine as root, with the rules above */
	const char *name;
	enum kind arg[6];
};

#define HOST 1
#define GUEST 0

/* The calls the kernel implements (kernel/src/syscall.rs), and how to aim them. */
static const struct sig table[] = {
	{ 0, 6, HOST, "read", { FD, BUF, LEN } },
	{ 1, 6, HOST, "write", { FD, BUF, LEN } },
	{ 2, 4, HOST, "open", { PATH, FLAGS, INT } },
	{ 3, 4, HOST, "close", { FD } },
	{ 4, 2, HOST, "stat", { PATH, BUF } },
	{ 5, 2, HOST, "fstat", { FD, BUF } },
	{ 6, 2, HOST, "lstat", { PATH, BUF } },
	{ 7, 3, HOST, "poll", { BUF, LEN, INT } },
	{ 8, 3, HOST, "lseek", { FD, ANY, INT } },
	{ 9, 6, HOST, "mmap", { ADDR, LEN, FLAGS, FLAGS, FD, ANY } },
	{ 10, 4, HOST, "mprotect", { ADDR, LEN, FLAGS } },
	{ 11, 4, HOST, "munmap", { ADDR, LEN } },
	{ 12, 3, HOST, "brk", { ADDR } },
	{ 25, 3, HOST, "mremap", { ADDR, LEN, LEN, MREMAP_FLAGS, ADDR } },
	{ 13, 4, HOST, "rt_sigaction", { SIG, BUF, BUF, LEN } },
	{ 14, 3, HOST, "rt_sigprocmask", { INT, BUF, BUF, LEN } },
	{ 15, 1, HOST, "rt_sigreturn", { NONE } },
	{ 16, 5, GUEST, "ioctl", { FD, IOCTL_CMD, BUF } },
	{ 17, 3, HOST, "pread64", { FD, BUF, LEN, ANY } },
	{ 19, 3, HOST, "readv", { FD, IOV, LEN } },
	{ 20, 3, HOST, "writev", { FD, IOV, LEN } },
	{ 21, 2, HOST, "access", { PATH, INT } },
	{ 22, 2, HOST, "pipe", { BUF } },
	{ 24, 1, HOST, "sched_yield", { NONE } },
	{ 28, 1, GUEST, "madvise", { ADDR, LEN, INT } },
	{ 32, 2, HOST, "dup", { FD } },
	{ 33, 2, HOST, "dup2", { FD, FD } },
	{ 34, 1, HOST, "pause", { NONE } },
	{ 35, 2, HOST, "nanosleep", { TIMESPEC, BUF } },
	{ 39, 1, HOST, "getpid", { NONE } },
	{ 40, 3, HOST, "sendfile", { FD, FD, BUF, LEN } },
	{ 56, 3, GUEST, "clone", { FLAGS, ADDR, BUF, BUF, ANY } },
	{ 57, 2, HOST, "fork", { NONE } },
	{ 58, 2, HOST, "vfork", { NONE } },
	{ 59, 3, HOST, "execve", { PATH, ARGV, ARGV } },
	{ 60, 1, HOST, "exit", { INT } },
	{ 61, 4, HOST, "wait4", { PID, BUF, WAIT_OPTIONS, BUF } },
	{ 62, 4, HOST, "kill", { PID, SIG } },
	{ 63, 1, HOST, "uname", { BUF } },
	{ 72, 4, HOST, "fcntl", { FD, INT, ANY } },
	{ 79, 2, HOST, "getcwd", { BUF, LEN } },
	{ 80, 1, GUEST, "chdir", { PATH } },
	{ 83, 2, HOST, "mkdir", { PATH, INT } },
	{ 84, 2, HOST, "rmdir", { PATH } },
	{ 85, 2, HOST, "creat", { PATH, INT } },
	{ 87, 2, HOST, "unlink", { PATH } },
	{ 89, 2, HOST, "readlink", { PATH, BUF, LEN } },
	{ 95, 1, HOST, "umask", { INT } },
	{ 96, 1, HOST, "gettimeofday", { BUF } },
	{ 97, 2, HOST, "getrlimit", { INT, BUF } },
	{ 99, 1, HOST, "sysinfo", { BUF } },
	{ 100, 1, HOST, "times", { BUF } },
	{ 101, 4, GUEST, "ptrace", { PTRACE_REQ, PID, ADDR, BUF } },
	{ 102, 1, HOST, "getuid", { NONE } },
	{ 109, 3, HOST, "setpgid", { PID, PID } },
	{ 110, 1, HOST, "getppid", { NONE } },
	{ 111, 1, HOST, "getpgrp", { NONE } },
	{ 112, 2, HOST, "setsid", { NONE } },
	{ 121, 2, HOST, "getpgid", { PID } },
	{ 124, 2, HOST, "getsid", { PID } },
	{ 130, 1, HOST, "rt_sigsuspend", { BUF, LEN } },
	{ 131, 3, HOST, "sigaltstack", { STACK_T, BUF } },
	{ 213, 1, HOST, "epoll_create", { INT } },
	{ 157, 3, HOST, "prctl", { INT, ANY, ANY, ANY, ANY } },
	{ 158, 2, HOST, "arch_prctl", { INT, ADDR } },
	{ 160, 2, GUEST, "setrlimit", { INT, BUF } },
	{ 186, 1, HOST, "gettid", { NONE } },
	{ 200, 2, HOST, "tkill", { PID, SIG } },
	{ 201, 1, HOST, "time", { BUF } },
	{ 202, 4, HOST, "futex", { BUF, INT, ANY, TIMESPEC, BUF, ANY } },
	{ 204, 2, HOST, "sched_getaffinity", { PID, LEN, BUF } },
	{ 217, 3, HOST, "getdents64", { FD, BUF, LEN } },
	{ 218, 1, HOST, "set_tid_address", { BUF } },
	{ 228, 2, HOST, "clock_gettime", { INT, BUF } },
	{ 230, 2, HOST, "clock_nanosleep", { INT, FLAGS, TIMESPEC, BUF } },
	{ 231, 1, HOST, "exit_group", { INT } },
	{ 232, 3, HOST, "epoll_wait", { EPOLL_FD, BUF, LEN, TIMEOUT_MS } },
	{ 233, 10, HOST, "epoll_ctl", { EPOLL_FD, EPOLL_OP, WATCH_FD, EPOLL_EVENT } },
	{ 234, 3, HOST, "tgkill", { PID, PID, SIG } },
	{ 247, 3, HOST, "waitid", { ID_TYPE, PID, BUF, WAIT_OPTIONS, BUF } },
	{ 257, 5, HOST, "openat", { DIRFD, PATH, FLAGS, INT } },
	{ 258, 2, HOST, "mkdirat", { DIRFD, PATH, INT } },
	{ 262, 2, HOST, "newfstatat", { DIRFD, PATH, BUF, FLAGS } },
	{ 263, 2, HOST, "unlinkat", { DIRFD, PATH, FLAGS } },
	{ 267, 2, HOST, "readlinkat", { DIRFD, PATH, BUF, LEN } },
	{ 269, 2, HOST, "faccessat", { DIRFD, PATH, INT } },
	{ 273, 1, HOST, "set_robust_list", { BUF, LEN } },
	{ 281, 2, HOST, "epoll_pwait", { EPOLL_FD, BUF, LEN, TIMEOUT_MS, SIGSET, SIGSET_SIZE } },
	{ 282, 1, HOST, "signalfd", { SIGNAL_FD, SIGSET, SIGSET_SIZE } },
	{ 283, 2, HOST, "timerfd_create", { CLOCK_ID, NEW_FD_FLAGS } },
	{ 284, 1, HOST, "eventfd", { INT } },
	{ 286, 4, HOST, "timerfd_settime", { TIMER_FD, TFD_FLAGS, ITIMERSPEC, BUF } },
	{ 287, 2, HOST, "timerfd_gettime", { TIMER_FD, BUF } },
	{ 289, 2, HOST, "signalfd4", { SIGNAL_FD, SIGSET, SIGSET_SIZE, NEW_FD_FLAGS } },
	{ 290, 2, HOST, "eventfd2", { INT, NEW_FD_FLAGS } },
	{ 291, 2, HOST, "epoll_create1", { NEW_FD_FLAGS } },
	{ 292, 2, HOST, "dup3", { FD, FD, FLAGS } },
	{ 293, 2, HOST, "pipe2", { BUF, FLAGS } },
	{ 302, 2, GUEST, "prlimit64", { PID, INT, BUF, BUF } },
	{ 318, 3, HOST, "getrandom", { BUF, LEN, FLAGS } },
	{ 434, 2, HOST, "pidfd_open", { PID, FLAGS } },
	{ 435, 3, GUEST, "clone3", { CLONE_ARGS, CLONE3_SIZE } },
};

/* Calls whose pid arguments could reach the fuzzer, init or everybody:
 * those arguments are checked (as the kernel reads them, an int) and
 * turned into the batch's own pid. Bit i set: argument i is a pid. */
static const struct {
	int nr;
	int pid_args;
} aimed[] = {
	{ 62, 1 }, { 101, 2 }, { 109, 3 }, { 129, 1 }, { 141, 2 }, { 142, 1 },
	{ 144, 1 }, { 200, 1 }, { 203, 1 }, { 234, 3 }, { 251, 2 }, { 256, 1 },
	{ 279, 1 }, { 297, 3 }, { 302, 1 }, { 310, 1 }, { 311, 1 }, { 312, 3 },
	{ 434, 1 }, { 438, 0 },
};

/* Never made: the whole machine goes down. */
static int never(u64 nr)
{
	return nr == SYS_reboot;
}

/* What a batch child has to aim at; set up fresh in each batch. */
static struct {
	int host;
	pid_t self, fuzzer, fuzzer_pgid;
	char *rw;   /* BUF_SIZE bytes, read-write, random */
	char *ro;   /* one read-only page */
	char *edge; /* a page followed by an unmapped one */
	char *gone; /* an unmapped page */
	char *arrays; /* a page followed by an unmapped one, for argv arrays */
	int fds[32], nfds;
	int epfd[2], tfd, sfd; /* the batch's epolls, timerfd and signalfd */
	pid_t kids[8];
	int nkids;
	int console; /* the console, for `v`, or -1 */
} env;

static const char *guest_paths[] = {
	"/", "/proc", "/proc/self", "/proc/self/stat", "/proc/1/stat",
	"/proc/meminfo", "/nonexistent/x", "/bin", "/dev/tty",
	"/proc/self/maps", "/proc/self/mem", "/proc/self/status", "/proc/self/cmdline",
	"/proc/self/environ", "/proc/self/auxv", "/proc/self/fd", "/proc/self/task",
	"/proc/1/maps", "/proc/stat", "/proc/uptime", "/proc/loadavg",
};
/* /proc files opened in each batch, read at random offsets and sizes. */
static const char *proc_files[] = {
	"/proc/self/maps", "/proc/self/mem", "/proc/self/status", "/proc/self/cmdline",
	"/proc/self/environ", "/proc/self/auxv", "/proc/1/stat", "/proc/meminfo",
};
static const char *own_paths[] = {
	"f0", "f1", "d0", "d0/f2", "d0/d1", "f0/x", ".", "", "nope", "\xff\xfe",
	"d0//f3",
};
static char long_path[5000];

static const u64 edge_values[] = {
	0, 1, 2, 3, 7, 8, 16, 63, 64, 255, 256, 4095, 4096, 4097, 65536,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 1ULL << 47,
	(1ULL << 47) - 4096, 1ULL << 63, (1ULL << 63) - 1, ~0ULL, ~0ULL - 4095,
	~0ULL - 1, 0xffffffff80000000, 0xffff800000000000, 0x0000800000000000,
	0x7fffffffffffffff, (u64)-100,
};

static const u64 bad_pointers[] = {
	0, 1, 0xfff, 0x1000, 0x10000, 0xffff800000000000, 0xffffffff80000000,
	0xffffffffff600000, ~0ULL, ~0ULL - 4095, 0x0000800000000000,
	0x8000000000000000, 0x00007ffffffff000, 0x00007fffffffffff,
	0xdead0000dead0000,
};

static u64 edge(void)
{
	switch (below(4)) {
	case 0: return below(300);
	case 1: return next();
	default: return PICK(edge_values);
	}
}

static u64 bad_pointer(void)
{
	switch (below(6)) {
	case 0: return (u64)env.gone + below(PAGE);
	case 1: return (u64)env.edge + PAGE - 1 - below(16);
	case 2: return (u64)env.ro + below(PAGE);
	case 3: return next();
	default: return PICK(bad_pointers);
	}
}

static u64 buffer(void)
{
	if (below(2))
		return (u64)env.rw + below(BUF_SIZE);
	return bad_pointer();
}

static u64 length(void)
{
	static const u64 sizes[] = { 0, 1, 8, 16, 64, 512, 4095, 4096, 4097, BUF_SIZE };
	switch (below(3)) {
	case 0: return below(300);
	case 1: return PICK(sizes);
	default: return edge();
	}
}

static u64 flags(void)
{
	switch (below(5)) {
	case 0: return 0;
	case 1: return 1ULL << below(64);
	case 2: return next();
	default: return next() & next() & next() & 0xffffffff;
	}
}

static u64 fd(void)
{
	static const u64 bad[] = { -1, -100, 0x7fffffff, 0x80000000, 1024, 1 << 20, 0xffffffff };
	if (env.nfds > 0 && below(4) != 0)
		return env.fds[below(env.nfds)];
	return below(2) ? below(64) : PICK(bad);
}

static u64 path(void)
{
	if (below(5) == 0)
		return bad_pointer();
	if (below(8) == 0)
		return (u64)long_path;
	if (!env.host && below(3) == 0)
		return (u64)PICK(guest_paths);
	return (u64)PICK(own_paths);
}

static u64 pid(void)
{
	u64 safe[] = { env.self, 0, -(u64)env.self, 0x7fffffff, 0x80000000, -0x7fffffffULL,
		       env.nkids ? env.kids[below(env.nkids)] : 0 };
	if (!env.host && below(3) == 0)
		return below(2) ? below(200) : edge();
	return PICK(safe);
}

static u64 sig(void)
{
	static const u64 sigs[] = { 0, SIGKILL, SIGSTOP, SIGCONT, SIGCHLD, SIGUSR1, SIGSEGV,
				    64, 65, -1, 0x80000000, 1000 };
	return below(2) ? below(66) : PICK(sigs);
}

static u64 address(void)
{
	switch (below(5)) {
	case 0: return 0;
	case 1: return (u64)env.rw + PAGE * below(BUF_SIZE / PAGE);
	case 2: return below(1ULL << 35) * PAGE;
	default: return bad_pointer() & ~(u64)(PAGE - 1);
	}
}

/* An iovec array in the buffer: some entries good, some not. */
static u64 iovec_array(void)
{
	if (below(4) == 0)
		return bad_pointer();
	struct iovec *v = (struct iovec *)(env.rw + 8 * PAGE);
	for (int i = 0; i < 8; i++) {
		v[i].iov_base = (void *)(below(3) ? (u64)env.rw + below(BUF_SIZE / 2) : bad_pointer());
		v[i].iov_len = below(3) ? below(512) : length();
	}
	return (u64)v;
}

/* An argv/envp array: strings, a bad element, or a bad array; or one
 * past ARG_MAX (thousands of long strings), or one with no NULL that runs
 * into an unmapped page, or whose last string does. */
static u64 argv_array(void)
{
	if (below(4) == 0)
		return below(2) ? 0 : bad_pointer();
	if (below(6) == 0) {
		u64 *v = (u64 *)(env.rw + 12 * PAGE), max = (BUF_SIZE - 12 * PAGE) / 8 - 1;
		u64 n = below(2) ? max : below(max);
		for (u64 i = 0; i < n; i++)
			v[i] = below(2) ? (u64)long_path : (u64)PICK(own_paths);
		v[n] = 0;
		return (u64)v;
	}
	if (below(5) == 0) {
		int n = 1 + below(PAGE / 8);
		u64 *v = (u64 *)(env.arrays + PAGE) - n;
		for (int i = 0; i < n; i++)
			v[i] = below(3) ? (u64)PICK(own_paths) : (u64)env.edge + PAGE - 1 - below(64);
		return (u64)v;
	}
	u64 *v = (u64 *)(env.rw + 9 * PAGE);
	int n = below(6);
	for (int i = 0; i < n; i++)
		v[i] = below(4) ? (u64)PICK(own_paths) : bad_pointer();
	v[n] = below(8) ? 0 : bad_pointer();
	return (u64)v;
}

static u64 timespec(void)
{
	static const long ts[][2] = { { 0, 0 }, { 0, 1000000 }, { 0, 999999999 },
				      { 0, 1000000000 }, { -1, 0 }, { 0, -1 },
				      { 0x7fffffffffffffff, 999999999 } };
	if (below(4) == 0)
		return bad_pointer();
	long *t = (long *)(env.rw + 10 * PAGE);
	int i = below(sizeof ts / sizeof ts[0]);
	t[0] = ts[i][0];
	t[1] = ts[i][1];
	return (u64)t;
}

/* struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
 * stack, stack_size, tls, set_tid, set_tid_size, cgroup. */
static u64 clone_args(void)
{
	if (below(4) == 0)
		return bad_pointer();
	u64 *a = (u64 *)(env.rw + 11 * PAGE);
	u64 exit_signal = below(2) ? SIGCHLD : sig();
	u64 v[11] = { flags(), buffer(), buffer(), buffer(), exit_signal,
		      below(2) ? 0 : address(), below(2) ? 0 : length(), below(2) ? 0 : next(),
		      below(2) ? 0 : buffer(), below(2) ? 0 : below(4), below(4) ? 0 : next() };
	memcpy(a, v, sizeof v);
	return (u64)a;
}

static u64 ptrace_request(void)
{
	/* TRACEME to SEIZE, the 0x42xx ones, and around them. */
	static const u64 reqs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19,
				    24, 31, 0x4200, 0x4201, 0x4202, 0x4203, 0x4204, 0x4205,
				    0x4206, 0x4207, 0x4208, 0x4209, 0x420a, 0x420b, 0x420c,
				    0x420e, 0x420f, 0x4210, 0x4211, 0x4212 };
	return below(8) ? PICK(reqs) : edge();
}

static u64 ioctl_cmd(void)
{
	/* The tty's 0x54xx commands and the generic FIO* ones, encoded
	 * ones with sizes and directions, or anything. */
	switch (below(4)) {
	case 0: return 0x5401 + below(0x60);
	case 1: return PICK(((const u64[]){ 0x5421, 0x541b, 0x5450, 0x5451, 0x5452, 0x80045430,
					     0x40045431, 0x80086601, 0x5413, 0x5414 }));
	case 2: return (below(4) << 30) | (below(0x4000) << 16) | (below(256) << 8) | below(256);
	default: return flags();
	}
}

/* A stack_t (ss_sp, ss_flags, ss_size) near the edges. */
static u64 stack_t_arg(void)
{
	if (below(4) == 0)
		return bad_pointer();
	u64 *ss = (u64 *)(env.rw + 10 * PAGE + 64);
	static const u64 sizes[] = { 0, 2047, 2048, 8192, 1 << 20, ~0ULL, 0x7fffffffffffffff };
	ss[0] = below(2) ? (u64)env.rw + below(BUF_SIZE) : bad_pointer();
	((int *)ss)[2] = below(2) ? PICK(((const int[]){ 0, 1, 2, 1 << 31, 3 })) : (int)flags();
	ss[2] = below(2) ? PICK(sizes) : length();
	return (u64)ss;
}

/* O_CLOEXEC, O_NONBLOCK and EFD_SEMAPHORE (which is also O_RDONLY's
 * neighbour O_WRONLY, as signalfd4 and epoll_create1 see it). */
static u64 new_fd_flags(void)
{
	static const u64 bits[] = { 02000000, 04000, 1 };
	u64 f = 0;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		f |= below(2) ? bits[i] : 0;
	return below(6) ? f : flags();
}

/* A clock: the ones timerfd takes, the _ALARM ones, and the rest. */
static u64 clock_id(void)
{
	static const u64 ids[] = { 0, 1, 7, 8, 9, 2, 3, 4, 5, 6, 11, 12, -1, -6, (u64)-4 << 32 };
	return below(6) ? PICK(ids) : edge();
}

/* One timespec of an itimerspec: mostly short, so timers fire in a batch. */
static void itimer_part(long *t)
{
	static const long ts[][2] = { { 0, 0 }, { 0, 1 }, { 0, 1000000 }, { 0, 20000000 },
				      { 1, 0 }, { 0, 999999999 }, { 0, 1000000000 }, { -1, 0 },
				      { 0, -1 }, { 0x7fffffffffffffff, 999999999 } };
	int i = below(4) ? below(5) : below(sizeof ts / sizeof ts[0]);
	t[0] = ts[i][0];
	t[1] = ts[i][1];
}

/* struct itimerspec: interval, then value. */
static u64 itimerspec(void)
{
	if (below(6) == 0)
		return bad_pointer();
	long *t = (long *)(env.rw + 10 * PAGE + 128);
	itimer_part(t);
	itimer_part(t + 2);
	return (u64)t;
}

/* A signal set: the signals the batch catches or gets, SIGKILL and
 * SIGSTOP (which a signalfd or epoll_pwait must not take), or any. */
static u64 signal_set(void)
{
	if (below(5) == 0)
		return below(2) ? 0 : bad_pointer();
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGKILL, SIGSTOP, SIGPIPE, 34 };
	u64 *set = (u64 *)(env.rw + 10 * PAGE + 192);
	*set = 0;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		*set |= below(3) ? 0 : 1ULL << (sigs[i] - 1);
	if (below(4) == 0)
		*set = next();
	return (u64)set;
}

/* struct epoll_event (packed: events, then 64 bits of data) with the
 * events epoll_ctl knows: IN, PRI, OUT, ERR, HUP, RDHUP, EXCLUSIVE,
 * WAKEUP, ONESHOT, ET. */
static u64 epoll_event_arg(void)
{
	if (below(6) == 0)
		return bad_pointer();
	static const uint32_t bits[] = { 1, 2, 4, 8, 0x10, 0x2000, 1U << 28, 1U << 29, 1U << 30,
					 1U << 31 };
	uint32_t events = 0;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		events |= below(3) ? 0 : bits[i];
	char *e = env.rw + 10 * PAGE + 256;
	events = below(8) ? events : (uint32_t)next();
	memcpy(e, &events, 4);
	u64 data = next();
	memcpy(e + 4, &data, 8);
	return (u64)e;
}

/* The batch's file of a kind a call wants, mostly, or any fd. */
static u64 fd_of(int want)
{
	return below(4) ? (u64)want : fd();
}

static u64 argument(enum kind kind)
{
	switch (kind) {
	case CLONE3_SIZE: return PICK(((const u64[]){ 0, 63, 64, 72, 80, 88, 96, 4096, 4097,
						       BUF_SIZE, length() }));
	case PTRACE_REQ: return ptrace_request();
	case IOCTL_CMD: return ioctl_cmd();
	case MREMAP_FLAGS: return below(2) ? below(8) : flags();
	case WAIT_OPTIONS: {
		/* WNOHANG mostly (a batch has its deadline), and any of WUNTRACED,
		 * WEXITED, WCONTINUED, WNOWAIT, __WNOTHREAD, __WALL, __WCLONE. */
		static const u64 bits[] = { 2, 4, 8, 0x1000000, 0x20000000, 0x40000000, 0x80000000 };
		u64 o = below(4) ? 1 : 0;
		for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
			o |= below(3) ? 0 : bits[i];
		return below(8) ? o : flags();
	}
	case ID_TYPE: return below(4) ? below(5) : edge();
	case STACK_T: return stack_t_arg();
	case NEW_FD_FLAGS: return new_fd_flags();
	case CLOCK_ID: return clock_id();
	case TFD_FLAGS: return below(6) ? below(4) : flags();
	case ITIMERSPEC: return itimerspec();
	case SIGSET: return signal_set();
	case SIGSET_SIZE: return below(4) ? 8 : length();
	case EPOLL_FD: return fd_of(env.epfd[below(2)]);
	case TIMER_FD: return fd_of(env.tfd);
	case SIGNAL_FD: return below(2) ? (u64)-1 : fd_of(env.sfd);
	case WATCH_FD: return below(2) ? fd() : (u64)env.epfd[below(2)];
	case EPOLL_OP: return below(6) ? 1 + below(3) : edge();
	case EPOLL_EVENT: return epoll_event_arg();
	case TIMEOUT_MS: /* mostly short: any negative one waits for good */
		return below(8) ? PICK(((const u64[]){ 0, 0, 1, 5, 20 }))
				: PICK(((const u64[]){ -1, -2, 0x80000000, 0x7fffffff }));
	case FD: return fd();
	case DIRFD: return below(3) == 0 ? (u64)AT_FDCWD : fd();
	case PATH: return path();
	case BUF: return buffer();
	case LEN: return length();
	case INT: return below(2) ? below(300) : edge();
	case FLAGS: return flags();
	case PID: return pid();
	case SIG: return sig();
	case ADDR: return address();
	case IOV: return iovec_array();
	case ARGV: return argv_array();
	case TIMESPEC: return timespec();
	case CLONE_ARGS: return clone_args();
	case NONE: return below(8) ? 0 : edge();
	case ANY: break;
	}
	switch (below(4)) {
	case 0: return buffer();
	case 1: return fd();
	default: return edge();
	}
}

/* Turns any pid argument that could reach the fuzzer, init or everybody
 * into the batch's own pid. */
static void disarm(u64 nr, u64 a[6])
{
	int pid_args = 0;
	for (size_t i = 0; i < sizeof aimed / sizeof aimed[0]; i++)
		if ((u64)aimed[i].nr == nr)
			pid_args = aimed[i].pid_args;
	for (int i = 0; i < 6; i++) {
		int p = (int)a[i];
		if (!(pid_args & (1 << i)))
			continue;
		if (p == -1 || p == 1 || p == env.fuzzer || p == -env.fuzzer ||
		    p == env.fuzzer_pgid || p == -env.fuzzer_pgid)
			a[i] = env.self;

	}
	/* F_SETOWN names a process to get SIGIO. */
	if (nr == SYS_fcntl && ((int)a[1] == F_SETOWN || (int)a[1] == 15 /* F_SETOWN_EX */))
		a[2] = env.self;
	/* The fuzzer needs /proc and the programs in /bin, which root may
	 * remove on Linux too: removals stay in its own directory. */
	int removes = nr == SYS_unlink || nr == SYS_rmdir || nr == SYS_unlinkat;
	for (size_t i = 0; removes && i < sizeof guest_paths / sizeof guest_paths[0]; i++)
		for (int k = 0; k < 2; k++)
			if (a[k] == (u64)guest_paths[i])
				a[k] = (u64)own_paths[0];
	/* setpgid into the fuzzer's group would let kill(0) reach it. */
	if (nr == SYS_setpgid && ((int)a[1] == env.fuzzer_pgid || (int)a[1] == 1))
		a[1] = 0;
}

static long raw_syscall(u64 nr, const u64 a[6])
{
	register u64 r10 __asm__("r10") = a[3];
	register u64 r8 __asm__("r8") = a[4];
	register u64 r9 __asm__("r9") = a[5];
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static const struct sig *choose(u64 *nr)
{
	static int total;
	if (total == 0)
		for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
			total += table[i].weight;
	for (;;) {
		if (!env.host && below(4) == 0) {
			/* Anything Linux numbers, and a few numbers beyond. */
			static const u64 beyond[] = { 463, 511, 512, 547, 1000, 0x40000000,
						      0x40000001, 0xffffffff, ~0ULL };
			*nr = below(8) ? below(HIGHEST_NR + 1) : PICK(beyond);
			if (never(*nr))
				continue;
			for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
				if ((u64)table[i].nr == *nr)
					return &table[i];
			return NULL;
		}
		int w = below(total);
		for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
			w -= table[i].weight;
			if (w < 0) {
				if (env.host && !table[i].host)
					break;
				*nr = table[i].nr;
				return &table[i];
			}
		}
	}
}

/* Host-only narrowing of a chosen call's arguments (see the header). */
static void host_rules(u64 nr, u64 a[6])
{
	static const u64 fcntl_cmds[] = { F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK,
					  F_SETLK, F_DUPFD_CLOEXEC, 5000 };
	if (nr == SYS_fcntl)
		a[1] = PICK(fcntl_cmds);
	/* Some prctl options reach other processes (PR_SCHED_CORE, PR_SET_PTRACER). */
	static const u64 prctl_options[] = {
		PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE,
		PR_SET_NAME, PR_GET_NAME, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK,
		PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, 0x7000000
	};
	if (nr == SYS_prctl)
		a[0] = PICK(prctl_options);
}

/* `v`: each call goes to the console before it is made. */
static void say_call(int i, const struct sig *s, u64 nr, const u64 a[6])
{
	char name[32], line[256];
	if (s != NULL)
		snprintf(name, sizeof name, "%s", s->name);
	else
		snprintf(name, sizeof name, "nr %llu", (unsigned long long)nr);
	int n = snprintf(line, sizeof line,
			 "sys_fuzz:   call %d: %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n", i,
			 name, (unsigned long long)a[0], (unsigned long long)a[1],
			 (unsigned long long)a[2], (unsigned long long)a[3],
			 (unsigned long long)a[4], (unsigned long long)a[5]);
	if (write(env.console, line, n) < 0)
		env.console = -1;
}

static int makes_fd(u64 nr)
{
	return nr == SYS_open || nr == SYS_openat || nr == SYS_creat || nr == SYS_dup ||
	       nr == SYS_pidfd_open || nr == SYS_eventfd || nr == SYS_eventfd2 ||
	       nr == SYS_timerfd_create || nr == SYS_signalfd || nr == SYS_signalfd4 ||
	       nr == SYS_epoll_create || nr == SYS_epoll_create1;
}

static void __attribute__((noreturn)) landing(void)
{
	u64 a[6] = { 0 };
	raw_syscall(SYS_exit_group, a);
	__builtin_unreachable();
}

/* rt_sigreturn on a garbage frame, in a child of the batch (whose
 * registers it replaces): random words where the ucontext is, or a
 * plausible one (rip at a landing pad that exits, a usable stack) with
 * random segment selectors, flags and FPU-state pointer. The kernel must
 * refuse or sanitize each; the child dies or exits. */
static void garbage_sigreturn(void)
{
	pid_t p = fork();
	if (p == 0) {
		u64 *uc = (u64 *)(env.rw + 13 * PAGE);
		for (int i = 0; i < 64; i++)
			uc[i] = below(2) ? next() : edge();
		if (below(2)) {
			/* sigcontext: rsp, rip, eflags, cs|gs|fs|ss, ..., fpstate */
			uc[5 + 15] = (u64)env.rw + 12 * PAGE;
			uc[5 + 16] = (u64)landing;
			uc[5 + 17] = below(2) ? 0x202 : next();
			uc[5 + 18] = below(2) ? 0x2b000000000033ULL : next();
			uc[5 + 23] = below(2) ? 0 : below(2) ? (u64)env.rw + below(BUF_SIZE) : bad_pointer();
		}
		__asm__ volatile("mov %0, %%rsp\n\tsyscall" : : "r"(uc), "a"((u64)SYS_rt_sigreturn)
				 : "rcx", "r11", "memory");
		__builtin_unreachable();
	}
	pid_t got = 0;
	for (int t = 0; p > 0 && t < 20 && (got = waitpid(p, NULL, WNOHANG | __WALL)) == 0; t++)
		sleep_ms(1);
	if (p > 0 && got == 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, __WALL);
	}
}

static void one_call(int i)
{
	u64 nr, a[6];
	const struct sig *s = choose(&nr);
	for (int k = 0; k < 6; k++)
		a[k] = argument(s ? s->arg[k] : ANY);
	disarm(nr, a);
	if (env.host)
		host_rules(nr, a);
	if (env.console >= 0)
		say_call(i, s, nr, a);
	if (nr == SYS_rt_sigreturn) {
		garbage_sigreturn();
		return;
	}
	long ret = raw_syscall(nr, a);
	if (ret == 0 && (nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3)) {
		/* The new process or thread: leave at once, without touching the
		 * stack it may share with its parent. */
		u64 exit_args[6] = { 0 };
		raw_syscall(SYS_exit, exit_args);
	}
	if (ret > 0 && (nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3) &&
	    env.nkids < (int)(sizeof env.kids / sizeof env.kids[0]))
		env.kids[env.nkids++] = ret;
	if (ret >= 0 && ret < 1024 && makes_fd(nr) && env.nfds < (int)(sizeof env.fds / sizeof env.fds[0]))
		env.fds[env.nfds++] = ret;
}

static void ignore(int signo)
{
	(void)signo;
}

/* Signals that reached the fuzzer itself (none should). */
static volatile sig_atomic_t fuzzer_signals, last_fuzzer_signal;

static void count(int signo)
{
	fuzzer_signals++;
	last_fuzzer_signal = signo;
}

/* The anon-inode files, wired together: an eventfd, a timerfd firing
 * every millisecond and a signalfd in one epoll with the pipe's read
 * end, and a second epoll, empty or in the first, that epoll_ctl may nest
 * or try to make a loop with. Blocking or not, as the batch's seed says. */
static void anon_files(int pipe_read)
{
	int nonblock = below(2) ? O_NONBLOCK : 0;
	u64 mask = 1ULL << (SIGUSR1 - 1) | 1ULL << (SIGCHLD - 1);
	struct itimerspec every_ms = { { 0, 1000000 }, { 0, 1000000 } };
	int efd = syscall(SYS_eventfd2, below(3), nonblock);
	env.tfd = syscall(SYS_timerfd_create, CLOCK_MONOTONIC, nonblock);
	syscall(SYS_timerfd_settime, env.tfd, 0, &every_ms, NULL);
	env.sfd = syscall(SYS_signalfd4, -1, &mask, 8, nonblock);
	env.epfd[0] = epoll_create1(0);
	env.epfd[1] = epoll_create1(0);
	int watched[] = { efd, env.tfd, env.sfd, pipe_read };
	for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | (below(2) ? EPOLLET : 0),
					  .data.u64 = i };
		epoll_ctl(env.epfd[0], EPOLL_CTL_ADD, watched[i], &ev);
	}
	if (below(2)) {
		struct epoll_event ev = { .events = EPOLLIN };
		epoll_ctl(env.epfd[0], EPOLL_CTL_ADD, env.epfd[1], &ev);
	}
	int made[] = { efd, env.tfd, env.sfd, env.epfd[0], env.epfd[1] };
	for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
		env.fds[env.nfds++] = made[i];
}

/* The batch child's world: its own group, scratch files, fds, a sleeping
 * and a dead child, buffers next to holes. */
static void set_up(u64 seed, u64 batch, int verbose)
{
	setpgid(0, 0);
	env.self = getpid();
	rng_state = seed * 0x2545f4914f6cdd1dULL ^ batch;
	next();
	env.console = verbose ? dup(1) : -1;
	for (int f = 3; f < 1024; f++)
		if (f != env.console)
			close(f);
	if (env.host) {
		struct rlimit as = { 1UL << 30, 1UL << 30 }, fsize = { 64 << 20, 64 << 20 };
		setrlimit(RLIMIT_AS, &as);
		setrlimit(RLIMIT_FSIZE, &fsize);
	}
	int out = open("out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (int f = 0; f < 3; f++)
		dup2(out, f);
	close(out);
	mkdir("d0", 0755);
	int f0 = open("f0", O_RDWR | O_CREAT, 0644);
	if (write(f0, "#!/nonexistent\nhello\n", 21) < 0)
		_exit(3);
	env.fds[env.nfds++] = f0;
	env.fds[env.nfds++] = open(".", O_RDONLY | O_DIRECTORY);
	env.fds[env.nfds++] = open("d0", O_RDONLY | O_DIRECTORY);
	int p[2];
	if (pipe(p) == 0) {
		env.fds[env.nfds++] = p[0];
		env.fds[env.nfds++] = p[1];
	}
	anon_files(p[0]);
	if (!env.host) {
		env.fds[env.nfds++] = open("/proc/self/stat", O_RDONLY);
		env.fds[env.nfds++] = open("/proc", O_RDONLY | O_DIRECTORY);
		/* Two of these, chosen afresh in each batch. */
		env.fds[env.nfds++] = open(PICK(proc_files), O_RDONLY);
		env.fds[env.nfds++] = open(PICK(proc_files), O_RDONLY);
		/* The console, for the tty ioctls (the fuzzer puts its
		 * settings back after each batch). */
		env.fds[env.nfds++] = open("/dev/console", O_RDONLY | O_NONBLOCK);
	}
	for (int f = 0; f < 3; f++)
		env.fds[env.nfds++] = f;
	env.fds[env.nfds++] = 1000; /* closed */

	pid_t sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	pid_t dead = fork();
	if (dead == 0)
		_exit(7);
	env.kids[env.nkids++] = sleeper;
	env.kids[env.nkids++] = dead;

	env.rw = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	env.ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	env.edge = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	env.gone = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	env.arrays = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (env.rw == MAP_FAILED || env.ro == MAP_FAILED || env.edge == MAP_FAILED ||
	    env.gone == MAP_FAILED || env.arrays == MAP_FAILED)
		_exit(3);
	munmap(env.arrays + PAGE, PAGE);
	for (u64 *w = (u64 *)env.rw; w < (u64 *)(env.rw + BUF_SIZE); w++)
		*w = next();
	memset(env.ro, 'r', PAGE);
	mprotect(env.ro, PAGE, PROT_READ);
	memset(env.edge, 'a', 2 * PAGE); /* a path that runs into the hole */
	munmap(env.edge + PAGE, PAGE);
	munmap(env.gone, PAGE);
	memset(long_path, 'x', sizeof long_path - 1);

	struct sigaction sa = { .sa_handler = ignore };
	int caught[] = { SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGHUP, SIGINT, SIGTERM,
			 SIGURG, SIGXFSZ, SIGTRAP };
	for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
		sigaction(caught[i], &sa, NULL);
	alarm(2);
}

static void batch_child(u64 seed, u64 batch, int verbose)
{
	set_up(seed, batch, verbose);
	for (int i = 0; i < CALLS_PER_BATCH; i++)
		one_call(i);
	_exit(ALL_CALLS_DONE);
}

/* The parent of a process from /proc/<pid>/stat; -1 if it is gone. */
static pid_t parent_of(pid_t p)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", p);
	if (read_text(path, buf, sizeof buf) < 0)
		return -1;
	char *end = strrchr(buf, ')'); /* after the name, which may hold anything */
	int ppid;
	return end && sscanf(end + 1, " %*c %d", &ppid) == 1 ? ppid : -1;
}

/* SIGKILLs `p` if its parent is the fuzzer: something left of a batch,
 * adopted by this subreaper when its parents died. With `report`, names
 * it on the console instead. */
static void adopted(pid_t p, int report)
{
	if (p <= 1 || parent_of(p) != env.fuzzer)
		return;
	if (!report) {
		kill(p, SIGKILL);
		return;
	}
	char path[64], stat[256] = "";
	snprintf(path, sizeof path, "/proc/%d/stat", p);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = f >= 0 ? read(f, stat, sizeof stat - 1) : 0;
	if (f >= 0)
		close(f);
	stat[n > 0 ? n : 0] = '\0';
	say("sys_fuzz: survived SIGKILL: %.80s\n", stat);
}

/* adopted() for every process. The fuzzer's own memory must not move
 * while it measures the kernel's, so no opendir() (malloc) here. */
static void kill_adopted(int report)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char names[4096];
	long n;
	while (proc >= 0 && (n = syscall(SYS_getdents64, proc, names, sizeof names)) > 0)
		for (long at = 0; at < n; at += ((struct dirent *)(names + at))->d_reclen)
			adopted(atoi(((struct dirent *)(names + at))->d_name), report);
	if (proc >= 0)
		close(proc);
}

/* Ends the batch: kills its group and whatever escaped it, reaps all.
 * `child` is killed by pid only until it is reaped (then its pid may be
 * someone else's). Returns 0 if every process was gone by the deadline. */
static int end_batch(pid_t child, int reaped)
{
	long deadline = now_ms() + CLEANUP_DEADLINE_MS;
	for (;;) {
		if (!reaped) {
			kill(-child, SIGKILL);
			kill(child, SIGKILL);
		}
		kill_adopted(0);
		pid_t got;
		while ((got = waitpid(-1, NULL, WNOHANG | __WALL)) > 0)
			reaped |= got == child;
		if (got < 0 && errno == ECHILD)
			return 0;
		if (now_ms() >= deadline) {
			kill_adopted(1);
			return -1;
		}
		sleep_ms(5);
	}
}

/* Removes a directory tree the batch made. Paths, not dirfds, for the
 * kernel's *at() calls take AT_FDCWD only; unlink() removes a symlink
 * before open() could follow it. No opendir(), as in kill_adopted(). */
static void remove_tree(const char *path, int depth)
{
	if (unlink(path) == 0 || depth > 8)
		return;
	/* Passes until one finds nothing: removing entries may shift the
	 * ones a directory read has not reached yet. */
	for (int removed = 1, pass = 0; removed && pass < 8; pass++) {
		int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char names[1024], inner[512];
		long n;
		removed = 0;
		while (dir >= 0 && (n = syscall(SYS_getdents64, dir, names, sizeof names)) > 0) {
			for (long at = 0; at < n; at += ((struct dirent *)(names + at))->d_reclen) {
				const char *name = ((struct dirent *)(names + at))->d_name;
				if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
					continue;
				if (snprintf(inner, sizeof inner, "%s/%s", path, name) < (int)sizeof inner)
					remove_tree(inner, depth + 1);
				removed++;
			}
		}
		if (dir >= 0)
			close(dir);
	}
	rmdir(path);
}

/* The console's settings, which a batch's TCSETS may change: put back
 * after each batch (guest only). */
static struct termios console_termios;
static int console_saved;

struct batch {
	int done;     /* made every call */
	int leftover; /* processes survived SIGKILL past the deadline */
	int status;
};

/* A batch can make its own paths outside its directory: chdir("/") or a
 * directory fd of "/" or "/bin" puts "nope" or "f0" there (seed 1795954106,
 * batch 171 left a written /nope, which looked like a leaked page). Those
 * that did not exist when the fuzzer started are removed after each batch. */
static const char *outside_dirs[] = { "/", "/bin" };
#define NR_OWN (sizeof own_paths / sizeof own_paths[0])
static unsigned char existed_outside[sizeof outside_dirs / sizeof outside_dirs[0]][NR_OWN];

static int top_level_name(const char *name)
{
	return name[0] && strcmp(name, ".") != 0 && !strchr(name, '/');
}

static void outside_path(char *out, size_t size, size_t dir, size_t own)
{
	snprintf(out, size, "%s%s%s", outside_dirs[dir], dir == 0 ? "" : "/", own_paths[own]);
}

static void note_outside_paths(void)
{
	struct stat st;
	char path[64];
	for (size_t d = 0; d < sizeof outside_dirs / sizeof outside_dirs[0]; d++)
		for (size_t i = 0; i < NR_OWN; i++) {
			outside_path(path, sizeof path, d, i);
			existed_outside[d][i] = lstat(path, &st) == 0;
		}
}

static void remove_outside_paths(void)
{
	char path[64];
	for (size_t d = 0; d < sizeof outside_dirs / sizeof outside_dirs[0]; d++)
		for (size_t i = 0; i < NR_OWN; i++)
			if (top_level_name(own_paths[i]) && !existed_outside[d][i]) {
				outside_path(path, sizeof path, d, i);
				remove_tree(path, 0);
			}
}

/* System V shared memory segments outlive the processes that made them (on
 * Linux too, unless kernel.shm_rmid_forced is set): a batch's raw shmget()
 * leaves one, and a later batch that attaches it and writes to it keeps a
 * page (seed 1796062901: segment 0, made in one of batches 33 to 65, got a
 * page in batch 264, and MemFree stayed 4 kB lower). Those that did not
 * exist when the fuzzer started are removed after each batch. */
#define MAX_SHM_IDS 256
static int shm_existed[MAX_SHM_IDS], nr_shm_existed;

/* The ids of /proc/sysvipc/shm, at most `max`; how many. Read into a
 * static buffer, not through stdio, whose buffers would come and go from
 * the heap between two readings of MemFree. */
static int read_shm_ids(int *ids, int max)
{
	static char text[32768];
	int n = 0, key, id;
	if (read_text("/proc/sysvipc/shm", text, sizeof text) < 0)
		return 0;
	char *line = strchr(text, '\n'); /* after the header */
	while (line && n < max) {
		if (sscanf(line + 1, "%d %d", &key, &id) == 2)
			ids[n++] = id;
		line = strchr(line + 1, '\n');
	}
	return n;
}

static void note_shm_segments(void)
{
	nr_shm_existed = read_shm_ids(shm_existed, MAX_SHM_IDS);
}

static void remove_new_shm_segments(void)
{
	int ids[MAX_SHM_IDS];
	int n = read_shm_ids(ids, MAX_SHM_IDS);
	for (int i = 0; i < n; i++) {
		int old = 0;
		for (int j = 0; j < nr_shm_existed && !old; j++)
			old = shm_existed[j] == ids[i];
		if (!old)
			shmctl(ids[i], IPC_RMID, NULL);
	}
}

static struct batch run_batch(u64 seed, u64 batch, int verbose, const char *work)
{
	struct batch b = { 0, 0, 0 };
	char dir[128];
	snprintf(dir, sizeof dir, "%s/b%llu", work, (unsigned long long)batch);
	mkdir(dir, 0755);
	pid_t child = fork();
	if (child == 0) {
		if (chdir(dir) != 0)
			_exit(3);
		batch_child(seed, batch, verbose);
	}
	if (child < 0) {
		say("sys_fuzz: fork failed: %s\n", strerror(errno));
		b.leftover = 1;
		return b;
	}
	long deadline = now_ms() + BATCH_DEADLINE_MS;
	int reaped = 0;
	for (;;) {
		pid_t got = waitpid(child, &b.status, WNOHANG | __WALL);
		if (got == child) {
			b.done = WIFEXITED(b.status) && WEXITSTATUS(b.status) == ALL_CALLS_DONE;
			reaped = 1;
			break;
		}
		if (got < 0 || now_ms() >= deadline)
			break;
		sleep_ms(2);
	}
	if (verbose)
		say("sys_fuzz: batch %llu: %s, status %#x\n", (unsigned long long)batch,
		    reaped ? "ended" : "killed at the deadline", b.status);
	b.leftover = end_batch(child, reaped) != 0;
	if (console_saved)
		tcsetattr(1, TCSANOW, &console_termios);
	remove_tree(dir, 0);
	remove_outside_paths();
	remove_new_shm_segments();
	return b;
}

/* Tasks in the system: the total of /proc/loadavg's "running/total". */
static long nr_tasks(void)
{
	char buf[128];
	if (read_text("/proc/loadavg", buf, sizeof buf) < 0)
		return -1;
	char *slash = strchr(buf, '/');
	return slash ? strtol(slash + 1, NULL, 10) : -1;
}

/* Commits the stack the fuzzer will ever use (remove_tree() recurses),
 * so that its growth is not taken for the kernel's. */
static void touch_stack(void)
{
	volatile char room[64 * 1024];
	for (size_t i = 0; i < sizeof room; i += PAGE)
		room[i] = 0;
}

struct level {
	long free_kb, tasks;
};

/* `n` children alive at once, then gone. The kernel keeps the last freed
 * stacks for reuse (Linux: NR_CACHED_STACKS, 2): three leave that cache
 * full wherever the fuzzer measures. Sixty-four, once before the first
 * measurement, let the kernel's page tables for stacks reach the size a
 * batch needs (they stay, as Linux's do). */
static void children_at_once(int n)
{
	int p[2];
	if (pipe(p) != 0)
		return;
	for (int i = 0; i < n; i++) {
		if (fork() == 0) {
			char c;
			close(p[1]);
			_exit(read(p[0], &c, 1) < 0);
		}
	}
	close(p[0]);
	close(p[1]);
	while (waitpid(-1, NULL, __WALL) > 0)
		;
}

/* MemFree and the task count once they hold still (exiting tasks free
 * their last pages after they are reaped). */
static struct level settled_level(void)
{
	children_at_once(3);
	struct level l = { memfree_kb(), nr_tasks() };
	for (int i = 0; i < 20; i++) {
		sleep_ms(20);
		struct level again = { memfree_kb(), nr_tasks() };
		if (again.free_kb == l.free_kb && again.tasks == l.tasks)
			break;
		l = again;
	}
	return l;
}

int main(int argc, char **argv)
{
	check_begin("sys_fuzz");
	u64 seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	u64 n = argc > 2 ? strtoull(argv[2], NULL, 0) : 20;
	u64 first = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	int verbose = argc > 4 && strcmp(argv[4], "v") == 0;
	int memory_watch = argc > 4 && strcmp(argv[4], "m") == 0;
	env.host = !on_lifecycle();
	/* On Linux the subset is small and the kernel is not the one under
	 * test: a few batches show the program works, within the suite's
	 * minute per program on the host. */
	if (env.host && n > HOST_BATCHES)
		n = HOST_BATCHES;
	env.fuzzer = getpid();
	env.fuzzer_pgid = getpgrp();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct sigaction sa = { .sa_handler = count };
	for (int signo = 1; signo <= 64; signo++)
		if (signo != SIGCHLD)
			sigaction(signo, &sa, NULL);

	console_saved = !env.host && tcgetattr(1, &console_termios) == 0;
	note_outside_paths();
	note_shm_segments();
	char work[64];
	snprintf(work, sizeof work, "sys_fuzz.%d", env.fuzzer);
	if (mkdir(work, 0700) != 0) {
		say("sys_fuzz: cannot make %s: %s\n", work, strerror(errno));
		return 1;
	}

	int done = 0, stuck = 0;
	u64 stuck_batch = 0;
	struct level before = { -1, -1 };
	long start = now_ms();
	for (u64 k = first; k < first + n; k++) {
		say("sys_fuzz: seed %llu batch %llu\n", (unsigned long long)seed,
		    (unsigned long long)k);
		struct batch b = run_batch(seed, k, verbose, work);
		done += b.done;
		if (b.leftover && stuck++ == 0)
			stuck_batch = k;
		if (k == first) {
			touch_stack();
			children_at_once(64);
			before = settled_level();
		}
		if (memory_watch) {
			struct level l = settled_level();
			say("sys_fuzz: batch %llu: MemFree %ld kB (%+ld), %ld tasks\n",
			    (unsigned long long)k, l.free_kb, l.free_kb - before.free_kb, l.tasks);
		}
	}
	long elapsed = now_ms() - start;
	remove_tree(work, 0);
	struct level after = settled_level();

	say("sys_fuzz: seed %llu: %llu batches of %d calls (%d made all of them) in %ld ms\n",
	    (unsigned long long)seed, (unsigned long long)n, CALLS_PER_BATCH, done, elapsed);
	if (stuck == 0)
		check_ok("every_batch_ends_and_leaves_no_process_behind");
	else
		check_fail("every_batch_ends_and_leaves_no_process_behind",
			   "%d batches left processes SIGKILL did not end in %d ms, first batch %llu",
			   stuck, CLEANUP_DEADLINE_MS, (unsigned long long)stuck_batch);
	if (fuzzer_signals == 0)
		check_ok("no_signal_from_a_batch_reaches_the_fuzzer");
	else
		check_fail("no_signal_from_a_batch_reaches_the_fuzzer",
			   "%d signals, the last %d", (int)fuzzer_signals, (int)last_fuzzer_signal);
	char name[80];
	snprintf(name, sizeof name, "no_page_leaks_after_%llu_batches", (unsigned long long)n);
	if (env.host)
		check_skip(name, "Linux's MemFree moves with other activity");
	else if (before.free_kb >= 0 && after.free_kb == before.free_kb)
		check_ok(name);
	else
		check_fail(name, "MemFree was %ld kB after the first batch, %ld kB after the last (%+ld)",
			   before.free_kb, after.free_kb, after.free_kb - before.free_kb);
	snprintf(name, sizeof name, "no_task_is_left_after_%llu_batches", (unsigned long long)n);
	if (env.host)
		check_skip(name, "Linux's task count moves with other activity");
	else if (before.tasks < 0)
		check_fail(name, "/proc/loadavg gave no task count");
	else
		EXPECT_EQ(name, before.tasks, after.tasks);
	return check_end();
}
