/*
 * exit_signal_stop: clone's exit signal (the low byte of its flags) may be
 * any signal, a stop signal or SIGCONT among them. When the child dies,
 * the parent gets that signal as it would from kill(): SIGTSTP or SIGSTOP
 * stops it (its parent sees the stop), SIGCONT does nothing to a running
 * process. sys_fuzz found clone(CLONE_VM | ... | SIGTSTP) hanging the
 * kernel: the exit path held the tasklist lock while the stop signal's
 * preparation took it again.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* clone with `flags` and no new stack: the child runs on a copy of the
 * parent's (or, with CLONE_VM, must not touch memory: it exits at once). */
static long raw_clone(long flags)
{
	register long child_tid __asm__("r10") = 0;
	register long tls __asm__("r8") = 0;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(SYS_clone), "D"(flags), "S"(0L), "d"(0L), "r"(child_tid), "r"(tls)
			 : "rcx", "r11", "memory");
	if (ret == 0) {
		__asm__ volatile("syscall" : : "a"(SYS_exit), "D"(5L) : "rcx", "r11", "memory");
		__builtin_unreachable();
	}
	return ret;
}

/* In a process of its own group (so that SIGTSTP is not discarded as sent
 * to an orphaned group): clones a child with exit signal `sig` and reaps
 * it after any stop. Exits 0 if the child's exit code 5 came back. */
static void __attribute__((noreturn)) parent_of_clone(long flags)
{
	setpgid(0, 0);
	long child = raw_clone(flags);
	if (child < 0)
		_exit(10);
	int status;
	if (waitpid(child, &status, __WALL) != child)
		_exit(11);
	_exit(exited_with(status, 5) ? 0 : 12);
}

/* The parent stops with `sig` when its clone child dies; SIGCONT resumes
 * it and it reaps the child. */
static void stopped_by_exit_signal(const char *name, long flags, int sig)
{
	pid_t p = fork();
	if (p == 0)
		parent_of_clone(flags | sig);
	int status = 0;
	pid_t got = waitpid(p, &status, WUNTRACED);
	int stopped = got == p && WIFSTOPPED(status) && WSTOPSIG(status) == sig;
	if (got == p && WIFSTOPPED(status))
		kill(p, SIGCONT);
	int end = 0;
	if (got == p && WIFSTOPPED(status))
		waitpid(p, &end, 0);
	else
		end = status;
	if (stopped && exited_with(end, 0))
		check_ok(name);
	else
		check_fail(name, "waitpid gave %d, status %#x, then %#x (want a stop by %d, then exit 0)",
			   got, status, end, sig);
}

int main(void)
{
	check_begin("exit_signal_stop");
	stopped_by_exit_signal("a_clone_childs_exit_signal_sigtstp_stops_its_parent", 0, SIGTSTP);
	stopped_by_exit_signal("a_clone_childs_exit_signal_sigstop_stops_its_parent", 0, SIGSTOP);
	stopped_by_exit_signal("a_clone_vm_childs_exit_signal_sigtstp_stops_its_parent",
			       CLONE_VM | CLONE_CHILD_SETTID, SIGTSTP);

	pid_t p = fork();
	if (p == 0)
		parent_of_clone(SIGCONT);
	int status = 0;
	pid_t got = waitpid(p, &status, WUNTRACED);
	if (got == p && exited_with(status, 0))
		check_ok("a_clone_childs_exit_signal_sigcont_leaves_its_running_parent_alone");
	else
		check_fail("a_clone_childs_exit_signal_sigcont_leaves_its_running_parent_alone",
			   "waitpid gave %d, status %#x", got, status);

	/* A child whose exit signal is not SIGCHLD is a "clone" child: only
	 * __WCLONE or __WALL waits for it. */
	long child = raw_clone(SIGCONT);
	CHECK("clone_with_exit_signal_sigcont_succeeds", child > 0);
	EXPECT_FAILS("waitpid_without_wclone_skips_a_clone_child", ECHILD, waitpid(child, &status, 0));
	got = waitpid(child, &status, __WCLONE);
	CHECK("waitpid_with_wclone_reaps_it", got == child && exited_with(status, 5));
	return check_end();
}
