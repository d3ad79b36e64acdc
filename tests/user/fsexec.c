/*
 * fsexec: named pipes (FIFOs) and running files: a FIFO's open waits for
 * the other side (O_NONBLOCK and O_RDWR as Linux's fifo_open), ETXTBSY
 * both ways, execveat (relative to a directory fd, and with AT_EMPTY_PATH
 * as musl's fexecve), and #! scripts as Linux's binfmt_script runs them.
 *
 * The program copies itself into a scratch directory under /tmp and runs
 * the copy: with FSMETA_OUT set, the copy writes "argc|argv[0]|argv[1]..."
 * to that file and exits 42; with "sleep" it reports on fd 3 and sleeps.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sys/stat.h>
#include <sys/syscall.h>

static char dir[64], prog[96], out[96];
static int dfd;

static int copy_mode_runs(int argc, char **argv)
{
	const char *to = getenv("FSMETA_OUT");
	if (to) {
		char line[1024] = "";
		snprintf(line, sizeof line, "%d", argc);
		for (int i = 0; i < argc; i++)
			snprintf(line + strlen(line), sizeof line - strlen(line), "|%s", argv[i]);
		int fd = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		write(fd, line, strlen(line));
		_exit(42);
	}
	if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
		write(3, "x", 1);
		sleep(20);
		_exit(0);
	}
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
	write(fd, text, strlen(text));
	close(fd);
	chmod(path, mode);
}

static int copy_self(const char *from)
{
	int in = open(from, O_RDONLY), o = open(prog, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	char buf[4096];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		write(o, buf, n);
	close(in);
	close(o);
	return in >= 0 && o >= 0;
}

/* Runs exec_fn in a child with FSMETA_OUT set; returns its exit status:
 * 42 when the copy ran, 100 + errno when the exec failed. */
