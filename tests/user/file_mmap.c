/*
 * file_mmap: mmap of a tmpfs file as Linux does it, through the page
 * cache. MAP_SHARED: a child's store is seen by the parent's read(), and a
 * program started with execve that maps the file by path sees and changes
 * the same bytes; msync checks its arguments; ftruncate unmaps the pages
 * past the new end, so that touching them gives SIGBUS. MAP_PRIVATE:
 * stores are the process's own, fork copies them on write, the file is
 * unchanged. mprotect and mmap refuse PROT_WRITE on a shared mapping of a
 * read-only descriptor; vm.max_map_count bounds the mappings; /dev/zero
 * maps as anonymous memory; a MAP_GROWSDOWN mapping grows on a fault below.
 *
 * Usage: file_mmap [DIR] (a tmpfs directory; default /tmp).
 * Linux: mm/filemap.c, mm/memory.c (do_fault), mm/msync.c, mm/truncate.c
 */
#define _GNU_SOURCE
#include "check.h"
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096

static char path[256];

/* A file of `pages` pages, each filled with its index + 'a'. */
static int make_file(int pages)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[PAGE];
	for (int i = 0; i < pages; i++) {
		memset(buf, 'a' + i, PAGE);
		if (write(fd, buf, PAGE) != PAGE)
			return -1;
	}
	return fd;
}

static char byte_at(int fd, off_t off)
{
	char c = 0;
	if (pread(fd, &c, 1, off) != 1)
		return 0;
	return c;
}

/* The helper run by execve: maps the file by path, checks what the parent
 * wrote, and writes back. Its exit status says what it saw. */
static int helper(const char *file)
{
	int fd = open(file, O_RDWR);
	if (fd < 0)
		return 10;
	char *p = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 11;
	if (memcmp(p, "from parent", 11) != 0)
		return 12;
	memcpy(p + 100, "from helper", 11);
	return 0;
}

static void shared_mappings(const char *self)
{
	int fd = make_file(2);
	char *p = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("a_writable_shared_mapping_of_a_tmpfs_file_is_allowed", p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	EXPECT_EQ("the_mapping_shows_the_file_s_bytes", 'b', p[PAGE]);
	pid_t pid = fork();
	if (pid == 0) {
		memcpy(p + 10, "child", 5);
		_exit(0);
	}
	waitpid(pid, 0, 0);
	char buf[6] = { 0 };
	pread(fd, buf, 5, 10);
	CHECK("a_child_s_store_in_a_shared_mapping_is_seen_by_the_parent_s_read", memcmp(buf, "child", 5) == 0);
	pwrite(fd, "W", 1, PAGE + 7);
	EXPECT_EQ("a_write_to_the_file_shows_in_the_mapping", 'W', p[PAGE + 7]);

	memcpy(p, "from parent", 11);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)self, "--helper", path, 0 };
		execv(self, argv);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	EXPECT_EQ("an_execed_program_mapping_the_file_by_path_sees_the_parent_s_store", 0,
		  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	CHECK("the_execed_program_s_store_shows_in_the_parent_s_mapping", memcmp(p + 100, "from helper", 11) == 0);

	EXPECT_EQ("msync_ms_sync_of_the_mapping_succeeds", 0, msync(p, 2 * PAGE, MS_SYNC));
	EXPECT_EQ("msync_ms_async_with_ms_invalidate_succeeds", 0, msync(p, PAGE, MS_ASYNC | MS_INVALIDATE));
	EXPECT_FAILS("msync_with_ms_sync_and_ms_async_is_einval", EINVAL, msync(p, PAGE, MS_SYNC | MS_ASYNC));
	EXPECT_FAILS("msync_with_an_unknown_flag_is_einval", EINVAL, msync(p, PAGE, 0x100));
	EXPECT_FAILS("msync_of_an_unaligned_address_is_einval", EINVAL, msync(p + 1, PAGE, MS_SYNC));
	munmap(p + PAGE, PAGE);
	EXPECT_FAILS("msync_of_a_range_with_an_unmapped_page_is_enomem", ENOMEM, msync(p, 2 * PAGE, MS_SYNC));
	munmap(p, PAGE);
	close(fd);
}

