/*
 * sigconf: the signal calls' edge cases as Linux answers them, the ones a
 * conformance suite (LTP's syscalls tests, libc test programs) checks:
 * sigaction's flags and bad arguments, sigaltstack's rules, the mask and
 * pending calls, sigtimedwait's timeouts and queueing order.
 */
#define _GNU_SOURCE
#include "check.h"
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static volatile sig_atomic_t hits, depth, max_depth, raises_left;
static volatile uintptr_t handler_sp;

static void count(int sig)
{
	(void)sig;
	hits++;
}

static void nested(int sig)
{
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (raises_left > 0) {
		raises_left--;
		raise(sig);
	}
	depth--;
}

static void note_stack(int sig)
{
	(void)sig;
	int local;
	handler_sp = (uintptr_t)&local;
	stack_t now;
	sigaltstack(NULL, &now);
	hits = now.ss_flags;
}

static void sigaction_rejects_what_linux_rejects(void)
{
	struct sigaction sa = { .sa_handler = count };
	EXPECT_FAILS("sigaction_on_sigkill_is_einval", EINVAL, sigaction(SIGKILL, &sa, NULL));
	EXPECT_FAILS("sigaction_on_sigstop_is_einval", EINVAL, sigaction(SIGSTOP, &sa, NULL));
	struct sigaction old;
	CHECK("sigaction_reads_sigkill_without_changing_it", sigaction(SIGKILL, NULL, &old) == 0);
	EXPECT_FAILS("sigaction_on_signal_0_is_einval", EINVAL, syscall(SYS_rt_sigaction, 0, &sa, NULL, 8));
	EXPECT_FAILS("sigaction_on_signal_65_is_einval", EINVAL, syscall(SYS_rt_sigaction, 65, NULL, &old, 8));
	EXPECT_FAILS("rt_sigaction_with_sigsetsize_4_is_einval", EINVAL, syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4));
	EXPECT_FAILS("kill_with_signal_65_is_einval", EINVAL, kill(getpid(), 65));
	EXPECT_FAILS("kill_with_negative_signal_is_einval", EINVAL, kill(getpid(), -1));
	EXPECT_EQ("kill_with_signal_0_checks_the_target_only", 0, kill(getpid(), 0));
}

static void sa_resethand_restores_the_default_after_one_delivery(void)
{
	struct sigaction sa = { .sa_handler = count, .sa_flags = SA_RESETHAND };
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	EXPECT_EQ("sa_resethand_runs_the_handler_once", 1, hits);
	CHECK("sa_resethand_leaves_sig_dfl_behind", now.sa_handler == SIG_DFL);
	CHECK("sa_resethand_keeps_its_flag_as_linux_does", now.sa_flags & SA_RESETHAND);
}

static void sa_nodefer_lets_the_handler_be_reentered(void)
{
	struct sigaction sa = { .sa_handler = nested };
	sigaction(SIGUSR2, &sa, NULL);
	depth = max_depth = 0;
	raises_left = 1;
	raise(SIGUSR2);
	EXPECT_EQ("without_sa_nodefer_the_signal_waits_for_the_handler", 1, max_depth);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGUSR2, &sa, NULL);
	depth = max_depth = 0;
	raises_left = 1;
	raise(SIGUSR2);
	EXPECT_EQ("with_sa_nodefer_the_handler_is_reentered", 2, max_depth);
	signal(SIGUSR2, SIG_DFL);
}

