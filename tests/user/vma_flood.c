/*
 * vma_flood: many processes each split one mapping into as many areas as
 * vm.max_map_count allows. Every area costs kernel memory (Linux: a
 * vm_area_struct from slab; here an entry in the kernel heap), so together
 * they would exhaust it: each process must be refused with ENOMEM, and the
 * kernel must go on forking, piping and writing files for everyone else
 * while the areas are held, then give the memory back when they exit.
 * Runs the same on Linux (a few tens of MiB of slab).
 */
#include "check.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096L
#define MAX_MAP_COUNT 65530
#define FLOODERS 200
/* mprotect calls per flooder in the crowd: 2048 areas each. */
#define CROWD_CALLS 1024
#define DEADLINE_MS 120000

/* One process's flood: PROT_NONE on every other page of one mapping,
 * from the bottom up, until mprotect fails or `calls` succeeded. Reports
 * the number of successful calls and the errno (0 when all succeeded) on
 * `out`, then holds the areas until `go` is closed. */
static void __attribute__((noreturn)) flood(long calls, int out, int go)
{
	long pages = 2 * calls + 4;
	char *p = mmap(NULL, pages * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	long report[2] = { -1, errno };
	if (p != MAP_FAILED) {
		long n = 0;
		errno = 0;
		while (n < calls && mprotect(p + 2 * n * PAGE, PAGE, PROT_NONE) == 0)
			n++;
		report[0] = n;
		report[1] = n < calls ? errno : 0;
	}
	write(out, report, sizeof report);
	close(out);
	char c;
	read(go, &c, 1);
	_exit(0);
}

/* Starts `n` flooders of `calls` each; returns how many started, their
 * pids in kids, and the read end of their reports in *out. */
static int start_flooders(int n, long calls, pid_t *kids, int *out, int *go)
{
	int o[2], g[2];
	pipe(o);
	pipe(g);
	int made = 0;
	for (; made < n; made++) {
		kids[made] = fork();
		if (kids[made] < 0)
			break;
		if (kids[made] == 0) {
			close(o[0]);
			close(g[1]);
			flood(calls, o[1], g[0]);
		}
	}
	close(o[1]);
	close(g[0]);
	*out = o[0];
	*go = g[1];
	return made;
}

/* Lets the flooders go and checks that each exits 0. */
static void stop_flooders(const char *name, pid_t *kids, int n, int out, int go)
{
	close(go);
	close(out);
	int all_exited = 1;
	for (int i = 0; i < n; i++) {
		int status = wait_until(kids[i], DEADLINE_MS);
		all_exited &= status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK(name, all_exited);
}

/* What the kernel must still do for others while the areas are held: a
 * fork, a pipe round trip, a file written and read back, /proc read. */
static void the_kernel_still_serves_others(void)
{
	pid_t child = fork();
	if (child == 0)
		_exit(5);
	int status = child > 0 ? wait_until(child, DEADLINE_MS) : -1;
	CHECK("fork_works_while_the_areas_are_held",
	      status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 5);
	int p[2];
	char buf[8] = "";
	int piped = pipe(p) == 0 && write(p[1], "pipe", 4) == 4 && read(p[0], buf, 4) == 4;
	CHECK("a_pipe_works_while_the_areas_are_held", piped && memcmp(buf, "pipe", 4) == 0);
	if (piped) {
		close(p[0]);
		close(p[1]);
	}
	int fd = open("vma_flood.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
	int wrote = fd >= 0 && write(fd, "file", 4) == 4 && pread(fd, buf, 4, 0) == 4;
	CHECK("a_file_works_while_the_areas_are_held", wrote && memcmp(buf, "file", 4) == 0);
	if (fd >= 0)
		close(fd);
	unlink("vma_flood.tmp");
	CHECK("proc_meminfo_reads_while_the_areas_are_held", memfree_kb() > 0);
}

/* One process alone reaches vm.max_map_count, as on Linux: about half as
 * many mprotect calls as areas, each splitting off two. */
static void one_process_reaches_max_map_count(void)
{
	pid_t kid;
	int out, go;
	long report[2] = { -1, 0 };
	start_flooders(1, MAX_MAP_COUNT, &kid, &out, &go);
	read_full(out, report, sizeof report);
	if (report[0] >= MAX_MAP_COUNT / 2 - 8 && report[1] == ENOMEM)
		check_ok("one_process_is_refused_with_enomem_at_max_map_count");
	else
		check_fail("one_process_is_refused_with_enomem_at_max_map_count",
			   "%ld calls, then %s", report[0], strerrorname(report[1]));
	stop_flooders("the_process_at_max_map_count_exits_0", &kid, 1, out, go);
}

/* A crowd of processes with thousands of areas each, more than the
 * kernel heap holds here: each finishes or gets ENOMEM (fork may be
 * refused too), and the kernel keeps serving everyone. */
static void a_crowd_of_flooders_is_refused_and_the_kernel_serves_on(void)
{
	static pid_t kids[FLOODERS];
	int out, go;
	int made = start_flooders(FLOODERS, CROWD_CALLS, kids, &out, &go);
	long total = 0, all_ok = 1, refused = 0;
	long report[2];
	for (int i = 0; i < made && read_full(out, report, sizeof report) == 0; i++) {
		total += report[0];
		refused += report[1] != 0;
		if (report[1] != 0 && report[1] != ENOMEM) {
			all_ok = 0;
			say("vma_flood: a flooder stopped after %ld calls with %s\n", report[0],
			    strerrorname(report[1]));
		}
	}
	say("vma_flood: %d processes made %ld splits; %ld refused\n", made, total, refused);
	CHECK("every_flooder_finishes_or_is_refused_with_enomem", all_ok);
	the_kernel_still_serves_others();
	stop_flooders("every_flooder_exits_0", kids, made, out, go);
}

int main(void)
{
	check_begin("vma_flood");
	one_process_reaches_max_map_count();
	a_crowd_of_flooders_is_refused_and_the_kernel_serves_on();
	return check_end();
}
