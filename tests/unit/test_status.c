/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the status server and its views: HTML escaping, the
 * on-air and health rules (status_rules.c), the /api/status JSON (every
 * field and type, from a fabricated snapshot) and its event form
 * (status_json.c) with the control-API requests, the last reload and the
 * last programme error, the /metrics text (parsed strictly;
 * status_metrics.c), the page template, its operator notes and its CSP
 * (status_page.c), and the HTTP server
 * in-process on a loopback port (status.c: status codes, headers, a
 * prompt stop; status_events.c: the event stream), the constant-time
 * token compare, the bearer check, and the control endpoints over HTTP
 * with a fake main thread (401/403/405/400/413/422/202, the audit lines,
 * never the token).
 * The control API's parsing is tested in test_control.c.
 *
 * Threads: the tests run on the main thread; the server under test runs
 * its own threads.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "schedule.h"
#include "stats.h"
#include "status.h"
#include "status_json.h"
#include "status_metrics.h"
#include "status_page.h"
#include "status_rules.h"
#include "util.h"
#include "version.h"
#include "www_assets.h"

#define T0 (INT64_C(1795600000) * NS_PER_SEC) /* 2026-11-25T09:46:40Z */

static const struct status_settings settings = {
    .public_url = "",
    .timezone = "Europe/Amsterdam",
    .poll_icecast_ns = 5 * NS_PER_SEC,
};

/* A snapshot of a station that is on air: tone input above threshold,
 * two Icecast outputs (main and a low-bitrate one) and an archive. */
static void
fake_snapshot(struct stats_snapshot *s)
{
	struct stats_output *o;

	memset(s, 0, sizeof(*s));
	util_strlcpy(s->station_name, "Radio <Test> & \"Friends\"",
	    sizeof(s->station_name));
	util_strlcpy(s->station_description, "News 'round the clock",
	    sizeof(s->station_description));
	util_strlcpy(
	    s->station_url, "https://radio.example/", sizeof(s->station_url));
	s->start_wall_ns = T0 - 3723 * NS_PER_SEC;
	s->now_wall_ns = T0;
	s->uptime_ns = 3723 * NS_PER_SEC + 400 * NS_PER_MS;
	s->silence_threshold_dbfs = -50;
	util_strlcpy(s->input.type, "tone", sizeof(s->input.type));
	s->input.flowing = true;
	s->input.programme_flowing = true;
	s->input.peak_dbfs = -18.04;
	s->input.rms_dbfs = -21.06;
	s->input.silent_s = 0;
	s->input.frames = 44100 * 3723;
	s->input.xruns = 2;
	s->input.overflows = 4096;
	s->input.buffer_s = 2.972154;
	s->input.buffer_peak_s = 0.371519;

	s->n_encodings = 2;
	util_strlcpy(s->encodings[0].name, "main", 64);
	s->encodings[0].rate_hz = 44100;
	s->encodings[0].channels = 2;
	s->encodings[0].quality = 4;
	s->encodings[0].packets = 1000;
	s->encodings[0].bytes = 123456;
	util_strlcpy(s->encodings[1].name, "mobile", 64);
	s->encodings[1].rate_hz = 22050;
	s->encodings[1].channels = 1;
	s->encodings[1].quality = NAN;
	s->encodings[1].bitrate_kbps = 32;
	s->encodings[1].min_bitrate_kbps = 24;
	s->encodings[1].max_bitrate_kbps = 40;

	s->n_outputs = 3;
	o = &s->outputs[0];
	util_strlcpy(o->name, "main", sizeof(o->name));
	util_strlcpy(o->type, "icecast", sizeof(o->type));
	util_strlcpy(o->url, "http://127.0.0.1:8000/live.ogg", sizeof(o->url));
	util_strlcpy(o->encoding, "main", sizeof(o->encoding));
	util_strlcpy(o->host, "127.0.0.1", sizeof(o->host));
	o->port = 8000;
	util_strlcpy(o->mount, "/live.ogg", sizeof(o->mount));
	o->connected = true;
	o->since_wall_ns = T0 - 60 * NS_PER_SEC;
	o->bytes_sent = 5000000;
	o->queue_bytes = 4096;
	o->reconnects = 1;
	o->server_reachable = true;
	o->mount_listed = true;
	o->server_seen_wall_ns = T0 - 2 * NS_PER_SEC;
	o->listeners = 3;
	o->listener_peak = 7;
	o->cors_known = true;
	util_strlcpy(o->cors_allow_origin, "https://radio.example",
	    sizeof(o->cors_allow_origin));

	o = &s->outputs[1];
	util_strlcpy(o->name, "mo\"bile", sizeof(o->name));
	util_strlcpy(o->type, "icecast", sizeof(o->type));
	util_strlcpy(
	    o->url, "http://127.0.0.1:8000/mobile.ogg", sizeof(o->url));
	util_strlcpy(o->encoding, "mobile", sizeof(o->encoding));
	util_strlcpy(o->mount, "/mobile.ogg", sizeof(o->mount));
	o->connected = false;
	util_strlcpy(
	    o->last_error, "connection refused\x01", sizeof(o->last_error));
	o->last_error_wall_ns = T0 - 5 * NS_PER_SEC - NS_PER_SEC * 4 / 10;
	o->listeners = -1;
	o->listener_peak = -1;

	o = &s->outputs[2];
	util_strlcpy(o->name, "archive", sizeof(o->name));
	util_strlcpy(o->type, "file", sizeof(o->type));
	util_strlcpy(o->encoding, "main", sizeof(o->encoding));
	o->connected = true;
	o->listeners = -1;
	o->listener_peak = -1;

	s->programme.state = PROGRAMME_LIVE;
	util_strlcpy(s->programme.title, "The <b>Morning</b> Show",
	    sizeof(s->programme.title));
	util_strlcpy(
	    s->programme.artist, "Ana & Bo", sizeof(s->programme.artist));
	util_strlcpy(s->programme.source, "live", sizeof(s->programme.source));
	s->programme.started_at_wall_ns = T0 - 600 * NS_PER_SEC;
	s->listeners = 3;
}

/* ---- Escaping. ---- */

