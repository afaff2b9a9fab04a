/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for muxer.c: stream starts (BOS, three headers, audio on a
 * fresh page), the page flush bound on digital silence, granule rebasing,
 * chain changes that lose no block, gaps and resets that start a new
 * decodable stream, muxer_end, and error propagation from the callback.
 * Packets come from a real encoder; pages are checked with libogg and the
 * bytes decoded with libvorbisfile.
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
#define OV_EXCLUDE_STATIC_CALLBACKS
#include <vorbis/vorbisfile.h>

#include "encoder.h"
#include "muxer.h"
#include "packet.h"
#include "packet_queue.h"

#define RATE_HZ 44100
#define MAX_STREAMS 8

/* Growing byte buffer that the muxer writes pages into. */
struct sink {
	unsigned char *buf;
	size_t len;
	size_t cap;
	int calls;
	int fail_with; /* nonzero: return this instead of storing */
};

static int
sink_write(const unsigned char *data, size_t bytes, void *arg)
{
	struct sink *s = arg;
	size_t cap;

	s->calls++;
	if (s->fail_with != 0)
		return s->fail_with;
	if (s->len + bytes > s->cap) {
		cap = s->cap > 0 ? s->cap : 65536;
		while (cap < s->len + bytes)
			cap *= 2;
		s->buf = realloc(s->buf, cap);
		assert_non_null(s->buf);
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, bytes);
	s->len += bytes;
	return 0;
}

/* Packets captured from an encoder (one reference each). */
struct pktlist {
	struct packet **p;
	size_t n;
	size_t cap;
};

static void
pktlist_cb(struct packet *p, void *arg)
{
	struct pktlist *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap > 0 ? l->cap * 2 : 256;
		l->p = realloc(l->p, l->cap * sizeof(*l->p));
		assert_non_null(l->p);
	}
	l->p[l->n++] = packet_ref(p);
}

static void
pktlist_free(struct pktlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		packet_unref(l->p[i]);
	free(l->p);
	memset(l, 0, sizeof(*l));
}

/*
 * Encodes seconds of a 440 Hz tone (or digital silence) at RATE_HZ stereo
 * and quality q. With tags_at >= 0 the title changes after that many
 * frames. With finish, the last packet is eos.
 */
static void
encode(struct pktlist *l, double seconds, bool silence, double q,
    int64_t tags_at, bool finish)
{
	struct encoding_config cfg;
	char name[] = "test", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	size_t frames = (size_t)(seconds * RATE_HZ), i, done, n;
	float *pcm;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = name;
	cfg.rate_hz = RATE_HZ;
	cfg.channels = 2;
	cfg.quality = q;
	enc = encoder_new(&cfg, RATE_HZ, 2, "First", "Desk", err, sizeof(err));
	assert_non_null(enc);
	pcm = calloc(frames * 2 + 2, sizeof(float));
	assert_non_null(pcm);
	for (i = 0; i < frames && !silence; i++) {
		pcm[2 * i] = (float)(0.4 * sin(2.0 * M_PI * 440.0 * (double)i /
		    RATE_HZ));
		pcm[2 * i + 1] = pcm[2 * i];
	}
	for (done = 0; done < frames; done += n) {
		n = frames - done < 4410 ? frames - done : 4410;
		if (tags_at >= 0 && done <= (size_t)tags_at &&
		    done + n > (size_t)tags_at) {
			n = (size_t)tags_at - done;
			if (n == 0) {
				assert_int_equal(encoder_set_tags(enc,
				    "Second", "Desk"), 1);
				tags_at = -1;
				n = frames - done < 4410 ? frames - done : 4410;
			}
		}
		assert_int_equal(encoder_write(enc, pcm + 2 * done, n,
		    pktlist_cb, l), 0);
	}
	if (finish)
		assert_int_equal(encoder_finish(enc, pktlist_cb, l), 0);
	free(pcm);
	encoder_free(enc);
}

/* Feeds packets [from, to) to the muxer; gap on the first if asked. */
static void
feed(struct muxer *m, const struct pktlist *l, size_t from, size_t to,
    bool gap_first, struct sink *s)
{
	size_t i;

	for (i = from; i < to; i++)
		assert_int_equal(muxer_packet(m, l->p[i], gap_first &&
		    i == from, sink_write, s), 0);
}

/* What the page parser found in one logical stream. */
struct stream_info {
	uint32_t serial;
	int64_t pages;
	int64_t bos_pages;
	int64_t eos_pages;
	int64_t packets;
	int64_t final_granule;
	int64_t max_span; /* largest granule step between audio pages */
	bool granules_increase;
	bool headers_ok;	/* packets 0..2 are ident, comment, setup */
	bool audio_fresh_page;	/* a page ends exactly after packet 2 */
	bool bos_page_alone;	/* page 0 holds exactly the ident header */
	unsigned char first_audio[64]; /* start of packet 3 */
	size_t first_audio_bytes;
	unsigned char last_audio[64];
	size_t last_audio_bytes;
};

struct parse {
	int64_t pages;
	int nstreams;
	struct stream_info st[MAX_STREAMS];
};

