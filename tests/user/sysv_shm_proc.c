/*
 * sysv_shm_proc: /proc/sysvipc/shm shows each segment in Linux's exact
 * format, and the kernel.shmmax, kernel.shmall and kernel.shmmni sysctls
 * are writable and enforced by shmget: a size past shmmax is EINVAL, pages
 * past shmall and segments past shmmni are ENOSPC. Every limit is put back
 * and every segment removed (the host keeps both otherwise). The limits
 * belong to the IPC namespace, so the test first takes one of its own:
 * lowering them must not fail another program's shmget on a busy host.
 */
#define _GNU_SOURCE
#include "check.h"
#include <sched.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define PAGE 4096

static const char header[] =
	"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid"
	"      atime      dtime      ctime                   rss                  swap\n";

/* The line of /proc/sysvipc/shm whose shmid is `id`, into line. */
static int shm_line(int id, char *text, size_t size, char **line)
{
	int fd = open("/proc/sysvipc/shm", O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < size - 1 && (n = read(fd, text + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	text[len] = '\0';
	*line = NULL;
	for (char *l = strchr(text, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		int key, shmid;
		if (sscanf(l + 1, "%d %d", &key, &shmid) == 2 && shmid == id)
			*line = l + 1;
	}
	return 0;
}

static void proc_sysvipc_shm(void)
{
	key_t key = (key_t)(0x5b000000 | ((getpid() & 0xffff) << 4));
	int id = shmget(key, 3 * PAGE + 100, IPC_CREAT | 0640);
	char *p = shmat(id, 0, 0);
	if (id < 0 || p == (void *)-1) {
		check_fail("proc_sysvipc_shm_shows_a_segment_as_linux", "shmget/shmat failed");
		return;
	}
	p[PAGE] = 1;
	static char text[1 << 16];
	char *line;
	CHECK("proc_sysvipc_shm_can_be_read",
	      shm_line(id, text, sizeof text, &line) == 0);
	CHECK("proc_sysvipc_shm_starts_with_linux_s_header",
	      strncmp(text, header, sizeof header - 1) == 0);
	struct shmid_ds ds;
	shmctl(id, IPC_STAT, &ds);
	char want[256];
	snprintf(want, sizeof want,
		 "%10d %10d  %4o %21lu %5u %5u  %5lu %5u %5u %5u %5u %10llu %10llu %10llu %21lu %21lu\n",
		 key, id, ds.shm_perm.mode, (unsigned long)ds.shm_segsz, ds.shm_cpid,
		 ds.shm_lpid, (unsigned long)ds.shm_nattch, ds.shm_perm.uid, ds.shm_perm.gid,
		 ds.shm_perm.cuid, ds.shm_perm.cgid, (unsigned long long)ds.shm_atime,
		 (unsigned long long)ds.shm_dtime, (unsigned long long)ds.shm_ctime,
		 (unsigned long)PAGE, 0UL);
	if (line && strncmp(line, want, strlen(want)) == 0)
		check_ok("a_segment_s_line_has_linux_s_columns_and_its_resident_page");
	else
		check_fail("a_segment_s_line_has_linux_s_columns_and_its_resident_page",
			   "want %sgot  %.200s", want, line ? line : "(no line)\n");
	CHECK("the_line_names_the_creator_and_one_attach",
	      ds.shm_cpid == getpid() && ds.shm_nattch == 1 && ds.shm_perm.mode == 0640);
	shmdt(p);
	shmctl(id, IPC_RMID, 0);
	shm_line(id, text, sizeof text, &line);
	CHECK("a_removed_segment_leaves_proc_sysvipc_shm", line == NULL);
}

/* Writes `value` to /proc/sys/kernel/<name>; 0 or the errno. */
static int set_sysctl(const char *name, const char *value)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	int err = write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : errno;
	close(fd);
	return err;
}

static void get_sysctl(const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	if (read_text(path, buf, size) < 0)
		buf[0] = '\0';
}

static void limits(void)
{
	char shmmax[32], shmall[32], shmmni[32], text[32];
	get_sysctl("shmmax", shmmax, sizeof shmmax);
	get_sysctl("shmall", shmall, sizeof shmall);
	get_sysctl("shmmni", shmmni, sizeof shmmni);
	CHECK("shmall_is_linux_s_default", strcmp(shmall, "18446744073692774399\n") == 0);

	EXPECT_EQ("shmmax_takes_a_hex_number", 0, set_sysctl("shmmax", "0x2000\n"));
	get_sysctl("shmmax", text, sizeof text);
	CHECK("shmmax_reads_back_in_decimal", strcmp(text, "8192\n") == 0);
	EXPECT_EQ("shmmax_refuses_a_negative_number", EINVAL, set_sysctl("shmmax", "-1"));
	EXPECT_FAILS("a_segment_past_shmmax_is_einval", EINVAL,
		     shmget(IPC_PRIVATE, 8193, IPC_CREAT | 0600));
	int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
	CHECK("a_segment_of_shmmax_bytes_is_made", id >= 0);
	shmctl(id, IPC_RMID, 0);
	set_sysctl("shmmax", shmmax);

	EXPECT_EQ("shmall_can_be_set", 0, set_sysctl("shmall", "0"));
	errno = 0;
	id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
	int err = errno;
	set_sysctl("shmall", shmall);
	EXPECT_ERRNO("a_segment_past_shmall_pages_is_enospc", ENOSPC, id, err);
	if (id >= 0)
		shmctl(id, IPC_RMID, 0);

	EXPECT_EQ("shmmni_can_be_set", 0, set_sysctl("shmmni", "0"));
	errno = 0;
	id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
	err = errno;
	set_sysctl("shmmni", shmmni);
	EXPECT_ERRNO("a_segment_past_shmmni_is_enospc", ENOSPC, id, err);
	if (id >= 0)
		shmctl(id, IPC_RMID, 0);
	get_sysctl("shmmax", text, sizeof text);
	CHECK("the_limits_are_put_back", strcmp(text, shmmax) == 0);
}

int main(void)
{
	check_begin("sysv_shm_proc");
	/* Without IPC namespaces (a kernel without them runs one program at
	 * a time), the system-wide limits are changed and put back. */
	int own_ns = unshare(CLONE_NEWIPC) == 0;
	proc_sysvipc_shm();
	if (own_ns || on_lifecycle())
		limits();
	else
		check_skip("the_shm_limits_are_writable_and_enforced",
			   "no IPC namespace of its own to change them in");
	return check_end();
}