static void
test_html_escape(void **state)
{
	char buf[64];
	size_t n;

	(void)state;
	n = status_page_html_escape(buf, sizeof(buf), "a<b>&\"c'd");
	assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&#39;d");
	assert_int_equal(n, strlen(buf));
	n = status_page_html_escape(buf, sizeof(buf), "plain");
	assert_string_equal(buf, "plain");
	assert_int_equal(n, 5);
	n = status_page_html_escape(NULL, 0, "<<");
	assert_int_equal(n, 8);
	/* Truncation keeps whole entities ... */
	n = status_page_html_escape(buf, 7, "ab<cd");
	assert_string_equal(buf, "ab&lt;");
	assert_int_equal(n, 8);
	n = status_page_html_escape(buf, 6, "ab<cd");
	assert_string_equal(buf, "ab");
	/* ... and whole UTF-8 sequences ("é" is 2 bytes, "€" 3). */
	n = status_page_html_escape(buf, 3, "a\xc3\xa9");
	assert_string_equal(buf, "a");
	assert_int_equal(n, 3);
	n = status_page_html_escape(buf, 5, "\xe2\x82\xac\xe2\x82\xac");
	assert_string_equal(buf, "\xe2\x82\xac");
	/* Right-to-left text passes untouched. */
	status_page_html_escape(
	    buf, sizeof(buf), "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
	assert_string_equal(buf, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
}

/* ---- Rules. ---- */

/* A last error is history once the output has connected since (to the
 * second, as the operator page's script compares the shown times). */
static void
test_output_error_past(void **state)
{
	struct stats_output o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_false(status_rules_output_error_past(&o));
	o.connected = true;
	assert_false(status_rules_output_error_past(&o));
	util_strlcpy(o.last_error, "connection refused", sizeof(o.last_error));
	o.last_error_wall_ns = T0 - 10 * NS_PER_SEC;
	o.since_wall_ns = T0 - 9 * NS_PER_SEC;
	assert_true(status_rules_output_error_past(&o));
	/* The same second shown: connected after it. */
	o.last_error_wall_ns = T0 + NS_PER_SEC / 10;
	o.since_wall_ns = T0 + NS_PER_SEC / 5;
	assert_true(status_rules_output_error_past(&o));
	/* An error while connected is current. */
	o.last_error_wall_ns = T0 + 2 * NS_PER_SEC;
	assert_false(status_rules_output_error_past(&o));
	/* Down: current. */
	o.connected = false;
	o.last_error_wall_ns = T0 - 10 * NS_PER_SEC;
	assert_false(status_rules_output_error_past(&o));
}

static void
test_on_air_rule(void **state)
{
	struct stats_snapshot s;
	int64_t poll = settings.poll_icecast_ns;

	(void)state;
	fake_snapshot(&s);
	assert_true(status_rules_on_air(&s, poll));
	assert_string_equal(status_rules_state_name(&s, true), "live");

	s.input.flowing = false;
	assert_false(status_rules_on_air(&s, poll));
	assert_string_equal(status_rules_state_name(&s, false), "off_air");
	/* Silence is off air after the station's dead-air time: 10 s
	 * without [fallback] (a 7 s pause is no dead air), [fallback] after
	 * with it. */
	fake_snapshot(&s);
	s.input.silent_s = 7.0;
	assert_true(status_rules_on_air(&s, poll));
	s.input.silent_s = 9.9;
	assert_true(status_rules_on_air(&s, poll));
	s.input.silent_s = 10.0;
	assert_false(status_rules_on_air(&s, poll));
	s.fallback.after_ns = 3 * NS_PER_SEC;
	assert_true(status_rules_dead_air_s(&s) == 3.0);
	s.input.silent_s = 2.9;
	assert_true(status_rules_on_air(&s, poll));
	s.input.silent_s = 3.0;
	assert_false(status_rules_on_air(&s, poll));
	s.input.silent_s = NAN;
	assert_false(status_rules_on_air(&s, poll));

	fake_snapshot(&s);
	s.outputs[0].connected = false;
	assert_false(
	    status_rules_on_air(&s, poll)); /* the file output is no help */
	fake_snapshot(&s);
	s.outputs[0].mount_listed = false;
	assert_false(status_rules_on_air(&s, poll));
	fake_snapshot(&s);
	s.outputs[0].server_seen_wall_ns = 0;
	assert_false(status_rules_on_air(&s, poll));
	/* Seen recently: within 2 polls + 5 s. */
	s.outputs[0].server_seen_wall_ns = T0 - 14 * NS_PER_SEC;
	assert_true(status_rules_on_air(&s, poll));
	s.outputs[0].server_seen_wall_ns = T0 - 16 * NS_PER_SEC;
	assert_false(status_rules_on_air(&s, poll));
	assert_true(status_rules_on_air(&s, 10 * NS_PER_SEC));

	/* Just connected, and the listing is the previous source's (it
	 * started 7 s before our connection): not ours, until the
	 * connection is 5 s old (a server clock behind ours). */
	fake_snapshot(&s);
	s.outputs[0].since_wall_ns = T0 - NS_PER_SEC / 10;
	s.outputs[0].server_seen_wall_ns = T0;
	s.outputs[0].listing_start_wall_ns = T0 - 7 * NS_PER_SEC;
	assert_false(status_rules_on_air(&s, poll));
	s.outputs[0].listing_start_wall_ns = T0 - 2 * NS_PER_SEC;
	assert_true(status_rules_on_air(&s, poll));
	s.outputs[0].listing_start_wall_ns = 0;
	assert_true(status_rules_on_air(&s, poll));
	s.outputs[0].listing_start_wall_ns = T0 - 7 * NS_PER_SEC;
	s.outputs[0].since_wall_ns = T0 - 5 * NS_PER_SEC;
	assert_true(status_rules_on_air(&s, poll));

	/* The second Icecast output alone is enough. */
	fake_snapshot(&s);
	s.outputs[0].connected = false;
	s.outputs[1].connected = true;
	s.outputs[1].mount_listed = true;
	s.outputs[1].server_seen_wall_ns = T0;
	assert_true(status_rules_on_air(&s, poll));

	fake_snapshot(&s);
	s.programme.state = PROGRAMME_SEGMENT;
	assert_string_equal(status_rules_state_name(&s, true), "segment");
	s.programme.state = PROGRAMME_FALLBACK;
	assert_true(status_rules_on_air(&s, poll));
	assert_string_equal(status_rules_state_name(&s, true), "fallback");
	/* The filler (or a segment) over a stalled input: on air while the
	 * programme flows; live needs its input's frames. */
	s.input.flowing = false;
	assert_true(status_rules_on_air(&s, poll));
	s.programme.state = PROGRAMME_SEGMENT;
	assert_true(status_rules_on_air(&s, poll));
	s.input.programme_flowing = false;
	assert_false(status_rules_on_air(&s, poll));
	s.programme.state = PROGRAMME_LIVE;
	s.input.programme_flowing = true;
	assert_false(status_rules_on_air(&s, poll));
	s.programme.state = PROGRAMME_FALLBACK;
	s.programme.state = PROGRAMME_OFF_AIR;
	assert_false(status_rules_on_air(&s, poll));
}

static const char *template_of(const char *path);

/* With listen-back on, on_air means "listeners hear our audio". */
static void
test_on_air_listenback(void **state)
{
	struct stats_snapshot s;
	int64_t poll = settings.poll_icecast_ns;
	struct stats_listenback *lb;
	char *json, *metrics, *html;

	(void)state;
	fake_snapshot(&s);
	assert_false(status_rules_listenback(&s));
	lb = &s.outputs[0].listenback;
	lb->state = LISTENBACK_CONNECTING;
	lb->lag_ms = -1;
	assert_true(status_rules_listenback(&s));
	/* The source side looks perfect, but nobody has heard us yet. */
	assert_false(status_rules_on_air(&s, poll));
	lb->state = LISTENBACK_OK;
	assert_true(status_rules_on_air(&s, poll));
	/* Listeners hear us even while the poller has not listed it. */
	s.outputs[0].mount_listed = false;
	assert_true(status_rules_on_air(&s, poll));
	lb->state = LISTENBACK_NO_AUDIO;
	assert_false(status_rules_on_air(&s, poll));
	assert_true(stats_listenback_flagged(lb));
	lb->state = LISTENBACK_FOREIGN;
	assert_false(status_rules_on_air(&s, poll));
	assert_true(stats_listenback_flagged(lb));
	lb->state = LISTENBACK_SILENT;
	assert_false(status_rules_on_air(&s, poll));
	assert_true(stats_listenback_flagged(lb));
	assert_string_equal(status_rules_state_name(&s, false), "off_air");
	/* One mount heard is enough; off-air programme stays off air. */
	s.outputs[1].listenback.state = LISTENBACK_OK;
	assert_true(status_rules_on_air(&s, poll));
	s.programme.state = PROGRAMME_OFF_AIR;
	assert_false(status_rules_on_air(&s, poll));

	fake_snapshot(&s);
	lb = &s.outputs[0].listenback;
	lb->state = LISTENBACK_SILENT;
	lb->audio = true;
	lb->ours = true;
	lb->decoded = true;
	lb->silent_s = 7.25;
	lb->rms_dbfs = -200;
	lb->peak_dbfs = -61.04;
	lb->lag_ms = 812;
	lb->connects = 3;
	util_strlcpy(
	    lb->url, "http://127.0.0.1:8000/live.ogg", sizeof(lb->url));
	json = status_json(&s, &settings, false);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"on_air\":false"));
	assert_non_null(strstr(json, "\"on_air_rule\":\"listenback\""));
	assert_non_null(strstr(
	    json, "\"listenback\":{\"state\":\"silent\",\"flagged\":true"));
	assert_non_null(strstr(json, "\"silent_s\":7.3"));
	assert_non_null(strstr(json, "\"rms_dbfs\":-120"));
	assert_non_null(strstr(json, "\"lag_ms\":812"));
	/* The outputs without listen-back say null. */
	assert_non_null(strstr(json, "\"listenback\":null"));
	free(json);
	/* Audio it could not decode: levels unknown, not -120. */
	lb->decoded = false;
	json = status_json(&s, &settings, false);
	assert_non_null(json);
	assert_non_null(strstr(json,
	    "\"decoded\":false,\"peak_dbfs\":null,\"rms_dbfs\":null,"
	    "\"silent_s\":null"));
	free(json);
	lb->decoded = true;
	metrics = status_metrics(&s, &settings);
	assert_non_null(metrics);
	assert_non_null(strstr(metrics, "relay_on_air 0\n"));
	assert_non_null(
	    strstr(metrics, "relay_listenback_flagged{output=\"main\"} 1\n"));
	assert_non_null(
	    strstr(metrics, "relay_listenback_audio{output=\"main\"} 1\n"));
	assert_non_null(strstr(
	    metrics, "relay_listenback_lag_seconds{output=\"main\"} 0.812\n"));
	assert_non_null(strstr(
	    metrics, "relay_listenback_rms_dbfs{output=\"main\"} -120\n"));
	/* No sample for outputs without listen-back (that output has one
	 * in the other families). */
	assert_non_null(
	    strstr(metrics, "relay_output_connected{output=\"mo\\\"bile\"}"));
	assert_null(
	    strstr(metrics, "relay_listenback_audio{output=\"mo\\\"bile\"}"));
	free(metrics);
	/* Undecoded: no level samples (not -120), the rest still there. */
	lb->decoded = false;
	metrics = status_metrics(&s, &settings);
	assert_non_null(metrics);
	assert_null(
	    strstr(metrics, "relay_listenback_rms_dbfs{output=\"main\"}"));
	assert_null(strstr(
	    metrics, "relay_listenback_silent_seconds{output=\"main\"}"));
	assert_non_null(
	    strstr(metrics, "relay_listenback_flagged{output=\"main\"} 1\n"));
	free(metrics);
	lb->decoded = true;

	/* The page's operator notes say it, with the other mount heard. */
	s.outputs[1].listenback.state = LISTENBACK_OK;
	s.outputs[1].listenback.lag_ms = 640;
	s.outputs[1].listenback.rms_dbfs = -14.6;
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(strstr(html, "main: listeners hear SILENCE (7 s); "
				     "mo&quot;bile: heard (lag 640 ms, "
				     "RMS -15 dBFS)"));
	assert_null(strstr(html, "id=\"ops\" class=\"ops\" hidden"));
	free(html);
}

static void
test_health(void **state)
{
	struct stats_snapshot s;
	char reason[256];

	(void)state;
	fake_snapshot(&s);
	assert_true(status_rules_healthy(&s, reason, sizeof(reason)));
	assert_string_equal(reason, "");
	/* Any connected output counts, even the archive. */
	s.outputs[0].connected = false;
	assert_true(status_rules_healthy(&s, reason, sizeof(reason)));
	s.outputs[2].connected = false;
	assert_false(status_rules_healthy(&s, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "no output connected"));
	assert_non_null(strstr(reason, "connection refused"));
	assert_null(strchr(reason, '\x01'));
	s.input.flowing = false;
	assert_false(status_rules_healthy(&s, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "input not flowing"));
	fake_snapshot(&s);
	s.input.flowing = false;
	assert_false(status_rules_healthy(&s, reason, sizeof(reason)));
	assert_string_equal(reason, "input not flowing");
	fake_snapshot(&s);
	s.n_outputs = 0;
	assert_false(status_rules_healthy(&s, reason, sizeof(reason)));
	assert_string_equal(reason, "no output configured");
}

static void
test_output_url(void **state)
{
	struct stats_snapshot s;
	struct status_settings set = settings;
	char buf[256];

	(void)state;
	fake_snapshot(&s);
	assert_string_equal(
	    status_rules_output_url(&s, 0, &set, buf, sizeof(buf)),
	    "http://127.0.0.1:8000/live.ogg");
	util_strlcpy(set.public_url, "https://stream.example/radio/",
	    sizeof(set.public_url));
	assert_string_equal(
	    status_rules_output_url(&s, 0, &set, buf, sizeof(buf)),
	    "https://stream.example/radio/live.ogg");
	assert_string_equal(
	    status_rules_output_url(&s, 2, &set, buf, sizeof(buf)), "");
	assert_string_equal(
	    status_rules_output_url(&s, 9, &set, buf, sizeof(buf)), "");
}

