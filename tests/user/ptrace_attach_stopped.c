/*
 * ptrace_attach_stopped: PTRACE_ATTACH to a process already in a group
 * stop re-traps it (Linux's JOBCTL_TRAP_STOP | JOBCTL_TRAPPING) and
 * returns only once it is in its ptrace stop, so the tracer's very next
 * wait, even with WNOHANG, reports the stop (0x137f). A SIGCONT to the
 * traced process then sends SIGCHLD with CLD_CONTINUED to both its real
 * parent and its tracer (do_notify_parent_cldstop for each), and the real
 * parent's waitpid(WCONTINUED) reports 0xffff.
 *
 * The tracer is a second child of the test, so that it is not the real
 * parent; it reports what it saw as bits of its exit status.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <signal.h>
#include <sys/ptrace.h>

enum {
	SAW_STOP_AT_ONCE = 1 << 0,
	GETSIGINFO_EINVAL = 1 << 1,
	SAW_ATTACH_SIGSTOP = 1 << 2,
	SAW_CLD_CONTINUED = 1 << 3,
	SAW_SIGCONT_STOP = 1 << 4,
	STATE_WAS_TRACED = 1 << 5,
};

static volatile sig_atomic_t chld_continued_from;

static void on_sigchld(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (si->si_code == CLD_CONTINUED && si->si_status == SIGCONT)
		chld_continued_from = si->si_pid;
}

static void catch_sigchld(void)
{
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_sigchld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, 0);
}

static int tracer(pid_t child, int ready_fd)
{
	int seen = 0, status = -1;
	catch_sigchld();
	if (pt(PTRACE_ATTACH, child, 0, 0) != 0)
		return 0x80;
	if (waitpid(child, &status, WNOHANG) == child && status == 0x137f)
		seen |= SAW_STOP_AT_ONCE;
	if (proc_state(child) == 't')
		seen |= STATE_WAS_TRACED;
	siginfo_t si;
	errno = 0;
	if (pt(PTRACE_GETSIGINFO, child, 0, (long)&si) == -1 && errno == EINVAL)
		seen |= GETSIGINFO_EINVAL;
	/* The SIGSTOP that attach sent comes next; drop it. */
	pt(PTRACE_CONT, child, 0, 0);
	if (wait_for(child, 0) == 0x137f)
		seen |= SAW_ATTACH_SIGSTOP;
	pt(PTRACE_CONT, child, 0, 0);
	/* SIGCONT only once the tracee is back asleep in pause(): sent while
	 * it is still leaving its last ptrace stop, Linux may report no
	 * CLD_CONTINUED (seen 2 times in 40 on a loaded host CPU). */
	for (int i = 0; i < 2000 && proc_state(child) != 'S'; i++)
		usleep(1000);
	chld_continued_from = 0;
	if (write(ready_fd, "r", 1) != 1)
		return 0x80;
	if (wait_for(child, 0) == 0x127f)
		seen |= SAW_SIGCONT_STOP;
	if (chld_continued_from == child)
		seen |= SAW_CLD_CONTINUED;
	pt(PTRACE_DETACH, child, 0, 0);
	return seen;
}

int main(void)
{
	check_begin("ptrace_attach_stopped");
	catch_sigchld();
	pid_t child = fork();
	if (child == 0)
		for (;;)
			pause();
	kill(child, SIGSTOP);
	int status = wait_for(child, WUNTRACED);
	EXPECT_EQ("the_real_parent_sees_the_group_stop", 0x137f, status);

	int fds[2];
	if (pipe(fds) < 0)
		return 1;
	pid_t t = fork();
	if (t == 0) {
		close(fds[0]);
		_exit(tracer(child, fds[1]));
	}
	close(fds[1]);
	char c;
	if (read(fds[0], &c, 1) == 1) {
		chld_continued_from = 0;
		kill(child, SIGCONT);
	}
	int tstatus = wait_for(t, 0);
	int seen = WIFEXITED(tstatus) ? WEXITSTATUS(tstatus) : 0x80;
	CHECK("attach_to_a_stopped_process_returns_once_it_is_in_its_ptrace_stop", seen & SAW_STOP_AT_ONCE);
	CHECK("and_proc_shows_it_in_tracing_stop_at_once", seen & STATE_WAS_TRACED);
	CHECK("the_re_trap_is_a_group_stop_without_siginfo", seen & GETSIGINFO_EINVAL);
	CHECK("then_the_sigstop_that_attach_sent_is_reported", seen & SAW_ATTACH_SIGSTOP);
	CHECK("sigcont_to_the_tracee_sends_cld_continued_to_the_tracer", seen & SAW_CLD_CONTINUED);
	CHECK("the_tracer_then_sees_the_sigcont_delivery_stop", seen & SAW_SIGCONT_STOP);
	CHECK("and_to_the_real_parent", chld_continued_from == child);
	status = wait_for(child, WCONTINUED | WNOHANG);
	EXPECT_EQ("the_real_parents_waitpid_wcontinued_reports_0xffff", 0xffff, status);
	kill(child, SIGKILL);
	status = wait_for(child, 0);
	EXPECT_EQ("the_child_dies_of_sigkill", SIGKILL, status);
	return check_end();
}
