/*
 * conform_kill: what a signal says about its sender, and whom kill(2)
 * reaches. kill and tgkill from a user carry the sender's real uid in
 * si_uid; the SIGHUP and SIGCONT the kernel sends a stopped process
 * group that has just been orphaned say SI_KERNEL with no sender; kill
 * by pid still reaches a process whose main thread has exited while
 * another runs; and setsid refuses while a process group with the
 * caller's id exists, even when the caller has left it.
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>

static siginfo_t got;
static volatile sig_atomic_t got_count;
static int report_fd = -1;

static void record(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	got = *info;
	got_count++;
	if (report_fd >= 0)
		write(report_fd, info, sizeof *info);
}

static void catch_with_info(int sig)
{
	struct sigaction sa = { .sa_sigaction = record, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* Reads one siginfo from fd, waiting up to ms; 0 when none came. */
static int read_siginfo(int fd, siginfo_t *info, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return 0;
	return read_full(fd, info, sizeof *info) == 0;
}

static void user_senders(void)
{
	catch_with_info(SIGUSR1);
	catch_with_info(SIGUSR2);
	if (setuid(65534) != 0) {
		check_fail("kill_as_a_user_gives_si_uid_of_the_sender", "setuid: %s",
			   strerrorname(errno));
		return;
	}
	kill(getpid(), SIGUSR1);
	EXPECT_EQ("kill_as_a_user_gives_si_code_si_user", SI_USER, got.si_code);
	EXPECT_EQ("kill_as_a_user_gives_si_uid_of_the_sender", 65534, (int)got.si_uid);
	EXPECT_EQ("kill_as_a_user_gives_si_pid_of_the_sender", getpid(), got.si_pid);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
	EXPECT_EQ("tgkill_as_a_user_gives_si_code_si_tkill", SI_TKILL, got.si_code);
	EXPECT_EQ("tgkill_as_a_user_gives_si_uid_of_the_sender", 65534, (int)got.si_uid);
}

/*
 * The caller's child B stops in a group of its own; when the caller (its
 * only link to a group in the session outside B's) exits, B's group is
 * orphaned and the kernel sends it SIGHUP, then SIGCONT.
 */
static void orphaned_group_signals(void)
{
	int fd[2];
	pipe(fd);
	setsid();
	pid_t a = fork();
	if (a == 0) {
		pid_t b = fork();
		if (b == 0) {
			report_fd = fd[1];
			catch_with_info(SIGHUP);
			catch_with_info(SIGCONT);
			setpgid(0, 0);
			raise(SIGSTOP);
			/* Both handlers ran before raise returned. */
			_exit(0);
		}
		int status;
		waitpid(b, &status, WUNTRACED);
		_exit(WIFSTOPPED(status) ? 0 : 1);
	}
	close(fd[1]);
	int status = -1;
	waitpid(a, &status, 0);
	EXPECT_EQ("the_group_s_child_stopped_before_its_parent_exited", 0, status);
	/* Both are pending when B resumes, and SIGCONT's handler runs first
	 * (its frame goes on top of SIGHUP's before either runs). */
	siginfo_t info[2] = { 0 }, hup = { 0 }, cont = { 0 };
	int n = 0;
	while (n < 2 && read_siginfo(fd[0], &info[n], 5000))
		n++;
	for (int i = 0; i < n; i++)
		*(info[i].si_signo == SIGHUP ? &hup : &cont) = info[i];
	CHECK("an_orphaned_stopped_group_gets_sighup_and_sigcont",
	      hup.si_signo == SIGHUP && cont.si_signo == SIGCONT);
	EXPECT_EQ("the_orphaned_group_s_sighup_comes_from_the_kernel", SI_KERNEL, hup.si_code);
	EXPECT_EQ("the_orphaned_group_s_sighup_has_no_sender_pid", 0, hup.si_pid);
	EXPECT_EQ("the_orphaned_group_s_sigcont_comes_from_the_kernel", SI_KERNEL, cont.si_code);
}

static int thread_report_fd;

static void report_usr1(int sig)
{
	(void)sig;
	write(thread_report_fd, "u", 1);
}

static void *pause_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void kill_after_the_main_thread_exited(void)
{
	int ready[2], report[2];
	pipe(ready);
	pipe(report);
	pid_t z = fork();
	if (z == 0) {
		setpgid(0, 0);
		thread_report_fd = report[1];
		signal(SIGUSR1, report_usr1);
		pthread_t t;
		pthread_create(&t, NULL, pause_forever, NULL);
		write(ready[1], "r", 1);
		syscall(SYS_exit, 0);
	}
	char c;
	read(ready[0], &c, 1);
	sleep_ms(100);
	EXPECT_EQ("kill_by_pid_after_the_main_thread_exited_succeeds", 0, kill(z, SIGUSR1));
	struct pollfd p = { .fd = report[0], .events = POLLIN };
	CHECK("kill_by_pid_after_the_main_thread_exited_reaches_the_live_thread",
	      poll(&p, 1, 5000) == 1 && read(report[0], &c, 1) == 1 && c == 'u');
	kill(z, SIGKILL);
	int status = -1, reaped = 0;
	for (long end = now_ms() + 5000; !reaped && now_ms() < end; sleep_ms(10))
		reaped = waitpid(z, &status, WNOHANG) == z;
	if (!reaped) {
		kill(-z, SIGKILL);
		waitpid(z, &status, 0);
	}
	CHECK("sigkill_by_pid_after_the_main_thread_exited_kills_the_process",
	      reaped && killed_by(status, SIGKILL));
}

static void setsid_while_the_group_lives(void)
{
	setsid();
	pid_t session = getpid();
	int fd[2];
	pipe(fd);
	pid_t a = fork();
	if (a == 0) {
		setpgid(0, 0);
		pid_t b = fork();
		if (b == 0) {
			char c;
			read(fd[0], &c, 1);
			_exit(0);
		}
		int moved = setpgid(0, session);
		int r = setsid();
		int e = errno;
		write(fd[1], "x", 1);
		waitpid(b, NULL, 0);
		_exit(moved == 0 && r == -1 && e == EPERM ? 0 : 1 + (r != -1));
	}
	int status = -1;
	waitpid(a, &status, 0);
	CHECK("setsid_fails_with_eperm_while_a_group_has_the_caller_s_id",
	      WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	check_begin("conform_kill");
	as_child(user_senders);
	as_child(orphaned_group_signals);
	as_child(kill_after_the_main_thread_exited);
	as_child(setsid_while_the_group_lives);
	return check_end();
}
