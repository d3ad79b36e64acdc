/*
 * elf_fuzz: a seeded generator of malformed executables.
 *
 *     elf_fuzz [SEED [N]]      (defaults: SEED 1, N 400)
 *
 * Case i of seed s is made from its own random stream, seeded from s and
 * i, so `elf_fuzz SEED N` replays a run exactly. Each case starts from a
 * valid image (a small hand-built ELF, or this program's own file) and
 * breaks it: header and program-header fields set to edge values (0, ~0,
 * page-offset mismatches, huge sizes, vaddr + memsz that wraps,
 * kernel-half and non-canonical addresses, e_phnum 0 or huge), segments
 * copied over each other, the file truncated, bytes flipped; or it is a
 * `#!` script with a hostile first line. The case is written to a
 * temporary directory and exec'd in a forked child that is killed after
 * two seconds. "elf_fuzz: seed S case I" is printed before each exec, so
 * the last such line before a kernel panic names the case to replay.
 *
 * Results are checked only for sanity: execve fails with one of Linux's
 * errno values for exec, or the child exits or dies by a signal. At the
 * end, with every child reaped and every file removed, MemFree must be
 * back where it was (on lifecycle: Linux's page cache moves it).
 *
 * With ELF_FUZZ_CHILD in the environment (a mutated copy of this program
 * that still runs) it exits at once.
 */
#include "check.h"
#include "elf_image.h"
#include "splitmix64.h"

#include <stdint.h>
#include <sys/stat.h>

#define FILE_MAX (256 * 1024)

static char dir[64], path[128], script_path[128], self[256];
static unsigned char *self_image;
static size_t self_size;
static unsigned char *file;

static uint64_t edge_value(void)
{
	static const uint64_t edges[] = {
		0, 1, 0xfff, 0x1000, 0x1001, 0x400000, 0x4000ff, 0x7fffffffe000ULL,
		0x7ffffffff000ULL, 0x800000000000ULL, 0xffff800000000000ULL,
		0xffffffff81000000ULL, 0x8000000000000000ULL, 0xfffffffffffff000ULL,
		0xffffffffffffffffULL, 0xfffffffffffffffeULL, 0x100000000ULL, 0x7fffffff,
		0x555555554000ULL, 0x10000,
	};
	switch (below(4)) {
	case 0:
		return next();
	case 1:
		return next() & ~0xfffULL;
	default:
		return edges[below(sizeof edges / sizeof edges[0])];
	}
}

static int from_self;

static size_t start_from_valid(void)
{
	from_self = self_image != NULL && below(3) == 0;
	if (from_self) {
		memcpy(file, self_image, self_size);
		return self_size;
	}
	struct elf_image img;
	elf_image_init(&img, 1 + below(ELF_MAX_PHDRS));
	for (int i = 1; i < img.ehdr.e_phnum; i++) {
		img.phdr[i] = img.phdr[0];
		img.phdr[i].p_vaddr += 0x10000 * i;
		img.phdr[i].p_flags = PF_R | PF_W;
		img.phdr[i].p_memsz += below(0x3000);
	}
	memcpy(file, img.bytes, img.size);
	return img.size;
}

static Elf64_Phdr *some_phdr(size_t size)
{
	Elf64_Ehdr *e = (Elf64_Ehdr *)file;
	uint64_t phnum = e->e_phnum ? e->e_phnum : 1;
	uint64_t off = e->e_phoff + below(phnum) * sizeof(Elf64_Phdr);
	if (e->e_phoff >= size || off > size - sizeof(Elf64_Phdr))
		off = sizeof(Elf64_Ehdr);
	return (Elf64_Phdr *)(file + off);
}

static void set_header_field(void)
{
	Elf64_Ehdr *e = (Elf64_Ehdr *)file;
	uint64_t v = edge_value();
	switch (below(9)) {
	case 0: e->e_type = below(2) ? v : (below(2) ? ET_DYN : ET_REL); break;
	case 1: e->e_machine = v; break;
	case 2: e->e_entry = v; break;
	case 3: e->e_phoff = v; break;
	case 4: e->e_phentsize = v; break;
	case 5: e->e_phnum = below(2) ? v : below(80); break;
	case 6: e->e_ident[below(EI_NIDENT)] = v; break;
	case 7: e->e_shoff = v; e->e_shnum = v; break;
	default:
		/* Only into the hand-built image, which has no other code. */
		if (!from_self)
			e->e_entry += below(0x2000);
		break;
	}
}

