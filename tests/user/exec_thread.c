/*
 * exec_thread: execve from a thread that is not the group leader kills the
 * other threads, and the new program runs with the process's pid (the
 * leader's), not the thread's tid; the parent sees the process exit once.
 * A process whose clone asked for another exit signal (SIGUSR1) tells its
 * parent with SIGCHLD once a thread's exec made that thread the leader,
 * as Linux's de_thread() sets.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char helper[256];
static char pid_arg[16], ppid_arg[16];

static void *exec_from_thread(void *arg)
{
	(void)arg;
	char *argv[] = { helper, "args", pid_arg, ppid_arg, "two words", "", NULL };
	char *envp[] = { "EXEC_HELPER_A=1", "EXEC_HELPER_B=two words", NULL };
	execve(helper, argv, envp);
	_exit(100);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* In the child: a sleeping thread and one that execs the helper. */
static void threads_then_exec(void)
{
	snprintf(pid_arg, sizeof pid_arg, "%d", getpid());
	snprintf(ppid_arg, sizeof ppid_arg, "%d", getppid());
	pthread_t idle, execer;
	pthread_create(&idle, NULL, sleeper, NULL);
	pthread_create(&execer, NULL, exec_from_thread, NULL);
	for (;;)
		pause();
}

/* A child cloned with SIGUSR1 as its exit signal execs from a thread: its
 * exit then sends SIGCHLD, not SIGUSR1. */
static void exec_from_a_thread_resets_the_exit_signal(void)
{
	sigset_t both, old;
	sigemptyset(&both);
	sigaddset(&both, SIGCHLD);
	sigaddset(&both, SIGUSR1);
	sigprocmask(SIG_BLOCK, &both, &old);
	pid_t child = syscall(SYS_clone, SIGUSR1, NULL, NULL, NULL, NULL);
	if (child == 0)
		threads_then_exec();
	int status = -1;
	EXPECT_EQ("waitpid_with_wall_returns_the_clone_child", child, waitpid(child, &status, __WALL));
	EXPECT_EQ("the_clone_child_s_new_program_exited_0", 0, status);
	sigset_t pending;
	sigpending(&pending);
	CHECK("its_exit_sent_sigchld_after_a_thread_s_exec_made_that_thread_the_leader",
	      sigismember(&pending, SIGCHLD) && !sigismember(&pending, SIGUSR1));
	struct timespec now = { 0, 0 };
	while (sigtimedwait(&both, NULL, &now) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(int argc, char **argv)
{
	(void)argc;
	check_begin("exec_thread");
	sibling(argv[0], "exec_helper", helper, sizeof helper);
	pid_t child = fork();
	if (child == 0)
		threads_then_exec();
	int status = -1;
	EXPECT_EQ("waitpid_returns_the_process_once", child, waitpid(child, &status, 0));
	CHECK("the_process_exited_normally", WIFEXITED(status));
	EXPECT_EQ("the_new_program_ran_with_the_leaders_pid_and_parent", 0, WEXITSTATUS(status));
	EXPECT_ERRNO("no_other_member_of_the_old_process_is_left", ECHILD, waitpid(-1, &status, WNOHANG), errno);
	exec_from_a_thread_resets_the_exit_signal();
	return check_end();
}
