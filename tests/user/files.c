/*
 * files: a parent and child share data through a file in /tmp: create,
 * write, append from the child, read back, sendfile it into a pipe, stat,
 * O_EXCL, unlink and rmdir, and tmpfile().
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A file sent to itself: from *offset, appended at the file's own position. */
static void check_sendfile_to_itself(void)
{
	int fd = open("/tmp/files_sendfile_self", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "abcdef", 6) != 6) {
		check_fail("sendfile_to_itself_setup", "open or write failed");
		return;
	}
	off_t off = 0;
	EXPECT_EQ("sendfile_from_a_file_to_itself_copies", 3, sendfile(fd, fd, &off, 3));
	char buf[16] = { 0 };
	pread(fd, buf, sizeof buf - 1, 0);
	CHECK("sendfile_to_itself_appends_at_the_file_position", strcmp(buf, "abcdefabc") == 0);
	close(fd);
	unlink("/tmp/files_sendfile_self");
}

/* sendfile copies file to pipe in the kernel, from the file offset or from *offset. */
static void check_sendfile(const char *path)
{
	int in = open(path, O_RDONLY), p[2];
	if (in < 0 || pipe(p) < 0) {
		check_fail("sendfile_setup", "open or pipe failed");
		return;
	}
	char buf[32] = { 0 };
	EXPECT_EQ("sendfile_copies_the_whole_file_into_a_pipe", 11, sendfile(p[1], in, 0, 100));
	read(p[0], buf, sizeof buf - 1);
	CHECK("the_pipe_receives_hello_world", strcmp(buf, "hello world") == 0);
	EXPECT_EQ("sendfile_advances_the_file_offset", 11, lseek(in, 0, SEEK_CUR));
	EXPECT_EQ("sendfile_at_the_end_of_the_file_returns_0", 0, sendfile(p[1], in, 0, 100));
	off_t off = 6;
	EXPECT_EQ("sendfile_from_an_offset_copies_the_rest", 5, sendfile(p[1], in, &off, 100));
	EXPECT_EQ("sendfile_moves_the_offset_it_was_given", 11, off);
	memset(buf, 0, sizeof buf);
	read(p[0], buf, sizeof buf - 1);
	CHECK("the_pipe_receives_world", strcmp(buf, "world") == 0);
	int wronly = open(path, O_WRONLY);
	EXPECT_ERRNO("sendfile_from_a_write_only_fd_fails_with_ebadf", EBADF, sendfile(p[1], wronly, 0, 1), errno);
	close(wronly);
	close(in);
	close(p[0]);
	close(p[1]);
	check_sendfile_to_itself();
}

int main(void)
{
	check_begin("files");
	char dir[64], path[96];
	snprintf(dir, sizeof dir, "/tmp/files-%d", getpid());
	snprintf(path, sizeof path, "%s/a.txt", dir);
	EXPECT_EQ("mkdir_creates_a_directory", 0, mkdir(dir, 0755));
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK("open_with_o_creat_creates_the_file", fd >= 0);
	EXPECT_EQ("write_stores_five_bytes", 5, write(fd, "hello", 5));
	close(fd);
	pid_t child = fork();
	if (child == 0) {
		int f = open(path, O_WRONLY | O_APPEND);
		_exit(f >= 0 && write(f, " world", 6) == 6 ? 0 : 1);
	}
	int status;
	waitpid(child, &status, 0);
	EXPECT_EQ("the_child_appends_to_the_parents_file", 0, WEXITSTATUS(status));
	char buf[32] = { 0 };
	fd = open(path, O_RDONLY);
	EXPECT_EQ("read_returns_both_writes", 11, read(fd, buf, sizeof buf - 1));
	close(fd);
	CHECK("the_file_holds_hello_world", strcmp(buf, "hello world") == 0);
	check_sendfile(path);
	struct stat st;
	EXPECT_EQ("stat_succeeds", 0, stat(path, &st));
	EXPECT_EQ("stat_reports_the_size", 11, (int)st.st_size);
	CHECK("stat_reports_a_regular_file", S_ISREG(st.st_mode));
	EXPECT_ERRNO("o_excl_on_an_existing_file_fails_with_eexist", EEXIST, open(path, O_CREAT | O_EXCL | O_WRONLY, 0644), errno);
	EXPECT_ERRNO("rmdir_of_a_non_empty_directory_fails_with_enotempty", ENOTEMPTY, rmdir(dir), errno);
	EXPECT_EQ("unlink_removes_the_file", 0, unlink(path));
	EXPECT_ERRNO("an_unlinked_file_is_gone", ENOENT, access(path, F_OK), errno);
	EXPECT_EQ("rmdir_removes_the_empty_directory", 0, rmdir(dir));
	FILE *t = tmpfile();
	CHECK("tmpfile_opens", t != NULL);
	if (t) {
		fputs("x", t);
		rewind(t);
		EXPECT_EQ("tmpfile_reads_back_what_was_written", 'x', fgetc(t));
		fclose(t);
	}
	return check_end();
}
