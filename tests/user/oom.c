/*
 * oom: when memory runs out, the OOM killer ends the process using the
 * most of it with SIGKILL, and everyone else keeps running.
 *
 * On Linux only the harmless parts run (/proc/<pid>/oom_score and
 * oom_score_adj); exhausting memory runs only on our kernel, in a boot of
 * its own, whose log the harness checks for Linux's "Out of memory:
 * Killed process" line.
 */
#include "check.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PAGE 4096L
#define MIB (1024L * 1024)
#define DEADLINE_MS 60000

/* Reads /proc/<pid>/<file> as one number; -1 on error. */
static long proc_pid_number(pid_t pid, const char *file)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	return proc_number(path, "");
}

/* Writes `text` to /proc/self/oom_score_adj; returns write()'s result,
 * with errno. */
static long write_adj(const char *text)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0)
		return -1;
	long n = write(fd, text, strlen(text));
	int err = errno;
	close(fd);
	errno = err;
	return n;
}

/* Touches `bytes` of fresh anonymous memory, one write per page. */
static char *touch(long bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	for (long i = 0; i < bytes; i += PAGE)
		p[i] = 1;
	return p;
}

static void hold_on(int sig)
{
	(void)sig;
	for (;;)
		pause();
}

/* Touches memory forever: only the OOM killer ends it. A kernel without
 * one sends SIGSEGV instead, which the hog survives, keeping the memory. */
static void __attribute__((noreturn)) hog(void)
{
	signal(SIGSEGV, hold_on);
	for (;;)
		touch(16 * MIB);
}

/* Fills memory forever through the kernel's copies to user space: each
 * fresh page is first written by getrandom. It must die of SIGKILL, not
 * see EFAULT. */
static void __attribute__((noreturn)) syscall_hog(void)
{
	for (;;) {
		char *p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		for (long i = 0; i < 16 * MIB; i += PAGE)
			if (syscall(SYS_getrandom, p + i, 16, 0) != 16)
				_exit(4);
	}
}

static void oom_score_adj_reads_writes_and_rejects(const char *argv0)
{
	long original = proc_pid_number(getpid(), "oom_score_adj");
	CHECK("oom_score_adj_reads_as_a_number_in_range",
	      original >= -1000 && original <= 1000);
	EXPECT_EQ("writing_500_to_oom_score_adj_succeeds", 4, write_adj("500\n"));
	EXPECT_EQ("oom_score_adj_reads_back_500", 500, proc_pid_number(getpid(), "oom_score_adj"));
	errno = 0;
	long r = write_adj("1001");
	EXPECT_ERRNO("oom_score_adj_above_1000_is_einval", EINVAL, r, errno);
	errno = 0;
	r = write_adj("-1001");
	EXPECT_ERRNO("oom_score_adj_below_minus_1000_is_einval", EINVAL, r, errno);
	errno = 0;
	r = write_adj("lots");
	EXPECT_ERRNO("oom_score_adj_that_is_not_a_number_is_einval", EINVAL, r, errno);
	EXPECT_EQ("a_rejected_write_leaves_oom_score_adj_unchanged", 500,
		  proc_pid_number(getpid(), "oom_score_adj"));

	write_adj("300");
	pid_t child = fork();
	if (child == 0)
		_exit(proc_pid_number(getpid(), "oom_score_adj") / 10);
	EXPECT_EQ("fork_inherits_oom_score_adj", 30, WEXITSTATUS(wait_until(child, DEADLINE_MS)));
	child = fork();
	if (child == 0) {
		execl(argv0, argv0, "print-adj", (char *)NULL);
		_exit(99);
	}
	EXPECT_EQ("exec_keeps_oom_score_adj", 30, WEXITSTATUS(wait_until(child, DEADLINE_MS)));

	/* Lowering it needs CAP_SYS_RESOURCE, which a container's root may lack. */
	if (write_adj("-1000") < 0 && errno == EACCES && !on_lifecycle())
		check_skip("oom_score_of_a_process_with_adj_minus_1000_is_0",
			   "no CAP_SYS_RESOURCE to lower oom_score_adj");
	else
		EXPECT_EQ("oom_score_of_a_process_with_adj_minus_1000_is_0", 0,
			  proc_pid_number(getpid(), "oom_score"));
	char text[16];
	snprintf(text, sizeof text, "%ld", original);
	write_adj(text);
}

