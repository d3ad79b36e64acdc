/*
 * clone_raw: clone(2) with the flags threads and containers are made of,
 * through musl's clone() wrapper and caller-provided stacks:
 *
 *   a thread (CLONE_THREAD and friends) whose exit clears a tid word and
 *   wakes a futex on it; CLONE_PARENT siblings; CLONE_CHILD_SETTID in a
 *   copied address space; CLONE_SETTLS giving a child its own FS base.
 *
 * A child that shares the caller's address space without musl knowing
 * touches only volatile globals and makes raw system calls.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define FUTEX_WAIT 0
#define ARCH_GET_FS 0x1003
#define STACK_SIZE (64 * 1024)
#define TIMEOUT_MS 5000

static char thread_stack[STACK_SIZE] __attribute__((aligned(16)));
static char sibling_stack[STACK_SIZE] __attribute__((aligned(16)));
static char settid_stack[STACK_SIZE] __attribute__((aligned(16)));
static char settls_stack[STACK_SIZE] __attribute__((aligned(16)));

/* --- (a) a thread made by hand ------------------------------------------ */

static volatile pid_t thread_saw_pid, thread_saw_tid;
static volatile int thread_dup_fd = -1;
static volatile pid_t parent_tid_word, child_tid_word;

static int thread_fn(void *arg)
{
	thread_saw_pid = getpid();
	thread_saw_tid = syscall(SYS_gettid);
	thread_dup_fd = dup((int)(intptr_t)arg);
	return 0; /* musl's __clone then makes a raw SYS_exit: only this thread ends */
}

/* Sleeps on the futex word until it reads 0; returns 0, or -1 on timeout. */
static int wait_for_tid_clear(volatile pid_t *word)
{
	long deadline = now_ms() + TIMEOUT_MS;
	pid_t v;
	while ((v = *word) != 0) {
		if (now_ms() >= deadline)
			return -1;
		struct timespec ts = { 0, 100 * 1000000L };
		syscall(SYS_futex, word, FUTEX_WAIT, v, &ts, NULL, 0);
	}
	return 0;
}

static void a_hand_made_thread_clears_its_tid_word_at_exit(void)
{
	int p[2];
	pipe(p);
	parent_tid_word = 0;
	child_tid_word = -1; /* the kernel must make this 0 when the thread exits */
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	pid_t tid = clone(thread_fn, thread_stack + STACK_SIZE, flags, (void *)(intptr_t)p[0],
			  &parent_tid_word, NULL, &child_tid_word);
	int waited = tid > 0 ? wait_for_tid_clear(&child_tid_word) : -1;
	int dup_fd = thread_dup_fd;
	int dup_is_open = dup_fd >= 0 && fcntl(dup_fd, F_GETFD) >= 0;
	int wait_ret = waitpid(tid, NULL, __WALL | WNOHANG);
	int wait_err = errno;
	if (dup_fd >= 0)
		close(dup_fd);
	close(p[0]);
	close(p[1]);

	CHECK("clone_of_a_thread_returns_a_positive_tid", tid > 0);
	EXPECT_EQ("the_kernel_clears_the_child_tid_word_and_wakes_its_futex_at_thread_exit",
		  0, waited);
	EXPECT_EQ("the_cloned_thread_reports_the_same_getpid_as_its_creator", getpid(),
		  thread_saw_pid);
	CHECK("the_cloned_thread_has_a_tid_different_from_its_creators",
	      thread_saw_tid > 0 && thread_saw_tid != syscall(SYS_gettid));
	EXPECT_EQ("clone_returns_the_tid_the_thread_sees_with_gettid", tid, thread_saw_tid);
	EXPECT_EQ("clone_parent_settid_stores_the_threads_tid_in_the_parent_tid_word", tid,
		  parent_tid_word);
	CHECK("an_fd_the_thread_opens_is_open_in_its_creator_under_clone_files", dup_is_open);
	EXPECT_ERRNO("a_thread_is_not_a_waitable_child_of_its_creator", ECHILD, wait_ret, wait_err);
}

/* --- (b) CLONE_PARENT ------------------------------------------------- */

