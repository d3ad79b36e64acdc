/*
 * scheddemo [SECONDS]: busy children at nice 0, 5, 10 and 19 share one CPU
 * (all pinned to CPU 0); after SECONDS (2 by default) it prints each one's
 * CPU time and share beside what its weight (sched_prio_to_weight) gives.
 * `scheddemo 20 &`, then `ps -o pid,ni,comm` or `top` shows them with NI,
 * and `renice` moves one.
 */
#define _GNU_SOURCE
#include "demo.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static const int nices[] = {0, 5, 10, 19};
static const double weights[] = {1024, 335, 110, 15};
#define N (int)(sizeof nices / sizeof nices[0])

static long long cpu_ms(pid_t pid)
{
	clockid_t c;
	struct timespec ts;
	if (clock_getcpuclockid(pid, &c) != 0 || clock_gettime(c, &ts) != 0)
		return -1;
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 2;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof one, &one);
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			setpriority(PRIO_PROCESS, 0, nices[i]);
			for (;;)
				;
		}
	}
	printf("scheddemo: %d busy children on CPU 0 for %d s\n", N, seconds);
	sleep(seconds);
	long long ms[N], total = 0;
	for (int i = 0; i < N; i++)
		total += ms[i] = cpu_ms(pids[i]);
	double wsum = 0;
	for (int i = 0; i < N; i++)
		wsum += weights[i];
	printf("  PID  NI WEIGHT  CPU ms  share  by weight\n");
	for (int i = 0; i < N; i++)
		printf("%5d %3d %6.0f %7lld %5.1f%% %6.1f%%\n", pids[i], nices[i], weights[i], ms[i],
		       total ? 100.0 * ms[i] / total : 0, 100 * weights[i] / wsum);
	for (int i = 0; i < N; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
