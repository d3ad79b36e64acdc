/*
 * lazy_tlb: a CPU that went idle after running a thread of this process
 * keeps the process's page tables loaded (lazy TLB), and a munmap sends it
 * no TLB shootdown, as Linux's should_flush_tlb() skips lazy CPUs; when
 * the thread comes back on that CPU, the CPU flushes what it missed, so
 * the thread never reads through a translation the munmap took away.
 *
 * A thread pinned to CPU 1 reads a page, then sleeps in read(2), leaving
 * CPU 1 idle. The main thread, on CPU 0, unmaps the page and maps a new
 * one with another value at the same address (the old page, freed, now
 * backs another mapping), then wakes the thread, which reads the address
 * again: it must see the new value (a CPU that skipped the flush would
 * read the old page through its stale TLB entry). CPU 1's TLB row of
 * /proc/interrupts counts the shootdowns it took: one per round on a
 * kernel that IPIs lazy CPUs (50, which fails), about none on Linux (a
 * shared host's other processes may send CPU 1 a few). QEMU's TCG did not
 * show the stale read with the kernel's catch-up flush taken out (its
 * emulated TLB lost the entry by itself), so the kernel test
 * mm::tlb::a_lazy_cpu_gets_no_ipi_and_flushes_when_it_returns_to_the_mm
 * checks that flush directly.
 */
#include "cpus.h"

#include <pthread.h>
#include <sys/mman.h>

#define ROUNDS 50

static int go[2], seen[2];
static volatile int *page;

/* On CPU 1: for each byte from `go`, reads the page and reports the value. */
static void *reader(void *arg)
{
	(void)arg;
	if (pin(1) != 0)
		return 0;
	char c;
	while (read(go[0], &c, 1) == 1) {
		int value = *page;
		if (write(seen[1], &value, sizeof value) != sizeof value)
			break;
	}
	return 0;
}

/* A fresh page at `at` (anywhere if NULL) that holds `value`. */
static volatile int *map_page(void *at, int value)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0);
	volatile int *p = mmap(at, 4096, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	*p = value;
	return p;
}

/* Has the reader read the page once; returns the value it saw, or -1. */
static int reader_reads(void)
{
	int value = -1;
	if (write(go[1], "r", 1) != 1 || read(seen[0], &value, sizeof value) != sizeof value)
		return -1;
	return value;
}

int main(void)
{
	check_begin("lazy_tlb");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		check_skip("a_cpu_idle_after_a_thread_of_the_process_takes_no_tlb_shootdown", "one CPU");
		return check_end();
	}
	pthread_t t;
	if (pin(0) != 0 || pipe(go) != 0 || pipe(seen) != 0 || !(page = map_page(0, 1)) ||
	    pthread_create(&t, 0, reader, 0) != 0) {
		check_fail("setup", "%s", strerror(errno));
		return check_end();
	}
	int stale = 0, rounds = 0;
	long long taken = 0;
	for (; rounds < ROUNDS; rounds++) {
		if (reader_reads() != 2 * rounds + 1)
			break;
		/* The reader sleeps in read(2) now: let CPU 1 go idle. */
		usleep(5000);
		long long before = interrupts_of("TLB:", 1);
		munmap((void *)page, 4096);
		taken += interrupts_of("TLB:", 1) - before;
		/* The freed page goes to another mapping, not back to this one. */
		volatile int *other = map_page(0, -1);
		if (!other || map_page((void *)page, 2 * rounds + 2) != page)
			break;
		int value = reader_reads();
		stale += value != 2 * rounds + 2;
		munmap((void *)other, 4096);
		if (value < 0 || !map_page((void *)page, 2 * rounds + 3))
			break;
	}
	close(go[1]);
	pthread_join(t, 0);
	say("lazy_tlb: %d rounds, CPU 1 took %lld TLB shootdowns, read a stale value %d times\n",
	    rounds, taken, stale);
	EXPECT_EQ("every_round_ran", ROUNDS, rounds);
	EXPECT_EQ("the_thread_back_on_its_cpu_reads_the_new_page_never_the_old", 0, stale);
	CHECK("proc_interrupts_has_a_tlb_row_with_a_column_per_cpu", interrupts_of("TLB:", 1) >= 0);
	CHECK("a_cpu_idle_after_a_thread_of_the_process_takes_no_tlb_shootdown",
	      taken >= 0 && taken < ROUNDS / 5);
	return check_end();
}
