/*
 * sleep_state: a task in a timed sleep is asleep (state S) for the whole
 * sleep, not woken at every tick to look at its deadline, and a timed sleep
 * lasts at least its time.
 *
 * A child sleeps 5 s in nanosleep, in a futex wait with a timeout, or in
 * poll on an empty pipe with a timeout; the parent reads its state from
 * /proc/<pid>/stat 100 times, 5 ms apart, and every sample must be S. In
 * the kernel each sleep arms one timer (hrtimer_start) that wakes the
 * sleeper once, at its deadline.
 */
#include "check.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define SAMPLES 100

/* From <linux/futex.h>, which musl-gcc does not see. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAIT_BITSET_PRIVATE (9 | 128)
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffff

static int futex_word;

static long futex_wait(int op, const struct timespec *ts)
{
	return syscall(SYS_futex, &futex_word, op, 0, ts, NULL, FUTEX_BITSET_MATCH_ANY);
}

static void sleep_in(const char *how)
{
	struct timespec five = { 5, 0 };
	if (strcmp(how, "nanosleep") == 0) {
		nanosleep(&five, NULL);
	} else if (strcmp(how, "futex") == 0) {
		futex_wait(FUTEX_WAIT_PRIVATE, &five);
	} else {
		int p[2];
		pipe(p);
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		poll(&pfd, 1, 5000);
	}
	_exit(0);
}

/* Samples the state of a child sleeping in `how`; returns how many of
 * SAMPLES samples read S. */
static int s_samples_of_child_sleeping_in(const char *how)
{
	pid_t pid = fork();
	if (pid == 0)
		sleep_in(how);
	long start = now_ms();
	while (proc_state(pid) != 'S' && now_ms() - start < 2000)
		sleep_ms(1);
	int asleep = 0;
	for (int i = 0; i < SAMPLES; i++) {
		asleep += proc_state(pid) == 'S';
		sleep_ms(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return asleep;
}

static void a_task_sleeping_in_nanosleep_is_always_in_state_s(void)
{
	EXPECT_EQ("a_task_sleeping_in_nanosleep_is_always_in_state_s", SAMPLES,
		  s_samples_of_child_sleeping_in("nanosleep"));
}

static void a_task_in_a_futex_wait_with_a_timeout_is_always_in_state_s(void)
{
	EXPECT_EQ("a_task_in_a_futex_wait_with_a_timeout_is_always_in_state_s", SAMPLES,
		  s_samples_of_child_sleeping_in("futex"));
}

static void a_task_in_poll_with_a_timeout_is_always_in_state_s(void)
{
	EXPECT_EQ("a_task_in_poll_with_a_timeout_is_always_in_state_s", SAMPLES,
		  s_samples_of_child_sleeping_in("poll"));
}

static long ns_since(const struct timespec *t0, clockid_t clock)
{
	struct timespec t1;
	clock_gettime(clock, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000000L + (t1.tv_nsec - t0->tv_nsec);
}

static void timed_sleeps_last_at_least_their_time(void)
{
	const long want = 200 * 1000000L;
	struct timespec t0, rel = { 0, want };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&rel, NULL);
	long slept = ns_since(&t0, CLOCK_MONOTONIC);
	CHECK("nanosleep_lasts_at_least_its_time", slept >= want && slept < 10 * want);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	long r = futex_wait(FUTEX_WAIT_PRIVATE, &rel);
	int err = errno;
	slept = ns_since(&t0, CLOCK_MONOTONIC);
	CHECK("a_futex_wait_times_out_with_etimedout_after_its_time",
	      r == -1 && err == ETIMEDOUT && slept >= want && slept < 10 * want);

	struct timespec abs;
	clock_gettime(CLOCK_REALTIME, &t0);
	abs = t0;
	abs.tv_nsec += want;
	if (abs.tv_nsec >= 1000000000L) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000L;
	}
	r = futex_wait(FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, &abs);
	err = errno;
	slept = ns_since(&t0, CLOCK_REALTIME);
	CHECK("a_futex_wait_until_a_realtime_deadline_times_out_at_it",
	      r == -1 && err == ETIMEDOUT && slept >= want && slept < 10 * want);

	int p[2];
	pipe(p);
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = poll(&pfd, 1, 200);
	slept = ns_since(&t0, CLOCK_MONOTONIC);
	CHECK("poll_on_an_empty_pipe_times_out_after_its_time",
	      n == 0 && slept >= want && slept < 10 * want);
	close(p[0]);
	close(p[1]);

	static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME };
	int all = 1;
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		clock_gettime(clocks[i], &t0);
		abs = t0;
		abs.tv_nsec += want / 2;
		if (abs.tv_nsec >= 1000000000L) {
			abs.tv_sec++;
			abs.tv_nsec -= 1000000000L;
		}
		int e = clock_nanosleep(clocks[i], TIMER_ABSTIME, &abs, NULL);
		slept = ns_since(&t0, clocks[i]);
		if (e != 0 || slept < want / 2 || slept > 10 * want) {
			say("clock %d: clock_nanosleep returned %d after %ld ns\n", (int)clocks[i], e, slept);
			all = 0;
		}
	}
	CHECK("clock_nanosleep_timer_abstime_wakes_at_the_deadline_on_each_clock", all);
}

/* A pipe write wakes a poller at once, though its timeout is far away. */
static void a_write_wakes_a_poller_before_its_timeout(void)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(100);
		write(p[1], "x", 1);
		_exit(0);
	}
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	long start = now_ms();
	int n = poll(&pfd, 1, 5000);
	long took = now_ms() - start;
	CHECK("a_pipe_write_wakes_a_poller_before_its_timeout",
	      n == 1 && (pfd.revents & POLLIN) && took < 2000);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	check_begin("sleep_state");
	a_task_sleeping_in_nanosleep_is_always_in_state_s();
	a_task_in_a_futex_wait_with_a_timeout_is_always_in_state_s();
	a_task_in_poll_with_a_timeout_is_always_in_state_s();
	timed_sleeps_last_at_least_their_time();
	a_write_wakes_a_poller_before_its_timeout();
	return check_end();
}
