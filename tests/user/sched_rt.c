/*
 * sched_rt: the real-time classes on one CPU. A SCHED_FIFO task runs ahead
 * of every fair task until it blocks, and gives way to a task of its own
 * priority only when it blocks or yields; two SCHED_RR tasks at one
 * priority take turns of 100 ms (sched_rr_get_interval says so); RT
 * throttling (950000 us of every 1000000) leaves fair tasks at least 4 %
 * of a CPU a runaway FIFO task holds; SCHED_RESET_ON_FORK gives the child
 * of an RT task SCHED_OTHER at nice 0 and takes a negative nice from the
 * child of a fair task (BATCH and IDLE stay); /proc/<pid>/stat shows priority, rt_priority and
 * policy as Linux does.
 *
 * Every task is pinned to one CPU, the least loaded, so that the classes
 * compete for one CPU on a host with several.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

/* What the tasks of one check share: progress counters, CPU times and the
 * turns they took. */
struct shared {
	volatile long fair_spins;
	volatile long fair_cpu_ns;
	volatile long result[4];
	volatile int last;               /* who ran last: 0, 1, or -1 */
	volatile long cpu_ns[2];         /* each RT task's CPU time, published */
	volatile long turn_start[2];     /* its CPU time when its turn began */
	volatile int turns;              /* turns ended so far */
	volatile long turn_ns[64];       /* the length of each ended turn */
	volatile long throttle_ns[10];     /* when each throttle ended (THROTTLES) */
	volatile long throttle_fair_ns[10]; /* the fair task's CPU time then */
	volatile long throttle_rt_ns[10];  /* the FIFO task's CPU time then */
	volatile int throttles;            /* throttles seen */
};

static struct shared *sh;

/* musl leaves the policy calls to the caller (they act on threads). */
static int setscheduler(pid_t pid, int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	return syscall(SYS_sched_setscheduler, pid, policy, &sp);
}

static int getscheduler(pid_t pid)
{
	return syscall(SYS_sched_getscheduler, pid);
}

static int getparam(pid_t pid)
{
	struct sched_param sp = { .sched_priority = -1 };
	if (syscall(SYS_sched_getparam, pid, &sp) != 0)
		return -1;
	return sp.sched_priority;
}

/* Linux's struct sched_attr (include/uapi/linux/sched/types.h). */
struct sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

/* sched_setattr: policy, RT priority, nice and SCHED_FLAG_RESET_ON_FORK. */
static int set_attr(int policy, int prio, int nice, int reset_on_fork)
{
	struct sched_attr a = { .size = sizeof a, .sched_policy = policy,
				.sched_flags = reset_on_fork ? 1 : 0,
				.sched_nice = nice, .sched_priority = prio };
	return syscall(SYS_sched_setattr, 0, &a, 0);
}

/* The caller's nice value, from sched_getattr (that of a fair task). */
static int get_nice(void)
{
	struct sched_attr a;
	if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0)
		return -100;
	return a.sched_nice;
}

static long cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Field `n` (1-based) of /proc/<pid>/stat; -1000 if unreadable. */
static long stat_field(pid_t pid, int n)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_text(path, buf, sizeof buf) < 0)
		return -1000;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1000;
	p += 2;
	for (int field = 3; field < n; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1000;
		p++;
	}
	return strtol(p, NULL, 10);
}

/* Each allowed CPU's busy time (all but idle and iowait) from
 * /proc/stat, in ticks, into busy[]; -1 where there is no line. */
static void cpu_busy(long *busy, int n)
{
	static char buf[16384];
	for (int i = 0; i < n; i++)
		busy[i] = -1;
	if (read_text("/proc/stat", buf, sizeof buf) < 0)
		return;
	for (char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : 0) {
		int cpu;
		long v[8] = { 0 };
		if (sscanf(line, "cpu%d %ld %ld %ld %ld %ld %ld %ld %ld", &cpu, &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) >= 5 && cpu >= 0 && cpu < n)
			busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	}
}

/* Pins the program to the allowed CPU that was least busy over the last
 * 200 ms (on a host the suite shares with its QEMUs, the one they leave
 * alone), or to the one it runs on if /proc/stat does not tell. */
