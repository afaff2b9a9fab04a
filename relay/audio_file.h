/* SPDX-License-Identifier: MIT */
/*
 * Audio files decoded to float frames in the programme format: anything
 * libsndfile reads (WAV, FLAC, Ogg Vorbis, MP3 with Debian 12's libsndfile
 * 1.2) is mixed to the target channel count (convert_mix_channels) and
 * resampled to the target rate with libsoxr (struct resampler, convert.h).
 * Used by the file input (input_file.c) and by scheduled segments.
 *
 * Threads: a struct audio_file is used by one thread at a time. All
 * buffers are allocated in audio_file_open(); audio_file_read() allocates
 * nothing.
 */
#ifndef RELAY_AUDIO_FILE_H
#define RELAY_AUDIO_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct audio_file;

/* Opens path and prepares conversion to rate_hz / channels. Owned: close
 * with audio_file_close(). NULL on error with err filled, naming the file:
 * "segments/news.ogg: cannot open: No such file or directory" or
 * "x.bin: not an audio file libsndfile can read (...)". */
struct audio_file *audio_file_open(
    const char *path, int rate_hz, int channels, char *err, size_t errlen);

/* Reads up to max_frames interleaved float frames (target format) into
 * frames. Returns the count (short only at the end of the file), 0 at the
 * end, or a negative errno on a decode error (audio_file_error() says
 * why). The total length is the source length times the rate ratio,
 * rounded to the nearest frame. */
ssize_t audio_file_read(
    struct audio_file *af, float *frames, size_t max_frames);

/* Length of the source in nanoseconds, or -1 when libsndfile does not
 * know it. */
int64_t audio_file_duration_ns(const struct audio_file *af);

/* The message of the last failed audio_file_read() ("" if none).
 * Borrowed: valid until the next call on af. */
const char *audio_file_error(const struct audio_file *af);

/* Closes and frees; NULL is a no-op. */
void audio_file_close(struct audio_file *af);

#endif
