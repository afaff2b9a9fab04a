/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of strbuf.c: appends of each kind, growth past the first
 * allocation, the hard cap (a failure sticks and strbuf_take reports it
 * once), writing into reserved room, and take on an empty buffer.
 *
 * Threads: the main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"

static void
test_appends(void **state)
{
	struct strbuf sb = {0};
	char *text;

	(void)state;
	strbuf_puts(&sb, "a<b");
	strbuf_add(&sb, "xyz", 2); /* not terminated: only n bytes */
	strbuf_printf(&sb, " %d %s|", 42, "ok");
	assert_int_equal(sb.len, strlen("a<bxy 42 ok|"));
	text = strbuf_take(&sb);
	assert_string_equal(text, "a<bxy 42 ok|");
	free(text);
	/* take leaves the buffer empty and reusable. */
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	strbuf_puts(&sb, "again");
	text = strbuf_take(&sb);
	assert_string_equal(text, "again");
	free(text);
}

static void
test_empty(void **state)
{
	struct strbuf sb = {0};
	char *text;

	(void)state;
	/* Nothing added is an empty text, not a failure. */
	text = strbuf_take(&sb);
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);
}

static void
test_growth(void **state)
{
	struct strbuf sb = {0};
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < 5000; i++)
		strbuf_printf(&sb, "%zu,", i % 10);
	assert_int_equal(sb.len, 10000);
	assert_true(sb.cap > sb.len);
	text = strbuf_take(&sb);
	assert_non_null(text);
	assert_int_equal(strlen(text), 10000);
	assert_memory_equal(text + 9990, "5,6,7,8,9,", 10);
	free(text);
}

static void
test_reserve(void **state)
{
	struct strbuf sb = {0};
	char *text;

	(void)state;
	strbuf_puts(&sb, "n=");
	assert_true(strbuf_reserve(&sb, 3));
	memcpy(sb.data + sb.len, "123", 4);
	sb.len += 3;
	text = strbuf_take(&sb);
	assert_string_equal(text, "n=123");
	free(text);
}

static void
test_cap(void **state)
{
	struct strbuf sb = {0};
	char *big;

	(void)state;
	big = malloc(STRBUF_MAX_BYTES);
	assert_non_null(big);
	memset(big, 'x', STRBUF_MAX_BYTES);
	strbuf_add(&sb, big, STRBUF_MAX_BYTES); /* exactly the cap: fits */
	assert_false(sb.failed);
	assert_int_equal(sb.len, STRBUF_MAX_BYTES);
	strbuf_puts(&sb, "y"); /* one byte more: fails, and stays failed */
	assert_true(sb.failed);
	assert_false(strbuf_reserve(&sb, 0));
	strbuf_printf(&sb, "%s", "z");
	assert_int_equal(sb.len, STRBUF_MAX_BYTES);
	assert_null(strbuf_take(&sb));
	assert_null(sb.data);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_appends),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
