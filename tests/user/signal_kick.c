/*
 * signal_kick: a signal for a thread that is running its program on
 * another CPU interrupts it there at once, as Linux's kick_process() does
 * with a reschedule IPI; it does not wait for that CPU's next tick or the
 * thread's next system call. So a thread that exec or exit_group kills
 * stops running its program at once; before the kick, race_dethread's
 * killed threads went on for up to a tick, and one of them, taking musl's
 * thread-list lock that a dying sibling's clear_child_tid had just freed,
 * fell on a NULL list pointer (SIGSEGV).
 *
 * A child pinned to CPU 1 spins in user space, making no system calls; the
 * parent, on CPU 0, sends it SIGUSR1 again and again, each time waiting
 * until the handler has counted it. Each signal that finds the child
 * running shows as one reschedule interrupt of CPU 1 (/proc/interrupts,
 * RES); a kernel without the kick shows none, the signal then waits for
 * the tick. On a shared host the child may be waiting for its CPU when a
 * signal comes (no interrupt is needed then), so a tenth is enough.
 */
#include "cpus.h"

#include <stdatomic.h>
#include <sys/mman.h>

#define ROUNDS 200

struct shared {
	atomic_int ready;
	atomic_int handled;
};

static struct shared *sh;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&sh->handled, 1);
}

/* Spins on CPU 1 in user space, taking SIGUSR1, until killed. */
static void spinner(void)
{
	if (pin(1) != 0)
		_exit(3);
	signal(SIGUSR1, on_usr1);
	atomic_store(&sh->ready, 1);
	for (volatile unsigned long spins = 0;; spins++)
		;
}

/* Waits up to a second for the handler to have run `n` times. */
static int handled_within_a_second(int n)
{
	double end = now_ms() + 1000;
	while (atomic_load(&sh->handled) < n)
		if (now_ms() > end)
			return 0;
	return 1;
}

int main(void)
{
	check_begin("signal_kick");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		check_skip("a_signal_to_a_thread_running_on_another_cpu_interrupts_it_there",
			   "one CPU");
		return check_end();
	}
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pin(0) != 0) {
		check_fail("setup", "mmap or sched_setaffinity: %s", strerror(errno));
		return check_end();
	}
	pid_t child = fork();
	if (child == 0)
		spinner();
	while (!atomic_load(&sh->ready))
		usleep(1000);
	long long before = interrupts_of("RES:", 1);
	int rounds = 0;
	while (rounds < ROUNDS) {
		kill(child, SIGUSR1);
		if (!handled_within_a_second(rounds + 1))
			break;
		rounds++;
	}
	long long after = interrupts_of("RES:", 1);
	say("signal_kick: CPU 1 took %lld reschedule interrupts for %d signals\n", after - before,
	    rounds);
	EXPECT_EQ("a_thread_spinning_in_user_space_on_another_cpu_takes_every_signal", ROUNDS,
		  rounds);
	CHECK("proc_interrupts_has_a_res_count_for_cpu_1", before >= 0 && after >= before);
	if (after - before >= ROUNDS / 10)
		check_ok("a_signal_to_a_thread_running_on_another_cpu_interrupts_it_there");
	else
		check_fail("a_signal_to_a_thread_running_on_another_cpu_interrupts_it_there",
			   "fewer than %d reschedule interrupts", ROUNDS / 10);
	kill(child, SIGKILL);
	int status = 0;
	waitpid(child, &status, 0);
	CHECK("the_spinning_child_dies_of_sigkill", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return check_end();
}
