/* SPDX-License-Identifier: MIT */
/*
 * Lock-free single-producer single-consumer ring of interleaved float
 * frames, carrying PCM from an input thread to the engine thread. See
 * ring.h for the contract.
 *
 * DESIGN
 * The read and write indexes count frames since ring_new() and are never
 * masked when stored: they run freely and wrap at SIZE_MAX + 1, which is a
 * multiple of the power-of-two capacity, so (write - read) is always the
 * fill level and (index & mask) is always the slot. Only the producer
 * stores write_index and only the consumer stores read_index. Each side
 * loads the other side's index with acquire and publishes its own with
 * release after touching the data, so the frames a reader sees are the
 * frames the writer copied (the spa_ringbuffer pattern).
 *
 * The writer wakes the reader through an eventfd, but only when the
 * reader is waiting and the fill has reached what it waits for: a reader
 * that wants a 2048-frame block is not woken by every 20 ms chunk, and a
 * reader that is busy costs the writer no write(2). ring_wait() publishes
 * want_frames, then checks the fill; ring_write() publishes the new write
 * index, then reads want_frames. A seq_cst fence on each side between the
 * store and the load means at least one of them sees the other's store, so
 * a write that lands between the reader's check and its poll still wakes
 * it (the Dekker pattern). The eventfd is drained after each wake-up.
 * ring_wake() sets a flag before it writes the eventfd, so a waiting
 * reader can tell a shutdown wake-up from new data.
 *
 * Nothing allocates or locks after ring_new(); write(2) on an eventfd
 * never blocks here (EFD_NONBLOCK) and a full counter only means a wake-up
 * is already pending.
 *
 * Threads: ring_write() from one producer thread; ring_read() and
 * ring_wait() from one consumer thread; ring_readable(), ring_channels()
 * and ring_wake() from any thread.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "util.h"

/* Keeps the two indexes on separate cache lines (no false sharing). */
#define RING_CACHE_LINE 64

struct ring {
	alignas(RING_CACHE_LINE) atomic_size_t write_index;
	alignas(RING_CACHE_LINE) atomic_size_t read_index;
	alignas(RING_CACHE_LINE) atomic_bool wake_pending;
	atomic_size_t want_frames; /* 0, or what a waiting reader waits for */
	atomic_size_t page_at;	   /* write_index of ring_set_page_at(), 0 */
	size_t size_frames;	   /* a power of two */
	size_t mask;
	int channels;
	int efd;
	float *data; /* size_frames * channels samples */
};

/* Smallest power of two >= n, or 0 when that does not fit in a size_t. */
static size_t
round_up_pow2(size_t n)
{
	size_t p = 1;

	while (p < n) {
		if (p > SIZE_MAX / 2)
			return 0;
		p <<= 1;
	}
	return p;
}

struct ring *
ring_new(size_t capacity_frames, int channels)
{
	struct ring *r = NULL;
	size_t size_frames, samples, alloc_bytes;

	if (channels <= 0 || capacity_frames == 0)
		return NULL;
	size_frames = round_up_pow2(capacity_frames);
	if (size_frames == 0 || size_frames > SIZE_MAX / (size_t)channels)
		return NULL;
	samples = size_frames * (size_t)channels;
	if (samples > SIZE_MAX / sizeof(float))
		return NULL;

	/* aligned_alloc() wants a size that is a multiple of the alignment. */
	alloc_bytes =
	    (sizeof(*r) + RING_CACHE_LINE - 1) & ~(size_t)(RING_CACHE_LINE - 1);
	r = aligned_alloc(RING_CACHE_LINE, alloc_bytes);
	if (r == NULL)
		return NULL;
	memset(r, 0, alloc_bytes);
	r->efd = -1;
	atomic_init(&r->write_index, 0);
	atomic_init(&r->read_index, 0);
	atomic_init(&r->wake_pending, false);
	atomic_init(&r->want_frames, 0);
	atomic_init(&r->page_at, 0);
	r->size_frames = size_frames;
	r->mask = size_frames - 1;
	r->channels = channels;
	r->data = calloc(samples, sizeof(float));
	if (r->data == NULL)
		goto fail;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0)
		goto fail;
	return r;

fail:
	ring_free(r);
	return NULL;
}

void
ring_free(struct ring *r)
{
	if (r == NULL)
		return;
	if (r->efd >= 0)
		close(r->efd);
	free(r->data);
	free(r);
}

