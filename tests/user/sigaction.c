/*
 * sigaction: user signal handlers run, and the code they interrupt carries
 * on as if nothing happened.
 *
 * The hard case is a signal that arrives asynchronously, while a loop runs
 * without system calls: spin_registers keeps 13 general registers, 16 SSE
 * registers, the carry flag and its red zone (the 128 bytes below %rsp that a
 * leaf function may use without moving %rsp) busy, while a child sends
 * SIGUSR1 and the handler scribbles over every caller-saved register.
 * The kernel must deliver the signal on its way back from the interrupt,
 * build the signal frame below the red zone, and restore everything.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <ucontext.h>

#define CHUNK 100000L
#define SPIN_TIMEOUT_MS 5000

/* ---- the register-heavy loop ---- */

struct spin_result {
	uint64_t gpr[13];      /* rax rbx rdx rsi rbp r8..r15, see gprs_ok */
	uint64_t xmm[15][2];   /* xmm0..14: start at xmm_start[i], + {1, 3} per pass */
	uint64_t red_zone[16]; /* -8(%rsp) .. -128(%rsp) at the end */
	uint64_t passes_left;  /* %rcx, 0 when the loop ran to the end */
};

#define RED_ZONE_MARK 0x5ed20e0000000000ULL

const uint64_t xmm_start[16][2] = {
	{ 0x100, 0x1000 }, { 0x101, 0x1001 }, { 0x102, 0x1002 }, { 0x103, 0x1003 },
	{ 0x104, 0x1004 }, { 0x105, 0x1005 }, { 0x106, 0x1006 }, { 0x107, 0x1007 },
	{ 0x108, 0x1008 }, { 0x109, 0x1009 }, { 0x10a, 0x100a }, { 0x10b, 0x100b },
	{ 0x10c, 0x100c }, { 0x10d, 0x100d }, { 0x10e, 0x100e }, { 1, 3 },
};

void spin_registers(struct spin_result *out, long passes);
extern const char spin_registers_end[];

