/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for archive.c: pattern checks, name expansion with the "-N"
 * suffix, rotation periods aligned to the local clock (UTC, a zone with
 * an offset, both daylight-saving changes, the end of a month and year),
 * and the name matching that decides what `keep` may remove.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "archive.h"
#include "cron.h"

static struct cron_tz *
zone(const char *name)
{
	struct cron_tz *tz = NULL;
	char err[256];

	if (cron_tz_load(name, &tz, err, sizeof(err)) < 0)
		fail_msg("cron_tz_load(%s): %s", name, err);
	return tz;
}

/* The instant of a UTC civil time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	return cron_tz_mktime(NULL, y, mo, d, h, mi, s);
}

static void
test_pattern_check(void **state)
{
	static const char *const good[] = {"archive/%Y/%m/%d/%H%M.ogg",
	    "/srv/a/%F/%H%M%S.ogg", "x-%j-%y.ogg", "100%%/%H.ogg", "plain.ogg"};
	static const char *const bad[] = {"a/%H%q.ogg", "a/%", "a/%Y/",
	    "a/../%H.ogg", "./%H.ogg", "", "a/%s.ogg"};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (archive_pattern_check(good[i], err, sizeof(err)) != 0)
			fail_msg("\"%s\" refused: %s", good[i], err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (archive_pattern_check(bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(
	    archive_pattern_check("a/%q", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "%q"));
}

static void
test_rotate_check(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(archive_rotate_check(0, err, sizeof(err)), 0);
	assert_int_equal(archive_rotate_check(5, err, sizeof(err)), 0);
	assert_int_equal(archive_rotate_check(900, err, sizeof(err)), 0);
	assert_int_equal(archive_rotate_check(3600, err, sizeof(err)), 0);
	assert_int_equal(archive_rotate_check(86400, err, sizeof(err)), 0);
	assert_int_equal(archive_rotate_check(7, err, sizeof(err)), -EINVAL);
	assert_int_equal(
	    archive_rotate_check(7 * 3600, err, sizeof(err)), -EINVAL);
	assert_int_equal(
	    archive_rotate_check(2 * 86400, err, sizeof(err)), -EINVAL);
}

static void
test_expand(void **state)
{
	struct cron_local lt;
	char out[256];

	(void)state;
	cron_tz_local(NULL, utc(2026, 3, 5, 14, 0, 9), &lt);
	assert_int_equal(archive_expand("archive/%Y/%m/%d/%H%M.ogg", &lt, 0,
			     out, sizeof(out)),
	    0);
	assert_string_equal(out, "archive/2026/03/05/1400.ogg");
	assert_int_equal(archive_expand("archive/%Y/%m/%d/%H%M.ogg", &lt, 1,
			     out, sizeof(out)),
	    0);
	assert_string_equal(out, "archive/2026/03/05/1400-1.ogg");
	assert_int_equal(
	    archive_expand("d.x/%F_%H%M%S", &lt, 12, out, sizeof(out)), 0);
	assert_string_equal(out, "d.x/2026-03-05_140009-12");
	assert_int_equal(
	    archive_expand("%y%j-100%%.ogg", &lt, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "26064-100%.ogg");
	assert_int_equal(
	    archive_expand("%Y/%H.ogg", &lt, 0, out, 8), -ENAMETOOLONG);
	/* A leap year's day of the year. */
	cron_tz_local(NULL, utc(2028, 12, 31, 0, 0, 0), &lt);
	assert_int_equal(archive_expand("%j", &lt, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "366");
}