static void oom_score_grows_with_memory(void)
{
	int ready[2];
	pipe(ready);
	pid_t big = fork();
	if (big == 0) {
		touch(96 * MIB);
		write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	pid_t small = fork();
	if (small == 0) {
		write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	char c[2];
	read_full(ready[0], c, 2);
	long big_score = proc_pid_number(big, "oom_score");
	long small_score = proc_pid_number(small, "oom_score");
	if (big_score > small_score && small_score >= 0 && big_score <= 2000)
		check_ok("oom_score_is_higher_for_a_bigger_process");
	else
		check_fail("oom_score_is_higher_for_a_bigger_process",
			   "96 MiB process scores %ld, an idle one %ld", big_score, small_score);
	kill(big, SIGKILL);
	kill(small, SIGKILL);
	waitpid(big, NULL, 0);
	waitpid(small, NULL, 0);
	close(ready[0]);
	close(ready[1]);
}

/* (a) and (b): a hog touching more than RAM, and a bystander that keeps
 * filling fresh pages meanwhile, 16 MiB at most at a time: every other
 * page by a store, the others through the kernel (getrandom), whose copy
 * must wait for memory too rather than fail with EFAULT. */
static void a_hog_is_killed_and_a_bystander_survives(void)
{
	volatile int *hog_done = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*hog_done = 0;
	pid_t bystander = fork();
	if (bystander == 0) {
		const long pages = 16 * MIB / PAGE;
		char *p = NULL;
		for (long round = 0; !*hog_done || round < 100; round++) {
			if (round % pages == 0) {
				if (p)
					munmap(p, pages * PAGE);
				p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (p == MAP_FAILED)
					_exit(3);
			}
			char *page = p + round % pages * PAGE;
			if (round % 2)
				page[0] = 1;
			else if (syscall(SYS_getrandom, page, 16, 0) != 16)
				_exit(4);
		}
		_exit(0);
	}
	pid_t hogger = fork();
	if (hogger == 0)
		hog();
	int status = wait_until(hogger, DEADLINE_MS);
	*hog_done = 1;
	if (killed_by(status, SIGKILL))
		check_ok("a_process_touching_more_than_ram_is_killed_with_sigkill");
	else
		check_fail("a_process_touching_more_than_ram_is_killed_with_sigkill",
			   "wait status %#x", status);
	status = wait_until(bystander, DEADLINE_MS);
	if (exited_with(status, 0))
		check_ok("a_bystander_that_allocates_meanwhile_survives");
	else
		check_fail("a_bystander_that_allocates_meanwhile_survives",
			   "wait status %#x", status);
	munmap((void *)hog_done, PAGE);
}

static void a_hog_filling_memory_through_system_calls_is_killed(void)
{
	pid_t hogger = fork();
	if (hogger == 0)
		syscall_hog();
	int status = wait_until(hogger, DEADLINE_MS);
	if (killed_by(status, SIGKILL))
		check_ok("a_process_filling_memory_through_system_calls_is_killed_with_sigkill");
	else
		check_fail("a_process_filling_memory_through_system_calls_is_killed_with_sigkill",
			   "wait status %#x", status);
}

/* (c): a process holding 60% of RAM forks; the child writes every page,
 * which needs copies that do not fit. One of the two is killed, the other
 * finishes, and the machine keeps working. */
static void cow_write_with_no_memory_ends(long total)
{
	long before = memfree_kb();
	pid_t parent = fork();
	if (parent == 0) {
		long bytes = total * 6 / 10;
		char *p = touch(bytes);
		pid_t writer = fork();
		if (writer == 0) {
			for (long i = 0; i < bytes; i += PAGE)
				p[i] = 2;
			_exit(0);
		}
		int status;
		waitpid(writer, &status, 0);
		_exit(WIFSIGNALED(status) ? 100 + WTERMSIG(status) : WEXITSTATUS(status));
	}
	int status = wait_until(parent, DEADLINE_MS);
	if (killed_by(status, SIGKILL) || exited_with(status, 100 + SIGKILL))
		check_ok("cow_write_with_no_memory_ends_with_one_process_killed");
	else
		check_fail("cow_write_with_no_memory_ends_with_one_process_killed",
			   "wait status %#x", status);
	long end = now_ms() + 10000;
	while (memfree_kb() < before * 9 / 10 && now_ms() < end)
		sleep_ms(50);
	long after = memfree_kb();
	if (before > 0 && after >= before * 9 / 10)
		check_ok("memory_comes_back_after_the_oom_kill");
	else
		check_fail("memory_comes_back_after_the_oom_kill", "MemFree %ld kB before, %ld kB after",
			   before, after);
	pid_t child = fork();
	if (child == 0)
		_exit(42);
	CHECK("fork_works_after_the_oom_kill", exited_with(wait_until(child, DEADLINE_MS), 42));
}

/* (d): a process with oom_score_adj -1000 holding most memory is spared;
 * the smaller hog beside it is killed instead. */
static void oom_score_adj_minus_1000_protects(long total)
{
	int ready[2];
	pipe(ready);
	pid_t protected = fork();
	if (protected == 0) {
		if (write_adj("-1000") < 0)
			_exit(4);
		touch(total * 6 / 10);
		write(ready[1], "x", 1);
		for (;;)
			pause();
	}
	char c;
	read_full(ready[0], &c, 1);
	pid_t hogger = fork();
	if (hogger == 0)
		hog();
	int status = wait_until(hogger, DEADLINE_MS);
	if (killed_by(status, SIGKILL))
		check_ok("the_hog_beside_a_protected_process_is_killed");
	else
		check_fail("the_hog_beside_a_protected_process_is_killed", "wait status %#x", status);
	CHECK("a_process_with_oom_score_adj_minus_1000_survives",
	      waitpid(protected, &status, WNOHANG) == 0);
	kill(protected, SIGTERM);
	CHECK("the_protected_process_was_alive_until_told_to_end",
	      killed_by(wait_until(protected, DEADLINE_MS), SIGTERM));
	close(ready[0]);
	close(ready[1]);
}

/* A pipe that needs a page when none is free gets one through the OOM
 * killer, as every allocation a process causes does on Linux: the process
 * holding the most memory is killed, and the writer is never refused. */
static void a_pipe_write_with_no_memory_kills_the_biggest_process(long total)
{
	int ready[2];
	if (pipe(ready) != 0) {
		check_fail("a_pipe_writer_that_finds_no_free_page_is_not_refused", "pipe: %s", strerror(errno));
		return;
	}
	pid_t holder = fork();
	if (holder == 0) {
		touch(total / 2);
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	char c;
	if (read(ready[0], &c, 1) != 1)
		c = 0;
	close(ready[0]);
	close(ready[1]);
	pid_t writer = fork();
	if (writer == 0) {
		/* Only the read ends stay open: one descriptor per full pipe. */
		struct rlimit nofile = { 4096, 4096 };
		static char buf[64 * 1024];
		memset(buf, 'p', sizeof buf);
		if (setrlimit(RLIMIT_NOFILE, &nofile) != 0)
			_exit(5);
		for (long i = 0; i < total * 3 / 4 / (long)sizeof buf; i++) {
			int p[2];
			if (pipe(p) != 0)
				_exit(3);
			if (write(p[1], buf, sizeof buf) != (ssize_t)sizeof buf)
				_exit(4);
			close(p[1]);
		}
		_exit(0);
	}
	int status = wait_until(writer, DEADLINE_MS);
	if (exited_with(status, 0))
		check_ok("a_pipe_writer_that_finds_no_free_page_is_not_refused");
	else
		check_fail("a_pipe_writer_that_finds_no_free_page_is_not_refused", "wait status %#x", status);
	int holder_status = -1;
	if (waitpid(holder, &holder_status, WNOHANG) != holder) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	}
	if (c == 'x' && killed_by(holder_status, SIGKILL))
		check_ok("the_biggest_process_is_killed_to_make_room_for_the_pipe");
	else
		check_fail("the_biggest_process_is_killed_to_make_room_for_the_pipe",
			   "holder ready %d, wait status %#x", c == 'x', holder_status);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "print-adj") == 0)
		return proc_pid_number(getpid(), "oom_score_adj") / 10;
	check_begin("oom");
	oom_score_adj_reads_writes_and_rejects(argv[0]);
	oom_score_grows_with_memory();
	const char *why = "exhausting memory runs only on lifecycle";
	if (!on_lifecycle()) {
		check_skip("a_process_touching_more_than_ram_is_killed_with_sigkill", why);
		check_skip("a_bystander_that_allocates_meanwhile_survives", why);
		check_skip("a_process_filling_memory_through_system_calls_is_killed_with_sigkill", why);
		check_skip("cow_write_with_no_memory_ends_with_one_process_killed", why);
		check_skip("the_hog_beside_a_protected_process_is_killed", why);
		check_skip("a_pipe_writer_that_finds_no_free_page_is_not_refused", why);
		check_skip("the_biggest_process_is_killed_to_make_room_for_the_pipe", why);
		return check_end();
	}
	long total = proc_number("/proc/meminfo", "MemTotal:") * 1024;
	a_hog_is_killed_and_a_bystander_survives();
	a_hog_filling_memory_through_system_calls_is_killed();
	cow_write_with_no_memory_ends(total);
	oom_score_adj_minus_1000_protects(total);
	a_pipe_write_with_no_memory_kills_the_biggest_process(total);
	return check_end();
}
