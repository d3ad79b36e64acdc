/*
 * pstree_check: builds a known process tree (a parent with a running child
 * and a zombie child, an orphan adopted by this subreaper, a parent waiting
 * in vfork) and checks that `pstree <our pid>` draws exactly that tree.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_named(const char *name, int exit_at_once)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, name);
		if (exit_at_once)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

/* Waits up to 2 s for `pid` to show `state` in /proc/<pid>/stat. */
static void wait_for_state(pid_t pid, char state)
{
	char path[64], stat[256], want[] = { ')', ' ', state, ' ', 0 };
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(path, "r");
		int there = f && fgets(stat, sizeof stat, f) && strstr(stat, want);
		if (f)
			fclose(f);
		if (there)
			return;
		sleep_ms(10);
	}
}

int main(int argc, char **argv)
{
	check_begin("pstree_check");
	prctl(PR_SET_NAME, "pstree_check");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int report[2];
	CHECK("a_pipe_for_reports_opens", pipe(report) == 0);

	/* The scenario parent: a sleeping child and a zombie child it never reaps. */
	pid_t parent = fork();
	if (parent == 0) {
		prctl(PR_SET_NAME, "scenario");
		pid_t kids[2] = { spawn_named("sleeper", 0), spawn_named("zombie", 1) };
		write(report[1], kids, sizeof kids);
		for (;;)
			pause();
	}
	pid_t kids[2];
	CHECK("the_scenario_parent_reports_its_children", read_full(report[0], kids, sizeof kids) == 0);

	/* An orphan: its parent exits, so this subreaper adopts it. */
	pid_t middle = fork();
	if (middle == 0) {
		pid_t orphan = spawn_named("orphan", 0);
		write(report[1], &orphan, sizeof orphan);
		_exit(0);
	}
	pid_t orphan;
	CHECK("the_orphan_reports_its_pid", read_full(report[0], &orphan, sizeof orphan) == 0);
	waitpid(middle, 0, 0);
	/* A child reports its pid before it has named itself: wait until the
	 * named ones sleep in pause() and the zombie is one. */
	wait_for_state(kids[0], 'S');
	wait_for_state(orphan, 'S');
	wait_for_state(kids[1], 'Z');

	/* A vfork parent: held in wait_for_vfork_done while its child runs. */
	pid_t vforker = fork();
	if (vforker == 0) {
		prctl(PR_SET_NAME, "vforker");
		if (vfork() == 0) {
			prctl(PR_SET_NAME, "vforked");
			pid_t me = getpid();
			write(report[1], &me, sizeof me);
			for (;;)
				pause();
		}
		_exit(0);
	}
	pid_t vforked;
	CHECK("the_vfork_child_reports_its_pid", read_full(report[0], &vforked, sizeof vforked) == 0);
	wait_for_state(vforker, 'D');

	int out[2];
	CHECK("a_pipe_for_the_tree_opens", pipe(out) == 0);
	pid_t tree = fork();
	if (tree == 0) {
		char me[16];
		snprintf(me, sizeof me, "%d", getppid());
		dup2(out[1], 1);
		char path[256];
		execl(sibling(argv[0], "pstree", path, sizeof path), "pstree", me, (char *)0);
		_exit(127);
	}
	close(out[1]);
	char got[2048] = { 0 };
	size_t len = 0;
	for (ssize_t n; (n = read(out[0], got + len, sizeof got - 1 - len)) > 0;)
		len += n;
	waitpid(tree, 0, 0);

	char want[2048];
	snprintf(want, sizeof want,
		 "pstree_check(%d)\n"
		 "|-scenario(%d)\n"
		 "| |-sleeper(%d)\n"
		 "| `-zombie(%d) <zombie>\n"
		 "|-orphan(%d)\n"
		 "|-vforker(%d) <vfork>\n"
		 "| `-vforked(%d)\n"
		 "`-pstree(%d)\n",
		 getpid(), parent, kids[0], kids[1], orphan, vforker, vforked, tree);
	if (strcmp(got, want) == 0)
		check_ok("pstree_draws_children_a_zombie_an_adopted_orphan_and_a_vfork_parent");
	else
		check_fail("pstree_draws_children_a_zombie_an_adopted_orphan_and_a_vfork_parent",
			   "got:\n%swant:\n%s", got, want);

	kill(vforked, SIGKILL);
	kill(orphan, SIGKILL);
	kill(kids[0], SIGKILL);
	kill(parent, SIGKILL);
	while (wait(0) > 0)
		;
	return check_end();
}
