/* SPDX-License-Identifier: MIT */
/*
 * Ogg paging for one output (libogg). The engine's encoder makes Vorbis
 * packets once (packet.h); every output runs its own muxer over them, so
 * each output can open a fresh Ogg logical stream whenever it needs one:
 * after muxer_reset() (a new connection), after a queue gap, and when the
 * packets' header set changes (a metadata change or an encoder restart).
 *
 * DESIGN
 *
 * One packet is always held back. The last packet of a logical stream must
 * carry e_o_s, and we only learn that a packet was the last one when the
 * next call shows a new chain, an eos packet, or muxer_end().
 *
 * Stream start (Vorbis I spec, section 4.3.1): page 0 holds only the
 * identification header with b_o_s; comment and setup follow, and the
 * stream is flushed so the first audio packet begins a fresh page.
 *
 * Granule positions are rebased per stream. The first audio packet of a
 * stream gets 0, later ones p->granulepos minus that first packet's
 * position. A Vorbis decoder outputs nothing for a stream's first audio
 * packet (it only fills the overlap), and each later packet yields exactly
 * its granule difference, so the rebased positions are exact.
 *
 * Chain change: the old stream ends with the held packet marked e_o_s; the
 * new stream then starts with that same packet as its first audio packet.
 * There it only primes the decoder's overlap, so the next packet decodes to
 * the same samples it would have in the old stream and no block is lost.
 * This needs the same identification and setup headers in both streams
 * (true for a comment-only change); when they differ (a new encoder), the
 * held packet cannot prime the new decoder and the new stream begins with
 * the new packet instead. After a gap or a reset the old stream is gone:
 * no e_o_s is written for it and the new stream begins with the next
 * packet. (At a gap the pages libogg already holds are still flushed:
 * the connection is alive and that audio is whole.) When the write
 * callback fails, the stream is abandoned the same way, so the next packet
 * never continues a stream that is missing a page.
 *
 * Opus (RFC 7845). The header set has two packets (OpusHead, OpusTags)
 * and granule positions count 48 kHz samples from the stream's start,
 * pre-skip included; every packet carries its duration (packet.samples).
 * A stream that starts with the encoder's first packet (packetno 0) uses
 * the encoder's pre-skip (its lookahead) and its granules unchanged. Any
 * other start is cut from a running encoder, and a decoder needs about
 * 80 ms to converge (RFC 7845 section 4.2), so the stream begins with at
 * least that much pre-roll: packets already sent, whose samples OpusHead's
 * pre-skip tells the decoder to drop. At a chain change the pre-roll is
 * the end of the old stream (kept in hist), so the new stream's first
 * audible sample follows the old stream's last one. After a reset or a gap
 * the muxer first collects 80 ms of packets (written nowhere) and starts
 * with them as pre-roll; a new listener misses those 80 ms. Granules are
 * rebased to the start of the first pre-roll packet. After muxer_split()
 * an Opus stream starts the same way as at a chain change: the end of the
 * previous file's stream is the new one's pre-roll.
 *
 * Split (muxer_split(), an archive file boundary): the same as a chain
 * change, with the two streams in different files. The old stream ends
 * with the held packet marked e_o_s; the packet is kept and the next
 * stream, started by the next muxer_packet(), begins with it. A decoder of
 * the new file alone then produces exactly the samples that follow the old
 * file's last one: none lost, none doubled.
 *
 * Page bound: silence costs under 1 kbit/s, so libogg's own rule (about
 * 4 KiB per page) would make pages of several seconds. A page is flushed
 * before a packet that would take it past max_page_ms of audio and right
 * after a packet that brings it to max_page_ms, so no page spans more than
 * max_page_ms unless one packet alone is longer.
 *
 * Icecast pages (muxer_set_icecast_pages(), Vorbis only). Icecast 2.4.4
 * re-pages a Vorbis source for its listeners (format_vorbis.c): it takes
 * each packet out of our pages, adds it to its own stream one packet late
 * (when the next one arrives) and flushes its page once the packets added
 * since its last page span more than rate/2 samples. Its listeners get
 * nothing of a page before that, so the delay of a click inside Icecast is
 * set by when the packet after that crossing one reaches it, and by
 * nothing we page earlier. Its source thread also serves its listeners
 * only when it has made a page or the source socket has been quiet for
 * 250 ms (source.c get_next_buffer()): with our pages every 50 ms the
 * socket is never quiet, and a new listener waits one Icecast page to be
 * let in and another for its first audio, 1 to 2 s instead of ~0.3 s
 * (12_reconnect_fast, 26_listener_start). So in this mode the muxer follows
 * Icecast's count (the same rebased granules: Icecast starts its count at
 * the first audio packet, 0 for us too) and ends a page right after the
 * packet that makes Icecast flush: one page per Icecast page, sent the
 * moment Icecast can pass it on, and the socket quiet in between. That
 * packet is written as soon as it arrives, not held back for the next one
 * (one packet, ~23 ms, less delay); when the packet after it starts a new
 * chain, that packet ends the old stream with e_o_s and begins the new one,
 * as the held packet does otherwise (same codec setup); when it cannot (a
 * new encoder), the packet sent at once is written again with e_o_s and
 * its own granule, which decoders trim to nothing. The time bound
 * becomes 2 x rate/2, a safety net only. The model leaves out
 * Icecast's 4 KiB byte rule (loud audio at high quality): libogg's own
 * pageout already cuts our pages there, and a miss costs delay, never
 * correctness.
 *
 * Threads: one muxer per output thread.
 * Runs on: that output's thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ogg/ogg.h>

#include "muxer.h"
#include "opus_header.h"
#include "packet.h"
#include "util.h"

/* Largest Ogg page: 27-byte header, 255 lacing values, 255 * 255 body. */
#define MUXER_PAGE_MAX_BYTES (27 + 255 + 255 * 255)
#define MUXER_DEFAULT_PAGE_MS 500
/* Pre-roll packets kept: 80 ms of the shortest (2.5 ms) frames, plus one. */
#define MUXER_HIST_MAX 40
#define MUXER_HEAD_MAX 64 /* OpusHead copy; family 0 needs 19 bytes */

