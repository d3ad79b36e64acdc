/*
 * thread_cycles: a thousand pthread_create+pthread_join and a thousand
 * vfork+_exit+wait cycles all succeed, and (on our kernel) leave the free
 * page count exactly where a warm-up cycle left it.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>

#define NR_CYCLES 1000
#define NR_WARM_UP 16
/* Threads alive at once in the warm-up: more than the kernel's stack cache
 * holds (NR_CACHED_STACKS, 2), so that it ends the warm-up full. */
#define NR_OVERLAPPING 4

struct outcome {
	int done;
	char first_problem[160];
};

static void *echo_thread(void *arg)
{
	return (void *)((intptr_t)arg * 2 + 1);
}

static struct outcome thread_cycles(int n)
{
	struct outcome o = { 0, "" };
	for (int i = 0; i < n; i++) {
		pthread_t t;
		void *value = NULL;
		int ret = pthread_create(&t, NULL, echo_thread, (void *)(intptr_t)i);
		if (ret != 0) {
			snprintf(o.first_problem, sizeof o.first_problem,
				 "pthread_create %d failed: %s", i, strerror(ret));
			break;
		}
		ret = pthread_join(t, &value);
		if (ret == 0 && value == (void *)((intptr_t)i * 2 + 1))
			o.done++;
		else if (o.first_problem[0] == '\0')
			snprintf(o.first_problem, sizeof o.first_problem,
				 "cycle %d: pthread_join returned %d, value %p", i, ret, value);
	}
	return o;
}

/* Waits until the write end of the pipe `arg` points to is closed. */
static void *wait_for_hangup(void *arg)
{
	char c;
	while (read(*(int *)arg, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/*
 * Runs n threads that are all alive at once, then joins them. The kernel
 * keeps the stacks of exited tasks in a small cache for the next fork, and
 * pages in it are not free; it only fills when several tasks overlap. On
 * one CPU a vfork child or joined thread is gone before the next is made;
 * on several, the next one can be made before the CPU the last one died on
 * has freed its stack, so how full the cache was after the plain cycles
 * depended on timing, and the free page count moved by a whole stack.
 */
static struct outcome overlapping_threads(int n)
{
	struct outcome o = { 0, "" };
	pthread_t t[NR_OVERLAPPING];
	int fds[2];
	if (pipe(fds) != 0) {
		snprintf(o.first_problem, sizeof o.first_problem, "pipe failed: %s",
			 strerror(errno));
		return o;
	}
	int started = 0;
	for (; started < n; started++) {
		int ret = pthread_create(&t[started], NULL, wait_for_hangup, &fds[0]);
		if (ret != 0) {
			snprintf(o.first_problem, sizeof o.first_problem,
				 "pthread_create %d failed: %s", started, strerror(ret));
			break;
		}
	}
	close(fds[1]);
	for (int i = 0; i < started; i++)
		if (pthread_join(t[i], NULL) == 0)
			o.done++;
	close(fds[0]);
	return o;
}

/* The child runs on this frame's stack until it exits: keep it tiny. */
static __attribute__((noinline)) pid_t vfork_and_exit(int code)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(code);
	return pid;
}

static struct outcome vfork_cycles(int n)
{
	struct outcome o = { 0, "" };
	for (int i = 0; i < n; i++) {
		pid_t pid = vfork_and_exit(i & 0xff);
		if (pid < 0) {
			snprintf(o.first_problem, sizeof o.first_problem, "vfork %d failed: %s", i,
				 strerror(errno));
			break;
		}
		int status = -1;
		pid_t got = waitpid(pid, &status, 0);
		if (got == pid && status == (i & 0xff) << 8)
			o.done++;
		else if (o.first_problem[0] == '\0')
			snprintf(o.first_problem, sizeof o.first_problem,
				 "cycle %d: waitpid returned %d (pid %d), status %#x", i, got, pid,
				 status);
	}
	return o;
}

static void expect_outcome(const char *name, int n, const struct outcome *o)
{
	if (o->done == n && o->first_problem[0] == '\0')
		check_ok(name);
	else
		check_fail(name, "%d of %d cycles succeeded; %s", o->done, n, o->first_problem);
}

/* nr_free_pages from /proc/vmstat; -1 if it cannot be read. */
static long vmstat_free_pages(void)
{
	return proc_number("/proc/vmstat", "nr_free_pages ");
}

struct free_memory {
	long pages, kb;
};

static struct free_memory free_memory(void)
{
	struct free_memory f = { vmstat_free_pages(), memfree_kb() };
	return f;
}

/* Free memory once it has stopped moving: two readings 10 ms apart agree.
 * What an earlier program or an earlier cycle left to be freed (a stack a
 * CPU frees when it next switches, a task freed after its last reference
 * drops) is then free, so a difference between two settled readings is a
 * leak, not timing. Gives up after a second and returns the last reading. */
static struct free_memory settled_free_memory(void)
{
	struct free_memory last = free_memory();
	for (int i = 0; i < 100; i++) {
		sched_yield();
		sleep_ms(10);
		struct free_memory now = free_memory();
		if (now.pages == last.pages && now.kb == last.kb)
			return now;
		last = now;
	}
	return last;
}

static void expect_unchanged(const char *name, const char *what, long before, long after)
{
	if (before >= 0 && before == after)
		check_ok(name);
	else
		check_fail(name, "%s was %ld before, %ld after (%+ld)", what, before, after,
			   after - before);
}

int main(void)
{
	check_begin("thread_cycles");
	int lifecycle = on_lifecycle();

	/* Warm-up: musl's heap, the page tables and kernel caches reach their
	 * working size, so that the measurement below sees only leaks. */
	struct outcome warm_overlap = overlapping_threads(NR_OVERLAPPING);
	struct outcome warm_threads = thread_cycles(NR_WARM_UP);
	struct outcome warm_vforks = vfork_cycles(NR_WARM_UP);
	struct free_memory before = settled_free_memory();

	struct outcome threads = thread_cycles(NR_CYCLES);
	struct outcome vforks = vfork_cycles(NR_CYCLES);
	struct free_memory after = settled_free_memory();

	expect_outcome("a_warm_up_of_4_threads_alive_at_once_succeeds", NR_OVERLAPPING,
		       &warm_overlap);
	expect_outcome("a_warm_up_of_16_thread_create_join_cycles_succeeds", NR_WARM_UP,
		       &warm_threads);
	expect_outcome("a_warm_up_of_16_vfork_exit_wait_cycles_succeeds", NR_WARM_UP,
		       &warm_vforks);
	expect_outcome("a_thousand_pthread_create_join_cycles_return_each_threads_value",
		       NR_CYCLES, &threads);
	expect_outcome("a_thousand_vfork_exit_wait_cycles_report_the_right_statuses", NR_CYCLES,
		       &vforks);
	int ret = waitpid(-1, NULL, WNOHANG);
	int err = errno;
	EXPECT_ERRNO("no_child_is_left_over_after_the_cycles", ECHILD, ret, err);
	if (!lifecycle) {
		check_skip("nr_free_pages_returns_exactly_to_its_level_after_the_warm_up",
			   "Linux's free page count moves with other activity");
		check_skip("memfree_returns_exactly_to_its_level_after_the_warm_up",
			   "Linux's MemFree moves with other activity");
	} else {
		expect_unchanged("nr_free_pages_returns_exactly_to_its_level_after_the_warm_up",
				 "nr_free_pages", before.pages, after.pages);
		expect_unchanged("memfree_returns_exactly_to_its_level_after_the_warm_up",
				 "MemFree (kB)", before.kb, after.kb);
	}
	return check_end();
}
