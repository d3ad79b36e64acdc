/*
 * pstree [PID]: the process tree from /proc (all of it, or the subtree of
 * PID), with kernel threads in [brackets] under kthreadd, zombies marked,
 * and vfork parents marked: a parent in state D (wait_for_vfork_done) with
 * a child of the same size, since that child runs on the parent's mm.
 * Reads /proc/<pid>/stat only, so it runs on Linux too. (Adopted orphans
 * cannot be marked: Linux keeps no record of a task's first parent.)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TASKS 1024

struct task {
	int pid, ppid;
	char state;
	unsigned flags;
	unsigned long vsize;
	char comm[32];
};

static struct task tasks[MAX_TASKS];
static int ntasks;

static void read_task(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || ntasks == MAX_TASKS)
		return;
	buf[n] = 0;
	char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren)
		return;
	struct task *t = &tasks[ntasks++];
	t->pid = pid;
	size_t len = close_paren - open_paren - 1;
	len = len < sizeof t->comm - 1 ? len : sizeof t->comm - 1;
	memcpy(t->comm, open_paren + 1, len);
	t->comm[len] = 0;
	sscanf(close_paren + 2, "%c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %*u %lu",
	       &t->state, &t->ppid, &t->flags, &t->vsize);
}

/* In vfork: asleep in D while a child shares its mm, hence its size. */
static int vfork_parent(const struct task *t)
{
	for (int i = 0; t->state == 'D' && i < ntasks; i++)
		if (tasks[i].ppid == t->pid && tasks[i].vsize == t->vsize && t->vsize)
			return 1;
	return 0;
}

static void print_task(const struct task *t, const char *prefix, const char *branch)
{
	int kthread = (t->flags & 0x00200000) != 0;
	const char *mark = t->state == 'Z' ? " <zombie>" : vfork_parent(t) ? " <vfork>" : "";
	printf("%s%s%s%s%s(%d)%s\n", prefix, branch, kthread ? "[" : "", t->comm, kthread ? "]" : "", t->pid, mark);
}

static void print_tree(int ppid, const char *prefix)
{
	int children[MAX_TASKS], n = 0;
	for (int i = 0; i < ntasks; i++)
		if (tasks[i].ppid == ppid && tasks[i].pid != ppid)
			children[n++] = i;
	for (int c = 0; c < n; c++) {
		struct task *t = &tasks[children[c]];
		int last = c == n - 1;
		print_task(t, prefix, last ? "`-" : "|-");
		char deeper[256];
		snprintf(deeper, sizeof deeper, "%s%s", prefix, last ? "  " : "| ");
		print_tree(t->pid, deeper);
	}
}

int main(int argc, char **argv)
{
	int root = argc > 1 ? atoi(argv[1]) : 0;
	DIR *proc = opendir("/proc");
	if (!proc) {
		perror("pstree: /proc");
		return 1;
	}
	struct dirent *e;
	while ((e = readdir(proc)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			read_task(atoi(e->d_name));
	closedir(proc);
	for (int i = 0; i < ntasks && root; i++)
		if (tasks[i].pid == root)
			print_task(&tasks[i], "", "");
	print_tree(root, "");
	return 0;
}
