/*
 * conform_waitid: the corners of wait4 and waitid that conform_wait leaves
 * out, as Linux's do_wait() answers them: a zombie is nothing to wait for
 * without WEXITED (ECHILD, not a sleep); a bad status, rusage or siginfo
 * pointer fails with EFAULT only after the child is reaped; waitid writes
 * its six siginfo fields even when it fails, and nothing else; stopped and
 * continued reports under WNOWAIT; exit_signal 0 children; another
 * thread's children under __WNOTHREAD; the id checks; PIDFD_NONBLOCK.
 */
#define _GNU_SOURCE
#include "check.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "raw_clone.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

/* An unmapped user address, and one in the kernel's half. */
#define BAD_USER ((void *)8)
#define BAD_KERNEL ((void *)0xffffffff80000000UL)

static long sys_waitid(int which, pid_t id, siginfo_t *si, int options, struct rusage *ru)
{
	return syscall(SYS_waitid, which, id, si, options, ru);
}

/* A child that has exited and is a zombie: WNOWAIT waits for it without
 * collecting it. */
static pid_t zombie_child(int code)
{
	pid_t pid = child_exiting(code, 0);
	siginfo_t si;
	sys_waitid(P_PID, pid, &si, WEXITED | WNOWAIT, NULL);
	return pid;
}

/* Linux: wait_task_zombie() returns 0 without WEXITED and leaves
 * notask_error at ECHILD: a zombie is nothing WSTOPPED or WCONTINUED can
 * ever report. */
static void zombie_without_wexited(void)
{
	pid_t pid = zombie_child(4);
	siginfo_t si;
	EXPECT_FAILS("waitid_wcontinued_with_only_a_zombie_child_gives_echild", ECHILD,
		     sys_waitid(P_ALL, 0, &si, WCONTINUED, NULL));
	EXPECT_FAILS("waitid_wstopped_with_only_a_zombie_child_gives_echild", ECHILD,
		     sys_waitid(P_ALL, 0, &si, WSTOPPED, NULL));
	EXPECT_FAILS("waitid_wcontinued_wnohang_with_only_a_zombie_gives_echild", ECHILD,
		     sys_waitid(P_ALL, 0, &si, WCONTINUED | WNOHANG, NULL));
	EXPECT_FAILS("waitid_wstopped_wnohang_with_only_a_zombie_gives_echild", ECHILD,
		     sys_waitid(P_ALL, 0, &si, WSTOPPED | WNOHANG, NULL));
	EXPECT_FAILS("waitid_p_pid_of_a_zombie_without_wexited_gives_echild", ECHILD,
		     sys_waitid(P_PID, pid, &si, WSTOPPED | WCONTINUED, NULL));

	/* A living child is something to wait for: WNOHANG returns 0. */
	pid_t alive = child_exiting(0, 300);
	memset(&si, 0x5a, sizeof si);
	EXPECT_EQ("waitid_wstopped_wnohang_with_a_zombie_and_a_living_child_returns_0", 0,
		  sys_waitid(P_ALL, 0, &si, WSTOPPED | WNOHANG, NULL));
	EXPECT_EQ("and_reports_no_child", 0, si.si_pid);
	int st = -1;
	EXPECT_EQ("the_zombie_is_still_there_for_wexited", pid, waitpid(pid, &st, 0));
	EXPECT_EQ("the_zombie_s_status_is_its_exit_code", 4 << 8, st);

	/* Waiting for a stop of a child that exits instead: the sleep ends
	 * in ECHILD once it is a zombie. */
	EXPECT_FAILS("waitid_wstopped_for_a_child_that_exits_gives_echild", ECHILD,
		     sys_waitid(P_PID, alive, &si, WSTOPPED, NULL));
	EXPECT_EQ("which_is_then_collected", alive, waitpid(alive, NULL, 0));
}

/* Linux: kernel_wait4() reaps, then put_user() of the status fails; the
 * rusage is copied after the status. */
