/* SPDX-License-Identifier: MIT */
/*
 * One encoder per [encoding] section: Vorbis (libvorbisenc), Opus (libopus)
 * or MP3 (LAME; packets are bare MP3 bytes, see packet.h). It takes the
 * programme's float PCM (programme rate and channels), converts it to the
 * encoding's rate (libsoxr, convert.h) and channel count, encodes, and hands
 * each finished packet to a callback. It never pages: paging is per output
 * (muxer.c), so every output can start its own Ogg chain at any packet.
 *
 * Threads: an encoder is used by one thread at a time (the engine thread).
 * Runs on: engine thread.
 */
#ifndef RELAY_ENCODER_H
#define RELAY_ENCODER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "packet.h"
#include "util.h"

struct encoder;

/* Called once per packet; p is borrowed (take packet_ref() to keep it). */
typedef void encoder_packet_cb(struct packet *p, void *arg);

/* Owned: free with encoder_free(). in_rate_hz/in_channels describe the
 * programme PCM that encoder_write() receives. title/artist go into the
 * first comment header (may be NULL). NULL on error with err filled, e.g.
 * "[encoding mobile]: libvorbisenc cannot encode 96000 Hz, 2 ch at bitrate
 * 48 kbit/s". Rates outside 8000..192000 Hz are refused here too. */
struct encoder *encoder_new(const struct encoding_config *cfg, int in_rate_hz,
    int in_channels, const char *title, const char *artist, char *err,
    size_t errlen);
void encoder_free(struct encoder *enc);

/* Encodes nframes of interleaved float frames. Calls cb for every packet
 * completed. 0 or negative errno (-ENOMEM: the block was dropped). */
RELAY_MUST_CHECK int encoder_write(struct encoder *enc, const float *frames,
    size_t nframes, encoder_packet_cb *cb, void *arg);

/* Makes a new comment header with this title/artist; the next packets carry
 * the new header set (outputs with metadata = chain start a new chain).
 * Text is sanitised (control characters dropped). Unchanged text is a no-op
 * returning 0; 1 when the headers changed; -ENOMEM (headers unchanged). */
int encoder_set_tags(
    struct encoder *enc, const char *title, const char *artist);

/* Flushes buffered audio; the last packet passed to cb has eos = true. */
RELAY_MUST_CHECK int encoder_finish(
    struct encoder *enc, encoder_packet_cb *cb, void *arg);

/* A reload's encoder swap: moves from's resampler, with the audio it
 * holds, into to when both resample alike (same rates and channels, as
 * when only a bitrate or quality changed), in place of to's fresh one.
 * to's stream then continues from's samples exactly (a fresh resampler
 * would start from silence: a click, and up to half a sample of offset),
 * and encoder_finish(from) ends from's stream with what its codec holds.
 * true when moved; false (nothing changed) otherwise. Call before
 * encoder_finish(from). */
bool encoder_hand_over_resampler(struct encoder *from, struct encoder *to);

/* Current header set (borrowed, valid until the next encoder call). */
struct stream_headers *encoder_headers(struct encoder *enc);

/* Peak and RMS (dBFS) of the last ~100 ms block this encoding was fed,
 * after its channel mix and resampling. */
void encoder_levels(
    const struct encoder *enc, double *peak_dbfs, double *rms_dbfs);

/* Programme frames (at in_rate_hz) still to write before the packet that
 * reaches granule (at the encoding rate) can come out, and with then_next
 * the packet after it. Vorbis: exact while libvorbis keeps to long blocks
 * (a packet each half long block, out once a long block of input follows
 * its granule), so a page can close on the frame that completes it; a
 * short block still to come moves it by up to half a long block either
 * way. Other codecs: from the encoder's present delay, exact to about a
 * packet. 0 when it may come out now, or before the first packet
 * (nothing to go by). */
int64_t encoder_frames_until(
    const struct encoder *enc, int64_t granule, bool then_next);

/* Samples (per channel, at the encoding rate) submitted so far. */
int64_t encoder_samples(const struct encoder *enc);

#endif
