/*
 * ptrace_clone: CLONE_PTRACE, CLONE_UNTRACED, PTRACE_KILL and
 * PTRACE_SETSIGINFO.
 *
 * A tracee's child made with CLONE_PTRACE starts traced by the same
 * tracer, with a SIGSTOP, though the tracer asked for no fork events;
 * CLONE_UNTRACED keeps a child out of the tracer's hands even under
 * PTRACE_O_TRACEFORK (no fork event, TracerPid 0), and CLONE_PTRACE wins
 * over it. PTRACE_KILL kills a tracee whether stopped or running.
 * PTRACE_SETSIGINFO at a signal-delivery stop changes the siginfo the
 * tracee's handler gets. waitid reports a syscall or event stop as
 * CLD_TRAPPED with the whole stop code in si_status.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

/* The TracerPid line of /proc/<pid>/status, -1 if unreadable. */
static int tracer_pid(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *line = strstr(buf, "TracerPid:");
	return line ? atoi(line + strlen("TracerPid:")) : -1;
}

/* A child that stops for its parent to trace it, then makes a child of
 * its own with clone(`flags` | SIGCHLD) that sleeps until killed, writes
 * that child's pid to `out` and waits for it. */
static pid_t traced_cloner(long flags, long options, int out)
{
	pid_t pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		pid_t child = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
		if (child == 0) {
			for (;;)
				pause();
		}
		if (write(out, &child, sizeof child) != sizeof child)
			_exit(3);
		int status;
		waitpid(child, &status, 0);
		_exit(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : 4);
	}
	if (wait_for(pid, 0) != 0x137f)
		return -1;
	pt(PTRACE_SETOPTIONS, pid, 0, options);
	pt(PTRACE_CONT, pid, 0, 0);
	return pid;
}

/* Reads the grandchild's pid that traced_cloner writes. */
static pid_t read_pid(int in)
{
	pid_t pid = -1;
	if (read(in, &pid, sizeof pid) != sizeof pid)
		return -1;
	return pid;
}

/* Kills the grandchild, sees its death first if we trace it (`*traced`
 * gets that status), and lets the tracee reap it; returns the tracee's
 * exit status. */
static int finish(pid_t tracee, pid_t grandchild, int *traced)
{
	kill(grandchild, SIGKILL);
	if (traced)
		*traced = wait_for(grandchild, 0);
	int status;
	while ((status = wait_for(tracee, 0)) != -1 && WIFSTOPPED(status))
		pt(PTRACE_CONT, tracee, 0, 0);
	return status;
}

static void clone_ptrace(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid_t tracee = traced_cloner(CLONE_PTRACE, 0, fds[1]);
	pid_t grandchild = read_pid(fds[0]);
	CHECK("a_clone_ptrace_child_is_reported_to_the_tracer_stopped_by_sigstop",
	      grandchild > 0 && wait_for(grandchild, 0) == 0x137f);
	EXPECT_EQ("its_tracer_is_the_tracer_of_its_parent", getpid(), tracer_pid(grandchild));
	CHECK("it_runs_on_after_cont", pt(PTRACE_CONT, grandchild, 0, 0) == 0);
	int seen = -1;
	int status = finish(tracee, grandchild, &seen);
	EXPECT_EQ("the_tracer_sees_its_death", SIGKILL, seen);
	CHECK("then_its_real_parent_reaps_it", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);
}

static void clone_untraced(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid_t tracee = traced_cloner(CLONE_UNTRACED, PTRACE_O_TRACEFORK, fds[1]);
	pid_t grandchild = read_pid(fds[0]);
	EXPECT_EQ("a_clone_untraced_child_is_not_traced_even_under_tracefork", 0,
		  tracer_pid(grandchild));
	int status = -1;
	CHECK("the_tracer_cannot_wait_for_it",
	      waitpid(grandchild, &status, __WALL | WNOHANG) == -1 && errno == ECHILD);
	/* A fork event would have stopped the tracee before it wrote the pid. */
	EXPECT_EQ("the_tracee_did_not_stop_for_a_fork_event", 0,
		  waitpid(tracee, &status, __WALL | WNOHANG));
	status = finish(tracee, grandchild, NULL);
	CHECK("and_the_tracee_reaps_its_child", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);

	if (pipe(fds) != 0)
		return;
	tracee = traced_cloner(CLONE_UNTRACED | CLONE_PTRACE, 0, fds[1]);
	grandchild = read_pid(fds[0]);
	CHECK("clone_ptrace_wins_over_clone_untraced",
	      grandchild > 0 && wait_for(grandchild, 0) == 0x137f);
	pt(PTRACE_CONT, grandchild, 0, 0);
	finish(tracee, grandchild, &status);
	close(fds[0]);
	close(fds[1]);
}

/* A tracee that stops once, then sleeps until killed. */
static pid_t stopped_tracee(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		for (;;)
			pause();
	}
	return wait_for(pid, 0) == 0x137f ? pid : -1;
}

