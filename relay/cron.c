/* SPDX-License-Identifier: MIT */
/*
 * Cron expressions, one-off "at" times and the time-zone arithmetic they
 * need. See cron.h for the rules; docs/schedule.md for examples.
 *
 * DESIGN
 * Why read TZif ourselves instead of setenv("TZ") + tzset() + mktime():
 * relay is multi-threaded. setenv() may move the environment while another
 * thread (getaddrinfo in libshout or libcurl, log formatting) reads it,
 * which glibc does not guard against, and TZ is process-wide, so a mutex
 * in this file cannot protect other modules' localtime_r() from seeing the
 * schedule's zone. A TZif file is simple (RFC 8536): a sorted table of
 * transitions, a table of offsets, and a POSIX TZ string for times after
 * the table. Reading it into an immutable struct makes every evaluation a
 * pure function of (expression, zone, instant), safe on any thread and
 * trivially testable; test_cron.c checks the result against glibc's
 * localtime_r() for many zones and years.
 *
 * Evaluation works in "local seconds" L = UTC seconds + offset, a plain
 * proleptic Gregorian count with no zone. next_local_match() finds the
 * next civil minute the expression matches; local_instants() maps a civil
 * time back to the 0, 1 or 2 instants that read it. The zone's smallest
 * and largest offsets bound how far apart the two can be, which bounds the
 * scan in cron_next().
 *
 * Threads: see cron.h. Nothing here has static mutable state.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron.h"

#define SECS_PER_DAY INT64_C(86400)
#define TZIF_MAX_BYTES (1024 * 1024)
#define TZ_MAX_OFFSET_S (26 * 3600)
#define MAX_INSTANTS 4

struct tz_type {
	int32_t utoff_s;
	bool isdst;
	char abbr[CRON_TZ_ABBR_MAX];
};

/* A POSIX TZ rule date: Jn (1..365, no Feb 29), n (0..365) or Mm.w.d. */
struct tz_rule {
	char kind;	       /* 'J', 'N' or 'M' */
	int day;	       /* J, N */
	int month, week, wday; /* M */
	int32_t time_s;	       /* local time of day of the change */
};

struct cron_tz {
	char name[CRON_TZ_NAME_MAX];
	int64_t *trans_s;    /* ascending transition instants */
	uint8_t *trans_type; /* type index in effect from trans_s[i] */
	size_t n_trans;
	struct tz_type *types;
	size_t n_types;
	/* POSIX TZ string: applies after the last transition. */
	bool has_rule;
	bool rule_has_dst;
	struct tz_type std, dst;
	struct tz_rule start, end;
	int32_t off_min_s, off_max_s;
};

/* The zone used for tz == NULL. */
static const struct cron_tz utc_zone = {
    .name = "UTC",
    .has_rule = true,
    .std = {0, false, "UTC"},
    .dst = {0, false, "UTC"},
};

/* ------------------------------------------------------------------ */
/* Calendar arithmetic (proleptic Gregorian, days since 1970-01-01).   */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && is_leap(y))
		return 29;
	return days[m - 1];
}

/* Days from 1970-01-01 to y-m-d. Eras of 400 years repeat exactly. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	/* Day of a year that starts on March 1st: leap days fall last. */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
weekday_of_days(int64_t z)
{
	return (int)(z + 4 - floor_div(z + 4, 7) * 7);
}

/* ------------------------------------------------------------------ */
/* Time zones.                                                         */

