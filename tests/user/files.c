/*
 * files: a parent and child share data through a file in /tmp: create,
 * write, append from the child, read back, stat, O_EXCL, unlink and rmdir,
 * and tmpfile().
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
