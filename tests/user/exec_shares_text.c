/*
 * exec_shares_text: execve maps a program's text and read-only data
 * straight from the page cache, so processes running the same binary share
 * those pages. 50 copies of this program each read all of a 1 MiB
 * read-only array (256 pages) and wait; MemFree must drop by at most a few
 * pages per process more than for 50 copies that leave the array alone.
 * A kernel that copied the file per exec would need 256 pages each.
 * MemFree may rise during a round on a busy host; a negative drop is a
 * measurement, not a failure, and a copy that fails says why.
 *
 * Linux: fs/binfmt_elf.c (elf_map), mm/filemap.c (filemap_fault)
 */
#include "check.h"

#define PAGE 4096
#define COPIES 50
#define BIG (1 << 20)
/* Most pages per process the shared array may add (page tables, noise). */
#define MAX_EXTRA_PAGES 8

/* In the file (one byte is not zero), in a read-only segment. */
static const volatile char big[BIG] = { [BIG - 1] = 1 };

/* A child: touch the array or not, say "ready", wait for "go". */
static int child(int touch, int ready, int go)
{
	long sum = 0;
	if (touch)
		for (int i = 0; i < BIG; i += PAGE)
			sum += big[i];
	char c = 'r';
	if (write(ready, &c, 1) != 1)
		return 2;
	read(go, &c, 1);
	return sum == 0 ? 0 : 1;
}

/* Why the last round could not run, for the failure line. */
static char why[128];

/* Waits for copy `pid`; false (with `why` set) unless it exited 0. */
static int copy_succeeded(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		snprintf(why, sizeof why, "waitpid(%d): %s", pid, strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "copy %d was killed by signal %d", pid, WTERMSIG(status));
	else if (WEXITSTATUS(status) == 127)
		snprintf(why, sizeof why, "copy %d could not execve itself", pid);
	else if (WEXITSTATUS(status) != 0)
		snprintf(why, sizeof why, "copy %d exited with %d", pid, WEXITSTATUS(status));
	else
		return 1;
	return 0;
}

/* Runs COPIES children and sets *pages to the drop in MemFree while they
 * all run (negative when other activity freed memory meanwhile); false,
 * with `why` set, when a copy did not run. */
static int run_copies(const char *self, int touch, long *pages)
{
	int ready[2], go[2];
	if (pipe(ready) || pipe(go)) {
		snprintf(why, sizeof why, "pipe: %s", strerror(errno));
		return 0;
	}
	long before = memfree_kb();
	pid_t pids[COPIES];
	int started = 0;
	while (started < COPIES) {
		pid_t pid = fork();
		if (pid < 0) {
			snprintf(why, sizeof why, "fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			close(go[1]);
			close(ready[0]);
			char r[16], g[16];
			snprintf(r, sizeof r, "%d", ready[1]);
			snprintf(g, sizeof g, "%d", go[0]);
			char *argv[] = { (char *)self, touch ? "--touch" : "--idle", r, g, 0 };
			execv(self, argv);
			dprintf(1, "    copy %d: execv: %s\n", getpid(), strerror(errno));
			_exit(127);
		}
		pids[started++] = pid;
	}
	close(ready[1]);
	close(go[0]);
	/* Each copy says "r" once it has run; EOF means every copy is
	 * ready or gone. */
	char c;
	int ready_copies = 0;
	while (ready_copies < started && read(ready[0], &c, 1) == 1)
		ready_copies++;
	long after = memfree_kb();
	close(go[1]);
	int ok = started == COPIES;
	for (int i = 0; i < started; i++)
		ok &= copy_succeeded(pids[i]);
	close(ready[0]);
	*pages = (before - after) / 4;
	return ok;
}

int main(int argc, char **argv)
{
	if (argc == 4)
		return child(strcmp(argv[1], "--touch") == 0, atoi(argv[2]), atoi(argv[3]));
	check_begin("exec_shares_text");
	/* The best of three rounds, so that other activity on a host cannot
	 * make a sharing kernel fail. */
	long best = 0;
	for (int round = 0; round < 3; round++) {
		long idle, touched;
		if (!run_copies(argv[0], 0, &idle) || !run_copies(argv[0], 1, &touched)) {
			check_fail("fifty_copies_of_the_program_run", "%s", why);
			return check_end();
		}
		long extra = (touched - idle) / COPIES;
		say("    round %d: %ld pages for idle copies, %ld for copies reading the array: %ld extra per process\n",
		    round, idle, touched, extra);
		if (round == 0 || extra < best)
			best = extra;
	}
	CHECK("fifty_processes_reading_a_1_mib_read_only_array_share_its_pages",
	      best <= MAX_EXTRA_PAGES);
	return check_end();
}
