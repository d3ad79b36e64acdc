/*
 * core_helper: the program a piped core_pattern runs in core_pipe.c
 * (`|/bin/core_helper %p ...`). The kernel starts it with the core on
 * its standard input. It reads all of it and writes what it saw to
 * /tmp/core_helper.<argv[1]>: its arguments, the first bytes of the core
 * in hex, the core's size, and how it was started (uid, parent, number of
 * environment strings, RLIMIT_CORE, whether fd 0 is a pipe) and, when
 * fd 3 is open (a `%F` pidfd of the dumper), its flags, whether
 * pidfd_send_signal(fd 3, 0) works, and the inode of the dumper's fd 42
 * fetched through it with pidfd_getfd. It looks at fd 3 before reading
 * the core, while the dumper is still alive. The file is written under
 * another name and renamed, so it appears complete.
 * With a last argument `slow` it then sleeps 2 s before exiting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What fd 3 is, as `key=value` lines into `out`. */
static void describe_fd3(char *out, size_t size)
{
	int fdflags = fcntl(3, F_GETFD);
	if (fdflags < 0) {
		snprintf(out, size, "fd3=closed\n");
		return;
	}
	int signal0 = syscall(SYS_pidfd_send_signal, 3, 0, NULL, 0) == 0 ? 0 : errno;
	int fd = syscall(SYS_pidfd_getfd, 3, 42, 0);
	struct stat st = {0};
	int getfd_errno = fd < 0 || fstat(fd, &st) != 0 ? errno : 0;
	snprintf(out, size,
		 "fd3=open\nfd3_cloexec=%d\nfd3_accmode=%d\nfd3_signal0_errno=%d\n"
		 "fd3_getfd_errno=%d\nfd3_getfd_ino=%llu\n",
		 (fdflags & FD_CLOEXEC) != 0, fcntl(3, F_GETFL) & O_ACCMODE, signal0, getfd_errno,
		 (unsigned long long)st.st_ino);
}

int main(int argc, char **argv)
{
	char fd3[256];
	describe_fd3(fd3, sizeof fd3);
	unsigned char head[64], buf[4096];
	size_t have = 0;
	long long size = 0;
	ssize_t n;
	while ((n = read(0, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n && have < sizeof head; i++)
			head[have++] = buf[i];
		size += n;
	}
	char out[128], tmp[sizeof out + 8];
	snprintf(out, sizeof out, "/tmp/core_helper.%s", argc > 1 ? argv[1] : "none");
	snprintf(tmp, sizeof tmp, "%s.tmp", out);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return 1;
	fprintf(f, "argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		fprintf(f, "argv%d=%s\n", i, argv[i]);
	fprintf(f, "head=");
	for (size_t i = 0; i < have; i++)
		fprintf(f, "%02x", head[i]);
	int envc = 0;
	while (environ && environ[envc])
		envc++;
	struct rlimit rl;
	getrlimit(RLIMIT_CORE, &rl);
	struct stat st;
	int fifo = fstat(0, &st) == 0 && S_ISFIFO(st.st_mode);
	fprintf(f, "\nsize=%lld\nuid=%d\neuid=%d\nppid=%d\nenvc=%d\ncore_limit=%llu\nstdin_fifo=%d\n",
		size, (int)getuid(), (int)geteuid(), (int)getppid(), envc,
		(unsigned long long)rl.rlim_cur, fifo);
	fputs(fd3, f);
	fclose(f);
	rename(tmp, out);
	if (argc > 1 && !strcmp(argv[argc - 1], "slow")) {
		struct timespec ts = {2, 0};
		nanosleep(&ts, NULL);
	}
	return 0;
}
