/* SPDX-License-Identifier: MIT */
/*
 * Icecast poller: see icecast_poll.h. Each round takes one stats snapshot,
 * groups the icecast outputs by server (scheme, host, port), fetches each
 * server's /status-json.xsl once and reports every output of that server
 * to stats_output_set_server(). Requests go through libcurl, loaded the
 * first time one is made (dynlib.h).
 *
 * Icecast 2.4.4 quirks handled here (FIELD-NOTES 0.2, 2.5, 4.1, 4.2):
 * - icestats.source is absent with 0 mounts, an object with 1, an array
 *   with 2 or more;
 * - the body is invalid JSON for ~0.2 s after startup: that is
 *   "reachable, mount state unknown", never "mount missing" (which would
 *   make the output watchdog drop a healthy stream). A raw C0 control
 *   character in any title makes the body invalid for jq, but cJSON reads
 *   it (measured on Icecast 2.4.4), and util_sanitize_text() drops it;
 * - a source matches our mount by the path of its listenurl, because the
 *   host part is the server's configured <hostname>, not what we dial;
 * - a source that reconnected without Ogg headers is listed but plays
 *   nothing: it has no subtype and no audio_samplerate/_channels/_bitrate
 *   (those come from the stream's Vorbis headers). It still has
 *   audio_info, which only echoes the ice-audio-info header libshout
 *   sends at connect, so audio_info alone does not count as listed.
 * - a numeric-looking title may come out as a JSON number.
 *
 * The edges of [status] listen_urls are read the same way, after the
 * outputs' servers: their listeners go to stats_edge_set(), which adds
 * them up with the primary's (stats.h).
 *
 * Threads: the poller thread runs poll_thread() and everything it calls;
 * start/stop run on the main thread and meet it under p->lock.
 * icecast_status_parse(), icecast_status_fetch() and
 * icecast_metadata_update() keep no state.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "dynlib.h"
#include "icecast_poll.h"
#include "log.h"
#include "stats.h"
#include "tls.h"
#include "util.h"
#include "version.h"

#define POLL_MOD "icecast"
#define POLL_FETCH_TIMEOUT_NS (2 * NS_PER_SEC)
#define POLL_FETCH_MIN_TIMEOUT_NS (200 * NS_PER_MS)
#define POLL_MAX_SERVERS (CONFIG_MAX_OUTPUTS + STATS_MAX_EDGES)
#define POLL_KEY_LEN 300
/* A mount that just connected is polled every POLL_FRESH_NS until Icecast
 * lists it, for at most POLL_FRESH_WINDOW_NS (Icecast never lists a
 * <hidden> mount), and so is one still connecting in the first window
 * after start: on_air then shows within about a second of the first page,
 * not after a whole interval (5 s by default). */
#define POLL_FRESH_NS (500 * NS_PER_MS)
#define POLL_FRESH_WINDOW_NS (5 * NS_PER_SEC)
/* Icecast counts relay's own header GET of a mount (check_cors()) as a
 * listener until it notices the connection closed, about a second later;
 * a poll in this time after it leaves the mount's count as it was. */
#define OWN_GET_SETTLE_NS (3 * NS_PER_SEC)

enum server_health {
	SERVER_UNKNOWN = 0,
	SERVER_OK,
	SERVER_UNREACHABLE,
	SERVER_BAD_JSON,
	SERVER_NOT_STATUS, /* answered, but not 200 (a proxy's 403, ...) */
};

/* One server of this round and the snapshot outputs that stream to it. */
struct poll_server {
	char key[POLL_KEY_LEN]; /* "http://host:port", for logs */
	const char *host;
	int port;
	bool tls;
	/* The first member's trust (https only); points into snap. */
	struct tls_config tls_cfg;
	size_t member[CONFIG_MAX_OUTPUTS]; /* indexes into snap.outputs */
	size_t n_members;
};

/* A value remembered per key across rounds (memory_swap()): a server's
 * last health, so a server that stays down is logged once when it goes
 * down and once when it comes back, not every round; whether a mount was
 * warned about for a missing CORS header. */
struct keyed_memory {
	char key[POLL_KEY_LEN];
	int value;
};

struct icecast_poll {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;	    /* under lock */
	atomic_bool cancel; /* read by the fetch progress callback */
	int64_t interval_ns;
	struct stats_snapshot snap;
	struct poll_server servers[POLL_MAX_SERVERS];
	size_t n_servers;
	struct keyed_memory memory[POLL_MAX_SERVERS * 2]; /* server health */
	size_t n_memory;
	/* By stats slot: when relay's own header GET of the slot's mount
	 * (for registration serial) stops counting in Icecast's listeners. */
	struct {
		uint64_t serial;
		int64_t until_mono_ns;
	} own_get[CONFIG_MAX_OUTPUTS];
	/* By "http://host:port/mount": 1 when warned about for a missing
	 * CORS header (once, until the header is seen there: 0). */
	struct keyed_memory cors_warned[CONFIG_MAX_OUTPUTS * 2];
	size_t n_cors_warned;
};

struct fetch_buf {
	char *data;
	size_t len;
	size_t cap;
	bool too_big;
	bool headers_only; /* stop at the first body byte */
	bool stopped;	   /* ... and did */
};

/* Optional extras of http_get(): keep one response header, and stop at the
 * body (a mount is a live stream: its headers are all we want). */
struct http_peek {
	const char *header; /* "Access-Control-Allow-Origin" */
	bool headers_only;
	bool found;		       /* out */
	char value[ICECAST_POLL_TEXT]; /* out: trimmed, cut to fit */
};

#define CORS_HEADER "Access-Control-Allow-Origin"

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/* The path of a listenurl ("http://h:p/live.ogg" -> "/live.ogg"), or NULL
 * when it has none. */
