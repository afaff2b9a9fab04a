/* SPDX-License-Identifier: MIT */
/*
 * Sample conversion for the input path: raw little-endian PCM to float,
 * channel mixing, and sample-rate conversion. See convert.h.
 *
 * Raw bytes are assembled explicitly as little-endian, so the code gives
 * the same result on any host. Integer formats scale by 2^(bits-1), the
 * convention libsndfile and ALSA use: the most negative value maps to
 * exactly -1.0 and zero stays zero.
 *
 * The resampler wraps libsoxr's high-quality recipe (SOXR_HQ: 20-bit
 * precision, linear phase, the pass band to 91 % of the lower Nyquist
 * frequency, ~120 dB of stop-band rejection). It replaced libsamplerate's
 * SRC_SINC_MEDIUM_QUALITY (90 %, 97 dB), which cost 6 to 10 times as much
 * CPU: 7-11 ms a second of 48 kHz stereo to 44.1 kHz on this VM against
 * 0.7-1.2, a fifth of what a station that resamples its programme for a
 * 44.1 kHz stream spent in all (docs/performance.md, "The resampler").
 * Interpolators without a filter (soxr's QQ, linear, zero-order hold)
 * would turn a 15 kHz tone resampled to 22.05 kHz into a 7.05 kHz alias;
 * never use them. The stream is never ended: libsoxr keeps the filter's
 * look-ahead and its partly filled block internally and produces them
 * with later calls, so a live stream loses no frames between blocks.
 *
 * What libsoxr holds back is not steady: it filters in blocks, so the
 * output of a call is the input times the ratio give or take up to
 * ~800 frames at 48 to 44.1 kHz, about the ratio times as much when
 * up-sampling (libsamplerate held a steady ~47). resampler_held() says
 * how much it holds now (soxr_delay()) and the most it has held after a
 * call: the encoder counts the input a page still needs with them
 * (encoder_frames_until()), so that the page's last frame is out even
 * when libsoxr then holds as much as it ever did. At the
 * end of a file the held frames are pushed out with silence
 * (audio_file.c), as before; at the end of an encoder's stream and of a
 * feed's link, resampler_flush() puts them out.
 *
 * Threads: the pure functions are thread-safe; a struct resampler is used
 * by one thread at a time.
 */
#include <errno.h>
#include <math.h>
#include <soxr.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "convert.h"
#include "dynlib.h"
#include "util.h"

/* Slack on top of in_frames * ratio: covers rounding and what earlier
 * calls held back and this one releases. libsoxr's blocks are sized in
 * input frames, so what one call can release grows with an up-sampling
 * ratio: the most one call put out beyond in_frames * ratio, measured
 * with every rate pair of 8000..192000 Hz and blocks of 1 to 4096
 * frames, was ~1700 frames at 48 kHz to 44.1 kHz, 4474 at 8 to 44.1 kHz,
 * 7358 at 8 to 48 kHz and 19496 at 8 to 192 kHz: about 1230 input frames
 * times the ratio at worst. The slack is this many frames times the
 * ratio (at least once): 3 times the worst seen. */
#define RESAMPLER_OUT_SLACK_FRAMES 4096
/* The ratios accepted, as before with libsamplerate. */
#define RESAMPLER_MAX_RATIO 256.0

struct resampler {
	soxr_t soxr;
	int channels;
	double ratio;	 /* out_rate / in_rate */
	double held_max; /* the most soxr_delay() has said after a call */
};

size_t
convert_sample_bytes(enum sample_format fmt)
{
	switch (fmt) {
	case SAMPLE_S16LE:
		return 2;
	case SAMPLE_S32LE:
	case SAMPLE_F32LE:
		return 4;
	}
	return 0;
}

static float
clamp_unit(float v)
{
	if (isnan(v))
		return 0.0f;
	if (v > 1.0f)
		return 1.0f;
	if (v < -1.0f)
		return -1.0f;
	return v;
}

void
convert_sanitize_float(float *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = clamp_unit(buf[i]);
}

