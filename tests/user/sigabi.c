/*
 * sigabi: the signal calls beside kill and sigaction, and what siginfo
 * says about each sender.
 *
 * rt_sigpending reports blocked pending signals; rt_sigtimedwait takes one
 * synchronously, or fails with EAGAIN when its timeout passes; sigqueue and
 * rt_tgsigqueueinfo carry a value (SI_QUEUE), and another process may not
 * claim a kill() or kernel origin (EPERM); tgkill refuses a tgid <= 0 while
 * tkill works alone; kill gives SI_USER, tkill SI_TKILL, a child's end
 * CLD_EXITED or CLD_KILLED with its status. sigaltstack gives SA_ONSTACK
 * handlers their own stack (EPERM to change it while on it, ENOMEM below
 * MINSIGSTKSZ, SS_DISABLE to remove it), kept across fork.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static int wait_for(int sig, long ms, siginfo_t *si)
{
	sigset_t set;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigemptyset(&set);
	sigaddset(&set, sig);
	memset(si, 0, sizeof *si);
	return sigtimedwait(&set, si, &ts);
}

static void pending_and_kill(void)
{
	sigset_t pending;
	siginfo_t si;
	kill(getpid(), SIGUSR1);
	sigemptyset(&pending);
	CHECK("sigpending_reports_a_blocked_signal",
	      sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1) &&
		      !sigismember(&pending, SIGUSR2));
	EXPECT_EQ("sigtimedwait_takes_the_pending_signal", SIGUSR1, wait_for(SIGUSR1, 0, &si));
	CHECK("kill_gives_si_user_with_pid_and_uid",
	      si.si_code == SI_USER && si.si_pid == getpid() && si.si_uid == getuid());
	sigemptyset(&pending);
	sigpending(&pending);
	CHECK("a_taken_signal_is_no_longer_pending", !sigismember(&pending, SIGUSR1));
}

static void timeouts(void)
{
	siginfo_t si;
	long t0 = now_ms();
	errno = 0;
	int r = wait_for(SIGUSR2, 200, &si);
	int err = errno;
	long took = now_ms() - t0;
	EXPECT_ERRNO("sigtimedwait_times_out_with_eagain", EAGAIN, r, err);
	CHECK("sigtimedwait_waits_its_timeout", took >= 150 && took < 2000);
	EXPECT_FAILS("a_zero_timeout_polls", EAGAIN, wait_for(SIGUSR2, 0, &si));

	pid_t child = fork();
	if (child == 0) {
		sleep_ms(100);
		kill(getppid(), SIGUSR2);
		_exit(0);
	}
	r = wait_for(SIGUSR2, 5000, &si);
	EXPECT_EQ("sigtimedwait_wakes_for_a_signal_sent_while_it_sleeps", SIGUSR2, r);
	EXPECT_EQ("the_siginfo_names_the_sending_child", child, si.si_pid);
	waitpid(child, NULL, 0);
}

static void queued(void)
{
	siginfo_t si;
	union sigval v = { .sival_int = 42 };
	sigqueue(getpid(), SIGUSR1, v);
	EXPECT_EQ("sigqueue_to_self_is_taken", SIGUSR1, wait_for(SIGUSR1, 0, &si));
	CHECK("sigqueue_gives_si_queue_with_the_value",
	      si.si_code == SI_QUEUE && si.si_value.sival_int == 42 && si.si_pid == getpid());

	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		siginfo_t fake;
		memset(&fake, 0, sizeof fake);
		fake.si_signo = SIGUSR1;
		fake.si_code = SI_USER;
		errno = 0;
		long r = syscall(SYS_rt_sigqueueinfo, parent, SIGUSR1, &fake);
		if (r != -1 || errno != EPERM)
			_exit(1);
		fake.si_code = SI_TKILL;
		r = syscall(SYS_rt_sigqueueinfo, parent, SIGUSR1, &fake);
		if (r != -1 || errno != EPERM)
			_exit(2);
		union sigval seven = { .sival_int = 7 };
		_exit(sigqueue(parent, SIGUSR2, seven) == 0 ? 0 : 3);
	}
	int status = -1;
	waitpid(child, &status, 0);
	EXPECT_EQ("another_process_may_not_claim_si_user_or_si_tkill", 0, WEXITSTATUS(status));
	CHECK("the_forged_signal_was_not_sent", wait_for(SIGUSR1, 0, &si) == -1);
	EXPECT_EQ("a_child_s_sigqueue_arrives", SIGUSR2, wait_for(SIGUSR2, 0, &si));
	CHECK("with_its_pid_and_value",
	      si.si_code == SI_QUEUE && si.si_pid == child && si.si_value.sival_int == 7);

	siginfo_t mine;
	memset(&mine, 0, sizeof mine);
	mine.si_signo = SIGUSR1;
	mine.si_code = SI_QUEUE;
	mine.si_pid = getpid();
	mine.si_uid = getuid();
	mine.si_value.sival_int = 9;
	EXPECT_EQ("rt_tgsigqueueinfo_to_this_thread", 0,
		  syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &mine));
	CHECK("carries_its_value",
	      wait_for(SIGUSR1, 0, &si) == SIGUSR1 && si.si_value.sival_int == 9);
	EXPECT_FAILS("rt_tgsigqueueinfo_with_tgid_0_is_einval", EINVAL,
		     syscall(SYS_rt_tgsigqueueinfo, 0, gettid(), SIGUSR1, &mine));
}

static void thread_kills(void)
{
	siginfo_t si;
	EXPECT_FAILS("tgkill_with_tgid_0_is_einval", EINVAL,
		     syscall(SYS_tgkill, 0, gettid(), SIGUSR1));
	EXPECT_FAILS("tgkill_with_tgid_minus_1_is_einval", EINVAL,
		     syscall(SYS_tgkill, -1, gettid(), SIGUSR1));
	EXPECT_EQ("tkill_alone_sends", 0, syscall(SYS_tkill, gettid(), SIGUSR1));
	EXPECT_EQ("the_tkill_signal_is_taken", SIGUSR1, wait_for(SIGUSR1, 0, &si));
	CHECK("tkill_gives_si_tkill_with_the_pid", si.si_code == SI_TKILL && si.si_pid == getpid());
	EXPECT_FAILS("tkill_of_tid_0_is_einval", EINVAL, syscall(SYS_tkill, 0, SIGUSR1));
}

static void child_ends(void)
{
	siginfo_t si;
	/* Forget the SIGCHLD of the children above (a standard signal is
	 * pending once however often it is sent). */
	wait_for(SIGCHLD, 0, &si);
	pid_t child = fork();
	if (child == 0)
		_exit(3);
	EXPECT_EQ("sigchld_is_taken_while_blocked_at_its_default", SIGCHLD, wait_for(SIGCHLD, 5000, &si));
	CHECK("an_exit_gives_cld_exited_with_the_status",
	      si.si_code == CLD_EXITED && si.si_status == 3 && si.si_pid == child);
	waitpid(child, NULL, 0);

	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	kill(child, SIGTERM);
	EXPECT_EQ("a_killed_child_s_sigchld_is_taken", SIGCHLD, wait_for(SIGCHLD, 5000, &si));
	CHECK("a_kill_gives_cld_killed_with_the_signal",
	      si.si_code == CLD_KILLED && si.si_status == SIGTERM && si.si_pid == child);
	waitpid(child, NULL, 0);
}

