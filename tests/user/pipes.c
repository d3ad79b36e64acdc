/*
 * pipes: Linux's pipe behaviour at its limits. A pipe holds 16 pages
 * (F_GETPIPE_SZ), F_SETPIPE_SZ rounds to a power of two of pages and
 * refuses to drop data, O_NONBLOCK (from pipe2 or F_SETFL) gives EAGAIN
 * with partial writes only above PIPE_BUF, writes of PIPE_BUF or less are
 * atomic, the sysctls have Linux's defaults, and on our kernel filling more
 * pipes than the kernel heap could hold takes pages that come back on close.
 */
#define _GNU_SOURCE
#include "check.h"

#include <limits.h>
#include <signal.h>
#include <sys/wait.h>

#define PIPE_DEF_SIZE 65536

static void sysctl_defaults(void)
{
	EXPECT_EQ("pipe_max_size_is_1_mib", 1048576,
		  proc_number("/proc/sys/fs/pipe-max-size", ""));
	EXPECT_EQ("pipe_user_pages_soft_is_16384", 16384,
		  proc_number("/proc/sys/fs/pipe-user-pages-soft", ""));
	EXPECT_EQ("pipe_user_pages_hard_is_0", 0,
		  proc_number("/proc/sys/fs/pipe-user-pages-hard", ""));
}

static void nonblocking_pipe2(void)
{
	static char buf[PIPE_DEF_SIZE + 5000];
	int p[2];
	EXPECT_EQ("pipe2_with_o_nonblock_succeeds", 0, pipe2(p, O_NONBLOCK));
	CHECK("f_getfl_shows_o_nonblock_on_both_ends",
	      (fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK));
	EXPECT_ERRNO("a_nonblocking_read_of_an_empty_pipe_fails_with_eagain", EAGAIN,
		     read(p[0], buf, 1), errno);
	EXPECT_EQ("a_nonblocking_write_larger_than_the_pipe_writes_what_fits", PIPE_DEF_SIZE,
		  write(p[1], buf, sizeof buf));
	close(p[0]);
	close(p[1]);
}

static void nonblocking_partial_and_atomic_writes(void)
{
	static char buf[PIPE_DEF_SIZE * 2];
	int p[2];
	pipe2(p, O_NONBLOCK);
	EXPECT_EQ("a_nonblocking_write_fills_all_but_100_bytes", PIPE_DEF_SIZE - 100,
		  write(p[1], buf, PIPE_DEF_SIZE - 100));
	EXPECT_ERRNO("a_nonblocking_write_of_200_bytes_with_no_free_page_fails_with_eagain", EAGAIN,
		     write(p[1], buf, 200), errno);
	EXPECT_EQ("a_nonblocking_write_of_100_bytes_fills_the_last_page", 100,
		  write(p[1], buf, 100));
	EXPECT_ERRNO("a_nonblocking_write_to_a_full_pipe_fails_with_eagain", EAGAIN,
		     write(p[1], buf, 1), errno);
	EXPECT_EQ("reading_a_page_frees_one_slot", 4096, read(p[0], buf, 4096));
	EXPECT_EQ("a_nonblocking_write_above_pipe_buf_writes_the_page_that_fits", 4096,
		  write(p[1], buf, 10000));
	EXPECT_EQ("the_pipe_drains_completely", PIPE_DEF_SIZE, read(p[0], buf, sizeof buf));
	close(p[0]);
	close(p[1]);
}