static int run(void (*exec_fn)(char **envp), char *got, size_t size)
{
	unlink(out);
	char env[128];
	snprintf(env, sizeof env, "FSMETA_OUT=%s", out);
	char *envp[] = {env, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		exec_fn(envp);
		_exit(100 + errno);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	memset(got, 0, size);
	int fd = open(out, O_RDONLY);
	if (fd >= 0 && read(fd, got, size - 1) < 0)
		got[0] = '\0';
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *args[] = {"prog", "x", NULL};
static char *script_path;
static int exec_fd;
static void exec_fexecve(char **envp) { fexecve(exec_fd, args, envp); }
static void exec_empty_path(char **envp) { syscall(SYS_execveat, exec_fd, "", args, envp, AT_EMPTY_PATH); }
static void exec_relative(char **envp) { syscall(SYS_execveat, dfd, "prog", args, envp, 0); }
static void exec_file_as_dirfd(char **envp) { syscall(SYS_execveat, exec_fd, "prog", args, envp, 0); }
static void exec_bad_flag(char **envp) { syscall(SYS_execveat, dfd, "prog", args, envp, 0x4); }
static void exec_nofollow(char **envp) { syscall(SYS_execveat, dfd, "plink", args, envp, AT_SYMLINK_NOFOLLOW); }
static void exec_empty_no_flag(char **envp) { syscall(SYS_execveat, exec_fd, "", args, envp, 0); }
static void exec_script(char **envp) { char *a[] = {"s", "a1", NULL}; execve(script_path, a, envp); }
static void exec_prog(char **envp) { execve(prog, args, envp); }

static void fifos_wait_for_the_other_side(void)
{
	char fifo[96];
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	EXPECT_EQ("mkfifo_makes_a_fifo", 0, mkfifo(fifo, 0600));
	EXPECT_FAILS("a_nonblocking_write_open_without_reader_is_enxio", ENXIO, open(fifo, O_WRONLY | O_NONBLOCK));
	int r = open(fifo, O_RDONLY | O_NONBLOCK);
	CHECK("a_nonblocking_read_open_does_not_wait", r >= 0);
	int w = open(fifo, O_WRONLY | O_NONBLOCK);
	CHECK("a_nonblocking_write_open_with_a_reader_succeeds", w >= 0);
	struct stat st;
	fstat(w, &st);
	CHECK("fstat_of_an_open_fifo_shows_a_fifo", S_ISFIFO(st.st_mode));
	EXPECT_EQ("the_ends_share_one_pipe", 3, write(w, "abc", 3));
	char buf[8] = {0};
	EXPECT_EQ("the_reader_gets_the_bytes", 3, read(r, buf, sizeof buf));
	close(w);
	close(r);
	int rw = open(fifo, O_RDWR);
	CHECK("an_o_rdwr_open_never_waits", rw >= 0);
	close(rw);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(fifo, O_RDONLY);
		_exit(read(fd, buf, sizeof buf));
	}
	usleep(200000);
	int status = 0;
	EXPECT_EQ("open_for_reading_waits_until_a_writer_opens", 0, waitpid(pid, &status, WNOHANG));
	w = open(fifo, O_WRONLY);
	CHECK("open_for_writing_finds_the_waiting_reader", w >= 0);
	write(w, "hi", 2);
	close(w);
	waitpid(pid, &status, 0);
	EXPECT_EQ("the_reader_read_what_the_writer_wrote", 2, WEXITSTATUS(status));
	pid = fork();
	if (pid == 0) {
		int fd = open(fifo, O_WRONLY);
		_exit(write(fd, "hello", 5));
	}
	usleep(100000);
	r = open(fifo, O_RDONLY);
	memset(buf, 0, sizeof buf);
	EXPECT_EQ("a_writer_waiting_in_open_writes_once_a_reader_comes", 5, read(r, buf, sizeof buf));
	waitpid(pid, &status, 0);
	EXPECT_EQ("then_end_of_file_when_the_writer_is_gone", 0, read(r, buf, sizeof buf));
	close(r);
}

static void running_programs_and_writers_exclude_each_other(void)
{
	char got[512];
	int w = open(prog, O_WRONLY);
	EXPECT_EQ("execve_of_a_file_open_for_writing_is_etxtbsy", 100 + ETXTBSY, run(exec_prog, got, sizeof got));
	close(w);
	EXPECT_EQ("after_close_it_runs", 42, run(exec_prog, got, sizeof got));
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 3);
		char *a[] = {"prog", "sleep", NULL};
		execv(prog, a);
		_exit(1);
	}
	close(p[1]);
	char c;
	read(p[0], &c, 1);
	close(p[0]);
	EXPECT_FAILS("opening_a_running_program_for_writing_is_etxtbsy", ETXTBSY, open(prog, O_WRONLY));
	EXPECT_FAILS("truncating_a_running_program_is_etxtbsy", ETXTBSY, truncate(prog, 0));
	int fd = open(prog, O_RDONLY);
	CHECK("opening_it_for_reading_is_fine", fd >= 0);
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fd = open(prog, O_WRONLY);
	CHECK("once_it_exits_it_opens_for_writing", fd >= 0);
	close(fd);
}

static void execveat_runs_files_by_descriptor(void)
{
	char got[512];
	exec_fd = open(prog, O_RDONLY);
	EXPECT_EQ("fexecve_runs_the_open_file", 42, run(exec_fexecve, got, sizeof got));
	CHECK("fexecve_passes_the_arguments", strcmp(got, "2|prog|x") == 0);
	EXPECT_EQ("execveat_at_empty_path_runs_the_fd", 42, run(exec_empty_path, got, sizeof got));
	EXPECT_EQ("execveat_relative_to_a_directory_fd", 42, run(exec_relative, got, sizeof got));
	EXPECT_EQ("execveat_with_a_file_as_dirfd_is_enotdir", 100 + ENOTDIR, run(exec_file_as_dirfd, got, sizeof got));
	EXPECT_EQ("execveat_with_an_unknown_flag_is_einval", 100 + EINVAL, run(exec_bad_flag, got, sizeof got));
	symlinkat("prog", dfd, "plink");
	EXPECT_EQ("execveat_nofollow_on_a_symlink_is_eloop", 100 + ELOOP, run(exec_nofollow, got, sizeof got));
	EXPECT_EQ("execveat_of_an_empty_path_without_the_flag_is_enoent", 100 + ENOENT, run(exec_empty_no_flag, got, sizeof got));
	close(exec_fd);
}

static int script(const char *name, const char *text, char *got, size_t size)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	write_file(path, text, 0755);
	script_path = path;
	return run(exec_script, got, size);
}

