/* SPDX-License-Identifier: MIT */
/*
 * The engine thread: ring -> meter -> encoders -> output queues.
 *
 * DESIGN
 * Each [encoding] is encoded exactly once, however many outputs use it:
 * a slot holds the encoder and the queues subscribed to it. Packets are
 * refcounted, so pushing one packet to three queues copies nothing.
 * The thread blocks only on the ring (eventfd) and takes the slot mutex
 * for the time of one block's encoding; the main thread takes the same
 * mutex only to attach/detach a queue or swap an encoder on reload.
 * Counters for stats are gathered locally and published once a second,
 * so the audio path never queues behind a status reader.
 *
 * Programme clock and switching. Frame f of the programme (the live
 * input's frames, counted by the engine) corresponds to wall time
 * anchor + f / rate. The anchor is estimated at every block as
 * now - (frames read + frames still in the ring) / rate: an upper bound
 * of the truth (delays only add), so the engine keeps the smallest
 * estimate, lets it creep up by 100 ppm to follow a sound card that runs
 * slow against the system clock, and re-anchors on a jump of over 1 s
 * (the system clock was stepped). An item (segment) starts at the frame
 * matching its wall start, splitting the block there: the switch is exact
 * to the sample on this clock. The outgoing source keeps playing under a
 * linear crossfade of `fade` frames (default 20 ms: no click). The live
 * ring is read every block whatever is on air, so the live input's
 * producer sets the pace and a segment never changes the timing.
 * A segment source that runs dry (feed dropped, decode error) hands over
 * to live at the next frame; the main thread logs why (engine_poll).
 *
 * Threads: see engine.h. engine_thread is the only user of the encoders.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "engine.h"
#include "level.h"
#include "log.h"
#include "stats.h"

#define BLOCK_FRAMES 1024
#define MOD "engine"

struct enc_slot {
	char name[64];
	struct encoding_config cfg; /* name points at slot.name */
	struct encoder *enc;
	struct packet_queue *subs[CONFIG_MAX_OUTPUTS];
	size_t n_subs;
	uint64_t packets; /* not yet published to stats */
	uint64_t bytes;
};

struct engine {
	pthread_mutex_t lock; /* slots */
	struct enc_slot slots[CONFIG_MAX_ENCODINGS];
	size_t n_slots;
	struct ring *ring;
	int rate_hz;
	int channels;
	float *buf;
	struct level_meter meter;
	atomic_int_fast64_t threshold_cdb; /* silence threshold, 1/100 dB */
	atomic_bool stop;
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t title_lock;
	char title[STATS_TEXT]; /* the live programme's */
	char artist[STATS_TEXT];
	atomic_bool title_dirty;

	/* Programme items. `items_lock` guards pending[], retired[] and
	 * events[]; cur/old belong to the engine thread. */
	pthread_mutex_t items_lock;
	struct engine_item pending[ENGINE_MAX_PENDING];
	size_t n_pending;
	/* Sources done with, closed by the main thread (engine_poll): a
	 * join must never happen on the audio path. engine_schedule keeps
	 * pending + retired + 2 (cur, old) within this, so it cannot fill. */
	struct source *retired[ENGINE_MAX_PENDING * 2 + 4];
	size_t n_retired;
	struct engine_event events[32];
	size_t ev_head, ev_count;
	atomic_bool skip_req;
	struct engine_item cur;	   /* src NULL and segment "": live */
	int64_t cur_end_frame;	   /* -1: open-ended */
	int64_t cur_since_wall_ns; /* when cur went on air */
	struct engine_item old;	   /* fading out */
	bool fading;
	int64_t fade_pos;
	int64_t fade_len;
	float *live_buf;
	float *cur_buf;
	float *old_buf;
	int64_t frames_total;	/* programme frames so far */
	int64_t anchor_wall_ns; /* wall time of frame 0; 0: not yet */
};

static void
packet_cb(struct packet *p, void *arg)
{
	struct enc_slot *s = arg;
	size_t i;

	s->packets++;
	s->bytes += p->bytes;
	for (i = 0; i < s->n_subs; i++)
		(void)packet_queue_push(s->subs[i], p);
}

