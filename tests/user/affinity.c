/*
 * affinity: a task pinned with sched_setaffinity runs only on the CPUs of
 * its mask (sampled with getcpu and /proc/self/stat field 39), a running
 * task whose mask another task changes is moved off its CPU at once, a
 * fork child inherits the mask, and the calls fail with Linux's errnos.
 *
 * Usage: affinity [CPUS]: with CPUS, also checks that so many CPUs are
 * online (the kernel was booted with --smp CPUS).
 */
#define _GNU_SOURCE
#include "check.h"
#include <sched.h>
#include <dirent.h>
#include <sys/syscall.h>

/* The caller's CPU, from getcpu(2) itself (not musl's vDSO-less wrapper). */
static int getcpu_now(void)
{
	unsigned cpu = ~0u, node = ~0u;
	if (syscall(SYS_getcpu, &cpu, &node, NULL) != 0)
		return -1;
	return (int)cpu;
}

/* Field `n` (1-based) of /proc/<pid>/stat, counted after the ")" that
 * ends the command name; -1 if unreadable. */
static long stat_field(pid_t pid, int n)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_text(path, buf, sizeof buf) < 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2; /* field 3 starts here */
	for (int field = 3; field < n; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return strtol(p, NULL, 10);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int set_one(pid_t pid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof set, &set);
}

/* Busy for `secs`, with now and then a sleep (a wake-up picks a CPU) and a
 * yield; returns how many samples of getcpu or field 39 were not `cpu`. */
static int samples_off(int cpu, double secs, int *samples)
{
	int off = 0;
	double end = now() + secs;
	for (int i = 0; now() < end; i++) {
		if (getcpu_now() != cpu || stat_field(getpid(), 39) != cpu)
			off++;
		(*samples)++;
		if (i % 64 == 0)
			usleep(500);
		else if (i % 16 == 0)
			sched_yield();
	}
	return off;
}

