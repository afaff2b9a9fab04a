/* SPDX-License-Identifier: MIT */
/*
 * Archive names and periods (archive.h). Pure functions: output_file.c
 * and the unit tests call them with explicit times.
 *
 * DESIGN
 * A name is built from the period's start, never from the time a file is
 * opened, so a restart at 14:37 writes "1400-1.ogg" beside "1400.ogg": the
 * file for a period is found by its name, and nothing is overwritten. The
 * fields have fixed widths, so archive_name_matches() needs no
 * backtracking: each literal must match itself, each field its number of
 * digits, and what is left is the "-N" suffix and the extension.
 *
 * Threads: pure; any thread.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "schedule.h"

/* Digits a field expands to, 0 for "not a field". */
static int
field_width(char c)
{
	switch (c) {
	case 'Y':
		return 4;
	case 'y':
	case 'm':
	case 'd':
	case 'H':
	case 'M':
	case 'S':
		return 2;
	case 'j':
		return 3;
	case 'F':
		return 10; /* YYYY-MM-DD, matched specially */
	default:
		return 0;
	}
}

int
archive_pattern_check(const char *pattern, char *err, size_t errlen)
{
	const char *p, *base, *comp;
	size_t len;

	if (pattern == NULL || pattern[0] == '\0') {
		snprintf(err, errlen, "empty path");
		return -EINVAL;
	}
	for (p = pattern; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		if (p[1] == '\0' || field_width(p[1]) == 0) {
			snprintf(err, errlen,
			    "%%%c is not a supported field (use %%Y %%y %%m "
			    "%%d %%H %%M %%S %%j %%F %%%%)",
			    p[1] != '\0' ? p[1] : ' ');
			return -EINVAL;
		}
		p++;
	}
	len = strlen(pattern);
	base = strrchr(pattern, '/');
	base = base != NULL ? base + 1 : pattern;
	if (*base == '\0' || pattern[len - 1] == '/') {
		snprintf(err, errlen, "no file name after the last /");
		return -EINVAL;
	}
	comp = pattern;
	while (comp != NULL) {
		const char *end = strchr(comp, '/');
		size_t n = end != NULL ? (size_t)(end - comp) : strlen(comp);
		if ((n == 1 && comp[0] == '.') ||
		    (n == 2 && comp[0] == '.' && comp[1] == '.')) {
			snprintf(err, errlen,
			    "\".\" and \"..\" components are not allowed");
			return -EINVAL;
		}
		comp = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

int
archive_rotate_check(int64_t rotate_s, char *err, size_t errlen)
{
	if (rotate_s == 0)
		return 0;
	if (rotate_s < 1 || rotate_s > ARCHIVE_DAY_S ||
	    ARCHIVE_DAY_S % rotate_s != 0) {
		snprintf(err, errlen,
		    "%llds does not divide a day into whole periods (like "
		    "15m, 30m, 1h, 2h, 6h, 1d)",
		    (long long)rotate_s);
		return -EINVAL;
	}
	return 0;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int days[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

static int
day_of_year(const struct cron_local *lt)
{
	int m, d = lt->day;

	for (m = 1; m < lt->month; m++)
		d += month_days(lt->year, m);
	return d;
}

/* Appends to out (at *pos), failing once outlen is reached. */
static int
put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	if (*pos + n >= outlen)
		return -ENAMETOOLONG;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return 0;
}

/* The extension's start in the file name of s (the last '.' of the last
 * component, not its first character), or the end of s. */
static const char *
extension(const char *s)
{
	const char *base = strrchr(s, '/'), *dot;

	base = base != NULL ? base + 1 : s;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base || strchr(dot, '%') != NULL)
		return s + strlen(s);
	return dot;
}

int
archive_expand(const char *pattern, const struct cron_local *lt,
    unsigned suffix, char *out, size_t outlen)
{
	const char *ext = extension(pattern), *p;
	char num[32];
	size_t pos = 0;
	int n, rc;

	if (outlen == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (p = pattern; p < ext; p++) {
		if (*p != '%' || p[1] == '\0') {
			rc = put(out, outlen, &pos, p, 1);
			if (rc < 0)
				return rc;
			continue;
		}
		p++;
		switch (*p) {
		case 'Y':
			n = snprintf(
			    num, sizeof(num), "%04d", lt->year % 10000);
			break;
		case 'y':
			n = snprintf(num, sizeof(num), "%02d", lt->year % 100);
			break;
		case 'm':
			n = snprintf(num, sizeof(num), "%02d", lt->month);
			break;
		case 'd':
			n = snprintf(num, sizeof(num), "%02d", lt->day);
			break;
		case 'H':
			n = snprintf(num, sizeof(num), "%02d", lt->hour);
			break;
		case 'M':
			n = snprintf(num, sizeof(num), "%02d", lt->minute);
			break;
		case 'S':
			n = snprintf(num, sizeof(num), "%02d", lt->second);
			break;
		case 'j':
			n = snprintf(num, sizeof(num), "%03d", day_of_year(lt));
			break;
		case 'F':
			n = snprintf(num, sizeof(num), "%04d-%02d-%02d",
			    lt->year % 10000, lt->month, lt->day);
			break;
		default: /* %% and anything archive_pattern_check refused */
			num[0] = *p;
			n = 1;
			break;
		}
		rc = put(out, outlen, &pos, num, (size_t)n);
		if (rc < 0)
			return rc;
	}
	if (suffix > 0) {
		n = snprintf(num, sizeof(num), "-%u", suffix);
		rc = put(out, outlen, &pos, num, (size_t)n);
		if (rc < 0)
			return rc;
	}
	return put(out, outlen, &pos, ext, strlen(ext));
}

/* The next calendar day. */
static void
next_day(int *y, int *m, int *d)
{
	if (++*d <= month_days(*y, *m))
		return;
	*d = 1;
	if (++*m <= 12)
		return;
	*m = 1;
	++*y;
}

void
archive_period(const struct cron_tz *tz, int64_t rotate_s, int64_t wall_ns,
    int64_t *start_ns, int64_t *end_ns)
{
	struct cron_local lt;
	int64_t sod, ps, pe, start, end, into_ns;
	int y, m, d;

	if (rotate_s <= 0) {
		*start_ns = 0;
		*end_ns = INT64_MAX;
		return;
	}
	cron_tz_local(tz, wall_ns, &lt);
	sod = (int64_t)lt.hour * 3600 + lt.minute * 60 + lt.second;
	ps = sod - sod % rotate_s;
	/* How far into the period wall_ns lies, by the clock on the wall. */
	into_ns = (sod - ps) * NS_PER_SEC +
		  (wall_ns % NS_PER_SEC + NS_PER_SEC) % NS_PER_SEC;
	start = cron_tz_mktime(tz, lt.year, lt.month, lt.day, (int)(ps / 3600),
	    (int)(ps % 3600 / 60), (int)(ps % 60));
	if (start == CRON_NEVER || start > wall_ns)
		start = wall_ns - into_ns;
	pe = ps + rotate_s;
	y = lt.year;
	m = lt.month;
	d = lt.day;
	if (pe >= ARCHIVE_DAY_S) {
		next_day(&y, &m, &d);
		pe = 0;
	}
	end = cron_tz_mktime(tz, y, m, d, (int)(pe / 3600),
	    (int)(pe % 3600 / 60), (int)(pe % 60));
	/* A period inside the repeated hour of a daylight-saving change can
	 * name an end that already passed: count it on elapsed time. */
	if (end == CRON_NEVER || end <= wall_ns)
		end = wall_ns - into_ns + rotate_s * NS_PER_SEC;
	*start_ns = start;
	*end_ns = end;
}

int
archive_pattern_root(const char *pattern, char *out, size_t outlen)
{
	const char *field = strchr(pattern, '%'), *slash = NULL, *p;
	size_t n;

	/* The last '/' before the first field (or the file name). */
	for (p = pattern; *p != '\0' && (field == NULL || p < field); p++)
		if (*p == '/')
			slash = p;
	if (slash == NULL) {
		if (outlen < 2)
			return -ENAMETOOLONG;
		memcpy(out, ".", 2);
		return 0;
	}
	n = slash == pattern ? 1 : (size_t)(slash - pattern);
	if (n >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, pattern, n);
	out[n] = '\0';
	return 0;
}

/* Matches pattern[0..pend) against the start of s; returns what follows
 * in s, or NULL. */
static const char *
match_span(const char *pattern, const char *pend, const char *s)
{
	const char *p;
	int w, i;

	for (p = pattern; p < pend; p++) {
		if (*p != '%' || p + 1 >= pend) {
			if (*s != *p)
				return NULL;
			s++;
			continue;
		}
		p++;
		if (*p == '%') {
			if (*s != '%')
				return NULL;
			s++;
			continue;
		}
		w = field_width(*p);
		if (w == 0)
			return NULL;
		for (i = 0; i < w; i++) {
			bool dash = *p == 'F' && (i == 4 || i == 7);
			if (dash ? s[i] != '-' : !isdigit((unsigned char)s[i]))
				return NULL;
		}
		s += w;
	}
	return s;
}

bool
archive_name_matches(const char *pattern, const char *path)
{
	const char *ext, *rest, *q;
	size_t ext_len, rest_len;

	if (pattern == NULL || path == NULL)
		return false;
	ext = extension(pattern);
	ext_len = strlen(ext);
	rest = match_span(pattern, ext, path);
	if (rest == NULL)
		return false;
	rest_len = strlen(rest);
	if (rest_len < ext_len || strcmp(rest + rest_len - ext_len, ext) != 0)
		return false;
	if (rest_len == ext_len)
		return true;
	/* "-N" between the stem and the extension. */
	if (rest[0] != '-' || rest[1] < '1' || rest[1] > '9')
		return false;
	for (q = rest + 1; q < rest + rest_len - ext_len; q++)
		if (!isdigit((unsigned char)*q))
			return false;
	return true;
}

bool
archive_patterns_overlap(const char *keeper, const char *other)
{
	static const struct cron_local samples[] = {
	    {.year = 2026,
		.month = 11,
		.day = 30,
		.hour = 14,
		.minute = 12,
		.second = 13},
	    {.year = 2027,
		.month = 1,
		.day = 5,
		.hour = 3,
		.minute = 4,
		.second = 5},
	    {.year = 2028,
		.month = 12,
		.day = 31,
		.hour = 23,
		.minute = 59,
		.second = 58},
	};
	static const unsigned suffixes[] = {0, 1, 12};
	char name[4096];
	size_t i, k;

	if (keeper == NULL || other == NULL)
		return false;
	for (i = 0; i < RELAY_ARRAY_LEN(samples); i++) {
		for (k = 0; k < RELAY_ARRAY_LEN(suffixes); k++) {
			if (archive_expand(other, &samples[i], suffixes[k],
				name, sizeof(name)) == 0 &&
			    archive_name_matches(keeper, name))
				return true;
		}
	}
	return false;
}

bool
archive_dir_matches(const char *pattern, const char *dir)
{
	const char *base = strrchr(pattern, '/'), *p, *rest;

	if (base == NULL || dir == NULL)
		return false;
	/* Try each directory prefix of the pattern. */
	for (p = pattern; p < base; p++) {
		if (p[1] != '/')
			continue;
		rest = match_span(pattern, p + 1, dir);
		if (rest != NULL && *rest == '\0')
			return true;
	}
	return false;
}

bool
archive_expired(int64_t mtime_ns, int64_t now_ns, int64_t keep_ns)
{
	return keep_ns > 0 && now_ns - mtime_ns > keep_ns;
}

char *
archive_format_span(int64_t ns, const char *zero, char *buf, size_t len)
{
	const int64_t day = 86400 * NS_PER_SEC;

	if (ns <= 0)
		snprintf(buf, len, "%s", zero);
	else if (ns % day == 0)
		snprintf(buf, len, "%lldd", (long long)(ns / day));
	else
		schedule_format_duration(ns, buf, len);
	return buf;
}