static void
parse_pages(const unsigned char *buf, size_t len, struct parse *r)
{
	static const char *const magic[3] = { "\x01vorbis", "\x03vorbis",
		"\x05vorbis" };
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op;
	struct stream_info *si = NULL;
	int64_t g, last_g = 0;
	bool os_ready = false;
	char *dst;

	memset(r, 0, sizeof(*r));
	ogg_sync_init(&oy);
	dst = ogg_sync_buffer(&oy, (long)len);
	memcpy(dst, buf, len);
	ogg_sync_wrote(&oy, (long)len);
	while (ogg_sync_pageout(&oy, &og) == 1) {
		r->pages++;
		if (ogg_page_bos(&og)) {
			assert_true(r->nstreams < MAX_STREAMS);
			si = &r->st[r->nstreams++];
			si->serial = (uint32_t)ogg_page_serialno(&og);
			si->granules_increase = true;
			si->headers_ok = true;
			if (os_ready)
				ogg_stream_clear(&os);
			ogg_stream_init(&os, ogg_page_serialno(&og));
			os_ready = true;
			last_g = 0;
		}
		/* Every page belongs to the stream begun by the last BOS. */
		assert_non_null(si);
		assert_int_equal((uint32_t)ogg_page_serialno(&og), si->serial);
		si->pages++;
		if (ogg_page_bos(&og))
			si->bos_pages++;
		if (ogg_page_eos(&og))
			si->eos_pages++;
		assert_int_equal(ogg_stream_pagein(&os, &og), 0);
		while (ogg_stream_packetout(&os, &op) == 1) {
			if (si->packets < 3) {
				if ((size_t)op.bytes < 7 || memcmp(op.packet,
				    magic[si->packets], 7) != 0)
					si->headers_ok = false;
			} else {
				if (si->packets == 3) {
					si->first_audio_bytes =
					    (size_t)op.bytes;
					memcpy(si->first_audio, op.packet,
					    (size_t)op.bytes < 64 ?
					    (size_t)op.bytes : 64);
				}
				si->last_audio_bytes = (size_t)op.bytes;
				memcpy(si->last_audio, op.packet,
				    (size_t)op.bytes < 64 ? (size_t)op.bytes :
				    64);
			}
			si->packets++;
		}
		if (si->pages == 1 && si->packets == 1)
			si->bos_page_alone = true;
		if (si->packets == 3)
			si->audio_fresh_page = true;
		g = (int64_t)ogg_page_granulepos(&og);
		if (g < 0)
			continue;
		if (si->packets > 3) {
			if (g <= last_g && si->packets > 4)
				si->granules_increase = false;
			if (g - last_g > si->max_span)
				si->max_span = g - last_g;
		}
		last_g = g;
		si->final_granule = g;
	}
	if (os_ready)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
}

/* libvorbisfile over a memory buffer. */
struct memfile {
	const unsigned char *buf;
	size_t len;
	size_t pos;
};

static size_t
mem_read(void *ptr, size_t size, size_t nmemb, void *src)
{
	struct memfile *f = src;
	size_t want = size * nmemb, left = f->len - f->pos;

	if (size == 0)
		return 0;
	if (want > left)
		want = left - left % size;
	memcpy(ptr, f->buf + f->pos, want);
	f->pos += want;
	return want / size;
}

static int
mem_seek(void *src, ogg_int64_t offset, int whence)
{
	struct memfile *f = src;
	int64_t pos;

	switch (whence) {
	case SEEK_SET:
		pos = offset;
		break;
	case SEEK_CUR:
		pos = (int64_t)f->pos + offset;
		break;
	case SEEK_END:
		pos = (int64_t)f->len + offset;
		break;
	default:
		return -1;
	}
	if (pos < 0 || pos > (int64_t)f->len)
		return -1;
	f->pos = (size_t)pos;
	return 0;
}

static long
mem_tell(void *src)
{
	struct memfile *f = src;

	return (long)f->pos;
}

/* Decodes everything; returns frames decoded, *streams = ov_streams. */
static int64_t
decode_frames(const unsigned char *buf, size_t len, long *streams,
    char *title2, size_t title2_len)
{
	struct memfile f = { buf, len, 0 };
	ov_callbacks cbs = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	vorbis_comment *vc;
	const char *t;
	float **pcm;
	int64_t frames = 0;
	long n;
	int link;

	assert_int_equal(ov_open_callbacks(&f, &vf, NULL, 0, cbs), 0);
	*streams = ov_streams(&vf);
	if (title2 != NULL && *streams >= 2) {
		vc = ov_comment(&vf, 1);
		t = vc != NULL ? vorbis_comment_query(vc, "TITLE", 0) : NULL;
		snprintf(title2, title2_len, "%s", t != NULL ? t : "");
	}
	while ((n = ov_read_float(&vf, &pcm, 4096, &link)) != 0) {
		assert_true(n > 0);
		frames += n;
	}
	ov_clear(&vf);
	return frames;
}

static void
check_stream_start(const struct stream_info *si)
{
	assert_int_equal(si->bos_pages, 1);
	assert_true(si->headers_ok);
	assert_true(si->bos_page_alone);
	assert_true(si->audio_fresh_page);
	assert_true(si->granules_increase);
}

