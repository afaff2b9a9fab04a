/* SPDX-License-Identifier: MIT */
/*
 * Sample conversion: raw PCM formats to float, channel mixing (mix-down,
 * up-mix and re-ordering between WAV and Vorbis channel order) and
 * sample-rate conversion with libsoxr's band-limited high-quality recipe
 * (never an interpolator without a filter, which lets aliases through).
 *
 * Threads: pure functions are thread-safe; a struct convert_mix is
 * read-only after its init (any thread may run it); a struct resampler is
 * used by one thread at a time. Allocation only in resampler_new().
 */
#ifndef RELAY_CONVERT_H
#define RELAY_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

/* Bytes per sample of a raw format. */
size_t convert_sample_bytes(enum sample_format fmt);

/* Converts n samples (not frames) of little-endian raw PCM to float in
 * [-1, 1]. s32 and f32 are clamped; NaN becomes 0. */
void convert_to_float(
    enum sample_format fmt, const void *src, size_t n, float *dst);

/* Sanitises n float samples in place where float PCM enters relay from a
 * decoder: NaN becomes 0, anything beyond full scale (huge values, +-Inf)
 * becomes +-1. One bad sample would otherwise poison a resampler's filter
 * (NaN spreads through it for good) or drive the encoder far past full
 * scale. */
void convert_sanitize_float(float *buf, size_t n);

/*
 * Channel orders. relay's programme is in WAV order: every source is mixed
 * into it, every encoding is mixed out of it. Mono and stereo are the same
 * in every order. Default layouts by channel count (convert.c has the
 * tables):
 *   WAV (also SMPTE, FLAC, ALSA capture, raw stdin):
 *     3 FL FR FC, 4 FL FR BL BR, 5 FL FR FC BL BR, 6 FL FR FC LFE BL BR,
 *     7 FL FR FC LFE BC SL SR, 8 FL FR FC LFE BL BR SL SR
 *   Vorbis I, section 4.3.9 (also Opus mapping family 1):
 *     3 FL FC FR, 4 FL FR BL BR, 5 FL FC FR BL BR, 6 FL FC FR BL BR LFE,
 *     7 FL FC FR SL SR BC LFE, 8 FL FC FR SL SR BL BR LFE
 */
enum convert_order {
	CONVERT_ORDER_WAV,
	CONVERT_ORDER_VORBIS,
};

#define CONVERT_ORDER_PROGRAMME CONVERT_ORDER_WAV

/* Loudspeaker positions the mixer knows (B = back/rear, S = side). */
enum convert_speaker {
	CONVERT_SPEAKER_FL,
	CONVERT_SPEAKER_FR,
	CONVERT_SPEAKER_FC,
	CONVERT_SPEAKER_LFE,
	CONVERT_SPEAKER_BL,
	CONVERT_SPEAKER_BR,
	CONVERT_SPEAKER_BC,
	CONVERT_SPEAKER_SL,
	CONVERT_SPEAKER_SR,
};

/* Channel counts with a known layout are 1..CONVERT_MAX_LAYOUT_CHANNELS. */
#define CONVERT_MAX_LAYOUT_CHANNELS 8

/*
 * A channel mix worked out once (an out x in gain matrix) and applied to
 * any number of blocks. No allocation: embed it. Fields are private.
 */
struct convert_mix {
	int in_ch;
	int out_ch;
	int kind; /* convert.c: copy, matrix or fallback */
	float gain[CONVERT_MAX_LAYOUT_CHANNELS][CONVERT_MAX_LAYOUT_CHANNELS];
};

/* Fills spk[0..channels-1] with the default layout of channels in order.
 * 0, or -EINVAL when channels is outside 1..CONVERT_MAX_LAYOUT_CHANNELS. */
int convert_layout(
    enum convert_order order, int channels, enum convert_speaker *spk);

