/* SPDX-License-Identifier: MIT */
/*
 * The schedule file's parser: [segment NAME] sections read with libinih
 * into a struct schedule (schedule_internal.h), each segment's keys
 * checked, and the schedule freed. See schedule.h for the contract and
 * docs/schedule.md for the format; schedule.c answers the queries on the
 * loaded schedule, schedule_print.c prints it.
 *
 * Parsing: Debian 12's libinih (r55) gives the handler no line number and
 * folds indented lines into the previous value. We feed it through our
 * own line reader (read_line) that counts lines, recognises section
 * headers itself (so an empty or misspelt section is still seen), and
 * rejects indented and over-long lines instead of letting inih split or
 * join them. The first error wins; a file with any error is rejected
 * whole.
 *
 * Threads: see schedule.h. No static mutable state.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include <ini.h>

#include "schedule.h"
#include "schedule_internal.h"

#define QUOTE_MAX 72 /* bytes of a value echoed in a message */

enum seg_key {
	K_CRON = 0,
	K_AT,
	K_SOURCE,
	K_PATH,
	K_ORDER,
	K_URL,
	K_FREQUENCY,
	K_LEVEL,
	K_DURATION,
	K_TITLE,
	K_ARTIST,
	K_PRIORITY,
	K_FADE,
	K_GAIN,
	K_NORMALISE,
	K_CA_FILE,
	K_CA_DIR,
	K_CLIENT_CERT,
	K_TLS_MIN_VERSION,
	K_COUNT
};

#define SRC(x) (1u << SCHEDULE_SOURCE_##x)

/* The keys of a [segment]; sources = 0 means every source uses it. */
static const struct {
	const char *name;
	unsigned sources;
	const char *only; /* for "only with source = ..." */
} seg_keys[K_COUNT] = {
    [K_CRON] = {"cron", 0, NULL},
    [K_AT] = {"at", 0, NULL},
    [K_SOURCE] = {"source", 0, NULL},
    [K_PATH] = {"path", SRC(FILE) | SRC(PLAYLIST), "file or playlist"},
    [K_ORDER] = {"order", SRC(PLAYLIST), "playlist"},
    [K_URL] = {"url", SRC(STREAM), "stream"},
    [K_FREQUENCY] = {"frequency", SRC(TONE), "tone"},
    [K_LEVEL] = {"level_dbfs", SRC(TONE), "tone"},
    [K_DURATION] = {"duration", 0, NULL},
    [K_TITLE] = {"title", 0, NULL},
    [K_ARTIST] = {"artist", 0, NULL},
    [K_PRIORITY] = {"priority", 0, NULL},
    [K_FADE] = {"fade", 0, NULL},
    [K_GAIN] = {"gain", 0, NULL},
    [K_NORMALISE] = {"normalise", 0, NULL},
    [K_CA_FILE] = {"ca_file", SRC(STREAM), "stream"},
    [K_CA_DIR] = {"ca_dir", SRC(STREAM), "stream"},
    [K_CLIENT_CERT] = {"client_cert", SRC(STREAM), "stream"},
    [K_TLS_MIN_VERSION] = {"tls_min_version", SRC(STREAM), "stream"},
};

static const char *const source_names[] = {
    [SCHEDULE_SOURCE_FILE] = "file",
    [SCHEDULE_SOURCE_PLAYLIST] = "playlist",
    [SCHEDULE_SOURCE_LIVE] = "live",
    [SCHEDULE_SOURCE_STREAM] = "stream",
    [SCHEDULE_SOURCE_TONE] = "tone",
    [SCHEDULE_SOURCE_SILENCE] = "silence",
};
#define SOURCES_ALLOWED "file|playlist|live|stream|tone|silence"

/* Where each key of a segment was given (0 = not given). */
struct key_lines {
	int line[K_COUNT];
	bool has_source;
};

struct parse {
	const char *path;
	FILE *fp;
	char *buf; /* getline buffer */
	size_t cap;
	int line; /* the line inih is working on */
	struct schedule *s;
	struct key_lines *keys; /* parallel to s->segments */
	size_t cap_segments;
	long cur;  /* index of the current segment, -1 = none */
	bool skip; /* inside a section whose header was bad */
	bool failed;
	int err_line;
	int rc;
	char err[SCHEDULE_ERR_LEN];
};

