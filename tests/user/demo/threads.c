/*
 * threads [N]: N threads (default 2) of one process, made by clone() with
 * CLONE_VM|CLONE_THREAD|..., share one mm: each adds 1000 to one counter
 * under a mutex (futex() when contended). They have their own tids and
 * the process's pid.
 */
#include <pthread.h>
#include <sys/syscall.h>
#include "demo.h"

enum { MAX_THREADS = 64, ADDS = 1000 };

static long shared_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *thread_body(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		pthread_mutex_lock(&lock);
		shared_counter++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)(long)syscall(SYS_gettid);
}

int main(int argc, char **argv)
{
	long n = arg_or(argc, argv, 2);
	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: threads [N], 1 to %d\n", MAX_THREADS);
		return 2;
	}
	pthread_t t[MAX_THREADS];
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], 0, thread_body, 0);
	for (long i = 0; i < n; i++) {
		void *tid;
		pthread_join(t[i], &tid);
		printf("threads: thread tid %ld (getpid %d) finished\n", (long)tid, getpid());
	}
	printf("threads: %ld threads incremented one counter to %ld\n", n, shared_counter);
	return 0;
}