__asm__(
	".text\n"
	".globl spin_registers\n"
	"spin_registers:\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsi, %rcx\n"
	"	xor %eax, %eax; xor %ebx, %ebx; xor %edx, %edx; xor %esi, %esi; xor %ebp, %ebp\n"
	"	xor %r8d, %r8d; xor %r9d, %r9d; xor %r10d, %r10d; xor %r11d, %r11d\n"
	"	xor %r12d, %r12d; xor %r13d, %r13d; xor %r14d, %r14d; xor %r15d, %r15d\n"
	"	movdqu xmm_start+0(%rip), %xmm0;    movdqu xmm_start+16(%rip), %xmm1\n"
	"	movdqu xmm_start+32(%rip), %xmm2;   movdqu xmm_start+48(%rip), %xmm3\n"
	"	movdqu xmm_start+64(%rip), %xmm4;   movdqu xmm_start+80(%rip), %xmm5\n"
	"	movdqu xmm_start+96(%rip), %xmm6;   movdqu xmm_start+112(%rip), %xmm7\n"
	"	movdqu xmm_start+128(%rip), %xmm8;  movdqu xmm_start+144(%rip), %xmm9\n"
	"	movdqu xmm_start+160(%rip), %xmm10; movdqu xmm_start+176(%rip), %xmm11\n"
	"	movdqu xmm_start+192(%rip), %xmm12; movdqu xmm_start+208(%rip), %xmm13\n"
	"	movdqu xmm_start+224(%rip), %xmm14; movdqu xmm_start+240(%rip), %xmm15\n"
	/* fill the red zone: -8(%rsp) = MARK + 1, ..., -128(%rsp) = MARK + 16 */
	"	movabs $0x5ed20e0000000000, %rax\n"
	"	mov $1, %ebx\n"
	"1:	lea (%rax,%rbx), %rdx\n"
	"	neg %rbx\n"
	"	mov %rdx, (%rsp,%rbx,8)\n"
	"	neg %rbx\n"
	"	inc %rbx\n"
	"	cmp $17, %rbx\n"
	"	jne 1b\n"
	"	xor %eax, %eax; xor %ebx, %ebx; xor %edx, %edx\n"
	"	xor %ebp, %ebp\n"
	"	stc\n" /* CF stays 1: lea, paddq, setc and dec leave it alone */
	"2:	lea 1(%rax), %rax;  lea 2(%rbx), %rbx;  lea 3(%rdx), %rdx;  lea 4(%rsi), %rsi\n"
	"	lea 6(%r8), %r8;    lea 7(%r9), %r9;    lea 8(%r10), %r10;  lea 9(%r11), %r11\n"
	"	lea 10(%r12), %r12; lea 11(%r13), %r13; lea 12(%r14), %r14\n"
	"	setc %bpl\n"
	"	lea (%r15,%rbp), %r15\n"
	"	paddq %xmm15, %xmm0;  paddq %xmm15, %xmm1;  paddq %xmm15, %xmm2\n"
	"	paddq %xmm15, %xmm3;  paddq %xmm15, %xmm4;  paddq %xmm15, %xmm5\n"
	"	paddq %xmm15, %xmm6;  paddq %xmm15, %xmm7;  paddq %xmm15, %xmm8\n"
	"	paddq %xmm15, %xmm9;  paddq %xmm15, %xmm10; paddq %xmm15, %xmm11\n"
	"	paddq %xmm15, %xmm12; paddq %xmm15, %xmm13; paddq %xmm15, %xmm14\n"
	"	dec %rcx\n"
	"	jnz 2b\n"
	"	mov %rax, 0(%rdi);  mov %rbx, 8(%rdi);  mov %rdx, 16(%rdi); mov %rsi, 24(%rdi)\n"
	"	mov %rbp, 32(%rdi); mov %r8, 40(%rdi);  mov %r9, 48(%rdi);  mov %r10, 56(%rdi)\n"
	"	mov %r11, 64(%rdi); mov %r12, 72(%rdi); mov %r13, 80(%rdi); mov %r14, 88(%rdi)\n"
	"	mov %r15, 96(%rdi)\n"
	"	movdqu %xmm0, 104(%rdi);  movdqu %xmm1, 120(%rdi);  movdqu %xmm2, 136(%rdi)\n"
	"	movdqu %xmm3, 152(%rdi);  movdqu %xmm4, 168(%rdi);  movdqu %xmm5, 184(%rdi)\n"
	"	movdqu %xmm6, 200(%rdi);  movdqu %xmm7, 216(%rdi);  movdqu %xmm8, 232(%rdi)\n"
	"	movdqu %xmm9, 248(%rdi);  movdqu %xmm10, 264(%rdi); movdqu %xmm11, 280(%rdi)\n"
	"	movdqu %xmm12, 296(%rdi); movdqu %xmm13, 312(%rdi); movdqu %xmm14, 328(%rdi)\n"
	"	mov $1, %ebx\n"
	"3:	mov %rbx, %rdx\n"
	"	neg %rdx\n"
	"	mov (%rsp,%rdx,8), %rax\n"
	"	mov %rax, 336(%rdi,%rbx,8)\n" /* red_zone[i-1] at 344 + 8 (i-1) */
	"	inc %rbx\n"
	"	cmp $17, %rbx\n"
	"	jne 3b\n"
	"	mov %rcx, 472(%rdi)\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n"
	".globl spin_registers_end\n"
	"spin_registers_end:\n");

_Static_assert(__builtin_offsetof(struct spin_result, xmm) == 104, "asm offsets");
_Static_assert(__builtin_offsetof(struct spin_result, red_zone) == 344, "asm offsets");
_Static_assert(__builtin_offsetof(struct spin_result, passes_left) == 472, "asm offsets");

static int gprs_ok(const struct spin_result *r, long passes)
{
	enum { RBP = 4, R15 = 12 };
	for (int k = 0; k < 13; k++)
		if (k != RBP && k != R15 && r->gpr[k] != (uint64_t)passes * (k + 1))
			return 0;
	/* %rbp holds the carry flag of the last pass, %r15 counts passes with CF=1 */
	return r->gpr[RBP] == 1 && r->gpr[R15] == (uint64_t)passes && r->passes_left == 0;
}

static int xmms_ok(const struct spin_result *r, long passes)
{
	for (int i = 0; i < 15; i++)
		if (r->xmm[i][0] != xmm_start[i][0] + (uint64_t)passes * 1 ||
		    r->xmm[i][1] != xmm_start[i][1] + (uint64_t)passes * 3)
			return 0;
	return 1;
}

static int red_zone_ok(const struct spin_result *r)
{
	for (int i = 0; i < 16; i++)
		if (r->red_zone[i] != RED_ZONE_MARK + i + 1)
			return 0;
	return 1;
}

/* ---- handlers ---- */

static volatile sig_atomic_t usr1_count, usr1_in_spin, usr1_depth, usr1_max_depth;
static volatile sig_atomic_t usr1_resend;
static siginfo_t usr1_info;

