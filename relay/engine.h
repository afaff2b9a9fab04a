/* SPDX-License-Identifier: MIT */
/*
 * The engine: the thread between the input ring and the outputs. It reads
 * the live input in blocks, has the switcher (switcher.h) render the
 * programme from them (live, or a scheduled segment), meters it, feeds
 * every encoder once (in batches that end where an output's next page can
 * close, encode_batch.h), and pushes each packet into the queues of the
 * outputs that use that encoding. It never waits on an output: a full
 * queue drops its own packets (packet_queue.h). The item functions below
 * are the switcher's, kept here so callers see one engine.
 *
 * Threads: engine_* functions are called on the main thread; the engine
 * thread runs the encoders. A short mutex guards the encoder and
 * subscriber tables; the main thread takes it only to attach, detach or
 * swap encoders (reload; the programme held for the old encoders is
 * encoded into them first, on the main thread under that mutex).
 */
#ifndef RELAY_ENGINE_H
#define RELAY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "packet_queue.h"
#include "ring.h"
#include "source.h"
#include "stats.h"
#include "util.h"

struct engine;

/*
 * One programme item: a segment source (or the live input) on air from
 * start_wall_ns to end_wall_ns. The engine converts both to programme
 * frame positions with its clock (frame 0 = the first live frame, kept
 * aligned with CLOCK_REALTIME) and switches at that exact frame, with a
 * crossfade of fade_ns starting there.
 */
struct engine_item {
	char segment[128]; /* schedule name; "" for the live programme */
	char title[STATS_TEXT];
	char artist[STATS_TEXT];
	char source_kind[16];  /* "live", "file", "tone", ... */
	struct source *src;    /* NULL: the live input */
	int64_t start_wall_ns; /* <= now: as soon as possible */
	int64_t end_wall_ns;   /* 0: until the next item, or duration_ns */
	int64_t duration_ns;   /* end_wall_ns == 0: on air this long from
				  when it really starts (API "now") */
	int64_t fade_ns;
	uint64_t key;	   /* the planner's name for it, echoed in events */
	int priority;	   /* as the schedule's; the API's default is higher */
	bool filler;	   /* the [fallback] filler (engine_set_filler) */
	double gain_db;	   /* applied to the source's audio (0: as is) */
	bool no_normalise; /* [processing]: the rider holds 0 dB meanwhile */
	/* The switcher's own: the programme frame at which it first found
	 * the item due, -1 before (engine_schedule() sets it). */
	int64_t due_frame;
};

/* What the engine did, for the main thread to log and act on. */
struct engine_event {
	char segment[128];
	uint64_t key; /* engine_item.key */
	int64_t at_wall_ns;
	enum {
		ENGINE_EVENT_STARTED = 0,
		ENGINE_EVENT_ENDED,	/* reached its end */
		ENGINE_EVENT_FAILED,	/* source failed or ran dry: live */
		ENGINE_EVENT_SKIPPED,	/* engine_skip() */
		ENGINE_EVENT_DROPPED,	/* never played: superseded, late, its
					   source never started */
		ENGINE_EVENT_WITHDRAWN, /* never played: the planner took it
					   back (engine_drop_pending) */
		ENGINE_EVENT_ENDING,	/* still on air, but its source has
					   read all it has: it ends at
					   at_wall_ns, before its planned
					   end (then ENDED with ran_out
					   when its material ended with no
					   error, else FAILED) */
	} what;
	char detail[256];
	bool to_filler; /* FAILED, ENDED: the filler, not live, took over */
	/* ENDED: before its planned end, its material ended with no error
	 * (a file shorter than its slot); detail says how much before */
	bool ran_out;
	/* FAILED, ENDED: the segment that took over at the same frame; ""
	 * for live (or the filler) */
	char next_segment[128];
};

/* Creates the encoders of cfg and starts the thread reading ring
 * (borrowed: must outlive the engine). Owned: engine_stop(). NULL on error
 * with err filled (an encoder libvorbisenc refuses, out of memory). */
struct engine *engine_start(
    const struct config *cfg, struct ring *ring, char *err, size_t errlen);

/* Ends every stream (encoders flush, last packets carry EOS and reach the
 * queues), joins the thread and frees. NULL is a no-op. */
void engine_stop(struct engine *e);

