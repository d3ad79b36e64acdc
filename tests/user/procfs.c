/*
 * procfs: /proc as Linux shows it. maps lists the mappings this program
 * made, with their permissions; task/ lists every thread; status has
 * Linux's lines, in Linux's order, with the right values; cpuinfo and
 * meminfo have Linux's fields; /proc/self and the fd/ links read as
 * Linux's; pid_max makes pid allocation wrap; hostname and comm are
 * writable.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Where the maps test places its mappings: far from anything else. */
#define MAP_BASE 0x3f0000000000UL

static char text[65536];

/* The text of a /proc file, up to 64 KiB; -1 if it cannot be read. */
static ssize_t slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof text - 1 &&
	       (r = read(fd, text + n, sizeof text - 1 - n)) > 0)
		n += r;
	close(fd);
	text[n] = '\0';
	return n;
}

/* The line of `text` that starts with `prefix`, or NULL. */
static const char *line_starting(const char *prefix)
{
	size_t len = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			return p;
	return NULL;
}

/* The length of the line at p, without its newline. */
static size_t line_len(const char *p)
{
	const char *nl = strchr(p, '\n');
	return nl ? (size_t)(nl - p) : strlen(p);
}

/* The maps line for an area, exactly as Linux prints an anonymous one. */
static int has_anon_line(unsigned long start, unsigned long end, const char *perms)
{
	char want[128];
	snprintf(want, sizeof want, "%08lx-%08lx %s 00000000 00:00 0 \n", start, end, perms);
	return strstr(text, want) != NULL;
}

