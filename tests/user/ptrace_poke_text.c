/*
 * ptrace_poke_text: PTRACE_POKETEXT is a forced write (FOLL_FORCE): it
 * reaches the tracee's read-only program text through a private copy of
 * the page, so a debugger can set a breakpoint: int3 (0xCC) at a function,
 * the SIGTRAP stop with RIP one past it, the byte put back, RIP set back
 * with SETREGS, and the tracee runs on to a normal exit. A forced write
 * never reaches a shared mapping, and process_vm_writev does not force.
 */
#define _GNU_SOURCE
#include "check.h"
#include "ptrace_util.h"

#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#define FILE_PATH "/tmp/ptrace_poke_text.data"

/* The function the breakpoint goes into; noinline so it has an address
 * the call goes through, and its own text. */
__attribute__((noinline)) static int target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 35;
}

static int (*volatile call_target)(int) = target;

static char *shared_map, *private_map;

/* The tracee: stops, then calls target(7) and exits with its result. */
static pid_t breakpoint_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pt(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(call_target(7) == 42 && shared_map[0] == 's' && private_map[0] == 'X' ? 42 : 1);
	}
	wait_for(pid, 0);
	return pid;
}

static void breakpoint_in_text(pid_t pid)
{
	long addr = (long)target;
	long orig = 0, back = 0;
	CHECK("peektext_reads_the_tracees_code",
	      pt(PTRACE_PEEKTEXT, pid, addr, (long)&orig) == 0 && orig == *(long *)target);
	long trap = (orig & ~0xffL) | 0xcc;
	EXPECT_EQ("poketext_writes_int3_into_read_only_text", 0, pt(PTRACE_POKETEXT, pid, addr, trap));
	pt(PTRACE_PEEKTEXT, pid, addr, (long)&back);
	EXPECT_EQ("peektext_reads_the_int3_back", trap, back);
	EXPECT_EQ("the_tracers_own_text_is_unchanged", orig & 0xff, *(unsigned char *)target);

	struct iovec local = { &trap, sizeof trap }, remote = { (void *)addr, sizeof trap };
	EXPECT_FAILS("process_vm_writev_to_read_only_text_is_efault", EFAULT,
		     process_vm_writev(pid, &local, 1, &remote, 1, 0));

	pt(PTRACE_CONT, pid, 0, 0);
	EXPECT_EQ("the_breakpoint_stops_the_tracee_with_sigtrap", (SIGTRAP << 8) | 0x7f,
		  wait_for(pid, 0));
	siginfo_t si = { 0 };
	pt(PTRACE_GETSIGINFO, pid, 0, (long)&si);
	EXPECT_EQ("the_breakpoints_siginfo_is_si_kernel", SI_KERNEL, si.si_code);
	struct user_regs_struct regs;
	pt(PTRACE_GETREGS, pid, 0, (long)&regs);
	EXPECT_EQ("rip_is_one_past_the_int3", addr + 1, (long)regs.rip);
	EXPECT_EQ("poketext_puts_the_byte_back", 0, pt(PTRACE_POKETEXT, pid, addr, orig));
	regs.rip = addr;
	EXPECT_EQ("setregs_moves_rip_back_to_the_breakpoint", 0,
		  pt(PTRACE_SETREGS, pid, 0, (long)&regs));
}

/* A file mapped shared and read-only: POKEDATA fails (EIO) and the file
 * keeps its byte; mapped private and read-only: POKEDATA changes the
 * tracee's copy, not the file. */
static void mappings(pid_t pid)
{
	EXPECT_FAILS("pokedata_into_a_shared_read_only_mapping_is_eio", EIO,
		     pt(PTRACE_POKEDATA, pid, (long)shared_map, 0x5858585858585858L));
	EXPECT_EQ("pokedata_into_a_private_read_only_file_mapping_returns_0", 0,
		  pt(PTRACE_POKEDATA, pid, (long)private_map, 0x5858585858585858L));
	char byte = 0;
	int fd = open(FILE_PATH, O_RDONLY);
	CHECK("the_file_keeps_its_bytes", pread(fd, &byte, 1, 0) == 1 && byte == 's');
	close(fd);
	EXPECT_EQ("the_tracers_private_mapping_keeps_the_file_byte", 's', private_map[0]);
}

int main(void)
{
	check_begin("ptrace_poke_text");
	int fd = open(FILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char page[4096];
	memset(page, 's', sizeof page);
	if (fd < 0 || write(fd, page, sizeof page) != (ssize_t)sizeof page) {
		check_fail("setup", "cannot write %s", FILE_PATH);
		return check_end();
	}
	shared_map = mmap(NULL, sizeof page, PROT_READ, MAP_SHARED, fd, 0);
	private_map = mmap(NULL, sizeof page, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (shared_map == MAP_FAILED || private_map == MAP_FAILED) {
		check_fail("setup", "mmap failed");
		return check_end();
	}
	pid_t pid = breakpoint_child();
	breakpoint_in_text(pid);
	mappings(pid);
	pt(PTRACE_CONT, pid, 0, 0);
	CHECK("the_tracee_runs_on_to_a_normal_exit", exited_with(wait_for(pid, 0), 42));
	unlink(FILE_PATH);
	return check_end();
}
