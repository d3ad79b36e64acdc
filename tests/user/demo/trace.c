/*
 * trace CMD ARGS...: runs CMD under ptrace and prints the lifecycle system
 * calls of CMD and of every process and thread it creates: clone, clone3,
 * fork, vfork, execve, exit, exit_group, wait4, waitid, kill, tkill and
 * tgkill, each with the caller's pid and the result, and how each process
 * ended. A small strace, built on what the kernel's ptrace offers:
 *
 *   PTRACE_TRACEME + exec    the command starts traced (ptrace_traceme)
 *   PTRACE_O_TRACEFORK/VFORK/CLONE   every new child is traced too, and
 *                            starts with a SIGSTOP (ptrace_init_task)
 *   PTRACE_O_TRACESYSGOOD    syscall stops report SIGTRAP | 0x80
 *   PTRACE_SYSCALL           stop at each system call's entry and exit
 *   PTRACE_GETREGS           orig_rax = the call, rdi.. = its arguments,
 *                            rax = its result at the exit stop
 *   PTRACE_PEEKDATA          read execve's path and arguments
 *   PTRACE_O_EXITKILL        if trace dies, so does what it traces
 *
 * Try: trace sh -c 'ls | wc -l'
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRACEES 256

/* What we know of one traced task. */
struct tracee {
	pid_t pid;
	int in_syscall;           /* between its entry and exit stops */
	int started;              /* its first SIGSTOP has been seen */
	unsigned long long nr, args[6];
	char text[200];           /* what execve's entry read */
};

static struct tracee tracees[MAX_TRACEES];
static int live;

static struct tracee *find(pid_t pid)
{
	struct tracee *free_slot = NULL;
	for (int i = 0; i < MAX_TRACEES; i++) {
		if (tracees[i].pid == pid)
			return &tracees[i];
		if (!tracees[i].pid && !free_slot)
			free_slot = &tracees[i];
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof *free_slot);
		free_slot->pid = pid;
		live++;
	}
	return free_slot;
}

static void forget(pid_t pid)
{
	for (int i = 0; i < MAX_TRACEES; i++)
		if (tracees[i].pid == pid) {
			tracees[i].pid = 0;
			live--;
		}
}

/* One line to stderr in one write, so lines of traced programs and ours
 * never mix inside a line. */
static void out(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 1)
		n = sizeof line - 1;
	if (n > 0)
		write(2, line, n);
}

/* A signal's name, SIGCHLD rather than strsignal's "Child process status". */
static const char *signame(int sig)
{
	static const char *names[] = {
		"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
		"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
		"SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
		"SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
		"SIGIO", "SIGPWR", "SIGSYS",
	};
	static char buf[16];
	if (sig >= 0 && sig < (int)(sizeof names / sizeof names[0]))
		return names[sig];
	snprintf(buf, sizeof buf, "SIG%d", sig);
	return buf;
}

static const char *name_of(unsigned long long nr)
{
	switch (nr) {
	case SYS_clone: return "clone";
	case SYS_fork: return "fork";
	case SYS_vfork: return "vfork";
	case SYS_execve: return "execve";
	case SYS_exit: return "exit";
	case SYS_wait4: return "wait4";
	case SYS_kill: return "kill";
	case SYS_tkill: return "tkill";
	case SYS_tgkill: return "tgkill";
	case SYS_exit_group: return "exit_group";
	case SYS_waitid: return "waitid";
	case 435: return "clone3";
	default: return NULL;
	}
}

/* Reads a NUL-terminated string of the tracee at `addr` (PEEKDATA, a
 * word at a time) into buf; returns its length. */
static size_t peek_string(pid_t pid, unsigned long long addr, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, pid, (void *)(addr + n), 0);
		if (errno)
			break;
		for (size_t i = 0; i < sizeof word && n + 1 < size; i++, n++) {
			buf[n] = (char)(word >> (8 * i));
			if (!buf[n])
				return n;
		}
	}
	buf[n] = 0;
	return n;
}

/* execve's path and first arguments, read at its entry: after a
 * successful exec the old memory is gone. */
static void read_exec_args(struct tracee *t)
{
	char *p = t->text, *end = t->text + sizeof t->text;
	p += snprintf(p, end - p, "\"");
	p += peek_string(t->pid, t->args[0], p, end - p - 8);
	p += snprintf(p, end - p, "\", [");
	for (int i = 0; i < 4 && p < end - 16; i++) {
		errno = 0;
		long arg = ptrace(PTRACE_PEEKDATA, t->pid, (void *)(t->args[1] + 8 * i), 0);
		if (errno || !arg)
			break;
		p += snprintf(p, end - p, "%s\"", i ? ", " : "");
		p += peek_string(t->pid, arg, p, end - p - 8);
		p += snprintf(p, end - p, "\"");
	}
	snprintf(p, end - p, "]");
}

