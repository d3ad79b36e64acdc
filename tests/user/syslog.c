/*
 * syslog: the kernel log read back as dmesg reads it. syslog(2) tells the
 * buffer's size, READ_ALL gives the records as "<pri>[seconds] text" lines
 * (the boot banner first while nothing has been overwritten), READ hands
 * a long record out in pieces, and the errors are Linux's; /dev/kmsg gives
 * one record per read as "pri,seq,usec,flags;text" and takes messages.
 * Run as root (klogctl needs CAP_SYSLOG on Linux). On a shared host the
 * program holds a lock file while it runs: `make test` runs it on the host
 * for two boots at once, and each run's READ consumes the other's records
 * (one then blocks, or reads the other's message in place of its own).
 * Each message ends in a newline, as a logger's line does: Linux keeps a
 * record without one open for a continuation, and READ_ALL shows it only
 * once another record follows (on a quiet host, never).
 */
#define _GNU_SOURCE
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

#define SYSLOG_ACTION_READ 2
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_CONSOLE_LEVEL 8
#define SYSLOG_ACTION_SIZE_UNREAD 9
#define SYSLOG_ACTION_SIZE_BUFFER 10

static const char MARKER[] = "syslog test: a message written to /dev/kmsg";

/* The first /dev/kmsg record, parsed; returns its sequence number or -1. */
static long long first_kmsg_record(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	CHECK("dev_kmsg_opens_for_reading", fd >= 0);
	char tiny[4];
	EXPECT_FAILS("a_kmsg_read_into_a_buffer_smaller_than_the_record_fails_with_einval",
		     EINVAL, read(fd, tiny, sizeof tiny));
	char rec[8192];
	ssize_t n = read(fd, rec, sizeof rec - 1);
	CHECK("a_kmsg_read_gives_one_record", n > 0);
	if (n <= 0) {
		close(fd);
		return -1;
	}
	rec[n] = 0;
	unsigned pri;
	unsigned long long seq, usec;
	char flag, semi;
	int fields = sscanf(rec, "%u,%llu,%llu,%c%c", &pri, &seq, &usec, &flag, &semi);
	CHECK("the_kmsg_record_reads_pri_seq_usec_flags_then_the_text",
	      fields == 5 && (flag == '-' || flag == 'c') && semi == ';' && pri < 1024);
	CHECK("the_kmsg_record_is_one_line", rec[n - 1] == '\n' && strchr(rec, '\n') == rec + n - 1);
	close(fd);
	return fields == 5 ? (long long)seq : -1;
}

int main(void)
{
	check_begin("syslog");
	if (!on_lifecycle()) {
		int lock = open("/tmp/lifecycle-syslog-test.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0 || flock(lock, LOCK_EX) != 0)
			say("    note: no lock file, another run may interfere\n");
	}
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, 0, 0);
	CHECK("size_buffer_gives_the_log_buffer_size", size > 0);
	if (size <= 0)
		return check_end();
	long long first_seq = first_kmsg_record();

	int kmsg = open("/dev/kmsg", O_WRONLY);
	EXPECT_EQ("a_kmsg_write_logs_the_message", (long)strlen(MARKER) + 4,
		  dprintf(kmsg, "<5>%s\n", MARKER));
	close(kmsg);

	char *all = calloc(1, size * 2 + 1);
	int n = klogctl(SYSLOG_ACTION_READ_ALL, all, size * 2);
	CHECK("read_all_gives_the_log", n > 0 && n <= size * 2);
	all[n > 0 ? n : 0] = 0;
	unsigned pri;
	unsigned long sec, usec;
	CHECK("read_all_lines_read_pri_then_the_time",
	      sscanf(all, "<%u>[%lu.%lu] ", &pri, &sec, &usec) == 3);
	if (first_seq == 0)
		CHECK("read_all_starts_with_the_boot_banner",
		      strstr(all, "] Linux version ") || strstr(all, "] Booting lifecycle "));
	else
		check_skip("read_all_starts_with_the_boot_banner", "the log has wrapped");
	char *mine = strstr(all, MARKER);
	char *line = mine;
	while (line && line > all && line[-1] != '\n')
		line--;
	if (!line || strncmp(line, "<13>[", 5) != 0)
		say("    READ_ALL gave %d bytes; the message's line: %.60s\n", n,
		    line ? line : "(not found)");
	CHECK("read_all_has_the_kmsg_message_as_a_user_notice",
	      line && strncmp(line, "<13>[", 5) == 0);

	/* Consume what is unread (ending any piece an earlier reader left),
	 * log one more message, and read it in a piece and then the rest. */
	CHECK("read_consumes_the_unread_records", klogctl(SYSLOG_ACTION_READ, all, size * 2) > 0);
	kmsg = open("/dev/kmsg", O_WRONLY);
	dprintf(kmsg, "<5>%s\n", MARKER);
	close(kmsg);
	char piece[16];
	EXPECT_EQ("read_gives_a_long_record_in_pieces", (long)sizeof piece,
		  klogctl(SYSLOG_ACTION_READ, piece, sizeof piece));
	CHECK("the_first_piece_starts_the_record", piece[0] == '<');
	n = klogctl(SYSLOG_ACTION_READ, all, size * 2);
	CHECK("the_next_read_gives_the_rest_of_the_record",
	      n > (int)strlen(MARKER) && all[n - 1] == '\n' &&
	      memcmp(all + n - 1 - strlen(MARKER), MARKER, strlen(MARKER)) == 0);
	CHECK("size_unread_answers", klogctl(SYSLOG_ACTION_SIZE_UNREAD, 0, 0) >= 0);

	EXPECT_FAILS("read_all_into_null_fails_with_einval", EINVAL,
		     klogctl(SYSLOG_ACTION_READ_ALL, 0, 10));
	EXPECT_FAILS("read_all_with_a_negative_length_fails_with_einval", EINVAL,
		     klogctl(SYSLOG_ACTION_READ_ALL, all, -1));
	EXPECT_EQ("read_all_of_zero_bytes_gives_zero", 0, klogctl(SYSLOG_ACTION_READ_ALL, all, 0));
	EXPECT_FAILS("console_level_0_fails_with_einval", EINVAL,
		     klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, 0, 0));
	EXPECT_FAILS("console_level_9_fails_with_einval", EINVAL,
		     klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, 0, 9));
	EXPECT_FAILS("an_unknown_action_fails_with_einval", EINVAL, klogctl(11, 0, 0));
	free(all);
	return check_end();
}
