/*
 * conform_prctl: the prctl options a process uses on itself, getrusage's
 * and times()'s answers, and the pidfd calls' errors, as Linux gives them:
 * PR_SET_NAME cuts at 15 bytes and shows in /proc; the subreaper, parent
 * death signal, dumpable and no_new_privs settings read back and refuse bad
 * values; PR_GET_TID_ADDRESS gives set_tid_address's pointer.
 */
#define _GNU_SOURCE
#include "check.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/times.h>

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif
#ifndef PR_GET_IO_FLUSHER
#define PR_GET_IO_FLUSHER 58
#endif

/* Whether capability `cap` is in the effective set (CapEff in status). */
static int cap_effective(int cap)
{
	char text[4096] = "";
	read_text("/proc/self/status", text, sizeof text);
	char *line = strstr(text, "CapEff:");
	return line && (strtoull(line + 7, NULL, 16) >> cap & 1);
}

static void names(void)
{
	char name[32];
	EXPECT_EQ("pr_set_name_returns_0", 0, prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz"));
	memset(name, 'x', sizeof name);
	EXPECT_EQ("pr_get_name_returns_0", 0, prctl(PR_GET_NAME, name));
	CHECK("pr_set_name_keeps_the_first_15_bytes", strcmp(name, "abcdefghijklmno") == 0);
	EXPECT_EQ("pr_get_name_writes_16_bytes_only", 'x', name[16]);
	char text[64] = "";
	read_text("/proc/self/comm", text, sizeof text);
	CHECK("proc_self_comm_shows_the_new_name", strcmp(text, "abcdefghijklmno\n") == 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", getpid());
	read_text(path, text, sizeof text);
	CHECK("proc_task_comm_shows_the_new_name", strcmp(text, "abcdefghijklmno\n") == 0);
	char stat[512] = "";
	read_text("/proc/self/stat", stat, sizeof stat);
	char want[64];
	snprintf(want, sizeof want, "%d (abcdefghijklmno) R ", getpid());
	CHECK("proc_self_stat_starts_with_pid_comm_and_state", strncmp(stat, want, strlen(want)) == 0);
	EXPECT_EQ("pr_set_name_of_an_empty_string_returns_0", 0, prctl(PR_SET_NAME, ""));
	read_text("/proc/self/comm", text, sizeof text);
	CHECK("an_empty_name_shows_as_an_empty_line", strcmp(text, "\n") == 0);
	EXPECT_FAILS("pr_set_name_from_a_bad_address_gives_efault", EFAULT,
		     prctl(PR_SET_NAME, (char *)8));
	EXPECT_FAILS("pr_get_name_to_a_bad_address_gives_efault", EFAULT,
		     prctl(PR_GET_NAME, (char *)8));
	int fd = open("/proc/self/comm", O_WRONLY);
	CHECK("proc_self_comm_opens_for_writing", fd >= 0);
	write(fd, "via-proc-comm-longer", 20);
	close(fd);
	prctl(PR_GET_NAME, name);
	CHECK("writing_proc_self_comm_renames_cut_at_15_bytes", strcmp(name, "via-proc-comm-l") == 0);
	prctl(PR_SET_NAME, "conform_prctl");
}

static void settings(void)
{
	int v = -1;
	EXPECT_EQ("pr_get_child_subreaper_starts_0", 0, prctl(PR_GET_CHILD_SUBREAPER, &v) == 0 ? v : -1);
	EXPECT_EQ("pr_set_child_subreaper_returns_0", 0, prctl(PR_SET_CHILD_SUBREAPER, 5));
	prctl(PR_GET_CHILD_SUBREAPER, &v);
	EXPECT_EQ("pr_get_child_subreaper_reads_back_1", 1, v);
	prctl(PR_SET_CHILD_SUBREAPER, 0);

	EXPECT_FAILS("pr_set_pdeathsig_65_gives_einval", EINVAL, prctl(PR_SET_PDEATHSIG, 65));
	EXPECT_EQ("pr_set_pdeathsig_returns_0", 0, prctl(PR_SET_PDEATHSIG, SIGUSR1));
	v = -1;
	prctl(PR_GET_PDEATHSIG, &v);
	EXPECT_EQ("pr_get_pdeathsig_reads_it_back", SIGUSR1, v);
	pid_t pid = fork();
	if (pid == 0) {
		int c = -1;
		prctl(PR_GET_PDEATHSIG, &c);
		_exit(c);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	EXPECT_EQ("a_forked_child_starts_without_a_pdeathsig", 0, st);
	prctl(PR_SET_PDEATHSIG, 0);
	EXPECT_FAILS("pr_get_pdeathsig_to_a_bad_address_gives_efault", EFAULT,
		     prctl(PR_GET_PDEATHSIG, (int *)8));

	EXPECT_EQ("pr_get_dumpable_starts_1", 1, prctl(PR_GET_DUMPABLE));
	EXPECT_FAILS("pr_set_dumpable_2_gives_einval", EINVAL, prctl(PR_SET_DUMPABLE, 2));
	EXPECT_FAILS("pr_set_dumpable_3_gives_einval", EINVAL, prctl(PR_SET_DUMPABLE, 3));
	EXPECT_EQ("pr_set_dumpable_0_returns_0", 0, prctl(PR_SET_DUMPABLE, 0));
	EXPECT_EQ("pr_get_dumpable_reads_0", 0, prctl(PR_GET_DUMPABLE));
	prctl(PR_SET_DUMPABLE, 1);

	pid = fork();
	if (pid == 0) {
		int bad = 0;
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
			bad |= 1;
		errno = 0;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0) != -1 || errno != EINVAL)
			bad |= 2;
		errno = 0;
		if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) != -1 || errno != EINVAL)
			bad |= 4;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			bad |= 8;
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			bad |= 16;
		errno = 0;
		if (prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0) != -1 || errno != EINVAL)
			bad |= 32;
		_exit(bad);
	}
	waitpid(pid, &st, 0);
	EXPECT_EQ("no_new_privs_is_set_once_read_back_and_refuses_bad_arguments", 0, st);

	static int tid_word;
	long tid = syscall(SYS_set_tid_address, &tid_word);
	EXPECT_EQ("set_tid_address_returns_the_tid", syscall(SYS_gettid), tid);
	int *addr = NULL;
	EXPECT_EQ("pr_get_tid_address_returns_0", 0, prctl(PR_GET_TID_ADDRESS, &addr));
	CHECK("pr_get_tid_address_gives_the_set_pointer", addr == &tid_word);
	EXPECT_FAILS("an_unknown_prctl_option_gives_einval", EINVAL, prctl(9999, 0, 0, 0, 0));
	EXPECT_FAILS("pr_set_child_subreaper_result_to_a_bad_address_gives_efault", EFAULT,
		     prctl(PR_GET_CHILD_SUBREAPER, (int *)8));
}

