/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for icecast_poll: the status-json parser on the shapes
 * Icecast 2.4.4 really serves (FIELD-NOTES 0.2, 2.5, 4.1, 4.2), the fetch
 * and metadata-update requests against a tiny one-shot HTTP server on
 * 127.0.0.1 (what they send, how replies and a server that never answers
 * are judged), and one poller round trip into stats.
 *
 * Threads: the test thread plus a server thread per fetch test and the
 * poller thread in the last test.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "icecast_poll.h"
#include "stats.h"
#include "util.h"

/* One Ogg Vorbis source as Icecast 2.4.4 lists it (keys as measured). */
#define SRC_LIVE                                                               \
	"{\"artist\":\"News desk\",\"audio_bitrate\":128000,"                  \
	"\"audio_channels\":2,"                                                \
	"\"audio_info\":\"quality=0%2e4;samplerate=44100;channels=2\","        \
	"\"audio_samplerate\":44100,\"channels\":2,\"genre\":\"news\","        \
	"\"ice-bitrate\":128,\"listener_peak\":4,\"listeners\":3,"             \
	"\"listenurl\":\"http://radio.example:8000/live.ogg\","                \
	"\"quality\":\"0.4\",\"samplerate\":44100,"                            \
	"\"server_description\":\"d\",\"server_name\":\"n\","                  \
	"\"server_type\":\"audio/ogg\",\"stream_start\":\"x\","                \
	"\"stream_start_iso8601\":\"2026-11-27T06:37:07+0000\","               \
	"\"subtype\":\"Vorbis\",\"title\":\"Top of the hour\","                \
	"\"dummy\":null}"

#define SRC_OTHER                                                              \
	"{\"listeners\":7,\"listenurl\":\"http://radio.example:8000/"          \
	"backup.ogg\",\"subtype\":\"Vorbis\",\"title\":\"Other\","             \
	"\"dummy\":null}"

/* A source that reconnected without Ogg headers (FIELD-NOTES 2.5). */
#define SRC_HEADERLESS                                                         \
	"{\"listener_peak\":0,\"listeners\":0,"                                \
	"\"listenurl\":\"http://radio.example:8000/live.ogg\","                \
	"\"server_type\":\"application/ogg\",\"stream_start\":\"x\","          \
	"\"dummy\":null}"

#define ICESTATS_HEAD                                                          \
	"{\"icestats\":{\"admin\":\"a@example.org\",\"host\":\"radio\","       \
	"\"location\":\"Earth\",\"server_id\":\"Icecast 2.4.4\","              \
	"\"server_start\":\"x\",\"server_start_iso8601\":\"x\""

static int
parse(const char *json, const char *mount, struct icecast_mount_status *st)
{
	return icecast_status_parse(json, strlen(json), mount, st);
}

static void
test_no_sources(void **state)
{
	struct icecast_mount_status st;
	const char *doc = ICESTATS_HEAD ",\"dummy\":null}}";

	(void)state;
	assert_int_equal(parse(doc, "/live.ogg", &st), 0);
	assert_int_equal(st.n_sources, 0);
	assert_false(st.present);
	assert_false(st.has_audio);
	assert_int_equal(st.listeners, -1);
	assert_string_equal(st.title, "");
}

static void
test_one_source_object(void **state)
{
	struct icecast_mount_status st;
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_LIVE "}}";

	(void)state;
	assert_int_equal(parse(doc, "/live.ogg", &st), 0);
	assert_int_equal(st.n_sources, 1);
	assert_true(st.present);
	assert_true(st.has_audio);
	assert_int_equal(st.listeners, 3);
	assert_string_equal(st.title, "Top of the hour");
}

static void
test_two_sources_array(void **state)
{
	struct icecast_mount_status st;
	const char *doc =
	    ICESTATS_HEAD ",\"source\":[" SRC_OTHER "," SRC_LIVE "]}}";

	(void)state;
	assert_int_equal(parse(doc, "/live.ogg", &st), 0);
	assert_int_equal(st.n_sources, 2);
	assert_true(st.present);
	assert_true(st.has_audio);
	assert_int_equal(st.listeners, 3);
	assert_string_equal(st.title, "Top of the hour");

	assert_int_equal(parse(doc, "/backup.ogg", &st), 0);
	assert_true(st.present);
	assert_int_equal(st.listeners, 7);
	assert_string_equal(st.title, "Other");
}

