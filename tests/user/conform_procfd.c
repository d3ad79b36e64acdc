/*
 * conform_procfd: the /proc answers about open files, kernel threads and
 * interrupts, as Linux gives them: a link in /proc/<pid>/fd names a
 * deleted file "<path> (deleted)", carries the open mode in its
 * permission bits and reopens the open file itself (a deleted file; a
 * pipe on Linux only); kthreadd has no exit signal while the threads it makes have
 * SIGCHLD; /proc/stat has its intr and softirq lines in Linux's order.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sys/stat.h>

/* The permission bits of the link /proc/self/fd/<fd>. */
static int link_mode(int fd)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return lstat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void link_modes(void)
{
	int r = open("/proc/self/stat", O_RDONLY);
	int w = open("/dev/null", O_WRONLY);
	int rw = open("/dev/null", O_RDWR);
	EXPECT_EQ("an_fd_link_opened_read_only_has_mode_0500", 0500, link_mode(r));
	EXPECT_EQ("an_fd_link_opened_write_only_has_mode_0300", 0300, link_mode(w));
	EXPECT_EQ("an_fd_link_opened_read_write_has_mode_0700", 0700, link_mode(rw));
	int p[2];
	pipe(p);
	EXPECT_EQ("a_pipe_s_read_end_link_has_mode_0500", 0500, link_mode(p[0]));
	EXPECT_EQ("a_pipe_s_write_end_link_has_mode_0300", 0300, link_mode(p[1]));
	close(p[0]);
	close(p[1]);
	close(r);
	close(w);
	close(rw);
}

static void deleted_files(void)
{
	char name[64], path[64], target[128] = "", want[128];
	snprintf(name, sizeof name, "/tmp/conform_procfd.%d", getpid());
	int fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0600);
	write(fd, "hello", 5);
	unlink(name);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	readlink(path, target, sizeof target - 1);
	snprintf(want, sizeof want, "%s (deleted)", name);
	CHECK("a_deleted_file_s_fd_link_reads_path_deleted", strcmp(target, want) == 0);

	struct stat st = { 0 }, own = { 0 };
	fstat(fd, &own);
	EXPECT_EQ("stat_of_a_deleted_file_s_fd_link_succeeds", 0, stat(path, &st));
	CHECK("stat_of_the_fd_link_gives_the_deleted_file", st.st_ino == own.st_ino && st.st_nlink == 0);
	int again = open(path, O_RDONLY);
	CHECK("opening_a_deleted_file_s_fd_link_succeeds", again >= 0);
	char text[8] = "";
	EXPECT_EQ("the_reopened_deleted_file_reads_its_content", 5, read(again, text, sizeof text));
	CHECK("the_reopened_deleted_file_has_the_written_bytes", memcmp(text, "hello", 5) == 0);
	EXPECT_EQ("the_reopened_file_has_its_own_offset", 5, lseek(fd, 0, SEEK_CUR));
	close(again);
	close(fd);
}

/* A pipe's link leads to the pipe (Linux: its pipefs inode). */
static void pipes(void)
{
	const char *names[] = { "stat_of_a_pipe_s_fd_link_succeeds",
				"stat_of_a_pipe_s_fd_link_gives_a_fifo",
				"opening_a_pipe_s_fd_link_succeeds",
				"the_reopened_pipe_reads_what_the_pipe_carries",
				"the_reopened_pipe_gives_the_written_bytes" };
	if (on_lifecycle()) {
		for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
			check_skip(names[i], "a pipe has no inode here (fs/proc/fd.rs Differs)");
		return;
	}
	int p[2];
	pipe(p);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	struct stat st = { 0 };
	EXPECT_EQ(names[0], 0, stat(path, &st));
	CHECK(names[1], S_ISFIFO(st.st_mode));
	int reader = open(path, O_RDONLY);
	CHECK(names[2], reader >= 0);
	write(p[1], "piped", 5);
	char text[8] = "";
	EXPECT_EQ(names[3], 5, read(reader, text, sizeof text));
	CHECK(names[4], memcmp(text, "piped", 5) == 0);
	close(reader);
	close(p[0]);
	close(p[1]);
}

/* Field 38 (exit_signal) of /proc/<pid>/stat; -1 if unreadable. */
static int exit_signal(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	return (int)stat_field_of(path, 38);
}

/* A kernel thread kthreadd made: a task whose parent is pid 2. */
static pid_t a_kthreadd_child(void)
{
	char path[64];
	for (pid_t pid = 3; pid < 4096; pid++) {
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		if (stat_field_of(path, 4) == 2)
			return pid;
	}
	return -1;
}

static void kernel_threads(void)
{
	EXPECT_EQ("kthreadd_has_no_exit_signal", 0, exit_signal(2));
	pid_t kt = a_kthreadd_child();
	CHECK("kthreadd_has_a_child", kt > 0);
	EXPECT_EQ("a_thread_kthreadd_made_has_sigchld_as_exit_signal", SIGCHLD, exit_signal(kt));
}

/* The numbers after `key` on its line of text, up to max; how many. */
static int line_numbers(const char *text, const char *key, unsigned long long *n, int max)
{
	const char *p = strstr(text, key);
	if (!p)
		return 0;
	p += strlen(key);
	int count = 0;
	while (count < max && *p == ' ') {
		char *end;
		n[count++] = strtoull(p, &end, 10);
		p = end;
	}
	return count;
}

static void proc_stat(void)
{
	static char text[65536];
	static unsigned long long n[4096];
	read_text("/proc/stat", text, sizeof text);
	const char *order[] = { "\nintr ", "\nctxt ", "\nbtime ", "\nprocesses ",
				"\nprocs_running ", "\nprocs_blocked ", "\nsoftirq " };
	const char *last = text;
	int in_order = 1;
	for (unsigned i = 0; i < sizeof order / sizeof *order; i++) {
		const char *at = strstr(text, order[i]);
		in_order &= at > last;
		last = at ? at : last;
	}
	CHECK("proc_stat_lines_come_in_linux_s_order", in_order);

	int nr = line_numbers(text, "\nintr", n, 4096);
	CHECK("intr_has_a_total_and_per_irq_counts", nr >= 17);
	unsigned long long sum = 0;
	for (int i = 1; i < nr; i++)
		sum += n[i];
	CHECK("intr_s_total_is_at_least_the_sum_of_its_counts", nr > 0 && n[0] >= sum && n[0] > 0);
	unsigned long long before = n[0];
	sleep_ms(100);
	read_text("/proc/stat", text, sizeof text);
	line_numbers(text, "\nintr", n, 1);
	CHECK("intr_s_total_grows_while_time_passes", n[0] > before);

	nr = line_numbers(text, "\nsoftirq", n, 4096);
	EXPECT_EQ("softirq_has_a_total_and_10_counts", 11, nr);
	sum = 0;
	for (int i = 1; i < nr; i++)
		sum += n[i];
	EXPECT_EQ("softirq_s_total_is_the_sum_of_its_counts", n[0], sum);
}

int main(void)
{
	check_begin("conform_procfd");
	link_modes();
	deleted_files();
	pipes();
	kernel_threads();
	proc_stat();
	return check_end();
}