/* The options a task without seccomp, MCE policy, THP or perf settings
 * reads as their defaults: the getters refuse unused arguments. */
static void defaults(void)
{
	EXPECT_EQ("pr_get_seccomp_without_seccomp_returns_0", 0, prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	EXPECT_EQ("pr_get_timing_returns_pr_timing_statistical", PR_TIMING_STATISTICAL,
		  prctl(PR_GET_TIMING, 0, 0, 0, 0));
	EXPECT_EQ("pr_set_timing_statistical_returns_0", 0,
		  prctl(PR_SET_TIMING, PR_TIMING_STATISTICAL, 0, 0, 0));
	EXPECT_FAILS("pr_set_timing_timestamp_gives_einval", EINVAL,
		     prctl(PR_SET_TIMING, PR_TIMING_TIMESTAMP, 0, 0, 0));
	int v = -1;
	EXPECT_EQ("pr_get_tsc_returns_0", 0, prctl(PR_GET_TSC, &v, 0, 0, 0));
	EXPECT_EQ("pr_get_tsc_reads_pr_tsc_enable", PR_TSC_ENABLE, v);
	EXPECT_FAILS("pr_get_tsc_to_a_bad_address_gives_efault", EFAULT,
		     prctl(PR_GET_TSC, (int *)8, 0, 0, 0));
	EXPECT_EQ("pr_set_tsc_enable_returns_0", 0, prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0));
	EXPECT_FAILS("pr_set_tsc_of_3_gives_einval", EINVAL, prctl(PR_SET_TSC, 3, 0, 0, 0));
	EXPECT_EQ("pr_mce_kill_get_returns_pr_mce_kill_default", PR_MCE_KILL_DEFAULT,
		  prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
	EXPECT_FAILS("pr_mce_kill_get_with_an_argument_gives_einval", EINVAL,
		     prctl(PR_MCE_KILL_GET, 1, 0, 0, 0));
	EXPECT_EQ("pr_get_thp_disable_returns_0", 0, prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	EXPECT_FAILS("pr_get_thp_disable_with_an_argument_gives_einval", EINVAL,
		     prctl(PR_GET_THP_DISABLE, 0, 0, 0, 1));
	EXPECT_EQ("pr_task_perf_events_disable_returns_0", 0,
		  prctl(PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0));
	EXPECT_EQ("pr_task_perf_events_enable_returns_0", 0,
		  prctl(PR_TASK_PERF_EVENTS_ENABLE, 0, 0, 0, 0));
	/* A container's root may lack CAP_SYS_RESOURCE (24); Linux's answer
	 * follows the capability, not the uid. */
	if (cap_effective(24)) {
		EXPECT_EQ("pr_get_io_flusher_returns_0", 0, prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0));
		EXPECT_FAILS("pr_get_io_flusher_with_an_argument_gives_einval", EINVAL,
			     prctl(PR_GET_IO_FLUSHER, 1, 0, 0, 0));
	} else {
		check_skip("pr_get_io_flusher_returns_0", "no CAP_SYS_RESOURCE here");
		check_skip("pr_get_io_flusher_with_an_argument_gives_einval",
			   "no CAP_SYS_RESOURCE here");
	}
}

/* Without CAP_SYS_RESOURCE, PR_GET_IO_FLUSHER is refused. */
static void io_flusher_as_user(void)
{
	if (setuid(1234) != 0)
		_exit(9);
	EXPECT_FAILS("pr_get_io_flusher_without_cap_sys_resource_gives_eperm", EPERM,
		     prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0));
}

