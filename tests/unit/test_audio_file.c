/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for audio_file: files written here with libsndfile are read
 * back converted (48 kHz mono -> 44.1 kHz stereo, same-format passthrough,
 * Ogg Vorbis), NaN, Inf and huge float samples come out clamped, and a
 * missing or corrupt file gives a clear error.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "audio_file.h"
#include "test_tmpdir.h"
#include "util.h"

#define TWO_PI 6.283185307179586

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	test_tmpdir_template(tmpdir, sizeof(tmpdir), "test_audio_file");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes frames of a sine (amplitude amp, channel c at freq_hz * (c + 1))
 * with libsndfile. */
static void
write_sine(const char *path, int format, int rate_hz, int channels,
    double freq_hz, double amp, size_t frames)
{
	SF_INFO info;
	SNDFILE *sf;
	float *buf;
	size_t f;
	int c;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate_hz;
	info.channels = channels;
	info.format = format;
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	buf = calloc(frames * (size_t)channels, sizeof(float));
	assert_non_null(buf);
	for (f = 0; f < frames; f++)
		for (c = 0; c < channels; c++)
			buf[f * (size_t)channels + (size_t)c] =
			    (float)(amp * sin(TWO_PI * freq_hz * (c + 1) *
						(double)f / rate_hz));
	assert_int_equal(sf_writef_float(sf, buf, (sf_count_t)frames),
	    (sf_count_t)frames);
	assert_int_equal(sf_close(sf), 0);
	free(buf);
}

/* Reads the whole file in odd-sized pieces; returns the frame count.
 * *out is owned by the caller. */
static size_t
read_all(struct audio_file *af, int channels, float **out)
{
	size_t cap = 1 << 16, n = 0;
	float *buf = malloc(cap * (size_t)channels * sizeof(float));
	ssize_t got;

	assert_non_null(buf);
	for (;;) {
		if (n + 1000 > cap) {
			cap *= 2;
			buf = realloc(buf, cap * (size_t)channels *
				sizeof(float));
			assert_non_null(buf);
		}
		got = audio_file_read(af, buf + n * (size_t)channels, 777);
		assert_true(got >= 0);
		if (got == 0)
			break;
		n += (size_t)got;
	}
	/* The end is sticky. */
	assert_int_equal(audio_file_read(af, buf, 10), 0);
	*out = buf;
	return n;
}

