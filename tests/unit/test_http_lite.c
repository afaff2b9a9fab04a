/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of http_lite.c, the poller's plain HTTP/1.0 client, against
 * a scripted server on 127.0.0.1 (a real socket, real timing): which URLs
 * it takes, bodies ended by Content-Length or by close, split writes, a
 * header kept from a stream that never ends, and each failure (refused,
 * silent server, cancel, chunked, too big, cut short, empty reply).
 *
 * Threads: the test thread plus one server thread per request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_lite.h"
#include "util.h"

struct script {
	int fd;
	int port;
	const char *parts[4]; /* written one by one, 20 ms apart */
	bool keep_open;	      /* then wait for stop instead of closing */
	bool silent;	      /* accept, read, answer nothing until stop */
	atomic_bool stop;
	char req[2048];
	pthread_t thread;
};

static void *
serve(void *arg)
{
	struct script *s = arg;
	struct timespec pause = {0, 20 * 1000 * 1000};
	ssize_t got;
	size_t i;
	int c;

	c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	got = recv(c, s->req, sizeof(s->req) - 1, 0);
	s->req[got > 0 ? got : 0] = '\0';
	for (i = 0; !s->silent && i < 4 && s->parts[i] != NULL; i++) {
		if (send(c, s->parts[i], strlen(s->parts[i]), MSG_NOSIGNAL) < 0)
			break;
		nanosleep(&pause, NULL);
	}
	while ((s->keep_open || s->silent) && !atomic_load(&s->stop))
		nanosleep(&pause, NULL);
	close(c);
	return NULL;
}

