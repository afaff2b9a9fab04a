/* SPDX-License-Identifier: MIT */
/*
 * When a scheduled segment starts: five-field cron expressions
 * ("0 7 * * mon-fri") and one-off "at" times ("2026-12-24 18:00"), both
 * read as local wall time in an IANA time zone, plus the time-zone
 * arithmetic they need (struct cron_tz reads the TZif files under
 * /usr/share/zoneinfo itself, so no function here touches TZ, tzset() or
 * any other process-wide state).
 *
 * Daylight saving (docs/schedule.md has examples):
 *   - An expression whose minute or hour field starts with '*' ("0 * * * *",
 *     "*\/15 * * * *") follows elapsed time: a local time that does not
 *     exist (spring forward) is not run, a local time that occurs twice
 *     (fall back) runs both times. Hourly news stays hourly in real time.
 *   - Any other expression, and every "at", names a fixed time of day: if
 *     that time does not exist it runs once at the first instant after the
 *     gap (02:00 BST for 01:30 on the London spring-forward day); if it
 *     occurs twice it runs once, at the first occurrence.
 * This is what Vixie cron does for clock changes of under three hours.
 *
 * Times are CLOCK_REALTIME nanoseconds ("wall_ns"); nothing here reads a
 * clock.
 *
 * Threads: cron_parse*() and cron_tz_load() allocate and may be called
 * from any thread. A loaded struct cron_tz is immutable, so cron_next()
 * and cron_tz_*() on it may run concurrently from any number of threads;
 * they never block, lock or allocate.
 */
#ifndef RELAY_CRON_H
#define RELAY_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* "Never": returned by cron_next() when nothing is left to run. */
#define CRON_NEVER INT64_MAX

/* Where zone files live. */
#define CRON_ZONEINFO_DIR "/usr/share/zoneinfo"

#define CRON_TZ_ABBR_MAX 16
#define CRON_TZ_NAME_MAX 128

/* Latest year evaluated; later times are CRON_NEVER. */
#define CRON_YEAR_MAX 2199

enum cron_kind {
	CRON_EXPR = 0, /* five-field cron expression */
	CRON_AT,       /* one-off local date and time */
};

/* A parsed cron expression or "at" time. Plain data: copy freely. */
struct cron {
	enum cron_kind kind;
	/* CRON_EXPR: bit n set = value n matches. */
	uint64_t minutes; /* bits 0..59 */
	uint32_t hours;	  /* bits 0..23 */
	uint32_t days;	  /* day of month, bits 1..31 */
	uint16_t months;  /* bits 1..12 */
	uint8_t weekdays; /* bits 0..6, 0 = Sunday (7 folds into 0) */
	bool dom_star;	  /* day-of-month field starts with '*' */
	bool dow_star;	  /* day-of-week field starts with '*' */
	bool elapsed;	  /* minute or hour field starts with '*' (DST) */
	/* CRON_AT: local civil time. */
	int year, month, day, hour, minute, second;
};

/* A broken-down local time, as cron_tz_local() reports it. */
struct cron_local {
	int year;
	int month;	 /* 1..12 */
	int day;	 /* 1..31 */
	int hour;	 /* 0..23 */
	int minute;	 /* 0..59 */
	int second;	 /* 0..59 */
	int weekday;	 /* 0 = Sunday */
	int32_t utoff_s; /* seconds east of UTC */
	bool isdst;
	char abbr[CRON_TZ_ABBR_MAX]; /* "GMT", "BST", "+0530" */
};

struct cron_tz;

/* Parses a five-field expression: minute hour day-of-month month
 * day-of-week, each "*", a value, a range a-b, a step *\/n or a-b/n, or a
 * comma list of those; month and day names (jan..dec, sun..sat) in any
 * case; 0 and 7 are Sunday. When both day fields are restricted a day
 * matches if either does (Vixie cron). An expression that can never fire
 * (day 31 only in 30-day months) is an error. 0, or -EINVAL with err set
 * to the reason without the expression, e.g.
 * "hour \"24\" is out of range (allowed 0-23)". */
RELAY_MUST_CHECK int cron_parse(
    const char *expr, struct cron *out, char *err, size_t errlen);

/* Parses "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (local time; years
 * 1970..CRON_YEAR_MAX). 0, or -EINVAL with err set. */
RELAY_MUST_CHECK int cron_parse_at(
    const char *text, struct cron *out, char *err, size_t errlen);

/* The first start strictly after after_wall_ns, in zone tz (NULL = UTC),
 * following the daylight-saving rules above; CRON_NEVER if none (an "at"
 * in the past, or nothing before CRON_YEAR_MAX). */
int64_t cron_next(
    const struct cron *c, const struct cron_tz *tz, int64_t after_wall_ns);

/* The last start s with after_wall_ns < s <= until_wall_ns, or CRON_NEVER
 * when there is none. Found with O(log((until - after) / 1 s)) calls of
 * cron_next(), whatever the number of starts in between: a segment that
 * runs every minute costs as little as one that runs once a day. */
int64_t cron_last(const struct cron *c, const struct cron_tz *tz,
    int64_t after_wall_ns, int64_t until_wall_ns);

/* Loads a zone. name is an IANA name ("Europe/London"), read from
 * CRON_ZONEINFO_DIR/name, which must be a TZif file without leap seconds.
 * NULL or "" means the system's zone: $TZ if set (a zone name or a POSIX
 * TZ string such as "EST5EDT,M3.2.0,M11.1.0"), else /etc/localtime, else
 * UTC. Owned: cron_tz_free(). 0, or a negative errno with err set, e.g.
 * "\"Europe/Lodnon\" is not a known time zone (no
 * /usr/share/zoneinfo/Europe/Lodnon)". */
RELAY_MUST_CHECK int cron_tz_load(
    const char *name, struct cron_tz **out, char *err, size_t errlen);

/* Frees; NULL is a no-op. */
void cron_tz_free(struct cron_tz *tz);

/* The zone's name as given, or the system zone's ("Etc/UTC",
 * "localtime"). Borrowed: valid until cron_tz_free(). */
const char *cron_tz_name(const struct cron_tz *tz);

/* Local time, offset and abbreviation at wall_ns (tz NULL = UTC). */
void cron_tz_local(
    const struct cron_tz *tz, int64_t wall_ns, struct cron_local *out);

/* The instant a local civil time names, by the fixed-time rule above (a
 * time in a gap gives the end of the gap; a repeated time gives its first
 * occurrence). CRON_NEVER if the fields are not a valid date and time. */
int64_t cron_tz_mktime(const struct cron_tz *tz, int year, int month, int day,
    int hour, int minute, int second);

#endif
