/* SPDX-License-Identifier: MIT */
/*
 * The status document and its event-stream form. See status_json.h and
 * docs/status-api.md (every field, with type and unit).
 *
 * Every text from stats is cleaned of control characters and bad UTF-8,
 * and every number is finite, so any JSON parser accepts the document.
 *
 * Threads: see status_json.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "status_json.h"
#include "status_rules.h"
#include "json_build.h"
#include "util.h"
#include "version.h"

static cJSON *
json_station(struct jctx *j, const struct stats_snapshot *s)
{
	cJSON *o = cJSON_CreateObject();

	jadd(j, o, "name", jtext(s->station_name));
	jadd(j, o, "description", jtext(s->station_description));
	jadd(j, o, "url", jtext(s->station_url));
	return o;
}

/* now.title_pending: a live title set but not on air yet, or null. */
static cJSON *
json_title_pending(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_programme *p = &s->programme;
	cJSON *o;
	double due;

	if (!p->title_pending)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	jadd(j, o, "title", jtext(p->pending_title));
	jadd(j, o, "artist", jtext(p->pending_artist));
	if (p->pending_due_wall_ns == 0) {
		jadd(j, o, "due_in_s", cJSON_CreateNull());
	} else {
		due = (double)(p->pending_due_wall_ns - s->now_wall_ns) / 1e9;
		jadd(j, o, "due_in_s", jtenths(due < 0.0 ? 0.0 : due, 0.0));
	}
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
	jadd(j, o, "title_pending", json_title_pending(j, s));
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
	jadd(j, o, "overflow_frames", jcount(in->overflows));
	jadd(j, o, "buffer_s", jhundredths(in->buffer_s));
	jadd(j, o, "buffer_peak_s", jhundredths(in->buffer_peak_s));
	jadd(j, o, "buffer_peak_at", jtime(in->buffer_peak_wall_ns));
	return o;
}

/* A level in dB or LUFS to 0.1, or null when there is none (NaN). */
static cJSON *
jlevel(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(round(v * 10.0) / 10.0)
			   : cJSON_CreateNull();
}