/* Goertzel power of one channel at freq_hz. */
static double
power_at(const float *x, int channels, int ch, size_t n, int rate_hz,
    double freq_hz)
{
	double w = TWO_PI * freq_hz / rate_hz, k = 2.0 * cos(w);
	double s0, s1 = 0.0, s2 = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		s0 = (double)x[i * (size_t)channels + (size_t)ch] + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/* Counts upward zero crossings of one channel in [from, to). */
static int
up_crossings(const float *x, int channels, int ch, size_t from, size_t to)
{
	int count = 0;
	size_t i;

	for (i = from + 1; i < to; i++)
		if (x[(i - 1) * (size_t)channels + (size_t)ch] < 0.0f &&
		    x[i * (size_t)channels + (size_t)ch] >= 0.0f)
			count++;
	return count;
}

static void
test_resample_48k_mono_to_44k1_stereo(void **state)
{
	char path[512], err[256] = "";
	struct audio_file *af;
	float *x, peak = 0.0f;
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/tone48k.wav", tmpdir);
	write_sine(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1, 1000.0,
	    0.5, 96000);

	af = audio_file_open(path, 44100, 2, err, sizeof(err));
	assert_non_null(af);
	assert_int_equal(audio_file_duration_ns(af), 2 * NS_PER_SEC);
	n = read_all(af, 2, &x);
	audio_file_close(af);

	/* 96000 * 44100 / 48000 = 88200 frames, exactly. */
	assert_int_equal(n, 88200);
	/* Mono became two identical channels. */
	for (i = 0; i < n; i++)
		assert_true(x[2 * i] == x[2 * i + 1]);
	/* 1 kHz stays 1 kHz: 1000 cycles per second in the middle second,
	 * and the power sits at 1000 Hz, not at 1088 Hz (48/44.1 * 1000,
	 * what a missing rate conversion would give). */
	{
		int cycles = up_crossings(x, 2, 0, 22050, 66150);

		assert_in_range(cycles, 999, 1001);
	}
	assert_true(power_at(x + 22050 * 2, 2, 0, 44100, 44100, 1000.0) >
	    1000.0 * power_at(x + 22050 * 2, 2, 0, 44100, 44100, 1088.0));
	/* The level survives (SINC, no attenuation in the pass band). */
	for (i = 1000; i < n - 1000; i++)
		peak = fmaxf(peak, fabsf(x[2 * i]));
	assert_true(peak > 0.49f && peak < 0.51f);
	/* The tail was flushed out of the resampler: the last 10 ms are
	 * still the tone, not silence. */
	peak = 0.0f;
	for (i = n - 441; i < n - 20; i++)
		peak = fmaxf(peak, fabsf(x[2 * i]));
	assert_true(peak > 0.45f);
	free(x);
}

static void
test_same_format_is_bit_exact(void **state)
{
	char path[512], err[256] = "";
	struct audio_file *af;
	SF_INFO info;
	SNDFILE *sf;
	short pcm[2 * 5000];
	float *x;
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/s16.wav", tmpdir);
	for (i = 0; i < RELAY_ARRAY_LEN(pcm); i++)
		pcm[i] = (short)((int)(i * 7919 % 65536) - 32768);
	memset(&info, 0, sizeof(info));
	info.samplerate = 44100;
	info.channels = 2;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(sf_writef_short(sf, pcm, 5000), 5000);
	sf_close(sf);

	af = audio_file_open(path, 44100, 2, err, sizeof(err));
	assert_non_null(af);
	n = read_all(af, 2, &x);
	audio_file_close(af);
	assert_int_equal(n, 5000);
	for (i = 0; i < 2 * n; i++)
		assert_true(x[i] == (float)pcm[i] / 32768.0f);
	free(x);
}

static void
test_stereo_to_mono_and_ogg(void **state)
{
	char path[512], err[256] = "";
	struct audio_file *af;
	float *x;
	size_t n;

	(void)state;
	/* Ogg Vorbis, 44.1 kHz stereo (left 500 Hz, right 1 kHz), read as
	 * 48 kHz mono: both tones are present at half level. */
	snprintf(path, sizeof(path), "%s/tone.ogg", tmpdir);
	write_sine(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 500.0,
	    0.5, 44100);
	af = audio_file_open(path, 48000, 1, err, sizeof(err));
	assert_non_null(af);
	n = read_all(af, 1, &x);
	audio_file_close(af);
	assert_in_range(n, 47990, 48010);
	{
		double p500 = power_at(x + 4800, 1, 0, 38400, 48000, 500.0);
		double p1000 = power_at(x + 4800, 1, 0, 38400, 48000, 1000.0);
		double p750 = power_at(x + 4800, 1, 0, 38400, 48000, 750.0);

		assert_true(p500 > 100.0 * p750);
		assert_true(p1000 > 100.0 * p750);
		assert_true(p500 / p1000 > 0.8 && p500 / p1000 < 1.25);
	}
	free(x);
}

/* Whether channel ch of n frames carries freq_hz within 50 dB of a
 * full-strength 0.25 amplitude tone (Goertzel power (A n / 2)^2). */
static bool
has_tone(
    const float *x, int channels, int ch, size_t n, int rate_hz, double freq_hz)
{
	double full = 0.25 * 0.25 * (double)n * (double)n / 4.0;

	return power_at(x, channels, ch, n, rate_hz, freq_hz) > full * 1e-5;
}

static void
test_multichannel_order(void **state)
{
	char path[128], err[256] = "";
	struct audio_file *af;
	float *x;
	size_t n;

	(void)state;
	/* Ogg Vorbis L, C, R (500, 1000, 1500 Hz) read as stereo: R must
	 * come out on the right, C on both, L on the left only. */
	snprintf(path, sizeof(path), "%s/three.ogg", tmpdir);
	write_sine(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 3, 500.0,
	    0.25, 22050);
	af = audio_file_open(path, 44100, 2, err, sizeof(err));
	assert_non_null(af);
	n = read_all(af, 2, &x);
	audio_file_close(af);
	assert_int_equal(n, 22050);
	assert_true(has_tone(x, 2, 0, n, 44100, 500.0));
	assert_true(has_tone(x, 2, 0, n, 44100, 1000.0));
	assert_false(has_tone(x, 2, 0, n, 44100, 1500.0));
	assert_false(has_tone(x, 2, 1, n, 44100, 500.0));
	assert_true(has_tone(x, 2, 1, n, 44100, 1000.0));
	assert_true(has_tone(x, 2, 1, n, 44100, 1500.0));
	free(x);

	/* WAV 5.1, FL FR FC LFE BL BR (300 .. 1800 Hz) as stereo: the
	 * centre and the back pair are mixed in, LFE is left out. */
	snprintf(path, sizeof(path), "%s/six.wav", tmpdir);
	write_sine(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 6, 300.0, 0.25,
	    22050);
	af = audio_file_open(path, 44100, 2, err, sizeof(err));
	assert_non_null(af);
	n = read_all(af, 2, &x);
	audio_file_close(af);
	assert_int_equal(n, 22050);
	assert_true(has_tone(x, 2, 0, n, 44100, 300.0));
	assert_false(has_tone(x, 2, 0, n, 44100, 600.0));
	assert_true(has_tone(x, 2, 0, n, 44100, 900.0));
	assert_false(has_tone(x, 2, 0, n, 44100, 1200.0));
	assert_true(has_tone(x, 2, 0, n, 44100, 1500.0));
	assert_false(has_tone(x, 2, 0, n, 44100, 1800.0));
	assert_true(has_tone(x, 2, 1, n, 44100, 600.0));
	assert_true(has_tone(x, 2, 1, n, 44100, 900.0));
	assert_false(has_tone(x, 2, 1, n, 44100, 1200.0));
	assert_true(has_tone(x, 2, 1, n, 44100, 1800.0));
	free(x);
}

static void
test_missing_file(void **state)
{
	char err[256] = "";
	struct audio_file *af;

	(void)state;
	af = audio_file_open("segments/no-such-news.ogg", 44100, 2, err,
	    sizeof(err));
	assert_null(af);
	assert_string_equal(err,
	    "segments/no-such-news.ogg: cannot open: No such file or "
	    "directory");
}

static void
test_corrupt_file(void **state)
{
	char path[512], err[256] = "";
	unsigned char junk[8192];
	struct audio_file *af;
	size_t i;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/junk.ogg", tmpdir);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)util_random_u32();
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);

	af = audio_file_open(path, 44100, 2, err, sizeof(err));
	assert_null(af);
	assert_non_null(strstr(err, path));
	assert_non_null(
	    strstr(err, ": not an audio file libsndfile can read ("));

	/* A directory is not a file either. */
	af = audio_file_open(tmpdir, 44100, 2, err, sizeof(err));
	assert_null(af);
	assert_non_null(strstr(err, "cannot open: Is a directory"));
}

