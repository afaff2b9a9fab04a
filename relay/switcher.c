/* SPDX-License-Identifier: MIT */
/*
 * The programme switcher: which item is on air at every frame.
 *
 * DESIGN
 * Programme clock. Frame f of the programme (the live input's frames,
 * counted here) corresponds to wall time anchor + f / rate. The anchor is
 * estimated at every block as now - (frames read + frames still queued)
 * / rate: an upper bound of the truth (delays only add), so the switcher
 * keeps the smallest estimate, lets it creep up by 100 ppm to follow a
 * sound card that runs slow against the system clock, and re-anchors on
 * a jump of over 1 s (the system clock was stepped).
 *
 * Switching. An item (segment) starts at the frame matching its wall
 * start, splitting the block there: the switch is exact to the sample on
 * this clock. The outgoing source keeps playing under a linear crossfade
 * of `fade` frames (default 20 ms: no click). The live input is rendered
 * every block whatever is on air, so its producer sets the pace and a
 * segment never changes the timing. A segment source that runs dry (feed
 * dropped, decode error) hands over to live at the next frame; the main
 * thread logs why (switcher_poll). One that has read all it has before
 * its end (a short file) still buffers the rest: the frame where it will
 * run dry becomes its end, and the planner is told then (ENDING), so
 * what is due there is prepared ahead and meets it at that frame
 * (check_early_end()). Such an early end is an end (ENDED, ran_out) when
 * the source read its material with no error (a file shorter than its
 * slot), a failure (FAILED) when it had one (a feed that dropped).
 *
 * Dead air ([fallback]). After each block the detector (level.h) sees the
 * block's RMS as rendered and as it came from the live input. When it
 * says START, the waiting filler (opened ahead by the main thread, so its
 * first sample is decoded) goes on air from the next block, exactly like
 * a segment, crossfaded over its fade; a silent segment on air is cut
 * short for it (FAILED, to_filler); so is a segment whose source fails
 * while live would be dead air too (input down, or silent for `after`),
 * and one that runs dry then hands over to the filler too (ENDED,
 * to_filler), not to live; at its planned end, so does one that began
 * while live was dead air already (an empty studio: silent for `after`
 * before the segment, or before the first of segments back to back, or
 * the input down), while a studio that only fell silent during them
 * (faders down for the bulletin) gets live back.
 * When it says RESTORE, live returns the same way. A filler that runs dry
 * hands over to a fresh one when the main thread has armed it, else plays
 * silence; it never ends the fallback by itself. Filler items raise no segment
 * events: their changes go into their own queue (switcher_poll_fallback) and
 * into stats.
 *
 * Live titles (what the control API sets, held for the gap between title
 * changes, and what the answer says): switcher_title.c.
 *
 * Threads: see switcher.h.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "source.h"
#include "stats.h"
#include "switcher.h"
#include "switcher_internal.h"
#include "wakeup.h"

/* A segment (scheduled or through the API): neither live nor the
 * filler. */
static bool
is_segment(const struct engine_item *it)
{
	return !switcher_item_is_live(it) && !it->filler;
}

/* Publishes the item on air to stats (the switcher owns that part). */
void
switcher_publish_programme(struct switcher *sw)
{
	struct stats_programme p;
	const struct engine_item *it = &sw->cur;
	bool live = switcher_item_is_live(it);

	pthread_mutex_lock(&sw->title_lock);
	sw->live_on_air = live;
	if (live) {
		util_strlcpy(
		    sw->aired_title, it->title, sizeof(sw->aired_title));
		util_strlcpy(
		    sw->aired_artist, it->artist, sizeof(sw->aired_artist));
	}
	switcher_publish_title_pending(sw);
	pthread_mutex_unlock(&sw->title_lock);

	memset(&p, 0, sizeof(p));
	p.state = live	       ? PROGRAMME_LIVE
		  : it->filler ? PROGRAMME_FALLBACK
			       : PROGRAMME_SEGMENT;
	util_strlcpy(p.title, it->title, sizeof(p.title));
	util_strlcpy(p.artist, it->artist, sizeof(p.artist));
	util_strlcpy(p.source, it->source_kind, sizeof(p.source));
	util_strlcpy(p.segment, it->segment, sizeof(p.segment));
	p.started_at_wall_ns = sw->cur_since_wall_ns;
	p.title_at_wall_ns = sw->cur_title_since_wall_ns;
	p.ends_at_wall_ns = live || it->filler ? 0 : it->end_wall_ns;
	stats_programme_set_now(&p);
}

/* The title on air changes at programme frame `frame`: the encoders start
 * a new chain (or, metadata = admin, ask Icecast) with it. */
void
switcher_send_tags(
    struct switcher *sw, const char *title, const char *artist, int64_t frame)
{
	sw->tags_frame = frame;
	atomic_store(&sw->pub_tags_frame, frame);
	pthread_mutex_lock(&sw->title_lock);
	util_strlcpy(sw->tags_title, title, sizeof(sw->tags_title));
	util_strlcpy(sw->tags_artist, artist, sizeof(sw->tags_artist));
	pthread_mutex_unlock(&sw->title_lock);
	sw->tags_cb(title, artist, sw->cb_arg);
}

/* Called with items_lock held. The event is borrowed until the lock is
 * released (for the caller's extra fields). */
static struct engine_event *
push_event(struct switcher *sw, const struct engine_item *it, int what,
    int64_t at_wall_ns, const char *detail)
{
	struct engine_event *ev;

	if (sw->ev_count == RELAY_ARRAY_LEN(sw->events)) {
		/* Main is not reading: drop the oldest. */
		sw->ev_head = (sw->ev_head + 1) % RELAY_ARRAY_LEN(sw->events);
		sw->ev_count--;
	}
	ev = &sw->events[(sw->ev_head + sw->ev_count) %
			 RELAY_ARRAY_LEN(sw->events)];
	sw->ev_count++;
	memset(ev, 0, sizeof(*ev));
	util_strlcpy(ev->segment, it->segment, sizeof(ev->segment));
	ev->key = it->key;
	ev->at_wall_ns = at_wall_ns;
	ev->what = what;
	util_strlcpy(
	    ev->detail, detail != NULL ? detail : "", sizeof(ev->detail));
	wakeup_signal(); /* the main thread logs it and plans on */
	return ev;
}

