/*
 * futex_ops: the futex operations beyond wait and wake. A robust mutex
 * whose owner dies is handed to the next locker with EOWNERDEAD; the
 * requeue ops move sleepers from one word to another; FUTEX_WAKE_OP
 * changes a word and wakes on a comparison; futex_waitv waits on several
 * words at once; a hostile robust list cannot hang the exit that walks it.
 */
#include "check.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* From linux/futex.h, which musl-gcc does not ship. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
enum { FUTEX_OP_SET, FUTEX_OP_ADD, FUTEX_OP_OR, FUTEX_OP_ANDN, FUTEX_OP_XOR };
#define FUTEX_OP_OPARG_SHIFT 8
enum { FUTEX_OP_CMP_EQ, FUTEX_OP_CMP_NE, FUTEX_OP_CMP_LT, FUTEX_OP_CMP_LE,
       FUTEX_OP_CMP_GT, FUTEX_OP_CMP_GE };
#ifndef SYS_get_robust_list
#define SYS_get_robust_list 274
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define WAITV_SIZE_U32 0x02 /* FUTEX2_SIZE_U32 */
#define OWNER_DIED 0x40000000 /* FUTEX_OWNER_DIED */

struct waitv { /* struct futex_waitv */
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* The op word of FUTEX_WAKE_OP (FUTEX_OP() in linux/futex.h). */
#define WAKE_OP(op, oparg, cmp, cmparg)                                        \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) |                        \
	 (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static long futex(atomic_int *uaddr, int op, int val, long val2,
		  atomic_int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

/* How many sleep on `word` now: requeue them onto the word itself. */
static long sleepers(atomic_int *word)
{
	return futex(word, FUTEX_CMP_REQUEUE_PRIVATE, 0, INT_MAX, word,
		     atomic_load(word));
}

/* Waits up to 5 s for `word` to have `n` sleepers. */
static long await_sleepers(atomic_int *word, long n)
{
	long got = 0;
	for (int i = 0; i < 500 && (got = sleepers(word)) != n; i++)
		sleep_ms(10);
	return got;
}

/* Waits up to 5 s for the counter to reach `n`. */
static int await_count(atomic_int *counter, int n)
{
	for (int i = 0; i < 500 && atomic_load(counter) != n; i++)
		sleep_ms(10);
	return atomic_load(counter);
}

/* ---- robust mutex ---- */

static pthread_mutex_t robust;
static atomic_int robust_held;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	atomic_store(&robust_held, 1);
	sleep_ms(200); /* long enough for main to block on the mutex */
	syscall(SYS_exit, 0); /* no libc cleanup: the kernel walks the list */
	return NULL;
}

static void test_robust_mutex(void)
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	/* musl hands only process-shared robust mutexes to the kernel's
	 * list; private ones it releases itself in pthread_exit. */
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&robust, &attr);
	pthread_t t;
	pthread_create(&t, NULL, die_holding, NULL);
	while (!atomic_load(&robust_held))
		sleep_ms(1);
	EXPECT_EQ("lock_of_a_mutex_whose_owner_died_returns_eownerdead",
		  EOWNERDEAD, pthread_mutex_lock(&robust));
	EXPECT_EQ("pthread_mutex_consistent_repairs_it", 0,
		  pthread_mutex_consistent(&robust));
	EXPECT_EQ("the_repaired_mutex_unlocks", 0, pthread_mutex_unlock(&robust));
	EXPECT_EQ("and_locks_again_normally", 0, pthread_mutex_lock(&robust));
	pthread_mutex_unlock(&robust);
}

/* The dead thread is never joined (musl's pthread_join waits for its
 * pthread_exit), so the test runs in a child of its own. */
static void test_robust_mutex_in_a_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		test_robust_mutex();
		_exit(check_end());
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("the_robust_mutex_child_passed_its_checks", 0, status);
}