static void
test_mount_absent(void **state)
{
	struct icecast_mount_status st;
	const char *one = ICESTATS_HEAD ",\"source\":" SRC_OTHER "}}";
	const char *two =
	    ICESTATS_HEAD ",\"source\":[" SRC_OTHER "," SRC_OTHER "]}}";

	(void)state;
	assert_int_equal(parse(one, "/live.ogg", &st), 0);
	assert_int_equal(st.n_sources, 1);
	assert_false(st.present);
	assert_false(st.has_audio);
	assert_int_equal(st.listeners, -1);
	assert_string_equal(st.title, "");
	assert_int_equal(parse(two, "/live.ogg", &st), 0);
	assert_int_equal(st.n_sources, 2);
	assert_false(st.present);
}

static void
test_mount_matching(void **state)
{
	struct icecast_mount_status st;
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_LIVE "}}";

	(void)state;
	/* The host in listenurl is the server's <hostname>; only the path
	 * counts. A missing leading slash in our mount is tolerated. */
	assert_int_equal(parse(doc, "live.ogg", &st), 0);
	assert_true(st.present);
	/* Neither a prefix nor an extension of the path matches. */
	assert_int_equal(parse(doc, "/live", &st), 0);
	assert_false(st.present);
	assert_int_equal(parse(doc, "/live.ogg2", &st), 0);
	assert_false(st.present);
	assert_int_equal(parse(doc, "/", &st), 0);
	assert_false(st.present);
}

static void
test_headerless_source(void **state)
{
	struct icecast_mount_status st;
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_HEADERLESS "}}";
	/* What a headerless relay source really looks like: libshout sent
	 * ice-audio-info at connect, so audio_info and the plain
	 * samplerate/channels/quality are there, but nothing that comes
	 * from parsing Vorbis headers (measured on Icecast 2.4.4). */
	const char *info_only = ICESTATS_HEAD
	    ",\"source\":{\"audio_info\":\"samplerate=44100;channels=2;"
	    "quality=4%2e00\",\"channels\":2,\"listeners\":1,"
	    "\"listenurl\":\"http://h:1/live.ogg\",\"quality\":4,"
	    "\"samplerate\":44100,\"server_type\":\"audio/ogg\"}}}";
	const char *null_subtype =
	    ICESTATS_HEAD ",\"source\":{\"listeners\":1,\"listenurl\":"
			  "\"http://h:1/live.ogg\",\"subtype\":null}}}";
	const char *parsed_only = ICESTATS_HEAD
	    ",\"source\":{\"listeners\":1,\"listenurl\":"
	    "\"http://h:1/live.ogg\",\"audio_samplerate\":44100}}}";
	/* An MP3 source (Icecast 2.4.4, measured): no subtype, no audio_*;
	 * it has no headers to wait for, so audio/mpeg is audio. */
	const char *mp3 = ICESTATS_HEAD
	    ",\"source\":{\"audio_info\":\"samplerate=44100;channels=2;"
	    "bitrate=96\",\"bitrate\":96,\"listeners\":0,\"listenurl\":"
	    "\"http://h:1/live.mp3\",\"server_type\":\"audio/mpeg\"}}}";

	(void)state;
	assert_int_equal(parse(doc, "/live.ogg", &st), 0);
	assert_true(st.present);
	assert_false(st.has_audio);
	assert_int_equal(st.listeners, 0);
	assert_string_equal(st.title, "");

	assert_int_equal(parse(info_only, "/live.ogg", &st), 0);
	assert_true(st.present);
	assert_false(st.has_audio);
	assert_int_equal(st.listeners, 1);

	assert_int_equal(parse(null_subtype, "/live.ogg", &st), 0);
	assert_true(st.present);
	assert_false(st.has_audio);

	assert_int_equal(parse(parsed_only, "/live.ogg", &st), 0);
	assert_true(st.present);
	assert_true(st.has_audio);

	assert_int_equal(parse(mp3, "/live.mp3", &st), 0);
	assert_true(st.present);
	assert_true(st.has_audio);
}

