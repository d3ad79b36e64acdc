/*
 * dynlink: a dynamically linked program (built twice: with musl-gcc, whose
 * loader is /lib/ld-musl-x86_64.so.1, and with gcc against glibc's
 * ld-linux-x86-64.so.2 and libc.so.6) finds what execve and its dynamic
 * linker set up: its arguments and environment, the auxiliary vector
 * (AT_BASE is the loader, AT_ENTRY this program's _start), libc's code in
 * a mapping of its own, /proc/self/maps naming the loader's mappings by
 * the PT_INTERP path and libc's by its file, stdio, and a child's exit
 * status; Debian's own
 * dynamically linked /usr/bin/false runs and exits with 1.
 */
#include "../check.h"
#include <elf.h>
#include <limits.h>
#include <stdint.h>
#include <sys/auxv.h>

extern char _start[];

/* The permissions of the /proc/self/maps line holding addr, or "" if none. */
static void perms_of(uintptr_t addr, char perms[5])
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	perms[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && addr >= lo && addr < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

/* The path that ends the /proc/self/maps line holding addr, or "". */
static void path_of(uintptr_t addr, char path[PATH_MAX])
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "r");
	path[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		int end = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &end) == 2 && end &&
		    addr >= lo && addr < hi) {
			line[strcspn(line, "\n")] = 0;
			snprintf(path, PATH_MAX, "%s", line + end);
			break;
		}
	}
	fclose(f);
}

/* This program's PT_INTERP string, found through AT_PHDR. */
static const char *pt_interp(void)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM), bias = 0;
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uintptr_t)ph - ph[i].p_vaddr;
	for (unsigned long i = 0; i < n; i++)
		if (ph[i].p_type == PT_INTERP)
			return (const char *)(bias + ph[i].p_vaddr);
	return "";
}

/* The loader's mappings and libc's are named by their files, as Linux does. */
static void maps_name_the_loader_and_libc(uintptr_t base, uintptr_t libc_fn)
{
	char path[PATH_MAX], real[PATH_MAX], want[PATH_MAX];
	path_of(base, path);
	int same = realpath(path, real) && realpath(pt_interp(), want) && strcmp(real, want) == 0;
	if (same)
		check_ok("maps_names_the_loader_by_its_pt_interp_path");
	else
		check_fail("maps_names_the_loader_by_its_pt_interp_path",
			   "AT_BASE's line names \"%s\", PT_INTERP is \"%s\"", path, pt_interp());
	path_of(libc_fn, path);
	CHECK("maps_names_the_file_that_holds_libc_s_code", path[0] == '/');
}

int main(int argc, char **argv, char **envp)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	check_begin(name);
	CHECK("argv_and_envp_reach_main", argc >= 1 && argv[argc] == NULL && envp != NULL);
	uintptr_t base = getauxval(AT_BASE);
	CHECK("at_base_is_the_loaders_address", base != 0 && base % 4096 == 0);
	EXPECT_EQ("at_entry_is_the_programs_start", (long)getauxval(AT_ENTRY), (long)(uintptr_t)_start);
	EXPECT_EQ("at_phent_is_elf64", (long)getauxval(AT_PHENT), 56L);
	EXPECT_EQ("at_pagesz_is_4096", (long)getauxval(AT_PAGESZ), 4096L);
	CHECK("at_random_is_set", getauxval(AT_RANDOM) != 0);
	CHECK("at_execfn_names_the_program",
	      getauxval(AT_EXECFN) && strcmp((char *)getauxval(AT_EXECFN), argv[0]) == 0);
	CHECK("at_minsigstksz_is_set", getauxval(AT_MINSIGSTKSZ) >= 1024);

	/* libc's write() is code in a mapping of its own, not in this program. */
	uintptr_t libc_fn = (uintptr_t)(void *)write;
	char perms[5], own[5];
	perms_of(libc_fn, perms);
	perms_of((uintptr_t)_start, own);
	CHECK("libc_code_is_mapped_executable", perms[2] == 'x');
	CHECK("program_code_is_mapped_executable", own[2] == 'x');
	uintptr_t delta = libc_fn > (uintptr_t)_start ? libc_fn - (uintptr_t)_start
						      : (uintptr_t)_start - libc_fn;
	CHECK("libc_is_a_separate_mapping", delta > (1UL << 30));
	maps_name_the_loader_and_libc(base, libc_fn);
#ifndef __GLIBC__
	/* musl's libc is its loader. */
	CHECK("musl_libc_is_the_loader", libc_fn >= base && libc_fn < base + (16UL << 20));
#endif

	char buf[64];
	snprintf(buf, sizeof buf, "%s-%d", "stdio", 42);
	EXPECT_EQ("stdio_formats", strcmp(buf, "stdio-42"), 0);
	pid_t pid = fork();
	if (pid == 0)
		exit(7);
	int status = 0;
	CHECK("child_waited_for", waitpid(pid, &status, 0) == pid);
	CHECK("child_exit_status_is_7", WIFEXITED(status) && WEXITSTATUS(status) == 7);

	/* Debian's own /usr/bin/false, unmodified, under glibc's loader. */
	pid = fork();
	if (pid == 0) {
		execl("/usr/bin/false", "false", (char *)NULL);
		_exit(99);
	}
	CHECK("debians_false_waited_for", waitpid(pid, &status, 0) == pid);
	CHECK("debians_false_exits_with_1", WIFEXITED(status) && WEXITSTATUS(status) == 1);
	return check_end();
}
