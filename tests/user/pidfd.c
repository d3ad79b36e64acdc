/*
 * pidfd: a pidfd from pidfd_open or CLONE_PIDFD is not readable while the
 * process runs, becomes readable when it exits, and waitid(P_PIDFD) reaps
 * exactly that process with its status.
 */
#define _GNU_SOURCE
#include "check.h"
#include "raw_clone3.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(void)
{
	check_begin("pidfd");
	pid_t child = fork();
	if (child == 0) {
		sleep_ms(50);
		_exit(9);
	}
	int fd = syscall(SYS_pidfd_open, child, 0);
	CHECK("pidfd_open_returns_a_descriptor", fd >= 0);
	struct pollfd p = { fd, POLLIN, 0 };
	EXPECT_EQ("a_running_process_pidfd_is_not_readable", 0, poll(&p, 1, 0));
	EXPECT_EQ("the_pidfd_becomes_readable_when_the_process_exits", 1, poll(&p, 1, 5000));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_p_pidfd_succeeds", 0, waitid(P_PIDFD, fd, &si, WEXITED));
	EXPECT_EQ("waitid_p_pidfd_names_the_child", child, si.si_pid);
	EXPECT_EQ("waitid_p_pidfd_reports_the_exit_code", 9, si.si_status);
	EXPECT_EQ("waitid_p_pidfd_reports_cld_exited", CLD_EXITED, si.si_code);

	int pfd = -1;
	pid_t clone_child = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pfd, 0, 0);
	if (clone_child == 0)
		_exit(4);
	CHECK("clone_pidfd_stores_a_descriptor_through_parent_tid", pfd >= 0);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_on_the_clone_pidfd_succeeds", 0, waitid(P_PIDFD, pfd, &si, WEXITED));
	EXPECT_EQ("the_clone_pidfd_names_its_child", clone_child, si.si_pid);
	EXPECT_EQ("the_clone_pidfd_child_status_is_4", 4, si.si_status);
	EXPECT_ERRNO("pidfd_open_of_a_missing_pid_fails_with_esrch", ESRCH, syscall(SYS_pidfd_open, clone_child, 0), errno);

	/* clone3 stores the pidfd where its own pidfd field points. */
	int pfd3 = -1;
	uint64_t args[8] = { CLONE_PIDFD, (uintptr_t)&pfd3, 0, 0, SIGCHLD, 0, 0, 0 };
	long child3 = raw_clone3(args, sizeof args);
	CHECK("clone3_with_clone_pidfd_creates_a_child", child3 > 0);
	CHECK("clone3_stores_a_descriptor_through_its_pidfd_field", pfd3 >= 0);
	memset(&si, 0, sizeof si);
	EXPECT_EQ("waitid_on_the_clone3_pidfd_succeeds", 0, waitid(P_PIDFD, pfd3, &si, WEXITED));
	EXPECT_EQ("the_clone3_pidfd_names_its_child", child3, si.si_pid);
	EXPECT_EQ("the_clone3_pidfd_child_status_is_child_ran", CHILD_RAN, si.si_status);

	/* A pidfd that cannot be stored fails the clone before a child exists. */
	errno = 0;
	long bad = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, (void *)8, 0, 0);
	if (bad == 0)
		_exit(0);
	EXPECT_ERRNO("clone_pidfd_with_an_unwritable_pointer_fails_with_efault", EFAULT, bad, errno);
	errno = 0;
	long left = waitpid(-1, NULL, WNOHANG);
	EXPECT_ERRNO("the_clone_that_failed_with_efault_left_no_child", ECHILD, left, errno);
	return check_end();
}