static cJSON *
json_processing(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_processing *p = &s->processing;
	cJSON *o = cJSON_CreateObject();

	/* Off: every level null, so the document keeps one shape. */
	jadd(j, o, "enabled", cJSON_CreateBool(p->enabled));
	jadd(j, o, "target_lufs",
	    p->enabled ? jlevel(p->target_lufs) : cJSON_CreateNull());
	if (!p->enabled) {
		static const char *const keys[] = {"momentary_lufs",
		    "short_term_lufs", "integrated_lufs", "true_peak_dbtp",
		    "gain_db", "limiter_db"};
		size_t i;

		for (i = 0; i < RELAY_ARRAY_LEN(keys); i++)
			jadd(j, o, keys[i], cJSON_CreateNull());
		jadd(j, o, "frozen", cJSON_CreateBool(false));
		return o;
	}
	jadd(j, o, "momentary_lufs", jlevel(p->momentary_lufs));
	jadd(j, o, "short_term_lufs", jlevel(p->short_term_lufs));
	jadd(j, o, "integrated_lufs", jlevel(p->integrated_lufs));
	jadd(j, o, "true_peak_dbtp", jlevel(p->true_peak_dbtp));
	jadd(j, o, "gain_db", jlevel(p->gain_db));
	jadd(j, o, "limiter_db", jlevel(p->limiter_db));
	jadd(j, o, "frozen", cJSON_CreateBool(p->frozen));
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
		jadd(j, o, "codec", jtext(e->codec));
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

/* What listen-back hears on the output's mount; null when it is off. */
static cJSON *
json_listenback(struct jctx *j, const struct stats_listenback *lb)
{
	cJSON *o;

	if (lb->state == LISTENBACK_OFF)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	jadd(j, o, "state",
	    cJSON_CreateString(stats_listenback_state_name(lb->state)));
	jadd(j, o, "flagged", cJSON_CreateBool(stats_listenback_flagged(lb)));
	jadd(j, o, "since", jtime(lb->since_wall_ns));
	jadd(j, o, "url", jtext(lb->url));
	jadd(j, o, "audio", cJSON_CreateBool(lb->audio));
	jadd(j, o, "ours", cJSON_CreateBool(lb->ours));
	/* Levels nothing decoded are unknown, not silence. */
	jadd(j, o, "decoded", cJSON_CreateBool(lb->decoded));
	jadd(j, o, "peak_dbfs",
	    lb->decoded ? jtenths(lb->peak_dbfs, -120.0) : cJSON_CreateNull());
	jadd(j, o, "rms_dbfs",
	    lb->decoded ? jtenths(lb->rms_dbfs, -120.0) : cJSON_CreateNull());
	jadd(j, o, "silent_s",
	    lb->decoded ? jtenths(lb->silent_s, 0.0) : cJSON_CreateNull());
	jadd(j, o, "lag_ms",
	    lb->lag_ms >= 0 ? cJSON_CreateNumber((double)lb->lag_ms)
			    : cJSON_CreateNull());
	jadd(j, o, "last_audio", jtime(lb->last_audio_wall_ns));
	jadd(j, o, "bytes", jcount(lb->bytes));
	jadd(j, o, "connects", jcount(lb->connects));
	jadd(j, o, "last_error", jtext_or_null(lb->last_error));
	return o;
}

/* Seconds from one instant to another as the document shows both, each
 * rounded to the second like every time here: a duration that agrees with
 * the two times. Truncated (uptime_s and expires_in_s were), it was a
 * second short of their difference whenever they fell on different sides
 * of a half second. */
static int64_t
shown_seconds_between(int64_t from_wall_ns, int64_t to_wall_ns)
{
	return util_round_ns(to_wall_ns, NS_PER_SEC) / NS_PER_SEC -
	       util_round_ns(from_wall_ns, NS_PER_SEC) / NS_PER_SEC;
}

/* The certificate a TLS output's server showed on its last verified
 * connection; null before the first one (and for other outputs). */
static cJSON *
json_tls_cert(struct jctx *j, const struct stats_snapshot *s, size_t i)
{
	const struct stats_output *out = &s->outputs[i];
	cJSON *o;

	if (!out->tls || out->tls_not_after_wall_ns <= 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	jadd(j, o, "subject", jtext(out->tls_subject));
	jadd(j, o, "issuer", jtext(out->tls_issuer));
	jadd(j, o, "not_after", jtime(out->tls_not_after_wall_ns));
	jadd(j, o, "expires_in_s",
	    cJSON_CreateNumber((double)shown_seconds_between(
		s->now_wall_ns, out->tls_not_after_wall_ns)));
	jadd(j, o, "expires_soon",
	    cJSON_CreateBool(status_rules_tls_expiring(s, i)));
	return o;
}

/* A file output's archive state. */
static cJSON *
json_archive(struct jctx *j, const struct stats_output *out)
{
	cJSON *o = cJSON_CreateObject();

	jadd(j, o, "file", jtext_or_null(out->file));
	jadd(j, o, "file_bytes", jcount(out->file_bytes));
	jadd(j, o, "files_written", jcount(out->files_written));
	jadd(j, o, "files_removed", jcount(out->files_removed));
	jadd(j, o, "errors", jcount(out->file_errors));
	jadd(j, o, "rotate_s",
	    out->rotate_s > 0 ? cJSON_CreateNumber((double)out->rotate_s)
			      : cJSON_CreateNull());
	jadd(j, o, "keep_s",
	    out->keep_s > 0 ? cJSON_CreateNumber((double)out->keep_s)
			    : cJSON_CreateNull());
	return o;
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
		status_rules_output_url(s, i, set, url, sizeof(url));
		o = cJSON_CreateObject();
		jadd(j, o, "name", jtext(out->name));
		jadd(j, o, "type", jtext(out->type));
		jadd(j, o, "encoding", jtext(out->encoding));
		jadd(j, o, "url", jtext_or_null(url));
		jadd(j, o, "connected", cJSON_CreateBool(out->connected));
		jadd(j, o, "since", jtime(out->since_wall_ns));
		jadd(j, o, "bytes_sent", jcount(out->bytes_sent));
		jadd(j, o, "queue_bytes", jcount(out->queue_bytes));
		jadd(j, o, "lag_ms",
		    out->lag_ms >= 0 ? cJSON_CreateNumber((double)out->lag_ms)
				     : cJSON_CreateNull());
		jadd(j, o, "dropped_bytes", jcount(out->dropped_bytes));
		jadd(j, o, "reconnects", jcount(out->reconnects));
		jadd(j, o, "last_error", jtext_or_null(out->last_error));
		jadd(j, o, "last_error_at", jtime(out->last_error_wall_ns));
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
		jadd(j, o, "listenback", json_listenback(j, &out->listenback));
		jadd(j, o, "edge_listeners",
		    ice && out->edge_listeners >= 0
			? cJSON_CreateNumber((double)out->edge_listeners)
			: cJSON_CreateNull());
		jadd(j, o, "cors_allow_origin",
		    ice && out->cors_known ? jtext(out->cors_allow_origin)
					   : cJSON_CreateNull());
		jadd(j, o, "tls", cJSON_CreateBool(out->tls));
		jadd(j, o, "tls_certificate", json_tls_cert(j, s, i));
		jadd(j, o, "archive",
		    ice ? cJSON_CreateNull() : json_archive(j, out));
		jpush(j, a, o);
	}
	return a;
}

/* The edge servers of [status] listen_urls, as the poller last saw them. */
static cJSON *
json_edges(struct jctx *j, const struct stats_snapshot *s)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < s->n_edges && i < STATS_MAX_EDGES; i++) {
		const struct stats_edge *e = &s->edges[i];

		o = cJSON_CreateObject();
		jadd(j, o, "url", jtext(e->url));
		jadd(j, o, "mount", jtext(e->mount));
		jadd(j, o, "reachable", cJSON_CreateBool(e->reachable));
		jadd(j, o, "mount_listed", cJSON_CreateBool(e->listed));
		jadd(j, o, "listeners",
		    e->listeners >= 0 ? cJSON_CreateNumber((double)e->listeners)
				      : cJSON_CreateNull());
		jpush(j, a, o);
	}
	return a;
}