static void
publish_counters(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		if (s->packets == 0)
			continue;
		stats_encoding_add(s->name, s->packets, s->bytes);
		s->packets = 0;
		s->bytes = 0;
	}
}

/* Gives every encoder a new comment header (title/artist). */
static void
tag_encoders(struct engine *e, const char *title, const char *artist)
{
	size_t i;

	for (i = 0; i < e->n_slots; i++)
		(void)encoder_set_tags(e->slots[i].enc, title, artist);
}

/* The live programme: the input itself, no segment. */
static bool
item_is_live(const struct engine_item *it)
{
	return it->src == NULL && it->segment[0] == '\0';
}

/* Publishes the item on air to stats (the engine owns that part). */
static void
publish_programme(struct engine *e)
{
	struct stats_programme p;
	const struct engine_item *it = &e->cur;
	bool live = item_is_live(it);

	memset(&p, 0, sizeof(p));
	p.state = live ? PROGRAMME_LIVE : PROGRAMME_SEGMENT;
	util_strlcpy(p.title, it->title, sizeof(p.title));
	util_strlcpy(p.artist, it->artist, sizeof(p.artist));
	util_strlcpy(p.source, it->source_kind, sizeof(p.source));
	util_strlcpy(p.segment, it->segment, sizeof(p.segment));
	p.started_at_wall_ns = e->cur_since_wall_ns;
	p.ends_at_wall_ns = live ? 0 : it->end_wall_ns;
	stats_programme_set_now(&p);
}

static void
apply_live_title(struct engine *e)
{
	char title[STATS_TEXT], artist[STATS_TEXT];

	pthread_mutex_lock(&e->title_lock);
	util_strlcpy(title, e->title, sizeof(title));
	util_strlcpy(artist, e->artist, sizeof(artist));
	atomic_store(&e->title_dirty, false);
	pthread_mutex_unlock(&e->title_lock);
	if (!item_is_live(&e->cur))
		return; /* a segment is on air: applied when live returns */
	util_strlcpy(e->cur.title, title, sizeof(e->cur.title));
	util_strlcpy(e->cur.artist, artist, sizeof(e->cur.artist));
	tag_encoders(e, title, artist);
	publish_programme(e);
}

static void
encode_block(struct engine *e, const float *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&e->lock);
	if (atomic_load(&e->title_dirty))
		apply_live_title(e);
	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		if (encoder_write(s->enc, buf, n, packet_cb, s) < 0)
			stats_input_add_overflow(n); /* block lost */
	}
	pthread_mutex_unlock(&e->lock);
}

/* Called with items_lock held. */
static void
push_event(struct engine *e, const struct engine_item *it, int what,
    int64_t at_wall_ns, const char *detail)
{
	struct engine_event *ev;

	if (e->ev_count == RELAY_ARRAY_LEN(e->events)) {
		/* Main is not reading: drop the oldest. */
		e->ev_head = (e->ev_head + 1) % RELAY_ARRAY_LEN(e->events);
		e->ev_count--;
	}
	ev =
	    &e->events[(e->ev_head + e->ev_count) % RELAY_ARRAY_LEN(e->events)];
	e->ev_count++;
	memset(ev, 0, sizeof(*ev));
	util_strlcpy(ev->segment, it->segment, sizeof(ev->segment));
	ev->at_wall_ns = at_wall_ns;
	ev->what = what;
	util_strlcpy(
	    ev->detail, detail != NULL ? detail : "", sizeof(ev->detail));
}

/* Called with items_lock held: the main thread closes it later. */
static void
retire(struct engine *e, struct source *src)
{
	if (src == NULL)
		return;
	assert(e->n_retired < RELAY_ARRAY_LEN(e->retired));
	e->retired[e->n_retired++] = src;
}

