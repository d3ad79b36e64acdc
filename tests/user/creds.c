/*
 * creds: who a process is. The id system calls and their EPERM cases, the
 * saved-set-user-ID rules, setfsuid, supplementary groups, and how the
 * capability sets follow a change of uid. The parent stays root; every
 * part that gives up root runs in a forked child.
 */
#define _GNU_SOURCE
#include "check.h"

#include <grp.h>
#include <limits.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Runs fn in a child; a failed check there fails this program too. */
static void as_child(void (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		_exit(check_end());
	}
	int status = -1;
	waitpid(pid, &status, 0);
	if (status != 0) {
		check_failed++;
		say("    a child's checks failed (status %#x)\n", status);
	}
}

/* Whether getresuid gives (r, e, s). */
static int resuid_is(uid_t r, uid_t e, uid_t s)
{
	uid_t gr, ge, gs;
	return getresuid(&gr, &ge, &gs) == 0 && gr == r && ge == e && gs == s;
}

static int resgid_is(gid_t r, gid_t e, gid_t s)
{
	gid_t gr, ge, gs;
	return getresgid(&gr, &ge, &gs) == 0 && gr == r && ge == e && gs == s;
}

/* The file-system uid, read without changing it (setfsuid(-1) only answers). */
static uid_t fsuid(void)
{
	return setfsuid(-1);
}

static gid_t fsgid(void)
{
	return setfsgid(-1);
}

/* A capability set from /proc/self/status ("CapEff:" and so on). */
static unsigned long long cap_line(const char *key)
{
	char buf[4096];
	if (read_text("/proc/self/status", buf, sizeof buf) < 0)
		return ~0ULL;
	char *line = strstr(buf, key);
	return line ? strtoull(line + strlen(key), NULL, 16) : ~0ULL;
}

static unsigned long long root_permitted;

static void root_starts_with_every_id_zero(void)
{
	CHECK("root_starts_with_ruid_euid_suid_zero", resuid_is(0, 0, 0));
	CHECK("root_starts_with_rgid_egid_sgid_zero", resgid_is(0, 0, 0));
	root_permitted = cap_line("CapPrm:");
	CHECK("root_has_capabilities_permitted_and_effective",
	      root_permitted != 0 && root_permitted != ~0ULL &&
		      cap_line("CapEff:") == root_permitted);
}

static void setuid_as_root_sets_every_uid(void)
{
	EXPECT_EQ("setuid_as_root_returns_0", 0, setuid(1000));
	CHECK("setuid_as_root_sets_ruid_euid_suid", resuid_is(1000, 1000, 1000));
	EXPECT_EQ("setuid_as_root_sets_fsuid", 1000, fsuid());
	EXPECT_EQ("setuid_to_non_root_clears_permitted", 0, cap_line("CapPrm:"));
	EXPECT_EQ("setuid_to_non_root_clears_effective", 0, cap_line("CapEff:"));
	EXPECT_FAILS("setuid_0_as_non_root_is_eperm", EPERM, setuid(0));
	EXPECT_FAILS("setreuid_to_root_as_non_root_is_eperm", EPERM, setreuid(0, -1));
	EXPECT_FAILS("seteuid_to_root_as_non_root_is_eperm", EPERM, setreuid(-1, 0));
	EXPECT_FAILS("setresuid_to_an_id_not_held_is_eperm", EPERM, setresuid(-1, -1, 0));
	EXPECT_FAILS("setgid_to_a_gid_not_held_is_eperm", EPERM, setgid(5));
	EXPECT_FAILS("setregid_to_a_gid_not_held_is_eperm", EPERM, setregid(5, -1));
	EXPECT_FAILS("setresgid_to_a_gid_not_held_is_eperm", EPERM, setresgid(-1, 5, -1));
	gid_t g = 5;
	EXPECT_FAILS("setgroups_as_non_root_is_eperm", EPERM, setgroups(1, &g));
	EXPECT_EQ("setresuid_to_ids_held_succeeds_as_non_root", 0, setresuid(1000, 1000, 1000));
	EXPECT_FAILS("setuid_minus_1_is_einval", EINVAL, setuid(-1));
	EXPECT_FAILS("setgid_minus_1_is_einval", EINVAL, setgid(-1));
}

/* Non-root with three different uids: ruid 1000, euid 2000, suid 3000. */
static void enter_set_id_state(void)
{
	if (setresuid(1000, 2000, 3000) != 0)
		say("    setresuid(1000, 2000, 3000): %s\n", strerror(errno));
}