static void
test_invalid_json(void **state)
{
	struct icecast_mount_status st;
	/* What Icecast served ~0.1 s after startup (FIELD-NOTES 0.2). */
	const char *startup =
	    "{\"icestats\":\"server_start\":\"Fri, 27 Nov "
	    "2026\",\"server_start_iso8601\":\"x\",\"dummy\":n";
	const char *no_icestats = "{\"other\":{}}";
	const char *icestats_string = "{\"icestats\":\"x\"}";

	(void)state;
	assert_int_equal(parse(startup, "/live.ogg", &st), -EBADMSG);
	assert_false(st.present);
	assert_int_equal(st.listeners, -1);
	assert_int_equal(parse(no_icestats, "/live.ogg", &st), -EBADMSG);
	assert_int_equal(parse(icestats_string, "/live.ogg", &st), -EBADMSG);
	assert_int_equal(parse("", "/live.ogg", &st), -EBADMSG);
	assert_int_equal(icecast_status_parse(NULL, 0, "/x", &st), -EINVAL);
	assert_int_equal(icecast_status_parse("{}", 2, NULL, &st), -EINVAL);
	assert_int_equal(icecast_status_parse("{}", 2, "/x", NULL), -EINVAL);
}

static void
test_control_character_title(void **state)
{
	struct icecast_mount_status st;
	/* A raw U+0001 in a title, which Icecast does not escape
	 * (FIELD-NOTES 4.2). jq rejects the whole document; cJSON is lenient
	 * and still reads every mount, which is what we want. The character
	 * never reaches stats. */
	const char *ctl = ICESTATS_HEAD
	    ",\"source\":[" SRC_OTHER ",{\"listenurl\":\"http://h:1/live.ogg\","
	    "\"subtype\":\"Vorbis\",\"listeners\":2,"
	    "\"title\":\"line1\001ctl\"}]}}";

	(void)state;
	assert_int_equal(parse(ctl, "/live.ogg", &st), 0);
	assert_true(st.present);
	assert_true(st.has_audio);
	assert_int_equal(st.listeners, 2);
	assert_string_equal(st.title, "line1ctl");
}

static void
test_length_is_respected(void **state)
{
	struct icecast_mount_status st;
	char buf[1024];
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_LIVE "}}";
	size_t n = strlen(doc);

	(void)state;
	/* Not NUL-terminated: garbage follows the document. */
	assert_true(n + 8 < sizeof(buf));
	memcpy(buf, doc, n);
	memcpy(buf + n, "GARBAGE!", 8);
	assert_int_equal(icecast_status_parse(buf, n, "/live.ogg", &st), 0);
	assert_true(st.present);
	/* A cut document is invalid, even though a prefix of it parses. */
	assert_int_equal(
	    icecast_status_parse(buf, n - 2, "/live.ogg", &st), -EBADMSG);
}

static void
test_listeners_values(void **state)
{
	struct icecast_mount_status st;
	const char *big =
	    ICESTATS_HEAD ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
			  "\"subtype\":\"Vorbis\",\"listeners\":12345}}}";
	const char *str =
	    ICESTATS_HEAD ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
			  "\"subtype\":\"Vorbis\",\"listeners\":\"many\"}}}";
	const char *neg =
	    ICESTATS_HEAD ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
			  "\"subtype\":\"Vorbis\",\"listeners\":-4}}}";

	(void)state;
	assert_int_equal(parse(big, "/a.ogg", &st), 0);
	assert_int_equal(st.listeners, 12345);
	assert_int_equal(parse(str, "/a.ogg", &st), 0);
	assert_true(st.present);
	assert_int_equal(st.listeners, -1);
	assert_int_equal(parse(neg, "/a.ogg", &st), 0);
	assert_int_equal(st.listeners, -1);
}

static void
test_utf8_title(void **state)
{
	struct icecast_mount_status st;
	/* Raw UTF-8 as Icecast sends it, and the same text \u-escaped. */
	const char *raw = ICESTATS_HEAD
	    ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
	    "\"subtype\":\"Vorbis\",\"title\":\"Caf\xc3\xa9 \xe2\x82\xac "
	    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe6\x97\xa5\"}}}";
	const char *esc = ICESTATS_HEAD
	    ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
	    "\"subtype\":\"Vorbis\",\"title\":\"Caf\\u00e9 \\u20ac "
	    "say \\\"hi\\\"\\ttab\"}}}";
	const char *num =
	    ICESTATS_HEAD ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
			  "\"subtype\":\"Vorbis\",\"title\":1984}}}";

	(void)state;
	assert_int_equal(parse(raw, "/a.ogg", &st), 0);
	assert_string_equal(st.title, "Caf\xc3\xa9 \xe2\x82\xac "
				      "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d "
				      "\xe6\x97\xa5");
	/* Escapes decode; a tab becomes a space (util_sanitize_text). */
	assert_int_equal(parse(esc, "/a.ogg", &st), 0);
	assert_string_equal(st.title, "Caf\xc3\xa9 \xe2\x82\xac say "
				      "\"hi\" tab");
	assert_int_equal(parse(num, "/a.ogg", &st), 0);
	assert_string_equal(st.title, "1984");
}

