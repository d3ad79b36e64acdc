/*
 * ptrace_access: who may look into another process (ptrace_may_access).
 *
 * Attaching, process_vm_readv, pidfd_getfd and get_robust_list compare
 * the caller's real user and group with all three of the target's;
 * reading /proc/<pid>/environ, maps, its exe link or its ns/ links
 * compares the caller's file-system ids instead. Either way, a target that is not dumpable (PR_SET_DUMPABLE
 * 0, or after a change of credentials) is refused to a caller without
 * CAP_SYS_PTRACE even when the ids match. Run as root: the targets and the
 * callers drop to users 65533 and 65534, and with them every capability.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define NOBODY 65534

static long target_word = 0x5eed;

/* Drops the caller to group NOBODY and to users (r, e, s); exits 97 if
 * it cannot. */
static void become(uid_t r, uid_t e, uid_t s)
{
	if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
	    setresuid(r, e, s) != 0)
		_exit(97);
}

/* A process that drops to users (r, e, s), sets its dumpable flag and
 * sleeps until killed; returns once it is ready. */
static pid_t spawn_target(uid_t r, uid_t e, uid_t s, int dumpable)
{
	int fds[2];
	char c = 0;
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		become(r, e, s);
		prctl(PR_SET_DUMPABLE, dumpable);
		if (write(fds[1], &c, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		pid = -1;
	close(fds[0]);
	return pid;
}

static void end_target(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static pid_t target;
static uid_t caller_r, caller_e;

/* What run_as_caller runs once the child has the caller's ids. */
static void (*caller_fn)(void);

static void become_caller(void)
{
	become(caller_r, caller_e, caller_e);
	caller_fn();
}

/* The caller's side, in a child with the caller's ids. */
static void run_as_caller(void (*fn)(void), uid_t r, uid_t e)
{
	caller_r = r;
	caller_e = e;
	caller_fn = fn;
	as_child(become_caller);
}

static int open_environ(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/environ", target);
	return open(path, O_RDONLY);
}

static int open_maps(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", target);
	return open(path, O_RDONLY);
}

static long readlink_exe(void)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/exe", target);
	return readlink(path, buf, sizeof buf);
}

static long readlink_ns(void)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/ns/uts", target);
	return readlink(path, buf, sizeof buf);
}

static long robust_list(void)
{
	void *head;
	size_t len;
	return syscall(SYS_get_robust_list, target, &head, &len);
}

static long vm_read(void)
{
	long word = 0;
	struct iovec local = {&word, sizeof word};
	struct iovec remote = {&target_word, sizeof word};
	return process_vm_readv(target, &local, 1, &remote, 1, 0);
}

static long getfd(void)
{
	int pidfd = syscall(SYS_pidfd_open, target, 0);
	if (pidfd < 0)
		return -2;
	errno = 0;
	long fd = syscall(SYS_pidfd_getfd, pidfd, 0, 0);
	int err = errno;
	close(pidfd);
	errno = err;
	return fd;
}

/* Same user, dumpable: everything is allowed. */
static void same_user(void)
{
	CHECK("attach_to_a_dumpable_process_of_the_same_user_succeeds",
	      pt(PTRACE_ATTACH, target, 0, 0) == 0);
	CHECK("and_the_attach_stop_is_reported", wait_for(target, 0) == 0x137f);
	CHECK("detach_succeeds", pt(PTRACE_DETACH, target, 0, 0) == 0);
	CHECK("process_vm_readv_of_it_reads_the_word", vm_read() == sizeof(long));
	long fd = getfd();
	CHECK("pidfd_getfd_of_it_succeeds", fd >= 0);
	if (fd >= 0)
		close(fd);
	int env = open_environ();
	CHECK("its_proc_environ_opens", env >= 0);
	if (env >= 0)
		close(env);
	CHECK("its_proc_exe_link_reads", readlink_exe() > 0);
	int maps = open_maps();
	CHECK("its_proc_maps_opens", maps >= 0);
	if (maps >= 0)
		close(maps);
	CHECK("its_proc_ns_links_read", readlink_ns() > 0);
	CHECK("get_robust_list_of_it_succeeds", robust_list() == 0);
}

/* Same user, PR_SET_DUMPABLE 0. */
static void not_dumpable(void)
{
	EXPECT_FAILS("attach_to_a_non_dumpable_process_of_the_same_user_is_eperm", EPERM,
		     pt(PTRACE_ATTACH, target, 0, 0));
	EXPECT_FAILS("seize_of_it_is_eperm_too", EPERM, pt(PTRACE_SEIZE, target, 0, 0));
	EXPECT_FAILS("process_vm_readv_of_it_is_eperm", EPERM, vm_read());
	EXPECT_FAILS("pidfd_getfd_of_it_is_eperm", EPERM, getfd());
	EXPECT_FAILS("get_robust_list_of_it_is_eperm", EPERM, robust_list());
	EXPECT_FAILS("its_proc_ns_links_are_eacces", EACCES, readlink_ns());
	EXPECT_FAILS("its_proc_maps_is_eacces_though_mode_0444", EACCES, open_maps());
}

/* The target's saved user is root; it set itself dumpable again, so its
 * /proc files are its effective user's and only the ptrace check says no. */
static void saved_uid_differs(void)
{
	EXPECT_FAILS("proc_environ_of_a_process_whose_saved_user_differs_is_eacces", EACCES,
		     open_environ());
	EXPECT_FAILS("its_proc_exe_link_is_eacces", EACCES, readlink_exe());
	EXPECT_FAILS("its_proc_maps_is_eacces", EACCES, open_maps());
	EXPECT_FAILS("attach_to_it_is_eperm", EPERM, pt(PTRACE_ATTACH, target, 0, 0));
}

/* The caller's real user is 65533, its effective and file-system user the
 * target's: /proc checks the file-system ids, attach the real ones. */
static void fsuid_matches(void)
{
	int env = open_environ();
	CHECK("proc_environ_checks_the_callers_file_system_user", env >= 0);
	if (env >= 0)
		close(env);
	EXPECT_FAILS("attach_checks_the_callers_real_user", EPERM,
		     pt(PTRACE_ATTACH, target, 0, 0));
	EXPECT_FAILS("process_vm_readv_checks_the_callers_real_user", EPERM, vm_read());
}

int main(void)
{
	check_begin("ptrace_access");
	target = spawn_target(NOBODY, NOBODY, NOBODY, 1);
	run_as_caller(same_user, NOBODY, NOBODY);
	run_as_caller(fsuid_matches, NOBODY - 1, NOBODY);
	end_target(target);

	target = spawn_target(NOBODY, NOBODY, NOBODY, 0);
	run_as_caller(not_dumpable, NOBODY, NOBODY);
	end_target(target);

	target = spawn_target(NOBODY, NOBODY, 0, 1);
	run_as_caller(saved_uid_differs, NOBODY, NOBODY);
	end_target(target);
	return check_end();
}