struct muxer {
	int64_t max_page_ms;
	ogg_stream_state os;
	unsigned char *page_buf; /* MUXER_PAGE_MAX_BYTES */

	bool follow_tags;		/* re-chain on a new comment header */
	bool active;			/* a logical stream is open */
	struct stream_headers *headers; /* of the open stream (ref) */
	uint32_t serial;
	struct packet *held; /* last packet, not yet written (ref) */
	/* Icecast pages: the last packet when it went out at once (ref),
	 * held == NULL; end_stream() writes it again to carry e_o_s. */
	struct packet *sent;
	struct packet *carry; /* muxer_split(): opens the next stream (ref) */
	int64_t base_granule; /* encoder granule of first audio */
	int64_t page_granule; /* rebased granule at last page end */
	int64_t page_limit_samples; /* max_page_ms at the header rate */
	int64_t packetno;	    /* next packet number in the stream */

	/* Icecast pages (see DESIGN): rebased granule where Icecast's last
	 * page ended, its flush threshold, and whether the crossing packet
	 * was written (the page ends after the next one). */
	bool icecast_pages;
	int64_t icecast_end;
	int64_t icecast_trigger;
	bool icecast_due;

	/* Opus: the last packets written (or collected before a start),
	 * oldest first, at least OPUS_HEADER_PREROLL_SAMPLES once full. */
	struct packet *hist[MUXER_HIST_MAX];
	size_t n_hist;
	int64_t hist_samples;

	uint64_t pages;
	uint64_t streams;
};