/* When the source started: the ISO 8601 form (2.4.4), else the RFC 822
 * one (older Icecasts), with its offset; 0 when neither parses. */
static void
test_stream_start(void **state)
{
	struct icecast_mount_status st;
	const int64_t t = INT64_C(1795761427) * NS_PER_SEC; /* SRC_LIVE's */
	const char *rfc = ICESTATS_HEAD
	    ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
	    "\"subtype\":\"Vorbis\","
	    "\"stream_start\":\"Fri, 27 Nov 2026 07:37:07 +0100\"}}}";
	const char *bad = ICESTATS_HEAD
	    ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
	    "\"subtype\":\"Vorbis\",\"stream_start\":\"x\","
	    "\"stream_start_iso8601\":\"2026-11-27T06:37:07+0000 \"}}}";
	const char *far = ICESTATS_HEAD
	    ",\"source\":{\"listenurl\":\"http://h:1/a.ogg\","
	    "\"subtype\":\"Vorbis\","
	    "\"stream_start_iso8601\":\"9999-11-30T05:00:00+0000\"}}}";
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_LIVE "}}";

	(void)state;
	assert_int_equal(parse(doc, "/live.ogg", &st), 0);
	assert_int_equal(st.stream_start_wall_ns, t);
	assert_int_equal(parse(rfc, "/a.ogg", &st), 0);
	assert_int_equal(st.stream_start_wall_ns, t);
	assert_int_equal(parse(bad, "/a.ogg", &st), 0);
	assert_true(st.present);
	assert_int_equal(st.stream_start_wall_ns, 0);
	/* A year whose ns overflow an int64_t (found by fuzz_icecast_json). */
	assert_int_equal(parse(far, "/a.ogg", &st), 0);
	assert_int_equal(st.stream_start_wall_ns, 0);
}

/* A listing counts for our connection when it started at most 2 s before
 * it, when its start is unknown, or once the connection is 5 s old. */
static void
test_listing_current(void **state)
{
	const int64_t c = INT64_C(1795761427) * NS_PER_SEC;
	const int64_t s = NS_PER_SEC;

	(void)state;
	assert_true(icecast_listing_current(c, c, c));
	assert_true(icecast_listing_current(c - 2 * s, c, c + s / 10));
	assert_true(icecast_listing_current(c + 3 * s, c, c + s / 10));
	/* The source we replaced: listed since 7 s before we connected. */
	assert_false(icecast_listing_current(c - 7 * s, c, c + s / 10));
	assert_false(icecast_listing_current(c - 2 * s - 1, c, c));
	assert_false(icecast_listing_current(c - 7 * s, c, c + 5 * s - 1));
	assert_true(icecast_listing_current(c - 7 * s, c, c + 5 * s));
	assert_true(icecast_listing_current(0, c, c));
	assert_true(icecast_listing_current(c - 7 * s, 0, c));
}

/* ---- fetch, against a one-shot server on 127.0.0.1 ---- */

struct one_shot {
	int fd;
	int port;
	const char *head; /* status line and headers, "\r\n\r\n" included */
	size_t body_bytes;
	char fill;
	const char *body; /* used when fill is 0 */
	bool hang;	/* no server thread: the kernel accepts, nobody answers,
			   like a frozen (SIGSTOPped) server */
	char req[4096]; /* the request as received */
};

static void
one_shot_listen(struct one_shot *s)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the client gave up: fine for the cap test */
		p += w;
		n -= (size_t)w;
	}
}