static void
test_period_utc(void **state)
{
	int64_t s, e;

	(void)state;
	archive_period(NULL, 3600, utc(2026, 3, 5, 14, 37, 12) + 5, &s, &e);
	assert_true(s == utc(2026, 3, 5, 14, 0, 0));
	assert_true(e == utc(2026, 3, 5, 15, 0, 0));
	/* Exactly on a boundary: that period starts there. */
	archive_period(NULL, 900, utc(2026, 3, 5, 14, 45, 0), &s, &e);
	assert_true(s == utc(2026, 3, 5, 14, 45, 0));
	assert_true(e == utc(2026, 3, 5, 15, 0, 0));
	/* The last period of a year ends at the next year's midnight. */
	archive_period(NULL, 86400, utc(2026, 12, 31, 23, 59, 59), &s, &e);
	assert_true(s == utc(2026, 12, 31, 0, 0, 0));
	assert_true(e == utc(2027, 1, 1, 0, 0, 0));
	archive_period(NULL, 3600, utc(2028, 2, 28, 23, 10, 0), &s, &e);
	assert_true(e == utc(2028, 2, 29, 0, 0, 0));
	archive_period(NULL, 5, utc(2026, 3, 5, 14, 0, 7) + 999, &s, &e);
	assert_true(s == utc(2026, 3, 5, 14, 0, 5));
	assert_true(e == utc(2026, 3, 5, 14, 0, 10));
	archive_period(NULL, 0, utc(2026, 3, 5, 14, 0, 7), &s, &e);
	assert_true(e == INT64_MAX);
}

static void
test_period_zones(void **state)
{
	struct cron_tz *kolkata = zone("Asia/Kolkata");
	struct cron_tz *london = zone("Europe/London");
	int64_t s, e;

	(void)state;
	/* +05:30: hours start at :30 UTC. */
	archive_period(kolkata, 3600, utc(2026, 3, 5, 9, 40, 0), &s, &e);
	assert_true(s == utc(2026, 3, 5, 9, 30, 0));
	assert_true(e == utc(2026, 3, 5, 10, 30, 0));
	/* A day in London starts at local midnight (BST = UTC+1). */
	archive_period(london, 86400, utc(2026, 7, 1, 12, 0, 0), &s, &e);
	assert_true(s == utc(2026, 6, 30, 23, 0, 0));
	assert_true(e == utc(2026, 7, 1, 23, 0, 0));
	/* Spring forward (29 Mar 2026, 01:00 UTC): 00:00-01:00 GMT, then
	 * the next hour is 02:00 BST. The day is 23 hours long. */
	archive_period(london, 3600, utc(2026, 3, 29, 0, 30, 0), &s, &e);
	assert_true(s == utc(2026, 3, 29, 0, 0, 0));
	assert_true(e == utc(2026, 3, 29, 1, 0, 0));
	archive_period(london, 86400, utc(2026, 3, 29, 12, 0, 0), &s, &e);
	assert_true(e - s == 23 * 3600 * NS_PER_SEC);
	/* Fall back (25 Oct 2026, 01:00 UTC): 01:00-02:00 local twice. In
	 * the second one the period still ends after now. */
	archive_period(london, 900, utc(2026, 10, 25, 1, 20, 0), &s, &e);
	assert_true(s <= utc(2026, 10, 25, 1, 20, 0));
	assert_true(e > utc(2026, 10, 25, 1, 20, 0));
	assert_true(e <= utc(2026, 10, 25, 1, 30, 0));
	archive_period(london, 86400, utc(2026, 10, 25, 12, 0, 0), &s, &e);
	assert_true(e - s == 25 * 3600 * NS_PER_SEC);
	cron_tz_free(kolkata);
	cron_tz_free(london);
}

/* Consecutive periods tile time: each starts where the last ended. */
static void
test_period_tiles(void **state)
{
	struct cron_tz *london = zone("Europe/London");
	int64_t t = utc(2026, 10, 24, 20, 0, 0), s, e, prev_end = 0;
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		archive_period(london, 900, t, &s, &e);
		assert_true(e > t);
		if (prev_end != 0)
			assert_true(s <= prev_end);
		prev_end = e;
		t = e;
	}
	cron_tz_free(london);
}

