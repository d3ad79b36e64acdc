/*
 * forkbomb N: a bounded fork storm. Forks up to N children that all stay
 * alive, reports how many the kernel allowed and the errno that stopped it
 * (EAGAIN past threads-max or pid_max, ENOMEM when memory runs out), then
 * releases and reaps them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int limit = argc > 1 ? atoi(argv[1]) : 100;
	int release[2];
	if (pipe(release) != 0) {
		perror("forkbomb: pipe");
		return 1;
	}
	int made = 0, err = 0;
	for (; made < limit; made++) {
		pid_t pid = fork();
		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			char c;
			close(release[1]);
			read(release[0], &c, 1);
			_exit(0);
		}
	}
	printf("forkbomb: %d of %d children alive at once", made, limit);
	if (err)
		printf("; fork then failed with %s (%s)", err == EAGAIN ? "EAGAIN" : err == ENOMEM ? "ENOMEM" : "errno", strerror(err));
	printf("\n");
	close(release[1]);
	int reaped = 0;
	while (wait(NULL) > 0)
		reaped++;
	printf("forkbomb: reaped %d children\n", reaped);
	return reaped == made ? 0 : 1;
}