static int64_t
wall_to_frame(struct engine *e, int64_t wall_ns)
{
	int64_t anchor = e->anchor_wall_ns;
	int64_t d;

	if (anchor == 0)
		return e->frames_total;
	d = wall_ns - anchor;
	/* Round to the nearest frame: d * rate / 1e9 without overflow for
	 * any plausible uptime (d < 2^63 / 192000 ns is 1.5 years). */
	return (d / NS_PER_SEC) * e->rate_hz +
	       ((d % NS_PER_SEC) * e->rate_hz + NS_PER_SEC / 2) / NS_PER_SEC;
}

static int64_t
frame_to_wall(struct engine *e, int64_t frame)
{
	if (e->anchor_wall_ns == 0)
		return util_now_wall_ns();
	return e->anchor_wall_ns + frame / e->rate_hz * NS_PER_SEC +
	       frame % e->rate_hz * NS_PER_SEC / e->rate_hz;
}

static void
make_live(struct engine *e, struct engine_item *it)
{
	memset(it, 0, sizeof(*it));
	util_strlcpy(it->source_kind, "live", sizeof(it->source_kind));
	pthread_mutex_lock(&e->title_lock);
	util_strlcpy(it->title, e->title, sizeof(it->title));
	util_strlcpy(it->artist, e->artist, sizeof(it->artist));
	atomic_store(&e->title_dirty, false);
	pthread_mutex_unlock(&e->title_lock);
}

/*
 * Switches the programme to `next` at programme frame `frame`. The item on
 * air fades out over the fade of whichever item is a segment, while the
 * new one fades in from exactly that frame. Called with items_lock held.
 */
static void
transition(struct engine *e, struct engine_item *next, int64_t frame, int why,
    const char *detail)
{
	int64_t at = frame_to_wall(e, frame);
	bool cur_live = item_is_live(&e->cur);
	int64_t fade_ns = cur_live ? next->fade_ns : e->cur.fade_ns;

	if (!cur_live)
		push_event(e, &e->cur, why, at, detail);
	if (e->fading)
		retire(e, e->old.src);
	e->old = e->cur;
	e->fading = fade_ns > 0;
	e->fade_pos = 0;
	e->fade_len = fade_ns * e->rate_hz / NS_PER_SEC;
	if (e->fade_len <= 0)
		e->fading = false;
	if (!e->fading) {
		retire(e, e->old.src);
		e->old.src = NULL;
	}
	e->cur = *next;
	e->cur_since_wall_ns = at;
	e->cur_end_frame =
	    next->end_wall_ns > 0 ? wall_to_frame(e, next->end_wall_ns) : -1;
	if (!item_is_live(next))
		push_event(e, next, ENGINE_EVENT_STARTED, at, NULL);
	pthread_mutex_lock(&e->lock);
	tag_encoders(e, next->title, next->artist);
	pthread_mutex_unlock(&e->lock);
	publish_programme(e);
}

/* Frames of one source into dst (zeros where it has none); returns how
 * many frames it really gave. */
static size_t
pull(struct engine *e, struct source *src, const float *live, float *dst,
    size_t m)
{
	size_t ch = (size_t)e->channels, got;

	if (src == NULL) {
		memcpy(dst, live, m * ch * sizeof(float));
		return m;
	}
	got = source_read(src, dst, m);
	if (got < m)
		memset(dst + got * ch, 0, (m - got) * ch * sizeof(float));
	return got;
}

/* Renders programme frames [a, b) of this block into out. Returns false
 * when the current segment ran dry (the caller switches to live). */
static bool
render(struct engine *e, float *out, size_t a, size_t b)
{
	size_t ch = (size_t)e->channels, m = b - a, i, c;
	const float *live = e->live_buf + a * ch;
	size_t got;

	got = pull(e, e->cur.src, live, out + a * ch, m);
	if (e->fading) {
		pull(e, e->old.src, live, e->old_buf, m);
		for (i = 0; i < m && e->fading; i++) {
			float g =
			    (float)((double)e->fade_pos / (double)e->fade_len);
			for (c = 0; c < ch; c++) {
				float *o = &out[(a + i) * ch + c];
				*o = *o * g +
				     e->old_buf[i * ch + c] * (1.0f - g);
			}
			if (++e->fade_pos >= e->fade_len) {
				e->fading = false;
				pthread_mutex_lock(&e->items_lock);
				retire(e, e->old.src);
				pthread_mutex_unlock(&e->items_lock);
				e->old.src = NULL;
			}
		}
	}
	return got == m;
}

