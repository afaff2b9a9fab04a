/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of util.c helpers that no other module's test covers
 * directly: util_http_url_rest(), rounding, duration parsing,
 * util_redact().
 *
 * Threads: the main thread only.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <errno.h>

#include "util.h"

/* A weekend of studio silence at 48 kHz is over 9.2e9 frames, where
 * frames * NS_PER_SEC overflowed (switcher.c's dead-air checks). */
static void
test_frames_ns(void **state)
{
	(void)state;
	assert_int_equal(util_frames_ns(0, 48000), 0);
	assert_int_equal(util_frames_ns(48000, 48000), NS_PER_SEC);
	assert_int_equal(util_frames_ns(1, 44100), 22675);
	assert_int_equal(util_frames_ns(24000, 48000), NS_PER_SEC / 2);
	/* 72 h at 48 kHz, then 30 days at 192 kHz. */
	assert_int_equal(util_frames_ns((int64_t)72 * 3600 * 48000, 48000),
	    (int64_t)72 * 3600 * NS_PER_SEC);
	assert_int_equal(
	    util_frames_ns((int64_t)30 * 86400 * 192000 + 96000, 192000),
	    (int64_t)30 * 86400 * NS_PER_SEC + NS_PER_SEC / 2);
}

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

/* [status] listen_urls items: http(s)://host[:port]/mount, nothing else. */
static void
test_http_url_parse(void **state)
{
	char host[64];
	const char *path, *why;
	bool tls;
	int port;

	(void)state;
	assert_int_equal(
	    util_http_url_parse("http://edge1.example:8001/live.ogg", host,
		sizeof(host), &port, &tls, &path, &why),
	    0);
	assert_string_equal(host, "edge1.example");
	assert_int_equal(port, 8001);
	assert_false(tls);
	assert_string_equal(path, "/live.ogg");
	assert_int_equal(util_http_url_parse("https://[2001:db8::7]/a", host,
			     sizeof(host), &port, &tls, &path, &why),
	    0);
	assert_string_equal(host, "2001:db8::7");
	assert_int_equal(port, 443);
	assert_true(tls);
	assert_string_equal(path, "/a");
	static const char *const bad[] = {"ftp://e/a", "http:///a",
	    "http://e:0/a", "http://e:70000/a", "http://e:x/a", "http://e",
	    "http://e/", "http://u:p@e/a", "http://e/a?x=1", "http://e/a#f",
	    "http://e/a b", "http://[::1/a", "http://e:8000"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(util_http_url_parse(bad[i], host, sizeof(host),
				     &port, &tls, &path, &why),
		    -EINVAL);
		assert_non_null(why);
	}
}

/* Durations for people: "32.1 s", "1 min 05 s", never "32s61ms". */
static void
test_format_duration(void **state)
{
	static const struct {
		int64_t ns;
		const char *text;
	} cases[] = {
	    {-1, "?"},
	    {0, "0 s"},
	    {1, "0 ms"},
	    {250 * NS_PER_MS, "250 ms"},
	    {999 * NS_PER_MS, "999 ms"},
	    {999600 * 1000, "1 s"},
	    {32 * NS_PER_SEC + 61 * NS_PER_MS, "32.1 s"},
	    {5 * NS_PER_SEC, "5 s"},
	    {59960 * NS_PER_MS, "1 min"},
	    {65 * NS_PER_SEC, "1 min 05 s"},
	    {65 * NS_PER_SEC + 400 * NS_PER_MS, "1 min 05 s"},
	    {300 * NS_PER_SEC, "5 min"},
	    {3600 * NS_PER_SEC, "1 h"},
	    {5400 * NS_PER_SEC, "1 h 30 min"},
	    {7387 * NS_PER_SEC, "2 h 03 min 07 s"},
	    {7 * 86400 * NS_PER_SEC, "7 d"},
	    {(86400 + 3600) * NS_PER_SEC, "1 d 01 h"},
	    {(3 * 86400 + 4 * 3600 + 10 * 60 + 9) * NS_PER_SEC,
		"3 d 04 h 10 min"},
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
		    util_format_duration(cases[i].ns, buf, sizeof(buf)),
		    cases[i].text);
}