static uint32_t
load_u32le(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

void
convert_to_float(enum sample_format fmt, const void *src, size_t n, float *dst)
{
	const unsigned char *b = src;
	uint32_t u;
	float f;
	size_t i;

	switch (fmt) {
	case SAMPLE_S16LE:
		for (i = 0; i < n; i++, b += 2) {
			u = (uint32_t)b[0] | (uint32_t)b[1] << 8;
			dst[i] = (float)(int16_t)(uint16_t)u / 32768.0f;
		}
		break;
	case SAMPLE_S32LE:
		for (i = 0; i < n; i++, b += 4) {
			u = load_u32le(b);
			/* Via double: a float has 24 bits of mantissa, and
			 * INT32_MAX would round up past 1.0 anyway. */
			dst[i] = clamp_unit(
			    (float)((double)(int32_t)u / 2147483648.0));
		}
		break;
	case SAMPLE_F32LE:
		for (i = 0; i < n; i++, b += 4) {
			u = load_u32le(b);
			memcpy(&f, &u, sizeof(f));
			dst[i] = clamp_unit(f);
		}
		break;
	}
}

/*
 * Channel mixing. The layouts follow the WAVEFORMATEXTENSIBLE default
 * channel masks (channels in mask bit order; 5.0 as 5.1 without LFE, as
 * libsndfile and FLAC write it) and Vorbis I section 4.3.9. BS.775 mixes
 * centre and surrounds into L/R at -3 dB and leaves LFE out; a back
 * centre is one surround split over two, hence -3 dB twice. Normalising
 * (rather than clipping) keeps the mix linear: no distortion, at the cost
 * of level when only the fronts carry signal. libswresample normalises the
 * same way by default.
 */
enum mix_kind {
	MIX_COPY,
	MIX_MATRIX,
	MIX_FALLBACK,
};

#define MINUS_3DB 0.70710678f
#define MINUS_6DB 0.5f

/* Short names for the two tables only. */
#define FL CONVERT_SPEAKER_FL
#define FR CONVERT_SPEAKER_FR
#define FC CONVERT_SPEAKER_FC
#define LFE CONVERT_SPEAKER_LFE
#define BL CONVERT_SPEAKER_BL
#define BR CONVERT_SPEAKER_BR
#define BC CONVERT_SPEAKER_BC
#define SL CONVERT_SPEAKER_SL
#define SR CONVERT_SPEAKER_SR

/* [channels - 1][slot] */
static const enum convert_speaker
    wav_layouts[CONVERT_MAX_LAYOUT_CHANNELS][CONVERT_MAX_LAYOUT_CHANNELS] = {
	{FC},
	{FL, FR},
	{FL, FR, FC},
	{FL, FR, BL, BR},
	{FL, FR, FC, BL, BR},
	{FL, FR, FC, LFE, BL, BR},
	{FL, FR, FC, LFE, BC, SL, SR},
	{FL, FR, FC, LFE, BL, BR, SL, SR},
};

static const enum convert_speaker
    vorbis_layouts[CONVERT_MAX_LAYOUT_CHANNELS][CONVERT_MAX_LAYOUT_CHANNELS] = {
	{FC},
	{FL, FR},
	{FL, FC, FR},
	{FL, FR, BL, BR},
	{FL, FC, FR, BL, BR},
	{FL, FC, FR, BL, BR, LFE},
	{FL, FC, FR, SL, SR, BC, LFE},
	{FL, FC, FR, SL, SR, BL, BR, LFE},
};

#undef FL
#undef FR
#undef FC
#undef LFE
#undef BL
#undef BR
#undef BC
#undef SL
#undef SR

int
convert_layout(
    enum convert_order order, int channels, enum convert_speaker *spk)
{
	const enum convert_speaker *table;
	int c;

	if (channels < 1 || channels > CONVERT_MAX_LAYOUT_CHANNELS)
		return -EINVAL;
	switch (order) {
	case CONVERT_ORDER_WAV:
		table = wav_layouts[channels - 1];
		break;
	case CONVERT_ORDER_VORBIS:
		table = vorbis_layouts[channels - 1];
		break;
	default:
		return -EINVAL;
	}
	for (c = 0; c < channels; c++)
		spk[c] = table[c];
	return 0;
}

/* Index of speaker s in out[0..n-1], or -1. */
static int
find_speaker(const enum convert_speaker *out, int n, enum convert_speaker s)
{
	int c;

	for (c = 0; c < n; c++)
		if (out[c] == s)
			return c;
	return -1;
}

/* Adds gain g of input k, played at speaker s, to the outputs (see
 * convert_mix_init() for the fold-down rules). */
static void
route(struct convert_mix *m, const enum convert_speaker *out, int k,
    enum convert_speaker s, float g)
{
	int n = m->out_ch, c;
	enum convert_speaker alt_l, alt_r;

	c = find_speaker(out, n, s);
	if (c >= 0) {
		m->gain[c][k] += g;
		return;
	}
	switch (s) {
	case CONVERT_SPEAKER_FL:
	case CONVERT_SPEAKER_FR:
	case CONVERT_SPEAKER_LFE:
		/* FL/FR are in every layout of two or more; LFE is dropped. */
		return;
	case CONVERT_SPEAKER_FC:
		route(m, out, k, CONVERT_SPEAKER_FL, g * MINUS_3DB);
		route(m, out, k, CONVERT_SPEAKER_FR, g * MINUS_3DB);
		return;
	case CONVERT_SPEAKER_BL:
	case CONVERT_SPEAKER_SL:
		alt_l = s == CONVERT_SPEAKER_BL ? CONVERT_SPEAKER_SL
						: CONVERT_SPEAKER_BL;
		if (find_speaker(out, n, alt_l) >= 0)
			route(m, out, k, alt_l, g);
		else
			route(m, out, k, CONVERT_SPEAKER_FL, g * MINUS_3DB);
		return;
	case CONVERT_SPEAKER_BR:
	case CONVERT_SPEAKER_SR:
		alt_r = s == CONVERT_SPEAKER_BR ? CONVERT_SPEAKER_SR
						: CONVERT_SPEAKER_BR;
		if (find_speaker(out, n, alt_r) >= 0)
			route(m, out, k, alt_r, g);
		else
			route(m, out, k, CONVERT_SPEAKER_FR, g * MINUS_3DB);
		return;
	case CONVERT_SPEAKER_BC:
		if (find_speaker(out, n, CONVERT_SPEAKER_BL) >= 0 ||
		    find_speaker(out, n, CONVERT_SPEAKER_SL) >= 0) {
			route(m, out, k, CONVERT_SPEAKER_BL, g * MINUS_3DB);
			route(m, out, k, CONVERT_SPEAKER_BR, g * MINUS_3DB);
		} else {
			route(m, out, k, CONVERT_SPEAKER_FL, g * MINUS_6DB);
			route(m, out, k, CONVERT_SPEAKER_FR, g * MINUS_6DB);
		}
		return;
	}
}

/* Scales every gain by one factor so that no output's gains sum past 1. */
static void
normalise(struct convert_mix *m)
{
	float sum, worst = 0.0f, scale;
	int c, k;

	for (c = 0; c < m->out_ch; c++) {
		sum = 0.0f;
		for (k = 0; k < m->in_ch; k++)
			sum += fabsf(m->gain[c][k]);
		if (sum > worst)
			worst = sum;
	}
	if (worst <= 1.0f)
		return;
	scale = 1.0f / worst;
	for (c = 0; c < m->out_ch; c++)
		for (k = 0; k < m->in_ch; k++)
			m->gain[c][k] *= scale;
}

static void
plan(struct convert_mix *m, const enum convert_speaker *in_spk, int in_ch,
    const enum convert_speaker *out_spk, int out_ch)
{
	static const enum convert_speaker stereo[2] = {
	    CONVERT_SPEAKER_FL, CONVERT_SPEAKER_FR};
	int c, k;

	memset(m, 0, sizeof(*m));
	m->in_ch = in_ch;
	m->out_ch = out_ch;
	if (in_ch == out_ch &&
	    memcmp(in_spk, out_spk, (size_t)in_ch * sizeof(*in_spk)) == 0) {
		m->kind = MIX_COPY;
		return;
	}
	m->kind = MIX_MATRIX;
	if (in_ch == 1) {
		/* A single channel is the whole programme: both sides. */
		for (c = 0; c < out_ch; c++)
			if (out_ch == 1 || out_spk[c] == CONVERT_SPEAKER_FL ||
			    out_spk[c] == CONVERT_SPEAKER_FR)
				m->gain[c][0] = 1.0f;
		return;
	}
	if (out_ch == 1) {
		/* Down-mix to stereo, then sum L and R into row 0. */
		m->out_ch = 2;
		for (k = 0; k < in_ch; k++)
			route(m, stereo, k, in_spk[k], 1.0f);
		for (k = 0; k < in_ch; k++) {
			m->gain[0][k] += m->gain[1][k];
			m->gain[1][k] = 0.0f;
		}
		m->out_ch = 1;
	} else {
		for (k = 0; k < in_ch; k++)
			route(m, out_spk, k, in_spk[k], 1.0f);
	}
	normalise(m);
}

void
convert_mix_init_layout(struct convert_mix *m,
    const enum convert_speaker *in_spk, int in_ch, int out_ch,
    enum convert_order out_order)
{
	enum convert_speaker out_spk[CONVERT_MAX_LAYOUT_CHANNELS];

	if (in_ch < 1 || in_ch > CONVERT_MAX_LAYOUT_CHANNELS ||
	    convert_layout(out_order, out_ch, out_spk) != 0) {
		memset(m, 0, sizeof(*m));
		m->in_ch = in_ch;
		m->out_ch = out_ch;
		m->kind = in_ch == out_ch ? MIX_COPY : MIX_FALLBACK;
		return;
	}
	plan(m, in_spk, in_ch, out_spk, out_ch);
}

void
convert_mix_init(struct convert_mix *m, int in_ch, enum convert_order in_order,
    int out_ch, enum convert_order out_order)
{
	enum convert_speaker in_spk[CONVERT_MAX_LAYOUT_CHANNELS];

	if (convert_layout(in_order, in_ch, in_spk) != 0) {
		memset(m, 0, sizeof(*m));
		m->in_ch = in_ch;
		m->out_ch = out_ch;
		m->kind = in_ch == out_ch ? MIX_COPY : MIX_FALLBACK;
		return;
	}
	convert_mix_init_layout(m, in_spk, in_ch, out_ch, out_order);
}

bool
convert_mix_is_copy(const struct convert_mix *m)
{
	return m->kind == MIX_COPY;
}

/* Counts without a known layout: by position only. */
static void
mix_fallback(
    const struct convert_mix *m, const float *in, float *out, size_t frames)
{
	int in_ch = m->in_ch, out_ch = m->out_ch, c;
	float sum, inv = 1.0f / (float)in_ch;
	size_t f;

	for (f = 0; f < frames; f++, in += in_ch, out += out_ch) {
		if (in_ch == 1) {
			for (c = 0; c < out_ch; c++)
				out[c] = in[0];
		} else if (out_ch == 1) {
			sum = 0.0f;
			for (c = 0; c < in_ch; c++)
				sum += in[c];
			out[0] = sum * inv;
		} else if (in_ch == 2) {
			out[0] = in[0];
			out[1] = in[1];
			for (c = 2; c < out_ch; c++)
				out[c] = 0.0f;
		} else {
			for (c = 0; c < out_ch; c++)
				out[c] = in[c % in_ch];
		}
	}
}

void
convert_mix_run(
    const struct convert_mix *m, const float *in, float *out, size_t frames)
{
	int in_ch = m->in_ch, out_ch = m->out_ch, c, k;
	float sum;
	size_t f;

	if (in_ch <= 0 || out_ch <= 0)
		return;
	switch ((enum mix_kind)m->kind) {
	case MIX_COPY:
		memcpy(out, in, frames * (size_t)in_ch * sizeof(float));
		return;
	case MIX_FALLBACK:
		mix_fallback(m, in, out, frames);
		return;
	case MIX_MATRIX:
		break;
	}
	for (f = 0; f < frames; f++, in += in_ch, out += out_ch) {
		for (c = 0; c < out_ch; c++) {
			sum = 0.0f;
			for (k = 0; k < in_ch; k++)
				sum += m->gain[c][k] * in[k];
			out[c] = sum;
		}
	}
}

void
convert_mix_channels(const float *in, int in_ch, enum convert_order in_order,
    float *out, int out_ch, enum convert_order out_order, size_t frames)
{
	struct convert_mix m;

	if (in_ch <= 0 || out_ch <= 0)
		return;
	convert_mix_init(&m, in_ch, in_order, out_ch, out_order);
	convert_mix_run(&m, in, out, frames);
}

int
convert_parse_format(const char *s, enum sample_format *out)
{
	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "s16le") == 0)
		*out = SAMPLE_S16LE;
	else if (strcmp(s, "s32le") == 0)
		*out = SAMPLE_S32LE;
	else if (strcmp(s, "f32le") == 0)
		*out = SAMPLE_F32LE;
	else
		return -EINVAL;
	return 0;
}

