/* Truncation racing fork: a process forks in a loop while another shrinks
 * and regrows a shared file mapping's file. Every page past the end must
 * be unmapped from every process, children forked mid-truncate included
 * (Linux: i_mmap, and dup_mmap linking the child before copying the page
 * tables), so an access to the second page gives SIGBUS, a fresh page, or
 * the current data, never the data of a page the file already dropped. */
#include "check.h"
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096L
#define FORKS 300

struct shared {
	volatile uint64_t epoch; /* the value page 2 holds since its last regrowth */
	volatile int done;
	volatile long stale, bus, seen;
};

static sigjmp_buf bus_jump;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jump, 1);
}

/* Reads page 2: 1 if it shows a page the file dropped before `before`
 * was read, 0 if not, -1 for SIGBUS. */
static int touch(volatile uint64_t *page2, struct shared *sh)
{
	if (sigsetjmp(bus_jump, 1))
		return -1;
	uint64_t before = sh->epoch;
	uint64_t v = *page2;
	return v != 0 && v < before;
}

/* Shrinks the file to one page and regrows it, each time writing a larger
 * epoch into the new second page, until the forker is done. */
static void truncator(int fd, struct shared *sh)
{
	for (uint64_t e = 2; !sh->done; e++) {
		if (ftruncate(fd, PAGE) || ftruncate(fd, 2 * PAGE) ||
		    pwrite(fd, &e, sizeof e, PAGE) != sizeof e)
			_exit(3);
		sh->epoch = e;
	}
	_exit(0);
}

int main(void)
{
	check_begin("rmap_race");
	char dir[64], path[96];
	if (!scratch_dir(dir, sizeof dir, "rmap_race")) {
		check_fail("setup", "mkdtemp failed");
		return check_end();
	}
	snprintf(path, sizeof path, "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint64_t one = 1;
	struct shared *sh = mmap(0, PAGE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *map = MAP_FAILED;
	if (fd >= 0 && ftruncate(fd, 2 * PAGE) == 0 &&
	    pwrite(fd, &one, sizeof one, PAGE) == sizeof one)
		map = mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (sh == MAP_FAILED || map == MAP_FAILED) {
		check_fail("setup", "open/mmap failed");
		return check_end();
	}
	sh->epoch = 1;
	signal(SIGBUS, on_sigbus);
	volatile uint64_t *page2 = (volatile uint64_t *)(map + PAGE);

	pid_t trunc = fork();
	if (trunc == 0)
		truncator(fd, sh);
	long parent_stale = 0;
	for (int i = 0; i < FORKS; i++) {
		/* Map page 2 here, so that fork has an entry to copy. */
		parent_stale += touch(page2, sh) == 1;
		pid_t child = fork();
		if (child == 0) {
			for (int k = 0; k < 4; k++) {
				int r = touch(page2, sh);
				__atomic_add_fetch(r < 0 ? &sh->bus : r ? &sh->stale : &sh->seen,
						   1, __ATOMIC_RELAXED);
			}
			_exit(0);
		}
		if (child < 0 || waitpid(child, NULL, 0) != child) {
			check_fail("fork", "fork/wait failed at %d", i);
			break;
		}
	}
	sh->done = 1;
	int status;
	waitpid(trunc, &status, 0);
	EXPECT_EQ("the_truncator_ran_to_the_end", 1, exited_with(status, 0));
	EXPECT_EQ("no_child_sees_a_page_the_file_dropped", 0, sh->stale);
	EXPECT_EQ("the_parent_never_sees_a_dropped_page", 0, parent_stale);
	say("    %ld SIGBUS, %ld current reads, epoch %llu\n", sh->bus, sh->seen,
	    (unsigned long long)sh->epoch);
	CHECK("children_accessed_the_page", sh->bus + sh->seen == 4L * FORKS);

	/* And with the file one page long, page 2 is past the end. */
	sh->done = 0;
	if (ftruncate(fd, PAGE) == 0) {
		pid_t child = fork();
		if (child == 0)
			_exit(touch(page2, sh) == -1 ? 0 : 1);
		waitpid(child, &status, 0);
		EXPECT_EQ("past_the_end_is_sigbus_in_a_child", 1, exited_with(status, 0));
		EXPECT_EQ("past_the_end_is_sigbus_in_the_parent", -1, touch(page2, sh));
	}
	close(fd);
	scratch_remove(dir);
	return check_end();
}