static void usage(void)
{
	struct rusage ru;
	EXPECT_EQ("getrusage_self_returns_0", 0, getrusage(RUSAGE_SELF, &ru));
	EXPECT_EQ("getrusage_children_returns_0", 0, getrusage(RUSAGE_CHILDREN, &ru));
	EXPECT_EQ("getrusage_thread_returns_0", 0, getrusage(1, &ru));
	EXPECT_FAILS("getrusage_of_2_gives_einval", EINVAL, getrusage(2, &ru));
	EXPECT_FAILS("getrusage_of_rusage_both_gives_einval", EINVAL, getrusage(-2, &ru));
	EXPECT_FAILS("getrusage_to_a_bad_address_gives_efault", EFAULT,
		     syscall(SYS_getrusage, RUSAGE_SELF, (void *)8));
	struct tms t;
	long now = syscall(SYS_times, &t);
	CHECK("times_returns_a_tick_count", now > 0);
	CHECK("times_with_null_returns_a_tick_count", syscall(SYS_times, NULL) >= now);
	EXPECT_FAILS("times_to_a_bad_address_gives_efault", EFAULT, syscall(SYS_times, (void *)8));
}

static void pidfds(void)
{
	pid_t gone;
	{
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
		gone = pid;
	}
	EXPECT_FAILS("pidfd_open_of_pid_0_gives_einval", EINVAL, syscall(SYS_pidfd_open, 0, 0));
	EXPECT_FAILS("pidfd_open_of_a_negative_pid_gives_einval", EINVAL,
		     syscall(SYS_pidfd_open, -1, 0));
	EXPECT_FAILS("pidfd_open_with_an_unknown_flag_gives_einval", EINVAL,
		     syscall(SYS_pidfd_open, getpid(), 1));
	EXPECT_FAILS("pidfd_open_of_a_missing_pid_gives_esrch", ESRCH,
		     syscall(SYS_pidfd_open, gone, 0));
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	CHECK("pidfd_open_of_self_gives_an_fd", fd >= 0);
	EXPECT_EQ("the_pidfd_is_close_on_exec", FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_FAILS("pidfd_send_signal_with_flags_gives_einval", EINVAL,
		     syscall(SYS_pidfd_send_signal, fd, 0, NULL, 99));
	EXPECT_FAILS("pidfd_send_signal_of_a_bad_signal_gives_einval", EINVAL,
		     syscall(SYS_pidfd_send_signal, fd, 65, NULL, 0));
	EXPECT_FAILS("pidfd_send_signal_to_a_closed_fd_gives_ebadf", EBADF,
		     syscall(SYS_pidfd_send_signal, 99, 0, NULL, 0));
	int pfd[2];
	pipe(pfd);
	EXPECT_FAILS("pidfd_send_signal_to_a_pipe_gives_ebadf", EBADF,
		     syscall(SYS_pidfd_send_signal, pfd[0], 0, NULL, 0));
	EXPECT_EQ("pidfd_send_signal_0_to_self_returns_0", 0,
		  syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
	EXPECT_FAILS("pidfd_getfd_with_flags_gives_einval", EINVAL,
		     syscall(SYS_pidfd_getfd, fd, 0, 1));
	EXPECT_FAILS("pidfd_getfd_of_a_closed_target_fd_gives_ebadf", EBADF,
		     syscall(SYS_pidfd_getfd, fd, 99, 0));
	EXPECT_FAILS("pidfd_getfd_through_a_pipe_gives_ebadf", EBADF,
		     syscall(SYS_pidfd_getfd, pfd[0], 0, 0));
	int got = (int)syscall(SYS_pidfd_getfd, fd, pfd[1], 0);
	CHECK("pidfd_getfd_of_own_fd_gives_a_new_fd", got >= 0 && got != pfd[1]);
	EXPECT_EQ("the_fd_from_pidfd_getfd_is_close_on_exec", FD_CLOEXEC, fcntl(got, F_GETFD));
	close(got);
	close(pfd[0]);
	close(pfd[1]);

	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	int cfd = (int)syscall(SYS_pidfd_open, pid, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_FAILS("pidfd_send_signal_to_a_reaped_child_gives_esrch", ESRCH,
		     syscall(SYS_pidfd_send_signal, cfd, SIGTERM, NULL, 0));
	EXPECT_FAILS("pidfd_getfd_of_a_reaped_child_gives_esrch", ESRCH,
		     syscall(SYS_pidfd_getfd, cfd, 0, 0));
	close(cfd);
	close(fd);

	int cp[2];
	pipe(cp);
	pid = fork();
	if (pid == 0) {
		int p2[2];
		pipe(p2);
		write(cp[1], p2, sizeof p2);
		char c = 0;
		read(p2[0], &c, 1);
		_exit(c);
	}
	cfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int p2[2] = {-1, -1};
	read(cp[0], p2, sizeof p2);
	int stolen = (int)syscall(SYS_pidfd_getfd, cfd, p2[1], 0);
	CHECK("pidfd_getfd_copies_a_child_s_descriptor", stolen >= 0);
	char c = 42;
	write(stolen, &c, 1);
	int st2 = -1;
	waitid(P_PID, pid, &(siginfo_t){0}, WEXITED | WNOWAIT);
	close(cp[0]);
	close(cp[1]);
	close(stolen);
	EXPECT_FAILS("pidfd_getfd_of_a_zombie_gives_esrch", ESRCH,
		     syscall(SYS_pidfd_getfd, cfd, 0, 0));
	waitpid(pid, &st2, 0);
	EXPECT_EQ("the_child_read_the_byte_written_through_the_copy", 42 << 8, st2);
	close(cfd);
}

static void getfd_as_user(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getppid(), 0);
	if (setuid(1234) != 0)
		_exit(9);
	EXPECT_FAILS("pidfd_getfd_of_another_user_s_process_gives_eperm", EPERM,
		     syscall(SYS_pidfd_getfd, fd, 0, 0));
}

/* no_new_privs: a set-user-ID root copy of this program keeps our euid. */
static void nnp_blocks_setuid(void)
{
	char self[256], copy[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	snprintf(copy, sizeof copy, "/tmp/conform_prctl_suid.%d", getpid());
	int in = open(self, O_RDONLY), out = open(copy, O_CREAT | O_WRONLY, 0755);
	char buf[4096];
	while ((n = read(in, buf, sizeof buf)) > 0)
		write(out, buf, n);
	close(in);
	close(out);
	chown(copy, 0, 0);
	chmod(copy, 04755);
	for (int nnp = 0; nnp < 2; nnp++) {
		pid_t pid = fork();
		if (pid == 0) {
			setuid(1234);
			if (nnp)
				prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			char *argv[] = {copy, "euid", NULL};
			execve(copy, argv, environ);
			_exit(99);
		}
		int st = -1;
		waitpid(pid, &st, 0);
		if (nnp)
			EXPECT_EQ("with_no_new_privs_a_set_user_id_exec_keeps_the_euid", 1234 % 256,
				  WEXITSTATUS(st));
		else
			EXPECT_EQ("without_no_new_privs_a_set_user_id_exec_gives_euid_0", 0,
				  WEXITSTATUS(st));
	}
	unlink(copy);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "euid") == 0)
		return (int)(geteuid() % 256);
	check_begin("conform_prctl");
	names();
	settings();
	defaults();
	as_child(io_flusher_as_user);
	usage();
	pidfds();
	as_child(getfd_as_user);
	nnp_blocks_setuid();
	return check_end();
}
