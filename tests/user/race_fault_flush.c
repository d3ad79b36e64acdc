/*
 * race_fault_flush: a thread that changes its process's page tables in a
 * loop (fork, or mprotect) on one CPU while another thread touches new
 * pages on another CPU. Each change leaves a TLB flush pending until every
 * CPU has taken its IPI, and a page fault that finds one pending waits for
 * it; the faulting thread must still get through, every time.
 *
 * The bug it catches: the waiting fault is not fair. It sees the pending
 * count fall to zero, goes back for the mm's lock, and finds the looping
 * thread has taken it first and announced its next flush; so it waits
 * again, for ever (race_dethread's process then never execs, since its
 * exec'ing thread is the one stuck in the fault).
 */
#include "race.h"

#include <pthread.h>

#define PAGES 16
#define ROUNDS 400
/* A round that takes this long is a starved fault. */
#define ROUND_LIMIT_MS 5000

static atomic_int stop, started;
static char *victim;

/* Forks children that exit at once, back to back (reaping them every
 * 16), as race_dethread's forker does: each fork write-protects the
 * faulter's pages again, so its next write is a copy-on-write fault that
 * meets the next fork's flush. */
static void *forker(void *arg)
{
	(void)arg;
	race_pin(1);
	atomic_store(&started, 1);
	for (int i = 1; !atomic_load(&stop); i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (i % 16 == 0)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	return NULL;
}

/* Takes write permission away from a mapped page and gives it back. */
static void *mprotecter(void *arg)
{
	(void)arg;
	race_pin(1);
	victim[0] = 1;
	atomic_store(&started, 1);
	for (int i = 0; !atomic_load(&stop); i++)
		mprotect(victim, 4096, i % 2 ? PROT_READ | PROT_WRITE : PROT_READ);
	return NULL;
}

/* The faulting side: rounds of writing PAGES pages, on CPU 0, while
 * `changer` runs on CPU 1: fresh pages (missing-page faults), then the
 * same ones again (copy-on-write faults after a fork). Runs in a child,
 * so that a fault that never ends is seen by the parent's watchdog. */
static int faulter(void *(*changer)(void *))
{
	race_pin(0);
	victim = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_t t;
	if (victim == MAP_FAILED || pthread_create(&t, NULL, changer, NULL) != 0)
		return 2;
	race_wait_for(&started, 1);
	long start = now_ms();
	int rounds = 0, slow = 0;
	while (race_more(rounds, ROUNDS, start)) {
		char *p = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 2;
		long t0 = now_ms();
		for (int pass = 0; pass < 4; pass++)
			for (int i = 0; i < PAGES; i++) {
				race_spin(below(200));
				p[i * 4096] = pass;
			}
		slow += now_ms() - t0 > ROUND_LIMIT_MS;
		munmap(p, PAGES * 4096);
		rounds++;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	say("race_fault_flush: %d rounds of %d faults in %ld ms\n", rounds, PAGES,
	    now_ms() - start);
	return slow ? 1 : 0;
}

/* One check: the faulter and `changer` in a child, watched for a minute
 * past the check's time (longer under `make stress`). */
static void run(const char *name, void *(*changer)(void *))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(faulter(changer));
	int status = -1;
	unsigned limit = race_budget_ms / 1000 + 60;
	alarm(limit);
	pid_t got = waitpid(pid, &status, 0);
	alarm(0);
	if (got != pid) {
		kill(pid, SIGKILL);
		check_fail(name, "the faulting thread did not finish in %u s (a starved fault)", limit);
		return;
	}
	if (status == 0)
		check_ok(name);
	else
		check_fail(name, "status %#x (1: a round of %d faults took over %d ms)", status,
			   PAGES, ROUND_LIMIT_MS);
}

int main(int argc, char **argv)
{
	check_begin("race_fault_flush");
	race_seed(argc, argv, 2);
	race_watchdog();
	run("a_fault_waiting_for_a_tlb_flush_gets_through_while_another_thread_forks_in_a_loop",
	    forker);
	run("a_fault_waiting_for_a_tlb_flush_gets_through_while_another_thread_mprotects_in_a_loop",
	    mprotecter);
	return check_end();
}
