/*
 * timeconf: the time calls' edge cases as Linux answers them: every clock
 * id for clock_gettime and clock_getres, nanosleep's and clock_nanosleep's
 * bad arguments and absolute sleeps, alarm's and setitimer's old values,
 * and that gettimeofday, time and CLOCK_REALTIME agree.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static long raw_gettime(long clock, struct timespec *ts)
{
	return syscall(SYS_clock_gettime, clock, ts);
}

static void every_clock_id(void)
{
	static const int good[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
				    CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
				    CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI };
	int all_read = 1, all_res = 1, res_ok = 1;
	for (unsigned i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct timespec ts = { -1, -1 }, res = { -1, -1 };
		if (raw_gettime(good[i], &ts) != 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L)
			all_read = 0;
		if (syscall(SYS_clock_getres, good[i], &res) != 0)
			all_res = 0;
		else if (res.tv_sec != 0 || res.tv_nsec <= 0 || res.tv_nsec > 10000000L)
			res_ok = 0;
	}
	CHECK("clock_gettime_reads_every_linux_clock", all_read);
	CHECK("clock_getres_answers_for_every_linux_clock", all_res);
	CHECK("every_clock_has_a_resolution_of_at_most_a_tick", res_ok);
	struct timespec res;
	syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res);
	EXPECT_EQ("clock_monotonic_resolution_is_1ns_with_high_resolution_timers", 1, res.tv_nsec);
	EXPECT_EQ("clock_getres_accepts_a_null_result", 0, syscall(SYS_clock_getres, CLOCK_REALTIME, NULL));

	struct timespec ts;
	EXPECT_FAILS("clock_gettime_of_clock_10_is_einval", EINVAL, raw_gettime(10, &ts));
	EXPECT_FAILS("clock_gettime_of_clock_12_is_einval", EINVAL, raw_gettime(12, &ts));
	EXPECT_FAILS("clock_gettime_of_clock_1000_is_einval", EINVAL, raw_gettime(1000, &ts));
	EXPECT_FAILS("clock_getres_of_clock_12_is_einval", EINVAL, syscall(SYS_clock_getres, 12, &res));
	EXPECT_FAILS("clock_gettime_to_a_bad_address_is_efault", EFAULT, raw_gettime(CLOCK_MONOTONIC, (void *)8));
	EXPECT_FAILS("clock_settime_of_monotonic_is_einval", EINVAL, syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts));
	struct timespec bad = { 0, 1000000000L };
	EXPECT_FAILS("clock_settime_with_tv_nsec_1e9_is_einval", EINVAL, syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));

	/* A process CPU clock made from a pid that does not exist. */
	clockid_t cid;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	long dead_clock = ((long)~pid << 3) | 2; /* CPUCLOCK_SCHED of pid */
	EXPECT_FAILS("clock_gettime_of_a_reaped_childs_cpu_clock_is_einval", EINVAL, raw_gettime(dead_clock, &ts));
	EXPECT_FAILS("clock_gettime_of_cpu_clock_type_3_is_einval", EINVAL, raw_gettime(((long)~0 << 3) | 3, &ts));
	clock_getcpuclockid(getpid(), &cid);
	EXPECT_EQ("clock_getcpuclockid_of_itself_reads", 0, raw_gettime(cid, &ts));

	struct timespec a, b;
	raw_gettime(CLOCK_MONOTONIC, &a);
	raw_gettime(CLOCK_BOOTTIME, &b);
	CHECK("boottime_is_at_least_monotonic", b.tv_sec >= a.tv_sec);
	raw_gettime(CLOCK_REALTIME, &a);
	raw_gettime(CLOCK_TAI, &b);
	CHECK("tai_is_realtime_plus_its_offset", b.tv_sec >= a.tv_sec && b.tv_sec - a.tv_sec < 100);
}