/* Writes stereo float frames cycling through good and bad samples. */
static void
write_bad_floats(const char *path, int format, int rate_hz, size_t frames)
{
	static const float bad[] = {
		0.5f, -0.25f, NAN, -NAN, INFINITY, -INFINITY, 1e38f, -1e38f,
		2.0f, -3.0f, 1.0f, -1.0f,
	};
	SF_INFO info;
	SNDFILE *sf;
	float *buf;
	size_t i;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate_hz;
	info.channels = 2;
	info.format = format;
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	buf = calloc(frames * 2, sizeof(float));
	assert_non_null(buf);
	for (i = 0; i < frames * 2; i++)
		buf[i] = bad[i % RELAY_ARRAY_LEN(bad)];
	assert_int_equal(sf_writef_float(sf, buf, (sf_count_t)frames),
	    (sf_count_t)frames);
	assert_int_equal(sf_close(sf), 0);
	free(buf);
}

/* NaN, Inf and huge samples in a float or double file come out sanitised:
 * NaN as 0, beyond full scale as +-1, the rest untouched. Resampled, every
 * sample stays finite and near full scale at most (one NaN would spread
 * through the filter, one 1e38 would peak far past full scale). */
static void
test_float_file_is_sanitised(void **state)
{
	static const float want[] = {
		0.5f, -0.25f, 0.0f, 0.0f, 1.0f, -1.0f, 1.0f, -1.0f,
		1.0f, -1.0f, 1.0f, -1.0f,
	};
	static const int formats[] = {
		SF_FORMAT_WAV | SF_FORMAT_FLOAT,
		SF_FORMAT_WAV | SF_FORMAT_DOUBLE,
	};
	char path[512], err[256] = "";
	struct audio_file *af;
	float *x, peak;
	size_t n, i, f;

	(void)state;
	for (f = 0; f < RELAY_ARRAY_LEN(formats); f++) {
		snprintf(path, sizeof(path), "%s/bad%zu.wav", tmpdir, f);
		write_bad_floats(path, formats[f], 44100, 6000);

		af = audio_file_open(path, 44100, 2, err, sizeof(err));
		assert_non_null(af);
		n = read_all(af, 2, &x);
		audio_file_close(af);
		assert_int_equal(n, 6000);
		for (i = 0; i < 2 * n; i++)
			if (x[i] != want[i % RELAY_ARRAY_LEN(want)])
				fail_msg("format %zu, sample %zu: %g, "
				    "expected %g", f, i, (double)x[i],
				    (double)want[i % RELAY_ARRAY_LEN(want)]);
		free(x);

		af = audio_file_open(path, 48000, 2, err, sizeof(err));
		assert_non_null(af);
		n = read_all(af, 2, &x);
		audio_file_close(af);
		assert_true(n > 6000);
		peak = 0.0f;
		for (i = 0; i < 2 * n; i++) {
			if (!isfinite(x[i]))
				fail_msg("format %zu, resampled sample %zu: "
				    "%g", f, i, (double)x[i]);
			if (fabsf(x[i]) > peak)
				peak = fabsf(x[i]);
		}
		if (peak > 2.0f)
			fail_msg("format %zu: resampled peak %g, expected "
			    "about full scale at most", f, (double)peak);
		free(x);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resample_48k_mono_to_44k1_stereo),
		cmocka_unit_test(test_same_format_is_bit_exact),
		cmocka_unit_test(test_multichannel_order),
		cmocka_unit_test(test_stereo_to_mono_and_ogg),
		cmocka_unit_test(test_float_file_is_sanitised),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_corrupt_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
