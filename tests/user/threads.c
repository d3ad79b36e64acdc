/*
 * threads: pthreads share one process and one address space, but each has
 * its own tid and its own thread-local storage.
 */
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>

#define NR_THREADS 4
#define INCREMENTS 10000
#define HANDSHAKE_TIMEOUT_S 5

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static pthread_barrier_t all_started;
static __thread int tls_value = 1000;

struct thread_report {
	int index;
	pid_t pid;
	pid_t tid;
	int tls_before;   /* tls_value as the thread first saw it */
	int tls_after;    /* after every thread wrote its own */
};

static void *worker(void *arg)
{
	struct thread_report *r = arg;
	r->pid = getpid();
	r->tid = syscall(SYS_gettid);
	r->tls_before = tls_value;
	tls_value = 2000 + r->index;
	for (int i = 0; i < INCREMENTS; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
	}
	/* Everyone has written its own tls_value before anyone reads it back. */
	pthread_barrier_wait(&all_started);
	r->tls_after = tls_value;
	return (void *)(intptr_t)(100 + r->index);
}

static void threads_share_a_process_but_not_a_tid(void)
{
	pthread_t threads[NR_THREADS];
	struct thread_report reports[NR_THREADS];
	int created = 0, joined_right = 0;
	char join_problem[160] = "";
	pid_t main_tid = syscall(SYS_gettid);

	counter = 0;
	pthread_barrier_init(&all_started, NULL, NR_THREADS);
	for (int i = 0; i < NR_THREADS; i++) {
		reports[i] = (struct thread_report){ i, -1, -1, -1, -1 };
		if (pthread_create(&threads[i], NULL, worker, &reports[i]) == 0)
			created++;
	}
	for (int i = 0; i < created; i++) {
		void *value = NULL;
		int ret = pthread_join(threads[i], &value);
		if (ret == 0 && value == (void *)(intptr_t)(100 + i))
			joined_right++;
		else if (join_problem[0] == '\0')
			snprintf(join_problem, sizeof join_problem,
				 "thread %d: pthread_join returned %d, value %p", i, ret, value);
	}
	pthread_barrier_destroy(&all_started);

	int same_pid = 1, distinct_tids = 1, tls_fresh = 1, tls_private = 1;
	for (int i = 0; i < NR_THREADS; i++) {
		if (reports[i].pid != getpid())
			same_pid = 0;
		if (reports[i].tid <= 0 || reports[i].tid == main_tid)
			distinct_tids = 0;
		for (int j = 0; j < i; j++)
			if (reports[i].tid == reports[j].tid)
				distinct_tids = 0;
		if (reports[i].tls_before != 1000)
			tls_fresh = 0;
		if (reports[i].tls_after != 2000 + i)
			tls_private = 0;
	}

	EXPECT_EQ("pthread_create_succeeds_for_every_thread", NR_THREADS, created);
	EXPECT_EQ("increments_under_a_mutex_from_four_threads_are_all_counted",
		  NR_THREADS * INCREMENTS, counter);
	CHECK("every_thread_reports_the_same_getpid_as_the_main_thread", same_pid);
	if (distinct_tids)
		check_ok("every_thread_has_its_own_gettid_different_from_the_main_threads");
	else
		check_fail("every_thread_has_its_own_gettid_different_from_the_main_threads",
			   "main %d, threads %d %d %d %d", main_tid, reports[0].tid,
			   reports[1].tid, reports[2].tid, reports[3].tid);
	EXPECT_EQ("the_main_thread_tid_equals_its_pid", getpid(), main_tid);
	if (joined_right == NR_THREADS)
		check_ok("pthread_join_returns_each_threads_return_value");
	else
		check_fail("pthread_join_returns_each_threads_return_value", "%s", join_problem);
	CHECK("a_new_thread_sees_the_initial_value_of_a_thread_local_variable", tls_fresh);
	CHECK("each_thread_reads_back_its_own_thread_local_value", tls_private);
	EXPECT_EQ("the_main_threads_thread_local_value_is_untouched", 1000, tls_value);
}

static pthread_mutex_t handshake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t handshake_cond = PTHREAD_COND_INITIALIZER;
static int go_flag, reply_flag;

static int wait_for_flag(int *flag)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += HANDSHAKE_TIMEOUT_S;
	int ret = 0;
	while (!*flag && ret == 0)
		ret = pthread_cond_timedwait(&handshake_cond, &handshake_lock, &deadline);
	return *flag ? 0 : ret;
}

static void *handshake_partner(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&handshake_lock);
	int ret = wait_for_flag(&go_flag);
	if (ret == 0) {
		reply_flag = 1;
		pthread_cond_broadcast(&handshake_cond);
	}
	pthread_mutex_unlock(&handshake_lock);
	return (void *)(intptr_t)ret;
}

static void a_condition_variable_handshake_works(void)
{
	pthread_t t;
	int created = pthread_create(&t, NULL, handshake_partner, NULL);
	sleep_ms(20); /* let the partner block in pthread_cond_timedwait */
	pthread_mutex_lock(&handshake_lock);
	go_flag = 1;
	pthread_cond_broadcast(&handshake_cond);
	int ret = wait_for_flag(&reply_flag);
	pthread_mutex_unlock(&handshake_lock);
	void *partner_ret = (void *)-1;
	if (created == 0)
		pthread_join(t, &partner_ret);

	EXPECT_EQ("the_handshake_thread_is_created", 0, created);
	EXPECT_EQ("a_waiting_thread_wakes_when_main_sets_the_flag_and_signals", 0,
		  (intptr_t)partner_ret);
	EXPECT_EQ("main_wakes_when_the_thread_replies_through_the_condition_variable", 0, ret);
}

int main(void)
{
	check_begin("threads");
	threads_share_a_process_but_not_a_tid();
	a_condition_variable_handshake_works();
	return check_end();
}
