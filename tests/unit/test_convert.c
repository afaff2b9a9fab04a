/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for convert.c: every raw format including its extremes and
 * byte order; channel mixing: every layout of 3..8 channels in WAV and
 * Vorbis order down to stereo and mono with its gains, re-ordering,
 * up-mixing into the right slots, no clipping at full scale, one test per
 * channel-order bug of issue 7, and the fallback past 8 channels;
 * resampling 44100->48000 and 48000->22050
 * keeps a 1 kHz sine at 1 kHz (Goertzel filter and zero-crossing count)
 * with an output length that follows the ratio; and no aliasing: a 15 kHz
 * sine at 44100 resampled to 22050 leaves the 7050 Hz alias at least 60 dB
 * under the input level. A control run through plain decimation (every
 * other sample) shows that the alias measurement does catch a converter
 * without a filter. What the resampler holds back stays bounded and is
 * what resampler_held() says, call after call.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <math.h>
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

#define WAV CONVERT_ORDER_WAV
#define VORBIS CONVERT_ORDER_VORBIS
#define G 0.70710678118654752 /* -3 dB */
#define MIX_EPS 1e-6

/* Mixes one frame that is 1.0 on input channel k and 0 elsewhere. */
static void
mix_impulse(int in_ch, enum convert_order in_order, int out_ch,
    enum convert_order out_order, int k, float *out)
{
	float in[16] = { 0 };

	in[k] = 1.0f;
	convert_mix_channels(in, in_ch, in_order, out, out_ch, out_order, 1);
}

/* expect[k][c]: the gain from input channel k to output channel c. */
static void
check_gains(int in_ch, enum convert_order in_order, int out_ch,
    enum convert_order out_order, const double *expect)
{
	float out[16];
	int k, c;

	for (k = 0; k < in_ch; k++) {
		mix_impulse(in_ch, in_order, out_ch, out_order, k, out);
		for (c = 0; c < out_ch; c++) {
			if (fabs((double)out[c] - expect[k * out_ch + c]) <=
			    MIX_EPS)
				continue;
			print_error("%d ch %s -> %d ch %s: input %d -> output "
				    "%d = %.9g, expected %.9g\n",
			    in_ch, in_order == WAV ? "WAV" : "Vorbis", out_ch,
			    out_order == WAV ? "WAV" : "Vorbis", k, c,
			    (double)out[c], expect[k * out_ch + c]);
			fail();
		}
	}
}

static void
test_mix_mono_to_stereo(void **state)
{
	const float in[3] = { 0.1f, -0.2f, 0.3f };
	const float expect[6] = { 0.1f, 0.1f, -0.2f, -0.2f, 0.3f, 0.3f };
	float out[6];

	(void)state;
	convert_mix_channels(in, 1, WAV, out, 2, VORBIS, 3);
	assert_memory_equal(out, expect, sizeof(expect));
	convert_mix_channels(in, 1, VORBIS, out, 2, WAV, 3);
	assert_memory_equal(out, expect, sizeof(expect));
}

static void
test_mix_stereo_to_mono(void **state)
{
	const float in[8] = { 0.2f, 0.4f, 1.0f, -1.0f, -0.5f, -0.5f, 1.0f,
		1.0f };
	float out[4];

	(void)state;
	convert_mix_channels(in, 2, VORBIS, out, 1, WAV, 4);
	assert_near(out[0], 0.3, 1e-7);
	assert_near(out[1], 0.0, 1e-7);
	assert_near(out[2], -0.5, 1e-7);
	/* Averaged, not summed: full scale stays full scale. */
	assert_near(out[3], 1.0, 1e-7);
}

/* Down-mix to stereo of every known layout, in both orders: each input
 * channel alone, where it lands and at which gain (ITU-R BS.775 with LFE
 * dropped, normalised so the left output's gains sum to 1). */
