/* SPDX-License-Identifier: MIT */
/*
 * Live titles: what POST /api/metadata sets for the live programme, and
 * when it goes on air.
 *
 * DESIGN
 * Each title on air is a new Ogg chain (or an Icecast admin request), so
 * a title less than SWITCHER_TITLE_GAP_NS of programme after the last
 * title change is held (title_dirty) and the latest one set goes on air
 * when the gap has passed; the ones it replaced never do. One title after
 * a quiet spell goes on air with the next block. switcher_set_live_title()
 * (main thread) works out what becomes of a title when it is set, from
 * the engine thread's published frames (pub_*): on air now (promised: it
 * airs with the next block whatever comes after it), held and for how
 * long, or waiting for live (a segment or the filler is on air, or one
 * starts before the gap ends); switcher_apply_live_title() (engine
 * thread) puts it on air. aired_title/aired_artist is the live title
 * last on air: a title set that differs from it is pending in stats.
 *
 * Threads: see switcher.h. title_lock guards the title fields; it is taken
 * after items_lock where both are held.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "stats.h"
#include "switcher.h"
#include "switcher_internal.h"
#include "util.h"

/* Publishes to stats whether the live title set is not on air yet.
 * Called with title_lock held, so that the main thread's and the engine
 * thread's views reach stats in the order they happened. */
void
switcher_publish_title_pending(struct switcher *sw)
{
	bool pending = !switcher_same_tags(
	    sw->title, sw->artist, sw->aired_title, sw->aired_artist);

	stats_title_pending_set(pending, sw->title, sw->artist,
	    sw->live_on_air ? sw->pending_due_wall_ns : 0);
}

/* Puts the live programme's new title on air with this block, unless the
 * last title change is less than SWITCHER_TITLE_GAP_NS of programme ago:
 * then it stays waiting (title_dirty), and whatever title is the latest
 * once the gap has passed goes on air, the ones it replaced never. A title
 * that is the one on air again by then changes nothing. A title the
 * control API was told is on air now (promised) airs with this block
 * whatever came after it; a later one then waits for the gap. */
void
switcher_apply_live_title(struct switcher *sw)
{
	char title[STATS_TEXT], artist[STATS_TEXT];
	bool live = switcher_item_is_live(&sw->cur);
	bool too_soon =
	    live && sw->tags_frame >= 0 &&
	    sw->frames_total - sw->tags_frame < sw->title_gap_frames;

	pthread_mutex_lock(&sw->title_lock);
	if (live && sw->has_promised) {
		util_strlcpy(title, sw->promised_title, sizeof(title));
		util_strlcpy(artist, sw->promised_artist, sizeof(artist));
		/* A title set after it still waits for the gap. */
		atomic_store(&sw->title_dirty,
		    !switcher_same_tags(sw->title, sw->artist, title, artist));
	} else if (too_soon) {
		pthread_mutex_unlock(&sw->title_lock);
		return; /* too soon after the last: held, the latest wins */
	} else {
		util_strlcpy(title, sw->title, sizeof(title));
		util_strlcpy(artist, sw->artist, sizeof(artist));
		atomic_store(&sw->title_dirty, false);
	}
	sw->has_promised = false;
	if (live &&
	    !switcher_same_tags(title, artist, sw->cur.title, sw->cur.artist)) {
		/* On air from this block: said in the same step as the title
		 * is taken, so that switcher_set_live_title() never sees it
		 * both taken and not on air. */
		util_strlcpy(sw->aired_title, title, sizeof(sw->aired_title));
		util_strlcpy(
		    sw->aired_artist, artist, sizeof(sw->aired_artist));
		atomic_store(&sw->pub_tags_frame, sw->frames_total);
	}
	pthread_mutex_unlock(&sw->title_lock);
	if (!live)
		return; /* a segment is on air: applied when live returns */
	if (switcher_same_tags(title, artist, sw->cur.title, sw->cur.artist))
		return; /* changed and changed back before it aired */
	util_strlcpy(sw->cur.title, title, sizeof(sw->cur.title));
	util_strlcpy(sw->cur.artist, artist, sizeof(sw->cur.artist));
	/* The new title goes on air now, not when live began: history
	 * stamps its entry with this. */
	sw->cur_title_since_wall_ns = util_now_wall_ns();
	switcher_send_tags(sw, title, artist, sw->frames_total);
	switcher_publish_programme(sw);
}

/* How long until a live title set now may go on air, by the engine's
 * last published block: 0 when no title change is less than
 * SWITCHER_TITLE_GAP_NS of programme ago. The programme has moved on by
 * the time passed since that block (its frames are in the ring). */
static int64_t
title_gap_left_ns(struct switcher *sw)
{
	int64_t tags = atomic_load(&sw->pub_tags_frame);
	int64_t frames = atomic_load(&sw->pub_frames);
	int64_t at = atomic_load(&sw->pub_frames_mono_ns);
	int64_t left_frames, left;

	if (tags < 0)
		return 0;
	left_frames = tags + sw->title_gap_frames - frames;
	if (left_frames <= 0)
		return 0;
	left = util_frames_ns(left_frames, sw->rate_hz);
	if (at > 0)
		left -= util_now_mono_ns() - at;
	return left > 0 ? left : 0;
}

/* The item waiting that starts first (its wall-clock start, at or before
 * now for "as soon as possible") in *at and its name; false when none.
 * Takes items_lock, so never called with title_lock held (publish_programme
 * takes them in that order). */
