/*
 * mem_pressure: runs a program while memory runs out again and again
 * (`make stress PRESSURE=1` wraps each race test in it):
 *
 *     mem_pressure PROGRAM [ARGS...]
 *
 * Beside PROGRAM, a hog touches anonymous memory until the OOM killer ends
 * it, and is started again, until PROGRAM exits. So PROGRAM's forks, exits
 * and page faults meet a page allocator that is empty, the OOM killer, and
 * big address spaces being torn down on other CPUs. PROGRAM and its
 * children are made unkillable by the OOM killer (oom_score_adj -1000), the
 * hog the first choice (1000), so that only the hog dies. The exit status
 * is PROGRAM's; the hog's deaths are counted on one line.
 *
 * On a machine with more than 1 GiB of memory (a development host) there
 * is no hog: PROGRAM just runs.
 */
#include "check.h"

#include <sys/mman.h>

#define MIB (1024L * 1024)
/* Memory above this is a host, not the test machine: no hog there. */
#define HOST_MEMORY_KB (1024L * 1024)

static void set_oom_score_adj(const char *value)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		say("mem_pressure: oom_score_adj %s: %s\n", value, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Touches fresh pages, 16 MiB at a time and never letting go, until the
 * OOM killer ends it. */
static void __attribute__((noreturn)) hog(void)
{
	set_oom_score_adj("1000");
	for (;;) {
		long size = 16 * MIB;
		char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			sleep_ms(10);
			continue;
		}
		for (long i = 0; i < size; i += 4096)
			p[i] = (char)i;
	}
}

static pid_t start_hog(void)
{
	pid_t pid = fork();
	if (pid == 0)
		hog();
	return pid;
}

int main(int argc, char **argv)
{
	check_begin("mem_pressure");
	if (argc < 2) {
		say("usage: mem_pressure PROGRAM [ARGS...]\n");
		return 2;
	}
	long memtotal_kb = proc_number("/proc/meminfo", "MemTotal:");
	int pressure = memtotal_kb > 0 && memtotal_kb <= HOST_MEMORY_KB;
	char path[256];
	sibling(argv[0], argv[1], path, sizeof path);
	pid_t program = fork();
	if (program == 0) {
		if (pressure)
			set_oom_score_adj("-1000");
		argv[1] = path;
		execv(path, argv + 1);
		say("mem_pressure: execv %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	pid_t hog_pid = pressure ? start_hog() : -1;
	int kills = 0, status = -1;
	for (;;) {
		int st;
		pid_t got = wait(&st);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		if (got == program) {
			status = st;
			break;
		}
		if (got == hog_pid) {
			kills += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
			hog_pid = start_hog();
		}
	}
	if (hog_pid > 0) {
		kill(hog_pid, SIGKILL);
		waitpid(hog_pid, NULL, 0);
	}
	say("mem_pressure: %s: the hog was killed %d times%s\n", argv[1], kills,
	    pressure ? "" : " (no hog: this machine has more than 1 GiB)");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	say("mem_pressure: %s ended with status %#x\n", argv[1], status);
	return 1;
}
