/* SPDX-License-Identifier: MIT */
/*
 * What relay --check prints (config_print_summary) and --dump-config
 * (config_dump_keys, every key of the table with its help, type, range
 * and default), the names of enum values they and the log use, and
 * values derived from the config for others (an output's URL, the
 * station's dead air).
 *
 * Threads: main thread only; the derived values are pure (any thread).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "archive.h"
#include "config.h"
#include "config_internal.h"
#include "hook.h"
#include "tls.h"
#include "util.h"

const char *
codec_name(enum codec c)
{
	return c == CODEC_OPUS ? "opus" : c == CODEC_MP3 ? "mp3" : "vorbis";
}

const char *
input_type_name(enum input_type t)
{
	switch (t) {
	case INPUT_TONE:
		return "tone";
	case INPUT_STDIN:
		return "stdin";
	case INPUT_FILE:
		return "file";
	case INPUT_ALSA:
		return "alsa";
	}
	return "?";
}

const char *
fallback_source_name(enum fallback_source s)
{
	switch (s) {
	case FALLBACK_PLAYLIST:
		return "playlist";
	case FALLBACK_FILE:
		return "file";
	case FALLBACK_TONE:
		return "tone";
	case FALLBACK_SILENCE:
		return "silence";
	}
	return "?";
}

int64_t
config_dead_air_ns(const struct config *cfg)
{
	return cfg->fallback.enabled ? cfg->fallback.after_ns
				     : CONFIG_DEAD_AIR_DEFAULT_NS;
}

double
config_dead_air_threshold_dbfs(const struct config *cfg)
{
	return cfg->fallback.enabled ? cfg->fallback.threshold_dbfs
				     : cfg->input.silence_threshold_dbfs;
}

char *
config_output_url(const struct output_config *o, char *buf, size_t len)
{
	if (o->type == OUTPUT_FILE) {
		snprintf(buf, len, "file:%s", o->path);
		return buf;
	}
	if (strchr(o->host, ':') != NULL)
		snprintf(buf, len, "%s://[%s]:%d%s", o->tls ? "https" : "http",
		    o->host, o->port, o->mount);
	else
		snprintf(buf, len, "%s://%s:%d%s", o->tls ? "https" : "http",
		    o->host, o->port, o->mount);
	return buf;
}

/* One encoding; its rate and channels, where they are not the programme's
 * (in), say so: that encoding resamples, mixes down or up-mixes. */
static void
print_encoding(
    const struct encoding_config *e, const struct input_config *in, FILE *fp)
{
	char note[128] = "";
	size_t n = 0;

	if (e->rate_hz != in->rate_hz)
		n += (size_t)snprintf(note, sizeof(note),
		    " (resampled from the programme's %d Hz)", in->rate_hz);
	if (e->channels != in->channels && n < sizeof(note))
		snprintf(note + n, sizeof(note) - n,
		    " (%s from the programme's %d ch)",
		    e->channels < in->channels ? "mixed down" : "up-mixed",
		    in->channels);
	fprintf(fp, "  encoding %-10s %s %d Hz, %d ch, ", e->name,
	    codec_name(e->codec), e->rate_hz, e->channels);
	if (e->codec == CODEC_OPUS) {
		fprintf(fp, "%d kbit/s, %s, complexity %d, %g ms frames%s\n",
		    e->bitrate_kbps,
		    e->application == ENCODING_APP_VOIP ? "voip" : "audio",
		    e->complexity, e->frame_ms, note);
	} else if (e->codec == CODEC_MP3) {
		if (e->managed)
			fprintf(fp, "CBR %d kbit/s%s\n", e->bitrate_kbps, note);
		else
			fprintf(fp, "VBR -V %g%s\n", e->quality, note);
	} else if (e->managed) {
		fprintf(fp, "managed %d kbit/s", e->bitrate_kbps);
		if (e->min_bitrate_kbps != 0)
			fprintf(fp, " (min %d)", e->min_bitrate_kbps);
		if (e->max_bitrate_kbps != 0)
			fprintf(fp, " (max %d)", e->max_bitrate_kbps);
		fprintf(fp, "%s\n", note);
	} else {
		fprintf(fp, "VBR quality %g%s\n", e->quality, note);
	}
}

