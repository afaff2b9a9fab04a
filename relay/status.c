/* SPDX-License-Identifier: MIT */
/*
 * The status server: libmicrohttpd on the [status] listen address. It
 * listens, routes, enforces the limits, sets the response headers and
 * checks the control API's bearer token; what it serves is built
 * elsewhere: status_json.c (/api/status and the events' payload;
 * status_doc.c caches the rendered /api/status), status_events.c (the
 * /api/events streams: their ticks, levels events and pending buffer),
 * status_metrics.c (/metrics), status_page.c (/, /embed and /operator),
 * history.c (/api/history, sampled here by the watchdog thread),
 * status_rules.c (/healthz), control.c (the control endpoints).
 * See status.h and docs/status-api.md.
 *
 * DESIGN
 * Everything shown comes from a stats_snapshot(): a short copy under the
 * stats mutex, which the engine thread also takes, once a second for its
 * counters and when the programme changes (never while rendering: the
 * copy is all that happens under it). Each request takes its own,
 * except /api/status: its document is rendered about ten times a second
 * at most plus once per change of state, by one thread at a time, into
 * one libmicrohttpd response that every request queues as it is
 * (status_doc.h). A poll storm then costs neither a snapshot nor an
 * allocation per request, and the engine never queues for the stats mutex
 * behind 64 pollers' copies (measured: docs/performance.md). A reload or a
 * control call invalidates that document at once. The server keeps only a
 * copy of a few settings (public_url, time zone, poll interval) behind its
 * own mutex, which nothing in the pipeline takes.
 *
 * libmicrohttpd runs one thread per connection (MHD_USE_THREAD_PER_
 * CONNECTION with an internal poll thread). The reason is the event
 * stream: /api/events stays open for hours and produces data only when
 * the state changes. In the single polling-thread mode a content callback
 * may not return 0 ("no data yet") without busy-waiting, and blocking in
 * it would stall every other client. With a thread per connection the
 * callback simply waits on its own socket for 1 s ticks (POLLRDHUP: a
 * client that goes ends the stream and frees its slot at once; the
 * socket shutdown of MHD_stop_daemon ends it too). An operator page's
 * stream (?levels=1) ticks every 100 ms: a small levels event from
 * lock-free counters each tick, the state still looked at once a second.
 * Memory stays bounded: at most STATUS_MAX_CONNECTIONS connections
 * (threads with 256 KiB stacks). A request is small: headers and URL
 * must fit in STATUS_MEMORY_LIMIT_BYTES (libmicrohttpd answers 431 / 414
 * itself).
 *
 * Slots (docs/reliability.md, status_slots.h): libmicrohttpd's timeout
 * is an idle timer that every byte restarts, so a slow-loris could hold
 * every connection. notify_cb reports each connection to status_slots,
 * which tracks it as waiting (for its request, or idle on keep-alive) or
 * being answered, enforces the request deadline (from the watchdog
 * thread) and makes room for new connections. Answers are capped per
 * class: STATUS_MAX_EVENT_STREAMS event streams, STATUS_MAX_PUBLIC
 * page/asset/status/metrics answers (503 beyond; the page falls back to
 * polling); /healthz and control take what is left, which the caps keep
 * at 48 or more.
 *
 * Requests: the raw URI is checked before parsing (uri_check_cb): longer
 * than STATUS_MAX_URI_BYTES -> 414, a control byte, a broken %-escape, %00,
 * or an escaped control byte in the path (%0a, %7f) -> 400 naming which.
 * Known path with another method than GET/HEAD -> 405 with Allow
 * (after the body, if any, has been read and dropped: FIELD-NOTES 6.3).
 * Unknown path -> 404. Only embedded assets are served: no file system.
 *
 * CORS: /api/status and /api/events name only the origins of [status]
 * cors_origins in Access-Control-Allow-Origin (none by default).
 *
 * Control (POST /api/segments, /api/skip, /api/metadata, /api/reload):
 * the body is read first (its first CONTROL_MAX_BODY_BYTES kept), then,
 * on the final call, the bearer token is compared in constant time
 * against the copy in struct status_server and control_handle() does the
 * rest (control.h). The token never leaves the server's lock except to
 * be compared, or to be blanked out of the audit line (redact_token_cb).
 *
 * Threads: status_start/stop/reconfigure on the main thread; handlers and
 * event streams on libmicrohttpd's connection threads; notify_cb on its
 * listening thread; watchdog_thread on its own; the pure functions
 * anywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "control.h"
#include "history.h"
#include "log.h"
#include "stats.h"
#include "status.h"
#include "status_doc.h"
#include "status_events.h"
#include "status_json.h"
#include "status_metrics.h"
#include "status_page.h"
#include "status_rules.h"
#include "status_slots.h"
#include "util.h"
#include "www_assets.h"

#define MOD "status"

/* The history's finest slot is a second (history.h). */
#define STATUS_HISTORY_TICK_NS NS_PER_SEC
#define STATUS_CONNECTION_TIMEOUT_S 15
#define STATUS_MEMORY_LIMIT_BYTES ((size_t)16384)
#define STATUS_THREAD_STACK_BYTES ((size_t)256 * 1024)
#define STATUS_MAX_URI_BYTES 2048
#define STATUS_MAX_BODY_BYTES ((uint64_t)65536)

