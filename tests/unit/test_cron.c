/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cron.c with an injected clock: every start time is
 * computed from an instant passed in, never from the system clock. Covers
 * every field form (values, ranges, lists, steps, names, 7 = Sunday), the
 * day-of-month/day-of-week OR rule, month ends, leap days, daylight-saving
 * days in Europe/London and America/New_York (hourly, and times inside
 * the gap and the overlap), "at" times, every parse error with its exact
 * message, and the TZif reader against glibc's localtime_r() over two
 * centuries.
 *
 * Threads: one. Some tests set TZ (and restore it); nothing else here
 * reads it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cron.h"
#include "util.h"

static struct cron_tz *
zone(const char *name)
{
	struct cron_tz *tz = NULL;
	char err[256];

	if (cron_tz_load(name, &tz, err, sizeof(err)) < 0)
		fail_msg("cron_tz_load(%s): %s", name ? name : "NULL", err);
	return tz;
}

/* CLOCK_REALTIME nanoseconds of a UTC civil time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * NS_PER_SEC;
}

static void
format_local(const struct cron_tz *tz, int64_t t, char *buf, size_t len)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	struct cron_local l;

	cron_tz_local(tz, t, &l);
	if (l.second != 0)
		snprintf(buf, len, "%s %04d-%02d-%02d %02d:%02d:%02d %s",
		    days[l.weekday], l.year, l.month, l.day, l.hour, l.minute,
		    l.second, l.abbr);
	else
		snprintf(buf, len, "%s %04d-%02d-%02d %02d:%02d %s",
		    days[l.weekday], l.year, l.month, l.day, l.hour, l.minute,
		    l.abbr);
}

/* The next n starts of expr after `after`, as local times joined by
 * ", " ("never" when they run out). Static buffer. */
static const char *
nexts(const char *expr, const struct cron_tz *tz, int64_t after, int n)
{
	static char out[2048];
	struct cron c;
	char err[256], one[64];
	int i;

	if (cron_parse(expr, &c, err, sizeof(err)) < 0)
		fail_msg("cron_parse(\"%s\"): %s", expr, err);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		int64_t t = cron_next(&c, tz, after);

		if (i > 0)
			strcat(out, ", ");
		if (t == CRON_NEVER) {
			strcat(out, "never");
			break;
		}
		assert_true(t > after);
		format_local(tz, t, one, sizeof(one));
		strcat(out, one);
		after = t;
	}
	return out;
}

static void
test_field_forms(void **state)
{
	int64_t t0 = utc(2026, 11, 27, 10, 7, 30); /* a Friday */

	(void)state;
	assert_string_equal(nexts("* * * * *", NULL, t0, 3),
	    "Fri 2026-11-27 10:08 UTC, Fri 2026-11-27 10:09 UTC, "
	    "Fri 2026-11-27 10:10 UTC");
	assert_string_equal(nexts("*/15 * * * *", NULL, t0, 4),
	    "Fri 2026-11-27 10:15 UTC, Fri 2026-11-27 10:30 UTC, "
	    "Fri 2026-11-27 10:45 UTC, Fri 2026-11-27 11:00 UTC");
	assert_string_equal(nexts("5-10/2 * * * *", NULL, t0, 4),
	    "Fri 2026-11-27 10:09 UTC, Fri 2026-11-27 11:05 UTC, "
	    "Fri 2026-11-27 11:07 UTC, Fri 2026-11-27 11:09 UTC");
	assert_string_equal(nexts("0,30 9-10 * * *", NULL, t0, 3),
	    "Fri 2026-11-27 10:30 UTC, Sat 2026-11-28 09:00 UTC, "
	    "Sat 2026-11-28 09:30 UTC");
	assert_string_equal(nexts("7 10 * * *", NULL, t0, 1),
	    "Sat 2026-11-28 10:07 UTC"); /* strictly after 10:07:30 */
	assert_string_equal(nexts("8 10 * * *", NULL, t0, 1),
	    "Fri 2026-11-27 10:08 UTC");
	assert_string_equal(nexts("0 12 * * 1-5", NULL, t0, 3),
	    "Fri 2026-11-27 12:00 UTC, Mon 2026-11-30 12:00 UTC, "
	    "Tue 2026-12-01 12:00 UTC");
	assert_string_equal(nexts("0 0 1 */4 *", NULL, t0, 3),
	    "Fri 2027-01-01 00:00 UTC, Sat 2027-05-01 00:00 UTC, "
	    "Wed 2027-09-01 00:00 UTC");
	assert_string_equal(nexts("0 0 1-10/3,20 12 *", NULL, t0, 5),
	    "Tue 2026-12-01 00:00 UTC, Fri 2026-12-04 00:00 UTC, "
	    "Mon 2026-12-07 00:00 UTC, Thu 2026-12-10 00:00 UTC, "
	    "Sun 2026-12-20 00:00 UTC");
	/* Whitespace around and between fields is free. */
	assert_string_equal(nexts("  0\t12   * * 1-5 ", NULL, t0, 1),
	    "Fri 2026-11-27 12:00 UTC");
}