static void setuid_from_a_set_id_state(void)
{
	enter_set_id_state();
	CHECK("setresuid_sets_three_different_uids", resuid_is(1000, 2000, 3000));
	EXPECT_EQ("setresuid_sets_fsuid_to_the_new_euid", 2000, fsuid());
	EXPECT_FAILS("unprivileged_setuid_to_the_euid_alone_is_eperm", EPERM, setuid(2000));
	EXPECT_EQ("unprivileged_setuid_to_the_suid_returns_0", 0, setuid(3000));
	CHECK("unprivileged_setuid_changes_only_the_euid", resuid_is(1000, 3000, 3000));
	EXPECT_EQ("unprivileged_setuid_to_the_ruid_returns_0", 0, setuid(1000));
	CHECK("unprivileged_setuid_keeps_the_saved_uid", resuid_is(1000, 1000, 3000));
}

static void setreuid_updates_the_saved_uid(void)
{
	enter_set_id_state();
	EXPECT_EQ("seteuid_to_the_saved_uid_returns_0", 0, setreuid(-1, 3000));
	CHECK("setreuid_of_an_euid_other_than_the_ruid_copies_it_to_suid",
	      resuid_is(1000, 3000, 3000));
	EXPECT_EQ("setreuid_of_the_euid_back_to_the_ruid_returns_0", 0, setreuid(-1, 1000));
	CHECK("setreuid_of_the_euid_to_the_old_ruid_keeps_the_suid",
	      resuid_is(1000, 1000, 3000));
	EXPECT_FAILS("setreuid_of_the_ruid_to_the_suid_is_eperm", EPERM, setreuid(3000, -1));
	EXPECT_EQ("setreuid_swapping_ruid_and_euid_returns_0", 0, setreuid(1000, 3000));
	CHECK("setreuid_setting_the_ruid_copies_the_euid_to_suid", resuid_is(1000, 3000, 3000));
}

static void setresuid_shuffles_held_ids(void)
{
	enter_set_id_state();
	EXPECT_EQ("setresuid_may_shuffle_the_three_held_uids", 0, setresuid(3000, 1000, 2000));
	CHECK("setresuid_shuffled_the_three_uids", resuid_is(3000, 1000, 2000));
	EXPECT_EQ("setresuid_minus_1_keeps_each_id", 0, setresuid(-1, -1, -1));
	CHECK("setresuid_minus_1_changed_nothing", resuid_is(3000, 1000, 2000));
	EXPECT_FAILS("setresuid_to_a_fourth_uid_is_eperm", EPERM, setresuid(-1, 4000, -1));
}

static void setfsuid_returns_the_old_fsuid(void)
{
	EXPECT_EQ("setfsuid_as_root_returns_the_old_fsuid_0", 0, setfsuid(1234));
	EXPECT_EQ("setfsuid_minus_1_reports_the_new_fsuid", 1234, setfsuid(-1));
	CHECK("setfsuid_leaves_the_other_uids", resuid_is(0, 0, 0));
	CHECK("fsuid_non_root_drops_the_fs_capabilities",
	      (cap_line("CapEff:") & 0x1f) == 0 && cap_line("CapPrm:") == root_permitted);
	EXPECT_EQ("setfsuid_back_to_0_returns_1234", 1234, setfsuid(0));
	EXPECT_EQ("fsuid_0_raises_the_fs_capabilities_again", root_permitted, cap_line("CapEff:"));
	if (setresuid(1000, 1000, 1000) != 0)
		say("    setresuid(1000...): %s\n", strerror(errno));
	EXPECT_EQ("unprivileged_setfsuid_0_returns_the_old_fsuid", 1000, setfsuid(0));
	EXPECT_EQ("unprivileged_setfsuid_0_changes_nothing", 1000, fsuid());
	EXPECT_EQ("setfsgid_as_non_root_returns_the_old_fsgid", 0, setfsgid(77));
	EXPECT_EQ("unprivileged_setfsgid_to_a_gid_not_held_changes_nothing", 0, fsgid());
}