/*
 * Plans the mix from in_ch channels in in_order to out_ch channels in
 * out_order. Rules (docs/configuration.md, "Channels"):
 * - the same layout: a plain copy; the same count in another order: a
 *   re-order;
 * - mono in: copied to FL and FR (and nothing else);
 * - stereo (or more) in, more out: each speaker goes to the same position;
 *   a position the output lacks is folded in: FC to FL/FR at -3 dB,
 *   BL/BR to SL/SR (or SL/SR to BL/BR) at 0 dB, and without either pair to
 *   FL/FR at -3 dB, BC to the surround pair at -3 dB or FL/FR at -6 dB;
 *   LFE without an LFE output is dropped (as in ITU-R BS.775);
 * - mono out: the stereo down-mix of L and R summed;
 * - then, if any output could exceed full scale (the sum of its gains is
 *   above 1), every gain is scaled by the same factor so the worst output
 *   sums to exactly 1: full-scale input on every channel never clips, and
 *   the balance between the outputs stays as planned. Stereo to mono thus
 *   averages; 5.1 to stereo gives L = 0.414 FL + 0.293 (FC + BL).
 * Counts above CONVERT_MAX_LAYOUT_CHANNELS (either side) have no known
 * layout and keep a positional fallback: mono in is copied to every
 * output, mono out averages every input, stereo in fills the first two
 * outputs, otherwise output c takes input c % in_ch.
 * Counts must be positive.
 */
void convert_mix_init(struct convert_mix *m, int in_ch,
    enum convert_order in_order, int out_ch, enum convert_order out_order);

/* As convert_mix_init() with an explicit input layout in_spk[0..in_ch-1]
 * (for example a file's own channel map); in_ch must be 1..8. */
void convert_mix_init_layout(struct convert_mix *m,
    const enum convert_speaker *in_spk, int in_ch, int out_ch,
    enum convert_order out_order);

/* True when the mix is a plain copy (the caller may skip it). */
bool convert_mix_is_copy(const struct convert_mix *m);

/* Mixes frames from m's in_ch to its out_ch channels (interleaved). in and
 * out must not overlap. */
void convert_mix_run(
    const struct convert_mix *m, const float *in, float *out, size_t frames);

/* convert_mix_init() and convert_mix_run() in one call. */
void convert_mix_channels(const float *in, int in_ch,
    enum convert_order in_order, float *out, int out_ch,
    enum convert_order out_order, size_t frames);

/* Parses "s16le|s32le|f32le". 0 or -EINVAL. */
int convert_parse_format(const char *s, enum sample_format *out);

struct resampler;

/* Owned: free with resampler_free(). NULL on error (err filled). */
struct resampler *resampler_new(
    int channels, int in_rate_hz, int out_rate_hz, char *err, size_t errlen);
void resampler_free(struct resampler *rs);

/* Converts in_frames frames; writes at most out_cap frames into out and
 * stores the count in *out_frames. Consumes all input (internal buffering).
 * out_cap must be at least resampler_max_out(rs, in_frames). 0 or
 * negative errno. */
RELAY_MUST_CHECK int resampler_process(struct resampler *rs, const float *in,
    size_t in_frames, float *out, size_t out_cap, size_t *out_frames);

/* The most output frames one resampler_process() of in_frames can give:
 * ceil(in_frames * ratio) plus a slack for what libsoxr held back before
 * (its blocks release at once; the slack grows with an up-sampling
 * ratio, convert.c). */
size_t resampler_max_out(const struct resampler *rs, size_t in_frames);

/* Ends the input: writes what the resampler still holds (at most
 * resampler_max_out(rs, 0) frames) into out. Nothing may be processed
 * after it. 0, -ENOBUFS (out_cap too small) or -EIO. */
RELAY_MUST_CHECK int resampler_flush(
    struct resampler *rs, float *out, size_t out_cap, size_t *out_frames);

/* Output frames the resampler holds now (its filter's look-ahead and its
 * partly filled block): they come out with later input. Not steady: it
 * moves by up to ~800 frames from call to call at 48 to 44.1 kHz, and
 * by about the ratio times as much when up-sampling (convert.c). *most (when
 * not NULL) gets the most it has held after any call so far. */
size_t resampler_held(const struct resampler *rs, size_t *most);

#endif