static void ptrace_kill(void)
{
	pid_t pid = stopped_tracee();
	EXPECT_EQ("ptrace_kill_of_a_stopped_tracee_returns_0", 0, pt(PTRACE_KILL, pid, 0, 0));
	EXPECT_EQ("and_it_dies_of_sigkill", SIGKILL, wait_for(pid, 0));

	pid = stopped_tracee();
	pt(PTRACE_CONT, pid, 0, 0);
	EXPECT_EQ("ptrace_kill_of_a_running_tracee_returns_0", 0, pt(PTRACE_KILL, pid, 0, 0));
	EXPECT_EQ("and_it_dies_of_sigkill_too", SIGKILL, wait_for(pid, 0));

	EXPECT_FAILS("ptrace_kill_of_a_task_we_do_not_trace_is_esrch", ESRCH,
		     pt(PTRACE_KILL, getppid(), 0, 0));
}

static int report_fd;

static void on_usr1(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	int seen[3] = {info->si_code, info->si_pid, info->si_value.sival_int};
	if (write(report_fd, seen, sizeof seen) != sizeof seen)
		_exit(3);
}

static void setsiginfo(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return;
	report_fd = fds[1];
	struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sa, NULL);
	pid_t pid = stopped_tracee();
	pt(PTRACE_CONT, pid, 0, 0);
	kill(pid, SIGUSR1);
	EXPECT_EQ("sigusr1_stops_the_tracee", (SIGUSR1 << 8) | 0x7f, wait_for(pid, 0));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
	EXPECT_EQ("getsiginfo_says_si_user", SI_USER, si.si_code);
	si.si_code = SI_QUEUE;
	si.si_pid = 4242;
	si.si_value.sival_int = 77;
	EXPECT_EQ("setsiginfo_returns_0", 0, pt(PTRACE_SETSIGINFO, pid, 0, (long)&si));
	siginfo_t back;
	memset(&back, 0, sizeof back);
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&back);
	CHECK("getsiginfo_reads_the_new_siginfo_back",
	      back.si_code == SI_QUEUE && back.si_pid == 4242 && back.si_value.sival_int == 77);
	pt(PTRACE_CONT, pid, 0, SIGUSR1);
	int seen[3] = {0, 0, 0};
	CHECK("the_handler_runs", read(fds[0], seen, sizeof seen) == sizeof seen);
	EXPECT_EQ("it_gets_the_si_code_the_tracer_set", SI_QUEUE, seen[0]);
	EXPECT_EQ("and_its_si_pid", 4242, seen[1]);
	EXPECT_EQ("and_its_si_value", 77, seen[2]);
	kill(pid, SIGKILL);
	wait_for(pid, 0);
	close(fds[0]);
	close(fds[1]);
}

/* waitid (WEXITED | WNOWAIT: a ptrace stop needs no WSTOPPED) on `pid`;
 * returns si_code and stores si_status, 0 when nothing was reported. */
static int waitid_stop(pid_t pid, int *status)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT | __WALL) != 0)
		return -1;
	*status = si.si_status;
	return si.si_code;
}

/* waitid's view of a syscall stop and an event stop: CLD_TRAPPED, and
 * si_status the whole stop code (wait4's status >> 8). */
static void waitid_trapped(void)
{
	pid_t pid = stopped_tracee();
	pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	pt(PTRACE_SYSCALL, pid, 0, 0);
	int status = -1;
	int code = waitid_stop(pid, &status);
	EXPECT_EQ("waitid_reports_a_syscall_stop_as_cld_trapped", CLD_TRAPPED, code);
	EXPECT_EQ("with_si_status_sigtrap_or_0x80", SIGTRAP | 0x80, status);
	EXPECT_EQ("which_wait4_still_reports", ((SIGTRAP | 0x80) << 8) | 0x7f, wait_for(pid, 0));
	/* Woken by the kill, not by us, it leaves its stop with its own
	 * stop code (SIGTRAP | 0x80), which is no signal to send on. */
	kill(pid, SIGKILL);
	EXPECT_EQ("sigkill_ends_a_tracee_in_a_sysgood_syscall_stop", SIGKILL, wait_for(pid, 0));

	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid = traced_cloner(0, PTRACE_O_TRACEFORK, fds[1]);
	code = waitid_stop(pid, &status);
	EXPECT_EQ("waitid_reports_a_fork_event_stop_as_cld_trapped", CLD_TRAPPED, code);
	EXPECT_EQ("with_si_status_sigtrap_or_the_event_shifted_left_8",
		  SIGTRAP | (PTRACE_EVENT_FORK << 8), status);
	unsigned long msg = 0;
	wait_for(pid, 0);
	pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
	pt(PTRACE_CONT, pid, 0, 0);
	pid_t grandchild = read_pid(fds[0]);
	EXPECT_EQ("the_event_message_is_the_child", grandchild, (pid_t)msg);
	wait_for(grandchild, 0);
	pt(PTRACE_CONT, grandchild, 0, 0);
	finish(pid, grandchild, &status);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	check_begin("ptrace_clone");
	clone_ptrace();
	clone_untraced();
	ptrace_kill();
	setsiginfo();
	waitid_trapped();
	return check_end();
}
