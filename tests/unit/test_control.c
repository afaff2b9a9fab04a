/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of control.c without HTTP: the body of each endpoint (valid,
 * each wrong type, too long), the audit text, the endpoint table, and
 * control_handle()'s answers: every refusal in its order, and the main
 * thread's verdicts through the real queue. The endpoints over HTTP are
 * in test_status.c.
 *
 * Threads: the tests run on the main thread; a second thread stands in
 * for relay's main loop where the queue is needed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "schedule.h"
#include "test_tmpdir.h"
#include "util.h"

#define T0 (INT64_C(1795600000) * NS_PER_SEC) /* 2026-11-25T09:46:40Z */

/* ---- Parsing and describing. ---- */

/* Parses body for ep; returns the result and leaves the message in err. */
static int
parse(enum control_endpoint ep, const char *body, struct control_request *req,
    char *err, size_t errlen)
{
	return control_parse(
	    ep, body, body != NULL ? strlen(body) : 0, T0, req, err, errlen);
}

/* body must be refused with a message that starts with want. */
static void
refused(enum control_endpoint ep, const char *body, const char *want)
{
	struct control_request *req = malloc(sizeof(*req));
	char err[512];
	int rc;

	assert_non_null(req);
	rc = parse(ep, body, req, err, sizeof(err));
	if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0)
		fail_msg(
		    "%s: rc %d, err \"%s\", expected -EINVAL and \"%s...\"",
		    body, rc, err, want);
	/* Nothing half-filled is left behind. */
	assert_string_equal(req->title, "");
	assert_string_equal(req->path, "");
	free(req);
}

static void
test_parse_segments(void **state)
{
	struct control_request *req = malloc(sizeof(*req));
	char err[512], *body, big[300];

	(void)state;
	assert_non_null(req);
	/* A tone with every field. */
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\": \"tone\", \"duration\": \"90s\", "
			     "\"at\": \"2026-11-25T10:00:00Z\", "
			     "\"title\": \"Breaking\\u0001 news\", "
			     "\"artist\": \"Desk\", \"frequency\": 1000, "
			     "\"level_dbfs\": -12.5}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->what, CONTROL_PLAY);
	assert_int_equal(req->play.kind, SCHEDULE_SOURCE_TONE);
	assert_int_equal(req->play.duration_ns, 90 * NS_PER_SEC);
	/* T0 is 09:46:40Z: 10:00:00Z is 800 s later. */
	assert_int_equal(req->play.at_wall_ns, T0 + 800 * NS_PER_SEC);
	assert_string_equal(req->title, "Breaking news");
	assert_string_equal(req->artist, "Desk");
	assert_true(req->play.frequency_hz == 1000.0);
	assert_true(req->play.level_dbfs == -12.5);
	assert_string_equal(req->path, "");

	/* Defaults: now, 440 Hz, -18 dBFS; a number of seconds. */
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"tone\",\"duration\":1.5,"
			     "\"at\":\"now\"}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->play.at_wall_ns, 0);
	assert_int_equal(req->play.duration_ns, 1500 * NS_PER_MS);
	assert_true(req->play.frequency_hz == 440.0);
	assert_true(req->play.level_dbfs == -18.0);
	assert_string_equal(req->title, "");

	/* A file needs no duration; null is as good as absent. */
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"file\",\"path\":\"/srv/news.ogg\","
			     "\"at\":null,\"artist\":null}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->play.kind, SCHEDULE_SOURCE_FILE);
	assert_string_equal(req->path, "/srv/news.ogg");
	assert_int_equal(req->play.duration_ns, 0);
	assert_int_equal(req->play.at_wall_ns, 0);

	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"stream\",\"url\":"
			     "\"https://feeds.example/news.ogg\","
			     "\"duration\":\"1h30m\","
			     "\"at\":\"2026-11-25 09:46:45.250+00:00\"}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->play.kind, SCHEDULE_SOURCE_STREAM);
	assert_string_equal(req->url, "https://feeds.example/news.ogg");
	assert_int_equal(req->play.duration_ns, 5400 * NS_PER_SEC);
	assert_int_equal(
	    req->play.at_wall_ns, T0 + 5 * NS_PER_SEC + 250 * NS_PER_MS);
	/* A start a few seconds ago means now. */
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"live\",\"duration\":60,"
			     "\"at\":\"2026-11-25T09:46:35Z\"}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->play.kind, SCHEDULE_SOURCE_LIVE);
	assert_int_equal(req->play.at_wall_ns, 0);
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"playlist\",\"path\":\"lists/am\","
			     "\"duration\":\"15m\"}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->play.kind, SCHEDULE_SOURCE_PLAYLIST);
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"silence\",\"duration\":\"2s\"}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->play.kind, SCHEDULE_SOURCE_SILENCE);

	/* Each field of the wrong type, named in the message. */
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"source\":5,\"duration\":1}",
	    "source: must be one of");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"radio\",\"duration\":1}", "source: must be one of");
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"source\":null,\"duration\":1}",
	    "source: must be one of");
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"source\":\"file\",\"path\":5}",
	    "path: must be a string");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"file\",\"path\":\"\"}", "path: must not be empty");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"file\",\"path\":\"a\\nb\"}",
	    "path: must not hold control characters");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"stream\",\"url\":[],\"duration\":1}",
	    "url: must be a string");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"stream\",\"url\":\"ftp://x/y\",\"duration\":1}",
	    "url: must be an http:// or https:// URL");
	/* A raw '/' in the password: no parser can tell it from the path,
	 * so it would be shown whole (the audit line, the log). */
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"stream\",\"url\":\"http://u:p/ss@h/x\","
	    "\"duration\":1}",
	    "url: has an '@' after a '/', '?' or '#'");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"at\":5}",
	    "at: must be a string");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"at\":\"tomorrow\"}",
	    "at: \"tomorrow\" is not an ISO 8601 UTC time");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,"
	    "\"at\":\"2026-02-30T10:00:00Z\"}",
	    "at: \"2026-02-30T10:00:00Z\" is not an ISO 8601 UTC time");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,"
	    "\"at\":\"2026-11-25T10:00:00+01:00\"}",
	    "at: ");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,"
	    "\"at\":\"2026-11-25T09:00:00Z\"}",
	    "at: 2026-11-25T09:00:00Z is in the past");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,"
	    "\"at\":\"2026-11-27T09:00:00Z\"}",
	    "at: 2026-11-27T09:00:00Z is more than 24 hours ahead");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":true}",
	    "duration: must be a string such as \"90s\" or a number");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":\"soon\"}",
	    "duration: \"soon\" is not a duration");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":0}", "duration: out of range");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":-3}", "duration: out of range");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":\"25h\"}",
	    "duration: out of range");
	/* The schedule file's rules: each unit once, largest first
	 * ("1h1h" used to be 2 h). */
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":\"1h1h\"}",
	    "duration: \"1h1h\" is not a duration");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":\"30s 1m\"}",
	    "duration: \"30s 1m\" is not a duration");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"title\":7}",
	    "title: must be a string");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"artist\":{}}",
	    "artist: must be a string");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"frequency\":\"440\"}",
	    "frequency: must be a number");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"frequency\":30000}",
	    "frequency: 30000 is out of range");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"level_dbfs\":\"-6\"}",
	    "level_dbfs: must be a number");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"level_dbfs\":3}",
	    "level_dbfs: 3 is out of range");
	/* Missing, misplaced, unknown and repeated fields. */
	refused(
	    CONTROL_ENDPOINT_SEGMENTS, "{\"duration\":1}", "source: missing");
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"source\":\"tone\"}",
	    "duration: missing");
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"source\":\"file\"}",
	    "path: missing");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"stream\",\"duration\":1}", "url: missing");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"path\":\"x.ogg\"}",
	    "path: only for source file or playlist");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"file\",\"path\":\"x\",\"frequency\":1}",
	    "frequency: only for source tone");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"durration\":2}",
	    "durration: unknown field");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"duration\":2}",
	    "duration: given twice");
	/* Not an object. */
	refused(
	    CONTROL_ENDPOINT_SEGMENTS, "", "the body must be a JSON object");
	refused(
	    CONTROL_ENDPOINT_SEGMENTS, NULL, "the body must be a JSON object");
	refused(
	    CONTROL_ENDPOINT_SEGMENTS, "[1]", "the body must be a JSON object");
	refused(CONTROL_ENDPOINT_SEGMENTS, "\"tone\"",
	    "the body must be a JSON object");
	refused(
	    CONTROL_ENDPOINT_SEGMENTS, "{\"source\":", "the body is not valid");
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"source\":\"tone\"} x",
	    "the body is not valid");
	refused(CONTROL_ENDPOINT_SEGMENTS, "{\"a\":[[[[[[1]]]]]]}",
	    "the body nests too deeply");

	/* Too long: title 255 bytes is fine, 256 is not; path at most
	 * CONTROL_TEXT - 1. */
	memset(big, 'x', 256);
	big[256] = '\0';
	assert_true(asprintf(&body,
			"{\"source\":\"tone\",\"duration\":1,"
			"\"title\":\"%s\"}",
			big) > 0);
	refused(CONTROL_ENDPOINT_SEGMENTS, body,
	    "title: 256 bytes, at most 255 allowed");
	free(body);
	big[255] = '\0';
	assert_true(asprintf(&body,
			"{\"source\":\"tone\",\"duration\":1,"
			"\"title\":\"%s\",\"artist\":\"%s\"}",
			big, big) > 0);
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_SEGMENTS, body, req, err, sizeof(err)), 0);
	assert_int_equal(strlen(req->title), 255);
	assert_int_equal(strlen(req->artist), 255);
	free(body);
	{
		char *path = malloc(CONTROL_TEXT + 1);

		assert_non_null(path);
		memset(path, 'p', CONTROL_TEXT);
		path[CONTROL_TEXT] = '\0';
		assert_true(
		    asprintf(&body, "{\"source\":\"file\",\"path\":\"%s\"}",
			path) > 0);
		refused(CONTROL_ENDPOINT_SEGMENTS, body,
		    "path: 4096 bytes, at most 4095 allowed");
		free(body);
		free(path);
	}
	/* Over the body limit: -EMSGSIZE before any parsing. */
	body = malloc(CONTROL_MAX_BODY_BYTES + 2);
	assert_non_null(body);
	memset(body, ' ', CONTROL_MAX_BODY_BYTES + 1);
	body[0] = '{';
	body[CONTROL_MAX_BODY_BYTES] = '}';
	body[CONTROL_MAX_BODY_BYTES + 1] = '\0';
	assert_int_equal(
	    control_parse(CONTROL_ENDPOINT_SEGMENTS, body,
		CONTROL_MAX_BODY_BYTES + 1, T0, req, err, sizeof(err)),
	    -EMSGSIZE);
	free(body);
	free(req);
}

