/*
 * jobctl_orphan: what happens to a process when a parent goes.
 *
 * A process group with a stopped member that an exit leaves orphaned (no
 * member has a parent in another group of the session) gets SIGHUP then
 * SIGCONT, whether the exit is the member's parent's (reparenting) or a
 * fellow member's; a SIGTSTP to an orphaned group is then dropped.
 * PR_SET_PDEATHSIG: the signal comes when the thread that created the
 * child exits, not when another thread of its process does; fork clears
 * it, execve keeps it, a change of effective user clears it, and so does
 * an exec that runs the program with more privilege than the real user
 * has (AT_SECURE), even with the same effective user.
 */
#define _GNU_SOURCE
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int report_fd;

static void report(char c)
{
	if (write(report_fd, &c, 1) != 1)
		_exit(3);
}

static void on_sighup(int sig) { (void)sig; report('H'); }
static void on_sigcont(int sig) { (void)sig; report('C'); }

/* Reads what the children report until `want` bytes or 3 s of silence. */
static void collect(int fd, char *out, int want)
{
	int n = 0;
	struct pollfd p = { fd, POLLIN, 0 };
	while (n < want && poll(&p, 1, 3000) == 1) {
		if (read(fd, out + n, 1) != 1)
			break;
		n++;
	}
	out[n] = 0;
}

/*
 * The stopped member: in its own group (own_group) or in its parent's
 * new group. It reports R when about to stop, H and C for the two
 * signals, and N when a SIGTSTP to itself did not stop it.
 */
static void stopped_member(void)
{
	struct sigaction sa = { 0 };
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_sighup;
	sigaction(SIGHUP, &sa, 0);
	sa.sa_handler = on_sigcont;
	sigaction(SIGCONT, &sa, 0);
	report('R');
	raise(SIGSTOP);
	raise(SIGTSTP);
	report('N');
	_exit(0);
}

static void orphan_case(const char *name_signals, const char *name_tstp, int own_group)
{
	int fds[2];
	if (pipe(fds) < 0)
		return;
	pid_t middle = fork();
	if (middle == 0) {
		close(fds[0]);
		report_fd = fds[1];
		if (!own_group)
			setpgid(0, 0);
		pid_t member = fork();
		if (member == 0) {
			if (own_group)
				setpgid(0, 0);
			stopped_member();
		}
		int status;
		waitpid(member, &status, WUNTRACED);
		_exit(WIFSTOPPED(status) ? 0 : 1);
	}
	close(fds[1]);
	int status = -1;
	waitpid(middle, &status, 0);
	char got[8];
	collect(fds[0], got, 4);
	close(fds[0]);
	/* Both are pending when the member resumes; Linux runs SIGCONT's
	 * handler first, nested in SIGHUP's frame. */
	int hup_cont = got[0] == 'R' && (strncmp(got + 1, "HC", 2) == 0 || strncmp(got + 1, "CH", 2) == 0);
	if (hup_cont)
		check_ok(name_signals);
	else
		check_fail(name_signals, "expected R, H, C reported, got \"%s\" (middle %#x)", got, status);
	if (hup_cont && got[3] == 'N')
		check_ok(name_tstp);
	else
		check_fail(name_tstp, "expected N after H and C, got \"%s\"", got);
}

/* PR_SET_PDEATHSIG children: each reports its letter when its signal
 * comes, and exits after the last it expects ('1' gets two, '2' one). */
static char death_letter;
static int deaths_left;

static void on_death(int sig)
{
	(void)sig;
	report(death_letter);
	if (--deaths_left == 0)
		_exit(0);
}

