/*
 * oom_fork: a fork that finds no free page for what the kernel builds for
 * the child (its page tables, top-level table and kernel stack) gets the
 * pages through the OOM killer, as a GFP_KERNEL allocation does on Linux:
 * the process holding the most memory is killed with SIGKILL and the fork
 * succeeds; nobody else dies.
 *
 * On Linux only the forks run (they must simply succeed); filling memory
 * runs only on our kernel, in a boot of its own, whose log the harness
 * checks for Linux's "Out of memory: Killed process" line.
 */
#include "check.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096L
#define MIB (1024L * 1024)
#define DEADLINE_MS 60000
/* 2 MiB regions the forker touches once each: a page table apiece, which
 * the fork copies (about 1 MiB of page tables, a few pages more). */
#define TABLES 256
/* The hog stops with less than this free: less than one fork needs. */
#define FULL_KB 512
/* Children the second forker keeps alive, a dozen pages each. */
#define KEPT 150

/* Touches pages until MemFree is below FULL_KB, then says so on `ready`
 * and holds the memory until killed. */
static void __attribute__((noreturn)) hog(int ready)
{
	long next_check = 0;
	for (long page = 0;; page++) {
		static char *p;
		if (page % (16 * MIB / PAGE) == 0) {
			p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(3);
		}
		if (page == next_check) {
			long free_kb = memfree_kb();
			if (free_kb < 0)
				_exit(4); /* no MemFree: never take that for "full" */
			if (free_kb < FULL_KB) {
				write(ready, "x", 1);
				for (;;)
					pause();
			}
			next_check = page + (free_kb < 8 * 1024 ? 4 : 256);
		}
		p[page % (16 * MIB / PAGE) * PAGE] = 1;
	}
}

/* A process that holds 4 MiB and exits 0 when `go` is closed: it must
 * live through every OOM kill here. */
static pid_t start_bystander(int go[2])
{
	pipe(go);
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		char *p = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		for (long i = 0; i < 4 * MIB; i += PAGE)
			p[i] = 1;
		char c;
		read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	return pid;
}

/* Starts the hog and waits until memory is full; its pid, or -1 when it
 * died on the way (which the caller reports). */
static pid_t fill_memory(const char *name)
{
	int ready[2];
	pipe(ready);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		hog(ready[1]);
	}
	close(ready[1]);
	char c;
	int full = read(ready[0], &c, 1) == 1;
	close(ready[0]);
	long free_kb = memfree_kb();
	if (full && free_kb >= 0 && free_kb < FULL_KB + 64) {
		check_ok(name);
		return pid;
	}
	check_fail(name, "hog ready %d, MemFree %ld kB", full, free_kb);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* The hog must have died of SIGKILL by now (the OOM killer's), or on
 * Linux (no hog) there is nothing to check. */
static void expect_hog_killed(const char *name, pid_t hog_pid)
{
	if (hog_pid < 0)
		return;
	int status = wait_until(hog_pid, DEADLINE_MS);
	if (killed_by(status, SIGKILL))
		check_ok(name);
	else
		check_fail(name, "wait status %#x", status);
}

/* The forker holds TABLES page tables; its fork must copy them all. */
static void a_fork_needing_page_tables_kills_the_hog(int hogs)
{
	char *spread = mmap(NULL, TABLES * 2 * MIB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (spread == MAP_FAILED) {
		check_fail("a_fork_that_needs_more_page_tables_than_are_free_succeeds",
			   "mmap: %s", strerror(errno));
		return;
	}
	for (long i = 0; i < TABLES; i++)
		spread[i * 2 * MIB] = 1;
	pid_t hog_pid = hogs ? fill_memory("memory_is_full_before_the_page_table_fork") : -1;
	pid_t child = fork();
	int err = errno;
	if (child == 0)
		_exit(spread[(TABLES - 1) * 2 * MIB] == 1 ? 7 : 8);
	if (child > 0 && exited_with(wait_until(child, DEADLINE_MS), 7))
		check_ok("a_fork_that_needs_more_page_tables_than_are_free_succeeds");
	else
		check_fail("a_fork_that_needs_more_page_tables_than_are_free_succeeds",
			   "fork: %s", child < 0 ? strerror(err) : "child failed");
	expect_hog_killed("the_hog_is_killed_for_the_page_tables_of_the_fork", hog_pid);
	munmap(spread, TABLES * 2 * MIB);
}

/* The forker keeps KEPT children alive: each holds a kernel stack, a
 * top-level table and a few page tables. */
static void forks_that_keep_their_children_kill_the_hog(int hogs)
{
	int hold[2];
	pipe(hold);
	pid_t hog_pid = hogs ? fill_memory("memory_is_full_before_the_many_forks") : -1;
	pid_t kids[KEPT];
	int made = 0, err = 0;
	for (; made < KEPT; made++) {
		kids[made] = fork();
		if (kids[made] < 0) {
			err = errno;
			break;
		}
		if (kids[made] == 0) {
			close(hold[1]);
			char c;
			read(hold[0], &c, 1);
			_exit(0);
		}
	}
	close(hold[1]);
	if (made == KEPT)
		check_ok("every_fork_of_a_process_keeping_its_children_succeeds");
	else
		check_fail("every_fork_of_a_process_keeping_its_children_succeeds",
			   "fork %d of %d: %s", made + 1, KEPT, strerror(err));
	expect_hog_killed("the_hog_is_killed_for_the_forks", hog_pid);
	int all_exited = 1;
	for (int i = 0; i < made; i++)
		all_exited &= exited_with(wait_until(kids[i], DEADLINE_MS), 0);
	CHECK("every_kept_child_lives_to_exit_0", all_exited);
	close(hold[0]);
}

int main(void)
{
	check_begin("oom_fork");
	int hogs = on_lifecycle();
	if (!hogs) {
		const char *why = "exhausting memory runs only on lifecycle";
		check_skip("memory_is_full_before_the_page_table_fork", why);
		check_skip("the_hog_is_killed_for_the_page_tables_of_the_fork", why);
		check_skip("memory_is_full_before_the_many_forks", why);
		check_skip("the_hog_is_killed_for_the_forks", why);
	}
	int go[2];
	pid_t bystander = start_bystander(go);
	a_fork_needing_page_tables_kills_the_hog(hogs);
	forks_that_keep_their_children_kill_the_hog(hogs);
	close(go[1]);
	CHECK("the_bystander_lives_through_every_oom_kill",
	      exited_with(wait_until(bystander, DEADLINE_MS), 0));
	return check_end();
}