static void realtime_sources_agree(void)
{
	struct timeval tv;
	struct timespec ts;
	EXPECT_EQ("gettimeofday_succeeds", 0, gettimeofday(&tv, NULL));
	raw_gettime(CLOCK_REALTIME, &ts);
	time_t t = syscall(SYS_time, NULL);
	CHECK("gettimeofday_and_clock_realtime_agree", ts.tv_sec - tv.tv_sec <= 1 && ts.tv_sec >= tv.tv_sec);
	/* Linux's time() reads the seconds the last tick stored (the coarse
	 * clock), which may still hold the second before the one a
	 * clock_gettime just read; ours reads the clock itself. */
	time_t coarse_lag = on_lifecycle() ? 0 : 1;
	CHECK("time_and_clock_realtime_agree", t - ts.tv_sec <= 1 && t >= ts.tv_sec - coarse_lag);
	CHECK("gettimeofday_tv_usec_is_below_a_million", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	time_t stored = 0;
	time_t r = syscall(SYS_time, &stored);
	EXPECT_EQ("time_stores_what_it_returns", r, stored);
	EXPECT_EQ("gettimeofday_with_both_null_succeeds", 0, syscall(SYS_gettimeofday, NULL, NULL));
	EXPECT_FAILS("gettimeofday_to_a_bad_address_is_efault", EFAULT, syscall(SYS_gettimeofday, (void *)8, NULL));
}

static void nanosleep_rules(void)
{
	struct timespec bad = { 0, 1000000000L }, negns = { 0, -1 }, negs = { -1, 0 }, rem;
	EXPECT_FAILS("nanosleep_with_tv_nsec_1e9_is_einval", EINVAL, nanosleep(&bad, NULL));
	EXPECT_FAILS("nanosleep_with_negative_tv_nsec_is_einval", EINVAL, nanosleep(&negns, NULL));
	EXPECT_FAILS("nanosleep_with_negative_tv_sec_is_einval", EINVAL, nanosleep(&negs, NULL));
	EXPECT_FAILS("nanosleep_from_a_bad_address_is_efault", EFAULT, syscall(SYS_nanosleep, (void *)8, NULL));
	struct timespec zero = { 0, 0 };
	EXPECT_EQ("nanosleep_of_zero_returns_at_once", 0, nanosleep(&zero, &rem));

	/* clock_nanosleep returns the error number itself. */
	EXPECT_EQ("clock_nanosleep_with_tv_nsec_1e9_returns_einval", EINVAL, clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL));
	EXPECT_EQ("clock_nanosleep_on_clock_12_returns_einval", EINVAL, clock_nanosleep(12, 0, &zero, NULL));
	EXPECT_EQ("clock_nanosleep_on_the_thread_cpu_clock_returns_einval", EINVAL,
		  clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &zero, NULL));
	EXPECT_EQ("clock_nanosleep_on_boottime_succeeds", 0, clock_nanosleep(CLOCK_BOOTTIME, 0, &zero, NULL));
	EXPECT_EQ("clock_nanosleep_on_realtime_coarse_is_enotsup", ENOTSUP,
		  clock_nanosleep(CLOCK_REALTIME_COARSE, 0, &zero, NULL));
	EXPECT_EQ("clock_nanosleep_on_monotonic_raw_is_enotsup", ENOTSUP,
		  clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &zero, NULL));

	struct timespec now, until, after;
	clock_gettime(CLOCK_MONOTONIC, &now);
	until = now;
	until.tv_nsec += 30000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	EXPECT_EQ("clock_nanosleep_timer_abstime_sleeps_until_the_time", 0,
		  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
	clock_gettime(CLOCK_MONOTONIC, &after);
	CHECK("clock_nanosleep_timer_abstime_wakes_at_or_after_the_time",
	      after.tv_sec > until.tv_sec || (after.tv_sec == until.tv_sec && after.tv_nsec >= until.tv_nsec));
	struct timespec past = { 0, 0 };
	EXPECT_EQ("clock_nanosleep_timer_abstime_in_the_past_returns_at_once", 0,
		  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));

	/* Interrupted: relative sleeps say what is left, absolute ones do not. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	ualarm(50000, 0);
	struct timespec req = { 1, 0 };
	rem.tv_sec = rem.tv_nsec = -5;
	EXPECT_EQ("clock_nanosleep_interrupted_returns_eintr", EINTR, clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem));
	CHECK("clock_nanosleep_interrupted_reports_the_time_left",
	      rem.tv_sec == 0 && rem.tv_nsec > 800000000L && rem.tv_nsec < 1000000000L);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	ualarm(50000, 0);
	rem.tv_sec = rem.tv_nsec = -5;
	EXPECT_EQ("clock_nanosleep_abstime_interrupted_returns_eintr", EINTR,
		  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, &rem));
	CHECK("clock_nanosleep_abstime_leaves_rem_untouched", rem.tv_sec == -5 && rem.tv_nsec == -5);
	signal(SIGALRM, SIG_DFL);
}

static void alarm_rules(void)
{
	signal(SIGALRM, on_alarm);
	EXPECT_EQ("alarm_with_none_set_returns_zero", 0, alarm(100));
	EXPECT_EQ("alarm_returns_the_seconds_left_of_the_old_one", 100, alarm(50));
	struct itimerval it;
	getitimer(ITIMER_REAL, &it);
	CHECK("alarm_is_itimer_real", it.it_value.tv_sec >= 49 && it.it_value.tv_sec <= 50 && it.it_interval.tv_sec == 0);
	EXPECT_EQ("alarm_zero_cancels_and_returns_the_seconds_left", 50, alarm(0));
	getitimer(ITIMER_REAL, &it);
	CHECK("after_alarm_zero_no_timer_is_armed", it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0);

	/* Less than a second left still reports one. */
	struct itimerval half = { { 0, 0 }, { 0, 500000 } };
	setitimer(ITIMER_REAL, &half, NULL);
	EXPECT_EQ("alarm_rounds_a_part_second_left_up_to_one", 1, alarm(0));
	alarms = 0;
	alarm(1);
	pause();
	EXPECT_EQ("alarm_delivers_sigalrm", 1, alarms);
	signal(SIGALRM, SIG_DFL);
}

