/*
 * cow_exit: copy-on-write pages survive the exit of the process that
 * shared them.
 *
 * The test forks P; P fills a buffer, forks C and exits at once, so C's
 * pages lose the other half of their sharing while C still runs. C waits
 * until it has been reparented, checks and then rewrites the whole buffer,
 * and sends its verdict through a pipe the test holds.
 */
#include "check.h"

#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096
#define BUF_SIZE (1 << 20)
#define REPARENT_TIMEOUT_MS 2000

struct verdict {
	int reparented;     /* getppid() moved away from P in time */
	int intact;         /* every byte P wrote is still there */
	int own_writes_ok;  /* C's rewrite of the buffer reads back */
	int heap_intact;    /* P's malloc'd data too */
};

static unsigned char pattern_at(size_t i)
{
	return (unsigned char)(i * 7 + i / PAGE);
}

static void child_after_parent_exit(pid_t p, const unsigned char *buf_ro, unsigned char *buf,
				    const char *heap, int out)
{
	struct verdict v = { 0, 1, 1, 0 };
	long deadline = now_ms() + REPARENT_TIMEOUT_MS;
	while (getppid() == p && now_ms() < deadline)
		sleep_ms(2);
	v.reparented = getppid() != p;
	for (size_t i = 0; i < BUF_SIZE; i++)
		if (buf_ro[i] != pattern_at(i))
			v.intact = 0;
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = ~pattern_at(i);
	for (size_t i = 0; i < BUF_SIZE; i++)
		if (buf[i] != (unsigned char)~pattern_at(i))
			v.own_writes_ok = 0;
	v.heap_intact = strcmp(heap, "written by P before forking C") == 0;
	write(out, &v, sizeof v);
	_exit(0);
}

static void intermediate_parent(int out)
{
	unsigned char *buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *heap = malloc(64);
	if (buf == MAP_FAILED || heap == NULL)
		_exit(3);
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = pattern_at(i);
	strcpy(heap, "written by P before forking C");
	pid_t p = getpid();
	pid_t c = fork();
	if (c == 0)
		child_after_parent_exit(p, buf, buf, heap, out);
	_exit(c > 0 ? 0 : 4);
}

int main(void)
{
	check_begin("cow_exit");
	int verdict_pipe[2];
	pipe(verdict_pipe);

	pid_t p = fork();
	if (p == 0)
		intermediate_parent(verdict_pipe[1]);
	close(verdict_pipe[1]);
	int status = -1;
	pid_t reaped = waitpid(p, &status, 0);
	struct verdict v = { 0, 0, 0, 0 };
	int got = read_full(verdict_pipe[0], &v, sizeof v);
	close(verdict_pipe[0]);

	EXPECT_EQ("the_intermediate_parent_is_reaped", p, reaped);
	EXPECT_EQ("the_intermediate_parent_forked_and_exited_cleanly", 0, status);
	EXPECT_EQ("the_grandchild_reports_after_its_parent_exits", 0, got);
	CHECK("the_grandchild_is_reparented_when_its_parent_exits_first", v.reparented);
	CHECK("the_grandchilds_cow_buffer_is_intact_after_its_parent_exits", v.intact);
	CHECK("the_grandchilds_malloc_data_is_intact_after_its_parent_exits", v.heap_intact);
	CHECK("the_grandchild_can_write_its_pages_once_their_other_owner_is_gone",
	      v.own_writes_ok);
	return check_end();
}