/* ---- JSON. ---- */

static const cJSON *
get(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (it == NULL)
		fail_msg("missing key \"%s\"", key);
	return it;
}

static const char *
get_str(const cJSON *obj, const char *key)
{
	const cJSON *it = get(obj, key);

	if (!cJSON_IsString(it))
		fail_msg("\"%s\" is not a string", key);
	return it->valuestring;
}

static double
get_num(const cJSON *obj, const char *key)
{
	const cJSON *it = get(obj, key);

	if (!cJSON_IsNumber(it))
		fail_msg("\"%s\" is not a number", key);
	return it->valuedouble;
}

static void
test_json_schema(void **state)
{
	struct stats_snapshot s;
	const cJSON *st, *now, *in, *arr, *e, *o;
	cJSON *doc;
	char *text;

	(void)state;
	fake_snapshot(&s);
	s.input.peak_dbfs = -INFINITY;
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	doc = cJSON_Parse(text);
	assert_non_null(doc);

	st = get(doc, "station");
	assert_true(cJSON_IsObject(st));
	assert_string_equal(get_str(st, "name"), "Radio <Test> & \"Friends\"");
	assert_string_equal(
	    get_str(st, "description"), "News 'round the clock");
	assert_string_equal(get_str(st, "url"), "https://radio.example/");
	assert_true(cJSON_IsTrue(get(doc, "on_air")));
	assert_string_equal(get_str(doc, "state"), "live");
	assert_true(get_num(doc, "uptime_s") == 3723);
	assert_string_equal(get_str(doc, "time"), "2026-11-25T09:46:40Z");
	assert_string_equal(get_str(doc, "version"), RELAY_VERSION);

	now = get(doc, "now");
	assert_string_equal(get_str(now, "title"), "The <b>Morning</b> Show");
	assert_string_equal(get_str(now, "artist"), "Ana & Bo");
	assert_string_equal(get_str(now, "source"), "live");
	assert_true(cJSON_IsNull(get(now, "segment")));
	assert_string_equal(get_str(now, "started_at"), "2026-11-25T09:36:40Z");
	assert_true(cJSON_IsNull(get(now, "ends_at")));
	assert_true(cJSON_IsArray(get(doc, "next")));
	assert_int_equal(cJSON_GetArraySize(get(doc, "next")), 0);

	in = get(doc, "input");
	assert_string_equal(get_str(in, "type"), "tone");
	assert_true(cJSON_IsTrue(get(in, "flowing")));
	assert_true(get_num(in, "peak_dbfs") == -120.0); /* -inf clamped */
	assert_true(get_num(in, "rms_dbfs") == -21.1);
	assert_true(get_num(in, "silent_s") == 0);
	assert_true(get_num(in, "silence_threshold_dbfs") == -50);
	assert_true(get_num(in, "xruns") == 2);
	assert_true(get_num(in, "overflow_frames") == 4096);
	assert_true(get_num(in, "buffer_s") == 2.97);
	assert_true(get_num(in, "buffer_peak_s") == 0.37);

	arr = get(doc, "encodings");
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	e = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(get_str(e, "name"), "main");
	assert_true(get_num(e, "rate") == 44100);
	assert_true(get_num(e, "channels") == 2);
	assert_true(get_num(e, "quality") == 4);
	assert_true(cJSON_IsNull(get(e, "bitrate")));
	e = cJSON_GetArrayItem(arr, 1);
	assert_true(cJSON_IsNull(get(e, "quality")));
	assert_true(get_num(e, "bitrate") == 32);

	arr = get(doc, "outputs");
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	o = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(get_str(o, "name"), "main");
	assert_string_equal(get_str(o, "type"), "icecast");
	assert_string_equal(get_str(o, "encoding"), "main");
	assert_string_equal(
	    get_str(o, "url"), "http://127.0.0.1:8000/live.ogg");
	assert_true(cJSON_IsTrue(get(o, "connected")));
	assert_string_equal(get_str(o, "since"), "2026-11-25T09:45:40Z");
	assert_true(get_num(o, "bytes_sent") == 5000000);
	assert_true(get_num(o, "queue_bytes") == 4096);
	assert_true(get_num(o, "dropped_bytes") == 0);
	assert_true(get_num(o, "reconnects") == 1);
	assert_true(cJSON_IsNull(get(o, "last_error")));
	assert_true(cJSON_IsNull(get(o, "last_error_at")));
	assert_true(cJSON_IsTrue(get(o, "server_reachable")));
	assert_true(cJSON_IsTrue(get(o, "mount_listed")));
	assert_true(get_num(o, "listeners") == 3);
	assert_true(get_num(o, "listener_peak") == 7);
	assert_string_equal(
	    get_str(o, "cors_allow_origin"), "https://radio.example");
	o = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(get_str(o, "name"), "mo\"bile");
	assert_true(cJSON_IsFalse(get(o, "connected")));
	assert_true(cJSON_IsNull(get(o, "since")));
	/* Control characters never reach the document. */
	assert_string_equal(get_str(o, "last_error"), "connection refused");
	/* When, rounded to the second as every time. */
	assert_string_equal(get_str(o, "last_error_at"), "2026-11-25T09:46:35Z");
	assert_true(cJSON_IsNull(get(o, "listeners")));
	assert_true(cJSON_IsNull(get(o, "listener_peak")));
	/* Not checked yet. */
	assert_true(cJSON_IsNull(get(o, "cors_allow_origin")));
	o = cJSON_GetArrayItem(arr, 2);
	assert_string_equal(get_str(o, "type"), "file");
	assert_true(cJSON_IsNull(get(o, "url")));
	assert_true(cJSON_IsFalse(get(o, "mount_listed")));
	assert_true(get_num(doc, "listeners") == 3);
	cJSON_Delete(doc);
	free(text);

	/* Off air, with a schedule: state, segment, next[]. */
	fake_snapshot(&s);
	s.outputs[0].mount_listed = false;
	s.programme.state = PROGRAMME_SEGMENT;
	util_strlcpy(s.programme.segment, "news", sizeof(s.programme.segment));
	s.programme.ends_at_wall_ns = T0 + 300 * NS_PER_SEC;
	s.programme.n_next = 2;
	util_strlcpy(s.programme.next[0].segment, "music", 128);
	util_strlcpy(s.programme.next[0].title, "Afternoon", STATS_TEXT);
	s.programme.next[0].starts_at_wall_ns = T0 + 300 * NS_PER_SEC;
	util_strlcpy(s.programme.next[1].segment, "news", 128);
	s.programme.next[1].starts_at_wall_ns = T0 + 3900 * NS_PER_SEC;
	text = status_json(&s, &settings, true);
	assert_non_null(text);
	assert_non_null(strchr(text, '\n')); /* pretty */
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_true(cJSON_IsFalse(get(doc, "on_air")));
	assert_string_equal(get_str(doc, "state"), "off_air");
	now = get(doc, "now");
	assert_string_equal(get_str(now, "segment"), "news");
	assert_string_equal(get_str(now, "ends_at"), "2026-11-25T09:51:40Z");
	arr = get(doc, "next");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	e = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(get_str(e, "segment"), "music");
	assert_string_equal(get_str(e, "title"), "Afternoon");
	assert_string_equal(get_str(e, "starts_at"), "2026-11-25T09:51:40Z");
	e = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(get_str(e, "title"), "");
	cJSON_Delete(doc);
	free(text);

	/* Nothing configured: arrays stay arrays. */
	memset(&s, 0, sizeof(s));
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_true(cJSON_IsArray(get(doc, "outputs")));
	assert_true(cJSON_IsArray(get(doc, "encodings")));
	assert_true(cJSON_IsArray(get(doc, "next")));
	assert_true(cJSON_IsFalse(get(doc, "on_air")));
	assert_true(cJSON_IsNull(get(get(doc, "now"), "started_at")));
	cJSON_Delete(doc);
	free(text);
}

static void
test_json_public_url(void **state)
{
	struct stats_snapshot s;
	struct status_settings set = settings;
	cJSON *doc;
	char *text;

	(void)state;
	fake_snapshot(&s);
	util_strlcpy(set.public_url, "https://radio.example/stream",
	    sizeof(set.public_url));
	text = status_json(&s, &set, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_string_equal(
	    get_str(cJSON_GetArrayItem(get(doc, "outputs"), 1), "url"),
	    "https://radio.example/stream/mobile.ogg");
	cJSON_Delete(doc);
	free(text);
}

static void
test_json_event(void **state)
{
	struct stats_snapshot s, t;
	char *json, *ev, *expect;
	uint64_t d;

	(void)state;
	fake_snapshot(&s);
	json = status_json(&s, &settings, false);
	assert_non_null(json);
	/* The first event tells the client how long to wait before it
	 * reconnects; later ones carry the document only, on one line. */
	assert_true(asprintf(&expect, "retry: 3000\ndata: %s\n\n", json) > 0);
	ev = status_json_event(&s, &settings, true);
	assert_non_null(ev);
	assert_string_equal(ev, expect);
	free(ev);
	free(expect);
	assert_true(asprintf(&expect, "data: %s\n\n", json) > 0);
	ev = status_json_event(&s, &settings, false);
	assert_non_null(ev);
	assert_string_equal(ev, expect);
	/* One "data:" line: the first newline is the one that ends it. */
	assert_ptr_equal(strchr(ev, '\n'), ev + strlen(ev) - 2);
	free(ev);
	free(expect);
	free(json);

	/* The digest follows what the page shows, not the clock or the
	 * byte counters. */
	d = status_json_digest(&s, &settings);
	t = s;
	t.now_wall_ns += 7 * NS_PER_SEC;
	t.outputs[0].bytes_sent += 1000;
	assert_true(status_json_digest(&t, &settings) == d);
	t = s;
	util_strlcpy(t.programme.title, "Another show", STATS_TEXT);
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	t.listeners = 4;
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	t.input.flowing = false; /* off air */
	assert_true(status_json_digest(&t, &settings) != d);
}

/* ---- Metrics: a strict parser of the text format. ---- */

static bool
metric_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 ||
	    !(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)p[i]) || p[i] == '_' ||
			p[i] == ':'))
			return false;
	return true;
}

