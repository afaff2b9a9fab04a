/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for processing.c: the look-ahead delay is exact and a quiet
 * signal passes unchanged while the rider has nothing to measure; the
 * rider brings noise to the target and moves no faster than its limits;
 * near-silence freezes it (no lift of noise); the limiter keeps the true
 * peak (libebur128's 4x measure of the output) under its ceiling even
 * when the rider pushes hard; the measurements are reported.
 *
 * Threads: single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processing.h"

#define RATE_HZ 48000
#define BLOCK 2048

static struct processing_config
config(double target, double tp)
{
	struct processing_config c;

	memset(&c, 0, sizeof(c));
	c.enabled = true;
	c.loudness_target_lufs = target;
	c.true_peak_max_dbtp = tp;
	c.max_boost_db = 20;
	c.lookahead_ms = 5;
	return c;
}

/* Deterministic noise, roughly pink (one-pole low-pass of white). */
struct noise {
	uint32_t seed;
	float lp;
};

static float
noise_next(struct noise *n)
{
	float w;

	n->seed = n->seed * 1664525u + 1013904223u;
	w = (float)(n->seed >> 8) / 8388608.0f - 1.0f;
	n->lp = 0.9f * n->lp + 0.1f * w;
	return n->lp * 3.0f;
}

/* Fills a stereo block with noise at amplitude amp. */
static void
fill(struct noise *n, float *buf, size_t frames, float amp)
{
	size_t i;

	for (i = 0; i < frames; i++) {
		buf[2 * i] = noise_next(n) * amp;
		buf[2 * i + 1] = buf[2 * i];
	}
}

static void
test_latency_and_passthrough(void **state)
{
	struct processing_config c = config(-16, -1);
	struct processing *p;
	float buf[2 * BLOCK];
	size_t lat, i;
	char err[256];

	(void)state;
	p = processing_new(&c, RATE_HZ, 2, err, sizeof(err));
	assert_non_null(p);
	lat = processing_latency_frames(p);
	/* 5 ms look-ahead plus the interpolator's half length. */
	assert_true(lat >= 240 && lat < 300);
	memset(buf, 0, sizeof(buf));
	buf[2 * 10] = 0.1f;
	buf[2 * 10 + 1] = -0.1f;
	processing_run(p, buf, BLOCK);
	/* Nothing measured yet: gain 0 dB, the impulse comes out delayed. */
	for (i = 0; i < BLOCK; i++) {
		float want = i == 10 + lat ? 0.1f : 0.0f;
		assert_float_equal(buf[2 * i], want, 1e-6);
		assert_float_equal(buf[2 * i + 1], -want, 1e-6);
	}
	processing_free(p);
}

/* Runs seconds of noise at amp; returns the gain after, and the largest
 * gain change between two blocks in dB per second. */
static double
run_noise(struct processing *p, struct noise *n, double seconds, float amp,
    double *max_rate)
{
	struct processing_levels lv;
	float buf[2 * BLOCK];
	size_t blocks = (size_t)(seconds * RATE_HZ / BLOCK), b;
	double prev = NAN, rate;

	for (b = 0; b < blocks; b++) {
		fill(n, buf, BLOCK, amp);
		processing_run(p, buf, BLOCK);
		processing_levels(p, &lv);
		if (!isnan(prev) && max_rate != NULL) {
			rate = fabs(lv.gain_db - prev) * RATE_HZ / BLOCK;
			if (rate > *max_rate)
				*max_rate = rate;
		}
		prev = lv.gain_db;
	}
	return prev;
}

static void
test_rider_reaches_target_slowly(void **state)
{
	struct processing_config c = config(-16, -1);
	struct processing_levels lv;
	struct processing *p;
	struct noise n = {1, 0};
	double rate = 0, g_quiet, g_loud;
	char err[256];

	(void)state;
	p = processing_new(&c, RATE_HZ, 2, err, sizeof(err));
	assert_non_null(p);
	/* Quiet noise: lifted up to the target. */
	g_quiet = run_noise(p, &n, 12, 0.03f, &rate);
	processing_levels(p, &lv);
	print_message("quiet: gain %.1f dB, short-term %.1f LUFS\n", g_quiet,
	    lv.short_term_lufs);
	assert_true(g_quiet > 5);
	assert_true(fabs(lv.short_term_lufs - -16) < 1.0);
	assert_false(lv.frozen);
	assert_true(rate <= PROCESSING_UP_DB_PER_S + 0.01);
	/* 4 dB louder: within 6 LU of the target, the ordinary down speed. */
	rate = 0;
	g_loud = run_noise(p, &n, 6, 0.05f, &rate);
	processing_levels(p, &lv);
	assert_true(g_loud < g_quiet - 3);
	assert_true(fabs(lv.short_term_lufs - -16) < 1.0);
	assert_true(rate <= PROCESSING_DOWN_DB_PER_S + 0.01);
	/* 22 dB louder again: far over the target, the fast cut (bounded). */
	rate = 0;
	g_loud = run_noise(p, &n, 12, 0.6f, &rate);
	processing_levels(p, &lv);
	print_message("loud: gain %.1f dB, short-term %.1f LUFS, rate %.1f\n",
	    g_loud, lv.short_term_lufs, rate);
	assert_true(g_loud < g_quiet - 20);
	assert_true(fabs(lv.short_term_lufs - -16) < 1.0);
	assert_true(rate > PROCESSING_DOWN_DB_PER_S + 1);
	assert_true(rate <= 40.0 + 0.01);
	processing_free(p);
}

static void
test_silence_not_lifted(void **state)
{
	struct processing_config c = config(-16, -1);
	struct processing_levels lv;
	struct processing *p;
	struct noise n = {7, 0};
	double g_before, g_after;
	char err[256];

	(void)state;
	p = processing_new(&c, RATE_HZ, 2, err, sizeof(err));
	assert_non_null(p);
	g_before = run_noise(p, &n, 8, 0.05f, NULL);
	/* Line noise about 60 dB down: the rider holds its gain (it may
	 * move a little in the 400 ms before the momentary level drops). */
	g_after = run_noise(p, &n, 10, 0.00005f, NULL);
	processing_levels(p, &lv);
	assert_true(lv.frozen);
	assert_float_equal(g_after, g_before, 1.0);
	processing_free(p);
}

static void
test_limiter_true_peak(void **state)
{
	struct processing_config c = config(-16, -1);
	struct processing_levels lv;
	struct processing *p;
	float buf[2 * BLOCK];
	size_t b, i;
	double worst = -200, ph = 0, most_cut = 0;
	struct noise n = {3, 0};
	char err[256];

	(void)state;
	p = processing_new(&c, RATE_HZ, 2, err, sizeof(err));
	assert_non_null(p);
	/* Quiet: the rider lifts by some 18 dB. */
	(void)run_noise(p, &n, 10, 0.03f, NULL);
	processing_levels(p, &lv);
	assert_true(lv.gain_db > 15);
	/* Then 26 dB louder at once, with an 11 kHz tone whose peaks fall
	 * between samples: seconds of overs the limiter alone must catch. */
	for (b = 0; b < 70; b++) {
		fill(&n, buf, BLOCK, 0.6f);
		for (i = 0; i < BLOCK; i++) {
			buf[2 * i] += (float)(0.3 * sin(ph));
			buf[2 * i + 1] += (float)(0.3 * sin(ph + 1.0));
			ph += 2 * M_PI * 11000.0 / RATE_HZ;
		}
		processing_run(p, buf, BLOCK);
		processing_levels(p, &lv);
		if (lv.limiter_db < most_cut)
			most_cut = lv.limiter_db;
		if (!isnan(lv.true_peak_dbtp) && lv.true_peak_dbtp > worst)
			worst = lv.true_peak_dbtp;
	}
	print_message("worst true peak %.2f dBTP, limiter down to %.1f dB\n",
	    worst, most_cut);
	/* The ceiling is true_peak_max less the codec margin (1 dB). */
	assert_true(worst <= -2.0 + 0.2);
	assert_true(worst > -4);
	assert_true(most_cut < -10); /* it really had work to do */
	processing_free(p);
}

/* normalise = no: the rider goes back to 0 dB at its speed, then holds. */
static void
test_normalise_off(void **state)
{
	struct processing_config c = config(-16, -1);
	struct processing_levels lv;
	struct processing *p;
	struct noise n = {5, 0};
	double rate = 0, g;
	char err[256];

	(void)state;
	p = processing_new(&c, RATE_HZ, 2, err, sizeof(err));
	assert_non_null(p);
	g = run_noise(p, &n, 10, 0.03f, NULL);
	assert_true(g > 10);
	processing_set_normalise(p, false);
	g = run_noise(p, &n, 1, 0.03f, &rate);
	assert_true(g > 0.5); /* 8 dB/s at most: not there yet */
	assert_true(rate <= PROCESSING_DOWN_DB_PER_S + 0.01);
	g = run_noise(p, &n, 4, 0.03f, NULL);
	assert_float_equal(g, 0.0, 1e-9);
	processing_levels(p, &lv);
	assert_false(lv.frozen);
	processing_set_normalise(p, true);
	g = run_noise(p, &n, 2, 0.03f, NULL);
	assert_true(g > 3);
	processing_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latency_and_passthrough),
	    cmocka_unit_test(test_rider_reaches_target_slowly),
	    cmocka_unit_test(test_silence_not_lifted),
	    cmocka_unit_test(test_limiter_true_peak),
	    cmocka_unit_test(test_normalise_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
