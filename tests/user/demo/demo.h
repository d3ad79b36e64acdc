/*
 * What the demos share: reading /proc the way ps and vmstat do, and an
 * optional number argument.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A counter from /proc/vmstat, e.g. "cow_copy"; -1 when missing. */
static inline long vmstat(const char *key)
{
	char buf[1024];
	int fd = open("/proc/vmstat", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	size_t len = strlen(key);
	for (char *at = buf; (at = strstr(at, key)); at += len)
		if ((at == buf || at[-1] == '\n') && at[len] == ' ')
			return atol(at + len + 1);
	return -1;
}

/* A field of /proc/meminfo in kB, e.g. "KernelStack:"; -1 when missing. */
static inline long meminfo(const char *key)
{
	char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *at = strstr(buf, key);
	return at ? atol(at + strlen(key)) : -1;
}

/* The state letter of /proc/<pid>/stat (R, S, Z...), or '-' once the pid is gone. */
static inline char proc_state(pid_t pid)
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

/* argv[1] as a number, or `otherwise` without one. */
static inline long arg_or(int argc, char **argv, long otherwise)
{
	return argc > 1 ? atol(argv[1]) : otherwise;
}

static inline long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}
