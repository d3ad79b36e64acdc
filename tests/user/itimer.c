/*
 * itimer: ITIMER_REAL and alarm(). alarm(1) sends SIGALRM after a second
 * and not before; an interval timer repeats; getitimer reads the time
 * left; alarm(0) returns the seconds left; a forked child has no timer;
 * execve keeps it. In the kernel the timer is an hrtimer in the process's
 * signal_struct whose function (it_real_fn) sends SIGALRM.
 */
#include "check.h"

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void alarm_1_delivers_sigalrm_after_one_second(void)
{
	alarms = 0;
	long start = now_ms();
	alarm(1);
	while (alarms == 0 && now_ms() - start < 5000)
		pause();
	long took = now_ms() - start;
	say("alarm(1) delivered SIGALRM after %ld ms\n", took);
	CHECK("alarm_1_delivers_sigalrm_after_one_second_and_not_before",
	      alarms == 1 && took >= 995 && took < 2000);
}

static void alarm_0_returns_the_seconds_left_and_disarms(void)
{
	alarm(5);
	sleep_ms(100);
	unsigned left = alarm(0);
	EXPECT_EQ("alarm_0_returns_the_seconds_left_of_the_previous_alarm", 5, (int)left);
	struct itimerval it;
	getitimer(ITIMER_REAL, &it);
	CHECK("alarm_0_disarms_the_timer", it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0);
	EXPECT_EQ("alarm_with_no_timer_armed_returns_0", 0, (int)alarm(0));
}

static void an_interval_timer_repeats(void)
{
	alarms = 0;
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	long start = now_ms();
	setitimer(ITIMER_REAL, &it, NULL);
	while (alarms < 5 && now_ms() - start < 5000)
		pause();
	long took = now_ms() - start;
	struct itimerval off = { { 0, 0 }, { 0, 0 } }, old;
	setitimer(ITIMER_REAL, &off, &old);
	say("5 SIGALRMs of a 50 ms interval timer took %ld ms\n", took);
	CHECK("an_interval_timer_repeats_at_its_interval", alarms >= 5 && took >= 245 && took < 2000);
	CHECK("setitimer_returns_the_old_interval",
	      old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 50000);
}

static void getitimer_reads_the_time_left(void)
{
	struct itimerval it = { { 1, 500000 }, { 2, 0 } }, now;
	setitimer(ITIMER_REAL, &it, NULL);
	sleep_ms(200);
	getitimer(ITIMER_REAL, &now);
	long left_ms = now.it_value.tv_sec * 1000 + now.it_value.tv_usec / 1000;
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	say("getitimer after 200 ms of a 2 s timer: %ld ms left\n", left_ms);
	CHECK("getitimer_reads_the_time_left", left_ms > 1500 && left_ms <= 1800);
	CHECK("getitimer_reads_the_interval",
	      now.it_interval.tv_sec == 1 && now.it_interval.tv_usec == 500000);
}

static void bad_values_are_refused(void)
{
	struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
	EXPECT_FAILS("setitimer_with_a_million_microseconds_fails_with_einval", EINVAL,
		     setitimer(ITIMER_REAL, &bad, NULL));
	struct itimerval it;
	EXPECT_FAILS("getitimer_of_an_unknown_timer_fails_with_einval", EINVAL,
		     getitimer(42, &it));
	struct itimerval huge = { { 0x7fffffffffffffffL, 999999 }, { 0x7fffffffffffffffL, 999999 } };
	int r = setitimer(ITIMER_REAL, &huge, NULL);
	getitimer(ITIMER_REAL, &it);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK("setitimer_takes_the_largest_time_and_reads_back_a_far_expiry",
	      r == 0 && it.it_value.tv_sec > 1000000000L);
}

static void a_forked_child_has_no_timer(void)
{
	alarm(10);
	pid_t pid = fork();
	if (pid == 0) {
		struct itimerval it;
		getitimer(ITIMER_REAL, &it);
		_exit(it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0 && alarm(0) == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	unsigned left = alarm(0);
	CHECK("a_forked_child_does_not_inherit_the_parents_itimer",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK("the_parents_itimer_still_runs_after_fork", left >= 9 && left <= 10);
}

static void execve_keeps_the_timer(const char *self)
{
	pid_t pid = fork();
	if (pid == 0) {
		alarm(7);
		execl(self, self, "--after-exec", (char *)NULL);
		_exit(2);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK("an_itimer_survives_execve", WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--after-exec") == 0) {
		struct itimerval it;
		getitimer(ITIMER_REAL, &it);
		return it.it_value.tv_sec >= 5 && it.it_value.tv_sec <= 7 ? 0 : 1;
	}
	check_begin("itimer");
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm_1_delivers_sigalrm_after_one_second();
	alarm_0_returns_the_seconds_left_and_disarms();
	an_interval_timer_repeats();
	getitimer_reads_the_time_left();
	bad_values_are_refused();
	a_forked_child_has_no_timer();
	execve_keeps_the_timer(argv[0]);
	return check_end();
}
