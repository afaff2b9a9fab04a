/* SPDX-License-Identifier: MIT */
/*
 * The status server: Listen Live page, status JSON, event stream, metrics,
 * health and the control API, on libmicrohttpd. See status.h and
 * docs/status-api.md.
 *
 * DESIGN
 * Everything shown comes from one stats_snapshot() per request (a short
 * copy under the stats mutex, which the capture and encode paths never
 * wait on), so no request can slow the audio. The server keeps only a copy
 * of a few settings (public_url, time zone, poll interval) behind its own
 * mutex, which nothing in the pipeline takes.
 *
 * libmicrohttpd runs one thread per connection (MHD_USE_THREAD_PER_
 * CONNECTION with an internal poll thread). The reason is the event
 * stream: /api/events stays open for hours and produces data only when
 * the state changes. In the single polling-thread mode a content callback
 * may not return 0 ("no data yet") without busy-waiting, and blocking in
 * it would stall every other client. With a thread per connection the
 * callback simply waits on a condition variable (1 s ticks, woken at once
 * by status_stop). Memory stays bounded: at most STATUS_MAX_CONNECTIONS
 * connections (threads with 256 KiB stacks), of which at most
 * STATUS_MAX_EVENT_STREAMS event streams; the page falls back to polling
 * when it gets 503. A request is small: headers and URL must fit in
 * STATUS_MEMORY_LIMIT_BYTES (libmicrohttpd answers 431 / 414 itself).
 *
 * Requests: the raw URI is checked before parsing (uri_check_cb): longer
 * than STATUS_MAX_URI_BYTES -> 414, a control byte or a broken %-escape
 * -> 400. Known path with another method than GET/HEAD -> 405 with Allow
 * (after the body, if any, has been read and dropped: FIELD-NOTES 6.3).
 * Unknown path -> 404. Only embedded assets are served: no file system.
 *
 * Control (POST /api/segments, /api/skip, /api/metadata, /api/reload):
 * the body is read first (its first STATUS_CONTROL_MAX_BODY_BYTES kept),
 * then, on the final call: method (405, Allow: POST), bearer token
 * (constant-time compare against the copy in struct status_server: 401 /
 * 403), size (413), JSON (400, naming the field), and only then the main
 * thread through control_submit() (202, or 422 with its reason). Each call
 * writes one audit line (module "control") whatever the outcome; the
 * Authorization header is never logged, and the token never leaves the
 * server's lock except to be compared.
 *
 * Threads: status_start/stop/reconfigure on the main thread; handlers and
 * event streams on libmicrohttpd's connection threads; the pure functions
 * anywhere.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
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

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "control.h"
#include "log.h"
#include "schedule.h"
#include "stats.h"
#include "status.h"
#include "util.h"
#include "version.h"
#include "www_assets.h"

#define MOD "status"

#define STATUS_MAX_CONNECTIONS 64
#define STATUS_MAX_EVENT_STREAMS 32
#define STATUS_CONNECTION_TIMEOUT_S 15
#define STATUS_MEMORY_LIMIT_BYTES ((size_t)16384)
#define STATUS_THREAD_STACK_BYTES ((size_t)256 * 1024)
#define STATUS_MAX_URI_BYTES 2048
#define STATUS_MAX_BODY_BYTES ((uint64_t)65536)
#define STATUS_MAX_DOC_BYTES ((size_t)4 * 1024 * 1024)
/* Event streams: check the state every second, send a comment when idle
 * (well inside the connection timeout), and the full state now and then. */
#define EVENTS_TICK_NS NS_PER_SEC
#define EVENTS_KEEPALIVE_NS (5 * NS_PER_SEC)
#define EVENTS_REFRESH_NS (30 * NS_PER_SEC)

static const char csp_api[] = "default-src 'none'; frame-ancestors 'none'";

/* ---- A growable string with a hard cap. ---- */

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* OOM or over STATUS_MAX_DOC_BYTES */
};

static bool
sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t want, cap;
	char *p;

	if (sb->failed)
		return false;
	if (extra > STATUS_MAX_DOC_BYTES - sb->len) {
		sb->failed = true;
		return false;
	}
	want = sb->len + extra + 1;
	if (want <= sb->cap)
		return true;
	cap = sb->cap == 0 ? 1024 : sb->cap;
	while (cap < want)
		cap *= 2;
	p = realloc(sb->data, cap);
	if (p == NULL) {
		sb->failed = true;
		return false;
	}
	sb->data = p;
	sb->cap = cap;
	return true;
}

static void
sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

static void
sb_puts(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_reserve(sb, (size_t)n)) {
		sb->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* Returns the text (owned) or NULL after a failure. */
static char *
sb_take(struct strbuf *sb)
{
	char *p;

	if (sb->failed || sb->data == NULL) {
		free(sb->data);
		sb->data = NULL;
		if (!sb->failed)
			return strdup("");
		return NULL;
	}
	p = sb->data;
	sb->data = NULL;
	return p;
}

/* ---- Escaping. ---- */

size_t
status_html_escape(char *dst, size_t len, const char *src)
{
	const unsigned char *p;
	size_t need = 0, out = 0, n;
	bool full = (len == 0);
	const char *rep;

	if (src == NULL)
		src = "";
	p = (const unsigned char *)src;
	while (*p != '\0') {
		switch (*p) {
		case '&':
			rep = "&amp;";
			n = 1;
			break;
		case '<':
			rep = "&lt;";
			n = 1;
			break;
		case '>':
			rep = "&gt;";
			n = 1;
			break;
		case '"':
			rep = "&quot;";
			n = 1;
			break;
		case '\'':
			rep = "&#39;";
			n = 1;
			break;
		default:
			/* Keep a UTF-8 sequence whole: its lead byte says how
			 * long it is; stray continuation bytes go one by one.
			 */
			if (*p >= 0xf0)
				n = 4;
			else if (*p >= 0xe0)
				n = 3;
			else if (*p >= 0xc0)
				n = 2;
			else
				n = 1;
			for (size_t k = 1; k < n; k++) {
				if ((p[k] & 0xc0) != 0x80) {
					n = k;
					break;
				}
			}
			rep = NULL;
			break;
		}
		if (rep != NULL) {
			size_t rl = strlen(rep);
			need += rl;
			if (!full && out + rl < len) {
				memcpy(dst + out, rep, rl);
				out += rl;
			} else
				full = true;
		} else {
			need += n;
			if (!full && out + n < len) {
				memcpy(dst + out, p, n);
				out += n;
			} else
				full = true;
		}
		p += n;
	}
	if (len > 0)
		dst[out] = '\0';
	return need;
}

static void
sb_add_html(struct strbuf *sb, const char *s)
{
	size_t need;

	need = status_html_escape(NULL, 0, s);
	if (!sb_reserve(sb, need))
		return;
	status_html_escape(sb->data + sb->len, need + 1, s);
	sb->len += need;
}

/* Prometheus label values: backslash, double quote and newline escaped. */
static void
sb_add_label(struct strbuf *sb, const char *s)
{
	char clean[STATS_TEXT * 2];
	const char *p;

	util_sanitize_text(clean, sizeof(clean), s);
	for (p = clean; *p != '\0'; p++) {
		if (*p == '\\')
			sb_puts(sb, "\\\\");
		else if (*p == '"')
			sb_puts(sb, "\\\"");
		else if (*p == '\n')
			sb_puts(sb, "\\n");
		else
			sb_add(sb, p, 1);
	}
}

/* ---- The rules. ---- */

bool
status_on_air(const struct stats_snapshot *s, int64_t poll_icecast_ns)
{
	int64_t stale_ns;
	size_t i;

	if (s->programme.state == PROGRAMME_OFF_AIR)
		return false;
	if (!s->input.flowing || !(s->input.silent_s < STATUS_SILENT_MAX_S))
		return false;
	if (poll_icecast_ns <= 0)
		poll_icecast_ns = 5 * NS_PER_SEC;
	stale_ns = 2 * poll_icecast_ns + 5 * NS_PER_SEC;
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];

		if (strcmp(o->type, "icecast") != 0 || !o->connected)
			continue;
		if (!o->mount_listed || o->server_seen_wall_ns <= 0)
			continue;
		if (s->now_wall_ns - o->server_seen_wall_ns > stale_ns)
			continue;
		return true;
	}
	return false;
}

const char *
status_state_name(const struct stats_snapshot *s, bool on_air)
{
	return on_air ? programme_state_name(s->programme.state) : "off_air";
}

bool
status_healthy(const struct stats_snapshot *s, char *reason, size_t reason_len)
{
	struct strbuf sb = {0};
	bool input_ok, output_ok = false;
	size_t i, shown = 0;
	char *text;

	input_ok = s->input.flowing;
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++)
		if (s->outputs[i].connected)
			output_ok = true;
	if (reason_len > 0)
		reason[0] = '\0';
	if (input_ok && output_ok)
		return true;
	if (!input_ok) {
		sb_puts(&sb, "input not flowing");
		if (s->input.last_error[0] != '\0')
			sb_printf(&sb, " (%s)", s->input.last_error);
	}
	if (!output_ok) {
		if (!input_ok)
			sb_puts(&sb, "; ");
		if (s->n_outputs == 0)
			sb_puts(&sb, "no output configured");
		else
			sb_puts(&sb, "no output connected");
		for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
			const struct stats_output *o = &s->outputs[i];

			if (o->last_error[0] == '\0')
				continue;
			sb_printf(&sb, "%s%s: %s", shown == 0 ? " (" : "; ",
			    o->name, o->last_error);
			shown++;
		}
		if (shown > 0)
			sb_puts(&sb, ")");
	}
	text = sb_take(&sb);
	if (reason_len > 0)
		util_sanitize_text(
		    reason, reason_len, text != NULL ? text : "unhealthy");
	free(text);
	return false;
}

