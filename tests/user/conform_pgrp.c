/*
 * conform_pgrp: a process group or session keeps the pid that names it.
 * After the process that created a group (or session) has been reaped,
 * its number stays taken while another process is in the group: clone3
 * cannot be given it (EEXIST), so no new process can set up a group or
 * session of the same id. Once the last member leaves, the number is
 * free again. Inside a pid namespace, the group is still seen by its
 * creator's number there: getpgid, kill(-pgid) and setpgid use it.
 * Run as root (clone3's set_tid and a new pid namespace need it).
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* struct clone_args, version 1 (with set_tid; include/uapi/linux/sched.h). */
struct clone_args_v1 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size;
};

/* Forks a child with pid `tid`: 0 when that worked (the child is
 * reaped), else the errno. */
static int fork_with_pid(pid_t tid)
{
	struct clone_args_v1 args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	waitpid(pid, NULL, 0);
	return 0;
}

/* A child that creates a group (or, with `session`, a session), forks
 * a member that sleeps in read(2) on `hold`, and exits; the caller reaps
 * it. Returns the member. */
static pid_t group_outliving_its_creator(int session, int hold[2], pid_t *creator)
{
	int report[2];
	pipe(report);
	pid_t c = fork();
	if (c == 0) {
		if (session)
			setsid();
		else
			setpgid(0, 0);
		pid_t member = fork();
		if (member == 0) {
			char b;
			close(hold[1]);
			read(hold[0], &b, 1);
			_exit(0);
		}
		write(report[1], &member, sizeof member);
		_exit(0);
	}
	pid_t member = 0;
	read_full(report[0], &member, sizeof member);
	waitpid(c, NULL, 0);
	close(report[0]);
	close(report[1]);
	*creator = c;
	return member;
}

static void kept_while_used(int session, const char *kind)
{
	/* The member is reparented to us, so that we can reap it. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int hold[2];
	pipe(hold);
	pid_t creator;
	pid_t member = group_outliving_its_creator(session, hold, &creator);
	char name[128];
	snprintf(name, sizeof name, "the_member_is_still_in_the_reaped_creator_s_%s", kind);
	EXPECT_EQ(name, creator, session ? getsid(member) : getpgid(member));
	snprintf(name, sizeof name, "a_reaped_creator_s_pid_stays_taken_while_its_%s_lives", kind);
	EXPECT_EQ(name, EEXIST, fork_with_pid(creator));
	close(hold[1]);
	waitpid(member, NULL, 0);
	snprintf(name, sizeof name, "the_pid_is_free_again_once_the_%s_is_empty", kind);
	EXPECT_EQ(name, 0, fork_with_pid(creator));
	close(hold[0]);
}

static void group_pid_kept(void)
{
	kept_while_used(0, "group");
}

static void session_pid_kept(void)
{
	kept_while_used(1, "session");
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* Pid 1 of a new namespace: a reaped creator's group, seen from inside. */
static int namespace_init(void)
{
	int hold[2];
	pipe(hold);
	pid_t creator;
	signal(SIGUSR1, SIG_IGN);
	pid_t member = group_outliving_its_creator(0, hold, &creator);
	EXPECT_EQ("in_a_pid_namespace_getpgid_gives_the_reaped_creator_s_number", creator,
		  getpgid(member));
	EXPECT_EQ("in_a_pid_namespace_kill_0_of_the_group_finds_it", 0, kill(-creator, 0));
	int ready[2];
	pipe(ready);
	pid_t other = fork();
	if (other == 0) {
		signal(SIGUSR1, on_usr1);
		write(ready[1], "r", 1);
		for (long end = now_ms() + 5000; !got_usr1 && now_ms() < end;)
			sleep_ms(5);
		_exit(got_usr1 ? 0 : 1);
	}
	char c;
	read(ready[0], &c, 1);
	EXPECT_EQ("in_a_pid_namespace_setpgid_joins_the_group", 0, setpgid(other, creator));
	EXPECT_EQ("in_a_pid_namespace_kill_of_the_group_succeeds", 0, kill(-creator, SIGUSR1));
	int status = -1;
	waitpid(other, &status, 0);
	CHECK("in_a_pid_namespace_kill_of_the_group_reaches_a_member", exited_with(status, 0));
	close(hold[1]);
	waitpid(member, NULL, 0);
	return check_end();
}

static void group_in_a_pid_namespace(void)
{
	if (unshare(CLONE_NEWPID) != 0) {
		check_fail("in_a_pid_namespace_getpgid_gives_the_reaped_creator_s_number",
			   "unshare: %s", strerrorname(errno));
		return;
	}
	pid_t init = fork();
	if (init == 0)
		_exit(namespace_init());
	int status = -1;
	waitpid(init, &status, 0);
	CHECK("the_namespace_s_checks_ran", exited_with(status, 0));
}

int main(void)
{
	check_begin("conform_pgrp");
	as_child(group_pid_kept);
	as_child(session_pid_kept);
	as_child(group_in_a_pid_namespace);
	return check_end();
}
