/* SPDX-License-Identifier: MIT */
/*
 * Refcounted Vorbis and Opus packets and the header sets they belong to.
 * See packet.h for the design: the engine makes a packet once and every
 * output queue shares it read-only.
 *
 * Each header set gets a chain_id from one process-wide atomic counter that
 * starts at 1, so two header sets never share an id and 0 can mean "none".
 *
 * Threads: every function is thread-safe. References are C11 atomics; the
 * last unref frees (release on every decrement, acquire before the free, so
 * the freeing thread sees every write made before the other references were
 * dropped).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "util.h"

static atomic_uint_least32_t next_chain_id = 1;

static uint32_t
chain_id_next(void)
{
	uint32_t id;

	/* 0 is reserved for "no chain"; skip it if the counter ever wraps. */
	do {
		id = (uint32_t)atomic_fetch_add(&next_chain_id, 1);
	} while (id == 0);
	return id;
}

struct stream_headers *
headers_new(int rate_hz, int channels, const char *title, const char *artist,
    const unsigned char *const pkt[3], const size_t bytes[3])
{
	struct stream_headers *h;
	int i;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	atomic_init(&h->refs, 1);
	h->rate_hz = rate_hz;
	h->channels = channels;
	h->chain_id = chain_id_next();
	util_strlcpy(h->title, title != NULL ? title : "", sizeof(h->title));
	util_strlcpy(
	    h->artist, artist != NULL ? artist : "", sizeof(h->artist));
	for (i = 0; i < 3; i++) {
		/* malloc(0) may return NULL: always ask for at least 1 byte. */
		h->packet[i] = malloc(bytes[i] > 0 ? bytes[i] : 1);
		if (h->packet[i] == NULL)
			goto fail;
		if (bytes[i] > 0)
			memcpy(h->packet[i], pkt[i], bytes[i]);
		h->bytes[i] = bytes[i];
	}
	return h;

fail:
	for (i = 0; i < 3; i++)
		free(h->packet[i]);
	free(h);
	return NULL;
}

struct stream_headers *
headers_ref(struct stream_headers *h)
{
	if (h != NULL)
		atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	return h;
}

void
headers_unref(struct stream_headers *h)
{
	int i;

	if (h == NULL)
		return;
	/* acq_rel rather than release + an acquire fence: the same
	 * ordering, and ThreadSanitizer understands it. */
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < 3; i++)
		free(h->packet[i]);
	free(h);
}

struct packet *
packet_new(struct stream_headers *headers, const unsigned char *data,
    size_t bytes, int64_t granulepos, int64_t packetno, bool eos)
{
	struct packet *p;

	p = malloc(sizeof(*p) + bytes);
	if (p == NULL)
		return NULL;
	atomic_init(&p->refs, 1);
	p->headers = headers_ref(headers);
	p->granulepos = granulepos;
	p->packetno = packetno;
	p->eos = eos;
	p->made_mono_ns = util_now_mono_ns();
	p->samples = 0;
	p->bytes = bytes;
	if (bytes > 0)
		memcpy(p->data, data, bytes);
	return p;
}

struct packet *
packet_ref(struct packet *p)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void
packet_unref(struct packet *p)
{
	if (p == NULL)
		return;
	/* acq_rel rather than release + an acquire fence: the same
	 * ordering, and ThreadSanitizer understands it. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	headers_unref(p->headers);
	free(p);
}