static void
run_page_bound(int64_t max_page_ms)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	int64_t limit = max_page_ms * RATE_HZ / 1000, total;
	long streams;

	encode(&l, 30.0, true, 4.0, -1, true);
	total = l.p[l.n - 1]->granulepos;
	assert_int_equal(total, 30 * RATE_HZ);
	m = muxer_new(max_page_ms);
	assert_non_null(m);
	feed(m, &l, 0, l.n, false, &s);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 1);
	check_stream_start(&r.st[0]);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, total);
	assert_int_equal((int64_t)muxer_pages(m), r.pages);
	assert_int_equal(s.calls, (int)r.pages);
	/* The bound holds, and pages are not needlessly small either. */
	assert_true(r.st[0].max_span <= limit);
	assert_true(r.st[0].max_span >= limit - 2048);
	assert_true(r.pages >= 30000 / max_page_ms);
	assert_int_equal(decode_frames(s.buf, s.len, &streams, NULL, 0),
	    total);
	assert_int_equal(streams, 1);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_page_bound_silence(void **state)
{
	(void)state;
	run_page_bound(500);
	run_page_bound(100);
}

/*
 * Page ends of a muxer output: ends[i] = number of audio packets complete
 * when page i ends (audio pages only; the stream's first three packets are
 * the headers).
 */
static size_t
audio_page_ends(const unsigned char *buf, size_t len, int64_t *ends, size_t max)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op;
	int64_t packets = 0;
	size_t n = 0;
	bool init = false;
	char *dst;

	ogg_sync_init(&oy);
	dst = ogg_sync_buffer(&oy, (long)len);
	memcpy(dst, buf, len);
	ogg_sync_wrote(&oy, (long)len);
	while (ogg_sync_pageout(&oy, &og) == 1) {
		if (!init) {
			ogg_stream_init(&os, ogg_page_serialno(&og));
			init = true;
		}
		assert_int_equal(ogg_stream_pagein(&os, &og), 0);
		while (ogg_stream_packetout(&os, &op) == 1)
			packets++;
		if (packets > 3 && n < max)
			ends[n++] = packets - 3;
	}
	if (init)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
	return n;
}

/*
 * Icecast pages: a stream cut from a running encoder (as after a
 * reconnection) is paged where Icecast 2.4.4 re-pages it. Icecast's rule,
 * written out here as format_vorbis.c has it: each packet is added to its
 * page when the next one arrives (the first adds no samples), and the page
 * is flushed once the samples added since the last page exceed rate/2. So
 * each of our pages must end with the packet that makes Icecast flush, and
 * no page may end anywhere else (but the last): more pages than Icecast's
 * only keep its source socket busy, which starves its listeners.
 */