/* Checks one sample line; returns the metric name length, 0 if bad. */
static size_t
check_sample(const char *line, double *value)
{
	const char *p = line;
	char *end;
	size_t n;

	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	n = (size_t)(p - line);
	if (!metric_name_ok(line, n))
		return 0;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			const char *k = p;

			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			if (p == k || *p != '=' || p[1] != '"')
				return 0;
			p += 2;
			while (*p != '"') {
				if (*p == '\0' || *p == '\n')
					return 0;
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' &&
					    p[1] != 'n')
						return 0;
					p++;
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return 0;
		}
		p++;
	}
	if (*p != ' ')
		return 0;
	p++;
	if (strcmp(p, "NaN") == 0 || strcmp(p, "+Inf") == 0 ||
	    strcmp(p, "-Inf") == 0) {
		*value = NAN;
		return n;
	}
	errno = 0;
	*value = strtod(p, &end);
	if (end == p || *end != '\0' || errno != 0)
		return 0;
	return n;
}

/* The value of the sample line that starts with prefix. */
static double
metric(const char *text, const char *prefix)
{
	const char *p = text;

	while (p != NULL && strncmp(p, prefix, strlen(prefix)) != 0) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		fail_msg("no sample \"%s\"", prefix);
	return strtod(p + strlen(prefix), NULL);
}

static void
test_metrics(void **state)
{
	struct stats_snapshot s;
	char *text, *copy, *line, *save = NULL;
	char typed[64][64];
	size_t ntyped = 0, i, n, samples = 0;
	double v;
	bool found;

	(void)state;
	fake_snapshot(&s);
	text = status_metrics(&s, &settings);
	assert_non_null(text);
	assert_true(text[strlen(text) - 1] == '\n');
	copy = strdup(text);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			const char *name = line + 7, *sp = strchr(name, ' ');

			assert_non_null(sp);
			assert_true(metric_name_ok(name, (size_t)(sp - name)));
			assert_true(strcmp(sp + 1, "gauge") == 0 ||
				    strcmp(sp + 1, "counter") == 0);
			if (strcmp(sp + 1, "counter") == 0)
				assert_true(sp - name > 6 &&
					    strncmp(sp - 6, "_total", 6) == 0);
			assert_true(ntyped < 64);
			snprintf(typed[ntyped++], 64, "%.*s", (int)(sp - name),
			    name);
			continue;
		}
		assert_true(line[0] != '#');
		n = check_sample(line, &v);
		if (n == 0)
			fail_msg("bad sample line: %s", line);
		/* Every sample belongs to a family typed before it. */
		found = false;
		for (i = 0; i < ntyped; i++)
			if (strlen(typed[i]) == n &&
			    strncmp(typed[i], line, n) == 0)
				found = true;
		if (!found)
			fail_msg("sample before its TYPE: %s", line);
		samples++;
	}
	free(copy);
	assert_true(samples > 20);
	assert_true(metric(text, "relay_up ") == 1);
	assert_true(metric(text, "relay_on_air ") == 1);
	assert_true(metric(text, "relay_input_peak_dbfs ") == -18.04);
	assert_true(metric(text, "relay_input_xruns_total ") == 2);
	assert_true(metric(text, "relay_input_buffer_peak_seconds ") > 0.37 &&
	    metric(text, "relay_input_buffer_peak_seconds ") < 0.38);
	assert_true(
	    metric(text, "relay_output_connected{output=\"main\"} ") == 1);
	assert_true(metric(text,
			"relay_output_connected{output=\"mo\\\"bile\"} ") == 0);
	assert_true(
	    metric(text, "relay_output_bytes_sent_total{output=\"main\"} ") ==
	    5000000);
	assert_true(metric(text, "relay_listeners{output=\"main\"} ") == 3);
	assert_null(strstr(text, "relay_listeners{output=\"archive\"}"));
	assert_true(
	    metric(text, "relay_encoding_bytes_total{encoding=\"main\"} ") ==
	    123456);
	assert_non_null(strstr(text, "relay_build_info{version=\""));
	free(text);

	s.outputs[0].mount_listed = false;
	text = status_metrics(&s, &settings);
	assert_non_null(text);
	assert_true(metric(text, "relay_on_air ") == 0);
	free(text);
}

/* ---- What the control API and the planner report: requests, the last
 * reload, the last programme error, set through the real stats setters.
 * ---- */

/* Two requests (newest first: one failed, one on air), a rejected
 * reload and a programme error, in stats; then a snapshot of them. */
static void
truth_snapshot(struct stats_snapshot *s)
{
	struct stats_request r[2];

	memset(r, 0, sizeof(r));
	r[0].id = 8;
	r[0].state = STATS_REQUEST_FAILED;
	util_strlcpy(r[0].name, "api", sizeof(r[0].name));
	util_strlcpy(r[0].title, "Flash <1>", sizeof(r[0].title));
	util_strlcpy(r[0].source, "file", sizeof(r[0].source));
	r[0].starts_at_wall_ns = T0 + 30 * NS_PER_SEC;
	r[0].updated_at_wall_ns = T0 - 5 * NS_PER_SEC;
	util_strlcpy(r[0].reason, "/srv/news/flash.ogg: cannot open\x02",
	    sizeof(r[0].reason));
	r[1].id = 7;
	r[1].state = STATS_REQUEST_ON_AIR;
	util_strlcpy(r[1].name, "breaking", sizeof(r[1].name));
	util_strlcpy(r[1].title, "Breaking news", sizeof(r[1].title));
	util_strlcpy(r[1].source, "tone", sizeof(r[1].source));
	r[1].starts_at_wall_ns = T0 - 10 * NS_PER_SEC;
	r[1].ends_at_wall_ns = T0 + 20 * NS_PER_SEC;
	r[1].updated_at_wall_ns = T0 - 10 * NS_PER_SEC;
	stats_requests_set(r, 2);
	stats_reload_set(T0 - 60 * NS_PER_SEC + 250 * NS_PER_MS, false,
	    "relay.conf:14: [output.main] port = 80000: must be 1..65535 "
	    "<script>");
	stats_programme_error_set(T0 - 120 * NS_PER_SEC, "news",
	    "feed http://feed.example/news.ogg: 404 & no audio");
	stats_snapshot(s);
	/* The rules need a station on air; the rest comes from stats. */
	s->now_wall_ns = T0;
}

/* Back to "nothing happened", for the tests that follow. */
static void
truth_reset(void)
{
	struct stats_request none;

	memset(&none, 0, sizeof(none));
	stats_requests_set(&none, 0);
	stats_reload_set(0, false, "");
	stats_programme_error_set(0, "", "");
}

static void
test_truth_json(void **state)
{
	struct stats_snapshot s;
	const cJSON *arr, *r, *o;
	cJSON *doc;
	char *text;

	(void)state;
	truth_snapshot(&s);
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);

	arr = get(doc, "requests");
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	r = cJSON_GetArrayItem(arr, 0);
	assert_true(get_num(r, "id") == 8);
	assert_string_equal(get_str(r, "state"), "failed");
	assert_string_equal(get_str(r, "name"), "api");
	assert_string_equal(get_str(r, "title"), "Flash <1>");
	assert_string_equal(get_str(r, "source"), "file");
	assert_string_equal(get_str(r, "starts_at"), "2026-11-25T09:47:10Z");
	assert_true(cJSON_IsNull(get(r, "ends_at")));
	assert_string_equal(get_str(r, "updated_at"), "2026-11-25T09:46:35Z");
	/* Cleaned of control characters, like every text. */
	assert_string_equal(
	    get_str(r, "reason"), "/srv/news/flash.ogg: cannot open");
	assert_int_equal(cJSON_GetArraySize(r), 9); /* nothing more */
	r = cJSON_GetArrayItem(arr, 1);
	assert_true(get_num(r, "id") == 7);
	assert_string_equal(get_str(r, "state"), "on_air");
	assert_string_equal(get_str(r, "name"), "breaking");
	assert_string_equal(get_str(r, "source"), "tone");
	assert_string_equal(get_str(r, "ends_at"), "2026-11-25T09:47:00Z");
	assert_true(cJSON_IsNull(get(r, "reason")));

	o = get(doc, "reload");
	assert_true(cJSON_IsObject(o));
	assert_string_equal(get_str(o, "at"), "2026-11-25T09:45:40Z");
	assert_true(cJSON_IsFalse(get(o, "ok")));
	assert_string_equal(get_str(o, "detail"),
	    "relay.conf:14: [output.main] port = 80000: must be 1..65535 "
	    "<script>");
	assert_int_equal(cJSON_GetArraySize(o), 3);

	o = get(doc, "programme_error");
	assert_true(cJSON_IsObject(o));
	assert_string_equal(get_str(o, "at"), "2026-11-25T09:44:40Z");
	assert_string_equal(get_str(o, "segment"), "news");
	assert_string_equal(get_str(o, "text"),
	    "feed http://feed.example/news.ogg: 404 & no audio");
	assert_int_equal(cJSON_GetArraySize(o), 3);
	cJSON_Delete(doc);
	free(text);

	/* A successful reload; an error outside any segment. */
	stats_reload_set(T0, true, "outputs: +backup");
	stats_programme_error_set(T0, "", "schedule: nothing to play");
	stats_snapshot(&s);
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	o = get(doc, "reload");
	assert_true(cJSON_IsTrue(get(o, "ok")));
	assert_string_equal(get_str(o, "detail"), "outputs: +backup");
	o = get(doc, "programme_error");
	assert_true(cJSON_IsNull(get(o, "segment")));
	cJSON_Delete(doc);
	free(text);

	/* Nothing happened yet: an empty array and two nulls, present. */
	truth_reset();
	stats_snapshot(&s);
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_true(cJSON_IsArray(get(doc, "requests")));
	assert_int_equal(cJSON_GetArraySize(get(doc, "requests")), 0);
	assert_true(cJSON_IsNull(get(doc, "reload")));
	assert_true(cJSON_IsNull(get(doc, "programme_error")));
	cJSON_Delete(doc);
	free(text);
	/* The same from a zeroed snapshot. */
	memset(&s, 0, sizeof(s));
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_true(cJSON_IsNull(get(doc, "reload")));
	cJSON_Delete(doc);
	free(text);
}

