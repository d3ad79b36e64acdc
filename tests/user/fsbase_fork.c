/*
 * fsbase_fork: a child starts with the FS base its parent had at the
 * moment of fork or clone, however the parent set it last: with
 * arch_prctl(ARCH_SET_FS) just before, or with the wrfsbase instruction
 * where the kernel allows it (AT_HWCAP2 has HWCAP2_FSGSBASE). Linux's
 * copy_thread saves the running task's FS and GS first (save_fsgs), so
 * that a base the CPU holds but the thread struct does not yet is not lost.
 *
 * While FS points elsewhere, musl's thread pointer is wrong: the window
 * makes raw system calls only, and the child reports with its exit code.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

/* The FS base the parent sets: any canonical user address will do, since
 * nothing dereferences it in the window. */
#define OTHER_FS 0x123456789000UL

static long raw6(long nr, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static unsigned long get_fs(void)
{
	unsigned long fs = 0;
	raw6(SYS_arch_prctl, ARCH_GET_FS, (long)&fs, 0, 0, 0);
	return fs;
}

/* How the parent puts OTHER_FS in place before it forks. */
enum how { ARCH_PRCTL, WRFSBASE };

/* In the child, with no libc: exit 0 if its FS base (both as the kernel
 * reports it and as the CPU has it) is `want`. */
static void __attribute__((noreturn)) child_checks(unsigned long want, enum how how)
{
	unsigned long fs = get_fs(), cpu = want;
	if (how == WRFSBASE)
		__asm__ volatile("rdfsbase %0" : "=r"(cpu));
	raw6(SYS_exit_group, fs == want && cpu == want ? 0 : 1 + (fs != want), 0, 0, 0, 0);
	__builtin_unreachable();
}

/* Sets FS to OTHER_FS, makes `nr` (fork, or clone with `flags`), puts the
 * original back; returns the child's exit status. */
static int fork_with_other_fs(enum how how, long nr, long flags, unsigned long tls)
{
	unsigned long mine = get_fs();
	unsigned long want = (flags & CLONE_SETTLS) ? tls : OTHER_FS;
	if (how == ARCH_PRCTL)
		raw6(SYS_arch_prctl, ARCH_SET_FS, OTHER_FS, 0, 0, 0);
	else
		__asm__ volatile("wrfsbase %0" : : "r"(OTHER_FS) : "memory");
	long pid = nr == SYS_fork ? raw6(SYS_fork, 0, 0, 0, 0, 0)
				  : raw6(SYS_clone, flags, 0, 0, 0, (long)tls);
	if (pid == 0)
		child_checks(want, how);
	raw6(SYS_arch_prctl, ARCH_SET_FS, mine, 0, 0, 0);
	if (pid < 0) {
		errno = -pid;
		return -1;
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void expect_child(const char *name, enum how how, long nr, long flags, unsigned long tls)
{
	int status = fork_with_other_fs(how, nr, flags, tls);
	if (status == -1)
		check_fail(name, "fork failed: %s", strerror(errno));
	else if (exited_with(status, 0))
		check_ok(name);
	else
		check_fail(name, "the child's FS base was not the parent's (status %#x: %s)", status,
			   exited_with(status, 2) ? "arch_prctl(ARCH_GET_FS) differs" : "rdfsbase differs");
}

int main(void)
{
	check_begin("fsbase_fork");
	unsigned long mine = get_fs();
	CHECK("arch_prctl_get_fs_gives_the_thread_pointer", mine != 0 && mine == (unsigned long)pthread_self());

	expect_child("fork_right_after_arch_prctl_set_fs_gives_the_child_the_new_base", ARCH_PRCTL,
		     SYS_fork, 0, 0);
	expect_child("clone_without_settls_gives_the_child_the_parents_new_base", ARCH_PRCTL,
		     SYS_clone, SIGCHLD, 0);
	expect_child("clone_with_settls_gives_the_child_the_tls_argument", ARCH_PRCTL, SYS_clone,
		     SIGCHLD | CLONE_SETTLS, 0x222222222000UL);
	CHECK("the_parent_has_its_own_base_back", get_fs() == mine);

	if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE)) {
		check_skip("fork_right_after_wrfsbase_gives_the_child_the_new_base",
			   "the kernel does not enable FSGSBASE (AT_HWCAP2)");
		check_skip("clone_right_after_wrfsbase_gives_the_child_the_new_base",
			   "the kernel does not enable FSGSBASE (AT_HWCAP2)");
	} else {
		expect_child("fork_right_after_wrfsbase_gives_the_child_the_new_base", WRFSBASE,
			     SYS_fork, 0, 0);
		expect_child("clone_right_after_wrfsbase_gives_the_child_the_new_base", WRFSBASE,
			     SYS_clone, SIGCHLD, 0);
	}
	return check_end();
}
