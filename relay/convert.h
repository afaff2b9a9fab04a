/* SPDX-License-Identifier: MIT */
/*
 * Sample conversion: raw PCM formats to float, channel mixing (mix-down and
 * up-mix) and sample-rate conversion with libsamplerate's band-limited SINC
 * converters (never SRC_LINEAR, which does not filter aliases).
 *
 * Threads: pure functions are thread-safe; a struct resampler is used by
 * one thread at a time. Allocation only in resampler_new().
 */
#ifndef RELAY_CONVERT_H
#define RELAY_CONVERT_H

#include <stddef.h>

#include "config.h"
#include "util.h"

/* Bytes per sample of a raw format. */
size_t convert_sample_bytes(enum sample_format fmt);

/* Converts n samples (not frames) of little-endian raw PCM to float in
 * [-1, 1]. s32 and f32 are clamped; NaN becomes 0. */
void convert_to_float(
    enum sample_format fmt, const void *src, size_t n, float *dst);

/* Converts frames from in_ch to out_ch channels. Mono to many copies the
 * signal; many to mono averages; stereo to more puts L/R in the first two
 * and silence after; otherwise channel i takes input i % in_ch.
 * in and out must not overlap. */
void convert_mix_channels(
    const float *in, int in_ch, float *out, int out_ch, size_t frames);

/* Parses "s16le|s32le|f32le". 0 or -EINVAL. */
int convert_parse_format(const char *s, enum sample_format *out);

struct resampler;

/* Owned: free with resampler_free(). NULL on error (err filled). */
struct resampler *resampler_new(
    int channels, int in_rate_hz, int out_rate_hz, char *err, size_t errlen);
void resampler_free(struct resampler *rs);

/* Converts in_frames frames; writes at most out_cap frames into out and
 * stores the count in *out_frames. Consumes all input (internal buffering).
 * out_cap must be at least resampler_max_out(rs, in_frames). 0 or
 * negative errno. */
RELAY_MUST_CHECK int resampler_process(struct resampler *rs, const float *in,
    size_t in_frames, float *out, size_t out_cap, size_t *out_frames);

size_t resampler_max_out(const struct resampler *rs, size_t in_frames);

#endif