/* Whether cur's source ran out of material with no error (a file read
 * to its end): an early end of that kind is an end, not a failure. */
static bool
cur_ran_out(struct switcher *sw)
{
	struct source *src = sw->cur.src;

	return src != NULL && source_exhausted(src) &&
	       source_error(src)[0] == '\0';
}

/* What ran out, in words: "its file is 6.9 s long". */
static void
ran_out_what(const struct switcher *sw, char *buf, size_t len)
{
	int64_t d = source_duration_ns(sw->cur.src);

	if (d < 0)
		snprintf(buf, len, "its source reached its end");
	else
		snprintf(buf, len, "its %s is %.1f s long",
		    strcmp(sw->cur.source_kind, "playlist") == 0 ? "playlist"
								 : "file",
		    (double)d / 1e9);
}

/* The detail of a clean early end at `at`, for the log and the request:
 * "17.9 s before its planned end: its file is 6.9 s long". */
static void
ran_out_detail(const struct switcher *sw, int64_t at, char *buf, size_t len)
{
	char what[160];

	ran_out_what(sw, what, sizeof(what));
	if (sw->cur_planned_end_ns > at)
		snprintf(buf, len, "%.1f s before its planned end: %s",
		    (double)(sw->cur_planned_end_ns - at) / 1e9, what);
	else
		snprintf(buf, len, "at the end of its material: %s", what);
}

/* Called with items_lock held: the main thread closes it later. */
static void
retire(struct switcher *sw, struct source *src)
{
	if (src == NULL)
		return;
	assert(sw->n_retired < RELAY_ARRAY_LEN(sw->retired));
	sw->retired[sw->n_retired++] = src;
	wakeup_signal();
}

static int64_t
wall_to_frame(struct switcher *sw, int64_t wall_ns)
{
	int64_t anchor = sw->anchor_wall_ns;
	int64_t d;

	if (anchor == 0)
		return sw->frames_total;
	d = wall_ns - anchor;
	/* Round to the nearest frame: d * rate / 1e9 without overflow for
	 * any plausible uptime (d < 2^63 / 192000 ns is 1.5 years). */
	return (d / NS_PER_SEC) * sw->rate_hz +
	       ((d % NS_PER_SEC) * sw->rate_hz + NS_PER_SEC / 2) / NS_PER_SEC;
}

static int64_t
frame_to_wall(struct switcher *sw, int64_t frame)
{
	if (sw->anchor_wall_ns == 0)
		return util_now_wall_ns();
	return sw->anchor_wall_ns + frame / sw->rate_hz * NS_PER_SEC +
	       frame % sw->rate_hz * NS_PER_SEC / sw->rate_hz;
}

static void
make_live(struct switcher *sw, struct engine_item *it)
{
	memset(it, 0, sizeof(*it));
	util_strlcpy(it->source_kind, "live", sizeof(it->source_kind));
	pthread_mutex_lock(&sw->title_lock);
	util_strlcpy(it->title, sw->title, sizeof(it->title));
	util_strlcpy(it->artist, sw->artist, sizeof(it->artist));
	atomic_store(&sw->title_dirty, false);
	sw->has_promised = false; /* live returns with the latest */
	pthread_mutex_unlock(&sw->title_lock);
}

/* Counts the filler's time on air up to frame upto as dead air. */
static void
count_dead_air(struct switcher *sw, int64_t upto)
{
	if (upto <= sw->dead_air_frame)
		return;
	stats_dead_air_add_ns(
	    util_frames_ns(upto - sw->dead_air_frame, sw->rate_hz));
	sw->dead_air_frame = upto;
}

/* Queues a fallback change for the main thread and publishes it: the
 * filler on air (lead_in_s: the silence before it), or off air, with the
 * dead air that ended (lead_in_s, then filler_s of filler). Called with
 * items_lock held. */
static void
push_fallback(struct switcher *sw, bool active, int64_t at_wall_ns,
    double lead_in_s, double filler_s, const char *why)
{
	struct engine_fallback_event *ev;
	size_t cap = RELAY_ARRAY_LEN(sw->fb_events);

	if (sw->fb_count == cap) {
		sw->fb_head = (sw->fb_head + 1) % cap;
		sw->fb_count--;
	}
	ev = &sw->fb_events[(sw->fb_head + sw->fb_count) % cap];
	sw->fb_count++;
	memset(ev, 0, sizeof(*ev));
	ev->active = active;
	ev->at_wall_ns = at_wall_ns;
	ev->lead_in_s = lead_in_s;
	ev->filler_s = filler_s;
	util_strlcpy(ev->why, why, sizeof(ev->why));
	stats_fallback_set(active, at_wall_ns, active ? why : NULL);
	wakeup_signal(); /* log, hooks, and a new filler armed */
}

/*
 * Switches the programme to `next` at programme frame `frame`. The item on
 * air fades out over the fade of whichever item is a segment, while the
 * new one fades in from exactly that frame (to and from the filler: over
 * the filler's fade). Called with items_lock held.
 */
