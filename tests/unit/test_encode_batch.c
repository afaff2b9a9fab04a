/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for encode_batch.c: the bound, the rule, and the whole path
 * the engine and an Icecast output take (a real Vorbis encoder, packet
 * queue and muxer with Icecast pages, run round by round on one thread):
 * batched encoding writes every page in the same round (the same 2048-
 * frame block of input) as encoding each block at once, and runs the
 * encoder a few times per page instead of once per block.
 *
 * Threads: single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode_batch.h"
#include "encoder.h"
#include "muxer.h"
#include "packet_queue.h"

#define RATE_HZ 44100
#define CH 2
#define BLOCK 2048
#define ROUNDS 400 /* 18.6 s */
#define MAX_PAGES 128
#define PAGE_MS 500 /* output.c's MAX_PAGE_MS */

static void
test_capacity_is_whole_blocks_under_the_bound(void **state)
{
	struct encode_batch *b = encode_batch_new(RATE_HZ, CH, BLOCK);
	struct encode_batch *tiny = encode_batch_new(8000, 1, 8192);

	(void)state;
	assert_non_null(b);
	assert_non_null(tiny);
	assert_int_equal(encode_batch_capacity(b) % BLOCK, 0);
	assert_true(encode_batch_capacity(b) * 1000 <=
		    (size_t)RATE_HZ * ENCODE_BATCH_MAX_MS);
	assert_true((encode_batch_capacity(b) + BLOCK) * 1000 >
		    (size_t)RATE_HZ * ENCODE_BATCH_MAX_MS);
	/* A block longer than the bound still fits, alone. */
	assert_int_equal(encode_batch_capacity(tiny), 8192);
	encode_batch_free(b);
	encode_batch_free(tiny);
}

static void
test_never_holds_past_the_bound(void **state)
{
	static float block[BLOCK * CH];
	struct encode_batch *b = encode_batch_new(RATE_HZ, CH, BLOCK);
	const float *held;
	size_t rounds = 0;

	(void)state;
	/* No output waits for a page: only the bound makes it encode. */
	for (;;) {
		assert_int_equal(encode_batch_hold(b, block, BLOCK, 1), 0);
		rounds++;
		if (encode_batch_due(b, INT64_MAX))
			break;
		assert_true(rounds < 100);
	}
	assert_int_equal(
	    encode_batch_frames(b, &held), encode_batch_capacity(b));
	assert_ptr_not_equal(held, NULL);
	/* Full: one more block is refused, not written past the end. */
	assert_int_equal(encode_batch_hold(b, block, BLOCK, 1), -ENOSPC);
	encode_batch_clear(b);
	assert_int_equal(encode_batch_frames(b, &held), 0);
	encode_batch_free(b);
}

/* Each hold keeps the time its frames came in, so the packets they complete
 * are dated by their audio, not by when the batch was encoded (an archive
 * that rotates on packet times cut its files up to a batch late). */
static void
test_holds_keep_their_times(void **state)
{
	static float block[BLOCK * CH];
	struct encode_batch *b = encode_batch_new(RATE_HZ, CH, BLOCK);
	const float *f, *held;
	int64_t made;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(
		    encode_batch_hold(b, block, BLOCK, 1000 + (int64_t)i), 0);
	/* A short block (a timed-out read) is a hold of its own. */
	assert_int_equal(encode_batch_hold(b, block, 100, 2000), 0);
	assert_int_equal(encode_batch_hold(b, block, 0, 3000), 0);
	assert_int_equal(encode_batch_parts(b), 4);
	(void)encode_batch_frames(b, &held);
	for (i = 0; i < 3; i++) {
		assert_int_equal(encode_batch_part(b, i, &f, &made), BLOCK);
		assert_ptr_equal(f, held + i * BLOCK * CH);
		assert_int_equal(made, 1000 + (int64_t)i);
	}
	assert_int_equal(encode_batch_part(b, 3, &f, &made), 100);
	assert_ptr_equal(f, held + 3 * BLOCK * CH);
	assert_int_equal(made, 2000);
	encode_batch_clear(b);
	assert_int_equal(encode_batch_parts(b), 0);
	/* Many short holds: refused once the record is full, like a full
	 * buffer, never written past it. */
	for (i = 0; i < 1000; i++)
		if (encode_batch_hold(b, block, 1, (int64_t)i) < 0)
			break;
	assert_true(i < 1000);
	assert_int_equal(encode_batch_parts(b), i);
	encode_batch_free(b);
}

