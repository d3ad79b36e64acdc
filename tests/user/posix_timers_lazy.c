/*
 * posix_timers_lazy: two corners of POSIX timers as Linux has them.
 * A periodic timer whose signal is ignored is parked, not restarted every
 * period: timer_gettime still shows the next period, and when sigaction
 * stops ignoring the signal it is queued at once, its overrun counting the
 * periods missed, and the timer runs on; a one-shot whose signal was
 * ignored sends nothing later. And timer_create takes another process's
 * CPU clock (clock_getcpuclockid): the timer fires after that process has
 * run for the time set; a thread clock of another process, or of no
 * process, is EINVAL.
 * Linux: posixtimer_sig_ignore() / posixtimer_sig_unignore() in
 * kernel/signal.c, posix_cpu_timer_create() in kernel/time/posix-cpu-timers.c
 */
#define _GNU_SOURCE
#include "check.h"
#include <sys/syscall.h>

#define MS 1000000L

static volatile int fired, first_overrun;

/* Counts the signals; keeps the overrun of the first since `fired = 0`. */
static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (fired++ == 0)
		first_overrun = si->si_overrun;
}

static void catch(int sig)
{
	struct sigaction sa = { .sa_sigaction = on_timer, .sa_flags = SA_SIGINFO };
	sigaction(sig, &sa, 0);
}

static long k_timer_create(clockid_t clock, int sig, int *id)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig };
	return syscall(SYS_timer_create, clock, &ev, id);
}

static void k_settime(int id, long value_ns, long interval_ns)
{
	struct itimerspec its = {
		.it_interval = { interval_ns / 1000000000, interval_ns % 1000000000 },
		.it_value = { value_ns / 1000000000, value_ns % 1000000000 },
	};
	syscall(SYS_timer_settime, id, 0, &its, NULL);
}

static long left_ns(int id)
{
	struct itimerspec cur;
	if (syscall(SYS_timer_gettime, id, &cur) != 0)
		return -1;
	return cur.it_value.tv_sec * 1000000000L + cur.it_value.tv_nsec;
}

static void an_ignored_periodic_timer_is_parked(void)
{
	signal(SIGUSR2, SIG_IGN);
	int id;
	k_timer_create(CLOCK_MONOTONIC, SIGUSR2, &id);
	long t0 = now_ms();
	k_settime(id, 10 * MS, 10 * MS);
	sleep_ms(200);
	long left = left_ns(id);
	CHECK("timer_gettime_of_a_parked_timer_shows_the_next_period",
	      left > 0 && left <= 10 * MS);
	fired = 0;
	catch(SIGUSR2);
	int at_once = fired, overrun = first_overrun;
	long periods = (now_ms() - t0) / 10;
	/* At once: before the next period could have fired it (a slow
	 * machine may see that one too before sigaction has returned). */
	CHECK("the_parked_signal_arrives_as_sigaction_stops_ignoring_it", at_once >= 1);
	CHECK("its_overrun_counts_the_periods_missed_while_ignored",
	      overrun >= 15 && overrun <= periods);
	if (overrun < 15 || overrun > periods)
		say("    overrun %d, %ld periods passed\n", overrun, periods);
	for (int i = 0; i < 500 && fired < 3; i++)
		sleep_ms(1);
	CHECK("the_timer_runs_on_once_its_signal_is_caught", fired >= 3);
	syscall(SYS_timer_delete, id);
	signal(SIGUSR2, SIG_DFL);
}

static void an_ignored_one_shot_sends_nothing_later(void)
{
	signal(SIGUSR1, SIG_IGN);
	int id;
	k_timer_create(CLOCK_MONOTONIC, SIGUSR1, &id);
	k_settime(id, 10 * MS, 0);
	sleep_ms(50);
	fired = 0;
	catch(SIGUSR1);
	sleep_ms(50);
	EXPECT_EQ("a_one_shot_whose_signal_was_ignored_sends_nothing_when_caught_later", 0, fired);
	EXPECT_EQ("and_reads_as_disarmed", 0, left_ns(id));
	syscall(SYS_timer_delete, id);
	signal(SIGUSR1, SIG_DFL);
}

static double cpu_ms(clockid_t clk)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) != 0)
		return -1;
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void a_timer_on_another_process_s_cpu_clock(void)
{
	pid_t child = fork();
	if (child == 0)
		for (;;)
			__asm__ volatile("" ::: "memory");
	clockid_t clk;
	int ok = clock_getcpuclockid(child, &clk) == 0;
	catch(SIGRTMIN + 5);
	int id = -1;
	long r = ok ? k_timer_create(clk, SIGRTMIN + 5, &id) : -1;
	CHECK("timer_create_on_another_process_s_cpu_clock_succeeds", r == 0);
	fired = 0;
	double start = cpu_ms(clk);
	k_settime(id, 50 * MS, 0);
	for (int i = 0; i < 5000 && !fired; i++)
		sleep_ms(1);
	double ran = cpu_ms(clk) - start;
	CHECK("it_fires_once_that_process_has_run_for_the_time_set",
	      fired == 1 && ran >= 45);
	if (fired != 1 || ran < 45)
		say("    fired %d after the child ran %.1f ms\n", fired, ran);
	syscall(SYS_timer_delete, id);
	clockid_t thread_clk = (clockid_t)((~(unsigned)child << 3) | 4 | 2);
	EXPECT_FAILS("a_thread_cpu_clock_of_another_process_is_einval", EINVAL,
		     k_timer_create(thread_clk, SIGRTMIN + 5, &id));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	clockid_t gone = (clockid_t)((~(unsigned)child << 3) | 2);
	EXPECT_FAILS("the_cpu_clock_of_a_reaped_process_is_einval", EINVAL,
		     k_timer_create(gone, SIGRTMIN + 5, &id));
}

int main(void)
{
	check_begin("posix_timers_lazy");
	an_ignored_periodic_timer_is_parked();
	an_ignored_one_shot_sends_nothing_later();
	a_timer_on_another_process_s_cpu_clock();
	return check_end();
}
