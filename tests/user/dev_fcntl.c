/*
 * dev_fcntl: the memory devices and fcntl as Linux has them. /dev/full
 * reads zeroes and refuses writes with ENOSPC; /dev/zero reads zeroes and
 * maps as anonymous memory; /dev/urandom and /dev/random read random
 * bytes; /dev/tty is ENXIO without a controlling terminal. F_GETFL shows
 * what open, pipe2, pidfd_open and F_SETFL set; F_SETFL changes only the
 * flags Linux lets it; F_DUPFD takes the lowest fd from its argument;
 * pipe2(O_DIRECT) makes a packet pipe.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void full_and_zero(void)
{
	unsigned char buf[64];
	int fd = open("/dev/full", O_RDWR);
	struct stat st;
	fstat(fd, &st);
	CHECK("dev_full_is_character_device_1_7",
	      S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 7);
	EXPECT_FAILS("a_write_to_dev_full_fails_with_enospc", ENOSPC, write(fd, "x", 1));
	memset(buf, 0xff, sizeof buf);
	CHECK("a_read_of_dev_full_returns_zeroes",
	      read(fd, buf, sizeof buf) == sizeof buf && all_zero(buf, sizeof buf));
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	memset(buf, 0xff, sizeof buf);
	CHECK("a_read_of_dev_zero_returns_zeroes",
	      read(fd, buf, sizeof buf) == sizeof buf && all_zero(buf, sizeof buf));
	EXPECT_EQ("a_write_to_dev_zero_is_discarded_whole", 5, write(fd, "hello", 5));
	unsigned char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK("a_private_mapping_of_dev_zero_is_zeroed_writable_memory",
	      p != MAP_FAILED && all_zero(p, 8192) && (p[4096] = 7, p[4096] == 7));
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared != MAP_FAILED) {
		*shared = 1;
		pid_t child = fork();
		if (child == 0) {
			*shared = 42;
			_exit(0);
		}
		waitpid(child, NULL, 0);
	}
	CHECK("a_shared_mapping_of_dev_zero_is_shared_with_a_child",
	      shared != MAP_FAILED && *shared == 42);
	close(fd);

	fd = open("/dev/null", O_RDWR);
	EXPECT_EQ("a_read_of_dev_null_is_end_of_file", 0, read(fd, buf, sizeof buf));
	EXPECT_EQ("a_write_to_dev_null_is_taken_whole", 3, write(fd, "abc", 3));
	close(fd);
}

static void random_devices(void)
{
	static const char *paths[] = { "/dev/urandom", "/dev/random" };
	for (int i = 0; i < 2; i++) {
		unsigned char a[32], b[32];
		int fd = open(paths[i], O_RDONLY);
		ssize_t n = read(fd, a, sizeof a);
		ssize_t m = read(fd, b, sizeof b);
		close(fd);
		CHECK(i ? "dev_random_reads_differ_and_are_not_zero"
			: "dev_urandom_reads_differ_and_are_not_zero",
		      n == sizeof a && m == sizeof b && memcmp(a, b, sizeof a) != 0 &&
			      !all_zero(a, sizeof a));
	}
}

static void dev_tty_without_a_controlling_terminal(void)
{
	pid_t child = fork();
	if (child == 0) {
		setsid();
		int fd = open("/dev/tty", O_RDWR);
		_exit(fd < 0 && errno == ENXIO ? 0 : 1);
	}
	int status;
	waitpid(child, &status, 0);
	CHECK("dev_tty_in_a_new_session_fails_with_enxio",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#define SHOWN (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT)

static void getfl_and_setfl(void)
{
	int fd = open("/tmp/dev_fcntl_file", O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK, 0600);
	EXPECT_EQ("f_getfl_shows_the_access_mode_append_and_nonblock_of_open",
		  O_RDWR | O_APPEND | O_NONBLOCK, fcntl(fd, F_GETFL) & SHOWN);
	fcntl(fd, F_SETFL, O_WRONLY);
	EXPECT_EQ("f_setfl_clears_append_and_nonblock_but_keeps_the_access_mode", O_RDWR,
		  fcntl(fd, F_GETFL) & SHOWN);
	fcntl(fd, F_SETFL, O_APPEND | O_CREAT | O_TRUNC);
	EXPECT_EQ("f_setfl_sets_append_and_ignores_open_only_flags", O_RDWR | O_APPEND,
		  fcntl(fd, F_GETFL) & (SHOWN | O_CREAT | O_TRUNC));
	close(fd);
	unlink("/tmp/dev_fcntl_file");

	int p[2];
	pipe2(p, O_NONBLOCK);
	CHECK("pipe2_o_nonblock_shows_in_f_getfl_of_both_ends",
	      (fcntl(p[0], F_GETFL) & SHOWN) == (O_RDONLY | O_NONBLOCK) &&
		      (fcntl(p[1], F_GETFL) & SHOWN) == (O_WRONLY | O_NONBLOCK));
	close(p[0]);
	close(p[1]);

	int pidfd = syscall(SYS_pidfd_open, getpid(), O_NONBLOCK);
	EXPECT_EQ("pidfd_open_with_pidfd_nonblock_shows_o_rdwr_and_o_nonblock",
		  O_RDWR | O_NONBLOCK, fcntl(pidfd, F_GETFL) & SHOWN);
	close(pidfd);
}

static void dupfd_and_fd_flags(void)
{
	int fd = open("/dev/null", O_RDONLY);
	close(20);
	close(21);
	EXPECT_EQ("f_dupfd_takes_the_lowest_free_fd_from_its_argument", 20,
		  fcntl(fd, F_DUPFD, 20));
	EXPECT_EQ("a_second_f_dupfd_takes_the_next_one", 21, fcntl(fd, F_DUPFD, 20));
	EXPECT_EQ("f_dupfd_does_not_set_close_on_exec", 0, fcntl(21, F_GETFD));
	close(20);
	int c = fcntl(fd, F_DUPFD_CLOEXEC, 20);
	EXPECT_EQ("f_dupfd_cloexec_reuses_the_freed_fd", 20, c);
	EXPECT_EQ("f_dupfd_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(c, F_GETFD));
	fcntl(c, F_SETFD, 0);
	EXPECT_EQ("f_setfd_clears_fd_cloexec", 0, fcntl(c, F_GETFD));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	EXPECT_FAILS("f_dupfd_at_rlimit_nofile_fails_with_einval", EINVAL,
		     fcntl(fd, F_DUPFD, (int)rl.rlim_cur));
	EXPECT_FAILS("f_getfd_of_a_closed_fd_fails_with_ebadf", EBADF, fcntl(22, F_GETFD));
	close(20);
	close(21);
	close(fd);
}

static void packet_pipes(void)
{
	int p[2];
	char buf[100];
	CHECK("pipe2_takes_o_direct", pipe2(p, O_DIRECT | O_NONBLOCK) == 0);
	CHECK("o_direct_shows_in_f_getfl_of_the_write_end_only",
	      !(fcntl(p[0], F_GETFL) & O_DIRECT) && (fcntl(p[1], F_GETFL) & O_DIRECT));
	write(p[1], "abc", 3);
	write(p[1], "defgh", 5);
	EXPECT_EQ("a_read_of_a_packet_pipe_returns_one_packet", 3, read(p[0], buf, sizeof buf));
	EXPECT_EQ("the_next_read_returns_the_next_packet", 5, read(p[0], buf, sizeof buf));
	write(p[1], "123456", 6);
	write(p[1], "xy", 2);
	EXPECT_EQ("a_short_read_takes_part_of_a_packet", 2, read(p[0], buf, 2));
	CHECK("and_drops_the_rest_of_it",
	      read(p[0], buf, sizeof buf) == 2 && memcmp(buf, "xy", 2) == 0);
	EXPECT_FAILS("an_emptied_packet_pipe_is_eagain", EAGAIN, read(p[0], buf, sizeof buf));
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	write(p[1], "abc", 3);
	write(p[1], "defgh", 5);
	EXPECT_EQ("after_f_setfl_clears_o_direct_writes_merge_again", 8,
		  read(p[0], buf, sizeof buf));
	close(p[0]);
	close(p[1]);

	pipe(p);
	write(p[1], "abc", 3);
	write(p[1], "defgh", 5);
	EXPECT_EQ("an_ordinary_pipe_returns_both_writes_in_one_read", 8,
		  read(p[0], buf, sizeof buf));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	check_begin("dev_fcntl");
	full_and_zero();
	random_devices();
	dev_tty_without_a_controlling_terminal();
	getfl_and_setfl();
	dupfd_and_fd_flags();
	packet_pipes();
	return check_end();
}