static int
rule_day(int64_t y, const struct tz_rule *r, int64_t *out_days)
{
	int64_t jan1 = days_from_civil(y, 1, 1);
	int64_t first;
	int d;

	switch (r->kind) {
	case 'J':
		/* 1..365, February 29th is never counted. */
		*out_days =
		    jan1 + r->day - 1 + (is_leap(y) && r->day >= 60 ? 1 : 0);
		return 0;
	case 'N':
		*out_days = jan1 + r->day;
		return 0;
	case 'M':
		first = days_from_civil(y, r->month, 1);
		d = 1 + (r->wday - weekday_of_days(first) + 7) % 7 +
		    (r->week - 1) * 7;
		while (d > month_days(y, r->month))
			d -= 7;
		*out_days = first + d - 1;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The instants in year y at which DST starts and ends. */
static void
rule_instants(
    const struct cron_tz *tz, int64_t y, int64_t *start_s, int64_t *end_s)
{
	int64_t ds = 0, de = 0;

	(void)rule_day(y, &tz->start, &ds);
	(void)rule_day(y, &tz->end, &de);
	/* The start is given in standard time, the end in daylight time. */
	*start_s = ds * SECS_PER_DAY + tz->start.time_s - tz->std.utoff_s;
	*end_s = de * SECS_PER_DAY + tz->end.time_s - tz->dst.utoff_s;
}

static int64_t
year_of(int64_t local_s)
{
	int64_t y;
	int m, d;

	civil_from_days(floor_div(local_s, SECS_PER_DAY), &y, &m, &d);
	return y;
}

static const struct tz_type *
rule_type_at(const struct cron_tz *tz, int64_t t)
{
	int64_t s, e;

	if (!tz->rule_has_dst)
		return &tz->std;
	rule_instants(tz, year_of(t + tz->std.utoff_s), &s, &e);
	if (s < e)
		return (t >= s && t < e) ? &tz->dst : &tz->std;
	/* Southern hemisphere: DST spans the turn of the year. */
	return (t >= e && t < s) ? &tz->std : &tz->dst;
}

static const struct tz_type *
type_at(const struct cron_tz *tz, int64_t t)
{
	size_t lo, hi;

	if (tz == NULL)
		tz = &utc_zone;
	if (tz->n_trans == 0)
		return tz->has_rule ? rule_type_at(tz, t) : &tz->types[0];
	if (t < tz->trans_s[0])
		return &tz->types[0]; /* RFC 8536: type 0 before the table */
	if (t >= tz->trans_s[tz->n_trans - 1] && tz->has_rule)
		return rule_type_at(tz, t);
	/* The last i with trans_s[i] <= t. */
	lo = 0;
	hi = tz->n_trans;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->trans_s[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &tz->types[tz->trans_type[lo]];
}

/* The first instant after t covered by the POSIX rule at which the
 * offset changes, or CRON_NEVER. */
static int64_t
rule_next_change(const struct cron_tz *tz, int64_t t)
{
	int64_t y, best = CRON_NEVER;
	int64_t k;

	if (!tz->rule_has_dst || tz->std.utoff_s == tz->dst.utoff_s)
		return CRON_NEVER;
	y = year_of(t + tz->std.utoff_s);
	for (k = y - 1; k <= y + 1; k++) {
		int64_t s, e;

		rule_instants(tz, k, &s, &e);
		if (s > t && s < best)
			best = s;
		if (e > t && e < best)
			best = e;
	}
	return best;
}

/* The first instant after t at which the UTC offset may change. */
static int64_t
next_change(const struct cron_tz *tz, int64_t t)
{
	if (tz == NULL)
		return CRON_NEVER;
	if (tz->n_trans > 0 && t < tz->trans_s[tz->n_trans - 1]) {
		size_t lo = 0, hi = tz->n_trans - 1;
		int32_t cur = type_at(tz, t)->utoff_s;

		/* The first i with trans_s[i] > t. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (tz->trans_s[mid] > t)
				hi = mid;
			else
				lo = mid + 1;
		}
		for (; lo < tz->n_trans; lo++) {
			if (tz->types[tz->trans_type[lo]].utoff_s != cur)
				return tz->trans_s[lo];
		}
		t = tz->trans_s[tz->n_trans - 1];
	}
	if (tz->has_rule)
		return rule_next_change(tz, t);
	return CRON_NEVER;
}

/*
 * The instants (ascending, at most MAX_INSTANTS) at which the local clock
 * reads local_s. Returns their count; when it is 0 local_s falls in a gap
 * and *gap_end_s is the instant the clock jumps over it.
 */
static int
local_instants(
    const struct cron_tz *tz, int64_t local_s, int64_t *out, int64_t *gap_end_s)
{
	int32_t off_min = tz != NULL ? tz->off_min_s : 0;
	int32_t off_max = tz != NULL ? tz->off_max_s : 0;
	int64_t a = local_s - off_max, limit = local_s - off_min;
	int32_t o = type_at(tz, a)->utoff_s;
	int n = 0;

	*gap_end_s = CRON_NEVER;
	for (;;) {
		/* [a, b) has offset o. */
		int64_t b = next_change(tz, a);
		int64_t cand = local_s - o;
		int32_t o2;

		if (cand >= a && cand < b)
			out[n++] = cand;
		if (b == CRON_NEVER || b > limit || n == MAX_INSTANTS)
			break;
		o2 = type_at(tz, b)->utoff_s;
		if (local_s >= b + o && local_s < b + o2)
			*gap_end_s = b;
		a = b;
		o = o2;
	}
	return n;
}

/* The smallest and largest offsets in effect at any instant of [a, b]. */
static void
offset_range(
    const struct cron_tz *tz, int64_t a, int64_t b, int32_t *lo, int32_t *hi)
{
	int32_t o = type_at(tz, a)->utoff_s;

	*lo = *hi = o;
	for (;;) {
		a = next_change(tz, a);
		if (a == CRON_NEVER || a > b)
			break;
		o = type_at(tz, a)->utoff_s;
		if (o < *lo)
			*lo = o;
		if (o > *hi)
			*hi = o;
	}
}

/* Fixed-time rule: the first reading, or the end of the gap. */
static int64_t
local_to_instant(const struct cron_tz *tz, int64_t local_s)
{
	int64_t inst[MAX_INSTANTS], gap_end;

	if (local_instants(tz, local_s, inst, &gap_end) > 0)
		return inst[0];
	return gap_end;
}

void
cron_tz_local(const struct cron_tz *tz, int64_t wall_ns, struct cron_local *out)
{
	int64_t t = floor_div(wall_ns, NS_PER_SEC);
	const struct tz_type *ty = type_at(tz, t);
	int64_t l = t + ty->utoff_s, days = floor_div(l, SECS_PER_DAY);
	int64_t secs = l - days * SECS_PER_DAY, y;

	civil_from_days(days, &y, &out->month, &out->day);
	out->year = (int)y;
	out->hour = (int)(secs / 3600);
	out->minute = (int)(secs / 60 % 60);
	out->second = (int)(secs % 60);
	out->weekday = weekday_of_days(days);
	out->utoff_s = ty->utoff_s;
	out->isdst = ty->isdst;
	util_strlcpy(out->abbr, ty->abbr, sizeof(out->abbr));
}

static bool
civil_valid(int year, int month, int day, int hour, int minute, int second)
{
	return year >= 1970 && year <= CRON_YEAR_MAX && month >= 1 &&
	       month <= 12 && day >= 1 && day <= month_days(year, month) &&
	       hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 &&
	       second >= 0 && second <= 59;
}

static int64_t
civil_to_local_s(int year, int month, int day, int hour, int minute, int second)
{
	return days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 +
	       minute * 60 + second;
}

int64_t
cron_tz_mktime(const struct cron_tz *tz, int year, int month, int day, int hour,
    int minute, int second)
{
	int64_t t;

	if (!civil_valid(year, month, day, hour, minute, second))
		return CRON_NEVER;
	t = local_to_instant(
	    tz, civil_to_local_s(year, month, day, hour, minute, second));
	if (t == CRON_NEVER)
		return CRON_NEVER;
	return t * NS_PER_SEC;
}

const char *
cron_tz_name(const struct cron_tz *tz)
{
	return tz != NULL ? tz->name : utc_zone.name;
}

void
cron_tz_free(struct cron_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->trans_s);
	free(tz->trans_type);
	free(tz->types);
	free(tz);
}

/* --- POSIX TZ strings ("GMT0BST,M3.5.0/1,M10.5.0") ---------------- */

static int
posix_abbr(const char **pp, char *out)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '<') {
		p++;
		while (isalnum((unsigned char)*p) || *p == '+' || *p == '-') {
			if (n + 1 < CRON_TZ_ABBR_MAX)
				out[n++] = *p;
			p++;
		}
		if (*p != '>')
			return -EINVAL;
		p++;
	} else {
		while (isalpha((unsigned char)*p)) {
			if (n + 1 < CRON_TZ_ABBR_MAX)
				out[n++] = *p;
			p++;
		}
	}
	out[n] = '\0';
	if (n < 3)
		return -EINVAL;
	*pp = p;
	return 0;
}

static int
posix_number(const char **pp, int min, int max, int *out)
{
	const char *p = *pp;
	int v = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (v > max)
			return -EINVAL;
		p++;
	}
	if (v < min)
		return -EINVAL;
	*out = v;
	*pp = p;
	return 0;
}

/* [+-]hh[:mm[:ss]] in seconds. */
static int
posix_time(const char **pp, int max_hours, int32_t *out_s)
{
	const char *p = *pp;
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (posix_number(&p, 0, max_hours, &h) < 0)
		return -EINVAL;
	if (*p == ':') {
		p++;
		if (posix_number(&p, 0, 59, &m) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (posix_number(&p, 0, 59, &s) < 0)
				return -EINVAL;
		}
	}
	*out_s = sign * (h * 3600 + m * 60 + s);
	*pp = p;
	return 0;
}

static int
posix_rule(const char **pp, struct tz_rule *r)
{
	const char *p = *pp;

	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (posix_number(&p, 1, 365, &r->day) < 0)
			return -EINVAL;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (posix_number(&p, 1, 12, &r->month) < 0 || *p++ != '.' ||
		    posix_number(&p, 1, 5, &r->week) < 0 || *p++ != '.' ||
		    posix_number(&p, 0, 6, &r->wday) < 0)
			return -EINVAL;
	} else {
		r->kind = 'N';
		if (posix_number(&p, 0, 365, &r->day) < 0)
			return -EINVAL;
	}
	r->time_s = 2 * 3600;
	if (*p == '/') {
		p++;
		/* RFC 8536 extends the hour range to -167..167. */
		if (posix_time(&p, 167, &r->time_s) < 0)
			return -EINVAL;
	}
	*pp = p;
	return 0;
}

