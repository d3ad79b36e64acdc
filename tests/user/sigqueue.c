/*
 * sigqueue: pending signals are a queue, as on Linux. Each real-time
 * signal sent while blocked is delivered, in order, with its own value;
 * a standard signal sent twice is delivered once; the lowest pending
 * number goes first; RLIMIT_SIGPENDING caps the queued real-time signals
 * (sigqueue then fails with EAGAIN) but not kill() of a standard signal;
 * ignoring a signal discards its pending instances.
 */
#include "check.h"
#include <sys/resource.h>

static volatile int seen_sig[64], seen_val[64], seen_code[64], nseen;

static void record(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (nseen < 64) {
		seen_sig[nseen] = sig;
		seen_val[nseen] = si->si_value.sival_int;
		seen_code[nseen] = si->si_code;
		nseen++;
	}
}

static void catch(int sig)
{
	/* Every signal blocked in the handler: one runs at a time, in the
	 * order they are taken, instead of nesting. */
	struct sigaction sa = { .sa_sigaction = record, .sa_flags = SA_SIGINFO };
	sigfillset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void block(int sig, int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(how, &set, 0);
}

static int queue(int sig, int value)
{
	union sigval v = { .sival_int = value };
	return sigqueue(getpid(), sig, v);
}

static void five_rt_signals_arrive_in_order_with_their_values(void)
{
	int sig = SIGRTMIN + 1;
	catch(sig);
	block(sig, SIG_BLOCK);
	nseen = 0;
	for (int i = 0; i < 5; i++)
		queue(sig, 100 + i);
	block(sig, SIG_UNBLOCK);
	EXPECT_EQ("five_queued_rt_signals_run_the_handler_five_times", 5, nseen);
	int in_order = nseen == 5;
	for (int i = 0; i < nseen && i < 5; i++)
		in_order &= seen_sig[i] == sig && seen_val[i] == 100 + i && seen_code[i] == SI_QUEUE;
	CHECK("each_rt_signal_carries_its_own_sigqueue_value_in_sending_order", in_order);
}

static void a_standard_signal_sent_twice_is_delivered_once(void)
{
	catch(SIGUSR1);
	block(SIGUSR1, SIG_BLOCK);
	nseen = 0;
	queue(SIGUSR1, 1);
	queue(SIGUSR1, 2);
	kill(getpid(), SIGUSR1);
	block(SIGUSR1, SIG_UNBLOCK);
	EXPECT_EQ("a_standard_signal_sent_three_times_while_blocked_is_delivered_once", 1, nseen);
	EXPECT_EQ("the_first_instance_of_a_standard_signal_keeps_its_siginfo", 1, seen_val[0]);
}

static void the_lowest_pending_signal_goes_first(void)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	int a = SIGRTMIN + 3, b = SIGRTMIN + 1, c = SIGRTMIN + 2;
	catch(a);
	catch(b);
	catch(c);
	nseen = 0;
	queue(a, 1);
	queue(b, 2);
	queue(c, 3);
	queue(b, 4);
	sigprocmask(SIG_SETMASK, &old, 0);
	int ok = nseen == 4 && seen_sig[0] == b && seen_val[0] == 2 && seen_sig[1] == b &&
		 seen_val[1] == 4 && seen_sig[2] == c && seen_sig[3] == a;
	CHECK("rt_signals_are_taken_lowest_number_first_and_each_number_in_order", ok);
	if (!ok)
		say("    seen %d: %d/%d %d/%d %d/%d %d/%d\n", nseen, seen_sig[0], seen_val[0],
		    seen_sig[1], seen_val[1], seen_sig[2], seen_val[2], seen_sig[3], seen_val[3]);
}

static void sigtimedwait_takes_queued_instances_one_by_one(void)
{
	int sig = SIGRTMIN + 4;
	block(sig, SIG_BLOCK);
	queue(sig, 7);
	queue(sig, 8);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigset_t pend;
	sigpending(&pend);
	CHECK("a_queued_rt_signal_shows_in_sigpending", sigismember(&pend, sig));
	struct timespec zero = { 0, 0 };
	siginfo_t si1, si2;
	int r1 = sigtimedwait(&set, &si1, &zero);
	sigpending(&pend);
	int still = sigismember(&pend, sig);
	int r2 = sigtimedwait(&set, &si2, &zero);
	CHECK("sigtimedwait_takes_the_first_instance_then_the_second",
	      r1 == sig && r2 == sig && si1.si_value.sival_int == 7 && si2.si_value.sival_int == 8);
	CHECK("the_number_stays_pending_while_another_instance_is_queued", still);
	sigpending(&pend);
	CHECK("the_number_is_no_longer_pending_once_the_last_instance_is_taken",
	      !sigismember(&pend, sig));
	block(sig, SIG_UNBLOCK);
}

static void ignoring_a_signal_discards_its_queue(void)
{
	int sig = SIGRTMIN + 5;
	catch(sig);
	block(sig, SIG_BLOCK);
	queue(sig, 1);
	queue(sig, 2);
	signal(sig, SIG_IGN);
	sigset_t pend;
	sigpending(&pend);
	CHECK("sig_ign_discards_the_pending_instances_of_a_blocked_signal", !sigismember(&pend, sig));
	catch(sig);
	nseen = 0;
	block(sig, SIG_UNBLOCK);
	EXPECT_EQ("no_discarded_instance_is_delivered_later", 0, nseen);
}

/* In a child, so that the low limit and the full queue die with it. */
static int rlimit_sigpending_child(void)
{
	int sig = SIGRTMIN + 6;
	struct rlimit rl = { 8, 8 };
	if (setrlimit(RLIMIT_SIGPENDING, &rl) != 0)
		return 10;
	catch(sig);
	catch(SIGUSR2);
	block(sig, SIG_BLOCK);
	block(SIGUSR2, SIG_BLOCK);
	int sent = 0;
	while (sent < 100 && queue(sig, sent) == 0)
		sent++;
	int err = errno;
	if (sent == 0 || sent > 8 || err != EAGAIN)
		return 20 + sent;
	if (kill(getpid(), SIGUSR2) != 0)
		return 11;
	sigset_t pend;
	sigpending(&pend);
	if (!sigismember(&pend, SIGUSR2))
		return 12;
	nseen = 0;
	block(sig, SIG_UNBLOCK);
	if (nseen != sent)
		return 13;
	block(SIGUSR2, SIG_UNBLOCK);
	if (nseen != sent + 1 || seen_sig[sent] != SIGUSR2)
		return 14;
	/* The queue drained, so there is room again. */
	return queue(sig, 0) == 0 ? 0 : 15;
}

static void rlimit_sigpending_limits_queued_rt_signals(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(rlimit_sigpending_child());
	int status = 0;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_full_rlimit_sigpending_fails_sigqueue_with_eagain_while_kill_of_sigusr2_still_arrives",
		  0, WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
}

int main(void)
{
	check_begin("sigqueue");
	five_rt_signals_arrive_in_order_with_their_values();
	a_standard_signal_sent_twice_is_delivered_once();
	the_lowest_pending_signal_goes_first();
	sigtimedwait_takes_queued_instances_one_by_one();
	ignoring_a_signal_discards_its_queue();
	rlimit_sigpending_limits_queued_rt_signals();
	return check_end();
}
