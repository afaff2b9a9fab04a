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
 * Counters for stats are gathered locally and published once a second
 * with a try-lock (kept for the next second when a status reader holds
 * the stats mutex), so the audio path never queues behind a status
 * reader. Packets come from a lock-free pool (packet.h) and an output
 * queue's overflow is freed by its output thread (packet_queue.h): in
 * steady state relay's code on this thread allocates nothing and never
 * waits on a lock that a non-audio thread holds for long.
 *
 * What is on air (live or a segment, crossfades, the programme clock)
 * is the switcher's (switcher.h): it renders each block from the live
 * frames; this file runs [processing] over it (loudness rider and
 * limiter, processing.h, when on), then meters and encodes the result,
 * so every encoding and the level meter get the same processed programme.
 *
 * The encoders get the programme in batches (encode_batch.h): each block
 * is rendered, processed and metered as it comes, then held until some
 * output's next page can close within two blocks; from there each block
 * is encoded as it comes, the round that completes a page cut short at
 * the frame the page needs (encode_batch_wait_frames(); the ring tells the
 * stdin input that frame, ring_set_page_at(), so it reads it on time).
 * The held frames also go to the encoders before
 * a title change (the old title's audio stays in the old chain), before
 * encoders are swapped on reload, and at shutdown. The page-closing
 * packet comes out when the frame that completes it is in (before, at the
 * end of its block); libvorbis runs a few times per page instead of once
 * per block (docs/performance.md).
 * While only live plays and nothing else is due within a second
 * (switcher_live_steady()), the engine also waits for the blocks it may
 * hold in one wake-up (at most ENGINE_MAX_WAIT_BLOCKS): ~8 wake-ups a
 * second instead of ~21, which the input's pacing follows. While an
 * operator page meters the programme (stats_levels_watched()) it waits
 * for no more than fits one of the meter's 100 ms readings (two blocks,
 * ~14 wake-ups a second with the page closes): the levels move with the
 * audio. Otherwise it wakes per block: segments are read from their own
 * rings as they play.
 * A control call wakes it at once (ring_wake()), so titles, skips and
 * "play now" do not wait for the sleep (the first version slept always,
 * and delayed them by up to 0.7 s; its meters fell to -inf between
 * bursts).
 * Each block keeps the time it came in, and the packets it completes are
 * dated by it, not by the batch's encoding: an archive's file boundary,
 * lag_ms and listen-back's lag follow the audio as before.
 *
 * Threads: see engine.h. The encoders and the batch are used under the
 * slot mutex: by engine_thread, and by engine_reconfigure_commit() to
 * encode the batch into the old encoders before it swaps them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode_batch.h"
#include "encoder.h"
#include "engine.h"
#include "level.h"
#include "log.h"
#include "packet_queue.h"
#include "processing.h"
#include "stats.h"
#include "switcher.h"

/* The engine wakes once per block. 2048 frames (46 ms at 44.1 kHz, one
 * Vorbis long block) instead of 1024: ~22 wake-ups a second instead of
 * ~45, 8 % less CPU in make bench. It costs no delay: the round that
 * completes a page ends on the page's frame, not the block's end
 * (docs/performance.md). */
#define BLOCK_FRAMES RING_ENGINE_BLOCK_FRAMES
#define MOD "engine"
/* The most blocks one wake-up waits for (372 ms at 44.1 kHz): within the
 * 0.5 s a level reading stays fresh, and under the input's 0.4 s gap. */
#define ENGINE_MAX_WAIT_BLOCKS 8
/* While an operator page meters the programme, a wake-up waits for at
 * most the blocks that fit one of the meter's 100 ms readings (level.h:
 * rate / 10 frames; two blocks at 44.1 and 48 kHz, at least one), so the
 * levels stream's 10 readings a second each find a new one. */
#define ENGINE_METER_WINDOWS_PER_S 10
/* How far ahead nothing but live must be due for the engine to wait for
 * several blocks: beyond its longest wait. */
#define ENGINE_STEADY_HORIZON_NS (NS_PER_SEC)

