/*
 * zombie: a child that has exited keeps its pid and its status until its
 * parent waits for it, and no longer.
 *
 * The child exits, which closes its end of a pipe; the parent reads EOF and
 * sleeps 100 ms more, so the child is surely dead but not yet waited for.
 *
 * What a zombie does not keep is its kernel stack: the switch away from the
 * dead task frees it (finish_task_switch -> put_task_stack), which
 * /proc/meminfo's KernelStack shows before anyone waits.
 */
#include "check.h"

#include <signal.h>
#include <sys/wait.h>

#define NR_PROBES 32

/* Forks a child that exits with `code`; returns once it is a zombie. */
static pid_t make_zombie(int code)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(code);
	}
	close(p[1]);
	char c;
	while (read(p[0], &c, 1) > 0)
		;
	close(p[0]);
	sleep_ms(100);
	return pid;
}

static void a_zombie_keeps_its_pid_and_status_until_waited_for(void)
{
	pid_t zombie = make_zombie(7);

	int alive_ret = kill(zombie, 0);
	int signal_ret = kill(zombie, SIGKILL);
	pid_t fresh[NR_PROBES];
	int reused = 0;
	for (int i = 0; i < NR_PROBES; i++) {
		fresh[i] = fork();
		if (fresh[i] == 0)
			_exit(0);
		reused |= fresh[i] == zombie;
		waitpid(fresh[i], NULL, 0);
	}
	int status = -1;
	pid_t reaped = waitpid(zombie, &status, 0);
	int gone_ret = kill(zombie, 0);
	int gone_err = errno;
	pid_t again = waitpid(zombie, &status, WNOHANG);
	int again_err = errno;

	EXPECT_EQ("kill_0_succeeds_on_a_zombie", 0, alive_ret);
	EXPECT_EQ("sending_sigkill_to_a_zombie_succeeds", 0, signal_ret);
	CHECK("a_zombies_pid_is_not_reused_by_new_children", !reused);
	EXPECT_EQ("waitpid_reaps_the_zombie", zombie, reaped);
	EXPECT_EQ("a_zombie_keeps_its_exit_status_even_after_being_signalled", 7 << 8, status);
	EXPECT_ERRNO("kill_0_fails_with_esrch_once_the_zombie_is_reaped", ESRCH, gone_ret, gone_err);
	EXPECT_ERRNO("a_reaped_zombie_cannot_be_waited_for_again", ECHILD, again, again_err);
}

static void wnohang_collects_a_zombie_at_once(void)
{
	pid_t zombie = make_zombie(9);
	int status = -1;
	pid_t reaped = waitpid(-1, &status, WNOHANG);
	EXPECT_EQ("wnohang_returns_a_zombie_immediately", zombie, reaped);
	EXPECT_EQ("wnohang_reports_the_zombies_status", 9 << 8, status);
}

static void zombies_are_collected_in_any_order(void)
{
	pid_t first = make_zombie(1), second = make_zombie(2), third = make_zombie(3);
	int s2 = -1, s1 = -1, s3 = -1;
	pid_t r2 = waitpid(second, &s2, 0);
	pid_t r_any = waitpid(-1, &s1, 0);
	pid_t r_last = waitpid(-1, &s3, 0);
	EXPECT_EQ("a_specific_zombie_can_be_reaped_out_of_order", second, r2);
	EXPECT_EQ("an_out_of_order_reap_returns_that_zombies_own_status", 2 << 8, s2);
	CHECK("wait_any_then_reaps_the_remaining_zombies",
	      (r_any == first && r_last == third && s1 == 1 << 8 && s3 == 3 << 8) ||
		      (r_any == third && r_last == first && s1 == 3 << 8 && s3 == 1 << 8));
}

static long kernel_stack_kb(void)
{
	return proc_number("/proc/meminfo", "KernelStack:");
}

#define NR_STACKS 32

/*
 * One try: NR_STACKS children block on a pipe (their stacks count in
 * KernelStack), then exit; once all are zombies, how much of what they
 * added is gone? Other processes of the host come and go meanwhile, hence
 * the margin and the retries in the caller.
 */
static void measure_zombie_stacks(long *added, long *freed)
{
	int go[2];
	pid_t kids[NR_STACKS];
	pipe(go);
	long before = kernel_stack_kb();
	for (int i = 0; i < NR_STACKS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char c;
			close(go[1]);
			read(go[0], &c, 1);
			_exit(0);
		}
	}
	long alive = kernel_stack_kb();
	close(go[0]);
	close(go[1]);
	long deadline = now_ms() + 5000;
	for (int i = 0; i < NR_STACKS; i++)
		while (kids[i] > 0 && proc_state(kids[i]) != 'Z' && now_ms() < deadline)
			sleep_ms(1);
	sleep_ms(20);
	long zombies = kernel_stack_kb();
	for (int i = 0; i < NR_STACKS; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	*added = before < 0 ? -1 : alive - before;
	*freed = alive - zombies;
}

static void a_zombies_kernel_stack_is_freed_before_it_is_waited_for(void)
{
	long added = -1, freed = -1;
	for (int attempt = 0; attempt < 3; attempt++) {
		measure_zombie_stacks(&added, &freed);
		if (added >= NR_STACKS * 4 && freed >= added / 2)
			break;
	}
	CHECK("meminfo_kernelstack_counts_the_stacks_of_new_children", added >= NR_STACKS * 4);
	if (freed >= added / 2 && added > 0)
		check_ok("a_zombies_kernel_stack_is_freed_before_wait4");
	else
		check_fail("a_zombies_kernel_stack_is_freed_before_wait4",
			   "%d children added %ld kB of KernelStack; as zombies only %ld kB was gone",
			   NR_STACKS, added, freed);
}

int main(void)
{
	check_begin("zombie");
	a_zombie_keeps_its_pid_and_status_until_waited_for();
	wnohang_collects_a_zombie_at_once();
	zombies_are_collected_in_any_order();
	a_zombies_kernel_stack_is_freed_before_it_is_waited_for();
	return check_end();
}
