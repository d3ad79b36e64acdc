/*
 * ptrace_exit: exits on both sides of a trace. A tracer that exits
 * leaves its tracees running and detached (exit_ptrace), unless it asked
 * for PTRACE_O_EXITKILL, which kills them. A traced process that exits is
 * reported to its tracer first and only then to its real parent, which
 * reaps it.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <sys/ptrace.h>
#include <sys/syscall.h>

static int pipefd[2];

static void on_usr1(int sig)
{
	(void)sig;
	write(pipefd[1], "u", 1);
}

/* A child that answers SIGUSR1 on the pipe and otherwise sleeps. */
static pid_t answering_sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, on_usr1);
		for (;;)
			pause();
	}
	return pid;
}

/* Forks a tracer that attaches to `target` (with PTRACE_SEIZE and
 * `options`, or PTRACE_ATTACH when `options` is -1), waits until it is
 * attached, and exits 0 without detaching. */
static void trace_and_exit(pid_t target, long options)
{
	pid_t tracer = fork();
	if (tracer == 0) {
		if (options < 0) {
			if (pt(PTRACE_ATTACH, target, 0, 0) != 0)
				_exit(1);
			int status = wait_for(target, 0);
			_exit(WIFSTOPPED(status) ? 0 : 2);
		}
		_exit(pt(PTRACE_SEIZE, target, 0, options) == 0 ? 0 : 1);
	}
	int status;
	waitpid(tracer, &status, 0);
	if (!exited_with(status, 0))
		say("    note: the tracer exited with %#x\n", status);
}

static void tracer_exit_detaches(void)
{
	pipe(pipefd);
	pid_t target = answering_sleeper();
	trace_and_exit(target, -1);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", target);
	EXPECT_EQ("a_tracee_whose_tracer_exited_has_tracerpid_0", 0,
		  proc_number(path, "TracerPid:"));
	long deadline = now_ms() + 2000;
	while (proc_state(target) != 'S' && now_ms() < deadline)
		sleep_ms(2);
	EXPECT_EQ("a_tracee_whose_tracer_exited_runs_on", 'S', proc_state(target));
	kill(target, SIGUSR1);
	char c = 0;
	read(pipefd[0], &c, 1);
	EXPECT_EQ("it_handles_its_own_signals_again", 'u', c);
	int status;
	EXPECT_EQ("its_real_parent_has_nothing_to_reap_yet", 0, waitpid(target, &status, WNOHANG));
	kill(target, SIGKILL);
	CHECK("its_real_parent_reaps_it", killed_by(wait_for(target, 0), SIGKILL));
	close(pipefd[0]);
	close(pipefd[1]);
}

static void tracer_exit_kills_with_exitkill(void)
{
	pipe(pipefd);
	pid_t target = answering_sleeper();
	trace_and_exit(target, PTRACE_O_EXITKILL);
	CHECK("exitkill_kills_the_tracee_when_the_tracer_exits",
	      killed_by(wait_for(target, 0), SIGKILL));
	close(pipefd[0]);
	close(pipefd[1]);
}

static void traced_zombie_is_reported_twice(void)
{
	int go[2], reap[2], seen[2];
	pipe(go);
	pipe(reap);
	pipe(seen);
	pid_t target = fork();
	if (target == 0) {
		char c;
		read(go[0], &c, 1);
		_exit(5);
	}
	pid_t tracer = fork();
	if (tracer == 0) {
		pt(PTRACE_SEIZE, target, 0, 0);
		write(seen[1], "a", 1);
		char c;
		read(reap[0], &c, 1);
		int status = wait_for(target, 0);
		write(seen[1], exited_with(status, 5) ? "y" : "n", 1);
		_exit(0);
	}
	char c = 0;
	read(seen[0], &c, 1);
	write(go[1], "g", 1);
	long deadline = now_ms() + 2000;
	while (proc_state(target) != 'Z' && now_ms() < deadline)
		sleep_ms(2);
	EXPECT_EQ("a_traced_process_that_exits_is_a_zombie", 'Z', proc_state(target));
	int status;
	EXPECT_EQ("the_real_parent_cannot_reap_it_before_the_tracer_saw_it", 0,
		  waitpid(target, &status, WNOHANG));
	write(reap[1], "r", 1);
	read(seen[0], &c, 1);
	EXPECT_EQ("the_tracer_sees_the_exit_first", 'y', c);
	CHECK("then_the_real_parent_reaps_it_with_its_status", exited_with(wait_for(target, 0), 5));
	waitpid(tracer, &status, 0);
	CHECK("the_tracer_exits_cleanly", exited_with(status, 0));
}

int main(void)
{
	check_begin("ptrace_exit");
	tracer_exit_detaches();
	tracer_exit_kills_with_exitkill();
	traced_zombie_is_reported_twice();
	return check_end();
}
