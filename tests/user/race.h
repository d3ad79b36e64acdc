/*
 * race.h: what the SMP race tests share. Each test starts its parties
 * (processes or threads) pinned to different CPUs where the machine has
 * them, lines them up on a shared start flag, and lets them go at the
 * same instant; a random spin before each party's step (splitmix64, seeded
 * from argv[1] or the time, the seed printed) sweeps the moment of the
 * collision across the window where the kernel's code paths overlap. A
 * seed replays the same spins; the timing of the CPUs differs each run.
 *
 * A check is bounded twice: at most its number of rounds, and at most its
 * share of RACE_SECONDS of wall time for the program (TCG with 4 CPUs on a
 * loaded host is slow), but always at least RACE_MIN_ROUNDS; each test
 * prints how many rounds it ran. A second argument after the seed sets
 * the program's seconds instead and scales its rounds with them:
 * `race_wait SEED 120` is what `make stress` runs.
 */
#ifndef RACE_H
#define RACE_H

#define _GNU_SOURCE
#include "check.h"
#include "splitmix64.h"

#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

/* The program's checks together stop starting new rounds after this long
 * (unless argv[2] says otherwise): short, since `make test` runs each
 * race program on 1, 2 and 4 CPUs; `make stress` runs them for longer. */
#define RACE_SECONDS 3
/* ... but runs at least this many, however slow the machine. */
#define RACE_MIN_ROUNDS 200

/* The CPUs this process could run on when it started (race_seed asks
 * first, before anything is pinned), as sched_getaffinity reported. */
static int race_ncpus;

static inline int race_cpus(void)
{
	if (race_ncpus > 0)
		return race_ncpus;
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return race_ncpus = n > 0 ? n : 1;
}

/* Pins the calling thread to CPU `i` modulo the CPUs there are; on one
 * CPU, or where affinity is not supported, it runs wherever it runs. */
static inline void race_pin(int i)
{
	int n = race_cpus();
	if (n < 2)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(i % n, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* A page shared by this process and the children it forks. */
static inline void *race_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		say("race: mmap of a shared page failed: %s\n", strerror(errno));
		_exit(2);
	}
	return p;
}

/* Spins `n` rounds of nothing: where in the window a party acts. */
static inline void race_spin(uint64_t n)
{
	for (volatile uint64_t i = 0; i < n; i++)
		;
}

/* Waits until *flag reaches `value`, yielding the CPU now and then (on
 * one CPU the party that sets it must get to run). */
static inline void race_wait_for(atomic_int *flag, int value)
{
	for (unsigned spins = 0; atomic_load(flag) < value; spins++)
		if (spins % 64 == 63)
			sched_yield();
}

/* Each check's share of the program's seconds, in ms. */
static long race_budget_ms = RACE_SECONDS * 1000L;

/* The program's seconds over RACE_SECONDS: each check's most rounds grow
 * with it, so that a long run is not cut short by them. */
static long race_scale = 1;

/* The seed: argv[1] if given, else the time. Printed, to replay a failure.
 * argv[2], if given, is the program's seconds (RACE_SECONDS if not). The
 * program's `checks` share its time. */
static inline void race_seed(int argc, char **argv, int checks)
{
	long seconds = argc > 2 ? strtol(argv[2], NULL, 0) : RACE_SECONDS;
	if (seconds < 1)
		seconds = RACE_SECONDS;
	race_scale = seconds > RACE_SECONDS ? seconds / RACE_SECONDS : 1;
	race_budget_ms = seconds * 1000L / checks;
	rng_state = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)now_ms();
	say("%s: seed %llu on %d CPUs for %ld s (rerun: %s %llu %ld)\n", check_program,
	    (unsigned long long)rng_state, race_cpus(), seconds, check_program,
	    (unsigned long long)rng_state, seconds);
}

/* Whether round `i` of at most `max` (times race_scale), begun at
 * `start_ms`, should run. */
static inline int race_more(int i, int max, long start_ms)
{
	if (i >= max * race_scale)
		return 0;
	return i < RACE_MIN_ROUNDS || now_ms() - start_ms < race_budget_ms;
}

/* Runs round(0), round(1), ... while race_more() allows, clearing the two
 * start flags before each; prints and returns how many ran. */
static inline int race_rounds(const char *prog, const char *name, void (*round)(int), int max,
			      atomic_int *ready, atomic_int *go)
{
	long start = now_ms();
	int rounds = 0;
	while (race_more(rounds, max, start)) {
		atomic_store(ready, 0);
		atomic_store(go, 0);
		round(rounds++);
	}
	say("%s: %s: %d rounds in %ld ms\n", prog, name, rounds, now_ms() - start);
	return rounds;
}

/* Whether a process `pid` still has a /proc entry. */
static inline int race_proc_exists(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/* SIGALRM only interrupts: a wait4 that hangs returns EINTR instead. */
static inline void race_on_alarm(int sig)
{
	(void)sig;
}

static inline void race_watchdog(void)
{
	struct sigaction sa = { .sa_handler = race_on_alarm };
	sigaction(SIGALRM, &sa, NULL);
}

/* A check's failures over many rounds: how many, and the first one. */
struct race_tally {
	int bad;
	char first[300];
};

static inline void race_note(struct race_tally *t, int round, const char *fmt, ...)
{
	if (t->bad++ > 0)
		return;
	int n = snprintf(t->first, sizeof t->first, "round %d: ", round);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->first + n, sizeof t->first - n, fmt, ap);
	va_end(ap);
}

/* One result line for a check run `rounds` times. */
static inline void race_report(const char *name, const struct race_tally *t, int rounds)
{
	if (t->bad == 0)
		check_ok(name);
	else
		check_fail(name, "%d of %d rounds went wrong; the first: %s (seed above)",
			   t->bad, rounds, t->first);
}

#endif