static void wait4_bad_pointers(void)
{
	pid_t pid = zombie_child(1);
	EXPECT_FAILS("wait4_with_an_unmapped_status_gives_efault", EFAULT,
		     wait4(pid, BAD_USER, 0, NULL));
	EXPECT_FAILS("after_which_the_child_is_reaped", ECHILD, waitpid(pid, NULL, WNOHANG));

	pid = zombie_child(1);
	EXPECT_FAILS("wait4_with_a_kernel_status_pointer_gives_efault", EFAULT,
		     wait4(pid, BAD_KERNEL, 0, NULL));
	EXPECT_FAILS("after_which_that_child_is_reaped_too", ECHILD, waitpid(pid, NULL, WNOHANG));

	pid = zombie_child(2);
	int st = -1;
	EXPECT_FAILS("wait4_with_an_unmapped_rusage_gives_efault", EFAULT,
		     wait4(pid, &st, 0, BAD_USER));
	EXPECT_EQ("the_status_was_written_before_the_rusage", 2 << 8, st);
	EXPECT_FAILS("and_the_child_is_reaped", ECHILD, waitpid(pid, NULL, WNOHANG));

	pid = child_exiting(0, 200);
	EXPECT_EQ("wait4_wnohang_with_a_bad_status_and_nothing_to_report_returns_0", 0,
		  wait4(pid, BAD_USER, WNOHANG, BAD_USER));
	waitpid(pid, NULL, 0);
}

/* Linux: SYSCALL_DEFINE5(waitid) copies the rusage, then writes si_signo,
 * si_errno, si_code, si_pid, si_uid and si_status, whatever
 * kernel_waitid() returned. */
static void waitid_bad_pointers(void)
{
	pid_t pid = zombie_child(3);
	EXPECT_FAILS("waitid_with_an_unmapped_siginfo_gives_efault", EFAULT,
		     sys_waitid(P_PID, pid, BAD_USER, WEXITED, NULL));
	EXPECT_FAILS("after_which_the_waitid_child_is_reaped", ECHILD, waitpid(pid, NULL, WNOHANG));

	pid = zombie_child(3);
	siginfo_t si;
	memset(&si, 0x5a, sizeof si);
	EXPECT_FAILS("waitid_with_an_unmapped_rusage_gives_efault", EFAULT,
		     sys_waitid(P_PID, pid, &si, WEXITED, BAD_USER));
	EXPECT_EQ("the_siginfo_is_left_unwritten", 0x5a5a5a5a, si.si_pid);
	EXPECT_FAILS("and_that_child_is_reaped", ECHILD, waitpid(pid, NULL, WNOHANG));

	EXPECT_FAILS("waitid_with_no_children_and_a_bad_siginfo_gives_efault", EFAULT,
		     sys_waitid(P_ALL, 0, BAD_USER, WEXITED, NULL));
	EXPECT_FAILS("waitid_with_bad_options_and_a_bad_siginfo_gives_efault", EFAULT,
		     sys_waitid(P_ALL, 0, BAD_USER, 0, NULL));
	EXPECT_FAILS("waitid_with_a_kernel_siginfo_pointer_gives_efault", EFAULT,
		     sys_waitid(P_ALL, 0, BAD_KERNEL, WEXITED, NULL));

	pid = zombie_child(0);
	EXPECT_EQ("waitid_with_no_siginfo_reaps", 0, sys_waitid(P_PID, pid, NULL, WEXITED, NULL));
	EXPECT_FAILS("the_child_it_reaped", ECHILD, waitpid(pid, NULL, WNOHANG));
}

/* The bytes of a siginfo at `off`, as a long long. */
static long long si_word(const siginfo_t *si, size_t off)
{
	long long w;
	memcpy(&w, (const char *)si + off, sizeof w);
	return w;
}

static void siginfo_fields(void)
{
	pid_t pid = zombie_child(7);
	siginfo_t si;
	memset(&si, 0x5a, sizeof si);
	EXPECT_EQ("waitid_collects_an_exited_child", 0, sys_waitid(P_PID, pid, &si, WEXITED, NULL));
	EXPECT_EQ("waitid_si_errno_is_0", 0, si.si_errno);
	EXPECT_EQ("waitid_si_status_is_the_exit_code", 7, si.si_status);
	EXPECT_EQ("waitid_leaves_si_utime_unwritten", 0x5a5a5a5a5a5a5a5aLL, si_word(&si, 32));
	EXPECT_EQ("waitid_leaves_the_rest_of_the_siginfo_unwritten", 0x5a5a5a5a5a5a5a5aLL,
		  si_word(&si, 64));

	memset(&si, 0x5a, sizeof si);
	EXPECT_FAILS("waitid_with_no_children_gives_echild", ECHILD,
		     sys_waitid(P_ALL, 0, &si, WEXITED, NULL));
	EXPECT_EQ("a_failed_waitid_still_zeroes_si_signo", 0, si.si_signo);
	EXPECT_EQ("a_failed_waitid_still_zeroes_si_code", 0, si.si_code);
	EXPECT_EQ("a_failed_waitid_still_zeroes_si_pid", 0, si.si_pid);
	EXPECT_EQ("a_failed_waitid_still_zeroes_si_status", 0, si.si_status);
	EXPECT_EQ("a_failed_waitid_leaves_si_utime_unwritten", 0x5a5a5a5a5a5a5a5aLL,
		  si_word(&si, 32));
	memset(&si, 0x5a, sizeof si);
	EXPECT_FAILS("waitid_with_options_0_gives_einval", EINVAL,
		     sys_waitid(P_ALL, 0, &si, 0, NULL));
	EXPECT_EQ("an_einval_waitid_still_zeroes_si_pid", 0, si.si_pid);
}

