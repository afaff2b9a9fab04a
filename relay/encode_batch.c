/* SPDX-License-Identifier: MIT */
/*
 * Page-batched encoding (encode_batch.h has the design).
 * Runs on: the engine thread, or the main thread under the engine's lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "encode_batch.h"

struct encode_batch {
	float *buf; /* cap_frames * channels */
	size_t cap_frames;
	size_t held;
	size_t block_frames;
	size_t phase; /* frames ever held, modulo block_frames */
	int channels;
	/* The holds: where each ends (frames) and its made time. */
	size_t *part_end;
	int64_t *part_ns;
	size_t n_parts, max_parts;
};

struct encode_batch *
encode_batch_new(int rate_hz, int channels, size_t block_frames)
{
	struct encode_batch *b;
	size_t blocks;

	if (rate_hz <= 0 || channels <= 0 || block_frames == 0)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	blocks = (size_t)rate_hz * ENCODE_BATCH_MAX_MS / 1000 / block_frames;
	if (blocks < 1)
		blocks = 1;
	b->cap_frames = blocks * block_frames;
	b->block_frames = block_frames;
	b->channels = channels;
	/* Whole blocks fill it in `blocks` holds; a short block (a timed-out
	 * read) takes a part of its own too. */
	b->max_parts = 2 * blocks + 2;
	b->buf = calloc(b->cap_frames * (size_t)channels, sizeof(float));
	b->part_end = calloc(b->max_parts, sizeof(*b->part_end));
	b->part_ns = calloc(b->max_parts, sizeof(*b->part_ns));
	if (b->buf == NULL || b->part_end == NULL || b->part_ns == NULL) {
		encode_batch_free(b);
		return NULL;
	}
	return b;
}

void
encode_batch_free(struct encode_batch *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b->part_end);
	free(b->part_ns);
	free(b);
}

int
encode_batch_hold(
    struct encode_batch *b, const float *frames, size_t n, int64_t made_mono_ns)
{
	size_t ch = (size_t)b->channels;

	if (n == 0)
		return 0;
	if (n > b->cap_frames - b->held || b->n_parts == b->max_parts)
		return -ENOSPC;
	memcpy(b->buf + b->held * ch, frames, n * ch * sizeof(float));
	b->held += n;
	b->phase = (b->phase + n) % b->block_frames;
	b->part_end[b->n_parts] = b->held;
	b->part_ns[b->n_parts] = made_mono_ns;
	b->n_parts++;
	return 0;
}

size_t
encode_batch_parts(const struct encode_batch *b)
{
	return b->n_parts;
}

size_t
encode_batch_part(const struct encode_batch *b, size_t i, const float **frames,
    int64_t *made_mono_ns)
{
	size_t start = i > 0 ? b->part_end[i - 1] : 0;

	*frames = b->buf + start * (size_t)b->channels;
	*made_mono_ns = b->part_ns[i];
	return b->part_end[i] - start;
}

size_t
encode_batch_frames(const struct encode_batch *b, const float **frames)
{
	*frames = b->buf;
	return b->held;
}

void
encode_batch_clear(struct encode_batch *b)
{
	b->held = 0;
	b->n_parts = 0;
}

size_t
encode_batch_capacity(const struct encode_batch *b)
{
	return b->cap_frames;
}

bool
encode_batch_due(const struct encode_batch *b, int64_t lacks)
{
	int64_t margin = (int64_t)b->block_frames * ENCODE_BATCH_MARGIN_BLOCKS;

	if (b->held == 0)
		return false;
	if (b->held + b->block_frames > b->cap_frames || lacks < 0)
		return true;
	return lacks - (int64_t)b->held <= margin;
}

size_t
encode_batch_wait_frames(
    const struct encode_batch *b, int64_t lacks, size_t most_blocks)
{
	int64_t block = (int64_t)b->block_frames, k, k_cap;
	int64_t margin = block * ENCODE_BATCH_MARGIN_BLOCKS;
	int64_t rest = lacks - (int64_t)b->held;
	/* Rounds end on the block grid of the frames held so far, so that
	 * after a round cut short for a page the blocks end where they did,
	 * and a page the estimate missed (a short block) is never later. */
	int64_t to_grid = block - (int64_t)b->phase;

	/* Unknown, or due already (an output that has not yet taken the
	 * packet that closed its page): to the grid. */
	if (lacks < 0 || rest <= 0)
		return (size_t)to_grid;
	if (rest <= to_grid)
		return (size_t)rest;
	if (most_blocks <= 1 || rest - to_grid <= margin)
		return (size_t)to_grid;
	/* Whole blocks more, up to the first that brings the page within
	 * the margin, and none that would not fit the bound. */
	k = (rest - to_grid - margin + block - 1) / block;
	k_cap = ((int64_t)b->cap_frames - (int64_t)b->held - to_grid) / block;
	if (k > k_cap)
		k = k_cap;
	if (k > (int64_t)most_blocks - 1)
		k = (int64_t)most_blocks - 1;
	return (size_t)(to_grid + (k > 0 ? k : 0) * block);
}