struct enc_slot {
	char name[64];
	struct encoding_config cfg; /* name points at slot.name */
	struct encoder *enc;
	struct packet_queue *subs[CONFIG_MAX_OUTPUTS];
	size_t n_subs;
	uint64_t packets; /* not yet published to stats */
	uint64_t bytes;
	/* When the audio being encoded came in: the made time of the
	 * packets it completes (encode_batch_hold()); 0: now. */
	int64_t made_ns;
};

struct engine {
	pthread_mutex_t lock; /* slots */
	struct enc_slot slots[CONFIG_MAX_ENCODINGS];
	size_t n_slots;
	struct ring *ring;
	int rate_hz;
	int channels;
	struct level_meter meter;
	atomic_int_fast64_t threshold_cdb; /* silence threshold, 1/100 dB */
	atomic_int_fast64_t dead_air_cdb;  /* dead air's, 1/100 dB */
	atomic_bool stop;
	atomic_uint_fast64_t rounds; /* loop rounds: the watchdog's proof */
	pthread_t thread;
	bool thread_started;

	struct switcher *sw;
	float *live_buf; /* this block of the ring */
	float *out_buf;	 /* the programme rendered from it */
	/* Programme held for the encoders (under lock), and whether a
	 * metered block is among it (encoder levels to publish). */
	struct encode_batch *batch;
	bool batch_metered;

	/* [processing] (under lock): NULL when off. */
	struct processing *proc;
	struct processing_config proc_cfg;
};

static void
packet_cb(struct packet *p, void *arg)
{
	struct enc_slot *s = arg;
	size_t i;

	s->packets++;
	s->bytes += p->bytes;
	/* Not yet shared: the packet is dated by its audio, not by the
	 * batch's encoding (up to 0.6 s later). */
	if (s->made_ns != 0)
		p->made_mono_ns = s->made_ns;
	for (i = 0; i < s->n_subs; i++)
		(void)packet_queue_push(s->subs[i], p);
}

/* With wait false (the engine loop) nothing here waits on a status
 * reader holding the stats mutex: what could not be published is kept
 * for the next second. Caller holds e->lock. */
static void
publish_counters(struct engine *e, bool wait)
{
	struct processing_levels lv;
	struct stats_processing sp = {.enabled = false};
	size_t i;

	if (e->proc != NULL) {
		processing_levels(e->proc, &lv);
		sp.enabled = true;
		sp.target_lufs = e->proc_cfg.loudness_target_lufs;
		sp.momentary_lufs = lv.momentary_lufs;
		sp.short_term_lufs = lv.short_term_lufs;
		sp.integrated_lufs = lv.integrated_lufs;
		sp.true_peak_dbtp = lv.true_peak_dbtp;
		sp.gain_db = lv.gain_db;
		sp.limiter_db = lv.limiter_db;
		sp.frozen = lv.frozen;
	}
	if (wait)
		stats_processing_set(&sp);
	else
		(void)stats_processing_try_set(&sp);

	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		if (s->packets == 0)
			continue;
		if (wait)
			stats_encoding_add(s->name, s->packets, s->bytes);
		else if (!stats_encoding_try_add(s->name, s->packets, s->bytes))
			continue;
		s->packets = 0;
		s->bytes = 0;
	}
}

static void flush_batch_locked(struct engine *e);

/* The title on air changed: every encoder gets a new comment header, after
 * the audio held under the old one. Runs on: the engine thread
 * (switcher_render). */
static void
tags_cb(const char *title, const char *artist, void *arg)
{
	struct engine *e = arg;
	size_t i;

	pthread_mutex_lock(&e->lock);
	flush_batch_locked(e);
	for (i = 0; i < e->n_slots; i++)
		(void)encoder_set_tags(e->slots[i].enc, title, artist);
	pthread_mutex_unlock(&e->lock);
}

/* Encodes the frames held; when a programme meter block finished among
 * them, also publishes what each encoding was fed, for the operator page
 * (no allocation; the stats call never waits). Caller holds e->lock. */
