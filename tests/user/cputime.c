/*
 * cputime: the kernel charges CPU time to whoever runs. A busy loop shows
 * up in times(), in /proc/self/stat's utime and in /proc/stat's user time;
 * a reaped child's time moves into the parent's cutime; sysinfo reports
 * uptime, memory and tasks.
 */
#include "check.h"

#include <stdio.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

/* Spins in user mode until `ms` of CPU time have been charged to us. */
static void spin_cpu_ms(long ms)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct tms t;
	times(&t);
	clock_t until = t.tms_utime + t.tms_stime + ms * hz / 1000;
	while (times(&t), t.tms_utime + t.tms_stime < until)
		for (volatile int i = 0; i < 100000; i++)
			;
}

/* Field `n` (1-based, as in proc(5)) of /proc/<self>/stat. */
static long self_stat_field(int n)
{
	char buf[512];
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f || !fgets(buf, sizeof buf, f))
		return -1;
	fclose(f);
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < n; field++)
		p = strchr(p + 1, ' ');
	return p ? atol(p + 1) : -1;
}

/* user time of the "cpu" line of /proc/stat, in ticks. */
static long proc_stat_user(void)
{
	long user = -1;
	FILE *f = fopen("/proc/stat", "r");
	if (f && fscanf(f, "cpu %ld", &user) != 1)
		user = -1;
	if (f)
		fclose(f);
	return user;
}

int main(void)
{
	check_begin("cputime");
	long hz = sysconf(_SC_CLK_TCK);
	EXPECT_EQ("user_hz_is_100", 100, hz);

	struct tms before, after;
	clock_t t0 = times(&before);
	long stat_before = self_stat_field(14), system_before = proc_stat_user();
	spin_cpu_ms(300);
	clock_t t1 = times(&after);
	long utime = after.tms_utime - before.tms_utime;
	CHECK("a_300_ms_busy_loop_is_charged_as_user_time", utime >= 25);
	/* The elapsed clock can trail the CPU time run in it only by the one
	 * USER_HZ tick that truncating each of the four readings can lose. */
	CHECK("times_returns_a_clock_that_advanced_as_much", t1 - t0 + 1 >= utime);
	CHECK("proc_self_stat_utime_grows_with_it", self_stat_field(14) - stat_before >= 25);
	/* /proc/stat counts timer ticks, which an emulator under host load
	 * delivers late or drops while the run time above goes on counting;
	 * on Linux on real hardware they agree. */
	CHECK("proc_stat_cpu_user_grows_with_it", proc_stat_user() - system_before >= 10);

	pid_t child = fork();
	if (child == 0) {
		spin_cpu_ms(200);
		_exit(0);
	}
	struct tms mid;
	times(&mid);
	CHECK("a_running_child_is_not_in_cutime", mid.tms_cutime == after.tms_cutime);
	waitpid(child, 0, 0);
	times(&after);
	CHECK("the_reaped_child_s_200_ms_move_into_cutime",
	      after.tms_cutime + after.tms_cstime - mid.tms_cutime - mid.tms_cstime >= 15);
	CHECK("proc_self_stat_cutime_shows_them", self_stat_field(16) + self_stat_field(17) >= 15);

	struct sysinfo si;
	EXPECT_EQ("sysinfo_succeeds", 0, sysinfo(&si));
	CHECK("sysinfo_uptime_is_positive", si.uptime > 0);
	CHECK("sysinfo_free_ram_is_below_total", si.freeram > 0 && si.freeram < si.totalram);
	CHECK("sysinfo_counts_this_process", si.procs >= 1);
	return check_end();
}
