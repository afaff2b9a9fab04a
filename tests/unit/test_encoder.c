/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for encoder.c (with packet.c and muxer.c underneath): encoder
 * headers and granule positions, decoding the muxed bytes with
 * libvorbisfile, metadata chains that lose no block, the resampling path,
 * 7.1 in Vorbis channel order, managed mode, configurations
 * libvorbisenc refuses, and MP3 (LAME) frames passed through the muxer.
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

#define TONE_HZ 1000.0
#define TONE_AMP 0.5

/* Growing byte buffer that the muxer writes pages into. */
struct sink {
	unsigned char *buf;
	size_t len;
	size_t cap;
};

static int
sink_write(const unsigned char *data, size_t bytes, void *arg)
{
	struct sink *s = arg;
	size_t cap;

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

/* What the encoder callback saw, and the muxer it feeds. */
struct collect {
	struct muxer *mux;
	struct sink out;
	int64_t packets;
	int64_t last_granule;
	int64_t eos_count;
	bool last_was_eos;
	bool granule_increasing;
	uint32_t last_chain_id;
	int64_t chains_seen;
};

static void
collect_cb(struct packet *p, void *arg)
{
	struct collect *c = arg;

	assert_non_null(p->headers);
	if (c->packets > 0 && p->granulepos <= c->last_granule)
		c->granule_increasing = false;
	if (p->headers->chain_id != c->last_chain_id) {
		c->chains_seen++;
		c->last_chain_id = p->headers->chain_id;
	}
	c->last_granule = p->granulepos;
	c->packets++;
	if (p->eos)
		c->eos_count++;
	c->last_was_eos = p->eos;
	assert_int_equal(muxer_packet(c->mux, p, false, sink_write, &c->out),
	    0);
}

static void
collect_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	c->mux = muxer_new(500);
	assert_non_null(c->mux);
	c->granule_increasing = true;
}

static void
collect_free(struct collect *c)
{
	muxer_free(c->mux);
	free(c->out.buf);
}

/* Interleaved sine at TONE_HZ, starting at frame offset first_frame. */
static float *
make_tone(int rate_hz, int channels, size_t frames, size_t first_frame,
    double freq_hz)
{
	float *pcm;
	size_t i;
	int c;
	double t;

	pcm = calloc(frames * (size_t)channels + 1, sizeof(float));
	assert_non_null(pcm);
	for (i = 0; i < frames; i++) {
		t = (double)(first_frame + i) / rate_hz;
		for (c = 0; c < channels; c++)
			pcm[i * (size_t)channels + (size_t)c] =
			    (float)(TONE_AMP * sin(2.0 * M_PI * freq_hz * t));
	}
	return pcm;
}

/* Writes pcm in uneven pieces (1, 37, 1023, 1024, 1025, 5000, ...). */
static void
write_uneven(struct encoder *enc, const float *pcm, int channels,
    size_t frames, struct collect *c)
{
	static const size_t sizes[] = { 1, 37, 1023, 1024, 1025, 5000, 333 };
	size_t done = 0, n, k = 0;

	while (done < frames) {
		n = sizes[k++ % RELAY_ARRAY_LEN(sizes)];
		if (n > frames - done)
			n = frames - done;
		assert_int_equal(encoder_write(enc,
		    pcm + done * (size_t)channels, n, collect_cb, c), 0);
		done += n;
	}
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

/* Everything one decode tells us. */
struct decoded {
	long streams;
	int rate_hz;
	int channels;
	int64_t pcm_total; /* ov_pcm_total(-1) */
	int64_t frames;	   /* what ov_read_float really produced */
	float *ch0;	   /* channel 0, all links back to back */
	char title[2][256];
};

static void
decode(const unsigned char *buf, size_t len, struct decoded *d)
{
	struct memfile f = { buf, len, 0 };
	ov_callbacks cbs = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	vorbis_info *vi;
	vorbis_comment *vc;
	float **pcm;
	size_t cap;
	long n, i;
	int link;
	const char *t;

	memset(d, 0, sizeof(*d));
	assert_int_equal(ov_open_callbacks(&f, &vf, NULL, 0, cbs), 0);
	d->streams = ov_streams(&vf);
	vi = ov_info(&vf, 0);
	assert_non_null(vi);
	d->rate_hz = (int)vi->rate;
	d->channels = vi->channels;
	d->pcm_total = ov_pcm_total(&vf, -1);
	for (i = 0; i < d->streams && i < 2; i++) {
		vc = ov_comment(&vf, (int)i);
		assert_non_null(vc);
		t = vorbis_comment_query(vc, "TITLE", 0);
		snprintf(d->title[i], sizeof(d->title[i]), "%s",
		    t != NULL ? t : "");
	}
	cap = (size_t)(d->pcm_total > 0 ? d->pcm_total : 1) + 8192;
	d->ch0 = calloc(cap, sizeof(float));
	assert_non_null(d->ch0);
	for (;;) {
		n = ov_read_float(&vf, &pcm, 4096, &link);
		if (n == 0)
			break;
		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			if ((size_t)d->frames < cap)
				d->ch0[d->frames] = pcm[0][i];
			d->frames++;
		}
	}
	ov_clear(&vf);
}

