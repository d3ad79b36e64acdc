/*
 * stress: many forks, in sequence and all at once, each reaped with the
 * right status, and (on our kernel) not a page lost afterwards.
 */
#include "check.h"

#include <sched.h>
#include <sys/wait.h>

#define NR_SEQUENTIAL 2000
#define NR_STORM 64

struct outcome {
	int forked, reaped_ok;
	char first_problem[160];
};

/* fork, _exit(i & 0xff), wait4, n times. */
static struct outcome sequential_cycles(int n)
{
	struct outcome o = { 0, 0, "" };
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(i & 0xff);
		if (pid < 0) {
			snprintf(o.first_problem, sizeof o.first_problem,
				 "fork %d failed: %s", i, strerror(errno));
			break;
		}
		o.forked++;
		int status = -1;
		pid_t got = wait4(pid, &status, 0, NULL);
		if (got == pid && status == (i & 0xff) << 8)
			o.reaped_ok++;
		else if (o.first_problem[0] == '\0')
			snprintf(o.first_problem, sizeof o.first_problem,
				 "cycle %d: wait4 returned %d (pid %d), status %#x", i, got, pid, status);
	}
	return o;
}

/* n children alive at once, blocked on a pipe, then released together. */
static struct outcome storm(int n)
{
	static pid_t pids[NR_STORM];
	struct outcome o = { 0, 0, "" };
	int release[2], ready[2];
	pipe(release);
	pipe(ready);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char c;
			close(release[1]);
			write(ready[1], "r", 1);
			read(release[0], &c, 1);
			_exit(i & 0x7f);
		}
		if (pids[i] < 0) {
			snprintf(o.first_problem, sizeof o.first_problem,
				 "fork %d of the storm failed: %s", i, strerror(errno));
			break;
		}
		o.forked++;
	}
	close(ready[1]);
	char c;
	int ready_count = 0;
	while (ready_count < o.forked && read(ready[0], &c, 1) == 1)
		ready_count++;
	close(ready[0]);
	close(release[1]);
	close(release[0]);
	for (int i = 0; i < o.forked; i++) {
		int status = -1;
		pid_t got = waitpid(pids[i], &status, 0);
		if (got == pids[i] && status == (i & 0x7f) << 8)
			o.reaped_ok++;
		else if (o.first_problem[0] == '\0')
			snprintf(o.first_problem, sizeof o.first_problem,
				 "child %d: waitpid returned %d (pid %d), status %#x", i, got, pids[i], status);
	}
	if (ready_count != o.forked && o.first_problem[0] == '\0')
		snprintf(o.first_problem, sizeof o.first_problem,
			 "only %d of %d children were running at once", ready_count, o.forked);
	return o;
}

static void expect_outcome(const char *name, int n, const struct outcome *o)
{
	if (o->forked == n && o->reaped_ok == n && o->first_problem[0] == '\0')
		check_ok(name);
	else
		check_fail(name, "%d forked, %d reaped with the right status of %d; %s",
			   o->forked, o->reaped_ok, n, o->first_problem);
}

int main(void)
{
	check_begin("stress");
	int lifecycle = on_lifecycle();

	/* Warm-up: let kernel caches and this process's pages reach their
	 * working size, so that the measurement below sees only leaks. */
	struct outcome warm_storm = storm(NR_STORM);
	struct outcome warm_seq = sequential_cycles(16);
	long before = memfree_kb();

	struct outcome seq = sequential_cycles(NR_SEQUENTIAL);
	struct outcome all_at_once = storm(NR_STORM);
	long after = memfree_kb();
	if (lifecycle && after != before) {
		sched_yield();
		sleep_ms(20);
		after = memfree_kb();
	}

	expect_outcome("a_warm_up_storm_of_64_children_is_reaped", NR_STORM, &warm_storm);
	expect_outcome("a_warm_up_of_16_fork_exit_wait_cycles_succeeds", 16, &warm_seq);
	expect_outcome("two_thousand_sequential_fork_exit_wait_cycles_report_the_right_statuses",
		       NR_SEQUENTIAL, &seq);
	expect_outcome("sixty_four_children_alive_at_once_are_all_reaped_with_the_right_status",
		       NR_STORM, &all_at_once);
	int ret = wait(NULL);
	int err = errno;
	EXPECT_ERRNO("no_child_is_left_over_after_the_storm", ECHILD, ret, err);
	if (!lifecycle)
		check_skip("memfree_returns_exactly_to_its_level_before_the_forks",
			   "Linux's MemFree moves with other activity");
	else if (before > 0 && before == after)
		check_ok("memfree_returns_exactly_to_its_level_before_the_forks");
	else
		check_fail("memfree_returns_exactly_to_its_level_before_the_forks",
			   "MemFree was %ld kB before, %ld kB after (%+ld kB)", before, after,
			   after - before);
	return check_end();
}
