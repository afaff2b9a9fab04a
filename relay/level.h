/* SPDX-License-Identifier: MIT */
/*
 * Level metering of the programme: peak and RMS in dBFS over blocks, and
 * how long the signal has stayed below the silence threshold (the basis of
 * on_air and, later, dead-air detection).
 *
 * Threads: a struct level_meter is used by one thread (the engine).
 */
#ifndef RELAY_LEVEL_H
#define RELAY_LEVEL_H

#include <stddef.h>
#include <stdint.h>

struct level_meter {
	double threshold_dbfs;
	int rate_hz;
	int channels;
	double block_peak; /* linear, current block */
	double block_sumsq;
	uint64_t block_samples;
	uint64_t block_frames_max; /* block length: rate / 10 */
	double peak_dbfs;	   /* last finished block */
	double rms_dbfs;
	int64_t silent_frames; /* consecutive frames below threshold */
};

void level_init(
    struct level_meter *m, int rate_hz, int channels, double threshold_dbfs);

/* Feeds frames. Returns 1 when a block finished (new peak/rms), else 0. */
int level_feed(struct level_meter *m, const float *frames, size_t nframes);

double level_silent_seconds(const struct level_meter *m);

#endif
