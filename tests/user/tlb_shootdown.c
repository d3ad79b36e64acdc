/*
 * tlb_shootdown: a page-table change made by one thread holds for every
 * thread of the process at once, whichever CPU it runs on. Each CPU caches
 * translations in its TLB; the kernel must flush the other CPUs' copies
 * (a TLB shootdown) before the change is relied on:
 *
 *  - fork write-protects the parent's pages: threads that keep writing on
 *    other CPUs must fault and copy, never write the page the child now
 *    shares, and the child's own writes must never show in the parent;
 *  - munmap: a thread reading the page on another CPU gets SIGSEGV, not
 *    the old page's data;
 *  - mprotect(PROT_READ): a thread writing on another CPU gets SIGSEGV.
 *
 * With one CPU the threads only interleave; with several, a kernel that
 * flushes only its own TLB fails these checks.
 */
#include "check.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#define NR_WRITERS 2
/* Defaults; `tlb_shootdown FORKS UNMAPS` runs more or fewer. */
static int forks = 2000, unmaps = 300;
/* Slot of the page that only children write. */
#define MARK 64

static volatile long *cow_page;
static atomic_int stop_writers;
static atomic_long parent_saw_child_write;

/* Writes its own slot forever; reports any child's mark it reads. */
static void *cow_writer(void *arg)
{
	long slot = (long)(intptr_t)arg;
	for (long n = 1; !atomic_load(&stop_writers); n++) {
		cow_page[slot] = n;
		if (cow_page[MARK] != 0)
			atomic_fetch_add(&parent_saw_child_write, 1);
	}
	return NULL;
}

/* In the child: nothing may change the page after fork but the child. */
static int child_sees_a_frozen_copy(void)
{
	long before[NR_WRITERS];
	for (int i = 0; i < NR_WRITERS; i++)
		before[i] = cow_page[i];
	/* Only reads so far: the page is still the one the parent had. */
	for (volatile int spin = 0; spin < 20000; spin++)
		;
	for (int i = 0; i < NR_WRITERS; i++)
		if (cow_page[i] != before[i])
			return 1;
	/* Now write: the parent's threads, still running, must not see it. */
	cow_page[MARK] = 1;
	for (volatile int spin = 0; spin < 20000; spin++)
		;
	return cow_page[MARK] == 1 ? 0 : 2;
}

static void fork_while_threads_write(void)
{
	cow_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cow_page == MAP_FAILED) {
		check_fail("fork_while_threads_write", "mmap: %s", strerror(errno));
		return;
	}
	pthread_t writers[NR_WRITERS];
	for (long i = 0; i < NR_WRITERS; i++)
		pthread_create(&writers[i], NULL, cow_writer, (void *)(intptr_t)i);
	int child_saw_parent_write = 0, bad_status = 0;
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(child_sees_a_frozen_copy());
		int status = -1;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			bad_status++;
		else if (WEXITSTATUS(status) != 0)
			child_saw_parent_write++;
	}
	atomic_store(&stop_writers, 1);
	for (int i = 0; i < NR_WRITERS; i++)
		pthread_join(writers[i], NULL);
	EXPECT_EQ("every_fork_child_ran_and_exited", 0, bad_status);
	EXPECT_EQ("a_fork_child_never_sees_the_parent_s_threads_write_after_fork", 0,
		  child_saw_parent_write);
	EXPECT_EQ("the_parent_s_threads_never_see_a_child_s_write", 0,
		  atomic_load(&parent_saw_child_write));
	EXPECT_EQ("the_parent_never_wrote_the_child_s_slot", 0, cow_page[MARK]);
	munmap((void *)cow_page, 4096);
}

/* One thread touches a page in a loop while the main thread takes it away. */
struct toucher {
	volatile int *page;
	int write;             /* write (mprotect case) or read (munmap case) */
	atomic_int running;    /* the loop has started */
	atomic_int changed;    /* the main thread's munmap/mprotect returned */
	int faulted;           /* SIGSEGV ended the loop */
	int stale;             /* an access after the change succeeded */
};

static __thread sigjmp_buf toucher_jmp;

static void toucher_segv(int sig)
{
	(void)sig;
	siglongjmp(toucher_jmp, 1);
}

static void *toucher(void *arg)
{
	struct toucher *t = arg;
	if (sigsetjmp(toucher_jmp, 1)) {
		t->faulted = 1;
		return NULL;
	}
	atomic_store(&t->running, 1);
	for (long n = 0;; n++) {
		int after = atomic_load(&t->changed);
		if (t->write)
			t->page[0] = (int)n;
		else if (t->page[0] != 42)
			t->stale = 1;
		if (after) {
			/* The change had returned before this access. */
			t->stale = 1;
			return NULL;
		}
	}
}

/* Returns the number of runs in which the toucher was not stopped by SIGSEGV. */
static int take_the_page_away(int write, int runs)
{
	int failures = 0;
	for (int i = 0; i < runs; i++) {
		struct toucher t = { .write = write };
		t.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t.page == MAP_FAILED)
			return runs;
		t.page[0] = 42;
		pthread_t th;
		pthread_create(&th, NULL, toucher, &t);
		while (!atomic_load(&t.running))
			;
		for (volatile int spin = 0; spin < 2000; spin++)
			;
		if (write)
			mprotect((void *)t.page, 4096, PROT_READ);
		else
			munmap((void *)t.page, 4096);
		atomic_store(&t.changed, 1);
		pthread_join(th, NULL);
		if (!t.faulted || t.stale)
			failures++;
		if (write)
			munmap((void *)t.page, 4096);
	}
	return failures;
}

int main(int argc, char **argv)
{
	check_begin("tlb_shootdown");
	if (argc > 1)
		forks = atoi(argv[1]);
	if (argc > 2)
		unmaps = atoi(argv[2]);
	struct sigaction sa = { .sa_handler = toucher_segv };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	fork_while_threads_write();
	EXPECT_EQ("a_thread_reading_a_page_another_thread_unmaps_gets_sigsegv_not_old_data", 0,
		  take_the_page_away(0, unmaps));
	EXPECT_EQ("a_thread_writing_a_page_another_thread_makes_read_only_gets_sigsegv", 0,
		  take_the_page_away(1, unmaps));
	return check_end();
}
