/*
 * conform_proc: /proc/<pid>/stat, status, cmdline, environ and comm in the
 * form ps, top and libprocps parse, checked field by field against what
 * the process knows of itself, for a running process, a stopped one and a
 * zombie.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

static char text[8192];

/* Field n (1-based) of a stat line, counting from after the ")". */
static long long stat_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');
	if (!p || n < 3)
		return -1;
	p += 2;
	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return atoll(p);
}

static int stat_count(const char *stat)
{
	const char *p = strrchr(stat, ')');
	int n = 2;
	for (; p && *p; p++)
		if (*p == ' ')
			n++;
	return n;
}

static char stat_state(const char *stat)
{
	const char *p = strrchr(stat, ')');
	return p ? p[2] : '?';
}

static void own_stat(void)
{
	prctl(PR_SET_NAME, "a) b(c");
	read_text("/proc/self/stat", text, sizeof text);
	EXPECT_EQ("stat_has_52_fields", 52, stat_count(text));
	CHECK("stat_ends_with_a_newline", text[strlen(text) - 1] == '\n');
	char want[64];
	snprintf(want, sizeof want, "%d (a) b(c) R ", getpid());
	CHECK("stat_shows_a_comm_with_parentheses_as_it_is",
	      strncmp(text, want, strlen(want)) == 0);
	EXPECT_EQ("stat_field_4_is_the_ppid", getppid(), stat_field(text, 4));
	EXPECT_EQ("stat_field_5_is_the_pgrp", getpgrp(), stat_field(text, 5));
	EXPECT_EQ("stat_field_6_is_the_session", getsid(0), stat_field(text, 6));
	EXPECT_EQ("stat_field_18_priority_is_20", 20, stat_field(text, 18));
	EXPECT_EQ("stat_field_19_nice_is_0", 0, stat_field(text, 19));
	EXPECT_EQ("stat_field_20_counts_one_thread", 1, stat_field(text, 20));
	EXPECT_EQ("stat_field_21_itrealvalue_is_0", 0, stat_field(text, 21));
	CHECK("stat_field_23_vsize_is_in_bytes", stat_field(text, 23) > 4096);
	CHECK("stat_field_24_rss_is_in_pages", stat_field(text, 24) >= 0 &&
	      stat_field(text, 24) < stat_field(text, 23) / 4096 + 1);
	EXPECT_EQ("stat_field_38_exit_signal_is_sigchld", SIGCHLD, stat_field(text, 38));
	EXPECT_EQ("stat_field_40_rt_priority_is_0", 0, stat_field(text, 40));
	EXPECT_EQ("stat_field_41_policy_is_normal", 0, stat_field(text, 41));
	EXPECT_EQ("stat_field_52_exit_code_is_0", 0, stat_field(text, 52));
	prctl(PR_SET_NAME, "conform_proc");
}

static void own_status(void)
{
	read_text("/proc/self/status", text, sizeof text);
	char want[128];
	snprintf(want, sizeof want, "\nPid:\t%d\n", getpid());
	CHECK("status_pid_line", strstr(text, want) != NULL);
	snprintf(want, sizeof want, "\nPPid:\t%d\n", getppid());
	CHECK("status_ppid_line", strstr(text, want) != NULL);
	snprintf(want, sizeof want, "\nUid:\t%d\t%d\t%d\t%d\n", getuid(), geteuid(), getuid(),
		 getuid());
	CHECK("status_uid_line_has_four_ids", strstr(text, want) != NULL);
	CHECK("status_state_of_self_is_r_running", strstr(text, "\nState:\tR (running)\n") != NULL);
	CHECK("status_umask_is_four_octal_digits", strstr(text, "\nUmask:\t0022\n") != NULL);
	CHECK("status_no_new_privs_starts_0", strstr(text, "\nNoNewPrivs:\t0\n") != NULL);
	CHECK("status_tracerpid_is_0", strstr(text, "\nTracerPid:\t0\n") != NULL);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		read_text("/proc/self/status", text, sizeof text);
		_exit(strstr(text, "\nNoNewPrivs:\t1\n") ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("status_no_new_privs_shows_1_once_set", 0, st);
}

static void other_states(void)
{
	char path[64];
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"/proc/self/exe", "sleep", "two words", NULL};
		char *envp[] = {"A=1", "B=two", NULL};
		execve("/proc/self/exe", argv, envp);
		_exit(99);
	}
	usleep(200000);
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, text, sizeof text);
	close(fd);
	const char want[] = "/proc/self/exe\0sleep\0two words";
	EXPECT_EQ("cmdline_is_the_arguments_each_ending_in_nul", (long)sizeof want, n);
	CHECK("cmdline_bytes_are_the_arguments", n == sizeof want && memcmp(text, want, n) == 0);
	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY);
	n = read(fd, text, sizeof text);
	close(fd);
	const char wantenv[] = "A=1\0B=two";
	CHECK("environ_is_the_environment_each_ending_in_nul",
	      n == sizeof wantenv && memcmp(text, wantenv, n) == 0);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	read_text(path, text, sizeof text);
	EXPECT_EQ("a_sleeping_process_is_s", 'S', stat_state(text));
	kill(pid, SIGSTOP);
	siginfo_t si;
	waitid(P_PID, pid, &si, WSTOPPED);
	read_text(path, text, sizeof text);
	EXPECT_EQ("a_stopped_process_is_t", 'T', stat_state(text));
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	read_text(path, text, sizeof text);
	CHECK("a_stopped_process_status_says_t_stopped", strstr(text, "\nState:\tT (stopped)\n"));
	kill(pid, SIGKILL);
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	read_text(path, text, sizeof text);
	EXPECT_EQ("a_zombie_is_z", 'Z', stat_state(text));
	EXPECT_EQ("a_zombie_s_stat_exit_code_is_its_wait_status", SIGKILL, stat_field(text, 52));
	EXPECT_EQ("a_zombie_s_vsize_is_0", 0, stat_field(text, 23));
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	read_text(path, text, sizeof text);
	CHECK("a_zombie_status_says_z_zombie", strstr(text, "\nState:\tZ (zombie)\n"));
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY);
	n = read(fd, text, sizeof text);
	close(fd);
	EXPECT_EQ("a_zombie_s_cmdline_is_empty", 0, n);
	waitpid(pid, NULL, 0);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	EXPECT_FAILS("a_reaped_process_has_no_proc_directory", ENOENT, open(path, O_RDONLY));
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
		sleep(10);
		return 0;
	}
	check_begin("conform_proc");
	umask(022);
	own_stat();
	own_status();
	other_states();
	return check_end();
}