/* ---- URLs. ---- */

char *
status_output_url(const struct stats_snapshot *s, size_t i,
    const struct status_settings *set, char *buf, size_t len)
{
	const struct stats_output *o;
	size_t n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (i >= s->n_outputs || i >= CONFIG_MAX_OUTPUTS)
		return buf;
	o = &s->outputs[i];
	if (strcmp(o->type, "icecast") != 0)
		return buf;
	if (set != NULL && set->public_url[0] != '\0' && o->mount[0] != '\0') {
		n = strlen(set->public_url);
		while (n > 0 && set->public_url[n - 1] == '/')
			n--;
		snprintf(buf, len, "%.*s%s%s", (int)n, set->public_url,
		    o->mount[0] == '/' ? "" : "/", o->mount);
	} else
		util_strlcpy(buf, o->url, len);
	return buf;
}

/* Writes "scheme://host[:port]" of url into buf; false when url is not a
 * plain http(s) URL safe to put in a header. */
static bool
url_origin(const char *url, char *buf, size_t len)
{
	const char *p, *end;
	size_t n;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return false;
	end = p;
	while (*end != '\0' && *end != '/' && *end != '?' && *end != '#')
		end++;
	if (end == p)
		return false;
	for (const char *q = p; q < end; q++) {
		if (!isalnum((unsigned char)*q) && strchr(".-:[]", *q) == NULL)
			return false;
	}
	n = (size_t)(end - url);
	if (n + 1 > len)
		return false;
	memcpy(buf, url, n);
	buf[n] = '\0';
	return true;
}

/* Rough nominal bitrate of an encoding (kbit/s), to find the low-data
 * stream: managed bitrate, else Vorbis' nominal rate for the quality at
 * 44.1 kHz stereo, scaled by channels and rate. */
static double
encoding_kbps(const struct stats_snapshot *s, const char *name)
{
	static const double q_kbps[] = {
	    45, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 500};
	const struct stats_encoding *e = NULL;
	double kbps, q;
	size_t i;
	int qi;

	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		if (strcmp(s->encodings[i].name, name) == 0) {
			e = &s->encodings[i];
			break;
		}
	}
	if (e == NULL)
		return 0;
	if (e->bitrate_kbps > 0)
		return e->bitrate_kbps;
	q = isnan(e->quality) ? 4.0 : e->quality;
	qi = (int)lround(q) + 1;
	if (qi < 0)
		qi = 0;
	if (qi > 11)
		qi = 11;
	kbps = q_kbps[qi];
	kbps *= (e->channels > 0 ? e->channels : 2) / 2.0;
	if (e->rate_hz > 0 && e->rate_hz < 44100)
		kbps *= e->rate_hz / 44100.0;
	return kbps;
}

/* The player's streams: the first Icecast output, and the one with the
 * lowest bitrate when it is lower. -1 when there is none. */
static void
pick_streams(const struct stats_snapshot *s, int *main_out, int *low_out,
    double *low_kbps)
{
	double main_kbps = 0, best = 0, k;
	size_t i;

	*main_out = -1;
	*low_out = -1;
	*low_kbps = 0;
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		if (strcmp(s->outputs[i].type, "icecast") != 0)
			continue;
		k = encoding_kbps(s, s->outputs[i].encoding);
		if (*main_out < 0) {
			*main_out = (int)i;
			main_kbps = k;
			continue;
		}
		if (k > 0 && k < main_kbps && (*low_out < 0 || k < best)) {
			*low_out = (int)i;
			best = k;
		}
	}
	*low_kbps = best;
}

static char *
format_utc_hm(int64_t wall_ns, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ns / NS_PER_SEC);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		util_strlcpy(buf, "", len);
	else
		snprintf(buf, len, "%02d:%02d", tm.tm_hour, tm.tm_min);
	return buf;
}

/* ---- JSON. ---- */

struct jctx {
	bool ok;
};

static void
jadd(struct jctx *j, cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL || obj == NULL ||
	    !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		j->ok = false;
	}
}

static void
jpush(struct jctx *j, cJSON *arr, cJSON *item)
{
	if (item == NULL || arr == NULL || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		j->ok = false;
	}
}

/* A text from stats, cleaned of control characters and bad UTF-8. */
static cJSON *
jtext(const char *s)
{
	char clean[1024];

	util_sanitize_text(clean, sizeof(clean), s != NULL ? s : "");
	return cJSON_CreateString(clean);
}

static cJSON *
jtext_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return cJSON_CreateNull();
	return jtext(s);
}

static cJSON *
jtime(int64_t wall_ns)
{
	char buf[40];

	if (wall_ns <= 0)
		return cJSON_CreateNull();
	return cJSON_CreateString(
	    util_format_iso8601(wall_ns, false, buf, sizeof(buf)));
}

/* dBFS and seconds with one decimal; never NaN or infinite in JSON. */
static cJSON *
jtenths(double v, double floor_value)
{
	if (isnan(v) || v < floor_value)
		v = floor_value;
	if (isinf(v))
		v = floor_value;
	return cJSON_CreateNumber(round(v * 10.0) / 10.0);
}

static cJSON *
jcount(uint64_t v)
{
	return cJSON_CreateNumber((double)v);
}

static cJSON *
json_station(struct jctx *j, const struct stats_snapshot *s)
{
	cJSON *o = cJSON_CreateObject();

	jadd(j, o, "name", jtext(s->station_name));
	jadd(j, o, "description", jtext(s->station_description));
	jadd(j, o, "url", jtext(s->station_url));
	return o;
}

static cJSON *
json_now(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_programme *p = &s->programme;
	cJSON *o = cJSON_CreateObject();

	jadd(j, o, "title", jtext(p->title));
	jadd(j, o, "artist", jtext(p->artist));
	jadd(j, o, "source", jtext(p->source));
	jadd(j, o, "segment", jtext_or_null(p->segment));
	jadd(j, o, "started_at", jtime(p->started_at_wall_ns));
	jadd(j, o, "ends_at", jtime(p->ends_at_wall_ns));
	return o;
}

static cJSON *
json_next(struct jctx *j, const struct stats_snapshot *s)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < s->programme.n_next && i < STATS_MAX_NEXT; i++) {
		const struct stats_next *n = &s->programme.next[i];

		o = cJSON_CreateObject();
		jadd(j, o, "segment", jtext(n->segment));
		jadd(j, o, "title", jtext(n->title));
		jadd(j, o, "starts_at", jtime(n->starts_at_wall_ns));
		jpush(j, a, o);
	}
	return a;
}

static cJSON *
json_input(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_input *in = &s->input;
	cJSON *o = cJSON_CreateObject();

	jadd(j, o, "type", jtext(in->type));
	jadd(j, o, "flowing", cJSON_CreateBool(in->flowing));
	jadd(j, o, "peak_dbfs", jtenths(in->peak_dbfs, -120.0));
	jadd(j, o, "rms_dbfs", jtenths(in->rms_dbfs, -120.0));
	jadd(j, o, "silent_s", jtenths(in->silent_s, 0.0));
	jadd(j, o, "silence_threshold_dbfs",
	    jtenths(s->silence_threshold_dbfs, -120.0));
	jadd(j, o, "xruns", jcount(in->xruns));
	return o;
}

static cJSON *
json_encodings(struct jctx *j, const struct stats_snapshot *s)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		const struct stats_encoding *e = &s->encodings[i];

		o = cJSON_CreateObject();
		jadd(j, o, "name", jtext(e->name));
		jadd(j, o, "rate", cJSON_CreateNumber(e->rate_hz));
		jadd(j, o, "channels", cJSON_CreateNumber(e->channels));
		jadd(j, o, "quality",
		    isfinite(e->quality)
			? cJSON_CreateNumber(round(e->quality * 100.0) / 100.0)
			: cJSON_CreateNull());
		jadd(j, o, "bitrate",
		    e->bitrate_kbps > 0 ? cJSON_CreateNumber(e->bitrate_kbps)
					: cJSON_CreateNull());
		jpush(j, a, o);
	}
	return a;
}

static cJSON *
json_outputs(struct jctx *j, const struct stats_snapshot *s,
    const struct status_settings *set)
{
	cJSON *a = cJSON_CreateArray(), *o;
	char url[600];
	size_t i;
	bool ice;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *out = &s->outputs[i];

		ice = strcmp(out->type, "icecast") == 0;
		status_output_url(s, i, set, url, sizeof(url));
		o = cJSON_CreateObject();
		jadd(j, o, "name", jtext(out->name));
		jadd(j, o, "type", jtext(out->type));
		jadd(j, o, "encoding", jtext(out->encoding));
		jadd(j, o, "url", jtext_or_null(url));
		jadd(j, o, "connected", cJSON_CreateBool(out->connected));
		jadd(j, o, "since", jtime(out->since_wall_ns));
		jadd(j, o, "bytes_sent", jcount(out->bytes_sent));
		jadd(j, o, "queue_bytes", jcount(out->queue_bytes));
		jadd(j, o, "dropped_bytes", jcount(out->dropped_bytes));
		jadd(j, o, "reconnects", jcount(out->reconnects));
		jadd(j, o, "last_error", jtext_or_null(out->last_error));
		jadd(j, o, "server_reachable",
		    cJSON_CreateBool(ice && out->server_reachable));
		jadd(j, o, "mount_listed",
		    cJSON_CreateBool(ice && out->mount_listed));
		jadd(j, o, "listeners",
		    ice && out->listeners >= 0
			? cJSON_CreateNumber((double)out->listeners)
			: cJSON_CreateNull());
		jadd(j, o, "listener_peak",
		    ice && out->listener_peak >= 0
			? cJSON_CreateNumber((double)out->listener_peak)
			: cJSON_CreateNull());
		jpush(j, a, o);
	}
	return a;
}

