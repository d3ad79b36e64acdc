/*
 * cpus.h: what the tests that place threads on CPUs share: pinning the
 * caller to one CPU, and reading one CPU's column of a /proc/interrupts
 * row (RES for reschedule IPIs, TLB for shootdowns), as on Linux.
 */
#ifndef CPUS_H
#define CPUS_H

#define _GNU_SOURCE
#include "check.h"

#include <sched.h>

/* Pins the calling thread to `cpu`; sched_setaffinity's result. */
static inline int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

/* CPU `cpu`'s count in the /proc/interrupts row `row` ("RES:"), or -1. */
static inline long long interrupts_of(const char *row, int cpu)
{
	static char buf[65536];
	if (read_text("/proc/interrupts", buf, sizeof buf) < 0)
		return -1;
	char *p = strstr(buf, row);
	if (!p)
		return -1;
	p += strlen(row);
	for (int i = 0;; i++) {
		char *end;
		long long n = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		if (i == cpu)
			return n;
		p = end;
	}
}

#endif