/* ------------------------------------------------------------------ */
/* Errors.                                                             */

static void parse_error(struct parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error: "FILE:LINE: " + the formatted text. */
static void
parse_error(struct parse *ps, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = true;
	ps->err_line = line;
	ps->rc = -EINVAL;
	n = snprintf(ps->err, sizeof(ps->err), "%s:%d: ", ps->path, line);
	if (n < 0 || (size_t)n >= sizeof(ps->err))
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, sizeof(ps->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A value for an error message: control characters and broken UTF-8
 * escaped, cut short. */
static const char *
quote(char *buf, const char *value)
{
	return util_escape(buf, QUOTE_MAX, value);
}

/* quote() for a URL, its "user:password@" shown as "***@". The value
 * may be malformed (a space or "/" in the password), so the credentials
 * end at the last "@" of the whole value. */
static const char *
quote_url(char *buf, const char *url)
{
	const char *start = strstr(url, "://"), *at;
	char shown[QUOTE_MAX * 2];

	start = start != NULL ? start + 3 : url;
	at = strrchr(start, '@');
	if (at == NULL)
		return quote(buf, url);
	snprintf(
	    shown, sizeof(shown), "%.*s***%s", (int)(start - url), url, at);
	return quote(buf, shown);
}

/* ------------------------------------------------------------------ */
/* Section headers (seen by read_line, before inih).                   */

static bool
name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > SCHEDULE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) &&
		    strchr("-_.", name[i]) == NULL)
			return false;
	}
	return true;
}

static int
add_segment(struct parse *ps, const char *name, size_t len)
{
	struct schedule *s = ps->s;
	struct schedule_segment *seg;

	if (s->n_segments == ps->cap_segments) {
		size_t cap = ps->cap_segments ? ps->cap_segments * 2 : 16;
		void *p = realloc(s->segments, cap * sizeof(*s->segments));

		if (p == NULL)
			return -ENOMEM;
		s->segments = p;
		p = realloc(ps->keys, cap * sizeof(*ps->keys));
		if (p == NULL)
			return -ENOMEM;
		ps->keys = p;
		ps->cap_segments = cap;
	}
	seg = &s->segments[s->n_segments];
	memset(seg, 0, sizeof(*seg));
	memset(&ps->keys[s->n_segments], 0, sizeof(ps->keys[0]));
	seg->name = strndup(name, len);
	if (seg->name == NULL)
		return -ENOMEM;
	seg->line = ps->line;
	seg->frequency_hz = 440.0;
	seg->level_dbfs = -18.0;
	seg->duration_ns = SCHEDULE_DURATION_UNKNOWN;
	seg->fade_ns = SCHEDULE_FADE_DEFAULT_NS;
	seg->tls_min_version = -1;
	ps->cur = (long)s->n_segments;
	s->n_segments++;
	return 0;
}

