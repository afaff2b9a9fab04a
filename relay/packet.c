/* SPDX-License-Identifier: MIT */
/*
 * Refcounted Vorbis and Opus packets and the header sets they belong to.
 * See packet.h for the design: the engine makes a packet once and every
 * output queue shares it read-only.
 *
 * Each header set gets a chain_id from one process-wide atomic counter that
 * starts at 1, so two header sets never share an id and 0 can mean "none".
 *
 * The packet pool: a packet whose data fits PACKET_POOL_DATA is made in a
 * fixed-size slot, and its last unref (on an output thread, usually)
 * pushes the slot on `pool_shared`, a lock-free stack (compare-and-swap on
 * the head). packet_new() takes slots from `pool_own`: it swaps the whole
 * list out (exchange with NULL), takes the first slot and puts the rest
 * back; when that is empty it takes all of `pool_shared` the same way.
 * Taking whole lists with an exchange, never one node with a
 * compare-and-swap, is what keeps the stack free of the ABA problem. Two
 * threads making packets at once (not the case in relay: the engine makes
 * them all) stay correct: one finds the list empty and calls malloc().
 * At most PACKET_POOL_KEEP free slots are kept (~256 kB): the slots a
 * long queue backlog needed go back to malloc once it drained.
 *
 * Under AddressSanitizer a slot in the pool is poisoned, all but its
 * next_free link (which the stack reads while the slot waits), so a use
 * of a packet after its last unref is reported as it would be after a
 * free(); packet_new() unpoisons the slot it hands out.
 *
 * Threads: every function is thread-safe. References are C11 atomics; the
 * last unref frees (release on every decrement, acquire before the free, so
 * the freeing thread sees every write made before the other references were
 * dropped).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PACKET_POOL_POISON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PACKET_POOL_POISON 1
#endif
#endif
#ifdef PACKET_POOL_POISON
#include <sanitizer/asan_interface.h>
#endif

/* Data bytes of a pooled packet: a slot is one 1 KiB allocation. Vorbis
 * q4 packets average ~370 bytes, Opus 64 kbit/s ~160, MP3 128 kbit/s
 * ~420; bigger ones are malloc()ed. */
#define PACKET_POOL_SLOT 1024
#define PACKET_POOL_DATA (PACKET_POOL_SLOT - sizeof(struct packet))
#define PACKET_POOL_KEEP 256

static atomic_uint_least32_t next_chain_id = 1;
static _Atomic(struct packet *) pool_shared; /* freed slots (any thread) */
static _Atomic(struct packet *) pool_own;    /* taken by packet_new() */
static atomic_int pool_count;		     /* slots in both lists */

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

/* Poisons slot p as it goes into the pool (before it is published: the
 * thread that takes it unpoisons it), all but its next_free link. */
static void
pool_poison(struct packet *p)
{
#ifdef PACKET_POOL_POISON
	const size_t link = offsetof(struct packet, next_free);
	const size_t after = link + sizeof(p->next_free);

	ASAN_POISON_MEMORY_REGION(p, link);
	ASAN_POISON_MEMORY_REGION((char *)p + after, PACKET_POOL_SLOT - after);
#else
	(void)p;
#endif
}

static void
pool_unpoison(struct packet *p)
{
#ifdef PACKET_POOL_POISON
	ASAN_UNPOISON_MEMORY_REGION(p, PACKET_POOL_SLOT);
#else
	(void)p;
#endif
}

/* Pushes a slot on the shared free stack. Any thread. */
static void
pool_push(struct packet *p)
{
	struct packet *head =
	    atomic_load_explicit(&pool_shared, memory_order_relaxed);

	do {
		p->next_free = head;
	} while (!atomic_compare_exchange_weak_explicit(&pool_shared, &head, p,
	    memory_order_release, memory_order_relaxed));
}

/* A free slot, or NULL when the pool is empty (see the top of the file).
 * Any thread. */
static struct packet *
pool_take(void)
{
	struct packet *p, *rest, *expect = NULL;

	p = atomic_exchange_explicit(&pool_own, NULL, memory_order_acquire);
	if (p == NULL)
		p = atomic_exchange_explicit(
		    &pool_shared, NULL, memory_order_acquire);
	if (p == NULL)
		return NULL;
	rest = p->next_free;
	if (rest != NULL &&
	    !atomic_compare_exchange_strong_explicit(&pool_own, &expect, rest,
		memory_order_release, memory_order_relaxed)) {
		/* Another thread refilled pool_own meanwhile: ours go back
		 * on the shared stack, one by one. */
		while (rest != NULL) {
			struct packet *next = rest->next_free;
			pool_push(rest);
			rest = next;
		}
	}
	atomic_fetch_sub_explicit(&pool_count, 1, memory_order_relaxed);
	return p;
}

struct packet *
packet_new(struct stream_headers *headers, const unsigned char *data,
    size_t bytes, int64_t granulepos, int64_t packetno, bool eos)
{
	struct packet *p = NULL;
	bool pooled = bytes <= PACKET_POOL_DATA;

	if (pooled) {
		p = pool_take();
		if (p != NULL)
			pool_unpoison(p);
		else
			p = malloc(PACKET_POOL_SLOT);
	} else {
		p = malloc(sizeof(*p) + bytes);
	}
	if (p == NULL)
		return NULL;
	atomic_init(&p->refs, 1);
	p->pooled = pooled;
	p->next_free = NULL;
	p->headers = headers_ref(headers);
	p->granulepos = granulepos;
	p->packetno = packetno;
	p->eos = eos;
	p->made_mono_ns = util_now_mono_ns();
	p->samples = 0;
	/* A recycled slot must not keep its last packet's hash. */
	atomic_init(&p->hash, 0);
	p->bytes = bytes;
	if (bytes > 0)
		memcpy(p->data, data, bytes);
	return p;
}

uint64_t
packet_data_hash(const unsigned char *data, size_t bytes)
{
	uint64_t h = util_hash(UTIL_HASH_INIT, data, bytes);

	return util_hash(h, &bytes, sizeof(bytes));
}

uint64_t
packet_hash(struct packet *p)
{
	uint64_t h = atomic_load_explicit(&p->hash, memory_order_relaxed);

	/* Relaxed is enough: the value depends only on bytes that were
	 * published with the packet, so any thread storing it stores the
	 * same value, and a reader that sees 0 computes it itself. */
	if (h == 0) {
		h = packet_data_hash(p->data, p->bytes);
		atomic_store_explicit(&p->hash, h, memory_order_relaxed);
	}
	return h;
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
	if (p->pooled && atomic_fetch_add_explicit(&pool_count, 1,
			     memory_order_relaxed) < PACKET_POOL_KEEP) {
		pool_poison(p);
		pool_push(p);
		return;
	}
	if (p->pooled)
		atomic_fetch_sub_explicit(&pool_count, 1, memory_order_relaxed);
	free(p);
}