static void sigaltstack_rules(void)
{
	static char stack[1 << 16];
	stack_t ss = { .ss_sp = stack, .ss_size = MINSIGSTKSZ - 1 }, old;
	EXPECT_FAILS("sigaltstack_below_minsigstksz_is_enomem", ENOMEM, sigaltstack(&ss, NULL));
	ss.ss_size = sizeof stack;
	ss.ss_flags = 0x1234;
	EXPECT_FAILS("sigaltstack_with_unknown_flags_is_einval", EINVAL, sigaltstack(&ss, NULL));
	/* musl's wrapper refuses SS_ONSTACK itself; the kernel takes it as 0. */
	ss.ss_flags = SS_ONSTACK;
	EXPECT_EQ("sigaltstack_accepts_ss_onstack_as_zero", 0, syscall(SYS_sigaltstack, &ss, NULL));
	sigaltstack(NULL, &old);
	EXPECT_EQ("sigaltstack_reports_flags_zero_when_off_the_stack", 0, old.ss_flags);
	CHECK("sigaltstack_reports_the_stack_it_was_given", old.ss_sp == stack && old.ss_size == sizeof stack);

	struct sigaction sa = { .sa_handler = note_stack, .sa_flags = SA_ONSTACK };
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	raise(SIGUSR1);
	CHECK("sa_onstack_runs_the_handler_on_the_alternate_stack",
	      handler_sp >= (uintptr_t)stack && handler_sp < (uintptr_t)stack + sizeof stack);
	EXPECT_EQ("sigaltstack_reports_ss_onstack_inside_the_handler", SS_ONSTACK, hits);

	ss.ss_flags = SS_DISABLE;
	EXPECT_EQ("sigaltstack_ss_disable_turns_it_off", 0, sigaltstack(&ss, NULL));
	sigaltstack(NULL, &old);
	EXPECT_EQ("sigaltstack_reports_ss_disable_when_off", SS_DISABLE, old.ss_flags);
	hits = -1;
	raise(SIGUSR1);
	CHECK("with_the_stack_disabled_sa_onstack_uses_the_normal_stack",
	      !(handler_sp >= (uintptr_t)stack && handler_sp < (uintptr_t)stack + sizeof stack));
	signal(SIGUSR1, SIG_DFL);
}

static char alt_stack2[1 << 16];
static volatile int change_errno;

static void change_on_stack(int sig)
{
	(void)sig;
	stack_t ss = { .ss_sp = alt_stack2, .ss_size = sizeof alt_stack2 };
	change_errno = sigaltstack(&ss, NULL) == -1 ? errno : 0;
}

static void sigaltstack_cannot_change_while_on_it(void)
{
	stack_t ss = { .ss_sp = alt_stack2, .ss_size = sizeof alt_stack2 };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_handler = change_on_stack, .sa_flags = SA_ONSTACK };
	sigaction(SIGUSR1, &sa, NULL);
	change_errno = 0;
	raise(SIGUSR1);
	EXPECT_EQ("sigaltstack_while_on_it_is_eperm", EPERM, change_errno);
	signal(SIGUSR1, SIG_DFL);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
}