static const char csp_api[] = "default-src 'none'; frame-ancestors 'none'";
/* The operator page loads and talks to relay only, and is never framed. */
static const char csp_operator[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

/* ---- The bearer token. ---- */

bool
status_token_equal(const char *given, const char *expected)
{
	const volatile unsigned char *g, *e;
	size_t lg, le, i;
	unsigned int diff;

	if (given == NULL || expected == NULL)
		return false;
	g = (const volatile unsigned char *)given;
	e = (const volatile unsigned char *)expected;
	lg = strlen(given);
	le = strlen(expected);
	if (le == 0)
		return false;
	/* Walk the given text only, reading expected cyclically, and fold
	 * every difference into one value: no early exit, no branch on a
	 * secret byte. The lengths are folded in last. */
	diff = (lg != le);
	for (i = 0; i < lg; i++)
		diff |= (unsigned int)(g[i] ^ e[i % le]);
	return diff == 0;
}

enum status_auth
status_auth_check(const char *authorization, const char *token)
{
	const char *p;

	if (token == NULL || token[0] == '\0')
		return STATUS_AUTH_DISABLED;
	if (authorization == NULL)
		return STATUS_AUTH_MISSING;
	p = authorization;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return STATUS_AUTH_MISSING;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return STATUS_AUTH_MISSING;
	return status_token_equal(p, token) ? STATUS_AUTH_OK
					    : STATUS_AUTH_WRONG;
}

/* ---- Settings. ---- */

void
status_settings_from_config(
    const struct config *cfg, struct status_settings *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (cfg->status.public_url != NULL)
		util_strlcpy(out->public_url, cfg->status.public_url,
		    sizeof(out->public_url));
	if (cfg->schedule.timezone != NULL)
		util_strlcpy(out->timezone, cfg->schedule.timezone,
		    sizeof(out->timezone));
	out->poll_icecast_ns = cfg->status.poll_icecast_ns > 0
				   ? cfg->status.poll_icecast_ns
				   : 5 * NS_PER_SEC;
	for (i = 0; i < cfg->status.cors_origins.n; i++) {
		const char *o = cfg->status.cors_origins.item[i];
		size_t used = strlen(out->cors_origins);

		/* An origin that does not fit is left out (never half). */
		if (used + strlen(o) + 2 > sizeof(out->cors_origins))
			continue;
		snprintf(out->cors_origins + used,
		    sizeof(out->cors_origins) - used, "%s%s",
		    used > 0 ? " " : "", o);
	}
}

/* ---- The server. ---- */

/* Per request: the verdict on the raw URI and the body seen so far. */
struct request {
	bool pooled;		 /* in srv->requests (else allocated) */
	unsigned int uri_status; /* 0, 400 or 414 */
	char uri_error[72];	 /* what is wrong with the URI (for 400) */
	bool headers_seen;
	bool public_slot; /* a STATUS_SLOT_PUBLIC taken until completed */
	uint64_t body_bytes;
	/* Control endpoints: the first CONTROL_MAX_BODY_BYTES of the
	 * body (owned; NULL until a byte arrives). */
	char *body;
	size_t body_len;
};

struct status_server {
	struct MHD_Daemon *daemon;
	char listen_text[300];
	/* Guards settings and stopping; never taken by the pipeline. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the watchdog waits here (CLOCK_MONOTONIC) */
	struct status_settings settings;
	char *token; /* [status] token (owned, wiped on free); NULL: none */
	bool stopping;
	/* Open connections and the answer classes (owned). */
	struct status_slots *slots;
	pthread_t watchdog;
	bool watchdog_started;
	/* The MHD logger's rate limit. */
	atomic_int_fast64_t log_last_mono_ns;
	atomic_int log_suppressed;
	/* /api/history's rings (owned), sampled by the watchdog thread. */
	struct history *history;
	struct status_doc_cache *docs;	   /* /api/status (owned) */
	struct status_events_hooks events; /* what its event streams ask */
	/* Each tracked connection's request, by its slot: a keep-alive
	 * client's requests allocate nothing. Its connection's thread
	 * only. */
	struct request requests[STATUS_SLOTS_TRACKED];
};

static void
get_settings(struct status_server *srv, struct status_settings *out)
{
	pthread_mutex_lock(&srv->lock);
	*out = srv->settings;
	pthread_mutex_unlock(&srv->lock);
}

static bool
is_stopping(struct status_server *srv)
{
	bool stop;

	pthread_mutex_lock(&srv->lock);
	stop = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return stop;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- Connection slots (status_slots.h) and the watchdog. ---- */

/* Runs on: libmicrohttpd's listening thread (STARTED) or its cleanup
 * (CLOSED). */
static void
notify_cb(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct status_server *srv = cls;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	int fd;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		status_slots_release(srv->slots, *socket_context);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	fd = ci != NULL ? ci->connect_fd : -1;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci != NULL ? ci->client_addr : NULL;
	*socket_context = status_slots_open(srv->slots, fd, sa);
}

/* The connection's request has arrived whole (waiting false), or its
 * answer has gone and it may wait for the next one (true). */
static void
conn_set_waiting(
    struct status_server *srv, struct MHD_Connection *c, bool waiting)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || ci->socket_context == NULL)
		return;
	status_slots_set_waiting(srv->slots, ci->socket_context, waiting);
}

/* One history sample (history.h): a snapshot and the loudest levels
 * since the previous tick, stamped with the tick's own time, so that a
 * thread woken a little late one tick and on time the next still begins
 * one second-slot per tick. Runs on: the watchdog thread. */
static void
sample_history(struct status_server *srv, int64_t tick_mono_ns)
{
	struct stats_snapshot *s;
	double peak, rms;

	if (srv->history == NULL)
		return;
	s = malloc(sizeof(*s));
	if (s == NULL)
		return;
	stats_snapshot(s);
	stats_levels_take_max(&peak, &rms);
	history_sample(
	    srv->history, s, peak, rms, tick_mono_ns, s->now_wall_ns);
	free(s);
}

