/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for encode_batch.c: the bound, the rule, and the whole path
 * the engine and an Icecast output take (a real Vorbis encoder, packet
 * queue and muxer with Icecast pages, run round by round on one thread,
 * input coming in 256-frame chunks): batched encoding writes a page on the
 * chunk that completes it, as encoding each chunk at once does (unless a
 * short block the estimate could not foresee moved it), never later than
 * encoding whole 2048-frame blocks, and runs the encoder a few times per
 * page instead of once per block.
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
#define PAGE_MS 500		    /* output.c's MAX_PAGE_MS */
#define ENGINE_MAX_WAIT (8 * BLOCK) /* engine.c's ENGINE_MAX_WAIT_BLOCKS */

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
	/* How long to wait: to the end of the block when it cannot tell or
	 * the page is due already or beyond it; to the frame where the page
	 * can close when that comes first; with several, whole blocks more up
	 * to the bound and never past the margin. */
	assert_int_equal(encode_batch_wait_frames(b, -1, 1), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, -1, 64), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, BLOCK, 1), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, BLOCK, 64), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, BLOCK + 1, 1), 1);
	assert_int_equal(encode_batch_wait_frames(b, BLOCK + 100, 64), 100);
	assert_int_equal(encode_batch_wait_frames(b, 2 * BLOCK, 1), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, 2 * BLOCK, 64), BLOCK);
	assert_int_equal(
	    encode_batch_wait_frames(b, 2 * BLOCK + margin, 1), BLOCK);
	assert_int_equal(
	    encode_batch_wait_frames(b, 2 * BLOCK + margin, 64), BLOCK);
	assert_int_equal(
	    encode_batch_wait_frames(b, 2 * BLOCK + margin + 1, 64), 2 * BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, INT64_MAX, 1), BLOCK);
	assert_int_equal(encode_batch_wait_frames(b, INT64_MAX, 64),
	    encode_batch_capacity(b) - BLOCK);
	assert_int_equal(
	    encode_batch_wait_frames(b, 2 * BLOCK + margin + 3 * BLOCK, 64),
	    4 * BLOCK);
	/* A round cut short for a page: the next ends where the block would
	 * have. */
	assert_int_equal(encode_batch_hold(b, block, 100, 1), 0);
	assert_int_equal(encode_batch_wait_frames(b, -1, 1), BLOCK - 100);
	assert_int_equal(
	    encode_batch_wait_frames(b, INT64_MAX, 1), BLOCK - 100);
	assert_int_equal(encode_batch_wait_frames(b, BLOCK + 100 + 50, 64), 50);
	assert_int_equal(
	    encode_batch_wait_frames(b, 2 * BLOCK + margin + 1, 64),
	    2 * BLOCK - 100);
	/* A bound on the blocks (an operator page's meter, engine.c) is
	 * counted with the block under way, and keeps the grid. */
	assert_int_equal(
	    encode_batch_wait_frames(b, INT64_MAX, 2), 2 * BLOCK - 100);
	assert_int_equal(
	    encode_batch_wait_frames(b, INT64_MAX, 8), 8 * BLOCK - 100);
	assert_int_equal(
	    encode_batch_wait_frames(b, INT64_MAX, 0), BLOCK - 100);
	encode_batch_free(b);
}

/* ------------------------------------------------------------------ */
/* The engine's and an output's side of one encoding, round by round: each
 * round CHUNK frames of input come in (a producer's write). */

#define CHUNK 256
#define FRAMES ((size_t)ROUNDS * BLOCK)
#define CHUNKS ((int)(FRAMES / CHUNK))

struct sim {
	struct encoder *enc;
	struct packet_queue *q;
	struct muxer *mux;
	struct encode_batch *batch; /* NULL: encoded every `step` frames */
	size_t step;		    /* CHUNK, or BLOCK as whole blocks were */
	bool sleeps;		    /* the engine may wait for several blocks */
	size_t want;		    /* frames it waits for */
	size_t in;		    /* frames come in */
	size_t taken;		    /* frames the engine took */
	int wakes;		    /* engine rounds that took frames */
	int64_t batch_granules;
	int round;
	int encodes;		   /* encoder_write() calls */
	int page_round[MAX_PAGES]; /* round each audio page went out in */
	int64_t page_granule[MAX_PAGES];
	int pages;
	size_t max_held;
};

static float *audio; /* FRAMES * CH, the programme */

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
render_all(void)
{
	int r;

	if (audio == NULL)
		audio = calloc(FRAMES * CH, sizeof(float));
	assert_non_null(audio);
	for (r = 0; r < ROUNDS; r++)
		render(audio + (size_t)r * BLOCK * CH, r);
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
	bool one_more;
	int64_t due = packet_queue_due(s->q, &one_more);

	return due < 0 ? -1 : encoder_frames_until(s->enc, due, one_more);
}

/* engine.c's encode_block(): hold, and encode what is held when due. */
static void
engine_block(struct sim *s, const float *frames, size_t n)
{
	const float *held;

	assert_int_equal(encode_batch_hold(s->batch, frames, n, 1), 0);
	n = encode_batch_frames(s->batch, &held);
	if (n > s->max_held)
		s->max_held = n;
	if (encode_batch_due(s->batch, lacks_now(s))) {
		encode(s, held, n);
		encode_batch_clear(s->batch);
	}
}

