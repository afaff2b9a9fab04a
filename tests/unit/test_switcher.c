/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the switcher, with real sources (silence, tone, a short
 * WAV file) against a live input that is a constant 0.5, so every frame
 * shows who is on air. The test plays the engine: it renders blocks and
 * gives each one a wall time that runs exactly with the frames, so a wall
 * start maps to a known frame. Checked: an item starts at exactly its
 * frame and ends at exactly its end; crossfades follow the linear ramp;
 * skip, a source that runs dry and a late item go back to live and are
 * reported; a full queue refuses; the live title reaches the tags only
 * while live is on air, and at most one per SWITCHER_TITLE_GAP_NS (the
 * latest wins); dead air: a silent segment and a failed input
 * put the filler on air (events, stats), a loud live input brings live
 * back after restore_after, a silent one never does.
 *
 * Threads: the test thread renders and polls; each source has its feeder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "source.h"
#include "stats.h"
#include "switcher.h"
#include "util.h"
#include "wakeup.h"

#define RATE 48000
#define CH 2
#define BLOCK 1024
#define LIVE 0.5f
#define T0 ((int64_t)1700000000 * NS_PER_SEC)
#define FRAME_NS (NS_PER_SEC / RATE + 1)

struct harness {
	struct switcher *sw;
	int64_t frames; /* rendered so far */
	float live[BLOCK * CH];
	float out[BLOCK * CH];
	int n_tags;
	char title[STATS_TEXT];
	char artist[STATS_TEXT];
};

static void
tags_cb(const char *title, const char *artist, void *arg)
{
	struct harness *h = arg;

	h->n_tags++;
	util_strlcpy(h->title, title, sizeof(h->title));
	util_strlcpy(h->artist, artist, sizeof(h->artist));
}

/* Wall time of programme frame f when frame 0 was at T0. */
static int64_t
wall_at(int64_t f)
{
	return T0 + f / RATE * NS_PER_SEC + f % RATE * NS_PER_SEC / RATE;
}

static int
setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	size_t i;

	if (h == NULL)
		return -1;
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = LIVE;
	h->sw = switcher_new(RATE, CH, BLOCK, "Live show", "Host", tags_cb, h);
	if (h->sw == NULL) {
		free(h);
		return -1;
	}
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct harness *h = *state;

	switcher_free(h->sw);
	free(h);
	return 0;
}

/* One block, dated as if the input ran exactly on the wall clock. */
static void
render(struct harness *h)
{
	switcher_render(
	    h->sw, h->live, h->out, BLOCK, wall_at(h->frames + BLOCK), 0);
	h->frames += BLOCK;
}

/* Opens a source and waits until it has `frames` decoded (or has failed),
 * so that reading it is never late. */
static struct source *
open_source(const struct source_spec *spec, size_t frames)
{
	char err[256];
	struct source *s = source_open(spec, RATE, CH, err, sizeof(err));
	int i;

	assert_non_null(s);
	for (i = 0; i < 500 && source_buffered(s) < frames &&
		    source_state(s) != SOURCE_FAILED;
	     i++)
		usleep(10000);
	assert_true(source_buffered(s) >= frames);
	return s;
}

static struct source *
open_silence(void)
{
	struct source_spec spec = {
	    .name = "quiet", .kind = SCHEDULE_SOURCE_SILENCE};

	return open_source(&spec, 4 * BLOCK);
}

static struct source *
open_tone(void)
{
	struct source_spec spec = {.name = "tone",
	    .kind = SCHEDULE_SOURCE_TONE,
	    .frequency_hz = 1000.0,
	    .level_dbfs = -6.0};

	return open_source(&spec, 4 * BLOCK);
}

static void
item(struct engine_item *it, const char *segment, struct source *src,
    int64_t start, int64_t end, int64_t fade_ns)
{
	memset(it, 0, sizeof(*it));
	util_strlcpy(it->segment, segment, sizeof(it->segment));
	snprintf(it->title, sizeof(it->title), "%s title", segment);
	util_strlcpy(it->source_kind, "test", sizeof(it->source_kind));
	it->src = src;
	it->start_wall_ns = start;
	it->end_wall_ns = end;
	it->fade_ns = fade_ns;
}

/* Frames [a, b) of the last block all equal v (every channel). */
static void
assert_frames(const struct harness *h, size_t a, size_t b, float v)
{
	size_t i;

	for (i = a * CH; i < b * CH; i++) {
		if (h->out[i] != v)
			fail_msg("frame %zu of the block: %g, expected %g",
			    i / CH, (double)h->out[i], (double)v);
	}
}

static void
expect_event(struct harness *h, const char *segment, int what, int64_t at)
{
	struct engine_event ev;

	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, segment);
	assert_int_equal(ev.what, what);
	/* The clock may have crept by a fraction of a frame. */
	assert_true(llabs(ev.at_wall_ns - at) < FRAME_NS);
}

/* The main thread sleeps until something changes (main.c): an event the
 * switcher queues for it makes the wake-up descriptor readable, and the
 * live programme alone never does. */
static void
test_events_wake_the_main_thread(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;
	struct pollfd pfd;
	uint64_t before;
	int i;

	assert_int_equal(wakeup_open(), 0);
	pfd.fd = wakeup_fd();
	pfd.events = POLLIN;
	before = wakeup_count();
	for (i = 0; i < 8; i++)
		render(h);
	assert_true(wakeup_count() == before);
	assert_int_equal(poll(&pfd, 1, 0), 0);

	item(&it, "news", open_silence(), wall_at(h->frames + 1500),
	    wall_at(h->frames + 3000), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	render(h); /* it starts in this block */
	assert_true(wakeup_count() > before);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "news");
	assert_int_equal(ev.what, ENGINE_EVENT_STARTED);
	wakeup_close();
}

/* Counts the frames of the last block at or after programme frame `from`
 * that carry the live programme. */
static int
live_frames_from(const struct harness *h, int64_t from)
{
	int64_t first = h->frames - BLOCK, f;
	int n = 0;

	for (f = first > from ? first : from; f < h->frames; f++)
		if (h->out[(f - first) * CH] == LIVE)
			n++;
	return n;
}

/* An item that ends at T and the next that starts at T meet at one frame
 * even when the programme clock moved while the first played (a block
 * dated earlier than any before it moves it back). The end used to be
 * turned into a frame when the item started, and the next start when it
 * came due: 240 frames of the studio were heard between the two, the
 * first item "ended" to live, and the planner took that for an early end
 * and withdrew what was to follow. */
static void
test_back_to_back_items_meet_after_the_clock_moved(void **state)
{
	struct harness *h = *state;
	struct engine_item a, b;
	struct engine_event ev;
	int live = 0, i;

	render(h);
	item(&a, "flash", open_silence(), wall_at(1500), wall_at(6000), 0);
	item(&b, "news", open_tone(), wall_at(6000), wall_at(9000), 0);
	assert_int_equal(switcher_schedule(h->sw, &a), 0);
	assert_int_equal(switcher_schedule(h->sw, &b), 0);
	render(h); /* flash starts at 1500 */
	live += live_frames_from(h, 1500);
	/* This block is dated 5 ms (240 frames) earlier: the clock's
	 * estimate of frame 0 moves back. */
	switcher_render(h->sw, h->live, h->out, BLOCK,
	    wall_at(h->frames + BLOCK) - 5 * NS_PER_MS, 0);
	h->frames += BLOCK;
	live += live_frames_from(h, 1500);
	for (i = 0; i < 5; i++) {
		render(h);
		live += live_frames_from(h, 1500);
	}
	assert_int_equal(live, 0);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "flash");
	assert_int_equal(ev.what, ENGINE_EVENT_STARTED);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "flash");
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_string_equal(ev.detail, "the next item started");
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "news");
	assert_int_equal(ev.what, ENGINE_EVENT_STARTED);
}

