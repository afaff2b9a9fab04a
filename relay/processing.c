/* SPDX-License-Identifier: MIT */
/*
 * Loudness processing: gain rider + true-peak limiter + meters. See
 * processing.h for what it does; this file is how.
 *
 * DESIGN
 *
 * Rider. libebur128 measures the programme as it comes in (before any
 * gain); after each block the rider aims at loudness_target minus the
 * short-term (3 s) loudness, clamped to -max_boost-ish limits, and moves
 * towards it by at most PROCESSING_UP_DB_PER_S (slow, so a quiet passage is
 * lifted gently) or PROCESSING_DOWN_DB_PER_S (faster: a loud source must
 * not stay too loud for long; the limiter covers the moments in between).
 * A sudden loud onset (momentary well above short-term) is aimed at from
 * the momentary loudness, so the cut starts without waiting 3 s, and while
 * the programme is far over the target (or the limiter takes more than
 * 6 dB) the cut may run at PROCESSING_FAST_DOWN_DB_PER_S.
 * It holds its gain while the momentary (400 ms) loudness is below
 * PROCESSING_SILENCE_LUFS (silence, line noise) or more than
 * PROCESSING_PAUSE_LU below the short-term one (a pause between words):
 * so noise is never lifted and speech does not pump. The gain ramps
 * linearly across each block, so it never steps.
 *
 * Limiter. With the newest sample at t, the true peak near t - D is
 * estimated from the sample and three interpolated points (0.25, 0.5, 0.75)
 * of a windowed-sinc 4x interpolator (2 * D taps); the gain that peak needs
 * is g(t - D) = min(1, ceiling / peak). The applied gain for sample
 * p = t - D - L (L = look-ahead) is the mean over L values of r, where r is
 * the running minimum of g over the last L + 1 positions, released slowly
 * (PROCESSING_RELEASE_MS). Every r in that mean covers g(p), so the
 * applied gain is at most g(p) when p is output: the peak is caught, and
 * the gain eases down over the L samples before it instead of jumping.
 *
 * Threads: see processing.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>

#include "processing.h"

#define PROCESSING_SILENCE_LUFS -55.0
#define PROCESSING_PAUSE_LU 12.0
#define PROCESSING_MAX_CUT_DB 30.0
#define PROCESSING_RELEASE_MS 80.0
/* A sudden loud source: momentary loudness this far above short-term
 * makes the rider aim from the momentary value, so it starts down at once
 * instead of after the 3 s window caught up. */
#define PROCESSING_ONSET_LU 6.0
/* The limiter aims this far under true_peak_max: lossy encoders overshoot
 * what they are given, most on heavily limited audio (a -10 LUFS source
 * arriving while the rider still lifts by 14 dB): the decoded Opus 96
 * kbit/s peak came up to 1.1 dB over the limiter's ceiling, Vorbis q6 up
 * to 0.4 dB. The decoded stream is what a listener's meter sees. */
#define PROCESSING_CODEC_MARGIN_DB 1.0
/* The programme more than PROCESSING_ONSET_LU over the target right now
 * (momentary, after the gain): the rider may cut this fast, so the limiter
 * does not have to hold 10 dB or more for long (heavy limiting is where
 * lossy encoders overshoot most: 1.2 dB for Opus 96 kbit/s measured). */
#define PROCESSING_FAST_DOWN_DB_PER_S 40.0
/* The limiter taking more than 6 dB off: the same fast cut, noticed within
 * a block rather than the 400 ms of the momentary loudness. */
#define PROCESSING_HEAVY_LIMIT 0.5f
#define INTERP_HALF 8 /* D: taps either side of the interpolated point */
#define INTERP_TAPS (2 * INTERP_HALF)
#define INTERP_PHASES 3
/* How often the rider reads the input's loudness: EBU Tech 3341's
 * minimum for a meter (10 a second). */
#define RIDE_READ_HZ 10

struct processing {
	int rate_hz;
	int channels;
	double target_lufs;
	double max_boost_db;
	ebur128_state *in_meter;  /* M, S: the rider's input */
	ebur128_state *out_meter; /* M, S, I, true peak: for status */

