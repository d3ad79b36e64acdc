/*
 * core_pipe: a core_pattern starting with `|` pipes the core to a helper
 * program (core_helper.c, a sibling of this program), which the kernel
 * starts as root, as a child of kthreadd, with no environment, RLIMIT_CORE
 * 1 and the core on a pipe as its standard input. The pattern is split
 * into arguments at spaces first and each is expanded on its own, so a
 * command name with a space stays one argument. RLIMIT_CORE does not
 * limit a piped core, except that 1 skips it; a helper that cannot run
 * means no dump; with core_pipe_limit set, the dumper waits until the
 * helper has closed the pipe before its parent hears of the death. The
 * wait status has WCOREDUMP when the core went down the pipe. The pattern
 * holds 127 bytes, a longer write cut there silently; %C is the CPU the
 * dump began on; %F is 3, and the helper then has a pidfd of the dumper
 * as fd 3 (Linux 6.16 and later; skipped on an older host).
 *
 * It changes kernel.core_pattern and kernel.core_pipe_limit and puts them
 * back at the end; where they cannot be written (a container's read-only
 * /proc/sys) it skips and says so. On a host Linux the helper is run in
 * the initial mount namespace, so the program must be run from there.
 */
#define _GNU_SOURCE
#include "check.h"
#include <elf.h>
#include <limits.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define PATTERN "/proc/sys/kernel/core_pattern"
#define PIPE_LIMIT "/proc/sys/kernel/core_pipe_limit"

static char helper[PATH_MAX];
static char saved_pattern[256], saved_limit[32];

/* Sets core_pattern to `|helper rest` and checks that it reads back. */
static int set_pattern(const char *prog, const char *rest)
{
	char want[512], got[512];
	snprintf(want, sizeof want, "|%s %s", prog, rest);
	if (!write_text(PATTERN, want) || read_text(PATTERN, got, sizeof got) <= 0)
		return 0;
	got[strcspn(got, "\n")] = 0;
	if (strcmp(want, got) != 0)
		say("    note: core_pattern reads back \"%s\"\n", got);
	return strcmp(want, got) == 0;
}

static void restore(void)
{
	write_text(PATTERN, saved_pattern);
	write_text(PIPE_LIMIT, saved_limit);
}

/* An unmapped address: a store there faults with SIGSEGV. */
static int *volatile bad_pointer = (int *)16;

/* Killed part-way (a test runner's timeout), put the sysctls back first:
 * a host left piping its cores to a scratch path would lose them. */
static void restore_and_die(int sig)
{
	restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The child: a core limit of `limit`, optionally a new name, only CPU
 * `cpu` (if not -1) and the file `fd42` open as fd 42 (if not NULL),
 * then SIGSEGV. */
static pid_t crash_with(rlim_t limit, const char *comm, int cpu, const char *fd42)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {limit, RLIM_INFINITY};
		setrlimit(RLIMIT_CORE, &rl);
		if (comm)
			prctl(PR_SET_NAME, comm);
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof set, &set) != 0)
				_exit(3);
		}
		if (fd42 && dup2(open(fd42, O_RDONLY), 42) != 42)
			_exit(4);
		*bad_pointer = 1;
		_exit(0);
	}
	return pid;
}

/* The child: a core limit of `limit`, optionally a new name, then SIGSEGV. */
static pid_t crash(rlim_t limit, const char *comm)
{
	return crash_with(limit, comm, -1, NULL);
}

/* The helper's report for the crash of `pid` into buf, after a newline
 * (so that every line starts with one), waiting up to `ms` milliseconds
 * for it; 0 if none came. */
static int helper_report(pid_t pid, char *buf, size_t size, long ms)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/core_helper.%d", pid);
	for (long end = now_ms() + ms;; sleep_ms(20)) {
		buf[0] = '\n';
		if (read_text(path, buf + 1, size - 1) > 0) {
			unlink(path);
			return 1;
		}
		if (now_ms() > end)
			return 0;
	}
}

/* The value of `key=` in a report, "" if absent. */
static const char *field(const char *report, const char *key)
{
	static char value[256];
	char k[32];
	snprintf(k, sizeof k, "\n%s=", key);
	const char *at = strstr(report, k);
	value[0] = 0;
	if (at)
		sscanf(at + strlen(k), "%255[^\n]", value);
	return value;
}

static int is_elf_core(const char *head)
{
	unsigned type = 0;
	return strncmp(head, "7f454c46", 8) == 0 && sscanf(head + 32, "%2x", &type) == 1 &&
	       type == ET_CORE;
}