static bool
first_item_waiting(struct switcher *sw, int64_t *at, char *name, size_t len)
{
	bool any = false;
	size_t i;

	pthread_mutex_lock(&sw->items_lock);
	for (i = 0; i < sw->n_pending; i++) {
		const struct engine_item *it = &sw->pending[i];
		if (!any || it->start_wall_ns < *at) {
			*at = it->start_wall_ns;
			util_strlcpy(name, it->segment, len);
			any = true;
		}
	}
	pthread_mutex_unlock(&sw->items_lock);
	return any;
}

void
switcher_set_live_title(struct switcher *sw, const char *title,
    const char *artist, struct engine_title_result *res)
{
	char t[STATS_TEXT], a[STATS_TEXT], next_name[128] = "";
	struct engine_title_result r;
	bool was_pending, same_as_aired, is_promised, item_waits;
	int64_t next_at = 0, now_wall;

	memset(&r, 0, sizeof(r));
	r.gap_ns = SWITCHER_TITLE_GAP_NS;
	item_waits =
	    first_item_waiting(sw, &next_at, next_name, sizeof(next_name));
	now_wall = util_now_wall_ns();
	util_sanitize_text(t, sizeof(t), title != NULL ? title : "");
	util_sanitize_text(a, sizeof(a), artist != NULL ? artist : "");
	pthread_mutex_lock(&sw->title_lock);
	/* The title set so far is held (not on air, nor promised). */
	was_pending =
	    !switcher_same_tags(
		sw->title, sw->artist, sw->aired_title, sw->aired_artist) &&
	    !(sw->has_promised && switcher_same_tags(sw->title, sw->artist,
				      sw->promised_title, sw->promised_artist));
	same_as_aired =
	    switcher_same_tags(t, a, sw->aired_title, sw->aired_artist);
	is_promised =
	    sw->has_promised &&
	    switcher_same_tags(t, a, sw->promised_title, sw->promised_artist);
	if (was_pending && !switcher_same_tags(t, a, sw->title, sw->artist)) {
		/* The title not on air yet is dropped: it never airs. */
		r.replaced = true;
		util_strlcpy(
		    r.replaced_title, sw->title, sizeof(r.replaced_title));
		util_strlcpy(
		    r.replaced_artist, sw->artist, sizeof(r.replaced_artist));
		stats_title_replaced();
	}
	if (!switcher_same_tags(t, a, sw->title, sw->artist)) {
		util_strlcpy(sw->title, t, sizeof(sw->title));
		util_strlcpy(sw->artist, a, sizeof(sw->artist));
		atomic_store(&sw->title_dirty, true);
	}
	/* While a segment or the filler is on air, no live title is, the
	 * one live had included: it goes on air when live returns (an
	 * automation system posting the current title again during a
	 * bulletin must not be told it is on air). */
	if (!sw->live_on_air)
		r.fate = ENGINE_TITLE_WAITS_FOR_LIVE;
	else if (is_promised)
		r.fate = ENGINE_TITLE_ON_AIR; /* with the next block still */
	else if (same_as_aired && !sw->has_promised)
		r.fate = ENGINE_TITLE_UNCHANGED;
	else {
		r.due_in_ns = title_gap_left_ns(sw);
		if (sw->has_promised) {
			/* The gap runs from the promised title, which the
			 * engine has not taken yet. */
			int64_t since =
			    util_now_mono_ns() - sw->promised_mono_ns;
			if (SWITCHER_TITLE_GAP_NS - since > r.due_in_ns)
				r.due_in_ns = SWITCHER_TITLE_GAP_NS - since;
		}
		r.fate =
		    r.due_in_ns > 0 ? ENGINE_TITLE_HELD : ENGINE_TITLE_ON_AIR;
		if (r.fate == ENGINE_TITLE_HELD && item_waits &&
		    next_at <= now_wall + r.due_in_ns) {
			/* A segment starts before the gap ends: the title
			 * airs after it, when live returns, not in due_in. */
			r.fate = ENGINE_TITLE_WAITS_FOR_LIVE;
			r.segment_first = true;
			r.segment_in_ns =
			    next_at > now_wall ? next_at - now_wall : 0;
			util_strlcpy(r.segment, next_name, sizeof(r.segment));
			r.due_in_ns = 0;
		}
		if (r.fate == ENGINE_TITLE_ON_AIR) {
			sw->has_promised = true;
			util_strlcpy(
			    sw->promised_title, t, sizeof(sw->promised_title));
			util_strlcpy(sw->promised_artist, a,
			    sizeof(sw->promised_artist));
			sw->promised_mono_ns = util_now_mono_ns();
		}
	}
	/* A title held again keeps the time the gap ends. */
	sw->pending_due_wall_ns = r.fate == ENGINE_TITLE_HELD
				      ? now_wall + r.due_in_ns
				  : r.fate == ENGINE_TITLE_ON_AIR ? now_wall
								  : 0;
	switcher_publish_title_pending(sw);
	pthread_mutex_unlock(&sw->title_lock);
	if (res != NULL)
		*res = r;
}

void
switcher_live_title(struct switcher *sw, char *title, size_t title_len,
    char *artist, size_t artist_len)
{
	pthread_mutex_lock(&sw->title_lock);
	util_strlcpy(title, sw->tags_title, title_len);
	util_strlcpy(artist, sw->tags_artist, artist_len);
	pthread_mutex_unlock(&sw->title_lock);
}
