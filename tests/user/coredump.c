/*
 * coredump: a signal whose default action is "core" writes an ELF core
 * file when RLIMIT_CORE allows, and the wait status says so (WCOREDUMP,
 * CLD_DUMPED); RLIMIT_CORE 0 writes none and the status has no core bit;
 * a limit too small for the whole core leaves a cut file (and, as in
 * Linux, the core bit).
 * The notes of a multi-threaded crash are parsed: one NT_PRSTATUS per
 * thread, the crashing thread's first with its RIP in the crashing
 * function, the signal in NT_SIGINFO, NT_PRPSINFO, NT_AUXV, NT_FILE.
 *
 * Every child chdirs to a directory of its own under a scratch directory,
 * so that the core lands there. core_pattern must be a plain file name
 * for the file checks (`core`, or `core.PID` with core_uses_pid); a host
 * whose pattern pipes to a handler skips them and says so. Only in our
 * kernel is core_pattern changed (and restored), to test its %-specifiers.
 *
 * `coredump gdb` is the gdb scenario's half: it crashes a child in
 * crashing_function_for_gdb() and prints the core file in hex between
 * two marker lines, for the host to decode and open with gdb.
 */
#define _GNU_SOURCE
#include "check.h"
#include <elf.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define NTHREADS 4
#define MAXCORE (64 << 20)

static char scratch[64];
static char pattern[256];
static int uses_pid;
/* A writable global the crashing child sets: the core must hold it. */
static volatile uint64_t marker;

/* An unmapped address below the program: a store there faults with
 * SEGV_MAPERR. (Not NULL: the compiler turns a store to a constant NULL
 * into a trap, and some hosts treat page 0 specially.) */
#define BAD_ADDRESS 16
static int *volatile bad_pointer = (int *)BAD_ADDRESS;

/* Crashes with SIGSEGV at its first store; kept out of line so that the
 * RIP of the fault lies in it. */
__attribute__((noinline)) void crashing_function(void)
{
	*bad_pointer = 1;
}

__attribute__((noinline)) void crashing_function_for_gdb(int arg)
{
	bad_pointer[arg] = 2;
}

/* Whether core files are plain files in the crashing task's cwd. */
static int plain_pattern(void)
{
	return pattern[0] && !strchr(pattern, '|') && !strchr(pattern, '%') &&
	       !strchr(pattern, '/');
}

/* The core file name of process `pid` under the plain pattern. */
static void core_name(char *buf, size_t size, pid_t pid)
{
	if (uses_pid)
		snprintf(buf, size, "%s.%d", pattern, pid);
	else
		snprintf(buf, size, "%s", pattern);
}

static void set_core_limit(rlim_t soft)
{
	struct rlimit rl;
	getrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = soft;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		_exit(90);
}

/* Makes scratch/name and forks a child that chdirs there, sets
 * RLIMIT_CORE and runs fn(arg). */
static pid_t spawn_in(const char *name, rlim_t limit, void (*fn)(int), int arg)
{
	char dir[160];
	snprintf(dir, sizeof dir, "%s/%s", scratch, name);
	mkdir(dir, 0700);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(91);
		set_core_limit(limit);
		fn(arg);
		_exit(92);
	}
	return pid;
}

/* Reads the whole core file `name` of directory scratch/dir; its size, or
 * -1 when there is none. */
static long read_core(const char *dir, const char *name, char **data)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s/%s", scratch, dir, name);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	struct stat st;
	fstat(fd, &st);
	*data = malloc(st.st_size + 1);
	long done = 0;
	while (*data && done < st.st_size) {
		ssize_t n = read(fd, *data + done, st.st_size - done);
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	return done;
}

static void die_by(int sig)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* waitid(WNOWAIT) for the siginfo, then waitpid for the status. */
static int reap(pid_t pid, siginfo_t *si)
{
	memset(si, 0, sizeof *si);
	waitid(P_PID, pid, si, WEXITED | WNOWAIT);
	int status = -1;
	waitpid(pid, &status, 0);
	return status;
}

static const int core_signals[] = { SIGQUIT, SIGILL,  SIGTRAP, SIGABRT, SIGBUS,
				    SIGFPE,  SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS };

/* Every core signal, RLIMIT_CORE unlimited: WCOREDUMP, CLD_DUMPED, and an
 * ELF ET_CORE file. */
