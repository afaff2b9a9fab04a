/* SPDX-License-Identifier: MIT */
/*
 * Bounded FIFO of refcounted packets from the engine thread to one output
 * thread. See packet_queue.h for the contract.
 *
 * DESIGN
 * A single-producer single-consumer ring of packet pointers, C11 atomics
 * and no lock (issue 11: the engine takes no lock an output thread holds).
 * Its capacity is fixed at creation, so a push never allocates; output.c
 * sizes it to hold the output's queue setting of audio at twice the
 * encoding's usual packet rate (PACKET_QUEUE_MAX_PACKETS caps it).
 *
 * Indexes and byte counters count from creation and are never masked when
 * stored (64 bits: they do not wrap). The producer alone stores `tail`
 * (packets pushed), `pushed_bytes` and the overflow mark; the consumer
 * alone stores `head` (packets it has released) and `popped_bytes`. Each
 * side loads the other's index with acquire and publishes its own with
 * release after touching the slots, so a slot is reused only once the
 * consumer is done with it (the ring.c pattern).
 *
 * Overflow: when a push would take the queue past max_bytes, or the ring
 * is full, the producer does not touch the backlog. It publishes a mark,
 * `drop_to` = its tail: every packet before that index is dropped, and the
 * packet at it follows a gap. The consumer applies the mark at its next
 * pop, wait or clear: it unrefs the packets between its head and the mark
 * (off the engine thread: a 30 s queue holds over a thousand of them) and
 * reports a gap with the packet at the mark. Dropping everything, not
 * just the oldest packets, is deliberate: an output that fell that far
 * behind must start a fresh Ogg chain anyway, and keeping half a backlog
 * would only delay it with stale audio. While a dropped backlog still
 * fills the ring (the consumer is stuck in a write), a push has no free
 * slot: that packet is dropped too (counted in `lost_bytes`), and as the
 * mark is the tail, the next packet queued still follows a gap.
 *
 * Bytes: the producer counts its backlog as pushed_bytes minus the larger
 * of popped_bytes (what the consumer released) and drop_bytes (pushed_bytes
 * at the mark). Dropped bytes are the consumer's sum: everything before
 * the later of its head and the mark, less what it popped or cleared,
 * plus what the producer dropped without queueing (`lost_bytes`). So a
 * packet popped while the producer was marking it is never counted as
 * both sent and dropped.
 *
 * Wake-ups: the consumer sleeps in ppoll() on an eventfd (a relative
 * timeout, measured on CLOCK_MONOTONIC: a wall-clock step neither
 * stretches nor cuts it). Before it sleeps it sets `waiting` and checks
 * the queue again; the producer publishes its tail, then reads `waiting`,
 * and writes the eventfd only when the consumer's batch is complete (or a
 * backlog waits to be released), clearing `waiting` with an exchange so
 * one batch costs one write(2), as the condition variable's signal did.
 * A seq_cst fence on each side between the store and the load means at
 * least one sees the other's (the Dekker pattern), so a batch completed
 * between the consumer's check and its ppoll() still wakes it. The batch
 * settings are atomics the producer reads: batch_granules, and `from`
 * packed with one_more in one word so the producer never sees half an
 * update. An eventfd per queue also lets one thread poll many queues and
 * sockets, should the outputs ever share one.
 *
 * Threads: packet_queue_push() and packet_queue_due() from the producer;
 * packet_queue_pop(), packet_queue_wait(), packet_queue_set_batch_from(),
 * packet_queue_clear() and packet_queue_take_dropped() from the consumer;
 * packet_queue_set_batch(), packet_queue_wake() and packet_queue_bytes()
 * from any thread. The producer-only and consumer-only plain fields need
 * each side's calls ordered, not on one thread (packet_queue.h).
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "packet.h"
#include "packet_queue.h"
#include "util.h"

/* Keeps each side's hot fields on its own cache line. */
#define PACKET_QUEUE_CACHE_LINE 64
#define PACKET_QUEUE_MIN_PACKETS 64

