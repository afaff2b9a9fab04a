/* SPDX-License-Identifier: MIT */
/*
 * Page-batched encoding: the programme PCM the engine holds back from its
 * encoders until a page can close, and the rule for when it must go.
 *
 * A listener can hear nothing of a page before the page closes (Icecast
 * 2.4.4 re-pages Vorbis and serves only whole ~0.5 s pages; files and
 * Opus are paged at 0.5 s by relay itself), so encoding each 46 ms block
 * the moment it arrives buys no latency. The engine still renders, meters
 * and processes every block as it comes, but hands the encoders the held
 * blocks together, once the next page's end is near: libvorbis then runs
 * a few times per page on warm caches instead of once per block.
 *
 * The rule (encode_batch_due()): encode now when the caller reports that
 * some output's page can close within ENCODE_BATCH_MARGIN_BLOCKS blocks of
 * what is held (encoder_frames_until() on packet_queue_due()), or when it
 * cannot tell, or when one more block would not fit the bound (0.6 s, cut
 * to whole blocks). Within the margin every block is encoded as it comes,
 * as before, so the packet that closes a page comes out in the call that
 * receives the frames that complete it. The margin covers the encoder's
 * delay changing (a Vorbis short block) between the estimate and then.
 *
 * The caller's rounds (encode_batch_wait_frames()) end on the block grid
 * of the frames held, or on the frame where a page can close when that
 * comes first: the page-closing packet then comes out when its last frame
 * is in, not up to a block (46 ms) later, and the blocks after it end where
 * they did. A page the estimate placed too late (a short block it could
 * not foresee) still goes out no later than at its block's end.
 *
 * Threads: none of its own; one caller at a time (the engine, under its
 * lock).
 */
#ifndef RELAY_ENCODE_BATCH_H
#define RELAY_ENCODE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Never hold more than this (the page of 0.5 s, plus what a block adds). */
#define ENCODE_BATCH_MAX_MS 600
/* Blocks before a page's end from which every block is encoded at once. */
#define ENCODE_BATCH_MARGIN_BLOCKS 2

struct encode_batch;

/* Owned: free with encode_batch_free(). Holds up to ENCODE_BATCH_MAX_MS of
 * interleaved float frames at rate_hz, in blocks of up to block_frames
 * (at least one block). NULL on OOM. */
struct encode_batch *encode_batch_new(
    int rate_hz, int channels, size_t block_frames);
void encode_batch_free(struct encode_batch *b);

/* Holds n frames (n <= block_frames) that came in at made_mono_ns: the
 * packets they complete count as made then (an archive's file boundary,
 * lag, listen-back), not when the batch is encoded up to 0.6 s later.
 * -ENOSPC when they do not fit (the caller encodes what is held first;
 * encode_batch_due() says so before). */
int encode_batch_hold(struct encode_batch *b, const float *frames, size_t n,
    int64_t made_mono_ns);

/* The holds since the last clear, oldest first, and hold i (< parts): its
 * frames (borrowed until the next call) and count, and its made time. */
size_t encode_batch_parts(const struct encode_batch *b);
size_t encode_batch_part(const struct encode_batch *b, size_t i,
    const float **frames, int64_t *made_mono_ns);

/* The frames held, oldest first (borrowed until the next call). */
size_t encode_batch_frames(const struct encode_batch *b, const float **frames);

/* Forgets the frames held (they were encoded). */
void encode_batch_clear(struct encode_batch *b);

/* Largest number of frames it ever holds. */
size_t encode_batch_capacity(const struct encode_batch *b);

/* How many frames the caller should wait for before its next round, lacks
 * as in encode_batch_due(): up to the end of the block under way (blocks
 * counted over every frame ever held), or up to the frame where a page can
 * close when that comes first, so the page-closing packet comes out on the
 * frame that completes it, not up to a block later. With most_blocks > 1
 * (the engine may take several blocks in one wake-up, engine.c), whole
 * blocks more while the page stays beyond the margin and they fit the
 * bound, at most most_blocks in all, the one under way included: a round
 * always ends on the block grid. */
size_t encode_batch_wait_frames(
    const struct encode_batch *b, int64_t lacks, size_t most_blocks);

/* Whether the frames held must go to the encoders now. lacks: the fewest
 * programme frames, counted from what the encoders already have, that an
 * output's next page still needs before it can close; < 0 when unknown
 * (then always), INT64_MAX when no output waits for one. */
bool encode_batch_due(const struct encode_batch *b, int64_t lacks);

#endif
