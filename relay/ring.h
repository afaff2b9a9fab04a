/* SPDX-License-Identifier: MIT */
/*
 * Lock-free single-producer single-consumer ring of interleaved float PCM
 * frames (input thread -> engine thread). Indexes are C11 atomics with
 * acquire/release ordering; the writer wakes the reader through an eventfd,
 * so neither side ever takes a lock. The writer never waits: when the ring
 * is full, ring_write() writes what fits and the caller counts an overflow.
 *
 * Threads: ring_write() from exactly one producer thread, ring_read() and
 * ring_wait() from exactly one consumer thread; ring_readable() from either.
 */
#ifndef RELAY_RING_H
#define RELAY_RING_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The block the engine reads at a time (2048 frames, one Vorbis long
 * block, 46 ms at 44.1 kHz). It waits for one, or for several while only
 * live plays and no page can close before they are in (engine.c); the
 * stdin input paces its reads to what it waits for (input.c). */
#define RING_ENGINE_BLOCK_FRAMES 2048

struct ring;

/* Owned: caller frees with ring_free(). NULL on OOM or eventfd failure. */
struct ring *ring_new(size_t capacity_frames, int channels);
void ring_free(struct ring *r);

/* Copies up to n frames in; returns how many fit. Never blocks. */
size_t ring_write(struct ring *r, const float *frames, size_t n);

/* Copies up to n frames out; returns how many. Never blocks. */
size_t ring_read(struct ring *r, float *frames, size_t n);

size_t ring_readable(struct ring *r);
/* Frames the ring holds: the capacity asked for, rounded up to a power
 * of two. Any thread. */
size_t ring_capacity(const struct ring *r);
int ring_channels(const struct ring *r);

/* Waits until at least min_frames are readable or timeout_ns passed.
 * Returns the readable count (may be < min_frames on timeout). */
size_t ring_wait(struct ring *r, size_t min_frames, int64_t timeout_ns);

/* The fill a reader blocked in ring_wait() waits for, 0 when none waits
 * (or it was already signalled): the stdin input paces its reads to it
 * (input.c). Any thread. */
size_t ring_wanted(struct ring *r);

/* The reader says where its next page can close: `frames` past what it
 * has read (0: none known). The engine sets it each round
 * (encode_batch_wait_frames()); the stdin input never sleeps past it, so
 * the frame that completes a page is read on time even when the engine's
 * wait for it begins after the input went to sleep (input.c). Reader
 * thread. */
void ring_set_page_at(struct ring *r, size_t frames);

/* Frames still to write before that point; 0 when none is known or it is
 * written. Any thread. */
size_t ring_page_lacks(struct ring *r);

/* Wakes a reader blocked in ring_wait() (shutdown, and the engine's
 * control calls). Any thread. */
void ring_wake(struct ring *r);

#endif