/* Positive-going zero crossings of x: freq * seconds for a clean tone. */
static int64_t
rising_crossings(const float *x, int64_t from, int64_t to)
{
	int64_t i, n = 0;

	for (i = from + 1; i < to; i++) {
		if (x[i - 1] < 0.0f && x[i] >= 0.0f)
			n++;
	}
	return n;
}

/* Power of frequency freq_hz in x (Goertzel), normalised by length. */
static double
goertzel(const float *x, int64_t n, int rate_hz, double freq_hz)
{
	double w = 2.0 * M_PI * freq_hz / rate_hz, k = 2.0 * cos(w);
	double s0, s1 = 0.0, s2 = 0.0;
	int64_t i;

	for (i = 0; i < n; i++) {
		s0 = (double)x[i] + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - k * s1 * s2) / ((double)n * (double)n);
}

/* RMS of (decoded - reference tone) over [from, to). */
static double
tone_error_rms(const float *x, int64_t from, int64_t to, int rate_hz)
{
	double e, sum = 0.0, ref;
	int64_t i;

	for (i = from; i < to; i++) {
		ref = TONE_AMP *
		    sin(2.0 * M_PI * TONE_HZ * (double)i / rate_hz);
		e = (double)x[i] - ref;
		sum += e * e;
	}
	return sqrt(sum / (double)(to - from));
}

static void
init_cfg(struct encoding_config *cfg, char *name, int rate_hz, int channels,
    double quality)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = name;
	cfg->line = 1;
	cfg->rate_hz = rate_hz;
	cfg->channels = channels;
	cfg->quality = quality;
}

/* Parses every page of a single-stream buffer and checks granules. */
static void
check_pages(const unsigned char *buf, size_t len, int64_t total)
{
	ogg_sync_state oy;
	ogg_page og;
	char *dst;
	int64_t g, last = -1, pages = 0, bos = 0, eos = 0;
	int64_t final_granule = -1;

	ogg_sync_init(&oy);
	dst = ogg_sync_buffer(&oy, (long)len);
	memcpy(dst, buf, len);
	ogg_sync_wrote(&oy, (long)len);
	while (ogg_sync_pageout(&oy, &og) == 1) {
		pages++;
		if (ogg_page_bos(&og))
			bos++;
		if (ogg_page_eos(&og))
			eos++;
		g = (int64_t)ogg_page_granulepos(&og);
		if (g < 0)
			continue;
		/* Header pages carry 0; audio pages must strictly grow. */
		if (last > 0)
			assert_true(g > last);
		last = g;
		final_granule = g;
	}
	ogg_sync_clear(&oy);
	assert_true(pages >= 4);
	assert_int_equal(bos, 1);
	assert_int_equal(eos, 1);
	assert_int_equal(final_granule, total);
}

