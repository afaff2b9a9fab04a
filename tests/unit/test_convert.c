/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for convert.c: every raw format including its extremes and
 * byte order; channel mixing (mono->stereo, stereo->mono, 6->2 and the
 * other rules of convert.h); resampling 44100->48000 and 48000->22050
 * keeps a 1 kHz sine at 1 kHz (Goertzel filter and zero-crossing count)
 * with an output length that follows the ratio; and no aliasing: a 15 kHz
 * sine at 44100 resampled to 22050 leaves the 7050 Hz alias at least 60 dB
 * under the input level. A control run through libsamplerate's SRC_LINEAR
 * shows that the alias measurement does catch a converter without a
 * filter.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <math.h>
#include <samplerate.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "convert.h"

#define PI 3.14159265358979323846

/* Like assert_float_equal, but in double precision and safe for
 * expressions (cmocka's macro casts its unparenthesized arguments). */
#define assert_near(a, b, eps)                                              \
	check_near((double)(a), (double)(b), (double)(eps), #a, __FILE__,   \
	    __LINE__)

static void
check_near(double a, double b, double eps, const char *what,
    const char *file, int line)
{
	if (fabs(a - b) <= eps)
		return;
	print_error("%s = %.9g, expected %.9g +- %.3g\n", what, a, b, eps);
	_fail(file, line);
}

/* ---- raw formats ---- */

static void
test_sample_bytes_and_parse(void **state)
{
	enum sample_format fmt = SAMPLE_F32LE;

	(void)state;
	assert_int_equal(convert_sample_bytes(SAMPLE_S16LE), 2);
	assert_int_equal(convert_sample_bytes(SAMPLE_S32LE), 4);
	assert_int_equal(convert_sample_bytes(SAMPLE_F32LE), 4);

	assert_int_equal(convert_parse_format("s16le", &fmt), 0);
	assert_int_equal(fmt, SAMPLE_S16LE);
	assert_int_equal(convert_parse_format("s32le", &fmt), 0);
	assert_int_equal(fmt, SAMPLE_S32LE);
	assert_int_equal(convert_parse_format("f32le", &fmt), 0);
	assert_int_equal(fmt, SAMPLE_F32LE);
	assert_int_equal(convert_parse_format("s24le", &fmt), -EINVAL);
	assert_int_equal(convert_parse_format("s16be", &fmt), -EINVAL);
	assert_int_equal(convert_parse_format("", &fmt), -EINVAL);
	assert_int_equal(convert_parse_format("s16le ", &fmt), -EINVAL);
	assert_int_equal(convert_parse_format(NULL, &fmt), -EINVAL);
	/* Failures leave the output alone. */
	assert_int_equal(fmt, SAMPLE_F32LE);
}

static void
test_s16le(void **state)
{
	static const unsigned char raw[] = {
		0x00, 0x80, /* -32768 */
		0xff, 0x7f, /* 32767 */
		0x00, 0x00, /* 0 */
		0x01, 0x00, /* 1 */
		0xff, 0xff, /* -1 */
		0x34, 0x12, /* 0x1234: low byte first */
		0x00, 0x40, /* 16384 */
		0x00, 0xc0, /* -16384 */
	};
	float out[8];

	(void)state;
	convert_to_float(SAMPLE_S16LE, raw, 8, out);
	assert_true(out[0] == -1.0f);
	assert_true(out[1] == 32767.0f / 32768.0f);
	assert_true(out[2] == 0.0f);
	assert_true(out[3] == 1.0f / 32768.0f);
	assert_true(out[4] == -1.0f / 32768.0f);
	assert_true(out[5] == (float)0x1234 / 32768.0f);
	assert_true(out[6] == 0.5f);
	assert_true(out[7] == -0.5f);
}