/* Control-API requests, newest first, as stats keeps them. */
static cJSON *
json_requests(struct jctx *j, const struct stats_snapshot *s)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < s->n_requests && i < STATS_MAX_REQUESTS; i++) {
		const struct stats_request *r = &s->requests[i];

		o = cJSON_CreateObject();
		jadd(j, o, "id", cJSON_CreateNumber((double)r->id));
		jadd(j, o, "state",
		    cJSON_CreateString(stats_request_state_name(r->state)));
		jadd(j, o, "name", jtext(r->name));
		jadd(j, o, "title", jtext(r->title));
		jadd(j, o, "source", jtext(r->source));
		jadd(j, o, "starts_at", jtime(r->starts_at_wall_ns));
		jadd(j, o, "ends_at", jtime(r->ends_at_wall_ns));
		jadd(j, o, "updated_at", jtime(r->updated_at_wall_ns));
		jadd(j, o, "reason", jtext_or_null(r->reason));
		jpush(j, a, o);
	}
	return a;
}

/* The last reload, or null when there was none since start. */
static cJSON *
json_reload(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_reload *r = &s->reload;
	cJSON *o;

	if (r->at_wall_ns <= 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	jadd(j, o, "at", jtime(r->at_wall_ns));
	jadd(j, o, "ok", cJSON_CreateBool(r->ok));
	jadd(j, o, "detail", jtext(r->detail));
	return o;
}

/* Dead air: whether the [fallback] filler is on air, since when and why. */
static cJSON *
json_fallback(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_fallback *f = &s->fallback;
	cJSON *o = cJSON_CreateObject();

	jadd(j, o, "enabled", cJSON_CreateBool(f->enabled));
	jadd(j, o, "active", cJSON_CreateBool(f->active));
	jadd(j, o, "since", jtime(f->since_wall_ns));
	jadd(j, o, "why", jtext_or_null(f->why));
	jadd(j, o, "source", jtext_or_null(f->enabled ? f->source : ""));
	jadd(j, o, "activations", jcount(f->activations));
	jadd(j, o, "dead_air_s", jtenths(f->dead_air_s, 0.0));
	jadd(j, o, "after_s", jtenths(status_rules_dead_air_s(s), 0.0));
	return o;
}

/* The last programme error, or null when there was none since start. */
static cJSON *
json_programme_error(struct jctx *j, const struct stats_snapshot *s)
{
	const struct stats_programme_error *e = &s->programme_error;
	cJSON *o;

	if (e->at_wall_ns <= 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	jadd(j, o, "at", jtime(e->at_wall_ns));
	jadd(j, o, "segment", jtext_or_null(e->segment));
	jadd(j, o, "text", jtext(e->text));
	return o;
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

	on_air = status_rules_on_air(s, set != NULL ? set->poll_icecast_ns : 0);
	uptime_s = s->uptime_ns > 0
		       ? shown_seconds_between(
			     s->now_wall_ns - s->uptime_ns, s->now_wall_ns)
		       : 0;
	root = cJSON_CreateObject();
	if (root == NULL)
		return NULL;
	jadd(&j, root, "station", json_station(&j, s));
	jadd(&j, root, "on_air", cJSON_CreateBool(on_air));
	jadd(&j, root, "on_air_rule",
	    cJSON_CreateString(
		status_rules_listenback(s) ? "listenback" : "server"));
	jadd(&j, root, "state",
	    cJSON_CreateString(status_rules_state_name(s, on_air)));
	jadd(&j, root, "uptime_s", cJSON_CreateNumber((double)uptime_s));
	jadd(&j, root, "now", json_now(&j, s));
	jadd(&j, root, "next", json_next(&j, s));
	jadd(&j, root, "input", json_input(&j, s));
	jadd(&j, root, "processing", json_processing(&j, s));
	jadd(&j, root, "encodings", json_encodings(&j, s));
	jadd(&j, root, "outputs", json_outputs(&j, s, set));
	jadd(&j, root, "listeners",
	    cJSON_CreateNumber(s->listeners > 0 ? (double)s->listeners : 0.0));
	jadd(&j, root, "edges", json_edges(&j, s));
	jadd(&j, root, "requests", json_requests(&j, s));
	jadd(&j, root, "reload", json_reload(&j, s));
	jadd(&j, root, "programme_error", json_programme_error(&j, s));
	jadd(&j, root, "fallback", json_fallback(&j, s));
	jadd(&j, root, "time", jtime(s->now_wall_ns));
	jadd(&j, root, "version", cJSON_CreateString(RELAY_VERSION));
	if (j.ok)
		text =
		    pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

char *
status_json_event(const struct stats_snapshot *s,
    const struct status_settings *set, bool first)
{
	char *json, *ev;

	json = status_json(s, set, false);
	if (json == NULL)
		return NULL;
	/* cJSON escapes newlines inside strings, so the document is one
	 * line: a single "data:" field. */
	if (asprintf(
		&ev, "%sdata: %s\n\n", first ? "retry: 3000\n" : "", json) < 0)
		ev = NULL;
	free(json);
	return ev;
}

char *
status_json_levels(
    const struct stats_levels *lv, bool fresh, const struct stats_snapshot *s)
{
	struct stats_encoding_level enc[CONFIG_MAX_ENCODINGS];
	struct jctx j = {.ok = true};
	cJSON *root, *a, *o;
	char *json, *ev = NULL;
	size_t i, k, n;

	root = cJSON_CreateObject();
	if (root == NULL)
		return NULL;
	jadd(&j, root, "peak_dbfs", jtenths(lv->peak_dbfs, -120.0));
	jadd(&j, root, "rms_dbfs", jtenths(lv->rms_dbfs, -120.0));
	jadd(&j, root, "silent_s", jtenths(lv->silent_s, 0.0));
	jadd(&j, root, "flowing", cJSON_CreateBool(lv->flowing));
	jadd(&j, root, "fresh", cJSON_CreateBool(fresh));
	n = stats_encoding_levels_get(enc, CONFIG_MAX_ENCODINGS);
	a = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		jadd(&j, o, "name", jtext(enc[i].name));
		jadd(&j, o, "peak_dbfs", jtenths(enc[i].peak_dbfs, -120.0));
		jadd(&j, o, "rms_dbfs", jtenths(enc[i].rms_dbfs, -120.0));
		/* Bytes come with the snapshot, about once a second. */
		for (k = 0; s != NULL && k < s->n_encodings &&
			    k < CONFIG_MAX_ENCODINGS;
		     k++)
			if (strcmp(s->encodings[k].name, enc[i].name) == 0)
				jadd(&j, o, "bytes",
				    jcount(s->encodings[k].bytes));
		jpush(&j, a, o);
	}
	jadd(&j, root, "encodings", a);
	json = j.ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (json == NULL)
		return NULL;
	if (asprintf(&ev, "event: levels\ndata: %s\n\n", json) < 0)
		ev = NULL;
	free(json);
	return ev;
}

uint64_t
status_json_digest(
    const struct stats_snapshot *s, const struct status_settings *set)
{
	const struct stats_programme *p = &s->programme;
	uint64_t h = UTIL_HASH_INIT;
	bool on_air = status_rules_on_air(s, set->poll_icecast_ns);
	size_t i;

	h = util_hash(h, &on_air, sizeof(on_air));
	h = util_hash(h, &p->state, sizeof(p->state));
	h = util_hash_str(h, p->title);
	h = util_hash_str(h, p->artist);
	h = util_hash_str(h, p->source);
	h = util_hash_str(h, p->segment);
	h = util_hash(h, &p->started_at_wall_ns, sizeof(p->started_at_wall_ns));
	h = util_hash(h, &p->ends_at_wall_ns, sizeof(p->ends_at_wall_ns));
	/* A title held or waiting for live is news; when it airs, so is
	 * its end. */
	h = util_hash(h, &p->title_pending, sizeof(p->title_pending));
	h = util_hash_str(h, p->pending_title);
	h = util_hash_str(h, p->pending_artist);
	h = util_hash(
	    h, &p->pending_due_wall_ns, sizeof(p->pending_due_wall_ns));
	for (i = 0; i < p->n_next && i < STATS_MAX_NEXT; i++) {
		h = util_hash_str(h, p->next[i].segment);
		h = util_hash_str(h, p->next[i].title);
		h = util_hash(h, &p->next[i].starts_at_wall_ns,
		    sizeof(p->next[i].starts_at_wall_ns));
	}
	h = util_hash(h, &s->listeners, sizeof(s->listeners));
	h = util_hash_str(h, s->station_name);
	h = util_hash_str(h, s->station_description);
	h = util_hash_str(h, s->station_url);
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		h = util_hash(h, &s->outputs[i].connected,
		    sizeof(s->outputs[i].connected));
		h = util_hash(h, &s->outputs[i].listeners,
		    sizeof(s->outputs[i].listeners));
		/* A renewed server certificate (or one that starts to
		 * expire soon) is news for the operator note. */
		h = util_hash(h, &s->outputs[i].tls_not_after_wall_ns,
		    sizeof(s->outputs[i].tls_not_after_wall_ns));
		/* The page warns about a mount without CORS headers. */
		h = util_hash(h, &s->outputs[i].cors_known,
		    sizeof(s->outputs[i].cors_known));
		h = util_hash_str(h, s->outputs[i].cors_allow_origin);
		h = util_hash(h, &s->outputs[i].listenback.state,
		    sizeof(s->outputs[i].listenback.state));
	}
	for (i = 0; i < s->n_edges && i < STATS_MAX_EDGES; i++) {
		h = util_hash(
		    h, &s->edges[i].reachable, sizeof(s->edges[i].reachable));
		h = util_hash(
		    h, &s->edges[i].listeners, sizeof(s->edges[i].listeners));
	}
	for (i = 0; i < s->n_requests && i < STATS_MAX_REQUESTS; i++) {
		const struct stats_request *r = &s->requests[i];

		h = util_hash(h, &r->id, sizeof(r->id));
		h = util_hash(h, &r->state, sizeof(r->state));
		h = util_hash(
		    h, &r->starts_at_wall_ns, sizeof(r->starts_at_wall_ns));
		h = util_hash(
		    h, &r->ends_at_wall_ns, sizeof(r->ends_at_wall_ns));
		h = util_hash(
		    h, &r->updated_at_wall_ns, sizeof(r->updated_at_wall_ns));
		h = util_hash_str(h, r->name);
		h = util_hash_str(h, r->title);
		h = util_hash_str(h, r->source);
		h = util_hash_str(h, r->reason);
	}
	/* The count too: dropping the oldest request changes the list. */
	h = util_hash(h, &s->n_requests, sizeof(s->n_requests));
	h = util_hash(h, &s->reload.at_wall_ns, sizeof(s->reload.at_wall_ns));
	h = util_hash(h, &s->reload.ok, sizeof(s->reload.ok));
	h = util_hash_str(h, s->reload.detail);
	h = util_hash(h, &s->programme_error.at_wall_ns,
	    sizeof(s->programme_error.at_wall_ns));
	h = util_hash_str(h, s->programme_error.segment);
	h = util_hash_str(h, s->programme_error.text);
	h = util_hash(h, &s->fallback.active, sizeof(s->fallback.active));
	h = util_hash(
	    h, &s->fallback.since_wall_ns, sizeof(s->fallback.since_wall_ns));
	h = util_hash_str(h, s->fallback.why);
	h = util_hash_str(h, set->public_url);
	return h;
}