char *
status_json(const struct stats_snapshot *s, const struct status_settings *set,
    bool pretty)
{
	struct jctx j = {.ok = true};
	cJSON *root;
	char *text = NULL;
	bool on_air;
	int64_t uptime_s;

	on_air = status_on_air(s, set != NULL ? set->poll_icecast_ns : 0);
	uptime_s = s->uptime_ns > 0 ? s->uptime_ns / NS_PER_SEC : 0;
	root = cJSON_CreateObject();
	if (root == NULL)
		return NULL;
	jadd(&j, root, "station", json_station(&j, s));
	jadd(&j, root, "on_air", cJSON_CreateBool(on_air));
	jadd(&j, root, "state",
	    cJSON_CreateString(status_state_name(s, on_air)));
	jadd(&j, root, "uptime_s", cJSON_CreateNumber((double)uptime_s));
	jadd(&j, root, "now", json_now(&j, s));
	jadd(&j, root, "next", json_next(&j, s));
	jadd(&j, root, "input", json_input(&j, s));
	jadd(&j, root, "encodings", json_encodings(&j, s));
	jadd(&j, root, "outputs", json_outputs(&j, s, set));
	jadd(&j, root, "listeners",
	    cJSON_CreateNumber(s->listeners > 0 ? (double)s->listeners : 0.0));
	jadd(&j, root, "time", jtime(s->now_wall_ns));
	jadd(&j, root, "version", cJSON_CreateString(RELAY_VERSION));
	if (j.ok)
		text =
		    pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

/* ---- Metrics. ---- */

static void
metric_head(
    struct strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metric_value(struct strbuf *sb, double v)
{
	if (isnan(v))
		sb_puts(sb, " NaN\n");
	else if (isinf(v))
		sb_puts(sb, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		sb_printf(sb, " %.10g\n", v);
}

static void
metric_plain(struct strbuf *sb, const char *name, const char *type,
    const char *help, double v)
{
	metric_head(sb, name, type, help);
	sb_puts(sb, name);
	metric_value(sb, v);
}

static void
metric_counter(
    struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	metric_head(sb, name, "counter", help);
	sb_printf(sb, "%s %" PRIu64 "\n", name, v);
}

enum ofield {
	OF_CONNECTED,
	OF_BYTES_SENT,
	OF_QUEUE,
	OF_DROPPED,
	OF_RECONNECTS,
	OF_REACHABLE,
	OF_LISTED,
	OF_LISTENERS,
	OF_PEAK,
};

static void
metric_outputs(struct strbuf *sb, const struct stats_snapshot *s,
    const char *name, const char *type, const char *help, enum ofield f)
{
	size_t i;
	double v;

	metric_head(sb, name, type, help);
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];
		bool ice = strcmp(o->type, "icecast") == 0;

		switch (f) {
		case OF_CONNECTED:
			v = o->connected;
			break;
		case OF_BYTES_SENT:
			v = (double)o->bytes_sent;
			break;
		case OF_QUEUE:
			v = (double)o->queue_bytes;
			break;
		case OF_DROPPED:
			v = (double)o->dropped_bytes;
			break;
		case OF_RECONNECTS:
			v = (double)o->reconnects;
			break;
		case OF_REACHABLE:
			if (!ice)
				continue;
			v = o->server_reachable;
			break;
		case OF_LISTED:
			if (!ice)
				continue;
			v = o->mount_listed;
			break;
		case OF_LISTENERS:
			if (!ice || o->listeners < 0)
				continue;
			v = (double)o->listeners;
			break;
		case OF_PEAK:
			if (!ice || o->listener_peak < 0)
				continue;
			v = (double)o->listener_peak;
			break;
		default:
			continue;
		}
		sb_printf(sb, "%s{output=\"", name);
		sb_add_label(sb, o->name);
		sb_puts(sb, "\"}");
		metric_value(sb, v);
	}
}

char *
status_metrics(
    const struct stats_snapshot *s, const struct status_settings *set)
{
	struct strbuf sb = {0};
	char url[600];
	size_t i;
	bool on_air;

	on_air = status_on_air(s, set != NULL ? set->poll_icecast_ns : 0);
	metric_plain(
	    &sb, "relay_up", "gauge", "1 while relay runs and answers.", 1);
	metric_head(&sb, "relay_build_info", "gauge",
	    "Always 1; version and git revision as labels.");
	sb_puts(&sb, "relay_build_info{version=\"");
	sb_add_label(&sb, RELAY_VERSION);
	sb_puts(&sb, "\",revision=\"");
	sb_add_label(&sb, relay_git_rev());
	sb_puts(&sb, "\"} 1\n");
	metric_plain(&sb, "relay_on_air", "gauge",
	    "1 when audio above the silence threshold reaches a listed "
	    "Icecast mount.",
	    on_air);
	metric_plain(&sb, "relay_uptime_seconds", "gauge",
	    "Seconds since relay started.",
	    (double)(s->uptime_ns / NS_PER_MS) / 1000.0);
	metric_plain(&sb, "relay_input_flowing", "gauge",
	    "1 when input frames arrived within the last second.",
	    s->input.flowing);
	metric_plain(&sb, "relay_input_peak_dbfs", "gauge",
	    "Programme peak level over the last block, in dBFS.",
	    isfinite(s->input.peak_dbfs) ? s->input.peak_dbfs : -120.0);
	metric_plain(&sb, "relay_input_rms_dbfs", "gauge",
	    "Programme RMS level over the last block, in dBFS.",
	    isfinite(s->input.rms_dbfs) ? s->input.rms_dbfs : -120.0);
	metric_plain(&sb, "relay_input_silent_seconds", "gauge",
	    "How long the programme has stayed below the silence threshold.",
	    s->input.silent_s);
	metric_counter(&sb, "relay_input_frames_total",
	    "Audio frames captured.", s->input.frames);
	metric_counter(&sb, "relay_input_xruns_total",
	    "Capture overruns reported by ALSA.", s->input.xruns);
	metric_counter(&sb, "relay_input_overflow_frames_total",
	    "Frames lost because the ring to the encoder was full.",
	    s->input.overflows);
	metric_counter(&sb, "relay_input_reopens_total",
	    "Times the input was reopened after an error.", s->input.reopens);

	metric_head(&sb, "relay_encoding_bytes_total", "counter",
	    "Bytes of Vorbis packets produced per encoding.");
	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		sb_puts(&sb, "relay_encoding_bytes_total{encoding=\"");
		sb_add_label(&sb, s->encodings[i].name);
		sb_printf(&sb, "\"} %" PRIu64 "\n", s->encodings[i].bytes);
	}
	metric_head(&sb, "relay_encoding_packets_total", "counter",
	    "Vorbis packets produced per encoding.");
	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		sb_puts(&sb, "relay_encoding_packets_total{encoding=\"");
		sb_add_label(&sb, s->encodings[i].name);
		sb_printf(&sb, "\"} %" PRIu64 "\n", s->encodings[i].packets);
	}

	metric_head(&sb, "relay_output_info", "gauge",
	    "Always 1; type, encoding and listener URL as labels.");
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];

		sb_puts(&sb, "relay_output_info{output=\"");
		sb_add_label(&sb, o->name);
		sb_puts(&sb, "\",type=\"");
		sb_add_label(&sb, o->type);
		sb_puts(&sb, "\",encoding=\"");
		sb_add_label(&sb, o->encoding);
		sb_puts(&sb, "\",url=\"");
		sb_add_label(
		    &sb, status_output_url(s, i, set, url, sizeof(url)));
		sb_puts(&sb, "\"} 1\n");
	}
	metric_outputs(&sb, s, "relay_output_connected", "gauge",
	    "1 while the output is connected (file: open).", OF_CONNECTED);
	metric_outputs(&sb, s, "relay_output_bytes_sent_total", "counter",
	    "Bytes the output has sent or written.", OF_BYTES_SENT);
	metric_outputs(&sb, s, "relay_output_queue_bytes", "gauge",
	    "Bytes waiting in the output's queue.", OF_QUEUE);
	metric_outputs(&sb, s, "relay_output_dropped_bytes_total", "counter",
	    "Bytes dropped because the output fell behind.", OF_DROPPED);
	metric_outputs(&sb, s, "relay_output_reconnects_total", "counter",
	    "Reconnections of the output.", OF_RECONNECTS);
	metric_outputs(&sb, s, "relay_output_server_reachable", "gauge",
	    "1 when the last Icecast status poll got an answer.", OF_REACHABLE);
	metric_outputs(&sb, s, "relay_output_mount_listed", "gauge",
	    "1 when Icecast lists the mount with audio.", OF_LISTED);
	metric_outputs(&sb, s, "relay_listeners", "gauge",
	    "Listeners Icecast reports on the output's mount.", OF_LISTENERS);
	metric_outputs(&sb, s, "relay_listener_peak", "gauge",
	    "Most listeners seen on the mount since relay started.", OF_PEAK);
	return sb_take(&sb);
}

/* ---- The page. ---- */

struct page_ctx {
	const struct stats_snapshot *s;
	const struct status_settings *set;
	bool on_air;
	int main_i, low_i;
	double low_kbps;
	char main_url[600];
	char low_url[600];
};

static bool
http_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

static const char *
badge_class(const struct page_ctx *pc)
{
	if (!pc->on_air)
		return "off";
	if (pc->s->programme.state == PROGRAMME_FALLBACK)
		return "fallback";
	return "on";
}

static const char *
badge_text(const struct page_ctx *pc)
{
	if (!pc->on_air)
		return "OFF AIR";
	if (pc->s->programme.state == PROGRAMME_FALLBACK)
		return "Back shortly";
	return "ON AIR";
}