static void
test_headers(void **state)
{
	struct encoding_config cfg;
	char name[] = "main", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct stream_headers *h;
	uint32_t first_chain;

	(void)state;
	init_cfg(&cfg, name, 44100, 2, 4.0);
	enc = encoder_new(&cfg, 44100, 2, "First\x01 title", "Desk", err,
	    sizeof(err));
	assert_non_null(enc);
	h = encoder_headers(enc);
	assert_non_null(h);
	assert_int_equal(h->rate_hz, 44100);
	assert_int_equal(h->channels, 2);
	assert_true(h->chain_id != 0);
	/* The control character is gone (util_sanitize_text). */
	assert_string_equal(h->title, "First title");
	assert_string_equal(h->artist, "Desk");
	assert_true(h->bytes[0] == 30);
	assert_memory_equal(h->packet[0], "\x01vorbis", 7);
	assert_memory_equal(h->packet[1], "\x03vorbis", 7);
	assert_memory_equal(h->packet[2], "\x05vorbis", 7);
	assert_non_null(memmem(h->packet[1], h->bytes[1], "ENCODER=relay",
	    13));
	assert_non_null(memmem(h->packet[1], h->bytes[1],
	    "TITLE=First title", 17));
	assert_non_null(memmem(h->packet[1], h->bytes[1], "ARTIST=Desk",
	    11));

	first_chain = h->chain_id;
	assert_int_equal(encoder_set_tags(enc, "First title", "Desk"), 0);
	assert_int_equal(encoder_headers(enc)->chain_id, first_chain);
	assert_int_equal(encoder_set_tags(enc, "News at ten", NULL), 1);
	h = encoder_headers(enc);
	assert_true(h->chain_id != first_chain);
	assert_string_equal(h->title, "News at ten");
	assert_string_equal(h->artist, "");
	assert_non_null(memmem(h->packet[1], h->bytes[1],
	    "TITLE=News at ten", 17));
	assert_null(memmem(h->packet[1], h->bytes[1], "ARTIST=", 7));
	encoder_free(enc);

	/* No title or artist: only ENCODER. */
	enc = encoder_new(&cfg, 44100, 2, NULL, "", err, sizeof(err));
	assert_non_null(enc);
	h = encoder_headers(enc);
	assert_null(memmem(h->packet[1], h->bytes[1], "TITLE=", 6));
	assert_non_null(memmem(h->packet[1], h->bytes[1], "ENCODER=relay",
	    13));
	encoder_free(enc);
}

static void
test_sine_roundtrip(void **state)
{
	struct encoding_config cfg;
	char name[] = "main", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	struct decoded d;
	float *pcm;
	size_t frames = 3 * 44100 + 123;
	double rms, on, off;

	(void)state;
	init_cfg(&cfg, name, 44100, 2, 4.0);
	enc = encoder_new(&cfg, 44100, 2, "Tone", "Test", err, sizeof(err));
	assert_non_null(enc);
	collect_init(&c);
	pcm = make_tone(44100, 2, frames, 0, TONE_HZ);
	write_uneven(enc, pcm, 2, frames, &c);
	/* nframes = 0 writes nothing (and must not end the stream). */
	assert_int_equal(encoder_write(enc, pcm, 0, collect_cb, &c), 0);
	assert_int_equal(encoder_samples(enc), (int64_t)frames);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	assert_int_equal(encoder_write(enc, pcm, 10, collect_cb, &c),
	    -EPIPE);

	/* Packets: granules strictly increase, the last one is eos and its
	 * granule is the number of samples written. */
	assert_true(c.packets > 100);
	assert_true(c.granule_increasing);
	assert_int_equal(c.eos_count, 1);
	assert_true(c.last_was_eos);
	assert_int_equal(c.last_granule, (int64_t)frames);
	assert_int_equal(muxer_streams(c.mux), 1);
	assert_int_equal(muxer_chain_id(c.mux), 0); /* ended by eos */

	check_pages(c.out.buf, c.out.len, (int64_t)frames);

	decode(c.out.buf, c.out.len, &d);
	assert_int_equal(d.streams, 1);
	assert_int_equal(d.rate_hz, 44100);
	assert_int_equal(d.channels, 2);
	assert_string_equal(d.title[0], "Tone");
	assert_int_equal(d.pcm_total, (int64_t)frames);
	assert_int_equal(d.frames, (int64_t)frames);
	/* A 1 kHz tone: 3000 rising zero crossings in 3 s, energy at 1 kHz,
	 * none at 1.5 kHz, and close to the input sample by sample. */
	assert_in_range(rising_crossings(d.ch0, 0, 3 * 44100), 2998, 3002);
	on = goertzel(d.ch0, 3 * 44100, 44100, TONE_HZ);
	off = goertzel(d.ch0, 3 * 44100, 44100, 1500.0);
	assert_true(on > 1000.0 * off);
	rms = tone_error_rms(d.ch0, 2048, (int64_t)frames - 2048, 44100);
	assert_true(rms < 0.02);

	free(d.ch0);
	free(pcm);
	collect_free(&c);
	encoder_free(enc);
}

