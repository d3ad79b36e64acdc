/*
 * fs_edges: the file-system calls at their limits, with Linux's answers.
 * File names are bytes (anything but '/' and NUL), unlink refuses
 * directories and /proc, unlinkat refuses unknown flags, paths stop at
 * PATH_MAX and names at NAME_MAX, readv/writev stop at UIO_MAXIOV, and a
 * big file in /tmp takes memory that unlink gives back.
 */
#include "check.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static char dir[64];

/* Whether the directory `d` lists an entry named exactly `name`. */
static int listed(const char *d, const char *name)
{
	DIR *dp = opendir(d);
	if (dp == NULL)
		return 0;
	int found = 0;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL)
		found |= strcmp(e->d_name, name) == 0;
	closedir(dp);
	return found;
}

static void names_are_bytes(void)
{
	const char name[] = "\xff\xfe latin1 \xe9t\xe9 \x01";
	char path[128], sub[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	CHECK("a_file_name_that_is_not_utf8_can_be_created", fd >= 0);
	EXPECT_EQ("a_file_with_a_non_utf8_name_takes_writes", 3, write(fd, "abc", 3));
	close(fd);
	struct stat st;
	EXPECT_EQ("stat_finds_the_non_utf8_name", 0, stat(path, &st));
	EXPECT_EQ("stat_of_the_non_utf8_name_has_its_size", 3, (long)st.st_size);
	CHECK("getdents_lists_the_non_utf8_name_byte_for_byte", listed(dir, name));
	EXPECT_EQ("unlink_removes_the_non_utf8_name", 0, unlink(path));
	snprintf(sub, sizeof sub, "%s/\x80\x81", dir);
	EXPECT_EQ("mkdir_takes_a_non_utf8_name", 0, mkdir(sub, 0755));
	EXPECT_EQ("chdir_into_a_non_utf8_directory_works", 0, chdir(sub));
	char cwd[256];
	CHECK("getcwd_returns_the_non_utf8_bytes", getcwd(cwd, sizeof cwd) && strcmp(cwd, sub) == 0);
	chdir("/");
	EXPECT_EQ("rmdir_removes_the_non_utf8_directory", 0, rmdir(sub));
}

/* F_GETFL keeps the access mode and what F_SETFL may change, not the flags
 * that only steered open; x86_64 open() always adds O_LARGEFILE. */
static void getfl_after_open(void)
{
	char path[96];
	snprintf(path, sizeof path, "%s/flags", dir);
	int fd = open(path, O_CREAT | O_EXCL | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	EXPECT_EQ("f_getfl_after_open_shows_o_rdwr_and_o_largefile_only", O_RDWR | 0100000,
		  fcntl(fd, F_GETFL));
	close(fd);
	unlink(path);
}

static void unlink_answers(void)
{
	struct stat root, proc;
	int proc_is_a_mount = stat("/", &root) == 0 && stat("/proc", &proc) == 0 &&
			      root.st_dev != proc.st_dev;
	EXPECT_ERRNO("unlink_of_proc_fails_with_eisdir", EISDIR, unlink("/proc"), errno);
	EXPECT_EQ("proc_is_still_there_after_the_refused_unlink", 0, access("/proc/meminfo", R_OK));
	if (proc_is_a_mount || on_lifecycle())
		EXPECT_ERRNO("rmdir_of_proc_fails_with_ebusy", EBUSY, rmdir("/proc"), errno);
	else
		check_skip("rmdir_of_proc_fails_with_ebusy", "/proc is not a mount point here");
	EXPECT_ERRNO("unlink_of_a_directory_fails_with_eisdir", EISDIR, unlink(dir), errno);
	char path[96];
	snprintf(path, sizeof path, "%s/f", dir);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	EXPECT_ERRNO("unlinkat_with_flag_1_fails_with_einval", EINVAL,
		     syscall(SYS_unlinkat, AT_FDCWD, path, 1), errno);
	EXPECT_ERRNO("unlinkat_with_an_unknown_high_flag_fails_with_einval", EINVAL,
		     syscall(SYS_unlinkat, AT_FDCWD, path, 0x80000000u), errno);
	EXPECT_EQ("the_file_survives_the_refused_unlinkat", 0, access(path, F_OK));
	EXPECT_ERRNO("rmdir_of_a_file_fails_with_enotdir", ENOTDIR, rmdir(path), errno);
	EXPECT_EQ("unlinkat_with_flag_0_removes_the_file", 0,
		  syscall(SYS_unlinkat, AT_FDCWD, path, 0));
	EXPECT_ERRNO("newfstatat_with_an_unknown_flag_fails_with_einval", EINVAL,
		     syscall(SYS_newfstatat, AT_FDCWD, "/", &root, 0x1), errno);
}

static void path_limits(void)
{
	static char path[PATH_MAX + 16];
	/* 4092 slashes then "tmp": 4095 bytes and the NUL fit in PATH_MAX. */
	memset(path, '/', PATH_MAX - 4);
	strcpy(path + PATH_MAX - 4, "tmp");
	struct stat st;
	EXPECT_EQ("a_path_of_path_max_minus_1_bytes_resolves", 0, stat(path, &st));
	memset(path, '/', PATH_MAX - 3);
	strcpy(path + PATH_MAX - 3, "tmp");
	EXPECT_ERRNO("a_path_of_path_max_bytes_fails_with_enametoolong", ENAMETOOLONG,
		     stat(path, &st), errno);
	int n = snprintf(path, sizeof path, "%s/", dir);
	memset(path + n, 'n', NAME_MAX);
	path[n + NAME_MAX] = '\0';
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	CHECK("a_name_of_name_max_bytes_can_be_created", fd >= 0);
	close(fd);
	unlink(path);
	path[n + NAME_MAX] = 'n';
	path[n + NAME_MAX + 1] = '\0';
	EXPECT_ERRNO("a_name_of_name_max_plus_1_bytes_fails_with_enametoolong", ENAMETOOLONG,
		     open(path, O_CREAT | O_WRONLY, 0644), errno);
	EXPECT_ERRNO("stat_of_a_too_long_name_fails_with_enametoolong", ENAMETOOLONG,
		     stat(path, &st), errno);
}

static void iovec_limits(void)
{
	static struct iovec iov[IOV_MAX + 1];
	static char byte = 'x';
	for (int i = 0; i <= IOV_MAX; i++)
		iov[i] = (struct iovec){ &byte, 1 };
	int fd = open("/dev/null", O_WRONLY);
	EXPECT_EQ("writev_of_uio_maxiov_vectors_writes_them_all", IOV_MAX, writev(fd, iov, IOV_MAX));
	EXPECT_ERRNO("writev_of_uio_maxiov_plus_1_vectors_fails_with_einval", EINVAL,
		     writev(fd, iov, IOV_MAX + 1), errno);
	EXPECT_ERRNO("writev_of_a_negative_count_fails_with_einval", EINVAL,
		     syscall(SYS_writev, fd, iov, -1L), errno);
	iov[0].iov_len = (size_t)1 << 63;
	EXPECT_ERRNO("writev_with_a_length_above_ssize_max_fails_with_einval", EINVAL,
		     writev(fd, iov, 2), errno);
	close(fd);
	int zero = open("/dev/zero", O_RDONLY);
	iov[0].iov_len = 1;
	EXPECT_ERRNO("readv_of_uio_maxiov_plus_1_vectors_fails_with_einval", EINVAL,
		     readv(zero, iov, IOV_MAX + 1), errno);
	close(zero);
}

/* poll takes at most RLIMIT_NOFILE entries (1024 by default). */
static void poll_limits(void)
{
	static struct pollfd fds[1025];
	for (int i = 0; i < 1025; i++)
		fds[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	struct rlimit lim;
	getrlimit(RLIMIT_NOFILE, &lim);
	struct rlimit lower = { 1024, lim.rlim_max };
	setrlimit(RLIMIT_NOFILE, &lower);
	EXPECT_EQ("poll_of_rlimit_nofile_entries_succeeds", 0, poll(fds, 1024, 0));
	EXPECT_ERRNO("poll_of_more_than_rlimit_nofile_entries_fails_with_einval", EINVAL,
		     poll(fds, 1025, 0), errno);
	setrlimit(RLIMIT_NOFILE, &lim);
}

#define BIG_FILE (16L << 20)

static void big_file_is_freed_on_unlink(void)
{
	char path[96];
	snprintf(path, sizeof path, "%s/big", dir);
	static char chunk[1 << 16];
	memset(chunk, 'b', sizeof chunk);
	long before = memfree_kb();
	int fd = open(path, O_CREAT | O_RDWR, 0644);
	long written = 0;
	while (written < BIG_FILE) {
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n <= 0)
			break;
		written += n;
	}
	EXPECT_EQ("a_16_mib_file_in_tmp_takes_every_write", BIG_FILE, written);
	char last = 0;
	EXPECT_EQ("the_last_byte_of_the_big_file_reads_back", 1, pread(fd, &last, 1, BIG_FILE - 1));
	CHECK("the_big_file_holds_what_was_written", last == 'b');
	long during = memfree_kb();
	close(fd);
	EXPECT_EQ("unlink_removes_the_big_file", 0, unlink(path));
	long after = memfree_kb();
	if (!on_lifecycle()) {
		check_skip("the_big_file_takes_memfree", "the host's page cache makes MemFree noisy");
		check_skip("memfree_returns_after_unlink", "the host's page cache makes MemFree noisy");
		return;
	}
	if (before <= 0 || during <= 0 || after <= 0) {
		check_fail("the_big_file_takes_memfree", "MemFree unreadable: %ld, %ld, %ld kB",
			   before, during, after);
		return;
	}
	if (before - during >= BIG_FILE / 1024)
		check_ok("the_big_file_takes_memfree");
	else
		check_fail("the_big_file_takes_memfree", "MemFree %ld kB before, %ld kB with the file",
			   before, during);
	if (before - after <= 256)
		check_ok("memfree_returns_after_unlink");
	else
		check_fail("memfree_returns_after_unlink", "MemFree %ld kB before, %ld kB after unlink",
			   before, after);
}

int main(void)
{
	check_begin("fs_edges");
	snprintf(dir, sizeof dir, "/tmp/fs_edges-%d", getpid());
	if (mkdir(dir, 0755) < 0) {
		check_fail("setup", "mkdir %s failed", dir);
		return check_end();
	}
	names_are_bytes();
	getfl_after_open();
	unlink_answers();
	path_limits();
	iovec_limits();
	poll_limits();
	big_file_is_freed_on_unlink();
	rmdir(dir);
	return check_end();
}