/* Stop and continue reports, each seen twice under WNOWAIT and once
 * without. */
static void stop_and_continue(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	kill(pid, SIGSTOP);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wstopped_wnowait_returns_0", 0,
		  sys_waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT, NULL));
	EXPECT_EQ("waitid_wstopped_wnowait_si_code_is_cld_stopped", CLD_STOPPED, si.si_code);
	EXPECT_EQ("waitid_wstopped_wnowait_si_status_is_sigstop", SIGSTOP, si.si_status);
	EXPECT_EQ("waitid_wstopped_si_uid_is_ours", getuid(), si.si_uid);
	int st = 0;
	EXPECT_EQ("after_wnowait_wait4_wuntraced_still_sees_the_stop", pid,
		  wait4(pid, &st, WUNTRACED, NULL));
	EXPECT_EQ("wait4_stop_status_is_sigstop_lt_lt_8_or_0x7f", (SIGSTOP << 8) | 0x7f, st);
	memset(&si, 0x5a, sizeof si);
	EXPECT_EQ("a_stop_is_reported_once", 0,
		  sys_waitid(P_PID, pid, &si, WSTOPPED | WNOHANG, NULL));
	EXPECT_EQ("a_reported_stop_leaves_si_pid_0", 0, si.si_pid);

	kill(pid, SIGCONT);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wcontinued_wnowait_returns_0", 0,
		  sys_waitid(P_PID, pid, &si, WCONTINUED | WNOWAIT, NULL));
	EXPECT_EQ("waitid_wcontinued_wnowait_si_code_is_cld_continued", CLD_CONTINUED, si.si_code);
	EXPECT_EQ("waitid_wcontinued_wnowait_si_pid_is_the_child", pid, si.si_pid);
	st = 0;
	EXPECT_EQ("after_wnowait_wait4_wcontinued_still_sees_it", pid,
		  wait4(pid, &st, WCONTINUED, NULL));
	EXPECT_EQ("wait4_continued_status_is_0xffff", 0xffff, st);
	EXPECT_EQ("a_continue_is_reported_once", 0,
		  wait4(pid, &st, WCONTINUED | WUNTRACED | WNOHANG, NULL));

	kill(pid, SIGKILL);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wexited_wstopped_wcontinued_collects_the_killed_child", 0,
		  sys_waitid(P_PID, pid, &si, WEXITED | WSTOPPED | WCONTINUED, NULL));
	EXPECT_EQ("its_si_code_is_cld_killed", CLD_KILLED, si.si_code);
}

/* Linux: do_notify_parent() reaps automatically only a child reporting
 * with SIGCHLD; an exit_signal of 0 makes a "clone" child that stays a
 * zombie, even with SIGCHLD ignored. */
static void exit_signal_zero(void)
{
	signal(SIGCHLD, SIG_IGN);
	long pid = raw_clone(0, NULL);
	if (pid < 0) {
		check_fail("clone_with_exit_signal_0", "clone: %ld", pid);
		signal(SIGCHLD, SIG_DFL);
		return;
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wall_wnowait_sees_an_exit_signal_0_child_exit", 0,
		  sys_waitid(P_PID, (pid_t)pid, &si, WEXITED | WNOWAIT | __WALL, NULL));
	EXPECT_EQ("it_is_not_reaped_with_sigchld_ignored", (pid_t)pid, si.si_pid);
	EXPECT_FAILS("wait4_without_wclone_does_not_see_it", ECHILD,
		     wait4((pid_t)pid, NULL, WNOHANG, NULL));
	int st = 0;
	EXPECT_EQ("wait4_wclone_collects_it", pid, wait4((pid_t)pid, &st, __WCLONE, NULL));
	EXPECT_EQ("with_its_exit_code", CHILD_RAN << 8, st);
	signal(SIGCHLD, SIG_DFL);
}

