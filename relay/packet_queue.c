/* SPDX-License-Identifier: MIT */
/*
 * Bounded FIFO of refcounted packets from the engine thread to one output
 * thread. See packet_queue.h for the contract.
 *
 * The FIFO is a circular array of packet pointers that grows (doubling)
 * only when it is full, so after the first seconds of a stream a push
 * allocates nothing. The producer allocates the bigger array and frees
 * the old one outside the mutex; under it, it only copies the pointers.
 * The bound is in bytes: when accepting a packet would take the queue
 * past max_bytes, the whole backlog is dropped and a gap is marked.
 * Dropping everything, not just the oldest packets, is deliberate: an
 * output that fell that far behind must start a fresh Ogg chain anyway,
 * and keeping half a backlog would only delay it with stale audio.
 *
 * The engine thread must not spend its block freeing a backlog (a 30 s
 * queue holds over a thousand packets): on overflow it swaps the whole
 * slot array for the spare one and leaves the old array, backlog and
 * all, in `dead` for the consumer, which unrefs it outside the mutex at
 * its next pop or wait and keeps the array as the next spare. Only when
 * a second overflow comes before the consumer reaped the first (no spare
 * yet) does the producer unref the backlog itself.
 *
 * The consumer waits on a condition variable bound to CLOCK_MONOTONIC, so
 * a wall-clock step (NTP, DST) neither stretches nor cuts a timeout.
 *
 * Threads: packet_queue_push() from the producer, packet_queue_pop() and
 * packet_queue_wait() from the consumer; every other function from any
 * thread. One mutex guards everything and is held only for pointer moves
 * (and packet_unref() in the rare cases above and in clear).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "packet.h"
#include "packet_queue.h"
#include "util.h"

#define PACKET_QUEUE_INITIAL_SLOTS 64

struct packet_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct packet **slots; /* circular, nslots is a power of two */
	size_t nslots;
	size_t head; /* index of the oldest packet */
	size_t count;
	size_t bytes;
	size_t max_bytes;
	uint64_t dropped_bytes; /* since the last take_dropped */
	bool gap;		/* the next pop follows dropped packets */
	bool wake;		/* packet_queue_wake() not yet seen by pop */
	int64_t batch_granules; /* see packet_queue_set_batch() */
	int64_t from_granule;	/* the batch counts from here, or -1 */
	bool one_more;		/* ...and needs a packet after its last */
	/* An overflowed backlog for the consumer to unref (above). */
	struct packet **dead;
	size_t dead_nslots, dead_head, dead_count;
	struct packet **spare; /* an empty array to swap in, or NULL */
	size_t spare_nslots;
};

struct packet_queue *
packet_queue_new(size_t max_bytes)
{
	struct packet_queue *q;
	pthread_condattr_t attr;
	bool have_lock = false, have_attr = false;

	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->max_bytes = max_bytes;
	q->from_granule = -1;
	q->nslots = PACKET_QUEUE_INITIAL_SLOTS;
	q->slots = calloc(q->nslots, sizeof(*q->slots));
	q->spare_nslots = PACKET_QUEUE_INITIAL_SLOTS;
	q->spare = calloc(q->spare_nslots, sizeof(*q->spare));
	if (q->slots == NULL || q->spare == NULL)
		goto fail;
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		goto fail;
	have_lock = true;
	if (pthread_condattr_init(&attr) != 0)
		goto fail;
	have_attr = true;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
		goto fail;
	if (pthread_cond_init(&q->cond, &attr) != 0)
		goto fail;
	pthread_condattr_destroy(&attr);
	return q;

fail:
	if (have_attr)
		pthread_condattr_destroy(&attr);
	if (have_lock)
		pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q->spare);
	free(q);
	return NULL;
}

/* Unrefs every queued packet and empties the queue. Returns the bytes
 * removed. Caller holds q->lock. */
static size_t
drop_all_locked(struct packet_queue *q)
{
	size_t removed = q->bytes;

	while (q->count > 0) {
		packet_unref(q->slots[q->head]);
		q->slots[q->head] = NULL;
		q->head = (q->head + 1) & (q->nslots - 1);
		q->count--;
	}
	q->head = 0;
	q->bytes = 0;
	return removed;
}

/*
 * Unrefs an overflowed backlog the producer left (see the top), outside the
 * mutex, and keeps its array as the spare. Caller does not hold q->lock.
 * Runs on: the consumer thread (or whoever frees the queue).
 */