static void
transition(struct switcher *sw, struct engine_item *next, int64_t frame,
    int why, const char *detail)
{
	int64_t at = frame_to_wall(sw, frame);
	bool cur_live = switcher_item_is_live(&sw->cur);
	int64_t fade_ns = cur_live ? next->fade_ns : sw->cur.fade_ns;
	char early[300]; /* detail may point here until the function ends */

	/* To or from the filler: its own fade, whatever it meets. */
	if (next->filler)
		fade_ns = next->fade_ns;
	if (!cur_live && !sw->cur.filler) {
		struct engine_event *ev;
		bool ran_out = false;
		/* Its source ran out here, ahead of its planned end
		 * (check_early_end()), even with the next item taking over
		 * at this frame: a failure with its reason when the source
		 * had an error (a feed dropped, a decode error), else an
		 * end (a file shorter than its slot), said in words. */
		if (sw->cur_ends_early && why == ENGINE_EVENT_ENDED &&
		    frame >= sw->cur_end_frame) {
			if (sw->cur_end_clean) {
				ran_out_detail(sw, at, early, sizeof(early));
				detail = early;
				ran_out = true;
			} else {
				why = ENGINE_EVENT_FAILED;
				detail = sw->cur_end_why;
			}
		}
		ev = push_event(sw, &sw->cur, why, at, detail);
		ev->ran_out = ran_out;
		if (!switcher_item_is_live(next) && !next->filler)
			util_strlcpy(ev->next_segment, next->segment,
			    sizeof(ev->next_segment));
	}
	if (sw->cur.filler && !next->filler) {
		char left[256];

		if (switcher_item_is_live(next))
			snprintf(left, sizeof(left), "%s",
			    detail != NULL ? detail : "live returned");
		else
			snprintf(left, sizeof(left), "segment %s started",
			    next->segment);
		count_dead_air(sw, frame);
		push_fallback(sw, false, at, sw->filler_lead_s,
		    (double)(frame - sw->filler_from_frame) / sw->rate_hz,
		    left);
		level_dead_air_set_active(&sw->det, false);
	}
	if (sw->fading)
		retire(sw, sw->old.src);
	sw->old = sw->cur;
	sw->fading = fade_ns > 0;
	sw->fade_pos = 0;
	sw->fade_len = fade_ns * sw->rate_hz / NS_PER_SEC;
	if (sw->fade_len <= 0)
		sw->fading = false;
	if (!sw->fading) {
		retire(sw, sw->old.src);
		sw->old.src = NULL;
	}
	if (is_segment(next) && !is_segment(&sw->cur))
		sw->run_since_wall_ns = at;
	sw->cur = *next;
	sw->starved_frames = 0;
	sw->cur_end_known = sw->cur_ends_early = sw->cur_end_clean = false;
	sw->cur_end_why[0] = '\0';
	sw->cur_since_wall_ns = at;
	sw->cur_title_since_wall_ns = at;
	if (sw->cur.end_wall_ns == 0 && sw->cur.duration_ns > 0)
		sw->cur.end_wall_ns = at + sw->cur.duration_ns;
	sw->cur_end_frame = sw->cur.end_wall_ns > 0
				? wall_to_frame(sw, sw->cur.end_wall_ns)
				: -1;
	sw->cur_planned_end_ns = sw->cur.end_wall_ns;
	if (!switcher_item_is_live(next) && !next->filler)
		push_event(sw, next, ENGINE_EVENT_STARTED, at, NULL);
	switcher_send_tags(sw, next->title, next->artist, frame);
	switcher_publish_programme(sw);
}

/* Frames of one source into dst (zeros where it has none); returns how
 * many frames it really gave. */
static size_t
pull(struct switcher *sw, const struct engine_item *it, const float *live,
    float *dst, size_t m)
{
	struct source *src = it->src;
	size_t ch = (size_t)sw->channels, got;

	if (src == NULL && it->filler) {
		/* No filler could be armed: silence, still the fallback. */
		memset(dst, 0, m * ch * sizeof(float));
		return m;
	}
	if (src == NULL) {
		memcpy(dst, live, m * ch * sizeof(float));
		return m;
	}
	got = source_read(src, dst, m);
	if (got < m)
		memset(dst + got * ch, 0, (m - got) * ch * sizeof(float));
	if (it->gain_db != 0.0) {
		/* The segment's own gain ([segment] gain), before any fade. */
		float g = (float)pow(10.0, it->gain_db / 20.0);
		size_t i;

		for (i = 0; i < got * ch; i++)
			dst[i] *= g;
	}
	return got;
}

/* Renders programme frames [a, b) of this block into out. Returns false
 * when the current segment ran dry (the caller switches to live): its
 * source ended or failed, or has been short for longer than the bridge. */
static bool
render(struct switcher *sw, const float *live_block, float *out, size_t a,
    size_t b)
{
	size_t ch = (size_t)sw->channels, m = b - a, i, c;
	const float *live = live_block + a * ch;
	size_t got;

	got = pull(sw, &sw->cur, live, out + a * ch, m);
	if (sw->fading) {
		pull(sw, &sw->old, live, sw->old_buf, m);
		for (i = 0; i < m && sw->fading; i++) {
			float g = (float)((double)sw->fade_pos /
					  (double)sw->fade_len);
			for (c = 0; c < ch; c++) {
				float *o = &out[(a + i) * ch + c];
				*o = *o * g +
				     sw->old_buf[i * ch + c] * (1.0f - g);
			}
			if (++sw->fade_pos >= sw->fade_len) {
				sw->fading = false;
				pthread_mutex_lock(&sw->items_lock);
				retire(sw, sw->old.src);
				pthread_mutex_unlock(&sw->items_lock);
				sw->old.src = NULL;
			}
		}
	}
	if (got == m || sw->cur.src == NULL) {
		sw->starved_frames = 0;
		return true;
	}
	switch (source_state(sw->cur.src)) {
	case SOURCE_ENDED:
		/* Its material, sized by the programme clock as it stood at
		 * its start, ends a little before its end as the clock
		 * stands now (switcher_render): silence to the end, which
		 * comes as planned, not a source that "ended early". */
		if (sw->cur_end_frame >= 0 &&
		    (source_error(sw->cur.src)[0] == '\0' ||
			sw->cur_ends_early) &&
		    (sw->cur_end_frame - sw->frames_total - (int64_t)b) *
			    NS_PER_SEC / sw->rate_hz <=
			SWITCHER_END_SLACK_NS)
			return true;
		return false;
	case SOURCE_FAILED:
		return false;
	case SOURCE_STARTING:
	case SOURCE_RUNNING:
		break;
	}
	/* Late, not gone: silence fills the gap (pull zeroed it). */
	sw->starved_frames += (int64_t)(m - got);
	return sw->starved_frames * NS_PER_SEC / sw->rate_hz <=
	       SWITCHER_UNDERRUN_BRIDGE_NS;
}

/*
 * Whether a due item may go on air: it has audio (or is the live input).
 * 0: yes; 1: wait (what is on air continues); -1: give up, why filled.
 * Called with items_lock held.
 */
