/* SPDX-License-Identifier: MIT */
/*
 * Tone input: a sine at [input] frequency in every channel, at [input]
 * level (peak, dBFS); frequency 0 gives exact digital silence. Used for
 * tests, line-up and as a stand-in source.
 *
 * Pacing: the backend keeps the CLOCK_MONOTONIC time of its first read and
 * the number of frames it has produced, and each read sleeps until the
 * absolute deadline start + frames * 1e9 / rate, computed in integers
 * (frames_to_ns). Nothing accumulates, so after ten minutes or
 * ten days the position is still within one sleep's jitter of the clock.
 * The phase of the sine is a fraction of a cycle kept in [0, 1), so it is
 * continuous across reads and stays exact however long the tone runs.
 *
 * Threads: the ops run on the input thread only.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "util.h"

#define TONE_TWO_PI 6.283185307179586

/* When the reader falls this far behind (a stalled thread, a suspended
 * machine), the clock is re-anchored instead of bursting to catch up. */
#define TONE_MAX_LAG_NS (NS_PER_SEC)

struct input_backend {
	int rate_hz;
	int channels;
	size_t chunk_frames; /* at most ~100 ms per read */
	double amplitude;    /* linear peak */
	double cycles_per_frame;
	double phase_cycles; /* in [0, 1) */
	int64_t start_ns;    /* 0 until the first read */
	int64_t frames_done; /* since start_ns */
};

/* Nanoseconds that frames last at rate_hz, without overflow for any run
 * length (frames * 1e9 alone would overflow after ~58 h at 44.1 kHz). */
static int64_t
frames_to_ns(int64_t frames, int rate_hz)
{
	return frames / rate_hz * NS_PER_SEC +
	       frames % rate_hz * NS_PER_SEC / rate_hz;
}

/* Checks the frequency against Nyquist. Runs on: the input thread. */
static int
tone_open(const struct input_config *cfg, struct input_backend **out, char *err,
    size_t errlen)
{
	struct input_backend *b;

	*out = NULL;
	if (cfg->rate_hz <= 0 || cfg->channels <= 0) {
		snprintf(err, errlen, "tone: invalid format %d Hz, %d channels",
		    cfg->rate_hz, cfg->channels);
		return -EINVAL;
	}
	if (!(cfg->frequency_hz >= 0.0) ||
	    cfg->frequency_hz * 2.0 >= cfg->rate_hz) {
		snprintf(err, errlen,
		    "tone: frequency %.1f Hz must be 0 (silence) or below "
		    "half the rate (%d Hz)",
		    cfg->frequency_hz, cfg->rate_hz / 2);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		snprintf(err, errlen, "tone: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	b->rate_hz = cfg->rate_hz;
	b->channels = cfg->channels;
	b->chunk_frames = (size_t)cfg->rate_hz / 10;
	if (b->chunk_frames == 0)
		b->chunk_frames = 1;
	b->amplitude =
	    cfg->frequency_hz > 0.0 ? pow(10.0, cfg->level_dbfs / 20.0) : 0.0;
	b->cycles_per_frame = cfg->frequency_hz / cfg->rate_hz;
	*out = b;
	return 0;
}

/* Writes n frames of the sine (or zeros), advancing the phase. */
static void
fill(struct input_backend *b, float *frames, size_t n)
{
	size_t f, ch = (size_t)b->channels;
	float v;
	int c;

	if (b->amplitude == 0.0) {
		memset(frames, 0, n * ch * sizeof(float));
		return;
	}
	for (f = 0; f < n; f++) {
		v = (float)(b->amplitude * sin(TONE_TWO_PI * b->phase_cycles));
		for (c = 0; c < b->channels; c++)
			frames[f * ch + (size_t)c] = v;
		b->phase_cycles += b->cycles_per_frame;
		if (b->phase_cycles >= 1.0)
			b->phase_cycles -= 1.0;
	}
}

/* What input.c asks for (the rest of the engine's wait, at most ~100 ms),
 * released when due by the clock.
 * Runs on: the input thread. */
static ssize_t
tone_read(struct input_backend *b, float *frames, size_t max_frames, char *err,
    size_t errlen)
{
	size_t n = max_frames < b->chunk_frames ? max_frames : b->chunk_frames;
	int64_t now, deadline;

	(void)err;
	(void)errlen;
	if (n == 0)
		return 0;
	now = util_now_mono_ns();
	if (b->start_ns == 0)
		b->start_ns = now;
	deadline = b->start_ns + frames_to_ns(b->frames_done, b->rate_hz);
	if (now - deadline > TONE_MAX_LAG_NS) {
		b->start_ns = now - frames_to_ns(b->frames_done, b->rate_hz);
	}
	fill(b, frames, n);
	/* Deliver the frames when their last one is due, as hardware does. */
	b->frames_done += (int64_t)n;
	util_sleep_until_mono_ns(
	    b->start_ns + frames_to_ns(b->frames_done, b->rate_hz));
	return (ssize_t)n;
}

/* Runs on: the input thread. */
static void
tone_close(struct input_backend *b)
{
	free(b);
}

const struct input_ops input_tone_ops = {
    .name = "tone",
    .open = tone_open,
    .read = tone_read,
    .close = tone_close,
};