static void every_core_signal_dumps(void)
{
	int ok_status = 1, ok_code = 1, ok_file = 1;
	for (unsigned i = 0; i < sizeof core_signals / sizeof *core_signals; i++) {
		int sig = core_signals[i];
		char dir[32], name[300];
		snprintf(dir, sizeof dir, "sig%d", sig);
		pid_t pid = spawn_in(dir, RLIM_INFINITY, die_by, sig);
		siginfo_t si;
		int status = reap(pid, &si);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != sig || !WCOREDUMP(status)) {
			ok_status = 0;
			say("    signal %d: status %#x\n", sig, status);
		}
		if (si.si_code != CLD_DUMPED || si.si_status != sig) {
			ok_code = 0;
			say("    signal %d: si_code %d si_status %d\n", sig, si.si_code, si.si_status);
		}
		if (!plain_pattern())
			continue;
		char *core = NULL;
		core_name(name, sizeof name, pid);
		long size = read_core(dir, name, &core);
		Elf64_Ehdr *eh = (Elf64_Ehdr *)core;
		if (size < (long)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
		    eh->e_type != ET_CORE || eh->e_machine != EM_X86_64) {
			ok_file = 0;
			say("    signal %d: core file size %ld\n", sig, size);
		}
		free(core);
	}
	CHECK("each_core_signal_gives_a_status_with_the_signal_and_wcoredump", ok_status);
	CHECK("each_core_signal_gives_waitid_cld_dumped", ok_code);
	if (plain_pattern())
		CHECK("each_core_signal_writes_an_elf_et_core_file_in_the_cwd", ok_file);
	else
		check_skip("each_core_signal_writes_an_elf_et_core_file_in_the_cwd",
			   "core_pattern is not a plain file name");
}