static void pin_to_least_loaded_cpu(void)
{
	enum { NCPU = 64 };
	long before[NCPU], after[NCPU];
	cpu_set_t allowed, set;
	sched_getaffinity(0, sizeof allowed, &allowed);
	cpu_busy(before, NCPU);
	sleep_ms(200);
	cpu_busy(after, NCPU);
	int best = sched_getcpu();
	long best_busy = -1;
	for (int cpu = 0; cpu < NCPU; cpu++) {
		long d = after[cpu] - before[cpu];
		if (CPU_ISSET(cpu, &allowed) && before[cpu] >= 0 && (best_busy < 0 || d < best_busy)) {
			best = cpu;
			best_busy = d;
		}
	}
	say("    pinned to cpu %d, busy %ld ticks in 200 ms\n", best, best_busy);
	CPU_ZERO(&set);
	CPU_SET(best, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		say("sched_rt: cannot pin to one CPU\n");
		_exit(2);
	}
}

/* A fair task that spins for ever, publishing its progress and CPU time. */
static pid_t fair_spinner(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;) {
			sh->fair_spins++;
			sh->fair_cpu_ns = cpu_ns();
		}
	}
	sleep_ms(20);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void spin_for(double secs)
{
	double end = now_s() + secs;
	while (now_s() < end)
		;
}

/* The FIFO child: spins, sleeps, then yields with no other RT task about;
 * notes how far the fair spinner got during each. */
static void fifo_against_fair(void)
{
	if (setscheduler(0, SCHED_FIFO, 50) != 0)
		_exit(3);
	long s0 = sh->fair_spins;
	spin_for(0.1);
	long s1 = sh->fair_spins;
	sleep_ms(30);
	long s2 = sh->fair_spins;
	double end = now_s() + 0.05;
	while (now_s() < end)
		sched_yield();
	long s3 = sh->fair_spins;
	sh->result[0] = s1 - s0;
	sh->result[1] = s2 - s1;
	sh->result[2] = s3 - s2;
	_exit(0);
}

static void fifo_runs_ahead_of_fair_tasks_until_it_blocks(void)
{
	memset((void *)sh, 0, sizeof *sh);
	pid_t fair = fair_spinner();
	pid_t rt = fork();
	if (rt == 0)
		fifo_against_fair();
	int status = wait_until(rt, 5000);
	stop(fair);
	EXPECT_EQ("a_task_may_make_itself_sched_fifo", 0, status);
	EXPECT_EQ("a_busy_fifo_task_gets_the_cpu_ahead_of_a_busy_fair_task", 0, sh->result[0]);
	CHECK("a_fifo_task_that_sleeps_lets_the_fair_task_run", sh->result[1] > 0);
	EXPECT_EQ("sched_yield_of_the_only_rt_task_does_not_give_way_to_fair_tasks", 0,
		  sh->result[2]);
}

/*
 * One of two RT tasks at one priority: runs until it has had `run_ns` of
 * CPU time, recording each turn: when it finds that the other ran last,
 * it ends the other's turn (its CPU time since its turn began) and starts
 * its own. With `yield_ns`, it calls sched_yield after each such stretch.
 */
static void take_turns(int me, long run_ns, long yield_ns)
{
	long start = cpu_ns(), next_yield = start + yield_ns;
	for (;;) {
		long t = cpu_ns();
		sh->cpu_ns[me] = t;
		if (sh->last != me) {
			int other = sh->last;
			if (other >= 0 && sh->turns < 64)
				sh->turn_ns[sh->turns++] = sh->cpu_ns[other] - sh->turn_start[other];
			sh->turn_start[me] = t;
			sh->last = me;
		}
		if (t - start >= run_ns)
			_exit(0);
		if (yield_ns && t >= next_yield) {
			next_yield = t + yield_ns;
			sched_yield();
		}
	}
}

/*
 * Starts two tasks of `policy` at priority 50 from a parent at FIFO 60 (so
 * that neither runs before both are set up) and waits for both. Returns
 * the turns that ended.
 */
static int two_rt_tasks(int policy, long run_ns, long yield_ns)
{
	memset((void *)sh, 0, sizeof *sh);
	sh->last = -1;
	if (setscheduler(0, SCHED_FIFO, 60) != 0)
		return -1;
	pid_t pid[2];
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			take_turns(i, run_ns, yield_ns);
		setscheduler(pid[i], policy, 50);
	}
	int bad = 0;
	for (int i = 0; i < 2; i++)
		bad |= wait_until(pid[i], 8000) != 0;
	setscheduler(0, SCHED_OTHER, 0);
	return bad ? -1 : sh->turns;
}

