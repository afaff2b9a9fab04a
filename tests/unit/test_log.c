/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of log.c's recent-events ring (log_recent): only warnings and
 * errors are kept, oldest first, at most LOG_RECENT_EVENTS with the oldest
 * overwritten, long texts cut, and a reader copying while four threads log
 * always sees whole events in sequence.
 *
 * Threads: the main thread, and four writers in test_threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

/* The lines themselves go to /dev/null while a test runs (only the ring
 * is under test); cmocka's own report needs stderr back after it. */
static int saved_stderr = -1;

static int
quiet(void **state)
{
	int fd = open("/dev/null", O_WRONLY);

	(void)state;
	saved_stderr = dup(STDERR_FILENO);
	if (fd < 0 || saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	close(fd);
	log_configure(LOG_LEVEL_DEBUG, LOG_TARGET_STDERR);
	log_recent_clear();
	return 0;
}

static void
test_levels_and_order(void **state)
{
	struct log_event ev[8];
	uint64_t total = 99;
	size_t n;

	(void)state;
	assert_int_equal(log_recent(ev, 8, &total), 0);
	assert_int_equal(total, 0);
	log_info("test", "an info line");
	log_debug("test", "a debug line");
	log_warn("out[main]", "first warning %d", 1);
	log_err("test", "an error");
	log_info("test", "another info line");
	n = log_recent(ev, 8, &total);
	assert_int_equal(n, 2);
	assert_int_equal(total, 2);
	assert_int_equal(ev[0].level, LOG_LEVEL_WARN);
	assert_string_equal(ev[0].mod, "out[main]");
	assert_string_equal(ev[0].text, "first warning 1");
	assert_int_equal(ev[0].seq, 1);
	assert_true(ev[0].wall_ns > 0);
	assert_int_equal(ev[1].level, LOG_LEVEL_ERROR);
	assert_string_equal(ev[1].text, "an error");
	assert_int_equal(ev[1].seq, 2);
	/* max smaller than what is kept: the newest ones. */
	n = log_recent(ev, 1, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].text, "an error");
}

static void
test_wraps_and_cuts(void **state)
{
	static struct log_event ev[LOG_RECENT_EVENTS + 10];
	char expect[64], big[LOG_RECENT_TEXT + 500];
	uint64_t total;
	size_t n, i;

	(void)state;
	for (i = 1; i <= LOG_RECENT_EVENTS + 50; i++)
		log_warn("test", "warning number %zu", i);
	n = log_recent(ev, sizeof(ev) / sizeof(ev[0]), &total);
	assert_int_equal(n, LOG_RECENT_EVENTS);
	assert_int_equal(total, LOG_RECENT_EVENTS + 50);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].seq, 51 + i);
		snprintf(expect, sizeof(expect), "warning number %zu", 51 + i);
		assert_string_equal(ev[i].text, expect);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_err("test", "%s", big);
	n = log_recent(ev, 1, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(ev[0].text), LOG_RECENT_TEXT - 1);
	assert_string_equal(ev[0].text + LOG_RECENT_TEXT - 4, "...");
}

/* A long warning (the length of relay's longest, ~600 bytes) is kept
 * whole; one longer than the ring's text is cut after a word, with "...",
 * never mid-word. */
static void
test_long_warning(void **state)
{
	struct log_event ev[1];
	char text[1600];
	size_t i, n;

	(void)state;
	text[0] = '\0';
	for (i = 0; strlen(text) < 600; i++)
		strcat(text, i == 0 ? "word0" : " wordy");
	log_warn("test", "%s (docs/operations.md)", text);
	n = log_recent(ev, 1, NULL);
	assert_int_equal(n, 1);
	assert_non_null(strstr(ev[0].text, "(docs/operations.md)"));
	while (strlen(text) < 1500)
		strcat(text, " wordy");
	log_warn("test", "%s", text);
	n = log_recent(ev, 1, NULL);
	assert_int_equal(n, 1);
	n = strlen(ev[0].text);
	assert_true(n < LOG_RECENT_TEXT && n > LOG_RECENT_TEXT / 2);
	assert_string_equal(ev[0].text + n - 9, " wordy...");
}

/* Text no caller escaped reaches neither stderr nor the ring with a raw
 * control byte or broken UTF-8 (a Latin-1 file name, a client's bytes):
 * journald kept such a line as a blob journalctl does not show, and a
 * newline forged a line. Escapes already in the text stay as they are. */
static void
test_raw_bytes_escaped(void **state)
{
	struct log_event ev[1];

	(void)state;
	log_warn("test", "caf\xe9.wav: %s; %s", "a\nwarn forged: b\x7f",
	    "\xff\xfe<b>\xc3 ok: \xc3\xa9 \\x41");
	assert_int_equal(log_recent(ev, 1, NULL), 1);
	assert_string_equal(ev[0].text,
	    "caf\\xe9.wav: a\\x0awarn forged: b\\x7f; "
	    "\\xff\\xfe<b>\\xc3 ok: \xc3\xa9 \\x41");
}

#define WRITERS 4
#define PER_WRITER 2000

static void *
writer(void *arg)
{
	int id = (int)(intptr_t)arg, i;

	for (i = 0; i < PER_WRITER; i++)
		log_warn("test", "writer %d line %d", id, i);
	return NULL;
}

static void
test_threads(void **state)
{
	static struct log_event ev[LOG_RECENT_EVENTS];
	pthread_t t[WRITERS];
	uint64_t total = 0;
	size_t n, i, rounds = 0;
	int k;

	(void)state;
	for (k = 0; k < WRITERS; k++)
		assert_int_equal(
		    pthread_create(&t[k], NULL, writer, (void *)(intptr_t)k),
		    0);
	while (total < (uint64_t)WRITERS * PER_WRITER) {
		n = log_recent(ev, LOG_RECENT_EVENTS, &total);
		/* A copy is consistent: consecutive numbers ending at the
		 * total, every text whole. */
		for (i = 0; i < n; i++) {
			assert_int_equal(ev[i].seq, total - n + 1 + i);
			assert_memory_equal(ev[i].text, "writer ", 7);
			assert_non_null(strstr(ev[i].text, " line "));
		}
		rounds++;
	}
	for (k = 0; k < WRITERS; k++)
		pthread_join(t[k], NULL);
	assert_int_equal(total, (uint64_t)WRITERS * PER_WRITER);
	assert_true(rounds > 0);
}

static int
loud(void **state)
{
	(void)state;
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_levels_and_order, quiet, loud),
	    cmocka_unit_test_setup_teardown(test_wraps_and_cuts, quiet, loud),
	    cmocka_unit_test_setup_teardown(test_long_warning, quiet, loud),
	    cmocka_unit_test_setup_teardown(
		test_raw_bytes_escaped, quiet, loud),
	    cmocka_unit_test_setup_teardown(test_threads, quiet, loud),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