/* A NUL in a string (the escape \u0000 or a raw 0 byte) is refused, naming
 * the field: cJSON's strings end at the first NUL, so it used to cut the
 * value there and accept what was left ("flash.wav\u0000x" played
 * flash.wav). Escaped backslashes before "u0000" are not a NUL. */
static void
test_parse_nul(void **state)
{
	struct control_request *req = malloc(sizeof(*req));
	char err[512];
	static const char raw_title[] = "{\"title\":\"News\0 at ten\"}";
	static const char raw_outside[] = "{\"title\":\"x\"}\0";

	(void)state;
	assert_non_null(req);
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"News\\u0000 at ten\"}",
	    "title: must not hold a NUL character");
	refused(CONTROL_ENDPOINT_METADATA,
	    "{\"title\":\"x\",\"artist\":\"A\\u0000\"}",
	    "artist: must not hold a NUL character");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"file\",\"path\":\"flash.wav\\u0000/x\"}",
	    "path: must not hold a NUL character");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"name\":\"a\\u0000b\"}",
	    "name: must not hold a NUL character");
	/* In a key: "title\u0000x" would have been taken for "title". */
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\\u0000x\":\"y\"}",
	    "the body must not hold a NUL character");
	assert_int_equal(control_parse(CONTROL_ENDPOINT_METADATA, raw_title,
			     sizeof(raw_title) - 1, T0, req, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(
	    err, "title: must not hold a NUL character (\\u0000)");
	assert_int_equal(
	    control_parse(CONTROL_ENDPOINT_METADATA, raw_outside,
		sizeof(raw_outside) - 1, T0, req, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err,
	    "the body must not hold a NUL character (\\u0000 or a 0 byte)");
	/* "\\u0000" is a backslash, then the text u0000; other escapes of
	 * zeros are characters like any other. */
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_METADATA,
		"{\"title\":\"a\\\\u0000 \\u0030\"}", req, err, sizeof(err)),
	    0);
	assert_string_equal(req->title, "a\\u0000 0");
	free(req);
}