static void
section_begin(struct parse *ps, const char *line)
{
	const char *close = strchr(line, ']'), *p, *name;
	char q[QUOTE_MAX], text[QUOTE_MAX];
	size_t len, i;

	ps->cur = -1;
	ps->skip = true;
	if (close == NULL) {
		parse_error(ps, ps->line, "syntax error: \"[\" without \"]\"");
		return;
	}
	len = (size_t)(close - line - 1);
	snprintf(
	    text, sizeof(text), "%.*s", (int)(len < 60 ? len : 60), line + 1);
	for (p = close + 1; *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '\0' && *p != ';' && *p != '#') {
		parse_error(ps, ps->line, "[%s]: unexpected text after \"]\"",
		    quote(q, text));
		return;
	}
	if (strncmp(line + 1, "segment", 7) != 0 ||
	    (len > 7 && !isspace((unsigned char)line[8]))) {
		parse_error(ps, ps->line,
		    "[%s]: unknown section (allowed "
		    "[segment NAME])",
		    quote(q, text));
		return;
	}
	for (name = line + 8; name < close && isspace((unsigned char)*name);
	     name++)
		;
	for (len = (size_t)(close - name);
	     len > 0 && isspace((unsigned char)name[len - 1]); len--)
		;
	if (len == 0) {
		parse_error(ps, ps->line,
		    "[segment]: the segment needs a "
		    "name (allowed [segment NAME])");
		return;
	}
	if (!name_ok(name, len)) {
		parse_error(ps, ps->line,
		    "[%s]: the name may use only letters, "
		    "digits, '-', '_' and '.' (at most %d bytes)",
		    quote(q, text), SCHEDULE_NAME_MAX);
		return;
	}
	for (i = 0; i < ps->s->n_segments; i++) {
		const struct schedule_segment *o = &ps->s->segments[i];

		if (strlen(o->name) == len && memcmp(o->name, name, len) == 0) {
			parse_error(ps, ps->line,
			    "[segment %s]: duplicate "
			    "segment name (first on line %d)",
			    o->name, o->line);
			return;
		}
	}
	if (ps->s->n_segments >= SCHEDULE_MAX_SEGMENTS) {
		parse_error(ps, ps->line,
		    "[segment %.*s]: too many segments "
		    "(allowed at most %d)",
		    (int)len, name, SCHEDULE_MAX_SEGMENTS);
		return;
	}
	if (add_segment(ps, name, len) < 0) {
		parse_error(ps, ps->line, "out of memory");
		ps->rc = -ENOMEM;
		return;
	}
	ps->skip = false;
}

/*
 * inih's reader: one line per call, counted. Lines inih would mangle
 * (too long for its buffer, indented continuations) become errors and
 * reach inih as empty lines.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	ssize_t n;
	char *line, *p;

	errno = 0;
	n = getline(&ps->buf, &ps->cap, ps->fp);
	if (n < 0) {
		if (errno != 0 && !feof(ps->fp)) {
			parse_error(ps, ps->line + 1, "cannot read: %s",
			    strerror(errno));
			ps->rc = -errno;
		}
		return NULL;
	}
	ps->line++;
	line = ps->buf;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (ps->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3; /* UTF-8 byte order mark */
		n -= 3;
	}
	str[0] = '\0';
	if (strlen(line) != (size_t)n) {
		parse_error(ps, ps->line, "the line contains a NUL byte");
		return str;
	}
	if (n >= num) {
		parse_error(ps, ps->line,
		    "the line is too long (%zd bytes; "
		    "allowed at most %d)",
		    n, num - 1);
		return str;
	}
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (p != line && *p != '\0' && *p != ';' && *p != '#') {
		parse_error(ps, ps->line,
		    "indented line (continuation lines "
		    "are not supported: start keys and sections in column 1)");
		return str;
	}
	if (line[0] == '[')
		section_begin(ps, line);
	memcpy(str, line, (size_t)n + 1);
	return str;
}

/* ------------------------------------------------------------------ */
/* Keys.                                                               */

static char *
resolve_path(const char *schedule_path, const char *value)
{
	const char *slash = strrchr(schedule_path, '/');
	size_t dir_len, len;
	char *out;

	if (value[0] == '/' || slash == NULL)
		return strdup(value);
	dir_len = (size_t)(slash - schedule_path) + 1;
	len = dir_len + strlen(value) + 1;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	memcpy(out, schedule_path, dir_len);
	memcpy(out + dir_len, value, strlen(value) + 1);
	return out;
}

static char *
sanitized_dup(const char *value)
{
	size_t len = strlen(value) * 3 + 1;
	char *out = malloc(len);

	if (out != NULL)
		util_sanitize_text(out, len, value);
	return out;
}

/* 0 = ok, 1 = wrong scheme, 2 = malformed, 3 = an '@' after the
 * authority (util_url_stray_at()). */
static int
check_url(const char *u)
{
	const char *host, *p;

	if (strncasecmp(u, "http://", 7) == 0)
		host = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		host = u + 8;
	else
		return 1;
	if (*host == '\0' || strchr("/:?#@", *host) != NULL)
		return 2;
	for (p = u; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 2;
	}
	return util_url_stray_at(u) ? 3 : 0;
}

static int
lookup(const char *value, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcasecmp(value, names[i]) == 0)
			return (int)i;
	}
	return -1;
}

#define START_HINT                                                             \
	"a start time is cron (repeating: \"50 * * * *\") or at (once: "       \
	"\"2026-12-24 18:00\")"

