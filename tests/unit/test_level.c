/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for level.c: block length and the block-finished return, a
 * sine at -6 dBFS (peak -6, RMS -9), digital silence, the silence counter
 * and its reset, chunked feeding and non-finite samples; the dead-air
 * detector's hysteresis (speech pauses never start it nor end it early,
 * a failed input starts it at once) and level_rms_dbfs().
 *
 * Threads: single-threaded.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "level.h"

#define RATE_HZ 48000
#define CHANNELS 2
#define PI 3.14159265358979323846

/* Interleaved stereo sine, both channels equal, phase continuing from
 * *phase_frames. */
static void
make_sine(float *buf, size_t frames, double freq_hz, double dbfs,
    size_t *phase_frames)
{
	double amp = pow(10.0, dbfs / 20.0), v;
	size_t i;

	for (i = 0; i < frames; i++) {
		v = amp * sin(2.0 * PI * freq_hz * (double)(*phase_frames + i) /
		    RATE_HZ);
		buf[i * CHANNELS] = (float)v;
		buf[i * CHANNELS + 1] = (float)v;
	}
	*phase_frames += frames;
}

static float *
alloc_frames(size_t frames)
{
	float *buf = calloc(frames * CHANNELS, sizeof(float));

	assert_non_null(buf);
	return buf;
}

static void
test_init_state(void **state)
{
	struct level_meter m;

	(void)state;
	level_init(&m, RATE_HZ, CHANNELS, -50.0);
	assert_int_equal(m.block_frames_max, RATE_HZ / 10);
	assert_int_equal(m.silent_frames, 0);
	assert_true(m.peak_dbfs <= -120.0);
	assert_true(m.rms_dbfs <= -120.0);
	assert_true(level_silent_seconds(&m) == 0.0);

	level_init(&m, 44100, 1, -50.0);
	assert_int_equal(m.block_frames_max, 4410);
}

static void
test_sine_minus_6_dbfs(void **state)
{
	struct level_meter m;
	float *buf = alloc_frames(RATE_HZ);
	size_t phase = 0;

	(void)state;
	level_init(&m, RATE_HZ, CHANNELS, -50.0);
	make_sine(buf, RATE_HZ, 1000.0, -6.0, &phase);
	/* One frame short of a block: nothing published yet. */
	assert_int_equal(level_feed(&m, buf, 4799), 0);
	assert_true(m.peak_dbfs <= -120.0);
	/* The 4800th frame completes it. */
	assert_int_equal(level_feed(&m, buf + 4799 * CHANNELS, 1), 1);
	assert_float_equal(m.peak_dbfs, -6.0, 0.05);
	/* RMS of a sine is peak - 3.01 dB. */
	assert_float_equal(m.rms_dbfs, -9.01, 0.05);
	assert_int_equal(m.silent_frames, 0);

	/* The rest of the second: 9 more blocks, same values. */
	assert_int_equal(level_feed(&m, buf + 4800 * CHANNELS, RATE_HZ - 4800),
	    1);
	assert_float_equal(m.peak_dbfs, -6.0, 0.05);
	assert_float_equal(m.rms_dbfs, -9.01, 0.05);
	assert_true(level_silent_seconds(&m) == 0.0);
	free(buf);
}

static void
test_quieter_sine_reads_lower(void **state)
{
	struct level_meter m;
	float *buf = alloc_frames(4800);
	size_t phase = 0;

	(void)state;
	level_init(&m, RATE_HZ, CHANNELS, -50.0);
	make_sine(buf, 4800, 440.0, -30.0, &phase);
	assert_int_equal(level_feed(&m, buf, 4800), 1);
	assert_float_equal(m.peak_dbfs, -30.0, 0.1);
	assert_float_equal(m.rms_dbfs, -33.01, 0.1);
	free(buf);
}

static void
test_digital_silence(void **state)
{
	struct level_meter m;
	float *buf = alloc_frames(2 * RATE_HZ);

	(void)state;
	level_init(&m, RATE_HZ, CHANNELS, -50.0);
	assert_int_equal(level_feed(&m, buf, 2 * RATE_HZ), 1);
	assert_true(m.peak_dbfs <= -120.0);
	assert_true(m.rms_dbfs <= -120.0);
	assert_int_equal(m.silent_frames, 2 * RATE_HZ);
	assert_float_equal(level_silent_seconds(&m), 2.0, 1e-9);
	free(buf);
}