static void
test_mix_down_to_stereo_layouts(void **state)
{
	/* 3 ch: L = (FL + G FC) / (1 + G). */
	const double a3 = 1.0 / (1.0 + G), c3 = G / (1.0 + G);
	const double wav3[] = { a3, 0, 0, a3, c3, c3 };
	const double vorbis3[] = { a3, 0, c3, c3, 0, a3 };
	/* Quad: L = (FL + G BL) / (1 + G); the same in both orders. */
	const double quad[] = { a3, 0, 0, a3, c3, 0, 0, c3 };
	/* 5.0 and 5.1: L = (FL + G FC + G BL) / (1 + 2G). */
	const double a5 = 1.0 / (1.0 + 2.0 * G), c5 = G / (1.0 + 2.0 * G);
	const double wav50[] = { a5, 0, 0, a5, c5, c5, c5, 0, 0, c5 };
	const double vorbis50[] = { a5, 0, c5, c5, 0, a5, c5, 0, 0, c5 };
	const double wav51[] = { a5, 0, 0, a5, c5, c5, 0, 0, c5, 0, 0, c5 };
	const double vorbis51[] = { a5, 0, c5, c5, 0, a5, c5, 0, 0, c5, 0, 0 };
	/* 6.1: L = (FL + G FC + G/sqrt2 BC + G SL) / (1 + 2G + 0.5). */
	const double n61 = 1.0 + 2.0 * G + 0.5;
	const double a61 = 1.0 / n61, c61 = G / n61, b61 = 0.5 / n61;
	const double wav61[] = { a61, 0, 0, a61, c61, c61, 0, 0, b61, b61, c61,
		0, 0, c61 };
	const double vorbis61[] = { a61, 0, c61, c61, 0, a61, c61, 0, 0, c61,
		b61, b61, 0, 0 };
	/* 7.1: L = (FL + G FC + G BL + G SL) / (1 + 3G). */
	const double a71 = 1.0 / (1.0 + 3.0 * G), c71 = G / (1.0 + 3.0 * G);
	const double wav71[] = { a71, 0, 0, a71, c71, c71, 0, 0, c71, 0, 0, c71,
		c71, 0, 0, c71 };
	const double vorbis71[] = { a71, 0, c71, c71, 0, a71, c71, 0, 0, c71,
		c71, 0, 0, c71, 0, 0 };

	(void)state;
	check_gains(3, WAV, 2, WAV, wav3);
	check_gains(3, VORBIS, 2, WAV, vorbis3);
	check_gains(4, WAV, 2, WAV, quad);
	check_gains(4, VORBIS, 2, WAV, quad);
	check_gains(5, WAV, 2, WAV, wav50);
	check_gains(5, VORBIS, 2, WAV, vorbis50);
	check_gains(6, WAV, 2, WAV, wav51);
	check_gains(6, VORBIS, 2, WAV, vorbis51);
	check_gains(7, WAV, 2, WAV, wav61);
	check_gains(7, VORBIS, 2, WAV, vorbis61);
	check_gains(8, WAV, 2, WAV, wav71);
	check_gains(8, VORBIS, 2, WAV, vorbis71);
	/* Stereo is stereo in either order. */
	check_gains(6, WAV, 2, VORBIS, wav51);
}

/* Mono is the stereo down-mix's L + R, normalised. */
static void
test_mix_down_to_mono_layouts(void **state)
{
	const double n3 = 2.0 + 2.0 * G, n51 = 2.0 + 4.0 * G;
	const double wav3[] = { 1.0 / n3, 1.0 / n3, 2.0 * G / n3 };
	const double vorbis3[] = { 1.0 / n3, 2.0 * G / n3, 1.0 / n3 };
	const double wav51[] = { 1.0 / n51, 1.0 / n51, 2.0 * G / n51, 0,
		G / n51, G / n51 };
	const double vorbis51[] = { 1.0 / n51, 2.0 * G / n51, 1.0 / n51,
		G / n51, G / n51, 0 };

	(void)state;
	check_gains(3, WAV, 1, WAV, wav3);
	check_gains(3, VORBIS, 1, WAV, vorbis3);
	check_gains(6, WAV, 1, WAV, wav51);
	check_gains(6, VORBIS, 1, VORBIS, vorbis51);
}