/* The event stream must notice each of them changing. */
static void
test_truth_digest(void **state)
{
	struct stats_snapshot s, t;
	uint64_t d;

	(void)state;
	truth_snapshot(&s);
	truth_reset();
	d = status_json_digest(&s, &settings);
	t = s;
	t.requests[1].state = STATS_REQUEST_DONE;
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	util_strlcpy(t.requests[1].reason, "skipped", STATS_TEXT);
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	t.n_requests = 1;
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	t.reload.ok = true;
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	t.reload.at_wall_ns += NS_PER_SEC; /* the same error again */
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	util_strlcpy(t.reload.detail, "x", sizeof(t.reload.detail));
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	t.programme_error.at_wall_ns += NS_PER_SEC;
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	util_strlcpy(
	    t.programme_error.text, "y", sizeof(t.programme_error.text));
	assert_true(status_json_digest(&t, &settings) != d);
	t = s;
	util_strlcpy(
	    t.programme_error.segment, "z", sizeof(t.programme_error.segment));
	assert_true(status_json_digest(&t, &settings) != d);
}

/* A TYPE line for name, and whether a sample line follows it. */
static bool
metric_family(const char *text, const char *name, bool *has_sample)
{
	char type[128], sample[128];

	snprintf(type, sizeof(type), "\n# TYPE %s gauge\n", name);
	snprintf(sample, sizeof(sample), "\n%s ", name);
	*has_sample = strstr(text, sample) != NULL;
	return strstr(text, type) != NULL;
}

static void
test_truth_metrics(void **state)
{
	static const char *const names[] = {
	    "relay_reload_last_success",
	    "relay_reload_last_timestamp_seconds",
	    "relay_programme_error_last_timestamp_seconds",
	};
	struct stats_snapshot s;
	char *text;
	bool sample;
	size_t i;

	(void)state;
	truth_snapshot(&s);
	text = status_metrics(&s, &settings);
	assert_non_null(text);
	for (i = 0; i < RELAY_ARRAY_LEN(names); i++) {
		assert_true(metric_family(text, names[i], &sample));
		assert_true(sample);
	}
	assert_true(metric(text, "relay_reload_last_success ") == 0);
	assert_non_null(strstr(
	    text, "\nrelay_reload_last_timestamp_seconds 1795599940.250\n"));
	assert_non_null(strstr(text,
	    "\nrelay_programme_error_last_timestamp_seconds 1795599880.000\n"));
	free(text);

	s.reload.ok = true;
	text = status_metrics(&s, &settings);
	assert_non_null(text);
	assert_true(metric(text, "relay_reload_last_success ") == 1);
	free(text);

	/* Before the first reload or error: the families, no samples (a
	 * 0 would read as a failure, or as 1970). */
	truth_reset();
	stats_snapshot(&s);
	text = status_metrics(&s, &settings);
	assert_non_null(text);
	for (i = 0; i < RELAY_ARRAY_LEN(names); i++) {
		assert_true(metric_family(text, names[i], &sample));
		assert_false(sample);
	}
	assert_null(strstr(text, "NaN"));
	free(text);
}

/* ---- The page template. ---- */

static const char *
template_of(const char *path)
{
	const struct www_asset *a;

	for (a = www_assets; a->path != NULL; a++)
		if (strcmp(a->path, path) == 0)
			return (const char *)a->data;
	fail_msg("no embedded %s", path);
	return NULL;
}

/* The operator page names its zone as a browser knows it: a "posix/"
 * copy of a zone, or $TZ as a path into the zone directory, by its IANA
 * name. It said data-tz="posix/Asia/Kolkata", which Chromium's
 * Intl refuses: the script fell back to UTC and rewrote the first
 * paint's Kolkata times in UTC. */
static void
check_operator_zone(const char *zone, const char *env, const char *want)
{
	struct status_settings set = settings;
	struct stats_snapshot s;
	char attr[96], note[96];
	char *html;

	fake_snapshot(&s);
	util_strlcpy(set.timezone, zone, sizeof(set.timezone));
	if (env != NULL)
		assert_int_equal(setenv("TZ", env, 1), 0);
	html = status_page_render(template_of("/operator.html"), &s, &set);
	unsetenv("TZ");
	assert_non_null(html);
	snprintf(attr, sizeof(attr), "data-tz=\"%s\"", want);
	snprintf(note, sizeof(note), "Times in %s", want);
	if (strstr(html, attr) == NULL || strstr(html, note) == NULL)
		fail_msg("zone %s (TZ %s): want %s, got %.60s", zone,
		    env != NULL ? env : "unset", want, strstr(html, "data-tz"));
	free(html);
}

static void
test_operator_zone(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/posix/Asia/Kolkata", R_OK) != 0)
		skip();
	check_operator_zone("Asia/Kolkata", NULL, "Asia/Kolkata");
	check_operator_zone("posix/Asia/Kolkata", NULL, "Asia/Kolkata");
	/* Leap seconds: no zone relay reads (cron_tz_load). */
	check_operator_zone("", "right/Asia/Kolkata", "UTC");
	check_operator_zone("", "posix/Asia/Kolkata", "Asia/Kolkata");
	check_operator_zone(
	    "", ":/usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata");
	/* Nothing a browser knows: UTC, said so. */
	check_operator_zone("", ":/etc/passwd", "UTC");
	check_operator_zone("", "../../etc/passwd", "UTC");
	check_operator_zone("", "IST-5:30", "UTC");
}

static void
test_render_page(void **state)
{
	struct stats_snapshot s;
	char *html;

	(void)state;
	fake_snapshot(&s);
	html = status_page_render(
	    "<h1>{{station_name}}</h1>{{&next_items}}{{nope}}[{{now_title}}]",
	    &s, &settings);
	assert_non_null(html);
	assert_string_equal(html,
	    "<h1>Radio &lt;Test&gt; &amp; "
	    "&quot;Friends&quot;</h1>[The &lt;b&gt;Morning&lt;/b&gt; Show]");
	free(html);

	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_null(strstr(html, "{{"));
	assert_null(strstr(html, "<b>Morning"));
	assert_null(strstr(html, "<Test>"));
	assert_non_null(strstr(html, "Radio &lt;Test&gt; &amp; "
				     "&quot;Friends&quot;"));
	assert_non_null(strstr(html, ">ON AIR<"));
	assert_non_null(strstr(html, "class=\"badge on\""));
	assert_non_null(strstr(html, "data-main=\"http://127.0.0.1:8000/"
				     "live.ogg\""));
	assert_non_null(strstr(html, "data-low=\"http://127.0.0.1:8000/"
				     "mobile.ogg\""));
	assert_non_null(strstr(html, "http://127.0.0.1:8000/live.ogg.m3u"));
	assert_non_null(strstr(html, "3 listening"));
	assert_non_null(strstr(html, "data-tz=\"Europe/Amsterdam\""));
	assert_non_null(strstr(html, "datetime=\"2026-11-25T09:36:40Z\""));
	free(html);

	/* Off air, a schedule, a title with markup in next[]. */
	s.input.flowing = false;
	s.programme.n_next = 1;
	util_strlcpy(
	    s.programme.next[0].title, "<script>x</script>", STATS_TEXT);
	s.programme.next[0].starts_at_wall_ns = T0 + 60 * NS_PER_SEC;
	util_strlcpy(
	    s.station_url, "javascript:alert(1)", sizeof(s.station_url));
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(strstr(html, ">OFF AIR<"));
	assert_non_null(strstr(html, "class=\"badge off\""));
	assert_null(strstr(html, "<script>x"));
	assert_non_null(strstr(html, "&lt;script&gt;x&lt;/script&gt;"));
	assert_non_null(strstr(html, ">09:47</time>"));
	assert_null(strstr(html, "javascript:"));
	free(html);

	html = status_page_render(template_of("/embed.html"), &s, &settings);
	assert_non_null(html);
	assert_null(strstr(html, "{{"));
	assert_non_null(strstr(html, ">OFF AIR<"));
	free(html);
}

/* Operator notes at the foot of the page: a rejected reload and the last
 * programme error, escaped; nothing at all when neither happened. */
static void
test_truth_page(void **state)
{
	struct stats_snapshot s;
	char *html;

	(void)state;
	truth_snapshot(&s);
	truth_reset();
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(strstr(html, "<details id=\"ops\" class=\"ops\" >"));
	assert_non_null(strstr(html, "<p id=\"ops-reload\" >"));
	/* Rounded to the minute shown, as every time relay shows: 09:45:40
	 * is 09:46 (it was cut to 09:45). */
	assert_non_null(strstr(html,
	    "datetime=\"2026-11-25T09:45:40Z\">2026-11-25 09:46 UTC</time>"));
	assert_non_null(strstr(html, "port = 80000: must be 1..65535 "
				     "&lt;script&gt;</span>"));
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "<p id=\"ops-programme\" >"));
	assert_non_null(strstr(html,
	    "datetime=\"2026-11-25T09:44:40Z\">2026-11-25 09:45 UTC</time>"));
	assert_non_null(
	    strstr(html, ">news: feed http://feed.example/news.ogg: "
			 "404 &amp; no audio</span>"));
	free(html);

	/* The reload was applied: only the programme error is left. */
	s.reload.ok = true;
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(strstr(html, "<details id=\"ops\" class=\"ops\" >"));
	assert_non_null(strstr(html, "<p id=\"ops-reload\" hidden>"));
	assert_null(strstr(html, "80000"));
	assert_non_null(strstr(html, "<p id=\"ops-programme\" >"));
	free(html);

	s.programme_error.at_wall_ns = 0;
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(
	    strstr(html, "<details id=\"ops\" class=\"ops\" hidden>"));
	assert_non_null(strstr(html, "<p id=\"ops-programme\" hidden>"));
	assert_null(strstr(html, "feed.example"));
	free(html);
}

