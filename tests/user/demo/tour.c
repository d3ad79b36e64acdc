/*
 * The guided tour: run as /init, it walks through a process's life and
 * says at each step which kernel function did the work. Then it starts
 * the shell. With the argument "--no-shell" it powers off instead (the
 * automated test of the tour).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long vmstat(const char *key)
{
	char buf[512];
	int fd = open("/proc/vmstat", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *at = strstr(buf, key);
	return at ? atol(at + strlen(key) + 1) : -1;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return '-';
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *paren = strrchr(buf, ')');
	return paren && paren[1] ? paren[2] : '?';
}

static void step(const char *title)
{
	printf("\n== %s\n", title);
	fflush(stdout);
}

static void fork_and_cow(void)
{
	step("fork: kernel_clone() -> copy_process() -> wake_up_new_task()");
	enum { PAGES = 64, WRITES = 16 };
	char *buf = mmap(0, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, PAGES * 4096);
	long before = vmstat("cow_copy");
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < WRITES; i++)
			buf[i * 4096] = 2;
		_exit(0);
	}
	waitpid(pid, 0, 0);
	printf("tour: fork returned %d; dup_mm() shared all %d pages read-only (copy_page_range)\n", pid, PAGES);
	printf("tour: the child wrote %d pages: do_wp_page() copied %ld pages\n", WRITES, vmstat("cow_copy") - before);
	munmap(buf, PAGES * 4096);
}

static void exec_step(void)
{
	step("exec: bprm_execve() -> load_elf_binary() -> start_thread()");
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { "echo", "tour: hello from the new program, same pid", 0 };
		execv("/bin/echo", argv);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("tour: pid %d ran /bin/echo and exited with %d\n", pid, WEXITSTATUS(status));
}

static void zombie_step(void)
{
	step("zombie: do_exit() -> exit_notify() leaves EXIT_ZOMBIE until wait4()");
	pid_t pid = fork();
	if (pid == 0)
		_exit(42);
	for (int i = 0; i < 100 && proc_state(pid) != 'Z'; i++)
		usleep(10000);
	printf("tour: child %d exited; before wait4 its state is %c\n", pid, proc_state(pid));
	int status;
	waitpid(pid, &status, 0);
	printf("tour: wait4 collected status %d; release_task() freed it, state now %c\n", WEXITSTATUS(status), proc_state(pid));
}

static void orphan_step(void)
{
	step("orphan: forget_original_parent() -> find_new_reaper() picks init");
	int fds[2];
	pipe(fds);
	pid_t parent = fork();
	if (parent == 0) {
		if (fork() == 0) {
			while (getppid() != 1)
				usleep(1000);
			pid_t me = getpid();
			write(fds[1], &me, sizeof me);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(parent, 0, 0);
	pid_t orphan;
	read(fds[0], &orphan, sizeof orphan);
	printf("tour: parent %d exited; its child %d now has ppid 1 (this init)\n", parent, orphan);
	waitpid(orphan, 0, 0);
	printf("tour: init reaped orphan %d\n", orphan);
	close(fds[0]);
	close(fds[1]);
}

static long ms_since(struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void vfork_step(void)
{
	step("vfork: the parent sleeps on vfork_done until the child execs or exits");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = vfork();
	if (pid == 0) {
		struct timespec nap = { 0, 100 * 1000 * 1000 };
		nanosleep(&nap, 0);
		_exit(0);
	}
	printf("tour: vfork returned after %ld ms: the child %d exited (mm_release completed vfork_done)\n", ms_since(&t0), pid);
	waitpid(pid, 0, 0);
}

static long shared_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *thread_body(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&lock);
		shared_counter++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(long)syscall(SYS_gettid);
}

static void threads_step(void)
{
	step("threads: clone(CLONE_VM|CLONE_THREAD|...) shares the mm; futex() for the mutex");
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], 0, thread_body, 0);
	for (int i = 0; i < 2; i++) {
		void *tid;
		pthread_join(t[i], &tid);
		printf("tour: thread tid %ld (getpid %d) finished\n", (long)tid, getpid());
	}
	printf("tour: both threads incremented one counter to %ld\n", shared_counter);
}

static void kthreads_step(void)
{
	step("kernel threads: kthreadd (pid 2) is the parent of every kthread");
	printf("tour: kthreadd is in state %c; kernel threads have no mm\n", proc_state(2));
}

int main(int argc, char **argv)
{
	int shell = !(argc > 1 && strcmp(argv[1], "--no-shell") == 0);
	setvbuf(stdout, 0, _IOLBF, 0);
	printf("tour: this is /init, pid %d\n", getpid());
	fork_and_cow();
	exec_step();
	zombie_step();
	orphan_step();
	vfork_step();
	threads_step();
	kthreads_step();
	printf("\ntour: done\n");
	if (!shell) {
		reboot(RB_POWER_OFF);
		return 1;
	}
	printf("tour: starting the shell; Ctrl-T lists tasks, 'poweroff -f' ends the VM\n");
	char *sh[] = { "sh", 0 };
	execv("/bin/sh", sh);
	perror("tour: /bin/sh");
	return 1;
}