/* Samples the history once a second and closes every connection whose
 * request is not complete by its deadline (status_slots_expire), waking
 * only for those. Runs on: its own thread, from status_start to
 * status_stop. */
static void *
watchdog_thread(void *arg)
{
	struct status_server *srv = arg;
	struct timespec until;
	int64_t tick, expiry = INT64_MAX, deadline, now;

	util_thread_name("status-watchdog");
	tick = util_now_mono_ns() + STATUS_HISTORY_TICK_NS;
	for (;;) {
		deadline = expiry < tick ? expiry : tick;
		until.tv_sec = (time_t)(deadline / NS_PER_SEC);
		until.tv_nsec = (long)(deadline % NS_PER_SEC);
		pthread_mutex_lock(&srv->lock);
		if (!srv->stopping)
			pthread_cond_timedwait(&srv->wake, &srv->lock, &until);
		pthread_mutex_unlock(&srv->lock);
		if (is_stopping(srv))
			break;
		now = util_now_mono_ns();
		if (now >= tick) {
			sample_history(srv, tick);
			/* The same cadence, unless the thread fell a whole
			 * tick behind (a suspended machine). */
			tick += STATUS_HISTORY_TICK_NS;
			if (tick <= now)
				tick = now + STATUS_HISTORY_TICK_NS;
		}
		expiry = status_slots_expire(srv->slots);
	}
	return NULL;
}

/* Runs on: a connection thread, before the headers are parsed. */
static void *
uri_check_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct status_server *srv = cls;
	const union MHD_ConnectionInfo *ci;
	struct request *rq;
	const unsigned char *p;
	bool in_path = true;
	int byte;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL && ci->socket_context != NULL) {
		rq = &srv->requests[status_slots_index(
		    srv->slots, ci->socket_context)];
		memset(rq, 0, sizeof(*rq));
		rq->pooled = true;
	} else {
		rq = calloc(1, sizeof(*rq)); /* an untracked connection */
		if (rq == NULL)
			return NULL;
	}
	if (strlen(uri) > STATUS_MAX_URI_BYTES) {
		rq->uri_status = MHD_HTTP_URI_TOO_LONG;
		return rq;
	}
	for (p = (const unsigned char *)uri; *p != '\0'; p++) {
		if (*p == '?')
			in_path = false;
		if (*p < 0x21 || *p == 0x7f) {
			snprintf(rq->uri_error, sizeof(rq->uri_error),
			    "a control byte or space (0x%02X) in the URL", *p);
			break;
		}
		if (*p != '%')
			continue;
		if (hexval(p[1]) < 0 || hexval(p[2]) < 0) {
			util_strlcpy(rq->uri_error,
			    "a broken %-escape in the URL",
			    sizeof(rq->uri_error));
			break;
		}
		byte = hexval(p[1]) * 16 + hexval(p[2]);
		/* An escaped NUL would end the decoded path or value there:
		 * "/api/metadata%00x" would be taken for /api/metadata. */
		if (byte == 0) {
			util_strlcpy(rq->uri_error,
			    "an escaped NUL (%00) in the URL",
			    sizeof(rq->uri_error));
			break;
		}
		/* No path has one: say so rather than 404, and keep it
		 * from every path-matching and log. A query's value is the
		 * endpoint's to judge (the pages ignore unknown ones). */
		if (in_path && (byte < 0x20 || byte == 0x7f)) {
			snprintf(rq->uri_error, sizeof(rq->uri_error),
			    "an escaped control byte (%%%02X) in the URL path",
			    (unsigned int)byte);
			break;
		}
	}
	if (rq->uri_error[0] != '\0')
		rq->uri_status = MHD_HTTP_BAD_REQUEST;
	return rq;
}

/* Runs on: a connection thread. */
static void
completed_cb(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct status_server *srv = cls;
	struct request *rq;

	(void)toe;
	rq = *req_cls;
	if (rq != NULL) {
		if (rq->public_slot)
			status_slots_put(srv->slots, STATUS_SLOT_PUBLIC);
		free(rq->body);
		if (!rq->pooled)
			free(rq);
	}
	*req_cls = NULL;
	/* Keep-alive: the next request has the same deadline. */
	conn_set_waiting(srv, c, true);
}

static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's own messages: client errors at debug level, the rest as
 * warnings, at most one every 10 s. Runs on: any MHD thread. */
static void
mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
	struct status_server *srv = cls;
	char text[512], esc[600];
	int64_t now = util_now_mono_ns(), last;
	int suppressed;
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	log_escape(esc, sizeof(esc), text);
	/* Client errors, and the close after a body over
	 * STATUS_MAX_BODY_BYTES ("Application reported internal error"). */
	/* "application error generating response": an event stream whose
	 * client left (events_read_cb); "detected connection closure": one
	 * the request deadline or make_room closed. Routine. */
	if (strncmp(text, "Error processing request", 24) == 0 ||
	    strstr(text, "detected connection closure") != NULL ||
	    strstr(text, "application error generating response") != NULL ||
	    strstr(text, "Application reported internal error") != NULL ||
	    strstr(text, "closed connection") != NULL ||
	    strstr(text, "Connection reset") != NULL) {
		log_debug(MOD, "http: %s", esc);
		return;
	}
	last = atomic_load(&srv->log_last_mono_ns);
	if (last != 0 && now - last < 10 * NS_PER_SEC) {
		atomic_fetch_add(&srv->log_suppressed, 1);
		return;
	}
	atomic_store(&srv->log_last_mono_ns, now);
	suppressed = atomic_exchange(&srv->log_suppressed, 0);
	if (suppressed > 0)
		log_warn(
		    MOD, "http: %s (%d similar suppressed)", esc, suppressed);
	else
		log_warn(MOD, "http: %s", esc);
}

