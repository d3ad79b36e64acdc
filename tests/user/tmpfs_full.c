/*
 * tmpfs_full: a tmpfs reports TMPFS_MAGIC and its size limit through
 * statfs and fstatfs, fills to that limit with ENOSPC, and gives the pages
 * back when the file goes. Its pages come from the page allocator, not the
 * kernel heap: while it is full, and after, processes still fork. Another
 * tmpfs instance keeps its own limit: while the first is full it still
 * takes a write, its statfs numbers are its own, and a file cannot be
 * renamed or linked across (EXDEV).
 *
 * Usage: tmpfs_full [DIR [OTHER]] (tmpfs directories of two instances;
 * default /tmp and /dev/shm; on a host, mount two small tmpfs for them).
 * Linux: mm/shmem.c (shmem_statfs, shmem_inode_acct_blocks)
 */
#include "check.h"
#include <sys/statfs.h>

#define TMPFS_MAGIC 0x01021994
#define CHUNK (1 << 20)

/* Forks n children that stay alive until all are made; how many were made. */
static int fork_many(int n)
{
	int go[2], made = 0;
	pid_t pids[200];
	if (pipe(go))
		return 0;
	for (; made < n && made < 200; made++) {
		pids[made] = fork();
		if (pids[made] < 0)
			break;
		if (pids[made] == 0) {
			char c;
			close(go[1]);
			read(go[0], &c, 1);
			_exit(0);
		}
	}
	close(go[1]);
	for (int i = 0; i < made; i++)
		waitpid(pids[i], 0, 0);
	close(go[0]);
	return made;
}

/* Called while `dir` is full: the instance of `other_dir` is not. */
static void another_instance_keeps_its_room(const char *dir, const char *path,
					    const char *other_dir, const char *other)
{
	struct statfs a0, b0, a1, b1;
	statfs(dir, &a0);
	statfs(other_dir, &b0);
	int fd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	static char page[4096];
	CHECK("another_tmpfs_instance_takes_a_write_while_this_one_is_full",
	      fd >= 0 && write(fd, page, sizeof page) == sizeof page);
	close(fd);
	statfs(dir, &a1);
	statfs(other_dir, &b1);
	CHECK("the_other_instance_is_a_tmpfs_with_room",
	      b1.f_type == TMPFS_MAGIC && b1.f_bfree > 0 && a1.f_bfree == 0);
	CHECK("the_write_takes_a_block_and_an_inode_of_the_other_instance_only",
	      b1.f_bfree == b0.f_bfree - 1 && b1.f_ffree == b0.f_ffree - 1 &&
	      a1.f_bfree == a0.f_bfree && a1.f_ffree == a0.f_ffree);
	EXPECT_FAILS("rename_across_tmpfs_instances_is_exdev", EXDEV, rename(path, other));
	unlink(other);
	EXPECT_FAILS("link_across_tmpfs_instances_is_exdev", EXDEV, link(path, other));
	unlink(other);
}

int main(int argc, char **argv)
{
	check_begin("tmpfs_full");
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	const char *other_dir = argc > 2 ? argv[2] : "/dev/shm";
	char path[256], other[256];
	snprintf(path, sizeof path, "%s/tmpfs_full.%d", dir, getpid());
	snprintf(other, sizeof other, "%s/tmpfs_full.%d", other_dir, getpid());
	struct statfs st;
	/* Filling a disk or a host's RAM-sized tmpfs is no test: on a host,
	 * only a tmpfs no bigger than 256 MiB is filled. */
	if (!on_lifecycle() && (statfs(dir, &st) != 0 || st.f_type != TMPFS_MAGIC ||
				st.f_blocks * st.f_bsize > (256L << 20))) {
		check_skip("a_tmpfs_fills_to_enospc_and_recovers", "not a small tmpfs; pass a mounted one");
		return check_end();
	}
	EXPECT_EQ("statfs_of_the_tmpfs_directory_succeeds", 0, statfs(dir, &st));
	EXPECT_EQ("statfs_reports_tmpfs_magic", TMPFS_MAGIC, (long)st.f_type);
	EXPECT_EQ("statfs_reports_4096_byte_blocks", 4096, (long)st.f_bsize);
	CHECK("statfs_reports_free_blocks_within_the_total", st.f_blocks > 0 && st.f_bfree <= st.f_blocks);
	long free_before = st.f_bfree;

	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct statfs fst;
	EXPECT_EQ("fstatfs_of_a_file_there_succeeds", 0, fstatfs(fd, &fst));
	EXPECT_EQ("fstatfs_reports_tmpfs_magic", TMPFS_MAGIC, (long)fst.f_type);

	static char buf[CHUNK];
	memset(buf, 0x5a, sizeof buf);
	long written = 0;
	int err = 0;
	for (;;) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0) {
			err = errno;
			break;
		}
		written += n;
	}
	EXPECT_EQ("writing_until_the_tmpfs_is_full_ends_with_enospc", ENOSPC, err);
	statfs(dir, &st);
	EXPECT_EQ("a_full_tmpfs_has_no_free_blocks", 0, (long)st.f_bfree);
	CHECK("the_file_took_about_all_the_free_blocks",
	      written / 4096 >= free_before * 9 / 10 && written / 4096 <= free_before + 256);
	EXPECT_EQ("processes_still_fork_while_the_tmpfs_is_full", 20, fork_many(20));
	another_instance_keeps_its_room(dir, path, other_dir, other);
	char back[16];
	EXPECT_EQ("the_full_file_reads_back", 16, pread(fd, back, sizeof back, written - 16));
	CHECK("its_last_bytes_are_what_was_written", back[0] == 0x5a && back[15] == 0x5a);
	close(fd);
	EXPECT_EQ("removing_the_file_succeeds", 0, unlink(path));
	statfs(dir, &st);
	CHECK("removing_the_file_gives_the_blocks_back", (long)st.f_bfree >= free_before - 256);
	EXPECT_EQ("after_the_tmpfs_was_full_200_processes_fork", 200, fork_many(200));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_EQ("a_new_file_can_be_written_again", (long)sizeof buf, write(fd, buf, sizeof buf));
	close(fd);
	unlink(path);
	return check_end();
}