/* Parses spec into tz's rule fields. */
static int
posix_parse(const char *spec, struct cron_tz *tz)
{
	const char *p = spec;
	int32_t off;

	if (posix_abbr(&p, tz->std.abbr) < 0 || posix_time(&p, 24, &off) < 0)
		return -EINVAL;
	/* POSIX offsets are west of Greenwich: negate. */
	tz->std.utoff_s = -off;
	tz->std.isdst = false;
	tz->has_rule = true;
	tz->rule_has_dst = false;
	if (*p == '\0')
		return 0;
	if (posix_abbr(&p, tz->dst.abbr) < 0)
		return -EINVAL;
	tz->dst.isdst = true;
	tz->dst.utoff_s = tz->std.utoff_s + 3600;
	if (*p != ',' && *p != '\0') {
		if (posix_time(&p, 24, &off) < 0)
			return -EINVAL;
		tz->dst.utoff_s = -off;
	}
	tz->rule_has_dst = true;
	if (*p == '\0') {
		/* No rule: the POSIX default (United States since 2007). */
		tz->start = (struct tz_rule){'M', 0, 3, 2, 0, 7200};
		tz->end = (struct tz_rule){'M', 0, 11, 1, 0, 7200};
		return 0;
	}
	if (*p++ != ',' || posix_rule(&p, &tz->start) < 0 || *p++ != ',' ||
	    posix_rule(&p, &tz->end) < 0 || *p != '\0')
		return -EINVAL;
	return 0;
}

