/*
 * rlimit_cpu: CPU time runs timers. A busy loop under RLIMIT_CPU soft 1 s,
 * hard 2 s gets SIGXCPU after 1 s of CPU and dies of SIGKILL at 2 s;
 * ITIMER_VIRTUAL counts only user time, so a sleeper never gets SIGVTALRM;
 * ITIMER_PROF repeats at its interval.
 */
#include "check.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static long long cputime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int report_fd;


static void on_sigxcpu(int sig)
{
	(void)sig;
	long long at = cputime_ns();
	if (write(report_fd, &at, sizeof at) < 0)
		_exit(3);
}

static void check_rlimit_cpu(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		return;
	long long steal = host_steal_ns();
	pid_t child = fork();
	if (child == 0) {
		close(fds[0]);
		report_fd = fds[1];
		signal(SIGXCPU, on_sigxcpu);
		struct rlimit lim = { 1, 2 };
		if (setrlimit(RLIMIT_CPU, &lim) < 0)
			_exit(2);
		for (;;)
			;
	}
	close(fds[1]);
	struct rusage ru;
	int status = 0;
	EXPECT_EQ("wait4_reaps_the_limited_child", child, wait4(child, &status, 0, &ru));
	long long first = 0;
	int n = read(fds[0], &first, sizeof first) == sizeof first;
	close(fds[0]);
	/* Host Linux checks the limits against tick-sampled time, which a
	 * loaded host (the suite's QEMUs) over-counts, while rusage and
	 * /proc report the precise time: there a limit may act up to 0.2 s
	 * early by those; here at most 0.1 s. */
	long long early = on_lifecycle() ? 100000000LL : 200000000LL;
	int soft_in_time = n == 1 && first >= 1000000000LL - early && first < 1300000000;
	CHECK("sigxcpu_arrives_at_the_soft_limit", soft_in_time);
	if (n == 1 && !soft_in_time)
		say("    SIGXCPU at %lld ns of CPU\n", first);
	CHECK("the_hard_limit_kills_with_sigkill", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	long long used = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
			 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	/* Up to 0.6 s late; on the host, later by what it had stolen meanwhile
	 * (the kernel under test is held to 0.6 s). */
	long long late = 600000000LL + (on_lifecycle() ? 0 : host_steal_ns() - steal);
	int in_time = used >= 2000000000LL - early && used < 2000000000LL + late;
	CHECK("it_dies_after_2_s_of_cpu", in_time);
	if (!in_time)
		say("    died after %lld ns of CPU (%lld ns early, %lld ns late allowed)\n", used,
		    early, late);
}

static volatile sig_atomic_t vtalrms, profs;

static void on_sigvtalrm(int sig)
{
	(void)sig;
	vtalrms++;
}

static void on_sigprof(int sig)
{
	(void)sig;
	profs++;
}

static void busy_until(long long cpu_ns, volatile sig_atomic_t *stop)
{
	long long end = cputime_ns() + cpu_ns;
	while (cputime_ns() < end && !(stop && *stop))
		for (volatile int i = 0; i < 10000; i++)
			;
}

static void check_itimers(void)
{
	signal(SIGVTALRM, on_sigvtalrm);
	signal(SIGPROF, on_sigprof);
	struct itimerval v = { { 0, 0 }, { 0, 50000 } }, old, cur;
	EXPECT_EQ("setitimer_virtual_arms", 0, setitimer(ITIMER_VIRTUAL, &v, &old));
	CHECK("it_was_disarmed_before", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
	usleep(300000);
	CHECK("a_sleeper_gets_no_sigvtalrm", vtalrms == 0);
	getitimer(ITIMER_VIRTUAL, &cur);
	CHECK("its_virtual_timer_did_not_run_while_asleep",
	      cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 30000);
	long long t0 = cputime_ns();
	busy_until(2000000000, &vtalrms);
	long long spent = cputime_ns() - t0;
	CHECK("sigvtalrm_comes_after_50_ms_of_user_time", vtalrms == 1 && spent >= 30000000 && spent < 500000000);
	getitimer(ITIMER_VIRTUAL, &cur);
	CHECK("a_one_shot_timer_is_disarmed_after_firing",
	      cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

	struct itimerval p = { { 0, 50000 }, { 0, 50000 } };
	setitimer(ITIMER_PROF, &p, 0);
	busy_until(400000000, 0);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_PROF, &off, &old);
	CHECK("itimer_prof_repeats_at_its_interval", profs >= 5 && profs <= 9);
	if (profs < 5 || profs > 9)
		say("    %d SIGPROF in 400 ms of CPU\n", (int)profs);
	CHECK("setitimer_returns_the_old_interval", old.it_interval.tv_usec == 50000);
	EXPECT_EQ("an_unknown_itimer_is_einval", -EINVAL, setitimer(7, &off, 0) < 0 ? -errno : 0);
}

int main(void)
{
	check_begin("rlimit_cpu");
	check_rlimit_cpu();
	check_itimers();
	return check_end();
}