static void nonblocking_setfl(void)
{
	char c;
	int p[2];
	pipe(p);
	EXPECT_EQ("f_getfl_of_a_read_end_is_o_rdonly", O_RDONLY, fcntl(p[0], F_GETFL) & O_ACCMODE);
	EXPECT_EQ("f_getfl_of_a_write_end_is_o_wronly", O_WRONLY, fcntl(p[1], F_GETFL) & O_ACCMODE);
	EXPECT_EQ("f_setfl_o_nonblock_succeeds", 0, fcntl(p[0], F_SETFL, O_NONBLOCK | O_RDWR));
	EXPECT_ERRNO("a_read_after_f_setfl_o_nonblock_fails_with_eagain", EAGAIN,
		     read(p[0], &c, 1), errno);
	EXPECT_EQ("f_setfl_does_not_change_the_access_mode", O_RDONLY | O_NONBLOCK,
		  fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	fcntl(p[1], F_SETFL, O_APPEND);
	CHECK("f_setfl_sets_o_append", fcntl(p[1], F_GETFL) & O_APPEND);
	EXPECT_EQ("f_setfl_0_clears_o_nonblock", 0, fcntl(p[0], F_SETFL, 0));
	EXPECT_EQ("f_getfl_no_longer_shows_o_nonblock", 0, fcntl(p[0], F_GETFL) & O_NONBLOCK);
	close(p[0]);
	close(p[1]);
}

static void pipe_size(void)
{
	static char buf[10000];
	int p[2];
	pipe(p);
	EXPECT_EQ("a_new_pipe_holds_64_kib", PIPE_DEF_SIZE, fcntl(p[0], F_GETPIPE_SZ));
	EXPECT_EQ("f_setpipe_sz_5000_rounds_up_to_8192", 8192, fcntl(p[1], F_SETPIPE_SZ, 5000));
	EXPECT_EQ("f_getpipe_sz_reads_the_new_size_on_either_end", 8192, fcntl(p[0], F_GETPIPE_SZ));
	EXPECT_EQ("f_setpipe_sz_0_gives_one_page", 4096, fcntl(p[1], F_SETPIPE_SZ, 0));
	EXPECT_EQ("f_setpipe_sz_to_pipe_max_size_succeeds", 1048576,
		  fcntl(p[1], F_SETPIPE_SZ, 1048576));
	EXPECT_ERRNO("f_setpipe_sz_above_2_gib_fails_with_einval", EINVAL,
		     fcntl(p[1], F_SETPIPE_SZ, (1u << 31) + 1), errno);
	EXPECT_EQ("three_pages_of_data_fit", (long)sizeof buf, write(p[1], buf, sizeof buf));
	EXPECT_ERRNO("shrinking_below_the_pages_in_use_fails_with_ebusy", EBUSY,
		     fcntl(p[1], F_SETPIPE_SZ, 4096), errno);
	EXPECT_EQ("shrinking_to_four_pages_keeps_the_data", 16384, fcntl(p[1], F_SETPIPE_SZ, 16384));
	EXPECT_EQ("the_data_survives_the_resize", (long)sizeof buf, read(p[0], buf, sizeof buf));
	int fd = open("/dev/null", O_RDONLY);
	EXPECT_ERRNO("f_getpipe_sz_on_a_non_pipe_fails_with_ebadf", EBADF,
		     fcntl(fd, F_GETPIPE_SZ), errno);
	close(fd);
	if (on_lifecycle())
		check_skip("f_setpipe_sz_above_pipe_max_size_fails_with_eperm_unprivileged",
			   "every task is root here");
	else
		check_skip("f_setpipe_sz_above_pipe_max_size_fails_with_eperm_unprivileged",
			   "the host runs this as root");
	close(p[0]);
	close(p[1]);
}

/* Two writers of 4096-byte blocks: every block arrives whole. */
static void pipe_buf_writes_are_atomic(void)
{
	enum { BLOCKS = 64 };
	int p[2];
	pipe(p);
	for (int w = 0; w < 2; w++) {
		if (fork() == 0) {
			char block[PIPE_BUF];
			memset(block, 'a' + w, sizeof block);
			close(p[0]);
			for (int i = 0; i < BLOCKS; i++)
				write(p[1], block, sizeof block);
			_exit(0);
		}
	}
	close(p[1]);
	static char all[2 * BLOCKS * PIPE_BUF];
	int ok = read_full(p[0], all, sizeof all) == 0;
	for (size_t b = 0; ok && b < sizeof all; b += PIPE_BUF)
		for (size_t i = 1; i < PIPE_BUF; i++)
			ok &= all[b + i] == all[b];
	CHECK("writes_of_pipe_buf_bytes_from_two_writers_never_interleave", ok);
	close(p[0]);
	while (wait(NULL) > 0)
		;
}

/* Fills `n` pipes with 64 KiB each in this process; returns how many. */
static int fill_pipes(int (*p)[2], int n)
{
	static char buf[PIPE_DEF_SIZE];
	memset(buf, 'f', sizeof buf);
	for (int i = 0; i < n; i++) {
		if (pipe2(p[i], O_NONBLOCK) < 0 || write(p[i][1], buf, sizeof buf) != sizeof buf)
			return i;
	}
	return n;
}

/*
 * 1,000 full pipes are 64 MiB, twice the kernel heap at 256 MiB of RAM.
 * A child holds half of them (one process has 1,024 descriptors).
 */
static void many_full_pipes(void)
{
	enum { HALF = 500 };
	int half = on_lifecycle() ? HALF : 25;
	static int p[HALF][2];
	long before = memfree_kb();
	int status[2] = { 0, 0 };
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t child = fork();
	if (child == 0) {
		char c = fill_pipes(p, half) == half ? 'y' : 'n';
		write(done[1], &c, 1);
		read(go[0], &c, 1);
		_exit(0);
	}
	char theirs = 'n';
	read(done[0], &theirs, 1);
	int mine = fill_pipes(p, half);
	long during = memfree_kb();
	EXPECT_EQ("a_child_fills_its_half_of_the_pipes", 'y', theirs);
	EXPECT_EQ("the_parent_fills_its_half_of_the_pipes", half, mine);
	for (int i = 0; i < mine; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	write(go[1], "g", 1);
	waitpid(child, &status[0], 0);
	EXPECT_EQ("the_child_holding_full_pipes_exits_normally", 0, status[0]);
	long after = memfree_kb();
	if (!on_lifecycle()) {
		check_skip("full_pipes_take_pages_from_memfree", "MemFree is noisy on a shared host");
		check_skip("closing_the_pipes_gives_their_pages_back", "MemFree is noisy on a shared host");
		return;
	}
	long pipe_kb = 2L * half * PIPE_DEF_SIZE / 1024;
	if (before <= 0 || during <= 0 || after <= 0) {
		check_fail("full_pipes_take_pages_from_memfree", "MemFree unreadable: %ld, %ld, %ld kB",
			   before, during, after);
		return;
	}
	if (before - during >= pipe_kb / 2)
		check_ok("full_pipes_take_pages_from_memfree");
	else
		check_fail("full_pipes_take_pages_from_memfree", "MemFree %ld kB, then %ld kB",
			   before, during);
	if (before - after <= 512)
		check_ok("closing_the_pipes_gives_their_pages_back");
	else
		check_fail("closing_the_pipes_gives_their_pages_back", "MemFree %ld kB, then %ld kB",
			   before, after);
}

int main(void)
{
	check_begin("pipes");
	signal(SIGPIPE, SIG_IGN);
	sysctl_defaults();
	nonblocking_pipe2();
	nonblocking_partial_and_atomic_writes();
	nonblocking_setfl();
	pipe_size();
	pipe_buf_writes_are_atomic();
	many_full_pipes();
	return check_end();
}