static void itimer_rules(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } }, old;
	EXPECT_FAILS("getitimer_with_which_3_is_einval", EINVAL, getitimer(3, &old));
	EXPECT_FAILS("setitimer_with_which_3_is_einval", EINVAL, setitimer(3, &it, &old));
	it.it_value.tv_usec = 1000000;
	EXPECT_FAILS("setitimer_with_tv_usec_1e6_is_einval", EINVAL, setitimer(ITIMER_REAL, &it, NULL));
	it.it_value.tv_usec = -1;
	EXPECT_FAILS("setitimer_with_negative_tv_usec_is_einval", EINVAL, setitimer(ITIMER_REAL, &it, NULL));
	it.it_value.tv_usec = 0;
	it.it_value.tv_sec = -1;
	EXPECT_FAILS("setitimer_with_negative_tv_sec_is_einval", EINVAL, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_FAILS("getitimer_to_a_bad_address_is_efault", EFAULT, getitimer(ITIMER_REAL, (void *)8));

	for (int which = ITIMER_REAL; which <= ITIMER_PROF; which++) {
		struct itimerval set = { { 2, 0 }, { 10, 0 } };
		setitimer(which, &set, NULL);
		struct itimerval zero = { { 0, 0 }, { 0, 0 } };
		memset(&old, 0, sizeof old);
		setitimer(which, &zero, &old);
		const char *names[] = { "real", "virtual", "prof" };
		char name[96];
		snprintf(name, sizeof name, "setitimer_%s_returns_the_old_value_and_interval", names[which]);
		CHECK(name, old.it_value.tv_sec >= 9 && old.it_value.tv_sec <= 10 && old.it_interval.tv_sec == 2 &&
				    old.it_interval.tv_usec == 0);
		getitimer(which, &old);
		snprintf(name, sizeof name, "setitimer_%s_zero_disarms", names[which]);
		CHECK(name, old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0 && old.it_interval.tv_sec == 0);
	}

	/* ITIMER_VIRTUAL counts user CPU time and sends SIGVTALRM. */
	signal(SIGVTALRM, on_alarm);
	alarms = 0;
	struct itimerval v = { { 0, 0 }, { 0, 20000 } };
	setitimer(ITIMER_VIRTUAL, &v, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (!alarms && t1.tv_sec - t0.tv_sec < 5);
	EXPECT_EQ("itimer_virtual_sends_sigvtalrm_after_cpu_time", 1, alarms);
	signal(SIGVTALRM, SIG_DFL);

	signal(SIGPROF, on_alarm);
	alarms = 0;
	setitimer(ITIMER_PROF, &v, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (!alarms && t1.tv_sec - t0.tv_sec < 5);
	EXPECT_EQ("itimer_prof_sends_sigprof_after_cpu_time", 1, alarms);
	signal(SIGPROF, SIG_DFL);

	/* A tiny value is rounded up, not taken as disarming. */
	struct itimerval tiny = { { 0, 0 }, { 0, 1 } };
	signal(SIGALRM, on_alarm);
	alarms = 0;
	setitimer(ITIMER_REAL, &tiny, NULL);
	sleep_ms(30);
	EXPECT_EQ("setitimer_of_one_microsecond_fires", 1, alarms);
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	check_begin("timeconf");
	every_clock_id();
	realtime_sources_agree();
	nanosleep_rules();
	alarm_rules();
	itimer_rules();
	return check_end();
}
