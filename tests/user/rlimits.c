/*
 * rlimits: Linux's default resource limits, and the ones users can feel:
 * RLIMIT_NOFILE bounds the descriptors every call can hand out, limits are
 * inherited by fork, and prlimit reads and sets another process's limits.
 *
 * The defaults are what Linux gives init; on the host the shell may have
 * changed them, so they are checked only here. Everything else sets the
 * limits it needs first and runs on both.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define MiB (1024ul * 1024)

static void expect_limit(const char *name, int resource, rlim_t cur, rlim_t max)
{
	struct rlimit rl = { 0, 0 };
	getrlimit(resource, &rl);
	if (rl.rlim_cur == cur && rl.rlim_max == max)
		check_ok(name);
	else
		check_fail(name, "expected %lu/%lu, got %lu/%lu", (unsigned long)cur,
			   (unsigned long)max, (unsigned long)rl.rlim_cur,
			   (unsigned long)rl.rlim_max);
}

static void defaults_are_linuxs(void)
{
	if (!on_lifecycle()) {
		check_skip("the_defaults_are_those_linux_gives_init", "the host's shell sets its own");
		return;
	}
	expect_limit("nofile_is_1024_soft_and_4096_hard", RLIMIT_NOFILE, 1024, 4096);
	expect_limit("stack_is_8_mib_soft_and_unlimited_hard", RLIMIT_STACK, 8 * MiB,
		     RLIM_INFINITY);
	expect_limit("core_is_0_soft_and_unlimited_hard", RLIMIT_CORE, 0, RLIM_INFINITY);
	expect_limit("memlock_is_8_mib", RLIMIT_MEMLOCK, 8 * MiB, 8 * MiB);
	expect_limit("msgqueue_is_819200_bytes", RLIMIT_MSGQUEUE, 819200, 819200);
	expect_limit("rtprio_is_0", RLIMIT_RTPRIO, 0, 0);
	expect_limit("nice_is_0", RLIMIT_NICE, 0, 0);
	expect_limit("cpu_is_unlimited", RLIMIT_CPU, RLIM_INFINITY, RLIM_INFINITY);
	expect_limit("data_is_unlimited", RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY);
	expect_limit("address_space_is_unlimited", RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY);
	/* Half of threads-max, which depends on the memory size. */
	struct rlimit nproc;
	getrlimit(RLIMIT_NPROC, &nproc);
	CHECK("nproc_is_finite_and_its_soft_and_hard_limits_agree",
	      nproc.rlim_cur == nproc.rlim_max && nproc.rlim_cur >= 10 &&
		      nproc.rlim_cur != RLIM_INFINITY);
	expect_limit("sigpending_is_nproc", RLIMIT_SIGPENDING, nproc.rlim_cur, nproc.rlim_max);
	EXPECT_EQ("getdtablesize_is_1024", 1024, getdtablesize());
}

