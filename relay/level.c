/* SPDX-License-Identifier: MIT */
/*
 * Level metering: peak and RMS over blocks of rate/10 frames (100 ms, the
 * integration time of a PPM-like meter), in dBFS through util_dbfs(), and
 * a count of consecutive frames in blocks whose RMS sat under the silence
 * threshold. RMS rather than peak decides silence so that a click or a
 * hum spike in an otherwise dead channel does not count as programme.
 * See level.h for the contract.
 *
 * RMS is taken over every sample of the block across all channels, so a
 * sine at peak amplitude A reads 20 log10(A / sqrt(2)) dBFS whichever
 * channels carry it.
 *
 * Threads: a struct level_meter belongs to one thread (the engine).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "level.h"
#include "util.h"

void
level_init(
    struct level_meter *m, int rate_hz, int channels, double threshold_dbfs)
{
	m->threshold_dbfs = threshold_dbfs;
	m->rate_hz = rate_hz > 0 ? rate_hz : 1;
	m->channels = channels > 0 ? channels : 1;
	m->block_peak = 0.0;
	m->block_sumsq = 0.0;
	m->block_samples = 0;
	m->block_frames_max = (uint64_t)m->rate_hz / 10;
	if (m->block_frames_max == 0)
		m->block_frames_max = 1;
	m->peak_dbfs = util_dbfs(0.0);
	m->rms_dbfs = util_dbfs(0.0);
	m->silent_frames = 0;
	m->quiet_threshold_dbfs = threshold_dbfs;
	m->quiet_frames = 0;
}

/* Closes the current block: publishes peak/RMS and updates the silence
 * run. */
static void
finish_block(struct level_meter *m)
{
	double rms = sqrt(m->block_sumsq / (double)m->block_samples);

	m->peak_dbfs = util_dbfs(m->block_peak);
	m->rms_dbfs = util_dbfs(rms);
	if (m->rms_dbfs < m->threshold_dbfs)
		m->silent_frames += (int64_t)m->block_frames_max;
	else
		m->silent_frames = 0;
	if (m->rms_dbfs < m->quiet_threshold_dbfs)
		m->quiet_frames += (int64_t)m->block_frames_max;
	else
		m->quiet_frames = 0;
	m->block_peak = 0.0;
	m->block_sumsq = 0.0;
	m->block_samples = 0;
}

/* Runs on: the engine thread. The samples up to each block boundary are
 * summed in locals, in the same order as one at a time (the same result
 * to the bit), without the boundary test and the stores per sample. */
int
level_feed(struct level_meter *m, const float *frames, size_t nframes)
{
	uint64_t block_samples_max, ch = (uint64_t)m->channels;
	size_t i = 0, j, seg, total = nframes * (size_t)m->channels;
	double v, a, peak, sumsq;
	int finished = 0;

	block_samples_max = m->block_frames_max * ch;
	while (i < total) {
		seg = total - i;
		if (seg > block_samples_max - m->block_samples)
			seg = (size_t)(block_samples_max - m->block_samples);
		peak = m->block_peak;
		sumsq = m->block_sumsq;
		for (j = i; j < i + seg; j++) {
			v = (double)frames[j];
			/* A NaN or infinity must not poison the meter for
			 * good. */
			if (!isfinite(v))
				v = 0.0;
			a = fabs(v);
			if (a > peak)
				peak = a;
			sumsq += v * v;
		}
		m->block_peak = peak;
		m->block_sumsq = sumsq;
		m->block_samples += seg;
		i += seg;
		if (m->block_samples >= block_samples_max) {
			finish_block(m);
			finished = 1;
		}
	}
	return finished;
}

double
level_silent_seconds(const struct level_meter *m)
{
	return (double)m->silent_frames / (double)m->rate_hz;
}

double
level_quiet_seconds(const struct level_meter *m)
{
	return (double)m->quiet_frames / (double)m->rate_hz;
}

double
level_rms_dbfs(const float *frames, size_t nframes, int channels)
{
	size_t i, total = nframes * (size_t)(channels > 0 ? channels : 1);
	double sumsq = 0.0, v;

	if (total == 0)
		return util_dbfs(0.0);
	for (i = 0; i < total; i++) {
		v = (double)frames[i];
		if (!isfinite(v))
			v = 0.0;
		sumsq += v * v;
	}
	return util_dbfs(sqrt(sumsq / (double)total));
}

void
level_dead_air_init(
    struct level_dead_air *d, int64_t after_frames, int64_t restore_frames)
{
	d->quiet_frames = 0;
	d->good_frames = 0;
	d->active = false;
	level_dead_air_set_spans(d, after_frames, restore_frames);
}

void
level_dead_air_set_spans(
    struct level_dead_air *d, int64_t after_frames, int64_t restore_frames)
{
	d->after_frames = after_frames > 0 ? after_frames : 1;
	d->restore_frames = restore_frames > 0 ? restore_frames : 1;
}

/* Runs on: the engine thread. */
enum level_dead_air_verdict
level_dead_air_feed(struct level_dead_air *d, bool programme_quiet,
    bool live_good, bool live_down, size_t n)
{
	if (!d->active) {
		d->quiet_frames =
		    programme_quiet ? d->quiet_frames + (int64_t)n : 0;
		if (!live_down && d->quiet_frames < d->after_frames)
			return LEVEL_DEAD_AIR_KEEP;
		/* quiet_frames stays: the caller reads the silent lead-in. */
		d->active = true;
		d->good_frames = 0;
		return LEVEL_DEAD_AIR_START;
	}
	d->good_frames = live_good ? d->good_frames + (int64_t)n : 0;
	if (d->good_frames < d->restore_frames)
		return LEVEL_DEAD_AIR_KEEP;
	level_dead_air_set_active(d, false);
	return LEVEL_DEAD_AIR_RESTORE;
}

void
level_dead_air_set_active(struct level_dead_air *d, bool active)
{
	d->active = active;
	d->quiet_frames = 0;
	d->good_frames = 0;
}
