/*
 * jobctl: stopping and continuing a process (Linux's group stop).
 *
 * SIGSTOP stops every thread of a multi-threaded child (state T); the
 * parent hears CLD_STOPPED and wait4(WUNTRACED) reports sig << 8 | 0x7f
 * once; SIGCONT resumes every thread, CLD_CONTINUED, WCONTINUED 0xffff;
 * waitid(WSTOPPED / WCONTINUED / WEXITED) with WNOWAIT leaves the report
 * for the next wait; SA_NOCLDSTOP silences the stop's SIGCHLD; a stop
 * signal and SIGCONT discard each other when pending; a system call
 * interrupted by the stop restarts after SIGCONT; a stopped child dies
 * of SIGKILL, but a SIGTERM waits for SIGCONT. ITIMER_PROF's SIGPROF goes
 * to the process: a thread that does not block it takes it.
 */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#define NTHREADS 3

/* Counters the child's threads bump, in memory shared with the parent. */
static volatile long *counters;

static void *spin(void *arg)
{
	long i = (long)arg;
	for (;;)
		counters[i]++;
	return 0;
}

/* A child of NTHREADS + 1 threads, all bumping their counters. */
static pid_t spawn_spinners(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (long i = 1; i <= NTHREADS; i++)
			pthread_create(&t, 0, spin, (void *)i);
		spin(0);
	}
	return pid;
}

static long total(void)
{
	long sum = 0;
	for (int i = 0; i <= NTHREADS; i++)
		sum += counters[i];
	return sum;
}

/* Whether every counter moves within 200 ms. */
static int all_running(void)
{
	long before[NTHREADS + 1];
	for (int i = 0; i <= NTHREADS; i++)
		before[i] = counters[i];
	sleep_ms(200);
	for (int i = 0; i <= NTHREADS; i++)
		if (counters[i] == before[i])
			return 0;
	return 1;
}

/* The state letter of every thread of pid, as a string ("TTTT"). */
static void thread_states(pid_t pid, char *out, int max)
{
	int n = 0;
	char path[64];
	for (int tid = pid; tid < pid + 64 && n < max - 1; tid++) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		char buf[512];
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = 0;
		char *p = strrchr(buf, ')');
		if (p && p[1] == ' ')
			out[n++] = p[2];
	}
	out[n] = 0;
}

/* The SIGCHLD the parent received last. */
static volatile sig_atomic_t chld_count, chld_code, chld_status, chld_pid;

static void on_sigchld(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	chld_count++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid = si->si_pid;
}

static void catch_sigchld(int flags)
{
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_sigchld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
	sigaction(SIGCHLD, &sa, 0);
	chld_count = 0;
}

/* Waits up to 2 s for the SIGCHLD count to reach n. */
static void await_sigchld(int n)
{
	for (int i = 0; i < 200 && chld_count < n; i++)
		sleep_ms(10);
}

