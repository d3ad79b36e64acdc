/*
 * conform_wait: wait4 and waitid as Linux answers them: which options each
 * takes, what WNOHANG returns with nothing to collect, the siginfo waitid
 * fills for each way a child ends, the id types (P_ALL, P_PID, P_PGID with
 * 0, P_PIDFD), WNOWAIT, the rusage wait4 returns, and children reaped by
 * the kernel under SIGCHLD SIG_IGN or SA_NOCLDWAIT.
 */
#define _GNU_SOURCE
#include "check.h"

#include <limits.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void option_checks(void)
{
	siginfo_t si;
	EXPECT_FAILS("waitid_without_wexited_wstopped_or_wcontinued_gives_einval", EINVAL,
		     waitid(P_ALL, 0, &si, WNOHANG));
	EXPECT_FAILS("wait4_with_wnowait_gives_einval", EINVAL,
		     wait4(-1, NULL, WNOWAIT, NULL));
	EXPECT_FAILS("wait4_with_wexited_gives_einval", EINVAL, wait4(-1, NULL, WEXITED, NULL));
	EXPECT_FAILS("waitid_with_an_unknown_id_type_gives_einval", EINVAL,
		     waitid((idtype_t)7, 0, &si, WEXITED));
	EXPECT_FAILS("waitid_p_pid_0_gives_einval", EINVAL, waitid(P_PID, 0, &si, WEXITED));
	EXPECT_FAILS("waitid_p_pgid_negative_gives_einval", EINVAL,
		     syscall(SYS_waitid, P_PGID, -3, &si, WEXITED, NULL));
	EXPECT_FAILS("waitid_p_pidfd_of_a_bad_fd_gives_ebadf", EBADF,
		     waitid((idtype_t)P_PIDFD, 99, &si, WEXITED));
	EXPECT_FAILS("waitid_p_pidfd_of_a_plain_fd_gives_ebadf", EBADF,
		     waitid((idtype_t)P_PIDFD, 1, &si, WEXITED));
	EXPECT_FAILS("wait4_with_no_children_gives_echild", ECHILD, wait4(-1, NULL, 0, NULL));
	EXPECT_FAILS("waitid_with_no_children_gives_echild", ECHILD,
		     waitid(P_ALL, 0, &si, WEXITED));
	EXPECT_FAILS("wait4_of_int_min_gives_esrch", ESRCH, wait4(INT_MIN, NULL, 0, NULL));
}

static void wnohang(void)
{
	pid_t pid = child_exiting(3, 200);
	EXPECT_EQ("wait4_wnohang_with_a_running_child_returns_0", 0,
		  wait4(pid, NULL, WNOHANG, NULL));
	siginfo_t si;
	memset(&si, 0x5a, sizeof si);
	EXPECT_EQ("waitid_wnohang_with_a_running_child_returns_0", 0,
		  waitid(P_PID, pid, &si, WEXITED | WNOHANG));
	EXPECT_EQ("waitid_wnohang_leaves_si_pid_0", 0, si.si_pid);
	EXPECT_EQ("waitid_wnohang_leaves_si_signo_0", 0, si.si_signo);
	EXPECT_EQ("waitid_wnohang_leaves_si_status_0", 0, si.si_status);
	struct rusage ru;
	memset(&ru, 0x5a, sizeof ru);
	EXPECT_EQ("wait4_wnohang_with_rusage_returns_0", 0, wait4(pid, NULL, WNOHANG, &ru));
	EXPECT_EQ("wait4_wnohang_leaves_the_rusage_unwritten", 0x5a5a5a5a5a5a5a5aLL,
		  (long long)ru.ru_maxrss);
	EXPECT_EQ("the_child_is_collected_later", pid, waitpid(pid, NULL, 0));

	pid = fork();
	if (pid == 0) {
		setuid(4321);
		_exit(0);
	}
	memset(&si, 0, sizeof si);
	waitid(P_PID, pid, &si, WEXITED);
	EXPECT_EQ("waitid_si_uid_is_the_child_s_real_uid", 4321, si.si_uid);
}

static void siginfo_of_each_end(void)
{
	pid_t pid = child_exiting(5, 0);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wnowait_returns_0", 0, waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	EXPECT_EQ("waitid_si_pid_is_the_child", pid, si.si_pid);
	EXPECT_EQ("waitid_si_signo_is_sigchld", SIGCHLD, si.si_signo);
	EXPECT_EQ("waitid_si_code_is_cld_exited", CLD_EXITED, si.si_code);
	EXPECT_EQ("waitid_si_status_is_the_exit_code", 5, si.si_status);
	EXPECT_EQ("waitid_si_uid_is_the_child_s_uid", getuid(), si.si_uid);
	int st = 0;
	EXPECT_EQ("after_wnowait_the_child_is_still_there_to_wait", pid, waitpid(pid, &st, 0));
	EXPECT_EQ("and_its_status_is_unchanged", 5 << 8, st);

	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGKILL);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_of_a_killed_child_returns_0", 0, waitid(P_ALL, 0, &si, WEXITED));
	EXPECT_EQ("waitid_si_code_is_cld_killed", CLD_KILLED, si.si_code);
	EXPECT_EQ("waitid_si_status_is_the_signal", SIGKILL, si.si_status);

	/* The child exits only once the parent has seen it continued: a
	 * zombie is not waited for by WCONTINUED alone (Linux: ECHILD). */
	int go[2];
	if (pipe(go) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		raise(SIGSTOP);
		_exit(read(go[0], &c, 1) == 0 ? 9 : 8);
	}
	close(go[0]);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wstopped_returns_0", 0, waitid(P_PID, pid, &si, WSTOPPED));
	EXPECT_EQ("waitid_si_code_is_cld_stopped", CLD_STOPPED, si.si_code);
	EXPECT_EQ("waitid_stopped_si_status_is_the_stop_signal", SIGSTOP, si.si_status);
	kill(pid, SIGCONT);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wcontinued_returns_0", 0, waitid(P_PID, pid, &si, WCONTINUED));
	EXPECT_EQ("waitid_si_code_is_cld_continued", CLD_CONTINUED, si.si_code);
	EXPECT_EQ("waitid_continued_si_status_is_sigcont", SIGCONT, si.si_status);
	close(go[1]);
	EXPECT_EQ("the_continued_child_exits", pid, waitpid(pid, &st, 0));
	EXPECT_EQ("the_continued_child_status", 9 << 8, st);
}

