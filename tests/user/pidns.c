/*
 * pidns: pid namespaces. A clone(CLONE_NEWPID) child is pid 1 of a new
 * namespace, with parent 0; its tasks have a number at each level (NSpid);
 * it adopts the namespace's orphans; it ignores signals it has no handler
 * for when they come from inside (and gets those it handles), waitid,
 * getpgid, setsid and SIGCHLD speak in the reader's numbers; it dies of
 * SIGKILL from outside, and its
 * death kills and reaps every member; a dead namespace forks no more
 * (ENOMEM). unshare(CLONE_NEWPID) moves only the caller's children,
 * setns(pidfd, CLONE_NEWPID) lets a child join a namespace, and
 * namespaces nest at most 32 deep (ENOSPC).
 *
 * Each part runs in a child of the test, which reports through a pipe.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>

#ifndef CLONE_NEWPID
#define CLONE_NEWPID 0x20000000
#endif

#define TIMEOUT_MS 5000

/* fork() into a new pid namespace: the raw clone with no new stack. */
static pid_t fork_newpid(void)
{
	return syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
}

/* The numbers of the NSpid line of /proc/<pid>/status, tab-separated. */
static int nspid(pid_t pid, char *out, size_t size)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (read_text(path, buf, sizeof buf) < 0)
		return -1;
	char *line = strstr(buf, "NSpid:\t");
	if (line == NULL)
		return -1;
	line += strlen("NSpid:\t");
	size_t n = strcspn(line, "\n");
	snprintf(out, size, "%.*s", (int)n, line);
	return 0;
}