struct muxer *
muxer_new(int64_t max_page_ms)
{
	struct muxer *m;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->max_page_ms = max_page_ms > 0 ? max_page_ms : MUXER_DEFAULT_PAGE_MS;
	m->follow_tags = true;
	m->page_buf = malloc(MUXER_PAGE_MAX_BYTES);
	if (m->page_buf == NULL)
		goto fail;
	/* The serial is replaced at every stream start (reset_serialno). */
	if (ogg_stream_init(&m->os, 0) != 0)
		goto fail;
	return m;

fail:
	free(m->page_buf);
	free(m);
	return NULL;
}

/* Forgets the open stream, if any, without writing anything. */
static void
drop_stream(struct muxer *m)
{
	packet_unref(m->held);
	m->held = NULL;
	packet_unref(m->sent);
	m->sent = NULL;
	headers_unref(m->headers);
	m->headers = NULL;
	m->active = false;
}

static void
hist_drop_oldest(struct muxer *m)
{
	m->hist_samples -= m->hist[0]->samples;
	packet_unref(m->hist[0]);
	memmove(m->hist, m->hist + 1, (m->n_hist - 1) * sizeof(m->hist[0]));
	m->n_hist--;
}

static void
hist_clear(struct muxer *m)
{
	while (m->n_hist > 0)
		hist_drop_oldest(m);
}

/* Remembers p; keeps only as many packets as the pre-roll needs. */
static void
hist_push(struct muxer *m, struct packet *p)
{
	if (m->n_hist == MUXER_HIST_MAX)
		hist_drop_oldest(m);
	m->hist[m->n_hist++] = packet_ref(p);
	m->hist_samples += p->samples;
	while (m->n_hist > 1 && m->hist_samples - m->hist[0]->samples >=
				    OPUS_HEADER_PREROLL_SAMPLES)
		hist_drop_oldest(m);
}

/* Forgets the packet muxer_split() kept for the next stream. */
static void
drop_carry(struct muxer *m)
{
	packet_unref(m->carry);
	m->carry = NULL;
}

void
muxer_free(struct muxer *m)
{
	if (m == NULL)
		return;
	drop_stream(m);
	hist_clear(m);
	drop_carry(m);
	ogg_stream_clear(&m->os);
	free(m->page_buf);
	free(m);
}

static int
write_page(struct muxer *m, const ogg_page *og, muxer_write_cb *cb, void *arg)
{
	size_t head = (size_t)og->header_len, body = (size_t)og->body_len;
	int64_t granule;

	if (head + body > MUXER_PAGE_MAX_BYTES)
		return -EOVERFLOW;
	memcpy(m->page_buf, og->header, head);
	memcpy(m->page_buf + head, og->body, body);
	m->pages++;
	granule = (int64_t)ogg_page_granulepos(og);
	if (granule >= 0)
		m->page_granule = granule;
	return cb(m->page_buf, head + body, arg);
}

/* Writes the pages libogg has ready; with flush, everything buffered. */
static int
write_pages(struct muxer *m, bool flush, muxer_write_cb *cb, void *arg)
{
	ogg_page og;
	int rc;

	for (;;) {
		if (flush)
			rc = ogg_stream_flush(&m->os, &og);
		else
			rc = ogg_stream_pageout(&m->os, &og);
		if (rc == 0)
			return 0;
		rc = write_page(m, &og, cb, arg);
		if (rc < 0)
			return rc;
	}
}

static uint32_t
new_serial(const struct muxer *m)
{
	uint32_t serial;

	/* Never reuse the serial of the stream just replaced. */
	do {
		serial = util_random_u32();
	} while (m->streams > 0 && serial == m->serial);
	return serial;
}

/* Whether pages follow Icecast's Vorbis re-paging (see DESIGN). */
static bool
aligned(const struct muxer *m, const struct stream_headers *h)
{
	return m->icecast_pages && !h->opus && !h->raw;
}

/*
 * Opens a logical stream for header set h: new serial, the headers (three
 * for Vorbis; OpusHead with this preskip and OpusTags for Opus), flushed
 * so audio starts on a fresh page. base_granule is the caller's.
 */