static void gid_calls_follow_the_uid_rules(void)
{
	EXPECT_EQ("setresgid_as_root_returns_0", 0, setresgid(10, 20, 30));
	CHECK("setresgid_sets_three_gids", resgid_is(10, 20, 30));
	EXPECT_EQ("setresgid_sets_fsgid_to_the_new_egid", 20, fsgid());
	EXPECT_EQ("setgid_as_root_returns_0", 0, setgid(40));
	CHECK("setgid_as_root_sets_every_gid", resgid_is(40, 40, 40) && fsgid() == 40);
	if (setresgid(10, 20, 30) != 0 || setresuid(1000, 1000, 1000) != 0)
		say("    setting up: %s\n", strerror(errno));
	EXPECT_FAILS("unprivileged_setgid_to_the_egid_alone_is_eperm", EPERM, setgid(20));
	EXPECT_EQ("unprivileged_setgid_to_the_sgid_returns_0", 0, setgid(30));
	CHECK("unprivileged_setgid_changes_only_the_egid", resgid_is(10, 30, 30));
	EXPECT_EQ("unprivileged_setregid_of_rgid_to_egid_returns_0", 0, setregid(30, -1));
	CHECK("setregid_setting_the_rgid_copies_the_egid_to_sgid", resgid_is(30, 30, 30));
	EXPECT_FAILS("unprivileged_setresgid_to_a_gid_not_held_is_eperm", EPERM,
		     setresgid(-1, 10, -1));
}

static void groups_are_set_and_read_back(void)
{
	gid_t set[3] = { 30, 10, 20 }, got[3] = { 0 };
	EXPECT_EQ("setgroups_as_root_returns_0", 0, setgroups(3, set));
	EXPECT_EQ("getgroups_0_returns_the_count", 3, getgroups(0, NULL));
	EXPECT_FAILS("getgroups_into_a_smaller_list_is_einval", EINVAL, getgroups(2, got));
	EXPECT_FAILS("getgroups_negative_size_is_einval", EINVAL,
		     syscall(SYS_getgroups, -1, got));
	EXPECT_EQ("getgroups_returns_the_count", 3, getgroups(3, got));
	CHECK("getgroups_returns_the_groups_sorted",
	      got[0] == 10 && got[1] == 20 && got[2] == 30);
	EXPECT_FAILS("setgroups_past_ngroups_max_is_einval", EINVAL,
		     syscall(SYS_setgroups, 65537, set));
	EXPECT_FAILS("setgroups_negative_size_is_einval", EINVAL,
		     syscall(SYS_setgroups, -1, set));
	EXPECT_FAILS("setgroups_from_a_bad_address_is_efault", EFAULT,
		     syscall(SYS_setgroups, 2, (void *)8));
	static gid_t many[65536];
	for (int i = 0; i < 65536; i++)
		many[i] = 65535 - i;
	EXPECT_EQ("setgroups_of_ngroups_max_groups_returns_0", 0,
		  syscall(SYS_setgroups, 65536, many));
	EXPECT_EQ("getgroups_reports_ngroups_max_groups", 65536, getgroups(0, NULL));
	EXPECT_EQ("setgroups_0_clears_the_list", 0, setgroups(0, NULL));
	EXPECT_EQ("getgroups_of_an_empty_list_is_0", 0, getgroups(0, NULL));
}

static void dropping_euid_root_clears_only_effective(void)
{
	EXPECT_EQ("seteuid_1000_from_root_returns_0", 0, setresuid(-1, 1000, -1));
	EXPECT_EQ("euid_non_root_clears_effective", 0, cap_line("CapEff:"));
	EXPECT_EQ("euid_non_root_with_saved_root_keeps_permitted", root_permitted,
		  cap_line("CapPrm:"));
	EXPECT_EQ("seteuid_back_to_the_saved_root_returns_0", 0, setresuid(-1, 0, -1));
	EXPECT_EQ("euid_0_again_makes_effective_the_permitted_set", root_permitted,
		  cap_line("CapEff:"));
}

static void keepcaps_keeps_permitted(void)
{
	EXPECT_EQ("pr_set_keepcaps_returns_0", 0, prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	EXPECT_EQ("pr_get_keepcaps_reports_1", 1, prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
	EXPECT_FAILS("pr_set_keepcaps_2_is_einval", EINVAL, prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0));
	EXPECT_EQ("setresuid_to_non_root_with_keepcaps_returns_0", 0,
		  setresuid(1000, 1000, 1000));
	EXPECT_EQ("keepcaps_keeps_the_permitted_set", root_permitted, cap_line("CapPrm:"));
	EXPECT_EQ("keepcaps_still_clears_effective", 0, cap_line("CapEff:"));
}

int main(void)
{
	check_begin("creds");
	root_starts_with_every_id_zero();
	as_child(setuid_as_root_sets_every_uid);
	as_child(setuid_from_a_set_id_state);
	as_child(setreuid_updates_the_saved_uid);
	as_child(setresuid_shuffles_held_ids);
	as_child(setfsuid_returns_the_old_fsuid);
	as_child(gid_calls_follow_the_uid_rules);
	as_child(groups_are_set_and_read_back);
	as_child(dropping_euid_root_clears_only_effective);
	as_child(keepcaps_keeps_permitted);
	return check_end();
}
