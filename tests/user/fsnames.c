/*
 * fsnames: names in the file system and the *at() calls that make and
 * change them, relative to a directory descriptor: linkat (link counts in
 * stat), symlinkat, readlinkat, renameat/renameat2 (RENAME_NOREPLACE,
 * RENAME_EXCHANGE and Linux's error cases), mknodat, ENAMETOOLONG and
 * ELOOP (40 symlinks at most). Everything happens in a scratch directory
 * under /tmp. We run as root.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static int dfd;

static int renameat2_(int od, const char *o, int nd, const char *n, unsigned f)
{
	return syscall(SYS_renameat2, od, o, nd, n, f);
}

static struct stat st_at(const char *name, int flags)
{
	struct stat st;
	memset(&st, 0xff, sizeof st);
	fstatat(dfd, name, &st, flags);
	return st;
}

static void touch(const char *name, const char *text)
{
	int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, text, strlen(text));
	close(fd);
}

static int contents_are(const char *name, const char *text)
{
	char buf[64] = {0};
	int fd = openat(dfd, name, O_RDONLY);
	int n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n == (int)strlen(text) && memcmp(buf, text, n) == 0;
}

static void hard_links_count_in_stat(void)
{
	touch("f", "one");
	EXPECT_EQ("a_new_file_has_one_link", 1, st_at("f", 0).st_nlink);
	EXPECT_EQ("linkat_makes_a_second_name", 0, linkat(dfd, "f", dfd, "g", 0));
	EXPECT_EQ("both_names_show_two_links", 2, st_at("g", 0).st_nlink);
	EXPECT_EQ("both_names_are_one_inode", st_at("f", 0).st_ino, st_at("g", 0).st_ino);
	EXPECT_FAILS("linkat_to_an_existing_name_is_eexist", EEXIST, linkat(dfd, "f", dfd, "g", 0));
	mkdirat(dfd, "d", 0755);
	EXPECT_FAILS("a_hard_link_to_a_directory_is_eperm", EPERM, linkat(dfd, "d", dfd, "d2", 0));
	EXPECT_FAILS("linkat_of_a_missing_file_is_enoent", ENOENT, linkat(dfd, "nope", dfd, "x", 0));
	EXPECT_FAILS("linkat_with_an_unknown_flag_is_einval", EINVAL, linkat(dfd, "f", dfd, "x", 0x1));
	int fd = openat(dfd, "f", O_RDONLY);
	EXPECT_EQ("linkat_at_empty_path_links_the_fd", 0, linkat(fd, "", dfd, "h", AT_EMPTY_PATH));
	EXPECT_EQ("three_links_now", 3, st_at("f", 0).st_nlink);
	unlinkat(dfd, "g", 0);
	unlinkat(dfd, "h", 0);
	EXPECT_EQ("unlink_drops_the_count", 1, st_at("f", 0).st_nlink);
	unlinkat(dfd, "f", 0);
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("an_open_file_with_no_name_left_has_no_links", 0, st.st_nlink);
	EXPECT_FAILS("linkat_of_a_file_with_no_links_is_enoent", ENOENT, linkat(fd, "", dfd, "back", AT_EMPTY_PATH));
	close(fd);
	touch("f", "one");
	symlinkat("f", dfd, "s");
	EXPECT_EQ("linkat_without_follow_links_the_symlink_itself", 0, linkat(dfd, "s", dfd, "s2", 0));
	CHECK("the_new_name_is_a_symlink", S_ISLNK(st_at("s2", AT_SYMLINK_NOFOLLOW).st_mode));
	EXPECT_EQ("at_symlink_follow_links_the_target", 0, linkat(dfd, "s", dfd, "f2", AT_SYMLINK_FOLLOW));
	EXPECT_EQ("the_target_has_two_links", 2, st_at("f", 0).st_nlink);
	unlinkat(dfd, "s2", 0);
	unlinkat(dfd, "f2", 0);
	unlinkat(dfd, "s", 0);
}

static void symlinks_and_readlink(void)
{
	EXPECT_EQ("symlinkat_makes_a_link_relative_to_the_fd", 0, symlinkat("f", dfd, "s"));
	char buf[64];
	ssize_t n = readlinkat(dfd, "s", buf, sizeof buf);
	EXPECT_EQ("readlinkat_returns_the_target_length", 1, n);
	CHECK("readlinkat_returns_the_target", n == 1 && buf[0] == 'f');
	EXPECT_EQ("readlink_truncates_to_the_buffer", 1, readlinkat(dfd, "s", buf, 1));
	EXPECT_FAILS("readlink_with_a_zero_buffer_is_einval", EINVAL, syscall(SYS_readlinkat, dfd, "s", buf, 0));
	EXPECT_FAILS("readlink_of_a_regular_file_is_einval", EINVAL, readlinkat(dfd, "f", buf, sizeof buf));
	CHECK("lstat_sees_the_link", S_ISLNK(st_at("s", AT_SYMLINK_NOFOLLOW).st_mode));
	EXPECT_EQ("lstat_size_is_the_target_length", 1, st_at("s", AT_SYMLINK_NOFOLLOW).st_size);
	CHECK("stat_follows_the_link", S_ISREG(st_at("s", 0).st_mode));
	EXPECT_FAILS("symlinkat_over_an_existing_name_is_eexist", EEXIST, symlinkat("x", dfd, "s"));
	EXPECT_FAILS("symlinkat_with_an_empty_target_is_enoent", ENOENT, symlinkat("", dfd, "e"));
	EXPECT_FAILS("o_nofollow_on_a_final_symlink_is_eloop", ELOOP, openat(dfd, "s", O_RDONLY | O_NOFOLLOW));
	symlinkat("dangling-target", dfd, "dl");
	int fd = openat(dfd, "dl", O_CREAT | O_WRONLY, 0644);
	CHECK("o_creat_through_a_dangling_symlink_creates_the_target", fd >= 0 && S_ISREG(st_at("dangling-target", 0).st_mode));
	close(fd);
	EXPECT_FAILS("o_creat_o_excl_on_a_symlink_is_eexist", EEXIST, openat(dfd, "s", O_CREAT | O_EXCL | O_WRONLY, 0644));
	symlinkat("loop2", dfd, "loop1");
	symlinkat("loop1", dfd, "loop2");
	EXPECT_FAILS("a_symlink_cycle_is_eloop", ELOOP, openat(dfd, "loop1", O_RDONLY));
	char name[16], target[16];
	for (int i = 0; i < 41; i++) {
		snprintf(name, sizeof name, "c%d", i);
		snprintf(target, sizeof target, i == 40 ? "f" : "c%d", i + 1);
		symlinkat(target, dfd, name);
	}
	fd = openat(dfd, "c1", O_RDONLY);
	CHECK("forty_symlinks_in_a_row_are_followed", fd >= 0);
	close(fd);
	EXPECT_FAILS("forty_one_symlinks_in_a_row_are_eloop", ELOOP, openat(dfd, "c0", O_RDONLY));
	EXPECT_FAILS("a_trailing_slash_on_a_file_is_enotdir", ENOTDIR, openat(dfd, "f/", O_RDONLY));
}

static void rename_moves_replaces_and_exchanges(void)
{
	touch("a", "A");
	touch("b", "B");
	EXPECT_EQ("renameat_moves_a_name", 0, renameat(dfd, "a", dfd, "moved"));
	EXPECT_FAILS("the_old_name_is_gone", ENOENT, faccessat(dfd, "a", F_OK, 0));
	CHECK("the_new_name_has_the_contents", contents_are("moved", "A"));
	EXPECT_EQ("rename_replaces_an_existing_file", 0, renameat(dfd, "moved", dfd, "b"));
	CHECK("the_replaced_file_is_gone", contents_are("b", "A"));
	touch("a", "A2");
	EXPECT_FAILS("rename_noreplace_over_an_existing_name_is_eexist", EEXIST, renameat2_(dfd, "a", dfd, "b", RENAME_NOREPLACE));
	EXPECT_EQ("rename_exchange_swaps_two_names", 0, renameat2_(dfd, "a", dfd, "b", RENAME_EXCHANGE));
	CHECK("exchange_result_a", contents_are("a", "A"));
	CHECK("exchange_result_b", contents_are("b", "A2"));
	EXPECT_FAILS("rename_exchange_with_a_missing_name_is_enoent", ENOENT, renameat2_(dfd, "a", dfd, "nope", RENAME_EXCHANGE));
	EXPECT_FAILS("noreplace_with_exchange_is_einval", EINVAL, renameat2_(dfd, "a", dfd, "b", RENAME_NOREPLACE | RENAME_EXCHANGE));
	EXPECT_FAILS("an_unknown_rename_flag_is_einval", EINVAL, renameat2_(dfd, "a", dfd, "b", 0x100));
	EXPECT_FAILS("rename_of_a_missing_file_is_enoent", ENOENT, renameat(dfd, "nope", dfd, "x"));
	mkdirat(dfd, "d1", 0755);
	mkdirat(dfd, "d2", 0755);
	EXPECT_FAILS("a_directory_over_a_file_is_enotdir", ENOTDIR, renameat(dfd, "d1", dfd, "a"));
	EXPECT_FAILS("a_file_over_a_directory_is_eisdir", EISDIR, renameat(dfd, "a", dfd, "d1"));
	touch("d2/x", "x");
	EXPECT_FAILS("a_directory_over_a_non_empty_one_is_enotempty", ENOTEMPTY, renameat(dfd, "d1", dfd, "d2"));
	EXPECT_FAILS("a_directory_into_itself_is_einval", EINVAL, renameat(dfd, "d2", dfd, "d2/sub"));
	EXPECT_FAILS("rename_of_dot_is_ebusy", EBUSY, renameat(dfd, "d2/.", dfd, "d3"));
	EXPECT_FAILS("a_trailing_slash_on_a_file_is_enotdir", ENOTDIR, renameat(dfd, "a/", dfd, "c"));
	int d2 = openat(dfd, "d2", O_RDONLY | O_DIRECTORY);
	EXPECT_EQ("rename_across_directory_fds", 0, renameat(dfd, "a", d2, "a"));
	CHECK("the_file_is_in_the_other_directory", contents_are("d2/a", "A"));
	close(d2);
	unlinkat(dfd, "d2/x", 0);
	unlinkat(dfd, "d2/a", 0);
	mkdirat(dfd, "d1/inner", 0755);
	int links = st_at(".", 0).st_nlink;
	EXPECT_EQ("a_directory_over_an_empty_one_replaces_it", 0, renameat(dfd, "d1", dfd, "d2"));
	EXPECT_EQ("the_parent_lost_one_subdirectory_link", links - 1, st_at(".", 0).st_nlink);
	CHECK("the_moved_directory_keeps_its_entries", S_ISDIR(st_at("d2/inner", 0).st_mode));
	mkdirat(dfd, "d3", 0755);
	EXPECT_EQ("a_directory_moves_into_another", 0, renameat(dfd, "d2/inner", dfd, "d3/inner"));
	EXPECT_EQ("the_new_parent_gains_a_link", 3, st_at("d3", 0).st_nlink);
	EXPECT_EQ("the_old_parent_loses_one", 2, st_at("d2", 0).st_nlink);
}

static void mknod_makes_files_and_fifos(void)
{
	EXPECT_EQ("mknodat_makes_a_regular_file", 0, mknodat(dfd, "reg", S_IFREG | 0600, 0));
	EXPECT_EQ("the_node_is_regular", 0100600, st_at("reg", 0).st_mode);
	EXPECT_EQ("mknodat_makes_a_fifo", 0, mknodat(dfd, "fifo", S_IFIFO | 0600, 0));
	CHECK("the_node_is_a_fifo", S_ISFIFO(st_at("fifo", 0).st_mode));
	EXPECT_FAILS("mknod_of_a_directory_is_eperm", EPERM, mknodat(dfd, "dir", S_IFDIR | 0755, 0));
	EXPECT_FAILS("mknod_with_an_unknown_type_is_einval", EINVAL, mknodat(dfd, "bad", 0070000 | 0644, 0));
	EXPECT_FAILS("mknod_over_an_existing_name_is_eexist", EEXIST, mknodat(dfd, "reg", S_IFREG | 0600, 0));
}

static void long_names_are_enametoolong(void)
{
	char name[300];
	memset(name, 'n', 256);
	name[256] = '\0';
	EXPECT_FAILS("a_component_of_256_bytes_is_enametoolong", ENAMETOOLONG, openat(dfd, name, O_CREAT | O_WRONLY, 0644));
	EXPECT_FAILS("mkdir_of_a_256_byte_name_is_enametoolong", ENAMETOOLONG, mkdirat(dfd, name, 0755));
	name[255] = '\0';
	int fd = openat(dfd, name, O_CREAT | O_WRONLY, 0644);
	CHECK("a_component_of_255_bytes_is_fine", fd >= 0);
	close(fd);
	unlinkat(dfd, name, 0);
	static char path[5000];
	for (int i = 0; i < 4999; i++)
		path[i] = i % 2 ? '/' : '.';
	path[4999] = '\0';
	EXPECT_FAILS("a_path_of_4096_bytes_or_more_is_enametoolong", ENAMETOOLONG, openat(dfd, path, O_RDONLY));
}

int main(void)
{
	check_begin("fsnames");
	char dir[64];
	if (scratch_dir(dir, sizeof dir, "fsnames") == NULL || chdir(dir) != 0)
		return say("fsnames: cannot make %s\n", dir), 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	hard_links_count_in_stat();
	symlinks_and_readlink();
	rename_moves_replaces_and_exchanges();
	mknod_makes_files_and_fifos();
	long_names_are_enametoolong();
	chdir("/");
	scratch_remove(dir);
	return check_end();
}
