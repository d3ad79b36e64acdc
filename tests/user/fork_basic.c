/*
 * fork_basic: what fork returns, and to whom.
 *
 * Each child reports what it saw through a pipe; the parent compares.
 */
#include "check.h"

#include <sys/wait.h>

#define NR_CONCURRENT 16

struct child_view {
	pid_t fork_ret;
	pid_t pid;
	pid_t ppid;
};

static void fork_returns_zero_in_the_child_and_its_pid_in_the_parent(void)
{
	int p[2];
	pipe(p);
	pid_t parent = getpid();

	pid_t ret = fork();
	if (ret == 0) {
		struct child_view v = { ret, getpid(), getppid() };
		write(p[1], &v, sizeof v);
		_exit(0);
	}
	close(p[1]);
	struct child_view v = { -1, -1, -1 };
	int got = read_full(p[0], &v, sizeof v);
	close(p[0]);
	int status = -1;
	pid_t reaped = waitpid(ret, &status, 0);

	CHECK("fork_returns_a_positive_pid_in_the_parent", ret > 0);
	EXPECT_EQ("the_child_reports_back_through_a_pipe", 0, got);
	EXPECT_EQ("fork_returns_zero_in_the_child", 0, v.fork_ret);
	EXPECT_EQ("fork_returns_the_childs_pid_in_the_parent", ret, v.pid);
	CHECK("the_child_has_a_pid_different_from_its_parent", v.pid != parent);
	EXPECT_EQ("getppid_in_the_child_equals_the_parents_getpid", parent, v.ppid);
	EXPECT_EQ("waitpid_returns_the_pid_fork_returned", ret, reaped);
	EXPECT_EQ("getpid_is_unchanged_in_the_parent_after_fork", parent, getpid());
}

static void concurrent_children_have_unique_positive_pids(void)
{
	int reports[2], release[2];
	pipe(reports);
	pipe(release);
	pid_t pids[NR_CONCURRENT];
	int forked = 0;

	for (int i = 0; i < NR_CONCURRENT; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(release[1]);
			struct child_view v = { 0, getpid(), getppid() };
			write(reports[1], &v, sizeof v);
			char c;
			read(release[0], &c, 1); /* all stay alive until EOF */
			_exit(0);
		}
		if (pids[i] > 0)
			forked++;
	}
	close(reports[1]);
	close(release[0]);
	struct child_view seen[NR_CONCURRENT];
	int reported = 0;
	while (reported < forked && read_full(reports[0], &seen[reported], sizeof seen[0]) == 0)
		reported++;
	close(release[1]);
	int reaped_ok = 0;
	for (int i = 0; i < forked; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) == pids[i] && status == 0)
			reaped_ok++;
	}
	close(reports[0]);

	int positive = 1, unique = 1, matching = 1;
	for (int i = 0; i < forked; i++) {
		positive &= pids[i] > 0;
		for (int j = 0; j < i; j++)
			unique &= pids[i] != pids[j];
	}
	for (int i = 0; i < reported; i++) {
		int found = 0;
		for (int j = 0; j < forked; j++)
			found |= seen[i].pid == pids[j];
		matching &= found && seen[i].ppid == getpid();
	}

	EXPECT_EQ("sixteen_children_can_be_alive_at_once", NR_CONCURRENT, forked);
	EXPECT_EQ("every_concurrent_child_reports_while_all_are_alive", forked, reported);
	CHECK("concurrent_children_have_positive_pids", positive);
	CHECK("concurrent_children_have_unique_pids", unique);
	CHECK("each_concurrent_child_sees_the_pid_fork_returned_and_its_parent", matching);
	EXPECT_EQ("all_concurrent_children_are_reaped_with_status_zero", forked, reaped_ok);
}

int main(void)
{
	check_begin("fork_basic");
	fork_returns_zero_in_the_child_and_its_pid_in_the_parent();
	concurrent_children_have_unique_positive_pids();
	return check_end();
}