static const char *
listenurl_path(const char *url)
{
	const char *p;

	p = strstr(url, "://");
	if (p == NULL)
		return url[0] == '/' ? url : NULL;
	return strchr(p + 3, '/');
}

/* Compares two mount paths, ignoring one leading slash on either. */
static bool
mount_equal(const char *a, const char *b)
{
	if (a[0] == '/')
		a++;
	if (b[0] == '/')
		b++;
	return strcmp(a, b) == 0;
}

static bool
has_value(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v != NULL && !cJSON_IsNull(v);
}

/* 2200-01-01T00:00:00Z: stream_start in ns stays far from overflow. */
#define STREAM_START_MAX_S INT64_C(7258118400)

/* "2026-11-27T06:37:07+0000" (or "Fri, 27 Nov 2026 06:37:07 +0000", all
 * that Icecast before 2.4.4 writes) in ns since the epoch; 0 when neither
 * parses. */
static int64_t
stream_start_read(const cJSON *src)
{
	static const struct {
		const char *key, *format;
	} forms[] = {
	    {"stream_start_iso8601", "%Y-%m-%dT%H:%M:%S%z"},
	    {"stream_start", "%a, %d %b %Y %H:%M:%S %z"},
	};
	const cJSON *v;
	const char *end;
	struct tm tm;
	long offset;
	time_t t;
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(forms); i++) {
		v = cJSON_GetObjectItemCaseSensitive(src, forms[i].key);
		if (!cJSON_IsString(v) || v->valuestring == NULL)
			continue;
		memset(&tm, 0, sizeof(tm));
		end = strptime(v->valuestring, forms[i].format, &tm);
		if (end == NULL || *end != '\0')
			continue;
		/* timegm() resets tm_gmtoff, which strptime's %z set. */
		offset = tm.tm_gmtoff;
		t = timegm(&tm);
		/* In ns it must fit an int64_t (up to 2262): a year past
		 * 2200, or before 1970, is no Icecast clock anyway. */
		if (t <= 0 || (int64_t)t - offset <= 0 ||
		    (int64_t)t - offset > STREAM_START_MAX_S)
			continue;
		return ((int64_t)t - offset) * NS_PER_SEC;
	}
	return 0;
}

bool
icecast_listing_current(int64_t stream_start_wall_ns, int64_t connected_wall_ns,
    int64_t now_wall_ns)
{
	if (stream_start_wall_ns <= 0 || connected_wall_ns <= 0)
		return true;
	if (now_wall_ns - connected_wall_ns >= ICECAST_LISTING_TRUST_NS)
		return true;
	return stream_start_wall_ns >=
	       connected_wall_ns - ICECAST_LISTING_SLACK_NS;
}

/* Fills *out from the source object src, which is our mount. */
static void
source_read(const cJSON *src, struct icecast_mount_status *out)
{
	const cJSON *v;

	out->present = true;
	/* subtype and audio_samplerate/_channels/_bitrate come from Icecast
	 * parsing the stream's own Vorbis headers. audio_info (and the
	 * plain samplerate/channels/quality) only echo the ice-audio-info
	 * header the source sent when it connected, which libshout sends
	 * for us: a headerless source still has them (measured), so they
	 * prove nothing. An MP3 source has neither (Icecast 2.4.4 parses
	 * no MP3 headers) and needs no headers to play: audio/mpeg is
	 * audio. */
	v = cJSON_GetObjectItemCaseSensitive(src, "server_type");
	out->has_audio = has_value(src, "subtype") ||
			 has_value(src, "audio_samplerate") ||
			 has_value(src, "audio_channels") ||
			 has_value(src, "audio_bitrate") ||
			 (cJSON_IsString(v) && v->valuestring != NULL &&
			     strcmp(v->valuestring, "audio/mpeg") == 0);
	out->stream_start_wall_ns = stream_start_read(src);
	v = cJSON_GetObjectItemCaseSensitive(src, "listeners");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0.0 && v->valuedouble < 9e15)
		out->listeners = (int64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(src, "title");
	if (cJSON_IsString(v) && v->valuestring != NULL) {
		util_sanitize_text(
		    out->title, sizeof(out->title), v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		/* The XSLT prints a title such as "1984" as a number. */
		snprintf(
		    out->title, sizeof(out->title), "%.15g", v->valuedouble);
	}
}

static bool
source_is(const cJSON *src, const char *mount)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, "listenurl");
	const char *path;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return false;
	path = listenurl_path(v->valuestring);
	return path != NULL && mount_equal(path, mount);
}

/* Looks for mount among the sources of a parsed icestats object. */
static void
status_find(
    const cJSON *icestats, const char *mount, struct icecast_mount_status *out)
{
	const cJSON *sources, *src;

	memset(out, 0, sizeof(*out));
	out->listeners = -1;
	sources = cJSON_GetObjectItemCaseSensitive(icestats, "source");
	if (cJSON_IsObject(sources)) {
		out->n_sources = 1;
		if (source_is(sources, mount))
			source_read(sources, out);
	} else if (cJSON_IsArray(sources)) {
		cJSON_ArrayForEach(src, sources)
		{
			if (!cJSON_IsObject(src))
				continue;
			out->n_sources++;
			if (!out->present && source_is(src, mount))
				source_read(src, out);
		}
	}
}

/* Parses the document; on success *root is owned by the caller and
 * *icestats points into it. */
static int
status_doc(const char *json, size_t len, cJSON **root, const cJSON **icestats)
{
	cJSON *r;
	const cJSON *ice;

	r = cJSON_ParseWithLength(json, len);
	if (r == NULL)
		return -EBADMSG;
	ice = cJSON_GetObjectItemCaseSensitive(r, "icestats");
	if (!cJSON_IsObject(ice)) {
		cJSON_Delete(r);
		return -EBADMSG;
	}
	*root = r;
	*icestats = ice;
	return 0;
}

