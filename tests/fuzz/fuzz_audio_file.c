/* SPDX-License-Identifier: MIT */
/* libFuzzer: an audio file of any kind libsndfile opens (WAV, FLAC, Ogg
 * Vorbis ...) read through relay's conversion: channel mixing, SINC
 * resampling, sample sanitising. */
#include <string.h>

#include "audio_file.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float frames[4096 * 2];
	char path[512], err[512];
	struct audio_file *af;
	int i;

	if (fuzz_write_file(data, size, ".wav", path, sizeof(path)) < 0)
		return 0;
	af = audio_file_open(path, 44100, 2, err, sizeof(err));
	if (af != NULL) {
		/* Bounded: a header may claim hours of audio. */
		for (i = 0; i < 64; i++) {
			if (audio_file_read(af, frames, 4096) <= 0)
				break;
		}
		audio_file_close(af);
	}
	unlink(path);
	return 0;
}