/* Estimates the wall time of frame 0 (see DESIGN). */
static void
update_anchor(struct engine *e, size_t n)
{
	int64_t now = util_now_wall_ns();
	int64_t newest =
	    e->frames_total + (int64_t)n + (int64_t)ring_readable(e->ring);
	int64_t est = now - newest / e->rate_hz * NS_PER_SEC -
		      newest % e->rate_hz * NS_PER_SEC / e->rate_hz;
	int64_t creep = (int64_t)n * NS_PER_SEC / e->rate_hz / 10000;

	if (e->anchor_wall_ns == 0 || est < e->anchor_wall_ns ||
	    est - e->anchor_wall_ns > NS_PER_SEC)
		e->anchor_wall_ns = est;
	else
		e->anchor_wall_ns += creep;
}

/* One block of n live frames: switch items at their exact frames, mix,
 * meter, encode. */
static void
process_block(struct engine *e, size_t n)
{
	size_t pos = 0;
	float *out = e->cur_buf;

	update_anchor(e, n);
	while (pos < n) {
		int64_t f = e->frames_total + (int64_t)pos;
		int64_t next_k = (int64_t)n;
		bool live = item_is_live(&e->cur);

		pthread_mutex_lock(&e->items_lock);
		if (atomic_exchange(&e->skip_req, false) && !live) {
			struct engine_item l;
			make_live(e, &l);
			transition(e, &l, f, ENGINE_EVENT_SKIPPED,
			    "skipped through the control API");
		} else if (!live && e->cur_end_frame >= 0 &&
			   e->cur_end_frame <= f &&
			   !(e->n_pending > 0 &&
			       wall_to_frame(e, e->pending[0].start_wall_ns) <=
				   f)) {
			struct engine_item l;
			make_live(e, &l);
			transition(e, &l, f, ENGINE_EVENT_ENDED, NULL);
		}
		if (e->n_pending > 0 &&
		    wall_to_frame(e, e->pending[0].start_wall_ns) <= f) {
			struct engine_item it = e->pending[0];
			memmove(&e->pending[0], &e->pending[1],
			    (e->n_pending - 1) * sizeof(e->pending[0]));
			e->n_pending--;
			if (it.end_wall_ns > 0 &&
			    wall_to_frame(e, it.end_wall_ns) <= f) {
				push_event(e, &it, ENGINE_EVENT_DROPPED,
				    frame_to_wall(e, f), "its time had passed");
				retire(e, it.src);
				pthread_mutex_unlock(&e->items_lock);
				continue;
			}
			transition(e, &it, f, ENGINE_EVENT_ENDED,
			    "the next item started");
		}
		live = item_is_live(&e->cur);
		if (!live && e->cur_end_frame >= 0 &&
		    e->cur_end_frame - e->frames_total < next_k)
			next_k = e->cur_end_frame - e->frames_total;
		if (e->n_pending > 0) {
			int64_t k =
			    wall_to_frame(e, e->pending[0].start_wall_ns) -
			    e->frames_total;
			if (k < next_k)
				next_k = k;
		}
		pthread_mutex_unlock(&e->items_lock);
		if (next_k <= (int64_t)pos)
			next_k = (int64_t)pos + 1;
		if (!render(e, out, pos, (size_t)next_k) && !live) {
			/* The segment ran dry: live from the next frame. */
			struct engine_item l;
			enum source_state st = source_state(e->cur.src);
			char why[300];
			snprintf(why, sizeof(why), "%s",
			    st == SOURCE_FAILED || st == SOURCE_ENDED
				? source_error(e->cur.src)
				: "its source delivered no audio in time");
			if (why[0] == '\0')
				snprintf(
				    why, sizeof(why), "its source ended early");
			make_live(e, &l);
			pthread_mutex_lock(&e->items_lock);
			transition(e, &l, e->frames_total + next_k,
			    ENGINE_EVENT_FAILED, why);
			pthread_mutex_unlock(&e->items_lock);
		}
		pos = (size_t)next_k;
	}
	e->meter.threshold_dbfs =
	    (double)atomic_load(&e->threshold_cdb) / 100.0;
	if (level_feed(&e->meter, out, n))
		stats_input_set_levels(e->meter.peak_dbfs, e->meter.rms_dbfs,
		    level_silent_seconds(&e->meter));
	encode_block(e, out, n);
	e->frames_total += (int64_t)n;
}