int
icecast_status_parse(const char *json, size_t len, const char *mount,
    struct icecast_mount_status *out)
{
	cJSON *root;
	const cJSON *icestats;
	int rc;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->listeners = -1;
	if (json == NULL || mount == NULL)
		return -EINVAL;
	rc = status_doc(json, len, &root, &icestats);
	if (rc < 0)
		return rc;
	status_find(icestats, mount, out);
	cJSON_Delete(root);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fetching                                                            */
/* ------------------------------------------------------------------ */

static size_t
fetch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch_buf *b = arg;
	size_t n = size * nmemb; /* libcurl: size is always 1 */
	size_t cap;
	char *data;

	if (b->headers_only) {
		b->stopped = true;
		return 0; /* ends the transfer (CURLE_WRITE_ERROR) */
	}
	if (n > ICECAST_STATUS_MAX_BYTES - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap > 0 ? b->cap : 16384;
		while (cap < b->len + n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (data == NULL)
			return 0;
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Keeps the value of the header http_peek asks for. */
static size_t
fetch_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_peek *pk = arg;
	size_t n = size * nmemb, name_len = strlen(pk->header), vlen;
	const char *v, *end;

	if (n <= name_len || line[name_len] != ':' ||
	    strncasecmp(line, pk->header, name_len) != 0)
		return n;
	v = line + name_len + 1;
	end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
			      end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
	if (vlen >= sizeof(pk->value))
		vlen = sizeof(pk->value) - 1;
	memcpy(pk->value, v, vlen);
	pk->value[vlen] = '\0';
	pk->found = true;
	return n;
}

static int
fetch_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_bool *cancel = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancel != NULL && atomic_load(cancel) ? 1 : 0;
}

/* Maps a failed transfer to a negative errno and a reason. */
static int
fetch_error(CURL *c, CURLcode cc, const struct fetch_buf *b,
    const char *curl_err, const char *url, char *err, size_t errlen)
{
	long os_errno = 0;
	const char *why =
	    curl_err[0] != '\0' ? curl_err : dynlib_curl.easy_strerror(cc);

	if (dynlib_curl.easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) !=
	    CURLE_OK)
		os_errno = 0;
	/* An if chain, not a switch: CURLcode has ~100 values and the house
	 * flags (-Wswitch-enum) want every one of them listed. */
	if (cc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(err, errlen, "%s: cannot resolve host: %s", url, why);
		return -EHOSTUNREACH;
	}
	if (cc == CURLE_COULDNT_CONNECT) {
		snprintf(err, errlen, "%s: cannot connect: %s", url, why);
		if (os_errno == ECONNREFUSED)
			return -ECONNREFUSED;
		return os_errno > 0 ? -(int)os_errno : -EHOSTUNREACH;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "%s: no answer in time: %s", url, why);
		return -ETIMEDOUT;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "%s: cancelled", url);
		return -ECANCELED;
	}
	if (cc == CURLE_FILESIZE_EXCEEDED ||
	    (cc == CURLE_WRITE_ERROR && b->too_big)) {
		snprintf(err, errlen, "%s: status larger than %d bytes", url,
		    ICECAST_STATUS_MAX_BYTES);
		return -EFBIG;
	}
	if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR) {
		snprintf(err, errlen, "%s: out of memory", url);
		return -ENOMEM;
	}
	if (cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CIPHER ||
	    cc == CURLE_SSL_CACERT_BADFILE) {
		snprintf(err, errlen, "%s: TLS failed: %s", url, why);
		return -EPROTO;
	}
	snprintf(err, errlen, "%s: %s", url, why);
	return os_errno > 0 ? -(int)os_errno : -EIO;
}

/* The base URL of a server: "http://host:port" (an IPv6 literal gets
 * brackets). */
static void
server_url(char *buf, size_t len, const char *host, int port,
    const struct tls_config *tls)
{
	const char *br_open = strchr(host, ':') != NULL ? "[" : "";
	const char *br_close = br_open[0] != '\0' ? "]" : "";

	snprintf(buf, len, "%s://%s%s%s:%d", tls ? "https" : "http", br_open,
	    host, br_close, port);
}

/*
 * One GET: no proxy, no redirects, certificate verified for
 * https, timeout_ns for the whole transfer (connect included), a body
 * capped at ICECAST_STATUS_MAX_BYTES, Basic auth when user is not NULL.
 * log_url names the request in messages (never with credentials). Stores
 * the HTTP status in *code and the body (owned, NUL-terminated, may be
 * NULL when empty) in *body / *len. pk (may be NULL) keeps one header
 * and may stop at the body. 0, or a negative errno from fetch_error()
 * when the transfer itself failed. libcurl is loaded on the first call.
 */
