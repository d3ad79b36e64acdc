/*
 * conform_proc_fields: the /proc/<pid> values that depend on which task is
 * asked about: statm, the affinity lines of status, a thread's own times
 * and faults beside its process's, rsslim, the wchan field and file, and a
 * comm of any bytes, as Linux shows them.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static char text[8192];

static unsigned long long task_stat(pid_t pid, pid_t tid, int n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
	return stat_field_of(path, n);
}

/* The value after "key" in /proc/self/status, as text (empty if absent). */
static const char *status_line(const char *key)
{
	static char value[128];
	value[0] = '\0';
	if (read_text("/proc/self/status", text, sizeof text) < 0)
		return value;
	char *p = strstr(text, key);
	if (p) {
		p += strlen(key);
		size_t n = strcspn(p, "\n");
		snprintf(value, sizeof value, "%.*s", (int)n, p);
	}
	return value;
}

static long status_kb(const char *key)
{
	return atol(status_line(key));
}

static void statm(void)
{
	unsigned long m[8];
	memset(m, 0xff, sizeof m);
	read_text("/proc/self/statm", text, sizeof text);
	int k = sscanf(text, "%lu %lu %lu %lu %lu %lu %lu %lu", &m[0], &m[1], &m[2], &m[3],
		       &m[4], &m[5], &m[6], &m[7]);
	EXPECT_EQ("statm_has_seven_fields", 7, k);
	CHECK("statm_ends_with_a_newline", text[strlen(text) - 1] == '\n');
	EXPECT_EQ("statm_size_is_vmsize_in_pages", status_kb("VmSize:") / 4, m[0]);
	EXPECT_EQ("statm_data_is_vmdata_and_vmstk_in_pages",
		  (status_kb("VmData:") + status_kb("VmStk:")) / 4, m[5]);
	CHECK("statm_resident_counts_the_shared_pages", m[1] >= m[2] && m[1] > 0);
	CHECK("statm_text_is_some_pages", m[3] > 0);
	EXPECT_EQ("statm_lib_is_0", 0, m[4]);
	EXPECT_EQ("statm_dt_is_0", 0, m[6]);
	unsigned long long vsize = stat_field_of("/proc/self/stat", 23);
	EXPECT_EQ("statm_size_is_stat_vsize_in_pages", vsize / 4096, m[0]);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/statm", getpid(), getpid());
	CHECK("a_thread_directory_has_statm", read_text(path, text, sizeof text) > 0);

	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	siginfo_t si;
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	snprintf(path, sizeof path, "/proc/%d/statm", pid);
	read_text(path, text, sizeof text);
	CHECK("a_zombie_s_statm_is_seven_zeros", strcmp(text, "0 0 0 0 0 0 0\n") == 0);
	waitpid(pid, NULL, 0);
}

/* The status line Cpus_allowed for a mask of the first ncpu CPUs (at
 * most 32): hex, as many digits as ncpu needs. */
static void want_mask(char *want, size_t size, unsigned long mask, int ncpu)
{
	snprintf(want, size, "\t%0*lx", (ncpu + 3) / 4, mask);
}

static void pin(const int *cpus, int n)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		CPU_SET(cpus[i], &set);
	sched_setaffinity(0, sizeof set, &set);
}

