/*
 * exec_hostile: execve's limits and byte-exactness as on Linux. Arguments
 * and environment are charged with their bytes and their pointers against
 * a quarter of RLIMIT_STACK (E2BIG past it, however many there are); they
 * are bytes, not UTF-8, and arrive unchanged, as does /proc/self/cmdline;
 * `#!` lines that name no interpreter, cut its name off or nest too deep
 * get ENOEXEC or ELOOP.
 *
 * The program is its own exec target: with EXEC_HOSTILE_CHILD in the
 * environment it writes its arguments and environment to the file named
 * there, then exits with the number after "exit" in argv[1], or checks
 * /proc/self/cmdline when argv[1] is "cmdline".
 */
#include "check.h"
#include "elf_image.h"

#include <sys/resource.h>
#include <sys/stat.h>

static char self[256], dir[64], out[128], script[128], child_env[160];

static void write_strings(int fd, char **strings)
{
	for (; *strings; strings++)
		if (write(fd, *strings, strlen(*strings) + 1) < 0)
			_exit(120);
}

static int child_main(int argc, char **argv, char **envp, const char *out_path)
{
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		char count[16];
		snprintf(count, sizeof count, "%d", argc);
		if (write(fd, count, strlen(count) + 1) < 0)
			_exit(121);
		write_strings(fd, argv);
		write_strings(fd, envp);
		close(fd);
	}
	if (argc > 1 && strncmp(argv[1], "exit", 4) == 0)
		return atoi(argv[1] + 4);
	if (argc > 1 && strcmp(argv[1], "cmdline") == 0) {
		char buf[4096], want[4096];
		size_t len = 0;
		for (int i = 0; i < argc; i++) {
			size_t n = strlen(argv[i]) + 1;
			if (len + n > sizeof want)
				return 3;
			memcpy(want + len, argv[i], n);
			len += n;
		}
		int cfd = open("/proc/self/cmdline", O_RDONLY);
		ssize_t got = cfd < 0 ? -1 : read(cfd, buf, sizeof buf);
		return got == (ssize_t)len && memcmp(buf, want, len) == 0 ? 0 : 1;
	}
	return 0;
}

/* What the last child wrote: argc, argv and envp, each NUL-terminated. */
static size_t child_wrote(char *buf, size_t size)
{
	int fd = open(out, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, size);
	close(fd);
	unlink(out);
	return n < 0 ? 0 : (size_t)n;
}

static struct run_result run(const char *path, char **argv, char **envp)
{
	unlink(out);
	return run_file(path, argv, envp, 30);
}

static char *env_child[] = { child_env, NULL };

static int exited(struct run_result r, int code)
{
	return r.exec_errno == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == code;
}

/* `n` arguments: "exit0" then empty strings. */
static char **empty_args(long n)
{
	char **argv = calloc(n + 1, sizeof *argv);
	if (argv == NULL)
		return NULL;
	argv[0] = "exit0";
	for (long i = 1; i < n; i++)
		argv[i] = "";
	return argv;
}

static struct run_result run_with_empty_args(long n)
{
	char **argv = empty_args(n);
	struct run_result r = { -1, -1 };
	if (argv != NULL)
		r = run(self, argv, env_child);
	free(argv);
	return r;
}

/*
 * Linux's bprm_stack_limits(): the strings (path, environment, arguments,
 * each with its NUL) and one pointer per string fit in a quarter of
 * RLIMIT_STACK (here 8 MiB: 2 MiB). The largest count that fits.
 */
static long largest_argc(void)
{
	long limit = (8L << 20) / 4;
	long fixed = strlen(self) + 1 + strlen(child_env) + 1 + strlen("exit0") + 1;
	/* n pointers and 1 env pointer, n - 1 empty strings of 1 byte */
	return (limit - fixed - 8 + 1) / 9;
}

