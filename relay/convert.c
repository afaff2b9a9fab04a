/* SPDX-License-Identifier: MIT */
/*
 * Sample conversion for the input path: raw little-endian PCM to float,
 * channel mixing, and sample-rate conversion. See convert.h.
 *
 * Raw bytes are assembled explicitly as little-endian, so the code gives
 * the same result on any host. Integer formats scale by 2^(bits-1), the
 * convention libsndfile and ALSA use: the most negative value maps to
 * exactly -1.0 and zero stays zero.
 *
 * The resampler wraps libsamplerate's SRC_SINC_MEDIUM_QUALITY converter
 * (band-limited, about 97 dB of stop-band rejection). SRC_LINEAR and
 * SRC_ZERO_ORDER_HOLD do not filter, so a 15 kHz tone resampled to 22.05
 * kHz would come back as a 7.05 kHz alias; never use them. The stream is
 * never ended (end_of_input = 0): libsamplerate keeps the filter's
 * look-ahead internally and produces it with the next call, so a live
 * stream loses no frames between blocks.
 *
 * Threads: the pure functions are thread-safe; a struct resampler is used
 * by one thread at a time.
 */
#include <errno.h>
#include <math.h>
#include <samplerate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "convert.h"
#include "util.h"

/* Slack on top of in_frames * ratio: covers rounding and the look-ahead
 * that a previous call held back and this call releases. */
#define RESAMPLER_OUT_SLACK_FRAMES 64

struct resampler {
	SRC_STATE *src;
	int channels;
	double ratio; /* out_rate / in_rate */
};

size_t
convert_sample_bytes(enum sample_format fmt)
{
	switch (fmt) {
	case SAMPLE_S16LE:
		return 2;
	case SAMPLE_S32LE:
	case SAMPLE_F32LE:
		return 4;
	}
	return 0;
}

static float
clamp_unit(float v)
{
	if (isnan(v))
		return 0.0f;
	if (v > 1.0f)
		return 1.0f;
	if (v < -1.0f)
		return -1.0f;
	return v;
}

static uint32_t
load_u32le(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

void
convert_to_float(enum sample_format fmt, const void *src, size_t n, float *dst)
{
	const unsigned char *b = src;
	uint32_t u;
	float f;
	size_t i;

	switch (fmt) {
	case SAMPLE_S16LE:
		for (i = 0; i < n; i++, b += 2) {
			u = (uint32_t)b[0] | (uint32_t)b[1] << 8;
			dst[i] = (float)(int16_t)(uint16_t)u / 32768.0f;
		}
		break;
	case SAMPLE_S32LE:
		for (i = 0; i < n; i++, b += 4) {
			u = load_u32le(b);
			/* Via double: a float has 24 bits of mantissa, and
			 * INT32_MAX would round up past 1.0 anyway. */
			dst[i] = clamp_unit(
			    (float)((double)(int32_t)u / 2147483648.0));
		}
		break;
	case SAMPLE_F32LE:
		for (i = 0; i < n; i++, b += 4) {
			u = load_u32le(b);
			memcpy(&f, &u, sizeof(f));
			dst[i] = clamp_unit(f);
		}
		break;
	}
}

void
convert_mix_channels(
    const float *in, int in_ch, float *out, int out_ch, size_t frames)
{
	size_t f;
	int c;
	float sum, inv;

	if (in_ch <= 0 || out_ch <= 0)
		return;
	if (in_ch == out_ch) {
		memcpy(out, in, frames * (size_t)in_ch * sizeof(float));
		return;
	}
	for (f = 0; f < frames; f++, in += in_ch, out += out_ch) {
		if (in_ch == 1) {
			for (c = 0; c < out_ch; c++)
				out[c] = in[0];
		} else if (out_ch == 1) {
			sum = 0.0f;
			for (c = 0; c < in_ch; c++)
				sum += in[c];
			inv = 1.0f / (float)in_ch;
			out[0] = sum * inv;
		} else if (in_ch == 2) {
			out[0] = in[0];
			out[1] = in[1];
			for (c = 2; c < out_ch; c++)
				out[c] = 0.0f;
		} else {
			for (c = 0; c < out_ch; c++)
				out[c] = in[c % in_ch];
		}
	}
}

int
convert_parse_format(const char *s, enum sample_format *out)
{
	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "s16le") == 0)
		*out = SAMPLE_S16LE;
	else if (strcmp(s, "s32le") == 0)
		*out = SAMPLE_S32LE;
	else if (strcmp(s, "f32le") == 0)
		*out = SAMPLE_F32LE;
	else
		return -EINVAL;
	return 0;
}