static int
due_item_ready(struct switcher *sw, const struct engine_item *it,
    int64_t waited_frames, char *why, size_t whylen)
{
	int64_t grace = atomic_load(&sw->start_grace_ns);
	enum source_state st;

	if (it->src == NULL || source_buffered(it->src) > 0)
		return 0;
	st = source_state(it->src);
	if (st == SOURCE_FAILED || st == SOURCE_ENDED) {
		snprintf(why, whylen, "%s",
		    source_error(it->src)[0] != '\0'
			? source_error(it->src)
			: "its source ended before it started");
		return -1;
	}
	if (waited_frames * NS_PER_SEC / sw->rate_hz >= grace) {
		snprintf(why, whylen,
		    "its source delivered no audio within %.1f s of its "
		    "start",
		    (double)grace / 1e9);
		return -1;
	}
	return 1;
}

/* Estimates the wall time of frame 0 (see DESIGN). */
static void
update_anchor(struct switcher *sw, size_t n, int64_t now, size_t queued)
{
	int64_t newest = sw->frames_total + (int64_t)n + (int64_t)queued;
	int64_t est = now - newest / sw->rate_hz * NS_PER_SEC -
		      newest % sw->rate_hz * NS_PER_SEC / sw->rate_hz;
	int64_t creep = (int64_t)n * NS_PER_SEC / sw->rate_hz / 10000;

	if (sw->anchor_wall_ns == 0 || est < sw->anchor_wall_ns ||
	    est - sw->anchor_wall_ns > NS_PER_SEC)
		sw->anchor_wall_ns = est;
	else
		sw->anchor_wall_ns += creep;
}

/* Whether handing over to live now would be dead air: fallback is on and
 * the live input is down, or has been below the threshold for `after`
 * (a studio muted under a bulletin). Called with items_lock held. */
static bool
live_is_dead_air(
    const struct switcher *sw, const struct engine_fallback *fb, bool down)
{
	return fb->enabled && (down || util_frames_ns(sw->live_quiet_frames,
					   sw->rate_hz) >= fb->after_ns);
}

/* At cur's planned end: whether live was dead air already when the
 * segments took over from live or the filler (silent for `after` before
 * the first of them, as in an empty studio the filler covered), or the
 * input is down. Then the filler follows at once. A studio that fell
 * silent during them (faders down for the bulletin, and the weather
 * after it) gets live back, and the programme's dead-air count runs as
 * after any segment: the presenter's first words are not under the
 * filler for `restore_after`. */
static bool
live_dead_before_cur(
    struct switcher *sw, const struct engine_fallback *fb, bool down, int64_t f)
{
	int64_t on_air_ns = frame_to_wall(sw, f) - sw->run_since_wall_ns;
	int64_t quiet_ns = util_frames_ns(sw->live_quiet_frames, sw->rate_hz);

	return fb->enabled && (down || quiet_ns - on_air_ns >= fb->after_ns);
}

/* Puts the waiting filler (or, when none could be armed, silence) on air
 * from frame f. Called with items_lock held. */
static void
start_filler(struct switcher *sw, int64_t f, double lead_in_s, const char *why,
    const char *segment_detail, int segment_what, bool ran_out)
{
	struct engine_item it;
	int64_t at = frame_to_wall(sw, f);
	bool cut_segment = !switcher_item_is_live(&sw->cur);

	if (sw->has_standby) {
		it = sw->standby;
		sw->has_standby = false;
		memset(&sw->standby, 0, sizeof(sw->standby));
	} else {
		memset(&it, 0, sizeof(it));
		util_strlcpy(it.source_kind, "silence", sizeof(it.source_kind));
		it.fade_ns = SWITCHER_FILLER_FADE_NS;
	}
	it.filler = true;
	if (cut_segment) {
		/* The silent segment ends here; the planner logs it. */
		struct engine_event *ev = push_event(sw, &sw->cur, segment_what,
		    at, segment_detail != NULL ? segment_detail : why);
		ev->to_filler = true;
		ev->ran_out = ran_out;
		/* transition() must not report it a second time. */
		sw->cur.segment[0] = '\0';
		sw->cur.filler = true;
	}
	transition(sw, &it, f, ENGINE_EVENT_FAILED, why);
	sw->filler_from_frame = sw->dead_air_frame = f;
	sw->filler_lead_s = lead_in_s;
	stats_dead_air_add_ns((int64_t)(lead_in_s * 1e9));
	push_fallback(sw, true, at, lead_in_s, 0.0, why);
}

/*
 * After a block of n frames: feeds the detector with what went on air
 * (out) and what the live input gave (live), and acts on its verdict at
 * the next block's first frame. Runs on: the engine thread.
 */
static void
fallback_step(struct switcher *sw, const float *live, const float *out,
    size_t n, const struct engine_fallback *fb, bool down, const char *why)
{
	int64_t f = sw->frames_total + (int64_t)n;
	bool on_filler = sw->cur.filler, quiet, good;
	enum level_dead_air_verdict v;
	char text[256];

	if (!fb->enabled) {
		if (on_filler) {
			struct engine_item l;
			make_live(sw, &l);
			pthread_mutex_lock(&sw->items_lock);
			transition(sw, &l, f, ENGINE_EVENT_ENDED,
			    "fallback turned off (reload)");
			pthread_mutex_unlock(&sw->items_lock);
		}
		level_dead_air_set_active(&sw->det, false);
		sw->live_quiet_frames = 0;
		return;
	}
	level_dead_air_set_spans(&sw->det,
	    fb->after_ns * sw->rate_hz / NS_PER_SEC,
	    fb->restore_after_ns * sw->rate_hz / NS_PER_SEC);
	if (sw->det.active != on_filler)
		level_dead_air_set_active(&sw->det, on_filler);
	if (on_filler)
		count_dead_air(sw, f);
	quiet = level_rms_dbfs(out, n, sw->channels) < fb->threshold_dbfs;
	good = !down &&
	       level_rms_dbfs(live, n, sw->channels) >= fb->threshold_dbfs;
	sw->live_quiet_frames = good ? 0 : sw->live_quiet_frames + (int64_t)n;
	v = level_dead_air_feed(
	    &sw->det, quiet, good, down && switcher_item_is_live(&sw->cur), n);
	if (v == LEVEL_DEAD_AIR_START) {
		double lead = (double)sw->det.quiet_frames / sw->rate_hz;
		if (down && switcher_item_is_live(&sw->cur)) {
			snprintf(text, sizeof(text), "%s", why);
			lead = 0.0;
		} else if (switcher_item_is_live(&sw->cur)) {
			snprintf(text, sizeof(text),
			    "the programme stayed below %g dBFS for %.1f s",
			    fb->threshold_dbfs, lead);
		} else {
			snprintf(text, sizeof(text),
			    "segment %s stayed below %g dBFS for %.1f s",
			    sw->cur.segment, fb->threshold_dbfs, lead);
		}
		pthread_mutex_lock(&sw->items_lock);
		start_filler(
		    sw, f, lead, text, NULL, ENGINE_EVENT_FAILED, false);
		pthread_mutex_unlock(&sw->items_lock);
	} else if (v == LEVEL_DEAD_AIR_RESTORE) {
		struct engine_item l;
		snprintf(text, sizeof(text),
		    "the live input stayed at or above %g dBFS for %.1f s",
		    fb->threshold_dbfs, (double)fb->restore_after_ns / 1e9);
		make_live(sw, &l);
		pthread_mutex_lock(&sw->items_lock);
		transition(sw, &l, f, ENGINE_EVENT_ENDED, text);
		pthread_mutex_unlock(&sw->items_lock);
	}
}

