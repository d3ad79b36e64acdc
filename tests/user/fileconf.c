/*
 * fileconf: the file calls' edge cases as Linux answers them: open's flags
 * and errno order, read/write/lseek/pread/readv on files, directories and
 * holes, the stat family, getdents64, the directory-entry calls' errno
 * cases, access, umask and the working directory.
 */
#define _GNU_SOURCE
#include "check.h"
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define D "/tmp/fileconf"

/* struct statx as <linux/stat.h> has it (musl's headers do not). */
struct statx_ts {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct statx_buf {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	struct statx_ts atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare[14];
};
#define STATX_BASIC_STATS 0x7ffU

static void open_flags(void)
{
	mkdir(D, 0755);
	int fd = open(D "/f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, "hello", 5);
	close(fd);
	symlink("f", D "/link");
	symlink("nowhere", D "/dangling");

	EXPECT_FAILS("o_creat_o_excl_on_an_existing_file_is_eexist", EEXIST, open(D "/f", O_CREAT | O_EXCL | O_RDWR, 0644));
	EXPECT_FAILS("o_creat_o_excl_on_a_dangling_symlink_is_eexist", EEXIST, open(D "/dangling", O_CREAT | O_EXCL | O_RDWR, 0644));
	EXPECT_FAILS("o_directory_on_a_file_is_enotdir", ENOTDIR, open(D "/f", O_RDONLY | O_DIRECTORY));
	EXPECT_FAILS("o_nofollow_on_a_symlink_is_eloop", ELOOP, open(D "/link", O_RDONLY | O_NOFOLLOW));
	EXPECT_FAILS("a_file_as_a_directory_component_is_enotdir", ENOTDIR, open(D "/f/x", O_RDONLY));
	EXPECT_FAILS("a_trailing_slash_on_a_file_is_enotdir", ENOTDIR, open(D "/f/", O_RDONLY));
	EXPECT_FAILS("a_missing_directory_component_is_enoent", ENOENT, open(D "/nodir/x", O_RDONLY));
	EXPECT_FAILS("o_creat_under_a_missing_directory_is_enoent", ENOENT, open(D "/nodir/x", O_CREAT | O_RDWR, 0644));
	EXPECT_FAILS("o_creat_with_a_trailing_slash_is_eisdir", EISDIR, open(D "/new/", O_CREAT | O_RDWR, 0644));
	EXPECT_FAILS("the_empty_path_is_enoent", ENOENT, open("", O_RDONLY));
	EXPECT_FAILS("a_directory_opened_for_writing_is_eisdir", EISDIR, open(D, O_WRONLY));
	EXPECT_FAILS("a_directory_opened_read_write_is_eisdir", EISDIR, open(D, O_RDWR));
	EXPECT_FAILS("o_creat_on_an_existing_directory_is_eisdir", EISDIR, open(D, O_CREAT | O_RDONLY, 0644));
	EXPECT_FAILS("o_creat_with_o_directory_is_einval", EINVAL, open(D "/cd", O_CREAT | O_DIRECTORY | O_RDONLY, 0644));
	char name[300];
	memset(name, 'n', sizeof name);
	memcpy(name, D "/", sizeof D);
	name[sizeof name - 1] = '\0';
	EXPECT_FAILS("a_component_longer_than_255_is_enametoolong", ENAMETOOLONG, open(name, O_CREAT | O_RDWR, 0644));
	static char longpath[PATH_MAX + 10];
	for (size_t i = 0; i < sizeof longpath - 1; i += 2)
		memcpy(longpath + i, "./", 2);
	longpath[sizeof longpath - 1] = '\0';
	EXPECT_FAILS("a_path_of_path_max_or_more_is_enametoolong", ENAMETOOLONG, open(longpath, O_RDONLY));

	fd = open(D "/f", O_RDWR | O_TRUNC);
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("o_trunc_empties_the_file", 0, st.st_size);
	close(fd);
	fd = open(D "/f", O_RDONLY | O_TRUNC);
	close(fd);
	CHECK("o_trunc_with_o_rdonly_still_opens", fd >= 0);

	mode_t old = umask(022);
	fd = open(D "/m", O_CREAT | O_RDWR | O_EXCL, 0777);
	fstat(fd, &st);
	EXPECT_EQ("o_creat_mode_is_masked_by_umask", 0755, st.st_mode & 07777);
	close(fd);
	EXPECT_EQ("umask_returns_the_old_mask", 022, umask(0));
	fd = open(D "/m2", O_CREAT | O_RDWR | O_EXCL, 07777);
	fstat(fd, &st);
	EXPECT_EQ("with_umask_0_o_creat_keeps_every_mode_bit", 07777, st.st_mode & 07777);
	close(fd);
	EXPECT_EQ("umask_keeps_only_the_permission_bits", 0, umask(0177777));
	EXPECT_EQ("umask_stored_0777_of_it", 0777, umask(old));
	mkdir(D "/md", 0777);
	stat(D "/md", &st);
	EXPECT_EQ("mkdir_mode_is_masked_by_umask", 0777 & ~old, st.st_mode & 07777);
	CHECK("mkdir_makes_a_directory", S_ISDIR(st.st_mode));
}

static void read_write_lseek(void)
{
	int fd = open(D "/rw", O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(fd, "0123456789", 10);
	EXPECT_EQ("lseek_seek_end_gives_the_size", 10, lseek(fd, 0, SEEK_END));
	EXPECT_EQ("lseek_seek_end_minus_3", 7, lseek(fd, -3, SEEK_END));
	EXPECT_FAILS("lseek_to_a_negative_offset_is_einval", EINVAL, lseek(fd, -11, SEEK_END));
	EXPECT_EQ("a_failed_lseek_leaves_the_offset", 7, lseek(fd, 0, SEEK_CUR));
	EXPECT_FAILS("lseek_with_whence_7_is_einval", EINVAL, lseek(fd, 0, 7));
	EXPECT_FAILS("lseek_on_a_closed_fd_is_ebadf", EBADF, lseek(999, 0, SEEK_SET));
	EXPECT_EQ("lseek_past_the_end_is_allowed", 100, lseek(fd, 100, SEEK_SET));
	char buf[128];
	EXPECT_EQ("read_at_or_past_the_end_returns_zero", 0, read(fd, buf, 10));
	write(fd, "x", 1);
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("a_write_past_the_end_extends_the_file", 101, st.st_size);
	memset(buf, 'z', sizeof buf);
	EXPECT_EQ("pread_reads_across_the_hole", 20, pread(fd, buf, 20, 5));
	CHECK("the_hole_reads_as_zeros", buf[4] == '9' && buf[5] == 0 && buf[19] == 0);
	EXPECT_EQ("seek_data_at_zero_finds_the_data", 0, lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ("seek_hole_finds_the_end_of_the_file", 101, lseek(fd, 0, SEEK_HOLE));
	EXPECT_FAILS("seek_data_at_the_end_is_enxio", ENXIO, lseek(fd, 101, SEEK_DATA));
	EXPECT_FAILS("pread_at_a_negative_offset_is_einval", EINVAL, pread(fd, buf, 1, -1));
	EXPECT_FAILS("pwrite_at_a_negative_offset_is_einval", EINVAL, pwrite(fd, buf, 1, -1));
	EXPECT_EQ("pread_does_not_move_the_offset", 101, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ("a_zero_length_read_returns_zero", 0, read(fd, buf, 0));
	EXPECT_EQ("a_zero_length_write_returns_zero", 0, write(fd, buf, 0));
	EXPECT_FAILS("a_read_into_a_bad_address_is_efault", EFAULT, pread(fd, (void *)8, 10, 0));

	struct iovec iov[3] = { { buf, 2 }, { buf + 2, 0 }, { buf + 10, 3 } };
	EXPECT_EQ("preadv_style_readv_fills_each_buffer_in_turn", 5, (lseek(fd, 0, SEEK_SET), readv(fd, iov, 3)));
	CHECK("readv_put_the_bytes_in_order", memcmp(buf, "01", 2) == 0 && memcmp(buf + 10, "234", 3) == 0);
	static struct iovec many[IOV_MAX + 1];
	for (int i = 0; i <= IOV_MAX; i++)
		many[i] = (struct iovec){ buf, 1 };
	EXPECT_FAILS("readv_of_more_than_iov_max_is_einval", EINVAL, readv(fd, many, IOV_MAX + 1));
	EXPECT_FAILS("writev_of_more_than_iov_max_is_einval", EINVAL, writev(fd, many, IOV_MAX + 1));
	EXPECT_FAILS("readv_of_a_negative_count_is_einval", EINVAL, readv(fd, many, -1));
	EXPECT_EQ("readv_of_zero_buffers_returns_zero", 0, readv(fd, many, 0));
	struct iovec huge[2] = { { buf, 2 }, { buf, (size_t)-1 } };
	EXPECT_FAILS("readv_of_a_negative_length_is_einval", EINVAL, readv(fd, huge, 2));
	struct iovec two[2] = { { buf, 3 }, { buf + 3, 2 } };
	lseek(fd, 50, SEEK_SET);
	EXPECT_EQ("preadv_reads_at_the_offset_into_each_buffer", 5, preadv(fd, two, 2, 2));
	CHECK("preadv_read_the_bytes_at_the_offset", memcmp(buf, "23456", 5) == 0);
	EXPECT_EQ("preadv_leaves_the_file_position", 50, lseek(fd, 0, SEEK_CUR));
	EXPECT_FAILS("preadv_at_a_negative_offset_is_einval", EINVAL, preadv(fd, two, 2, -1));
	EXPECT_EQ("pwritev_writes_at_the_offset", 5, pwritev(fd, two, 2, 200));
	fstat(fd, &st);
	EXPECT_EQ("pwritev_past_the_end_extends_the_file", 205, st.st_size);
	EXPECT_EQ("fsync_of_a_file_succeeds", 0, fsync(fd));
	EXPECT_EQ("fdatasync_of_a_file_succeeds", 0, fdatasync(fd));
	close(fd);
	EXPECT_FAILS("fsync_of_a_closed_fd_is_ebadf", EBADF, fsync(fd));
	int p[2];
	pipe(p);
	EXPECT_FAILS("fsync_of_a_pipe_is_einval", EINVAL, fsync(p[0]));
	EXPECT_FAILS("preadv_on_a_pipe_is_espipe", ESPIPE, preadv(p[0], two, 2, 0));
	close(p[0]);
	close(p[1]);

	fd = open(D "/rw", O_RDONLY);
	EXPECT_FAILS("writing_a_read_only_fd_is_ebadf", EBADF, write(fd, "x", 1));
	close(fd);
	fd = open(D "/rw", O_WRONLY);
	EXPECT_FAILS("reading_a_write_only_fd_is_ebadf", EBADF, read(fd, buf, 1));
	close(fd);
	fd = open(D, O_RDONLY | O_DIRECTORY);
	EXPECT_FAILS("reading_a_directory_is_eisdir", EISDIR, read(fd, buf, 1));
	close(fd);

	fd = open(D "/ap", O_CREAT | O_RDWR | O_APPEND | O_TRUNC, 0644);
	write(fd, "abc", 3);
	EXPECT_EQ("pwrite_with_o_append_writes_at_the_end_on_linux", 1, pwrite(fd, "Z", 1, 0));
	fstat(fd, &st);
	EXPECT_EQ("so_the_file_grew", 4, st.st_size);
	close(fd);
}

static void stat_family(void)
{
	struct stat st, lst;
	EXPECT_EQ("lstat_of_a_symlink_succeeds", 0, lstat(D "/link", &lst));
	CHECK("lstat_sees_the_symlink_itself", S_ISLNK(lst.st_mode));
	EXPECT_EQ("a_symlinks_size_is_its_targets_length", 1, lst.st_size);
	EXPECT_EQ("a_symlink_is_mode_0777", 0777, lst.st_mode & 07777);
	stat(D "/link", &st);
	CHECK("stat_follows_the_symlink", S_ISREG(st.st_mode));
	fstatat(AT_FDCWD, D "/link", &st, AT_SYMLINK_NOFOLLOW);
	CHECK("fstatat_at_symlink_nofollow_is_lstat", S_ISLNK(st.st_mode) && st.st_ino == lst.st_ino);
	EXPECT_FAILS("fstatat_with_an_unknown_flag_is_einval", EINVAL, fstatat(AT_FDCWD, D, &st, 0x4));
	EXPECT_FAILS("stat_of_the_empty_path_is_enoent", ENOENT, stat("", &st));
	int fd = open(D "/f", O_RDONLY);
	EXPECT_EQ("fstatat_at_empty_path_stats_the_fd", 0, fstatat(fd, "", &st, AT_EMPTY_PATH));
	struct stat fst;
	fstat(fd, &fst);
	CHECK("fstatat_at_empty_path_is_fstat", st.st_ino == fst.st_ino && st.st_dev == fst.st_dev);
	EXPECT_FAILS("fstatat_relative_to_a_file_is_enotdir", ENOTDIR, fstatat(fd, "x", &st, 0));
	close(fd);
	EXPECT_FAILS("fstatat_relative_to_a_closed_fd_is_ebadf", EBADF, fstatat(999, "x", &st, 0));
	CHECK("fstatat_ignores_the_fd_for_an_absolute_path", fstatat(999, D, &st, 0) == 0);
	EXPECT_FAILS("fstat_of_a_closed_fd_is_ebadf", EBADF, fstat(999, &st));
	EXPECT_FAILS("stat_into_a_bad_address_is_efault", EFAULT, syscall(SYS_stat, D, (void *)8));

	mkdir(D "/nl", 0755);
	stat(D "/nl", &st);
	EXPECT_EQ("a_new_directory_has_two_links", 2, st.st_nlink);
	struct stat parent_before, parent_after;
	stat(D "/nl", &parent_before);
	mkdir(D "/nl/sub", 0755);
	stat(D "/nl", &parent_after);
	EXPECT_EQ("a_subdirectory_adds_a_link_to_its_parent", parent_before.st_nlink + 1, parent_after.st_nlink);
	rmdir(D "/nl/sub");
	stat(D "/nl", &parent_after);
	EXPECT_EQ("rmdir_takes_the_link_back", parent_before.st_nlink, parent_after.st_nlink);
	link(D "/f", D "/hard");
	stat(D "/f", &st);
	EXPECT_EQ("link_adds_a_link_to_the_file", 2, st.st_nlink);
	unlink(D "/hard");
	stat(D "/f", &st);
	EXPECT_EQ("unlink_takes_it_back", 1, st.st_nlink);
	CHECK("st_blksize_is_set", st.st_blksize > 0);
}

static void statx_rules(void)
{
	struct statx_buf sx;
	struct stat st;
	memset(&sx, 0xff, sizeof sx);
	EXPECT_EQ("statx_succeeds", 0, syscall(SYS_statx, AT_FDCWD, D "/f", 0, STATX_BASIC_STATS, &sx));
	stat(D "/f", &st);
	CHECK("statx_reports_the_basic_stats_in_its_mask", (sx.mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	CHECK("statx_agrees_with_stat", sx.ino == st.st_ino && sx.size == (uint64_t)st.st_size &&
					    sx.mode == st.st_mode && sx.nlink == st.st_nlink &&
					    sx.uid == st.st_uid && sx.gid == st.st_gid &&
					    sx.blocks == (uint64_t)st.st_blocks);
	CHECK("statx_times_agree_with_stat", sx.mtime.tv_sec == st.st_mtim.tv_sec &&
						 sx.mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec &&
						 sx.ctime.tv_sec == st.st_ctim.tv_sec);
	CHECK("statx_dev_agrees_with_stat", makedev(sx.dev_major, sx.dev_minor) == st.st_dev);
	EXPECT_EQ("statx_blksize_agrees_with_stat", st.st_blksize, sx.blksize);
	syscall(SYS_statx, AT_FDCWD, D "/link", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
	CHECK("statx_at_symlink_nofollow_sees_the_link", S_ISLNK(sx.mode));
	int fd = open(D "/f", O_RDONLY);
	EXPECT_EQ("statx_at_empty_path_reads_the_fd", 0, syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	EXPECT_EQ("statx_at_empty_path_is_the_same_file", st.st_ino, sx.ino);
	close(fd);
	syscall(SYS_statx, AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS, &sx);
	stat("/dev/null", &st);
	CHECK("statx_rdev_agrees_with_stat", makedev(sx.rdev_major, sx.rdev_minor) == st.st_rdev);
	EXPECT_FAILS("statx_of_the_empty_path_is_enoent", ENOENT, syscall(SYS_statx, AT_FDCWD, "", 0, STATX_BASIC_STATS, &sx));
	EXPECT_FAILS("statx_with_an_unknown_flag_is_einval", EINVAL, syscall(SYS_statx, AT_FDCWD, D, 0x1, STATX_BASIC_STATS, &sx));
	EXPECT_FAILS("statx_with_both_sync_types_is_einval", EINVAL, syscall(SYS_statx, AT_FDCWD, D, 0x6000, STATX_BASIC_STATS, &sx));
	EXPECT_FAILS("statx_with_the_reserved_mask_bit_is_einval", EINVAL, syscall(SYS_statx, AT_FDCWD, D, 0, 0x80000000U, &sx));
	EXPECT_FAILS("statx_of_a_missing_file_is_enoent", ENOENT, syscall(SYS_statx, AT_FDCWD, D "/none", 0, STATX_BASIC_STATS, &sx));
	EXPECT_FAILS("statx_into_a_bad_address_is_efault", EFAULT, syscall(SYS_statx, AT_FDCWD, D, 0, STATX_BASIC_STATS, (void *)8));
}

static void getdents_rules(void)
{
	int fd = open(D "/nl", O_RDONLY | O_DIRECTORY);
	char buf[4096];
	long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
	int dot = 0, dotdot = 0;
	for (long off = 0; off < n;) {
		struct dirent64 *d = (struct dirent64 *)(buf + off);
		if (strcmp(d->d_name, ".") == 0 && d->d_type == DT_DIR)
			dot = 1;
		if (strcmp(d->d_name, "..") == 0 && d->d_type == DT_DIR)
			dotdot = 1;
		off += d->d_reclen;
	}
	CHECK("getdents64_lists_dot_and_dotdot_as_directories", dot && dotdot);
	EXPECT_EQ("getdents64_at_the_end_returns_zero", 0, syscall(SYS_getdents64, fd, buf, sizeof buf));
	lseek(fd, 0, SEEK_SET);
	EXPECT_FAILS("getdents64_with_a_too_small_buffer_is_einval", EINVAL, syscall(SYS_getdents64, fd, buf, 8));
	close(fd);
	fd = open(D "/f", O_RDONLY);
	EXPECT_FAILS("getdents64_on_a_file_is_enotdir", ENOTDIR, syscall(SYS_getdents64, fd, buf, sizeof buf));
	close(fd);
	EXPECT_FAILS("getdents64_on_a_closed_fd_is_ebadf", EBADF, syscall(SYS_getdents64, 999, buf, sizeof buf));
}

static void entry_calls(void)
{
	EXPECT_FAILS("mkdir_of_an_existing_name_is_eexist", EEXIST, mkdir(D "/f", 0755));
	EXPECT_FAILS("mkdir_over_a_dangling_symlink_is_eexist", EEXIST, mkdir(D "/dangling", 0755));
	EXPECT_FAILS("mkdir_under_a_file_is_enotdir", ENOTDIR, mkdir(D "/f/d", 0755));
	mkdir(D "/full", 0755);
	close(open(D "/full/x", O_CREAT | O_RDWR, 0644));
	EXPECT_FAILS("rmdir_of_a_non_empty_directory_is_enotempty", ENOTEMPTY, rmdir(D "/full"));
	EXPECT_FAILS("rmdir_of_dot_is_einval", EINVAL, rmdir(D "/full/."));
	EXPECT_FAILS("rmdir_of_dotdot_is_enotempty", ENOTEMPTY, rmdir(D "/full/.."));
	EXPECT_FAILS("rmdir_of_a_file_is_enotdir", ENOTDIR, rmdir(D "/f"));
	EXPECT_FAILS("rmdir_of_a_missing_name_is_enoent", ENOENT, rmdir(D "/none"));
	EXPECT_FAILS("unlink_of_a_directory_is_eisdir", EISDIR, unlink(D "/full"));
	EXPECT_FAILS("unlink_of_a_missing_name_is_enoent", ENOENT, unlink(D "/none"));
	EXPECT_FAILS("unlink_through_a_file_is_enotdir", ENOTDIR, unlink(D "/f/x"));

	mkdir(D "/empty", 0755);
	EXPECT_FAILS("rename_over_a_non_empty_directory_is_enotempty", ENOTEMPTY, rename(D "/empty", D "/full"));
	EXPECT_FAILS("rename_of_a_file_over_a_directory_is_eisdir", EISDIR, rename(D "/f", D "/empty"));
	EXPECT_FAILS("rename_of_a_directory_over_a_file_is_enotdir", ENOTDIR, rename(D "/empty", D "/f"));
	EXPECT_FAILS("rename_of_a_directory_into_itself_is_einval", EINVAL, rename(D "/full", D "/full/sub"));
	EXPECT_FAILS("rename_of_a_missing_name_is_enoent", ENOENT, rename(D "/none", D "/none2"));
	EXPECT_EQ("rename_of_a_file_onto_itself_succeeds", 0, rename(D "/f", D "/f"));
	link(D "/f", D "/f2");
	EXPECT_EQ("rename_between_two_links_of_one_file_does_nothing", 0, rename(D "/f", D "/f2"));
	CHECK("both_links_are_still_there", access(D "/f", F_OK) == 0 && access(D "/f2", F_OK) == 0);
	unlink(D "/f2");
	mkdir(D "/empty2", 0755);
	EXPECT_EQ("rename_of_a_directory_over_an_empty_one_succeeds", 0, rename(D "/empty", D "/empty2"));
	CHECK("the_old_directory_name_is_gone", access(D "/empty", F_OK) == -1 && errno == ENOENT);

	EXPECT_FAILS("link_to_a_directory_is_eperm", EPERM, link(D "/full", D "/dirlink"));
	EXPECT_FAILS("link_onto_an_existing_name_is_eexist", EEXIST, link(D "/f", D "/m"));
	EXPECT_FAILS("link_of_a_missing_file_is_enoent", ENOENT, link(D "/none", D "/l2"));
	EXPECT_FAILS("symlink_onto_an_existing_name_is_eexist", EEXIST, symlink("x", D "/f"));
	EXPECT_FAILS("symlink_with_an_empty_target_is_enoent", ENOENT, symlink("", D "/emptylink"));

	char buf[64];
	EXPECT_FAILS("readlink_of_a_file_is_einval", EINVAL, readlink(D "/f", buf, sizeof buf));
	EXPECT_FAILS("readlink_with_a_zero_size_is_einval", EINVAL, syscall(SYS_readlink, D "/dangling", buf, 0));
	memset(buf, 'X', sizeof buf);
	EXPECT_EQ("readlink_truncates_to_the_buffer", 3, readlink(D "/dangling", buf, 3));
	CHECK("readlink_writes_no_terminator", memcmp(buf, "now", 3) == 0 && buf[3] == 'X');
	EXPECT_EQ("readlink_returns_the_whole_target", 7, readlink(D "/dangling", buf, sizeof buf));
	EXPECT_FAILS("readlink_of_a_missing_name_is_enoent", ENOENT, readlink(D "/none", buf, sizeof buf));

	EXPECT_FAILS("access_of_a_missing_file_is_enoent", ENOENT, access(D "/none", F_OK));
	EXPECT_FAILS("access_with_a_bad_mode_is_einval", EINVAL, access(D "/f", 8));
	EXPECT_FAILS("faccessat_with_a_bad_flag_is_einval", EINVAL, syscall(SYS_faccessat2, AT_FDCWD, D "/f", F_OK, 0x1));
	EXPECT_EQ("access_of_a_dangling_symlink_follows_it", -1, access(D "/dangling", F_OK));
	EXPECT_EQ("faccessat_at_symlink_nofollow_sees_the_link", 0,
		  syscall(SYS_faccessat2, AT_FDCWD, D "/dangling", F_OK, AT_SYMLINK_NOFOLLOW));
	chmod(D "/m", 0644);
	EXPECT_EQ("root_may_read_and_write_without_permission_bits", 0, access(D "/m", R_OK | W_OK));
	EXPECT_FAILS("root_may_not_execute_without_an_x_bit", EACCES, access(D "/m", X_OK));
}

static void cwd_calls(void)
{
	char buf[PATH_MAX];
	char start[PATH_MAX];
	getcwd(start, sizeof start);
	chdir(D "/full");
	EXPECT_FAILS("getcwd_with_a_too_small_buffer_is_erange", ERANGE, syscall(SYS_getcwd, buf, 2));
	EXPECT_FAILS("getcwd_with_size_0_is_erange", ERANGE, syscall(SYS_getcwd, buf, 0));
	long n = syscall(SYS_getcwd, buf, sizeof buf);
	EXPECT_EQ("getcwd_returns_the_length_with_the_nul", (long)sizeof(D "/full"), n);
	CHECK("getcwd_names_the_directory", strcmp(buf, D "/full") == 0);
	chdir("..");
	getcwd(buf, sizeof buf);
	CHECK("chdir_dotdot_goes_up", strcmp(buf, D) == 0);
	EXPECT_FAILS("chdir_to_a_file_is_enotdir", ENOTDIR, chdir(D "/f"));
	EXPECT_FAILS("chdir_to_a_missing_directory_is_enoent", ENOENT, chdir(D "/none"));
	int fd = open(D "/f", O_RDONLY);
	EXPECT_FAILS("fchdir_to_a_file_is_enotdir", ENOTDIR, fchdir(fd));
	close(fd);
	EXPECT_FAILS("fchdir_to_a_closed_fd_is_ebadf", EBADF, fchdir(999));
	fd = open(D "/full", O_RDONLY | O_DIRECTORY);
	fchdir(fd);
	close(fd);
	getcwd(buf, sizeof buf);
	CHECK("fchdir_changes_the_directory", strcmp(buf, D "/full") == 0);
	chdir(start);
}

static int rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	check_begin("fileconf");
	nftw(D, rm, 16, FTW_DEPTH | FTW_PHYS);
	open_flags();
	read_write_lseek();
	stat_family();
	statx_rules();
	getdents_rules();
	entry_calls();
	cwd_calls();
	nftw(D, rm, 16, FTW_DEPTH | FTW_PHYS);
	return check_end();
}