struct packet_queue {
	/* Stored by the producer only. */
	alignas(PACKET_QUEUE_CACHE_LINE) atomic_uint_fast64_t tail;
	atomic_uint_fast64_t pushed_bytes;
	atomic_uint_fast64_t drop_to;	 /* the overflow mark (DESIGN) */
	atomic_uint_fast64_t drop_bytes; /* pushed_bytes at drop_to */
	atomic_uint_fast64_t lost_bytes; /* dropped without being queued */
	int64_t first_granule;		 /* of the oldest packet not dropped */
	int64_t prev_granule;		 /* of the packet pushed last */

	/* Stored by the consumer only. */
	alignas(PACKET_QUEUE_CACHE_LINE) atomic_uint_fast64_t head;
	atomic_uint_fast64_t popped_bytes; /* popped, cleared or dropped */
	/* from * 2 + one_more (packet_queue_set_batch_from), or < 0: count
	 * from the oldest packet queued. */
	atomic_int_fast64_t batch_from;
	uint64_t sent_bytes;	/* popped */
	uint64_t cleared_bytes; /* released by packet_queue_clear() */
	uint64_t taken_bytes;	/* dropped, as packet_queue_take_dropped()
				   reported so far */
	bool gap_pending;	/* a clear: the next pop follows a gap */

	/* Either side. */
	alignas(PACKET_QUEUE_CACHE_LINE) atomic_bool waiting;
	atomic_bool wake_pending;
	atomic_int_fast64_t batch_granules;

	/* Set at creation. */
	struct packet **slots;
	uint64_t nslots; /* a power of two */
	size_t max_bytes;
	int efd;
};

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

struct packet_queue *
packet_queue_new(size_t max_bytes, size_t max_packets)
{
	struct packet_queue *q;
	uint64_t n = PACKET_QUEUE_MIN_PACKETS;

	/* aligned_alloc: the cache-line alignment of the struct. */
	q = aligned_alloc(PACKET_QUEUE_CACHE_LINE,
	    (sizeof(*q) + PACKET_QUEUE_CACHE_LINE - 1) /
		PACKET_QUEUE_CACHE_LINE * PACKET_QUEUE_CACHE_LINE);
	if (q == NULL)
		return NULL;
	while (n < max_packets && n < PACKET_QUEUE_MAX_PACKETS)
		n *= 2;
	atomic_init(&q->tail, 0);
	atomic_init(&q->pushed_bytes, 0);
	atomic_init(&q->drop_to, 0);
	atomic_init(&q->drop_bytes, 0);
	atomic_init(&q->lost_bytes, 0);
	q->first_granule = 0;
	q->prev_granule = 0;
	atomic_init(&q->head, 0);
	atomic_init(&q->popped_bytes, 0);
	atomic_init(&q->batch_from, -1);
	q->sent_bytes = 0;
	q->cleared_bytes = 0;
	q->taken_bytes = 0;
	q->gap_pending = false;
	atomic_init(&q->waiting, false);
	atomic_init(&q->wake_pending, false);
	atomic_init(&q->batch_granules, 0);
	q->nslots = n;
	q->max_bytes = max_bytes;
	q->slots = calloc((size_t)n, sizeof(*q->slots));
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->slots == NULL || q->efd < 0) {
		if (q->efd >= 0)
			close(q->efd);
		free(q->slots);
		free(q);
		return NULL;
	}
	return q;
}

/* Unrefs the packets from the consumer's head up to index `to` and
 * publishes the new head. Returns the bytes released. Runs on: the
 * consumer thread (or whoever frees the queue). */
static uint64_t
release_to(struct packet_queue *q, uint64_t to)
{
	uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t bytes = 0;
	struct packet *p;

	if (to <= h)
		return 0;
	for (; h < to; h++) {
		p = q->slots[h & (q->nslots - 1)];
		bytes += p->bytes;
		packet_unref(p);
	}
	atomic_store_explicit(&q->popped_bytes,
	    atomic_load_explicit(&q->popped_bytes, memory_order_relaxed) +
		bytes,
	    memory_order_release);
	/* Release: the slots are read (and unref'd) before the producer may
	 * reuse them. */
	atomic_store_explicit(&q->head, to, memory_order_release);
	return bytes;
}