static void clobber_caller_saved_registers(void)
{
	__asm__ volatile(
		"mov $-1, %%rax; mov $-1, %%rcx; mov $-1, %%rdx; mov $-1, %%rsi\n"
		"mov $-1, %%rdi; mov $-1, %%r8; mov $-1, %%r9; mov $-1, %%r10; mov $-1, %%r11\n"
		"pcmpeqd %%xmm0, %%xmm0; pcmpeqd %%xmm1, %%xmm1; pcmpeqd %%xmm2, %%xmm2\n"
		"pcmpeqd %%xmm3, %%xmm3; pcmpeqd %%xmm4, %%xmm4; pcmpeqd %%xmm5, %%xmm5\n"
		"pcmpeqd %%xmm6, %%xmm6; pcmpeqd %%xmm7, %%xmm7; pcmpeqd %%xmm8, %%xmm8\n"
		"pcmpeqd %%xmm9, %%xmm9; pcmpeqd %%xmm10, %%xmm10; pcmpeqd %%xmm11, %%xmm11\n"
		"pcmpeqd %%xmm12, %%xmm12; pcmpeqd %%xmm13, %%xmm13; pcmpeqd %%xmm14, %%xmm14\n"
		"pcmpeqd %%xmm15, %%xmm15\n"
		"cmp %%rax, %%rax\n" /* CF=0, ZF=1: flags the interrupted loop must not see */
		:
		:
		: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1",
		  "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
		  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
}

static void on_usr1(int sig, siginfo_t *info, void *ucontext)
{
	ucontext_t *uc = ucontext;
	uintptr_t rip = uc->uc_mcontext.gregs[REG_RIP];
	if (rip >= (uintptr_t)spin_registers && rip < (uintptr_t)spin_registers_end)
		usr1_in_spin++;
	usr1_count++;
	usr1_info = *info;
	if (++usr1_depth > usr1_max_depth)
		usr1_max_depth = usr1_depth;
	if (usr1_resend) {
		usr1_resend = 0;
		kill(getpid(), SIGUSR1); /* blocked while this handler runs */
	}
	usr1_depth--;
	clobber_caller_saved_registers();
}

static volatile sig_atomic_t chld_count;
static siginfo_t chld_info;

static void on_chld(int sig, siginfo_t *info, void *ucontext)
{
	chld_count++;
	chld_info = *info;
}

static int install(int sig, void (*fn)(int, siginfo_t *, void *), struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, old);
}

/* ---- checks ---- */

static void a_handler_runs_for_kill_to_self(void)
{
	usr1_count = 0;
	memset(&usr1_info, 0, sizeof usr1_info);
	int ret = kill(getpid(), SIGUSR1);
	int count_right_after = usr1_count;

	EXPECT_EQ("kill_to_self_succeeds", 0, ret);
	EXPECT_EQ("a_sigusr1_handler_runs_before_kill_to_self_returns", 1, count_right_after);
	EXPECT_EQ("the_handler_gets_the_signal_number", SIGUSR1, usr1_info.si_signo);
	EXPECT_EQ("the_handler_gets_si_code_si_user_for_kill", SI_USER, usr1_info.si_code);
	EXPECT_EQ("the_handler_gets_the_senders_pid", getpid(), usr1_info.si_pid);

	long sum = 0;
	usr1_count = 0;
	for (long i = 0; i < 100; i++) {
		if (i % 10 == 0)
			kill(getpid(), SIGUSR1);
		sum += i;
	}
	EXPECT_EQ("the_interrupted_loop_keeps_its_counter_and_sum", 4950, sum);
	EXPECT_EQ("the_handler_ran_once_per_kill_in_the_loop", 10, usr1_count);

	usr1_count = 0;
	usr1_max_depth = 0;
	usr1_resend = 1;
	kill(getpid(), SIGUSR1);
	EXPECT_EQ("a_signal_sent_from_its_own_handler_is_delivered_after_it_returns", 2, usr1_count);
	EXPECT_EQ("a_handler_is_not_reentered_by_its_own_signal", 1, usr1_max_depth);
}

/* One check over all passes of the register test: ok if `good` of `chunks` survived. */
static void every_pass_survived(const char *name, int good, int chunks, int delivered, int in_spin)
{
	if (good == chunks)
		check_ok(name);
	else
		check_fail(name, "%d of %d passes corrupted (%d signals, %d inside the loop)", chunks - good, chunks,
			   delivered, in_spin);
}

