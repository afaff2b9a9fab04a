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
	int channels;
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
	b->buf = calloc(b->cap_frames * (size_t)channels, sizeof(float));
	if (b->buf == NULL) {
		free(b);
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
	free(b);
}

int
encode_batch_hold(struct encode_batch *b, const float *frames, size_t n)
{
	size_t ch = (size_t)b->channels;

	if (n > b->cap_frames - b->held)
		return -ENOSPC;
	memcpy(b->buf + b->held * ch, frames, n * ch * sizeof(float));
	b->held += n;
	return 0;
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
encode_batch_wait_frames(const struct encode_batch *b, int64_t lacks)
{
	int64_t block = (int64_t)b->block_frames, k, k_page;
	int64_t before =
	    lacks - (int64_t)b->held - block * ENCODE_BATCH_MARGIN_BLOCKS;

	/* The block after which one more would not fit (the bound)... */
	k = ((int64_t)b->cap_frames - (int64_t)b->held) / block;
	/* ...or the first that brings a page within the margin. */
	if (lacks < 0 || before <= block)
		k_page = 1;
	else
		k_page = (before + block - 1) / block;
	if (k_page < k)
		k = k_page;
	return (size_t)(k < 1 ? 1 : k) * b->block_frames;
}
