/*
 * clone3: the extensible clone. The kernel reads `size` bytes of struct
 * clone_args, refuses sizes it cannot make sense of and non-zero bytes it
 * does not know, and otherwise behaves as clone(2).
 *
 * Checks that must fail go through inline assembly, like clone_flags.c:
 * should the kernel create a child anyway, it records its stack pointer
 * and exits with code CHILD_RAN without touching memory otherwise.
 */
#define _GNU_SOURCE
#include "check.h"
#include "raw_clone3.h"

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define CLONE_ARGS_SIZE_VER0 64
#define CLONE_ARGS_SIZE_VER2 88
#define STACK_SIZE (64 * 1024)

/* struct clone_args, version 2 (include/uapi/linux/sched.h). */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

/* Room for a page-and-a-bit of arguments, all zero unless a test says so. */
static union {
	struct clone_args_v2 args;
	unsigned char bytes[8192];
} buf __attribute__((aligned(4096)));

static char child_stack[STACK_SIZE] __attribute__((aligned(16)));

static void reset_args(void)
{
	memset(&buf, 0, sizeof buf);
	buf.args.exit_signal = SIGCHLD;
}

static void expect_clone3_fails(const char *name, void *args, unsigned long size,
				int expected_errno)
{
	long ret = raw_clone3(args, size);
	if (ret == -expected_errno) {
		check_ok(name);
		return;
	}
	if (ret > 0) {
		waitpid((pid_t)ret, NULL, __WALL | WNOHANG);
		check_fail(name, "expected %s, but clone3 created pid %ld (size %lu)",
			   strerrorname(expected_errno), ret, size);
	} else {
		check_fail(name, "expected %s, got %s (size %lu)", strerrorname(expected_errno),
			   strerrorname((int)-ret), size);
	}
}

static void bad_sizes_and_arguments_are_refused(void)
{
	reset_args();
	expect_clone3_fails("a_size_smaller_than_the_first_version_fails_with_einval", &buf,
			    CLONE_ARGS_SIZE_VER0 - 8, EINVAL);
	expect_clone3_fails("a_size_of_zero_fails_with_einval", &buf, 0, EINVAL);
	expect_clone3_fails("a_size_larger_than_a_page_fails_with_e2big", &buf, 4097, E2BIG);
	buf.bytes[100] = 1;
	expect_clone3_fails("non_zero_bytes_past_the_known_struct_fail_with_e2big", &buf, 128,
			    E2BIG);
	reset_args();
	expect_clone3_fails("an_unreadable_struct_fails_with_efault", (void *)8,
			    CLONE_ARGS_SIZE_VER0, EFAULT);
	buf.args.exit_signal = 65;
	expect_clone3_fails("an_exit_signal_above_64_fails_with_einval", &buf,
			    CLONE_ARGS_SIZE_VER0, EINVAL);
	reset_args();
	buf.args.flags = SIGCHLD;
	expect_clone3_fails("an_exit_signal_in_the_flags_fails_with_einval", &buf,
			    CLONE_ARGS_SIZE_VER0, EINVAL);
	reset_args();
	buf.args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	expect_clone3_fails("a_thread_with_an_exit_signal_fails_with_einval", &buf,
			    CLONE_ARGS_SIZE_VER0, EINVAL);
	reset_args();
	buf.args.stack = (uintptr_t)child_stack;
	expect_clone3_fails("a_stack_without_a_stack_size_fails_with_einval", &buf,
			    CLONE_ARGS_SIZE_VER0, EINVAL);
	int ret = waitpid(-1, NULL, __WALL | WNOHANG);
	int err = errno;
	EXPECT_ERRNO("no_child_was_created_by_the_refused_calls", ECHILD, ret, err);
}

struct child_view {
	pid_t pid, ppid;
};