/* --- TZif files (RFC 8536) ----------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int
tzif_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -EINVAL;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	/* Bounds that keep the size arithmetic below far from overflow. */
	if (c->time > 1000000 || c->type > 256 || c->chars > 65536 ||
	    c->leap > 100000 || c->isut > 256 || c->isstd > 256)
		return -EINVAL;
	return 0;
}

static size_t
tzif_block_bytes(const struct tzif_counts *c, size_t time_bytes)
{
	return (size_t)c->time * time_bytes + c->time + (size_t)c->type * 6 +
	       c->chars + (size_t)c->leap * (time_bytes + 4) + c->isstd +
	       c->isut;
}

/* Fills tz from a TZif image; err gets "what is wrong" on failure. */
static int
tzif_parse(const unsigned char *buf, size_t len, struct cron_tz *tz, char *err,
    size_t errlen)
{
	struct tzif_counts c;
	const unsigned char *p;
	size_t time_bytes = 4, i, block;
	int version;

	if (tzif_header(buf, len, &c) < 0)
		goto bad;
	version = buf[4];
	p = buf + 44;
	block = tzif_block_bytes(&c, 4);
	if (block > len - 44)
		goto bad;
	if (version >= '2') {
		/* Skip the 32-bit block: use the 64-bit one that follows. */
		p += block;
		if (tzif_header(p, len - (size_t)(p - buf), &c) < 0)
			goto bad;
		p += 44;
		time_bytes = 8;
		block = tzif_block_bytes(&c, 8);
		if (block > len - (size_t)(p - buf))
			goto bad;
	}
	if (c.leap != 0) {
		snprintf(err, errlen,
		    "zones with leap seconds (right/...) are "
		    "not supported");
		return -ENOTSUP;
	}
	if (c.type == 0 || c.chars == 0)
		goto bad;
	tz->n_trans = c.time;
	tz->n_types = c.type;
	tz->trans_s = calloc(c.time + 1, sizeof(*tz->trans_s));
	tz->trans_type = calloc(c.time + 1, sizeof(*tz->trans_type));
	tz->types = calloc(c.type, sizeof(*tz->types));
	if (tz->trans_s == NULL || tz->trans_type == NULL ||
	    tz->types == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < c.time; i++) {
		if (time_bytes == 8)
			tz->trans_s[i] = be64(p + i * 8);
		else
			tz->trans_s[i] = (int32_t)be32(p + i * 4);
		if (i > 0 && tz->trans_s[i] <= tz->trans_s[i - 1])
			goto bad;
	}
	p += (size_t)c.time * time_bytes;
	for (i = 0; i < c.time; i++) {
		tz->trans_type[i] = p[i];
		if (p[i] >= c.type)
			goto bad;
	}
	p += c.time;
	for (i = 0; i < c.type; i++) {
		const unsigned char *t = p + i * 6;
		int32_t off = (int32_t)be32(t);
		const unsigned char *chars = p + (size_t)c.type * 6;
		size_t ai = t[5];

		if (off < -TZ_MAX_OFFSET_S || off > TZ_MAX_OFFSET_S ||
		    t[4] > 1 || ai >= c.chars ||
		    memchr(chars + ai, '\0', c.chars - ai) == NULL)
			goto bad;
		tz->types[i].utoff_s = off;
		tz->types[i].isdst = t[4] == 1;
		util_strlcpy(tz->types[i].abbr, (const char *)chars + ai,
		    sizeof(tz->types[i].abbr));
	}
	p += block - (size_t)c.time * (time_bytes + 1);
	if (version >= '2') {
		/* Footer: "\n" POSIX-TZ-string "\n". */
		const unsigned char *end = buf + len;
		const unsigned char *nl;
		char spec[256];
		size_t n;

		if (p >= end || *p != '\n')
			goto bad;
		p++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (n = (size_t)(nl - p)) >= sizeof(spec))
			goto bad;
		memcpy(spec, p, n);
		spec[n] = '\0';
		if (n > 0 && posix_parse(spec, tz) < 0) {
			snprintf(
			    err, errlen, "unsupported TZ rule \"%.64s\"", spec);
			return -ENOTSUP;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "not a valid TZif file");
	return -EINVAL;
}