static void id_types(void)
{
	pid_t pid = child_exiting(6, 0);
	siginfo_t si = {0};
	EXPECT_EQ("waitid_p_pgid_0_collects_a_child_in_our_group", 0,
		  waitid(P_PGID, 0, &si, WEXITED));
	EXPECT_EQ("waitid_p_pgid_0_collected_that_child", pid, si.si_pid);

	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		usleep(50000);
		_exit(7);
	}
	setpgid(pid, pid);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_p_pgid_of_the_child_s_group_returns_0", 0,
		  waitid(P_PGID, pid, &si, WEXITED));
	EXPECT_EQ("waitid_p_pgid_collected_the_child", pid, si.si_pid);

	pid = child_exiting(8, 0);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_p_pidfd_returns_0", 0, waitid((idtype_t)P_PIDFD, pidfd, &si, WEXITED));
	EXPECT_EQ("waitid_p_pidfd_collected_its_child", pid, si.si_pid);
	EXPECT_EQ("waitid_p_pidfd_status", 8, si.si_status);
	EXPECT_FAILS("waitid_p_pidfd_of_a_reaped_child_gives_echild", ECHILD,
		     waitid((idtype_t)P_PIDFD, pidfd, &si, WEXITED));
	close(pidfd);

	pid_t me = getpid();
	pid = fork();
	if (pid == 0) {
		int fd = (int)syscall(SYS_pidfd_open, me, 0);
		errno = 0;
		long r = waitid((idtype_t)P_PIDFD, fd, &si, WEXITED | WNOHANG);
		_exit(r == -1 && errno == ECHILD ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("waitid_p_pidfd_of_a_non_child_gives_echild", 0, st);
}

static void rusage_after_wait(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec a, b;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		do
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		while ((b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec < 100000000L);
		_exit(0);
	}
	struct rusage ru;
	memset(&ru, 0xff, sizeof ru);
	EXPECT_EQ("wait4_with_rusage_collects_the_child", pid, wait4(pid, NULL, 0, &ru));
	long us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L +
		  ru.ru_stime.tv_usec;
	CHECK("wait4_rusage_counts_the_child_s_100_ms_of_cpu", us >= 60000 && us < 1000000);
	CHECK("wait4_rusage_usec_is_below_a_million", ru.ru_utime.tv_usec < 1000000);
	CHECK("wait4_rusage_maxrss_is_in_kilobytes", ru.ru_maxrss >= 0 && ru.ru_maxrss < 1000000);
	EXPECT_EQ("wait4_rusage_ixrss_is_0", 0, ru.ru_ixrss);
	EXPECT_EQ("wait4_rusage_nswap_is_0", 0, ru.ru_nswap);

	pid = child_exiting(0, 0);
	siginfo_t si;
	memset(&ru, 0xff, sizeof ru);
	EXPECT_EQ("waitid_syscall_with_rusage_returns_0", 0,
		  syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &ru));
	CHECK("waitid_rusage_is_filled", ru.ru_utime.tv_usec < 1000000 && ru.ru_nswap == 0);
}

static void auto_reap(int with_ignore)
{
	struct sigaction sa = {0}, old;
	sa.sa_handler = with_ignore ? SIG_IGN : SIG_DFL;
	sa.sa_flags = with_ignore ? 0 : SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, &old);
	pid_t pid = child_exiting(1, 30);
	errno = 0;
	long r = waitpid(pid, NULL, 0);
	EXPECT_ERRNO(with_ignore ? "sigchld_sig_ign_children_are_reaped_then_wait_gives_echild"
				 : "sa_nocldwait_children_are_reaped_then_wait_gives_echild",
		     ECHILD, r, errno);
	/* ECHILD comes once the child is claimed (EXIT_DEAD); its pid is
	 * unhashed by release_task just after, on Linux too. */
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(10000);
	EXPECT_FAILS(with_ignore ? "sigchld_sig_ign_kill_of_the_reaped_child_gives_esrch"
				 : "sa_nocldwait_kill_of_the_reaped_child_gives_esrch",
		     ESRCH, kill(pid, 0));
	sigaction(SIGCHLD, &old, NULL);
}

int main(void)
{
	check_begin("conform_wait");
	option_checks();
	wnohang();
	siginfo_of_each_end();
	id_types();
	rusage_after_wait();
	auto_reap(1);
	auto_reap(0);
	return check_end();
}
