/*
 * mmap_edges: address-space calls at the edges of user space, and user
 * copies that stop at an unmapped page.
 *
 * mmap, munmap and mprotect with lengths near 2^64 and ranges that cross
 * TASK_SIZE fail as Linux fails; a hint below mmap_min_addr is moved up;
 * vm.max_map_count bounds the number of mappings; read, write, readv and
 * getrandom into a buffer whose tail is unmapped move the bytes before the
 * hole and return that count.
 */
#include "check.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGE 4096UL
#define TASK_SIZE 0x7ffffffff000UL
#define PROT_RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* mmap through syscall(2), so that libc adds no checks of its own. */
static long raw_mmap(unsigned long addr, unsigned long len, int prot, int flags)
{
	return syscall(SYS_mmap, addr, len, prot, flags, -1, 0);
}

static void mmap_lengths_near_2_to_the_64(void)
{
	EXPECT_FAILS("mmap_of_length_2_to_the_64_minus_1_fails_with_enomem", ENOMEM,
		     raw_mmap(0, ~0UL, PROT_RW, ANON));
	EXPECT_FAILS("mmap_of_length_2_to_the_64_minus_a_page_fails_with_enomem", ENOMEM,
		     raw_mmap(0, -PAGE, PROT_RW, ANON));
	EXPECT_FAILS("mmap_longer_than_user_space_fails_with_enomem", ENOMEM,
		     raw_mmap(0, TASK_SIZE + PAGE, PROT_RW, ANON));
	EXPECT_FAILS("mmap_of_all_user_space_fails_with_enomem", ENOMEM,
		     raw_mmap(0, TASK_SIZE, PROT_RW, ANON));
	EXPECT_FAILS("map_fixed_of_length_near_2_to_the_64_fails_with_enomem", ENOMEM,
		     raw_mmap(0x10000000, -PAGE, PROT_RW, ANON | MAP_FIXED));
	EXPECT_FAILS("map_fixed_that_crosses_task_size_fails_with_enomem", ENOMEM,
		     raw_mmap(TASK_SIZE - PAGE, 2 * PAGE, PROT_RW, ANON | MAP_FIXED));
	EXPECT_FAILS("map_fixed_above_task_size_fails_with_enomem", ENOMEM,
		     raw_mmap(TASK_SIZE, PAGE, PROT_RW, ANON | MAP_FIXED));
	EXPECT_FAILS("map_fixed_at_an_unaligned_address_fails_with_einval", EINVAL,
		     raw_mmap(0x10000001, PAGE, PROT_RW, ANON | MAP_FIXED));
	EXPECT_FAILS("mmap_of_length_0_fails_with_einval", EINVAL,
		     raw_mmap(0, 0, PROT_RW, ANON));
	EXPECT_FAILS("map_fixed_noreplace_near_2_to_the_64_fails_with_enomem", ENOMEM,
		     raw_mmap(0x10000000, ~0UL - PAGE, PROT_RW, ANON | MAP_FIXED_NOREPLACE));
}

/* A hint is only a hint: one that does not fit in user space is ignored,
 * one that fits and is free is used. */
static void mmap_hints_near_task_size(void)
{
	unsigned long hints[] = { TASK_SIZE - PAGE, TASK_SIZE, -PAGE, ~0UL };
	const char *names[] = {
		"mmap_with_a_hint_one_page_below_task_size_gives_a_usable_page",
		"mmap_with_a_hint_at_task_size_gives_a_usable_page_below_it",
		"mmap_with_a_hint_near_2_to_the_64_gives_a_usable_page_below_task_size",
		"mmap_with_a_hint_of_all_ones_gives_a_usable_page_below_task_size",
	};
	for (int i = 0; i < 4; i++) {
		long p = raw_mmap(hints[i], PAGE, PROT_RW, ANON);
		int ok = p != -1 && (unsigned long)p + PAGE <= TASK_SIZE;
		if (ok) {
			*(volatile char *)p = 1;
			ok = munmap((void *)p, PAGE) == 0;
		}
		if (ok)
			check_ok(names[i]);
		else
			check_fail(names[i], "mmap(%#lx) gave %#lx (%s)", hints[i], p,
				   strerror(errno));
	}
	long p = raw_mmap(TASK_SIZE - 4 * PAGE, 4 * PAGE, PROT_RW, ANON);
	CHECK("a_mapping_from_a_hint_ends_at_or_below_task_size",
	      p != -1 && (unsigned long)p + 4 * PAGE <= TASK_SIZE);
	if (p != -1)
		munmap((void *)p, 4 * PAGE);
}

