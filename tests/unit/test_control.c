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
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "schedule.h"
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
	char *body;

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

	assert_int_equal(control_submit(&a, 100 * NS_PER_MS, err,
			     sizeof(err)),
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_segments),
	    cmocka_unit_test(test_parse_metadata),
	    cmocka_unit_test(test_parse_skip_reload),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_endpoint_of),
	    cmocka_unit_test(test_handle_refusals),
	    cmocka_unit_test(test_handle_queue),
	    cmocka_unit_test(test_answer_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
