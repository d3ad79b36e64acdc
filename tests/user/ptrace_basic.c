/*
 * ptrace_basic: one tracer and one tracee. PTRACE_TRACEME and exec, the
 * syscall stops with their registers, PEEKDATA/POKEDATA, a signal the
 * tracer drops or replaces, a single step, and the errors: ESRCH for a
 * task that is not our stopped tracee, EPERM for one we may not trace,
 * EIO for a bad request.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <elf.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

/* A child that asks to be traced and stops itself with SIGSTOP, then
 * runs `fn`; returns its pid once it is stopped. */
static pid_t traced_child(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(fn());
	}
	int status = wait_for(pid, 0);
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP)
		say("    note: first stop of %d was %#x\n", pid, status);
	return pid;
}

static void traceme_and_exec(const char *self)
{
	pid_t pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		execl(self, self, "exit", "7", (char *)NULL);
		_exit(99);
	}
	int status = wait_for(pid, 0);
	CHECK("exec_of_a_tracee_stops_it_with_sigtrap",
	      WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	EXPECT_EQ("proc_status_names_the_tracer_in_tracerpid", getpid(),
		  proc_number(path, "TracerPid:"));
	EXPECT_EQ("proc_status_shows_the_tracee_in_tracing_stop", 't', proc_state(pid));
	pt(PTRACE_CONT, pid, 0, 0);
	CHECK("the_tracee_runs_the_new_program_after_cont", exited_with(wait_for(pid, 0), 7));
}

static int getppid_twice(void)
{
	long r = syscall(SYS_getppid);
	return r == 4242 ? 42 : 1;
}

