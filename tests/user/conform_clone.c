/*
 * conform_clone: the corners of fork, vfork, clone and clone3 that real
 * programs and conformance suites reach, with the results Linux gives:
 * clone3's argument checks (size, tail, exit signal, set_tid), the pidfd
 * and tid words clone writes, CLONE_PARENT, CLONE_VFORK, and which wait
 * options collect a child whose exit signal is not SIGCHLD.
 */
#define _GNU_SOURCE
#include "check.h"
#include "raw_clone3.h"


#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#define STACK_SIZE (64 * 1024)
#define FUTEX_WAIT 0

/* struct clone_args, version 2 (include/uapi/linux/sched.h). */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
		set_tid, set_tid_size, cgroup;
};

static union {
	struct clone_args_v2 args;
	unsigned char bytes[8192];
} buf;

static void reset(void)
{
	memset(&buf, 0, sizeof buf);
	buf.args.exit_signal = SIGCHLD;
}

/* raw_clone3 that must fail with errno e; reaps a child made by mistake. */
static void clone3_fails(const char *name, unsigned long size, int e)
{
	long ret = raw_clone3(&buf, size);
	if (ret > 0) {
		waitpid((pid_t)ret, NULL, __WALL);
		check_fail(name, "expected %s, but a child %ld was made", strerrorname(e), ret);
	} else {
		EXPECT_EQ(name, -e, ret);
	}
}

static void clone3_argument_checks(void)
{
	reset();
	buf.bytes[4095] = 1;
	clone3_fails("clone3_size_above_a_page_gives_e2big", 4097, E2BIG);
	clone3_fails("clone3_non_zero_tail_within_a_page_gives_e2big", 4096, E2BIG);
	reset();
	buf.args.exit_signal = 65;
	clone3_fails("clone3_exit_signal_65_gives_einval", sizeof buf.args, EINVAL);
	reset();
	buf.args.flags = 0x1000000000ULL;
	clone3_fails("clone3_an_unknown_flag_gives_einval", sizeof buf.args, EINVAL);
	reset();
	buf.args.flags = CLONE_DETACHED;
	clone3_fails("clone3_clone_detached_gives_einval", sizeof buf.args, EINVAL);
	reset();
	buf.args.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM;
	clone3_fails("clone3_clear_sighand_with_clone_sighand_gives_einval", sizeof buf.args,
		     EINVAL);
	reset();
	pid_t tids[40] = {0};
	buf.args.set_tid = (uintptr_t)tids;
	buf.args.set_tid_size = 33;
	clone3_fails("clone3_set_tid_size_33_gives_einval", sizeof buf.args, EINVAL);
	buf.args.set_tid_size = 0;
	clone3_fails("clone3_set_tid_without_a_size_gives_einval", sizeof buf.args, EINVAL);
	buf.args.set_tid = 0;
	buf.args.set_tid_size = 1;
	clone3_fails("clone3_set_tid_size_without_an_array_gives_einval", sizeof buf.args, EINVAL);
	buf.args.set_tid = (uintptr_t)tids;
	buf.args.set_tid_size = 2;
	clone3_fails("clone3_set_tid_deeper_than_the_namespace_gives_einval", sizeof buf.args,
		     EINVAL);
	tids[0] = getpid();
	buf.args.set_tid_size = 1;
	clone3_fails("clone3_set_tid_of_a_live_pid_gives_eexist", sizeof buf.args, EEXIST);
	tids[0] = -5;
	clone3_fails("clone3_set_tid_negative_gives_einval", sizeof buf.args, EINVAL);
	tids[0] = 0x400000 + 1;
	clone3_fails("clone3_set_tid_above_pid_max_gives_einval", sizeof buf.args, EINVAL);
}