/* Applies the producer's overflow mark: releases the dropped backlog.
 * Returns the mark. Runs on: the consumer thread. */
static uint64_t
apply_drop(struct packet_queue *q)
{
	/* Acquire: the slots before the mark are written. */
	uint64_t d = atomic_load_explicit(&q->drop_to, memory_order_acquire);

	(void)release_to(q, d);
	return d;
}

void
packet_queue_free(struct packet_queue *q)
{
	if (q == NULL)
		return;
	(void)release_to(
	    q, atomic_load_explicit(&q->tail, memory_order_acquire));
	close(q->efd);
	free(q->slots);
	free(q);
}

void
packet_queue_set_batch(struct packet_queue *q, int64_t granules)
{
	atomic_store_explicit(
	    &q->batch_granules, granules, memory_order_relaxed);
}

void
packet_queue_set_batch_from(
    struct packet_queue *q, int64_t granule, bool one_more)
{
	if (granule < 0)
		return;
	atomic_store_explicit(&q->batch_from, granule * 2 + (one_more ? 1 : 0),
	    memory_order_relaxed);
}

/* Whether a consumer waiting for a batch should wake for the packets
 * queued: they reach batch_granules past `from` (the start of the
 * consumer's open page, the last packet it took, else the oldest queued),
 * with one_more a packet after the one that reaches it, or they end the
 * stream, or restart the granule count (a new encoder). newest and
 * before_newest (valid when count >= 2) are granules of the last two
 * packets; oldest that of the first. */
static bool
batch_ready(const struct packet_queue *q, uint64_t count, int64_t oldest,
    const struct packet *newest, int64_t before_newest)
{
	int64_t bg, bf, from, last;

	if (count == 0)
		return false;
	bg = atomic_load_explicit(&q->batch_granules, memory_order_relaxed);
	if (bg <= 0)
		return true;
	bf = atomic_load_explicit(&q->batch_from, memory_order_relaxed);
	from = bf >= 0 ? bf / 2 : oldest;
	if (newest->eos || newest->granulepos < from)
		return true;
	last = newest->granulepos;
	if (bf >= 0 && (bf & 1) != 0) {
		if (count < 2)
			return false;
		last = before_newest;
	}
	return last - from >= bg;
}

int64_t
packet_queue_due(struct packet_queue *q, bool *one_more)
{
	int64_t bg, bf;
	uint64_t t, h, d;

	if (one_more != NULL)
		*one_more = false;
	bg = atomic_load_explicit(&q->batch_granules, memory_order_relaxed);
	if (bg <= 0)
		return -1;
	bf = atomic_load_explicit(&q->batch_from, memory_order_relaxed);
	if (bf >= 0) {
		if (one_more != NULL)
			*one_more = (bf & 1) != 0;
		return bf / 2 + bg;
	}
	t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	h = atomic_load_explicit(&q->head, memory_order_relaxed);
	d = atomic_load_explicit(&q->drop_to, memory_order_relaxed);
	return t > max_u64(h, d) ? q->first_granule + bg : -1;
}

/*
 * Runs on: the producer (engine) thread. Wait-free: loads, stores, one
 * exchange and, when the consumer's batch is complete, one write(2).
 * A packet larger than max_bytes on its own is still queued (after the
 * backlog is dropped), so the consumer can make progress.
 */