	double gain_db; /* rider */
	/* The input's momentary and short-term loudness as last read, and
	 * the frames fed since (ride()). */
	double in_m, in_s;
	size_t in_unread;
	bool in_read;
	bool frozen;
	bool normalise; /* false: aim at 0 dB (processing_set_normalise) */

	/* Limiter. */
	float ceiling;
	float taps[INTERP_PHASES][INTERP_TAPS];
	float *hist;	     /* channels * INTERP_TAPS, newest last */
	float *delay;	     /* channels * delay_frames */
	size_t delay_frames; /* D + L + 1 */
	size_t delay_at;     /* next write */
	size_t look;	     /* L */
	float *min_val;	     /* deque of (position, g), capacity L + 1 */
	size_t *min_pos;
	size_t min_head, min_len;
	size_t pos; /* positions fed to the deque */
	float release_coef;
	float r;    /* released minimum */
	float *box; /* L values of r */
	size_t box_at;
	double box_sum;
	float applied; /* gain of the last output sample */

	double peak_max; /* true peak since the last processing_levels */
};

static double
db_to_lin(double db)
{
	return pow(10.0, db / 20.0);
}

static void
make_taps(struct processing *p)
{
	int ph, k;

	for (ph = 0; ph < INTERP_PHASES; ph++) {
		double f = (ph + 1) / 4.0, sum = 0;
		for (k = 0; k < INTERP_TAPS; k++) {
			/* Distance from tap k to the point between taps
			 * D - 1 and D, at fraction f. */
			double x = (double)k - (INTERP_HALF - 1) - f;
			double sinc =
			    fabs(x) < 1e-9 ? 1.0 : sin(M_PI * x) / (M_PI * x);
			double w = 0.5 + 0.5 * cos(M_PI * x / INTERP_HALF);
			p->taps[ph][k] = (float)(sinc * w);
			sum += sinc * w;
		}
		/* Unity gain at DC, so a constant never reads as a peak. */
		for (k = 0; k < INTERP_TAPS; k++)
			p->taps[ph][k] = (float)((double)p->taps[ph][k] / sum);
	}
}

struct processing *
processing_new(const struct processing_config *cfg, int rate_hz, int channels,
    char *err, size_t errlen)
{
	struct processing *p;
	size_t ch = (size_t)channels, i;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto oom;
	p->rate_hz = rate_hz;
	p->channels = channels;
	p->target_lufs = cfg->loudness_target_lufs;
	p->max_boost_db = cfg->max_boost_db;
	p->in_meter = ebur128_init((unsigned)channels, (unsigned long)rate_hz,
	    EBUR128_MODE_M | EBUR128_MODE_S | EBUR128_MODE_HISTOGRAM);
	p->out_meter = ebur128_init((unsigned)channels, (unsigned long)rate_hz,
	    EBUR128_MODE_M | EBUR128_MODE_S | EBUR128_MODE_I |
		EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_HISTOGRAM);
	if (p->in_meter == NULL || p->out_meter == NULL) {
		snprintf(err, errlen,
		    "[processing]: libebur128 cannot measure %d Hz, %d ch",
		    rate_hz, channels);
		processing_free(p);
		return NULL;
	}
	p->ceiling = (float)db_to_lin(
	    cfg->true_peak_max_dbtp - PROCESSING_CODEC_MARGIN_DB);
	make_taps(p);
	p->look = (size_t)(cfg->lookahead_ms * rate_hz / 1000.0 + 0.5);
	if (p->look < 1)
		p->look = 1;
	p->delay_frames = INTERP_HALF + p->look + 1;
	p->hist = calloc(ch * INTERP_TAPS, sizeof(float));
	p->delay = calloc(ch * p->delay_frames, sizeof(float));
	p->min_val = calloc(p->look + 1, sizeof(float));
	p->min_pos = calloc(p->look + 1, sizeof(size_t));
	p->box = calloc(p->look, sizeof(float));
	if (p->hist == NULL || p->delay == NULL || p->min_val == NULL ||
	    p->min_pos == NULL || p->box == NULL)
		goto oom;
	for (i = 0; i < p->look; i++)
		p->box[i] = 1.0f;
	p->box_sum = (double)p->look;
	p->r = 1.0f;
	p->applied = 1.0f;
	p->normalise = true;
	p->release_coef =
	    (float)(1.0 - exp(-1000.0 / (PROCESSING_RELEASE_MS * rate_hz)));
	return p;
oom:
	snprintf(err, errlen, "[processing]: out of memory");
	processing_free(p);
	return NULL;
}

