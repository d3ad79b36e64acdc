/*
 * mmap_reuse: an address that munmap gave back and mmap hands out again is
 * a new page: it reads as zeros and keeps what is written to it. Two
 * threads on one CPU map a page, check it, fill it, read it back and unmap
 * it, over and over; mmap puts each new page where the other thread's last
 * one was. The threads preempt each other anywhere, also inside munmap,
 * after its page tables changed and before the TLB flush that drops the
 * old translation. A kernel that lets the other thread map the address
 * again in that window leaves it the stale translation: its page shows the
 * old page's data, and what it writes goes to the old page, which the
 * flush then frees (in race_dethread, a new thread's stack read back as
 * zeros once it moved to another CPU, and it returned to address 0).
 *
 * Usage: mmap_reuse [SECONDS] (default 2).
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#define WORDS 512

static long seconds = 2;
static atomic_long rounds, not_zero, lost;

/* One thread's loop: its pattern is its number in every word. */
static void *map_fill_unmap(void *arg)
{
	long mark = (long)(intptr_t)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof set, &set);
	long end = now_ms() + seconds * 1000;
	while (now_ms() < end) {
		volatile long *p = mmap(NULL, WORDS * sizeof(long), PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			continue;
		for (int i = 0; i < WORDS; i++)
			if (p[i] != 0) {
				atomic_fetch_add(&not_zero, 1);
				break;
			}
		for (int i = 0; i < WORDS; i++)
			p[i] = mark;
		for (int i = 0; i < WORDS; i++)
			if (p[i] != mark) {
				atomic_fetch_add(&lost, 1);
				break;
			}
		munmap((void *)p, WORDS * sizeof(long));
		atomic_fetch_add(&rounds, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	check_begin("mmap_reuse");
	if (argc > 1)
		seconds = strtol(argv[1], NULL, 0) > 0 ? strtol(argv[1], NULL, 0) : seconds;
	pthread_t a, b;
	pthread_create(&a, NULL, map_fill_unmap, (void *)1);
	pthread_create(&b, NULL, map_fill_unmap, (void *)2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	say("mmap_reuse: %ld pages mapped, filled and unmapped by two threads on CPU 0\n",
	    atomic_load(&rounds));
	CHECK("both_threads_mapped_pages_many_times", atomic_load(&rounds) > 100);
	EXPECT_EQ("a_page_mapped_where_another_was_unmapped_reads_as_zeros", 0,
		  atomic_load(&not_zero));
	EXPECT_EQ("what_a_thread_writes_to_its_new_page_stays_there", 0, atomic_load(&lost));
	return check_end();
}
