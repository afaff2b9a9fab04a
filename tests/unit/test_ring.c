/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ring.c: capacity rounding, wraparound, partial writes on
 * a full ring, a two-thread producer/consumer run that checks every frame
 * in order, and ring_wait() timeout, data wake-up and ring_wake().
 *
 * Threads: the producer/consumer and wake-up tests start helper threads;
 * everything else runs on the test thread.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ring.h"
#include "util.h"

static void
fill_frames(float *buf, size_t frames, int channels, float base)
{
	size_t i;
	int c;

	for (i = 0; i < frames; i++)
		for (c = 0; c < channels; c++)
			buf[i * (size_t)channels + (size_t)c] =
			    base + (float)i + 0.25f * (float)c;
}

static void
test_new_rejects_bad_arguments(void **state)
{
	(void)state;
	assert_null(ring_new(0, 2));
	assert_null(ring_new(16, 0));
	assert_null(ring_new(16, -1));
	assert_null(ring_new(SIZE_MAX, 2));
	ring_free(NULL);
}

static void
test_capacity_rounds_up_to_power_of_two(void **state)
{
	static float in[1100 * 2], out[1100 * 2];
	struct ring *r;

	(void)state;
	r = ring_new(1000, 2);
	assert_non_null(r);
	assert_int_equal(ring_channels(r), 2);
	assert_int_equal(ring_capacity(r), 1024);
	assert_int_equal(ring_readable(r), 0);
	fill_frames(in, 1100, 2, 1.0f);
	/* 1000 rounds up to 1024: that many fit, not one more. */
	assert_int_equal(ring_write(r, in, 1100), 1024);
	assert_int_equal(ring_readable(r), 1024);
	assert_int_equal(ring_write(r, in, 1), 0);
	assert_int_equal(ring_read(r, out, 1100), 1024);
	assert_memory_equal(in, out, 1024 * 2 * sizeof(float));
	assert_int_equal(ring_readable(r), 0);
	assert_int_equal(ring_read(r, out, 1), 0);
	ring_free(r);

	/* An exact power of two is kept as is. */
	r = ring_new(8, 1);
	assert_non_null(r);
	assert_int_equal(ring_capacity(r), 8);
	assert_int_equal(ring_write(r, in, 100), 8);
	ring_free(r);
}

static void
test_full_ring_returns_partial_writes(void **state)
{
	float in[6 * 3], out[8 * 3], expect[8 * 3];
	struct ring *r;

	(void)state;
	r = ring_new(8, 3);
	assert_non_null(r);
	fill_frames(in, 6, 3, 0.0f);
	assert_int_equal(ring_write(r, in, 6), 6);
	fill_frames(in, 6, 3, 100.0f);
	/* Only 2 of the 6 fit, and they are the first 2. */
	assert_int_equal(ring_write(r, in, 6), 2);
	assert_int_equal(ring_readable(r), 8);
	assert_int_equal(ring_write(r, in, 6), 0);

	fill_frames(expect, 6, 3, 0.0f);
	fill_frames(expect + 6 * 3, 2, 3, 100.0f);
	assert_int_equal(ring_read(r, out, 8), 8);
	assert_memory_equal(out, expect, sizeof(expect));

	/* Room again after a read. */
	assert_int_equal(ring_write(r, in, 6), 6);
	assert_int_equal(ring_read(r, out, 3), 3);
	assert_int_equal(ring_write(r, in, 6), 5);
	ring_free(r);
}

static void
test_wraparound_keeps_data(void **state)
{
	float in[5 * 2], out[5 * 2];
	struct ring *r;
	int iter;

	(void)state;
	r = ring_new(8, 2);
	assert_non_null(r);
	/* 5 frames per step on an 8-frame ring: every other step wraps. */
	for (iter = 0; iter < 1000; iter++) {
		fill_frames(in, 5, 2, (float)(iter * 10));
		assert_int_equal(ring_write(r, in, 5), 5);
		assert_int_equal(ring_readable(r), 5);
		memset(out, 0, sizeof(out));
		/* Read in two pieces so reads wrap at other offsets too. */
		assert_int_equal(ring_read(r, out, 2), 2);
		assert_int_equal(ring_read(r, out + 2 * 2, 10), 3);
		assert_memory_equal(in, out, sizeof(in));
	}
	ring_free(r);
}

/* Two threads move RT_FRAMES frames through a small ring in chunks of
 * varying size. Every frame carries its sequence number (exact in a float
 * below 2^24) and its negation, so a lost, repeated, reordered or torn
 * frame fails the check. */
#define RT_FRAMES 10000000u
#define RT_CHANNELS 2
#define RT_CHUNK_MAX 700u

struct rt_state {
	struct ring *r;
	uint64_t producer_sum;
	atomic_bool stop; /* the consumer gave up: do not spin forever */
};