static void test_robust_list_calls(void)
{
	long head[3] = { (long)head, 0, 0 };
	EXPECT_FAILS("set_robust_list_with_a_wrong_size_fails_einval", EINVAL,
		     syscall(SYS_set_robust_list, head, 23));
	pid_t pid = fork();
	if (pid == 0) { /* a child, so that libc's own list is left alone */
		void *got = NULL;
		size_t len = 0;
		if (syscall(SYS_set_robust_list, head, sizeof head) != 0 ||
		    syscall(SYS_get_robust_list, 0, &got, &len) != 0)
			_exit(1);
		_exit(got == head && len == sizeof head ? 0 : 2);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("get_robust_list_returns_the_head_set_and_its_size", 0, status);
	void *got;
	size_t len;
	EXPECT_FAILS("get_robust_list_of_no_such_task_fails_esrch", ESRCH,
		     syscall(SYS_get_robust_list, 999999, &got, &len));
}

/*
 * A child registers a list whose one entry points to itself and holds
 * the entry's lock, then exits: the walk must end (ROBUST_LIST_LIMIT) and
 * mark the lock. `bad` instead gives a list pointing at nothing mapped.
 */
static void test_hostile_robust_list(int bad)
{
	long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* entry = shared[0] (its next), lock word at shared[1]. */
		static long head[3];
		shared[0] = (long)&shared[0];
		((int *)&shared[1])[0] = syscall(SYS_gettid);
		head[0] = bad ? 0x10 : (long)&shared[0];
		head[1] = (char *)&shared[1] - (char *)&shared[0];
		head[2] = bad ? -4096L : 0;
		syscall(SYS_set_robust_list, head, sizeof head);
		_exit(0);
	}
	int status = -1;
	pid_t done = 0;
	for (int i = 0; i < 500 && (done = waitpid(pid, &status, WNOHANG)) == 0; i++)
		sleep_ms(10);
	if (bad) {
		CHECK("an_exit_with_a_robust_list_at_bad_addresses_completes",
		      done == pid && status == 0);
	} else {
		CHECK("an_exit_with_a_self_cycling_robust_list_completes",
		      done == pid && status == 0);
		EXPECT_EQ("and_its_held_lock_is_marked_owner_died", OWNER_DIED,
			  ((int *)&shared[1])[0]);
	}
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	munmap(shared, 4096);
}

/* ---- requeue ---- */

static atomic_int rq_from, rq_to, rq_returned;

static void *rq_waiter(void *arg)
{
	(void)arg;
	futex(&rq_from, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
	atomic_fetch_add(&rq_returned, 1);
	return NULL;
}

static void test_cmp_requeue(void)
{
	enum { N = 3 };
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, rq_waiter, NULL);
	EXPECT_EQ("three_threads_sleep_on_the_first_word", N,
		  await_sleepers(&rq_from, N));
	EXPECT_FAILS("cmp_requeue_with_a_stale_value_fails_eagain", EAGAIN,
		     futex(&rq_from, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX,
			   &rq_to, 42));
	EXPECT_FAILS("cmp_requeue_with_a_negative_count_fails_einval", EINVAL,
		     futex(&rq_from, FUTEX_CMP_REQUEUE_PRIVATE, -1, 1, &rq_to, 0));
	EXPECT_EQ("cmp_requeue_counts_the_woken_and_the_moved", N,
		  futex(&rq_from, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT_MAX, &rq_to, 0));
	EXPECT_EQ("it_woke_exactly_one", 1, await_count(&rq_returned, 1));
	sleep_ms(50);
	EXPECT_EQ("no_other_woke", 1, atomic_load(&rq_returned));
	EXPECT_EQ("the_rest_sleep_on_the_second_word", N - 1, sleepers(&rq_to));
	EXPECT_EQ("and_none_on_the_first", 0, sleepers(&rq_from));
	EXPECT_EQ("a_wake_on_the_second_word_wakes_them", N - 1,
		  futex(&rq_to, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
	EXPECT_EQ("and_every_waiter_returned", N, await_count(&rq_returned, N));
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
}

/* ---- wake_op ---- */

static atomic_int op1, op2, op_returned;

static void *op_waiter(void *arg)
{
	atomic_int *word = arg;
	futex(word, FUTEX_WAIT_PRIVATE, atomic_load(word), 0, NULL, 0);
	atomic_fetch_add(&op_returned, 1);
	return NULL;
}

static void test_wake_op(void)
{
	pthread_t a, b;
	atomic_store(&op2, 5);
	pthread_create(&a, NULL, op_waiter, &op1);
	pthread_create(&b, NULL, op_waiter, &op2);
	await_sleepers(&op1, 1);
	await_sleepers(&op2, 1);
	/* op2 += 3; wake one on op1, and one on op2 if the old value was 5. */
	EXPECT_EQ("wake_op_wakes_on_both_words_when_the_comparison_holds", 2,
		  futex(&op1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op2,
			WAKE_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5)));
	EXPECT_EQ("and_adds_to_the_second_word", 8, atomic_load(&op2));
	EXPECT_EQ("both_waiters_returned", 2, await_count(&op_returned, 2));
	pthread_join(a, NULL);
	pthread_join(b, NULL);

	pthread_create(&b, NULL, op_waiter, &op2);
	await_sleepers(&op2, 1);
	EXPECT_EQ("wake_op_does_not_wake_the_second_word_when_it_fails", 0,
		  futex(&op1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op2,
			WAKE_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_GT, 100)));
	EXPECT_EQ("but_sets_it", 1, atomic_load(&op2));
	EXPECT_EQ("so_its_waiter_still_sleeps", 1, sleepers(&op2));
	futex(&op1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op2,
	      WAKE_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_LT, 2));
	EXPECT_EQ("oparg_shift_ors_in_one_bit", 17, atomic_load(&op2));
	pthread_join(b, NULL);
	EXPECT_EQ("and_the_lt_comparison_woke_the_waiter", 3, atomic_load(&op_returned));
	futex(&op1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op2,
	      WAKE_OP(FUTEX_OP_ANDN, 1, FUTEX_OP_CMP_NE, 0));
	EXPECT_EQ("andn_clears_bits", 16, atomic_load(&op2));
	futex(&op1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op2,
	      WAKE_OP(FUTEX_OP_XOR, -1, FUTEX_OP_CMP_GE, 0));
	EXPECT_EQ("xor_with_a_negative_argument_flips_every_bit", ~16,
		  atomic_load(&op2));
	EXPECT_FAILS("wake_op_with_an_unknown_op_fails_enosys", ENOSYS,
		     futex(&op1, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op2,
			   WAKE_OP(7, 0, 0, 0)));
}

