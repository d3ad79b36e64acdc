/*
 * race_orphans: parents and reapers exit while their children exit, each
 * party on its own CPU, so that exit_notify of a child and
 * forget_original_parent of its parent (or of the reaper it is being
 * handed to) run at the same instant. This program is a subreaper
 * (PR_SET_CHILD_SUBREAPER), so every orphan ends up with it, and it
 * counts: each process of a round must be reaped exactly once, with its
 * own exit code, and nothing of it may stay behind in /proc.
 *
 * The rounds and the bugs each catches:
 * - parent_exits_with_its_children: a child reads its real_parent,
 *   which then exits and hands its children on; the child notifies the
 *   dead parent and is never reaped (a zombie left, our wait hangs), or
 *   it is notified twice and released twice (reaped twice, or a crash).
 * - subreaper_exits_while_adopting: a middle subreaper exits while its
 *   grandchildren's parent exits; find_new_reaper picks the subreaper
 *   after it has run forget_original_parent, and the orphans are lost.
 * - thread_reaper_exits_while_adopting: a thread that forked children
 *   exits while another thread exits too; the children must go to a live
 *   thread of the group (find_alive_thread), never to an exiting one,
 *   and the main thread's wait4 reaps every one of them.
 */
#include "race.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define ROUNDS 2000
#define KIDS 3
#define PARENT_CODE 100
#define SUBREAPER_CODE 101

struct shared {
	atomic_int ready, go;
	pid_t pids[KIDS + 2];
	struct race_tally thread_round;
};

static struct shared *sh;
static struct race_tally lost, twice, wrong_code, left_behind;

/* A child of the round: ready, then exits with its code at the signal. */
static void kid(int cpu, uint64_t spin, int code)
{
	race_pin(cpu);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin(spin);
	_exit(code);
}

/* Forks KIDS children that record their pids from slot `first` on. */
static void fork_kids(int first)
{
	for (int k = 0; k < KIDS; k++) {
		uint64_t spin = below(3000);
		pid_t pid = fork();
		if (pid == 0)
			kid(k + 1, spin, 10 + k);
		sh->pids[first + k] = pid;
	}
}

/* The middle parent: forks the children, lets everyone go, exits. */
static void parent(int first)
{
	race_pin(0);
	sh->pids[first - 1] = getpid();
	fork_kids(first);
	race_wait_for(&sh->ready, KIDS + first - 1);
	atomic_store(&sh->go, 1);
	race_spin(below(3000));
	_exit(PARENT_CODE);
}

/* A subreaper between us and the parent, exiting with everyone else. */
static void subreaper(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	race_pin(3);
	sh->pids[0] = getpid();
	pid_t pid = fork();
	if (pid == 0)
		parent(2);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin(below(3000));
	_exit(SUBREAPER_CODE);
}

/* The exit code the process in slot `slot` of `n` ends with. */
static int code_of(int slot, int n)
{
	if (slot >= n - KIDS)
		return 10 + slot - (n - KIDS);
	return slot == n - KIDS - 1 ? PARENT_CODE : SUBREAPER_CODE;
}

/* Reaps the `n` processes of the round in sh->pids, each exactly once. */
static void reap_round(int round, int n)
{
	int reaped[KIDS + 2] = { 0 };
	for (int got = 0; got < n;) {
		int status;
		alarm(5);
		pid_t pid = waitpid(-1, &status, 0);
		alarm(0);
		if (pid < 0) {
			race_note(&lost, round, "waitpid: %s with %d of %d reaped",
				  strerrorname(errno), got, n);
			break;
		}
		int slot = -1;
		for (int i = 0; i < n; i++)
			if (sh->pids[i] == pid)
				slot = i;
		if (slot < 0 || reaped[slot]++) {
			race_note(&twice, round, "pid %d reaped again or unknown", pid);
			continue;
		}
		got++;
		if (status != code_of(slot, n) << 8)
			race_note(&wrong_code, round, "pid %d: status %#x, want %#x", pid,
				  status, code_of(slot, n) << 8);
	}
	errno = 0;
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		race_note(&twice, round, "a child is left after the round's %d", n);
	for (int i = 0; i < n; i++)
		if (race_proc_exists(sh->pids[i]))
			race_note(&left_behind, round, "pid %d still in /proc", sh->pids[i]);
}

static void parent_exits_with_its_children(int round)
{
	if (fork() == 0)
		parent(1);
	reap_round(round, KIDS + 1);
}

static void subreaper_exits_while_adopting(int round)
{
	if (fork() == 0)
		subreaper();
	reap_round(round, KIDS + 2);
}

/* The forking thread and a second thread exit at the signal. */
static void *forker(void *arg)
{
	race_pin(1);
	fork_kids(0);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin((uintptr_t)arg);
	return NULL;
}

static void *bystander(void *arg)
{
	race_pin(2);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin((uintptr_t)arg);
	return NULL;
}

/* The threaded process: its main thread reaps the forker's children. */
static void threaded(int round)
{
	pthread_t a, b;
	race_pin(0);
	pthread_create(&a, NULL, forker, (void *)(uintptr_t)below(3000));
	pthread_create(&b, NULL, bystander, (void *)(uintptr_t)below(3000));
	race_wait_for(&sh->ready, KIDS + 2);
	atomic_store(&sh->go, 1);
	int reaped = 0;
	for (;;) {
		int status;
		alarm(5);
		pid_t pid = waitpid(-1, &status, 0);
		alarm(0);
		if (pid < 0)
			break;
		reaped++;
	}
	if (reaped != KIDS)
		race_note(&sh->thread_round, round, "the main thread reaped %d of %d (%s)",
			  reaped, KIDS, strerrorname(errno));
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	_exit(0);
}

static void thread_reaper_exits_while_adopting(int round)
{
	pid_t pid = fork();
	if (pid == 0)
		threaded(round);
	int status = -1;
	alarm(10);
	waitpid(pid, &status, 0);
	alarm(0);
	if (status != 0)
		race_note(&sh->thread_round, round, "threaded process ended %#x", status);
}

/* Runs `round` for the time allowed and reports it as `name`. */
static void run(const char *name, void (*round)(int), struct race_tally *only)
{
	static struct race_tally none;
	lost = twice = wrong_code = left_behind = none;
	int rounds = race_rounds("race_orphans", name, round, ROUNDS, &sh->ready, &sh->go);
	char check[160];
	if (only) {
		snprintf(check, sizeof check, "%s_every_child_reaped_once", name);
		race_report(check, only, rounds);
		return;
	}
	snprintf(check, sizeof check, "%s_no_orphan_lost", name);
	race_report(check, &lost, rounds);
	snprintf(check, sizeof check, "%s_each_reaped_exactly_once", name);
	race_report(check, &twice, rounds);
	snprintf(check, sizeof check, "%s_each_with_its_own_exit_code", name);
	race_report(check, &wrong_code, rounds);
	snprintf(check, sizeof check, "%s_no_zombie_left_in_proc", name);
	race_report(check, &left_behind, rounds);
}

int main(int argc, char **argv)
{
	check_begin("race_orphans");
	race_seed(argc, argv, 3);
	race_watchdog();
	race_pin(0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sh = race_shared(sizeof *sh);
	run("parent_exits_with_its_children", parent_exits_with_its_children, NULL);
	run("subreaper_exits_while_adopting", subreaper_exits_while_adopting, NULL);
	run("thread_reaper_exits_while_adopting", thread_reaper_exits_while_adopting,
	    &sh->thread_round);
	return check_end();
}