static void *
producer_thread(void *arg)
{
	struct rt_state *st = arg;
	float buf[RT_CHUNK_MAX * RT_CHANNELS];
	uint32_t seq = 0, rnd = 12345, chunk, i, done;

	while (seq < RT_FRAMES) {
		rnd = rnd * 1103515245u + 12345u;
		chunk = 1 + (rnd >> 8) % RT_CHUNK_MAX;
		if (chunk > RT_FRAMES - seq)
			chunk = RT_FRAMES - seq;
		for (i = 0; i < chunk; i++) {
			buf[i * 2] = (float)(seq + i);
			buf[i * 2 + 1] = -(float)(seq + i);
			st->producer_sum += seq + i;
		}
		done = 0;
		while (done < chunk) {
			if (atomic_load(&st->stop))
				return NULL;
			done += (uint32_t)ring_write(st->r,
			    buf + done * RT_CHANNELS, chunk - done);
			if (done < chunk)
				sched_yield();
		}
		seq += chunk;
	}
	return NULL;
}

static void
test_two_threads_ten_million_frames(void **state)
{
	struct rt_state st = { 0 };
	float buf[RT_CHUNK_MAX * RT_CHANNELS];
	pthread_t tid;
	uint64_t consumer_sum = 0;
	uint32_t expect = 0, rnd = 777, want;
	size_t got, i;
	int64_t deadline_ns;
	int bad = 0;

	(void)state;
	st.r = ring_new(4096, RT_CHANNELS);
	assert_non_null(st.r);
	assert_int_equal(pthread_create(&tid, NULL, producer_thread, &st), 0);
	deadline_ns = util_now_mono_ns() + 120 * NS_PER_SEC;
	while (expect < RT_FRAMES && util_now_mono_ns() < deadline_ns) {
		rnd = rnd * 1103515245u + 12345u;
		want = 1 + (rnd >> 8) % RT_CHUNK_MAX;
		(void)ring_wait(st.r, 1, 100 * NS_PER_MS);
		got = ring_read(st.r, buf, want);
		for (i = 0; i < got; i++, expect++) {
			if (buf[i * 2] != (float)expect ||
			    buf[i * 2 + 1] != -(float)expect)
				bad++;
			consumer_sum += (uint64_t)buf[i * 2];
		}
		if (bad != 0)
			break;
	}
	atomic_store(&st.stop, true);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(expect, RT_FRAMES);
	assert_int_equal(ring_readable(st.r), 0);
	assert_int_equal(consumer_sum, st.producer_sum);
	ring_free(st.r);
}

static void
test_wait_times_out(void **state)
{
	struct ring *r;
	int64_t t0, elapsed_ns;
	float one[2] = { 0.5f, -0.5f };

	(void)state;
	r = ring_new(64, 2);
	assert_non_null(r);
	t0 = util_now_mono_ns();
	assert_int_equal(ring_wait(r, 1, 80 * NS_PER_MS), 0);
	elapsed_ns = util_now_mono_ns() - t0;
	assert_true(elapsed_ns >= 80 * NS_PER_MS);
	assert_true(elapsed_ns < 2 * NS_PER_SEC);

	/* Fewer than min_frames: waits the whole timeout (the eventfd count
	 * left by the write must not end the wait early), returns what is
	 * there. */
	assert_int_equal(ring_write(r, one, 1), 1);
	t0 = util_now_mono_ns();
	assert_int_equal(ring_wait(r, 10, 60 * NS_PER_MS), 1);
	elapsed_ns = util_now_mono_ns() - t0;
	assert_true(elapsed_ns >= 60 * NS_PER_MS);

	/* Enough already readable: no wait at all. */
	t0 = util_now_mono_ns();
	assert_int_equal(ring_wait(r, 1, 5 * NS_PER_SEC), 1);
	assert_true(util_now_mono_ns() - t0 < NS_PER_SEC);

	/* Zero timeout only checks. */
	assert_int_equal(ring_wait(r, 5, 0), 1);
	ring_free(r);
}

struct late_writer {
	struct ring *r;
	int64_t delay_ns;
	int pieces; /* how many 10-frame writes, delay_ns apart */
	bool wake_only;
};

static void *
late_writer_thread(void *arg)
{
	struct late_writer *lw = arg;
	float buf[10 * 2];
	int i;

	fill_frames(buf, 10, 2, 0.0f);
	for (i = 0; i < lw->pieces; i++) {
		util_sleep_ns(lw->delay_ns);
		if (lw->wake_only)
			ring_wake(lw->r);
		else
			(void)ring_write(lw->r, buf, 10);
	}
	return NULL;
}

static void
test_wait_wakes_on_write(void **state)
{
	struct late_writer lw = { 0 };
	pthread_t tid;
	int64_t t0, elapsed_ns;
	size_t got;

	(void)state;
	lw.r = ring_new(64, 2);
	assert_non_null(lw.r);
	lw.delay_ns = 50 * NS_PER_MS;
	lw.pieces = 2;
	t0 = util_now_mono_ns();
	assert_int_equal(pthread_create(&tid, NULL, late_writer_thread, &lw),
	    0);
	/* Needs both writes: the first wake-up alone must not return. */
	got = ring_wait(lw.r, 20, 10 * NS_PER_SEC);
	elapsed_ns = util_now_mono_ns() - t0;
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(got, 20);
	assert_true(elapsed_ns >= 100 * NS_PER_MS);
	assert_true(elapsed_ns < 5 * NS_PER_SEC);
	ring_free(lw.r);
}