static int
start_stream(struct muxer *m, struct stream_headers *h, int preskip,
    muxer_write_cb *cb, void *arg)
{
	unsigned char head[MUXER_HEAD_MAX];
	ogg_packet op;
	int i, n_headers = h->opus ? 2 : 3;

	if (h->opus && (h->bytes[0] > sizeof(head) ||
			   opus_header_preskip(h->packet[0], h->bytes[0]) < 0))
		return -EINVAL;

	m->serial = new_serial(m);
	/* Reinterpreting the random bits as libogg's int is intended. */
	if (ogg_stream_reset_serialno(&m->os, (int)m->serial) != 0)
		return -ENOMEM;
	headers_unref(m->headers);
	m->headers = headers_ref(h);
	m->active = true;
	m->streams++;
	m->page_granule = 0;
	m->page_limit_samples = m->max_page_ms * h->rate_hz / 1000;
	m->icecast_end = 0;
	m->icecast_due = false;
	m->icecast_trigger = h->rate_hz / 2;
	if (aligned(m, h))
		m->page_limit_samples = 2 * m->icecast_trigger;
	if (m->page_limit_samples < 1)
		m->page_limit_samples = 1;
	for (i = 0; i < n_headers; i++) {
		memset(&op, 0, sizeof(op));
		op.packet = h->packet[i];
		op.bytes = (long)h->bytes[i];
		if (h->opus && i == 0) {
			memcpy(head, h->packet[0], h->bytes[0]);
			if (opus_header_set_preskip(
				head, h->bytes[0], preskip) < 0)
				return -EINVAL;
			op.packet = head;
		}
		op.b_o_s = i == 0;
		op.granulepos = 0;
		op.packetno = i;
		if (ogg_stream_packetin(&m->os, &op) != 0)
			return -ENOMEM;
	}
	m->packetno = n_headers;
	return write_pages(m, true, cb, arg);
}

/* Writes one audio packet into the open stream, paging by duration. */
static int
write_audio(
    struct muxer *m, struct packet *p, bool eos, muxer_write_cb *cb, void *arg)
{
	ogg_packet op;
	int64_t granule;
	bool flush;
	int rc;

	granule = p->granulepos - m->base_granule;
	if (granule < 0)
		granule = 0;
	/* Close the page first if this packet would take it past the bound. */
	if (granule - m->page_granule > m->page_limit_samples) {
		rc = write_pages(m, true, cb, arg);
		if (rc < 0)
			return rc;
	}
	memset(&op, 0, sizeof(op));
	op.packet = p->data;
	op.bytes = (long)p->bytes;
	op.e_o_s = eos;
	op.granulepos = granule;
	op.packetno = m->packetno++;
	if (ogg_stream_packetin(&m->os, &op) != 0)
		return -ENOMEM;
	if (m->headers->opus)
		hist_push(m, p);
	flush = eos || granule - m->page_granule >= m->page_limit_samples;
	if (aligned(m, m->headers)) {
		/* Icecast flushes when the packet after the crossing one
		 * arrives: that packet ends our page. */
		if (m->icecast_due) {
			flush = true;
			m->icecast_due = false;
		} else if (granule - m->icecast_end > m->icecast_trigger) {
			m->icecast_end = granule;
			m->icecast_due = true;
		}
	}
	return write_pages(m, flush, cb, arg);
}

/* Ends the open stream with the held packet marked e_o_s. Under Icecast
 * pages the last packet may have gone out at once, nothing held: it is
 * written again with e_o_s and the same granule, so that the stream still
 * ends (a chain without it lost Icecast's last packet and ended without
 * e_o_s for its listeners) and decoders trim all the copy adds. */
static int
end_stream(struct muxer *m, muxer_write_cb *cb, void *arg)
{
	int rc = 0;

	if (m->active && m->held != NULL)
		rc = write_audio(m, m->held, true, cb, arg);
	else if (m->active && m->sent != NULL)
		rc = write_audio(m, m->sent, true, cb, arg);
	drop_stream(m);
	return rc;
}

