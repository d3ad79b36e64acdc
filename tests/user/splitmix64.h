/*
 * splitmix64.h: the fuzzers' random numbers. A stream is fully determined
 * by the value its caller stores in rng_state, so a seed replays exactly.
 */
#ifndef SPLITMIX64_H
#define SPLITMIX64_H

#include <stdint.h>

static uint64_t rng_state;

/* splitmix64: the next number of the stream. */
static uint64_t next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, n); 0 for n == 0. */
static uint64_t below(uint64_t n)
{
	return n ? next() % n : 0;
}

#endif