static void
test_names(void **state)
{
	int64_t t0 = utc(2026, 11, 27, 10, 0, 0);
	struct cron a, b;
	char err[256];

	(void)state;
	assert_int_equal(cron_parse("0 7 * * MON-fri", &a, err, sizeof(err)),
	    0);
	assert_int_equal(cron_parse("0 7 * * 1-5", &b, err, sizeof(err)), 0);
	assert_int_equal(a.weekdays, b.weekdays);
	assert_int_equal(a.weekdays, 0x3e);
	assert_int_equal(cron_parse("0 0 1 JAN,jul,Dec *", &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.months, (1u << 1) | (1u << 7) | (1u << 12));
	assert_int_equal(cron_parse("0 0 1 mar-may *", &a, err, sizeof(err)),
	    0);
	assert_int_equal(a.months, (1u << 3) | (1u << 4) | (1u << 5));
	assert_string_equal(nexts("0 0 * * sat,SUN", NULL, t0, 3),
	    "Sat 2026-11-28 00:00 UTC, Sun 2026-11-29 00:00 UTC, "
	    "Sat 2026-12-05 00:00 UTC");
	assert_string_equal(nexts("0 0 1 jan *", NULL, t0, 1),
	    "Fri 2027-01-01 00:00 UTC");
}

static void
test_sunday_is_0_and_7(void **state)
{
	struct cron a, b, c, d;
	char err[256];

	(void)state;
	assert_int_equal(cron_parse("0 0 * * 0", &a, err, sizeof(err)), 0);
	assert_int_equal(cron_parse("0 0 * * 7", &b, err, sizeof(err)), 0);
	assert_int_equal(cron_parse("0 0 * * sun", &c, err, sizeof(err)), 0);
	assert_int_equal(a.weekdays, 1);
	assert_int_equal(b.weekdays, 1);
	assert_int_equal(c.weekdays, 1);
	/* Friday to Sunday through 7. */
	assert_int_equal(cron_parse("0 0 * * 5-7", &d, err, sizeof(err)), 0);
	assert_int_equal(d.weekdays, (1u << 5) | (1u << 6) | 1u);
	assert_string_equal(nexts("0 0 * * 5-7", NULL,
	    utc(2026, 11, 25, 0, 0, 0), 4),
	    "Fri 2026-11-27 00:00 UTC, Sat 2026-11-28 00:00 UTC, "
	    "Sun 2026-11-29 00:00 UTC, Fri 2026-12-04 00:00 UTC");
	/* '*' means 0-6: a step over it never lands on 7 twice. */
	assert_int_equal(cron_parse("0 0 * * */2", &d, err, sizeof(err)), 0);
	assert_int_equal(d.weekdays, 1u | (1u << 2) | (1u << 4) | (1u << 6));
}

static void
test_dom_dow_or_rule(void **state)
{
	int64_t t0 = utc(2026, 11, 1, 0, 0, 0);

	(void)state;
	/* Both restricted: the 13th OR any Friday. */
	assert_string_equal(nexts("0 0 13 * fri", NULL, t0, 7),
	    "Fri 2026-11-06 00:00 UTC, Fri 2026-11-13 00:00 UTC, "
	    "Fri 2026-11-20 00:00 UTC, Fri 2026-11-27 00:00 UTC, "
	    "Fri 2026-12-04 00:00 UTC, Fri 2026-12-11 00:00 UTC, "
	    "Sun 2026-12-13 00:00 UTC");
	/* Only one restricted: that one alone. */
	assert_string_equal(nexts("0 0 13 * *", NULL, t0, 2),
	    "Fri 2026-11-13 00:00 UTC, Sun 2026-12-13 00:00 UTC");
	assert_string_equal(nexts("0 0 * * fri", NULL, t0, 2),
	    "Fri 2026-11-06 00:00 UTC, Fri 2026-11-13 00:00 UTC");
	/* A field starting with '*' counts as unrestricted (Vixie): odd days
	 * that are also Fridays. */
	assert_string_equal(nexts("0 0 */2 * fri", NULL, t0, 4),
	    "Fri 2026-11-13 00:00 UTC, Fri 2026-11-27 00:00 UTC, "
	    "Fri 2026-12-11 00:00 UTC, Fri 2026-12-25 00:00 UTC");
}

static void
test_month_ends(void **state)
{
	(void)state;
	/* The 31st never fires in a 30-day month, nor in February. */
	assert_string_equal(nexts("0 0 31 * *", NULL,
	    utc(2026, 1, 31, 12, 0, 0), 5),
	    "Tue 2026-03-31 00:00 UTC, Sun 2026-05-31 00:00 UTC, "
	    "Fri 2026-07-31 00:00 UTC, Mon 2026-08-31 00:00 UTC, "
	    "Sat 2026-10-31 00:00 UTC");
	assert_string_equal(nexts("0 0 30 * *", NULL,
	    utc(2026, 1, 30, 12, 0, 0), 2),
	    "Mon 2026-03-30 00:00 UTC, Thu 2026-04-30 00:00 UTC");
	/* The last minute of the year rolls into the next. */
	assert_string_equal(nexts("59 23 31 12 *", NULL,
	    utc(2026, 12, 31, 23, 59, 0), 1), "Fri 2027-12-31 23:59 UTC");
}

static void
test_leap_day(void **state)
{
	(void)state;
	assert_string_equal(nexts("0 12 29 2 *", NULL,
	    utc(2026, 1, 1, 0, 0, 0), 2),
	    "Tue 2028-02-29 12:00 UTC, Sun 2032-02-29 12:00 UTC");
	/* 2100 is not a leap year: eight years to the next. */
	assert_string_equal(nexts("0 12 29 2 *", NULL,
	    utc(2096, 3, 1, 0, 0, 0), 1), "Fri 2104-02-29 12:00 UTC");
	/* Nothing after the last year evaluated. */
	assert_string_equal(nexts("0 0 1 1 *", NULL,
	    utc(2199, 6, 1, 0, 0, 0), 1), "never");
}

/* Consecutive hourly starts over [from, from + hours) are exactly one
 * hour apart: none lost, none doubled. */
static void
check_hourly_real_time(const char *zone_name, int64_t from, int hours)
{
	struct cron_tz *tz = zone(zone_name);
	struct cron c;
	char err[256];
	int64_t t = from, prev = 0;
	int i;

	assert_int_equal(cron_parse("0 * * * *", &c, err, sizeof(err)), 0);
	for (i = 0; i < hours; i++) {
		t = cron_next(&c, tz, t);
		if (i > 0)
			assert_int_equal(t - prev, 3600 * NS_PER_SEC);
		prev = t;
	}
	cron_tz_free(tz);
}

static void
test_dst_london_spring_forward(void **state)
{
	struct cron_tz *tz = zone("Europe/London");
	/* 2026-03-29 01:00 GMT becomes 02:00 BST. */
	int64_t t0 = utc(2026, 3, 28, 23, 30, 0);

	(void)state;
	assert_string_equal(nexts("0 * * * *", tz, t0, 3),
	    "Sun 2026-03-29 00:00 GMT, Sun 2026-03-29 02:00 BST, "
	    "Sun 2026-03-29 03:00 BST");
	assert_string_equal(nexts("*/30 * * * *", tz, t0, 4),
	    "Sun 2026-03-29 00:00 GMT, Sun 2026-03-29 00:30 GMT, "
	    "Sun 2026-03-29 02:00 BST, Sun 2026-03-29 02:30 BST");
	/* A fixed time in the gap runs once, when the gap ends. */
	assert_string_equal(nexts("30 1 * * *", tz, t0, 2),
	    "Sun 2026-03-29 02:00 BST, Mon 2026-03-30 01:30 BST");
	assert_string_equal(nexts("0 1,2 * * *", tz, t0, 3),
	    "Sun 2026-03-29 02:00 BST, Mon 2026-03-30 01:00 BST, "
	    "Mon 2026-03-30 02:00 BST");
	check_hourly_real_time("Europe/London", utc(2026, 3, 28, 12, 0, 0),
	    48);
	cron_tz_free(tz);
}

static void
test_dst_london_fall_back(void **state)
{
	struct cron_tz *tz = zone("Europe/London");
	/* 2026-10-25 02:00 BST becomes 01:00 GMT: 01:xx happens twice. */
	int64_t t0 = utc(2026, 10, 24, 22, 30, 0);

	(void)state;
	/* Hourly follows real time: both 01:00s. */
	assert_string_equal(nexts("0 * * * *", tz, t0, 4),
	    "Sun 2026-10-25 00:00 BST, Sun 2026-10-25 01:00 BST, "
	    "Sun 2026-10-25 01:00 GMT, Sun 2026-10-25 02:00 GMT");
	assert_string_equal(nexts("*/20 1 * * *", tz, t0, 7),
	    "Sun 2026-10-25 01:00 BST, Sun 2026-10-25 01:20 BST, "
	    "Sun 2026-10-25 01:40 BST, Sun 2026-10-25 01:00 GMT, "
	    "Sun 2026-10-25 01:20 GMT, Sun 2026-10-25 01:40 GMT, "
	    "Mon 2026-10-26 01:00 GMT");
	/* A fixed time that occurs twice runs once, the first time. */
	assert_string_equal(nexts("30 1 * * *", tz, t0, 2),
	    "Sun 2026-10-25 01:30 BST, Mon 2026-10-26 01:30 GMT");
	/* ... even when asked from between the two readings. */
	assert_string_equal(nexts("30 1 * * *", tz,
	    utc(2026, 10, 25, 0, 45, 0), 1), "Mon 2026-10-26 01:30 GMT");
	check_hourly_real_time("Europe/London", utc(2026, 10, 24, 12, 0, 0),
	    48);
	cron_tz_free(tz);
}

static void
test_dst_new_york(void **state)
{
	struct cron_tz *tz = zone("America/New_York");

	(void)state;
	/* 2026-03-08 02:00 EST becomes 03:00 EDT. */
	assert_string_equal(nexts("0 * * * *", tz,
	    utc(2026, 3, 8, 5, 30, 0), 3),
	    "Sun 2026-03-08 01:00 EST, Sun 2026-03-08 03:00 EDT, "
	    "Sun 2026-03-08 04:00 EDT");
	assert_string_equal(nexts("30 2 * * *", tz,
	    utc(2026, 3, 7, 5, 0, 0), 3),
	    "Sat 2026-03-07 02:30 EST, Sun 2026-03-08 03:00 EDT, "
	    "Mon 2026-03-09 02:30 EDT");
	/* 2026-11-01 02:00 EDT becomes 01:00 EST. */
	assert_string_equal(nexts("0 * * * *", tz,
	    utc(2026, 11, 1, 3, 30, 0), 4),
	    "Sun 2026-11-01 00:00 EDT, Sun 2026-11-01 01:00 EDT, "
	    "Sun 2026-11-01 01:00 EST, Sun 2026-11-01 02:00 EST");
	assert_string_equal(nexts("30 1 * * *", tz,
	    utc(2026, 10, 31, 12, 0, 0), 2),
	    "Sun 2026-11-01 01:30 EDT, Mon 2026-11-02 01:30 EST");
	/* 02:00 happens once that day (02:00 EDT is never shown). */
	assert_string_equal(nexts("0 2 * * *", tz,
	    utc(2026, 10, 31, 12, 0, 0), 2),
	    "Sun 2026-11-01 02:00 EST, Mon 2026-11-02 02:00 EST");
	check_hourly_real_time("America/New_York", utc(2026, 3, 7, 12, 0, 0),
	    48);
	check_hourly_real_time("America/New_York",
	    utc(2026, 10, 31, 12, 0, 0), 48);
	cron_tz_free(tz);
}

static void
test_dst_half_hour_zone(void **state)
{
	/* Lord Howe moves by 30 minutes: 02:00 +1030 becomes 02:30 +11 on
	 * 2026-10-04. */
	struct cron_tz *tz = zone("Australia/Lord_Howe");

	(void)state;
	assert_string_equal(nexts("0 * * * *", tz,
	    utc(2026, 10, 3, 14, 0, 0), 3),
	    "Sun 2026-10-04 01:00 +1030, Sun 2026-10-04 03:00 +11, "
	    "Sun 2026-10-04 04:00 +11");
	assert_string_equal(nexts("15 2 * * *", tz,
	    utc(2026, 10, 3, 14, 0, 0), 1), "Sun 2026-10-04 02:30 +11");
	cron_tz_free(tz);
}

static void
test_at(void **state)
{
	struct cron_tz *tz = zone("Europe/London");
	struct cron c;
	char err[256], buf[64];
	int64_t t;

	(void)state;
	assert_int_equal(cron_parse_at("2026-12-24 18:00", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.kind, CRON_AT);
	/* In the future: once; then never again. */
	t = cron_next(&c, tz, utc(2026, 11, 27, 10, 0, 0));
	assert_int_equal(t, utc(2026, 12, 24, 18, 0, 0));
	assert_int_equal(cron_next(&c, tz, t), CRON_NEVER);
	assert_int_equal(cron_next(&c, tz, t - 1), t);
	/* In the past: never. */
	assert_int_equal(cron_next(&c, tz, utc(2027, 1, 1, 0, 0, 0)),
	    CRON_NEVER);
	/* Summer time: 18:00 BST is 17:00 UTC; seconds are kept. */
	assert_int_equal(cron_parse_at("2026-07-01 18:00:30", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(cron_next(&c, tz, 0), utc(2026, 7, 1, 17, 0, 30));
	/* In the spring gap: the end of the gap. */
	assert_int_equal(cron_parse_at("2026-03-29 01:30", &c, err,
	    sizeof(err)), 0);
	t = cron_next(&c, tz, 0);
	format_local(tz, t, buf, sizeof(buf));
	assert_string_equal(buf, "Sun 2026-03-29 02:00 BST");
	/* In the autumn overlap: the first reading. */
	assert_int_equal(cron_parse_at("2026-10-25 01:30", &c, err,
	    sizeof(err)), 0);
	t = cron_next(&c, tz, 0);
	format_local(tz, t, buf, sizeof(buf));
	assert_string_equal(buf, "Sun 2026-10-25 01:30 BST");
	assert_int_equal(cron_tz_mktime(tz, 2026, 10, 25, 1, 30, 0), t);
	assert_int_equal(cron_tz_mktime(tz, 2026, 2, 29, 1, 30, 0),
	    CRON_NEVER);
	cron_tz_free(tz);
}

struct bad_case {
	const char *text;
	const char *message;
};

static void
test_invalid_expressions(void **state)
{
	static const struct bad_case cases[] = {
		{ "", "expected 5 fields (minute hour day-of-month month "
		    "day-of-week), got 0" },
		{ "0 * * *", "expected 5 fields (minute hour day-of-month "
		    "month day-of-week), got 4" },
		{ "0 * * * * *", "expected 5 fields (minute hour "
		    "day-of-month month day-of-week), got 6" },
		{ "60 * * * *",
		    "minute \"60\" is out of range (allowed 0-59)" },
		{ "0 24 * * *", "hour \"24\" is out of range (allowed 0-23)" },
		{ "0 0 0 * *",
		    "day-of-month \"0\" is out of range (allowed 1-31)" },
		{ "0 0 32 * *",
		    "day-of-month \"32\" is out of range (allowed 1-31)" },
		{ "0 0 * 13 *", "month \"13\" is out of range (allowed 1-12 "
		    "or jan-dec)" },
		{ "0 0 * 0 *", "month \"0\" is out of range (allowed 1-12 or "
		    "jan-dec)" },
		{ "0 0 * * 8", "day-of-week \"8\" is out of range (allowed "
		    "0-7 or sun-sat, 0 and 7 = Sunday)" },
		{ "x * * * *", "minute \"x\" is not a number (allowed 0-59)" },
		{ "mon * * * *",
		    "minute \"mon\" is not a number (allowed 0-59)" },
		{ "1.5 * * * *",
		    "minute \"1.5\" is not a number (allowed 0-59)" },
		{ "** * * * *",
		    "minute \"**\" is not a number (allowed 0-59)" },
		{ "0 0 * foo *", "month \"foo\" is not a valid name (allowed "
		    "1-12 or jan-dec)" },
		{ "0 0 * * monday", "day-of-week \"monday\" is not a valid "
		    "name (allowed 0-7 or sun-sat, 0 and 7 = Sunday)" },
		{ "0 0 * jan-foo *", "month \"foo\" is not a valid name "
		    "(allowed 1-12 or jan-dec)" },
		{ "-5 * * * *",
		    "minute: a value is missing (allowed 0-59)" },
		{ "5- * * * *",
		    "minute: a value is missing (allowed 0-59)" },
		{ "1,,2 * * * *",
		    "minute: empty item in the list (allowed 0-59)" },
		{ "0 1, * * *",
		    "hour: empty item in the list (allowed 0-23)" },
		{ "30-10 * * * *", "minute range \"30-10\" runs backwards "
		    "(allowed a-b with a <= b)" },
		{ "0 0 * * fri-mon", "day-of-week range \"fri-mon\" runs "
		    "backwards (allowed a-b with a <= b)" },
		{ "*/0 * * * *",
		    "minute step \"0\" is not valid (allowed 1-59)" },
		{ "*/60 * * * *",
		    "minute step \"60\" is not valid (allowed 1-59)" },
		{ "*/x * * * *",
		    "minute step \"x\" is not valid (allowed 1-59)" },
		{ "*/ * * * *",
		    "minute step \"\" is not valid (allowed 1-59)" },
		{ "0 */24 * * *",
		    "hour step \"24\" is not valid (allowed 1-23)" },
		{ "0 0 * * */7",
		    "day-of-week step \"7\" is not valid (allowed 1-6)" },
		{ "5/10 * * * *", "minute \"5/10\": a step needs a range "
		    "(allowed */n or a-b/n)" },
		{ "0 0 31 4,6,9,11 *", "day-of-month \"31\" never occurs in "
		    "month \"4,6,9,11\" (the expression would never fire)" },
		{ "0 0 30,31 feb *", "day-of-month \"30,31\" never occurs in "
		    "month \"feb\" (the expression would never fire)" },
	};
	struct cron c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (cron_parse(cases[i].text, &c, err, sizeof(err)) != -EINVAL)
			fail_msg("\"%s\" was accepted", cases[i].text);
		if (strcmp(err, cases[i].message) != 0)
			fail_msg("\"%s\":\n  got      %s\n  expected %s",
			    cases[i].text, err, cases[i].message);
	}
	/* Valid neighbours of the cases above. */
	assert_int_equal(cron_parse("0 0 29 2 *", &c, err, sizeof(err)), 0);
	assert_int_equal(cron_parse("0 0 31 4 fri", &c, err, sizeof(err)), 0);
	assert_int_equal(cron_parse("59 23 31 12 7", &c, err, sizeof(err)), 0);
	assert_int_equal(cron_parse("*/59 */23 */30 */11 */6", &c, err,
	    sizeof(err)), 0);
}

static void
test_invalid_at(void **state)
{
	static const char shape[] = "is not a date and time (allowed "
	    "YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS)";
	static const char date[] = "is not a valid date (allowed 1970-01-01 "
	    "to 2199-12-31)";
	static const char tod[] = "is not a valid time of day (allowed "
	    "00:00:00 to 23:59:59)";
	static const struct {
		const char *text;
		const char *tail;
	} cases[] = {
		{ "2026-12-24", shape },
		{ "2026-12-24T18:00", shape },
		{ "2026-12-24 18:0", shape },
		{ "2026-12-24 18:00:5", shape },
		{ "2026-12-24 18:00 tomorrow", shape },
		{ "26-12-24 18:00", shape },
		{ "+2026-12-24 18:00", shape },
		{ "2026-13-01 00:00", date },
		{ "2026-02-29 00:00", date },
		{ "2026-04-31 00:00", date },
		{ "1969-12-31 23:59", date },
		{ "2200-01-01 00:00", date },
		{ "2026-12-24 24:00", tod },
		{ "2026-12-24 18:60", tod },
		{ "2026-12-24 18:00:60", tod },
	};
	struct cron c;
	char err[256], want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\" %s", cases[i].text,
		    cases[i].tail);
		err[0] = '\0';
		if (cron_parse_at(cases[i].text, &c, err, sizeof(err)) !=
		    -EINVAL)
			fail_msg("\"%s\" was accepted", cases[i].text);
		assert_string_equal(err, want);
	}
	assert_int_equal(cron_parse_at("2028-02-29 12:00", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(cron_parse_at(" 2026-12-24 18:00:59 ", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.second, 59);
}

/* Does the local time l match c (minute fields only, seconds 0)? */
static bool
ref_matches(const struct cron *c, const struct cron_local *l)
{
	bool dom = (c->days >> l->day) & 1, dow = (c->weekdays >> l->weekday) & 1;
	bool day = (c->dom_star || c->dow_star) ? (dom && dow) : (dom || dow);

	return l->second == 0 && ((c->minutes >> l->minute) & 1) &&
	    ((c->hours >> l->hour) & 1) && ((c->months >> l->month) & 1) &&
	    day;
}

static bool
same_local(const struct cron_local *a, const struct cron_local *b)
{
	return a->year == b->year && a->month == b->month &&
	    a->day == b->day && a->hour == b->hour && a->minute == b->minute;
}

/*
 * Brute force, minute by minute over [from, to): the instants the rules
 * in cron.h give. Elapsed: every instant whose local time matches. Fixed:
 * those that are not a second reading of the same local time, plus the
 * end of each gap that swallowed a matching local time.
 */
static size_t
reference(const struct cron *c, const struct cron_tz *tz, int64_t from,
    int64_t to, int64_t *out, size_t max)
{
	size_t n = 0;
	int64_t t;

	for (t = from; t < to && n < max; t += 60 * NS_PER_SEC) {
		struct cron_local l, prev;
		bool hit = false;

		cron_tz_local(tz, t, &l);
		cron_tz_local(tz, t - 60 * NS_PER_SEC, &prev);
		if (ref_matches(c, &l)) {
			hit = true;
			if (!c->elapsed) {
				/* A second reading: the same local time an
				 * offset change earlier. */
				int64_t k;

				for (k = 1800; k <= 7200; k += 1800) {
					struct cron_local e;

					cron_tz_local(tz, t - k * NS_PER_SEC, &e);
					if (same_local(&e, &l))
						hit = false;
				}
			}
		}
		if (!c->elapsed && !hit && l.utoff_s > prev.utoff_s) {
			/* t ends a gap: did a skipped local minute match? */
			int64_t gap_s = l.utoff_s - prev.utoff_s, k;

			for (k = 0; k < gap_s; k += 60) {
				struct cron_local g;

				/* Local seconds read as UTC: civil fields. */
				cron_tz_local(NULL, t + (prev.utoff_s + k) *
				    NS_PER_SEC, &g);
				if (ref_matches(c, &g))
					hit = true;
			}
		}
		if (hit)
			out[n++] = t;
	}
	return n;
}

static void
test_brute_force_reference(void **state)
{
	static const char *zones[] = { "Europe/London", "America/New_York",
		"Australia/Lord_Howe" };
	static const char *exprs[] = { "0 * * * *", "*/7 * * * *",
		"*/20 1 * * *", "5 */2 * * *", "30 1 * * *", "0 2 * * *",
		"45 2 * * sun", "15,45 0-3 * * *", "0 3 * * *" };
	/* Weeks around every 2026 and 2040 transition of those zones. */
	static const int64_t weeks[][3] = { { 2026, 3, 25 },
		{ 2026, 10, 21 }, { 2026, 3, 5 }, { 2026, 10, 29 },
		{ 2026, 4, 1 }, { 2026, 10, 1 }, { 2040, 3, 21 },
		{ 2040, 10, 25 }, { 2040, 3, 8 }, { 2040, 10, 31 },
		{ 2040, 3, 28 }, { 2040, 9, 28 } };
	static int64_t want[4096];
	size_t z, e, w;

	(void)state;
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct cron_tz *tz = zone(zones[z]);

		for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
			struct cron c;
			char err[128];

			assert_int_equal(cron_parse(exprs[e], &c, err,
			    sizeof(err)), 0);
			for (w = 0; w < sizeof(weeks) / sizeof(weeks[0]); w++) {
				int64_t from = utc((int)weeks[w][0],
				    (int)weeks[w][1], (int)weeks[w][2], 0, 0, 0);
				int64_t to = from + 7 * 86400 * NS_PER_SEC;
				int64_t t = from - 1;
				size_t n, i;

				n = reference(&c, tz, from, to, want,
				    sizeof(want) / sizeof(want[0]));
				for (i = 0; i < n; i++) {
					t = cron_next(&c, tz, t);
					if (t != want[i])
						fail_msg("%s \"%s\" week %zu #%zu: "
						    "got %lld, want %lld",
						    zones[z], exprs[e], w, i,
						    (long long)t,
						    (long long)want[i]);
				}
				assert_true(cron_next(&c, tz, t) >= to);
			}
		}
		cron_tz_free(tz);
	}
}

/* Offsets, DST flags, abbreviations and local fields agree with glibc
 * from 1900 to 2100, which covers the tables and the POSIX rules that
 * follow them (2038 onwards). */
static void
test_tz_matches_glibc(void **state)
{
	static const char *zones[] = { "Europe/London", "America/New_York",
		"Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata",
		"Pacific/Chatham", "America/Sao_Paulo", "Africa/Casablanca",
		"Europe/Dublin", "America/Santiago", "Pacific/Apia",
		"America/St_Johns", "Etc/GMT+5", "UTC" };
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	size_t z;

	(void)state;
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct cron_tz *tz = zone(zones[z]);
		char env[160];
		int64_t t;

		snprintf(env, sizeof(env), ":%s", zones[z]);
		setenv("TZ", env, 1);
		tzset();
		for (t = -2208988800LL; t < 4133980800LL; t += 3571 * 11) {
			time_t tt = (time_t)t;
			struct tm tm;
			struct cron_local l;

			localtime_r(&tt, &tm);
			cron_tz_local(tz, t * NS_PER_SEC, &l);
			if (l.utoff_s != tm.tm_gmtoff ||
			    l.isdst != (tm.tm_isdst > 0) ||
			    strcmp(l.abbr, tm.tm_zone) != 0 ||
			    l.year != tm.tm_year + 1900 ||
			    l.day != tm.tm_mday || l.hour != tm.tm_hour ||
			    l.minute != tm.tm_min || l.weekday != tm.tm_wday)
				fail_msg("%s at %lld: %d %s %02d:%02d, glibc "
				    "%ld %s %02d:%02d", zones[z], (long long)t,
				    l.utoff_s, l.abbr, l.hour, l.minute,
				    tm.tm_gmtoff, tm.tm_zone, tm.tm_hour,
				    tm.tm_min);
		}
		cron_tz_free(tz);
	}
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

static void
test_tz_errors(void **state)
{
	struct cron_tz *tz = (struct cron_tz *)&tz;
	char err[256];

	(void)state;
	assert_int_equal(cron_tz_load("Europe/Lodnon", &tz, err, sizeof(err)),
	    -ENOENT);
	assert_null(tz);
	assert_string_equal(err, "\"Europe/Lodnon\" is not a known time zone "
	    "(no /usr/share/zoneinfo/Europe/Lodnon)");
	assert_int_equal(cron_tz_load("../../etc/passwd", &tz, err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"../../etc/passwd\" is not a valid time "
	    "zone name (allowed an IANA name such as Europe/London)");
	assert_int_equal(cron_tz_load("/etc/localtime", &tz, err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(cron_tz_load("Europe", &tz, err, sizeof(err)),
	    -ENOENT);
	/* A file that is there but is no TZif. */
	assert_int_equal(cron_tz_load("zone.tab", &tz, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "\"zone.tab\" is not a usable time zone "
	    "(/usr/share/zoneinfo/zone.tab: not a valid TZif file)");
	assert_null(tz);
	tz = zone("Europe/London");
	assert_string_equal(cron_tz_name(tz), "Europe/London");
	cron_tz_free(tz);
	cron_tz_free(NULL);
}

static void
test_tz_system_default(void **state)
{
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	struct cron_tz *tz;
	struct cron_local l;
	char err[256];

	(void)state;
	/* A POSIX TZ string. */
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tz = zone(NULL);
	assert_string_equal(cron_tz_name(tz), "EST5EDT,M3.2.0,M11.1.0");
	cron_tz_local(tz, utc(2026, 7, 1, 12, 0, 0), &l);
	assert_int_equal(l.utoff_s, -4 * 3600);
	assert_string_equal(l.abbr, "EDT");
	cron_tz_local(tz, utc(2026, 1, 1, 12, 0, 0), &l);
	assert_int_equal(l.utoff_s, -5 * 3600);
	cron_tz_free(tz);
	/* Southern hemisphere and a quoted numeric name. */
	setenv("TZ", "AEST-10AEDT,M10.1.0,M4.1.0/3", 1);
	tz = zone("");
	cron_tz_local(tz, utc(2026, 1, 1, 0, 0, 0), &l);
	assert_int_equal(l.utoff_s, 11 * 3600);
	cron_tz_local(tz, utc(2026, 7, 1, 0, 0, 0), &l);
	assert_int_equal(l.utoff_s, 10 * 3600);
	cron_tz_free(tz);
	setenv("TZ", "<+0530>-5:30", 1);
	tz = zone(NULL);
	cron_tz_local(tz, 0, &l);
	assert_int_equal(l.utoff_s, 5 * 3600 + 1800);
	assert_string_equal(l.abbr, "+0530");
	cron_tz_free(tz);
	/* A zone name in TZ. */
	setenv("TZ", ":America/New_York", 1);
	tz = zone(NULL);
	assert_string_equal(cron_tz_name(tz), "America/New_York");
	cron_tz_free(tz);
	/* glibc's ":/path" form: the zone file at an absolute path. */
	setenv("TZ", ":/usr/share/zoneinfo/Europe/London", 1);
	tz = zone(NULL);
	cron_tz_local(tz, utc(2026, 7, 1, 12, 0, 0), &l);
	assert_int_equal(l.utoff_s, 3600);
	assert_string_equal(l.abbr, "BST");
	cron_tz_free(tz);
	if (access("/etc/localtime", R_OK) == 0) {
		setenv("TZ", ":/etc/localtime", 1);
		tz = zone(NULL);
		cron_tz_free(tz);
		setenv("TZ", ":", 1);
		tz = zone(NULL);
		cron_tz_free(tz);
	}
	setenv("TZ", ":/nonexistent/zone", 1);
	assert_int_equal(cron_tz_load(NULL, &tz, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/zone"));
	/* A directory (or a FIFO) is refused without blocking. */
	setenv("TZ", ":/usr/share/zoneinfo", 1);
	assert_int_not_equal(cron_tz_load(NULL, &tz, err, sizeof(err)), 0);
	setenv("TZ", "Nowhere/Zone", 1);
	assert_int_equal(cron_tz_load(NULL, &tz, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "TZ=\"Nowhere/Zone\" is neither a time zone "
	    "name nor a POSIX TZ string");
	/* Unset: /etc/localtime or UTC; either way it loads. */
	unsetenv("TZ");
	tz = zone(NULL);
	assert_true(strlen(cron_tz_name(tz)) > 0);
	cron_tz_free(tz);
	if (old != NULL)
		setenv("TZ", old, 1);
	free(old);
}

/* The last start in (after, until] by brute force: every start from
 * after on. */
static int64_t
last_by_walking(const struct cron *c, const struct cron_tz *tz, int64_t after,
    int64_t until)
{
	int64_t t = cron_next(c, tz, after), last = CRON_NEVER;

	while (t <= until) {
		last = t;
		t = cron_next(c, tz, t);
	}
	return last;
}

/* cron_last() agrees with walking cron_next(), for dense and sparse
 * expressions, across DST changes, at window edges, and for "at". */
static void
test_last(void **state)
{
	static const char *const exprs[] = {"* * * * *", "0 * * * *",
	    "30 1 * * *", "*/7 1-3 * * sun", "0 0 29 2 *", "* 0-11 * * *",
	    "15 1,2 * * *"};
	static const char *const zones[] = {
	    "Europe/London", "America/New_York", "Australia/Lord_Howe"};
	int64_t base = utc(2026, 3, 28, 0, 0, 0);
	char err[256];
	size_t e, z;
	int k;

	(void)state;
	srand(7);
	for (z = 0; z < 3; z++) {
		struct cron_tz *tz = zone(zones[z]);

		for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
			struct cron c;

			assert_int_equal(
			    cron_parse(exprs[e], &c, err, sizeof(err)), 0);
			for (k = 0; k < 40; k++) {
				int64_t a = base +
					    (int64_t)(rand() % (220 * 86400)) *
						NS_PER_SEC +
					    (k % 3) * 500 * NS_PER_MS;
				int64_t span = (int64_t)(rand() % (3 * 86400)) *
					       NS_PER_SEC;
				int64_t want =
				    last_by_walking(&c, tz, a, a + span);

				if (cron_last(&c, tz, a, a + span) != want)
					fail_msg(
					    "%s in %s: (%lld, %lld]: %lld, "
					    "want %lld",
					    exprs[e], zones[z], (long long)a,
					    (long long)(a + span),
					    (long long)cron_last(
						&c, tz, a, a + span),
					    (long long)want);
				/* Edges: a start at until is in, at after
				 * is out. */
				if (want != CRON_NEVER) {
					assert_int_equal(
					    cron_last(&c, tz, a, want), want);
					assert_int_equal(
					    cron_last(&c, tz, want, a + span),
					    last_by_walking(
						&c, tz, want, a + span));
				}
			}
		}
		cron_tz_free(tz);
	}
	{
		struct cron c;

		assert_int_equal(
		    cron_parse_at("2026-12-24 18:00", &c, err, sizeof(err)), 0);
		assert_int_equal(cron_last(&c, NULL, base, INT64_MAX),
		    utc(2026, 12, 24, 18, 0, 0));
		assert_int_equal(cron_last(&c, NULL, INT64_MIN,
				     utc(2026, 12, 24, 17, 59, 59)),
		    CRON_NEVER);
		assert_int_equal(
		    cron_parse("* * * * *", &c, err, sizeof(err)), 0);
		/* Extreme windows: no overflow (UBSan), sane answers. */
		assert_int_equal(
		    cron_last(&c, NULL, INT64_MIN, INT64_MIN + 1), CRON_NEVER);
		assert_int_equal(
		    cron_last(&c, NULL, INT64_MAX - 1, INT64_MAX), CRON_NEVER);
		assert_int_equal(cron_last(&c, NULL, base, base), CRON_NEVER);
		assert_true(cron_last(&c, NULL, INT64_MIN, base) == base);
	}
}

static void
test_null_zone_is_utc(void **state)
{
	struct cron_local l;

	(void)state;
	cron_tz_local(NULL, utc(2026, 11, 27, 10, 0, 0) + 999999999, &l);
	assert_int_equal(l.hour, 10);
	assert_int_equal(l.second, 0);
	assert_int_equal(l.utoff_s, 0);
	assert_string_equal(l.abbr, "UTC");
	assert_string_equal(cron_tz_name(NULL), "UTC");
	/* Before 1970 too (floor, not truncation). */
	cron_tz_local(NULL, -1, &l);
	assert_int_equal(l.year, 1969);
	assert_int_equal(l.second, 59);
	assert_int_equal(cron_tz_mktime(NULL, 2026, 11, 27, 10, 0, 0),
	    utc(2026, 11, 27, 10, 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_forms),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sunday_is_0_and_7),
		cmocka_unit_test(test_dom_dow_or_rule),
		cmocka_unit_test(test_month_ends),
		cmocka_unit_test(test_leap_day),
		cmocka_unit_test(test_dst_london_spring_forward),
		cmocka_unit_test(test_dst_london_fall_back),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_dst_half_hour_zone),
		cmocka_unit_test(test_at),
		cmocka_unit_test(test_invalid_expressions),
		cmocka_unit_test(test_invalid_at),
		cmocka_unit_test(test_brute_force_reference),
		cmocka_unit_test(test_tz_matches_glibc),
		cmocka_unit_test(test_tz_errors),
		cmocka_unit_test(test_tz_system_default),
		cmocka_unit_test(test_null_zone_is_utc),
	    cmocka_unit_test(test_last),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