/* The same count in the other order is an exact permutation, and the two
 * directions undo each other. */
static void
test_mix_reorder(void **state)
{
	/* vorbis_from_wav[n][j]: the WAV channel that Vorbis slot j takes. */
	static const int vorbis_from_wav[9][8] = {
	    [3] = { 0, 2, 1 },
	    [4] = { 0, 1, 2, 3 },
	    [5] = { 0, 2, 1, 3, 4 },
	    [6] = { 0, 2, 1, 4, 5, 3 },
	    [7] = { 0, 2, 1, 5, 6, 4, 3 },
	    [8] = { 0, 2, 1, 6, 7, 4, 5, 3 },
	};
	float in[2 * 8], mid[2 * 8], back[2 * 8];
	int n, j, f;

	(void)state;
	for (n = 1; n <= 8; n++) {
		for (j = 0; j < 2 * n; j++)
			in[j] = (float)(j + 1) / 32.0f;
		convert_mix_channels(in, n, WAV, mid, n, VORBIS, 2);
		for (f = 0; f < 2; f++)
			for (j = 0; j < n; j++)
				assert_true(
				    mid[f * n + j] ==
				    in[f * n +
					(n < 3 ? j : vorbis_from_wav[n][j])]);
		convert_mix_channels(mid, n, VORBIS, back, n, WAV, 2);
		assert_memory_equal(back, in, (size_t)(2 * n) * sizeof(float));
	}
}

/* Up-mix: L and R go to the FL and FR slots of the destination order,
 * everything else is silent; mono goes to both. */
static void
test_mix_up(void **state)
{
	const float st[4] = { 0.25f, -0.5f, 0.125f, 1.0f };
	const float wav[12] = { 0.25f, -0.5f, 0, 0, 0, 0, 0.125f, 1.0f, 0, 0, 0,
		0 };
	const float vorbis[12] = { 0.25f, 0, -0.5f, 0, 0, 0, 0.125f, 0, 1.0f, 0,
		0, 0 };
	const float mono[1] = { 0.75f };
	const float mono_wav8[8] = { 0.75f, 0.75f, 0, 0, 0, 0, 0, 0 };
	const float mono_vorbis3[3] = { 0.75f, 0, 0.75f };
	float out[16];

	(void)state;
	convert_mix_channels(st, 2, WAV, out, 6, WAV, 2);
	assert_memory_equal(out, wav, sizeof(wav));
	convert_mix_channels(st, 2, WAV, out, 6, VORBIS, 2);
	assert_memory_equal(out, vorbis, sizeof(vorbis));
	convert_mix_channels(mono, 1, WAV, out, 8, WAV, 1);
	assert_memory_equal(out, mono_wav8, sizeof(mono_wav8));
	convert_mix_channels(mono, 1, WAV, out, 3, VORBIS, 1);
	assert_memory_equal(out, mono_vorbis3, sizeof(mono_vorbis3));
}

/* Between multichannel layouts: positions are kept (unity gain where
 * nothing merges), missing ones fold in, and a merge scales the whole mix. */