static char altstack[65536];
static volatile uintptr_t handler_sp;
static volatile int handler_ss_flags, handler_eperm;

static void on_hup(int sig)
{
	char here;
	stack_t cur, other = { .ss_sp = altstack, .ss_size = sizeof altstack };
	(void)sig;
	handler_sp = (uintptr_t)&here;
	sigaltstack(NULL, &cur);
	handler_ss_flags = cur.ss_flags;
	handler_eperm = sigaltstack(&other, NULL) == -1 && errno == EPERM;
}

static int ran_on_altstack(void)
{
	return handler_sp > (uintptr_t)altstack &&
	       handler_sp <= (uintptr_t)altstack + sizeof altstack;
}

static void alternate_stack(void)
{
	stack_t ss, old;
	CHECK("no_alternate_stack_at_first",
	      sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE);
	ss = (stack_t){ .ss_sp = altstack, .ss_size = 1024 };
	EXPECT_FAILS("a_stack_below_minsigstksz_is_enomem", ENOMEM, sigaltstack(&ss, NULL));
	ss = (stack_t){ .ss_sp = altstack, .ss_flags = 5, .ss_size = sizeof altstack };
	EXPECT_FAILS("unknown_ss_flags_are_einval", EINVAL, sigaltstack(&ss, NULL));
	ss = (stack_t){ .ss_sp = altstack, .ss_size = sizeof altstack };
	EXPECT_EQ("sigaltstack_installs_a_stack", 0, sigaltstack(&ss, NULL));
	CHECK("and_reports_it",
	      sigaltstack(NULL, &old) == 0 && old.ss_sp == altstack &&
		      old.ss_size == sizeof altstack && old.ss_flags == 0);

	struct sigaction sa = { .sa_handler = on_hup, .sa_flags = SA_ONSTACK };
	sigaction(SIGHUP, &sa, NULL);
	raise(SIGHUP);
	CHECK("an_sa_onstack_handler_runs_on_the_alternate_stack", ran_on_altstack());
	CHECK("where_ss_flags_says_ss_onstack", handler_ss_flags == SS_ONSTACK);
	CHECK("and_changing_the_stack_is_eperm", handler_eperm);

	pid_t child = fork();
	if (child == 0) {
		stack_t mine;
		sigaltstack(NULL, &mine);
		_exit(mine.ss_sp == altstack && mine.ss_size == sizeof altstack ? 0 : 1);
	}
	int status = -1;
	waitpid(child, &status, 0);
	EXPECT_EQ("a_forked_child_keeps_the_alternate_stack", 0, WEXITSTATUS(status));

	sa.sa_flags = 0;
	sigaction(SIGHUP, &sa, NULL);
	raise(SIGHUP);
	CHECK("a_handler_without_sa_onstack_runs_on_the_thread_stack", !ran_on_altstack());

	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGHUP, &sa, NULL);
	ss = (stack_t){ .ss_flags = SS_DISABLE };
	EXPECT_EQ("ss_disable_removes_the_stack", 0, sigaltstack(&ss, NULL));
	raise(SIGHUP);
	CHECK("after_which_sa_onstack_runs_on_the_thread_stack", !ran_on_altstack());
	CHECK("and_ss_flags_says_ss_disable",
	      sigaltstack(NULL, &old) == 0 && old.ss_flags == SS_DISABLE);
}

int main(void)
{
	check_begin("sigabi");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pending_and_kill();
	timeouts();
	queued();
	thread_kills();
	child_ends();
	alternate_stack();
	return check_end();
}
