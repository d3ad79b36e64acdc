/*
 * proc_cmdline: /proc/<pid>/cmdline and /proc/<pid>/environ show the
 * argument and environment strings as they are in the process's memory
 * now, read from another process as Linux's get_mm_cmdline() and
 * environ_read() do: an argument changed in place shows changed, and a
 * title written over the last argument's NUL (setproctitle) shows as one
 * string that may run on into the environment.
 */
#include "check.h"

#include <sys/stat.h>

#define READY_FD 9

static char self[256];

/* The child side: change argv as `how` says, say so, then wait to die. */
static int child(int argc, char **argv)
{
	const char *how = argv[2];
	if (strcmp(how, "shorten") == 0)
		strcpy(argv[3], "xy");
	if (strcmp(how, "retitle") == 0) {
		/* From argv[0] over the last NUL and 3 bytes into environ[0]:
		 * 36 bytes of arguments, so 39 T's and a NUL. */
		char *end = argv[argc - 1] + strlen(argv[argc - 1]);
		size_t n = (size_t)(end - argv[0]) + 1 + 3;
		memset(argv[0], 'T', n);
		argv[0][n] = '\0';
	}
	if (write(READY_FD, "r", 1) != 1)
		return 1;
	pause();
	return 0;
}

/* Starts `self --child how` with a fixed argv and environment; returns its
 * pid once it has changed its argv. */
static pid_t start(const char *how)
{
	int ready[2];
	if (pipe(ready) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ready[1], READY_FD);
		char *argv[] = { "prog", "--child", (char *)how, "child-mode", "abc", NULL };
		char *envp[] = { "A=1", "BEE=two", NULL };
		execve(self, argv, envp);
		_exit(127);
	}
	close(ready[1]);
	char c;
	int ok = read_full(ready[0], &c, 1);
	close(ready[0]);
	return ok == 0 ? pid : -1;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The whole file at /proc/<pid>/<what> into buf; its length or -1. */
static ssize_t proc_bytes(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < size && (n = read(fd, buf + len, size - len)) > 0)
		len += n;
	close(fd);
	return len;
}

static void expect_bytes(const char *name, pid_t pid, const char *what,
			 const char *want, size_t want_len)
{
	char got[8192];
	ssize_t n = proc_bytes(pid, what, got, sizeof got);
	if (n == (ssize_t)want_len && memcmp(got, want, want_len) == 0) {
		check_ok(name);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (got[i] == '\0')
			got[i] = '|';
	check_fail(name, "%s: %zd bytes \"%.*s\" (NULs as |)", what, n,
		   (int)(n < 0 ? 0 : n), got);
}

#define EXPECT_BYTES(name, pid, what, lit) expect_bytes(name, pid, what, lit, sizeof lit - 1)

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--child") == 0)
		return child(argc, argv);
	check_begin("proc_cmdline");
	if (realpath(argv[0], self) == NULL)
		snprintf(self, sizeof self, "/bin/proc_cmdline");

	pid_t pid = start("keep");
	EXPECT_BYTES("cmdline_of_another_process_is_its_argv_nul_separated", pid,
		     "cmdline", "prog\0--child\0keep\0child-mode\0abc\0");
	EXPECT_BYTES("environ_of_another_process_is_its_environment_nul_separated", pid,
		     "environ", "A=1\0BEE=two\0");
	stop(pid);

	pid = start("shorten");
	EXPECT_BYTES("an_argument_changed_in_place_shows_changed_in_cmdline", pid,
		     "cmdline", "prog\0--child\0shorten\0xy\0ld-mode\0abc\0");
	stop(pid);

	pid = start("retitle");
	EXPECT_BYTES("a_title_over_the_last_nul_reads_as_one_string_into_the_environment",
		     pid, "cmdline", "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT\0");
	EXPECT_BYTES("the_environment_shows_the_title_written_over_its_start", pid,
		     "environ", "TTT\0BEE=two\0");
	stop(pid);

	struct stat st;
	EXPECT_EQ("proc_self_environ_is_readable_by_the_owner_only", 0400,
		  stat("/proc/self/environ", &st) == 0 ? st.st_mode & 07777 : -1);
	extern char **environ;
	size_t want = 0;
	for (char **e = environ; *e; e++)
		want += strlen(*e) + 1;
	char own[8192];
	EXPECT_EQ("proc_self_environ_holds_the_environment_exec_gave", (long)want,
		  proc_bytes(getpid(), "environ", own, sizeof own));
	return check_end();
}
