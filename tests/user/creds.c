/*
 * creds: who a process is. The id system calls and their EPERM cases, the
 * saved-set-user-ID rules, setfsuid, supplementary groups, and how the
 * capability sets follow a change of uid; capget/capset, the capability
 * prctls, personality and timer slack; and what execve makes of the ids
 * and capabilities, with set-user-ID and set-group-ID copies of the
 * sibling program creds_helper in /tmp. The parent stays root; every part
 * that gives up root runs in a forked child.
 */
#define _GNU_SOURCE
#include "check.h"

#include <grp.h>
#include <limits.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

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


/* capget/capset's layout (musl has no <sys/capability.h>). */
struct cap_header {
	unsigned int version;
	int pid;
};
struct cap_data {
	unsigned int effective, permitted, inheritable;
};
#define CAP_V1 0x19980330
#define CAP_V3 0x20080522
#define CAP_CHOWN 0
#define CAP_KILL 5
#define CAP_SETPCAP 8
#define CAP_NET_RAW 13

struct caps {
	unsigned long long eff, prm, inh;
};

static long capget_raw(struct cap_header *h, struct cap_data *d)
{
	return syscall(SYS_capget, h, d);
}

static long capset_raw(struct cap_header *h, struct cap_data *d)
{
	return syscall(SYS_capset, h, d);
}

/* The sets of process pid (0: this one); all ones on failure. */
static struct caps caps_of(pid_t pid)
{
	struct cap_header h = { CAP_V3, pid };
	struct cap_data d[2];
	struct caps c = { ~0ULL, ~0ULL, ~0ULL };
	if (capget_raw(&h, d) != 0)
		return c;
	c.eff = d[0].effective | (unsigned long long)d[1].effective << 32;
	c.prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
	c.inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
	return c;
}

/* capset of this process's three sets, version 3. */
static long set_caps(unsigned long long eff, unsigned long long prm, unsigned long long inh)
{
	struct cap_header h = { CAP_V3, 0 };
	struct cap_data d[2] = {
		{ (unsigned)eff, (unsigned)prm, (unsigned)inh },
		{ (unsigned)(eff >> 32), (unsigned)(prm >> 32), (unsigned)(inh >> 32) },
	};
	return capset_raw(&h, d);
}

#define BIT(cap) (1ULL << (cap))

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

static void capget_reports_root_s_sets(void)
{
	struct cap_header h = { 0, 0 };
	struct cap_data d[2];
	EXPECT_FAILS("capget_of_an_unknown_version_is_einval", EINVAL, capget_raw(&h, d));
	EXPECT_EQ("capget_writes_the_preferred_version_back", CAP_V3, h.version);
	h.version = 0;
	EXPECT_EQ("capget_probe_with_null_data_returns_0", 0, capget_raw(&h, NULL));
	struct caps c = caps_of(0);
	EXPECT_EQ("capget_of_root_gives_the_permitted_set", root_permitted, c.prm);
	EXPECT_EQ("capget_of_root_gives_the_effective_set", root_permitted, c.eff);
	EXPECT_EQ("capget_of_root_gives_an_empty_inheritable_set", 0, c.inh);
	struct cap_header v1 = { CAP_V1, 0 };
	struct cap_data one[2] = { { 0 }, { 7, 7, 7 } };
	EXPECT_EQ("capget_version_1_returns_0", 0, capget_raw(&v1, one));
	CHECK("capget_version_1_fills_one_word_only",
	      one[0].permitted == (unsigned)root_permitted && one[1].permitted == 7);
	EXPECT_EQ("capget_of_another_process_by_pid", root_permitted, caps_of(getppid()).prm);
	struct cap_header neg = { CAP_V3, -5 };
	EXPECT_FAILS("capget_of_a_negative_pid_is_einval", EINVAL, capget_raw(&neg, d));
	struct cap_header none = { CAP_V3, 999999 };
	EXPECT_FAILS("capget_of_a_missing_pid_is_esrch", ESRCH, capget_raw(&none, d));
}

