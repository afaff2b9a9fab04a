/* SPDX-License-Identifier: MIT */
/*
 * The status server: the public Listen Live page (GET /, GET /embed), the
 * status API (GET /api/status, GET /api/events as Server-Sent Events),
 * Prometheus metrics (GET /metrics), a health check (GET /healthz) and the
 * control API (POST /api/segments, /api/skip, /api/metadata, /api/reload,
 * bearer token required; carried out by the main thread through
 * control.h), served with libmicrohttpd on the [status] listen address.
 * Everything it shows comes from stats_snapshot(); it never takes a lock the
 * audio path waits on. Also the client side of "relay status"
 * (status_client.c). docs/status-api.md documents every endpoint and field.
 *
 * The pure pieces (escaping, JSON, metrics, the on-air rule, the page
 * template) are exported for the unit tests and take a fabricated
 * struct stats_snapshot.
 *
 * Threads: status_start/stop/reconfigure on the main thread; requests run
 * on libmicrohttpd's threads (one per connection). The pure functions are
 * thread-safe and allocate only what they return.
 */
#ifndef RELAY_STATUS_H
#define RELAY_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"

/* The input counts as silent, so off air, after this long below the
 * [input] silence_threshold_dbfs. */
#define STATUS_SILENT_MAX_S 5.0

struct status_server;

/* What the server keeps from a config (a reload frees configs). */
struct status_settings {
	char public_url[512]; /* "" = listener URLs from the outputs */
	char timezone[64];    /* [schedule] timezone; "" = the listener's own */
	int64_t poll_icecast_ns;
};

/* Starts serving on cfg->status.listen (loopback unless written
 * otherwise). Returns the server (owned: status_stop) or NULL with err
 * set to one line, e.g. "[status] listen 127.0.0.1:8080: Address already
 * in use". Call it only when cfg->status.enabled (listen = off gives NULL
 * and "[status] listen = off: not started"). cfg is borrowed for the call
 * only. Call stats_configure() first. */
struct status_server *status_start(
    const struct config *cfg, char *err, size_t errlen);

/* Applies the reloadable settings of cfg (public_url, timezone, poll
 * interval, control token; the station texts come through
 * stats_configure). A changed listen address needs a restart. Thread-safe.
 * NULL srv is a no-op. */
void status_reconfigure(struct status_server *srv, const struct config *cfg);

/* Closes every connection (event streams end within about 1 s), stops the
 * threads and frees srv. NULL is a no-op. */
void status_stop(struct status_server *srv);

/* "relay status [--url URL] [-c FILE] [--json]": fetches URL/api/status
 * and prints one screen for an operator (or the raw JSON). Returns the
 * process exit code: 0 on air, 1 off air, 2 unreachable or bad answer.
 * argv[0] is "status". Main thread, before any other thread starts. */
int status_client_main(int argc, char **argv);

/* ---- Pure pieces, exported for the unit tests. ---- */

/* Copies the reloadable settings of cfg into *out. */
void status_settings_from_config(
    const struct config *cfg, struct status_settings *out);

/* The on-air rule: audio above the silence threshold is entering (input
 * flowing, silent for less than STATUS_SILENT_MAX_S) and at least one
 * Icecast output is connected while the poller saw its mount listed within
 * the last 2 * poll_icecast_ns + 5 s. False when the programme is
 * PROGRAMME_OFF_AIR. */
bool status_on_air(const struct stats_snapshot *s, int64_t poll_icecast_ns);

/* "live" | "segment" | "fallback" | "off_air" ("off_air" when !on_air). */
const char *status_state_name(const struct stats_snapshot *s, bool on_air);

/* Health: true when input flows and at least one output is connected;
 * otherwise false with the reasons ("input not flowing; no output
 * connected (main: Connection refused)") in reason. */
bool status_healthy(
    const struct stats_snapshot *s, char *reason, size_t reason_len);

/* HTML-escapes src (& < > " ') into dst (capacity len, always terminated
 * when len > 0), never cutting an entity or a UTF-8 sequence. Returns the
 * length the whole escaped text needs, without the NUL. */
size_t status_html_escape(char *dst, size_t len, const char *src);

/* The listener URL of output i: public_url + mount when set, else the
 * output's own URL. Returns buf, "" for file outputs. */
char *status_output_url(const struct stats_snapshot *s, size_t i,
    const struct status_settings *set, char *buf, size_t len);

/* The /api/status document (schema in docs/status-api.md). Owned: caller
 * frees with free(). NULL on OOM. */
char *status_json(const struct stats_snapshot *s,
    const struct status_settings *set, bool pretty);

/* The /metrics text (Prometheus exposition format 0.0.4). Owned: free().
 * NULL on OOM. */
char *status_metrics(
    const struct stats_snapshot *s, const struct status_settings *set);

/* Renders a page template: "{{key}}" becomes the HTML-escaped value,
 * "{{&key}}" the value as HTML built by relay (already escaped). Unknown
 * keys render as nothing. Owned: free(). NULL on OOM. */
char *status_render_page(const char *template_text,
    const struct stats_snapshot *s, const struct status_settings *set);

/* ---- The control API's pure pieces, exported for the unit tests. ---- */

struct control_request;

/* The largest request body a control endpoint reads; more gives 413. */
#define STATUS_CONTROL_MAX_BODY_BYTES ((size_t)16384)

enum status_control {
	STATUS_CONTROL_SEGMENTS = 0, /* POST /api/segments */
	STATUS_CONTROL_SKIP,	     /* POST /api/skip */
	STATUS_CONTROL_METADATA,     /* POST /api/metadata */
	STATUS_CONTROL_RELOAD,	     /* POST /api/reload */
};

/* What the bearer-token check says about a control request. */
enum status_auth {
	STATUS_AUTH_OK = 0,
	STATUS_AUTH_MISSING,  /* no Authorization header, or not Bearer: 401 */
	STATUS_AUTH_WRONG,    /* a bearer token that is not ours: 403 */
	STATUS_AUTH_DISABLED, /* no [status] token configured: 403 */
};

/* True when given equals expected. The time taken depends only on the
 * length of given (never on expected's bytes or length, nor on where the
 * first difference is). NULL equals nothing. */
bool status_token_equal(const char *given, const char *expected);

/* Checks an Authorization header value (NULL when absent) against token
 * (NULL or "" when control is disabled). "Bearer" is case-insensitive. */
enum status_auth status_auth_check(
    const char *authorization, const char *token);

/* Parses the JSON body (len bytes, need not be terminated) of endpoint ep
 * into *req (zeroed first; req->what set). now_wall_ns judges "at". 0, or
 * -EINVAL with err naming the field and what is allowed ("duration: must
 * be a string such as \"90s\" or a number of seconds"), or -EMSGSIZE when
 * len is over STATUS_CONTROL_MAX_BODY_BYTES. Skip and reload take an empty
 * body or {}. Strings are stored with control characters stripped. */
int status_control_parse(enum status_control ep, const char *body, size_t len,
    int64_t now_wall_ns, struct control_request *req, char *err, size_t errlen);

/* The request's meaning for the audit log, e.g. "play tone 30 s 'Breaking
 * news'", with any user:password in a URL shown as ***. Returns buf. */
char *status_control_describe(
    const struct control_request *req, char *buf, size_t len);

#endif
