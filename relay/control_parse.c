/* SPDX-License-Identifier: MIT */
/*
 * Parsing a control request's body (control_parse()): JSON, field by
 * field, each error naming its field. See control.h and
 * docs/status-api.md.
 *
 * Threads: any (pure: no state).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "control.h"
#include "schedule.h"
#include "util.h"

/* cJSON recurses once per nesting level; a 16 KiB body of "[[[[..." would
 * use far more of a 256 KiB connection stack than a request deserves. A
 * control body is flat: one object, no nesting at all is needed. */
#define CONTROL_MAX_DEPTH 4

static bool
json_depth_ok(const char *body, size_t len)
{
	size_t i;
	int depth = 0;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char ch = body[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"')
			in_str = true;
		else if (ch == '{' || ch == '[') {
			if (++depth > CONTROL_MAX_DEPTH)
				return false;
		} else if (ch == '}' || ch == ']')
			depth--;
	}
	return true;
}

/* cJSON hands every string over NUL-terminated, so a NUL inside one (the
 * escape \u0000, or a raw 0 byte) would silently cut it: "flash.ogg\u0000x"
 * would play flash.ogg, "News\u0000 at ten" set the title "News". Finds
 * the first NUL in body; returns false when there is none, else true with
 * the key of the string that holds it in key (as written, escapes not
 * decoded), or "" when the NUL is in a key, outside any string, or its key
 * is longer than CONTROL_FIELD_SHOWN. */
static bool
json_nul_found(const char *body, size_t len, char *key, size_t keylen)
{
	size_t i, start = 0, end;
	bool in_str = false, nul = false;
	char last[CONTROL_FIELD_SHOWN + 1] = "";

	key[0] = '\0';
	for (i = 0; i < len; i++) {
		char ch = body[i];

		if (ch == '\0') {
			nul = true;
			if (!in_str)
				return true;
			continue;
		}
		if (!in_str) {
			if (ch == '"') {
				in_str = true;
				start = i + 1;
			}
			continue;
		}
		if (ch == '\\') {
			if (i + 5 < len && body[i + 1] == 'u' &&
			    memcmp(body + i + 2, "0000", 4) == 0)
				nul = true;
			i++;
			continue;
		}
		if (ch != '"')
			continue;
		in_str = false;
		/* A string followed by ':' is a key. */
		end = i + 1;
		while (end < len && isspace((unsigned char)body[end]))
			end++;
		if (end < len && body[end] == ':') {
			if (nul)
				return true;
			/* A name too long to show whole is not shown (a cut
			 * one could end in the token's first letters). */
			if (i - start <= CONTROL_FIELD_SHOWN)
				snprintf(last, sizeof(last), "%.*s",
				    (int)(i - start), body + start);
			else
				last[0] = '\0';
		} else if (nul) {
			util_strlcpy(key, last, keylen);
			return true;
		}
	}
	return nul;
}

static bool
blank(const char *body, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!isspace((unsigned char)body[i]))
			return false;
	}
	return true;
}

/* A string field into dst (capacity cap, so at most cap - 1 bytes). */
static int
field_string(const cJSON *it, char *dst, size_t cap, bool allow_empty,
    char *err, size_t errlen)
{
	size_t n;

	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen, "%s: must be a string", it->string);
		return -EINVAL;
	}
	n = strlen(it->valuestring);
	if (n > cap - 1) {
		snprintf(err, errlen, "%s: %zu bytes, at most %zu allowed",
		    it->string, n, cap - 1);
		return -EINVAL;
	}
	util_sanitize_text(dst, cap, it->valuestring);
	/* Spaces alone (a tab becomes one) would show as no title at all. */
	if (!allow_empty && dst[strspn(dst, " ")] == '\0') {
		snprintf(err, errlen, "%s: must not be empty or only spaces",
		    it->string);
		return -EINVAL;
	}
	return 0;
}

/* A path or URL: kept byte for byte, but no control characters. */
static int
field_path(const cJSON *it, char *dst, size_t cap, char *err, size_t errlen)
{
	const unsigned char *p;
	size_t n;

	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen, "%s: must be a string", it->string);
		return -EINVAL;
	}
	n = strlen(it->valuestring);
	if (n == 0) {
		snprintf(err, errlen, "%s: must not be empty", it->string);
		return -EINVAL;
	}
	if (n > cap - 1) {
		snprintf(err, errlen, "%s: %zu bytes, at most %zu allowed",
		    it->string, n, cap - 1);
		return -EINVAL;
	}
	for (p = (const unsigned char *)it->valuestring; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen,
			    "%s: must not hold control characters", it->string);
			return -EINVAL;
		}
	}
	memcpy(dst, it->valuestring, n + 1);
	return 0;
}

