/*
 * race_dethread: a threaded process whose threads, each on its own CPU,
 * fork, create threads, exit and execve at once. The exec comes from a
 * thread that is not the leader, while the leader itself exits: de_thread
 * must stop every other thread, wait for the leader, give the exec'ing
 * thread the leader's pid, and hand it the children the forking thread
 * made. The new program checks its pid and its one thread, reaps every
 * child it inherited, and exits 42; the parent sees only that.
 *
 * The bugs it catches:
 * - de_thread vs fork: a child created after the forking thread was
 *   killed, linked to a dead parent and never reaped (the new program's
 *   wait hangs), or a fork that survives the exec (a second thread).
 * - de_thread vs the leader's exit: the parent reaps the old leader
 *   (status 0) instead of waiting for the exec'ed program, the pid
 *   changes across execve, or de_thread never sees the leader die.
 * - de_thread vs pthread_create: a thread created during the exec that
 *   keeps running in the new program (/proc/self/task has two entries).
 */
#include "race.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>

#define ROUNDS 2000
#define EXEC_OK 42

extern char **environ;

struct shared {
	atomic_int ready, go;
};

static struct shared *sh;
static struct race_tally wrong;
static const char *self;

/* Forks children that exit at once, and never waits for them. It starts
 * at `go`: musl's fork() holds the thread-list lock that pthread_create
 * needs, and a fork loop that starts early can keep the leader from
 * creating the other threads at all (the round hung, on TCG). */
static void *forker(void *arg)
{
	(void)arg;
	race_pin(1);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	for (;;)
		if (fork() == 0)
			_exit(0);
}

static void *nothing(void *arg)
{
	return arg;
}

/* Creates and joins short threads. */
static void *churner(void *arg)
{
	(void)arg;
	race_pin(2);
	atomic_fetch_add(&sh->ready, 1);
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

/* Execs this program again, with the pid it must keep. */
static void *execer(void *arg)
{
	race_pin(3);
	atomic_fetch_add(&sh->ready, 1);
	race_wait_for(&sh->go, 1);
	race_spin((uintptr_t)arg);
	char pid[16];
	snprintf(pid, sizeof pid, "%d", getpid());
	char *argv[] = { (char *)self, "--after-exec", pid, NULL };
	execve(self, argv, environ);
	_exit(50);
}

/* The process of a round: three threads and a leader that exits. */
static void threaded(void)
{
	pthread_t t;
	race_pin(0);
	pthread_create(&t, NULL, forker, NULL);
	pthread_create(&t, NULL, churner, NULL);
	pthread_create(&t, NULL, execer, (void *)(uintptr_t)below(20000));
	race_wait_for(&sh->ready, 3);
	atomic_store(&sh->go, 1);
	race_spin(below(20000));
	/* The leader's clear-child-tid word is musl's thread-list lock: the
	 * kernel zeroes it at a raw exit (as Linux does), which frees the lock
	 * while another thread holds it, and a joiner then unmaps the stack
	 * of a thread still in pthread_exit (SIGSEGV). No clear on exit. */
	syscall(SYS_set_tid_address, NULL);
	syscall(SYS_exit, 0);
}

/* For the report of a child that never became reapable: the /proc/<pid>/stat
 * line of each process whose parent is this one. */
static void show_children(void)
{
	DIR *proc = opendir("/proc");
	for (struct dirent *e; proc && (e = readdir(proc));) {
		char path[300], line[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		char *paren;
		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    read_text(path, line, sizeof line) < 0 || !(paren = strrchr(line, ')')))
			continue;
		if (atoi(paren + 4) == getpid())
			say("race_dethread: left behind: %s", line);
	}
	if (proc)
		closedir(proc);
}

/* For the report of a process that did not end in time: the stat line of
 * each of its threads (the state, and field 39, the CPU). */
static void show_threads(pid_t pid)
{
	char dir_path[64];
	snprintf(dir_path, sizeof dir_path, "/proc/%d/task", pid);
	DIR *dir = opendir(dir_path);
	for (struct dirent *e; dir && (e = readdir(dir));) {
		char path[400], line[512];
		snprintf(path, sizeof path, "%s/%s/stat", dir_path, e->d_name);
		if (e->d_name[0] != '.' && read_text(path, line, sizeof line) > 0)
			say("race_dethread: still there: %s", line);
	}
	if (dir)
		closedir(dir);
}

/* The new program: one thread, the old pid, every inherited child reaped. */
static int after_exec(const char *old_pid)
{
	race_watchdog();
	if (getpid() != atoi(old_pid))
		return 43;
	int threads = 0;
	DIR *dir = opendir("/proc/self/task");
	for (struct dirent *e; dir && (e = readdir(dir));)
		threads += e->d_name[0] != '.';
	if (dir)
		closedir(dir);
	if (threads != 1)
		return 44;
	alarm(5);
	while (waitpid(-1, NULL, 0) > 0)
		;
	if (errno == ECHILD)
		return EXEC_OK;
	show_children();
	return 45;
}

static void one_round(int round)
{
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->go, 0);
	pid_t pid = fork();
	if (pid == 0)
		threaded();
	int status = -1;
	alarm(10);
	pid_t got = waitpid(pid, &status, 0);
	alarm(0);
	if (got != pid) {
		show_threads(pid);
		kill(pid, SIGKILL);
		alarm(10);
		waitpid(pid, &status, 0);
		alarm(0);
	}
	errno = 0;
	int again = waitpid(-1, NULL, WNOHANG);
	if (got != pid || status != EXEC_OK << 8 || again != -1 || race_proc_exists(pid))
		race_note(&wrong, round,
			  "waitpid %d status %#x (43: pid changed, 44: threads left, "
			  "45: a child not reaped, 50: execve failed), then %d",
			  got, status, again);
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 3 && strcmp(argv[1], "--after-exec") == 0)
		return after_exec(argv[2]);
	check_begin("race_dethread");
	race_seed(argc, argv, 1);
	race_watchdog();
	race_pin(0);
	sh = race_shared(sizeof *sh);
	long start = now_ms();
	int rounds = 0;
	while (race_more(rounds, ROUNDS, start))
		one_round(rounds++);
	say("race_dethread: %d rounds in %ld ms\n", rounds, now_ms() - start);
	race_report("exec_from_a_thread_while_others_fork_clone_and_exit_leaves_one_clean_process",
		    &wrong, rounds);
	return check_end();
}
