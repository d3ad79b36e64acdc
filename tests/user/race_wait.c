/*
 * race_wait: a child exits on one CPU while its parent, on another, enters
 * wait4 for it. Thousands of rounds, the moment of the exit swept across
 * the parent's way into wait4 by a random spin on each side.
 *
 * The bugs it catches:
 * - the lost wakeup: the parent scans its children, finds none dead, and
 *   the child's exit_notify sends its SIGCHLD wakeup before the parent is
 *   on wait_chldexit as TASK_INTERRUPTIBLE; the parent then sleeps
 *   forever. A watchdog alarm turns the hang into EINTR, reported here.
 * - the early return: wait4 skips a child that is between PF_EXITING and
 *   EXIT_ZOMBIE (or between EXIT_ZOMBIE and release) and answers ECHILD,
 *   or WNOHANG answers an error instead of "not yet".
 * - a half-published status: the exit code read before the child stored
 *   it (0 or a stale value instead of its code).
 * - a reaped child left behind: kill(pid, 0) or /proc still finding it,
 *   or a second wait4 finding it again.
 */
#include "race.h"

#define ROUNDS 3000

struct shared {
	atomic_int go;
};

static struct race_tally missed, status_wrong, early, left_behind;

/* One round: wait4 by pid, by -1, or polling with WNOHANG. */
static void one_round(struct shared *sh, int round)
{
	int code = round % 200 + 1;
	uint64_t parent_spin = below(4000), child_spin = below(4000);
	atomic_store(&sh->go, 0);
	pid_t pid = fork();
	if (pid < 0) {
		race_note(&early, round, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		race_pin(1);
		race_wait_for(&sh->go, 1);
		race_spin(child_spin);
		_exit(code);
	}
	race_spin(parent_spin);
	atomic_store(&sh->go, 1);
	int status = -1;
	pid_t got;
	alarm(5);
	switch (round % 3) {
	case 0:
		got = wait4(pid, &status, 0, NULL);
		break;
	case 1:
		got = wait4(-1, &status, 0, NULL);
		break;
	default: {
		long end = now_ms() + 5000;
		while ((got = wait4(pid, &status, WNOHANG, NULL)) == 0 && now_ms() < end)
			;
		if (got == 0)
			got = -1, errno = EINTR;
	}
	}
	int err = errno;
	alarm(0);
	if (got == -1 && err == EINTR) {
		race_note(&missed, round, "wait4 still asleep 5 s after child %d was let go", pid);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return;
	}
	if (got != pid) {
		race_note(&early, round, "wait4 returned %d (%s), not child %d", got,
			  got == -1 ? strerrorname(err) : "no error", pid);
		waitpid(pid, &status, 0);
		return;
	}
	if (status != code << 8)
		race_note(&status_wrong, round, "status %#x, want %#x", status, code << 8);
	errno = 0;
	int again = waitpid(pid, NULL, WNOHANG);
	int again_err = errno;
	if (kill(pid, 0) == 0 || race_proc_exists(pid) || again != -1 || again_err != ECHILD)
		race_note(&left_behind, round, "child %d still seen after wait4 reaped it", pid);
}

int main(int argc, char **argv)
{
	check_begin("race_wait");
	race_seed(argc, argv, 1);
	race_watchdog();
	race_pin(0);
	struct shared *sh = race_shared(sizeof *sh);
	long start = now_ms();
	int rounds = 0;
	while (race_more(rounds, ROUNDS, start))
		one_round(sh, rounds++);
	say("race_wait: %d rounds in %ld ms\n", rounds, now_ms() - start);
	race_report("wait4_never_misses_a_child_exiting_on_another_cpu", &missed, rounds);
	race_report("wait4_returns_the_child_only_after_it_has_exited", &early, rounds);
	race_report("wait4_reports_the_exit_code_the_child_passed_to_exit", &status_wrong, rounds);
	race_report("a_reaped_child_is_gone_from_kill_proc_and_wait", &left_behind, rounds);
	return check_end();
}
