/*
 * conform_exec: what execve keeps and what it resets, and its errors, as
 * Linux gives them: handlers back to SIG_DFL while ignored signals, the
 * blocked mask and pending signals stay; comm and /proc/self/exe name the
 * new file; a NULL argv or envp is taken as empty; symlink loops, missing
 * directories and files without an execute bit fail with their errno.
 *
 * The program runs itself again with a mode word as argv[1] to look at
 * the state the new image starts with; that image exits 0 when all holds.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static char self[256];
static char dir[64];

static void handler(int sig)
{
	(void)sig;
}

/* In the new image: each condition a bit of the exit code when false. */
static int after_exec_signals(void)
{
	struct sigaction sa;
	int bad = 0;
	sigaction(SIGUSR1, NULL, &sa);
	if (sa.sa_handler != SIG_DFL)
		bad |= 1;
	sigaction(SIGUSR2, NULL, &sa);
	if (sa.sa_handler != SIG_IGN)
		bad |= 2;
	sigset_t set;
	sigprocmask(SIG_BLOCK, NULL, &set);
	if (!sigismember(&set, SIGTERM))
		bad |= 4;
	sigpending(&set);
	if (!sigismember(&set, SIGTERM))
		bad |= 8;
	char comm[32] = "";
	prctl(PR_GET_NAME, comm);
	const char *base = strrchr(self, '/');
	if (strncmp(comm, base ? base + 1 : self, 15) != 0)
		bad |= 16;
	return bad;
}

static int after_exec_comm(const char *want)
{
	char comm[32] = "";
	prctl(PR_GET_NAME, comm);
	char text[64] = "";
	read_text("/proc/self/comm", text, sizeof text);
	char line[64];
	snprintf(line, sizeof line, "%s\n", want);
	return (strcmp(comm, want) != 0) | (strcmp(text, line) != 0) << 1;
}

static int after_exec_exe(const char *want)
{
	char link[256] = "";
	ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
	if (n > 0)
		link[n] = '\0';
	return strcmp(link, want) != 0;
}

static int run(char *const argv[], char *const envp[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execve(self, argv, envp);
		_exit(100 + errno);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

static void signals_across_exec(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, handler);
		signal(SIGUSR2, SIG_IGN);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		kill(getpid(), SIGTERM);
		char *argv[] = {self, "signals", NULL};
		execve(self, argv, environ);
		_exit(99);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK("exec_resets_handlers_keeps_ignored_blocked_and_pending_signals",
	      WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		say("    new image reported %#x\n", st);
}

static void comm_and_exe(void)
{
	char longname[128];
	snprintf(longname, sizeof longname, "%s/a_name_longer_than_fifteen", dir);
	CHECK("a_copy_of_the_program_is_made", link(self, longname) == 0 ||
	      symlink(self, longname) == 0);
	char *argv[] = {"whatever", "comm", "a_name_longer_t", NULL};
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "renamed");
		execve(longname, argv, environ);
		_exit(99);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("comm_after_exec_is_the_file_name_cut_to_15_bytes", 0 << 8, st);

	char target[256] = "";
	realpath(self, target);
	char *argv2[] = {"x", "exe", target, NULL};
	EXPECT_EQ("proc_self_exe_after_exec_is_the_new_file", 0, run(argv2, environ));
}

static void null_argv_and_envp(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		syscall(SYS_execve, self, NULL, NULL);
		_exit(99);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	/* main sees argc 1 with argv[0] "": it reports the argc it saw. */
	EXPECT_EQ("execve_with_null_argv_and_envp_runs_with_one_empty_argument", 42 << 8, st);
}

/* The wait status of a child that, as uid 1234, execs `path`: 0 when
 * execve failed with EACCES, else 100 + errno (or the program's own). */
static int execve_as_user_1234(const char *path, char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		setuid(1234);
		errno = 0;
		execve(path, argv, environ);
		_exit(errno == EACCES ? 0 : 100 + errno);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	return st;
}

static void errors(void)
{
	char path[128];
	char *argv[] = {"x", NULL};
	snprintf(path, sizeof path, "%s/loop", dir);
	symlink(path, path);
	EXPECT_FAILS("execve_of_a_symlink_loop_gives_eloop", ELOOP, execve(path, argv, environ));
	snprintf(path, sizeof path, "%s/nodir/prog", dir);
	EXPECT_FAILS("execve_under_a_missing_directory_gives_enoent", ENOENT,
		     execve(path, argv, environ));
	snprintf(path, sizeof path, "%s/noexec", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	char elf[4096];
	int sfd = open(self, O_RDONLY);
	ssize_t n;
	while ((n = read(sfd, elf, sizeof elf)) > 0)
		write(fd, elf, n);
	close(sfd);
	close(fd);
	EXPECT_FAILS("execve_of_a_file_without_x_bits_gives_eacces_even_for_root", EACCES,
		     execve(path, argv, environ));
	chmod(path, 0100);
	char *argv2[] = {"x", "exit42", NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execve(path, argv2, environ);
		_exit(100 + errno);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("root_may_run_a_file_with_only_the_owner_x_bit", 42 << 8, st);

	char sub[128];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	mkdir(sub, 0700);
	char inner[160];
	snprintf(inner, sizeof inner, "%s/prog", sub);
	link(self, inner);
	chmod(dir, 0755);
	EXPECT_EQ("execve_through_a_directory_without_search_permission_gives_eacces", 0,
		  execve_as_user_1234(inner, argv2));
	EXPECT_EQ("execve_of_an_owner_only_program_by_another_user_gives_eacces", 0,
		  execve_as_user_1234(path, argv2));

	char name[300];
	memset(name, 'a', 299);
	name[0] = '/';
	name[299] = '\0';
	EXPECT_FAILS("execve_of_a_component_over_255_bytes_gives_enametoolong", ENAMETOOLONG,
		     execve(name, argv, environ));
}

int main(int argc, char **argv)
{
	if (argc == 0 || (argc == 1 && argv[0][0] == '\0'))
		return argc == 1 && argv[1] == NULL ? 42 : 41;
	if (argc >= 2 && strcmp(argv[1], "signals") == 0) {
		readlink("/proc/self/exe", self, sizeof self - 1);
		return after_exec_signals();
	}
	if (argc >= 3 && strcmp(argv[1], "comm") == 0)
		return after_exec_comm(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "exe") == 0)
		return after_exec_exe(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "exit42") == 0)
		return 42;
	check_begin("conform_exec");
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return say("conform_exec: no /proc/self/exe\n"), 1;
	self[n] = '\0';
	snprintf(dir, sizeof dir, "/tmp/conform_exec.%d", getpid());
	if (mkdir(dir, 0755) != 0)
		return say("conform_exec: cannot make %s\n", dir), 1;
	signals_across_exec();
	comm_and_exe();
	null_argv_and_envp();
	errors();
	/* No shell in the initramfs: remove what we made by hand. */
	char p[200];
	const char *names[] = {"a_name_longer_than_fifteen", "loop", "noexec", "sub/prog", "sub"};
	chmod(dir, 0755);
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(dir);
	return check_end();
}