static void
test_root(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(
	    archive_pattern_root("/srv/archive/%Y/%m/x.ogg", out, sizeof(out)),
	    0);
	assert_string_equal(out, "/srv/archive");
	assert_int_equal(
	    archive_pattern_root("/srv/a/b%H.ogg", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/a");
	assert_int_equal(archive_pattern_root("x-%H.ogg", out, sizeof(out)), 0);
	assert_string_equal(out, ".");
	assert_int_equal(
	    archive_pattern_root("/%Y/x.ogg", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(
	    archive_pattern_root("a/b/c.ogg", out, sizeof(out)), 0);
	assert_string_equal(out, "a/b");
}

static void
test_matches(void **state)
{
	const char *pat = "/a/%Y/%m/%d/%H%M.ogg";

	(void)state;
	assert_true(archive_name_matches(pat, "/a/2026/03/05/1400.ogg"));
	assert_true(archive_name_matches(pat, "/a/2026/03/05/1400-1.ogg"));
	assert_true(archive_name_matches(pat, "/a/2026/03/05/1400-12.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/1400-0.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/1400-01.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/1400-.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/1400.mp3"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/140.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/14000.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/3/05/1400.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/notes.ogg"));
	assert_false(archive_name_matches(pat, "/b/2026/03/05/1400.ogg"));
	assert_false(archive_name_matches(pat, "/a/2026/03/05/1400.ogg.bak"));
	assert_true(archive_name_matches("x/%F.ogg", "x/2026-03-05.ogg"));
	assert_false(archive_name_matches("x/%F.ogg", "x/2026003005.ogg"));
	assert_true(archive_name_matches("x/%H", "x/14-3"));
	assert_true(archive_name_matches("x/100%%-%H.ogg", "x/100%-14.ogg"));
	assert_true(archive_dir_matches(pat, "/a/2026"));
	assert_true(archive_dir_matches(pat, "/a/2026/03"));
	assert_true(archive_dir_matches(pat, "/a/2026/03/05"));
	assert_false(archive_dir_matches(pat, "/a/2026/03/05/1400.ogg"));
	assert_false(archive_dir_matches(pat, "/a/tmp"));
	assert_false(archive_dir_matches(pat, "/a/2026/3"));
}

/* keep on the first pattern would take files the second names. */
static void
test_overlap(void **state)
{
	(void)state;
	assert_true(archive_patterns_overlap("/a/%F.ogg", "/a/%F-%H.ogg"));
	assert_true(archive_patterns_overlap("/a/%H%M.ogg", "/a/%H%M.ogg"));
	assert_true(
	    archive_patterns_overlap("/a/%Y/%H.ogg", "/a/%Y/%H-%M.ogg"));
	/* The other way too: the day's 12th sibling looks like hour 12. */
	assert_true(archive_patterns_overlap("/a/%F-%H.ogg", "/a/%F.ogg"));
	assert_false(archive_patterns_overlap("/a/%F.ogg", "/a/%F_%H.ogg"));
	assert_false(archive_patterns_overlap("/a/%F.ogg", "/b/%F.ogg"));
	assert_false(archive_patterns_overlap("/a/%H%M.ogg", "/a/%H%M%S.ogg"));
	assert_false(archive_patterns_overlap("/a/%F.ogg", "/a/%F.flac"));
}

static void
test_expired(void **state)
{
	int64_t now = utc(2026, 6, 1, 0, 0, 0), day = 86400 * NS_PER_SEC;

	(void)state;
	assert_true(archive_expired(now - 91 * day, now, 90 * day));
	assert_false(archive_expired(now - 89 * day, now, 90 * day));
	assert_false(archive_expired(now - 900 * day, now, 0));
	/* A file from the future (a clock set back) is kept. */
	assert_false(archive_expired(now + day, now, 90 * day));
}

/* Log lines and --check show rotate and keep as written, never "0 d". */
static void
test_format_span(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(
	    archive_format_span(90 * 86400 * NS_PER_SEC, "x", buf, 32), "90d");
	assert_string_equal(
	    archive_format_span(5 * 60 * NS_PER_SEC, "x", buf, 32), "5m");
	assert_string_equal(
	    archive_format_span(36 * 3600 * NS_PER_SEC, "x", buf, 32), "36h");
	assert_string_equal(
	    archive_format_span(0, "forever", buf, 32), "forever");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pattern_check),
	    cmocka_unit_test(test_rotate_check),
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_period_utc),
	    cmocka_unit_test(test_period_zones),
	    cmocka_unit_test(test_period_tiles),
	    cmocka_unit_test(test_root),
	    cmocka_unit_test(test_matches),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_format_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