/* The segment on air ran dry at frame f (why): the filler when live would
 * be dead air too, else live. Called with items_lock held. */
static void
end_dry(struct switcher *sw, int64_t f, const struct engine_fallback *fb,
    bool down, const char *why)
{
	struct engine_item l;
	/* A file read to its end with no error ends (ENDED, not FAILED);
	 * who follows does not change. */
	bool clean = cur_ran_out(sw);
	char detail[300];

	if (clean)
		ran_out_detail(
		    sw, frame_to_wall(sw, f), detail, sizeof(detail));
	else
		util_strlcpy(detail, why, sizeof(detail));
	if (live_is_dead_air(sw, fb, down)) {
		/* Live would be dead air too: the filler at once, not
		 * after another `after`. */
		char text[400];
		snprintf(text, sizeof(text),
		    "segment %s %s (%s) and the live input is %s",
		    sw->cur.segment, clean ? "ended" : "failed", detail,
		    down ? "down" : "silent");
		start_filler(sw, f, 0.0, text, detail,
		    clean ? ENGINE_EVENT_ENDED : ENGINE_EVENT_FAILED, clean);
	} else if (clean) {
		/* transition() says it in words (ran_out_detail()). */
		sw->cur_ends_early = sw->cur_end_clean = true;
		if (sw->cur_end_frame < 0 || sw->cur_end_frame > f)
			sw->cur_end_frame = f;
		make_live(sw, &l);
		transition(sw, &l, f, ENGINE_EVENT_ENDED, NULL);
	} else {
		make_live(sw, &l);
		transition(sw, &l, f, ENGINE_EVENT_FAILED, why);
	}
}

/*
 * At a block's start: once the source on air has read all it has
 * (source_exhausted()), the frame where it runs dry is known, what it
 * still buffers from here (a file's last 2.5 s). Before the item's planned
 * end that frame becomes its end, and the planner hears of it now
 * (ENDING): it prepares what is due then (the rest of a segment this one
 * held off the air) ahead, as for a planned end, and the two meet at one
 * frame. Told only when the source ran dry, it prepared it then, and live
 * was heard while that source opened (40-120 ms). Runs on: the engine
 * thread.
 */
static void
check_early_end(struct switcher *sw)
{
	struct source *src = sw->cur.src;
	int64_t slack = SWITCHER_END_SLACK_NS * sw->rate_hz / NS_PER_SEC;
	int64_t end;
	size_t left;

	if (sw->cur_end_known || src == NULL || sw->cur.filler ||
	    !source_exhausted(src))
		return;
	sw->cur_end_known = true;
	left = source_buffered(src);
	end = sw->frames_total + (int64_t)left;
	/* Dry already (the next read says so), or at its end anyway. */
	if (left == 0 ||
	    (sw->cur_end_frame >= 0 && end >= sw->cur_end_frame - slack))
		return;
	sw->cur_end_clean = source_error(src)[0] == '\0';
	if (sw->cur_end_clean)
		ran_out_what(sw, sw->cur_end_why, sizeof(sw->cur_end_why));
	else
		util_strlcpy(sw->cur_end_why, source_error(src),
		    sizeof(sw->cur_end_why));
	sw->cur_ends_early = true;
	sw->cur_end_frame = end;
	pthread_mutex_lock(&sw->items_lock);
	sw->cur.end_wall_ns = frame_to_wall(sw, end);
	push_event(sw, &sw->cur, ENGINE_EVENT_ENDING, sw->cur.end_wall_ns,
	    sw->cur_end_why);
	switcher_publish_programme(sw);
	pthread_mutex_unlock(&sw->items_lock);
}

/*
 * A skip asked for (switcher_skip()), at frame f; due is the first pending
 * item's state as switcher_render() found it. What is due takes over from
 * the skipped item (the planner prepares the rest of a scheduled segment
 * an API segment held off the air): true, and the caller starts it as the
 * skip. While its source has no audio yet the skipped item goes on, up to
 * SWITCHER_SKIP_WAIT_NS; with nothing due, or after that, live takes over
 * here. Called with items_lock held.
 */
static bool
skip_step(struct switcher *sw, int64_t f, int due)
{
	bool segment = !switcher_item_is_live(&sw->cur);
	struct engine_item l;

	if (!atomic_load(&sw->skip_req)) {
		sw->skip_frame = -1;
		return false;
	}
	if (segment && due != 1) {
		if (sw->skip_frame < 0)
			sw->skip_frame = f;
		if (due == 2 &&
		    (f - sw->skip_frame) * NS_PER_SEC / sw->rate_hz <
			SWITCHER_SKIP_WAIT_NS)
			return false;
		make_live(sw, &l);
		transition(sw, &l, f, ENGINE_EVENT_SKIPPED,
		    "skipped through the control API");
	}
	atomic_store(&sw->skip_req, false);
	sw->skip_frame = -1;
	return segment && due == 1;
}