static void sigprocmask_rules(void)
{
	sigset_t set, old;
	sigemptyset(&set);
	EXPECT_FAILS("sigprocmask_with_bad_how_is_einval", EINVAL, syscall(SYS_rt_sigprocmask, 7, &set, NULL, 8));
	EXPECT_FAILS("rt_sigprocmask_with_sigsetsize_16_is_einval", EINVAL, syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 16));
	EXPECT_EQ("sigprocmask_with_bad_how_and_no_set_succeeds", 0, syscall(SYS_rt_sigprocmask, 7, NULL, &old, 8));
	sigaddset(&set, SIGKILL);
	sigaddset(&set, SIGSTOP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigprocmask(SIG_BLOCK, NULL, &old);
	CHECK("sigkill_and_sigstop_cannot_be_blocked", !sigismember(&old, SIGKILL) && !sigismember(&old, SIGSTOP));
	CHECK("sigusr1_is_blocked", sigismember(&old, SIGUSR1));

	raise(SIGUSR1);
	sigset_t pend;
	sigpending(&pend);
	CHECK("sigpending_shows_the_blocked_signal", sigismember(&pend, SIGUSR1));
	EXPECT_FAILS("rt_sigpending_with_sigsetsize_16_is_einval", EINVAL, syscall(SYS_rt_sigpending, &pend, 16));
	EXPECT_EQ("rt_sigpending_with_sigsetsize_4_succeeds", 0, syscall(SYS_rt_sigpending, &pend, 4));
	signal(SIGUSR1, SIG_IGN);
	sigpending(&pend);
	CHECK("ignoring_a_pending_signal_discards_it", !sigismember(&pend, SIGUSR1));
	signal(SIGUSR1, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void sigsuspend_returns_eintr_and_restores_the_mask(void)
{
	sigset_t block, wait_mask, now;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGUSR1, count);
	hits = 0;
	raise(SIGUSR1);
	sigemptyset(&wait_mask);
	errno = 0;
	int r = sigsuspend(&wait_mask);
	EXPECT_ERRNO("sigsuspend_returns_eintr_after_the_handler", EINTR, r, errno);
	EXPECT_EQ("sigsuspend_ran_the_handler", 1, hits);
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHECK("sigsuspend_restores_the_old_mask", sigismember(&now, SIGUSR1));
	EXPECT_FAILS("rt_sigsuspend_with_sigsetsize_16_is_einval", EINVAL, syscall(SYS_rt_sigsuspend, &wait_mask, 16));
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	signal(SIGUSR1, SIG_DFL);
}

static void sigtimedwait_rules(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct timespec zero = { 0, 0 }, bad = { 0, 1000000000L }, neg = { -1, 0 };
	EXPECT_FAILS("sigtimedwait_with_zero_timeout_and_nothing_pending_is_eagain", EAGAIN, sigtimedwait(&set, NULL, &zero));
	EXPECT_FAILS("sigtimedwait_with_tv_nsec_1e9_is_einval", EINVAL, sigtimedwait(&set, NULL, &bad));
	EXPECT_FAILS("sigtimedwait_with_negative_tv_sec_is_einval", EINVAL, sigtimedwait(&set, NULL, &neg));
	EXPECT_FAILS("rt_sigtimedwait_with_sigsetsize_16_is_einval", EINVAL, syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 16));

	struct timespec t0, t1, d = { 0, 50000000L };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	int r = sigtimedwait(&set, NULL, &d);
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_ERRNO("sigtimedwait_times_out_with_eagain", EAGAIN, r, e);
	CHECK("sigtimedwait_waits_its_whole_timeout", ms >= 50 && ms < 1000);

	union sigval v = { .sival_int = 7 };
	sigqueue(getpid(), SIGUSR1, v);
	siginfo_t si;
	r = sigtimedwait(&set, &si, &zero);
	EXPECT_EQ("sigtimedwait_returns_the_pending_signal", SIGUSR1, r);
	EXPECT_EQ("sigtimedwait_fills_si_code_si_queue", SI_QUEUE, si.si_code);
	EXPECT_EQ("sigtimedwait_fills_si_value", 7, si.si_value.sival_int);
	EXPECT_EQ("sigtimedwait_fills_si_pid", getpid(), si.si_pid);

	/* A handled signal outside the set interrupts the wait. */
	signal(SIGUSR2, count);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	/* The raw call: musl's sigtimedwait retries after EINTR. */
	struct timespec long_wait = { 5, 0 };
	errno = 0;
	r = syscall(SYS_rt_sigtimedwait, &set, NULL, &long_wait, 8);
	EXPECT_ERRNO("sigtimedwait_is_interrupted_by_a_handled_signal_with_eintr", EINTR, r, errno);
	waitpid(pid, NULL, 0);
	signal(SIGUSR2, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void rt_signals_queue_in_order(void)
{
	sigset_t set;
	sigemptyset(&set);
	int lo = SIGRTMIN, hi = SIGRTMIN + 3;
	sigaddset(&set, lo);
	sigaddset(&set, hi);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 3; i++) {
		union sigval v = { .sival_int = 100 + i };
		sigqueue(getpid(), hi, v);
		v.sival_int = 200 + i;
		sigqueue(getpid(), lo, v);
	}
	raise(SIGUSR1);
	raise(SIGUSR1);
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	int order_ok = 1, n = 0;
	int expect_sig[] = { SIGUSR1, lo, lo, lo, hi, hi, hi };
	int expect_val[] = { 0, 200, 201, 202, 100, 101, 102 };
	while (sigtimedwait(&set, &si, &zero) > 0) {
		if (n < 7 && (si.si_signo != expect_sig[n] || (n > 0 && si.si_value.sival_int != expect_val[n])))
			order_ok = 0;
		n++;
	}
	EXPECT_EQ("standard_signals_coalesce_and_rt_signals_queue_each_one", 7, n);
	CHECK("lowest_signal_first_and_rt_signals_in_queueing_order", order_ok);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* In a child under a uid of its own: the limit counts the user's signals. */
static void rlimit_sigpending_bounds_the_queue(void)
{
	struct rlimit rl = { 4, 4 };
	setrlimit(RLIMIT_SIGPENDING, &rl);
	if (setuid(54321) != 0)
		check_fail("setuid_to_a_fresh_user", "errno %d", errno);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int ok = 0, err = 0;
	for (int i = 0; i < 10; i++) {
		union sigval v = { .sival_int = i };
		if (sigqueue(getpid(), SIGRTMIN, v) == 0)
			ok++;
		else
			err = errno;
	}
	EXPECT_EQ("sigqueue_stops_at_rlimit_sigpending", 4, ok);
	EXPECT_EQ("sigqueue_past_the_limit_is_eagain", EAGAIN, err);
}

static void sigqueueinfo_rules(void)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_code = SI_USER;
	si.si_signo = SIGUSR1;
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	EXPECT_FAILS("rt_sigqueueinfo_si_user_to_another_process_is_eperm", EPERM,
		     syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si));
	si.si_code = SI_KERNEL;
	EXPECT_FAILS("rt_sigqueueinfo_si_kernel_to_another_process_is_eperm", EPERM,
		     syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si));
	EXPECT_FAILS("rt_tgsigqueueinfo_si_kernel_to_another_process_is_eperm", EPERM,
		     syscall(SYS_rt_tgsigqueueinfo, pid, pid, SIGUSR1, &si));
	si.si_code = SI_QUEUE;
	EXPECT_EQ("rt_sigqueueinfo_si_queue_to_another_process_succeeds", 0,
		  syscall(SYS_rt_sigqueueinfo, pid, SIGTERM, &si));
	EXPECT_FAILS("rt_tgsigqueueinfo_with_wrong_tgid_is_esrch", ESRCH,
		     syscall(SYS_rt_tgsigqueueinfo, getpid(), pid, SIGUSR1, &si));
	EXPECT_FAILS("rt_sigqueueinfo_with_bad_signal_is_einval", EINVAL,
		     syscall(SYS_rt_sigqueueinfo, pid, 65, &si));
	int status;
	waitpid(pid, &status, 0);
	CHECK("the_queued_sigterm_killed_the_child", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

	/* To itself any si_code is allowed. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	si.si_code = SI_USER;
	EXPECT_EQ("rt_sigqueueinfo_si_user_to_itself_succeeds", 0, syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
	struct timespec zero = { 0, 0 };
	siginfo_t got;
	sigtimedwait(&set, &got, &zero);
	EXPECT_EQ("the_self_queued_si_code_arrives_as_given", SI_USER, got.si_code);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void sa_restart_decides_whether_read_restarts(void)
{
	int p[2];
	pipe(p);
	struct sigaction sa = { .sa_handler = count, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(150);
		write(p[1], "x", 1);
		_exit(0);
	}
	hits = 0;
	ualarm(50000, 0);
	char c;
	ssize_t n = read(p[0], &c, 1);
	EXPECT_EQ("with_sa_restart_read_restarts_after_the_handler", 1, n);
	EXPECT_EQ("with_sa_restart_the_handler_still_ran", 1, hits);
	waitpid(pid, NULL, 0);

	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	ualarm(50000, 0);
	errno = 0;
	n = read(p[0], &c, 1);
	EXPECT_ERRNO("without_sa_restart_read_fails_with_eintr", EINTR, n, errno);

	/* nanosleep is never restarted: EINTR and the time left. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	ualarm(50000, 0);
	struct timespec req = { 2, 0 }, rem = { 0, 0 };
	errno = 0;
	int r = nanosleep(&req, &rem);
	EXPECT_ERRNO("nanosleep_fails_with_eintr_even_with_sa_restart", EINTR, r, errno);
	CHECK("nanosleep_reports_the_time_left", rem.tv_sec == 1 && rem.tv_nsec > 0);

	/* sigsuspend-like calls and select are not restarted either. */
	ualarm(50000, 0);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timeval tv = { 2, 0 };
	errno = 0;
	r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	EXPECT_ERRNO("select_fails_with_eintr_even_with_sa_restart", EINTR, r, errno);

	/* wait4 restarts. */
	pid = fork();
	if (pid == 0) {
		sleep_ms(150);
		_exit(3);
	}
	ualarm(50000, 0);
	int status = 0;
	pid_t w = waitpid(pid, &status, 0);
	EXPECT_EQ("with_sa_restart_wait4_restarts", pid, w);
	signal(SIGALRM, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

/* What a fork child keeps: handlers, mask, alternate stack; what it does
 * not: pending signals and timers. */
static void fork_inheritance(void)
{
	static char stack[1 << 15];
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof stack };
	sigaltstack(&ss, NULL);
	signal(SIGUSR2, count);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	alarm(100);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t pend, mask;
		sigpending(&pend);
		sigprocmask(SIG_BLOCK, NULL, &mask);
		struct sigaction sa;
		sigaction(SIGUSR2, NULL, &sa);
		stack_t now;
		sigaltstack(NULL, &now);
		int bad = 0;
		bad |= sigismember(&pend, SIGUSR1) ? 1 : 0;
		bad |= !sigismember(&mask, SIGUSR1) ? 2 : 0;
		bad |= sa.sa_handler != count ? 4 : 0;
		bad |= now.ss_sp != stack || now.ss_flags != 0 ? 8 : 0;
		bad |= alarm(0) != 0 ? 16 : 0;
		_exit(bad);
	}
	int status;
	waitpid(pid, &status, 0);
	int bad = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
	EXPECT_EQ("a_fork_child_starts_with_no_pending_signals", 0, bad & 1);
	EXPECT_EQ("a_fork_child_keeps_the_signal_mask", 0, bad & 2);
	EXPECT_EQ("a_fork_child_keeps_the_handlers", 0, bad & 4);
	EXPECT_EQ("a_fork_child_keeps_the_alternate_stack", 0, bad & 8);
	EXPECT_EQ("a_fork_child_has_no_alarm", 0, bad & 16);
	EXPECT_EQ("the_parent_keeps_its_alarm", 100, alarm(0));
	struct timespec zero = { 0, 0 };
	sigtimedwait(&set, NULL, &zero);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGUSR2, SIG_DFL);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
}