static pid_t thread_child;
static int thread_go[2], thread_done[2];

static void *forking_thread(void *arg)
{
	(void)arg;
	thread_child = child_exiting(9, 0);
	char c = 0;
	if (write(thread_done[1], &c, 1) != 1 || read(thread_go[0], &c, 1) != 1)
		return NULL;
	return NULL;
}

/* A child forked by another thread of ours: __WNOTHREAD does not see it,
 * a plain wait does. */
static void wnothread(void)
{
	pthread_t t;
	if (pipe(thread_go) < 0 || pipe(thread_done) < 0 ||
	    pthread_create(&t, NULL, forking_thread, NULL) != 0) {
		check_fail("a_thread_forks", "pipe or pthread_create failed");
		return;
	}
	char c;
	if (read(thread_done[0], &c, 1) != 1)
		return;
	siginfo_t si;
	EXPECT_EQ("waitid_wnowait_sees_the_child_of_another_thread", 0,
		  sys_waitid(P_PID, thread_child, &si, WEXITED | WNOWAIT, NULL));
	EXPECT_FAILS("wait4_wnothread_does_not_see_another_thread_s_child", ECHILD,
		     wait4(-1, NULL, __WNOTHREAD | WNOHANG, NULL));
	EXPECT_FAILS("waitid_p_pid_wnothread_does_not_see_it_either", ECHILD,
		     sys_waitid(P_PID, thread_child, &si, WEXITED | __WNOTHREAD, NULL));
	int st = 0;
	EXPECT_EQ("wait4_without_wnothread_collects_it", thread_child, wait4(-1, &st, 0, NULL));
	EXPECT_EQ("the_other_thread_s_child_status_is_its_exit_code", 9 << 8, st);
	if (write(thread_go[1], &c, 1) != 1)
		return;
	pthread_join(t, NULL);
}

static void id_checks(void)
{
	siginfo_t si;
	EXPECT_FAILS("waitid_with_an_unknown_option_bit_gives_einval", EINVAL,
		     sys_waitid(P_ALL, 0, &si, WEXITED | 0x10, NULL));
	EXPECT_FAILS("wait4_with_an_unknown_option_bit_gives_einval", EINVAL,
		     wait4(-1, NULL, 0x10, NULL));
	EXPECT_FAILS("wait4_of_int_min_with_a_bad_option_gives_einval_first", EINVAL,
		     wait4(INT_MIN, NULL, 0x10, NULL));
	EXPECT_FAILS("waitid_p_pid_int_min_gives_einval", EINVAL,
		     sys_waitid(P_PID, INT_MIN, &si, WEXITED, NULL));
	EXPECT_FAILS("waitid_p_pgid_int_min_gives_einval", EINVAL,
		     sys_waitid(P_PGID, INT_MIN, &si, WEXITED, NULL));
	EXPECT_FAILS("waitid_p_pidfd_negative_gives_einval", EINVAL,
		     sys_waitid(P_PIDFD, -1, &si, WEXITED, NULL));
	EXPECT_FAILS("waitid_p_pidfd_bad_fd_with_bad_options_gives_einval", EINVAL,
		     sys_waitid(P_PIDFD, 99, &si, 0, NULL));

	pid_t pid = child_exiting(0, 100);
	EXPECT_FAILS("wait4_of_int_min_plus_1_a_group_nobody_has_gives_echild", ECHILD,
		     wait4(INT_MIN + 1, NULL, 0, NULL));
	EXPECT_FAILS("wait4_of_a_pid_nobody_has_gives_echild", ECHILD,
		     wait4(INT_MAX, NULL, WNOHANG, NULL));
	EXPECT_FAILS("waitid_p_pgid_of_a_group_nobody_has_gives_echild", ECHILD,
		     sys_waitid(P_PGID, INT_MAX, &si, WEXITED | WNOHANG, NULL));
	EXPECT_EQ("wait4_0_collects_a_child_in_our_group", pid, wait4(0, NULL, 0, NULL));
}

/* In a process group of its own, P_PGID 0 means that group (Linux:
 * get_task_pid(current, PIDTYPE_PGID)), not group 0. */
