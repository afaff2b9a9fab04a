/* SPDX-License-Identifier: MIT */
/*
 * The programme switcher: decides, frame by frame, what is on air. It
 * owns the programme items (the one on air, the one fading out, those
 * waiting), the programme clock that maps frames to wall time, the live
 * programme's title, and what the main thread must still do: sources to
 * close and events to log. The engine hands it each block of live input
 * and encodes what it renders; the planner (programme.c) feeds it items
 * through the engine_* facade.
 *
 * Threads: switcher_render() runs on the engine thread only, and the
 * tags callback is called from it. switcher_schedule(),
 * switcher_clear_pending(), switcher_poll() and switcher_live_title() are
 * for the main thread; switcher_skip() and switcher_set_live_title() are
 * safe from any thread. switcher_new() and switcher_free() run on the main
 * thread while no engine thread renders. The fallback setters are for the
 * main thread. A short mutex guards the waiting items, the waiting
 * filler, retired sources, events and fallback settings; the item on air
 * and the dead-air detector are the engine thread's alone.
 */
#ifndef RELAY_SWITCHER_H
#define RELAY_SWITCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "util.h"

struct switcher;

/* The title/artist on air changed (a switch, or a new live title while
 * live is on air): the engine gives its encoders new comment headers.
 * Runs on the engine thread, within switcher_render(). */
typedef void switcher_tags_cb(const char *title, const char *artist, void *arg);

/* A switcher for rate_hz/channels blocks of at most max_frames frames,
 * with the live programme (titled title/artist) on air. Owned:
 * switcher_free(). NULL when out of memory. */
struct switcher *switcher_new(int rate_hz, int channels, size_t max_frames,
    const char *title, const char *artist, switcher_tags_cb *cb, void *arg);

/* Closes every source it still holds and frees. NULL is a no-op. */
void switcher_free(struct switcher *sw);

/*
 * Renders the n programme frames that go with n live frames into out
 * (both n * channels floats; n <= max_frames): switches items at their
 * exact frames and crossfades. now_wall_ns and queued_frames (live frames
 * still waiting behind these) date the block on the programme clock.
 * Runs on: the engine thread.
 */
void switcher_render(struct switcher *sw, const float *live, float *out,
    size_t n, int64_t now_wall_ns, size_t queued_frames);

/* engine_schedule(), engine_clear_pending(), engine_skip() and
 * engine_poll() in engine.h: the same contracts. */
RELAY_MUST_CHECK int switcher_schedule(
    struct switcher *sw, const struct engine_item *item);
void switcher_clear_pending(struct switcher *sw);
size_t switcher_drop_pending(
    struct switcher *sw, engine_item_pred *drop, void *arg, const char *why);
void switcher_set_start_grace(struct switcher *sw, int64_t grace_ns);
void switcher_set_end(struct switcher *sw, uint64_t key, int64_t end_wall_ns);

/* A segment whose source comes up short mid-way (a feed late, a slow
 * disk) is bridged with silence for up to this long before it is dropped
 * for live: a short underrun never ends a bulletin. */
#define SWITCHER_UNDERRUN_BRIDGE_NS (2 * NS_PER_SEC)
/* A segment whose source ends (cleanly) at most this long before its end
 * frame is padded with silence to that frame and ends there as planned:
 * the end frame follows the programme clock (switcher_render), which may
 * have moved back a few milliseconds since the material was sized. */
#define SWITCHER_END_SLACK_NS (50 * NS_PER_MS)
#define SWITCHER_START_GRACE_DEFAULT_NS (5 * NS_PER_SEC)
/*
 * The shortest time between two title changes on air when the change is
 * the live programme's title (switcher_set_live_title), in programme
 * time: each change is a new Ogg chain (new codec headers, which players
 * may stutter or re-buffer at) or, with metadata = admin, a request to
 * Icecast that holds up its output thread for up to
 * OUTPUT_TITLE_TIMEOUT_NS (2 s). Titles that come faster are coalesced:
 * the latest one goes on air once this much has passed since the last
 * change, those it replaced never. 2 s keeps a burst (an automation
 * system retrying, an operator fixing a typo, a flood of calls) to one
 * chain per 2 s, delays a title that follows another by at most 2 s, and
 * is above the 1 s at which /api/history samples what is on air, so every
 * title that aired is in the history. A segment or filler going on air is
 * not held: its title goes with its audio.
 */
#define SWITCHER_TITLE_GAP_NS (2 * NS_PER_SEC)
/* The crossfade to and from the [fallback] filler. */
#define SWITCHER_FILLER_FADE_NS (1 * NS_PER_SEC)
/* A skip waits this long at most for the source of the item due to
 * follow (switcher_skip()), rather than put live on air in between. */
#define SWITCHER_SKIP_WAIT_NS (250 * NS_PER_MS)
void switcher_skip(struct switcher *sw);

/* Whether only the live programme plays until horizon_ns from now: no
 * item on air or fading, no skip or end asked, none waiting to start by
 * then. The engine may then render several blocks in one wake-up
 * (engine.c, DESIGN). Runs on: the engine thread. */
bool switcher_live_steady(
    struct switcher *sw, int64_t now_wall_ns, int64_t horizon_ns);
int switcher_poll(struct switcher *sw, struct engine_event *ev);

/* engine_set_fallback(), engine_set_filler(), engine_filler_wanted(),
 * engine_filler_stale(), engine_set_input_down() and engine_poll_fallback() in
 * engine.h: the same contracts (the main thread's; the detector runs in
 * switcher_render). */
void switcher_set_fallback(
    struct switcher *sw, const struct engine_fallback *f);
void switcher_set_filler(struct switcher *sw, const struct engine_item *item);
bool switcher_filler_wanted(struct switcher *sw);
bool switcher_filler_stale(struct switcher *sw);
/* Returns whether the state or its why changed (engine_set_input_down()
 * wakes the engine only then). */
bool switcher_set_input_down(struct switcher *sw, bool down, const char *why);
int switcher_poll_fallback(
    struct switcher *sw, struct engine_fallback_event *ev);

/* Sets the live programme's title/artist (sanitised); it reaches the
 * encoders at the next block when live is on air, else when live
 * returns; but no sooner than SWITCHER_TITLE_GAP_NS after the last title
 * change on air (then the latest title set goes on air, the ones before it
 * never do). Until it airs, stats shows it pending (now.title_pending).
 * What became of it in *res (may be NULL): on air, held and for how
 * long, waiting for live; and the title not yet on air it replaced, if
 * any, which now never airs. */
void switcher_set_live_title(struct switcher *sw, const char *title,
    const char *artist, struct engine_title_result *res);

/* Copies the title/artist on air (the last tags change: a segment's
 * while one plays, never a live title still held): the tags a new
 * encoder starts with, so that a reload's rebuilt encoder neither airs
 * a held title early nor a segment's chain under the live title. */
void switcher_live_title(struct switcher *sw, char *title, size_t title_len,
    char *artist, size_t artist_len);

/* Whether what is on air wants loudness normalisation ([segment]
 * normalise, default yes; live and fillers always). Engine thread, after
 * switcher_render. */
bool switcher_normalise(const struct switcher *sw);

#endif
