/*
 * raw_clone.h: clone by hand, for tests that hand the kernel flags libc
 * would refuse. A child that comes to exist exits CHILD_RAN at once,
 * without touching memory, so it cannot return into C.
 */
#ifndef RAW_CLONE_H
#define RAW_CLONE_H

#include <sys/syscall.h>

/* The exit code of a child raw_clone or raw_clone3 made (the literal in
 * their asm). */
#define CHILD_RAN 111

/* clone(flags, newsp = 0, parent_tid, child_tid = 0, tls = 0); returns
 * what the kernel returned (-errno on failure). */
static inline long raw_clone(unsigned long flags, void *parent_tid)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "mov $111, %%edi\n\t"
			 "syscall\n\t"
			 "1:"
			 : "=a"(ret)
			 : "0"((long)SYS_clone), "D"(flags), "S"(0L), "d"(parent_tid), "r"(r10),
			   "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

#endif
