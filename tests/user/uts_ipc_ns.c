/*
 * uts_ipc_ns: UTS and IPC namespaces. A host name set in a child made
 * with CLONE_NEWUTS (or after unshare) stays there; a shared memory
 * segment made in a new IPC namespace is invisible outside it and the
 * other way round; /proc/<pid>/ns links read and stat the same for two
 * tasks until one leaves; setns goes back through an nsfs file or a
 * pidfd; the EINVAL/EBADF/ESRCH cases of clone, unshare and setns; and
 * EPERM for each of them without CAP_SYS_ADMIN.
 *
 * Every name is set in a new namespace only: run on the host, it leaves
 * the machine's host name alone.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <sched.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#define KEY_OUTSIDE 0x6e730001
#define KEY_INSIDE 0x6e730002

/* The inode number of a namespace link; 0 if it cannot be followed. */
static unsigned long ns_ino(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* What a namespace link reads as, "" if it cannot be read. */
static const char *ns_link(const char *path, char *buf, size_t len)
{
	ssize_t n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* The first line of a /proc file, "" if it cannot be read. */
static const char *read_line(const char *path)
{
	static char buf[80];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static const char *nodename(void)
{
	static struct utsname u;
	uname(&u);
	return u.nodename;
}

/* fork through clone(2) with extra flags: 0 in the child, as fork. */
static pid_t clone_flags(unsigned long flags)
{
	return syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* Waits for `pid`; true if it exited with status 0. */
static int exited_ok(pid_t pid)
{
	int status;
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void clone_newuts_keeps_the_name_inside(const char *orig)
{
	unsigned long mine = ns_ino("/proc/self/ns/uts");
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		_exit(2);
	pid_t child = clone_flags(CLONE_NEWUTS);
	if (child == 0) {
		sethostname("nsproxy-child", 13);
		CHECK("a_clone_newuts_child_sees_the_name_it_set", strcmp(nodename(), "nsproxy-child") == 0);
		CHECK("a_clone_newuts_child_has_another_uts_inode", ns_ino("/proc/self/ns/uts") != mine);
		CHECK("proc_sys_kernel_hostname_shows_the_childs_name",
		      strcmp(read_line("/proc/sys/kernel/hostname"), "nsproxy-child\n") == 0);
		CHECK("writing_proc_sys_kernel_hostname_in_the_child_succeeds",
		      write_text("/proc/sys/kernel/hostname", "nsproxy-proc\n"));
		CHECK("the_write_renames_the_childs_namespace", strcmp(nodename(), "nsproxy-proc") == 0);
		char c = 1;
		write(ready[1], &c, 1);
		read(done[0], &c, 1);
		_exit(check_end());
	}
	char c, path[64], a[64], b[64];
	read(ready[0], &c, 1);
	CHECK("the_parent_keeps_its_host_name", strcmp(nodename(), orig) == 0);
	char line[80];
	snprintf(line, sizeof line, "%s\n", orig);
	CHECK("the_parents_proc_sys_kernel_hostname_is_unchanged", strcmp(read_line("/proc/sys/kernel/hostname"), line) == 0);
	snprintf(path, sizeof path, "/proc/%d/ns/uts", child);
	CHECK("the_childs_uts_link_reads_otherwise", strcmp(ns_link(path, a, 64), ns_link("/proc/self/ns/uts", b, 64)) != 0);
	CHECK("the_childs_uts_link_stats_otherwise", ns_ino(path) != 0 && ns_ino(path) != mine);
	write(done[1], &c, 1);
	CHECK("the_clone_newuts_child_passed", exited_ok(child));
}

static void links_compare_equal_until_unshare(const char *orig)
{
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		_exit(2);
	pid_t child = fork();
	if (child == 0) {
		char c;
		read(done[0], &c, 1);
		CHECK("unshare_clone_newuts_succeeds", unshare(CLONE_NEWUTS) == 0);
		sethostname("nsproxy-unshared", 16);
		write(ready[1], &c, 1);
		read(done[0], &c, 1);
		_exit(check_end());
	}
	char path[64], a[64], b[64], c = 1;
	snprintf(path, sizeof path, "/proc/%d/ns/uts", child);
	EXPECT_EQ("a_forked_child_stats_the_same_uts_inode", ns_ino("/proc/self/ns/uts"), ns_ino(path));
	CHECK("a_forked_child_reads_the_same_uts_link", strcmp(ns_link(path, a, 64), ns_link("/proc/self/ns/uts", b, 64)) == 0);
	unsigned long ino;
	CHECK("the_link_reads_uts_and_its_inode_number",
	      sscanf(b, "uts:[%lu]", &ino) == 1 && ino == ns_ino("/proc/self/ns/uts"));
	snprintf(b, sizeof b, "ipc:[%lu]", ns_ino("/proc/self/ns/ipc"));
	CHECK("the_ipc_link_reads_ipc_and_its_inode_number", strcmp(ns_link("/proc/self/ns/ipc", a, 64), b) == 0);
	write(done[1], &c, 1);
	read(ready[0], &c, 1);
	CHECK("after_unshare_the_child_stats_another_uts_inode", ns_ino(path) != ns_ino("/proc/self/ns/uts"));
	snprintf(path, sizeof path, "/proc/%d/ns/ipc", child);
	EXPECT_EQ("unshare_clone_newuts_keeps_the_ipc_namespace", ns_ino("/proc/self/ns/ipc"), ns_ino(path));
	CHECK("the_unsharing_childs_name_is_not_seen_outside", strcmp(nodename(), orig) == 0);
	write(done[1], &c, 1);
	CHECK("the_unsharing_child_passed", exited_ok(child));
}

static void ipc_namespaces_hide_segments(void)
{
	int outside = shmget(KEY_OUTSIDE, 4096, IPC_CREAT | 0600);
	char shmmni[80];
	snprintf(shmmni, sizeof shmmni, "%s", read_line("/proc/sys/kernel/shmmni"));
	CHECK("a_segment_is_made_outside", outside >= 0);
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		_exit(2);
	pid_t child = clone_flags(CLONE_NEWIPC);
	if (child == 0) {
		EXPECT_FAILS("a_new_ipc_namespace_does_not_find_the_outside_key", ENOENT, shmget(KEY_OUTSIDE, 0, 0));
		struct shmid_ds ds;
		EXPECT_FAILS("nor_the_outside_id", EINVAL, shmctl(outside, IPC_STAT, &ds));
		int inside = shmget(KEY_INSIDE, 4096, IPC_CREAT | 0600);
		CHECK("a_segment_is_made_inside", inside >= 0);
		char *p = shmat(inside, 0, 0);
		CHECK("the_inside_segment_attaches", p != (void *)-1);
		CHECK("a_new_ipc_namespace_starts_with_shmmni_4096", strcmp(read_line("/proc/sys/kernel/shmmni"), "4096\n") == 0);
		CHECK("writing_shmmni_in_the_new_namespace_succeeds", write_text("/proc/sys/kernel/shmmni", "100\n"));
		CHECK("the_new_namespace_reads_its_own_shmmni", strcmp(read_line("/proc/sys/kernel/shmmni"), "100\n") == 0);
		char c = 1;
		write(ready[1], &c, 1);
		read(done[0], &c, 1);
		_exit(check_end());
	}
	char c = 1;
	read(ready[0], &c, 1);
	EXPECT_FAILS("the_outside_does_not_find_the_inside_key", ENOENT, shmget(KEY_INSIDE, 0, 0));
	CHECK("the_outside_still_finds_its_own_key", shmget(KEY_OUTSIDE, 0, 0) == outside);
	CHECK("the_outside_keeps_its_shmmni", strcmp(read_line("/proc/sys/kernel/shmmni"), shmmni) == 0);
	write(done[1], &c, 1);
	CHECK("the_clone_newipc_child_passed", exited_ok(child));
	shmctl(outside, IPC_RMID, 0);
}

static void setns_goes_back(const char *orig)
{
	pid_t child = fork();
	if (child == 0) {
		unsigned long orig_ino = ns_ino("/proc/self/ns/uts");
		int nsfd = open("/proc/self/ns/uts", O_RDONLY);
		CHECK("a_uts_link_opens", nsfd >= 0);
		struct stat st;
		CHECK("the_open_file_is_the_namespaces_inode", fstat(nsfd, &st) == 0 && st.st_ino == orig_ino);
		int pidfd = syscall(SYS_pidfd_open, getppid(), 0);
		CHECK("a_pidfd_of_the_parent_opens", pidfd >= 0);

		unshare(CLONE_NEWUTS);
		sethostname("nsproxy-away", 12);
		EXPECT_EQ("setns_on_the_uts_file_succeeds", 0, setns(nsfd, CLONE_NEWUTS));
		CHECK("setns_brings_back_the_original_name", strcmp(nodename(), orig) == 0);
		EXPECT_EQ("setns_brings_back_the_original_uts_inode", orig_ino, ns_ino("/proc/self/ns/uts"));

		unshare(CLONE_NEWUTS);
		sethostname("nsproxy-away", 12);
		EXPECT_EQ("setns_with_nstype_0_accepts_any_kind", 0, setns(nsfd, 0));
		CHECK("setns_with_nstype_0_brings_back_the_name", strcmp(nodename(), orig) == 0);

		unshare(CLONE_NEWUTS | CLONE_NEWIPC);
		sethostname("nsproxy-away", 12);
		EXPECT_EQ("setns_on_a_pidfd_succeeds", 0, setns(pidfd, CLONE_NEWUTS | CLONE_NEWIPC));
		CHECK("setns_on_a_pidfd_brings_back_the_parents_name", strcmp(nodename(), orig) == 0);
		EXPECT_EQ("setns_on_a_pidfd_enters_the_parents_uts", orig_ino, ns_ino("/proc/self/ns/uts"));
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/ipc", getppid());
		EXPECT_EQ("setns_on_a_pidfd_enters_the_parents_ipc", ns_ino(path), ns_ino("/proc/self/ns/ipc"));

		EXPECT_FAILS("setns_on_a_uts_file_with_clone_newipc_fails", EINVAL, setns(nsfd, CLONE_NEWIPC));
		EXPECT_FAILS("setns_on_a_pidfd_without_a_kind_fails", EINVAL, setns(pidfd, 0));
		EXPECT_FAILS("setns_on_a_pidfd_with_a_non_namespace_flag_fails", EINVAL, setns(pidfd, CLONE_VM));
		int plain = open("/proc/self/stat", O_RDONLY);
		EXPECT_FAILS("setns_on_an_ordinary_file_fails", EINVAL, setns(plain, 0));
		close(plain);
		EXPECT_FAILS("setns_on_a_closed_fd_fails_with_ebadf", EBADF, setns(plain, 0));
		_exit(check_end());
	}
	CHECK("the_setns_child_passed", exited_ok(child));
}

static void einval_and_esrch_cases(void)
{
	errno = 0;
	long r = clone_flags(CLONE_NEWIPC | CLONE_SYSVSEM);
	if (r == 0)
		_exit(0);
	EXPECT_ERRNO("clone_newipc_with_sysvsem_fails", EINVAL, r, errno);
	EXPECT_FAILS("unshare_of_clone_io_fails", EINVAL, unshare(CLONE_IO));
	EXPECT_EQ("unshare_clone_thread_when_single_threaded_succeeds", 0, unshare(CLONE_THREAD));
	EXPECT_EQ("unshare_nothing_succeeds", 0, unshare(0));

	pid_t child = fork();
	if (child == 0)
		_exit(0);
	int pidfd = syscall(SYS_pidfd_open, child, 0);
	siginfo_t si;
	waitid(P_PID, child, &si, WEXITED | WNOWAIT);
	EXPECT_FAILS("setns_on_a_zombies_pidfd_fails_with_esrch", ESRCH, setns(pidfd, CLONE_NEWUTS));
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/ns/uts", child);
	EXPECT_FAILS("a_zombies_uts_link_cannot_be_read", ENOENT, readlink(path, buf, sizeof buf));
	waitpid(child, 0, 0);
	close(pidfd);
}

static void unshare_files_copies_the_table(void)
{
	int fd = open("/proc/self/stat", O_RDONLY);
	int ready[2], done[2];
	if (pipe(ready) || pipe(done))
		_exit(2);
	pid_t child = clone_flags(CLONE_FILES);
	if (child == 0) {
		char c = 1;
		CHECK("unshare_clone_files_succeeds", unshare(CLONE_FILES) == 0);
		close(fd);
		write(ready[1], &c, 1);
		read(done[0], &c, 1);
		_exit(check_end());
	}
	char c = 1;
	read(ready[0], &c, 1);
	CHECK("a_close_after_unshare_clone_files_leaves_the_parents_fd", fcntl(fd, F_GETFD) >= 0);
	write(done[1], &c, 1);
	CHECK("the_clone_files_child_passed", exited_ok(child));
	close(fd);
}

static void the_ns_directory_lists_uts_and_ipc(void)
{
	DIR *d = opendir("/proc/self/ns");
	int uts = 0, ipc = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		uts |= strcmp(e->d_name, "uts") == 0 && e->d_type == DT_LNK;
		ipc |= strcmp(e->d_name, "ipc") == 0 && e->d_type == DT_LNK;
	}
	if (d)
		closedir(d);
	CHECK("proc_self_ns_lists_uts_and_ipc_as_links", uts && ipc);
}

/* Without CAP_SYS_ADMIN (uid 1000, capabilities dropped by setresuid),
 * each way into a new or another namespace is EPERM. Bit i of the child's
 * exit status is set when check i did not get EPERM. */
static void a_caller_without_cap_sys_admin_gets_eperm(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		int fd = open("/proc/self/ns/uts", O_RDONLY);
		if (setresuid(1000, 1000, 1000) != 0)
			_exit(0x7f);
		errno = 0;
		bad |= !(sethostname("x", 1) == -1 && errno == EPERM) << 0;
		errno = 0;
		bad |= !(unshare(CLONE_NEWUTS) == -1 && errno == EPERM) << 1;
		errno = 0;
		pid_t c = clone_flags(CLONE_NEWIPC);
		if (c == 0)
			_exit(0);
		bad |= !(c == -1 && errno == EPERM) << 2;
		errno = 0;
		bad |= !(fd >= 0 && setns(fd, CLONE_NEWUTS) == -1 && errno == EPERM) << 3;
		errno = 0;
		bad |= !(unshare(CLONE_NEWPID) == -1 && errno == EPERM) << 4;
		_exit(bad);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	int bad = WIFEXITED(status) ? WEXITSTATUS(status) : 0x7f;
	CHECK("a_non_root_caller_may_drop_to_uid_1000", bad != 0x7f);
	CHECK("sethostname_without_cap_sys_admin_is_eperm", bad != 0x7f && !(bad & 1));
	CHECK("unshare_newuts_without_cap_sys_admin_is_eperm", bad != 0x7f && !(bad & 2));
	CHECK("clone_newipc_without_cap_sys_admin_is_eperm", bad != 0x7f && !(bad & 4));
	CHECK("setns_without_cap_sys_admin_is_eperm", bad != 0x7f && !(bad & 8));
	CHECK("unshare_newpid_without_cap_sys_admin_is_eperm", bad != 0x7f && !(bad & 16));
}

int main(void)
{
	check_begin("uts_ipc_ns");
	char orig[65];
	snprintf(orig, sizeof orig, "%s", nodename());
	clone_newuts_keeps_the_name_inside(orig);
	links_compare_equal_until_unshare(orig);
	ipc_namespaces_hide_segments();
	setns_goes_back(orig);
	einval_and_esrch_cases();
	unshare_files_copies_the_table();
	the_ns_directory_lists_uts_and_ipc();
	a_caller_without_cap_sys_admin_gets_eperm();
	CHECK("the_machines_host_name_is_unchanged", strcmp(nodename(), orig) == 0);
	return check_end();
}