static void
flush_batch_locked(struct engine *e)
{
	struct stats_encoding_level lv[CONFIG_MAX_ENCODINGS];
	const float *buf;
	size_t i, k, n, parts = encode_batch_parts(e->batch);
	bool publish = e->batch_metered;

	if (parts == 0)
		return;
	e->batch_metered = false;
	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		/* Hold by hold, so that each packet carries the time its
		 * audio came in (encode_batch_hold()). */
		for (k = 0; k < parts; k++) {
			n = encode_batch_part(e->batch, k, &buf, &s->made_ns);
			if (encoder_write(s->enc, buf, n, packet_cb, s) < 0)
				stats_input_add_overflow(n); /* block lost */
		}
		s->made_ns = 0;
		if (publish && i < CONFIG_MAX_ENCODINGS) {
			util_strlcpy(lv[i].name, s->name, sizeof(lv[i].name));
			encoder_levels(
			    s->enc, &lv[i].peak_dbfs, &lv[i].rms_dbfs);
		}
	}
	encode_batch_clear(e->batch);
	if (publish)
		stats_encoding_levels_publish(lv, e->n_slots);
}

/* The fewest programme frames the encoders still need before some output's
 * next page can close (encode_batch_due()); -1 when an output cannot tell,
 * INT64_MAX when no output waits. Caller holds e->lock. */
static int64_t
frames_to_next_page_locked(struct engine *e)
{
	int64_t fewest = INT64_MAX, due, lacks;
	size_t i, j;
	bool one_more;

	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		for (j = 0; j < s->n_subs; j++) {
			due = packet_queue_due(s->subs[j], &one_more);
			if (due < 0)
				return -1;
			lacks = encoder_frames_until(s->enc, due, one_more);
			/* Over a second away is no page of this encoder: a
			 * due from the one a reload replaced, until the
			 * output has seen the new stream. */
			if (lacks > e->rate_hz)
				return -1;
			if (lacks < fewest)
				fewest = lacks;
		}
	}
	return fewest;
}

/* How many live frames the engine waits for (encode_batch_wait_frames()):
 * to the end of the block, or up to where a page can close when that is
 * nearer, which the ring also tells the input (ring_set_page_at()). While
 * only the live programme plays and nothing else is due within the wait,
 * several blocks in one wake-up, at most ENGINE_MAX_WAIT_BLOCKS, or what
 * fits a meter reading while an operator page meters the programme
 * (stats_levels_watched(); DESIGN).
 * Runs on: the engine thread. */
static size_t
frames_to_wait(struct engine *e)
{
	const float *held;
	int64_t lacks, rest;
	size_t n, most = 1;

	if (switcher_live_steady(
		e->sw, util_now_wall_ns(), ENGINE_STEADY_HORIZON_NS))
		most = !stats_levels_watched()
			   ? ENGINE_MAX_WAIT_BLOCKS
			   : (size_t)e->rate_hz / ENGINE_METER_WINDOWS_PER_S /
				 BLOCK_FRAMES;
	if (most > ENGINE_MAX_WAIT_BLOCKS) /* 176.4 kHz and up, metered */
		most = ENGINE_MAX_WAIT_BLOCKS;

	pthread_mutex_lock(&e->lock);
	lacks = frames_to_next_page_locked(e);
	n = encode_batch_wait_frames(e->batch, lacks, most);
	rest = lacks - (int64_t)encode_batch_frames(e->batch, &held);
	pthread_mutex_unlock(&e->lock);
	ring_set_page_at(e->ring,
	    lacks >= 0 && lacks <= e->rate_hz && rest > 0 ? (size_t)rest : 0);
	return n;
}

/* Holds a rendered block for the encoders, and encodes what is held when
 * a page can close soon (DESIGN). */
static void
encode_block(
    struct engine *e, const float *buf, size_t n, bool metered, int64_t made_ns)
{
	pthread_mutex_lock(&e->lock);
	if (encode_batch_hold(e->batch, buf, n, made_ns) < 0) {
		flush_batch_locked(e);
		(void)encode_batch_hold(e->batch, buf, n, made_ns);
	}
	e->batch_metered = e->batch_metered || metered;
	if (encode_batch_due(e->batch, frames_to_next_page_locked(e)))
		flush_batch_locked(e);
	pthread_mutex_unlock(&e->lock);
}

/* One block of n live frames: the switcher renders the programme, then
 * meter and encoders see it. The ring's fill dates the block. */
