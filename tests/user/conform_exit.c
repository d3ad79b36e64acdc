/*
 * conform_exit: what a parent hears when a threaded child ends, and what
 * the threads of an orphan see. The exit's SIGCHLD carries the child's
 * uid and goes to the parent's process (any thread may take it); the
 * status is the last thread's own exit code when no exit_group came
 * first (a leader that called exit(2) early does not decide it), and an
 * exit_group's code when one did; a thread that asked for a parent-death
 * signal gets it, and reads its new parent from getppid, when the thread
 * that forked its process exits.
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static sigset_t sigchld_set(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	return set;
}

/* The next SIGCHLD for this thread or its process, within 5 s. */
static siginfo_t next_sigchld(void)
{
	sigset_t set = sigchld_set();
	siginfo_t info = { 0 };
	struct timespec ts = { 5, 0 };
	sigtimedwait(&set, &info, &ts);
	return info;
}

static void sigchld_of_a_user_s_exit(void)
{
	sigset_t set = sigchld_set();
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		setuid(1234);
		_exit(8);
	}
	siginfo_t info = next_sigchld();
	EXPECT_EQ("the_exit_sigchld_says_cld_exited", CLD_EXITED, info.si_code);
	EXPECT_EQ("the_exit_sigchld_has_the_exit_code", 8, info.si_status);
	EXPECT_EQ("the_exit_sigchld_has_the_child_s_uid", 1234, (int)info.si_uid);
	waitpid(pid, NULL, 0);
}

static void *take_sigchld(void *arg)
{
	*(siginfo_t *)arg = next_sigchld();
	return NULL;
}

/* The forking thread has SIGCHLD blocked and does not wait for it; the
 * other thread does, and gets it only if it was sent to the process. */
static void sigchld_goes_to_the_process(void)
{
	sigset_t set = sigchld_set();
	sigprocmask(SIG_BLOCK, &set, NULL);
	siginfo_t info = { 0 };
	pthread_t t;
	pthread_create(&t, NULL, take_sigchld, &info);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	pthread_join(t, NULL);
	EXPECT_EQ("another_thread_of_the_parent_takes_the_exit_sigchld", SIGCHLD, info.si_signo);
	waitpid(pid, NULL, 0);
}

static void *exit_thread_later(void *arg)
{
	sleep_ms(100);
	syscall(SYS_exit, (long)arg);
	return NULL;
}

static void *exit_group_later(void *arg)
{
	sleep_ms(100);
	syscall(SYS_exit_group, (long)arg);
	return NULL;
}

/* The child's leader calls exit(2) with 2 while a thread lives on and
 * ends with `how` (exit or exit_group) and code 6. */
static void leader_exits_first(const char *name, void *(*how)(void *))
{
	sigset_t set = sigchld_set();
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, how, (void *)6);
		syscall(SYS_exit, 2);
	}
	siginfo_t chld = next_sigchld();
	siginfo_t info = { 0 };
	waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
	int status = -1;
	waitpid(pid, &status, 0);
	char check[128];
	snprintf(check, sizeof check, "%s_the_wait_status_is_the_thread_s_code", name);
	EXPECT_EQ(check, 6 << 8, status);
	snprintf(check, sizeof check, "%s_waitid_gives_the_thread_s_code", name);
	EXPECT_EQ(check, 6, info.si_status);
	snprintf(check, sizeof check, "%s_sigchld_gives_the_thread_s_code", name);
	EXPECT_EQ(check, 6, chld.si_status);
}

static void last_thread_decides(void)
{
	leader_exits_first("after_the_leader_s_exit_2_the_last_thread_s_exit_6", exit_thread_later);
}

static void exit_group_decides(void)
{
	leader_exits_first("after_the_leader_s_exit_2_a_thread_s_exit_group_6", exit_group_later);
}

static int ready[2], death[2], ppid_report[2];

static void on_pdeath(int sig)
{
	(void)sig;
	write(death[1], "p", 1);
}

/* A thread of the grandchild asks for SIGUSR1 when its parent dies, then
 * reports the first getppid that is not the dying parent. */
static void *watch_parent(void *arg)
{
	pid_t old = (pid_t)(long)arg;
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	write(ready[1], "r", 1);
	pid_t now = old;
	for (long end = now_ms() + 5000; now == old && now_ms() < end; sleep_ms(5))
		now = getppid();
	write(ppid_report[1], &now, sizeof now);
	return NULL;
}

static void orphan_s_threads_see_the_reaper(void)
{
	pipe(ready);
	pipe(death);
	pipe(ppid_report);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t parent = fork();
	if (parent == 0) {
		pid_t grandchild = fork();
		if (grandchild == 0) {
			signal(SIGUSR1, on_pdeath);
			pthread_t t;
			pthread_create(&t, NULL, watch_parent, (void *)(long)getppid());
			pthread_join(t, NULL);
			sleep_ms(200);
			_exit(0);
		}
		char c;
		read(ready[0], &c, 1);
		_exit(0);
	}
	waitpid(parent, NULL, 0);
	struct pollfd p = { .fd = death[0], .events = POLLIN };
	char c = 0;
	CHECK("a_thread_s_parent_death_signal_comes_when_the_parent_exits",
	      poll(&p, 1, 5000) == 1 && read(death[0], &c, 1) == 1 && c == 'p');
	pid_t seen = 0;
	read_full(ppid_report[0], &seen, sizeof seen);
	EXPECT_EQ("a_thread_of_a_reparented_process_gets_the_reaper_from_getppid", getpid(), seen);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

int main(void)
{
	check_begin("conform_exit");
	as_child(sigchld_of_a_user_s_exit);
	as_child(sigchld_goes_to_the_process);
	as_child(last_thread_decides);
	as_child(exit_group_decides);
	as_child(orphan_s_threads_see_the_reaper);
	return check_end();
}
