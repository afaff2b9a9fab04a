/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for Ogg Opus: OpusHead and OpusTags bytes (opus_header.c),
 * the Opus encoder's packets (durations, granule count, end trimming), and
 * the muxer's granule arithmetic (muxer.c): a stream from the encoder's
 * start keeps the encoder's pre-skip and granules; a stream cut from the
 * middle (reset, gap) starts with 80 ms of pre-roll and pre-skip to match;
 * a chain change ends the old stream with EOS and starts the new one with
 * the old one's last packets as pre-roll, so its first audible sample is the
 * one after the old stream's last. Pages are read back with libogg and the
 * audio decoded with libopus.
 *
 * Threads: single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ogg/ogg.h>
#include <opus.h>

#include "encoder.h"
#include "muxer.h"
#include "opus_header.h"
#include "packet.h"

#define MAX_STREAMS 8
#define MAX_PKTS 4096

/* ---- helpers -------------------------------------------------------- */

struct sink {
	unsigned char *buf;
	size_t len;
	size_t cap;
};

static int
sink_write(const unsigned char *data, size_t bytes, void *arg)
{
	struct sink *s = arg;

	if (s->len + bytes > s->cap) {
		s->cap = (s->len + bytes) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, data, bytes);
	s->len += bytes;
	return 0;
}

struct pktlist {
	struct packet *p[MAX_PKTS];
	size_t n;
};

static void
pktlist_cb(struct packet *p, void *arg)
{
	struct pktlist *l = arg;

	assert_true(l->n < MAX_PKTS);
	l->p[l->n++] = packet_ref(p);
}

static void
pktlist_free(struct pktlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		packet_unref(l->p[i]);
	l->n = 0;
}

/*
 * Encodes seconds of a 1 kHz tone at in_rate_hz mono into Opus (mono, 20
 * ms frames). tags_at >= 0: the title changes after that many frames.
 * Returns the frames submitted.
 */
static size_t
encode(struct pktlist *l, int in_rate_hz, double seconds, int64_t tags_at,
    bool finish, int *lookahead)
{
	struct encoding_config cfg;
	char name[] = "op", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	size_t frames = (size_t)(seconds * in_rate_hz), i, done, n;
	float *pcm;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = name;
	cfg.codec = CODEC_OPUS;
	cfg.rate_hz = 48000;
	cfg.channels = 1;
	cfg.bitrate_kbps = 32;
	cfg.complexity = 5;
	cfg.frame_ms = 20;
	enc =
	    encoder_new(&cfg, in_rate_hz, 1, "First", "Desk", err, sizeof(err));
	assert_non_null(enc);
	if (lookahead != NULL)
		*lookahead = encoder_headers(enc)->preskip;
	pcm = calloc(frames + 1, sizeof(float));
	assert_non_null(pcm);
	for (i = 0; i < frames; i++)
		pcm[i] = (float)(0.3 * sin(2.0 * M_PI * 1000.0 * (double)i /
					   in_rate_hz));
	for (done = 0; done < frames; done += n) {
		n = frames - done < 1000 ? frames - done : 1000;
		if (tags_at >= 0 && done + n > (size_t)tags_at) {
			if (done < (size_t)tags_at) {
				n = (size_t)tags_at - done;
			} else {
				assert_int_equal(
				    encoder_set_tags(enc, "Second", "Desk"), 1);
				tags_at = -1;
			}
		}
		assert_int_equal(
		    encoder_write(enc, pcm + done, n, pktlist_cb, l), 0);
	}
	if (finish)
		assert_int_equal(encoder_finish(enc, pktlist_cb, l), 0);
	free(pcm);
	encoder_free(enc);
	return frames;
}

/* One logical stream as read back from the pages. */
struct stream {
	uint32_t serial;
	bool bos;
	bool eos;
	int preskip;
	char title[64];
	int64_t first_granule; /* of the first audio page */
	int64_t first_page_samples;
	int64_t last_granule;
	int64_t samples; /* sum of audio packet durations */
	size_t n_audio;
	int64_t decoded; /* decoded, pre-skip and end trimming applied */
	float *pcm;	 /* decoded (mono) */
};

struct parsed {
	struct stream s[MAX_STREAMS];
	size_t n;
};

static void
parsed_free(struct parsed *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		free(ps->s[i].pcm);
}