static void set_phdr_field(size_t size)
{
	Elf64_Phdr *p = some_phdr(size);
	uint64_t v = edge_value();
	switch (below(12)) {
	case 0: p->p_type = below(2) ? v : (below(2) ? PT_LOAD : PT_INTERP); break;
	case 1: p->p_flags = v; break;
	case 2: p->p_offset = v; break;
	case 3: p->p_vaddr = v; break;
	case 4: p->p_filesz = v; break;
	case 5: p->p_memsz = v; break;
	case 6: p->p_align = v; break;
	case 7: p->p_vaddr += 1 + below(0xfff); break; /* page offsets differ */
	case 8: p->p_memsz = -p->p_vaddr + below(0x3000); break; /* end wraps */
	case 9: p->p_vaddr = 0xffffffffffffffffULL - below(0x3000); break;
	case 10: *p = *some_phdr(size); break; /* overlapping segments */
	default: p->p_filesz = p->p_memsz + 1 + below(0x1000); break;
	}
}

static size_t mutate_elf(void)
{
	size_t size = start_from_valid();
	for (uint64_t n = 1 + below(3); n > 0; n--) {
		switch (below(6)) {
		case 0:
		case 1:
			set_header_field();
			break;
		case 2:
		case 3:
			set_phdr_field(size);
			break;
		case 4:
			size = below(size + 1);
			break;
		default:
			file[below(size < 512 ? size + 1 : 512)] ^= 1 << below(8);
			break;
		}
	}
	return size;
}

/* A `#!` script: blanks, an interpreter that is this program, a missing
 * file, the previous script (nesting) or a long name, maybe an argument,
 * maybe no newline. */
static size_t hostile_script(void)
{
	size_t n = 0;
	n += sprintf((char *)file, "#!");
	for (uint64_t i = below(4); i > 0; i--)
		file[n++] = below(2) ? ' ' : '\t';
	switch (below(5)) {
	case 0: n += sprintf((char *)file + n, "%s", self); break;
	case 1: n += sprintf((char *)file + n, "/nonexistent/%d", (int)below(100)); break;
	case 2: n += sprintf((char *)file + n, "%s", script_path); break;
	case 3: {
		size_t len = 200 + below(200);
		memset(file + n, '/', len);
		n += len;
		break;
	}
	default: break;
	}
	if (below(2)) {
		file[n++] = below(2) ? ' ' : '\t';
		for (uint64_t i = below(300); i > 0; i--)
			file[n++] = 'a' + below(3);
	}
	if (below(4))
		file[n++] = '\n';
	return n;
}

static int linux_exec_errno(int e)
{
	switch (e) {
	case ENOEXEC: case EACCES: case ENOENT: case E2BIG: case ELOOP: case ENOMEM:
	case EINVAL: case EFAULT: case ENAMETOOLONG: case ENOTDIR: case ETXTBSY: case EIO:
		return 1;
	default:
		return 0;
	}
}

struct tally {
	long cases, errnos, exits, signals, bad;
	char first_bad[200];
};