static void set_tid_chooses_the_pid(void)
{
	pid_t freed = fork();
	if (freed == 0)
		_exit(0);
	waitpid(freed, NULL, 0);
	reset();
	pid_t tids[1] = {freed};
	buf.args.set_tid = (uintptr_t)tids;
	buf.args.set_tid_size = 1;
	long pid = raw_clone3(&buf, sizeof buf.args);
	EXPECT_EQ("clone3_set_tid_gives_the_child_the_chosen_pid", freed, pid);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	reset();
	buf.args.cgroup = 5;
	pid = raw_clone3(&buf, sizeof buf.args);
	CHECK("clone3_ignores_the_cgroup_field_without_clone_into_cgroup", pid > 0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
}

static void set_tid_as_non_root(void)
{
	if (setuid(1234) != 0)
		_exit(9);
	reset();
	pid_t tids[1] = {getpid() + 1000};
	buf.args.set_tid = (uintptr_t)tids;
	buf.args.set_tid_size = 1;
	clone3_fails("clone3_set_tid_as_non_root_gives_eperm", sizeof buf.args, EPERM);
}

static void clone3_pidfd_and_parent_tid_together(void)
{
	reset();
	int pidfd = -1;
	pid_t ptid = 0;
	buf.args.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
	buf.args.pidfd = (uintptr_t)&pidfd;
	buf.args.parent_tid = (uintptr_t)&ptid;
	long pid = raw_clone3(&buf, sizeof buf.args);
	CHECK("clone3_takes_clone_pidfd_with_clone_parent_settid", pid > 0);
	EXPECT_EQ("clone3_writes_the_tid_to_parent_tid", pid, ptid);
	CHECK("clone3_writes_a_pidfd", pidfd >= 0);
	int flags = fcntl(pidfd, F_GETFD);
	EXPECT_EQ("the_clone3_pidfd_is_close_on_exec", FD_CLOEXEC, flags & FD_CLOEXEC);
	int status = 0;
	EXPECT_EQ("the_clone3_child_is_reaped", pid, waitpid((pid_t)pid, &status, 0));
	close(pidfd);
}


static void clone_pidfd_and_exit_signals(void)
{
	int pidfd = -1;
	long pid = raw_clone(CLONE_PIDFD | SIGCHLD, &pidfd);
	CHECK("clone_with_clone_pidfd_makes_a_child", pid > 0);
	CHECK("clone_pidfd_writes_the_fd_to_parent_tid", pidfd > 2);
	int st = 0;
	waitpid((pid_t)pid, &st, 0);
	close(pidfd);

	pid = raw_clone(CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, &pidfd);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, __WALL);
	EXPECT_EQ("clone_pidfd_with_clone_detached_gives_einval", -EINVAL, pid);

	/* clone() keeps the low byte as it is; an invalid signal is never sent. */
	pid = raw_clone(100, NULL);
	CHECK("clone_takes_an_exit_signal_above_64", pid > 0);
	if (pid > 0)
		EXPECT_EQ("wall_collects_the_child_with_exit_signal_100", pid,
			  waitpid((pid_t)pid, NULL, __WALL));

	/* A child with exit signal 0 is a "clone" child to wait. */
	pid = raw_clone(0, NULL);
	CHECK("clone_with_exit_signal_0_makes_a_child", pid > 0);
	errno = 0;
	long r = waitpid((pid_t)pid, &st, 0);
	EXPECT_ERRNO("waitpid_without_wclone_ignores_a_child_with_no_exit_signal", ECHILD, r,
		     errno);
	r = waitpid((pid_t)pid, &st, __WCLONE);
	EXPECT_EQ("waitpid_with_wclone_collects_it", pid, r);
	EXPECT_EQ("its_status_is_its_exit_code", CHILD_RAN << 8, st);

	pid = raw_clone(SIGCHLD, NULL);
	usleep(20000);
	errno = 0;
	r = waitpid((pid_t)pid, &st, __WCLONE | WNOHANG);
	EXPECT_ERRNO("wclone_ignores_a_sigchld_child", ECHILD, r, errno);
	r = waitpid((pid_t)pid, &st, __WALL);
	EXPECT_EQ("wall_collects_a_sigchld_child", pid, r);

	signal(SIGUSR1, SIG_IGN);
	pid = raw_clone(SIGUSR1, NULL);
	r = waitpid((pid_t)pid, &st, __WALL);
	EXPECT_EQ("wall_collects_a_child_with_sigusr1_as_exit_signal", pid, r);

	errno = 0;
	r = waitpid(-1, &st, 0x10000000);
	EXPECT_ERRNO("waitpid_with_an_unknown_option_gives_einval", EINVAL, r, errno);
}

static pid_t vforked_value;

static void vfork_semantics(void)
{
	vforked_value = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		vforked_value = getpid();
		_exit(7);
	}
	EXPECT_EQ("a_vfork_child_writes_the_parent_memory", pid, vforked_value);
	int st = 0;
	/* The parent resumes when the child releases its mm (exit_mm), which
	 * comes before exit_notify makes it a zombie: wait, don't poll. */
	EXPECT_EQ("the_vfork_child_is_reaped_by_the_parent", pid, waitpid(pid, &st, 0));
	EXPECT_EQ("the_vfork_child_status_is_its_exit_code", 7 << 8, st);
}

static int shared_word;
static volatile int child_tid_word = -1;

