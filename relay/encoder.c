/* SPDX-License-Identifier: MIT */
/*
 * One encoder per [encoding] section: Vorbis (libvorbisenc), Opus
 * (libopus, codec = opus) or MP3 (LAME, codec = mp3). Programme PCM
 * (float, interleaved) comes in through encoder_write(); it is mixed to the
 * encoding's channel count and resampled to its rate (convert.h) when they
 * differ, handed to libvorbis, and every finished packet goes out as a
 * refcounted struct packet (packet.h). The programme is in WAV channel
 * order and a Vorbis stream of three or more channels must be in Vorbis
 * order (Vorbis I section 4.3.9), so the mix also re-orders when the
 * counts match. Nothing is paged here: each output pages for itself
 * (muxer.c), so each can start its own Ogg chain.
 *
 * A metadata change (encoder_set_tags) does not restart libvorbis: the
 * identification and setup headers stay byte for byte the same and only the
 * comment header is rebuilt. The new header set gets a new chain_id, and
 * every packet made after the change points at it, so each output's muxer
 * sees the change at the exact packet and starts a new chain there without
 * losing an audio block.
 *
 * Opus: libopus takes whole frames (frame_ms at 48 kHz), so the converted
 * audio collects in opus_frame until one is full. Each packet carries its
 * duration (packet.samples) and the encoder's granule count: the samples
 * of every packet so far, lookahead included, as RFC 7845 counts them
 * from a stream's start with pre-skip = lookahead (OPUS_GET_LOOKAHEAD).
 * encoder_finish() pads with silence until lookahead plus every sample
 * submitted has been encoded, and gives the last packet the exact end
 * (end trimming, RFC 7845 section 4.4), so a decoder outputs exactly the
 * samples sent.
 *
 * MP3: LAME takes the converted audio (it never resamples: in and out
 * rates are the encoding's) and returns bytes that need not end on a frame
 * boundary; each call's bytes become one packet of a header-less set
 * (stream_headers.raw) whose granulepos counts the samples submitted.
 * Outputs send them as they are. Titles never reach the bytes (MP3 has
 * no in-stream comments here): encoder_set_tags() only renames the set,
 * and the output tells Icecast (metadata = admin).
 *
 * Every buffer is allocated in encoder_new(); encoder_write() works through
 * its input in chunks of at most ENCODER_CHUNK_FRAMES frames so any nframes
 * fits them. The only steady-state allocations are the packets themselves
 * (and libvorbis's own, inside the library).
 *
 * Threads: an encoder is used by one thread at a time.
 * Runs on: the engine thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lame/lame.h>
#include <opus.h>
#include <vorbis/codec.h>
#include <vorbis/vorbisenc.h>

#include "convert.h"
#include "encoder.h"
#include "opus_header.h"
#include "level.h"
#include "packet.h"
#include "util.h"

#define ENCODER_CHUNK_FRAMES 1024
#define ENCODER_NAME_LEN 64
#define ENCODER_TAG_LEN 256 /* = sizeof(stream_headers.title) */
/*
 * libvorbisenc's tuned modes cover 8 kHz and up; in quality mode it also
 * accepts rates far below (it returned 0 for 100 Hz), so check ourselves.
 * The bounds match the [encoding] rate key.
 */
#define ENCODER_MIN_RATE_HZ 8000
#define ENCODER_MAX_RATE_HZ 192000
#define ENCODER_MAX_CHANNELS 255 /* Vorbis I: 8-bit channel count */
/* Largest Opus packet (RFC 6716 section 3.2.5: 1275 bytes a frame, 3 frames
 * of 20 ms in 60 ms) with room for the TOC and lengths. */
#define ENCODER_OPUS_MAX_PACKET 4000
#define ENCODER_OPUS_TAGS_MAX 1024 /* vendor + two 255-byte tags */

/* Encoder instances are numbered for the muxer (packet.h). */
static atomic_uint next_encoder_id = 1;

struct encoder {
	char name[ENCODER_NAME_LEN];
	uint32_t id; /* stream_headers.encoder_id of its header sets */
	int in_rate_hz;
	int in_channels;
	int rate_hz;
	int channels;

	vorbis_info vi;
	vorbis_dsp_state vd;
	vorbis_block vb;
	bool vi_ready;
	bool vd_ready;
	bool vb_ready;
	int64_t vorbis_step; /* half a long block: a long packet's samples */

	/*
	 * Conversion. The resampler runs on min(in, out) channels: a
	 * mix-down happens before it and an up-mix after it, so it never
	 * resamples more channels than it must.
	 */
	struct resampler *rs;
	int rs_channels;
	struct convert_mix mix; /* programme -> Vorbis order and count */
	bool mix_before_rs;	/* in_channels > channels */
	bool mix_needed;	/* not a plain copy */
	float *mix_buf;		/* mix_cap_frames * channels */
	size_t mix_cap_frames;
	float *rs_buf; /* rs_cap_frames * rs_channels */
	size_t rs_cap_frames;

