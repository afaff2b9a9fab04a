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

#include <stdbool.h>
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
	/* A second threshold, counted the same way: the station's dead air
	 * ([fallback] threshold_dbfs), for listen-back. level_init() sets it
	 * to threshold_dbfs. */
	double quiet_threshold_dbfs;
	int64_t quiet_frames;
};

void level_init(
    struct level_meter *m, int rate_hz, int channels, double threshold_dbfs);

/* Feeds frames. Returns 1 when a block finished (new peak/rms), else 0. */
int level_feed(struct level_meter *m, const float *frames, size_t nframes);

double level_silent_seconds(const struct level_meter *m);

/* As level_silent_seconds(), under quiet_threshold_dbfs. */
double level_quiet_seconds(const struct level_meter *m);

/* RMS of n interleaved frames over every sample, in dBFS (util_dbfs);
 * non-finite samples count as 0. */
double level_rms_dbfs(const float *frames, size_t nframes, int channels);

/*
 * Dead-air detection with hysteresis, in frames (pure: the caller says
 * what each block was). Idle, it counts the programme's consecutive quiet
 * frames and starts once they reach after_frames, or at once when the live
 * input is down while live is on air. Active, it counts the live input's
 * consecutive good frames (above the threshold, input up) and restores
 * once they reach restore_frames; one quiet block starts that count over,
 * so pauses in speech neither start it (shorter than after) nor end it.
 */
struct level_dead_air {
	int64_t after_frames;
	int64_t restore_frames;
	int64_t quiet_frames; /* programme below threshold, in a row */
	int64_t good_frames;  /* live above threshold, in a row (active) */
	bool active;
};

enum level_dead_air_verdict {
	LEVEL_DEAD_AIR_KEEP = 0, /* no change */
	LEVEL_DEAD_AIR_START,	 /* the filler should go on air */
	LEVEL_DEAD_AIR_RESTORE,	 /* live should return */
};

/* Idle detector with these spans (each >= 1 frame). */
void level_dead_air_init(
    struct level_dead_air *d, int64_t after_frames, int64_t restore_frames);

/* Changes the spans and keeps the counts (a reload). */
void level_dead_air_set_spans(
    struct level_dead_air *d, int64_t after_frames, int64_t restore_frames);

/* One block of n frames: programme_quiet (what went on air was below the
 * threshold), live_good (the live input was above it and is up),
 * live_down (the live input failed and live is on air). After START,
 * quiet_frames still holds the silent lead-in that caused it. */
enum level_dead_air_verdict level_dead_air_feed(struct level_dead_air *d,
    bool programme_quiet, bool live_good, bool live_down, size_t n);

/* The switcher went to or left the filler by another path (a segment
 * started, the operator skipped, fallback turned off): counts restart. */
void level_dead_air_set_active(struct level_dead_air *d, bool active);

#endif