static void a_busy_loop_survives_asynchronous_signals(void)
{
	pid_t parent = getpid();
	pid_t sender = fork();
	if (sender == 0) {
		while (getppid() == parent) {
			kill(parent, SIGUSR1);
			sleep_ms(1);
		}
		_exit(0);
	}
	usr1_count = 0;
	usr1_in_spin = 0;
	int chunks = 0, gpr_good = 0, xmm_good = 0, red_good = 0;
	long deadline = now_ms() + SPIN_TIMEOUT_MS;
	while ((usr1_in_spin < 3 || chunks < 10) && now_ms() < deadline) {
		struct spin_result r;
		memset(&r, 0, sizeof r);
		spin_registers(&r, CHUNK);
		chunks++;
		gpr_good += gprs_ok(&r, CHUNK);
		xmm_good += xmms_ok(&r, CHUNK);
		red_good += red_zone_ok(&r);
	}
	kill(sender, SIGKILL);
	waitpid(sender, NULL, 0);
	int in_spin = usr1_in_spin, delivered = usr1_count;

	CHECK("a_signal_from_another_process_interrupts_a_loop_without_syscalls", in_spin > 0);
	every_pass_survived("general_registers_and_flags_survive_asynchronous_handlers", gpr_good, chunks, delivered, in_spin);
	every_pass_survived("sse_registers_survive_asynchronous_handlers", xmm_good, chunks, delivered, in_spin);
	every_pass_survived("the_red_zone_below_the_stack_pointer_survives_signal_delivery", red_good, chunks, delivered,
			    in_spin);
}

static void blocking_defers_delivery(void)
{
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	usr1_count = 0;

	sigprocmask(SIG_BLOCK, &usr1, &old);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	int while_blocked = usr1_count;
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	int reported_blocked = sigismember(&now, SIGUSR1);
	sigprocmask(SIG_SETMASK, &old, NULL);
	int after_unblock = usr1_count;

	EXPECT_EQ("a_blocked_signal_is_not_delivered", 0, while_blocked);
	EXPECT_EQ("sigprocmask_reports_the_blocked_signal", 1, reported_blocked);
	EXPECT_EQ("an_unblocked_pending_signal_is_delivered_once_before_sigprocmask_returns",
		  1, after_unblock);
}

static void ignore_and_default_actions(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_IGN);
		if (kill(getpid(), SIGTERM) != 0)
			_exit(1);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("sigterm_to_self_is_harmless_when_ignored", 0, status);

	pid = fork();
	if (pid == 0) {
		kill(getpid(), SIGTERM);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK("sigterm_to_self_kills_under_the_default_action",
	      WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

	pid = fork();
	if (pid == 0) {
		usr1_count = 0;
		kill(getpid(), SIGUSR1);
		_exit(usr1_count == 1 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_forked_child_inherits_the_signal_handler", 0, status);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	int ret = sigaction(SIGKILL, &sa, NULL);
	int err = errno;
	EXPECT_ERRNO("sigkill_cannot_be_ignored", EINVAL, ret, err);
}

static void sigchld_handler_runs_when_a_child_exits(void)
{
	struct sigaction old;
	chld_count = 0;
	install(SIGCHLD, on_chld, &old);
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	long deadline = now_ms() + 2000;
	while (chld_count == 0 && now_ms() < deadline)
		sleep_ms(1);
	int status = -1;
	pid_t reaped = waitpid(pid, &status, 0);
	sigaction(SIGCHLD, &old, NULL);

	EXPECT_EQ("a_sigchld_handler_runs_when_a_child_exits", 1, chld_count);
	EXPECT_EQ("sigchld_names_the_child_in_si_pid", pid, chld_info.si_pid);
	EXPECT_EQ("sigchld_reports_cld_exited", CLD_EXITED, chld_info.si_code);
	EXPECT_EQ("sigchld_reports_the_exit_code_in_si_status", 3, chld_info.si_status);
	EXPECT_EQ("the_child_can_still_be_reaped_after_sigchld", pid, reaped);
	EXPECT_EQ("its_status_is_intact", 3 << 8, status);
}

int main(void)
{
	check_begin("sigaction");
	struct sigaction first, previous;
	install(SIGUSR1, on_chld, &first);
	install(SIGUSR1, on_usr1, &previous);
	CHECK("sigaction_returns_the_previous_action", previous.sa_sigaction == on_chld);

	a_handler_runs_for_kill_to_self();
	blocking_defers_delivery();
	ignore_and_default_actions();
	sigchld_handler_runs_when_a_child_exits();
	a_busy_loop_survives_asynchronous_signals();
	return check_end();
}
