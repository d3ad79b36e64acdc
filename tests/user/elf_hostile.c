/*
 * elf_hostile: malformed executables get Linux's answers. What is wrong
 * in the headers is refused with an errno while the caller still runs;
 * what is wrong in the segments is found after the point of no return,
 * and the process dies with SIGSEGV. Either way the kernel survives.
 * Also `#!` lines, argument limits (E2BIG) and arguments that are bytes.
 */
#include "check.h"
#include "elf_image.h"

#include <sys/stat.h>

static char dir[64], path[128];

enum { EXITS_42 = 1, EXEC_FAILS, KILLED };

static void expect(const char *name, struct run_result r, int how, int value)
{
	int ok;
	switch (how) {
	case EXITS_42:
		ok = r.exec_errno == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 42;
		break;
	case EXEC_FAILS:
		ok = r.exec_errno == value;
		break;
	default:
		ok = r.exec_errno == 0 && WIFSIGNALED(r.status) && WTERMSIG(r.status) == value;
	}
	if (ok)
		check_ok(name);
	else if (r.exec_errno)
		check_fail(name, "execve failed with %s", strerrorname(r.exec_errno));
	else
		check_fail(name, "wait status %#x", r.status);
}

typedef void (*mutate_fn)(struct elf_image *);

static void nothing(struct elf_image *img) { (void)img; }
static void vaddr_offset_mismatch(struct elf_image *img) { img->phdr[0].p_vaddr = ELF_BASE + 0xff; }
static void vaddr_wraps(struct elf_image *img) { img->phdr[0].p_vaddr = 0xfffffffffffff000UL; }
static void memsz_huge(struct elf_image *img) { img->phdr[0].p_memsz = ~0UL; }
static void filesz_over_memsz(struct elf_image *img) { img->phdr[0].p_memsz = 0x100; }
static void vaddr_kernel(struct elf_image *img) { img->phdr[0].p_vaddr = 0xffffffff81000000UL; }
static void vaddr_noncanonical(struct elf_image *img) { img->phdr[0].p_vaddr = 0x0000800000000000UL; }
static void vaddr_ends_past_user(struct elf_image *img) { img->phdr[0].p_vaddr = 0x00007ffffffff000UL; img->phdr[0].p_memsz = 0x2000; }
static void entry_kernel(struct elf_image *img) { img->ehdr.e_entry = 0xffffffff81000000UL; }
static void entry_noncanonical(struct elf_image *img) { img->ehdr.e_entry = 0x8000000000000000UL; }
static void entry_unmapped(struct elf_image *img) { img->ehdr.e_entry = 0x10000; }
static void phnum_zero(struct elf_image *img) { img->ehdr.e_phnum = 0; }
static void phnum_huge(struct elf_image *img) { img->ehdr.e_phnum = 0xffff; }
static void phentsize_wrong(struct elf_image *img) { img->ehdr.e_phentsize = 55; }
static void phoff_past_end(struct elf_image *img) { img->ehdr.e_phoff = 0x10000; }
static void phoff_wraps(struct elf_image *img) { img->ehdr.e_phoff = ~0UL - 8; }
static void type_rel(struct elf_image *img) { img->ehdr.e_type = ET_REL; }
static void machine_arm(struct elf_image *img) { img->ehdr.e_machine = EM_AARCH64; }
static void class_32(struct elf_image *img) { img->ehdr.e_ident[EI_CLASS] = ELFCLASS32; }
static void bad_magic(struct elf_image *img) { img->ehdr.e_ident[1] = 'X'; }
static void no_load(struct elf_image *img) { img->phdr[0].p_type = PT_NOTE; }
static void offset_past_eof(struct elf_image *img) { img->phdr[0].p_offset = 0x100000; img->phdr[0].p_vaddr = ELF_BASE + 0x100000; img->ehdr.e_entry = ELF_BASE + 0x100000; }
static void offset_wraps(struct elf_image *img) { img->phdr[0].p_offset = 0xfffffffffffff000UL; }
static void align_odd(struct elf_image *img) { img->phdr[0].p_align = 3; }
static void truncated_segment(struct elf_image *img) { img->size = ELF_CODE_OFF + sizeof elf_exit42; img->phdr[0].p_filesz = 0x3000; img->phdr[0].p_memsz = 0x3000; }
static void truncated_phdrs(struct elf_image *img) { img->size = sizeof(Elf64_Ehdr) + 8; }
static void truncated_ehdr(struct elf_image *img) { img->size = 20; }
static void empty_file(struct elf_image *img) { img->size = 0; }

/* A second PT_LOAD over the first: Linux maps it with MAP_FIXED over the
 * first, so the program still runs from the later mapping. */
static void overlapping(struct elf_image *img)
{
	img->ehdr.e_phnum = 2;
	img->phdr[1] = img->phdr[0];
	img->phdr[1].p_flags = PF_R | PF_X;
}