/* Reads every page of buf (chained streams one after another). */
static void
parse(const struct sink *snk, struct parsed *ps)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op;
	struct stream *st = NULL;
	OpusDecoder *dec = NULL;
	float *tmp = malloc(5760 * sizeof(float));
	int64_t page_samples;
	size_t cap = 0;
	int rc, n;

	assert_non_null(tmp);
	memset(ps, 0, sizeof(*ps));
	ogg_sync_init(&oy);
	memcpy(ogg_sync_buffer(&oy, (long)snk->len), snk->buf, snk->len);
	ogg_sync_wrote(&oy, (long)snk->len);
	while (ogg_sync_pageout(&oy, &og) == 1) {
		if (ogg_page_bos(&og)) {
			assert_true(ps->n < MAX_STREAMS);
			if (st != NULL)
				ogg_stream_clear(&os);
			st = &ps->s[ps->n++];
			st->serial = (uint32_t)ogg_page_serialno(&og);
			st->bos = true;
			st->preskip = -1;
			st->first_granule = -1;
			ogg_stream_init(&os, ogg_page_serialno(&og));
			if (dec != NULL)
				opus_decoder_destroy(dec);
			dec = opus_decoder_create(48000, 1, &rc);
			assert_int_equal(rc, OPUS_OK);
			cap = 0;
		}
		assert_non_null(st);
		assert_int_equal(ogg_page_serialno(&og), (int)st->serial);
		assert_int_equal(ogg_stream_pagein(&os, &og), 0);
		page_samples = 0;
		while ((rc = ogg_stream_packetout(&os, &op)) != 0) {
			assert_int_equal(rc, 1);
			if (op.bytes >= 8 &&
			    memcmp(op.packet, "OpusHead", 8) == 0) {
				st->preskip = opus_header_preskip(
				    op.packet, (size_t)op.bytes);
				continue;
			}
			if (op.bytes >= 8 &&
			    memcmp(op.packet, "OpusTags", 8) == 0) {
				const unsigned char *q = op.packet + 8;
				uint32_t vlen = (uint32_t)q[0] | (uint32_t)q[1]
								     << 8;
				/* ENCODER=relay comes first, then TITLE=. */
				q += 4 + vlen + 4;
				q += 4 + 13;
				n = (q[0] | q[1] << 8) - 6; /* "TITLE=" */
				snprintf(st->title, sizeof(st->title), "%.*s",
				    n, (const char *)q + 4 + 6);
				continue;
			}
			n = opus_packet_get_nb_samples(
			    op.packet, (opus_int32)op.bytes, 48000);
			assert_true(n > 0);
			page_samples += n;
			st->samples += n;
			st->n_audio++;
			n = opus_decode_float(
			    dec, op.packet, (opus_int32)op.bytes, tmp, 5760, 0);
			assert_true(n > 0);
			st->pcm = realloc(
			    st->pcm, (size_t)(st->samples + 1) * sizeof(float));
			assert_non_null(st->pcm);
			memcpy(st->pcm + cap, tmp, (size_t)n * sizeof(float));
			cap += (size_t)n;
		}
		if (page_samples > 0 && st->first_granule < 0) {
			st->first_granule = ogg_page_granulepos(&og);
			st->first_page_samples = page_samples;
		}
		if (ogg_page_granulepos(&og) >= 0)
			st->last_granule = ogg_page_granulepos(&og);
		if (ogg_page_eos(&og))
			st->eos = true;
	}
	/* Pre-skip and end trimming, as a player applies them. */
	for (size_t i = 0; i < ps->n; i++) {
		struct stream *s = &ps->s[i];
		int64_t len = s->last_granule - s->preskip;
		if (s->pcm == NULL || len <= 0) {
			s->decoded = 0;
			continue;
		}
		if (len > s->samples - s->preskip)
			len = s->samples - s->preskip;
		memmove(
		    s->pcm, s->pcm + s->preskip, (size_t)len * sizeof(float));
		s->decoded = len;
	}
	if (st != NULL)
		ogg_stream_clear(&os);
	if (dec != NULL)
		opus_decoder_destroy(dec);
	ogg_sync_clear(&oy);
	free(tmp);
}

static void
mux_all(struct muxer *m, struct pktlist *l, size_t from, size_t to,
    struct sink *snk)
{
	size_t i;

	for (i = from; i < to; i++)
		assert_int_equal(
		    muxer_packet(m, l->p[i], false, sink_write, snk), 0);
}

/* Root mean square difference of two signals, after aligning b by up to
 * +-max_shift samples: how alike two decodes of the same audio are. */
