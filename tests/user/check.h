/*
 * check.h: the few helpers every user-space test shares.
 *
 * A test program names itself once with check_begin("fork_basic"), then
 * reports each behaviour with CHECK or EXPECT_EQ, whose first argument is
 * the behaviour as a snake_case sentence:
 *
 *     test fork_basic::fork_returns_zero_in_the_child ... ok
 *     test fork_basic::fork_returns_zero_in_the_child ... FAILED
 *         expected 0, got 1234
 *
 * and ends with `return check_end();`, which is 0 if every check passed
 * and 1 otherwise. Output goes straight to fd 1 with write(2), never through
 * stdio buffers, so lines are never duplicated by fork or lost by _exit.
 */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *check_program = "?";
static int check_passed, check_failed;

/* printf to fd 1 in a single write. */
static inline void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 1)
		n = sizeof line - 1;
	if (n > 0 && write(1, line, n) < 0)
		_exit(2);
}

static inline void check_begin(const char *program)
{
	check_program = program;
}

static inline int check_end(void)
{
	return check_failed == 0 ? 0 : 1;
}

static inline void check_ok(const char *name)
{
	check_passed++;
	say("test %s::%s ... ok\n", check_program, name);
}

static inline void check_fail(const char *name, const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	check_failed++;
	say("test %s::%s ... FAILED\n    %s\n", check_program, name, detail);
}

/* Runs fn in a child (to change its ids or limits, say); a failed check
 * there fails this program too. */
static inline void as_child(void (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		check_failed = 0;
		fn();
		_exit(check_end());
	}
	int status = -1;
	waitpid(pid, &status, 0);
	if (status != 0) {
		check_failed++;
		say("    a child's checks failed (status %#x)\n", status);
	}
}

/* A check that only means something on our kernel, run elsewhere. */
static inline void check_skip(const char *name, const char *why)
{
	check_ok(name);
	say("    note: skipped, %s\n", why);
}

/* CHECK(name, condition): passes when the condition holds. */
#define CHECK(name, cond)                                                      \
	((cond) ? check_ok(name)                                               \
		: check_fail(name, "expected %s (%s:%d)", #cond, __FILE__,     \
			     __LINE__))

/* EXPECT_EQ(name, expected, actual): integers, compared as long long. */
#define EXPECT_EQ(name, expected, actual)                                      \
	do {                                                                   \
		long long e_ = (long long)(expected), a_ = (long long)(actual); \
		if (e_ == a_)                                                  \
			check_ok(name);                                        \
		else                                                           \
			check_fail(name, "expected %s == %lld, got %lld (%s:%d)", \
				   #actual, e_, a_, __FILE__, __LINE__);       \
	} while (0)

/*
 * EXPECT_ERRNO(name, expected_errno, ret, err): a call that must fail,
 * given its return value and the errno saved right after it.
 */
#define EXPECT_ERRNO(name, expected_errno, ret, err)                           \
	do {                                                                   \
		long r_ = (long)(ret);                                         \
		int x_ = (expected_errno), g_ = (err);                         \
		if (r_ == -1 && g_ == x_)                                      \
			check_ok(name);                                        \
		else                                                           \
			check_fail(name, "expected -1 with %s, got %ld with %s (%s:%d)", \
				   strerrorname(x_), r_,                       \
				   r_ == -1 ? strerrorname(g_) : "no error",  \
				   __FILE__, __LINE__);                        \
	} while (0)

/* EXPECT_FAILS(name, expected_errno, call): a call, evaluated here, that
 * must fail with expected_errno. */
#define EXPECT_FAILS(name, expected_errno, call)                               \
	do {                                                                   \
		errno = 0;                                                     \
		long ret_ = (call);                                            \
		int err_ = errno;                                              \
		EXPECT_ERRNO(name, expected_errno, ret_, err_);                \
	} while (0)

/* The symbolic name of the errno values the tests expect. */
static inline const char *strerrorname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case ENOEXEC: return "ENOEXEC";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	default: return strerror(e);
	}
}

/* Whether we run on the lifecycle kernel rather than on Linux. */
static inline int on_lifecycle(void)
{
	struct utsname u;
	return uname(&u) == 0 && strstr(u.release, "lifecycle") != NULL;
}

/* The host's steal time so far, in ns: time the hypervisor gave this
 * machine's CPUs to others, field 8 of /proc/stat's "cpu" line (0 if
 * absent). Linux may charge stolen time to the task that was running,
 * or leave the ticks it stole out of the task's tick-sampled time. */
static inline long long host_steal_ns(void)
{
	char buf[256] = "";
	int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	unsigned long long f[8] = { 0 };
	sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2],
	       &f[3], &f[4], &f[5], &f[6], &f[7]);
	return (long long)f[7] * (1000000000LL / sysconf(_SC_CLK_TCK));
}

/* A child that exits with `code` after `ms` milliseconds. */
static inline pid_t child_exiting(int code, int ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (ms)
			usleep(ms * 1000);
		_exit(code);
	}
	return pid;
}

