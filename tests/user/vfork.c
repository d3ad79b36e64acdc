/*
 * vfork: the parent is suspended until the child exits or execs, and the
 * two share one address space until then; posix_spawn (built on
 * CLONE_VM|CLONE_VFORK in musl) runs a program and returns its pid.
 *
 * The vfork children below only write volatile globals, sleep, execve and
 * _exit: they run on the parent's stack, so they never return.
 */
#include "check.h"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define CHILD_SLEEP_MS 50
#define HELPER_SLEEP_MS 300

extern char **environ;

static volatile int child_wrote;
static volatile pid_t child_saw_pid;
static volatile int shared_array[64];

static long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000L;
}

static void vfork_suspends_the_parent_until_the_child_exits(void)
{
	child_wrote = 0;
	child_saw_pid = 0;
	long start = now_us();
	pid_t pid = vfork();
	if (pid == 0) {
		sleep_ms(CHILD_SLEEP_MS);
		child_saw_pid = getpid();
		child_wrote = 42;
		_exit(7);
	}
	long elapsed = now_us() - start;
	int seen = child_wrote;
	int status = -1;
	pid_t reaped = waitpid(pid, &status, 0);

	CHECK("vfork_returns_a_positive_pid_in_the_parent", pid > 0);
	if (elapsed >= CHILD_SLEEP_MS * 1000L)
		check_ok("the_parent_resumes_only_after_the_child_has_exited");
	else
		check_fail("the_parent_resumes_only_after_the_child_has_exited",
			   "vfork returned after %ld us; the child sleeps %d ms before _exit",
			   elapsed, CHILD_SLEEP_MS);
	EXPECT_EQ("the_childs_last_write_before_exit_is_already_visible_when_vfork_returns",
		  42, seen);
	EXPECT_EQ("the_vfork_child_runs_with_the_pid_vfork_returned", pid, child_saw_pid);
	EXPECT_EQ("waitpid_reaps_the_vfork_child", pid, reaped);
	EXPECT_EQ("waitpid_reports_the_vfork_childs_exit_code", 7 << 8, status);
}

static void the_child_writes_to_the_parents_memory(void)
{
	int *heap = malloc(4096 * sizeof *heap);
	for (int i = 0; i < 4096; i++)
		heap[i] = -1;
	for (int i = 0; i < 64; i++)
		shared_array[i] = -1;
	volatile int *vheap = heap;

	pid_t pid = vfork();
	if (pid == 0) {
		for (int i = 0; i < 64; i++)
			shared_array[i] = i * 3;
		for (int i = 0; i < 4096; i += 512)
			vheap[i] = i + 1;
		_exit(0);
	}
	int array_ok = 1, heap_ok = 1;
	for (int i = 0; i < 64; i++)
		if (shared_array[i] != i * 3)
			array_ok = 0;
	for (int i = 0; i < 4096; i++)
		if (vheap[i] != (i % 512 == 0 ? i + 1 : -1))
			heap_ok = 0;
	int status = -1;
	waitpid(pid, &status, 0);
	free(heap);

	CHECK("the_childs_writes_to_a_global_array_are_visible_to_the_parent", array_ok);
	CHECK("the_childs_writes_to_the_heap_are_visible_to_the_parent", heap_ok);
	EXPECT_EQ("the_memory_writing_child_exits_cleanly", 0, status);
}

static void the_parent_resumes_when_the_child_execs(const char *helper)
{
	char ms[16], code[16];
	snprintf(ms, sizeof ms, "%d", HELPER_SLEEP_MS);
	snprintf(code, sizeof code, "%d", 9);
	char *argv[] = { "vfork_helper", ms, code, NULL };

	long start = now_us();
	pid_t pid = vfork();
	if (pid == 0) {
		execve(helper, argv, environ);
		_exit(127);
	}
	int early_status = -1;
	pid_t early = waitpid(pid, &early_status, WNOHANG);
	long elapsed = now_us() - start;
	int status = -1;
	pid_t reaped = early == pid ? pid : waitpid(pid, &status, 0);
	if (early == pid)
		status = early_status;

	CHECK("vfork_before_execve_returns_a_positive_pid", pid > 0);
	if (early == 0)
		check_ok("the_parent_resumes_while_the_execed_child_still_runs");
	else
		check_fail("the_parent_resumes_while_the_execed_child_still_runs",
			   "waitpid(WNOHANG) right after vfork returned %d (status %#x) after %ld us",
			   early, early_status, elapsed);
	CHECK("the_parent_resumes_long_before_the_execed_program_ends",
	      elapsed < HELPER_SLEEP_MS * 1000L);
	EXPECT_EQ("waitpid_reaps_the_execed_child", pid, reaped);
	EXPECT_EQ("the_execed_program_ran_and_its_exit_code_is_reported", 9 << 8, status);
}

