/* SPDX-License-Identifier: MIT */
/*
 * The status server: serves the public Listen Live page (GET /, GET
 * /embed; status_page.h), the status API (GET /api/status, GET
 * /api/events as Server-Sent Events; status_json.h), Prometheus metrics
 * (GET /metrics; status_metrics.h), a health check (GET /healthz;
 * status_rules.h) and the control API (POST /api/segments, /api/skip,
 * /api/metadata, /api/reload, bearer token required; control.h), with
 * libmicrohttpd on the [status] listen address. This module owns the HTTP
 * side (listening, routing, limits, headers, the token check, the event
 * streams) and the settings every view reads. Everything it shows comes
 * from stats_snapshot(); it never takes a lock the audio path waits on.
 * Also the client side of "relay status" (status_client.c).
 * docs/status-api.md documents every endpoint and field.
 *
 * Threads: status_start/stop/reconfigure on the main thread; requests run
 * on libmicrohttpd's threads (one per connection). The pure functions are
 * thread-safe and allocate nothing.
 */
#ifndef RELAY_STATUS_H
#define RELAY_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"

struct status_server;

/* What the server keeps from a config (a reload frees configs); every
 * status view reads it. */
struct status_settings {
	char public_url[512]; /* "" = listener URLs from the outputs */
	char timezone[64];    /* [schedule] timezone; "" = the listener's own */
	int64_t poll_icecast_ns;
	/* [status] cors_origins separated by spaces, "*", or "" (none). */
	char cors_origins[1024];
};

/* Starts serving on cfg->status.listen (loopback unless written
 * otherwise), with a watchdog thread for the request deadline, and hands
 * the control API its [status] media_dirs and feed_hosts
 * (control_configure). Returns the server (owned: status_stop) or NULL with err
 * set to one line, e.g. "[status] listen 127.0.0.1:8080: Address already
 * in use". Call it only when cfg->status.enabled (listen = off gives NULL
 * and "[status] listen = off: not started"). cfg is borrowed for the call
 * only. Call stats_configure() first. */
struct status_server *status_start(
    const struct config *cfg, char *err, size_t errlen);

/* Binds cfg->status.listen now, for the next status_start() to use: a
 * relay started as root binds a privileged port before it drops to
 * [station] user. 0 (also when the server is off), or a negative errno
 * with err set as for status_start. Main thread. */
int status_bind_early(const struct config *cfg, char *err, size_t errlen);

/* Applies the reloadable settings of cfg (public_url, timezone, poll
 * interval, control token, cors_origins, and media_dirs and feed_hosts
 * through control_configure; the station texts come through
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

/* The Access-Control-Allow-Origin value for a request whose Origin header
 * is origin (NULL: none), given the settings' cors_origins list: "*" when
 * the list is "*", origin when listed (case-insensitive), else NULL (no
 * header). The result is list's or origin's storage. */
const char *status_cors_allow(const char *list, const char *origin);

/* Checks an Authorization header value (NULL when absent) against token
 * (NULL or "" when control is disabled). "Bearer" is case-insensitive. */
enum status_auth status_auth_check(
    const char *authorization, const char *token);

#endif