static int thread_fn(void *arg)
{
	(void)arg;
	shared_word = (int)syscall(SYS_gettid);
	usleep(30000);
	return 0;
}

static void settid_and_cleartid(void)
{
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t ptid = 0;
	child_tid_word = -1;
	int flags = CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID |
		    SIGCHLD;
	int pid = clone(thread_fn, stack + STACK_SIZE, flags, NULL, &ptid, NULL,
			&child_tid_word);
	CHECK("clone_with_settid_flags_makes_a_child", pid > 0);
	EXPECT_EQ("clone_parent_settid_writes_the_tid_before_return", pid, ptid);
	/* CLEARTID: zero then a futex wake when the child's mm is released. */
	int woke = 0;
	for (int i = 0; i < 200 && child_tid_word != 0; i++) {
		int v = child_tid_word;
		if (v != 0 && syscall(SYS_futex, &child_tid_word, FUTEX_WAIT, v, NULL) == 0)
			woke = 1;
	}
	EXPECT_EQ("clone_child_cleartid_zeroes_the_word_at_exit", 0, child_tid_word);
	(void)woke;
	EXPECT_EQ("the_child_saw_its_own_tid", pid, shared_word);
	int st;
	EXPECT_EQ("the_settid_child_is_reaped", pid, waitpid(pid, &st, 0));
	munmap(stack, STACK_SIZE);
}

static int settid_probe(void *arg)
{
	(void)arg;
	_exit(child_tid_word == (int)syscall(SYS_gettid) ? 0 : 1);
}

static void child_settid_in_a_copied_mm(void)
{
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_tid_word = -1;
	int pid = clone(settid_probe, stack + STACK_SIZE, CLONE_CHILD_SETTID | SIGCHLD, NULL,
			NULL, NULL, &child_tid_word);
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("clone_child_settid_writes_the_tid_in_the_child_copy", 0, st);
	EXPECT_EQ("the_parent_copy_keeps_its_value", -1, child_tid_word);
	munmap(stack, STACK_SIZE);
}

static int exit_at_once(void *arg)
{
	(void)arg;
	_exit(0);
}

/* CLEARTID clears the word only for a task whose mm has another user (a
 * thread's sibling waiting in pthread_join): a child with a copied mm
 * leaves it alone, even where the parent would see the write, in shared
 * memory (Linux: the mm_users > 1 test of mm_release()). */
static void cleartid_in_a_copied_mm(void)
{
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				  -1, 0);
	if (stack == MAP_FAILED || word == MAP_FAILED) {
		check_fail("cleartid_setup", "mmap: %s", strerror(errno));
		return;
	}
	*word = -1;
	int pid = clone(exit_at_once, stack + STACK_SIZE, CLONE_CHILD_CLEARTID | SIGCHLD, NULL,
			NULL, NULL, (int *)word);
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("the_cleartid_child_with_its_own_mm_exits", 0, st);
	EXPECT_EQ("clone_child_cleartid_leaves_the_word_of_an_mm_s_last_user", -1, *word);
	munmap((void *)word, 4096);
	munmap(stack, STACK_SIZE);
}

static void clone_parent(void)
{
	pid_t mid = fork();
	if (mid == 0) {
		pid_t me = getpid();
		int pfd[2];
		pipe(pfd);
		long pid = raw_clone(CLONE_PARENT | SIGCHLD, NULL);
		errno = 0;
		long r = waitpid((pid_t)pid, NULL, 0);
		_exit(pid > 0 && r == -1 && errno == ECHILD && me ? 0 : 1);
	}
	int st = -1;
	waitpid(mid, &st, 0);
	EXPECT_EQ("a_clone_parent_child_is_not_the_caller_s_to_wait_for", 0, st);
	/* It is ours: our grandchild, made our child. */
	int reaped = 0, s;
	while (waitpid(-1, &s, 0) > 0)
		if (WIFEXITED(s) && WEXITSTATUS(s) == CHILD_RAN)
			reaped++;
	EXPECT_EQ("the_clone_parent_child_is_reaped_by_the_grandparent", 1, reaped);
}

int main(void)
{
	check_begin("conform_clone");
	clone3_argument_checks();
	as_child(set_tid_as_non_root);
	set_tid_chooses_the_pid();
	clone3_pidfd_and_parent_tid_together();
	clone_pidfd_and_exit_signals();
	vfork_semantics();
	settid_and_cleartid();
	child_settid_in_a_copied_mm();
	cleartid_in_a_copied_mm();
	clone_parent();
	return check_end();
}
