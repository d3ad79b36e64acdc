/*
 * proc_exe: /proc/<pid>/exe names the program the process runs, by its
 * own path (the symbolic links that led to it resolved), and execve of
 * /proc/self/exe runs that program again. BusyBox's ash runs each applet
 * that way (`sleep` from the shell is execve("/proc/self/exe")): without
 * the link every applet command failed with "not found".
 */
#include "check.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The program again, after execve("/proc/self/exe"): exits 0 if the link
 * still names `expected` (not /proc/self/exe, which would loop). */
static int again(const char *expected)
{
	char link[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
	if (n < 0)
		return 2;
	link[n] = '\0';
	return strcmp(link, expected) == 0 ? 0 : 3;
}

/* Runs `path` with `--again expected` in a child; returns its status. */
static int run_again(const char *path, const char *expected)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)path, "--again", (char *)expected, NULL };
		char *envp[] = { NULL };
		execve(path, argv, envp);
		_exit(127);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	return status;
}

static void exe_names_the_program(const char *real)
{
	char link[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
	if (n < 0) {
		check_fail("proc_self_exe_names_the_running_program", "readlink: %s",
			   strerror(errno));
		return;
	}
	link[n] = '\0';
	if (strcmp(link, real) == 0)
		check_ok("proc_self_exe_names_the_running_program");
	else
		check_fail("proc_self_exe_names_the_running_program", "%s, not %s", link,
			   real);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", getpid());
	n = readlink(path, link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("proc_pid_exe_is_the_same_link", n > 0 && strcmp(link, real) == 0);
}

static void execve_of_proc_self_exe_runs_the_program_again(const char *real)
{
	int status = run_again("/proc/self/exe", real);
	if (exited_with(status, 0))
		check_ok("execve_of_proc_self_exe_runs_the_program_again");
	else
		check_fail("execve_of_proc_self_exe_runs_the_program_again",
			   "status %#x (127: execve failed, 3: its exe link is not %s)", status,
			   real);
}

static void exe_of_a_program_run_by_a_symlink_is_the_file(const char *real)
{
	char dir[64], link_path[128];
	if (!scratch_dir(dir, sizeof dir, "proc_exe")) {
		check_fail("exe_of_a_program_run_by_a_symlink_is_the_file", "mkdtemp: %s",
			   strerror(errno));
		return;
	}
	snprintf(link_path, sizeof link_path, "%s/link", dir);
	if (symlink(real, link_path) < 0) {
		check_fail("exe_of_a_program_run_by_a_symlink_is_the_file", "symlink: %s",
			   strerror(errno));
		scratch_remove(dir);
		return;
	}
	int status = run_again(link_path, real);
	if (exited_with(status, 0))
		check_ok("exe_of_a_program_run_by_a_symlink_is_the_file");
	else
		check_fail("exe_of_a_program_run_by_a_symlink_is_the_file",
			   "status %#x (127: execve failed, 3: its exe link is not %s)", status,
			   real);
	scratch_remove(dir);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--again") == 0)
		return again(argv[2]);
	check_begin("proc_exe");
	char real[PATH_MAX];
	if (!realpath(argv[0], real)) {
		check_fail("proc_self_exe_names_the_running_program", "realpath(%s): %s",
			   argv[0], strerror(errno));
		return check_end();
	}
	exe_names_the_program(real);
	execve_of_proc_self_exe_runs_the_program_again(real);
	exe_of_a_program_run_by_a_symlink_is_the_file(real);
	return check_end();
}
