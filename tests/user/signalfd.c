/*
 * signalfd: a blocked signal is read from a signalfd as a 128-byte
 * struct signalfd_siginfo with the sender's pid and uid, and taken off the
 * pending set; the file polls readable while one is pending, never waits
 * with SFD_NONBLOCK, takes a new mask, refuses a short buffer, after fork
 * reads the reader's own signals, and a reader waiting on it dies of
 * SIGKILL.
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <stddef.h>
#include <sys/signalfd.h>

static sigset_t just(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	return set;
}

static void reads_a_blocked_sigusr1(void)
{
	sigset_t set = just(SIGUSR1);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK("signalfd_returns_a_descriptor", fd >= 0);
	EXPECT_EQ("sfd_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ("sfd_nonblock_sets_o_nonblock", O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	struct signalfd_siginfo si;
	EXPECT_FAILS("an_empty_nonblocking_signalfd_is_eagain", EAGAIN, read(fd, &si, sizeof si));
	struct pollfd p = { fd, POLLIN, 0 };
	EXPECT_EQ("nothing_pending_polls_not_readable", 0, poll(&p, 1, 0));

	kill(getpid(), SIGUSR1);
	EXPECT_EQ("a_pending_sigusr1_polls_readable", 1, poll(&p, 1, 0));
	EXPECT_EQ("poll_reports_pollin", POLLIN, p.revents);
	memset(&si, 0xff, sizeof si);
	EXPECT_EQ("read_gives_one_128_byte_record", 128, read(fd, &si, sizeof si));
	EXPECT_EQ("ssi_signo_is_sigusr1", SIGUSR1, si.ssi_signo);
	EXPECT_EQ("ssi_code_is_si_user", SI_USER, si.ssi_code);
	EXPECT_EQ("ssi_pid_is_the_sender", getpid(), si.ssi_pid);
	EXPECT_EQ("ssi_uid_is_the_sender_s", getuid(), si.ssi_uid);
	EXPECT_EQ("ssi_errno_is_zero", 0, si.ssi_errno);
	sigset_t pending;
	sigpending(&pending);
	EXPECT_EQ("the_read_took_it_off_the_pending_set", 0, sigismember(&pending, SIGUSR1));
	EXPECT_FAILS("then_it_is_empty_again", EAGAIN, read(fd, &si, sizeof si));

	kill(getpid(), SIGUSR1);
	char small[100];
	EXPECT_FAILS("a_buffer_under_128_bytes_is_einval", EINVAL, read(fd, small, sizeof small));
	sigpending(&pending);
	EXPECT_EQ("the_short_read_left_it_pending", 1, sigismember(&pending, SIGUSR1));

	/* A new mask through the same fd: SIGUSR1 no longer, SIGUSR2 now. */
	sigset_t two = just(SIGUSR2);
	sigaddset(&two, SIGKILL);
	EXPECT_EQ("passing_the_fd_again_updates_the_mask", fd, signalfd(fd, &two, 0));
	EXPECT_FAILS("sigusr1_is_no_longer_read", EAGAIN, read(fd, &si, sizeof si));
	kill(getpid(), SIGUSR2);
	struct signalfd_siginfo both[2];
	EXPECT_EQ("sigusr2_now_is", 128, read(fd, both, sizeof both));
	EXPECT_EQ("and_it_is_sigusr2", SIGUSR2, both[0].ssi_signo);
	/* Leave SIGUSR1 pending for nobody: take it with sigtimedwait. */
	struct timespec zero = { 0, 0 };
	EXPECT_EQ("sigusr1_was_still_pending", SIGUSR1, sigtimedwait(&set, NULL, &zero));

	int p2[2];
	if (pipe(p2))
		_exit(2);
	EXPECT_FAILS("a_pipe_is_not_a_signalfd_einval", EINVAL, signalfd(p2[0], &set, 0));
	EXPECT_FAILS("a_closed_fd_is_ebadf", EBADF, signalfd(999, &set, 0));
	EXPECT_FAILS("an_unknown_flag_is_einval", EINVAL, syscall(289, -1, &set, 8, 1));
	EXPECT_FAILS("a_sizemask_other_than_8_is_einval", EINVAL, syscall(289, -1, &set, 4, 0));
	close(p2[0]);
	close(p2[1]);
	close(fd);
}

static void read_record(int fd)
{
	struct signalfd_siginfo si;
	read(fd, &si, sizeof si);
}

static void a_blocking_read_waits_for_the_signal(void)
{
	sigset_t set = just(SIGUSR1);
	int fd = signalfd(-1, &set, 0);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		sleep_ms(100);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct signalfd_siginfo si;
	EXPECT_EQ("a_blocking_read_returns_when_the_signal_comes", 128, read(fd, &si, sizeof si));
	EXPECT_EQ("it_is_the_child_s_sigusr1", child, si.ssi_pid);
	waitpid(child, NULL, 0);

	/* SIGCHLD through a signalfd: the child's status. */
	sigset_t chld = just(SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	EXPECT_EQ("the_mask_can_become_sigchld", fd, signalfd(fd, &chld, 0));
	child = fork();
	if (child == 0)
		_exit(7);
	EXPECT_EQ("sigchld_is_read", 128, read(fd, &si, sizeof si));
	EXPECT_EQ("ssi_pid_is_the_child", child, si.ssi_pid);
	EXPECT_EQ("ssi_code_is_cld_exited", CLD_EXITED, si.ssi_code);
	EXPECT_EQ("ssi_status_is_the_exit_code", 7, si.ssi_status);
	waitpid(child, NULL, 0);
	close(fd);

	fd = signalfd(-1, &set, 0);
	sigkill_ends_blocked("sigkill_ends_a_blocked_reader", read_record, fd);
	close(fd);
}

static void a_forked_child_reads_its_own_signals(void)
{
	sigset_t set = just(SIGUSR2);
	int fd = signalfd(-1, &set, SFD_NONBLOCK);
	kill(getpid(), SIGUSR2);
	pid_t child = fork();
	if (child == 0) {
		struct signalfd_siginfo si;
		/* The parent's pending signal is not the child's. */
		if (read(fd, &si, sizeof si) != -1 || errno != EAGAIN)
			_exit(1);
		kill(getpid(), SIGUSR2);
		if (read(fd, &si, sizeof si) != 128 || si.ssi_pid != (unsigned)getpid())
			_exit(2);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	EXPECT_EQ("the_child_reads_only_its_own_signals", 0, WIFEXITED(status) ? WEXITSTATUS(status) : 100);
	struct signalfd_siginfo si;
	EXPECT_EQ("the_parent_still_reads_its_own", 128, read(fd, &si, sizeof si));
	close(fd);
}

int main(void)
{
	check_begin("signalfd");
	_Static_assert(sizeof(struct signalfd_siginfo) == 128, "layout");
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	reads_a_blocked_sigusr1();
	a_blocking_read_waits_for_the_signal();
	a_forked_child_reads_its_own_signals();
	return check_end();
}
