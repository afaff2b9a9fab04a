/* SPDX-License-Identifier: MIT */
/*
 * The comparisons reload uses to decide what a new config leaves alone: an
 * encoding, input, processing or output whose settings are the same keeps
 * running untouched, and an output whose encoding changed only in ways an
 * Ogg chain can carry keeps its connection (config_output_change()).
 *
 * Threads: main thread only.
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

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
config_encoding_same(
    const struct encoding_config *a, const struct encoding_config *b)
{
	return str_eq(a->name, b->name) && a->codec == b->codec &&
	       a->application == b->application &&
	       a->complexity == b->complexity && a->frame_ms == b->frame_ms &&
	       a->rate_hz == b->rate_hz && a->channels == b->channels &&
	       a->managed == b->managed &&
	       (a->managed || a->quality == b->quality) &&
	       a->bitrate_kbps == b->bitrate_kbps &&
	       a->min_bitrate_kbps == b->min_bitrate_kbps &&
	       a->max_bitrate_kbps == b->max_bitrate_kbps;
}

bool
config_processing_same(
    const struct processing_config *a, const struct processing_config *b)
{
	return a->enabled == b->enabled &&
	       a->loudness_target_lufs == b->loudness_target_lufs &&
	       a->true_peak_max_dbtp == b->true_peak_max_dbtp &&
	       a->max_boost_db == b->max_boost_db &&
	       a->lookahead_ms == b->lookahead_ms;
}

bool
config_input_same(const struct input_config *a, const struct input_config *b)
{
	return a->type == b->type && a->rate_hz == b->rate_hz &&
	       a->channels == b->channels && str_eq(a->device, b->device) &&
	       a->period_frames == b->period_frames &&
	       a->buffer_frames == b->buffer_frames && a->format == b->format &&
	       str_eq(a->path, b->path) && a->loop == b->loop &&
	       a->frequency_hz == b->frequency_hz &&
	       a->level_dbfs == b->level_dbfs && a->at_end == b->at_end;
}

static bool
station_same(const struct station_config *a, const struct station_config *b)
{
	return str_eq(a->name, b->name) &&
	       str_eq(a->description, b->description) &&
	       str_eq(a->genre, b->genre) && str_eq(a->url, b->url) &&
	       a->public_listing == b->public_listing;
}

/* The output's own keys (and, for Icecast, the station texts it sends at
 * connect): everything but its encoding's settings. */
static bool
output_keys_same(const struct config *a, const struct output_config *oa,
    const struct config *b, const struct output_config *ob)
{
	return str_eq(oa->name, ob->name) && oa->type == ob->type &&
	       str_eq(oa->host, ob->host) && oa->port == ob->port &&
	       str_eq(oa->mount, ob->mount) && str_eq(oa->user, ob->user) &&
	       str_eq(oa->password, ob->password) && oa->tls == ob->tls &&
	       tls_config_same(&oa->tls_settings, &ob->tls_settings) &&
	       oa->metadata == ob->metadata && str_eq(oa->path, ob->path) &&
	       oa->rotate_ns == ob->rotate_ns && oa->keep_ns == ob->keep_ns &&
	       str_eq(oa->timezone, ob->timezone) &&
	       str_eq(oa->encoding_name, ob->encoding_name) &&
	       oa->reconnect_min_ns == ob->reconnect_min_ns &&
	       oa->reconnect_max_ns == ob->reconnect_max_ns &&
	       oa->stall_timeout_ns == ob->stall_timeout_ns &&
	       oa->connect_timeout_ns == ob->connect_timeout_ns &&
	       oa->queue_ns == ob->queue_ns &&
	       /* Only Icecast gets the station texts (at connect). */
	       (oa->type == OUTPUT_FILE ||
		   station_same(&a->station, &b->station));
}

/*
 * An Ogg stream can go on in a new chain (EOS, then BOS and the new
 * encoder's headers, muxer.c) on the same connection or in the same file
 * when the codec, the sample rate and the channels stay: what Icecast
 * told its listeners at connect (audio/ogg, rate, channels) and what the
 * output sized its queue and pages by (output.c) still hold. Vorbis:
 * quality, bitrate, min/max bitrate and managed mode may change. Opus:
 * bitrate, complexity and application; not frame_ms (the queue counts
 * packets by it). MP3 has no chain to mark the change, and Icecast cannot
 * be told the new bitrate on a running source: it restarts.
 */
bool
config_encoding_chains(
    const struct encoding_config *a, const struct encoding_config *b)
{
	return str_eq(a->name, b->name) && a->codec == b->codec &&
	       (a->codec == CODEC_VORBIS || a->codec == CODEC_OPUS) &&
	       a->rate_hz == b->rate_hz && a->channels == b->channels &&
	       a->frame_ms == b->frame_ms;
}

enum config_output_change
config_output_change(const struct config *a, const struct output_config *oa,
    const struct config *b, const struct output_config *ob)
{
	const struct encoding_config *ea, *eb;

	if (!output_keys_same(a, oa, b, ob) || oa->encoding_index < 0 ||
	    ob->encoding_index < 0)
		return CONFIG_OUTPUT_RESTART;
	ea = &a->encodings[oa->encoding_index];
	eb = &b->encodings[ob->encoding_index];
	if (config_encoding_same(ea, eb))
		return CONFIG_OUTPUT_SAME;
	return config_encoding_chains(ea, eb) ? CONFIG_OUTPUT_NEW_CHAIN
					      : CONFIG_OUTPUT_RESTART;
}

bool
config_output_same(const struct config *a, const struct output_config *oa,
    const struct config *b, const struct output_config *ob)
{
	return config_output_change(a, oa, b, ob) == CONFIG_OUTPUT_SAME;
}