static void
process_block(struct engine *e, size_t n)
{
	size_t behind = ring_readable(e->ring);
	int64_t made_ns;
	int metered;

	/* The block came in before what is still in the ring behind it (a
	 * backlog): its packets are dated from then, not from when the batch
	 * that holds it is encoded. */
	made_ns =
	    util_now_mono_ns() - (int64_t)behind * NS_PER_SEC / e->rate_hz;
	switcher_render(
	    e->sw, e->live_buf, e->out_buf, n, util_now_wall_ns(), behind);
	pthread_mutex_lock(&e->lock);
	if (e->proc != NULL) {
		processing_set_normalise(e->proc, switcher_normalise(e->sw));
		processing_run(e->proc, e->out_buf, n);
	}
	pthread_mutex_unlock(&e->lock);
	e->meter.threshold_dbfs =
	    (double)atomic_load(&e->threshold_cdb) / 100.0;
	e->meter.quiet_threshold_dbfs =
	    (double)atomic_load(&e->dead_air_cdb) / 100.0;
	metered = level_feed(&e->meter, e->out_buf, n);
	if (metered)
		stats_input_set_levels(e->meter.peak_dbfs, e->meter.rms_dbfs,
		    level_silent_seconds(&e->meter),
		    level_quiet_seconds(&e->meter));
	encode_block(e, e->out_buf, n, metered, made_ns);
}

uint64_t
engine_progress(struct engine *e)
{
	return e == NULL
		   ? 0
		   : atomic_load_explicit(&e->rounds, memory_order_relaxed);
}