static void
add_headers(struct MHD_Response *r, const char *type, const char *cache,
    const char *csp)
{
	if (type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(
	    r, "Content-Security-Policy", csp != NULL ? csp : csp_api);
}

/* The document cache's view of the server (status_doc.h). */
static void
settings_hook(void *arg, struct status_settings *out)
{
	get_settings(arg, out);
}

static void
api_headers_hook(struct MHD_Response *r)
{
	add_headers(r, "application/json; charset=utf-8", "no-store", NULL);
}

/* The event streams' view of the server (status_events.h). */
static bool
stopping_hook(void *arg)
{
	return is_stopping(arg);
}

static void
events_done_hook(void *arg)
{
	struct status_server *srv = arg;

	status_slots_put(srv->slots, STATUS_SLOT_EVENTS);
}

/* The Access-Control-Allow-Origin value for a request from origin (the
 * Origin header, NULL when absent) under list ([status] cors_origins as
 * status_settings keeps it: origins separated by spaces, or "*"), or
 * NULL for none. */
const char *
status_cors_allow(const char *list, const char *origin)
{
	const char *p = list;
	size_t n, on;

	if (list == NULL || list[0] == '\0')
		return NULL;
	if (strcmp(list, "*") == 0)
		return "*";
	if (origin == NULL || origin[0] == '\0')
		return NULL;
	on = strlen(origin);
	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == on && strncasecmp(p, origin, n) == 0)
			return origin;
		p += n;
		while (*p == ' ')
			p++;
	}
	return NULL;
}

/* Adds the CORS headers the settings allow for the request on c. */
static void
add_cors(
    struct status_server *srv, struct MHD_Connection *c, struct MHD_Response *r)
{
	struct status_settings set;
	const char *allow, *origin;

	get_settings(srv, &set);
	if (set.cors_origins[0] == '\0')
		return;
	origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	allow = status_cors_allow(set.cors_origins, origin);
	if (allow != NULL)
		MHD_add_response_header(
		    r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, allow);
	/* The answer depends on Origin unless every origin is allowed. */
	if (strcmp(set.cors_origins, "*") != 0)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
}

/* Queues body (owned when mode is MHD_RESPMEM_MUST_FREE). With cors set,
 * adds the CORS headers [status] cors_origins allows. */
static enum MHD_Result
reply(struct status_server *cors, struct MHD_Connection *c, unsigned int code,
    const char *type, const char *body, size_t len,
    enum MHD_ResponseMemoryMode mode, const char *cache, const char *csp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free((void *)(uintptr_t)body);
		return MHD_NO;
	}
	add_headers(r, type, cache, csp);
	if (cors != NULL)
		add_cors(cors, c, r);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	return reply(NULL, c, code, "text/plain; charset=utf-8", text,
	    strlen(text), MHD_RESPMEM_PERSISTENT, "no-store", NULL);
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned int code)
{
	const char *text;

	switch (code) {
	case MHD_HTTP_BAD_REQUEST:
		text = "400 Bad Request\n";
		break;
	case MHD_HTTP_NOT_FOUND:
		text = "404 Not Found\n";
		break;
	case MHD_HTTP_URI_TOO_LONG:
		text = "414 URI Too Long\n";
		break;
	case MHD_HTTP_SERVICE_UNAVAILABLE:
		text = "503 Service Unavailable\n";
		break;
	default:
		text = "500 Internal Server Error\n";
		break;
	}
	return reply_text(c, code, text);
}

/* 400 for a URI uri_check_cb refused, naming why (what, e.g. "an escaped
 * NUL (%00) in the URL"; never the URI itself). */
static enum MHD_Result
reply_bad_uri(struct MHD_Connection *c, const char *what)
{
	char text[128];

	snprintf(text, sizeof(text), "400 Bad Request: %s\n", what);
	return reply(NULL, c, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8",
	    text, strlen(text), MHD_RESPMEM_MUST_COPY, "no-store", NULL);
}

static enum MHD_Result
reply_405(struct MHD_Connection *c)
{
	static const char text[] = "405 Method Not Allowed\n";
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
	    sizeof(text) - 1, (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	add_headers(r, "text/plain; charset=utf-8", "no-store", NULL);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

/* Query checks for the API endpoints: only the names they know, each
 * "", "1" or "0". */
struct query_check {
	const char *allow; /* the one name allowed, or NULL */
	bool bad;
	bool on;
};

static enum MHD_Result
query_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_check *q = cls;

	(void)kind;
	if (q->allow != NULL && strcmp(key, q->allow) == 0) {
		if (value == NULL || strcmp(value, "") == 0 ||
		    strcmp(value, "1") == 0)
			q->on = true;
		else if (strcmp(value, "0") == 0)
			q->on = false;
		else
			q->bad = true;
	} else
		q->bad = true;
	return MHD_YES;
}

/* True when the query has no other name than allow (NULL: none); *on
 * (may be NULL) says whether allow was set. */
static bool
query_ok(struct MHD_Connection *c, const char *allow, bool *on)
{
	struct query_check q = {.allow = allow};

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_cb, &q);
	if (on != NULL)
		*on = q.on;
	return !q.bad;
}

static struct stats_snapshot *
snapshot_new(void)
{
	struct stats_snapshot *s = malloc(sizeof(*s));

	if (s != NULL)
		stats_snapshot(s);
	return s;
}

