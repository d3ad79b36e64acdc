/*
 * zombie [SECONDS]: a child exits and stays a zombie (state Z, its pid
 * still taken) until the parent's wait4 collects its status. Its kernel
 * stack is not kept: KernelStack in /proc/meminfo drops as soon as the dead
 * child has been switched away from. With SECONDS, the zombie is kept that
 * long: run `zombie 20 &` and look with ps or Ctrl-T.
 */
#include <sys/wait.h>
#include "demo.h"

int main(int argc, char **argv)
{
	long keep = arg_or(argc, argv, 0);
	int go[2];
	pipe(go);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		read(go[0], &c, 1);
		_exit(42);
	}
	long alive = meminfo("KernelStack:");
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 100 && proc_state(pid) != 'Z'; i++)
		usleep(10000);
	long dead = meminfo("KernelStack:");
	printf("zombie: child %d exited; before wait4 its state is %c (exit_notify() made it EXIT_ZOMBIE)\n", pid, proc_state(pid));
	printf("zombie: KernelStack in /proc/meminfo went from %ld kB to %ld kB: finish_task_switch() freed its %ld kB stack (put_task_stack())\n",
	       alive, dead, alive - dead);
	if (keep > 0) {
		printf("zombie: keeping it for %ld s\n", keep);
		sleep(keep);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("zombie: wait4 collected status %d; release_task() freed it, state now %c\n", WEXITSTATUS(status), proc_state(pid));
	return 0;
}