/*
 * Whether "play now" item it, due now, is replaced before a frame of it
 * would air: the next pending item (pending[0] once it is taken off) is
 * due inside this block of n frames and has audio, so it would take over
 * within the block. Of many sent at once only the last airs; the others
 * are withdrawn, never STARTED, so nothing reports them on air for a few
 * frames (why says what replaced them). A scheduled item keeps its exact
 * frame. Called with items_lock held.
 */
static bool
replaced_unheard(struct switcher *sw, const struct engine_item *it, size_t n,
    char *why, size_t whylen)
{
	const struct engine_item *next = &sw->pending[0];
	char unused[8];

	if (it->end_wall_ns != 0 || it->duration_ns <= 0 || sw->n_pending == 0)
		return false;
	if (wall_to_frame(sw, next->start_wall_ns) >=
	    sw->frames_total + (int64_t)n)
		return false;
	/* One whose time has passed is dropped, not started: no reason. */
	if (next->end_wall_ns > 0 &&
	    wall_to_frame(sw, next->end_wall_ns) <= sw->frames_total)
		return false;
	if (due_item_ready(sw, next, 0, unused, sizeof(unused)) != 0)
		return false;
	snprintf(why, whylen,
	    "replaced by segment %s before any of its audio aired",
	    next->segment[0] != '\0' ? next->segment : "(live)");
	return true;
}

void
switcher_render(struct switcher *sw, const float *live_block, float *out,
    size_t n, int64_t now_wall_ns, size_t queued_frames)
{
	struct engine_fallback fb;
	char down_why[200];
	bool down;
	size_t pos = 0;

	update_anchor(sw, n, now_wall_ns, queued_frames);
	/* The end as the clock stands now, by the same wall_to_frame() as
	 * the next item's start: an item ending at T and one starting at T
	 * meet at one frame however the clock moved since the first began
	 * (turned into a frame once, at its start, the end could fall
	 * before or after the next start, with live heard between). */
	if (sw->cur_end_frame >= 0 && sw->cur.end_wall_ns > 0)
		sw->cur_end_frame = wall_to_frame(sw, sw->cur.end_wall_ns);
	pthread_mutex_lock(&sw->items_lock);
	fb = sw->fb;
	down = sw->input_down;
	util_strlcpy(down_why, sw->input_why, sizeof(down_why));
	if (sw->end_req_key != 0) {
		/* A reload may move the end, not past where the source runs
		 * dry. */
		if (sw->end_req_key == sw->cur.key &&
		    !switcher_item_is_live(&sw->cur) &&
		    !(sw->cur_ends_early &&
			sw->end_req_ns > sw->cur.end_wall_ns)) {
			sw->cur.end_wall_ns = sw->end_req_ns;
			if (!sw->cur_ends_early)
				sw->cur_planned_end_ns = sw->end_req_ns;
			sw->cur_end_frame = wall_to_frame(sw, sw->end_req_ns);
			switcher_publish_programme(sw);
		}
		sw->end_req_key = 0;
	}
	pthread_mutex_unlock(&sw->items_lock);
	check_early_end(sw);
	while (pos < n) {
		int64_t f = sw->frames_total + (int64_t)pos;
		int64_t next_k = (int64_t)n;
		bool live = switcher_item_is_live(&sw->cur);
		char why[300] = "";
		int due;
		bool ok, skipping;

		pthread_mutex_lock(&sw->items_lock);
		due = 0;
		if (sw->n_pending > 0) {
			int64_t start =
			    wall_to_frame(sw, sw->pending[0].start_wall_ns);
			/* The grace runs from when the item came due here,
			 * not from its start: one queued after its start
			 * (a 24 h segment at start-up, "play now") gets
			 * the whole grace, not none. */
			if (start <= f && sw->pending[0].due_frame < 0)
				sw->pending[0].due_frame = f;
			if (start <= f)
				due = due_item_ready(sw, &sw->pending[0],
					  f - sw->pending[0].due_frame, why,
					  sizeof(why)) == 0
					  ? 1
					  : -1;
			if (due < 0 && why[0] == '\0')
				due = 2; /* waiting: the grace runs */
		}
		skipping = skip_step(sw, f, due);
		live = switcher_item_is_live(&sw->cur);
		if (!live && sw->cur_end_frame >= 0 && sw->cur_end_frame <= f &&
		    due != 1) {
			struct engine_item l;
			if (sw->cur_ends_early) {
				end_dry(sw, f, &fb, down, sw->cur_end_why);
			} else if (live_dead_before_cur(sw, &fb, down, f)) {
				/* At its planned end too: the filler at once,
				 * not after another `after` of dead air. */
				char text[300];
				snprintf(text, sizeof(text),
				    "segment %s ended and the live input is %s",
				    sw->cur.segment, down ? "down" : "silent");
				start_filler(sw, f, 0.0, text,
				    down ? "the live input is down; the "
					   "[fallback] filler plays"
					 : "the live input is silent; the "
					   "[fallback] filler plays",
				    ENGINE_EVENT_ENDED, false);
			} else {
				make_live(sw, &l);
				transition(sw, &l, f, ENGINE_EVENT_ENDED, NULL);
			}
		}
		if (due == 1 || due == -1) {
			struct engine_item it = sw->pending[0];
			char by[200];
			memmove(&sw->pending[0], &sw->pending[1],
			    (sw->n_pending - 1) * sizeof(sw->pending[0]));
			sw->n_pending--;
			if (due == 1 &&
			    replaced_unheard(sw, &it, n, by, sizeof(by))) {
				push_event(sw, &it, ENGINE_EVENT_WITHDRAWN,
				    frame_to_wall(sw, f), by);
				retire(sw, it.src);
				if (skipping) /* not it: again at once */
					atomic_store(&sw->skip_req, true);
				pthread_mutex_unlock(&sw->items_lock);
				continue;
			}
			if (due == -1 ||
			    (it.end_wall_ns > 0 &&
				wall_to_frame(sw, it.end_wall_ns) <= f)) {
				push_event(sw, &it, ENGINE_EVENT_DROPPED,
				    frame_to_wall(sw, f),
				    due == -1 ? why : "its time had passed");
				retire(sw, it.src);
				if (skipping) /* not it: again at once */
					atomic_store(&sw->skip_req, true);
				pthread_mutex_unlock(&sw->items_lock);
				continue;
			}
			transition(sw, &it, f,
			    skipping ? ENGINE_EVENT_SKIPPED
				     : ENGINE_EVENT_ENDED,
			    skipping ? "skipped through the control API"
				     : "the next item started");
		}
		live = switcher_item_is_live(&sw->cur);
		if (!live && sw->cur_end_frame >= 0 &&
		    sw->cur_end_frame - sw->frames_total < next_k)
			next_k = sw->cur_end_frame - sw->frames_total;
		if (sw->n_pending > 0 && due != 2) {
			int64_t k =
			    wall_to_frame(sw, sw->pending[0].start_wall_ns) -
			    sw->frames_total;
			if (k < next_k)
				next_k = k;
		}
		pthread_mutex_unlock(&sw->items_lock);
		if (next_k <= (int64_t)pos)
			next_k = (int64_t)pos + 1;
		ok = render(sw, live_block, out, pos, (size_t)next_k);
		if (!ok && sw->cur.filler) {
			/* The filler ran dry: the next one, if armed. */
			pthread_mutex_lock(&sw->items_lock);
			if (sw->has_standby) {
				struct engine_item it = sw->standby;
				sw->has_standby = false;
				memset(&sw->standby, 0, sizeof(sw->standby));
				/* retire() wakes the main thread: it arms the
				 * next filler. */
				retire(sw, sw->cur.src);
				sw->cur.src = NULL;
				sw->cur = it;
				sw->starved_frames = 0;
				sw->cur_title_since_wall_ns =
				    util_now_wall_ns();
				switcher_send_tags(sw, it.title, it.artist,
				    sw->frames_total + (int64_t)pos);
				switcher_publish_programme(sw);
			}
			pthread_mutex_unlock(&sw->items_lock);
		} else if (!ok && !live) {
			/* The segment ran dry: live from the next frame. */
			enum source_state st = source_state(sw->cur.src);
			snprintf(why, sizeof(why), "%s",
			    st == SOURCE_FAILED || st == SOURCE_ENDED
				? source_error(sw->cur.src)
				: "its source delivered no audio for over "
				  "2 s");
			if (why[0] == '\0')
				snprintf(
				    why, sizeof(why), "its source ended early");
			pthread_mutex_lock(&sw->items_lock);
			end_dry(sw, sw->frames_total + next_k, &fb, down, why);
			pthread_mutex_unlock(&sw->items_lock);
		}
		pos = (size_t)next_k;
	}
	fallback_step(sw, live_block, out, n, &fb, down, down_why);
	/* A new live title reaches the encoders with this block's audio. */
	if (atomic_load(&sw->title_dirty))
		switcher_apply_live_title(sw);
	sw->frames_total += (int64_t)n;
	atomic_store(&sw->pub_frames, sw->frames_total);
	atomic_store(&sw->pub_frames_mono_ns, util_now_mono_ns());
}