struct sibling_view {
	pid_t pid, ppid;
};

struct middle_view {
	pid_t clone_ret;        /* CLONE_PARENT|SIGCHLD child */
	pid_t quiet_clone_ret;  /* CLONE_PARENT with no exit signal */
	pid_t ppid;
	int wait_ret, wait_err;
};

static int sibling_fn(void *arg)
{
	struct sibling_view v = { getpid(), getppid() };
	write((int)(intptr_t)arg, &v, sizeof v);
	return 5;
}

static int quiet_sibling_fn(void *arg)
{
	(void)arg;
	return 6;
}

/* Polls waitpid(pid, options|WNOHANG) until it stops returning 0. */
static pid_t waitpid_bounded(pid_t pid, int *status, int options)
{
	long deadline = now_ms() + TIMEOUT_MS;
	pid_t ret;
	while ((ret = waitpid(pid, status, options | WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(5);
	return ret;
}

static void clone_parent_makes_a_sibling(void)
{
	int sib[2], mid[2];
	pipe(sib);
	pipe(mid);
	pid_t m = fork();
	if (m == 0) {
		struct middle_view v;
		v.clone_ret = clone(sibling_fn, sibling_stack + STACK_SIZE, CLONE_PARENT | SIGCHLD,
				    (void *)(intptr_t)sib[1]);
		v.quiet_clone_ret = clone(quiet_sibling_fn, settid_stack + STACK_SIZE,
					  CLONE_PARENT, NULL);
		v.ppid = getppid();
		v.wait_ret = waitpid(v.clone_ret, NULL, __WALL | WNOHANG);
		v.wait_err = errno;
		write(mid[1], &v, sizeof v);
		_exit(0);
	}
	close(sib[1]);
	close(mid[1]);
	struct middle_view mv = { -1, -1, -1, 0, 0 };
	struct sibling_view sv = { -1, -1 };
	read_full(mid[0], &mv, sizeof mv);
	read_full(sib[0], &sv, sizeof sv);
	close(mid[0]);
	close(sib[0]);
	int m_status = -1;
	waitpid(m, &m_status, 0);
	int status = -1, quiet_status = -1;
	pid_t reaped = mv.clone_ret > 0 ? waitpid_bounded(mv.clone_ret, &status, 0) : -1;
	pid_t quiet_reaped = mv.quiet_clone_ret > 0
		? waitpid_bounded(mv.quiet_clone_ret, &quiet_status, 0) : -1;
	if (quiet_reaped != mv.quiet_clone_ret && mv.quiet_clone_ret > 0)
		waitpid_bounded(mv.quiet_clone_ret, NULL, __WALL); /* don't leave it behind */

	EXPECT_EQ("the_middle_process_exits_cleanly", 0, m_status);
	CHECK("clone_parent_returns_a_positive_pid", mv.clone_ret > 0);
	EXPECT_EQ("the_clone_parent_child_runs_with_the_pid_clone_returned", mv.clone_ret, sv.pid);
	EXPECT_EQ("the_callers_parent_is_the_test_process", getpid(), mv.ppid);
	EXPECT_EQ("the_clone_parent_childs_parent_is_the_callers_parent", mv.ppid, sv.ppid);
	EXPECT_ERRNO("the_caller_cannot_wait_for_its_clone_parent_child", ECHILD, mv.wait_ret,
		     mv.wait_err);
	EXPECT_EQ("the_callers_parent_reaps_the_clone_parent_child", mv.clone_ret, reaped);
	EXPECT_EQ("the_clone_parent_childs_exit_code_reaches_the_callers_parent", 5 << 8, status);
	CHECK("clone_parent_without_an_exit_signal_returns_a_positive_pid",
	      mv.quiet_clone_ret > 0);
	/* Linux: a CLONE_PARENT child gets the caller's exit_signal (SIGCHLD
	 * here), whatever the low byte of flags says, so a plain waitpid sees it. */
	EXPECT_EQ("a_clone_parent_child_inherits_the_callers_exit_signal_so_plain_waitpid_reaps_it",
		  mv.quiet_clone_ret, quiet_reaped);
	EXPECT_EQ("the_quiet_clone_parent_childs_exit_code_is_reported", 6 << 8, quiet_status);
}

/* --- (c) CLONE_CHILD_SETTID in a copied address space ------------------ */

static volatile pid_t settid_word;

static int settid_fn(void *arg)
{
	(void)arg;
	pid_t seen = settid_word;
	if (seen == getpid())
		return 0;
	return seen == 0 ? 1 : 2;
}

static void clone_child_settid_writes_into_the_childs_memory(void)
{
	settid_word = 0;
	pid_t c = clone(settid_fn, settid_stack + STACK_SIZE, CLONE_CHILD_SETTID | SIGCHLD, NULL,
			NULL, NULL, &settid_word);
	int status = -1;
	pid_t reaped = c > 0 ? waitpid(c, &status, 0) : -1;

	CHECK("clone_with_child_settid_returns_a_positive_pid", c > 0);
	EXPECT_EQ("the_child_is_reaped", c, reaped);
	if (status == 0)
		check_ok("the_child_finds_its_tid_in_its_own_copy_of_the_word");
	else
		check_fail("the_child_finds_its_tid_in_its_own_copy_of_the_word",
			   "the child exited %d (1: the word was still 0, 2: another value)",
			   WIFEXITED(status) ? WEXITSTATUS(status) : -status);
	EXPECT_EQ("the_parents_copy_of_the_word_is_untouched", 0, settid_word);
}

/* --- (d) CLONE_SETTLS --------------------------------------------------- */

/* What the child's FS base points at: its first word points to itself, as
 * in a real thread control block. */
static struct fake_tcb {
	struct fake_tcb *self;
	unsigned long spare[63];
} tls_block __attribute__((aligned(64)));

static volatile unsigned long tls_seen_base, tls_seen_self;
static volatile long tls_prctl_ret = -12345;

static long raw_syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Runs with an FS base musl knows nothing about: raw system calls only. */
static int settls_fn(void *arg)
{
	(void)arg;
	unsigned long base = 0, self;
	tls_prctl_ret = raw_syscall2(SYS_arch_prctl, ARCH_GET_FS, (long)&base);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	tls_seen_base = base;
	tls_seen_self = self;
	raw_syscall2(SYS_exit, base == (unsigned long)&tls_block ? 0 : 1, 0);
	__builtin_unreachable();
}

static void clone_settls_gives_the_child_its_own_fs_base(void)
{
	unsigned long before = 0, after = 0;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &before);
	tls_block.self = &tls_block;
	tls_seen_base = tls_seen_self = 0;
	pid_t c = clone(settls_fn, settls_stack + STACK_SIZE, CLONE_VM | CLONE_SETTLS | SIGCHLD,
			NULL, NULL, &tls_block, NULL);
	int status = -1;
	pid_t reaped = c > 0 ? waitpid(c, &status, 0) : -1;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &after);

	CHECK("clone_with_settls_returns_a_positive_pid", c > 0);
	EXPECT_EQ("the_settls_child_is_reaped", c, reaped);
	EXPECT_EQ("arch_prctl_get_fs_succeeds_in_the_settls_child", 0, tls_prctl_ret);
	EXPECT_EQ("arch_prctl_get_fs_in_the_child_returns_the_tls_pointer_given_to_clone",
		  (uintptr_t)&tls_block, tls_seen_base);
	EXPECT_EQ("fs_relative_loads_in_the_child_read_its_own_tls_block",
		  (uintptr_t)&tls_block, tls_seen_self);
	EXPECT_EQ("the_settls_child_exits_through_a_raw_exit_with_code_0", 0, status);
	EXPECT_EQ("the_callers_fs_base_is_unchanged_by_the_childs", before, after);
	EXPECT_EQ("the_callers_fs_base_is_its_musl_thread_pointer", (uintptr_t)pthread_self(),
		  after);
}

int main(void)
{
	check_begin("clone_raw");
	a_hand_made_thread_clears_its_tid_word_at_exit();
	clone_parent_makes_a_sibling();
	clone_child_settid_writes_into_the_childs_memory();
	clone_settls_gives_the_child_its_own_fs_base();
	return check_end();
}