static void pinned_task_stays_on_its_cpu(void)
{
	EXPECT_EQ("sched_setaffinity_to_cpu_1_succeeds", 0, set_one(0, 1));
	EXPECT_EQ("getcpu_is_1_right_after_pinning", 1, getcpu_now());
	EXPECT_EQ("proc_stat_field_39_is_1_right_after_pinning", 1, stat_field(getpid(), 39));
	int samples = 0;
	int off = samples_off(1, 0.5, &samples);
	EXPECT_EQ("a_task_pinned_to_cpu_1_never_runs_elsewhere", 0, off);
	CHECK("it_was_sampled_many_times_over_half_a_second", samples > 50);
	cpu_set_t set;
	CPU_ZERO(&set);
	EXPECT_EQ("sched_getaffinity_succeeds", 0, sched_getaffinity(0, sizeof set, &set));
	CHECK("sched_getaffinity_returns_only_cpu_1", CPU_COUNT(&set) == 1 && CPU_ISSET(1, &set));
	pid_t pid = fork();
	if (pid == 0) {
		cpu_set_t mine;
		CPU_ZERO(&mine);
		sched_getaffinity(0, sizeof mine, &mine);
		int samples_child = 0;
		int bad = samples_off(1, 0.1, &samples_child);
		_exit(CPU_COUNT(&mine) == 1 && CPU_ISSET(1, &mine) && bad == 0 ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_fork_child_inherits_the_mask_and_runs_only_on_cpu_1", 0, status);
}

/* A busy child on CPU 1 is re-pinned to CPU 0 by its parent; from the
 * moment it sees its new mask it must run only on CPU 0. */
static void running_task_is_moved_when_its_mask_changes(void)
{
	set_one(0, 1);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0, after = 0;
		double end = now() + 1.0;
		while (now() < end) {
			cpu_set_t set;
			CPU_ZERO(&set);
			sched_getaffinity(0, sizeof set, &set);
			if (CPU_ISSET(0, &set) && !CPU_ISSET(1, &set)) {
				after++;
				bad += getcpu_now() != 0;
			}
		}
		_exit(after == 0 ? 255 : bad > 254 ? 254 : bad);
	}
	usleep(200000);
	EXPECT_EQ("the_parent_may_re_pin_its_busy_child", 0, set_one(pid, 0));
	EXPECT_EQ("the_child_is_on_cpu_0_once_sched_setaffinity_returns", 0, stat_field(pid, 39));
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("the_re_pinned_child_then_runs_only_on_cpu_0", 0, WEXITSTATUS(status));
}

static long raw_getaffinity(pid_t pid, size_t len, void *mask)
{
	return syscall(SYS_sched_getaffinity, pid, len, mask);
}

static long raw_setaffinity(pid_t pid, size_t len, const void *mask)
{
	return syscall(SYS_sched_setaffinity, pid, len, mask);
}

static void getaffinity_errors(void)
{
	unsigned long mask[16];
	EXPECT_FAILS("getaffinity_of_length_0_is_einval", EINVAL, raw_getaffinity(0, 0, mask));
	EXPECT_FAILS("getaffinity_of_length_4_is_einval", EINVAL, raw_getaffinity(0, 4, mask));
	EXPECT_FAILS("getaffinity_of_length_12_is_einval", EINVAL, raw_getaffinity(0, 12, mask));
	long n = raw_getaffinity(0, sizeof mask, mask);
	CHECK("getaffinity_returns_the_bytes_written_whole_longs", n >= 8 && n % 8 == 0 && n <= (long)sizeof mask);
	EXPECT_EQ("getaffinity_of_8_bytes_returns_8", 8, raw_getaffinity(0, 8, mask));
	EXPECT_FAILS("getaffinity_of_no_such_pid_is_esrch", ESRCH, raw_getaffinity(0x3ffffff0, 8, mask));
	EXPECT_FAILS("getaffinity_to_a_bad_address_is_efault", EFAULT, raw_getaffinity(0, 8, (void *)8));
}

/* The pid of the kernel thread named `name`, or 0. */
static pid_t find_kthread(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	while (d && !found && (e = readdir(d))) {
		char path[300], buf[256];
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && read_text(path, buf, sizeof buf) > 0 &&
		    strncmp(buf, name, strlen(name)) == 0 && buf[strlen(name)] == '\n')
			found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static void unprivileged_setaffinity_of_roots_process(void)
{
	pid_t parent = getppid();
	unsigned long all = ~0ul;
	if (setuid(65534) != 0) {
		check_fail("setuid_to_nobody_succeeds", "errno %s", strerrorname(errno));
		return;
	}
	EXPECT_FAILS("setaffinity_of_another_users_process_without_cap_sys_nice_is_eperm", EPERM,
		     raw_setaffinity(parent, sizeof all, &all));
	EXPECT_EQ("setaffinity_of_its_own_process_is_allowed", 0, raw_setaffinity(0, sizeof all, &all));
	unsigned long mask[1];
	EXPECT_EQ("getaffinity_of_another_users_process_needs_no_privilege", 8,
		  raw_getaffinity(parent, sizeof mask, mask));
}

static void setaffinity_errors(void)
{
	unsigned long zero[16] = {0}, high = 1ul << 63, cpu0 = 1, all = ~0ul;
	EXPECT_FAILS("setaffinity_of_an_empty_mask_is_einval", EINVAL, raw_setaffinity(0, sizeof zero, zero));
	EXPECT_FAILS("setaffinity_of_length_0_is_an_empty_mask_and_einval", EINVAL, raw_setaffinity(0, 0, &all));
	EXPECT_FAILS("setaffinity_of_only_cpus_that_do_not_exist_is_einval", EINVAL, raw_setaffinity(0, 8, &high));
	EXPECT_EQ("setaffinity_reads_a_one_byte_mask_and_pads_it_with_zeros", 0, raw_setaffinity(0, 1, &cpu0));
	unsigned long got[1] = {0};
	raw_getaffinity(0, sizeof got, got);
	EXPECT_EQ("the_one_byte_mask_gave_cpu_0_alone", 1, (long)got[0]);
	unsigned long big[16];
	memset(big, 0xff, sizeof big);
	EXPECT_EQ("setaffinity_reads_a_long_mask_as_far_as_the_kernels", 0, raw_setaffinity(0, sizeof big, big));
	EXPECT_FAILS("setaffinity_of_no_such_pid_is_esrch", ESRCH, raw_setaffinity(0x3ffffff0, 8, &all));
	EXPECT_FAILS("setaffinity_from_a_bad_address_is_efault", EFAULT, raw_setaffinity(0, 8, (void *)8));
	pid_t migration = find_kthread("migration/0");
	CHECK("migration_0_is_a_kernel_thread_in_proc", migration > 0);
	if (migration > 0)
		EXPECT_FAILS("setaffinity_of_a_per_cpu_kernel_thread_is_einval", EINVAL,
			     raw_setaffinity(migration, 8, &all));
	as_child(unprivileged_setaffinity_of_roots_process);
}

static void getcpu_answers(int online)
{
	unsigned cpu = ~0u, node = ~0u;
	EXPECT_EQ("getcpu_succeeds", 0, syscall(SYS_getcpu, &cpu, &node, NULL));
	CHECK("getcpu_names_an_online_cpu", cpu < (unsigned)online);
	EXPECT_EQ("getcpu_names_node_0", 0, (long)node);
	EXPECT_EQ("getcpu_with_null_pointers_succeeds", 0, syscall(SYS_getcpu, NULL, NULL, NULL));
	EXPECT_FAILS("getcpu_to_a_bad_address_is_efault", EFAULT, syscall(SYS_getcpu, (void *)8, NULL, NULL));
	EXPECT_EQ("sched_getcpu_agrees_with_proc_stat_field_39", stat_field(getpid(), 39), sched_getcpu());
}

int main(int argc, char **argv)
{
	check_begin("affinity");
	int online = (int)sysconf(_SC_NPROCESSORS_ONLN);
	check_booted_cpus(argc, argv, online);
	getcpu_answers(online);
	getaffinity_errors();
	setaffinity_errors();
	if (online < 2) {
		check_skip("a_task_pinned_to_cpu_1_never_runs_elsewhere", "one CPU");
		return check_end();
	}
	pinned_task_stays_on_its_cpu();
	running_task_is_moved_when_its_mask_changes();
	return check_end();
}