struct resampler *
resampler_new(
    int channels, int in_rate_hz, int out_rate_hz, char *err, size_t errlen)
{
	struct resampler *rs;
	soxr_error_t error = NULL;
	soxr_io_spec_t io;
	soxr_quality_spec_t quality;
	soxr_runtime_spec_t runtime;
	char why[320];

	if (channels <= 0 || in_rate_hz <= 0 || out_rate_hz <= 0) {
		snprintf(err, errlen,
		    "resampler: invalid %d channels, %d Hz -> %d Hz", channels,
		    in_rate_hz, out_rate_hz);
		return NULL;
	}
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		snprintf(err, errlen, "resampler: out of memory");
		return NULL;
	}
	rs->channels = channels;
	rs->ratio = (double)out_rate_hz / (double)in_rate_hz;
	if (rs->ratio > RESAMPLER_MAX_RATIO ||
	    rs->ratio < 1.0 / RESAMPLER_MAX_RATIO) {
		snprintf(err, errlen,
		    "resampler: %d Hz -> %d Hz is outside the ratio range "
		    "(1/256..256)",
		    in_rate_hz, out_rate_hz);
		goto fail;
	}
	/* Loaded at the first resampler (dynlib.h): a station that never
	 * resamples does not map libsoxr and its libgomp. */
	if (dynlib_soxr_load(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "resampler: %s", why);
		goto fail;
	}
	io = dynlib_soxr.io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	quality = dynlib_soxr.quality_spec(SOXR_HQ, 0);
	/* One thread: the caller's (libsoxr would use OpenMP's). */
	runtime = dynlib_soxr.runtime_spec(1);
	rs->soxr = dynlib_soxr.create((double)in_rate_hz, (double)out_rate_hz,
	    (unsigned)channels, &error, &io, &quality, &runtime);
	if (rs->soxr == NULL || error != NULL) {
		snprintf(err, errlen, "resampler: libsoxr: %s",
		    error != NULL ? error : "cannot create");
		dynlib_soxr.delete_(rs->soxr);
		goto fail;
	}
	return rs;