static void argument_limits(void)
{
	struct rlimit stack = { 8L << 20, 8L << 20 };
	struct rlimit old;
	getrlimit(RLIMIT_STACK, &old);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < stack.rlim_max)
		stack.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_STACK, &stack);

	struct run_result r = run_with_empty_args(2000000);
	EXPECT_ERRNO("two_million_empty_arguments_give_e2big", E2BIG, r.exec_errno ? -1 : 0, r.exec_errno);
	r = run_with_empty_args(300000);
	EXPECT_ERRNO("three_hundred_thousand_empty_arguments_give_e2big", E2BIG, r.exec_errno ? -1 : 0, r.exec_errno);
	long n = largest_argc();
	CHECK("as_many_empty_arguments_as_the_stack_limit_allows_run", exited(run_with_empty_args(n), 0));
	r = run_with_empty_args(n + 1);
	EXPECT_ERRNO("one_argument_more_gives_e2big", E2BIG, r.exec_errno ? -1 : 0, r.exec_errno);

	char **argv = empty_args(2000000);
	if (argv != NULL) {
		r = run("/nonexistent/program", argv, env_child);
		EXPECT_ERRNO("a_missing_file_is_reported_before_the_argument_count", ENOENT,
			     r.exec_errno ? -1 : 0, r.exec_errno);
		free(argv);
	}

	char *big = malloc(32 * 4096 + 1);
	if (big != NULL) {
		memset(big, 'x', 32 * 4096);
		big[32 * 4096 - 1] = '\0';
		char *args[] = { "exit0", big, NULL };
		CHECK("an_argument_of_32_pages_with_its_nul_runs", exited(run(self, args, env_child), 0));
		big[32 * 4096 - 1] = 'x';
		big[32 * 4096] = '\0';
		r = run(self, args, env_child);
		EXPECT_ERRNO("an_argument_one_byte_longer_gives_e2big", E2BIG, r.exec_errno ? -1 : 0, r.exec_errno);
		free(big);
	}
	setrlimit(RLIMIT_STACK, &old);
}

static void bad_pointers(void)
{
	char *ok_argv[] = { "exit0", NULL };
	struct run_result p = run((char *)8, ok_argv, env_child);
	EXPECT_ERRNO("a_path_at_a_bad_address_gives_efault", EFAULT, p.exec_errno ? -1 : 0, p.exec_errno);
	p = run("", ok_argv, env_child);
	EXPECT_ERRNO("an_empty_path_gives_enoent", ENOENT, p.exec_errno ? -1 : 0, p.exec_errno);
	static char long_path[4097];
	memset(long_path, 'a', 4096);
	p = run(long_path, ok_argv, env_child);
	EXPECT_ERRNO("a_path_of_4096_bytes_gives_enametoolong", ENAMETOOLONG, p.exec_errno ? -1 : 0,
		     p.exec_errno);

	struct run_result r = run(self, (char **)1, env_child);
	EXPECT_ERRNO("an_argv_array_at_a_bad_address_gives_efault", EFAULT, r.exec_errno ? -1 : 0, r.exec_errno);
	char *args[] = { "exit0", (char *)0xffff800000000000UL, NULL };
	r = run(self, args, env_child);
	EXPECT_ERRNO("an_argument_in_the_kernel_half_gives_efault", EFAULT, r.exec_errno ? -1 : 0, r.exec_errno);
	char *envs[] = { child_env, (char *)8, NULL };
	char *ok_args[] = { "exit0", NULL };
	r = run(self, ok_args, envs);
	EXPECT_ERRNO("an_environment_string_at_a_bad_address_gives_efault", EFAULT, r.exec_errno ? -1 : 0, r.exec_errno);
}

static void bytes_not_text(void)
{
	char *args[] = { "exit0", "\xff\xfe", "a\x80z", "", NULL };
	char *envs[] = { child_env, "LATIN1=caf\xe9", NULL };
	struct run_result r = run(self, args, envs);
	char got[512];
	size_t n = child_wrote(got, sizeof got);
	static const char want[] = "4\0exit0\0\xff\xfe\0a\x80z\0\0";
	CHECK("arguments_that_are_not_utf8_exec", exited(r, 0));
	CHECK("arguments_that_are_not_utf8_arrive_unchanged",
	      n > sizeof want - 1 && memcmp(got, want, sizeof want - 1) == 0);
	CHECK("an_environment_that_is_not_utf8_arrives_unchanged",
	      n >= 12 && memcmp(got + n - 12, "LATIN1=caf\xe9", 12) == 0);
	char *cmd[] = { self, "cmdline", "\xff", "two words", "", NULL };
	CHECK("proc_self_cmdline_gives_the_argument_bytes_back", exited(run(self, cmd, env_child), 0));

	char odd[160], text[300];
	snprintf(odd, sizeof odd, "%s/name\xff\xfe", dir);
	int len = snprintf(text, sizeof text, "#!%s exit7\n", self);
	write_exec_file(odd, text, len);
	char *odd_args[] = { odd, NULL };
	CHECK("a_file_whose_name_is_not_utf8_execs", exited(run(odd, odd_args, env_child), 7));
	unlink(odd);

	r = run(self, NULL, env_child);
	n = child_wrote(got, sizeof got);
	CHECK("an_empty_argv_arrives_as_one_empty_argument",
	      exited(r, 0) && n >= 3 && memcmp(got, "1\0\0", 3) == 0);
}

static struct run_result run_script(const char *text, size_t len)
{
	write_exec_file(script, text, len);
	char *args[] = { script, "arg1", NULL };
	return run(script, args, env_child);
}