static void
run_icecast_pages(bool silence, double q)
{
	struct pktlist l = {0};
	struct sink s = {0};
	struct muxer *m;
	int64_t ends[512], want[512], base, samples = 0, prev = 0;
	size_t from = 157, n_ends, n_want = 0, i, j, k;

	encode(&l, 20.0, silence, q, -1, true);
	assert_true(l.n > from + 100);
	m = muxer_new(500);
	assert_non_null(m);
	muxer_set_icecast_pages(m, true);
	feed(m, &l, from, l.n, false, &s);
	base = l.p[from]->granulepos;
	/* Packet k (0 = first audio) is added when packet k + 1 arrives. */
	for (k = 1; from + k < l.n; k++) {
		int64_t g = l.p[from + k - 1]->granulepos - base;
		if (k > 1)
			samples += g - prev;
		prev = g;
		if (samples > RATE_HZ / 2) {
			assert_true(n_want < 512);
			want[n_want++] = (int64_t)k + 1; /* packets up to k */
			samples = 0;
		}
	}
	n_ends = audio_page_ends(s.buf, s.len, ends, 512);
	assert_true(n_want >= 30);
	/* Every Icecast flush has our page ending right there... */
	for (i = 0, j = 0; i < n_want; i++) {
		while (j < n_ends && ends[j] < want[i])
			j++;
		assert_true(j < n_ends);
		assert_int_equal(ends[j], want[i]);
	}
	/* ...and no other page ends, but the stream's last one. */
	assert_true(n_ends <= n_want + 1);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_icecast_pages(void **state)
{
	(void)state;
	run_icecast_pages(false, 2.0);
	run_icecast_pages(true, 4.0);
}

/* muxer_page_due(): the first packet whose arrival lets the open page be
 * written; feeding packets one by one, a page is written only when the
 * packet fed reaches the due point computed before it, and that page ends
 * with the packet just fed: it is not held back for the next one. */
static void
test_icecast_page_due(void **state)
{
	struct pktlist l = {0};
	struct sink s = {0};
	struct muxer *m;
	size_t i, from = 100;
	int64_t due, ends[512];
	size_t n_ends;
	int pages_before, written = 0;

	(void)state;
	encode(&l, 20.0, false, 2.0, -1, false);
	m = muxer_new(500);
	assert_non_null(m);
	muxer_set_icecast_pages(m, true);
	assert_int_equal(muxer_page_due(m), -1);
	assert_int_equal(muxer_packet(m, l.p[from], false, sink_write, &s), 0);
	for (i = from + 1; i < l.n; i++) {
		due = muxer_page_due(m);
		assert_true(due >= 0);
		pages_before = s.calls;
		assert_int_equal(
		    muxer_packet(m, l.p[i], false, sink_write, &s), 0);
		if (s.calls > pages_before) {
			assert_true(l.p[i]->granulepos >= due);
			n_ends = audio_page_ends(s.buf, s.len, ends, 512);
			assert_true(n_ends > 0);
			assert_int_equal(
			    ends[n_ends - 1], (int64_t)(i - from + 1));
			written++;
		}
	}
	assert_true(written >= 30);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

/*
 * An output's wake-ups (output.c): packets go through a real packet_queue
 * whose batch is set as output.c sets it (muxer_page_due(), one packet
 * more while muxer_page_due_waits_next()). Beside it a second muxer takes
 * every packet the moment it is made. The consumer must wake exactly at
 * the packets where that eager muxer writes a page: once per page, never
 * for nothing, never late. (Digital silence: pages end by time, never by
 * libogg's 4 KiB rule, which the eager muxer would follow packet by
 * packet.)
 */
static void
run_wakes_per_page(bool icecast)
{
	struct pktlist l = {0};
	struct sink s = {0}, eager_sink = {0};
	struct packet_queue *q;
	struct muxer *m, *eager;
	struct packet *p;
	size_t i, from = 100;
	int64_t batch = 500 * RATE_HZ / 1000, due;
	int wakes = 0, calls_before;
	bool gap, woke, eager_wrote;

	encode(&l, 20.0, true, 2.0, -1, false);
	m = muxer_new(500);
	eager = muxer_new(500);
	q = packet_queue_new(1 << 24, 1 << 16);
	assert_non_null(m);
	assert_non_null(eager);
	assert_non_null(q);
	muxer_set_icecast_pages(m, icecast);
	muxer_set_icecast_pages(eager, icecast);
	packet_queue_set_batch(q, batch);
	for (i = from; i < l.n; i++) {
		calls_before = eager_sink.calls;
		assert_int_equal(
		    muxer_packet(eager, l.p[i], false, sink_write, &eager_sink),
		    0);
		eager_wrote = eager_sink.calls > calls_before;
		assert_true(packet_queue_push(q, l.p[i]));
		woke = packet_queue_wait(q, 0);
		/* The first wake opens the stream a batch in. */
		if (wakes > 0)
			assert_int_equal(woke, eager_wrote);
		if (!woke)
			continue;
		wakes++;
		calls_before = s.calls;
		while ((p = packet_queue_pop(q, 0, &gap)) != NULL) {
			assert_int_equal(
			    muxer_packet(m, p, gap, sink_write, &s), 0);
			packet_unref(p);
		}
		assert_true(s.calls > calls_before);
		due = muxer_page_due(m);
		assert_true(due >= 0);
		packet_queue_set_batch_from(q, due > batch ? due - batch : 0,
		    muxer_page_due_waits_next(m));
	}
	/* 20 s of audio in pages of about 0.5 s: one wake-up each (two each
	 * before: at the page's last packet and at the one after it). */
	assert_true(wakes >= 30);
	assert_true(wakes <= 42);
	packet_queue_free(q);
	muxer_free(m);
	muxer_free(eager);
	free(s.buf);
	free(eager_sink.buf);
	pktlist_free(&l);
}

static void
test_wakes_once_per_page(void **state)
{
	(void)state;
	run_wakes_per_page(true);
	run_wakes_per_page(false);
}

/*
 * A chain change under Icecast pages, at every phase of the page: whether
 * the last packet was held back or already sent with its page, the old
 * stream ends with e_o_s on a packet that also begins the new stream, and
 * the two decode to exactly the audio encoded (no block lost or doubled).
 */
static void
test_icecast_pages_chain_change(void **state)
{
	struct pktlist l = {0};
	struct muxer *m;
	struct parse r;
	size_t k, from, i;
	int64_t total;
	long streams;
	int sent_at_once = 0;

	(void)state;
	encode(&l, 8.0, false, 2.0, 6 * RATE_HZ, true);
	for (k = 1; k < l.n; k++) {
		if (l.p[k]->headers != l.p[0]->headers)
			break;
	}
	assert_true(k > 60 && k < l.n - 10);
	for (from = 1; from < 40; from++) {
		struct sink s = {0};

		m = muxer_new(500);
		assert_non_null(m);
		muxer_set_icecast_pages(m, true);
		feed(m, &l, from, l.n, false, &s);
		total = l.p[l.n - 1]->granulepos - l.p[from]->granulepos;
		parse_pages(s.buf, s.len, &r);
		assert_int_equal(r.nstreams, 2);
		assert_int_equal(r.st[0].eos_pages, 1);
		assert_int_equal(r.st[1].eos_pages, 1);
		/* The packet that ends the old stream begins the new one. */
		assert_int_equal(
		    r.st[0].last_audio_bytes, r.st[1].first_audio_bytes);
		i = r.st[0].last_audio_bytes == l.p[k]->bytes &&
			    r.st[0].final_granule ==
				l.p[k]->granulepos - l.p[from]->granulepos
			? k
			: k - 1;
		if (i == k)
			sent_at_once++;
		assert_int_equal(r.st[0].final_granule,
		    l.p[i]->granulepos - l.p[from]->granulepos);
		assert_int_equal(r.st[1].final_granule,
		    l.p[l.n - 1]->granulepos - l.p[i]->granulepos);
		assert_int_equal(
		    decode_frames(s.buf, s.len, &streams, NULL, 0), total);
		assert_int_equal(streams, 2);
		muxer_free(m);
		free(s.buf);
	}
	/* Some phases had the packet before the change already sent. */
	assert_true(sent_at_once > 0);
	pktlist_free(&l);
}

/*
 * An encoder replaced (reload) under Icecast pages, at every phase of the
 * page: the old stream ends with an e_o_s page even when its last packet
 * went out at once with its page (nothing held back to carry the flag),
 * and the new one starts with its own first packet.
 */
static void
test_icecast_pages_encoder_restart(void **state)
{
	struct pktlist a = {0}, b = {0};
	struct muxer *m;
	struct parse r;
	size_t to;
	long streams;

	(void)state;
	encode(&a, 3.0, false, 4.0, -1, false);
	encode(&b, 1.0, false, 0.0, -1, true);
	for (to = a.n - 30; to <= a.n; to++) {
		struct sink s = {0};

		m = muxer_new(500);
		assert_non_null(m);
		muxer_set_icecast_pages(m, true);
		feed(m, &a, 0, to, false, &s);
		feed(m, &b, 0, b.n, false, &s);
		parse_pages(s.buf, s.len, &r);
		assert_int_equal(r.nstreams, 2);
		assert_int_equal(r.st[0].eos_pages, 1);
		assert_int_equal(r.st[1].eos_pages, 1);
		check_stream_start(&r.st[1]);
		assert_int_equal(r.st[1].first_audio_bytes, b.p[0]->bytes);
		assert_int_equal(
		    decode_frames(s.buf, s.len, &streams, NULL, 0),
		    a.p[to - 1]->granulepos + b.p[b.n - 1]->granulepos);
		assert_int_equal(streams, 2);
		muxer_free(m);
		free(s.buf);
	}
	pktlist_free(&a);
	pktlist_free(&b);
}

static void
test_default_page_bound(void **state)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;

	(void)state;
	/* 0 means the default, 500 ms. */
	encode(&l, 5.0, true, 4.0, -1, true);
	m = muxer_new(0);
	assert_non_null(m);
	feed(m, &l, 0, l.n, false, &s);
	parse_pages(s.buf, s.len, &r);
	assert_true(r.st[0].max_span <= RATE_HZ / 2);
	assert_true(r.st[0].max_span > RATE_HZ / 4);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_gap_new_stream(void **state)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	size_t k;
	int64_t total, expect;
	long streams;

	(void)state;
	encode(&l, 4.0, false, 4.0, -1, true);
	k = l.n / 2;
	total = l.p[l.n - 1]->granulepos;
	m = muxer_new(500);
	assert_non_null(m);
	feed(m, &l, 0, k, false, &s);
	assert_int_equal(muxer_chain_id(m), l.p[0]->headers->chain_id);
	/* Packet k arrives after a gap; k - 1 was held and is gone. */
	feed(m, &l, k, l.n, true, &s);
	assert_int_equal(muxer_streams(m), 2);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 2);
	check_stream_start(&r.st[0]);
	check_stream_start(&r.st[1]);
	assert_true(r.st[0].serial != r.st[1].serial);
	/* No EOS for the stream that was cut (its pending pages were
	 * flushed, the held packet k - 1 is gone); the new one ends
	 * properly. */
	assert_int_equal(r.st[0].eos_pages, 0);
	assert_int_equal(r.st[1].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, l.p[k - 2]->granulepos);
	assert_int_equal(r.st[1].final_granule, total - l.p[k]->granulepos);
	expect = l.p[k - 2]->granulepos + total - l.p[k]->granulepos;
	assert_int_equal(decode_frames(s.buf, s.len, &streams, NULL, 0),
	    expect);
	assert_int_equal(streams, 2);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_reset_new_stream(void **state)
{
	struct pktlist l = { 0 };
	struct sink s1 = { 0 }, s2 = { 0 };
	struct muxer *m;
	struct parse r;
	size_t k;
	int64_t total;
	long streams;

	(void)state;
	encode(&l, 3.0, false, 4.0, -1, true);
	k = l.n / 3;
	total = l.p[l.n - 1]->granulepos;
	m = muxer_new(500);
	assert_non_null(m);
	feed(m, &l, 0, k, false, &s1);
	muxer_reset(m);
	assert_int_equal(muxer_chain_id(m), 0);
	/* muxer_end after a reset has nothing to end. */
	assert_int_equal(muxer_end(m, sink_write, &s1), 0);
	parse_pages(s1.buf, s1.len, &r);
	assert_int_equal(r.nstreams, 1);
	assert_int_equal(r.st[0].eos_pages, 0);

	/* A new connection: its bytes alone must be a whole stream. */
	feed(m, &l, k, l.n, false, &s2);
	assert_int_equal(muxer_streams(m), 2);
	assert_true(s2.len > 4 && memcmp(s2.buf, "OggS", 4) == 0);
	parse_pages(s2.buf, s2.len, &r);
	assert_int_equal(r.nstreams, 1);
	check_stream_start(&r.st[0]);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, total - l.p[k]->granulepos);
	assert_int_equal(decode_frames(s2.buf, s2.len, &streams, NULL, 0),
	    total - l.p[k]->granulepos);
	assert_int_equal(streams, 1);
	muxer_free(m);
	free(s1.buf);
	free(s2.buf);
	pktlist_free(&l);
}