static void
test_mix_multichannel_to_multichannel(void **state)
{
	/* 5.1 WAV -> 7.1 Vorbis: nothing merges, every gain is 1. */
	static const double up[6 * 8] = {
	    1, 0, 0, 0, 0, 0, 0, 0, /* FL */
	    0, 0, 1, 0, 0, 0, 0, 0, /* FR */
	    0, 1, 0, 0, 0, 0, 0, 0, /* FC */
	    0, 0, 0, 0, 0, 0, 0, 1, /* LFE */
	    0, 0, 0, 0, 0, 1, 0, 0, /* BL */
	    0, 0, 0, 0, 0, 0, 1, 0, /* BR */
	};
	/* 7.1 WAV -> 5.1 WAV: SL joins BL, SR joins BR, so all is halved. */
	static const double down[8 * 6] = {
	    0.5, 0, 0, 0, 0, 0, /* FL */
	    0, 0.5, 0, 0, 0, 0, /* FR */
	    0, 0, 0.5, 0, 0, 0, /* FC */
	    0, 0, 0, 0.5, 0, 0, /* LFE */
	    0, 0, 0, 0, 0.5, 0, /* BL */
	    0, 0, 0, 0, 0, 0.5, /* BR */
	    0, 0, 0, 0, 0.5, 0, /* SL */
	    0, 0, 0, 0, 0, 0.5, /* SR */
	};
	/* 5.1 Vorbis -> quad: FC to the fronts at -3 dB, LFE dropped; front
	 * rows sum to 1 + G. */
	const double q = 1.0 / (1.0 + G);
	const double quad[6 * 4] = {
	    q, 0, 0, 0,		/* FL */
	    G * q, G * q, 0, 0, /* FC */
	    0, q, 0, 0,		/* FR */
	    0, 0, q, 0,		/* BL */
	    0, 0, 0, q,		/* BR */
	    0, 0, 0, 0,		/* LFE */
	};

	(void)state;
	check_gains(6, WAV, 8, VORBIS, up);
	check_gains(8, WAV, 6, WAV, down);
	check_gains(6, VORBIS, 4, WAV, quad);
}

/* Full scale on every input channel never drives an output past full
 * scale, for every pair of known layouts and orders. */
static void
test_mix_never_clips(void **state)
{
	float in[8], out[8];
	int i, o, io, oo, c;
	double worst = 0.0;

	(void)state;
	for (c = 0; c < 8; c++)
		in[c] = 1.0f;
	for (i = 1; i <= 8; i++)
		for (o = 1; o <= 8; o++)
			for (io = 0; io < 2; io++)
				for (oo = 0; oo < 2; oo++) {
					convert_mix_channels(in, i,
					    (enum convert_order)io, out, o,
					    (enum convert_order)oo, 1);
					for (c = 0; c < o; c++)
						if ((double)out[c] > worst)
							worst = (double)out[c];
				}
	assert_true(worst <= 1.0 + MIX_EPS);
	/* A full-scale 5.1 frame down-mixes to exactly full scale. */
	convert_mix_channels(in, 6, WAV, out, 2, WAV, 1);
	assert_near(out[0], 1.0, MIX_EPS);
	assert_near(out[1], 1.0, MIX_EPS);
}

/* Issue 7, each bug on its own. The old mixer copied channels 0 and 1. */
static void
test_mix_bug_three_vorbis_right_is_r(void **state)
{
	/* Vorbis L, C, R: the right output must carry R, not C. */
	const float in[3] = { 0.0f, 0.0f, 0.5f };
	float out[2];

	(void)state;
	convert_mix_channels(in, 3, VORBIS, out, 2, WAV, 1);
	assert_near(out[0], 0.0, MIX_EPS);
	assert_near(out[1], 0.5 / (1.0 + G), MIX_EPS);
}

static void
test_mix_bug_51_keeps_centre_and_surrounds(void **state)
{
	float out[2];

	(void)state;
	/* WAV FL FR FC LFE BL BR: centre, back left and back right each
	 * reach the output; LFE is dropped by design. */
	mix_impulse(6, WAV, 2, WAV, 2, out);
	assert_true(out[0] > 0.29f && out[1] > 0.29f);
	mix_impulse(6, WAV, 2, WAV, 4, out);
	assert_true(out[0] > 0.29f && out[1] == 0.0f);
	mix_impulse(6, WAV, 2, WAV, 5, out);
	assert_true(out[0] == 0.0f && out[1] > 0.29f);
	mix_impulse(6, WAV, 2, WAV, 3, out);
	assert_true(out[0] == 0.0f && out[1] == 0.0f);
}

static void
test_mix_bug_stereo_upmix_r_not_in_centre(void **state)
{
	/* Vorbis 5.1 is FL C FR RL RR LFE: R belongs in slot 2. */
	const float in[2] = { 0.25f, -0.25f };
	float out[6];

	(void)state;
	convert_mix_channels(in, 2, WAV, out, 6, VORBIS, 1);
	assert_true(out[0] == 0.25f);
	assert_true(out[1] == 0.0f);
	assert_true(out[2] == -0.25f);
}