/* Runs on: the engine thread. */
static void *
engine_thread(void *arg)
{
	struct engine *e = arg;
	int64_t next_publish = util_now_mono_ns() + NS_PER_SEC;
	sigset_t all;
	size_t i;
	bool short_round = false;

	util_thread_name("relay-engine");
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&e->stop)) {
		/* Several blocks in one wake-up while only live plays and
		 * no page can close before they are in (DESIGN); a control
		 * call wakes it early (ring_wake()). The timeout only lets
		 * the loop see stop and count its rounds. After a round cut
		 * short (a wake-up) with not even a block to render, the
		 * next block is taken alone: a title or skip waits for it,
		 * not for a whole wait (input.c, DESIGN). */
		size_t want = short_round ? BLOCK_FRAMES : frames_to_wait(e);
		size_t n, take;
		int64_t now;

		n = ring_wait(e->ring, want,
		    (int64_t)want * NS_PER_SEC / e->rate_hz + 100 * NS_PER_MS);
		short_round = n < BLOCK_FRAMES && want > BLOCK_FRAMES;
		atomic_fetch_add_explicit(&e->rounds, 1, memory_order_relaxed);
		if (n >= want) {
			/* What it waited for, which may end short of a
			 * block where a page can close, and a block more
			 * when a backlog has it. */
			take = want;
			if (n - want >= BLOCK_FRAMES)
				take += BLOCK_FRAMES;
		} else {
			/* Cut short (timeout, a wake-up): whole blocks, or
			 * what is there when not even one. */
			take = n >= BLOCK_FRAMES
				   ? n / BLOCK_FRAMES * BLOCK_FRAMES
				   : n;
		}
		while (take > 0) {
			n = ring_read(e->ring, e->live_buf,
			    take < BLOCK_FRAMES ? take : BLOCK_FRAMES);
			if (n == 0)
				break;
			process_block(e, n);
			take -= n;
		}
		now = util_now_mono_ns();
		if (now >= next_publish) {
			pthread_mutex_lock(&e->lock);
			publish_counters(e, false);
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
	flush_batch_locked(e);
	for (i = 0; i < e->n_slots; i++) {
		struct enc_slot *s = &e->slots[i];
		if (encoder_finish(s->enc, packet_cb, s) < 0)
			log_warn(MOD,
			    "[encoding %s]: could not flush the "
			    "encoder at shutdown",
			    s->name);
	}
	publish_counters(e, true);
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

	switcher_live_title(
	    e->sw, title, sizeof(title), artist, sizeof(artist));
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
	e->ring = ring;
	e->rate_hz = cfg->input.rate_hz;
	e->channels = cfg->input.channels;
	e->live_buf =
	    calloc((size_t)BLOCK_FRAMES * (size_t)e->channels, sizeof(float));
	e->out_buf =
	    calloc((size_t)BLOCK_FRAMES * (size_t)e->channels, sizeof(float));
	e->sw = switcher_new(e->rate_hz, e->channels, BLOCK_FRAMES,
	    cfg->input.title, cfg->input.artist, tags_cb, e);
	e->batch = encode_batch_new(e->rate_hz, e->channels, BLOCK_FRAMES);
	if (e->live_buf == NULL || e->out_buf == NULL || e->sw == NULL ||
	    e->batch == NULL)
		goto oom;
	level_init(&e->meter, e->rate_hz, e->channels,
	    cfg->input.silence_threshold_dbfs);
	atomic_store(&e->threshold_cdb,
	    (int_fast64_t)(cfg->input.silence_threshold_dbfs * 100.0));
	atomic_store(&e->dead_air_cdb,
	    (int_fast64_t)(config_dead_air_threshold_dbfs(cfg) * 100.0));
	e->proc_cfg = cfg->processing;
	if (cfg->processing.enabled) {
		e->proc = processing_new(
		    &cfg->processing, e->rate_hz, e->channels, err, errlen);
		if (e->proc == NULL)
			goto fail;
	}
	for (i = 0; i < cfg->n_encodings; i++) {
		struct enc_slot *s = &e->slots[i];
		slot_set_config(s, &cfg->encodings[i]);
		s->enc = make_encoder(e, &cfg->encodings[i], err, errlen);
		if (s->enc == NULL)
			goto fail;
		e->n_slots = i + 1;
	}
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
	engine_stop(e); /* no thread yet: frees what was built */
	return NULL;
}

void
engine_stop(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	if (e->thread_started) {
		atomic_store(&e->stop, true);
		ring_wake(e->ring);
		pthread_join(e->thread, NULL);
	}
	for (i = 0; i < e->n_slots; i++)
		encoder_free(e->slots[i].enc);
	switcher_free(e->sw);
	encode_batch_free(e->batch);
	processing_free(e->proc);
	pthread_mutex_destroy(&e->lock);
	free(e->live_buf);
	free(e->out_buf);
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

struct engine_rebuild {
	/* fresh[i] replaces (or adds) cfg->encodings[i]; NULL: unchanged */
	struct encoder *fresh[CONFIG_MAX_ENCODINGS];
	size_t n_fresh;
	bool proc_changed; /* swap in proc (NULL: processing off) */
	struct processing *proc;
	/* engine_rebuild_attach(): queue[k] joins fresh encoding index[k] */
	struct packet_queue *attach_queue[CONFIG_MAX_OUTPUTS];
	size_t attach_index[CONFIG_MAX_OUTPUTS];
	size_t n_attach;
	/* The running encodings' names, taken by prepare, for
	 * engine_rebuild_replaces(). */
	char running[CONFIG_MAX_ENCODINGS][64];
	size_t n_running;
};

bool
engine_rebuild_replaces(const struct engine_rebuild *rb,
    const struct config *cfg, const char *encoding)
{
	size_t i, j;

	if (rb == NULL || encoding == NULL)
		return false;
	for (i = 0; i < cfg->n_encodings; i++) {
		if (rb->fresh[i] == NULL ||
		    strcmp(cfg->encodings[i].name, encoding) != 0)
			continue;
		for (j = 0; j < rb->n_running; j++) {
			if (strcmp(rb->running[j], encoding) == 0)
				return true;
		}
	}
	return false;
}

int
engine_rebuild_attach(
    struct engine_rebuild *rb, size_t index, struct packet_queue *q)
{
	if (rb == NULL || q == NULL || index >= CONFIG_MAX_ENCODINGS ||
	    rb->fresh[index] == NULL)
		return -EINVAL;
	if (rb->n_attach >= CONFIG_MAX_OUTPUTS)
		return -ENOSPC;
	rb->attach_queue[rb->n_attach] = q;
	rb->attach_index[rb->n_attach] = index;
	rb->n_attach++;
	return 0;
}

int
engine_reconfigure_prepare(struct engine *e, const struct config *cfg,
    struct engine_rebuild **out, char *err, size_t errlen)
{
	struct engine_rebuild *rb;
	size_t i;

	*out = NULL;
	rb = calloc(1, sizeof(*rb));
	if (rb == NULL) {
		snprintf(err, errlen, "out of memory rebuilding encoders");
		return -ENOMEM;
	}
	pthread_mutex_lock(&e->lock);
	rb->proc_changed =
	    !config_processing_same(&e->proc_cfg, &cfg->processing);
	for (i = 0; i < e->n_slots; i++)
		util_strlcpy(
		    rb->running[i], e->slots[i].name, sizeof(rb->running[i]));
	rb->n_running = e->n_slots;
	pthread_mutex_unlock(&e->lock);
	if (rb->proc_changed && cfg->processing.enabled) {
		rb->proc = processing_new(
		    &cfg->processing, e->rate_hz, e->channels, err, errlen);
		if (rb->proc == NULL) {
			engine_reconfigure_abort(rb);
			return -ENOMEM;
		}
	}
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
		rb->fresh[i] = make_encoder(e, &cfg->encodings[i], err, errlen);
		if (rb->fresh[i] == NULL) {
			char why[512];

			/* Where in the file, as every config error says. */
			util_strlcpy(why, err, sizeof(why));
			snprintf(err, errlen, "%s:%d: %s", cfg->path,
			    cfg->encodings[i].line, why);
			engine_reconfigure_abort(rb);
			return -EINVAL;
		}
		rb->n_fresh++;
	}
	*out = rb;
	return 0;
}

void
engine_reconfigure_abort(struct engine_rebuild *rb)
{
	size_t i;

	if (rb == NULL)
		return;
	for (i = 0; i < CONFIG_MAX_ENCODINGS; i++)
		encoder_free(rb->fresh[i]);
	processing_free(rb->proc);
	free(rb);
}

size_t
engine_reconfigure_commit(
    struct engine *e, const struct config *cfg, struct engine_rebuild *rb)
{
	struct encoder *old[CONFIG_MAX_ENCODINGS] = {0};
	struct enc_slot next[CONFIG_MAX_ENCODINGS];
	size_t i, n_old = 0, n_fresh = rb->n_fresh;
	char title[STATS_TEXT], artist[STATS_TEXT];

	memset(next, 0, sizeof(next));
	pthread_mutex_lock(&e->lock);
	/* What the old encoders were to get is theirs: a new encoder starts a
	 * new stream, and the held audio ends the old one. */
	flush_batch_locked(e);
	/* The new encoders start with the tags on air now, as make_encoder()
	 * gave them at prepare: a title that went on air since (a held live
	 * title whose 2 s ended in between) is theirs too. title_lock is
	 * never held while e->lock is taken. */
	switcher_live_title(
	    e->sw, title, sizeof(title), artist, sizeof(artist));
	for (i = 0; i < CONFIG_MAX_ENCODINGS; i++) {
		if (rb->fresh[i] != NULL)
			(void)encoder_set_tags(rb->fresh[i], title, artist);
	}
	for (i = 0; i < cfg->n_encodings; i++) {
		struct enc_slot *s = find_slot(e, cfg->encodings[i].name);
		if (s != NULL) {
			next[i] = *s;
			s->enc = NULL;
		}
		slot_set_config(&next[i], &cfg->encodings[i]);
		if (rb->fresh[i] != NULL) {
			if (next[i].enc != NULL) {
				/* The old stream ends whole: what its
				 * resampler and codec still hold, then EOS,
				 * to the queues attached to it. Their
				 * outputs are then stopped (they restart on
				 * the new encoder), or, kept by the reload,
				 * are attached to the new one below
				 * (rb->attach_queue) and go on with its
				 * stream as a new chain. */
				/* Same resampling: the new encoder takes
				 * the running resampler, so its stream
				 * continues the old one's samples. */
				(void)encoder_hand_over_resampler(
				    next[i].enc, rb->fresh[i]);
				if (encoder_finish(
					next[i].enc, packet_cb, &next[i]) < 0)
					log_warn(MOD,
					    "[encoding %s]: could not flush "
					    "the old encoder at the reload",
					    next[i].name);
				old[n_old++] = next[i].enc;
			}
			next[i].n_subs = 0;
			next[i].enc = rb->fresh[i];
			rb->fresh[i] = NULL;
			log_info(MOD, "[encoding %s]: %s", next[i].name,
			    s != NULL ? "settings changed; its outputs start "
					"a new stream"
				      : "added");
		}
	}
	for (i = 0; i < e->n_slots; i++) {
		if (e->slots[i].enc != NULL) {
			/* Encoding removed: its outputs were stopped. */
			publish_counters(e, true);
			old[n_old++] = e->slots[i].enc;
		}
	}
	for (i = 0; i < rb->n_attach; i++) {
		struct enc_slot *s = &next[rb->attach_index[i]];
		if (s->n_subs < CONFIG_MAX_OUTPUTS)
			s->subs[s->n_subs++] = rb->attach_queue[i];
	}
	memcpy(e->slots, next, sizeof(next));
	e->n_slots = cfg->n_encodings;
	/* slot_set_config pointed cfg.name at next[i].name, on this stack. */
	for (i = 0; i < e->n_slots; i++)
		e->slots[i].cfg.name = e->slots[i].name;
	atomic_store(&e->threshold_cdb,
	    (int_fast64_t)(cfg->input.silence_threshold_dbfs * 100.0));
	atomic_store(&e->dead_air_cdb,
	    (int_fast64_t)(config_dead_air_threshold_dbfs(cfg) * 100.0));
	if (rb->proc_changed) {
		/* The old one is freed by engine_reconfigure_abort below. */
		struct processing *was = e->proc;
		e->proc = rb->proc;
		rb->proc = was;
		e->proc_cfg = cfg->processing;
		log_info(MOD, "[processing]: %s",
		    cfg->processing.enabled ? "settings applied" : "off");
	}
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < n_old; i++)
		encoder_free(old[i]);
	engine_reconfigure_abort(rb);
	return n_fresh;
}

