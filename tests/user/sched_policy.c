/*
 * sched_policy: the policy system calls, what they report and every way
 * they fail. sched_setscheduler/getscheduler, sched_setparam/getparam,
 * sched_setattr/getattr (with its versioned struct size: E2BIG and the
 * size written back), sched_get_priority_min/max and
 * sched_rr_get_interval, each with Linux's errno: EINVAL for a bad policy,
 * priority, flag or pid, ESRCH for no such task, EFAULT for a bad pointer,
 * and EPERM for a user without CAP_SYS_NICE whose RLIMIT_RTPRIO and
 * RLIMIT_NICE do not allow the change, or who is not the task's owner.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#define SCHED_FLAG_RESET_ON_FORK 0x01
#define SCHED_FLAG_KEEP_POLICY 0x08
#define SCHED_FLAG_KEEP_PARAMS 0x10

/* Linux's struct sched_attr (include/uapi/linux/sched/types.h), 56 bytes. */
struct sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

#define BAD_PTR ((void *)8)     /* never mapped */
#define NO_PID 0x3ffffff        /* above pid_max */

static long setscheduler(pid_t pid, int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	return syscall(SYS_sched_setscheduler, pid, policy, &sp);
}

static long setparam(pid_t pid, int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	return syscall(SYS_sched_setparam, pid, &sp);
}

static int getparam(pid_t pid)
{
	struct sched_param sp = { .sched_priority = -1 };
	if (syscall(SYS_sched_getparam, pid, &sp) != 0)
		return -1;
	return sp.sched_priority;
}

static long setattr(pid_t pid, struct sched_attr *attr, unsigned flags)
{
	return syscall(SYS_sched_setattr, pid, attr, flags);
}

static long getattr(pid_t pid, struct sched_attr *attr, unsigned size, unsigned flags)
{
	return syscall(SYS_sched_getattr, pid, attr, size, flags);
}

static struct sched_attr attr_of(int policy, int prio, int nice, uint64_t flags)
{
	struct sched_attr a = { .size = sizeof a, .sched_policy = policy,
				.sched_flags = flags, .sched_nice = nice,
				.sched_priority = prio };
	return a;
}

static void priority_ranges(void)
{
	EXPECT_EQ("sched_get_priority_max_of_sched_fifo_is_99", 99,
		  syscall(SYS_sched_get_priority_max, SCHED_FIFO));
	EXPECT_EQ("sched_get_priority_min_of_sched_fifo_is_1", 1,
		  syscall(SYS_sched_get_priority_min, SCHED_FIFO));
	EXPECT_EQ("sched_get_priority_max_of_sched_rr_is_99", 99,
		  syscall(SYS_sched_get_priority_max, SCHED_RR));
	EXPECT_EQ("sched_get_priority_min_of_sched_rr_is_1", 1,
		  syscall(SYS_sched_get_priority_min, SCHED_RR));
	int fair[] = { SCHED_OTHER, SCHED_BATCH, SCHED_IDLE };
	int zero = 0;
	for (int i = 0; i < 3; i++)
		zero += syscall(SYS_sched_get_priority_max, fair[i]) == 0 &&
			syscall(SYS_sched_get_priority_min, fair[i]) == 0;
	EXPECT_EQ("the_fair_policies_have_priority_range_0_to_0", 3, zero);
	int bad[] = { -1, 4, 8, SCHED_FIFO | SCHED_RESET_ON_FORK };
	for (int i = 0; i < 4; i++) {
		EXPECT_FAILS("sched_get_priority_max_of_an_unknown_policy_is_einval", EINVAL,
			     syscall(SYS_sched_get_priority_max, bad[i]));
		EXPECT_FAILS("sched_get_priority_min_of_an_unknown_policy_is_einval", EINVAL,
			     syscall(SYS_sched_get_priority_min, bad[i]));
	}
}

