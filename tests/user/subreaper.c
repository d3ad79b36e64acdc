/*
 * subreaper: a process that called prctl(PR_SET_CHILD_SUBREAPER, 1)
 * adopts the orphans among its descendants and can wait for them; the
 * flag reads back and is not inherited. Also PR_SET_NAME/PR_GET_NAME,
 * which keep at most 15 bytes of a thread's name.
 *
 * The subreaper is a child S of the test, so that the test process itself
 * keeps its flags: S forks M, M forks G and exits, G waits to be adopted.
 */
#include "check.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define TIMEOUT_MS 2000

struct adoption_report {
	int set_ret;         /* prctl(PR_SET_CHILD_SUBREAPER, 1) in S */
	int get_ret, flag;   /* PR_GET_CHILD_SUBREAPER in S */
	int child_flag;      /* PR_GET_CHILD_SUBREAPER in M: not inherited */
	pid_t subreaper;     /* S */
	pid_t m, m_status;
	pid_t g;             /* the grandchild, as G saw itself */
	pid_t g_new_ppid;    /* G's parent once M had gone */
	pid_t reaped;        /* what S's waitpid for G returned */
	int g_status;
	int cleared_flag;    /* PR_GET_CHILD_SUBREAPER after setting 0 */
};

struct grandchild_view {
	pid_t g, new_ppid;
};

static void grandchild(pid_t m, int out)
{
	long deadline = now_ms() + TIMEOUT_MS;
	while (getppid() == m && now_ms() < deadline)
		sleep_ms(2);
	struct grandchild_view v = { getpid(), getppid() };
	write(out, &v, sizeof v);
	_exit(6);
}

static void middle(int report_fd, int gc_fd)
{
	int flag = -1;
	prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0);
	write(report_fd, &flag, sizeof flag);
	pid_t me = getpid();
	pid_t g = fork();
	if (g == 0)
		grandchild(me, gc_fd);
	_exit(g > 0 ? 0 : 1);
}

static void subreaper(int out)
{
	struct adoption_report r;
	memset(&r, 0, sizeof r);
	r.subreaper = getpid();
	r.set_ret = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	r.flag = -1;
	r.get_ret = prctl(PR_GET_CHILD_SUBREAPER, &r.flag, 0, 0, 0);

	int flag_pipe[2], gc_pipe[2];
	pipe(flag_pipe);
	pipe(gc_pipe);
	r.m = fork();
	if (r.m == 0)
		middle(flag_pipe[1], gc_pipe[1]);
	close(flag_pipe[1]);
	close(gc_pipe[1]);
	r.child_flag = -1;
	read_full(flag_pipe[0], &r.child_flag, sizeof r.child_flag);
	r.m_status = -1;
	waitpid(r.m, &r.m_status, 0);
	struct grandchild_view v = { -1, -1 };
	read_full(gc_pipe[0], &v, sizeof v);
	r.g = v.g;
	r.g_new_ppid = v.new_ppid;
	r.g_status = -1;
	r.reaped = v.g > 0 ? waitpid(v.g, &r.g_status, 0) : -1;

	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	r.cleared_flag = -1;
	prctl(PR_GET_CHILD_SUBREAPER, &r.cleared_flag, 0, 0, 0);
	write(out, &r, sizeof r);
	_exit(0);
}

static void a_subreaper_adopts_and_reaps_its_orphaned_grandchild(void)
{
	int p[2];
	pipe(p);
	pid_t s = fork();
	if (s == 0)
		subreaper(p[1]);
	close(p[1]);
	struct adoption_report r;
	memset(&r, -1, sizeof r);
	int got = read_full(p[0], &r, sizeof r);
	close(p[0]);
	int s_status = -1;
	waitpid(s, &s_status, 0);

	EXPECT_EQ("the_subreaper_reports_back", 0, got);
	EXPECT_EQ("the_subreaper_exits_cleanly", 0, s_status);
	EXPECT_EQ("pr_set_child_subreaper_succeeds", 0, r.set_ret);
	EXPECT_EQ("pr_get_child_subreaper_succeeds", 0, r.get_ret);
	EXPECT_EQ("pr_get_child_subreaper_reads_back_1_after_setting_it", 1, r.flag);
	EXPECT_EQ("the_subreaper_flag_is_not_inherited_by_a_forked_child", 0, r.child_flag);
	EXPECT_EQ("the_intermediate_parent_exits_cleanly", 0, r.m_status);
	CHECK("the_grandchild_reports_its_pid", r.g > 0);
	EXPECT_EQ("an_orphaned_grandchild_is_adopted_by_the_subreaper", r.subreaper, r.g_new_ppid);
	EXPECT_EQ("the_subreaper_can_wait_for_its_adopted_grandchild", r.g, r.reaped);
	EXPECT_EQ("the_subreaper_gets_the_grandchilds_exit_status", 6 << 8, r.g_status);
	EXPECT_EQ("pr_get_child_subreaper_reads_back_0_after_clearing_it", 0, r.cleared_flag);
}