/* A writable bss segment whose end wraps; the first one is fine. */
static void second_segment_wraps(struct elf_image *img)
{
	img->ehdr.e_phnum = 2;
	img->phdr[1] = img->phdr[0];
	img->phdr[1].p_vaddr = 0xffffffffffffe000UL;
	img->phdr[1].p_offset = 0;
	img->phdr[1].p_filesz = 0;
	img->phdr[1].p_memsz = 0x4000;
	img->phdr[1].p_flags = PF_R | PF_W;
}

/* A writable .bss whose partially filled page is past the end of the file:
 * Linux cannot zero its tail (padzero) and the exec fails. */
static void bss_page_past_eof(struct elf_image *img)
{
	img->ehdr.e_phnum = 2;
	img->phdr[1] = img->phdr[0];
	img->phdr[1].p_offset = 0x1100;
	img->phdr[1].p_vaddr = 0x601100;
	img->phdr[1].p_filesz = 0x10;
	img->phdr[1].p_memsz = 0x2000;
	img->phdr[1].p_flags = PF_R | PF_W;
}

/* The same, read-only: the failed zeroing is ignored. */
static void ro_bss_page_past_eof(struct elf_image *img)
{
	bss_page_past_eof(img);
	img->phdr[1].p_flags = PF_R;
}

static void offset_past_max_lfs(struct elf_image *img) { img->phdr[0].p_offset = 0xd6d16419e22e9000UL; }

static const char interp_path[] = "/nonexistent/ld.so";

/* A PT_INTERP naming `interp_path`, `len` bytes of it at `off`. */
static void with_interp(struct elf_image *img, unsigned long off, unsigned long len)
{
	img->ehdr.e_phnum = 2;
	img->phdr[1].p_type = PT_INTERP;
	img->phdr[1].p_offset = off;
	img->phdr[1].p_filesz = len;
	memcpy(img->bytes + ELF_CODE_OFF + 0x20, interp_path, sizeof interp_path);
}

static void interp_missing(struct elf_image *img) { with_interp(img, ELF_CODE_OFF + 0x20, sizeof interp_path); }
static void interp_no_nul(struct elf_image *img) { with_interp(img, ELF_CODE_OFF + 0x20, sizeof interp_path - 1); }
static void interp_past_eof(struct elf_image *img) { with_interp(img, 0x1000, sizeof interp_path); }
/* A name that starts with its NUL is the empty name: the working directory, as for `#!`. */
static void interp_empty(struct elf_image *img)
{
	with_interp(img, ELF_CODE_OFF + 0x20, sizeof interp_path);
	img->bytes[ELF_CODE_OFF + 0x20] = 0;
}

/* Static PIE whose bias addition overflows. */
static void dyn_bias_wraps(struct elf_image *img)
{
	img->ehdr.e_type = ET_DYN;
	img->phdr[0].p_vaddr = 0xffffffffffff0000UL;
	img->ehdr.e_entry = 0xffffffffffff0000UL + ELF_CODE_OFF;
}

/* A static PIE at 0 runs wherever it is put. */
static void dyn_valid(struct elf_image *img)
{
	img->ehdr.e_type = ET_DYN;
	img->phdr[0].p_vaddr = 0;
	img->ehdr.e_entry = ELF_CODE_OFF;
}

/* A PT_PHDR that points nowhere is only a wrong AT_PHDR. */
static void phdr_wild(struct elf_image *img)
{
	img->ehdr.e_phnum = 2;
	img->phdr[1].p_type = PT_PHDR;
	img->phdr[1].p_vaddr = ~0UL;
	img->phdr[1].p_memsz = ~0UL;
}

/* Two bss-only segments, the second a zero-sized one: nothing to map. */
static void memsz_zero(struct elf_image *img)
{
	img->ehdr.e_phnum = 2;
	img->phdr[1] = img->phdr[0];
	img->phdr[1].p_vaddr = 0x800000;
	img->phdr[1].p_filesz = img->phdr[1].p_memsz = 0;
}

/* Zero-sized segments are still checked. */
static void memsz_zero_filesz_not(struct elf_image *img)
{
	memsz_zero(img);
	img->phdr[1].p_filesz = 0x10;
}

static void memsz_zero_in_kernel(struct elf_image *img)
{
	memsz_zero(img);
	img->phdr[1].p_vaddr = 0xffffffff81000000UL;
}