static int
field_number(const cJSON *it, double min, double max, const char *unit,
    double *out, char *err, size_t errlen)
{
	if (!cJSON_IsNumber(it)) {
		snprintf(
		    err, errlen, "%s: must be a number (%s)", it->string, unit);
		return -EINVAL;
	}
	if (!isfinite(it->valuedouble) || it->valuedouble < min ||
	    it->valuedouble > max) {
		snprintf(err, errlen,
		    "%s: %g is out of range (allowed %g to %g %s)", it->string,
		    it->valuedouble, min, max, unit);
		return -EINVAL;
	}
	*out = it->valuedouble;
	return 0;
}

/* "duration": "90s" | "1h30m" | a number of seconds; (0, 24 h] here, at
 * least SCHEDULE_DURATION_MIN_NS in programme_play() (a file's length
 * too). Strings follow util_parse_duration_ns(), as the schedule does. */
static int
field_duration(const cJSON *it, int64_t *out_ns, char *err, size_t errlen)
{
	int64_t ns = 0;
	double s;

	if (cJSON_IsNumber(it)) {
		s = it->valuedouble;
		if (!isfinite(s) || s <= 0 || s > 24.0 * 3600.0)
			goto range;
		ns = llround(s * 1e9);
	} else if (cJSON_IsString(it) && it->valuestring != NULL) {
		if (util_parse_duration_ns(it->valuestring, &ns) == -EINVAL) {
			snprintf(err, errlen,
			    "duration: \"%.40s\" is not a duration (allowed "
			    "e.g. \"90s\", \"15m\", \"1h30m\" or a number of "
			    "seconds)",
			    it->valuestring);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen,
		    "duration: must be a string such as "
		    "\"90s\" or a number of seconds");
		return -EINVAL;
	}
	if (ns <= 0 || ns > 24 * 3600 * NS_PER_SEC)
		goto range;
	*out_ns = ns;
	return 0;
range:
	snprintf(err, errlen, "duration: out of range (allowed 0.1s to 24h)");
	return -EINVAL;
}

static int
digits(const char *p, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* The last year "at" may name; later ones are refused before timegm(). */
#define CONTROL_AT_MAX_YEAR 2200

/* "2026-11-27T10:00:00Z" (also ".250" fractions, "+00:00", a space for
 * the T). 0 or -EINVAL. */
static int
parse_utc(const char *s, int64_t *out_ns)
{
	struct tm tm = {0}, back;
	int year, mon, day, hh, mm, ss;
	int64_t frac_ns = 0, scale = NS_PER_SEC / 10;
	const char *p;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &year) < 0 || s[4] != '-' ||
	    digits(s + 5, 2, &mon) < 0 || s[7] != '-' ||
	    digits(s + 8, 2, &day) < 0 || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &hh) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mm) < 0 || s[16] != ':' ||
	    digits(s + 17, 2, &ss) < 0)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			frac_ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -EINVAL;
	/* Bound the year before any arithmetic: nanoseconds since 1970 in
	 * an int64_t end in 2262, and "at" is judged against now anyway. */
	if (year < 1970 || year > CONTROL_AT_MAX_YEAR)
		return -ERANGE;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	/* timegm() normalises 2026-02-30; a real date comes back equal. */
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != year - 1900 || back.tm_mon != mon - 1 ||
	    back.tm_mday != day || back.tm_hour != hh || back.tm_min != mm ||
	    back.tm_sec != ss)
		return -EINVAL;
	if (t < 0 || t > INT64_MAX / NS_PER_SEC - 1)
		return -ERANGE;
	*out_ns = (int64_t)t * NS_PER_SEC + frac_ns;
	return 0;
}

/* a > b + gap and a < b - gap (gap >= 0) for any a, b, without overflow. */
static bool
after_by(int64_t a, int64_t b, int64_t gap)
{
	return b <= INT64_MAX - gap && a > b + gap;
}

static bool
before_by(int64_t a, int64_t b, int64_t gap)
{
	return b >= INT64_MIN + gap && a < b - gap;
}

/* A start time more than this far back is a mistake, not "now". */
#define CONTROL_AT_PAST_NS (10 * NS_PER_SEC)
/* Later than this belongs in the schedule file. */
#define CONTROL_AT_AHEAD_NS (24 * 3600 * NS_PER_SEC)

