/*
 * fdconf: pipes and file descriptors as Linux answers them: pipe2's flags,
 * EAGAIN/EPIPE/SIGPIPE, PIPE_BUF atomicity, the pipe size calls; dup,
 * dup2, dup3 and fcntl's descriptor commands with their errno cases;
 * close_range; poll's and select's view of a pipe.
 */
#define _GNU_SOURCE
#include "check.h"
#include <limits.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_UNSHARE 2
#define CLOSE_RANGE_CLOEXEC 4
#endif

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void pipe2_flags(void)
{
	int p[2];
	EXPECT_FAILS("pipe2_with_an_unknown_flag_is_einval", EINVAL, pipe2(p, O_APPEND));
	EXPECT_FAILS("pipe_to_a_bad_address_is_efault", EFAULT, syscall(SYS_pipe2, (void *)8, 0));
	pipe2(p, O_CLOEXEC | O_NONBLOCK);
	CHECK("pipe2_o_cloexec_sets_fd_cloexec_on_both_ends",
	      fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
	EXPECT_EQ("pipe2_o_nonblock_shows_in_f_getfl_of_the_read_end", O_RDONLY | O_NONBLOCK, fcntl(p[0], F_GETFL));
	EXPECT_EQ("pipe2_o_nonblock_shows_in_f_getfl_of_the_write_end", O_WRONLY | O_NONBLOCK, fcntl(p[1], F_GETFL));
	char c;
	EXPECT_FAILS("reading_an_empty_nonblocking_pipe_is_eagain", EAGAIN, read(p[0], &c, 1));
	EXPECT_FAILS("writing_the_read_end_is_ebadf", EBADF, write(p[0], "x", 1));
	EXPECT_FAILS("reading_the_write_end_is_ebadf", EBADF, read(p[1], &c, 1));
	EXPECT_FAILS("lseek_on_a_pipe_is_espipe", ESPIPE, lseek(p[0], 0, SEEK_CUR));
	EXPECT_FAILS("lseek_on_a_pipe_with_an_unknown_whence_is_einval_first", EINVAL, lseek(p[0], 0, 7));
	EXPECT_FAILS("pread_on_a_pipe_is_espipe", ESPIPE, pread(p[0], &c, 1, 0));
	EXPECT_FAILS("pwrite_on_a_pipe_is_espipe", ESPIPE, pwrite(p[1], &c, 1, 0));

	EXPECT_EQ("f_getpipe_sz_is_64k_by_default", 65536, fcntl(p[0], F_GETPIPE_SZ));
	static char big[1 << 17];
	ssize_t n = write(p[1], big, sizeof big);
	EXPECT_EQ("a_nonblocking_write_fills_the_pipe_and_stops_short", 65536, n);
	EXPECT_FAILS("writing_a_full_nonblocking_pipe_is_eagain", EAGAIN, write(p[1], big, 1));
	read(p[0], big, 100);
	/* 100 bytes free: a write of at most PIPE_BUF is all or nothing. */
	EXPECT_FAILS("a_pipe_buf_write_that_does_not_fit_is_eagain_not_partial", EAGAIN, write(p[1], big, PIPE_BUF));
	EXPECT_FAILS("f_setpipe_sz_below_the_contents_is_ebusy", EBUSY, fcntl(p[1], F_SETPIPE_SZ, 4096));
	close(p[0]);
	close(p[1]);

	pipe(p);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	EXPECT_FAILS("f_setfl_o_nonblock_makes_an_empty_pipe_read_eagain", EAGAIN, read(p[0], &c, 1));
	fcntl(p[0], F_SETFL, 0);
	EXPECT_EQ("f_setpipe_sz_rounds_up_to_a_power_of_two_pages", 8192, fcntl(p[0], F_SETPIPE_SZ, 5000));
	EXPECT_EQ("f_getpipe_sz_reads_the_new_size", 8192, fcntl(p[1], F_GETPIPE_SZ));
	EXPECT_EQ("f_setpipe_sz_below_a_page_gives_a_page", 4096, fcntl(p[0], F_SETPIPE_SZ, 1));
	EXPECT_FAILS("f_setpipe_sz_above_2g_is_einval", EINVAL, fcntl(p[0], F_SETPIPE_SZ, 0x80000001U));
	EXPECT_FAILS("f_getpipe_sz_on_a_file_is_ebadf", EBADF, fcntl(0 > 1 ? 0 : open("/", O_RDONLY), F_GETPIPE_SZ));

	/* The reader gone: SIGPIPE, or EPIPE when it is ignored or handled. */
	close(p[0]);
	signal(SIGPIPE, on_sigpipe);
	sigpipes = 0;
	EXPECT_FAILS("writing_a_pipe_without_readers_is_epipe", EPIPE, write(p[1], "x", 1));
	EXPECT_EQ("writing_a_pipe_without_readers_sends_sigpipe", 1, sigpipes);
	signal(SIGPIPE, SIG_DFL);
	pid_t pid = fork();
	if (pid == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK("sigpipe_by_default_kills_the_writer", WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);
	close(p[1]);

	pipe(p);
	write(p[1], "ab", 2);
	close(p[1]);
	char buf[8];
	EXPECT_EQ("after_the_writer_closes_the_data_is_still_read", 2, read(p[0], buf, sizeof buf));
	EXPECT_EQ("then_read_returns_end_of_file", 0, read(p[0], buf, sizeof buf));
	close(p[0]);
}

static void pipe_buf_writes_are_not_interleaved(void)
{
	int p[2];
	pipe(p);
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			char chunk[PIPE_BUF];
			memset(chunk, 'a' + k, sizeof chunk);
			for (int i = 0; i < 64; i++)
				write(p[1], chunk, sizeof chunk);
			_exit(0);
		}
	}
	close(p[1]);
	char chunk[PIPE_BUF];
	int whole = 1, chunks = 0;
	size_t have = 0;
	ssize_t n;
	while ((n = read(p[0], chunk + have, sizeof chunk - have)) > 0) {
		have += n;
		if (have < sizeof chunk)
			continue;
		for (size_t i = 1; i < sizeof chunk; i++)
			if (chunk[i] != chunk[0])
				whole = 0;
		chunks++;
		have = 0;
	}
	waitpid(kids[0], NULL, 0);
	waitpid(kids[1], NULL, 0);
	close(p[0]);
	EXPECT_EQ("all_pipe_buf_chunks_arrive", 128, chunks);
	CHECK("writes_of_pipe_buf_bytes_are_never_interleaved", whole);
}