static int
http_get(const char *url, const char *log_url, const struct tls_config *tls,
    const char *user, const char *password, int64_t timeout_ns,
    const atomic_bool *cancel, struct http_peek *pk, long *code, char **body,
    size_t *len, char *err, size_t errlen)
{
	struct fetch_buf b = {0};
	char curl_err[CURL_ERROR_SIZE];
	long timeout_ms;
	CURLcode cc = CURLE_OK;
	CURL *c;
	int rc;

	*code = 0;
	*body = NULL;
	*len = 0;
	rc = dynlib_curl_init(curl_err, sizeof(curl_err));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", log_url, curl_err);
		return rc;
	}
	c = dynlib_curl.easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", log_url);
		return -ENOMEM;
	}
	timeout_ms = (long)(timeout_ns / NS_PER_MS);
	if (timeout_ms < 1)
		timeout_ms = 1;
	curl_err[0] = '\0';
	/* Every setopt below is checked in one chain: the first failure
	 * stops the chain and is reported like a transfer error. */
	if ((cc = dynlib_curl.easy_setopt(c, CURLOPT_URL, url)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_PROXY, "")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
		 (curl_off_t)ICECAST_STATUS_MAX_BYTES)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_USERAGENT, "relay/" RELAY_VERSION)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_WRITEFUNCTION, fetch_write)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_WRITEDATA, &b)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L)) !=
		CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(
		 c, CURLOPT_XFERINFOFUNCTION, fetch_progress)) != CURLE_OK ||
	    (cc = dynlib_curl.easy_setopt(c, CURLOPT_XFERINFODATA, cancel)) !=
		CURLE_OK) {
		rc = fetch_error(c, cc, &b, curl_err, log_url, err, errlen);
		goto fail;
	}
	if (tls != NULL) {
		char why[256];
		rc = tls_curl_setup(c, tls, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", log_url, why);
			goto fail;
		}
	}
	if (user != NULL &&
	    ((cc = dynlib_curl.easy_setopt(
		  c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC)) != CURLE_OK ||
		(cc = dynlib_curl.easy_setopt(c, CURLOPT_USERNAME, user)) !=
		    CURLE_OK ||
		(cc = dynlib_curl.easy_setopt(c, CURLOPT_PASSWORD,
		     password != NULL ? password : "")) != CURLE_OK)) {
		rc = fetch_error(c, cc, &b, curl_err, log_url, err, errlen);
		goto fail;
	}
	if (pk != NULL) {
		pk->found = false;
		pk->value[0] = '\0';
		b.headers_only = pk->headers_only;
		if ((cc = dynlib_curl.easy_setopt(c, CURLOPT_HEADERFUNCTION,
			 fetch_header)) != CURLE_OK ||
		    (cc = dynlib_curl.easy_setopt(c, CURLOPT_HEADERDATA, pk)) !=
			CURLE_OK) {
			rc = fetch_error(
			    c, cc, &b, curl_err, log_url, err, errlen);
			goto fail;
		}
	}
	cc = dynlib_curl.easy_perform(c);
	if (cc == CURLE_WRITE_ERROR && b.stopped)
		cc = CURLE_OK; /* we cut it at the body */
	if (cc != CURLE_OK) {
		rc = fetch_error(c, cc, &b, curl_err, log_url, err, errlen);
		goto fail;
	}
	if (dynlib_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, code) !=
	    CURLE_OK)
		*code = 0;
	dynlib_curl.easy_cleanup(c);
	*body = b.data;
	*len = b.len;
	return 0;
fail:
	dynlib_curl.easy_cleanup(c);
	free(b.data);
	return rc;
}

/* Edges ([status] listen_urls) are public listener URLs: https ones are
 * checked against the system store. */
static const struct tls_config edge_trust;

/* icecast_status_fetch() that also keeps a header of the answer (pk may
 * be NULL). */
static int
status_fetch(const char *host, int port, const struct tls_config *tls,
    int64_t timeout_ns, const atomic_bool *cancel, struct http_peek *pk,
    char **body, size_t *len, char *err, size_t errlen)
{
	char base[400], url[450];
	long code = 0;
	int rc;

	*body = NULL;
	*len = 0;
	if (host == NULL || host[0] == '\0' || port <= 0 || port > 65535) {
		snprintf(err, errlen, "no Icecast host:port to ask");
		return -EINVAL;
	}
	server_url(base, sizeof(base), host, port, tls);
	snprintf(url, sizeof(url), "%s/status-json.xsl", base);
	rc = http_get(url, url, tls, NULL, NULL, timeout_ns, cancel, pk, &code,
	    body, len, err, errlen);
	if (rc < 0)
		return rc;
	if (code != 200 || *body == NULL) {
		/* The server (or a proxy in front of it) answered, so it is
		 * not down; it just did not give us its status. */
		if (code != 200)
			snprintf(err, errlen,
			    "%s: HTTP status %ld (expected 200)", url, code);
		else
			snprintf(err, errlen, "%s: empty answer", url);
		free(*body);
		*body = NULL;
		*len = 0;
		return -EBADMSG;
	}
	return 0;
}

int
icecast_status_fetch(const char *host, int port, const struct tls_config *tls,
    int64_t timeout_ns, const atomic_bool *cancel, char **body, size_t *len,
    char *err, size_t errlen)
{
	return status_fetch(
	    host, port, tls, timeout_ns, cancel, NULL, body, len, err, errlen);
}

/* GETs a mount for its headers only: Icecast adds a <mount>'s own
 * <http-headers> there and nowhere else. The body (live audio) is cut at
 * its first byte, but Icecast counts us as a listener for that moment.
 * 0 with pk filled, or a negative errno with err set (-EBADMSG: not 200). */
static int
mount_headers(const struct poll_server *s, const char *mount,
    int64_t timeout_ns, const atomic_bool *cancel, struct http_peek *pk,
    char *err, size_t errlen)
{
	char base[400], url[700];
	char *body = NULL;
	size_t len = 0;
	long code = 0;
	int rc;

	server_url(
	    base, sizeof(base), s->host, s->port, s->tls ? &s->tls_cfg : NULL);
	snprintf(url, sizeof(url), "%s%s", base, mount);
	rc = http_get(url, url, s->tls ? &s->tls_cfg : NULL, NULL, NULL,
	    timeout_ns, cancel, pk, &code, &body, &len, err, errlen);
	free(body);
	if (rc < 0)
		return rc;
	if (code != 200) {
		snprintf(err, errlen, "%s: HTTP status %ld", url, code);
		return -EBADMSG;
	}
	return 0;
}