static double
best_rms_diff(
    const float *a, const float *b, int64_t n, int max_shift, int *shift_out)
{
	double best = 1e9;
	int s;

	for (s = -max_shift; s <= max_shift; s++) {
		double acc = 0;
		int64_t i, cnt = 0;
		for (i = max_shift; i < n - max_shift; i++) {
			double d = (double)a[i] - (double)b[i + s];
			acc += d * d;
			cnt++;
		}
		acc = sqrt(acc / (double)(cnt > 0 ? cnt : 1));
		if (acc < best) {
			best = acc;
			*shift_out = s;
		}
	}
	return best;
}

/* ---- opus_header ---------------------------------------------------- */

static void
test_head_bytes(void **state)
{
	unsigned char b[32];
	static const unsigned char want[19] = {'O', 'p', 'u', 's', 'H', 'e',
	    'a', 'd', 1, 2, 0x38, 0x01, 0x44, 0xac, 0, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(opus_header_head(b, sizeof(b), 2, 312, 44100), 19);
	assert_memory_equal(b, want, 19);
	assert_int_equal(opus_header_preskip(b, 19), 312);
	assert_int_equal(opus_header_set_preskip(b, 19, 3840), 0);
	assert_int_equal(opus_header_preskip(b, 19), 3840);
	assert_int_equal(b[10], 0x00);
	assert_int_equal(b[11], 0x0f);
	/* Only the pre-skip changed. */
	assert_memory_equal(b + 12, want + 12, 7);

	assert_int_equal(opus_header_head(b, 18, 1, 0, 48000), -ENOSPC);
	assert_int_equal(opus_header_head(b, 19, 3, 0, 48000), -EINVAL);
	assert_int_equal(opus_header_head(b, 19, 1, 65536, 48000), -EINVAL);
	assert_int_equal(opus_header_preskip(b, 18), -EINVAL);
	memcpy(b, "OpusTags", 8);
	assert_int_equal(opus_header_preskip(b, 19), -EINVAL);
	assert_int_equal(opus_header_set_preskip(b, 19, 1), -EINVAL);
}

static void
test_tags_bytes(void **state)
{
	unsigned char b[128];
	static const unsigned char want[] = "OpusTags"
					    "\x03\0\0\0"
					    "lib"
					    "\x03\0\0\0"
					    "\x0d\0\0\0"
					    "ENCODER=relay"
					    "\x0c\0\0\0"
					    "TITLE=News\xc3\xa9"
					    "\x08\0\0\0"
					    "ARTIST=D";
	int n;

	(void)state;
	n = opus_header_tags(b, sizeof(b), "lib", "News\xc3\xa9", "D");
	assert_int_equal(n, (int)sizeof(want) - 1);
	assert_memory_equal(b, want, sizeof(want) - 1);
	/* No title or artist: only ENCODER=relay. */
	n = opus_header_tags(b, sizeof(b), "lib", "", NULL);
	assert_int_equal(n, 8 + 4 + 3 + 4 + 4 + 13);
	assert_int_equal(b[15], 1);
	/* Too small at every cut: never a partial success. */
	for (size_t len = 0; len < sizeof(want) - 1; len++)
		assert_int_equal(
		    opus_header_tags(b, len, "lib", "News\xc3\xa9", "D"),
		    -ENOSPC);
}

/* ---- encoder ---------------------------------------------------------- */

static void
test_encoder_granules(void **state)
{
	struct pktlist l = {0};
	int lookahead = 0;
	size_t frames, i;
	int64_t want_end;

	(void)state;
	/* 1.01 s at 48 kHz: not a whole number of 20 ms frames. */
	frames = encode(&l, 48000, 1.01, -1, true, &lookahead);
	assert_true(lookahead > 0 && lookahead < 960);
	want_end = (int64_t)frames + lookahead;
	assert_true(l.n >= 2);
	for (i = 0; i < l.n; i++) {
		struct packet *p = l.p[i];
		assert_int_equal(p->samples, 960);
		assert_int_equal(p->packetno, (int64_t)i);
		assert_true(p->headers->opus);
		assert_int_equal(p->headers->rate_hz, 48000);
		assert_int_equal(p->headers->preskip, lookahead);
		assert_int_equal(p->eos, i == l.n - 1);
		if (i + 1 < l.n)
			assert_int_equal(p->granulepos, (int64_t)(i + 1) * 960);
	}
	/* The end is trimmed to the samples sent, within the last frame. */
	assert_int_equal(l.p[l.n - 1]->granulepos, want_end);
	assert_true((int64_t)l.n * 960 >= want_end);
	assert_true((int64_t)(l.n - 1) * 960 < want_end);
	pktlist_free(&l);
}

/* ---- muxer ------------------------------------------------------------ */

/* From the encoder's first packet: the encoder's pre-skip and granules,
 * and the decoded length is exactly what was sent. */
static void
test_stream_from_start(void **state)
{
	struct pktlist l = {0};
	struct sink snk = {0};
	struct parsed ps;
	struct muxer *m = muxer_new(500);
	int lookahead;
	size_t frames;

	(void)state;
	frames = encode(&l, 48000, 2.0, -1, true, &lookahead);
	mux_all(m, &l, 0, l.n, &snk);
	parse(&snk, &ps);
	assert_int_equal(ps.n, 1);
	assert_true(ps.s[0].bos && ps.s[0].eos);
	assert_int_equal(ps.s[0].preskip, lookahead);
	assert_string_equal(ps.s[0].title, "First");
	assert_int_equal(ps.s[0].last_granule, (int64_t)frames + lookahead);
	assert_int_equal(ps.s[0].decoded, (int64_t)frames);
	/* RFC 7845 4: the first audio page's granule covers its packets. */
	assert_int_equal(ps.s[0].first_granule, ps.s[0].first_page_samples);
	parsed_free(&ps);
	muxer_free(m);
	free(snk.buf);
	pktlist_free(&l);
}

/* A 44.1 kHz programme: resampled to 48 kHz, still exact to the sample
 * count the resampler delivered (within its few-ms latency). */
static void
test_stream_resampled_length(void **state)
{
	struct pktlist l = {0};
	struct sink snk = {0};
	struct parsed ps;
	struct muxer *m = muxer_new(500);
	size_t frames;
	int64_t want;

	(void)state;
	frames = encode(&l, 44100, 2.0, -1, true, NULL);
	want = (int64_t)frames * 48000 / 44100;
	mux_all(m, &l, 0, l.n, &snk);
	parse(&snk, &ps);
	assert_int_equal(ps.n, 1);
	assert_true(ps.s[0].decoded <= want);
	assert_true(ps.s[0].decoded >= want - 960);
	parsed_free(&ps);
	muxer_free(m);
	free(snk.buf);
	pktlist_free(&l);
}

/* A reset in the middle (a new connection): the new stream waits for 80
 * ms of packets, which become pre-roll; granules are rebased to them. */
static void
test_reset_preroll(void **state)
{
	struct pktlist l = {0};
	struct sink snk = {0};
	struct parsed ps;
	struct muxer *m = muxer_new(500);
	size_t cut = 50, i;

	(void)state;
	encode(&l, 48000, 3.0, -1, true, NULL);
	mux_all(m, &l, 0, cut, &snk);
	muxer_reset(m);
	free(snk.buf);
	memset(&snk, 0, sizeof(snk));
	/* Three packets (60 ms) are not enough pre-roll: nothing written. */
	mux_all(m, &l, cut, cut + 3, &snk);
	assert_int_equal(snk.len, 0);
	assert_int_equal(muxer_page_start(m), -1);
	mux_all(m, &l, cut + 3, l.n, &snk);
	parse(&snk, &ps);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.s[0].preskip, OPUS_HEADER_PREROLL_SAMPLES);
	assert_int_equal(ps.s[0].first_granule, ps.s[0].first_page_samples);
	assert_int_equal((int64_t)ps.s[0].n_audio, (int64_t)(l.n - cut));
	/* Last granule: the encoder's end, rebased to packet cut's start. */
	assert_int_equal(ps.s[0].last_granule,
	    l.p[l.n - 1]->granulepos - (int64_t)cut * 960);
	/* The decoded audio is the tone from packet cut + 4 on. */
	assert_true(ps.s[0].decoded > 0);
	for (i = 0; i < 10; i++)
		assert_true(fabsf(ps.s[0].pcm[1000 + i]) < 0.5f);
	parsed_free(&ps);
	muxer_free(m);
	free(snk.buf);
	pktlist_free(&l);
}

