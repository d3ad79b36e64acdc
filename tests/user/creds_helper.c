/*
 * creds_helper: exec'd by creds to report who it runs as, in one line on
 * stdout: ruid euid suid rgid egid sgid AT_SECURE AT_UID AT_EUID AT_EGID
 * CapEff CapPrm (the last two in hex).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	uid_t r = -1, e = -1, s = -1;
	gid_t gr = -1, ge = -1, gs = -1;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	struct { unsigned version; int pid; } h = { 0x20080522, 0 };
	struct { unsigned eff, prm, inh; } d[2] = { { 0 } };
	syscall(SYS_capget, &h, d);
	printf("%u %u %u %u %u %u %lu %lu %lu %lu %llx %llx\n", r, e, s, gr, ge, gs,
	       getauxval(AT_SECURE), getauxval(AT_UID), getauxval(AT_EUID),
	       getauxval(AT_EGID), d[0].eff | (unsigned long long)d[1].eff << 32,
	       d[0].prm | (unsigned long long)d[1].prm << 32);
	return 0;
}
