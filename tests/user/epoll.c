/*
 * epoll: an epoll instance watching pipes, as Linux answers: epoll_create
 * and epoll_ctl's errno cases, level-triggered readiness, POLLHUP/POLLERR
 * when an end goes, EPOLLONESHOT, EPOLLET (one report per new readiness
 * event, quiet in between), timeouts, EINTR, SIGKILL ending a wait, a
 * closed file leaving the set, and epolls watching epolls (ELOOP).
 */
#define _GNU_SOURCE
#include "check.h"
#include <stdint.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

static void on_alarm(int sig)
{
	(void)sig;
}

static void create_and_ctl_errors(void)
{
	EXPECT_FAILS("epoll_create_of_size_0_is_einval", EINVAL, syscall(SYS_epoll_create, 0));
	EXPECT_FAILS("epoll_create1_with_an_unknown_flag_is_einval", EINVAL, epoll_create1(1));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK("epoll_create1_returns_a_descriptor", ep >= 0);
	EXPECT_EQ("epoll_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(ep, F_GETFD));
	int p[2];
	pipe(p);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ULL };
	EXPECT_FAILS("epoll_ctl_on_a_closed_fd_is_ebadf", EBADF, epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
	EXPECT_FAILS("epoll_ctl_on_a_closed_epfd_is_ebadf", EBADF, epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_FAILS("epoll_ctl_on_an_epfd_that_is_no_epoll_is_einval", EINVAL, epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_FAILS("epoll_ctl_adding_the_epoll_to_itself_is_einval", EINVAL, epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	EXPECT_FAILS("epoll_ctl_with_an_unknown_op_is_einval", EINVAL, epoll_ctl(ep, 7, p[0], &ev));
	int fd = open("/tmp/epoll-f", O_CREAT | O_RDWR, 0600);
	EXPECT_FAILS("epoll_ctl_on_a_regular_file_is_eperm", EPERM, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	close(fd);
	unlink("/tmp/epoll-f");
	EXPECT_FAILS("epoll_ctl_mod_of_an_unwatched_fd_is_enoent", ENOENT, epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_FAILS("epoll_ctl_del_of_an_unwatched_fd_is_enoent", ENOENT, epoll_ctl(ep, EPOLL_CTL_DEL, p[0], &ev));
	EXPECT_EQ("epoll_ctl_add_succeeds", 0, epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	EXPECT_FAILS("epoll_ctl_add_twice_is_eexist", EEXIST, epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	EXPECT_FAILS("epoll_ctl_mod_with_epollexclusive_is_einval", EINVAL, epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	EXPECT_FAILS("epollexclusive_with_epolloneshot_is_einval", EINVAL, epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
	EXPECT_FAILS("epoll_ctl_add_from_a_bad_address_is_efault", EFAULT, epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (void *)8));
	struct epoll_event out[4];
	EXPECT_FAILS("epoll_wait_with_maxevents_0_is_einval", EINVAL, epoll_wait(ep, out, 0, 0));
	EXPECT_FAILS("epoll_wait_on_a_pipe_is_einval", EINVAL, epoll_wait(p[0], out, 4, 0));
	EXPECT_FAILS("epoll_wait_on_a_closed_fd_is_ebadf", EBADF, epoll_wait(999, out, 4, 0));
	EXPECT_EQ("epoll_ctl_del_succeeds", 0, epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	close(p[0]);
	close(p[1]);
	close(ep);
}

static void readiness_on_pipes(void)
{
	int ep = epoll_create(1);
	int p[2];
	pipe(p);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	ev.events = EPOLLOUT;
	ev.data.fd = p[1];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
	struct epoll_event out[4];
	EXPECT_EQ("an_empty_pipe_has_only_its_write_end_ready", 1, epoll_wait(ep, out, 4, 0));
	CHECK("the_write_end_reports_epollout_with_its_data", out[0].events == EPOLLOUT && out[0].data.fd == p[1]);
	write(p[1], "x", 1);
	int n = epoll_wait(ep, out, 4, 0);
	EXPECT_EQ("with_data_both_ends_are_ready", 2, n);
	int in_ok = 0;
	for (int i = 0; i < n; i++)
		in_ok |= out[i].events == EPOLLIN && out[i].data.u64 == 0x1122334455667788ULL;
	CHECK("the_read_end_reports_epollin_with_its_64_bit_data", in_ok);
	EXPECT_EQ("maxevents_1_returns_one", 1, epoll_wait(ep, out, 1, 0));
	EXPECT_EQ("level_triggered_reports_again_while_ready", 2, epoll_wait(ep, out, 4, 0));

	struct timespec t0, t1;
	char c;
	read(p[0], &c, 1);
	epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ("epoll_wait_times_out_with_zero", 0, epoll_wait(ep, out, 4, 50));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK("epoll_wait_waits_its_timeout", ms >= 50 && ms < 1000);

	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		write(p[1], "y", 1);
		_exit(0);
	}
	EXPECT_EQ("epoll_wait_wakes_when_a_writer_writes", 1, epoll_wait(ep, out, 4, 5000));
	waitpid(pid, NULL, 0);
	read(p[0], &c, 1);

	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	ualarm(50000, 0);
	errno = 0;
	int r = epoll_wait(ep, out, 4, 5000);
	EXPECT_ERRNO("epoll_wait_fails_with_eintr_even_with_sa_restart", EINTR, r, errno);
	signal(SIGALRM, SIG_DFL);

	close(p[1]);
	r = epoll_wait(ep, out, 4, 0);
	CHECK("with_the_writer_gone_the_read_end_reports_epollhup", r == 1 && out[0].events == EPOLLHUP);
	close(p[0]);
	EXPECT_EQ("a_closed_file_leaves_the_set", 0, epoll_wait(ep, out, 4, 0));

	pipe(p);
	ev.events = EPOLLOUT;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
	close(p[0]);
	r = epoll_wait(ep, out, 4, 0);
	CHECK("with_the_reader_gone_the_write_end_reports_epollerr", r == 1 && out[0].events == (EPOLLOUT | EPOLLERR));
	close(p[1]);
	close(ep);
}

static void oneshot_and_edge(void)
{
	int ep = epoll_create1(0);
	int p[2];
	pipe(p);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = p[0] }, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	write(p[1], "x", 1);
	EXPECT_EQ("epolloneshot_reports_once", 1, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("then_stays_quiet", 0, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("epoll_ctl_mod_rearms_it", 0, epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_EQ("and_it_reports_again", 1, epoll_wait(ep, out, 4, 0));

	ev.events = EPOLLIN | EPOLLET;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	EXPECT_EQ("epollet_reports_the_data_there", 1, epoll_wait(ep, out, 4, 0));
	/* Read until EAGAIN, as EPOLLET asks; data written after is reported. */
	char c;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	while (read(p[0], &c, 1) == 1)
		;
	write(p[1], "y", 1);
	EXPECT_EQ("epollet_reports_data_written_after_the_reader_drained_it", 1, epoll_wait(ep, out, 4, 0));

	/* An epoll in poll(2) is readable when one of its files is. */
	struct pollfd pf = { ep, POLLIN, 0 };
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	EXPECT_EQ("poll_sees_an_epoll_with_a_ready_file", 1, poll(&pf, 1, 0));
	EXPECT_EQ("as_pollin", POLLIN, pf.revents);
	read(p[0], &c, 1);
	EXPECT_EQ("and_not_once_it_is_drained", 0, poll(&pf, 1, 0));

	sigset_t mask;
	sigemptyset(&mask);
	EXPECT_EQ("epoll_pwait_with_a_mask_times_out", 0, epoll_pwait(ep, out, 4, 10, &mask));
	EXPECT_FAILS("epoll_pwait_with_sigsetsize_16_is_einval", EINVAL, syscall(SYS_epoll_pwait, ep, out, 4, 0, &mask, 16));
	close(p[0]);
	close(p[1]);
	close(ep);
}

/* EPOLLET: an item reports once per new readiness event (a write), and
 * stays quiet while nothing new arrives, however much data waits. */
static void edge_triggered(void)
{
	int ep = epoll_create1(0);
	int p[2];
	pipe2(p, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 1 }, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	EXPECT_EQ("epollet_reports_nothing_for_an_empty_pipe", 0, epoll_wait(ep, out, 4, 0));
	write(p[1], "a", 1);
	write(p[1], "b", 1);
	EXPECT_EQ("epollet_reports_two_writes_without_a_read", 1, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("as_epollin", EPOLLIN, out[0].events);
	EXPECT_EQ("the_second_wait_does_not_report_the_same_data_again", 0, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("nor_does_a_wait_with_a_timeout", 0, epoll_wait(ep, out, 4, 30));
	struct pollfd pf = { ep, POLLIN, 0 };
	EXPECT_EQ("an_epoll_whose_edge_was_reported_polls_not_readable", 0, poll(&pf, 1, 0));
	write(p[1], "c", 1);
	EXPECT_EQ("new_data_is_a_new_edge", 1, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("reported_once", 0, epoll_wait(ep, out, 4, 0));
	pid_t child = fork();
	if (child == 0) {
		usleep(50000);
		write(p[1], "d", 1);
		_exit(0);
	}
	EXPECT_EQ("a_blocking_wait_is_woken_by_the_next_edge", 1, epoll_wait(ep, out, 4, 5000));
	waitpid(child, NULL, 0);
	EXPECT_EQ("epoll_ctl_mod_puts_a_ready_item_back", 0, epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	EXPECT_EQ("so_it_reports_again", 1, epoll_wait(ep, out, 4, 0));
	char buf[8];
	EXPECT_EQ("the_data_of_four_writes_is_all_there", 4, read(p[0], buf, sizeof buf));
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	write(p[1], "e", 1);
	EXPECT_EQ("level_triggered_reports_the_same_data", 1, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("at_every_wait", 1, epoll_wait(ep, out, 4, 0));
	close(p[0]);
	close(p[1]);

	int efd = eventfd(0, EFD_NONBLOCK);
	ev.events = EPOLLIN | EPOLLET;
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	uint64_t one = 1;
	write(efd, &one, 8);
	write(efd, &one, 8);
	EXPECT_EQ("an_eventfd_written_twice_reports_once", 1, epoll_wait(ep, out, 4, 0));
	EXPECT_EQ("and_not_again", 0, epoll_wait(ep, out, 4, 0));
	close(efd);
	close(ep);
}

/* Adds epoll `inner` to epoll `outer`: 0, or the errno. */
static int nest(int outer, int inner)
{
	struct epoll_event ev = { .events = EPOLLIN };
	return epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev) == 0 ? 0 : errno;
}

/* An epoll may watch an epoll, but no loop and at most 4 levels below
 * the top one, however the chain is built; a removed watch no longer
 * counts. The kernel's readiness check asks each level in turn. */
static void nested_epolls(void)
{
	int a = epoll_create1(0), b = epoll_create1(0), c = epoll_create1(0);
	EXPECT_EQ("an_epoll_may_watch_an_epoll", 0, nest(a, b));
	EXPECT_EQ("watching_it_back_would_close_a_loop_eloop", ELOOP, nest(b, a));
	nest(b, c);
	EXPECT_EQ("so_would_a_loop_through_a_third_eloop", ELOOP, nest(c, a));
	struct pollfd p = { a, POLLIN, 0 };
	EXPECT_EQ("polling_the_top_of_a_nest_ends", 0, poll(&p, 1, 0));

	int up[6], down[6], bottom_up = 0, top_down = 0;
	for (int i = 0; i < 6; i++) {
		up[i] = epoll_create1(0);
		down[i] = epoll_create1(0);
	}
	for (int i = 1; i < 5; i++)
		bottom_up |= nest(up[i], up[i - 1]);
	for (int i = 3; i >= 0; i--)
		top_down |= nest(down[i + 1], down[i]);
	CHECK("a_chain_of_5_epolls_can_be_built_from_the_bottom_or_the_top", bottom_up == 0 && top_down == 0);
	EXPECT_EQ("a_sixth_on_top_is_eloop", ELOOP, nest(up[5], up[4]));
	EXPECT_EQ("and_so_is_a_sixth_below", ELOOP, nest(down[0], down[5]));
	epoll_ctl(down[4], EPOLL_CTL_DEL, down[3], NULL);
	EXPECT_EQ("after_the_top_watch_is_removed_there_is_room_below", 0, nest(down[0], down[5]));
	for (int i = 0; i < 6; i++) {
		close(up[i]);
		close(down[i]);
	}
	close(a);
	close(b);
	close(c);
}

static void wait_forever(int ep)
{
	struct epoll_event ev;
	epoll_wait(ep, &ev, 1, -1);
}

static void killed_while_waiting(void)
{
	int ep = epoll_create1(0);
	sigkill_ends_blocked("sigkill_ends_an_epoll_wait_with_no_timeout", wait_forever, ep);
	close(ep);
}

int main(void)
{
	check_begin("epoll");
	create_and_ctl_errors();
	readiness_on_pipes();
	oneshot_and_edge();
	edge_triggered();
	nested_epolls();
	killed_while_waiting();
	return check_end();
}
