/*
 * ptrace_events: the event stops and the ways in. With TRACEFORK,
 * TRACECLONE, TRACEVFORK, TRACEVFORKDONE, TRACEEXEC and TRACEEXIT the
 * tracer stops at each event, PTRACE_GETEVENTMSG names the new child (or
 * the exit status), and every new child starts traced with a SIGSTOP.
 * PTRACE_ATTACH from a process that is not the parent: the tracer becomes
 * the tracee's parent for wait, while getppid() and PPid keep the real
 * one. PTRACE_SEIZE, INTERRUPT and LISTEN.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

static const char *self;

static int clone_child(void *arg)
{
	(void)arg;
	return 0;
}

/* The traced child: fork (the grandchild execs and exits 3), clone (a
 * clone child that exits at once), vfork (the grandchild execs and exits
 * 4). Writes what fork, clone and vfork returned to `out`. */
static int family(int out)
{
	pid_t pids[3];
	int status = -1;
	pids[0] = fork();
	if (pids[0] == 0) {
		execl(self, self, "exit", "3", (char *)NULL);
		_exit(99);
	}
	waitpid(pids[0], &status, 0);
	int ok = exited_with(status, 3);
	static char stack[16384];
	pids[1] = clone(clone_child, stack + sizeof stack, 0, NULL);
	ok &= waitpid(pids[1], &status, __WCLONE) == pids[1];
	pids[2] = vfork();
	if (pids[2] == 0) {
		execl(self, self, "exit", "4", (char *)NULL);
		_exit(99);
	}
	waitpid(pids[2], &status, 0);
	ok &= exited_with(status, 4);
	write(out, pids, sizeof pids);
	return ok ? 0 : 1;
}

struct seen {
	long fork_msg, clone_msg, vfork_msg, vfork_done_msg;
	long exec_msg[2], exec_pid[2];
	int execs;
	long exit_msg_3;
	int new_tracees_stopped;
};

/* Runs the tracer loop until `child` exits; returns its status. */
static int trace_all(pid_t child, struct seen *s)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0)
			return -1;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == child)
				return status;
			continue;
		}
		int sig = WSTOPSIG(status), event = status >> 16, deliver = 0;
		unsigned long msg = 0;
		pt(PTRACE_GETEVENTMSG, pid, 0, (long)&msg);
		switch (event) {
		case PTRACE_EVENT_FORK: s->fork_msg = msg; break;
		case PTRACE_EVENT_CLONE: s->clone_msg = msg; break;
		case PTRACE_EVENT_VFORK: s->vfork_msg = msg; break;
		case PTRACE_EVENT_VFORK_DONE: s->vfork_done_msg = msg; break;
		case PTRACE_EVENT_EXEC:
			if (s->execs < 2) {
				s->exec_msg[s->execs] = msg;
				s->exec_pid[s->execs++] = pid;
			}
			break;
		case PTRACE_EVENT_EXIT:
			if (msg == 3 << 8)
				s->exit_msg_3 = msg;
			break;
		case 0:
			if (sig == SIGSTOP && pid != child)
				s->new_tracees_stopped++;
			else if (sig != SIGSTOP && sig != SIGTRAP)
				deliver = sig;
			break;
		}
		pt(PTRACE_CONT, pid, 0, deliver);
	}
}

static void events(void)
{
	int report[2];
	pipe(report);
	pid_t child = fork();
	if (child == 0) {
		close(report[0]);
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(family(report[1]));
	}
	close(report[1]);
	int status = wait_for(child, 0);
	long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;
	EXPECT_EQ("setoptions_takes_the_event_options", 0, pt(PTRACE_SETOPTIONS, child, 0, opts));
	struct seen s = { 0 };
	pt(PTRACE_CONT, child, 0, 0);
	status = trace_all(child, &s);
	pid_t pids[3] = { -1, -1, -1 };
	read_full(report[0], pids, sizeof pids);
	close(report[0]);
	CHECK("the_tracee_forks_clones_and_vforks_as_usual", exited_with(status, 0));
	EXPECT_EQ("the_fork_event_message_is_the_new_childs_pid", pids[0], s.fork_msg);
	EXPECT_EQ("the_clone_event_message_is_the_clone_childs_pid", pids[1], s.clone_msg);
	EXPECT_EQ("the_vfork_event_message_is_the_vfork_childs_pid", pids[2], s.vfork_msg);
	EXPECT_EQ("the_vfork_done_event_message_is_the_vfork_childs_pid", pids[2],
		  s.vfork_done_msg);
	EXPECT_EQ("each_new_child_starts_traced_with_a_sigstop", 3, s.new_tracees_stopped);
	CHECK("the_exec_event_stops_the_new_child_and_names_its_pid",
	      s.execs == 2 && s.exec_pid[0] == pids[0] && s.exec_msg[0] == pids[0]);
	EXPECT_EQ("the_exit_event_message_is_the_exit_status", 3 << 8, s.exit_msg_3);
}