static void setscheduler_errors(void)
{
	struct sched_param sp = { 0 };
	EXPECT_FAILS("sched_setscheduler_with_a_null_param_is_einval", EINVAL,
		     syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
	EXPECT_FAILS("sched_setscheduler_of_a_negative_pid_is_einval", EINVAL,
		     syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &sp));
	EXPECT_FAILS("sched_setscheduler_with_an_unmapped_param_is_efault", EFAULT,
		     syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, BAD_PTR));
	EXPECT_FAILS("sched_setscheduler_of_no_task_is_esrch", ESRCH,
		     setscheduler(NO_PID, SCHED_OTHER, 0));
	EXPECT_FAILS("sched_setscheduler_to_a_negative_policy_is_einval", EINVAL,
		     setscheduler(0, -1, 0));
	EXPECT_FAILS("sched_setscheduler_to_the_unused_policy_4_is_einval", EINVAL,
		     setscheduler(0, 4, 0));
	EXPECT_FAILS("sched_setscheduler_to_an_unknown_policy_is_einval", EINVAL,
		     setscheduler(0, 8, 0));
	EXPECT_FAILS("sched_fifo_at_priority_0_is_einval", EINVAL,
		     setscheduler(0, SCHED_FIFO, 0));
	EXPECT_FAILS("sched_rr_at_priority_100_is_einval", EINVAL,
		     setscheduler(0, SCHED_RR, 100));
	EXPECT_FAILS("sched_fifo_at_a_negative_priority_is_einval", EINVAL,
		     setscheduler(0, SCHED_FIFO, -1));
	EXPECT_FAILS("sched_other_at_priority_1_is_einval", EINVAL,
		     setscheduler(0, SCHED_OTHER, 1));
	EXPECT_EQ("a_failed_call_leaves_the_policy_alone", SCHED_OTHER,
		  syscall(SYS_sched_getscheduler, 0));
}

static void getscheduler_and_params(void)
{
	EXPECT_FAILS("sched_getscheduler_of_a_negative_pid_is_einval", EINVAL,
		     syscall(SYS_sched_getscheduler, -1));
	EXPECT_FAILS("sched_getscheduler_of_no_task_is_esrch", ESRCH,
		     syscall(SYS_sched_getscheduler, NO_PID));
	struct sched_param sp;
	EXPECT_FAILS("sched_getparam_with_a_null_param_is_einval", EINVAL,
		     syscall(SYS_sched_getparam, 0, NULL));
	EXPECT_FAILS("sched_getparam_of_a_negative_pid_is_einval", EINVAL,
		     syscall(SYS_sched_getparam, -1, &sp));
	EXPECT_FAILS("sched_getparam_of_no_task_is_esrch", ESRCH,
		     syscall(SYS_sched_getparam, NO_PID, &sp));
	EXPECT_FAILS("sched_getparam_into_an_unmapped_param_is_efault", EFAULT,
		     syscall(SYS_sched_getparam, 0, BAD_PTR));
	EXPECT_FAILS("sched_setparam_with_a_null_param_is_einval", EINVAL,
		     syscall(SYS_sched_setparam, 0, NULL));
	EXPECT_FAILS("sched_setparam_of_a_negative_pid_is_einval", EINVAL,
		     setparam(-1, 0));
	EXPECT_FAILS("sched_setparam_of_no_task_is_esrch", ESRCH, setparam(NO_PID, 0));
	EXPECT_FAILS("sched_setparam_from_an_unmapped_param_is_efault", EFAULT,
		     syscall(SYS_sched_setparam, 0, BAD_PTR));
	EXPECT_FAILS("sched_setparam_of_a_fair_task_to_priority_5_is_einval", EINVAL,
		     setparam(0, 5));
	EXPECT_EQ("sched_setparam_of_a_fair_task_to_priority_0_succeeds", 0, setparam(0, 0));

	EXPECT_EQ("sched_setscheduler_to_sched_rr_succeeds", 0, setscheduler(0, SCHED_RR, 30));
	EXPECT_EQ("sched_getscheduler_reports_sched_rr", SCHED_RR,
		  syscall(SYS_sched_getscheduler, 0));
	EXPECT_EQ("sched_getparam_reports_the_rt_priority", 30, getparam(0));
	EXPECT_EQ("sched_setparam_changes_the_rt_priority", 0, setparam(0, 40));
	EXPECT_EQ("sched_getparam_reports_the_new_rt_priority", 40, getparam(0));
	EXPECT_FAILS("sched_setparam_of_an_rt_task_to_priority_0_is_einval", EINVAL,
		     setparam(0, 0));
	EXPECT_FAILS("sched_setparam_of_an_rt_task_to_priority_100_is_einval", EINVAL,
		     setparam(0, 100));
	EXPECT_EQ("sched_getscheduler_of_the_parent_sees_its_policy", SCHED_OTHER,
		  syscall(SYS_sched_getscheduler, getppid()));
}

