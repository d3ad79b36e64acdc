/*
 * timerfd: timers read as files, as Linux answers: timerfd_create's clocks
 * and flags (the _ALARM clocks need CAP_WAKE_ALARM), timerfd_settime's
 * relative, absolute and periodic settings and its EINVAL rules,
 * timerfd_gettime, reads of the expiry count (blocking, EAGAIN, periodic
 * overruns), poll/epoll readiness, signals ending a blocked read (EINTR,
 * SA_RESTART, SIGKILL), TFD_TIMER_CANCEL_ON_SET, the /proc/self/fd name
 * and fdinfo, and hostile input.
 */
#define _GNU_SOURCE
#include "check.h"
#include <stdint.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>

#define MS 1000000LL

static void on_alarm(int sig)
{
	(void)sig;
}

static int arm(int fd, int flags, long long value_ns, long long interval_ns)
{
	struct itimerspec its = {
		.it_interval = { interval_ns / 1000000000, interval_ns % 1000000000 },
		.it_value = { value_ns / 1000000000, value_ns % 1000000000 },
	};
	return timerfd_settime(fd, flags, &its, NULL);
}

static long long ns_of(struct timespec ts)
{
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ns_of(ts);
}

static long long ticks_of(int fd)
{
	uint64_t t = 0;
	return read(fd, &t, 8) == 8 ? (long long)t : -1;
}

static void read_ticks(int fd)
{
	ticks_of(fd);
}

static void create_errors(void)
{
	EXPECT_FAILS("an_unknown_create_flag_is_einval", EINVAL, timerfd_create(CLOCK_MONOTONIC, 1));
	EXPECT_FAILS("clock_process_cputime_id_is_einval", EINVAL, timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
	EXPECT_FAILS("clock_monotonic_raw_is_einval", EINVAL, timerfd_create(CLOCK_MONOTONIC_RAW, 0));
	EXPECT_FAILS("a_clock_of_99_is_einval", EINVAL, timerfd_create(99, 0));
	EXPECT_FAILS("a_negative_clock_is_einval", EINVAL, timerfd_create(-1, 0));
	int fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	CHECK("clock_boottime_makes_a_timerfd", fd >= 0);
	EXPECT_EQ("tfd_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ("tfd_nonblock_sets_o_nonblock_and_it_is_o_rdwr", O_NONBLOCK | O_RDWR,
		  fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE));
	close(fd);
	fd = timerfd_create(CLOCK_REALTIME_ALARM, 0);
	CHECK("root_may_make_an_alarm_timerfd", fd >= 0);
	close(fd);
	pid_t child = fork();
	if (child == 0) {
		if (setuid(65534) != 0)
			_exit(3);
		errno = 0;
		int r = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
		_exit(r == -1 && errno == EPERM ? 0 : 1);
	}
	int status = -1;
	waitpid(child, &status, 0);
	EXPECT_EQ("without_cap_wake_alarm_an_alarm_clock_is_eperm", 0, status);
}

