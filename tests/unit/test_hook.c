/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for hook.c: splitting a command into words without a shell
 * (blanks, '...', "..." with \" and \\, backslashes outside quotes, empty
 * quoted words, errors), and the runner: a hook sees its environment, a
 * hook that hangs is killed at its timeout without blocking the caller,
 * and only one runs at a time (the next waits in the queue).
 *
 * Threads: the test thread and the runner's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hook.h"
#include "test_tmpdir.h"
#include "util.h"

static int
split(const char *cmd, char *argv[HOOK_MAX_ARGS + 1], char *buf, size_t len,
    char *err)
{
	int argc = -1;
	int rc = hook_split(cmd, buf, len, argv, &argc, err, 256);

	return rc < 0 ? rc : argc;
}

static void
test_split_words_and_quotes(void **state)
{
	char buf[512], err[256], *argv[HOOK_MAX_ARGS + 1];

	(void)state;
	assert_int_equal(
	    split("  /bin/echo  a\tb  ", argv, buf, sizeof(buf), err), 3);
	assert_string_equal(argv[0], "/bin/echo");
	assert_string_equal(argv[1], "a");
	assert_string_equal(argv[2], "b");
	assert_null(argv[3]);

	assert_int_equal(split("cmd 'a b' \"c \\\"d\\\" \\\\\" e\\ f '' x'y'z",
			     argv, buf, sizeof(buf), err),
	    6);
	assert_string_equal(argv[1], "a b");
	assert_string_equal(argv[2], "c \"d\" \\");
	assert_string_equal(argv[3], "e f");
	assert_string_equal(argv[4], "");
	assert_string_equal(argv[5], "xyz");

	/* No shell: $, |, ; and * are plain characters. */
	assert_int_equal(
	    split("notify $HOME | x; *", argv, buf, sizeof(buf), err), 5);
	assert_string_equal(argv[1], "$HOME");
	assert_string_equal(argv[2], "|");
	assert_string_equal(argv[3], "x;");
	/* Backslash inside single quotes is literal. */
	assert_int_equal(split("a '\\n'", argv, buf, sizeof(buf), err), 2);
	assert_string_equal(argv[1], "\\n");
}

static void
test_split_errors(void **state)
{
	char buf[64], err[256], *argv[HOOK_MAX_ARGS + 1];
	char many[HOOK_MAX_ARGS * 2 + 8];
	char big[4096];
	int i;

	(void)state;
	assert_int_equal(split("a 'b", argv, big, sizeof(big), err), -EINVAL);
	assert_non_null(strstr(err, "unterminated ' quote"));
	assert_int_equal(split("a \"b", argv, big, sizeof(big), err), -EINVAL);
	assert_non_null(strstr(err, "unterminated \" quote"));
	assert_int_equal(split("a b\\", argv, big, sizeof(big), err), -EINVAL);
	assert_non_null(strstr(err, "backslash"));
	assert_int_equal(split("   ", argv, big, sizeof(big), err), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	for (i = 0; i <= HOOK_MAX_ARGS; i++) {
		many[2 * i] = 'x';
		many[2 * i + 1] = ' ';
	}
	many[2 * (HOOK_MAX_ARGS + 1)] = '\0';
	assert_int_equal(split(many, argv, big, sizeof(big), err), -EINVAL);
	assert_non_null(strstr(err, "more than"));
	memset(big, 'y', 200);
	big[200] = '\0';
	assert_int_equal(split(big, argv, buf, sizeof(buf), err), -ENOSPC);
}

/* Waits up to 5 s for path to hold at least n lines. */
static int
wait_lines(const char *path, int n)
{
	int i;

	for (i = 0; i < 500; i++) {
		FILE *fp = fopen(path, "r");
		int lines = 0, c;

		if (fp != NULL) {
			while ((c = fgetc(fp)) != EOF)
				lines += c == '\n';
			fclose(fp);
		}
		if (lines >= n)
			return lines;
		util_sleep_ns(10 * NS_PER_MS);
	}
	return -1;
}

static void
test_runner_env_timeout_one_at_a_time(void **state)
{
	char dir[256], out[300], cmd[1024], line[512];
	const char *env[] = {"RELAY_EVENT=dead_air", "RELAY_REASON=a b"};
	struct hook_runner *r;
	int64_t t0;
	FILE *fp;

	(void)state;
	test_tmpdir_template(dir, sizeof(dir), "test_hook");
	assert_non_null(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	r = hook_runner_new();
	assert_non_null(r);
	/* The first hangs after writing; the second must wait for its
	 * kill (one at a time), then run. */
	snprintf(cmd, sizeof(cmd),
	    "/bin/sh -c 'echo \"1 $RELAY_EVENT $RELAY_REASON\" >>%s; "
	    "sleep 30'",
	    out);
	t0 = util_now_mono_ns();
	assert_int_equal(
	    hook_runner_run(r, "test", cmd, env, 2, 300 * NS_PER_MS), 0);
	snprintf(
	    cmd, sizeof(cmd), "/bin/sh -c 'echo \"2 $RELAY_EVENT\" >>%s'", out);
	assert_int_equal(
	    hook_runner_run(r, "test", cmd, env, 1, NS_PER_SEC), 0);
	/* Queuing returned at once. */
	assert_true(util_now_mono_ns() - t0 < 100 * NS_PER_MS);
	assert_int_equal(wait_lines(out, 2), 2);
	/* The second ran only after the first's timeout. */
	assert_true(util_now_mono_ns() - t0 >= 300 * NS_PER_MS);
	fp = fopen(out, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_string_equal(line, "1 dead_air a b\n");
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_string_equal(line, "2 dead_air\n");
	fclose(fp);
	/* A full queue skips. */
	snprintf(cmd, sizeof(cmd), "/bin/sleep 30");
	assert_int_equal(hook_runner_run(r, "t", cmd, NULL, 0, NS_PER_SEC), 0);
	util_sleep_ns(100 * NS_PER_MS); /* the runner took it */
	for (int i = 0; i < HOOK_QUEUE_MAX; i++)
		assert_int_equal(
		    hook_runner_run(r, "t", cmd, NULL, 0, NS_PER_SEC), 0);
	assert_int_equal(
	    hook_runner_run(r, "t", cmd, NULL, 0, NS_PER_SEC), -EBUSY);
	assert_int_equal(
	    hook_runner_run(r, "t", "a 'b", NULL, 0, NS_PER_SEC), -EINVAL);
	/* Freeing kills the running one at once. */
	t0 = util_now_mono_ns();
	hook_runner_free(r);
	assert_true(util_now_mono_ns() - t0 < 500 * NS_PER_MS);
	assert_int_equal(unlink(out), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_words_and_quotes),
	    cmocka_unit_test(test_split_errors),
	    cmocka_unit_test(test_runner_env_timeout_one_at_a_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
