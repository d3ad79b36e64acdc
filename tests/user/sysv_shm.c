/*
 * sysv_shm: System V shared memory (shmget, shmat, shmdt, shmctl) and its
 * lifecycle: attachments are inherited by fork, dropped at execve and exit,
 * counted in shm_nattch, and IPC_RMID destroys a segment only after its
 * last detach. Every segment made here is removed again (the host keeps
 * them otherwise).
 */
#include "check.h"
#include <setjmp.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define PAGE 4096

static long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) != 0)
		return -errno;
	return (long)ds.shm_nattch;
}

/* A key of this process's own, so that runs never meet each other. */
static key_t my_key(int n)
{
	return (key_t)(0x5a000000 | ((getpid() & 0xffff) << 4) | n);
}

static void across_fork(void)
{
	int id = shmget(IPC_PRIVATE, 3 * PAGE, IPC_CREAT | 0600);
	CHECK("shmget_ipc_private_makes_a_segment", id >= 0);
	char *p = shmat(id, 0, 0);
	CHECK("shmat_at_a_kernel_chosen_address_succeeds", p != (void *)-1);
	if (p == (void *)-1)
		return;
	EXPECT_EQ("a_new_segment_reads_as_zeroes", 0, p[2 * PAGE + 5]);
	EXPECT_EQ("nattch_is_one_after_one_attach", 1, nattch(id));
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(p + PAGE, "from the child");
		_exit(nattch(id) == 2 ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("fork_inherits_the_attach_and_nattch_counts_it", 0, status);
	CHECK("the_child_s_store_is_seen_by_the_parent", strcmp(p + PAGE, "from the child") == 0);
	EXPECT_EQ("the_child_s_exit_detaches", 1, nattch(id));

	struct shmid_ds ds;
	EXPECT_EQ("ipc_stat_succeeds", 0, shmctl(id, IPC_STAT, &ds));
	EXPECT_EQ("ipc_stat_shows_the_size", 3 * PAGE, ds.shm_segsz);
	EXPECT_EQ("ipc_stat_shows_the_creator", getpid(), ds.shm_cpid);
	EXPECT_EQ("ipc_stat_shows_the_last_detacher", pid, ds.shm_lpid);
	EXPECT_EQ("ipc_stat_shows_the_mode", 0600, ds.shm_perm.mode & 0777);
	CHECK("ipc_stat_shows_attach_and_change_times", ds.shm_atime > 0 && ds.shm_ctime > 0);
	ds.shm_perm.mode = 0640;
	EXPECT_EQ("ipc_set_succeeds", 0, shmctl(id, IPC_SET, &ds));
	shmctl(id, IPC_STAT, &ds);
	EXPECT_EQ("ipc_set_changes_the_mode", 0640, ds.shm_perm.mode & 0777);

	char *q = shmat(id, 0, 0);
	EXPECT_EQ("a_second_attach_counts", 2, nattch(id));
	CHECK("a_second_attach_sees_the_same_bytes", q != (void *)-1 && strcmp(q + PAGE, "from the child") == 0);
	EXPECT_EQ("shmdt_of_the_second_attach_succeeds", 0, shmdt(q));
	EXPECT_EQ("shmdt_uncounts", 1, nattch(id));
	EXPECT_FAILS("shmdt_of_a_detached_address_is_einval", EINVAL, shmdt(q));
	EXPECT_FAILS("shmdt_inside_an_attach_is_einval", EINVAL, shmdt(p + PAGE));
	EXPECT_FAILS("shmdt_of_an_unaligned_address_is_einval", EINVAL, shmdt(p + 1));
	shmdt(p);
	shmctl(id, IPC_RMID, 0);
}

static void across_exec(const char *self)
{
	int id = shmget(IPC_PRIVATE, PAGE, 0600);
	char *p = shmat(id, 0, 0);
	int pipefd[2];
	pipe(pipefd);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[1]);
		char idtext[16];
		snprintf(idtext, sizeof idtext, "%d", id);
		char rfd[16];
		snprintf(rfd, sizeof rfd, "%d", pipefd[0]);
		char *argv[] = { (char *)self, "--wait", rfd, 0 };
		execv(self, argv);
		_exit(127);
	}
	close(pipefd[0]);
	/* The exec'd child waits on the pipe; by the time it can be seen
	 * in its new program, the old mm is gone. */
	long n = -1;
	for (int i = 0; i < 200 && n != 1; i++) {
		n = nattch(id);
		if (n != 1)
			usleep(10000);
	}
	EXPECT_EQ("execve_drops_the_inherited_attach", 1, n);
	close(pipefd[1]);
	waitpid(pid, 0, 0);
	EXPECT_EQ("the_parent_s_attach_stays", 1, nattch(id));
	shmdt(p);
	EXPECT_EQ("nattch_is_zero_after_the_last_detach", 0, nattch(id));
	shmctl(id, IPC_RMID, 0);
}