static void mmap_min_addr_is_respected(void)
{
	long min = proc_number("/proc/sys/vm/mmap_min_addr", "");
	CHECK("proc_sys_vm_mmap_min_addr_is_readable", min > 0);
	if (on_lifecycle())
		EXPECT_EQ("mmap_min_addr_is_linux_default_65536", 65536, min);
	unsigned long hint = min > (long)PAGE ? (unsigned long)min - PAGE : 0;
	long p = raw_mmap(hint, PAGE, PROT_RW, ANON);
	CHECK("mmap_with_a_hint_below_mmap_min_addr_is_placed_at_or_above_it",
	      p != -1 && p >= min);
	if (p != -1)
		munmap((void *)p, PAGE);
	/* Root may map below mmap_min_addr (CAP_SYS_RAWIO); we run as root. */
	long low = raw_mmap(2 * PAGE, PAGE, PROT_RW, ANON | MAP_FIXED);
	CHECK("map_fixed_below_mmap_min_addr_is_allowed_for_root",
	      low == (long)(2 * PAGE));
	if (low != -1)
		munmap((void *)low, PAGE);
}

static void munmap_and_mprotect_edges(void)
{
	char *p = mmap(NULL, 3 * PAGE, PROT_RW, ANON, -1, 0);
	EXPECT_FAILS("munmap_of_length_0_fails_with_einval", EINVAL,
		     syscall(SYS_munmap, p, 0));
	EXPECT_FAILS("munmap_at_an_unaligned_address_fails_with_einval", EINVAL,
		     syscall(SYS_munmap, p + 1, PAGE));
	EXPECT_FAILS("munmap_of_length_near_2_to_the_64_fails_with_einval", EINVAL,
		     syscall(SYS_munmap, p, -PAGE));
	EXPECT_FAILS("munmap_that_crosses_task_size_fails_with_einval", EINVAL,
		     syscall(SYS_munmap, TASK_SIZE - PAGE, 2 * PAGE));
	EXPECT_FAILS("mprotect_of_length_2_to_the_64_minus_1_fails_with_enomem", ENOMEM,
		     syscall(SYS_mprotect, p, ~0UL, PROT_READ));
	EXPECT_FAILS("mprotect_at_an_unaligned_address_fails_with_einval", EINVAL,
		     syscall(SYS_mprotect, p + 1, PAGE, PROT_READ));
	EXPECT_FAILS("mprotect_above_task_size_fails_with_enomem", ENOMEM,
		     syscall(SYS_mprotect, TASK_SIZE, PAGE, PROT_READ));
	munmap(p + PAGE, PAGE);
	EXPECT_FAILS("mprotect_over_a_hole_fails_with_enomem", ENOMEM,
		     syscall(SYS_mprotect, p, 3 * PAGE, PROT_READ));
	EXPECT_EQ("mprotect_of_length_0_succeeds", 0, syscall(SYS_mprotect, p, 0, PROT_READ));
	munmap(p, 3 * PAGE);
	long brk0 = syscall(SYS_brk, 0);
	EXPECT_EQ("brk_to_near_2_to_the_64_leaves_the_break_unchanged", brk0,
		  syscall(SYS_brk, -PAGE));
}

/* A page at `*buf` followed by an unmapped page. */
static char *page_before_a_hole(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_RW, ANON, -1, 0);
	munmap(p + PAGE, PAGE);
	return p;
}

