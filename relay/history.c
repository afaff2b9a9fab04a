/* SPDX-License-Identifier: MIT */
/*
 * The history rings behind /api/history. See history.h.
 *
 * Slots follow the wall clock: a minute slot is the clock minute (10:41:00
 * to 10:42:00), a second slot the clock second, so a label means what it
 * says; the first slot (relay started at 10:41:23) is partial. A slot
 * begins at the wall-clock boundary, found on the monotonic clock when the
 * slot began (slot_align()), so a clock step moves the labels, never the
 * spacing, and the next slot realigns. A minute in which an
 * output was not sampled (relay was not running it) stays empty: null in
 * the JSON, a gap in the chart.
 *
 * Threads: see history.h.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "log.h"
#include "strbuf.h"
#include "json_build.h"
#include "util.h"

/* One output during one minute: 20 bytes. */
struct minute_point {
	int32_t listeners;   /* the most seen; -1 unknown */
	uint16_t samples;    /* 0: not sampled (null in the JSON) */
	uint16_t connected;  /* samples in which it was connected */
	uint32_t reconnects; /* in this minute */
	uint32_t dropped_bytes;
	int32_t lag_ms; /* the worst; -1 unknown */
};

struct output_track {
	bool used;
	char name[64];
	bool have_last;
	uint64_t last_reconnects;
	uint64_t last_dropped;
	struct minute_point pts[HISTORY_MINUTES];
};

struct history_event {
	int64_t at_wall_ns;
	bool error; /* a programme error; else something went on air */
	char segment[128];
	char title[STATS_TEXT];
	char source[32];
	char text[STATS_TEXT];
};

struct history {
	pthread_mutex_t lock;
	int64_t minute_ns;
	/* Minutes: n_minutes slots begun, the newest at
	 * (n_minutes - 1) % HISTORY_MINUTES. */
	uint64_t n_minutes;
	int64_t minute_end_mono_ns;
	int64_t minute_wall_ns[HISTORY_MINUTES];
	struct output_track out[HISTORY_OUTPUTS];
	/* Seconds, the same way; levels in tenths of a dB. */
	uint64_t n_seconds;
	int64_t second_end_mono_ns;
	int64_t second_wall_ns[HISTORY_SECONDS];
	int16_t peak_ddb[HISTORY_SECONDS];
	int16_t rms_ddb[HISTORY_SECONDS];
	/* Programme events, the same way. */
	uint64_t n_events;
	struct history_event events[HISTORY_EVENTS];
	/* What was on air at the previous sample, to see a change. */
	char last_segment[128];
	char last_title[STATS_TEXT];
	int64_t last_started_wall_ns;
	int64_t last_error_wall_ns;
};