static void cpus_allowed(void)
{
	cpu_set_t all;
	sched_getaffinity(0, sizeof all, &all);
	int ncpu = CPU_COUNT(&all);
	char want[64];
	if (ncpu < 2 || ncpu > 32) {
		check_skip("cpus_allowed_is_the_affinity_mask_in_hex", "needs 2..32 CPUs");
		return;
	}
	want_mask(want, sizeof want, (1UL << ncpu) - 1, ncpu);
	CHECK("cpus_allowed_is_the_affinity_mask_in_hex",
	      strcmp(status_line("\nCpus_allowed:"), want) == 0);
	snprintf(want, sizeof want, "\t0-%d", ncpu - 1);
	CHECK("cpus_allowed_list_of_all_cpus_is_a_range",
	      strcmp(status_line("\nCpus_allowed_list:"), want) == 0);
	int last[] = { ncpu - 1 };
	pin(last, 1);
	want_mask(want, sizeof want, 1UL << (ncpu - 1), ncpu);
	CHECK("cpus_allowed_follows_sched_setaffinity",
	      strcmp(status_line("\nCpus_allowed:"), want) == 0);
	snprintf(want, sizeof want, "\t%d", ncpu - 1);
	CHECK("cpus_allowed_list_of_one_cpu_is_its_number",
	      strcmp(status_line("\nCpus_allowed_list:"), want) == 0);
	if (ncpu >= 3) {
		int gap[] = { 0, 2 };
		pin(gap, 2);
		CHECK("cpus_allowed_list_separates_runs_with_commas",
		      strcmp(status_line("\nCpus_allowed_list:"), "\t0,2") == 0);
	} else {
		check_skip("cpus_allowed_list_separates_runs_with_commas", "needs 3 CPUs");
	}
	sched_setaffinity(0, sizeof all, &all);
}

static volatile int burner_go;
static volatile pid_t burner_tid;

/* Burns 0.4 s of CPU and touches 300 new pages, then waits. */
static void *burner(void *arg)
{
	struct timespec s, n;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &s);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &n);
	while ((n.tv_sec - s.tv_sec) * 1000000000L + (n.tv_nsec - s.tv_nsec) < 400000000L);
	char *m = mmap(NULL, 300 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	for (int i = 0; i < 300; i++)
		m[i * 4096] = 1;
	burner_tid = syscall(SYS_gettid);
	while (!burner_go)
		usleep(1000);
	return arg;
}

static unsigned long long ticks(unsigned long long utime, unsigned long long stime)
{
	return utime + stime;
}

static void thread_times(void)
{
	pid_t me = getpid();
	unsigned long long p_flt0 = stat_field_of("/proc/self/stat", 10);
	unsigned long long p_t0 = ticks(stat_field_of("/proc/self/stat", 14),
					stat_field_of("/proc/self/stat", 15));
	unsigned long long m_flt0 = task_stat(me, me, 10);
	unsigned long long m_t0 = ticks(task_stat(me, me, 14), task_stat(me, me, 15));
	pthread_t t;
	pthread_create(&t, NULL, burner, NULL);
	while (!burner_tid)
		usleep(1000);
	pid_t tid = burner_tid;
	CHECK("process_stat_times_count_every_thread",
	      ticks(stat_field_of("/proc/self/stat", 14), stat_field_of("/proc/self/stat", 15)) >= p_t0 + 25);
	CHECK("process_stat_minflt_counts_every_thread",
	      stat_field_of("/proc/self/stat", 10) >= p_flt0 + 300);
	CHECK("thread_stat_times_are_the_thread_s_own",
	      ticks(task_stat(me, me, 14), task_stat(me, me, 15)) < m_t0 + 10);
	CHECK("thread_stat_minflt_is_the_thread_s_own", task_stat(me, me, 10) < m_flt0 + 300);
	CHECK("a_busy_thread_s_stat_has_its_times",
	      ticks(task_stat(me, tid, 14), task_stat(me, tid, 15)) >= 25);
	CHECK("a_busy_thread_s_stat_has_its_faults", task_stat(me, tid, 10) >= 300);
	burner_go = 1;
	pthread_join(t, NULL);
	CHECK("process_stat_keeps_an_exited_thread_s_faults",
	      stat_field_of("/proc/self/stat", 10) >= p_flt0 + 300);
	CHECK("process_stat_keeps_an_exited_thread_s_times",
	      ticks(stat_field_of("/proc/self/stat", 14), stat_field_of("/proc/self/stat", 15)) >= p_t0 + 25);
}

static void rsslim(void)
{
	struct rlimit old, rl;
	getrlimit(RLIMIT_RSS, &old);
	rl = old;
	rl.rlim_cur = 1 << 20;
	setrlimit(RLIMIT_RSS, &rl);
	EXPECT_EQ("stat_field_25_is_the_rlimit_rss", 1 << 20, stat_field_of("/proc/self/stat", 25));
	setrlimit(RLIMIT_RSS, &old);
	CHECK("stat_field_25_unlimited_is_all_ones",
	      old.rlim_cur != RLIM_INFINITY || stat_field_of("/proc/self/stat", 25) == ~0ULL);
}