static void fifo_tasks_of_one_priority_run_until_they_yield(void)
{
	int turns = two_rt_tasks(SCHED_FIFO, 300000000L, 0);
	EXPECT_EQ("a_fifo_task_runs_to_its_end_before_another_of_its_priority_starts", 1, turns);
	turns = two_rt_tasks(SCHED_FIFO, 300000000L, 50000000L);
	CHECK("fifo_tasks_of_one_priority_that_yield_take_turns", turns >= 8);
}

/* Of `turns` RR turns, how many between the first and the last lasted
 * the 100 ms slice. The first began while the parent was still setting
 * the second task up (a loaded host stretches it), and the last one is
 * cut short by the end of the run: the turns between are whole slices. */
static int turns_in_slice(int turns)
{
	int in_slice = 0;
	for (int i = 1; i + 1 < turns && i < 64; i++)
		in_slice += sh->turn_ns[i] > 70000000L && sh->turn_ns[i] < 130000000L;
	return in_slice;
}

/* Two RR tasks alternate slice by slice, in one of three rounds: a host
 * that stalls QEMU in the middle of a turn stretches it and spoils a
 * round; a kernel that does not rotate them at the slice spoils all. */
static void rr_tasks_of_one_priority_alternate(void)
{
	int turns = 0, in_slice = -1;
	for (int round = 0; round < 3; round++) {
		turns = two_rt_tasks(SCHED_RR, 450000000L, 0);
		in_slice = turns_in_slice(turns);
		if (turns >= 6 && in_slice == turns - 2)
			break;
		say("    note: round %d: %d turns, %d of them whole slices\n", round, turns, in_slice);
		for (int i = 0; i < turns && i < 64; i++)
			say("    turn %d: %ld us\n", i, sh->turn_ns[i] / 1000);
	}
	CHECK("two_rr_tasks_of_one_priority_alternate", turns >= 6);
	EXPECT_EQ("each_rr_turn_lasts_the_100_ms_slice", turns > 1 ? turns - 2 : -1, in_slice);
}

static void rr_interval_is_the_slice(void)
{
	struct timespec ts = { -1, -1 };
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	setscheduler(child, SCHED_RR, 10);
	long r = syscall(SYS_sched_rr_get_interval, child, &ts);
	CHECK("sched_rr_get_interval_of_an_rr_task_is_100_ms",
	      r == 0 && ts.tv_sec == 0 && ts.tv_nsec == 100000000L);
	setscheduler(child, SCHED_FIFO, 10);
	r = syscall(SYS_sched_rr_get_interval, child, &ts);
	CHECK("sched_rr_get_interval_of_a_fifo_task_is_zero",
	      r == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0);
	EXPECT_EQ("proc_stat_priority_of_an_rt_task_is_minus_one_minus_rt_priority", -11,
		  stat_field(child, 18));
	EXPECT_EQ("proc_stat_nice_of_an_rt_task_is_its_nice", 0, stat_field(child, 19));
	EXPECT_EQ("proc_stat_rt_priority_is_field_40", 10, stat_field(child, 40));
	EXPECT_EQ("proc_stat_policy_is_field_41", SCHED_FIFO, stat_field(child, 41));
	setscheduler(child, SCHED_OTHER, 0);
	EXPECT_EQ("proc_stat_rt_priority_of_a_fair_task_is_zero", 0, stat_field(child, 40));
	EXPECT_EQ("proc_stat_policy_of_a_fair_task_is_zero", SCHED_OTHER, stat_field(child, 41));
	stop(child);
}

/* Throttle periods in a row the runaway FIFO task measures, and the
 * throttles it notes at most. */
#define PERIODS 2
#define THROTTLES 10

/* Whether the PERIODS periods before throttle `n` each lasted about a
 * second (Linux's sched_rt_period_us). */
static int whole_periods_before(int n)
{
	for (int i = n - PERIODS; i < n; i++) {
		long wall = sh->throttle_ns[i + 1] - sh->throttle_ns[i];
		if (i < 0 || wall < 900000000L || wall > 1100000000L)
			return 0;
	}
	return 1;
}

/*
 * The runaway FIFO task: spins, reading the fair task's CPU time each
 * turn of its loop. When that grew by more than 1 ms since the last turn,
 * the fair task ran while this task was off the CPU: its RT time was used
 * up and a throttle just ended. It notes when (wall clock) and both
 * tasks' CPU times then, in throttle_*[], until PERIODS periods in a row
 * lasted about a second; gives up after THROTTLES throttles or 12 s.
 * Only CPU times count, not gaps in this task's clock readings: those
 * also come from a busy host taking the CPU away, and a preemption
 * between reading the clock and reading the fair task's time puts the
 * gap and the fair task's run in different turns. A busy host can also
 * spoil one period under QEMU (time it takes away is charged to whoever
 * runs), so the periods are taken in a row wherever they are whole; a
 * throttle the fair task misses every other period never gives any.
 */