struct history *
history_new(int64_t minute_ns)
{
	struct history *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->minute_ns = minute_ns > 0 ? minute_ns : 60 * NS_PER_SEC;
	h->last_started_wall_ns = -1;
	return h;
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

size_t
history_bytes(const struct history *h)
{
	(void)h;
	return sizeof(struct history);
}

static void
point_clear(struct minute_point *p)
{
	memset(p, 0, sizeof(*p));
	p->listeners = -1;
	p->lag_ms = -1;
}

/* The track of output name, taking a free one (or one whose output is
 * gone from s) when it has none. NULL when all are in use. */
static struct output_track *
track_of(struct history *h, const struct stats_snapshot *s, const char *name)
{
	struct output_track *t, *spare = NULL;
	size_t i, k;
	bool present;

	for (i = 0; i < HISTORY_OUTPUTS; i++) {
		t = &h->out[i];
		if (t->used && strcmp(t->name, name) == 0)
			return t;
		if (!t->used && spare == NULL)
			spare = t;
	}
	for (i = 0; spare == NULL && i < HISTORY_OUTPUTS; i++) {
		present = false;
		for (k = 0; k < s->n_outputs && k < CONFIG_MAX_OUTPUTS; k++)
			present |=
			    strcmp(h->out[i].name, s->outputs[k].name) == 0;
		if (!present)
			spare = &h->out[i];
	}
	if (spare == NULL)
		return NULL;
	memset(spare, 0, sizeof(*spare));
	spare->used = true;
	util_strlcpy(spare->name, name, sizeof(spare->name));
	for (i = 0; i < HISTORY_MINUTES; i++)
		point_clear(&spare->pts[i]);
	return spare;
}

/* A slot of len_ns beginning now: returns its label, the start of the
 * wall-clock unit now is in, and sets *end_mono_ns to when the next unit
 * begins. A sample up to len_ns / 60 before a boundary (1 s of a minute:
 * a wall clock a little behind the monotonic one) counts as after it, so
 * the slot after 10:41 is 10:42, never 10:41 again. */
static int64_t
slot_align(int64_t len_ns, int64_t now_mono_ns, int64_t now_wall_ns,
    int64_t *end_mono_ns)
{
	int64_t at = now_wall_ns + len_ns / 60, start;

	start = at / len_ns * len_ns;
	if (at < 0 && at % len_ns != 0)
		start -= len_ns;
	*end_mono_ns = now_mono_ns + (start + len_ns - now_wall_ns);
	return start;
}

static void
begin_minute(struct history *h, int64_t now_mono_ns, int64_t now_wall_ns)
{
	size_t idx = (size_t)(h->n_minutes % HISTORY_MINUTES), i;

	h->n_minutes++;
	h->minute_wall_ns[idx] = slot_align(
	    h->minute_ns, now_mono_ns, now_wall_ns, &h->minute_end_mono_ns);
	/* Unused tracks stay untouched (and their pages not resident):
	 * track_of() clears a track when it takes it. */
	for (i = 0; i < HISTORY_OUTPUTS; i++)
		if (h->out[i].used)
			point_clear(&h->out[i].pts[idx]);
}

static void
begin_second(struct history *h, int64_t now_mono_ns, int64_t now_wall_ns)
{
	size_t idx = (size_t)(h->n_seconds % HISTORY_SECONDS);

	h->n_seconds++;
	h->second_wall_ns[idx] = slot_align(
	    NS_PER_SEC, now_mono_ns, now_wall_ns, &h->second_end_mono_ns);
	h->peak_ddb[idx] = -1200;
	h->rms_ddb[idx] = -1200;
}

static int16_t
ddb(double dbfs)
{
	if (isnan(dbfs) || dbfs < -120.0)
		return -1200;
	if (dbfs > 20.0)
		return 200;
	return (int16_t)lround(dbfs * 10.0);
}

static uint32_t
saturate32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void
add_event(struct history *h, const struct history_event *ev)
{
	h->events[h->n_events % HISTORY_EVENTS] = *ev;
	h->n_events++;
}

static void
sample_programme(
    struct history *h, const struct stats_snapshot *s, int64_t now_wall_ns)
{
	const struct stats_programme *p = &s->programme;
	const struct stats_programme_error *e = &s->programme_error;
	struct history_event ev;

	if (strcmp(p->segment, h->last_segment) != 0 ||
	    strcmp(p->title, h->last_title) != 0 ||
	    p->started_at_wall_ns != h->last_started_wall_ns) {
		memset(&ev, 0, sizeof(ev));
		ev.at_wall_ns = p->started_at_wall_ns > 0
				    ? p->started_at_wall_ns
				    : now_wall_ns;
		/* Only the title changed (live with a new title): it went on
		 * air then, not when the item began. */
		if (strcmp(p->segment, h->last_segment) == 0 &&
		    p->started_at_wall_ns == h->last_started_wall_ns)
			ev.at_wall_ns =
			    p->title_at_wall_ns > p->started_at_wall_ns
				? p->title_at_wall_ns
				: now_wall_ns;
		util_strlcpy(ev.segment, p->segment, sizeof(ev.segment));
		util_strlcpy(ev.title, p->title, sizeof(ev.title));
		util_strlcpy(ev.source, p->source, sizeof(ev.source));
		util_strlcpy(
		    ev.text, programme_state_name(p->state), sizeof(ev.text));
		add_event(h, &ev);
		util_strlcpy(
		    h->last_segment, p->segment, sizeof(h->last_segment));
		util_strlcpy(h->last_title, p->title, sizeof(h->last_title));
		h->last_started_wall_ns = p->started_at_wall_ns;
	}
	if (e->at_wall_ns > 0 && e->at_wall_ns != h->last_error_wall_ns) {
		memset(&ev, 0, sizeof(ev));
		ev.at_wall_ns = e->at_wall_ns;
		ev.error = true;
		util_strlcpy(ev.segment, e->segment, sizeof(ev.segment));
		util_strlcpy(ev.text, e->text, sizeof(ev.text));
		add_event(h, &ev);
		h->last_error_wall_ns = e->at_wall_ns;
	}
}

void
history_sample(struct history *h, const struct stats_snapshot *s,
    double peak_dbfs, double rms_dbfs, int64_t now_mono_ns, int64_t now_wall_ns)
{
	struct output_track *t;
	struct minute_point *pt;
	size_t i, idx;
	int16_t v;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	if (h->n_minutes == 0 || now_mono_ns >= h->minute_end_mono_ns)
		begin_minute(h, now_mono_ns, now_wall_ns);
	if (h->n_seconds == 0 || now_mono_ns >= h->second_end_mono_ns)
		begin_second(h, now_mono_ns, now_wall_ns);

	idx = (size_t)((h->n_minutes - 1) % HISTORY_MINUTES);
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];

		t = track_of(h, s, o->name);
		if (t == NULL)
			continue;
		pt = &t->pts[idx];
		if (pt->samples < UINT16_MAX) {
			pt->samples++;
			pt->connected += o->connected ? 1 : 0;
		}
		if (o->listeners >= 0 && o->listeners > pt->listeners)
			pt->listeners =
			    (int32_t)(o->listeners > INT32_MAX ? INT32_MAX
							       : o->listeners);
		if (o->lag_ms >= 0 && o->lag_ms > pt->lag_ms)
			pt->lag_ms =
			    (int32_t)(o->lag_ms > INT32_MAX ? INT32_MAX
							    : o->lag_ms);
		/* Counters since start: a smaller value means the slot was
		 * reused, so all of it is new. */
		if (t->have_last) {
			pt->reconnects = saturate32(
			    (uint64_t)pt->reconnects +
			    (o->reconnects >= t->last_reconnects
				    ? o->reconnects - t->last_reconnects
				    : o->reconnects));
			pt->dropped_bytes = saturate32(
			    (uint64_t)pt->dropped_bytes +
			    (o->dropped_bytes >= t->last_dropped
				    ? o->dropped_bytes - t->last_dropped
				    : o->dropped_bytes));
		}
		t->have_last = true;
		t->last_reconnects = o->reconnects;
		t->last_dropped = o->dropped_bytes;
	}

	idx = (size_t)((h->n_seconds - 1) % HISTORY_SECONDS);
	v = ddb(peak_dbfs);
	if (v > h->peak_ddb[idx])
		h->peak_ddb[idx] = v;
	v = ddb(rms_dbfs);
	if (v > h->rms_ddb[idx])
		h->rms_ddb[idx] = v;

	sample_programme(h, s, now_wall_ns);
	pthread_mutex_unlock(&h->lock);
}

