/* /proc/self/maps names file mappings as Linux does: `offset dev inode
 * path` of the mapped file, and the program's own text with its path. */
#include "check.h"
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define PAGE 4096L

static char maps[65536];

/* The maps line that starts at `addr`, or NULL. */
static char *line_at(unsigned long addr)
{
	char want[32];
	int n = snprintf(want, sizeof want, "%08lx-", addr);
	for (char *l = maps; *l; l = strchr(l, '\n') + 1) {
		if (!strncmp(l, want, n))
			return l;
		if (!strchr(l, '\n'))
			break;
	}
	return NULL;
}

/* Parses one line into its fields; 1 on success. */
static int fields(const char *l, char perms[5], unsigned long *off,
		  unsigned *maj, unsigned *min, unsigned long *ino, char *path)
{
	path[0] = 0;
	int n = sscanf(l, "%*x-%*x %4s %lx %x:%x %lu %255[^\n]", perms, off,
		       maj, min, ino, path);
	return n >= 5;
}

int main(int argc, char **argv)
{
	(void)argc;
	check_begin("maps_paths");
	char dir[64], path[96];
	if (!scratch_dir(dir, sizeof dir, "maps_paths")) {
		check_fail("setup", "mkdtemp failed");
		return check_end();
	}
	snprintf(path, sizeof path, "%s/mapped", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct stat st;
	char *map = MAP_FAILED;
	if (fd >= 0 && ftruncate(fd, 3 * PAGE) == 0 && fstat(fd, &st) == 0)
		map = mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 2 * PAGE);
	if (map == MAP_FAILED) {
		check_fail("setup", "open/mmap failed");
		return check_end();
	}
	CHECK("maps_is_readable", read_text("/proc/self/maps", maps, sizeof maps) > 0);

	char perms[5], name[256];
	unsigned long off = 0, ino = 0;
	unsigned maj = 0, min = 0;
	char *l = line_at((unsigned long)map);
	CHECK("the_mapping_has_a_line", l != NULL);
	if (l && fields(l, perms, &off, &maj, &min, &ino, name)) {
		EXPECT_EQ("its_offset_is_the_mmap_offset", 2 * PAGE, off);
		EXPECT_EQ("its_inode_is_the_file_s", st.st_ino, ino);
		EXPECT_EQ("its_device_major_is_the_file_s", major(st.st_dev), maj);
		EXPECT_EQ("its_device_minor_is_the_file_s", minor(st.st_dev), min);
		CHECK("its_path_is_the_file_s", !strcmp(name, path));
		CHECK("it_is_read_only_and_shared", !strcmp(perms, "r--s"));
	}

	/* The program's text: an executable line naming the program. */
	struct stat self;
	int found = 0;
	if (argv[0][0] == '/' && stat(argv[0], &self) == 0) {
		for (char *p = maps; *p; p = strchr(p, '\n') + 1) {
			if (fields(p, perms, &off, &maj, &min, &ino, name) &&
			    perms[2] == 'x' && !strcmp(name, argv[0]) &&
			    ino == self.st_ino)
				found = 1;
			if (!strchr(p, '\n'))
				break;
		}
		CHECK("the_program_s_text_shows_its_path_and_inode", found);
	} else {
		check_skip("the_program_s_text_shows_its_path_and_inode",
			   "run by a relative name");
	}

	munmap(map, PAGE);
	close(fd);
	scratch_remove(dir);
	return check_end();
}