static void
test_parse_metadata(void **state)
{
	struct control_request *req = malloc(sizeof(*req));
	char err[512], *body, big[300];

	(void)state;
	assert_non_null(req);
	assert_int_equal(parse(CONTROL_ENDPOINT_METADATA,
			     "{\"title\":\"Morning \\\"Live\\\"\\t"
			     "\xc3\x9c"
			     "ber\",\"artist\":\"Ana & Bo\"}",
			     req, err, sizeof(err)),
	    0);
	assert_int_equal(req->what, CONTROL_METADATA);
	/* Control characters go (a tab becomes a space), UTF-8 and quotes
	 * stay. */
	assert_string_equal(req->title, "Morning \"Live\" \xc3\x9c"
					"ber");
	assert_string_equal(req->artist, "Ana & Bo");
	assert_int_equal(parse(CONTROL_ENDPOINT_METADATA,
			     "{\"title\":\"Only a title\",\"artist\":null}",
			     req, err, sizeof(err)),
	    0);
	assert_string_equal(req->artist, "");

	refused(CONTROL_ENDPOINT_METADATA, "{}", "title: missing");
	refused(
	    CONTROL_ENDPOINT_METADATA, "{\"artist\":\"x\"}", "title: missing");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"\"}",
	    "title: must not be empty");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"\\u0002\"}",
	    "title: must not be empty");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"   \"}",
	    "title: must not be empty or only spaces");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\" \\t\\u0001 \"}",
	    "title: must not be empty or only spaces");
	refused(CONTROL_ENDPOINT_SEGMENTS,
	    "{\"source\":\"tone\",\"duration\":1,\"name\":\"  \"}",
	    "name: must not be empty or only spaces");
	assert_int_equal(parse(CONTROL_ENDPOINT_METADATA,
			     "{\"title\":\" News \"}", req, err, sizeof(err)),
	    0);
	assert_string_equal(req->title, " News ");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":42}",
	    "title: must be a string");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":null}",
	    "title: must be a string");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"x\",\"artist\":true}",
	    "artist: must be a string");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"x\",\"album\":\"y\"}",
	    "album: unknown field");
	refused(CONTROL_ENDPOINT_METADATA, "{\"title\":\"x\",\"title\":\"y\"}",
	    "title: given twice");
	refused(
	    CONTROL_ENDPOINT_METADATA, "", "the body must be a JSON object");
	refused(CONTROL_ENDPOINT_METADATA, "title=x", "the body is not valid");
	memset(big, 'y', 256);
	big[256] = '\0';
	assert_true(
	    asprintf(&body, "{\"title\":\"t\",\"artist\":\"%s\"}", big) > 0);
	refused(CONTROL_ENDPOINT_METADATA, body,
	    "artist: 256 bytes, at most 255 allowed");
	free(body);
	assert_true(asprintf(&body, "{\"title\":\"%s\"}", big) > 0);
	refused(CONTROL_ENDPOINT_METADATA, body,
	    "title: 256 bytes, at most 255 allowed");
	free(body);
	free(req);
}

static void
test_parse_skip_reload(void **state)
{
	struct control_request *req = malloc(sizeof(*req));
	char err[256];

	(void)state;
	assert_non_null(req);
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_SKIP, "", req, err, sizeof(err)), 0);
	assert_int_equal(req->what, CONTROL_SKIP);
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_SKIP, NULL, req, err, sizeof(err)), 0);
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_SKIP, " {} \n", req, err, sizeof(err)), 0);
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_RELOAD, "{}", req, err, sizeof(err)), 0);
	assert_int_equal(req->what, CONTROL_RELOAD);
	refused(CONTROL_ENDPOINT_SKIP, "{\"now\":true}", "now: unknown field");
	refused(
	    CONTROL_ENDPOINT_RELOAD, "[]", "the body must be a JSON object");
	refused(CONTROL_ENDPOINT_RELOAD, "reload", "the body is not valid");
	free(req);
}

static void
test_describe(void **state)
{
	struct control_request *req = malloc(sizeof(*req));
	char err[256], buf[600];

	(void)state;
	assert_non_null(req);
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"tone\",\"duration\":30,"
			     "\"title\":\"Breaking news\"}",
			     req, err, sizeof(err)),
	    0);
	assert_string_equal(control_describe(req, buf, sizeof(buf)),
	    "play tone 440 Hz -18 dBFS 30 s 'Breaking news'");
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"file\",\"path\":\"/srv/a.ogg\","
			     "\"at\":\"2026-11-25T10:00:00Z\",\"title\":\"A\","
			     "\"artist\":\"B\"}",
			     req, err, sizeof(err)),
	    0);
	assert_string_equal(control_describe(req, buf, sizeof(buf)),
	    "play file /srv/a.ogg (whole file) at 2026-11-25T10:00:00Z "
	    "'A' by 'B'");
	/* Credentials in a feed URL never reach the audit log. */
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"stream\",\"url\":"
			     "\"http://user:pw@feeds.example:8000/n.ogg?a@b\","
			     "\"duration\":\"2.5s\"}",
			     req, err, sizeof(err)),
	    0);
	assert_string_equal(control_describe(req, buf, sizeof(buf)),
	    "play stream http://***@feeds.example:8000/n.ogg?a@b 2.500 s");
	/* A password with an "@" not written %40: the userinfo ends at the
	 * authority's last "@" (the audit line showed "***@ss@feeds..."). */
	assert_int_equal(parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"stream\",\"url\":"
			     "\"http://user:p@ss@feeds.example/n.ogg\","
			     "\"duration\":\"2.5s\"}",
			     req, err, sizeof(err)),
	    0);
	assert_string_equal(control_describe(req, buf, sizeof(buf)),
	    "play stream http://***@feeds.example/n.ogg 2.500 s");
	assert_int_equal(parse(CONTROL_ENDPOINT_METADATA,
			     "{\"title\":\"Desk\",\"artist\":\"Ana\"}", req,
			     err, sizeof(err)),
	    0);
	assert_string_equal(control_describe(req, buf, sizeof(buf)),
	    "live title 'Desk' by 'Ana'");
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_SKIP, "", req, err, sizeof(err)), 0);
	assert_string_equal(
	    control_describe(req, buf, sizeof(buf)), "skip the segment on air");
	assert_int_equal(
	    parse(CONTROL_ENDPOINT_RELOAD, "", req, err, sizeof(err)), 0);
	assert_string_equal(control_describe(req, buf, sizeof(buf)),
	    "reload config and schedule");
	/* A short buffer is cut, and terminated. */
	assert_string_equal(control_describe(req, buf, 7), "reload");
	free(req);
}

/* ---- The endpoint table. ---- */

static void
test_endpoint_of(void **state)
{
	enum control_endpoint ep = CONTROL_ENDPOINT_RELOAD;

	(void)state;
	assert_true(control_endpoint_of("/api/segments", &ep));
	assert_int_equal(ep, CONTROL_ENDPOINT_SEGMENTS);
	assert_true(control_endpoint_of("/api/skip", &ep));
	assert_int_equal(ep, CONTROL_ENDPOINT_SKIP);
	assert_true(control_endpoint_of("/api/metadata", &ep));
	assert_int_equal(ep, CONTROL_ENDPOINT_METADATA);
	assert_true(control_endpoint_of("/api/reload", &ep));
	assert_int_equal(ep, CONTROL_ENDPOINT_RELOAD);
	/* Exact paths only: no prefix, suffix or query. */
	assert_false(control_endpoint_of("/api/status", &ep));
	assert_false(control_endpoint_of("/api/skip/", &ep));
	assert_false(control_endpoint_of("/api/skip?x=1", &ep));
	assert_false(control_endpoint_of("/API/skip", &ep));
	assert_false(control_endpoint_of("", &ep));
}