static void
test_page_csp(void **state)
{
	struct stats_snapshot s;
	char csp[2048];

	(void)state;
	fake_snapshot(&s);
	/* Both streams are on one origin: it appears once. */
	status_page_csp(&s, &settings, false, csp, sizeof(csp));
	assert_string_equal(csp,
	    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; "
	    "worker-src blob:; style-src 'self'; img-src 'self'; "
	    "connect-src 'self' http://127.0.0.1:8000; "
	    "media-src http://127.0.0.1:8000 blob: data:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'self'");
	status_page_csp(&s, &settings, true, csp, sizeof(csp));
	assert_non_null(strstr(csp, "; frame-ancestors *"));
	/* No usable stream URL: no media at all. */
	util_strlcpy(s.outputs[0].url, "ftp://x/y", sizeof(s.outputs[0].url));
	util_strlcpy(
	    s.outputs[1].url, "http://bad host/", sizeof(s.outputs[1].url));
	status_page_csp(&s, &settings, false, csp, sizeof(csp));
	assert_non_null(strstr(csp, "; media-src 'none'; "));
	assert_non_null(strstr(csp, "; connect-src 'self'; "));
	assert_null(strstr(csp, "wasm"));
	assert_null(strstr(csp, "blob:"));
}

/* [status] listen_urls: the edges' origins join media-src, each once, and
 * an origin that is the start of another one still gets in. */
static void
test_page_csp_edges(void **state)
{
	struct stats_snapshot s;
	char csp[4096];

	(void)state;
	fake_snapshot(&s);
	util_strlcpy(s.edges[0].url, "http://127.0.0.1:800/live.ogg",
	    sizeof(s.edges[0].url));
	util_strlcpy(s.edges[1].url, "https://edge.example/live.ogg",
	    sizeof(s.edges[1].url));
	util_strlcpy(s.edges[2].url, "https://edge.example/mobile.ogg",
	    sizeof(s.edges[2].url));
	s.n_edges = 3;
	status_page_csp(&s, &settings, false, csp, sizeof(csp));
	assert_non_null(strstr(csp,
	    "; media-src http://127.0.0.1:8000 http://127.0.0.1:800 "
	    "https://edge.example blob: data:; "));
}

/* With edges the page's stream is the first edge, every edge is offered
 * to the script (data-edges) and linked. */
static void
test_page_edges(void **state)
{
	struct stats_snapshot s;
	char *html;

	(void)state;
	fake_snapshot(&s);
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(strstr(html, "data-edges=\"\""));
	assert_non_null(
	    strstr(html, "<span id=\"edges\" class=\"edges\" hidden>"));
	free(html);

	util_strlcpy(s.edges[0].url, "https://e1.example/live.ogg?a&b",
	    sizeof(s.edges[0].url));
	util_strlcpy(s.edges[1].url, "https://e2.example/live.ogg",
	    sizeof(s.edges[1].url));
	s.n_edges = 2;
	html = status_page_render(template_of("/index.html"), &s, &settings);
	assert_non_null(html);
	assert_non_null(
	    strstr(html, "src=\"https://e1.example/live.ogg?a&amp;b\" "
			 "data-main=\"https://e1.example/live.ogg?a&amp;b\""));
	assert_non_null(
	    strstr(html, "data-edges=\"https://e1.example/live.ogg?a&amp;b "
			 "https://e2.example/live.ogg\""));
	assert_non_null(strstr(html,
	    "<span id=\"edges\" class=\"edges\" >Servers: <a "
	    "href=\"https://e1.example/live.ogg?a&amp;b\">server 1</a> · <a "
	    "href=\"https://e2.example/live.ogg\">server 2</a> ·</span>"));
	free(html);
}

/* ---- The bearer token. ---- */

#define TOKEN "s3cret-token-0123456789"

static void
test_token_equal(void **state)
{
	(void)state;
	assert_true(status_token_equal(TOKEN, TOKEN));
	assert_true(status_token_equal("a", "a"));
	/* A difference anywhere, or in length, is a mismatch. */
	assert_false(status_token_equal("s3cret-token-0123456788", TOKEN));
	assert_false(status_token_equal("S3cret-token-0123456789", TOKEN));
	assert_false(status_token_equal("s3cret-token-012345678", TOKEN));
	assert_false(status_token_equal(TOKEN "9", TOKEN));
	assert_false(status_token_equal(TOKEN TOKEN, TOKEN));
	assert_false(status_token_equal("", TOKEN));
	/* Nothing equals an empty or missing token. */
	assert_false(status_token_equal("", ""));
	assert_false(status_token_equal("x", ""));
	assert_false(status_token_equal(NULL, TOKEN));
	assert_false(status_token_equal(TOKEN, NULL));
	/* The bytes after a NUL do not count; a repeat of the token is not
	 * the token (the compare wraps around the expected text). */
	assert_false(status_token_equal("abab", "ab"));
	assert_false(status_token_equal("ab", "abab"));
}

static void
test_auth_check(void **state)
{
	(void)state;
	assert_int_equal(
	    status_auth_check("Bearer " TOKEN, TOKEN), STATUS_AUTH_OK);
	assert_int_equal(
	    status_auth_check("bearer " TOKEN, TOKEN), STATUS_AUTH_OK);
	assert_int_equal(
	    status_auth_check("BEARER   " TOKEN, TOKEN), STATUS_AUTH_OK);
	assert_int_equal(status_auth_check(NULL, TOKEN), STATUS_AUTH_MISSING);
	assert_int_equal(status_auth_check("", TOKEN), STATUS_AUTH_MISSING);
	assert_int_equal(status_auth_check("Basic dXNlcjpwYXNz", TOKEN),
	    STATUS_AUTH_MISSING);
	assert_int_equal(
	    status_auth_check("Bearer", TOKEN), STATUS_AUTH_MISSING);
	assert_int_equal(
	    status_auth_check("Bearer   ", TOKEN), STATUS_AUTH_MISSING);
	assert_int_equal(
	    status_auth_check("Bearer" TOKEN, TOKEN), STATUS_AUTH_MISSING);
	assert_int_equal(status_auth_check(TOKEN, TOKEN), STATUS_AUTH_MISSING);
	assert_int_equal(
	    status_auth_check("Bearer wrong", TOKEN), STATUS_AUTH_WRONG);
	assert_int_equal(
	    status_auth_check("Bearer " TOKEN "x", TOKEN), STATUS_AUTH_WRONG);
	assert_int_equal(
	    status_auth_check("Bearer " TOKEN " ", TOKEN), STATUS_AUTH_WRONG);
	/* No token configured: refused whatever the client sends. */
	assert_int_equal(
	    status_auth_check("Bearer " TOKEN, NULL), STATUS_AUTH_DISABLED);
	assert_int_equal(status_auth_check(NULL, NULL), STATUS_AUTH_DISABLED);
	assert_int_equal(
	    status_auth_check("Bearer ", ""), STATUS_AUTH_DISABLED);
}

/* ---- The server, in process. ---- */

static int
free_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
connect_to(int port)
{
	struct sockaddr_in sa = {0};
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads into buf until stop appears, the peer closes, or 3 s pass. */
static size_t
read_until(int fd, char *buf, size_t cap, const char *stop)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int64_t deadline = util_now_mono_ns() + 3 * NS_PER_SEC;
	size_t len = 0;
	ssize_t n;

	buf[0] = '\0';
	while (len + 1 < cap && util_now_mono_ns() < deadline) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (stop != NULL && strstr(buf, stop) != NULL)
			break;
	}
	return len;
}

