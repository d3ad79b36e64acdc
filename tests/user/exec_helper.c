/*
 * exec_helper: the program exec.c (and efault.c) execve into. It checks
 * what it was given and answers with its exit code, one bit per problem,
 * so 0 means everything matched.
 *
 *   exec_helper args <pid> <ppid> "two words" ""
 *       with exactly the environment EXEC_HELPER_A=1, EXEC_HELPER_B=two words
 *       bit 1 argc, 2 argv, 4 envp, 8 pid changed, 16 parent changed
 *   exec_helper fds <cloexec_fd> <kept_fd>
 *       bit 1 the close-on-exec fd is still open, 2 the kept fd is closed
 *       or marked close-on-exec, 4 writing "kept" to the kept fd failed
 *   anything else exits 99.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static const char *const expected_env[] = { "EXEC_HELPER_A=1", "EXEC_HELPER_B=two words" };

static int check_args(int argc, char **argv)
{
	int bad = 0;
	if (argc != 6)
		return 1;
	if (strcmp(argv[4], "two words") != 0 || strcmp(argv[5], "") != 0 || argv[6] != NULL)
		bad |= 2;
	int n = 0;
	while (environ[n] != NULL)
		n++;
	if (n != 2 || strcmp(environ[0], expected_env[0]) != 0 ||
	    strcmp(environ[1], expected_env[1]) != 0)
		bad |= 4;
	if (atoi(argv[2]) != getpid())
		bad |= 8;
	if (atoi(argv[3]) != getppid())
		bad |= 16;
	return bad;
}

static int check_fds(int argc, char **argv)
{
	if (argc != 4)
		return 99;
	int bad = 0;
	int cloexec_fd = atoi(argv[2]), kept_fd = atoi(argv[3]);
	if (fcntl(cloexec_fd, F_GETFD) != -1 || errno != EBADF)
		bad |= 1;
	if (fcntl(kept_fd, F_GETFD) != 0)
		bad |= 2;
	if (write(kept_fd, "kept", 4) != 4)
		bad |= 4;
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "args") == 0)
		return check_args(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "fds") == 0)
		return check_fds(argc, argv);
	return 99;
}