/* SIGCHLD itself carries CLD_DUMPED. */
static void sigchld_says_cld_dumped(void)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid_t pid = spawn_in("sigchld", RLIM_INFINITY, die_by, SIGABRT);
	struct timespec ts = { 10, 0 };
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int got = sigtimedwait(&chld, &si, &ts);
	EXPECT_EQ("sigchld_arrives_for_the_dumping_child", SIGCHLD, got);
	EXPECT_EQ("sigchld_si_code_is_cld_dumped", CLD_DUMPED, si.si_code);
	EXPECT_EQ("sigchld_si_status_is_the_signal", SIGABRT, si.si_status);
	waitpid(pid, NULL, 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* RLIMIT_CORE 0 (Linux's default soft limit): no core bit, no file. */
static void rlimit_core_0_dumps_nothing(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_CORE, &rl);
	pid_t pid = spawn_in("nolimit", 0, die_by, SIGSEGV);
	siginfo_t si;
	int status = reap(pid, &si);
	EXPECT_EQ("under_rlimit_core_0_the_status_is_the_signal_without_0x80", SIGSEGV, status);
	EXPECT_EQ("under_rlimit_core_0_waitid_says_cld_killed", CLD_KILLED, si.si_code);
	char *core = NULL, name[300];
	core_name(name, sizeof name, pid);
	if (plain_pattern())
		EXPECT_EQ("under_rlimit_core_0_no_core_file_is_written", -1,
			  read_core("nolimit", name, &core));
	else
		check_skip("under_rlimit_core_0_no_core_file_is_written",
			   "core_pattern is not a plain file name");
}

/* A limit of two pages cuts the core to a file no bigger; the status
 * still has the core bit (Linux counts the core dumped once its notes
 * are gathered). */
static void a_small_limit_cuts_the_core(void)
{
	pid_t pid = spawn_in("small", 8192, die_by, SIGSEGV);
	siginfo_t si;
	int status = reap(pid, &si);
	EXPECT_EQ("a_core_cut_by_rlimit_core_still_gives_0x80", SIGSEGV | 0x80, status);
	if (!plain_pattern()) {
		check_skip("the_cut_core_is_no_bigger_than_the_limit",
			   "core_pattern is not a plain file name");
		return;
	}
	char *core = NULL, name[300];
	core_name(name, sizeof name, pid);
	long size = read_core("small", name, &core);
	CHECK("the_cut_core_is_no_bigger_than_the_limit", size > 0 && size <= 8192);
	free(core);
}

static int tid_pipe[2];
static volatile int crash_now;

static void *idle_thread(void *arg)
{
	(void)arg;
	pid_t tid = syscall(SYS_gettid);
	if (write(tid_pipe[1], &tid, sizeof tid) < 0)
		_exit(93);
	for (;;)
		pause();
	return NULL;
}

static void *crashing_thread(void *arg)
{
	(void)arg;
	pid_t tid = syscall(SYS_gettid);
	if (write(tid_pipe[1], &tid, sizeof tid) < 0)
		_exit(93);
	while (!crash_now)
		usleep(1000);
	crashing_function();
	return NULL;
}

/* The child of the multi-threaded crash: the main thread and two idle
 * threads wait; the fourth thread crashes; its tid comes first down the
 * pipe. */
static void threaded_crash(int arg)
{
	(void)arg;
	marker = 0x5ca1ab1e0ddba11ULL;
	pthread_t t;
	pid_t tid = syscall(SYS_gettid);
	pthread_create(&t, NULL, crashing_thread, NULL);
	usleep(20000);
	if (write(tid_pipe[1], &tid, sizeof tid) < 0)
		_exit(93);
	for (int i = 0; i < NTHREADS - 2; i++)
		pthread_create(&t, NULL, idle_thread, NULL);
	usleep(50000);
	crash_now = 1;
	for (;;)
		pause();
}

/* What the notes of a core hold. */
struct notes {
	int prstatus, fpregs, prpsinfo, siginfo, auxv, file;
	int first_type;
	pid_t first_pid, pids[16];
	int cursig;
	uint64_t first_rip;
	int sig_signo, sig_code;
	uint64_t fault_addr;
	pid_t ps_pid;
	char ps_fname[17];
	int auxv_pagesz;
	long file_count;
	int file_names_program;
};

static void parse_note(struct notes *n, Elf64_Nhdr *nh, const char *desc, const char *prog)
{
	if (n->first_type == 0)
		n->first_type = nh->n_type;
	switch (nh->n_type) {
	case NT_PRSTATUS: {
		/* struct elf_prstatus: pr_cursig at 12, pr_pid at 32, pr_reg at
		 * 112 with RIP its 17th word. */
		pid_t pid;
		memcpy(&pid, desc + 32, 4);
		if (n->prstatus == 0) {
			short cursig;
			memcpy(&cursig, desc + 12, 2);
			n->cursig = cursig;
			n->first_pid = pid;
			memcpy(&n->first_rip, desc + 112 + 16 * 8, 8);
		}
		if (n->prstatus < 16)
			n->pids[n->prstatus] = pid;
		n->prstatus++;
		break;
	}
	case NT_FPREGSET:
		n->fpregs += nh->n_descsz == 512;
		break;
	case NT_PRPSINFO:
		n->prpsinfo++;
		memcpy(&n->ps_pid, desc + 24, 4);
		memcpy(n->ps_fname, desc + 40, 16);
		break;
	case NT_SIGINFO:
		n->siginfo++;
		memcpy(&n->sig_signo, desc, 4);
		memcpy(&n->sig_code, desc + 8, 4);
		memcpy(&n->fault_addr, desc + 16, 8);
		break;
	case NT_AUXV:
		n->auxv++;
		for (unsigned i = 0; i + 16 <= nh->n_descsz; i += 16) {
			uint64_t kv[2];
			memcpy(kv, desc + i, 16);
			if (kv[0] == AT_PAGESZ && kv[1] == 4096)
				n->auxv_pagesz = 1;
		}
		break;
	case NT_FILE: {
		n->file++;
		memcpy(&n->file_count, desc, 8);
		const char *names = desc + 16 + 24 * n->file_count;
		for (long i = 0; i < n->file_count && names < desc + nh->n_descsz; i++) {
			const char *base = strrchr(names, '/');
			if (!strcmp(base ? base + 1 : names, prog))
				n->file_names_program = 1;
			names += strlen(names) + 1;
		}
		break;
	}
	}
}

/* Walks the PT_NOTE segment of `core`. */
static int parse_notes(const char *core, long size, struct notes *n, const char *prog)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)core;
	memset(n, 0, sizeof *n);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(core + eh->e_phoff) + i;
		if (ph->p_type != PT_NOTE || ph->p_offset + ph->p_filesz > (uint64_t)size)
			continue;
		const char *p = core + ph->p_offset, *end = p + ph->p_filesz;
		while (p + sizeof(Elf64_Nhdr) <= end) {
			Elf64_Nhdr *nh = (Elf64_Nhdr *)p;
			const char *desc = p + sizeof *nh + ((nh->n_namesz + 3) & ~3);
			if (desc + nh->n_descsz > end)
				return 0;
			parse_note(n, nh, desc, prog);
			p = desc + ((nh->n_descsz + 3) & ~3);
		}
		return 1;
	}
	return 0;
}