/* Whether a packet made for a can prime a decoder set up with b, and
 * continue its granule count (the same encoder instance). */
static bool
same_codec_setup(const struct stream_headers *a, const struct stream_headers *b)
{
	return a->encoder_id == b->encoder_id && a->rate_hz == b->rate_hz &&
	       a->channels == b->channels && a->bytes[0] == b->bytes[0] &&
	       a->bytes[2] == b->bytes[2] &&
	       memcmp(a->packet[0], b->packet[0], a->bytes[0]) == 0 &&
	       memcmp(a->packet[2], b->packet[2], a->bytes[2]) == 0;
}

/*
 * Opens an Opus stream for p (no stream open): from the encoder's start,
 * or with pre-roll. carried: hist holds the end of the stream just ended
 * (a chain change), so p is the first audible packet. Otherwise p joins
 * the collected pre-roll. *wait = true: still collecting, p is kept.
 */
static int
opus_start(struct muxer *m, struct packet *p, bool carried, bool *wait,
    muxer_write_cb *cb, void *arg)
{
	struct packet *roll[MUXER_HIST_MAX];
	size_t i, n_roll, n_write;
	int64_t preskip;
	int rc = 0;

	*wait = false;
	if (!carried && m->n_hist == 0 && p->packetno == 0) {
		rc = start_stream(m, p->headers, p->headers->preskip, cb, arg);
		m->base_granule = 0;
		return rc;
	}
	if (!carried) {
		if (m->n_hist > 0 &&
		    !same_codec_setup(
			m->hist[m->n_hist - 1]->headers, p->headers))
			hist_clear(m);
		hist_push(m, p);
		if (m->hist_samples < OPUS_HEADER_PREROLL_SAMPLES && !p->eos) {
			*wait = true;
			return 0;
		}
	}
	/* hist becomes the pre-roll; write_audio() refills it. */
	n_roll = m->n_hist;
	memcpy(roll, m->hist, n_roll * sizeof(roll[0]));
	preskip = m->hist_samples;
	m->n_hist = 0;
	m->hist_samples = 0;
	rc = start_stream(m, p->headers, (int)preskip, cb, arg);
	if (rc == 0) {
		m->base_granule = roll[0]->granulepos - roll[0]->samples;
		/* Without a carry, p is the last of the pre-roll: the caller
		 * holds it like any packet. */
		n_write = carried ? n_roll : n_roll - 1;
		for (i = 0; i < n_write && rc == 0; i++)
			rc = write_audio(m, roll[i], false, cb, arg);
	}
	for (i = 0; i < n_roll; i++)
		packet_unref(roll[i]);
	return rc;
}

/* muxer_packet() for Opus streams; see DESIGN. */
static int
opus_packet(
    struct muxer *m, struct packet *p, bool gap, muxer_write_cb *cb, void *arg)
{
	bool carried = false, wait;
	int rc = 0;

	if (gap) {
		if (m->active) {
			rc = write_pages(m, true, cb, arg);
			drop_stream(m);
		}
		hist_clear(m);
		if (rc < 0)
			goto out;
	}
	if (m->carry != NULL) {
		/* muxer_split(): hist holds the end of the stream just ended,
		 * the pre-roll of the next one (unless a gap or a new encoder
		 * broke the sequence). */
		carried = !m->active && m->n_hist > 0 &&
			  same_codec_setup(
			      m->hist[m->n_hist - 1]->headers, p->headers);
		drop_carry(m);
		if (!carried)
			hist_clear(m);
	}
	if (m->active && p->headers->chain_id != m->headers->chain_id &&
	    !m->follow_tags && same_codec_setup(m->headers, p->headers)) {
		headers_unref(m->headers);
		m->headers = headers_ref(p->headers);
	}
	if (m->active && p->headers->chain_id != m->headers->chain_id) {
		carried = same_codec_setup(m->headers, p->headers);
		rc = end_stream(m, cb, arg);
		if (rc < 0)
			goto out;
		if (!carried)
			hist_clear(m);
		carried = carried && m->n_hist > 0;
	}
	if (!m->active) {
		rc = opus_start(m, p, carried, &wait, cb, arg);
		if (rc < 0 || wait)
			goto out;
	}
	if (m->held != NULL) {
		rc = write_audio(m, m->held, false, cb, arg);
		packet_unref(m->held);
		m->held = NULL;
		if (rc < 0)
			goto out;
	}
	if (p->eos) {
		rc = write_audio(m, p, true, cb, arg);
		drop_stream(m);
		hist_clear(m);
		goto out;
	}
	m->held = packet_ref(p);
out:
	if (rc < 0) {
		drop_stream(m);
		hist_clear(m);
	}
	return rc;
}

