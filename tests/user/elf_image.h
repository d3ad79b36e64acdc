/*
 * elf_image.h: builds small ELF executables in memory and runs files in a
 * forked child, for elf_hostile and elf_fuzz.
 *
 * The image is one ET_EXEC file of ELF_IMAGE_SIZE bytes: the ELF header,
 * its program headers right after it, and at ELF_CODE_OFF a few
 * instructions that call exit(42). Its first PT_LOAD maps the whole file
 * read+execute at ELF_BASE; callers then break what they want.
 */
#ifndef ELF_IMAGE_H
#define ELF_IMAGE_H

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ELF_IMAGE_SIZE 0x200
#define ELF_CODE_OFF 0x180
#define ELF_BASE 0x400000UL
#define ELF_MAX_PHDRS 4

struct elf_image {
	union {
		unsigned char bytes[ELF_IMAGE_SIZE];
		struct {
			Elf64_Ehdr ehdr;
			Elf64_Phdr phdr[ELF_MAX_PHDRS];
		};
	};
	size_t size;
};

/* mov edi, 42; mov eax, 60 (exit); syscall */
static const unsigned char elf_exit42[] = { 0xbf, 42, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05 };

/* A valid image with `phnum` program headers; the first is the PT_LOAD
 * described above, the others are PT_NULL until the caller fills them. */
static inline void elf_image_init(struct elf_image *img, int phnum)
{
	memset(img, 0, sizeof *img);
	Elf64_Ehdr *e = &img->ehdr;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = ELF_BASE + ELF_CODE_OFF;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = phnum;
	Elf64_Phdr *p = &img->phdr[0];
	p->p_type = PT_LOAD;
	p->p_flags = PF_R | PF_X;
	p->p_offset = 0;
	p->p_vaddr = p->p_paddr = ELF_BASE;
	p->p_filesz = p->p_memsz = ELF_IMAGE_SIZE;
	p->p_align = 0x1000;
	memcpy(img->bytes + ELF_CODE_OFF, elf_exit42, sizeof elf_exit42);
	img->size = ELF_IMAGE_SIZE;
}

/* Writes `len` bytes to a new executable file `path`; 0 on success. */
static inline int write_exec_file(const char *path, const void *data, size_t len)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0)
		return -1;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= n;
	}
	return close(fd);
}

/*
 * How a run ended: the errno of a failed execve (exec_errno != 0), or the
 * wait status of the child the program ran in. The child has `timeout_s`
 * seconds (an alarm that survives exec) before it is killed.
 */
struct run_result {
	int exec_errno;
	int status;
};

static inline struct run_result run_file(const char *path, char *const argv[],
					 char *const envp[], unsigned timeout_s)
{
	struct run_result r = { 0, -1 };
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		r.exec_errno = -1;
		return r;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		alarm(timeout_s);
		execve(path, argv, envp);
		int e = errno;
		if (write(fds[1], &e, sizeof e) != sizeof e)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	int e = 0;
	if (pid > 0 && read(fds[0], &e, sizeof e) == sizeof e)
		r.exec_errno = e;
	close(fds[0]);
	/* The alarm, and a kill in case the kernel has no alarm(). */
	for (long waited = 0; pid > 0; waited++) {
		pid_t got = waitpid(pid, &r.status, WNOHANG);
		if (got == pid || (got < 0 && errno != EINTR))
			break;
		if (waited == timeout_s * 1000L + 1000)
			kill(pid, SIGKILL);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return r;
}

/* Writes the image and runs it without arguments. */
static inline struct run_result run_image(const char *path, const struct elf_image *img)
{
	char *argv[] = { (char *)path, NULL };
	char *envp[] = { NULL };
	if (write_exec_file(path, img->bytes, img->size) != 0) {
		struct run_result r = { -1, -1 };
		return r;
	}
	return run_file(path, argv, envp, 5);
}

#endif