static void *sleeper(void *arg)
{
	pause();
	return arg;
}

/* The contents of /proc/<pid>/wchan, or "" if it cannot be read. */
static const char *wchan_of(pid_t pid)
{
	static char buf[128];
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/wchan", pid);
	if (read_text(path, buf, sizeof buf) < 0)
		buf[0] = '\0';
	return buf;
}

static void wchan(void)
{
	CHECK("wchan_of_a_running_task_is_0_without_newline",
	      strcmp(wchan_of(getpid()), "0") == 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", getpid(), getpid());
	CHECK("a_thread_directory_has_wchan", read_text(path, text, sizeof text) == 1);

	pid_t pid = fork();
	if (pid == 0) {
		sleep(10);
		_exit(0);
	}
	usleep(200000);
	const char *w = wchan_of(pid);
	CHECK("wchan_of_a_sleeping_task_is_a_function_name", w[0] && !(w[0] >= '0' && w[0] <= '9'));
	CHECK("wchan_of_a_task_in_nanosleep_is_hrtimer_nanosleep",
	      strcmp(w, "hrtimer_nanosleep") == 0);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	EXPECT_EQ("stat_wchan_flag_of_a_sleeping_process_is_1", 1, stat_field_of(path, 35));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	pid = fork();
	if (pid == 0) {
		if (fork() == 0) {
			sleep(10);
			_exit(0);
		}
		wait(NULL);
		_exit(0);
	}
	usleep(200000);
	CHECK("wchan_of_a_task_in_wait4_is_do_wait", strcmp(wchan_of(pid), "do_wait") == 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, sleeper, NULL);
		pause();
		_exit(0);
	}
	usleep(200000);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	EXPECT_EQ("stat_wchan_flag_of_a_sleeping_2_thread_process_is_0", 0, stat_field_of(path, 35));
	EXPECT_EQ("its_main_thread_s_stat_wchan_flag_is_1", 1, task_stat(pid, pid, 35));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Writes bytes to our comm file. */
static void write_comm(const char *bytes, size_t n)
{
	int fd = open("/proc/self/comm", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, bytes, n) < 0)
			say("    write comm: %s\n", strerror(errno));
		close(fd);
	}
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void comm_bytes(void)
{
	write_comm("\xff\xfe" "bin", 5);
	read_text("/proc/self/comm", text, sizeof text);
	CHECK("comm_file_keeps_non_utf8_bytes", strcmp(text, "\xff\xfe" "bin\n") == 0);

	prctl(PR_SET_NAME, "\xff\xfeq");
	char name[17] = { 0 };
	prctl(PR_GET_NAME, name);
	CHECK("pr_get_name_returns_the_bytes_set", strcmp(name, "\xff\xfeq") == 0);
	char want[64];
	snprintf(want, sizeof want, "%d (\xff\xfeq) ", getpid());
	read_text("/proc/self/stat", text, sizeof text);
	CHECK("stat_shows_comm_bytes_as_they_are", starts_with(text, want));
	CHECK("status_name_shows_high_bytes_as_they_are",
	      strcmp(status_line("Name:"), "\t\xff\xfeq") == 0);

	prctl(PR_SET_NAME, "a\nb\\c\td");
	read_text("/proc/self/comm", text, sizeof text);
	CHECK("comm_file_shows_a_newline_as_it_is", strcmp(text, "a\nb\\c\td\n") == 0);
	CHECK("status_name_escapes_newline_and_backslash",
	      strcmp(status_line("Name:"), "\ta\\nb\\\\c\td") == 0);
	prctl(PR_SET_NAME, "conform_proc_fi");
}

int main(void)
{
	check_begin("conform_proc_fields");
	statm();
	cpus_allowed();
	thread_times();
	rsslim();
	wchan();
	comm_bytes();
	return check_end();
}
