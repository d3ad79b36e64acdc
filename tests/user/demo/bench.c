/*
 * bench: microseconds per process-lifecycle operation, measured with
 * clock_gettime(CLOCK_MONOTONIC). Run it on the host and in the kernel
 * (`make bench`) and compare. As pid 1 it powers the machine off at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char self[256];

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void report(const char *what, double total_us, int ops)
{
	printf("bench %-34s %10.2f us/op  (%d ops)\n", what, total_us / ops, ops);
	fflush(stdout);
}

static void fork_exit_wait(int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, 0, 0);
	}
	report("fork+exit+wait4", now_us() - t0, n);
}

/* fork+exit+wait4 in `procs` independent processes at once, n each;
 * returns operations per second over all of them. */
static double parallel_fork_exit_wait(int procs, int n)
{
	double t0 = now_us();
	for (int k = 0; k < procs; k++) {
		if (fork() == 0) {
			for (int i = 0; i < n; i++) {
				pid_t p = fork();
				if (p == 0)
					_exit(0);
				waitpid(p, 0, 0);
			}
			_exit(0);
		}
	}
	while (wait(0) > 0)
		;
	return procs * n / ((now_us() - t0) / 1e6);
}

/* The throughput of 4 forking processes against 1 (with several CPUs,
 * each can fork on its own CPU). */
static void fork_scaling(int n)
{
	double one = parallel_fork_exit_wait(1, n);
	double four = parallel_fork_exit_wait(4, n);
	printf("bench fork+exit+wait4 throughput: 1 process %.0f/s, 4 processes %.0f/s (%.2fx) on %ld CPUs\n",
	       one, four, four / one, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
}

static void fork_touched(int mib, int n)
{
	size_t len = (size_t)mib << 20;
	char *buf = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, len);
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, 0, 0);
	}
	char label[64];
	snprintf(label, sizeof label, "fork+exit+wait4, %d MiB touched", mib);
	report(label, now_us() - t0, n);
	munmap(buf, len);
}

static void cow_fault(int pages)
{
	char *buf = mmap(0, (size_t)pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, (size_t)pages * 4096);
	int fds[2];
	pipe(fds);
	pid_t p = fork();
	if (p == 0) {
		double t0 = now_us();
		for (int i = 0; i < pages; i++)
			buf[(size_t)i * 4096] = 2;
		double dt = now_us() - t0;
		write(fds[1], &dt, sizeof dt);
		_exit(0);
	}
	double dt;
	read(fds[0], &dt, sizeof dt);
	waitpid(p, 0, 0);
	report("copy-on-write fault (per page)", dt, pages);
	close(fds[0]);
	close(fds[1]);
	munmap(buf, (size_t)pages * 4096);
}

static void fork_exec_wait(int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			char *argv[] = { self, "--exit", 0 };
			execve(self, argv, environ);
			_exit(127);
		}
		waitpid(p, 0, 0);
	}
	report("fork+execve+wait4", now_us() - t0, n);
}

/* read() of a 1 MiB tmpfs file, served from its page cache. */
static void pagecache_read(int n)
{
	static char buf[1 << 20];
	const char *path = "/tmp/bench.pagecache";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	memset(buf, 7, sizeof buf);
	if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf) {
		printf("bench pagecache_read: cannot write %s\n", path);
		return;
	}
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		pread(fd, buf, sizeof buf, 0);
	report("page-cache read of 1 MiB", now_us() - t0, n);
	close(fd);
	unlink(path);
}

/* The first write to each page of a MAP_SHARED mapping of a tmpfs file:
 * the fault maps the page-cache page itself. */
static void shared_write_fault(int pages)
{
	const char *path = "/tmp/bench.shared";
	size_t len = (size_t)pages * 4096;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, len) != 0) {
		printf("bench shared_write_fault: cannot size %s\n", path);
		return;
	}
	char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		printf("bench shared_write_fault: mmap failed\n");
		return;
	}
	double t0 = now_us();
	for (int i = 0; i < pages; i++)
		p[(size_t)i * 4096] = 1;
	report("MAP_SHARED write fault (per page)", now_us() - t0, pages);
	munmap(p, len);
	close(fd);
	unlink(path);
}

static void vfork_exit_wait(int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t p = vfork();
		if (p == 0)
			_exit(0);
		waitpid(p, 0, 0);
	}
	report("vfork+exit+wait4", now_us() - t0, n);
}

