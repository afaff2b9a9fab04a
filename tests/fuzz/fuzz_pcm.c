/* SPDX-License-Identifier: MIT */
/* libFuzzer: raw PCM from stdin (s16le, s32le, f32le) to float, and the
 * channel mix of the result; the first byte picks format and layout. */
#include <string.h>

#include "convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float in[8192], out[8192];
	enum sample_format fmt;
	size_t n, frames;
	int ch;

	if (size < 1)
		return 0;
	fmt = (enum sample_format)(data[0] % 3);
	ch = 1 + (data[0] / 3) % 8;
	n = (size - 1) / convert_sample_bytes(fmt);
	if (n > 8192)
		n = 8192;
	convert_to_float(fmt, data + 1, n, in);
	for (size_t i = 0; i < n; i++) {
		if (!(in[i] >= -1.0f && in[i] <= 1.0f))
			__builtin_trap(); /* the contract: clamped, no NaN */
	}
	frames = n / (size_t)ch;
	if (frames * 2 <= 8192)
		convert_mix_channels(in, ch, CONVERT_ORDER_WAV, out, 2,
		    CONVERT_ORDER_VORBIS, frames);
	return 0;
}