static void
next_items(struct strbuf *sb, const struct stats_snapshot *s)
{
	char iso[40], hm[32];
	size_t i;

	for (i = 0; i < s->programme.n_next && i < STATS_MAX_NEXT; i++) {
		const struct stats_next *n = &s->programme.next[i];

		sb_puts(sb, "<li><time datetime=\"");
		sb_add_html(sb, util_format_iso8601(n->starts_at_wall_ns, false,
				    iso, sizeof(iso)));
		sb_puts(sb, "\">");
		sb_add_html(
		    sb, format_utc_hm(n->starts_at_wall_ns, hm, sizeof(hm)));
		sb_puts(sb, "</time> <span dir=\"auto\">");
		sb_add_html(sb, n->title[0] != '\0' ? n->title : n->segment);
		sb_puts(sb, "</span></li>");
	}
}

/* Appends the value of key: escaped unless raw. */
static void
page_value(struct strbuf *sb, const struct page_ctx *pc, const char *key,
    size_t klen, bool raw)
{
	const struct stats_snapshot *s = pc->s;
	const struct stats_programme *p = &s->programme;
	char buf[700];
	const char *v = NULL;

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (raw) {
		if (KEY("next_items"))
			next_items(sb, s);
		return;
	}
	if (KEY("station_name"))
		v = s->station_name[0] != '\0' ? s->station_name : "relay";
	else if (KEY("station_description"))
		v = s->station_description;
	else if (KEY("description_hidden"))
		v = s->station_description[0] != '\0' ? "" : "hidden";
	else if (KEY("station_url"))
		v = http_url(s->station_url) ? s->station_url : "";
	else if (KEY("station_url_hidden"))
		v = http_url(s->station_url) ? "" : "hidden";
	else if (KEY("on_air"))
		v = pc->on_air ? "true" : "false";
	else if (KEY("state"))
		v = status_state_name(s, pc->on_air);
	else if (KEY("badge_class"))
		v = badge_class(pc);
	else if (KEY("badge_text"))
		v = badge_text(pc);
	else if (KEY("off_note_hidden"))
		v = pc->on_air ? "hidden" : "";
	else if (KEY("now_title"))
		v = p->title[0] != '\0'
			? p->title
			: (s->station_name[0] != '\0' ? s->station_name
						      : "relay");
	else if (KEY("now_artist"))
		v = p->artist;
	else if (KEY("artist_hidden"))
		v = p->artist[0] != '\0' ? "" : "hidden";
	else if (KEY("now_segment"))
		v = p->segment;
	else if (KEY("segment_hidden"))
		v = p->segment[0] != '\0' ? "" : "hidden";
	else if (KEY("now_since_iso"))
		v = p->started_at_wall_ns > 0
			? util_format_iso8601(
			      p->started_at_wall_ns, false, buf, sizeof(buf))
			: "";
	else if (KEY("now_since_text"))
		v = p->started_at_wall_ns > 0
			? format_utc_hm(p->started_at_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("since_hidden"))
		v = p->started_at_wall_ns > 0 ? "" : "hidden";
	else if (KEY("now_ends_iso"))
		v = p->ends_at_wall_ns > 0
			? util_format_iso8601(
			      p->ends_at_wall_ns, false, buf, sizeof(buf))
			: "";
	else if (KEY("now_ends_text"))
		v = p->ends_at_wall_ns > 0
			? format_utc_hm(p->ends_at_wall_ns, buf, sizeof(buf))
			: "";
	else if (KEY("ends_hidden"))
		v = p->ends_at_wall_ns > 0 ? "" : "hidden";
	else if (KEY("next_hidden"))
		v = p->n_next > 0 ? "" : "hidden";
	else if (KEY("listeners_text")) {
		snprintf(buf, sizeof(buf), "%" PRId64 " listening",
		    s->listeners > 0 ? s->listeners : 0);
		v = buf;
	} else if (KEY("stream_url"))
		v = pc->main_url;
	else if (KEY("stream_hidden"))
		v = pc->main_i >= 0 ? "" : "hidden";
	else if (KEY("no_stream_hidden"))
		v = pc->main_i >= 0 ? "hidden" : "";
	else if (KEY("m3u_url") || KEY("xspf_url")) {
		snprintf(buf, sizeof(buf), "%s.%s", pc->main_url,
		    KEY("m3u_url") ? "m3u" : "xspf");
		v = pc->main_i >= 0 ? buf : "";
	} else if (KEY("low_url"))
		v = pc->low_url;
	else if (KEY("low_label")) {
		snprintf(buf, sizeof(buf), "%.0f kbit/s", pc->low_kbps);
		v = buf;
	} else if (KEY("low_hidden"))
		v = pc->low_i >= 0 ? "" : "hidden";
	else if (KEY("timezone"))
		v = pc->set != NULL ? pc->set->timezone : "";
	else if (KEY("updated_text"))
		v = format_utc_hm(s->now_wall_ns, buf, sizeof(buf));
	else if (KEY("updated_iso"))
		v = util_format_iso8601(
		    s->now_wall_ns, false, buf, sizeof(buf));
	else if (KEY("version"))
		v = RELAY_VERSION;
#undef KEY
	if (v != NULL)
		sb_add_html(sb, v);
}

char *
status_render_page(const char *template_text, const struct stats_snapshot *s,
    const struct status_settings *set)
{
	struct page_ctx pc = {.s = s, .set = set};
	struct strbuf sb = {0};
	const char *p = template_text, *open, *close, *key;
	bool raw;

	pc.on_air = status_on_air(s, set != NULL ? set->poll_icecast_ns : 0);
	pick_streams(s, &pc.main_i, &pc.low_i, &pc.low_kbps);
	if (pc.main_i >= 0)
		status_output_url(s, (size_t)pc.main_i, set, pc.main_url,
		    sizeof(pc.main_url));
	if (pc.low_i >= 0)
		status_output_url(
		    s, (size_t)pc.low_i, set, pc.low_url, sizeof(pc.low_url));
	while ((open = strstr(p, "{{")) != NULL) {
		close = strstr(open + 2, "}}");
		if (close == NULL)
			break;
		sb_add(&sb, p, (size_t)(open - p));
		key = open + 2;
		raw = (*key == '&');
		if (raw)
			key++;
		page_value(&sb, &pc, key, (size_t)(close - key), raw);
		p = close + 2;
	}
	sb_puts(&sb, p);
	return sb_take(&sb);
}

/* ---- The control API: pure pieces. ---- */

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

/* cJSON recurses once per nesting level; a 16 KiB body of "[[[[..." would
 * use far more of a 256 KiB connection stack than a request deserves. A
 * control body is flat: one object, no nesting at all is needed. */
#define CONTROL_MAX_DEPTH 4

static bool
json_depth_ok(const char *body, size_t len)
{
	size_t i;
	int depth = 0;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char ch = body[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"')
			in_str = true;
		else if (ch == '{' || ch == '[') {
			if (++depth > CONTROL_MAX_DEPTH)
				return false;
		} else if (ch == '}' || ch == ']')
			depth--;
	}
	return true;
}

static bool
blank(const char *body, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!isspace((unsigned char)body[i]))
			return false;
	}
	return true;
}

/* A string field into dst (capacity cap, so at most cap - 1 bytes). */
static int
field_string(const cJSON *it, char *dst, size_t cap, bool allow_empty,
    char *err, size_t errlen)
{
	size_t n;

	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen, "%s: must be a string", it->string);
		return -EINVAL;
	}
	n = strlen(it->valuestring);
	if (n > cap - 1) {
		snprintf(err, errlen, "%s: %zu bytes, at most %zu allowed",
		    it->string, n, cap - 1);
		return -EINVAL;
	}
	util_sanitize_text(dst, cap, it->valuestring);
	if (!allow_empty && dst[0] == '\0') {
		snprintf(err, errlen, "%s: must not be empty", it->string);
		return -EINVAL;
	}
	return 0;
}

/* A path or URL: kept byte for byte, but no control characters. */
static int
field_path(const cJSON *it, char *dst, size_t cap, char *err, size_t errlen)
{
	const unsigned char *p;
	size_t n;

	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen, "%s: must be a string", it->string);
		return -EINVAL;
	}
	n = strlen(it->valuestring);
	if (n == 0) {
		snprintf(err, errlen, "%s: must not be empty", it->string);
		return -EINVAL;
	}
	if (n > cap - 1) {
		snprintf(err, errlen, "%s: %zu bytes, at most %zu allowed",
		    it->string, n, cap - 1);
		return -EINVAL;
	}
	for (p = (const unsigned char *)it->valuestring; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen,
			    "%s: must not hold control characters", it->string);
			return -EINVAL;
		}
	}
	memcpy(dst, it->valuestring, n + 1);
	return 0;
}

static int
field_number(const cJSON *it, double min, double max, const char *unit,
    double *out, char *err, size_t errlen)
{
	if (!cJSON_IsNumber(it)) {
		snprintf(
		    err, errlen, "%s: must be a number (%s)", it->string, unit);
		return -EINVAL;
	}
	if (!isfinite(it->valuedouble) || it->valuedouble < min ||
	    it->valuedouble > max) {
		snprintf(err, errlen,
		    "%s: %g is out of range (allowed %g to %g %s)", it->string,
		    it->valuedouble, min, max, unit);
		return -EINVAL;
	}
	*out = it->valuedouble;
	return 0;
}