struct switcher *
switcher_new(int rate_hz, int channels, size_t max_frames, const char *title,
    const char *artist, switcher_tags_cb *cb, void *arg)
{
	struct switcher *sw;

	sw = calloc(1, sizeof(*sw));
	if (sw == NULL)
		return NULL;
	sw->old_buf = calloc(max_frames * (size_t)channels, sizeof(float));
	if (sw->old_buf == NULL) {
		free(sw);
		return NULL;
	}
	pthread_mutex_init(&sw->title_lock, NULL);
	pthread_mutex_init(&sw->items_lock, NULL);
	sw->rate_hz = rate_hz;
	sw->channels = channels;
	sw->tags_cb = cb;
	sw->cb_arg = arg;
	sw->tags_frame = -1;
	atomic_init(&sw->pub_tags_frame, -1);
	atomic_init(&sw->pub_frames, 0);
	atomic_init(&sw->pub_frames_mono_ns, 0);
	sw->title_gap_frames = SWITCHER_TITLE_GAP_NS * rate_hz / NS_PER_SEC;
	util_sanitize_text(sw->title, sizeof(sw->title), title);
	util_sanitize_text(sw->artist, sizeof(sw->artist), artist);
	make_live(sw, &sw->cur);
	util_strlcpy(sw->tags_title, sw->title, sizeof(sw->tags_title));
	util_strlcpy(sw->tags_artist, sw->artist, sizeof(sw->tags_artist));
	sw->cur_end_frame = -1;
	sw->skip_frame = -1;
	atomic_init(&sw->start_grace_ns, SWITCHER_START_GRACE_DEFAULT_NS);
	sw->cur_since_wall_ns = util_now_wall_ns();
	sw->cur_title_since_wall_ns = sw->cur_since_wall_ns;
	switcher_publish_programme(sw);
	return sw;
}

void
switcher_free(struct switcher *sw)
{
	size_t i;

	if (sw == NULL)
		return;
	for (i = 0; i < sw->n_pending; i++)
		source_close(sw->pending[i].src);
	for (i = 0; i < sw->n_retired; i++)
		source_close(sw->retired[i]);
	source_close(sw->cur.src);
	if (sw->fading)
		source_close(sw->old.src);
	source_close(sw->standby.src);
	pthread_mutex_destroy(&sw->title_lock);
	pthread_mutex_destroy(&sw->items_lock);
	free(sw->old_buf);
	free(sw);
}

int
switcher_schedule(struct switcher *sw, const struct engine_item *item)
{
	size_t i;

	pthread_mutex_lock(&sw->items_lock);
	if (sw->n_pending >= ENGINE_MAX_PENDING ||
	    sw->n_pending + sw->n_retired + 3 >= RELAY_ARRAY_LEN(sw->retired)) {
		pthread_mutex_unlock(&sw->items_lock);
		source_close(item->src);
		return -ENOSPC;
	}
	i = sw->n_pending;
	while (
	    i > 0 && sw->pending[i - 1].start_wall_ns > item->start_wall_ns) {
		sw->pending[i] = sw->pending[i - 1];
		i--;
	}
	sw->pending[i] = *item;
	sw->pending[i].due_frame = -1;
	sw->n_pending++;
	pthread_mutex_unlock(&sw->items_lock);
	return 0;
}

