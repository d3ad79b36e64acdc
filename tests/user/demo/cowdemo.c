/*
 * cowdemo [PAGES]: fork shares the parent's pages read-only; the child
 * writes PAGES of them (default 16 of 64) and the kernel copies each one on
 * its first write. The copies are counted in /proc/vmstat's cow_copy.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include "demo.h"

enum { MAPPED = 64, PAGE = 4096 };

int main(int argc, char **argv)
{
	long writes = arg_or(argc, argv, 16);
	if (writes < 0 || writes > MAPPED) {
		fprintf(stderr, "usage: cowdemo [PAGES], at most %d\n", MAPPED);
		return 2;
	}
	char *buf = mmap(0, MAPPED * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("cowdemo: mmap");
		return 1;
	}
	memset(buf, 1, MAPPED * PAGE);
	pid_t pid = fork();
	if (pid == 0) {
		long before = vmstat("cow_copy");
		for (long i = 0; i < writes; i++)
			buf[i * PAGE] = 2;
		long copied = vmstat("cow_copy") - before;
		printf("cowdemo: fork returned 0 in the child; dup_mm() shared all %d pages read-only (copy_page_range)\n", MAPPED);
		if (before < 0)
			printf("cowdemo: the child wrote %ld pages (this kernel's /proc/vmstat has no cow_copy count)\n", writes);
		else
			printf("cowdemo: the child wrote %ld pages: do_wp_page() copied %ld pages\n", writes, copied);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, 0, 0);
	printf("cowdemo: fork returned %d in the parent, whose pages still hold %d: the copies were the child's\n", pid, buf[0]);
	return 0;
}