static void
reap(struct packet_queue *q)
{
	struct packet **dead;
	size_t n, head, count, i;

	pthread_mutex_lock(&q->lock);
	dead = q->dead;
	n = q->dead_nslots;
	head = q->dead_head;
	count = q->dead_count;
	q->dead = NULL;
	q->dead_count = 0;
	pthread_mutex_unlock(&q->lock);
	if (dead == NULL)
		return;
	for (i = 0; i < count; i++) {
		packet_unref(dead[(head + i) & (n - 1)]);
		dead[(head + i) & (n - 1)] = NULL;
	}
	pthread_mutex_lock(&q->lock);
	if (q->spare == NULL) {
		q->spare = dead;
		q->spare_nslots = n;
		dead = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	free(dead);
}

/* Drops the backlog on overflow: hands it to the consumer when the spare
 * array is there, else unrefs it here. Returns the bytes dropped. Caller
 * holds q->lock. Runs on: the producer thread. */
static size_t
drop_backlog_locked(struct packet_queue *q)
{
	size_t removed = q->bytes;

	if (q->spare == NULL || q->dead != NULL)
		return drop_all_locked(q);
	q->dead = q->slots;
	q->dead_nslots = q->nslots;
	q->dead_head = q->head;
	q->dead_count = q->count;
	q->slots = q->spare;
	q->nslots = q->spare_nslots;
	q->spare = NULL;
	q->head = 0;
	q->count = 0;
	q->bytes = 0;
	return removed;
}

void
packet_queue_free(struct packet_queue *q)
{
	if (q == NULL)
		return;
	drop_all_locked(q);
	reap(q);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q->spare);
	free(q);
}

/* Moves the queued pointers, in order, into slots (n of them, at least
 * q->count) and returns the old array for the caller to free. Caller
 * holds q->lock. */
static struct packet **
move_to_locked(struct packet_queue *q, struct packet **slots, size_t n)
{
	struct packet **old = q->slots;
	size_t i;

	for (i = 0; i < q->count; i++)
		slots[i] = q->slots[(q->head + i) & (q->nslots - 1)];
	q->slots = slots;
	q->nslots = n;
	q->head = 0;
	return old;
}

/* Whether the consumer has a batch worth waking for: the queued packets
 * reach batch_granules past from_granule (the start of the consumer's open
 * page, or the last packet it took), with one_more a packet after the one
 * that reaches it, or end the stream, or restart the granule count (a new
 * encoder). Caller holds q->lock. */
static bool
batch_ready_locked(const struct packet_queue *q)
{
	const struct packet *newest, *last;
	int64_t from;

	if (q->count == 0)
		return false;
	if (q->batch_granules <= 0)
		return true;
	newest = q->slots[(q->head + q->count - 1) & (q->nslots - 1)];
	from = q->from_granule >= 0 ? q->from_granule
				    : q->slots[q->head]->granulepos;
	if (newest->eos || newest->granulepos < from)
		return true;
	last = newest;
	if (q->one_more) {
		if (q->count < 2)
			return false;
		last = q->slots[(q->head + q->count - 2) & (q->nslots - 1)];
	}
	return last->granulepos - from >= q->batch_granules;
}

void
packet_queue_set_batch(struct packet_queue *q, int64_t granules)
{
	pthread_mutex_lock(&q->lock);
	q->batch_granules = granules;
	pthread_mutex_unlock(&q->lock);
}

void
packet_queue_set_batch_from(
    struct packet_queue *q, int64_t granule, bool one_more)
{
	if (granule < 0)
		return;
	pthread_mutex_lock(&q->lock);
	q->from_granule = granule;
	q->one_more = one_more;
	pthread_mutex_unlock(&q->lock);
}

int64_t
packet_queue_due(struct packet_queue *q, bool *one_more)
{
	int64_t due = -1;

	pthread_mutex_lock(&q->lock);
	if (one_more != NULL)
		*one_more = q->one_more;
	if (q->batch_granules > 0 && q->from_granule >= 0)
		due = q->from_granule + q->batch_granules;
	else if (q->batch_granules > 0 && q->count > 0)
		due = q->slots[q->head]->granulepos + q->batch_granules;
	pthread_mutex_unlock(&q->lock);
	return due;
}

/*
 * Runs on: the producer (engine) thread.
 * A packet larger than max_bytes on its own is still queued (after the
 * backlog is dropped), so the consumer can make progress. A full slot
 * array is doubled: allocated before the mutex is taken, so the consumer
 * never waits on malloc. If it cannot grow (OOM), p itself is dropped
 * with the backlog.
 */
