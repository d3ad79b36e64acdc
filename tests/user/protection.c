/*
 * protection: what the CPU's protections and the kernel's checks on the way
 * back to user space turn into, seen from a program. A breakpoint is SIGTRAP,
 * an unaligned access with EFLAGS.AC set is SIGBUS, the descriptor-table
 * instructions do not reveal the kernel's tables under UMIP, and a register
 * state user space chose (a non-canonical return address, a stack pointer
 * that cannot take a signal frame, a bad FS base) ends in SIGSEGV or EPERM,
 * never in a kernel fault.
 *
 * Run it with --cpu max in QEMU (SMAP, SMEP, UMIP offered): the UMIP checks
 * are skipped on a CPU without UMIP.
 */
#define _GNU_SOURCE
#include "check.h"

#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

#define NON_CANONICAL 0x0000800000000000UL
#define KERNEL_HALF 0xffff800000000000UL
#define X86_EFLAGS_AC 0x40000UL
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_GS 0x1004

/* Runs fn in a child and returns its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static int term_signal(int status)
{
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static volatile sig_atomic_t seen_signo, seen_code;
static volatile unsigned long seen_rip, seen_addr;

static void record(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	seen_signo = sig;
	seen_code = si->si_code;
	seen_addr = (unsigned long)si->si_addr;
	seen_rip = uc->uc_mcontext.gregs[REG_RIP];
	/* Let the interrupted code go on without AC (the #AC case). */
	uc->uc_mcontext.gregs[REG_EFL] &= ~X86_EFLAGS_AC;
}

static void catch(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO };
	sigaction(sig, &sa, NULL);
}

static void breakpoints(void)
{
	catch(SIGTRAP, record);
	unsigned long after;
	seen_signo = 0;
	asm volatile("int3\n1: lea 1b(%%rip), %0" : "=r"(after));
	EXPECT_EQ("int3_delivers_sigtrap", SIGTRAP, seen_signo);
	EXPECT_EQ("int3_sigtrap_has_si_code_si_kernel", SI_KERNEL, seen_code);
	EXPECT_EQ("int3_sigtrap_has_no_si_addr", 0, seen_addr);
	CHECK("int3_handler_sees_rip_after_the_breakpoint", seen_rip == after);
	signal(SIGTRAP, SIG_DFL);
}

static void int3_uncaught(void)
{
	asm volatile("int3");
}

static void int_4(void)
{
	asm volatile("int $4");
}

static void into(void)
{
	asm volatile(".byte 0xce"); /* into: no such instruction in 64-bit mode */
}

static int unaligned_load_with_ac(void)
{
	static char buf[16] __attribute__((aligned(16)));
	int value;
	asm volatile("pushf; orl %2, (%%rsp); popf\n"
		     "movl (%1), %0\n"
		     "pushf; andl %3, (%%rsp); popf"
		     : "=r"(value)
		     : "r"(buf + 1), "i"(X86_EFLAGS_AC), "i"(~X86_EFLAGS_AC)
		     : "memory", "cc");
	return value;
}

static void unaligned_uncaught(void)
{
	unaligned_load_with_ac();
}

/* QEMU's emulator (TCG) names itself at CPUID 0x40000000; it does not
 * emulate alignment checks, so EFLAGS.AC has no effect there. */
static int under_tcg(void)
{
	unsigned a, sig[3];
	__cpuid(0x40000000, a, sig[0], sig[1], sig[2]);
	return memcmp(sig, "TCGTCGTCGTCG", 12) == 0;
}

static void alignment_checks(void)
{
	if (under_tcg()) {
		check_skip("unaligned_access_with_eflags_ac_delivers_sigbus", "TCG has no #AC");
		check_skip("alignment_sigbus_has_si_code_bus_adraln", "TCG has no #AC");
		check_skip("uncaught_alignment_fault_kills_with_sigbus", "TCG has no #AC");
		return;
	}
	catch(SIGBUS, record);
	seen_signo = 0;
	unaligned_load_with_ac();
	EXPECT_EQ("unaligned_access_with_eflags_ac_delivers_sigbus", SIGBUS, seen_signo);
	EXPECT_EQ("alignment_sigbus_has_si_code_bus_adraln", BUS_ADRALN, seen_code);
	signal(SIGBUS, SIG_DFL);
	EXPECT_EQ("uncaught_alignment_fault_kills_with_sigbus", SIGBUS,
		  term_signal(in_child(unaligned_uncaught)));
}

static sigjmp_buf umip_escape;

static void umip_fault(int sig)
{
	siglongjmp(umip_escape, sig);
}

/* Runs one protected instruction; returns the signal it raised, or 0. */
static int umip_try(int which, unsigned char table[10])
{
	signal(SIGSEGV, umip_fault);
	int sig = sigsetjmp(umip_escape, 1);
	if (sig == 0) {
		unsigned long reg = 0;
		switch (which) {
		case 0: asm volatile("sgdt %0" : "=m"(*(char(*)[10])table)); break;
		case 1: asm volatile("sidt %0" : "=m"(*(char(*)[10])table)); break;
		case 2: asm volatile("smsw %0" : "=r"(reg)); break;
		case 3: asm volatile("sldt %0" : "=r"(reg)); break;
		case 4: asm volatile("str %0" : "=r"(reg)); break;
		}
	}
	signal(SIGSEGV, SIG_DFL);
	return sig;
}

static int cpu_has_umip(void)
{
	unsigned a, b, c, d;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 2));
}

