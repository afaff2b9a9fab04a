/* SPDX-License-Identifier: MIT */
/*
 * A minimal HTTP/1.0 GET over plain TCP to a numeric IP address: the
 * Icecast poller's requests (status-json, a mount's headers,
 * /admin/metadata) to servers configured by address, the common case of
 * an Icecast on the same host or LAN. Those requests then never load
 * libcurl, whose load and curl_global_init() (which initialises OpenSSL)
 * cost ~3.9 MB of resident memory in a station that needs nothing else
 * from it (docs/performance.md, Memory). https, host names (which need a
 * resolver that can time out) and every other client stay with libcurl.
 *
 * What it does: one connection, "Connection: close", no proxy, no
 * redirects, Basic auth when asked, the whole request (connect included)
 * bounded by a deadline, a cancel flag checked at least every 100 ms, a
 * body capped in size, ended by Content-Length or by the server closing.
 * A chunked answer (which a server must not send to HTTP/1.0) is refused.
 *
 * Threads: http_lite_get() keeps no state; any thread may call it.
 */
#ifndef RELAY_HTTP_LITE_H
#define RELAY_HTTP_LITE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define HTTP_LITE_PEEK_MAX 256

struct http_lite_request {
	const char *url;	   /* "http://127.0.0.1:8000/status-json.xsl" */
	const char *log_url;	   /* names it in messages (no credentials) */
	const char *user;	   /* Basic auth when not NULL */
	const char *password;	   /* NULL: empty */
	const char *user_agent;	   /* NULL: none sent */
	int64_t timeout_ns;	   /* the whole request */
	const atomic_bool *cancel; /* may be NULL */
	size_t max_body;	   /* a longer body fails with -EFBIG */
	const char *peek_header;   /* keep this header's value; may be NULL */
	bool headers_only;	   /* stop at the end of the headers */
};

struct http_lite_reply {
	long code;  /* the HTTP status */
	char *body; /* owned, NUL-terminated; NULL when empty */
	size_t len;
	bool peek_found;
	char peek_value[HTTP_LITE_PEEK_MAX]; /* trimmed, cut to fit */
};

/* true when url is http:// with an IPv4 or bracketed IPv6 literal host,
 * i.e. something http_lite_get() serves. */
bool http_lite_handles(const char *url);

/* One GET. 0 with *out filled (free out->body), or a negative errno with
 * err = "LOG_URL: reason" in the poller's words: -ECONNREFUSED or the
 * connect errno ("cannot connect: ..."), -ETIMEDOUT ("no answer in
 * time"), -ECANCELED, -EFBIG, -ENOMEM, -EPROTO (not an HTTP answer),
 * -EINVAL (a URL it does not serve), or the errno of a failed read. */
RELAY_MUST_CHECK int http_lite_get(const struct http_lite_request *rq,
    struct http_lite_reply *out, char *err, size_t errlen);

#endif