static void the_helper_gets_the_core_and_its_arguments(const char *comm)
{
	char report[2048], want[32];
	set_pattern(helper, "%p %s %e");
	pid_t pid = crash(0, NULL);
	int status;
	waitpid(pid, &status, 0);
	CHECK("the_child_dies_of_sigsegv", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	CHECK("wcoredump_is_set_when_the_core_went_down_the_pipe", WCOREDUMP(status));
	if (!helper_report(pid, report, sizeof report, 10000)) {
		check_fail("the_helper_writes_its_report", "no /tmp/core_helper.%d", pid);
		return;
	}
	snprintf(want, sizeof want, "%d", pid);
	CHECK("the_helper_has_four_arguments", !strcmp(field(report, "argc"), "4"));
	CHECK("argv0_is_the_helper_path", !strcmp(field(report, "argv0"), helper));
	CHECK("percent_p_is_the_pid", !strcmp(field(report, "argv1"), want));
	CHECK("percent_s_is_the_signal", !strcmp(field(report, "argv2"), "11"));
	CHECK("percent_e_is_the_comm", !strcmp(field(report, "argv3"), comm));
	CHECK("stdin_holds_an_elf_core_despite_rlimit_core_0", is_elf_core(field(report, "head")));
	CHECK("the_whole_core_is_read", atol(field(report, "size")) > 4096);
	CHECK("stdin_is_a_pipe", !strcmp(field(report, "stdin_fifo"), "1"));
	CHECK("the_helper_runs_as_root", !strcmp(field(report, "uid"), "0") &&
						 !strcmp(field(report, "euid"), "0"));
	CHECK("the_helper_is_a_child_of_kthreadd", !strcmp(field(report, "ppid"), "2"));
	CHECK("the_helper_has_no_environment", !strcmp(field(report, "envc"), "0"));
	CHECK("the_helper_has_rlimit_core_1", !strcmp(field(report, "core_limit"), "1"));
	CHECK("without_percent_big_f_the_helper_s_fd_3_is_closed",
	      !strcmp(field(report, "fd3"), "closed"));
}

static void arguments_split_at_spaces_before_expansion(void)
{
	char report[2048], want[32];
	set_pattern(helper, "  %p   x%sy %e%% ");
	pid_t pid = crash(0, "a b/c");
	int status;
	waitpid(pid, &status, 0);
	if (!helper_report(pid, report, sizeof report, 10000)) {
		check_fail("arguments_split_at_spaces", "no report for %d", pid);
		return;
	}
	snprintf(want, sizeof want, "%d", pid);
	CHECK("arguments_split_at_spaces", !strcmp(field(report, "argc"), "4") &&
						  !strcmp(field(report, "argv1"), want) &&
						  !strcmp(field(report, "argv2"), "x11y"));
	CHECK("a_space_in_percent_e_stays_in_one_argument_with_slash_as_bang",
	      !strcmp(field(report, "argv3"), "a b!c%"));
}

static void every_specifier_expands(void)
{
	char report[2048], want[64], exe[PATH_MAX] = "", host[128] = "";
	if (!set_pattern(helper, "%P %i %I %c %h %t %u %g %E")) {
		check_fail("every_specifier_expands", "the pattern does not fit");
		return;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	for (char *c = exe; *c; c++)
		if (*c == '/')
			*c = '!';
	struct utsname u;
	uname(&u);
	snprintf(host, sizeof host, "%s", u.nodename);
	long t0 = time(NULL);
	pid_t pid = crash(12345, NULL);
	int status;
	waitpid(pid, &status, 0);
	long t1 = time(NULL);
	if (!helper_report(pid, report, sizeof report, 10000)) {
		check_fail("every_specifier_expands", "no report for %d", pid);
		return;
	}
	snprintf(want, sizeof want, "%d", pid);
	CHECK("percent_big_p_i_and_big_i_are_the_pid_and_tid",
	      !strcmp(field(report, "argv2"), want) && !strcmp(field(report, "argv3"), want));
	CHECK("percent_c_is_the_rlimit_core_soft_limit", !strcmp(field(report, "argv4"), "12345"));
	CHECK("percent_h_is_the_hostname", !strcmp(field(report, "argv5"), host));
	long t = atol(field(report, "argv6"));
	/* Linux expands %t from the seconds the last tick stored (the coarse
	 * clock), which may still hold the second before the one musl's
	 * time() read from the clock itself; ours reads the clock. */
	long coarse_lag = on_lifecycle() ? 0 : 1;
	CHECK("percent_t_is_the_time_in_seconds", t >= t0 - coarse_lag && t <= t1);
	CHECK("percent_u_and_g_are_uid_and_gid", atoi(field(report, "argv7")) == (int)getuid() &&
							  atoi(field(report, "argv8")) == (int)getgid());
	CHECK("percent_big_e_is_the_path_with_bangs", !strcmp(field(report, "argv9"), exe));
}

/* kernel.core_pattern holds 127 bytes (CORENAME_MAX_SIZE 128 with its
 * NUL): a longer write is taken whole and cut there without an error,
 * and a piped pattern cut so gives its helper a cut last argument. */
static void core_pattern_holds_127_bytes(const char *prog)
{
	char pattern[256], got[256], report[2048];
	memset(pattern, 'c', 200);
	pattern[200] = 0;
	int fd = open(PATTERN, O_WRONLY | O_CLOEXEC);
	ssize_t n = write(fd, pattern, 200);
	close(fd);
	EXPECT_EQ("a_200_byte_core_pattern_write_takes_all_200_bytes", 200, n);
	read_text(PATTERN, got, sizeof got);
	got[strcspn(got, "\n")] = 0;
	EXPECT_EQ("core_pattern_keeps_the_first_127_bytes", 127, strlen(got));
	CHECK("the_kept_bytes_are_the_pattern_s_own", strspn(got, "c") == 127);
	int head = snprintf(pattern, sizeof pattern, "|%s %%p ", prog);
	memset(pattern + head, 'y', 150);
	pattern[head + 150] = 0;
	write_text(PATTERN, pattern);
	pid_t pid = crash(0, NULL);
	int status;
	waitpid(pid, &status, 0);
	if (!helper_report(pid, report, sizeof report, 10000)) {
		check_fail("a_cut_piped_pattern_still_runs_its_helper", "no report for %d", pid);
		return;
	}
	size_t kept = strlen(field(report, "argv2"));
	EXPECT_EQ("a_cut_piped_pattern_cuts_the_helper_s_last_argument", 127 - head, kept);
}

/* The highest CPU this process may run on. */
static int last_allowed_cpu(void)
{
	cpu_set_t set;
	int last = 0;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			last = cpu;
	return last;
}

/* %C is the CPU the dumping task ran on when the dump began. */
static void percent_big_c_is_the_cpu(void)
{
	char report[2048], want[16];
	set_pattern(helper, "%p %C");
	int cpu = last_allowed_cpu();
	pid_t pid = crash_with(0, NULL, cpu, NULL);
	int status;
	waitpid(pid, &status, 0);
	if (!helper_report(pid, report, sizeof report, 10000)) {
		check_fail("percent_big_c_is_the_cpu_the_task_ran_on", "no report for %d", pid);
		return;
	}
	snprintf(want, sizeof want, "%d", cpu);
	if (strcmp(field(report, "argv2"), want) != 0)
		say("    note: pinned to CPU %d, %%C gave \"%s\"\n", cpu, field(report, "argv2"));
	CHECK("percent_big_c_is_the_cpu_the_task_ran_on", !strcmp(field(report, "argv2"), want));
}

/* %F in a piped pattern is "3", and the helper starts with a pidfd of the
 * dumping process as fd 3 (Linux 6.16 and later): it reaches the dumper
 * (pidfd_send_signal with signal 0) and its files (pidfd_getfd). The
 * helper looks before reading the core; core_pipe_limit 1 keeps the
 * dumper alive until the helper is done. */
static void percent_big_f_gives_the_helper_a_pidfd(void)
{
	char report[2048], marker[] = "/tmp/core_pipe_fd42.XXXXXX";
	int fd = mkstemp(marker);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		check_fail("percent_big_f_gives_the_helper_a_pidfd", "mkstemp: %s", strerror(errno));
		return;
	}
	close(fd);
	write_text(PIPE_LIMIT, "1");
	set_pattern(helper, "%p %F");
	pid_t pid = crash_with(0, NULL, -1, marker);
	int status;
	waitpid(pid, &status, 0);
	write_text(PIPE_LIMIT, "0");
	unlink(marker);
	if (!helper_report(pid, report, sizeof report, 10000)) {
		check_fail("percent_big_f_gives_the_helper_a_pidfd", "no report for %d", pid);
		return;
	}
	struct utsname u;
	uname(&u);
	int major = 0, minor = 0;
	sscanf(u.release, "%d.%d", &major, &minor);
	if (!on_lifecycle() && (major < 6 || (major == 6 && minor < 16))) {
		check_skip("percent_big_f_gives_the_helper_a_pidfd",
			   "the host kernel is older than Linux 6.16, which added %F");
		return;
	}
	CHECK("percent_big_f_expands_to_3", !strcmp(field(report, "argv2"), "3"));
	CHECK("with_percent_big_f_the_helper_s_fd_3_is_open", !strcmp(field(report, "fd3"), "open"));
	CHECK("the_pidfd_is_not_close_on_exec", !strcmp(field(report, "fd3_cloexec"), "0"));
	CHECK("the_pidfd_is_read_write", atoi(field(report, "fd3_accmode")) == O_RDWR);
	CHECK("pidfd_send_signal_0_on_it_reaches_the_dumper",
	      !strcmp(field(report, "fd3_signal0_errno"), "0"));
	CHECK("pidfd_getfd_through_it_gets_the_dumper_s_fd_42",
	      !strcmp(field(report, "fd3_getfd_errno"), "0") &&
		      strtoull(field(report, "fd3_getfd_ino"), NULL, 10) == st.st_ino);
}

static void rlimit_core_1_skips_a_piped_dump(void)
{
	char report[2048];
	set_pattern(helper, "%p");
	pid_t pid = crash(1, NULL);
	int status;
	waitpid(pid, &status, 0);
	CHECK("rlimit_core_1_skips_a_piped_dump",
	      WIFSIGNALED(status) && !WCOREDUMP(status) && !helper_report(pid, report, sizeof report, 300));
}

static void a_missing_helper_means_no_dump(void)
{
	set_pattern("/nonexistent/core_helper", "%p");
	pid_t pid = crash(0, NULL);
	int status;
	waitpid(pid, &status, 0);
	CHECK("a_missing_helper_means_no_core_dumped_bit",
	      WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && !WCOREDUMP(status));
}

/* The helper sleeps 2 s after its report: with core_pipe_limit 0 the
 * parent hears of the death before, with 1 only after the helper exits. */
static void core_pipe_limit_waits_for_the_helper(void)
{
	char report[2048];
	set_pattern(helper, "%p slow");
	for (int limit = 0; limit <= 1; limit++) {
		write_text(PIPE_LIMIT, limit ? "1" : "0");
		long t0 = now_ms();
		pid_t pid = crash(0, NULL);
		int status;
		waitpid(pid, &status, 0);
		long waited = now_ms() - t0;
		if (limit == 0) {
			CHECK("core_pipe_limit_0_does_not_wait_for_the_helper", waited < 1500);
			helper_report(pid, report, sizeof report, 10000);
		} else {
			CHECK("core_pipe_limit_1_waits_for_the_helper_to_exit",
			      waited >= 1900 && helper_report(pid, report, sizeof report, 0));
			CHECK("wcoredump_is_set_after_waiting", WCOREDUMP(status));
		}
	}
	write_text(PIPE_LIMIT, "0");
	sleep_ms(2100);
}

int main(int argc, char **argv)
{
	(void)argc;
	check_begin("core_pipe");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	sibling(self, "core_helper", helper, sizeof helper);
	const char *comm = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (read_text(PATTERN, saved_pattern, sizeof saved_pattern) <= 0 ||
	    read_text(PIPE_LIMIT, saved_limit, sizeof saved_limit) <= 0 ||
	    !write_text(PATTERN, "core") || !write_text(PIPE_LIMIT, "0")) {
		check_skip("core_pattern_pipes", "core_pattern or core_pipe_limit cannot be changed");
		return check_end();
	}
	saved_pattern[strcspn(saved_pattern, "\n")] = 0;
	saved_limit[strcspn(saved_limit, "\n")] = 0;
	signal(SIGINT, restore_and_die);
	signal(SIGTERM, restore_and_die);
	signal(SIGHUP, restore_and_die);
	EXPECT_EQ("core_pipe_limit_defaults_to_0", 0, atoi(saved_limit));
	the_helper_gets_the_core_and_its_arguments(comm);
	arguments_split_at_spaces_before_expansion();
	every_specifier_expands();
	core_pattern_holds_127_bytes(helper);
	percent_big_c_is_the_cpu();
	percent_big_f_gives_the_helper_a_pidfd();
	rlimit_core_1_skips_a_piped_dump();
	a_missing_helper_means_no_dump();
	core_pipe_limit_waits_for_the_helper();
	restore();
	return check_end();
}