struct resampler *
resampler_new(
    int channels, int in_rate_hz, int out_rate_hz, char *err, size_t errlen)
{
	struct resampler *rs;
	int error = 0;

	if (channels <= 0 || in_rate_hz <= 0 || out_rate_hz <= 0) {
		snprintf(err, errlen,
		    "resampler: invalid %d channels, %d Hz -> %d Hz", channels,
		    in_rate_hz, out_rate_hz);
		return NULL;
	}
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		snprintf(err, errlen, "resampler: out of memory");
		return NULL;
	}
	rs->channels = channels;
	rs->ratio = (double)out_rate_hz / (double)in_rate_hz;
	if (!src_is_valid_ratio(rs->ratio)) {
		snprintf(err, errlen,
		    "resampler: %d Hz -> %d Hz is outside libsamplerate's "
		    "ratio range (1/256..256)",
		    in_rate_hz, out_rate_hz);
		goto fail;
	}
	rs->src = src_new(SRC_SINC_MEDIUM_QUALITY, channels, &error);
	if (rs->src == NULL) {
		snprintf(err, errlen, "resampler: libsamplerate: %s",
		    src_strerror(error));
		goto fail;
	}
	return rs;

fail:
	free(rs);
	return NULL;
}

void
resampler_free(struct resampler *rs)
{
	if (rs == NULL)
		return;
	src_delete(rs->src);
	free(rs);
}

size_t
resampler_max_out(const struct resampler *rs, size_t in_frames)
{
	return (size_t)ceil((double)in_frames * rs->ratio) +
	       RESAMPLER_OUT_SLACK_FRAMES;
}

/*
 * src_process() stops when its output is full or when it needs more input
 * than it was given, and it may consume input in pieces, so loop until
 * every input frame is taken. With out_cap >= resampler_max_out() the
 * output never fills up. If it does (a caller bug), the result is
 * -ENOBUFS: the *out_frames written are valid, but libsamplerate may have
 * swallowed more input than it could output (measured: 4096 frames in, 16
 * out, all 4096 "used") and will release the backlog with later calls.
 * -EIO on a libsamplerate error.
 */
int
resampler_process(struct resampler *rs, const float *in, size_t in_frames,
    float *out, size_t out_cap, size_t *out_frames)
{
	SRC_DATA d;
	size_t done_in = 0, done_out = 0, ch = (size_t)rs->channels;
	int error;

	*out_frames = 0;
	while (done_in < in_frames) {
		if (done_out == out_cap)
			goto nobufs;
		memset(&d, 0, sizeof(d));
		d.data_in = in + done_in * ch;
		d.input_frames = (long)(in_frames - done_in);
		d.data_out = out + done_out * ch;
		d.output_frames = (long)(out_cap - done_out);
		d.end_of_input = 0;
		d.src_ratio = rs->ratio;
		error = src_process(rs->src, &d);
		if (error != 0)
			return -EIO;
		if (d.input_frames_used == 0 && d.output_frames_gen == 0)
			goto nobufs;
		done_in += (size_t)d.input_frames_used;
		done_out += (size_t)d.output_frames_gen;
	}
	if (in_frames > 0 && done_out == out_cap)
		goto nobufs;
	*out_frames = done_out;
	return 0;

nobufs:
	*out_frames = done_out;
	return -ENOBUFS;
}
