/*
 * efault: a system call given a bad user pointer fails with EFAULT, and
 * the caller keeps running: no signal, no kernel crash, no side effect.
 *
 * Every call goes through syscall(2) so that libc does not touch the bad
 * pointer first. Needs its sibling exec_helper for the execve cases.
 */
#include "check.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGE 4096
#define LOW_ADDRESS ((void *)1)
#define KERNEL_HALF ((void *)0xffff800000000000UL)
#define NON_CANONICAL ((void *)0x0000800000000000UL)

static char helper[256];

/* syscall(nr, ...) must fail with EFAULT. */
#define EXPECT_EFAULT(name, call) EXPECT_FAILS(name, EFAULT, call)

static void writes_from_bad_buffers(void)
{
	int p[2];
	pipe(p);
	EXPECT_EFAULT("write_from_address_1_fails_with_efault",
		      syscall(SYS_write, p[1], LOW_ADDRESS, 10));
	EXPECT_EFAULT("write_from_a_kernel_half_pointer_fails_with_efault",
		      syscall(SYS_write, p[1], KERNEL_HALF, 10));
	EXPECT_EFAULT("write_from_a_non_canonical_pointer_fails_with_efault",
		      syscall(SYS_write, p[1], NON_CANONICAL, 10));
	struct iovec bad = { LOW_ADDRESS, 10 };
	EXPECT_EFAULT("writev_with_a_bad_iov_base_fails_with_efault",
		      syscall(SYS_writev, p[1], &bad, 1));
	EXPECT_EFAULT("writev_with_a_bad_iovec_array_fails_with_efault",
		      syscall(SYS_writev, p[1], LOW_ADDRESS, 1));
	close(p[1]);
	char c;
	EXPECT_EQ("failed_writes_put_nothing_into_the_pipe", 0, read(p[0], &c, 1));
	close(p[0]);

	struct stat st;
	int stdout_copies = fstat(1, &st) == 0 &&
			    (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || isatty(1));
	if (stdout_copies)
		EXPECT_EFAULT("write_to_stdout_from_address_1_fails_with_efault",
			      syscall(SYS_write, 1, LOW_ADDRESS, 10));
	else
		check_skip("write_to_stdout_from_address_1_fails_with_efault",
			   "stdout is not a terminal, pipe or file");
}

static void reads_into_bad_buffers(void)
{
	int p[2];
	pipe(p);
	/* One "hello" per faulting read, so that a kernel which wrongly
	 * consumes data on a fault cannot leave a later read blocked. */
	write(p[1], "hellohellohello", 15);
	unsigned char *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *gone = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(ro, 'r', PAGE);
	mprotect(ro, PAGE, PROT_READ);
	munmap(gone, PAGE);

	EXPECT_EFAULT("read_into_a_read_only_mapping_fails_with_efault",
		      syscall(SYS_read, p[0], ro, 5));
	CHECK("the_read_only_page_is_unchanged", ro[0] == 'r' && ro[4] == 'r');
	EXPECT_EFAULT("read_into_an_unmapped_page_fails_with_efault",
		      syscall(SYS_read, p[0], gone, 5));
	EXPECT_EFAULT("read_into_a_kernel_half_pointer_fails_with_efault",
		      syscall(SYS_read, p[0], KERNEL_HALF, 5));
	close(p[1]);
	char buf[32] = "";
	ssize_t n = read(p[0], buf, sizeof buf);
	if (n == 15 && memcmp(buf, "hellohellohello", 15) == 0)
		check_ok("failed_reads_leave_the_pipe_data_unconsumed");
	else
		check_fail("failed_reads_leave_the_pipe_data_unconsumed",
			   "expected the 15 bytes written, read returned %zd", n);
	close(p[0]);
	munmap(ro, PAGE);
}

static void other_calls_with_bad_pointers(void)
{
	EXPECT_EFAULT("uname_into_address_1_fails_with_efault",
		      syscall(SYS_uname, LOW_ADDRESS));
	EXPECT_EFAULT("pipe_into_address_1_fails_with_efault",
		      syscall(SYS_pipe, LOW_ADDRESS));
	EXPECT_EFAULT("open_with_a_bad_path_pointer_fails_with_efault",
		      syscall(SYS_open, LOW_ADDRESS, O_RDONLY));
	EXPECT_EFAULT("fstat_into_a_kernel_half_pointer_fails_with_efault",
		      syscall(SYS_fstat, 0, KERNEL_HALF));
	EXPECT_EFAULT("clock_gettime_into_address_1_fails_with_efault",
		      syscall(SYS_clock_gettime, CLOCK_MONOTONIC, LOW_ADDRESS));
	EXPECT_EFAULT("nanosleep_with_a_bad_request_fails_with_efault",
		      syscall(SYS_nanosleep, LOW_ADDRESS, NULL));
	EXPECT_EFAULT("getcwd_into_address_1_fails_with_efault",
		      syscall(SYS_getcwd, LOW_ADDRESS, 100));
	EXPECT_EFAULT("rt_sigaction_with_a_bad_action_fails_with_efault",
		      syscall(SYS_rt_sigaction, SIGUSR1, LOW_ADDRESS, NULL, 8));
}