/* clone3 through libc's syscall(): returns in the child as fork does. */
static void behaves_like_fork(const char *what, unsigned long size)
{
	char name[160];
	int p[2];
	pipe(p);
	reset_args();
	long ret = syscall(SYS_clone3, &buf, size);
	if (ret == 0) {
		struct child_view v = { getpid(), getppid() };
		write(p[1], &v, sizeof v);
		_exit(3);
	}
	close(p[1]);
	struct child_view v = { -1, -1 };
	read_full(p[0], &v, sizeof v);
	close(p[0]);
	int status = -1;
	pid_t reaped = ret > 0 ? waitpid((pid_t)ret, &status, 0) : -1;

	snprintf(name, sizeof name, "clone3_with_%s_returns_a_positive_pid_in_the_parent", what);
	if (ret > 0)
		check_ok(name);
	else
		check_fail(name, "clone3 returned %ld, errno %s", ret, strerrorname(errno));
	snprintf(name, sizeof name, "clone3_with_%s_returns_zero_in_a_child_with_that_pid", what);
	EXPECT_EQ(name, ret, v.pid);
	snprintf(name, sizeof name, "the_clone3_child_made_with_%s_is_a_child_of_the_caller", what);
	EXPECT_EQ(name, getpid(), v.ppid);
	snprintf(name, sizeof name, "waitpid_reaps_the_clone3_child_made_with_%s", what);
	EXPECT_EQ(name, ret, reaped);
	snprintf(name, sizeof name, "the_exit_code_of_the_clone3_child_made_with_%s_is_reported",
		 what);
	EXPECT_EQ(name, 3 << 8, status);
}

static void a_vfork_child_starts_on_the_given_stack(void)
{
	reset_args();
	buf.args.flags = CLONE_VM | CLONE_VFORK;
	buf.args.stack = (uintptr_t)child_stack;
	buf.args.stack_size = STACK_SIZE;
	child_rsp = 0;
	long ret = raw_clone3(&buf, CLONE_ARGS_SIZE_VER0);
	unsigned long rsp = child_rsp; /* CLONE_VFORK: the child has exited */
	int status = -1;
	pid_t reaped = ret > 0 ? waitpid((pid_t)ret, &status, 0) : -1;

	CHECK("clone3_with_clone_vm_clone_vfork_and_a_stack_returns_a_positive_pid", ret > 0);
	EXPECT_EQ("the_child_starts_with_its_stack_pointer_at_stack_plus_stack_size",
		  (uintptr_t)child_stack + STACK_SIZE, rsp);
	EXPECT_EQ("waitpid_reaps_the_clone3_vfork_child", ret, reaped);
	EXPECT_EQ("the_clone3_vfork_child_exit_code_is_reported", CHILD_RAN << 8, status);
}

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

/* clone3 of the struct in `buf` with `size`: the child exits with what
 * `child` returns; the parent gets its wait status, or -errno. */
static int clone3_status(unsigned long size, int (*child)(void))
{
	long ret = syscall(SYS_clone3, &buf, size);
	if (ret == 0)
		_exit(child());
	if (ret < 0)
		return -errno;
	int status = -1;
	waitpid((pid_t)ret, &status, 0);
	return status;
}

static int exit_0(void)
{
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* 0 if SIGUSR1 is back to SIG_DFL and SIGUSR2 still ignored. */
static int handlers_cleared(void)
{
	struct sigaction usr1, usr2;
	sigaction(SIGUSR1, NULL, &usr1);
	sigaction(SIGUSR2, NULL, &usr2);
	return usr1.sa_handler == SIG_DFL && usr2.sa_handler == SIG_IGN ? 0 : 1;
}

/* Exactly `size` bytes are read, even when it ends inside a field. */
static void sizes_inside_a_field_and_clear_sighand(void)
{
	reset_args();
	buf.bytes[90] = 1;
	EXPECT_EQ("a_size_of_90_ignores_the_byte_after_it", 0, clone3_status(90, exit_0));
	reset_args();
	buf.bytes[66] = 1;
	EXPECT_EQ("a_size_of_65_ignores_the_rest_of_set_tid", 0, clone3_status(65, exit_0));
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, SIG_IGN);
	reset_args();
	buf.args.flags = CLONE_CLEAR_SIGHAND;
	EXPECT_EQ("clone_clear_sighand_resets_handlers_and_keeps_ignored_signals", 0,
		  clone3_status(CLONE_ARGS_SIZE_VER0, handlers_cleared));
	reset_args();
	buf.args.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM;
	expect_clone3_fails("clone_clear_sighand_with_clone_sighand_fails_with_einval", &buf,
			    CLONE_ARGS_SIZE_VER0, EINVAL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

int main(void)
{
	check_begin("clone3");
	sizes_inside_a_field_and_clear_sighand();
	bad_sizes_and_arguments_are_refused();
	behaves_like_fork("the_first_version_of_the_struct", CLONE_ARGS_SIZE_VER0);
	behaves_like_fork("the_current_version_of_the_struct", CLONE_ARGS_SIZE_VER2);
	behaves_like_fork("a_page_sized_struct_with_a_zero_tail", 4096);
	a_vfork_child_starts_on_the_given_stack();
	return check_end();
}
