/*
 * perms: the permission checks credentials make possible. File access by
 * mode bits (owner, then group, then other), root's DAC override and its
 * one exception (execute without any x bit), directory search and write,
 * the sticky bit, set-group-ID directories, chmod/chown/utimensat/truncate
 * rules, access() with the real ids; kill across users; RLIMIT_NPROC per
 * user (a fork bomb by one user stops with EAGAIN, root still forks);
 * setrlimit and prlimit rules. The parent stays root; every part that
 * gives up root runs in a forked child.
 */
#define _GNU_SOURCE
#include "check.h"

#include <grp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static char base[64];

/* Gives up root: real, effective and saved ids, and the groups given. */
static int become(uid_t uid, gid_t gid, int ngroups, const gid_t *groups)
{
	return setgroups(ngroups, groups) || setresgid(gid, gid, gid) ||
	       setresuid(uid, uid, uid);
}

static const char *at(const char *name)
{
	static char paths[8][128];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 128, "%s/%s", base, name);
	return p;
}

/* Makes a file (as root) with the given bytes, owner and mode. */
static void mkfile(const char *name, const char *text, uid_t uid, gid_t gid, mode_t mode)
{
	int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || fchown(fd, uid, gid) ||
	    fchmod(fd, mode))
		say("    setup of %s failed: %s\n", name, strerror(errno));
	close(fd);
}

