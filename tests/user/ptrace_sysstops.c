/*
 * ptrace_sysstops: under PTRACE_SYSCALL every system call of the tracee
 * stops it twice, at entry and at exit, in order and with nothing left
 * out; at entry orig_rax is the number, rdi rsi rdx r10 r8 r9 are the
 * arguments and rax is -ENOSYS; at exit rax is the result; at both rip
 * is just past the `syscall` instruction and, as the instruction left
 * them, rcx holds rip and r11 the flags.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <signal.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>

/* The calls the tracee makes, each with six arguments and the result
 * it must get; syscall() itself makes no other call. */
struct call {
	long nr, args[6], result;
};
static struct call calls[] = {
	{ SYS_getppid, { 11, 12, 13, 14, 15, 16 }, 0 },
	{ 500, { 1, 2, 3, 4, 5, 6 }, -ENOSYS },
	{ SYS_close, { -1, 22, 23, 24, 25, 26 }, -EBADF },
	{ SYS_lseek, { -5, 77, 1, 34, 35, 36 }, -EBADF },
	{ SYS_dup, { 999, 42, 43, 44, 45, 46 }, -EBADF },
	{ SYS_exit_group, { 7, 52, 53, 54, 55, 56 }, 0 },
};
#define NCALLS (int)(sizeof calls / sizeof calls[0])

static void tracee(void)
{
	if (pt(PTRACE_TRACEME, 0, 0, 0) != 0)
		_exit(3);
	raise(SIGSTOP);
	for (int i = 0; i < NCALLS; i++) {
		long *a = calls[i].args;
		syscall(calls[i].nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	_exit(9);
}

static int args_are(struct user_regs_struct *r, long *a)
{
	return (long)r->rdi == a[0] && (long)r->rsi == a[1] && (long)r->rdx == a[2] &&
	       (long)r->r10 == a[3] && (long)r->r8 == a[4] && (long)r->r9 == a[5];
}

int main(void)
{
	check_begin("ptrace_sysstops");
	calls[0].result = getpid();
	pid_t pid = fork();
	if (pid == 0)
		tracee();
	int status = wait_for(pid, 0);
	if (status != 0x137f)
		return 1;
	pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	/* Skip the rest of raise() until the first call of ours. */
	int next = -1, entry = 1, in_order = 1, entries = 0, exits = 0;
	int args_ok = 1, enosys_ok = 1, results_ok = 1, rip_ok = 1, rcx_ok = 1, r11_ok = 1;
	unsigned long entry_rip = 0;
	for (int stops = 0; stops < 200; stops++) {
		pt(PTRACE_SYSCALL, pid, 0, 0);
		status = wait_for(pid, 0);
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			break;
		struct user_regs_struct r;
		pt(PTRACE_GETREGS, pid, 0, (long)&r);
		if (next < 0) {
			if (r.orig_rax != calls[0].nr || !args_are(&r, calls[0].args))
				continue;
			next = 0;
		}
		if (next >= NCALLS)
			break;
		struct call *c = &calls[next];
		in_order &= (long)r.orig_rax == c->nr;
		long insn = -1;
		pt(PTRACE_PEEKTEXT, pid, r.rip - 2, (long)&insn);
		rip_ok &= (insn & 0xffff) == 0x050f;
		rcx_ok &= r.rcx == r.rip;
		r11_ok &= (r.r11 & ~0x10000UL) == (r.eflags & ~0x10000UL);
		if (entry) {
			entries++;
			entry_rip = r.rip;
			args_ok &= args_are(&r, c->args);
			enosys_ok &= (long)r.rax == -ENOSYS;
		} else {
			exits++;
			rip_ok &= r.rip == entry_rip;
			results_ok &= (long)r.rax == c->result;
			next++;
		}
		entry = !entry;
	}
	EXPECT_EQ("every_call_stops_at_entry", NCALLS, entries);
	EXPECT_EQ("every_call_but_exit_group_stops_at_exit", NCALLS - 1, exits);
	CHECK("the_stops_name_the_calls_in_order_none_left_out", in_order && next == NCALLS - 1);
	CHECK("at_entry_the_six_arguments_are_in_rdi_rsi_rdx_r10_r8_r9", args_ok);
	CHECK("at_entry_rax_is_minus_enosys", enosys_ok);
	CHECK("at_exit_rax_is_each_calls_result", results_ok);
	CHECK("rip_is_just_past_the_syscall_instruction_at_both_stops", rip_ok);
	CHECK("rcx_holds_the_return_rip", rcx_ok);
	CHECK("r11_holds_the_flags", r11_ok);
	EXPECT_EQ("the_tracee_exits_with_exit_groups_argument", 7 << 8, status);
	return check_end();
}