static void execve_with_bad_pointers(void)
{
	char *argv[] = { helper, NULL };
	char *envp[] = { NULL };
	EXPECT_EFAULT("execve_with_a_bad_path_pointer_fails_with_efault",
		      syscall(SYS_execve, LOW_ADDRESS, argv, envp));

	/* These name a real program: a broken kernel would run it, so fork. */
	int report[2];
	pipe(report);
	pid_t pid = fork();
	if (pid == 0) {
		char *bad_string[] = { helper, LOW_ADDRESS, NULL };
		int errs[3];
		syscall(SYS_execve, helper, LOW_ADDRESS, envp);
		errs[0] = errno;
		syscall(SYS_execve, helper, bad_string, envp);
		errs[1] = errno;
		syscall(SYS_execve, helper, argv, KERNEL_HALF);
		errs[2] = errno;
		write(report[1], errs, sizeof errs);
		_exit(0);
	}
	close(report[1]);
	int errs[3] = { 0, 0, 0 };
	int got = read_full(report[0], errs, sizeof errs);
	close(report[0]);
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_child_survives_execve_with_bad_argument_vectors", 0, got);
	EXPECT_EQ("execve_with_a_bad_argv_array_fails_with_efault", EFAULT, errs[0]);
	EXPECT_EQ("execve_with_a_bad_argv_string_fails_with_efault", EFAULT, errs[1]);
	EXPECT_EQ("execve_with_a_bad_envp_array_fails_with_efault", EFAULT, errs[2]);
}

/*
 * Linux reaps the zombie before it copies the status out, so the failed
 * wait4 has still consumed the child.
 */
static void wait4_with_a_bad_status_pointer(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	errno = 0;
	long ret = syscall(SYS_wait4, pid, LOW_ADDRESS, 0, NULL);
	int err = errno;
	EXPECT_ERRNO("wait4_with_a_bad_status_pointer_fails_with_efault", EFAULT, ret, err);
	int status;
	ret = waitpid(pid, &status, WNOHANG);
	err = errno;
	EXPECT_ERRNO("the_child_is_reaped_even_though_its_status_could_not_be_stored",
		     ECHILD, ret, err);
	ret = kill(pid, 0);
	err = errno;
	EXPECT_ERRNO("the_reaped_childs_pid_is_gone", ESRCH, ret, err);
}

/*
 * A read from the page cache into a buffer that runs into an unmapped page
 * copies up to the last byte before the hole and says how many, whatever
 * the alignment (the copy goes a block at a time and retries the rest of a
 * faulting block byte by byte).
 */
static void file_reads_stop_at_the_exact_byte(void)
{
	char path[] = "/tmp/efault.XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	unsigned char data[2 * PAGE];
	for (int i = 0; i < (int)sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	if (fd < 0 || write(fd, data, sizeof data) != sizeof data) {
		check_fail("a_file_read_into_a_buffer_ending_at_a_hole_is_short",
			   "cannot write a temporary file");
		return;
	}
	unsigned char *buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(buf + PAGE, PAGE);
	static const int before_hole[] = { 1, 7, 13, 64, 100, 1000, 4095 };
	int exact = 1;
	for (unsigned i = 0; i < sizeof before_hole / sizeof before_hole[0]; i++) {
		int k = before_hole[i];
		unsigned char *at = buf + PAGE - k;
		memset(buf, 0, PAGE);
		ssize_t n = pread(fd, at, k + 300, 5);
		if (n != k || memcmp(at, data + 5, k) != 0) {
			check_fail("a_file_read_into_a_buffer_ending_at_a_hole_is_short",
				   "%d bytes before the hole: read returned %zd", k, n);
			exact = 0;
		}
	}
	if (exact)
		check_ok("a_file_read_into_a_buffer_ending_at_a_hole_is_short");
	EXPECT_EFAULT("a_file_read_starting_in_the_hole_fails_with_efault",
		      syscall(SYS_pread64, fd, buf + PAGE, 10, 0));
	munmap(buf, PAGE);
	close(fd);
}

int main(int argc, char **argv)
{
	check_begin("efault");
	sibling(argv[0], "exec_helper", helper, sizeof helper);
	writes_from_bad_buffers();
	reads_into_bad_buffers();
	file_reads_stop_at_the_exact_byte();
	other_calls_with_bad_pointers();
	execve_with_bad_pointers();
	wait4_with_a_bad_status_pointer();
	return check_end();
}
