/*
 * pidns [SECONDS]: a pid namespace from birth to death. clone(CLONE_NEWPID)
 * makes a namespace whose first task is its pid 1 (its parent, outside,
 * reads as 0). That init forks children, ignores a SIGTERM one of them
 * sends it, adopts and reaps an orphan as the namespace's child_reaper,
 * and lists /proc as ps inside would. Outside, the same tasks have other
 * numbers. Then the init is killed from outside and zap_pid_ns_processes()
 * takes every member with it. With SECONDS, the namespace lives that long
 * before the kill: run `pidns 20 &` and compare `ps` with the demo's lines.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "demo.h"

#define CHILDREN 3

/* The pids /proc lists, as ps sees them, into buf; their count. */
static int proc_pids(char *buf, size_t size)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t used = 0;
	int n = 0;
	buf[0] = 0;
	while (d && (e = readdir(d)) != NULL)
		if (atoi(e->d_name) > 0 && used < size) {
			used += snprintf(buf + used, size - used, " %s", e->d_name);
			n++;
		}
	if (d)
		closedir(d);
	return n;
}

/* A child orphans a grandchild; the init adopts and reaps it. */
static void orphan_step(void)
{
	int fds[2];
	pipe(fds);
	pid_t middle = fork();
	if (middle == 0) {
		pid_t me = getpid();
		if (fork() == 0) {
			while (getppid() == me)
				usleep(1000);
			pid_t told[2] = { getpid(), getppid() };
			write(fds[1], told, sizeof told);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(middle, 0, 0);
	pid_t told[2] = { 0, 0 };
	read(fds[0], told, sizeof told);
	printf("pidns: child %d exited; its child %d now has ppid %d, the namespace's init (find_new_reaper() -> child_reaper)\n",
	       middle, told[0], told[1]);
	pid_t reaped = waitpid(-1, 0, 0);
	printf("pidns: the init reaped orphan %d, as init does for the whole machine\n", reaped);
}

/* Pid 1 of the new namespace. */
static void namespace_init(int ready)
{
	printf("pidns: inside, the init's getpid() is %d and getppid() is %d (its parent is outside the namespace)\n",
	       getpid(), getppid());
	for (int i = 0; i < CHILDREN; i++)
		if (fork() == 0) {
			for (;;)
				pause();
		}
	pid_t k = fork();
	if (k == 0)
		_exit(kill(1, SIGTERM) == 0 ? 0 : 1);
	waitpid(k, 0, 0);
	usleep(20000);
	printf("pidns: child %d sent kill(1, SIGTERM): ignored, the init has no handler (SIGNAL_UNKILLABLE)\n", k);
	orphan_step();
	char pids[256];
	int n = proc_pids(pids, sizeof pids);
	printf("pidns: inside, /proc (what ps reads) lists only the namespace:%s (%d tasks)\n", pids, n);
	write(ready, "r", 1);
	for (;;)
		pause();
}

/* The namespace's members seen from outside: their pid here and inside. */
static int list_members(pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)) != NULL && n < max) {
		char path[300], buf[2048];
		snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
		int fd = open(path, O_RDONLY);
		ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
		if (fd >= 0)
			close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		char *ns = strstr(buf, "NSpid:");
		int outside, inside;
		if (ns && sscanf(ns, "NSpid:\t%d\t%d", &outside, &inside) == 2) {
			printf("pidns: outside, pid %d is pid %d inside\n", outside, inside);
			out[n++] = outside;
		}
	}
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	long keep = arg_or(argc, argv, 0);
	setvbuf(stdout, 0, _IOLBF, 0);
	int fds[2];
	pipe(fds);
	pid_t init = syscall(SYS_clone, 0x20000000 /* CLONE_NEWPID */ | SIGCHLD, 0, 0, 0, 0);
	if (init < 0) {
		perror("pidns: clone(CLONE_NEWPID)");
		return 1;
	}
	if (init == 0)
		namespace_init(fds[1]);
	printf("pidns: clone(CLONE_NEWPID) returned %d: create_pid_namespace() made a namespace whose init is %d out here\n",
	       init, init);
	char c;
	read(fds[0], &c, 1);
	pid_t members[16];
	int n = list_members(members, 16);
	sleep(keep);
	kill(init, SIGKILL);
	int status = 0;
	waitpid(init, &status, 0);
	printf("pidns: kill(%d, SIGKILL) from outside: the init died of signal %d; zap_pid_ns_processes() killed and reaped its members first\n",
	       init, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	int gone = 0;
	for (int i = 0; i < n; i++)
		gone += kill(members[i], 0) < 0 && errno == ESRCH;
	printf("pidns: %d of %d namespace members are gone: no pid, no /proc entry\n", gone, n);
	return gone == n ? 0 : 1;
}