bool
packet_queue_push(struct packet_queue *q, struct packet *p)
{
	uint64_t t, h, d, pushed, gone, queued, count;
	bool overflow, wake;

	t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	d = atomic_load_explicit(&q->drop_to, memory_order_relaxed);
	pushed = atomic_load_explicit(&q->pushed_bytes, memory_order_relaxed);
	/* Acquire: the consumer is done with the slots before its head. */
	h = atomic_load_explicit(&q->head, memory_order_acquire);
	gone = max_u64(
	    atomic_load_explicit(&q->popped_bytes, memory_order_acquire),
	    atomic_load_explicit(&q->drop_bytes, memory_order_relaxed));
	queued = pushed > gone ? pushed - gone : 0;
	count = t - max_u64(h, d);
	overflow =
	    count > 0 && (t - h == q->nslots || p->bytes > q->max_bytes ||
			     queued > q->max_bytes - p->bytes);
	if (overflow) {
		/* Release, both: a consumer that sees the mark sees every
		 * slot before it, and one that sees drop_bytes (counting
		 * what was dropped) sees the mark, so it pops none of it. */
		atomic_store_explicit(&q->drop_to, t, memory_order_release);
		atomic_store_explicit(
		    &q->drop_bytes, pushed, memory_order_release);
		count = 0;
	}
	if (t - h == q->nslots) {
		/* The consumer has not released an earlier backlog yet: no
		 * free slot, so p goes too (the mark stays at t, so the next
		 * packet queued follows the gap). */
		atomic_store_explicit(&q->lost_bytes,
		    atomic_load_explicit(&q->lost_bytes, memory_order_relaxed) +
			p->bytes,
		    memory_order_relaxed);
		wake = true;
		goto signal;
	}
	q->slots[t & (q->nslots - 1)] = packet_ref(p);
	if (count == 0)
		q->first_granule = p->granulepos;
	count++;
	atomic_store_explicit(
	    &q->pushed_bytes, pushed + p->bytes, memory_order_relaxed);
	/* Release: the slot is written before the consumer sees it. */
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	/* Only a whole batch wakes the consumer (packet_queue_wait), or a
	 * backlog to release. */
	wake = overflow ||
	       batch_ready(q, count, q->first_granule, p, q->prev_granule);
	q->prev_granule = p->granulepos;
signal:
	/* Our tail (or mark) before the consumer's `waiting`: DESIGN. */
	atomic_thread_fence(memory_order_seq_cst);
	if (wake && atomic_load_explicit(&q->waiting, memory_order_relaxed) &&
	    atomic_exchange_explicit(&q->waiting, false, memory_order_relaxed))
		util_eventfd_signal(q->efd);
	return !overflow && t - h != q->nslots;
}

/*
 * Applies the overflow mark and returns it, with the tail in *tail. The
 * mark is read again after the tail until it has not moved: a mark the
 * producer set before it pushed the packets up to the tail (its ring was
 * full) is then seen with them, and the packet at it reported as
 * following a gap. The tail is never behind the mark. Runs on: the
 * consumer thread.
 */
static uint64_t
consumer_sync(struct packet_queue *q, uint64_t *tail)
{
	uint64_t d;

	d = apply_drop(q);
	for (;;) {
		*tail = atomic_load_explicit(&q->tail, memory_order_acquire);
		if (atomic_load_explicit(&q->drop_to, memory_order_acquire) ==
		    d)
			return d;
		d = apply_drop(q);
	}
}

/* Whether the consumer has a batch worth waking for (batch_ready()), the
 * overflow mark applied first. Runs on: the consumer thread. */
static bool
consumer_ready(struct packet_queue *q)
{
	uint64_t t, h;
	const struct packet *newest;

	(void)consumer_sync(q, &t);
	h = atomic_load_explicit(&q->head, memory_order_relaxed);
	if (t <= h)
		return false;
	newest = q->slots[(t - 1) & (q->nslots - 1)];
	return batch_ready(q, t - h, q->slots[h & (q->nslots - 1)]->granulepos,
	    newest,
	    t - h >= 2 ? q->slots[(t - 2) & (q->nslots - 1)]->granulepos : 0);
}

/* Whether the queue holds a packet, the overflow mark applied first. Runs
 * on: the consumer thread. */
static bool
consumer_any(struct packet_queue *q)
{
	uint64_t t;

	(void)consumer_sync(q, &t);
	return t > atomic_load_explicit(&q->head, memory_order_relaxed);
}

/*
 * Sleeps until ready(q) or a packet_queue_wake() (left pending) or
 * deadline_ns. Returns ready(q) as last seen. Runs on: the consumer
 * thread.
 */