/* ---- Time values far from now. ---- */

/* A segment at text must be refused with a message starting with want,
 * judged at now (a sanitizer build aborts on any overflow on the way). */
static void
refused_at(int64_t now, const char *text, const char *want)
{
	struct control_request *req = malloc(sizeof(*req));
	char body[256], err[512];
	int rc;

	assert_non_null(req);
	snprintf(body, sizeof(body),
	    "{\"source\":\"tone\",\"duration\":1,\"at\":\"%s\"}", text);
	rc = control_parse(CONTROL_ENDPOINT_SEGMENTS, body, strlen(body), now,
	    req, err, sizeof(err));
	if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0)
		fail_msg("at %s: rc %d, err \"%s\", expected -EINVAL and "
			 "\"%s...\"",
		    text, rc, err, want);
	free(req);
}

static void
test_parse_far_times(void **state)
{
	struct control_request *req = malloc(sizeof(*req));
	char text[64], err[512];
	struct tm tm;
	time_t t;

	(void)state;
	assert_non_null(req);
	/* Seconds times 1e9 overflows int64_t after 2262. */
	refused_at(T0, "9999-12-31T23:59:59Z",
	    "at: \"9999-12-31T23:59:59Z\" "
	    "is out of range");
	refused_at(T0, "2263-01-01T00:00:00Z", "at: ");
	refused_at(T0, "0000-01-01T00:00:00Z", "at: ");
	refused_at(T0, "1969-12-31T23:59:59.999999999999Z", "at: ");
	/* 2^64 ns (584.5 years) after an hour from now wraps around to
	 * about an hour from now in an unchecked multiplication: it must
	 * be refused, not played in an hour. */
	t = (time_t)(T0 / NS_PER_SEC) + (time_t)18446744073 + 3600;
	assert_non_null(gmtime_r(&t, &tm));
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_int_equal(tm.tm_year + 1900, 2611);
	refused_at(T0, text, "at: ");
	/* A "now" at either end of the clock: refused, and no overflow. */
	refused_at(INT64_MAX, "2026-11-25T10:00:00Z", "at: ");
	refused_at(INT64_MIN, "2026-11-25T10:00:00Z", "at: ");
	/* The last year allowed still parses (and is far ahead). */
	refused_at(T0, "2200-12-31T23:59:59Z",
	    "at: 2200-12-31T23:59:59Z is "
	    "more than 24 hours ahead");
	/* Still fine: an hour ahead. */
	assert_int_equal(control_parse(CONTROL_ENDPOINT_SEGMENTS,
			     "{\"source\":\"tone\",\"duration\":1,"
			     "\"at\":\"2026-11-25T10:46:40Z\"}",
			     strlen("{\"source\":\"tone\",\"duration\":1,"
				    "\"at\":\"2026-11-25T10:46:40Z\"}"),
			     T0, req, err, sizeof(err)),
	    0);
	assert_true(req->play.at_wall_ns == T0 + 3600 * NS_PER_SEC);
	free(req);
}

/* ---- Where segments may come from. ---- */

static void
write_file(const char *path)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs("x", fp);
	fclose(fp);
}

static void
test_check_path(void **state)
{
	char root[256], media[300], outside[300], p[700], p2[700];
	char real[4096], err[512], err2[512];
	struct config_list dirs = {0};

	(void)state;
	test_tmpdir_template(root, sizeof(root), "test_control");
	assert_non_null(mkdtemp(root));
	snprintf(media, sizeof(media), "%s/media", root);
	snprintf(outside, sizeof(outside), "%s/outside", root);
	assert_int_equal(mkdir(media, 0700), 0);
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(p, sizeof(p), "%s/news.ogg", media);
	write_file(p);
	snprintf(p, sizeof(p), "%s/secret.ogg", outside);
	write_file(p);
	snprintf(p, sizeof(p), "%s/link.ogg", media);
	snprintf(p2, sizeof(p2), "%s/secret.ogg", outside);
	assert_int_equal(symlink(p2, p), 0);
	dirs.item[0] = media;
	dirs.n = 1;

	/* Inside: absolute, relative, with "." and "//". */
	snprintf(p, sizeof(p), "%s/news.ogg", media);
	assert_int_equal(
	    control_check_path(&dirs, p, real, sizeof(real), err, sizeof(err)),
	    0);
	assert_string_equal(real, p);
	assert_int_equal(control_check_path(&dirs, "news.ogg", real,
			     sizeof(real), err, sizeof(err)),
	    0);
	assert_string_equal(real, p);
	snprintf(p2, sizeof(p2), "%s/.//news.ogg", media);
	assert_int_equal(
	    control_check_path(&dirs, p2, real, sizeof(real), err, sizeof(err)),
	    0);

	/* Outside, by "..", by a link, directly, or the directory itself:
	 * refused, and an existing file outside gets the very same text
	 * as a missing one. */
	assert_int_equal(control_check_path(&dirs, "../outside/secret.ogg",
			     real, sizeof(real), err, sizeof(err)),
	    -EACCES);
	assert_int_equal(control_check_path(&dirs, "link.ogg", real,
			     sizeof(real), err, sizeof(err)),
	    -EACCES);
	assert_int_equal(control_check_path(&dirs, media, real, sizeof(real),
			     err, sizeof(err)),
	    -EACCES);
	snprintf(p, sizeof(p), "%s/secret.ogg", outside);
	assert_int_equal(
	    control_check_path(&dirs, p, real, sizeof(real), err, sizeof(err)),
	    -EACCES);
	snprintf(p2, sizeof(p2), "%s/missing.ogg", outside);
	assert_int_equal(control_check_path(
			     &dirs, p2, real, sizeof(real), err2, sizeof(err2)),
	    -EACCES);
	assert_non_null(strstr(err, "is not a file in the media directories"));
	assert_string_equal(strstr(err, "\" is"), strstr(err2, "\" is"));
	/* A missing file inside gets that text too. */
	snprintf(p2, sizeof(p2), "%s/missing.ogg", media);
	assert_int_equal(control_check_path(
			     &dirs, p2, real, sizeof(real), err2, sizeof(err2)),
	    -EACCES);
	assert_string_equal(strstr(err, "\" is"), strstr(err2, "\" is"));
	/* No directories: all refused, saying which key to set. */
	dirs.n = 0;
	assert_int_equal(control_check_path(&dirs, "news.ogg", real,
			     sizeof(real), err, sizeof(err)),
	    -EACCES);
	assert_non_null(strstr(err, "[status] media_dirs"));

	snprintf(p, sizeof(p), "%s/link.ogg", media);
	unlink(p);
	snprintf(p, sizeof(p), "%s/news.ogg", media);
	unlink(p);
	snprintf(p, sizeof(p), "%s/secret.ogg", outside);
	unlink(p);
	rmdir(media);
	rmdir(outside);
	rmdir(root);
}