/* Subscribes queue q (borrowed until detach) to the named encoding. */
RELAY_MUST_CHECK int engine_attach(
    struct engine *e, const char *encoding, struct packet_queue *q);
void engine_detach(struct engine *e, struct packet_queue *q);

/* Reload: encodings whose settings changed are rebuilt (their outputs see
 * a new chain), new ones created, removed ones dropped after their
 * subscribers detached; the silence threshold follows cfg (the live title is
 * the caller's: engine_set_title). 0, or negative errno with err filled and
 * nothing changed. */
RELAY_MUST_CHECK int engine_reconfigure(
    struct engine *e, const struct config *cfg, char *err, size_t errlen);

/* The same in two steps, so a reload can build every encoder before it
 * touches anything else: prepare builds the new and changed encoders
 * (0, or negative errno with err filled and nothing built); commit swaps
 * them in and returns how many it swapped; abort throws them away. Both
 * take ownership of rb. Main thread. */
struct engine_rebuild;
RELAY_MUST_CHECK int engine_reconfigure_prepare(struct engine *e,
    const struct config *cfg, struct engine_rebuild **rb, char *err,
    size_t errlen);
size_t engine_reconfigure_commit(
    struct engine *e, const struct config *cfg, struct engine_rebuild *rb);
void engine_reconfigure_abort(struct engine_rebuild *rb);

/* Whether rb replaces the running encoding named `encoding` (its settings
 * changed): commit then ends that encoder's stream into the queues still
 * attached to it (what the resampler and the codec hold, then EOS) and
 * detaches them, so their outputs may be stopped after the commit and
 * lose nothing. */
bool engine_rebuild_replaces(const struct engine_rebuild *rb,
    const struct config *cfg, const char *encoding);

/* Queue q (borrowed until detach) is attached to cfg->encodings[index]
 * by the commit, in the same step as the new encoder goes in, so it gets
 * the new stream from its first packet. Only for an encoding rb builds
 * (new or changed); 0, -EINVAL otherwise, -ENOSPC when full. */
RELAY_MUST_CHECK int engine_rebuild_attach(
    struct engine_rebuild *rb, size_t index, struct packet_queue *q);

/* Sets the now-playing title/artist of the live programme. Thread-safe;
 * takes effect at the next block (new comment header on every encoder)
 * when the live programme is on air, else when it comes back; titles
 * faster than one per SWITCHER_TITLE_GAP_NS are coalesced (the latest
 * wins; switcher.h). */
void engine_set_title(struct engine *e, const char *title, const char *artist);

/* What became of a live title (engine_set_live_title()). */
enum engine_title_fate {
	ENGINE_TITLE_ON_AIR = 0, /* on air with the next block */
	/* Held: less than SWITCHER_TITLE_GAP_NS since the last title
	 * change; on air in due_in_ns unless a later title replaces it. */
	ENGINE_TITLE_HELD,
	/* A segment or the filler is on air, or one starts before the gap
	 * after the last title change ends (segment_first): on air when
	 * live returns (unless a later title replaces it). */
	ENGINE_TITLE_WAITS_FOR_LIVE,
	/* Live is on air with this title already: nothing changes (a
	 * held one may still have been dropped: replaced). While a segment
	 * or the filler plays, the live title is WAITS_FOR_LIVE. */
	ENGINE_TITLE_UNCHANGED,
};

struct engine_title_result {
	enum engine_title_fate fate;
	int64_t due_in_ns; /* HELD: an estimate on the programme clock */
	int64_t gap_ns;	   /* the gap between title changes on air */
	/* WAITS_FOR_LIVE while live is on air: the title would be held,
	 * but an item waiting (a scheduled segment) starts before the gap
	 * ends, in segment_in_ns, so it airs when live returns. */
	bool segment_first;
	int64_t segment_in_ns;
	char segment[128];
	/* A held title that never aired was dropped for this one. */
	bool replaced;
	char replaced_title[STATS_TEXT];
	char replaced_artist[STATS_TEXT];
};

/* engine_set_title() that also says what became of the title in *res
 * (main thread: the control API). */
void engine_set_live_title(struct engine *e, const char *title,
    const char *artist, struct engine_title_result *res);

/* Queues an item (takes ownership of item->src, also on error). Items play
 * in start order; an item whose start has passed starts at once. 0, or
 * -ENOSPC when ENGINE_MAX_PENDING items wait already. Main thread. */