/* "duration": "90s" | "1h30m" | a number of seconds; (0, 24 h]. */
static int
field_duration(const cJSON *it, int64_t *out_ns, char *err, size_t errlen)
{
	int64_t ns = 0;
	double s;

	if (cJSON_IsNumber(it)) {
		s = it->valuedouble;
		if (!isfinite(s) || s <= 0 || s > 24.0 * 3600.0)
			goto range;
		ns = llround(s * 1e9);
	} else if (cJSON_IsString(it) && it->valuestring != NULL) {
		if (util_parse_duration_ns(it->valuestring, &ns) == -EINVAL) {
			snprintf(err, errlen,
			    "duration: \"%.40s\" is not a duration (allowed "
			    "e.g. \"90s\", \"15m\", \"1h30m\" or a number of "
			    "seconds)",
			    it->valuestring);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen,
		    "duration: must be a string such as "
		    "\"90s\" or a number of seconds");
		return -EINVAL;
	}
	if (ns <= 0 || ns > 24 * 3600 * NS_PER_SEC)
		goto range;
	*out_ns = ns;
	return 0;
range:
	snprintf(err, errlen,
	    "duration: out of range (allowed more than 0, at most 24h)");
	return -EINVAL;
}

static int
digits(const char *p, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* "2026-11-27T10:00:00Z" (also ".250" fractions, "+00:00", a space for
 * the T). 0 or -EINVAL. */
static int
parse_utc(const char *s, int64_t *out_ns)
{
	struct tm tm = {0}, back;
	int year, mon, day, hh, mm, ss;
	int64_t frac_ns = 0, scale = NS_PER_SEC / 10;
	const char *p;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &year) < 0 || s[4] != '-' ||
	    digits(s + 5, 2, &mon) < 0 || s[7] != '-' ||
	    digits(s + 8, 2, &day) < 0 || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &hh) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mm) < 0 || s[16] != ':' ||
	    digits(s + 17, 2, &ss) < 0)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			frac_ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	/* timegm() normalises 2026-02-30; a real date comes back equal. */
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != year - 1900 || back.tm_mon != mon - 1 ||
	    back.tm_mday != day || back.tm_hour != hh || back.tm_min != mm ||
	    back.tm_sec != ss)
		return -EINVAL;
	*out_ns = (int64_t)t * NS_PER_SEC + frac_ns;
	return 0;
}

/* A start time more than this far back is a mistake, not "now". */
#define CONTROL_AT_PAST_NS (10 * NS_PER_SEC)
/* Later than this belongs in the schedule file. */
#define CONTROL_AT_AHEAD_NS (24 * 3600 * NS_PER_SEC)

static int
field_at(const cJSON *it, int64_t now_wall_ns, int64_t *out_ns, char *err,
    size_t errlen)
{
	int64_t at;

	if (cJSON_IsNull(it)) {
		*out_ns = 0;
		return 0;
	}
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen,
		    "at: must be a string: an ISO 8601 UTC "
		    "time such as \"2026-11-27T10:00:00Z\", or \"now\"");
		return -EINVAL;
	}
	if (strcmp(it->valuestring, "now") == 0) {
		*out_ns = 0;
		return 0;
	}
	if (parse_utc(it->valuestring, &at) < 0) {
		snprintf(err, errlen,
		    "at: \"%.40s\" is not an ISO 8601 UTC time (allowed e.g. "
		    "\"2026-11-27T10:00:00Z\", or \"now\")",
		    it->valuestring);
		return -EINVAL;
	}
	if (at < now_wall_ns - CONTROL_AT_PAST_NS) {
		snprintf(err, errlen, "at: %s is in the past", it->valuestring);
		return -EINVAL;
	}
	if (at > now_wall_ns + CONTROL_AT_AHEAD_NS) {
		snprintf(err, errlen,
		    "at: %s is more than 24 hours ahead "
		    "(use the schedule file)",
		    it->valuestring);
		return -EINVAL;
	}
	*out_ns = at <= now_wall_ns ? 0 : at;
	return 0;
}