static void pdeath_child(int sig, char letter, int ready_fd)
{
	death_letter = letter;
	deaths_left = letter == '1' ? 2 : 1;
	signal(sig, on_death);
	prctl(PR_SET_PDEATHSIG, sig);
	char c = 'r';
	if (write(ready_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static int ready_pipe[2];

/* A thread of the middle process that forks a child and exits. */
static void *forking_thread(void *arg)
{
	(void)arg;
	if (fork() == 0)
		pdeath_child(SIGUSR1, '1', ready_pipe[1]);
	char c;
	if (read(ready_pipe[0], &c, 1) != 1)
		_exit(3);
	return 0;
}

static void check_pdeathsig_thread_vs_process(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		return;
	pid_t middle = fork();
	if (middle == 0) {
		close(fds[0]);
		report_fd = fds[1];
		if (pipe(ready_pipe) < 0)
			_exit(3);
		if (fork() == 0)
			pdeath_child(SIGUSR2, '2', ready_pipe[1]);
		char c;
		if (read(ready_pipe[0], &c, 1) != 1)
			_exit(3);
		pthread_t t;
		pthread_create(&t, 0, forking_thread, 0);
		pthread_join(t, 0);
		sleep_ms(300);
		report('M');
		_exit(0);
	}
	close(fds[1]);
	waitpid(middle, 0, 0);
	/* The first child, now the main thread's, is reparented again when
	 * the process exits, and gets its signal a second time. */
	char got[8];
	collect(fds[0], got, 4);
	close(fds[0]);
	CHECK("pdeathsig_fires_when_the_thread_that_forked_the_child_exits", got[0] == '1');
	if (strcmp(got, "1M12") == 0 || strcmp(got, "1M21") == 0)
		check_ok("not_when_another_thread_of_the_parent_exits_but_when_the_process_does");
	else
		check_fail("not_when_another_thread_of_the_parent_exits_but_when_the_process_does",
			   "expected \"1M\" then 1 and 2, got \"%s\"", got);
}

static void check_pdeathsig_get_set(const char *self)
{
	int sig = -1;
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	prctl(PR_GET_PDEATHSIG, &sig);
	EXPECT_EQ("pr_get_pdeathsig_returns_what_pr_set_pdeathsig_set", SIGUSR1, sig);
	errno = 0;
	EXPECT_ERRNO("pr_set_pdeathsig_rejects_a_number_past_64", EINVAL, prctl(PR_SET_PDEATHSIG, 65), errno);

	pid_t child = fork();
	if (child == 0) {
		int got = -1;
		prctl(PR_GET_PDEATHSIG, &got);
		_exit(got);
	}
	int status = -1;
	waitpid(child, &status, 0);
	EXPECT_EQ("fork_clears_the_childs_pdeathsig", 0, WEXITSTATUS(status));

	/* As a user without capabilities, so the exec gains none (root's
	 * exec may, and that clears it). */
	child = fork();
	if (child == 0) {
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(98);
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		execl(self, self, "--print-pdeathsig", (char *)0);
		_exit(99);
	}
	waitpid(child, &status, 0);
	EXPECT_EQ("execve_keeps_the_pdeathsig", SIGUSR1, WEXITSTATUS(status));

	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(98);
		int got = -1;
		prctl(PR_GET_PDEATHSIG, &got);
		_exit(got);
	}
	waitpid(child, &status, 0);
	EXPECT_EQ("a_change_of_user_clears_the_pdeathsig", 0, WEXITSTATUS(status));

	/* Real user nobody, effective root: the exec is a secure one (the
	 * effective user is not the real one), though no id changes in it. */
	child = fork();
	if (child == 0) {
		if (setresuid(65534, 0, 0) != 0)
			_exit(98);
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		execl(self, self, "--print-pdeathsig", (char *)0);
		_exit(99);
	}
	waitpid(child, &status, 0);
	EXPECT_EQ("a_secure_execve_clears_the_pdeathsig", 0, WEXITSTATUS(status));
	prctl(PR_SET_PDEATHSIG, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--print-pdeathsig") == 0) {
		int sig = -1;
		prctl(PR_GET_PDEATHSIG, &sig);
		return sig;
	}
	check_begin("jobctl_orphan");
	orphan_case("a_stopped_group_orphaned_by_its_parents_exit_gets_sighup_then_sigcont",
		    "then_sigtstp_to_the_orphaned_group_is_dropped", 1);
	orphan_case("a_stopped_group_orphaned_by_a_members_exit_gets_sighup_then_sigcont",
		    "and_there_too_sigtstp_is_dropped", 0);
	check_pdeathsig_thread_vs_process();
	check_pdeathsig_get_set(argv[0]);
	return check_end();
}