/*
 * A title change: the old stream ends with EOS after the last packet with
 * the old tags; the new one starts with pre-roll = the old stream's last
 * 80 ms, so old decoded + new decoded is the continuous programme: the
 * same length as one unbroken decode, and the same audio where they meet.
 */
static void
test_chain_change_continuous(void **state)
{
	struct pktlist l = {0};
	struct sink snk = {0}, ref = {0};
	struct parsed ps, pr;
	struct muxer *m = muxer_new(500), *mr = muxer_new(500);
	size_t k = 0, i;
	int shift = 99;
	double diff;
	float *joined;

	(void)state;
	encode(&l, 48000, 3.0, 48000, true, NULL);
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.p[i]->headers->title, "Second") == 0) {
			k = i;
			break;
		}
	}
	assert_true(k > 10);
	mux_all(m, &l, 0, l.n, &snk);
	parse(&snk, &ps);
	assert_int_equal(ps.n, 2);
	assert_true(ps.s[0].eos);
	assert_true(ps.s[1].bos && ps.s[1].eos);
	assert_string_equal(ps.s[0].title, "First");
	assert_string_equal(ps.s[1].title, "Second");
	assert_int_equal((int64_t)ps.s[0].n_audio, (int64_t)k);
	/* Pre-roll: whole packets, at least 80 ms. */
	assert_true(ps.s[1].preskip >= OPUS_HEADER_PREROLL_SAMPLES);
	assert_int_equal(ps.s[1].preskip % 960, 0);
	assert_int_equal((int64_t)ps.s[1].n_audio,
	    (int64_t)(l.n - k) + ps.s[1].preskip / 960);
	/* The new stream's first audible sample is packet k's. */
	assert_int_equal(ps.s[1].first_granule, ps.s[1].first_page_samples);
	assert_int_equal(ps.s[1].last_granule - ps.s[1].preskip,
	    l.p[l.n - 1]->granulepos - (int64_t)k * 960);

	/* The same packets in one stream (follow_tags off) for reference. */
	muxer_set_follow_tags(mr, false);
	mux_all(mr, &l, 0, l.n, &ref);
	parse(&ref, &pr);
	assert_int_equal(pr.n, 1);
	assert_int_equal(ps.s[0].decoded + ps.s[1].decoded, pr.s[0].decoded);
	joined = malloc((size_t)pr.s[0].decoded * sizeof(float));
	assert_non_null(joined);
	memcpy(joined, ps.s[0].pcm, (size_t)ps.s[0].decoded * sizeof(float));
	memcpy(joined + ps.s[0].decoded, ps.s[1].pcm,
	    (size_t)ps.s[1].decoded * sizeof(float));
	/* 40 ms either side of the join: aligned, and nearly identical. */
	diff = best_rms_diff(pr.s[0].pcm + ps.s[0].decoded - 1920,
	    joined + ps.s[0].decoded - 1920, 3840, 16, &shift);
	assert_int_equal(shift, 0);
	assert_true(diff < 0.02);
	free(joined);
	parsed_free(&ps);
	parsed_free(&pr);
	muxer_free(m);
	muxer_free(mr);
	free(snk.buf);
	free(ref.buf);
	pktlist_free(&l);
}