static void
test_silence_counter_resets_and_counts_again(void **state)
{
	struct level_meter m;
	float *silence = alloc_frames(RATE_HZ);
	float *tone = alloc_frames(4800);
	float *quiet = alloc_frames(4800);
	size_t phase = 0, i;

	(void)state;
	level_init(&m, RATE_HZ, CHANNELS, -50.0);
	(void)level_feed(&m, silence, RATE_HZ);
	assert_float_equal(level_silent_seconds(&m), 1.0, 1e-9);

	/* One loud block ends the run. */
	make_sine(tone, 4800, 1000.0, -6.0, &phase);
	assert_int_equal(level_feed(&m, tone, 4800), 1);
	assert_int_equal(m.silent_frames, 0);

	/* Half a second of silence, fed in odd chunks. */
	for (i = 0; i < 24000; i += 7)
		(void)level_feed(&m, silence, i + 7 <= 24000 ? 7 : 24000 - i);
	assert_int_equal(m.silent_frames, 24000);
	assert_float_equal(level_silent_seconds(&m), 0.5, 1e-9);

	/* A signal under the threshold (-70 < -50) still counts as silent. */
	phase = 0;
	make_sine(quiet, 4800, 1000.0, -70.0, &phase);
	assert_int_equal(level_feed(&m, quiet, 4800), 1);
	assert_int_equal(m.silent_frames, 24000 + 4800);
	assert_float_equal(m.rms_dbfs, -73.0, 0.2);

	/* The same signal above a -80 dBFS threshold does not. */
	level_init(&m, RATE_HZ, CHANNELS, -80.0);
	(void)level_feed(&m, silence, 4800);
	assert_int_equal(m.silent_frames, 4800);
	assert_int_equal(level_feed(&m, quiet, 4800), 1);
	assert_int_equal(m.silent_frames, 0);

	/* The second threshold (dead air's) counts on its own. */
	level_init(&m, RATE_HZ, CHANNELS, -80.0);
	m.quiet_threshold_dbfs = -60.0;
	(void)level_feed(&m, quiet, 4800);
	assert_int_equal(m.silent_frames, 0);
	assert_int_equal(m.quiet_frames, 4800);
	assert_float_equal(level_quiet_seconds(&m), 0.1, 1e-9);
	(void)level_feed(&m, tone, 4800);
	assert_int_equal(m.quiet_frames, 0);
	level_init(&m, RATE_HZ, CHANNELS, -80.0);
	assert_true(m.quiet_threshold_dbfs == -80.0);

	/* A partial block does not count yet. */
	(void)level_feed(&m, silence, 4799);
	assert_int_equal(m.silent_frames, 0);
	(void)level_feed(&m, silence, 1);
	assert_int_equal(m.silent_frames, 4800);
	free(silence);
	free(tone);
	free(quiet);
}

static void
test_non_finite_samples_do_not_poison(void **state)
{
	struct level_meter m;
	float *buf = alloc_frames(4800);
	size_t phase = 0;

	(void)state;
	level_init(&m, RATE_HZ, CHANNELS, -50.0);
	buf[10] = NAN;
	buf[11] = INFINITY;
	assert_int_equal(level_feed(&m, buf, 4800), 1);
	assert_true(m.rms_dbfs <= -120.0);
	make_sine(buf, 4800, 1000.0, -6.0, &phase);
	assert_int_equal(level_feed(&m, buf, 4800), 1);
	assert_false(isnan(m.rms_dbfs));
	assert_float_equal(m.rms_dbfs, -9.01, 0.05);
	free(buf);
}

/* Blocks of 2048 frames, as the engine renders them. */
#define BLOCK 2048

static enum level_dead_air_verdict
feed_blocks(struct level_dead_air *d, int n_blocks, bool quiet, bool good,
    bool down, int *at_block)
{
	enum level_dead_air_verdict v = LEVEL_DEAD_AIR_KEEP;
	int i;

	*at_block = -1;
	for (i = 0; i < n_blocks; i++) {
		v = level_dead_air_feed(d, quiet, good, down, BLOCK);
		if (v != LEVEL_DEAD_AIR_KEEP) {
			*at_block = i;
			return v;
		}
	}
	return v;
}

/* Silence for `after` starts it exactly when the span is reached, with the
 * lead-in readable; good live audio for `restore_after` ends it. */