static int
field_at(const cJSON *it, int64_t now_wall_ns, int64_t *out_ns, char *err,
    size_t errlen)
{
	int64_t at;
	int rc;

	if (cJSON_IsNull(it)) {
		*out_ns = 0;
		return 0;
	}
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen,
		    "at: must be a string: an ISO 8601 UTC "
		    "time such as \"2026-11-27T10:00:00Z\", or \"now\"");
		return -EINVAL;
	}
	if (strcmp(it->valuestring, "now") == 0) {
		*out_ns = 0;
		return 0;
	}
	rc = parse_utc(it->valuestring, &at);
	if (rc == -ERANGE) {
		snprintf(err, errlen,
		    "at: \"%.40s\" is out of range (allowed: from now to 24 "
		    "hours ahead)",
		    it->valuestring);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen,
		    "at: \"%.40s\" is not an ISO 8601 UTC time (allowed e.g. "
		    "\"2026-11-27T10:00:00Z\", or \"now\")",
		    it->valuestring);
		return -EINVAL;
	}
	if (before_by(at, now_wall_ns, CONTROL_AT_PAST_NS)) {
		snprintf(err, errlen, "at: %s is in the past", it->valuestring);
		return -EINVAL;
	}
	if (after_by(at, now_wall_ns, CONTROL_AT_AHEAD_NS)) {
		snprintf(err, errlen,
		    "at: %s is more than 24 hours ahead "
		    "(use the schedule file)",
		    it->valuestring);
		return -EINVAL;
	}
	*out_ns = at <= now_wall_ns ? 0 : at;
	return 0;
}