static void rr_interval_errors(void)
{
	struct timespec ts;
	EXPECT_FAILS("sched_rr_get_interval_of_a_negative_pid_is_einval", EINVAL,
		     syscall(SYS_sched_rr_get_interval, -1, &ts));
	EXPECT_FAILS("sched_rr_get_interval_of_no_task_is_esrch", ESRCH,
		     syscall(SYS_sched_rr_get_interval, NO_PID, &ts));
	EXPECT_FAILS("sched_rr_get_interval_into_an_unmapped_timespec_is_efault", EFAULT,
		     syscall(SYS_sched_rr_get_interval, 0, BAD_PTR));
	EXPECT_FAILS("sched_rr_get_interval_into_null_is_efault", EFAULT,
		     syscall(SYS_sched_rr_get_interval, 0, NULL));
}

static void setattr_size_errors(void)
{
	struct { struct sched_attr a; char tail[64]; } big;
	memset(&big, 0, sizeof big);
	big.a = attr_of(SCHED_OTHER, 0, 0, 0);
	big.a.size = 47;
	EXPECT_FAILS("sched_setattr_with_a_size_below_version_0_is_e2big", E2BIG,
		     setattr(0, &big.a, 0));
	EXPECT_EQ("e2big_writes_the_kernels_size_back", sizeof(struct sched_attr), big.a.size);
	big.a.size = 4097;
	EXPECT_FAILS("sched_setattr_with_a_size_above_a_page_is_e2big", E2BIG,
		     setattr(0, &big.a, 0));
	big.a.size = sizeof big;
	big.tail[10] = 1;
	EXPECT_FAILS("sched_setattr_with_unknown_nonzero_tail_bytes_is_e2big", E2BIG,
		     setattr(0, &big.a, 0));
	big.tail[10] = 0;
	big.a.size = sizeof big;
	EXPECT_EQ("sched_setattr_with_a_larger_zeroed_struct_succeeds", 0,
		  setattr(0, &big.a, 0));
	big.a.size = 0;
	EXPECT_EQ("sched_setattr_with_size_0_reads_version_0", 0, setattr(0, &big.a, 0));
	big.a.size = 48;
	EXPECT_EQ("sched_setattr_with_the_version_0_size_succeeds", 0, setattr(0, &big.a, 0));
}

static void setattr_errors(void)
{
	struct sched_attr a = attr_of(SCHED_OTHER, 0, 0, 0);
	EXPECT_FAILS("sched_setattr_with_a_null_attr_is_einval", EINVAL, setattr(0, NULL, 0));
	EXPECT_FAILS("sched_setattr_of_a_negative_pid_is_einval", EINVAL, setattr(-1, &a, 0));
	EXPECT_FAILS("sched_setattr_with_nonzero_flags_is_einval", EINVAL, setattr(0, &a, 1));
	EXPECT_FAILS("sched_setattr_from_an_unmapped_attr_is_efault", EFAULT,
		     setattr(0, BAD_PTR, 0));
	EXPECT_FAILS("sched_setattr_of_no_task_is_esrch", ESRCH, setattr(NO_PID, &a, 0));
	a = attr_of(-1, 0, 0, 0);
	EXPECT_FAILS("sched_setattr_to_a_negative_policy_is_einval", EINVAL, setattr(0, &a, 0));
	a = attr_of(8, 0, 0, 0);
	EXPECT_FAILS("sched_setattr_to_an_unknown_policy_is_einval", EINVAL, setattr(0, &a, 0));
	a = attr_of(SCHED_OTHER, 0, 0, 1ull << 40);
	EXPECT_FAILS("sched_setattr_with_an_unknown_sched_flag_is_einval", EINVAL,
		     setattr(0, &a, 0));
	a = attr_of(SCHED_FIFO, 0, 0, 0);
	EXPECT_FAILS("sched_setattr_to_fifo_priority_0_is_einval", EINVAL, setattr(0, &a, 0));
	a = attr_of(SCHED_RR, 100, 0, 0);
	EXPECT_FAILS("sched_setattr_to_rr_priority_100_is_einval", EINVAL, setattr(0, &a, 0));
	a = attr_of(SCHED_BATCH, 3, 0, 0);
	EXPECT_FAILS("sched_setattr_to_batch_with_a_priority_is_einval", EINVAL,
		     setattr(0, &a, 0));
	a = attr_of(SCHED_OTHER, 0, 0, 0);
	a.size = 48;
	a.sched_flags = 0x20; /* SCHED_FLAG_UTIL_CLAMP_MIN needs version 1 */
	EXPECT_FAILS("sched_setattr_of_util_clamps_with_a_version_0_size_is_einval", EINVAL,
		     setattr(0, &a, 0));
}