void
config_print_summary(const struct config *cfg, FILE *fp)
{
	const struct input_config *in = &cfg->input;
	char url[600], mm[16];
	size_t i;

	fprintf(fp, "%s: OK\n", cfg->path);
	fprintf(fp, "  station  \"%s\"\n", cfg->station.name);
	fprintf(fp, "  input    %s", input_type_name(in->type));
	switch (in->type) {
	case INPUT_ALSA:
		fprintf(fp, " device %s", in->device);
		break;
	case INPUT_FILE:
		fprintf(fp, " %s%s", in->path, in->loop ? " (loop)" : "");
		break;
	case INPUT_STDIN:
		fprintf(fp, " raw %s",
		    config_enum_name(
			"s16le|s32le|f32le", (int)in->format, mm, sizeof(mm)));
		break;
	case INPUT_TONE:
		if (in->frequency_hz > 0)
			fprintf(fp, " %g Hz at %g dBFS", in->frequency_hz,
			    in->level_dbfs);
		else
			fprintf(fp, " digital silence");
		break;
	}
	fprintf(fp, ", programme %d Hz %d ch\n", in->rate_hz, in->channels);
	for (i = 0; i < cfg->n_encodings; i++)
		print_encoding(&cfg->encodings[i], in, fp);
	for (i = 0; i < cfg->n_outputs; i++) {
		const struct output_config *o = &cfg->outputs[i];
		fprintf(fp, "  output   %-10s %s %s <- encoding %s", o->name,
		    o->type == OUTPUT_FILE ? "file" : "icecast",
		    config_output_url(o, url, sizeof(url)), o->encoding_name);
		if (o->type == OUTPUT_ICECAST)
			fprintf(fp,
			    ", user %s, password from %s, tls %s, "
			    "metadata %s",
			    o->user, o->password_from, o->tls ? "yes" : "no",
			    config_enum_name("chain|admin|none",
				(int)o->metadata, mm, sizeof(mm)));
		if (o->type == OUTPUT_FILE) {
			char rot[32], keep[32];
			fprintf(fp, ", rotate %s, keep %s, time zone %s",
			    archive_format_span(
				o->rotate_ns, "none", rot, sizeof(rot)),
			    archive_format_span(
				o->keep_ns, "forever", keep, sizeof(keep)),
			    o->timezone != NULL ? o->timezone : "system");
		}
		/* The URL may hold credentials: say where, not what. */
		if (o->listenback)
			fprintf(fp, ", listen-back on %s",
			    o->listenback_url != NULL ? "listenback_url"
						      : "the mount");
		if (o->on_listenback != NULL)
			fprintf(fp, ", on_listenback hook");
		if (o->type == OUTPUT_ICECAST && o->tls) {
			char trust[600];
			fprintf(fp, " (trusts %s%s%s)",
			    tls_trust_text(
				&o->tls_settings, trust, sizeof(trust)),
			    o->tls_settings.client_cert != NULL
				? ", client certificate "
				: "",
			    o->tls_settings.client_cert != NULL
				? o->tls_settings.client_cert
				: "");
		}
		fputc('\n', fp);
	}
	if (cfg->status.enabled)
		fprintf(fp, "  status   http://%s%s%s:%d/%s\n",
		    strchr(cfg->status.listen_host, ':') ? "[" : "",
		    cfg->status.listen_host,
		    strchr(cfg->status.listen_host, ':') ? "]" : "",
		    cfg->status.listen_port,
		    cfg->status.token != NULL ? " (control token set)" : "");
	else
		fprintf(fp, "  status   off\n");
	if (cfg->schedule.file != NULL)
		fprintf(fp, "  schedule %s (time zone %s)\n",
		    cfg->schedule.file,
		    cfg->schedule.timezone != NULL ? cfg->schedule.timezone
						   : "system");
	if (cfg->processing.enabled)
		fprintf(fp,
		    "  processing loudness %g LUFS, true peak %g dBTP, boost "
		    "at most %g dB, look-ahead %g ms\n",
		    cfg->processing.loudness_target_lufs,
		    cfg->processing.true_peak_max_dbtp,
		    cfg->processing.max_boost_db, cfg->processing.lookahead_ms);
	if (cfg->fallback.enabled)
		fprintf(fp,
		    "  fallback %s%s%s after %.1f s below %g dBFS, live back "
		    "after %.1f s%s%s\n",
		    fallback_source_name(cfg->fallback.source),
		    cfg->fallback.path != NULL ? " " : "",
		    cfg->fallback.path != NULL ? cfg->fallback.path : "",
		    (double)cfg->fallback.after_ns / 1e9,
		    cfg->fallback.threshold_dbfs,
		    (double)cfg->fallback.restore_after_ns / 1e9,
		    cfg->fallback.on_dead_air != NULL ? ", on_dead_air hook"
						      : "",
		    cfg->fallback.on_restore != NULL ? ", on_restore hook"
						     : "");
}

static const char *
type_name(enum key_type t)
{
	switch (t) {
	case KT_STRING:
		return "string";
	case KT_INT:
		return "integer";
	case KT_DOUBLE:
		return "number";
	case KT_BOOL:
		return "yes|no";
	case KT_DURATION:
		return "duration";
	case KT_ENUM:
		return "choice";
	}
	return "?";
}

void
config_dump_keys(FILE *fp)
{
	size_t i;
	int last = -1;

	for (i = 0; i < config_n_keys; i++) {
		const struct config_key *k = &config_keys[i];
		if ((int)k->section != last) {
			last = (int)k->section;
			fprintf(fp, "%s[%s%s]\n", i == 0 ? "" : "\n",
			    config_section_names[k->section],
			    config_section_named[k->section] ? " NAME" : "");
		}
		fprintf(fp, "; %s\n", k->help);
		fprintf(fp, "; type %s",
		    k->type == KT_ENUM ? k->allowed : type_name(k->type));
		if (k->type == KT_INT || k->type == KT_DOUBLE)
			fprintf(fp, ", %g..%g", k->min, k->max);
		if (k->type == KT_DURATION)
			fprintf(fp, ", %gs..%gs%s%s", k->min, k->max,
			    k->allowed != NULL ? " or " : "",
			    k->allowed != NULL ? k->allowed : "");
		fprintf(fp, "%s\n", k->reloadable ? ", reloadable" : "");
		if (k->def != NULL)
			fprintf(fp, ";%s = %s\n", k->key, k->def);
		else
			fprintf(fp, ";%s =\n", k->key);
	}
}