int
engine_reconfigure(
    struct engine *e, const struct config *cfg, char *err, size_t errlen)
{
	struct engine_rebuild *rb;
	int rc;

	rc = engine_reconfigure_prepare(e, cfg, &rb, err, errlen);
	if (rc < 0)
		return rc;
	(void)engine_reconfigure_commit(e, cfg, rb);
	return 0;
}

void
engine_set_title(struct engine *e, const char *title, const char *artist)
{
	engine_set_live_title(e, title, artist, NULL);
}

void
engine_set_live_title(struct engine *e, const char *title, const char *artist,
    struct engine_title_result *res)
{
	switcher_set_live_title(e->sw, title, artist, res);
	ring_wake(e->ring);
}

int
engine_schedule(struct engine *e, const struct engine_item *item)
{
	int rc = switcher_schedule(e->sw, item);

	/* An item due within the engine's wait must not wait for it. */
	ring_wake(e->ring);
	return rc;
}

void
engine_clear_pending(struct engine *e)
{
	switcher_clear_pending(e->sw);
	ring_wake(e->ring);
}

void
engine_skip(struct engine *e)
{
	switcher_skip(e->sw);
	ring_wake(e->ring);
}

size_t
engine_drop_pending(
    struct engine *e, engine_item_pred *drop, void *arg, const char *why)
{
	return switcher_drop_pending(e->sw, drop, arg, why);
}