fail:
	free(rs);
	return NULL;
}

void
resampler_free(struct resampler *rs)
{
	if (rs == NULL)
		return;
	dynlib_soxr.delete_(rs->soxr);
	free(rs);
}

size_t
resampler_max_out(const struct resampler *rs, size_t in_frames)
{
	double up = rs->ratio > 1.0 ? rs->ratio : 1.0;

	return (size_t)ceil((double)in_frames * rs->ratio) +
	       (size_t)ceil(RESAMPLER_OUT_SLACK_FRAMES * up);
}

int
resampler_flush(
    struct resampler *rs, float *out, size_t out_cap, size_t *out_frames)
{
	size_t done = 0, made, ch = (size_t)rs->channels;
	soxr_error_t error;

	*out_frames = 0;
	do {
		made = 0;
		error = dynlib_soxr.process(rs->soxr, NULL, 0, NULL,
		    out + done * ch, out_cap - done, &made);
		if (error != NULL)
			return -EIO;
		done += made;
	} while (made > 0 && done < out_cap);
	*out_frames = done;
	return done == out_cap && dynlib_soxr.delay(rs->soxr) > 0.0 ? -ENOBUFS
								    : 0;
}

size_t
resampler_held(const struct resampler *rs, size_t *most)
{
	double held = dynlib_soxr.delay(rs->soxr);

	if (most != NULL)
		*most = (size_t)ceil(rs->held_max > held ? rs->held_max : held);
	return held > 0.0 ? (size_t)ceil(held) : 0;
}