static void
feed_is(const struct config_list *hosts, bool set, const char *url, int want)
{
	char err[512] = "";
	int rc = control_check_feed(hosts, set, url, err, sizeof(err));

	if (rc != want)
		fail_msg("%s: %d (%s), expected %d", url, rc, err, want);
}

static void
test_check_feed(void **state)
{
	struct config_list hosts = {0};
	char h0[] = "127.0.0.1", h1[] = "[::1]", h2[] = "Feeds.Example.org";

	(void)state;
	/* No list: loopback, 0.0.0.0/8 and link-local refused, in any
	 * spelling a URL library takes. */
	feed_is(NULL, false, "http://127.0.0.1:8000/feed.ogg", -EACCES);
	feed_is(NULL, false, "http://127.1/feed.ogg", -EACCES);
	feed_is(NULL, false, "http://2130706433/feed.ogg", -EACCES);
	feed_is(NULL, false, "http://0x7f000001/feed.ogg", -EACCES);
	feed_is(NULL, false, "http://0.0.0.0:80/", -EACCES);
	feed_is(
	    NULL, false, "http://169.254.169.254/latest/meta-data", -EACCES);
	feed_is(NULL, false, "http://[::1]:8000/x", -EACCES);
	feed_is(NULL, false, "http://[fe80::1]/x", -EACCES);
	feed_is(NULL, false, "http://[::ffff:127.0.0.1]/x", -EACCES);
	feed_is(NULL, false, "http://LOCALHOST./x", -EACCES);
	feed_is(NULL, false, "http://a.localhost/x", -EACCES);
	feed_is(NULL, false, "http://user:pw@127.0.0.1/x", -EACCES);
	feed_is(NULL, false, "http://192.0.2.7/x", 0);
	feed_is(NULL, false, "https://[2001:db8::7]:8443/x", 0);
	/* A list: only what it names, loopback included. */
	hosts.item[0] = h0;
	hosts.item[1] = h1;
	hosts.item[2] = h2;
	hosts.n = 3;
	feed_is(&hosts, true, "http://127.0.0.1:8000/feed.ogg", 0);
	feed_is(&hosts, true, "http://[::1]:8000/feed.ogg", 0);
	feed_is(&hosts, true, "http://feeds.example.org./feed.ogg", 0);
	feed_is(&hosts, true, "http://127.1/feed.ogg", -EACCES);
	feed_is(&hosts, true, "http://192.0.2.7/x", -EACCES);
	feed_is(&hosts, true, "http://127.0.0.1@192.0.2.7/x", -EACCES);
	/* "none": nothing. */
	hosts.n = 0;
	feed_is(&hosts, true, "http://192.0.2.7/x", -EACCES);
}

/* ---- control_handle(). ---- */

/* What the redact callback saw, and what the fake main thread saw. */
static char redacted_line[2048];
static int redact_calls;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct control_request seen;
static int seen_count;
static int answer_rc;
static const char *answer_err;
static atomic_bool main_stop;

/* Blanks "s3cret" the way the status server blanks its token. */
static void
redact_cb(char *line, size_t len, void *arg)
{
	char *red;

	assert_ptr_equal(arg, &redact_calls);
	redact_calls++;
	red = util_redact(line, "s3cret");
	assert_non_null(red);
	util_strlcpy(line, red, len);
	free(red);
	util_strlcpy(redacted_line, line, sizeof(redacted_line));
}

/* Runs control_handle() and returns the answer's code; *body (owned)
 * gets the JSON. */
static unsigned int
handle(enum control_endpoint ep, const char *method, enum status_auth auth,
    const char *body, uint64_t body_bytes, char **out_body)
{
	struct control_call call = {
	    .endpoint = ep,
	    .method = method,
	    .auth = auth,
	    .body = body,
	    .body_len = body != NULL ? strlen(body) : 0,
	    .body_bytes = body_bytes,
	    .client = "127.0.0.1:4242",
	};
	struct control_answer ans = {0};

	control_handle(&call, redact_cb, &redact_calls, &ans);
	assert_non_null(ans.body);
	*out_body = ans.body;
	return ans.code;
}

/* The answer is code with exactly body. */
static void
answers(enum control_endpoint ep, const char *method, enum status_auth auth,
    const char *body, unsigned int want_code, const char *want_body)
{
	char *got;
	unsigned int code;

	code = handle(
	    ep, method, auth, body, body != NULL ? strlen(body) : 0, &got);
	if (code != want_code || strcmp(got, want_body) != 0)
		fail_msg("%s: %u %s, expected %u %s", body != NULL ? body : "",
		    code, got, want_code, want_body);
	free(got);
}

