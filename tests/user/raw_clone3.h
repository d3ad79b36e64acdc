/*
 * raw_clone3.h: clone3 by hand, for tests that hand the kernel arguments
 * libc would refuse. A child that comes to exist stores its rsp in
 * child_rsp and exits CHILD_RAN at once, without touching its stack.
 */
#ifndef RAW_CLONE3_H
#define RAW_CLONE3_H

#include "raw_clone.h"

static volatile unsigned long child_rsp;

static long raw_clone3(void *args, unsigned long size)
{
	long ret;
	register volatile unsigned long *where __asm__("r12") = &child_rsp;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov %%rsp, (%%r12)\n\t"
			 "mov $60, %%eax\n\t"
			 "mov $111, %%edi\n\t"
			 "syscall\n\t"
			 "1:"
			 : "=a"(ret)
			 : "0"((long)SYS_clone3), "D"(args), "S"(size), "r"(where)
			 : "rcx", "r11", "memory");
	return ret;
}

#endif