/* The maps line that covers addr, or NULL. */
static const char *maps_line_of(unsigned long addr)
{
	for (const char *p = text; *p;) {
		unsigned long s, e;
		if (sscanf(p, "%lx-%lx", &s, &e) == 2 && s <= addr && addr < e)
			return p;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return NULL;
}

static int line_ends_with(const char *line, const char *suffix)
{
	size_t n = line_len(line), k = strlen(suffix);
	return n >= k && strncmp(line + n - k, suffix, k) == 0;
}

static void maps_show_each_mapping_with_its_permissions(void)
{
	static const struct {
		int prot;
		int flags;
		const char *perms;
	} areas[] = {
		{ PROT_READ, MAP_PRIVATE, "r--p" },
		{ PROT_READ | PROT_WRITE, MAP_PRIVATE, "rw-p" },
		{ PROT_READ | PROT_EXEC, MAP_PRIVATE, "r-xp" },
		{ PROT_NONE, MAP_PRIVATE, "---p" },
		{ PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, "rwxp" },
	};
	int n = sizeof areas / sizeof areas[0], placed = 0;
	for (int i = 0; i < n; i++) {
		void *want = (void *)(MAP_BASE + i * 0x100000UL);
		void *p = mmap(want, 2 * 4096, areas[i].prot,
			       areas[i].flags | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		placed += p == want;
	}
	EXPECT_EQ("mmap_places_each_area_at_its_address", n, placed);
	void *shared = (void *)(MAP_BASE + 0x800000UL);
	mmap(shared, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	slurp("/proc/self/maps");
	int found = 0;
	for (int i = 0; i < n; i++) {
		unsigned long start = MAP_BASE + i * 0x100000UL;
		found += has_anon_line(start, start + 2 * 4096, areas[i].perms);
	}
	EXPECT_EQ("maps_has_an_exact_line_per_anonymous_area_with_rwxp_perms", n, found);
	char prefix[64];
	snprintf(prefix, sizeof prefix, "%08lx-%08lx rw-s 00000000 00:01 ",
		 (unsigned long)shared, (unsigned long)shared + 4096);
	const char *line = line_starting(prefix);
	CHECK("a_shared_anonymous_area_shows_rw_s_as_dev_zero_deleted",
	      line && line_ends_with(line, "/dev/zero (deleted)"));

	/* mprotect of the middle page splits an area in three. */
	unsigned long a = MAP_BASE + 0x900000UL;
	mmap((void *)a, 3 * 4096, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	mprotect((void *)(a + 4096), 4096, PROT_READ);
	slurp("/proc/self/maps");
	CHECK("mprotect_of_a_middle_page_shows_as_three_lines",
	      has_anon_line(a, a + 4096, "rw-p") &&
		      has_anon_line(a + 4096, a + 2 * 4096, "r--p") &&
		      has_anon_line(a + 2 * 4096, a + 3 * 4096, "rw-p"));
	munmap((void *)a, 3 * 4096);
	slurp("/proc/self/maps");
	CHECK("an_unmapped_area_is_gone_from_maps", maps_line_of(a) == NULL);

	unsigned long brk0 = syscall(SYS_brk, 0);
	syscall(SYS_brk, brk0 + 8192);
	int local;
	slurp("/proc/self/maps");
	line = maps_line_of(brk0);
	CHECK("the_heap_grown_by_brk_is_named_heap", line && line_ends_with(line, "[heap]"));
	line = maps_line_of((unsigned long)&local);
	CHECK("the_area_holding_a_local_variable_is_named_stack",
	      line && line_ends_with(line, "[stack]"));
	/* Linux pads every named line so that the name starts at column 73. */
	CHECK("names_start_at_column_73", line && line_len(line) == 73 + strlen("[stack]"));
}

static pthread_barrier_t started, done;

static void *thread_body(void *arg)
{
	*(pid_t *)arg = syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&done);
	return NULL;
}

static void task_lists_every_thread(void)
{
	enum { THREADS = 3 };
	pthread_t t[THREADS];
	pid_t tids[THREADS + 1] = { getpid() };
	pthread_barrier_init(&started, NULL, THREADS + 1);
	pthread_barrier_init(&done, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, thread_body, &tids[i + 1]);
	pthread_barrier_wait(&started);

	DIR *dir = opendir("/proc/self/task");
	int listed = 0, matched = 0;
	struct dirent *d;
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		listed++;
		for (int i = 0; i <= THREADS; i++)
			matched += atoi(d->d_name) == tids[i];
	}
	if (dir)
		closedir(dir);
	EXPECT_EQ("task_lists_one_directory_per_thread", THREADS + 1, listed);
	EXPECT_EQ("task_lists_each_thread_by_its_tid", THREADS + 1, matched);

	char path[96];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tids[2]);
	slurp(path);
	EXPECT_EQ("a_thread_s_stat_starts_with_its_tid", tids[2], atoi(text));
	snprintf(path, sizeof path, "/proc/self/task/%d/status", tids[2]);
	slurp(path);
	const char *pid = line_starting("Pid:\t");
	const char *tgid = line_starting("Tgid:\t");
	CHECK("a_thread_s_status_shows_its_tid_and_the_process_s_tgid",
	      pid && tgid && atoi(pid + 5) == tids[2] && atoi(tgid + 6) == getpid());
	slurp("/proc/self/status");
	const char *threads = line_starting("Threads:\t");
	EXPECT_EQ("status_counts_every_thread", THREADS + 1, threads ? atoi(threads + 9) : -1);
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[1]);
	CHECK("a_thread_has_a_comm", slurp(path) > 1 && text[strlen(text) - 1] == '\n');

	pthread_barrier_wait(&done);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

/* Each of Linux's status lines named here appears, in this order. */
static void status_has_linux_s_lines_in_order(void)
{
	static const char *names[] = {
		"Name:", "Umask:", "State:", "Tgid:", "Ngid:", "Pid:", "PPid:", "TracerPid:",
		"Uid:", "Gid:", "FDSize:", "Groups:", "VmPeak:", "VmSize:", "VmHWM:", "VmRSS:",
		"RssAnon:", "VmData:", "VmStk:", "VmExe:", "VmPTE:", "VmSwap:", "Threads:",
		"SigQ:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:", "SigCgt:", "CapInh:",
		"CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "Cpus_allowed:", "Cpus_allowed_list:",
		"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:",
	};
	slurp("/proc/self/status");
	const char *at = text;
	int in_order = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char key[64];
		snprintf(key, sizeof key, "\n%s\t", names[i]);
		const char *p = i == 0 ? (strncmp(text, "Name:\t", 6) == 0 ? text : NULL)
				       : strstr(at, key);
		if (!p) {
			say("    missing or out of order: %s\n", names[i]);
			break;
		}
		at = p + 1;
		in_order++;
	}
	EXPECT_EQ("status_has_linux_s_lines_in_linux_s_order",
		  (int)(sizeof names / sizeof names[0]), in_order);
	long rss = proc_number("/proc/self/status", "VmRSS:");
	long size = proc_number("/proc/self/status", "VmSize:");
	CHECK("vmrss_is_positive_and_at_most_vmsize", rss > 0 && size >= rss);
	const char *vm = line_starting("VmSize:\t");
	CHECK("vm_lines_are_kb_padded_to_8_columns",
	      vm && line_len(vm) == strlen("VmSize:\t") + 8 + 3 && strncmp(vm + line_len(vm) - 3, " kB", 3) == 0);
}

