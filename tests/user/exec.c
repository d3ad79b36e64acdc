/*
 * exec: execve replaces the program but not the process, and a failed
 * execve leaves the caller running.
 *
 * Needs its siblings: exec_helper (the program exec'd) and not_elf.txt
 * (a text file with execute permission, for ENOEXEC).
 */
#include "check.h"

#include <sys/stat.h>
#include <sys/wait.h>

static char helper[256], not_elf[256], bin_dir[256];

static int wait_status(pid_t pid)
{
	int status = -1;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void report_bit(const char *name, int status, int bit)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) != 99 && !(WEXITSTATUS(status) & bit))
		check_ok(name);
	else
		check_fail(name, "exec_helper reported status %#x (problem bit %d)", status, bit);
}

static void execve_passes_argv_envp_and_keeps_the_pid(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		char pid_arg[16], ppid_arg[16];
		snprintf(pid_arg, sizeof pid_arg, "%d", getpid());
		snprintf(ppid_arg, sizeof ppid_arg, "%d", parent);
		char *argv[] = { helper, "args", pid_arg, ppid_arg, "two words", "", NULL };
		char *envp[] = { "EXEC_HELPER_A=1", "EXEC_HELPER_B=two words", NULL };
		execve(helper, argv, envp);
		_exit(99);
	}
	int status = wait_status(pid);
	CHECK("execve_runs_the_new_program_which_exits_normally",
	      WIFEXITED(status) && WEXITSTATUS(status) != 99);
	report_bit("the_new_program_gets_the_argc_it_was_given", status, 1);
	report_bit("the_new_program_gets_argv_including_an_empty_string", status, 2);
	report_bit("the_new_program_gets_exactly_the_envp_it_was_given", status, 4);
	report_bit("execve_keeps_the_pid", status, 8);
	report_bit("execve_keeps_the_parent", status, 16);
	EXPECT_EQ("the_parent_collects_the_exit_code_of_the_new_program", 0, status);
}

static void close_on_exec_descriptors_are_closed(void)
{
	int doomed[2], kept[2];
	pipe2(doomed, O_CLOEXEC);
	pipe(kept);

	pid_t pid = fork();
	if (pid == 0) {
		char doomed_arg[16], kept_arg[16];
		snprintf(doomed_arg, sizeof doomed_arg, "%d", doomed[1]);
		snprintf(kept_arg, sizeof kept_arg, "%d", kept[1]);
		char *argv[] = { helper, "fds", doomed_arg, kept_arg, NULL };
		char *envp[] = { NULL };
		execve(helper, argv, envp);
		_exit(99);
	}
	close(kept[1]);
	close(doomed[1]);
	int status = wait_status(pid);
	char buf[8] = "";
	ssize_t n = read(kept[0], buf, sizeof buf);
	close(kept[0]);
	close(doomed[0]);

	report_bit("an_o_cloexec_descriptor_is_closed_in_the_new_program", status, 1);
	report_bit("a_descriptor_without_cloexec_stays_open_in_the_new_program", status, 2);
	CHECK("the_kept_descriptor_is_still_the_same_pipe",
	      n == 4 && memcmp(buf, "kept", 4) == 0);

	pid = fork();
	if (pid == 0) {
		int fds[2];
		pipe(fds);
		int marked = dup(fds[1]);
		fcntl(marked, F_SETFD, FD_CLOEXEC);
		char marked_arg[16], kept_arg[16];
		snprintf(marked_arg, sizeof marked_arg, "%d", marked);
		snprintf(kept_arg, sizeof kept_arg, "%d", fds[1]);
		char *argv[] = { helper, "fds", marked_arg, kept_arg, NULL };
		char *envp[] = { NULL };
		execve(helper, argv, envp);
		_exit(99);
	}
	status = wait_status(pid);
	report_bit("a_descriptor_marked_fd_cloexec_by_fcntl_is_closed_in_the_new_program",
		   status, 1);
}

static void failed_execve_returns_to_the_caller(void)
{
	pid_t me = getpid();
	char *argv[] = { "x", NULL };
	char *envp[] = { NULL };
	int ret, err;

	ret = execve("/no/such/program", argv, envp);
	err = errno;
	EXPECT_ERRNO("execve_of_a_missing_path_fails_with_enoent", ENOENT, ret, err);

	struct stat st;
	int executable = stat(not_elf, &st) == 0 && (st.st_mode & S_IXUSR);
	ret = execve(not_elf, argv, envp);
	err = errno;
	if (!executable)
		check_fail("execve_of_a_text_file_fails_with_enoexec",
			   "%s must exist with execute permission (install -m 755)", not_elf);
	else
		EXPECT_ERRNO("execve_of_a_text_file_fails_with_enoexec", ENOEXEC, ret, err);

	ret = execve("/", argv, envp);
	err = errno;
	EXPECT_ERRNO("execve_of_the_root_directory_fails_with_eacces", EACCES, ret, err);
	ret = execve(bin_dir, argv, envp);
	err = errno;
	EXPECT_ERRNO("execve_of_the_program_directory_fails_with_eacces", EACCES, ret, err);

	char through_file[300];
	snprintf(through_file, sizeof through_file, "%s/x", helper);
	ret = execve(through_file, argv, envp);
	err = errno;
	EXPECT_ERRNO("execve_through_a_file_as_directory_fails_with_enotdir", ENOTDIR, ret, err);

	EXPECT_EQ("getpid_is_unchanged_after_failed_execs", me, getpid());
}

int main(int argc, char **argv)
{
	check_begin("exec");
	sibling(argv[0], "exec_helper", helper, sizeof helper);
	sibling(argv[0], "not_elf.txt", not_elf, sizeof not_elf);
	sibling(argv[0], "", bin_dir, sizeof bin_dir);
	if (strlen(bin_dir) > 1)
		bin_dir[strlen(bin_dir) - 1] = '\0'; /* "/bin/" -> "/bin" */
	else
		strcpy(bin_dir, ".");
	execve_passes_argv_envp_and_keeps_the_pid();
	close_on_exec_descriptors_are_closed();
	failed_execve_returns_to_the_caller();
	return check_end();
}
