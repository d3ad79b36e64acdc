/*
 * conform_ids: process ids, groups and sessions, and who may signal whom,
 * with Linux's errno for each refusal: getpgid/getsid of a missing pid,
 * setpgid's EINVAL, ESRCH, EACCES (the child has exec'd), EPERM (another
 * session, a session leader), setsid by a group leader, and kill, tgkill
 * and tkill with pid 0, -1, -pgid, signal 0, bad signals and missing
 * targets, and as a user who may not signal root.
 */
#define _GNU_SOURCE
#include "check.h"

#include <limits.h>
#include <sys/syscall.h>

static pid_t missing_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void getters(void)
{
	pid_t gone = missing_pid();
	EXPECT_EQ("gettid_of_the_main_thread_is_the_pid", getpid(), syscall(SYS_gettid));
	EXPECT_EQ("getpgid_0_is_getpgrp", getpgrp(), getpgid(0));
	EXPECT_EQ("getsid_0_is_getsid_of_self", getsid(getpid()), getsid(0));
	EXPECT_FAILS("getpgid_of_a_missing_pid_gives_esrch", ESRCH, getpgid(gone));
	EXPECT_FAILS("getsid_of_a_missing_pid_gives_esrch", ESRCH, getsid(gone));
	EXPECT_FAILS("getpgid_of_a_negative_pid_gives_esrch", ESRCH, getpgid(-5));
	EXPECT_EQ("getpgid_of_self_by_pid_is_getpgrp", getpgrp(), getpgid(getpid()));
}

/* A child that waits on a pipe; exec'd into `sleeping` when asked. */
static pid_t child_waiting(int fd[2], int do_exec, int new_session)
{
	pipe(fd);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[1]);
		if (new_session)
			setsid();
		if (do_exec) {
			dup2(fd[0], 0);
			char *argv[] = {"/proc/self/exe", "wait_stdin", NULL};
			execve("/proc/self/exe", argv, environ);
			_exit(99);
		}
		char c;
		read(fd[0], &c, 1);
		_exit(0);
	}
	close(fd[0]);
	return pid;
}

static void release(pid_t pid, int fd[2])
{
	close(fd[1]);
	waitpid(pid, NULL, 0);
}