void
switcher_clear_pending(struct switcher *sw)
{
	size_t i;

	pthread_mutex_lock(&sw->items_lock);
	for (i = 0; i < sw->n_pending; i++)
		retire(sw, sw->pending[i].src);
	sw->n_pending = 0;
	pthread_mutex_unlock(&sw->items_lock);
}

size_t
switcher_drop_pending(
    struct switcher *sw, engine_item_pred *drop, void *arg, const char *why)
{
	size_t i, kept = 0, n = 0;

	pthread_mutex_lock(&sw->items_lock);
	for (i = 0; i < sw->n_pending; i++) {
		struct engine_item *it = &sw->pending[i];
		if (drop(it, arg)) {
			push_event(sw, it, ENGINE_EVENT_WITHDRAWN,
			    util_now_wall_ns(), why);
			retire(sw, it->src);
			n++;
		} else {
			sw->pending[kept++] = *it;
		}
	}
	sw->n_pending = kept;
	pthread_mutex_unlock(&sw->items_lock);
	return n;
}

void
switcher_set_end(struct switcher *sw, uint64_t key, int64_t end_wall_ns)
{
	size_t i;

	if (key == 0)
		return;
	pthread_mutex_lock(&sw->items_lock);
	for (i = 0; i < sw->n_pending; i++) {
		if (sw->pending[i].key == key)
			sw->pending[i].end_wall_ns = end_wall_ns;
	}
	sw->end_req_key = key;
	sw->end_req_ns = end_wall_ns;
	pthread_mutex_unlock(&sw->items_lock);
}

void
switcher_set_start_grace(struct switcher *sw, int64_t grace_ns)
{
	atomic_store(&sw->start_grace_ns, grace_ns);
}

void
switcher_skip(struct switcher *sw)
{
	atomic_store(&sw->skip_req, true);
}

int
switcher_poll(struct switcher *sw, struct engine_event *ev)
{
	struct source *closing[RELAY_ARRAY_LEN(sw->retired)];
	size_t i, n;
	int got = 0;

	pthread_mutex_lock(&sw->items_lock);
	n = sw->n_retired;
	memcpy(closing, sw->retired, n * sizeof(closing[0]));
	sw->n_retired = 0;
	if (sw->ev_count > 0) {
		*ev = sw->events[sw->ev_head];
		sw->ev_head = (sw->ev_head + 1) % RELAY_ARRAY_LEN(sw->events);
		sw->ev_count--;
		got = 1;
	}
	pthread_mutex_unlock(&sw->items_lock);
	/* Joining feeder threads happens here, never on the audio path. */
	for (i = 0; i < n; i++)
		source_close(closing[i]);
	return got;
}

void
switcher_set_fallback(struct switcher *sw, const struct engine_fallback *f)
{
	struct source *gone = NULL;

	pthread_mutex_lock(&sw->items_lock);
	sw->fb = *f;
	if (!f->enabled && sw->has_standby) {
		gone = sw->standby.src;
		memset(&sw->standby, 0, sizeof(sw->standby));
		sw->has_standby = false;
	}
	pthread_mutex_unlock(&sw->items_lock);
	source_close(gone); /* main thread: the join is allowed here */
}

void
switcher_set_filler(struct switcher *sw, const struct engine_item *item)
{
	struct source *gone = NULL;

	/* Never refused: the filler it replaces is closed here, on the main
	 * thread, instead of waiting in retired[] (which may be full until
	 * the next switcher_poll(); refusing then kept the old filler, its
	 * file and its title, with nobody asking again). */
	pthread_mutex_lock(&sw->items_lock);
	if (sw->has_standby)
		gone = sw->standby.src;
	sw->standby = *item;
	sw->standby.filler = true;
	sw->has_standby = true;
	util_strlcpy(sw->filler_title, item->title, sizeof(sw->filler_title));
	util_strlcpy(
	    sw->filler_artist, item->artist, sizeof(sw->filler_artist));
	pthread_mutex_unlock(&sw->items_lock);
	source_close(gone);
}

bool
switcher_live_steady(
    struct switcher *sw, int64_t now_wall_ns, int64_t horizon_ns)
{
	bool steady;

	if (!switcher_item_is_live(&sw->cur) || sw->fading ||
	    atomic_load(&sw->skip_req))
		return false;
	pthread_mutex_lock(&sw->items_lock);
	/* pending[] is in start order (switcher_schedule). */
	steady = sw->end_req_key == 0 &&
		 (sw->n_pending == 0 ||
		     sw->pending[0].start_wall_ns >= now_wall_ns + horizon_ns);
	pthread_mutex_unlock(&sw->items_lock);
	return steady;
}

bool
switcher_filler_wanted(struct switcher *sw)
{
	bool wanted;

	pthread_mutex_lock(&sw->items_lock);
	wanted = sw->fb.enabled && !sw->has_standby;
	pthread_mutex_unlock(&sw->items_lock);
	return wanted;
}

bool
switcher_filler_stale(struct switcher *sw)
{
	bool stale;

	pthread_mutex_lock(&sw->items_lock);
	stale = sw->fb.enabled && sw->has_standby && sw->standby.src != NULL &&
		source_stale(sw->standby.src);
	pthread_mutex_unlock(&sw->items_lock);
	return stale;
}

bool
switcher_set_input_down(struct switcher *sw, bool down, const char *why)
{
	const char *w =
	    why != NULL && why[0] != '\0' ? why : "the live input failed";
	bool changed;

	pthread_mutex_lock(&sw->items_lock);
	changed = sw->input_down != down || strcmp(sw->input_why, w) != 0;
	sw->input_down = down;
	util_strlcpy(sw->input_why, w, sizeof(sw->input_why));
	pthread_mutex_unlock(&sw->items_lock);
	return changed;
}

int
switcher_poll_fallback(struct switcher *sw, struct engine_fallback_event *ev)
{
	int got = 0;

	pthread_mutex_lock(&sw->items_lock);
	if (sw->fb_count > 0) {
		*ev = sw->fb_events[sw->fb_head];
		sw->fb_head =
		    (sw->fb_head + 1) % RELAY_ARRAY_LEN(sw->fb_events);
		sw->fb_count--;
		got = 1;
	}
	pthread_mutex_unlock(&sw->items_lock);
	return got;
}

bool
switcher_normalise(const struct switcher *sw)
{
	return !sw->cur.no_normalise;
}
