/*
 * ptrace_protnone: a debugger's access is forced (Linux's FOLL_FORCE in
 * access_process_vm), so PTRACE_PEEKDATA reads and PTRACE_POKEDATA
 * writes a tracee's PROT_NONE memory; process_vm_readv is not forced and
 * gets EFAULT there.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#define OLD 0x1122334455667788UL
#define NEW0 0x0badc0ffee0ddf00UL
#define NEW1 0x5a5a5a5a00c0ffeeUL

/* The tracee: hides both pages, stops, then looks at what the tracer
 * left there; exits 0 when it finds the two new words. */
static void tracee(volatile unsigned long *pages)
{
	if (mprotect((void *)pages, 8192, PROT_NONE) != 0)
		_exit(2);
	if (pt(PTRACE_TRACEME, 0, 0, 0) != 0)
		_exit(3);
	raise(SIGSTOP);
	if (mprotect((void *)pages, 8192, PROT_READ | PROT_WRITE) != 0)
		_exit(4);
	_exit(pages[0] == NEW0 && pages[512] == NEW1 ? 0 : 5);
}

int main(void)
{
	check_begin("ptrace_protnone");
	volatile unsigned long *pages = mmap(0, 8192, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return 1;
	pages[0] = OLD;
	pid_t pid = fork();
	if (pid == 0)
		tracee(pages);
	int status = wait_for(pid, 0);
	EXPECT_EQ("the_tracee_stops_with_sigstop", 0x137f, status);

	long word = -1;
	long r = pt(PTRACE_PEEKDATA, pid, (long)&pages[0], (long)&word);
	CHECK("peekdata_reads_through_a_prot_none_mapping", r == 0 && (unsigned long)word == OLD);
	word = -1;
	r = pt(PTRACE_PEEKDATA, pid, (long)&pages[512], (long)&word);
	CHECK("peekdata_of_an_untouched_prot_none_page_reads_zeros", r == 0 && word == 0);

	unsigned long got = 0;
	struct iovec local = { &got, sizeof got }, remote = { (void *)&pages[0], sizeof got };
	errno = 0;
	r = syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0);
	EXPECT_ERRNO("process_vm_readv_of_prot_none_memory_is_efault", EFAULT, r, errno);
	remote.iov_base = (void *)&pages[1];
	local.iov_len = remote.iov_len = 16;
	errno = 0;
	r = syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0);
	EXPECT_ERRNO("process_vm_readv_is_efault_for_any_part_of_it", EFAULT, r, errno);

	EXPECT_EQ("pokedata_writes_through_a_prot_none_mapping", 0,
		  pt(PTRACE_POKEDATA, pid, (long)&pages[0], (long)NEW0));
	EXPECT_EQ("pokedata_writes_an_untouched_prot_none_page", 0,
		  pt(PTRACE_POKEDATA, pid, (long)&pages[512], (long)NEW1));
	word = -1;
	pt(PTRACE_PEEKDATA, pid, (long)&pages[0], (long)&word);
	CHECK("peekdata_reads_the_poked_word_back", (unsigned long)word == NEW0);
	CHECK("the_tracers_own_copy_keeps_its_word", pages[0] == OLD && pages[512] == 0);

	pt(PTRACE_CONT, pid, 0, 0);
	status = wait_for(pid, 0);
	EXPECT_EQ("the_tracee_finds_both_words_once_it_can_read_them", 0, status);
	return check_end();
}
