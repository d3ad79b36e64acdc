/*
 * exec_shares_text: execve maps a program's text and read-only data
 * straight from the page cache, so processes running the same binary share
 * those pages. 50 copies of this program each read all of a 1 MiB
 * read-only array (256 pages) and wait; MemFree must drop by at most a few
 * pages per process more than for 50 copies that leave the array alone.
 * A kernel that copied the file per exec would need 256 pages each.
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

/* MemFree drop, in pages, with COPIES children running; -1 on failure. */
static long run_copies(const char *self, int touch)
{
	int ready[2], go[2];
	if (pipe(ready) || pipe(go))
		return -1;
	long before = memfree_kb();
	pid_t pids[COPIES];
	for (int i = 0; i < COPIES; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			close(ready[0]);
			char r[16], g[16];
			snprintf(r, sizeof r, "%d", ready[1]);
			snprintf(g, sizeof g, "%d", go[0]);
			char *argv[] = { (char *)self, touch ? "--touch" : "--idle", r, g, 0 };
			execv(self, argv);
			_exit(127);
		}
	}
	char c;
	for (int i = 0; i < COPIES; i++)
		if (read(ready[0], &c, 1) != 1)
			return -1;
	long after = memfree_kb();
	close(go[1]);
	int failed = 0;
	for (int i = 0; i < COPIES; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
	return failed ? -1 : (before - after) / 4;
}

int main(int argc, char **argv)
{
	if (argc == 4)
		return child(strcmp(argv[1], "--touch") == 0, atoi(argv[2]), atoi(argv[3]));
	check_begin("exec_shares_text");
	/* The best of three rounds, so that other activity on a host cannot
	 * make a sharing kernel fail. */
	long best = -1;
	for (int round = 0; round < 3; round++) {
		long idle = run_copies(argv[0], 0);
		long touched = run_copies(argv[0], 1);
		if (idle < 0 || touched < 0) {
			check_fail("fifty_copies_of_the_program_run", "a copy failed");
			return check_end();
		}
		long extra = (touched - idle) / COPIES;
		say("    round %d: %ld pages for idle copies, %ld for copies reading the array: %ld extra per process\n",
		    round, idle, touched, extra);
		if (best < 0 || extra < best)
			best = extra;
	}
	CHECK("fifty_processes_reading_a_1_mib_read_only_array_share_its_pages",
	      best <= MAX_EXTRA_PAGES);
	return check_end();
}