/* Appends "&key=value" to buf with value percent-encoded: every byte but
 * RFC 3986's unreserved ones (what curl_easy_escape() does, without
 * loading libcurl for it). -ENOSPC when it does not fit. */
static int
query_add(char *buf, size_t len, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = strlen(buf);
	const unsigned char *v;
	int n;

	n = snprintf(buf + used, len - used, "&%s=", key);
	if (n < 0 || (size_t)n >= len - used)
		return -ENOSPC;
	used += (size_t)n;
	for (v = (const unsigned char *)value; *v != '\0'; v++) {
		bool keep = (*v >= 'A' && *v <= 'Z') ||
			    (*v >= 'a' && *v <= 'z') ||
			    (*v >= '0' && *v <= '9') || *v == '-' ||
			    *v == '.' || *v == '_' || *v == '~';

		if (used + (keep ? 1 : 3) >= len)
			return -ENOSPC;
		if (keep) {
			buf[used++] = (char)*v;
		} else {
			buf[used++] = '%';
			buf[used++] = hex[*v >> 4];
			buf[used++] = hex[*v & 15];
		}
	}
	buf[used] = '\0';
	return 0;
}

/* The text of <message>...</message> in an Icecast admin reply, control
 * characters dropped; "" when there is none. */
static void
admin_message(const char *body, char *out, size_t outlen)
{
	const char *a, *b;
	char tmp[256];
	size_t n;

	out[0] = '\0';
	if (body == NULL || (a = strstr(body, "<message>")) == NULL)
		return;
	a += strlen("<message>");
	b = strstr(a, "</message>");
	if (b == NULL)
		return;
	n = (size_t)(b - a);
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, a, n);
	tmp[n] = '\0';
	util_sanitize_text(out, outlen, tmp);
}

int
icecast_metadata_update(const struct icecast_metadata_request *r,
    int64_t timeout_ns, const atomic_bool *cancel, char *err, size_t errlen)
{
	char base[400], url[4096], log_url[700], msg[256];
	char *body = NULL;
	size_t len = 0;
	long code = 0;
	int rc;

	if (r == NULL || r->host == NULL || r->host[0] == '\0' ||
	    r->port <= 0 || r->port > 65535 || r->mount == NULL ||
	    r->title == NULL) {
		snprintf(
		    err, errlen, "no Icecast host:port or mount to update");
		return -EINVAL;
	}
	server_url(base, sizeof(base), r->host, r->port, r->tls);
	snprintf(url, sizeof(url), "%s/admin/metadata?mode=updinfo", base);
	rc = query_add(url, sizeof(url), "mount", r->mount);
	if (rc == 0)
		rc = query_add(url, sizeof(url), "song", r->title);
	if (rc == 0 && r->artist != NULL && r->artist[0] != '\0')
		rc = query_add(url, sizeof(url), "artist", r->artist);
	if (rc == 0)
		rc = query_add(url, sizeof(url), "charset", "UTF-8");
	if (rc < 0) {
		snprintf(err, errlen, "cannot build the metadata request: %s",
		    rc == -ENOMEM ? "out of memory" : "title too long");
		return rc;
	}
	/* Messages name the endpoint, never the title or the credentials. */
	snprintf(log_url, sizeof(log_url), "%s/admin/metadata (mount %s)", base,
	    r->mount);
	rc = http_get(url, log_url, r->tls,
	    r->user != NULL ? r->user : "source", r->password, timeout_ns,
	    cancel, NULL, &code, &body, &len, err, errlen);
	if (rc < 0)
		return rc;
	admin_message(body, msg, sizeof(msg));
	/* Icecast 2.4.4 answers 200 and <return>1</return> also when it did
	 * not apply the update ("Mountpoint will not accept URL updates"),
	 * so only its success message counts (FIELD-NOTES 4.3). */
	if (code == 200 && strstr(msg, "successful") != NULL) {
		free(body);
		return 0;
	}
	if (code == 401 || code == 403) {
		snprintf(err, errlen,
		    "%s: HTTP %ld: the server refused the credentials%s%s",
		    log_url, code, msg[0] != '\0' ? ": " : "", msg);
		rc = -EACCES;
	} else {
		snprintf(err, errlen, "%s: HTTP %ld: %s", log_url, code,
		    msg[0] != '\0' ? msg : "not applied (no success message)");
		rc = -EPROTO;
	}
	free(body);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The poller thread                                                   */
/* ------------------------------------------------------------------ */

/* Records value for key in m (*n of cap used); returns the previous one,
 * 0 when key is new. Full (servers and mounts come and go across
 * reloads): the oldest is forgotten. */
static int
memory_swap(
    struct keyed_memory *m, size_t *n, size_t cap, const char *key, int value)
{
	int old;
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(m[i].key, key) == 0) {
			old = m[i].value;
			m[i].value = value;
			return old;
		}
	}
	if (*n == cap) {
		memmove(&m[0], &m[1], sizeof(m[0]) * (cap - 1));
		(*n)--;
	}
	util_strlcpy(m[*n].key, key, POLL_KEY_LEN);
	m[*n].value = value;
	(*n)++;
	return 0;
}

/* Records health for key; returns the previous one (SERVER_UNKNOWN: 0). */
static enum server_health
remember(struct icecast_poll *p, const char *key, enum server_health h)
{
	return (enum server_health)memory_swap(
	    p->memory, &p->n_memory, RELAY_ARRAY_LEN(p->memory), key, (int)h);
}

/* A path kept in stats ("" = unset) as tls.h wants it. */
static char *
opt_path(char *path)
{
	return path[0] != '\0' ? path : NULL;
}