/* Writes a WAV of n frames of v (every channel); its path into path. */
static void
write_wav(char *path, size_t n, float v)
{
	SF_INFO info = {.samplerate = RATE,
	    .channels = CH,
	    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	float *frames = calloc(n * CH, sizeof(float));
	SNDFILE *sf;
	size_t i;
	int fd;

	assert_non_null(frames);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
	assert_non_null(sf);
	for (i = 0; i < n * CH; i++)
		frames[i] = v;
	assert_int_equal(sf_writef_float(sf, frames, (sf_count_t)n), n);
	sf_close(sf);
	free(frames);
}

/* A file exactly as long as its window ends with ENDED when the programme
 * clock moved back 5 ms while it played (its end frame moves 240 frames
 * later, past its last frame): silence to the end, then live. It used to
 * run dry 240 frames early and fail ("its source ended early"): a request
 * reported failed, a warning, live a moment early. */
static void
test_exact_length_file_ends_after_the_clock_moved(void **state)
{
	struct harness *h = *state;
	char path[] = "/tmp/test_switcher.XXXXXX";
	struct source_spec spec = {
	    .name = "exact", .kind = SCHEDULE_SOURCE_FILE};
	struct engine_item it;
	struct engine_event ev;
	int i;

	write_wav(path, 3000, 0.25f);
	spec.path = path;
	render(h);
	item(&it, "exact", open_source(&spec, 3000), wall_at(1500),
	    wall_at(4500), 0);
	unlink(path);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h); /* it starts at 1500 */
	switcher_render(h->sw, h->live, h->out, BLOCK,
	    wall_at(h->frames + BLOCK) - 5 * NS_PER_MS, 0);
	h->frames += BLOCK;
	for (i = 0; i < 4; i++)
		render(h);
	expect_event(h, "exact", ENGINE_EVENT_STARTED, wall_at(1500));
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "exact");
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_string_equal(ev.detail, "");
	assert_true(llabs(ev.at_wall_ns - wall_at(4500)) < FRAME_NS);
	assert_frames(h, 0, BLOCK, LIVE);
}

static void
test_starts_and_ends_at_exact_frames(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct stats_programme p;
	struct engine_event ev;

	render(h); /* frames 0..1023: the clock is anchored */
	/* Frames 1500..2999: inside block 1 to inside block 2. */
	item(&it, "news", open_silence(), wall_at(1500), wall_at(3000), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);

	render(h);
	assert_frames(h, 0, 1500 - BLOCK, LIVE);
	assert_frames(h, 1500 - BLOCK, BLOCK, 0.0f);
	expect_event(h, "news", ENGINE_EVENT_STARTED, wall_at(1500));
	assert_string_equal(h->title, "news title");
	stats_programme_get(&p);
	assert_int_equal(p.state, PROGRAMME_SEGMENT);
	assert_string_equal(p.segment, "news");

	render(h);
	assert_frames(h, 0, 3000 - 2 * BLOCK, 0.0f);
	assert_frames(h, 3000 - 2 * BLOCK, BLOCK, LIVE);
	expect_event(h, "news", ENGINE_EVENT_ENDED, wall_at(3000));
	assert_string_equal(h->title, "Live show");
	assert_string_equal(h->artist, "Host");
	assert_int_equal(switcher_poll(h->sw, &ev), 0);
	stats_programme_get(&p);
	assert_int_equal(p.state, PROGRAMME_LIVE);
}

/* [segment] gain scales the segment's audio; normalise = no is what the
 * engine hands [processing] while that segment is on air. */
static void
test_segment_gain_and_normalise(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct source *ref = open_tone();
	static float tone[BLOCK * CH];
	size_t i;

	render(h);
	assert_true(switcher_normalise(h->sw));
	item(&it, "feature", open_tone(), wall_at(BLOCK), 0, 0);
	it.gain_db = -6.0;
	it.no_normalise = true;
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	assert_int_equal(source_read(ref, tone, BLOCK), BLOCK);
	for (i = 0; i < BLOCK * CH; i++)
		assert_float_equal(h->out[i], tone[i] * 0.501187f, 1e-5);
	assert_false(switcher_normalise(h->sw));
	source_close(ref);
}

/* Live -> tone and tone -> silence, each over the tone's 10 ms (480
 * frames): a fade takes the segment's length whichever way it goes. */
static void
test_crossfades(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct source *ref = open_tone();
	static float tone[2 * BLOCK * CH];
	size_t i, len = 480, t;

	render(h);
	item(&it, "tone", open_tone(), wall_at(BLOCK + 100), 0, 10 * NS_PER_MS);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	item(&it, "quiet", open_silence(), wall_at(2 * BLOCK + 200), 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);

	/* The same tone from its start: what the fades mix. */
	assert_int_equal(source_read(ref, tone, 2 * BLOCK), 2 * BLOCK);
	source_close(ref);
	render(h);
	assert_frames(h, 0, 100, LIVE);
	for (i = 0; i < BLOCK - 100; i++) {
		float g = (float)((double)i / (double)len);
		float want = i < len ? tone[i * CH] * g + LIVE * (1.0f - g)
				     : tone[i * CH];
		assert_float_equal(h->out[(100 + i) * CH], want, 1e-6);
		assert_float_equal(h->out[(100 + i) * CH + 1], want, 1e-6);
	}
	expect_event(h, "tone", ENGINE_EVENT_STARTED, wall_at(BLOCK + 100));

	/* The next item ends the tone; the tone keeps going under the fade. */
	render(h);
	t = BLOCK - 100; /* tone frames played before this block */
	for (i = 0; i < 200; i++)
		assert_float_equal(h->out[i * CH], tone[(t + i) * CH], 1e-6);
	for (i = 0; i < len; i++) {
		float g = (float)((double)i / (double)len);
		float was = tone[(t + 200 + i) * CH];
		assert_float_equal(
		    h->out[(200 + i) * CH], was * (1.0f - g), 1e-6);
	}
	assert_frames(h, 200 + len, BLOCK, 0.0f);
	expect_event(h, "tone", ENGINE_EVENT_ENDED, wall_at(2 * BLOCK + 200));
	expect_event(
	    h, "quiet", ENGINE_EVENT_STARTED, wall_at(2 * BLOCK + 200));
}