int
muxer_packet(
    struct muxer *m, struct packet *p, bool gap, muxer_write_cb *cb, void *arg)
{
	struct packet *carry = NULL;
	int rc;

	if (m == NULL || p == NULL || p->headers == NULL || cb == NULL)
		return -EINVAL;
	if (p->headers->opus)
		return opus_packet(m, p, gap, cb, arg);
	if (p->headers->raw) {
		/* MP3: the frames are the stream, nothing to page. */
		drop_stream(m);
		return cb(p->data, p->bytes, arg);
	}
	if (gap && m->active) {
		/*
		 * Packets were lost: this stream cannot go on. What libogg
		 * already holds is contiguous audio the peer can still use,
		 * so flush it; the held packet and the EOS are dropped.
		 */
		rc = write_pages(m, true, cb, arg);
		drop_stream(m);
		if (rc < 0)
			return rc;
	}
	if (m->active && p->headers->chain_id != m->headers->chain_id &&
	    !m->follow_tags && same_codec_setup(m->headers, p->headers)) {
		/* Only the comments changed and this output keeps one
		 * unbroken stream (metadata = none | admin). */
		headers_unref(m->headers);
		m->headers = headers_ref(p->headers);
	}
	if (m->active && p->headers->chain_id != m->headers->chain_id) {
		bool p_ends_old = m->held == NULL && !p->eos &&
				  same_codec_setup(m->headers, p->headers);
		/* No held packet (Icecast pages sent the last one at once):
		 * p ends the old stream and begins the new one. */
		if (p_ends_old)
			m->held = packet_ref(p);
		if (m->held != NULL && same_codec_setup(m->headers, p->headers))
			carry = packet_ref(m->held);
		rc = end_stream(m, cb, arg);
		if (rc < 0)
			goto out;
		rc = start_stream(m, p->headers, 0, cb, arg);
		if (rc < 0)
			goto out;
		if (carry != NULL) {
			m->base_granule = carry->granulepos;
			rc = write_audio(m, carry, false, cb, arg);
			if (rc < 0 || p_ends_old)
				goto out;
		} else {
			m->base_granule = p->granulepos;
		}
	} else if (!m->active) {
		/* After muxer_split() the new stream starts with the old
		 * one's last packet, unless a gap or a new encoder broke the
		 * sequence. */
		if (m->carry != NULL && !gap &&
		    same_codec_setup(m->carry->headers, p->headers) &&
		    m->carry->granulepos <= p->granulepos)
			carry = m->carry;
		else
			packet_unref(m->carry);
		m->carry = NULL;
		rc = start_stream(m, p->headers, 0, cb, arg);
		if (rc < 0)
			goto out;
		if (carry != NULL) {
			m->base_granule = carry->granulepos;
			rc = write_audio(m, carry, false, cb, arg);
			if (rc < 0)
				goto out;
		} else {
			m->base_granule = p->granulepos;
		}
	}