static void
tz_offset_bounds(struct cron_tz *tz)
{
	size_t i;

	tz->off_min_s = INT32_MAX;
	tz->off_max_s = INT32_MIN;
	for (i = 0; i < tz->n_types; i++) {
		if (tz->types[i].utoff_s < tz->off_min_s)
			tz->off_min_s = tz->types[i].utoff_s;
		if (tz->types[i].utoff_s > tz->off_max_s)
			tz->off_max_s = tz->types[i].utoff_s;
	}
	if (tz->has_rule) {
		const struct tz_type *t[2] = {&tz->std, &tz->dst};

		for (i = 0; i < (tz->rule_has_dst ? 2u : 1u); i++) {
			if (t[i]->utoff_s < tz->off_min_s)
				tz->off_min_s = t[i]->utoff_s;
			if (t[i]->utoff_s > tz->off_max_s)
				tz->off_max_s = t[i]->utoff_s;
		}
	}
}

static int
read_file(const char *path, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t used = 0;
	int fd, rc = 0;

	/* Never blocks on a FIFO ($TZ may name any path). */
	fd = util_open_regular(path);
	if (fd == -EINVAL)
		return -EISDIR;
	if (fd < 0)
		return fd;
	buf = malloc(TZIF_MAX_BYTES + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, TZIF_MAX_BYTES + 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > TZIF_MAX_BYTES) {
			rc = -EFBIG;
			goto out;
		}
	}
	*out = buf;
	*out_len = used;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* An IANA name: letters, digits, '/', '_', '-', '+', '.'; no "..", no
 * leading '/'. */
static bool
zone_name_ok(const char *name)
{
	const char *p;

	if (name[0] == '\0' || name[0] == '/' || name[0] == '.' ||
	    strlen(name) >= CRON_TZ_NAME_MAX || strstr(name, "..") != NULL ||
	    strstr(name, "/.") != NULL)
		return false;
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("/_-+.", *p) == NULL)
			return false;
	}
	return true;
}