static void
test_skip_returns_to_live(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;

	/* A start already passed: on air from the first frame. */
	item(&it, "music", open_silence(), wall_at(0) - NS_PER_SEC, 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	assert_frames(h, 0, BLOCK, 0.0f);
	render(h);
	assert_frames(h, 0, BLOCK, 0.0f);

	switcher_skip(h->sw);
	render(h);
	assert_frames(h, 0, BLOCK, LIVE);
	expect_event(h, "music", ENGINE_EVENT_STARTED, wall_at(0));
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_int_equal(ev.what, ENGINE_EVENT_SKIPPED);
	assert_string_equal(ev.detail, "skipped through the control API");
	assert_string_equal(h->title, "Live show");

	/* A skip while live does nothing, not even later. */
	switcher_skip(h->sw);
	render(h);
	assert_frames(h, 0, BLOCK, LIVE);
	item(&it, "after", open_silence(), wall_at(h->frames), 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	assert_frames(h, 0, BLOCK, 0.0f);
}

/* Only live until the horizon: the engine may then take several blocks
 * in one wake-up. An item due within it, on air, fading, or a skip or end
 * asked for, and it may not. */
static void
test_live_steady(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	int64_t now = wall_at(0);

	assert_true(switcher_live_steady(h->sw, now, NS_PER_SEC));
	/* A skip while live waits for the next block (and does nothing). */
	switcher_skip(h->sw);
	assert_false(switcher_live_steady(h->sw, now, NS_PER_SEC));
	render(h);
	assert_true(
	    switcher_live_steady(h->sw, wall_at(h->frames), NS_PER_SEC));

	/* Due in 2 s: steady for a 1 s horizon, not for a 3 s one. */
	now = wall_at(h->frames);
	item(&it, "news", open_silence(), now + 2 * NS_PER_SEC, 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	assert_true(switcher_live_steady(h->sw, now, NS_PER_SEC));
	assert_false(switcher_live_steady(h->sw, now, 3 * NS_PER_SEC));
	/* On air: never steady, whatever the horizon. */
	while (h->frames < (int64_t)RATE * 2 + 3 * BLOCK)
		render(h);
	assert_frames(h, 0, BLOCK, 0.0f);
	assert_false(switcher_live_steady(h->sw, wall_at(h->frames), 0));
}

/* A 100-frame file: it plays from its frame, then live, with FAILED. */
static void
test_source_running_dry_returns_to_live(void **state)
{
	struct harness *h = *state;
	char path[] = "/tmp/test_switcher.XXXXXX";
	float frames[100 * CH];
	struct engine_item it;
	struct engine_event ev;
	struct source_spec spec = {
	    .name = "short", .kind = SCHEDULE_SOURCE_FILE};
	SF_INFO info = {.samplerate = RATE,
	    .channels = CH,
	    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *sf;
	int fd;
	size_t i;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
	assert_non_null(sf);
	for (i = 0; i < 100 * CH; i++)
		frames[i] = 0.25f;
	assert_int_equal(sf_writef_float(sf, frames, 100), 100);
	sf_close(sf);
	spec.path = path;

	render(h);
	item(&it, "short", open_source(&spec, 100), wall_at(BLOCK + 300), 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	unlink(path);
	assert_frames(h, 0, 300, LIVE);
	assert_frames(h, 300, 400, 0.25f);
	render(h);
	assert_frames(h, 0, BLOCK, LIVE);
	expect_event(h, "short", ENGINE_EVENT_STARTED, wall_at(BLOCK + 300));
	/* A file read to its end with no error ends; it does not fail. */
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "short");
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_true(ev.ran_out);
	assert_string_equal(
	    ev.detail, "at the end of its material: its file is 0.0 s long");
}

static void
test_late_item_is_dropped(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;

	render(h);
	render(h);
	/* Its whole slot (frames 100..500) passed before it arrived. */
	item(&it, "late", open_silence(), wall_at(100), wall_at(500), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	assert_frames(h, 0, BLOCK, LIVE);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "late");
	assert_int_equal(ev.what, ENGINE_EVENT_DROPPED);
	assert_string_equal(ev.detail, "its time had passed");
}

static void
test_full_queue_refuses_and_clear_empties(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;
	int i;

	for (i = 0; i < ENGINE_MAX_PENDING; i++) {
		item(&it, "later", open_silence(), wall_at(RATE * (i + 10)), 0,
		    0);
		assert_int_equal(switcher_schedule(h->sw, &it), 0);
	}
	/* Refused, and its source is closed (ASan would see a leak). */
	item(&it, "extra", open_silence(), wall_at(RATE * 30), 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), -ENOSPC);

	switcher_clear_pending(h->sw);
	assert_int_equal(switcher_poll(h->sw, &ev), 0);
	item(&it, "room", open_silence(), wall_at(RATE), 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
}

static void
test_live_title_only_while_live(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	char title[STATS_TEXT], artist[STATS_TEXT], before[STATS_TEXT];
	int n;

	render(h);
	n = h->n_tags;
	switcher_live_title(
	    h->sw, before, sizeof(before), artist, sizeof(artist));
	switcher_set_live_title(h->sw, "Night show", "DJ", NULL);
	/* A new encoder starts with the title on air: not this one yet. */
	switcher_live_title(
	    h->sw, title, sizeof(title), artist, sizeof(artist));
	assert_string_equal(title, before);
	render(h);
	assert_int_equal(h->n_tags, n + 1);
	assert_string_equal(h->title, "Night show");
	assert_string_equal(h->artist, "DJ");
	switcher_live_title(
	    h->sw, title, sizeof(title), artist, sizeof(artist));
	assert_string_equal(title, "Night show");
	assert_string_equal(artist, "DJ");

	/* Unchanged text is no change. */
	switcher_set_live_title(h->sw, "Night show", "DJ", NULL);
	render(h);
	assert_int_equal(h->n_tags, n + 1);

	item(&it, "ad", open_silence(), wall_at(h->frames),
	    wall_at(h->frames + 2 * BLOCK), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	assert_string_equal(h->title, "ad title");
	switcher_set_live_title(h->sw, "Late show", NULL, NULL);
	render(h);
	assert_string_equal(h->title, "ad title");
	render(h); /* the ad ends: live returns with its new title */
	assert_string_equal(h->title, "Late show");
	assert_string_equal(h->artist, "");
}

/* Blocks rendered until the tags change (at most `max`), -1 if never. */
static int
render_until_tags(struct harness *h, int max)
{
	int n = h->n_tags, i;

	for (i = 1; i <= max; i++) {
		render(h);
		if (h->n_tags != n)
			return i;
	}
	return -1;
}

static void
test_live_titles_coalesced(void **state)
{
	struct harness *h = *state;
	struct stats_programme p;
	struct engine_item it;
	/* Blocks until the gap since a change made at a block's start has
	 * passed: the change at frame F, the next one at the first block
	 * start at or after F + gap. */
	int gap =
	    (int)((SWITCHER_TITLE_GAP_NS * RATE / NS_PER_SEC + BLOCK - 1) /
		  BLOCK);
	int n, k;

	/* One title after a quiet start airs with the next block. */
	render(h);
	n = h->n_tags;
	switcher_set_live_title(h->sw, "One", NULL, NULL);
	render(h);
	assert_int_equal(h->n_tags, n + 1);
	assert_string_equal(h->title, "One");

	/* A burst within the gap: only the latest airs, once, when the gap
	 * since "One" has passed; until then status shows "One". */
	switcher_set_live_title(h->sw, "Two", NULL, NULL);
	render(h);
	switcher_set_live_title(h->sw, "Three", NULL, NULL);
	render(h);
	switcher_set_live_title(h->sw, "Four", "Desk", NULL);
	assert_int_equal(h->n_tags, n + 1);
	stats_programme_get(&p);
	assert_string_equal(p.title, "One");
	k = render_until_tags(h, 4 * gap);
	assert_int_equal(k + 2, gap); /* two blocks were rendered above */
	assert_int_equal(h->n_tags, n + 2);
	assert_string_equal(h->title, "Four");
	assert_string_equal(h->artist, "Desk");
	stats_programme_get(&p);
	assert_string_equal(p.title, "Four");

	/* Changed and changed back before it aired: no change at all. */
	switcher_set_live_title(h->sw, "Five", NULL, NULL);
	switcher_set_live_title(h->sw, "Four", "Desk", NULL);
	assert_int_equal(render_until_tags(h, 2 * gap), -1);

	/* After a quiet gap, a single title airs at once again. */
	switcher_set_live_title(h->sw, "Six", NULL, NULL);
	assert_int_equal(render_until_tags(h, 1), 1);
	assert_string_equal(h->title, "Six");

	/* A segment is never held: its title goes with its audio, and the
	 * live title set meanwhile airs when live returns. */
	item(&it, "ad", open_silence(), wall_at(h->frames),
	    wall_at(h->frames + 2 * BLOCK), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	assert_int_equal(render_until_tags(h, 1), 1);
	assert_string_equal(h->title, "ad title");
	switcher_set_live_title(h->sw, "Seven", NULL, NULL);
	assert_int_equal(render_until_tags(h, 2), 2);
	assert_string_equal(h->title, "Seven");
	/* ... and counts as a change: the next live title waits. */
	switcher_set_live_title(h->sw, "Eight", NULL, NULL);
	k = render_until_tags(h, 4 * gap);
	assert_int_equal(k, gap);
	assert_string_equal(h->title, "Eight");
}

/* What switcher_set_live_title() says became of a title matches what
 * then airs: on air now, held (for the rest of the gap, as estimated),
 * replaced unaired (named), the one on air again (unchanged), waiting for
 * live; and stats shows the title not on air yet as pending. */
static void
test_live_title_result(void **state)
{
	struct harness *h = *state;
	struct engine_title_result r;
	struct stats_programme p;
	struct engine_item it;
	int gap =
	    (int)((SWITCHER_TITLE_GAP_NS * RATE / NS_PER_SEC + BLOCK - 1) /
		  BLOCK);
	int64_t block_ns = (int64_t)BLOCK * NS_PER_SEC / RATE;

	render(h);
	switcher_set_live_title(h->sw, "One", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_ON_AIR);
	assert_int_equal(r.due_in_ns, 0);
	assert_false(r.replaced);
	assert_int_equal(r.gap_ns, SWITCHER_TITLE_GAP_NS);
	assert_int_equal(render_until_tags(h, 1), 1);
	assert_string_equal(h->title, "One");
	stats_programme_get(&p);
	assert_false(p.title_pending);

	/* Held: for the gap less the block rendered since "One". */
	render(h);
	switcher_set_live_title(h->sw, "Two", "Desk", &r);
	assert_int_equal(r.fate, ENGINE_TITLE_HELD);
	assert_true(r.due_in_ns > SWITCHER_TITLE_GAP_NS - 3 * block_ns);
	assert_true(r.due_in_ns <= SWITCHER_TITLE_GAP_NS - block_ns);
	assert_false(r.replaced);
	stats_programme_get(&p);
	assert_true(p.title_pending);
	assert_string_equal(p.pending_title, "Two");
	assert_string_equal(p.pending_artist, "Desk");
	assert_true(p.pending_due_wall_ns > util_now_wall_ns());
	assert_string_equal(p.title, "One");

	/* A later one replaces it, named; the title on air again drops the
	 * held one and changes nothing. */
	switcher_set_live_title(h->sw, "Three", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_HELD);
	assert_true(r.replaced);
	assert_string_equal(r.replaced_title, "Two");
	assert_string_equal(r.replaced_artist, "Desk");
	switcher_set_live_title(h->sw, "One", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_UNCHANGED);
	assert_true(r.replaced);
	assert_string_equal(r.replaced_title, "Three");
	stats_programme_get(&p);
	assert_false(p.title_pending);
	assert_int_equal(render_until_tags(h, 2 * gap), -1);

	/* After the gap: "Four" is on air now, so "Five" right after it
	 * (before the engine took "Four") does not replace it: it is held
	 * for the whole gap after "Four", which airs with the next block. */
	switcher_set_live_title(h->sw, "Four", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_ON_AIR);
	switcher_set_live_title(h->sw, "Five", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_HELD);
	assert_false(r.replaced);
	assert_true(r.due_in_ns > SWITCHER_TITLE_GAP_NS - block_ns);
	assert_int_equal(render_until_tags(h, 1), 1);
	assert_string_equal(h->title, "Four");
	stats_programme_get(&p);
	assert_true(p.title_pending);
	assert_string_equal(p.pending_title, "Five");
	assert_true(render_until_tags(h, 2 * gap) > 0);
	assert_string_equal(h->title, "Five");
	stats_programme_get(&p);
	assert_false(p.title_pending);

	/* A segment on air: the title waits for live, due unknown. */
	item(&it, "ad", open_silence(), wall_at(h->frames),
	    wall_at(h->frames + 2 * BLOCK), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	assert_int_equal(render_until_tags(h, 1), 1);
	/* The live title again: not on air either (the ad's is), it too
	 * waits for live, where it changes nothing. */
	switcher_set_live_title(h->sw, "Five", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_WAITS_FOR_LIVE);
	assert_false(r.replaced);
	switcher_set_live_title(h->sw, "Six", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_WAITS_FOR_LIVE);
	stats_programme_get(&p);
	assert_true(p.title_pending);
	assert_int_equal(p.pending_due_wall_ns, 0);
	assert_int_equal(render_until_tags(h, 2), 2);
	assert_string_equal(h->title, "Six");
	stats_programme_get(&p);
	assert_false(p.title_pending);

	/* The title live had, set again while a segment plays (automation
	 * posting its current title every few seconds), is not on air
	 * either: it waits for live as any title does, not "unchanged" (on
	 * air) while listeners hear the segment's. */
	item(&it, "ad2", open_silence(), wall_at(h->frames),
	    wall_at(h->frames + 2 * BLOCK), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	assert_int_equal(render_until_tags(h, 1), 1);
	switcher_set_live_title(h->sw, "Six", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_WAITS_FOR_LIVE);
	assert_false(r.replaced);
	assert_false(r.segment_first);
	assert_int_equal(render_until_tags(h, 2), 2);
	assert_string_equal(h->title, "Six");

	/* Live again, within the gap after its title went back on air: a
	 * title that would be held, with a segment due before the gap ends,
	 * airs after that segment, not "in 1.9 s" (the harness's clock is
	 * in the past, so any item waiting is due first). */
	item(&it, "ad3", open_silence(), wall_at(h->frames + 2 * BLOCK),
	    wall_at(h->frames + 4 * BLOCK), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	switcher_set_live_title(h->sw, "Seven", NULL, &r);
	assert_int_equal(r.fate, ENGINE_TITLE_WAITS_FOR_LIVE);
	assert_true(r.segment_first);
	assert_string_equal(r.segment, "ad3");
	assert_int_equal(r.due_in_ns, 0);
	stats_programme_get(&p);
	assert_true(p.title_pending);
	assert_int_equal(p.pending_due_wall_ns, 0);
	assert_true(render_until_tags(h, 4) > 0); /* the segment */
	assert_string_not_equal(h->title, "Seven");
	assert_true(render_until_tags(h, 2 * gap) > 0);
	assert_string_equal(h->title, "Seven");
}

/* A listening socket that never answers: a feed that is "connecting". */
static int
silent_server(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A feed source from a server that accepts and never answers (its fd in
 * *fd, for the caller to close): no audio, and no failure either. */
static struct source *
open_silent_feed(int *fd)
{
	struct source_spec spec = {
	    .name = "feed", .kind = SCHEDULE_SOURCE_STREAM};
	char url[64], err[256];
	int port;

	*fd = silent_server(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/feed.ogg", port);
	spec.url = url;
	return source_open(&spec, RATE, CH, err, sizeof(err));
}

/* A feed server that sends body (an Ogg Vorbis stream) once, then
 * closes: a feed that drops. */
struct dropping_feed {
	int fd;
	unsigned char *body;
	size_t len;
};

static void *
dropping_feed_main(void *arg)
{
	struct dropping_feed *d = arg;
	static const char head[] = "HTTP/1.0 200 OK\r\n"
				   "Content-Type: application/ogg\r\n\r\n";
	char req[2048];
	int c = accept(d->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	/* Short writes would show as a feed that drops sooner: fine. */
	if (read(c, req, sizeof(req)) > 0 &&
	    write(c, head, sizeof(head) - 1) == (ssize_t)sizeof(head) - 1 &&
	    write(c, d->body, d->len) < 0)
		fprintf(stderr, "dropping feed: %s\n", strerror(errno));
	close(c);
	return NULL;
}

/*
 * An early end with an error stays a failure: a feed that drops 0.5 s in
 * (the server ends it) in a 1.9 s slot is FAILED with the feed's reason,
 * where a file read to its end is ENDED
 * (test_early_end_hands_over_to_what_is_due).
 */
static void
test_feed_that_drops_fails(void **state)
{
	struct harness *h = *state;
	char path[] = "/tmp/test_switcher.XXXXXX";
	SF_INFO info = {.samplerate = RATE,
	    .channels = CH,
	    .format = SF_FORMAT_OGG | SF_FORMAT_VORBIS};
	struct source_spec spec = {
	    .name = "feed", .kind = SCHEDULE_SOURCE_STREAM};
	struct dropping_feed d;
	struct engine_item a;
	struct engine_event ev, last;
	float *frames = calloc(24000 * CH, sizeof(float));
	char url[64], err[256];
	pthread_t t;
	struct source *src;
	SNDFILE *sf;
	FILE *f;
	int fd, port, i;

	assert_non_null(frames);
	for (i = 0; i < 24000 * CH; i++)
		frames[i] = 0.25f * (float)sin(i / CH * 0.05);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	sf = sf_open_fd(fd, SFM_WRITE, &info, 1);
	assert_non_null(sf);
	assert_int_equal(sf_writef_float(sf, frames, 24000), 24000);
	sf_close(sf);
	free(frames);
	f = fopen(path, "rb");
	assert_non_null(f);
	d.body = malloc(1 << 20);
	assert_non_null(d.body);
	d.len = fread(d.body, 1, 1 << 20, f);
	fclose(f);
	unlink(path);
	assert_true(d.len > 0);
	d.fd = silent_server(&port);
	assert_int_equal(pthread_create(&t, NULL, dropping_feed_main, &d), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/feed.ogg", port);
	spec.url = url;
	src = source_open(&spec, RATE, CH, err, sizeof(err));
	assert_non_null(src);
	for (i = 0; i < 500 && !source_exhausted(src); i++)
		usleep(10000);
	assert_true(source_exhausted(src));
	pthread_join(t, NULL);
	close(d.fd);
	free(d.body);

	render(h);
	item(&a, "feed", src, wall_at(1500), wall_at(90000), 0);
	assert_int_equal(switcher_schedule(h->sw, &a), 0);
	memset(&last, 0, sizeof(last));
	for (i = 0; i < 40; i++) {
		render(h);
		while (switcher_poll(h->sw, &ev) == 1)
			if (ev.what != ENGINE_EVENT_STARTED &&
			    ev.what != ENGINE_EVENT_ENDING)
				last = ev;
	}
	assert_int_equal(last.what, ENGINE_EVENT_FAILED);
	assert_false(last.ran_out);
	assert_non_null(strstr(last.detail, "ended the feed"));
}

/* A skip hands over to an item already due (the planner puts the rest of
 * the scheduled segment an API segment held off the air there first),
 * waiting up to SWITCHER_SKIP_WAIT_NS for its source's audio with the
 * skipped item still on air: no live between. It used to go to live at
 * once, and the segment came back a block or more later. */
static void
test_skip_hands_over_to_what_is_due(void **state)
{
	struct harness *h = *state;
	struct engine_item a, b;
	struct engine_event ev;
	int live = 0, i, fd;

	render(h);
	item(&a, "flash", open_silence(), wall_at(1500), wall_at(90000), 0);
	assert_int_equal(switcher_schedule(h->sw, &a), 0);
	render(h); /* the flash from 1500 */
	expect_event(h, "flash", ENGINE_EVENT_STARTED, wall_at(1500));
	/* Due since the flash began; its source has no audio yet. */
	item(&b, "news", open_silent_feed(&fd), wall_at(1600), wall_at(200000),
	    0);
	assert_non_null(b.src);
	assert_int_equal(switcher_schedule(h->sw, &b), 0);
	switcher_skip(h->sw);
	/* 0.25 s is 11.7 blocks: the flash plays on meanwhile. */
	for (i = 0; i < 11; i++) {
		render(h);
		live += live_frames_from(h, 1500);
		assert_int_equal(switcher_poll(h->sw, &ev), 0);
	}
	assert_int_equal(live, 0);
	/* Then live, rather than wait longer. */
	render(h);
	render(h);
	assert_true(live_frames_from(h, h->frames - BLOCK) == BLOCK);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "flash");
	assert_int_equal(ev.what, ENGINE_EVENT_SKIPPED);
	switcher_clear_pending(h->sw);
	close(fd);
}

/*
 * A segment whose source ends before its planned end (a 0.5 s file in a
 * flash's longer slot) hands over to what is due at that end with no live
 * between, as a skip does: the switcher tells the planner (ENDING) once
 * the source has read all it has, and the planner (played here; it takes
 * two blocks, 43 ms, to have a source ready) queues the rest of the news
 * for that moment, which starts at the frame where the file runs out. The
 * planner used to hear of the end only when the file ran dry (FAILED):
 * live went on air while the news's source opened (here 2048 frames; on
 * air 40-120 ms).
 */
static void
test_early_end_hands_over_to_what_is_due(void **state)
{
	struct harness *h = *state;
	char path[] = "/tmp/test_switcher.XXXXXX";
	struct source_spec spec = {
	    .name = "flash", .kind = SCHEDULE_SOURCE_FILE};
	struct engine_item a, b;
	struct engine_event ev, last;
	int live = 0, n_ending = 0, queue_in = -1, i;
	int64_t resume_at = 0;

	write_wav(path, 24000, 0.25f);
	spec.path = path;
	render(h);
	item(&a, "flash", open_source(&spec, 24000), wall_at(1500),
	    wall_at(90000), 0);
	unlink(path);
	usleep(50 * 1000); /* its feeder has read the whole file */
	assert_int_equal(switcher_schedule(h->sw, &a), 0);
	memset(&last, 0, sizeof(last));
	for (i = 0; i < 30; i++) {
		render(h);
		live += live_frames_from(h, 1500);
		if (queue_in > 0 && --queue_in == 0) {
			/* The planner: the rest of the news from that end. */
			item(&b, "news", open_tone(), resume_at,
			    wall_at(200000), 0);
			assert_int_equal(switcher_schedule(h->sw, &b), 0);
		}
		while (switcher_poll(h->sw, &ev) == 1) {
			if (strcmp(ev.segment, "flash") != 0 ||
			    ev.what == ENGINE_EVENT_STARTED)
				continue;
			last = ev;
			n_ending += ev.what == ENGINE_EVENT_ENDING;
			if (queue_in < 0) {
				resume_at = ev.at_wall_ns;
				queue_in = 2;
			}
		}
	}
	assert_int_equal(live, 0);
	assert_int_equal(n_ending, 1);
	assert_true(llabs(resume_at - wall_at(25500)) < FRAME_NS);
	/* The file was read to its end with no error: it ENDED (it used
	 * to be FAILED, "its source ended early"), 1.3 s before its
	 * planned end. */
	assert_int_equal(last.what, ENGINE_EVENT_ENDED);
	assert_true(last.ran_out);
	assert_string_equal(last.detail,
	    "1.3 s before its planned end: its file is 0.5 s long");
	assert_true(llabs(last.at_wall_ns - wall_at(25500)) < FRAME_NS);
	assert_string_equal(last.next_segment, "news");
	switcher_clear_pending(h->sw);
}

/*
 * Start-up grace: an item whose start has come but whose source has no
 * audio yet waits while what is on air (here a tone segment) continues;
 * it is dropped, with why, only when the grace runs out. It used to go on
 * air at once and fail on its first short read.
 */
/* "Play now" items that come due in one block: only the last goes on air;
 * the ones it replaces before a frame of them airs are withdrawn, never
 * STARTED. Forty requests sent at once used to put each on air for a few
 * frames, reported "cut short after 0.0 s". */
static void
test_play_now_replaced_before_it_airs(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;
	const char *names[] = {"a", "b", "c"};
	size_t i;

	render(h);
	for (i = 0; i < 3; i++) {
		item(&it, names[i], open_tone(),
		    wall_at(BLOCK + 100 * (int64_t)(i + 1)), 0, 0);
		it.duration_ns = 5 * NS_PER_SEC;
		assert_int_equal(switcher_schedule(h->sw, &it), 0);
	}
	render(h);
	for (i = 0; i < 2; i++) {
		assert_int_equal(switcher_poll(h->sw, &ev), 1);
		assert_string_equal(ev.segment, names[i]);
		assert_int_equal(ev.what, ENGINE_EVENT_WITHDRAWN);
		assert_non_null(strstr(ev.detail, "before any of its audio"));
		assert_non_null(strstr(ev.detail, names[i + 1]));
	}
	expect_event(h, "c", ENGINE_EVENT_STARTED, wall_at(BLOCK + 300));
	assert_int_equal(switcher_poll(h->sw, &ev), 0);
	/* Live up to c's frame: a and b never reached the output. */
	assert_frames(h, 0, 300, LIVE);
	/* One in a later block replaces c, which did air: c ends. */
	item(&it, "d", open_tone(), wall_at(2 * BLOCK + 10), 0, 0);
	it.duration_ns = 5 * NS_PER_SEC;
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	expect_event(h, "c", ENGINE_EVENT_ENDED, wall_at(2 * BLOCK + 10));
	expect_event(h, "d", ENGINE_EVENT_STARTED, wall_at(2 * BLOCK + 10));
}

static void
test_start_grace(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;
	int fd, i;

	/* 0.1 s of grace: 4800 frames, 4.7 blocks. */
	switcher_set_start_grace(h->sw, 100 * NS_PER_MS);
	render(h);
	item(&it, "music", open_silence(), wall_at(BLOCK), 0, 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	item(&it, "feed", open_silent_feed(&fd), wall_at(2 * BLOCK),
	    wall_at(20 * BLOCK), 0);
	assert_non_null(it.src);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	expect_event(h, "music", ENGINE_EVENT_STARTED, wall_at(BLOCK));
	/* Due from frame 2 * BLOCK, not ready: "music" goes on. */
	for (i = 0; i < 4; i++) {
		render(h);
		assert_frames(h, 0, BLOCK, 0.0f);
		assert_int_equal(switcher_poll(h->sw, &ev), 0);
	}
	/* Past 4800 frames of waiting: dropped, music still on air. */
	render(h);
	render(h);
	assert_frames(h, 0, BLOCK, 0.0f);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "feed");
	assert_int_equal(ev.what, ENGINE_EVENT_DROPPED);
	assert_non_null(strstr(ev.detail, "no audio within 0.1 s"));
	close(fd);
}

/* An item queued long after its start (a 24 h segment when relay starts,
 * "play now") whose source has no audio yet gets the whole grace, counted
 * from when it came due, not none: it used to be dropped at once when the
 * engine rendered before the source's first frames (37_heavy_schedule,
 * with the engine woken by the schedule call). */
static void
test_start_grace_of_a_late_item(void **state)
{
	struct harness *h = *state;
	struct engine_item it;
	struct engine_event ev;
	int fd, i;

	switcher_set_start_grace(h->sw, 100 * NS_PER_MS); /* 4.7 blocks */
	for (i = 0; i < 20; i++)
		render(h);
	/* Its start 10 s before the programme's first frame. */
	item(&it, "late", open_silent_feed(&fd), wall_at(0) - 10 * NS_PER_SEC,
	    0, 0);
	assert_non_null(it.src);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	for (i = 0; i < 4; i++) {
		render(h);
		assert_frames(h, 0, BLOCK, LIVE);
		assert_int_equal(switcher_poll(h->sw, &ev), 0);
	}
	render(h);
	render(h);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "late");
	assert_int_equal(ev.what, ENGINE_EVENT_DROPPED);
	assert_non_null(strstr(ev.detail, "no audio within 0.1 s"));
	close(fd);
}

static void
enable_fallback(struct harness *h)
{
	struct engine_fallback f = {
	    .enabled = true,
	    .threshold_dbfs = -50.0,
	    .after_ns = NS_PER_SEC / 2,		 /* 24000 frames */
	    .restore_after_ns = NS_PER_SEC / 10, /* 4800 frames */
	};
	struct engine_item it;

	switcher_set_fallback(h->sw, &f);
	memset(&it, 0, sizeof(it));
	util_strlcpy(it.title, "Filler", sizeof(it.title));
	util_strlcpy(it.source_kind, "tone", sizeof(it.source_kind));
	it.src = open_tone();
	switcher_set_filler(h->sw, &it);
	assert_false(switcher_filler_wanted(h->sw));
}

/* Renders until the filler is on air; returns the blocks it took. */
static int
render_until_fallback(struct harness *h, int max_blocks)
{
	struct stats_programme p;
	int i;

	for (i = 0; i < max_blocks; i++) {
		render(h);
		stats_programme_get(&p);
		if (p.state == PROGRAMME_FALLBACK)
			return i + 1;
	}
	return -1;
}

static void
test_fallback_silent_segment_and_restore(void **state)
{
	struct harness *h = *state;
	struct engine_fallback_event fev;
	struct engine_event ev;
	struct engine_item it;
	struct stats_programme p;
	int blocks, i;

	enable_fallback(h);
	render(h);
	item(&it, "quiet", open_silence(), wall_at(BLOCK), 0, 0);
	it.duration_ns = 3600 * NS_PER_SEC;
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_int_equal(ev.what, ENGINE_EVENT_STARTED);
	/* Silent for 0.5 s (23.4 blocks): the filler, not before. */
	blocks = render_until_fallback(h, 40);
	assert_true(blocks >= 23 && blocks <= 25);
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_string_equal(ev.segment, "quiet");
	assert_int_equal(ev.what, ENGINE_EVENT_FAILED);
	assert_true(ev.to_filler);
	assert_non_null(strstr(ev.detail, "segment quiet stayed below -50"));
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 1);
	assert_true(fev.active);
	assert_non_null(strstr(fev.why, "segment quiet stayed below -50"));
	assert_true(fev.lead_in_s >= 0.5 && fev.lead_in_s < 0.6);
	stats_programme_get(&p);
	assert_string_equal(p.title, "Filler");
	assert_string_equal(h->title, "Filler");
	/* The waiting filler was used: the main thread must arm another. */
	assert_true(switcher_filler_wanted(h->sw));
	/* The live input (0.5) is loud: live returns after 0.1 s (4.7
	 * blocks), crossfade-free here (fade 0). */
	for (i = 0; i < 10; i++) {
		render(h);
		stats_programme_get(&p);
		if (p.state == PROGRAMME_LIVE)
			break;
	}
	assert_true(i >= 3 && i <= 6);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 1);
	assert_false(fev.active);
	assert_non_null(strstr(fev.why, "the live input stayed at or above"));
	render(h);
	assert_frames(h, 0, BLOCK, LIVE);
	assert_string_equal(h->title, "Live show");
	/* Only the segment's events: none for the filler itself. */
	assert_int_equal(switcher_poll(h->sw, &ev), 0);
}

/* A segment whose source fails while the live input has been silent for
 * `after` (a studio muted under a bulletin) hands over to the filler at
 * once, not to silent live. */
static void
test_fallback_failed_segment_over_silent_live(void **state)
{
	struct harness *h = *state;
	char path[] = "/tmp/test_switcher.XXXXXX";
	size_t n = 28800, i; /* 0.6 s */
	struct engine_fallback_event fev;
	struct engine_item it;
	struct engine_event ev;
	struct stats_programme p;
	struct source_spec spec = {
	    .name = "short", .kind = SCHEDULE_SOURCE_FILE};
	int b;

	write_wav(path, n, 0.25f);
	spec.path = path;
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = 0.0f;

	enable_fallback(h);
	render(h);
	item(&it, "short", open_source(&spec, n), wall_at(BLOCK + 300), 0, 0);
	it.duration_ns = 3600 * NS_PER_SEC;
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	unlink(path);
	/* The segment is loud: no dead air while it plays (28 blocks). */
	for (b = 0; b < 40; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state != PROGRAMME_SEGMENT)
			break;
	}
	assert_true(b >= 27 && b <= 29);
	assert_int_equal(p.state, PROGRAMME_FALLBACK);
	expect_event(h, "short", ENGINE_EVENT_STARTED, wall_at(BLOCK + 300));
	/* Its end was known once the file was read (check_early_end()). */
	expect_event(h, "short", ENGINE_EVENT_ENDING, wall_at(BLOCK + 300 + n));
	/* It ended (a short file, no error); the filler still follows,
	 * live being silent. */
	assert_int_equal(switcher_poll(h->sw, &ev), 1);
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_true(ev.ran_out);
	assert_true(ev.to_filler);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 1);
	assert_true(fev.active);
	assert_non_null(strstr(fev.why, "segment short ended ("));
	assert_non_null(strstr(fev.why, "the live input is silent"));
}

/* A segment that reaches its planned end while the live input has been
 * silent for `after` (the studio empty overnight, a bulletin on the hour)
 * hands over to the filler at once, as one that ran dry does: listeners
 * used to hear `after` of dead air (10 s by default) after every segment
 * before the filler came back. */
static void
test_fallback_planned_end_over_silent_live(void **state)
{
	struct harness *h = *state;
	struct engine_fallback_event fev;
	struct engine_item it;
	struct engine_event ev;
	struct stats_programme p;
	int64_t at;
	size_t i;
	int b;

	/* An empty studio: live silent, the filler on air after `after`. */
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = 0.0f;
	enable_fallback(h);
	assert_true(render_until_fallback(h, 40) > 0);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 1);
	assert_true(fev.active);
	/* A bulletin interrupts the filler for 0.7 s (32.8 blocks). */
	at = h->frames + 2 * BLOCK + 300;
	item(&it, "news", open_tone(), wall_at(at), wall_at(at + 33600), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	for (b = 0; b < 60; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state == PROGRAMME_SEGMENT)
			break;
	}
	assert_int_equal(p.state, PROGRAMME_SEGMENT);
	for (b = 0; b < 60; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state != PROGRAMME_SEGMENT)
			break;
	}
	assert_true(b >= 31 && b <= 34);
	/* Its planned end: the filler at once, not `after` of silence. */
	assert_int_equal(p.state, PROGRAMME_FALLBACK);
	assert_true(
	    h->out[BLOCK * CH - 1] != 0.0f || h->out[BLOCK * CH - 3] != 0.0f);
	while (
	    switcher_poll(h->sw, &ev) == 1 &&
	    !(ev.what == ENGINE_EVENT_ENDED && strcmp(ev.segment, "news") == 0))
		;
	assert_string_equal(ev.segment, "news");
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_true(ev.to_filler);
	assert_false(ev.ran_out);
	while (switcher_poll_fallback(h->sw, &fev) == 1 && !fev.active)
		;
	assert_true(fev.active);
	assert_non_null(strstr(fev.why, "segment news ended"));
	assert_non_null(strstr(fev.why, "the live input is silent"));
}

/* A staffed studio: the presenter talks up to the bulletin and closes
 * the faders for it. Live is silent for longer than `after` at its end,
 * but only since it began: live returns, not the filler, which would
 * cover the presenter's first words for `restore_after`. */
static void
test_planned_end_over_studio_silent_since_segment(void **state)
{
	struct harness *h = *state;
	struct engine_event ev;
	struct engine_item it;
	struct stats_programme p;
	int64_t at;
	size_t i;
	int b;

	enable_fallback(h);
	render(h);
	at = h->frames + BLOCK + 300;
	item(&it, "news", open_tone(), wall_at(at), wall_at(at + 33600), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	for (b = 0; b < 10; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state == PROGRAMME_SEGMENT)
			break;
	}
	assert_int_equal(p.state, PROGRAMME_SEGMENT);
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = 0.0f;
	for (b = 0; b < 60; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state != PROGRAMME_SEGMENT)
			break;
	}
	assert_true(b >= 31 && b <= 34);
	assert_int_equal(p.state, PROGRAMME_LIVE);
	while (
	    switcher_poll(h->sw, &ev) == 1 &&
	    !(ev.what == ENGINE_EVENT_ENDED && strcmp(ev.segment, "news") == 0))
		;
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_false(ev.to_filler);
	/* The presenter speaks within `after`: live, no filler. */
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = LIVE;
	for (b = 0; b < 20; b++) {
		render(h);
		stats_programme_get(&p);
		assert_int_equal(p.state, PROGRAMME_LIVE);
	}
	assert_frames(h, 0, BLOCK, LIVE);
}

/* The same studio with two segments back to back (the news, then the
 * weather): at the second one's planned end the studio has been silent
 * for longer than `after` before that segment began, but only since the
 * first one did, when live left the air. Live returns, not the filler. */
static void
test_planned_end_back_to_back_over_studio_silent(void **state)
{
	struct harness *h = *state;
	struct engine_event ev;
	struct engine_item it;
	struct stats_programme p;
	int64_t at;
	size_t i;
	int b;

	enable_fallback(h);
	render(h);
	at = h->frames + BLOCK + 300;
	item(&it, "news", open_tone(), wall_at(at), wall_at(at + 33600), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	item(&it, "weather", open_tone(), wall_at(at + 33600),
	    wall_at(at + 67200), 0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	for (b = 0; b < 10; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state == PROGRAMME_SEGMENT)
			break;
	}
	assert_int_equal(p.state, PROGRAMME_SEGMENT);
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = 0.0f;
	for (b = 0; b < 100; b++) {
		render(h);
		stats_programme_get(&p);
		if (p.state != PROGRAMME_SEGMENT)
			break;
	}
	/* Both aired, 0.7 s each (65.6 blocks), silent live all along. */
	assert_true(b >= 64 && b <= 68);
	assert_int_equal(p.state, PROGRAMME_LIVE);
	while (switcher_poll(h->sw, &ev) == 1 &&
	       !(ev.what == ENGINE_EVENT_ENDED &&
		   strcmp(ev.segment, "weather") == 0))
		;
	assert_string_equal(ev.segment, "weather");
	assert_int_equal(ev.what, ENGINE_EVENT_ENDED);
	assert_false(ev.to_filler);
}

static void
test_fallback_input_down_and_silent_live(void **state)
{
	struct harness *h = *state;
	struct engine_fallback_event fev;
	size_t i;
	int b;

	enable_fallback(h);
	render(h);
	/* A change says so (the engine wakes for it); a repeat does not. */
	assert_true(
	    switcher_set_input_down(h->sw, true, "stdin input: stdin closed"));
	assert_false(
	    switcher_set_input_down(h->sw, true, "stdin input: stdin closed"));
	assert_int_equal(render_until_fallback(h, 3), 1);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 1);
	assert_true(fev.active);
	assert_string_equal(fev.why, "stdin input: stdin closed");
	/* The filler (a -6 dBFS tone) is what goes out now. */
	render(h);
	for (i = 0; i < BLOCK * CH && h->out[i] == 0.0f; i++)
		;
	assert_true(i < BLOCK * CH);
	assert_true(h->out[BLOCK] != LIVE);
	/* Loud frames while the input is down do not count; neither does a
	 * silent input once it is back. */
	for (b = 0; b < 20; b++)
		render(h);
	assert_true(switcher_set_input_down(h->sw, false, NULL));
	assert_false(switcher_set_input_down(h->sw, false, NULL));
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = 0.0f;
	for (b = 0; b < 20; b++)
		render(h);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 0);
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = LIVE;
	for (b = 0; b < 6; b++)
		render(h);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 1);
	assert_false(fev.active);
	/* Turned off: nothing happens however silent it gets. */
	switcher_set_fallback(h->sw, &(struct engine_fallback){0});
	for (i = 0; i < BLOCK * CH; i++)
		h->live[i] = 0.0f;
	for (b = 0; b < 40; b++)
		render(h);
	assert_int_equal(switcher_poll_fallback(h->sw, &fev), 0);
}

/* A filler armed while the queue of retired sources is full (the main
 * thread has not closed them yet: a reload retired the pending items and
 * the engine the one that ended) replaces the waiting one all the same:
 * dead air then plays the new filler, not the one it replaced. */
static void
test_filler_rearmed_while_retired_queue_full(void **state)
{
	struct harness *h = *state;
	struct stats_programme p;
	struct engine_item it;
	int i, round;

	enable_fallback(h);
	item(&it, "short", open_silence(), wall_at(BLOCK), wall_at(2 * BLOCK),
	    0);
	assert_int_equal(switcher_schedule(h->sw, &it), 0);
	render(h);
	render(h);
	stats_programme_get(&p);
	assert_string_equal(p.segment, "short");
	/* A reload's worth of retirement: ENGINE_MAX_PENDING items
	 * withdrawn, as many planned again. */
	for (round = 0; round < 2; round++) {
		if (round > 0)
			switcher_clear_pending(h->sw);
		for (i = 0; i < ENGINE_MAX_PENDING; i++) {
			item(&it, "later", open_silence(),
			    wall_at(RATE * (i + 10)), 0, 0);
			assert_int_equal(switcher_schedule(h->sw, &it), 0);
		}
	}
	/* "short" ends: the engine retires its source too. */
	render(h);
	stats_programme_get(&p);
	assert_int_equal(p.state, PROGRAMME_LIVE);
	/* Nothing collected (no switcher_poll()): the new filler comes. */
	memset(&it, 0, sizeof(it));
	util_strlcpy(it.title, "New filler", sizeof(it.title));
	util_strlcpy(it.source_kind, "tone", sizeof(it.source_kind));
	it.src = open_tone();
	switcher_set_filler(h->sw, &it);
	assert_false(switcher_filler_wanted(h->sw));
	assert_true(
	    switcher_set_input_down(h->sw, true, "stdin input: stdin closed"));
	assert_int_equal(render_until_fallback(h, 3), 1);
	stats_programme_get(&p);
	assert_string_equal(p.title, "New filler");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_starts_and_ends_at_exact_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crossfades, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_events_wake_the_main_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_back_to_back_items_meet_after_the_clock_moved, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_skip_hands_over_to_what_is_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_early_end_hands_over_to_what_is_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_exact_length_file_ends_after_the_clock_moved, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_segment_gain_and_normalise, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_skip_returns_to_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_source_running_dry_returns_to_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_late_item_is_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_full_queue_refuses_and_clear_empties, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_live_title_only_while_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_live_titles_coalesced, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_live_title_result, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_grace, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_play_now_replaced_before_it_airs, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_feed_that_drops_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_start_grace_of_a_late_item, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_steady, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_fallback_silent_segment_and_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_fallback_input_down_and_silent_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_fallback_failed_segment_over_silent_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_fallback_planned_end_over_silent_live, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_planned_end_over_studio_silent_since_segment, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_planned_end_back_to_back_over_studio_silent, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_filler_rearmed_while_retired_queue_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