static void getattr_reports(void)
{
	struct sched_attr a;
	memset(&a, 0xff, sizeof a);
	EXPECT_FAILS("sched_getattr_into_a_null_attr_is_einval", EINVAL,
		     getattr(0, NULL, sizeof a, 0));
	EXPECT_FAILS("sched_getattr_of_a_negative_pid_is_einval", EINVAL,
		     getattr(-1, &a, sizeof a, 0));
	EXPECT_FAILS("sched_getattr_with_a_size_below_version_0_is_einval", EINVAL,
		     getattr(0, &a, 47, 0));
	EXPECT_FAILS("sched_getattr_with_a_size_above_a_page_is_einval", EINVAL,
		     getattr(0, &a, 4097, 0));
	EXPECT_FAILS("sched_getattr_with_nonzero_flags_is_einval", EINVAL,
		     getattr(0, &a, sizeof a, 1));
	EXPECT_FAILS("sched_getattr_of_no_task_is_esrch", ESRCH, getattr(NO_PID, &a, sizeof a, 0));
	EXPECT_FAILS("sched_getattr_into_an_unmapped_attr_is_efault", EFAULT,
		     getattr(0, BAD_PTR, sizeof a, 0));

	struct sched_attr set = attr_of(SCHED_FIFO, 20, 0, SCHED_FLAG_RESET_ON_FORK);
	EXPECT_EQ("sched_setattr_to_fifo_with_reset_on_fork_succeeds", 0, setattr(0, &set, 0));
	EXPECT_EQ("sched_getscheduler_reports_fifo_and_the_reset_flag",
		  SCHED_FIFO | SCHED_RESET_ON_FORK, syscall(SYS_sched_getscheduler, 0));
	EXPECT_EQ("sched_getattr_succeeds", 0, getattr(0, &a, sizeof a, 0));
	CHECK("sched_getattr_reports_policy_priority_and_flags",
	      a.size == sizeof a && a.sched_policy == SCHED_FIFO && a.sched_priority == 20 &&
	      a.sched_flags == SCHED_FLAG_RESET_ON_FORK && a.sched_nice == 0);
	memset(&a, 0xff, sizeof a);
	EXPECT_EQ("sched_getattr_with_the_version_0_size_succeeds", 0, getattr(0, &a, 48, 0));
	CHECK("sched_getattr_writes_only_the_size_asked_for",
	      a.size == 48 && a.sched_util_min == 0xffffffffu);

	set = attr_of(SCHED_RR, 7, 0, SCHED_FLAG_KEEP_POLICY);
	EXPECT_EQ("sched_setattr_with_keep_policy_changes_the_priority_only", 0,
		  setattr(0, &set, 0));
	EXPECT_EQ("keep_policy_keeps_fifo_and_its_reset_flag", SCHED_FIFO | SCHED_RESET_ON_FORK,
		  syscall(SYS_sched_getscheduler, 0));
	EXPECT_EQ("keep_policy_sets_the_priority", 7, getparam(0));
	set = attr_of(SCHED_OTHER, 0, 0, 0);
	setattr(0, &set, 0);
	set = attr_of(SCHED_OTHER, 0, 30, 0);
	EXPECT_EQ("sched_setattr_clamps_nice_to_19", 0, setattr(0, &set, 0));
	getattr(0, &a, sizeof a, 0);
	EXPECT_EQ("sched_getattr_reports_the_clamped_nice", 19, a.sched_nice);
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", getpid());
	long nice = -100;
	if (read_text(path, buf, sizeof buf) > 0 && strrchr(buf, ')'))
		sscanf(strrchr(buf, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %ld", &nice);
	EXPECT_EQ("proc_stat_field_19_shows_the_nice_sched_setattr_set", 19, nice);
}

/* As user 65534 with the given RLIMIT_RTPRIO and RLIMIT_NICE. */
static void become_user(long rtprio, long nice)
{
	struct rlimit r = { rtprio, rtprio }, n = { nice, nice };
	if (setrlimit(RLIMIT_RTPRIO, &r) || setrlimit(RLIMIT_NICE, &n) || setuid(65534)) {
		say("sched_policy: cannot become user 65534\n");
		_exit(2);
	}
}

static void unprivileged_without_limits(void)
{
	become_user(0, 0);
	EXPECT_FAILS("a_user_with_rlimit_rtprio_0_cannot_become_fifo", EPERM,
		     setscheduler(0, SCHED_FIFO, 1));
	EXPECT_FAILS("a_user_cannot_change_another_users_task", EPERM,
		     setscheduler(getppid(), SCHED_OTHER, 0));
	EXPECT_FAILS("a_user_cannot_set_another_users_task_with_setparam", EPERM,
		     setparam(getppid(), 0));
	struct sched_attr a = attr_of(SCHED_OTHER, 0, -1, 0);
	EXPECT_FAILS("a_user_with_rlimit_nice_0_cannot_lower_nice", EPERM, setattr(0, &a, 0));
	a = attr_of(SCHED_OTHER, 0, 3, 0);
	EXPECT_EQ("a_user_may_raise_nice", 0, setattr(0, &a, 0));
	EXPECT_EQ("a_user_may_choose_sched_batch", 0, setscheduler(0, SCHED_BATCH, 0));
	EXPECT_EQ("a_user_may_choose_sched_idle", 0, setscheduler(0, SCHED_IDLE, 0));
	EXPECT_FAILS("a_user_whose_nice_limit_is_too_low_cannot_leave_sched_idle", EPERM,
		     setscheduler(0, SCHED_OTHER, 0));
	EXPECT_EQ("sched_getscheduler_of_another_users_task_is_allowed", SCHED_OTHER,
		  syscall(SYS_sched_getscheduler, getppid()));
}

static void unprivileged_rt_task(void)
{
	if (setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 30) != 0)
		_exit(3);
	become_user(0, 0);
	EXPECT_EQ("an_rt_user_task_may_lower_its_priority", 0,
		  setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 20));
	EXPECT_FAILS("a_user_cannot_clear_reset_on_fork", EPERM,
		     setscheduler(0, SCHED_FIFO, 20));
	EXPECT_FAILS("a_user_cannot_raise_its_rt_priority_past_rlimit_rtprio", EPERM,
		     setparam(0, 25));
	EXPECT_FAILS("a_user_with_rlimit_rtprio_0_cannot_switch_fifo_to_rr", EPERM,
		     setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, 10));
	EXPECT_EQ("a_user_may_leave_the_rt_classes", 0,
		  setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
}