/* ---- futex_waitv ---- */

static atomic_int wv[3];
static long wv_result = -2;

static long waitv_on(atomic_int *words, int n, const struct timespec *abs)
{
	struct waitv v[3];
	for (int i = 0; i < n; i++)
		v[i] = (struct waitv){ .val = atomic_load(&words[i]),
				       .uaddr = (uintptr_t)&words[i],
				       .flags = WAITV_SIZE_U32 | FUTEX_PRIVATE_FLAG };
	return syscall(SYS_futex_waitv, v, n, 0, abs, CLOCK_MONOTONIC);
}

static void *waitv_thread(void *arg)
{
	(void)arg;
	wv_result = waitv_on(wv, 3, NULL);
	return NULL;
}

static void test_waitv(void)
{
	pthread_t t;
	pthread_create(&t, NULL, waitv_thread, NULL);
	long woke = 0;
	for (int i = 0; i < 500 && woke == 0; i++) {
		sleep_ms(10);
		woke = futex(&wv[1], FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0);
	}
	EXPECT_EQ("a_wake_on_one_word_reaches_the_waitv_sleeper", 1, woke);
	pthread_join(t, NULL);
	EXPECT_EQ("futex_waitv_returns_the_index_of_the_woken_word", 1, wv_result);

	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 50 * 1000 * 1000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	EXPECT_FAILS("futex_waitv_times_out_at_its_absolute_deadline", ETIMEDOUT,
		     waitv_on(wv, 3, &abs));
	struct waitv v = { .val = 7, .uaddr = (uintptr_t)&wv[0],
			   .flags = WAITV_SIZE_U32 };
	EXPECT_FAILS("futex_waitv_on_a_changed_word_fails_eagain", EAGAIN,
		     syscall(SYS_futex_waitv, &v, 1, 0, NULL, CLOCK_MONOTONIC));
	EXPECT_FAILS("futex_waitv_of_no_futexes_fails_einval", EINVAL,
		     syscall(SYS_futex_waitv, &v, 0, 0, NULL, CLOCK_MONOTONIC));
	EXPECT_FAILS("futex_waitv_of_129_futexes_fails_einval", EINVAL,
		     syscall(SYS_futex_waitv, &v, 129, 0, NULL, CLOCK_MONOTONIC));
	v.flags = 0;
	EXPECT_FAILS("futex_waitv_without_a_size_flag_fails_einval", EINVAL,
		     syscall(SYS_futex_waitv, &v, 1, 0, NULL, CLOCK_MONOTONIC));
}

int main(void)
{
	check_begin("futex_ops");
	test_robust_mutex_in_a_child();
	test_robust_list_calls();
	test_hostile_robust_list(0);
	test_hostile_robust_list(1);
	test_cmp_requeue();
	test_wake_op();
	test_waitv();
	return check_end();
}