/* Groups this round's icecast outputs by server. */
static void
group_servers(struct icecast_poll *p)
{
	struct poll_server *s;
	size_t i, j;

	p->n_servers = 0;
	for (i = 0; i < p->snap.n_outputs; i++) {
		const struct stats_output *so = &p->snap.outputs[i];
		bool tls;

		if (strcmp(so->type, "icecast") != 0 || so->host[0] == '\0' ||
		    so->port <= 0)
			continue;
		tls = so->tls;
		s = NULL;
		for (j = 0; j < p->n_servers; j++) {
			if (p->servers[j].port == so->port &&
			    p->servers[j].tls == tls &&
			    strcmp(p->servers[j].host, so->host) == 0) {
				s = &p->servers[j];
				break;
			}
		}
		if (s == NULL) {
			if (p->n_servers == POLL_MAX_SERVERS)
				continue;
			s = &p->servers[p->n_servers++];
			s->host = so->host;
			s->port = so->port;
			s->tls = tls;
			s->tls_cfg.ca_file =
			    opt_path(p->snap.outputs[i].tls_ca_file);
			s->tls_cfg.ca_dir =
			    opt_path(p->snap.outputs[i].tls_ca_dir);
			s->tls_cfg.client_cert =
			    opt_path(p->snap.outputs[i].tls_client_cert);
			s->tls_cfg.min_version =
			    (enum tls_version)so->tls_min_version;
			s->n_members = 0;
			snprintf(s->key, sizeof(s->key), "%s://%s:%d",
			    tls ? "https" : "http", so->host, so->port);
		}
		s->member[s->n_members++] = i;
	}
}

/* Logs a change of a server's health (once per change). */
static void
log_health(struct icecast_poll *p, const struct poll_server *s,
    enum server_health h, const char *why)
{
	enum server_health old = remember(p, s->key, h);

	if (old == h)
		return;
	switch (h) {
	case SERVER_UNREACHABLE:
		log_warn(POLL_MOD,
		    "%s: status unavailable (%s); its mounts "
		    "count as not listed; asking again every "
		    "%.3g s",
		    s->key, why, (double)p->interval_ns / 1e9);
		break;
	case SERVER_BAD_JSON:
		log_warn(POLL_MOD,
		    "%s: status-json.xsl is not valid JSON (a "
		    "title with a control character?); mount "
		    "state unknown, keeping the last known",
		    s->key);
		break;
	case SERVER_NOT_STATUS:
		log_warn(POLL_MOD,
		    "%s: the server answers but does not show its status "
		    "(%s; a proxy or an access rule in front of "
		    "status-json.xsl?); mount state unknown, keeping the "
		    "last known, so the stall watchdog cannot use it; "
		    "asking again every %.3g s",
		    s->key, why, (double)p->interval_ns / 1e9);
		break;
	case SERVER_OK:
		if (old != SERVER_UNKNOWN)
			log_info(POLL_MOD, "%s: status readable again", s->key);
		else
			log_debug(POLL_MOD, "%s: status readable", s->key);
		break;
	case SERVER_UNKNOWN:
		break;
	}
}

/* The server answered but told us nothing about its mounts: report each
 * output as reachable with its last known listing. */
static void
keep_last_known(struct icecast_poll *p, const struct poll_server *s)
{
	const struct stats_output *so;
	size_t i;

	for (i = 0; i < s->n_members; i++) {
		so = &p->snap.outputs[s->member[i]];
		stats_output_set_server(so->id, so->serial, true,
		    so->mount_listed, so->listeners, NULL,
		    so->listing_start_wall_ns);
	}
}

/* Whether Icecast may still count relay's own header GET of so's mount. */
static bool
own_get_counted(const struct icecast_poll *p, const struct stats_output *so)
{
	return so->id >= 0 && so->id < CONFIG_MAX_OUTPUTS &&
	       p->own_get[so->id].serial == so->serial &&
	       util_now_mono_ns() < p->own_get[so->id].until_mono_ns;
}

/* missing: records that key+mount lacks the header and returns true the
 * first time (warn then), false after; !missing: the header is there, so
 * its loss is news again. */
static bool
cors_warned_once(
    struct icecast_poll *p, const char *key, const char *mount, bool missing)
{
	char km[POLL_KEY_LEN];

	snprintf(km, sizeof(km), "%s%s", key, mount);
	return memory_swap(p->cors_warned, &p->n_cors_warned,
		   RELAY_ARRAY_LEN(p->cors_warned), km, missing) == 0 &&
	       missing;
}

/*
 * Reports the Access-Control-Allow-Origin a browser gets with the mount of
 * so (listed this round). global is the one on the status document: one
 * of icecast.xml's global <http-headers>, which Icecast sends with every
 * answer, so it holds for the mount too at no cost. Without one, the mount
 * may have its own: GET it once per appearance of the mount (stats forgets
 * the answer when the mount goes), not every round. Missing -> one warning
 * per mount (cors_warned_once()), until the header has been seen there.
 */
