/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus exposition. See status_metrics.h.
 *
 * Threads: see status_metrics.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "status_metrics.h"
#include "status_rules.h"
#include "strbuf.h"
#include "util.h"
#include "version.h"

/* Prometheus label values: backslash, double quote and newline escaped. */
static void
add_label(struct strbuf *sb, const char *s)
{
	char clean[STATS_TEXT * 2];
	const char *p;

	util_sanitize_text(clean, sizeof(clean), s);
	for (p = clean; *p != '\0'; p++) {
		if (*p == '\\')
			strbuf_puts(sb, "\\\\");
		else if (*p == '"')
			strbuf_puts(sb, "\\\"");
		else if (*p == '\n')
			strbuf_puts(sb, "\\n");
		else
			strbuf_add(sb, p, 1);
	}
}

static void
metric_head(
    struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_printf(
	    sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metric_value(struct strbuf *sb, double v)
{
	if (isnan(v))
		strbuf_puts(sb, " NaN\n");
	else if (isinf(v))
		strbuf_puts(sb, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		strbuf_printf(sb, " %.10g\n", v);
}

static void
metric_plain(struct strbuf *sb, const char *name, const char *type,
    const char *help, double v)
{
	metric_head(sb, name, type, help);
	strbuf_puts(sb, name);
	metric_value(sb, v);
}

static void
metric_counter(
    struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	metric_head(sb, name, "counter", help);
	strbuf_printf(sb, "%s %" PRIu64 "\n", name, v);
}

/* A family whose one sample exists only once the event happened: the
 * HELP and TYPE lines always (so the family is known), no sample before
 * it, rather than a 0 that would read as "failed" or "in 1970". */
static void
metric_since_event(struct strbuf *sb, const char *name, const char *help,
    int64_t at_wall_ns, double v)
{
	metric_head(sb, name, "gauge", help);
	if (at_wall_ns <= 0)
		return;
	strbuf_puts(sb, name);
	metric_value(sb, v);
}

/* Seconds since the epoch with milliseconds: a double holds them exactly
 * enough, where metric_value()'s 10 digits would drop the fraction. */
static void
metric_timestamp(
    struct strbuf *sb, const char *name, const char *help, int64_t wall_ns)
{
	metric_head(sb, name, "gauge", help);
	if (wall_ns <= 0)
		return;
	strbuf_printf(sb, "%s %" PRId64 ".%03" PRId64 "\n", name,
	    wall_ns / NS_PER_SEC, wall_ns % NS_PER_SEC / NS_PER_MS);
}

/* A counter per encoding: its packets, or its bytes. */
static void
metric_encodings(struct strbuf *sb, const struct stats_snapshot *s,
    const char *name, const char *help, bool packets)
{
	size_t i;

	metric_head(sb, name, "counter", help);
	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		strbuf_printf(sb, "%s{encoding=\"", name);
		add_label(sb, s->encodings[i].name);
		strbuf_printf(sb, "\"} %" PRIu64 "\n",
		    packets ? s->encodings[i].packets : s->encodings[i].bytes);
	}
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
	OF_LB_AUDIO,
	OF_LB_OURS,
	OF_LB_FLAGGED,
	OF_LB_LAG,
	OF_LB_SILENT,
	OF_LB_RMS,
	OF_LB_PEAK,
	OF_LB_CONNECTS,
	OF_TLS,
	OF_TLS_EXPIRY,
	OF_FILE_BYTES,
	OF_FILES,
	OF_REMOVED,
	OF_FILE_ERRORS,
};

/* The per-output families, in the order /metrics lists them. */
static const struct output_metric {
	const char *name;
	const char *type;
	const char *help;
	enum ofield field;
} output_metrics[] = {
    {"relay_output_connected", "gauge",
	"1 while the output is connected (file: open).", OF_CONNECTED},
    {"relay_output_bytes_sent_total", "counter",
	"Bytes the output has sent or written.", OF_BYTES_SENT},
    {"relay_output_queue_bytes", "gauge",
	"Bytes waiting in the output's queue.", OF_QUEUE},
    {"relay_output_dropped_bytes_total", "counter",
	"Bytes dropped because the output fell behind.", OF_DROPPED},
    {"relay_output_reconnects_total", "counter", "Reconnections of the output.",
	OF_RECONNECTS},
    {"relay_output_server_reachable", "gauge",
	"1 when the last Icecast status poll got an answer.", OF_REACHABLE},
    {"relay_output_mount_listed", "gauge",
	"1 when Icecast lists the mount with audio.", OF_LISTED},
    {"relay_listeners", "gauge",
	"Listeners Icecast reports on the output's mount, less relay's own "
	"listen-back.",
	OF_LISTENERS},
    {"relay_listener_peak", "gauge",
	"Most listeners seen on the mount since relay started.", OF_PEAK},
    {"relay_listenback_audio", "gauge",
	"Listen-back: 1 while audio pages reach relay's own listener on the "
	"mount.",
	OF_LB_AUDIO},
    {"relay_listenback_ours", "gauge",
	"Listen-back: 1 when the pages heard are the ones this output sent.",
	OF_LB_OURS},
    {"relay_listenback_flagged", "gauge",
	"Listen-back: 1 when listeners get no audio, another stream, or "
	"silence.",
	OF_LB_FLAGGED},
    {"relay_listenback_lag_seconds", "gauge",
	"Listen-back: seconds from the encoder to the listener (last page).",
	OF_LB_LAG},
    {"relay_listenback_silent_seconds", "gauge",
	"Listen-back: how long the audio heard stayed below the silence "
	"threshold.",
	OF_LB_SILENT},
    {"relay_listenback_rms_dbfs", "gauge",
	"Listen-back: RMS level of the audio heard, last ~100 ms, in dBFS.",
	OF_LB_RMS},
    {"relay_listenback_peak_dbfs", "gauge",
	"Listen-back: peak level of the audio heard, last ~100 ms, in dBFS.",
	OF_LB_PEAK},
    {"relay_listenback_connects_total", "counter",
	"Listen-back: connections made to the mount.", OF_LB_CONNECTS},
    {"relay_output_tls", "gauge",
	"1 when the output speaks verified TLS to its Icecast server.", OF_TLS},
    {"relay_tls_cert_expiry_seconds", "gauge",
	"Seconds until the certificate a TLS output's server showed on its "
	"last connection expires (negative: expired); warn below 14 days.",
	OF_TLS_EXPIRY},
    {"relay_archive_file_bytes", "gauge",
	"File outputs: bytes in the file being written (0: none open).",
	OF_FILE_BYTES},
    {"relay_archive_files_total", "counter",
	"File outputs: files started since relay started.", OF_FILES},
    {"relay_archive_files_removed_total", "counter",
	"File outputs: old files removed by keep.", OF_REMOVED},
    {"relay_archive_errors_total", "counter",
	"File outputs: failed opens, writes and removals.", OF_FILE_ERRORS},
};

/* A listen-back family's value; false: no sample (off, or unknown). */
static bool
listenback_value(
    const struct stats_listenback *lb, enum ofield field, double *v)
{
	if (lb->state == LISTENBACK_OFF)
		return false;
	/* Levels nothing decoded are unknown: no sample, not -120. */
	if (!lb->decoded && (field == OF_LB_SILENT || field == OF_LB_RMS ||
				field == OF_LB_PEAK))
		return false;
	switch (field) {
	case OF_LB_AUDIO:
		*v = lb->audio;
		return true;
	case OF_LB_OURS:
		*v = lb->ours;
		return true;
	case OF_LB_FLAGGED:
		*v = stats_listenback_flagged(lb);
		return true;
	case OF_LB_LAG:
		*v = (double)lb->lag_ms / 1000.0;
		return lb->lag_ms >= 0;
	case OF_LB_SILENT:
		*v = lb->silent_s;
		return true;
	case OF_LB_RMS:
		*v = isfinite(lb->rms_dbfs) && lb->rms_dbfs > -120.0
			 ? lb->rms_dbfs
			 : -120.0;
		return true;
	case OF_LB_PEAK:
		*v = isfinite(lb->peak_dbfs) && lb->peak_dbfs > -120.0
			 ? lb->peak_dbfs
			 : -120.0;
		return true;
	case OF_LB_CONNECTS:
		*v = (double)lb->connects;
		return true;
	case OF_CONNECTED:
	case OF_BYTES_SENT:
	case OF_QUEUE:
	case OF_DROPPED:
	case OF_RECONNECTS:
	case OF_REACHABLE:
	case OF_LISTED:
	case OF_LISTENERS:
	case OF_PEAK:
	case OF_TLS:
	case OF_TLS_EXPIRY:
	case OF_FILE_BYTES:
	case OF_FILES:
	case OF_REMOVED:
	case OF_FILE_ERRORS:
		break;
	}
	return false;
}

static void
metric_outputs(struct strbuf *sb, const struct stats_snapshot *s,
    const struct output_metric *m)
{
	size_t i;
	double v;

	metric_head(sb, m->name, m->type, m->help);
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];
		bool ice = strcmp(o->type, "icecast") == 0;

		switch (m->field) {
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
		case OF_LB_AUDIO:
		case OF_LB_OURS:
		case OF_LB_FLAGGED:
		case OF_LB_LAG:
		case OF_LB_SILENT:
		case OF_LB_RMS:
		case OF_LB_PEAK:
		case OF_LB_CONNECTS:
			if (!listenback_value(&o->listenback, m->field, &v))
				continue;
			break;
		case OF_TLS:
			if (!ice)
				continue;
			v = o->tls;
			break;
		case OF_TLS_EXPIRY:
			if (!o->tls || o->tls_not_after_wall_ns <= 0)
				continue;
			v = (double)((o->tls_not_after_wall_ns -
					 s->now_wall_ns) /
				     NS_PER_SEC);
			break;
		case OF_FILE_BYTES:
			if (ice)
				continue;
			v = (double)o->file_bytes;
			break;
		case OF_FILES:
			if (ice)
				continue;
			v = (double)o->files_written;
			break;
		case OF_REMOVED:
			if (ice)
				continue;
			v = (double)o->files_removed;
			break;
		case OF_FILE_ERRORS:
			if (ice)
				continue;
			v = (double)o->file_errors;
			break;
		default:
			continue;
		}
		strbuf_printf(sb, "%s{output=\"", m->name);
		add_label(sb, o->name);
		strbuf_puts(sb, "\"}");
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

	on_air = status_rules_on_air(s, set != NULL ? set->poll_icecast_ns : 0);
	metric_plain(
	    &sb, "relay_up", "gauge", "1 while relay runs and answers.", 1);
	metric_head(&sb, "relay_build_info", "gauge",
	    "Always 1; version and git revision as labels.");
	strbuf_puts(&sb, "relay_build_info{version=\"");
	add_label(&sb, RELAY_VERSION);
	strbuf_puts(&sb, "\",revision=\"");
	add_label(&sb, relay_git_rev());
	strbuf_puts(&sb, "\"} 1\n");
	metric_plain(&sb, "relay_on_air", "gauge",
	    "1 when audio above the silence threshold reaches a listed "
	    "Icecast mount (with listen-back: when listeners hear it).",
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
	metric_plain(&sb, "relay_title_pending", "gauge",
	    "1 while a live title set is not on air yet (held for the gap "
	    "between title changes, or waiting for live to return).",
	    s->programme.title_pending);
	metric_counter(&sb, "relay_titles_replaced_unaired_total",
	    "Live titles replaced by a later one before they aired, since "
	    "start.",
	    s->programme.titles_replaced);
	metric_plain(&sb, "relay_fallback_active", "gauge",
	    "1 while the [fallback] filler is on air (dead air).",
	    s->fallback.active);
	metric_plain(&sb, "relay_dead_air_seconds_total", "counter",
	    "Seconds of dead air since start: each silent lead-in that put "
	    "the filler on air, plus the time the filler was on air.",
	    s->fallback.dead_air_s);
	metric_counter(&sb, "relay_fallback_activations_total",
	    "Times the [fallback] filler went on air since start.",
	    s->fallback.activations);
	metric_plain(&sb, "relay_http_connections", "gauge",
	    "Connections open to the status server.",
	    (double)s->http.connections);
	metric_plain(&sb, "relay_http_event_streams", "gauge",
	    "Open /api/events streams (Listen Live pages watching).",
	    (double)s->http.event_streams);
	metric_head(&sb, "relay_http_closed_total", "counter",
	    "Connections the status server closed because their request was "
	    "too slow: to make room, or past the request deadline.");
	strbuf_printf(&sb,
	    "relay_http_closed_total{reason=\"evicted\"} %" PRIu64 "\n"
	    "relay_http_closed_total{reason=\"deadline\"} %" PRIu64 "\n",
	    s->http.evicted, s->http.expired);
	metric_counter(&sb, "relay_input_frames_total",
	    "Audio frames captured.", s->input.frames);
	metric_counter(&sb, "relay_input_xruns_total",
	    "Capture overruns reported by ALSA.", s->input.xruns);
	metric_counter(&sb, "relay_input_overflow_frames_total",
	    "Frames lost because the ring to the encoder was full.",
	    s->input.overflows);
	metric_plain(&sb, "relay_input_buffer_seconds", "gauge",
	    "Size of the input ring to the encoder, in seconds.",
	    s->input.buffer_s);
	metric_plain(&sb, "relay_input_buffer_peak_seconds", "gauge",
	    "Highest fill of the input ring since start, in seconds.",
	    s->input.buffer_peak_s);
	metric_counter(&sb, "relay_input_reopens_total",
	    "Times the input was reopened after an error.", s->input.reopens);

	metric_plain(&sb, "relay_processing_enabled", "gauge",
	    "1 when [processing] (loudness rider, limiter) is on.",
	    s->processing.enabled ? 1.0 : 0.0);
	if (s->processing.enabled) {
		const struct stats_processing *pr = &s->processing;

		metric_plain(&sb, "relay_processing_momentary_lufs", "gauge",
		    "Processed programme, momentary loudness (400 ms), LUFS.",
		    pr->momentary_lufs);
		metric_plain(&sb, "relay_processing_short_term_lufs", "gauge",
		    "Processed programme, short-term loudness (3 s), LUFS.",
		    pr->short_term_lufs);
		metric_plain(&sb, "relay_processing_integrated_lufs", "gauge",
		    "Processed programme, integrated loudness since start, "
		    "LUFS.",
		    pr->integrated_lufs);
		metric_plain(&sb, "relay_processing_true_peak_dbtp", "gauge",
		    "Processed programme, highest true peak in the last "
		    "second, dBTP.",
		    pr->true_peak_dbtp);
		metric_plain(&sb, "relay_processing_gain_db", "gauge",
		    "The loudness rider's gain, dB.", pr->gain_db);
		metric_plain(&sb, "relay_processing_limiter_db", "gauge",
		    "The true-peak limiter's gain reduction now, dB (<= 0).",
		    pr->limiter_db);
	}

	metric_encodings(&sb, s, "relay_encoding_bytes_total",
	    "Bytes of encoded packets (Vorbis or Opus) per encoding.", false);
	metric_encodings(&sb, s, "relay_encoding_packets_total",
	    "Encoded packets (Vorbis or Opus) per encoding.", true);
	metric_head(
	    &sb, "relay_encoding_info", "gauge", "Always 1; codec as a label.");
	for (i = 0; i < s->n_encodings && i < CONFIG_MAX_ENCODINGS; i++) {
		strbuf_puts(&sb, "relay_encoding_info{encoding=\"");
		add_label(&sb, s->encodings[i].name);
		strbuf_puts(&sb, "\",codec=\"");
		add_label(&sb, s->encodings[i].codec);
		strbuf_puts(&sb, "\"} 1\n");
	}

	metric_head(&sb, "relay_output_info", "gauge",
	    "Always 1; type, encoding and listener URL as labels.");
	for (i = 0; i < s->n_outputs && i < CONFIG_MAX_OUTPUTS; i++) {
		const struct stats_output *o = &s->outputs[i];

		strbuf_puts(&sb, "relay_output_info{output=\"");
		add_label(&sb, o->name);
		strbuf_puts(&sb, "\",type=\"");
		add_label(&sb, o->type);
		strbuf_puts(&sb, "\",encoding=\"");
		add_label(&sb, o->encoding);
		strbuf_puts(&sb, "\",url=\"");
		add_label(
		    &sb, status_rules_output_url(s, i, set, url, sizeof(url)));
		strbuf_puts(&sb, "\"} 1\n");
	}
	for (i = 0; i < RELAY_ARRAY_LEN(output_metrics); i++)
		metric_outputs(&sb, s, &output_metrics[i]);

	metric_since_event(&sb, "relay_reload_last_success",
	    "1 when the last reload was applied, 0 when it was rejected; "
	    "no sample before the first reload.",
	    s->reload.at_wall_ns, s->reload.ok);
	metric_timestamp(&sb, "relay_reload_last_timestamp_seconds",
	    "When the last reload (applied or rejected) happened, "
	    "in seconds since the epoch.",
	    s->reload.at_wall_ns);
	metric_timestamp(&sb, "relay_programme_error_last_timestamp_seconds",
	    "When a segment last did not play as planned, in seconds "
	    "since the epoch.",
	    s->programme_error.at_wall_ns);
	return strbuf_take(&sb);
}