static void copies_stop_at_the_hole(void)
{
	char *p = page_before_a_hole();
	char *tail = p + PAGE - 100;
	char data[200];
	for (int i = 0; i < 200; i++)
		data[i] = (char)i;

	int fd = open("mmap_edges.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, data, 200);
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ("read_from_a_file_into_a_buffer_with_an_unmapped_tail_returns_the_bytes_that_fit",
		  100, read(fd, tail, 200));
	CHECK("the_bytes_before_the_hole_are_the_file_s", memcmp(tail, data, 100) == 0);
	EXPECT_EQ("the_file_position_moved_by_the_bytes_copied", 100, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ("pread_into_a_buffer_with_an_unmapped_tail_returns_the_bytes_that_fit",
		  100, pread(fd, tail, 200, 0));
	errno = 0;
	long r = read(fd, p + PAGE, 10);
	EXPECT_ERRNO("read_into_a_wholly_unmapped_buffer_fails_with_efault", EFAULT, r, errno);

	memcpy(tail, data, 100);
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ("write_from_a_buffer_with_an_unmapped_tail_writes_the_bytes_before_it",
		  100, write(fd, tail, 200));
	close(fd);

	char first[50];
	struct iovec iov[2] = { { first, 50 }, { p + PAGE, 50 } };
	fd = open("mmap_edges.tmp", O_RDWR);
	EXPECT_EQ("readv_from_a_file_whose_second_buffer_is_unmapped_returns_the_first_s_bytes",
		  50, readv(fd, iov, 2));
	EXPECT_EQ("writev_to_a_file_whose_second_buffer_is_unmapped_writes_the_first_s_bytes",
		  50, writev(fd, iov, 2));
	close(fd);
	unlink("mmap_edges.tmp");

	/* A pipe is different: Linux copies each pipe buffer whole or not at
	 * all, so a short copy is EFAULT and the bytes stay in the pipe. */
	int pp[2];
	pipe(pp);
	write(pp[1], data, 200);
	errno = 0;
	r = read(pp[0], tail, 200);
	EXPECT_ERRNO("read_from_a_pipe_into_a_buffer_with_an_unmapped_tail_fails_with_efault",
		     EFAULT, r, errno);
	char all[200];
	EXPECT_EQ("the_pipe_keeps_every_byte_after_a_failed_read", 200, read(pp[0], all, 200));
	CHECK("the_pipe_s_bytes_come_in_order", memcmp(all, data, 200) == 0);
	close(pp[0]);
	close(pp[1]);

	EXPECT_EQ("getrandom_into_a_buffer_with_an_unmapped_tail_returns_the_bytes_that_fit",
		  100, syscall(SYS_getrandom, tail, 200, 0));
	munmap(p, PAGE);
}

/*
 * Map single pages, alternately read-only and read-write so that Linux
 * cannot merge neighbours, until mmap fails: it must fail with ENOMEM near
 * vm.max_map_count, splitting an area must then fail too, and the
 * process's own memory must be intact.
 */
static void max_map_count_bounds_the_mappings(void)
{
	long max = proc_number("/proc/sys/vm/max_map_count", "");
	if (on_lifecycle())
		EXPECT_EQ("max_map_count_is_linux_default_65530", 65530, max);
	if (max <= 0 || max > 65530) {
		check_skip("mmap_fails_with_enomem_at_max_map_count", "vm.max_map_count was raised");
		return;
	}
	static char canary[PAGE];
	memset(canary, 0x5a, sizeof canary);
	char *three = mmap(NULL, 3 * PAGE, PROT_RW, ANON, -1, 0);
	const unsigned long base = 0x100000000UL;
	long n = 0, err = 0;
	for (;; n++) {
		long p = raw_mmap(base + 2 * n * PAGE, PAGE, n % 2 ? PROT_READ : PROT_RW, ANON);
		if (p == -1) {
			err = errno;
			break;
		}
		if (n > max + 10)
			break;
	}
	EXPECT_EQ("mmap_fails_with_enomem_at_max_map_count", ENOMEM, err);
	CHECK("mmap_succeeds_until_near_max_map_count", n > max - 200 && n <= max);
	EXPECT_FAILS("munmap_of_a_hole_in_one_area_at_the_limit_fails_with_enomem", ENOMEM,
		     syscall(SYS_munmap, three + PAGE, PAGE));
	EXPECT_FAILS("mprotect_that_splits_an_area_at_the_limit_fails_with_enomem", ENOMEM,
		     syscall(SYS_mprotect, three + PAGE, PAGE, PROT_READ));
	EXPECT_EQ("munmap_of_a_whole_area_at_the_limit_succeeds", 0, munmap(three, 3 * PAGE));
	long again = raw_mmap(0, PAGE, PROT_RW, ANON);
	CHECK("mmap_works_again_after_an_unmap", again != -1);
	int intact = 1;
	for (unsigned long i = 0; i < sizeof canary; i++)
		intact &= canary[i] == 0x5a;
	CHECK("the_process_memory_is_intact_after_hitting_the_limit", intact);
}

int main(void)
{
	check_begin("mmap_edges");
	mmap_lengths_near_2_to_the_64();
	mmap_hints_near_task_size();
	mmap_min_addr_is_respected();
	munmap_and_mprotect_edges();
	copies_stop_at_the_hole();
	/* In a child, whose exit drops the 65530 mappings at once. */
	pid_t child = fork();
	if (child == 0) {
		max_map_count_bounds_the_mappings();
		_exit(check_end());
	}
	int status;
	waitpid(child, &status, 0);
	CHECK("the_checks_at_max_map_count_end_cleanly", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return check_end();
}