static bool
wait_for(struct packet_queue *q, bool (*ready)(struct packet_queue *),
    int64_t deadline_ns)
{
	bool ok;

	for (;;) {
		atomic_store_explicit(&q->waiting, true, memory_order_relaxed);
		/* Our `waiting` before the producer's tail: DESIGN. */
		atomic_thread_fence(memory_order_seq_cst);
		ok = ready(q);
		if (ok || atomic_load_explicit(
			      &q->wake_pending, memory_order_acquire))
			break;
		if (!util_eventfd_wait_until(q->efd, deadline_ns))
			break;
	}
	atomic_store_explicit(&q->waiting, false, memory_order_relaxed);
	return ok;
}

/*
 * Runs on: the consumer (output) thread.
 * A timeout_ns <= 0 does not wait. A packet_queue_wake() is consumed by
 * the pop it interrupts (or by the next pop that finds the queue empty).
 */
struct packet *
packet_queue_pop(struct packet_queue *q, int64_t timeout_ns, bool *gap)
{
	struct packet *p;
	uint64_t t, h, d;

	if (timeout_ns > 0 && !consumer_any(q))
		(void)wait_for(
		    q, consumer_any, util_now_mono_ns() + timeout_ns);
	d = consumer_sync(q, &t);
	h = atomic_load_explicit(&q->head, memory_order_relaxed);
	if (t <= h) {
		(void)atomic_exchange_explicit(
		    &q->wake_pending, false, memory_order_acq_rel);
		if (gap != NULL)
			*gap = false;
		return NULL;
	}
	p = q->slots[h & (q->nslots - 1)];
	if (gap != NULL)
		/* A mark is never 0: an overflow needs a packet queued. */
		*gap = q->gap_pending || (d != 0 && h == d);
	q->gap_pending = false;
	q->sent_bytes += p->bytes;
	atomic_store_explicit(
	    &q->batch_from, p->granulepos * 2, memory_order_relaxed);
	atomic_store_explicit(&q->popped_bytes,
	    atomic_load_explicit(&q->popped_bytes, memory_order_relaxed) +
		p->bytes,
	    memory_order_release);
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	return p;
}

/* Runs on: the consumer (output) thread. A backlog the producer dropped
 * is released on the way, without ending the wait. */
bool
packet_queue_wait(struct packet_queue *q, int64_t timeout_ns)
{
	return wait_for(q, consumer_ready,
	    util_now_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0));
}

/* Not counted as dropped, but still a hole in the stream: the packet that
 * comes next is marked as following a gap. */
void
packet_queue_clear(struct packet_queue *q)
{
	uint64_t t;

	(void)consumer_sync(q, &t);
	if (t <= atomic_load_explicit(&q->head, memory_order_relaxed))
		return;
	q->cleared_bytes += release_to(q, t);
	q->gap_pending = true;
}

void
packet_queue_wake(struct packet_queue *q)
{
	atomic_store_explicit(&q->wake_pending, true, memory_order_release);
	util_eventfd_signal(q->efd);
}

size_t
packet_queue_bytes(struct packet_queue *q)
{
	uint64_t gone, pushed;
	int tries = 0;

	/* The two sides' counters as of one moment: read again while the
	 * producer pushed in between (a reader preempted between the two
	 * loads would see seconds of pushes against stale releases). */
	do {
		pushed = atomic_load_explicit(
		    &q->pushed_bytes, memory_order_acquire);
		gone = max_u64(atomic_load_explicit(
				   &q->popped_bytes, memory_order_acquire),
		    atomic_load_explicit(&q->drop_bytes, memory_order_acquire));
	} while (pushed != atomic_load_explicit(
			       &q->pushed_bytes, memory_order_acquire) &&
		 ++tries < 8);
	return pushed > gone ? (size_t)(pushed - gone) : 0;
}

uint64_t
packet_queue_take_dropped(struct packet_queue *q)
{
	uint64_t gone, total, n;

	gone = max_u64(
	    atomic_load_explicit(&q->popped_bytes, memory_order_relaxed),
	    atomic_load_explicit(&q->drop_bytes, memory_order_acquire));
	total = gone - q->sent_bytes - q->cleared_bytes +
		atomic_load_explicit(&q->lost_bytes, memory_order_relaxed);
	n = total - q->taken_bytes;
	q->taken_bytes = total;
	return n;
}