static void settime_errors(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = { .it_value = { 1, 0 } }, old;
	EXPECT_FAILS("an_unknown_settime_flag_is_einval", EINVAL, timerfd_settime(fd, 4, &its, NULL));
	its.it_value.tv_nsec = 1000000000;
	EXPECT_FAILS("nanoseconds_of_a_second_are_einval", EINVAL, timerfd_settime(fd, 0, &its, NULL));
	its.it_value.tv_nsec = -1;
	EXPECT_FAILS("negative_nanoseconds_are_einval", EINVAL, timerfd_settime(fd, 0, &its, NULL));
	its.it_value = (struct timespec){ -1, 0 };
	EXPECT_FAILS("a_negative_second_is_einval", EINVAL, timerfd_settime(fd, 0, &its, NULL));
	its.it_value = (struct timespec){ 1, 0 };
	its.it_interval = (struct timespec){ 0, -5 };
	EXPECT_FAILS("a_bad_interval_is_einval", EINVAL, timerfd_settime(fd, 0, &its, NULL));
	its.it_interval = (struct timespec){ 0, 0 };
	EXPECT_FAILS("a_new_value_at_a_bad_address_is_efault", EFAULT, timerfd_settime(fd, 0, (void *)8, NULL));
	EXPECT_FAILS("an_old_value_to_a_bad_address_is_efault", EFAULT, timerfd_settime(fd, 0, &its, (void *)8));
	EXPECT_FAILS("gettime_to_a_bad_address_is_efault", EFAULT, timerfd_gettime(fd, (void *)8));
	EXPECT_EQ("cancel_on_set_without_abstime_is_accepted", 0,
		  timerfd_settime(fd, TFD_TIMER_CANCEL_ON_SET, &its, NULL));
	int efd = eventfd(0, 0);
	EXPECT_FAILS("settime_on_an_eventfd_is_einval", EINVAL, timerfd_settime(efd, 0, &its, NULL));
	EXPECT_FAILS("gettime_on_an_eventfd_is_einval", EINVAL, timerfd_gettime(efd, &old));
	close(efd);
	EXPECT_FAILS("settime_on_a_closed_fd_is_ebadf", EBADF, timerfd_settime(999, 0, &its, NULL));
	EXPECT_FAILS("gettime_on_a_closed_fd_is_ebadf", EBADF, timerfd_gettime(999, &old));
	its.it_value = (struct timespec){ INT64_MAX, 999999999 };
	EXPECT_EQ("a_huge_time_is_accepted", 0, timerfd_settime(fd, 0, &its, NULL));
	timerfd_gettime(fd, &old);
	CHECK("and_lies_centuries_ahead", old.it_value.tv_sec > 1000000000LL);
	EXPECT_FAILS("so_nothing_is_read", EAGAIN, ticks_of(fd));
	char small[4];
	EXPECT_FAILS("a_read_of_4_bytes_is_einval", EINVAL, read(fd, small, 4));
	EXPECT_EQ("lseek_does_nothing_and_returns_0", 0, lseek(fd, 5, SEEK_CUR));
	close(fd);
}

