/*
 * conform_sig: signal details a program can see. rt_sigreturn never
 * blocks SIGKILL or SIGSTOP, whatever mask the handler left in its
 * ucontext; a divide by zero and an undefined opcode name their kind
 * (FPE_INTDIV, ILL_ILLOPN) and the faulting instruction; exec resets an
 * ignored signal's flags and mask while keeping it ignored; and exec in a
 * child that shares its parent's file table or handler table (CLONE_FILES,
 * CLONE_SIGHAND) first takes a copy, so the parent's close-on-exec
 * descriptors stay open and its handlers stay set.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sched.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

static void add_to_mask(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)info;
	ucontext_t *uc = ctx;
	sigaddset(&uc->uc_sigmask, SIGKILL);
	sigaddset(&uc->uc_sigmask, SIGSTOP);
	sigaddset(&uc->uc_sigmask, SIGUSR2);
}

static void sigreturn_mask(void)
{
	struct sigaction sa = { .sa_sigaction = add_to_mask, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	CHECK("sigreturn_blocks_what_the_handler_added", sigismember(&now, SIGUSR2));
	CHECK("sigreturn_never_blocks_sigkill", !sigismember(&now, SIGKILL));
	CHECK("sigreturn_never_blocks_sigstop", !sigismember(&now, SIGSTOP));
}

static sigjmp_buf back;
static siginfo_t fault;
static unsigned long fault_rip, fault_trapno, fault_err, fault_cr2, fault_uc_flags;

static void on_fault(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	ucontext_t *uc = ctx;
	fault = *info;
	fault_rip = uc->uc_mcontext.gregs[REG_RIP];
	fault_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	fault_err = uc->uc_mcontext.gregs[REG_ERR];
	fault_cr2 = uc->uc_mcontext.gregs[REG_CR2];
	fault_uc_flags = uc->uc_flags;
	siglongjmp(back, 1);
}

static void catch_fault(int sig)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static volatile int zero;

static void fault_codes(void)
{
	catch_fault(SIGFPE);
	catch_fault(SIGILL);
	if (!sigsetjmp(back, 1)) {
		unsigned eax = 1, edx = 0, divisor = zero;
		__asm__ volatile("divl %2" : "+a"(eax), "+d"(edx) : "r"(divisor));
	}
	EXPECT_EQ("a_divide_by_zero_gives_sigfpe", SIGFPE, fault.si_signo);
	EXPECT_EQ("a_divide_by_zero_s_sigcontext_has_trapno_0", 0, fault_trapno);
	/* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS (the host adds UC_FP_XSTATE). */
	EXPECT_EQ("the_ucontext_flags_say_ss_is_saved_and_restored_strictly", 6,
		  fault_uc_flags & 6);
	EXPECT_EQ("a_divide_by_zero_says_fpe_intdiv", FPE_INTDIV, fault.si_code);
	CHECK("a_divide_by_zero_names_the_faulting_instruction",
	      (unsigned long)fault.si_addr == fault_rip && fault_rip != 0);
	memset(&fault, 0, sizeof fault);
	if (!sigsetjmp(back, 1))
		__asm__ volatile("ud2");
	EXPECT_EQ("ud2_gives_sigill", SIGILL, fault.si_signo);
	EXPECT_EQ("ud2_s_sigcontext_has_trapno_6", 6, fault_trapno);
	EXPECT_EQ("ud2_says_ill_illopn", ILL_ILLOPN, fault.si_code);
	CHECK("ud2_names_the_faulting_instruction",
	      (unsigned long)fault.si_addr == fault_rip && fault_rip != 0);
}

static void page_fault_context(void)
{
	catch_fault(SIGSEGV);
	char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	(void)*(volatile char *)page; /* maps it: the write below finds it present */
	if (!sigsetjmp(back, 1))
		*(volatile char *)(page + 8) = 1;
	EXPECT_EQ("a_page_fault_s_sigcontext_has_trapno_14", 14, fault_trapno);
	/* Present, write, user. */
	EXPECT_EQ("a_write_to_a_read_only_page_has_error_code_7", 7, fault_err);
	CHECK("a_page_fault_s_sigcontext_has_the_address_in_cr2", fault_cr2 == (unsigned long)page + 8);
	munmap(page, 4096);
	if (!sigsetjmp(back, 1))
		(void)*(volatile char *)(page + 16);
	/* Not present, read, user. */
	EXPECT_EQ("a_read_of_an_unmapped_page_has_error_code_4", 4, fault_err);
	CHECK("the_second_fault_s_cr2_is_its_address", fault_cr2 == (unsigned long)page + 16);
}

static volatile unsigned long nested_ss_flags = 99;

static void inner(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)info;
	nested_ss_flags = ((ucontext_t *)ctx)->uc_stack.ss_flags;
}

static void outer(int sig)
{
	(void)sig;
	raise(SIGUSR2);
}

static void nested_on_altstack(void)
{
	static char alt[64 * 1024];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_handler = outer, .sa_flags = SA_ONSTACK };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = inner;
	sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR1);
	EXPECT_EQ("a_handler_nested_on_the_alternate_stack_sees_its_flags_as_set", 0,
		  nested_ss_flags);
}

/* Runs this program again as `conform_sig <mode>`; its exit status. */
static int exec_self(const char *mode)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { "conform_sig", (char *)mode, NULL };
		execv("/proc/self/exe", argv);
		_exit(99);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	return status;
}

static void ignored_across_exec(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_RESTART | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaction(SIGHUP, &sa, NULL);
	EXPECT_EQ("exec_keeps_an_ignored_signal_ignored_without_its_flags_or_mask", 0 << 8,
		  exec_self("ignored"));
}

/* After exec: 0 if SIGHUP is ignored with no flags (bar musl's own
 * SA_RESTORER) and an empty mask. */
static int check_ignored(void)
{
	struct sigaction old;
	sigaction(SIGHUP, NULL, &old);
	int flags = old.sa_flags & ~0x04000000;
	return old.sa_handler == SIG_IGN && flags == 0 && !sigismember(&old.sa_mask, SIGINT) ? 0
														  : 1;
}

static char stack[64 * 1024] __attribute__((aligned(16)));

static int exec_quietly(void *arg)
{
	(void)arg;
	char *argv[] = { "conform_sig", "exit", NULL };
	execv("/proc/self/exe", argv);
	return 99;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A child sharing `flags` execs; the parent's state must be untouched. */
static void shared_child_execs(void)
{
	int fd = open("/", O_RDONLY | O_CLOEXEC);
	signal(SIGUSR1, on_usr1);
	pid_t pid = clone(exec_quietly, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_clone_files_child_s_exec_ran", 0, status);
	CHECK("exec_in_a_clone_files_child_leaves_the_parent_s_cloexec_fd_open",
	      fcntl(fd, F_GETFD) == FD_CLOEXEC);
	pid = clone(exec_quietly, stack + sizeof stack, CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_clone_sighand_child_s_exec_ran", 0, status);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	CHECK("exec_in_a_clone_sighand_child_leaves_the_parent_s_handler",
	      now.sa_handler == on_usr1);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ignored") == 0)
		return check_ignored();
	if (argc >= 2 && strcmp(argv[1], "exit") == 0)
		return 0;
	check_begin("conform_sig");
	as_child(sigreturn_mask);
	as_child(fault_codes);
	as_child(page_fault_context);
	as_child(nested_on_altstack);
	as_child(ignored_across_exec);
	as_child(shared_child_execs);
	return check_end();
}
