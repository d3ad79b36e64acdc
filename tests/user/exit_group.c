/*
 * exit_group: exit(3) and _exit(2) end every thread of the process, from
 * whichever thread calls them; the raw exit system call ends only the
 * calling thread; and a group leader that exits first stays a zombie,
 * unreapable, until its last thread is gone.
 *
 * Each scenario runs in a child process, which the test then waits for.
 */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define FUTEX_WAIT 0
#define TIMEOUT_MS 5000

/* Waits at most TIMEOUT_MS for pid; kills and reaps it if it hangs.
 * Returns the pid waitpid returned, or 0 on timeout. */
static pid_t wait_or_kill(pid_t pid, int *status)
{
	long deadline = now_ms() + TIMEOUT_MS;
	pid_t ret;
	while ((ret = waitpid(pid, status, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(5);
	if (ret == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ret;
}

static void *exit_group_from_thread(void *arg)
{
	int code = (int)(intptr_t)arg;
	sleep_ms(20); /* let the main thread block in pause() */
	if (code == 42)
		_exit(code);
	exit(code);
}

static void expect_exit_from_a_thread_ends_the_process(const char *name, int code)
{
	pid_t c = fork();
	if (c == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, exit_group_from_thread, (void *)(intptr_t)code) != 0)
			_exit(99);
		for (;;)
			pause();
	}
	int status = -1;
	pid_t ret = wait_or_kill(c, &status);
	if (ret == c && status == code << 8)
		check_ok(name);
	else if (ret == 0)
		check_fail(name, "the process was still alive after %d ms", TIMEOUT_MS);
	else
		check_fail(name, "waitpid returned %d with status %#x, expected %d with %#x",
			   ret, status, c, code << 8);
}

static volatile pid_t raw_exit_tid_word;

static void *raw_exit_thread(void *arg)
{
	(void)arg;
	raw_exit_tid_word = syscall(SYS_gettid);
	syscall(SYS_set_tid_address, &raw_exit_tid_word); /* cleared when this thread ends */
	syscall(SYS_exit, 7);
	return NULL;
}

static void the_raw_exit_call_ends_only_the_calling_thread(void)
{
	pid_t c = fork();
	if (c == 0) {
		raw_exit_tid_word = -1;
		pthread_t t;
		if (pthread_create(&t, NULL, raw_exit_thread, NULL) != 0)
			_exit(99);
		long deadline = now_ms() + TIMEOUT_MS / 2;
		pid_t v;
		while ((v = raw_exit_tid_word) != 0 && now_ms() < deadline) {
			struct timespec ts = { 0, 50 * 1000000L };
			syscall(SYS_futex, &raw_exit_tid_word, FUTEX_WAIT, v, &ts, NULL, 0);
		}
		sleep_ms(20);
		/* Still here after the thread has gone: 3; the thread never went: 4. */
		_exit(raw_exit_tid_word == 0 ? 3 : 4);
	}
	int status = -1;
	pid_t ret = wait_or_kill(c, &status);
	EXPECT_EQ("a_process_whose_thread_made_a_raw_exit_is_reaped", c, ret);
	EXPECT_EQ("the_main_thread_outlives_a_thread_that_made_a_raw_exit_and_exits_with_its_own_code",
		  3 << 8, status);
}

struct leader_gone {
	int release_fd;
};

static void *last_thread(void *arg)
{
	struct leader_gone *g = arg;
	char c;
	read(g->release_fd, &c, 1); /* until the test has looked at the zombie leader */
	_exit(5);
}

static void a_leader_that_exits_first_waits_for_its_last_thread(void)
{
	int release[2], leader_exiting[2];
	pipe(release);
	pipe(leader_exiting);
	pid_t c = fork();
	if (c == 0) {
		static struct leader_gone g;
		close(release[1]);
		g.release_fd = release[0];
		pthread_t t;
		if (pthread_create(&t, NULL, last_thread, &g) != 0)
			_exit(99);
		write(leader_exiting[1], "x", 1);
		syscall(SYS_exit, 0);
	}
	close(release[0]);
	close(leader_exiting[1]);
	char byte = 0;
	read(leader_exiting[0], &byte, 1);
	close(leader_exiting[0]);
	long deadline = now_ms() + 1000;
	char state;
	while ((state = proc_state(c)) != 'Z' && now_ms() < deadline)
		sleep_ms(5);
	int early_status = -1;
	pid_t early = waitpid(c, &early_status, WNOHANG);
	write(release[1], "go", 1);
	close(release[1]);
	int status = -1;
	pid_t ret = early == 0 ? wait_or_kill(c, &status) : early;
	if (early != 0)
		status = early_status;

	EXPECT_EQ("the_leader_announces_its_raw_exit", 'x', byte);
	if (state == 'Z')
		check_ok("a_leader_that_made_a_raw_exit_is_a_zombie_while_its_thread_runs");
	else
		check_fail("a_leader_that_made_a_raw_exit_is_a_zombie_while_its_thread_runs",
			   "/proc/%d/stat shows state '%c'", c, state);
	if (early == 0)
		check_ok("waitpid_wnohang_returns_0_while_a_thread_of_the_exited_leader_lives");
	else
		check_fail("waitpid_wnohang_returns_0_while_a_thread_of_the_exited_leader_lives",
			   "waitpid returned %d with status %#x", early, early_status);
	EXPECT_EQ("the_process_is_reaped_once_its_last_thread_exits", c, ret);
	EXPECT_EQ("the_exit_group_code_of_the_last_thread_is_the_process_status", 5 << 8, status);
}

int main(void)
{
	check_begin("exit_group");
	expect_exit_from_a_thread_ends_the_process(
		"underscore_exit_in_a_thread_ends_the_process_blocked_in_pause_with_its_code", 42);
	expect_exit_from_a_thread_ends_the_process(
		"exit_in_a_thread_ends_the_process_blocked_in_pause_with_its_code", 43);
	the_raw_exit_call_ends_only_the_calling_thread();
	a_leader_that_exits_first_waits_for_its_last_thread();
	return check_end();
}