static void a_failed_exec_in_the_child_still_releases_the_parent(void)
{
	char *argv[] = { "missing", NULL };
	pid_t pid = vfork();
	if (pid == 0) {
		execve("/nonexistent/vfork_missing", argv, environ);
		_exit(errno == ENOENT ? 127 : 126);
	}
	int status = -1;
	pid_t reaped = waitpid(pid, &status, 0);
	EXPECT_EQ("waitpid_reaps_a_vfork_child_whose_execve_failed", pid, reaped);
	EXPECT_EQ("a_vfork_child_sees_enoent_from_execve_of_a_missing_file", 127 << 8, status);
}

static void posix_spawn_runs_a_program(const char *helper)
{
	char *argv[] = { "vfork_helper", "0", "11", NULL };
	pid_t pid = -1;
	int ret = posix_spawn(&pid, helper, NULL, NULL, argv, environ);
	int status = -1;
	pid_t reaped = ret == 0 ? waitpid(pid, &status, 0) : -1;

	EXPECT_EQ("posix_spawn_succeeds", 0, ret);
	CHECK("posix_spawn_returns_a_positive_pid", pid > 0);
	EXPECT_EQ("waitpid_reaps_the_pid_posix_spawn_returned", pid, reaped);
	EXPECT_EQ("the_spawned_programs_exit_code_is_reported", 11 << 8, status);

	char *missing_argv[] = { "missing", NULL };
	pid_t missing = -1;
	ret = posix_spawn(&missing, "/nonexistent/vfork_missing", NULL, NULL, missing_argv,
			  environ);
	EXPECT_EQ("posix_spawn_of_a_missing_file_returns_enoent", ENOENT, ret);
	ret = waitpid(-1, NULL, WNOHANG);
	int err = errno;
	EXPECT_ERRNO("no_child_is_left_after_the_spawns", ECHILD, ret, err);
}

/*
 * The parent sleeps in vfork killably (Linux: wait_for_vfork_done() with
 * TASK_KILLABLE): SIGKILL ends it at once although its child never execs
 * or exits. The child, which has its own hold on the address space, runs
 * on and comes to us, a subreaper.
 */
static void sigkill_ends_a_parent_waiting_in_vfork(void)
{
	int fds[2];
	if (pipe(fds) != 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		check_fail("sigkill_ends_a_parent_waiting_in_vfork", "pipe or prctl: errno %d", errno);
		return;
	}
	pid_t parent = fork();
	if (parent == 0) {
		close(fds[0]);
		pid_t child = vfork();
		if (child == 0) {
			pid_t me = getpid();
			if (write(fds[1], &me, sizeof me) != sizeof me)
				_exit(3);
			for (;;)
				pause();
		}
		_exit(1);
	}
	close(fds[1]);
	pid_t child = -1;
	if (read(fds[0], &child, sizeof child) != sizeof child)
		child = -1;
	close(fds[0]);
	long deadline = now_ms() + 2000;
	char state;
	while ((state = proc_state(parent)) != 'D' && now_ms() < deadline)
		sleep_ms(1);
	EXPECT_EQ("a_parent_waiting_in_vfork_sleeps_in_state_d", 'D', state);

	long start = now_us();
	kill(parent, SIGKILL);
	int status = -1;
	pid_t reaped;
	deadline = now_ms() + 2000;
	while ((reaped = waitpid(parent, &status, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(1);
	long elapsed = now_us() - start;
	int child_alive = child > 0 && kill(child, 0) == 0;
	if (child > 0)
		kill(child, SIGKILL); /* releases a parent a non-killable wait still holds */
	if (reaped == 0)
		reaped = waitpid(parent, &status, 0);
	int child_status = -1;
	pid_t child_reaped = child > 0 ? waitpid(child, &child_status, 0) : -1;
	prctl(PR_SET_CHILD_SUBREAPER, 0);

	EXPECT_EQ("sigkill_reaches_a_parent_waiting_in_vfork", parent, reaped);
	EXPECT_EQ("the_parent_waiting_in_vfork_dies_of_sigkill", SIGKILL, status);
	if (elapsed < 1000000L)
		check_ok("the_parent_dies_within_a_second_though_its_vfork_child_runs_on");
	else
		check_fail("the_parent_dies_within_a_second_though_its_vfork_child_runs_on",
			   "the parent was reaped %ld us after SIGKILL", elapsed);
	CHECK("the_vfork_child_outlives_its_killed_parent", child_alive);
	EXPECT_EQ("the_orphaned_vfork_child_comes_to_the_subreaper", child, child_reaped);
	EXPECT_EQ("the_orphaned_vfork_child_dies_of_our_sigkill", SIGKILL, child_status);
}

int main(int argc, char **argv)
{
	(void)argc;
	char helper[256];
	sibling(argv[0], "vfork_helper", helper, sizeof helper);
	check_begin("vfork");
	vfork_suspends_the_parent_until_the_child_exits();
	the_child_writes_to_the_parents_memory();
	the_parent_resumes_when_the_child_execs(helper);
	a_failed_exec_in_the_child_still_releases_the_parent();
	posix_spawn_runs_a_program(helper);
	sigkill_ends_a_parent_waiting_in_vfork();
	return check_end();
}
