/*
 * balance: as many busy processes as there are CPUs, started together from
 * one parent, each get at least 80 % of a CPU over a second of wall time,
 * measured with their own CPU-time clock. That needs the scheduler to
 * spread them over every CPU: on one CPU each would get 1/N. First they
 * are forked normally (fork placement spreads them), then all start on
 * CPU 0 and widen their masks to every CPU while running there, so that
 * only the load balancer can spread them.
 *
 * Usage: balance [CPUS]: with CPUS, also checks that so many CPUs are
 * online (the kernel was booted with --smp CPUS).
 */
#define _GNU_SOURCE
#include "check.h"
#include <sched.h>

static double clock_secs(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits for the start byte, spins for `secs` of wall time, and writes the
 * percentage of a CPU it got to `out`. */
static void busy_child(int start, int out, double secs)
{
	char go;
	if (read(start, &go, 1) != 1)
		_exit(1);
	cpu_set_t all;
	memset(&all, 0xff, sizeof all);
	if (sched_setaffinity(0, sizeof all, &all) != 0)
		_exit(1);
	double cpu0 = clock_secs(CLOCK_PROCESS_CPUTIME_ID);
	double wall0 = clock_secs(CLOCK_MONOTONIC);
	while (clock_secs(CLOCK_MONOTONIC) - wall0 < secs)
		;
	double cpu = clock_secs(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	double wall = clock_secs(CLOCK_MONOTONIC) - wall0;
	int pct = (int)(100.0 * cpu / wall);
	if (write(out, &pct, sizeof pct) != sizeof pct)
		_exit(1);
	_exit(0);
}

/* Runs n busy children for a second, all forked on CPU 0 if `pinned`;
 * returns the least share of a CPU one got, in percent (-1: one failed). */
static int least_share(int n, int pinned)
{
	cpu_set_t one, all;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	memset(&all, 0xff, sizeof all);
	if (pinned && sched_setaffinity(0, sizeof one, &one) != 0)
		return -1;
	int start[2], results[2];
	if (pipe(start) != 0 || pipe(results) != 0)
		return -1;
	pid_t pids[16];
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			busy_child(start[0], results[1], 1.0);
	}
	sched_setaffinity(0, sizeof all, &all);
	usleep(50000);
	char go[16] = {0};
	if (write(start[1], go, n) != n)
		return -1;
	int least = 100, got = 0;
	for (int i = 0; i < n; i++) {
		int pct;
		if (read(results[0], &pct, sizeof pct) == sizeof pct) {
			got++;
			if (pct < least)
				least = pct;
		}
	}
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	close(start[0]);
	close(start[1]);
	close(results[0]);
	close(results[1]);
	if (least < 80)
		say("    note: %d busy processes on %d CPUs, the least got %d %% of a CPU\n", n, n, least);
	return got == n ? least : -1;
}

int main(int argc, char **argv)
{
	check_begin("balance");
	int n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	check_booted_cpus(argc, argv, n);
	if (n > 16)
		n = 16;
	/* On the host the share also depends on whatever else the host runs
	 * (the suite runs QEMUs beside this program): there each process only
	 * has to get its share measured. */
	int want = on_lifecycle() ? 80 : 0;
	CHECK("each_of_one_busy_process_per_cpu_gets_at_least_80_percent_of_a_cpu",
	      least_share(n, 0) >= want);
	CHECK("busy_processes_started_on_one_cpu_are_spread_by_the_balancer_to_80_percent_each",
	      least_share(n, 1) >= want);
	return check_end();
}