/*
 * soxr_process() stops when its output is full, and may take the input
 * in pieces, so loop until every input frame is taken. With out_cap >=
 * resampler_max_out() the output never fills up. If it does (a caller
 * bug), the result is -ENOBUFS: the *out_frames written are valid, and
 * what libsoxr took and could not put out comes with later calls.
 * -EIO on a libsoxr error.
 */
int
resampler_process(struct resampler *rs, const float *in, size_t in_frames,
    float *out, size_t out_cap, size_t *out_frames)
{
	size_t done_in = 0, done_out = 0, ch = (size_t)rs->channels;
	size_t used, made;
	soxr_error_t error;
	double held;

	*out_frames = 0;
	while (done_in < in_frames) {
		if (done_out == out_cap)
			goto nobufs;
		used = made = 0;
		error = dynlib_soxr.process(rs->soxr, in + done_in * ch,
		    in_frames - done_in, &used, out + done_out * ch,
		    out_cap - done_out, &made);
		if (error != NULL)
			return -EIO;
		if (used == 0 && made == 0)
			goto nobufs;
		done_in += used;
		done_out += made;
	}
	held = dynlib_soxr.delay(rs->soxr);
	if (held > rs->held_max)
		rs->held_max = held;
	if (in_frames > 0 && done_out == out_cap)
		goto nobufs;
	*out_frames = done_out;
	return 0;

nobufs:
	*out_frames = done_out;
	return -ENOBUFS;
}