static void
test_mix_bug_same_count_reorders(void **state)
{
	/* A 5.1 programme (WAV order) in a 5.1 Vorbis encoding: the counts
	 * match, yet the centre must move from slot 2 to slot 1. */
	const float in[6] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f };
	const float expect[6] = { 0.1f, 0.3f, 0.2f, 0.5f, 0.6f, 0.4f };
	struct convert_mix m;
	float out[6];

	(void)state;
	convert_mix_init(&m, 6, WAV, 6, VORBIS);
	assert_false(convert_mix_is_copy(&m));
	convert_mix_run(&m, in, out, 1);
	assert_memory_equal(out, expect, sizeof(expect));
	convert_mix_init(&m, 2, WAV, 2, VORBIS);
	assert_true(convert_mix_is_copy(&m));
	convert_mix_init(&m, 6, VORBIS, 6, VORBIS);
	assert_true(convert_mix_is_copy(&m));
}

/* An explicit layout (a file's channel map). */
static void
test_mix_explicit_layout(void **state)
{
	static const enum convert_speaker swapped[2] = { CONVERT_SPEAKER_FR,
		CONVERT_SPEAKER_FL };
	/* 5.0 with side surrounds, as a WAVEFORMATEXTENSIBLE mask gives. */
	static const enum convert_speaker side50[5] = { CONVERT_SPEAKER_FL,
		CONVERT_SPEAKER_FR, CONVERT_SPEAKER_FC, CONVERT_SPEAKER_SL,
		CONVERT_SPEAKER_SR };
	enum convert_speaker spk[8];
	const float st[2] = { 0.5f, -0.5f };
	const float in5[5] = { 0, 0, 0, 1.0f, 0 };
	struct convert_mix m;
	float out[6];

	(void)state;
	convert_mix_init_layout(&m, swapped, 2, 2, WAV);
	assert_false(convert_mix_is_copy(&m));
	convert_mix_run(&m, st, out, 1);
	assert_true(out[0] == -0.5f && out[1] == 0.5f);

	convert_mix_init_layout(&m, side50, 5, 2, WAV);
	convert_mix_run(&m, in5, out, 1);
	assert_near(out[0], G / (1.0 + 2.0 * G), MIX_EPS);
	assert_near(out[1], 0.0, MIX_EPS);
	/* Side surrounds into a back-surround 5.1 at unity gain. */
	convert_mix_init_layout(&m, side50, 5, 6, WAV);
	convert_mix_run(&m, in5, out, 1);
	assert_true(out[4] == 1.0f);

	assert_int_equal(convert_layout(VORBIS, 6, spk), 0);
	assert_int_equal(spk[1], CONVERT_SPEAKER_FC);
	assert_int_equal(spk[5], CONVERT_SPEAKER_LFE);
	assert_int_equal(convert_layout(WAV, 0, spk), -EINVAL);
	assert_int_equal(convert_layout(WAV, 9, spk), -EINVAL);
}

