/*
 * nice: nice values through getpriority/setpriority (the C library's
 * nice() calls them): the raw system call's 20 - nice return, clamping,
 * inheritance at fork, process groups and users, /proc/<pid>/stat fields 18
 * (priority) and 19 (nice), /proc/<pid>/sched, and the errors: EINVAL,
 * ESRCH, EACCES for an unprivileged lowering, EPERM for another user's task.
 */
#include "check.h"

#include <sys/resource.h>
#include <sys/syscall.h>

/* Field `n` (1-based, as in proc(5)) of /proc/self/stat. */
static long self_stat_field(int n)
{
	char buf[1024];
	if (read_text("/proc/self/stat", buf, sizeof buf) < 0)
		return -9999;
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < n; field++)
		p = strchr(p + 1, ' ');
	return p ? atol(p + 1) : -9999;
}

/* Runs `body` in a child and returns its exit status (0: passed). */
static int in_child(int (*body)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(body());
	int status = -1;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static int child_sees_nice_5(void)
{
	return getpriority(PRIO_PROCESS, 0) == 5 ? 0 : 1;
}

/* As an ordinary user (with no RLIMIT_NICE room): raising works, lowering
 * is EACCES, another user's task is EPERM. */
static int unprivileged(void)
{
	struct rlimit none = {0, 0};
	pid_t parent = getppid();
	if (setrlimit(RLIMIT_NICE, &none) != 0 || setuid(65534) != 0)
		return 10;
	if (setpriority(PRIO_PROCESS, 0, 10) != 0)
		return 11;
	errno = 0;
	if (setpriority(PRIO_PROCESS, 0, 5) != -1 || errno != EACCES)
		return 12;
	errno = 0;
	if (setpriority(PRIO_PROCESS, parent, 10) != -1 || errno != EPERM)
		return 13;
	return getpriority(PRIO_PROCESS, 0) == 10 ? 0 : 14;
}

static int group_of_two(void)
{
	setpgid(0, 0);
	pid_t sib = fork();
	if (sib == 0) {
		pause();
		_exit(0);
	}
	int ok = setpriority(PRIO_PGRP, 0, 3) == 0 && getpriority(PRIO_PROCESS, sib) == 3 &&
		 getpriority(PRIO_PGRP, 0) == 3;
	kill(sib, SIGKILL);
	waitpid(sib, NULL, 0);
	return ok ? 0 : 1;
}

int main(void)
{
	check_begin("nice");
	setpriority(PRIO_PROCESS, 0, 0);
	EXPECT_EQ("a_task_starts_at_nice_0", 0, getpriority(PRIO_PROCESS, 0));
	EXPECT_EQ("the_raw_getpriority_returns_20_minus_nice", 20, syscall(SYS_getpriority, PRIO_PROCESS, 0));
	EXPECT_EQ("nice_5_returns_the_new_nice_value", 5, nice(5));
	EXPECT_EQ("getpriority_reads_nice_5", 5, getpriority(PRIO_PROCESS, 0));
	EXPECT_EQ("the_raw_getpriority_of_nice_5_is_15", 15, syscall(SYS_getpriority, PRIO_PROCESS, 0));
	EXPECT_EQ("proc_stat_field_18_is_the_priority_20_plus_nice", 25, self_stat_field(18));
	EXPECT_EQ("proc_stat_field_19_is_the_nice_value", 5, self_stat_field(19));
	EXPECT_EQ("a_forked_child_inherits_the_nice_value", 0, in_child(child_sees_nice_5));
	char buf[4096];
	if (read_text("/proc/self/sched", buf, sizeof buf) < 0)
		check_skip("proc_pid_sched_shows_vruntime_and_switches", "no /proc/self/sched");
	else
		CHECK("proc_pid_sched_shows_vruntime_and_switches",
		      strstr(buf, "se.vruntime") && strstr(buf, "nr_switches") && strstr(buf, "se.load.weight"));
	setpriority(PRIO_PROCESS, 0, 100);
	EXPECT_EQ("a_nice_value_above_19_is_clamped_to_19", 19, getpriority(PRIO_PROCESS, 0));
	EXPECT_EQ("root_may_lower_its_nice_value", 0, setpriority(PRIO_PROCESS, 0, -3));
	EXPECT_EQ("the_lowered_nice_value_is_read_back", -3, getpriority(PRIO_PROCESS, 0));
	setpriority(PRIO_PROCESS, 0, 0);
	EXPECT_FAILS("an_unknown_which_is_einval", EINVAL, setpriority(3, 0, 0));
	EXPECT_FAILS("getpriority_of_an_unknown_which_is_einval", EINVAL, getpriority(-1, 0));
	EXPECT_FAILS("getpriority_of_no_such_pid_is_esrch", ESRCH, getpriority(PRIO_PROCESS, 999999));
	EXPECT_FAILS("setpriority_of_no_such_pid_is_esrch", ESRCH, setpriority(PRIO_PROCESS, 999999, 1));
	EXPECT_FAILS("a_user_with_no_task_is_esrch", ESRCH, getpriority(PRIO_USER, 54321));
	errno = 0;
	int user_prio = getpriority(PRIO_USER, 0);
	CHECK("prio_user_0_reads_the_callers_user", errno == 0 && user_prio >= -20 && user_prio <= 0);
	EXPECT_EQ("prio_pgrp_sets_every_process_of_the_group", 0, in_child(group_of_two));
	EXPECT_EQ("an_unprivileged_task_may_raise_but_not_lower_its_nice_value_nor_touch_roots", 0,
		  in_child(unprivileged));
	return check_end();
}