/* Times are rounded, not truncated: 04:59:59.9996 shows as 05:00:00. */
static void
test_format_rounds(void **state)
{
	/* 2026-11-30T05:00:00Z */
	int64_t t = INT64_C(1796014800) * NS_PER_SEC;
	char buf[40];

	(void)state;
	assert_string_equal(
	    util_format_iso8601(t - 400 * 1000, false, buf, sizeof(buf)),
	    "2026-11-30T05:00:00Z");
	assert_string_equal(
	    util_format_iso8601(t - 400 * 1000, true, buf, sizeof(buf)),
	    "2026-11-30T05:00:00.000Z");
	assert_string_equal(
	    util_format_iso8601(t - 600 * NS_PER_MS, false, buf, sizeof(buf)),
	    "2026-11-30T04:59:59Z");
	assert_string_equal(
	    util_format_iso8601(t + 1499 * 1000, true, buf, sizeof(buf)),
	    "2026-11-30T05:00:00.001Z");
	assert_int_equal(util_round_ns(INT64_MAX, NS_PER_SEC), INT64_MAX);
	assert_int_equal(util_round_ns(-5, NS_PER_SEC), -5);
}

static void
test_hash(void **state)
{
	(void)state;
	/* FNV-1a's published value for "a". */
	assert_true(
	    util_hash(UTIL_HASH_INIT, "a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
	/* The NUL keeps field boundaries apart. */
	assert_true(util_hash_str(util_hash_str(UTIL_HASH_INIT, "ab"), "c") !=
		    util_hash_str(util_hash_str(UTIL_HASH_INIT, "a"), "bc"));
	assert_true(util_hash_str(UTIL_HASH_INIT, NULL) ==
		    util_hash_str(UTIL_HASH_INIT, ""));
}

/* Durations are plain decimals with units; anything else strtod() would
 * take (exponents, hex floats, inf, nan) is refused. */
static void
test_parse_duration(void **state)
{
	static const char *const bad[] = {"1e3", "1E3s", "0x1p4", "0x10", "inf",
	    "nan", "1e400", ".", "-5s", "5 s s", "1h-5m", "", "s", "2.5e1m",
	    /* One unit once, largest first. */
	    "1h1h", "30s30s", "30m 1h", "500ms1s", "1 h 1 h", "90 s 1", "1h30",
	    "1hx", "5msx", "1 30m"};
	int64_t ns = 0;
	size_t i;

	(void)state;
	assert_int_equal(util_parse_duration_ns("90", &ns), 0);
	assert_int_equal(ns, 90 * NS_PER_SEC);
	assert_int_equal(util_parse_duration_ns("1h 30m 10s", &ns), 0);
	assert_int_equal(ns, 5410 * NS_PER_SEC);
	/* A space before the unit, as relay has always taken it. */
	assert_int_equal(util_parse_duration_ns("90 s", &ns), 0);
	assert_int_equal(ns, 90 * NS_PER_SEC);
	assert_int_equal(util_parse_duration_ns("1 h 30 m", &ns), 0);
	assert_int_equal(ns, 5400 * NS_PER_SEC);
	assert_int_equal(util_parse_duration_ns("0.5s", &ns), 0);
	assert_int_equal(ns, 500 * NS_PER_MS);
	assert_int_equal(util_parse_duration_ns(".25s", &ns), 0);
	assert_int_equal(ns, 250 * NS_PER_MS);
	assert_int_equal(util_parse_duration_ns("250ms", &ns), 0);
	assert_int_equal(ns, 250 * NS_PER_MS);
	assert_int_equal(util_parse_duration_ns("90d", &ns), 0);
	assert_int_equal(ns, 90 * 86400 * NS_PER_SEC);
	assert_int_equal(util_parse_duration_ns("1d 12h", &ns), 0);
	assert_int_equal(ns, 36 * 3600 * NS_PER_SEC);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ns = -1;
		if (util_parse_duration_ns(bad[i], &ns) == 0)
			fail_msg("\"%s\" was accepted as %lld ns", bad[i],
			    (long long)ns);
	}
	/* Past what int64 nanoseconds hold: a range error, no overflow. */
	assert_int_equal(util_parse_duration_ns("99999999999h", &ns), -ERANGE);
	assert_int_equal(
	    util_parse_duration_ns("100000d 2000000h", &ns), -ERANGE);
	assert_int_equal(util_parse_duration_ns("1d 2h 3m 4s 5ms", &ns), 0);
	assert_int_equal(ns, 93784 * NS_PER_SEC + 5 * NS_PER_MS);
	assert_int_equal(util_parse_duration_ns(" 90 ", &ns), 0);
	assert_int_equal(ns, 90 * NS_PER_SEC);
}

/* util_redact() blanks every occurrence of a secret, inside a word too
 * ("%20SECRET" in an encoded body, "SECRET2"): a secret stood between
 * separators only was blanked, so these showed it. */
static void
check_redact(const char *src, const char *secret, const char *want)
{
	char *got = util_redact(src, secret);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* A password with a raw '/', '?' or '#' is read as the path by every
 * parser, relay's masking included; configs refuse such URLs. */
static void
test_url_stray_at(void **state)
{
	(void)state;
	assert_false(util_url_stray_at("http://host:8000/live.ogg"));
	assert_false(util_url_stray_at("https://u:p%2Fss@host/live.ogg"));
	assert_false(util_url_stray_at("http://u:p@ss@host/x"));
	assert_false(util_url_stray_at("http://u:pw@host"));
	assert_false(util_url_stray_at("no scheme@host/x"));
	assert_false(util_url_stray_at("http://host/streams/@live"));
	assert_false(util_url_stray_at("http://host:8000/x?by=a@b"));
	assert_false(util_url_stray_at("http://u:pw@host:8000/n.ogg?a@b"));
	assert_false(util_url_stray_at("http://[::1]:8000/x?a@b"));
	assert_true(util_url_stray_at("http://u:p/ss@host/x"));
	assert_true(util_url_stray_at("http://u:p?ss@host/x"));
	assert_true(util_url_stray_at("https://u:p#ss@host"));
	assert_true(util_url_stray_at("http://u:/pw@host/x"));
}

static void
test_redact(void **state)
{
	(void)state;
	check_redact("hackme", "hackme", "***");
	check_redact("bad password hackme.", "hackme", "bad password ***.");
	check_redact("{\"token\":\"s3cret\"} s3cret s3cret2", "s3cret",
	    "{\"token\":\"***\"} *** ***2");
	check_redact("pass=p.ss&x=1", "p.ss", "pass=***&x=1");
	check_redact("title=Bearer%200123456789abcdef&x=1", "0123456789abcdef",
	    "title=Bearer%20***&x=1");
	check_redact("user%3Apw%40host", "pw", "user%3A***%40host");
	check_redact("source.pw said no", "pw", "source.*** said no");
	check_redact("pwpw", "pw", "******");
	check_redact("no secret here", "", "no secret here");
	check_redact("no secret here", NULL, "no secret here");
}

/* util_redact_names(): the letters of a public name (the host, the
 * mount) that happen to spell the secret stay, a label of its own that
 * is the secret does not, and outside the names every occurrence goes.
 * With the password "exist", nonexistent.invalid was logged as
 * "non***ent.invalid". */
static void
check_redact_names(const char *src, const char *secret, const char *want)
{
	const char *names[] = {"nonexistent.invalid", "exist.example",
	    "radio.hackme.example", "hackme-backup.example", "/live.ogg",
	    "source", NULL};
	char *got = util_redact_names(src, secret, names);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_redact_names(void **state)
{
	(void)state;
	check_redact_names("nonexistent.invalid:8000/live.ogg: cannot resolve",
	    "exist", "nonexistent.invalid:8000/live.ogg: cannot resolve");
	check_redact_names("http://source:exist@nonexistent.invalid/live",
	    "exist", "http://source:***@nonexistent.invalid/live");
	/* The secret as a label of the name: blanked (rather that than
	 * show it). */
	check_redact_names(
	    "exist.example:8000 refused", "exist", "***.example:8000 refused");
	check_redact_names(
	    "radio.hackme.example", "hackme", "radio.***.example");
	check_redact_names(
	    "hackme-backup.example", "hackme", "hackme-backup.example");
	check_redact_names(
	    "mount /live.ogg: refused", "live", "mount /***.ogg: refused");
	check_redact_names("user \"source\"", "source", "user \"***\"");
	/* Outside the names: every occurrence. */
	check_redact_names(
	    "nonexistent.invalid: HTTP 401: no exist2 for sourceexist", "exist",
	    "nonexistent.invalid: HTTP 401: no ***2 for source***");
	check_redact_names(
	    "nonexistent.invalidexist", "exist", "nonexistent.invalid***");
	check_redact_names("nonexistent", "exist", "non***ent");
}

/* A secret of 1 to 3 characters is blanked only where a word is nothing
 * but it: its letters inside other words tell nothing, and blanking them
 * turned every line into "Login f***iled" (password "a"). Where a server
 * would quote it, after ':', '=', a percent escape or a quote, it goes. */
static void
test_redact_short(void **state)
{
	const char *names[] = {"x.example", "/live.ogg", NULL};
	char *got;

	(void)state;
	check_redact("Login failed: HTTP 401 Unauthorized", "a",
	    "Login failed: HTTP 401 Unauthorized");
	check_redact("about a tab, a cab", "ab", "about a tab, a cab");
	check_redact("auth source:ab@host: a failure", "ab",
	    "auth source:***@host: a failure");
	check_redact("pass=ab&x=1 \"ab\" (ab) ab.", "ab",
	    "pass=***&x=1 \"***\" (***) ***.");
	check_redact(
	    "user%3Aab%40host %20ab", "ab", "user%3A***%40host %20***");
	check_redact("ab", "ab", "***");
	check_redact("abab ababx", "ab", "****** ababx");
	check_redact("\xc3\xa9"
		     "ab ab\xc3\xa9",
	    "ab",
	    "\xc3\xa9"
	    "ab ab\xc3\xa9");
	/* A word that is the password is blanked even when it means
	 * something else: better that than show it. */
	check_redact("HTTP 401 Unauthorized", "401", "HTTP *** Unauthorized");
	/* From 4 characters on: every occurrence, as before. */
	check_redact("login failed", "fail", "login ***ed");
	/* Names change nothing for a short secret. */
	got = util_redact_names("x.example/live.ogg: x refused", "x", names);
	assert_non_null(got);
	assert_string_equal(got, "***.example/live.ogg: *** refused");
	free(got);
}

/* Thread names: what fits in the kernel's 15 bytes, cut before a
 * multibyte character rather than inside it. */
static void
test_thread_name(void **state)
{
	char got[32];

	(void)state;
	util_thread_name("out:%s", "main");
	assert_int_equal(
	    pthread_getname_np(pthread_self(), got, sizeof(got)), 0);
	assert_string_equal(got, "out:main");
	util_thread_name("out:%s", "a-very-long-output-name");
	assert_int_equal(
	    pthread_getname_np(pthread_self(), got, sizeof(got)), 0);
	assert_string_equal(got, "out:a-very-long");
	/* "out:ca" + 5 x "\xc3\xa9" (U+00E9): byte 15 is the first half of
	 * the fifth one. */
	util_thread_name("out:ca\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_int_equal(
	    pthread_getname_np(pthread_self(), got, sizeof(got)), 0);
	assert_string_equal(got, "out:ca\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	util_thread_name("test_util");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_ns),
	    cmocka_unit_test(test_http_url_rest),
	    cmocka_unit_test(test_thread_name),
	    cmocka_unit_test(test_http_url_parse),
	    cmocka_unit_test(test_format_rounds),
	    cmocka_unit_test(test_format_duration),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_url_stray_at),
	    cmocka_unit_test(test_redact),
	    cmocka_unit_test(test_redact_names),
	    cmocka_unit_test(test_redact_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
