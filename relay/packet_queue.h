/* SPDX-License-Identifier: MIT */
/*
 * Bounded FIFO of packets between the engine thread (producer) and one
 * output thread (consumer). The bound is in bytes, taken from the output's
 * queue setting, and in packets, a fixed capacity (packet_queue_new()).
 * The producer never waits: when a push would exceed either bound, the
 * queue drops everything it holds (whole packets), counts the bytes, and
 * marks a gap so the consumer starts a fresh Ogg chain instead of sending
 * a stream with a hole in it.
 *
 * Threads: one producer, one consumer, and no lock: the producer's side
 * (packet_queue_push(), packet_queue_due()) is wait-free, takes no lock
 * and frees nothing; whatever an overflow drops is released by the
 * consumer's next packet_queue_pop(), packet_queue_wait() or
 * packet_queue_clear(). The consumer sleeps on an eventfd that the
 * producer writes only when the consumer's batch is complete. Each side
 * may move between threads if its calls are ordered (relay's engine
 * pushes under its slot mutex, from engine_reconfigure_commit() too).
 */
#ifndef RELAY_PACKET_QUEUE_H
#define RELAY_PACKET_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

struct packet_queue;

/* Owned: free with packet_queue_free(), which drops queued references.
 * max_packets is rounded up to a power of two (at least 64, at most
 * PACKET_QUEUE_MAX_PACKETS): the slots are allocated here, 8 bytes each,
 * and a push never allocates. A queue full by count overflows as one full
 * by bytes does. NULL on OOM or when no eventfd can be made. */
struct packet_queue *packet_queue_new(size_t max_bytes, size_t max_packets);
void packet_queue_free(struct packet_queue *q);

#define PACKET_QUEUE_MAX_PACKETS ((size_t)1 << 20)

/* Takes a new reference on p when accepted. Returns false when the queue
 * overflowed: the old contents were dropped (their references are
 * released on the consumer's side) and p is queued after the gap, or,
 * when the consumer has not yet released an earlier backlog and no slot
 * is free, dropped with it (counted too). Runs on: the producer thread. */
bool packet_queue_push(struct packet_queue *q, struct packet *p);

/* Returns the oldest packet (owned reference: caller unrefs) or NULL after
 * timeout_ns or packet_queue_wake(). *gap is set when packets were dropped
 * just before this one. Runs on: the consumer thread. */
struct packet *packet_queue_pop(
    struct packet_queue *q, int64_t timeout_ns, bool *gap);

/* A consumer blocked in packet_queue_wait() is woken only once the queued
 * packets span granules samples of audio (or the stream ends, or a new
 * encoder restarts the count): one wake-up per page instead of one per
 * packet. 0 (the default) wakes it at every packet. Any thread. */
void packet_queue_set_batch(struct packet_queue *q, int64_t granules);

/* Counts the next batch from granule (the start of the consumer's open
 * page, so it wakes at the packet that completes that page) instead of
 * from the last packet popped, which is the default. one_more: the batch
 * is ready only once another packet follows the one that completes it
 * (a consumer that holds each packet back until the next comes, as the
 * muxer does, has nothing to send before). granule < 0: no change. A pop
 * returns to the default. Runs on: the consumer thread. */
void packet_queue_set_batch_from(
    struct packet_queue *q, int64_t granule, bool one_more);

/* Granule position of the packet that completes the consumer's batch, or
 * -1 when any packet would or none can be named yet; *one_more (when not
 * NULL): the consumer also waits for the packet after it
 * (packet_queue_set_batch_from()). The engine encodes in batches that end
 * there (encode_batch.h). Runs on: the producer thread (two atomic loads,
 * four at most). */
int64_t packet_queue_due(struct packet_queue *q, bool *one_more);

/* Waits up to timeout_ns (CLOCK_MONOTONIC) for a batch (see
 * packet_queue_set_batch) or a packet_queue_wake(), which it leaves for
 * the next pop to consume. Returns whether a batch is queued; the caller
 * then pops with timeout 0. Runs on: the consumer thread. */
bool packet_queue_wait(struct packet_queue *q, int64_t timeout_ns);

/* Drops everything queued (not counted as dropped; the next packet still
 * follows a gap). Runs on: the consumer thread. */
void packet_queue_clear(struct packet_queue *q);

/* Wakes a consumer blocked in packet_queue_pop() or packet_queue_wait().
 * Any thread. */
void packet_queue_wake(struct packet_queue *q);

/* Bytes queued (a snapshot). Any thread. */
size_t packet_queue_bytes(struct packet_queue *q);

/* Bytes dropped by overflow since the last call (reset to 0). Runs on: the
 * consumer thread. */
uint64_t packet_queue_take_dropped(struct packet_queue *q);

#endif