/* A chunk comes in. The engine that is not batched encodes it at once;
 * the other takes what it waited for once it is in, block by block (the
 * last piece ending where it waited to), as engine.c does, then asks how
 * long to wait next. */
static void
engine_round(struct sim *s)
{
	size_t n;

	s->in += CHUNK;
	if (s->batch == NULL) {
		if (s->in - s->taken < s->step)
			return;
		encode(s, audio + s->taken * CH, s->step);
		s->taken += s->step;
		s->wakes++;
		return;
	}
	if (s->in - s->taken < s->want)
		return;
	s->wakes++;
	while (s->want > 0) {
		n = s->want < BLOCK ? s->want : BLOCK;
		engine_block(s, audio + s->taken * CH, n);
		s->taken += n;
		s->want -= n;
	}
	s->want = encode_batch_wait_frames(
	    s->batch, lacks_now(s), s->sleeps ? ENGINE_MAX_WAIT / BLOCK : 1);
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

/* batched: NULL, unbatched; else whether the engine sleeps. */
static void
run(struct sim *s, size_t step, const bool *batched)
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
	s->step = step;
	if (batched != NULL) {
		s->batch = encode_batch_new(RATE_HZ, CH, BLOCK);
		assert_non_null(s->batch);
		s->sleeps = *batched;
		s->want = BLOCK;
	}
	for (s->round = 0; s->round < CHUNKS; s->round++) {
		engine_round(s);
		output_round(s);
	}
	/* The end: what came in and what is held goes first, then the
	 * stream ends. */
	if (s->batch != NULL) {
		const float *held;
		size_t n;
		while (s->taken < s->in) {
			n = s->in - s->taken < BLOCK ? s->in - s->taken : BLOCK;
			engine_block(s, audio + s->taken * CH, n);
			s->taken += n;
		}
		n = encode_batch_frames(s->batch, &held);
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

/* Pages (but the last, at the end) that went out in another round than
 * in `ref`. */
static int
rounds_apart(const struct sim *s, const struct sim *ref)
{
	int i, n = 0;

	for (i = 0; i < ref->pages - 1; i++)
		n += s->page_round[i] != ref->page_round[i];
	return n;
}

static void
check_same_rounds(bool sleeps, int most_late)
{
	static struct sim once, blocks, batched;
	int i;

	render_all();
	run(&once, CHUNK, NULL);
	run(&blocks, BLOCK, NULL);
	run(&batched, 0, &sleeps);
	assert_true(once.pages > 30); /* ~0.5 s pages over 18.6 s */
	assert_int_equal(blocks.pages, once.pages);
	assert_int_equal(batched.pages, once.pages);
	for (i = 0; i < once.pages; i++) {
		assert_int_equal(blocks.page_granule[i], once.page_granule[i]);
		assert_int_equal(batched.page_granule[i], once.page_granule[i]);
		if (i == once.pages - 1) /* the last: at the end, above */
			break;
		/* Never before its frames are in, never after the end of
		 * the block that completes it. */
		assert_true(batched.page_round[i] >= once.page_round[i]);
		assert_true(batched.page_round[i] <= blocks.page_round[i]);
	}
	/* The encoder ran a few times per page, not once per chunk. */
	assert_int_equal(once.encodes, CHUNKS);
	assert_true(batched.encodes * 8 < once.encodes);
	assert_true(batched.max_held > 4 * BLOCK);
	assert_true(batched.max_held <= (size_t)RATE_HZ * 6 / 10);
	if (sleeps)
		assert_true(batched.wakes * 2 < blocks.wakes);
	else
		assert_true(batched.wakes <= blocks.wakes + blocks.pages);
	printf("# %d pages; not on the chunk that completes them: %d "
	       "(whole blocks: %d); encoder calls %d batched%s, %d chunk "
	       "by chunk; engine wake-ups %d (whole blocks: %d)\n",
	    once.pages, rounds_apart(&batched, &once),
	    rounds_apart(&blocks, &once), batched.encodes,
	    sleeps ? " (engine asleep between)" : "", once.encodes,
	    batched.wakes, blocks.wakes);
	/* The rest: a short block (libvorbis' reply to an attack) in the
	 * last block before the page, which the estimate could not know. */
	assert_true(rounds_apart(&batched, &once) <= most_late);
}

/* The engine takes a block at a time, or what a page needs when that is
 * less: each page goes out on the input chunk that completes it, as when
 * every chunk is encoded at once (with whole blocks it went out at the
 * end of the block, 23 ms later on average). */
static void
test_pages_go_out_in_the_same_round_as_unbatched(void **state)
{
	(void)state;
	check_same_rounds(false, 9);
}

/* The engine sleeps for encode_batch_wait_frames() and takes the blocks
 * together: still the same rounds. */
static void
test_sleeping_engine_keeps_the_rounds(void **state)
{
	(void)state;
	check_same_rounds(true, 9);
}

/* The bench's click test: clicks in digital silence, at every phase of
 * the pages. Each page goes out in the same round as unbatched. */
static void
test_clicks_in_silence_keep_the_rounds(void **state)
{
	(void)state;
	clicks_in_silence = true;
	check_same_rounds(false, 4);
	check_same_rounds(true, 4);
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