static void
test_s32le(void **state)
{
	static const unsigned char raw[] = {
		0x00, 0x00, 0x00, 0x80, /* INT32_MIN */
		0xff, 0xff, 0xff, 0x7f, /* INT32_MAX */
		0x00, 0x00, 0x00, 0x00, /* 0 */
		0x00, 0x00, 0x00, 0x40, /* 2^30 */
		0x00, 0x00, 0x00, 0xc0, /* -2^30 */
		0x78, 0x56, 0x34, 0x12, /* 0x12345678: low byte first */
		0xff, 0xff, 0xff, 0xff, /* -1 */
		0x00, 0x01, 0x00, 0x00, /* 256 */
	};
	float out[8];

	(void)state;
	convert_to_float(SAMPLE_S32LE, raw, 8, out);
	assert_true(out[0] == -1.0f);
	/* INT32_MAX is 1 - 2^-31, which rounds to 1.0 in a float: never
	 * above it. */
	assert_true(out[1] <= 1.0f && out[1] > 0.9999999f);
	assert_true(out[2] == 0.0f);
	assert_true(out[3] == 0.5f);
	assert_true(out[4] == -0.5f);
	assert_near(out[5], (double)0x12345678 / 2147483648.0, 1e-7);
	assert_true(out[6] < 0.0f && out[6] > -1e-9f);
	assert_true(out[7] == 256.0f / 2147483648.0f);
}

static void
put_u32le(unsigned char *b, uint32_t u)
{
	b[0] = (unsigned char)(u & 0xff);
	b[1] = (unsigned char)(u >> 8 & 0xff);
	b[2] = (unsigned char)(u >> 16 & 0xff);
	b[3] = (unsigned char)(u >> 24 & 0xff);
}

static void
test_f32le(void **state)
{
	/* IEEE 754 bit patterns, written little-endian byte by byte so the
	 * test does not depend on the host's order. */
	static const uint32_t bits[] = {
		0x3f000000, /* 0.5 */
		0xbe800000, /* -0.25 */
		0x3f800000, /* 1.0 */
		0xbf800000, /* -1.0 */
		0x40000000, /* 2.0: clamped */
		0xc0400000, /* -3.0: clamped */
		0x7fc00000, /* quiet NaN: 0 */
		0xffc00001, /* negative NaN with payload: 0 */
		0x7f800000, /* +inf: 1 */
		0xff800000, /* -inf: -1 */
		0x00000001, /* smallest subnormal */
		0x80000000, /* -0.0 */
		0x7f7fffff, /* FLT_MAX: 1 */
	};
	unsigned char raw[sizeof(bits)];
	float out[RELAY_ARRAY_LEN(bits)];
	size_t i;

	(void)state;
	for (i = 0; i < RELAY_ARRAY_LEN(bits); i++)
		put_u32le(raw + i * 4, bits[i]);
	convert_to_float(SAMPLE_F32LE, raw, RELAY_ARRAY_LEN(bits), out);
	assert_true(out[0] == 0.5f);
	assert_true(out[1] == -0.25f);
	assert_true(out[2] == 1.0f);
	assert_true(out[3] == -1.0f);
	assert_true(out[4] == 1.0f);
	assert_true(out[5] == -1.0f);
	assert_true(out[6] == 0.0f);
	assert_true(out[7] == 0.0f);
	assert_true(out[8] == 1.0f);
	assert_true(out[9] == -1.0f);
	assert_true(out[10] > 0.0f && out[10] < 1e-38f);
	assert_true(out[11] == 0.0f);
	assert_true(out[12] == 1.0f);
}

static void
test_unaligned_source(void **state)
{
	/* Raw buffers from read(2) need not be aligned for the type. */
	unsigned char raw[1 + 8];
	float out[2];

	(void)state;
	put_u32le(raw + 1, 0x3f000000);
	put_u32le(raw + 5, 0xbf000000);
	convert_to_float(SAMPLE_F32LE, raw + 1, 2, out);
	assert_true(out[0] == 0.5f);
	assert_true(out[1] == -0.5f);
	put_u32le(raw + 1, 0x40000000);
	convert_to_float(SAMPLE_S32LE, raw + 1, 1, out);
	assert_true(out[0] == 0.5f);
	convert_to_float(SAMPLE_S16LE, raw + 3, 1, out); /* 0x4000 */
	assert_true(out[0] == 0.5f);
}