/* "did you mean title?", the key another scheduler's word stands for, or
 * the list of keys. */
static void
key_hint(const char *name, char *buf, size_t len)
{
	/* Words other schedulers use for these keys: the nearest spelling
	 * would point elsewhere ("time" is two letters from "title"). */
	static const struct {
		const char *word, *hint;
	} other[] = {
	    {"time", START_HINT},
	    {"start", START_HINT},
	    {"starts", START_HINT},
	    {"start_time", START_HINT},
	    {"when", START_HINT},
	    {"file", "the audio file is path"},
	    {"length", "how long it plays is duration"},
	};
	size_t i, best = SIZE_MAX, best_i = 0, o;

	for (i = 0; i < RELAY_ARRAY_LEN(other); i++) {
		if (strcasecmp(name, other[i].word) == 0) {
			snprintf(buf, len, "%s", other[i].hint);
			return;
		}
	}
	for (i = 0; i < K_COUNT; i++) {
		size_t d = util_edit_distance(name, seg_keys[i].name);

		if (d < best) {
			best = d;
			best_i = i;
		}
	}
	if (best <= 2) {
		snprintf(buf, len, "did you mean %s?", seg_keys[best_i].name);
		return;
	}
	o = (size_t)snprintf(buf, len, "allowed ");
	for (i = 0; i < K_COUNT && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
		    i > 0 ? ", " : "", seg_keys[i].name);
}

