/* SPDX-License-Identifier: MIT */
/*
 * The two header packets of an Ogg Opus stream (RFC 7845 section 5), built
 * and patched without libopus: OpusHead (version, channels, pre-skip,
 * input rate, gain, channel mapping family 0) and OpusTags (vendor string
 * and Vorbis-comment style tags). The encoder builds them once per header
 * set; the muxer rewrites the pre-skip of OpusHead when it starts a stream
 * in the middle of the encoder's packets (muxer.c).
 *
 * Threads: pure functions, safe from any thread.
 */
#ifndef RELAY_OPUS_HEADER_H
#define RELAY_OPUS_HEADER_H

#include <stddef.h>
#include <stdint.h>

/* Granule positions of Ogg Opus always count 48 kHz samples. */
#define OPUS_HEADER_RATE_HZ 48000
/* OpusHead with channel mapping family 0 (1 or 2 channels). */
#define OPUS_HEADER_HEAD_BYTES 19
/* Pre-roll recommended before audio cut from a longer stream, so the
 * decoder has converged (RFC 7845 section 4.2): 80 ms. */
#define OPUS_HEADER_PREROLL_SAMPLES 3840

/* Writes OpusHead into buf (len >= OPUS_HEADER_HEAD_BYTES). channels 1..2,
 * preskip 0..65535 samples at 48 kHz, input_rate_hz informational (the
 * rate the audio had before resampling). OPUS_HEADER_HEAD_BYTES, or
 * -EINVAL / -ENOSPC. */
int opus_header_head(unsigned char *buf, size_t len, int channels, int preskip,
    int input_rate_hz);

/* The pre-skip of an OpusHead packet, or -EINVAL when it is not one. */
int opus_header_preskip(const unsigned char *head, size_t bytes);

/* The fields of an OpusHead packet a decoder needs (RFC 7845 5.1). */
struct opus_header_info {
	int channels;
	int preskip; /* 48 kHz samples to drop at the start */
	int gain_q8; /* output gain, dB in Q7.8 */
	int mapping; /* channel mapping family */
};

/* Reads an OpusHead packet: 0, or -EINVAL when it is not one (too short,
 * wrong magic, a major version other than 0). Pure. */
int opus_header_read(
    const unsigned char *head, size_t bytes, struct opus_header_info *info);

/* Rewrites the pre-skip of an OpusHead packet in place. 0 or -EINVAL. */
int opus_header_set_preskip(unsigned char *head, size_t bytes, int preskip);

/* Writes OpusTags: vendor, then ENCODER=relay, TITLE= and ARTIST= (each
 * only when not empty; NULL counts as empty). Returns the bytes written,
 * or -ENOSPC when buf is too small (nothing usable written). */
int opus_header_tags(unsigned char *buf, size_t len, const char *vendor,
    const char *title, const char *artist);

#endif
