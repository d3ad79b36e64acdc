/*
 * proc_answers: Linux's answers at the edges of the process system calls:
 * pids that are INT_MIN, negative or huge, wait options Linux accepts,
 * setpgid into a group that does not exist, clone3 stacks that wrap, and
 * whose exit signal a CLONE_PARENT child reports with.
 */
#define _GNU_SOURCE
#include "check.h"
#include "raw_clone3.h"

#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* A pid no process has: above the default pid_max. */
#define NO_SUCH_PID 0x7fffffff

/* Calls `expr` and saves errno right after it, for EXPECT_ERRNO. */
#define FAILS(name, err_expected, expr)                                        \
	do {                                                                   \
		errno = 0;                                                     \
		long r__ = (long)(expr);                                       \
		int e__ = errno;                                               \
		EXPECT_ERRNO(name, err_expected, r__, e__);                    \
	} while (0)

static void pids_at_the_edges(void)
{
	FAILS("wait4_of_int_min_fails_with_esrch", ESRCH, wait4(INT_MIN, NULL, 0, NULL));
	FAILS("wait4_of_minus_int_max_fails_with_echild", ECHILD,
	      wait4(-INT_MAX, NULL, WNOHANG, NULL));
	FAILS("kill_of_int_min_fails_with_esrch", ESRCH, kill(INT_MIN, 0));
	FAILS("kill_of_int_min_with_sigkill_fails_with_esrch", ESRCH, kill(INT_MIN, SIGKILL));
	FAILS("kill_of_a_group_that_does_not_exist_fails_with_esrch", ESRCH,
	      kill(-NO_SUCH_PID, 0));
	FAILS("kill_with_a_bad_signal_of_int_min_fails_with_esrch", ESRCH, kill(INT_MIN, 99));
	FAILS("kill_with_a_bad_signal_of_no_such_pid_fails_with_esrch", ESRCH,
	      kill(NO_SUCH_PID, 99));
	FAILS("kill_with_a_bad_signal_of_no_such_group_fails_with_esrch", ESRCH,
	      kill(-NO_SUCH_PID, 99));
	FAILS("kill_of_ourselves_with_a_bad_signal_fails_with_einval", EINVAL, kill(getpid(), 99));
	FAILS("kill_of_our_group_with_a_bad_signal_fails_with_einval", EINVAL, kill(0, 99));
	FAILS("tkill_with_a_bad_signal_of_no_such_tid_fails_with_esrch", ESRCH,
	      syscall(SYS_tkill, NO_SUCH_PID, 99));
	FAILS("tkill_of_ourselves_with_a_bad_signal_fails_with_einval", EINVAL,
	      syscall(SYS_tkill, getpid(), 99));
	FAILS("getpgid_of_int_min_fails_with_esrch", ESRCH, getpgid(INT_MIN));
	FAILS("getpgid_of_minus_one_fails_with_esrch", ESRCH, getpgid(-1));
	FAILS("getsid_of_int_min_fails_with_esrch", ESRCH, getsid(INT_MIN));
	FAILS("setpgid_of_int_min_into_its_own_group_fails_with_einval", EINVAL,
	      setpgid(INT_MIN, 0));
	FAILS("setpgid_of_int_min_into_group_1_fails_with_esrch", ESRCH, setpgid(INT_MIN, 1));
	FAILS("setpgid_to_int_min_fails_with_einval", EINVAL, setpgid(0, INT_MIN));
	FAILS("tgkill_of_tgid_int_min_fails_with_einval", EINVAL,
	      syscall(SYS_tgkill, INT_MIN, getpid(), 0));
	FAILS("tgkill_with_tgid_zero_fails_with_einval", EINVAL,
	      syscall(SYS_tgkill, 0, getpid(), 0));
	FAILS("tgkill_of_tid_int_min_fails_with_einval", EINVAL,
	      syscall(SYS_tgkill, getpid(), INT_MIN, 0));
	FAILS("tgkill_of_a_tid_that_does_not_exist_fails_with_esrch", ESRCH,
	      syscall(SYS_tgkill, getpid(), NO_SUCH_PID, 0));
	FAILS("tkill_of_int_min_fails_with_einval", EINVAL, syscall(SYS_tkill, INT_MIN, 0));
	siginfo_t info;
	FAILS("waitid_p_pid_int_min_fails_with_einval", EINVAL,
	      waitid(P_PID, (id_t)INT_MIN, &info, WEXITED | WNOHANG));
	FAILS("waitid_p_pgid_int_min_fails_with_einval", EINVAL,
	      waitid(P_PGID, (id_t)INT_MIN, &info, WEXITED | WNOHANG));
	FAILS("pidfd_open_of_int_min_fails_with_einval", EINVAL,
	      syscall(SYS_pidfd_open, INT_MIN, 0));
	FAILS("pidfd_open_of_a_pid_that_does_not_exist_fails_with_esrch", ESRCH,
	      syscall(SYS_pidfd_open, NO_SUCH_PID, 0));
	struct rlimit rl;
	FAILS("prlimit_of_int_min_fails_with_esrch", ESRCH,
	      prlimit(INT_MIN, RLIMIT_NOFILE, NULL, &rl));
	FAILS("prlimit_of_a_pid_that_does_not_exist_fails_with_esrch", ESRCH,
	      prlimit(NO_SUCH_PID, RLIMIT_NOFILE, NULL, &rl));
	cpu_set_t set;
	FAILS("sched_getaffinity_of_int_min_fails_with_esrch", ESRCH,
	      sched_getaffinity(INT_MIN, sizeof set, &set));
	FAILS("sched_getaffinity_checks_the_length_before_the_pid", EINVAL,
	      syscall(SYS_sched_getaffinity, INT_MIN, 7, &set));
}

