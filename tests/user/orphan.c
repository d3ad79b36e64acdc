/*
 * orphan: a process whose parent exits is adopted by init, or by the
 * nearest ancestor that asked to be a child subreaper.
 *
 * The test forks P, P forks C and exits; C polls getppid() until it moves
 * away from P and reports where it went. On Linux the test may itself run
 * under a subreaper (a container runtime, a service manager), so only our
 * kernel is held to "the new parent is pid 1" and "init reaps it".
 */
#include "check.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define TIMEOUT_MS 2000

struct adoption {
	pid_t c;         /* the orphan */
	pid_t new_ppid;  /* its parent once P has gone */
};

static void orphan_reports(pid_t p, int out, int exit_code)
{
	long deadline = now_ms() + TIMEOUT_MS;
	while (getppid() == p && now_ms() < deadline)
		sleep_ms(2);
	struct adoption a = { getpid(), getppid() };
	write(out, &a, sizeof a);
	_exit(exit_code);
}

/* Forks P, which forks C and exits; returns what C reported. */
static struct adoption orphan_a_grandchild(int exit_code, pid_t *p_out, int *p_status)
{
	int report[2];
	pipe(report);
	pid_t p = fork();
	if (p == 0) {
		pid_t me = getpid();
		pid_t c = fork();
		if (c == 0)
			orphan_reports(me, report[1], exit_code);
		_exit(c > 0 ? 0 : 1);
	}
	close(report[1]);
	*p_status = -1;
	waitpid(p, p_status, 0);
	struct adoption a = { -1, -1 };
	read_full(report[0], &a, sizeof a);
	close(report[0]);
	*p_out = p;
	return a;
}

static void orphans_are_adopted_by_init(void)
{
	pid_t p;
	int p_status;
	struct adoption a = orphan_a_grandchild(0, &p, &p_status);

	EXPECT_EQ("the_intermediate_parent_exits_cleanly", 0, p_status);
	CHECK("the_orphan_reports_its_pid", a.c > 0);
	CHECK("an_orphan_gets_a_new_parent_when_its_parent_exits", a.new_ppid != p && a.new_ppid > 0);
	if (!on_lifecycle()) {
		check_skip("an_orphans_new_parent_is_init",
			   "on Linux the test may run under a subreaper");
		check_skip("an_orphan_is_reaped_by_init_after_it_exits",
			   "on Linux the test may run under a subreaper");
		return;
	}
	EXPECT_EQ("an_orphans_new_parent_is_init", 1, a.new_ppid);
	long deadline = now_ms() + TIMEOUT_MS;
	while (kill(a.c, 0) == 0 && now_ms() < deadline)
		sleep_ms(5);
	int ret = kill(a.c, 0);
	int err = errno;
	EXPECT_ERRNO("an_orphan_is_reaped_by_init_after_it_exits", ESRCH, ret, err);
}

static void orphans_are_adopted_by_a_subreaper(void)
{
	int set_ret = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	pid_t p;
	int p_status;
	struct adoption a = orphan_a_grandchild(5, &p, &p_status);
	int c_status = -1;
	pid_t reaped = waitpid(a.c, &c_status, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);

	EXPECT_EQ("pr_set_child_subreaper_succeeds", 0, set_ret);
	EXPECT_EQ("the_intermediate_parent_under_a_subreaper_exits_cleanly", 0, p_status);
	EXPECT_EQ("an_orphans_new_parent_is_the_nearest_subreaper", getpid(), a.new_ppid);
	EXPECT_EQ("the_subreaper_can_wait_for_its_adopted_grandchild", a.c, reaped);
	EXPECT_EQ("the_subreaper_gets_the_grandchilds_exit_status", 5 << 8, c_status);
}

int main(void)
{
	check_begin("orphan");
	orphans_are_adopted_by_init();
	orphans_are_adopted_by_a_subreaper();
	return check_end();
}