static bool
source_by_name(const char *name, enum schedule_source *out)
{
	static const enum schedule_source all[] = {
	    SCHEDULE_SOURCE_FILE,
	    SCHEDULE_SOURCE_PLAYLIST,
	    SCHEDULE_SOURCE_LIVE,
	    SCHEDULE_SOURCE_STREAM,
	    SCHEDULE_SOURCE_TONE,
	    SCHEDULE_SOURCE_SILENCE,
	};
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(all); i++) {
		if (strcmp(name, schedule_source_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

/* http:// or https://, a host, and nothing a header or a log could
 * choke on. */
static bool
url_ok(const char *u)
{
	const char *p = util_http_url_rest(u);

	if (p == NULL || *p == '\0' || *p == '/')
		return false;
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* "NAME: unknown field (WHY)". A name too long to show whole is not
 * shown at all: cut, it could end in the first letters of the token,
 * which the audit line's redaction blanks only whole. */
static void
unknown_field(char *err, size_t errlen, const char *name, const char *why)
{
	if (strlen(name) <= CONTROL_FIELD_SHOWN)
		snprintf(err, errlen, "%s: unknown field (%s)", name, why);
	else
		snprintf(err, errlen, "unknown field, a name of %zu bytes (%s)",
		    strlen(name), why);
}

enum seg_field {
	SF_SOURCE,
	SF_PATH,
	SF_URL,
	SF_AT,
	SF_DURATION,
	SF_TITLE,
	SF_ARTIST,
	SF_FREQUENCY,
	SF_LEVEL,
	SF_NAME,
	SF_PRIORITY,
	SF_COUNT,
};

static const char *const seg_field_names[SF_COUNT] = {
    [SF_SOURCE] = "source",
    [SF_PATH] = "path",
    [SF_URL] = "url",
    [SF_AT] = "at",
    [SF_DURATION] = "duration",
    [SF_TITLE] = "title",
    [SF_ARTIST] = "artist",
    [SF_FREQUENCY] = "frequency",
    [SF_LEVEL] = "level_dbfs",
    [SF_NAME] = "name",
    [SF_PRIORITY] = "priority",
};

static int
parse_segment(const cJSON *root, int64_t now_wall_ns,
    struct control_request *req, char *err, size_t errlen)
{
	const cJSON *f[SF_COUNT] = {NULL}, *it;
	struct programme_request *play = &req->play;
	enum schedule_source kind;
	const char *only = NULL;
	int k, rc;

	cJSON_ArrayForEach(it, root)
	{
		for (k = 0; k < SF_COUNT; k++) {
			if (strcmp(it->string, seg_field_names[k]) == 0)
				break;
		}
		if (k == SF_COUNT) {
			unknown_field(err, errlen, it->string,
			    "allowed: source, path, url, at, duration, title, "
			    "artist, frequency, level_dbfs, name, priority");
			return -EINVAL;
		}
		if (f[k] != NULL) {
			snprintf(err, errlen, "%s: given twice", it->string);
			return -EINVAL;
		}
		/* null is the same as leaving an optional field out. */
		if (!cJSON_IsNull(it) || k == SF_SOURCE)
			f[k] = it;
	}
	if (f[SF_SOURCE] == NULL) {
		snprintf(err, errlen,
		    "source: missing (allowed: "
		    "file|playlist|live|stream|tone|silence)");
		return -EINVAL;
	}
	if (!cJSON_IsString(f[SF_SOURCE]) ||
	    f[SF_SOURCE]->valuestring == NULL ||
	    !source_by_name(f[SF_SOURCE]->valuestring, &kind)) {
		snprintf(err, errlen,
		    "source: must be one of the strings "
		    "file|playlist|live|stream|tone|silence");
		return -EINVAL;
	}
	play->kind = kind;
	play->frequency_hz = 440.0;
	play->level_dbfs = -18.0;

	/* Fields that only one kind of source uses. */
	if (f[SF_PATH] != NULL && kind != SCHEDULE_SOURCE_FILE &&
	    kind != SCHEDULE_SOURCE_PLAYLIST)
		only = "path: only for source file or playlist";
	else if (f[SF_URL] != NULL && kind != SCHEDULE_SOURCE_STREAM)
		only = "url: only for source stream";
	else if (f[SF_FREQUENCY] != NULL && kind != SCHEDULE_SOURCE_TONE)
		only = "frequency: only for source tone";
	else if (f[SF_LEVEL] != NULL && kind != SCHEDULE_SOURCE_TONE)
		only = "level_dbfs: only for source tone";
	if (only != NULL) {
		snprintf(err, errlen, "%s (this is source %s)", only,
		    schedule_source_name(kind));
		return -EINVAL;
	}
	if ((kind == SCHEDULE_SOURCE_FILE ||
		kind == SCHEDULE_SOURCE_PLAYLIST) &&
	    f[SF_PATH] == NULL) {
		snprintf(err, errlen, "path: missing (source %s needs one)",
		    schedule_source_name(kind));
		return -EINVAL;
	}
	if (kind == SCHEDULE_SOURCE_STREAM && f[SF_URL] == NULL) {
		snprintf(err, errlen, "url: missing (source stream needs one)");
		return -EINVAL;
	}
	if (kind != SCHEDULE_SOURCE_FILE && f[SF_DURATION] == NULL) {
		snprintf(err, errlen,
		    "duration: missing (required for "
		    "source %s; e.g. \"90s\" or 90)",
		    schedule_source_name(kind));
		return -EINVAL;
	}
	if (f[SF_PATH] != NULL && (rc = field_path(f[SF_PATH], req->path,
				       sizeof(req->path), err, errlen)) < 0)
		return rc;
	if (f[SF_URL] != NULL) {
		if ((rc = field_path(f[SF_URL], req->url, sizeof(req->url), err,
			 errlen)) < 0)
			return rc;
		if (!url_ok(req->url)) {
			snprintf(err, errlen,
			    "url: must be an http:// or "
			    "https:// URL without spaces");
			return -EINVAL;
		}
		if (util_url_stray_at(req->url)) {
			snprintf(
			    err, errlen, "url: %s", UTIL_URL_STRAY_AT_HELP);
			return -EINVAL;
		}
	}
	if (f[SF_AT] != NULL && (rc = field_at(f[SF_AT], now_wall_ns,
				     &play->at_wall_ns, err, errlen)) < 0)
		return rc;
	if (f[SF_DURATION] != NULL &&
	    (rc = field_duration(
		 f[SF_DURATION], &play->duration_ns, err, errlen)) < 0)
		return rc;
	if (f[SF_TITLE] != NULL &&
	    (rc = field_string(f[SF_TITLE], req->title, sizeof(req->title),
		 true, err, errlen)) < 0)
		return rc;
	if (f[SF_ARTIST] != NULL &&
	    (rc = field_string(f[SF_ARTIST], req->artist, sizeof(req->artist),
		 true, err, errlen)) < 0)
		return rc;
	if (f[SF_FREQUENCY] != NULL &&
	    (rc = field_number(f[SF_FREQUENCY], 0.0, 20000.0, "Hz",
		 &play->frequency_hz, err, errlen)) < 0)
		return rc;
	if (f[SF_LEVEL] != NULL &&
	    (rc = field_number(f[SF_LEVEL], -120.0, 0.0, "dBFS",
		 &play->level_dbfs, err, errlen)) < 0)
		return rc;
	if (f[SF_NAME] != NULL &&
	    (rc = field_string(f[SF_NAME], req->name, sizeof(req->name), false,
		 err, errlen)) < 0)
		return rc;
	if (f[SF_PRIORITY] != NULL) {
		double v;
		if ((rc = field_number(f[SF_PRIORITY], -1000.0, 1000.0, "", &v,
			 err, errlen)) < 0)
			return rc;
		if (v != (double)(int)v) {
			snprintf(err, errlen,
			    "priority: must be a whole number -1000..1000");
			return -EINVAL;
		}
		play->priority = (int)v;
		play->has_priority = true;
	}
	return 0;
}

static int
parse_metadata(
    const cJSON *root, struct control_request *req, char *err, size_t errlen)
{
	const cJSON *title = NULL, *artist = NULL, *it;
	int rc;

	cJSON_ArrayForEach(it, root)
	{
		const cJSON **slot;

		if (strcmp(it->string, "title") == 0)
			slot = &title;
		else if (strcmp(it->string, "artist") == 0)
			slot = &artist;
		else {
			unknown_field(
			    err, errlen, it->string, "allowed: title, artist");
			return -EINVAL;
		}
		if (*slot != NULL) {
			snprintf(err, errlen, "%s: given twice", it->string);
			return -EINVAL;
		}
		*slot = it;
	}
	if (title == NULL) {
		snprintf(err, errlen, "title: missing");
		return -EINVAL;
	}
	if ((rc = field_string(title, req->title, sizeof(req->title), false,
		 err, errlen)) < 0)
		return rc;
	if (artist != NULL && !cJSON_IsNull(artist) &&
	    (rc = field_string(artist, req->artist, sizeof(req->artist), true,
		 err, errlen)) < 0)
		return rc;
	return 0;
}

int
control_parse(enum control_endpoint ep, const char *body, size_t len,
    int64_t now_wall_ns, struct control_request *req, char *err, size_t errlen)
{
	cJSON *root = NULL;
	const char *end = NULL;
	char key[CONTROL_FIELD_SHOWN + 1];
	int rc = -EINVAL;

	memset(req, 0, sizeof(*req));
	if (errlen > 0)
		err[0] = '\0';
	switch (ep) {
	case CONTROL_ENDPOINT_SEGMENTS:
		req->what = CONTROL_PLAY;
		break;
	case CONTROL_ENDPOINT_SKIP:
		req->what = CONTROL_SKIP;
		break;
	case CONTROL_ENDPOINT_METADATA:
		req->what = CONTROL_METADATA;
		break;
	case CONTROL_ENDPOINT_RELOAD:
		req->what = CONTROL_RELOAD;
		break;
	}
	if (len > CONTROL_MAX_BODY_BYTES) {
		snprintf(err, errlen, "the body is over %zu bytes",
		    CONTROL_MAX_BODY_BYTES);
		return -EMSGSIZE;
	}
	if (body == NULL || blank(body, len)) {
		if (ep == CONTROL_ENDPOINT_SKIP ||
		    ep == CONTROL_ENDPOINT_RELOAD)
			return 0;
		snprintf(err, errlen, "the body must be a JSON object");
		return -EINVAL;
	}
	if (!json_depth_ok(body, len)) {
		snprintf(err, errlen, "the body nests too deeply");
		return -EINVAL;
	}
	if (json_nul_found(body, len, key, sizeof(key))) {
		if (key[0] != '\0')
			snprintf(err, errlen,
			    "%s: must not hold a NUL character (\\u0000)", key);
		else
			snprintf(err, errlen,
			    "the body must not hold a NUL character (\\u0000 "
			    "or a 0 byte)");
		return -EINVAL;
	}
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (root == NULL || !blank(end, len - (size_t)(end - body))) {
		snprintf(err, errlen, "the body is not valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	switch (ep) {
	case CONTROL_ENDPOINT_SEGMENTS:
		rc = parse_segment(root, now_wall_ns, req, err, errlen);
		break;
	case CONTROL_ENDPOINT_METADATA:
		rc = parse_metadata(root, req, err, errlen);
		break;
	case CONTROL_ENDPOINT_SKIP:
	case CONTROL_ENDPOINT_RELOAD:
		if (root->child != NULL) {
			unknown_field(err, errlen, root->child->string,
			    "this request takes no fields");
			break;
		}
		rc = 0;
		break;
	}
out:
	cJSON_Delete(root);
	if (rc < 0) {
		/* Leave nothing half-filled behind. */
		enum control_what what = req->what;

		memset(req, 0, sizeof(*req));
		req->what = what;
	}
	return rc;
}
