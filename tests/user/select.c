/*
 * select: select, pselect6 and ppoll report pipe readiness, write the time
 * left back to their timeout, fail with EINTR after a handler even under
 * SA_RESTART (signal(7): never restarted), let a signal in through the
 * temporary mask of ppoll/pselect6 and block it again afterwards, refuse
 * closed descriptors and bad sizes, and sleep in state S.
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

/* The raw calls, so that the kernel's update of the timeout is seen. */
static long raw_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	return syscall(SYS_select, n, r, w, e, tv);
}

static long raw_pselect6(int n, fd_set *r, fd_set *w, fd_set *e, struct timespec *ts,
			 const sigset_t *mask)
{
	struct {
		const sigset_t *ss;
		size_t len;
	} sig = { mask, 8 };
	return syscall(SYS_pselect6, n, r, w, e, ts, mask ? &sig : NULL);
}

static long raw_ppoll(struct pollfd *fds, nfds_t n, struct timespec *ts, const sigset_t *mask)
{
	return syscall(SYS_ppoll, fds, n, ts, mask, 8);
}

/* A child that writes one byte to `fd` after `ms` milliseconds. */
static pid_t write_later(int fd, long ms)
{
	pid_t child = fork();
	if (child == 0) {
		sleep_ms(ms);
		if (write(fd, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	return child;
}

/* A child that sends `sig` to the parent after `ms` milliseconds. */
static pid_t signal_later(int sig, long ms)
{
	pid_t parent = getpid(), child = fork();
	if (child == 0) {
		sleep_ms(ms);
		kill(parent, sig);
		_exit(0);
	}
	return child;
}

static void readiness_on_pipes(void)
{
	int p[2];
	if (pipe(p))
		_exit(2);
	fd_set r, w, e;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval zero = { 0, 0 };
	EXPECT_EQ("an_empty_pipe_is_not_readable", 0, raw_select(p[0] + 1, &r, NULL, NULL, &zero));
	EXPECT_EQ("and_its_bit_is_cleared", 0, FD_ISSET(p[0], &r));
	if (write(p[1], "x", 1) != 1)
		_exit(2);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[0], &e);
	int n = p[0] > p[1] ? p[0] : p[1];
	EXPECT_EQ("a_readable_and_a_writable_end_count_two", 2, raw_select(n + 1, &r, &w, &e, &zero));
	CHECK("the_read_end_is_in_the_read_set", FD_ISSET(p[0], &r));
	CHECK("the_write_end_is_in_the_write_set", FD_ISSET(p[1], &w));
	CHECK("a_pipe_is_never_exceptional", !FD_ISSET(p[0], &e));
	char c;
	if (read(p[0], &c, 1) != 1)
		_exit(2);

	/* A wait that a write ends, with the time left written back. */
	pid_t child = write_later(p[1], 100);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = { 5, 0 };
	EXPECT_EQ("select_wakes_when_the_pipe_is_written", 1, raw_select(p[0] + 1, &r, NULL, NULL, &tv));
	long left_us = tv.tv_sec * 1000000L + tv.tv_usec;
	CHECK("select_writes_back_the_time_left", left_us > 3000000 && left_us < 4950000);
	waitpid(child, NULL, 0);
	if (read(p[0], &c, 1) != 1)
		_exit(2);

	child = write_later(p[1], 100);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timespec ts = { 5, 0 };
	EXPECT_EQ("pselect6_wakes_when_the_pipe_is_written", 1,
		  raw_pselect6(p[0] + 1, &r, NULL, NULL, &ts, NULL));
	long left_ms = ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
	CHECK("pselect6_writes_back_the_time_left", left_ms > 3000 && left_ms < 4950);
	waitpid(child, NULL, 0);
	if (read(p[0], &c, 1) != 1)
		_exit(2);

	child = write_later(p[1], 100);
	struct pollfd pf = { p[0], POLLIN, 0 };
	ts = (struct timespec){ 5, 0 };
	EXPECT_EQ("ppoll_wakes_when_the_pipe_is_written", 1, raw_ppoll(&pf, 1, &ts, NULL));
	left_ms = ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
	CHECK("ppoll_writes_back_the_time_left", left_ms > 3000 && left_ms < 4950);
	waitpid(child, NULL, 0);

	/* A timeout that runs out leaves zero. */
	FD_ZERO(&r);
	FD_SET(p[1], &e);
	tv = (struct timeval){ 0, 50000 };
	FD_ZERO(&e);
	FD_SET(p[1], &e);
	EXPECT_EQ("a_timeout_that_runs_out_returns_0", 0, raw_select(p[1] + 1, NULL, NULL, &e, &tv));
	EXPECT_EQ("and_leaves_zero_time", 0, tv.tv_sec * 1000000L + tv.tv_usec);
	close(p[0]);
	close(p[1]);
}

static void errors(void)
{
	int p[2];
	if (pipe(p))
		_exit(2);
	int closed = p[1];
	close(closed);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(closed, &r);
	struct timeval zero = { 0, 0 };
	EXPECT_FAILS("a_closed_fd_in_a_set_is_ebadf", EBADF, raw_select(closed + 1, &r, NULL, NULL, &zero));
	FD_ZERO(&r);
	EXPECT_FAILS("a_negative_nfds_is_einval", EINVAL, raw_select(-1, &r, NULL, NULL, &zero));
	struct timeval neg = { -1, 0 };
	EXPECT_FAILS("a_negative_timeval_is_einval", EINVAL, raw_select(1, NULL, NULL, NULL, &neg));
	struct timespec bad = { 0, 1000000000 };
	EXPECT_FAILS("pselect6_with_a_bad_timespec_is_einval", EINVAL,
		     raw_pselect6(1, NULL, NULL, NULL, &bad, NULL));
	EXPECT_FAILS("ppoll_with_a_bad_timespec_is_einval", EINVAL, raw_ppoll(NULL, 0, &bad, NULL));
	sigset_t none;
	sigemptyset(&none);
	struct timespec zts = { 0, 0 };
	EXPECT_FAILS("ppoll_with_a_sigsetsize_of_4_is_einval", EINVAL,
		     syscall(SYS_ppoll, NULL, 0, &zts, &none, 4));
	struct pollfd pf = { closed, POLLIN, 0 };
	EXPECT_EQ("ppoll_reports_a_closed_fd_as_ready", 1, raw_ppoll(&pf, 1, &zts, NULL));
	EXPECT_EQ("with_pollnval", POLLNVAL, pf.revents);
	close(p[0]);
}

static void signals(void)
{
	int p[2];
	if (pipe(p))
		_exit(2);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);

	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	handled = 0;
	pid_t child = signal_later(SIGUSR1, 100);
	struct timeval tv = { 5, 0 };
	EXPECT_FAILS("select_with_a_timeout_is_eintr_even_under_sa_restart", EINTR,
		     raw_select(p[0] + 1, &r, NULL, NULL, &tv));
	EXPECT_EQ("the_handler_ran", 1, handled);
	waitpid(child, NULL, 0);

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	child = signal_later(SIGUSR1, 100);
	EXPECT_FAILS("select_without_a_timeout_is_eintr_too", EINTR, raw_select(p[0] + 1, &r, NULL, NULL, NULL));
	waitpid(child, NULL, 0);

	/* SIGUSR1 blocked, let in only for the wait. */
	sigset_t usr1, none, now;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	handled = 0;
	child = signal_later(SIGUSR1, 100);
	struct pollfd pf = { p[0], POLLIN, 0 };
	struct timespec ts = { 5, 0 };
	EXPECT_FAILS("ppoll_s_mask_lets_a_blocked_signal_in", EINTR, raw_ppoll(&pf, 1, &ts, &none));
	EXPECT_EQ("its_handler_ran", 1, handled);
	sigprocmask(SIG_BLOCK, NULL, &now);
	EXPECT_EQ("after_ppoll_the_signal_is_blocked_again", 1, sigismember(&now, SIGUSR1));
	waitpid(child, NULL, 0);

	handled = 0;
	child = signal_later(SIGUSR1, 100);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ts = (struct timespec){ 5, 0 };
	EXPECT_FAILS("pselect6_s_mask_lets_a_blocked_signal_in", EINTR,
		     raw_pselect6(p[0] + 1, &r, NULL, NULL, &ts, &none));
	EXPECT_EQ("its_handler_ran_too", 1, handled);
	sigprocmask(SIG_BLOCK, NULL, &now);
	EXPECT_EQ("after_pselect6_the_signal_is_blocked_again", 1, sigismember(&now, SIGUSR1));
	waitpid(child, NULL, 0);

	/* A signal the mask keeps blocked does not end the wait. */
	child = signal_later(SIGUSR1, 50);
	pf.revents = 0;
	ts = (struct timespec){ 0, 300000000 };
	EXPECT_EQ("a_signal_the_ppoll_mask_blocks_does_not_interrupt", 0, raw_ppoll(&pf, 1, &ts, &usr1));
	waitpid(child, NULL, 0);
	handled = 0;
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	EXPECT_EQ("it_is_delivered_once_unblocked", 1, handled);
	close(p[0]);
	close(p[1]);
}

static void a_sleeper_in_select_shows_s(void)
{
	pid_t child = fork();
	if (child == 0) {
		struct timeval tv = { 10, 0 };
		raw_select(0, NULL, NULL, NULL, &tv);
		_exit(0);
	}
	sleep_ms(50);
	int sleeping = 0;
	for (int i = 0; i < 100; i++) {
		sleeping += proc_state(child) == 'S';
		sleep_ms(2);
	}
	EXPECT_EQ("a_task_in_select_is_s_100_times_of_100", 100, sleeping);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int main(void)
{
	check_begin("select");
	readiness_on_pipes();
	errors();
	signals();
	a_sleeper_in_select_shows_s();
	return check_end();
}