static void
check_cors(struct icecast_poll *p, const struct poll_server *s,
    const struct stats_output *so, const char *global, int64_t timeout_ns)
{
	struct http_peek pk = {.header = CORS_HEADER, .headers_only = true};
	const char *allow = global;
	char err[512];

	if (allow == NULL) {
		int rc;

		if (so->cors_known)
			return;
		rc = mount_headers(s, so->mount, timeout_ns, &p->cancel, &pk,
		    err, sizeof(err));
		/* Counted as a listener for a moment, answered or not
		 * (cut, timed out), unless Icecast refused it (-EBADMSG:
		 * not 200, e.g. 401 on a mount whose listeners log in).
		 * Refused every round, a GET taken as counted would leave
		 * the mount's count as it was for good when polls come
		 * less than OWN_GET_SETTLE_NS apart. */
		if (rc != -EBADMSG && so->id >= 0 &&
		    so->id < CONFIG_MAX_OUTPUTS) {
			p->own_get[so->id].serial = so->serial;
			p->own_get[so->id].until_mono_ns =
			    util_now_mono_ns() + OWN_GET_SETTLE_NS;
		}
		if (rc < 0) {
			log_debug(POLL_MOD,
			    "%s%s: cannot read its headers (%s); asking "
			    "again next round",
			    s->key, so->mount, err);
			return;
		}
		allow = pk.found ? pk.value : "";
	}
	if (allow[0] == '\0' &&
	    !(so->cors_known && so->cors_allow_origin[0] == '\0')) {
		if (cors_warned_once(p, s->key, so->mount, true))
			log_warn(POLL_MOD,
			    "%s%s: Icecast sends no " CORS_HEADER
			    " with it, so the Listen Live page cannot play "
			    "it on Safari and iPhones (no Ogg there: the "
			    "page's player fetch()es the stream); add "
			    "<http-headers> to icecast.xml "
			    "(docs/operations.md)",
			    s->key, so->mount);
		else
			log_debug(POLL_MOD,
			    "%s%s: still no " CORS_HEADER " (warned before)",
			    s->key, so->mount);
	} else if (allow[0] != '\0') {
		cors_warned_once(p, s->key, so->mount, false);
	}
	stats_output_set_cors(so->id, so->serial, allow);
}

/* Whether so sends an MP3 encoding: the Listen Live page never plays it
 * (only links it), so its CORS headers do not matter. */
static bool
mp3_output(const struct stats_snapshot *snap, const struct stats_output *so)
{
	size_t i;

	for (i = 0; i < snap->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		if (strcmp(snap->encodings[i].name, so->encoding) == 0)
			return strcmp(snap->encodings[i].codec, "mp3") == 0;
	}
	return false;
}

/* Fetches one server's status and reports each of its outputs. */
static void
poll_server(
    struct icecast_poll *p, const struct poll_server *s, int64_t timeout_ns)
{
	struct http_peek pk = {.header = CORS_HEADER};
	struct icecast_mount_status st;
	const struct stats_output *so;
	const cJSON *icestats = NULL;
	cJSON *root = NULL;
	char *body = NULL;
	size_t len = 0, i;
	char err[512];
	int rc;

	rc = status_fetch(s->host, s->port, s->tls ? &s->tls_cfg : NULL,
	    timeout_ns, &p->cancel, &pk, &body, &len, err, sizeof(err));
	if (rc == -ECANCELED)
		return;
	if (rc == -EBADMSG) {
		/* It answered (so it is not frozen) but not with its status:
		 * like invalid JSON, nothing is known about the mounts. */
		log_health(p, s, SERVER_NOT_STATUS, err);
		keep_last_known(p, s);
		return;
	}
	if (rc < 0) {
		log_health(p, s, SERVER_UNREACHABLE, err);
		for (i = 0; i < s->n_members; i++) {
			so = &p->snap.outputs[s->member[i]];
			stats_output_set_server(
			    so->id, so->serial, false, false, -1, NULL, 0);
		}
		return;
	}
	rc = status_doc(body, len, &root, &icestats);
	free(body);
	if (rc < 0) {
		/* Reachable, but nothing is known about the mounts: keep the
		 * last known state, so that a server answering garbage does
		 * not make the output watchdog drop healthy streams (a
		 * frozen server fails the fetch instead). */
		log_health(p, s, SERVER_BAD_JSON, NULL);
		keep_last_known(p, s);
		return;
	}
	log_health(p, s, SERVER_OK, NULL);
	for (i = 0; i < s->n_members; i++) {
		bool listed;

		so = &p->snap.outputs[s->member[i]];
		status_find(icestats, so->mount, &st);
		listed = st.present && st.has_audio;
		if (st.present && !st.has_audio)
			log_debug(POLL_MOD,
			    "%s%s: listed without audio "
			    "headers (plays nothing)",
			    s->key, so->mount);
		/* The previous source's listing, still shown just after we
		 * took its place, is not ours (the on-air rule checks it
		 * again against the connection it sees). */
		if (listed && so->connected &&
		    !icecast_listing_current(st.stream_start_wall_ns,
			so->since_wall_ns, util_now_wall_ns())) {
			log_debug(POLL_MOD,
			    "%s%s: listed since before our connection: the "
			    "previous source's listing",
			    s->key, so->mount);
			listed = false;
		}
		stats_output_set_server(so->id, so->serial, true, listed,
		    own_get_counted(p, so) ? STATS_LISTENERS_KEEP
					   : st.listeners,
		    listed ? st.title : NULL, st.stream_start_wall_ns);
		if (listed && !atomic_load(&p->cancel) &&
		    !mp3_output(&p->snap, so))
			check_cors(
			    p, s, so, pk.found ? pk.value : NULL, timeout_ns);
	}
	cJSON_Delete(root);
}

static bool
same_server(const struct stats_edge *a, const struct stats_edge *b)
{
	return a->port == b->port && a->tls == b->tls &&
	       strcmp(a->host, b->host) == 0;
}

/* Logs a change of an edge server's health, once per change. */
static void
log_edge_health(struct icecast_poll *p, const char *key, enum server_health h,
    const char *why)
{
	enum server_health old = remember(p, key, h);

	if (old == h)
		return;
	if (h == SERVER_OK) {
		if (old != SERVER_UNKNOWN)
			log_info(POLL_MOD, "%s: status readable again", key);
		return;
	}
	log_warn(POLL_MOD,
	    "%s: status unavailable (%s); its listeners are not counted "
	    "until it answers; asking again every %.3g s",
	    key, why != NULL ? why : "not Icecast status JSON",
	    (double)p->interval_ns / 1e9);
}

