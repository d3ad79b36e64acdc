/*
 * zombie [SECONDS]: a child exits and stays a zombie (state Z, its pid
 * still taken) until the parent's wait4 collects its status. With SECONDS,
 * the zombie is kept that long: run `zombie 20 &` and look with ps or Ctrl-T.
 */
#include <sys/wait.h>
#include "demo.h"

int main(int argc, char **argv)
{
	long keep = arg_or(argc, argv, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(42);
	for (int i = 0; i < 100 && proc_state(pid) != 'Z'; i++)
		usleep(10000);
	printf("zombie: child %d exited; before wait4 its state is %c (exit_notify() made it EXIT_ZOMBIE)\n", pid, proc_state(pid));
	if (keep > 0) {
		printf("zombie: keeping it for %ld s\n", keep);
		sleep(keep);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("zombie: wait4 collected status %d; release_task() freed it, state now %c\n", WEXITSTATUS(status), proc_state(pid));
	return 0;
}
