/*
 * vfork_helper: what vfork.c execs and posix_spawns.
 *
 *   vfork_helper <ms> <code>   sleeps <ms> milliseconds, then exits <code>
 *
 * Anything else exits 99.
 */
#include <stdlib.h>
#include <time.h>
#include <errno.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 99;
	long ms = atol(argv[1]);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return atoi(argv[2]);
}