void
engine_set_end(struct engine *e, uint64_t key, int64_t end_wall_ns)
{
	switcher_set_end(e->sw, key, end_wall_ns);
	ring_wake(e->ring);
}

void
engine_set_start_grace(struct engine *e, int64_t grace_ns)
{
	switcher_set_start_grace(e->sw, grace_ns);
}

int
engine_poll(struct engine *e, struct engine_event *ev)
{
	return switcher_poll(e->sw, ev);
}

void
engine_set_fallback(struct engine *e, const struct engine_fallback *f)
{
	switcher_set_fallback(e->sw, f);
	ring_wake(e->ring);
}

void
engine_set_filler(struct engine *e, const struct engine_item *item)
{
	switcher_set_filler(e->sw, item);
}

bool
engine_filler_wanted(struct engine *e)
{
	return switcher_filler_wanted(e->sw);
}

bool
engine_filler_stale(struct engine *e)
{
	return switcher_filler_stale(e->sw);
}

void
engine_set_input_down(struct engine *e, bool down, const char *why)
{
	if (switcher_set_input_down(e->sw, down, why))
		ring_wake(e->ring);
}

int
engine_poll_fallback(struct engine *e, struct engine_fallback_event *ev)
{
	return switcher_poll_fallback(e->sw, ev);
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