/* ---- channel mixing ---- */

static void
test_mix_mono_to_stereo(void **state)
{
	const float in[3] = { 0.1f, -0.2f, 0.3f };
	const float expect[6] = { 0.1f, 0.1f, -0.2f, -0.2f, 0.3f, 0.3f };
	float out[6];

	(void)state;
	convert_mix_channels(in, 1, out, 2, 3);
	assert_memory_equal(out, expect, sizeof(expect));
}

static void
test_mix_stereo_to_mono(void **state)
{
	const float in[8] = { 0.2f, 0.4f, 1.0f, -1.0f, -0.5f, -0.5f, 1.0f,
		1.0f };
	float out[4];

	(void)state;
	convert_mix_channels(in, 2, out, 1, 4);
	assert_near(out[0], 0.3, 1e-7);
	assert_near(out[1], 0.0, 1e-7);
	assert_near(out[2], -0.5, 1e-7);
	/* Averaged, not summed: full scale stays full scale. */
	assert_near(out[3], 1.0, 1e-7);
}

static void
test_mix_six_to_two(void **state)
{
	float in[2 * 6], out[2 * 2];
	int i;

	(void)state;
	for (i = 0; i < 12; i++)
		in[i] = (float)(i + 1) / 16.0f;
	convert_mix_channels(in, 6, out, 2, 2);
	/* Channel i takes input i % 6: front left and right. */
	assert_true(out[0] == in[0]);
	assert_true(out[1] == in[1]);
	assert_true(out[2] == in[6]);
	assert_true(out[3] == in[7]);
}