static void umip(void)
{
	static const char *const names[] = {
		"sgdt_does_not_reveal_the_gdt_under_umip",
		"sidt_does_not_reveal_the_idt_under_umip",
		"smsw_faults_under_umip",
		"sldt_faults_under_umip",
		"str_faults_under_umip",
	};
	/* Linux emulates them with dummy values: these bases, limit 0. */
	static const uint64_t dummy_base[] = { 0xfffffffffffe0000UL, 0xffffffffffff0000UL };
	for (int i = 0; i < 5; i++) {
		unsigned char table[10] = { 0 };
		if (!cpu_has_umip()) {
			check_skip(names[i], "the CPU has no UMIP");
			continue;
		}
		int sig = umip_try(i, table);
		if (on_lifecycle()) {
			EXPECT_EQ(names[i], SIGSEGV, sig);
		} else if (i < 2) {
			uint64_t base;
			memcpy(&base, table + 2, 8);
			CHECK(names[i], sig == SIGSEGV || base == dummy_base[i]);
		} else {
			check_skip(names[i], "Linux emulates it with a dummy value");
		}
	}
}

static void to_non_canonical(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	(void)sig, (void)si;
	uc->uc_mcontext.gregs[REG_RIP] = NON_CANONICAL;
}

static void sigreturn_to_non_canonical(void)
{
	catch(SIGUSR1, to_non_canonical);
	raise(SIGUSR1);
}

static void handler_at(unsigned long address)
{
	struct sigaction sa = { .sa_handler = (void (*)(int))address };
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
}

static void handler_non_canonical(void)
{
	handler_at(NON_CANONICAL);
}

static void handler_in_kernel_half(void)
{
	handler_at(KERNEL_HALF);
}

static void segv_handler_non_canonical(void)
{
	struct sigaction sa = { .sa_handler = (void (*)(int))NON_CANONICAL };
	sigaction(SIGSEGV, &sa, NULL);
	handler_non_canonical();
}

static void ignore(int sig)
{
	(void)sig;
}

/* Sends itself SIGUSR1, with a handler, from a system call made with rsp. */
static void signal_with_rsp(unsigned long rsp)
{
	signal(SIGUSR1, ignore);
	long ret;
	asm volatile("mov %%rsp, %%r12\n"
		     "mov %4, %%rsp\n"
		     "syscall\n"
		     "mov %%r12, %%rsp"
		     : "=a"(ret)
		     : "a"(SYS_kill), "D"(getpid()), "S"(SIGUSR1), "r"(rsp)
		     : "rcx", "r11", "r12", "memory");
}

static void rsp_near_zero(void)
{
	signal_with_rsp(0x100);
}

static void rsp_in_kernel_half(void)
{
	signal_with_rsp(KERNEL_HALF + 0x1000);
}

static void rsp_non_canonical(void)
{
	signal_with_rsp(NON_CANONICAL + 0x1000);
}

static void user_chosen_return_state(void)
{
	EXPECT_EQ("rt_sigreturn_to_a_non_canonical_rip_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(sigreturn_to_non_canonical)));
	EXPECT_EQ("handler_at_a_non_canonical_address_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(handler_non_canonical)));
	EXPECT_EQ("handler_in_the_kernel_half_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(handler_in_kernel_half)));
	EXPECT_EQ("non_canonical_sigsegv_handler_still_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(segv_handler_non_canonical)));
	EXPECT_EQ("signal_frame_below_rsp_0x100_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(rsp_near_zero)));
	EXPECT_EQ("signal_frame_at_a_kernel_half_rsp_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(rsp_in_kernel_half)));
	EXPECT_EQ("signal_frame_at_a_non_canonical_rsp_kills_with_sigsegv", SIGSEGV,
		  term_signal(in_child(rsp_non_canonical)));
}

static void gs_base(void)
{
	static unsigned long word = 0x1234abcd;
	unsigned long through_gs = 0, base = 0;
	long set = syscall(SYS_arch_prctl, ARCH_SET_GS, &word);
	asm volatile("mov %%gs:0, %0" : "=r"(through_gs));
	syscall(SYS_arch_prctl, ARCH_GET_GS, &base);
	syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL);
	CHECK("arch_prctl_set_gs_points_gs_at_the_address",
	      set == 0 && through_gs == word && base == (unsigned long)&word);
	errno = 0;
	long ret = syscall(SYS_arch_prctl, ARCH_SET_GS, NON_CANONICAL);
	EXPECT_ERRNO("arch_prctl_set_gs_non_canonical_fails_with_eperm", EPERM, ret, errno);
}

static void fs_base(void)
{
	errno = 0;
	long ret = syscall(SYS_arch_prctl, ARCH_SET_FS, NON_CANONICAL);
	EXPECT_ERRNO("arch_prctl_set_fs_non_canonical_fails_with_eperm", EPERM, ret, errno);
	errno = 0;
	ret = syscall(SYS_arch_prctl, ARCH_SET_FS, KERNEL_HALF);
	EXPECT_ERRNO("arch_prctl_set_fs_in_the_kernel_half_fails_with_eperm", EPERM, ret, errno);
}

int main(void)
{
	check_begin("protection");
	breakpoints();
	EXPECT_EQ("uncaught_int3_kills_with_sigtrap", SIGTRAP,
		  term_signal(in_child(int3_uncaught)));
	EXPECT_EQ("int_4_raises_the_overflow_trap_as_sigsegv", SIGSEGV,
		  term_signal(in_child(int_4)));
	EXPECT_EQ("into_is_an_invalid_opcode_in_64_bit_mode", SIGILL,
		  term_signal(in_child(into)));
	alignment_checks();
	umip();
	user_chosen_return_state();
	fs_base();
	gs_base();
	return check_end();
}