static void
test_rule(void **state)
{
	static float block[BLOCK * CH];
	struct encode_batch *b = encode_batch_new(RATE_HZ, CH, BLOCK);
	int64_t margin = (int64_t)BLOCK * ENCODE_BATCH_MARGIN_BLOCKS;

	(void)state;
	/* Nothing held: nothing to encode, whatever is due. */
	assert_false(encode_batch_due(b, -1));
	assert_false(encode_batch_due(b, 0));
	assert_int_equal(encode_batch_hold(b, block, BLOCK, 1), 0);
	/* An output that cannot tell (and the end of the stream, a reload,
	 * a title change: the engine encodes without asking) */
	assert_true(encode_batch_due(b, -1));
	/* A page that can close now or within the margin of what is held. */
	assert_true(encode_batch_due(b, 0));
	assert_true(encode_batch_due(b, BLOCK + margin));
	assert_false(encode_batch_due(b, BLOCK + margin + 1));
	assert_false(encode_batch_due(b, INT64_MAX));
	/* How long to sleep: one block when it cannot tell or a page is
	 * near; up to the bound otherwise; never past the margin. */
	assert_int_equal(encode_batch_wait_frames(b, -1), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, BLOCK + margin), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, INT64_MAX),
	    encode_batch_capacity(b) - BLOCK);
	assert_int_equal(
	    encode_batch_wait_frames(b, BLOCK + margin + 3 * BLOCK), 3 * BLOCK);
	assert_int_equal(
	    encode_batch_wait_frames(b, BLOCK + margin + 3 * BLOCK + 1),
	    4 * BLOCK);
	encode_batch_free(b);
}

/* ------------------------------------------------------------------ */
/* The engine's and an output's side of one encoding, round by round. */

struct sim {
	struct encoder *enc;
	struct packet_queue *q;
	struct muxer *mux;
	struct encode_batch *batch; /* NULL: every block encoded at once */
	bool sleeps; /* the engine waits encode_batch_wait_frames */
	size_t want; /* frames it waits for */
	int asleep;  /* blocks in, not yet taken */
	int wakes;   /* engine rounds that took blocks */
	int64_t batch_granules;
	int round;
	int encodes;		   /* encoder_write() calls */
	int page_round[MAX_PAGES]; /* round each audio page went out in */
	int64_t page_granule[MAX_PAGES];
	int pages;
	size_t max_held;
};

static void
push_cb(struct packet *p, void *arg)
{
	struct sim *s = arg;

	assert_true(packet_queue_push(s->q, p));
}

static int
page_cb(const unsigned char *data, size_t bytes, void *arg)
{
	struct sim *s = arg;
	int64_t g = 0;
	int i;

	assert_true(bytes >= 27);
	for (i = 7; i >= 0; i--)
		g = (g << 8) | data[6 + i];
	if (g <= 0) /* headers */
		return 0;
	assert_true(s->pages < MAX_PAGES);
	s->page_round[s->pages] = s->round;
	s->page_granule[s->pages] = g;
	s->pages++;
	return 0;
}

/* The audio: false, speech-like (below); true, the bench's click test:
 * digital silence with a 50 ms 1 kHz click every 23 blocks (1.07 s, so
 * the clicks fall at every phase of the ~0.5 s pages). */
static bool clicks_in_silence;

