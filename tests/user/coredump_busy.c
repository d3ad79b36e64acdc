/*
 * coredump_busy: a thread crashes while the other threads of its process
 * are running their program, never entering the kernel by themselves. The
 * dump kills each of them, and each one takes that SIGKILL on its way back
 * to user space from an interrupt (the tick that preempted it, or the
 * reschedule interrupt that kicked it), then waits for the dump to finish.
 * That wait sleeps, so it must run with interrupts on, as Linux's
 * exit_to_user_mode_loop() enables them whatever the entry was: the kernel
 * log must not report a sleeping function called from invalid context.
 * The process dies of SIGSEGV (RLIMIT_CORE 0: no core bit).
 *
 * Run as root: klogctl needs CAP_SYSLOG on Linux.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <sys/klog.h>
#include <sys/resource.h>

#define SPINNERS 3
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10

static const char report[] = "sleeping function called from invalid context";

/* How many times the kernel log holds the might_sleep() report; -1 if it
 * cannot be read. */
static int reports_in_kernel_log(void)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	if (size <= 0)
		return -1;
	char *log = malloc((size_t)size + 1);
	if (!log)
		return -1;
	int n = klogctl(SYSLOG_ACTION_READ_ALL, log, size);
	if (n < 0) {
		free(log);
		return -1;
	}
	log[n] = '\0';
	int count = 0;
	for (char *p = log; (p = strstr(p, report)); p += sizeof report - 1)
		count++;
	free(log);
	return count;
}

static volatile int running;

static void *spin(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&running, 1, __ATOMIC_SEQ_CST);
	for (volatile unsigned long i = 0;; i++)
		;
	return NULL;
}

/* The crashing process: SPINNERS threads spin; once all run, and they
 * have had a few ticks, the main thread writes through NULL. */
static void crash_beside_spinners(void)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	for (int i = 0; i < SPINNERS; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, spin, NULL) != 0)
			_exit(90);
	}
	while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) < SPINNERS)
		usleep(1000);
	usleep(50000);
	*(volatile int *)0 = 1;
	_exit(91);
}

int main(void)
{
	check_begin("coredump_busy");
	int before = reports_in_kernel_log();
	pid_t pid = fork();
	if (pid == 0)
		crash_beside_spinners();
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("a_crash_beside_threads_running_their_program_ends_the_process_with_sigsegv",
		  SIGSEGV, status);
	int after = reports_in_kernel_log();
	CHECK("the_kernel_log_can_be_read", before >= 0 && after >= 0);
	EXPECT_EQ("no_thread_waited_for_the_dump_with_interrupts_off", before, after);
	return check_end();
}