/* The 8 bytes at `addr` as the core's PT_LOAD segments hold them. */
static int core_read(const char *core, long size, uint64_t addr, uint64_t *value)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)core;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(core + eh->e_phoff) + i;
		if (ph->p_type == PT_LOAD && addr >= ph->p_vaddr &&
		    addr + 8 <= ph->p_vaddr + ph->p_filesz &&
		    ph->p_offset + (addr - ph->p_vaddr) + 8 <= (uint64_t)size) {
			memcpy(value, core + ph->p_offset + (addr - ph->p_vaddr), 8);
			return 1;
		}
	}
	return 0;
}

static void a_threaded_crash_has_every_thread_in_its_notes(const char *prog)
{
	if (pipe(tid_pipe) != 0) {
		check_fail("setup", "pipe failed");
		return;
	}
	pid_t pid = spawn_in("threads", RLIM_INFINITY, threaded_crash, 0);
	close(tid_pipe[1]);
	pid_t tids[NTHREADS];
	int ntids = 0;
	while (ntids < NTHREADS && read(tid_pipe[0], &tids[ntids], sizeof(pid_t)) == sizeof(pid_t))
		ntids++;
	close(tid_pipe[0]);
	siginfo_t si;
	int status = reap(pid, &si);
	EXPECT_EQ("a_threaded_crash_gives_sigsegv_with_the_core_bit", SIGSEGV | 0x80, status);
	if (!plain_pattern()) {
		check_skip("the_threaded_core_s_notes_parse", "core_pattern is not a plain file name");
		return;
	}
	char *core = NULL, name[300];
	core_name(name, sizeof name, pid);
	long size = read_core("threads", name, &core);
	struct notes n;
	int parsed = size > 0 && parse_notes(core, size, &n, prog);
	CHECK("the_threaded_core_s_notes_parse", parsed);
	if (!parsed) {
		free(core);
		return;
	}
	EXPECT_EQ("all_four_thread_ids_were_reported", NTHREADS, ntids);
	EXPECT_EQ("there_is_one_nt_prstatus_per_thread", NTHREADS, n.prstatus);
	EXPECT_EQ("there_is_one_nt_fpregset_per_thread", NTHREADS, n.fpregs);
	EXPECT_EQ("the_first_note_is_nt_prstatus", NT_PRSTATUS, n.first_type);
	EXPECT_EQ("the_first_nt_prstatus_is_the_crashing_thread_s", tids[0], n.first_pid);
	int all = 1;
	for (int i = 0; i < NTHREADS && i < n.prstatus; i++) {
		int found = 0;
		for (int j = 0; j < ntids; j++)
			found |= n.pids[i] == tids[j];
		all &= found;
	}
	CHECK("every_nt_prstatus_is_one_of_the_threads", all);
	EXPECT_EQ("pr_cursig_is_sigsegv", SIGSEGV, n.cursig);
	uint64_t fn = (uint64_t)(uintptr_t)crashing_function;
	CHECK("the_crashing_thread_s_rip_is_in_the_crashing_function",
	      n.first_rip >= fn && n.first_rip < fn + 32);
	EXPECT_EQ("there_is_one_nt_prpsinfo", 1, n.prpsinfo);
	EXPECT_EQ("nt_prpsinfo_pr_pid_is_the_process", pid, n.ps_pid);
	CHECK("nt_prpsinfo_pr_fname_is_the_program", !strncmp(n.ps_fname, prog, 15));
	EXPECT_EQ("there_is_one_nt_siginfo", 1, n.siginfo);
	EXPECT_EQ("nt_siginfo_has_sigsegv", SIGSEGV, n.sig_signo);
	EXPECT_EQ("nt_siginfo_has_segv_maperr", SEGV_MAPERR, n.sig_code);
	EXPECT_EQ("nt_siginfo_has_the_fault_address", BAD_ADDRESS, n.fault_addr);
	EXPECT_EQ("there_is_one_nt_auxv", 1, n.auxv);
	CHECK("nt_auxv_has_at_pagesz_4096", n.auxv_pagesz);
	EXPECT_EQ("there_is_one_nt_file", 1, n.file);
	CHECK("nt_file_names_the_program", n.file_names_program);
	uint64_t value = 0;
	CHECK("the_core_holds_the_writable_data_the_child_wrote",
	      core_read(core, size, (uint64_t)(uintptr_t)&marker, &value) &&
		      value == 0x5ca1ab1e0ddba11ULL);
	free(core);
}