/* Runs on: the engine thread. */
static void *
engine_thread(void *arg)
{
	struct engine *e = arg;
	int64_t next_publish = util_now_mono_ns() + NS_PER_SEC;
	sigset_t all;
	size_t i;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&e->stop)) {
		size_t n = ring_wait(e->ring, BLOCK_FRAMES, 100 * NS_PER_MS);
		int64_t now;

		if (n > BLOCK_FRAMES)
			n = BLOCK_FRAMES;
		if (n > 0) {
			n = ring_read(e->ring, e->live_buf, n);
			process_block(e, n);
		}
		now = util_now_mono_ns();
		if (now >= next_publish) {
			pthread_mutex_lock(&e->lock);
			publish_counters(e);
			pthread_mutex_unlock(&e->lock);
			next_publish = now + NS_PER_SEC;
		}
	}
	/* Shutdown: encode what the input already delivered, then end every
	 * stream so each output can write its EOS page. */
	for (;;) {
		size_t n = ring_read(e->ring, e->live_buf, BLOCK_FRAMES);
		if (n == 0)
			break;
		process_block(e, n);
	}
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		if (encoder_finish(s->enc, packet_cb, s) < 0)
			log_warn(MOD,
			    "[encoding %s]: could not flush the "
			    "encoder at shutdown",
			    s->name);
	}
	publish_counters(e);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void
slot_set_config(struct enc_slot *s, const struct encoding_config *c)
{
	util_strlcpy(s->name, c->name, sizeof(s->name));
	s->cfg = *c;
	s->cfg.name = s->name;
}

static struct encoder *
make_encoder(
    struct engine *e, const struct encoding_config *c, char *err, size_t errlen)
{
	char title[STATS_TEXT], artist[STATS_TEXT];

	pthread_mutex_lock(&e->title_lock);
	util_strlcpy(title, e->title, sizeof(title));
	util_strlcpy(artist, e->artist, sizeof(artist));
	pthread_mutex_unlock(&e->title_lock);
	return encoder_new(
	    c, e->rate_hz, e->channels, title, artist, err, errlen);
}

struct engine *
engine_start(
    const struct config *cfg, struct ring *ring, char *err, size_t errlen)
{
	struct engine *e;
	size_t i;
	int rc;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto oom;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->title_lock, NULL);
	pthread_mutex_init(&e->items_lock, NULL);
	e->ring = ring;
	e->rate_hz = cfg->input.rate_hz;
	e->channels = cfg->input.channels;
	e->live_buf =
	    calloc((size_t)BLOCK_FRAMES * (size_t)e->channels, sizeof(float));
	e->cur_buf =
	    calloc((size_t)BLOCK_FRAMES * (size_t)e->channels, sizeof(float));
	e->old_buf =
	    calloc((size_t)BLOCK_FRAMES * (size_t)e->channels, sizeof(float));
	if (e->live_buf == NULL || e->cur_buf == NULL || e->old_buf == NULL)
		goto oom;
	util_sanitize_text(e->title, sizeof(e->title), cfg->input.title);
	util_sanitize_text(e->artist, sizeof(e->artist), cfg->input.artist);
	make_live(e, &e->cur);
	e->cur_end_frame = -1;
	level_init(&e->meter, e->rate_hz, e->channels,
	    cfg->input.silence_threshold_dbfs);
	atomic_store(&e->threshold_cdb,
	    (int_fast64_t)(cfg->input.silence_threshold_dbfs * 100.0));
	for (i = 0; i < cfg->n_encodings; i++) {
		struct enc_slot *s = &e->slots[i];
		slot_set_config(s, &cfg->encodings[i]);
		s->enc = make_encoder(e, &cfg->encodings[i], err, errlen);
		if (s->enc == NULL)
			goto fail;
		e->n_slots = i + 1;
	}
	e->cur_since_wall_ns = util_now_wall_ns();
	publish_programme(e);
	rc = pthread_create(&e->thread, NULL, engine_thread, e);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the engine thread: %s",
		    strerror(rc));
		goto fail;
	}
	e->thread_started = true;
	return e;