	if (m->held != NULL) {
		rc = write_audio(m, m->held, false, cb, arg);
		packet_unref(m->held);
		m->held = NULL;
		if (rc < 0)
			goto out;
	}
	if (p->eos) {
		/* The encoder's last packet: the stream ends here. */
		rc = write_audio(m, p, true, cb, arg);
		drop_stream(m);
		goto out;
	}
	if (aligned(m, m->headers) && m->icecast_due) {
		/* p ends Icecast's page: out now (see DESIGN). */
		rc = write_audio(m, p, false, cb, arg);
		packet_unref(m->sent);
		m->sent = packet_ref(p);
		goto out;
	}
	packet_unref(m->sent);
	m->sent = NULL;
	m->held = packet_ref(p);
	rc = 0;
out:
	/* A stream with a page missing must not go on: start afresh. */
	if (rc < 0)
		drop_stream(m);
	packet_unref(carry);
	return rc;
}

void
muxer_set_follow_tags(struct muxer *m, bool follow)
{
	m->follow_tags = follow;
}

int
muxer_end(struct muxer *m, muxer_write_cb *cb, void *arg)
{
	if (m == NULL || cb == NULL)
		return -EINVAL;
	drop_carry(m);
	return end_stream(m, cb, arg);
}

int
muxer_split(struct muxer *m, muxer_write_cb *cb, void *arg)
{
	struct packet *keep;
	int rc;

	if (m == NULL || cb == NULL)
		return -EINVAL;
	drop_carry(m);
	keep = m->active && m->held != NULL ? packet_ref(m->held) : NULL;
	rc = end_stream(m, cb, arg);
	if (rc < 0) {
		packet_unref(keep);
		return rc;
	}
	m->carry = keep;
	return 0;
}

void
muxer_reset(struct muxer *m)
{
	if (m == NULL)
		return;
	drop_stream(m);
	hist_clear(m);
	drop_carry(m);
}

void
muxer_set_icecast_pages(struct muxer *m, bool on)
{
	m->icecast_pages = on;
}

int64_t
muxer_page_due(const struct muxer *m)
{
	if (m == NULL || !m->active)
		return -1;
	if (!aligned(m, m->headers))
		return m->base_granule + m->page_granule +
		       m->page_limit_samples;
	/* The page ends with the packet written after the crossing one, and
	 * a packet is written when the next one arrives (one is held). */
	if (m->icecast_due ||
	    (m->held != NULL && m->held->granulepos - m->base_granule >
				    m->icecast_end + m->icecast_trigger))
		return m->held != NULL ? m->held->granulepos + 1
				       : m->base_granule + m->page_granule;
	return m->base_granule + m->icecast_end + m->icecast_trigger + 1;
}

bool
muxer_page_due_waits_next(const struct muxer *m)
{
	int64_t due = muxer_page_due(m);

	if (due < 0)
		return false;
	/* Icecast pages: crossed already (the held packet or one sent at
	 * once), any next packet ends the page; not yet, the crossing packet
	 * is held and the one after it ends the page. */
	if (aligned(m, m->headers))
		return !(m->icecast_due ||
			 (m->held != NULL &&
			     m->held->granulepos - m->base_granule >
				 m->icecast_end + m->icecast_trigger));
	/* Time bound: the packet reaching it is held, and written (with the
	 * page flushed after it) when the next one comes; a held packet past
	 * the bound already means any next packet writes the page. */
	return m->held == NULL || m->held->granulepos < due;
}

int64_t
muxer_page_start(const struct muxer *m)
{
	return m != NULL && m->active ? m->base_granule + m->page_granule : -1;
}

uint32_t
muxer_chain_id(const struct muxer *m)
{
	return m != NULL && m->active ? m->headers->chain_id : 0;
}

bool
muxer_stream_silent(const struct muxer *m)
{
	const struct packet *last;

	if (m == NULL || !m->active)
		return false;
	last = m->held != NULL ? m->held : m->sent;
	return last == NULL || last->granulepos - m->base_granule <= 0;
}

uint64_t
muxer_pages(const struct muxer *m)
{
	return m != NULL ? m->pages : 0;
}

uint64_t
muxer_streams(const struct muxer *m)
{
	return m != NULL ? m->streams : 0;
}