static void sleeper(void)
{
	for (;;)
		pause();
}

/* In a second child of ours: attach to our first child, a sleeper. */
static void attacher(pid_t target, pid_t real_parent)
{
	EXPECT_EQ("attach_to_a_process_of_the_same_user_succeeds", 0,
		  pt(PTRACE_ATTACH, target, 0, 0));
	int status = wait_for(target, 0);
	CHECK("attach_stops_the_tracee_with_sigstop_seen_by_the_tracers_wait",
	      WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", target);
	EXPECT_EQ("the_tracee_keeps_its_real_parent_as_ppid", real_parent,
		  proc_number(path, "PPid:"));
	EXPECT_EQ("tracerpid_names_the_attaching_process", getpid(),
		  proc_number(path, "TracerPid:"));
	EXPECT_EQ("detach_resumes_the_tracee", 0, pt(PTRACE_DETACH, target, 0, 0));
	EXPECT_EQ("after_detach_tracerpid_is_0", 0, proc_number(path, "TracerPid:"));
	EXPECT_FAILS("after_detach_it_is_no_longer_our_tracee", ESRCH,
		     pt(PTRACE_CONT, target, 0, 0));
}

static void attach_detach(void)
{
	pid_t target = fork();
	if (target == 0)
		sleeper();
	pid_t me = getpid();
	pid_t tracer = fork();
	if (tracer == 0) {
		attacher(target, me);
		_exit(check_end());
	}
	int status;
	waitpid(tracer, &status, 0);
	CHECK("the_attaching_process_passed_its_checks", exited_with(status, 0));
	long deadline = now_ms() + 2000;
	while (proc_state(target) != 'S' && now_ms() < deadline)
		sleep_ms(2);
	EXPECT_EQ("the_detached_tracee_sleeps_on_in_pause", 'S', proc_state(target));
	EXPECT_EQ("the_real_parent_sees_no_stop_to_report", 0, waitpid(target, &status, WNOHANG));
	kill(target, SIGKILL);
	waitpid(target, &status, 0);
}

static void seize_interrupt_listen(void)
{
	pid_t pid = fork();
	if (pid == 0)
		sleeper();
	EXPECT_EQ("seize_attaches_without_stopping", 0, pt(PTRACE_SEIZE, pid, 0, 0));
	sleep_ms(20);
	int status;
	EXPECT_EQ("a_seized_tracee_has_no_stop_to_report", 0, waitpid(pid, &status, WNOHANG));
	EXPECT_EQ("interrupt_succeeds_on_a_seized_tracee", 0, pt(PTRACE_INTERRUPT, pid, 0, 0));
	status = wait_for(pid, 0);
	CHECK("interrupt_stops_it_with_ptrace_event_stop",
	      WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP &&
	      status >> 16 == PTRACE_EVENT_STOP);
	EXPECT_EQ("listen_succeeds_in_an_event_stop", 0, pt(PTRACE_LISTEN, pid, 0, 0));
	EXPECT_EQ("a_listening_tracee_is_not_reported_again", 0, waitpid(pid, &status, WNOHANG | __WALL));
	EXPECT_FAILS("a_listening_tracee_takes_no_requests_but_interrupt", ESRCH,
		     pt(PTRACE_DETACH, pid, 0, 0));
	pt(PTRACE_INTERRUPT, pid, 0, 0);
	status = wait_for(pid, 0);
	CHECK("interrupt_makes_a_listening_tracee_report_again",
	      WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP);
	EXPECT_EQ("detach_ends_the_seize", 0, pt(PTRACE_DETACH, pid, 0, 0));
	kill(pid, SIGKILL);
	CHECK("the_detached_tracee_dies_of_sigkill", killed_by(wait_for(pid, 0), SIGKILL));
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	self = argv[0];
	check_begin("ptrace_events");
	events();
	attach_detach();
	seize_interrupt_listen();
	return check_end();
}
