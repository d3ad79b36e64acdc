/*
 * ptrace_gstop: a traced process's group stop. A stop signal first shows
 * as a signal-delivery-stop; resumed with it, the tracee reports the group
 * stop from a ptrace stop (status sig << 8 | 0x7f, with PTRACE_SEIZE also
 * PTRACE_EVENT_STOP << 16), where PTRACE_CONT and PTRACE_LISTEN act on it.
 * waitid reports ptrace stops as CLD_TRAPPED. A listening tracee re-traps
 * when SIGCONT ends the stop or PTRACE_INTERRUPT asks. A thread created by
 * a tracee resumed out of a group stop joins that stop, and so does every
 * thread created while a SIGSTOP arrives (untraced).
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/ptrace.h>

/* Linux's status words, as wait4 gives them. */
#define STOP_STATUS(sig) (((sig) << 8) | 0x7f)
#define EVENT_STOP_STATUS(sig) (STOP_STATUS(sig) | (PTRACE_EVENT_STOP << 16))

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen = 1;
}

/* fork() with SIGUSR1 already caught in the child: set in the child, the
 * handler could come after a SIGUSR1 that the tracer injects (at --smp 4 the
 * default action killed it). */
static pid_t fork_catching_usr1(void)
{
	signal(SIGUSR1, on_usr1);
	pid_t pid = fork();
	if (pid != 0)
		signal(SIGUSR1, SIG_DFL);
	return pid;
}