static void p_pgid_0_in_a_new_group(void)
{
	setpgid(0, 0);
	pid_t pid = child_exiting(3, 0);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_p_pgid_0_in_a_new_group_returns_0", 0,
		  sys_waitid(P_PGID, 0, &si, WEXITED, NULL));
	EXPECT_EQ("waitid_p_pgid_0_collects_the_child_in_our_new_group", pid, si.si_pid);
	pid = child_exiting(4, 0);
	EXPECT_EQ("wait4_0_in_a_new_group_collects_its_child", pid, wait4(0, NULL, 0, NULL));
}

/* Linux: kernel_waitid() makes a PIDFD_NONBLOCK pidfd's wait WNOHANG, and
 * nothing to report without WNOHANG EAGAIN. */
static void pidfd_nonblock(void)
{
	int go[2];
	if (pipe(go) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		_exit(read(go[0], &c, 1) == 0 ? 5 : 6);
	}
	close(go[0]);
	int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_NONBLOCK);
	siginfo_t si;
	EXPECT_FAILS("waitid_p_pidfd_nonblock_of_a_living_child_gives_eagain", EAGAIN,
		     sys_waitid(P_PIDFD, fd, &si, WEXITED, NULL));
	memset(&si, 0x5a, sizeof si);
	EXPECT_EQ("waitid_p_pidfd_nonblock_wnohang_returns_0", 0,
		  sys_waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG, NULL));
	EXPECT_EQ("and_the_nonblocking_wait_reports_no_child", 0, si.si_pid);
	close(go[1]);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_wnowait_waits_for_the_child_s_exit", 0,
		  sys_waitid(P_PID, pid, &si, WEXITED | WNOWAIT, NULL));
	EXPECT_EQ("waitid_p_pidfd_nonblock_collects_the_exited_child", 0,
		  sys_waitid(P_PIDFD, fd, &si, WEXITED, NULL));
	EXPECT_EQ("the_pidfd_child_s_status_is_its_exit_code", 5, si.si_status);
	close(fd);
}

/* One round: a child traced by its sibling exits; the real parent polls
 * with WNOHANG while the tracer collects the exit and hands the zombie
 * back. Returns the child's status as the real parent saw it, -1 for an
 * ECHILD on the way (Linux: EXIT_TRACE clears notask_error), -2 when the
 * round could not be set up. */
static int traced_exit_round(void)
{
	int go[2], ready[2];
	if (pipe(go) < 0 || pipe(ready) < 0)
		return -2;
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(go[1]);
		_exit(read(go[0], &c, 1) == 0 ? 5 : 6);
	}
	pid_t tracer = fork();
	if (tracer == 0) {
		close(go[1]);
		char c = ptrace(PTRACE_SEIZE, child, 0, 0) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		_exit(waitpid(child, NULL, __WALL) == child ? 0 : 2);
	}
	char c = 'n';
	int ok = read(ready[0], &c, 1) == 1 && c == 'y';
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	int st = -2;
	pid_t got = 0;
	for (int i = 0; ok && got == 0 && i < 200000; i++) {
		got = waitpid(child, &st, WNOHANG);
		if (got == 0)
			sched_yield();
	}
	if (got != child)
		st = got == -1 ? -1 : -2;
	if (!ok)
		kill(child, SIGKILL);
	waitpid(child, NULL, WNOHANG);
	waitpid(tracer, NULL, 0);
	return st;
}

/* Linux: the tracer claims the zombie as EXIT_TRACE, and its real parent
 * waits on until wait_task_zombie() hands it over. */
static void traced_exit_handed_back(void)
{
	int bad = 0, last = 0;
	for (int i = 0; i < 20; i++) {
		int st = traced_exit_round();
		if (st != 5 << 8) {
			bad++;
			last = st;
		}
	}
	EXPECT_EQ("a_real_parent_polling_while_the_tracer_reaps_gets_the_exit_20_times", 0, bad);
	if (bad)
		say("    last bad round: %d\n", last);
}

int main(void)
{
	check_begin("conform_waitid");
	zombie_without_wexited();
	wait4_bad_pointers();
	waitid_bad_pointers();
	siginfo_fields();
	stop_and_continue();
	exit_signal_zero();
	wnothread();
	id_checks();
	as_child(p_pgid_0_in_a_new_group);
	pidfd_nonblock();
	traced_exit_handed_back();
	return check_end();
}