static void *
one_shot_serve(void *arg)
{
	struct one_shot *s = arg;
	char req[4096], chunk[8192];
	size_t left;
	int c;

	ssize_t got;

	c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	got = recv(c, req, sizeof(req) - 1, 0);
	if (got < 0) {
		close(c);
		return NULL;
	}
	req[got] = '\0';
	memcpy(s->req, req, (size_t)got + 1);

	write_all(c, s->head, strlen(s->head));
	if (s->fill == 0) {
		write_all(c, s->body, strlen(s->body));
	} else {
		memset(chunk, s->fill, sizeof(chunk));
		for (left = s->body_bytes; left > 0;) {
			size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
			write_all(c, chunk, n);
			left -= n;
		}
	}
	close(c);
	return NULL;
}

static int
fetch_from(
    struct one_shot *s, char **body, size_t *len, char *err, size_t errlen)
{
	pthread_t t;
	int rc;

	one_shot_listen(s);
	assert_int_equal(pthread_create(&t, NULL, one_shot_serve, s), 0);
	rc = icecast_status_fetch("127.0.0.1", s->port, NULL, 2 * NS_PER_SEC,
	    NULL, body, len, err, errlen);
	pthread_join(t, NULL);
	close(s->fd);
	return rc;
}

static void
test_fetch_ok(void **state)
{
	struct one_shot s = {0};
	struct icecast_mount_status st;
	char *body = NULL, err[256];
	size_t len = 0;
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_LIVE "}}";
	char head[256];

	(void)state;
	snprintf(head, sizeof(head),
	    "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: Close\r\n\r\n",
	    strlen(doc));
	s.head = head;
	s.body = doc;
	assert_int_equal(fetch_from(&s, &body, &len, err, sizeof(err)), 0);
	assert_non_null(body);
	assert_int_equal(len, strlen(doc));
	assert_memory_equal(body, doc, len);
	assert_int_equal(body[len], '\0');
	assert_int_equal(icecast_status_parse(body, len, "/live.ogg", &st), 0);
	assert_int_equal(st.listeners, 3);
	free(body);
}

static void
test_fetch_http_error(void **state)
{
	struct one_shot s = {0};
	char *body = NULL, err[256];
	size_t len = 0;

	(void)state;
	s.head = "HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\n";
	s.body = "not found";
	/* The server answered: up, but its mounts are unknown. */
	assert_int_equal(
	    fetch_from(&s, &body, &len, err, sizeof(err)), -EBADMSG);
	assert_null(body);
	assert_non_null(strstr(err, "404"));
	memset(&s, 0, sizeof(s));
	s.head = "HTTP/1.0 403 Forbidden\r\nContent-Length: 9\r\n\r\n";
	s.body = "forbidden";
	assert_int_equal(
	    fetch_from(&s, &body, &len, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "403"));
}

static void
test_fetch_body_cap(void **state)
{
	struct one_shot s = {0};
	char *body = NULL, err[256];
	size_t len = 0;

	(void)state;
	/* No Content-Length: the cap must trip while reading. */
	s.head = "HTTP/1.0 200 OK\r\nConnection: Close\r\n\r\n";
	s.fill = ' ';
	s.body_bytes = ICECAST_STATUS_MAX_BYTES + 100000;
	assert_int_equal(fetch_from(&s, &body, &len, err, sizeof(err)), -EFBIG);
	assert_null(body);
	assert_int_equal(len, 0);
}

static void
test_fetch_refused(void **state)
{
	struct one_shot s = {0};
	char *body = NULL, err[256];
	size_t len = 0;
	int rc;

	(void)state;
	/* A port that was just free: bind, learn it, close. */
	one_shot_listen(&s);
	close(s.fd);
	rc = icecast_status_fetch("127.0.0.1", s.port, NULL, NS_PER_SEC, NULL,
	    &body, &len, err, sizeof(err));
	assert_int_equal(rc, -ECONNREFUSED);
	assert_null(body);
	assert_non_null(strstr(err, "127.0.0.1"));
	assert_int_equal(icecast_status_fetch("", 80, NULL, NS_PER_SEC, NULL,
			     &body, &len, err, sizeof(err)),
	    -EINVAL);
}

/* ---- the metadata update (metadata = admin) ---- */

#define META_OK_BODY                                                           \
	"<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update "      \
	"successful</message><return>1</return></iceresponse>\n"