/* One request on its own connection; returns the status code. */
static int
http(int port, const char *request, char *resp, size_t cap)
{
	int fd = connect_to(port), code = 0;
	size_t off = 0, len = strlen(request);
	ssize_t n;

	while (off < len) {
		n = write(fd, request + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	read_until(fd, resp, cap, NULL);
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	return code;
}

static int
get_path(int port, const char *path, char *resp, size_t cap)
{
	char *req;
	int code;

	assert_true(asprintf(&req,
			"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			"Connection: close\r\n\r\n",
			path) > 0);
	code = http(port, req, resp, cap);
	free(req);
	return code;
}

static void
fake_config(struct config *cfg, int port)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->station.name = (char *)(uintptr_t) "Unit <FM>";
	cfg->station.description = (char *)(uintptr_t) "";
	cfg->station.url = (char *)(uintptr_t) "";
	cfg->input.type = INPUT_TONE;
	cfg->input.title = (char *)(uintptr_t) "Live";
	cfg->input.artist = (char *)(uintptr_t) "";
	cfg->input.silence_threshold_dbfs = -50;
	cfg->status.enabled = true;
	cfg->status.listen = (char *)(uintptr_t) "127.0.0.1:x";
	cfg->status.listen_host = (char *)(uintptr_t) "127.0.0.1";
	cfg->status.listen_port = port;
	cfg->status.poll_icecast_ns = 5 * NS_PER_SEC;
}

static void
test_server(void **state)
{
	struct status_server *srv, *second;
	struct stats_programme prog;
	struct config cfg;
	char err[256], *resp, *big, *req;
	int port = free_port(), fd, code;
	int64_t t0;
	size_t cap = 256 * 1024;

	(void)state;
	resp = malloc(cap);
	big = malloc(40000);
	req = malloc(48000);
	assert_non_null(resp);
	assert_non_null(big);
	assert_non_null(req);
	fake_config(&cfg, port);
	stats_configure(&cfg);
	srv = status_start(&cfg, err, sizeof(err));
	if (srv == NULL)
		fail_msg("status_start: %s", err);

	/* A second server on the same port fails with a clear reason. */
	second = status_start(&cfg, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "[status] listen 127.0.0.1:x: "
				    "Address already in use"));

	code = get_path(port, "/api/status", resp, cap);
	assert_int_equal(code, 200);
	assert_non_null(strstr(resp, "Content-Type: application/json"));
	assert_non_null(strstr(resp, "Cache-Control: no-store"));
	assert_non_null(strstr(resp, "X-Content-Type-Options: nosniff"));
	assert_non_null(strstr(resp, "\"name\":\"Unit <FM>\""));
	assert_int_equal(
	    get_path(port, "/api/status?pretty=1", resp, cap), 200);
	assert_non_null(strstr(resp, "\n\t\"on_air\":\tfalse"));

	assert_int_equal(get_path(port, "/", resp, cap), 200);
	assert_non_null(strstr(resp, "Content-Security-Policy: default-src "
				     "'none'; script-src 'self'"));
	assert_non_null(strstr(resp, "<h1 id=\"station-name\" dir=\"auto\">"
				     "Unit &lt;FM&gt;</h1>"));
	assert_non_null(strstr(resp, ">OFF AIR<"));
	assert_int_equal(get_path(port, "/?utm_source=news", resp, cap), 200);
	assert_int_equal(get_path(port, "/embed", resp, cap), 200);
	assert_non_null(strstr(resp, "frame-ancestors *"));
	assert_int_equal(get_path(port, "/app.js", resp, cap), 200);
	assert_non_null(strstr(resp, "Cache-Control: public, max-age="));
	assert_non_null(strstr(resp, "text/javascript"));
	assert_int_equal(get_path(port, "/style.css?v=1", resp, cap), 200);
	assert_int_equal(get_path(port, "/icon.svg", resp, cap), 200);

	assert_int_equal(get_path(port, "/healthz", resp, cap), 503);
	assert_non_null(strstr(resp, "input not flowing"));
	assert_int_equal(get_path(port, "/metrics", resp, cap), 200);
	assert_non_null(strstr(resp, "text/plain; version=0.0.4"));
	assert_non_null(strstr(resp, "\nrelay_up 1\n"));

	/* Bad requests. */
	assert_int_equal(get_path(port, "/nope", resp, cap), 404);
	assert_int_equal(get_path(port, "/index.html.bak", resp, cap), 404);
	assert_int_equal(get_path(port, "/../etc/passwd", resp, cap), 404);
	assert_int_equal(get_path(port, "/api/status?x=1", resp, cap), 400);
	assert_int_equal(
	    get_path(port, "/api/status?pretty=2", resp, cap), 400);
	assert_int_equal(get_path(port, "/api/status?a=%zz", resp, cap), 400);
	assert_int_equal(get_path(port, "/metrics?x", resp, cap), 400);
	memset(big, 'a', 3000);
	big[0] = '/';
	big[3000] = '\0';
	assert_int_equal(get_path(port, big, resp, cap), 414);
	memset(big, 'a', 30000);
	big[0] = '/';
	big[30000] = '\0';
	assert_int_equal(get_path(port, big, resp, cap), 414);
	memset(big, 'b', 30000);
	big[30000] = '\0';
	snprintf(
	    req, 48000, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
	assert_int_equal(http(port, req, resp, cap), 431);
	code = http(port,
	    "POST /api/status HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
	    resp, cap);
	assert_int_equal(code, 405);
	assert_non_null(strstr(resp, "Allow: GET, HEAD"));
	code = http(port,
	    "DELETE / HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n",
	    resp, cap);
	assert_int_equal(code, 405);
	code = http(port,
	    "HEAD /api/status HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n",
	    resp, cap);
	assert_int_equal(code, 200);
	assert_null(strstr(resp, "\"on_air\""));
	/* The server still answers after all that. */
	assert_int_equal(get_path(port, "/api/status", resp, cap), 200);

	/* The event stream sends the state at once ... */
	fd = connect_to(port);
	assert_true(
	    write(fd, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n", 37) == 37);
	read_until(fd, resp, cap, "data: {");
	if (strstr(resp, "}\n\n") == NULL)
		read_until(
		    fd, resp + strlen(resp), cap - strlen(resp), "}\n\n");
	assert_non_null(strstr(resp, "text/event-stream"));
	assert_non_null(strstr(resp, "data: {\"station\":"));
	assert_non_null(strstr(resp, "retry: "));

	/* A change of what the page shows sends a new event within ~1 s. */
	memset(&prog, 0, sizeof(prog));
	prog.state = PROGRAMME_LIVE;
	util_strlcpy(prog.title, "Breaking \"news\"", sizeof(prog.title));
	stats_programme_set(&prog);
	t0 = util_now_mono_ns();
	read_until(fd, resp, cap, "Breaking \\\"news\\\"");
	assert_non_null(strstr(resp, "data: {"));
	assert_non_null(strstr(resp, "\"title\":\"Breaking \\\"news\\\"\""));
	assert_true(util_now_mono_ns() - t0 < 2500 * NS_PER_MS);

	/* ... and status_stop() ends it promptly. */
	t0 = util_now_mono_ns();
	status_reconfigure(srv, &cfg);
	status_stop(srv);
	assert_true(util_now_mono_ns() - t0 < 1500 * NS_PER_MS);
	close(fd);
	free(resp);
	free(big);
	free(req);
}

/* ---- The control API over HTTP, with a fake main thread. ---- */

/* What the fake main thread saw, and what it answers next. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct control_request seen;
static int seen_count;
static int answer_rc;
static const char *answer_err;
static atomic_bool main_stop;

static int
fake_handler(struct control_request *req, char *err, size_t errlen, void *arg)
{
	int rc;

	(void)arg;
	pthread_mutex_lock(&seen_lock);
	seen = *req;
	/* req's play strings point into req, on control_run()'s stack: point
	 * the copy's at its own arrays, so the test reads them after the
	 * handler returned (ASan's detect_stack_use_after_return caught it). */
	seen.play.path = req->play.path != NULL ? seen.path : NULL;
	seen.play.url = req->play.url != NULL ? seen.url : NULL;
	seen.play.title = req->play.title != NULL ? seen.title : NULL;
	seen.play.artist = req->play.artist != NULL ? seen.artist : NULL;
	seen.play.name = req->play.name != NULL ? seen.name : NULL;
	seen_count++;
	rc = answer_rc;
	if (answer_err != NULL)
		util_strlcpy(err, answer_err, errlen);
	if (rc == 0 && req->what == CONTROL_PLAY)
		req->id = 41 + (uint64_t)seen_count;
	if (rc == 0 && req->what == CONTROL_RELOAD)
		util_strlcpy(err, "2 output(s) kept streaming", errlen);
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

static int
post(int port, const char *path, const char *auth, const char *body, char *resp,
    size_t cap)
{
	char *req;
	int code;

	assert_true(asprintf(&req,
			"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			"%s%s%sContent-Type: application/json\r\n"
			"Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			path, auth != NULL ? "Authorization: " : "",
			auth != NULL ? auth : "", auth != NULL ? "\r\n" : "",
			strlen(body), body) > 0);
	code = http(port, req, resp, cap);
	free(req);
	return code;
}

/* The JSON body of a response ("" when none). */
static const char *
body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

static void
test_control_server(void **state)
{
	struct status_server *srv;
	struct config cfg;
	pthread_t main_thread;
	char err[256], *resp, *big, logpath[] = "/tmp/test_status_log.XXXXXX";
	int port = free_port(), code, logfd, saved_stderr;
	FILE *fp;
	char line[2048];
	int audit = 0;
	const char *bearer = "Bearer " TOKEN;
	size_t cap = 64 * 1024;

	(void)state;
	resp = malloc(cap);
	big = malloc(CONTROL_MAX_BODY_BYTES + 100);
	assert_non_null(resp);
	assert_non_null(big);
	assert_int_equal(control_init(fake_handler, NULL), 0);
	atomic_store(&main_stop, false);
	assert_int_equal(
	    pthread_create(&main_thread, NULL, fake_main_thread, NULL), 0);
	fake_config(&cfg, port);
	cfg.status.token = (char *)(uintptr_t)TOKEN;
	stats_configure(&cfg);
	srv = status_start(&cfg, err, sizeof(err));
	if (srv == NULL)
		fail_msg("status_start: %s", err);

	/* The audit lines go to stderr: catch them in a file. */
	logfd = mkstemp(logpath);
	assert_true(logfd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(logfd, STDERR_FILENO) >= 0);
	log_configure(LOG_LEVEL_INFO, LOG_TARGET_STDERR);

	/* No token, another scheme, a wrong token. */
	code = post(port, "/api/skip", NULL, "", resp, cap);
	assert_int_equal(code, 401);
	assert_non_null(
	    strstr(resp, "WWW-Authenticate: Bearer realm=\"relay\""));
	assert_non_null(strstr(resp, "Content-Type: application/json"));
	assert_non_null(strstr(body_of(resp), "{\"error\":\""));
	code = post(port, "/api/skip", "Basic YTpi", "", resp, cap);
	assert_int_equal(code, 401);
	code = post(port, "/api/skip", "Bearer not-the-token", "", resp, cap);
	assert_int_equal(code, 403);
	assert_string_equal(body_of(resp), "{\"error\":\"wrong token\"}");
	assert_null(strstr(resp, TOKEN));
	/* GET and HEAD: 405 with Allow: POST. */
	code = get_path(port, "/api/segments", resp, cap);
	assert_int_equal(code, 405);
	assert_non_null(strstr(resp, "Allow: POST\r\n"));
	code = http(port,
	    "HEAD /api/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n",
	    resp, cap);
	assert_int_equal(code, 405);
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen_count, 0);
	pthread_mutex_unlock(&seen_lock);

	/* A good request reaches the main thread and gets 202. */
	code = post(port, "/api/segments", bearer,
	    "{\"source\":\"tone\",\"duration\":\"3s\","
	    "\"title\":\"Breaking news\"}",
	    resp, cap);
	assert_int_equal(code, 202);
	assert_string_equal(body_of(resp),
	    "{\"ok\":true,\"request\":\"play tone 440 Hz -18 dBFS 3 s "
	    "'Breaking news' (request 42)\",\"id\":42,\"state\":"
	    "\"pending\"}");
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen_count, 1);
	assert_int_equal(seen.what, CONTROL_PLAY);
	assert_int_equal(seen.play.kind, SCHEDULE_SOURCE_TONE);
	assert_int_equal(seen.play.duration_ns, 3 * NS_PER_SEC);
	assert_string_equal(seen.title, "Breaking news");
	assert_string_equal(seen.play.title, "Breaking news");
	assert_null(seen.play.path);
	pthread_mutex_unlock(&seen_lock);

	code = post(port, "/api/metadata", "bearer " TOKEN,
	    "{\"title\":\"Live desk\",\"artist\":\"Ana\"}", resp, cap);
	assert_int_equal(code, 200);
	assert_string_equal(body_of(resp),
	    "{\"ok\":true,\"request\":\"live title 'Live desk' by "
	    "'Ana'\"}");
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen.what, CONTROL_METADATA);
	assert_string_equal(seen.title, "Live desk");
	assert_string_equal(seen.artist, "Ana");
	pthread_mutex_unlock(&seen_lock);
	assert_int_equal(post(port, "/api/skip", bearer, "", resp, cap), 200);
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen.what, CONTROL_SKIP);
	pthread_mutex_unlock(&seen_lock);
	/* A reload answers with what it did. */
	assert_int_equal(
	    post(port, "/api/reload", bearer, "{}", resp, cap), 200);
	assert_string_equal(body_of(resp),
	    "{\"ok\":true,\"request\":\"reload config and schedule\","
	    "\"result\":\"2 output(s) kept streaming\"}");
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen.what, CONTROL_RELOAD);
	assert_int_equal(seen_count, 4);
	pthread_mutex_unlock(&seen_lock);

	/* Refused by the main thread: 422 with its reason. */
	pthread_mutex_lock(&seen_lock);
	answer_rc = -ENOENT;
	answer_err = "/srv/none.ogg: cannot open: No such file or directory";
	pthread_mutex_unlock(&seen_lock);
	code = post(port, "/api/segments", bearer,
	    "{\"source\":\"tone\",\"duration\":\"3s\"}", resp, cap);
	assert_int_equal(code, 422);
	assert_string_equal(body_of(resp),
	    "{\"error\":\"/srv/none.ogg: cannot open: No such file or "
	    "directory\"}");
	pthread_mutex_lock(&seen_lock);
	answer_rc = 0;
	answer_err = NULL;
	assert_int_equal(seen_count, 5);
	pthread_mutex_unlock(&seen_lock);
	/* No [status] media_dirs (and no schedule): file segments are
	 * refused before the main thread sees them. */
	code = post(port, "/api/segments", bearer,
	    "{\"source\":\"file\",\"path\":\"/srv/none.ogg\"}", resp, cap);
	assert_int_equal(code, 422);
	assert_non_null(strstr(body_of(resp), "[status] media_dirs"));
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen_count, 5);
	pthread_mutex_unlock(&seen_lock);

	/* Bad bodies never reach the main thread. */
	code = post(port, "/api/segments", bearer,
	    "{\"source\":\"tone\",\"duration\":true}", resp, cap);
	assert_int_equal(code, 400);
	assert_non_null(strstr(body_of(resp), "\"error\":\"duration: must be"));
	code = post(port, "/api/metadata", bearer, "{\"title\":5}", resp, cap);
	assert_int_equal(code, 400);
	assert_non_null(strstr(body_of(resp), "title: must be a string"));
	code = post(port, "/api/metadata", bearer, "not json", resp, cap);
	assert_int_equal(code, 400);
	memset(big, ' ', CONTROL_MAX_BODY_BYTES + 10);
	big[0] = '{';
	big[CONTROL_MAX_BODY_BYTES + 9] = '}';
	big[CONTROL_MAX_BODY_BYTES + 10] = '\0';
	code = post(port, "/api/metadata", bearer, big, resp, cap);
	assert_int_equal(code, 413);
	pthread_mutex_lock(&seen_lock);
	assert_int_equal(seen_count, 5);
	pthread_mutex_unlock(&seen_lock);
	/* The status API is untouched by all this. */
	assert_int_equal(get_path(port, "/api/status", resp, cap), 200);

	/* A reload drops the token: control is disabled ... */
	cfg.status.token = NULL;
	status_reconfigure(srv, &cfg);
	code = post(port, "/api/skip", bearer, "", resp, cap);
	assert_int_equal(code, 403);
	assert_string_equal(body_of(resp),
	    "{\"error\":\"control is disabled: set [status] token, "
	    "token_file or token_env\"}");
	/* ... and a new token replaces the old one. */
	cfg.status.token = (char *)(uintptr_t) "another-token-4567";
	status_reconfigure(srv, &cfg);
	assert_int_equal(post(port, "/api/skip", bearer, "", resp, cap), 403);
	assert_int_equal(
	    post(port, "/api/skip", "Bearer another-token-4567", "", resp, cap),
	    200);

	status_stop(srv);
	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	log_configure(LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	atomic_store(&main_stop, true);
	pthread_join(main_thread, NULL);
	control_shutdown();

	/* One audit line per call, with the client, the method, the path,
	 * the code and the meaning; never the token. */
	fp = fdopen(logfd, "r");
	assert_non_null(fp);
	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		assert_null(strstr(line, TOKEN));
		assert_null(strstr(line, "another-token"));
		/* Nor whatever else the clients sent as credentials. */
		assert_null(strstr(line, "not-the-token"));
		assert_null(strstr(line, "YTpi"));
		if (strstr(line, " control: 127.0.0.1:") != NULL)
			audit++;
	}
	assert_int_equal(audit, 18);
	rewind(fp);
	{
		char *all = calloc(1, 65536);
		size_t n;

		assert_non_null(all);
		n = fread(all, 1, 65535, fp);
		all[n] = '\0';
		assert_non_null(strstr(all, " warn control: 127.0.0.1:"));
		assert_non_null(strstr(all, " POST /api/skip 401 skip the "
					    "segment on air: a bearer token "
					    "is required"));
		assert_non_null(strstr(all, " POST /api/skip 403 skip the "
					    "segment on air: wrong token"));
		assert_non_null(strstr(all, " GET /api/segments 405 "));
		assert_non_null(strstr(all, " HEAD /api/metadata 405 "));
		assert_non_null(strstr(all, " info control: 127.0.0.1:"));
		assert_non_null(strstr(all, " POST /api/segments 202 play tone "
					    "440 Hz -18 dBFS 3 s 'Breaking "
					    "news' (request 42)\n"));
		assert_non_null(strstr(all, " POST /api/metadata 200 live "
					    "title 'Live desk' by 'Ana'\n"));
		assert_non_null(strstr(all, " POST /api/reload 200 reload "
					    "config and schedule\n"));
		assert_non_null(strstr(all, " POST /api/segments 422 play tone "
					    "440 Hz -18 dBFS 3 s: "
					    "/srv/none.ogg: cannot open"));
		assert_non_null(strstr(all, " POST /api/segments 422 play file "
					    "/srv/none.ogg (whole file): path: "
					    "file and playlist segments are "
					    "off"));
		assert_non_null(strstr(all, " POST /api/segments 400 play a "
					    "segment: duration: must be"));
		assert_non_null(strstr(all, " POST /api/metadata 413 set the "
					    "live title: the body is 16394 "
					    "bytes"));
		assert_non_null(strstr(all, "403 skip the segment on air: "
					    "control is disabled"));
		free(all);
	}
	fclose(fp);
	unlink(logpath);
	free(resp);
	free(big);
}

