/*
 * race_vfork: the vfork child moves itself to another CPU and runs there
 * while its parent sleeps in vfork; it then _exits or execs. The parent
 * must stay blocked until the child has let go of the shared memory: the
 * child's last write before _exit/execve is there when vfork returns.
 *
 * The bugs it catches:
 * - the early return: vfork_done completed (or the parent's wait given
 *   up) before the child stops using the address space, so the parent
 *   runs on the stack the child is still using; it sees phase 1, not 2,
 *   or crashes.
 * - the missed completion: mm_release's complete() racing the parent's
 *   wait_for_vfork_done with no lock or ordering between them; the parent
 *   sleeps forever, and the watchdog reports the hang.
 * - a lost or wrong status when the vfork child exits or execs on another
 *   CPU than its parent.
 */
#include "race.h"

#include <sys/syscall.h>

#define ROUNDS 3000
/* How long past the rounds' own time the watchdog waits. */
#define HANG_SECONDS 60

extern char **environ;

static volatile int phase;
static volatile int child_cpu;
static struct race_tally early, status_wrong;

/* A process that kills its parent if the parent is not done in time:
 * HANG_SECONDS after the rounds' time (longer under `make stress`). */
static pid_t watchdog(void)
{
	pid_t parent = getpid();
	long limit = race_budget_ms / 1000 + HANG_SECONDS;
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	for (long s = 0; s < limit; s++) {
		sleep_ms(1000);
		if (getppid() != parent)
			_exit(0);
	}
	say("test race_vfork::the_parent_never_hangs_in_vfork ... FAILED\n"
	    "    still in the rounds after %ld s: a vfork that never returned?\n",
	    limit);
	kill(parent, SIGKILL);
	_exit(1);
}

/* getcpu(2), asked only where there is a second CPU to be on. */
static unsigned this_cpu(void)
{
	unsigned cpu = 0;
	if (race_cpus() < 2)
		return 0;
	return syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 ? cpu : ~0u;
}

static void one_round(int round, const char *helper, int *elsewhere)
{
	int code = round % 100 + 1, exec = round % 4 == 3;
	char code_text[16];
	snprintf(code_text, sizeof code_text, "%d", code);
	char *argv[] = { "vfork_helper", "0", code_text, NULL };
	uint64_t spin = below(4000);
	phase = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		race_pin(1);
		phase = 1;
		child_cpu = this_cpu();
		race_spin(spin);
		phase = 2;
		if (exec)
			execve(helper, argv, environ);
		_exit(code);
	}
	int seen = phase;
	if (child_cpu != (int)this_cpu())
		(*elsewhere)++;
	int status = -1;
	waitpid(pid, &status, 0);
	if (pid < 0 || seen != 2)
		race_note(&early, round, "vfork returned %d with the child at phase %d", pid, seen);
	if (status != code << 8)
		race_note(&status_wrong, round, "status %#x, want %#x (%s)", status, code << 8,
			  exec ? "after execve" : "after _exit");
}

int main(int argc, char **argv)
{
	check_begin("race_vfork");
	race_seed(argc, argv, 1);
	race_pin(0);
	char helper[256];
	sibling(argv[0], "vfork_helper", helper, sizeof helper);
	pid_t dog = watchdog();
	long start = now_ms();
	int rounds = 0, elsewhere = 0;
	while (race_more(rounds, ROUNDS, start))
		one_round(rounds++, helper, &elsewhere);
	kill(dog, SIGKILL);
	waitpid(dog, NULL, 0);
	say("race_vfork: %d rounds in %ld ms, the child on another CPU in %d\n", rounds,
	    now_ms() - start, elsewhere);
	race_report("the_parent_stays_blocked_until_the_child_on_another_cpu_exits_or_execs",
		    &early, rounds);
	race_report("the_vfork_childs_status_is_its_exit_or_exec_code", &status_wrong, rounds);
	return check_end();
}
