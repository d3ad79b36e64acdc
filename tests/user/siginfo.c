/*
 * siginfo: the siginfo a signal carries says where it came from, with the
 * fields Linux fills for each source:
 *   kill             SI_USER, the sender's pid and uid
 *   tgkill, raise    SI_TKILL, pid and uid
 *   sigqueue         SI_QUEUE, pid, uid and the value
 *   a POSIX timer    SI_TIMER, the timer id, the overrun and the value
 *   alarm, itimers   SI_KERNEL, no pid (the kernel sends them:
 *                    it_real_fn and the CPU itimers use SEND_SIG_PRIV)
 *   SIGPIPE          SI_USER with the writer's own pid (SEND_SIG_NOINFO)
 *   a child's end    CLD_EXITED or CLD_KILLED, its pid, uid and status
 *   a bad access     SIGSEGV with the faulting address: SEGV_MAPERR where
 *                    nothing is mapped, SEGV_ACCERR where the mapping
 *                    forbids the access
 * Each signal but SIGSEGV is blocked and taken with sigtimedwait.
 */
#define _GNU_SOURCE
#include "check.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>

/* Waits up to 5 s for `sig`, blocked by the caller. */
static int take(int sig, siginfo_t *si)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	struct timespec timeout = { 5, 0 };
	memset(si, 0, sizeof *si);
	return sigtimedwait(&set, si, &timeout);
}

static void block(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Checks signo, code, pid and uid of a taken signal. */
static void expect_source(const char *what, int sig, int code, pid_t pid)
{
	siginfo_t si;
	char n[160];
	int got = take(sig, &si);
	snprintf(n, sizeof n, "%s_is_delivered", what);
	EXPECT_EQ(n, sig, got);
	snprintf(n, sizeof n, "%s_has_si_signo_and_si_code", what);
	CHECK(n, si.si_signo == sig && si.si_code == code);
	if (si.si_code != code)
		say("    note: si_code %d, expected %d\n", si.si_code, code);
	snprintf(n, sizeof n, "%s_names_its_sender_s_pid_and_uid", what);
	CHECK(n, si.si_pid == pid && si.si_uid == (pid ? getuid() : 0));
	if (si.si_pid != pid)
		say("    note: si_pid %d, expected %d\n", si.si_pid, pid);
}

static void from_users(void)
{
	block(SIGUSR1);
	kill(getpid(), SIGUSR1);
	expect_source("kill", SIGUSR1, SI_USER, getpid());

	pid_t child = fork();
	if (child == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	expect_source("kill_from_a_child", SIGUSR1, SI_USER, child);
	waitpid(child, NULL, 0);

	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
	expect_source("tgkill", SIGUSR1, SI_TKILL, getpid());
	raise(SIGUSR1);
	expect_source("raise", SIGUSR1, SI_TKILL, getpid());

	sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 42 });
	siginfo_t si;
	CHECK("sigqueue_is_delivered_with_si_queue_and_its_value",
	      take(SIGUSR1, &si) == SIGUSR1 && si.si_code == SI_QUEUE &&
		      si.si_value.sival_int == 42 && si.si_pid == getpid() &&
		      si.si_uid == getuid());
}

static void from_timers(void)
{
	block(SIGALRM);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	expect_source("itimer_real", SIGALRM, SI_KERNEL, 0);
	alarm(1);
	expect_source("alarm", SIGALRM, SI_KERNEL, 0);

	block(SIGPROF);
	setitimer(ITIMER_PROF, &it, NULL);
	long until = now_ms() + 3000;
	sigset_t pending;
	do
		sigpending(&pending);
	while (!sigismember(&pending, SIGPROF) && now_ms() < until);
	expect_source("itimer_prof", SIGPROF, SI_KERNEL, 0);

	block(SIGRTMIN);
	timer_t id;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
	ev.sigev_value.sival_int = 7;
	struct itimerspec ts = { { 0, 0 }, { 0, 20000000 } };
	if (timer_create(CLOCK_MONOTONIC, &ev, &id) != 0)
		return check_fail("timer_create", "%s", strerror(errno));
	timer_settime(id, 0, &ts, NULL);
	siginfo_t si;
	CHECK("a_posix_timer_signal_has_si_timer_its_id_overrun_and_value",
	      take(SIGRTMIN, &si) == SIGRTMIN && si.si_code == SI_TIMER &&
		      si.si_timerid == (int)(long)id && si.si_overrun == 0 &&
		      si.si_value.sival_int == 7);
	timer_delete(id);
}

static void from_the_kernel(void)
{
	block(SIGPIPE);
	int p[2];
	if (pipe(p) != 0)
		return check_fail("pipe", "%s", strerror(errno));
	close(p[0]);
	EXPECT_FAILS("a_write_with_no_reader_is_epipe", EPIPE, write(p[1], "x", 1));
	expect_source("sigpipe", SIGPIPE, SI_USER, getpid());
	close(p[1]);
}

static void from_children(void)
{
	block(SIGCHLD);
	pid_t child = fork();
	if (child == 0)
		_exit(3);
	siginfo_t si;
	CHECK("an_exited_child_s_sigchld_has_cld_exited_its_pid_uid_and_code",
	      take(SIGCHLD, &si) == SIGCHLD && si.si_code == CLD_EXITED && si.si_pid == child &&
		      si.si_uid == getuid() && si.si_status == 3);
	waitpid(child, NULL, 0);

	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	kill(child, SIGKILL);
	CHECK("a_killed_child_s_sigchld_has_cld_killed_and_the_signal",
	      take(SIGCHLD, &si) == SIGCHLD && si.si_code == CLD_KILLED && si.si_pid == child &&
		      si.si_status == SIGKILL);
	waitpid(child, NULL, 0);
}

static sigjmp_buf back;
static volatile int fault_code;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(back, 1);
}

static void from_a_fault(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	volatile char *bad = (char *)0x1234;
	if (sigsetjmp(back, 1) == 0)
		(void)*bad;
	CHECK("a_read_of_an_unmapped_address_is_segv_maperr_at_that_address",
	      fault_code == SEGV_MAPERR && fault_addr == (void *)0x1234);

	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		return check_fail("mmap", "%s", strerror(errno));
	fault_code = 0;
	if (sigsetjmp(back, 1) == 0)
		*(volatile char *)(ro + 8) = 1;
	CHECK("a_write_to_a_read_only_mapping_is_segv_accerr_at_that_address",
	      fault_code == SEGV_ACCERR && fault_addr == ro + 8);
	munmap(ro, 4096);
}

int main(void)
{
	check_begin("siginfo");
	from_users();
	from_timers();
	from_the_kernel();
	from_children();
	from_a_fault();
	return check_end();
}