static const char *const order_names[] = {"sequential", "shuffle"};

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	struct schedule_segment *seg;
	struct key_lines *kl;
	char q[QUOTE_MAX], why[256], hint[256]; /* every key name fits */
	const char *sn;
	int key, rc, line = ps->line;
	int64_t v64;
	double d;
	bool b;
	char **field = NULL;

	(void)section; /* read_line tracks sections itself */
	if (ps->failed)
		return 1;
	if (ps->skip)
		return 1;
	if (ps->cur < 0) {
		parse_error(ps, line,
		    "%s: key outside a section (put it under "
		    "[segment NAME])",
		    quote(q, name));
		return 0;
	}
	seg = &ps->s->segments[ps->cur];
	kl = &ps->keys[ps->cur];
	sn = seg->name;
	for (key = 0; key < K_COUNT; key++) {
		if (strcmp(name, seg_keys[key].name) == 0)
			break;
	}
	if (key == K_COUNT) {
		key_hint(name, hint, sizeof(hint));
		parse_error(ps, line, "[segment %s] %s: unknown key (%s)", sn,
		    quote(q, name), hint);
		return 0;
	}
	if (kl->line[key] != 0) {
		parse_error(ps, line,
		    "[segment %s] %s: given twice (first on "
		    "line %d)",
		    sn, name, kl->line[key]);
		return 0;
	}
	kl->line[key] = line;
	switch ((enum seg_key)key) {
	case K_CRON:
	case K_AT:
		if (kl->line[key == K_CRON ? K_AT : K_CRON] != 0) {
			parse_error(ps, line,
			    "[segment %s] %s: %s is already set "
			    "on line %d (allowed one of cron or at)",
			    sn, name, key == K_CRON ? "at" : "cron",
			    kl->line[key == K_CRON ? K_AT : K_CRON]);
			return 0;
		}
		why[0] = '\0';
		rc = key == K_CRON
			 ? cron_parse(value, &seg->when, why, sizeof(why))
			 : cron_parse_at(value, &seg->when, why, sizeof(why));
		if (rc < 0) {
			parse_error(
			    ps, line, "[segment %s] %s: %s", sn, name, why);
			return 0;
		}
		field = &seg->when_text;
		break;
	case K_SOURCE:
		rc = lookup(value, source_names, RELAY_ARRAY_LEN(source_names));
		if (rc < 0) {
			parse_error(ps, line,
			    "[segment %s] source: \"%s\" is not "
			    "a source (allowed " SOURCES_ALLOWED ")",
			    sn, quote(q, value));
			return 0;
		}
		seg->source = (enum schedule_source)rc;
		kl->has_source = true;
		return 1;
	case K_PATH:
		if (value[0] == '\0') {
			parse_error(ps, line,
			    "[segment %s] path: is empty "
			    "(allowed a file, directory or .m3u path)",
			    sn);
			return 0;
		}
		free(seg->path);
		seg->path = resolve_path(ps->path, value);
		if (seg->path == NULL)
			goto nomem;
		seg->path_line = line;
		return 1;
	case K_ORDER:
		rc = lookup(value, order_names, RELAY_ARRAY_LEN(order_names));
		if (rc < 0) {
			parse_error(ps, line,
			    "[segment %s] order: \"%s\" is not "
			    "an order (allowed sequential|shuffle)",
			    sn, quote(q, value));
			return 0;
		}
		seg->order = (enum schedule_order)rc;
		return 1;
	case K_URL:
		rc = check_url(value);
		if (rc == 1) {
			parse_error(ps, line,
			    "[segment %s] url: \"%s\" must start "
			    "with http:// or https://",
			    sn, quote_url(q, value));
			return 0;
		}
		if (rc == 2) {
			parse_error(ps, line,
			    "[segment %s] url: \"%s\" is not a "
			    "valid URL (allowed e.g. "
			    "http://host:8000/feed.ogg, "
			    "no spaces)",
			    sn, quote_url(q, value));
			return 0;
		}
		if (rc == 3) {
			/* Not quoted: where the password ends is what
			 * cannot be told. */
			parse_error(ps, line, "[segment %s] url: %s", sn,
			    UTIL_URL_STRAY_AT_HELP);
			return 0;
		}
		field = &seg->url;
		break;
	case K_FREQUENCY:
		rc = util_parse_double(value, 0.0, 20000.0, &d);
		if (rc < 0) {
			parse_error(ps, line,
			    "[segment %s] frequency: \"%s\" is "
			    "%s (allowed 0 to 20000 Hz)",
			    sn, quote(q, value),
			    rc == -ERANGE ? "out of range" : "not a number");
			return 0;
		}
		seg->frequency_hz = d;
		return 1;
	case K_LEVEL:
		rc = util_parse_double(value, -120.0, 0.0, &d);
		if (rc < 0) {
			parse_error(ps, line,
			    "[segment %s] level_dbfs: \"%s\" is "
			    "%s (allowed -120 to 0)",
			    sn, quote(q, value),
			    rc == -ERANGE ? "out of range" : "not a number");
			return 0;
		}
		seg->level_dbfs = d;
		return 1;
	case K_DURATION:
		rc = util_parse_duration_ns(value, &v64);
		if (rc == -EINVAL) {
			parse_error(ps, line,
			    "[segment %s] duration: \"%s\" is "
			    "not a duration (allowed e.g. 90s, 15m, 1h30m)",
			    sn, quote(q, value));
			return 0;
		}
		if (rc < 0 || v64 > SCHEDULE_DURATION_MAX_NS) {
			parse_error(ps, line,
			    "[segment %s] duration: \"%s\" is "
			    "out of range (allowed 0.1s to 24h)",
			    sn, quote(q, value));
			return 0;
		}
		if (v64 < SCHEDULE_DURATION_MIN_NS) {
			/* The control API's rule too (programme_play()). */
			parse_error(ps, line,
			    "[segment %s] duration: \"%s\" is "
			    "out of range (allowed 0.1s to 24h: shorter "
			    "would not be heard)",
			    sn, quote(q, value));
			return 0;
		}
		seg->duration_ns = v64;
		return 1;
	case K_FADE:
		rc = util_parse_duration_ns(value, &v64);
		if (rc == -EINVAL) {
			parse_error(ps, line,
			    "[segment %s] fade: \"%s\" is not a "
			    "duration (allowed e.g. 20ms, 1s)",
			    sn, quote(q, value));
			return 0;
		}
		if (rc < 0 || v64 > SCHEDULE_FADE_MAX_NS) {
			parse_error(ps, line,
			    "[segment %s] fade: \"%s\" is out "
			    "of range (allowed 0 to 10s)",
			    sn, quote(q, value));
			return 0;
		}
		seg->fade_ns = v64;
		return 1;
	case K_GAIN:
		rc = util_parse_double(value, -30.0, 30.0, &d);
		if (rc < 0) {
			parse_error(ps, line,
			    "[segment %s] gain: \"%s\" is "
			    "%s (allowed -30 to 30 dB)",
			    sn, quote(q, value),
			    rc == -ERANGE ? "out of range" : "not a number");
			return 0;
		}
		seg->gain_db = d;
		return 1;
	case K_NORMALISE:
		if (util_parse_bool(value, &b) < 0) {
			parse_error(ps, line,
			    "[segment %s] normalise: \"%s\" is "
			    "not yes or no",
			    sn, quote(q, value));
			return 0;
		}
		seg->no_normalise = !b;
		return 1;
	case K_PRIORITY:
		rc = util_parse_int64(value, -1000000, 1000000, &v64);
		if (rc < 0) {
			parse_error(ps, line,
			    "[segment %s] priority: \"%s\" is "
			    "%s (allowed an integer from -1000000 to 1000000)",
			    sn, quote(q, value),
			    rc == -ERANGE ? "out of range" : "not an integer");
			return 0;
		}
		seg->priority = (int)v64;
		return 1;
	case K_CA_FILE:
	case K_CA_DIR:
	case K_CLIENT_CERT:
		/* Files are not read here (this module is pure): --check
		 * and the feed's connection judge them. */
		if (value[0] == '\0') {
			parse_error(
			    ps, line, "[segment %s] %s: is empty", sn, name);
			return 0;
		}
		field = key == K_CA_FILE  ? &seg->ca_file
			: key == K_CA_DIR ? &seg->ca_dir
					  : &seg->client_cert;
		free(*field);
		*field = resolve_path(ps->path, value);
		if (*field == NULL)
			goto nomem;
		return 1;
	case K_TLS_MIN_VERSION:
		if (strcmp(value, "1.2") != 0 && strcmp(value, "1.3") != 0) {
			parse_error(ps, line,
			    "[segment %s] tls_min_version: \"%s\" is not "
			    "one of 1.2|1.3",
			    sn, quote(q, value));
			return 0;
		}
		seg->tls_min_version = strcmp(value, "1.3") == 0 ? 1 : 0;
		return 1;
	case K_TITLE:
	case K_ARTIST:
		field = key == K_TITLE ? &seg->title : &seg->artist;
		free(*field);
		*field = sanitized_dup(value);
		if (*field == NULL)
			goto nomem;
		return 1;
	case K_COUNT:
		break;
	}
	if (field != NULL) {
		free(*field);
		*field = strdup(value);
		if (*field == NULL)
			goto nomem;
	}
	return 1;