#define ENGINE_MAX_PENDING 8
RELAY_MUST_CHECK int engine_schedule(
    struct engine *e, const struct engine_item *item);

/* Drops every pending item (not the one on air): reload. Their sources
 * are closed on the main thread by engine_poll(). */
void engine_clear_pending(struct engine *e);

/* Drops the pending items for which drop(item, arg) is true, each with a
 * DROPPED event carrying why. Returns how many. Main thread. */
typedef bool engine_item_pred(const struct engine_item *it, void *arg);
size_t engine_drop_pending(
    struct engine *e, engine_item_pred *drop, void *arg, const char *why);

/*
 * Start-up grace: an item whose start has come but whose source has not
 * delivered its first audio yet (a feed connecting, a slow disk) waits,
 * and what is on air continues, for up to grace_ns from when the engine
 * first found it due (an item queued after its start gets the whole
 * grace too); then it is dropped.
 * Main thread.
 */
void engine_set_start_grace(struct engine *e, int64_t grace_ns);

/* Rounds of the engine loop so far: it comes round at least every 0.5 s
 * while the thread is alive (its longest wait plus 100 ms), audio or not,
 * so a value that stops growing means the thread is stuck (the service
 * watchdog). Any thread; 0 for NULL. */
uint64_t engine_progress(struct engine *e);

/* Moves the end of the item with this key (waiting or on air) to
 * end_wall_ns: a reload lengthened or shortened its window. Main thread. */
void engine_set_end(struct engine *e, uint64_t key, int64_t end_wall_ns);

/* Ends the item on air now (with its fade) and returns to live, or hands
 * over to an item already due, waiting up to SWITCHER_SKIP_WAIT_NS for
 * its source's first audio (programme_skip() plans one). */
void engine_skip(struct engine *e);

/* Main thread, a few times a second: closes sources the engine retired
 * and returns the next event (1) or 0 when none is waiting. */
int engine_poll(struct engine *e, struct engine_event *ev);

/*
 * Dead air ([fallback]). The engine meters each block it renders: when
 * the programme stays below threshold_dbfs for after_ns, or the live
 * input is down (engine_set_input_down) while live is on air, the filler
 * goes on air (crossfaded, with its title); once the live input stays at
 * or above the threshold for restore_after_ns, live returns. A segment due
 * meanwhile takes over from the filler as it would from live.
 */
struct engine_fallback {
	bool enabled;
	double threshold_dbfs;
	int64_t after_ns;
	int64_t restore_after_ns;
};

/* What changed, for the main thread to log and run hooks on. */
struct engine_fallback_event {
	bool active; /* true: the filler went on air; false: it left */
	int64_t at_wall_ns;
	/* The silence before the filler went on air (0: input down); when
	 * it leaves, that of the dead air that ends, then filler_s of
	 * filler: both counted in programme frames, as fallback.dead_air_s
	 * counts them. */
	double lead_in_s;
	double filler_s;
	char why[256];
};

/* From the next block on. Disabling takes the filler off air and closes
 * the waiting one (in this call). Main thread. */
void engine_set_fallback(struct engine *e, const struct engine_fallback *f);

/* The filler for the next dead air (item->filler set by the engine);
 * takes ownership of item->src. Never refused: the filler that waited,
 * if any, is closed in this call (its feeder joined, on the main
 * thread). Main thread. */
void engine_set_filler(struct engine *e, const struct engine_item *item);

/* True when fallback is on and no filler waits: the main thread opens
 * one (the one on air is used up when it ends, or when live returns). */
bool engine_filler_wanted(struct engine *e);

/* True when the filler that waits holds a file that changed on disk since
 * it was opened ahead (source_stale()): the main thread opens it anew.
 * Main thread. */
bool engine_filler_stale(struct engine *e);

/* The live input failed or recovered (input_down()); why may be NULL.
 * When that changes what the engine knew, wakes it, so the filler need
 * not wait for the engine's next block. Main thread, at every tick. */
void engine_set_input_down(struct engine *e, bool down, const char *why);

/* The next fallback change (1) or 0. Main thread. */
int engine_poll_fallback(struct engine *e, struct engine_fallback_event *ev);

/* The programme format every source must deliver. */
int engine_rate_hz(const struct engine *e);
int engine_channels(const struct engine *e);

#endif