static void syscall_stops(void)
{
	pid_t pid = traced_child(getppid_twice);
	pt(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	int sysgood = 1, entry_ok = 0, exit_ok = 0, peek_ok = 0, regset_ok = 0, info_ok = 0;
	for (int stops = 0; stops < 40; stops++) {
		pt(PTRACE_SYSCALL, pid, 0, 0);
		int status = wait_for(pid, 0);
		if (!WIFSTOPPED(status))
			break;
		sysgood &= WSTOPSIG(status) == (SIGTRAP | 0x80);
		struct user_regs_struct r;
		pt(PTRACE_GETREGS, pid, 0, (long)&r);
		if (r.orig_rax != SYS_getppid)
			continue;
		if (!entry_ok) {
			entry_ok = (long)r.rax == -ENOSYS;
			long word = -1;
			pt(PTRACE_PEEKUSER, pid, offsetof(struct user_regs_struct, orig_rax), (long)&word);
			peek_ok = word == SYS_getppid;
			struct user_regs_struct rs;
			struct iovec iov = { &rs, sizeof rs };
			pt(PTRACE_GETREGSET, pid, NT_PRSTATUS, (long)&iov);
			regset_ok = iov.iov_len == sizeof rs && rs.orig_rax == SYS_getppid && rs.rip == r.rip;
			siginfo_t si;
			pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
			info_ok = si.si_signo == SIGTRAP && si.si_code == (SIGTRAP | 0x80);
			continue;
		}
		exit_ok = (long)r.rax == getpid();
		r.rax = 4242;
		pt(PTRACE_SETREGS, pid, 0, (long)&r);
		break;
	}
	CHECK("syscall_stops_report_sigtrap_or_0x80_under_tracesysgood", sysgood);
	CHECK("at_syscall_entry_orig_rax_is_the_number_and_rax_is_minus_enosys", entry_ok);
	CHECK("peekuser_at_the_orig_rax_offset_reads_the_syscall_number", peek_ok);
	CHECK("getregset_nt_prstatus_fills_a_whole_user_regs_struct", regset_ok);
	CHECK("getsiginfo_at_a_syscall_stop_has_sigtrap_and_its_code", info_ok);
	CHECK("at_syscall_exit_rax_is_the_result", exit_ok);
	pt(PTRACE_CONT, pid, 0, 0);
	CHECK("setregs_at_syscall_exit_changes_what_the_call_returns",
	      exited_with(wait_for(pid, 0), 42));
}

static volatile long secret = 1;

static int secret_is_99(void)
{
	return secret == 99 ? 0 : 1;
}

static void peek_and_poke(void)
{
	pid_t pid = traced_child(secret_is_99);
	long word = 0;
	pt(PTRACE_PEEKDATA, pid, (long)&secret, (long)&word);
	EXPECT_EQ("peekdata_reads_the_tracees_variable", 1, word);
	long got = 0;
	struct iovec local = { &got, sizeof got }, remote = { (void *)&secret, sizeof secret };
	long n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	CHECK("process_vm_readv_reads_the_same_word", n == sizeof got && got == 1);
	EXPECT_FAILS("process_vm_readv_with_flags_is_einval", EINVAL,
		     process_vm_readv(pid, &local, 1, &remote, 1, 1));
	EXPECT_EQ("pokedata_writes_the_tracees_variable", 0,
		  pt(PTRACE_POKEDATA, pid, (long)&secret, 99));
	EXPECT_FAILS("peekdata_at_an_unmapped_address_is_eio", EIO,
		     pt(PTRACE_PEEKDATA, pid, 8, (long)&word));
	EXPECT_EQ("pokedata_leaves_the_tracers_own_copy_alone", 1, secret);
	pt(PTRACE_CONT, pid, 0, 0);
	CHECK("the_tracee_sees_the_poked_value", exited_with(wait_for(pid, 0), 0));
}

static volatile int usr1, usr2;

static void count(int sig)
{
	if (sig == SIGUSR1)
		usr1++;
	else
		usr2++;
}

static int raise_usr1_twice(void)
{
	signal(SIGUSR1, count);
	signal(SIGUSR2, count);
	raise(SIGUSR1);
	raise(SIGUSR1);
	return usr1 * 10 + usr2;
}

static void signal_stops(void)
{
	pid_t pid = traced_child(raise_usr1_twice);
	pt(PTRACE_CONT, pid, 0, 0);
	int status = wait_for(pid, 0);
	CHECK("the_tracer_sees_a_signal_before_the_tracee_does",
	      WIFSTOPPED(status) && WSTOPSIG(status) == SIGUSR1);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
	CHECK("getsiginfo_at_a_signal_stop_has_the_signal_and_sender",
	      si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == pid);
	pt(PTRACE_CONT, pid, 0, 0);
	status = wait_for(pid, 0);
	pt(PTRACE_CONT, pid, 0, SIGUSR2);
	status = wait_for(pid, 0);
	CHECK("cont_with_0_drops_the_signal_and_cont_with_another_replaces_it",
	      exited_with(status, 1));
}

static int spin_a_little(void)
{
	for (volatile int i = 0; i < 1000; i++)
		;
	return 5;
}

static void single_step(void)
{
	pid_t pid = traced_child(spin_a_little);
	struct user_regs_struct before, after;
	pt(PTRACE_GETREGS, pid, 0, (long)&before);
	pt(PTRACE_SINGLESTEP, pid, 0, 0);
	int status = wait_for(pid, 0);
	CHECK("singlestep_stops_with_sigtrap", WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
	pt(PTRACE_GETREGS, pid, 0, (long)&after);
	CHECK("the_step_trap_is_trap_trace_and_the_tracee_moved_on",
	      si.si_code == 2 /* TRAP_TRACE */ && after.rip != before.rip);
	struct user_fpregs_struct fp;
	EXPECT_EQ("getfpregs_succeeds_on_a_stopped_tracee", 0,
		  pt(PTRACE_GETFPREGS, pid, 0, (long)&fp));
	EXPECT_EQ("getfpregs_shows_the_default_mxcsr", 0x1f80, fp.mxcsr & 0xffff);
	pt(PTRACE_CONT, pid, 0, 0);
	CHECK("cont_after_a_step_runs_to_the_end", exited_with(wait_for(pid, 0), 5));
}

static int pause_forever(void)
{
	for (;;)
		pause();
	return 0;
}

static void attach_to_parent_as_nobody(void)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(3);
	errno = 0;
	long r = pt(PTRACE_ATTACH, getppid(), 0, 0);
	EXPECT_ERRNO("attaching_to_another_users_process_is_eperm", EPERM, r, errno);
}

static void errors(void)
{
	EXPECT_FAILS("a_request_for_a_process_that_is_not_our_tracee_is_esrch", ESRCH,
		     pt(PTRACE_CONT, getppid(), 0, 0));
	EXPECT_FAILS("attaching_to_our_own_process_is_eperm", EPERM,
		     pt(PTRACE_ATTACH, getpid(), 0, 0));
	pid_t pid = traced_child(pause_forever);
	EXPECT_FAILS("attaching_to_a_traced_process_is_eperm", EPERM,
		     pt(PTRACE_ATTACH, pid, 0, 0));
	EXPECT_FAILS("an_unknown_request_is_eio", EIO, pt(0x1234, pid, 0, 0));
	EXPECT_FAILS("cont_with_an_invalid_signal_is_eio", EIO, pt(PTRACE_CONT, pid, 0, 100));
	EXPECT_FAILS("setoptions_with_an_unknown_bit_is_einval", EINVAL,
		     pt(PTRACE_SETOPTIONS, pid, 0, 1L << 30));
	pt(PTRACE_CONT, pid, 0, 0);
	struct user_regs_struct r;
	EXPECT_FAILS("getregs_on_a_running_tracee_is_esrch", ESRCH,
		     pt(PTRACE_GETREGS, pid, 0, (long)&r));
	kill(pid, SIGKILL);
	CHECK("a_killed_tracee_is_reaped_by_its_tracer", killed_by(wait_for(pid, 0), SIGKILL));
	as_child(attach_to_parent_as_nobody);
	pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		errno = 0;
		long r = pt(PTRACE_TRACEME, 0, 0, 0);
		_exit(r == -1 && errno == EPERM ? 0 : 1);
	}
	CHECK("traceme_when_already_traced_is_eperm", exited_with(wait_for(pid, 0), 0));
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	check_begin("ptrace_basic");
	traceme_and_exec(argv[0]);
	syscall_stops();
	peek_and_poke();
	signal_stops();
	single_step();
	errors();
	return check_end();
}
