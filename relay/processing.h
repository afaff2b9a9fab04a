/* SPDX-License-Identifier: MIT */
/*
 * Broadcast loudness processing ([processing]): the programme, after the
 * switcher rendered it and before any encoder sees it, goes through
 *   1. a slow gain rider towards loudness_target (LUFS, EBU R128 /
 *      ITU-R BS.1770 as measured by libebur128 over the 3 s short-term
 *      window): at most PROCESSING_UP_DB_PER_S up and
 *      PROCESSING_DOWN_DB_PER_S down (faster only while the programme is
 *      far over the target or the limiter works hard), frozen while the
 *      programme is silent or in a pause (momentary loudness far below
 *      short-term), so it never pumps on speech pauses nor lifts noise;
 *   2. a look-ahead true-peak limiter at true_peak_max (dBTP): inter-sample
 *      peaks estimated by 4x interpolation, a gain that reaches its value
 *      before the peak arrives (lookahead_ms) and releases smoothly.
 * It also measures the processed programme (momentary, short-term and
 * integrated loudness, true peak) for /api/status and /metrics.
 *
 * Threads: processing_new/free on the main thread; processing_run and
 * processing_levels on the engine thread (one at a time). Everything is
 * allocated in processing_new: processing_run allocates nothing.
 */
#ifndef RELAY_PROCESSING_H
#define RELAY_PROCESSING_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

#define PROCESSING_UP_DB_PER_S 3.0
#define PROCESSING_DOWN_DB_PER_S 8.0

struct processing;

/* What the processed programme measures, and what the rider does. NaN
 * where there is nothing to measure yet (or only silence). */
struct processing_levels {
	double momentary_lufs;	/* 400 ms */
	double short_term_lufs; /* 3 s */
	double integrated_lufs; /* since start (gated, BS.1770) */
	double true_peak_dbtp;	/* max over the blocks since the last call */
	double gain_db;		/* the rider's gain now */
	double limiter_db;	/* limiter reduction now (<= 0) */
	bool frozen;		/* the rider holds (silence or pause) */
};

/* Owned: processing_free(). NULL with err filled on error (libebur128
 * refused the format, out of memory). */
struct processing *processing_new(const struct processing_config *cfg,
    int rate_hz, int channels, char *err, size_t errlen);
void processing_free(struct processing *p);

/* Processes n interleaved frames in place. The output is delayed by the
 * limiter's look-ahead (processing_latency_frames). */
void processing_run(struct processing *p, float *frames, size_t n);

/* normalise = false (a [segment] with normalise = no on air): the rider
 * heads for 0 dB at its usual speed and holds there, so audio mastered to
 * its own level goes out as it is (the limiter still guards the peaks).
 * Engine thread, before processing_run. */
void processing_set_normalise(struct processing *p, bool normalise);

/* Look-ahead delay in frames. */
size_t processing_latency_frames(const struct processing *p);

/* Current measurements; resets the true-peak maximum. */
void processing_levels(struct processing *p, struct processing_levels *out);

#endif