static void
test_silence_length(void **state)
{
	struct encoding_config cfg;
	char name[] = "main", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	struct decoded d;
	float *pcm;
	size_t frames = 5 * 44100;
	int64_t i;

	(void)state;
	init_cfg(&cfg, name, 44100, 2, 4.0);
	enc = encoder_new(&cfg, 44100, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(enc);
	collect_init(&c);
	pcm = calloc(frames * 2, sizeof(float));
	assert_non_null(pcm);
	/* One call far larger than the encoder's internal chunk. */
	assert_int_equal(encoder_write(enc, pcm, frames, collect_cb, &c), 0);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	assert_true(c.granule_increasing);
	assert_int_equal(c.last_granule, (int64_t)frames);
	check_pages(c.out.buf, c.out.len, (int64_t)frames);
	decode(c.out.buf, c.out.len, &d);
	assert_int_equal(d.frames, (int64_t)frames);
	for (i = 0; i < d.frames; i++)
		assert_true(fabsf(d.ch0[i]) < 1e-3f);
	free(d.ch0);
	free(pcm);
	collect_free(&c);
	encoder_free(enc);
}

static void
test_set_tags_chain(void **state)
{
	struct encoding_config cfg;
	char name[] = "main", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	struct decoded d;
	float *pcm;
	size_t half = 2 * 44100 + 77, frames = 2 * half;
	double rms;

	(void)state;
	init_cfg(&cfg, name, 44100, 2, 4.0);
	enc = encoder_new(&cfg, 44100, 2, "Morning show", "Desk", err,
	    sizeof(err));
	assert_non_null(enc);
	collect_init(&c);
	pcm = make_tone(44100, 2, frames, 0, TONE_HZ);
	write_uneven(enc, pcm, 2, half, &c);
	assert_int_equal(encoder_set_tags(enc, "Headlines", "Desk"), 1);
	write_uneven(enc, pcm + half * 2, 2, half, &c);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);

	assert_int_equal(c.chains_seen, 2);
	assert_true(c.granule_increasing);
	assert_int_equal(muxer_streams(c.mux), 2);

	decode(c.out.buf, c.out.len, &d);
	assert_int_equal(d.streams, 2);
	assert_string_equal(d.title[0], "Morning show");
	assert_string_equal(d.title[1], "Headlines");
	/* No block lost or repeated at the chain boundary... */
	assert_int_equal(d.pcm_total, (int64_t)frames);
	assert_int_equal(d.frames, (int64_t)frames);
	/* ...and the tone carries on in phase across it. */
	rms = tone_error_rms(d.ch0, 2048, (int64_t)frames - 2048, 44100);
	assert_true(rms < 0.02);

	free(d.ch0);
	free(pcm);
	collect_free(&c);
	encoder_free(enc);
}

static void
test_resample_mono(void **state)
{
	struct encoding_config cfg;
	char name[] = "mobile", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	struct decoded d;
	float *pcm;
	size_t frames = 2 * 48000;
	int64_t got;
	double peak, rms;

	(void)state;
	init_cfg(&cfg, name, 44100, 1, 2.0);
	enc = encoder_new(&cfg, 48000, 2, "Resampled", NULL, err,
	    sizeof(err));
	assert_non_null(enc);
	assert_int_equal(encoder_headers(enc)->rate_hz, 44100);
	assert_int_equal(encoder_headers(enc)->channels, 1);
	collect_init(&c);
	encoder_levels(enc, &peak, &rms);
	assert_true(peak <= -100.0 && rms <= -100.0); /* nothing fed yet */
	pcm = make_tone(48000, 2, frames, 0, TONE_HZ);
	write_uneven(enc, pcm, 2, frames, &c);
	/* The level this encoding was fed, after the mix to mono and the
	 * resampler: the sine's peak and RMS (3 dB under it). */
	encoder_levels(enc, &peak, &rms);
	assert_true(fabs(peak - 20.0 * log10(TONE_AMP)) < 0.5);
	assert_true(fabs(rms - (20.0 * log10(TONE_AMP) - 3.01)) < 0.5);
	/* 2 s at 44.1 kHz, less what the resampler still holds... */
	got = encoder_samples(enc);
	assert_in_range(got, 2 * 44100 - 2048, 2 * 44100 - 1);
	/* ...which the end of the stream puts out: every sample. */
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	got = encoder_samples(enc);
	assert_int_equal(got, 2 * 44100);
	assert_int_equal(c.last_granule, got);

	decode(c.out.buf, c.out.len, &d);
	assert_int_equal(d.rate_hz, 44100);
	assert_int_equal(d.channels, 1);
	assert_int_equal(d.frames, got);
	/* Still 1 kHz (unresampled 48 kHz data read as 44.1 kHz would be
	 * 918 Hz): check one second in the middle. */
	assert_in_range(rising_crossings(d.ch0, 22050, 22050 + 44100), 998,
	    1002);
	free(d.ch0);
	free(pcm);
	collect_free(&c);
	encoder_free(enc);
}

