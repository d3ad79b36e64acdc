/*
 * exit_status: how a child's end is encoded for wait4 and waitid.
 *
 * Exit codes keep their low 8 bits; deaths by signal report the signal,
 * including the ones the CPU raises (page fault, ud2, divide error).
 * Children that crash set RLIMIT_CORE to 0 so the host writes no core.
 */
#include "check.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* fork a child that runs fn(arg); returns its pid. */
static pid_t spawn(void (*fn)(int), int arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		fn(arg);
		_exit(100);
	}
	return pid;
}

static int status_of(pid_t pid)
{
	int status = -1;
	if (wait4(pid, &status, 0, NULL) != pid)
		return -1;
	return status;
}

static void exit_with(int code) { _exit(code); }

static void dereference_null(int unused)
{
	volatile int *volatile p = NULL;
	*p = unused;
}

static void execute_ud2(int unused) { __builtin_trap(); }

static void divide_by_zero(int unused)
{
	volatile int zero = 0, one = 1;
	volatile int q = one / zero;
	(void)q;
}

/* A child that blocks until the parent closes release[1]. */
static int release[2];

static void block_until_released(int unused)
{
	char c;
	close(release[1]);
	read(release[0], &c, 1);
	_exit(0);
}

static void exit_codes_round_trip(void)
{
	static const int codes[] = { 0, 1, 42, 255 };
	for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		int status = status_of(spawn(exit_with, codes[i]));
		char name[96];
		snprintf(name, sizeof name, "exit_code_%d_is_reported_by_wexitstatus", codes[i]);
		if (WIFEXITED(status) && WEXITSTATUS(status) == codes[i])
			check_ok(name);
		else
			check_fail(name, "expected exit %d, got status %#x", codes[i], status);
	}
	EXPECT_EQ("an_exit_status_is_encoded_as_code_shifted_left_by_8",
		  42 << 8, status_of(spawn(exit_with, 42)));
	EXPECT_EQ("only_the_low_8_bits_of_an_exit_code_are_kept",
		  0x34 << 8, status_of(spawn(exit_with, 0x1234)));
	EXPECT_EQ("exit_code_minus_1_is_reported_as_255",
		  255, WEXITSTATUS(status_of(spawn(exit_with, -1))));
}

static void check_killed_by(const char *name, int sig, int status)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == sig)
		check_ok(name);
	else
		check_fail(name, "expected death by signal %d, got status %#x", sig, status);
}

static void signal_deaths_are_reported(void)
{
	pipe(release);
	pid_t pid = spawn(block_until_released, 0);
	int kill_ret = kill(pid, SIGKILL);
	int status = status_of(pid);
	close(release[0]);
	close(release[1]);
	EXPECT_EQ("kill_sigkill_on_a_child_succeeds", 0, kill_ret);
	check_killed_by("a_child_killed_by_sigkill_reports_wtermsig_9", SIGKILL, status);
	EXPECT_EQ("a_sigkill_death_is_encoded_as_the_bare_signal_number", SIGKILL, status);

	check_killed_by("a_child_that_dereferences_null_dies_of_sigsegv", SIGSEGV,
			status_of(spawn(dereference_null, 1)));
	check_killed_by("a_child_that_executes_ud2_dies_of_sigill", SIGILL,
			status_of(spawn(execute_ud2, 0)));
	check_killed_by("a_child_that_divides_by_zero_dies_of_sigfpe", SIGFPE,
			status_of(spawn(divide_by_zero, 0)));
}

static void wnohang_and_echild(void)
{
	pipe(release);
	pid_t pid = spawn(block_until_released, 0);
	int status = -1;
	pid_t early = wait4(pid, &status, WNOHANG, NULL);
	close(release[1]);
	pid_t late = wait4(pid, &status, 0, NULL);
	close(release[0]);
	EXPECT_EQ("wnohang_returns_0_while_the_child_runs", 0, early);
	EXPECT_EQ("a_blocking_wait_then_reaps_the_released_child", pid, late);
	EXPECT_EQ("the_released_child_exits_with_status_0", 0, status);

	pid_t none = wait4(-1, &status, 0, NULL);
	int err = errno;
	EXPECT_ERRNO("wait_with_no_children_fails_with_echild", ECHILD, none, err);
	none = wait4(-1, &status, WNOHANG, NULL);
	err = errno;
	EXPECT_ERRNO("wnohang_wait_with_no_children_fails_with_echild", ECHILD, none, err);
}

static void waitid_reports_siginfo(void)
{
	pid_t pid = spawn(exit_with, 7);
	siginfo_t info;
	memset(&info, 0, sizeof info);
	int ret = waitid(P_PID, pid, &info, WEXITED);
	EXPECT_EQ("waitid_p_pid_wexited_returns_0", 0, ret);
	EXPECT_EQ("waitid_reports_sigchld_as_si_signo", SIGCHLD, info.si_signo);
	EXPECT_EQ("waitid_reports_cld_exited_for_an_exit", CLD_EXITED, info.si_code);
	EXPECT_EQ("waitid_reports_the_exit_code_in_si_status", 7, info.si_status);
	EXPECT_EQ("waitid_reports_the_childs_pid", pid, info.si_pid);

	pipe(release);
	pid = spawn(block_until_released, 0);
	kill(pid, SIGKILL);
	memset(&info, 0, sizeof info);
	ret = waitid(P_ALL, 0, &info, WEXITED);
	close(release[0]);
	close(release[1]);
	EXPECT_EQ("waitid_p_all_returns_0", 0, ret);
	EXPECT_EQ("waitid_reports_cld_killed_for_a_signal_death", CLD_KILLED, info.si_code);
	EXPECT_EQ("waitid_reports_the_signal_in_si_status", SIGKILL, info.si_status);
	EXPECT_EQ("waitid_p_all_reports_the_pid_it_reaped", pid, info.si_pid);

	int err;
	ret = waitid(P_ALL, 0, &info, WEXITED);
	err = errno;
	EXPECT_ERRNO("waitid_with_no_children_fails_with_echild", ECHILD, ret, err);
}

int main(void)
{
	check_begin("exit_status");
	exit_codes_round_trip();
	signal_deaths_are_reported();
	wnohang_and_echild();
	waitid_reports_siginfo();
	return check_end();
}