	/* Opus (codec = opus) instead of vi/vd/vb. */
	OpusEncoder *opus;
	int opus_frame_samples;	 /* per channel, 48 kHz */
	int opus_lookahead;	 /* pre-skip of a stream from the start */
	float *opus_frame;	 /* opus_frame_samples * channels */
	int opus_fill;		 /* frames in opus_frame */
	int64_t opus_granule;	 /* samples of every packet made so far */
	unsigned char *opus_out; /* ENCODER_OPUS_MAX_PACKET */
	/* MP3 (codec = mp3) instead of vi/vd/vb. */
	lame_global_flags *lame;
	float *mp3_left; /* ENCODER_CHUNK_FRAMES * 4 (after resampling) */
	float *mp3_right;
	size_t mp3_cap_frames;
	unsigned char *mp3_out; /* mp3_out_bytes */
	size_t mp3_out_bytes;
	int64_t mp3_packets;
	/* What this encoding is fed after conversion, metered like the
	 * programme (operator page): a broken mix or resampler shows. */
	struct level_meter meter;

	struct stream_headers *headers; /* current header set (owned ref) */
	int64_t samples;		/* submitted at the encoding rate */
	int64_t out_granule;		/* of the last packet made, or -1 */
	bool finished;
};

static void
set_err(char *err, size_t errlen, const char *name, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "[encoding %s]: %s", name, msg);
}

/*
 * Builds a header set around the identification and setup packets of this
 * encoder and a fresh comment header. title and artist are already
 * sanitised. Owned (refs = 1) or NULL on OOM.
 */
static struct stream_headers *
build_headers(struct encoder *enc, const unsigned char *ident,
    size_t ident_bytes, const unsigned char *setup, size_t setup_bytes,
    const char *title, const char *artist)
{
	struct stream_headers *h;
	vorbis_comment vc;
	ogg_packet op;
	const unsigned char *pkt[3];
	size_t bytes[3];

	vorbis_comment_init(&vc);
	vorbis_comment_add_tag(&vc, "ENCODER", "relay");
	if (title[0] != '\0')
		vorbis_comment_add_tag(&vc, "TITLE", title);
	if (artist[0] != '\0')
		vorbis_comment_add_tag(&vc, "ARTIST", artist);
	memset(&op, 0, sizeof(op));
	if (vorbis_commentheader_out(&vc, &op) != 0) {
		vorbis_comment_clear(&vc);
		return NULL;
	}
	pkt[0] = ident;
	bytes[0] = ident_bytes;
	pkt[1] = op.packet;
	bytes[1] = (size_t)op.bytes;
	pkt[2] = setup;
	bytes[2] = setup_bytes;
	h = headers_new(enc->rate_hz, enc->channels, title, artist, pkt, bytes);
	if (h != NULL)
		h->encoder_id = enc->id;
	ogg_packet_clear(&op);
	vorbis_comment_clear(&vc);
	return h;
}

/*
 * The Opus header set: OpusHead (kept from the encoder's start, head
 * may be NULL to build it) and a fresh OpusTags. Owned or NULL on OOM.
 */
static struct stream_headers *
build_opus_headers(struct encoder *enc, const unsigned char *head,
    size_t head_bytes, const char *title, const char *artist)
{
	struct stream_headers *h;
	unsigned char head_buf[OPUS_HEADER_HEAD_BYTES];
	unsigned char tags[ENCODER_OPUS_TAGS_MAX];
	const unsigned char *pkt[3];
	size_t bytes[3];
	int n;

	if (head == NULL) {
		n = opus_header_head(head_buf, sizeof(head_buf), enc->channels,
		    enc->opus_lookahead, enc->in_rate_hz);
		if (n < 0)
			return NULL;
		head = head_buf;
		head_bytes = (size_t)n;
	}
	n = opus_header_tags(
	    tags, sizeof(tags), opus_get_version_string(), title, artist);
	if (n < 0)
		return NULL;
	pkt[0] = head;
	bytes[0] = head_bytes;
	pkt[1] = tags;
	bytes[1] = (size_t)n;
	pkt[2] = NULL;
	bytes[2] = 0;
	h = headers_new(enc->rate_hz, enc->channels, title, artist, pkt, bytes);
	if (h != NULL) {
		h->encoder_id = enc->id;
		h->opus = true;
		h->preskip = enc->opus_lookahead;
	}
	return h;
}