static bool
source_by_name(const char *name, enum schedule_source *out)
{
	static const enum schedule_source all[] = {
	    SCHEDULE_SOURCE_FILE,
	    SCHEDULE_SOURCE_PLAYLIST,
	    SCHEDULE_SOURCE_LIVE,
	    SCHEDULE_SOURCE_STREAM,
	    SCHEDULE_SOURCE_TONE,
	    SCHEDULE_SOURCE_SILENCE,
	};
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(all); i++) {
		if (strcmp(name, schedule_source_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

/* http:// or https://, a host, and nothing a header or a log could
 * choke on. */
static bool
url_ok(const char *u)
{
	const char *p;

	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return false;
	if (*p == '\0' || *p == '/')
		return false;
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

enum seg_field {
	SF_SOURCE,
	SF_PATH,
	SF_URL,
	SF_AT,
	SF_DURATION,
	SF_TITLE,
	SF_ARTIST,
	SF_FREQUENCY,
	SF_LEVEL,
	SF_COUNT,
};

static const char *const seg_field_names[SF_COUNT] = {
    [SF_SOURCE] = "source",
    [SF_PATH] = "path",
    [SF_URL] = "url",
    [SF_AT] = "at",
    [SF_DURATION] = "duration",
    [SF_TITLE] = "title",
    [SF_ARTIST] = "artist",
    [SF_FREQUENCY] = "frequency",
    [SF_LEVEL] = "level_dbfs",
};

static int
parse_segment(const cJSON *root, int64_t now_wall_ns,
    struct control_request *req, char *err, size_t errlen)
{
	const cJSON *f[SF_COUNT] = {NULL}, *it;
	struct programme_request *play = &req->play;
	enum schedule_source kind;
	const char *only = NULL;
	int k, rc;

	cJSON_ArrayForEach(it, root)
	{
		for (k = 0; k < SF_COUNT; k++) {
			if (strcmp(it->string, seg_field_names[k]) == 0)
				break;
		}
		if (k == SF_COUNT) {
			snprintf(err, errlen,
			    "%.40s: unknown field (allowed: source, path, "
			    "url, at, duration, title, artist, frequency, "
			    "level_dbfs)",
			    it->string);
			return -EINVAL;
		}
		if (f[k] != NULL) {
			snprintf(err, errlen, "%s: given twice", it->string);
			return -EINVAL;
		}
		/* null is the same as leaving an optional field out. */
		if (!cJSON_IsNull(it) || k == SF_SOURCE)
			f[k] = it;
	}
	if (f[SF_SOURCE] == NULL) {
		snprintf(err, errlen,
		    "source: missing (allowed: "
		    "file|playlist|live|stream|tone|silence)");
		return -EINVAL;
	}
	if (!cJSON_IsString(f[SF_SOURCE]) ||
	    f[SF_SOURCE]->valuestring == NULL ||
	    !source_by_name(f[SF_SOURCE]->valuestring, &kind)) {
		snprintf(err, errlen,
		    "source: must be one of the strings "
		    "file|playlist|live|stream|tone|silence");
		return -EINVAL;
	}
	play->kind = kind;
	play->frequency_hz = 440.0;
	play->level_dbfs = -18.0;

	/* Fields that only one kind of source uses. */
	if (f[SF_PATH] != NULL && kind != SCHEDULE_SOURCE_FILE &&
	    kind != SCHEDULE_SOURCE_PLAYLIST)
		only = "path: only for source file or playlist";
	else if (f[SF_URL] != NULL && kind != SCHEDULE_SOURCE_STREAM)
		only = "url: only for source stream";
	else if (f[SF_FREQUENCY] != NULL && kind != SCHEDULE_SOURCE_TONE)
		only = "frequency: only for source tone";
	else if (f[SF_LEVEL] != NULL && kind != SCHEDULE_SOURCE_TONE)
		only = "level_dbfs: only for source tone";
	if (only != NULL) {
		snprintf(err, errlen, "%s (this is source %s)", only,
		    schedule_source_name(kind));
		return -EINVAL;
	}
	if ((kind == SCHEDULE_SOURCE_FILE ||
		kind == SCHEDULE_SOURCE_PLAYLIST) &&
	    f[SF_PATH] == NULL) {
		snprintf(err, errlen, "path: missing (source %s needs one)",
		    schedule_source_name(kind));
		return -EINVAL;
	}
	if (kind == SCHEDULE_SOURCE_STREAM && f[SF_URL] == NULL) {
		snprintf(err, errlen, "url: missing (source stream needs one)");
		return -EINVAL;
	}
	if (kind != SCHEDULE_SOURCE_FILE && f[SF_DURATION] == NULL) {
		snprintf(err, errlen,
		    "duration: missing (required for "
		    "source %s; e.g. \"90s\" or 90)",
		    schedule_source_name(kind));
		return -EINVAL;
	}
	if (f[SF_PATH] != NULL && (rc = field_path(f[SF_PATH], req->path,
				       sizeof(req->path), err, errlen)) < 0)
		return rc;
	if (f[SF_URL] != NULL) {
		if ((rc = field_path(f[SF_URL], req->url, sizeof(req->url), err,
			 errlen)) < 0)
			return rc;
		if (!url_ok(req->url)) {
			snprintf(err, errlen,
			    "url: must be an http:// or "
			    "https:// URL without spaces");
			return -EINVAL;
		}
	}
	if (f[SF_AT] != NULL && (rc = field_at(f[SF_AT], now_wall_ns,
				     &play->at_wall_ns, err, errlen)) < 0)
		return rc;
	if (f[SF_DURATION] != NULL &&
	    (rc = field_duration(
		 f[SF_DURATION], &play->duration_ns, err, errlen)) < 0)
		return rc;
	if (f[SF_TITLE] != NULL &&
	    (rc = field_string(f[SF_TITLE], req->title, sizeof(req->title),
		 true, err, errlen)) < 0)
		return rc;
	if (f[SF_ARTIST] != NULL &&
	    (rc = field_string(f[SF_ARTIST], req->artist, sizeof(req->artist),
		 true, err, errlen)) < 0)
		return rc;
	if (f[SF_FREQUENCY] != NULL &&
	    (rc = field_number(f[SF_FREQUENCY], 0.0, 20000.0, "Hz",
		 &play->frequency_hz, err, errlen)) < 0)
		return rc;
	if (f[SF_LEVEL] != NULL &&
	    (rc = field_number(f[SF_LEVEL], -120.0, 0.0, "dBFS",
		 &play->level_dbfs, err, errlen)) < 0)
		return rc;
	return 0;
}

static int
parse_metadata(
    const cJSON *root, struct control_request *req, char *err, size_t errlen)
{
	const cJSON *title = NULL, *artist = NULL, *it;
	int rc;

	cJSON_ArrayForEach(it, root)
	{
		const cJSON **slot;

		if (strcmp(it->string, "title") == 0)
			slot = &title;
		else if (strcmp(it->string, "artist") == 0)
			slot = &artist;
		else {
			snprintf(err, errlen,
			    "%.40s: unknown field (allowed: title, artist)",
			    it->string);
			return -EINVAL;
		}
		if (*slot != NULL) {
			snprintf(err, errlen, "%s: given twice", it->string);
			return -EINVAL;
		}
		*slot = it;
	}
	if (title == NULL) {
		snprintf(err, errlen, "title: missing");
		return -EINVAL;
	}
	if ((rc = field_string(title, req->title, sizeof(req->title), false,
		 err, errlen)) < 0)
		return rc;
	if (artist != NULL && !cJSON_IsNull(artist) &&
	    (rc = field_string(artist, req->artist, sizeof(req->artist), true,
		 err, errlen)) < 0)
		return rc;
	return 0;
}

int
status_control_parse(enum status_control ep, const char *body, size_t len,
    int64_t now_wall_ns, struct control_request *req, char *err, size_t errlen)
{
	cJSON *root = NULL;
	const char *end = NULL;
	int rc = -EINVAL;

	memset(req, 0, sizeof(*req));
	if (errlen > 0)
		err[0] = '\0';
	switch (ep) {
	case STATUS_CONTROL_SEGMENTS:
		req->what = CONTROL_PLAY;
		break;
	case STATUS_CONTROL_SKIP:
		req->what = CONTROL_SKIP;
		break;
	case STATUS_CONTROL_METADATA:
		req->what = CONTROL_METADATA;
		break;
	case STATUS_CONTROL_RELOAD:
		req->what = CONTROL_RELOAD;
		break;
	}
	if (len > STATUS_CONTROL_MAX_BODY_BYTES) {
		snprintf(err, errlen, "the body is over %zu bytes",
		    STATUS_CONTROL_MAX_BODY_BYTES);
		return -EMSGSIZE;
	}
	if (body == NULL || blank(body, len)) {
		if (ep == STATUS_CONTROL_SKIP || ep == STATUS_CONTROL_RELOAD)
			return 0;
		snprintf(err, errlen, "the body must be a JSON object");
		return -EINVAL;
	}
	if (!json_depth_ok(body, len)) {
		snprintf(err, errlen, "the body nests too deeply");
		return -EINVAL;
	}
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (root == NULL || !blank(end, len - (size_t)(end - body))) {
		snprintf(err, errlen, "the body is not valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto out;
	}
	switch (ep) {
	case STATUS_CONTROL_SEGMENTS:
		rc = parse_segment(root, now_wall_ns, req, err, errlen);
		break;
	case STATUS_CONTROL_METADATA:
		rc = parse_metadata(root, req, err, errlen);
		break;
	case STATUS_CONTROL_SKIP:
	case STATUS_CONTROL_RELOAD:
		if (root->child != NULL) {
			snprintf(err, errlen,
			    "%.40s: unknown field (this "
			    "request takes no fields)",
			    root->child->string);
			break;
		}
		rc = 0;
		break;
	}
out:
	cJSON_Delete(root);
	if (rc < 0) {
		/* Leave nothing half-filled behind. */
		enum control_what what = req->what;

		memset(req, 0, sizeof(*req));
		req->what = what;
	}
	return rc;
}

/* Copies url into dst with any "user:password@" shown as "***@". */
static void
redact_userinfo(char *dst, size_t len, const char *url)
{
	const char *host = strstr(url, "://"), *at, *end;

	if (host == NULL) {
		util_strlcpy(dst, url, len);
		return;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at == NULL) {
		util_strlcpy(dst, url, len);
		return;
	}
	snprintf(dst, len, "%.*s***%s", (int)(host - url), url, at);
}

static void
describe_seconds(char *buf, size_t len, int64_t ns)
{
	if (ns % NS_PER_SEC == 0)
		snprintf(buf, len, "%" PRId64 " s", ns / NS_PER_SEC);
	else
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
}

char *
status_control_describe(
    const struct control_request *req, char *buf, size_t len)
{
	const struct programme_request *play = &req->play;
	struct strbuf sb = {0};
	char tmp[CONTROL_TEXT + 16];
	char *text;

	if (len == 0)
		return buf;
	switch (req->what) {
	case CONTROL_PLAY:
		sb_printf(&sb, "play %s", schedule_source_name(play->kind));
		if (req->path[0] != '\0')
			sb_printf(&sb, " %s", req->path);
		if (req->url[0] != '\0') {
			redact_userinfo(tmp, sizeof(tmp), req->url);
			sb_printf(&sb, " %s", tmp);
		}
		if (play->kind == SCHEDULE_SOURCE_TONE)
			sb_printf(&sb, " %g Hz %g dBFS", play->frequency_hz,
			    play->level_dbfs);
		if (play->duration_ns > 0) {
			describe_seconds(tmp, sizeof(tmp), play->duration_ns);
			sb_printf(&sb, " %s", tmp);
		} else
			sb_puts(&sb, " (whole file)");
		if (play->at_wall_ns > 0)
			sb_printf(&sb, " at %s",
			    util_format_iso8601(
				play->at_wall_ns, false, tmp, sizeof(tmp)));
		if (req->title[0] != '\0')
			sb_printf(&sb, " '%s'", req->title);
		if (req->artist[0] != '\0')
			sb_printf(&sb, " by '%s'", req->artist);
		break;
	case CONTROL_SKIP:
		sb_puts(&sb, "skip the segment on air");
		break;
	case CONTROL_METADATA:
		sb_printf(&sb, "live title '%s'", req->title);
		if (req->artist[0] != '\0')
			sb_printf(&sb, " by '%s'", req->artist);
		break;
	case CONTROL_RELOAD:
		sb_puts(&sb, "reload config and schedule");
		break;
	}
	text = sb_take(&sb);
	util_strlcpy(buf, text != NULL ? text : "?", len);
	free(text);
	return buf;
}

/* ---- Settings. ---- */

void
status_settings_from_config(
    const struct config *cfg, struct status_settings *out)
{
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
}

/* ---- The server. ---- */

struct status_server {
	struct MHD_Daemon *daemon;
	char listen_text[300];
	/* Guards settings and stopping; never taken by the pipeline. */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* event streams wait here (CLOCK_MONOTONIC) */
	struct status_settings settings;
	char *token; /* [status] token (owned, wiped on free); NULL: none */
	bool stopping;
	atomic_int n_events;
	/* The MHD logger's rate limit. */
	atomic_int_fast64_t log_last_mono_ns;
	atomic_int log_suppressed;
};

/* Per request: the verdict on the raw URI and the body seen so far. */
struct request {
	unsigned int uri_status; /* 0, 400 or 414 */
	bool headers_seen;
	uint64_t body_bytes;
	/* Control endpoints: the first STATUS_CONTROL_MAX_BODY_BYTES of the
	 * body (owned; NULL until a byte arrives). */
	char *body;
	size_t body_len;
};

struct event_stream {
	struct status_server *srv;
	char *pending;
	size_t pending_len;
	size_t pending_off;
	uint64_t digest;
	bool started;
	int64_t last_write_mono_ns;
	int64_t last_full_mono_ns;
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

/* Runs on: a connection thread, before the headers are parsed. */
static void *
uri_check_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *rq;
	const unsigned char *p;

	(void)cls;
	(void)c;
	rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return NULL;
	if (strlen(uri) > STATUS_MAX_URI_BYTES) {
		rq->uri_status = MHD_HTTP_URI_TOO_LONG;
		return rq;
	}
	for (p = (const unsigned char *)uri; *p != '\0'; p++) {
		if (*p < 0x21 || *p == 0x7f) {
			rq->uri_status = MHD_HTTP_BAD_REQUEST;
			break;
		}
		if (*p == '%' && (hexval(p[1]) < 0 || hexval(p[2]) < 0)) {
			rq->uri_status = MHD_HTTP_BAD_REQUEST;
			break;
		}
	}
	return rq;
}

/* Runs on: a connection thread. */
static void
completed_cb(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq;

	(void)cls;
	(void)c;
	(void)toe;
	rq = *req_cls;
	if (rq != NULL)
		free(rq->body);
	free(rq);
	*req_cls = NULL;
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
	if (strncmp(text, "Error processing request", 24) == 0 ||
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

/* Queues body (owned when mode is MHD_RESPMEM_MUST_FREE). */
static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int code, const char *type,
    const char *body, size_t len, enum MHD_ResponseMemoryMode mode,
    const char *cache, const char *csp, bool cors)
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
	if (cors)
		MHD_add_response_header(
		    r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	return reply(c, code, "text/plain; charset=utf-8", text, strlen(text),
	    MHD_RESPMEM_PERSISTENT, "no-store", NULL, false);
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

/* Query checks for the API endpoints: only the names they know. */
struct query_check {
	bool allow_pretty;
	bool bad;
	bool pretty;
};

static enum MHD_Result
query_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_check *q = cls;

	(void)kind;
	if (q->allow_pretty && strcmp(key, "pretty") == 0) {
		if (value == NULL || strcmp(value, "") == 0 ||
		    strcmp(value, "1") == 0)
			q->pretty = true;
		else if (strcmp(value, "0") == 0)
			q->pretty = false;
		else
			q->bad = true;
	} else
		q->bad = true;
	return MHD_YES;
}

static bool
query_ok(struct MHD_Connection *c, bool allow_pretty, bool *pretty)
{
	struct query_check q = {.allow_pretty = allow_pretty};

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_cb, &q);
	if (pretty != NULL)
		*pretty = q.pretty;
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

static enum MHD_Result
serve_status(struct status_server *srv, struct MHD_Connection *c, bool pretty)
{
	struct status_settings set;
	struct stats_snapshot *s;
	char *text;

	get_settings(srv, &set);
	s = snapshot_new();
	if (s == NULL)
		return reply_error(c, 500);
	text = status_json(s, &set, pretty);
	free(s);
	if (text == NULL)
		return reply_error(c, 500);
	return reply(c, MHD_HTTP_OK, "application/json; charset=utf-8", text,
	    strlen(text), MHD_RESPMEM_MUST_FREE, "no-store", NULL, true);
}

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
	text = status_metrics(s, &set);
	free(s);
	if (text == NULL)
		return reply_error(c, 500);
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
	    text, strlen(text), MHD_RESPMEM_MUST_FREE, "no-store", NULL, false);
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
	ok = status_healthy(s, reason, sizeof(reason));
	free(s);
	if (ok)
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	if (asprintf(&text, "%s\n", reason) < 0)
		return reply_error(c, 500);
	return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
	    "text/plain; charset=utf-8", text, strlen(text),
	    MHD_RESPMEM_MUST_FREE, "no-store", NULL, false);
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

/* The page's CSP: only relay itself, plus the Icecast origins of the
 * streams the player plays. */
static void
page_csp(const struct stats_snapshot *s, const struct status_settings *set,
    bool embed, char *buf, size_t len)
{
	char url[600], origin[600], media[1400] = "";
	size_t i, n = 0;

	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		status_output_url(s, i, set, url, sizeof(url));
		if (!url_origin(url, origin, sizeof(origin)))
			continue;
		if (strstr(media, origin) != NULL)
			continue;
		if (n + strlen(origin) + 2 >= sizeof(media))
			break;
		n += (size_t)snprintf(
		    media + n, sizeof(media) - n, " %s", origin);
	}
	snprintf(buf, len,
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "img-src 'self'; connect-src 'self'; media-src%s; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors %s",
	    n > 0 ? media : " 'none'", embed ? "*" : "'self'");
}

static enum MHD_Result
serve_page(struct status_server *srv, struct MHD_Connection *c,
    const char *template_path, bool embed)
{
	const struct www_asset *a = asset_find(template_path);
	struct status_settings set;
	struct stats_snapshot *s;
	char *text, csp[2048];

	if (a == NULL)
		return reply_error(c, 500);
	get_settings(srv, &set);
	s = snapshot_new();
	if (s == NULL)
		return reply_error(c, 500);
	text = status_render_page((const char *)a->data, s, &set);
	page_csp(s, &set, embed, csp, sizeof(csp));
	free(s);
	if (text == NULL)
		return reply_error(c, 500);
	return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", text,
	    strlen(text), MHD_RESPMEM_MUST_FREE, "no-store", csp, false);
}

/* ---- The event stream. ---- */

static uint64_t
fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n-- > 0) {
		h ^= *p++;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static uint64_t
fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

/* What the page shows: a change here sends a new event. */
static uint64_t
page_digest(const struct stats_snapshot *s, const struct status_settings *set)
{
	const struct stats_programme *p = &s->programme;
	uint64_t h = UINT64_C(14695981039346656037);
	bool on_air = status_on_air(s, set->poll_icecast_ns);
	size_t i;

	h = fnv(h, &on_air, sizeof(on_air));
	h = fnv(h, &p->state, sizeof(p->state));
	h = fnv_str(h, p->title);
	h = fnv_str(h, p->artist);
	h = fnv_str(h, p->source);
	h = fnv_str(h, p->segment);
	h = fnv(h, &p->started_at_wall_ns, sizeof(p->started_at_wall_ns));
	h = fnv(h, &p->ends_at_wall_ns, sizeof(p->ends_at_wall_ns));
	for (i = 0; i < p->n_next && i < STATS_MAX_NEXT; i++) {
		h = fnv_str(h, p->next[i].segment);
		h = fnv_str(h, p->next[i].title);
		h = fnv(h, &p->next[i].starts_at_wall_ns,
		    sizeof(p->next[i].starts_at_wall_ns));
	}
	h = fnv(h, &s->listeners, sizeof(s->listeners));
	h = fnv_str(h, s->station_name);
	h = fnv_str(h, s->station_description);
	h = fnv_str(h, s->station_url);
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		h = fnv(h, &s->outputs[i].connected,
		    sizeof(s->outputs[i].connected));
		h = fnv(h, &s->outputs[i].listeners,
		    sizeof(s->outputs[i].listeners));
	}
	h = fnv_str(h, set->public_url);
	return h;
}

/* Builds the next "data:" event into es->pending. false on OOM. */
static bool
events_build(struct event_stream *es, const struct stats_snapshot *s,
    const struct status_settings *set, int64_t now)
{
	char *json, *ev;
	int n;

	json = status_json(s, set, false);
	if (json == NULL)
		return false;
	/* cJSON escapes newlines inside strings, so the document is one
	 * line: a single "data:" field. */
	n = asprintf(
	    &ev, "%sdata: %s\n\n", es->started ? "" : "retry: 3000\n", json);
	free(json);
	if (n < 0)
		return false;
	es->pending = ev;
	es->pending_len = (size_t)n;
	es->pending_off = 0;
	es->digest = page_digest(s, set);
	es->started = true;
	es->last_write_mono_ns = now;
	es->last_full_mono_ns = now;
	return true;
}

/* Runs on: the connection's thread; may wait up to EVENTS_TICK_NS. */
static ssize_t
events_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	static const char keepalive[] = ": keepalive\n\n";
	struct event_stream *es = cls;
	struct status_server *srv = es->srv;
	struct status_settings set;
	struct stats_snapshot *s;
	struct timespec until;
	int64_t now, deadline;
	size_t n;
	bool ok;

	(void)pos;
	for (;;) {
		if (es->pending_off < es->pending_len) {
			n = es->pending_len - es->pending_off;
			if (n > max)
				n = max;
			memcpy(buf, es->pending + es->pending_off, n);
			es->pending_off += n;
			return (ssize_t)n;
		}
		free(es->pending);
		es->pending = NULL;
		es->pending_len = es->pending_off = 0;

		now = util_now_mono_ns();
		if (es->started) {
			deadline = now + EVENTS_TICK_NS;
			until.tv_sec = (time_t)(deadline / NS_PER_SEC);
			until.tv_nsec = (long)(deadline % NS_PER_SEC);
			pthread_mutex_lock(&srv->lock);
			if (!srv->stopping)
				pthread_cond_timedwait(
				    &srv->wake, &srv->lock, &until);
			pthread_mutex_unlock(&srv->lock);
		}
		if (is_stopping(srv))
			return MHD_CONTENT_READER_END_OF_STREAM;
		now = util_now_mono_ns();
		get_settings(srv, &set);
		s = snapshot_new();
		if (s == NULL)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		ok = true;
		if (!es->started || page_digest(s, &set) != es->digest ||
		    now - es->last_full_mono_ns >= EVENTS_REFRESH_NS)
			ok = events_build(es, s, &set, now);
		free(s);
		if (!ok)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (es->pending == NULL &&
		    now - es->last_write_mono_ns >= EVENTS_KEEPALIVE_NS) {
			es->pending = strdup(keepalive);
			if (es->pending == NULL)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			es->pending_len = sizeof(keepalive) - 1;
			es->pending_off = 0;
			es->last_write_mono_ns = now;
		}
	}
}