/* Decodes channel ch of a single-stream buffer; *frames gets its length.
 * Owned: the caller frees the result. */
static float *
decode_channel(const unsigned char *buf, size_t len, int ch, int64_t *frames)
{
	struct memfile f = { buf, len, 0 };
	ov_callbacks cbs = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	float **pcm, *x;
	size_t cap;
	long n, i;
	int link;

	assert_int_equal(ov_open_callbacks(&f, &vf, NULL, 0, cbs), 0);
	assert_true(ch < ov_info(&vf, 0)->channels);
	cap = (size_t)ov_pcm_total(&vf, -1) + 8192;
	x = calloc(cap, sizeof(float));
	assert_non_null(x);
	*frames = 0;
	while ((n = ov_read_float(&vf, &pcm, 4096, &link)) > 0)
		for (i = 0; i < n; i++, (*frames)++)
			if ((size_t)*frames < cap)
				x[*frames] = pcm[ch][i];
	assert_int_equal(n, 0);
	ov_clear(&vf);
	return x;
}

/* A 7.1 programme is in WAV order (FL FR FC LFE BL BR SL SR); a 7.1 Vorbis
 * stream must be in Vorbis order (FL FC FR SL SR BL BR LFE, Vorbis I
 * 4.3.9), even though the counts match. (7.1 rather than 5.1: libvorbisenc
 * 1.3.7 leaks 2848 bytes in vorbis_encode_setup_init() for 6 channels,
 * which would fail the ASan run.) */
static void
test_surround_channel_order(void **state)
{
	struct encoding_config cfg;
	char name[] = "surround", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	float *pcm, *x;
	size_t frames = 44100, i;
	int64_t got;
	double p_c[8], p_bl[8];
	int ch;

	(void)state;
	init_cfg(&cfg, name, 44100, 8, 4.0);
	enc = encoder_new(&cfg, 44100, 8, "Surround", NULL, err, sizeof(err));
	assert_non_null(enc);
	pcm = calloc(frames * 8, sizeof(float));
	assert_non_null(pcm);
	for (i = 0; i < frames; i++) {
		/* 1 kHz in the centre (slot 2), 500 Hz back left (slot 4). */
		pcm[i * 8 + 2] = (float)(TONE_AMP *
		    sin(2.0 * M_PI * TONE_HZ * (double)i / 44100.0));
		pcm[i * 8 + 4] = (float)(TONE_AMP *
		    sin(2.0 * M_PI * 500.0 * (double)i / 44100.0));
	}
	collect_init(&c);
	write_uneven(enc, pcm, 8, frames, &c);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	for (ch = 0; ch < 8; ch++) {
		x = decode_channel(c.out.buf, c.out.len, ch, &got);
		assert_true(got > 22050);
		p_c[ch] = goertzel(x + 4410, 17640, 44100, TONE_HZ);
		p_bl[ch] = goertzel(x + 4410, 17640, 44100, 500.0);
		free(x);
	}
	/* A tone of amplitude A reads A^2 / 4 = 0.0625. Vorbis slot 1 is
	 * the centre, slot 5 back left. */
	for (ch = 0; ch < 8; ch++) {
		if (ch == 1)
			assert_true(p_c[ch] > 0.03);
		else
			assert_true(p_c[ch] < 1e-4);
		if (ch == 5)
			assert_true(p_bl[ch] > 0.03);
		else
			assert_true(p_bl[ch] < 1e-4);
	}
	free(pcm);
	collect_free(&c);
	encoder_free(enc);
}