static void scripts(void)
{
	char text[600];
	struct run_result r = run_script("#!\n", 3);
	EXPECT_ERRNO("a_hashbang_line_with_no_interpreter_gives_enoexec", ENOEXEC, r.exec_errno ? -1 : 0, r.exec_errno);
	r = run_script("#!  \t  \n", 8);
	EXPECT_ERRNO("a_hashbang_line_of_blanks_gives_enoexec", ENOEXEC, r.exec_errno ? -1 : 0, r.exec_errno);
	r = run_script("#!", 2);
	EXPECT_ERRNO("a_bare_hashbang_names_the_directory_and_gives_eacces", EACCES,
		     r.exec_errno ? -1 : 0, r.exec_errno);
	r = run_script("#!/nonexistent/interpreter\n", 27);
	EXPECT_ERRNO("a_missing_interpreter_gives_enoent", ENOENT, r.exec_errno ? -1 : 0, r.exec_errno);
	r = run_script("#!/\n", 4);
	EXPECT_ERRNO("a_directory_as_interpreter_gives_eacces", EACCES, r.exec_errno ? -1 : 0, r.exec_errno);

	int len = snprintf(text, sizeof text, "#! \t%s \t exit3 a\tb  \t\n", self);
	r = run_script(text, len);
	char got[1024], want[1024];
	size_t n = child_wrote(got, sizeof got);
	int wlen = snprintf(want, sizeof want, "4%c%s%cexit3 a\tb%c%s%carg1", 0, self, 0, 0, script, 0);
	CHECK("blanks_around_the_interpreter_and_its_argument_are_dropped", exited(r, 3));
	CHECK("the_interpreter_gets_its_one_argument_the_script_and_the_rest",
	      n > (size_t)wlen && memcmp(got, want, wlen + 1) == 0);

	len = snprintf(text, sizeof text, "#!%s exit4", self);
	CHECK("a_hashbang_line_without_a_newline_runs", exited(run_script(text, len), 4));

	memset(text, '/', sizeof text);
	memcpy(text, "#!", 2);
	text[300] = '\n';
	r = run_script(text, 301);
	EXPECT_ERRNO("an_interpreter_name_cut_off_at_256_bytes_gives_enoexec", ENOEXEC,
		     r.exec_errno ? -1 : 0, r.exec_errno);
	len = snprintf(text, sizeof text, "#!%s exit5 ", self);
	memset(text + len, 'y', 300);
	text[len + 300] = '\n';
	CHECK("an_argument_cut_off_at_256_bytes_still_runs", exited(run_script(text, len + 301), 5));

	/* Scripts whose interpreter is the previous script, the last one
	 * naming this program. */
	char prev[256];
	snprintf(prev, sizeof prev, "%s", self);
	for (int depth = 1; depth <= 6; depth++) {
		char name[128];
		snprintf(name, sizeof name, "%s/nested%d", dir, depth);
		len = snprintf(text, sizeof text, "#!%s%s\n", prev, depth == 1 ? " exit6" : "");
		write_exec_file(name, text, len);
		snprintf(prev, sizeof prev, "%s", name);
		char *args[] = { name, NULL };
		r = run(name, args, env_child);
		if (depth == 5)
			CHECK("five_nested_scripts_run", exited(r, 6));
		if (depth == 6)
			EXPECT_ERRNO("six_nested_scripts_give_eloop", ELOOP, r.exec_errno ? -1 : 0, r.exec_errno);
	}
	for (int depth = 1; depth <= 6; depth++) {
		char name[128];
		snprintf(name, sizeof name, "%s/nested%d", dir, depth);
		unlink(name);
	}
}

int main(int argc, char **argv, char **envp)
{
	const char *out_path = getenv("EXEC_HOSTILE_CHILD");
	if (out_path != NULL)
		return child_main(argc, argv, envp, out_path);
	check_begin("exec_hostile");
	if (argv[0][0] == '/')
		snprintf(self, sizeof self, "%s", argv[0]);
	else
		snprintf(self, sizeof self, "/bin/exec_hostile");
	snprintf(dir, sizeof dir, "/tmp/exec_hostile.%d", getpid());
	if (mkdir(dir, 0700) != 0) {
		check_fail("a_temporary_directory_is_made", "mkdir %s: %s", dir, strerror(errno));
		return check_end();
	}
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(script, sizeof script, "%s/script", dir);
	snprintf(child_env, sizeof child_env, "EXEC_HOSTILE_CHILD=%s", out);
	argument_limits();
	bad_pointers();
	bytes_not_text();
	scripts();
	unlink(out);
	unlink(script);
	rmdir(dir);
	return check_end();
}
