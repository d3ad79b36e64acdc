/*
 * The guided tour: run as /init, it walks through a process's life by
 * running the demos (/bin/cowdemo, zombie, orphan, vforkdemo, threads,
 * pidns, trace),
 * each saying which kernel function did the work, then starts the shell.
 * It stays pid 1 while the shell runs, as its parent (a real init: it
 * reaps the orphans handed to it), and powers the machine off when the
 * shell exits (`exit` or Ctrl-D at the prompt), since pid 1 may never exit.
 * With the argument "--no-shell" it powers off right after the tour (the
 * automated test of the tour).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>
#include "demo.h"

static void step(const char *title)
{
	printf("\n== %s\n", title);
	fflush(stdout);
}

/* fork + execve + wait4, as a shell runs a command; returns the wait status. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static void demo(const char *title, const char *path)
{
	step(title);
	char *argv[] = { (char *)path, 0 };
	run(argv);
}

static void exec_step(void)
{
	step("exec: bprm_execve() -> load_elf_binary() -> start_thread()");
	char *argv[] = { "/bin/echo", "tour: hello from the new program, same pid", 0 };
	int status = run(argv);
	printf("tour: every demo is run this way: fork, then execve in the child; /bin/echo exited with %d\n", WEXITSTATUS(status));
}

/* A shell pipeline under /bin/trace, which sees each lifecycle system
 * call of the shell and its children at a ptrace stop. */
static void trace_step(void)
{
	step("ptrace: trace stops a shell and its children at each system call (ptrace_stop, __TASK_TRACED)");
	char *argv[] = { "/bin/trace", "/bin/busybox", "sh", "-c",
			 "/bin/echo traced | /bin/busybox wc -c", 0 };
	int status = run(argv);
	printf("tour: the shell's children had trace as parent (it saw their exits first) and the shell as real_parent; the shell exited with %d\n",
	       WEXITSTATUS(status));
}

/* As init, collect the orphans the kernel handed over to us. */
static void reap_adopted(void)
{
	pid_t pid;
	while ((pid = waitpid(-1, 0, 0)) > 0)
		printf("tour: init (pid %d) reaped orphan %d\n", getpid(), pid);
}

static void kthreads_step(void)
{
	step("kernel threads: kthreadd (pid 2) is the parent of every kthread");
	printf("tour: kthreadd is in state %c; kernel threads have no mm\n", proc_state(2));
}

/*
 * The shell as init's child, in a session of its own with the console as
 * its controlling terminal (as a getty would set it up); init waits for it,
 * reaping the orphans it adopts meanwhile.
 */
static void run_shell(void)
{
	pid_t shell = fork();
	if (shell == 0) {
		setsid();
		ioctl(0, TIOCSCTTY, 0);
		char *sh[] = { "sh", 0 };
		execv("/bin/sh", sh);
		perror("tour: /bin/sh");
		_exit(127);
	}
	if (shell < 0) {
		perror("tour: fork");
		return;
	}
	for (;;) {
		pid_t got = wait(0);
		if (got == shell || (got < 0 && errno != EINTR))
			return;
	}
}

int main(int argc, char **argv)
{
	int shell = !(argc > 1 && strcmp(argv[1], "--no-shell") == 0);
	setvbuf(stdout, 0, _IOLBF, 0);
	printf("tour: this is /init, pid %d\n", getpid());
	demo("fork: kernel_clone() -> copy_process() -> wake_up_new_task()", "/bin/cowdemo");
	exec_step();
	demo("zombie: do_exit() -> exit_notify() leaves EXIT_ZOMBIE until wait4()", "/bin/zombie");
	demo("orphan: forget_original_parent() -> find_new_reaper() picks init", "/bin/orphan");
	reap_adopted();
	demo("vfork: the parent sleeps on vfork_done until the child execs or exits", "/bin/vforkdemo");
	demo("threads: clone(CLONE_VM|CLONE_THREAD|...) shares the mm; futex() for the mutex", "/bin/threads");
	demo("pid namespaces: clone(CLONE_NEWPID) -> create_pid_namespace(); its init reaps, and its death zaps the rest", "/bin/pidns");
	trace_step();
	kthreads_step();
	printf("\ntour: done; each demo also runs on its own in the shell\n");
	if (!shell) {
		reboot(RB_POWER_OFF);
		return 1;
	}
	printf("tour: starting the shell; Ctrl-T lists tasks, 'exit' ends the VM\n");
	run_shell();
	printf("tour: the shell exited; init powers off\n");
	reboot(RB_POWER_OFF);
	return 1;
}