static void
events_free_cb(void *cls)
{
	struct event_stream *es = cls;

	atomic_fetch_sub(&es->srv->n_events, 1);
	free(es->pending);
	free(es);
}

static enum MHD_Result
serve_events(struct status_server *srv, struct MHD_Connection *c, bool head)
{
	struct event_stream *es;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (head) {
		return reply(c, MHD_HTTP_OK, "text/event-stream", "", 0,
		    MHD_RESPMEM_PERSISTENT, "no-store", NULL, true);
	}
	if (atomic_fetch_add(&srv->n_events, 1) >= STATUS_MAX_EVENT_STREAMS) {
		atomic_fetch_sub(&srv->n_events, 1);
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE);
	}
	es = calloc(1, sizeof(*es));
	if (es == NULL) {
		atomic_fetch_sub(&srv->n_events, 1);
		return reply_error(c, 500);
	}
	es->srv = srv;
	r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 4096, events_read_cb, es, events_free_cb);
	if (r == NULL) {
		events_free_cb(es);
		return MHD_NO;
	}
	add_headers(r, "text/event-stream; charset=utf-8", "no-store", NULL);
	MHD_add_response_header(
	    r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- The control API: the endpoints. ---- */

/* How long a control request waits for the main thread. */
#define STATUS_CONTROL_TIMEOUT_NS (5 * NS_PER_SEC)

static const char *const control_paths[] = {
    [STATUS_CONTROL_SEGMENTS] = "/api/segments",
    [STATUS_CONTROL_SKIP] = "/api/skip",
    [STATUS_CONTROL_METADATA] = "/api/metadata",
    [STATUS_CONTROL_RELOAD] = "/api/reload",
};

/* What a request meant before its body was read. */
static const char *const control_verbs[] = {
    [STATUS_CONTROL_SEGMENTS] = "play a segment",
    [STATUS_CONTROL_SKIP] = "skip the segment on air",
    [STATUS_CONTROL_METADATA] = "set the live title",
    [STATUS_CONTROL_RELOAD] = "reload config and schedule",
};

static bool
control_route_of(const char *url, enum status_control *ep)
{
	size_t i;

	for (i = 0; i < RELAY_ARRAY_LEN(control_paths); i++) {
		if (strcmp(url, control_paths[i]) == 0) {
			*ep = (enum status_control)i;
			return true;
		}
	}
	return false;
}

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

/* One audit line per control call, refused ones included; never the
 * Authorization header. A token that a client put in the body anyway is
 * blanked out. Runs on: a connection thread. */
static void
control_audit(struct status_server *srv, struct MHD_Connection *c,
    const char *method, enum status_control ep, unsigned int code,
    const char *meaning, const char *error)
{
	char who[96], m[24], line[1400], esc[1600], *red = NULL;

	client_text(c, who, sizeof(who));
	log_escape(m, sizeof(m), method);
	if (error != NULL && error[0] != '\0')
		snprintf(line, sizeof(line), "%s %s %s %u %s: %s", who, m,
		    control_paths[ep], code, meaning, error);
	else
		snprintf(line, sizeof(line), "%s %s %s %u %s", who, m,
		    control_paths[ep], code, meaning);
	pthread_mutex_lock(&srv->lock);
	if (srv->token != NULL && srv->token[0] != '\0' &&
	    strstr(line, srv->token) != NULL)
		red = util_redact(line, srv->token);
	pthread_mutex_unlock(&srv->lock);
	if (red != NULL) {
		util_strlcpy(line, red, sizeof(line));
		explicit_bzero(red, strlen(red));
		free(red);
	}
	log_escape(esc, sizeof(esc), line);
	if (code >= 200 && code < 300)
		log_info("control", "%s", esc);
	else
		log_warn("control", "%s", esc);
}

/* {"error": text} or {"ok": true, "request": text}. */
static enum MHD_Result
reply_control(struct MHD_Connection *c, unsigned int code, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	cJSON *root;
	char clean[1200], *body = NULL;

	util_sanitize_text(clean, sizeof(clean), text);
	root = cJSON_CreateObject();
	if (root != NULL) {
		if (code == MHD_HTTP_ACCEPTED) {
			if (cJSON_AddTrueToObject(root, "ok") == NULL ||
			    cJSON_AddStringToObject(root, "request", clean) ==
				NULL)
				goto out;
		} else if (cJSON_AddStringToObject(root, "error", clean) ==
			   NULL)
			goto out;
		body = cJSON_PrintUnformatted(root);
	}
out:
	cJSON_Delete(root);
	if (body == NULL)
		return reply_error(c, 500);
	r = MHD_create_response_from_buffer(
	    strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	add_headers(r, "application/json; charset=utf-8", "no-store", NULL);
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"relay\"");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* The whole control call, on the final call of the access handler (the
 * body, if any, is in rq). Runs on: a connection thread; waits up to
 * STATUS_CONTROL_TIMEOUT_NS for the main thread. */
static enum MHD_Result
serve_control(struct status_server *srv, struct MHD_Connection *c,
    const char *method, enum status_control ep, struct request *rq)
{
	struct control_request *req = NULL;
	char err[700], meaning[900];
	enum status_auth auth;
	unsigned int code = 0;
	enum MHD_Result ret;
	int rc;

	err[0] = '\0';
	util_strlcpy(meaning, control_verbs[ep], sizeof(meaning));
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		snprintf(
		    err, sizeof(err), "%s takes POST only", control_paths[ep]);
		goto answer;
	}
	pthread_mutex_lock(&srv->lock);
	auth = status_auth_check(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
				     MHD_HTTP_HEADER_AUTHORIZATION),
	    srv->token);
	pthread_mutex_unlock(&srv->lock);
	switch (auth) {
	case STATUS_AUTH_OK:
		break;
	case STATUS_AUTH_MISSING:
		code = MHD_HTTP_UNAUTHORIZED;
		util_strlcpy(err,
		    "a bearer token is required (Authorization: Bearer TOKEN)",
		    sizeof(err));
		goto answer;
	case STATUS_AUTH_WRONG:
		code = MHD_HTTP_FORBIDDEN;
		util_strlcpy(err, "wrong token", sizeof(err));
		goto answer;
	case STATUS_AUTH_DISABLED:
		code = MHD_HTTP_FORBIDDEN;
		util_strlcpy(err,
		    "control is disabled: set [status] token, "
		    "token_file or token_env",
		    sizeof(err));
		goto answer;
	}
	if (rq->body_bytes > STATUS_CONTROL_MAX_BODY_BYTES) {
		code = MHD_HTTP_CONTENT_TOO_LARGE;
		snprintf(err, sizeof(err),
		    "the body is %" PRIu64 " bytes, at most %zu allowed",
		    rq->body_bytes, STATUS_CONTROL_MAX_BODY_BYTES);
		goto answer;
	}
	req = malloc(sizeof(*req));
	if (req == NULL) {
		code = 500;
		util_strlcpy(err, "out of memory", sizeof(err));
		goto answer;
	}
	rc = status_control_parse(ep, rq->body, rq->body_len,
	    util_now_wall_ns(), req, err, sizeof(err));
	if (rc < 0) {
		code = rc == -EMSGSIZE ? MHD_HTTP_CONTENT_TOO_LARGE
				       : MHD_HTTP_BAD_REQUEST;
		goto answer;
	}
	status_control_describe(req, meaning, sizeof(meaning));
	rc = control_submit(req, STATUS_CONTROL_TIMEOUT_NS, err, sizeof(err));
	switch (rc) {
	case 0:
		code = MHD_HTTP_ACCEPTED;
		break;
	case -ETIMEDOUT:
	case -ESHUTDOWN:
	case -ENOTSUP:
		code = MHD_HTTP_SERVICE_UNAVAILABLE;
		break;
	default:
		code = MHD_HTTP_UNPROCESSABLE_CONTENT;
		break;
	}
	if (code != MHD_HTTP_ACCEPTED && err[0] == '\0') {
		char ebuf[128];

		snprintf(err, sizeof(err), "refused (%s)",
		    strerror_r(-rc, ebuf, sizeof(ebuf)));
	}
answer:
	free(req);
	control_audit(srv, c, method, ep, code, meaning,
	    code == MHD_HTTP_ACCEPTED ? NULL : err);
	ret = reply_control(c, code, code == MHD_HTTP_ACCEPTED ? meaning : err);
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
	enum status_control ep;
	enum route route;
	bool head, pretty = false, control;

	(void)version;
	if (rq == NULL)
		return MHD_NO; /* out of memory in uri_check_cb */
	control = rq->uri_status == 0 && control_route_of(url, &ep);
	if (!rq->headers_seen) {
		rq->headers_seen = true;
		/* A control body that would be dropped anyway (over
		 * STATUS_MAX_BODY_BYTES) gets its answer now, before it is
		 * sent: libmicrohttpd allows a response at this first call. */
		if (control && content_length(c) > STATUS_MAX_BODY_BYTES) {
			rq->body_bytes = content_length(c);
			return serve_control(srv, c, method, ep, rq);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* A body is read before any answer (FIELD-NOTES 6.3): kept
		 * up to the control limit on control paths, else dropped. */
		if (control && rq->body_len < STATUS_CONTROL_MAX_BODY_BYTES) {
			size_t n = STATUS_CONTROL_MAX_BODY_BYTES - rq->body_len;

			if (rq->body == NULL)
				rq->body =
				    malloc(STATUS_CONTROL_MAX_BODY_BYTES + 1);
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
	switch (route) {
	case ROUTE_PAGE:
		return serve_page(srv, c, "/index.html", false);
	case ROUTE_EMBED:
		return serve_page(srv, c, "/embed.html", true);
	case ROUTE_STATUS:
		if (!query_ok(c, true, &pretty))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_status(srv, c, pretty);
	case ROUTE_EVENTS:
		if (!query_ok(c, false, NULL))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_events(srv, c, head);
	case ROUTE_METRICS:
		if (!query_ok(c, false, NULL))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_metrics(srv, c);
	case ROUTE_HEALTH:
		if (!query_ok(c, false, NULL))
			return reply_error(c, MHD_HTTP_BAD_REQUEST);
		return serve_health(c);
	case ROUTE_ASSET:
		return reply(c, MHD_HTTP_OK, asset->type,
		    (const char *)asset->data, asset->bytes,
		    MHD_RESPMEM_PERSISTENT, "public, max-age=3600", NULL,
		    false);
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
		snprintf(err, errlen, "[status] listen %s: %s", sc->listen,
		    strerror_r(saved, ebuf, sizeof(ebuf)));
		return saved != 0 ? -saved : -EADDRNOTAVAIL;
	}
	return fd;
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
	atomic_init(&srv->n_events, 0);
	atomic_init(&srv->log_last_mono_ns, 0);
	atomic_init(&srv->log_suppressed, 0);
	if (strchr(host, ':') != NULL)
		snprintf(srv->listen_text, sizeof(srv->listen_text), "[%s]:%d",
		    host, sc->listen_port);
	else
		snprintf(srv->listen_text, sizeof(srv->listen_text), "%s:%d",
		    host, sc->listen_port);

	fd = listen_socket(sc, &family, err, errlen);
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
	    MHD_OPTION_CONNECTION_TIMEOUT,
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
	log_info(MOD,
	    "Listen Live page on http://%s/ (also /api/status, "
	    "/api/events, /metrics, /healthz)",
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
	pthread_cond_destroy(&srv->wake);
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
	/* Event streams send the new state at their next tick. */
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
	free_token(srv->token);
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