static void
test_chain_change(void **state)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	size_t k, i;
	int64_t total;
	long streams;
	char title2[64];

	(void)state;
	encode(&l, 4.0, false, 4.0, 2 * RATE_HZ, true);
	total = l.p[l.n - 1]->granulepos;
	for (k = 1; k < l.n; k++) {
		if (l.p[k]->headers != l.p[0]->headers)
			break;
	}
	assert_true(k > 10 && k < l.n - 10);
	m = muxer_new(500);
	assert_non_null(m);
	for (i = 0; i < l.n; i++) {
		assert_int_equal(muxer_packet(m, l.p[i], false, sink_write,
		    &s), 0);
		if (i < k)
			assert_int_equal(muxer_chain_id(m),
			    l.p[0]->headers->chain_id);
		else if (i + 1 < l.n)
			assert_int_equal(muxer_chain_id(m),
			    l.p[k]->headers->chain_id);
	}
	assert_int_equal(muxer_chain_id(m), 0);
	assert_int_equal(muxer_streams(m), 2);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 2);
	check_stream_start(&r.st[0]);
	check_stream_start(&r.st[1]);
	assert_true(r.st[0].serial != r.st[1].serial);
	/* The old stream ends with the held packet k - 1 marked EOS... */
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, l.p[k - 1]->granulepos);
	assert_int_equal(r.st[0].last_audio_bytes, l.p[k - 1]->bytes);
	/* ...and the new one starts with that same packet. */
	assert_int_equal(r.st[1].first_audio_bytes, l.p[k - 1]->bytes);
	assert_memory_equal(r.st[1].first_audio, l.p[k - 1]->data,
	    l.p[k - 1]->bytes < 64 ? l.p[k - 1]->bytes : 64);
	assert_int_equal(r.st[1].final_granule,
	    total - l.p[k - 1]->granulepos);
	assert_int_equal(r.st[1].eos_pages, 1);
	/* No block lost: the decoded length is what was encoded. */
	assert_int_equal(decode_frames(s.buf, s.len, &streams, title2,
	    sizeof(title2)), total);
	assert_int_equal(streams, 2);
	assert_string_equal(title2, "Second");
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