static void setpgid_rules(void)
{
	int fd[2];
	EXPECT_FAILS("setpgid_to_a_negative_group_gives_einval", EINVAL, setpgid(0, -1));
	EXPECT_FAILS("setpgid_of_a_missing_pid_gives_esrch", ESRCH, setpgid(missing_pid(), 0));
	EXPECT_FAILS("setpgid_of_the_parent_gives_esrch", ESRCH, setpgid(getppid(), 0));

	pid_t pid = child_waiting(fd, 0, 0);
	EXPECT_EQ("setpgid_of_a_child_to_its_own_group_returns_0", 0, setpgid(pid, pid));
	EXPECT_EQ("the_child_leads_a_new_group", pid, getpgid(pid));
	EXPECT_EQ("setpgid_back_to_our_group_returns_0", 0, setpgid(pid, getpgrp()));
	EXPECT_FAILS("setpgid_to_a_group_not_in_the_session_gives_eperm", EPERM,
		     setpgid(pid, missing_pid()));
	release(pid, fd);

	pid = child_waiting(fd, 1, 0);
	usleep(100000);
	EXPECT_FAILS("setpgid_of_a_child_after_its_exec_gives_eacces", EACCES, setpgid(pid, pid));
	release(pid, fd);

	pid = child_waiting(fd, 0, 1);
	usleep(50000);
	EXPECT_FAILS("setpgid_of_a_child_in_another_session_gives_eperm", EPERM,
		     setpgid(pid, pid));
	release(pid, fd);

	pid = fork();
	if (pid == 0) {
		pid_t sid = setsid();
		int ok = sid == getpid() && getpgrp() == getpid() && getsid(0) == getpid();
		errno = 0;
		int r = setpgid(0, 0);
		int leader_eperm = r == -1 && errno == EPERM;
		errno = 0;
		r = setsid();
		int again_eperm = r == -1 && errno == EPERM;
		_exit(ok | leader_eperm << 1 | again_eperm << 2);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	EXPECT_EQ("setsid_makes_the_caller_leader_of_a_session_and_group", 1,
		  WEXITSTATUS(st) & 1);
	EXPECT_EQ("setpgid_of_a_session_leader_gives_eperm", 2, WEXITSTATUS(st) & 2);
	EXPECT_EQ("setsid_of_a_group_leader_gives_eperm", 4, WEXITSTATUS(st) & 4);
}

static void signal_as_user(void)
{
	if (setuid(1234) != 0)
		_exit(9);
	EXPECT_FAILS("kill_of_a_root_process_as_another_user_gives_eperm", EPERM, kill(1, 0));
	EXPECT_FAILS("kill_of_a_root_process_with_a_real_signal_gives_eperm", EPERM,
		     kill(getppid(), SIGCONT) == 0 && 0 ? 0 : kill(1, SIGTERM));
	EXPECT_FAILS("tgkill_of_a_root_thread_gives_eperm", EPERM, syscall(SYS_tgkill, 1, 1, 0));
	/* Every process but ourselves belongs to root: -1 signals ourselves only. */
	signal(SIGUSR1, SIG_IGN);
	EXPECT_EQ("kill_minus_1_as_a_user_reaches_own_processes", 0, kill(-1, SIGUSR1));
}

static void kill_rules(void)
{
	pid_t gone = missing_pid();
	EXPECT_EQ("kill_of_self_with_signal_0_returns_0", 0, kill(getpid(), 0));
	EXPECT_EQ("kill_of_group_0_with_signal_0_returns_0", 0, kill(0, 0));
	EXPECT_EQ("kill_of_our_own_group_by_minus_pgid_returns_0", 0, kill(-getpgrp(), 0));
	EXPECT_FAILS("kill_with_signal_65_gives_einval", EINVAL, kill(getpid(), 65));
	EXPECT_FAILS("kill_with_signal_minus_1_gives_einval", EINVAL, kill(getpid(), -1));
	EXPECT_FAILS("kill_of_a_missing_pid_gives_esrch", ESRCH, kill(gone, 0));
	EXPECT_FAILS("kill_of_a_missing_group_gives_esrch", ESRCH, kill(-gone, 0));
	EXPECT_FAILS("kill_of_int_min_gives_esrch", ESRCH, kill(INT_MIN, 0));
	EXPECT_FAILS("kill_of_a_missing_pid_with_a_bad_signal_gives_esrch_first", ESRCH,
		     kill(gone, 99));
	EXPECT_FAILS("tgkill_with_tgid_0_gives_einval", EINVAL,
		     syscall(SYS_tgkill, 0, getpid(), 0));
	EXPECT_FAILS("tgkill_with_tid_0_gives_einval", EINVAL, syscall(SYS_tgkill, getpid(), 0, 0));
	EXPECT_FAILS("tgkill_with_a_bad_signal_gives_einval", EINVAL,
		     syscall(SYS_tgkill, getpid(), getpid(), 65));
	EXPECT_FAILS("tgkill_with_the_wrong_tgid_gives_esrch", ESRCH,
		     syscall(SYS_tgkill, getppid(), getpid(), 0));
	EXPECT_EQ("tgkill_of_self_with_signal_0_returns_0", 0,
		  syscall(SYS_tgkill, getpid(), getpid(), 0));
	EXPECT_FAILS("tkill_with_tid_0_gives_einval", EINVAL, syscall(SYS_tkill, 0, 0));
	EXPECT_FAILS("tkill_with_a_negative_tid_gives_einval", EINVAL, syscall(SYS_tkill, -1, 0));
	EXPECT_FAILS("tkill_of_a_missing_tid_gives_esrch", ESRCH, syscall(SYS_tkill, gone, 0));
	EXPECT_FAILS("tkill_with_a_bad_signal_gives_einval", EINVAL,
		     syscall(SYS_tkill, getpid(), 65));
	as_child(signal_as_user);
}

static void orphan_reparenting(void)
{
	int fd[2];
	pipe(fd);
	pid_t mid = fork();
	if (mid == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			usleep(50000);
			pid_t pp = getppid();
			write(fd[1], &pp, sizeof pp);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	pid_t pp = -1;
	read(fd[0], &pp, sizeof pp);
	/* Without a subreaper above us the orphan goes to init; the host may
	 * run us under one, so only its not being the dead parent is checked. */
	CHECK("an_orphan_s_getppid_is_no_longer_its_dead_parent", pp > 0 && pp != mid);
	close(fd[0]);
	close(fd[1]);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "wait_stdin") == 0) {
		char c;
		read(0, &c, 1);
		return 0;
	}
	check_begin("conform_ids");
	getters();
	setpgid_rules();
	kill_rules();
	orphan_reparenting();
	return check_end();
}