static void
test_handle_refusals(void **state)
{
	char *body, *body_p;

	(void)state;
	/* In order: method, token, size, body; none reaches the queue (it
	 * is not even set up here). */
	answers(CONTROL_ENDPOINT_SKIP, "GET", STATUS_AUTH_MISSING, NULL, 405,
	    "{\"error\":\"/api/skip takes POST only\"}");
	answers(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_MISSING, NULL, 401,
	    "{\"error\":\"a bearer token is required (Authorization: Bearer "
	    "TOKEN)\"}");
	answers(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_WRONG, NULL, 403,
	    "{\"error\":\"wrong token\"}");
	answers(CONTROL_ENDPOINT_RELOAD, "POST", STATUS_AUTH_DISABLED, NULL,
	    403,
	    "{\"error\":\"control is disabled: set [status] token, "
	    "token_file or token_env\"}");
	assert_int_equal(
	    handle(CONTROL_ENDPOINT_METADATA, "POST", STATUS_AUTH_OK, "{}",
		CONTROL_MAX_BODY_BYTES + 1, &body),
	    413);
	assert_string_equal(body,
	    "{\"error\":\"the body is 16385 bytes, at most 16384 "
	    "allowed\"}");
	free(body);
	answers(CONTROL_ENDPOINT_METADATA, "POST", STATUS_AUTH_OK,
	    "{\"title\":7}", 400, "{\"error\":\"title: must be a string\"}");
	/* A query parameter is refused after the token, before the body
	 * ("?dry_run=1" was ignored and the segment played); a long name is
	 * not shown. */
	{
		struct control_call call = {
		    .endpoint = CONTROL_ENDPOINT_SEGMENTS,
		    .method = "POST",
		    .auth = STATUS_AUTH_OK,
		    .body = "{\"source\":\"tone\",\"duration\":1}",
		    .body_len = 30,
		    .body_bytes = 30,
		    .client = "127.0.0.1:4242",
		    .query = "dry_run",
		};
		struct control_answer ans = {0};

		control_handle(&call, redact_cb, &redact_calls, &ans);
		assert_int_equal(ans.code, 400);
		assert_string_equal(ans.body,
		    "{\"error\":\"query parameter \\\"dry_run\\\": the control "
		    "endpoints take none; the request goes in the body\"}");
		free(ans.body);
		call.query = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-s3cret";
		control_handle(&call, redact_cb, &redact_calls, &ans);
		assert_int_equal(ans.code, 400);
		assert_null(strstr(ans.body, "s3c"));
		free(ans.body);
	}

	/* The audit line names the client, method, path, code and reason,
	 * after the redact callback has had it. */
	redact_calls = 0;
	answers(CONTROL_ENDPOINT_METADATA, "POST", STATUS_AUTH_OK,
	    "{\"title\":\"x\",\"s3cret\":1}", 400,
	    "{\"error\":\"s3cret: unknown field (allowed: title, artist)\"}");
	assert_int_equal(redact_calls, 1);
	assert_string_equal(redacted_line,
	    "127.0.0.1:4242 POST /api/metadata 400 set the live title: ***: "
	    "unknown field (allowed: title, artist)");

	/* Nothing cuts a client's text before the redact callback sees it:
	 * a cut through the secret left its first letters ("aaa...s3c")
	 * where no whole secret was left to blank. */
	answers(CONTROL_ENDPOINT_METADATA, "POST", STATUS_AUTH_OK,
	    "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-s3cret\":1}", 400,
	    "{\"error\":\"unknown field, a name of 44 bytes (allowed: "
	    "title, artist)\"}");
	assert_null(strstr(redacted_line, "s3c"));
	{
		char big[1200];

		snprintf(big, sizeof(big),
		    "{\"source\":\"file\",\"path\":\"/%0880d\","
		    "\"title\":\"s3cret\",\"duration\":5}",
		    0);
		assert_int_equal(handle(CONTROL_ENDPOINT_SEGMENTS, "POST",
				     STATUS_AUTH_OK, big, strlen(big), &body_p),
		    422);
		free(body_p);
		assert_null(strstr(redacted_line, "s3c"));
		assert_non_null(strstr(redacted_line, "5 s '***': path: "));
	}
}

/* One call from client with the given token verdict; returns the code
 * and the Retry-After seconds in *retry_s. */
static unsigned int
call_from(const char *client, enum status_auth auth, unsigned int *retry_s)
{
	struct control_call call = {
	    .endpoint = CONTROL_ENDPOINT_SKIP,
	    .method = "POST",
	    .auth = auth,
	    .client = client,
	};
	struct control_answer ans = {0};

	control_handle(&call, NULL, NULL, &ans);
	assert_non_null(ans.body);
	free(ans.body);
	*retry_s = ans.retry_after_s;
	return ans.code;
}

static void
test_handle_token_guessing(void **state)
{
	unsigned int retry, i;

	(void)state;
	/* Four refused tokens are answered as such ... */
	for (i = 0; i < 4; i++) {
		assert_int_equal(
		    call_from("192.0.2.9:4000", STATUS_AUTH_WRONG, &retry),
		    403);
		assert_int_equal(retry, 0);
	}
	/* (a missing token counts too) ... the fifth locks the address
	 * out: then 429 with Retry-After, even with the right token, and
	 * from any port. */
	assert_int_equal(
	    call_from("192.0.2.9:4001", STATUS_AUTH_MISSING, &retry), 401);
	assert_int_equal(
	    call_from("192.0.2.9:4002", STATUS_AUTH_WRONG, &retry), 429);
	assert_true(retry >= 29 && retry <= 30);
	assert_int_equal(
	    call_from("192.0.2.9:4003", STATUS_AUTH_OK, &retry), 429);
	/* Other addresses are not affected; IPv6 is one address too. */
	assert_int_equal(
	    call_from("192.0.2.10:4000", STATUS_AUTH_WRONG, &retry), 403);
	for (i = 0; i < 5; i++)
		call_from("[2001:db8::1]:80", STATUS_AUTH_WRONG, &retry);
	assert_int_equal(
	    call_from("[2001:db8::1]:81", STATUS_AUTH_WRONG, &retry), 429);
	assert_int_equal(
	    call_from("[2001:db8::2]:81", STATUS_AUTH_WRONG, &retry), 403);
	/* A disabled control API has no token to guess: never locked. */
	for (i = 0; i < 8; i++)
		assert_int_equal(
		    call_from("192.0.2.11:1", STATUS_AUTH_DISABLED, &retry),
		    403);
}

static int
fake_handler(struct control_request *req, char *err, size_t errlen, void *arg)
{
	int rc;

	(void)arg;
	pthread_mutex_lock(&seen_lock);
	seen = *req;
	seen_count++;
	rc = answer_rc;
	if (answer_err != NULL)
		util_strlcpy(err, answer_err, errlen);
	pthread_mutex_unlock(&seen_lock);
	return rc;
}

/* Stands in for relay's main loop: runs requests as they come. */
static void *
fake_main_thread(void *arg)
{
	struct pollfd pfd = {.fd = control_fd(), .events = POLLIN};

	(void)arg;
	while (!atomic_load(&main_stop)) {
		if (poll(&pfd, 1, 50) > 0)
			control_run();
	}
	return NULL;
}

static void
test_handle_queue(void **state)
{
	pthread_t main_thread;

	(void)state;
	/* Before control_init(): nobody would answer. */
	answers(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_OK, NULL, 503,
	    "{\"error\":\"control is not available\"}");

	assert_int_equal(control_init(fake_handler, NULL), 0);
	atomic_store(&main_stop, false);
	assert_int_equal(
	    pthread_create(&main_thread, NULL, fake_main_thread, NULL), 0);

	answers(CONTROL_ENDPOINT_SEGMENTS, "POST", STATUS_AUTH_OK,
	    "{\"source\":\"tone\",\"duration\":30,\"title\":\"News\"}", 202,
	    "{\"ok\":true,\"request\":\"play tone 440 Hz -18 dBFS 30 s "
	    "'News'\"}");
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen_count, 1);
	assert_int_equal(seen.what, CONTROL_PLAY);
	assert_int_equal(seen.play.kind, SCHEDULE_SOURCE_TONE);
	assert_string_equal(seen.title, "News");
	/* The main thread refuses, with and without a reason. */
	answer_rc = -ENOENT;
	answer_err = "no such file: /srv/x.ogg";
	pthread_mutex_unlock(&seen_lock);
	answers(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_OK, "", 422,
	    "{\"error\":\"no such file: /srv/x.ogg\"}");
	pthread_mutex_lock(&seen_lock);
	answer_rc = -EBUSY;
	answer_err = NULL;
	pthread_mutex_unlock(&seen_lock);
	answers(CONTROL_ENDPOINT_RELOAD, "POST", STATUS_AUTH_OK, "{}", 422,
	    "{\"error\":\"refused (Device or resource busy)\"}");

	/* Stopping: 503, and the handler is not called any more. */
	control_shutdown();
	answers(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_OK, "", 503,
	    "{\"error\":\"relay is stopping\"}");
	atomic_store(&main_stop, true);
	pthread_join(main_thread, NULL);
	assert_int_equal(seen_count, 3);
}