/* A blocked signal is queued even when ignored (its handler may change
 * before it is unblocked); setting SIG_IGN discards what is pending. */
static void ignored_signals_are_discarded(void)
{
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGURG);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	raise(SIGURG);
	sigpending(&pend);
	CHECK("a_blocked_signal_is_queued_even_when_ignored", sigismember(&pend, SIGUSR1));
	signal(SIGUSR1, SIG_IGN);
	sigpending(&pend);
	CHECK("setting_sig_ign_again_discards_the_pending_one", !sigismember(&pend, SIGUSR1));
	CHECK("a_blocked_signal_whose_default_is_ignore_stays_pending", sigismember(&pend, SIGURG));
	signal(SIGURG, SIG_IGN);
	sigpending(&pend);
	CHECK("setting_sig_ign_discards_a_pending_default_ignored_one", !sigismember(&pend, SIGURG));
	signal(SIGURG, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	EXPECT_EQ("raise_of_sigwinch_with_the_default_action_does_nothing", 0, raise(SIGWINCH));
}

int main(void)
{
	check_begin("sigconf");
	sigaction_rejects_what_linux_rejects();
	sa_resethand_restores_the_default_after_one_delivery();
	sa_nodefer_lets_the_handler_be_reentered();
	sigaltstack_rules();
	sigaltstack_cannot_change_while_on_it();
	sigprocmask_rules();
	sigsuspend_returns_eintr_and_restores_the_mask();
	sigtimedwait_rules();
	rt_signals_queue_in_order();
	sigqueueinfo_rules();
	sa_restart_decides_whether_read_restarts();
	fork_inheritance();
	ignored_signals_are_discarded();
	as_child(rlimit_sigpending_bounds_the_queue);
	return check_end();
}