/* Decodes channel 0 into a new array (free it); *frames = its length. */
static float *
decode_left(const unsigned char *buf, size_t len, int64_t *frames)
{
	struct memfile f = { buf, len, 0 };
	ov_callbacks cbs = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	float **pcm, *out = NULL;
	size_t cap = 0;
	long n, i;
	int link;

	*frames = 0;
	assert_int_equal(ov_open_callbacks(&f, &vf, NULL, 0, cbs), 0);
	while ((n = ov_read_float(&vf, &pcm, 4096, &link)) != 0) {
		assert_true(n > 0);
		if ((size_t)(*frames + n) > cap) {
			cap = cap > 0 ? cap * 2 : 65536;
			while (cap < (size_t)(*frames + n))
				cap *= 2;
			out = realloc(out, cap * sizeof(float));
			assert_non_null(out);
		}
		for (i = 0; i < n; i++)
			out[*frames + i] = pcm[0][i];
		*frames += n;
	}
	ov_clear(&vf);
	return out;
}

/* muxer_split(): two files, each a whole stream, whose decodes joined
 * are sample for sample the decode of the unsplit stream. */
static void
test_split(void **state)
{
	struct pktlist l = { 0 };
	struct sink whole = { 0 }, a = { 0 }, b = { 0 };
	struct muxer *m1, *m2;
	struct parse r;
	float *pw, *pa, *pb;
	int64_t fw, fa, fb, i;
	size_t k = 40, j;

	(void)state;
	encode(&l, 3.0, false, 4.0, -1, true);
	assert_true(l.n > k + 10);
	m1 = muxer_new(500);
	m2 = muxer_new(500);
	assert_non_null(m1);
	assert_non_null(m2);
	feed(m1, &l, 0, l.n, false, &whole);
	feed(m2, &l, 0, k, false, &a);
	assert_int_equal(muxer_split(m2, sink_write, &a), 0);
	assert_int_equal(muxer_chain_id(m2), 0);
	for (j = k; j < l.n; j++)
		assert_int_equal(muxer_packet(m2, l.p[j], false, sink_write,
		    &b), 0);
	parse_pages(a.buf, a.len, &r);
	assert_int_equal(r.nstreams, 1);
	check_stream_start(&r.st[0]);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].last_audio_bytes, l.p[k - 1]->bytes);
	parse_pages(b.buf, b.len, &r);
	assert_int_equal(r.nstreams, 1);
	check_stream_start(&r.st[0]);
	assert_int_equal(r.st[0].eos_pages, 1);
	/* The second file begins with the first one's last packet. */
	assert_int_equal(r.st[0].first_audio_bytes, l.p[k - 1]->bytes);
	pw = decode_left(whole.buf, whole.len, &fw);
	pa = decode_left(a.buf, a.len, &fa);
	pb = decode_left(b.buf, b.len, &fb);
	assert_int_equal(fa + fb, fw);
	for (i = 0; i < fa; i++)
		assert_true(fabsf(pa[i] - pw[i]) < 1e-6f);
	for (i = 0; i < fb; i++)
		assert_true(fabsf(pb[i] - pw[fa + i]) < 1e-6f);
	/* A reset after a split forgets the kept packet. */
	assert_int_equal(muxer_split(m1, sink_write, &whole), 0);
	muxer_reset(m1);
	free(pw);
	free(pa);
	free(pb);
	muxer_free(m1);
	muxer_free(m2);
	free(whole.buf);
	free(a.buf);
	free(b.buf);
	pktlist_free(&l);
}

