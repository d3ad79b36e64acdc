/*
 * The guided tour: run as /init, it walks through a process's life by
 * running the demos (/bin/cowdemo, zombie, orphan, vforkdemo, threads),
 * each saying which kernel function did the work, then starts the shell.
 * With the argument "--no-shell" it powers off instead (the automated test
 * of the tour).
 */
#include <stdio.h>
#include <string.h>
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
	kthreads_step();
	printf("\ntour: done; each demo also runs on its own in the shell\n");
	if (!shell) {
		reboot(RB_POWER_OFF);
		return 1;
	}
	printf("tour: starting the shell; Ctrl-T lists tasks, 'poweroff -f' ends the VM\n");
	char *sh[] = { "sh", 0 };
	execv("/bin/sh", sh);
	perror("tour: /bin/sh");
	return 1;
}