nomem:
	parse_error(ps, line, "out of memory");
	ps->rc = -ENOMEM;
	return 0;
}

/* Checks that need the whole section: required keys per source, keys the
 * source does not use. Runs after the file parsed cleanly. */
static void
validate_segment(struct parse *ps, size_t i)
{
	struct schedule_segment *seg = &ps->s->segments[i];
	const struct key_lines *kl = &ps->keys[i];
	const char *src;
	int k;

	if (kl->line[K_CRON] == 0 && kl->line[K_AT] == 0) {
		parse_error(ps, seg->line,
		    "[segment %s]: no start time (allowed "
		    "cron = EXPRESSION or at = YYYY-MM-DD HH:MM)",
		    seg->name);
		return;
	}
	if (!kl->has_source) {
		parse_error(ps, seg->line,
		    "[segment %s]: no source (allowed "
		    "source = " SOURCES_ALLOWED ")",
		    seg->name);
		return;
	}
	src = source_names[seg->source];
	for (k = 0; k < K_COUNT; k++) {
		if (kl->line[k] != 0 && seg_keys[k].sources != 0 &&
		    !(seg_keys[k].sources & (1u << seg->source))) {
			parse_error(ps, kl->line[k],
			    "[segment %s] %s: not used "
			    "by source = %s (only by source = %s)",
			    seg->name, seg_keys[k].name, src, seg_keys[k].only);
			return;
		}
	}
	switch (seg->source) {
	case SCHEDULE_SOURCE_FILE:
	case SCHEDULE_SOURCE_PLAYLIST:
		if (seg->path == NULL) {
			parse_error(ps, seg->line,
			    "[segment %s]: source = %s "
			    "needs path",
			    seg->name, src);
			return;
		}
		break;
	case SCHEDULE_SOURCE_STREAM:
		if (seg->url == NULL) {
			parse_error(ps, seg->line,
			    "[segment %s]: source = stream "
			    "needs url",
			    seg->name);
			return;
		}
		break;
	case SCHEDULE_SOURCE_LIVE:
	case SCHEDULE_SOURCE_TONE:
	case SCHEDULE_SOURCE_SILENCE:
		break;
	}
	/* Only a file knows its own length. */
	if (seg->source != SCHEDULE_SOURCE_FILE &&
	    seg->duration_ns == SCHEDULE_DURATION_UNKNOWN) {
		parse_error(ps, seg->line,
		    "[segment %s]: source = %s needs "
		    "duration (e.g. duration = 3m)",
		    seg->name, src);
		return;
	}
	if (seg->title == NULL) {
		seg->title = strdup(seg->name);
		if (seg->title == NULL) {
			parse_error(ps, seg->line, "out of memory");
			ps->rc = -ENOMEM;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Load and free.                                                      */

static void
segment_clear(struct schedule_segment *seg)
{
	free(seg->name);
	free(seg->when_text);
	free(seg->path);
	free(seg->url);
	free(seg->ca_file);
	free(seg->ca_dir);
	free(seg->client_cert);
	free(seg->title);
	free(seg->artist);
}

void
schedule_free(struct schedule *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_segments; i++)
		segment_clear(&s->segments[i]);
	free(s->segments);
	cron_tz_free(s->tz);
	free(s->path);
	free(s);
}

int
schedule_check_timezone(const char *timezone, char *err, size_t errlen)
{
	struct cron_tz *tz;
	char why[SCHEDULE_ERR_LEN - 32];
	int rc;

	why[0] = '\0';
	rc = cron_tz_load(timezone, &tz, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "[schedule] timezone: %s", why);
		return rc;
	}
	cron_tz_free(tz);
	return 0;
}

int
schedule_load(const char *path, const char *timezone, struct schedule **out,
    char *err, size_t errlen)
{
	struct parse ps;
	char why[SCHEDULE_ERR_LEN - 32];
	size_t i;
	int rc;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.path = path;
	ps.cur = -1;
	ps.s = calloc(1, sizeof(*ps.s));
	if (ps.s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ps.s->path = strdup(path);
	if (ps.s->path == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	why[0] = '\0';
	rc = cron_tz_load(timezone, &ps.s->tz, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "[schedule] timezone: %s", why);
		goto fail;
	}
	/* Never blocks: a FIFO in place of the file would hang the main
	 * thread (reload) in open(). */
	rc = util_open_regular(path);
	ps.fp = rc >= 0 ? fdopen(rc, "r") : NULL;
	if (ps.fp == NULL) {
		if (rc >= 0) {
			close(rc);
			rc = -ENOMEM;
		}
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    util_open_strerror(rc));
		goto fail;
	}
	rc = ini_parse_stream(read_line, &ps, on_key, &ps);
	fclose(ps.fp);
	if (rc > 0 && (!ps.failed || rc < ps.err_line)) {
		/* inih found a line it cannot read before any error of ours. */
		ps.failed = false;
		parse_error(&ps, rc,
		    "syntax error (expected [segment NAME], "
		    "key = value, or a comment starting with ; or #)");
	} else if (rc < 0 && !ps.failed) {
		parse_error(&ps, ps.line, "out of memory");
		ps.rc = -ENOMEM;
	}
	for (i = 0; i < ps.s->n_segments && !ps.failed; i++)
		validate_segment(&ps, i);
	if (ps.failed) {
		snprintf(err, errlen, "%s", ps.err);
		rc = ps.rc != 0 ? ps.rc : -EINVAL;
		goto fail;
	}
	free(ps.buf);
	free(ps.keys);
	*out = ps.s;
	return 0;
fail:
	free(ps.buf);
	free(ps.keys);
	schedule_free(ps.s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Names.                                                              */

const char *
schedule_source_name(enum schedule_source source)
{
	if ((size_t)source < RELAY_ARRAY_LEN(source_names))
		return source_names[source];
	return "?";
}