/* Runs on: the producer (input) thread. */
size_t
ring_write(struct ring *r, const float *frames, size_t n)
{
	size_t w, rd, space, pos, first, want, ch = (size_t)r->channels;

	/* Our own index needs no ordering; the reader's needs acquire so
	 * that its reads of the slots we are about to reuse are done. */
	w = atomic_load_explicit(&r->write_index, memory_order_relaxed);
	rd = atomic_load_explicit(&r->read_index, memory_order_acquire);
	space = r->size_frames - (w - rd);
	if (n > space)
		n = space;
	if (n == 0)
		return 0;

	pos = w & r->mask;
	first = r->size_frames - pos;
	if (first > n)
		first = n;
	memcpy(r->data + pos * ch, frames, first * ch * sizeof(float));
	if (n > first)
		memcpy(r->data, frames + first * ch,
		    (n - first) * ch * sizeof(float));

	atomic_store_explicit(&r->write_index, w + n, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	want = atomic_load_explicit(&r->want_frames, memory_order_relaxed);
	if (want != 0 && w + n - rd >= want &&
	    atomic_exchange_explicit(
		&r->want_frames, 0, memory_order_relaxed) != 0)
		util_eventfd_signal(r->efd);
	return n;
}

size_t
ring_capacity(const struct ring *r)
{
	return r->size_frames;
}

size_t
ring_wanted(struct ring *r)
{
	return atomic_load_explicit(&r->want_frames, memory_order_relaxed);
}

/* Runs on: the consumer (engine) thread. */
size_t
ring_read(struct ring *r, float *frames, size_t n)
{
	size_t rd, w, avail, pos, first, ch = (size_t)r->channels;

	rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);
	w = atomic_load_explicit(&r->write_index, memory_order_acquire);
	avail = w - rd;
	if (n > avail)
		n = avail;
	if (n == 0)
		return 0;

	pos = rd & r->mask;
	first = r->size_frames - pos;
	if (first > n)
		first = n;
	memcpy(frames, r->data + pos * ch, first * ch * sizeof(float));
	if (n > first)
		memcpy(frames + first * ch, r->data,
		    (n - first) * ch * sizeof(float));

	/* Release: our copies out of the slots happen before the writer
	 * may overwrite them. */
	atomic_store_explicit(&r->read_index, rd + n, memory_order_release);
	return n;
}

size_t
ring_readable(struct ring *r)
{
	size_t rd, w;

	rd = atomic_load_explicit(&r->read_index, memory_order_acquire);
	w = atomic_load_explicit(&r->write_index, memory_order_acquire);
	return w - rd;
}

int
ring_channels(const struct ring *r)
{
	return r->channels;
}

/*
 * Runs on: the consumer thread.
 * A timeout_ns <= 0 checks once without waiting. A ring_wake() makes the
 * call return at once with whatever is readable; the wake-up is consumed.
 */
size_t
ring_wait(struct ring *r, size_t min_frames, int64_t timeout_ns)
{
	int64_t deadline_ns;
	size_t avail;

	deadline_ns = util_now_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
	if (min_frames == 0)
		min_frames = 1;
	if (min_frames > r->size_frames)
		min_frames = r->size_frames;
	for (;;) {
		atomic_store_explicit(
		    &r->want_frames, min_frames, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		avail = ring_readable(r);
		if (avail >= min_frames)
			break;
		if (atomic_exchange_explicit(
			&r->wake_pending, false, memory_order_acq_rel))
			break;
		if (!util_eventfd_wait_until(r->efd, deadline_ns))
			break;
	}
	atomic_store_explicit(&r->want_frames, 0, memory_order_relaxed);
	return avail;
}

void
ring_set_page_at(struct ring *r, size_t frames)
{
	size_t rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);

	atomic_store_explicit(
	    &r->page_at, frames > 0 ? rd + frames : 0, memory_order_relaxed);
}

size_t
ring_page_lacks(struct ring *r)
{
	size_t at = atomic_load_explicit(&r->page_at, memory_order_relaxed);
	size_t w = atomic_load_explicit(&r->write_index, memory_order_relaxed);

	/* Unsigned indexes wrap: "ahead" is a difference under the ring. */
	return at != 0 && at - w - 1 < r->size_frames ? at - w : 0;
}

void
ring_wake(struct ring *r)
{
	atomic_store_explicit(&r->wake_pending, true, memory_order_release);
	util_eventfd_signal(r->efd);
}