static void
test_dead_air_starts_after_and_restores(void **state)
{
	struct level_dead_air d;
	int at;

	(void)state;
	level_dead_air_init(&d, 10 * BLOCK, 4 * BLOCK);
	assert_int_equal(
	    feed_blocks(&d, 9, true, false, false, &at), LEVEL_DEAD_AIR_KEEP);
	assert_int_equal(level_dead_air_feed(&d, true, false, false, BLOCK),
	    LEVEL_DEAD_AIR_START);
	assert_true(d.active);
	assert_int_equal(d.quiet_frames, 10 * BLOCK);
	/* Still silent: stays. */
	assert_int_equal(
	    feed_blocks(&d, 100, true, false, false, &at), LEVEL_DEAD_AIR_KEEP);
	assert_int_equal(feed_blocks(&d, 10, false, true, false, &at),
	    LEVEL_DEAD_AIR_RESTORE);
	assert_int_equal(at, 3);
	assert_false(d.active);
}

/* Speech: 8 blocks of voice, 9 of pause, over and over; with after = 10
 * blocks it never starts. */
static void
test_dead_air_speech_pauses_never_start(void **state)
{
	struct level_dead_air d;
	int i, at;

	(void)state;
	level_dead_air_init(&d, 10 * BLOCK, 4 * BLOCK);
	for (i = 0; i < 200; i++) {
		assert_int_equal(feed_blocks(&d, 8, false, true, false, &at),
		    LEVEL_DEAD_AIR_KEEP);
		assert_int_equal(feed_blocks(&d, 9, true, false, false, &at),
		    LEVEL_DEAD_AIR_KEEP);
	}
	assert_false(d.active);
}

/* Active: speech with pauses shorter than restore_after never brings live
 * back (every pause starts the count over); sustained audio does. */
static void
test_dead_air_restore_needs_sustained_audio(void **state)
{
	struct level_dead_air d;
	int i, at;

	(void)state;
	level_dead_air_init(&d, 4 * BLOCK, 6 * BLOCK);
	assert_int_equal(
	    feed_blocks(&d, 4, true, false, false, &at), LEVEL_DEAD_AIR_START);
	for (i = 0; i < 50; i++) {
		assert_int_equal(feed_blocks(&d, 5, false, true, false, &at),
		    LEVEL_DEAD_AIR_KEEP);
		assert_int_equal(feed_blocks(&d, 1, false, false, false, &at),
		    LEVEL_DEAD_AIR_KEEP);
	}
	assert_true(d.active);
	assert_int_equal(feed_blocks(&d, 6, false, true, false, &at),
	    LEVEL_DEAD_AIR_RESTORE);
	assert_int_equal(at, 5);
}

/* A failed input starts it at the first block, loud or not; while the
 * input stays down the live audio does not count as good. */
static void
test_dead_air_input_down_starts_at_once(void **state)
{
	struct level_dead_air d;
	int at;

	(void)state;
	level_dead_air_init(&d, 100 * BLOCK, 2 * BLOCK);
	assert_int_equal(level_dead_air_feed(&d, false, false, true, BLOCK),
	    LEVEL_DEAD_AIR_START);
	assert_int_equal(
	    feed_blocks(&d, 50, false, false, true, &at), LEVEL_DEAD_AIR_KEEP);
	assert_int_equal(feed_blocks(&d, 2, false, true, false, &at),
	    LEVEL_DEAD_AIR_RESTORE);
	/* Going active by another path restarts the counts. */
	level_dead_air_set_active(&d, true);
	assert_int_equal(d.good_frames, 0);
	assert_int_equal(level_dead_air_feed(&d, false, true, false, BLOCK),
	    LEVEL_DEAD_AIR_KEEP);
}

/* level_rms_dbfs: a -6 dBFS sine reads -9 dBFS RMS; silence the floor. */
static void
test_rms_dbfs(void **state)
{
	float *buf = alloc_frames(4800);
	size_t phase = 0;

	(void)state;
	assert_true(level_rms_dbfs(buf, 4800, CHANNELS) <= -120.0);
	make_sine(buf, 4800, 1000.0, -6.0, &phase);
	assert_float_equal(level_rms_dbfs(buf, 4800, CHANNELS), -9.03, 0.05);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_state),
		cmocka_unit_test(test_sine_minus_6_dbfs),
		cmocka_unit_test(test_quieter_sine_reads_lower),
		cmocka_unit_test(test_digital_silence),
		cmocka_unit_test(test_silence_counter_resets_and_counts_again),
		cmocka_unit_test(test_non_finite_samples_do_not_poison),
		cmocka_unit_test(test_dead_air_starts_after_and_restores),
		cmocka_unit_test(test_dead_air_speech_pauses_never_start),
		cmocka_unit_test(test_dead_air_restore_needs_sustained_audio),
		cmocka_unit_test(test_dead_air_input_down_starts_at_once),
		cmocka_unit_test(test_rms_dbfs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