static void dup_rules(void)
{
	int fd = open("/", O_RDONLY | O_CLOEXEC);
	EXPECT_EQ("dup2_onto_itself_returns_the_fd", fd, dup2(fd, fd));
	EXPECT_EQ("dup2_onto_itself_keeps_fd_cloexec", FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_FAILS("dup2_onto_itself_of_a_closed_fd_is_ebadf", EBADF, dup2(999, 999));
	/* The raw calls: musl checks the first and turns the second into dup2. */
	EXPECT_FAILS("dup3_onto_itself_is_einval", EINVAL, syscall(SYS_dup3, fd, fd, 0));
	EXPECT_FAILS("dup3_with_an_unknown_flag_is_einval", EINVAL, syscall(SYS_dup3, fd, 40, O_NONBLOCK));
	EXPECT_FAILS("dup_of_a_closed_fd_is_ebadf", EBADF, dup(999));
	EXPECT_FAILS("dup_of_a_negative_fd_is_ebadf", EBADF, dup(-1));
	EXPECT_FAILS("dup2_to_a_negative_fd_is_ebadf", EBADF, dup2(fd, -1));
	int d = dup(fd);
	EXPECT_EQ("dup_clears_fd_cloexec", 0, fcntl(d, F_GETFD));
	int d3 = dup3(fd, 50, O_CLOEXEC);
	EXPECT_EQ("dup3_returns_the_fd_asked_for", 50, d3);
	EXPECT_EQ("dup3_o_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(50, F_GETFD));
	close(50);

	struct rlimit old, rl;
	getrlimit(RLIMIT_NOFILE, &old);
	rl.rlim_cur = 64;
	rl.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	EXPECT_FAILS("dup2_to_the_rlimit_nofile_is_ebadf", EBADF, dup2(fd, 64));
	EXPECT_EQ("dup2_just_below_the_rlimit_succeeds", 63, dup2(fd, 63));
	EXPECT_FAILS("f_dupfd_at_the_rlimit_nofile_is_einval", EINVAL, fcntl(fd, F_DUPFD, 64));
	EXPECT_FAILS("f_dupfd_of_a_negative_minimum_is_einval", EINVAL, fcntl(fd, F_DUPFD, -1));
	int got = 0, err = 0;
	for (int i = 0; i < 70; i++) {
		int x = dup(fd);
		if (x < 0) {
			err = errno;
			break;
		}
		got++;
	}
	EXPECT_EQ("dup_past_the_rlimit_nofile_is_emfile", EMFILE, err);
	EXPECT_FAILS("open_past_the_rlimit_nofile_is_emfile", EMFILE, open("/", O_RDONLY));
	int p[2];
	EXPECT_FAILS("pipe_past_the_rlimit_nofile_is_emfile", EMFILE, pipe(p));
	for (int i = 3; i < 64; i++)
		if (i != fd)
			close(i);
	setrlimit(RLIMIT_NOFILE, &old);

	EXPECT_EQ("f_dupfd_returns_the_lowest_fd_at_or_above_the_minimum", 20, fcntl(fd, F_DUPFD, 20));
	EXPECT_EQ("f_dupfd_skips_fds_in_use", 21, fcntl(fd, F_DUPFD, 20));
	EXPECT_EQ("f_dupfd_clears_fd_cloexec", 0, fcntl(20, F_GETFD));
	int c = fcntl(fd, F_DUPFD_CLOEXEC, 20);
	EXPECT_EQ("f_dupfd_cloexec_returns_the_next_free_fd", 22, c);
	EXPECT_EQ("f_dupfd_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(c, F_GETFD));
	close(20);
	close(21);
	close(22);
	close(d);
	close(fd);
}

static void fcntl_rules(void)
{
	int fd = open("/tmp/fdconf-f", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	EXPECT_EQ("f_getfl_shows_the_access_mode_and_o_append", O_RDWR | O_APPEND, fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	fcntl(fd, F_SETFL, O_RDONLY | O_NONBLOCK);
	EXPECT_EQ("f_setfl_cannot_change_the_access_mode_and_clears_o_append", O_RDWR | O_NONBLOCK,
		  fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	fcntl(fd, F_SETFL, O_APPEND | O_CREAT | O_EXCL | O_TRUNC);
	EXPECT_EQ("f_setfl_ignores_creation_flags", O_RDWR | O_APPEND, fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	EXPECT_EQ("f_setfd_with_other_bits_keeps_only_fd_cloexec", 0, fcntl(fd, F_SETFD, 0xfe | FD_CLOEXEC));
	EXPECT_EQ("f_getfd_reads_fd_cloexec_only", FD_CLOEXEC, fcntl(fd, F_GETFD));
	fcntl(fd, F_SETFD, 0);
	EXPECT_EQ("f_setfd_zero_clears_it", 0, fcntl(fd, F_GETFD));
	EXPECT_FAILS("fcntl_with_an_unknown_command_is_einval", EINVAL, fcntl(fd, 9999));
	EXPECT_FAILS("fcntl_on_a_closed_fd_is_ebadf", EBADF, fcntl(999, F_GETFD));
	EXPECT_FAILS("fcntl_f_getfl_on_a_closed_fd_is_ebadf", EBADF, fcntl(999, F_GETFL));
	/* A duplicate shares the open file: offset and status flags. */
	int d = dup(fd);
	lseek(fd, 0, SEEK_SET);
	write(fd, "xyz", 3);
	EXPECT_EQ("a_dup_shares_the_file_offset", 3, lseek(d, 0, SEEK_CUR));
	fcntl(d, F_SETFL, O_NONBLOCK);
	EXPECT_EQ("a_dup_shares_the_status_flags", O_RDWR | O_NONBLOCK, fcntl(fd, F_GETFL) & ~O_LARGEFILE);
	fcntl(d, F_SETFD, FD_CLOEXEC);
	EXPECT_EQ("but_not_the_descriptor_flags", 0, fcntl(fd, F_GETFD));
	close(d);
	ftruncate(fd, 0);
	fcntl(fd, F_SETFL, O_APPEND);
	/* O_APPEND from F_SETFL makes writes append. */
	write(fd, "abc", 3);
	lseek(fd, 0, SEEK_SET);
	write(fd, "d", 1);
	EXPECT_EQ("with_o_append_a_write_after_lseek_lands_at_the_end", 4, lseek(fd, 0, SEEK_CUR));
	close(fd);
	unlink("/tmp/fdconf-f");
}

static void close_range_rules(void)
{
	int fd = open("/", O_RDONLY);
	for (int i = 10; i < 16; i++)
		dup2(fd, i);
	EXPECT_FAILS("close_range_with_first_above_last_is_einval", EINVAL, syscall(SYS_close_range, 12, 11, 0));
	EXPECT_FAILS("close_range_with_an_unknown_flag_is_einval", EINVAL, syscall(SYS_close_range, 10, 11, 1));
	EXPECT_EQ("close_range_cloexec_succeeds", 0, syscall(SYS_close_range, 10, 11, CLOSE_RANGE_CLOEXEC));
	CHECK("close_range_cloexec_marks_without_closing",
	      fcntl(10, F_GETFD) == FD_CLOEXEC && fcntl(11, F_GETFD) == FD_CLOEXEC && fcntl(12, F_GETFD) == 0);
	EXPECT_EQ("close_range_closes_a_range", 0, syscall(SYS_close_range, 10, 13, 0));
	CHECK("close_range_closed_exactly_the_range",
	      fcntl(10, F_GETFD) == -1 && fcntl(13, F_GETFD) == -1 && fcntl(14, F_GETFD) == 0);
	EXPECT_EQ("close_range_to_uint_max_succeeds", 0, syscall(SYS_close_range, 14, ~0U, CLOSE_RANGE_UNSHARE));
	CHECK("close_range_to_uint_max_closes_the_rest", fcntl(14, F_GETFD) == -1 && fcntl(15, F_GETFD) == -1);
	EXPECT_EQ("close_range_of_nothing_open_succeeds", 0, syscall(SYS_close_range, 500, 600, 0));
	CHECK("close_range_left_the_fds_below_it", fcntl(fd, F_GETFD) == 0);
	close(fd);
}

static void poll_on_pipes(void)
{
	int p[2];
	pipe(p);
	struct pollfd f[3] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 }, { 999, POLLIN, 0 } };
	EXPECT_EQ("poll_counts_the_ready_fds_and_the_bad_one", 2, poll(f, 3, 0));
	EXPECT_EQ("an_empty_pipe_is_not_readable", 0, f[0].revents);
	EXPECT_EQ("an_empty_pipe_is_writable", POLLOUT, f[1].revents);
	EXPECT_EQ("poll_of_a_closed_fd_is_pollnval", POLLNVAL, f[2].revents);
	f[2].fd = -1;
	f[2].revents = 77;
	write(p[1], "x", 1);
	EXPECT_EQ("poll_ignores_a_negative_fd", 2, poll(f, 3, 0));
	EXPECT_EQ("poll_zeroes_revents_of_a_negative_fd", 0, f[2].revents);
	EXPECT_EQ("a_pipe_with_data_is_readable", POLLIN, f[0].revents);
	close(p[1]);
	poll(f, 1, 0);
	EXPECT_EQ("with_the_writer_gone_and_data_left_it_is_pollin_pollhup", POLLIN | POLLHUP, f[0].revents);
	char c;
	read(p[0], &c, 1);
	poll(f, 1, 0);
	EXPECT_EQ("with_the_writer_gone_and_nothing_left_it_is_pollhup_alone", POLLHUP, f[0].revents);
	f[0].events = 0;
	poll(f, 1, 0);
	EXPECT_EQ("with_the_writer_gone_pollhup_comes_even_unasked", POLLHUP, f[0].revents);
	close(p[0]);

	pipe(p);
	close(p[0]);
	struct pollfd w = { p[1], POLLOUT, 0 };
	poll(&w, 1, 0);
	EXPECT_EQ("with_the_reader_gone_the_write_end_is_pollout_pollerr", POLLOUT | POLLERR, w.revents);
	close(p[1]);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ("poll_of_nothing_with_a_timeout_returns_zero", 0, poll(NULL, 0, 50));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK("poll_waits_its_timeout", ms >= 50 && ms < 1000);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	EXPECT_FAILS("poll_of_more_fds_than_rlimit_nofile_is_einval", EINVAL, poll(f, rl.rlim_cur + 1, 0));
	struct timespec bad = { 0, 1000000000L };
	EXPECT_FAILS("ppoll_with_tv_nsec_1e9_is_einval", EINVAL, ppoll(f, 1, &bad, NULL));
}

static void select_on_pipes(void)
{
	int p[2];
	pipe(p);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	struct timeval tv = { 0, 0 };
	EXPECT_EQ("select_reports_the_writable_end", 1, select(p[1] + 1, &r, &w, NULL, &tv));
	CHECK("select_clears_the_unready_read_end", !FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w));
	FD_ZERO(&r);
	FD_SET(50, &r);
	EXPECT_FAILS("select_of_a_closed_fd_is_ebadf", EBADF, select(51, &r, NULL, NULL, &tv));
	EXPECT_FAILS("select_with_negative_nfds_is_einval", EINVAL, select(-1, NULL, NULL, NULL, &tv));
	tv.tv_usec = -1;
	EXPECT_FAILS("select_with_negative_tv_usec_is_einval", EINVAL, select(0, NULL, NULL, NULL, &tv));
	tv.tv_sec = 0;
	tv.tv_usec = 30000;
	/* The raw call: musl's select passes a copy of the timeval. */
	EXPECT_EQ("select_times_out_with_zero", 0, syscall(SYS_select, 0, NULL, NULL, NULL, &tv));
	CHECK("select_leaves_the_time_left_in_the_timeval", tv.tv_sec == 0 && tv.tv_usec == 0);
	close(p[1]);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_usec = 0;
	EXPECT_EQ("select_reports_end_of_file_as_readable", 1, select(p[0] + 1, &r, NULL, NULL, &tv));
	close(p[0]);
}

int main(void)
{
	check_begin("fdconf");
	pipe2_flags();
	pipe_buf_writes_are_not_interleaved();
	dup_rules();
	fcntl_rules();
	close_range_rules();
	poll_on_pipes();
	select_on_pipes();
	return check_end();
}