static void throttled_hog(void)
{
	if (setscheduler(0, SCHED_FIFO, 50) != 0)
		_exit(3);
	double start = now_s();
	long f_last = sh->fair_cpu_ns;
	int n = 0;
	while (n < THROTTLES && now_s() - start < 12.0) {
		long f = sh->fair_cpu_ns;
		if (f - f_last > 1000000L) {
			sh->throttle_ns[n] = (long)(now_s() * 1e9);
			sh->throttle_fair_ns[n] = f;
			sh->throttle_rt_ns[n] = cpu_ns();
			sh->throttles = ++n;
			if (whole_periods_before(n - 1))
				_exit(0);
		}
		f_last = f;
	}
	_exit(4);
}

/*
 * One round: a runaway FIFO task against a fair spinner on this CPU. Over
 * the periods in a row that lasted about a second (a throttle that the
 * fair task did not get makes one of two seconds), the FIFO task gets
 * 90-96 % and the fair task at least 4 %; one period alone may give the
 * FIFO task more than 95 %, as in Linux: a tick that comes late (a busy
 * host holding up QEMU) throttles it late, and the next period's runtime
 * pays that back. The shares in hundredths of a percent; returns the
 * hog's wait status, 0 when it found whole periods.
 */
static int throttle_round(long *fair_share, long *rt_share)
{
	memset((void *)sh, 0, sizeof *sh);
	pid_t fair = fair_spinner();
	pid_t hog = fork();
	if (hog == 0)
		throttled_hog();
	int status = wait_until(hog, 15000);
	stop(fair);
	for (int i = 0; status != 0 && i < sh->throttles; i++)
		say("    throttle %d ended %ld ms after the first\n", i,
		    (sh->throttle_ns[i] - sh->throttle_ns[0]) / 1000000);
	int last = status == 0 ? sh->throttles - 1 : 0, first = last - PERIODS;
	*fair_share = 0;
	*rt_share = 0;
	for (int i = first; status == 0 && i < last; i++) {
		long wall = sh->throttle_ns[i + 1] - sh->throttle_ns[i];
		long f = (sh->throttle_fair_ns[i + 1] - sh->throttle_fair_ns[i]) * 10000 / wall;
		long r = (sh->throttle_rt_ns[i + 1] - sh->throttle_rt_ns[i]) * 10000 / wall;
		say("    period %d: %ld ms, fair task %ld.%02ld %%, fifo task %ld.%02ld %%\n", i,
		    wall / 1000000, f / 100, f % 100, r / 100, r % 100);
	}
	if (status == 0) {
		long window = sh->throttle_ns[last] - sh->throttle_ns[first];
		*fair_share = (sh->throttle_fair_ns[last] - sh->throttle_fair_ns[first]) * 10000 / window;
		*rt_share = (sh->throttle_rt_ns[last] - sh->throttle_rt_ns[first]) * 10000 / window;
	}
	say("    over %d periods: fair task %ld.%02ld %%, fifo task %ld.%02ld %%\n", PERIODS,
	    *fair_share / 100, *fair_share % 100, *rt_share / 100, *rt_share % 100);
	return status;
}

