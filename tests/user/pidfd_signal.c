/*
 * pidfd_signal: pidfd_send_signal(2) sends as kill(2) does (SI_USER from
 * the caller) or with the caller's siginfo, to the process of the pidfd
 * and to nobody once it has been reaped; its errors are Linux's.
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define PIDFD_SIGNAL_THREAD 1
#define PIDFD_SIGNAL_THREAD_GROUP 2

static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

/* What the child saw of each SIGUSR1 it took. */
struct seen {
	int signo, code, pid, value;
};

/* Takes `n` SIGUSR1s with sigwaitinfo and reports each on `out`. */
static void child_reports(int ready, int out, int n)
{
	for (int i = 0; i < n; i++) {
		siginfo_t si;
		if (i == 0 && write(ready, "r", 1) != 1)
			_exit(2);
		struct seen s = { 0 };
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		if (sigwaitinfo(&set, &si) == SIGUSR1)
			s = (struct seen){ si.si_signo, si.si_code, si.si_pid, si.si_value.sival_int };
		if (write(out, &s, sizeof s) != sizeof s)
			_exit(2);
	}
	_exit(0);
}

static siginfo_t queue_info(int sig, int code, int value)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = sig;
	si.si_code = code;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return si;
}

static void sends_to_a_live_child(void)
{
	int ready[2], out[2];
	if (pipe(ready) || pipe(out))
		_exit(2);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t child = fork();
	if (child == 0)
		child_reports(ready[1], out[1], 3);
	sigprocmask(SIG_SETMASK, &old, NULL);
	int fd = pidfd_open(child);
	char c;
	CHECK("the_child_is_ready", read(ready[0], &c, 1) == 1 && fd >= 0);

	struct seen s = { 0 };
	EXPECT_EQ("a_null_siginfo_send_succeeds", 0, pidfd_send_signal(fd, SIGUSR1, NULL, 0));
	CHECK("the_child_reports_it", read(out[0], &s, sizeof s) == sizeof s);
	EXPECT_EQ("a_null_siginfo_arrives_as_sigusr1", SIGUSR1, s.signo);
	EXPECT_EQ("a_null_siginfo_arrives_as_si_user", SI_USER, s.code);
	EXPECT_EQ("a_null_siginfo_names_the_sender", getpid(), s.pid);

	siginfo_t si = queue_info(SIGUSR1, SI_QUEUE, 4242);
	EXPECT_EQ("a_si_queue_siginfo_send_succeeds", 0, pidfd_send_signal(fd, SIGUSR1, &si, 0));
	CHECK("the_child_reports_the_queued_one", read(out[0], &s, sizeof s) == sizeof s);
	EXPECT_EQ("the_queued_signal_keeps_si_queue", SI_QUEUE, s.code);
	EXPECT_EQ("the_queued_signal_keeps_its_value", 4242, s.value);

	si = queue_info(SIGUSR1, SI_USER, 0);
	EXPECT_FAILS("a_forged_si_user_to_another_process_is_eperm", EPERM,
		     pidfd_send_signal(fd, SIGUSR1, &si, 0));
	si = queue_info(SIGUSR1, SI_TKILL, 0);
	EXPECT_FAILS("a_forged_si_tkill_to_another_process_is_eperm", EPERM,
		     pidfd_send_signal(fd, SIGUSR1, &si, 0));
	si = queue_info(SIGUSR2, SI_QUEUE, 0);
	EXPECT_FAILS("a_siginfo_for_another_signal_is_einval", EINVAL,
		     pidfd_send_signal(fd, SIGUSR1, &si, 0));
	EXPECT_FAILS("an_unknown_flag_is_einval", EINVAL, pidfd_send_signal(fd, SIGUSR1, NULL, 8));
	EXPECT_FAILS("two_scope_flags_are_einval", EINVAL,
		     pidfd_send_signal(fd, SIGUSR1, NULL, PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP));
	EXPECT_FAILS("signal_65_is_einval", EINVAL, pidfd_send_signal(fd, 65, NULL, 0));
	EXPECT_EQ("signal_0_checks_the_process_exists", 0, pidfd_send_signal(fd, 0, NULL, 0));

	EXPECT_EQ("pidfd_signal_thread_sends_to_the_thread", 0,
		  pidfd_send_signal(fd, SIGUSR1, NULL, PIDFD_SIGNAL_THREAD));
	CHECK("the_child_reports_the_thread_signal", read(out[0], &s, sizeof s) == sizeof s);
	EXPECT_EQ("the_thread_signal_is_sigusr1", SIGUSR1, s.signo);

	int status;
	EXPECT_EQ("the_child_exits", child, waitpid(child, &status, 0));
	EXPECT_FAILS("a_reaped_process_is_esrch", ESRCH, pidfd_send_signal(fd, SIGUSR1, NULL, 0));
	EXPECT_FAILS("signal_0_to_a_reaped_process_is_esrch", ESRCH, pidfd_send_signal(fd, 0, NULL, 0));
	close(fd);
	close(ready[0]);
	close(ready[1]);
	close(out[0]);
	close(out[1]);
}

static void a_zombie_can_be_signalled_until_reaped(void)
{
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	int fd = pidfd_open(child);
	/* Readable once it has exited; it is a zombie until waited for. */
	struct pollfd p = { fd, POLLIN, 0 };
	EXPECT_EQ("the_pidfd_polls_readable_when_the_child_exits", 1, poll(&p, 1, 5000));
	EXPECT_EQ("a_zombie_takes_a_signal_without_error", 0, pidfd_send_signal(fd, SIGUSR1, NULL, 0));
	waitpid(child, NULL, 0);
	EXPECT_FAILS("once_reaped_it_is_esrch", ESRCH, pidfd_send_signal(fd, SIGUSR1, NULL, 0));
	close(fd);
}

static void only_pidfds_are_accepted(void)
{
	int p[2];
	if (pipe(p))
		_exit(2);
	EXPECT_FAILS("a_pipe_is_not_a_pidfd_ebadf", EBADF, pidfd_send_signal(p[0], SIGUSR1, NULL, 0));
	EXPECT_FAILS("a_closed_fd_is_ebadf", EBADF, pidfd_send_signal(999, SIGUSR1, NULL, 0));
	close(p[0]);
	close(p[1]);
}

static void a_process_may_forge_to_itself(void)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	int fd = pidfd_open(getpid());
	siginfo_t si = queue_info(SIGUSR2, SI_USER, 0), got;
	si.si_pid = 12345;
	EXPECT_EQ("a_forged_si_user_to_itself_is_allowed", 0, pidfd_send_signal(fd, SIGUSR2, &si, 0));
	struct timespec ts = { 1, 0 };
	EXPECT_EQ("it_arrives", SIGUSR2, sigtimedwait(&set, &got, &ts));
	EXPECT_EQ("with_the_forged_pid", 12345, got.si_pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fd);
}

int main(void)
{
	check_begin("pidfd_signal");
	sends_to_a_live_child();
	a_zombie_can_be_signalled_until_reaped();
	only_pidfds_are_accepted();
	a_process_may_forge_to_itself();
	return check_end();
}