static void
test_managed_mode(void **state)
{
	struct encoding_config cfg;
	char name[] = "managed", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	struct decoded d;
	struct memfile f;
	ov_callbacks cbs = { mem_read, mem_seek, NULL, mem_tell };
	OggVorbis_File vf;
	vorbis_info *vi;
	float *pcm;
	size_t frames = 44100;

	(void)state;
	init_cfg(&cfg, name, 44100, 2, 0.0);
	cfg.managed = true;
	cfg.bitrate_kbps = 48;
	cfg.min_bitrate_kbps = 32;
	cfg.max_bitrate_kbps = 64;
	enc = encoder_new(&cfg, 44100, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(enc);
	collect_init(&c);
	pcm = make_tone(44100, 2, frames, 0, TONE_HZ);
	write_uneven(enc, pcm, 2, frames, &c);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);

	f.buf = c.out.buf;
	f.len = c.out.len;
	f.pos = 0;
	assert_int_equal(ov_open_callbacks(&f, &vf, NULL, 0, cbs), 0);
	vi = ov_info(&vf, 0);
	assert_int_equal(vi->bitrate_nominal, 48000);
	assert_int_equal(vi->bitrate_lower, 32000);
	assert_int_equal(vi->bitrate_upper, 64000);
	ov_clear(&vf);
	decode(c.out.buf, c.out.len, &d);
	assert_int_equal(d.frames, (int64_t)frames);
	free(d.ch0);

	/* Nominal only (min/max unset = 0). */
	encoder_free(enc);
	cfg.min_bitrate_kbps = 0;
	cfg.max_bitrate_kbps = 0;
	enc = encoder_new(&cfg, 44100, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(enc);

	free(pcm);
	collect_free(&c);
	encoder_free(enc);
}

static void
test_impossible_settings(void **state)
{
	struct encoding_config cfg;
	char name[] = "mobile", err[CONFIG_ERR_LEN];
	struct encoder *enc;

	(void)state;
	init_cfg(&cfg, name, 1000, 2, 4.0);
	err[0] = '\0';
	enc = encoder_new(&cfg, 44100, 2, NULL, NULL, err, sizeof(err));
	assert_null(enc);
	assert_non_null(strstr(err, "[encoding mobile]: "));
	assert_non_null(strstr(err, "1000 Hz"));
	assert_non_null(strstr(err, "quality 4"));

	/* libvorbisenc itself refuses managed 48 kbit/s at 96 kHz. */
	init_cfg(&cfg, name, 96000, 2, 0.0);
	cfg.managed = true;
	cfg.bitrate_kbps = 48;
	cfg.max_bitrate_kbps = 64;
	err[0] = '\0';
	enc = encoder_new(&cfg, 44100, 2, NULL, NULL, err, sizeof(err));
	assert_null(enc);
	assert_string_equal(err, "[encoding mobile]: libvorbisenc cannot "
	    "encode 96000 Hz, 2 ch at bitrate 48 kbit/s max 64 kbit/s");

	init_cfg(&cfg, name, 44100, 2, 4.0);
	err[0] = '\0';
	enc = encoder_new(&cfg, 0, 2, NULL, NULL, err, sizeof(err));
	assert_null(enc);
	assert_non_null(strstr(err, "[encoding mobile]: "));
}

/* Walks MPEG-1 Layer III frame headers from the start of buf; every byte
 * must belong to a frame. Returns the frame count; *rate_i, *mode and
 * *kbps_i are those of the first frame, *cbr whether every frame had its
 * bitrate. */
static int
walk_mp3(const unsigned char *buf, size_t len, int *rate_i, int *mode,
    int *kbps_i, bool *cbr)
{
	static const int kbps[] = { 0, 32, 40, 48, 56, 64, 80, 96, 112, 128,
		160, 192, 224, 256, 320, 0 };
	static const int rates[] = { 44100, 48000, 32000, 0 };
	size_t pos = 0, size;
	int n = 0, bi, ri;

	*cbr = true;
	while (pos + 4 <= len) {
		/* sync, MPEG-1 (11), Layer III (01) */
		assert_int_equal(buf[pos], 0xFF);
		assert_int_equal(buf[pos + 1] & 0xFE, 0xFA);
		bi = buf[pos + 2] >> 4;
		ri = (buf[pos + 2] >> 2) & 3;
		assert_true(bi > 0 && bi < 15 && ri < 3);
		if (n == 0) {
			*rate_i = ri;
			*mode = buf[pos + 3] >> 6;
			*kbps_i = bi;
		} else if (bi != *kbps_i) {
			*cbr = false;
		}
		size = (size_t)(144 * kbps[bi] * 1000 / rates[ri]) +
		    (size_t)((buf[pos + 2] >> 1) & 1);
		pos += size;
		n++;
	}
	assert_int_equal(pos, len);
	return n;
}

/* codec = mp3: a 44.1 kHz stereo programme to 48 kHz mono CBR 64 (mixed
 * and resampled), bare frames through the muxer, the end flushed with
 * eos; then VBR at 44.1 kHz stereo. */
static void
test_mp3(void **state)
{
	struct encoding_config cfg;
	char name[] = "speaker", err[CONFIG_ERR_LEN];
	struct encoder *enc;
	struct collect c;
	float *pcm;
	int frames, rate_i, mode, kbps_i;
	bool cbr;

	(void)state;
	init_cfg(&cfg, name, 48000, 1, 0.0);
	cfg.codec = CODEC_MP3;
	cfg.managed = true;
	cfg.bitrate_kbps = 64;
	enc = encoder_new(&cfg, 44100, 2, "Top", NULL, err, sizeof(err));
	assert_non_null(enc);
	assert_true(encoder_headers(enc)->raw);
	assert_int_equal(encoder_headers(enc)->bytes[0], 0);
	collect_init(&c);
	pcm = make_tone(44100, 2, 44100, 0, TONE_HZ);
	write_uneven(enc, pcm, 2, 44100, &c);
	/* A title change renames the set; no bytes change. */
	assert_int_equal(encoder_set_tags(enc, "Next", NULL), 1);
	assert_true(encoder_headers(enc)->raw);
	assert_string_equal(encoder_headers(enc)->title, "Next");
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	assert_int_equal(c.eos_count, 1);
	assert_true(c.last_was_eos);
	assert_int_equal(c.chains_seen, 2);
	assert_int_equal(muxer_streams(c.mux), 0);
	assert_int_equal(muxer_pages(c.mux), 0);
	/* The resampler's tail came out at the end: every sample. */
	assert_int_equal(encoder_samples(enc), 48000);
	frames = walk_mp3(c.out.buf, c.out.len, &rate_i, &mode, &kbps_i, &cbr);
	assert_int_equal(rate_i, 1); /* 48000 */
	assert_int_equal(mode, 3);   /* mono */
	assert_int_equal(kbps_i, 5); /* 64 kbit/s */
	assert_true(cbr);
	/* 1 s is 41.7 frames of 1152; LAME adds its delay and padding. */
	assert_in_range(frames, 42, 46);
	encoder_free(enc);
	collect_free(&c);

	init_cfg(&cfg, name, 44100, 2, 2.0);
	cfg.codec = CODEC_MP3;
	enc = encoder_new(&cfg, 44100, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(enc);
	collect_init(&c);
	write_uneven(enc, pcm, 2, 44100, &c);
	assert_int_equal(encoder_finish(enc, collect_cb, &c), 0);
	frames = walk_mp3(c.out.buf, c.out.len, &rate_i, &mode, &kbps_i, &cbr);
	assert_int_equal(rate_i, 0); /* 44100 */
	assert_int_not_equal(mode, 3);
	assert_in_range(frames, 39, 43);
	free(pcm);
	encoder_free(enc);
	collect_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_sine_roundtrip),
		cmocka_unit_test(test_silence_length),
		cmocka_unit_test(test_set_tags_chain),
		cmocka_unit_test(test_resample_mono),
		cmocka_unit_test(test_surround_channel_order),
		cmocka_unit_test(test_managed_mode),
		cmocka_unit_test(test_impossible_settings),
		cmocka_unit_test(test_mp3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