oom:
	snprintf(err, errlen, "out of memory starting the engine");
fail:
	if (e != NULL) {
		for (i = 0; i < e->n_slots; i++)
			encoder_free(e->slots[i].enc);
		free(e->live_buf);
		free(e->cur_buf);
		free(e->old_buf);
		free(e);
	}
	return NULL;
}

void
engine_stop(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	atomic_store(&e->stop, true);
	ring_wake(e->ring);
	if (e->thread_started)
		pthread_join(e->thread, NULL);
	for (i = 0; i < e->n_slots; i++)
		encoder_free(e->slots[i].enc);
	for (i = 0; i < e->n_pending; i++)
		source_close(e->pending[i].src);
	for (i = 0; i < e->n_retired; i++)
		source_close(e->retired[i]);
	source_close(e->cur.src);
	if (e->fading)
		source_close(e->old.src);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->title_lock);
	pthread_mutex_destroy(&e->items_lock);
	free(e->live_buf);
	free(e->cur_buf);
	free(e->old_buf);
	free(e);
}

static struct enc_slot *
find_slot(struct engine *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n_slots; i++) {
		if (strcmp(e->slots[i].name, name) == 0)
			return &e->slots[i];
	}
	return NULL;
}

int
engine_attach(struct engine *e, const char *encoding, struct packet_queue *q)
{
	struct enc_slot *s;
	int rc = 0;

	pthread_mutex_lock(&e->lock);
	s = find_slot(e, encoding);
	if (s == NULL)
		rc = -ENOENT;
	else if (s->n_subs >= CONFIG_MAX_OUTPUTS)
		rc = -ENOSPC;
	else
		s->subs[s->n_subs++] = q;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void
engine_detach(struct engine *e, struct packet_queue *q)
{
	size_t i, j;

	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		for (j = 0; j < s->n_subs; j++) {
			if (s->subs[j] == q) {
				s->subs[j] = s->subs[--s->n_subs];
				break;
			}
		}
	}
	pthread_mutex_unlock(&e->lock);
}

int
engine_reconfigure(
    struct engine *e, const struct config *cfg, char *err, size_t errlen)
{
	struct encoder *fresh[CONFIG_MAX_ENCODINGS] = {0};
	struct encoder *old[CONFIG_MAX_ENCODINGS] = {0};
	struct enc_slot next[CONFIG_MAX_ENCODINGS];
	size_t i, n_old = 0;