static void
render_clicks(float *buf, int round)
{
	size_t i, len = RATE_HZ / 20;
	int c, start = (round / 23) * 23 + 5;
	size_t at = (size_t)(round / 23) * 613 % BLOCK; /* frame of onset */

	for (i = 0; i < BLOCK; i++) {
		/* Frames since the onset in block `start`. */
		long k = (long)(round - start) * BLOCK + (long)i - (long)at;
		double v = 0;
		if (k >= 0 && (size_t)k < len)
			v = 0.5 * sin(2 * M_PI * 1000 * (double)k / RATE_HZ);
		for (c = 0; c < CH; c++)
			buf[i * CH + (size_t)c] = (float)v;
	}
}

/* Speech-like: a tone with bursts and clicks, so libvorbis switches to
 * short blocks now and then (its delay changes). */
static void
render(float *buf, int round)
{
	size_t i;
	int c;

	if (clicks_in_silence) {
		render_clicks(buf, round);
		return;
	}
	for (i = 0; i < BLOCK; i++) {
		double t = (double)((size_t)round * BLOCK + i) / RATE_HZ;
		double v = 0.2 * sin(2 * M_PI * 440 * t);
		if ((round % 7) == 3 && i > 1000 && i < 1040)
			v += 0.8 * ((i & 1) != 0 ? 1 : -1);
		if ((round / 20) % 2 == 1)
			v *= 0.5 + 0.5 * sin(2 * M_PI * 3 * t);
		for (c = 0; c < CH; c++)
			buf[i * CH + (size_t)c] = (float)v;
	}
}

static void
encode(struct sim *s, const float *frames, size_t n)
{
	assert_int_equal(encoder_write(s->enc, frames, n, push_cb, s), 0);
	s->encodes++;
}

static int64_t
lacks_now(struct sim *s)
{
	int64_t due = packet_queue_due(s->q);

	return due < 0 ? -1 : encoder_frames_until(s->enc, due);
}

static void
engine_block(struct sim *s, const float *block)
{
	const float *held;
	size_t n;

	if (s->batch == NULL) {
		encode(s, block, BLOCK);
		return;
	}
	assert_int_equal(encode_batch_hold(s->batch, block, BLOCK, 1), 0);
	n = encode_batch_frames(s->batch, &held);
	if (n > s->max_held)
		s->max_held = n;
	if (encode_batch_due(s->batch, lacks_now(s))) {
		encode(s, held, n);
		encode_batch_clear(s->batch);
	}
}

/* One block comes in. An engine that sleeps takes the blocks it waited
 * for together, when the last is in, as engine.c does. */
static void
engine_round(struct sim *s)
{
	static float block[BLOCK * CH];
	int r;

	s->asleep++;
	if (s->sleeps && (size_t)s->asleep * BLOCK < s->want)
		return;
	s->wakes++;
	for (r = s->round - s->asleep + 1; r <= s->round; r++) {
		render(block, r);
		engine_block(s, block);
	}
	s->asleep = 0;
	if (s->sleeps)
		s->want = encode_batch_wait_frames(s->batch, lacks_now(s));
}

/* An output that takes every packet as soon as it is queued: it writes
 * each page the moment it can. */
static void
output_round(struct sim *s)
{
	struct packet *p;
	int64_t due;
	bool gap;

	while ((p = packet_queue_pop(s->q, 0, &gap)) != NULL) {
		assert_int_equal(muxer_packet(s->mux, p, gap, page_cb, s), 0);
		packet_unref(p);
	}
	due = muxer_page_due(s->mux);
	if (due >= 0)
		packet_queue_set_batch_from(s->q,
		    due > s->batch_granules ? due - s->batch_granules : 0,
		    muxer_page_due_waits_next(s->mux));
}

