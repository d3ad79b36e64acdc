/*
 * sigchld_exec: the SIGCHLD a parent's SA_SIGINFO handler gets carries the
 * child's CPU time in clock ticks (si_utime, si_stime) with its status, and
 * execve drops the alternate signal stack (the new program sees
 * SS_DISABLE, SS_AUTODISARM kept as Linux keeps it) while fork keeps it.
 */
#define _GNU_SOURCE
#include "check.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static volatile sig_atomic_t got, code, status, pid;
static volatile long child_utime, child_stime;

static void on_sigchld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	code = si->si_code;
	status = si->si_status;
	pid = si->si_pid;
	child_utime = si->si_utime;
	child_stime = si->si_stime;
	got = 1;
}

static long cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void sigchld_carries_cpu_time(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigchld;
	sa.sa_flags = SA_SIGINFO;
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	sigaction(SIGCHLD, &sa, NULL);
	long long steal = host_steal_ns();
	pid_t child = fork();
	if (child == 0) {
		/* Mostly user time: the clock is read once per million turns. */
		long start = cpu_ms();
		volatile unsigned long spin = 0;
		while (cpu_ms() - start < 200)
			for (int i = 0; i < 1000000; i++)
				spin++;
		_exit(5);
	}
	while (!got)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	EXPECT_EQ("sigchld_names_the_child", child, pid);
	EXPECT_EQ("sigchld_says_cld_exited", CLD_EXITED, code);
	EXPECT_EQ("sigchld_carries_the_exit_code", 5, status);
	/* Host Linux reports tick-sampled time and leaves out the ticks its
	 * hypervisor stole: with more than 50 ms stolen meanwhile, only the
	 * upper bounds say something there. */
	long lost = on_lifecycle() ? 0 : (long)((host_steal_ns() - steal) / 10000000LL);
	int low = lost > 5 ? 0 : 1;
	CHECK("si_utime_counts_the_200_ms_busy_loop_in_ticks",
	      child_utime >= 10 * low && child_utime <= 100);
	CHECK("si_utime_plus_si_stime_is_about_20_ticks",
	      child_utime + child_stime >= 15 * low && child_utime + child_stime <= 100);
	if (child_utime < 10 || child_utime + child_stime < 15 || child_utime + child_stime > 100)
		say("    si_utime %ld, si_stime %ld\n", child_utime, child_stime);
	waitpid(child, NULL, 0);
	signal(SIGCHLD, SIG_DFL);
}

/* The exec'd side: 0 when no alternate stack is set and SS_AUTODISARM,
 * which Linux keeps across execve, is still asked for. */
static int report_altstack(void)
{
	stack_t now;
	if (sigaltstack(NULL, &now) != 0)
		return 100;
	if (now.ss_size != 0 || now.ss_sp != NULL)
		return 101;
	return now.ss_flags == (int)(SS_DISABLE | SS_AUTODISARM) ? 0 : 102;
}

static void exec_drops_the_altstack(const char *self)
{
	static char stack[65536];
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof stack, .ss_flags = SS_AUTODISARM };
	pid_t child = fork();
	if (child == 0) {
		if (sigaltstack(&ss, NULL) != 0)
			_exit(90);
		/* fork keeps it. */
		pid_t grandchild = fork();
		if (grandchild == 0) {
			stack_t now;
			_exit(sigaltstack(NULL, &now) == 0 && now.ss_sp == stack &&
				      now.ss_size == sizeof stack ? 0 : 1);
		}
		int st;
		waitpid(grandchild, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			_exit(91);
		signal(SIGCHLD, SIG_DFL);
		char *argv[] = { (char *)self, "altstack", NULL };
		execv(self, argv);
		_exit(92);
	}
	int st;
	waitpid(child, &st, 0);
	EXPECT_EQ("after_execve_sigaltstack_reports_ss_disable", 0, WIFEXITED(st) ? WEXITSTATUS(st) : 200);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "altstack") == 0)
		return report_altstack();
	check_begin("sigchld_exec");
	sigchld_carries_cpu_time();
	exec_drops_the_altstack(argv[0]);
	return check_end();
}