struct trickle {
	struct ring *r;
	size_t frames;
};

static void *
trickle_thread(void *arg)
{
	struct trickle *t = arg;
	float one[2] = { 0.25f, -0.25f };
	size_t i;

	for (i = 0; i < t->frames; i++) {
		while (ring_write(t->r, one, 1) == 0)
			sched_yield();
		if (i % 8 == 0)
			sched_yield();
	}
	return NULL;
}

/* The writer signals only a reader that waits, and only once the fill
 * reaches what it waits for: a frame written between the reader's check
 * and its poll must still wake it. A lost wake-up would cost the 5 s
 * timeout; 20000 single-frame writes against waits for 7 frames give the
 * race plenty of chances. */
static void
test_wait_never_misses_a_threshold_write(void **state)
{
	struct trickle t = { 0 };
	float buf[64 * 2];
	pthread_t tid;
	size_t got = 0, n;
	int64_t t0;

	(void)state;
	t.r = ring_new(64, 2);
	assert_non_null(t.r);
	t.frames = 20000;
	t0 = util_now_mono_ns();
	assert_int_equal(pthread_create(&tid, NULL, trickle_thread, &t), 0);
	while (got < t.frames) {
		size_t want = t.frames - got < 7 ? t.frames - got : 7;

		n = ring_wait(t.r, want, 5 * NS_PER_SEC);
		assert_true(n >= want);
		got += ring_read(t.r, buf, n > 64 ? 64 : n);
	}
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_true(util_now_mono_ns() - t0 < 4 * NS_PER_SEC);
	ring_free(t.r);
}

static void
test_wake_interrupts_wait(void **state)
{
	struct late_writer lw = { 0 };
	pthread_t tid;
	int64_t t0, elapsed_ns;

	(void)state;
	lw.r = ring_new(64, 2);
	assert_non_null(lw.r);
	lw.delay_ns = 50 * NS_PER_MS;
	lw.pieces = 1;
	lw.wake_only = true;
	t0 = util_now_mono_ns();
	assert_int_equal(pthread_create(&tid, NULL, late_writer_thread, &lw),
	    0);
	assert_int_equal(ring_wait(lw.r, 1, 10 * NS_PER_SEC), 0);
	elapsed_ns = util_now_mono_ns() - t0;
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_true(elapsed_ns >= 50 * NS_PER_MS);
	assert_true(elapsed_ns < 5 * NS_PER_SEC);

	/* The wake-up was consumed: the next wait times out normally. */
	t0 = util_now_mono_ns();
	assert_int_equal(ring_wait(lw.r, 1, 50 * NS_PER_MS), 0);
	assert_true(util_now_mono_ns() - t0 >= 50 * NS_PER_MS);
	ring_free(lw.r);
}

/* The reader's next page, counted from what it has read, as the writer
 * sees it: frames still to write, 0 once written or when none is set. */
static void
test_page_at_counts_from_the_reader(void **state)
{
	struct ring *r = ring_new(1024, 1);
	float x[600] = { 0 };

	(void)state;
	assert_non_null(r);
	assert_int_equal(ring_page_lacks(r), 0);
	assert_int_equal(ring_write(r, x, 300), 300);
	assert_int_equal(ring_read(r, x, 200), 200);
	ring_set_page_at(r, 500); /* frame 700 of the stream */
	assert_int_equal(ring_page_lacks(r), 400);
	assert_int_equal(ring_write(r, x, 399), 399);
	assert_int_equal(ring_page_lacks(r), 1);
	assert_int_equal(ring_write(r, x, 1), 1);
	assert_int_equal(ring_page_lacks(r), 0);
	assert_int_equal(ring_write(r, x, 100), 100);
	assert_int_equal(ring_page_lacks(r), 0); /* passed, not wrapped */
	ring_set_page_at(r, 0);
	assert_int_equal(ring_page_lacks(r), 0);
	ring_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_bad_arguments),
		cmocka_unit_test(test_capacity_rounds_up_to_power_of_two),
		cmocka_unit_test(test_full_ring_returns_partial_writes),
		cmocka_unit_test(test_wraparound_keeps_data),
		cmocka_unit_test(test_two_threads_ten_million_frames),
		cmocka_unit_test(test_wait_times_out),
		cmocka_unit_test(test_wait_wakes_on_write),
		cmocka_unit_test(test_wake_interrupts_wait),
		cmocka_unit_test(test_page_at_counts_from_the_reader),
		cmocka_unit_test(test_wait_never_misses_a_threshold_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