/* Main thread stand-in for the owner test: "slow" takes 400 ms. */
static char ran[4][64];
static int n_ran;

static int
owner_handler(struct control_request *req, char *err, size_t errlen, void *arg)
{
	(void)arg;
	if (strcmp(req->title, "slow") == 0)
		usleep(400 * 1000);
	pthread_mutex_lock(&seen_lock);
	if (n_ran < 4)
		util_strlcpy(ran[n_ran++], req->title, sizeof(ran[0]));
	pthread_mutex_unlock(&seen_lock);
	snprintf(err, errlen, "done %s", req->title);
	return 0;
}

/*
 * A caller that times out while the main thread runs its request is told
 * it may still happen; the next caller gets its own answer, and its own
 * request is carried out (it used to receive the first one's answer and
 * never run).
 */
static void
test_answer_owner(void **state)
{
	struct control_request a, b;
	pthread_t main_thread;
	char err[512];

	(void)state;
	assert_int_equal(control_init(owner_handler, NULL), 0);
	atomic_store(&main_stop, false);
	assert_int_equal(
	    pthread_create(&main_thread, NULL, fake_main_thread, NULL), 0);
	memset(&a, 0, sizeof(a));
	a.what = CONTROL_METADATA;
	util_strlcpy(a.title, "slow", sizeof(a.title));
	b = a;
	util_strlcpy(b.title, "fast", sizeof(b.title));

	assert_int_equal(control_submit(&a, 100 * NS_PER_MS, err, sizeof(err)),
	    -EINPROGRESS);
	assert_non_null(strstr(err, "may yet take effect"));
	assert_int_equal(
	    control_submit(&b, 3 * NS_PER_SEC, err, sizeof(err)), 0);
	assert_string_equal(err, "done fast");
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(n_ran, 2);
	assert_string_equal(ran[0], "slow");
	assert_string_equal(ran[1], "fast");
	pthread_mutex_unlock(&seen_lock);

	control_shutdown();
	atomic_store(&main_stop, true);
	pthread_join(main_thread, NULL);
}

/* n withdrawn requests, ids 1..n, names "nI_xxx..." of name_bytes. */
static void
withdrawn_set(struct programme_withdrawn *w, size_t n, size_t name_bytes)
{
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		w[i].request_id = i + 1;
		k = snprintf(w[i].segment, sizeof(w[i].segment), "n%zu_", i + 1);
		memset(w[i].segment + k, 'x', name_bytes - (size_t)k);
		w[i].segment[name_bytes] = '\0';
	}
}

/* A skip's text names its withdrawn requests whole, as many as fit, and
 * counts the rest ("and 2 more"); it used to stop at ~400 bytes, in the
 * middle of a name, and leave the others out unsaid. */
static void
test_withdrawn_text(void **state)
{
	struct programme_withdrawn w[PROGRAMME_MAX_WITHDRAWN];
	char buf[CONTROL_WITHDRAWN_TEXT_BYTES], want[200];
	size_t i;

	(void)state;
	memset(w, 0, sizeof(w));
	w[0].request_id = 3;
	util_strlcpy(w[0].segment, "flash", sizeof(w[0].segment));
	w[1].request_id = 4;
	util_strlcpy(w[1].segment, "news", sizeof(w[1].segment));
	assert_string_equal(control_withdrawn_text(w, 2, buf, sizeof(buf)),
	    "request 3 (flash), request 4 (news)");
	assert_string_equal(control_withdrawn_text(w, 1, buf, sizeof(buf)),
	    "request 3 (flash)");
	/* Eight of 100 bytes (the engine's most waiting): all, whole. */
	withdrawn_set(w, 8, 100);
	control_withdrawn_text(w, 8, buf, sizeof(buf));
	for (i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), "request %zu (%s)", i + 1,
		    w[i].segment);
		if (strstr(buf, want) == NULL)
			fail_msg("%s: not named whole in \"%s\"", want, buf);
	}
	assert_null(strstr(buf, "more"));
	/* Eight of the longest names (127 bytes): seven whole, one
	 * counted. */
	withdrawn_set(w, 8, 127);
	control_withdrawn_text(w, 8, buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
	for (i = 0; i < 6; i++) {
		snprintf(want, sizeof(want), "request %zu (%s), ", i + 1,
		    w[i].segment);
		if (strstr(buf, want) == NULL)
			fail_msg("%s: not named whole in \"%s\"", want, buf);
	}
	snprintf(want, sizeof(want), "request 7 (%s) and 1 more", w[6].segment);
	if (strstr(buf, want) == NULL)
		fail_msg("no \"and 1 more\" after request 7: \"%s\"", buf);
	assert_null(strstr(buf, "request 8"));
	/* Every slot (12): those that fit, and the count of the rest. */
	withdrawn_set(w, PROGRAMME_MAX_WITHDRAWN, 127);
	control_withdrawn_text(w, PROGRAMME_MAX_WITHDRAWN, buf, sizeof(buf));
	snprintf(want, sizeof(want), "request 7 (%s) and %d more",
	    w[6].segment, PROGRAMME_MAX_WITHDRAWN - 7);
	if (strstr(buf, want) == NULL)
		fail_msg("no \"and %d more\": \"%s\"",
		    PROGRAMME_MAX_WITHDRAWN - 7, buf);
	/* Too small for even one: the count alone. */
	assert_string_equal(
	    control_withdrawn_text(w, 3, buf, 20), "3 requests");
}

/* Main thread stand-in for a skip that withdrew eight waiting requests
 * (as main.c's on_control() answers it). */
static size_t skip_name_bytes;

static int
skip_handler(struct control_request *req, char *err, size_t errlen, void *arg)
{
	struct programme_withdrawn w[PROGRAMME_MAX_WITHDRAWN];
	char what[CONTROL_WITHDRAWN_TEXT_BYTES];
	size_t i;

	(void)arg;
	withdrawn_set(w, 8, skip_name_bytes);
	for (i = 0; i < 8; i++)
		req->withdrawn[i] = w[i].request_id;
	req->n_withdrawn = 8;
	control_withdrawn_text(w, 8, what, sizeof(what));
	snprintf(err, errlen,
	    "nothing on air to skip; withdrawn before it aired (its source "
	    "had no audio yet): %s",
	    what);
	return 0;
}