static void
test_disabled(void **state)
{
	struct config cfg;
	char err[128];

	(void)state;
	fake_config(&cfg, 1);
	cfg.status.enabled = false;
	assert_null(status_start(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "off"));
	status_stop(NULL);
	status_reconfigure(NULL, &cfg);
}

/* uptime_s is the difference of the two instants /api/status shows to
 * the second, rounded as every time is: time - uptime_s is relay's start
 * rounded, not a second after it. It was the uptime truncated: started at
 * .3 and read at .6 of a second later, "time" showed the next second and
 * uptime_s one second less than that difference. */
static void
test_json_durations_match_times(void **state)
{
	struct stats_snapshot s;
	const cJSON *cert;
	cJSON *doc;
	char *text;

	(void)state;
	fake_snapshot(&s);
	/* Started at T0 - 7 s + 0.3 s, read at T0 + 0.6 s: 7.3 s of
	 * uptime; "time" shows T0 + 1 s, the start T0 - 7 s. */
	s.now_wall_ns = T0 + 600 * NS_PER_MS;
	s.start_wall_ns = T0 - 7 * NS_PER_SEC + 300 * NS_PER_MS;
	s.uptime_ns = s.now_wall_ns - s.start_wall_ns;
	text = status_json(&s, &settings, false);
	assert_non_null(text);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_string_equal(get_str(doc, "time"), "2026-11-25T09:46:41Z");
	assert_true(get_num(doc, "uptime_s") == 8);
	cJSON_Delete(doc);
	free(text);
	/* Read at .4 past: both round down, the same 7 s. A server
	 * certificate that expires at T0 + 10 s expires in the 10 s between
	 * the two times shown, not in 9 (9.6 truncated). */
	s.now_wall_ns = T0 + 400 * NS_PER_MS;
	s.start_wall_ns = T0 - 7 * NS_PER_SEC + 300 * NS_PER_MS;
	s.uptime_ns = s.now_wall_ns - s.start_wall_ns;
	s.outputs[0].tls = true;
	s.outputs[0].tls_not_after_wall_ns = T0 + 10 * NS_PER_SEC;
	text = status_json(&s, &settings, false);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_string_equal(get_str(doc, "time"), "2026-11-25T09:46:40Z");
	assert_true(get_num(doc, "uptime_s") == 7);
	cert = get(cJSON_GetArrayItem(get(doc, "outputs"), 0),
	    "tls_certificate");
	assert_string_equal(get_str(cert, "not_after"), "2026-11-25T09:46:50Z");
	assert_true(get_num(cert, "expires_in_s") == 10);
	cJSON_Delete(doc);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_durations_match_times),
	    cmocka_unit_test(test_html_escape),
	    cmocka_unit_test(test_on_air_rule),
	    cmocka_unit_test(test_output_error_past),
	    cmocka_unit_test(test_on_air_listenback),
	    cmocka_unit_test(test_health),
	    cmocka_unit_test(test_output_url),
	    cmocka_unit_test(test_json_schema),
	    cmocka_unit_test(test_json_public_url),
	    cmocka_unit_test(test_json_event),
	    cmocka_unit_test(test_metrics),
	    cmocka_unit_test(test_truth_json),
	    cmocka_unit_test(test_truth_digest),
	    cmocka_unit_test(test_truth_metrics),
	    cmocka_unit_test(test_truth_page),
	    cmocka_unit_test(test_render_page),
	    cmocka_unit_test(test_operator_zone),
	    cmocka_unit_test(test_page_csp),
	    cmocka_unit_test(test_page_csp_edges),
	    cmocka_unit_test(test_page_edges),
	    cmocka_unit_test(test_server),
	    cmocka_unit_test(test_token_equal),
	    cmocka_unit_test(test_auth_check),
	    cmocka_unit_test(test_control_server),
	    cmocka_unit_test(test_disabled),
	};

	log_configure(LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