static void spawn_wait(int n)
{
	char *argv[] = { self, "--exit", 0 };
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t p;
		posix_spawn(&p, self, 0, 0, argv, environ);
		waitpid(p, 0, 0);
	}
	report("posix_spawn (vfork+execve)+wait4", now_us() - t0, n);
}

static void munmap_one_page(int n, const char *what)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		volatile char *p = mmap(0, 4096, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		munmap((void *)p, 4096);
	}
	report(what, now_us() - t0, n);
}

static volatile int spin_stop;

/* Keeps this process's mm loaded on another CPU. */
static void *spin(void *arg)
{
	(void)arg;
	while (!spin_stop)
		;
	return NULL;
}

/*
 * mmap+touch+munmap of one page, alone and with a thread of the process
 * spinning on another CPU: the difference is the TLB shootdown (the IPI
 * and the wait for the other CPU's flush). Needs two CPUs.
 */
static void tlb_shootdown(int n)
{
	munmap_one_page(n, "mmap+touch+munmap of 1 page");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	pthread_t t;
	spin_stop = 0;
	pthread_create(&t, 0, spin, 0);
	munmap_one_page(n, "same, a thread on another CPU");
	spin_stop = 1;
	pthread_join(t, 0);
}

static void *nothing(void *arg)
{
	return arg;
}

static void thread_create_join(int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, 0, nothing, 0);
		pthread_join(t, 0);
	}
	report("pthread_create+join", now_us() - t0, n);
}

static void getppid_loop(int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		getppid();
	report("getppid", now_us() - t0, n);
}

/* Microseconds for n getppid calls. */
static double null_syscalls_us(int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		getppid();
	return now_us() - t0;
}

/* The cost of idle sleepers to everyone else: a null-syscall loop with
 * `sleepers` children asleep in nanosleep against the same loop with none.
 * Each sleeper has one timer and is not woken until it expires, so the
 * two should be within a few percent. */
static void idle_sleepers(int sleepers, int n)
{
	static pid_t kids[1000];
	double alone = null_syscalls_us(n);
	int started = 0;
	for (; started < sleepers && started < 1000; started++) {
		kids[started] = fork();
		if (kids[started] == 0) {
			struct timespec long_sleep = { 1000, 0 };
			nanosleep(&long_sleep, 0);
			_exit(0);
		}
		if (kids[started] < 0)
			break;
	}
	struct timespec settle = { 0, 200000000 };
	nanosleep(&settle, 0);
	double crowded = null_syscalls_us(n);
	for (int i = 0; i < started; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < started; i++)
		waitpid(kids[i], 0, 0);
	report("getppid, no sleepers", alone, n);
	char what[64];
	snprintf(what, sizeof what, "getppid, %d sleepers in nanosleep", started);
	report(what, crowded, n);
	printf("bench idle_sleepers: %d sleepers slow a null syscall by %+.1f %%\n", started,
	       (crowded - alone) * 100.0 / alone);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return 0;
	if (realpath(argv[0], self) == 0)
		snprintf(self, sizeof self, "/bin/bench");
	if (argc > 1 && strcmp(argv[1], "tlb") == 0) {
		/* The costs a TLB change touches, alone: `bench tlb`. */
		fork_exit_wait(500);
		cow_fault(4096);
		tlb_shootdown(2000);
		if (getpid() == 1)
			reboot(RB_POWER_OFF);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "smp") == 0) {
		/* The multi-CPU rows alone: `bench smp`. */
		fork_scaling(500);
		tlb_shootdown(2000);
		if (getpid() == 1)
			reboot(RB_POWER_OFF);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "lifecycle") == 0) {
		/* The single-CPU lifecycle costs alone, short enough to run
		 * under QEMU's -icount (instructions, not time): `bench lifecycle`. */
		getppid_loop(20000);
		fork_exit_wait(200);
		vfork_exit_wait(200);
		thread_create_join(200);
		if (getpid() == 1)
			reboot(RB_POWER_OFF);
		return 0;
	}
	getppid_loop(100000);
	fork_exit_wait(500);
	fork_touched(16, 20);
	fork_touched(64, 10);
	cow_fault(4096);
	fork_exec_wait(200);
	pagecache_read(200);
	shared_write_fault(4096);
	vfork_exit_wait(500);
	spawn_wait(200);
	thread_create_join(500);
	tlb_shootdown(2000);
	idle_sleepers(500, 2000000);
	fork_scaling(500);
	if (getpid() == 1)
		reboot(RB_POWER_OFF);
	return 0;
}