static void
start(struct script *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	atomic_init(&s->stop, false);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void
finish(struct script *s)
{
	atomic_store(&s->stop, true);
	/* Wakes a server thread still in accept() (nobody connected). */
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* One GET of path at the script's port. */
static int
get(struct script *s, const char *path, struct http_lite_request *rq,
    struct http_lite_reply *rp, char *err, size_t errlen)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	rq->url = url;
	rq->log_url = url;
	if (rq->timeout_ns == 0)
		rq->timeout_ns = 2 * NS_PER_SEC;
	if (rq->max_body == 0)
		rq->max_body = 1000;
	return http_lite_get(rq, rp, err, errlen);
}

static void
test_which_urls(void **state)
{
	(void)state;
	assert_true(http_lite_handles("http://127.0.0.1:8000/status-json.xsl"));
	assert_true(http_lite_handles("http://10.0.0.5/"));
	assert_true(http_lite_handles("http://10.0.0.5"));
	assert_true(http_lite_handles("http://[::1]:8000/live.ogg"));
	assert_true(http_lite_handles("http://127.0.0.1:8000?x=1"));
	assert_false(http_lite_handles("https://127.0.0.1:8000/"));
	assert_false(http_lite_handles("http://localhost:8000/"));
	assert_false(http_lite_handles("http://icecast.example.org/"));
	assert_false(http_lite_handles("http://u:pw@127.0.0.1/"));
	assert_false(http_lite_handles("http://127.0.0.1:0/"));
	assert_false(http_lite_handles("http://127.0.0.1:65536/"));
	assert_false(http_lite_handles("http://127.0.0.1:/"));
	assert_false(http_lite_handles("http://127.0.0.1:8000/a b"));
	assert_false(http_lite_handles("http://127.0.0.1:8000/a\r\nX: y"));
	assert_false(http_lite_handles("http://[::1/"));
	assert_false(http_lite_handles("http://::1/"));
	assert_false(http_lite_handles(NULL));
}

/* The request, a body in pieces cut by Content-Length (bytes past it are
 * not part of it), Basic auth, the header asked for. */
static void
test_content_length_in_pieces(void **state)
{
	struct script s = {.parts = {"HTTP/1.0 200 OK\r\nContent-Len",
			       "gth: 11\r\nX-Thing:  kept value \r\n\r\nhello",
			       " world", "TRAILING JUNK"}};
	struct http_lite_request rq = {.user = "admin",
	    .password = "s3cret",
	    .user_agent = "relay/test",
	    .peek_header = "x-thing"};
	struct http_lite_reply rp;
	char err[256] = "";

	(void)state;
	start(&s);
	assert_int_equal(
	    get(&s, "/status-json.xsl", &rq, &rp, err, sizeof(err)), 0);
	finish(&s);
	assert_int_equal(rp.code, 200);
	assert_int_equal(rp.len, 11);
	assert_string_equal(rp.body, "hello world");
	assert_true(rp.peek_found);
	assert_string_equal(rp.peek_value, "kept value");
	assert_non_null(strstr(s.req, "GET /status-json.xsl HTTP/1.0\r\n"));
	assert_non_null(strstr(s.req, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(s.req, "\r\nUser-Agent: relay/test\r\n"));
	/* base64("admin:s3cret") */
	assert_non_null(
	    strstr(s.req, "\r\nAuthorization: Basic YWRtaW46czNjcmV0\r\n"));
	assert_non_null(strstr(s.req, "\r\nConnection: close\r\n\r\n"));
	free(rp.body);
}

/* No Content-Length: the body ends when the server closes; an error
 * status is an answer, not a failure. */
static void
test_body_until_close(void **state)
{
	struct script s = {
	    .parts = {"HTTP/1.0 404 Not Found\r\n\r\n", "no such", " page"}};
	struct http_lite_request rq = {0};
	struct http_lite_reply rp;
	char err[256] = "";

	(void)state;
	start(&s);
	assert_int_equal(get(&s, "", &rq, &rp, err, sizeof(err)), 0);
	finish(&s);
	assert_non_null(strstr(s.req, "GET / HTTP/1.0\r\n"));
	assert_int_equal(rp.code, 404);
	assert_string_equal(rp.body, "no such page");
	free(rp.body);
}

/* A mount is a stream that never ends: headers_only returns with the
 * header as soon as the headers are in. */
static void
test_headers_of_endless_stream(void **state)
{
	struct script s = {.parts = {"HTTP/1.0 200 OK\r\nContent-Type: "
				     "application/ogg\r\n"
				     "Access-Control-Allow-Origin: *\r\n\r\n",
			       "OggS...", "OggS..."},
	    .keep_open = true};
	struct http_lite_request rq = {
	    .peek_header = "Access-Control-Allow-Origin", .headers_only = true};
	struct http_lite_reply rp;
	char err[256] = "";
	int64_t t0 = util_now_mono_ns();

	(void)state;
	start(&s);
	assert_int_equal(get(&s, "/live.ogg", &rq, &rp, err, sizeof(err)), 0);
	assert_true(util_now_mono_ns() - t0 < NS_PER_SEC);
	finish(&s);
	assert_int_equal(rp.code, 200);
	assert_true(rp.peek_found);
	assert_string_equal(rp.peek_value, "*");
	assert_null(rp.body);
}

static void
test_refused(void **state)
{
	struct script s = {0};
	struct http_lite_request rq = {0};
	struct http_lite_reply rp;
	char err[256] = "";

	(void)state;
	start(&s);
	finish(&s); /* nobody listens on the port any more */
	assert_int_equal(
	    get(&s, "/", &rq, &rp, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "cannot connect: Connection refused"));
}

/* A server that accepts and never answers: the deadline, then the
 * poller's wording; a cancel ends the wait early. */
static void
test_silent_server_and_cancel(void **state)
{
	struct script s = {.silent = true};
	struct http_lite_request rq = {.timeout_ns = 300 * NS_PER_MS};
	struct http_lite_reply rp;
	char err[256] = "";
	atomic_bool cancel;
	int64_t t0 = util_now_mono_ns(), took;

	(void)state;
	start(&s);
	assert_int_equal(get(&s, "/", &rq, &rp, err, sizeof(err)), -ETIMEDOUT);
	took = util_now_mono_ns() - t0;
	finish(&s);
	assert_true(took >= 290 * NS_PER_MS && took < 2 * NS_PER_SEC);
	assert_non_null(strstr(err, "no answer in time"));

	memset(&s, 0, sizeof(s));
	s.silent = true;
	atomic_init(&cancel, true);
	rq.timeout_ns = 10 * NS_PER_SEC;
	rq.cancel = &cancel;
	start(&s);
	t0 = util_now_mono_ns();
	assert_int_equal(get(&s, "/", &rq, &rp, err, sizeof(err)), -ECANCELED);
	assert_true(util_now_mono_ns() - t0 < NS_PER_SEC);
	finish(&s);
	assert_non_null(strstr(err, "cancelled"));
}

/* Answers it must not take as a body. */
static void
test_bad_answers(void **state)
{
	static const struct {
		const char *part;
		int rc;
		const char *says;
	} cases[] = {
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"
	     "\r\n0\r\n\r\n",
		-EPROTO, "not an HTTP/1 answer"},
	    {"HTTP/1.0 200 OK\r\nContent-Length: 5000\r\n\r\nxx", -EFBIG,
		"larger than 1000 bytes"},
	    {"HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\nonly this", -EIO,
		"ended early"},
	    {"ICY 200 OK\r\n\r\n", -EPROTO, "not an HTTP/1 answer"},
	    {"HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", -EPROTO,
		"not an HTTP/1 answer"},
	    {"", -EPROTO, "empty reply from server"},
	};
	struct http_lite_request rq = {0};
	struct http_lite_reply rp;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script s = {.parts = {cases[i].part}};

		err[0] = '\0';
		start(&s);
		assert_int_equal(
		    get(&s, "/", &rq, &rp, err, sizeof(err)), cases[i].rc);
		finish(&s);
		if (strstr(err, cases[i].says) == NULL)
			fail_msg("case %zu: %s", i, err);
		assert_null(rp.body);
	}
}

/* A body without Content-Length that grows past the cap. */
static void
test_endless_body_capped(void **state)
{
	static char big[1500];
	struct script s = {
	    .parts = {"HTTP/1.0 200 OK\r\n\r\n", big}, .keep_open = true};
	struct http_lite_request rq = {0};
	struct http_lite_reply rp;
	char err[256] = "";

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	start(&s);
	assert_int_equal(get(&s, "/", &rq, &rp, err, sizeof(err)), -EFBIG);
	finish(&s);
	assert_null(rp.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_which_urls),
	    cmocka_unit_test(test_content_length_in_pieces),
	    cmocka_unit_test(test_body_until_close),
	    cmocka_unit_test(test_headers_of_endless_stream),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_silent_server_and_cancel),
	    cmocka_unit_test(test_bad_answers),
	    cmocka_unit_test(test_endless_body_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