bool
packet_queue_push(struct packet_queue *q, struct packet *p)
{
	struct packet **bigger = NULL, **old = NULL;
	size_t n = 0;
	bool accepted_clean = true;
	bool overflow, wake;

	pthread_mutex_lock(&q->lock);
	overflow = q->count > 0 && (p->bytes > q->max_bytes ||
				       q->bytes > q->max_bytes - p->bytes);
	if (overflow) {
		q->dropped_bytes += drop_backlog_locked(q);
		q->gap = true;
		accepted_clean = false;
	}
	if (q->count == q->nslots) {
		/* Only this thread adds packets: the array is still big
		 * enough for what is queued when the lock is back. */
		n = q->nslots;
		pthread_mutex_unlock(&q->lock);
		if (n <= SIZE_MAX / 2 / sizeof(*bigger))
			bigger = calloc(n * 2, sizeof(*bigger));
		pthread_mutex_lock(&q->lock);
		if (bigger != NULL && q->count == q->nslots)
			old = move_to_locked(q, bigger, n * 2);
		else
			old = bigger; /* room again (a pop), or OOM */
		if (q->count == q->nslots) {
			q->dropped_bytes += drop_all_locked(q) + p->bytes;
			q->gap = true;
			pthread_mutex_unlock(&q->lock);
			free(old);
			return false;
		}
	}
	q->slots[(q->head + q->count) & (q->nslots - 1)] = packet_ref(p);
	q->count++;
	q->bytes += p->bytes;
	/* Only a whole batch wakes the consumer (see packet_queue_wait), or
	 * a backlog to reap. Signalled after the unlock: a consumer woken
	 * under the lock would only block again on the mutex this thread
	 * still holds (one more futex call and context switch each). */
	wake = batch_ready_locked(q) || q->dead != NULL;
	pthread_mutex_unlock(&q->lock);
	if (wake)
		pthread_cond_signal(&q->cond);
	free(old);
	return accepted_clean;
}

/*
 * Runs on: the consumer (output) thread.
 * A timeout_ns <= 0 does not wait. A packet_queue_wake() is consumed by
 * the pop it interrupts (or by the next pop that finds the queue empty).
 */
struct packet *
packet_queue_pop(struct packet_queue *q, int64_t timeout_ns, bool *gap)
{
	struct packet *p = NULL;
	struct timespec ts;
	int64_t deadline_ns;
	bool dead;

	deadline_ns = util_now_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
	ts.tv_sec = (time_t)(deadline_ns / NS_PER_SEC);
	ts.tv_nsec = (long)(deadline_ns % NS_PER_SEC);

	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->wake) {
		if (timeout_ns <= 0 || pthread_cond_timedwait(&q->cond,
					   &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (q->count > 0) {
		p = q->slots[q->head];
		q->slots[q->head] = NULL;
		q->head = (q->head + 1) & (q->nslots - 1);
		q->count--;
		q->bytes -= p->bytes;
		q->from_granule = p->granulepos;
		q->one_more = false;
		if (gap != NULL)
			*gap = q->gap;
		q->gap = false;
	} else {
		q->wake = false;
		if (gap != NULL)
			*gap = false;
	}
	dead = q->dead != NULL;
	pthread_mutex_unlock(&q->lock);
	if (dead)
		reap(q);
	return p;
}

/* Runs on: the consumer (output) thread. A backlog the producer left is
 * reaped on the way, without ending the wait. */
bool
packet_queue_wait(struct packet_queue *q, int64_t timeout_ns)
{
	struct timespec ts;
	int64_t deadline_ns;
	bool ready;

	deadline_ns = util_now_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
	ts.tv_sec = (time_t)(deadline_ns / NS_PER_SEC);
	ts.tv_nsec = (long)(deadline_ns % NS_PER_SEC);
	pthread_mutex_lock(&q->lock);
	while (!(ready = batch_ready_locked(q)) && !q->wake) {
		if (q->dead != NULL) {
			pthread_mutex_unlock(&q->lock);
			reap(q);
			pthread_mutex_lock(&q->lock);
			continue;
		}
		if (timeout_ns <= 0 || pthread_cond_timedwait(&q->cond,
					   &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (!ready)
		ready = batch_ready_locked(q);
	pthread_mutex_unlock(&q->lock);
	return ready;
}

/* Not counted as dropped, but still a hole in the stream: the packet that
 * comes next is marked as following a gap. */
void
packet_queue_clear(struct packet_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->count > 0)
		q->gap = true;
	drop_all_locked(q);
	pthread_mutex_unlock(&q->lock);
	reap(q);
}

void
packet_queue_wake(struct packet_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->wake = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t
packet_queue_bytes(struct packet_queue *q)
{
	size_t bytes;

	pthread_mutex_lock(&q->lock);
	bytes = q->bytes;
	pthread_mutex_unlock(&q->lock);
	return bytes;
}

uint64_t
packet_queue_take_dropped(struct packet_queue *q)
{
	uint64_t dropped;

	pthread_mutex_lock(&q->lock);
	dropped = q->dropped_bytes;
	q->dropped_bytes = 0;
	pthread_mutex_unlock(&q->lock);
	return dropped;
}