static void handler(int sig)
{
	(void)sig;
}

static void status_values_follow_the_process(void)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, handler);
	slurp("/proc/self/status");
	const char *blk = line_starting("SigBlk:\t");
	unsigned long long mask = blk ? strtoull(blk + 8, NULL, 16) : 0;
	CHECK("sigblk_shows_a_signal_blocked_by_sigprocmask", mask & (1ULL << (SIGUSR1 - 1)));
	const char *ign = line_starting("SigIgn:\t");
	CHECK("sigign_shows_an_ignored_signal",
	      ign && (strtoull(ign + 8, NULL, 16) & (1ULL << (SIGUSR2 - 1))));
	const char *cgt = line_starting("SigCgt:\t");
	CHECK("sigcgt_shows_a_caught_signal",
	      cgt && (strtoull(cgt + 8, NULL, 16) & (1ULL << (SIGHUP - 1))));
	CHECK("sig_masks_are_16_hex_digits", blk && line_len(blk) == 8 + 16);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGHUP, SIG_DFL);

	/* A sleep whose timer fired before the task got to schedule() (the
	 * machine was busy for 5 ms) does not switch, on Linux either: count
	 * the sleeps that grew the number, and want three of at most ten. */
	int grew = 0;
	for (int i = 0; i < 10 && grew < 3; i++) {
		long before = proc_number("/proc/self/status", "voluntary_ctxt_switches:");
		sleep_ms(5);
		long after = proc_number("/proc/self/status", "voluntary_ctxt_switches:");
		grew += before >= 0 && after > before;
	}
	CHECK("voluntary_ctxt_switches_grows_by_each_sleep", grew == 3);

	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", child);
	for (int i = 0; i < 200 && proc_state(child) != 'S'; i++)
		sleep_ms(5);
	slurp(path);
	const char *state = line_starting("State:\t");
	CHECK("a_paused_child_is_s_sleeping", state && strncmp(state, "State:\tS (sleeping)\n", 20) == 0);
	const char *ppid = line_starting("PPid:\t");
	EXPECT_EQ("a_child_s_ppid_is_its_parent", getpid(), ppid ? atoi(ppid + 6) : -1);
	const char *tgid = line_starting("Tgid:\t");
	EXPECT_EQ("a_child_s_tgid_is_its_pid", child, tgid ? atoi(tgid + 6) : -1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void cpuinfo_and_meminfo_have_linux_s_fields(void)
{
	slurp("/proc/cpuinfo");
	int blocks = 0;
	for (const char *p = text; (p = strstr(p, "processor\t: ")); p++)
		blocks++;
	CHECK("cpuinfo_starts_with_processor_0", strncmp(text, "processor\t: 0\n", 14) == 0);
	EXPECT_EQ("cpuinfo_has_one_block_per_online_cpu", sysconf(_SC_NPROCESSORS_ONLN), blocks);
	const char *vendor = line_starting("vendor_id\t: ");
	CHECK("cpuinfo_has_a_vendor_id", vendor && line_len(vendor) > strlen("vendor_id\t: "));
	const char *flags = line_starting("flags\t\t: ");
	CHECK("cpuinfo_flags_name_the_fpu", flags && strncmp(flags + 9, "fpu ", 4) == 0);
	const char *mhz = line_starting("cpu MHz\t\t: ");
	CHECK("cpuinfo_has_the_cpu_mhz", mhz && atof(mhz + 11) > 100.0);
	CHECK("cpuinfo_has_family_model_and_name",
	      line_starting("cpu family\t: ") && line_starting("model\t\t: ") &&
		      line_starting("model name\t: ") && line_starting("stepping\t: "));

	static const char *fields[] = {
		"MemTotal:", "MemFree:", "MemAvailable:", "Buffers:", "Cached:", "SwapCached:",
		"Active:", "Inactive:", "SwapTotal:", "SwapFree:", "Dirty:", "AnonPages:",
		"Mapped:", "Shmem:", "Slab:", "KernelStack:", "PageTables:", "CommitLimit:",
		"Committed_AS:", "VmallocTotal:", "HugePages_Total:", "Hugepagesize:",
	};
	slurp("/proc/meminfo");
	const char *at = text;
	int in_order = 0;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		char key[64];
		snprintf(key, sizeof key, "%s%s", i ? "\n" : "", fields[i]);
		const char *p = strstr(at, key);
		if (!p)
			break;
		at = p + 1;
		in_order++;
	}
	EXPECT_EQ("meminfo_has_linux_s_fields_in_linux_s_order",
		  (int)(sizeof fields / sizeof fields[0]), in_order);
	const char *total = line_starting("MemTotal:");
	CHECK("meminfo_lines_pad_the_name_to_16_and_the_value_to_8",
	      total && line_len(total) == 16 + 8 + 3 && total[15] == ' ');
	CHECK("meminfo_has_no_swap", proc_number("/proc/meminfo", "SwapTotal:") == 0 ||
					     !on_lifecycle());
}