/* GET /api/status: the cached document, with the CORS header of a listed
 * Origin when there is one. No allocation unless an origin is named. */
static enum MHD_Result
serve_status(struct status_server *srv, struct MHD_Connection *c, bool pretty)
{
	struct status_doc *d = status_doc_get(srv->docs, pretty);
	struct MHD_Response *r;
	const char *allow;
	enum MHD_Result ret;

	if (d == NULL)
		return reply_error(c, 500);
	allow = d->cors_origins[0] == '\0'
		    ? NULL
		    : status_cors_allow(
			  d->cors_origins, MHD_lookup_connection_value(
					       c, MHD_HEADER_KIND, "Origin"));
	if (allow == NULL) {
		ret = MHD_queue_response(c, MHD_HTTP_OK, d->resp);
		status_doc_put(d);
		return ret;
	}
	r = MHD_create_response_from_buffer(
	    d->len, (void *)(uintptr_t)d->body, MHD_RESPMEM_MUST_COPY);
	status_doc_put(d);
	if (r == NULL)
		return MHD_NO;
	add_headers(r, "application/json; charset=utf-8", "no-store", NULL);
	MHD_add_response_header(
	    r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, allow);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* GET /metrics. */
static enum MHD_Result
serve_metrics(struct status_server *srv, struct MHD_Connection *c)
{
	struct status_settings set;
	struct stats_snapshot *s;
	char *text;

	get_settings(srv, &set);
	s = snapshot_new();
	if (s == NULL)
		return reply_error(c, 500);
	status_slots_load(srv->slots, &s->http);
	text = status_metrics(s, &set);
	free(s);
	if (text == NULL)
		return reply_error(c, 500);
	return reply(NULL, c, MHD_HTTP_OK,
	    "text/plain; version=0.0.4; charset=utf-8", text, strlen(text),
	    MHD_RESPMEM_MUST_FREE, "no-store", NULL);
}

static enum MHD_Result
serve_health(struct MHD_Connection *c)
{
	struct stats_snapshot *s;
	char reason[768], *text;
	bool ok;

	s = snapshot_new();
	if (s == NULL)
		return reply_error(c, 500);
	ok = status_rules_healthy(s, reason, sizeof(reason));
	free(s);
	if (ok)
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	if (asprintf(&text, "%s\n", reason) < 0)
		return reply_error(c, 500);
	return reply(NULL, c, MHD_HTTP_SERVICE_UNAVAILABLE,
	    "text/plain; charset=utf-8", text, strlen(text),
	    MHD_RESPMEM_MUST_FREE, "no-store", NULL);
}

static const struct www_asset *
asset_find(const char *path)
{
	const struct www_asset *a;

	for (a = www_assets; a->path != NULL; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}

static enum MHD_Result
serve_page(struct status_server *srv, struct MHD_Connection *c,
    const char *template_path, bool embed)
{
	const struct www_asset *a = asset_find(template_path);
	struct status_settings set;
	struct stats_snapshot *s;
	char *text, csp[4096];

	if (a == NULL)
		return reply_error(c, 500);
	get_settings(srv, &set);
	s = snapshot_new();
	if (s == NULL)
		return reply_error(c, 500);
	text = status_page_render((const char *)a->data, s, &set);
	if (strcmp(template_path, "/operator.html") == 0)
		util_strlcpy(csp, csp_operator, sizeof(csp));
	else
		status_page_csp(s, &set, embed, csp, sizeof(csp));
	free(s);
	if (text == NULL)
		return reply_error(c, 500);
	return reply(NULL, c, MHD_HTTP_OK, "text/html; charset=utf-8", text,
	    strlen(text), MHD_RESPMEM_MUST_FREE, "no-store", csp);
}

/* GET /api/history (history.h). */
static enum MHD_Result
serve_history(struct status_server *srv, struct MHD_Connection *c, bool pretty)
{
	char *text = history_json(srv->history, pretty);

	if (text == NULL)
		return reply_error(c, 500);
	return reply(srv, c, MHD_HTTP_OK, "application/json; charset=utf-8",
	    text, strlen(text), MHD_RESPMEM_MUST_FREE, "no-store", NULL);
}

/* ---- The event stream (status_events.c builds and sends it). ---- */

static enum MHD_Result
serve_events(
    struct status_server *srv, struct MHD_Connection *c, bool head, bool levels)
{
	const union MHD_ConnectionInfo *ci;
	struct status_events *es;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (head) {
		return reply(srv, c, MHD_HTTP_OK, "text/event-stream", "", 0,
		    MHD_RESPMEM_PERSISTENT, "no-store", NULL);
	}
	if (!status_slots_take(srv->slots, STATUS_SLOT_EVENTS))
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	es = status_events_new(
	    &srv->events, ci != NULL ? ci->connect_fd : -1, levels);
	if (es == NULL) {
		status_slots_put(srv->slots, STATUS_SLOT_EVENTS);
		return reply_error(c, 500);
	}
	/* Frees es, and gives back its slot, if it fails. */
	r = status_events_response(es);
	if (r == NULL)
		return MHD_NO;
	add_headers(r, "text/event-stream; charset=utf-8", "no-store", NULL);
	add_cors(srv, c, r);
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- The control API (control.h does the work). ---- */

/* "127.0.0.1:50312" or "[::1]:50312". */
static void
client_text(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	char host[NI_MAXHOST], port[NI_MAXSERV];
	socklen_t sl;

	util_strlcpy(buf, "?", len);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	sl = ci->client_addr->sa_family == AF_INET6
		 ? (socklen_t)sizeof(struct sockaddr_in6)
		 : (socklen_t)sizeof(struct sockaddr_in);
	if (getnameinfo(ci->client_addr, sl, host, sizeof(host), port,
		sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	if (strchr(host, ':') != NULL)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
}

/* Blanks the token out of an audit line, should a client have put it in
 * the body. Runs on: a connection thread. */
static void
redact_token_cb(char *line, size_t len, void *arg)
{
	struct status_server *srv = arg;
	char *red = NULL;

	pthread_mutex_lock(&srv->lock);
	if (srv->token != NULL && srv->token[0] != '\0' &&
	    strstr(line, srv->token) != NULL)
		red = util_redact(line, srv->token);
	pthread_mutex_unlock(&srv->lock);
	if (red != NULL) {
		util_strlcpy(line, red, len);
		explicit_bzero(red, strlen(red));
		free(red);
	}
}

/* Keeps the first query parameter's name in *cls (a const char *). */
static enum MHD_Result
first_key_cb(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **first = cls;

	(void)kind;
	(void)value;
	*first = key;
	return MHD_NO;
}

/* The whole control call, on the final call of the access handler (the
 * body, if any, is in rq). Runs on: a connection thread; waits up to 5 s
 * for the main thread (control_handle). */
static enum MHD_Result
serve_control(struct status_server *srv, struct MHD_Connection *c,
    const char *method, enum control_endpoint ep, struct request *rq)
{
	struct control_call call = {
	    .endpoint = ep,
	    .method = method,
	    .body = rq->body,
	    .body_len = rq->body_len,
	    .body_bytes = rq->body_bytes,
	};
	struct control_answer ans;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char who[96];

	pthread_mutex_lock(&srv->lock);
	call.auth =
	    status_auth_check(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
				  MHD_HTTP_HEADER_AUTHORIZATION),
		srv->token);
	pthread_mutex_unlock(&srv->lock);
	client_text(c, who, sizeof(who));
	call.client = who;
	MHD_get_connection_values(
	    c, MHD_GET_ARGUMENT_KIND, first_key_cb, &call.query);
	control_handle(&call, redact_token_cb, srv, &ans);
	/* Whatever the call changed shows in the next /api/status. */
	status_doc_invalidate(srv->docs);
	if (ans.body == NULL)
		return reply_error(c, 500);
	r = MHD_create_response_from_buffer(
	    strlen(ans.body), ans.body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(ans.body);
		return MHD_NO;
	}
	add_headers(r, "application/json; charset=utf-8", "no-store", NULL);
	if (ans.code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"relay\"");
	if (ans.code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	if (ans.retry_after_s > 0) {
		char secs[16];

		snprintf(secs, sizeof(secs), "%u", ans.retry_after_s);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	ret = MHD_queue_response(c, ans.code, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- Routing. ---- */

enum route {
	ROUTE_NONE,
	ROUTE_PAGE,
	ROUTE_EMBED,
	ROUTE_STATUS,
	ROUTE_EVENTS,
	ROUTE_METRICS,
	ROUTE_HEALTH,
	ROUTE_ASSET,
	ROUTE_OPERATOR,
	ROUTE_HISTORY,
};

static enum route
route_of(const char *url, const struct www_asset **asset)
{
	const struct www_asset *a;
	size_t n;

	*asset = NULL;
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		return ROUTE_PAGE;
	if (strcmp(url, "/embed") == 0 || strcmp(url, "/embed.html") == 0)
		return ROUTE_EMBED;
	if (strcmp(url, "/api/status") == 0)
		return ROUTE_STATUS;
	if (strcmp(url, "/api/events") == 0)
		return ROUTE_EVENTS;
	if (strcmp(url, "/operator") == 0)
		return ROUTE_OPERATOR;
	if (strcmp(url, "/api/history") == 0)
		return ROUTE_HISTORY;
	if (strcmp(url, "/metrics") == 0)
		return ROUTE_METRICS;
	if (strcmp(url, "/healthz") == 0)
		return ROUTE_HEALTH;
	/* Page templates are rendered, never served raw. */
	n = strlen(url);
	if (n >= 5 && strcmp(url + n - 5, ".html") == 0)
		return ROUTE_NONE;
	a = asset_find(url);
	if (a != NULL) {
		*asset = a;
		return ROUTE_ASSET;
	}
	return ROUTE_NONE;
}

/* The request's Content-Length, 0 when absent or not a number. */
static uint64_t
content_length(struct MHD_Connection *c)
{
	const char *v;
	int64_t n;

	v = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL || util_parse_int64(v, 0, INT64_MAX, &n) < 0)
		return 0;
	return (uint64_t)n;
}

/* Runs on: a connection thread. */
static enum MHD_Result
handle_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct status_server *srv = cls;
	struct request *rq = *req_cls;
	const struct www_asset *asset;
	enum control_endpoint ep;
	enum route route;
	bool head, pretty = false, levels = false, control;

	(void)version;
	if (rq == NULL)
		return MHD_NO; /* out of memory in uri_check_cb */
	control = rq->uri_status == 0 && control_endpoint_of(url, &ep);
	if (!rq->headers_seen) {
		rq->headers_seen = true;
		/* A control body that would be dropped anyway (over
		 * STATUS_MAX_BODY_BYTES) gets its answer now, before it is
		 * sent: libmicrohttpd allows a response at this first call. */
		if (control && content_length(c) > STATUS_MAX_BODY_BYTES) {
			rq->body_bytes = content_length(c);
			conn_set_waiting(srv, c, false);
			return serve_control(srv, c, method, ep, rq);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* A body is read before any answer (FIELD-NOTES 6.3): kept
		 * up to the control limit on control paths, else dropped. */
		if (control && rq->body_len < CONTROL_MAX_BODY_BYTES) {
			size_t n = CONTROL_MAX_BODY_BYTES - rq->body_len;

			if (rq->body == NULL)
				rq->body = malloc(CONTROL_MAX_BODY_BYTES + 1);
			if (rq->body == NULL)
				return MHD_NO;
			if (n > *upload_data_size)
				n = *upload_data_size;
			memcpy(rq->body + rq->body_len, upload_data, n);
			rq->body_len += n;
			rq->body[rq->body_len] = '\0';
		}
		rq->body_bytes += *upload_data_size;
		*upload_data_size = 0;
		return rq->body_bytes > STATUS_MAX_BODY_BYTES ? MHD_NO
							      : MHD_YES;
	}
	/* The whole request is in: from here on it is being answered. */
	conn_set_waiting(srv, c, false);
	if (rq->uri_status == MHD_HTTP_BAD_REQUEST)
		return reply_bad_uri(c, rq->uri_error);
	if (rq->uri_status != 0)
		return reply_error(c, rq->uri_status);
	if (control)
		return serve_control(srv, c, method, ep, rq);
	route = route_of(url, &asset);
	if (route == ROUTE_NONE)
		return reply_error(c, MHD_HTTP_NOT_FOUND);
	head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply_405(c);
	/* The page, its assets, /api/status and /metrics share
	 * STATUS_MAX_PUBLIC slots, the event streams theirs; /healthz and
	 * control are never refused for want of one. */
	if (route != ROUTE_HEALTH && route != ROUTE_EVENTS) {
		if (!status_slots_take(srv->slots, STATUS_SLOT_PUBLIC))
			return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE);
		rq->public_slot = true;
	}
	switch (route) {
	case ROUTE_PAGE:
		return serve_page(srv, c, "/index.html", false);
	case ROUTE_EMBED:
		return serve_page(srv, c, "/embed.html", true);
	case ROUTE_STATUS:
		if (!query_ok(c, "pretty", &pretty))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_status(srv, c, pretty);
	case ROUTE_EVENTS:
		if (!query_ok(c, "levels", &levels))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_events(srv, c, head, levels);
	case ROUTE_OPERATOR:
		if (!query_ok(c, NULL, NULL))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_page(srv, c, "/operator.html", false);
	case ROUTE_HISTORY:
		if (!query_ok(c, "pretty", &pretty))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_history(srv, c, pretty);
	case ROUTE_METRICS:
		if (!query_ok(c, NULL, NULL))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_metrics(srv, c);
	case ROUTE_HEALTH:
		if (!query_ok(c, NULL, NULL))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_health(c);
	case ROUTE_ASSET:
		return reply(NULL, c, MHD_HTTP_OK, asset->type,
		    (const char *)asset->data, asset->bytes,
		    MHD_RESPMEM_PERSISTENT, "public, max-age=3600", NULL);
	case ROUTE_NONE:
		break;
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND);
}

/* ---- Start and stop. ---- */

static void
free_token(char *token)
{
	if (token == NULL)
		return;
	explicit_bzero(token, strlen(token));
	free(token);
}

/* Opens the listening socket ourselves so a failure has its errno. */
static int
listen_socket(
    const struct status_config *sc, int *family, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char port[16], ebuf[128];
	int fd = -1, one = 1, rc, saved = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", sc->listen_port);
	rc =
	    getaddrinfo(sc->listen_host != NULL ? sc->listen_host : "127.0.0.1",
		port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "[status] listen %s: %s", sc->listen,
		    gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(
			    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 64) == 0) {
			*family = ai->ai_family;
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "[status] listen %s: %s%s", sc->listen,
		    strerror_r(saved, ebuf, sizeof(ebuf)),
		    saved == EADDRINUSE
			? " (another relay, or another program, listens "
			  "there: stop it, or set [status] listen to a free "
			  "port)"
			: "");
		return saved != 0 ? -saved : -EADDRNOTAVAIL;
	}
	return fd;
}

/* The history's minute: 60 s, or RELAY_TEST_HISTORY_MINUTE_MS (100 ms to
 * 60 s) so that a test sees minutes go by (docs/status-api.md). */
static int64_t
history_minute_ns(void)
{
	const char *v = getenv("RELAY_TEST_HISTORY_MINUTE_MS");
	int64_t ms;

	if (v != NULL && util_parse_int64(v, 100, 60000, &ms) == 0) {
		log_info(MOD,
		    "RELAY_TEST_HISTORY_MINUTE_MS=%" PRId64
		    ": history minutes last %" PRId64 " ms (for tests only)",
		    ms, ms);
		return ms * NS_PER_MS;
	}
	return 60 * NS_PER_SEC;
}

/* A socket bound by status_bind_early(), waiting for status_start(). */
static int early_fd = -1;
static int early_family = AF_INET;

int
status_bind_early(const struct config *cfg, char *err, size_t errlen)
{
	int fd;

	if (!cfg->status.enabled || early_fd >= 0)
		return 0;
	fd = listen_socket(&cfg->status, &early_family, err, errlen);
	if (fd < 0)
		return fd;
	early_fd = fd;
	return 0;
}

struct status_server *
status_start(const struct config *cfg, char *err, size_t errlen)
{
	const struct status_config *sc = &cfg->status;
	const char *host =
	    sc->listen_host != NULL ? sc->listen_host : "127.0.0.1";
	struct status_server *srv;
	pthread_condattr_t ca;
	unsigned int flags;
	int fd, family = AF_INET;

	if (errlen > 0)
		err[0] = '\0';
	if (!sc->enabled) {
		snprintf(err, errlen, "[status] listen = off: not started");
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		snprintf(err, errlen, "[status] out of memory");
		return NULL;
	}
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->wake, &ca);
	pthread_condattr_destroy(&ca);
	status_settings_from_config(cfg, &srv->settings);
	if (sc->token != NULL && sc->token[0] != '\0') {
		srv->token = strdup(sc->token);
		if (srv->token == NULL) {
			snprintf(err, errlen, "[status] out of memory");
			goto fail;
		}
	}
	srv->docs = status_doc_cache_new(settings_hook, api_headers_hook, srv);
	srv->events = (struct status_events_hooks){.settings = settings_hook,
	    .stopping = stopping_hook,
	    .done = events_done_hook,
	    .arg = srv};
	if (srv->docs == NULL) {
		snprintf(err, errlen, "[status] out of memory");
		goto fail;
	}
	srv->history = history_new(history_minute_ns());
	if (srv->history == NULL) {
		snprintf(err, errlen, "[status] out of memory");
		goto fail;
	}
	srv->slots = status_slots_new();
	if (srv->slots == NULL) {
		snprintf(err, errlen, "[status] out of memory");
		goto fail;
	}
	atomic_init(&srv->log_last_mono_ns, 0);
	atomic_init(&srv->log_suppressed, 0);
	if (strchr(host, ':') != NULL)
		snprintf(srv->listen_text, sizeof(srv->listen_text), "[%s]:%d",
		    host, sc->listen_port);
	else
		snprintf(srv->listen_text, sizeof(srv->listen_text), "%s:%d",
		    host, sc->listen_port);

	if (early_fd >= 0) {
		fd = early_fd;
		family = early_family;
		early_fd = -1;
	} else {
		fd = listen_socket(sc, &family, err, errlen);
	}
	if (fd < 0)
		goto fail;
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
		MHD_USE_ERROR_LOG;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger must come first, or early messages bypass it. */
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle_cb, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, srv,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)STATUS_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)STATUS_MAX_PER_ADDRESS, MHD_OPTION_NOTIFY_CONNECTION,
	    notify_cb, srv, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)STATUS_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, STATUS_MEMORY_LIMIT_BYTES,
	    MHD_OPTION_THREAD_STACK_SIZE, STATUS_THREAD_STACK_BYTES,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_check_cb, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_END);
	if (srv->daemon == NULL) {
		close(fd);
		snprintf(err, errlen,
		    "[status] listen %s: libmicrohttpd "
		    "failed to start (flags 0x%x)",
		    sc->listen, flags);
		goto fail;
	}
	if (pthread_create(&srv->watchdog, NULL, watchdog_thread, srv) != 0) {
		snprintf(err, errlen,
		    "[status] cannot start the request watchdog thread");
		MHD_stop_daemon(srv->daemon);
		goto fail;
	}
	srv->watchdog_started = true;
	if (control_configure(cfg) < 0)
		log_err(MOD, "out of memory copying [status] media_dirs and "
			     "feed_hosts; API file and stream segments are "
			     "refused");
	log_info(MOD,
	    "Listen Live page on http://%s/ (also /operator, /api/status, "
	    "/api/events, /api/history, /metrics, /healthz)",
	    srv->listen_text);
	if (srv->token != NULL)
		log_info(MOD, "control API on: POST /api/segments, /api/skip, "
			      "/api/metadata, /api/reload (bearer token)");
	else
		log_info(MOD, "control API off: no [status] token, token_file "
			      "or token_env");
	return srv;
fail:
	free_token(srv->token);
	history_free(srv->history);
	status_doc_cache_free(srv->docs);
	pthread_cond_destroy(&srv->wake);
	status_slots_free(srv->slots);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	return NULL;
}