static void truncation(void)
{
	int fd = make_file(3);
	char *p = mmap(0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		check_fail("truncation_setup", "mmap: %s", strerror(errno));
		return;
	}
	volatile char c = p[2 * PAGE];
	(void)c;
	EXPECT_EQ("ftruncate_to_one_page_and_a_half_succeeds", 0, ftruncate(fd, PAGE + PAGE / 2));
	struct stat st;
	fstat(fd, &st);
	EXPECT_EQ("the_file_size_follows_ftruncate", (long)(PAGE + PAGE / 2), (long)st.st_size);
	EXPECT_EQ("the_bytes_past_the_new_end_of_the_last_page_read_as_zero", 0, p[PAGE + PAGE / 2 + 1]);
	EXPECT_EQ("the_bytes_before_the_new_end_are_kept", 'b', p[PAGE + 10]);
	pid_t pid = fork();
	if (pid == 0) {
		volatile char d = p[2 * PAGE];
		(void)d;
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	EXPECT_EQ("touching_a_page_past_the_truncated_end_gives_sigbus", SIGBUS,
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	munmap(p, 3 * PAGE);
	close(fd);
}

static void private_mappings(void)
{
	int fd = make_file(2);
	char *p = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK("a_private_writable_mapping_of_the_file_is_allowed", p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	p[0] = 'X';
	EXPECT_EQ("a_store_in_a_private_mapping_is_seen_by_the_process", 'X', p[0]);
	EXPECT_EQ("a_store_in_a_private_mapping_leaves_the_file_unchanged", 'a', byte_at(fd, 0));
	pwrite(fd, "Y", 1, PAGE);
	EXPECT_EQ("a_page_not_yet_written_privately_shows_the_file", 'Y', p[PAGE]);
	pid_t pid = fork();
	if (pid == 0) {
		p[0] = 'C';
		_exit(p[0] == 'C' ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	EXPECT_EQ("the_child_s_private_store_succeeds", 0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ("a_child_s_store_in_a_private_page_is_copied_on_write", 'X', p[0]);
	EXPECT_EQ("the_file_is_still_unchanged_after_both_stores", 'a', byte_at(fd, 0));
	munmap(p, 2 * PAGE);
	close(fd);
}

static void permissions(void)
{
	int fd = make_file(1);
	close(fd);
	fd = open(path, O_RDONLY);
	void *p = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_ERRNO("mmap_shared_writable_of_a_read_only_fd_is_eacces", EACCES, p == MAP_FAILED ? -1 : 0, errno);
	p = mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK("mmap_shared_read_only_of_a_read_only_fd_is_allowed", p != MAP_FAILED);
	EXPECT_FAILS("mprotect_write_on_that_shared_mapping_is_eacces", EACCES, mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	munmap(p, PAGE);
	p = mmap(0, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_EQ("mprotect_write_on_a_private_mapping_of_a_read_only_fd_is_allowed", 0,
		  mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	munmap(p, PAGE);
	close(fd);
	fd = open(path, O_WRONLY);
	p = mmap(0, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	EXPECT_ERRNO("mmap_of_a_write_only_fd_is_eacces", EACCES, p == MAP_FAILED ? -1 : 0, errno);
	close(fd);
}

static void dev_zero(void)
{
	int fd = open("/dev/zero", O_RDWR);
	if (fd < 0) {
		check_skip("dev_zero_maps_as_zeroed_memory", "no /dev/zero");
		return;
	}
	char *p = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK("dev_zero_maps_as_zeroed_memory", p != MAP_FAILED && p[5] == 0 && p[PAGE + 5] == 0);
	if (p != MAP_FAILED) {
		pid_t pid = fork();
		if (pid == 0) {
			p[0] = 42;
			_exit(0);
		}
		waitpid(pid, 0, 0);
		EXPECT_EQ("a_shared_dev_zero_mapping_is_shared_with_a_child", 42, p[0]);
		munmap(p, 2 * PAGE);
	}
	close(fd);
}

/* MAP_GROWSDOWN: a fault below the mapping grows it, as the stack does. */
static void growsdown(void)
{
	char *p = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (p == MAP_FAILED) {
		check_fail("map_growsdown_is_allowed", "mmap: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		p[-3 * PAGE] = 5;
		_exit(p[-3 * PAGE] == 5 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_store_below_a_map_growsdown_mapping_grows_it", 0, status);
	munmap(p, PAGE);
}

static int read_max_map_count(void)
{
	char buf[32];
	return read_text("/proc/sys/vm/max_map_count", buf, sizeof buf) > 0 ? atoi(buf) : -1;
}

static int write_max_map_count(int value)
{
	char buf[32];
	int fd = open("/proc/sys/vm/max_map_count", O_WRONLY);
	int n = snprintf(buf, sizeof buf, "%d\n", value);
	int ok = fd >= 0 && write(fd, buf, n) == n;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Maps pages, every other one, so that no two merge, until mmap fails. */
static void max_map_count(void)
{
	int old = read_max_map_count();
	EXPECT_EQ("vm_max_map_count_defaults_to_65530", 65530, old);
	if (old <= 0 || write_max_map_count(1000) != 0) {
		check_fail("vm_max_map_count_is_writable_by_root", "cannot write it");
		return;
	}
	EXPECT_EQ("vm_max_map_count_reads_back_what_was_written", 1000, read_max_map_count());
	pid_t pid = fork();
	if (pid == 0) {
		char *base = mmap(0, 2400 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(base, 2400 * PAGE);
		int made = 0, err = 0;
		for (int i = 0; i < 1200; i++) {
			void *p = mmap(base + 2 * i * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED) {
				err = errno;
				break;
			}
			made++;
		}
		/* The program had some mappings already; the limit is on all. */
		_exit(err == ENOMEM && made > 900 && made <= 1000 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	EXPECT_EQ("mmap_past_vm_max_map_count_fails_with_enomem", 0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	write_max_map_count(old);
	EXPECT_EQ("vm_max_map_count_is_restored", old, read_max_map_count());
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--helper") == 0)
		return helper(argv[2]);
	check_begin("file_mmap");
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	snprintf(path, sizeof path, "%s/file_mmap.%d", dir, getpid());
	shared_mappings(argv[0]);
	truncation();
	private_mappings();
	permissions();
	dev_zero();
	growsdown();
	max_map_count();
	unlink(path);
	return check_end();
}