static void expiries(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec cur;
	timerfd_gettime(fd, &cur);
	CHECK("a_new_timer_is_disarmed", ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
	EXPECT_FAILS("a_disarmed_timer_reads_eagain", EAGAIN, ticks_of(fd));
	struct pollfd p = { fd, POLLIN, 0 };
	EXPECT_EQ("and_polls_not_readable", 0, poll(&p, 1, 0));

	arm(fd, 0, 50 * MS, 0);
	timerfd_gettime(fd, &cur);
	CHECK("gettime_shows_the_time_left", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 50 * MS);
	EXPECT_EQ("poll_waits_for_the_expiry", 1, poll(&p, 1, 5000));
	EXPECT_EQ("then_the_count_is_1", 1, ticks_of(fd));
	EXPECT_FAILS("which_a_read_takes", EAGAIN, ticks_of(fd));
	timerfd_gettime(fd, &cur);
	EXPECT_EQ("an_expired_one_shot_shows_0_left", 0, ns_of(cur.it_value));

	arm(fd, 0, 0, 1000 * MS);
	timerfd_gettime(fd, &cur);
	CHECK("a_zero_value_disarms_but_keeps_the_interval",
	      ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 1000 * MS);

	/* The count follows the clock, however long the sleeps really took:
	 * between the periods passed before the read and after it. */
	long long a = now_ns(CLOCK_MONOTONIC);
	arm(fd, 0, 10 * MS, 10 * MS);
	usleep(65000);
	long long b = now_ns(CLOCK_MONOTONIC);
	long long n = ticks_of(fd);
	long long c = now_ns(CLOCK_MONOTONIC);
	CHECK("a_periodic_timer_counts_the_periods_missed",
	      n >= (b - a) / (10 * MS) - 1 && n <= (c - a) / (10 * MS) + 1 && n >= 4);
	timerfd_gettime(fd, &cur);
	/* At most a period left; 0 when the next expiry came due and its
	 * interrupt has not run yet (a stalled emulated CPU; Linux's
	 * timerfd_get_remaining() also gives 0 then). That it runs on is
	 * the count the next read gets. */
	CHECK("and_runs_on_after_the_read", ns_of(cur.it_value) >= 0 && ns_of(cur.it_value) <= 10 * MS);
	a = now_ns(CLOCK_MONOTONIC);
	usleep(25000);
	b = now_ns(CLOCK_MONOTONIC);
	n = ticks_of(fd);
	c = now_ns(CLOCK_MONOTONIC);
	CHECK("counting_again_from_the_read", n >= (b - a) / (10 * MS) - 1 && n <= (c - a) / (10 * MS) + 2 && n >= 1);

	struct itimerspec its = { .it_value = { 5, 0 }, .it_interval = { 1, 5 } }, old;
	timerfd_settime(fd, 0, &its, NULL);
	its.it_value.tv_sec = 0;
	timerfd_settime(fd, 0, &its, &old);
	CHECK("settime_gives_the_old_setting",
	      old.it_value.tv_sec == 4 && old.it_interval.tv_sec == 1 && old.it_interval.tv_nsec == 5);

	arm(fd, TFD_TIMER_ABSTIME, now_ns(CLOCK_MONOTONIC) + 30 * MS, 0);
	EXPECT_EQ("an_absolute_monotonic_time_fires", 1, poll(&p, 1, 5000));
	EXPECT_EQ("once", 1, ticks_of(fd));
	arm(fd, TFD_TIMER_ABSTIME, 1, 0);
	EXPECT_EQ("an_absolute_time_past_fires_at_once", 1, poll(&p, 1, 5000));
	EXPECT_EQ("with_a_count_of_1", 1, ticks_of(fd));
	close(fd);

	fd = timerfd_create(CLOCK_REALTIME, 0);
	arm(fd, TFD_TIMER_ABSTIME, now_ns(CLOCK_REALTIME) + 30 * MS, 0);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	EXPECT_EQ("an_absolute_realtime_timer_blocks_a_read_until_it_fires", 1, ticks_of(fd));
	CHECK("at_its_time", now_ns(CLOCK_MONOTONIC) - t0 >= 20 * MS);

	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, got[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	arm(fd, 0, 30 * MS, 0);
	EXPECT_EQ("epoll_sees_nothing_before_the_expiry", 0, epoll_wait(ep, got, 2, 0));
	EXPECT_EQ("and_is_woken_by_it", 1, epoll_wait(ep, got, 2, 5000));
	CHECK("with_epollin_and_the_data", got[0].events == EPOLLIN && got[0].data.u64 == 7);
	close(ep);
	close(fd);
}

static void signals(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	EXPECT_FAILS("a_handler_without_sa_restart_ends_a_read_with_eintr", EINTR, ticks_of(fd));
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	arm(fd, 0, 150 * MS, 0);
	setitimer(ITIMER_REAL, &it, NULL);
	EXPECT_EQ("with_sa_restart_the_read_goes_on_to_the_expiry", 1, ticks_of(fd));
	sigkill_ends_blocked("sigkill_ends_a_blocked_reader", read_ticks, fd);
	close(fd);
}

static void cancel_on_set(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	arm(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, now_ns(CLOCK_REALTIME) + 3600 * 1000 * MS, 0);
	EXPECT_FAILS("an_armed_cancel_on_set_timer_reads_eagain", EAGAIN, ticks_of(fd));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	EXPECT_EQ("setting_the_clock_succeeds", 0, clock_settime(CLOCK_REALTIME, &ts));
	struct pollfd p = { fd, POLLIN, 0 };
	EXPECT_EQ("setting_the_clock_makes_it_readable", 1, poll(&p, 1, 0));
	EXPECT_FAILS("and_its_read_ecanceled", ECANCELED, ticks_of(fd));
	EXPECT_FAILS("once", EAGAIN, ticks_of(fd));
	close(fd);
}

static void proc_names(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = { .it_value = { 100, 0 }, .it_interval = { 1, 5 } };
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	char path[64], link[64] = { 0 }, info[512];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	readlink(path, link, sizeof link - 1);
	CHECK("a_timerfd_s_fd_link_reads_anon_inode_timerfd", strcmp(link, "anon_inode:[timerfd]") == 0);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	read_text(path, info, sizeof info);
	CHECK("fdinfo_shows_the_clock", strstr(info, "clockid: 1\n") != NULL);
	CHECK("and_the_count", strstr(info, "ticks: ") != NULL);
	CHECK("and_the_settime_flags_in_octal", strstr(info, "settime flags: 01\n") != NULL);
	CHECK("and_the_value", strstr(info, "it_value: (") != NULL);
	CHECK("and_the_interval", strstr(info, "it_interval: (1, 5)\n") != NULL);
	close(fd);
}

int main(void)
{
	check_begin("timerfd");
	create_errors();
	settime_errors();
	expiries();
	signals();
	cancel_on_set();
	proc_names();
	return check_end();
}