/* A child that waits in pause() for signals, forever. */
static pid_t pausing_child(void)
{
	pid_t pid = fork_catching_usr1();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/* The next stop of `pid` through waitid: its si_code and si_status. */
static void waitid_stop(pid_t pid, int *code, int *status)
{
	siginfo_t si = { 0 };
	*code = *status = -1;
	if (waitid(P_PID, pid, &si, WSTOPPED | WEXITED | __WALL) == 0) {
		*code = si.si_code;
		*status = si.si_status;
	}
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	wait_for(pid, 0);
}

/* PTRACE_ATTACH: the group stop is a ptrace stop without siginfo, which
 * PTRACE_CONT resumes. */
static void attached_group_stop(void)
{
	pid_t pid = pausing_child();
	pt(PTRACE_ATTACH, pid, 0, 0);
	EXPECT_EQ("attach_stops_the_tracee_with_sigstop", STOP_STATUS(SIGSTOP), wait_for(pid, 0));
	pt(PTRACE_CONT, pid, 0, 0);
	sleep_ms(50);
	kill(pid, SIGSTOP);
	int code, status;
	waitid_stop(pid, &code, &status);
	EXPECT_EQ("waitid_reports_a_signal_delivery_stop_as_cld_trapped", CLD_TRAPPED, code);
	EXPECT_EQ("waitid_reports_the_signal_of_a_signal_delivery_stop", SIGSTOP, status);
	siginfo_t si = { 0 };
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
	EXPECT_EQ("a_signal_delivery_stop_has_the_signals_siginfo", SIGSTOP, si.si_signo);
	EXPECT_EQ("cont_with_the_stop_signal_returns_0", 0, pt(PTRACE_CONT, pid, 0, SIGSTOP));
	EXPECT_EQ("the_group_stop_is_reported_as_a_ptrace_stop_with_the_stop_signal",
		  STOP_STATUS(SIGSTOP), wait_for(pid, 0));
	EXPECT_EQ("proc_shows_the_tracee_in_group_stop_as_tracing_stop", 't', proc_state(pid));
	EXPECT_FAILS("a_group_stop_of_an_attached_tracee_has_no_siginfo", EINVAL,
		     pt(PTRACE_GETSIGINFO, pid, 0, (long)&si));
	EXPECT_EQ("ptrace_cont_resumes_a_tracee_in_group_stop", 0, pt(PTRACE_CONT, pid, 0, 0));
	sleep_ms(50);
	kill(pid, SIGTERM);
	EXPECT_EQ("the_resumed_tracee_takes_its_next_signal", STOP_STATUS(SIGTERM),
		  wait_for(pid, 0));
	pt(PTRACE_CONT, pid, 0, SIGTERM);
	CHECK("the_tracee_dies_of_the_signal_it_was_resumed_with",
	      killed_by(wait_for(pid, 0), SIGTERM));
}

/* SIGSTOP to a seized tracee, up to its PTRACE_EVENT_STOP. */
static void seized_stop(pid_t pid, const char *name)
{
	kill(pid, SIGSTOP);
	int status = wait_for(pid, 0);
	pt(PTRACE_CONT, pid, 0, SIGSTOP);
	status = status == STOP_STATUS(SIGSTOP) ? wait_for(pid, 0) : status;
	EXPECT_EQ(name, EVENT_STOP_STATUS(SIGSTOP), status);
}

/* PTRACE_SEIZE: the group stop is a PTRACE_EVENT_STOP, LISTEN leaves it
 * stopped until SIGCONT or PTRACE_INTERRUPT re-traps it. */
static void seized_group_stop_and_listen(void)
{
	pid_t pid = pausing_child();
	pt(PTRACE_SEIZE, pid, 0, 0);
	seized_stop(pid, "a_seized_tracees_group_stop_is_a_ptrace_event_stop");
	siginfo_t si = { 0 };
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
	EXPECT_EQ("the_event_stops_siginfo_has_the_stop_signal", SIGSTOP, si.si_signo);
	EXPECT_EQ("the_event_stops_si_code_is_its_exit_code", SIGSTOP | PTRACE_EVENT_STOP << 8,
		  si.si_code);
	EXPECT_EQ("listen_on_an_event_stop_returns_0", 0, pt(PTRACE_LISTEN, pid, 0, 0));
	EXPECT_EQ("a_listening_tracee_is_not_reported_again", 0, waitpid(pid, NULL, WNOHANG | __WALL));
	EXPECT_FAILS("a_listening_tracee_cannot_be_continued", ESRCH, pt(PTRACE_CONT, pid, 0, 0));
	EXPECT_EQ("a_listening_tracee_stays_in_tracing_stop", 't', proc_state(pid));
	kill(pid, SIGUSR1);
	sleep_ms(100);
	EXPECT_EQ("a_new_signal_leaves_a_listening_tracee_stopped", 0,
		  waitpid(pid, NULL, WNOHANG | __WALL));
	EXPECT_EQ("interrupt_of_a_listening_tracee_returns_0", 0, pt(PTRACE_INTERRUPT, pid, 0, 0));
	EXPECT_EQ("interrupt_re_traps_a_listening_tracee_in_its_group_stop",
		  EVENT_STOP_STATUS(SIGSTOP), wait_for(pid, 0));
	pt(PTRACE_LISTEN, pid, 0, 0);
	kill(pid, SIGCONT);
	int code, status;
	waitid_stop(pid, &code, &status);
	EXPECT_EQ("sigcont_re_traps_a_listening_tracee_reported_as_cld_trapped", CLD_TRAPPED, code);
	EXPECT_EQ("the_re_trap_after_sigcont_is_an_event_stop_with_sigtrap",
		  SIGTRAP | PTRACE_EVENT_STOP << 8, status);
	pt(PTRACE_CONT, pid, 0, 0);
	EXPECT_EQ("then_the_pending_sigusr1_is_delivered", STOP_STATUS(SIGUSR1), wait_for(pid, 0));
	pt(PTRACE_CONT, pid, 0, 0);
	EXPECT_EQ("then_the_sigcont_is_delivered", STOP_STATUS(SIGCONT), wait_for(pid, 0));
	EXPECT_FAILS("listen_outside_an_event_stop_is_eio", EIO, pt(PTRACE_LISTEN, pid, 0, 0));
	pt(PTRACE_CONT, pid, 0, 0);
	kill_and_reap(pid);
}

/* A tracer that is not the real parent: the real parent is told of the
 * group stop once it is complete, the tracer of each ptrace stop. */
static void real_parent_sees_the_group_stop(void)
{
	pid_t pid = pausing_child();
	int ready[2];
	if (pipe(ready) < 0)
		return;
	pid_t tracer = fork();
	if (tracer == 0) {
		pt(PTRACE_SEIZE, pid, 0, 0);
		if (write(ready[1], "s", 1) != 1)
			_exit(3);
		int status = wait_for(pid, 0);
		pt(PTRACE_CONT, pid, 0, SIGSTOP);
		int gstop = wait_for(pid, 0);
		pt(PTRACE_LISTEN, pid, 0, 0);
		int after_cont = wait_for(pid, 0);
		pt(PTRACE_DETACH, pid, 0, 0);
		_exit(status == STOP_STATUS(SIGSTOP) && gstop == EVENT_STOP_STATUS(SIGSTOP) &&
				      after_cont == EVENT_STOP_STATUS(SIGTRAP)
			      ? 0
			      : 1);
	}
	char c;
	if (read(ready[0], &c, 1) != 1)
		return;
	kill(pid, SIGSTOP);
	int status = -1;
	waitpid(pid, &status, WUNTRACED);
	EXPECT_EQ("the_real_parent_sees_a_tracees_group_stop_with_wuntraced",
		  STOP_STATUS(SIGSTOP), status);
	kill(pid, SIGCONT);
	status = -1;
	waitpid(pid, &status, WCONTINUED);
	EXPECT_EQ("the_real_parent_sees_it_continued", 0xffff, status);
	CHECK("the_tracer_saw_delivery_event_stop_and_sigcont_re_trap",
	      exited_with(wait_for(tracer, 0), 0));
	close(ready[0]);
	close(ready[1]);
	kill_and_reap(pid);
}

static volatile int thread_ran;

static void *mark_ran(void *arg)
{
	(void)arg;
	thread_ran = 1;
	return NULL;
}

/* The tracee, resumed out of a group stop by its tracer, creates a thread
 * when SIGUSR1 comes; exits with 10 * (the thread ran before SIGCONT) +
 * (it ran after). SIGUSR1 is blocked but in sigsuspend: with pause(), its
 * handler could run between the test of usr1_seen and the call, and the
 * call would wait for ever (a tracee resumed out of its group stop goes
 * back to user space to restart pause(), where the signal can come). */
static void thread_maker(void)
{
	sigset_t usr1, waiting;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &waiting);
	sigdelset(&waiting, SIGUSR1);
	while (!usr1_seen)
		sigsuspend(&waiting);
	pthread_t t;
	if (pthread_create(&t, NULL, mark_ran, NULL) != 0)
		_exit(99);
	sleep_ms(300);
	int before = thread_ran;
	raise(SIGCONT);
	sleep_ms(300);
	_exit(10 * before + thread_ran);
}