/* muxer_stream_silent(): a stream that holds only its first audio packet
 * would end as a file of zero length (its one packet at granule 0, which
 * ogginfo calls a buggy encoder's); one packet more and it holds audio.
 * An archive split waits for that (output.c). Before a stream and after
 * its end there is nothing to wait for. */
static void
test_stream_silent(void **state)
{
	struct pktlist l = { 0 };
	struct sink a = { 0 };
	struct muxer *m;

	(void)state;
	encode(&l, 1.0, false, 4.0, -1, true);
	m = muxer_new(500);
	assert_non_null(m);
	assert_false(muxer_stream_silent(m));
	feed(m, &l, 0, 1, false, &a); /* headers and the first audio packet */
	assert_true(muxer_stream_silent(m));
	feed(m, &l, 1, 2, false, &a);
	assert_false(muxer_stream_silent(m));
	assert_int_equal(muxer_split(m, sink_write, &a), 0);
	assert_false(muxer_stream_silent(m));
	muxer_free(m);
	free(a.buf);
	pktlist_free(&l);
}

/* metadata = none | admin: a comment-only change keeps one stream. */
static void
test_no_follow_tags(void **state)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	size_t i;
	int64_t total;
	long streams;

	(void)state;
	encode(&l, 4.0, false, 4.0, 2 * RATE_HZ, true);
	total = l.p[l.n - 1]->granulepos;
	assert_true(l.p[l.n - 1]->headers != l.p[0]->headers);
	m = muxer_new(500);
	assert_non_null(m);
	muxer_set_follow_tags(m, false);
	for (i = 0; i < l.n; i++)
		assert_int_equal(muxer_packet(m, l.p[i], false, sink_write,
		    &s), 0);
	assert_int_equal(muxer_streams(m), 1);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 1);
	check_stream_start(&r.st[0]);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, total);
	assert_int_equal(decode_frames(s.buf, s.len, &streams, NULL, 0),
	    total);
	assert_int_equal(streams, 1);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_encoder_restart(void **state)
{
	struct pktlist a = { 0 }, b = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	long streams;

	(void)state;
	/* Encoder a is replaced without finishing (no eos packet); b has a
	 * different setup header, so a's held packet cannot prime b's
	 * stream: b's stream starts with b's first packet. */
	encode(&a, 2.0, false, 4.0, -1, false);
	encode(&b, 2.0, false, 0.0, -1, true);
	assert_true(a.p[0]->headers->bytes[2] != b.p[0]->headers->bytes[2] ||
	    memcmp(a.p[0]->headers->packet[2], b.p[0]->headers->packet[2],
	    a.p[0]->headers->bytes[2]) != 0);
	m = muxer_new(500);
	assert_non_null(m);
	feed(m, &a, 0, a.n, false, &s);
	feed(m, &b, 0, b.n, false, &s);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 2);
	check_stream_start(&r.st[0]);
	check_stream_start(&r.st[1]);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, a.p[a.n - 1]->granulepos);
	assert_int_equal(r.st[1].first_audio_bytes, b.p[0]->bytes);
	assert_int_equal(r.st[1].final_granule, b.p[b.n - 1]->granulepos);
	assert_int_equal(decode_frames(s.buf, s.len, &streams, NULL, 0),
	    a.p[a.n - 1]->granulepos + b.p[b.n - 1]->granulepos);
	assert_int_equal(streams, 2);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&a);
	pktlist_free(&b);
}

/*
 * metadata = none | admin and an encoder rebuilt with the same settings
 * (reload): its setup header is identical, but its granules start again
 * at zero, so the output must start a new stream, not splice it in.
 */
static void
test_encoder_restart_same_setup(void **state)
{
	struct pktlist a = { 0 }, b = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	long streams;

	(void)state;
	encode(&a, 2.0, false, 4.0, -1, false);
	encode(&b, 2.0, false, 4.0, -1, true);
	assert_int_equal(a.p[0]->headers->bytes[2], b.p[0]->headers->bytes[2]);
	assert_memory_equal(a.p[0]->headers->packet[2],
	    b.p[0]->headers->packet[2], a.p[0]->headers->bytes[2]);
	m = muxer_new(500);
	assert_non_null(m);
	muxer_set_follow_tags(m, false);
	feed(m, &a, 0, a.n, false, &s);
	feed(m, &b, 0, b.n, false, &s);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 2);
	check_stream_start(&r.st[1]);
	assert_int_equal(r.st[1].first_audio_bytes, b.p[0]->bytes);
	assert_int_equal(r.st[1].final_granule, b.p[b.n - 1]->granulepos);
	assert_int_equal(decode_frames(s.buf, s.len, &streams, NULL, 0),
	    a.p[a.n - 1]->granulepos + b.p[b.n - 1]->granulepos);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&a);
	pktlist_free(&b);
}