/* The skip's answer carries its whole text through the queue, and every
 * withdrawn id in "withdrawn" (the queue used to cut the text at 511
 * bytes). */
static void
test_skip_answer_whole(void **state)
{
	struct programme_withdrawn w[8];
	pthread_t main_thread;
	char *got, want[200];
	unsigned int code;

	(void)state;
	assert_int_equal(control_init(skip_handler, NULL), 0);
	atomic_store(&main_stop, false);
	assert_int_equal(
	    pthread_create(&main_thread, NULL, fake_main_thread, NULL), 0);

	skip_name_bytes = 100;
	withdrawn_set(w, 8, skip_name_bytes);
	code = handle(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_OK, "", 0,
	    &got);
	assert_int_equal(code, 200);
	snprintf(want, sizeof(want), ", request 8 (%s)\",", w[7].segment);
	if (strstr(got, want) == NULL)
		fail_msg("the last request is not named whole: %s", got);
	assert_non_null(strstr(got, "\"withdrawn\":[1,2,3,4,5,6,7,8]"));
	free(got);

	skip_name_bytes = 127;
	withdrawn_set(w, 8, skip_name_bytes);
	code = handle(CONTROL_ENDPOINT_SKIP, "POST", STATUS_AUTH_OK, "", 0,
	    &got);
	assert_int_equal(code, 200);
	snprintf(want, sizeof(want), "request 7 (%s) and 1 more\",",
	    w[6].segment);
	if (strstr(got, want) == NULL)
		fail_msg("no whole request 7 and \"and 1 more\": %s", got);
	assert_non_null(strstr(got, "\"withdrawn\":[1,2,3,4,5,6,7,8]"));
	free(got);

	control_shutdown();
	atomic_store(&main_stop, true);
	pthread_join(main_thread, NULL);
}

/* Stands in for relay's main loop on a live title: the engine held it
 * and it replaced one not yet on air. */
static int
title_handler(struct control_request *req, char *err, size_t errlen, void *arg)
{
	struct engine_title_result *r = &req->title_result;

	(void)arg;
	memset(r, 0, sizeof(*r));
	r->fate = ENGINE_TITLE_HELD;
	r->due_in_ns = 1440 * NS_PER_MS;
	r->gap_ns = 2 * NS_PER_SEC;
	r->replaced = true;
	util_strlcpy(r->replaced_title, "Old news", sizeof(r->replaced_title));
	req->has_title_result = true;
	control_title_text(r, err, errlen);
	return 0;
}

/* A live title's answer says what became of it: its "result" text, and
 * "on_air", "on_air_in_s" and "replaced" (the title it dropped). */
static void
test_title_answer(void **state)
{
	struct engine_title_result r = {.gap_ns = 2 * NS_PER_SEC};
	pthread_t main_thread;
	char buf[600];

	(void)state;
	assert_string_equal(control_title_text(&r, buf, sizeof(buf)),
	    "on air now");
	r.fate = ENGINE_TITLE_HELD;
	r.due_in_ns = 1440 * NS_PER_MS;
	assert_string_equal(control_title_text(&r, buf, sizeof(buf)),
	    "held: on air in 1.4 s, 2 s after the last title change (titles "
	    "are coalesced); a later title before then replaces it");
	r.fate = ENGINE_TITLE_UNCHANGED;
	r.replaced = true;
	util_strlcpy(r.replaced_title, "Typo", sizeof(r.replaced_title));
	util_strlcpy(r.replaced_artist, "Desk", sizeof(r.replaced_artist));
	assert_string_equal(control_title_text(&r, buf, sizeof(buf)),
	    "already the live title on air: nothing changes; replaces 'Typo' "
	    "by 'Desk', which never aired");
	r.fate = ENGINE_TITLE_WAITS_FOR_LIVE;
	r.replaced = false;
	assert_string_equal(control_title_text(&r, buf, sizeof(buf)),
	    "set for the live programme: a segment or the filler is on air, "
	    "the title goes on air when live returns");

	assert_int_equal(control_init(title_handler, NULL), 0);
	atomic_store(&main_stop, false);
	assert_int_equal(
	    pthread_create(&main_thread, NULL, fake_main_thread, NULL), 0);
	answers(CONTROL_ENDPOINT_METADATA, "POST", STATUS_AUTH_OK,
	    "{\"title\":\"New news\"}", 200,
	    "{\"ok\":true,\"request\":\"live title 'New news'\",\"result\":"
	    "\"held: on air in 1.4 s, 2 s after the last title change (titles "
	    "are coalesced); a later title before then replaces it; replaces "
	    "'Old news', which never aired\",\"on_air\":false,\"on_air_in_s\":"
	    "1.4,\"replaced\":{\"title\":\"Old news\",\"artist\":\"\"}}");
	control_shutdown();
	atomic_store(&main_stop, true);
	pthread_join(main_thread, NULL);
}

/* The log line for a replaced title: the first at once, then at most one
 * per CONTROL_TITLE_LOG_NS, counting those left out in between. */
static void
test_title_log_rate(void **state)
{
	struct control_title_log_state st = {0};
	int64_t t = 1000 * NS_PER_SEC;
	unsigned int left_out = 99;
	int i, lines = 0;

	(void)state;
	assert_true(control_title_log_due(&st, t, &left_out));
	assert_int_equal(left_out, 0);
	/* 40 a second for 5 s: no line. */
	for (i = 1; i <= 200; i++)
		lines += control_title_log_due(&st, t + i * 25 * NS_PER_MS,
		    &left_out);
	assert_int_equal(lines, 0);
	/* The next after 10 s says how many were left out. */
	assert_true(control_title_log_due(
	    &st, t + CONTROL_TITLE_LOG_NS, &left_out));
	assert_int_equal(left_out, 200);
	assert_false(control_title_log_due(
	    &st, t + CONTROL_TITLE_LOG_NS + 1, &left_out));
	assert_true(control_title_log_due(
	    &st, t + 3 * CONTROL_TITLE_LOG_NS, &left_out));
	assert_int_equal(left_out, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_segments),
	    cmocka_unit_test(test_parse_metadata),
	    cmocka_unit_test(test_parse_nul),
	    cmocka_unit_test(test_parse_skip_reload),
	    cmocka_unit_test(test_parse_far_times),
	    cmocka_unit_test(test_check_path),
	    cmocka_unit_test(test_check_feed),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_endpoint_of),
	    cmocka_unit_test(test_handle_refusals),
	    cmocka_unit_test(test_handle_token_guessing),
	    cmocka_unit_test(test_handle_queue),
	    cmocka_unit_test(test_answer_owner),
	    cmocka_unit_test(test_withdrawn_text),
	    cmocka_unit_test(test_skip_answer_whole),
	    cmocka_unit_test(test_title_answer),
	    cmocka_unit_test(test_title_log_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