	/* Build every new or changed encoder first: all or nothing. */
	for (i = 0; i < cfg->n_encodings; i++) {
		struct enc_slot *s;
		pthread_mutex_lock(&e->lock);
		s = find_slot(e, cfg->encodings[i].name);
		if (s != NULL &&
		    config_encoding_same(&s->cfg, &cfg->encodings[i])) {
			pthread_mutex_unlock(&e->lock);
			continue;
		}
		pthread_mutex_unlock(&e->lock);
		fresh[i] = make_encoder(e, &cfg->encodings[i], err, errlen);
		if (fresh[i] == NULL) {
			for (i = 0; i < cfg->n_encodings; i++)
				encoder_free(fresh[i]);
			return -EINVAL;
		}
	}
	memset(next, 0, sizeof(next));
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < cfg->n_encodings; i++) {
		struct enc_slot *s = find_slot(e, cfg->encodings[i].name);
		if (s != NULL) {
			next[i] = *s;
			s->enc = NULL;
		}
		slot_set_config(&next[i], &cfg->encodings[i]);
		if (fresh[i] != NULL) {
			if (next[i].enc != NULL)
				old[n_old++] = next[i].enc;
			next[i].enc = fresh[i];
			log_info(MOD, "[encoding %s]: %s", next[i].name,
			    s != NULL ? "settings changed; its outputs start "
					"a new stream"
				      : "added");
		}
	}
	for (i = 0; i < e->n_slots; i++) {
		if (e->slots[i].enc != NULL) {
			/* Encoding removed: its outputs were stopped. */
			publish_counters(e);
			old[n_old++] = e->slots[i].enc;
		}
	}
	memcpy(e->slots, next, sizeof(next));
	e->n_slots = cfg->n_encodings;
	/* slot_set_config pointed cfg.name at next[i].name, on this stack. */
	for (i = 0; i < e->n_slots; i++)
		e->slots[i].cfg.name = e->slots[i].name;
	atomic_store(&e->threshold_cdb,
	    (int_fast64_t)(cfg->input.silence_threshold_dbfs * 100.0));
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < n_old; i++)
		encoder_free(old[i]);
	engine_set_title(e, cfg->input.title, cfg->input.artist);
	return 0;
}

void
engine_set_title(struct engine *e, const char *title, const char *artist)
{
	char t[STATS_TEXT], a[STATS_TEXT];

	util_sanitize_text(t, sizeof(t), title != NULL ? title : "");
	util_sanitize_text(a, sizeof(a), artist != NULL ? artist : "");
	pthread_mutex_lock(&e->title_lock);
	if (strcmp(t, e->title) != 0 || strcmp(a, e->artist) != 0) {
		util_strlcpy(e->title, t, sizeof(e->title));
		util_strlcpy(e->artist, a, sizeof(e->artist));
		atomic_store(&e->title_dirty, true);
	}
	pthread_mutex_unlock(&e->title_lock);
}

int
engine_schedule(struct engine *e, const struct engine_item *item)
{
	size_t i;

	pthread_mutex_lock(&e->items_lock);
	if (e->n_pending >= ENGINE_MAX_PENDING ||
	    e->n_pending + e->n_retired + 2 >= RELAY_ARRAY_LEN(e->retired)) {
		pthread_mutex_unlock(&e->items_lock);
		source_close(item->src);
		return -ENOSPC;
	}
	i = e->n_pending;
	while (i > 0 && e->pending[i - 1].start_wall_ns > item->start_wall_ns) {
		e->pending[i] = e->pending[i - 1];
		i--;
	}
	e->pending[i] = *item;
	e->n_pending++;
	pthread_mutex_unlock(&e->items_lock);
	return 0;
}

void
engine_clear_pending(struct engine *e)
{
	size_t i;

	pthread_mutex_lock(&e->items_lock);
	for (i = 0; i < e->n_pending; i++)
		retire(e, e->pending[i].src);
	e->n_pending = 0;
	pthread_mutex_unlock(&e->items_lock);
}

void
engine_skip(struct engine *e)
{
	atomic_store(&e->skip_req, true);
}

int
engine_poll(struct engine *e, struct engine_event *ev)
{
	struct source *closing[RELAY_ARRAY_LEN(e->retired)];
	size_t i, n;
	int got = 0;

	pthread_mutex_lock(&e->items_lock);
	n = e->n_retired;
	memcpy(closing, e->retired, n * sizeof(closing[0]));
	e->n_retired = 0;
	if (e->ev_count > 0) {
		*ev = e->events[e->ev_head];
		e->ev_head = (e->ev_head + 1) % RELAY_ARRAY_LEN(e->events);
		e->ev_count--;
		got = 1;
	}
	pthread_mutex_unlock(&e->items_lock);
	/* Joining feeder threads happens here, never on the audio path. */
	for (i = 0; i < n; i++)
		source_close(closing[i]);
	return got;
}

int
engine_rate_hz(const struct engine *e)
{
	return e->rate_hz;
}

int
engine_channels(const struct engine *e)
{
	return e->channels;
}
