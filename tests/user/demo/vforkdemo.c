/*
 * vforkdemo [MS]: after vfork the parent sleeps on the child's vfork_done
 * until the child execs or exits; the child here sleeps MS milliseconds
 * (default 100) first, and the parent measures how long it was held.
 */
#include <sys/wait.h>
#include "demo.h"

int main(int argc, char **argv)
{
	long ms = arg_or(argc, argv, 100);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = vfork();
	if (pid == 0) {
		struct timespec nap = { ms / 1000, ms % 1000 * 1000000 };
		nanosleep(&nap, 0);
		_exit(0);
	}
	printf("vforkdemo: vfork returned after %ld ms: the child %d exited (mm_release() completed vfork_done)\n", ms_since(&t0), pid);
	waitpid(pid, 0, 0);
	return 0;
}