/* ---- JSON. ---- */

/*
 * The numeric arrays (up to 16 x 1440 x 5 numbers) are written as text
 * straight into a strbuf and handed to cJSON as a raw item: a cJSON node
 * per number would take ~100 bytes each, megabytes per request.
 */

/* Unix time in seconds, with milliseconds: what chart libraries take. */
static void
put_unix(struct strbuf *sb, int64_t wall_ns)
{
	int64_t ms = wall_ns / NS_PER_MS;

	strbuf_printf(sb, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

/* name as a JSON string (cleaned and escaped by cJSON). */
static void
put_string(struct strbuf *sb, const char *name)
{
	char clean[256], *text;
	cJSON *str;

	util_sanitize_text(clean, sizeof(clean), name);
	str = cJSON_CreateString(clean);
	text = str != NULL ? cJSON_PrintUnformatted(str) : NULL;
	strbuf_puts(sb, text != NULL ? text : "\"\"");
	free(text);
	cJSON_Delete(str);
}

enum field { F_LISTENERS, F_CONNECTED, F_RECONNECTS, F_DROPPED, F_LAG };

static void
put_point(struct strbuf *sb, const struct minute_point *p, enum field f)
{
	if (p->samples == 0) {
		strbuf_puts(sb, "null");
		return;
	}
	switch (f) {
	case F_LISTENERS:
		if (p->listeners < 0)
			strbuf_puts(sb, "null");
		else
			strbuf_printf(sb, "%" PRId32, p->listeners);
		break;
	case F_CONNECTED:
		/* A share with two decimals, without float formatting. */
		strbuf_printf(sb, "%g",
		    (double)((p->connected * 100 + p->samples / 2) /
			     p->samples) /
			100.0);
		break;
	case F_RECONNECTS:
		strbuf_printf(sb, "%" PRIu32, p->reconnects);
		break;
	case F_DROPPED:
		strbuf_printf(sb, "%" PRIu32, p->dropped_bytes);
		break;
	case F_LAG:
		if (p->lag_ms < 0)
			strbuf_puts(sb, "null");
		else
			strbuf_printf(sb, "%" PRId32, p->lag_ms);
		break;
	}
}

static cJSON *
raw_of(struct jctx *j, struct strbuf *sb)
{
	char *text = strbuf_take(sb);
	cJSON *raw;

	if (text == NULL) {
		j->ok = false;
		return NULL;
	}
	raw = cJSON_CreateRaw(text);
	free(text);
	return raw;
}

static cJSON *
json_minutes(struct jctx *j, struct history *h)
{
	static const struct {
		const char *key;
		enum field f;
	} fields[] = {
	    {"listeners", F_LISTENERS},
	    {"connected", F_CONNECTED},
	    {"reconnects", F_RECONNECTS},
	    {"dropped_bytes", F_DROPPED},
	    {"lag_ms", F_LAG},
	};
	uint64_t first =
	    h->n_minutes > HISTORY_MINUTES ? h->n_minutes - HISTORY_MINUTES : 0;
	struct strbuf sb = {0};
	uint64_t m;
	size_t i, k;
	bool any = false;

	strbuf_puts(&sb, "{\"start\":[");
	for (m = first; m < h->n_minutes; m++) {
		if (m > first)
			strbuf_puts(&sb, ",");
		put_unix(&sb, h->minute_wall_ns[m % HISTORY_MINUTES]);
	}
	strbuf_puts(&sb, "],\"outputs\":[");
	for (i = 0; i < HISTORY_OUTPUTS; i++) {
		const struct output_track *t = &h->out[i];

		if (!t->used)
			continue;
		strbuf_puts(&sb, any ? ",{\"name\":" : "{\"name\":");
		any = true;
		put_string(&sb, t->name);
		for (k = 0; k < RELAY_ARRAY_LEN(fields); k++) {
			strbuf_printf(&sb, ",\"%s\":[", fields[k].key);
			for (m = first; m < h->n_minutes; m++) {
				if (m > first)
					strbuf_puts(&sb, ",");
				put_point(&sb,
				    &t->pts[(size_t)(m % HISTORY_MINUTES)],
				    fields[k].f);
			}
			strbuf_puts(&sb, "]");
		}
		strbuf_puts(&sb, "}");
	}
	strbuf_puts(&sb, "]}");
	return raw_of(j, &sb);
}

static cJSON *
json_seconds(struct jctx *j, struct history *h)
{
	uint64_t first =
	    h->n_seconds > HISTORY_SECONDS ? h->n_seconds - HISTORY_SECONDS : 0;
	struct strbuf sb = {0};
	const int16_t *arr;
	uint64_t k;
	int pass;

	strbuf_puts(&sb, "{\"start\":[");
	for (k = first; k < h->n_seconds; k++) {
		if (k > first)
			strbuf_puts(&sb, ",");
		put_unix(&sb, h->second_wall_ns[k % HISTORY_SECONDS]);
	}
	for (pass = 0; pass < 2; pass++) {
		arr = pass == 0 ? h->peak_ddb : h->rms_ddb;
		strbuf_puts(
		    &sb, pass == 0 ? "],\"peak_dbfs\":[" : "],\"rms_dbfs\":[");
		for (k = first; k < h->n_seconds; k++) {
			int v = arr[k % HISTORY_SECONDS];

			if (k > first)
				strbuf_puts(&sb, ",");
			/* Tenths of a dB as a decimal, exactly. */
			strbuf_printf(&sb, "%s%d.%d", v < 0 ? "-" : "",
			    abs(v) / 10, abs(v) % 10);
		}
	}
	strbuf_puts(&sb, "]}");
	return raw_of(j, &sb);
}

static cJSON *
json_events(struct jctx *j, struct history *h)
{
	uint64_t first =
	    h->n_events > HISTORY_EVENTS ? h->n_events - HISTORY_EVENTS : 0;
	cJSON *a = cJSON_CreateArray(), *o;
	uint64_t k;

	for (k = first; k < h->n_events; k++) {
		const struct history_event *ev = &h->events[k % HISTORY_EVENTS];

		o = cJSON_CreateObject();
		jadd(j, o, "at", jtime_ms(ev->at_wall_ns));
		jadd(j, o, "kind",
		    cJSON_CreateString(ev->error ? "error" : "on_air"));
		jadd(j, o, "segment", jtext_or_null(ev->segment));
		jadd(j, o, "title", jtext(ev->title));
		jadd(j, o, "source", jtext(ev->source));
		jadd(j, o, "text", jtext(ev->text));
		jpush(j, a, o);
	}
	return a;
}

static cJSON *
json_log(struct jctx *j)
{
	struct log_event *evs;
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray(), *e;
	uint64_t total = 0;
	size_t n, i;

	evs = malloc(sizeof(*evs) * LOG_RECENT_EVENTS);
	if (evs == NULL) {
		j->ok = false;
		cJSON_Delete(a);
		return o;
	}
	n = log_recent(evs, LOG_RECENT_EVENTS, &total);
	for (i = 0; i < n; i++) {
		e = cJSON_CreateObject();
		jadd(j, e, "seq", cJSON_CreateNumber((double)evs[i].seq));
		jadd(j, e, "at", jtime_ms(evs[i].wall_ns));
		jadd(j, e, "level",
		    cJSON_CreateString(log_level_name(evs[i].level)));
		jadd(j, e, "module", jtext(evs[i].mod));
		jadd(j, e, "text", jtext(evs[i].text));
		jpush(j, a, e);
	}
	free(evs);
	jadd(j, o, "total", cJSON_CreateNumber((double)total));
	jadd(j, o, "events", a);
	return o;
}

char *
history_json(struct history *h, bool pretty)
{
	struct jctx j = {.ok = true};
	cJSON *root, *log;
	char *text = NULL;

	if (h == NULL)
		return NULL;
	root = cJSON_CreateObject();
	if (root == NULL)
		return NULL;
	/* The log ring has its own lock: take it outside ours. */
	log = json_log(&j);
	pthread_mutex_lock(&h->lock);
	jadd(&j, root, "minute_s",
	    cJSON_CreateNumber((double)(h->minute_ns / NS_PER_MS) / 1000.0));
	jadd(&j, root, "minutes", json_minutes(&j, h));
	jadd(&j, root, "seconds", json_seconds(&j, h));
	jadd(&j, root, "events", json_events(&j, h));
	pthread_mutex_unlock(&h->lock);
	jadd(&j, root, "log", log);
	jadd(&j, root, "bytes",
	    cJSON_CreateNumber(
		(double)(history_bytes(h) +
			 sizeof(struct log_event) * LOG_RECENT_EVENTS)));
	jadd(&j, root, "time", jtime(util_now_wall_ns()));
	if (j.ok)
		text =
		    pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}
