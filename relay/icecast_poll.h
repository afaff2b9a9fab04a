/* SPDX-License-Identifier: MIT */
/*
 * Icecast poller: a thread that reads each Icecast server's public
 * /status-json.xsl every status.poll_icecast (default 5 s), once per
 * host:port however many outputs use that server, and tells stats whether
 * the server answers, whether each of our mounts is listed with audio, how
 * many listeners it has, what title the server shows and which
 * Access-Control-Allow-Origin a browser gets with the mount (read from
 * the status answer's headers, or by one headers-only GET of the mount
 * each time it appears); and it reads the edge servers of [status]
 * listen_urls for their listener counts (stats_edge_set()). output.c's stall
 * watchdog reads the result back through stats_output_server_seen().
 *
 * The parser is pure and exposed for tests. The two bounded HTTP requests
 * live here too (libcurl), for output_icecast.c: the status fetch tells
 * "mountpoint in use" from "wrong password" (libshout reports both as a
 * failed login), and the metadata update replaces libshout's metadata
 * call, which is a blocking request without any timeout.
 *
 * Threads: icecast_poll_start/stop on the main thread; the poller runs on
 * its own thread. icecast_status_parse(), icecast_status_fetch() and
 * icecast_metadata_update() are thread-safe.
 */
#ifndef RELAY_ICECAST_POLL_H
#define RELAY_ICECAST_POLL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_config; /* config.h */

#define ICECAST_POLL_TEXT 256
/* The largest status document we accept (a server with thousands of
 * mounts is far below this). */
#define ICECAST_STATUS_MAX_BYTES (1024 * 1024)
#define ICECAST_POLL_DEFAULT_INTERVAL_NS (5 * INT64_C(1000000000))

/* What the server's status says about one mount. */
struct icecast_mount_status {
	size_t n_sources;  /* sources the server lists, ours or not */
	bool present;	   /* a source whose listenurl path is our mount */
	bool has_audio;	   /* present and carrying audio: Icecast parsed its
			      Vorbis headers (subtype or audio_samplerate/
			      _channels/_bitrate), or it is MP3 (server_type
			      audio/mpeg: no headers). A headerless Ogg source
			      plays nothing and has only audio_info, which
			      merely echoes the ice-audio-info header. */
	int64_t listeners; /* -1 when not present or not a number */
	char title[ICECAST_POLL_TEXT]; /* "" when none; control characters
					  dropped, valid UTF-8 */
	/* When the source connected, by the server's clock in whole
	 * seconds (stream_start_iso8601, else stream_start); 0 unknown. */
	int64_t stream_start_wall_ns;
};

/* Icecast lists a source for ~0.3 s after it left (measured on 2.4.4:
 * its stats lag its mounts), long enough for relay to connect in its
 * place and see the old source's listing as its own. A listing counts
 * for a connection made at connected_wall_ns only when it started no
 * more than ICECAST_LISTING_SLACK_NS before it (stream_start has whole
 * seconds, plus 1 s for the clocks), or when it is unknown (0), or once
 * the connection is ICECAST_LISTING_TRUST_NS old: a server whose clock
 * is behind ours shows on_air that much later, never not at all. */
#define ICECAST_LISTING_SLACK_NS (2 * INT64_C(1000000000))
#define ICECAST_LISTING_TRUST_NS (5 * INT64_C(1000000000))
bool icecast_listing_current(int64_t stream_start_wall_ns,
    int64_t connected_wall_ns, int64_t now_wall_ns);

/* Parses a /status-json.xsl body (json, len bytes, need not be
 * NUL-terminated) and fills *out for mount ("/live.ogg"; a missing leading
 * slash is tolerated). Handles 0 sources (no "source" key), 1 (an object)
 * and 2+ (an array). Returns 0 when the body is Icecast status JSON,
 * whether or not the mount is in it (see out->present), or -EBADMSG when
 * it is not valid JSON or has no "icestats" object (Icecast serves that
 * for ~0.2 s after startup): the caller should treat the server as
 * reachable and the mount as unknown. A raw control character in a title
 * (which Icecast does not escape) is accepted and dropped from the title.
 * -EINVAL for NULL arguments. Pure; stream_start is read in the C
 * locale's month and day names (relay never calls setlocale). */
int icecast_status_parse(const char *json, size_t len, const char *mount,
    struct icecast_mount_status *out);

/* GETs http(s)://host:port/status-json.xsl (https with tls's trust,
 * tls.h, through libcurl; http when tls is NULL): no proxy, no
 * redirects, certificate verified for https, timeout_ns for the whole
 * transfer, a body capped at ICECAST_STATUS_MAX_BYTES. cancel (may be
 * NULL) aborts the transfer within a few hundred ms once it turns true.
 * On success returns 0 and *body (owned, NUL-terminated, caller frees) and
 * *len. Errors: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH (cannot resolve
 * or reach), -EPROTO (TLS failure), -EBADMSG (the server answered, but
 * with an HTTP status other than 200 or an empty body: it is up, its
 * mounts are unknown), -EFBIG, -ECANCELED, -ENOMEM, -EIO; err then holds
 * a one-line reason. Blocks up to timeout_ns: call it from a worker
 * thread. */
int icecast_status_fetch(const char *host, int port,
    const struct tls_config *tls, int64_t timeout_ns, const atomic_bool *cancel,
    char **body, size_t *len, char *err, size_t errlen);

/* What icecast_metadata_update() sends; every pointer is borrowed. */
struct icecast_metadata_request {
	const char *host;
	int port;
	const struct tls_config *tls; /* NULL: plain http */
	const char *mount;	      /* "/live.ogg" */
	const char *user;	      /* NULL: "source" */
	const char *password;	      /* NULL: empty */
	const char *title;  /* UTF-8, control characters already dropped */
	const char *artist; /* NULL or "": not sent */
};

/* Asks the server to show a new title on the mount: GET
 * /admin/metadata?mode=updinfo&mount=..&song=..[&artist=..]&charset=UTF-8
 * (values URL-encoded) with HTTP Basic auth, the same settings as
 * icecast_status_fetch() and timeout_ns for the whole request. Returns 0
 * only when Icecast's reply says "Metadata update successful" (2.4.4 also
 * answers 200 for updates it ignores). Errors: those of
 * icecast_status_fetch() for the transfer, -EACCES (401/403), -EPROTO (any
 * other reply; err quotes Icecast's message), -EINVAL, -ENOSPC (title too
 * long for a URL). err never holds the password or the title. Blocks up to
 * timeout_ns; cancel (may be NULL) aborts it within a few hundred ms. */
int icecast_metadata_update(const struct icecast_metadata_request *r,
    int64_t timeout_ns, const atomic_bool *cancel, char *err, size_t errlen);

struct icecast_poll;

/* Starts the poller thread (interval_ns <= 0 means the 5 s default). It
 * loads libcurl only when a request needs it (https, a host name). Owned:
 * icecast_poll_stop(). NULL on error (out of memory, thread creation
 * failed), logged. Main thread. */
struct icecast_poll *icecast_poll_start(int64_t interval_ns);

/* Stops the thread (an in-flight fetch is aborted; returns within ~1 s,
 * 2 s at worst), joins and frees. NULL is a no-op. Main thread. */
void icecast_poll_stop(struct icecast_poll *p);

#endif