/* More than 8 channels has no known layout: the positional fallback. */
static void
test_mix_fallback_over_eight(void **state)
{
	float in[10], out[10];
	const float st[2] = { 0.25f, 0.5f };
	int c;

	(void)state;
	for (c = 0; c < 10; c++)
		in[c] = (float)(c + 1) / 16.0f;
	convert_mix_channels(in, 10, VORBIS, out, 2, WAV, 1);
	assert_true(out[0] == in[0] && out[1] == in[1]);
	convert_mix_channels(in, 10, WAV, out, 6, WAV, 1);
	for (c = 0; c < 6; c++)
		assert_true(out[c] == in[c]);
	convert_mix_channels(in, 10, WAV, out, 1, WAV, 1);
	assert_near(out[0], 55.0 / 16.0 / 10.0, 1e-6);
	convert_mix_channels(in, 1, WAV, out, 10, WAV, 1);
	for (c = 0; c < 10; c++)
		assert_true(out[c] == in[0]);
	convert_mix_channels(st, 2, WAV, out, 9, WAV, 1);
	assert_true(out[0] == 0.25f && out[1] == 0.5f && out[8] == 0.0f);
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

/* What libsoxr may hold back after a call, at most, in output frames
 * (measured: up to ~840 at 48 kHz to 44.1 kHz; convert.c). */
#define HELD_BOUND 2048.0

struct run_result {
	float *out;
	size_t out_frames;
	/* After each call: input so far times the ratio, less the output
	 * so far; the most and the least of it over the run. */
	double held_most, held_least;
	/* The largest gap between that and resampler_held(). */
	double held_misreported;
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
	size_t said, most;
	uint32_t rnd = 99;
	double held, gap;
	int rc;

	rs = resampler_new(channels, in_hz, out_hz, err, sizeof(err));
	assert_non_null(rs);
	total_cap = resampler_max_out(rs, in_frames) + in_frames / 2 + 1024;
	res.held_least = HUGE_VAL;
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
		res.out_frames += got;
		done += chunk;
		held = (double)done * out_hz / in_hz - (double)res.out_frames;
		if (held > res.held_most)
			res.held_most = held;
		if (held < res.held_least)
			res.held_least = held;
		said = resampler_held(rs, &most);
		assert_true(most >= said);
		gap = fabs((double)said - held);
		if (gap > res.held_misreported)
			res.held_misreported = gap;
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
	double a, expect_frames, hz;
	size_t skip, n;

	in = make_sine(in_frames, 2, in_hz, 1000.0, amp);
	res = run_resampler(in, in_frames, 2, in_hz, out_hz, 3000);

	/* Length: libsoxr holds back its filter's look-ahead and a partly
	 * filled block and releases them with later calls: the output never
	 * runs ahead of the input, never falls behind by more than the
	 * bound, and resampler_held() says how far behind it is. */
	expect_frames = (double)in_frames * ratio;
	assert_true((double)res.out_frames <= expect_frames + 1.0);
	assert_true((double)res.out_frames >= expect_frames - HELD_BOUND);
	print_message("%d -> %d Hz: held %.0f..%.0f output frames, "
		      "resampler_held() off by %.1f at most\n",
	    in_hz, out_hz, res.held_least, res.held_most,
	    res.held_misreported);
	assert_true(res.held_least >= -1.0);
	assert_true(res.held_most <= HELD_BOUND);
	assert_true(res.held_misreported <= 2.0);

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
	float *in, *lin_out;
	double db;
	size_t i;

	(void)state;
	in = make_sine(in_frames, 1, 44100.0, 15000.0, 0.5);
	res = run_resampler(in, in_frames, 1, 44100, 22050, 4096);
	db = alias_db(in, in_frames, res.out, res.out_frames);
	print_message("alias at 7050 Hz: %.1f dB under the 15 kHz input\n",
	    db);
	assert_true(db <= -60.0);

	/* Control: the same measurement on a converter without an
	 * anti-alias filter (every other sample) finds the alias, so the
	 * check above can fail. */
	lin_out = calloc(in_frames / 2, sizeof(float));
	assert_non_null(lin_out);
	for (i = 0; i < in_frames / 2; i++)
		lin_out[i] = in[2 * i];
	db = alias_db(in, in_frames, lin_out, in_frames / 2);
	print_message("decimation control: alias %.1f dB under the input\n",
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
	 * libsoxr's blocks, so it consumes in pieces). */
	a = run_resampler(in, in_frames, 2, 48000, 44100, 1);
	b = run_resampler(in, in_frames, 2, 48000, 44100, 20000);
	/* The totals differ by what each run's last call left held. */
	assert_true(a.out_frames + HELD_BOUND >= b.out_frames &&
	    b.out_frames + HELD_BOUND >= a.out_frames);
	for (i = 0; i < 2 * (a.out_frames < b.out_frames ? a.out_frames :
	    b.out_frames); i++)
		assert_near(a.out[i], b.out[i], 1e-5);
	free(a.out);
	free(b.out);
	free(in);
}

/*
 * Up-sampling by a large ratio (an 8 or 11.025 kHz file or feed in a
 * 44.1 or 48 kHz programme; a 44.1 kHz programme to a 192 kHz encoding):
 * libsoxr releases whole blocks of its input, so one call can put out
 * several thousand frames more than its input times the ratio. With
 * resampler_max_out() of room every call of the chunk sizes relay uses
 * (1024: encoder, feed; 4096: file) succeeds, the flush fits in
 * resampler_max_out(rs, 0), and every frame comes out. A fixed slack of
 * 4096 frames failed from 4.35 up (-ENOBUFS: the file or feed ended
 * "resampler failed" within the first seconds).
 */
static void
test_resample_up_by_large_ratios(void **state)
{
	static const int pairs[][2] = {
	    {8000, 44100},
	    {8000, 48000},
	    {11025, 48000},
	    {22050, 96000},
	    {44100, 192000},
	    {8000, 192000},
	};
	static const size_t chunks[] = {1024, 4096};
	const size_t in_frames = 8000 * 12;
	size_t p, c, done, n, cap, got, total, flush_cap;
	struct resampler *rs;
	float *in, *out;
	char err[256];
	double expect;
	int rc;

	(void)state;
	for (p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
		in = make_sine(in_frames, 2, pairs[p][0], 1000.0, 0.5);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			rs = resampler_new(
			    2, pairs[p][0], pairs[p][1], err, sizeof(err));
			assert_non_null(rs);
			cap = resampler_max_out(rs, chunks[c]);
			flush_cap = resampler_max_out(rs, 0);
			out = calloc(cap * 2, sizeof(float));
			assert_non_null(out);
			total = 0;
			for (done = 0; done < in_frames; done += n) {
				n = in_frames - done < chunks[c]
					? in_frames - done
					: chunks[c];
				rc = resampler_process(rs, in + done * 2, n,
				    out, cap, &got);
				if (rc != 0)
					print_message("%d -> %d Hz, %zu-frame "
						      "chunks: %d after %zu "
						      "frames in\n",
					    pairs[p][0], pairs[p][1],
					    chunks[c], rc, done);
				assert_int_equal(rc, 0);
				total += got;
			}
			assert_true(flush_cap <= cap);
			assert_int_equal(
			    resampler_flush(rs, out, flush_cap, &got), 0);
			total += got;
			expect = (double)in_frames * pairs[p][1] / pairs[p][0];
			assert_true(fabs((double)total - expect) <= 1.0);
			free(out);
			resampler_free(rs);
		}
		free(in);
	}
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
	/* A ratio of 48000 is outside the range (1/256..256). */
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
		cmocka_unit_test(test_mix_down_to_stereo_layouts),
		cmocka_unit_test(test_mix_down_to_mono_layouts),
		cmocka_unit_test(test_mix_reorder),
		cmocka_unit_test(test_mix_up),
		cmocka_unit_test(test_mix_multichannel_to_multichannel),
		cmocka_unit_test(test_mix_never_clips),
		cmocka_unit_test(test_mix_bug_three_vorbis_right_is_r),
		cmocka_unit_test(test_mix_bug_51_keeps_centre_and_surrounds),
		cmocka_unit_test(test_mix_bug_stereo_upmix_r_not_in_centre),
		cmocka_unit_test(test_mix_bug_same_count_reorders),
		cmocka_unit_test(test_mix_explicit_layout),
		cmocka_unit_test(test_mix_fallback_over_eight),
		cmocka_unit_test(test_resample_44100_to_48000_keeps_1khz),
		cmocka_unit_test(test_resample_48000_to_22050_keeps_1khz),
		cmocka_unit_test(test_resample_no_aliasing),
		cmocka_unit_test(test_resample_chunking_does_not_change_output),
		cmocka_unit_test(test_resample_up_by_large_ratios),
		cmocka_unit_test(test_resampler_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