static void check_group_stop_and_continue(void)
{
	catch_sigchld(0);
	pid_t child = spawn_spinners();
	sleep_ms(200);
	CHECK("every_thread_of_the_child_runs_before_the_stop", all_running());

	kill(child, SIGSTOP);
	int status = 0;
	pid_t got = waitpid(child, &status, WUNTRACED);
	EXPECT_EQ("waitpid_wuntraced_returns_the_stopped_child", child, got);
	EXPECT_EQ("the_stop_status_is_sigstop_shifted_left_8_or_0x7f", (SIGSTOP << 8) | 0x7f, status);
	CHECK("wifstopped_and_wstopsig_decode_it", WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
	await_sigchld(1);
	EXPECT_EQ("the_parent_gets_sigchld_with_cld_stopped", CLD_STOPPED, chld_code);
	EXPECT_EQ("its_si_status_is_the_stop_signal", SIGSTOP, chld_status);
	EXPECT_EQ("its_si_pid_is_the_child", child, chld_pid);

	long before = total();
	sleep_ms(200);
	EXPECT_EQ("no_thread_runs_while_the_process_is_stopped", before, total());
	char states[NTHREADS + 8];
	thread_states(child, states, sizeof states);
	EXPECT_EQ("proc_shows_every_thread_in_state_t", 0, strcmp(states, "TTTT"));

	got = waitpid(child, &status, WUNTRACED | WNOHANG);
	EXPECT_EQ("a_stop_is_reported_once", 0, got);

	kill(child, SIGCONT);
	await_sigchld(2);
	EXPECT_EQ("sigcont_sends_sigchld_with_cld_continued", CLD_CONTINUED, chld_code);
	EXPECT_EQ("its_si_status_is_sigcont", SIGCONT, chld_status);
	got = waitpid(child, &status, WCONTINUED);
	EXPECT_EQ("waitpid_wcontinued_returns_the_continued_child", child, got);
	EXPECT_EQ("the_continue_status_is_0xffff", 0xffff, status);
	CHECK("wifcontinued_decodes_it", WIFCONTINUED(status));
	CHECK("every_thread_runs_again_after_sigcont", all_running());
	got = waitpid(child, &status, WCONTINUED | WNOHANG);
	EXPECT_EQ("a_continue_is_reported_once", 0, got);

	kill(child, SIGKILL);
	got = waitpid(child, &status, 0);
	CHECK("the_child_dies_of_sigkill", got == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	signal(SIGCHLD, SIG_DFL);
}

static void check_waitid(void)
{
	pid_t child = spawn_spinners();
	sleep_ms(100);
	kill(child, SIGSTOP);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = waitid(P_PID, child, &si, WSTOPPED | WNOWAIT);
	CHECK("waitid_wstopped_wnowait_reports_the_stop",
	      r == 0 && si.si_pid == child && si.si_signo == SIGCHLD && si.si_code == CLD_STOPPED &&
		      si.si_status == SIGSTOP);
	memset(&si, 0, sizeof si);
	r = waitid(P_PID, child, &si, WSTOPPED | WNOHANG);
	CHECK("after_wnowait_the_stop_is_still_there_to_report",
	      r == 0 && si.si_pid == child && si.si_code == CLD_STOPPED);
	memset(&si, 0, sizeof si);
	r = waitid(P_PID, child, &si, WSTOPPED | WNOHANG);
	CHECK("then_it_is_used_up", r == 0 && si.si_pid == 0);

	kill(child, SIGCONT);
	memset(&si, 0, sizeof si);
	r = waitid(P_PID, child, &si, WCONTINUED | WNOWAIT);
	CHECK("waitid_wcontinued_wnowait_reports_cld_continued_with_sigcont",
	      r == 0 && si.si_pid == child && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT);
	memset(&si, 0, sizeof si);
	r = waitid(P_PID, child, &si, WCONTINUED | WNOHANG);
	CHECK("waitid_wcontinued_takes_it_after_wnowait", r == 0 && si.si_pid == child && si.si_code == CLD_CONTINUED);

	kill(child, SIGKILL);
	memset(&si, 0, sizeof si);
	r = waitid(P_PID, child, &si, WEXITED | WNOWAIT);
	CHECK("waitid_wexited_wnowait_reports_the_kill",
	      r == 0 && si.si_pid == child && si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	int status = 0;
	CHECK("a_child_reported_with_wnowait_can_still_be_reaped",
	      waitpid(child, &status, 0) == child && WTERMSIG(status) == SIGKILL);
	errno = 0;
	r = waitid(P_ALL, 0, &si, WNOWAIT);
	EXPECT_ERRNO("waitid_without_wexited_wstopped_or_wcontinued_is_einval", EINVAL, r, errno);
}

static void check_sa_nocldstop(void)
{
	catch_sigchld(SA_NOCLDSTOP);
	pid_t child = spawn_spinners();
	sleep_ms(100);
	kill(child, SIGSTOP);
	int status = 0;
	waitpid(child, &status, WUNTRACED);
	kill(child, SIGCONT);
	waitpid(child, &status, WCONTINUED);
	sleep_ms(100);
	EXPECT_EQ("sa_nocldstop_suppresses_the_sigchld_of_stop_and_continue", 0, chld_count);
	CHECK("wait_still_reports_the_stop_under_sa_nocldstop", WIFCONTINUED(status));
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	EXPECT_EQ("the_exit_still_sends_sigchld", 1, chld_count);
	signal(SIGCHLD, SIG_DFL);
}

static void check_stopped_child_and_sigterm(void)
{
	pid_t child = spawn_spinners();
	sleep_ms(100);
	kill(child, SIGSTOP);
	int status = 0;
	waitpid(child, &status, WUNTRACED);
	kill(child, SIGTERM);
	sleep_ms(100);
	pid_t got = waitpid(child, &status, WNOHANG);
	EXPECT_EQ("a_stopped_child_keeps_a_sigterm_pending_until_sigcont", 0, got);
	EXPECT_EQ("and_stays_in_state_t", 'T', proc_state(child));
	kill(child, SIGCONT);
	got = waitpid(child, &status, 0);
	CHECK("after_sigcont_it_dies_of_the_sigterm",
	      got == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

/* Stop and continue signals pending in a child that blocks them. */
static void pending_discard_child(void)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGCONT);
	sigprocmask(SIG_BLOCK, &set, 0);
	kill(getpid(), SIGTSTP);
	kill(getpid(), SIGCONT);
	sigpending(&pending);
	int cont_discards = !sigismember(&pending, SIGTSTP) && sigismember(&pending, SIGCONT);
	kill(getpid(), SIGTSTP);
	sigpending(&pending);
	int stop_discards = sigismember(&pending, SIGTSTP) && !sigismember(&pending, SIGCONT);
	_exit(cont_discards | stop_discards << 1);
}

static void check_pending_discard(void)
{
	pid_t child = fork();
	if (child == 0)
		pending_discard_child();
	int status = 0;
	waitpid(child, &status, 0);
	CHECK("sigcont_discards_a_pending_stop_signal", WIFEXITED(status) && (WEXITSTATUS(status) & 1));
	CHECK("a_stop_signal_discards_a_pending_sigcont", WIFEXITED(status) && (WEXITSTATUS(status) & 2));
}

/* A child blocked in read() and one in nanosleep() are stopped and
 * continued: both calls go on as if nothing happened. */
static void check_restart(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		return;
	pid_t reader = fork();
	if (reader == 0) {
		char c;
		ssize_t n = read(fds[0], &c, 1);
		_exit(n == 1 ? 0 : 10 + errno);
	}
	pid_t sleeper = fork();
	if (sleeper == 0) {
		struct timespec ts = { 0, 600 * 1000000L };
		_exit(nanosleep(&ts, 0) == 0 ? 0 : 10 + errno);
	}
	sleep_ms(150);
	kill(reader, SIGSTOP);
	kill(sleeper, SIGSTOP);
	int status = 0;
	waitpid(reader, &status, WUNTRACED);
	waitpid(sleeper, &status, WUNTRACED);
	sleep_ms(100);
	kill(reader, SIGCONT);
	kill(sleeper, SIGCONT);
	sleep_ms(100);
	if (write(fds[1], "x", 1) != 1)
		return;
	waitpid(reader, &status, 0);
	EXPECT_EQ("a_read_interrupted_by_a_stop_restarts_after_sigcont", 0, WEXITSTATUS(status));
	waitpid(sleeper, &status, 0);
	EXPECT_EQ("a_nanosleep_interrupted_by_a_stop_restarts_after_sigcont", 0, WEXITSTATUS(status));
	close(fds[0]);
	close(fds[1]);
}

/* ITIMER_PROF in a process whose running thread blocks SIGPROF: the
 * signal is the process's, so the other thread, in pause(), takes it. */
static _Atomic int prof_tid;

static void on_sigprof(int sig)
{
	(void)sig;
	prof_tid = syscall(SYS_gettid);
}

static void *pauser(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

static void itimer_child(void)
{
	signal(SIGPROF, on_sigprof);
	pthread_t t;
	pthread_create(&t, 0, pauser, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	pthread_sigmask(SIG_BLOCK, &set, 0);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_PROF, &it, 0);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while (!prof_tid && now.tv_sec - start.tv_sec < 3);
	_exit(prof_tid != 0 && prof_tid != getpid() ? 0 : 1);
}

static void check_itimer_goes_to_the_process(void)
{
	pid_t child = fork();
	if (child == 0)
		itimer_child();
	int status = 0;
	waitpid(child, &status, 0);
	CHECK("itimer_prof_sigprof_is_taken_by_a_thread_that_does_not_block_it",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A SIGQUIT death (a core-dumping signal) with RLIMIT_CORE 0 writes no
 * core, and the status says so: no WCOREDUMP bit. */
static void check_no_core_bit_without_a_core(void)
{
	pid_t child = fork();
	if (child == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		raise(SIGQUIT);
		_exit(100);
	}
	int status = -1;
	waitpid(child, &status, 0);
	EXPECT_EQ("a_sigquit_death_under_rlimit_core_0_reports_sigquit_without_the_core_bit", SIGQUIT, status);
}

int main(void)
{
	check_begin("jobctl");
	counters = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check_group_stop_and_continue();
	check_waitid();
	check_sa_nocldstop();
	check_stopped_child_and_sigterm();
	check_pending_discard();
	check_restart();
	check_itimer_goes_to_the_process();
	check_no_core_bit_without_a_core();
	return check_end();
}
