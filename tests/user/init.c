/*
 * init: a minimal pid 1 that runs test programs one after another.
 *
 *     init=/bin/init fork_basic cow sys_fuzz:7:100 ...   (kernel command line)
 *
 * For each name it runs <dir>/<name>, where <dir> is the directory init
 * itself was started from (/bin in the initramfs); a name with colons
 * passes the words after them as arguments (sys_fuzz:7:100 runs
 * `sys_fuzz 7 100`, since the command line splits at spaces). It waits
 * for each program while
 * reaping any orphan it adopts on the way. Then it collects stragglers for
 * up to 2 s, prints a summary and powers the machine off: the harness
 * judges the run by the printed lines, not by the exit status.
 *
 * Run as anything but pid 1 (on a development host, say), it does the same
 * but exits instead of powering off.
 */
#include "check.h"

#include <signal.h>
#include <sys/reboot.h>
#include <sys/wait.h>

#define STRAGGLER_TIMEOUT_MS 2000

/* Children init reaped while waiting for something else: adopted orphans. */
static struct {
	pid_t pid;
	int status;
} orphans[16];
static int orphans_reaped;

static void remember_orphan(pid_t pid, int status)
{
	if (orphans_reaped < (int)(sizeof orphans / sizeof orphans[0])) {
		orphans[orphans_reaped].pid = pid;
		orphans[orphans_reaped].status = status;
	}
	orphans_reaped++;
}

static void report_orphans(void)
{
	char line[400];
	int len = snprintf(line, sizeof line, "user: reaped %d orphans:", orphans_reaped);
	for (int i = 0; i < orphans_reaped && i < (int)(sizeof orphans / sizeof orphans[0]); i++)
		if (len < (int)sizeof line)
			len += snprintf(line + len, sizeof line - len, " pid %d status %#x;",
					orphans[i].pid, orphans[i].status);
	say("%s\n", line);
}

/* Waits for `pid`, reaping every other child that exits first. */
static int wait_for(pid_t pid)
{
	for (;;) {
		int status;
		pid_t got = wait4(-1, &status, 0, NULL);
		if (got == pid)
			return status;
		if (got > 0) {
			remember_orphan(got, status);
			continue;
		}
		if (errno != EINTR) {
			say("user: wait4 failed while waiting for pid %d: %s\n", pid, strerror(errno));
			return -1;
		}
	}
}

/* Runs one program, `name` or `name:arg:arg...`; returns 1 if it exited
 * with status 0. */
static int run(const char *dir, char *spec, char **envp)
{
	char *argv[16], path[256];
	int argc = 0;
	for (char *word = strtok(spec, ":"); word && argc < 15; word = strtok(NULL, ":"))
		argv[argc++] = word;
	argv[argc] = NULL;
	const char *name = argc > 0 ? argv[0] : "";
	snprintf(path, sizeof path, "%s/%s", dir, name);
	argv[0] = path;
	pid_t pid = fork();
	if (pid < 0) {
		say("user: %s: fork failed: %s\n", name, strerror(errno));
		return 0;
	}
	if (pid == 0) {
		execve(path, argv, envp);
		say("user: %s: execve failed: %s\n", path, strerror(errno));
		_exit(127);
	}
	int status = wait_for(pid);
	if (status == -1)
		return 0;
	if (WIFEXITED(status))
		say("user: %s exited with %d\n", name, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		say("user: %s killed by signal %d\n", name, WTERMSIG(status));
	else
		say("user: %s ended with status %#x\n", name, status);
	return status == 0;
}

/* Reaps whatever is left, giving up after STRAGGLER_TIMEOUT_MS. */
static void reap_stragglers(void)
{
	long deadline = now_ms() + STRAGGLER_TIMEOUT_MS;
	for (;;) {
		int status;
		pid_t got = waitpid(-1, &status, WNOHANG);
		if (got > 0) {
			remember_orphan(got, status);
			continue;
		}
		if (got < 0 && errno == ECHILD)
			return;
		if (now_ms() >= deadline) {
			say("user: children still running after %d ms\n", STRAGGLER_TIMEOUT_MS);
			return;
		}
		sleep_ms(10);
	}
}

int main(int argc, char **argv, char **envp)
{
	char dir[256];
	sibling(argv[0], "", dir, sizeof dir);
	if (strlen(dir) > 1)
		dir[strlen(dir) - 1] = '\0'; /* "/bin/" -> "/bin" */
	else
		snprintf(dir, sizeof dir, "/bin");

	int passed = 0, failed = 0;
	for (int i = 1; i < argc; i++) {
		if (run(dir, argv[i], envp))
			passed++;
		else
			failed++;
	}
	reap_stragglers();
	if (orphans_reaped > 0)
		report_orphans();
	say("user: %d passed, %d failed\n", passed, failed);

	if (getpid() != 1)
		return failed == 0 ? 0 : 1;
	reboot(RB_POWER_OFF);
	say("user: reboot(RB_POWER_OFF) failed: %s\n", strerror(errno));
	return 1;
}