/* core_pattern's specifiers and core_uses_pid, in our kernel only. */
static void core_pattern_names_the_file(const char *prog)
{
	const char *name = "core_pattern_s_specifiers_name_the_file";
	const char *name2 = "core_uses_pid_appends_the_pid";
	if (!on_lifecycle()) {
		check_skip(name, "the host's core_pattern is left alone");
		check_skip(name2, "the host's core_uses_pid is left alone");
		return;
	}
	char *core = NULL, file[128];
	write_text("/proc/sys/kernel/core_pattern", "core.%e.%p.%s.%%");
	pid_t pid = spawn_in("pattern", RLIM_INFINITY, die_by, SIGFPE);
	siginfo_t si;
	reap(pid, &si);
	snprintf(file, sizeof file, "core.%.15s.%d.%d.%%", prog, pid, SIGFPE);
	CHECK(name, read_core("pattern", file, &core) > 0);
	free(core);
	write_text("/proc/sys/kernel/core_pattern", "core");
	write_text("/proc/sys/kernel/core_uses_pid", "1");
	pid = spawn_in("uses_pid", RLIM_INFINITY, die_by, SIGFPE);
	reap(pid, &si);
	snprintf(file, sizeof file, "core.%d", pid);
	core = NULL;
	CHECK(name2, read_core("uses_pid", file, &core) > 0);
	free(core);
	write_text("/proc/sys/kernel/core_uses_pid", "0");
}

static void gdb_crash(int arg)
{
	crashing_function_for_gdb(arg);
}

/* `coredump gdb`: one crash, its core printed as hex lines. */
static int emit_core_for_gdb(void)
{
	if (!scratch_dir(scratch, sizeof scratch, "coredump") || !plain_pattern()) {
		say("coredump-gdb: no plain core_pattern or no scratch dir\n");
		return 1;
	}
	pid_t pid = spawn_in("gdb", RLIM_INFINITY, gdb_crash, 0);
	siginfo_t si;
	int status = reap(pid, &si);
	char *core = NULL, name[300];
	core_name(name, sizeof name, pid);
	long size = read_core("gdb", name, &core);
	say("coredump-gdb: status %#x size %ld\n", status, size);
	if (size <= 0)
		return 1;
	/* Only the pages written: holes (all zeros) are sent as a count. */
	say("coredump-gdb: begin %ld\n", size);
	char line[2 * 64 + 2];
	static const char hex[] = "0123456789abcdef";
	for (long at = 0; at < size; at += 64) {
		long n = size - at < 64 ? size - at : 64;
		int zero = 1;
		for (long i = 0; i < n; i++)
			zero &= core[at + i] == 0;
		if (zero) {
			long run = 0;
			while (at + run < size && !core[at + run])
				run++;
			run -= run % 64;
			if (run >= 64) {
				say("z%ld\n", run);
				at += run - 64;
				continue;
			}
		}
		for (long i = 0; i < n; i++) {
			line[2 * i] = hex[(unsigned char)core[at + i] >> 4];
			line[2 * i + 1] = hex[core[at + i] & 15];
		}
		line[2 * n] = '\n';
		if (write(1, line, 2 * n + 1) < 0)
			return 1;
	}
	say("coredump-gdb: end\n");
	free(core);
	scratch_remove(scratch);
	return 0;
}

int main(int argc, char **argv)
{
	check_begin("coredump");
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (read_text("/proc/sys/kernel/core_pattern", pattern, sizeof pattern) > 0)
		pattern[strcspn(pattern, "\n")] = 0;
	char text[16];
	if (read_text("/proc/sys/kernel/core_uses_pid", text, sizeof text) > 0)
		uses_pid = atoi(text);
	if (argc > 1 && !strcmp(argv[1], "gdb"))
		return emit_core_for_gdb();
	if (!scratch_dir(scratch, sizeof scratch, "coredump")) {
		check_fail("setup", "mkdtemp failed");
		return check_end();
	}
	if (!plain_pattern())
		say("    note: core_pattern is \"%s\": the core files are not looked at\n", pattern);
	every_core_signal_dumps();
	sigchld_says_cld_dumped();
	rlimit_core_0_dumps_nothing();
	a_small_limit_cuts_the_core();
	a_threaded_crash_has_every_thread_in_its_notes(prog);
	core_pattern_names_the_file(prog);
	scratch_remove(scratch);
	return check_end();
}
