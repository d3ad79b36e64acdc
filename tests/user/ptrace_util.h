/*
 * ptrace_util.h: what the ptrace tests share: the raw system call (libc's
 * ptrace() wrapper changes PEEK requests' return convention) and a wait
 * for one tracee's next stop or exit.
 */
#ifndef PTRACE_UTIL_H
#define PTRACE_UTIL_H

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long pt(long req, pid_t pid, long addr, long data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

/* Waits for `pid` (any kind of child, __WALL, plus `flags`) and returns
 * its status, or -1 if the wait failed. */
static int wait_for(pid_t pid, int flags)
{
	int status = -1;
	if (waitpid(pid, &status, __WALL | flags) != pid)
		return -1;
	return status;
}

#endif
