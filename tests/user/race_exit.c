/*
 * race_exit: two ways for a process to end at the same instant, on two
 * CPUs. exit_group from two threads at once: one exit code wins whole,
 * and the process is fully gone (every thread) when wait4 reports it.
 * kill(SIGKILL) of a process that is exiting, single- or multi-threaded:
 * no crash, and exactly one status, either the exit code or the signal.
 *
 * The bugs they catch:
 * - two do_group_exit()s both storing group_exit_code and both zapping
 *   the other thread, without the siglock deciding who is first: a status
 *   mixing the two codes, a thread killed twice, or the signal struct
 *   released twice (a crash of the kernel, the run then fails).
 * - the leader reaped while another thread is still running: wait4 must
 *   wait for the thread group to be empty (delay_group_leader), so after
 *   it no /proc/<pid>/task entry may remain.
 * - SIGKILL complete_signal()ing a task past exit_notify: a wakeup of a
 *   dead task, a second exit, or a status with both the code and the
 *   signal (0x709) instead of one of them.
 */
#include "race.h"

#include <pthread.h>
#include <sys/syscall.h>

#define ROUNDS 2000
#define FIRST_CODE 11
#define SECOND_CODE 22
#define KILLED_CODE 7

struct shared {
	atomic_int ready, go;
	pid_t tid;
};

static struct shared *sh;
static struct race_tally mixed, lingering, kill_failed, not_one;
static int wins[2];

/* The second thread: exits its whole group with its code at the signal. */
static void *second(void *arg)
{
	race_pin(1);
	sh->tid = syscall(SYS_gettid);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin((uintptr_t)arg & 0xffff);
	syscall(SYS_exit_group, (int)((uintptr_t)arg >> 16));
	return NULL;
}

/* A process of two threads; both call exit_group, with their own codes. */
static void two_exits(int code_a, int code_b)
{
	pthread_t t;
	race_pin(0);
	uintptr_t arg = (uintptr_t)code_b << 16 | below(3000);
	pthread_create(&t, NULL, second, (void *)arg);
	race_wait_for(&sh->ready, 1);
	atomic_store(&sh->go, 1);
	race_spin(below(3000));
	syscall(SYS_exit_group, code_a);
	_exit(99);
}

/* Whether /proc still has the process or its second thread. */
static int still_there(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d", pid, sh->tid);
	return race_proc_exists(pid) || access(path, F_OK) == 0 || kill(pid, 0) == 0;
}

static void exit_group_round(int round)
{
	pid_t pid = fork();
	if (pid == 0)
		two_exits(FIRST_CODE, SECOND_CODE);
	int status = -1;
	alarm(5);
	pid_t got = waitpid(pid, &status, 0);
	alarm(0);
	if (got != pid) {
		race_note(&mixed, round, "waitpid returned %d (%s)", got, strerrorname(errno));
		return;
	}
	if (status == FIRST_CODE << 8)
		wins[0]++;
	else if (status == SECOND_CODE << 8)
		wins[1]++;
	else
		race_note(&mixed, round, "status %#x, want %#x or %#x", status,
			  FIRST_CODE << 8, SECOND_CODE << 8);
	if (still_there(pid))
		race_note(&lingering, round, "pid %d or its thread %d outlived wait4", pid, sh->tid);
}

/* The victim: exits with KILLED_CODE at the signal, from one thread or
 * (odd rounds) from both of its two threads at once. */
static void victim(int threaded)
{
	if (threaded)
		two_exits(KILLED_CODE, KILLED_CODE);
	race_pin(1);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin(below(3000));
	_exit(KILLED_CODE);
}

static void kill_round(int round)
{
	int threaded = round & 1;
	pid_t pid = fork();
	if (pid == 0)
		victim(threaded);
	race_wait_for(&sh->ready, 1);
	if (!threaded)
		atomic_store(&sh->go, 1);
	race_spin(below(3000));
	if (kill(pid, SIGKILL) != 0)
		race_note(&kill_failed, round, "kill of unreaped pid %d: %s", pid,
			  strerrorname(errno));
	int status = -1;
	alarm(5);
	pid_t got = waitpid(pid, &status, 0);
	alarm(0);
	errno = 0;
	int again = waitpid(-1, NULL, WNOHANG);
	if (got != pid || (status != KILLED_CODE << 8 && status != SIGKILL) ||
	    again != -1 || errno != ECHILD || still_there(pid))
		race_note(&not_one, round, "waitpid %d status %#x, then %d", got, status, again);
}

/* Runs `round` for the time allowed; returns how many ran. */
static int run(const char *name, void (*round)(int))
{
	return race_rounds("race_exit", name, round, ROUNDS, &sh->ready, &sh->go);
}

int main(int argc, char **argv)
{
	check_begin("race_exit");
	race_seed(argc, argv, 2);
	race_watchdog();
	race_pin(0);
	sh = race_shared(sizeof *sh);
	int n = run("exit_group", exit_group_round);
	say("race_exit: the first thread's code won %d times, the second's %d\n", wins[0],
	    wins[1]);
	race_report("two_exit_groups_at_once_end_with_one_whole_exit_code", &mixed, n);
	race_report("after_wait4_no_thread_of_the_process_is_left", &lingering, n);
	n = run("kill", kill_round);
	race_report("kill_of_an_exiting_process_succeeds_until_it_is_reaped", &kill_failed, n);
	race_report("kill_of_an_exiting_process_gives_one_status_code_or_signal", &not_one, n);
	return check_end();
}