static void
test_end_and_eos(void **state)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;
	size_t k, len;
	long streams;

	(void)state;
	encode(&l, 2.0, false, 4.0, -1, true);
	k = l.n / 2;
	m = muxer_new(500);
	assert_non_null(m);
	assert_int_equal(muxer_chain_id(m), 0);
	feed(m, &l, 0, k, false, &s);
	assert_int_equal(muxer_end(m, sink_write, &s), 0);
	assert_int_equal(muxer_chain_id(m), 0);
	len = s.len;
	assert_int_equal(muxer_end(m, sink_write, &s), 0);
	assert_int_equal(s.len, len); /* nothing more to end */
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 1);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(r.st[0].final_granule, l.p[k - 1]->granulepos);
	assert_int_equal(decode_frames(s.buf, s.len, &streams, NULL, 0),
	    l.p[k - 1]->granulepos);

	/* After muxer_end, the next packet opens a new stream. */
	feed(m, &l, k, l.n, false, &s);
	assert_int_equal(muxer_streams(m), 2);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 2);
	check_stream_start(&r.st[1]);
	assert_int_equal(r.st[1].eos_pages, 1);
	muxer_free(m);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_write_error(void **state)
{
	struct pktlist l = { 0 };
	struct sink s = { 0 };
	struct muxer *m;
	struct parse r;

	(void)state;
	encode(&l, 1.0, false, 4.0, -1, true);
	m = muxer_new(500);
	assert_non_null(m);
	s.fail_with = -EPIPE;
	assert_int_equal(muxer_packet(m, l.p[0], false, sink_write, &s),
	    -EPIPE);
	assert_true(s.calls > 0);
	assert_int_equal(muxer_chain_id(m), 0); /* abandoned */
	s.fail_with = 0;
	feed(m, &l, 1, l.n, false, &s);
	assert_int_equal(muxer_streams(m), 2);
	assert_true(s.len > 0 && memcmp(s.buf, "OggS", 4) == 0);
	parse_pages(s.buf, s.len, &r);
	assert_int_equal(r.nstreams, 1);
	check_stream_start(&r.st[0]);
	assert_int_equal(r.st[0].eos_pages, 1);
	assert_int_equal(muxer_packet(m, NULL, false, sink_write, &s),
	    -EINVAL);
	muxer_free(m);
	muxer_free(NULL);
	free(s.buf);
	pktlist_free(&l);
}

static void
test_packet_refs(void **state)
{
	static const unsigned char id[] = "\x01vorbis-id";
	static const unsigned char cm[] = "\x03vorbis-comment";
	static const unsigned char su[] = "\x05vorbis-setup";
	const unsigned char *pkt[3] = { id, cm, su };
	const size_t bytes[3] = { sizeof(id), sizeof(cm), sizeof(su) };
	struct stream_headers *h, *h2;
	struct packet *p;

	(void)state;
	h = headers_new(44100, 2, "T", NULL, pkt, bytes);
	assert_non_null(h);
	h2 = headers_new(44100, 2, "T", "A", pkt, bytes);
	assert_non_null(h2);
	assert_true(h->chain_id != 0 && h2->chain_id != 0);
	assert_true(h2->chain_id != h->chain_id);
	assert_string_equal(h->artist, "");
	assert_int_equal(h->bytes[2], sizeof(su));
	assert_memory_equal(h->packet[2], su, sizeof(su));
	assert_true(h->packet[2] != su); /* copied */

	p = packet_new(h, (const unsigned char *)"abc", 3, 1024, 7, true);
	assert_non_null(p);
	assert_int_equal(atomic_load(&h->refs), 2);
	assert_int_equal(p->bytes, 3);
	assert_memory_equal(p->data, "abc", 3);
	assert_int_equal(p->granulepos, 1024);
	assert_int_equal(p->packetno, 7);
	assert_true(p->eos);
	assert_ptr_equal(packet_ref(p), p);
	assert_int_equal(atomic_load(&p->refs), 2);
	packet_unref(p);
	headers_unref(h); /* the packet still holds h */
	assert_int_equal(atomic_load(&h->refs), 1);
	assert_memory_equal(p->headers->packet[0], id, sizeof(id));
	packet_unref(p); /* frees h too (ASan would see a leak otherwise) */
	headers_unref(h2);
	packet_unref(NULL);
	headers_unref(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_refs),
		cmocka_unit_test(test_page_bound_silence),
		cmocka_unit_test(test_icecast_pages),
		cmocka_unit_test(test_icecast_page_due),
		cmocka_unit_test(test_wakes_once_per_page),
		cmocka_unit_test(test_icecast_pages_chain_change),
		cmocka_unit_test(test_icecast_pages_encoder_restart),
		cmocka_unit_test(test_default_page_bound),
		cmocka_unit_test(test_gap_new_stream),
		cmocka_unit_test(test_reset_new_stream),
		cmocka_unit_test(test_chain_change),
		cmocka_unit_test(test_no_follow_tags),
		cmocka_unit_test(test_encoder_restart),
		cmocka_unit_test(test_encoder_restart_same_setup),
		cmocka_unit_test(test_end_and_eos),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_stream_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