static void capget_after_dropping_root_is_empty(void)
{
	if (setuid(1000) != 0)
		say("    setuid(1000): %s\n", strerror(errno));
	struct caps c = caps_of(0);
	CHECK("capget_after_setuid_to_non_root_is_empty", c.eff == 0 && c.prm == 0 && c.inh == 0);
	EXPECT_EQ("capget_of_root_s_pid_from_non_root_still_reads", root_permitted,
		  caps_of(getppid()).prm);
}

static void capset_follows_the_rules(void)
{
	struct cap_header other = { CAP_V3, getppid() };
	struct cap_data d[2] = { { 0 } };
	EXPECT_FAILS("capset_of_another_pid_is_eperm", EPERM, capset_raw(&other, d));
	unsigned long long p = root_permitted;
	EXPECT_FAILS("capset_of_effective_outside_permitted_is_eperm", EPERM,
		     set_caps(p, p & ~BIT(CAP_CHOWN), 0));
	EXPECT_EQ("capset_dropping_a_permitted_capability_returns_0", 0,
		  set_caps(p & ~BIT(CAP_CHOWN), p & ~BIT(CAP_CHOWN), 0));
	EXPECT_EQ("capget_shows_the_dropped_capability_gone", p & ~BIT(CAP_CHOWN), caps_of(0).prm);
	EXPECT_FAILS("capset_may_not_raise_permitted_again", EPERM, set_caps(p, p, 0));
	EXPECT_EQ("capset_with_setpcap_may_add_inheritable_outside_permitted", 0,
		  set_caps(p & ~BIT(CAP_CHOWN), p & ~BIT(CAP_CHOWN), BIT(CAP_CHOWN)));
	p &= ~BIT(CAP_CHOWN);
	EXPECT_EQ("capset_dropping_setpcap_from_effective_returns_0", 0,
		  set_caps(p & ~BIT(CAP_SETPCAP), p, 0));
	EXPECT_FAILS("capset_without_setpcap_may_not_add_inheritable_outside_permitted", EPERM,
		     set_caps(0, p, BIT(CAP_CHOWN) | BIT(CAP_KILL)));
	EXPECT_EQ("capset_without_setpcap_may_add_inheritable_from_permitted", 0,
		  set_caps(0, p, BIT(CAP_KILL)));
	EXPECT_EQ("capget_shows_the_new_inheritable_set", BIT(CAP_KILL), caps_of(0).inh);
}

static void capset_inheritable_stays_in_the_bounding_set(void)
{
	EXPECT_EQ("pr_capbset_read_of_cap_net_raw_is_1", 1, prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0));
	EXPECT_FAILS("pr_capbset_read_of_an_unknown_cap_is_einval", EINVAL,
		     prctl(PR_CAPBSET_READ, 999, 0, 0, 0));
	EXPECT_EQ("pr_capbset_drop_returns_0", 0, prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0));
	EXPECT_EQ("pr_capbset_read_after_drop_is_0", 0, prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0));
	EXPECT_FAILS("capset_of_inheritable_outside_the_bounding_set_is_eperm", EPERM,
		     set_caps(root_permitted, root_permitted, BIT(CAP_NET_RAW)));
	if (setuid(1000) != 0)
		say("    setuid(1000): %s\n", strerror(errno));
	EXPECT_FAILS("pr_capbset_drop_without_setpcap_is_eperm", EPERM,
		     prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0));
	EXPECT_EQ("the_bounding_set_survives_setuid", 0, prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0));
}