static void links_read_as_linux_s(void)
{
	char link[256], want[64];
	ssize_t n = readlink("/proc/self", link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof want, "%d", getpid());
	CHECK("proc_self_links_to_our_pid", strcmp(link, want) == 0);
	n = readlink("/proc/thread-self", link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof want, "%d/task/%d", getpid(), (int)syscall(SYS_gettid));
	CHECK("proc_thread_self_links_to_our_task_directory", strcmp(link, want) == 0);

	DIR *dir = opendir("/proc");
	struct dirent *d;
	int self_is_link = 0;
	while (dir && (d = readdir(dir)))
		if (strcmp(d->d_name, "self") == 0)
			self_is_link = d->d_type == DT_LNK;
	if (dir)
		closedir(dir);
	CHECK("ls_proc_lists_self_as_a_symlink", self_is_link);

	int fd = open("/tmp/procfs_fd_link", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	snprintf(want, sizeof want, "/proc/self/fd/%d", fd);
	n = readlink(want, link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("an_open_file_s_fd_link_reads_as_its_path", strcmp(link, "/tmp/procfs_fd_link") == 0);
	write(fd, "hello", 5);
	snprintf(want, sizeof want, "/proc/self/fdinfo/%d", fd);
	slurp(want);
	const char *flags = line_starting("flags:\t");
	CHECK("fdinfo_shows_the_position_and_the_octal_flags",
	      strncmp(text, "pos:\t5\n", 7) == 0 && flags &&
		      (strtol(flags + 7, NULL, 8) & (O_APPEND | O_ACCMODE)) == (O_APPEND | O_RDWR));
	close(fd);
	unlink("/tmp/procfs_fd_link");

	int p[2];
	pipe(p);
	struct stat st;
	fstat(p[0], &st);
	snprintf(want, sizeof want, "/proc/self/fd/%d", p[1]);
	n = readlink(want, link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
	CHECK("a_pipe_s_fd_link_reads_as_pipe_and_its_inode", strcmp(link, want) == 0);
	close(p[0]);
	close(p[1]);

	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	snprintf(want, sizeof want, "/proc/self/fd/%d", pidfd);
	n = readlink(want, link, sizeof link - 1);
	link[n > 0 ? n : 0] = '\0';
	CHECK("a_pidfd_s_fd_link_reads_as_anon_inode_pidfd", strcmp(link, "anon_inode:[pidfd]") == 0);
	close(pidfd);

	slurp("/proc/self/mounts");
	CHECK("proc_self_mounts_lists_proc", strstr(text, " /proc proc ") != NULL);
	slurp("/proc/mounts");
	CHECK("proc_mounts_lists_proc", strstr(text, " /proc proc ") != NULL);
}

/* write(2) of `s` to `path`: the count, or -1 with errno kept. */
static int write_count(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

static void comm_and_sys_kernel(void)
{
	char name[16] = "";
	CHECK("writing_comm_renames_the_process",
	      write_count("/proc/self/comm", "renamed") == 7 &&
		      prctl(PR_GET_NAME, name) == 0 && strcmp(name, "renamed") == 0);
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", child);
	EXPECT_FAILS("writing_another_process_s_comm_fails_with_einval", EINVAL,
		     write_count(path, "other"));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	struct utsname u;
	uname(&u);
	slurp("/proc/sys/kernel/ostype");
	CHECK("ostype_is_linux", strcmp(text, "Linux\n") == 0);
	slurp("/proc/sys/kernel/osrelease");
	CHECK("osrelease_is_uname_s_release",
	      strncmp(text, u.release, strlen(u.release)) == 0 && text[strlen(u.release)] == '\n');
	CHECK("threads_max_is_positive", proc_number("/proc/sys/kernel/threads-max", "") > 0);
	CHECK("tainted_is_a_number", slurp("/proc/sys/kernel/tainted") > 0 && text[0] >= '0' &&
					     text[0] <= '9');
	CHECK("core_pattern_is_set", slurp("/proc/sys/kernel/core_pattern") > 1);

	char old[65];
	snprintf(old, sizeof old, "%s", u.nodename);
	write_count("/proc/sys/kernel/hostname", "procfs-test\n");
	uname(&u);
	CHECK("writing_proc_hostname_sets_uname_s_nodename", strcmp(u.nodename, "procfs-test") == 0);
	sethostname("via-syscall", 11);
	slurp("/proc/sys/kernel/hostname");
	CHECK("sethostname_shows_in_proc_hostname", strcmp(text, "via-syscall\n") == 0);
	EXPECT_FAILS("sethostname_longer_than_64_fails_with_einval", EINVAL,
		     sethostname("x", 65));
	sethostname(old, strlen(old));
}

/* Forks children that exit at once until their pid goes down. */
static void pid_max_makes_pids_wrap(void)
{
	long old = proc_number("/proc/sys/kernel/pid_max", "");
	pid_t last = fork();
	if (last == 0)
		_exit(0);
	waitpid(last, NULL, 0);
	long max = last + 3 < 400 ? 400 : last + 3;
	char value[32];
	snprintf(value, sizeof value, "%ld\n", max);
	int wrote = write_count("/proc/sys/kernel/pid_max", value);
	EXPECT_EQ("pid_max_takes_a_write", (int)strlen(value), wrote);
	EXPECT_EQ("pid_max_reads_back_the_value_written", max,
		  proc_number("/proc/sys/kernel/pid_max", ""));
	pid_t pid = last, below_max = 1;
	for (int i = 0; i < 1000; i++) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			break;
		waitpid(pid, NULL, 0);
		below_max &= pid < max;
		if (pid < last)
			break;
		last = pid;
	}
	snprintf(value, sizeof value, "%ld\n", old);
	write_count("/proc/sys/kernel/pid_max", value);
	CHECK("every_pid_stays_below_pid_max", below_max);
	CHECK("allocation_wraps_to_at_least_300_after_pid_max",
	      pid > 0 && pid < last && pid >= 300);
	EXPECT_FAILS("pid_max_below_301_fails_with_einval", EINVAL,
		     write_count("/proc/sys/kernel/pid_max", "300"));
}

int main(void)
{
	check_begin("procfs");
	maps_show_each_mapping_with_its_permissions();
	task_lists_every_thread();
	status_has_linux_s_lines_in_order();
	status_values_follow_the_process();
	cpuinfo_and_meminfo_have_linux_s_fields();
	links_read_as_linux_s();
	comm_and_sys_kernel();
	pid_max_makes_pids_wrap();
	return check_end();
}