static const struct {
	const char *name;
	mutate_fn mutate;
	int how, value;
} cases[] = {
	{ "a_hand_built_elf_runs_and_exits_42", nothing, EXITS_42, 0 },
	{ "a_static_pie_runs_at_the_pie_base", dyn_valid, EXITS_42, 0 },
	{ "overlapping_segments_map_the_later_over_the_earlier", overlapping, EXITS_42, 0 },
	{ "an_odd_p_align_is_ignored", align_odd, EXITS_42, 0 },
	{ "a_wild_pt_phdr_still_runs", phdr_wild, EXITS_42, 0 },
	{ "a_zero_sized_segment_is_skipped", memsz_zero, EXITS_42, 0 },
	{ "p_vaddr_and_p_offset_in_different_page_offsets_give_sigsegv", vaddr_offset_mismatch, KILLED, SIGSEGV },
	{ "a_segment_whose_end_wraps_gives_sigsegv", vaddr_wraps, KILLED, SIGSEGV },
	{ "p_memsz_all_ones_gives_sigsegv", memsz_huge, KILLED, SIGSEGV },
	{ "p_filesz_above_p_memsz_gives_sigsegv", filesz_over_memsz, KILLED, SIGSEGV },
	{ "file_bytes_in_a_zero_sized_segment_give_sigsegv", memsz_zero_filesz_not, KILLED, SIGSEGV },
	{ "a_zero_sized_segment_in_the_kernel_half_gives_sigsegv", memsz_zero_in_kernel, KILLED, SIGSEGV },
	{ "a_segment_in_the_kernel_half_gives_sigsegv", vaddr_kernel, KILLED, SIGSEGV },
	{ "a_non_canonical_segment_gives_sigsegv", vaddr_noncanonical, KILLED, SIGSEGV },
	{ "a_segment_ending_past_user_space_gives_sigsegv", vaddr_ends_past_user, KILLED, SIGSEGV },
	{ "a_second_segment_that_wraps_gives_sigsegv", second_segment_wraps, KILLED, SIGSEGV },
	{ "a_pie_whose_bias_overflows_gives_sigsegv", dyn_bias_wraps, KILLED, SIGSEGV },
	{ "an_entry_in_the_kernel_half_gives_sigsegv", entry_kernel, KILLED, SIGSEGV },
	{ "a_non_canonical_entry_gives_sigsegv", entry_noncanonical, KILLED, SIGSEGV },
	{ "an_unmapped_entry_gives_sigsegv", entry_unmapped, KILLED, SIGSEGV },
	{ "a_file_offset_past_the_end_gives_sigbus", offset_past_eof, KILLED, SIGBUS },
	{ "a_file_offset_that_wraps_gives_sigsegv", offset_wraps, KILLED, SIGSEGV },
	{ "a_file_offset_past_max_lfs_filesize_gives_sigsegv", offset_past_max_lfs, KILLED, SIGSEGV },
	{ "a_writable_bss_whose_partial_page_is_past_the_end_gives_sigsegv", bss_page_past_eof, KILLED, SIGSEGV },
	{ "a_read_only_bss_whose_partial_page_is_past_the_end_runs", ro_bss_page_past_eof, EXITS_42, 0 },
	{ "a_missing_pt_interp_gives_enoent", interp_missing, EXEC_FAILS, ENOENT },
	{ "a_pt_interp_without_its_nul_gives_enoexec", interp_no_nul, EXEC_FAILS, ENOEXEC },
	{ "a_pt_interp_past_the_end_of_the_file_gives_eio", interp_past_eof, EXEC_FAILS, EIO },
	{ "an_empty_pt_interp_gives_eacces", interp_empty, EXEC_FAILS, EACCES },
	{ "a_segment_longer_than_the_file_runs_its_bytes", truncated_segment, EXITS_42, 0 },
	{ "no_pt_load_gives_sigsegv", no_load, KILLED, SIGSEGV },
	{ "e_phnum_0_gives_enoexec", phnum_zero, EXEC_FAILS, ENOEXEC },
	{ "e_phnum_65535_gives_enoexec", phnum_huge, EXEC_FAILS, ENOEXEC },
	{ "a_wrong_e_phentsize_gives_enoexec", phentsize_wrong, EXEC_FAILS, ENOEXEC },
	{ "e_phoff_past_the_end_gives_enoexec", phoff_past_end, EXEC_FAILS, ENOEXEC },
	{ "e_phoff_that_wraps_gives_enoexec", phoff_wraps, EXEC_FAILS, ENOEXEC },
	{ "et_rel_gives_enoexec", type_rel, EXEC_FAILS, ENOEXEC },
	{ "another_machine_gives_enoexec", machine_arm, EXEC_FAILS, ENOEXEC },
	{ "the_class_byte_is_not_checked_as_in_linux", class_32, EXITS_42, 0 },
	{ "a_bad_magic_gives_enoexec", bad_magic, EXEC_FAILS, ENOEXEC },
	{ "a_file_cut_inside_the_program_headers_gives_enoexec", truncated_phdrs, EXEC_FAILS, ENOEXEC },
	{ "a_file_cut_inside_the_elf_header_gives_enoexec", truncated_ehdr, EXEC_FAILS, ENOEXEC },
	{ "an_empty_file_gives_enoexec", empty_file, EXEC_FAILS, ENOEXEC },
};

static void malformed_elf_files(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct elf_image img;
		elf_image_init(&img, 1);
		cases[i].mutate(&img);
		expect(cases[i].name, run_image(path, &img), cases[i].how, cases[i].value);
	}
}

int main(int argc, char **argv)
{
	check_begin("elf_hostile");
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "/tmp/elf_hostile.%d", getpid());
	if (mkdir(dir, 0700) != 0) {
		check_fail("a_temporary_directory_is_made", "mkdir %s: %s", dir, strerror(errno));
		return check_end();
	}
	snprintf(path, sizeof path, "%s/a.out", dir);
	malformed_elf_files();
	unlink(path);
	rmdir(dir);
	return check_end();
}
