/* SPDX-License-Identifier: MIT */
/*
 * What switcher.c and switcher_title.c share: the switcher's state and
 * the few steps of the engine thread's both use. Not for other modules
 * (switcher.h is the interface).
 */
#ifndef RELAY_SWITCHER_INTERNAL_H
#define RELAY_SWITCHER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "level.h"
#include "stats.h"
#include "switcher.h"

struct switcher {
	int rate_hz;
	int channels;
	switcher_tags_cb *tags_cb;
	void *cb_arg;

	pthread_mutex_t title_lock;
	char title[STATS_TEXT]; /* the live programme's */
	char artist[STATS_TEXT];
	atomic_bool title_dirty;
	/* Under title_lock, written by the engine thread: the live
	 * programme's title as it last went on air, and whether live is on
	 * air. title/artist differing from it is a title not on air yet
	 * (held, or waiting for live): stats shows it, due then (wall
	 * time; 0 when live returns, set by switcher_set_live_title). */
	char aired_title[STATS_TEXT];
	char aired_artist[STATS_TEXT];
	bool live_on_air;
	int64_t pending_due_wall_ns;
	/* A title answered "on air now" that the engine has not taken yet:
	 * it airs with the next block even when a later title came in the
	 * meantime (that one waits for the gap after it). When it was set
	 * (monotonic), for that wait. */
	bool has_promised;
	/* The tags on air (the last send_tags()): what a new encoder
	 * starts with (switcher_live_title()). */
	char tags_title[STATS_TEXT];
	char tags_artist[STATS_TEXT];
	char promised_title[STATS_TEXT];
	char promised_artist[STATS_TEXT];
	int64_t promised_mono_ns;
	/* The engine thread's tags_frame and frames_total, and when it
	 * last finished a block (monotonic), for the main thread's
	 * estimate of when a held title airs (switcher_set_live_title). */
	atomic_int_fast64_t pub_tags_frame;
	atomic_int_fast64_t pub_frames;
	atomic_int_fast64_t pub_frames_mono_ns;
	/* Engine thread: the programme frame of the last tags change (a
	 * new chain), -1 none yet; a live title waits for
	 * SWITCHER_TITLE_GAP_NS after it (title_gap_frames). */
	int64_t tags_frame;
	int64_t title_gap_frames;

	/* `items_lock` guards pending[], retired[] and events[]; cur/old
	 * belong to the engine thread. */
	pthread_mutex_t items_lock;
	struct engine_item pending[ENGINE_MAX_PENDING];
	size_t n_pending;
	/* Sources done with, closed by the main thread (switcher_poll): a
	 * join must never happen on the audio path. switcher_schedule keeps
	 * pending + retired + 3 (cur, old, the waiting filler) within this,
	 * so it cannot fill. A waiting filler replaced or dropped by the
	 * main thread is closed by it at once, never retired. */
	struct source *retired[ENGINE_MAX_PENDING * 2 + 4];
	size_t n_retired;
	struct engine_event events[32];
	size_t ev_head, ev_count;
	atomic_bool skip_req;
	int64_t skip_frame;	   /* where a skip began to wait; -1 none */
	struct engine_item cur;	   /* src NULL and segment "": live */
	int64_t cur_end_frame;	   /* -1: open-ended */
	int64_t cur_since_wall_ns; /* when cur went on air */
	int64_t cur_title_since_wall_ns; /* when cur's title went on air */
	/* When the segments on air since live or the filler last was took
	 * over (back-to-back segments, one returning after a higher one
	 * share it): where live_dead_before_cur() measures from. */
	int64_t run_since_wall_ns;
	struct engine_item old; /* fading out */
	bool fading;
	int64_t fade_pos;
	int64_t fade_len;
	float *old_buf;
	int64_t starved_frames; /* cur's current underrun, bridged */
	/* check_early_end(): cur's source was found done reading; it runs
	 * dry before its planned end (at cur_end_frame), for this reason */
	bool cur_end_known;
	bool cur_ends_early;
	/* ... because its material ended, with no error (a file shorter
	 * than its slot): it ENDS then, it does not fail */
	bool cur_end_clean;
	int64_t cur_planned_end_ns; /* its end as planned; 0: open-ended */
	char cur_end_why[256];
	/* switcher_set_end() for the item on air, applied by the engine
	 * thread at its next block (items_lock) */
	uint64_t end_req_key;
	int64_t end_req_ns;
	atomic_int_fast64_t start_grace_ns;
	int64_t frames_total;	/* programme frames so far */
	int64_t anchor_wall_ns; /* wall time of frame 0; 0: not yet */

	/* Fallback: settings, the waiting filler, the input's state and
	 * the change queue under items_lock; det is the engine thread's. */
	struct engine_fallback fb;
	struct engine_item standby; /* src NULL: none waiting */
	bool has_standby;
	bool input_down;
	char input_why[200];
	struct engine_fallback_event fb_events[8];
	size_t fb_head, fb_count;
	struct level_dead_air det;
	int64_t live_quiet_frames; /* live input below threshold, in a row */
	/* The filler on air: the frame it went on air at, the silence
	 * before it, and the frame up to which its time is counted as
	 * dead air (stats_dead_air_add_ns), so the count, the log line and
	 * the event when it leaves all come from the same frames. */
	int64_t filler_from_frame;
	double filler_lead_s;
	int64_t dead_air_frame;
	char filler_title[STATS_TEXT]; /* the last filler's, for a stand-in */
	char filler_artist[STATS_TEXT];
};

/* The live programme: the input itself, no segment. */
static inline bool
switcher_item_is_live(const struct engine_item *it)
{
	return it->src == NULL && it->segment[0] == '\0' && !it->filler;
}

/* Whether title and artist are t2 and a2. */
static inline bool
switcher_same_tags(
    const char *t1, const char *a1, const char *t2, const char *a2)
{
	return strcmp(t1, t2) == 0 && strcmp(a1, a2) == 0;
}

/* switcher.c, engine thread: the title on air changes at programme frame
 * `frame` (a new chain); the item on air to stats. */
void switcher_send_tags(
    struct switcher *sw, const char *title, const char *artist, int64_t frame);
void switcher_publish_programme(struct switcher *sw);

/* switcher_title.c. Whether the live title set is not on air yet, to
 * stats (title_lock held). */
void switcher_publish_title_pending(struct switcher *sw);
/* Engine thread, at the end of a block while title_dirty: the live title
 * set goes on air unless the gap since the last title change runs. */
void switcher_apply_live_title(struct switcher *sw);

#endif