static void
run(struct sim *s, bool batched, bool sleeps)
{
	struct encoding_config cfg;
	char err[256], name[] = "main";

	memset(s, 0, sizeof(*s));
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = name;
	cfg.rate_hz = RATE_HZ;
	cfg.channels = CH;
	cfg.quality = 4;
	s->enc = encoder_new(&cfg, RATE_HZ, CH, "t", "a", err, sizeof(err));
	assert_non_null(s->enc);
	s->q = packet_queue_new(1 << 20, 1 << 16);
	s->mux = muxer_new(PAGE_MS);
	assert_non_null(s->q);
	assert_non_null(s->mux);
	muxer_set_icecast_pages(s->mux, true);
	s->batch_granules = (int64_t)PAGE_MS * RATE_HZ / 1000;
	packet_queue_set_batch(s->q, s->batch_granules);
	if (batched) {
		s->batch = encode_batch_new(RATE_HZ, CH, BLOCK);
		assert_non_null(s->batch);
		s->sleeps = sleeps;
		s->want = BLOCK;
	}
	for (s->round = 0; s->round < ROUNDS; s->round++) {
		engine_round(s);
		output_round(s);
	}
	/* The end: what is held goes first, then the stream ends. */
	s->round--;
	s->want = 0;
	if (s->asleep > 0) {
		s->asleep--;
		engine_round(s);
	}
	s->round++;
	if (s->batch != NULL) {
		const float *held;
		size_t n = encode_batch_frames(s->batch, &held);
		assert_false(n > 0 && !encode_batch_due(s->batch, -1));
		if (n > 0)
			encode(s, held, n);
		encode_batch_clear(s->batch);
	}
	assert_int_equal(encoder_finish(s->enc, push_cb, s), 0);
	output_round(s);
	assert_int_equal(muxer_end(s->mux, page_cb, s), 0);
	encoder_free(s->enc);
	packet_queue_free(s->q);
	muxer_free(s->mux);
	encode_batch_free(s->batch);
}

static void
check_same_rounds(bool sleeps)
{
	static struct sim once, batched;
	int i;

	run(&once, false, false);
	run(&batched, true, sleeps);
	assert_true(once.pages > 30); /* ~0.5 s pages over 18.6 s */
	assert_int_equal(batched.pages, once.pages);
	for (i = 0; i < once.pages; i++) {
		assert_int_equal(batched.page_granule[i], once.page_granule[i]);
		if (i < once.pages - 1) /* the last: at the end, above */
			assert_int_equal(
			    batched.page_round[i], once.page_round[i]);
	}
	/* The encoder ran a few times per page, not once per block. */
	assert_int_equal(once.encodes, ROUNDS);
	assert_true(batched.encodes * 2 < once.encodes);
	assert_true(batched.max_held > 4 * BLOCK);
	assert_true(batched.max_held <= (size_t)RATE_HZ * 6 / 10);
	if (sleeps)
		assert_true(batched.wakes * 2 < once.wakes);
	else
		assert_int_equal(batched.wakes, once.wakes);
	printf("# %d pages; encoder calls %d batched%s, %d block by block; "
	       "engine wake-ups %d, %d\n",
	    once.pages, batched.encodes,
	    sleeps ? " (engine asleep between)" : "", once.encodes,
	    batched.wakes, once.wakes);
}

static void
test_pages_go_out_in_the_same_round_as_unbatched(void **state)
{
	(void)state;
	check_same_rounds(false);
}

/* The engine sleeps for encode_batch_wait_frames() and takes the blocks
 * together: still the same rounds. */
static void
test_sleeping_engine_keeps_the_rounds(void **state)
{
	(void)state;
	check_same_rounds(true);
}

/* The bench's click test: clicks in digital silence, at every phase of
 * the pages. Each page goes out in the same round as unbatched. */
static void
test_clicks_in_silence_keep_the_rounds(void **state)
{
	(void)state;
	clicks_in_silence = true;
	check_same_rounds(false);
	check_same_rounds(true);
	clicks_in_silence = false;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capacity_is_whole_blocks_under_the_bound),
	    cmocka_unit_test(test_never_holds_past_the_bound),
	    cmocka_unit_test(test_rule),
	    cmocka_unit_test(test_holds_keep_their_times),
	    cmocka_unit_test(test_pages_go_out_in_the_same_round_as_unbatched),
	    cmocka_unit_test(test_sleeping_engine_keeps_the_rounds),
	    cmocka_unit_test(test_clicks_in_silence_keep_the_rounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