/* Sets up libopus for cfg (enc->channels, 48 kHz). 0 or -EINVAL with err. */
static int
opus_setup(struct encoder *enc, const struct encoding_config *cfg, char *err,
    size_t errlen)
{
	char msg[CONFIG_ERR_LEN];
	int rc, app;

	app = cfg->application == ENCODING_APP_VOIP ? OPUS_APPLICATION_VOIP
						    : OPUS_APPLICATION_AUDIO;
	enc->opus =
	    opus_encoder_create(OPUS_HEADER_RATE_HZ, enc->channels, app, &rc);
	if (enc->opus == NULL || rc != OPUS_OK) {
		snprintf(msg, sizeof(msg), "libopus cannot encode %d ch: %s",
		    enc->channels, opus_strerror(rc));
		set_err(err, errlen, enc->name, msg);
		return -EINVAL;
	}
	if (opus_encoder_ctl(enc->opus,
		OPUS_SET_BITRATE((opus_int32)cfg->bitrate_kbps * 1000)) !=
		OPUS_OK ||
	    opus_encoder_ctl(enc->opus, OPUS_SET_COMPLEXITY(cfg->complexity)) !=
		OPUS_OK ||
	    opus_encoder_ctl(enc->opus,
		OPUS_GET_LOOKAHEAD(&enc->opus_lookahead)) != OPUS_OK) {
		snprintf(msg, sizeof(msg),
		    "libopus refuses bitrate %d kbit/s, complexity %d",
		    cfg->bitrate_kbps, cfg->complexity);
		set_err(err, errlen, enc->name, msg);
		return -EINVAL;
	}
	enc->opus_frame_samples =
	    (int)(cfg->frame_ms * OPUS_HEADER_RATE_HZ / 1000.0 + 0.5);
	enc->opus_frame = calloc((size_t)enc->opus_frame_samples,
	    sizeof(float) * (size_t)enc->channels);
	enc->opus_out = malloc(ENCODER_OPUS_MAX_PACKET);
	if (enc->opus_frame == NULL || enc->opus_out == NULL) {
		set_err(err, errlen, enc->name, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* LAME prints its own notes to stderr; relay reports errors itself. */
static void
lame_quiet(const char *fmt, va_list ap)
{
	(void)fmt;
	(void)ap;
}

/* The MP3 header set: no packets, just the title for status and outputs.
 * Owned or NULL on OOM. */
static struct stream_headers *
build_mp3_headers(struct encoder *enc, const char *title, const char *artist)
{
	const unsigned char *pkt[3] = {NULL, NULL, NULL};
	const size_t bytes[3] = {0, 0, 0};
	struct stream_headers *h;

	h = headers_new(enc->rate_hz, enc->channels, title, artist, pkt, bytes);
	if (h != NULL) {
		h->encoder_id = enc->id;
		h->raw = true;
	}
	return h;
}

/* Sets up LAME for cfg (enc->rate_hz, enc->channels; config.c checked
 * them). 0 or -EINVAL / -ENOMEM with err. */
static int
mp3_setup(struct encoder *enc, const struct encoding_config *cfg, char *err,
    size_t errlen)
{
	char msg[CONFIG_ERR_LEN];
	lame_global_flags *l;
	int rc = 0;

	enc->lame = l = lame_init();
	if (l == NULL) {
		set_err(err, errlen, enc->name, "out of memory (lame_init)");
		return -ENOMEM;
	}
	(void)lame_set_errorf(l, lame_quiet);
	(void)lame_set_debugf(l, lame_quiet);
	(void)lame_set_msgf(l, lame_quiet);
	rc |= lame_set_in_samplerate(l, enc->rate_hz);
	rc |= lame_set_out_samplerate(l, enc->rate_hz);
	rc |= lame_set_num_channels(l, enc->channels);
	rc |= lame_set_mode(l, enc->channels == 1 ? MONO : JOINT_STEREO);
	/* A stream has no end to seek from: no Xing/LAME tag frame. */
	rc |= lame_set_bWriteVbrTag(l, 0);
	if (cfg->managed) {
		rc |= lame_set_VBR(l, vbr_off);
		rc |= lame_set_brate(l, cfg->bitrate_kbps);
	} else {
		rc |= lame_set_VBR(l, vbr_default);
		rc |= lame_set_VBR_quality(l, (float)cfg->quality);
	}
	if (rc != 0 || lame_init_params(l) < 0) {
		if (cfg->managed)
			snprintf(msg, sizeof(msg),
			    "LAME cannot encode %d Hz, %d ch at CBR %d kbit/s",
			    enc->rate_hz, enc->channels, cfg->bitrate_kbps);
		else
			snprintf(msg, sizeof(msg),
			    "LAME cannot encode %d Hz, %d ch at VBR -V %g",
			    enc->rate_hz, enc->channels, cfg->quality);
		set_err(err, errlen, enc->name, msg);
		return -EINVAL;
	}
	return 0;
}

/* Sizes the MP3 buffers for up to cap_frames frames a call. 0 or
 * -ENOMEM. */
static int
mp3_alloc(struct encoder *enc, size_t cap_frames)
{
	enc->mp3_cap_frames = cap_frames;
	enc->mp3_left = calloc(cap_frames, sizeof(float));
	enc->mp3_right = calloc(cap_frames, sizeof(float));
	enc->mp3_out_bytes = cap_frames * 5 / 4 + 7200;
	enc->mp3_out = malloc(enc->mp3_out_bytes);
	if (enc->mp3_left == NULL || enc->mp3_right == NULL ||
	    enc->mp3_out == NULL)
		return -ENOMEM;
	return 0;
}

/* Describes the bitrate setting for error messages. Returns buf. */
static char *
describe_mode(const struct encoding_config *cfg, char *buf, size_t len)
{
	size_t n;

	if (!cfg->managed) {
		snprintf(buf, len, "quality %g", cfg->quality);
		return buf;
	}
	n = (size_t)snprintf(buf, len, "bitrate");
	if (cfg->bitrate_kbps > 0 && n < len)
		n += (size_t)snprintf(
		    buf + n, len - n, " %d kbit/s", cfg->bitrate_kbps);
	if (cfg->min_bitrate_kbps > 0 && n < len)
		n += (size_t)snprintf(
		    buf + n, len - n, " min %d kbit/s", cfg->min_bitrate_kbps);
	if (cfg->max_bitrate_kbps > 0 && n < len)
		snprintf(
		    buf + n, len - n, " max %d kbit/s", cfg->max_bitrate_kbps);
	return buf;
}

static long
kbps_to_bps(int kbps)
{
	return kbps > 0 ? (long)kbps * 1000 : -1;
}

/* Sets up libvorbisenc for cfg. 0 or -EINVAL with err filled. */
static int
vorbis_setup(struct encoder *enc, const struct encoding_config *cfg, char *err,
    size_t errlen)
{
	char msg[CONFIG_ERR_LEN], mode[128];
	const char *name = enc->name;
	int rc;

	vorbis_info_init(&enc->vi);
	enc->vi_ready = true;
	if (cfg->managed)
		rc = vorbis_encode_init(&enc->vi, enc->channels, enc->rate_hz,
		    kbps_to_bps(cfg->max_bitrate_kbps),
		    kbps_to_bps(cfg->bitrate_kbps),
		    kbps_to_bps(cfg->min_bitrate_kbps));
	else
		rc = vorbis_encode_init_vbr(&enc->vi, enc->channels,
		    enc->rate_hz, (float)(cfg->quality / 10.0));
	if (rc != 0) {
		snprintf(msg, sizeof(msg),
		    "libvorbisenc cannot encode %d Hz, %d ch at %s",
		    enc->rate_hz, enc->channels,
		    describe_mode(cfg, mode, sizeof(mode)));
		set_err(err, errlen, name, msg);
		return -EINVAL;
	}
	if (vorbis_analysis_init(&enc->vd, &enc->vi) != 0) {
		set_err(err, errlen, name, "libvorbis analysis init failed");
		return -EINVAL;
	}
	enc->vd_ready = true;
	enc->vorbis_step = vorbis_info_blocksize(&enc->vi, 1) / 2;
	if (vorbis_block_init(&enc->vd, &enc->vb) != 0) {
		set_err(err, errlen, name, "libvorbis block init failed");
		return -EINVAL;
	}
	enc->vb_ready = true;
	return 0;
}

struct encoder *
encoder_new(const struct encoding_config *cfg, int in_rate_hz, int in_channels,
    const char *title, const char *artist, char *err, size_t errlen)
{
	struct encoder *enc;
	vorbis_comment vc;
	ogg_packet ident, comment, setup;
	char msg[CONFIG_ERR_LEN], mode[128], rs_err[256];
	char clean_title[ENCODER_TAG_LEN], clean_artist[ENCODER_TAG_LEN];
	const char *name;
	int rc;

	name = cfg != NULL && cfg->name != NULL ? cfg->name : "?";
	if (cfg == NULL || in_rate_hz <= 0 || in_channels <= 0) {
		set_err(err, errlen, name, "invalid programme format");
		return NULL;
	}
	enc = calloc(1, sizeof(*enc));
	if (enc == NULL) {
		set_err(err, errlen, name, "out of memory");
		return NULL;
	}
	util_strlcpy(enc->name, name, sizeof(enc->name));
	do {
		enc->id = atomic_fetch_add(&next_encoder_id, 1);
	} while (enc->id == 0);
	enc->in_rate_hz = in_rate_hz;
	enc->in_channels = in_channels;
	enc->out_granule = -1;
	/* 0 (unset) means "as the programme". */
	enc->rate_hz = cfg->rate_hz > 0 ? cfg->rate_hz : in_rate_hz;
	enc->channels = cfg->channels > 0 ? cfg->channels : in_channels;

	if (cfg->codec == CODEC_OPUS) {
		/* config.c checked rate and channels; be safe anyway. */
		enc->rate_hz = OPUS_HEADER_RATE_HZ;
		if (enc->channels > 2)
			enc->channels = 2;
		if (opus_setup(enc, cfg, err, errlen) < 0)
			goto fail;
	} else if (cfg->codec == CODEC_MP3) {
		if (enc->channels > 2)
			enc->channels = 2;
		if (mp3_setup(enc, cfg, err, errlen) < 0)
			goto fail;
	} else if (enc->rate_hz < ENCODER_MIN_RATE_HZ ||
		   enc->rate_hz > ENCODER_MAX_RATE_HZ ||
		   enc->channels > ENCODER_MAX_CHANNELS) {
		snprintf(msg, sizeof(msg),
		    "cannot encode %d Hz, %d ch at %s (Vorbis needs %d..%d Hz, "
		    "1..%d ch)",
		    enc->rate_hz, enc->channels,
		    describe_mode(cfg, mode, sizeof(mode)), ENCODER_MIN_RATE_HZ,
		    ENCODER_MAX_RATE_HZ, ENCODER_MAX_CHANNELS);
		set_err(err, errlen, name, msg);
		goto fail;
	}
	if (cfg->codec == CODEC_VORBIS &&
	    vorbis_setup(enc, cfg, err, errlen) < 0)
		goto fail;

	/*
	 * Conversion buffers. Chunks are at most ENCODER_CHUNK_FRAMES input
	 * frames; the resampler's worst case for that bounds its output.
	 */
	level_init(&enc->meter, enc->rate_hz, enc->channels, -120.0);
	convert_mix_init(&enc->mix, in_channels, CONVERT_ORDER_PROGRAMME,
	    enc->channels, CONVERT_ORDER_VORBIS);
	enc->mix_needed = !convert_mix_is_copy(&enc->mix);
	enc->mix_before_rs = in_channels > enc->channels;
	enc->rs_channels =
	    in_channels < enc->channels ? in_channels : enc->channels;
	enc->mix_cap_frames = ENCODER_CHUNK_FRAMES;
	if (enc->rate_hz != in_rate_hz) {
		enc->rs = resampler_new(enc->rs_channels, in_rate_hz,
		    enc->rate_hz, rs_err, sizeof(rs_err));
		if (enc->rs == NULL) {
			snprintf(msg, sizeof(msg), "resampler %d -> %d Hz: %s",
			    in_rate_hz, enc->rate_hz, rs_err);
			set_err(err, errlen, name, msg);
			goto fail;
		}
		enc->rs_cap_frames =
		    resampler_max_out(enc->rs, ENCODER_CHUNK_FRAMES);
		enc->rs_buf = calloc(enc->rs_cap_frames,
		    sizeof(float) * (size_t)enc->rs_channels);
		if (enc->rs_buf == NULL)
			goto oom;
		if (enc->rs_cap_frames > enc->mix_cap_frames)
			enc->mix_cap_frames = enc->rs_cap_frames;
	}
	if (enc->mix_needed) {
		enc->mix_buf = calloc(
		    enc->mix_cap_frames, sizeof(float) * (size_t)enc->channels);
		if (enc->mix_buf == NULL)
			goto oom;
	}

	if (cfg->codec == CODEC_MP3) {
		/* LAME's input: the converted chunk (up to mix_cap_frames,
		 * which covers the resampler's output). */
		if (mp3_alloc(enc, enc->mix_cap_frames) < 0)
			goto oom;
		util_sanitize_text(clean_title, sizeof(clean_title),
		    title != NULL ? title : "");
		util_sanitize_text(clean_artist, sizeof(clean_artist),
		    artist != NULL ? artist : "");
		enc->headers =
		    build_mp3_headers(enc, clean_title, clean_artist);
		if (enc->headers == NULL)
			goto oom;
		return enc;
	}
	if (cfg->codec == CODEC_OPUS) {
		util_sanitize_text(clean_title, sizeof(clean_title),
		    title != NULL ? title : "");
		util_sanitize_text(clean_artist, sizeof(clean_artist),
		    artist != NULL ? artist : "");
		enc->headers =
		    build_opus_headers(enc, NULL, 0, clean_title, clean_artist);
		if (enc->headers == NULL)
			goto oom;
		return enc;
	}
	/*
	 * The identification and setup headers come from libvorbis once;
	 * the comment header is ours, so build_headers() makes it (the same
	 * way encoder_set_tags() does later).
	 */
	vorbis_comment_init(&vc);
	rc = vorbis_analysis_headerout(&enc->vd, &vc, &ident, &comment, &setup);
	vorbis_comment_clear(&vc);
	if (rc != 0) {
		set_err(err, errlen, name, "libvorbis header output failed");
		goto fail;
	}
	util_sanitize_text(
	    clean_title, sizeof(clean_title), title != NULL ? title : "");
	util_sanitize_text(
	    clean_artist, sizeof(clean_artist), artist != NULL ? artist : "");
	enc->headers = build_headers(enc, ident.packet, (size_t)ident.bytes,
	    setup.packet, (size_t)setup.bytes, clean_title, clean_artist);
	if (enc->headers == NULL)
		goto oom;
	return enc;

oom:
	set_err(err, errlen, name, "out of memory");
fail:
	encoder_free(enc);
	return NULL;
}

void
encoder_free(struct encoder *enc)
{
	if (enc == NULL)
		return;
	headers_unref(enc->headers);
	free(enc->mix_buf);
	free(enc->rs_buf);
	resampler_free(enc->rs);
	if (enc->opus != NULL)
		opus_encoder_destroy(enc->opus);
	free(enc->opus_frame);
	free(enc->opus_out);
	if (enc->lame != NULL)
		(void)lame_close(enc->lame);
	free(enc->mp3_left);
	free(enc->mp3_right);
	free(enc->mp3_out);
	if (enc->vb_ready)
		vorbis_block_clear(&enc->vb);
	if (enc->vd_ready)
		vorbis_dsp_clear(&enc->vd);
	if (enc->vi_ready)
		vorbis_info_clear(&enc->vi);
	free(enc);
}

/*
 * Takes every block libvorbis has ready and passes its packets to cb.
 * While finishing, the last packet is held back (*hold) so the caller can
 * mark it eos before anyone sees it. A packet that cannot be allocated is
 * dropped (-ENOMEM), but libvorbis is still drained so it never stalls.
 */
static int
drain(
    struct encoder *enc, encoder_packet_cb *cb, void *arg, struct packet **hold)
{
	ogg_packet op;
	struct packet *p;
	int rc = 0;

	while (vorbis_analysis_blockout(&enc->vd, &enc->vb) == 1) {
		if (vorbis_analysis(&enc->vb, NULL) != 0 ||
		    vorbis_bitrate_addblock(&enc->vb) != 0) {
			rc = -EIO;
			continue;
		}
		while (vorbis_bitrate_flushpacket(&enc->vd, &op) == 1) {
			enc->out_granule = (int64_t)op.granulepos;
			p = packet_new(enc->headers, op.packet,
			    (size_t)op.bytes, (int64_t)op.granulepos,
			    (int64_t)op.packetno, op.e_o_s != 0);
			if (p == NULL) {
				rc = -ENOMEM;
				continue;
			}
			if (hold != NULL) {
				if (*hold != NULL) {
					cb(*hold, arg);
					packet_unref(*hold);
				}
				*hold = p;
			} else {
				cb(p, arg);
				packet_unref(p);
			}
		}
	}
	return rc;
}

/* Copies frames (interleaved, enc->channels) into libvorbis. */
static void
submit(struct encoder *enc, const float *frames, size_t nframes)
{
	float **buf;
	size_t i;
	int c, ch = enc->channels;

	buf = vorbis_analysis_buffer(&enc->vd, (int)nframes);
	for (c = 0; c < ch; c++) {
		for (i = 0; i < nframes; i++)
			buf[c][i] = frames[i * (size_t)ch + (size_t)c];
	}
	/* Never wrote(0) here: that would end the stream. */
	vorbis_analysis_wrote(&enc->vd, (int)nframes);
	enc->samples += (int64_t)nframes;
}

/*
 * Encodes the full opus_frame into one packet with granule position
 * granule (the caller's: the running count, or the trimmed end) and
 * passes it on, held back in *hold while finishing (see drain()).
 */
static int
opus_encode_frame(struct encoder *enc, int64_t granule, encoder_packet_cb *cb,
    void *arg, struct packet **hold)
{
	struct packet *p;
	opus_int32 n;

	n = opus_encode_float(enc->opus, enc->opus_frame,
	    enc->opus_frame_samples, enc->opus_out, ENCODER_OPUS_MAX_PACKET);
	enc->opus_fill = 0;
	enc->opus_granule += enc->opus_frame_samples;
	enc->out_granule = granule;
	if (n < 0)
		return -EIO;
	p = packet_new(enc->headers, enc->opus_out, (size_t)n, granule,
	    enc->opus_granule / enc->opus_frame_samples - 1, false);
	if (p == NULL)
		return -ENOMEM;
	p->samples = enc->opus_frame_samples; /* not yet published */
	if (hold != NULL) {
		if (*hold != NULL) {
			cb(*hold, arg);
			packet_unref(*hold);
		}
		*hold = p;
	} else {
		cb(p, arg);
		packet_unref(p);
	}
	return 0;
}

/* Collects frames (interleaved, enc->channels) into whole Opus frames. */
static int
opus_submit(struct encoder *enc, const float *frames, size_t nframes,
    encoder_packet_cb *cb, void *arg)
{
	size_t ch = (size_t)enc->channels, n;
	int rc, first_err = 0;

	enc->samples += (int64_t)nframes;
	while (nframes > 0) {
		n = (size_t)(enc->opus_frame_samples - enc->opus_fill);
		if (n > nframes)
			n = nframes;
		memcpy(enc->opus_frame + (size_t)enc->opus_fill * ch, frames,
		    n * ch * sizeof(float));
		enc->opus_fill += (int)n;
		frames += n * ch;
		nframes -= n;
		if (enc->opus_fill < enc->opus_frame_samples)
			break;
		rc = opus_encode_frame(enc,
		    enc->opus_granule + enc->opus_frame_samples, cb, arg, NULL);
		if (rc < 0 && first_err == 0)
			first_err = rc;
	}
	return first_err;
}

/*
 * End of an Opus stream: silence until the lookahead and every sample
 * submitted are encoded; the last packet gets the exact end as granule.
 */
static int
opus_finish(struct encoder *enc, encoder_packet_cb *cb, void *arg)
{
	struct packet *last = NULL;
	int64_t end = enc->samples + enc->opus_lookahead;
	size_t ch = (size_t)enc->channels;
	int rc, first_err = 0;

	while (enc->opus_granule < end) {
		int64_t next = enc->opus_granule + enc->opus_frame_samples;

		memset(enc->opus_frame + (size_t)enc->opus_fill * ch, 0,
		    (size_t)(enc->opus_frame_samples - enc->opus_fill) * ch *
			sizeof(float));
		enc->opus_fill = enc->opus_frame_samples;
		rc = opus_encode_frame(
		    enc, next < end ? next : end, cb, arg, &last);
		if (rc < 0 && first_err == 0)
			first_err = rc;
	}
	if (last != NULL) {
		last->eos = true; /* not yet published */
		cb(last, arg);
		packet_unref(last);
	}
	return first_err;
}

/* Passes n bytes of LAME output on as one packet (nothing for n = 0). */
static int
mp3_emit(struct encoder *enc, int n, bool eos, encoder_packet_cb *cb, void *arg)
{
	struct packet *p;

	if (n < 0)
		return -EIO;
	if (n == 0 && !eos)
		return 0;
	enc->out_granule = enc->samples;
	p = packet_new(enc->headers, enc->mp3_out, (size_t)n, enc->samples,
	    enc->mp3_packets++, eos);
	if (p == NULL)
		return -ENOMEM;
	cb(p, arg);
	packet_unref(p);
	return 0;
}

/* Encodes frames (interleaved, enc->channels; at most mp3_cap_frames). */
static int
mp3_submit(struct encoder *enc, const float *frames, size_t nframes,
    encoder_packet_cb *cb, void *arg)
{
	size_t i, ch = (size_t)enc->channels;
	int n;

	for (i = 0; i < nframes; i++) {
		enc->mp3_left[i] = frames[i * ch];
		enc->mp3_right[i] = frames[i * ch + ch - 1];
	}
	enc->samples += (int64_t)nframes;
	n = lame_encode_buffer_ieee_float(enc->lame, enc->mp3_left,
	    enc->mp3_right, (int)nframes, enc->mp3_out,
	    (int)enc->mp3_out_bytes);
	return mp3_emit(enc, n, false, cb, arg);
}

/* Meters and encodes out_n frames at the encoding's rate, resampled but
 * maybe not yet mixed down. 0 or the first error. */
static int
encode_converted(struct encoder *enc, const float *src, size_t out_n,
    encoder_packet_cb *cb, void *arg)
{
	if (enc->mix_needed && !enc->mix_before_rs) {
		convert_mix_run(&enc->mix, src, enc->mix_buf, out_n);
		src = enc->mix_buf;
	}
	if (out_n == 0)
		return 0;
	(void)level_feed(&enc->meter, src, out_n);
	if (enc->lame != NULL)
		return mp3_submit(enc, src, out_n, cb, arg);
	if (enc->opus != NULL)
		return opus_submit(enc, src, out_n, cb, arg);
	submit(enc, src, out_n);
	return drain(enc, cb, arg, NULL);
}

int
encoder_write(struct encoder *enc, const float *frames, size_t nframes,
    encoder_packet_cb *cb, void *arg)
{
	const float *src;
	size_t done, n, out_n;
	int rc, first_err = 0;

	if (enc == NULL || cb == NULL || (frames == NULL && nframes > 0))
		return -EINVAL;
	if (enc->finished)
		return -EPIPE;
	for (done = 0; done < nframes; done += n) {
		n = nframes - done;
		if (n > ENCODER_CHUNK_FRAMES)
			n = ENCODER_CHUNK_FRAMES;
		src = frames + done * (size_t)enc->in_channels;
		out_n = n;
		if (enc->mix_needed && enc->mix_before_rs) {
			convert_mix_run(&enc->mix, src, enc->mix_buf, out_n);
			src = enc->mix_buf;
		}
		if (enc->rs != NULL) {
			rc = resampler_process(enc->rs, src, out_n, enc->rs_buf,
			    enc->rs_cap_frames, &out_n);
			if (rc < 0)
				return rc;
			src = enc->rs_buf;
		}
		rc = encode_converted(enc, src, out_n, cb, arg);
		if (rc < 0 && first_err == 0)
			first_err = rc;
	}
	return first_err;
}

int
encoder_set_tags(struct encoder *enc, const char *title, const char *artist)
{
	struct stream_headers *h, *old;
	char clean_title[ENCODER_TAG_LEN], clean_artist[ENCODER_TAG_LEN];

	if (enc == NULL)
		return -EINVAL;
	util_sanitize_text(
	    clean_title, sizeof(clean_title), title != NULL ? title : "");
	util_sanitize_text(
	    clean_artist, sizeof(clean_artist), artist != NULL ? artist : "");
	old = enc->headers;
	if (strcmp(clean_title, old->title) == 0 &&
	    strcmp(clean_artist, old->artist) == 0)
		return 0;
	if (enc->lame != NULL)
		h = build_mp3_headers(enc, clean_title, clean_artist);
	else if (enc->opus != NULL)
		h = build_opus_headers(enc, old->packet[0], old->bytes[0],
		    clean_title, clean_artist);
	else
		h = build_headers(enc, old->packet[0], old->bytes[0],
		    old->packet[2], old->bytes[2], clean_title, clean_artist);
	if (h == NULL)
		return -ENOMEM;
	enc->headers = h;
	headers_unref(old);
	return 1;
}

bool
encoder_hand_over_resampler(struct encoder *from, struct encoder *to)
{
	if (from == NULL || to == NULL || from->rs == NULL || to->rs == NULL ||
	    from->finished || from->in_rate_hz != to->in_rate_hz ||
	    from->rate_hz != to->rate_hz ||
	    from->rs_channels != to->rs_channels ||
	    from->mix_before_rs != to->mix_before_rs ||
	    from->rs_cap_frames != to->rs_cap_frames)
		return false;
	resampler_free(to->rs);
	to->rs = from->rs;
	from->rs = NULL;
	return true;
}

int
encoder_finish(struct encoder *enc, encoder_packet_cb *cb, void *arg)
{
	struct packet *last = NULL;
	int rc;

	if (enc == NULL || cb == NULL)
		return -EINVAL;
	if (enc->finished)
		return 0;
	/* What the resampler still holds (up to ~20 ms with libsoxr) is the
	 * end of the programme too: out before the codec's own end. */
	if (enc->rs != NULL) {
		size_t out_n = 0;

		rc = resampler_flush(
		    enc->rs, enc->rs_buf, enc->rs_cap_frames, &out_n);
		if (rc == 0)
			rc = encode_converted(enc, enc->rs_buf, out_n, cb, arg);
		(void)rc; /* the codec's own end still comes */
	}
	enc->finished = true;
	if (enc->opus != NULL)
		return opus_finish(enc, cb, arg);
	if (enc->lame != NULL)
		return mp3_emit(enc,
		    lame_encode_flush(
			enc->lame, enc->mp3_out, (int)enc->mp3_out_bytes),
		    true, cb, arg);
	vorbis_analysis_wrote(&enc->vd, 0);
	rc = drain(enc, cb, arg, &last);
	if (last != NULL) {
		/* Not yet published, so it may still be changed. */
		last->eos = true;
		cb(last, arg);
		packet_unref(last);
	}
	return rc;
}

struct stream_headers *
encoder_headers(struct encoder *enc)
{
	return enc != NULL ? enc->headers : NULL;
}

void
encoder_levels(const struct encoder *enc, double *peak_dbfs, double *rms_dbfs)
{
	*peak_dbfs = enc != NULL ? enc->meter.peak_dbfs : -120.0;
	*rms_dbfs = enc != NULL ? enc->meter.rms_dbfs : -120.0;
}

/* Input frames that give the encoder `lacks` more samples at its rate.
 * The resampler puts out what it holds now plus the new input, less what
 * it holds then; that moves (resampler_held()), so count on it holding
 * then the most it ever held: the page's last sample is out, at the cost
 * of a few ms of input more than it needed (libsoxr: up to ~17 ms). */
static int64_t
in_frames_for(const struct encoder *enc, int64_t lacks)
{
	size_t held, most;

	if (enc->rs != NULL) {
		held = resampler_held(enc->rs, &most);
		lacks += (int64_t)most - (int64_t)held;
	}
	return lacks * enc->in_rate_hz / enc->rate_hz + 1;
}

int64_t
encoder_frames_until(const struct encoder *enc, int64_t granule, bool then_next)
{
	int64_t lacks, step, need;

	if (enc == NULL || enc->out_granule < 0 || enc->finished)
		return 0;
	step = enc->vorbis_step; /* 0: not Vorbis */
	if (step > 0) {
		/* libvorbis puts out the packet of granule g once g plus a
		 * long block is in (the next window's far edge), and the
		 * next long packet half a long block later: counted from
		 * the last one out, on that grid. */
		if (granule > enc->out_granule)
			need = enc->out_granule +
			       (granule - enc->out_granule + step - 1) / step *
				   step;
		else if (then_next && enc->out_granule - granule < step)
			need = enc->out_granule; /* it reached granule */
		else
			return 0;
		if (then_next)
			need += step;
		lacks = need + 2 * step - enc->samples;
		if (lacks <= 0)
			return 0;
		if (enc->in_rate_hz == enc->rate_hz)
			return lacks;
		return in_frames_for(enc, lacks);
	}
	/* Packets follow the input with the delay the encoder has now (its
	 * lookahead), so one reaching granule needs that much more input
	 * than the last one made; the caller's margin covers the delay's
	 * changes. */
	lacks = granule - enc->out_granule;
	if (lacks <= 0)
		return 0;
	return in_frames_for(enc, lacks);
}

int64_t
encoder_samples(const struct encoder *enc)
{
	return enc != NULL ? enc->samples : 0;
}