/*
 * Reads the status of every edge server ([status] listen_urls), once per
 * host:port however many of its mounts are listed, and reports each edge
 * URL to stats_edge_set(). An edge that does not answer with its status
 * counts as unreachable: its listeners are unknown.
 */
static void
poll_edges(struct icecast_poll *p, int64_t timeout_ns)
{
	struct icecast_mount_status st;
	const struct stats_edge *e, *f;
	const cJSON *icestats = NULL;
	char key[POLL_KEY_LEN + 8], err[512], *body;
	cJSON *root;
	size_t i, j, len;
	bool done;
	int rc;

	for (i = 0; i < p->snap.n_edges; i++) {
		if (atomic_load(&p->cancel))
			return;
		e = &p->snap.edges[i];
		done = false;
		for (j = 0; j < i && !done; j++)
			done = same_server(&p->snap.edges[j], e);
		if (done)
			continue; /* reported with an earlier edge */
		snprintf(key, sizeof(key), "edge %s://%s:%d",
		    e->tls ? "https" : "http", e->host, e->port);
		body = NULL;
		root = NULL;
		rc = icecast_status_fetch(e->host, e->port,
		    e->tls ? &edge_trust : NULL, timeout_ns, &p->cancel, &body,
		    &len, err, sizeof(err));
		if (rc == -ECANCELED)
			return;
		if (rc == 0) {
			rc = status_doc(body, len, &root, &icestats);
			free(body);
			if (rc < 0)
				err[0] = '\0';
		}
		log_edge_health(p, key,
		    rc == 0 ? SERVER_OK : SERVER_UNREACHABLE,
		    rc < 0 && err[0] != '\0' ? err : NULL);
		for (j = i; j < p->snap.n_edges; j++) {
			f = &p->snap.edges[j];
			if (!same_server(f, e))
				continue;
			if (rc < 0) {
				stats_edge_set(f->url, false, false, -1);
				continue;
			}
			status_find(icestats, f->mount, &st);
			stats_edge_set(f->url, true, st.present && st.has_audio,
			    st.listeners);
		}
		cJSON_Delete(root);
	}
}

/* Waits until deadline (monotonic) or stop. Returns true on stop. */
static bool
wait_until(struct icecast_poll *p, int64_t deadline_ns)
{
	struct timespec ts;
	bool stop;

	ts.tv_sec = (time_t)(deadline_ns / NS_PER_SEC);
	ts.tv_nsec = (long)(deadline_ns % NS_PER_SEC);
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	stop = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

/* Whether the next round should come after POLL_FRESH_NS: an Icecast
 * output of the snapshot connected less than POLL_FRESH_WINDOW_NS ago and
 * not listed since, or not connected yet while started is that recent. */
static bool
fresh_mounts(const struct icecast_poll *p, int64_t started_mono_ns)
{
	int64_t now = util_now_wall_ns();
	bool starting =
	    util_now_mono_ns() - started_mono_ns < POLL_FRESH_WINDOW_NS;
	size_t i;

	for (i = 0; i < p->snap.n_outputs; i++) {
		const struct stats_output *so = &p->snap.outputs[i];

		if (strcmp(so->type, "icecast") != 0)
			continue;
		if (!so->connected) {
			if (starting)
				return true;
			continue;
		}
		if (now - so->since_wall_ns < POLL_FRESH_WINDOW_NS &&
		    stats_output_server_seen(so->id) < so->since_wall_ns)
			return true;
	}
	return false;
}

/* Runs on: the poller thread. */
static void *
poll_thread(void *arg)
{
	struct icecast_poll *p = arg;
	int64_t timeout_ns, round_ns, next_ns;
	int64_t started_ns = util_now_mono_ns();
	sigset_t all;
	size_t i;

	util_thread_name("icecast-poll");
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	timeout_ns = p->interval_ns < POLL_FETCH_TIMEOUT_NS
			 ? p->interval_ns
			 : POLL_FETCH_TIMEOUT_NS;
	if (timeout_ns < POLL_FETCH_MIN_TIMEOUT_NS)
		timeout_ns = POLL_FETCH_MIN_TIMEOUT_NS;
	for (;;) {
		round_ns = util_now_mono_ns();
		stats_snapshot(&p->snap);
		group_servers(p);
		for (i = 0; i < p->n_servers; i++) {
			if (atomic_load(&p->cancel))
				break;
			poll_server(p, &p->servers[i], timeout_ns);
		}
		poll_edges(p, timeout_ns);
		next_ns = p->interval_ns;
		if (next_ns > POLL_FRESH_NS && fresh_mounts(p, started_ns))
			next_ns = POLL_FRESH_NS;
		if (wait_until(p, round_ns + next_ns))
			break;
	}
	return NULL;
}

struct icecast_poll *
icecast_poll_start(int64_t interval_ns)
{
	struct icecast_poll *p;
	pthread_condattr_t ca;
	int rc;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		log_err(POLL_MOD, "out of memory; Icecast status polling is "
				  "off");
		return NULL;
	}
	p->interval_ns =
	    interval_ns > 0 ? interval_ns : ICECAST_POLL_DEFAULT_INTERVAL_NS;
	atomic_init(&p->cancel, false);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&p->thread, NULL, poll_thread, p);
	if (rc != 0) {
		log_err(POLL_MOD,
		    "cannot start the poller thread: %s; Icecast "
		    "status polling is off",
		    strerror(rc));
		goto fail;
	}
	return p;
fail:
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

void
icecast_poll_stop(struct icecast_poll *p)
{
	if (p == NULL)
		return;
	atomic_store(&p->cancel, true);
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