/* Needs CAP_SYS_RESOURCE to raise the hard limit, which a host's
 * container may not grant even to root. */
static void unprivileged_within_rtprio_limit(void)
{
	struct rlimit r = { 10, 10 };
	if (setrlimit(RLIMIT_RTPRIO, &r) != 0) {
		check_skip("a_user_may_become_rr_within_rlimit_rtprio",
			   "cannot raise RLIMIT_RTPRIO here (no CAP_SYS_RESOURCE)");
		check_skip("a_user_cannot_pass_rlimit_rtprio", "as above");
		return;
	}
	become_user(10, 0);
	EXPECT_EQ("a_user_may_become_rr_within_rlimit_rtprio", 0,
		  setscheduler(0, SCHED_RR, 10));
	EXPECT_FAILS("a_user_cannot_pass_rlimit_rtprio", EPERM, setparam(0, 11));
}

int main(void)
{
	check_begin("sched_policy");
	priority_ranges();
	setscheduler_errors();
	as_child(getscheduler_and_params);
	rr_interval_errors();
	as_child(setattr_size_errors);
	as_child(setattr_errors);
	as_child(getattr_reports);
	as_child(unprivileged_without_limits);
	as_child(unprivileged_rt_task);
	as_child(unprivileged_within_rtprio_limit);
	return check_end();
}