void
processing_free(struct processing *p)
{
	if (p == NULL)
		return;
	if (p->in_meter != NULL)
		ebur128_destroy(&p->in_meter);
	if (p->out_meter != NULL)
		ebur128_destroy(&p->out_meter);
	free(p->hist);
	free(p->delay);
	free(p->min_val);
	free(p->min_pos);
	free(p->box);
	free(p);
}

void
processing_set_normalise(struct processing *p, bool normalise)
{
	p->normalise = normalise;
}

size_t
processing_latency_frames(const struct processing *p)
{
	return p != NULL ? INTERP_HALF + p->look : 0;
}

/*
 * The rider's decision for the block just measured: the new gain. The
 * input's loudness is read every RIDE_READ_HZ-th of a second of audio, not
 * every block: each read sums the whole window again in libebur128 (3 s
 * of samples for the short-term value), which at the engine's 20-odd
 * blocks a second cost about a sixth of relay's CPU with processing on;
 * the gain still moves every block.
 */
static double
ride(struct processing *p, size_t n)
{
	double m, s, want = 0.0, step, dt, down;

	p->in_unread += n;
	if (!p->in_read || p->in_unread >= (size_t)p->rate_hz / RIDE_READ_HZ) {
		p->in_m = p->in_s = -HUGE_VAL;
		(void)ebur128_loudness_momentary(p->in_meter, &p->in_m);
		(void)ebur128_loudness_shortterm(p->in_meter, &p->in_s);
		p->in_unread = 0;
		p->in_read = true;
	}
	m = p->in_m;
	s = p->in_s;
	if (!p->normalise) {
		/* normalise = no: back to 0 dB and stay there. */
		p->frozen = false;
	} else {
		p->frozen = !isfinite(m) || !isfinite(s) ||
			    m < PROCESSING_SILENCE_LUFS ||
			    m < s - PROCESSING_PAUSE_LU;
		if (p->frozen)
			return p->gain_db;
		want =
		    p->target_lufs -
		    (m > s + PROCESSING_ONSET_LU ? m - PROCESSING_ONSET_LU : s);
		if (want > p->max_boost_db)
			want = p->max_boost_db;
		if (want < -PROCESSING_MAX_CUT_DB)
			want = -PROCESSING_MAX_CUT_DB;
	}
	dt = (double)n / p->rate_hz;
	down = PROCESSING_DOWN_DB_PER_S;
	if (p->normalise &&
	    ((isfinite(m) &&
		 m + p->gain_db > p->target_lufs + PROCESSING_ONSET_LU) ||
		p->applied < PROCESSING_HEAVY_LIMIT))
		down = PROCESSING_FAST_DOWN_DB_PER_S;
	step = want - p->gain_db;
	if (step > PROCESSING_UP_DB_PER_S * dt)
		step = PROCESSING_UP_DB_PER_S * dt;
	if (step < -down * dt)
		step = -down * dt;
	return p->gain_db + step;
}

/* Feeds the gain need of position pos into the sliding minimum. */
static float
min_push(struct processing *p, float g)
{
	size_t cap = p->look + 1, tail;

	/* Drop values that can never be the minimum again. */
	while (p->min_len > 0) {
		tail = (p->min_head + p->min_len - 1) % cap;
		if (p->min_val[tail] < g)
			break;
		p->min_len--;
	}
	tail = (p->min_head + p->min_len) % cap;
	p->min_val[tail] = g;
	p->min_pos[tail] = p->pos;
	p->min_len++;
	/* Drop the front when it left the window of L + 1 positions. */
	if (p->pos - p->min_pos[p->min_head] > p->look) {
		p->min_head = (p->min_head + 1) % cap;
		p->min_len--;
	}
	p->pos++;
	return p->min_val[p->min_head];
}