static void ambient_needs_permitted_and_inheritable(void)
{
	EXPECT_FAILS("pr_cap_ambient_raise_without_inheritable_is_eperm", EPERM,
		     prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0));
	EXPECT_EQ("capset_of_inheritable_kill_returns_0", 0,
		  set_caps(root_permitted, root_permitted, BIT(CAP_KILL)));
	EXPECT_EQ("pr_cap_ambient_raise_returns_0", 0,
		  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0));
	EXPECT_EQ("pr_cap_ambient_is_set_reports_1", 1,
		  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0));
	EXPECT_EQ("proc_status_capamb_shows_the_ambient_set", BIT(CAP_KILL), cap_line("CapAmb:"));
	EXPECT_EQ("pr_cap_ambient_lower_returns_0", 0,
		  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_KILL, 0, 0));
	EXPECT_EQ("pr_cap_ambient_is_set_after_lower_is_0", 0,
		  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
	EXPECT_EQ("pr_cap_ambient_clear_all_returns_0", 0,
		  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	EXPECT_EQ("pr_cap_ambient_clear_all_empties_the_set", 0, cap_line("CapAmb:"));
	EXPECT_FAILS("pr_cap_ambient_clear_all_with_a_cap_is_einval", EINVAL,
		     prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
	EXPECT_EQ("capset_dropping_inheritable_returns_0", 0, set_caps(root_permitted, root_permitted, 0));
	EXPECT_EQ("capset_dropping_inheritable_drops_the_ambient_cap", 0, cap_line("CapAmb:"));
	set_caps(root_permitted, root_permitted, BIT(CAP_KILL));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (setresuid(1000, 1000, 1000) != 0)
		say("    setresuid(1000...): %s\n", strerror(errno));
	EXPECT_EQ("setuid_to_non_root_clears_ambient_even_with_keepcaps", 0, cap_line("CapAmb:"));
}

static void keepcaps_lets_capset_regain_root(void)
{
	EXPECT_EQ("pr_get_securebits_starts_at_0", 0, prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	EXPECT_EQ("pr_set_keepcaps_sets_secure_keep_caps", 0x10, prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	if (setresuid(1000, 1000, 1000) != 0)
		say("    setresuid(1000...): %s\n", strerror(errno));
	EXPECT_FAILS("setuid_0_with_kept_but_ineffective_caps_is_eperm", EPERM, setuid(0));
	EXPECT_EQ("capset_raising_effective_from_kept_permitted_returns_0", 0,
		  set_caps(root_permitted, root_permitted, 0));
	EXPECT_EQ("setuid_0_with_effective_cap_setuid_returns_0", 0, setuid(0));
	CHECK("setuid_0_restored_every_uid", resuid_is(0, 0, 0));
}

static void personality_is_stored_and_inherited(void)
{
	EXPECT_EQ("personality_query_gives_per_linux", 0, personality(0xffffffff));
	EXPECT_EQ("personality_returns_the_old_value", 0, personality(0x0040000));
	EXPECT_EQ("personality_query_gives_the_new_value", 0x0040000, personality(0xffffffff));
	pid_t pid = fork();
	if (pid == 0)
		_exit(personality(0xffffffff) == 0x0040000 ? 0 : 1);
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_child_inherits_the_personality", 0, status);
	EXPECT_EQ("personality_back_to_per_linux", 0x0040000, personality(0));
}

static void timerslack_is_inherited_by_fork(void)
{
	EXPECT_EQ("timer_slack_starts_at_50_us", 50000, prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	EXPECT_EQ("pr_set_timerslack_returns_0", 0, prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0));
	EXPECT_EQ("pr_get_timerslack_gives_the_new_slack", 123456, prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	pid_t pid = fork();
	if (pid == 0) {
		int inherited = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456;
		prctl(PR_SET_TIMERSLACK, 777, 0, 0, 0);
		prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
		_exit(!inherited ? 1 : prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456 ? 0 : 2);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_child_inherits_the_slack_and_0_restores_the_parent_s", 0, status);
	prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0);
	EXPECT_EQ("pr_set_timerslack_0_restores_the_default", 50000, prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
}

static void pr_set_name_renames_the_task(void)
{
	char name[16] = { 0 };
	EXPECT_EQ("pr_set_name_returns_0", 0, prctl(PR_SET_NAME, "a-very-long-name-indeed", 0, 0, 0));
	prctl(PR_GET_NAME, name, 0, 0, 0);
	CHECK("pr_get_name_gives_the_name_cut_to_15_bytes", strcmp(name, "a-very-long-nam") == 0);
}

/* What creds_helper reports about itself after an execve. */
struct report {
	unsigned r, e, s, gr, ge, gs;
	unsigned long secure, at_uid, at_euid, at_egid;
	unsigned long long eff, prm;
	unsigned pers;
};

static char helper[256];

/* Runs `path` in a child that first calls `become`; 0 and its report, or -1. */
static int run_helper(const char *path, void (*become)(void), struct report *rep)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		if (become)
			become();
		char *argv[] = { (char *)path, NULL }, *envp[] = { NULL };
		execve(path, argv, envp);
		_exit(127);
	}
	close(p[1]);
	char buf[256];
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%u %u %u %u %u %u %lu %lu %lu %lu %llx %llx %x", &rep->r, &rep->e,
		      &rep->s, &rep->gr, &rep->ge, &rep->gs, &rep->secure, &rep->at_uid,
		      &rep->at_euid, &rep->at_egid, &rep->eff, &rep->prm, &rep->pers) == 13
		       ? 0
		       : -1;
}

#define ADDR_NO_RANDOMIZE_ 0x0040000
#define READ_IMPLIES_EXEC_ 0x0400000

static void become_user_1000(void)
{
	personality(ADDR_NO_RANDOMIZE_ | READ_IMPLIES_EXEC_);
	if (setgroups(0, NULL) != 0 || setresgid(1000, 1000, 1000) != 0 ||
	    setresuid(1000, 1000, 1000) != 0)
		_exit(126);
}

static void become_1000_keeping_caps(void)
{
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	become_user_1000();
}

static void become_1000_with_ambient_kill(void)
{
	become_1000_keeping_caps();
	if (set_caps(root_permitted, root_permitted, BIT(CAP_KILL)) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) != 0)
		_exit(125);
}

/* A copy of creds_helper at `path`, owned by uid:gid, with `mode`. */
static int install_helper(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	char buf[65536];
	unlink(path);
	int in = open(helper, O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0700);
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			break;
	close(in);
	close(out);
	return chown(path, uid, gid) == 0 && chmod(path, mode) == 0 ? 0 : -1;
}

static void exec_recomputes_capabilities(void)
{
	struct report r;
	CHECK("root_runs_the_helper", run_helper(helper, NULL, &r) == 0);
	CHECK("exec_as_root_has_uid_0_and_no_at_secure", r.e == 0 && r.secure == 0);
	EXPECT_EQ("exec_as_root_gives_the_bounding_set_as_permitted", root_permitted, r.prm);
	EXPECT_EQ("exec_as_root_makes_effective_the_permitted_set", root_permitted, r.eff);
	CHECK("uid_1000_runs_the_helper", run_helper(helper, become_user_1000, &r) == 0);
	CHECK("exec_as_non_root_keeps_the_ids", r.r == 1000 && r.e == 1000 && r.s == 1000);
	CHECK("exec_as_non_root_has_no_capabilities", r.eff == 0 && r.prm == 0);
	CHECK("auxv_at_uid_and_at_euid_name_the_caller", r.at_uid == 1000 && r.at_euid == 1000);
	EXPECT_EQ("exec_as_non_root_has_at_secure_0", 0, r.secure);
	EXPECT_EQ("exec_of_a_64_bit_program_clears_only_read_implies_exec", ADDR_NO_RANDOMIZE_,
		  r.pers);
	CHECK("keepcaps_caller_runs_the_helper",
	      run_helper(helper, become_1000_keeping_caps, &r) == 0);
	CHECK("exec_as_non_root_drops_capabilities_kept_by_keepcaps", r.eff == 0 && r.prm == 0);
	CHECK("ambient_caller_runs_the_helper",
	      run_helper(helper, become_1000_with_ambient_kill, &r) == 0);
	EXPECT_EQ("exec_as_non_root_keeps_the_ambient_set_as_permitted", BIT(CAP_KILL), r.prm);
	EXPECT_EQ("exec_as_non_root_keeps_the_ambient_set_as_effective", BIT(CAP_KILL), r.eff);
	EXPECT_EQ("exec_with_ambient_caps_is_not_secure", 0, r.secure);
}

static void set_id_binaries_change_the_effective_ids(void)
{
	struct report r;
	const char *suid = "/tmp/creds_suid", *sgid = "/tmp/creds_sgid";
	EXPECT_EQ("a_set_user_id_root_copy_is_installed", 0, install_helper(suid, 0, 0, 04755));
	CHECK("uid_1000_runs_the_set_user_id_root_binary",
	      run_helper(suid, become_user_1000, &r) == 0);
	CHECK("set_user_id_root_gives_euid_0_and_keeps_ruid",
	      r.r == 1000 && r.e == 0 && r.s == 0);
	CHECK("set_user_id_root_keeps_the_gids", r.gr == 1000 && r.ge == 1000 && r.gs == 1000);
	EXPECT_EQ("set_user_id_root_sets_at_secure", 1, r.secure);
	EXPECT_EQ("set_user_id_exec_clears_addr_no_randomize", 0, r.pers);
	CHECK("set_user_id_root_auxv_names_both_uids", r.at_uid == 1000 && r.at_euid == 0);
	EXPECT_EQ("set_user_id_root_gives_the_bounding_set_as_permitted", root_permitted, r.prm);
	EXPECT_EQ("set_user_id_root_gives_effective_capabilities", root_permitted, r.eff);
	EXPECT_EQ("a_set_user_id_1000_copy_is_installed", 0, install_helper(suid, 1000, 0, 04755));
	CHECK("root_runs_the_set_user_id_1000_binary", run_helper(suid, NULL, &r) == 0);
	CHECK("set_user_id_1000_run_by_root_gives_euid_1000", r.r == 0 && r.e == 1000 && r.s == 1000);
	EXPECT_EQ("set_user_id_1000_run_by_root_has_no_effective_caps", 0, r.eff);
	EXPECT_EQ("set_user_id_1000_run_by_root_keeps_permitted_as_real_root", root_permitted, r.prm);
	EXPECT_EQ("set_user_id_1000_run_by_root_sets_at_secure", 1, r.secure);
	EXPECT_EQ("a_set_group_id_copy_is_installed", 0, install_helper(sgid, 0, 50, 02755));
	CHECK("uid_1000_runs_the_set_group_id_binary", run_helper(sgid, become_user_1000, &r) == 0);
	CHECK("set_group_id_gives_egid_and_sgid_of_the_file",
	      r.gr == 1000 && r.ge == 50 && r.gs == 50 && r.at_egid == 50);
	CHECK("set_group_id_keeps_the_uids", r.r == 1000 && r.e == 1000 && r.s == 1000);
	EXPECT_EQ("set_group_id_sets_at_secure", 1, r.secure);
	CHECK("set_group_id_gives_no_capabilities", r.eff == 0 && r.prm == 0);
	EXPECT_EQ("a_set_group_id_copy_without_group_x_is_installed", 0,
		  install_helper(sgid, 0, 50, 02745));
	CHECK("uid_1000_runs_it", run_helper(sgid, become_user_1000, &r) == 0);
	CHECK("set_group_id_without_group_execute_changes_nothing",
	      r.ge == 1000 && r.secure == 0);
	unlink(suid);
	unlink(sgid);
}

int main(int argc, char **argv)
{
	(void)argc;
	check_begin("creds");
	sibling(argv[0], "creds_helper", helper, sizeof helper);
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
	as_child(capget_reports_root_s_sets);
	as_child(capget_after_dropping_root_is_empty);
	as_child(capset_follows_the_rules);
	as_child(capset_inheritable_stays_in_the_bounding_set);
	as_child(ambient_needs_permitted_and_inheritable);
	as_child(keepcaps_lets_capset_regain_root);
	as_child(personality_is_stored_and_inherited);
	as_child(timerslack_is_inherited_by_fork);
	as_child(pr_set_name_renames_the_task);
	exec_recomputes_capabilities();
	set_id_binaries_change_the_effective_ids();
	return check_end();
}