/* Each wait option Linux accepts for wait4 reaps an exited child. */
static void wait_options_linux_accepts(void)
{
	static const struct {
		const char *name;
		int option;
	} options[] = {
		{ "waitpid_with_wcontinued_reaps_an_exited_child", WCONTINUED },
		{ "waitpid_with_wnothread_reaps_the_callers_child", __WNOTHREAD },
		{ "waitpid_with_wuntraced_and_wall_reaps_an_exited_child", WUNTRACED | __WALL },
	};
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(5);
		int status = 0;
		pid_t got = waitpid(pid, &status, options[i].option);
		CHECK(options[i].name, got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 5);
	}
	FAILS("waitpid_with_an_unknown_option_fails_with_einval", EINVAL,
	      waitpid(-1, NULL, 0x100));
}

/* A child that reports with SIGUSR1 instead of SIGCHLD is a "clone child":
 * only __WCLONE or __WALL waits for it, and __WCLONE waits for nothing else. */
static void clone_children_need_wclone(void)
{
	/* Ignored before the clone: on another CPU the child may exit at once. */
	signal(SIGUSR1, SIG_IGN);
	pid_t pid = syscall(SYS_clone, SIGUSR1, 0, 0, 0, 0);
	if (pid == 0)
		_exit(6);
	sleep_ms(50);
	FAILS("waitpid_without_wclone_does_not_see_a_clone_child", ECHILD,
	      waitpid(pid, NULL, WNOHANG));
	int status = 0;
	CHECK("waitpid_with_wclone_reaps_a_clone_child",
	      waitpid(pid, &status, __WCLONE) == pid && WEXITSTATUS(status) == 6);
	signal(SIGUSR1, SIG_DFL);

	pid = fork();
	if (pid == 0)
		_exit(0);
	FAILS("waitpid_with_wclone_does_not_see_a_sigchld_child", ECHILD,
	      waitpid(pid, NULL, __WCLONE));
	waitpid(pid, NULL, 0);
}

/* The middle process is the grandparent of a CLONE_PARENT|SIGKILL clone
 * made by its child: the clone reports with the caller's own exit signal,
 * SIGCHLD, so the middle process is not killed. */
static void clone_parent_uses_the_callers_exit_signal(void)
{
	pid_t middle = fork();
	if (middle == 0) {
		pid_t child = fork();
		if (child == 0) {
			long sibling = syscall(SYS_clone, CLONE_PARENT | SIGKILL, 0, 0, 0, 0);
			if (sibling == 0)
				_exit(9);
			_exit(sibling > 0 ? 0 : 1);
		}
		int status = 0, ok = waitpid(child, &status, 0) == child && status == 0;
		sleep_ms(50);
		/* The sibling is an ordinary (SIGCHLD) child of ours. */
		pid_t sibling = waitpid(-1, &status, 0);
		ok = ok && sibling > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 9;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	waitpid(middle, &status, 0);
	CHECK("clone_parent_with_sigkill_does_not_kill_the_grandparent",
	      !WIFSIGNALED(status));
	CHECK("the_clone_parent_sibling_is_a_sigchld_child_of_the_grandparent",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0);
}


static void clone3_stacks_that_leave_user_space(void)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = { .exit_signal = SIGCHLD };
	static const struct {
		const char *name;
		uint64_t stack, size;
	} cases[] = {
		{ "clone3_with_a_stack_whose_end_wraps_fails_with_einval",
		  0xfffffffffffff000ull, 0x2000 },
		{ "clone3_with_a_stack_ending_past_user_space_fails_with_einval",
		  0x7ffffffff000ull, 0x10000 },
		{ "clone3_with_a_stack_in_the_kernel_half_fails_with_einval",
		  0xffff800000000000ull, 0x1000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		args.stack = cases[i].stack;
		args.stack_size = cases[i].size;
		long ret = raw_clone3(&args, sizeof args);
		if (ret > 0)
			waitpid((pid_t)ret, NULL, 0);
		EXPECT_EQ(cases[i].name, -EINVAL, ret);
	}
}

static void setpgid_into_groups(void)
{
	FAILS("setpgid_into_a_group_that_does_not_exist_fails_with_eperm", EPERM,
	      setpgid(0, NO_SUCH_PID));
	FAILS("setpgid_of_a_process_that_is_not_our_child_fails_with_esrch", ESRCH,
	      setpgid(1, 0));
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	EXPECT_EQ("setpgid_of_our_child_into_its_own_group_succeeds", 0, setpgid(child, child));
	EXPECT_EQ("setpgid_of_ourselves_into_an_existing_group_of_the_session_succeeds", 0,
		  setpgid(0, child));
	EXPECT_EQ("getpgid_reports_the_group_we_joined", child, getpgid(0));
	EXPECT_EQ("setpgid_back_into_a_group_of_our_own_succeeds", 0, setpgid(0, 0));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int main(void)
{
	check_begin("proc_answers");
	pids_at_the_edges();
	wait_options_linux_accepts();
	clone_children_need_wclone();
	clone_parent_uses_the_callers_exit_signal();
	clone3_stacks_that_leave_user_space();
	setpgid_into_groups();
	return check_end();
}