/* The pid field 4 (ppid) of /proc/<pid>/stat; -1 if unreadable. */
static pid_t stat_ppid(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof buf) < 0)
		return -1;
	char *paren = strrchr(buf, ')');
	int ppid = -1;
	if (paren == NULL || sscanf(paren + 2, "%*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* The children of `parent` as /proc shows them, up to max; their count. */
static int children_of(pid_t parent, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL && n < max) {
		pid_t pid = atoi(e->d_name);
		if (pid > 0 && stat_ppid(pid) == parent)
			out[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

/* Polls until `parent` has `want` children; their count. */
static int wait_children(pid_t parent, pid_t *out, int want)
{
	long end = now_ms() + TIMEOUT_MS;
	int n;
	while ((n = children_of(parent, out, want)) < want && now_ms() < end)
		sleep_ms(10);
	return n;
}

struct init_view {
	pid_t pid, ppid;        /* getpid/getppid of the namespace's init */
	pid_t child_pid;        /* what its fork returned */
	pid_t child_self;       /* what that child's getpid said */
};

static void init_reports(int out)
{
	struct init_view v = { getpid(), getppid(), 0, 0 };
	int p[2];
	if (pipe(p) < 0)
		_exit(1);
	v.child_pid = fork();
	if (v.child_pid == 0) {
		pid_t me = getpid();
		write(p[1], &me, sizeof me);
		_exit(0);
	}
	read_full(p[0], &v.child_self, sizeof v.child_self);
	waitpid(v.child_pid, NULL, 0);
	write(out, &v, sizeof v);
	pause();
	_exit(0);
}

static void test_pid_one_inside(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t init = fork_newpid();
	if (init == 0)
		init_reports(p[1]);
	struct init_view v = { -1, -1, -1, -1 };
	read_full(p[0], &v, sizeof v);
	EXPECT_EQ("the_first_task_of_a_new_namespace_is_pid_1", 1, v.pid);
	EXPECT_EQ("its_parent_is_outside_the_namespace_so_getppid_is_0", 0, v.ppid);
	EXPECT_EQ("its_first_child_is_pid_2_inside", 2, v.child_pid);
	EXPECT_EQ("the_child_sees_itself_as_2", 2, v.child_self);
	CHECK("fork_returns_the_outside_number_to_the_parent", init > 1 && init != getpid());
	char want[64], got[64] = "";
	snprintf(want, sizeof want, "%d\t1", init);
	nspid(init, got, sizeof got);
	if (strcmp(want, got) == 0)
		check_ok("nspid_lists_the_outside_number_then_1");
	else
		check_fail("nspid_lists_the_outside_number_then_1", "NSpid \"%s\", expected \"%s\"", got, want);
	kill(init, SIGKILL);
	CHECK("the_init_dies_of_sigkill_from_outside", killed_by(wait_until(init, TIMEOUT_MS), SIGKILL));
	close(p[0]);
	close(p[1]);
}

/* Nested: A is 1 in ns1; B, A's clone(CLONE_NEWPID) child, is 2 in ns1 and
 * 1 in ns2; seen from here B has three numbers. */
static void test_nested_numbers(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t a = fork_newpid();
	if (a == 0) {
		pid_t b = fork_newpid();
		if (b == 0) {
			pid_t me = getpid();
			write(p[1], &me, sizeof me);
			pause();
			_exit(0);
		}
		write(p[1], &b, sizeof b);
		pause();
		_exit(0);
	}
	pid_t seen[2] = { -1, -1 };
	read_full(p[0], &seen[0], sizeof seen[0]);
	read_full(p[0], &seen[1], sizeof seen[1]);
	pid_t b_from_a = seen[0] == 1 ? seen[1] : seen[0];
	pid_t b_self = seen[0] == 1 ? seen[0] : seen[1];
	EXPECT_EQ("a_nested_init_is_2_in_its_parent_namespace", 2, b_from_a);
	EXPECT_EQ("and_1_in_its_own", 1, b_self);
	pid_t b = -1;
	wait_children(a, &b, 1);
	char want[64], got[64] = "";
	snprintf(want, sizeof want, "%d\t2\t1", b);
	nspid(b, got, sizeof got);
	if (b > 0 && strcmp(want, got) == 0)
		check_ok("nspid_shows_one_number_per_level_from_the_reader_down");
	else
		check_fail("nspid_shows_one_number_per_level_from_the_reader_down", "NSpid \"%s\", expected \"%s\"", got, want);
	kill(a, SIGKILL);
	wait_until(a, TIMEOUT_MS);
	close(p[0]);
	close(p[1]);
}

struct orphan_view {
	pid_t g;          /* the grandchild as it saw itself */
	pid_t g_ppid;     /* its parent once the middle had exited */
	pid_t reaped;     /* what the init's waitpid(-1) returned */
	int status;
};

static void orphan_init(int out)
{
	int p[2];
	if (pipe(p) < 0)
		_exit(1);
	pid_t m = fork();
	if (m == 0) {
		if (fork() == 0) {
			long end = now_ms() + TIMEOUT_MS;
			while (getppid() != 1 && now_ms() < end)
				sleep_ms(5);
			pid_t v[2] = { getpid(), getppid() };
			write(p[1], v, sizeof v);
			_exit(7);
		}
		_exit(0);
	}
	waitpid(m, NULL, 0);
	struct orphan_view v = { -1, -1, -1, 0 };
	pid_t g[2];
	read_full(p[0], g, sizeof g);
	v.g = g[0];
	v.g_ppid = g[1];
	v.reaped = waitpid(-1, &v.status, 0);
	write(out, &v, sizeof v);
	_exit(0);
}

static void test_orphans_reaped_by_the_namespace_init(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t init = fork_newpid();
	if (init == 0)
		orphan_init(p[1]);
	struct orphan_view v = { -1, -1, -1, 0 };
	read_full(p[0], &v, sizeof v);
	EXPECT_EQ("an_orphan_in_the_namespace_gets_its_init_as_parent", 1, v.g_ppid);
	EXPECT_EQ("the_namespace_init_reaps_the_orphan_by_its_inside_pid", v.g, v.reaped);
	CHECK("the_orphan_status_reaches_the_namespace_init", WIFEXITED(v.status) && WEXITSTATUS(v.status) == 7);
	CHECK("the_init_exits_normally", exited_with(wait_until(init, TIMEOUT_MS), 0));
	close(p[0]);
	close(p[1]);
}

/* The init has no handler for SIGTERM or SIGKILL: a member's kill(1, ...)
 * is dropped; SIGKILL from outside is not. Its death takes the members. */
static void test_signals_and_death(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t init = fork_newpid();
	if (init == 0) {
		for (int i = 0; i < 3; i++)
			if (fork() == 0) {
				pause();
				_exit(0);
			}
		pid_t k = fork();
		if (k == 0) {
			int r = kill(1, SIGTERM) | kill(1, SIGKILL) | kill(1, SIGINT);
			_exit(r == 0 ? 0 : 1);
		}
		int status;
		waitpid(k, &status, 0);
		sleep_ms(50);
		int alive = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		write(p[1], &alive, sizeof alive);
		for (;;)
			pause();
	}
	int alive = 0;
	read_full(p[0], &alive, sizeof alive);
	CHECK("the_init_survives_sigterm_sigkill_and_sigint_from_inside", alive == 1);
	pid_t members[3] = { -1, -1, -1 };
	int n = wait_children(init, members, 3);
	EXPECT_EQ("the_members_are_visible_from_outside", 3, n);
	kill(init, SIGTERM);
	sleep_ms(50);
	CHECK("sigterm_from_outside_is_dropped_too_without_a_handler", kill(init, 0) == 0 && proc_state(init) != 'Z');
	kill(init, SIGKILL);
	int status = wait_until(init, TIMEOUT_MS);
	CHECK("sigkill_from_outside_kills_the_init", killed_by(status, SIGKILL));
	int gone = 0;
	for (int i = 0; i < n; i++)
		gone += kill(members[i], 0) == -1 && errno == ESRCH;
	EXPECT_EQ("the_init_death_killed_and_reaped_every_member", n, gone);
	close(p[0]);
	close(p[1]);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

struct handler_view {
	int handled;          /* the init's SIGUSR1 handler ran */
	pid_t child, waited;  /* fork's return, waitid's si_pid */
	pid_t pgid_before;    /* getpgid(0): the group's leader is outside */
	pid_t sid, pgid;      /* setsid()'s return, getpgid(0) after it */
	pid_t sibling;        /* clone(CLONE_PARENT) by the init */
	int sibling_errno;
};

/* The init with a handler gets the signal a member sends; waitid and
 * the process-group calls answer in the namespace's numbers. */
static void handler_init(int out)
{
	struct handler_view v = { 0, -1, -1, -1, -1, -1, 0, 0 };
	signal(SIGUSR1, on_usr1);
	v.pgid_before = getpgid(0);
	v.sid = setsid();
	v.pgid = getpgid(0);
	errno = 0;
	v.sibling = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (v.sibling == 0)
		_exit(0);
	v.sibling_errno = errno;
	v.child = fork();
	if (v.child == 0)
		_exit(kill(1, SIGUSR1) == 0 ? 0 : 1);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	waitid(P_ALL, 0, &si, WEXITED);
	v.waited = si.si_pid;
	v.handled = got_usr1;
	write(out, &v, sizeof v);
	_exit(0);
}

static void test_handler_and_ids(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid_t init = fork_newpid();
	if (init == 0)
		handler_init(p[1]);
	struct handler_view v = { 0, -1, -1, -1, -1, -1, 0, 0 };
	read_full(p[0], &v, sizeof v);
	CHECK("a_signal_from_inside_reaches_an_init_that_handles_it", v.handled == 1);
	EXPECT_EQ("waitid_in_the_namespace_gives_the_child_inside_pid", v.child, v.waited);
	EXPECT_EQ("getpgid_of_a_group_led_from_outside_is_0", 0, v.pgid_before);
	EXPECT_EQ("setsid_in_the_init_returns_1", 1, v.sid);
	EXPECT_EQ("and_getpgid_is_then_1", 1, v.pgid);
	EXPECT_ERRNO("an_init_cannot_clone_a_sibling_with_clone_parent", EINVAL, v.sibling, v.sibling_errno);
	struct timespec ts = { 5, 0 };
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int sig = sigtimedwait(&chld, &si, &ts);
	EXPECT_EQ("sigchld_outside_names_the_init_by_its_outside_pid", init, sig == SIGCHLD ? si.si_pid : -1);
	CHECK("the_handling_init_exits_normally", exited_with(wait_until(init, TIMEOUT_MS), 0));
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	close(p[1]);
}

/* unshare(CLONE_NEWPID): the caller keeps its pid, its next child is 1 of
 * the new namespace; once that child is gone the namespace is dead. */
static void test_unshare(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t u = fork();
	if (u == 0) {
		int r[6] = { -1, -1, -1, -1, -1, -1 };
		pid_t before = getpid();
		r[0] = unshare(CLONE_NEWPID);
		r[1] = getpid() == before;
		int q[2];
		pipe(q);
		pid_t c = fork();
		if (c == 0) {
			pid_t v[2] = { getpid(), getppid() };
			write(q[1], v, sizeof v);
			_exit(0);
		}
		pid_t v[2] = { -1, -1 };
		read_full(q[0], v, sizeof v);
		r[2] = v[0];
		r[3] = v[1];
		waitpid(c, NULL, 0);
		errno = 0;
		pid_t again = fork();
		if (again == 0)
			_exit(0);
		r[4] = again;
		r[5] = errno;
		write(p[1], r, sizeof r);
		_exit(0);
	}
	int r[6] = { -1, -1, -1, -1, -1, -1 };
	read_full(p[0], r, sizeof r);
	EXPECT_EQ("unshare_newpid_succeeds", 0, r[0]);
	EXPECT_EQ("unshare_newpid_leaves_the_caller_pid_unchanged", 1, r[1]);
	EXPECT_EQ("the_next_child_after_unshare_is_pid_1", 1, r[2]);
	EXPECT_EQ("and_sees_its_parent_as_0", 0, r[3]);
	EXPECT_ERRNO("fork_in_a_namespace_whose_init_died_is_enomem", ENOMEM, r[4], r[5]);
	wait_until(u, TIMEOUT_MS);
	close(p[0]);
	close(p[1]);
}

/* setns(pidfd of an init, CLONE_NEWPID): the caller's next child is born
 * in that namespace, below its init. */
static void test_setns(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t init = fork_newpid();
	if (init == 0) {
		for (;;)
			pause();
	}
	int pidfd = syscall(SYS_pidfd_open, init, 0);
	pid_t q = fork();
	if (q == 0) {
		int r[4] = { -1, -1, -1, -1 };
		r[0] = setns(pidfd, CLONE_NEWPID);
		int s[2];
		pipe(s);
		pid_t c = fork();
		if (c == 0) {
			pid_t v[2] = { getpid(), kill(1, 0) };
			write(s[1], v, sizeof v);
			_exit(0);
		}
		pid_t v[2] = { -1, -1 };
		read_full(s[0], v, sizeof v);
		waitpid(c, NULL, 0);
		r[1] = v[0];
		r[2] = v[1];
		r[3] = c;
		write(p[1], r, sizeof r);
		_exit(0);
	}
	int r[4] = { -1, -1, -1, -1 };
	read_full(p[0], r, sizeof r);
	EXPECT_EQ("setns_into_a_pid_namespace_through_a_pidfd_succeeds", 0, r[0]);
	CHECK("the_next_child_gets_a_number_inside_that_namespace", r[1] > 1);
	EXPECT_EQ("and_sees_the_namespace_init_as_pid_1", 0, r[2]);
	CHECK("its_parent_still_sees_it_by_an_outside_number", r[3] > 1 && r[3] != r[1]);
	wait_until(q, TIMEOUT_MS);
	kill(init, SIGKILL);
	wait_until(init, TIMEOUT_MS);
	close(pidfd);
	close(p[0]);
	close(p[1]);
}

/* Each level clones the next with CLONE_NEWPID and waits for it; the
 * deepest reports how deep the chain got and why it stopped. */
static void nest(int out)
{
	for (int depth = 1;; depth++) {
		pid_t c = fork_newpid();
		if (c < 0) {
			int r[2] = { depth, errno };
			write(out, r, sizeof r);
			_exit(0);
		}
		if (c > 0) {
			waitpid(c, NULL, 0);
			_exit(0);
		}
	}
}

/* How many pid namespaces enclose ours: NSpid has one number per level
 * from the namespace of /proc down (0 here, inside nothing, on our kernel). */
static int own_level(void)
{
	char got[256] = "";
	if (nspid(getpid(), got, sizeof got) < 0)
		return 0;
	int levels = 0;
	for (char *c = got; *c; c++)
		levels += *c == '\t';
	return levels;
}

static void test_nesting_limit(void)
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t c = fork();
	if (c == 0)
		nest(p[1]);
	int r[2] = { -1, -1 };
	read_full(p[0], r, sizeof r);
	EXPECT_EQ("the_33rd_nested_pid_namespace_fails", 33, r[0] + own_level());
	EXPECT_EQ("with_enospc", ENOSPC, r[1]);
	wait_until(c, TIMEOUT_MS);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	check_begin("pidns");
	alarm(60);
	test_pid_one_inside();
	test_nested_numbers();
	test_orphans_reaped_by_the_namespace_init();
	test_signals_and_death();
	test_handler_and_ids();
	test_unshare();
	test_setns();
	test_nesting_limit();
	return check_end();
}