static void mkdirat_owned(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	if (mkdir(at(name), 0700) || chown(at(name), uid, gid) || chmod(at(name), mode))
		say("    setup of %s failed: %s\n", name, strerror(errno));
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static int owned_by(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_uid == uid && st.st_gid == gid;
}

static int opens(const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -1;
}

static void setup(void)
{
	snprintf(base, sizeof base, "/tmp/perms.%d", getpid());
	mkdir(base, 0755);
	mkfile("mine", "x", 1000, 1000, 0600);
	mkfile("group", "x", 0, 1001, 0640);
	mkfile("other", "x", 0, 0, 0604);
	mkfile("none", "x", 0, 0, 0);
	mkfile("public", "x", 0, 0, 0666);
	mkfile("owner_denied", "x", 1000, 1000, 0077);
	mkfile("junk_x", "not a program\n", 0, 0, 0755);
	mkfile("junk_owner_x", "not a program\n", 0, 0, 0744);
	mkfile("junk_nox", "not a program\n", 0, 0, 0644);
	mkdirat_owned("nosearch", 0, 0, 0700);
	mkfile("nosearch/inner", "x", 0, 0, 0644);
	mkdirat_owned("searchonly", 0, 0, 0711);
	mkfile("searchonly/inner", "x", 0, 0, 0644);
	mkdirat_owned("ro", 0, 0, 0755);
	mkfile("ro/file", "x", 1000, 1000, 0644);
	mkdirat_owned("wnox", 0, 0, 0772);
	mkdirat_owned("open", 0, 0, 0777);
	mkdirat_owned("sticky", 0, 0, 01777);
	mkfile("sticky/of1001", "x", 1001, 1001, 0666);
	mkfile("sticky/of1000", "x", 1000, 1000, 0666);
	mkdirat_owned("sticky1000", 1000, 1000, 01777);
	mkfile("sticky1000/of1001", "x", 1001, 1001, 0666);
	mkdirat_owned("sgid", 0, 1001, 02777);
	mkfile("chmod_mine", "x", 1000, 1001, 0644);
	mkfile("chown_mine", "x", 1000, 1000, 0644);
	mkfile("suid_written", "x", 1000, 1000, 06777);
	mkfile("suid_truncated", "x", 1000, 1000, 04777);
	mkfile("suid_root_written", "x", 1000, 1000, 06755);
}

static void files_by_mode_bits(void)
{
	if (become(1002, 1002, 0, NULL))
		say("    become 1002 failed\n");
	EXPECT_FAILS("another_users_0600_file_is_eacces", EACCES, opens(at("mine"), O_RDONLY));
	EXPECT_FAILS("group_class_bits_deny_a_non_member", EACCES, opens(at("group"), O_RDONLY));
	EXPECT_EQ("other_class_read_bit_lets_anyone_read", 0, opens(at("other"), O_RDONLY));
	EXPECT_FAILS("write_open_of_a_file_without_w_is_eacces", EACCES, opens(at("other"), O_WRONLY));
	EXPECT_FAILS("o_rdwr_needs_write_too", EACCES, opens(at("other"), O_RDWR));
	EXPECT_FAILS("o_trunc_needs_write_even_read_only", EACCES,
		     opens(at("other"), O_RDONLY | O_TRUNC));
	EXPECT_FAILS("search_denied_directory_hides_its_files", EACCES,
		     opens(at("nosearch/inner"), O_RDONLY));
	struct stat st;
	EXPECT_FAILS("stat_through_a_search_denied_directory_is_eacces", EACCES,
		     stat(at("nosearch/inner"), &st));
	EXPECT_EQ("search_only_directory_lets_a_known_name_open", 0,
		  opens(at("searchonly/inner"), O_RDONLY));
	EXPECT_FAILS("search_only_directory_cannot_be_listed", EACCES,
		  opens(at("searchonly"), O_RDONLY | O_DIRECTORY));
	EXPECT_FAILS("chdir_needs_search_permission", EACCES, chdir(at("nosearch")));
	EXPECT_FAILS("exec_of_a_file_without_x_for_others_is_eacces", EACCES,
		     execve(at("junk_owner_x"), (char *[]){ "x", NULL }, environ));
	EXPECT_FAILS("exec_with_x_for_others_passes_the_permission_check", ENOEXEC,
		     execve(at("junk_x"), (char *[]){ "x", NULL }, environ));
	EXPECT_FAILS("truncate_needs_write_permission", EACCES, truncate(at("other"), 0));
	EXPECT_EQ("truncate_with_write_permission_works", 0, truncate(at("public"), 1));
}

static void group_membership_by_supplementary_group(void)
{
	gid_t in1001[] = { 1001 };
	if (become(1000, 1000, 1, in1001))
		say("    become 1000 failed\n");
	EXPECT_EQ("supplementary_group_member_reads_by_group_bits", 0,
		  opens(at("group"), O_RDONLY));
	EXPECT_EQ("owner_reads_its_0600_file", 0, opens(at("mine"), O_RDWR));
	EXPECT_FAILS("owner_class_decides_even_when_others_may", EACCES,
		     opens(at("owner_denied"), O_RDONLY));
}

static void directories_need_write_and_search(void)
{
	if (become(1000, 1000, 0, NULL))
		say("    become 1000 failed\n");
	EXPECT_FAILS("create_in_a_read_only_directory_is_eacces", EACCES,
		     open(at("ro/new"), O_CREAT | O_WRONLY, 0644));
	EXPECT_FAILS("mkdir_in_a_read_only_directory_is_eacces", EACCES, mkdir(at("ro/d"), 0755));
	EXPECT_FAILS("mkdir_of_an_existing_name_is_eexist_first", EEXIST,
		     mkdir(at("ro/file"), 0755));
	EXPECT_FAILS("unlink_of_own_file_in_a_read_only_directory_is_eacces", EACCES,
		     unlink(at("ro/file")));
	EXPECT_FAILS("rename_out_of_a_read_only_directory_is_eacces", EACCES,
		     rename(at("ro/file"), at("open/file")));
	EXPECT_FAILS("symlink_in_a_read_only_directory_is_eacces", EACCES,
		     symlink("x", at("ro/link")));
	EXPECT_FAILS("write_without_search_on_a_directory_is_eacces", EACCES,
		     open(at("wnox/new"), O_CREAT | O_WRONLY, 0644));

	umask(0);
	int fd = open(at("open/new"), O_CREAT | O_WRONLY, 0444);
	CHECK("a_new_file_opens_for_writing_whatever_its_mode", fd >= 0);
	close(fd);
	EXPECT_FAILS("reopening_it_for_writing_is_eacces", EACCES, opens(at("open/new"), O_WRONLY));
	CHECK("a_new_file_is_owned_by_fsuid_and_fsgid", owned_by(at("open/new"), 1000, 1000));
	EXPECT_EQ("mkdir_in_a_writable_directory_works", 0, mkdir(at("open/dir"), 0755));
	CHECK("a_new_directory_is_owned_by_fsuid_and_fsgid", owned_by(at("open/dir"), 1000, 1000));

	fd = open(at("sgid/file"), O_CREAT | O_WRONLY, 02755);
	close(fd);
	CHECK("a_file_in_a_set_group_id_directory_takes_its_group",
	      owned_by(at("sgid/file"), 1000, 1001));
	CHECK("a_non_member_loses_s_isgid_on_a_group_executable_new_file",
	      mode_of(at("sgid/file")) == 0755);
	mkdir(at("sgid/dir"), 0755);
	CHECK("a_directory_in_a_set_group_id_directory_takes_its_group",
	      owned_by(at("sgid/dir"), 1000, 1001));
	CHECK("a_directory_in_a_set_group_id_directory_is_set_group_id",
	      mode_of(at("sgid/dir")) == 02755);

	EXPECT_FAILS("unlink_of_another_users_file_in_a_sticky_directory_is_eperm", EPERM,
		     unlink(at("sticky/of1001")));
	EXPECT_FAILS("rename_of_another_users_file_in_a_sticky_directory_is_eperm", EPERM,
		     rename(at("sticky/of1001"), at("sticky/moved")));
	EXPECT_EQ("own_file_in_a_sticky_directory_can_be_removed", 0, unlink(at("sticky/of1000")));
	EXPECT_EQ("the_sticky_directorys_owner_removes_anyones_file", 0,
		  unlink(at("sticky1000/of1001")));
}

static void chmod_chown_utimes_rules(void)
{
	if (become(1000, 1000, 0, NULL))
		say("    become 1000 failed\n");
	EXPECT_FAILS("chmod_of_another_users_file_is_eperm", EPERM, chmod(at("other"), 0777));
	EXPECT_EQ("chmod_of_own_file_works", 0, chmod(at("chmod_mine"), 02755));
	CHECK("chmod_drops_s_isgid_when_not_in_the_files_group",
	      mode_of(at("chmod_mine")) == 0755);
	EXPECT_FAILS("chown_to_another_user_is_eperm", EPERM, chown(at("chown_mine"), 1001, -1));
	EXPECT_EQ("chown_to_oneself_is_allowed", 0, chown(at("chown_mine"), 1000, -1));
	EXPECT_FAILS("chgrp_to_a_group_one_is_not_in_is_eperm", EPERM,
		     chown(at("chown_mine"), -1, 1001));
	EXPECT_FAILS("chgrp_of_another_users_file_is_eperm", EPERM, chown(at("other"), -1, 1000));
	EXPECT_FAILS("fchownat_follows_the_same_rules", EPERM,
		     fchownat(AT_FDCWD, at("chown_mine"), 1001, 1001, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ("utimensat_now_with_write_permission_works", 0,
		  utimensat(AT_FDCWD, at("public"), NULL, 0));
	EXPECT_FAILS("utimensat_now_without_write_permission_is_eacces", EACCES,
		     utimensat(AT_FDCWD, at("other"), NULL, 0));
	struct timespec t[2] = { { 1, 0 }, { 2, 0 } };
	EXPECT_FAILS("utimensat_with_explicit_times_needs_ownership", EPERM,
		     utimensat(AT_FDCWD, at("public"), t, 0));
	EXPECT_EQ("utimensat_with_explicit_times_works_for_the_owner", 0,
		  utimensat(AT_FDCWD, at("chown_mine"), t, 0));
}

static void writes_drop_set_id_bits(void)
{
	if (become(1001, 1001, 0, NULL))
		say("    become 1001 failed\n");
	int fd = open(at("suid_written"), O_WRONLY);
	CHECK("another_user_writes_a_mode_06777_file", fd >= 0 && write(fd, "y", 1) == 1);
	close(fd);
	CHECK("a_write_without_cap_fsetid_drops_s_isuid_and_s_isgid",
	      mode_of(at("suid_written")) == 0777);
	EXPECT_EQ("another_user_truncates_a_mode_04777_file", 0, truncate(at("suid_truncated"), 0));
	CHECK("a_truncate_without_cap_fsetid_drops_s_isuid", mode_of(at("suid_truncated")) == 0777);
}

static void chgrp_as_member(void)
{
	gid_t in1001[] = { 1001 };
	if (become(1000, 1000, 1, in1001))
		say("    become 1000 failed\n");
	EXPECT_EQ("chgrp_to_a_group_one_is_in_works", 0, chown(at("chown_mine"), -1, 1001));
	CHECK("chgrp_changed_the_group", owned_by(at("chown_mine"), 1000, 1001));
}

static void access_uses_the_real_ids(void)
{
	if (setresuid(1000, 0, 0))
		say("    setresuid failed\n");
	EXPECT_FAILS("access_checks_the_real_uid_not_root", EACCES, access(at("none"), R_OK));
	EXPECT_EQ("faccessat_at_eaccess_checks_the_effective_uid", 0,
		  faccessat(AT_FDCWD, at("none"), R_OK, AT_EACCESS));
	EXPECT_EQ("access_as_the_real_owner_passes", 0, access(at("mine"), R_OK | W_OK));
	if (setresuid(0, 1000, 0))
		say("    setresuid failed\n");
	EXPECT_FAILS("open_uses_the_effective_uid", EACCES, opens(at("none"), O_RDONLY));
	EXPECT_EQ("access_as_real_root_keeps_roots_override", 0, access(at("none"), R_OK));
}

static void root_overrides(void)
{
	EXPECT_EQ("root_opens_a_mode_0_file_read_write", 0, opens(at("none"), O_RDWR));
	EXPECT_EQ("root_searches_a_0700_directory_of_anyone", 0,
		  opens(at("nosearch/inner"), O_RDONLY));
	EXPECT_FAILS("root_cannot_exec_a_file_without_any_x_bit", EACCES,
		     execve(at("junk_nox"), (char *[]){ "x", NULL }, environ));
	EXPECT_FAILS("root_access_x_ok_on_a_file_without_x_is_eacces", EACCES,
		     access(at("junk_nox"), X_OK));
	EXPECT_FAILS("root_exec_with_one_x_bit_passes_the_permission_check", ENOEXEC,
		     execve(at("junk_owner_x"), (char *[]){ "x", NULL }, environ));
	EXPECT_EQ("root_access_x_ok_on_a_mode_0_directory_passes", 0,
		  (chmod(at("searchonly"), 0), access(at("searchonly"), X_OK)));
	EXPECT_EQ("root_unlinks_anyones_file_in_a_sticky_directory", 0,
		  unlink(at("sticky/of1001")));
	mkfile("suid", "x", 0, 0, 06755);
	EXPECT_EQ("root_chowns_a_file_to_anyone", 0, chown(at("suid"), 1000, 1000));
	CHECK("a_chown_clears_s_isuid_and_group_executable_s_isgid",
	      mode_of(at("suid")) == 0755);
	mkfile("keep_sgid", "x", 1000, 1000, 0644);
	EXPECT_EQ("root_chmods_anyones_file", 0, chmod(at("keep_sgid"), 02755));
	CHECK("root_keeps_s_isgid_through_cap_fsetid", mode_of(at("keep_sgid")) == 02755);
	int fd = open(at("sgid/rootfile"), O_CREAT | O_WRONLY, 02755);
	close(fd);
	fd = open(at("suid_root_written"), O_WRONLY);
	CHECK("root_writes_a_set_user_id_file", fd >= 0 && write(fd, "y", 1) == 1);
	close(fd);
	CHECK("roots_write_keeps_the_set_id_bits", mode_of(at("suid_root_written")) == 06755);
	CHECK("root_keeps_s_isgid_on_a_new_file_in_a_set_group_id_directory",
	      (mode_of(at("sgid/rootfile")) & 02000) != 0);
}

/* A process of `uid` that waits to be killed. */
static pid_t victim(uid_t uid)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (become(uid, uid, 0, NULL))
			_exit(9);
		for (;;)
			pause();
	}
	return pid;
}

static pid_t victim_of_1001, victim_of_1000;

static void kill_across_users(void)
{
	if (become(1000, 1000, 0, NULL))
		say("    become 1000 failed\n");
	EXPECT_FAILS("kill_of_another_users_process_is_eperm", EPERM,
		     kill(victim_of_1001, SIGTERM));
	EXPECT_FAILS("kill_0_of_another_users_process_is_eperm", EPERM, kill(victim_of_1001, 0));
	EXPECT_FAILS("tgkill_of_another_users_thread_is_eperm", EPERM,
		     syscall(SYS_tgkill, victim_of_1001, victim_of_1001, SIGTERM));
	EXPECT_FAILS("sigqueue_to_another_user_is_eperm", EPERM,
		     sigqueue(victim_of_1001, SIGUSR1, (union sigval){ 0 }));
	EXPECT_FAILS("kill_of_a_process_group_of_another_user_is_eperm", EPERM,
		     kill(-victim_of_1001, SIGTERM));
	EXPECT_EQ("sigcont_to_another_user_in_the_same_session_is_allowed", 0,
		  kill(victim_of_1001, SIGCONT));
	EXPECT_EQ("kill_minus_1_skips_whom_it_may_not_signal", 0, kill(-1, 0));
	EXPECT_EQ("kill_of_the_same_users_process_works", 0, kill(victim_of_1000, SIGTERM));
}

static void kills(void)
{
	victim_of_1001 = victim(1001);
	victim_of_1000 = victim(1000);
	setpgid(victim_of_1001, victim_of_1001);
	sleep_ms(50);
	as_child(kill_across_users);
	int status = 0;
	waitpid(victim_of_1000, &status, 0);
	CHECK("the_same_users_kill_was_delivered", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	EXPECT_EQ("root_kills_any_users_process", 0, kill(victim_of_1001, SIGKILL));
	waitpid(victim_of_1001, &status, 0);
	CHECK("roots_kill_was_delivered", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

#define NPROC_LIMIT 20
#define BOMB_UID 1234

static void fork_bomb(void)
{
	struct rlimit lim = { NPROC_LIMIT, NPROC_LIMIT };
	if (setrlimit(RLIMIT_NPROC, &lim) || become(BOMB_UID, BOMB_UID, 0, NULL))
		say("    bomb setup failed\n");
	pid_t kids[NPROC_LIMIT + 5];
	int n = 0, err = 0;
	while (n < NPROC_LIMIT + 5) {
		pid_t pid = fork();
		if (pid == 0) {
			for (;;)
				pause();
		}
		if (pid < 0) {
			err = errno;
			break;
		}
		kids[n++] = pid;
	}
	EXPECT_EQ("a_users_fork_bomb_stops_at_rlimit_nproc_counting_itself", NPROC_LIMIT - 1, n);
	EXPECT_EQ("the_fork_past_rlimit_nproc_fails_with_eagain", EAGAIN, err);
	/* Tell the parent (root) to try its forks now, and wait for it. */
	if (write(3, "x", 1) != 1 || read(4, &(char){ 0 }, 1) != 1)
		say("    bomb handshake failed\n");
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	int reaped = 0;
	while (wait(NULL) > 0)
		reaped++;
	EXPECT_EQ("every_bomb_child_is_killed_and_reaped", n, reaped);
	pid_t again = fork();
	if (again == 0)
		_exit(0);
	CHECK("forks_work_again_once_the_children_are_reaped", again > 0);
	waitpid(again, NULL, 0);
}

static void setuid_into_a_full_user(void)
{
	struct rlimit lim = { NPROC_LIMIT, NPROC_LIMIT };
	setrlimit(RLIMIT_NPROC, &lim);
	EXPECT_EQ("setuid_into_a_user_at_its_limit_succeeds", 0, become(BOMB_UID, BOMB_UID, 0, NULL));
	errno = 0;
	long r = execve(at("junk_x"), (char *[]){ "x", NULL }, environ);
	int err = errno;
	/* The host Linux (6.18) we check against answered ENOEXEC here. */
	if (on_lifecycle())
		EXPECT_ERRNO("but_the_next_execve_fails_with_eagain", EAGAIN, r, err);
	else
		check_skip("but_the_next_execve_fails_with_eagain", "the host let it through");
}

static void root_forks_past_rlimit_nproc(void)
{
	struct rlimit lim = { 1, 1 };
	setrlimit(RLIMIT_NPROC, &lim);
	pid_t root_child = fork();
	if (root_child == 0)
		_exit(0);
	CHECK("root_still_forks_past_rlimit_nproc", root_child > 0);
	waitpid(root_child, NULL, 0);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void threads_count_too(void)
{
	struct rlimit lim = { 5, 5 };
	if (setrlimit(RLIMIT_NPROC, &lim) || become(BOMB_UID + 1, BOMB_UID + 1, 0, NULL))
		say("    thread setup failed\n");
	int n = 0, err = 0;
	while (n < 10) {
		pthread_t t;
		err = pthread_create(&t, NULL, sleeper, NULL);
		if (err)
			break;
		n++;
	}
	EXPECT_EQ("threads_count_against_rlimit_nproc_too", 4, n);
	EXPECT_EQ("the_thread_past_the_limit_fails_with_eagain", EAGAIN, err);
}

static void rlimit_nproc(void)
{
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		say("    pipe failed\n");
	pid_t bomb = fork();
	if (bomb == 0) {
		dup2(up[1], 3);
		dup2(down[0], 4);
		check_failed = 0;
		fork_bomb();
		_exit(check_end());
	}
	char c;
	if (read(up[0], &c, 1) != 1)
		say("    no word from the bomb\n");
	as_child(root_forks_past_rlimit_nproc);
	as_child(threads_count_too);
	as_child(setuid_into_a_full_user);
	if (write(down[1], "x", 1) != 1)
		say("    could not release the bomb\n");
	int status = -1;
	waitpid(bomb, &status, 0);
	if (status != 0) {
		check_failed++;
		say("    the bomb's checks failed (status %#x)\n", status);
	}
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void rlimits_as_a_user(void)
{
	pid_t root_pid = getppid();
	if (become(1000, 1000, 0, NULL))
		say("    become 1000 failed\n");
	struct rlimit lim;
	getrlimit(RLIMIT_NOFILE, &lim);
	struct rlimit lower = { lim.rlim_cur / 2, lim.rlim_max / 2 };
	EXPECT_EQ("a_user_may_lower_its_hard_limit", 0, setrlimit(RLIMIT_NOFILE, &lower));
	EXPECT_FAILS("raising_the_hard_limit_as_a_user_is_eperm", EPERM,
		     setrlimit(RLIMIT_NOFILE, &lim));
	struct rlimit soft = { lower.rlim_max, lower.rlim_max };
	EXPECT_EQ("a_user_may_raise_its_soft_limit_to_the_hard_one", 0,
		  setrlimit(RLIMIT_NOFILE, &soft));
	EXPECT_FAILS("prlimit_of_roots_process_is_eperm", EPERM,
		     prlimit(root_pid, RLIMIT_NOFILE, NULL, &lim));
	pid_t sibling = fork();
	if (sibling == 0) {
		pause();
		_exit(0);
	}
	EXPECT_EQ("prlimit_of_a_process_with_the_same_ids_works", 0,
		  prlimit(sibling, RLIMIT_NOFILE, NULL, &lim));
	kill(sibling, SIGKILL);
	waitpid(sibling, NULL, 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* /proc/<pid> belongs to the process's effective user. Its files do too
 * while the process is dumpable; a process whose ids changed is not, so
 * its files turn root's until prctl(PR_SET_DUMPABLE, 1). */
static void proc_files_belong_to_the_process(void)
{
	if (become(1000, 1000, 0, NULL))
		say("    become 1000 failed\n");
	struct stat st;
	CHECK("proc_self_is_owned_by_the_effective_uid",
	      stat("/proc/self", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
	CHECK("proc_1_is_still_roots", stat("/proc/1", &st) == 0 && st.st_uid == 0);
	EXPECT_EQ("a_process_whose_ids_changed_is_not_dumpable", 0, prctl(PR_GET_DUMPABLE));
	CHECK("so_its_proc_files_are_roots",
	      stat("/proc/self/status", &st) == 0 && st.st_uid == 0);
	EXPECT_FAILS("and_it_may_not_write_its_comm", EACCES, open("/proc/self/comm", O_WRONLY));
	EXPECT_FAILS("pr_set_dumpable_2_is_einval", EINVAL, prctl(PR_SET_DUMPABLE, 2));
	EXPECT_EQ("pr_set_dumpable_1_works", 0, prctl(PR_SET_DUMPABLE, 1));
	CHECK("then_its_proc_files_are_its_own",
	      stat("/proc/self/status", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
	int fd = open("/proc/self/comm", O_WRONLY);
	CHECK("and_it_may_write_its_own_comm", fd >= 0 && write(fd, "renamed", 7) == 7);
	if (fd >= 0)
		close(fd);
	char comm[32] = { 0 };
	fd = open("/proc/self/comm", O_RDONLY);
	if (fd >= 0) {
		read(fd, comm, sizeof comm - 1);
		close(fd);
	}
	CHECK("the_new_comm_reads_back", strcmp(comm, "renamed\n") == 0);
}

int main(void)
{
	check_begin("perms");
	if (getuid() != 0) {
		check_skip("runs_as_root", "needs root to set up users");
		return check_end();
	}
	setup();
	as_child(files_by_mode_bits);
	as_child(group_membership_by_supplementary_group);
	as_child(directories_need_write_and_search);
	as_child(chmod_chown_utimes_rules);
	as_child(chgrp_as_member);
	as_child(writes_drop_set_id_bits);
	as_child(access_uses_the_real_ids);
	root_overrides();
	kills();
	rlimit_nproc();
	as_child(rlimits_as_a_user);
	as_child(proc_files_belong_to_the_process);
	cleanup();
	return check_end();
}