static void removal(void)
{
	key_t key = my_key(1);
	int id = shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600);
	CHECK("shmget_with_a_key_and_ipc_creat_makes_a_segment", id >= 0);
	EXPECT_EQ("shmget_finds_the_segment_by_its_key", id, shmget(key, PAGE, 0));
	EXPECT_EQ("shmget_finds_it_with_a_smaller_size", id, shmget(key, 10, 0));
	EXPECT_FAILS("shmget_with_a_larger_size_is_einval", EINVAL, shmget(key, 2 * PAGE, 0));
	EXPECT_FAILS("ipc_creat_ipc_excl_of_an_existing_key_is_eexist", EEXIST,
		     shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600));
	char *p = shmat(id, 0, 0);
	strcpy(p, "still here");
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		_exit(strcmp(p, "still here") == 0 ? 0 : 1);
	}
	EXPECT_EQ("ipc_rmid_of_an_attached_segment_succeeds", 0, shmctl(id, IPC_RMID, 0));
	struct shmid_ds ds;
	EXPECT_EQ("a_removed_segment_is_still_there_while_attached", 0, shmctl(id, IPC_STAT, &ds));
	CHECK("its_mode_shows_shm_dest", ds.shm_perm.mode & SHM_DEST);
	EXPECT_EQ("its_key_becomes_ipc_private", IPC_PRIVATE, ds.shm_perm.__key);
	EXPECT_FAILS("shmget_by_the_key_no_longer_finds_it", ENOENT, shmget(key, PAGE, 0));
	CHECK("the_attach_still_reads_the_bytes", strcmp(p, "still here") == 0);
	EXPECT_EQ("the_parent_s_detach_succeeds", 0, shmdt(p));
	EXPECT_EQ("the_segment_outlives_the_parent_s_detach", 1, nattch(id));
	int status = -1;
	waitpid(pid, &status, 0);
	EXPECT_EQ("the_child_still_sees_the_bytes", 0, status);
	EXPECT_FAILS("after_the_last_exit_the_stale_id_is_einval", EINVAL, shmctl(id, IPC_STAT, &ds));
	EXPECT_FAILS("shmat_of_a_stale_id_is_einval", EINVAL, (long)shmat(id, 0, 0));

	int id2 = shmget(IPC_PRIVATE, PAGE, 0600);
	CHECK("a_new_segment_gets_a_new_id", id2 >= 0 && id2 != id);
	shmctl(id2, IPC_RMID, 0);
	EXPECT_FAILS("an_unattached_segment_goes_at_ipc_rmid", EINVAL, shmctl(id2, IPC_STAT, &ds));
}

static sigjmp_buf segv_jump;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_jump, 1);
}

static void attach_flags(void)
{
	int id = shmget(IPC_PRIVATE, 2 * PAGE, 0600);
	char *p = shmat(id, 0, SHM_RDONLY);
	CHECK("shm_rdonly_attach_succeeds", p != (void *)-1);
	EXPECT_EQ("a_read_only_attach_reads", 0, p[0]);
	signal(SIGSEGV, on_segv);
	volatile int faulted = 0;
	if (sigsetjmp(segv_jump, 1) == 0)
		((volatile char *)p)[0] = 1;
	else
		faulted = 1;
	signal(SIGSEGV, SIG_DFL);
	CHECK("a_write_to_a_shm_rdonly_attach_gets_sigsegv", faulted);
	EXPECT_FAILS("mprotect_cannot_make_it_writable", EACCES, mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	shmdt(p);

	/* A free range: map, note, unmap. */
	char *spot = mmap(0, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_FAILS("shmat_over_a_mapping_without_shm_remap_is_einval", EINVAL, (long)shmat(id, spot, 0));
	munmap(spot, 4 * PAGE);
	EXPECT_FAILS("shmat_at_an_unaligned_address_is_einval", EINVAL, (long)shmat(id, spot + 1, 0));
	char *r = shmat(id, spot + 1, SHM_RND);
	EXPECT_EQ("shm_rnd_rounds_the_address_down", (long)spot, (long)r);
	strcpy(r, "rw");
	char *x = shmat(id, 0, SHM_EXEC);
	CHECK("shm_exec_attach_succeeds_and_sees_the_bytes", x != (void *)-1 && strcmp(x, "rw") == 0);
	EXPECT_EQ("two_attaches_counted", 2, nattch(id));
	shmdt(r);
	shmdt(x);
	shmctl(id, IPC_RMID, 0);
}

static void key_and_size_errors(void)
{
	EXPECT_FAILS("shmget_of_a_missing_key_is_enoent", ENOENT, shmget(my_key(2), PAGE, 0600));
	EXPECT_FAILS("size_zero_is_einval", EINVAL, shmget(IPC_PRIVATE, 0, 0600));
	EXPECT_FAILS("a_size_past_shmmax_is_einval", EINVAL, shmget(IPC_PRIVATE, (size_t)-1, 0600));
	EXPECT_FAILS("shmctl_of_a_negative_id_is_einval", EINVAL, shmctl(-1, IPC_STAT, 0));
	EXPECT_FAILS("shmctl_of_an_unknown_command_is_einval", EINVAL, shmctl(0, 999, 0));
	EXPECT_FAILS("shmat_of_a_negative_id_is_einval", EINVAL, (long)shmat(-1, 0, 0));
	char text[64];
	CHECK("proc_sys_kernel_shmmni_reads_4096",
	      read_text("/proc/sys/kernel/shmmni", text, sizeof text) > 0 && strcmp(text, "4096\n") == 0);
	CHECK("proc_sys_kernel_shmmax_is_linux_s_default",
	      read_text("/proc/sys/kernel/shmmax", text, sizeof text) > 0 &&
	      strcmp(text, "18446744073692774399\n") == 0);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--wait") == 0) {
		char c;
		read(atoi(argv[2]), &c, 1);
		return 0;
	}
	check_begin("sysv_shm");
	across_fork();
	across_exec(argv[0]);
	removal();
	attach_flags();
	key_and_size_errors();
	return check_end();
}