void
status_reconfigure(struct status_server *srv, const struct config *cfg)
{
	struct status_settings set;
	const char *tok = cfg->status.token;
	char *token = NULL, *old;
	bool had;

	if (srv == NULL)
		return;
	status_settings_from_config(cfg, &set);
	if (control_configure(cfg) < 0)
		log_err(MOD, "out of memory copying the new [status] "
			     "media_dirs and feed_hosts; the old ones stay");
	if (tok != NULL && tok[0] != '\0') {
		token = strdup(tok);
		if (token == NULL)
			log_err(MOD, "out of memory copying the new [status] "
				     "token; control is off until the next "
				     "reload");
	}
	pthread_mutex_lock(&srv->lock);
	srv->settings = set;
	old = srv->token;
	srv->token = token;
	pthread_mutex_unlock(&srv->lock);
	had = old != NULL;
	free_token(old);
	if (had != (token != NULL))
		log_info(MOD, "control API %s", token != NULL ? "on" : "off");
	status_doc_invalidate(srv->docs);
	/* Event streams send the new state at their next tick (they wait on
	 * their sockets, status_events.c); this wakes the watchdog only. */
	pthread_cond_broadcast(&srv->wake);
}

void
status_stop(struct status_server *srv)
{
	if (srv == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->wake);
	pthread_mutex_unlock(&srv->lock);
	/* Closes the listening socket and joins every connection thread;
	 * event streams return at once since stopping is set. */
	MHD_stop_daemon(srv->daemon);
	if (srv->watchdog_started)
		pthread_join(srv->watchdog, NULL);
	free_token(srv->token);
	history_free(srv->history);
	status_doc_cache_free(srv->docs);
	pthread_cond_destroy(&srv->wake);
	status_slots_free(srv->slots);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