/* In the kernel, that it was booted with the `booted` CPUs the suite asked
 * for (a program's first argument) and `online` are up; the host has the
 * CPUs it has. */
static inline void check_booted_cpus(int argc, char **argv, int online)
{
	if (argc <= 1)
		return;
	if (on_lifecycle())
		EXPECT_EQ("the_machine_has_the_cpus_it_was_booted_with", atoi(argv[1]), online);
	else
		check_skip("the_machine_has_the_cpus_it_was_booted_with",
			   "the host has the CPUs it has");
}

/* The text of a small file such as /proc/loadavg into buf, NUL-terminated;
 * its length, or -1 if it cannot be read or is empty. */
static inline ssize_t read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Writes `text` to a file such as a /proc/sys knob; whether all of it
 * was taken. */
static inline int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* Field n (1-based, n >= 3) of a /proc/<pid>/stat line, counted after the
 * ")" that ends the command name; all ones if it is not there. */
static inline unsigned long long stat_line_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');
	if (!p || n < 3)
		return (unsigned long long)-1;
	p += 2;
	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			return (unsigned long long)-1;
		p++;
	}
	return strtoull(p, NULL, 10);
}

/* Field n of the stat file at `path` (/proc/<pid>/stat or a task's); all
 * ones if it cannot be read. */
static inline unsigned long long stat_field_of(const char *path, int n)
{
	char buf[1024];
	if (read_text(path, buf, sizeof buf) < 0)
		return (unsigned long long)-1;
	return stat_line_field(buf, n);
}

/* The number after `key` in a /proc file such as /proc/meminfo; -1 if it
 * cannot be read. */
static inline long proc_number(const char *path, const char *key)
{
	char buf[4096];
	if (read_text(path, buf, sizeof buf) < 0)
		return -1;
	char *line = strstr(buf, key);
	return line ? strtol(line + strlen(key), NULL, 10) : -1;
}

/* MemFree from /proc/meminfo, in kB; -1 if it cannot be read. */
static inline long memfree_kb(void)
{
	return proc_number("/proc/meminfo", "MemFree:");
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* MemFree once it has stopped moving: two readings 20 ms apart that agree
 * (at most a second). A reaped child's kernel stack is freed by the CPU it
 * died on after its last switch, which can be after wait4 returned, on
 * Linux too (put_task_stack in finish_task_switch). */
static inline long memfree_settled_kb(void)
{
	long last = memfree_kb();
	for (int i = 0; i < 50; i++) {
		sleep_ms(20);
		long now = memfree_kb();
		if (now == last)
			break;
		last = now;
	}
	return last;
}

/* The state letter in /proc/<pid>/stat, or '?' if it cannot be read. */
static inline char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

/* Milliseconds on the monotonic clock, for bounded polling. */
static inline long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* waitpid with a deadline: the status, or -1 after killing a child that
 * did not end in time. */
static inline int wait_until(pid_t pid, long deadline_ms)
{
	long end = now_ms() + deadline_ms;
	int status;
	while (now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Whether a status from wait_until says killed by `sig`. */
static inline int killed_by(int status, int sig)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* Whether a status from wait_until says exited with `code`. */
static inline int exited_with(int status, int code)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* Checks `name`: SIGKILL ends a child sleeping in block(fd), a call that
 * would sleep for good (a read of an empty eventfd). The kill comes once
 * /proc shows the child asleep, so the check cannot pass by killing a
 * child that had not reached the call yet. */
static inline void sigkill_ends_blocked(const char *name, void (*block)(int fd), int fd)
{
	pid_t child = fork();
	if (child == 0) {
		block(fd);
		_exit(3);
	}
	long end = now_ms() + 5000;
	char state;
	while ((state = proc_state(child)) != 'S' && now_ms() < end)
		sleep_ms(5);
	kill(child, SIGKILL);
	int status = wait_until(child, 5000);
	if (state == 'S' && killed_by(status, SIGKILL))
		check_ok(name);
	else
		check_fail(name, "state %c before SIGKILL, then status %#x", state, status);
}

/* `dir(argv0)/name` into buf: sibling programs and data files. */
static inline const char *sibling(const char *argv0, const char *name,
				  char *buf, size_t size)
{
	const char *slash = strrchr(argv0, '/');
	if (slash == NULL)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%.*s/%s", (int)(slash - argv0), argv0, name);
	return buf;
}

/* read(2) of exactly len bytes, retrying short reads and EINTR. */
static inline int read_full(int fd, void *p, size_t len)
{
	char *c = p;
	while (len > 0) {
		ssize_t n = read(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= n;
	}
	return 0;
}

/* A fresh directory /tmp/<name>.XXXXXX into buf for a program's files:
 * never one that an earlier run with the same pid left behind. */
static inline const char *scratch_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/tmp/%s.XXXXXX", name);
	return mkdtemp(buf);
}

static inline int scratch_unlink(const char *path, const struct stat *st,
				 int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Removes a scratch_dir() and everything in it. */
static inline void scratch_remove(const char *dir)
{
	nftw(dir, scratch_unlink, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
