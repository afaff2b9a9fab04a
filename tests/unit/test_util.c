/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of util.c helpers that no other module's test covers
 * directly: util_http_url_rest().
 *
 * Threads: the main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util.h"

static void
test_http_url_rest(void **state)
{
	const char *u = "https://radio.example/live.ogg";

	(void)state;
	assert_ptr_equal(util_http_url_rest(u), u + 8);
	assert_string_equal(
	    util_http_url_rest("http://127.0.0.1:8000/x"), "127.0.0.1:8000/x");
	assert_string_equal(util_http_url_rest("http://"), "");
	/* Lower case only, and nothing but these two schemes. */
	assert_null(util_http_url_rest("HTTP://radio.example/"));
	assert_null(util_http_url_rest("ftp://radio.example/"));
	assert_null(util_http_url_rest("http:/radio.example/"));
	assert_null(util_http_url_rest(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_url_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
