/*
 * clone_flags: clone(2) refuses flag combinations that make no sense, with
 * the errno Linux gives, before any child exists; and ignores
 * CLONE_DETACHED.
 *
 * The system call is made from inline assembly: should the kernel create a
 * child anyway, that child runs on the caller's stack (or none), so it must
 * not return into C. It exits at once with code CHILD_RAN, and the check
 * fails with the pid the kernel returned.
 */
#define _GNU_SOURCE
#include "check.h"
#include "raw_clone.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

static void expect_clone_fails(const char *name, unsigned long flags, int expected_errno)
{
	int parent_tid = 0;
	long ret = raw_clone(flags, &parent_tid);
	if (ret == -expected_errno) {
		check_ok(name);
		return;
	}
	if (ret > 0) {
		/* A child exists: reap it if it is ours (not for CLONE_THREAD). */
		waitpid((pid_t)ret, NULL, __WALL);
		check_fail(name, "expected %s, but clone created pid %ld (flags %#lx)",
			   strerrorname(expected_errno), ret, flags);
	} else {
		check_fail(name, "expected %s, got %s (flags %#lx)", strerrorname(expected_errno),
			   strerrorname((int)-ret), flags);
	}
}

static void invalid_combinations_fail(void)
{
	expect_clone_fails("clone_thread_without_clone_sighand_fails_with_einval",
			   CLONE_THREAD | CLONE_VM, EINVAL);
	expect_clone_fails("clone_sighand_without_clone_vm_fails_with_einval",
			   CLONE_SIGHAND, EINVAL);
	expect_clone_fails("clone_thread_and_sighand_without_clone_vm_fails_with_einval",
			   CLONE_THREAD | CLONE_SIGHAND, EINVAL);
	expect_clone_fails("clone_fs_with_clone_newns_fails_with_einval",
			   CLONE_FS | CLONE_NEWNS | SIGCHLD, EINVAL);
	expect_clone_fails("clone_pidfd_with_clone_parent_settid_fails_with_einval",
			   CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, EINVAL);
	expect_clone_fails("clone_newuser_with_clone_fs_fails_with_einval",
			   CLONE_NEWUSER | CLONE_FS | SIGCHLD, EINVAL);
	expect_clone_fails("a_thread_in_a_new_pid_namespace_fails_with_einval",
			   CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID, EINVAL);
	expect_clone_fails("a_thread_in_a_new_user_namespace_fails_with_einval",
			   CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUSER, EINVAL);
	int ret = waitpid(-1, NULL, __WALL | WNOHANG);
	int err = errno;
	EXPECT_ERRNO("no_child_was_created_by_the_failed_clones", ECHILD, ret, err);
}

static void clone_detached_is_ignored(void)
{
	long pid = raw_clone(CLONE_DETACHED | SIGCHLD, NULL);
	int status = -1;
	pid_t reaped = pid > 0 ? waitpid((pid_t)pid, &status, 0) : -1;
	CHECK("clone_with_clone_detached_creates_a_child_like_fork", pid > 0);
	EXPECT_EQ("the_clone_detached_child_is_reaped_by_a_plain_waitpid", pid, reaped);
	EXPECT_EQ("the_clone_detached_child_ran_and_exited", CHILD_RAN << 8, status);
}

int main(void)
{
	check_begin("clone_flags");
	invalid_combinations_fail();
	clone_detached_is_ignored();
	return check_end();
}