void
processing_run(struct processing *p, float *frames, size_t n)
{
	size_t ch = (size_t)p->channels, i, c, k, read_at;
	double g0, g1, tp, peak_block = 0;
	float g, peak, need, m, *h, v, y;
	int ph;

	if (n == 0)
		return;
	(void)ebur128_add_frames_float(p->in_meter, frames, n);
	g0 = db_to_lin(p->gain_db);
	p->gain_db = ride(p, n);
	g1 = db_to_lin(p->gain_db);
	for (i = 0; i < n; i++) {
		g = (float)(g0 + (g1 - g0) * (double)(i + 1) / (double)n);
		peak = 0;
		for (c = 0; c < ch; c++) {
			h = p->hist + c * INTERP_TAPS;
			memmove(h, h + 1, (INTERP_TAPS - 1) * sizeof(float));
			v = frames[i * ch + c] * g;
			h[INTERP_TAPS - 1] = v;
			p->delay[p->delay_at * ch + c] = v;
			y = fabsf(h[INTERP_HALF - 1]);
			if (y > peak)
				peak = y;
			for (ph = 0; ph < INTERP_PHASES; ph++) {
				float acc = 0;
				for (k = 0; k < INTERP_TAPS; k++)
					acc += p->taps[ph][k] * h[k];
				if (fabsf(acc) > peak)
					peak = fabsf(acc);
			}
		}
		need = peak > p->ceiling ? p->ceiling / peak : 1.0f;
		m = min_push(p, need);
		if (m < p->r)
			p->r = m;
		else
			p->r += (m - p->r) * p->release_coef;
		p->box_sum += (double)p->r - (double)p->box[p->box_at];
		p->box[p->box_at] = p->r;
		p->box_at = (p->box_at + 1) % p->look;
		p->applied = (float)(p->box_sum / (double)p->look);
		if (p->applied > 1.0f)
			p->applied = 1.0f;
		/* The oldest sample in the delay line goes out now. */
		read_at = (p->delay_at + 1) % p->delay_frames;
		for (c = 0; c < ch; c++)
			frames[i * ch + c] =
			    p->delay[read_at * ch + c] * p->applied;
		p->delay_at = read_at;
	}
	(void)ebur128_add_frames_float(p->out_meter, frames, n);
	for (c = 0; c < ch; c++) {
		if (ebur128_prev_true_peak(p->out_meter, (unsigned)c, &tp) ==
			EBUR128_SUCCESS &&
		    tp > peak_block)
			peak_block = tp;
	}
	if (peak_block > p->peak_max)
		p->peak_max = peak_block;
}

static double
lufs_or_nan(int rc, double v)
{
	return rc == EBUR128_SUCCESS && isfinite(v) ? v : (double)NAN;
}

void
processing_levels(struct processing *p, struct processing_levels *out)
{
	double v = 0;
	int rc;

	rc = ebur128_loudness_momentary(p->out_meter, &v);
	out->momentary_lufs = lufs_or_nan(rc, v);
	rc = ebur128_loudness_shortterm(p->out_meter, &v);
	out->short_term_lufs = lufs_or_nan(rc, v);
	rc = ebur128_loudness_global(p->out_meter, &v);
	out->integrated_lufs = lufs_or_nan(rc, v);
	out->true_peak_dbtp =
	    p->peak_max > 0 ? 20.0 * log10(p->peak_max) : (double)NAN;
	p->peak_max = 0;
	out->gain_db = p->gain_db;
	out->limiter_db =
	    p->applied < 1.0f ? 20.0 * log10((double)p->applied) : 0.0;
	out->frozen = p->frozen;
}