static void scripts_run_their_interpreter(void)
{
	char got[512], want[512], text[512];
	snprintf(text, sizeof text, "#!%s\n", prog);
	EXPECT_EQ("a_script_runs_its_interpreter", 42, script("s0", text, got, sizeof got));
	snprintf(want, sizeof want, "3|%s|%s/s0|a1", prog, dir);
	CHECK("the_interpreter_gets_the_script_path_then_the_arguments", strcmp(got, want) == 0);
	snprintf(text, sizeof text, "#! \t%s  one two \t\n", prog);
	EXPECT_EQ("a_script_with_an_argument_runs", 42, script("s1", text, got, sizeof got));
	snprintf(want, sizeof want, "4|%s|one two|%s/s1|a1", prog, dir);
	CHECK("everything_after_the_name_is_one_argument_without_trailing_blanks", strcmp(got, want) == 0);
	snprintf(text, sizeof text, "#!%s\r\n", prog);
	EXPECT_EQ("a_trailing_carriage_return_is_part_of_the_name", 100 + ENOENT, script("s2", text, got, sizeof got));
	EXPECT_EQ("a_line_without_interpreter_is_enoexec", 100 + ENOEXEC, script("s3", "#!\n", got, sizeof got));
	int n = snprintf(text, sizeof text, "#!%s ", prog);
	memset(text + n, 'x', 300);
	strcpy(text + n + 300, "\n");
	EXPECT_EQ("a_line_longer_than_the_buffer_runs", 42, script("s4", text, got, sizeof got));
	const char *arg = strchr(strchr(got, '|') + 1, '|') + 1;
	EXPECT_EQ("its_argument_is_cut_at_the_buffer_end", 255 - n, strchr(arg, '|') - arg);
	text[0] = '#', text[1] = '!', text[2] = '/';
	memset(text + 3, 'y', 300);
	strcpy(text + 303, "\n");
	EXPECT_EQ("an_interpreter_name_past_the_buffer_is_enoexec", 100 + ENOEXEC, script("s5", text, got, sizeof got));
	snprintf(text, sizeof text, "#!%s\n", prog);
	char name[8], prev[128];
	snprintf(prev, sizeof prev, "%s", prog);
	int status = 0;
	for (int i = 1; i <= 6; i++) {
		snprintf(name, sizeof name, "n%d", i);
		snprintf(text, sizeof text, "#!%s\n", prev);
		status = script(name, text, got, sizeof got);
		snprintf(prev, sizeof prev, "%s/%s", dir, name);
		if (i == 5)
			EXPECT_EQ("five_nested_interpreter_scripts_run", 42, status);
	}
	EXPECT_EQ("six_nested_interpreter_scripts_are_eloop", 100 + ELOOP, status);
	snprintf(text, sizeof text, "#!%s\n", prog);
	script("s6", text, got, sizeof got);
	exec_fd = open(script_path, O_RDONLY);
	EXPECT_EQ("fexecve_of_a_script_runs_its_interpreter", 42, run(exec_fexecve, got, sizeof got));
	close(exec_fd);
	exec_fd = open(script_path, O_RDONLY | O_CLOEXEC);
	EXPECT_EQ("fexecve_of_a_script_through_a_close_on_exec_fd_is_enoent", 100 + ENOENT, run(exec_fexecve, got, sizeof got));
	close(exec_fd);
	chmod(script_path, 0644);
	EXPECT_EQ("a_script_without_an_x_bit_is_eacces", 100 + EACCES, run(exec_script, got, sizeof got));
}

int main(int argc, char **argv)
{
	copy_mode_runs(argc, argv);
	check_begin("fsexec");
	if (scratch_dir(dir, sizeof dir, "fsexec") == NULL)
		return say("fsexec: cannot make a directory in /tmp\n"), 1;
	snprintf(prog, sizeof prog, "%s/prog", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	if (!copy_self(argv[0]))
		return say("fsexec: cannot set up %s\n", dir), 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	fifos_wait_for_the_other_side();
	running_programs_and_writers_exclude_each_other();
	execveat_runs_files_by_descriptor();
	scripts_run_their_interpreter();
	scratch_remove(dir);
	return check_end();
}
