/*
 * fsmeta: file metadata and names, and every *at() call relative to a
 * directory descriptor, with the errors Linux documents for each: chmod,
 * chown, utimensat, truncate, fallocate, umask, access (names are in
 * fsnames.c, FIFOs and exec in fsexec.c). Everything
 * happens in a scratch directory under /tmp. We run as root.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <utime.h>

static char dir[64];
static int dfd;

static struct stat st_at(const char *name, int flags)
{
	struct stat st;
	memset(&st, 0xff, sizeof st);
	fstatat(dfd, name, &st, flags);
	return st;
}

static void at_calls_resolve_relative_to_the_directory_fd(void)
{
	int fd = openat(dfd, "f", O_CREAT | O_WRONLY, 0644);
	CHECK("openat_creates_a_file_relative_to_the_directory_fd", fd >= 0);
	char abs[96];
	snprintf(abs, sizeof abs, "%s/f", dir);
	struct stat st;
	EXPECT_EQ("the_file_is_found_by_its_absolute_path", 0, stat(abs, &st));
	EXPECT_EQ("fstatat_relative_to_the_fd_sees_the_same_inode", st.st_ino, st_at("f", 0).st_ino);
	EXPECT_FAILS("openat_with_a_regular_file_as_dirfd_is_enotdir", ENOTDIR, openat(fd, "x", O_RDONLY));
	EXPECT_FAILS("openat_with_a_bad_dirfd_is_ebadf", EBADF, openat(999, "f", O_RDONLY));
	int abs_fd = openat(999, abs, O_RDONLY);
	CHECK("an_absolute_path_ignores_a_bad_dirfd", abs_fd >= 0);
	close(abs_fd);
	EXPECT_FAILS("fstatat_with_a_bad_dirfd_is_ebadf", EBADF, fstatat(999, "f", &st, 0));
	EXPECT_EQ("mkdirat_makes_a_directory_relative_to_the_fd", 0, mkdirat(dfd, "sub", 0755));
	CHECK("the_new_directory_is_a_directory", S_ISDIR(st_at("sub", 0).st_mode));
	EXPECT_EQ("a_directory_with_one_subdirectory_has_three_links", 3, st_at(".", 0).st_nlink);
	EXPECT_EQ("a_new_directory_has_two_links", 2, st_at("sub", 0).st_nlink);
	int sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
	int inner = openat(sub, "../f", O_RDONLY);
	CHECK("dot_dot_relative_to_a_subdirectory_fd_reaches_its_parent", inner >= 0);
	close(inner);
	EXPECT_EQ("fstatat_with_at_empty_path_stats_the_fd_itself", st.st_ino,
		  (fstatat(fd, "", &st, AT_EMPTY_PATH), st.st_ino));
	EXPECT_FAILS("fstatat_of_an_empty_path_without_at_empty_path_is_enoent", ENOENT, fstatat(fd, "", &st, 0));
	EXPECT_FAILS("unlinkat_of_a_directory_without_at_removedir_is_eisdir", EISDIR, unlinkat(dfd, "sub", 0));
	EXPECT_FAILS("unlinkat_at_removedir_of_a_file_is_enotdir", ENOTDIR, unlinkat(dfd, "f", AT_REMOVEDIR));
	EXPECT_FAILS("unlinkat_with_an_unknown_flag_is_einval", EINVAL, unlinkat(dfd, "f", 0x1));
	EXPECT_EQ("fchdir_to_a_directory_fd_moves_the_working_directory", 0, fchdir(sub));
	inner = open("../f", O_RDONLY);
	CHECK("relative_paths_then_start_there", inner >= 0);
	close(inner);
	fchdir(dfd);
	EXPECT_FAILS("fchdir_to_a_file_fd_is_enotdir", ENOTDIR, fchdir(fd));
	EXPECT_FAILS("fchdir_to_a_bad_fd_is_ebadf", EBADF, fchdir(999));
	EXPECT_EQ("unlinkat_at_removedir_removes_the_directory", 0, unlinkat(dfd, "sub", AT_REMOVEDIR));
	EXPECT_EQ("the_parent_loses_the_link_of_the_removed_directory", 2, st_at(".", 0).st_nlink);
	EXPECT_FAILS("a_directory_fd_of_a_removed_directory_finds_nothing", ENOENT, openat(sub, "x", O_RDONLY));
	close(sub);
	close(fd);
}

static void access_checks_the_mode_bits(void)
{
	EXPECT_EQ("faccessat_read_and_write_pass_for_root", 0, faccessat(dfd, "f", R_OK | W_OK, 0));
	EXPECT_FAILS("faccessat_x_ok_without_any_x_bit_is_eacces", EACCES, faccessat(dfd, "f", X_OK, 0));
	EXPECT_EQ("fchmodat_sets_the_permission_bits", 0, fchmodat(dfd, "f", 0701, 0));
	EXPECT_EQ("the_mode_shows_the_new_bits", 0100701, st_at("f", 0).st_mode);
	EXPECT_EQ("faccessat_x_ok_passes_with_one_x_bit", 0, faccessat(dfd, "f", X_OK, 0));
	EXPECT_EQ("x_ok_on_a_directory_passes", 0, faccessat(dfd, ".", X_OK, 0));
	EXPECT_FAILS("access_with_an_unknown_mode_bit_is_einval", EINVAL, faccessat(dfd, "f", 8, 0));
	EXPECT_FAILS("faccessat2_with_an_unknown_flag_is_einval", EINVAL,
		     syscall(SYS_faccessat2, dfd, "f", R_OK, 0x4));
	EXPECT_FAILS("access_of_a_missing_file_is_enoent", ENOENT, faccessat(dfd, "nope", F_OK, 0));
	EXPECT_EQ("chmod_keeps_the_setuid_bit", 0, chmod("f", 04755) == 0 ? (int)(st_at("f", 0).st_mode & 07777) - 04755 : -1);
	int fd = openat(dfd, "f", O_RDONLY);
	EXPECT_EQ("fchmod_changes_the_mode_through_the_fd", 0, fchmod(fd, 0644));
	EXPECT_EQ("fchmod_result", 0644, st_at("f", 0).st_mode & 07777);
	close(fd);
	EXPECT_FAILS("chmod_of_a_missing_file_is_enoent", ENOENT, chmod("nope", 0644));
}

static void chown_stores_owner_and_group_and_drops_setuid(void)
{
	EXPECT_EQ("fchownat_sets_owner_and_group", 0, fchownat(dfd, "f", 1000, 2000, 0));
	struct stat st = st_at("f", 0);
	EXPECT_EQ("stat_shows_the_owner", 1000, st.st_uid);
	EXPECT_EQ("stat_shows_the_group", 2000, st.st_gid);
	EXPECT_EQ("minus_one_keeps_the_owner", 0, fchownat(dfd, "f", -1, 3000, 0));
	st = st_at("f", 0);
	EXPECT_EQ("the_owner_is_unchanged", 1000, st.st_uid);
	EXPECT_EQ("the_group_is_changed", 3000, st.st_gid);
	fchmodat(dfd, "f", 06755, 0);
	EXPECT_EQ("chown_of_a_regular_file_works", 0, fchownat(dfd, "f", 0, 0, 0));
	EXPECT_EQ("chown_drops_setuid_and_setgid_with_group_exec", 0755, st_at("f", 0).st_mode & 07777);
	fchmodat(dfd, "f", 02745, 0);
	fchownat(dfd, "f", 0, 0, 0);
	EXPECT_EQ("chown_keeps_setgid_without_group_exec", 02745, st_at("f", 0).st_mode & 07777);
	int fd = openat(dfd, "f", O_RDONLY);
	EXPECT_EQ("fchown_changes_the_owner", 0, fchown(fd, 7, 8));
	EXPECT_EQ("fchownat_at_empty_path_changes_the_fd", 0, fchownat(fd, "", 9, -1, AT_EMPTY_PATH));
	EXPECT_EQ("at_empty_path_result", 9, st_at("f", 0).st_uid);
	close(fd);
	symlinkat("f", dfd, "lnk");
	EXPECT_EQ("lchown_changes_the_link_itself", 0, fchownat(dfd, "lnk", 5, 5, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ("the_link_has_the_owner", 5, st_at("lnk", AT_SYMLINK_NOFOLLOW).st_uid);
	EXPECT_EQ("the_target_keeps_its_owner", 9, st_at("f", 0).st_uid);
	EXPECT_FAILS("fchownat_with_an_unknown_flag_is_einval", EINVAL, fchownat(dfd, "f", 0, 0, 0x4));
	unlinkat(dfd, "lnk", 0);
	fchownat(dfd, "f", 0, 0, 0);
	fchmodat(dfd, "f", 0644, 0);
}

static void utimensat_sets_times_with_nanoseconds(void)
{
	struct timespec t[2] = {{1000, 123456789}, {2000, 987654321}};
	EXPECT_EQ("utimensat_sets_both_times", 0, utimensat(dfd, "f", t, 0));
	struct stat st = st_at("f", 0);
	EXPECT_EQ("atime_seconds", 1000, st.st_atim.tv_sec);
	EXPECT_EQ("atime_nanoseconds", 123456789, st.st_atim.tv_nsec);
	EXPECT_EQ("mtime_seconds", 2000, st.st_mtim.tv_sec);
	EXPECT_EQ("mtime_nanoseconds", 987654321, st.st_mtim.tv_nsec);
	CHECK("ctime_is_now", st.st_ctim.tv_sec > 1000000000);
	struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	EXPECT_EQ("utime_omit_and_utime_now", 0, utimensat(dfd, "f", omit_now, 0));
	st = st_at("f", 0);
	EXPECT_EQ("utime_omit_keeps_atime", 1000, st.st_atim.tv_sec);
	CHECK("utime_now_sets_mtime_to_now", st.st_mtim.tv_sec > 1000000000);
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	EXPECT_FAILS("a_nanosecond_value_out_of_range_is_einval", EINVAL, utimensat(dfd, "f", bad, 0));
	struct timespec both_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	EXPECT_EQ("both_omitted_succeeds_without_looking_the_path_up", 0, utimensat(dfd, "nope", both_omit, 0));
	EXPECT_FAILS("utimensat_with_an_unknown_flag_is_einval", EINVAL, utimensat(dfd, "f", NULL, 0x4));
	int fd = openat(dfd, "f", O_RDONLY);
	EXPECT_EQ("futimens_sets_the_times_of_the_fd", 0, futimens(fd, t));
	EXPECT_EQ("futimens_result", 2000, st_at("f", 0).st_mtim.tv_sec);
	close(fd);
	struct timeval tv[2] = {{3000, 5}, {4000, 6}};
	EXPECT_EQ("utimes_takes_microseconds", 0, utimes("f", tv));
	EXPECT_EQ("utimes_result", 4000006000LL, st_at("f", 0).st_mtim.tv_sec * 1000000LL + st_at("f", 0).st_mtim.tv_nsec);
	struct timeval badtv[2] = {{0, 1000000}, {0, 0}};
	EXPECT_FAILS("utimes_with_a_microsecond_value_out_of_range_is_einval", EINVAL, utimes("f", badtv));
	struct utimbuf ub = {5000, 6000};
	EXPECT_EQ("utime_sets_whole_seconds", 0, utime("f", &ub));
	EXPECT_EQ("utime_result", 6000, st_at("f", 0).st_mtime);
}

static void truncate_and_fallocate_set_the_size(void)
{
	int fd = openat(dfd, "f", O_RDWR | O_TRUNC);
	write(fd, "abcdefgh", 8);
	EXPECT_EQ("ftruncate_grows_the_file", 0, ftruncate(fd, 10000));
	EXPECT_EQ("the_size_is_the_new_length", 10000, st_at("f", 0).st_size);
	char buf[16] = {1};
	EXPECT_EQ("the_grown_part_reads_as_zeros", 1, pread(fd, buf, 1, 9000) == 1 && buf[0] == 0);
	EXPECT_EQ("ftruncate_shrinks_the_file", 0, ftruncate(fd, 3));
	EXPECT_EQ("growing_again_reads_zeros_past_the_old_end", 0, ftruncate(fd, 8));
	memset(buf, 1, sizeof buf);
	EXPECT_EQ("the_bytes_read_back", 8, pread(fd, buf, 16, 0));
	CHECK("the_kept_bytes_stay_and_the_rest_is_zero", memcmp(buf, "abc\0\0\0\0\0", 8) == 0);
	EXPECT_FAILS("ftruncate_to_a_negative_length_is_einval", EINVAL, ftruncate(fd, -1));
	EXPECT_EQ("truncate_by_name_works", 0, truncate("f", 100));
	EXPECT_EQ("truncate_result", 100, st_at("f", 0).st_size);
	EXPECT_FAILS("truncate_of_a_directory_is_eisdir", EISDIR, truncate(".", 0));
	EXPECT_FAILS("truncate_of_a_missing_file_is_enoent", ENOENT, truncate("nope", 0));
	EXPECT_EQ("fallocate_mode_0_grows_the_size", 0, fallocate(fd, 0, 0, 8192));
	struct stat st = st_at("f", 0);
	EXPECT_EQ("fallocate_size", 8192, st.st_size);
	CHECK("fallocate_allocates_blocks", st.st_blocks >= 16);
	EXPECT_EQ("fallocate_keep_size_allocates_past_the_end", 0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
	struct stat st2 = st_at("f", 0);
	EXPECT_EQ("keep_size_keeps_the_size", 8192, st2.st_size);
	CHECK("keep_size_adds_blocks", st2.st_blocks > st.st_blocks);
	EXPECT_FAILS("fallocate_punch_hole_without_keep_size_is_eopnotsupp", EOPNOTSUPP, fallocate(fd, 0x02, 0, 4096));
	EXPECT_FAILS("fallocate_of_length_0_is_einval", EINVAL, fallocate(fd, 0, 0, 0));
	close(fd);
	fd = openat(dfd, "f", O_RDONLY);
	EXPECT_FAILS("ftruncate_of_a_read_only_fd_is_einval", EINVAL, ftruncate(fd, 0));
	EXPECT_FAILS("fallocate_of_a_read_only_fd_is_ebadf", EBADF, fallocate(fd, 0, 0, 10));
	close(fd);
	fd = open("/proc/sys/fs/pipe-max-size", O_WRONLY | O_TRUNC);
	CHECK("o_trunc_on_a_proc_sys_file_opens_it_as_the_shell_s_redirection_does", fd >= 0);
	close(fd);
	int p[2];
	pipe(p);
	EXPECT_FAILS("fallocate_of_a_pipe_is_espipe", ESPIPE, fallocate(p[1], 0, 0, 10));
	close(p[0]);
	close(p[1]);
}

static void umask_masks_new_files_and_directories(void)
{
	mode_t old = umask(027);
	EXPECT_EQ("umask_returns_the_old_mask", 027, umask(027));
	int fd = openat(dfd, "masked", O_CREAT | O_WRONLY, 0666);
	close(fd);
	EXPECT_EQ("open_o_creat_applies_the_umask", 0640, st_at("masked", 0).st_mode & 0777);
	mkdirat(dfd, "maskdir", 0777);
	EXPECT_EQ("mkdir_applies_the_umask", 0750, st_at("maskdir", 0).st_mode & 0777);
	umask(old);
	unlinkat(dfd, "masked", 0);
	unlinkat(dfd, "maskdir", AT_REMOVEDIR);
}

int main(void)
{
	check_begin("fsmeta");
	if (scratch_dir(dir, sizeof dir, "fsmeta") == NULL || chdir(dir) != 0)
		return say("fsmeta: cannot make %s\n", dir), 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	at_calls_resolve_relative_to_the_directory_fd();
	access_checks_the_mode_bits();
	chown_stores_owner_and_group_and_drops_setuid();
	utimensat_sets_times_with_nanoseconds();
	truncate_and_fallocate_set_the_size();
	umask_masks_new_files_and_directories();
	chdir("/");
	scratch_remove(dir);
	return check_end();
}