static void new_thread_joins_the_group_stop(void)
{
	pid_t pid = fork_catching_usr1();
	if (pid == 0)
		thread_maker();
	pt(PTRACE_SEIZE, pid, 0, 0);
	seized_stop(pid, "the_thread_makers_group_stop_is_a_ptrace_event_stop");
	pt(PTRACE_CONT, pid, 0, 0);
	kill(pid, SIGUSR1);
	EXPECT_EQ("the_resumed_tracee_takes_sigusr1", STOP_STATUS(SIGUSR1), wait_for(pid, 0));
	pt(PTRACE_CONT, pid, 0, SIGUSR1);
	EXPECT_EQ("its_own_sigcont_ends_the_group_stop_with_an_event_stop",
		  EVENT_STOP_STATUS(SIGTRAP), wait_for(pid, 0));
	pt(PTRACE_CONT, pid, 0, 0);
	EXPECT_EQ("then_its_sigcont_is_delivered", STOP_STATUS(SIGCONT), wait_for(pid, 0));
	pt(PTRACE_CONT, pid, 0, 0);
	int status = wait_for(pid, 0);
	CHECK("a_new_thread_of_a_stopped_group_waits_for_sigcont", exited_with(status, 1));
	if (!exited_with(status, 1))
		say("    note: status %#x\n", status);
}

static void *pause_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Creates threads as fast as it can, up to 48. */
static void thread_spawner(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 48; i++) {
		pthread_t t;
		pthread_create(&t, &attr, pause_forever, NULL);
	}
	for (;;)
		pause();
}

/* How many threads of `pid` are not in 'T' (of `*total`). */
static int threads_not_stopped(pid_t pid, int *total)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	int bad = 0;
	*total = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		(*total)++;
		char state = proc_state(atoi(e->d_name));
		bad += state != 'T';
	}
	if (d)
		closedir(d);
	return bad;
}

/* SIGSTOP while the process creates threads: once wait reports the stop,
 * every thread is stopped, the ones created just before it included. */
static void threads_created_around_a_stop_all_stop(void)
{
	int rounds_bad = 0, max_threads = 0;
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();
		if (pid == 0)
			thread_spawner();
		struct timespec ts = { 0, round * 250000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGSTOP);
		int status = -1, total = 0;
		waitpid(pid, &status, WUNTRACED);
		int bad = threads_not_stopped(pid, &total);
		if (!WIFSTOPPED(status) || bad) {
			rounds_bad++;
			say("    note: round %d: status %#x, %d of %d threads not stopped\n", round,
			    status, bad, total);
		}
		max_threads = total > max_threads ? total : max_threads;
		kill_and_reap(pid);
	}
	EXPECT_EQ("every_thread_created_around_a_sigstop_is_stopped", 0, rounds_bad);
	CHECK("the_stops_caught_the_process_with_several_threads", max_threads > 1);
}

int main(void)
{
	check_begin("ptrace_gstop");
	attached_group_stop();
	seized_group_stop_and_listen();
	real_parent_sees_the_group_stop();
	new_thread_joins_the_group_stop();
	threads_created_around_a_stop_all_stop();
	return check_end();
}