/* The arguments of a lifecycle call, as text. */
static void describe(struct tracee *t, char *buf, size_t size)
{
	unsigned long long *a = t->args;
	switch (t->nr) {
	case SYS_clone:
		snprintf(buf, size, "flags=%#llx", a[0]);
		break;
	case 435: {
		errno = 0;
		long flags = ptrace(PTRACE_PEEKDATA, t->pid, (void *)a[0], 0);
		snprintf(buf, size, "{flags=%#lx}", errno ? 0 : flags);
		break;
	}
	case SYS_execve:
		snprintf(buf, size, "%s", t->text);
		break;
	case SYS_exit:
	case SYS_exit_group:
		snprintf(buf, size, "%d", (int)a[0]);
		break;
	case SYS_wait4:
		snprintf(buf, size, "%d, %s, %#llx", (int)a[0], a[1] ? "&status" : "NULL", a[2]);
		break;
	case SYS_waitid:
		snprintf(buf, size, "%d, %d, &info, %#llx", (int)a[0], (int)a[1], a[3]);
		break;
	case SYS_kill:
	case SYS_tkill:
		snprintf(buf, size, "%d, %s", (int)a[0], signame((int)a[1]));
		break;
	case SYS_tgkill:
		snprintf(buf, size, "%d, %d, %s", (int)a[0], (int)a[1], signame((int)a[2]));
		break;
	default:
		buf[0] = 0;
	}
}

/* wait4's status word, decoded as the W* macros do. */
static void describe_status(pid_t pid, unsigned long long addr, char *buf, size_t size)
{
	errno = 0;
	long word = ptrace(PTRACE_PEEKDATA, pid, (void *)addr, 0);
	int status = (int)word;
	if (errno)
		snprintf(buf, size, "?");
	else if (WIFEXITED(status))
		snprintf(buf, size, " [exited with %d]", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, " [killed by %s]", signame(WTERMSIG(status)));
	else
		snprintf(buf, size, " [status %#x]", status);
}

/* A syscall stop: remember the entry, print a lifecycle call at its exit
 * (exit and exit_group at their entry: they have no exit). */
static void syscall_stop(struct tracee *t)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->pid, 0, &r) < 0)
		return;
	char args[256], extra[64] = "";
	if (!t->in_syscall) {
		t->in_syscall = 1;
		t->nr = r.orig_rax;
		unsigned long long a[6] = { r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 };
		memcpy(t->args, a, sizeof a);
		if (t->nr == SYS_execve)
			read_exec_args(t);
		if ((t->nr == SYS_exit || t->nr == SYS_exit_group)) {
			describe(t, args, sizeof args);
			out("[%d] %s(%s) = ?\n", t->pid, name_of(t->nr), args);
		}
		return;
	}
	t->in_syscall = 0;
	const char *name = name_of(t->nr);
	if (!name || t->nr == SYS_exit || t->nr == SYS_exit_group)
		return;
	describe(t, args, sizeof args);
	long ret = (long)r.rax;
	if (ret < 0 && ret > -4096) {
		out("[%d] %s(%s) = -1 (%s)\n", t->pid, name, args, strerror((int)-ret));
		return;
	}
	if (t->nr == SYS_wait4 && ret > 0 && t->args[1])
		describe_status(t->pid, t->args[1], extra, sizeof extra);
	out("[%d] %s(%s) = %ld%s\n", t->pid, name, args, ret, extra);
}

/* One stop of a tracee: returns the signal to resume it with. */
static int on_stop(struct tracee *t, int status)
{
	int sig = WSTOPSIG(status), event = status >> 16;
	if (sig == (SIGTRAP | 0x80)) {
		syscall_stop(t);
		return 0;
	}
	if (event == PTRACE_EVENT_EXEC) {
		/* The exec replaced the program: its syscall-exit stop follows. */
		return 0;
	}
	if (event) {
		unsigned long child = 0;
		ptrace(PTRACE_GETEVENTMSG, t->pid, 0, &child);
		find((pid_t)child);
		return 0;
	}
	if (sig == SIGSTOP && !t->started) {
		t->started = 1;
		return 0;
	}
	out("[%d] --- %s ---\n", t->pid, signame(sig));
	return sig;
}

/* The tracer's loop: wait for any tracee, act on its stop, resume it. */
static int trace_loop(pid_t first)
{
	int first_status = 0;
	while (live > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		struct tracee *t = find(pid);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (WIFEXITED(status))
				out("[%d] +++ exited with %d +++\n", pid, WEXITSTATUS(status));
			else
				out("[%d] +++ killed by %s +++\n", pid, signame(WTERMSIG(status)));
			if (pid == first)
				first_status = status;
			forget(pid);
			continue;
		}
		if (!t)
			continue;
		int sig = on_stop(t, status);
		ptrace(PTRACE_SYSCALL, pid, 0, (void *)(long)sig);
	}
	return WIFEXITED(first_status) ? WEXITSTATUS(first_status) : 128 + WTERMSIG(first_status);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: trace CMD ARGS...\n");
		return 2;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("trace: fork");
		return 1;
	}
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "trace: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	int status;
	waitpid(child, &status, 0);
	if (!WIFSTOPPED(status)) {
		fprintf(stderr, "trace: the child did not stop (status %#x)\n", status);
		return 1;
	}
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
	if (ptrace(PTRACE_SETOPTIONS, child, 0, (void *)opts) < 0) {
		perror("trace: PTRACE_SETOPTIONS");
		return 1;
	}
	find(child)->started = 1;
	ptrace(PTRACE_SYSCALL, child, 0, 0);
	return trace_loop(child);
}