static int
load_file(const char *path, const char *name, struct cron_tz *tz, char *err,
    size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char why[160];
	int rc;

	rc = read_file(path, &buf, &len);
	if (rc == -ENOENT || rc == -ENOTDIR || rc == -EISDIR) {
		snprintf(err, errlen, "\"%s\" is not a known time zone (no %s)",
		    name, path);
		return -ENOENT;
	}
	if (rc < 0) {
		snprintf(
		    err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	why[0] = '\0';
	rc = tzif_parse(buf, len, tz, why, sizeof(why));
	free(buf);
	if (rc < 0) {
		snprintf(err, errlen,
		    "\"%s\" is not a usable time zone (%s: %s)", name, path,
		    why);
		return rc;
	}
	return 0;
}

int
cron_tz_load(const char *name, struct cron_tz **out, char *err, size_t errlen)
{
	struct cron_tz *tz;
	char path[CRON_TZ_NAME_MAX + 64];
	const char *env;
	int rc;

	*out = NULL;
	tz = calloc(1, sizeof(*tz));
	if (tz == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	env = getenv("TZ");
	if (name != NULL && name[0] != '\0') {
		if (!zone_name_ok(name)) {
			snprintf(err, errlen,
			    "\"%s\" is not a valid time zone "
			    "name (allowed an IANA name such as Europe/London)",
			    name);
			rc = -EINVAL;
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", CRON_ZONEINFO_DIR, name);
		rc = load_file(path, name, tz, err, errlen);
		if (rc < 0)
			goto fail;
		util_strlcpy(tz->name, name, sizeof(tz->name));
	} else if (env != NULL && env[0] != '\0') {
		/* $TZ: ":Europe/London", "Europe/London", a POSIX string,
		 * or glibc's ":/etc/localtime" (a leading colon, then an
		 * absolute path; ":" alone is /etc/localtime). */
		const char *spec = env[0] == ':' ? env + 1 : env;

		if (env[0] == ':' && spec[0] == '\0')
			spec = "/etc/localtime";
		snprintf(path, sizeof(path), "%s/%s", CRON_ZONEINFO_DIR, spec);
		if (env[0] == ':' && spec[0] == '/') {
			rc = load_file(spec, spec, tz, err, errlen);
			if (rc < 0)
				goto fail;
		} else if (zone_name_ok(spec) && access(path, R_OK) == 0) {
			rc = load_file(path, spec, tz, err, errlen);
			if (rc < 0)
				goto fail;
		} else if (posix_parse(spec, tz) < 0) {
			snprintf(err, errlen,
			    "TZ=\"%s\" is neither a time zone "
			    "name nor a POSIX TZ string",
			    env);
			rc = -EINVAL;
			goto fail;
		}
		util_strlcpy(tz->name, spec, sizeof(tz->name));
	} else if (access("/etc/localtime", R_OK) == 0) {
		char link[PATH_MAX];
		ssize_t n;
		const char *zi;

		rc = load_file("/etc/localtime", "localtime", tz, err, errlen);
		if (rc < 0)
			goto fail;
		util_strlcpy(tz->name, "localtime", sizeof(tz->name));
		n = readlink("/etc/localtime", link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			zi = strstr(link, "zoneinfo/");
			if (zi != NULL)
				util_strlcpy(
				    tz->name, zi + 9, sizeof(tz->name));
		}
	} else {
		*tz = utc_zone;
	}
	tz_offset_bounds(tz);
	*out = tz;
	return 0;
fail:
	cron_tz_free(tz);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Cron expressions.                                                   */

struct field_spec {
	const char *name;
	int min, max; /* values accepted */
	int star_max; /* the largest value '*' covers */
	const char *allowed;
	const char *const *names; /* three-letter names, value = base + i */
	int names_base;
	int n_names;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat"};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct field_spec fields[F_COUNT] = {
    {"minute", 0, 59, 59, "0-59", NULL, 0, 0},
    {"hour", 0, 23, 23, "0-23", NULL, 0, 0},
    {"day-of-month", 1, 31, 31, "1-31", NULL, 0, 0},
    {"month", 1, 12, 12, "1-12 or jan-dec", month_names, 1, 12},
    {"day-of-week", 0, 7, 6, "0-7 or sun-sat, 0 and 7 = Sunday", day_names, 0,
	7},
};

/* One value: a number or, where the field has them, a name. */
static int
parse_value(const struct field_spec *f, const char *s, size_t len, int *out,
    char *err, size_t errlen)
{
	size_t i;
	int v = 0;

	if (len == 0) {
		snprintf(err, errlen, "%s: a value is missing (allowed %s)",
		    f->name, f->allowed);
		return -EINVAL;
	}
	if (isalpha((unsigned char)s[0])) {
		for (i = 0; f->names != NULL && i < (size_t)f->n_names; i++) {
			if (len == 3 && strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->names_base + (int)i;
				return 0;
			}
		}
		snprintf(err, errlen, "%s \"%.*s\" is not %s (allowed %s)",
		    f->name, (int)len, s,
		    f->names != NULL ? "a valid name" : "a number", f->allowed);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 4) {
			snprintf(err, errlen,
			    "%s \"%.*s\" is not a number "
			    "(allowed %s)",
			    f->name, (int)len, s, f->allowed);
			return -EINVAL;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (v < f->min || v > f->max) {
		snprintf(err, errlen,
		    "%s \"%.*s\" is out of range (allowed %s)", f->name,
		    (int)len, s, f->allowed);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* One comma-separated item: *, v, a-b, with an optional /step. */
static int
parse_item(const struct field_spec *f, const char *s, size_t len,
    uint64_t *bits, char *err, size_t errlen)
{
	const char *slash = memchr(s, '/', len);
	size_t base_len = slash != NULL ? (size_t)(slash - s) : len;
	const char *dash = memchr(s, '-', base_len);
	int lo, hi, step = 1, v;

	if (len == 0) {
		snprintf(err, errlen, "%s: empty item in the list (allowed %s)",
		    f->name, f->allowed);
		return -EINVAL;
	}
	if (base_len == 1 && s[0] == '*') {
		lo = f->min;
		hi = f->star_max;
	} else if (dash != NULL) {
		if (parse_value(f, s, (size_t)(dash - s), &lo, err, errlen) <
			0 ||
		    parse_value(f, dash + 1, base_len - (size_t)(dash - s) - 1,
			&hi, err, errlen) < 0)
			return -EINVAL;
		if (lo > hi) {
			snprintf(err, errlen,
			    "%s range \"%.*s\" runs backwards "
			    "(allowed a-b with a <= b)",
			    f->name, (int)base_len, s);
			return -EINVAL;
		}
	} else {
		if (parse_value(f, s, base_len, &lo, err, errlen) < 0)
			return -EINVAL;
		hi = lo;
		if (slash != NULL) {
			snprintf(err, errlen,
			    "%s \"%.*s\": a step needs a range "
			    "(allowed */n or a-b/n)",
			    f->name, (int)len, s);
			return -EINVAL;
		}
	}
	if (slash != NULL) {
		const char *st = slash + 1;
		size_t st_len = len - base_len - 1;
		size_t i;

		step = 0;
		for (i = 0; i < st_len && i < 4; i++) {
			if (!isdigit((unsigned char)st[i]))
				break;
			step = step * 10 + (st[i] - '0');
		}
		if (st_len == 0 || i != st_len || step < 1 ||
		    step > f->star_max - f->min) {
			snprintf(err, errlen,
			    "%s step \"%.*s\" is not valid "
			    "(allowed 1-%d)",
			    f->name, (int)st_len, st, f->star_max - f->min);
			return -EINVAL;
		}
	}
	for (v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

static int
parse_field(const struct field_spec *f, const char *s, size_t len,
    uint64_t *bits, char *err, size_t errlen)
{
	const char *end = s + len;

	*bits = 0;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *item_end = comma != NULL ? comma : end;

		if (parse_item(
			f, s, (size_t)(item_end - s), bits, err, errlen) < 0)
			return -EINVAL;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	return 0;
}

/* False when only day-of-month restricts days and no listed month has any
 * of the listed days (31 in April, 30 in February). */
static bool
can_fire(const struct cron *c)
{
	int m, d;

	if (c->dom_star || !c->dow_star)
		return true;
	for (m = 1; m <= 12; m++) {
		if (!(c->months & (1u << m)))
			continue;
		/* February counts 29 days: leap years exist. */
		for (d = 1; d <= (m == 2 ? 29 : month_days(2001, m)); d++) {
			if (c->days & (UINT32_C(1) << d))
				return true;
		}
	}
	return false;
}

int
cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
	const char *p = expr, *start[F_COUNT + 1];
	size_t len[F_COUNT + 1];
	uint64_t bits[F_COUNT];
	int n = 0, i;

	if (expr == NULL)
		return -EINVAL;
	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (n <= F_COUNT)
			start[n] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (n <= F_COUNT)
			len[n] = (size_t)(p - start[n]);
		n++;
	}
	if (n != F_COUNT) {
		snprintf(err, errlen,
		    "expected 5 fields (minute hour "
		    "day-of-month month day-of-week), got %d",
		    n);
		return -EINVAL;
	}
	for (i = 0; i < F_COUNT; i++) {
		if (parse_field(&fields[i], start[i], len[i], &bits[i], err,
			errlen) < 0)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->kind = CRON_EXPR;
	out->minutes = bits[F_MINUTE];
	out->hours = (uint32_t)bits[F_HOUR];
	out->days = (uint32_t)bits[F_DOM];
	out->months = (uint16_t)bits[F_MONTH];
	/* Day 7 is Sunday too. */
	out->weekdays = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & 0x7f);
	out->dom_star = start[F_DOM][0] == '*';
	out->dow_star = start[F_DOW][0] == '*';
	out->elapsed = start[F_MINUTE][0] == '*' || start[F_HOUR][0] == '*';
	if (!can_fire(out)) {
		snprintf(err, errlen,
		    "day-of-month \"%.*s\" never occurs in "
		    "month \"%.*s\" (the expression would never fire)",
		    (int)len[F_DOM], start[F_DOM], (int)len[F_MONTH],
		    start[F_MONTH]);
		return -EINVAL;
	}
	return 0;
}

/* Reads the digits of pattern "DDDD-DD-DD DD:DD[:DD]" from p. Returns the
 * number of characters matched (16 or 19) or 0. */
static size_t
at_shape(const char *p, int *v)
{
	static const char pattern[] = "DDDD-DD-DD DD:DD:DD";
	size_t i, k = 0;

	memset(v, 0, 6 * sizeof(*v));
	for (i = 0; pattern[i] != '\0'; i++) {
		if (i == 16 && p[i] != ':')
			return 16;
		if (pattern[i] == 'D') {
			if (!isdigit((unsigned char)p[i]))
				return 0;
			v[k] = v[k] * 10 + (p[i] - '0');
		} else if (p[i] != pattern[i]) {
			return 0;
		} else {
			k++;
		}
	}
	return i;
}

int
cron_parse_at(const char *text, struct cron *out, char *err, size_t errlen)
{
	int v[6];
	const char *p = text;
	size_t n;

	if (text == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	n = at_shape(p, v);
	if (n == 0)
		goto shape;
	p += n;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		goto shape;
	if (v[0] < 1970 || v[0] > CRON_YEAR_MAX || v[1] < 1 || v[1] > 12 ||
	    v[2] < 1 || v[2] > month_days(v[0], v[1])) {
		snprintf(err, errlen,
		    "\"%s\" is not a valid date (allowed "
		    "1970-01-01 to %d-12-31)",
		    text, CRON_YEAR_MAX);
		return -EINVAL;
	}
	if (v[3] > 23 || v[4] > 59 || v[5] > 59) {
		snprintf(err, errlen,
		    "\"%s\" is not a valid time of day "
		    "(allowed 00:00:00 to 23:59:59)",
		    text);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->kind = CRON_AT;
	out->year = v[0];
	out->month = v[1];
	out->day = v[2];
	out->hour = v[3];
	out->minute = v[4];
	out->second = v[5];
	return 0;
shape:
	snprintf(err, errlen,
	    "\"%s\" is not a date and time (allowed "
	    "YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS)",
	    text);
	return -EINVAL;
}

static bool
day_matches(const struct cron *c, int mday, int wday)
{
	bool dom = (c->days & (UINT32_C(1) << mday)) != 0;
	bool dow = (c->weekdays & (1u << wday)) != 0;

	/* Vixie cron: a '*' in either day field means "both must match",
	 * otherwise either may. */
	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

/* The first whole local minute at or after local_s that c matches, or
 * CRON_NEVER when none comes before year_limit ends. */
static int64_t
next_local_match(const struct cron *c, int64_t local_s, int64_t year_limit)
{
	int64_t minute = floor_div(local_s + 59, 60);
	int64_t days = floor_div(minute, 1440), y;
	int rem = (int)(minute - days * 1440);
	int m, d, h = rem / 60, mi = rem % 60;

	civil_from_days(days, &y, &m, &d);
	for (;;) {
		if (y > year_limit)
			return CRON_NEVER;
		if (d > month_days(y, m) || !(c->months & (1u << m))) {
			if (++m > 12) {
				m = 1;
				y++;
			}
			d = 1;
			h = mi = 0;
			continue;
		}
		if (!day_matches(
			c, d, weekday_of_days(days_from_civil(y, m, d)))) {
			d++;
			h = mi = 0;
			continue;
		}
		if (!(c->hours & (UINT32_C(1) << h))) {
			mi = 0;
			if (++h == 24) {
				h = 0;
				d++;
			}
			continue;
		}
		if (!(c->minutes & (UINT64_C(1) << mi))) {
			if (++mi == 60) {
				mi = 0;
				if (++h == 24) {
					h = 0;
					d++;
				}
			}
			continue;
		}
		return days_from_civil(y, m, d) * SECS_PER_DAY + h * 3600 +
		       mi * 60;
	}
}

int64_t
cron_next(const struct cron *c, const struct cron_tz *tz, int64_t after_wall_ns)
{
	int32_t width = tz != NULL ? tz->off_max_s - tz->off_min_s : 0;
	int32_t lo, hi;
	/* Whole seconds: the first candidate instant is first_s. */
	int64_t first_s = floor_div(after_wall_ns, NS_PER_SEC) + 1;
	int64_t best = CRON_NEVER, bound = CRON_NEVER, local_s, year_limit;
	int64_t max_s = days_from_civil(CRON_YEAR_MAX + 1, 1, 1) * SECS_PER_DAY;

	if (first_s >= max_s)
		return CRON_NEVER;
	if (c->kind == CRON_AT) {
		int64_t t = local_to_instant(
		    tz, civil_to_local_s(c->year, c->month, c->day, c->hour,
			    c->minute, c->second));

		return t != CRON_NEVER && t >= first_s ? t * NS_PER_SEC
						       : CRON_NEVER;
	}
	/*
	 * Local times are scanned in order, but near a fall-back a later
	 * local time can read an earlier instant. An instant I >= first_s
	 * reads a local time of at least first_s + (the smallest offset in
	 * effect from just before first_s to first_s + width), width being
	 * the zone's whole offset range; once best is found, a later local
	 * time L reads an instant before best only while L - (the largest
	 * offset in effect over [best - width, best]) <= best.
	 */
	offset_range(tz, first_s - 1, first_s + width, &lo, &hi);
	local_s = first_s + lo;
	year_limit = year_of(local_s) + 10;
	if (year_limit > CRON_YEAR_MAX)
		year_limit = CRON_YEAR_MAX;
	for (;;) {
		int64_t inst[MAX_INSTANTS], gap_end, found = CRON_NEVER;
		int n, i;

		local_s = next_local_match(c, local_s, year_limit);
		if (local_s == CRON_NEVER || local_s > bound)
			break;
		n = local_instants(tz, local_s, inst, &gap_end);
		if (c->elapsed) {
			/* Every reading; none in a gap. */
			for (i = 0; i < n; i++) {
				if (inst[i] >= first_s && inst[i] < found)
					found = inst[i];
			}
		} else if (n > 0 || gap_end != CRON_NEVER) {
			/* The first reading, or the end of the gap; a
			 * repeated time never runs at its second reading. */
			int64_t t = n > 0 ? inst[0] : gap_end;

			if (t >= first_s)
				found = t;
		}
		if (found < best) {
			best = found;
			offset_range(tz, best - width, best, &lo, &hi);
			bound = best + hi;
		}
		local_s += 60;
	}
	if (best == CRON_NEVER || best >= max_s)
		return CRON_NEVER;
	return best * NS_PER_SEC;
}

/* Is there a start in (after_s seconds, until_wall_ns]? */
static bool
starts_by(const struct cron *c, const struct cron_tz *tz, int64_t after_s,
    int64_t until_wall_ns)
{
	int64_t t = cron_next(c, tz, after_s * NS_PER_SEC);

	return t != CRON_NEVER && t <= until_wall_ns;
}

/*
 * Starts are whole seconds and cron_next(S s) is the first start at or
 * after S + 1 s, so "is there a start in (S s, until]" is monotonic in S:
 * true up to some S*, false after. Gallop down from until in doubling
 * steps to bracket S*, then bisect; the answer is cron_next(S* s).
 */
int64_t
cron_last(const struct cron *c, const struct cron_tz *tz, int64_t after_wall_ns,
    int64_t until_wall_ns)
{
	int64_t lo_s, hi_s, true_s, false_s, step = 64;

	if (until_wall_ns <= after_wall_ns)
		return CRON_NEVER;
	/* Keep lo_s * NS_PER_SEC in range (no start is that early). */
	if (after_wall_ns < INT64_MIN + NS_PER_SEC)
		after_wall_ns = INT64_MIN + NS_PER_SEC;
	lo_s = floor_div(after_wall_ns, NS_PER_SEC);
	hi_s = floor_div(until_wall_ns, NS_PER_SEC);
	/* cron_next(hi_s s) > until: there is no start in (hi_s s, until]. */
	false_s = hi_s;
	for (;;) {
		int64_t s = hi_s - lo_s > step ? hi_s - step : lo_s;

		if (starts_by(c, tz, s, until_wall_ns)) {
			true_s = s;
			break;
		}
		if (s == lo_s)
			return CRON_NEVER;
		false_s = s;
		step *= 2;
	}
	while (false_s - true_s > 1) {
		int64_t mid = true_s + (false_s - true_s) / 2;

		if (starts_by(c, tz, mid, until_wall_ns))
			true_s = mid;
		else
			false_s = mid;
	}
	return cron_next(c, tz, true_s * NS_PER_SEC);
}
