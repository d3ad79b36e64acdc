/*
 * orphan [SECONDS]: a parent exits before its child; exit_notify() hands the
 * child to a new reaper (init, unless a subreaper is nearer), which will
 * reap it. With SECONDS, the orphan lives that long after its adoption:
 * run `orphan 20 &` and look with pstree.
 */
#include <sys/wait.h>
#include "demo.h"

int main(int argc, char **argv)
{
	long keep = arg_or(argc, argv, 0);
	int fds[2];
	if (pipe(fds) < 0) {
		perror("orphan: pipe");
		return 1;
	}
	pid_t parent = fork();
	if (parent == 0) {
		/* In here fork() returned 0: the grandchild must watch for this pid. */
		pid_t me = getpid();
		if (fork() == 0) {
			while (getppid() == me)
				usleep(1000);
			pid_t told[2] = { getpid(), getppid() };
			write(fds[1], told, sizeof told);
			sleep(keep);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(parent, 0, 0);
	pid_t told[2];
	if (read(fds[0], told, sizeof told) != sizeof told) {
		perror("orphan: read");
		return 1;
	}
	printf("orphan: parent %d exited; its child %d now has ppid %d (find_new_reaper())\n", parent, told[0], told[1]);
	return 0;
}