/* A gap (lost packets): no EOS, then a new stream with pre-roll. */
static void
test_gap_preroll(void **state)
{
	struct pktlist l = {0};
	struct sink snk = {0};
	struct parsed ps;
	struct muxer *m = muxer_new(500);
	size_t i;

	(void)state;
	encode(&l, 48000, 2.0, -1, true, NULL);
	mux_all(m, &l, 0, 30, &snk);
	for (i = 40; i < l.n; i++)
		assert_int_equal(
		    muxer_packet(m, l.p[i], i == 40, sink_write, &snk), 0);
	parse(&snk, &ps);
	assert_int_equal(ps.n, 2);
	assert_false(ps.s[0].eos);
	assert_true(ps.s[1].eos);
	assert_int_equal(ps.s[1].preskip, OPUS_HEADER_PREROLL_SAMPLES);
	assert_int_equal((int64_t)ps.s[1].n_audio, (int64_t)(l.n - 40));
	parsed_free(&ps);
	muxer_free(m);
	free(snk.buf);
	pktlist_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_head_bytes),
	    cmocka_unit_test(test_tags_bytes),
	    cmocka_unit_test(test_encoder_granules),
	    cmocka_unit_test(test_stream_from_start),
	    cmocka_unit_test(test_stream_resampled_length),
	    cmocka_unit_test(test_reset_preroll),
	    cmocka_unit_test(test_chain_change_continuous),
	    cmocka_unit_test(test_gap_preroll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