static void the_flag_of_a_fresh_process_is_clear(void)
{
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		int flag = -1;
		prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0);
		write(p[1], &flag, sizeof flag);
		_exit(0);
	}
	close(p[1]);
	int flag = -1;
	read_full(p[0], &flag, sizeof flag);
	close(p[0]);
	waitpid(c, NULL, 0);
	EXPECT_EQ("a_fresh_process_is_not_a_subreaper", 0, flag);
}

/* /proc/self/stat's comm field, between the parentheses. */
static void proc_self_comm(char *out, size_t size)
{
	char buf[512];
	snprintf(out, size, "?");
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
	if (open_paren && close_paren && close_paren > open_paren)
		snprintf(out, size, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
}

static void expect_name(const char *check, const char *expected, const char *got)
{
	if (strcmp(expected, got) == 0)
		check_ok(check);
	else
		check_fail(check, "expected \"%s\", got \"%s\"", expected, got);
}

static void *rename_thread(void *arg)
{
	char *seen = arg;
	prctl(PR_SET_NAME, "worker", 0, 0, 0);
	prctl(PR_GET_NAME, seen, 0, 0, 0);
	return NULL;
}

static void pr_set_name_round_trips(void)
{
	char original[16] = "", name[32];
	prctl(PR_GET_NAME, original, 0, 0, 0);

	int ret = prctl(PR_SET_NAME, "renamed", 0, 0, 0);
	memset(name, 'X', sizeof name);
	int get_ret = prctl(PR_GET_NAME, name, 0, 0, 0);
	EXPECT_EQ("pr_set_name_succeeds", 0, ret);
	EXPECT_EQ("pr_get_name_succeeds", 0, get_ret);
	expect_name("pr_get_name_returns_the_name_just_set", "renamed", name);
	char comm[64];
	proc_self_comm(comm, sizeof comm);
	expect_name("the_new_name_shows_in_proc_self_stat", "renamed", comm);

	prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz", 0, 0, 0);
	memset(name, 'X', sizeof name);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	expect_name("a_long_name_is_truncated_to_15_bytes", "abcdefghijklmno", name);
	EXPECT_EQ("pr_get_name_writes_a_terminating_nul_at_byte_15", 0, name[15]);
	EXPECT_EQ("pr_get_name_writes_no_more_than_16_bytes", 'X', name[16]);

	prctl(PR_SET_NAME, "main", 0, 0, 0);
	char thread_saw[32] = "";
	pthread_t t;
	int created = pthread_create(&t, NULL, rename_thread, thread_saw);
	if (created == 0)
		pthread_join(t, NULL);
	prctl(PR_GET_NAME, name, 0, 0, 0);
	expect_name("a_thread_reads_back_the_name_it_set_for_itself", "worker", thread_saw);
	expect_name("renaming_a_thread_leaves_the_main_threads_name_alone", "main", name);

	ret = prctl(-1, 0, 0, 0, 0);
	int err = errno;
	EXPECT_ERRNO("an_unknown_prctl_option_fails_with_einval", EINVAL, ret, err);

	prctl(PR_SET_NAME, original, 0, 0, 0);
}

int main(void)
{
	check_begin("subreaper");
	the_flag_of_a_fresh_process_is_clear();
	a_subreaper_adopts_and_reaps_its_orphaned_grandchild();
	pr_set_name_round_trips();
	return check_end();
}