static void rt_throttling_leaves_fair_tasks_some_cpu(void)
{
	char buf[64];
	long runtime = read_text("/proc/sys/kernel/sched_rt_runtime_us", buf, sizeof buf) > 0
			       ? atol(buf) : -2;
	long period = read_text("/proc/sys/kernel/sched_rt_period_us", buf, sizeof buf) > 0
			      ? atol(buf) : -2;
	EXPECT_EQ("sched_rt_runtime_us_is_950000", 950000, runtime);
	EXPECT_EQ("sched_rt_period_us_is_1000000", 1000000, period);
	int fd = open("/proc/sys/kernel/sched_rt_runtime_us", O_WRONLY);
	errno = 0;
	long w = fd < 0 ? -1 : write(fd, "2000000\n", 8);
	int err = errno;
	if (fd >= 0)
		close(fd);
	EXPECT_ERRNO("an_rt_runtime_longer_than_the_period_is_refused", EINVAL, w, err);

	/*
	 * The shares hold in one of three rounds: a host that stalls QEMU
	 * for most of a throttle spoils a round (time it takes away is
	 * charged to whoever runs), a kernel that does not throttle, or
	 * throttles too little or too much, spoils all three. On the host,
	 * other fair tasks on the CPU (the suite's QEMUs) share the throttled
	 * time with ours: there it need only get 1 %.
	 */
	long fair_min = on_lifecycle() ? 400 : 100, fair_share = 0, rt_share = 0;
	int status = -1;
	for (int round = 0; round < 3; round++) {
		status = throttle_round(&fair_share, &rt_share);
		if (status == 0 && fair_share >= fair_min && rt_share >= 9000 && rt_share <= 9600)
			break;
		say("    note: round %d spoilt\n", round);
	}
	EXPECT_EQ("a_runaway_fifo_task_is_throttled_once_a_second_and_the_fair_task_runs_then", 0,
		  status);
	CHECK("rt_throttling_leaves_a_fair_task_at_least_4_percent", fair_share >= fair_min);
	CHECK("a_runaway_fifo_task_gets_90_to_96_percent", rt_share >= 9000 && rt_share <= 9600);
}

/* The policy, RT priority and nice a fork child starts with, in result[]. */
static void child_sched(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		sh->result[0] = getscheduler(0);
		sh->result[1] = getparam(0);
		sh->result[2] = get_nice();
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static void reset_on_fork_fifo(void)
{
	set_attr(SCHED_OTHER, 0, 5, 0);
	setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 10);
	EXPECT_EQ("sched_getscheduler_reports_the_reset_on_fork_flag",
		  SCHED_FIFO | SCHED_RESET_ON_FORK, getscheduler(0));
	EXPECT_EQ("proc_stat_policy_leaves_out_the_reset_on_fork_flag", SCHED_FIFO,
		  stat_field(getpid(), 41));
	EXPECT_EQ("an_rt_task_keeps_its_nice_in_proc_stat", 5, stat_field(getpid(), 19));
	child_sched();
	EXPECT_EQ("a_reset_on_fork_fifo_parent_has_a_sched_other_child", SCHED_OTHER,
		  sh->result[0]);
	EXPECT_EQ("the_child_of_a_reset_on_fork_parent_has_rt_priority_zero", 0, sh->result[1]);
	EXPECT_EQ("reset_on_fork_gives_the_child_of_an_rt_parent_nice_0", 0, sh->result[2]);
	setscheduler(0, SCHED_FIFO, 10);
	child_sched();
	EXPECT_EQ("a_fifo_parent_has_a_fifo_child", SCHED_FIFO, sh->result[0]);
	EXPECT_EQ("the_child_inherits_the_rt_priority", 10, sh->result[1]);
}

static void reset_on_fork_fair(void)
{
	set_attr(SCHED_BATCH, 0, -5, 1);
	child_sched();
	EXPECT_EQ("reset_on_fork_keeps_sched_batch", SCHED_BATCH, sh->result[0]);
	EXPECT_EQ("reset_on_fork_resets_a_negative_nice_to_0", 0, sh->result[2]);
	/* Linux's SCHED_IDLE keeps the nice value it had (sched_nice is
	 * read for SCHED_NORMAL and SCHED_BATCH only). */
	set_attr(SCHED_OTHER, 0, 5, 0);
	set_attr(SCHED_IDLE, 0, -10, 1);
	child_sched();
	EXPECT_EQ("reset_on_fork_keeps_sched_idle", SCHED_IDLE, sh->result[0]);
	EXPECT_EQ("reset_on_fork_keeps_a_positive_nice", 5, sh->result[2]);
	set_attr(SCHED_OTHER, 0, -3, 0);
	set_attr(SCHED_IDLE, 0, 0, 0);
	child_sched();
	EXPECT_EQ("an_idle_parent_has_an_idle_child", SCHED_IDLE, sh->result[0]);
	EXPECT_EQ("without_reset_on_fork_the_child_inherits_a_negative_nice", -3, sh->result[2]);
}

int main(void)
{
	check_begin("sched_rt");
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	pin_to_least_loaded_cpu();
	fifo_runs_ahead_of_fair_tasks_until_it_blocks();
	fifo_tasks_of_one_priority_run_until_they_yield();
	rr_tasks_of_one_priority_alternate();
	rr_interval_is_the_slice();
	as_child(reset_on_fork_fifo);
	as_child(reset_on_fork_fair);
	rt_throttling_leaves_fair_tasks_some_cpu();
	return check_end();
}