static void run_case(uint64_t seed, long i, struct tally *t)
{
	rng_state = seed * 0x100000001b3ULL + (uint64_t)i;
	int is_script = below(8) == 0;
	size_t size = is_script ? hostile_script() : mutate_elf();
	const char *target = is_script ? script_path : path;
	say("elf_fuzz: seed %llu case %ld\n", (unsigned long long)seed, i);
	if (write_exec_file(target, file, size) != 0) {
		t->bad++;
		snprintf(t->first_bad, sizeof t->first_bad, "case %ld: cannot write %s", i, target);
		return;
	}
	char *argv[] = { (char *)target, "elf_fuzz", NULL };
	char *envp[] = { "ELF_FUZZ_CHILD=1", NULL };
	struct run_result r = run_file(target, argv, envp, 2);
	t->cases++;
	if (r.exec_errno != 0 && linux_exec_errno(r.exec_errno))
		t->errnos++;
	else if (r.exec_errno == 0 && WIFEXITED(r.status))
		t->exits++;
	else if (r.exec_errno == 0 && WIFSIGNALED(r.status))
		t->signals++;
	else {
		t->bad++;
		if (t->first_bad[0] == '\0')
			snprintf(t->first_bad, sizeof t->first_bad,
				 "case %ld: errno %d (%s), wait status %#x", i, r.exec_errno,
				 strerrorname(r.exec_errno), r.status);
	}
}

static void read_self(void)
{
	int fd = open(self, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > FILE_MAX) {
		if (fd >= 0)
			close(fd);
		return;
	}
	self_image = malloc(st.st_size);
	if (self_image != NULL && read_full(fd, self_image, st.st_size) == 0)
		self_size = st.st_size;
	else
		self_image = NULL;
	close(fd);
}

/* Fills the kernel's cache of exited tasks' stacks (mm/vmalloc.rs keeps
 * two for the next fork, and they are not free memory): with four children
 * alive at once, the cache is full when they are reaped. Done before each
 * sample, so that both see it full, however the cases' lives overlapped
 * on several CPUs. */
static void fill_stack_cache(void)
{
	int fds[2];
	if (pipe(fds) != 0)
		return;
	pid_t kids[4];
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char c;
			close(fds[1]);
			read(fds[0], &c, 1);
			_exit(0);
		}
	}
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < 4; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
}

int main(int argc, char **argv)
{
	if (getenv("ELF_FUZZ_CHILD") != NULL)
		return 0;
	check_begin("elf_fuzz");
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 400;
	snprintf(self, sizeof self, "%s", argv[0][0] == '/' ? argv[0] : "/bin/elf_fuzz");
	snprintf(dir, sizeof dir, "/tmp/elf_fuzz.%d", getpid());
	snprintf(path, sizeof path, "%s/case", dir);
	snprintf(script_path, sizeof script_path, "%s/script", dir);
	file = malloc(FILE_MAX + 1024);
	if (file == NULL || mkdir(dir, 0700) != 0) {
		check_fail("a_temporary_directory_is_made", "%s", strerror(errno));
		return check_end();
	}
	/* Touch the whole buffer now, so that our own pages do not move
	 * MemFree when a larger case first fills it. */
	memset(file, 0, FILE_MAX + 1024);
	read_self();
	struct tally warm = { 0 }, t = { 0 };
	/* The first cases again, so that lazily made kernel state exists. */
	for (long i = 0; i < 8 && i < n; i++)
		run_case(seed, i, &warm);
	fill_stack_cache();
	/* The case files hold pages of their own: none exists at either measurement. */
	unlink(path);
	unlink(script_path);
	long before = memfree_settled_kb();
	for (long i = 0; i < n; i++)
		run_case(seed, i, &t);
	unlink(path);
	unlink(script_path);
	rmdir(dir);
	fill_stack_cache();
	long after = memfree_settled_kb();
	say("elf_fuzz: seed %llu, %ld cases: %ld refused with an errno, %ld exited, %ld killed by a signal\n",
	    (unsigned long long)seed, t.cases, t.errnos, t.exits, t.signals);
	if (t.bad == 0)
		check_ok("every_case_fails_with_an_exec_errno_or_ends_its_child");
	else
		check_fail("every_case_fails_with_an_exec_errno_or_ends_its_child", "%ld bad; first %s",
			   t.bad, t.first_bad);
	if (!on_lifecycle())
		check_skip("memfree_is_the_same_after_every_case", "Linux's page cache moves MemFree");
	else if (before > 0 && before == after)
		check_ok("memfree_is_the_same_after_every_case");
	else
		check_fail("memfree_is_the_same_after_every_case", "MemFree was %ld kB before, %ld kB after (%+ld)",
			   before, after, after - before);
	return check_end();
}