static int
update_at(struct one_shot *s, int64_t timeout_ns, const atomic_bool *cancel,
    char *err, size_t errlen)
{
	struct icecast_metadata_request r = {
	    .host = "127.0.0.1",
	    .mount = "/live.ogg",
	    .password = "pw-s3cret",
	    .title = "Caf\xc3\xa9 & news?",
	    .artist = "Anna",
	};
	pthread_t t;
	int rc;

	one_shot_listen(s);
	r.port = s->port;
	if (!s->hang)
		assert_int_equal(
		    pthread_create(&t, NULL, one_shot_serve, s), 0);
	rc = icecast_metadata_update(&r, timeout_ns, cancel, err, errlen);
	if (!s->hang)
		pthread_join(t, NULL);
	close(s->fd);
	return rc;
}

static void
test_metadata_ok(void **state)
{
	struct one_shot s = {0};
	char err[512] = "";
	char head[256];

	(void)state;
	snprintf(head, sizeof(head),
	    "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    strlen(META_OK_BODY));
	s.head = head;
	s.body = META_OK_BODY;
	assert_int_equal(
	    update_at(&s, 2 * NS_PER_SEC, NULL, err, sizeof(err)), 0);
	/* Every value URL-encoded, the source user by default, UTF-8. */
	if (strstr(s.req, "GET /admin/metadata?mode=updinfo&mount=%2Flive.ogg"
			  "&song=Caf%C3%A9%20%26%20news%3F&artist=Anna"
			  "&charset=UTF-8 HTTP/1.1\r\n") == NULL)
		fail_msg("unexpected request: %s", s.req);
	/* base64("source:pw-s3cret") */
	assert_non_null(
	    strstr(s.req, "Authorization: Basic c291cmNlOnB3LXMzY3JldA=="));
}

static void
test_metadata_not_applied(void **state)
{
	struct one_shot s = {0};
	char err[512] = "";

	(void)state;
	/* Icecast 2.4.4 for a mount whose format cannot take it: 200 and
	 * <return>1</return>, but not applied (FIELD-NOTES 4.3). */
	s.head = "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n";
	s.body = "<?xml version=\"1.0\"?>\n<iceresponse><message>Mountpoint "
		 "will not accept URL updates</message><return>1</return>"
		 "</iceresponse>\n";
	assert_int_equal(
	    update_at(&s, 2 * NS_PER_SEC, NULL, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "will not accept URL updates"));
	memset(&s, 0, sizeof(s));
	s.head = "HTTP/1.0 401 Authentication Required\r\n"
		 "Content-Length: 0\r\n\r\n";
	s.body = "";
	assert_int_equal(
	    update_at(&s, 2 * NS_PER_SEC, NULL, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "401"));
	/* Neither the password nor the title goes into a message. */
	assert_null(strstr(err, "pw-s3cret"));
	assert_null(strstr(err, "news"));
}

static void
test_metadata_frozen_server(void **state)
{
	struct one_shot s = {0};
	atomic_bool cancel;
	char err[512] = "";
	int64_t t0, took;

	(void)state;
	/* libshout's call waited forever here; this one gives up in time. */
	s.hang = true;
	t0 = util_now_mono_ns();
	assert_int_equal(
	    update_at(&s, 700 * NS_PER_MS, NULL, err, sizeof(err)), -ETIMEDOUT);
	took = util_now_mono_ns() - t0;
	assert_true(took >= 600 * NS_PER_MS);
	assert_true(took < 1500 * NS_PER_MS);
	assert_non_null(strstr(err, "/admin/metadata"));
	/* Cancelled (shutdown) long before its timeout. */
	memset(&s, 0, sizeof(s));
	s.hang = true;
	atomic_init(&cancel, true);
	t0 = util_now_mono_ns();
	assert_int_equal(
	    update_at(&s, 10 * NS_PER_SEC, &cancel, err, sizeof(err)),
	    -ECANCELED);
	took = util_now_mono_ns() - t0;
	assert_true(took < 2 * NS_PER_SEC);
}

/* ---- the poller end to end, into stats ---- */

/* The snapshot entry of slot id (fails the test when missing). */
static const struct stats_output *
find_output(const struct stats_snapshot *snap, int id)
{
	static const struct stats_output none;
	size_t i;

	for (i = 0; i < snap->n_outputs; i++)
		if (snap->outputs[i].id == id)
			return &snap->outputs[i];
	fail_msg("output slot %d missing from the snapshot", id);
	return &none;
}

static void
test_poller_reports_to_stats(void **state)
{
	static char enc_name[] = "main", out_name[] = "poll-test",
		    host[] = "127.0.0.1", mount[] = "/live.ogg";
	struct config cfg;
	struct one_shot s = {0};
	struct stats_snapshot *snap;
	struct icecast_poll *p;
	const struct stats_output *so;
	const char *doc = ICESTATS_HEAD ",\"source\":" SRC_LIVE "}}";
	char head[256];
	pthread_t t;
	int64_t t0;
	int id;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_encodings = 1;
	cfg.encodings[0].name = enc_name;
	cfg.n_outputs = 1;
	cfg.outputs[0].name = out_name;
	cfg.outputs[0].type = OUTPUT_ICECAST;
	cfg.outputs[0].host = host;
	cfg.outputs[0].mount = mount;
	cfg.outputs[0].encoding_index = 0;

	/* A global <http-headers> CORS header comes with the status
	 * document: the poller takes it for the mount, with no other GET. */
	snprintf(head, sizeof(head),
	    "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n"
	    "access-control-allow-origin:  https://radio.example \r\n\r\n",
	    strlen(doc));
	s.head = head;
	s.body = doc;
	one_shot_listen(&s);
	cfg.outputs[0].port = s.port;
	id = stats_output_register(&cfg, &cfg.outputs[0]);
	assert_true(id >= 0);
	assert_int_equal(pthread_create(&t, NULL, one_shot_serve, &s), 0);

	p = icecast_poll_start(200 * NS_PER_MS);
	assert_non_null(p);
	snap = calloc(1, sizeof(*snap));
	assert_non_null(snap);
	t0 = util_now_mono_ns();
	for (;;) {
		stats_snapshot(snap);
		so = find_output(snap, id);
		/* The CORS verdict follows the listing by a moment. */
		if (so->mount_listed && so->cors_known)
			break;
		assert_true(util_now_mono_ns() - t0 < 3 * NS_PER_SEC);
		util_sleep_ns(20 * NS_PER_MS);
	}
	assert_true(so->server_reachable);
	assert_int_equal(so->listeners, 3);
	assert_string_equal(so->server_title, "Top of the hour");
	assert_true(stats_output_server_seen(id) > 0);
	assert_true(so->cors_known);
	assert_string_equal(so->cors_allow_origin, "https://radio.example");
	pthread_join(t, NULL);
	close(s.fd);

	/* The one-shot server is gone: the next rounds must report the
	 * server unreachable and the mount not listed. */
	t0 = util_now_mono_ns();
	for (;;) {
		stats_snapshot(snap);
		so = find_output(snap, id);
		if (!so->server_reachable)
			break;
		assert_true(util_now_mono_ns() - t0 < 3 * NS_PER_SEC);
		util_sleep_ns(20 * NS_PER_MS);
	}
	assert_false(so->mount_listed);
	assert_int_equal(so->listeners, -1);
	assert_false(so->cors_known);

	t0 = util_now_mono_ns();
	icecast_poll_stop(p);
	assert_true(util_now_mono_ns() - t0 < 2 * NS_PER_SEC);
	stats_output_unregister(id);
	free(snap);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_sources),
	    cmocka_unit_test(test_stream_start),
	    cmocka_unit_test(test_listing_current),
	    cmocka_unit_test(test_one_source_object),
	    cmocka_unit_test(test_two_sources_array),
	    cmocka_unit_test(test_mount_absent),
	    cmocka_unit_test(test_mount_matching),
	    cmocka_unit_test(test_headerless_source),
	    cmocka_unit_test(test_invalid_json),
	    cmocka_unit_test(test_control_character_title),
	    cmocka_unit_test(test_length_is_respected),
	    cmocka_unit_test(test_listeners_values),
	    cmocka_unit_test(test_utf8_title),
	    cmocka_unit_test(test_fetch_ok),
	    cmocka_unit_test(test_fetch_http_error),
	    cmocka_unit_test(test_fetch_body_cap),
	    cmocka_unit_test(test_fetch_refused),
	    cmocka_unit_test(test_metadata_ok),
	    cmocka_unit_test(test_metadata_not_applied),
	    cmocka_unit_test(test_metadata_frozen_server),
	    cmocka_unit_test(test_poller_reports_to_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