static void nofile_bounds_descriptors(void)
{
	struct rlimit rl = { 4096, 4096 };
	EXPECT_EQ("raising_nofile_to_4096_succeeds", 0, setrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ("dup2_to_fd_4000_works_under_a_4096_limit", 4000, dup2(1, 4000));
	EXPECT_EQ("f_dupfd_from_4000_works", 4001, fcntl(1, F_DUPFD, 4000));
	close(4000);
	close(4001);

	rl.rlim_cur = 64;
	EXPECT_EQ("lowering_the_soft_nofile_limit_succeeds", 0, setrlimit(RLIMIT_NOFILE, &rl));
	int err, ret = dup2(1, 64);
	err = errno;
	EXPECT_ERRNO("dup2_to_the_limit_fails_with_ebadf", EBADF, ret, err);
	ret = dup3(1, 64, 0);
	err = errno;
	EXPECT_ERRNO("dup3_to_the_limit_fails_with_ebadf", EBADF, ret, err);
	ret = fcntl(1, F_DUPFD, 64);
	err = errno;
	EXPECT_ERRNO("f_dupfd_from_the_limit_fails_with_einval", EINVAL, ret, err);
	EXPECT_EQ("dup2_just_below_the_limit_works", 63, dup2(1, 63));
	close(63);

	/* At most 64 opens: a kernel that ignores the limit stops here too. */
	int fds[64], n = 0, fd = 0;
	errno = 0;
	while (n < 64 && (fd = open("/proc/self/stat", O_RDONLY)) >= 0)
		fds[n++] = fd;
	err = errno;
	CHECK("open_fails_with_emfile_once_every_fd_below_the_limit_is_used",
	      fd < 0 && err == EMFILE && n > 0 && fds[n - 1] == 63);
	int p[2];
	ret = pipe(p);
	err = errno;
	EXPECT_ERRNO("pipe_fails_with_emfile_at_the_limit", EMFILE, ret, err);
	ret = dup(0);
	err = errno;
	EXPECT_ERRNO("dup_fails_with_emfile_at_the_limit", EMFILE, ret, err);
	ret = fcntl(0, F_DUPFD, 0);
	err = errno;
	EXPECT_ERRNO("f_dupfd_fails_with_emfile_at_the_limit", EMFILE, ret, err);
	while (n > 0)
		close(fds[--n]);
	EXPECT_EQ("getdtablesize_follows_the_soft_limit", 64, getdtablesize());
	rl.rlim_cur = 1024;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void setting_limits(void)
{
	struct rlimit rl = { 200, 100 };
	int ret = setrlimit(RLIMIT_NOFILE, &rl);
	int err = errno;
	EXPECT_ERRNO("a_soft_limit_above_the_hard_one_fails_with_einval", EINVAL, ret, err);
	rl.rlim_cur = rl.rlim_max = 1048576 + 1;
	ret = setrlimit(RLIMIT_NOFILE, &rl);
	err = errno;
	EXPECT_ERRNO("nofile_above_nr_open_fails_with_eperm", EPERM, ret, err);
	ret = setrlimit(99, &rl);
	err = errno;
	EXPECT_ERRNO("an_unknown_resource_fails_with_einval", EINVAL, ret, err);

	rl.rlim_cur = 2 * MiB;
	rl.rlim_max = RLIM_INFINITY;
	setrlimit(RLIMIT_STACK, &rl);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit got;
		getrlimit(RLIMIT_STACK, &got);
		_exit(got.rlim_cur == 2 * MiB ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_child_inherits_its_parents_limits", 0, status);
}

static void prlimit_of_another_process(void)
{
	int go[2];
	if (pipe(go) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		read(go[0], &c, 1);
		struct rlimit got;
		getrlimit(RLIMIT_CORE, &got);
		_exit(got.rlim_cur == 4096 ? 0 : 1);
	}
	close(go[0]);
	struct rlimit old = { 1, 1 }, set = { 4096, RLIM_INFINITY };
	EXPECT_EQ("prlimit_of_a_child_returns_0", 0, prlimit(pid, RLIMIT_CORE, &set, &old));
	struct rlimit mine;
	getrlimit(RLIMIT_CORE, &mine);
	CHECK("prlimit_reports_the_childs_old_limit", old.rlim_max == mine.rlim_max);
	write(go[1], "x", 1);
	close(go[1]);
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("prlimit_sets_the_childs_limit", 0, status);
}

/* Linux exempts root (INIT_USER) from RLIMIT_NPROC, and every process here
 * is root. */
static void nproc_does_not_stop_root(void)
{
	struct rlimit old, rl = { 1, 1 };
	getrlimit(RLIMIT_NPROC, &old);
	if (getuid() != 0 || setrlimit(RLIMIT_NPROC, &rl) != 0) {
		check_skip("root_may_fork_past_rlimit_nproc", "not root");
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK("root_may_fork_past_rlimit_nproc", pid > 0 && waitpid(pid, NULL, 0) == pid);
}

/* /proc/self/limits, rebuilt from getrlimit in Linux's format. */
static void proc_limits_shows_every_limit(void)
{
	static const char *const names[][2] = {
		{ "Max cpu time", "seconds" },	 { "Max file size", "bytes" },
		{ "Max data size", "bytes" },	 { "Max stack size", "bytes" },
		{ "Max core file size", "bytes" }, { "Max resident set", "bytes" },
		{ "Max processes", "processes" }, { "Max open files", "files" },
		{ "Max locked memory", "bytes" }, { "Max address space", "bytes" },
		{ "Max file locks", "locks" },	 { "Max pending signals", "signals" },
		{ "Max msgqueue size", "bytes" }, { "Max nice priority", "" },
		{ "Max realtime priority", "" },	 { "Max realtime timeout", "us" },
	};
	char expected[4096], got[4096];
	int len = snprintf(expected, sizeof expected, "%-25s %-20s %-20s %-10s\n", "Limit",
			   "Soft Limit", "Hard Limit", "Units");
	for (int i = 0; i < 16; i++) {
		struct rlimit rl;
		char cur[24], max[24];
		getrlimit(i, &rl);
		if (rl.rlim_cur == RLIM_INFINITY)
			snprintf(cur, sizeof cur, "unlimited");
		else
			snprintf(cur, sizeof cur, "%lu", (unsigned long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			snprintf(max, sizeof max, "unlimited");
		else
			snprintf(max, sizeof max, "%lu", (unsigned long)rl.rlim_max);
		len += snprintf(expected + len, sizeof expected - len, "%-25s %-20s %-20s ",
				names[i][0], cur, max);
		if (names[i][1][0])
			len += snprintf(expected + len, sizeof expected - len, "%-10s\n",
					names[i][1]);
		else
			len += snprintf(expected + len, sizeof expected - len, "\n");
	}
	int fd = open("/proc/self/limits", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, got, sizeof got - 1);
	if (fd >= 0)
		close(fd);
	got[n > 0 ? n : 0] = '\0';
	if (strcmp(expected, got) == 0)
		check_ok("proc_self_limits_shows_every_limit_in_linuxs_format");
	else
		check_fail("proc_self_limits_shows_every_limit_in_linuxs_format",
			   "expected:\n%s\ngot:\n%s", expected, got);
}

int main(void)
{
	check_begin("rlimits");
	defaults_are_linuxs();
	nofile_bounds_descriptors();
	setting_limits();
	prlimit_of_another_process();
	nproc_does_not_stop_root();
	proc_limits_shows_every_limit();
	return check_end();
}
