/*
 * eventfd: the counter file event loops wake themselves with, as Linux
 * answers: eventfd2's flags, 8-byte reads and writes, semaphore mode, the
 * overflow rule, poll/epoll readiness, blocking reads and writes woken by
 * the other side, signals ending them (EINTR, SA_RESTART, SIGKILL), the
 * /proc/self/fd name and fdinfo, and hostile input. The anon-inode names
 * of signalfd and epoll are checked here too, and what every anon-inode
 * file shares: one inode, lseek that stays at 0, no pread.
 */
#define _GNU_SOURCE
#include "check.h"
#include <stdint.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>

static void on_alarm(int sig)
{
	(void)sig;
}

static short revents(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static uint64_t get(int fd)
{
	uint64_t v = 0;
	return read(fd, &v, 8) == 8 ? v : (uint64_t)-1;
}

static void read_counter(int fd)
{
	get(fd);
}

static int put(int fd, uint64_t v)
{
	return write(fd, &v, 8);
}

static void flags_and_errors(void)
{
	EXPECT_FAILS("eventfd2_with_an_unknown_flag_is_einval", EINVAL, eventfd(0, 0x10));
	EXPECT_FAILS("eventfd2_with_o_rdwr_as_flag_is_einval", EINVAL, eventfd(0, O_RDWR));
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK("eventfd2_returns_a_descriptor", fd >= 0);
	EXPECT_EQ("efd_cloexec_sets_fd_cloexec", FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ("efd_nonblock_sets_o_nonblock_and_it_is_o_rdwr", O_NONBLOCK | O_RDWR,
		  fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE));
	char small[4] = { 0 };
	EXPECT_FAILS("a_read_of_4_bytes_is_einval", EINVAL, read(fd, small, 4));
	EXPECT_FAILS("a_write_of_4_bytes_is_einval", EINVAL, write(fd, small, 4));
	EXPECT_FAILS("writing_ullong_max_is_einval", EINVAL, put(fd, UINT64_MAX));
	EXPECT_FAILS("a_nonblocking_read_of_zero_is_eagain", EAGAIN, get(fd) == (uint64_t)-1 ? -1 : 0);
	EXPECT_FAILS("a_write_from_a_bad_address_is_efault", EFAULT, write(fd, (void *)8, 8));
	put(fd, 7);
	EXPECT_FAILS("a_read_into_a_bad_address_is_efault", EFAULT, read(fd, (void *)8, 8));
	EXPECT_EQ("lseek_does_nothing_and_returns_0", 0, lseek(fd, 5, SEEK_SET));
	uint64_t v8;
	EXPECT_FAILS("pread_is_espipe", ESPIPE, pread(fd, &v8, 8, 0));
	close(fd);
	fd = syscall(SYS_eventfd, 5);
	CHECK("the_old_eventfd_syscall_makes_one_too", fd >= 0);
	EXPECT_EQ("its_counter_starts_at_initval", 5, get(fd));
	EXPECT_EQ("and_it_blocks_by_default", 0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

static void counting(void)
{
	int fd = eventfd(0, EFD_NONBLOCK);
	EXPECT_EQ("a_write_takes_8_bytes", 8, put(fd, 3));
	put(fd, 4);
	uint64_t two[2] = { 10, 20 };
	EXPECT_FAILS("a_write_of_16_bytes_is_einval", EINVAL, write(fd, two, 16));
	uint64_t out[2] = { 0, 0 };
	EXPECT_EQ("a_read_of_16_bytes_returns_8", 8, read(fd, out, 16));
	EXPECT_EQ("a_read_takes_the_sum", 7, out[0]);
	EXPECT_FAILS("and_leaves_zero", EAGAIN, read(fd, out, 8));
	EXPECT_EQ("a_write_of_zero_succeeds", 8, put(fd, 0));
	EXPECT_FAILS("and_adds_nothing", EAGAIN, read(fd, out, 8));
	close(fd);

	fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	int ones = 0;
	while (get(fd) == 1)
		ones++;
	EXPECT_EQ("efd_semaphore_reads_1_as_often_as_the_count", 3, ones);
	close(fd);

	fd = eventfd(0, EFD_NONBLOCK);
	EXPECT_EQ("a_write_up_to_ullong_max_minus_1_succeeds", 8, put(fd, UINT64_MAX - 1));
	EXPECT_FAILS("one_more_would_overflow_so_is_eagain", EAGAIN, put(fd, 1));
	EXPECT_EQ("a_full_counter_is_readable_not_writable", POLLIN, revents(fd));
	EXPECT_EQ("reading_it_gives_ullong_max_minus_1", UINT64_MAX - 1, get(fd));
	EXPECT_EQ("an_empty_counter_is_writable_only", POLLOUT, revents(fd));
	put(fd, 1);
	EXPECT_EQ("a_counter_of_1_is_both", POLLIN | POLLOUT, revents(fd));
	close(fd);
}

static void waking(void)
{
	int fd = eventfd(0, 0);
	pid_t child = fork();
	if (child == 0) {
		usleep(50000);
		put(fd, 42);
		_exit(0);
	}
	EXPECT_EQ("a_blocking_read_waits_for_a_writer", 42, get(fd));
	waitpid(child, NULL, 0);

	put(fd, UINT64_MAX - 1);
	child = fork();
	if (child == 0)
		_exit(put(fd, 5) == 8 ? 0 : 1);
	usleep(50000);
	int status = -1;
	EXPECT_EQ("a_write_that_would_overflow_waits", 0, waitpid(child, &status, WNOHANG));
	EXPECT_EQ("until_a_read_makes_room", UINT64_MAX - 1, get(fd));
	waitpid(child, &status, 0);
	EXPECT_EQ("then_it_adds_its_value", 0, status);
	EXPECT_EQ("which_the_next_read_sees", 5, get(fd));

	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 9 }, got[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	EXPECT_EQ("epoll_sees_no_event_at_zero", 0, epoll_wait(ep, got, 2, 0));
	child = fork();
	if (child == 0) {
		usleep(50000);
		put(fd, 1);
		_exit(0);
	}
	EXPECT_EQ("epoll_wait_is_woken_by_a_write", 1, epoll_wait(ep, got, 2, 5000));
	EXPECT_EQ("with_epollin", EPOLLIN, got[0].events);
	waitpid(child, NULL, 0);
	close(ep);
	close(fd);
}

static void signals(void)
{
	int fd = eventfd(0, 0);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	EXPECT_FAILS("a_handler_without_sa_restart_ends_a_read_with_eintr", EINTR, get(fd) == (uint64_t)-1 ? -1 : 0);

	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	pid_t child = fork();
	if (child == 0) {
		usleep(150000);
		put(fd, 6);
		_exit(0);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	EXPECT_EQ("with_sa_restart_the_read_goes_on_after_the_handler", 6, get(fd));
	waitpid(child, NULL, 0);

	sigkill_ends_blocked("sigkill_ends_a_blocked_reader", read_counter, fd);
	close(fd);
}

/* The target of /proc/self/fd/<fd> into buf. */
static const char *fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void proc_names(void)
{
	char link[128], info[512], path[64];
	int fd = eventfd(0x2a, EFD_SEMAPHORE);
	CHECK("an_eventfd_s_fd_link_reads_anon_inode_eventfd",
	      strcmp(fd_link(fd, link, sizeof link), "anon_inode:[eventfd]") == 0);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	read_text(path, info, sizeof info);
	CHECK("fdinfo_shows_the_count_in_hex_16_wide", strstr(info, "eventfd-count:               2a\n") != NULL);
	CHECK("and_the_semaphore_flag", strstr(info, "eventfd-semaphore: 1\n") != NULL);
	CHECK("and_an_id", strstr(info, "eventfd-id: ") != NULL);
	close(fd);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	fd = signalfd(-1, &mask, 0);
	CHECK("a_signalfd_s_fd_link_reads_anon_inode_signalfd",
	      strcmp(fd_link(fd, link, sizeof link), "anon_inode:[signalfd]") == 0);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	read_text(path, info, sizeof info);
	CHECK("its_fdinfo_shows_the_mask", strstr(info, "sigmask:\t0000000000000200\n") != NULL);
	close(fd);

	fd = epoll_create1(0);
	CHECK("an_epoll_s_fd_link_reads_anon_inode_eventpoll",
	      strcmp(fd_link(fd, link, sizeof link), "anon_inode:[eventpoll]") == 0);
	close(fd);
}

/* Whether the four kinds of anon-inode file (and a pidfd) behave as one
 * kind of file should: the inode they share, lseek and pread. */
static void anon_inodes(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	int fds[4] = { eventfd(0, 0), timerfd_create(CLOCK_MONOTONIC, 0),
		       signalfd(-1, &mask, 0), epoll_create1(0) };
	struct stat first = { 0 };
	fstat(fds[0], &first);
	EXPECT_EQ("an_anon_inode_file_is_mode_0600_with_no_type", 0600, first.st_mode);
	EXPECT_EQ("with_one_link", 1, first.st_nlink);
	int shared = 1, noop = 1, bad_whence = 1, no_pread = 1;
	for (int i = 0; i < 4; i++) {
		struct stat st = { 0 };
		char c;
		shared &= fstat(fds[i], &st) == 0 && st.st_ino == first.st_ino &&
			  st.st_dev == first.st_dev && st.st_mode == first.st_mode;
		noop &= lseek(fds[i], 5, SEEK_SET) == 0 && lseek(fds[i], -5, SEEK_CUR) == 0 &&
			lseek(fds[i], 0, SEEK_END) == 0 && lseek(fds[i], 0, SEEK_HOLE) == 0;
		bad_whence &= lseek(fds[i], 0, SEEK_HOLE + 1) == -1 && errno == EINVAL;
		no_pread &= pread(fds[i], &c, 1, 0) == -1 && errno == ESPIPE;
		no_pread &= pwrite(fds[i], &c, 1, 0) == -1 && errno == ESPIPE;
		close(fds[i]);
	}
	CHECK("eventfd_timerfd_signalfd_and_epoll_share_one_inode", shared);
	CHECK("lseek_on_each_returns_0_for_any_offset_and_whence", noop);
	CHECK("but_a_whence_past_seek_hole_is_einval", bad_whence);
	CHECK("pread_and_pwrite_on_each_are_espipe", no_pread);

	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	EXPECT_FAILS("lseek_on_a_pidfd_is_espipe", ESPIPE, lseek(pidfd, 0, SEEK_CUR));
	EXPECT_FAILS("and_with_a_whence_past_seek_hole_einval", EINVAL, lseek(pidfd, 0, SEEK_HOLE + 1));
	close(pidfd);
}

int main(void)
{
	check_begin("eventfd");
	flags_and_errors();
	counting();
	waking();
	signals();
	proc_names();
	anon_inodes();
	return check_end();
}
