/*
 * sigkill_latency: a process inside a long system call dies soon after
 * SIGKILL. Each child starts one big copy (getrandom into 64 MiB, a read of
 * 64 MiB from /dev/zero, a 1 GiB sendfile from /dev/zero to /dev/null, a
 * writev of four 64 MiB buffers to /dev/null), the parent kills it 50 ms later and
 * must reap it within 100 ms. Linux does it in a few ms, because such
 * loops check for a fatal signal every page.
 */
#include "check.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define BIG (64L << 20)
#define KILL_AFTER_MS 50
#define REAP_WITHIN_MS 100

/* The child's end of the pipe that tells the parent setup is over. */
static int ready_fd = -1;

static void say_ready(void)
{
	write(ready_fd, "r", 1);
	close(ready_fd);
}

static char *big_buffer(void)
{
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void big_getrandom(void)
{
	char *p = big_buffer();
	say_ready();
	for (;;)
		syscall(SYS_getrandom, p, BIG, 0);
}

static void big_read_from_dev_zero(void)
{
	char *p = big_buffer();
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0)
		_exit(4);
	say_ready();
	for (;;)
		read(fd, p, BIG);
}

static void big_sendfile(void)
{
	int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
	if (in < 0 || out < 0)
		_exit(4);
	say_ready();
	for (;;)
		sendfile(out, in, NULL, 1L << 30);
}

static void big_writev(void)
{
	char *p = big_buffer();
	memset(p, 'x', BIG);
	struct iovec iov[4];
	for (int i = 0; i < 4; i++)
		iov[i] = (struct iovec){ p, BIG };
	int fd = open("/dev/null", O_WRONLY);
	say_ready();
	for (;;)
		writev(fd, iov, 4);
}

/* Forks a child into `work`, kills it once it is inside, and checks that
 * it is reaped in time and died of the SIGKILL. */
static void killed_promptly(const char *name, void (*work)(void))
{
	int ready[2];
	if (pipe(ready) < 0) {
		check_fail(name, "pipe failed");
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		close(ready[0]);
		ready_fd = ready[1];
		work();
		_exit(3);
	}
	close(ready[1]);
	char c;
	read(ready[0], &c, 1);
	close(ready[0]);
	sleep_ms(KILL_AFTER_MS);
	long start = now_ms();
	kill(child, SIGKILL);
	int status = 0;
	waitpid(child, &status, 0);
	long took = now_ms() - start;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && took <= REAP_WITHIN_MS)
		check_ok(name);
	else
		check_fail(name, "status %#x, reaped %ld ms after SIGKILL", status, took);
}

int main(void)
{
	check_begin("sigkill_latency");
	killed_promptly("sigkill_ends_a_64_mib_getrandom_within_100_ms", big_getrandom);
	killed_promptly("sigkill_ends_a_64_mib_read_from_dev_zero_within_100_ms",
			big_read_from_dev_zero);
	killed_promptly("sigkill_ends_a_1_gib_sendfile_within_100_ms", big_sendfile);
	killed_promptly("sigkill_ends_a_4_x_64_mib_writev_within_100_ms", big_writev);
	return check_end();
}