static void
test_mix_other_layouts(void **state)
{
	const float st[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
	const float st_to_4[8] = { 0.1f, 0.2f, 0.0f, 0.0f, 0.3f, 0.4f, 0.0f,
		0.0f };
	const float three[3] = { 0.1f, 0.2f, 0.3f };
	const float three_to_5[5] = { 0.1f, 0.2f, 0.3f, 0.1f, 0.2f };
	const float six[6] = { 0.6f, 0.6f, 0.0f, 0.0f, 0.0f, 0.0f };
	const float mono[2] = { 0.25f, -0.75f };
	float out[12];
	int c;

	(void)state;
	convert_mix_channels(st, 2, out, 4, 2);
	assert_memory_equal(out, st_to_4, sizeof(st_to_4));
	convert_mix_channels(three, 3, out, 5, 1);
	assert_memory_equal(out, three_to_5, sizeof(three_to_5));
	convert_mix_channels(six, 6, out, 1, 1);
	assert_near(out[0], 0.2, 1e-7);
	convert_mix_channels(mono, 1, out, 6, 2);
	for (c = 0; c < 6; c++) {
		assert_true(out[c] == 0.25f);
		assert_true(out[6 + c] == -0.75f);
	}
	convert_mix_channels(st, 2, out, 2, 2);
	assert_memory_equal(out, st, sizeof(st));
}

/* ---- resampling ---- */

/* Amplitude of the freq_hz component of x (stride apart samples) by a
 * Goertzel filter over a Hann window, scaled so a sine of amplitude A
 * reads A. */
static double
goertzel_amp(const float *x, size_t n, size_t stride, double rate_hz,
    double freq_hz)
{
	double coeff = 2.0 * cos(2.0 * PI * freq_hz / rate_hz);
	double s0, s1 = 0.0, s2 = 0.0, w, wsum = 0.0, power;
	size_t i;

	for (i = 0; i < n; i++) {
		w = 0.5 - 0.5 * cos(2.0 * PI * (double)i / (double)(n - 1));
		wsum += w;
		s0 = (double)x[i * stride] * w + coeff * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
	if (power < 0.0)
		power = 0.0;
	return 2.0 * sqrt(power) / wsum;
}

/* Frequency from upward zero crossings, interpolated to sub-sample
 * precision, between the first and the last one. */
static double
zero_crossing_hz(const float *x, size_t n, size_t stride, double rate_hz)
{
	double first = -1.0, last = -1.0, t;
	size_t i, count = 0;
	float a, b;

	for (i = 1; i < n; i++) {
		a = x[(i - 1) * stride];
		b = x[i * stride];
		if (a < 0.0f && b >= 0.0f) {
			t = (double)(i - 1) + (double)a / (double)(a - b);
			if (first < 0.0)
				first = t;
			last = t;
			count++;
		}
	}
	if (count < 2)
		return 0.0;
	return (double)(count - 1) * rate_hz / (last - first);
}

static float *
make_sine(size_t frames, int channels, double rate_hz, double freq_hz,
    double amp)
{
	float *buf = calloc(frames * (size_t)channels, sizeof(float));
	size_t i;
	int c;

	assert_non_null(buf);
	for (i = 0; i < frames; i++)
		for (c = 0; c < channels; c++)
			/* Every channel carries the tone except channel
			 * 1, which stays silent. */
			buf[i * (size_t)channels + (size_t)c] = c == 1 ?
			    0.0f :
			    (float)(amp * sin(2.0 * PI * freq_hz *
			    (double)i / rate_hz));
	return buf;
}

struct run_result {
	float *out;
	size_t out_frames;
	size_t first_call_in_frames;
	size_t first_call_out_frames;
};

/* Pushes in through a new resampler in chunks whose sizes vary between 1
 * and max_chunk frames, giving each call exactly resampler_max_out() of
 * room. Fails the test on any error or when a call outgrows the bound. */
static struct run_result
run_resampler(const float *in, size_t in_frames, int channels, int in_hz,
    int out_hz, size_t max_chunk)
{
	struct run_result res = { 0 };
	struct resampler *rs;
	char err[256] = "";
	size_t done = 0, chunk, cap, got, total_cap, ch = (size_t)channels;
	uint32_t rnd = 99;
	int rc;

	rs = resampler_new(channels, in_hz, out_hz, err, sizeof(err));
	assert_non_null(rs);
	total_cap = resampler_max_out(rs, in_frames) + in_frames / 2 + 1024;
	res.out = calloc(total_cap * ch, sizeof(float));
	assert_non_null(res.out);
	while (done < in_frames) {
		rnd = rnd * 1103515245u + 12345u;
		chunk = 1 + (rnd >> 8) % max_chunk;
		if (chunk > in_frames - done)
			chunk = in_frames - done;
		cap = resampler_max_out(rs, chunk);
		assert_true(cap >=
		    (size_t)ceil((double)chunk * out_hz / in_hz));
		assert_true(res.out_frames + cap <= total_cap);
		rc = resampler_process(rs, in + done * ch, chunk,
		    res.out + res.out_frames * ch, cap, &got);
		assert_int_equal(rc, 0);
		assert_true(got <= cap);
		if (done == 0) {
			res.first_call_in_frames = chunk;
			res.first_call_out_frames = got;
		}
		res.out_frames += got;
		done += chunk;
	}
	resampler_free(rs);
	return res;
}

/* A 1 kHz sine stays at 1 kHz at the same level, channels stay apart,
 * and the output length follows the ratio. */
static void
check_1khz(int in_hz, int out_hz)
{
	const double amp = 0.5;
	const size_t in_frames = (size_t)in_hz * 2;
	const double ratio = (double)out_hz / in_hz;
	struct run_result res;
	float *in;
	double a, expect_frames, steady_in, steady_out, hz;
	size_t skip, n;

	in = make_sine(in_frames, 2, in_hz, 1000.0, amp);
	res = run_resampler(in, in_frames, 2, in_hz, out_hz, 3000);

	/* Length: libsamplerate holds back the filter's look-ahead (46 to 51
	 * output frames here, about a millisecond) and releases it with the
	 * next call, so the total is short by at most that; from the first
	 * call on, the output grows exactly with the ratio. */
	expect_frames = (double)in_frames * ratio;
	assert_true((double)res.out_frames <= expect_frames + 1.0);
	assert_true((double)res.out_frames >= expect_frames - 64.0);
	steady_in = (double)(in_frames - res.first_call_in_frames);
	steady_out = (double)(res.out_frames - res.first_call_out_frames);
	assert_true(fabs(steady_out - steady_in * ratio) <= 3.0);

	/* Measure one second well after the start. */
	skip = (size_t)out_hz / 4;
	n = (size_t)out_hz;
	assert_true(skip + n <= res.out_frames);
	a = goertzel_amp(res.out + skip * 2, n, 2, out_hz, 1000.0);
	assert_near(a, amp, amp * 0.01);
	/* Next to the tone there is nothing: it did not move. */
	assert_true(goertzel_amp(res.out + skip * 2, n, 2, out_hz, 980.0) <
	    amp * 1e-3);
	assert_true(goertzel_amp(res.out + skip * 2, n, 2, out_hz, 1020.0) <
	    amp * 1e-3);
	/* Nor where a converter with the ratio upside down (or applied
	 * twice) would put it. */
	assert_true(goertzel_amp(res.out + skip * 2, n, 2, out_hz,
	    1000.0 * ratio) < amp * 1e-3);
	assert_true(goertzel_amp(res.out + skip * 2, n, 2, out_hz,
	    1000.0 / ratio) < amp * 1e-3);
	hz = zero_crossing_hz(res.out + skip * 2, n, 2, out_hz);
	assert_near(hz, 1000.0, 0.5);
	/* The silent right channel stays silent (no channel mix-up). */
	assert_true(goertzel_amp(res.out + skip * 2 + 1, n, 2, out_hz,
	    1000.0) < 1e-6);
	free(res.out);
	free(in);
}

static void
test_resample_44100_to_48000_keeps_1khz(void **state)
{
	(void)state;
	check_1khz(44100, 48000);
}

static void
test_resample_48000_to_22050_keeps_1khz(void **state)
{
	(void)state;
	check_1khz(48000, 22050);
}

/* Alias level, in dB under the input tone, of a 15 kHz sine at 44100 Hz
 * resampled to 22050 Hz (the alias is at 22050 - 15000 = 7050 Hz). */
static double
alias_db(const float *in, size_t in_frames, const float *out,
    size_t out_frames)
{
	double in_amp, alias_amp;
	size_t skip = 22050 / 4, n = 22050;

	assert_true(skip + n <= out_frames);
	in_amp = goertzel_amp(in + 44100 / 4, 44100, 1, 44100.0, 15000.0);
	assert_true(in_frames >= 44100 / 4 + 44100);
	alias_amp = goertzel_amp(out + skip, n, 1, 22050.0, 7050.0);
	if (alias_amp < 1e-12)
		alias_amp = 1e-12;
	return 20.0 * log10(alias_amp / in_amp);
}

static void
test_resample_no_aliasing(void **state)
{
	const size_t in_frames = 44100 * 2;
	struct run_result res;
	SRC_DATA d;
	float *in, *lin_out;
	double db;

	(void)state;
	in = make_sine(in_frames, 1, 44100.0, 15000.0, 0.5);
	res = run_resampler(in, in_frames, 1, 44100, 22050, 4096);
	db = alias_db(in, in_frames, res.out, res.out_frames);
	print_message("alias at 7050 Hz: %.1f dB under the 15 kHz input\n",
	    db);
	assert_true(db <= -60.0);

	/* Control: the same measurement on a converter without an
	 * anti-alias filter finds the alias, so the check above can fail. */
	lin_out = calloc(in_frames, sizeof(float));
	assert_non_null(lin_out);
	memset(&d, 0, sizeof(d));
	d.data_in = in;
	d.input_frames = (long)in_frames;
	d.data_out = lin_out;
	d.output_frames = (long)in_frames;
	d.src_ratio = 0.5;
	assert_int_equal(src_simple(&d, SRC_LINEAR, 1), 0);
	db = alias_db(in, in_frames, lin_out, (size_t)d.output_frames_gen);
	print_message("SRC_LINEAR control: alias %.1f dB under the input\n",
	    db);
	assert_true(db > -60.0);
	free(lin_out);
	free(res.out);
	free(in);
}

static void
test_resample_chunking_does_not_change_output(void **state)
{
	const size_t in_frames = 30000;
	struct run_result a, b;
	float *in;
	size_t i;

	(void)state;
	in = make_sine(in_frames, 2, 48000.0, 440.0, 0.8);
	/* Single frames at a time, then big chunks (larger than
	 * libsamplerate's internal buffer, so it consumes in pieces). */
	a = run_resampler(in, in_frames, 2, 48000, 44100, 1);
	b = run_resampler(in, in_frames, 2, 48000, 44100, 20000);
	assert_true(a.out_frames + 2 >= b.out_frames &&
	    b.out_frames + 2 >= a.out_frames);
	for (i = 0; i < 2 * (a.out_frames < b.out_frames ? a.out_frames :
	    b.out_frames); i++)
		assert_near(a.out[i], b.out[i], 1e-5);
	free(a.out);
	free(b.out);
	free(in);
}

static void
test_resampler_errors(void **state)
{
	struct resampler *rs;
	char err[256];
	float in[4096] = { 0 }, out[16];
	size_t got = 99;

	(void)state;
	err[0] = '\0';
	assert_null(resampler_new(0, 44100, 48000, err, sizeof(err)));
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_null(resampler_new(2, 0, 48000, err, sizeof(err)));
	assert_true(err[0] != '\0');
	err[0] = '\0';
	/* A ratio of 48000 is outside libsamplerate's range. */
	assert_null(resampler_new(1, 1, 48000, err, sizeof(err)));
	assert_true(err[0] != '\0');

	rs = resampler_new(1, 44100, 48000, err, sizeof(err));
	assert_non_null(rs);
	/* The bound covers ceil(n * ratio) whatever n is. */
	assert_true(resampler_max_out(rs, 0) >= 1);
	assert_true(resampler_max_out(rs, 44100) >= 48000);
	assert_true(resampler_max_out(rs, 1) >= 2);
	/* No input, no output, no error. */
	assert_int_equal(resampler_process(rs, in, 0, out, 16, &got), 0);
	assert_int_equal(got, 0);
	/* Too little room: an error, never an overrun. */
	assert_int_equal(resampler_process(rs, in, 4096, out, 16, &got),
	    -ENOBUFS);
	assert_true(got <= 16);
	resampler_free(rs);
	resampler_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_bytes_and_parse),
		cmocka_unit_test(test_s16le),
		cmocka_unit_test(test_s32le),
		cmocka_unit_test(test_f32le),
		cmocka_unit_test(test_unaligned_source),
		cmocka_unit_test(test_mix_mono_to_stereo),
		cmocka_unit_test(test_mix_stereo_to_mono),
		cmocka_unit_test(test_mix_six_to_two),
		cmocka_unit_test(test_mix_other_layouts),
		cmocka_unit_test(test_resample_44100_to_48000_keeps_1khz),
		cmocka_unit_test(test_resample_48000_to_22050_keeps_1khz),
		cmocka_unit_test(test_resample_no_aliasing),
		cmocka_unit_test(test_resample_chunking_does_not_change_output),
		cmocka_unit_test(test_resampler_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
